//! What a BRP server may send back on one connection (docs/server.md):
//! HTTP/1.1 responses with the statuses the docs list (and hyper's own),
//! each body framed as its headers say, JSON bodies and server-sent events
//! that are well-formed answers, nothing after a response that closes the
//! connection; after a `101 Switching Protocols`, only frames RFC 6455 lets a
//! server send: unmasked, no reserved bit or opcode, lengths in their
//! shortest form, control frames whole and short, text messages in UTF-8
//! that are answers, one close frame with an allowed code, and nothing after
//! it.
//!
//! The server may close (or reset) a connection at any point of what it
//! sent, e.g. while the client still writes, so a stream cut short is
//! checked as far as it goes.

use super::wire;
use serde_json::Value;

/// The statuses a response may have: those of docs/server.md ("HTTP"), and
/// hyper's own: 100 Continue (for `Expect: 100-continue`) and 400, 414 and
/// 431 for request heads it cannot read.
const STATUSES: [u16; 14] = [
    100, 101, 200, 204, 400, 401, 403, 405, 408, 413, 414, 426, 431, 503,
];

/// Checks everything `bytes`, what a server sent on one connection until it
/// closed, holds; the error says what is wrong and where.
pub fn check(bytes: &[u8]) -> Result<(), String> {
    let mut at = 0;
    while at < bytes.len() {
        let rest = &bytes[at..];
        let fail = |why: String| format!("at byte {at}: {why}");
        let Some(head) = Head::parse(rest).map_err(fail)? else {
            return Ok(());
        };
        if head.status == 101 {
            return frames(&rest[head.len..]).map_err(|why| fail(format!("after the 101: {why}")));
        }
        let Some((body, len)) = body(&head, &rest[head.len..]).map_err(fail)? else {
            return Ok(());
        };
        content(&head, &body).map_err(|why| fail(format!("a {} response: {why}", head.status)))?;
        if head.closes && head.len + len < rest.len() {
            return Err(fail(
                "bytes after a response that closes the connection".to_owned(),
            ));
        }
        at += head.len + len;
    }
    Ok(())
}

/// A response's status line and the headers that frame its body.
struct Head {
    /// The status line says `HTTP/1.0` (the answer to an HTTP/1.0 request).
    http10: bool,
    status: u16,
    /// `Content-Length`.
    length: Option<usize>,
    /// `Transfer-Encoding: chunked`.
    chunked: bool,
    content_type: Option<String>,
    /// Every header, its name in lower case.
    headers: Vec<(String, String)>,
    /// The connection closes after this response.
    closes: bool,
    /// The head's bytes, its final blank line included.
    len: usize,
}

