//! A real HTTP proxy in front of DynamoDB Local that counts the requests passing through it, by
//! operation (`X-Amz-Target`), can add up the capacity units DynamoDB says they consume, and can
//! cut DynamoDB off mid-write: forward a request, let DynamoDB apply it, and close the client's
//! connection instead of relaying the answer (of writes only, or of every request).

use std::collections::BTreeMap;
use std::net::SocketAddr;
use std::sync::{Arc, Mutex};

use bytes::Bytes;
use http_body_util::{BodyExt, Full};

/// What the proxy does with the answers of write operations.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum ProxyMode {
    /// Relay every answer.
    Forward,
    /// Forward writes (`UpdateItem`, `PutItem`, `DeleteItem`, `TransactWriteItems`) to
    /// DynamoDB, which applies them, then drop the connection without an answer: the client
    /// cannot tell whether its write happened. Reads are relayed.
    LoseWriteAnswers,
    /// The same for every request, reads included: the client can learn nothing.
    LoseEveryAnswer,
}

#[derive(Default)]
struct Counts {
    by_operation: BTreeMap<String, u64>,
    capacity: BTreeMap<String, f64>,
    /// Each measured request's operation and units, in the order answered.
    measured: Vec<(String, f64)>,
    lost_answers: u64,
}

/// The proxy; it serves until the test's runtime ends.
#[derive(Clone)]
pub struct DynamoDbProxy {
    addr: SocketAddr,
    upstream: String,
    mode: Arc<Mutex<ProxyMode>>,
    measure_capacity: Arc<std::sync::atomic::AtomicBool>,
    counts: Arc<Mutex<Counts>>,
    client: reqwest::Client,
}

const WRITES: [&str; 4] = ["UpdateItem", "PutItem", "DeleteItem", "TransactWriteItems"];

impl DynamoDbProxy {
    /// Start a proxy on 127.0.0.1 (port 0: any free port) in front of `upstream`
    /// (`http://127.0.0.1:PORT`).
    pub async fn start(upstream: &str) -> Self {
        Self::start_on(upstream, 0).await
    }

    /// Start a proxy on 127.0.0.1:`port` in front of `upstream`.
    pub async fn start_on(upstream: &str, port: u16) -> Self {
        let listener = tokio::net::TcpListener::bind(("127.0.0.1", port))
            .await
            .unwrap_or_else(|e| panic!("the DynamoDB proxy cannot listen on port {port}: {e}"));
        let proxy = Self {
            addr: listener.local_addr().unwrap(),
            upstream: upstream.trim_end_matches('/').to_owned(),
            mode: Arc::new(Mutex::new(ProxyMode::Forward)),
            measure_capacity: Arc::default(),
            counts: Arc::default(),
            client: reqwest::Client::new(),
        };
        let serving = proxy.clone();
        crate::http_server::serve(
            listener,
            || true,
            move |req| {
                let this = serving.clone();
                async move { this.forward(req).await }
            },
        );
        proxy
    }

    async fn forward(
        &self,
        req: hyper::Request<hyper::body::Incoming>,
    ) -> Result<hyper::Response<Full<Bytes>>, String> {
        if req.uri().path() == "/__requests" {
            return Ok(hyper::Response::builder()
                .header("content-type", "application/json")
                .body(Full::new(Bytes::from(self.counts_json().to_string())))
                .unwrap());
        }
        let operation = req
            .headers()
            .get("x-amz-target")
            .and_then(|v| v.to_str().ok())
            .and_then(|target| target.rsplit('.').next())
            .unwrap_or("(none)")
            .to_owned();
        *self
            .counts
            .lock()
            .unwrap()
            .by_operation
            .entry(operation.clone())
            .or_default() += 1;
        let (parts, body) = req.into_parts();
        let mut body = body.collect().await.map_err(|e| e.to_string())?.to_bytes();
        let measure = self
            .measure_capacity
            .load(std::sync::atomic::Ordering::SeqCst);
        if measure && let Ok(mut json) = serde_json::from_slice::<serde_json::Value>(&body) {
            // Ask DynamoDB to say what the request consumes (the signature no longer matches
            // the body; DynamoDB Local does not check signatures).
            json["ReturnConsumedCapacity"] = "TOTAL".into();
            body = Bytes::from(json.to_string());
        }
        let mut upstream = self
            .client
            .request(parts.method, format!("{}{}", self.upstream, parts.uri))
            .body(body);
        for (name, value) in &parts.headers {
            if name != "host" && name != "content-length" {
                upstream = upstream.header(name, value);
            }
        }
        let answer = upstream.send().await.map_err(|e| e.to_string())?;
        let status = answer.status();
        let headers = answer.headers().clone();
        let bytes = answer.bytes().await.map_err(|e| e.to_string())?;
        if measure
            && let Ok(json) = serde_json::from_slice::<serde_json::Value>(&bytes)
            && let Some(units) = json["ConsumedCapacity"]["CapacityUnits"].as_f64()
        {
            let mut counts = self.counts.lock().unwrap();
            *counts.capacity.entry(operation.clone()).or_default() += units;
            counts.measured.push((operation.clone(), units));
        }
        let lost = match *self.mode.lock().unwrap() {
            ProxyMode::Forward => false,
            ProxyMode::LoseWriteAnswers => WRITES.contains(&operation.as_str()),
            ProxyMode::LoseEveryAnswer => true,
        };
        if lost {
            self.counts.lock().unwrap().lost_answers += 1;
            // An error closes the connection without an answer.
            return Err("answer lost on purpose".into());
        }
        let mut response = hyper::Response::builder().status(status);
        for (name, value) in &headers {
            if name != "content-length" && name != "transfer-encoding" {
                response = response.header(name, value);
            }
        }
        Ok(response.body(Full::new(bytes)).unwrap())
    }

