//! The app's session-authenticated API: what the start page's session binds (installation,
//! `app_guid`, user, expiry), notes and settings, the notes bound, and that accounts stay apart.

use std::time::Duration;

use integration_tests::INSTALLATION_ID as INSTALLATION;
use integration_tests::events::{header, json_body, message, text};
use integration_tests::sidebar::{
    APP_GUID, AppFixture, MINUTE, Mode, TEN_MINUTES, acme, app_fixture, assert_unauthenticated,
    globex, record, session_claims, session_of, token_of,
};
use integration_tests::tokens::{base64url, keys, raw_token, sign_with, unverified_claims};
use jsonwebtoken::{Algorithm, EncodingKey};
use serde_json::{Value, json};
use sidebar::Sidebar;
use zendesk_jwt::ZafInstallation;
use zendesk_jwt::devkeys;

#[tokio::test]
async fn the_start_page_carries_a_session_bound_to_the_installation_the_app_guid_and_the_user() {
    let app = app_fixture(Mode::Single, MINUTE, TEN_MINUTES).await;
    let page = app.open_as(&acme(), APP_GUID).await;
    assert_eq!(page.status(), 200);
    assert!(header(&page, "set-cookie").is_none(), "never a cookie");
    let csp = header(&page, "content-security-policy").unwrap();
    assert!(csp.contains("; connect-src 'self' https:;"), "{csp}");
    assert!(text(&page).contains("id=\"note\""));
    let claims = session_claims(&session_of(&page));
    assert_eq!(claims["subdomain"], "acme");
    assert_eq!(claims["installation_id"], INSTALLATION);
    assert_eq!(claims["app_guid"], APP_GUID);
    assert_eq!(
        claims["sub"], "1900000000001",
        "the Zendesk user of the ZAF token"
    );
    // exp is set, then iat when the token is signed: a second boundary may fall between them.
    let lifetime = claims["exp"].as_u64().unwrap() - claims["iat"].as_u64().unwrap();
    assert!((599..=600).contains(&lifetime), "{lifetime}");
    let header = unverified_header(&session_of(&page));
    assert_eq!(header["alg"], "HS256");
    // A ZAF token without a user makes a session without one.
    let mut anonymous = devkeys::zaf_claims("acme", INSTALLATION, 300);
    anonymous.as_object_mut().unwrap().remove("sub");
    let page =
        integration_tests::sidebar::open(&app.sidebar, &keys().primary.sign(&anonymous)).await;
    assert_eq!(page.status(), 200);
    assert!(session_claims(&session_of(&page)).get("sub").is_none());
}

fn unverified_header(token: &str) -> Value {
    let header = token.split('.').next().unwrap();
    serde_json::from_slice(&integration_tests::tokens::base64url_decode(header)).unwrap()
}

#[tokio::test]
async fn a_note_is_saved_read_back_and_kept_in_the_installations_partition() {
    let app = app_fixture(Mode::Single, MINUTE, TEN_MINUTES).await;
    let session = app.session_for(&acme()).await;
    // GIVEN a ticket without a note: an empty note, version 0.
    let empty = app.read_note(&session, 4321).await;
    assert_eq!(empty.status(), 200);
    assert_eq!(
        json_body(&empty),
        json!({"ticket_id": 4321, "note": "", "version": 0, "updated_at": null, "updated_by": null})
    );
    // WHEN a note is saved
    let saved = app
        .save_note(&session, 4321, "Customer prefers email <b>only</b>", 0)
        .await;
    assert_eq!(saved.status(), 200, "{}", text(&saved));
    let body = json_body(&saved);
    assert_eq!(body["note"], "Customer prefers email <b>only</b>");
    assert_eq!(body["version"], 1);
    assert_eq!(body["updated_by"], "1900000000001");
    // THEN it reads back, and the table holds it under the installation's key.
    assert_eq!(json_body(&app.read_note(&session, 4321).await), body);
    let item = app.note_item(&acme(), 4321).await.expect("the note's item");
    assert_eq!(item["pk"].as_s().unwrap(), "acme#360001");
    assert_eq!(item["sk"].as_s().unwrap(), "note#4321");
    assert_eq!(
        item["note"].as_s().unwrap(),
        "Customer prefers email <b>only</b>"
    );
    assert_eq!(item["version"].as_n().unwrap(), "1");
    // AND a second save names version 1.
    let again = app.save_note(&session, 4321, "", 1).await;
    assert_eq!(json_body(&again)["version"], 2);
    assert_eq!(json_body(&again)["note"], "");
}

