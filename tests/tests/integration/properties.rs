//! Property-based tests: for arbitrary tokens and arbitrary bodies, every handler answers with a
//! 4xx and a clear body; never a panic, never a 5xx, never the protected answer.

use integration_tests::arbitrary::{
    any_body, any_token, content_type, is_a_valid_item, mutate, mutation, runner, runtime,
};
use integration_tests::endpoints::Endpoint;
use integration_tests::events::{post, text};
use integration_tests::sdk_exchange::fixture as sdk_exchange_fixture;
use integration_tests::sidebar::{PAGE, open, sidebar_from_secrets_manager, valid_token};
use integration_tests::todos::{fixture as todos_fixture, token_for};
use proptest::prelude::*;

/// GIVEN every endpoint, THEN each accepts its valid token: the refusals that follow are not an
/// endpoint that refuses everything.
async fn endpoints_accepting_a_valid_token() -> Vec<Endpoint> {
    let endpoints = Endpoint::all().await;
    for endpoint in &endpoints {
        endpoint.assert_accepts_a_valid_token().await;
    }
    endpoints
}

#[test]
fn arbitrary_tokens_are_refused_by_every_endpoint() {
    let rt = runtime();
    let endpoints = rt.block_on(endpoints_accepting_a_valid_token());
    runner(256)
        .run(&any_token(), |token| {
            for endpoint in &endpoints {
                rt.block_on(endpoint.check_refuses(&token))?;
            }
            Ok(())
        })
        .unwrap();
}

#[test]
fn a_valid_token_changed_in_one_character_is_refused_by_every_endpoint() {
    let rt = runtime();
    let endpoints = rt.block_on(endpoints_accepting_a_valid_token());
    let valid: Vec<String> = endpoints.iter().map(Endpoint::valid_token).collect();
    runner(256)
        .run(&mutation(), |mutation| {
            for (endpoint, valid) in endpoints.iter().zip(&valid) {
                let token = mutate(valid, &mutation);
                prop_assume!(&token != valid);
                if endpoint.reads(&token) == valid {
                    // A space added before or after a bearer token: the same token, accepted.
                    rt.block_on(endpoint.check_accepts(&token))?;
                } else {
                    rt.block_on(endpoint.check_refuses(&token))?;
                }
            }
            Ok(())
        })
        .unwrap();
}

/// The edge of the property above: a space before or after a token. A bearer token is
/// the same token with spaces around it (HTTP and RFC 6750 say so); a form field is taken as
/// sent, so the sidebar and the SDK's user token refuse it. A space inside is refused everywhere.
#[tokio::test]
async fn a_space_around_a_token_is_dropped_from_a_bearer_token_and_refused_in_a_form() {
    for endpoint in Endpoint::all().await {
        endpoint.assert_accepts_a_valid_token().await;
        let valid = endpoint.valid_token();
        let (head, tail) = valid.split_at(valid.len() / 2);
        for token in [
            format!(" {valid}"),
            format!("{valid} "),
            format!("{head} {tail}"),
        ] {
            let response = endpoint.present(&token).await;
            if endpoint.reads(&token) == valid {
                assert_eq!(response.status(), 200, "{}: {token:?}", endpoint.name());
            } else {
                assert!(
                    endpoint.is_refusal(&response),
                    "{}: {token:?}: {}",
                    endpoint.name(),
                    response.status()
                );
            }
        }
    }
}

#[test]
fn arbitrary_bodies_never_get_a_2xx_or_a_5xx_from_any_handler() {
    let rt = runtime();
    let todos = rt.block_on(todos_fixture());
    let sdk = rt.block_on(sdk_exchange_fixture());
    let sidebar = rt.block_on(sidebar_from_secrets_manager());
    // GIVEN each handler accepts a good body:
    assert_eq!(rt.block_on(todos.add(77_002, "a good item")).status(), 201);
    rt.block_on(sdk.register("properties-user-token", 3600, &[]));
    let exchanged = rt.block_on(sdk.exchange_token("properties-user-token"));
    assert_eq!(exchanged.status(), 200);
    assert_eq!(rt.block_on(open(&sidebar, &valid_token())).status(), 200);
    let bearer = format!("Bearer {}", token_for(77_001));
    runner(256)
        .run(
            &(content_type(), any_body(), any::<bool>()),
            |(content_type, body, encode)| {
                let mut answers = Vec::new();
                let content_type = content_type.as_deref();
                if !is_a_valid_item(content_type, &body) {
                    let auth = [("authorization", bearer.as_str())];
                    let req = post("/todo_items", &auth, content_type, &body, encode);
                    answers.push(("todos", rt.block_on(todos.todos.handle(req))));
                }
                let req = post("/sdk/jwt", &[], content_type, &body, encode);
                answers.push(("sdk-exchange", rt.block_on(sdk.exchange.handle(req))));
                let req = post(PAGE, &[], content_type, &body, encode);
                answers.push(("sidebar", rt.block_on(sidebar.handle(req))));
                for (handler, response) in answers {
                    prop_assert!(
                        response.status().is_client_error(),
                        "{handler}: {} {}",
                        response.status(),
                        text(&response)
                    );
                    prop_assert!(!text(&response).is_empty(), "{handler}: an empty body");
                }
                Ok(())
            },
        )
        .unwrap();
    assert!(
        rt.block_on(todos.stored(77_001)).is_empty(),
        "nothing was written"
    );
}
