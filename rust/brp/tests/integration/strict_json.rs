//! A request reads the same to every reader (docs/protocol.md, "Duplicate
//! keys and numbers"): a key given twice and a number that does not read as
//! written are refused, at the top level, in `params` and inside values, in
//! both dialects, and a refused request changes nothing. And what each type
//! of a reflected field makes of the numbers it is given ("Numbers, per
//! field type").

use bevy_ecs::prelude::*;
use bevy_reflect::std_traits::ReflectDefault;
use bevy_reflect::{Reflect, ReflectDeserialize, ReflectSerialize};
use brp::{Config, Host};
use serde::{Deserialize, Serialize};
use serde_json::{Value, json};

/// A reflected component with a field of each number type.
#[derive(Component, Reflect, Default)]
#[reflect(Component, Default)]
struct Numbers {
    small: u8,
    int: i32,
    long: i64,
    unsigned: u64,
    wide: u128,
    single: f32,
    double: f64,
    flag: bool,
    label: String,
}

/// A component that serde reads through its buffering of a flattened field,
/// which hands an `f32` its number as an `f64` to narrow.
#[derive(Component, Reflect, Default, Serialize, Deserialize)]
#[reflect(Component, Default, Serialize, Deserialize)]
struct Flat {
    #[serde(flatten)]
    inner: Speed,
}

/// The flattened field of [`Flat`].
#[derive(Reflect, Default, Serialize, Deserialize)]
struct Speed {
    speed: f32,
}

fn host() -> Host {
    let config = Config {
        components: vec!["Position".into()],
        ..Config::default()
    };
    Host::build_with(config, |app| {
        app.register_type::<Numbers>().register_type::<Flat>();
    })
    .unwrap()
}

fn answer(host: &Host, text: &str) -> Value {
    serde_json::from_str(&host.request(text)).expect("responses are JSON")
}

/// Every entity with every component, in the JSON-RPC dialect: what a
/// refused request must leave as it was.
fn world(host: &Host) -> Value {
    let text = r#"{"jsonrpc": "2.0", "id": 0, "method": "world.query", "params": {"data": {"option": "all"}}}"#;
    answer(host, text)["result"].clone()
}

/// Sends `text`, which must be refused with `code` and a message holding
/// `message`, leaving the world as it was; returns the answer.
fn refused(host: &Host, text: &str, code: i64, message: &str) -> Value {
    let before = world(host);
    let answer = answer(host, text);
    assert_eq!(answer["error"]["code"], code, "{text}\n{answer}");
    let said = answer["error"]["message"].as_str().unwrap_or_default();
    assert!(said.contains(message), "{text}\n{said}\nlacks {message:?}");
    assert_eq!(world(host), before, "{text} changed the world");
    answer
}

/// A host with one entity, `1v0` (4294967294), holding `Position`.
fn with_entity() -> Host {
    let host = host();
    let spawned = answer(
        &host,
        r#"{"id": 1, "request": "SPAWN", "params": {"components": {"Position": {"JSON": "{\"x\": 1}"}}}}"#,
    );
    assert_eq!(spawned["response"]["entity"], "1v0", "{spawned}");
    host
}

#[test]
fn a_request_holding_a_key_twice_is_refused_with_its_id_when_the_id_is_once() {
    let host = with_entity();
    for (text, id, message) in [
        (
            r#"{"jsonrpc": "2.0", "id": 7, "method": "rpc.discover", "method": "world.spawn_entity", "params": {"components": {}}}"#,
            json!(7),
            "duplicate field request.method",
        ),
        (
            r#"{"jsonrpc": "2.0", "id": 7, "method": "world.despawn_entity", "params": {"entity": 4294967294}, "params": {}}"#,
            json!(7),
            "duplicate field request.params",
        ),
        (
            r#"{"jsonrpc": "2.0", "jsonrpc": "2.0", "id": 7, "method": "world.despawn_entity", "params": {"entity": 4294967294}}"#,
            json!(7),
            "duplicate field request.jsonrpc",
        ),
        (
            r#"{"jsonrpc": "2.0", "id": 7, "id": 8, "method": "world.despawn_entity", "params": {"entity": 4294967294}}"#,
            Value::Null,
            "duplicate field request.id",
        ),
        (
            r#"{"id": 7, "request": "PING", "request": "DESTROY", "params": {"entity": "1v0"}}"#,
            json!(7),
            "duplicate field request.request",
        ),
        (
            r#"{"id": 7, "\u0069d": 7, "request": "DESTROY", "params": {"entity": "1v0"}}"#,
            Value::Null,
            "duplicate field request.id",
        ),
        (
            r#"{"id": "seven", "request": "DESTROY", "request": "PING"}"#,
            Value::Null,
            "duplicate field request.request",
        ),
    ] {
        let answer = refused(&host, text, -32600, message);
        assert_eq!(answer["id"], id, "{text}\n{answer}");
        assert_eq!(
            answer.get("jsonrpc").is_some(),
            text.contains("jsonrpc"),
            "{text}\n{answer}"
        );
    }
}

