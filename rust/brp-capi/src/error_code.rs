//! [`BrpError`]: the codes of BRP error responses, as the header's
//! `BRP_ERROR_*` constants.
//!
//! The table is written once, as `brp::ErrorCode` in the core crate.
//! cbindgen cannot read that enum (a `macro_rules!` declares it), so this
//! enum repeats it for the header, and the tests below check it against
//! `brp::ErrorCode::ALL`: the same codes, names, meanings and count.

/// The code of a BRP error response, `{"error": {"code": ...}}`, one
/// `BRP_ERROR_*` constant per code of the table in docs/protocol.md.
///
/// A request the protocol rejects is not a failed call: the call returns
/// `BRP_STATUS_OK` and the response JSON carries the code. Compare the
/// parsed number with these constants. Later versions may add codes.
#[repr(C)]
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum BrpError {
    /// The request text is not valid JSON.
    ParseError = -32700,
    /// The JSON is not a request object (`id`, `request`, `params`).
    InvalidRequest = -32600,
    /// The `request` names no known request.
    UnknownRequest = -32601,
    /// `params` are missing, mistyped or malformed (entity ids too).
    InvalidParams = -32602,
    /// The server failed; the world is unchanged.
    InternalError = -32603,
    /// The entity does not exist (stale or never spawned).
    EntityNotFound = -23401,
    /// A component name is unknown or ambiguous, or a value does not fit it.
    ComponentError = -23402,
    /// The entity does not have a requested component.
    ComponentNotPresent = -23403,
    /// REPARENT would make an entity its own ancestor.
    SelfReparent = -23404,
    /// The request was cancelled, or its session closed before it answered.
    Cancelled = -23405,
    /// The request id is already in flight in this session.
    DuplicateId = -23406,
    /// A POLL's `timeout_ms` passed before its answer changed.
    Timeout = -23407,
    /// JSON-RPC dialect: a resource name is unknown, or a value does not fit it.
    ResourceError = -23501,
    /// JSON-RPC dialect: the world does not hold the resource.
    ResourceNotPresent = -23502,
}

#[cfg(test)]
mod tests {
    use super::BrpError;
    use brp::ErrorCode;

    /// The header's constant for `code`. Exhaustive: a code added to the
    /// core table does not compile until it is added here and above.
    fn from_core(code: ErrorCode) -> BrpError {
        match code {
            ErrorCode::ParseError => BrpError::ParseError,
            ErrorCode::InvalidRequest => BrpError::InvalidRequest,
            ErrorCode::UnknownRequest => BrpError::UnknownRequest,
            ErrorCode::InvalidParams => BrpError::InvalidParams,
            ErrorCode::InternalError => BrpError::InternalError,
            ErrorCode::EntityNotFound => BrpError::EntityNotFound,
            ErrorCode::ComponentError => BrpError::ComponentError,
            ErrorCode::ComponentNotPresent => BrpError::ComponentNotPresent,
            ErrorCode::SelfReparent => BrpError::SelfReparent,
            ErrorCode::Cancelled => BrpError::Cancelled,
            ErrorCode::DuplicateId => BrpError::DuplicateId,
            ErrorCode::Timeout => BrpError::Timeout,
            ErrorCode::ResourceError => BrpError::ResourceError,
            ErrorCode::ResourceNotPresent => BrpError::ResourceNotPresent,
        }
    }

    /// The reverse: a constant with no core code does not compile.
    fn to_core(code: BrpError) -> ErrorCode {
        match code {
            BrpError::ParseError => ErrorCode::ParseError,
            BrpError::InvalidRequest => ErrorCode::InvalidRequest,
            BrpError::UnknownRequest => ErrorCode::UnknownRequest,
            BrpError::InvalidParams => ErrorCode::InvalidParams,
            BrpError::InternalError => ErrorCode::InternalError,
            BrpError::EntityNotFound => ErrorCode::EntityNotFound,
            BrpError::ComponentError => ErrorCode::ComponentError,
            BrpError::ComponentNotPresent => ErrorCode::ComponentNotPresent,
            BrpError::SelfReparent => ErrorCode::SelfReparent,
            BrpError::Cancelled => ErrorCode::Cancelled,
            BrpError::DuplicateId => ErrorCode::DuplicateId,
            BrpError::Timeout => ErrorCode::Timeout,
            BrpError::ResourceError => ErrorCode::ResourceError,
            BrpError::ResourceNotPresent => ErrorCode::ResourceNotPresent,
        }
    }

    /// cbindgen's ScreamingSnakeCase of a variant name: `EntityNotFound`
    /// becomes `ENTITY_NOT_FOUND`.
    fn screaming_snake(name: &str) -> String {
        let mut out = String::new();
        for (i, c) in name.chars().enumerate() {
            if c.is_uppercase() && i > 0 {
                out.push('_');
            }
            out.extend(c.to_uppercase());
        }
        out
    }

    #[test]
    fn codes_and_names_match_the_core_table() {
        for &code in ErrorCode::ALL {
            let constant = from_core(code);
            assert_eq!(constant as i32, code.code(), "{code:?}");
            assert_eq!(screaming_snake(&format!("{constant:?}")), code.name());
            assert_eq!(to_core(constant), code);
        }
    }

    /// The header's `brp_error` enumerators, with the doc comment above
    /// each: `(name, code, doc)` in header order.
    fn header_constants() -> Vec<(String, i32, String)> {
        let path = concat!(env!("CARGO_MANIFEST_DIR"), "/../../include/brp.h");
        let header = std::fs::read_to_string(path).expect("include/brp.h is readable");
        let body = header
            .split_once("typedef enum brp_error {")
            .and_then(|(_, rest)| rest.split_once("} brp_error;"))
            .expect("include/brp.h declares enum brp_error")
            .0;
        let mut constants = Vec::new();
        let mut doc = Vec::new();
        for line in body.lines().map(str::trim) {
            if let Some((name, code)) = line.strip_suffix(',').and_then(|l| l.split_once(" = ")) {
                let code = code.parse().expect("an integer code");
                constants.push((name.to_owned(), code, doc.join(" ")));
                doc.clear();
            } else if let Some(text) = line.strip_prefix("* ") {
                doc.push(text.to_owned());
            }
        }
        constants
    }

    #[test]
    fn the_header_has_one_constant_per_core_code() {
        let expected: Vec<(String, i32, String)> = ErrorCode::ALL
            .iter()
            .map(|code| {
                let name = format!("BRP_ERROR_{}", code.name());
                (name, code.code(), code.meaning().to_owned())
            })
            .collect();
        assert_eq!(header_constants(), expected);
    }
}
