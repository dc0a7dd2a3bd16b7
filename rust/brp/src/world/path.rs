//! One field of a value addressed by a path: a `bevy_reflect` path
//! (`translation.x`, `landmarks[3].y`) into a reflected value, and the same
//! syntax as object keys and list indices (`a.b`, `list[2]`, `pair.0`) into
//! a dynamic component's JSON value. Paths are walked step by step, without
//! recursion.

use crate::error::{BrpError, BrpResult};
use crate::params::echo;
use bevy_reflect::{
    Access, OffsetAccess, ParsedPath, PartialReflect, Reflect, ReflectPath, ReflectRef,
};
use serde_json::{Value, json};

/// Parses the path `text`; the empty path stands for the whole value.
pub(crate) fn parse(text: &str) -> BrpResult<ParsedPath> {
    ParsedPath::parse(text).map_err(|e| {
        BrpError::invalid_params(format!("params.path {:?} does not parse: {e}", echo(text)))
    })
}

/// The path's first `steps` steps as text; empty for the whole value.
fn prefix(path: &ParsedPath, steps: usize) -> String {
    let text: String = path.0[..steps]
        .iter()
        .map(|s| s.access.to_string())
        .collect();
    text.strip_prefix('.').map(str::to_owned).unwrap_or(text)
}

/// The error for the step `step` of `path` that `at` does not have, naming
/// `fields` when `at` is a struct (or object).
fn missing(
    text: &str,
    path: &ParsedPath,
    step: usize,
    at: &str,
    fields: Option<Vec<&str>>,
) -> BrpError {
    let access = &path.0[step].access;
    let place = prefix(path, step);
    let value = if place.is_empty() {
        "the value"
    } else {
        &place
    };
    let message = format!(
        "params.path {:?}: {value} ({at}) has no `{access}`",
        echo(text)
    );
    match fields {
        Some(fields) => {
            BrpError::invalid_params(format!("{message}; its fields are: {}", fields.join(", ")))
                .with_data(json!({ "path": place, "fields": fields }))
        }
        None => BrpError::invalid_params(message),
    }
}

/// The value at `path` in the reflected `root`; the error names the first
/// step that does not exist and the fields at that level.
pub(crate) fn target<'a>(
    root: &'a dyn PartialReflect,
    path: &ParsedPath,
    text: &str,
) -> BrpResult<&'a dyn PartialReflect> {
    let mut at = root;
    for (step, access) in path.0.iter().enumerate() {
        let single = ParsedPath(vec![OffsetAccess {
            access: access.access.clone(),
            offset: None,
        }]);
        match (&single).reflect_element(at) {
            Ok(next) => at = next,
            Err(_) => {
                let what = at
                    .get_represented_type_info()
                    .map_or("a value of no known type", |info| info.type_path());
                let (kind, fields) = match at.reflect_ref() {
                    ReflectRef::Struct(s) => (
                        format!("a `{what}`"),
                        Some((0..s.field_len()).filter_map(|i| s.name_at(i)).collect()),
                    ),
                    ReflectRef::List(l) => (format!("a list of {} elements", l.len()), None),
                    ReflectRef::Array(a) => (format!("an array of {} elements", a.len()), None),
                    ReflectRef::TupleStruct(t) => {
                        (format!("a `{what}` of {} fields", t.field_len()), None)
                    }
                    ReflectRef::Tuple(t) => (format!("a tuple of {} fields", t.field_len()), None),
                    _ => (format!("a `{what}`"), None),
                };
                return Err(missing(text, path, step, &kind, fields));
            }
        }
    }
    Ok(at)
}

/// Replaces the value at `path` in `root` by `value`, which [`target`]
/// found to exist and to be of its type.
pub(crate) fn set(
    root: &mut dyn PartialReflect,
    path: &ParsedPath,
    value: Box<dyn Reflect>,
) -> BrpResult<()> {
    let lost = || BrpError::internal("the field checked for MUTATE changed before the write");
    let target = path.reflect_element_mut(root).map_err(|_| lost())?;
    let target = target.try_as_reflect_mut().ok_or_else(lost)?;
    target.set(value).map_err(|_| lost())
}

/// One step into a JSON value, if it has it.
fn json_step<'a>(value: &'a Value, access: &Access) -> Option<&'a Value> {
    match (value, access) {
        (Value::Object(object), Access::Field(key)) => object.get(key.as_ref()),
        (Value::Array(list), Access::ListIndex(i) | Access::TupleIndex(i)) => list.get(*i),
        _ => None,
    }
}

/// One step into a JSON value, mutably, if it has it.
fn json_step_mut<'a>(value: &'a mut Value, access: &Access) -> Option<&'a mut Value> {
    match (value, access) {
        (Value::Object(object), Access::Field(key)) => object.get_mut(key.as_ref()),
        (Value::Array(list), Access::ListIndex(i) | Access::TupleIndex(i)) => list.get_mut(*i),
        _ => None,
    }
}

/// Checks that `path` exists in the JSON value `root`: every step is a key
/// of an object or an index of a list. The error names the first step that
/// does not exist and the keys at that level.
pub(crate) fn check_json(root: &Value, path: &ParsedPath, text: &str) -> BrpResult<()> {
    let mut at = root;
    for (step, access) in path.0.iter().enumerate() {
        match json_step(at, &access.access) {
            Some(next) => at = next,
            None => {
                let (kind, fields) = match at {
                    Value::Object(object) => (
                        "an object".to_owned(),
                        Some(object.keys().map(String::as_str).collect()),
                    ),
                    Value::Array(list) => (format!("a list of {} elements", list.len()), None),
                    other => (crate::params::kind(other).to_owned(), None),
                };
                return Err(missing(text, path, step, &kind, fields));
            }
        }
    }
    Ok(())
}

/// Replaces the value at `path` in the JSON `root`, which [`check_json`]
/// found to exist.
pub(crate) fn set_json(root: &mut Value, path: &ParsedPath, value: Value) -> BrpResult<()> {
    let mut at = root;
    for access in &path.0 {
        at = json_step_mut(at, &access.access).ok_or_else(|| {
            BrpError::internal("the field checked for MUTATE changed before the write")
        })?;
    }
    *at = value;
    Ok(())
}