#[test]
fn sessions_refuse_a_key_twice_as_sessionless_requests_do() {
    let host = with_entity();
    let session = host.session();
    let text = r#"{"id": 3, "request": "GET", "params": {"entity": "1v0", "entity": "2v0", "components": ["Position"]}}"#;
    let answer: Value = serde_json::from_str(&session.request(text)).unwrap();
    assert_eq!(answer["id"], 3, "{answer}");
    assert_eq!(answer["error"]["code"], -32602, "{answer}");
    assert_eq!(
        answer["error"]["message"], "duplicate field params.entity",
        "{answer}"
    );
}

#[test]
fn a_key_twice_in_params_is_refused_with_its_path() {
    let host = with_entity();
    for (text, message) in [
        (
            r#"{"id": 1, "request": "DESTROY", "params": {"entity": "2v0", "entity": "1v0"}}"#,
            "duplicate field params.entity",
        ),
        (
            r#"{"id": 1, "request": "DESTROY", "params": {"entity": "2v0", "\u0065ntity": "1v0"}}"#,
            "duplicate field params.entity",
        ),
        (
            r#"{"id": 1, "request": "SPAWN", "params": {"components": {"Position": {"JSON": "1"}, "Position": {"JSON": "2"}}}}"#,
            "duplicate field params.components.Position",
        ),
        (
            r#"{"id": 1, "request": "SPAWN", "params": {"components": {"Position": {"JSON": "1", "JSON": "2"}}}}"#,
            "duplicate field params.components.Position.JSON",
        ),
        (
            r#"{"id": 1, "request": "QUERY", "params": {"data": {"components": ["Position"], "components": []}}}"#,
            "duplicate field params.data.components",
        ),
        (
            r#"{"jsonrpc": "2.0", "id": 1, "method": "world.despawn_entity", "params": {"entity": 1, "entity": 4294967294}}"#,
            "duplicate field params.entity",
        ),
        (
            r#"{"jsonrpc": "2.0", "id": 1, "method": "world.spawn_entity", "params": {"components": {"Position": {"x": 1, "y": [{"z": 1, "z": 2}]}}}}"#,
            "duplicate field params.components.Position.y[0].z",
        ),
        (
            r#"{"jsonrpc": "2.0", "id": 1, "method": "world.insert_components", "params": {"entity": 4294967294, "components": {"Numbers": {"small": 1, "small": 2}}}}"#,
            "duplicate field params.components.Numbers.small",
        ),
    ] {
        refused(&host, text, -32602, message);
    }
}

#[test]
fn a_key_twice_in_the_json_text_of_a_value_is_refused_with_its_path() {
    let host = with_entity();
    for text in [
        // A dynamic component; a type reflection reads; a type serde reads.
        r#"{"id": 1, "request": "INSERT", "params": {"entity": "1v0", "components": {"Position": {"JSON": "{\"x\": 2, \"y\": {\"a\": 1, \"a\": 2}}"}}}}"#,
        r#"{"id": 1, "request": "INSERT", "params": {"entity": "1v0", "components": {"Numbers": {"JSON": "{\"y\": {\"a\": 1, \"a\": 2}, \"small\": 1}"}}}}"#,
        r#"{"id": 1, "request": "SPAWN", "params": {"components": {"Transform": {"JSON": "{\"y\": {\"a\": 1, \"\\u0061\": 2}}"}}}}"#,
        r#"{"id": 1, "request": "MUTATE", "params": {"entity": "1v0", "component": "Position", "path": "x", "value": {"JSON": "{\"y\": {\"a\": 1, \"a\": 2}}"}}}"#,
    ] {
        refused(&host, text, -32602, "duplicate field y.a");
    }
    refused(
        &host,
        r#"{"id": 1, "request": "SPAWN", "params": {"components": {"Numbers": {"JSON": "{\"small\": 1, \"small\": 2}"}}}}"#,
        -32602,
        "component `Numbers`: duplicate field small",
    );
}

