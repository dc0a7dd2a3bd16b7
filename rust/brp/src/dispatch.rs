//! The dispatch table: request name → handler on the world.
//!
//! A transport or wire dialect parses its own framing, looks the request up
//! here and runs the same handler, so every dialect shares one behaviour.

use crate::error::BrpResult;
use crate::handlers;
use crate::host::Host;
use crate::params::Params;
use crate::protocol::Body;

/// A request handler: reads params, acts on the world, returns the response.
pub type Handler = fn(&mut Host, &Params) -> BrpResult<Body>;

/// How a request is carried out.
#[derive(Clone, Copy)]
pub enum Action {
    /// Answered at once by a handler; `mutates` when it changes the world
    /// (it then advances the change tick and wakes parked POLLs).
    Answer {
        /// The handler.
        handler: Handler,
        /// True when the request changes the world.
        mutates: bool,
    },
    /// POLL: answered at once or parked until the world changes.
    Poll,
    /// CANCEL: fails a parked POLL of the same session.
    Cancel,
}

/// One entry of the dispatch table.
pub struct Method {
    /// The request name on the wire, e.g. `"GET"`.
    pub name: &'static str,
    /// What the request does.
    pub action: Action,
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
pub const METHODS: &[Method] = &[
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

/// The method called `name`, if any.
pub fn method(name: &str) -> Option<&'static Method> {
    METHODS.iter().find(|method| method.name == name)
}
