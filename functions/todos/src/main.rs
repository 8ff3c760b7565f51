//! Lambda entry point for `todos`: wiring only; the function lives in the library.

use lambda_http::Error;

// One request at a time per execution environment: a single-threaded runtime runs the handler
// and its AWS calls' connections on one thread, without waking a worker thread for every call
// (docs/PERFORMANCE.md, "CPU per AWS call").
#[tokio::main(flavor = "current_thread")]
async fn main() -> Result<(), Error> {
    zendesk_jwt::lambda::runtime::serve::<todos::Todos>().await
}
