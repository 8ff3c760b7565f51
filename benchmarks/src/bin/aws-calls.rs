//! Our own CPU per AWS call: the clients are built exactly as the functions build them
//! (`zendesk_jwt::lambda::aws::Aws`), then each kind of call the functions make is repeated against DynamoDB
//! Local and moto's Secrets Manager, warm, and the process's CPU time (`getrusage`, every thread,
//! user and system) is divided by the number of calls. Under `valgrind --tool=callgrind` the
//! instruction count of a run with N calls and one with 2N calls differ by exactly N calls
//! (set-up and warm-up cancel out); `scripts/bench-aws-calls` does both.
//!
//! ```text
//! aws-calls setup                          create the tables, items and secret (once)
//! aws-calls run [--calls N] [--warmup W] [--rounds R] [KIND...]
//! ```
//! Kinds (all when none is named):
//! - `get-user-token`: the SDK exchange's `GetItem` (consistent read) of a registered user token;
//! - `get-todos`: `TodoStore::list` of a user with 10 to-dos (one consistent `GetItem`), as
//!   `GET /todo_items` makes it;
//! - `update-todos`: `TodoStore::add` and `TodoStore::delete` in turn on that user (each one
//!   conditional `UpdateItem` returning the new list), as `POST` and `DELETE /todo_items` make
//!   them; the list stays at 10–11 items, so every call costs the same;
//! - `get-secret`: the secret cache's `GetSecretValue`;
//! - `endpoint-rules`: not a call, but what DynamoDB's endpoint rules cost once per call on
//!   Lambda, where no endpoint URL is set (the calls above set one, which the rules answer
//!   early): the SDK's default resolver on the parameters a `GetItem` gives it there;
//! - `raw-http`: the floor under any SDK call: the user token's `GetItem` body POSTed to
//!   DynamoDB Local with a bare hyper client (HTTP/1.1, kept alive, unsigned), and its answer
//!   read, with no SDK at all: what the socket, the kernel and the HTTP exchange cost.
//!
//! And whole requests of the sdk-exchange function, each an API Gateway event parsed as its
//! runtime loop parses it and answered by `SdkExchange::handle` (200 checked), with the secrets
//! given inline (cached after the first request either way) and without the metric and log
//! lines (section 5 of docs/PERFORMANCE.md measures those; about 1 µs per request):
//! - `sdk-route`: `POST /sdk/jwt` of the registered user token (table mode: the `GetItem`
//!   above, and an SDK JWT signed);
//! - `messaging-route`: `POST /messaging/jwt` of the same token from the allowed origin (the
//!   same `GetItem`, the CORS policy, a messaging JWT signed);
//! - `sdk-route-idp`, `messaging-route-idp`: the same with `USER_TOKEN_RESOLVER=identity-provider`,
//!   an identity provider's RS256 token verified against a warm JWKS: no AWS call at all.
//!
//! A run of route kinds only installs no log subscriber.
//!
//! Configuration comes from the environment, as in the functions (`AWS_REGION`, credentials,
//! `AWS_ENDPOINT_URL_DYNAMODB`, `AWS_ENDPOINT_URL_SECRETS_MANAGER`); `aws-calls` fails on the
//! first call that does not succeed.

use std::time::Duration;

use aws_sdk_dynamodb::types::AttributeValue;
use sdk_exchange::{ExchangeConfig, ResolverConfig, SdkExchange};
use zendesk_jwt::devkeys::{self, DevKey};
use zendesk_jwt::lambda::metrics::{Function, Metrics};
use zendesk_jwt::lambda::secrets::{SecretLocation, SecretTimes};

/// The table of registered user tokens (key `token_hash`, as the SDK exchange's table).
const USER_TOKENS_TABLE: &str = "aws-calls-user-tokens";
/// The table of to-do lists (key `owner`; one item per user).
const TODOS_TABLE: &str = "aws-calls-todos";
const SECRET_ID: &str = "aws-calls/sdk-shared-secret";
/// The identity provider's key pair (route kinds), generated once by `setup`.
const IDP_KEY_SECRET_ID: &str = "aws-calls/idp-key";
const USER_TOKEN: &str = "aws-calls-user-token";
const OWNER: &str = "example#1";

