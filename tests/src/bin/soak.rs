//! `soak`: a sustained mixed load on the local server, run as a separate process, then checks
//! that nothing went wrong.
//!
//! ```text
//! soak [SECONDS]      (default 60; needs DynamoDB Local and moto, see scripts/soak)
//! ```
//! It provisions fresh tables and secrets, starts the three functions in a child process (this
//! same program with `--serve`, exactly as the local server wires them, logging at debug level
//! into a file), and drives them from 32 concurrent clients for SECONDS: to-do reads, adds and
//! deletes for many users who share the per-user cap, SDK exchanges and messaging sign-ins, sidebar pages and the
//! ticket notes their sessions read and save, and requests that must be refused. Afterwards it counts every user's items in DynamoDB and compares them
//! with what the clients were told, samples the server's memory over the run, and searches the
//! server's whole log for every token, user token, session and secret it used.
//!
//! It prints one JSON report line and exits non-zero when any check fails: a 5xx, an unexpected
//! status, an item lost or duplicated, the cap exceeded, memory growing, or a secret in the logs.

use std::collections::{BTreeMap, HashMap, HashSet};
use std::io::Read;
use std::process::{Child, Command, Stdio};
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use aws_sdk_dynamodb::types::AttributeValue;
use integration_tests::jwks_server::JwksServer;
use integration_tests::processes::{free_port, memory_kib, wait_for_port};
use integration_tests::sdk_exchange::register_user_token;
use integration_tests::services::{create_secret, create_table, dynamodb, secrets_manager};
use integration_tests::tokens::{keys, public_key_as_hmac_secret, sign_with};
use integration_tests::{HELP_CENTER_ORIGIN, INSTALLATION_ID, SUBDOMAIN};
use serde_json::{Value, json};
use zendesk_jwt::devkeys::{self, DevKey};

/// Concurrent clients.
const CONCURRENCY: usize = 32;
/// Distinct help center users (several clients often work on the same user at once).
const USERS: u64 = 100;
/// The per-user cap the server is configured with, small enough to be reached.
const CAP: usize = 5;
/// Registered SDK user tokens.
const USER_TOKENS: usize = 40;

fn main() {
    let args: Vec<String> = std::env::args().skip(1).collect();
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
        .expect("a Tokio runtime");
    if args.first().map(String::as_str) == Some("--serve") {
        runtime.block_on(serve());
        return;
    }
    let seconds: u64 = match args.first() {
        None => 60,
        Some(s) => s.parse().unwrap_or_else(|_| {
            eprintln!("usage: soak [SECONDS]");
            std::process::exit(2)
        }),
    };
    let report = runtime.block_on(soak(Duration::from_secs(seconds)));
    println!("{}", report.json);
    if !report.failures.is_empty() {
        for failure in &report.failures {
            eprintln!("FAIL: {failure}");
        }
        std::process::exit(1);
    }
}

/// The child process: the three functions on `PORT`, configured from the environment.
async fn serve() {
    zendesk_jwt::lambda::logging::init();
    let functions = devserver::Functions::from_env().unwrap_or_else(|e| panic!("{e}"));
    let port: u16 = std::env::var("PORT").unwrap().parse().unwrap();
    let listener = tokio::net::TcpListener::bind(("127.0.0.1", port))
        .await
        .unwrap();
    devserver::serve(listener, functions).await.unwrap();
}

/// The child process, killed when dropped.
struct Server {
    child: Child,
    log: std::path::PathBuf,
}

