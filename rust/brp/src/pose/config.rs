//! [`ClientConfig`]: what a [`PoseClient`](super::PoseClient) connects to and how.

use crate::entity_id;
use crate::error::{BrpError, BrpResult};
use crate::params::echo;
use bevy_ecs::entity::Entity;
use serde::{Deserialize, Deserializer};
use std::collections::BTreeMap;
use std::path::PathBuf;
use std::time::Duration;

/// Settings of a pose client, also accepted as JSON by the C and Python
/// bindings. Only `url` is required:
///
/// ```json
/// {"url": "wss://controller.local:9000",
///  "headers": {"Authorization": "Bearer s3cret"},
///  "target": {"name": "Player"},
///  "max_message_size": 65536,
///  "reconnect": true,
///  "backoff": {"initial_ms": 100, "max_ms": 5000, "jitter": 0.5},
///  "connect_timeout_ms": 5000,
///  "ping_interval_ms": 5000,
///  "idle_timeout_ms": 15000,
///  "ca_cert_path": "controller-ca.pem"}
/// ```
#[derive(Debug, Clone, PartialEq, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ClientConfig {
    /// The controller's `ws://` or `wss://` URL.
    pub url: String,
    /// Extra HTTP headers of the opening handshake, e.g. an `Authorization`.
    #[serde(default)]
    pub headers: BTreeMap<String, String>,
    /// The entity poses land on.
    #[serde(default)]
    pub target: Target,
    /// Frames larger than this many bytes are counted (`oversize_frames`)
    /// and skipped. A frame over [`OVERSIZE_FACTOR`] times as large is not
    /// even read: it ends the connection (counted the same way, and the
    /// connection is re-established), so a peer cannot make the client
    /// buffer more than that.
    #[serde(default = "default_max_message_size")]
    pub max_message_size: usize,
    /// Reconnect after a failed or lost connection (with [`Backoff`]).
    #[serde(default = "default_true")]
    pub reconnect: bool,
    /// Delays between connection attempts.
    #[serde(default)]
    pub backoff: Backoff,
    /// How long one connection attempt (TCP, TLS and handshake) may take.
    #[serde(default = "default_connect_timeout_ms")]
    pub connect_timeout_ms: u64,
    /// How often to send the controller a WebSocket ping while connected,
    /// in milliseconds, so that a live but quiet controller is heard from
    /// (its pong); 0 sends none.
    #[serde(default = "default_ping_interval_ms")]
    pub ping_interval_ms: u64,
    /// How long a connection may go without receiving anything (a frame, a
    /// pong, a ping) before the client drops it as dead and reconnects (as
    /// [`reconnect`](Self::reconnect) says), in milliseconds; 0 waits for
    /// ever. Must be longer than `ping_interval_ms` when both are set.
    #[serde(default = "default_idle_timeout_ms")]
    pub idle_timeout_ms: u64,
    /// PEM text of the certificate authorities trusted for `wss://`,
    /// instead of the public (Mozilla) roots.
    #[serde(default)]
    pub ca_cert_pem: Option<String>,
    /// A PEM file of certificate authorities trusted for `wss://`, instead
    /// of the public roots (in addition to `ca_cert_pem`).
    #[serde(default)]
    pub ca_cert_path: Option<PathBuf>,
}

/// How much larger than [`ClientConfig::max_message_size`] a frame may be
/// and still be skipped without closing the connection: a frame over
/// `max_message_size * OVERSIZE_FACTOR` bytes (1 MiB by default) ends the
/// connection before it is read.
pub const OVERSIZE_FACTOR: usize = 16;

/// Exponential backoff with jitter: the n-th consecutive failed attempt
/// waits `min(initial_ms * 2^n, max_ms)`, less a random part of up to
/// `jitter` of it. A successful connection starts over.
#[derive(Debug, Clone, PartialEq, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct Backoff {
    /// The first delay, in milliseconds.
    pub initial_ms: u64,
    /// The longest delay, in milliseconds.
    pub max_ms: u64,
    /// The fraction of each delay, in [0, 1], that is random.
    pub jitter: f64,
}

impl Default for Backoff {
    fn default() -> Self {
        Self {
            initial_ms: 100,
            max_ms: 5000,
            jitter: 0.5,
        }
    }
}

impl Backoff {
    /// The delay before attempt `failures + 1`; `random` is uniform in [0, 1).
    /// Out-of-range settings give `max_ms` rather than fail.
    pub fn delay(&self, failures: u32, random: f64) -> Duration {
        let base = self
            .initial_ms
            .saturating_mul(1u64.checked_shl(failures).unwrap_or(u64::MAX))
            .min(self.max_ms) as f64;
        let seconds = base * (1.0 - self.jitter * random) / 1000.0;
        Duration::try_from_secs_f64(seconds).unwrap_or(Duration::from_millis(self.max_ms))
    }
}

