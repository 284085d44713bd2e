//! The accept loop: HTTP/1.1 connections with bounds an idle or slow
//! client cannot outlast.
//!
//! `axum::serve` sets no timer on hyper's connections, so hyper's
//! header-read timeout never runs: a client that sends half a request line
//! (or opens a keep-alive connection and says nothing more) holds a socket
//! and a task forever, and enough of them exhaust the process's file
//! descriptors without a single credential (slowloris). This loop serves
//! the same router with two bounds:
//!
//! - **`limits.header_read_timeout_ms`**: a request's head (request line
//!   and headers) must arrive whole within it, counted from when the
//!   connection starts waiting for it, which covers an idle keep-alive
//!   connection too; past it hyper closes the connection. The body and the
//!   handler are bounded by `limits.request_timeout_ms` (api/mod.rs);
//!   long-polls and event streams by `limits.max_wait_seconds`.
//! - **`limits.max_connections`**: at most this many connections are
//!   served at once; further ones wait in the kernel's backlog until one
//!   closes, so descriptors and memory stay bounded.
//!
//! Graceful shutdown is axum's: when `shutdown` completes the listener is
//! closed, every connection finishes the request it is serving and closes,
//! and the loop returns once all have.

use std::future::Future;
use std::sync::Arc;
use std::time::Duration;

use axum::Router;
use hyper_util::rt::{TokioIo, TokioTimer};
use hyper_util::service::TowerToHyperService;
use tokio::net::TcpListener;
use tokio::sync::{Semaphore, watch};

/// The bounds on connections (from `[limits]`).
#[derive(Clone, Copy, Debug)]
pub struct Bounds {
    /// The most connections served at once (at least 1).
    pub max_connections: usize,
    /// The longest a request's head may take to arrive.
    pub header_read_timeout: Duration,
}

/// Serves `app` on `listener` until `shutdown` completes and every
/// connection has finished.
pub async fn serve(
    listener: TcpListener,
    app: Router,
    bounds: Bounds,
    shutdown: impl Future<Output = ()>,
) {
    let permits = Arc::new(Semaphore::new(bounds.max_connections.max(1)));
    // Each connection holds a receiver: `closed()` on the sender is "every
    // connection is done", a send is "finish up".
    let (closing, close_rx) = watch::channel(false);
    let mut shutdown = std::pin::pin!(shutdown);
    loop {
        // A permit first: at the cap, connections wait in the backlog
        // rather than being accepted and held without service.
        let permit = tokio::select! {
            permit = permits.clone().acquire_owned() => match permit {
                Ok(permit) => permit,
                Err(_) => break,
            },
            () = &mut shutdown => break,
        };
        let stream = tokio::select! {
            accepted = listener.accept() => match accepted {
                Ok((stream, _)) => stream,
                Err(e) => {
                    // Out of descriptors or a connection reset before it was
                    // taken: wait a little instead of spinning (as axum does).
                    tracing::debug!(error = %e, "accept failed");
                    tokio::time::sleep(Duration::from_millis(50)).await;
                    continue;
                }
            },
            () = &mut shutdown => break,
        };
        let _ = stream.set_nodelay(true);
        let service = TowerToHyperService::new(app.clone());
        let mut close_rx = close_rx.clone();
        let header_read_timeout = bounds.header_read_timeout;
        tokio::spawn(async move {
            let _permit = permit;
            let mut builder = hyper::server::conn::http1::Builder::new();
            builder
                .timer(TokioTimer::new())
                .header_read_timeout(header_read_timeout);
            let conn = builder.serve_connection(TokioIo::new(stream), service);
            let mut conn = std::pin::pin!(conn);
            tokio::select! {
                result = conn.as_mut() => log_end(result),
                _ = async { close_rx.wait_for(|closing| *closing).await.is_ok() } => {
                    conn.as_mut().graceful_shutdown();
                    log_end(conn.await);
                }
            }
            drop(close_rx);
        });
    }
    drop(listener);
    let _ = closing.send(true);
    drop(close_rx);
    closing.closed().await;
}

fn log_end(result: Result<(), hyper::Error>) {
    if let Err(e) = result {
        tracing::debug!(error = %e, "connection ended");
    }
}
