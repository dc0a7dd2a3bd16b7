//! What the server tests share: a minimal HTTP client written here,
//! tungstenite's WebSocket client, and bounded waits (which only turn a
//! hang into a failure).

use brp::Host;
use brp::server::{Server, ServerConfig};
use serde_json::{Value, json};
use std::io::{BufRead, BufReader, Read, Write};
use std::net::TcpStream;
use std::time::{Duration, Instant};
use tokio_tungstenite::tungstenite::{self, Message, WebSocket};

/// Long enough never to expire on a working machine; only stops a hang.
pub(crate) const HANG: Duration = Duration::from_secs(30);
pub(crate) const NAME: &str = "bevy_ecs::name::Name";

pub(crate) fn serve(host: &Host, config: Value) -> Server {
    let mut config = config;
    config["address"] = json!("127.0.0.1:0");
    Server::start(host, ServerConfig::from_json(&config.to_string()).unwrap()).unwrap()
}

/// One HTTP/1.1 connection, kept alive across requests.
pub(crate) struct Http {
    pub(crate) reader: BufReader<TcpStream>,
}

/// A response: status, headers (lower-case names) and body.
pub(crate) struct Reply {
    pub(crate) status: u16,
    pub(crate) headers: Vec<(String, String)>,
    pub(crate) body: Vec<u8>,
}

impl Reply {
    pub(crate) fn json(&self) -> Value {
        serde_json::from_slice(&self.body).unwrap_or_else(|e| panic!("{e}: {:?}", self.text()))
    }

    pub(crate) fn text(&self) -> String {
        String::from_utf8_lossy(&self.body).into_owned()
    }

    pub(crate) fn header(&self, name: &str) -> Option<&str> {
        (self.headers.iter())
            .find(|(n, _)| n == name)
            .map(|(_, v)| v.as_str())
    }
}

impl Http {
    pub(crate) fn connect(server: &Server) -> Self {
        let stream = TcpStream::connect(server.address()).unwrap();
        stream.set_read_timeout(Some(HANG)).unwrap();
        Self {
            reader: BufReader::new(stream),
        }
    }

    pub(crate) fn send(&mut self, method: &str, body: &str, headers: &[(&str, &str)]) {
        let mut head = format!(
            "{method} / HTTP/1.1\r\nHost: 127.0.0.1\r\nContent-Type: application/json\r\nContent-Length: {}\r\n",
            body.len()
        );
        for (name, value) in headers {
            head.push_str(&format!("{name}: {value}\r\n"));
        }
        head.push_str("\r\n");
        let stream = self.reader.get_mut();
        stream.write_all(head.as_bytes()).unwrap();
        stream.write_all(body.as_bytes()).unwrap();
    }

    /// The status line and headers of the next response.
    pub(crate) fn head(&mut self) -> (u16, Vec<(String, String)>) {
        let mut line = String::new();
        self.reader.read_line(&mut line).unwrap();
        let status = line.split(' ').nth(1).and_then(|s| s.parse().ok());
        let status = status.unwrap_or_else(|| panic!("no status line: {line:?}"));
        let mut headers = Vec::new();
        loop {
            let mut line = String::new();
            self.reader.read_line(&mut line).unwrap();
            let line = line.trim_end();
            if line.is_empty() {
                return (status, headers);
            }
            let (name, value) = line.split_once(':').unwrap();
            headers.push((name.to_ascii_lowercase(), value.trim().to_owned()));
        }
    }

    /// The next chunk of a chunked body; empty at its end.
    pub(crate) fn chunk(&mut self) -> Vec<u8> {
        let mut size = String::new();
        self.reader.read_line(&mut size).unwrap();
        let size = usize::from_str_radix(size.trim(), 16).unwrap();
        let mut chunk = vec![0; size + 2];
        self.reader.read_exact(&mut chunk).unwrap();
        chunk.truncate(size);
        chunk
    }

