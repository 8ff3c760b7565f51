//! What observability adds to each request: formatting its metric line (embedded metric format)
//! and a log line in the flat JSON format with its request ids, beside tracing-subscriber's own
//! JSON format as it was before: `cargo bench -p benchmarks --bench observability`.

use std::time::Duration;

use criterion::{Criterion, criterion_group, criterion_main};
use lambda_http::{Context, Request, RequestExt};
use tracing::level_filters::LevelFilter;
use zendesk_jwt::lambda::logging::{self, LogFormat};
use zendesk_jwt::lambda::metrics::{Function, Metrics, MetricsNamespace, Outcome, RefusalReason};

fn benches(c: &mut Criterion) {
    let namespace = MetricsNamespace::parse("ZendeskJwt/bench-stack").unwrap();
    let (metrics, _) = Metrics::capture(namespace, Function::Todos);
    let refused = Outcome::Refused(RefusalReason::UnknownKid);
    let accepted_line = metrics.request_line(Outcome::Accepted, 1_700_000_000_000);
    let refused_line = metrics.request_line(refused, 1_700_000_000_000);
    println!(
        "EMF line: {} bytes accepted, {} bytes refused",
        accepted_line.len() + 1,
        refused_line.len() + 1
    );
    c.bench_function("EMF request line, accepted (Metrics::request_line)", |b| {
        b.iter(|| metrics.request_line(Outcome::Accepted, 1_700_000_000_000))
    });
    c.bench_function("EMF request line, refused with its reason", |b| {
        b.iter(|| metrics.request_line(refused, 1_700_000_000_000))
    });

    let request = request();
    let flat = logging::subscriber(LevelFilter::DEBUG, LogFormat::Json, std::io::sink);
    tracing::subscriber::with_default(flat, || {
        let runtime = tracing::info_span!("Lambda runtime invoke", requestId = "8f3b-bench");
        let _runtime = runtime.enter();
        c.bench_function(
            "request span with API Gateway's id (logging::request_span)",
            |b| b.iter(|| logging::request_span(&request).in_scope(|| ())),
        );
        let span = logging::request_span(&request);
        let _request = span.enter();
        c.bench_function("JSON log line in a request, flat with its ids", |b| {
            b.iter(|| {
                tracing::debug!(
                    reason = "invalid token: InvalidSignature",
                    "sidebar token refused"
                )
            })
        });
    });

    let before = tracing_subscriber::fmt()
        .with_max_level(LevelFilter::DEBUG)
        .with_target(false)
        .without_time()
        .with_writer(std::io::sink)
        .json()
        .finish();
    tracing::subscriber::with_default(before, || {
        let runtime = tracing::info_span!("Lambda runtime invoke", requestId = "8f3b-bench");
        let _runtime = runtime.enter();
        c.bench_function(
            "JSON log line in a request, tracing-subscriber's JSON (before)",
            |b| {
                b.iter(|| {
                    tracing::debug!(
                        reason = "invalid token: InvalidSignature",
                        "sidebar token refused"
                    )
                })
            },
        );
    });
}

/// A request as lambda_http hands it to a handler: an HTTP API event and the Lambda context.
fn request() -> Request {
    let mut event = integration_tests::events::event(
        "GET",
        "/todo_items",
        &[("authorization", "Bearer x")],
        None,
    );
    event["requestContext"]["requestId"] = "Xb1FjgBENQ0EJzw=".into();
    let mut context = Context::default();
    context.request_id = "8f3b-bench".into();
    integration_tests::events::parse(&event).with_lambda_context(context)
}

criterion_group! {
    name = observability;
    config = Criterion::default().measurement_time(Duration::from_secs(3)).warm_up_time(Duration::from_secs(1));
    targets = benches
}
criterion_main!(observability);
