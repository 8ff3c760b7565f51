//! The same flows over real HTTP, through the local server that hosts all three functions.

use std::net::SocketAddr;
use std::sync::Arc;

use devserver::Functions;
use devserver::devkeys;
use integration_tests::*;
use serde_json::{Value, json};

/// GIVEN the three functions served over HTTP on a free port.
async fn serve() -> (String, super::todos::Fixture, super::sdk_exchange::Fixture) {
    let sidebar = super::sidebar::sidebar_from_secrets_manager().await;
    let todos = super::todos::fixture().await;
    let sdk = super::sdk_exchange::fixture().await;
    let functions = Functions {
        sidebar: Arc::new(sidebar),
        todos: todos.todos.clone(),
        sdk_exchange: sdk.exchange.clone(),
        dev_jwks: None,
        harness: None,
    };
    let addr = devserver::spawn(SocketAddr::from(([127, 0, 0, 1], 0)), functions)
        .await
        .unwrap();
    (format!("http://{addr}"), todos, sdk)
}

fn client() -> reqwest::Client {
    reqwest::Client::builder()
        .redirect(reqwest::redirect::Policy::none())
        .build()
        .unwrap()
}

#[tokio::test]
async fn the_three_functions_answer_over_http() {
    let (base, todos, _sdk) = serve().await;
    let client = client();

    // sidebar
    let token = keys()
        .primary
        .sign(&devkeys::zaf_claims(SUBDOMAIN, INSTALLATION_ID, 300));
    let page = client
        .post(format!(
            "{base}/sidebar?origin=https%3A%2F%2Facme.zendesk.com&app_guid=abc"
        ))
        .form(&[("token", token.as_str())])
        .send()
        .await
        .unwrap();
    assert_eq!(page.status(), 200);
    assert!(page.text().await.unwrap().contains("ZAFClient.init"));
    let refused = client
        .post(format!(
            "{base}/sidebar?origin=https%3A%2F%2Facme.zendesk.com&app_guid=abc"
        ))
        .form(&[("token", "forged")])
        .send()
        .await
        .unwrap();
    assert_eq!(refused.status(), 401);

    // todos
    let bearer = format!("Bearer {}", super::todos::token_for(4242));
    let created: Value = {
        let response = client
            .post(format!("{base}/todo_items"))
            .header("authorization", &bearer)
            .header("origin", HELP_CENTER_ORIGIN)
            .json(&json!({"value": "over HTTP"}))
            .send()
            .await
            .unwrap();
        assert_eq!(response.status(), 201);
        assert_eq!(
            response.headers()["access-control-allow-origin"],
            HELP_CENTER_ORIGIN
        );
        response.json().await.unwrap()
    };
    let id = created["todo_items"][0]["id"].as_u64().unwrap();
    assert_eq!(todos.stored(4242).await, vec![(id, "over HTTP".to_owned())]);
    let deleted: Value = client
        .delete(format!("{base}/todo_items/{id}"))
        .header("authorization", &bearer)
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    assert_eq!(deleted, json!({"todo_items": []}));
    let unauthenticated = client
        .get(format!("{base}/todo_items"))
        .send()
        .await
        .unwrap();
    assert_eq!(unauthenticated.status(), 401);
    assert_eq!(
        unauthenticated.headers()["www-authenticate"],
        "Bearer error=\"invalid_token\""
    );

    // unknown route
    assert_eq!(
        client
            .get(format!("{base}/nowhere"))
            .send()
            .await
            .unwrap()
            .status(),
        404
    );
}

#[tokio::test]
async fn the_sdk_exchange_answers_over_http() {
    let (base, _todos, sdk) = serve().await;
    sdk.register("http-user-token-1", 3600, &[]).await;
    let client = client();
    let ok = client
        .post(format!("{base}/sdk/jwt"))
        .form(&[("user_token", "http-user-token-1")])
        .send()
        .await
        .unwrap();
    assert_eq!(ok.status(), 200);
    let body: Value = ok.json().await.unwrap();
    let claims = super::sdk_exchange::decode_sdk_jwt(
        body["jwt"].as_str().unwrap(),
        super::sdk_exchange::SHARED_SECRET,
    );
    assert_eq!(claims["email"], "ann@example.com");
    let unknown = client
        .post(format!("{base}/sdk/jwt"))
        .form(&[("user_token", "nobody")])
        .send()
        .await
        .unwrap();
    assert_eq!(unknown.status(), 401);
}
