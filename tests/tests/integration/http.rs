//! The same flows over real HTTP, through the local server that hosts all three functions.

use integration_tests::HELP_CENTER_ORIGIN;
use integration_tests::local_server::{client, serve};
use integration_tests::sdk_exchange::{SHARED_SECRET, decode_sdk_jwt};
use integration_tests::sidebar::{PAGE, valid_token};
use integration_tests::todos::token_for;
use serde_json::{Value, json};

#[tokio::test]
async fn the_three_functions_answer_over_http() {
    let server = serve().await;
    let base = &server.base;
    let client = client();

    // sidebar
    let token = valid_token();
    let page = client
        .post(format!("{base}{PAGE}"))
        .form(&[("token", token.as_str())])
        .send()
        .await
        .unwrap();
    assert_eq!(page.status(), 200);
    assert!(page.text().await.unwrap().contains("ZAFClient.init"));
    let refused = client
        .post(format!("{base}{PAGE}"))
        .form(&[("token", "forged")])
        .send()
        .await
        .unwrap();
    assert_eq!(refused.status(), 401);

    // todos
    let bearer = format!("Bearer {}", token_for(4242));
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
    assert_eq!(
        server.todos.stored(4242).await,
        vec![(id, "over HTTP".to_owned())]
    );
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
    let server = serve().await;
    let base = &server.base;
    server.sdk.register("http-user-token-1", 3600, &[]).await;
    let client = client();
    let ok = client
        .post(format!("{base}/sdk/jwt"))
        .form(&[("user_token", "http-user-token-1")])
        .send()
        .await
        .unwrap();
    assert_eq!(ok.status(), 200);
    let body: Value = ok.json().await.unwrap();
    let claims = decode_sdk_jwt(body["jwt"].as_str().unwrap(), SHARED_SECRET);
    assert_eq!(claims["email"], "ann@example.com");
    let unknown = client
        .post(format!("{base}/sdk/jwt"))
        .form(&[("user_token", "nobody")])
        .send()
        .await
        .unwrap();
    assert_eq!(unknown.status(), 401);
}
