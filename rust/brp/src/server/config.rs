//! [`ServerConfig`]: a server's settings, their defaults and their bounds
//! (docs/server.md, "Settings"; docs/limits.md, "Server").

use super::policy::{self, Policy};
use crate::error::{BrpError, BrpResult};
use serde::{Deserialize, Serialize};
use std::net::SocketAddr;
use std::time::Duration;

/// Settings of a [`Server`](super::Server), also accepted as JSON by
/// `brp_server_start` and `App.serve`; every limit is in docs/limits.md
/// with its error.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct ServerConfig {
    /// Where to listen, `"<ip>:<port>"`; port 0 picks a free one (see
    /// [`Server::address`](super::Server::address)). Loopback unless told
    /// otherwise.
    pub address: String,
    /// When set, every HTTP request and WebSocket upgrade must carry
    /// `Authorization: Bearer <token>`; others get HTTP 401.
    pub token: Option<String>,
    /// Origins besides the server's own whose pages may send requests and
    /// open WebSockets (`"https://tool.example"`, `"vscode-webview://…"`);
    /// a request with any other `Origin` gets HTTP 403. `"null"` is never
    /// allowed.
    pub allowed_origins: Vec<String>,
    /// Host names besides loopback ones (`localhost`, `127.0.0.1`, `[::1]`)
    /// and the bound address that requests may name in `Host`; any other
    /// gets HTTP 403 (DNS rebinding).
    pub allowed_hosts: Vec<String>,
    /// The longest request body or WebSocket message, in bytes; a longer
    /// one gets HTTP 413, or closes the WebSocket with code 1009.
    pub max_request_bytes: usize,
    /// The most bytes of request bodies and unfinished WebSocket messages
    /// held at once, all connections together; a request that would go
    /// beyond gets HTTP 503, a WebSocket close code 1013.
    pub max_request_bytes_total: usize,
    /// The most connections open at once; one more takes the slot of the
    /// connection idle the longest, or is closed at once if none is idle.
    pub max_connections: usize,
    /// The most requests of one WebSocket connection waiting for their
    /// answer (parked POLLs, open watches); one more is answered -32600.
    pub max_in_flight: usize,
    /// The most `+watch` streams one connection may have open; one more is
    /// answered -32600.
    pub max_watches: usize,
    /// The most answers waiting to be written to one connection; a client
    /// that lets more pile up is disconnected (counted in
    /// [`ServerStats::slow_disconnects`](super::ServerStats::slow_disconnects)).
    pub max_queued_answers: usize,
    /// The most bytes of answers waiting to be written to one connection,
    /// besides the one being written; a client that lets more pile up is
    /// disconnected, as for `max_queued_answers`.
    pub max_queued_bytes: usize,
    /// How long a client may take to send a request's headers once it has
    /// begun, in milliseconds, before its connection is closed.
    pub header_timeout_ms: u64,
    /// How long a client may take to send a request's body, or the rest of
    /// a WebSocket message it has begun, in milliseconds: HTTP 408, or a
    /// WebSocket close code 1008.
    pub body_timeout_ms: u64,
    /// How long a connection may stay idle, in milliseconds, before it is
    /// closed: a kept-alive HTTP connection between requests, a WebSocket
    /// with nothing in flight, and any connection whose client does not
    /// read what it is sent.
    pub idle_timeout_ms: u64,
    /// How long [`Server::stop`](super::Server::stop) waits for connections
    /// to write their last answers, in milliseconds, before it drops them.
    pub stop_timeout_ms: u64,
}

impl Default for ServerConfig {
    fn default() -> Self {
        Self {
            address: "127.0.0.1:15702".to_owned(),
            token: None,
            allowed_origins: Vec::new(),
            allowed_hosts: Vec::new(),
            max_request_bytes: 8 << 20,
            max_request_bytes_total: 64 << 20,
            max_connections: 1024,
            max_in_flight: 256,
            max_watches: 64,
            max_queued_answers: 1024,
            max_queued_bytes: 8 << 20,
            header_timeout_ms: 10_000,
            body_timeout_ms: 30_000,
            idle_timeout_ms: 30_000,
            stop_timeout_ms: 5_000,
        }
    }
}

