//! The server's round trips on loopback (docs/benchmarks.md, "Server"):
//! GET over one kept-alive HTTP connection and over a WebSocket, and a
//! watch round trip (a write by the host until the watch's answer carrying
//! it arrives) over server-sent events and over a WebSocket.
//!
//! The clients are minimal and blocking, one request in flight: a
//! hand-written HTTP/1.1 client and tungstenite's WebSocket client, both
//! with `TCP_NODELAY`. `BRP_BENCH_QUICK=1` shortens warm-up and measurement.

use brp::Host;
use brp::server::{Server, ServerConfig};
use criterion::{Criterion, criterion_group, criterion_main};
use std::io::{BufRead, BufReader, Read, Write};
use std::net::TcpStream;
use std::time::Duration;
use tokio_tungstenite::tungstenite::{self, Message, WebSocket};

const GET: &str =
    r#"{"id":1,"request":"GET","params":{"entity":"1v0","components":["Transform"]}}"#;
const NAME: &str = "bevy_ecs::name::Name";

fn serve(host: &Host) -> Server {
    let config = ServerConfig {
        address: "127.0.0.1:0".to_owned(),
        ..ServerConfig::default()
    };
    Server::start(host, config).expect("a server")
}

fn world() -> Host {
    let host = Host::new();
    let spawn = r#"{"id":1,"request":"SPAWN","params":{"components":{
        "Name":{"JSON":"\"hero\""},
        "Transform":{"JSON":"{\"translation\":[1,2,3],\"rotation\":[0,0,0,1],\"scale\":[1,1,1]}"}}}}"#;
    assert!(host.request(spawn).contains("1v0"));
    host
}

/// One kept-alive HTTP/1.1 connection.
struct Http(BufReader<TcpStream>);

impl Http {
    fn connect(server: &Server) -> Self {
        let stream = TcpStream::connect(server.address()).expect("connect");
        stream.set_nodelay(true).expect("nodelay");
        Self(BufReader::new(stream))
    }

    fn send(&mut self, body: &str) {
        let request = format!(
            "POST / HTTP/1.1\r\nHost: 127.0.0.1\r\nContent-Type: application/json\r\n\
             Content-Length: {}\r\n\r\n{body}",
            body.len()
        );
        self.0
            .get_mut()
            .write_all(request.as_bytes())
            .expect("write");
    }

    /// Reads a response's head; its `Content-Length`, if any.
    fn head(&mut self) -> Option<usize> {
        let mut length = None;
        loop {
            let mut line = String::new();
            self.0.read_line(&mut line).expect("read");
            if line == "\r\n" {
                return length;
            }
            if let Some(value) = line.to_ascii_lowercase().strip_prefix("content-length:") {
                length = value.trim().parse().ok();
            }
        }
    }

    fn post(&mut self, body: &str) -> Vec<u8> {
        self.send(body);
        let length = self.head().expect("a Content-Length");
        let mut answer = vec![0; length];
        self.0.read_exact(&mut answer).expect("a body");
        answer
    }

    /// The next server-sent event of a chunked stream.
    fn event(&mut self) -> String {
        let mut size = String::new();
        self.0.read_line(&mut size).expect("a chunk size");
        let size = usize::from_str_radix(size.trim(), 16).expect("hex");
        let mut chunk = vec![0; size + 2];
        self.0.read_exact(&mut chunk).expect("a chunk");
        String::from_utf8(chunk).expect("UTF-8")
    }
}

fn websocket(server: &Server) -> WebSocket<TcpStream> {
    let stream = TcpStream::connect(server.address()).expect("connect");
    stream.set_nodelay(true).expect("nodelay");
    let url = format!("ws://{}/", server.address());
    tungstenite::client(url, stream).expect("an upgrade").0
}

fn text(socket: &mut WebSocket<TcpStream>) -> String {
    loop {
        if let Message::Text(text) = socket.read().expect("a message") {
            return text.to_string();
        }
    }
}

fn rename(host: &Host, n: u64) {
    let insert = format!(
        r#"{{"id":1,"request":"INSERT","params":{{"entity":"1v0","components":{{"Name":{{"JSON":"\"hero {n}\""}}}}}}}}"#
    );
    assert!(host.request(&insert).contains("OK"));
}

fn watch() -> String {
    format!(
        r#"{{"jsonrpc":"2.0","id":9,"method":"world.get_components+watch","params":{{"entity":4294967294,"components":["{NAME}"]}}}}"#
    )
}

fn get(c: &mut Criterion) {
    let host = world();
    let server = serve(&host);
    let mut group = c.benchmark_group("server_get");
    let mut http = Http::connect(&server);
    group.bench_function("http", |b| b.iter(|| http.post(GET)));
    let mut socket = websocket(&server);
    group.bench_function("websocket", |b| {
        b.iter(|| {
            socket.send(Message::text(GET)).expect("send");
            text(&mut socket)
        })
    });
    group.finish();
}

fn watch_round_trip(c: &mut Criterion) {
    let host = world();
    let server = serve(&host);
    let mut group = c.benchmark_group("server_watch");
    let mut http = Http::connect(&server);
    http.send(&watch());
    assert_eq!(http.head(), None, "an event stream");
    http.event();
    let mut n = 0;
    group.bench_function("http_sse", |b| {
        b.iter(|| {
            n += 1;
            rename(&host, n);
            http.event()
        })
    });
    let mut socket = websocket(&server);
    socket.send(Message::text(watch())).expect("send");
    text(&mut socket);
    group.bench_function("websocket", |b| {
        b.iter(|| {
            n += 1;
            rename(&host, n);
            text(&mut socket)
        })
    });
    group.finish();
}

fn config() -> Criterion {
    let c = Criterion::default();
    if std::env::var_os("BRP_BENCH_QUICK").is_some() {
        c.warm_up_time(Duration::from_millis(500))
            .measurement_time(Duration::from_secs(2))
    } else {
        c
    }
}

criterion_group! {
    name = benches;
    config = config();
    targets = get, watch_round_trip
}
criterion_main!(benches);
