//! Lambda entry point for `sidebar`: wiring only; the handler lives in the library.

use lambda_http::{Error, service_fn};
use sidebar::{Sidebar, SidebarConfig};
use zendesk_jwt::lambda::aws::Aws;
use zendesk_jwt::lambda::{logging, runtime};

// One request at a time per execution environment: a single-threaded runtime runs the handler
// and its AWS calls' connections on one thread, without waking a worker thread for every call
// (docs/PERFORMANCE.md, "CPU per AWS call").
#[tokio::main(flavor = "current_thread")]
async fn main() -> Result<(), Error> {
    logging::init();
    let sidebar = Sidebar::new(&SidebarConfig::from_env()?, &Aws::from_env())?;
    runtime::run(service_fn(|req| async {
        Ok::<_, Error>(sidebar.handle(req).await)
    }))
    .await
}
