//! The small hand-written HTTP/1.1 client every HTTP figure of this
//! benchmark goes through, bevy_remote's and libbrp's alike: one keep-alive
//! connection posting JSON bodies, and server-sent event streams (`+watch`
//! methods answer as `data: <json>\n\n` events in a chunked body).

use std::io::{BufRead, BufReader, Read, Write};
use std::net::TcpStream;

/// One keep-alive HTTP/1.1 connection posting JSON(-RPC) bodies.
pub struct Http {
    reader: BufReader<TcpStream>,
    writer: TcpStream,
}

/// What a response's head says about its body.
pub struct Head {
    pub status: u16,
    pub content_type: String,
    length: usize,
    chunked: bool,
}

impl Http {
    pub fn connect(port: u16) -> Self {
        let stream = TcpStream::connect(("127.0.0.1", port)).expect("connect");
        stream.set_nodelay(true).expect("nodelay");
        Self {
            reader: BufReader::new(stream.try_clone().expect("clone")),
            writer: stream,
        }
    }

    /// Writes one POST of `body`, without waiting for its answer.
    pub fn send(&mut self, body: &str) {
        let head = format!(
            "POST / HTTP/1.1\r\nHost: 127.0.0.1\r\nContent-Type: application/json\r\nContent-Length: {}\r\n\r\n",
            body.len()
        );
        self.writer.write_all(head.as_bytes()).expect("write");
        self.writer.write_all(body.as_bytes()).expect("write");
    }

    /// Reads the head of the next response.
    pub fn read_head(&mut self) -> Head {
        let mut head = Head {
            status: 0,
            content_type: String::new(),
            length: 0,
            chunked: false,
        };
        let mut line = String::new();
        self.reader.read_line(&mut line).expect("read status line");
        head.status = line
            .split_whitespace()
            .nth(1)
            .and_then(|code| code.parse().ok())
            .unwrap_or_else(|| panic!("bad status line {line:?}"));
        loop {
            line.clear();
            self.reader.read_line(&mut line).expect("read header");
            let trimmed = line.trim_end();
            if trimmed.is_empty() {
                break;
            }
            let Some((name, value)) = trimmed.split_once(':') else {
                continue;
            };
            let value = value.trim();
            if name.eq_ignore_ascii_case("content-length") {
                head.length = value.parse().expect("content-length");
            } else if name.eq_ignore_ascii_case("transfer-encoding") {
                head.chunked = value.eq_ignore_ascii_case("chunked");
            } else if name.eq_ignore_ascii_case("content-type") {
                head.content_type = value.to_owned();
            }
        }
        head
    }

    /// Appends the next chunk of a chunked body (`<hex size>\r\n<data>\r\n`)
    /// to `body`; false on the last (zero-size) chunk.
    fn read_chunk(&mut self, body: &mut Vec<u8>) -> bool {
        let mut line = String::new();
        self.reader.read_line(&mut line).expect("chunk size");
        let size = line.trim_end().split(';').next().unwrap_or("");
        let size = usize::from_str_radix(size, 16)
            .unwrap_or_else(|_| panic!("bad chunk size line {line:?}"));
        let start = body.len();
        body.resize(start + size + 2, 0);
        self.reader
            .read_exact(&mut body[start..])
            .expect("read chunk");
        body.truncate(start + size);
        size != 0
    }

    /// Reads the rest of the response `head` began.
    pub fn read_body(&mut self, head: &Head) -> String {
        let mut body = Vec::new();
        if head.chunked {
            // hyper streams the body in chunks, ending with a zero-size one.
            while self.read_chunk(&mut body) {}
        } else {
            body.resize(head.length, 0);
            self.reader.read_exact(&mut body).expect("read body");
        }
        String::from_utf8(body).expect("utf-8")
    }

    /// Reads the next whole response's body.
    pub fn receive(&mut self) -> String {
        let head = self.read_head();
        self.read_body(&head)
    }

    /// Posts `body` and returns the answer's body.
    pub fn post(&mut self, body: &str) -> String {
        self.send(body);
        self.receive()
    }

    /// Posts a `+watch` request and returns its event stream, once the
    /// response's head (content-type text/event-stream) has come.
    pub fn watch(mut self, body: &str) -> Events {
        self.send(body);
        let head = self.read_head();
        assert_eq!(head.status, 200, "watch answered HTTP {}", head.status);
        assert!(
            head.content_type.starts_with("text/event-stream"),
            "a watch answers as server-sent events, got content-type {:?}: {}",
            head.content_type,
            self.read_body(&head)
        );
        assert!(head.chunked, "the event stream is a chunked body");
        Events {
            http: self,
            buffer: Vec::new(),
            ended: false,
        }
    }
}

/// A server-sent event stream: one `data: <json>\n\n` event per answer.
pub struct Events {
    http: Http,
    buffer: Vec<u8>,
    ended: bool,
}

impl Events {
    /// The data of the next event, or `None` once the body has ended.
    pub fn next(&mut self) -> Option<String> {
        loop {
            if let Some(end) = self.buffer.windows(2).position(|w| w == b"\n\n") {
                let event: Vec<u8> = self.buffer.drain(..end + 2).collect();
                let event = String::from_utf8(event).expect("utf-8");
                let data: Vec<&str> = event
                    .lines()
                    .filter_map(|line| line.strip_prefix("data:"))
                    .map(|data| data.strip_prefix(' ').unwrap_or(data))
                    .collect();
                if data.is_empty() {
                    continue; // a comment or keep-alive
                }
                return Some(data.join("\n"));
            }
            if self.ended || !self.http.read_chunk(&mut self.buffer) {
                self.ended = true;
                assert!(
                    self.buffer.iter().all(u8::is_ascii_whitespace),
                    "event stream ended inside an event: {:?}",
                    String::from_utf8_lossy(&self.buffer)
                );
                return None;
            }
        }
    }
}
