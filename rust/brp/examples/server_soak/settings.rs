//! The server's settings in the soak: limits small enough that every one is
//! hit many times a minute (docs/soak.md, docs/limits.md "Server").

use brp::server::{ServerConfig, ServerStats};
use serde_json::Value;
use std::time::Duration;

/// The bearer token every client sends, except the bad-token abuser.
pub(crate) const TOKEN: &str = "soak-token";

/// The origin of the browser-like well-behaved requests: in
/// `allowed_origins`.
pub(crate) const GOOD_ORIGIN: &str = "http://good.example";

/// A host name besides the loopback address: in `allowed_hosts`.
pub(crate) const GOOD_HOST: &str = "brp.soak";

/// The server's settings, as the soak runs it.
pub(crate) struct Limits {
    pub(crate) config: ServerConfig,
    pub(crate) header_timeout: Duration,
    pub(crate) body_timeout: Duration,
    pub(crate) idle_timeout: Duration,
    pub(crate) stop_timeout: Duration,
}

impl Limits {
    pub(crate) fn new() -> Self {
        let config = ServerConfig {
            address: "127.0.0.1:0".into(),
            token: Some(TOKEN.into()),
            allowed_origins: vec![GOOD_ORIGIN.into()],
            allowed_hosts: vec![GOOD_HOST.into()],
            max_request_bytes: 16 << 10,
            // Three hoarders' bodies fit, the fourth's does not.
            max_request_bytes_total: 48 << 10,
            max_connections: 64,
            max_in_flight: 16,
            max_watches: 4,
            max_queued_answers: 64,
            max_queued_bytes: 64 << 10,
            header_timeout_ms: 500,
            body_timeout_ms: 1000,
            idle_timeout_ms: 1000,
            stop_timeout_ms: 1000,
        };
        Self {
            header_timeout: Duration::from_millis(config.header_timeout_ms),
            body_timeout: Duration::from_millis(config.body_timeout_ms),
            idle_timeout: Duration::from_millis(config.idle_timeout_ms),
            stop_timeout: Duration::from_millis(config.stop_timeout_ms),
            config,
        }
    }
}

/// How long the server may take to close a connection after `timeout`:
/// generous, as the soak is not a timing test (docs/soak.md).
pub(crate) fn bound(timeout: Duration) -> Duration {
    timeout * 3 + Duration::from_secs(2)
}

/// Every statistic, `name value`, in the server's order.
pub(crate) fn stats_line(stats: &ServerStats) -> String {
    let Ok(Value::Object(fields)) = serde_json::to_value(stats) else {
        return format!("{stats:?}");
    };
    let fields: Vec<String> = (fields.iter()).map(|(k, v)| format!("{k} {v}")).collect();
    fields.join(", ")
}
