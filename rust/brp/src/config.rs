//! Settings a [`Host`](crate::Host) is made with.

use crate::error::{BrpError, BrpResult};
use serde::Deserialize;
use serde::de::DeserializeOwned;

/// Settings of a [`Host`](crate::Host), also accepted as JSON by the C and
/// Python constructors, e.g. `{"components": ["Position"], "auto_declare": true}`.
///
/// Every limit is described in docs/limits.md with the error it gives.
#[derive(Debug, Clone, PartialEq, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct Config {
    /// Dynamic components to declare at start.
    pub components: Vec<String>,
    /// Declare unknown component names met in SPAWN and INSERT as dynamic
    /// components instead of rejecting them. Off by default (strict).
    pub auto_declare: bool,
    /// The longest request text, in bytes, that is read; a longer one is
    /// refused with `INVALID_REQUEST` before it is parsed.
    pub max_request_bytes: usize,
    /// The most components one SPAWN, INSERT, REMOVE, GET or QUERY may name;
    /// more is `INVALID_PARAMS`.
    pub max_components_per_request: usize,
    /// The most POLLs one session may have parked at once; one more is
    /// `INVALID_REQUEST`.
    pub max_parked_polls_per_session: usize,
    /// The most answers a session's queue may hold unreceived, or a watch
    /// may hold not yet handed to a callback that is stuck, when a watch (a
    /// JSON-RPC `+watch` method) answers again; that watch then ends with
    /// `CANCELLED` instead.
    pub max_watch_backlog: usize,
    /// The most entities one QUERY or POLL answer may hold; a larger answer
    /// is `INVALID_PARAMS` (narrow the query with `filter`).
    pub max_entities_per_response: usize,
    /// The bytes of serialized values kept for answers about values that did
    /// not change since they were last written (about: text plus 64 bytes of
    /// bookkeeping each); past it the least recently answered are dropped.
    /// 0 turns the cache off.
    pub value_cache_bytes: usize,
    /// Seconds of game time each [`Host::update`](crate::Host::update)
    /// advances the clock by (`Time`, and so how often `FixedUpdate` runs);
    /// `None`, the default, follows the real clock (docs/modules.md).
    pub manual_time_step: Option<f64>,
    /// Runs systems on Bevy's task pools (threads) instead of on the thread
    /// that calls `update`, the default. Needs the crate's `multi_threaded`
    /// feature.
    pub multi_threaded: bool,
}

impl Default for Config {
    fn default() -> Self {
        Self {
            components: Vec::new(),
            auto_declare: false,
            max_request_bytes: 8 << 20,
            max_components_per_request: 256,
            max_parked_polls_per_session: 1024,
            max_watch_backlog: 1024,
            max_entities_per_response: 1_000_000,
            value_cache_bytes: 64 << 20,
            manual_time_step: None,
            multi_threaded: false,
        }
    }
}

/// The longest manual time step, in seconds: a day.
const MAX_TIME_STEP: f64 = 86_400.0;

impl Config {
    /// Fails on a setting no app can be made with.
    pub(crate) fn validate(&self) -> BrpResult<()> {
        if let Some(step) = self.manual_time_step
            && !(step > 0.0 && step <= MAX_TIME_STEP)
        {
            return Err(BrpError::invalid_params(format!(
                "invalid app config: manual_time_step must be a number of seconds \
                 in (0, {MAX_TIME_STEP}], not {step}"
            )));
        }
        if self.multi_threaded && !cfg!(feature = "multi_threaded") {
            return Err(BrpError::invalid_params(
                "invalid app config: multi_threaded needs a libbrp built with \
                 its `multi_threaded` feature",
            ));
        }
        Ok(())
    }

    /// Parses the JSON form; an empty string or `null` is the default.
    pub fn from_json(text: &str) -> BrpResult<Self> {
        read_settings(text, "app config")
    }
}

/// Reads settings `T` from their JSON form, as every config of libbrp is
/// read (the app's, a server's, a pose client's): empty text or `null` is
/// the default, an object is read with its unknown fields refused (as `T`
/// says), anything else is refused; errors are -32602 naming `what`.
pub fn read_settings<T: DeserializeOwned + Default>(text: &str, what: &str) -> BrpResult<T> {
    let invalid =
        |e: &dyn std::fmt::Display| BrpError::invalid_params(format!("invalid {what}: {e}"));
    match text.trim() {
        "" | "null" => Ok(T::default()),
        object if object.starts_with('{') => serde_json::from_str(object).map_err(|e| invalid(&e)),
        other => match serde_json::from_str::<serde::de::IgnoredAny>(other) {
            Err(e) => Err(invalid(&e)),
            Ok(_) => Err(invalid(&"expected a JSON object")),
        },
    }
}