impl Drop for Server {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// Everything the run used that must never appear in a log.
#[derive(Default)]
struct Secrets(Mutex<HashSet<String>>);

impl Secrets {
    fn add(&self, value: &str) {
        let mut set = self.0.lock().unwrap();
        set.insert(value.to_owned());
        // A JWT's signature alone is as telling as the whole token.
        if let Some(signature) = value.rsplit('.').next().filter(|s| s.len() >= 32) {
            set.insert(signature.to_owned());
        }
    }
}

/// What one user has, as far as the clients know.
#[derive(Default)]
struct UserModel {
    /// Items the server confirmed (201), not deleted since: value -> id.
    live: HashMap<String, u64>,
}

struct Load {
    base: String,
    http: reqwest::Client,
    users: Vec<Mutex<UserModel>>,
    help_center_tokens: Vec<String>,
    user_tokens: Vec<String>,
    zaf_token: String,
    refusals: Vec<Refusal>,
    secrets: Secrets,
    statuses: Mutex<BTreeMap<String, u64>>,
    failures: Mutex<Vec<String>>,
    latencies_ms: Mutex<Vec<u64>>,
    sequence: AtomicU64,
}

/// A request that must be refused with `status`.
struct Refusal {
    what: &'static str,
    status: u16,
    kind: RefusalKind,
}

enum RefusalKind {
    Todos {
        token: String,
        origin: Option<&'static str>,
    },
    Sdk {
        user_token: String,
    },
    Sidebar {
        token: String,
    },
}

struct Report {
    json: Value,
    failures: Vec<String>,
}

async fn soak(duration: Duration) -> Report {
    // GIVEN fresh tables and secrets in the local services, and the development-style keys.
    let dynamodb = dynamodb();
    let secrets_client = secrets_manager();
    let todos_table = create_table(&dynamodb, "owner").await;
    let tokens_table = create_table(&dynamodb, "token_hash").await;
    let shared_secret = format!("SOAK-ONLY-{}", uuid::Uuid::new_v4().simple());
    let zaf_secret = create_secret(&secrets_client, keys().primary.public_pem()).await;
    let sdk_secret = create_secret(&secrets_client, &shared_secret).await;
    // SOAK KEY ONLY: a messaging signing key of its own.
    let messaging_secret_text = format!("SOAK-ONLY-MESSAGING-{}", uuid::Uuid::new_v4().simple());
    let messaging_key = integration_tests::sdk_exchange::messaging_key(
        integration_tests::sdk_exchange::MESSAGING_KID,
        &messaging_secret_text,
    );
    let messaging_secret = create_secret(&secrets_client, &messaging_key).await;
    let sidebar_table = integration_tests::sidebar::create_sidebar_table(&dynamodb).await;
    let session_key = format!("SOAK-SESSION-KEY-{}", uuid::Uuid::new_v4().simple());
    let session_secret = create_secret(&secrets_client, &session_key).await;
    let jwks = JwksServer::start(devkeys::jwks(&[&keys().primary])).await;
    let watched = Secrets::default();
    watched.add(&shared_secret);
    watched.add(&session_key);
    watched.add(&messaging_secret_text);

    let mut user_tokens = Vec::new();
    for i in 0..USER_TOKENS {
        let token = format!("soak-{}-{i}", uuid::Uuid::new_v4().simple());
        let email = AttributeValue::S(format!("soak{i}@example.com"));
        let external_id = AttributeValue::S(format!("soak-user-{i}"));
        register_user_token(
            &dynamodb,
            &tokens_table,
            &token,
            3600,
            &[("email", email), ("external_id", external_id)],
        )
        .await;
        watched.add(&token);
        user_tokens.push(token);
    }
    let help_center_tokens: Vec<String> = (1..=USERS)
        .map(|user| {
            keys()
                .primary
                .sign(&devkeys::help_center_claims(user, 3600))
        })
        .collect();
    for token in &help_center_tokens {
        watched.add(token);
    }
    let zaf_token = keys()
        .primary
        .sign(&devkeys::zaf_claims(SUBDOMAIN, INSTALLATION_ID, 3600));
    watched.add(&zaf_token);
    let refusals = refusals();
    for refusal in &refusals {
        match &refusal.kind {
            RefusalKind::Todos { token, .. } | RefusalKind::Sidebar { token } => watched.add(token),
            RefusalKind::Sdk { user_token } => watched.add(user_token),
        }
    }

    // AND the three functions in a process of their own, logging at debug level.
    let port = free_port();
    let log = std::env::temp_dir().join(format!("soak-server-{port}.log"));
    let log_file = std::fs::File::create(&log).unwrap();
    let child = Command::new(std::env::current_exe().unwrap())
        .arg("--serve")
        .env_remove("RUST_LOG")
        .env("AWS_LAMBDA_LOG_LEVEL", "debug")
        .env("PORT", port.to_string())
        .env("ZENDESK_SUBDOMAIN", SUBDOMAIN)
        .env("ZAF_APP_INSTALLATION_ID", INSTALLATION_ID.to_string())
        .env("ZAF_PUBLIC_KEY_SECRET_ID", &zaf_secret)
        .env("SIDEBAR_TABLE", &sidebar_table)
        .env("SESSION_KEY_SECRET_ID", &session_secret)
        .env("TODOS_TABLE", &todos_table)
        .env("ALLOWED_ORIGINS", HELP_CENTER_ORIGIN)
        .env("HELP_CENTER_JWKS_URL", jwks.url())
        .env("MAX_ITEMS_PER_USER", CAP.to_string())
        .env("SDK_SHARED_SECRET_ID", &sdk_secret)
        .env("USER_TOKEN_RESOLVER", "table")
        .env("USER_TOKENS_TABLE", &tokens_table)
        .env("MESSAGING_SIGNING_KEY_SECRET_ID", &messaging_secret)
        .stdin(Stdio::null())
        .stdout(log_file.try_clone().unwrap())
        .stderr(log_file)
        .spawn()
        .expect("the server process starts");
    let server = Server { child, log };
    let what = format!("the server (log: {})", server.log.display());
    wait_for_port(port, &what, Duration::from_secs(30));

    let load = Arc::new(Load {
        base: format!("http://127.0.0.1:{port}"),
        http: reqwest::Client::builder()
            .redirect(reqwest::redirect::Policy::none())
            .timeout(Duration::from_secs(15))
            .pool_max_idle_per_host(CONCURRENCY)
            .build()
            .unwrap(),
        users: (0..USERS).map(|_| Mutex::default()).collect(),
        help_center_tokens,
        user_tokens,
        zaf_token,
        refusals,
        secrets: watched,
        statuses: Mutex::default(),
        failures: Mutex::default(),
        latencies_ms: Mutex::default(),
        sequence: AtomicU64::new(0),
    });

    // Whatever the pace of the machine, the run includes every refusal and a user at the cap.
    for refusal in &load.refusals {
        load.refuse(refusal).await;
    }
    for _ in 0..=CAP {
        load.add(1).await;
    }

    // WHEN 32 clients drive a mixed load for the whole duration, while the server's memory is
    // sampled,
    let pid = server.child.id();
    let stop = Arc::new(AtomicBool::new(false));
    let sampler = {
        let stop = stop.clone();
        tokio::spawn(async move {
            let mut samples = Vec::new();
            let started = Instant::now();
            while !stop.load(Ordering::SeqCst) {
                if let Some(rss) = memory_kib(pid, "VmRSS") {
                    samples.push((started.elapsed().as_secs_f64(), rss));
                }
                tokio::time::sleep(Duration::from_millis(250)).await;
            }
            samples
        })
    };
    let deadline = Instant::now() + duration;
    let clients: Vec<_> = (0..CONCURRENCY)
        .map(|client| {
            let load = load.clone();
            tokio::spawn(async move {
                let mut rng = Rng::new(client as u64 + 1);
                while Instant::now() < deadline {
                    load.one_request(&mut rng).await;
                }
            })
        })
        .collect();
    for client in clients {
        client.await.expect("a client task");
    }
    stop.store(true, Ordering::SeqCst);
    let samples = sampler.await.unwrap();

    // THEN the table holds exactly what the clients were told, within the cap,
    let mut failures = std::mem::take(&mut *load.failures.lock().unwrap());
    let (items, counted) = verify_table(&dynamodb, &todos_table, &load, &mut failures).await;
    // AND the server's memory did not grow,
    let memory = memory_report(&samples, &mut failures);
    // AND no token, user token or secret is in its whole debug log.
    let log_path = server.log.clone();
    drop(server);
    let log_report = search_log(&log_path, &load.secrets, &mut failures);

    let statuses = load.statuses.lock().unwrap().clone();
    let requests: u64 = statuses.values().sum();
    let server_errors: u64 = statuses
        .iter()
        .filter(|(status, _)| status.starts_with('5'))
        .map(|(_, n)| n)
        .sum();
    let mut latencies = load.latencies_ms.lock().unwrap().clone();
    latencies.sort_unstable();
    let percentile = |p: f64| {
        latencies
            .get(((latencies.len() as f64 - 1.0) * p) as usize)
            .copied()
            .unwrap_or(0)
    };
    Report {
        json: json!({
            "seconds": duration.as_secs(),
            "concurrency": CONCURRENCY,
            "users": USERS,
            "requests": requests,
            "statuses": statuses,
            "server_errors": server_errors,
            "latency_ms": {"p50": percentile(0.5), "p99": percentile(0.99), "max": latencies.last()},
            "items_in_table": items,
            "items_checked": counted,
            "memory_kib": memory,
            "log": log_report,
            "failures": failures.len(),
        }),
        failures,
    }
}

/// The requests that must be refused, and how.
fn refusals() -> Vec<Refusal> {
    let rogue: &DevKey = &keys().rogue;
    let claims = devkeys::help_center_claims(1, 3600);
    vec![
        Refusal {
            what: "a help center token signed by a rogue key",
            status: 401,
            kind: RefusalKind::Todos {
                token: rogue.sign(&claims),
                origin: None,
            },
        },
        Refusal {
            what: "a help center token signed with HS256 and the public key",
            status: 401,
            kind: RefusalKind::Todos {
                token: sign_with(
                    jsonwebtoken::Algorithm::HS256,
                    &public_key_as_hmac_secret(&keys().primary),
                    Some("hc-1"),
                    &claims,
                ),
                origin: None,
            },
        },
        Refusal {
            what: "a look-alike origin",
            status: 403,
            kind: RefusalKind::Todos {
                token: keys().primary.sign(&claims),
                origin: Some("https://acme.zendesk.com.evil.example"),
            },
        },
        Refusal {
            what: "an unknown user token",
            status: 401,
            kind: RefusalKind::Sdk {
                user_token: format!("never-issued-{}", uuid::Uuid::new_v4().simple()),
            },
        },
        Refusal {
            what: "a ZAF token for another installation",
            status: 401,
            kind: RefusalKind::Sidebar {
                token: keys().primary.sign(&devkeys::zaf_claims(
                    SUBDOMAIN,
                    INSTALLATION_ID + 1,
                    3600,
                )),
            },
        },
    ]
}

impl Load {
    async fn one_request(&self, rng: &mut Rng) {
        let roll = rng.below(100);
        if roll < 30 {
            self.list(rng.below(USERS) + 1).await;
        } else if roll < 62 {
            self.add(rng.below(USERS) + 1).await;
        } else if roll < 82 {
            self.delete(rng.below(USERS) + 1, rng).await;
        } else if roll < 90 {
            self.exchange(rng).await;
        } else if roll < 95 {
            self.sidebar(rng).await;
        } else {
            let refusal = &self.refusals[rng.below(self.refusals.len() as u64) as usize];
            self.refuse(refusal).await;
        }
    }