#[tokio::test]
async fn a_save_that_names_an_old_version_is_a_409_and_changes_nothing() {
    let app = app_fixture(Mode::Single, MINUTE, TEN_MINUTES).await;
    let session = app.session_for(&acme()).await;
    assert_eq!(app.save_note(&session, 9, "first", 0).await.status(), 200);
    assert_eq!(app.save_note(&session, 9, "second", 1).await.status(), 200);
    for (case, version) in [
        ("a new note over an existing one", 0),
        ("a stale version", 1),
        ("a future version", 7),
    ] {
        let response = app.save_note(&session, 9, "lost update", version).await;
        assert_eq!(response.status(), 409, "{case}");
        assert_eq!(
            message(&response),
            "Someone else saved this note since you read it; read it again, then save"
        );
    }
    let item = app.note_item(&acme(), 9).await.unwrap();
    assert_eq!(item["note"].as_s().unwrap(), "second");
    assert_eq!(item["version"].as_n().unwrap(), "2");
}

#[tokio::test]
async fn concurrent_saves_of_one_version_store_exactly_one() {
    let app = app_fixture(Mode::Single, MINUTE, TEN_MINUTES).await;
    let session = app.session_for(&acme()).await;
    let texts: Vec<String> = (0..8).map(|i| format!("agent {i}")).collect();
    let saves: Vec<_> = texts
        .iter()
        .map(|t| app.save_note(&session, 77, t, 0))
        .collect();
    let statuses: Vec<u16> = futures::future::join_all(saves)
        .await
        .iter()
        .map(|r| r.status().as_u16())
        .collect();
    assert_eq!(
        statuses.iter().filter(|s| **s == 200).count(),
        1,
        "{statuses:?}"
    );
    assert_eq!(
        statuses.iter().filter(|s| **s == 409).count(),
        7,
        "{statuses:?}"
    );
    let item = app.note_item(&acme(), 77).await.unwrap();
    assert_eq!(item["version"].as_n().unwrap(), "1");
    assert!(texts.contains(&item["note"].as_s().unwrap().clone()));
}

