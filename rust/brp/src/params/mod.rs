//! Reading a request's `params` with errors that name the offending field,
//! and the rules every JSON text of a request keeps ([`strict`]).

pub(crate) mod strict;

use crate::error::{BrpError, BrpResult};
use serde::Deserializer as _;
use serde::de::{MapAccess, Visitor};
use serde_json::map::Entry;
use serde_json::value::RawValue;
use serde_json::{Map, Value};
use std::borrow::Cow;
use std::fmt;

/// The `params` object of a request (`null` or absent reads as empty).
///
/// It is read from the request's raw text, and only the fields the request
/// takes are parsed: an unknown field is an error before any of its value is
/// read, so no request can make the library build a tree of a part it never
/// uses.
pub(crate) struct Params {
    object: Option<Map<String, Value>>,
}

impl Params {
    /// Reads `raw` (absent, `null` or an object whose keys are all in
    /// `allowed`, each once) and parses the fields it has, refusing what
    /// breaks the rules of [`strict`].
    pub(crate) fn read(raw: Option<&RawValue>, allowed: &[&str]) -> BrpResult<Self> {
        let Some(raw) = raw.filter(|raw| raw.get() != "null") else {
            return Ok(Self { object: None });
        };
        // One pass: each field is checked before its value is read, and
        // only the values of allowed fields are parsed.
        let mut refused = None;
        let mut suspect = false;
        let reader = Fields {
            allowed,
            refused: &mut refused,
            suspect: &mut suspect,
        };
        let mut deserializer = serde_json::Deserializer::from_str(raw.get());
        let read = deserializer.deserialize_map(reader);
        // Only a text flagged while it was read is scanned again, to say
        // exactly which rule it breaks and where.
        if suspect && let Err(fault) = strict::scan(raw.get()) {
            return Err(BrpError::invalid_params(fault.message("params")));
        }
        match read {
            Ok(object) => Ok(Self {
                object: Some(object),
            }),
            Err(_) => Err(refused.unwrap_or_else(|| {
                BrpError::invalid_params(format!(
                    "params must be an object, got {}",
                    raw_kind(raw.get())
                ))
            })),
        }
    }

    /// The field `key`, if present and not `null`.
    pub(crate) fn get(&self, key: &str) -> Option<&Value> {
        self.object.as_ref()?.get(key).filter(|v| !v.is_null())
    }

    /// True when the field `key` is present, even as `null`.
    pub(crate) fn has(&self, key: &str) -> bool {
        self.object
            .as_ref()
            .is_some_and(|object| object.contains_key(key))
    }

    /// The required field `key`.
    pub(crate) fn required(&self, key: &str) -> BrpResult<&Value> {
        self.get(key)
            .ok_or_else(|| BrpError::invalid_params(format!("missing params.{key}")))
    }

    /// The required string field `key`.
    pub(crate) fn str(&self, key: &str) -> BrpResult<&str> {
        self.required(key)?
            .as_str()
            .ok_or_else(|| BrpError::invalid_params(format!("params.{key} must be a string")))
    }

    /// The required object field `key`.
    pub(crate) fn object(&self, key: &str) -> BrpResult<&Map<String, Value>> {
        object(self.required(key)?, &format!("params.{key}"))
    }

    /// The required list of component names `key`.
    pub(crate) fn names(&self, key: &str) -> BrpResult<Vec<&str>> {
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
        Some((key, _)) => Err(unknown_field(at, key, allowed)),
        None => Ok(()),
    }
}

/// Reads a `params` object, refusing an unknown field before its value,
/// and a field given twice.
struct Fields<'a> {
    allowed: &'a [&'a str],
    /// Why the object was refused, when it was for a field.
    refused: &'a mut Option<BrpError>,
    /// Set when a value may break a rule of [`strict`].
    suspect: &'a mut bool,
}

