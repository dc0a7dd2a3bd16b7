//! The methods layer: the table of requests, each with one handler
//! (`handlers`), and the lookup that turns a parsed request into a call.
//!
//! A new request is a handler in `handlers` and a row of [`METHODS`]
//! (docs/architecture.md). A second wire dialect parses its own framing into
//! a [`Request`] and shares this table.

mod handlers;

use crate::error::{BrpError, BrpResult, ErrorCode};
use crate::params::Params;
use crate::protocol::{Body, Request, Response};
use crate::world::Host;
use serde_json::Value;

/// A request handler: reads params, acts on the world, returns the response.
pub(crate) type Handler = fn(&mut Host, &Params) -> BrpResult<Body>;

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
    /// What the request does.
    pub(crate) action: Action,
}

const fn read(name: &'static str, handler: Handler) -> Method {
    Method {
        name,
        action: Action::Answer {
            handler,
            mutates: false,
        },
    }
}

const fn write(name: &'static str, handler: Handler) -> Method {
    Method {
        name,
        action: Action::Answer {
            handler,
            mutates: true,
        },
    }
}

/// Every request.
pub(crate) const METHODS: &[Method] = &[
    read("PING", handlers::ping),
    read("GET", handlers::get),
    read("QUERY", handlers::query),
    write("SPAWN", handlers::spawn),
    write("DESTROY", handlers::destroy),
    write("INSERT", handlers::insert),
    write("REMOVE", handlers::remove),
    write("REPARENT", handlers::reparent),
    Method {
        name: "POLL",
        action: Action::Poll,
    },
    Method {
        name: "CANCEL",
        action: Action::Cancel,
    },
];

/// A request matched to its row of the table.
pub(crate) struct Call {
    /// The client's id.
    pub(crate) id: u64,
    /// The row.
    pub(crate) method: &'static Method,
    /// The request's `params`.
    pub(crate) params: Value,
}

impl Call {
    /// Looks `request` up; an unknown name becomes its error response.
    pub(crate) fn new(request: Request<'_>) -> Result<Self, Response> {
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
                    format!("unknown request {name:?}"),
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
pub(crate) fn parse(text: &str) -> Result<Call, Response> {
    Call::new(crate::protocol::parse(text)?)
}