#[tokio::test]
async fn a_token_for_installation_a_never_reaches_installation_bs_data() {
    // GIVEN installations A (acme) and B (globex), both enabled, and a note B wrote on ticket 42.
    let app = app_fixture(Mode::Table(None), MINUTE, TEN_MINUTES).await;
    app.enable(&acme()).await;
    app.add(
        &globex(),
        record(true, "Globex", json!({"secret": "globex only"})),
    )
    .await;
    let b_session = app.session_for(&globex()).await;
    assert_eq!(
        app.save_note(&b_session, 42, "B's private note", 0)
            .await
            .status(),
        200
    );
    // WHEN A opens the app with its own token, its session reads ticket 42 and the settings
    let a_session = app.session_for(&acme()).await;
    let a_read = app.read_note(&a_session, 42).await;
    // THEN it sees its own (empty) note and its own settings, never B's.
    assert_eq!(a_read.status(), 200);
    assert_eq!(json_body(&a_read)["note"], "");
    let settings = json_body(&app.settings(&a_session).await);
    assert_eq!(settings["installation"]["subdomain"], "acme");
    assert_eq!(settings["settings"], json!({}));
    // AND nothing the client sends can steer it to B: query, headers, a path prefix.
    for path in [
        "/sidebar/api/tickets/42/note?subdomain=globex&installation_id=7",
        "/globex/sidebar/api/tickets/42/note",
        "/sidebar/api/tickets/42/note?installation=globex%237",
    ] {
        let response = app
            .sidebar
            .handle(integration_tests::events::request(
                "GET",
                path,
                &[
                    ("authorization", &format!("Bearer {a_session}")),
                    ("x-app-guid", APP_GUID),
                    ("x-installation", "globex#7"),
                    ("x-zendesk-subdomain", "globex"),
                ],
                None,
            ))
            .await;
        assert_eq!(response.status(), 200, "{path}");
        assert_eq!(json_body(&response)["note"], "", "{path}");
    }
    // AND A's save of ticket 42 lands in A's partition; B's note is untouched.
    assert_eq!(
        app.save_note(&a_session, 42, "A's note", 0).await.status(),
        200
    );
    let b_item = app.note_item(&globex(), 42).await.unwrap();
    assert_eq!(b_item["note"].as_s().unwrap(), "B's private note");
    assert_eq!(b_item["version"].as_n().unwrap(), "1");
    assert_eq!(
        app.note_item(&acme(), 42).await.unwrap()["note"]
            .as_s()
            .unwrap(),
        "A's note"
    );
    assert_eq!(
        json_body(&app.read_note(&b_session, 42).await)["note"],
        "B's private note"
    );
}

#[tokio::test]
async fn a_session_from_account_a_cannot_be_made_into_one_for_account_b() {
    let app = app_fixture(Mode::Table(None), MINUTE, TEN_MINUTES).await;
    app.enable(&acme()).await;
    app.enable(&globex()).await;
    let b_session = app.session_for(&globex()).await;
    assert_eq!(
        app.save_note(&b_session, 42, "B's note", 0).await.status(),
        200
    );
    let a_session = app.session_for(&acme()).await;
    assert_eq!(
        app.read_note(&a_session, 42).await.status(),
        200,
        "A's session works"
    );
    // A's session with its claims rewritten to name B (the signature is A's): refused.
    let mut claims = unverified_claims(&a_session);
    claims["subdomain"] = json!("globex");
    claims["installation_id"] = json!(7);
    let parts: Vec<&str> = a_session.split('.').collect();
    let rewritten = format!(
        "{}.{}.{}",
        parts[0],
        base64url(claims.to_string()),
        parts[2]
    );
    // A session for B signed by another deployment's key (say, a staging stack): refused.
    let other_key = EncodingKey::from_secret(b"another deployment's session key, 32+ bytes");
    let foreign = sign_with(Algorithm::HS256, &other_key, None, &claims);
    for (case, session) in [
        ("claims rewritten to B", rewritten),
        ("signed by another key", foreign),
    ] {
        assert_unauthenticated(&app.read_note(&session, 42).await, case);
        assert_unauthenticated(&app.save_note(&session, 42, "overwrite", 1).await, case);
    }
    assert_eq!(
        app.note_item(&globex(), 42).await.unwrap()["note"]
            .as_s()
            .unwrap(),
        "B's note"
    );
}

#[tokio::test]
async fn an_expired_session_and_one_replayed_after_its_expiry_are_refused() {
    // GIVEN sessions that last one second (the configuration allows minutes; the test
    // builds its configuration directly).
    let app = app_fixture(Mode::Single, MINUTE, Duration::from_secs(1)).await;
    let session = app.session_for(&acme()).await;
    assert_eq!(
        app.read_note(&session, 1).await.status(),
        200,
        "valid while it lasts"
    );
    // WHEN the same session is replayed after its expiry
    tokio::time::sleep(Duration::from_millis(2100)).await;
    // THEN it is refused, reading and writing.
    assert_unauthenticated(&app.read_note(&session, 1).await, "replayed after expiry");
    assert_unauthenticated(
        &app.save_note(&session, 1, "late", 0).await,
        "replayed after expiry",
    );
    assert!(
        app.note_item(&acme(), 1).await.is_none(),
        "nothing was written"
    );
    // AND one minted with the right key but an expiry in the past too.
    let mut claims = unverified_claims(&app.session_for(&acme()).await);
    claims["exp"] = json!(devkeys::now() - 1);
    let expired = sign_with(
        Algorithm::HS256,
        &EncodingKey::from_secret(app.session_key.as_bytes()),
        None,
        &claims,
    );
    assert_unauthenticated(&app.read_note(&expired, 1).await, "expired");
}

