//! Request fixtures for `sam local invoke -e` and `cargo lambda invoke --data-file`: one API
//! Gateway HTTP API (payload 2.0) event per route and outcome, with fresh tokens signed by the
//! development keys, and `env.json` for `sam local invoke --env-vars`.

use std::collections::BTreeMap;
use std::path::Path;

use serde_json::{Value, json};

use crate::dev::{self, DevEnvironment};

/// One fixture: the event, the function it is for and the status it must get.
pub struct Fixture {
    /// File name without `.json`: `<function>-<case>`.
    pub name: &'static str,
    /// The package (= SAM `Binary`, = `cargo lambda invoke` function name).
    pub function: &'static str,
    /// The HTTP status the function answers with.
    pub expected_status: u16,
    /// The API Gateway event.
    pub event: Value,
}

/// An API Gateway HTTP API (payload format 2.0) event, as Lambda receives it.
pub fn apigw_event(
    method: &str,
    path_and_query: &str,
    headers: &[(&str, &str)],
    body: Option<&str>,
) -> Value {
    let (path, query) = path_and_query
        .split_once('?')
        .unwrap_or((path_and_query, ""));
    let headers: BTreeMap<String, String> = headers
        .iter()
        .map(|(k, v)| (k.to_ascii_lowercase(), (*v).to_owned()))
        .collect();
    let route_key = match (method, path) {
        (_, p) if p.starts_with("/todo_items/") => format!("{method} /todo_items/{{id}}"),
        (_, p) if p.starts_with("/sidebar/api/") => "ANY /sidebar/api/{proxy+}".to_owned(),
        _ => format!("{method} {path}"),
    };
    json!({
        "version": "2.0",
        "routeKey": route_key,
        "rawPath": path,
        "rawQueryString": query,
        "headers": headers,
        "requestContext": {
            "accountId": "123456789012",
            "apiId": "local",
            "domainName": "127.0.0.1",
            "domainPrefix": "local",
            "http": {
                "method": method,
                "path": path,
                "protocol": "HTTP/1.1",
                "sourceIp": "127.0.0.1",
                "userAgent": "fixtures"
            },
            "requestId": "fixture",
            "routeKey": route_key,
            "stage": "$default",
            "time": "01/Jan/2026:00:00:00 +0000",
            "timeEpoch": 1_767_225_600_000u64
        },
        "body": body,
        "isBase64Encoded": false
    })
}

const FORM: (&str, &str) = ("content-type", "application/x-www-form-urlencoded");
const SIDEBAR_PAGE: &str = "/sidebar?origin=https%3A%2F%2Fexample.zendesk.com&app_guid=00000000-0000-4000-8000-000000000001";
/// The `app_guid` of [`SIDEBAR_PAGE`], which sessions are bound to.
const APP_GUID: &str = "00000000-0000-4000-8000-000000000001";
/// A ticket's note in the development installation.
const NOTE: &str = "/sidebar/api/tickets/4321/note";

