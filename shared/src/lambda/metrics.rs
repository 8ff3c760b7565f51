//! CloudWatch metrics as embedded metric format (EMF) log lines: one JSON line on stdout per
//! request, and one per JWKS or secret refresh. CloudWatch Logs turns each line into metric data
//! points, so counting costs no AWS call and nothing on the hot path but formatting one line.
//!
//! Every line names the namespace (`METRICS_NAMESPACE`, default [`DEFAULT_NAMESPACE`]; the SAM
//! template sets one per stack) and the dimension `Function`. Dimension values come only from the
//! enums below, chosen by code: never a token, a user id or anything a client sent.
//!
//! | metric | dimensions | counted |
//! | --- | --- | --- |
//! | `Requests` | `Function` | every request (1) |
//! | `Accepted`, `Refused`, `ClientErrors`, `Unavailable` | `Function` | every request: 1 for its [`Outcome`], 0 for the others |
//! | `Refused` | `Function`, `Reason` | each refused request, by [`RefusalReason`] |
//! | `LimitReached` | `Function` | each request refused by a per-user limit (also a client error) |
//! | `JwksRefreshes`, `JwksRefreshFailures` | `Function` | each JWKS fetch that succeeded or failed |
//! | `SecretRefreshes`, `SecretRefreshFailures` | `Function` | each secret read that succeeded or failed |
//! | `SecretsRefused` | `Function` | each secret read whose stored value was refused (also a failure) |
//! | `KeyCleanupFailures` | `Function` | each failed removal of a user's expired idempotency key records (todos) |
//!
//! Lambda reads a JSON line without a `level` as INFO, so these lines reach CloudWatch only while
//! the function's application log level is INFO or lower (the template allows no higher).

use std::io::Write as _;
use std::sync::{Arc, Mutex};

pub use crate::verify::RefusalReason;
use crate::verify::{AuthError, JwksCache};
use lambda_http::http::StatusCode;
use lambda_http::{Body, Response};
use serde::Serialize;
use serde::ser::SerializeMap;

use super::env::{ConfigError, Reader};

/// The namespace used when `METRICS_NAMESPACE` is not set.
pub(crate) const DEFAULT_NAMESPACE: &str = "ZendeskJwt";

/// The function a metric is about: the only values of the `Function` dimension.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum Function {
    /// `sidebar`.
    Sidebar,
    /// `todos`.
    Todos,
    /// `sdk-exchange`.
    SdkExchange,
}

impl Function {
    /// Every function, for tests and dashboards.
    pub const ALL: [Function; 3] = [Function::Sidebar, Function::Todos, Function::SdkExchange];

    /// The dimension value: the package name (`sidebar`, `todos`, `sdk-exchange`).
    pub fn name(self) -> &'static str {
        match self {
            Function::Sidebar => "sidebar",
            Function::Todos => "todos",
            Function::SdkExchange => "sdk-exchange",
        }
    }
}

/// How one request ended. Each request is counted once, by exactly one outcome.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum Outcome {
    /// Answered as asked (2xx; a CORS preflight too).
    Accepted,
    /// The token was refused (401, or the sidebar's 400 for no token).
    Refused(RefusalReason),
    /// Any other mistake of the client: 400, 403, 404, 405, 413, 415.
    ClientError,
    /// A per-user limit (the to-do cap or byte budget) refused the write: 409. Counted as a
    /// client error and as `LimitReached`.
    LimitReached,
    /// A dependency (DynamoDB, Secrets Manager, the JWKS, a usable secret) was not available: 503.
    Unavailable,
}

impl Outcome {
    /// The value of the line's `Outcome` member (a log field, not a dimension).
    pub fn name(self) -> &'static str {
        match self {
            Outcome::Accepted => "accepted",
            Outcome::Refused(_) => "refused",
            Outcome::ClientError => "client_error",
            Outcome::LimitReached => "limit_reached",
            Outcome::Unavailable => "unavailable",
        }
    }
}

