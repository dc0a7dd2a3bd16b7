//! The server's settings in the soak: limits small enough that every one is
//! hit many times a minute (docs/soak.md), settings still being added to
//! the server behind one table, and `stats()` read back by name.

use brp::server::{Server, ServerConfig};
use serde_json::{Map, Value, json};
use std::time::Duration;

/// The bearer token every client sends, except the bad-token abuser.
pub(crate) const TOKEN: &str = "soak-token";

/// The origin of the browser-like well-behaved requests; `allowed_origins`
/// lists it.
pub(crate) const GOOD_ORIGIN: &str = "http://good.example";

/// A host name besides the loopback address that `allowed_hosts` lists.
pub(crate) const GOOD_HOST: &str = "brp.soak";

/// The settings `ServerConfig` has today (docs/server.md), as the soak
/// sets them.
fn settings() -> Value {
    json!({
        "address": "127.0.0.1:0",
        "token": TOKEN,
        "max_request_bytes": 16384,
        "max_connections": 64,
        "max_in_flight": 16,
        "max_watches": 4,
        "max_queued_answers": 64,
        "header_timeout_ms": 500,
        "stop_timeout_ms": 1000,
    })
}

/// Settings being added to the server, with the values the soak gives
/// them. Each is set, and what it does is checked, once `ServerConfig`
/// takes it; until then the soak runs without it and says so.
const COMING: [(&str, &str); 6] = [
    ("allowed_origins", r#"["http://good.example"]"#),
    ("allowed_hosts", r#"["brp.soak"]"#),
    ("idle_timeout_ms", "1000"),
    ("body_timeout_ms", "1000"),
    ("max_request_bytes_total", "49152"),
    ("max_queued_bytes", "65536"),
];

/// The server's settings, as the soak runs it.
pub(crate) struct Limits {
    /// What the server is started with.
    pub(crate) config: ServerConfig,
    /// Its JSON form, for the header line.
    pub(crate) json: Value,
    /// Settings of [`COMING`] that `ServerConfig` does not take yet.
    pub(crate) missing: Vec<&'static str>,
    pub(crate) max_request_bytes: usize,
    pub(crate) max_connections: usize,
    pub(crate) max_in_flight: usize,
    pub(crate) max_watches: usize,
    pub(crate) header_timeout: Duration,
    pub(crate) stop_timeout: Duration,
    /// `allowed_origins` is set: other origins get 403.
    pub(crate) origins: bool,
    /// `allowed_hosts` is set: other hosts get 403 or 400.
    pub(crate) hosts: bool,
    pub(crate) idle_timeout: Option<Duration>,
    pub(crate) body_timeout: Option<Duration>,
    pub(crate) max_request_bytes_total: Option<usize>,
}

impl Limits {
    /// The soak's settings, with every setting of [`COMING`] that
    /// `ServerConfig` takes.
    pub(crate) fn new() -> Result<Self, String> {
        let mut json = settings();
        let mut missing = Vec::new();
        for (key, value) in COMING {
            let value: Value = serde_json::from_str(value).map_err(|e| e.to_string())?;
            if ServerConfig::from_json(&json!({key: value}).to_string()).is_ok() {
                json[key] = value;
            } else {
                missing.push(key);
            }
        }
        let config = ServerConfig::from_json(&json.to_string()).map_err(|e| e.message)?;
        let number = |key: &str| json.get(key).and_then(Value::as_u64);
        let millis = |key: &str| number(key).map(Duration::from_millis);
        let size = |key: &str| number(key).map(|n| n as usize);
        let given = |key: &str| size(key).ok_or(format!("{key} is not set"));
        Ok(Self {
            max_request_bytes: given("max_request_bytes")?,
            max_connections: given("max_connections")?,
            max_in_flight: given("max_in_flight")?,
            max_watches: given("max_watches")?,
            header_timeout: millis("header_timeout_ms").ok_or("header_timeout_ms is not set")?,
            stop_timeout: millis("stop_timeout_ms").ok_or("stop_timeout_ms is not set")?,
            origins: json.get("allowed_origins").is_some(),
            hosts: json.get("allowed_hosts").is_some(),
            idle_timeout: millis("idle_timeout_ms"),
            body_timeout: millis("body_timeout_ms"),
            max_request_bytes_total: size("max_request_bytes_total"),
            config,
            json,
            missing,
        })
    }
}

/// How long the server may take to close a connection after `timeout`:
/// generous, as the soak is not a timing test (docs/soak.md).
pub(crate) fn bound(timeout: Duration) -> Duration {
    timeout * 3 + Duration::from_secs(2)
}

/// A snapshot of `Server::stats`, read by name, so that statistics being
/// added to the server (`forbidden`, `timeouts`, `busy`) are read once
/// they are there.
pub(crate) struct Stats(Map<String, Value>);

impl Stats {
    pub(crate) fn of(server: &Server) -> Self {
        match serde_json::to_value(server.stats()) {
            Ok(Value::Object(map)) => Self(map),
            _ => Self(Map::new()),
        }
    }

    /// The statistic `name`, if the server has it.
    pub(crate) fn get(&self, name: &str) -> Option<u64> {
        self.0.get(name).and_then(Value::as_u64)
    }

    /// Every statistic, `name value`, in the server's order.
    pub(crate) fn line(&self) -> String {
        let fields: Vec<String> = (self.0.iter()).map(|(k, v)| format!("{k} {v}")).collect();
        fields.join(", ")
    }
}
