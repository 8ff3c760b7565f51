//! Every API call that needs DynamoDB makes exactly one DynamoDB request, counted by a real proxy
//! in front of DynamoDB Local.

use std::time::Duration;

use aws_sdk_dynamodb::types::AttributeValue;
use devserver::devkeys;
use integration_tests::*;
use sdk_exchange::{ResolverConfig, SdkConfig, SdkExchange, SharedSecretSource, token_hash};

use super::sdk_exchange::SHARED_SECRET;
use super::todos::{fixture_on, token_for};

/// Run `call` and answer its status and the DynamoDB requests it made, by operation.
async fn counted<F: std::future::Future<Output = lambda_http::Response<lambda_http::Body>>>(
    proxy: &DynamoDbProxy,
    call: F,
) -> (u16, Vec<(String, u64)>) {
    let before = proxy.requests();
    let status = call.await.status().as_u16();
    let made = proxy
        .requests()
        .into_iter()
        .filter_map(|(operation, count)| {
            let new = count - before.get(&operation).copied().unwrap_or(0);
            (new > 0).then_some((operation, new))
        })
        .collect();
    (status, made)
}

fn one(operation: &str) -> Vec<(String, u64)> {
    vec![(operation.to_owned(), 1)]
}

#[tokio::test]
async fn every_to_do_call_is_one_dynamodb_request() {
    let proxy = DynamoDbProxy::start(&service_endpoint("AWS_ENDPOINT_URL_DYNAMODB")).await;
    let f = fixture_on(
        dynamodb_at(&proxy.endpoint()).await,
        2,
        Duration::from_secs(30),
    )
    .await;
    let token = token_for(1);
    assert_eq!(
        counted(&proxy, f.as_user(&token, "GET", "/todo_items", None)).await,
        (200, one("GetItem")),
        "list of a new user"
    );
    assert_eq!(
        counted(&proxy, f.add(1, "first")).await,
        (201, one("UpdateItem")),
        "first add"
    );
    assert_eq!(
        counted(&proxy, f.add_with_key(1, "second", "key-2")).await,
        (201, one("UpdateItem")),
        "add with a key"
    );
    assert_eq!(
        counted(&proxy, f.add_with_key(1, "second", "key-2")).await,
        (201, one("UpdateItem")),
        "replayed add"
    );
    assert_eq!(
        counted(&proxy, f.add(1, "third")).await,
        (409, one("UpdateItem")),
        "add over the cap"
    );
    assert_eq!(
        counted(&proxy, f.as_user(&token, "GET", "/todo_items", None)).await,
        (200, one("GetItem")),
        "list"
    );
    let id = f.stored(1).await[0].0;
    assert_eq!(
        counted(
            &proxy,
            f.as_user(&token, "DELETE", &format!("/todo_items/{id}"), None)
        )
        .await,
        (200, one("UpdateItem")),
        "delete"
    );
    assert_eq!(
        counted(
            &proxy,
            f.as_user(&token, "DELETE", &format!("/todo_items/{id}"), None)
        )
        .await,
        (200, one("UpdateItem")),
        "delete of an absent item"
    );
    assert_eq!(f.stored(1).await.len(), 1);
}

#[tokio::test]
async fn every_sdk_exchange_is_one_dynamodb_request() {
    let proxy = DynamoDbProxy::start(&service_endpoint("AWS_ENDPOINT_URL_DYNAMODB")).await;
    let dynamodb = dynamodb_at(&proxy.endpoint()).await;
    let table = create_table(&dynamodb, "token_hash", None).await;
    dynamodb
        .put_item()
        .table_name(&table)
        .item("token_hash", AttributeValue::S(token_hash("known-token")))
        .item(
            "expires_at",
            AttributeValue::N((devkeys::now() + 3600).to_string()),
        )
        .item("name", AttributeValue::S("Ann".into()))
        .item("email", AttributeValue::S("ann@example.com".into()))
        .send()
        .await
        .unwrap();
    let config = SdkConfig {
        secret: SharedSecretSource::Inline(SHARED_SECRET.into()),
        secret_ttl: Duration::from_secs(300),
        resolver: ResolverConfig::Table { table },
        leeway: Duration::from_secs(30),
    };
    let sdk = SdkExchange::new(&config, None, Some(dynamodb));
    let exchange = |user_token: &'static str| {
        sdk.handle(request(
            "POST",
            "/sdk/jwt",
            &[("content-type", "application/x-www-form-urlencoded")],
            Some(&format!("user_token={user_token}")),
        ))
    };
    assert_eq!(
        counted(&proxy, exchange("known-token")).await,
        (200, one("GetItem"))
    );
    assert_eq!(
        counted(&proxy, exchange("never-issued")).await,
        (401, one("GetItem"))
    );
}