impl Head {
    /// The head at the start of `bytes`; `None` if they stop before its end
    /// (what came must still begin as a status line does).
    fn parse(bytes: &[u8]) -> Result<Option<Self>, String> {
        let Some(end) = find(bytes, b"\r\n\r\n") else {
            let start = &bytes[..bytes.len().min(9)];
            if !b"HTTP/1.1 ".starts_with(start) && !b"HTTP/1.0 ".starts_with(start) {
                return Err(format!("not a status line: {}", excerpt(bytes)));
            }
            return Ok(None);
        };
        let text = std::str::from_utf8(&bytes[..end])
            .ok()
            .filter(|text| text.is_ascii())
            .ok_or_else(|| format!("a head that is not ASCII: {}", excerpt(bytes)))?;
        let mut lines = text.split("\r\n");
        let line = lines.next().unwrap_or_default();
        let (http10, rest) = match (
            line.strip_prefix("HTTP/1.1 "),
            line.strip_prefix("HTTP/1.0 "),
        ) {
            (Some(rest), _) => (false, rest),
            (_, Some(rest)) => (true, rest),
            _ => return Err(format!("not a status line: {line:?}")),
        };
        let status = (rest.get(..3))
            .filter(|code| code.bytes().all(|b| b.is_ascii_digit()))
            .and_then(|code| code.parse().ok())
            .filter(|_| rest.as_bytes().get(3) == Some(&b' '))
            .ok_or_else(|| format!("no status code: {line:?}"))?;
        if !STATUSES.contains(&status) {
            return Err(format!(
                "status {status}, which the docs do not list: {line:?}"
            ));
        }
        let mut head = Self {
            http10,
            status,
            length: None,
            chunked: false,
            content_type: None,
            headers: Vec::new(),
            closes: http10,
            len: end + 4,
        };
        for line in lines {
            let (name, value) = (line.split_once(':'))
                .filter(|(name, _)| is_token(name))
                .ok_or_else(|| format!("not a header: {line:?}"))?;
            let (name, value) = (name.to_ascii_lowercase(), value.trim());
            match name.as_str() {
                "content-length" => {
                    let length = value.parse().ok().filter(|_| head.length.is_none());
                    head.length = Some(length.ok_or_else(|| format!("a bad {line:?}"))?);
                }
                "transfer-encoding" if value == "chunked" && !head.chunked => head.chunked = true,
                "transfer-encoding" => return Err(format!("an unexpected {line:?}")),
                "content-type" => head.content_type = Some(value.to_owned()),
                "connection" => {
                    let has = |token: &str| {
                        (value.split(',')).any(|part| part.trim().eq_ignore_ascii_case(token))
                    };
                    head.closes = has("close") || (http10 && !has("keep-alive"));
                }
                _ => {}
            }
            head.headers.push((name, value.to_owned()));
        }
        if head.chunked && head.length.is_some() {
            return Err("both Content-Length and chunked".to_owned());
        }
        head.required()?;
        Ok(Some(head))
    }

    /// Checks what docs/server.md says goes with the status: 401 names
    /// `Bearer`, 405 allows `POST`, 426 names version 13, a 101 switches to
    /// `websocket` with an accept key, and after a 408, 413 or 503 the
    /// connection closes.
    fn required(&self) -> Result<(), String> {
        let header = |name: &str| {
            (self.headers.iter())
                .find(|(n, _)| n == name)
                .map(|(_, value)| value.as_str())
        };
        let holds = match self.status {
            401 => header("www-authenticate") == Some("Bearer"),
            405 => header("allow") == Some("POST"),
            426 => header("sec-websocket-version") == Some("13"),
            101 => {
                header("upgrade").is_some_and(|v| v.eq_ignore_ascii_case("websocket"))
                    && header("sec-websocket-accept").is_some_and(|v| v.len() == 28)
            }
            408 | 413 | 503 => self.closes,
            _ => true,
        };
        match holds {
            true => Ok(()),
            false => Err(format!(
                "a {} response without what goes with it: {:?}",
                self.status, self.headers
            )),
        }
    }
}

/// The body of the response `head` at the start of `bytes` (a chunked
/// body's data joined), and the bytes it takes there; `None` if they stop
/// before its end.
fn body(head: &Head, bytes: &[u8]) -> Result<Option<(Vec<u8>, usize)>, String> {
    if head.status < 200 || head.status == 204 {
        return match (head.length, head.chunked) {
            (None | Some(0), false) => Ok(Some((Vec::new(), 0))),
            _ => Err("a body on a response that has none".to_owned()),
        };
    }
    // The answer to HEAD has the headers of the answer to GET but no body,
    // and no body of this server's begins so.
    if bytes.starts_with(b"HTTP/1.") {
        return Ok(Some((Vec::new(), 0)));
    }
    if head.chunked {
        return chunks(bytes);
    }
    match head.length {
        Some(length) => Ok(bytes.get(..length).map(|body| (body.to_vec(), length))),
        // Without chunks, HTTP/1.0 ends a body by closing.
        None if head.http10 && head.closes => Ok(Some((bytes.to_vec(), bytes.len()))),
        None => Err("a body without Content-Length or chunks".to_owned()),
    }
}

