//! Lambda entry point for `sdk-exchange`: wiring only; the handler lives in the library.

use lambda_http::{Error, run, service_fn};
use sdk_exchange::{ResolverConfig, SdkConfig, SdkExchange, SharedSecretSource};

#[tokio::main]
async fn main() -> Result<(), Error> {
    zendesk_jwt::logging::init();
    let config = SdkConfig::from_env()?;
    let aws = zendesk_jwt::aws::from_env()?;
    let secrets = matches!(config.secret, SharedSecretSource::SecretId(_))
        .then(|| zendesk_jwt::aws::secrets_manager(&aws));
    let dynamodb = matches!(config.resolver, ResolverConfig::Table { .. })
        .then(|| zendesk_jwt::aws::dynamodb(&aws));
    let exchange = SdkExchange::new(&config, secrets, dynamodb);
    run(zendesk_jwt::logging::with_request_ids(service_fn(
        |req| async { Ok::<_, Error>(exchange.handle(req).await) },
    )))
    .await
}
