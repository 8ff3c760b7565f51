//! Log set-up for every function: `tracing` to stdout, JSON when Lambda's
//! `AWS_LAMBDA_LOG_FORMAT` is `JSON`, at the level of `AWS_LAMBDA_LOG_LEVEL` (or `RUST_LOG`,
//! default INFO).
//!
//! The level is capped at DEBUG: at TRACE the runtime and HTTP crates log whole requests,
//! headers and bodies included, which would put tokens and user tokens into the logs.
//!
//! Every line logged while a request is handled carries the request's ids, so one request can be
//! followed: the Lambda request id (`requestId`, from the span `lambda_runtime` opens around each
//! invocation) and API Gateway's (`apiRequestId`, from the span [`with_request_ids`] opens around
//! the handler). JSON lines are flat objects, `{"level":…,"message":…,<the event's fields>,
//! "requestId":…,"apiRequestId":…}`, as CloudWatch Logs Insights reads them best; text lines
//! name the spans before the message.

use std::fmt;
use std::task::{Context, Poll};

use lambda_http::request::RequestContext;
use lambda_http::tower::Service;
use lambda_http::{Request, RequestExt};
use tracing::field::{Field, Visit};
use tracing::instrument::{Instrument, Instrumented};
use tracing::level_filters::LevelFilter;
use tracing::span::{Attributes, Id, Record};
use tracing::{Event, Span, Subscriber};
use tracing_subscriber::field::RecordFields;
use tracing_subscriber::fmt::format::Writer;
use tracing_subscriber::fmt::{FmtContext, FormatEvent, FormatFields, MakeWriter};
use tracing_subscriber::layer::{self, Layer, SubscriberExt};
use tracing_subscriber::registry::LookupSpan;

/// The log level for `requested` (a Lambda or `RUST_LOG` level name), capped at DEBUG.
pub fn level(requested: Option<&str>) -> LevelFilter {
    let level = match requested.map(|l| l.trim().to_ascii_uppercase()).as_deref() {
        Some("TRACE") | Some("DEBUG") => LevelFilter::DEBUG,
        Some("WARN") => LevelFilter::WARN,
        Some("ERROR") | Some("FATAL") => LevelFilter::ERROR,
        Some("OFF") => LevelFilter::OFF,
        _ => LevelFilter::INFO,
    };
    level.min(LevelFilter::DEBUG)
}

/// How log lines are written.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum LogFormat {
    /// One flat JSON object per line (`AWS_LAMBDA_LOG_FORMAT=JSON`, as the template sets it).
    Json,
    /// `tracing`'s human-readable lines (the default, and for local runs).
    Text,
}

/// The subscriber [`init`] installs: lines at `level` or more severe, in `format`, to `writer`.
pub fn subscriber<W>(
    level: LevelFilter,
    format: LogFormat,
    writer: W,
) -> Box<dyn Subscriber + Send + Sync>
where
    W: for<'w> MakeWriter<'w> + Send + Sync + 'static,
{
    match format {
        LogFormat::Json => Box::new(
            tracing_subscriber::registry()
                .with(level)
                .with(RecordSpanFields)
                .with(
                    tracing_subscriber::fmt::layer()
                        .with_writer(writer)
                        .fmt_fields(SkipFields)
                        .event_format(FlatJson),
                ),
        ),
        LogFormat::Text => Box::new(
            tracing_subscriber::fmt()
                .with_max_level(level)
                .with_target(false)
                .without_time()
                .with_writer(writer)
                .finish(),
        ),
    }
}

/// Install the subscriber; call once, first thing in `main`.
pub fn init() {
    let requested = std::env::var("AWS_LAMBDA_LOG_LEVEL")
        .or_else(|_| std::env::var("RUST_LOG"))
        .ok();
    let json = std::env::var("AWS_LAMBDA_LOG_FORMAT").is_ok_and(|f| f.eq_ignore_ascii_case("json"));
    let format = if json {
        LogFormat::Json
    } else {
        LogFormat::Text
    };
    tracing::subscriber::set_global_default(subscriber(
        level(requested.as_deref()),
        format,
        std::io::stdout,
    ))
    .expect("logging::init is called once, before anything else logs");
}

