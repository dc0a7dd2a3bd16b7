//! Answers written by hand around values that are already JSON text (the
//! value cache's), so that writing them copies bytes: keys are escaped by
//! serde_json, numbers formatted by itoa. And [`Nested`], which escapes a
//! value's text into `{"JSON": "<text>"}` as serde_json writes it.

use bevy_ecs::entity::Entity;
use serde::Serialize;
use serde_json::ser::{CharEscape, CompactFormatter, Formatter};
use std::io;

/// A first guess at the bytes of an answer of `rows` rows, to start its
/// buffer with: 128 a row, up to 1 MiB (past that, growing costs little).
pub(crate) fn rows_capacity(rows: usize) -> usize {
    rows.saturating_mul(128).min(1 << 20)
}

/// Appends `text` as a JSON string, quoted and escaped.
pub(crate) fn string(out: &mut String, text: &str) {
    let plain = |b: u8| b >= 0x20 && b != b'"' && b != b'\\';
    if text.bytes().all(plain) {
        out.push('"');
        out.push_str(text);
        out.push('"');
    } else {
        push(out, text);
    }
}

/// Appends `value` as JSON.
pub(crate) fn push(out: &mut String, value: &(impl Serialize + ?Sized)) {
    // Strings, numbers, and maps of them, the only values pushed, cannot
    // fail to serialize.
    drop(serde_json::to_writer(Utf8(out), value));
}

/// Appends `entity` as docs/protocol.md writes it, `"<index>v<generation>"`.
pub(crate) fn entity_id(out: &mut String, entity: Entity) {
    let mut buffer = itoa::Buffer::new();
    out.push('"');
    out.push_str(buffer.format(entity.index_u32()));
    out.push('v');
    out.push_str(buffer.format(entity.generation().to_bits()));
    out.push('"');
}

/// Appends `entity` as bevy_remote writes it, its `u64` bits.
pub(crate) fn entity_bits(out: &mut String, entity: Entity) {
    out.push_str(itoa::Buffer::new().format(entity.to_bits()));
}

/// A JSON object being appended to a `String`.
pub(crate) struct Object<'a> {
    out: &'a mut String,
    empty: bool,
}

impl<'a> Object<'a> {
    /// Opens an object at the end of `out`.
    pub(crate) fn new(out: &'a mut String) -> Self {
        out.push('{');
        Self { out, empty: true }
    }

    /// Starts the member `key`; its value is to be appended to the result.
    pub(crate) fn key(&mut self, key: &str) -> &mut String {
        if !std::mem::take(&mut self.empty) {
            self.out.push(',');
        }
        string(self.out, key);
        self.out.push(':');
        self.out
    }

    /// Closes the object.
    pub(crate) fn end(self) {
        self.out.push('}');
    }
}

/// `"true"` or `"false"`.
pub(crate) fn boolean(value: bool) -> &'static str {
    if value { "true" } else { "false" }
}

/// Appends the UTF-8 text serde_json writes to a `String`.
pub(crate) struct Utf8<'a>(pub &'a mut String);

impl io::Write for Utf8<'_> {
    fn write(&mut self, bytes: &[u8]) -> io::Result<usize> {
        self.0.push_str(utf8(bytes)?);
        Ok(bytes.len())
    }

    fn flush(&mut self) -> io::Result<()> {
        Ok(())
    }
}

/// Appends JSON `text` as the contents of a JSON string. JSON text holds no
/// control characters (they are escaped inside its strings), so only `"`
/// and `\` need escaping.
pub(crate) fn escape_json(out: &mut String, text: &str) {
    out.reserve(text.len() + 16);
    let mut start = 0;
    for (at, byte) in text.bytes().enumerate() {
        if byte == b'"' || byte == b'\\' {
            out.push_str(&text[start..at]);
            out.push('\\');
            // The escaped character starts the next run.
            start = at;
        }
    }
    out.push_str(&text[start..]);
}