/// Something that happened to a function's keys or secrets, counted when it happens.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum Event {
    /// A JWKS fetch succeeded (the first load included).
    JwksRefreshed,
    /// A JWKS fetch failed (connection, status, timeout, size or content).
    JwksRefreshFailed,
    /// A secret was read and parsed.
    SecretRefreshed,
    /// Reading a secret failed, or its value was not usable.
    SecretRefreshFailed,
    /// A secret's stored value was read and refused (also a [`Event::SecretRefreshFailed`]): an
    /// operator must store a usable one.
    SecretRefused,
    /// Removing a user's expired idempotency key records failed with something other than a
    /// concurrent change: the records keep growing until a later add removes them.
    KeyCleanupFailed,
}

impl Event {
    /// The metric name.
    pub fn metric(self) -> &'static str {
        match self {
            Event::JwksRefreshed => "JwksRefreshes",
            Event::JwksRefreshFailed => "JwksRefreshFailures",
            Event::SecretRefreshed => "SecretRefreshes",
            Event::SecretRefreshFailed => "SecretRefreshFailures",
            Event::SecretRefused => "SecretsRefused",
            Event::KeyCleanupFailed => "KeyCleanupFailures",
        }
    }
}

/// A CloudWatch namespace, checked once at start-up: 1 to 255 of the characters CloudWatch
/// allows (letters, digits, `.-_/#:` and space), not starting with `AWS/`. Nothing in it needs
/// escaping in JSON.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct MetricsNamespace(Arc<str>);

impl MetricsNamespace {
    /// Check `value`; the error says what is wrong with it.
    pub fn parse(value: &str) -> Result<Self, String> {
        if value.is_empty() || value.len() > 255 {
            return Err(format!("{value:?} must have 1 to 255 characters"));
        }
        if value.starts_with("AWS/") {
            return Err(format!(
                "{value:?} starts with AWS/, which is reserved for AWS services"
            ));
        }
        let allowed = |c: char| c.is_ascii_alphanumeric() || ".-_/#: ".contains(c);
        if let Some(bad) = value.chars().find(|c| !allowed(*c)) {
            return Err(format!(
                "{value:?} contains {bad:?}; use letters, digits, spaces and . - _ / # :"
            ));
        }
        Ok(Self(value.into()))
    }

    /// The namespace.
    pub fn as_str(&self) -> &str {
        &self.0
    }
}

impl MetricsNamespace {
    /// The namespace of the function's metrics (`METRICS_NAMESPACE`, default
    /// [`DEFAULT_NAMESPACE`]; the SAM template sets one per stack).
    pub fn from_env(env: &Reader) -> Result<Self, ConfigError> {
        match env.optional("METRICS_NAMESPACE") {
            None => Ok(Self::default()),
            Some(value) => Self::parse(&value)
                .map_err(|problem| ConfigError::new("METRICS_NAMESPACE", problem)),
        }
    }
}

impl Default for MetricsNamespace {
    fn default() -> Self {
        Self(DEFAULT_NAMESPACE.into())
    }
}

/// Where the lines go.
#[derive(Clone)]
enum Sink {
    Stdout,
    Discard,
    Capture(Arc<Mutex<Vec<String>>>),
}

/// The lines a [`Metrics`] made with [`Metrics::capture`] has written, for tests.
#[derive(Clone, Default)]
pub struct MetricsCapture(Arc<Mutex<Vec<String>>>);

impl MetricsCapture {
    /// Every line written so far (without the trailing newline), oldest first.
    pub fn lines(&self) -> Vec<String> {
        self.0.lock().unwrap_or_else(|e| e.into_inner()).clone()
    }

    /// The lines written so far, removing them.
    pub fn take(&self) -> Vec<String> {
        std::mem::take(&mut *self.0.lock().unwrap_or_else(|e| e.into_inner()))
    }
}

/// Writes one function's metric lines. Cheap to clone: the caches and the handler share one.
#[derive(Clone)]
pub struct Metrics {
    namespace: MetricsNamespace,
    function: Function,
    sink: Sink,
}

impl std::fmt::Debug for Metrics {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Metrics")
            .field("namespace", &self.namespace.as_str())
            .field("function", &self.function.name())
            .finish_non_exhaustive()
    }
}

/// The request line's metrics under the `Function` dimension, in the order written.
const REQUEST_METRICS: [&str; 5] = [
    "Requests",
    "Accepted",
    "Refused",
    "ClientErrors",
    "Unavailable",
];

