//! Runs the shared conformance vectors of `tests/conformance/` (the C and
//! Python suites run the same files; the matching rules are in that
//! folder's README).

use brp::{Config, Host};
use serde_json::Value;
use std::path::{Path, PathBuf};

fn vector_files() -> Vec<PathBuf> {
    let dir = Path::new(env!("CARGO_MANIFEST_DIR")).join("../../tests/conformance");
    let mut files: Vec<_> = std::fs::read_dir(&dir)
        .expect("tests/conformance exists")
        .map(|entry| entry.expect("readable entry").path())
        .filter(|path| path.extension().is_some_and(|ext| ext == "json"))
        .collect();
    files.sort();
    assert!(!files.is_empty(), "no vectors in {}", dir.display());
    files
}

/// The matching rules of `tests/conformance/README.md`.
fn matches(expected: &Value, actual: &Value, key: Option<&str>) -> bool {
    match (expected, actual) {
        (Value::String(e), Value::String(a)) if key == Some("JSON") => {
            match (
                serde_json::from_str::<Value>(e),
                serde_json::from_str::<Value>(a),
            ) {
                (Ok(e), Ok(a)) => matches(&e, &a, None),
                _ => false,
            }
        }
        (Value::String(e), Value::String(_)) if e.starts_with('<') && e.ends_with('>') => true,
        (Value::String(e), Value::String(a)) if key == Some("message") => a.contains(e.as_str()),
        (Value::Number(e), Value::Number(a)) => e.as_f64() == a.as_f64(),
        (Value::Array(e), Value::Array(a)) => {
            e.len() == a.len() && e.iter().zip(a).all(|(e, a)| matches(e, a, None))
        }
        (Value::Object(e), Value::Object(a)) => {
            let subset = key == Some("error");
            (subset || e.len() == a.len())
                && e.iter()
                    .all(|(k, e)| a.get(k).is_some_and(|a| matches(e, a, Some(k))))
        }
        _ => expected == actual,
    }
}

#[test]
fn conformance_vectors() {
    for file in vector_files() {
        let text = std::fs::read_to_string(&file).expect("readable vector file");
        let vectors: Value = serde_json::from_str(&text).expect("vector file is JSON");
        let config: Config = serde_json::from_value(vectors["config"].clone()).unwrap_or_default();
        let app = Host::with_config(config).expect("valid config");
        let steps = vectors["steps"].as_array().expect("steps");
        for (n, step) in steps.iter().enumerate() {
            let request = match &step["request_text"] {
                Value::String(text) => text.clone(),
                _ => step["request"].to_string(),
            };
            let actual: Value =
                serde_json::from_str(&app.request(&request)).expect("responses are JSON");
            assert!(
                matches(&step["response"], &actual, None),
                "{} step {n} ({}):\n request  {request}\n expected {}\n actual   {actual}",
                file.display(),
                step["note"].as_str().unwrap_or(""),
                step["response"],
            );
        }
    }
}

#[test]
fn matcher_rejects_differences() {
    let m = |e: &str, a: &str| matches(&e.parse().unwrap(), &a.parse().unwrap(), None);
    assert!(m(
        r#"{"a": {"JSON": "{ \"x\": 1.0 }"}}"#,
        r#"{"a": {"JSON": "{\"x\":1}"}}"#
    ));
    assert!(!m(
        r#"{"a": {"JSON": "{\"x\": 1.0}"}}"#,
        r#"{"a": {"JSON": "{\"x\":2}"}}"#
    ));
    assert!(!m(r#"{"a": 1}"#, r#"{"a": 1, "b": 2}"#));
    assert!(m(
        r#"{"error": {"code": 1}}"#,
        r#"{"error": {"code": 1, "message": "m"}}"#
    ));
    assert!(!m(
        r#"{"error": {"code": 1}}"#,
        r#"{"error": {"code": 2, "message": "m"}}"#
    ));
    assert!(m(r#"{"w": "<any>"}"#, r#"{"w": "7"}"#));
    assert!(!m(r#"[1, 2]"#, r#"[2, 1]"#));
}
