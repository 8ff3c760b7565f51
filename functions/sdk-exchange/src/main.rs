//! Lambda entry point for `sdk-exchange`: wiring only; the handler lives in the library.

use lambda_http::{Error, run, service_fn};
use sdk_exchange::{ResolverConfig, SdkConfig, SdkExchange, SharedSecretSource};

#[tokio::main]
async fn main() -> Result<(), Error> {
    zendesk_jwt::logging::init();
    let config = SdkConfig::from_env()?;
    let aws = zendesk_jwt::aws::load().await;
    let secrets = matches!(config.secret, SharedSecretSource::SecretId(_))
        .then(|| aws_sdk_secretsmanager::Client::new(&aws));
    let dynamodb = matches!(config.resolver, ResolverConfig::Table { .. })
        .then(|| aws_sdk_dynamodb::Client::new(&aws));
    let exchange = SdkExchange::new(&config, secrets, dynamodb);
    run(service_fn(|req| async {
        Ok::<_, Error>(exchange.handle(req).await)
    }))
    .await
}