/// Every metric name these lines carry (the template's alarms and dashboard use no other).
pub const METRIC_NAMES: [&str; 12] = [
    "Requests",
    "Accepted",
    "Refused",
    "ClientErrors",
    "Unavailable",
    "LimitReached",
    "JwksRefreshes",
    "JwksRefreshFailures",
    "SecretRefreshes",
    "SecretRefreshFailures",
    "SecretsRefused",
    "KeyCleanupFailures",
];

/// One EMF line: the `_aws` metadata, the dimension and log members, and the counts as top-level
/// members (`"Requests":1`).
struct Line<'a> {
    aws: Aws<'a>,
    function: &'a str,
    outcome: Option<&'a str>,
    reason: Option<&'a str>,
    counts: &'a [(&'a str, bool)],
}

impl Serialize for Line<'_> {
    fn serialize<S: serde::Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        let mut map = serializer.serialize_map(None)?;
        map.serialize_entry("_aws", &self.aws)?;
        map.serialize_entry("Function", self.function)?;
        if let Some(outcome) = self.outcome {
            map.serialize_entry("Outcome", outcome)?;
        }
        if let Some(reason) = self.reason {
            map.serialize_entry("Reason", reason)?;
        }
        for (name, hit) in self.counts {
            map.serialize_entry(name, &u8::from(*hit))?;
        }
        map.end()
    }
}

/// EMF's `_aws` member.
#[derive(Serialize)]
#[serde(rename_all = "PascalCase")]
struct Aws<'a> {
    timestamp: u64,
    cloud_watch_metrics: Vec<Directive<'a>>,
}

/// One metric directive: a namespace, one dimension set, the metrics declared under it.
#[derive(Serialize)]
#[serde(rename_all = "PascalCase")]
struct Directive<'a> {
    namespace: &'a str,
    dimensions: [&'a [&'a str]; 1],
    metrics: Vec<MetricDefinition<'a>>,
}

/// A metric as a directive declares it.
#[derive(Serialize)]
#[serde(rename_all = "PascalCase")]
struct MetricDefinition<'a> {
    name: &'a str,
    unit: &'static str,
}

/// The dimension names these lines use.
pub const DIMENSION_NAMES: [&str; 2] = ["Function", "Reason"];

impl Metrics {
    /// Metrics for `function` written to stdout, where Lambda sends them to CloudWatch Logs.
    pub fn stdout(namespace: MetricsNamespace, function: Function) -> Self {
        Self {
            namespace,
            function,
            sink: Sink::Stdout,
        }
    }

    /// Metrics that are counted nowhere (local tools, tests that do not look at them).
    pub fn disabled(function: Function) -> Self {
        Self {
            namespace: MetricsNamespace::default(),
            function,
            sink: Sink::Discard,
        }
    }

    /// Metrics kept in memory, and the handle tests read them from.
    pub fn capture(namespace: MetricsNamespace, function: Function) -> (Self, MetricsCapture) {
        let capture = MetricsCapture::default();
        let metrics = Self {
            namespace,
            function,
            sink: Sink::Capture(capture.0.clone()),
        };
        (metrics, capture)
    }

    /// The function these metrics are about.
    pub fn function(&self) -> Function {
        self.function
    }

    /// Count one answered request, by the [`Outcome`] its answer carries ([`answer`]), and hand
    /// the answer on. Each function calls this once per request, on the way out.
    pub fn count(&self, response: Response<Body>) -> Response<Body> {
        let outcome = response
            .extensions()
            .get::<Outcome>()
            .copied()
            .unwrap_or_else(|| outcome_of_status(response.status()));
        self.request(outcome);
        response
    }

    /// Count one request by its outcome: call it exactly once per request, with the answer.
    pub fn request(&self, outcome: Outcome) {
        if !matches!(self.sink, Sink::Discard) {
            self.write(self.request_line(outcome, crate::clock::Clock::system().now_millis()));
        }
    }

    /// Count one event (a JWKS or secret refresh, or its failure).
    pub fn event(&self, event: Event) {
        if !matches!(self.sink, Sink::Discard) {
            self.write(self.event_line(event, crate::clock::Clock::system().now_millis()));
        }
    }

