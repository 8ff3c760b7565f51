//! A bare `lambda_http` function (no AWS SDK, no configuration): the reference point for the
//! cold-start benchmark.

use lambda_http::{Error, Request, run, service_fn};

#[tokio::main]
async fn main() -> Result<(), Error> {
    run(service_fn(|_req: Request| async {
        Ok::<_, Error>("hello")
    }))
    .await
}