    fn bearer(&self, user: u64) -> String {
        format!("Bearer {}", self.help_center_tokens[(user - 1) as usize])
    }

    /// Send a request; count its status and time; `None` when it did not complete.
    async fn send(&self, what: &str, request: reqwest::RequestBuilder) -> Option<(u16, String)> {
        let started = Instant::now();
        let result = request.send().await;
        let response = match result {
            Ok(response) => response,
            Err(error) => {
                self.fail(format!("{what}: no answer: {error}"));
                return None;
            }
        };
        let status = response.status().as_u16();
        let body = response.text().await.unwrap_or_default();
        self.latencies_ms
            .lock()
            .unwrap()
            .push(started.elapsed().as_millis() as u64);
        *self
            .statuses
            .lock()
            .unwrap()
            .entry(status.to_string())
            .or_default() += 1;
        if status >= 500 {
            self.fail(format!("{what}: {status} {body}"));
        }
        Some((status, body))
    }

    fn fail(&self, failure: String) {
        let mut failures = self.failures.lock().unwrap();
        if failures.len() < 50 {
            failures.push(failure);
        }
    }

    async fn list(&self, user: u64) {
        let request = self
            .http
            .get(format!("{}/todo_items", self.base))
            .header("authorization", self.bearer(user))
            .header("origin", HELP_CENTER_ORIGIN);
        if let Some((status, body)) = self.send("GET /todo_items", request).await
            && status != 200
        {
            self.fail(format!("GET /todo_items: {status} {body}"));
        }
    }

