//! Helpers for the integration tests: the real local services (DynamoDB Local and moto's
//! Secrets Manager, started by `scripts/test`), a real local JWKS HTTP server, test keys, and
//! API Gateway (HTTP API, payload 2.0) events parsed through `lambda_http` as Lambda does.
//!
//! A test that needs a service and cannot reach it fails with a message saying how to run the
//! tests; nothing is skipped.

use std::net::SocketAddr;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Mutex, OnceLock};
use std::time::Duration;

use bytes::Bytes;
use devserver::devkeys::DevKey;
use http_body_util::Full;
use hyper::server::conn::http1;
use hyper_util::rt::TokioIo;
use lambda_http::{Body, Request, Response};
use serde_json::Value;

mod dynamodb_proxy;
pub use dynamodb_proxy::{DynamoDbProxy, ProxyMode};

/// The subdomain every test account uses.
pub const SUBDOMAIN: &str = "acme";
/// The app installation id of the sidebar tests.
pub const INSTALLATION_ID: u64 = 360_001;
/// The help center origin allowed by CORS in the tests.
pub const HELP_CENTER_ORIGIN: &str = "https://acme.zendesk.com";

/// TEST KEYS ONLY: generated once per test run, never written anywhere.
pub struct TestKeys {
    /// The Zendesk app's key pair (sidebar) and the first help center key (`kid` "hc-1").
    pub primary: DevKey,
    /// The help center key after a rotation (`kid` "hc-2").
    pub rotated: DevKey,
    /// A key nobody trusts, with the primary key's `kid`.
    pub rogue: DevKey,
}

/// The test keys, generated on first use.
pub fn keys() -> &'static TestKeys {
    static KEYS: OnceLock<TestKeys> = OnceLock::new();
    KEYS.get_or_init(|| TestKeys {
        primary: DevKey::generate("hc-1"),
        rotated: DevKey::generate("hc-2"),
        rogue: DevKey::generate("hc-1"),
    })
}

/// The endpoint of a local service from its `AWS_ENDPOINT_URL_*` variable; fails the test with a
/// message saying how to run the tests when it is not set.
pub fn service_endpoint(name: &str) -> String {
    service_env(name)
}

fn service_env(name: &str) -> String {
    std::env::var(name).unwrap_or_else(|_| {
        panic!(
            "{name} is not set: the integration tests need DynamoDB Local and moto's server; \
             run them with scripts/test, which starts both"
        )
    })
}

/// AWS configuration for the local services (endpoints from `AWS_ENDPOINT_URL_*`), with the
/// functions' own timeouts and retries.
pub async fn aws() -> aws_config::SdkConfig {
    service_env("AWS_ENDPOINT_URL_DYNAMODB");
    service_env("AWS_ENDPOINT_URL_SECRETS_MANAGER");
    local_loader().load().await
}

/// The functions' timeouts and retries, the local services' dummy region and credentials.
fn local_loader() -> aws_config::ConfigLoader {
    aws_config::defaults(aws_config::BehaviorVersion::latest())
        .timeout_config(zendesk_jwt::aws::timeout_config())
        .retry_config(zendesk_jwt::aws::retry_config())
        .region(aws_config::Region::new("us-east-1"))
        .credentials_provider(aws_sdk_dynamodb::config::Credentials::new(
            "local", "local", None, None, "tests",
        ))
}

/// A DynamoDB client for DynamoDB Local.
pub async fn dynamodb() -> aws_sdk_dynamodb::Client {
    aws_sdk_dynamodb::Client::new(&aws().await)
}

/// A Secrets Manager client for moto's server.
pub async fn secrets() -> aws_sdk_secretsmanager::Client {
    aws_sdk_secretsmanager::Client::new(&aws().await)
}

/// A unique name for a table or secret.
pub fn unique(prefix: &str) -> String {
    format!("{prefix}-{}", uuid::Uuid::new_v4().simple())
}

