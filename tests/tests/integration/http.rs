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

#[tokio::test]
async fn the_local_server_serves_the_sidebar_for_every_enabled_account_and_the_to_do_api_for_its_own()
 {
    use aws_sdk_dynamodb::types::AttributeValue;
    use devserver::dev::DevEnvironment;
    use integration_tests::services::{
        create_secret, create_table, dynamodb, local_aws_vars, secrets_manager, unique,
    };
    use integration_tests::sidebar::record;
    use zendesk_jwt::ZafInstallation;

    // GIVEN the development configuration, as scripts/dev exports it (with tables and secrets
    // of this test's own in place of the development ones)
    let dev = DevEnvironment::load_or_create(std::env::temp_dir().join(unique("dev"))).unwrap();
    let jwks = integration_tests::jwks_server::JwksServer::start(dev.jwks()).await;
    let (dynamodb, secrets) = (dynamodb(), secrets_manager());
    let sidebar_table = unique("sidebar");
    devserver::dev::create_sidebar_table(&dynamodb, &sidebar_table)
        .await
        .unwrap();
    let todos_table = create_table(&dynamodb, "owner").await;
    let user_tokens_table = create_table(&dynamodb, "token_hash").await;
    let own = [
        ("SIDEBAR_TABLE", sidebar_table.clone()),
        ("TODOS_TABLE", todos_table.clone()),
        ("USER_TOKENS_TABLE", user_tokens_table),
        (
            "ZAF_PUBLIC_KEY_SECRET_ID",
            create_secret(&secrets, dev.zaf.public_pem()).await,
        ),
        (
            "SESSION_KEY_SECRET_ID",
            create_secret(&secrets, &dev.session_key).await,
        ),
        (
            "SDK_SHARED_SECRET_ID",
            create_secret(&secrets, &dev.sdk_secret).await,
        ),
    ];
    let mut vars: Vec<(&str, String)> = dev
        .variables(&jwks.url())
        .into_iter()
        .filter(|(name, _)| !own.iter().any(|(n, _)| n == name))
        .collect();
    vars.extend(own);
    vars.extend(local_aws_vars());
    // AND two accounts' installations enabled in the sidebar's table
    let admin = sidebar::admin::InstallationAdmin::new(dynamodb.clone(), &sidebar_table);
    let development = DevEnvironment::installation();
    let globex = ZafInstallation::new("globex", 7).unwrap();
    for installation in [&development, &globex] {
        admin
            .add(installation, &record(true, "Enabled", json!({})))
            .await
            .unwrap();
    }
    // AND the local server built from that configuration, as `devserver serve` builds it
    let functions = devserver::Functions::from_vars(&vars).expect("the configuration is complete");
    let addr = devserver::spawn(([127, 0, 0, 1], 0).into(), functions)
        .await
        .unwrap();
    let base = format!("http://{addr}");
    let client = client();
    let open = |installation: &ZafInstallation| {
        let page = format!(
            "{base}/sidebar?origin=https%3A%2F%2F{}.zendesk.com&app_guid=00000000-0000-4000-8000-000000000001",
            installation.subdomain()
        );
        client
            .post(page)
            .form(&[("token", dev.zaf_token_of(installation, 300))])
            .send()
    };
    // WHEN each account opens the app, THEN each gets the start page, with a session
    for installation in [&development, &globex] {
        let page = open(installation).await.unwrap();
        assert_eq!(page.status(), 200, "{installation}");
        assert!(
            page.text().await.unwrap().contains("data-session"),
            "{installation}"
        );
    }
    // AND an installation that is not in the table still gets the 403 page
    let unknown = open(&ZafInstallation::new("initech", 3).unwrap())
        .await
        .unwrap();
    assert_eq!(unknown.status(), 403);
    // AND the to-do API keeps its own account: its user's items are kept under it.
    let added = client
        .post(format!("{base}/todo_items"))
        .header(
            "authorization",
            format!("Bearer {}", dev.help_center_token(5, 300)),
        )
        .json(&json!({"value": "from the local server"}))
        .send()
        .await
        .unwrap();
    assert_eq!(added.status(), 201);
    let item = dynamodb
        .get_item()
        .table_name(&todos_table)
        .key(
            "owner",
            AttributeValue::S(format!("{}#5", devserver::dev::SUBDOMAIN)),
        )
        .send()
        .await
        .unwrap()
        .item;
    assert!(
        item.is_some(),
        "the to-do was kept under the development account"
    );
}