/// The largest count a count setting may have.
const MAX_COUNT: usize = 1 << 20;
/// The largest byte setting: 1 TiB.
const MAX_BYTES: usize = 1 << 40;
/// The longest timeout: a day.
const MAX_MS: u64 = 86_400_000;

/// What a server runs with: the config, checked, and what it implies.
pub(super) struct Settings {
    pub(super) config: ServerConfig,
    pub(super) policy: Policy,
    pub(super) header_timeout: Duration,
    pub(super) body_timeout: Duration,
    pub(super) idle_timeout: Duration,
    pub(super) stop_timeout: Duration,
}

impl ServerConfig {
    /// Parses the JSON form; an empty string or `null` is the default.
    pub fn from_json(text: &str) -> BrpResult<Self> {
        match text.trim() {
            "" | "null" => Ok(Self::default()),
            text => serde_json::from_str(text).map_err(|e| invalid(&e)),
        }
    }

    /// The address to bind, once every setting is checked.
    pub(super) fn validate(&self) -> BrpResult<SocketAddr> {
        let counts = [
            ("max_connections", self.max_connections),
            ("max_in_flight", self.max_in_flight),
            ("max_watches", self.max_watches),
            ("max_queued_answers", self.max_queued_answers),
        ];
        for (name, value) in counts {
            within(name, value as u128, 1, MAX_COUNT as u128)?;
        }
        within(
            "max_request_bytes",
            self.max_request_bytes as u128,
            1,
            MAX_BYTES as u128,
        )?;
        within(
            "max_request_bytes_total",
            self.max_request_bytes_total as u128,
            1,
            MAX_BYTES as u128,
        )?;
        if self.max_request_bytes_total < self.max_request_bytes {
            return Err(invalid(&format_args!(
                "max_request_bytes_total ({}) must be at least max_request_bytes ({})",
                self.max_request_bytes_total, self.max_request_bytes
            )));
        }
        within(
            "max_queued_bytes",
            self.max_queued_bytes as u128,
            1,
            MAX_BYTES as u128,
        )?;
        let timeouts = [
            ("header_timeout_ms", self.header_timeout_ms),
            ("body_timeout_ms", self.body_timeout_ms),
            ("idle_timeout_ms", self.idle_timeout_ms),
            ("stop_timeout_ms", self.stop_timeout_ms),
        ];
        for (name, value) in timeouts {
            within(name, value.into(), 1, MAX_MS.into())?;
        }
        if self.token.as_deref() == Some("") {
            return Err(invalid(&"token is empty; leave it out for no token"));
        }
        self.address.parse().map_err(|_| {
            invalid(&format_args!(
                "address {:?} is not \"<ip>:<port>\"",
                crate::params::echo(&self.address)
            ))
        })
    }

    /// The settings a server bound to `bound` runs with.
    pub(super) fn settings(self, bound: SocketAddr) -> BrpResult<Settings> {
        let policy = Policy::new(bound, &self.allowed_hosts, &self.allowed_origins)
            .map_err(|e: policy::Refused| invalid(&e))?;
        let ms = Duration::from_millis;
        Ok(Settings {
            policy,
            header_timeout: ms(self.header_timeout_ms),
            body_timeout: ms(self.body_timeout_ms),
            idle_timeout: ms(self.idle_timeout_ms),
            stop_timeout: ms(self.stop_timeout_ms),
            config: self,
        })
    }
}

/// Fails unless `min <= value <= max`, naming the setting.
fn within(name: &str, value: u128, min: u128, max: u128) -> BrpResult<()> {
    if (min..=max).contains(&value) {
        return Ok(());
    }
    Err(invalid(&format_args!(
        "{name} must be between {min} and {max}, got {value}"
    )))
}

fn invalid(what: &dyn std::fmt::Display) -> BrpError {
    BrpError::invalid_params(format!("invalid server config: {what}"))
}