    async fn add(&self, user: u64) {
        let value = format!("item-{}", self.sequence.fetch_add(1, Ordering::SeqCst));
        let request = self
            .http
            .post(format!("{}/todo_items", self.base))
            .header("authorization", self.bearer(user))
            .json(&json!({ "value": value }));
        match self.send("POST /todo_items", request).await {
            Some((201, body)) => {
                let list: Value = serde_json::from_str(&body).unwrap_or_default();
                let id = list["todo_items"]
                    .as_array()
                    .and_then(|items| items.iter().find(|item| item["value"] == value.as_str()))
                    .and_then(|item| item["id"].as_u64());
                match id {
                    Some(id) => {
                        self.users[(user - 1) as usize]
                            .lock()
                            .unwrap()
                            .live
                            .insert(value, id);
                    }
                    None => self.fail(format!("POST {value}: 201 without the item: {body}")),
                }
            }
            // The user is at the cap: expected, and checked against the table at the end.
            Some((409, _)) => {}
            Some((status, body)) => self.fail(format!("POST {value}: {status} {body}")),
            None => {}
        }
    }

    async fn delete(&self, user: u64, rng: &mut Rng) {
        // Take the item out of the model first, so two clients never delete the same one.
        let taken = {
            let mut model = self.users[(user - 1) as usize].lock().unwrap();
            let values: Vec<String> = model.live.keys().cloned().collect();
            if values.is_empty() {
                None
            } else {
                let value = values[rng.below(values.len() as u64) as usize].clone();
                model.live.remove(&value).map(|id| (value, id))
            }
        };
        let Some((value, id)) = taken else {
            return self.list(user).await;
        };
        let request = self
            .http
            .delete(format!("{}/todo_items/{id}", self.base))
            .header("authorization", self.bearer(user));
        match self.send("DELETE /todo_items/{id}", request).await {
            Some((200, body)) if !body.contains(&format!("\"id\":{id},")) => {}
            Some((status, body)) => {
                self.fail(format!("DELETE {value} ({id}): {status} {body}"));
                // Keep the model honest: the item may still be there.
                self.users[(user - 1) as usize]
                    .lock()
                    .unwrap()
                    .live
                    .insert(value, id);
            }
            None => {}
        }
    }

