//! The request fixtures in `events/`: every one parses through `lambda_http` as Lambda would
//! parse it and gets its expected status from its handler, configured with the development
//! configuration (which trusts exactly the development keys).

use std::collections::BTreeSet;
use zendesk_jwt::lambda::runtime::{EventError, request_from_event};

use devserver::dev::DevEnvironment;
use devserver::fixtures;
use integration_tests::events::{events_dir, excerpt};
use integration_tests::jwks_server::JwksServer;
use integration_tests::services::{dynamodb, local_aws_vars, secrets_manager, unique};
use sdk_exchange::{ExchangeConfig, SdkExchange};
use sidebar::{Sidebar, SidebarConfig};
use todos::{Todos, TodosConfig};
use zendesk_jwt::lambda::aws::Aws;

#[tokio::test]
async fn every_fixture_gets_its_expected_status_from_its_handler() {
    // GIVEN a fresh development environment, provisioned in the local services.
    let dir = std::env::temp_dir().join(unique("dev"));
    let dev = DevEnvironment::load_or_create(&dir).unwrap();
    dev.provision(&dynamodb(), &secrets_manager())
        .await
        .unwrap();
    let jwks = JwksServer::start(dev.jwks()).await;
    // AND the three handlers configured from its variables, as their `main`s configure them.
    let mut vars = dev.variables(&jwks.url());
    vars.extend(local_aws_vars());
    let aws = Aws::from_vars(&vars);
    let sidebar = Sidebar::new(&SidebarConfig::from_vars(&vars).unwrap(), &aws).unwrap();
    let todos = Todos::new(&TodosConfig::from_vars(&vars).unwrap(), &aws).unwrap();
    let sdk = SdkExchange::new(&ExchangeConfig::from_vars(&vars).unwrap(), &aws).unwrap();

    // WHEN each fixture is written to disk, read back and parsed as the functions' runtime loop
    // parses it (events lambda_http alone would panic on are repaired first).
    let written = fixtures::write_all(&dev, &dir.join("events"), 600).unwrap();
    assert!(written.len() >= 12);
    for fixture in written {
        let text =
            std::fs::read_to_string(dir.join("events").join(format!("{}.json", fixture.name)))
                .unwrap();
        let response = match request_from_event(&text) {
            Ok(request) => match fixture.function {
                "sidebar" => sidebar.handle(request).await,
                "todos" => todos.handle(request).await,
                "sdk-exchange" => sdk.handle(request).await,
                other => panic!("unknown function {other}"),
            },
            // Answered by the runtime loop itself, without the handler.
            Err(EventError::HeaderNotHttp(refused)) => refused.response(),
            Err(error) => panic!("{} does not parse: {error}", fixture.name),
        };
        // THEN it gets the status its name promises.
        assert_eq!(
            response.status().as_u16(),
            fixture.expected_status,
            "{}: {}",
            fixture.name,
            excerpt(&response, 300)
        );
    }
    std::fs::remove_dir_all(dir).ok();
}

#[test]
fn the_committed_events_folder_holds_exactly_the_generated_fixtures() {
    let dev = DevEnvironment::load_or_create(std::env::temp_dir().join(unique("dev"))).unwrap();
    let expected: BTreeSet<String> = fixtures::generate(&dev, 60)
        .iter()
        .map(|f| format!("{}.json", f.name))
        .chain(["env.json".to_owned()])
        .collect();
    let present: BTreeSet<String> = std::fs::read_dir(events_dir())
        .expect("events/ exists")
        .map(|entry| entry.unwrap().file_name().to_string_lossy().into_owned())
        .filter(|name| name.ends_with(".json"))
        .collect();
    assert_eq!(
        present, expected,
        "regenerate with `cargo run -p devserver -- fixtures`"
    );
    for name in present.iter().filter(|n| *n != "env.json") {
        let text = std::fs::read_to_string(events_dir().join(name)).unwrap();
        let event: serde_json::Value = serde_json::from_str(&text).unwrap();
        let function = name.split('-').next().unwrap();
        let path = event["rawPath"].as_str().unwrap_or_default().to_owned();
        match function {
            "sidebar" => assert!(
                path == "/sidebar" || path.starts_with("/sidebar/api/"),
                "{name}"
            ),
            "todos" => assert!(path.starts_with("/todo_items"), "{name}"),
            "sdk" => assert!(path == "/sdk/jwt" || path == "/messaging/jwt", "{name}"),
            other => panic!("{name}: unknown function prefix {other}"),
        }
    }
    let env_json: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(events_dir().join("env.json")).unwrap())
            .unwrap();
    for function in ["SidebarFunction", "TodosFunction", "SdkExchangeFunction"] {
        assert!(env_json[function].is_object(), "env.json lacks {function}");
    }
}
