//! Each function's own `main.rs`, run as Lambda runs it: a process started with Lambda's
//! environment, polling a local stand-in for the Lambda Runtime API for one API Gateway event.
//! Every line it logs while handling the request carries the Lambda request id and API Gateway's
//! request id, in JSON and in text, at DEBUG and at WARN.

use std::collections::HashMap;
use std::process::{Command, Stdio};
use std::time::Duration;

use devserver::devkeys::{self, help_center_claims};
use integration_tests::runtime_api::{Report, RuntimeApi};
use integration_tests::services::{create_table, dynamodb, local_aws_vars};
use integration_tests::tokens::keys;
use integration_tests::{HELP_CENTER_ORIGIN, INSTALLATION_ID, SUBDOMAIN};
use serde_json::Value;

/// What one run of a function printed, and how it answered.
struct Run {
    /// The API Gateway response the function posted back.
    response: Value,
    /// Everything it wrote to stdout, line by line.
    lines: Vec<String>,
    lambda_request_id: String,
    api_request_id: String,
}

/// Start `binary` (a function's own `main.rs`) with Lambda's environment and `config`, hand it
/// `event` as one invocation, and collect its answer and its output.
async fn run_function(binary: &str, config: &[(&str, String)], mut event: Value) -> Run {
    let lambda_request_id = format!("lambda-{}", uuid::Uuid::new_v4());
    let api_request_id = format!("Api{}=", uuid::Uuid::new_v4().simple());
    event["requestContext"]["requestId"] = Value::from(api_request_id.as_str());
    let mut runtime = RuntimeApi::start().await;
    runtime.queue(&lambda_request_id, event.to_string());
    let mut child = Command::new(binary)
        .env_clear()
        .env("AWS_LAMBDA_RUNTIME_API", &runtime.address)
        .env("AWS_LAMBDA_FUNCTION_NAME", "test")
        .env("AWS_LAMBDA_FUNCTION_MEMORY_SIZE", "256")
        .env("AWS_LAMBDA_FUNCTION_VERSION", "$LATEST")
        .envs(config.iter().map(|(k, v)| (*k, v.as_str())))
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap_or_else(|e| panic!("cannot start {binary}: {e}"));
    let answered = runtime.answer(Duration::from_secs(30)).await;
    let _ = child.kill();
    let output = child.wait_with_output().unwrap();
    let stdout = String::from_utf8(output.stdout).unwrap();
    let response = match answered {
        Some(Report::Response { id, body, .. }) if id == lambda_request_id => body,
        Some(other) => panic!("{binary} reported {other:?}\n{stdout}"),
        None => panic!(
            "{binary} did not answer within 30 s; stdout:\n{stdout}\nstderr:\n{}",
            String::from_utf8_lossy(&output.stderr)
        ),
    };
    Run {
        response,
        lines: stdout.lines().map(str::to_owned).collect(),
        lambda_request_id,
        api_request_id,
    }
}

/// The JSON log lines (metric lines and anything else are not log lines).
fn json_log_lines(run: &Run) -> Vec<HashMap<String, Value>> {
    run.lines
        .iter()
        .filter_map(|line| serde_json::from_str::<HashMap<String, Value>>(line).ok())
        .filter(|line| line.contains_key("level"))
        .collect()
}

/// THEN the line `message` (the function's own) names both ids; every line of the invocation,
/// from the first naming the Lambda request id to the last (the runtime's own lines about it
/// included), names it; and every line naming API Gateway's id also names Lambda's. Lines
/// logged while the runtime waits for an invocation belong to none.
fn assert_request_lines_name_both_ids(run: &Run, message: &str) {
    let lines = json_log_lines(run);
    let all = || run.lines.join("\n");
    let lambda_id = Value::from(run.lambda_request_id.as_str());
    let api_id = Value::from(run.api_request_id.as_str());
    let own = lines
        .iter()
        .find(|line| line["message"] == message)
        .unwrap_or_else(|| panic!("no {message:?} line in:\n{}", all()));
    assert_eq!(own.get("requestId"), Some(&lambda_id), "{}", all());
    assert_eq!(own.get("apiRequestId"), Some(&api_id), "{}", all());
    let named = |line: &HashMap<String, Value>| line.get("requestId") == Some(&lambda_id);
    let first = lines.iter().position(named).unwrap();
    let last = lines.iter().rposition(named).unwrap();
    for line in &lines[first..=last] {
        assert!(
            named(line),
            "a line of the invocation without its id: {line:?}\n{}",
            all()
        );
    }
    for line in &lines {
        if line.contains_key("apiRequestId") {
            assert_eq!(line.get("apiRequestId"), Some(&api_id), "{line:?}");
            assert!(named(line), "{line:?}");
        }
    }
}