    pub(crate) fn reply(&mut self) -> Reply {
        let (status, headers) = self.head();
        let length = (headers.iter()).find(|(n, _)| n == "content-length");
        let body = match length {
            None if status == 204 => Vec::new(),
            Some((_, length)) => {
                let mut body = vec![0; length.parse().unwrap()];
                self.reader.read_exact(&mut body).unwrap();
                body
            }
            None => {
                let mut body = Vec::new();
                loop {
                    let chunk = self.chunk();
                    if chunk.is_empty() {
                        break body;
                    }
                    body.extend(chunk);
                }
            }
        };
        Reply {
            status,
            headers,
            body,
        }
    }

    pub(crate) fn post(&mut self, body: &str) -> Reply {
        self.send("POST", body, &[]);
        self.reply()
    }

    /// Whether the server closed the connection (EOF before any byte).
    pub(crate) fn closed(&mut self) -> bool {
        let mut byte = [0];
        matches!(self.reader.read(&mut byte), Ok(0) | Err(_))
    }
}

pub(crate) fn rpc(id: u64, method: &str, params: Value) -> String {
    json!({"jsonrpc": "2.0", "id": id, "method": method, "params": params}).to_string()
}

pub(crate) fn ws(
    server: &Server,
    token: Option<&str>,
) -> Result<WebSocket<TcpStream>, tungstenite::Error> {
    let authorization = token.map(|token| format!("Bearer {token}"));
    let headers: Vec<(&str, &str)> = (authorization.iter())
        .map(|value| ("authorization", value.as_str()))
        .collect();
    ws_with(server, &headers)
}

/// A WebSocket client whose upgrade request carries `headers` too.
pub(crate) fn ws_with(
    server: &Server,
    headers: &[(&str, &str)],
) -> Result<WebSocket<TcpStream>, tungstenite::Error> {
    let stream = TcpStream::connect(server.address()).unwrap();
    stream.set_read_timeout(Some(HANG)).unwrap();
    let mut request = tungstenite::client::IntoClientRequest::into_client_request(format!(
        "ws://{}/",
        server.address()
    ))
    .unwrap();
    for (name, value) in headers {
        let name = tungstenite::http::HeaderName::from_bytes(name.as_bytes()).unwrap();
        request.headers_mut().insert(name, value.parse().unwrap());
    }
    tungstenite::client(request, stream)
        .map(|(socket, _)| socket)
        .map_err(|e| match e {
            tungstenite::HandshakeError::Failure(e) => e,
            tungstenite::HandshakeError::Interrupted(_) => panic!("a blocking handshake"),
        })
}

pub(crate) fn receive(socket: &mut WebSocket<TcpStream>) -> Value {
    loop {
        match socket.read().unwrap() {
            Message::Text(text) => return serde_json::from_str(&text).unwrap(),
            Message::Close(frame) => panic!("closed: {frame:?}"),
            _ => {}
        }
    }
}

pub(crate) fn send(socket: &mut WebSocket<TcpStream>, text: &str) {
    socket.send(Message::text(text)).unwrap();
}

/// Waits (bounded) until `done` holds.
pub(crate) fn eventually(mut done: impl FnMut() -> bool, what: &str) {
    let deadline = Instant::now() + HANG;
    while !done() {
        assert!(Instant::now() < deadline, "never: {what}");
        std::thread::sleep(Duration::from_millis(5));
    }
}

pub(crate) fn spawn(host: &Host, name: &str) -> u64 {
    let answer: Value = serde_json::from_str(&host.request(&rpc(
        1,
        "world.spawn_entity",
        json!({"components": {NAME: name}}),
    )))
    .unwrap();
    answer["result"]["entity"].as_u64().unwrap()
}

pub(crate) fn rename(host: &Host, entity: u64, name: &str) {
    let answer = host.request(&rpc(
        1,
        "world.insert_components",
        json!({"entity": entity, "components": {NAME: name}}),
    ));
    assert!(answer.contains("\"result\":null"), "{answer}");
}
