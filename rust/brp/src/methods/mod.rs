//! The methods layer: the table of requests, each with one handler
//! (`handlers`), and the lookup that turns a parsed request into a call.
//!
//! A new request is a handler in `handlers` and a row of [`METHODS`]
//! (docs/architecture.md); the row's [`Doc`], built from the schemas of
//! `openrpc`, is what DISCOVER tells of it. A second wire dialect parses
//! its own framing into a [`Request`] and shares this table.

mod handlers;
mod jsonrpc;
mod openrpc;

use crate::error::{BrpError, BrpResult, ErrorCode};
use crate::params::{Params, echo};
use crate::protocol::{Body, Dialect, Request, Response};
use crate::world::Ecs;
use crate::world::context::Context;
use crate::world::value::Form;
use openrpc as s;
use serde_json::Value;
use serde_json::value::RawValue;

/// A request handler: reads params, acts on the world, returns the response.
pub(crate) type Handler = fn(&mut Ecs, &mut Context, &Params) -> BrpResult<Body>;

/// How a request is carried out.
#[derive(Clone, Copy)]
pub(crate) enum Action {
    /// Answered at once by a handler; `mutates` when it changes the world
    /// (it then advances the change tick and wakes parked POLLs).
    Answer { handler: Handler, mutates: bool },
    /// POLL: answered at once or parked until the world changes.
    Poll,
    /// CANCEL: fails a parked POLL of the same session.
    Cancel,
    /// A `+watch` method: answers once at once, then once per change, until
    /// cancelled (docs/protocol.md, "Watches").
    Watch(Watch),
}

/// What a `+watch` method watches.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum Watch {
    /// `world.get_components+watch`: values of components of one entity.
    Components,
    /// `world.list_components+watch`: which components one entity has.
    List,
}

/// One row of the table.
pub(crate) struct Method {
    /// The request name on the wire, e.g. `"GET"`.
    pub(crate) name: &'static str,
    /// The fields its `params` may have; any other is an error.
    pub(crate) params: &'static [&'static str],
    /// How DISCOVER describes the request.
    pub(crate) doc: Doc,
    /// What the request does.
    pub(crate) action: Action,
}

/// One field of a request's `params` for DISCOVER: its name, whether the
/// request needs it, and its JSON Schema.
pub(crate) type Param = (&'static str, bool, fn() -> Value);

/// A request's description for DISCOVER: its params (in the order of
/// [`Method::params`], which a test checks) and its result.
#[derive(Clone, Copy)]
pub(crate) struct Doc {
    /// Each field of `params`: name, whether it is required, JSON Schema.
    pub(crate) params: &'static [Param],
    /// The result's name and JSON Schema.
    pub(crate) result: (&'static str, fn() -> Value),
}

const fn read(
    name: &'static str,
    params: &'static [&'static str],
    doc: Doc,
    handler: Handler,
) -> Method {
    Method {
        name,
        params,
        doc,
        action: Action::Answer {
            handler,
            mutates: false,
        },
    }
}

const fn write(
    name: &'static str,
    params: &'static [&'static str],
    doc: Doc,
    handler: Handler,
) -> Method {
    Method {
        name,
        params,
        doc,
        action: Action::Answer {
            handler,
            mutates: true,
        },
    }
}

/// A [`Doc`] in the table's short form.
const fn doc(params: &'static [Param], result: (&'static str, fn() -> Value)) -> Doc {
    Doc { params, result }
}

