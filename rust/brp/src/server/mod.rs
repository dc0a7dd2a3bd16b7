//! The optional network servers (docs/server.md): BRP over HTTP/1.1 (one
//! JSON request per POST, `+watch` answers as server-sent events, as
//! bevy_remote streams them) and over WebSocket (one request or response
//! per text message, many in flight), on one address, for tools that
//! already speak BRP.
//!
//! A server shares its [`Host`]'s world and lock: each connection is a
//! [`Session`](crate::Session), so requests from the network interleave
//! with the host's own in the order they reach the lock. It runs on a
//! thread of its own and never blocks the world on a client: answers go
//! through bounded queues, and a client that falls behind is disconnected.

mod http;
mod link;
mod ws;

use crate::error::{BrpError, BrpResult};
use crate::host::Host;
use link::Counters;
use serde::{Deserialize, Serialize};
use std::net::SocketAddr;
use std::sync::Arc;
use std::sync::atomic::Ordering;
use std::thread::JoinHandle;
use std::time::Duration;
use tokio::net::TcpListener;
use tokio::sync::{Semaphore, watch};
use tokio::task::JoinSet;

/// Settings of a [`Server`], also accepted as JSON by `brp_server_start`
/// and `App.serve`; every limit is in docs/limits.md with its error.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct ServerConfig {
    /// Where to listen, `"<ip>:<port>"`; port 0 picks a free one (see
    /// [`Server::address`]). Loopback unless told otherwise.
    pub address: String,
    /// When set, every HTTP request and WebSocket upgrade must carry
    /// `Authorization: Bearer <token>`; others get HTTP 401.
    pub token: Option<String>,
    /// The longest request body or WebSocket message, in bytes; a longer
    /// one gets HTTP 413, or closes the WebSocket with code 1009.
    pub max_request_bytes: usize,
    /// The most connections open at once; one more is closed at once.
    pub max_connections: usize,
    /// The most requests of one WebSocket connection waiting for their
    /// answer (parked POLLs, open watches); one more is answered -32600.
    pub max_in_flight: usize,
    /// The most `+watch` streams one connection may have open; one more is
    /// answered -32600.
    pub max_watches: usize,
    /// The most answers waiting to be written to one connection; a client
    /// that lets more pile up is disconnected (counted in
    /// [`ServerStats::slow_disconnects`]).
    pub max_queued_answers: usize,
    /// How long a client may take to send a request's headers, in
    /// milliseconds, before its connection is closed.
    pub header_timeout_ms: u64,
    /// How long [`Server::stop`] waits for connections to write their last
    /// answers, in milliseconds, before it drops them.
    pub stop_timeout_ms: u64,
}

impl Default for ServerConfig {
    fn default() -> Self {
        Self {
            address: "127.0.0.1:15702".to_owned(),
            token: None,
            max_request_bytes: 8 << 20,
            max_connections: 1024,
            max_in_flight: 256,
            max_watches: 64,
            max_queued_answers: 1024,
            header_timeout_ms: 10_000,
            stop_timeout_ms: 5_000,
        }
    }
}

impl ServerConfig {
    /// Parses the JSON form; an empty string or `null` is the default.
    pub fn from_json(text: &str) -> BrpResult<Self> {
        let invalid = |e: &dyn std::fmt::Display| {
            BrpError::invalid_params(format!("invalid server config: {e}"))
        };
        match text.trim() {
            "" | "null" => Ok(Self::default()),
            text => serde_json::from_str(text).map_err(|e| invalid(&e)),
        }
    }

    fn validate(&self) -> BrpResult<SocketAddr> {
        let invalid = |what: &str| {
            BrpError::invalid_params(format!("invalid server config: {what} must be at least 1"))
        };
        for (value, name) in [
            (self.max_request_bytes, "max_request_bytes"),
            (self.max_connections, "max_connections"),
            (self.max_in_flight, "max_in_flight"),
            (self.max_queued_answers, "max_queued_answers"),
        ] {
            if value == 0 {
                return Err(invalid(name));
            }
        }
        if self.token.as_deref() == Some("") {
            return Err(BrpError::invalid_params(
                "invalid server config: token is empty; leave it out for no token",
            ));
        }
        self.address.parse().map_err(|_| {
            BrpError::invalid_params(format!(
                "invalid server config: address {:?} is not \"<ip>:<port>\"",
                crate::params::echo(&self.address)
            ))
        })
    }
}