    /// An SDK exchange, or (one in two) a messaging sign-in of the same kind of user.
    async fn exchange(&self, rng: &mut Rng) {
        let user_token = &self.user_tokens[rng.below(self.user_tokens.len() as u64) as usize];
        let route = if rng.below(2) == 0 {
            "POST /sdk/jwt"
        } else {
            "POST /messaging/jwt"
        };
        let request = self
            .http
            .post(format!("{}{}", self.base, &route[5..]))
            .form(&[("user_token", user_token)]);
        match self.send(route, request).await {
            Some((200, body)) => {
                let jwt: Value = serde_json::from_str(&body).unwrap_or_default();
                match jwt["jwt"].as_str() {
                    Some(jwt) => self.secrets.add(jwt),
                    None => self.fail(format!("{route}: 200 without a jwt: {body}")),
                }
            }
            Some((status, body)) => self.fail(format!("{route}: {status} {body}")),
            None => {}
        }
    }

    /// Open the start page, then read and save a ticket's note with its session, as the page
    /// does (a save may meet another client's save of the same note: 409).
    async fn sidebar(&self, rng: &mut Rng) {
        let request = self
            .http
            .post(format!(
                "{}/sidebar?origin=https%3A%2F%2Facme.zendesk.com&app_guid=soak",
                self.base
            ))
            .form(&[("token", &self.zaf_token)]);
        let session = match self.send("POST /sidebar", request).await {
            Some((200, body)) if body.contains("ZAFClient") => {
                match body
                    .split("data-session=\"")
                    .nth(1)
                    .and_then(|rest| rest.split('"').next())
                {
                    Some(session) => session.to_owned(),
                    None => {
                        return self.fail("POST /sidebar: a start page without a session".into());
                    }
                }
            }
            Some((status, _)) => return self.fail(format!("POST /sidebar: {status}")),
            None => return,
        };
        self.secrets.add(&session);
        let note = format!(
            "{}/sidebar/api/tickets/{}/note",
            self.base,
            rng.below(20) + 1
        );
        let authorized = |request: reqwest::RequestBuilder| {
            request
                .header("authorization", format!("Bearer {session}"))
                .header("x-app-guid", "soak")
        };
        let version = match self
            .send("GET note", authorized(self.http.get(&note)))
            .await
        {
            Some((200, body)) => {
                serde_json::from_str::<Value>(&body).unwrap_or_default()["version"]
                    .as_u64()
                    .unwrap_or(0)
            }
            Some((status, body)) => return self.fail(format!("GET note: {status} {body}")),
            None => return,
        };
        let save = authorized(self.http.put(&note)).json(&json!({
            "note": format!("note {}", self.sequence.fetch_add(1, Ordering::SeqCst)),
            "version": version,
        }));
        match self.send("PUT note", save).await {
            Some((200 | 409, _)) | None => {}
            Some((status, body)) => self.fail(format!("PUT note: {status} {body}")),
        }
    }

