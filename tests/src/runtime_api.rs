//! A stand-in for the Lambda Runtime API, for running a function's own `main.rs` as Lambda runs
//! it: `GET …/invocation/next` hands out the queued events one by one (with no event left it
//! holds the request, as Lambda does while the environment is frozen), and every poll, response
//! and error the function makes is reported, timed. The tests that check a whole process and the
//! cold-start benchmark both use this one.

use std::collections::VecDeque;
use std::convert::Infallible;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant, SystemTime, UNIX_EPOCH};

use bytes::Bytes;
use http_body_util::{BodyExt, Full};
use serde_json::Value;
use tokio::sync::mpsc;

/// What the function did, as the stand-in saw it.
#[derive(Debug)]
pub enum Report {
    /// It asked for the next event.
    Next(Instant),
    /// It answered the invocation `id` with `body`.
    Response {
        /// When the answer arrived.
        at: Instant,
        /// The invocation it answers.
        id: String,
        /// The answer (an API Gateway response), `null` when it is not JSON.
        body: Value,
    },
    /// It reported an error (an init or invocation error) at `path`.
    Error {
        /// The Runtime API path it posted to.
        path: String,
        /// What it posted.
        body: String,
    },
}

/// The stand-in, listening on a local port.
pub struct RuntimeApi {
    /// `host:port`, the value of `AWS_LAMBDA_RUNTIME_API`.
    pub address: String,
    events: Arc<Mutex<VecDeque<(String, Bytes)>>>,
    reports: mpsc::UnboundedReceiver<Report>,
}

impl RuntimeApi {
    /// Start listening, with no event queued.
    pub async fn start() -> Self {
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let address = listener.local_addr().unwrap().to_string();
        let events: Arc<Mutex<VecDeque<(String, Bytes)>>> = Arc::default();
        let (sender, reports) = mpsc::unbounded_channel();
        let queue = events.clone();
        crate::http_server::serve(
            listener,
            || true,
            move |req| {
                let (queue, sender) = (queue.clone(), sender.clone());
                async move { Ok::<_, Infallible>(answer(queue, sender, req).await) }
            },
        );
        Self {
            address,
            events,
            reports,
        }
    }

    /// Queue `event` as the invocation `id`.
    pub fn queue(&self, id: &str, event: impl Into<Bytes>) {
        self.events
            .lock()
            .unwrap()
            .push_back((id.to_owned(), event.into()));
    }

    /// The next thing the function did, or `None` when it did nothing within `timeout`.
    pub async fn report(&mut self, timeout: Duration) -> Option<Report> {
        tokio::time::timeout(timeout, self.reports.recv())
            .await
            .ok()
            .flatten()
    }

    /// The function's next response or error, skipping its polls; `None` after `timeout`.
    pub async fn answer(&mut self, timeout: Duration) -> Option<Report> {
        let deadline = tokio::time::Instant::now() + timeout;
        loop {
            let left = deadline.saturating_duration_since(tokio::time::Instant::now());
            match self.report(left).await? {
                Report::Next(_) => continue,
                answer => return Some(answer),
            }
        }
    }
}

async fn answer(
    events: Arc<Mutex<VecDeque<(String, Bytes)>>>,
    reports: mpsc::UnboundedSender<Report>,
    req: hyper::Request<hyper::body::Incoming>,
) -> hyper::Response<Full<Bytes>> {
    let path = req.uri().path().to_owned();
    if path.ends_with("/runtime/invocation/next") {
        let _ = reports.send(Report::Next(Instant::now()));
        let next = events.lock().unwrap().pop_front();
        let Some((id, event)) = next else {
            // No more events for this process: hold the request, as Lambda does while frozen.
            std::future::pending::<()>().await;
            unreachable!()
        };
        let deadline = SystemTime::now()
            .duration_since(UNIX_EPOCH)
            .unwrap()
            .as_millis()
            + 30_000;
        return hyper::Response::builder()
            .header("lambda-runtime-aws-request-id", id)
            .header("lambda-runtime-deadline-ms", deadline.to_string())
            .header(
                "lambda-runtime-invoked-function-arn",
                "arn:aws:lambda:us-east-1:123456789012:function:test",
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
    let report = match path
        .strip_suffix("/response")
        .and_then(|rest| rest.rsplit('/').next())
    {
        Some(id) => Report::Response {
            at: Instant::now(),
            id: id.to_owned(),
            body: serde_json::from_slice(&body).unwrap_or(Value::Null),
        },
        None => Report::Error {
            path,
            body: String::from_utf8_lossy(&body).into_owned(),
        },
    };
    let _ = reports.send(report);
    hyper::Response::builder()
        .status(202)
        .body(Full::new(Bytes::new()))
        .unwrap()
}
