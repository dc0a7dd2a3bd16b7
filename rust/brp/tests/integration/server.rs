//! The HTTP and WebSocket servers on loopback: both dialects, POLL and
//! watches pushed as they happen, every limit and fault, graceful stop.

use crate::server_support::*;
use brp::server::{Server, ServerConfig};
use brp::{ErrorCode, Host};
use serde_json::{Value, json};
use std::io::{BufReader, Read, Write};
use std::net::{SocketAddr, TcpStream};
use std::time::Duration;
use tokio_tungstenite::tungstenite::{self, Message};

#[test]
fn http_answers_both_dialects_on_one_kept_alive_connection() {
    let host = Host::new();
    let entity = spawn(&host, "hero");
    let server = serve(&host, json!({}));
    let mut http = Http::connect(&server);
    let seed = http.post(
        r#"{"id": 1, "request": "GET", "params": {"entity": "1v0", "components": ["Name"]}}"#,
    );
    assert_eq!(seed.status, 200);
    assert_eq!(seed.header("content-type"), Some("application/json"));
    assert_eq!(
        seed.json()["response"]["components"]["Name"]["JSON"],
        "\"hero\""
    );
    let got = http.post(&rpc(
        2,
        "world.get_components",
        json!({"entity": entity, "components": [NAME], "strict": true}),
    ));
    assert_eq!(
        got.json(),
        json!({"jsonrpc": "2.0", "id": 2, "result": {NAME: "hero"}})
    );
    let bad = http.post("{not json");
    assert_eq!(bad.status, 200);
    assert_eq!(bad.json()["error"]["code"], ErrorCode::ParseError.code());
    let stats = server.stats();
    assert_eq!((stats.connections, stats.requests), (1, 3), "{stats:?}");
    http.send("GET", "", &[]);
    let reply = http.reply();
    assert_eq!(reply.status, 405);
    assert_eq!(reply.header("allow"), Some("POST"));
}