    /// The EMF line for one request at `timestamp` (milliseconds since the epoch), without the
    /// newline.
    pub fn request_line(&self, outcome: Outcome, timestamp: u64) -> String {
        let limit = outcome == Outcome::LimitReached;
        let refused = matches!(outcome, Outcome::Refused(_));
        let values = [
            true,
            outcome == Outcome::Accepted,
            refused,
            matches!(outcome, Outcome::ClientError | Outcome::LimitReached),
            outcome == Outcome::Unavailable,
        ];
        let mut counts: Vec<(&str, bool)> = REQUEST_METRICS.into_iter().zip(values).collect();
        // LimitReached is declared and counted only on the lines of a limit reached.
        if limit {
            counts.push(("LimitReached", true));
        }
        let names: Vec<&str> = counts.iter().map(|(name, _)| *name).collect();
        let mut directives = vec![self.directive(&["Function"], names)];
        if refused {
            directives.push(self.directive(&["Function", "Reason"], vec!["Refused"]));
        }
        self.line(Line {
            aws: Aws {
                timestamp,
                cloud_watch_metrics: directives,
            },
            function: self.function.name(),
            outcome: Some(outcome.name()),
            reason: match outcome {
                Outcome::Refused(reason) => Some(reason.name()),
                _ => None,
            },
            counts: &counts,
        })
    }

    /// The EMF line for one event at `timestamp`, without the newline.
    pub(crate) fn event_line(&self, event: Event, timestamp: u64) -> String {
        self.line(Line {
            aws: Aws {
                timestamp,
                cloud_watch_metrics: vec![self.directive(&["Function"], vec![event.metric()])],
            },
            function: self.function.name(),
            outcome: None,
            reason: None,
            counts: &[(event.metric(), true)],
        })
    }

    fn line(&self, line: Line<'_>) -> String {
        // Serialising strings, numbers and lists of them cannot fail.
        serde_json::to_string(&line).unwrap_or_default()
    }

    /// One metric directive: the namespace, one dimension set, and the metrics (counts).
    fn directive<'a>(&'a self, dimensions: &'a [&'a str], metrics: Vec<&'a str>) -> Directive<'a> {
        Directive {
            namespace: self.namespace.as_str(),
            dimensions: [dimensions],
            metrics: metrics
                .into_iter()
                .map(|name| MetricDefinition {
                    name,
                    unit: "Count",
                })
                .collect(),
        }
    }

    fn write(&self, mut line: String) {
        match &self.sink {
            Sink::Stdout => {
                line.push('\n');
                if cfg!(debug_assertions) {
                    // Debug builds (tests, the local server): through `print!`, which the test
                    // harness captures, so a test run shows a function's lines only for a test
                    // that failed.
                    print!("{line}");
                } else {
                    // One write of a whole line: it cannot interleave with a log line. A closed
                    // stdout has nowhere to report to.
                    let _ = std::io::stdout().lock().write_all(line.as_bytes());
                }
            }
            Sink::Capture(lines) => lines.lock().unwrap_or_else(|e| e.into_inner()).push(line),
            Sink::Discard => {}
        }
    }
}

/// An expected failure a function answers: how the request counts, and the response.
pub trait Answer {
    /// How the request counts in the metrics.
    fn outcome(&self) -> Outcome;
    /// The response the client gets.
    fn into_response(self) -> Response<Body>;
}

/// The one answer tail of every handler: its result as the response, carrying the request's
/// [`Outcome`] ([`Outcome::Accepted`] for an answer, the failure's own otherwise) for
/// [`Metrics::count`] to count once.
pub fn answer<A: Answer>(result: Result<Response<Body>, A>) -> Response<Body> {
    let (outcome, response) = match result {
        Ok(response) => (Outcome::Accepted, response),
        Err(failure) => (failure.outcome(), failure.into_response()),
    };
    with_outcome(response, outcome)
}

/// `response`, carrying `outcome` for [`Metrics::count`].
pub(crate) fn with_outcome(mut response: Response<Body>, outcome: Outcome) -> Response<Body> {
    response.extensions_mut().insert(outcome);
    response
}

