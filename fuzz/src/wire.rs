//! What every response must look like, whatever the request text: checks on
//! JSON text only, with no `brp` types, so that the C ABI's replay test
//! (which cannot name the core crate) shares them with the core's.
//!
//! A request's id is read here independently of the library, with plain
//! `serde_json`: the response must carry that id, or `null` when the text
//! is not a JSON object with one non-negative integer `id` (an id given
//! twice is not readable) or
//! is over the app's `max_request_bytes`.

use serde_json::value::RawValue;
use serde_json::{Map, Value};
use std::collections::HashMap;

/// The error code of an internal error: a handler panicked (the engine
/// catches it) or an invariant broke. No input may cause one.
pub const INTERNAL_ERROR: i64 = -32603;

/// The top-level fields of a JSON object, values unparsed; `None` when the
/// text is not a JSON object. A key given twice keeps its last value.
fn fields(text: &str) -> Option<HashMap<String, &RawValue>> {
    serde_json::from_str(text).ok()
}

/// The string the raw JSON value `raw` holds, if it is a string.
fn string(raw: &RawValue) -> Option<String> {
    serde_json::from_str(raw.get()).ok()
}

/// The id a response to `text` must carry, for an app whose
/// `max_request_bytes` is `max_bytes`.
pub fn expected_id(text: &str, max_bytes: usize) -> Option<u64> {
    if text.len() > max_bytes {
        return None;
    }
    let mut ids = ids(text)?.into_iter();
    match (ids.next(), ids.next()) {
        (Some(id), None) => serde_json::from_str(id.get()).ok(),
        _ => None, // absent, or given twice: not readable
    }
}

/// The values of every top-level `id` key of a JSON object, in order (a
/// key given twice is refused, docs/protocol.md "Duplicate keys and
/// numbers"); `None` when the text is not a JSON object.
fn ids(text: &str) -> Option<Vec<&RawValue>> {
    use serde::de::{Deserializer as _, MapAccess, Visitor};
    struct Ids;
    impl<'de> Visitor<'de> for Ids {
        type Value = Vec<&'de RawValue>;
        fn expecting(&self, f: &mut std::fmt::Formatter) -> std::fmt::Result {
            f.write_str("an object")
        }
        fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> Result<Self::Value, A::Error> {
            let mut ids = Vec::new();
            while let Some(key) = map.next_key::<std::borrow::Cow<'de, str>>()? {
                let value: &RawValue = map.next_value()?;
                if key == "id" {
                    ids.push(value);
                }
            }
            Ok(ids)
        }
    }
    let mut deserializer = serde_json::Deserializer::from_str(text);
    let ids = deserializer.deserialize_map(Ids).ok()?;
    deserializer.end().ok().map(|()| ids)
}

/// Whether `text` is a JSON-RPC `+watch` request, which may answer many
/// times in a session (docs/protocol.md, "Watches").
pub fn is_watch(text: &str) -> bool {
    fields(text).is_some_and(|fields| {
        fields.contains_key("jsonrpc")
            && (fields.get("method").copied().and_then(string))
                .is_some_and(|m| m.ends_with("+watch"))
    })
}

/// Whether `text` may be a POLL that parks: a POLL with a `watermark` that
/// is not `null`. Everything else answers at once, so only these may block
/// a sessionless request; the checks send them through a session instead.
/// In doubt (a watermark of the wrong type), it says yes.
pub fn may_park(text: &str) -> bool {
    let Some(fields) = fields(text) else {
        return false;
    };
    if fields.get("request").copied().and_then(string).as_deref() != Some("POLL") {
        return false;
    }
    let Some(params) = fields.get("params").and_then(|raw| self::fields(raw.get())) else {
        return false; // absent, `null` or not an object: answers at once
    };
    params.get("watermark").is_some_and(|w| w.get() != "null")
}

/// Checks a response's text: a JSON object with exactly `id` (equal to
/// `expected`) and one of `response` (an object) or `error` (`code`, an
/// integer other than [`INTERNAL_ERROR`], `message`, a string, and an
/// optional `data`); or, in the JSON-RPC framing, `"jsonrpc": "2.0"`, `id`
/// and one of `result` (any value) or `error`. Returns the parsed object.
pub fn check_response(text: &str, expected: Option<u64>) -> Result<Map<String, Value>, String> {
    let fail = |why: &str| Err(format!("{why}: {text}"));
    let Ok(Value::Object(object)) = serde_json::from_str::<Value>(text) else {
        return fail("the response is not a JSON object");
    };
    let id = object.get("id");
    if id != Some(&expected.map_or(Value::Null, Value::from)) {
        return fail(&format!("the response's id is not {expected:?}"));
    }
    let (result, size) = match object.get("jsonrpc") {
        None => ("response", 2),
        Some(Value::String(version)) if version == "2.0" => ("result", 3),
        Some(_) => return fail("jsonrpc is not \"2.0\""),
    };
    match (object.get(result), object.get("error")) {
        (Some(Value::Object(_)), None) if object.len() == size => {}
        (Some(_), None) if object.len() == size && result == "result" => {}
        (None, Some(Value::Object(error))) if object.len() == size => {
            let code = error.get("code").and_then(Value::as_i64);
            if code.is_none() || !matches!(error.get("message"), Some(Value::String(_))) {
                return fail("the error has no integer code or string message");
            }
            if error
                .keys()
                .any(|k| !matches!(k.as_str(), "code" | "message" | "data"))
            {
                return fail("the error has an unknown field");
            }
            if code == Some(INTERNAL_ERROR) {
                return fail("an internal error");
            }
        }
        _ => return fail("the response has neither a result nor `error` alone"),
    }
    Ok(object)
}

/// The error code of a checked response, `None` for a success.
pub fn error_code(response: &Map<String, Value>) -> Option<i64> {
    response.get("error")?.get("code")?.as_i64()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ids_and_parking_are_read_as_the_protocol_says() {
        assert_eq!(expected_id(r#"{"id": 3, "request": "PING"}"#, 100), Some(3));
        assert_eq!(expected_id(r#"{"id": 3, "id": 4}"#, 100), None);
        assert_eq!(expected_id(r#"{"id": 3, "x": 1, "x": 2}"#, 100), Some(3));
        assert_eq!(expected_id(r#"{"id": -1}"#, 100), None);
        assert_eq!(expected_id(r#"{"id": 3}"#, 5), None);
        assert_eq!(expected_id("[1]", 100), None);
        assert!(may_park(
            r#"{"id": 1, "request": "POLL", "params": {"watermark": "1-0"}}"#
        ));
        assert!(!may_park(
            r#"{"id": 1, "request": "POLL", "params": {"watermark": null}}"#
        ));
        assert!(!may_park(r#"{"id": 1, "request": "QUERY"}"#));
    }
}
