//! The CPU time of each part of a function's cold path, in one fresh process, with the
//! configuration and endpoints the environment gives (`scripts/bench-cold-path` runs it with the
//! bootstraps' environment: every service behind TLS, the same root store). Each part is timed
//! with the process's CPU time (user + system, every thread): what the memory's CPU share has to
//! pay for before the first answer.
//!
//! A second table weighs the alternatives the cold path could take (docs/PERFORMANCE.md,
//! "Cold path"): the system's root store against one compiled in (webpki-roots), and one TLS
//! handshake by key exchange, full or resumed.
//!
//! ```text
//! cold-path-parts      (DEV_DIR: the development environment that signs the help center token)
//! ```

use std::sync::Arc;
use std::time::Duration;

use rustls::crypto::SupportedKxGroup;
use rustls::crypto::aws_lc_rs::{default_provider, kx_group};
use rustls::pki_types::ServerName;

use devserver::dev::{DevEnvironment, HELP_CENTER_KID};
use zendesk_jwt::clock::Clock;
use zendesk_jwt::lambda::aws::Aws;
use zendesk_jwt::verify::{HelpCenterVerifier, JwksCache, JwksSettings, JwksVerifier, TokenRules};

fn cpu_ms() -> f64 {
    // SAFETY: getrusage writes into the struct it is given.
    let usage = unsafe {
        let mut usage: libc::rusage = std::mem::zeroed();
        libc::getrusage(libc::RUSAGE_SELF, &mut usage);
        usage
    };
    let ms = |t: libc::timeval| t.tv_sec as f64 * 1000.0 + t.tv_usec as f64 / 1000.0;
    ms(usage.ru_utime) + ms(usage.ru_stime)
}

struct Parts(Vec<(String, f64)>);

impl Parts {
    async fn time<T>(&mut self, name: &str, part: impl std::future::Future<Output = T>) -> T {
        let started = cpu_ms();
        let value = part.await;
        self.0.push((name.to_owned(), cpu_ms() - started));
        value
    }
}

fn variable(name: &str) -> String {
    std::env::var(name)
        .unwrap_or_else(|_| panic!("{name} is not set (run scripts/bench-cold-path)"))
}