/// A chunked body at the start of `bytes`: its data and the bytes it takes.
fn chunks(bytes: &[u8]) -> Result<Option<(Vec<u8>, usize)>, String> {
    let mut data = Vec::new();
    let mut at = 0;
    loop {
        let Some(end) = find(&bytes[at..], b"\r\n") else {
            return Ok(None);
        };
        let line = &bytes[at..at + end];
        let size = (std::str::from_utf8(line).ok())
            .filter(|size| !size.is_empty() && size.len() <= 8)
            .and_then(|size| usize::from_str_radix(size, 16).ok())
            .ok_or_else(|| format!("a bad chunk size {}", excerpt(line)))?;
        let start = at + end + 2;
        let Some(chunk) = bytes.get(start..start + size + 2) else {
            return Ok(None);
        };
        let Some(chunk) = chunk.strip_suffix(b"\r\n") else {
            return Err("a chunk not ended by CRLF".to_owned());
        };
        if size == 0 {
            return Ok(Some((data, start + 2)));
        }
        data.extend_from_slice(chunk);
        at = start + size + 2;
    }
}

/// Checks a response's body against its status and content type.
fn content(head: &Head, body: &[u8]) -> Result<(), String> {
    let text = || std::str::from_utf8(body).map_err(|_| "a body not in UTF-8".to_owned());
    match (head.status, head.content_type.as_deref()) {
        (200, Some("application/json")) if !head.chunked => answer(text()?),
        (200, Some("text/event-stream")) if head.chunked || head.http10 => {
            // A body ended by closing may stop inside its last event.
            events(text()?, !head.chunked)
        }
        (200, other) => Err(format!("content type {other:?}")),
        (_, Some("text/plain")) => text().map(drop),
        (_, None) if body.is_empty() => Ok(()),
        (_, other) => Err(format!("content type {other:?}")),
    }
}

/// Checks server-sent events, each `data: <answer>` and a blank line; with
/// `cut`, the last may stop short.
fn events(text: &str, cut: bool) -> Result<(), String> {
    let mut rest = text;
    while !rest.is_empty() {
        let Some((event, after)) = rest.split_once("\n\n") else {
            let begun = rest.starts_with("data: ") || "data: ".starts_with(rest);
            return match cut && begun {
                true => Ok(()),
                false => Err(format!("not an event: {}", excerpt(rest.as_bytes()))),
            };
        };
        let data = (event.strip_prefix("data: "))
            .ok_or_else(|| format!("not an event: {}", excerpt(event.as_bytes())))?;
        answer(data)?;
        rest = after;
    }
    Ok(())
}

/// Checks an answer's text: a well-formed response ([`wire::check_response`])
/// carrying the id it carries, never an internal error.
fn answer(text: &str) -> Result<(), String> {
    let id = (serde_json::from_str::<Value>(text).ok()).and_then(|value| value.get("id")?.as_u64());
    wire::check_response(text, id).map(drop)
}

/// Checks the frames a server sent after its `101`.
fn frames(bytes: &[u8]) -> Result<(), String> {
    let mut at = 0;
    // The fragments of a text message begun and not finished.
    let mut message: Option<Vec<u8>> = None;
    while at < bytes.len() {
        let fail = |why: &str| format!("frame at {at}: {why}");
        let Some(frame) = Frame::parse(&bytes[at..]).map_err(|why| fail(&why))? else {
            return Ok(());
        };
        let last = at + frame.len == bytes.len();
        match frame.opcode {
            0 | 1 => {
                let mut text = match (frame.opcode, message.take()) {
                    (0, Some(text)) => text,
                    (1, None) => Vec::new(),
                    (0, None) => return Err(fail("a continuation of no message")),
                    _ => return Err(fail("a text frame inside a fragmented message")),
                };
                text.extend_from_slice(frame.payload);
                if !frame.fin {
                    message = Some(text);
                } else {
                    let text = String::from_utf8(text).map_err(|_| fail("text not in UTF-8"))?;
                    answer(&text).map_err(|why| fail(&why))?;
                }
            }
            8 => {
                close(frame.payload).map_err(|why| fail(&why))?;
                if !last {
                    return Err(fail("bytes after the close frame"));
                }
            }
            10 => {}
            2 => return Err(fail("a binary frame: the server sends none")),
            9 => return Err(fail("a ping: the server sends none")),
            _ => return Err(fail("a reserved opcode")),
        }
        at += frame.len;
    }
    Ok(())
}

