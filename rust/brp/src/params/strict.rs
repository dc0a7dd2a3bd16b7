//! The two rules every JSON text of a request keeps, so that it reads the
//! same to every reader (docs/protocol.md, "Duplicate keys and numbers"):
//! no object holds a key twice, and every number reads as it is written
//! (no integer beyond 64 bits, no non-zero number that reads as 0, none
//! beyond a double's range).
//!
//! [`scan`] checks a text in one iterative pass and names the path of what
//! it refuses. [`Strict`] reads a `Value` as serde_json does, and notes on
//! the way, for nothing more than a comparison, whether the text may break
//! a rule; only then is the text scanned.

use super::echo;
use serde::de::{self, DeserializeSeed, MapAccess, SeqAccess, Visitor};
use serde_json::{Map, Number, Value};
use std::borrow::Cow;
use std::fmt;

/// serde_json's nesting limit (docs/limits.md). A scan stops deeper than
/// this: the parse that reads the text refuses it.
const MAX_DEPTH: usize = 128;

/// What a text breaks, and where.
#[derive(Debug, PartialEq, Eq)]
pub(crate) struct Fault {
    /// The path from the text's root: `.key` and `[index]` steps, empty at
    /// the root.
    path: String,
    /// Which rule, with the offending token.
    kind: Breach,
}

/// A rule a text breaks.
#[derive(Debug, PartialEq, Eq)]
enum Breach {
    /// An object holds the key at the end of the path twice.
    Duplicate,
    /// An integer that fits neither `i64` nor `u64`.
    Integer(String),
    /// A non-zero number that reads as 0.
    Underflow(String),
    /// A number beyond a double's range.
    Overflow(String),
}

impl Fault {
    /// The message for the fault in the text at `at` (`"params"`, or empty
    /// for a path relative to the value), e.g. `duplicate field params.entity`.
    pub(crate) fn message(&self, at: &str) -> String {
        let place = format!("{at}{}", self.path);
        let place = place.strip_prefix('.').unwrap_or(&place);
        let (token, what) = match &self.kind {
            Breach::Duplicate => return format!("duplicate field {place}"),
            Breach::Integer(token) => {
                let float = token.parse::<f64>().ok().filter(|f| f.is_finite());
                let fix = match float {
                    Some(float) => format!("write it as a float ({float:e}) or as a string"),
                    None => "write it as a string".to_owned(),
                };
                (
                    token,
                    format!("is an integer beyond 64 bits, which a JSON reader may round: {fix}"),
                )
            }
            Breach::Underflow(token) => (
                token,
                "is too small for a double and would read as 0: write 0, or the number as a string"
                    .to_owned(),
            ),
            Breach::Overflow(token) => (
                token,
                "is beyond a double's range (±1.7976931348623157e308): write the number as a string"
                    .to_owned(),
            ),
        };
        let token = echo(token);
        if place.is_empty() {
            format!("{token} {what}")
        } else {
            format!("{place}: {token} {what}")
        }
    }
}

/// What [`scan`] learnt of a text that keeps the rules.
#[derive(Debug, Default, PartialEq, Eq)]
pub(crate) struct Scanned {
    /// A number is beyond `f32`'s range (±3.4e38): a value read from the
    /// text may hold an `f32` that came out infinite.
    pub(crate) beyond_f32: bool,
}

/// Checks the JSON text `text` against the rules, in one pass without
/// recursion. Text that is not JSON is checked as far as it reads; the
/// parse that follows refuses it.
pub(crate) fn scan(text: &str) -> Result<Scanned, Fault> {
    Scanner {
        text,
        open: Vec::new(),
        keys: Vec::new(),
    }
    .run()
}

/// A container the scan is inside.
enum Open {
    /// An object whose keys start at this index of [`Scanner::keys`].
    Object(usize),
    /// A list, at the element of this index.
    List(usize),
}

/// The state of one [`scan`].
struct Scanner<'t> {
    text: &'t str,
    /// The open containers, outermost first.
    open: Vec<Open>,
    /// The keys of the open objects, each object's after its parent's.
    keys: Vec<Cow<'t, str>>,
}

