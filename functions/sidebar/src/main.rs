//! Lambda entry point for `sidebar`: wiring only; the handler lives in the library.

use lambda_http::{Error, run, service_fn};
use sidebar::{PublicKeySource, Sidebar, SidebarConfig};

#[tokio::main]
async fn main() -> Result<(), Error> {
    zendesk_jwt::logging::init();
    let config = SidebarConfig::from_env()?;
    let secrets = match config.public_key {
        PublicKeySource::SecretId(_) => {
            let aws = zendesk_jwt::aws::from_env()?;
            Some(zendesk_jwt::aws::secrets_manager(&aws))
        }
        PublicKeySource::Pem(_) => None,
    };
    let sidebar = Sidebar::new(&config, secrets);
    run(zendesk_jwt::logging::with_request_ids(service_fn(
        |req| async { Ok::<_, Error>(sidebar.handle(req).await) },
    )))
    .await
}