impl<'de> Visitor<'de> for Fields<'_> {
    type Value = Map<String, Value>;

    fn expecting(&self, f: &mut fmt::Formatter) -> fmt::Result {
        f.write_str("an object")
    }

    fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> Result<Self::Value, A::Error> {
        use serde::de::Error as _;
        let mut object = Map::new();
        while let Some(key) = map.next_key::<Cow<'de, str>>()? {
            if !self.allowed.contains(&&*key) {
                *self.refused = Some(unknown_field("params", &key, self.allowed));
                return Err(A::Error::custom("refused"));
            }
            // The text passed the raw reading; what fails here (a lone
            // UTF-16 surrogate) is still JSON that is not valid, unless the
            // scan finds a rule broken.
            let value = map
                .next_value_seed(strict::Strict(&mut *self.suspect))
                .map_err(|e| {
                    *self.suspect = true;
                    *self.refused = Some(BrpError::parse(format!(
                        "request is not valid JSON: params.{key}: {e}"
                    )));
                    e
                })?;
            match object.entry(key.into_owned()) {
                Entry::Vacant(field) => {
                    field.insert(value);
                }
                Entry::Occupied(field) => {
                    *self.refused = Some(BrpError::invalid_params(format!(
                        "duplicate field params.{}",
                        echo(field.key())
                    )));
                    return Err(A::Error::custom("refused"));
                }
            }
        }
        Ok(object)
    }
}

fn unknown_field(at: &str, key: &str, allowed: &[&str]) -> BrpError {
    let key = echo(key);
    if allowed.is_empty() {
        return BrpError::invalid_params(format!("unknown field {at}.{key}; {at} must be empty"));
    }
    BrpError::invalid_params(format!(
        "unknown field {at}.{key}; expected one of: {}",
        allowed.join(", ")
    ))
}

/// The fields of the JSON object `raw`, in order, their values unparsed; or
/// the kind of value `raw` is instead.
pub(crate) fn raw_fields(raw: &RawValue) -> Result<Vec<(Cow<'_, str>, &RawValue)>, &'static str> {
    struct Fields;
    impl<'de> Visitor<'de> for Fields {
        type Value = Vec<(Cow<'de, str>, &'de RawValue)>;
        fn expecting(&self, f: &mut fmt::Formatter) -> fmt::Result {
            f.write_str("an object")
        }
        fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> Result<Self::Value, A::Error> {
            let mut fields = Vec::with_capacity(map.size_hint().unwrap_or(0).min(16));
            while let Some(key) = map.next_key::<Cow<'de, str>>()? {
                fields.push((key, map.next_value()?));
            }
            Ok(fields)
        }
    }
    let text = raw.get();
    let mut deserializer = serde_json::Deserializer::from_str(text);
    deserializer
        .deserialize_map(Fields)
        .map_err(|_| raw_kind(text))
}

/// The first key (in sorted order) that `fields` holds twice.
pub(crate) fn twice<'f>(fields: &'f [(Cow<'_, str>, &RawValue)]) -> Option<&'f str> {
    let mut keys: Vec<&str> = fields.iter().map(|(key, _)| &**key).collect();
    keys.sort_unstable();
    keys.windows(2)
        .find(|pair| pair[0] == pair[1])
        .map(|pair| pair[0])
}

/// `text` for an error message: as it is up to 80 characters, cut with an
/// ellipsis beyond, so no input is echoed at any length.
pub(crate) fn echo(text: &str) -> Cow<'_, str> {
    const MAX: usize = 80;
    match text.char_indices().nth(MAX) {
        None => Cow::Borrowed(text),
        Some((end, _)) => Cow::Owned(format!("{}…", &text[..end])),
    }
}

/// The kind of the JSON value `text` (valid JSON), for messages.
pub(crate) fn raw_kind(text: &str) -> &'static str {
    match text.trim_start().as_bytes().first() {
        Some(b'n') => "null",
        Some(b't' | b'f') => "a boolean",
        Some(b'"') => "a string",
        Some(b'[') => "a list",
        Some(b'{') => "an object",
        _ => "a number",
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