/// Wrap a function's service so that everything logged while it handles a request carries API
/// Gateway's request id (`apiRequestId`) and the Lambda request id (`requestId`).
/// [`crate::lambda::runtime::run`] passes each function's service through it, once, before the runtime
/// loop starts.
pub(crate) fn with_request_ids<S>(service: S) -> RequestIds<S> {
    RequestIds { inner: service }
}

/// The service returned by [`with_request_ids`].
#[derive(Clone, Debug)]
pub(crate) struct RequestIds<S> {
    inner: S,
}

impl<S> Service<Request> for RequestIds<S>
where
    S: Service<Request>,
{
    type Response = S::Response;
    type Error = S::Error;
    type Future = Instrumented<S::Future>;

    fn poll_ready(&mut self, cx: &mut Context<'_>) -> Poll<Result<(), Self::Error>> {
        self.inner.poll_ready(cx)
    }

    fn call(&mut self, req: Request) -> Self::Future {
        let span = request_span(&req);
        // Entered while the inner service starts, too: some handlers log before their future.
        let future = span.in_scope(|| self.inner.call(req));
        future.instrument(span)
    }
}

/// The span around one request: `apiRequestId` (API Gateway's id, when the event has one) and,
/// when the runtime's own span does not carry it, `requestId` (Lambda's).
///
/// The span is at ERROR level so it exists at every log level: `lambda_runtime`'s span is at
/// INFO, and would be gone from WARN and ERROR lines otherwise.
pub fn request_span(req: &Request) -> Span {
    let api_request_id = match req.request_context_ref() {
        Some(RequestContext::ApiGatewayV2(context)) => context.request_id.as_deref(),
        _ => None,
    };
    let runtime_span_has_id = Span::current()
        .metadata()
        .is_some_and(|span| span.fields().field("requestId").is_some());
    let lambda_request_id = req
        .lambda_context_ref()
        .filter(|_| !runtime_span_has_id)
        .map(|context| context.request_id.as_str());
    tracing::error_span!(
        "request",
        requestId = lambda_request_id,
        apiRequestId = api_request_id
    )
}

/// JSON lines as flat objects: `level`, `message` and the event's fields, then the fields of the
/// spans the event is in (outermost first; a name already written is not repeated). Span fields
/// come from [`SpanFields`]; the fmt layer's own span formatting is skipped ([`SkipFields`]).
struct FlatJson;

impl<S> FormatEvent<S, SkipFields> for FlatJson
where
    S: Subscriber + for<'a> LookupSpan<'a>,
{
    fn format_event(
        &self,
        ctx: &FmtContext<'_, S, SkipFields>,
        mut writer: Writer<'_>,
        event: &Event<'_>,
    ) -> fmt::Result {
        let mut line = String::with_capacity(256);
        line.push_str(r#"{"level":""#);
        line.push_str(event.metadata().level().as_str());
        line.push('"');
        let mut names: Vec<&'static str> = Vec::with_capacity(8);
        names.push("level");
        event.record(&mut Fields(|name, value: FieldValue<'_>| {
            if !names.contains(&name) {
                names.push(name);
                push_member(&mut line, name);
                value.write_json(&mut line);
            }
        }));
        if let Some(scope) = ctx.event_scope() {
            for span in scope.from_root() {
                let extensions = span.extensions();
                let Some(fields) = extensions.get::<SpanFields>() else {
                    continue;
                };
                for (name, json) in &fields.0 {
                    if !names.contains(name) {
                        names.push(name);
                        push_member(&mut line, name);
                        line.push_str(json);
                    }
                }
            }
        }
        line.push_str("}\n");
        writer.write_str(&line)
    }
}

/// `,"name":` (names are Rust identifiers chosen in code: nothing to escape).
fn push_member(line: &mut String, name: &str) {
    line.push_str(",\"");
    line.push_str(name);
    line.push_str("\":");
}

