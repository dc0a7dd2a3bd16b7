//! The dispatch table: request name → handler on the world.
//!
//! A transport or wire dialect parses its own framing, looks the request up
//! here and runs the same handler, so every dialect shares one behaviour.

use crate::error::BrpResult;
use crate::handlers;
use crate::host::Host;
use crate::params::Params;
use serde_json::Value;

/// A request handler: reads params, acts on the world, returns the response.
pub type Handler = fn(&mut Host, &Params) -> BrpResult<Value>;

/// One entry of the dispatch table.
pub struct Method {
    /// The request name on the wire, e.g. `"GET"`.
    pub name: &'static str,
    /// True when the request changes the world (it advances the change tick).
    pub mutates: bool,
    /// The handler.
    pub handler: Handler,
}

/// Every request that answers at once.
pub const METHODS: &[Method] = &[
    Method {
        name: "PING",
        mutates: false,
        handler: handlers::ping,
    },
    Method {
        name: "GET",
        mutates: false,
        handler: handlers::get,
    },
    Method {
        name: "QUERY",
        mutates: false,
        handler: handlers::query,
    },
    Method {
        name: "SPAWN",
        mutates: true,
        handler: handlers::spawn,
    },
    Method {
        name: "DESTROY",
        mutates: true,
        handler: handlers::destroy,
    },
    Method {
        name: "INSERT",
        mutates: true,
        handler: handlers::insert,
    },
    Method {
        name: "REMOVE",
        mutates: true,
        handler: handlers::remove,
    },
    Method {
        name: "REPARENT",
        mutates: true,
        handler: handlers::reparent,
    },
];

/// The method called `name`, if any.
pub fn method(name: &str) -> Option<&'static Method> {
    METHODS.iter().find(|method| method.name == name)
}