#[tokio::test]
async fn a_session_minted_for_another_app_guid_is_refused() {
    let app = app_fixture(Mode::Single, MINUTE, TEN_MINUTES).await;
    let session = app.session_for(&acme()).await;
    assert_eq!(app.read_note(&session, 1).await.status(), 200);
    let path = "/sidebar/api/tickets/1/note";
    for (case, app_guid) in [
        (
            "another app_guid",
            Some("0f1e2d3c-aaaa-bbbb-cccc-000000000002"),
        ),
        ("no app_guid", None),
        (
            "the app_guid in another case",
            Some(&APP_GUID.to_uppercase()[..]),
        ),
    ] {
        let response = app.call("GET", path, Some(&session), app_guid, None).await;
        assert_unauthenticated(&response, case);
    }
    // An app_guid longer than any Zendesk makes gets no session: a 400 page.
    let too_long = app.open_as(&acme(), &"g".repeat(257)).await;
    assert_eq!(too_long.status(), 400);
    assert!(text(&too_long).contains("longer than any Zendesk makes"));
    // A hostile app_guid works when sent as the page sends it (encodeURIComponent) and only so.
    let hostile = "\"><img src=x>'&<b> é";
    let page = app.open_as(&acme(), hostile).await;
    assert_eq!(page.status(), 200);
    let hostile_session = session_of(&page);
    assert_eq!(
        app.call("GET", path, Some(&hostile_session), Some(hostile), None)
            .await
            .status(),
        200
    );
    let raw = app
        .sidebar
        .handle(integration_tests::events::request(
            "GET",
            path,
            &[
                ("authorization", &format!("Bearer {hostile_session}")),
                ("x-app-guid", "\"><img src=x>'&<b>"),
            ],
            None,
        ))
        .await;
    assert_unauthenticated(&raw, "the app_guid not encoded");
}

#[tokio::test]
async fn forged_sessions_are_refused() {
    let app = app_fixture(Mode::Single, MINUTE, TEN_MINUTES).await;
    let session = app.session_for(&acme()).await;
    assert_eq!(app.read_note(&session, 1).await.status(), 200);
    let claims = unverified_claims(&session);
    let key = EncodingKey::from_secret(app.session_key.as_bytes());
    let cases: Vec<(&str, String)> = vec![
        (
            "alg none",
            raw_token(&json!({"alg": "none", "typ": "JWT"}), &claims, ""),
        ),
        (
            "HS384 with the right key",
            sign_with(Algorithm::HS384, &key, None, &claims),
        ),
        (
            "RS256 with the app's key",
            sign_with(
                Algorithm::RS256,
                keys().primary.encoding_key(),
                None,
                &claims,
            ),
        ),
        ("the ZAF token itself", token_of(&acme())),
        (
            "another aud",
            sign_with(Algorithm::HS256, &key, None, &{
                let mut c = claims.clone();
                c["aud"] = json!("someone-else");
                c
            }),
        ),
        (
            "no exp",
            sign_with(Algorithm::HS256, &key, None, &{
                let mut c = claims.clone();
                c.as_object_mut().unwrap().remove("exp");
                c
            }),
        ),
        ("a jku header", {
            let mut header = jsonwebtoken::Header::new(Algorithm::HS256);
            header.jku = Some("https://evil.example/keys.json".into());
            jsonwebtoken::encode(&header, &claims, &key).unwrap()
        }),
        ("garbage", "not.a.session".into()),
        ("empty", String::new()),
    ];
    for (case, forged) in cases {
        assert_unauthenticated(&app.read_note(&forged, 1).await, case);
    }
    let no_header = app
        .call(
            "GET",
            "/sidebar/api/tickets/1/note",
            None,
            Some(APP_GUID),
            None,
        )
        .await;
    assert_unauthenticated(&no_header, "no Authorization header");
}

