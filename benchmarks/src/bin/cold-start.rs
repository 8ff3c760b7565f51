//! Cold start of a Lambda `bootstrap`, measured against a local stand-in for the Lambda Runtime
//! API: for each of N fresh processes, the init time (process start to its first
//! `GET /runtime/invocation/next`), the first invocation (with the lazy Secrets Manager / JWKS /
//! DynamoDB calls to the local services), a warm invocation, and the peak RSS (VmHWM).
//!
//! ```text
//! cold-start <function-name> <bootstrap> <event.json> [runs]
//! ```
//! The function's configuration is taken from the environment (as `scripts/bench-cold-start`
//! sets it).

use std::collections::VecDeque;
use std::convert::Infallible;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use bytes::Bytes;
use http_body_util::{BodyExt, Full};
use integration_tests::processes::memory_kib;
use tokio::sync::mpsc;

enum Report {
    Next(Instant),
    Response { at: Instant, status: Option<u64> },
    Error(String),
}

struct Runtime {
    events: Mutex<VecDeque<(String, Bytes)>>,
    reports: mpsc::UnboundedSender<Report>,
}

async fn answer(
    runtime: Arc<Runtime>,
    req: hyper::Request<hyper::body::Incoming>,
) -> hyper::Response<Full<Bytes>> {
    let path = req.uri().path().to_owned();
    if path.ends_with("/runtime/invocation/next") {
        let _ = runtime.reports.send(Report::Next(Instant::now()));
        let next = runtime.events.lock().unwrap().pop_front();
        let Some((id, event)) = next else {
            // No more events for this process: hold the request, as Lambda does while frozen.
            std::future::pending::<()>().await;
            unreachable!()
        };
        let deadline = std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .unwrap()
            .as_millis()
            + 10_000;
        return hyper::Response::builder()
            .header("lambda-runtime-aws-request-id", id)
            .header("lambda-runtime-deadline-ms", deadline.to_string())
            .header(
                "lambda-runtime-invoked-function-arn",
                "arn:aws:lambda:us-east-1:123456789012:function:bench",
            )
            .header(
                "lambda-runtime-trace-id",
                "Root=1-00000000-000000000000000000000000",
            )
            .header("content-type", "application/json")
            .body(Full::new(event))
            .unwrap();
    }
    let body = req
        .into_body()
        .collect()
        .await
        .map(|b| b.to_bytes())
        .unwrap_or_default();
    let report = if path.ends_with("/response") {
        let status = serde_json::from_slice::<serde_json::Value>(&body)
            .ok()
            .and_then(|v| v["statusCode"].as_u64());
        Report::Response {
            at: Instant::now(),
            status,
        }
    } else {
        Report::Error(format!("{path}: {}", String::from_utf8_lossy(&body)))
    };
    let _ = runtime.reports.send(report);
    hyper::Response::builder()
        .status(202)
        .body(Full::new(Bytes::new()))
        .unwrap()
}

fn median(values: &mut [f64]) -> f64 {
    values.sort_by(|a, b| a.partial_cmp(b).unwrap());
    values[values.len() / 2]
}

fn summary(name: &str, unit: &str, values: &mut [f64]) {
    let med = median(values);
    println!(
        "{name:<26} median {med:>8.2} {unit}   min {:>8.2}   max {:>8.2}",
        values.first().unwrap(),
        values.last().unwrap()
    );
}

#[tokio::main(flavor = "current_thread")]
async fn main() {
    let args: Vec<String> = std::env::args().skip(1).collect();
    let [function, bootstrap, event_path, rest @ ..] = args.as_slice() else {
        eprintln!("usage: cold-start <function-name> <bootstrap> <event.json> [runs]");
        std::process::exit(2);
    };
    let runs: usize = rest
        .first()
        .map(|r| r.parse().expect("runs is a number"))
        .unwrap_or(20);
    let event = Bytes::from(std::fs::read(event_path).expect("the event file is readable"));

    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    let (tx, mut rx) = mpsc::unbounded_channel();
    let runtime = Arc::new(Runtime {
        events: Mutex::new(VecDeque::new()),
        reports: tx,
    });
    let serving = runtime.clone();
    integration_tests::http_server::serve(
        listener,
        || true,
        move |req| {
            let runtime = serving.clone();
            async move { Ok::<_, Infallible>(answer(runtime, req).await) }
        },
    );

    let (mut init, mut first, mut warm, mut rss) = (vec![], vec![], vec![], vec![]);
    let mut statuses = Vec::new();
    for run in 0..runs {
        *runtime.events.lock().unwrap() = VecDeque::from([
            (format!("run{run}-1"), event.clone()),
            (format!("run{run}-2"), event.clone()),
        ]);
        let started = Instant::now();
        let mut child = tokio::process::Command::new(bootstrap)
            .env("AWS_LAMBDA_RUNTIME_API", addr.to_string())
            .env("AWS_LAMBDA_FUNCTION_NAME", function)
            .env("AWS_LAMBDA_FUNCTION_MEMORY_SIZE", "256")
            .env("AWS_LAMBDA_FUNCTION_VERSION", "$LATEST")
            .env(
                "AWS_LAMBDA_LOG_GROUP_NAME",
                format!("/aws/lambda/{function}"),
            )
            .env("AWS_LAMBDA_LOG_STREAM_NAME", "bench")
            .stdout(std::process::Stdio::null())
            .stderr(std::process::Stdio::null())
            .kill_on_drop(true)
            .spawn()
            .expect("the bootstrap starts");
        let pid = child.id().unwrap();
        let mut nexts = Vec::new();
        let mut responses = Vec::new();
        while responses.len() < 2 || nexts.len() < 3 {
            match tokio::time::timeout(Duration::from_secs(10), rx.recv()).await {
                Ok(Some(Report::Next(at))) => nexts.push(at),
                Ok(Some(Report::Response { at, status })) => {
                    responses.push(at);
                    statuses.push(status);
                }
                Ok(Some(Report::Error(error))) => panic!("the function reported an error: {error}"),
                Ok(None) | Err(_) => panic!("run {run}: the function did not answer within 10 s"),
            }
        }
        init.push((nexts[0] - started).as_secs_f64() * 1000.0);
        first.push((responses[0] - nexts[0]).as_secs_f64() * 1000.0);
        warm.push((responses[1] - nexts[1]).as_secs_f64() * 1000.0);
        rss.push(memory_kib(pid, "VmHWM").unwrap_or(0) as f64 / 1024.0);
        child.kill().await.ok();
    }
    println!("{function}: {runs} fresh processes of {bootstrap}");
    println!("statuses of the invocations: {:?}", {
        let mut s: Vec<_> = statuses
            .iter()
            .map(|s| s.map_or("none".to_owned(), |s| s.to_string()))
            .collect();
        s.dedup();
        s
    });
    summary("init (start to /next)", "ms", &mut init);
    summary("first invocation", "ms", &mut first);
    summary("warm invocation", "ms", &mut warm);
    summary("peak RSS", "MiB", &mut rss);
}