/// The customer's site allowed to call the messaging route.
const SITE: &str = "https://www.example.com";
/// BENCHMARK KEYS ONLY: the SDK shared secret and the messaging signing key, given inline.
const SDK_SECRET: &str = "bench-only-shared-secret-0123456789abcdef";
const MESSAGING_KEY: &str = r#"{"kid": "app_be4c0000000000000000000a", "secret": "bench-only-messaging-secret-0123456789"}"#;
/// The identity provider's `iss` and `aud` (route kinds in identity-provider mode).
const IDP_ISSUER: &str = "https://idp.example.com/";
const IDP_AUDIENCE: &str = "zendesk";

/// One kind of AWS call the functions make, or one kind of whole request.
#[derive(Clone, Copy, Debug, PartialEq)]
enum Kind {
    GetUserToken,
    GetTodos,
    UpdateTodos,
    GetSecret,
    EndpointRules,
    RawHttp,
    SdkRoute,
    MessagingRoute,
    SdkRouteIdp,
    MessagingRouteIdp,
}

const KINDS: [Kind; 10] = [
    Kind::GetUserToken,
    Kind::GetTodos,
    Kind::UpdateTodos,
    Kind::GetSecret,
    Kind::EndpointRules,
    Kind::RawHttp,
    Kind::SdkRoute,
    Kind::MessagingRoute,
    Kind::SdkRouteIdp,
    Kind::MessagingRouteIdp,
];

impl Kind {
    fn name(self) -> &'static str {
        match self {
            Kind::GetUserToken => "get-user-token",
            Kind::GetTodos => "get-todos",
            Kind::UpdateTodos => "update-todos",
            Kind::GetSecret => "get-secret",
            Kind::EndpointRules => "endpoint-rules",
            Kind::RawHttp => "raw-http",
            Kind::SdkRoute => "sdk-route",
            Kind::MessagingRoute => "messaging-route",
            Kind::SdkRouteIdp => "sdk-route-idp",
            Kind::MessagingRouteIdp => "messaging-route-idp",
        }
    }

    /// A whole request of the sdk-exchange function rather than one AWS call.
    fn is_route(self) -> bool {
        matches!(
            self,
            Kind::SdkRoute | Kind::MessagingRoute | Kind::SdkRouteIdp | Kind::MessagingRouteIdp
        )
    }

    fn describe(self) -> &'static str {
        match self {
            Kind::GetUserToken => "GetItem, user token (SDK exchange)",
            Kind::GetTodos => "GetItem, to-do list of 10 (TodoStore::list)",
            Kind::UpdateTodos => "UpdateItem, conditional, ALL_NEW (TodoStore::add / delete)",
            Kind::GetSecret => "GetSecretValue (moto)",
            Kind::EndpointRules => "DynamoDB endpoint rules as on Lambda (no call)",
            Kind::RawHttp => "the same GetItem over bare hyper, no SDK, unsigned (floor)",
            Kind::SdkRoute => "request: POST /sdk/jwt, table (GetItem, SDK JWT)",
            Kind::MessagingRoute => {
                "request: POST /messaging/jwt, table (GetItem, CORS, messaging JWT)"
            }
            Kind::SdkRouteIdp => "request: POST /sdk/jwt, identity provider (RS256, SDK JWT)",
            Kind::MessagingRouteIdp => {
                "request: POST /messaging/jwt, identity provider (RS256, CORS, messaging JWT)"
            }
        }
    }

    fn parse(name: &str) -> Option<Kind> {
        KINDS.into_iter().find(|kind| kind.name() == name)
    }
}