#[test]
fn numbers_that_do_not_read_as_written_are_refused_with_their_path_and_a_fix() {
    let host = with_entity();
    let integer = "999999999999999999999999999999 is an integer beyond 64 bits, \
                   which a JSON reader may round: write it as a float (1e30) or as a string";
    let tiny = "1e-400 is too small for a double and would read as 0";
    let huge = "1e400 is beyond a double's range";
    for (text, message) in [
        (
            r#"{"id": 1, "request": "POLL", "params": {"data": {}, "timeout_ms": 999999999999999999999999999999}}"#,
            format!("params.timeout_ms: {integer}"),
        ),
        (
            r#"{"jsonrpc": "2.0", "id": 1, "method": "world.despawn_entity", "params": {"entity": 999999999999999999999999999999}}"#,
            format!("params.entity: {integer}"),
        ),
        (
            r#"{"jsonrpc": "2.0", "id": 1, "method": "world.insert_components", "params": {"entity": 4294967294, "components": {"Position": {"x": [1, 999999999999999999999999999999]}}}}"#,
            format!("params.components.Position.x[1]: {integer}"),
        ),
        (
            r#"{"jsonrpc": "2.0", "id": 1, "method": "world.insert_components", "params": {"entity": 4294967294, "components": {"Position": 1e-400}}}"#,
            format!("params.components.Position: {tiny}"),
        ),
        (
            r#"{"jsonrpc": "2.0", "id": 1, "method": "world.insert_components", "params": {"entity": 4294967294, "components": {"Numbers": {"double": 1e-400}}}}"#,
            format!("params.components.Numbers.double: {tiny}"),
        ),
        (
            r#"{"jsonrpc": "2.0", "id": 1, "method": "world.insert_components", "params": {"entity": 4294967294, "components": {"Position": {"x": 1e400}}}}"#,
            format!("params.components.Position.x: {huge}"),
        ),
        (
            r#"{"id": 1, "request": "INSERT", "params": {"entity": "1v0", "components": {"Position": {"JSON": "{\"x\": 999999999999999999999999999999}"}}}}"#,
            format!("component `Position`: x: {integer}"),
        ),
        (
            r#"{"id": 1, "request": "INSERT", "params": {"entity": "1v0", "components": {"Numbers": {"JSON": "{\"double\": 1e-400}"}}}}"#,
            format!("component `Numbers`: double: {tiny}"),
        ),
        (
            r#"{"id": 1, "request": "SPAWN", "params": {"components": {"Position": {"JSON": "1e-400"}}}}"#,
            format!("component `Position`: {tiny}"),
        ),
        (
            r#"{"id": 1, "request": "MUTATE", "params": {"entity": "1v0", "component": "Position", "path": "x", "value": {"JSON": "1e400"}}}"#,
            format!("component `Position`: {huge}"),
        ),
    ] {
        refused(&host, text, -32602, &message);
    }
}

#[test]
fn numbers_that_read_as_written_are_kept() {
    let host = with_entity();
    let values = "[0, -0.0, 0e-400, 1e30, 1e-320, 18446744073709551615, -9223372036854775808]";
    for text in [
        format!(
            r#"{{"id": 1, "request": "INSERT", "params": {{"entity": "1v0", "components": {{"Position": {{"JSON": "{values}"}}}}}}}}"#
        ),
        format!(
            r#"{{"jsonrpc": "2.0", "id": 1, "method": "world.insert_components", "params": {{"entity": 4294967294, "components": {{"Position": {values}}}}}}}"#
        ),
    ] {
        let inserted = answer(&host, &text);
        assert!(inserted.get("error").is_none(), "{text}\n{inserted}");
        let got = answer(
            &host,
            r#"{"jsonrpc": "2.0", "id": 2, "method": "world.get_components", "params": {"entity": 4294967294, "components": ["Position"], "strict": true}}"#,
        );
        let expected: Value = serde_json::from_str(values).unwrap();
        assert_eq!(got["result"]["Position"], expected, "{got}");
    }
}