/// How an answer that carries no [`Outcome`] counts: by its status (a CORS preflight answered by
/// the CORS layer is a 200).
fn outcome_of_status(status: StatusCode) -> Outcome {
    match status.as_u16() {
        ..400 => Outcome::Accepted,
        503 => Outcome::Unavailable,
        _ => Outcome::ClientError,
    }
}

impl AuthError {
    /// How a request refused with this error ends, for metrics: [`Outcome::Unavailable`] when
    /// the keys could not be loaded, else [`Outcome::Refused`] with the
    /// [reason class](AuthError::reason_class).
    pub fn outcome(&self) -> Outcome {
        self.reason_class()
            .map_or(Outcome::Unavailable, Outcome::Refused)
    }
}

impl JwksCache {
    /// Count each fetch in `metrics` (`JwksRefreshes`, `JwksRefreshFailures`).
    pub fn with_metrics(self, metrics: Metrics) -> Self {
        self.on_fetch(move |fetched| {
            metrics.event(if fetched {
                Event::JwksRefreshed
            } else {
                Event::JwksRefreshFailed
            })
        })
    }
}

#[cfg(test)]
mod tests {
    use std::collections::BTreeMap;

    use super::*;
    use serde_json::{Map, Value};

    const T: u64 = 1_700_000_000_123;

    fn namespace() -> MetricsNamespace {
        MetricsNamespace::parse("ZendeskJwt/test-stack").unwrap()
    }

    /// What an EMF line declares: for each directive, its dimension sets and metric names.
    #[derive(Debug, PartialEq)]
    struct Declared {
        directives: Vec<(Vec<Vec<String>>, Vec<String>)>,
        /// Every top-level member except `_aws`.
        members: BTreeMap<String, Value>,
    }

    /// Parse `line` and check it against the EMF specification: `_aws` with a millisecond
    /// `Timestamp` and `CloudWatchMetrics`; each directive with the namespace, dimension sets of
    /// 1 to 30 names and 1 to 100 metrics with a name and a unit; every dimension a top-level
    /// string member and every metric a top-level number member.
    fn parse_emf(line: &str) -> Declared {
        assert!(!line.contains('\n'), "one line: {line}");
        let root: Map<String, Value> = serde_json::from_str(line).expect("the line is JSON");
        let aws = root["_aws"].as_object().expect("_aws is an object");
        assert_eq!(
            aws.len(),
            2,
            "_aws has Timestamp and CloudWatchMetrics only"
        );
        assert_eq!(aws["Timestamp"].as_u64(), Some(T), "Timestamp in ms");
        let mut directives = Vec::new();
        for directive in aws["CloudWatchMetrics"].as_array().expect("an array") {
            let directive = directive.as_object().expect("a directive is an object");
            assert_eq!(directive.len(), 3, "Namespace, Dimensions and Metrics only");
            assert_eq!(directive["Namespace"], "ZendeskJwt/test-stack");
            let mut sets = Vec::new();
            for set in directive["Dimensions"]
                .as_array()
                .expect("an array of sets")
            {
                let set: Vec<String> = set
                    .as_array()
                    .expect("a dimension set is an array")
                    .iter()
                    .map(|d| d.as_str().expect("a dimension name").to_owned())
                    .collect();
                assert!((1..=30).contains(&set.len()));
                for dimension in &set {
                    assert!(DIMENSION_NAMES.contains(&dimension.as_str()));
                    assert!(
                        root[dimension].is_string(),
                        "dimension {dimension} is a top-level string member"
                    );
                }
                sets.push(set);
            }
            let metrics = directive["Metrics"]
                .as_array()
                .expect("an array of metrics");
            assert!((1..=100).contains(&metrics.len()));
            let mut names = Vec::new();
            for metric in metrics {
                let name = metric["Name"].as_str().expect("a metric name");
                assert!(METRIC_NAMES.contains(&name), "{name} is in METRIC_NAMES");
                assert_eq!(metric["Unit"], "Count");
                assert!(
                    root[name].is_number(),
                    "metric {name} is a top-level number member"
                );
                names.push(name.to_owned());
            }
            directives.push((sets, names));
        }
        assert!(!directives.is_empty());
        let members = root.into_iter().filter(|(k, _)| k != "_aws").collect();
        Declared {
            directives,
            members,
        }
    }

