//! Settings an [`App`](crate::App) is made with.

use serde::Deserialize;

/// Settings of an [`App`](crate::App), also accepted as JSON by the C and
/// Python constructors, e.g. `{"components": ["Position"], "auto_declare": true}`.
///
/// Every limit is described in docs/limits.md with the error it gives.
#[derive(Debug, Clone, PartialEq, Eq, Deserialize)]
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
    /// The most entities one QUERY or POLL answer may hold; a larger answer
    /// is `INVALID_PARAMS` (narrow the query with `filter`).
    pub max_entities_per_response: usize,
}

impl Default for Config {
    fn default() -> Self {
        Self {
            components: Vec::new(),
            auto_declare: false,
            max_request_bytes: 8 << 20,
            max_components_per_request: 256,
            max_parked_polls_per_session: 1024,
            max_entities_per_response: 1_000_000,
        }
    }
}

impl Config {
    /// Parses the JSON form; an empty string or `null` is the default.
    pub fn from_json(text: &str) -> Result<Self, crate::BrpError> {
        if text.trim().is_empty() {
            return Ok(Self::default());
        }
        let invalid = |e: &dyn std::fmt::Display| {
            crate::BrpError::invalid_params(format!("invalid app config: {e}"))
        };
        match serde_json::from_str(text).map_err(|e| invalid(&e))? {
            serde_json::Value::Null => Ok(Self::default()),
            object @ serde_json::Value::Object(_) => {
                serde_json::from_value(object).map_err(|e| invalid(&e))
            }
            _ => Err(invalid(&"expected a JSON object")),
        }
    }
}
