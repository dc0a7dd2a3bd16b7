//! [`ClientConfig`]: what a [`PoseClient`](super::PoseClient) connects to and how.

use super::smoothing::Smoothing;
use crate::entity_id;
use crate::error::{BrpError, BrpResult};
use crate::params::echo;
use bevy_ecs::entity::Entity;
use serde::{Deserialize, Deserializer};
use serde_json::{Map, Value};
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
    /// Where and how poses land (see [`Target`]).
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

/// The most people a [`Target`] may land ([`Target::max_people`]).
pub const MAX_PEOPLE: usize = 64;

/// The number of landmarks of MediaPipe Pose, which every pose must have
/// unless [`Target::landmark_count`] says otherwise.
pub const MEDIAPIPE_POSE_LANDMARKS: usize = 33;

/// Where and how poses land: which entity each person lands on, how many
/// people land, how many landmarks a pose must have and whether they are
/// smoothed. Also accepted as JSON by [`ClientConfig::target`],
/// [`push_frame`](super::push_frame) and the C and Python bindings; every
/// key is optional:
///
/// ```json
/// {"name": "Player", "max_people": 8, "landmark_count": 33,
///  "smoothing": {"min_cutoff": 1.0, "beta": 10.0, "d_cutoff": 1.0}}
/// ```
///
/// At most one of `name`, `names`, `entity` and `entities` picks the
/// [`Mapping`] (none: `{"name": "Player"}`). `max_people` (1 to
/// [`MAX_PEOPLE`]) caps the people that land, on the first that many
/// targets; its default is 8 for `name`, the length of the list for
/// `names` and `entities`, 1 for `entity`. `landmark_count` is the count
/// every pose must have (default [`MEDIAPIPE_POSE_LANDMARKS`]; `null`: any).
/// `smoothing` turns on a One Euro filter (default: off, `null`).
#[derive(Debug, Clone, PartialEq)]
pub struct Target {
    /// The entity each person lands on.
    pub mapping: Mapping,
    /// At most this many people land, in the frame's order (1 to
    /// [`MAX_PEOPLE`]); further people are ignored, and so are people
    /// beyond the mapping's targets.
    pub max_people: usize,
    /// How many landmarks every pose must have (`None`: any count); a pose
    /// with another count refuses the frame.
    pub landmark_count: Option<usize>,
    /// Smooths each person's landmarks (and world landmarks) over time
    /// before they land; `None` lands them as sent.
    pub smoothing: Option<Smoothing>,
}

/// Which entity each person of a frame lands on. People are numbered by
/// identity, not by their place in a frame (see
/// [`push_frame`](super::push_frame)).
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Mapping {
    /// The first person lands on the entity named `name`, the k-th (from 2)
    /// on the one named `"{name} {k}"` (`"Player"`, `"Player 2"`, …); each
    /// is the first entity found with that [`Name`](bevy_ecs::name::Name)
    /// and is spawned with it when there is none (JSON `{"name": "Player"}`).
    Name(String),
    /// The k-th person lands on the entity named `names[k]`, found or
    /// spawned as for [`Name`](Self::Name) (JSON `{"names": ["Left",
    /// "Right"]}`).
    Names(Vec<String>),
    /// The k-th person lands on `entities[k]`; each must exist (JSON
    /// `{"entity": "3v0"}` or `{"entities": ["3v0", "4v0"]}`).
    Entities(Vec<Entity>),
}

impl Default for Target {
    fn default() -> Self {
        Self::name("Player")
    }
}

impl Target {
    /// Everyone up to the default [`max_people`](Self::max_people) (8) on
    /// the entities named `name`, `"{name} 2"`, … (see [`Mapping::Name`]).
    pub fn name(name: impl Into<String>) -> Self {
        Self {
            mapping: Mapping::Name(name.into()),
            max_people: DEFAULT_MAX_PEOPLE,
            landmark_count: Some(MEDIAPIPE_POSE_LANDMARKS),
            smoothing: None,
        }
    }

    /// The first person on `entity`, which must exist; nobody else.
    pub fn entity(entity: Entity) -> Self {
        Self {
            mapping: Mapping::Entities(vec![entity]),
            max_people: 1,
            ..Self::default()
        }
    }

    /// Parses the JSON form (see [`Target`]), e.g. `{"name": "Player"}`;
    /// empty text or `null` is the default.
    pub fn from_json(text: &str) -> BrpResult<Self> {
        if text.trim().is_empty() {
            return Ok(Self::default());
        }
        serde_json::from_str::<Option<Self>>(text)
            .map(Option::unwrap_or_default)
            .map_err(|e| BrpError::invalid_params(format!("invalid pose target: {}", bounded(&e))))
    }

    /// How many people land at most: [`max_people`](Self::max_people), or
    /// fewer when the mapping lists fewer targets.
    pub fn people(&self) -> usize {
        match &self.mapping {
            Mapping::Name(_) => self.max_people,
            Mapping::Names(names) => names.len().min(self.max_people),
            Mapping::Entities(entities) => entities.len().min(self.max_people),
        }
    }

