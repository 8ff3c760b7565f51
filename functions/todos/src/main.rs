//! Lambda entry point for `todos`: wiring only; the handler lives in the library.

use lambda_http::{Error, service_fn};
use todos::{Todos, TodosConfig};
use zendesk_jwt::lambda::aws::Aws;
use zendesk_jwt::lambda::{logging, runtime};

// One request at a time per execution environment: a single-threaded runtime runs the handler
// and its AWS calls' connections on one thread, without waking a worker thread for every call
// (docs/PERFORMANCE.md, "CPU per AWS call").
#[tokio::main(flavor = "current_thread")]
async fn main() -> Result<(), Error> {
    logging::init();
    let todos = Todos::new(&TodosConfig::from_env()?, &Aws::from_env())?;
    runtime::run(service_fn(|req| async {
        Ok::<_, Error>(todos.handle(req).await)
    }))
    .await
}