    fn strings(items: &[&str]) -> Vec<String> {
        items.iter().map(|s| (*s).to_owned()).collect()
    }

    fn members(pairs: &[(&str, Value)]) -> BTreeMap<String, Value> {
        pairs
            .iter()
            .map(|(k, v)| ((*k).to_owned(), v.clone()))
            .collect()
    }

    fn request_metrics() -> Vec<String> {
        strings(&REQUEST_METRICS)
    }

    #[test]
    fn an_accepted_request_counts_one_request_and_one_acceptance() {
        let (metrics, _) = Metrics::capture(namespace(), Function::Sidebar);
        let declared = parse_emf(&metrics.request_line(Outcome::Accepted, T));
        assert_eq!(
            declared,
            Declared {
                directives: vec![(vec![strings(&["Function"])], request_metrics())],
                members: members(&[
                    ("Function", "sidebar".into()),
                    ("Outcome", "accepted".into()),
                    ("Requests", 1.into()),
                    ("Accepted", 1.into()),
                    ("Refused", 0.into()),
                    ("ClientErrors", 0.into()),
                    ("Unavailable", 0.into()),
                ]),
            }
        );
    }

    #[test]
    fn a_refused_request_is_also_counted_by_its_reason() {
        let (metrics, _) = Metrics::capture(namespace(), Function::Todos);
        let line = metrics.request_line(Outcome::Refused(RefusalReason::UnknownKid), T);
        assert_eq!(
            parse_emf(&line),
            Declared {
                directives: vec![
                    (vec![strings(&["Function"])], request_metrics()),
                    (
                        vec![strings(&["Function", "Reason"])],
                        strings(&["Refused"])
                    ),
                ],
                members: members(&[
                    ("Function", "todos".into()),
                    ("Outcome", "refused".into()),
                    ("Reason", "unknown_kid".into()),
                    ("Requests", 1.into()),
                    ("Accepted", 0.into()),
                    ("Refused", 1.into()),
                    ("ClientErrors", 0.into()),
                    ("Unavailable", 0.into()),
                ]),
            }
        );
    }

    #[test]
    fn a_limit_refusal_is_a_client_error_and_counted_as_such() {
        let (metrics, _) = Metrics::capture(namespace(), Function::Todos);
        let declared = parse_emf(&metrics.request_line(Outcome::LimitReached, T));
        let mut names = request_metrics();
        names.push("LimitReached".into());
        assert_eq!(
            declared.directives,
            vec![(vec![strings(&["Function"])], names)]
        );
        assert_eq!(declared.members["ClientErrors"], 1);
        assert_eq!(declared.members["LimitReached"], 1);
        assert_eq!(declared.members["Accepted"], 0);
        assert_eq!(declared.members["Outcome"], "limit_reached");
    }

    #[test]
    fn every_outcome_counts_exactly_one_request_under_exactly_one_outcome() {
        let mut outcomes = vec![
            Outcome::Accepted,
            Outcome::ClientError,
            Outcome::LimitReached,
            Outcome::Unavailable,
        ];
        outcomes.extend(RefusalReason::ALL.map(Outcome::Refused));
        for function in Function::ALL {
            let (metrics, _) = Metrics::capture(namespace(), function);
            for outcome in &outcomes {
                let declared = parse_emf(&metrics.request_line(*outcome, T));
                let m = &declared.members;
                assert_eq!(m["Requests"], 1, "{outcome:?}");
                let counted: u64 = ["Accepted", "Refused", "ClientErrors", "Unavailable"]
                    .iter()
                    .map(|name| m[*name].as_u64().unwrap())
                    .sum();
                assert_eq!(counted, 1, "{outcome:?} counted once");
                assert_eq!(m["Function"], function.name());
                // Dimension values come from the fixed sets only.
                let reasons: Vec<&str> = RefusalReason::ALL.iter().map(|r| r.name()).collect();
                if let Some(reason) = m.get("Reason") {
                    assert!(reasons.contains(&reason.as_str().unwrap()));
                }
            }
        }
    }

