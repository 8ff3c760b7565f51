//! Lambda entry point for `sidebar`: wiring only; the handler lives in the library.

use lambda_http::{Error, service_fn};
use sidebar::{Sidebar, SidebarConfig};
use zendesk_jwt::lambda::aws::Aws;
use zendesk_jwt::lambda::{logging, runtime};

#[tokio::main]
async fn main() -> Result<(), Error> {
    logging::init();
    let sidebar = Sidebar::new(&SidebarConfig::from_env()?, &Aws::from_env())?;
    runtime::run(service_fn(|req| async {
        Ok::<_, Error>(sidebar.handle(req).await)
    }))
    .await
}
