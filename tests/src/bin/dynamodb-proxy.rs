//! The counting DynamoDB proxy as a program, for the load benchmark (`scripts/bench-load`):
//! `dynamodb-proxy UPSTREAM PORT` forwards every request to `UPSTREAM` (DynamoDB Local) and
//! answers `GET /__requests` with the requests seen so far, by operation.

use integration_tests::dynamodb_proxy::DynamoDbProxy;

#[tokio::main(flavor = "current_thread")]
async fn main() {
    let mut args = std::env::args().skip(1);
    let (Some(upstream), Some(port)) = (args.next(), args.next()) else {
        eprintln!("usage: dynamodb-proxy UPSTREAM-URL PORT");
        std::process::exit(2);
    };
    let port: u16 = port.parse().unwrap_or_else(|_| {
        eprintln!("PORT must be a number");
        std::process::exit(2);
    });
    let proxy = DynamoDbProxy::start_on(&upstream, port).await;
    eprintln!(
        "counting DynamoDB requests on {} for {upstream}",
        proxy.endpoint()
    );
    std::future::pending::<()>().await;
}
