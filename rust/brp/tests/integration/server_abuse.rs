//! What the server refuses to let a web page, an idle or slow client, or a
//! client that breaks the protocol do (docs/server.md, "Safe by default"):
//! Origin and Host rules, timeouts, byte budgets, limits that hold, and
//! RFC 6455's closing rules. Each test drives the server from outside, on
//! loopback, as an attacker would.

use crate::server_support::*;
use brp::server::{Server, ServerConfig};
use brp::{ErrorCode, Host};
use serde_json::{Value, json};
use std::io::{BufRead, BufReader, Read, Write};
use std::net::{Shutdown, TcpStream};
use std::time::Duration;
use tokio_tungstenite::tungstenite::{self, Message};

const PING: &str = r#"{"id": 1, "request": "PING"}"#;
const SPAWN: &str = r#"{"id": 1, "request": "SPAWN", "params": {"components": {}}}"#;

fn entities(host: &Host) -> usize {
    let answer: Value = serde_json::from_str(
        &host.request(r#"{"id": 1, "request": "QUERY", "params": {"data": {}}}"#),
    )
    .unwrap();
    answer["response"]["entities"].as_array().unwrap().len()
}

/// A POLL that parks until the world next changes.
fn parked_poll(host: &Host, id: u64) -> String {
    let first: Value =
        serde_json::from_str(&host.request(
            r#"{"id": 1, "request": "POLL", "params": {"data": {"components": ["Name"]}}}"#,
        ))
        .unwrap();
    json!({"id": id, "request": "POLL", "params": {"data": {"components": ["Name"]},
        "watermark": first["response"]["watermark"]}})
    .to_string()
}

/// A raw connection and what it reads, for requests no client library
/// would send.
struct Raw {
    reader: BufReader<TcpStream>,
}

impl Raw {
    fn connect(server: &Server) -> Self {
        let stream = TcpStream::connect(server.address()).unwrap();
        stream.set_read_timeout(Some(HANG)).unwrap();
        Self {
            reader: BufReader::new(stream),
        }
    }

    fn write(&mut self, bytes: &[u8]) {
        self.reader.get_mut().write_all(bytes).unwrap();
    }

    /// The status of the next response, and its headers.
    fn status(&mut self) -> (u16, String) {
        let mut head = String::new();
        loop {
            let mut line = String::new();
            if self.reader.read_line(&mut line).unwrap() == 0 || line == "\r\n" {
                break;
            }
            head.push_str(&line);
        }
        let status = head.split(' ').nth(1).and_then(|s| s.parse().ok());
        (status.unwrap_or(0), head.to_ascii_lowercase())
    }

    /// Reads until the server closes the connection.
    fn until_closed(&mut self) -> Vec<u8> {
        let mut rest = Vec::new();
        let _ = self.reader.read_to_end(&mut rest);
        rest
    }

    /// Upgrades to a WebSocket with a valid handshake.
    fn upgrade(server: &Server) -> Self {
        let mut raw = Self::connect(server);
        raw.write(upgrade_request("HTTP/1.1", Some("13"), KEY).as_bytes());
        assert_eq!(raw.status().0, 101);
        raw
    }

    /// A client frame: `opcode`, `payload`, masked with zeros.
    fn frame(&mut self, first: u8, payload: &[u8]) {
        let mut frame = vec![first];
        match payload.len() {
            n if n < 126 => frame.push(0x80 | n as u8),
            n => {
                frame.push(0x80 | 126);
                frame.extend_from_slice(&(n as u16).to_be_bytes());
            }
        }
        frame.extend_from_slice(&[0; 4]);
        frame.extend_from_slice(payload);
        self.write(&frame);
    }

    /// The close code of the server's next frame, which must be a close.
    fn close_code(&mut self) -> u16 {
        let mut head = [0; 2];
        self.reader.read_exact(&mut head).unwrap();
        assert_eq!(head[0], 0x88, "a close frame, got {head:?}");
        let mut payload = vec![0; usize::from(head[1] & 0x7f)];
        self.reader.read_exact(&mut payload).unwrap();
        u16::from_be_bytes([payload[0], payload[1]])
    }
}

const KEY: &str = "dGhlIHNhbXBsZSBub25jZQ==";

fn upgrade_request(version: &str, ws_version: Option<&str>, key: &str) -> String {
    let mut request = format!(
        "GET / {version}\r\nHost: 127.0.0.1\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n\
         Sec-WebSocket-Key: {key}\r\n"
    );
    if let Some(v) = ws_version {
        request.push_str(&format!("Sec-WebSocket-Version: {v}\r\n"));
    }
    request.push_str("\r\n");
    request
}

fn post(server: &Server, body: &str, headers: &[(&str, &str)]) -> Reply {
    let mut http = Http::connect(server);
    http.send("POST", body, headers);
    http.reply()
}

#[test]
fn a_page_of_another_origin_is_refused_before_anything_runs() {
    let host = Host::new();
    let server = serve(&host, json!({}));
    for origin in ["http://evil.example", "null", "http://127.0.0.1:1"] {
        let reply = post(
            &server,
            SPAWN,
            &[("Origin", origin), ("Content-Type", "text/plain")],
        );
        assert_eq!(reply.status, 403, "{origin}: {}", reply.text());
        assert!(reply.text().contains("allowed_origins"), "{}", reply.text());
    }
    assert_eq!(entities(&host), 0, "nothing ran");
    // The body is left unread: the refusal closes the connection, so a
    // client that keeps it alive does not write into a closed one.
    let mut kept = Http::connect(&server);
    kept.send("POST", SPAWN, &[("Origin", "http://evil.example")]);
    let refused = kept.reply();
    assert_eq!(refused.header("connection"), Some("close"));
    assert!(kept.closed());
    assert_eq!(server.stats().forbidden, 4);
    let own = format!("http://{}", server.address());
    let reply = post(&server, PING, &[("Origin", &own)]);
    assert_eq!(reply.status, 200);
    assert_eq!(reply.header("access-control-allow-origin"), Some(&*own));
    let refused = ws_with(&server, &[("Origin", "http://evil.example")]).unwrap_err();
    match refused {
        tungstenite::Error::Http(response) => assert_eq!(response.status(), 403),
        other => panic!("expected HTTP 403, got {other:?}"),
    }
    assert!(
        ws(&server, None).is_ok(),
        "a client without Origin is no page"
    );
}

#[test]
fn allowed_origins_get_their_preflight_and_their_answers() {
    let host = Host::new();
    let server = serve(
        &host,
        json!({"allowed_origins": ["https://tool.example"], "token": "t"}),
    );
    let mut http = Http::connect(&server);
    http.send(
        "OPTIONS",
        "",
        &[
            ("Origin", "https://tool.example"),
            ("Access-Control-Request-Method", "POST"),
        ],
    );
    let preflight = http.reply();
    assert_eq!(preflight.status, 204, "no token on a preflight");
    assert!((preflight.header("access-control-allow-headers").unwrap()).contains("authorization"));
    let reply = post(
        &server,
        PING,
        &[
            ("Origin", "https://tool.example"),
            ("Authorization", "Bearer t"),
        ],
    );
    assert_eq!(reply.status, 200);
    assert_eq!(
        reply.header("access-control-allow-origin"),
        Some("https://tool.example")
    );
    let other = post(&server, PING, &[("Origin", "https://other.example")]);
    assert_eq!(other.status, 403);
}

#[test]
fn a_host_that_no_loopback_client_names_is_refused() {
    let host = Host::new();
    let server = serve(&host, json!({"allowed_hosts": ["box.lan"]}));
    let port = server.address().port();
    for (name, status) in [
        (format!("evil.example:{port}"), 403),
        (format!("localhost:{port}"), 200),
        (format!("[::1]:{port}"), 200),
        (format!("box.lan:{port}"), 200),
    ] {
        let mut raw = Raw::connect(&server);
        let request = format!(
            "POST / HTTP/1.1\r\nHost: {name}\r\nContent-Length: {}\r\n\r\n{PING}",
            PING.len()
        );
        raw.write(request.as_bytes());
        assert_eq!(raw.status().0, status, "{name}");
    }
    let mut raw = Raw::connect(&server);
    let request = format!(
        "POST / HTTP/1.1\r\nContent-Length: {}\r\n\r\n{PING}",
        PING.len()
    );
    raw.write(request.as_bytes());
    assert_eq!(raw.status().0, 400, "HTTP/1.1 without Host");
    let mut raw = Raw::connect(&server);
    raw.write(b"POST / HTTP/1.1\r\nHost: 127.0.0.1\r\nHost: evil.example\r\n\r\n");
    assert_eq!(raw.status().0, 400, "two Hosts");
}

#[test]
fn an_idle_http_connection_is_closed_and_a_waiting_one_is_not() {
    let host = Host::new();
    let server = serve(&host, json!({"idle_timeout_ms": 100}));
    let mut idle = Http::connect(&server);
    assert_eq!(idle.post(PING).status, 200);
    assert!(idle.closed(), "closed once idle");
    assert!(server.stats().timeouts >= 1);
    // A parked POLL is not idle, however long it waits.
    let mut waiting = Http::connect(&server);
    waiting.send("POST", &parked_poll(&host, 2), &[]);
    eventually(|| server.stats().requests == 2, "the POLL is in");
    std::thread::sleep(Duration::from_millis(300));
    spawn(&host, "wakes it");
    assert!(waiting.reply().json()["response"]["entities"].is_array());
}

#[test]
fn a_websocket_with_nothing_in_flight_is_closed_once_idle() {
    let host = Host::new();
    let server = serve(&host, json!({"idle_timeout_ms": 100}));
    let mut socket = ws(&server, None).unwrap();
    send(&mut socket, PING);
    assert_eq!(receive(&mut socket)["response"]["status"], "OK");
    match socket.read() {
        Ok(Message::Close(Some(frame))) => assert_eq!(u16::from(frame.code), 1000),
        other => panic!("expected a close frame, got {other:?}"),
    }
    let mut waiting = ws(&server, None).unwrap();
    send(&mut waiting, &parked_poll(&host, 7));
    std::thread::sleep(Duration::from_millis(300));
    spawn(&host, "wakes it");
    assert_eq!(
        receive(&mut waiting)["id"],
        7,
        "a parked POLL keeps it open"
    );
}

#[test]
fn a_body_sent_too_slowly_or_never_finished_times_out() {
    let host = Host::new();
    let server = serve(&host, json!({"body_timeout_ms": 100}));
    let mut raw = Raw::connect(&server);
    raw.write(b"POST / HTTP/1.1\r\nHost: 127.0.0.1\r\nContent-Length: 100\r\n\r\n{\"id\"");
    assert_eq!(raw.status().0, 408);
    raw.until_closed();
    let mut chunked = Raw::connect(&server);
    chunked.write(
        b"POST / HTTP/1.1\r\nHost: 127.0.0.1\r\nTransfer-Encoding: chunked\r\n\r\n\
          7fffffffffffffff\r\nabc",
    );
    let (status, _) = chunked.status();
    assert!(matches!(status, 400 | 408 | 413), "{status}");
    eventually(|| server.stats().open_connections == 0, "both closed");
    assert!(server.stats().timeouts >= 1);
}

#[test]
fn a_client_gone_behind_pipelined_bytes_is_noticed() {
    let host = Host::new();
    let server = serve(&host, json!({}));
    let mut raw = Raw::connect(&server);
    let poll = parked_poll(&host, 2);
    let request = format!(
        "POST / HTTP/1.1\r\nHost: 127.0.0.1\r\nContent-Length: {}\r\n\r\n{poll}\
         POST / HTTP/1.1\r\nHost: 127.0.0.1\r\nContent-Length: {}\r\n\r\n{PING}",
        poll.len(),
        PING.len()
    );
    raw.write(request.as_bytes());
    eventually(|| server.stats().requests == 1, "the POLL is in");
    raw.reader.get_ref().shutdown(Shutdown::Write).unwrap();
    eventually(
        || server.stats().open_connections == 0,
        "the connection closes",
    );
    // The same behind a watch's event stream, with one stray byte.
    let entity = spawn(&host, "watched");
    let watch = rpc(
        3,
        "world.get_components+watch",
        json!({"entity": entity, "components": [NAME]}),
    );
    let mut raw = Raw::connect(&server);
    let request = format!(
        "POST / HTTP/1.1\r\nHost: 127.0.0.1\r\nContent-Length: {}\r\n\r\n{watch}x",
        watch.len()
    );
    raw.write(request.as_bytes());
    assert_eq!(raw.status().0, 200);
    drop(raw);
    eventually(
        || server.stats().open_connections == 0,
        "the stream's connection closes",
    );
}

#[test]
fn a_client_that_pipelines_without_end_behind_a_waiting_request_is_cut_off() {
    let host = Host::new();
    let server = serve(&host, json!({}));
    let mut raw = Raw::connect(&server);
    let poll = parked_poll(&host, 2);
    let request = format!(
        "POST / HTTP/1.1\r\nHost: 127.0.0.1\r\nContent-Length: {}\r\n\r\n{poll}",
        poll.len()
    );
    raw.write(request.as_bytes());
    eventually(|| server.stats().requests == 1, "the POLL is in");
    let junk = vec![b'x'; 4096];
    for _ in 0..64 {
        if raw.reader.get_mut().write_all(&junk).is_err() {
            break;
        }
    }
    eventually(|| server.stats().open_connections == 0, "cut off");
    assert!(server.stats().oversized >= 1);
}

#[test]
fn request_bodies_share_one_budget() {
    let host = Host::new();
    let server = serve(
        &host,
        json!({"max_request_bytes": 1000, "max_request_bytes_total": 1500}),
    );
    let mut holder = Raw::connect(&server);
    holder.write(b"POST / HTTP/1.1\r\nHost: 127.0.0.1\r\nContent-Length: 1000\r\n\r\n");
    holder.write(&[b' '; 900]);
    // The held bytes reach the server before the second body does.
    std::thread::sleep(Duration::from_millis(100));
    let big = format!("{PING}{}", " ".repeat(900 - PING.len()));
    let refused = post(&server, &big, &[]);
    assert_eq!(refused.status, 503, "{}", refused.text());
    assert_eq!(server.stats().busy, 1);
    // A declared length over max_request_bytes is 413 at once, whatever
    // the budget holds.
    let mut raw = Raw::connect(&server);
    raw.write(b"POST / HTTP/1.1\r\nHost: 127.0.0.1\r\nContent-Length: 1001\r\n\r\n");
    raw.write(&[b' '; 600]);
    assert_eq!(raw.status().0, 413);
    drop(holder);
    eventually(|| server.stats().open_connections == 0, "the holder goes");
    assert_eq!(post(&server, &big, &[]).status, 200, "the budget is back");
}

#[test]
fn unfinished_websocket_messages_share_the_budget() {
    let host = Host::new();
    let server = serve(
        &host,
        json!({"max_request_bytes": 1000, "max_request_bytes_total": 1500}),
    );
    let mut holder = Raw::upgrade(&server);
    // A text frame of 1000 bytes, 900 of them sent.
    holder.write(&[0x81, 0x80 | 126, 0x03, 0xe8, 0, 0, 0, 0]);
    holder.write(&[b' '; 900]);
    std::thread::sleep(Duration::from_millis(100));
    let mut second = Raw::upgrade(&server);
    second.frame(0x81, " ".repeat(900).as_bytes());
    assert_eq!(second.close_code(), 1013);
    assert_eq!(server.stats().busy, 1);
}

#[test]
fn answers_that_pile_up_unread_are_bounded_in_bytes() {
    let host = Host::from_config_json(r#"{"components": ["Blob"]}"#).unwrap();
    let blob = json!({"JSON": json!("x".repeat(64 << 10)).to_string()});
    host.request(
        &json!({"id": 1, "request": "SPAWN", "params": {"components": {"Blob": blob}}}).to_string(),
    );
    let server = serve(&host, json!({"max_queued_bytes": 1 << 20}));
    let mut socket = ws(&server, None).unwrap();
    let get = |id: u64| {
        json!({"id": id, "request": "GET", "params": {"entity": "1v0", "components": ["Blob"]}})
            .to_string()
    };
    // Far fewer answers than max_queued_answers (1,024), far more bytes
    // than max_queued_bytes, none of them read.
    for id in 0..1000 {
        if socket.send(Message::text(get(id))).is_err() {
            break;
        }
        if server.stats().slow_disconnects > 0 {
            break;
        }
    }
    eventually(|| server.stats().slow_disconnects == 1, "disconnected");
}

#[test]
fn a_long_answer_arrives_whole_in_fragments() {
    let host = Host::from_config_json(r#"{"components": ["Blob"]}"#).unwrap();
    let long = "y".repeat(600 << 10);
    let blob = json!({"JSON": json!(long).to_string()});
    host.request(
        &json!({"id": 1, "request": "SPAWN", "params": {"components": {"Blob": blob}}}).to_string(),
    );
    let server = serve(&host, json!({"max_queued_bytes": 1024}));
    let mut socket = ws(&server, None).unwrap();
    for id in 1..=3 {
        let get = json!({"id": id, "request": "GET",
            "params": {"entity": "1v0", "components": ["Blob"]}});
        send(&mut socket, &get.to_string());
        let answer = receive(&mut socket);
        assert_eq!(answer["id"], id);
        let value = answer["response"]["components"]["Blob"]["JSON"]
            .as_str()
            .unwrap();
        assert_eq!(
            value.len(),
            long.len() + 2,
            "one answer, over max_queued_bytes alone"
        );
    }
}

#[test]
fn a_client_that_reads_nothing_of_a_ping_flood_is_disconnected() {
    let host = Host::new();
    let server = serve(&host, json!({"idle_timeout_ms": 200}));
    let mut raw = Raw::upgrade(&server);
    let ping = [0x89, 0x80 | 125, 0, 0, 0, 0];
    let mut frame = ping.to_vec();
    frame.extend_from_slice(&[b'p'; 125]);
    let flood: Vec<u8> = frame
        .iter()
        .copied()
        .cycle()
        .take(frame.len() * 512)
        .collect();
    for _ in 0..2000 {
        if raw.reader.get_mut().write_all(&flood).is_err() {
            break;
        }
        if server.stats().slow_disconnects > 0 {
            break;
        }
    }
    eventually(|| server.stats().slow_disconnects == 1, "disconnected");
}

#[test]
fn a_refused_duplicate_id_frees_no_slot() {
    let host = Host::new();
    let entity = spawn(&host, "hero");
    let server = serve(&host, json!({"max_in_flight": 4, "max_watches": 2}));
    let mut socket = ws(&server, None).unwrap();
    let duplicate = |socket: &mut _, request: &str| {
        for _ in 0..5 {
            send(socket, request);
            let refused = receive(socket);
            assert_eq!(refused["error"]["code"], ErrorCode::DuplicateId.code());
        }
    };
    send(&mut socket, &parked_poll(&host, 1));
    duplicate(&mut socket, &parked_poll(&host, 1));
    let watch = |id| rpc(id, "world.list_components+watch", json!({"entity": entity}));
    send(&mut socket, &watch(2));
    assert!(receive(&mut socket)["result"].is_object());
    duplicate(&mut socket, &watch(2));
    send(&mut socket, &watch(3));
    assert!(receive(&mut socket)["result"].is_object());
    send(&mut socket, &watch(4));
    let refused = receive(&mut socket);
    let message = refused["error"]["message"].as_str().unwrap();
    assert!(
        message.contains("2 watches") && message.contains("max_watches"),
        "{message}"
    );
    send(&mut socket, &parked_poll(&host, 5));
    send(&mut socket, &parked_poll(&host, 6));
    let refused = receive(&mut socket);
    assert_eq!(refused["id"], 6);
    let message = refused["error"]["message"].as_str().unwrap();
    assert!(
        message.contains("4 requests") && message.contains("max_in_flight"),
        "{message}"
    );
}

#[test]
fn every_setting_is_bounded_and_named_when_refused() {
    let host = Host::new();
    for (config, name) in [
        (json!({"max_watches": 0}), "max_watches"),
        (json!({"header_timeout_ms": 0}), "header_timeout_ms"),
        (json!({"body_timeout_ms": 0}), "body_timeout_ms"),
        (json!({"idle_timeout_ms": 0}), "idle_timeout_ms"),
        (json!({"stop_timeout_ms": 0}), "stop_timeout_ms"),
        (json!({"max_queued_bytes": 0}), "max_queued_bytes"),
        (json!({"max_connections": 1_u64 << 62}), "max_connections"),
        (
            json!({"max_queued_answers": 1_u64 << 62}),
            "max_queued_answers",
        ),
        (json!({"max_in_flight": u64::MAX}), "max_in_flight"),
        (json!({"stop_timeout_ms": u64::MAX}), "stop_timeout_ms"),
        (
            json!({"max_request_bytes": 1_u64 << 62}),
            "max_request_bytes",
        ),
        (
            json!({"max_request_bytes": 2000, "max_request_bytes_total": 1000}),
            "max_request_bytes_total",
        ),
        (json!({"allowed_origins": ["null"]}), "allowed_origins"),
        (json!({"allowed_origins": ["*"]}), "allowed_origins"),
        (json!({"allowed_hosts": ["a.lan:80"]}), "allowed_hosts"),
    ] {
        let mut config = config;
        config["address"] = json!("127.0.0.1:0");
        let error = ServerConfig::from_json(&config.to_string())
            .and_then(|config| Server::start(&host, config).map(drop))
            .unwrap_err();
        assert_eq!(error.code, ErrorCode::InvalidParams, "{config}");
        assert!(error.message.contains(name), "{config}: {}", error.message);
    }
}

#[test]
fn max_connections_is_checked_against_the_descriptor_limit() {
    let host = Host::new();
    let config = json!({"address": "127.0.0.1:0", "max_connections": 1 << 20});
    match Server::start(&host, ServerConfig::from_json(&config.to_string()).unwrap()) {
        Err(error) => {
            assert_eq!(error.code, ErrorCode::InvalidParams);
            assert!(error.message.contains("RLIMIT_NOFILE"), "{}", error.message);
        }
        // A hard limit above a million descriptors: the soft one was raised.
        Ok(_) => assert!(descriptor_limits().0 > 1 << 20),
    }
}

/// The process's soft and hard descriptor limits.
fn descriptor_limits() -> (u64, u64) {
    let mut limit = libc::rlimit {
        rlim_cur: 0,
        rlim_max: 0,
    };
    // SAFETY: `limit` is a valid, writable rlimit.
    let read = unsafe { libc::getrlimit(libc::RLIMIT_NOFILE, &mut limit) };
    assert_eq!(read, 0);
    (limit.rlim_cur, limit.rlim_max)
}

#[test]
fn out_of_descriptors_the_server_turns_clients_away_and_recovers() {
    // The limit is lowered in a process of its own: this test, run again.
    let status = std::process::Command::new(std::env::current_exe().unwrap())
        .args([
            "--exact",
            "server_abuse::descriptor_exhaustion",
            "--ignored",
        ])
        .env("BRP_DESCRIPTOR_EXHAUSTION", "1")
        .status()
        .unwrap();
    assert!(status.success());
}

#[test]
#[ignore = "run by out_of_descriptors_the_server_turns_clients_away_and_recovers"]
fn descriptor_exhaustion() {
    if std::env::var_os("BRP_DESCRIPTOR_EXHAUSTION").is_none() {
        return;
    }
    let open = std::fs::read_dir("/proc/self/fd").unwrap().count() as u64;
    let limit = libc::rlimit {
        rlim_cur: open + 128,
        rlim_max: open + 128,
    };
    // SAFETY: `limit` is a valid rlimit.
    assert_eq!(unsafe { libc::setrlimit(libc::RLIMIT_NOFILE, &limit) }, 0);
    let host = Host::new();
    let server = serve(&host, json!({"max_connections": 8}));
    let mut served = Http::connect(&server);
    assert_eq!(served.post(PING).status, 200);
    // Every descriptor left is taken, then one given back for a client.
    let mut hog = Vec::new();
    while let Ok(file) = std::fs::File::open("/dev/null") {
        hog.push(file);
    }
    hog.pop();
    let mut turned_away = TcpStream::connect(server.address()).unwrap();
    turned_away.set_read_timeout(Some(HANG)).unwrap();
    let mut byte = [0];
    match turned_away.read(&mut byte) {
        Ok(0) => {}
        Err(e) if e.kind() == std::io::ErrorKind::ConnectionReset => {}
        other => panic!("closed, not left waiting: {other:?}"),
    }
    eventually(
        || server.stats().accept_errors >= 1,
        "the failure is counted",
    );
    drop(hog);
    assert_eq!(served.post(PING).status, 200, "the open connection goes on");
    assert_eq!(
        Http::connect(&server).post(PING).status,
        200,
        "and new ones come"
    );
}

#[test]
fn websocket_upgrades_follow_rfc_6455() {
    let host = Host::new();
    let server = serve(&host, json!({}));
    for (request, status) in [
        (upgrade_request("HTTP/1.0", Some("13"), KEY), 400),
        (upgrade_request("HTTP/1.1", Some("8"), KEY), 426),
        (upgrade_request("HTTP/1.1", None, KEY), 426),
        (upgrade_request("HTTP/1.1", Some("13"), ""), 400),
        (upgrade_request("HTTP/1.1", Some("13"), "c2hvcnQ="), 400),
    ] {
        let mut raw = Raw::connect(&server);
        raw.write(request.as_bytes());
        let (got, head) = raw.status();
        assert_eq!(got, status, "{request}");
        if status == 426 {
            assert!(head.contains("sec-websocket-version: 13"), "{head}");
        }
    }
}

#[test]
fn a_close_frame_is_answered_and_protocol_errors_close_with_their_codes() {
    let host = Host::new();
    let server = serve(&host, json!({}));
    let mut raw = Raw::upgrade(&server);
    raw.frame(0x88, &1000_u16.to_be_bytes());
    assert_eq!(raw.close_code(), 1000, "the close is answered");
    let mut raw = Raw::upgrade(&server);
    raw.frame(0x81, &[0xff, 0xfe]);
    assert_eq!(raw.close_code(), 1007, "text that is not UTF-8");
    let mut raw = Raw::upgrade(&server);
    raw.frame(0x83, b"reserved opcode");
    assert_eq!(raw.close_code(), 1002);
    let mut raw = Raw::upgrade(&server);
    raw.write(&[0x81, 0x02, b'h', b'i']); // not masked
    assert_eq!(raw.close_code(), 1002);
}

#[test]
fn a_client_that_resets_mid_answer_does_not_kill_a_process_that_keeps_sigpipe() {
    // In a process of its own with SIGPIPE's default action (death), as a C
    // or C++ host has it: this test, run again.
    let status = std::process::Command::new(std::env::current_exe().unwrap())
        .args(["--exact", "server_abuse::reset_mid_answer", "--ignored"])
        .env("BRP_RESET_MID_ANSWER", "1")
        .status()
        .unwrap();
    assert!(status.success(), "{status}");
}

#[test]
#[ignore = "run by a_client_that_resets_mid_answer_does_not_kill_a_process_that_keeps_sigpipe"]
fn reset_mid_answer() {
    if std::env::var_os("BRP_RESET_MID_ANSWER").is_none() {
        return;
    }
    // SAFETY: restores the default action of one signal, before any thread
    // of this process's server starts.
    unsafe { libc::signal(libc::SIGPIPE, libc::SIG_DFL) };
    let host = Host::new();
    let server = serve(&host, json!({}));
    let request = format!(
        "POST / HTTP/1.1\r\nHost: 127.0.0.1\r\nContent-Length: {}\r\n\r\n{PING}",
        PING.len()
    );
    for _ in 0..50 {
        let mut stream = TcpStream::connect(server.address()).unwrap();
        stream.write_all(request.repeat(8).as_bytes()).unwrap();
        // The first answer meets a closed socket, which answers with a
        // reset; the next write meets the reset.
        stream.shutdown(Shutdown::Both).unwrap();
    }
    eventually(
        || server.stats().open_connections == 0,
        "every reset noticed",
    );
    assert_eq!(post(&server, PING, &[]).status, 200, "alive");
}