/// The entity poses land on.
#[derive(Debug, Clone, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "snake_case", deny_unknown_fields)]
pub enum Target {
    /// The entity with this `Name` (the first found if several have it),
    /// spawned with it when there is none (JSON `{"name": "Player"}`, the
    /// default).
    Name(String),
    /// This entity, which must exist (JSON `{"entity": "3v0"}`).
    Entity(#[serde(deserialize_with = "wire_entity")] Entity),
}

impl Default for Target {
    fn default() -> Self {
        Self::Name("Player".into())
    }
}

impl Target {
    /// Parses the JSON form, e.g. `{"name": "Player"}`; empty text or
    /// `null` is the default.
    pub fn from_json(text: &str) -> BrpResult<Self> {
        if text.trim().is_empty() {
            return Ok(Self::default());
        }
        serde_json::from_str::<Option<Self>>(text)
            .map(Option::unwrap_or_default)
            .map_err(|e| BrpError::invalid_params(format!("invalid pose target: {}", bounded(&e))))
    }
}

impl ClientConfig {
    /// The default settings for `url`.
    pub fn new(url: impl Into<String>) -> Self {
        Self {
            url: url.into(),
            headers: BTreeMap::new(),
            target: Target::default(),
            max_message_size: default_max_message_size(),
            reconnect: true,
            backoff: Backoff::default(),
            connect_timeout_ms: default_connect_timeout_ms(),
            ping_interval_ms: default_ping_interval_ms(),
            idle_timeout_ms: default_idle_timeout_ms(),
            ca_cert_pem: None,
            ca_cert_path: None,
        }
    }

    /// Parses the JSON form (see [`ClientConfig`]).
    pub fn from_json(text: &str) -> BrpResult<Self> {
        serde_json::from_str(text).map_err(|e| {
            BrpError::invalid_params(format!("invalid pose client config: {}", bounded(&e)))
        })
    }