/// The fields of a span, each as JSON text, kept in the span for the lines logged inside it.
struct SpanFields(Vec<(&'static str, String)>);

impl SpanFields {
    fn record(&mut self, name: &'static str, value: FieldValue<'_>) {
        let mut json = String::new();
        value.write_json(&mut json);
        match self.0.iter_mut().find(|(n, _)| *n == name) {
            Some(field) => field.1 = json,
            None => self.0.push((name, json)),
        }
    }
}

/// Keeps every span's fields as [`SpanFields`] (for [`FlatJson`]).
struct RecordSpanFields;

impl<S> Layer<S> for RecordSpanFields
where
    S: Subscriber + for<'a> LookupSpan<'a>,
{
    fn on_new_span(&self, attrs: &Attributes<'_>, id: &Id, ctx: layer::Context<'_, S>) {
        let mut fields = SpanFields(Vec::new());
        attrs.record(&mut Fields(|name, value: FieldValue<'_>| {
            fields.record(name, value)
        }));
        if let Some(span) = ctx.span(id) {
            span.extensions_mut().insert(fields);
        }
    }

    fn on_record(&self, id: &Id, values: &Record<'_>, ctx: layer::Context<'_, S>) {
        if let Some(span) = ctx.span(id)
            && let Some(fields) = span.extensions_mut().get_mut::<SpanFields>()
        {
            values.record(&mut Fields(|name, value: FieldValue<'_>| {
                fields.record(name, value)
            }));
        }
    }
}

/// Span fields are kept by [`RecordSpanFields`]; the fmt layer need not format them too.
struct SkipFields;

impl<'writer> FormatFields<'writer> for SkipFields {
    fn format_fields<R: RecordFields>(&self, _: Writer<'writer>, _: R) -> fmt::Result {
        Ok(())
    }
}

/// One recorded field value.
enum FieldValue<'a> {
    Debug(&'a dyn fmt::Debug),
    Str(&'a str),
    I64(i64),
    U64(u64),
    F64(f64),
    Bool(bool),
    Error(&'a (dyn std::error::Error + 'static)),
}

impl FieldValue<'_> {
    /// Append the value as JSON: text as an escaped string, numbers and booleans as themselves
    /// (a non-finite float as `null`).
    fn write_json(&self, out: &mut String) {
        use fmt::Write;
        // Writing to a String cannot fail.
        let _ = match self {
            FieldValue::Debug(value) => quoted(out, format_args!("{value:?}")),
            FieldValue::Str(value) => quoted(out, format_args!("{value}")),
            FieldValue::Error(value) => quoted(out, format_args!("{value}")),
            FieldValue::I64(value) => write!(out, "{value}"),
            FieldValue::U64(value) => write!(out, "{value}"),
            FieldValue::F64(value) if value.is_finite() => write!(out, "{value}"),
            FieldValue::F64(_) => write!(out, "null"),
            FieldValue::Bool(value) => write!(out, "{value}"),
        };
    }
}

/// `args` as a JSON string.
fn quoted(out: &mut String, args: fmt::Arguments<'_>) -> fmt::Result {
    use fmt::Write;
    out.push('"');
    JsonEscaped(out).write_fmt(args)?;
    out.push('"');
    Ok(())
}

/// Writes text into a JSON string: quotes, backslashes and control characters escaped.
struct JsonEscaped<'a>(&'a mut String);

impl fmt::Write for JsonEscaped<'_> {
    fn write_str(&mut self, text: &str) -> fmt::Result {
        for c in text.chars() {
            match c {
                '"' => self.0.push_str("\\\""),
                '\\' => self.0.push_str("\\\\"),
                '\n' => self.0.push_str("\\n"),
                '\r' => self.0.push_str("\\r"),
                '\t' => self.0.push_str("\\t"),
                c if (c as u32) < 0x20 => write!(self.0, "\\u{:04x}", c as u32)?,
                c => self.0.push(c),
            }
        }
        Ok(())
    }
}

/// A visitor handing each field's name and value to a closure.
struct Fields<F>(F);

