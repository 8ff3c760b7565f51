//! A real HTTP server on 127.0.0.1 serving a JWKS document, counting requests, and able to be
//! slow, failing or closing connections; and JWKS cache settings for the tests.

use std::net::SocketAddr;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use bytes::Bytes;
use http_body_util::Full;
use zendesk_jwt::JwksSettings;

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
        let admitting = server.clone();
        let answering = server.clone();
        crate::http_server::serve(
            listener,
            // In `Close` mode a connection is counted and closed before any request is read.
            move || {
                let close = matches!(admitting.state.lock().unwrap().mode, JwksMode::Close);
                if close {
                    admitting.hits.fetch_add(1, Ordering::SeqCst);
                }
                !close
            },
            move |_req| {
                let this = answering.clone();
                async move { Ok::<_, std::convert::Infallible>(this.answer().await) }
            },
        );
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

/// JWKS cache settings with this cool-down and fetch timeout, and the default size cap and
/// maximum age.
pub fn jwks_settings(cooldown: Duration, timeout: Duration) -> JwksSettings {
    JwksSettings {
        cooldown,
        timeout,
        ..JwksSettings::default()
    }
}