/// Create a table with string partition key `pk` and optional numeric sort key `sk`; returns its
/// name. Fails the test if DynamoDB Local cannot be reached.
pub async fn create_table(client: &aws_sdk_dynamodb::Client, pk: &str, sk: Option<&str>) -> String {
    let name = unique("table");
    devserver::dev::create_table(client, &name, pk, sk)
        .await
        .unwrap_or_else(|e| panic!("DynamoDB Local refused CreateTable: {e}"));
    name
}

/// Create a secret with `value` in moto's Secrets Manager; returns its id.
pub async fn create_secret(client: &aws_sdk_secretsmanager::Client, value: &str) -> String {
    let name = unique("secret");
    client
        .create_secret()
        .name(&name)
        .secret_string(value)
        .send()
        .await
        .unwrap_or_else(|e| {
            panic!(
                "moto refused CreateSecret: {}",
                aws_sdk_secretsmanager::error::DisplayErrorContext(e)
            )
        });
    name
}

/// Replace a secret's value.
pub async fn put_secret(client: &aws_sdk_secretsmanager::Client, id: &str, value: &str) {
    client
        .put_secret_value()
        .secret_id(id)
        .secret_string(value)
        .send()
        .await
        .expect("moto accepts PutSecretValue");
}

/// What the JWKS server does with a request.
#[derive(Clone, Debug)]
pub enum JwksMode {
    /// Serve the current document.
    Up,
    /// Answer 503.
    Down,
    /// Wait this long before serving the document.
    Slow(Duration),
    /// Accept the connection and close it at once, without an answer.
    Close,
}

struct JwksState {
    document: String,
    mode: JwksMode,
}

/// A real HTTP server on 127.0.0.1 serving a JWKS document and counting requests.
#[derive(Clone)]
pub struct JwksServer {
    addr: SocketAddr,
    state: Arc<Mutex<JwksState>>,
    hits: Arc<AtomicUsize>,
}

impl JwksServer {
    /// Start serving `document` at `/keys.json`.
    pub async fn start(document: String) -> Self {
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let addr = listener.local_addr().unwrap();
        let state = Arc::new(Mutex::new(JwksState {
            document,
            mode: JwksMode::Up,
        }));
        let hits = Arc::new(AtomicUsize::new(0));
        let server = Self { addr, state, hits };
        let accepting = server.clone();
        tokio::spawn(async move {
            loop {
                let Ok((stream, _)) = listener.accept().await else {
                    return;
                };
                let this = accepting.clone();
                if matches!(this.state.lock().unwrap().mode, JwksMode::Close) {
                    this.hits.fetch_add(1, Ordering::SeqCst);
                    drop(stream);
                    continue;
                }
                tokio::spawn(async move {
                    let service = hyper::service::service_fn(move |_req| {
                        let this = this.clone();
                        async move { Ok::<_, std::convert::Infallible>(this.answer().await) }
                    });
                    let _ = http1::Builder::new()
                        .serve_connection(TokioIo::new(stream), service)
                        .await;
                });
            }
        });
        server
    }

    async fn answer(&self) -> hyper::Response<Full<Bytes>> {
        self.hits.fetch_add(1, Ordering::SeqCst);
        let (document, mode) = {
            let state = self.state.lock().unwrap();
            (state.document.clone(), state.mode.clone())
        };
        match mode {
            JwksMode::Down => {
                return hyper::Response::builder()
                    .status(503)
                    .body(Full::new(Bytes::from_static(b"down")))
                    .unwrap();
            }
            JwksMode::Slow(delay) => tokio::time::sleep(delay).await,
            JwksMode::Up | JwksMode::Close => {}
        }
        hyper::Response::builder()
            .header("content-type", "application/json")
            .body(Full::new(Bytes::from(document)))
            .unwrap()
    }

    /// The document's URL.
    pub fn url(&self) -> String {
        format!("http://{}/keys.json", self.addr)
    }

    /// How many requests the server has answered (or started answering).
    pub fn hits(&self) -> usize {
        self.hits.load(Ordering::SeqCst)
    }

    /// Serve a new document from now on.
    pub fn set_document(&self, document: String) {
        self.state.lock().unwrap().document = document;
    }

    /// Change how requests are answered.
    pub fn set_mode(&self, mode: JwksMode) {
        self.state.lock().unwrap().mode = mode;
    }
}

