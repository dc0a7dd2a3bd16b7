//! The wire format of docs/protocol.md: `{"id", "request", "params"}` in,
//! `{"id", "response"}` or `{"id", "error"}` out; and, in [`jsonrpc`],
//! bevy_remote's JSON-RPC 2.0 framing of the same requests.
//!
//! This layer reads a request's dialect, id, name and params; it does not
//! know which requests exist (the `methods` layer does).

mod jsonrpc;

use crate::error::{BrpError, BrpResult};
use crate::params;
use serde::de::IgnoredAny;
use serde::{Deserialize, Serialize};
use serde_json::value::RawValue;
use serde_json::{Map, Value};
use std::borrow::Cow;

/// The framing a request came in, which its response goes out in
/// (docs/protocol.md, "JSON-RPC 2.0").
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub enum Dialect {
    /// `{"id", "request", "params"}` → `{"id", "response" | "error"}`.
    #[default]
    Brp,
    /// `{"jsonrpc": "2.0", "id", "method", "params"}` →
    /// `{"jsonrpc": "2.0", "id", "result" | "error"}`, with bevy_remote's
    /// method names, plain values and `u64` entities.
    JsonRpc,
}

/// A request read from its text.
pub(crate) struct Request<'a> {
    /// The framing it came in.
    pub(crate) dialect: Dialect,
    /// The client's id, echoed in the response.
    pub(crate) id: u64,
    /// The request's name, e.g. `"GET"`.
    pub(crate) name: Cow<'a, str>,
    /// The request's `params`, unparsed (`None` when absent).
    pub(crate) params: Option<&'a RawValue>,
}

/// The `response` (`result`) of a successful request as JSON text:
/// handlers write their answers straight to text, without a tree of
/// `Value`s.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Body(String);

impl Body {
    /// The JSON text.
    pub fn get(&self) -> &str {
        &self.0
    }

    /// The JSON text, owned.
    pub fn into_string(self) -> String {
        self.0
    }

    /// A body of JSON text written by hand.
    pub(crate) fn written(text: String) -> Self {
        Self(text)
    }
}

/// Serializes `value` as a response body.
pub(crate) fn body(value: &impl Serialize) -> BrpResult<Body> {
    serde_json::to_string(value)
        .map(Body)
        .map_err(|e| BrpError::component(format!("cannot write the answer: {e}")))
}

/// The body of a request that returns nothing else: `{"status": "OK"}`.
pub(crate) fn ok() -> BrpResult<Body> {
    #[derive(Serialize)]
    struct Status {
        status: &'static str,
    }
    body(&Status { status: "OK" })
}

/// A response: the request's id (`None` when it could not be read), the
/// result, and the dialect it is written in.
#[derive(Debug)]
pub struct Response {
    /// The request's id.
    pub id: Option<u64>,
    /// The `response` (`result`) body or the error.
    pub result: BrpResult<Body>,
    /// The framing the request came in and the response is written in.
    pub dialect: Dialect,
}

impl Response {
    /// The response to request `id` that failed with `error`.
    pub(crate) fn error(id: Option<u64>, error: BrpError) -> Self {
        Self {
            id,
            result: Err(error),
            dialect: Dialect::Brp,
        }
    }

    /// The response as a JSON object.
    pub fn to_json(&self) -> Value {
        let mut object = Map::with_capacity(3);
        let key = match self.dialect {
            Dialect::Brp => "response",
            Dialect::JsonRpc => {
                object.insert("jsonrpc".to_owned(), Value::from("2.0"));
                "result"
            }
        };
        object.insert("id".to_owned(), self.id.map_or(Value::Null, Value::from));
        match &self.result {
            Ok(body) => object.insert(
                key.to_owned(),
                serde_json::from_str(body.get()).unwrap_or_default(),
            ),
            Err(error) => object.insert("error".to_owned(), error.to_json()),
        };
        Value::Object(object)
    }

    /// The response as JSON text, written straight from the result.
    pub fn to_text(&self) -> String {
        let error = self.result.as_ref().err().map(|e| e.to_json().to_string());
        let content = match (&self.result, &error) {
            (Ok(body), _) => body.get(),
            (Err(_), error) => error.as_deref().unwrap_or_default(),
        };
        let mut text = String::with_capacity(content.len() + 48);
        self.head(&mut text);
        text.push_str(content);
        text.push('}');
        text
    }

    /// [`to_text`](Self::to_text), written around the body where it is
    /// rather than copied.
    pub fn into_text(self) -> String {
        let mut head = String::with_capacity(48);
        self.head(&mut head);
        match self.result {
            Ok(body) => {
                let mut text = body.0;
                text.insert_str(0, &head);
                text.push('}');
                text
            }
            Err(_) => self.to_text(),
        }
    }

