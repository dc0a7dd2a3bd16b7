//! libbrp's core: an embedded Bevy ECS world that answers Bevy Remote
//! Protocol requests in the caller's process.
//!
//! ```
//! let app = brp::App::new();
//! app.declare_component("Position").unwrap();
//! let spawned = app.request(
//!     r#"{"id": 1, "request": "SPAWN", "params": {"components": {
//!         "Name": {"JSON": "\"Player\""},
//!         "Position": {"JSON": "{\"x\": 1.0}"}}}}"#,
//! );
//! assert_eq!(spawned, r#"{"id":1,"response":{"entity":"1v0"}}"#);
//! ```
//!
//! The C ABI (`brp-ffi`) and the Python module (`brp-py`) only convert
//! arguments and call into this crate.

// Layers, lowest first; each imports only from the layers above it in this
// list (docs/architecture.md).
mod app;
mod config;
mod engine;
pub mod entity_id;
mod error;
mod methods;
mod params;
mod poll;
pub mod pose;
mod protocol;
mod session;
mod world;

pub use app::App;
pub use config::Config;
pub use error::{BrpError, BrpResult, ErrorCode};
pub use protocol::{Body, Response};
pub use session::{Callback, Session};