/// The event parsed by `lambda_http` exactly as the Lambda runtime parses it.
pub fn request(
    method: &str,
    path_and_query: &str,
    headers: &[(&str, &str)],
    body: Option<&str>,
) -> Request {
    let event = devserver::fixtures::apigw_event(method, path_and_query, headers, body);
    lambda_http::request::from_str(&event.to_string())
        .expect("lambda_http parses an HTTP API event")
}

/// The event with its body base64-encoded (`isBase64Encoded: true`), as API Gateway sends
/// bodies it does not treat as text, parsed by `lambda_http` as the Lambda runtime parses it.
pub fn request_base64(
    method: &str,
    path_and_query: &str,
    headers: &[(&str, &str)],
    body: &[u8],
) -> Request {
    use base64::Engine;
    let mut event = devserver::fixtures::apigw_event(method, path_and_query, headers, None);
    event["body"] = Value::String(base64::engine::general_purpose::STANDARD.encode(body));
    event["isBase64Encoded"] = Value::Bool(true);
    lambda_http::request::from_str(&event.to_string())
        .expect("lambda_http parses an HTTP API event")
}

/// The body of a response as text.
pub fn text(response: &Response<Body>) -> String {
    match response.body() {
        Body::Empty => String::new(),
        Body::Text(text) => text.clone(),
        Body::Binary(bytes) => String::from_utf8_lossy(bytes).into_owned(),
        _ => String::new(),
    }
}

/// The body of a response as JSON.
pub fn json_body(response: &Response<Body>) -> Value {
    serde_json::from_str(&text(response))
        .unwrap_or_else(|e| panic!("not JSON ({e}): {}", text(response)))
}

/// A header of a response, as text.
pub fn header<'a>(response: &'a Response<Body>, name: &str) -> Option<&'a str> {
    response.headers().get(name).and_then(|v| v.to_str().ok())
}

/// Sign `claims` with any algorithm and key (for forging tokens in attack tests).
pub fn sign_with(
    alg: jsonwebtoken::Algorithm,
    key: &jsonwebtoken::EncodingKey,
    kid: Option<&str>,
    claims: &Value,
) -> String {
    let mut header = jsonwebtoken::Header::new(alg);
    header.kid = kid.map(str::to_owned);
    jsonwebtoken::encode(&header, claims, key).expect("signing")
}

/// A token with an arbitrary header and no signature check possible (`alg: none` and friends).
pub fn raw_token(header: &Value, claims: &Value, signature: &str) -> String {
    use base64::Engine;
    let b64 = base64::engine::general_purpose::URL_SAFE_NO_PAD;
    format!(
        "{}.{}.{}",
        b64.encode(header.to_string()),
        b64.encode(claims.to_string()),
        signature
    )
}

/// A token with any header (as JSON, so that fields may have any type) and a real signature made
/// with `key` and `alg`: the header is what is under test, not the signature.
pub fn sign_raw(
    header: &Value,
    claims: &Value,
    alg: jsonwebtoken::Algorithm,
    key: &jsonwebtoken::EncodingKey,
) -> String {
    use base64::Engine;
    let b64 = base64::engine::general_purpose::URL_SAFE_NO_PAD;
    let message = format!(
        "{}.{}",
        b64.encode(header.to_string()),
        b64.encode(claims.to_string())
    );
    let signature = jsonwebtoken::crypto::sign(message.as_bytes(), key, alg).expect("signing");
    format!("{message}.{signature}")
}

