//! Builds docs/protocol.md's scene (Camera, Light, Player) in an
//! embedded world and runs the document's requests, printing each request
//! and its response.
//!
//! Run with `cargo run -p brp --example scene`.

use brp::Host;
use serde_json::{Value, json};

fn main() -> Result<(), brp::BrpError> {
    let app = Host::from_config_json(r#"{"components": ["Position", "Player"]}"#)?;
    let requests = [
        json!({"id": 101, "request": "SPAWN", "params": {"components": {
            "Name": {"JSON": "\"Camera\""},
            "Transform": {"JSON": "{\"translation\": [0.0, 5.0, 10.0]}"}}}}),
        json!({"id": 102, "request": "SPAWN", "params": {"components": {"Name": {"JSON": "\"Light\""}}}}),
        json!({"id": 103, "request": "SPAWN", "params": {"components": {
            "Name": {"JSON": "\"Player\""}, "Player": {"JSON": "{}"},
            "Position": {"JSON": "{\"x\": 0.0, \"y\": 0.0, \"z\": 0.0}"}}}}),
        json!({"id": 104, "request": "SPAWN", "params": {"components": {
            "Name": {"JSON": "\"Lens\""}, "Parent": {"JSON": "\"1v0\""}}}}),
        json!({"id": 1, "request": "QUERY", "params": {
            "data": {"components": ["Name"]},
            "filter": {"without": {"components": ["Parent"]}}}}),
        json!({"id": 2, "request": "INSERT", "params": {"entity": "3v0", "components": {
            "Position": {"JSON": "{ \"x\": 1.0, \"y\": 2.0, \"z\": 3.0}"}}}}),
        json!({"id": 3, "request": "GET", "params": {"entity": "3v0", "components": ["Position"]}}),
        json!({"id": 3, "request": "REMOVE", "params": {"entity": "3v0", "components": ["Player"]}}),
        json!({"id": 5, "request": "REPARENT", "params": {"entity": "4v0", "parent": "2v0"}}),
        json!({"id": 6, "request": "QUERY", "params": {"data": {"components": ["Name"], "optional": ["Parent"], "has": ["Player"]}}}),
        json!({"id": 7, "request": "GET", "params": {"entity": "9v0", "components": ["Position"]}}),
    ];
    for request in requests {
        let response: Value = serde_json::from_str(&app.request(&request.to_string()))
            .map_err(|e| brp::BrpError::internal(e.to_string()))?;
        println!("-> {request}\n<- {response}\n");
    }
    Ok(())
}
