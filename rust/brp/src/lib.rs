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

pub mod app;
pub mod components;
pub mod config;
pub mod dispatch;
pub mod entity_id;
pub mod error;
pub mod handlers;
pub mod host;
pub mod params;
pub mod parked;
pub mod poll;
pub mod pose;
pub mod protocol;
pub mod query;
pub mod session;
pub mod value;

pub use app::App;
pub use config::Config;
pub use error::{BrpError, BrpResult, ErrorCode};
pub use session::Session;