/// A fresh elliptic-curve or Ed25519 signing key nobody trusts, for `alg` ES256, ES384 or EdDSA.
pub fn rogue_curve_key(alg: jsonwebtoken::Algorithm) -> jsonwebtoken::EncodingKey {
    use aws_lc_rs::signature::{
        ECDSA_P256_SHA256_FIXED_SIGNING, ECDSA_P384_SHA384_FIXED_SIGNING, EcdsaKeyPair,
        Ed25519KeyPair,
    };
    use jsonwebtoken::{Algorithm, EncodingKey};
    let ec = |curve| {
        let pkcs8 = EcdsaKeyPair::generate(curve).unwrap().to_pkcs8v1().unwrap();
        EncodingKey::from_ec_der(pkcs8.as_ref())
    };
    match alg {
        Algorithm::ES256 => ec(&ECDSA_P256_SHA256_FIXED_SIGNING),
        Algorithm::ES384 => ec(&ECDSA_P384_SHA384_FIXED_SIGNING),
        Algorithm::EdDSA => EncodingKey::from_ed_der(
            Ed25519KeyPair::generate()
                .unwrap()
                .to_pkcs8()
                .unwrap()
                .as_ref(),
        ),
        other => panic!("{other:?} is not a curve algorithm"),
    }
}

/// Every form an attacker might feed the public key to HMAC as its secret: the PEM text, the
/// PEM on one line, its base64 body, the DER, the JWK as JSON, and the bare modulus.
pub fn public_key_forms(key: &DevKey) -> Vec<(&'static str, Vec<u8>)> {
    use base64::Engine;
    let pem = key.public_pem().to_owned();
    let body: String = pem
        .lines()
        .filter(|line| !line.starts_with("-----"))
        .collect();
    let der = base64::engine::general_purpose::STANDARD
        .decode(&body)
        .expect("the PEM body is base64");
    let jwk = serde_json::to_string(&key.jwk()).unwrap();
    let modulus = match &key.jwk().algorithm {
        jsonwebtoken::jwk::AlgorithmParameters::RSA(rsa) => {
            base64::engine::general_purpose::URL_SAFE_NO_PAD
                .decode(&rsa.n)
                .unwrap()
        }
        _ => unreachable!("an RSA key"),
    };
    vec![
        ("PEM", pem.clone().into_bytes()),
        (
            "PEM without its final newline",
            pem.trim_end().as_bytes().to_vec(),
        ),
        ("PEM without newlines", pem.replace('\n', "").into_bytes()),
        ("PEM body", body.into_bytes()),
        ("DER", der),
        ("JWK JSON", jwk.into_bytes()),
        ("modulus", modulus),
    ]
}

/// An HMAC key made of the public key's PEM text: the classic RS256-to-HS256 confusion.
pub fn public_key_as_hmac_secret(key: &DevKey) -> jsonwebtoken::EncodingKey {
    jsonwebtoken::EncodingKey::from_secret(key.public_pem().as_bytes())
}

/// A free TCP port on 127.0.0.1 (bound, then released for a server to take).
pub fn free_port() -> u16 {
    std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port()
}

/// Wait until something accepts connections on 127.0.0.1:`port`.
fn wait_for_port(port: u16, what: &str, limit: Duration) {
    let started = std::time::Instant::now();
    while std::net::TcpStream::connect(("127.0.0.1", port)).is_err() {
        assert!(
            started.elapsed() < limit,
            "{what} did not accept connections on port {port} within {limit:?}"
        );
        std::thread::sleep(Duration::from_millis(100));
    }
}

/// A local service process this test starts, stops, pauses and restarts on one port; it is
/// killed when dropped.
pub struct LocalProcess {
    name: &'static str,
    port: u16,
    /// A data folder to remove at the end.
    data: Option<std::path::PathBuf>,
    command: Box<dyn Fn(u16) -> std::process::Command + Send + Sync>,
    child: Option<std::process::Child>,
}

impl LocalProcess {
    fn start(
        name: &'static str,
        command: Box<dyn Fn(u16) -> std::process::Command + Send + Sync>,
    ) -> Self {
        let mut process = Self {
            name,
            port: free_port(),
            data: None,
            command,
            child: None,
        };
        process.restart();
        process
    }

