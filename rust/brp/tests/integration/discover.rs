//! DISCOVER's OpenRPC document against docs/protocol.md, and SCHEMA of a
//! game's own types (the built-in types are in tests/conformance/schema.json).

use bevy_ecs::prelude::*;
use bevy_reflect::Reflect;
use brp::Host;
use serde_json::{Value, json};

fn call(host: &Host, request: Value) -> Value {
    serde_json::from_str(&host.request(&request.to_string())).unwrap()
}

/// The request names of the table at the top of docs/protocol.md.
fn documented() -> Vec<String> {
    let path = concat!(env!("CARGO_MANIFEST_DIR"), "/../../docs/protocol.md");
    let text = std::fs::read_to_string(path).unwrap();
    let table = text.split("## Requests").nth(1).unwrap();
    table
        .lines()
        .skip_while(|line| !line.starts_with("| request |"))
        .skip(2)
        .take_while(|line| line.starts_with("| `"))
        .filter_map(|line| line.split('`').nth(1).map(str::to_owned))
        .collect()
}

#[test]
fn discover_lists_every_documented_request_with_its_params() {
    let host = Host::new();
    let got = call(&host, json!({"id": 1, "request": "DISCOVER"}));
    let document = &got["response"];
    assert_eq!(document["openrpc"], "1.3.2", "{got}");
    assert_eq!(document["info"]["title"], "libbrp");
    assert_eq!(document["info"]["version"], env!("CARGO_PKG_VERSION"));
    let methods = document["methods"].as_array().unwrap();
    let mut names: Vec<&str> = methods
        .iter()
        .map(|m| m["name"].as_str().unwrap())
        .collect();
    names.sort_unstable();
    let mut documented = documented();
    documented.sort_unstable();
    assert_eq!(names, documented, "docs/protocol.md's request table");
    for method in methods {
        let name = method["name"].as_str().unwrap();
        assert!(method["result"]["schema"].is_object(), "{name}");
        for param in method["params"].as_array().unwrap() {
            assert!(
                param["name"].is_string() && param["required"].is_boolean(),
                "{name}"
            );
            assert!(param["schema"].is_object(), "{name}");
            // Every described param is one the request takes.
            let request = json!({"id": 2, "request": name, "params": {param["name"].as_str().unwrap(): null}});
            let answer = call(&host, request);
            let message = answer["error"]["message"].as_str().unwrap_or("");
            assert!(!message.contains("unknown field"), "{name}: {answer}");
        }
    }
    let get = methods.iter().find(|m| m["name"] == "GET").unwrap();
    let params: Vec<&Value> = get["params"]
        .as_array()
        .unwrap()
        .iter()
        .map(|p| &p["name"])
        .collect();
    assert_eq!(params, [&json!("entity"), &json!("components")]);
}

#[test]
fn discover_takes_no_params() {
    let host = Host::new();
    let got = call(
        &host,
        json!({"id": 1, "request": "DISCOVER", "params": {"x": 1}}),
    );
    assert_eq!(got["error"]["code"], -32602, "{got}");
}

/// A game's component with every kind of enum variant.
#[derive(Component, Reflect)]
#[reflect(Component)]
enum Gait {
    Idle,
    Walk(f32),
    Jump { height: f32 },
    Pair(u8, u8),
}

/// A game's component holding another of its types and a list.
#[derive(Component, Reflect)]
#[reflect(Component)]
struct Dancer {
    gait: Gait,
    steps: Vec<Gait>,
    partner: Option<Entity>,
    scores: [u16; 2],
}

#[test]
fn schema_of_a_games_types_follows_their_serialized_form() {
    let host = Host::build(|app| {
        app.register_type::<Dancer>().register_type::<Gait>();
    })
    .unwrap();
    let got = call(
        &host,
        json!({"id": 1, "request": "SCHEMA", "params": {"component": "Dancer"}}),
    );
    let schema = &got["response"]["schema"];
    assert_eq!(schema["kind"], "Struct", "{got}");
    assert_eq!(schema["required"], json!(["gait", "steps", "scores"]));
    let gait_path = schema["properties"]["gait"]["$ref"]
        .as_str()
        .unwrap_or_else(|| panic!("{got}"))
        .trim_start_matches("#/$defs/");
    assert!(gait_path.ends_with("::Gait"), "{got}");
    let gait = &schema["$defs"][gait_path];
    assert_eq!(
        gait["oneOf"],
        json!([
            {"type": "string", "const": "Idle"},
            {"type": "object", "properties": {"Walk": {"type": "number"}},
             "required": ["Walk"], "additionalProperties": false},
            {"type": "object", "properties": {"Jump": {"type": "object",
                "properties": {"height": {"type": "number"}}, "required": ["height"],
                "additionalProperties": false}},
             "required": ["Jump"], "additionalProperties": false},
            {"type": "object", "properties": {"Pair": {"type": "array",
                "prefixItems": [{"type": "integer", "minimum": 0, "maximum": 255},
                                {"type": "integer", "minimum": 0, "maximum": 255}],
                "items": false, "minItems": 2, "maxItems": 2}},
             "required": ["Pair"], "additionalProperties": false},
        ]),
        "{got}"
    );
    let steps = &schema["properties"]["steps"]["$ref"];
    let steps = &schema["$defs"][steps.as_str().unwrap().trim_start_matches("#/$defs/")];
    assert_eq!(
        steps["items"]["$ref"],
        format!("#/$defs/{gait_path}"),
        "one definition of Gait"
    );
    assert_eq!(
        schema["properties"]["partner"]["$ref"]
            .as_str()
            .map(|r| r.contains("Option<")),
        Some(true)
    );
    let scores = &schema["properties"]["scores"]["$ref"];
    let scores = &schema["$defs"][scores.as_str().unwrap().trim_start_matches("#/$defs/")];
    assert_eq!(scores["kind"], "Array");
    assert_eq!(
        (&scores["minItems"], &scores["maxItems"]),
        (&json!(2), &json!(2))
    );
}