/// The clients, built as the functions build them.
struct Clients {
    /// DynamoDB's endpoint parameters for a `GetItem` on Lambda: the region, no endpoint URL.
    lambda_endpoint_params: aws_sdk_dynamodb::config::endpoint::Params,
    /// The SDK's default DynamoDB endpoint resolver (the endpoint rules).
    endpoint_rules: aws_sdk_dynamodb::config::endpoint::DefaultResolver,
    dynamodb: aws_sdk_dynamodb::Client,
    secrets: aws_sdk_secretsmanager::Client,
    /// The to-do store, as the todos function builds it.
    todos: todos::TodoStore,
    /// The id `update-todos` added last and deletes next (none: it adds next).
    added: std::sync::Mutex<Option<todos::TodoId>>,
    /// A bare HTTP/1.1 client and DynamoDB Local's URL, for `raw-http`.
    raw: hyper_util::client::legacy::Client<
        hyper_util::client::legacy::connect::HttpConnector,
        http_body_util::Full<bytes::Bytes>,
    >,
    dynamodb_url: String,
    /// The user token's key, hashed once (the hash is not part of the call).
    token_hash: String,
}

/// What the route kinds need: the sdk-exchange function over the user token table and over an
/// identity provider, and each kind's API Gateway event.
struct Routes {
    exchange: SdkExchange,
    idp_exchange: SdkExchange,
    /// The identity provider's JWKS server, kept running.
    _idp_jwks: integration_tests::jwks_server::JwksServer,
    /// Each route kind's event (made once: making it is not the function's work).
    events: Vec<(Kind, String)>,
}

impl Routes {
    /// The functions, with the identity provider's key that `setup` stored: generating a key
    /// here would cost a different number of instructions in each run (a random prime search),
    /// which the callgrind difference of two runs must not see.
    async fn load(clients: &Clients) -> Self {
        let pems: serde_json::Value =
            serde_json::from_str(&clients.secret(IDP_KEY_SECRET_ID).await)
                .unwrap_or_else(|_| fail("the identity provider's key is not JSON: run setup"));
        let pem = |part: &str| pems[part].as_str().unwrap_or_default().to_owned();
        let idp_key = DevKey::from_pems("idp-1", pem("private"), pem("public"));
        let idp_jwks =
            integration_tests::jwks_server::JwksServer::start(devkeys::jwks(&[&idp_key])).await;
        let now = devkeys::now();
        let idp_token = idp_key.sign(&serde_json::json!({
            "iss": IDP_ISSUER, "aud": IDP_AUDIENCE, "sub": "user-1", "name": "Ann Example",
            "email": "ann@example.com", "iat": now, "exp": now + 24 * 3600,
        }));
        let idp_resolver = ResolverConfig::IdentityProvider {
            jwks_url: idp_jwks.url(),
            issuer: IDP_ISSUER.into(),
            audience: IDP_AUDIENCE.into(),
            claims: sdk_exchange::ClaimNames {
                name: "name".into(),
                email: "email".into(),
                external_id: "sub".into(),
            },
            email_verified: sdk_exchange::EmailVerified::IfPresent,
            jwks: zendesk_jwt::JwksSettings::default(),
        };
        let aws = zendesk_jwt::lambda::aws::Aws::from_env();
        Routes {
            exchange: exchange(
                ResolverConfig::Table {
                    table: USER_TOKENS_TABLE.into(),
                },
                &aws,
            ),
            idp_exchange: exchange(idp_resolver, &aws),
            _idp_jwks: idp_jwks,
            events: KINDS
                .into_iter()
                .filter(|kind| kind.is_route())
                .map(|kind| {
                    let token = match kind {
                        Kind::SdkRoute | Kind::MessagingRoute => USER_TOKEN,
                        _ => &idp_token,
                    };
                    (kind, route_event(kind, token))
                })
                .collect(),
        }
    }

