//! An HTTP/2 [`Channel`] over the process's stdin/stdout (or any byte stream).
//!
//! BuildKit runs the frontend with the gRPC server on the other end of its stdio:
//! the frontend is the gRPC *client*, speaking cleartext HTTP/2 with prior knowledge
//! over stdin (read) and stdout (write). The channel is one hyper HTTP/2 client
//! connection, nothing more: no connection pool, no balancer, no reconnect (tonic's
//! `transport::Channel` brings all three, and the server side with them, for a
//! process that only ever has this one pipe).
//!
//! The stream exists once, and so does the connection: there is no reconnect, since
//! a second HTTP/2 session on the same pipe would corrupt both. Once the connection
//! breaks, every later call fails with the error.
//!
//! Because stdout carries gRPC frames, **nothing else may write to stdout** while
//! the channel is alive; log to stderr (BuildKit puts it in the daemon log).

use std::future::Future;
use std::pin::Pin;
use std::task::{Context, Poll};

use hyper::body::Incoming;
use hyper::client::conn::http2::SendRequest;
use hyper_util::rt::{TokioExecutor, TokioIo, TokioTimer};
use tokio::io::{AsyncRead, AsyncWrite};
use tonic::body::Body;

use crate::error::Result;

/// The placeholder URI of the gateway connection: requests need a scheme and an
/// authority, but nothing ever resolves it.
pub const GATEWAY_URI: &str = "http://strata.invalid";

/// One HTTP/2 client connection, as the `tower` service tonic's generic client
/// sends its requests through. Cheap to clone; clones share the connection and may
/// send concurrently (one HTTP/2 stream per call).
#[derive(Clone, Debug)]
pub struct Channel {
    send: SendRequest<Body>,
}

/// Connects a channel over stdin/stdout. Call it at most once per process: a
/// second call would share stdio with the first connection.
pub async fn connect_stdio() -> Result<Channel> {
    connect_io(tokio::io::join(tokio::io::stdin(), tokio::io::stdout())).await
}

/// Connects a channel over an arbitrary byte stream (tests use
/// `tokio::io::duplex`), for exactly one HTTP/2 connection. Needs a tokio runtime:
/// the connection is driven by a task of its own.
pub async fn connect_io<IO>(io: IO) -> Result<Channel>
where
    IO: AsyncRead + AsyncWrite + Send + Unpin + 'static,
{
    let (send, connection) = hyper::client::conn::http2::Builder::new(TokioExecutor::new())
        .timer(TokioTimer::new())
        .handshake(TokioIo::new(io))
        .await?;
    // The task ends when the peer closes the stream or the connection breaks; the
    // error then reaches every call in flight and every later one through `send`.
    tokio::spawn(async move {
        let _ = connection.await;
    });
    Ok(Channel { send })
}

/// The future of one request: hyper's is unnameable, hence boxed.
type ResponseFuture = Pin<
    Box<dyn Future<Output = std::result::Result<http::Response<Incoming>, hyper::Error>> + Send>,
>;

impl tower_service::Service<http::Request<Body>> for Channel {
    type Response = http::Response<Incoming>;
    type Error = hyper::Error;
    type Future = ResponseFuture;

    fn poll_ready(&mut self, cx: &mut Context<'_>) -> Poll<std::result::Result<(), hyper::Error>> {
        self.send.poll_ready(cx)
    }

    fn call(&mut self, request: http::Request<Body>) -> ResponseFuture {
        Box::pin(self.send.send_request(request))
    }
}

#[cfg(test)]
#[allow(clippy::unwrap_used)] // Tests may panic on failure.
mod tests {
    use super::*;
    use tower_service::Service;

    #[tokio::test]
    async fn a_closed_stream_fails_calls_instead_of_reconnecting() {
        let (a, b) = tokio::io::duplex(64);
        let mut channel = connect_io(a).await.unwrap();
        drop(b);
        let ready = std::future::poll_fn(|cx| channel.poll_ready(cx)).await;
        let failed = match ready {
            Err(_) => true,
            Ok(()) => channel
                .call(http::Request::new(Body::empty()))
                .await
                .is_err(),
        };
        assert!(failed, "a call over a closed stream must fail");
    }
}
