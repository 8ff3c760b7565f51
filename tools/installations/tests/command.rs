//! The `installations` binary against DynamoDB Local (run by `scripts/test`, which starts it),
//! and the sidebar it configures: what the command prints, its exit status, and what the sidebar
//! then serves.

use std::process::Command;
use std::time::Duration;

use integration_tests::dynamodb_proxy::DynamoDbProxy;
use integration_tests::events::text;
use integration_tests::services::{DYNAMODB_ENDPOINT, local_aws_vars, service_setting};
use integration_tests::sidebar::{APP_GUID, Mode, app_fixture};
use serde_json::json;
use zendesk_jwt::ZafInstallation;

/// Run the command with the local AWS settings (and `SIDEBAR_TABLE` when given); its exit
/// code, standard output and standard error.
fn installations(args: &[&str], sidebar_table: Option<&str>) -> (i32, String, String) {
    installations_via(args, sidebar_table, None)
}

/// The same, with DynamoDB at `endpoint` when given (a proxy in front of DynamoDB Local).
fn installations_via(
    args: &[&str],
    sidebar_table: Option<&str>,
    endpoint: Option<&str>,
) -> (i32, String, String) {
    let mut command = Command::new(env!("CARGO_BIN_EXE_installations"));
    command.args(args).env_remove("SIDEBAR_TABLE");
    for (name, value) in local_aws_vars() {
        command.env(name, value);
    }
    if let Some(endpoint) = endpoint {
        command.env(DYNAMODB_ENDPOINT, endpoint);
    }
    // The standard chain takes the credentials from the environment; never ask a metadata
    // service or read the machine's profiles.
    command
        .env("AWS_EC2_METADATA_DISABLED", "true")
        .env("AWS_CONFIG_FILE", "/dev/null")
        .env("AWS_SHARED_CREDENTIALS_FILE", "/dev/null");
    if let Some(table) = sidebar_table {
        command.env("SIDEBAR_TABLE", table);
    }
    let output = command.output().expect("the installations binary runs");
    (
        output.status.code().unwrap_or(-1),
        String::from_utf8_lossy(&output.stdout).into_owned(),
        String::from_utf8_lossy(&output.stderr).into_owned(),
    )
}