/// What a field of `Numbers` reads `number` as, in the seed's dialect
/// (`json` false) or JSON-RPC's: `Ok` with the field as read back, or `Err`
/// with the error code.
fn read_as(host: &Host, json: bool, field: &str, number: &str) -> Result<Value, i64> {
    let value = format!("{{\"{field}\": {number}}}");
    let text = if json {
        format!(
            r#"{{"jsonrpc": "2.0", "id": 1, "method": "world.insert_components", "params": {{"entity": 4294967294, "components": {{"Numbers": {value}}}}}}}"#
        )
    } else {
        json!({"id": 1, "request": "INSERT", "params": {"entity": "1v0",
            "components": {"Numbers": {"JSON": value}}}})
        .to_string()
    };
    let before = world(host);
    let inserted = answer(host, &text);
    if let Some(code) = inserted["error"]["code"].as_i64() {
        assert_eq!(world(host), before, "{text} changed the world");
        return Err(code);
    }
    let got = answer(
        host,
        r#"{"jsonrpc": "2.0", "id": 2, "method": "world.get_components", "params": {"entity": 4294967294, "components": ["Numbers"], "strict": true}}"#,
    );
    Ok(got["result"]["Numbers"][field].clone())
}

#[test]
fn numbers_per_field_type_are_read_or_refused_as_the_protocol_says() {
    let host = with_entity();
    // -23402: the value does not fit the type; -32602: a number JSON does
    // not carry as written.
    for (field, number, expected) in [
        ("small", "255", Ok(json!(255))),
        ("small", "300", Err(-23402)),
        ("small", "-1", Err(-23402)),
        ("small", "1.0", Err(-23402)),
        ("int", "-2147483648", Ok(json!(-2147483648_i64))),
        ("int", "1e10", Err(-23402)),
        ("int", "1e2", Err(-23402)),
        ("long", "9223372036854775807", Ok(json!(i64::MAX))),
        ("long", "9223372036854775808", Err(-23402)),
        ("unsigned", "18446744073709551615", Ok(json!(u64::MAX))),
        ("unsigned", "18446744073709551616", Err(-32602)),
        ("unsigned", "1.5", Err(-23402)),
        ("unsigned", "-1", Err(-23402)),
        ("wide", "18446744073709551615", Ok(json!(u64::MAX))),
        ("wide", "18446744073709551616", Err(-32602)),
        ("single", "1.5", Ok(json!(1.5))),
        ("single", "16777217", Ok(json!(16777216.0))),
        ("single", "3e38", Ok(json!(3e38))),
        ("single", "1e39", Err(-23402)),
        ("single", "-1e39", Err(-23402)),
        ("single", "1e-50", Ok(json!(0.0))),
        ("single", "1e-400", Err(-32602)),
        ("double", "1e308", Ok(json!(1e308))),
        ("double", "1e309", Err(-32602)),
        ("double", "1e-320", Ok(json!(1e-320))),
        ("double", "1e-400", Err(-32602)),
        ("double", "12345678901234567890123", Err(-32602)),
        ("flag", "1", Err(-23402)),
        ("label", "5", Err(-23402)),
    ] {
        for json in [false, true] {
            assert_eq!(
                read_as(&host, json, field, number),
                expected,
                "{field} given {number} (JSON-RPC: {json})"
            );
        }
    }
}

#[test]
fn an_f32_never_becomes_infinite_even_where_serde_narrows_an_f64() {
    let host = with_entity();
    for (form, text) in [
        (
            "seed",
            r#"{"id": 1, "request": "INSERT", "params": {"entity": "1v0", "components": {"Flat": {"JSON": "{\"speed\": 1e39}"}}}}"#,
        ),
        (
            "JSON-RPC",
            r#"{"jsonrpc": "2.0", "id": 1, "method": "world.insert_components", "params": {"entity": 4294967294, "components": {"Flat": {"speed": -1e39}}}}"#,
        ),
    ] {
        let answer = refused(
            &host,
            text,
            -23402,
            "inner.speed: a number beyond the range of `f32` (±3.4028235e38)",
        );
        assert!(answer.get("jsonrpc").is_some() == (form == "JSON-RPC"));
    }
    let fits = answer(
        &host,
        r#"{"id": 2, "request": "INSERT", "params": {"entity": "1v0", "components": {"Flat": {"JSON": "{\"speed\": 2.5}"}}}}"#,
    );
    assert_eq!(fits["response"]["status"], "OK", "{fits}");
}
