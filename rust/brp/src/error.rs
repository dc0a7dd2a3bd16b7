//! The error object of a BRP response and the one table of its codes.

use serde_json::{Value, json};
use std::fmt;

/// Declares [`ErrorCode`] and everything derived from it from one table.
macro_rules! error_codes {
    ($($variant:ident = $code:literal, $name:literal, $meaning:literal;)*) => {
        /// The code carried in `{"error": {"code": ...}}`.
        ///
        /// JSON-RPC 2.0's codes for protocol errors, and the codes Bevy's
        /// own `bevy_remote` uses for ECS errors (docs/protocol.md). The C
        /// header's `BRP_ERROR_*` constants and the Python exception
        /// classes are made from, or checked against, this table.
        #[repr(i32)]
        #[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
        pub enum ErrorCode {
            $(#[doc = $meaning] $variant = $code,)*
        }

        impl ErrorCode {
            /// Every code, in the order of the table.
            pub const ALL: &[ErrorCode] = &[$(ErrorCode::$variant),*];

            /// The upper-case name, e.g. `"ENTITY_NOT_FOUND"`.
            pub const fn name(self) -> &'static str {
                match self {
                    $(ErrorCode::$variant => $name,)*
                }
            }

            /// What the code means, in one line.
            pub const fn meaning(self) -> &'static str {
                match self {
                    $(ErrorCode::$variant => $meaning,)*
                }
            }
        }
    };
}

error_codes! {
    ParseError = -32700, "PARSE_ERROR", "The request text is not valid JSON.";
    InvalidRequest = -32600, "INVALID_REQUEST",
        "The JSON is not a request object (`id`, `request`, `params`).";
    UnknownRequest = -32601, "UNKNOWN_REQUEST", "The `request` names no known request.";
    InvalidParams = -32602, "INVALID_PARAMS",
        "`params` are missing, mistyped or malformed (entity ids too).";
    InternalError = -32603, "INTERNAL_ERROR", "The server failed; the world is unchanged.";
    EntityNotFound = -23401, "ENTITY_NOT_FOUND",
        "The entity does not exist (stale or never spawned).";
    ComponentError = -23402, "COMPONENT_ERROR",
        "A component name is unknown or ambiguous, or a value does not fit it.";
    ComponentNotPresent = -23403, "COMPONENT_NOT_PRESENT",
        "The entity does not have a requested component.";
    SelfReparent = -23404, "SELF_REPARENT", "REPARENT would make an entity its own ancestor.";
    Cancelled = -23405, "CANCELLED",
        "The request was cancelled, or its session closed before it answered.";
    DuplicateId = -23406, "DUPLICATE_ID", "The request id is already in flight in this session.";
    Timeout = -23407, "TIMEOUT", "A POLL's `timeout_ms` passed before its answer changed.";
    ResourceError = -23501, "RESOURCE_ERROR",
        "JSON-RPC dialect: a resource name is unknown, or a value does not fit it.";
    ResourceNotPresent = -23502, "RESOURCE_NOT_PRESENT",
        "JSON-RPC dialect: the world does not hold the resource.";
}

impl ErrorCode {
    /// The number on the wire.
    pub const fn code(self) -> i32 {
        self as i32
    }

    /// The code numbered `code`, if any.
    pub fn from_code(code: i32) -> Option<Self> {
        Self::ALL.iter().copied().find(|c| c.code() == code)
    }
}

impl From<ErrorCode> for i32 {
    fn from(code: ErrorCode) -> Self {
        code.code()
    }
}

impl From<ErrorCode> for i64 {
    fn from(code: ErrorCode) -> Self {
        code.code().into()
    }
}

impl fmt::Display for ErrorCode {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.name())
    }
}

/// A BRP error: a code, a message that names the problem, optional data.
#[derive(Debug, Clone, PartialEq)]
pub struct BrpError {
    /// What kind of error it is.
    pub code: ErrorCode,
    /// A human-readable description naming the offending input.
    pub message: String,
    /// Structured detail, e.g. the candidates of an ambiguous name.
    pub data: Option<Box<Value>>,
}

impl BrpError {
    /// An error with `code` and `message` and no data.
    pub fn new(code: ErrorCode, message: impl Into<String>) -> Self {
        Self {
            code,
            message: message.into(),
            data: None,
        }
    }

    /// Attaches structured `data`.
    #[must_use]
    pub fn with_data(mut self, data: Value) -> Self {
        self.data = Some(Box::new(data));
        self
    }

    /// [`ErrorCode::ParseError`].
    pub fn parse(message: impl Into<String>) -> Self {
        Self::new(ErrorCode::ParseError, message)
    }

    /// [`ErrorCode::InvalidRequest`].
    pub fn invalid_request(message: impl Into<String>) -> Self {
        Self::new(ErrorCode::InvalidRequest, message)
    }

    /// [`ErrorCode::InvalidParams`].
    pub fn invalid_params(message: impl Into<String>) -> Self {
        Self::new(ErrorCode::InvalidParams, message)
    }

    /// [`ErrorCode::InternalError`].
    pub fn internal(message: impl Into<String>) -> Self {
        Self::new(ErrorCode::InternalError, message)
    }

    /// [`ErrorCode::ComponentError`].
    pub fn component(message: impl Into<String>) -> Self {
        Self::new(ErrorCode::ComponentError, message)
    }

    /// The error object as it appears in a response.
    pub fn to_json(&self) -> Value {
        let mut object = json!({ "code": self.code.code(), "message": self.message });
        if let Some(data) = &self.data {
            object["data"] = Value::clone(data);
        }
        object
    }
}

impl fmt::Display for BrpError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{} (code {})", self.message, self.code.code())
    }
}

impl std::error::Error for BrpError {}

/// The result of a fallible call.
pub type BrpResult<T = Value> = Result<T, BrpError>;

#[cfg(test)]
mod tests {
    use super::*;
    use std::collections::HashSet;

    #[test]
    fn codes_and_names_are_unique_and_round_trip() {
        let codes: HashSet<i32> = ErrorCode::ALL.iter().map(|c| c.code()).collect();
        let names: HashSet<&str> = ErrorCode::ALL.iter().map(|c| c.name()).collect();
        assert_eq!(codes.len(), ErrorCode::ALL.len());
        assert_eq!(names.len(), ErrorCode::ALL.len());
        for &code in ErrorCode::ALL {
            assert_eq!(ErrorCode::from_code(code.code()), Some(code));
            assert!(!code.meaning().is_empty());
        }
        assert_eq!(ErrorCode::from_code(0), None);
        assert_eq!(ErrorCode::EntityNotFound.code(), -23401);
    }
}