/// What a [`Server`] has done so far.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize)]
pub struct ServerStats {
    /// Connections accepted.
    pub connections: u64,
    /// Connections open now.
    pub open_connections: u64,
    /// Connections closed at once because `max_connections` were open.
    pub refused_connections: u64,
    /// Requests carried out (both transports, both dialects).
    pub requests: u64,
    /// Requests refused for a missing or wrong token.
    pub unauthorized: u64,
    /// Requests or messages refused for their size.
    pub oversized: u64,
    /// Connections closed because their client let answers pile up.
    pub slow_disconnects: u64,
}

/// A running server. Dropping it stops it.
pub struct Server {
    address: SocketAddr,
    counters: Arc<Counters>,
    stop: watch::Sender<bool>,
    thread: Option<JoinHandle<()>>,
}

impl Server {
    /// Starts serving `host` as `config` says, on a thread of its own;
    /// fails if the config is invalid or the address cannot be bound.
    pub fn start(host: &Host, config: ServerConfig) -> BrpResult<Self> {
        let address = config.validate()?;
        let listener = std::net::TcpListener::bind(address)
            .map_err(|e| BrpError::invalid_params(format!("cannot listen on {address}: {e}")))?;
        let address = listener
            .local_addr()
            .map_err(|e| BrpError::internal(e.to_string()))?;
        listener
            .set_nonblocking(true)
            .map_err(|e| BrpError::internal(e.to_string()))?;
        let runtime = tokio::runtime::Builder::new_multi_thread()
            .worker_threads(2)
            .thread_name("brp-server")
            .enable_all()
            .build()
            .map_err(|e| BrpError::internal(format!("cannot start the server: {e}")))?;
        let counters = Arc::new(Counters::default());
        let (stop, stopped) = watch::channel(false);
        let shared = Arc::new(link::Shared {
            host: host.clone(),
            config,
            counters: Arc::clone(&counters),
            stopped,
        });
        let thread = std::thread::Builder::new()
            .name("brp-server".into())
            .spawn(move || runtime.block_on(serve(listener, shared)))
            .map_err(|e| BrpError::internal(format!("cannot start the server: {e}")))?;
        Ok(Self {
            address,
            counters,
            stop,
            thread: Some(thread),
        })
    }

    /// The address it listens on (with the port picked for port 0).
    pub fn address(&self) -> SocketAddr {
        self.address
    }

    /// What it has done so far.
    pub fn stats(&self) -> ServerStats {
        self.counters.snapshot()
    }

    /// Stops accepting, closes every connection's session (its parked
    /// POLLs and watches answer -23405), writes the answers still queued,
    /// and returns once every connection is closed or
    /// `stop_timeout_ms` has passed. Idempotent.
    pub fn stop(&mut self) {
        let _ = self.stop.send(true);
        if let Some(thread) = self.thread.take() {
            let _ = thread.join();
        }
    }
}

impl Drop for Server {
    fn drop(&mut self) {
        self.stop();
    }
}

/// The accept loop: one task per connection, until stopped; then waits
/// for the connections to close.
async fn serve(listener: std::net::TcpListener, shared: Arc<link::Shared>) {
    let Ok(listener) = TcpListener::from_std(listener) else {
        return;
    };
    let slots = Arc::new(Semaphore::new(shared.config.max_connections));
    let mut connections = JoinSet::new();
    loop {
        tokio::select! {
            _ = link::stopping(shared.stopped.clone()) => break,
            Some(_) = connections.join_next(), if !connections.is_empty() => {}
            accepted = listener.accept() => {
                let Ok((stream, _)) = accepted else { continue };
                let counters = &shared.counters;
                let Ok(slot) = Arc::clone(&slots).try_acquire_owned() else {
                    counters.refused_connections.fetch_add(1, Ordering::Relaxed);
                    drop(stream);
                    continue;
                };
                counters.connections.fetch_add(1, Ordering::Relaxed);
                let _ = stream.set_nodelay(true);
                connections.spawn(http::connection(stream, Arc::clone(&shared), slot));
            }
        }
    }
    drop(listener);
    let grace = Duration::from_millis(shared.config.stop_timeout_ms);
    let _ = tokio::time::timeout(grace, async {
        while connections.join_next().await.is_some() {}
    })
    .await;
    connections.abort_all();
}