    /// One request of `kind`: its event parsed as the runtime loop parses it, answered, 200
    /// checked.
    async fn answer(&self, kind: Kind) {
        let exchange = match kind {
            Kind::SdkRoute | Kind::MessagingRoute => &self.exchange,
            _ => &self.idp_exchange,
        };
        let (_, event) = self
            .events
            .iter()
            .find(|(k, _)| *k == kind)
            .expect("every route kind has its event");
        let request = zendesk_jwt::lambda::runtime::request_from_event(event)
            .unwrap_or_else(|e| fail(&format!("the event does not parse: {e}")));
        let response = exchange.handle(request).await;
        if response.status() != 200 {
            fail(&format!("the function answered {}", response.status()));
        }
    }
}

/// The sdk-exchange function as its `main` builds it, with `resolver`, the secrets inline and
/// the metric lines discarded.
fn exchange(resolver: ResolverConfig, aws: &zendesk_jwt::lambda::aws::Aws) -> SdkExchange {
    let messaging = sdk_exchange::MessagingConfig {
        signing_key: Some(SecretLocation::Inline(MESSAGING_KEY.into())),
        allowed_origins: vec![SITE.to_owned()],
        token_lifetime: sdk_exchange::messaging::DEFAULT_TOKEN_LIFETIME,
    };
    let config = ExchangeConfig {
        secret: SecretLocation::Inline(SDK_SECRET.into()),
        secret_times: SecretTimes {
            ttl: Duration::from_secs(300),
            retry: Duration::from_secs(30),
        },
        resolver,
        leeway: Duration::from_secs(30),
        metrics_namespace: Default::default(),
        messaging,
        clock: zendesk_jwt::clock::Clock::system(),
    };
    SdkExchange::counting_in(Metrics::disabled(Function::SdkExchange), &config, aws)
        .unwrap_or_else(|e| fail(&e.to_string()))
}

/// The API Gateway event of one request of `kind` (a route kind), as Lambda delivers it.
fn route_event(kind: Kind, user_token: &str) -> String {
    let form = format!("user_token={user_token}");
    let event = match kind {
        Kind::SdkRoute | Kind::SdkRouteIdp => devserver::fixtures::apigw_event(
            "POST",
            "/sdk/jwt",
            &[("content-type", "application/x-www-form-urlencoded")],
            Some(&form),
        ),
        _ => devserver::fixtures::apigw_event(
            "POST",
            "/messaging/jwt",
            &[
                ("content-type", "application/x-www-form-urlencoded"),
                ("origin", SITE),
            ],
            Some(&form),
        ),
    };
    event.to_string()
}

impl Clients {
    fn from_env() -> Self {
        let aws = zendesk_jwt::lambda::aws::Aws::from_env();
        let dynamodb = aws.dynamodb().unwrap_or_else(|e| fail(&e.to_string()));
        let secrets = aws
            .secrets_manager()
            .unwrap_or_else(|e| fail(&e.to_string()));
        let lambda_endpoint_params = aws_sdk_dynamodb::config::endpoint::Params::builder()
            .set_region(dynamodb.config().region().map(|r| r.to_string()))
            .use_dual_stack(false)
            .use_fips(false)
            .account_id_endpoint_mode("preferred")
            .resource_arn(USER_TOKENS_TABLE)
            .build()
            .expect("valid endpoint parameters");
        Clients {
            lambda_endpoint_params,
            endpoint_rules: aws_sdk_dynamodb::config::endpoint::DefaultResolver::new(),
            todos: todos::TodoStore::new(
                dynamodb.clone(),
                TODOS_TABLE,
                500,
                zendesk_jwt::clock::Clock::system(),
            ),
            added: std::sync::Mutex::new(None),
            raw: hyper_util::client::legacy::Client::builder(hyper_util::rt::TokioExecutor::new())
                .build_http(),
            dynamodb_url: std::env::var("AWS_ENDPOINT_URL_DYNAMODB")
                .unwrap_or_else(|_| fail("raw-http needs AWS_ENDPOINT_URL_DYNAMODB")),
            dynamodb,
            secrets,
            token_hash: sdk_exchange::token_hash(USER_TOKEN),
        }
    }