#[tokio::test]
async fn a_session_does_not_outlive_a_change_of_the_configured_installation() {
    // GIVEN a session of the configured installation
    let app = app_fixture(Mode::Single, MINUTE, TEN_MINUTES).await;
    let session = app.session_for(&acme()).await;
    assert_eq!(app.read_note(&session, 1).await.status(), 200);
    // WHEN the deployment is reconfigured for another installation (same keys and table)
    let config = sidebar::SidebarConfig {
        installations: sidebar::Installations::Single(
            ZafInstallation::new("acme", INSTALLATION + 1).unwrap(),
        ),
        ..app.config.clone()
    };
    let reconfigured = AppFixture {
        sidebar: Sidebar::new(&config, &integration_tests::services::aws()).unwrap(),
        ..app
    };
    // THEN the old installation's session is refused.
    let response = reconfigured.read_note(&session, 1).await;
    assert_eq!(response.status(), 403, "{}", text(&response));
}

#[tokio::test]
async fn without_a_session_key_the_page_is_as_before_and_the_api_does_not_exist() {
    let sidebar = integration_tests::sidebar::sidebar_from_secrets_manager().await;
    let page =
        integration_tests::sidebar::open(&sidebar, &integration_tests::sidebar::valid_token())
            .await;
    assert_eq!(page.status(), 200);
    assert!(!text(&page).contains("data-session"));
    assert!(!text(&page).contains("fetch("), "no API calls in the page");
    let csp = header(&page, "content-security-policy").unwrap();
    assert!(csp.contains("; connect-src https:;"), "{csp}");
    let response = sidebar
        .handle(integration_tests::events::request(
            "GET",
            "/sidebar/api/settings",
            &[],
            None,
        ))
        .await;
    assert_eq!(response.status(), 404);
    assert_eq!(message(&response), "Not found");
}