#[tokio::test]
async fn every_json_line_of_a_refused_sidebar_request_names_both_request_ids() {
    let forged = keys()
        .rogue
        .sign(&devkeys::zaf_claims(SUBDOMAIN, INSTALLATION_ID, 300));
    let event = devserver::fixtures::apigw_event(
        "POST",
        "/sidebar?origin=https%3A%2F%2Facme.zendesk.com&app_guid=0f1e2d3c-aaaa-bbbb-cccc-000000000001",
        &[("content-type", "application/x-www-form-urlencoded")],
        Some(&format!("token={forged}")),
    );
    let config = [
        ("AWS_LAMBDA_LOG_FORMAT", "JSON".to_owned()),
        ("AWS_LAMBDA_LOG_LEVEL", "DEBUG".to_owned()),
        ("ZENDESK_SUBDOMAIN", SUBDOMAIN.to_owned()),
        ("ZAF_APP_INSTALLATION_ID", INSTALLATION_ID.to_string()),
        ("ZAF_PUBLIC_KEY_PEM", keys().primary.public_pem().to_owned()),
    ];
    let run = run_function(env!("CARGO_BIN_EXE_sidebar-main"), &config, event).await;
    assert_eq!(run.response["statusCode"], 401, "{}", run.response);
    assert_request_lines_name_both_ids(&run, "sidebar token refused");
    assert!(
        !run.lines.iter().any(|line| line.contains(&forged)),
        "the token is never logged"
    );
}

#[tokio::test]
async fn at_warn_the_lines_of_an_unavailable_todos_request_still_name_both_request_ids() {
    // GIVEN a JWKS endpoint where nothing listens: the function warns and answers 503.
    let dynamodb = dynamodb();
    let table = create_table(&dynamodb, "owner").await;
    let token = keys().primary.sign(&help_center_claims(42, 300));
    let event = devserver::fixtures::apigw_event(
        "GET",
        "/todo_items",
        &[("authorization", &format!("Bearer {token}"))],
        None,
    );
    let mut config = local_aws_vars();
    config.extend([
        ("AWS_LAMBDA_LOG_FORMAT", "JSON".to_owned()),
        ("AWS_LAMBDA_LOG_LEVEL", "WARN".to_owned()),
        ("ZENDESK_SUBDOMAIN", SUBDOMAIN.to_owned()),
        ("TODOS_TABLE", table),
        ("ALLOWED_ORIGINS", HELP_CENTER_ORIGIN.to_owned()),
        (
            "HELP_CENTER_JWKS_URL",
            "http://127.0.0.1:9/keys.json".to_owned(),
        ),
        ("JWKS_TIMEOUT_MS", "500".to_owned()),
    ]);
    let run = run_function(env!("CARGO_BIN_EXE_todos-main"), &config, event).await;
    assert_eq!(run.response["statusCode"], 503, "{}", run.response);
    // lambda_runtime's own span (INFO) is off at WARN; the request span carries both ids.
    assert_request_lines_name_both_ids(&run, "help center keys are unavailable");
    let levels: Vec<String> = json_log_lines(&run)
        .iter()
        .map(|line| line["level"].as_str().unwrap().to_owned())
        .collect();
    assert!(
        levels
            .iter()
            .all(|level| level == "WARN" || level == "ERROR"),
        "{levels:?}"
    );
}