impl<'t> Scanner<'t> {
    fn run(mut self) -> Result<Scanned, Fault> {
        let bytes = self.text.as_bytes();
        let mut scanned = Scanned::default();
        let mut at = 0;
        let mut key_next = false;
        while let Some(&byte) = bytes.get(at) {
            let start = at;
            at += 1;
            match byte {
                b'{' | b'[' if self.open.len() == MAX_DEPTH => break,
                b'{' => {
                    self.open.push(Open::Object(self.keys.len()));
                    key_next = true;
                }
                b'[' => {
                    self.open.push(Open::List(0));
                    key_next = false;
                }
                b',' => match self.open.last_mut() {
                    Some(Open::List(index)) => *index += 1,
                    Some(Open::Object(_)) => key_next = true,
                    None => break,
                },
                b'}' => {
                    let Some(&Open::Object(first)) = self.open.last() else {
                        break;
                    };
                    self.close(first)?;
                    self.open.pop();
                    self.keys.truncate(first);
                    key_next = false;
                }
                b']' => {
                    let Some(Open::List(_)) = self.open.pop() else {
                        break;
                    };
                    key_next = false;
                }
                b'"' => {
                    // Only a quote or the end stops the string, so `at`
                    // ends on a character boundary.
                    let mut escaped = false;
                    while let Some(&byte) = bytes.get(at) {
                        at += 1;
                        match byte {
                            b'"' => break,
                            b'\\' => {
                                escaped = true;
                                at += 1;
                            }
                            _ => {}
                        }
                    }
                    at = at.min(bytes.len());
                    if key_next {
                        self.keys.push(key(&self.text[start..at], escaped));
                        key_next = false;
                    }
                }
                b'-' | b'0'..=b'9' => {
                    let (mut fraction, mut exponent) = (false, false);
                    while let Some(&byte) = bytes.get(at) {
                        match byte {
                            b'0'..=b'9' | b'-' | b'+' => {}
                            b'.' => fraction = true,
                            b'e' | b'E' => exponent = true,
                            _ => break,
                        }
                        at += 1;
                    }
                    let token = &self.text[start..at];
                    let read = if fraction || exponent {
                        float(token, exponent)
                    } else {
                        integer(token)
                    };
                    match read {
                        Ok(beyond_f32) => scanned.beyond_f32 |= beyond_f32,
                        Err(kind) => return Err(self.fault(self.open.len(), None, kind)),
                    }
                }
                _ => {}
            }
        }
        Ok(scanned)
    }

    /// Checks the keys of the object being closed, from index `first` of
    /// `keys`, for one given twice.
    fn close(&mut self, first: usize) -> Result<(), Fault> {
        let keys = &mut self.keys[first..];
        if keys.len() < 2 {
            return Ok(());
        }
        keys.sort_unstable();
        let Some(twice) = keys.windows(2).position(|pair| pair[0] == pair[1]) else {
            return Ok(());
        };
        let key = keys[twice].clone();
        Err(self.fault(self.open.len() - 1, Some(&key), Breach::Duplicate))
    }

    /// The fault `kind` at the path through the `depth` outermost open
    /// containers, then `key`.
    fn fault(&self, depth: usize, key: Option<&str>, kind: Breach) -> Fault {
        let mut path = String::new();
        for (n, open) in self.open[..depth].iter().enumerate() {
            match *open {
                Open::List(index) => path.push_str(&format!("[{index}]")),
                Open::Object(first) => {
                    // The object's last key so far is the one being read.
                    let end = self.open[n + 1..]
                        .iter()
                        .find_map(|open| match open {
                            Open::Object(first) => Some(*first),
                            Open::List(_) => None,
                        })
                        .unwrap_or(self.keys.len());
                    if let Some(last) = self.keys[first..end].last() {
                        push_key(&mut path, last);
                    }
                }
            }
        }
        if let Some(key) = key {
            push_key(&mut path, key);
        }
        Fault { path, kind }
    }
}

/// Appends the step `.key` to `path`.
fn push_key(path: &mut String, key: &str) {
    path.push('.');
    path.push_str(&echo(key));
}

/// The key the string token `token` (quotes included) stands for; one
/// with an escape is decoded.
fn key(token: &str, escaped: bool) -> Cow<'_, str> {
    let inner = token
        .strip_prefix('"')
        .and_then(|t| t.strip_suffix('"'))
        .unwrap_or(token);
    if !escaped {
        return Cow::Borrowed(inner);
    }
    // A key that does not decode (a lone surrogate) is compared as written;
    // the parse refuses it.
    serde_json::from_str(token).map_or(Cow::Borrowed(inner), Cow::Owned)
}

