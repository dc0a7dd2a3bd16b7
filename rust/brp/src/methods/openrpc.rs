//! The JSON Schemas that describe each request's params and result in the
//! table of [`METHODS`], and the OpenRPC document DISCOVER answers with.

use super::{METHODS, Method};
use serde_json::{Value, json};

/// The OpenRPC version of the document.
const OPENRPC: &str = "1.3.2";

/// The OpenRPC document of every request of [`METHODS`], in table order.
pub(crate) fn document() -> Value {
    document_of(METHODS)
}

/// The OpenRPC document of the rows of `table`, in table order.
pub(crate) fn document_of(table: &[Method]) -> Value {
    let methods: Vec<Value> = table
        .iter()
        .map(|method| {
            let params: Vec<Value> = (method.doc.params.iter())
                .map(|(name, required, schema)| {
                    json!({"name": name, "required": required, "schema": schema()})
                })
                .collect();
            let (result, schema) = method.doc.result;
            json!({
                "name": method.name,
                "params": params,
                "result": {"name": result, "schema": schema()},
            })
        })
        .collect();
    json!({
        "openrpc": OPENRPC,
        "info": {"title": "libbrp", "version": env!("CARGO_PKG_VERSION")},
        "methods": methods,
    })
}

/// An object with exactly `properties`, all required.
fn answer(properties: Value) -> Value {
    let required: Vec<String> = properties
        .as_object()
        .map(|p| p.keys().cloned().collect())
        .unwrap_or_default();
    json!({
        "type": "object",
        "properties": properties,
        "required": required,
        "additionalProperties": false,
    })
}

/// A wire entity id, `"3v0"`.
pub(super) fn entity() -> Value {
    json!({"type": "string", "pattern": "^(0|[1-9][0-9]*)v(0|[1-9][0-9]*)$"})
}

/// A component or resource name.
pub(super) fn name() -> Value {
    json!({"type": "string"})
}

/// A list of component names.
pub(super) fn names() -> Value {
    json!({"type": "array", "items": name()})
}

/// A list of names, or `{"components": [name]}`.
fn selection() -> Value {
    json!({"oneOf": [names(), answer(json!({"components": names()}))]})
}

/// A value on the wire: `{"JSON": text}`.
pub(super) fn wrapped() -> Value {
    answer(json!({"JSON": {"type": "string", "contentMediaType": "application/json"}}))
}

/// Component values by name.
pub(super) fn values() -> Value {
    json!({"type": "object", "additionalProperties": wrapped()})
}

/// A REPARENT's new parent, or `null` for a root.
pub(super) fn parent() -> Value {
    json!({"oneOf": [entity(), {"type": "null"}]})
}

/// A MUTATE path.
pub(super) fn path() -> Value {
    json!({"type": "string"})
}

/// QUERY's and POLL's `data`.
pub(super) fn data() -> Value {
    json!({
        "type": "object",
        "properties": {
            "components": selection(),
            "optional": selection(),
            "option": selection(),
            "has": selection(),
        },
        "additionalProperties": false,
    })
}

/// QUERY's `filter`.
pub(super) fn filter() -> Value {
    json!({
        "type": "object",
        "properties": {"with": selection(), "without": selection()},
        "additionalProperties": false,
    })
}

/// POLL's `filter`, which also takes `changed`.
pub(super) fn poll_filter() -> Value {
    json!({
        "type": "object",
        "properties": {"with": selection(), "without": selection(), "changed": selection()},
        "additionalProperties": false,
    })
}

/// A POLL watermark, opaque, or `null` to answer at once.
pub(super) fn watermark() -> Value {
    json!({"oneOf": [{"type": "string"}, {"type": "null"}]})
}

/// A POLL's `timeout_ms`.
pub(super) fn timeout() -> Value {
    json!({"type": "integer", "minimum": 0})
}

/// The id of a parked POLL.
pub(super) fn request_id() -> Value {
    json!({"type": "integer", "minimum": 0})
}

/// `{"status": "OK"}`.
pub(super) fn status() -> Value {
    answer(json!({"status": {"const": "OK"}}))
}

/// GET's answer.
pub(super) fn components_answer() -> Value {
    answer(json!({"components": values()}))
}

/// A QUERY or POLL row: `id` and each selected name's value or `has` flag.
fn rows() -> Value {
    json!({
        "type": "array",
        "items": {
            "type": "object",
            "properties": {"id": entity()},
            "required": ["id"],
            "additionalProperties": {"oneOf": [wrapped(), {"type": "boolean"}]},
        },
    })
}

/// QUERY's answer.
pub(super) fn entities() -> Value {
    answer(json!({"entities": rows()}))
}

/// POLL's answer: the rows of a QUERY, or the value of a resource (`null`
/// while the world does not hold it).
pub(super) fn polled() -> Value {
    let watermark = json!({"type": "string"});
    json!({"oneOf": [
        answer(json!({"entities": rows(), "watermark": watermark})),
        answer(json!({"value": {"oneOf": [wrapped(), {"type": "null"}]}, "watermark": watermark})),
    ]})
}

/// SPAWN's answer.
pub(super) fn spawned() -> Value {
    answer(json!({"entity": entity()}))
}

/// LIST's answer: names of an entity, or entries of the world.
pub(super) fn listed() -> Value {
    let entry = answer(json!({
        "name": name(),
        "short": name(),
        "kind": {"enum": ["reflected", "dynamic"]},
    }));
    json!({"oneOf": [
        answer(json!({"components": names()})),
        answer(json!({"components": {"type": "array", "items": entry}})),
    ]})
}

/// GET_RESOURCE's answer.
pub(super) fn value_answer() -> Value {
    answer(json!({"value": wrapped()}))
}

/// LIST_RESOURCES's answer.
pub(super) fn resources() -> Value {
    answer(json!({"resources": names()}))
}

/// SCHEMA's answer: a JSON Schema with `bevy_remote`'s type fields.
pub(super) fn schema() -> Value {
    answer(json!({"schema": {"type": "object"}}))
}

/// DISCOVER's answer: an OpenRPC document.
pub(super) fn openrpc() -> Value {
    json!({
        "type": "object",
        "properties": {"openrpc": {"const": OPENRPC}, "info": {"type": "object"},
                       "methods": {"type": "array"}},
        "required": ["openrpc", "info", "methods"],
    })
}