/// One WebSocket frame a server sent.
struct Frame<'a> {
    fin: bool,
    opcode: u8,
    payload: &'a [u8],
    /// Its bytes, header included.
    len: usize,
}

impl<'a> Frame<'a> {
    /// The frame at the start of `bytes`; `None` if they stop before its
    /// end.
    fn parse(bytes: &'a [u8]) -> Result<Option<Self>, String> {
        let [first, second, ..] = *bytes else {
            return Ok(None);
        };
        let (fin, opcode) = (first & 0x80 != 0, first & 0x0f);
        if first & 0x70 != 0 {
            return Err("a reserved bit is set".to_owned());
        }
        if second & 0x80 != 0 {
            return Err("a server frame is masked".to_owned());
        }
        let (length, start) = match second & 0x7f {
            126 => match bytes.get(2..4) {
                Some(&[a, b]) => (u64::from(u16::from_be_bytes([a, b])), 4),
                _ => return Ok(None),
            },
            127 => match bytes.get(2..10).and_then(|b| <[u8; 8]>::try_from(b).ok()) {
                Some(length) => (u64::from_be_bytes(length), 10),
                None => return Ok(None),
            },
            length => (u64::from(length), 2),
        };
        let shortest = match length {
            0..=125 => 2,
            126..=0xffff => 4,
            _ => 10,
        };
        if start != shortest {
            return Err(format!("the length {length} is not in its shortest form"));
        }
        if opcode >= 8 && (!fin || length > 125) {
            return Err("a control frame fragmented or over 125 bytes".to_owned());
        }
        let end = usize::try_from(length)
            .ok()
            .and_then(|l| l.checked_add(start));
        let Some(payload) = end.and_then(|end| bytes.get(start..end)) else {
            return Ok(None);
        };
        Ok(Some(Self {
            fin,
            opcode,
            payload,
            len: start + payload.len(),
        }))
    }
}

/// Checks a close frame's payload: nothing, or a code allowed on the wire
/// (1000–1003, 1007–1013, 3000–4999; a client's close is answered with its
/// own code) and a reason in UTF-8.
fn close(payload: &[u8]) -> Result<(), String> {
    let Some((code, reason)) = payload.split_at_checked(2) else {
        return match payload.is_empty() {
            true => Ok(()),
            false => Err("a close frame of one byte".to_owned()),
        };
    };
    let code = u16::from_be_bytes([code[0], code[1]]);
    if !matches!(code, 1000..=1003 | 1007..=1013 | 3000..=4999) {
        return Err(format!("close code {code}"));
    }
    match std::str::from_utf8(reason) {
        Ok(_) => Ok(()),
        Err(_) => Err("a close reason not in UTF-8".to_owned()),
    }
}

/// Where `needle` first begins in `bytes`.
fn find(bytes: &[u8], needle: &[u8]) -> Option<usize> {
    bytes
        .windows(needle.len())
        .position(|window| window == needle)
}

/// Whether `name` is a header name (an RFC 9110 token).
fn is_token(name: &str) -> bool {
    !name.is_empty()
        && (name.bytes()).all(|b| b.is_ascii_alphanumeric() || b"!#$%&'*+-.^_`|~".contains(&b))
}

