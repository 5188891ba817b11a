//! A tonic [`Channel`] over the process's stdin/stdout (or any byte stream).
//!
//! BuildKit runs the frontend with the gRPC server on the other end of its stdio:
//! the frontend is the gRPC *client*, speaking cleartext HTTP/2 with prior knowledge
//! over stdin (read) and stdout (write). tonic needs a URI to build requests, but
//! nothing ever resolves it; any scheme and host will do.
//!
//! The stream exists once. tonic's channel asks its connector for a new connection
//! whenever the current one fails; handing out a second stdin/stdout pair would
//! interleave two HTTP/2 sessions on one pipe and corrupt both, so the connector
//! gives its stream out exactly once and refuses every later attempt with
//! [`StreamTaken`]. Calls after a broken connection then fail cleanly instead.
//!
//! Because stdout carries gRPC frames, **nothing else may write to stdout** while
//! the channel is alive; log to stderr (BuildKit puts it in the daemon log).

use std::sync::{Arc, Mutex};

use hyper_util::rt::TokioIo;
use tokio::io::{AsyncRead, AsyncWrite};
use tonic::transport::{Channel, Endpoint, Uri};

use crate::error::Result;

/// The placeholder URI of the gateway connection; never resolved.
pub const GATEWAY_URI: &str = "http://strata.invalid";

/// Error of a second connection attempt on a once-only stream.
#[derive(Debug, thiserror::Error)]
#[error("the gateway stream was already handed out; it cannot be reconnected")]
pub struct StreamTaken;

/// Connects a channel over stdin/stdout. Call it at most once per process: a
/// second call would share stdio with the first connection.
pub async fn connect_stdio() -> Result<Channel> {
    connect_io(tokio::io::join(tokio::io::stdin(), tokio::io::stdout())).await
}

/// Connects a channel over an arbitrary byte stream (tests use
/// `tokio::io::duplex`). The stream is used for exactly one HTTP/2 connection.
pub async fn connect_io<IO>(io: IO) -> Result<Channel>
where
    IO: AsyncRead + AsyncWrite + Send + Unpin + 'static,
{
    let channel = Endpoint::from_static(GATEWAY_URI)
        .connect_with_connector(once_connector(io))
        .await?;
    Ok(channel)
}

/// A `tower` connector that yields `io` on its first call and [`StreamTaken`] on
/// every later one.
pub fn once_connector<IO>(
    io: IO,
) -> impl tower::Service<
    Uri,
    Response = TokioIo<IO>,
    Error = StreamTaken,
    Future = std::future::Ready<std::result::Result<TokioIo<IO>, StreamTaken>>,
> + Clone
       + Send
       + 'static
where
    IO: AsyncRead + AsyncWrite + Send + Unpin + 'static,
{
    let slot = Arc::new(Mutex::new(Some(io)));
    tower::service_fn(move |_uri: Uri| {
        // A poisoned lock means a previous taker panicked mid-take; the stream is
        // then gone either way, so treat it as taken.
        let taken = slot.lock().ok().and_then(|mut s| s.take());
        std::future::ready(taken.map(TokioIo::new).ok_or(StreamTaken))
    })
}

#[cfg(test)]
#[allow(clippy::unwrap_used)] // Tests may panic on failure.
mod tests {
    use super::*;
    use tower::ServiceExt;

    #[tokio::test]
    async fn connector_hands_out_stream_once() {
        let (a, _b) = tokio::io::duplex(64);
        let connector = once_connector(a);
        let uri = Uri::from_static(GATEWAY_URI);
        assert!(connector.clone().oneshot(uri.clone()).await.is_ok());
        // Also through a clone: the slot is shared, not copied.
        assert!(matches!(
            connector.clone().oneshot(uri.clone()).await,
            Err(StreamTaken)
        ));
        assert!(matches!(connector.oneshot(uri).await, Err(StreamTaken)));
    }
}