#[tokio::test]
async fn the_command_adds_lists_disables_and_enables_what_the_sidebar_serves() {
    // GIVEN the sidebar in table mode, with installation records not cached at all.
    let app = app_fixture(Mode::Table(None), Duration::ZERO, Duration::from_secs(600)).await;
    let acme = ZafInstallation::new("acme", 360_001).unwrap();
    let table = app.table.as_str();
    assert_eq!(
        app.open_as(&acme, APP_GUID).await.status(),
        403,
        "not added yet"
    );

    // WHEN the admin adds it
    let (code, out, err) = installations(
        &[
            "--table",
            table,
            "add",
            "Acme",
            "360001",
            "--name",
            "Acme Support",
            "--settings",
            r#"{"greeting":"Hi"}"#,
        ],
        None,
    );
    assert_eq!(code, 0, "{err}");
    assert_eq!(
        out.trim(),
        "added acme#360001\tenabled\t\"Acme Support\"\t{\"greeting\":\"Hi\"}"
    );
    // THEN the app opens for it, and its settings are what the API answers.
    let page = app.open_as(&acme, APP_GUID).await;
    assert_eq!(page.status(), 200, "{}", text(&page));
    let session = app.session_for(&acme).await;
    assert_eq!(
        integration_tests::events::json_body(&app.settings(&session).await)["settings"],
        json!({"greeting": "Hi"})
    );

    // Adding it again is refused, and changes nothing.
    let (code, _, err) = installations(&["--table", table, "add", "acme", "360001"], None);
    assert_eq!(code, 1);
    assert!(
        err.contains("installation acme#360001 is already in the table"),
        "{err}"
    );

    // The table can come from SIDEBAR_TABLE; a second installation, disabled from the start.
    let (code, out, err) = installations(&["add", "globex", "7", "--disabled"], Some(table));
    assert_eq!(code, 0, "{err}");
    assert!(out.starts_with("added globex#7\tdisabled"), "{out}");
    assert_eq!(
        app.open_as(&ZafInstallation::new("globex", 7).unwrap(), APP_GUID)
            .await
            .status(),
        403
    );

    let (code, out, _) = installations(&["--table", table, "list"], None);
    assert_eq!(code, 0);
    assert_eq!(
        out.trim(),
        "acme#360001\tenabled\t\"Acme Support\"\t{\"greeting\":\"Hi\"}\nglobex#7\tdisabled\t\"\"\t{}"
    );
    let (_, out, _) = installations(&["--table", table, "list", "--json"], None);
    let listed: serde_json::Value = serde_json::from_str(&out).unwrap();
    assert_eq!(listed[0]["subdomain"], "acme");
    assert_eq!(listed[0]["installation_id"], 360_001);
    assert_eq!(listed[1]["enabled"], false);

    // WHEN it is disabled, THEN the page is a 403 and the session's calls too; enabled, back.
    let (code, out, _) = installations(&["--table", table, "disable", "acme", "360001"], None);
    assert_eq!(code, 0);
    assert!(out.starts_with("updated acme#360001\tdisabled"), "{out}");
    assert_eq!(app.open_as(&acme, APP_GUID).await.status(), 403);
    assert_eq!(app.read_note(&session, 1).await.status(), 403);
    let (code, _, _) = installations(&["--table", table, "enable", "acme", "360001"], None);
    assert_eq!(code, 0);
    assert_eq!(app.open_as(&acme, APP_GUID).await.status(), 200);
    assert_eq!(app.read_note(&session, 1).await.status(), 200);

    // Settings and name change in place.
    let (code, out, _) = installations(
        &[
            "--table",
            table,
            "settings",
            "acme",
            "360001",
            r#"{"greeting":"Hello"}"#,
        ],
        None,
    );
    assert_eq!(code, 0);
    assert!(out.ends_with("{\"greeting\":\"Hello\"}\n"), "{out}");
    let (code, out, _) = installations(
        &["--table", table, "rename", "acme", "360001", "Acme"],
        None,
    );
    assert_eq!(code, 0);
    assert!(out.contains("\"Acme\""), "{out}");

    // An installation that is not there, a missing table, bad arguments: clear errors.
    let (code, _, err) = installations(&["--table", table, "disable", "initech", "1"], None);
    assert_eq!(code, 1);
    assert!(
        err.contains("installation initech#1 is not in the table (add it first)"),
        "{err}"
    );
    let (code, _, err) = installations(&["list"], None);
    assert_eq!(code, 2);
    assert!(err.contains("--table or SIDEBAR_TABLE"), "{err}");
    let (code, _, err) = installations(&["--table", table, "add", "acme.zendesk.com", "1"], None);
    assert_eq!(code, 2);
    assert!(err.contains("not a Zendesk subdomain"), "{err}");
    let (code, _, err) = installations(&["--table", "no-such-table", "list"], None);
    assert_eq!(code, 1);
    assert!(err.contains("DynamoDB"), "{err}");
}