    /// Appends what comes before the result: `{"id":<id>,"response":`, or
    /// its JSON-RPC or error counterpart.
    fn head(&self, out: &mut String) {
        let rpc = self.dialect == Dialect::JsonRpc;
        out.push_str(if rpc {
            r#"{"jsonrpc":"2.0","id":"#
        } else {
            r#"{"id":"#
        });
        match self.id {
            Some(id) => out.push_str(itoa::Buffer::new().format(id)),
            None => out.push_str("null"),
        }
        out.push_str(match (&self.result, rpc) {
            (Ok(_), false) => r#","response":"#,
            (Ok(_), true) => r#","result":"#,
            (Err(_), _) => r#","error":"#,
        });
    }
}

/// A well-formed request, read without building a JSON tree for it.
#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct Envelope<'a> {
    id: u64,
    #[serde(borrow)]
    request: Cow<'a, str>,
    #[serde(borrow, default)]
    params: Option<&'a RawValue>,
}

/// Parses request text; a request that cannot be read becomes its error
/// response.
pub(crate) fn parse(text: &str) -> Result<Request<'_>, Response> {
    // The common case first; anything it rejects is read again below, slowly,
    // to say exactly what is wrong.
    if let Ok(envelope) = serde_json::from_str::<Envelope>(text) {
        return Ok(Request {
            dialect: Dialect::Brp,
            id: envelope.id,
            name: envelope.request,
            params: envelope.params,
        });
    }
    if let Some(request) = jsonrpc::parse(text) {
        return request;
    }
    if let Err(e) = serde_json::from_str::<IgnoredAny>(text) {
        return Err(Response::error(
            None,
            BrpError::parse(format!("request is not valid JSON: {e}")),
        ));
    }
    read(text)
}

/// Reads a request from valid JSON text that is not a well-formed request,
/// to say what is wrong with it.
fn read(text: &str) -> Result<Request<'_>, Response> {
    let not_object = |got| {
        Response::error(
            None,
            BrpError::invalid_request(format!("a request is a JSON object, got {got}")),
        )
    };
    let raw: &RawValue = serde_json::from_str(text).map_err(|_| not_object("nothing"))?;
    let fields = params::raw_fields(raw).map_err(not_object)?;
    if let Some((id, message)) = given_twice(&fields) {
        return Err(Response::error(id, BrpError::invalid_request(message)));
    }
    let field = |key: &str| fields.iter().find(|(k, _)| k == key).map(|(_, v)| *v);
    let Some(id) = field("id").and_then(|id| serde_json::from_str::<u64>(id.get()).ok()) else {
        let message = match field("id") {
            Some(other) => format!(
                "id must be a non-negative integer, got {}",
                params::echo(other.get())
            ),
            None => "missing id".to_owned(),
        };
        return Err(Response::error(None, BrpError::invalid_request(message)));
    };
    let fail = |error| Response::error(Some(id), error);
    let allowed = ["id", "request", "params"];
    if let Some((key, _)) = fields.iter().find(|(key, _)| !allowed.contains(&&**key)) {
        let hint = if key == "method" {
            "; a JSON-RPC 2.0 request also carries \"jsonrpc\": \"2.0\""
        } else {
            ""
        };
        return Err(fail(BrpError::invalid_request(format!(
            "unknown field request.{}; expected one of: {}{hint}",
            params::echo(key),
            allowed.join(", ")
        ))));
    }
    let name = match field("request") {
        Some(raw) => serde_json::from_str::<Cow<'_, str>>(raw.get()).map_err(|_| {
            fail(BrpError::invalid_request(format!(
                "request must be a string naming the request, got {}",
                params::raw_kind(raw.get())
            )))
        })?,
        None => return Err(fail(BrpError::invalid_request("missing request"))),
    };
    Ok(Request {
        dialect: Dialect::Brp,
        id,
        name,
        params: field("params"),
    })
}

/// The id and message of the error for request fields that hold a key
/// twice, if they do; the id when it is given once and readable. A request
/// that readers may read differently is refused (docs/protocol.md,
/// "Duplicate keys and numbers").
fn given_twice(fields: &[(Cow<'_, str>, &RawValue)]) -> Option<(Option<u64>, String)> {
    let key = params::twice(fields)?;
    let mut ids = fields.iter().filter(|(key, _)| key == "id");
    let id = match (ids.next(), ids.next()) {
        (Some((_, id)), None) => serde_json::from_str(id.get()).ok(),
        _ => None,
    };
    Some((id, format!("duplicate field request.{}", params::echo(key))))
}
