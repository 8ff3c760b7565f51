//! Every API call that needs DynamoDB makes exactly one DynamoDB request, counted by a real proxy
//! in front of DynamoDB Local.

use std::time::Duration;

use integration_tests::dynamodb_proxy::{DynamoDbProxy, one_request};
use integration_tests::sdk_exchange::fixture_with_inline_secret;
use integration_tests::services::{DYNAMODB_ENDPOINT, aws_with_dynamodb_at, service_setting};
use integration_tests::todos::{fixture_on, token_for};

#[tokio::test]
async fn every_to_do_call_is_one_dynamodb_request() {
    let proxy = DynamoDbProxy::start(&service_setting(DYNAMODB_ENDPOINT)).await;
    let f = fixture_on(
        &aws_with_dynamodb_at(&proxy.endpoint()),
        2,
        Duration::from_secs(30),
    )
    .await;
    let token = token_for(1);
    assert_eq!(
        proxy
            .status_and_requests(f.as_user(&token, "GET", "/todo_items", None))
            .await,
        (200, one_request("GetItem")),
        "list of a new user"
    );
    assert_eq!(
        proxy.status_and_requests(f.add(1, "first")).await,
        (201, one_request("UpdateItem")),
        "first add"
    );
    assert_eq!(
        proxy
            .status_and_requests(f.add_with_key(1, "second", "key-2"))
            .await,
        (201, one_request("UpdateItem")),
        "add with a key"
    );
    assert_eq!(
        proxy
            .status_and_requests(f.add_with_key(1, "second", "key-2"))
            .await,
        (201, one_request("UpdateItem")),
        "replayed add"
    );
    assert_eq!(
        proxy.status_and_requests(f.add(1, "third")).await,
        (409, one_request("UpdateItem")),
        "add over the cap"
    );
    assert_eq!(
        proxy
            .status_and_requests(f.as_user(&token, "GET", "/todo_items", None))
            .await,
        (200, one_request("GetItem")),
        "list"
    );
    let id = f.stored(1).await[0].0;
    assert_eq!(
        proxy
            .status_and_requests(f.as_user(&token, "DELETE", &format!("/todo_items/{id}"), None))
            .await,
        (200, one_request("UpdateItem")),
        "delete"
    );
    assert_eq!(
        proxy
            .status_and_requests(f.as_user(&token, "DELETE", &format!("/todo_items/{id}"), None))
            .await,
        (200, one_request("UpdateItem")),
        "delete of an absent item"
    );
    assert_eq!(f.stored(1).await.len(), 1);
}

#[tokio::test]
async fn every_sdk_exchange_is_one_dynamodb_request() {
    let proxy = DynamoDbProxy::start(&service_setting(DYNAMODB_ENDPOINT)).await;
    let sdk = fixture_with_inline_secret(&aws_with_dynamodb_at(&proxy.endpoint())).await;
    sdk.register("known-token", 3600, &[]).await;
    assert_eq!(
        proxy
            .status_and_requests(sdk.exchange_token("known-token"))
            .await,
        (200, one_request("GetItem"))
    );
    assert_eq!(
        proxy
            .status_and_requests(sdk.exchange_token("never-issued"))
            .await,
        (401, one_request("GetItem"))
    );
}