#[test]
fn http_poll_parks_until_a_write_of_the_host() {
    let host = Host::from_config_json(r#"{"components": ["Score"]}"#).unwrap();
    host.request(
        r#"{"id": 1, "request": "SPAWN", "params": {"components": {"Score": {"JSON": "0"}}}}"#,
    );
    let first: Value =
        serde_json::from_str(&host.request(
            r#"{"id": 1, "request": "POLL", "params": {"data": {"components": ["Score"]}}}"#,
        ))
        .unwrap();
    let watermark = first["response"]["watermark"].as_str().unwrap().to_owned();
    let server = serve(&host, json!({}));
    let mut http = Http::connect(&server);
    let poll = json!({"id": 2, "request": "POLL", "params": {"data": {"components": ["Score"]}, "watermark": watermark}});
    http.send("POST", &poll.to_string(), &[]);
    let writer = host.clone();
    let write = std::thread::spawn(move || {
        std::thread::sleep(Duration::from_millis(20));
        writer.request(r#"{"id": 3, "request": "INSERT", "params": {"entity": "1v0", "components": {"Score": {"JSON": "7"}}}}"#)
    });
    let answer = http.reply().json();
    assert!(write.join().unwrap().contains("OK"));
    assert_eq!(
        answer["response"]["entities"][0]["Score"]["JSON"], "7",
        "{answer}"
    );
}

#[test]
fn http_streams_a_watch_as_server_sent_events_until_its_end() {
    let host = Host::new();
    let entity = spawn(&host, "hero");
    let server = serve(&host, json!({}));
    let mut http = Http::connect(&server);
    http.send(
        "POST",
        &rpc(
            5,
            "world.get_components+watch",
            json!({"entity": entity, "components": [NAME]}),
        ),
        &[],
    );
    let (status, headers) = http.head();
    assert_eq!(status, 200);
    assert!(headers.contains(&("content-type".into(), "text/event-stream".into())));
    let mut event = || {
        let chunk = String::from_utf8(http.chunk()).unwrap();
        let data = chunk
            .strip_prefix("data: ")
            .and_then(|c| c.strip_suffix("\n\n"));
        serde_json::from_str::<Value>(data.unwrap_or_else(|| panic!("{chunk:?}"))).unwrap()
    };
    assert_eq!(event()["result"]["components"][NAME], "hero");
    rename(&host, entity, "two");
    let changed = event();
    assert_eq!(
        (
            changed["id"].clone(),
            changed["result"]["components"][NAME].clone()
        ),
        (json!(5), json!("two"))
    );
    host.request(&rpc(2, "world.despawn_entity", json!({"entity": entity})));
    assert_eq!(event()["error"]["code"], ErrorCode::EntityNotFound.code());
    assert!(
        http.chunk().is_empty(),
        "the stream ends with its last answer"
    );
    // The connection stays usable.
    let ping = http.post(r#"{"id": 9, "request": "PING"}"#);
    assert_eq!(ping.json()["response"]["status"], "OK");
}

#[test]
fn websocket_answers_out_of_order_and_pushes_watches() {
    let host = Host::new();
    let entity = spawn(&host, "hero");
    let server = serve(&host, json!({}));
    let mut socket = ws(&server, None).unwrap();
    send(
        &mut socket,
        &rpc(
            1,
            "world.get_components+watch",
            json!({"entity": entity, "components": [NAME]}),
        ),
    );
    assert_eq!(receive(&mut socket)["result"]["components"][NAME], "hero");
    send(&mut socket, r#"{"id": 2, "request": "PING"}"#);
    assert_eq!(
        receive(&mut socket)["id"],
        2,
        "the watch does not hold up other requests"
    );
    rename(&host, entity, "two");
    let pushed = receive(&mut socket);
    assert_eq!(
        (
            pushed["id"].clone(),
            pushed["result"]["components"][NAME].clone()
        ),
        (json!(1), json!("two"))
    );
    send(
        &mut socket,
        r#"{"id": 3, "request": "CANCEL", "params": {"id": 1}}"#,
    );
    let mut ids = vec![receive(&mut socket), receive(&mut socket)];
    ids.sort_by_key(|answer| answer["id"].as_u64());
    assert_eq!(
        ids[0]["error"]["code"],
        ErrorCode::Cancelled.code(),
        "{ids:?}"
    );
    assert_eq!(ids[1]["response"]["status"], "OK", "{ids:?}");
    send(&mut socket, r#"{"id": 4, "request": "PING"}"#);
    send(&mut socket, r#"{"id": 4, "request": "PING"}"#);
    assert_eq!(receive(&mut socket)["id"], 4);
    assert_eq!(
        receive(&mut socket)["id"],
        4,
        "ids are reusable once answered"
    );
    socket.send(Message::binary(vec![1, 2, 3])).unwrap();
    assert_eq!(
        receive(&mut socket)["error"]["code"],
        ErrorCode::ParseError.code()
    );
}

#[test]
fn a_token_is_required_when_set_and_compared_whole() {
    let host = Host::new();
    let server = serve(&host, json!({"token": "s3cret"}));
    let ping = r#"{"id": 1, "request": "PING"}"#;
    for headers in [
        vec![],
        vec![("Authorization", "Bearer wrong")],
        vec![("Authorization", "Bearer s3cre")],
        vec![("Authorization", "s3cret")],
    ] {
        // A refused request's body is not read: the server closes the connection.
        let mut http = Http::connect(&server);
        http.send("POST", ping, &headers);
        let reply = http.reply();
        assert_eq!(reply.status, 401, "{headers:?}");
        assert_eq!(reply.header("www-authenticate"), Some("Bearer"));
    }
    let mut http = Http::connect(&server);
    http.send("POST", ping, &[("Authorization", "Bearer s3cret")]);
    assert_eq!(http.reply().json()["response"]["status"], "OK");
    match ws(&server, None) {
        Err(tungstenite::Error::Http(response)) => assert_eq!(response.status(), 401),
        other => panic!("a WebSocket without the token: {:?}", other.map(|_| ())),
    }
    let mut socket = ws(&server, Some("s3cret")).unwrap();
    send(&mut socket, ping);
    assert_eq!(receive(&mut socket)["response"]["status"], "OK");
    assert_eq!(server.stats().unauthorized, 5);
}

#[test]
fn oversized_requests_are_refused_on_both_transports() {
    let host = Host::new();
    let server = serve(&host, json!({"max_request_bytes": 64}));
    let mut http = Http::connect(&server);
    let big = format!(
        r#"{{"id": 1, "request": "PING", "params": {{"pad": "{}"}}}}"#,
        "x".repeat(100)
    );
    assert_eq!(http.post(&big).status, 413);
    let mut socket = ws(&server, None).unwrap();
    send(&mut socket, &big);
    match socket.read() {
        Ok(Message::Close(Some(frame))) => assert_eq!(u16::from(frame.code), 1009),
        other => panic!("expected a close frame, got {other:?}"),
    }
    eventually(|| server.stats().oversized == 2, "both counted");
}

#[test]
fn connections_over_the_limit_are_closed_at_once_when_none_is_idle() {
    let host = Host::new();
    let server = serve(&host, json!({"max_connections": 2}));
    let first: Value =
        serde_json::from_str(&host.request(
            r#"{"id": 1, "request": "POLL", "params": {"data": {"components": ["Name"]}}}"#,
        ))
        .unwrap();
    let poll = json!({"id": 2, "request": "POLL", "params": {"data": {"components": ["Name"]},
        "watermark": first["response"]["watermark"]}})
    .to_string();
    let mut open: Vec<Http> = (0..2).map(|_| Http::connect(&server)).collect();
    for http in &mut open {
        http.send("POST", &poll, &[]);
    }
    eventually(|| server.stats().requests == 2, "both POLLs wait");
    let mut third = Http::connect(&server);
    assert!(third.closed(), "the third connection is closed");
    assert_eq!(server.stats().refused_connections, 1);
    drop(open.pop());
    eventually(|| server.stats().open_connections == 1, "a slot frees up");
    let mut fourth = Http::connect(&server);
    assert_eq!(fourth.post(r#"{"id": 1, "request": "PING"}"#).status, 200);
}

#[test]
fn at_the_limit_the_connection_idle_longest_makes_room() {
    let host = Host::new();
    let server = serve(&host, json!({"max_connections": 2}));
    let mut oldest = Http::connect(&server);
    assert_eq!(oldest.post(r#"{"id": 1, "request": "PING"}"#).status, 200);
    let mut newer = Http::connect(&server);
    assert_eq!(newer.post(r#"{"id": 1, "request": "PING"}"#).status, 200);
    let mut third = Http::connect(&server);
    assert_eq!(third.post(r#"{"id": 1, "request": "PING"}"#).status, 200);
    assert!(oldest.closed(), "the idle one longest made room");
    assert_eq!(newer.post(r#"{"id": 2, "request": "PING"}"#).status, 200);
    assert_eq!(server.stats().refused_connections, 0);
}

#[test]
fn a_websocket_connection_limits_its_requests_in_flight_and_watches() {
    let host = Host::new();
    let entity = spawn(&host, "hero");
    let server = serve(&host, json!({"max_in_flight": 2, "max_watches": 1}));
    let mut socket = ws(&server, None).unwrap();
    let watch = |id| rpc(id, "world.list_components+watch", json!({"entity": entity}));
    send(&mut socket, &watch(1));
    assert!(receive(&mut socket)["result"].is_object());
    send(&mut socket, &watch(2));
    let refused = receive(&mut socket);
    assert_eq!(refused["id"], 2);
    assert_eq!(
        refused["jsonrpc"], "2.0",
        "refused in the request's dialect"
    );
    assert!(
        refused["error"]["message"]
            .as_str()
            .unwrap()
            .contains("max_watches")
    );
    let poll = r#"{"id": 3, "request": "POLL", "params": {"data": {"components": ["Name"]}, "watermark": "1-0000000000000000"}}"#;
    send(&mut socket, poll);
    let _ = receive(&mut socket); // answers at once: the digest differs
    let parked = host
        .request(r#"{"id": 1, "request": "POLL", "params": {"data": {"components": ["Name"]}}}"#);
    let parked: Value = serde_json::from_str(&parked).unwrap();
    let watermark = parked["response"]["watermark"].as_str().unwrap();
    let poll = |id| {
        json!({"id": id, "request": "POLL", "params": {"data": {"components": ["Name"]}, "watermark": watermark}}).to_string()
    };
    send(&mut socket, &poll(4));
    send(&mut socket, &poll(5));
    let refused = receive(&mut socket);
    assert_eq!(refused["id"], 5);
    assert!(
        refused["error"]["message"]
            .as_str()
            .unwrap()
            .contains("max_in_flight"),
        "{refused}"
    );
}

#[test]
fn a_client_that_stops_reading_is_disconnected_and_the_world_goes_on() {
    let host = Host::from_config_json(r#"{"components": ["Blob"]}"#).unwrap();
    let blob =
        |n: usize| json!({"JSON": json!(format!("{n}{}", "x".repeat(64 << 10))).to_string()});
    host.request(
        &json!({"id": 1, "request": "SPAWN", "params": {"components": {"Blob": blob(0)}}})
            .to_string(),
    );
    let server = serve(&host, json!({"max_queued_answers": 4}));
    let mut socket = ws(&server, None).unwrap();
    send(
        &mut socket,
        &rpc(
            1,
            "world.get_components+watch",
            json!({"entity": 4294967294_u64, "components": ["Blob"]}),
        ),
    );
    // The client reads nothing more; the host keeps writing.
    for n in 1..=2000 {
        let insert = json!({"id": 1, "request": "INSERT", "params": {"entity": "1v0", "components": {"Blob": blob(n)}}});
        assert!(host.request(&insert.to_string()).contains("OK"));
        if server.stats().slow_disconnects == 1 {
            break;
        }
    }
    eventually(
        || server.stats().slow_disconnects == 1,
        "the slow client is disconnected",
    );
    eventually(
        || server.stats().open_connections == 0,
        "its connection closes",
    );
    assert!(
        host.request(r#"{"id": 2, "request": "PING"}"#)
            .contains("OK")
    );
}

#[test]
fn a_client_gone_mid_request_frees_its_connection() {
    let host = Host::new();
    let server = serve(&host, json!({}));
    let parked: Value =
        serde_json::from_str(&host.request(
            r#"{"id": 1, "request": "POLL", "params": {"data": {"components": ["Name"]}}}"#,
        ))
        .unwrap();
    let poll = json!({"id": 2, "request": "POLL", "params": {"data": {"components": ["Name"]}, "watermark": parked["response"]["watermark"]}});
    let mut http = Http::connect(&server);
    http.send("POST", &poll.to_string(), &[]);
    eventually(|| server.stats().requests == 1, "the POLL is in");
    drop(http);
    eventually(
        || server.stats().open_connections == 0,
        "the connection closes",
    );
    assert!(
        host.request(r#"{"id": 3, "request": "PING"}"#)
            .contains("OK")
    );
}

#[test]
fn a_client_that_sends_its_headers_too_slowly_is_cut_off() {
    let host = Host::new();
    let server = serve(&host, json!({"header_timeout_ms": 100}));
    let mut stream = TcpStream::connect(server.address()).unwrap();
    stream.set_read_timeout(Some(HANG)).unwrap();
    stream
        .write_all(b"POST / HTTP/1.1\r\nHost: 127.0.0.1\r\n")
        .unwrap();
    let mut rest = Vec::new();
    let _ = stream.read_to_end(&mut rest); // the server closes it
    eventually(
        || server.stats().open_connections == 0,
        "the connection is closed",
    );
}

#[test]
fn a_thousand_connections_at_once_are_all_answered() {
    let host = Host::new();
    let server = serve(&host, json!({}));
    let address: SocketAddr = server.address();
    let mut connections: Vec<TcpStream> = (0..1000)
        .map(|_| {
            let stream = TcpStream::connect(address).unwrap();
            stream.set_read_timeout(Some(HANG)).unwrap();
            stream
        })
        .collect();
    let body = r#"{"id": 1, "request": "PING"}"#;
    let request = format!(
        "POST / HTTP/1.1\r\nHost: 127.0.0.1\r\nContent-Length: {}\r\n\r\n{body}",
        body.len()
    );
    for stream in &mut connections {
        stream.write_all(request.as_bytes()).unwrap();
    }
    for stream in connections {
        let mut http = Http {
            reader: BufReader::new(stream),
        };
        assert_eq!(http.reply().json()["response"]["status"], "OK");
    }
    assert_eq!(server.stats().connections, 1000);
}

#[test]
fn stopping_answers_parked_requests_with_cancelled_and_closes_every_connection() {
    let host = Host::new();
    let entity = spawn(&host, "hero");
    let server = serve(&host, json!({}));
    let parked: Value =
        serde_json::from_str(&host.request(
            r#"{"id": 1, "request": "POLL", "params": {"data": {"components": ["Name"]}}}"#,
        ))
        .unwrap();
    let poll = json!({"id": 2, "request": "POLL", "params": {"data": {"components": ["Name"]}, "watermark": parked["response"]["watermark"]}});
    let mut http = Http::connect(&server);
    http.send("POST", &poll.to_string(), &[]);
    let mut socket = ws(&server, None).unwrap();
    send(
        &mut socket,
        &rpc(
            3,
            "world.get_components+watch",
            json!({"entity": entity, "components": [NAME]}),
        ),
    );
    receive(&mut socket);
    eventually(|| server.stats().requests == 2, "both requests are in");
    server.stop();
    assert_eq!(
        http.reply().json()["error"]["code"],
        ErrorCode::Cancelled.code()
    );
    let last = receive(&mut socket);
    assert_eq!(
        (last["id"].clone(), last["error"]["code"].clone()),
        (json!(3), json!(ErrorCode::Cancelled.code()))
    );
    match socket.read() {
        Ok(Message::Close(Some(frame))) => assert_eq!(u16::from(frame.code), 1001),
        other => panic!("expected a close frame, got {other:?}"),
    }
    assert!(
        TcpStream::connect(server.address()).is_err(),
        "nothing listens any more"
    );
    assert_eq!(server.stats().open_connections, 0);
    server.stop(); // idempotent
}

#[test]
fn a_bad_config_is_refused() {
    let host = Host::new();
    for (config, message) in [
        (r#"{"address": "localhost"}"#, "address"),
        (r#"{"max_connections": 0}"#, "max_connections"),
        (r#"{"token": ""}"#, "token"),
        (r#"{"port": 1}"#, "unknown field"),
    ] {
        let error = ServerConfig::from_json(config)
            .and_then(|config| Server::start(&host, config).map(drop))
            .unwrap_err();
        assert_eq!(error.code, ErrorCode::InvalidParams, "{config}");
        assert!(
            error.message.contains(message),
            "{config}: {}",
            error.message
        );
    }
    let first = serve(&host, json!({}));
    let taken = ServerConfig {
        address: first.address().to_string(),
        ..ServerConfig::default()
    };
    let error = Server::start(&host, taken).map(drop).unwrap_err();
    assert!(error.message.contains("cannot listen"), "{}", error.message);
}
