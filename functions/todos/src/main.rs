//! Lambda entry point for `todos`: wiring only; the handler lives in the library.

use std::sync::Arc;

use lambda_http::{Error, run};
use todos::{Todos, TodosConfig, service};

#[tokio::main]
async fn main() -> Result<(), Error> {
    zendesk_jwt::logging::init();
    let config = TodosConfig::from_env()?;
    let aws = zendesk_jwt::aws::load().await;
    let todos = Arc::new(Todos::new(&config, aws_sdk_dynamodb::Client::new(&aws)));
    run(service(todos)).await
}