    /// A dedicated DynamoDB Local (from `DYNAMODB_LOCAL_DIR`) keeping its data in a folder of
    /// its own, so that the data survives a restart.
    pub fn dynamodb() -> Self {
        let dir = service_env("DYNAMODB_LOCAL_DIR");
        let data = std::env::temp_dir().join(unique("dynamodb-data"));
        std::fs::create_dir_all(&data).unwrap();
        let folder = data.clone();
        let mut process = Self::start(
            "DynamoDB Local",
            Box::new(move |port| {
                let mut command = std::process::Command::new("java");
                command
                    .current_dir(&dir)
                    .arg("-Djava.library.path=./DynamoDBLocal_lib")
                    .args(["-jar", "DynamoDBLocal.jar", "-sharedDb", "-dbPath"])
                    .arg(&data)
                    .args(["-port", &port.to_string()]);
                command
            }),
        );
        process.data = Some(folder);
        process
    }

    /// A dedicated moto server (from `MOTO_SERVER_BIN`), not started yet: its port is reserved
    /// and refuses connections until [`LocalProcess::restart`].
    pub fn moto_not_started() -> Self {
        let bin = service_env("MOTO_SERVER_BIN");
        Self {
            name: "moto's server",
            port: free_port(),
            data: None,
            command: Box::new(move |port| {
                let mut command = std::process::Command::new(&bin);
                command.args(["-H", "127.0.0.1", "-p", &port.to_string()]);
                command
            }),
            child: None,
        }
    }

    /// `http://127.0.0.1:{port}`.
    pub fn endpoint(&self) -> String {
        format!("http://127.0.0.1:{}", self.port)
    }

    /// Start the process (again) on the same port and wait until it accepts connections.
    pub fn restart(&mut self) {
        assert!(self.child.is_none(), "{} is already running", self.name);
        let child = (self.command)(self.port)
            .stdin(std::process::Stdio::null())
            .stdout(std::process::Stdio::null())
            .stderr(std::process::Stdio::null())
            .spawn()
            .unwrap_or_else(|e| panic!("cannot start {}: {e}", self.name));
        self.child = Some(child);
        wait_for_port(self.port, self.name, Duration::from_secs(60));
    }

    /// Kill the process, as a crash or an outage would.
    pub fn kill(&mut self) {
        if let Some(mut child) = self.child.take() {
            let _ = child.kill();
            let _ = child.wait();
        }
    }

    fn signal(&self, signal: &str) {
        let pid = self.child.as_ref().expect("running").id();
        let status = std::process::Command::new("kill")
            .args([signal, &pid.to_string()])
            .status()
            .unwrap();
        assert!(status.success(), "kill {signal} {pid}");
    }

    /// Freeze the process (SIGSTOP): it keeps its port open and answers nothing, like a hung
    /// service.
    pub fn pause(&self) {
        self.signal("-STOP");
    }

    /// Let a paused process go on (SIGCONT).
    pub fn resume(&self) {
        self.signal("-CONT");
    }
}

impl Drop for LocalProcess {
    fn drop(&mut self) {
        if let Some(child) = &self.child {
            // A paused process must be resumed to die cleanly; ignore errors.
            let _ = std::process::Command::new("kill")
                .args(["-CONT", &child.id().to_string()])
                .status();
        }
        self.kill();
        if let Some(data) = &self.data {
            let _ = std::fs::remove_dir_all(data);
        }
    }
}

/// AWS configuration with the functions' timeouts and retries and every service at `endpoint`
/// (a dedicated local process), whatever `AWS_ENDPOINT_URL_*` say.
pub async fn aws_at(endpoint: &str) -> aws_config::SdkConfig {
    local_loader().endpoint_url(endpoint).load().await
}

/// A DynamoDB client for the DynamoDB Local at `endpoint`.
pub async fn dynamodb_at(endpoint: &str) -> aws_sdk_dynamodb::Client {
    let config = aws_sdk_dynamodb::config::Builder::from(&aws_at(endpoint).await)
        .endpoint_url(endpoint)
        .build();
    aws_sdk_dynamodb::Client::from_conf(config)
}

/// A Secrets Manager client for the moto server at `endpoint`.
pub async fn secrets_at(endpoint: &str) -> aws_sdk_secretsmanager::Client {
    let config = aws_sdk_secretsmanager::config::Builder::from(&aws_at(endpoint).await)
        .endpoint_url(endpoint)
        .build();
    aws_sdk_secretsmanager::Client::from_conf(config)
}