#[tokio::test]
async fn text_lines_of_a_refused_sdk_exchange_name_both_request_ids() {
    // GIVEN the user token table, without the token the request presents.
    let dynamodb = dynamodb();
    let table = create_table(&dynamodb, "token_hash").await;
    let event = devserver::fixtures::apigw_event(
        "POST",
        "/sdk/jwt",
        &[("content-type", "application/x-www-form-urlencoded")],
        Some("user_token=nobody-has-this-token"),
    );
    let mut config = local_aws_vars();
    config.extend([
        ("AWS_LAMBDA_LOG_LEVEL", "DEBUG".to_owned()),
        (
            "SDK_SHARED_SECRET",
            "test-only-shared-secret-0123456789".to_owned(),
        ),
        ("USER_TOKENS_TABLE", table),
    ]);
    let run = run_function(env!("CARGO_BIN_EXE_sdk-exchange-main"), &config, event).await;
    assert_eq!(run.response["statusCode"], 401, "{}", run.response);
    let refused: Vec<&String> = run
        .lines
        .iter()
        .filter(|line| line.contains("user token refused"))
        .collect();
    assert_eq!(refused.len(), 1, "{}", run.lines.join("\n"));
    assert!(
        refused[0].contains(&format!("requestId=\"{}\"", run.lambda_request_id)),
        "{}",
        refused[0]
    );
    assert!(
        refused[0].contains(&format!("apiRequestId=\"{}\"", run.api_request_id)),
        "{}",
        refused[0]
    );
    assert!(
        !run.lines
            .iter()
            .any(|line| line.contains("nobody-has-this-token"))
    );
}

#[tokio::test]
async fn an_event_with_a_header_http_cannot_carry_is_a_400_that_logs_the_header_name_only() {
    // GIVEN each function's own main.rs, and an event whose Authorization header ends in a control
    // byte (API Gateway passes it on; lambda_http's parser refuses the whole event).
    let secret = "Bearer never-log-this-token-value";
    let sdk_table = create_table(&dynamodb(), "token_hash").await;
    let functions = [
        (
            env!("CARGO_BIN_EXE_sidebar-main"),
            "/sidebar",
            vec![
                ("ZENDESK_SUBDOMAIN", SUBDOMAIN.to_owned()),
                ("ZAF_APP_INSTALLATION_ID", INSTALLATION_ID.to_string()),
                ("ZAF_PUBLIC_KEY_PEM", keys().primary.public_pem().to_owned()),
            ],
        ),
        (
            env!("CARGO_BIN_EXE_todos-main"),
            "/todo_items",
            vec![
                ("ZENDESK_SUBDOMAIN", SUBDOMAIN.to_owned()),
                ("TODOS_TABLE", "unused".to_owned()),
                ("ALLOWED_ORIGINS", HELP_CENTER_ORIGIN.to_owned()),
            ],
        ),
        (
            env!("CARGO_BIN_EXE_sdk-exchange-main"),
            "/sdk/jwt",
            vec![
                (
                    "SDK_SHARED_SECRET",
                    "test-only-shared-secret-0123456789".to_owned(),
                ),
                ("USER_TOKENS_TABLE", sdk_table.clone()),
            ],
        ),
    ];
    for (binary, path, vars) in functions {
        let event = devserver::fixtures::apigw_event(
            "POST",
            path,
            &[("authorization", &format!("{secret}\u{1}"))],
            Some("token=x"),
        );
        let mut config = local_aws_vars();
        config.extend([
            ("AWS_LAMBDA_LOG_FORMAT", "JSON".to_owned()),
            ("AWS_LAMBDA_LOG_LEVEL", "DEBUG".to_owned()),
        ]);
        config.extend(vars);
        // WHEN it is invoked (run_function requires an answer, not an invocation error)
        let run = run_function(binary, &config, event).await;
        // THEN the answer is a 400 that says which header,
        assert_eq!(
            run.response["statusCode"], 400,
            "{binary}: {}",
            run.response
        );
        let body: Value = serde_json::from_str(run.response["body"].as_str().unwrap()).unwrap();
        assert_eq!(
            body["message"],
            "The request's authorization header holds characters HTTP does not allow"
        );
        // AND the log names the header at INFO, never its value, and has no ERROR line.
        let lines = json_log_lines(&run);
        assert!(
            lines.iter().any(|line| line["level"] == "INFO"
                && line["headers"] == "authorization"
                && line["requestId"] == run.lambda_request_id.as_str()),
            "{binary}: {}",
            run.lines.join("\n")
        );
        assert!(
            !lines.iter().any(|line| line["level"] == "ERROR"),
            "{binary}: {}",
            run.lines.join("\n")
        );
        assert!(
            !run.lines.iter().any(|line| line.contains("never-log-this")),
            "{binary}: {}",
            run.lines.join("\n")
        );
    }
}