/// Checks the integer token `token` (digits and a sign); never beyond
/// `f32`'s range once it fits 64 bits.
fn integer(token: &str) -> Result<bool, Breach> {
    // 18 digits fit an `i64`; longer ones are parsed to be sure.
    let fits = token.trim_start_matches('-').len() <= 18
        || token.parse::<i64>().is_ok()
        || token.parse::<u64>().is_ok();
    if fits {
        Ok(false)
    } else {
        Err(Breach::Integer(token.to_owned()))
    }
}

/// Checks the number token `token` that has a fraction or an `exponent`;
/// `Ok(true)` when it is beyond `f32`'s range.
fn float(token: &str, exponent: bool) -> Result<bool, Breach> {
    // Without an exponent, 39 characters hold no number beyond `f32`'s
    // range, nor one too small for a double.
    if !exponent && token.len() <= 39 {
        return Ok(false);
    }
    let Ok(value) = token.parse::<f64>() else {
        return Ok(false); // not a number: the parse refuses it
    };
    let mantissa = token.split(['e', 'E']).next().unwrap_or_default();
    if value == 0.0 && mantissa.bytes().any(|b| matches!(b, b'1'..=b'9')) {
        Err(Breach::Underflow(token.to_owned()))
    } else if value.is_infinite() {
        Err(Breach::Overflow(token.to_owned()))
    } else {
        Ok(value.abs() > f64::from(f32::MAX))
    }
}

/// Reads a `Value` as serde_json does, refusing a duplicate key and setting
/// the flag when the text may break a rule: a key given twice, or a float
/// that reads as 0 or as an integer beyond 2^63 (underflow, or an integer
/// beyond 64 bits). A flagged text is to be [`scan`]ned; the flag costs a
/// comparison per float. Nesting is bounded by serde_json's limit.
pub(crate) struct Strict<'f>(pub(crate) &'f mut bool);

impl<'de> DeserializeSeed<'de> for Strict<'_> {
    type Value = Value;

    fn deserialize<D: de::Deserializer<'de>>(self, deserializer: D) -> Result<Value, D::Error> {
        deserializer.deserialize_any(self)
    }
}

