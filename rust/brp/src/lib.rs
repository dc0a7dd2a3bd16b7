//! libbrp's core: an embedded Bevy app that answers Bevy Remote Protocol
//! requests in the caller's process; [`Host::build`] puts a game's plugins
//! in it (docs/modules.md).
//!
//! ```
//! let host = brp::Host::new();
//! host.declare_component("Position").unwrap();
//! let spawned = host.request(
//!     r#"{"id": 1, "request": "SPAWN", "params": {"components": {
//!         "Name": {"JSON": "\"Player\""},
//!         "Position": {"JSON": "{\"x\": 1.0}"}}}}"#,
//! );
//! assert_eq!(spawned, r#"{"id":1,"response":{"entity":"1v0"}}"#);
//! ```
//!
//! The C ABI (`brp-capi`) and the Python module (`brp-python`) only convert
//! arguments and call into this crate.

// The layers, lowest first: a module imports only from modules declared
// before it (tests/integration/layers.rs checks; docs/architecture.md).

// Leaves: errors, settings, reading params, entity ids.
mod error;

mod config;

mod params;

pub mod entity_id;

// The wire format: request text to id, name and params; responses to text.
mod protocol;

// The world: ECS world, component names, values, query selection.
mod world;

// The table of requests and one handler per request.
mod methods;

// POLL: watermarks, parked POLLs and their wake-up.
mod poll;

// The engine: the lock, the order of requests, the timeout thread, closing.
mod engine;

// The handles users hold.
mod host;

mod session;

// The optional HTTP and WebSocket servers, built on `Host` and `Session`.
#[cfg(feature = "server")]
pub mod server;

// The pose-streaming client, built on `Host`.
pub mod pose;

pub use bevy_app;
pub use config::{Config, read_settings};
pub use engine::WAIT_SLICE;
pub use error::{BrpError, BrpResult, ErrorCode};
pub use host::Host;
pub use protocol::{Body, Dialect, Response};
pub use session::{Callback, NoResponse, Session};
pub use world::cache::CacheStats;