    #[test]
    fn every_event_is_one_metric_under_the_function() {
        let expected = [
            (Event::JwksRefreshed, "JwksRefreshes"),
            (Event::JwksRefreshFailed, "JwksRefreshFailures"),
            (Event::SecretRefreshed, "SecretRefreshes"),
            (Event::SecretRefreshFailed, "SecretRefreshFailures"),
            (Event::SecretRefused, "SecretsRefused"),
            (Event::KeyCleanupFailed, "KeyCleanupFailures"),
        ];
        let (metrics, _) = Metrics::capture(namespace(), Function::SdkExchange);
        for (event, name) in expected {
            let declared = parse_emf(&metrics.event_line(event, T));
            assert_eq!(
                declared,
                Declared {
                    directives: vec![(vec![strings(&["Function"])], strings(&[name]))],
                    members: members(&[("Function", "sdk-exchange".into()), (name, 1.into())]),
                }
            );
        }
    }

    #[test]
    fn dimension_values_are_distinct_names_of_the_fixed_sets() {
        let functions: Vec<&str> = Function::ALL.iter().map(|f| f.name()).collect();
        assert_eq!(functions, ["sidebar", "todos", "sdk-exchange"]);
        let mut reasons: Vec<&str> = RefusalReason::ALL.iter().map(|r| r.name()).collect();
        assert!(
            reasons
                .iter()
                .all(|r| r.bytes().all(|b| b.is_ascii_lowercase() || b == b'_'))
        );
        reasons.sort();
        reasons.dedup();
        assert_eq!(reasons.len(), RefusalReason::ALL.len());
    }

    #[test]
    fn captured_lines_are_the_written_lines_and_disabled_metrics_write_none() {
        let (metrics, capture) = Metrics::capture(namespace(), Function::Sidebar);
        metrics.request(Outcome::Refused(RefusalReason::Expired));
        metrics.event(Event::SecretRefreshed);
        let lines = capture.take();
        assert_eq!(lines.len(), 2);
        let first: Value = serde_json::from_str(&lines[0]).unwrap();
        assert_eq!(first["Reason"], "expired");
        let now = crate::clock::Clock::system().now_millis();
        let stamp = first["_aws"]["Timestamp"].as_u64().unwrap();
        assert!(now >= stamp && now - stamp < 60_000, "stamped now");
        let second: Value = serde_json::from_str(&lines[1]).unwrap();
        assert_eq!(second["SecretRefreshes"], 1);
        assert!(capture.lines().is_empty(), "taken");

        let disabled = Metrics::disabled(Function::Sidebar);
        disabled.request(Outcome::Accepted);
        disabled.event(Event::JwksRefreshFailed);
        assert!(capture.lines().is_empty());
    }

    #[test]
    fn the_namespace_is_read_from_metrics_namespace_and_a_bad_one_stops_the_start() {
        let read = |value: &str| {
            let vars = vec![("METRICS_NAMESPACE", value.to_owned())];
            MetricsNamespace::from_env(&Reader::new(&vars))
        };
        assert_eq!(read("ZendeskJwt/prod").unwrap().as_str(), "ZendeskJwt/prod");
        assert_eq!(
            read(" ").unwrap().as_str(),
            DEFAULT_NAMESPACE,
            "blank is unset"
        );
        let error = read("AWS/Lambda").unwrap_err();
        assert_eq!(error.name, "METRICS_NAMESPACE");
        assert!(error.problem.contains("reserved"), "{error}");
    }

    #[test]
    fn a_namespace_is_checked_against_cloudwatch_rules() {
        assert_eq!(MetricsNamespace::default().as_str(), "ZendeskJwt");
        for good in ["ZendeskJwt/prod-stack", "a", "Team.Zendesk_JWT #1:eu"] {
            assert_eq!(MetricsNamespace::parse(good).unwrap().as_str(), good);
        }
        let long = "n".repeat(256);
        for bad in [
            "",
            "AWS/Lambda",
            "quote\"d",
            "back\\slash",
            "tab\t",
            "é",
            long.as_str(),
        ] {
            assert!(MetricsNamespace::parse(bad).is_err(), "{bad:?} accepted");
        }
    }
}