#[tokio::test]
async fn purge_deletes_a_disabled_installations_notes_count_and_record_and_nothing_else() {
    // GIVEN two installations with notes, the sidebar serving both.
    let app = app_fixture(Mode::Table(None), Duration::ZERO, Duration::from_secs(600)).await;
    let table = app.table.as_str();
    let acme = ZafInstallation::new("acme", 360_001).unwrap();
    let globex = ZafInstallation::new("globex", 7).unwrap();
    for installation in [&acme, &globex] {
        let (code, _, err) = installations(
            &[
                "--table",
                table,
                "add",
                installation.subdomain(),
                &installation.installation_id().to_string(),
            ],
            None,
        );
        assert_eq!(code, 0, "{err}");
        let session = app.session_for(installation).await;
        for ticket in 1..=3 {
            assert_eq!(
                app.save_note(&session, ticket, "a note", 0).await.status(),
                200
            );
        }
    }
    let partition = |pk: &'static str| items_of(&app, pk);
    assert_eq!(
        partition("acme#360001").await,
        5,
        "3 notes, their count, the record"
    );

    // WHEN the admin purges it while it is enabled, THEN it is refused and nothing is deleted
    let (code, _, err) = installations(&["--table", table, "purge", "acme", "360001"], None);
    assert_eq!(code, 1);
    assert!(
        err.contains("installation acme#360001 is enabled: disable it first"),
        "{err}"
    );
    assert_eq!(partition("acme#360001").await, 5);

    // AND once it is disabled, the purge deletes its notes, their count and its record
    let (code, _, _) = installations(&["--table", table, "disable", "acme", "360001"], None);
    assert_eq!(code, 0);
    let (code, out, err) = installations(&["--table", table, "purge", "acme", "360001"], None);
    assert_eq!(code, 0, "{err}");
    assert_eq!(out.trim(), "purged acme#360001: 5 items deleted");
    assert_eq!(partition("acme#360001").await, 0);
    assert!(app.note_item(&acme, 1).await.is_none());
    // AND the other installation keeps everything, and is all that is listed
    assert_eq!(partition("globex#7").await, 5);
    let (_, out, _) = installations(&["--table", table, "list"], None);
    assert!(out.trim().starts_with("globex#7\tenabled"), "{out}");
    assert_eq!(out.trim().lines().count(), 1, "{out}");
    // AND a purged installation is unknown: the page is a 403, and purging again finds nothing.
    assert_eq!(app.open_as(&acme, APP_GUID).await.status(), 403);
    let (code, out, _) = installations(&["--table", table, "purge", "acme", "360001"], None);
    assert_eq!(code, 0);
    assert_eq!(out.trim(), "purged acme#360001: 0 items deleted");
}

#[tokio::test]
async fn list_reads_installation_records_only_whatever_the_notes() {
    // GIVEN an installation with forty long notes (about 4 KB each)
    let app = app_fixture(Mode::Table(None), Duration::ZERO, Duration::from_secs(600)).await;
    let table = app.table.as_str();
    let (code, _, err) = installations(&["--table", table, "add", "acme", "360001"], None);
    assert_eq!(code, 0, "{err}");
    let acme = ZafInstallation::new("acme", 360_001).unwrap();
    let session = app.session_for(&acme).await;
    let long = "n".repeat(4000);
    for ticket in 1..=40 {
        assert_eq!(
            app.save_note(&session, ticket, &long, 0).await.status(),
            200
        );
    }
    // WHEN the admin lists the installations through a proxy that adds up the read units
    let proxy = DynamoDbProxy::start(&service_setting(DYNAMODB_ENDPOINT)).await;
    proxy.measure_capacity();
    let endpoint = proxy.endpoint();
    let table = table.to_owned();
    let (code, out, err) = tokio::task::spawn_blocking(move || {
        installations_via(&["--table", &table, "list"], None, Some(&endpoint))
    })
    .await
    .unwrap();
    // THEN it lists the one installation, reading about one unit, not the notes' 20 or more.
    assert_eq!(code, 0, "{err}");
    assert!(out.starts_with("acme#360001\tenabled"), "{out}");
    assert_eq!(proxy.requests().get("Scan"), Some(&1));
    let units = proxy.capacity().get("Scan").copied().unwrap_or_default();
    assert!(
        units > 0.0 && units <= 1.0,
        "{units} read units: {:?}",
        proxy.capacity()
    );
}

/// How many items of the partition `pk` the table holds.
async fn items_of(app: &integration_tests::sidebar::AppFixture, pk: &str) -> usize {
    app.all_items()
        .await
        .into_iter()
        .filter(|item| item["pk"].as_s().unwrap() == pk)
        .count()
}
