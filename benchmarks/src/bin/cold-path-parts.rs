//! The CPU time of each part of a function's cold path, in one fresh process, with the
//! configuration and endpoints the environment gives (`scripts/bench-cold-path` runs it with the
//! bootstraps' environment: every service behind TLS, the same root store). Each part is timed
//! with the process's CPU time (user + system, every thread): what the memory's CPU share has to
//! pay for before the first answer.
//!
//! ```text
//! cold-path-parts      (DEV_DIR: the development environment that signs the help center token)
//! ```

use std::time::Duration;

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
}
