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

mod accept;
mod budget;
mod config;
mod http;
mod io;
mod link;
mod policy;
mod ws;

pub use config::ServerConfig;

use crate::error::{BrpError, BrpResult};
use crate::host::Host;
use link::Counters;
use serde::Serialize;
use std::net::SocketAddr;
use std::sync::{Arc, Mutex, PoisonError};
use std::thread::JoinHandle;
use tokio::sync::watch;

/// What a [`Server`] has done so far.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize)]
pub struct ServerStats {
    /// Connections accepted.
    pub connections: u64,
    /// Connections open now.
    pub open_connections: u64,
    /// Connections closed at once because `max_connections` were open, or
    /// because the process ran out of file descriptors.
    pub refused_connections: u64,
    /// Requests carried out (both transports, both dialects).
    pub requests: u64,
    /// Requests refused for a missing or wrong token.
    pub unauthorized: u64,
    /// Requests refused for their `Origin` or `Host` (HTTP 403).
    pub forbidden: u64,
    /// Requests or messages refused for their size, and connections closed
    /// for what they pipelined behind a waiting request.
    pub oversized: u64,
    /// Requests refused because `max_request_bytes_total` was held.
    pub busy: u64,
    /// Connections closed for `idle_timeout_ms`, `header_timeout_ms` or
    /// `body_timeout_ms`, or while idle to make room at `max_connections`.
    pub timeouts: u64,
    /// Connections closed because their client let answers pile up or did
    /// not read them.
    pub slow_disconnects: u64,
    /// Times accepting failed for want of file descriptors (the server then
    /// backs off).
    pub accept_errors: u64,
}

/// A running server. Dropping it stops it.
pub struct Server {
    address: SocketAddr,
    counters: Arc<Counters>,
    stop: watch::Sender<bool>,
    /// The server's thread until a stop joins it.
    thread: Mutex<Option<JoinHandle<()>>>,
}

impl Server {
    /// Starts serving `host` as `config` says, on a thread of its own;
    /// fails if the config is invalid or the address cannot be bound.
    pub fn start(host: &Host, config: ServerConfig) -> BrpResult<Self> {
        let address = config.validate()?;
        accept::reserve_descriptors(config.max_connections)?;
        let listener = std::net::TcpListener::bind(address)
            .map_err(|e| BrpError::invalid_params(format!("cannot listen on {address}: {e}")))?;
        let address = listener
            .local_addr()
            .map_err(|e| BrpError::internal(e.to_string()))?;
        listener
            .set_nonblocking(true)
            .map_err(|e| BrpError::internal(e.to_string()))?;
        let settings = config.settings(address)?;
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
            budget: budget::Budget::new(settings.config.max_request_bytes_total),
            settings,
            counters: Arc::clone(&counters),
            stopped,
            meters: Mutex::default(),
        });
        let thread = std::thread::Builder::new()
            .name("brp-server".into())
            .spawn(move || runtime.block_on(accept::serve(listener, shared)))
            .map_err(|e| BrpError::internal(format!("cannot start the server: {e}")))?;
        Ok(Self {
            address,
            counters,
            stop,
            thread: Mutex::new(Some(thread)),
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
    /// and returns once every connection is closed or `stop_timeout_ms`
    /// has passed. Idempotent, and callable from any thread: a stop under
    /// way makes another wait for it; [`stats`](Self::stats) never waits.
    pub fn stop(&self) {
        let _ = self.stop.send(true);
        let mut thread = self.thread.lock().unwrap_or_else(PoisonError::into_inner);
        if let Some(thread) = thread.take() {
            let _ = thread.join();
        }
    }
}

impl Drop for Server {
    fn drop(&mut self) {
        self.stop();
    }
}