#[tokio::test]
async fn the_settings_are_the_installations_record_and_only_readable() {
    let app = app_fixture(Mode::Table(None), MINUTE, TEN_MINUTES).await;
    app.add(
        &acme(),
        record(
            true,
            "Acme Support",
            json!({"greeting": "Hi", "limits": {"notes": 3}}),
        ),
    )
    .await;
    let session = app.session_for(&acme()).await;
    let response = app.settings(&session).await;
    assert_eq!(response.status(), 200);
    assert_eq!(
        json_body(&response),
        json!({
            "installation": {"subdomain": "acme", "installation_id": INSTALLATION, "name": "Acme Support"},
            "settings": {"greeting": "Hi", "limits": {"notes": 3}},
        })
    );
    // Agents cannot change them: only the admin command does.
    let put = app
        .call(
            "PUT",
            "/sidebar/api/settings",
            Some(&session),
            Some(APP_GUID),
            Some(r#"{"settings":{}}"#),
        )
        .await;
    assert_eq!(put.status(), 405);
    assert_eq!(header(&put, "allow"), Some("GET"));
    // The admin's change shows at once (settings are read fresh).
    app.admin
        .set_settings(&acme(), json!({"greeting": "Hello"}).as_object().unwrap())
        .await
        .unwrap();
    assert_eq!(
        json_body(&app.settings(&session).await)["settings"],
        json!({"greeting": "Hello"})
    );
    // In single mode without a record: no name, no settings.
    let single = app_fixture(Mode::Single, MINUTE, TEN_MINUTES).await;
    let session = single.session_for(&acme()).await;
    let response = single.settings(&session).await;
    assert_eq!(json_body(&response)["settings"], json!({}));
    assert_eq!(json_body(&response)["installation"]["name"], "");
}

#[tokio::test]
async fn api_refusals_have_a_status_and_a_message_and_write_nothing() {
    let app = app_fixture(Mode::Single, MINUTE, TEN_MINUTES).await;
    let session = app.session_for(&acme()).await;
    assert_eq!(app.save_note(&session, 5, "valid", 0).await.status(), 200);
    let auth = format!("Bearer {session}");
    let call = |method: &'static str,
                path: &'static str,
                content_type: Option<&'static str>,
                body: String| {
        let mut headers = vec![
            ("authorization", auth.clone()),
            ("x-app-guid", APP_GUID.to_owned()),
        ];
        if let Some(content_type) = content_type {
            headers.push(("content-type", content_type.to_owned()));
        }
        let app = &app;
        async move {
            let headers: Vec<(&str, &str)> =
                headers.iter().map(|(k, v)| (*k, v.as_str())).collect();
            app.send(method, path, &headers, Some(&body)).await
        }
    };
    let json = Some("application/json");
    let note = "/sidebar/api/tickets/5/note";
    for (case, response, status, says) in [
        (
            "not JSON",
            call("PUT", note, Some("text/plain"), "x".into()).await,
            415,
            "Send JSON",
        ),
        (
            "a form",
            call(
                "PUT",
                note,
                Some("application/x-www-form-urlencoded"),
                "note=x".into(),
            )
            .await,
            415,
            "Send JSON",
        ),
        (
            "broken JSON",
            call("PUT", note, json, "{".into()).await,
            400,
            "Send a JSON object",
        ),
        (
            "a number as note",
            call("PUT", note, json, r#"{"note":1,"version":1}"#.into()).await,
            400,
            "note must be a string",
        ),
        (
            "no version",
            call("PUT", note, json, r#"{"note":"x"}"#.into()).await,
            400,
            "version must be",
        ),
        (
            "a version no note can have",
            call(
                "PUT",
                note,
                json,
                json!({"note": "x", "version": u64::MAX}).to_string(),
            )
            .await,
            400,
            "version must be",
        ),
        (
            "too long",
            call(
                "PUT",
                note,
                json,
                json!({"note": "a".repeat(4001), "version": 1}).to_string(),
            )
            .await,
            400,
            "at most 4000",
        ),
        (
            "over 16 KiB",
            call(
                "PUT",
                note,
                json,
                json!({"note": "a".repeat(17_000), "version": 1}).to_string(),
            )
            .await,
            413,
            "16 KiB",
        ),
        (
            "ticket 0",
            call("GET", "/sidebar/api/tickets/0/note", None, String::new()).await,
            404,
            "No such ticket",
        ),
        (
            "ticket x",
            call("GET", "/sidebar/api/tickets/x/note", None, String::new()).await,
            404,
            "No such ticket",
        ),
        (
            "unknown route",
            call("GET", "/sidebar/api/tickets", None, String::new()).await,
            404,
            "Not found",
        ),
        (
            "DELETE a note",
            call("DELETE", note, None, String::new()).await,
            405,
            "Method not allowed",
        ),
    ] {
        assert_eq!(response.status(), status, "{case}: {}", text(&response));
        assert!(
            message(&response).contains(says),
            "{case}: {}",
            message(&response)
        );
        assert_eq!(
            header(&response, "content-type"),
            Some("application/json"),
            "{case}"
        );
    }
    let item = app.note_item(&acme(), 5).await.unwrap();
    assert_eq!(item["note"].as_s().unwrap(), "valid");
    assert_eq!(item["version"].as_n().unwrap(), "1");
    // The note and the installation's note count (records live in the admin's table here).
    assert_eq!(app.all_items().await.len(), 2, "nothing else was written");
    assert_eq!(app.note_count(&acme()).await, Some(1));
}

/// GIVEN the sidebar in table mode keeping at most `max_notes` notes per installation, with
/// [`acme`] and [`globex`] enabled.
async fn app_keeping_at_most(max_notes: u64) -> AppFixture {
    let app = app_fixture(Mode::Table(None), MINUTE, TEN_MINUTES).await;
    let config = sidebar::SidebarConfig {
        max_notes,
        ..app.config.clone()
    };
    let app = AppFixture {
        sidebar: Sidebar::new(&config, &integration_tests::services::aws()).unwrap(),
        ..app
    };
    app.enable(&acme()).await;
    app.enable(&globex()).await;
    app
}

#[tokio::test]
async fn an_installation_keeps_at_most_its_bound_of_notes_and_a_new_one_beyond_it_is_a_409() {
    let app = app_keeping_at_most(3).await;
    let session = app.session_for(&acme()).await;
    // WHEN the installation saves three notes, THEN each is saved and counted
    for ticket in 1..=3 {
        let saved = app.save_note(&session, ticket, "kept", 0).await;
        assert_eq!(saved.status(), 200, "{}", text(&saved));
    }
    assert_eq!(app.note_count(&acme()).await, Some(3));
    // AND a fourth new note is a 409 that says why (not the conflict's message), and nothing
    // is written
    let refused = app.save_note(&session, 4, "one too many", 0).await;
    assert_eq!(refused.status(), 409, "{}", text(&refused));
    assert_eq!(
        message(&refused),
        "This Zendesk account already has 3 notes, the most this app keeps; ask the app's \
         provider to remove old ones"
    );
    assert!(app.note_item(&acme(), 4).await.is_none());
    assert_eq!(app.note_count(&acme()).await, Some(3));
    assert_eq!(json_body(&app.read_note(&session, 4).await)["version"], 0);
    // AND the notes it has can still be changed
    let changed = app.save_note(&session, 2, "changed", 1).await;
    assert_eq!(changed.status(), 200, "{}", text(&changed));
    assert_eq!(json_body(&changed)["version"], 2);
    // AND another installation has a bound of its own.
    let theirs = app.session_for(&globex()).await;
    assert_eq!(app.save_note(&theirs, 4, "theirs", 0).await.status(), 200);
    assert_eq!(app.note_count(&globex()).await, Some(1));
}

#[tokio::test]
async fn concurrent_new_notes_at_the_bound_store_exactly_the_bound() {
    let app = app_keeping_at_most(5).await;
    let session = app.session_for(&acme()).await;
    // WHEN 20 new notes are saved at once
    let saves: Vec<_> = (1..=20)
        .map(|ticket| app.save_note(&session, ticket, "racing", 0))
        .collect();
    let answers = futures::future::join_all(saves).await;
    // THEN exactly five are saved, and the count says so; every other answer is the bound's
    // 409 or, when DynamoDB kept cancelling the transaction, a 503 with Retry-After.
    let saved: Vec<u64> = (1..=20u64)
        .zip(&answers)
        .filter(|(_, answer)| answer.status() == 200)
        .map(|(ticket, _)| ticket)
        .collect();
    assert_eq!(
        saved.len(),
        5,
        "{:?}",
        answers.iter().map(|a| a.status()).collect::<Vec<_>>()
    );
    for answer in &answers {
        match answer.status().as_u16() {
            200 | 409 => {}
            503 => assert_eq!(header(answer, "retry-after"), Some("1")),
            other => panic!("{other}: {}", text(answer)),
        }
    }
    for ticket in 1..=20 {
        assert_eq!(
            app.note_item(&acme(), ticket).await.is_some(),
            saved.contains(&ticket),
            "ticket {ticket}"
        );
    }
    assert_eq!(app.note_count(&acme()).await, Some(5));
}
