//! The error object of a BRP response and its codes.

use serde_json::{Value, json};
use std::fmt;

/// Error codes carried in `{"error": {"code": ...}}`.
///
/// JSON-RPC 2.0's codes for protocol errors, and the codes Bevy's own
/// `bevy_remote` uses for ECS errors.
pub mod code {
    /// The request text is not valid JSON.
    pub const PARSE_ERROR: i32 = -32700;
    /// The JSON is not a request object (`id`, `request`, `params`).
    pub const INVALID_REQUEST: i32 = -32600;
    /// The `request` names no known request.
    pub const UNKNOWN_REQUEST: i32 = -32601;
    /// `params` are missing, mistyped or malformed (including entity ids).
    pub const INVALID_PARAMS: i32 = -32602;
    /// The server failed; the world is unchanged.
    pub const INTERNAL_ERROR: i32 = -32603;
    /// The entity does not exist (stale or never spawned).
    pub const ENTITY_NOT_FOUND: i32 = -23401;
    /// A component name is unknown or ambiguous, or a value does not fit it.
    pub const COMPONENT_ERROR: i32 = -23402;
    /// The entity does not have a requested component.
    pub const COMPONENT_NOT_PRESENT: i32 = -23403;
    /// REPARENT would make an entity its own ancestor.
    pub const SELF_REPARENT: i32 = -23404;
    /// The request was cancelled, or its session closed before it answered.
    pub const CANCELLED: i32 = -23405;
    /// The request id is already in flight in this session.
    pub const DUPLICATE_ID: i32 = -23406;
    /// A POLL's `timeout_ms` passed before its answer changed.
    pub const TIMEOUT: i32 = -23407;
}

/// A BRP error: a code, a message that names the problem, optional data.
#[derive(Debug, Clone, PartialEq)]
pub struct BrpError {
    /// One of the [`code`] constants.
    pub code: i32,
    /// A human-readable description naming the offending input.
    pub message: String,
    /// Structured detail, e.g. the candidates of an ambiguous name.
    pub data: Option<Value>,
}

impl BrpError {
    /// An error with `code` and `message` and no data.
    pub fn new(code: i32, message: impl Into<String>) -> Self {
        Self {
            code,
            message: message.into(),
            data: None,
        }
    }

    /// Attaches structured `data`.
    #[must_use]
    pub fn with_data(mut self, data: Value) -> Self {
        self.data = Some(data);
        self
    }

    /// [`code::PARSE_ERROR`].
    pub fn parse(message: impl Into<String>) -> Self {
        Self::new(code::PARSE_ERROR, message)
    }

    /// [`code::INVALID_REQUEST`].
    pub fn invalid_request(message: impl Into<String>) -> Self {
        Self::new(code::INVALID_REQUEST, message)
    }

    /// [`code::INVALID_PARAMS`].
    pub fn invalid_params(message: impl Into<String>) -> Self {
        Self::new(code::INVALID_PARAMS, message)
    }

    /// [`code::INTERNAL_ERROR`].
    pub fn internal(message: impl Into<String>) -> Self {
        Self::new(code::INTERNAL_ERROR, message)
    }

    /// [`code::COMPONENT_ERROR`].
    pub fn component(message: impl Into<String>) -> Self {
        Self::new(code::COMPONENT_ERROR, message)
    }

    /// The error object as it appears in a response.
    pub fn to_json(&self) -> Value {
        let mut object = json!({ "code": self.code, "message": self.message });
        if let Some(data) = &self.data {
            object["data"] = data.clone();
        }
        object
    }
}

impl fmt::Display for BrpError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{} (code {})", self.message, self.code)
    }
}

impl std::error::Error for BrpError {}

/// The result of a handler.
pub type BrpResult<T = Value> = Result<T, BrpError>;