impl<F> Visit for Fields<F>
where
    F: FnMut(&'static str, FieldValue<'_>),
{
    fn record_debug(&mut self, field: &Field, value: &dyn fmt::Debug) {
        (self.0)(field.name(), FieldValue::Debug(value));
    }

    fn record_str(&mut self, field: &Field, value: &str) {
        (self.0)(field.name(), FieldValue::Str(value));
    }

    fn record_i64(&mut self, field: &Field, value: i64) {
        (self.0)(field.name(), FieldValue::I64(value));
    }

    fn record_u64(&mut self, field: &Field, value: u64) {
        (self.0)(field.name(), FieldValue::U64(value));
    }

    fn record_f64(&mut self, field: &Field, value: f64) {
        (self.0)(field.name(), FieldValue::F64(value));
    }

    fn record_bool(&mut self, field: &Field, value: bool) {
        (self.0)(field.name(), FieldValue::Bool(value));
    }

    fn record_error(&mut self, field: &Field, value: &(dyn std::error::Error + 'static)) {
        (self.0)(field.name(), FieldValue::Error(value));
    }
}

#[cfg(test)]
mod tests {
    use std::io::Write;
    use std::sync::{Arc, Mutex};

    use lambda_http::Context as LambdaContext;
    use serde_json::Value;

    use super::*;

    #[test]
    fn trace_is_never_enabled() {
        assert_eq!(level(Some("TRACE")), LevelFilter::DEBUG);
        assert_eq!(level(Some("debug")), LevelFilter::DEBUG);
        assert_eq!(level(None), LevelFilter::INFO);
        assert_eq!(level(Some("FATAL")), LevelFilter::ERROR);
    }

    /// Log output kept in memory.
    #[derive(Clone, Default)]
    struct Captured(Arc<Mutex<Vec<u8>>>);

    impl Write for Captured {
        fn write(&mut self, buf: &[u8]) -> std::io::Result<usize> {
            self.0.lock().unwrap().extend_from_slice(buf);
            Ok(buf.len())
        }

        fn flush(&mut self) -> std::io::Result<()> {
            Ok(())
        }
    }

    impl Captured {
        fn lines(&self) -> Vec<String> {
            String::from_utf8(self.0.lock().unwrap().clone())
                .unwrap()
                .lines()
                .map(str::to_owned)
                .collect()
        }
    }

    /// A request as lambda_http hands it to the handler: an HTTP API event with API Gateway's
    /// request id, and the Lambda context.
    fn request() -> Request {
        let event = serde_json::json!({
            "version": "2.0",
            "routeKey": "POST /sidebar",
            "rawPath": "/sidebar",
            "rawQueryString": "",
            "headers": {"content-type": "application/x-www-form-urlencoded"},
            "requestContext": {
                "accountId": "123456789012",
                "apiId": "api",
                "domainName": "api.example.com",
                "domainPrefix": "api",
                "http": {"method": "POST", "path": "/sidebar", "protocol": "HTTP/1.1",
                         "sourceIp": "192.0.2.1", "userAgent": "test"},
                "requestId": "Api-Gw-Id-1=",
                "routeKey": "POST /sidebar",
                "stage": "$default",
                "time": "01/Jan/2025:00:00:00 +0000",
                "timeEpoch": 1735689600000u64
            },
            "body": "token=x",
            "isBase64Encoded": false
        });
        let mut context = LambdaContext::default();
        context.request_id = "lambda-request-1".into();
        lambda_http::request::from_str(&event.to_string())
            .unwrap()
            .with_lambda_context(context)
    }

    /// Log as the runtime and a wrapped handler do: `lambda_runtime`'s span, then ours, then
    /// the handler's lines.
    fn log_one_request(level: LevelFilter, format: LogFormat) -> Vec<String> {
        let out = Captured::default();
        let writer = out.clone();
        let subscriber = subscriber(level, format, move || writer.clone());
        tracing::subscriber::with_default(subscriber, || {
            let runtime =
                tracing::info_span!("Lambda runtime invoke", requestId = "lambda-request-1");
            runtime.in_scope(|| {
                request_span(&request()).in_scope(|| {
                    let reason = "ExpiredSignature";
                    tracing::debug!(%reason, "sidebar token refused");
                    tracing::warn!(attempt = 2_u64, ok = false, "a \"quoted\"\nmessage");
                })
            });
            tracing::warn!("outside any request");
        });
        out.lines()
    }

    fn parse(line: &str) -> serde_json::Map<String, Value> {
        serde_json::from_str(line).unwrap_or_else(|e| panic!("{e}: {line}"))
    }

    #[test]
    fn json_lines_are_flat_objects_with_both_request_ids() {
        let lines = log_one_request(LevelFilter::DEBUG, LogFormat::Json);
        assert_eq!(lines.len(), 3, "{lines:?}");
        let refused = parse(&lines[0]);
        assert_eq!(
            Value::Object(refused),
            serde_json::json!({
                "level": "DEBUG",
                "message": "sidebar token refused",
                "reason": "ExpiredSignature",
                "requestId": "lambda-request-1",
                "apiRequestId": "Api-Gw-Id-1="
            })
        );
        let warning = parse(&lines[1]);
        assert_eq!(warning["message"], "a \"quoted\"\nmessage");
        assert_eq!(warning["attempt"], 2);
        assert_eq!(warning["ok"], false);
        assert_eq!(warning["requestId"], "lambda-request-1");
        assert_eq!(warning["apiRequestId"], "Api-Gw-Id-1=");
        let outside = parse(&lines[2]);
        assert_eq!(outside.len(), 2, "no ids outside a request: {outside:?}");
        // Names appear once, and in order: level and message first.
        assert!(
            lines[0].starts_with(r#"{"level":"DEBUG","message":"#),
            "{}",
            lines[0]
        );
    }

    #[test]
    fn field_values_are_written_as_json_that_parses_back() {
        let text = "back\\slash \"quote\" tab\t bell\u{7} newline\n é";
        let cases: Vec<(FieldValue<'_>, Value)> = vec![
            (FieldValue::Str(text), Value::from(text)),
            (FieldValue::Debug(&"x"), Value::from("\"x\"")),
            (FieldValue::I64(-3), Value::from(-3)),
            (FieldValue::U64(u64::MAX), Value::from(u64::MAX)),
            (FieldValue::F64(0.5), Value::from(0.5)),
            (FieldValue::F64(f64::NAN), Value::Null),
            (FieldValue::Bool(true), Value::from(true)),
        ];
        for (value, expected) in cases {
            let mut json = String::new();
            value.write_json(&mut json);
            assert_eq!(
                serde_json::from_str::<Value>(&json).unwrap(),
                expected,
                "{json}"
            );
        }
    }

    #[test]
    fn at_warn_the_request_ids_are_still_on_every_line() {
        // The runtime's INFO span is disabled at WARN; the request span carries both ids.
        let lines = log_one_request(LevelFilter::WARN, LogFormat::Json);
        assert_eq!(lines.len(), 2, "{lines:?}");
        let warning = parse(&lines[0]);
        assert_eq!(warning["level"], "WARN");
        assert_eq!(warning["requestId"], "lambda-request-1");
        assert_eq!(warning["apiRequestId"], "Api-Gw-Id-1=");
    }

    #[test]
    fn text_lines_name_both_request_ids() {
        let lines = log_one_request(LevelFilter::DEBUG, LogFormat::Text);
        // Text keeps the newline inside the second message (JSON escapes it): four lines.
        assert_eq!(lines.len(), 4, "{lines:?}");
        for line in &lines[..2] {
            assert!(line.contains(r#"requestId="lambda-request-1""#), "{line}");
            assert!(line.contains(r#"apiRequestId="Api-Gw-Id-1=""#), "{line}");
        }
        assert!(
            lines[0].contains("sidebar token refused reason=ExpiredSignature"),
            "{}",
            lines[0]
        );
        assert!(!lines[3].contains("requestId"), "{}", lines[3]);
        // The Lambda id is not repeated by the request span when the runtime's span has it.
        assert_eq!(
            lines[0].matches("lambda-request-1").count(),
            1,
            "{}",
            lines[0]
        );
    }
}