/// Every request.
pub(crate) const METHODS: &[Method] = &[
    read("PING", &[], doc(&[], ("status", s::status)), handlers::ping),
    read(
        "GET",
        &["entity", "components"],
        doc(
            &[("entity", true, s::entity), ("components", true, s::names)],
            ("components", s::components_answer),
        ),
        handlers::get,
    ),
    read(
        "QUERY",
        &["data", "filter"],
        doc(
            &[("data", false, s::data), ("filter", false, s::filter)],
            ("entities", s::entities),
        ),
        handlers::query,
    ),
    write(
        "SPAWN",
        &["components"],
        doc(&[("components", true, s::values)], ("entity", s::spawned)),
        handlers::spawn,
    ),
    write(
        "DESTROY",
        &["entity"],
        doc(&[("entity", true, s::entity)], ("status", s::status)),
        handlers::destroy,
    ),
    write(
        "INSERT",
        &["entity", "components"],
        doc(
            &[("entity", true, s::entity), ("components", true, s::values)],
            ("status", s::status),
        ),
        handlers::insert,
    ),
    write(
        "REMOVE",
        &["entity", "components"],
        doc(
            &[("entity", true, s::entity), ("components", true, s::names)],
            ("status", s::status),
        ),
        handlers::remove,
    ),
    write(
        "REPARENT",
        &["entity", "parent"],
        doc(
            &[("entity", true, s::entity), ("parent", true, s::parent)],
            ("status", s::status),
        ),
        handlers::reparent,
    ),
    read(
        "LIST",
        &["entity"],
        doc(&[("entity", false, s::entity)], ("components", s::listed)),
        handlers::list,
    ),
    write(
        "MUTATE",
        &["entity", "component", "resource", "path", "value"],
        doc(
            &[
                ("entity", false, s::entity),
                ("component", false, s::name),
                ("resource", false, s::name),
                ("path", true, s::path),
                ("value", true, s::wrapped),
            ],
            ("status", s::status),
        ),
        handlers::mutate,
    ),
    read(
        "GET_RESOURCE",
        &["resource"],
        doc(&[("resource", true, s::name)], ("value", s::value_answer)),
        handlers::get_resource,
    ),
    write(
        "INSERT_RESOURCE",
        &["resource", "value"],
        doc(
            &[("resource", true, s::name), ("value", true, s::wrapped)],
            ("status", s::status),
        ),
        handlers::insert_resource,
    ),
    write(
        "REMOVE_RESOURCE",
        &["resource"],
        doc(&[("resource", true, s::name)], ("status", s::status)),
        handlers::remove_resource,
    ),
    read(
        "LIST_RESOURCES",
        &[],
        doc(&[], ("resources", s::resources)),
        handlers::list_resources,
    ),
    read(
        "SCHEMA",
        &["component", "resource"],
        doc(
            &[("component", false, s::name), ("resource", false, s::name)],
            ("schema", s::schema),
        ),
        handlers::schema,
    ),
    read(
        "DISCOVER",
        &[],
        doc(&[], ("openrpc", s::openrpc)),
        handlers::discover,
    ),
    Method {
        name: "POLL",
        params: &["data", "filter", "resource", "watermark", "timeout_ms"],
        doc: doc(
            &[
                ("data", false, s::data),
                ("filter", false, s::poll_filter),
                ("resource", false, s::name),
                ("watermark", false, s::watermark),
                ("timeout_ms", false, s::timeout),
            ],
            ("entities", s::polled),
        ),
        action: Action::Poll,
    },
    Method {
        name: "CANCEL",
        params: &["id"],
        doc: doc(&[("id", true, s::request_id)], ("status", s::status)),
        action: Action::Cancel,
    },
];

/// A request matched to its row of the table.
pub(crate) struct Call<'a> {
    /// The framing it came in.
    pub(crate) dialect: Dialect,
    /// The client's id.
    pub(crate) id: u64,
    /// The row.
    pub(crate) method: &'static Method,
    /// The request's `params`, unparsed.
    pub(crate) params: Option<&'a RawValue>,
}

impl<'a> Call<'a> {
    /// Looks `request` up; an unknown name becomes its error response.
    pub(crate) fn new(request: Request<'a>) -> Result<Self, Response> {
        let name = &*request.name;
        let (table, unknown) = match request.dialect {
            Dialect::Brp => (METHODS, "request"),
            Dialect::JsonRpc => (jsonrpc::METHODS, "method"),
        };
        match table.iter().find(|method| method.name == name) {
            Some(method) => Ok(Self {
                dialect: request.dialect,
                id: request.id,
                method,
                params: request.params,
            }),
            None => Err(Response {
                id: Some(request.id),
                result: Err(BrpError::new(
                    ErrorCode::UnknownRequest,
                    format!("unknown {unknown} {:?}", echo(name)),
                )),
                dialect: request.dialect,
            }),
        }
    }

    /// The response to this call carrying `result`.
    pub(crate) fn respond(&self, result: BrpResult<Body>) -> Response {
        Response {
            id: Some(self.id),
            result,
            dialect: self.dialect,
        }
    }

    /// How this call's values and entities are written.
    pub(crate) fn form(&self) -> Form {
        match self.dialect {
            Dialect::Brp => Form::Wrapped,
            Dialect::JsonRpc => Form::Plain,
        }
    }
}

/// Reads request text and looks it up.
pub(crate) fn parse(text: &str) -> Result<Call<'_>, Response> {
    Call::new(crate::protocol::parse(text)?)
}

#[cfg(test)]
mod tests {
    use super::METHODS;

    #[test]
    fn every_row_describes_exactly_its_params_in_order() {
        for method in METHODS.iter().chain(super::jsonrpc::METHODS) {
            let described: Vec<&str> = method.doc.params.iter().map(|(name, ..)| *name).collect();
            assert_eq!(described, method.params, "{}", method.name);
            for (name, _, schema) in method.doc.params {
                assert!(schema().is_object(), "{}.{name}", method.name);
            }
            assert!((method.doc.result.1)().is_object(), "{}", method.name);
        }
    }

    #[test]
    fn discover_lists_every_row_with_its_params() {
        let document = super::openrpc::document();
        let methods = document["methods"].as_array().expect("methods");
        assert_eq!(methods.len(), METHODS.len());
        for (method, described) in METHODS.iter().zip(methods) {
            assert_eq!(described["name"], method.name);
            let params: Vec<&str> = (described["params"].as_array().expect("params").iter())
                .map(|p| p["name"].as_str().expect("name"))
                .collect();
            assert_eq!(params, method.params, "{}", method.name);
        }
    }

    #[test]
    fn the_protocol_reference_lists_every_request_and_method() {
        let text = include_str!("../../../../docs/protocol.md");
        for method in METHODS.iter().chain(super::jsonrpc::METHODS) {
            let row = format!("\n| `{}` |", method.name);
            assert!(
                text.contains(&row),
                "docs/protocol.md has no row for {}",
                method.name
            );
        }
    }
}