    async fn refuse(&self, refusal: &Refusal) {
        let request = match &refusal.kind {
            RefusalKind::Todos { token, origin } => {
                let request = self
                    .http
                    .get(format!("{}/todo_items", self.base))
                    .header("authorization", format!("Bearer {token}"));
                match origin {
                    Some(origin) => request.header("origin", *origin),
                    None => request,
                }
            }
            RefusalKind::Sdk { user_token } => self
                .http
                .post(format!("{}/sdk/jwt", self.base))
                .form(&[("user_token", user_token)]),
            RefusalKind::Sidebar { token } => self
                .http
                .post(format!(
                    "{}/sidebar?origin=https%3A%2F%2Facme.zendesk.com&app_guid=soak",
                    self.base
                ))
                .form(&[("token", token)]),
        };
        if let Some((status, body)) = self.send(refusal.what, request).await
            && status != refusal.status
        {
            self.fail(format!(
                "{}: {status} instead of {}: {body}",
                refusal.what, refusal.status
            ));
        }
    }
}

/// Compare every user's items in the table with the model; returns (items, users checked).
async fn verify_table(
    dynamodb: &aws_sdk_dynamodb::Client,
    table: &str,
    load: &Load,
    failures: &mut Vec<String>,
) -> (usize, u64) {
    let mut total = 0;
    for user in 1..=USERS {
        let item = dynamodb
            .get_item()
            .table_name(table)
            .key("owner", AttributeValue::S(format!("{SUBDOMAIN}#{user}")))
            .consistent_read(true)
            .send()
            .await
            .expect("DynamoDB Local answers the final count")
            .item
            .unwrap_or_default();
        let mut stored: HashMap<String, u64> = HashMap::new();
        let counter: u64 = item
            .get("item_count")
            .map_or(0, |count| count.as_n().unwrap().parse().unwrap());
        for (name, value) in &item {
            let Some(id) = name.strip_prefix('t').and_then(|id| id.parse::<u64>().ok()) else {
                continue;
            };
            let value = value.as_s().unwrap().clone();
            if stored.insert(value.clone(), id).is_some() {
                failures.push(format!("user {user}: {value} is stored twice"));
            }
        }
        let model = load.users[(user - 1) as usize].lock().unwrap();
        for (value, id) in &model.live {
            if stored.get(value) != Some(id) {
                failures.push(format!(
                    "user {user}: {value} ({id}) was confirmed but is not stored"
                ));
            }
        }
        for value in stored.keys() {
            if !model.live.contains_key(value) {
                failures.push(format!(
                    "user {user}: {value} is stored but was deleted or never confirmed"
                ));
            }
        }
        if stored.len() > CAP {
            failures.push(format!(
                "user {user}: {} items, over the cap of {CAP}",
                stored.len()
            ));
        }
        if counter != stored.len() as u64 {
            failures.push(format!(
                "user {user}: counter {counter} for {} items",
                stored.len()
            ));
        }
        total += stored.len();
    }
    (total, USERS)
}

/// Memory is flat when the peak of the last fifth of the run is within 16 MiB (or a fifth) of
/// the peak after warm-up (the second fifth).
fn memory_report(samples: &[(f64, u64)], failures: &mut Vec<String>) -> Value {
    let Some(&(end, _)) = samples.last() else {
        failures.push("no memory samples".into());
        return Value::Null;
    };
    let peak = |from: f64, to: f64| {
        samples
            .iter()
            .filter(|(t, _)| *t >= from * end && *t <= to * end)
            .map(|(_, rss)| *rss)
            .max()
            .unwrap_or(0)
    };
    let warm = peak(0.2, 0.4);
    let last = peak(0.8, 1.0);
    let allowed = (16 * 1024).max(warm / 5);
    if last > warm + allowed {
        failures.push(format!(
            "memory grew from {warm} KiB after warm-up to {last} KiB at the end"
        ));
    }
    json!({
        "after_warm_up": warm,
        "at_the_end": last,
        "max": samples.iter().map(|(_, rss)| *rss).max(),
        "samples": samples.len(),
    })
}

/// Search the server's whole log for every secret of the run.
fn search_log(path: &std::path::Path, secrets: &Secrets, failures: &mut Vec<String>) -> Value {
    let mut text = String::new();
    std::fs::File::open(path)
        .and_then(|mut file| file.read_to_string(&mut text))
        .unwrap_or_else(|e| panic!("reading {}: {e}", path.display()));
    let secrets = secrets.0.lock().unwrap();
    // Every word of the log, and every dot-separated part of it, looked up in the set.
    let mut leaked = HashSet::new();
    for word in text.split(|c: char| !(c.is_ascii_alphanumeric() || "-_.".contains(c))) {
        for candidate in std::iter::once(word).chain(word.split('.')) {
            if secrets.contains(candidate) {
                leaked.insert(candidate.to_owned());
            }
        }
    }
    let lines = text.lines().count();
    let debug_lines = text.lines().filter(|l| l.contains("DEBUG")).count();
    if debug_lines == 0 {
        failures.push(format!(
            "the server logged nothing at debug level ({lines} lines)"
        ));
    }
    if !text.contains("help center token refused") {
        failures.push("the log lacks the debug reason for a refused token".into());
    }
    for secret in &leaked {
        let shown: String = secret.chars().take(12).collect();
        failures.push(format!(
            "a secret ({shown}…) is in the server log {}",
            path.display()
        ));
    }
    if leaked.is_empty() && failures.is_empty() {
        let _ = std::fs::remove_file(path);
    }
    json!({
        "lines": lines,
        "debug_lines": debug_lines,
        "secrets_searched": secrets.len(),
        "secrets_found": leaked.len(),
    })
}

/// A small xorshift generator: the load needs variety, not cryptographic randomness.
struct Rng(u64);

impl Rng {
    fn new(seed: u64) -> Self {
        Self(seed.wrapping_mul(0x9E37_79B9_7F4A_7C15) | 1)
    }

    fn below(&mut self, n: u64) -> u64 {
        self.0 ^= self.0 << 13;
        self.0 ^= self.0 >> 7;
        self.0 ^= self.0 << 17;
        self.0 % n.max(1)
    }
}