    /// One call of `kind` (a route kind with `routes`); checks the answer so that a failing
    /// service cannot pass unseen.
    async fn call(&self, kind: Kind, routes: Option<&Routes>) {
        match kind {
            Kind::GetUserToken => {
                let output = self
                    .dynamodb
                    .get_item()
                    .table_name(USER_TOKENS_TABLE)
                    .key("token_hash", AttributeValue::S(self.token_hash.clone()))
                    .consistent_read(true)
                    .send()
                    .await
                    .unwrap_or_else(|e| fail(&dynamodb_error(e)));
                assert!(output.item.is_some_and(|item| item.contains_key("email")));
            }
            Kind::GetTodos => {
                let items = self
                    .todos
                    .list(OWNER)
                    .await
                    .unwrap_or_else(|e| fail(&format!("list: {e:?}")));
                // 10, or 11 while `update-todos` has added its item and not yet deleted it.
                assert!((10..=11).contains(&items.len()));
            }
            Kind::UpdateTodos => {
                let added = self.added.lock().expect("not poisoned").take();
                let items = match added {
                    Some(id) => self.todos.delete(OWNER, id).await,
                    None => {
                        let value = todos::TodoValue::parse("one more to-do".into())
                            .expect("a valid value");
                        self.todos.add(OWNER, &value, None).await.map(|added| {
                            let id = added.items.last().expect("the new item").id;
                            *self.added.lock().expect("not poisoned") = Some(id);
                            added.items
                        })
                    }
                }
                .unwrap_or_else(|e| fail(&format!("add or delete: {e:?}")));
                assert!((10..=11).contains(&items.len()));
            }
            Kind::GetSecret => assert_eq!(self.secret(SECRET_ID).await.len(), 32),
            Kind::EndpointRules => {
                use aws_sdk_dynamodb::config::endpoint::ResolveEndpoint;
                let endpoint = self
                    .endpoint_rules
                    .resolve_endpoint(&self.lambda_endpoint_params)
                    .await
                    .unwrap_or_else(|e| fail(&e.to_string()));
                assert!(endpoint.url().starts_with("https://dynamodb."));
            }
            Kind::RawHttp => {
                use http_body_util::BodyExt;
                let body = format!(
                    r#"{{"TableName":"{USER_TOKENS_TABLE}","Key":{{"token_hash":{{"S":"{}"}}}},"ConsistentRead":true}}"#,
                    self.token_hash
                );
                let request = hyper::Request::post(&self.dynamodb_url)
                    .header("content-type", "application/x-amz-json-1.0")
                    .header("x-amz-target", "DynamoDB_20120810.GetItem")
                    .header(
                        "authorization",
                        "AWS4-HMAC-SHA256 Credential=local/20261129/us-east-1/dynamodb/aws4_request, \
                         SignedHeaders=host;x-amz-date, Signature=0",
                    )
                    .body(http_body_util::Full::new(bytes::Bytes::from(body)))
                    .expect("a valid request");
                let response = self
                    .raw
                    .request(request)
                    .await
                    .unwrap_or_else(|e| fail(&format!("raw-http: {e}")));
                assert_eq!(response.status(), 200);
                let body = response
                    .into_body()
                    .collect()
                    .await
                    .unwrap_or_else(|e| fail(&format!("raw-http: {e}")))
                    .to_bytes();
                let answer: serde_json::Value =
                    serde_json::from_slice(&body).expect("DynamoDB answers JSON");
                assert!(answer["Item"]["email"]["S"].is_string());
            }
            Kind::SdkRoute | Kind::MessagingRoute | Kind::SdkRouteIdp | Kind::MessagingRouteIdp => {
                routes
                    .expect("the routes are loaded for route kinds")
                    .answer(kind)
                    .await
            }
        }
    }