/// Every fixture, with tokens valid for `ttl_seconds`.
pub fn generate(env: &DevEnvironment, ttl_seconds: i64) -> Vec<Fixture> {
    let zaf = env.zaf_token(ttl_seconds);
    let expired_zaf = env.zaf_token(-3600);
    let forged_zaf = crate::devkeys::DevKey::generate("forged").sign(&crate::devkeys::zaf_claims(
        dev::SUBDOMAIN,
        dev::INSTALLATION_ID,
        ttl_seconds,
    ));
    let not_enabled_zaf = env.zaf_token_for(dev::INSTALLATION_ID + 1, ttl_seconds);
    let session = format!("Bearer {}", env.session(APP_GUID, ttl_seconds));
    let session_auth = ("authorization", session.as_str());
    let app_guid = ("x-app-guid", APP_GUID);
    let bearer = format!("Bearer {}", env.help_center_token(1, ttl_seconds));
    let expired_bearer = format!("Bearer {}", env.help_center_token(1, -3600));
    let origin = ("origin", dev::LOCAL_ORIGIN);
    let auth = ("authorization", bearer.as_str());
    let json_type = ("content-type", "application/json");
    let fixture = |name, function, expected_status, event| Fixture {
        name,
        function,
        expected_status,
        event,
    };
    vec![
        fixture(
            "sidebar-valid",
            "sidebar",
            200,
            apigw_event("POST", SIDEBAR_PAGE, &[FORM], Some(&format!("token={zaf}"))),
        ),
        fixture(
            "sidebar-invalid",
            "sidebar",
            401,
            apigw_event(
                "POST",
                SIDEBAR_PAGE,
                &[FORM],
                Some(&format!("token={forged_zaf}")),
            ),
        ),
        fixture(
            "sidebar-expired",
            "sidebar",
            401,
            apigw_event(
                "POST",
                SIDEBAR_PAGE,
                &[FORM],
                Some(&format!("token={expired_zaf}")),
            ),
        ),
        fixture(
            "sidebar-missing-token",
            "sidebar",
            400,
            apigw_event("POST", SIDEBAR_PAGE, &[FORM], Some("")),
        ),
        // A page address with characters a URI cannot hold, as API Gateway passes it on: the
        // function repairs the event (zendesk_jwt::lambda::runtime) and serves the page, with
        // the values escaped.
        fixture(
            "sidebar-hostile-query",
            "sidebar",
            200,
            apigw_event(
                "POST",
                "/sidebar?origin=\"https://example.zendesk.com\"&app_guid=<b> 1",
                &[FORM],
                Some(&format!("token={zaf}")),
            ),
        ),
        // A header HTTP cannot carry (a control byte in its value), as API Gateway passes it
        // on: answered 400 by the runtime loop without the handler, logging the header's name
        // only (zendesk_jwt::lambda::runtime). One such event per function.
        fixture(
            "sidebar-header-not-http",
            "sidebar",
            400,
            apigw_event(
                "POST",
                SIDEBAR_PAGE,
                &[FORM, ("referer", "https://example.zendesk.com/\u{7f}")],
                Some(&format!("token={zaf}")),
            ),
        ),
        // A valid token of an installation that is not in the sidebar's table.
        fixture(
            "sidebar-not-enabled",
            "sidebar",
            403,
            apigw_event(
                "POST",
                SIDEBAR_PAGE,
                &[FORM],
                Some(&format!("token={not_enabled_zaf}")),
            ),
        ),
        // The app's API, with the session the start page carries.
        fixture(
            "sidebar-note",
            "sidebar",
            200,
            apigw_event("GET", NOTE, &[session_auth, app_guid], None),
        ),
        fixture(
            "sidebar-note-no-session",
            "sidebar",
            401,
            apigw_event("GET", NOTE, &[app_guid], None),
        ),
        fixture(
            "sidebar-note-other-app-guid",
            "sidebar",
            401,
            apigw_event(
                "GET",
                NOTE,
                &[
                    session_auth,
                    ("x-app-guid", "00000000-0000-4000-8000-000000000002"),
                ],
                None,
            ),
        ),
        fixture(
            "sidebar-settings",
            "sidebar",
            200,
            apigw_event(
                "GET",
                "/sidebar/api/settings",
                &[session_auth, app_guid],
                None,
            ),
        ),
        fixture(
            "todos-list",
            "todos",
            200,
            apigw_event("GET", "/todo_items", &[auth, origin], None),
        ),
        fixture(
            "todos-add",
            "todos",
            201,
            apigw_event(
                "POST",
                "/todo_items",
                &[auth, origin, json_type],
                Some(r#"{"value":"Try the to-do API"}"#),
            ),
        ),
        fixture(
            "todos-add-blank",
            "todos",
            400,
            apigw_event(
                "POST",
                "/todo_items",
                &[auth, origin, json_type],
                Some(r#"{"value":"  "}"#),
            ),
        ),
        fixture(
            "todos-delete",
            "todos",
            200,
            apigw_event("DELETE", "/todo_items/1", &[auth, origin], None),
        ),
        fixture(
            "todos-expired",
            "todos",
            401,
            apigw_event(
                "GET",
                "/todo_items",
                &[("authorization", expired_bearer.as_str()), origin],
                None,
            ),
        ),
        fixture(
            "todos-missing-token",
            "todos",
            401,
            apigw_event("GET", "/todo_items", &[origin], None),
        ),
        // A scheme and a host that make no URL: dropped, and the request served.
        fixture(
            "todos-hostile-headers",
            "todos",
            200,
            apigw_event(
                "GET",
                "/todo_items",
                &[
                    auth,
                    origin,
                    ("x-forwarded-proto", "<x>"),
                    ("host", "1.2.3.999"),
                ],
                None,
            ),
        ),
        fixture(
            "todos-header-not-http",
            "todos",
            400,
            apigw_event(
                "GET",
                "/todo_items",
                &[("authorization", "Bearer not-a-token\u{1}"), origin],
                None,
            ),
        ),
        fixture(
            "todos-preflight",
            "todos",
            200,
            apigw_event(
                "OPTIONS",
                "/todo_items",
                &[
                    origin,
                    ("access-control-request-method", "POST"),
                    (
                        "access-control-request-headers",
                        "authorization,content-type",
                    ),
                ],
                None,
            ),
        ),
        fixture(
            "sdk-exchange-valid",
            "sdk-exchange",
            200,
            apigw_event(
                "POST",
                "/sdk/jwt",
                &[FORM],
                Some(&format!("user_token={}", env.demo_user_token)),
            ),
        ),
        fixture(
            "sdk-exchange-unknown",
            "sdk-exchange",
            401,
            apigw_event("POST", "/sdk/jwt", &[FORM], Some("user_token=never-issued")),
        ),
        fixture(
            "sdk-exchange-hostile-query",
            "sdk-exchange",
            200,
            apigw_event(
                "POST",
                "/sdk/jwt?from=\"<app>\" \u{1}",
                &[FORM],
                Some(&format!("user_token={}", env.demo_user_token)),
            ),
        ),
        fixture(
            "sdk-exchange-header-not-http",
            "sdk-exchange",
            400,
            apigw_event(
                "POST",
                "/sdk/jwt",
                &[FORM, ("user-agent", "Zendesk SDK\nX-Injected: 1")],
                Some(&format!("user_token={}", env.demo_user_token)),
            ),
        ),
        fixture(
            "sdk-exchange-missing-token",
            "sdk-exchange",
            401,
            apigw_event("POST", "/sdk/jwt", &[FORM], Some("")),
        ),
        // Messaging sign-in, as the customer's page (an allowed origin) calls it.
        fixture(
            "sdk-exchange-messaging-valid",
            "sdk-exchange",
            200,
            apigw_event(
                "POST",
                "/messaging/jwt",
                &[FORM, origin],
                Some(&format!("user_token={}", env.demo_user_token)),
            ),
        ),
        fixture(
            "sdk-exchange-messaging-preflight",
            "sdk-exchange",
            200,
            apigw_event(
                "OPTIONS",
                "/messaging/jwt",
                &[
                    origin,
                    ("access-control-request-method", "POST"),
                    ("access-control-request-headers", "content-type"),
                ],
                None,
            ),
        ),
        fixture(
            "sdk-exchange-messaging-other-origin",
            "sdk-exchange",
            403,
            apigw_event(
                "POST",
                "/messaging/jwt",
                &[FORM, ("origin", "https://evil.example")],
                Some(&format!("user_token={}", env.demo_user_token)),
            ),
        ),
    ]
}

/// `env.json` for `sam local invoke --env-vars`: the development configuration per function
/// (by the template's logical ids), reaching the local services from inside SAM's container.
pub(crate) fn sam_env_json(env: &DevEnvironment) -> Value {
    let host = "http://host.docker.internal";
    let mut common = serde_json::Map::new();
    for (name, value) in env.variables(&format!("{host}:3000/dev/jwks.json")) {
        common.insert(name.into(), Value::String(value));
    }
    common.insert(
        "AWS_ENDPOINT_URL_DYNAMODB".into(),
        json!(format!("{host}:8000")),
    );
    common.insert(
        "AWS_ENDPOINT_URL_SECRETS_MANAGER".into(),
        json!(format!("{host}:4566")),
    );
    common.insert("AWS_ACCESS_KEY_ID".into(), json!("local"));
    common.insert("AWS_SECRET_ACCESS_KEY".into(), json!("local"));
    common.insert("AWS_LAMBDA_LOG_LEVEL".into(), json!("DEBUG"));
    let only = |names: &[&str]| -> Value {
        let vars: serde_json::Map<String, Value> = common
            .iter()
            .filter(|(k, _)| names.contains(&k.as_str()) || k.starts_with("AWS_"))
            .map(|(k, v)| (k.clone(), v.clone()))
            .collect();
        Value::Object(vars)
    };
    json!({
        // As the template deploys table mode: no account for the sidebar.
        "SidebarFunction": only(&["ZAF_INSTALLATIONS", "ZAF_PUBLIC_KEY_SECRET_ID", "SIDEBAR_TABLE", "SESSION_KEY_SECRET_ID"]),
        "TodosFunction": only(&["ZENDESK_SUBDOMAIN", "TODOS_TABLE", "ALLOWED_ORIGINS", "HELP_CENTER_JWKS_URL"]),
        "SdkExchangeFunction": only(&["SDK_SHARED_SECRET_ID", "USER_TOKEN_RESOLVER", "USER_TOKENS_TABLE", "MESSAGING_SIGNING_KEY_SECRET_ID", "MESSAGING_ALLOWED_ORIGINS"]),
    })
}

/// Write every fixture and `env.json` into `dir`; returns the fixtures written.
pub fn write_all(
    env: &DevEnvironment,
    dir: &Path,
    ttl_seconds: i64,
) -> std::io::Result<Vec<Fixture>> {
    std::fs::create_dir_all(dir)?;
    let fixtures = generate(env, ttl_seconds);
    for fixture in &fixtures {
        let text = serde_json::to_string_pretty(&fixture.event).expect("events serialize");
        std::fs::write(dir.join(format!("{}.json", fixture.name)), text + "\n")?;
    }
    let env_json = serde_json::to_string_pretty(&sam_env_json(env)).expect("env.json serializes");
    std::fs::write(dir.join("env.json"), env_json + "\n")?;
    Ok(fixtures)
}