    /// `http://127.0.0.1:{port}`: the endpoint clients use instead of DynamoDB Local's.
    pub fn endpoint(&self) -> String {
        format!("http://{}", self.addr)
    }

    /// Change what happens to answers from now on.
    pub fn set_mode(&self, mode: ProxyMode) {
        *self.mode.lock().unwrap() = mode;
    }

    /// From now on, ask DynamoDB for the capacity units each request consumes and add them up
    /// ([`DynamoDbProxy::capacity`]). DynamoDB Local reports them by the rules DynamoDB bills
    /// by (item size in 1 KB write units and 4 KB read units); it reports nothing for a write
    /// whose condition failed, which DynamoDB bills like the write.
    pub fn measure_capacity(&self) {
        self.measure_capacity
            .store(true, std::sync::atomic::Ordering::SeqCst);
    }

    /// Capacity units consumed so far, by operation (see [`DynamoDbProxy::measure_capacity`]).
    pub fn capacity(&self) -> BTreeMap<String, f64> {
        self.counts.lock().unwrap().capacity.clone()
    }

    /// Each measured request so far: its operation and the units it consumed, in order.
    pub fn measured(&self) -> Vec<(String, f64)> {
        self.counts.lock().unwrap().measured.clone()
    }

    /// Requests seen so far, by operation.
    pub fn requests(&self) -> BTreeMap<String, u64> {
        self.counts.lock().unwrap().by_operation.clone()
    }

    /// All requests seen so far.
    pub fn total(&self) -> u64 {
        self.requests().values().sum()
    }

    /// Run `call`; its output and the requests it made through the proxy, by operation.
    pub async fn requests_made_by<F: std::future::Future>(
        &self,
        call: F,
    ) -> (F::Output, Vec<(String, u64)>) {
        let before = self.requests();
        let output = call.await;
        let made = self
            .requests()
            .into_iter()
            .filter_map(|(operation, count)| {
                let new = count - before.get(&operation).copied().unwrap_or(0);
                (new > 0).then_some((operation, new))
            })
            .collect();
        (output, made)
    }

    /// The status `call` answered and the DynamoDB requests it made, by operation.
    pub async fn status_and_requests(
        &self,
        call: impl std::future::Future<Output = lambda_http::Response<lambda_http::Body>>,
    ) -> (u16, Vec<(String, u64)>) {
        let (response, made) = self.requests_made_by(call).await;
        (response.status().as_u16(), made)
    }

    /// Answers dropped so far in [`ProxyMode::LoseWriteAnswers`].
    pub fn lost_answers(&self) -> u64 {
        self.counts.lock().unwrap().lost_answers
    }

    fn counts_json(&self) -> serde_json::Value {
        let counts = self.counts.lock().unwrap();
        serde_json::json!({
            "requests": counts.by_operation,
            "total": counts.by_operation.values().sum::<u64>(),
            "capacity_units": counts.capacity,
            "lost_answers": counts.lost_answers,
        })
    }
}

/// Exactly one request of `operation`, as [`DynamoDbProxy::requests_made_by`] lists it.
pub fn one_request(operation: &str) -> Vec<(String, u64)> {
    vec![(operation.to_owned(), 1)]
}
