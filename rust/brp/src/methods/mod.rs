//! The methods layer: the table of requests, each with one handler
//! (`handlers`), and the lookup that turns a parsed request into a call.
//!
//! A new request is a handler in `handlers` and a row of [`METHODS`]
//! (docs/architecture.md). A second wire dialect parses its own framing into
//! a [`Request`] and shares this table.

mod handlers;

use crate::error::{BrpError, BrpResult, ErrorCode};
use crate::params::{Params, echo};
use crate::protocol::{Body, Request, Response};
use crate::world::Ecs;
use serde_json::value::RawValue;

/// A request handler: reads params, acts on the world, returns the response.
pub(crate) type Handler = fn(&mut Ecs, &Params) -> BrpResult<Body>;

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
}

/// One row of the table.
pub(crate) struct Method {
    /// The request name on the wire, e.g. `"GET"`.
    pub(crate) name: &'static str,
    /// The fields its `params` may have; any other is an error.
    pub(crate) params: &'static [&'static str],
    /// What the request does.
    pub(crate) action: Action,
}

const fn read(name: &'static str, params: &'static [&'static str], handler: Handler) -> Method {
    Method {
        name,
        params,
        action: Action::Answer {
            handler,
            mutates: false,
        },
    }
}

const fn write(name: &'static str, params: &'static [&'static str], handler: Handler) -> Method {
    Method {
        name,
        params,
        action: Action::Answer {
            handler,
            mutates: true,
        },
    }
}

/// Every request.
pub(crate) const METHODS: &[Method] = &[
    read("PING", &[], handlers::ping),
    read("GET", &["entity", "components"], handlers::get),
    read("QUERY", &["data", "filter"], handlers::query),
    write("SPAWN", &["components"], handlers::spawn),
    write("DESTROY", &["entity"], handlers::destroy),
    write("INSERT", &["entity", "components"], handlers::insert),
    write("REMOVE", &["entity", "components"], handlers::remove),
    write("REPARENT", &["entity", "parent"], handlers::reparent),
    read("LIST", &["entity"], handlers::list),
    write(
        "MUTATE",
        &["entity", "component", "resource", "path", "value"],
        handlers::mutate,
    ),
    read("GET_RESOURCE", &["resource"], handlers::get_resource),
    write(
        "INSERT_RESOURCE",
        &["resource", "value"],
        handlers::insert_resource,
    ),
    write("REMOVE_RESOURCE", &["resource"], handlers::remove_resource),
    read("LIST_RESOURCES", &[], handlers::list_resources),
    Method {
        name: "POLL",
        params: &["data", "filter", "watermark", "timeout_ms"],
        action: Action::Poll,
    },
    Method {
        name: "CANCEL",
        params: &["id"],
        action: Action::Cancel,
    },
];

/// A request matched to its row of the table.
pub(crate) struct Call<'a> {
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
        match METHODS.iter().find(|method| method.name == name) {
            Some(method) => Ok(Self {
                id: request.id,
                method,
                params: request.params,
            }),
            None => Err(Response::error(
                Some(request.id),
                BrpError::new(
                    ErrorCode::UnknownRequest,
                    format!("unknown request {:?}", echo(name)),
                ),
            )),
        }
    }

    /// The response to this call carrying `result`.
    pub(crate) fn respond(&self, result: BrpResult<Body>) -> Response {
        Response {
            id: Some(self.id),
            result,
        }
    }
}

/// Reads request text and looks it up.
pub(crate) fn parse(text: &str) -> Result<Call<'_>, Response> {
    Call::new(crate::protocol::parse(text)?)
}
