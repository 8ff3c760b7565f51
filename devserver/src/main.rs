//! `devserver`: serves the three functions on `http://127.0.0.1:3000` (or `$PORT`) with the
//! development configuration from the environment.

use std::net::SocketAddr;
use std::sync::Arc;

use devserver::Functions;
use lambda_http::Error;
use sdk_exchange::{ResolverConfig, SdkConfig, SdkExchange, SharedSecretSource};
use sidebar::{PublicKeySource, Sidebar, SidebarConfig};
use todos::{Todos, TodosConfig};

#[tokio::main]
async fn main() -> Result<(), Error> {
    lambda_http::tracing::init_default_subscriber();
    let sidebar_config = SidebarConfig::from_env()?;
    let todos_config = TodosConfig::from_env()?;
    let sdk_config = SdkConfig::from_env()?;
    let port: u16 = zendesk_port()?;
    let aws = aws_config::load_from_env().await;
    let secrets = aws_sdk_secretsmanager::Client::new(&aws);
    let dynamodb = aws_sdk_dynamodb::Client::new(&aws);
    let functions = Functions {
        sidebar: Arc::new(Sidebar::new(
            &sidebar_config,
            matches!(sidebar_config.public_key, PublicKeySource::SecretId(_))
                .then(|| secrets.clone()),
        )),
        todos: Arc::new(Todos::new(&todos_config, dynamodb.clone())),
        sdk_exchange: Arc::new(SdkExchange::new(
            &sdk_config,
            matches!(sdk_config.secret, SharedSecretSource::SecretId(_)).then(|| secrets.clone()),
            matches!(sdk_config.resolver, ResolverConfig::Table { .. }).then(|| dynamodb.clone()),
        )),
    };
    let addr = SocketAddr::from(([127, 0, 0, 1], port));
    let listener = tokio::net::TcpListener::bind(addr).await?;
    tracing::info!(%addr, "serving sidebar, todos and sdk-exchange");
    devserver::serve(listener, functions).await?;
    Ok(())
}

fn zendesk_port() -> Result<u16, Error> {
    match std::env::var("PORT") {
        Ok(port) => Ok(port
            .parse()
            .map_err(|_| format!("PORT: {port:?} is not a port number"))?),
        Err(_) => Ok(3000),
    }
}