    /// Tables, the user-token item, the to-do item of 10 and the secret.
    async fn setup(&self) {
        let tables = [(USER_TOKENS_TABLE, "token_hash"), (TODOS_TABLE, "owner")];
        for (table, key) in tables {
            devserver::dev::create_table(&self.dynamodb, table, key, None)
                .await
                .unwrap_or_else(|e| fail(&e));
        }
        integration_tests::sdk_exchange::register_user_token(
            &self.dynamodb,
            USER_TOKENS_TABLE,
            USER_TOKEN,
            30 * 24 * 3600,
            &[("external_id", AttributeValue::S("user-1".into()))],
        )
        .await;
        // The to-do list of 10, written as the todos function writes it.
        let existing = self
            .todos
            .list(OWNER)
            .await
            .unwrap_or_else(|e| fail(&format!("list: {e:?}")));
        for number in existing.len() + 1..=10 {
            let value =
                todos::TodoValue::parse(format!("to-do number {number}")).expect("a valid value");
            self.todos
                .add(OWNER, &value, None)
                .await
                .unwrap_or_else(|e| fail(&format!("add: {e:?}")));
        }
        self.create_secret(SECRET_ID, "0123456789abcdef0123456789abcdef".into())
            .await;
        // BENCHMARK KEY ONLY: the identity provider's key pair, made once for every later run.
        let idp_key = DevKey::generate("idp-1");
        let pems =
            serde_json::json!({"private": idp_key.private_pem(), "public": idp_key.public_pem()});
        self.create_secret(IDP_KEY_SECRET_ID, pems.to_string())
            .await;
    }

    /// The value of the secret `id` (`GetSecretValue`, as the secret cache calls it).
    async fn secret(&self, id: &str) -> String {
        self.secrets
            .get_secret_value()
            .secret_id(id)
            .send()
            .await
            .unwrap_or_else(|e| {
                fail(&aws_sdk_secretsmanager::error::DisplayErrorContext(e).to_string())
            })
            .secret_string
            .unwrap_or_else(|| fail(&format!("{id} has no SecretString")))
    }

    /// Create the secret `id` with `value`, unless it exists.
    async fn create_secret(&self, id: &str, value: String) {
        let created = self
            .secrets
            .create_secret()
            .name(id)
            .secret_string(value)
            .send()
            .await;
        if let Err(error) = created
            && !error
                .as_service_error()
                .is_some_and(|e| e.is_resource_exists_exception())
        {
            fail(&aws_sdk_secretsmanager::error::DisplayErrorContext(error).to_string());
        }
    }
}

fn dynamodb_error<E, R>(error: aws_sdk_dynamodb::error::SdkError<E, R>) -> String
where
    E: std::error::Error + 'static,
    R: std::fmt::Debug,
{
    aws_sdk_dynamodb::error::DisplayErrorContext(error).to_string()
}

fn fail(message: &str) -> ! {
    eprintln!("aws-calls: {message}");
    std::process::exit(1)
}

/// CPU time this process has used so far (every thread), user and system.
fn cpu_time() -> (Duration, Duration) {
    // SAFETY: getrusage only writes into the struct it is given.
    let usage = unsafe {
        let mut usage = std::mem::zeroed::<libc::rusage>();
        assert_eq!(libc::getrusage(libc::RUSAGE_SELF, &mut usage), 0);
        usage
    };
    let duration = |t: libc::timeval| {
        Duration::from_secs(t.tv_sec as u64) + Duration::from_micros(t.tv_usec as u64)
    };
    (duration(usage.ru_utime), duration(usage.ru_stime))
}

struct Options {
    calls: u32,
    warmup: u32,
    rounds: u32,
    kinds: Vec<Kind>,
}