#[tokio::main(flavor = "current_thread")]
async fn main() {
    let mut parts = Parts(Vec::new());
    let started = cpu_ms();
    // The process's first random bytes: aws-lc seeds its generator then (every TLS handshake
    // needs randomness, so the first one pays for this).
    parts
        .time("first random bytes (aws-lc's generator seeded)", async {
            let mut bytes = [0u8; 32];
            aws_lc_rs::rand::fill(&mut bytes).expect("randomness");
        })
        .await;
    // Not part of a function's cold path: the token the verification below checks.
    let setup = cpu_ms();
    let dev =
        DevEnvironment::load_or_create(variable("DEV_DIR")).expect("the development environment");
    let token = dev.help_center_token(1, 3600);
    let setup = cpu_ms() - setup;

    let roots = parts
        .time(
            "root store loaded (rustls-native-certs, as the clients do)",
            async { rustls_native_certs::load_native_certs() },
        )
        .await;
    let aws = parts
        .time("AWS clients built (DynamoDB, Secrets Manager)", async {
            Aws::from_env()
        })
        .await;
    let secrets = aws.secrets_manager().expect("Secrets Manager settings");
    let dynamodb = aws.dynamodb().expect("DynamoDB settings");
    let secret_id = variable("SDK_SHARED_SECRET_ID");
    for name in [
        "Secrets Manager: first GetSecretValue (roots, TLS handshake, call)",
        "Secrets Manager: second GetSecretValue (the call alone)",
    ] {
        let read = parts
            .time(
                name,
                secrets.get_secret_value().secret_id(&secret_id).send(),
            )
            .await;
        read.expect("the secret is readable");
    }
    let key = std::collections::HashMap::from([(
        "owner".to_owned(),
        aws_sdk_dynamodb::types::AttributeValue::S("cold-path#1".into()),
    )]);
    let table = variable("TODOS_TABLE");
    for name in [
        "DynamoDB: first GetItem (roots, TLS handshake, call)",
        "DynamoDB: second GetItem (the call alone)",
    ] {
        let read = parts
            .time(
                name,
                dynamodb
                    .get_item()
                    .table_name(&table)
                    .set_key(Some(key.clone()))
                    .send(),
            )
            .await;
        read.expect("the table is readable");
    }
    let jwks = std::sync::Arc::new(JwksCache::new(
        variable("HELP_CENTER_JWKS_URL"),
        JwksSettings::default(),
        Clock::system(),
    ));
    parts
        .time(
            "JWKS: first fetch (roots, TLS handshake, fetch, parse)",
            jwks.key(HELP_CENTER_KID),
        )
        .await
        .expect("the JWKS is served");
    let rules = TokenRules {
        issuer: None,
        audience: None,
        leeway: Duration::from_secs(60),
    };
    let verifier = HelpCenterVerifier::new(JwksVerifier::new(jwks, &rules));
    for name in [
        "first help center token verified (RS256)",
        "second help center token verified",
    ] {
        parts
            .time(name, verifier.verify(&token))
            .await
            .expect("the token verifies");
    }
    let total = cpu_ms() - started - setup;

    // The alternatives, each timed after the cold path above (its one-time costs are paid).
    let mut options = Parts(Vec::new());
    let system = roots.certs.clone();
    let anchors = options
        .time(
            "root store: the system's certificates parsed into trust anchors (each client does this)",
            async {
                let mut store = rustls::RootCertStore::empty();
                store.add_parsable_certificates(system);
                store
            },
        )
        .await;
    let compiled = options
        .time(
            "root store: compiled in (webpki-roots), nothing read or parsed",
            async {
                rustls::RootCertStore {
                    roots: webpki_roots::TLS_SERVER_ROOTS.to_vec(),
                }
            },
        )
        .await;
    let compiled_bytes: usize = webpki_roots::TLS_SERVER_ROOTS
        .iter()
        .map(|anchor| {
            anchor.subject.as_ref().len()
                + anchor.subject_public_key_info.as_ref().len()
                + anchor
                    .name_constraints
                    .as_ref()
                    .map_or(0, |n| n.as_ref().len())
        })
        .sum();
    let endpoint = variable("AWS_ENDPOINT_URL_SECRETS_MANAGER");
    let port: u16 = endpoint
        .rsplit(':')
        .next()
        .and_then(|p| p.trim_end_matches('/').parse().ok())
        .expect("the Secrets Manager endpoint has a port");
    let anchors = Arc::new(anchors);
    for (name, groups) in [
        (
            "TLS handshake, X25519MLKEM768 + X25519 key shares (rustls' default, the clients')",
            kx_group_list(&[kx_group::X25519MLKEM768, kx_group::X25519]),
        ),
        (
            "TLS handshake, X25519 only",
            kx_group_list(&[kx_group::X25519]),
        ),
        (
            "TLS handshake, P-256 only",
            kx_group_list(&[kx_group::SECP256R1]),
        ),
    ] {
        let config = client_config(groups, anchors.clone(), false);
        let mut runs = Vec::new();
        for _ in 0..HANDSHAKES {
            let started = cpu_ms();
            handshake(config.clone(), port).await;
            runs.push(cpu_ms() - started);
        }
        options.0.push((name.to_owned(), median(runs)));
    }
    // Resumption: a second connection with the ticket of the first (one config, its cache).
    let config = client_config(default_provider().kx_groups, anchors.clone(), true);
    let mut runs = Vec::new();
    for _ in 0..HANDSHAKES {
        handshake(config.clone(), port).await;
        let started = cpu_ms();
        handshake(config.clone(), port).await;
        runs.push(cpu_ms() - started);
    }
    options.0.push((
        "TLS handshake resumed (TLS 1.3 ticket of the connection before)".to_owned(),
        median(runs),
    ));

    println!("| part | CPU ms |\n|---|---:|");
    for (name, ms) in &parts.0 {
        println!("| {name} | {ms:.2} |");
    }
    println!("| all of the above | {total:.2} |");
    println!(
        "({} certificates in the root store, {} unreadable)",
        roots.certs.len(),
        roots.errors.len()
    );
    println!("\n| alternative | CPU ms |\n|---|---:|");
    for (name, ms) in &options.0 {
        println!("| {name} | {ms:.3} |");
    }
    println!(
        "(handshakes: median of {HANDSHAKES} to the Secrets Manager proxy; the compiled-in store \
         holds {} anchors, {compiled_bytes} bytes of DER a bootstrap would carry)",
        compiled.roots.len()
    );
}

/// Handshakes timed per alternative (the median is printed).
const HANDSHAKES: usize = 9;

fn kx_group_list(groups: &[&'static dyn SupportedKxGroup]) -> Vec<&'static dyn SupportedKxGroup> {
    groups.to_vec()
}

/// A client configuration with aws-lc-rs and these key exchange groups, trusting `anchors`;
/// without `resume`, it keeps no sessions (every handshake is a full one).
fn client_config(
    groups: Vec<&'static dyn SupportedKxGroup>,
    anchors: Arc<rustls::RootCertStore>,
    resume: bool,
) -> Arc<rustls::ClientConfig> {
    let provider = rustls::crypto::CryptoProvider {
        kx_groups: groups,
        ..default_provider()
    };
    let mut config = rustls::ClientConfig::builder_with_provider(Arc::new(provider))
        .with_safe_default_protocol_versions()
        .expect("TLS 1.2 and 1.3")
        .with_root_certificates(anchors)
        .with_no_client_auth();
    if !resume {
        config.resumption = rustls::client::Resumption::disabled();
    }
    Arc::new(config)
}

/// Connect to `localhost:port` and finish a TLS handshake.
async fn handshake(config: Arc<rustls::ClientConfig>, port: u16) {
    let tcp = tokio::net::TcpStream::connect(("localhost", port))
        .await
        .expect("the TLS proxy accepts");
    let name = ServerName::try_from("localhost").expect("a server name");
    let mut tls = tokio_rustls::TlsConnector::from(config)
        .connect(name, tcp)
        .await
        .expect("the TLS handshake completes");
    // A TLS 1.3 server sends its session tickets after the handshake: read them (until the
    // proxy closes), so that a resumable configuration keeps one.
    use tokio::io::{AsyncReadExt, AsyncWriteExt};
    let _ = tls.shutdown().await;
    let mut rest = Vec::new();
    let _ = tokio::time::timeout(Duration::from_secs(1), tls.read_to_end(&mut rest)).await;
}

fn median(mut values: Vec<f64>) -> f64 {
    values.sort_by(f64::total_cmp);
    values[values.len() / 2]
}
