//! Lambda entry point for `todos`: wiring only; the handler lives in the library.

use std::sync::Arc;

use lambda_http::{Error, run};
use todos::{Todos, TodosConfig, service};

#[tokio::main]
async fn main() -> Result<(), Error> {
    zendesk_jwt::logging::init();
    let config = TodosConfig::from_env()?;
    let aws = zendesk_jwt::aws::from_env()?;
    let todos = Arc::new(Todos::new(&config, zendesk_jwt::aws::dynamodb(&aws)));
    run(zendesk_jwt::logging::with_request_ids(service(todos))).await
}
