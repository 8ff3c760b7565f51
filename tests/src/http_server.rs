//! A real HTTP/1 server on a local port, answering from a closure: what the JWKS server, the
//! DynamoDB proxy and the cold-start benchmark's Lambda Runtime API stand-in are built on.

use std::future::Future;

use bytes::Bytes;
use http_body_util::Full;
use hyper::body::Incoming;
use hyper::server::conn::http1;
use hyper_util::rt::TokioIo;
use tokio::net::TcpListener;

/// An answer of a local server.
pub type Answer = hyper::Response<Full<Bytes>>;

/// Serve `listener` in a background task until the runtime ends. Each connection that `admit`
/// lets in is served, every request on it answered by `answer`; a connection it turns away is
/// closed at once, without an answer, and so is one whose `answer` fails.
pub fn serve<A, F, Fut, E>(listener: TcpListener, admit: A, answer: F)
where
    A: Fn() -> bool + Send + 'static,
    F: Fn(hyper::Request<Incoming>) -> Fut + Clone + Send + 'static,
    Fut: Future<Output = Result<Answer, E>> + Send + 'static,
    E: Into<Box<dyn std::error::Error + Send + Sync>>,
{
    tokio::spawn(async move {
        loop {
            let Ok((stream, _)) = listener.accept().await else {
                return;
            };
            if !admit() {
                drop(stream);
                continue;
            }
            let answer = answer.clone();
            tokio::spawn(async move {
                let _ = http1::Builder::new()
                    .serve_connection(TokioIo::new(stream), hyper::service::service_fn(answer))
                    .await;
            });
        }
    });
}