impl<'de> Visitor<'de> for Strict<'_> {
    type Value = Value;

    fn expecting(&self, f: &mut fmt::Formatter) -> fmt::Result {
        f.write_str("any JSON value")
    }

    fn visit_bool<E>(self, value: bool) -> Result<Value, E> {
        Ok(Value::Bool(value))
    }

    fn visit_i64<E>(self, value: i64) -> Result<Value, E> {
        Ok(Value::from(value))
    }

    fn visit_u64<E>(self, value: u64) -> Result<Value, E> {
        Ok(Value::from(value))
    }

    fn visit_f64<E>(self, value: f64) -> Result<Value, E> {
        /// 2^63: an integer token beyond 64 bits reads as a float at least this.
        const BEYOND: f64 = 9_223_372_036_854_775_808.0;
        if value == 0.0 || (value.abs() >= BEYOND && value.fract() == 0.0) {
            *self.0 = true;
        }
        Ok(Number::from_f64(value).map_or(Value::Null, Value::Number))
    }

    fn visit_str<E>(self, value: &str) -> Result<Value, E> {
        Ok(Value::String(value.to_owned()))
    }

    fn visit_string<E>(self, value: String) -> Result<Value, E> {
        Ok(Value::String(value))
    }

    fn visit_unit<E>(self) -> Result<Value, E> {
        Ok(Value::Null)
    }

    fn visit_seq<A: SeqAccess<'de>>(self, mut seq: A) -> Result<Value, A::Error> {
        let mut list = Vec::with_capacity(seq.size_hint().unwrap_or(0).min(64));
        while let Some(value) = seq.next_element_seed(Strict(&mut *self.0))? {
            list.push(value);
        }
        Ok(Value::Array(list))
    }

    fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> Result<Value, A::Error> {
        let mut object = Map::new();
        while let Some(key) = map.next_key::<String>()? {
            let value = map.next_value_seed(Strict(&mut *self.0))?;
            if object.insert(key, value).is_some() {
                *self.0 = true;
                return Err(de::Error::custom("a key given twice"));
            }
        }
        Ok(Value::Object(object))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn message(text: &str) -> Option<String> {
        scan(text).err().map(|fault| fault.message("params"))
    }

    #[test]
    fn numbers_beyond_f32_are_noted() {
        for (text, beyond) in [
            ("[1.5, 3e38, -3.4e38, 18446744073709551615]", false),
            ("[1.5, 3.5e38]", true),
            ("{\"x\": -1e39}", true),
            ("[1000000000000000000000000000000000000000.5]", true),
        ] {
            assert_eq!(scan(text), Ok(Scanned { beyond_f32: beyond }), "{text}");
        }
    }

    #[test]
    fn duplicates_are_named_by_their_path() {
        for (text, expected) in [
            (
                r#"{"entity": 1, "entity": 2}"#,
                "duplicate field params.entity",
            ),
            (
                r#"{"a": [{"x": 1}, {"y": {"k": 1, "j": [], "k": 2}}]}"#,
                "duplicate field params.a[1].y.k",
            ),
            (r#"{"a": 1, "\u0061": 2}"#, "duplicate field params.a"),
            (
                r#"{"b": {}, "a": {"x": 1}, "b": 0}"#,
                "duplicate field params.b",
            ),
        ] {
            assert_eq!(message(text).as_deref(), Some(expected), "{text}");
        }
    }

    #[test]
    fn the_same_key_in_different_objects_is_no_duplicate() {
        for text in [
            r#"{"a": {"a": 1}, "b": {"a": 1}}"#,
            r#"[{"a": 1}, {"a": 2}]"#,
            r#"{"a": "\"a\": 1, \"a\": 2", "k": "a"}"#,
            r#"{"a\\": 1, "a": 2}"#,
        ] {
            assert_eq!(message(text), None, "{text}");
        }
    }

    #[test]
    fn numbers_that_do_not_read_as_written_are_refused() {
        for (text, expected) in [
            (
                r#"{"x": 999999999999999999999999999999}"#,
                "params.x: 999999999999999999999999999999 is an integer beyond 64 bits, \
                 which a JSON reader may round: write it as a float (1e30) or as a string",
            ),
            (
                "[0, -9223372036854775809]",
                "params[1]: -9223372036854775809 is an integer beyond 64 bits",
            ),
            (
                "{\"y\": [1e-400]}",
                "params.y[0]: 1e-400 is too small for a double",
            ),
            ("-0.0001e-330", "params: -0.0001e-330 is too small"),
            (
                "[1, 2, 1e309]",
                "params[2]: 1e309 is beyond a double's range",
            ),
        ] {
            let message = message(text).unwrap_or_default();
            assert!(message.starts_with(expected), "{text}: {message}");
        }
    }

    #[test]
    fn numbers_that_read_as_written_pass() {
        for text in [
            "[0, -0, 0.0, 0e-400, -0.000e5, 1e-320, 1.7976931348623157e308]",
            "[9223372036854775807, -9223372036854775808, 18446744073709551615]",
            "[1e30, 123456789012345678, 0.5, -2.5E+3]",
        ] {
            assert_eq!(message(text), None, "{text}");
        }
    }

    #[test]
    fn text_that_is_not_json_is_scanned_without_fault_or_panic() {
        for text in [
            "",
            "}",
            "]]",
            "{]",
            "{\"a",
            "{\"a\": 1, \"a\"",
            "{1: 2}",
            "[,,",
            "\"\\",
        ] {
            assert_eq!(message(text), None, "{text}");
        }
        let deep = "[".repeat(10_000) + "1e-400";
        assert_eq!(message(&deep), None);
    }

    #[test]
    fn strict_values_flag_what_may_break_a_rule() {
        let read = |text: &str| {
            let mut flagged = false;
            let mut deserializer = serde_json::Deserializer::from_str(text);
            let value = Strict(&mut flagged).deserialize(&mut deserializer);
            (value.ok(), flagged)
        };
        let (value, flagged) = read(r#"{"a": [1, -2, 1.5, "s", null, true, {}]}"#);
        assert_eq!(
            value,
            serde_json::from_str(r#"{"a": [1, -2, 1.5, "s", null, true, {}]}"#).ok()
        );
        assert!(!flagged);
        for text in [
            "[0.0]",
            "1e-400",
            "1e19",
            "-99999999999999999999",
            r#"{"a": 1, "a": 1}"#,
        ] {
            assert!(read(text).1, "{text}");
        }
        assert_eq!(read(r#"{"a": 1, "a": 1}"#).0, None);
    }
}
