//! bevy_remote's JSON-RPC 2.0 framing (docs/protocol.md, "JSON-RPC 2.0"):
//! `{"jsonrpc": "2.0", "id": <integer>, "method": "<name>", "params": ...}`
//! in, `{"jsonrpc": "2.0", "id", "result" | "error"}` out.
//!
//! A request object with a `jsonrpc` field, or a JSON array holding one (a
//! batch), is answered in this framing; anything else is left to the
//! seed's.

use super::{Dialect, Request, Response};
use crate::error::BrpError;
use crate::params;
use serde::Deserialize;
use serde_json::value::RawValue;
use std::borrow::Cow;

/// A well-formed request, read without building a JSON tree for it.
#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct Envelope<'a> {
    #[serde(borrow)]
    jsonrpc: Cow<'a, str>,
    id: u64,
    #[serde(borrow)]
    method: Cow<'a, str>,
    #[serde(borrow, default)]
    params: Option<&'a RawValue>,
}

/// The fields a request may have.
const FIELDS: [&str; 4] = ["jsonrpc", "id", "method", "params"];

/// Reads `text` as a JSON-RPC request; `None` when it is not one (not JSON,
/// or an object without `jsonrpc`), for the seed's framing to read.
pub(super) fn parse(text: &str) -> Option<Result<Request<'_>, Response>> {
    if let Ok(envelope) = serde_json::from_str::<Envelope>(text)
        && envelope.jsonrpc == "2.0"
    {
        return Some(Ok(Request {
            dialect: Dialect::JsonRpc,
            id: envelope.id,
            name: envelope.method,
            params: envelope.params,
        }));
    }
    if let Ok(batch) = serde_json::from_str::<Vec<&RawValue>>(text)
        && batch
            .iter()
            .any(|&element| jsonrpc_field(element).is_some())
    {
        return Some(Err(refuse(
            None,
            "a batch (a JSON array of requests) is not supported; send each request on its own",
        )));
    }
    let raw: &RawValue = serde_json::from_str(text).ok()?;
    let fields = params::raw_fields(raw).ok()?;
    let field = |key: &str| fields.iter().find(|(k, _)| k == key).map(|(_, v)| *v);
    let jsonrpc = field("jsonrpc")?;
    if let Some((id, message)) = super::given_twice(&fields) {
        return Some(Err(refuse(id, message)));
    }
    Some(read(
        jsonrpc,
        &fields,
        field("id"),
        field("method"),
        field("params"),
    ))
}

/// The `jsonrpc` field of `raw`, if it is an object that has one.
fn jsonrpc_field(raw: &RawValue) -> Option<&RawValue> {
    let fields = params::raw_fields(raw).ok()?;
    fields
        .into_iter()
        .find(|(key, _)| key == "jsonrpc")
        .map(|(_, value)| value)
}

/// Reads a request that has a `jsonrpc` field but is not well formed, to
/// say what is wrong with it.
fn read<'a>(
    jsonrpc: &RawValue,
    fields: &[(Cow<'a, str>, &'a RawValue)],
    id: Option<&RawValue>,
    method: Option<&'a RawValue>,
    params: Option<&'a RawValue>,
) -> Result<Request<'a>, Response> {
    let Some(id) = id else {
        return Err(refuse(
            None,
            "a request without an id is a notification, which is not supported: \
             give every request an integer id",
        ));
    };
    let Ok(id) = serde_json::from_str::<u64>(id.get()) else {
        return Err(refuse(
            None,
            format!(
                "id must be a non-negative integer, got {}",
                params::echo(id.get())
            ),
        ));
    };
    let fail = |message: String| Err(refuse(Some(id), message));
    if fields.iter().any(|(key, _)| key == "request") {
        return fail(
            "a request has either \"jsonrpc\" and \"method\" (JSON-RPC 2.0) or \"request\" \
             (docs/protocol.md), not both"
                .to_owned(),
        );
    }
    if let Some((key, _)) = fields.iter().find(|(key, _)| !FIELDS.contains(&&**key)) {
        return fail(format!(
            "unknown field request.{}; expected one of: {}",
            params::echo(key),
            FIELDS.join(", ")
        ));
    }
    if jsonrpc.get() != r#""2.0""# {
        return fail(format!(
            "jsonrpc must be \"2.0\", got {}",
            params::echo(jsonrpc.get())
        ));
    }
    let name = match method {
        Some(raw) => serde_json::from_str::<Cow<'_, str>>(raw.get()).map_err(|_| {
            refuse(
                Some(id),
                format!(
                    "method must be a string naming the method, got {}",
                    params::raw_kind(raw.get())
                ),
            )
        })?,
        None => return fail("missing method".to_owned()),
    };
    Ok(Request {
        dialect: Dialect::JsonRpc,
        id,
        name,
        params,
    })
}

/// The JSON-RPC answer to a request that cannot be carried out as sent.
fn refuse(id: Option<u64>, message: impl Into<String>) -> Response {
    Response {
        id,
        result: Err(BrpError::invalid_request(message)),
        dialect: Dialect::JsonRpc,
    }
}