/// A serde_json formatter that writes JSON text escaped as the contents of
/// a JSON string (the text of `{"JSON": text}`), in the same pass: string
/// quotes become `\"`, and each escape inside a string is escaped again.
pub(crate) struct Nested;

impl Formatter for Nested {
    fn begin_string<W: ?Sized + io::Write>(&mut self, writer: &mut W) -> io::Result<()> {
        writer.write_all(br#"\""#)
    }

    fn end_string<W: ?Sized + io::Write>(&mut self, writer: &mut W) -> io::Result<()> {
        writer.write_all(br#"\""#)
    }

    fn write_char_escape<W: ?Sized + io::Write>(
        &mut self,
        writer: &mut W,
        char_escape: CharEscape,
    ) -> io::Result<()> {
        // The plain escape, e.g. `\n` or `\u001f`, with its `\` and `"` escaped.
        let mut plain = [0; 6];
        let len = {
            let mut rest = &mut plain[..];
            CompactFormatter.write_char_escape(&mut rest, char_escape)?;
            6 - rest.len()
        };
        for &byte in &plain[..len] {
            match byte {
                b'"' | b'\\' => writer.write_all(&[b'\\', byte])?,
                _ => writer.write_all(&[byte])?,
            }
        }
        Ok(())
    }

    fn write_raw_fragment<W: ?Sized + io::Write>(
        &mut self,
        writer: &mut W,
        fragment: &str,
    ) -> io::Result<()> {
        let mut escaped = String::with_capacity(fragment.len() + 16);
        escape_json(&mut escaped, fragment);
        writer.write_all(escaped.as_bytes())
    }
}

/// `bytes` as text. serde_json writes whole UTF-8 sequences in each call
/// (it splits strings only at the ASCII characters it escapes).
fn utf8(bytes: &[u8]) -> io::Result<&str> {
    std::str::from_utf8(bytes).map_err(|e| io::Error::new(io::ErrorKind::InvalidData, e))
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::{Value, json};

    /// `value`'s text escaped by `escape_json` and written by [`Nested`],
    /// beside serde_json's escaping of it.
    fn escaped(value: &Value) -> (String, String, String) {
        let text = serde_json::to_string(value).unwrap();
        let mut out = String::new();
        escape_json(&mut out, &text);
        let mut nested = Vec::new();
        value
            .serialize(&mut serde_json::Serializer::with_formatter(
                &mut nested,
                Nested,
            ))
            .unwrap();
        let whole = serde_json::to_string(&text).unwrap();
        let nested = String::from_utf8(nested).unwrap();
        (out, nested, whole[1..whole.len() - 1].to_owned())
    }

    #[test]
    fn escaping_json_text_matches_serde_json() {
        for value in [
            json!({"quote": "say \"hi\"", "back\\slash": "a\\b"}),
            json!([
                "tab\there",
                "nl\nthere",
                "\u{1}\u{1f}",
                "\u{7f}",
                "\u{8}\u{c}\r/"
            ]),
            json!({"nested": {"JSON": "{\"a\\\"b\": [\"\\\\\"]}"}}),
            json!({"unicode": "é 日本 🦀 \u{2028}"}),
            json!([1.5, -0.0, 1e300, null, true]),
        ] {
            let (escaped, nested, whole) = escaped(&value);
            assert_eq!(escaped, whole, "{value}");
            assert_eq!(nested, whole, "{value}");
        }
    }

    #[test]
    fn objects_and_ids() {
        let mut out = String::new();
        let mut object = Object::new(&mut out);
        object.key("a\"b").push('1');
        object.key("c").push_str(boolean(false));
        entity_id(object.key("id"), Entity::from_raw_u32(3).unwrap());
        string(object.key("\u{1}"), "é\n");
        object.end();
        assert_eq!(out, r#"{"a\"b":1,"c":false,"id":"3v0","\u0001":"é\n"}"#);
        let parsed: Value = serde_json::from_str(&out).unwrap();
        assert_eq!(parsed["a\"b"], 1);
    }
}
