//! Cold start of a Lambda `bootstrap`, measured against the tests' stand-in for the Lambda Runtime
//! API (`tests/src/runtime_api.rs`): for each of N fresh processes, the init time (process start to its first
//! `GET /runtime/invocation/next`), the first invocation (with the lazy Secrets Manager / JWKS /
//! DynamoDB calls to the local services), a warm invocation, and the peak RSS (VmHWM).
//!
//! ```text
//! cold-start <function-name> <bootstrap> <event.json> [runs]
//! ```
//! The function's configuration is taken from the environment (as `scripts/bench-cold-start`
//! sets it).

use std::time::{Duration, Instant};

use bytes::Bytes;
use integration_tests::processes::memory_kib;
use integration_tests::runtime_api::{Report, RuntimeApi};

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

    let mut runtime = RuntimeApi::start().await;

    let (mut init, mut first, mut warm, mut rss) = (vec![], vec![], vec![], vec![]);
    let mut statuses = Vec::new();
    for run in 0..runs {
        runtime.queue(&format!("run{run}-1"), event.clone());
        runtime.queue(&format!("run{run}-2"), event.clone());
        let started = Instant::now();
        let mut child = tokio::process::Command::new(bootstrap)
            .env("AWS_LAMBDA_RUNTIME_API", &runtime.address)
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
            match runtime.report(Duration::from_secs(10)).await {
                Some(Report::Next(at)) => nexts.push(at),
                Some(Report::Response { at, body, .. }) => {
                    responses.push(at);
                    statuses.push(body["statusCode"].as_u64());
                }
                Some(Report::Error { path, body }) => {
                    panic!("the function reported an error: {path}: {body}")
                }
                None => panic!("run {run}: the function did not answer within 10 s"),
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