    /// Checks the values no type rules out (as the JSON form does).
    pub(crate) fn validate(&self) -> BrpResult<()> {
        check_target(self)
            .map_err(|e| BrpError::invalid_params(format!("invalid pose target: {e}")))
    }
}

/// The default of [`Target::max_people`] for [`Mapping::Name`].
const DEFAULT_MAX_PEOPLE: usize = 8;

/// The JSON form of a [`Target`], before its checks.
#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct TargetJson {
    name: Option<String>,
    names: Option<Vec<String>>,
    entity: Option<WireEntity>,
    entities: Option<Vec<WireEntity>>,
    max_people: Option<usize>,
    #[serde(default = "default_landmark_count")]
    landmark_count: Option<usize>,
    smoothing: Option<Smoothing>,
}

/// An entity given by its wire id, e.g. `"3v0"`.
struct WireEntity(Entity);

impl<'de> Deserialize<'de> for WireEntity {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        let text = String::deserialize(deserializer)?;
        entity_id::parse(&text)
            .map(Self)
            .map_err(|e| serde::de::Error::custom(e.message))
    }
}

impl<'de> Deserialize<'de> for Target {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        use serde::de::Error;
        // An object only (a derived struct would also take a list).
        let object = Map::<String, Value>::deserialize(deserializer)?;
        let json = TargetJson::deserialize(Value::Object(object)).map_err(D::Error::custom)?;
        Self::try_from(json).map_err(D::Error::custom)
    }
}

impl TryFrom<TargetJson> for Target {
    type Error = String;

    fn try_from(json: TargetJson) -> Result<Self, String> {
        let given: Vec<_> = [
            ("name", json.name.is_some()),
            ("names", json.names.is_some()),
            ("entity", json.entity.is_some()),
            ("entities", json.entities.is_some()),
        ]
        .into_iter()
        .filter_map(|(key, given)| given.then_some(format!("`{key}`")))
        .collect();
        if given.len() > 1 {
            return Err(format!(
                "a pose target has one of `name`, `names`, `entity` and `entities`, got {}",
                given.join(" and ")
            ));
        }
        let ids = |list: Vec<WireEntity>| list.into_iter().map(|e| e.0).collect();
        let (mapping, listed) = match (json.name, json.names, json.entity, json.entities) {
            (_, Some(names), _, _) => {
                let count = names.len();
                (Mapping::Names(names), count)
            }
            (_, _, Some(entity), _) => (Mapping::Entities(vec![entity.0]), 1),
            (_, _, _, Some(entities)) => {
                let count = entities.len();
                (Mapping::Entities(ids(entities)), count)
            }
            (name, ..) => (
                Mapping::Name(name.unwrap_or_else(|| "Player".into())),
                DEFAULT_MAX_PEOPLE,
            ),
        };
        let target = Self {
            mapping,
            max_people: json.max_people.unwrap_or(listed),
            landmark_count: json.landmark_count,
            smoothing: json.smoothing,
        };
        check_target(&target)?;
        Ok(target)
    }
}

fn default_landmark_count() -> Option<usize> {
    Some(MEDIAPIPE_POSE_LANDMARKS)
}

/// Why `target` is impossible, if it is.
fn check_target(target: &Target) -> Result<(), String> {
    match &target.mapping {
        Mapping::Name(_) => {}
        Mapping::Names(names) => {
            check_list("names", names, |name| format!("{:?}", echo(name)))?;
        }
        Mapping::Entities(entities) => {
            check_list("entities", entities, |&entity| entity_id::format(entity))?;
        }
    }
    if !(1..=MAX_PEOPLE).contains(&target.max_people) {
        return Err(format!(
            "max_people must be between 1 and {MAX_PEOPLE}, got {}",
            target.max_people
        ));
    }
    if target.landmark_count == Some(0) {
        return Err("landmark_count must be positive (or null for any count)".into());
    }
    if let Some(smoothing) = &target.smoothing {
        smoothing.validate().map_err(|e| e.message)?;
    }
    Ok(())
}