/// The start of `bytes`, printable, for a message.
fn excerpt(bytes: &[u8]) -> String {
    let end = bytes.len().min(80);
    format!("{:?}", String::from_utf8_lossy(&bytes[..end]))
}

#[cfg(test)]
mod tests {
    use super::*;

    const OK: &[u8] =
        b"HTTP/1.1 200 OK\r\ncontent-type: application/json\r\ncontent-length: 35\r\n\r\n\
        {\"id\":1,\"response\":{\"status\":\"OK\"}}";
    const SWITCH: &[u8] =
        b"HTTP/1.1 101 Switching Protocols\r\nconnection: upgrade\r\nupgrade: websocket\r\n\
        sec-websocket-accept: s3pPLMBiTxaQ9kYGzzhZRbK+xOo=\r\n\r\n";

    fn joined(parts: &[&[u8]]) -> Vec<u8> {
        parts.concat()
    }

    #[test]
    fn what_the_server_may_send_passes_even_cut_short() {
        let event = b"data: {\"jsonrpc\":\"2.0\",\"id\":5,\"result\":null}\n\n";
        let stream = joined(&[
            b"HTTP/1.1 200 OK\r\ncontent-type: text/event-stream\r\ntransfer-encoding: chunked\r\n\r\n",
            format!("{:x}\r\n", event.len()).as_bytes(),
            event,
            b"\r\n0\r\n\r\n",
        ]);
        let head_answer =
            b"HTTP/1.1 405 Method Not Allowed\r\nallow: POST\r\ncontent-length: 46\r\n\r\n";
        let frames = [0x81, 35]
            .iter()
            .copied()
            .chain(OK[OK.len() - 35..].iter().copied());
        let websocket = joined(&[
            SWITCH,
            &frames.collect::<Vec<_>>(),
            &[0x8a, 0],
            &[0x88, 2, 0x03, 0xe8],
        ]);
        for good in [
            joined(&[OK, OK]),
            stream,
            joined(&[head_answer, OK]),
            websocket.clone(),
            OK[..50].to_vec(),
            b"HTT".to_vec(),
            websocket[..websocket.len() - 1].to_vec(),
        ] {
            assert_eq!(check(&good), Ok(()), "{:?}", String::from_utf8_lossy(&good));
        }
    }

    #[test]
    fn what_the_server_must_not_send_fails() {
        let internal =
            b"HTTP/1.1 200 OK\r\ncontent-type: application/json\r\ncontent-length: 55\r\n\r\n\
            {\"id\":1,\"error\":{\"code\":-32603,\"message\":\"a bug here\"}}";
        for bad in [
            b"HTTP/1.1 500 Internal Server Error\r\ncontent-length: 0\r\n\r\n".to_vec(),
            b"HTTP/1.1 401 Unauthorized\r\ncontent-length: 0\r\n\r\n".to_vec(),
            b"HTTP/1.1 413 Payload Too Large\r\ncontent-length: 0\r\n\r\n".to_vec(),
            b"HTTP/1.1 204 No Content\r\nconnection: close\r\n\r\nHTTP/1.1".to_vec(),
            b"HTTP/1.1 200 OK\r\ncontent-type: application/json\r\n\r\n{}".to_vec(),
            internal.to_vec(),
            b"garbage".to_vec(),
            joined(&[SWITCH, &[0x81, 0x82, 0, 0, 0, 0, b'{', b'}']]),
            joined(&[SWITCH, &[0x88, 2, 0x03, 0xed]]),
            joined(&[SWITCH, &[0x88, 0, 0x8a, 0]]),
            joined(&[SWITCH, &[0x83, 0]]),
            joined(&[SWITCH, &[0x81, 126, 0, 5, b'{', b'}', b'{', b'}', b'{']]),
            joined(&[SWITCH, &[0x81, 2, 0xff, 0xfe]]),
        ] {
            assert!(check(&bad).is_err(), "{:?}", String::from_utf8_lossy(&bad));
        }
    }
}