    /// Checks the values no type rules out.
    pub(crate) fn validate(&self) -> BrpResult<()> {
        let invalid = |message: &str| Err(BrpError::invalid_params(message.to_owned()));
        if self.max_message_size == 0 {
            return invalid("max_message_size must be positive");
        }
        let b = &self.backoff;
        if b.initial_ms == 0 || b.max_ms < b.initial_ms {
            return invalid("backoff needs 0 < initial_ms <= max_ms");
        }
        if !(0.0..=1.0).contains(&b.jitter) {
            return invalid("backoff.jitter must be in [0, 1]");
        }
        if self.connect_timeout_ms == 0 {
            return invalid("connect_timeout_ms must be positive");
        }
        let (ping, idle) = (self.ping_interval_ms, self.idle_timeout_ms);
        if ping != 0 && idle != 0 && ping >= idle {
            return invalid(
                "ping_interval_ms must be shorter than idle_timeout_ms \
                 (or either 0, to turn it off)",
            );
        }
        Ok(())
    }
}

/// The longest message [`bounded`] returns, in characters.
const MAX_MESSAGE: usize = 300;

/// The message of `error` with each piece of input it quotes (`"..."` or
/// `` `...` ``) cut to 80 characters (see [`echo`]), and the whole cut to
/// [`MAX_MESSAGE`] characters: no input is echoed at any length.
pub(crate) fn bounded(error: &serde_json::Error) -> String {
    let text = error.to_string();
    let mut out = String::new();
    let mut rest = text.as_str();
    while let Some(start) = rest.find(['"', '`']) {
        let quote = if rest[start..].starts_with('"') {
            '"'
        } else {
            '`'
        };
        out.push_str(&rest[..=start]);
        rest = &rest[start + 1..];
        let end = closing(rest, quote);
        out.push_str(&echo(&rest[..end]));
        rest = &rest[end..];
        if let Some(after) = rest.strip_prefix(quote) {
            out.push(quote);
            rest = after;
        }
    }
    out.push_str(rest);
    match out.char_indices().nth(MAX_MESSAGE) {
        Some((end, _)) => format!("{}…", &out[..end]),
        None => out,
    }
}

/// Where the quoted text `text` (after its opening `quote`) ends: at the
/// closing quote (a `"` after a backslash does not close), or at the end.
fn closing(text: &str, quote: char) -> usize {
    let mut escaped = false;
    for (at, c) in text.char_indices() {
        match c {
            _ if escaped => escaped = false,
            '\\' if quote == '"' => escaped = true,
            _ if c == quote => return at,
            _ => {}
        }
    }
    text.len()
}

fn wire_entity<'de, D: Deserializer<'de>>(deserializer: D) -> Result<Entity, D::Error> {
    let text = String::deserialize(deserializer)?;
    entity_id::parse(&text).map_err(|e| serde::de::Error::custom(e.message))
}

fn default_max_message_size() -> usize {
    64 * 1024
}

fn default_true() -> bool {
    true
}

fn default_connect_timeout_ms() -> u64 {
    5000
}

fn default_ping_interval_ms() -> u64 {
    5000
}

fn default_idle_timeout_ms() -> u64 {
    15000
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn only_the_url_is_required() {
        let config = ClientConfig::from_json(r#"{"url": "ws://127.0.0.1:9000"}"#);
        assert_eq!(config, Ok(ClientConfig::new("ws://127.0.0.1:9000")));
        assert!(ClientConfig::from_json("{}").is_err());
        assert!(ClientConfig::from_json(r#"{"url": "ws://h", "urll": 1}"#).is_err());
    }

    #[test]
    fn targets_by_name_or_wire_id() {
        assert_eq!(Target::from_json(""), Ok(Target::default()));
        assert_eq!(
            Target::from_json(r#"{"name": "Hero"}"#),
            Ok(Target::Name("Hero".into()))
        );
        let Ok(Target::Entity(entity)) = Target::from_json(r#"{"entity": "3v1"}"#) else {
            panic!("parses");
        };
        assert_eq!(entity_id::format(entity), "3v1");
        assert!(Target::from_json(r#"{"entity": "3"}"#).is_err());
    }

    #[test]
    fn backoff_doubles_up_to_the_cap_and_jitter_shortens() {
        let b = Backoff {
            initial_ms: 100,
            max_ms: 1000,
            jitter: 0.5,
        };
        let ms = |failures, random| b.delay(failures, random).as_millis();
        assert_eq!(
            [ms(0, 0.0), ms(1, 0.0), ms(3, 0.0), ms(4, 0.0), ms(99, 0.0)],
            [100, 200, 800, 1000, 1000]
        );
        assert_eq!(ms(1, 0.5), 150);
        let wild = Backoff {
            initial_ms: 100,
            max_ms: 1000,
            jitter: f64::NAN,
        };
        assert_eq!(wild.delay(0, 0.5).as_millis(), 1000);
    }

    #[test]
    fn rejects_impossible_values() {
        let mut config = ClientConfig::new("ws://h");
        assert!(config.validate().is_ok());
        config.backoff.jitter = 2.0;
        assert!(config.validate().is_err());
    }

    #[test]
    fn config_errors_echo_no_input_at_length() {
        let long = "k".repeat(10_000);
        for text in [
            format!(r#"{{"url": "ws://h", "{long}": 1}}"#),
            format!(r#"{{"url": "ws://h", "reconnect": "{long}"}}"#),
            format!(r#"{{"url": "ws://h", "target": {{"entity": "{long}"}}}}"#),
            format!(
                r#"{{"url": "ws://h", "reconnect": "\"`{}"}}"#,
                "`x".repeat(5000)
            ),
        ] {
            let error = ClientConfig::from_json(&text).expect_err("invalid");
            let length = error.message.chars().count();
            assert!(length < 400, "{length}: {}", error.message);
            assert!(error.message.contains('…'), "{}", error.message);
        }
        let error = Target::from_json(&format!(r#"{{"name": 1, "{long}": 2}}"#));
        assert!(error.is_err_and(|e| e.message.len() < 400));
        let unknown = ClientConfig::from_json(r#"{"url": "ws://h", "urll": 1}"#);
        assert!(
            unknown.is_err_and(|e| e.message.contains("unknown field `urll`, expected one of"))
        );
    }

    #[test]
    fn pings_must_come_before_the_idle_timeout_unless_either_is_off() {
        let with = |ping_interval_ms, idle_timeout_ms| ClientConfig {
            ping_interval_ms,
            idle_timeout_ms,
            ..ClientConfig::new("ws://h")
        };
        for (ping, idle) in [(5000, 15000), (0, 100), (100, 0), (0, 0)] {
            assert!(with(ping, idle).validate().is_ok(), "{ping} {idle}");
        }
        for (ping, idle) in [(100, 100), (200, 100)] {
            assert!(with(ping, idle).validate().is_err(), "{ping} {idle}");
        }
        let config = ClientConfig::from_json(
            r#"{"url": "ws://h", "ping_interval_ms": 50, "idle_timeout_ms": 300}"#,
        );
        assert_eq!(config, Ok(with(50, 300)));
    }
}