/// Fails unless `list` (the mapping's `key`) holds 1 to [`MAX_PEOPLE`]
/// items, none twice; `show` quotes an item.
fn check_list<T: PartialEq>(
    key: &str,
    list: &[T],
    show: impl Fn(&T) -> String,
) -> Result<(), String> {
    if list.is_empty() || list.len() > MAX_PEOPLE {
        return Err(format!(
            "{key} must list 1 to {MAX_PEOPLE} targets, got {}",
            list.len()
        ));
    }
    for (at, item) in list.iter().enumerate() {
        if list[..at].contains(item) {
            return Err(format!("{key}[{at}]: {} is listed twice", show(item)));
        }
    }
    Ok(())
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
    #[cfg(feature = "client")]
    pub(crate) fn validate(&self) -> BrpResult<()> {
        self.target.validate()?;
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
        assert_eq!(Target::from_json("null"), Ok(Target::default()));
        assert_eq!(Target::from_json("{}"), Ok(Target::default()));
        assert_eq!(
            Target::from_json(r#"{"name": "Hero"}"#),
            Ok(Target::name("Hero"))
        );
        let Ok(target) = Target::from_json(r#"{"entity": "3v1"}"#) else {
            panic!("parses");
        };
        let Mapping::Entities(entities) = &target.mapping else {
            panic!("an entity: {target:?}");
        };
        assert_eq!(entities.len(), 1);
        assert_eq!(entity_id::format(entities[0]), "3v1");
        assert_eq!(target, Target::entity(entities[0]));
        assert_eq!(target.people(), 1);
        assert!(Target::from_json(r#"{"entity": "3"}"#).is_err());
    }

    #[test]
    fn targets_for_several_people() {
        let parse = |text: &str| Target::from_json(text);
        let player = Target::default();
        assert_eq!((player.max_people, player.people()), (8, 8));
        assert_eq!(player.landmark_count, Some(33));
        assert_eq!(player.smoothing, None);

        let names = parse(r#"{"names": ["Left", "Right"]}"#).expect("names");
        assert_eq!(
            names.mapping,
            Mapping::Names(vec!["Left".into(), "Right".into()])
        );
        assert_eq!((names.max_people, names.people()), (2, 2));
        let capped = parse(r#"{"names": ["A", "B", "C"], "max_people": 2}"#).expect("capped");
        assert_eq!(capped.people(), 2);
        let entities = parse(r#"{"entities": ["3v0", "4v1"], "landmark_count": null}"#);
        let entities = entities.expect("entities");
        assert_eq!((entities.people(), entities.landmark_count), (2, None));
        let few = parse(r#"{"name": "P", "max_people": 3, "landmark_count": 17}"#).expect("few");
        assert_eq!((few.people(), few.landmark_count), (3, Some(17)));
        let smooth = parse(r#"{"smoothing": {"beta": 0.5}}"#).expect("smoothing");
        assert_eq!(smooth.smoothing.map(|s| s.beta), Some(0.5));
        assert_eq!(smooth.mapping, Mapping::Name("Player".into()));

        let refused = [
            (
                r#"{"name": "A", "names": ["B"]}"#,
                "one of `name`, `names`, `entity` and `entities`, got `name` and `names`",
            ),
            (
                r#"{"entity": "1v0", "entities": ["2v0"]}"#,
                "got `entity` and `entities`",
            ),
            (r#"{"names": []}"#, "names must list 1 to 64 targets, got 0"),
            (
                r#"{"names": ["A", "B", "A"]}"#,
                r#"names[2]: "A" is listed twice"#,
            ),
            (
                r#"{"entities": ["1v0", "1v0"]}"#,
                "entities[1]: 1v0 is listed twice",
            ),
            (
                r#"{"max_people": 0}"#,
                "max_people must be between 1 and 64, got 0",
            ),
            (
                r#"{"max_people": 65}"#,
                "max_people must be between 1 and 64, got 65",
            ),
            (
                r#"{"landmark_count": 0}"#,
                "landmark_count must be positive",
            ),
            (r#"{"landmark_count": -1}"#, "integer `-1`, expected usize"),
            (
                r#"{"smoothing": {"beta": -1}}"#,
                "smoothing.beta must be a finite number >= 0",
            ),
            (r#"{"smoothing": 1}"#, "expected struct Smoothing"),
            (r#"{"names": "A"}"#, "expected a sequence"),
            (r#"{"nmae": "A"}"#, "unknown field `nmae`, expected one of"),
            ("[]", "invalid type: sequence, expected a map"),
            (
                "[null, null, null, null, null, null, null]",
                "expected a map",
            ),
        ];
        for (text, message) in refused {
            let error = parse(text).expect_err(text);
            assert_eq!(error.code, crate::ErrorCode::InvalidParams, "{text}");
            assert!(
                error.message.starts_with("invalid pose target: ")
                    && error.message.contains(message),
                "{text}: {}",
                error.message
            );
        }
        let long: Vec<_> = (0..65).map(|i| format!("\"P{i}\"")).collect();
        let error = parse(&format!(r#"{{"names": [{}]}}"#, long.join(", ")));
        assert!(error.is_err_and(|e| e.message.contains("got 65")));

        // Built in Rust: the same checks before a frame lands.
        let mut config = ClientConfig::new("ws://h");
        config.target.max_people = 0;
        assert!(
            config
                .validate()
                .is_err_and(|e| e.message.contains("max_people"))
        );
        let config = ClientConfig::from_json(r#"{"url": "ws://h", "target": {"names": []}}"#);
        assert!(config.is_err_and(|e| e.message.contains("names must list")));
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
