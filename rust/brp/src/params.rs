//! Reading a request's `params` with errors that name the offending field.

use crate::error::{BrpError, BrpResult};
use serde_json::{Map, Value};

/// The `params` object of a request (`null` or absent reads as empty).
pub(crate) struct Params<'a> {
    object: Option<&'a Map<String, Value>>,
}

impl<'a> Params<'a> {
    /// Wraps `params`, which must be an object, `null` or absent.
    pub(crate) fn new(params: &'a Value) -> BrpResult<Self> {
        match params {
            Value::Object(object) => Ok(Self {
                object: Some(object),
            }),
            Value::Null => Ok(Self { object: None }),
            other => Err(BrpError::invalid_params(format!(
                "params must be an object, got {}",
                kind(other)
            ))),
        }
    }

    /// Fails on a key outside `allowed`, so a misspelt parameter is not
    /// silently ignored.
    pub(crate) fn only(&self, allowed: &[&str]) -> BrpResult<()> {
        only(self.object, "params", allowed)
    }

    /// The field `key`, if present and not `null`.
    pub(crate) fn get(&self, key: &str) -> Option<&'a Value> {
        self.object?.get(key).filter(|v| !v.is_null())
    }

    /// True when the field `key` is present, even as `null`.
    pub(crate) fn has(&self, key: &str) -> bool {
        self.object.is_some_and(|object| object.contains_key(key))
    }

    /// The required field `key`.
    pub(crate) fn required(&self, key: &str) -> BrpResult<&'a Value> {
        self.get(key)
            .ok_or_else(|| BrpError::invalid_params(format!("missing params.{key}")))
    }

    /// The required string field `key`.
    pub(crate) fn str(&self, key: &str) -> BrpResult<&'a str> {
        self.required(key)?
            .as_str()
            .ok_or_else(|| BrpError::invalid_params(format!("params.{key} must be a string")))
    }

    /// The required object field `key`.
    pub(crate) fn object(&self, key: &str) -> BrpResult<&'a Map<String, Value>> {
        object(self.required(key)?, &format!("params.{key}"))
    }

    /// The required list of component names `key`.
    pub(crate) fn names(&self, key: &str) -> BrpResult<Vec<&'a str>> {
        names(self.required(key)?, &format!("params.{key}"))
    }
}

/// Fails on a key of `object` outside `allowed`.
pub(crate) fn only(
    object: Option<&Map<String, Value>>,
    at: &str,
    allowed: &[&str],
) -> BrpResult<()> {
    match object
        .into_iter()
        .flatten()
        .find(|(key, _)| !allowed.contains(&key.as_str()))
    {
        Some((key, _)) => Err(BrpError::invalid_params(format!(
            "unknown field {at}.{key}; expected one of: {}",
            allowed.join(", ")
        ))),
        None => Ok(()),
    }
}

/// `value` as an object, or an error naming `at`.
pub(crate) fn object<'a>(value: &'a Value, at: &str) -> BrpResult<&'a Map<String, Value>> {
    value.as_object().ok_or_else(|| {
        BrpError::invalid_params(format!("{at} must be an object, got {}", kind(value)))
    })
}

/// `value` as a list of component names, or an error naming `at`.
pub(crate) fn names<'a>(value: &'a Value, at: &str) -> BrpResult<Vec<&'a str>> {
    let not_names = || BrpError::invalid_params(format!("{at} must be a list of component names"));
    value
        .as_array()
        .ok_or_else(not_names)?
        .iter()
        .map(|name| name.as_str().ok_or_else(not_names))
        .collect()
}

/// A JSON value's type, for messages.
pub(crate) fn kind(value: &Value) -> &'static str {
    match value {
        Value::Null => "null",
        Value::Bool(_) => "a boolean",
        Value::Number(_) => "a number",
        Value::String(_) => "a string",
        Value::Array(_) => "a list",
        Value::Object(_) => "an object",
    }
}