fn options(args: &[String]) -> Options {
    let mut options = Options {
        calls: 2000,
        warmup: 200,
        rounds: 5,
        kinds: Vec::new(),
    };
    let mut args = args.iter();
    while let Some(arg) = args.next() {
        let mut number = |name: &str| -> u32 {
            args.next()
                .and_then(|v| v.parse().ok())
                .unwrap_or_else(|| fail(&format!("{name} needs a number")))
        };
        match arg.as_str() {
            "--calls" => options.calls = number("--calls"),
            "--warmup" => options.warmup = number("--warmup"),
            "--rounds" => options.rounds = number("--rounds"),
            kind => options.kinds.push(
                Kind::parse(kind).unwrap_or_else(|| fail(&format!("unknown kind of call {kind}"))),
            ),
        }
    }
    if options.kinds.is_empty() {
        options.kinds = KINDS.to_vec();
    }
    options
}

fn main() {
    let args: Vec<String> = std::env::args().skip(1).collect();
    // A run of whole requests only is measured without the log lines (see the module's doc).
    let routes_only = args.first().map(String::as_str) == Some("run")
        && options(&args[1..]).kinds.iter().all(|kind| kind.is_route());
    if !routes_only {
        zendesk_jwt::lambda::logging::init();
    }
    // Where the calls run (AWS_CALLS_RUNTIME): `current-thread` (default), as in the functions,
    // whose `main` is `#[tokio::main(flavor = "current_thread")]`; `lambda`, as the functions ran
    // before, with `#[tokio::main]`: the handler awaited in `block_on` on the main thread while
    // the HTTP connections' tasks run on the runtime's workers; `worker`, in a task on a worker
    // of a multi-threaded runtime, as the local server's handlers run.
    let place = std::env::var("AWS_CALLS_RUNTIME").unwrap_or_else(|_| "current-thread".into());
    let runtime = match place.as_str() {
        "lambda" | "worker" => tokio::runtime::Builder::new_multi_thread(),
        "current-thread" => tokio::runtime::Builder::new_current_thread(),
        other => fail(&format!("unknown AWS_CALLS_RUNTIME {other}")),
    }
    .enable_all()
    .build()
    .expect("a tokio runtime");
    if place == "worker" {
        runtime.block_on(async move { tokio::spawn(bench(args)).await.expect("no panic") })
    } else {
        runtime.block_on(bench(args))
    }
}

async fn bench(args: Vec<String>) {
    let clients = Clients::from_env();
    match args.first().map(String::as_str) {
        Some("setup") => clients.setup().await,
        Some("run") => {
            let options = options(&args[1..]);
            let routes = match options.kinds.iter().any(|kind| kind.is_route()) {
                true => Some(Routes::load(&clients).await),
                false => None,
            };
            for &kind in &options.kinds {
                for _ in 0..options.warmup {
                    clients.call(kind, routes.as_ref()).await;
                }
            }
            println!(
                "| call | calls | CPU µs per call (user + system) | user | system |\n|---|---:|---:|---:|---:|"
            );
            for &kind in &options.kinds {
                let mut rounds = Vec::new();
                for _ in 0..options.rounds {
                    let (user0, system0) = cpu_time();
                    for _ in 0..options.calls {
                        clients.call(kind, routes.as_ref()).await;
                    }
                    let (user1, system1) = cpu_time();
                    let per_call = |d: Duration| d.as_secs_f64() * 1e6 / f64::from(options.calls);
                    rounds.push((per_call(user1 - user0), per_call(system1 - system0)));
                }
                // The round with the median total.
                rounds.sort_by(|a, b| (a.0 + a.1).total_cmp(&(b.0 + b.1)));
                if let Some(&(user, system)) = rounds.get(rounds.len() / 2) {
                    println!(
                        "| {} | {} × {} | {:.1} | {:.1} | {:.1} |",
                        kind.describe(),
                        options.rounds,
                        options.calls,
                        user + system,
                        user,
                        system
                    );
                }
            }
        }
        _ => fail(
            "usage: aws-calls setup | aws-calls run [--calls N] [--warmup W] [--rounds R] [KIND...]",
        ),
    }
}
