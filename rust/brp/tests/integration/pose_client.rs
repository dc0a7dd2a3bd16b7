//! The pose client against a test controller on 127.0.0.1: poses land in
//! the world, bad frames are skipped, the connection is re-established,
//! newest wins, and `wss://` works with a configured CA.

use crate::pose_support::{Server, config, pose, request, tls_acceptor, wait_until};
use brp::Host;
use brp::pose::{ConnectionState, Frame, FrameEvent, FrameObserver, PoseClient, Target};
use serde_json::{Value, json};
use std::sync::{Arc, Mutex};
use tokio_tungstenite::tungstenite::Message;

/// The wire id of the entity named `name`.
fn entity_named(app: &Host, name: &str) -> String {
    let answer = request(
        app,
        json!({"id": 1, "request": "QUERY", "params": {"data": {"components": ["Name"]}}}),
    );
    let rows = answer["response"]["entities"]
        .as_array()
        .expect("QUERY rows")
        .clone();
    let quoted = json!(name).to_string();
    let row = rows
        .iter()
        .find(|row| row["Name"]["JSON"] == json!(quoted))
        .unwrap_or_else(|| panic!("no entity named {name} in {answer}"));
    row["id"].as_str().expect("entity id").to_owned()
}

/// The `PoseLandmarks` of `entity` as GET answers it, or the error.
fn landmarks(app: &Host, entity: &str) -> Result<Value, Value> {
    let answer = request(
        app,
        json!({"id": 2, "request": "GET",
               "params": {"entity": entity, "components": ["PoseLandmarks"]}}),
    );
    match answer["response"]["components"]["PoseLandmarks"]["JSON"].as_str() {
        Some(text) => Ok(serde_json::from_str(text).expect("component JSON")),
        None => Err(answer),
    }
}

fn applied(client: &PoseClient, count: u64) {
    wait_until(&format!("{count} frames applied"), || {
        client.stats().frames_applied >= count
    });
}

#[test]
fn poses_land_on_the_player_and_empty_marks_it_not_detected() {
    let server = Server::start();
    let app = Host::new();
    let client = PoseClient::start(&app, config(server.url())).expect("client starts");
    let peer = server.next_peer();

    let mut sent = pose(1);
    sent.capture_time_ns = Some(1_700_000_000_000_000_000);
    peer.send_frame(&Frame::pose(sent.clone()));
    applied(&client, 1);
    let player = entity_named(&app, "Player");
    let got = landmarks(&app, &player).expect("PoseLandmarks present");
    assert_eq!(got["sequence"], json!(1));
    assert_eq!(got["capture_time_ns"], json!(1_700_000_000_000_000_000u64));
    assert_eq!(got["landmarks"].as_array().map(Vec::len), Some(33));
    assert_eq!(got["landmarks"][32]["x"], json!(1.0));
    assert_eq!(
        got["landmarks"][0]["visibility"].as_f64().map(|v| v as f32),
        Some(0.9)
    );

    peer.send_frame(&Frame::empty());
    applied(&client, 2);
    let not_detected = request(
        &app,
        json!({"id": 3, "request": "QUERY", "params": {
            "data": {"components": []}, "filter": {"with": ["PoseNotDetected"]}}}),
    );
    assert_eq!(not_detected["response"]["entities"][0]["id"], json!(player));
    assert!(
        landmarks(&app, &player).is_err(),
        "Empty removes PoseLandmarks"
    );

    peer.send(Message::text(Frame::pose(pose(3)).to_json()));
    applied(&client, 3);
    assert_eq!(
        landmarks(&app, &player).expect("present again")["sequence"],
        json!(3)
    );
    assert_eq!(
        entity_named(&app, "Player"),
        player,
        "the same entity, not a new one"
    );

    let stats = client.stats();
    assert_eq!(stats.state, ConnectionState::Connected);
    assert_eq!((stats.frames_received, stats.decode_errors), (3, 0));
    assert!(stats.latency_ms.is_some() && stats.pose_age_ms.is_some());
}

#[test]
fn the_auth_header_arrives_and_an_entity_target_is_used() {
    let server = Server::start();
    let app = Host::new();
    let target = app.with_world_mut(|world| world.spawn_empty().id());
    let mut config = config(server.url());
    config
        .headers
        .insert("Authorization".into(), "Bearer s3cret".into());
    config.target = Target::entity(target);
    let client = PoseClient::start(&app, config).expect("client starts");
    let peer = server.next_peer();
    assert_eq!(
        peer.headers
            .get("authorization")
            .and_then(|v| v.to_str().ok()),
        Some("Bearer s3cret")
    );
    peer.send_frame(&Frame::pose(pose(1)));
    applied(&client, 1);
    let id = brp::entity_id::format(target);
    assert_eq!(landmarks(&app, &id).expect("landed")["sequence"], json!(1));
}

#[test]
fn bad_frames_are_counted_and_skipped_and_the_connection_survives() {
    let server = Server::start();
    let app = Host::new();
    let mut config = config(server.url());
    config.max_message_size = 4096;
    let client = PoseClient::start(&app, config).expect("client starts");
    let peer = server.next_peer();

    let good = Frame::pose(pose(1)).to_flatbuffers();
    let bad = [
        Message::binary(vec![0xde, 0xad, 0xbe, 0xef, 0, 1, 2]),
        Message::binary(good[..good.len() / 2].to_vec()),
        Message::binary(Vec::new()),
        Message::text("{\"timestamp\": 1, \"landmarks\": [{\"x\": "),
        Message::text("not json"),
        Message::binary(vec![0u8; 5000]),
        Message::text(format!("{{\"pad\": \"{}\"}}", "x".repeat(8000))),
    ];
    // One at a time: a frame replaced by a newer one before it is decoded
    // counts as dropped, not as a decode error.
    for (count, message) in (1..).zip(bad) {
        peer.send(message);
        wait_until("the bad frame is counted", || {
            let stats = client.stats();
            stats.decode_errors + stats.oversize_frames == count
        });
    }
    peer.send(Message::binary(good));
    applied(&client, 1);

    let stats = client.stats();
    assert_eq!(stats.frames_received, 8);
    assert_eq!(stats.decode_errors, 5);
    assert_eq!(stats.oversize_frames, 2);
    assert_eq!(stats.frames_dropped, 0);
    assert_eq!((stats.connections, stats.reconnects), (1, 0));
    assert_eq!(stats.state, ConnectionState::Connected);
    let player = entity_named(&app, "Player");
    assert_eq!(
        landmarks(&app, &player).expect("landed")["sequence"],
        json!(1)
    );
}

#[test]
fn reconnects_after_the_server_restarts() {
    let server = Server::start();
    let addr = server.addr;
    let app = Host::new();
    let client = PoseClient::start(&app, config(server.url())).expect("client starts");
    let peer = server.next_peer();
    peer.send_frame(&Frame::pose(pose(1)));
    applied(&client, 1);

    drop((peer, server));
    wait_until("the client notices", || {
        client.stats().state != ConnectionState::Connected
    });
    let server = Server::start_on(addr, None);
    let peer = server.next_peer();
    peer.send_frame(&Frame::pose(pose(2)));
    applied(&client, 2);

    let stats = client.stats();
    assert_eq!(stats.connections, 2);
    assert!(stats.reconnects >= 1);
    assert!(stats.last_error.is_some());
    let player = entity_named(&app, "Player");
    assert_eq!(
        landmarks(&app, &player).expect("landed")["sequence"],
        json!(2)
    );
}

#[test]
fn without_reconnect_the_client_stops_when_the_server_goes() {
    let server = Server::start();
    let app = Host::new();
    let mut config = config(server.url());
    config.reconnect = false;
    let client = PoseClient::start(&app, config).expect("client starts");
    drop(server.next_peer());
    wait_until("the client stops", || {
        client.stats().state == ConnectionState::Stopped
    });
    assert_eq!(
        (client.stats().connections, client.stats().reconnects),
        (1, 0)
    );
}

#[test]
fn the_newest_pose_wins_a_burst() {
    const BURST: u64 = 50;
    let server = Server::start();
    let app = Host::new();
    let client = PoseClient::start(&app, config(server.url())).expect("client starts");
    let peer = server.next_peer();
    // Hold the world until the whole burst is in the client's socket, so
    // at most one frame is being applied: the rest are read together and
    // all but the newest dropped, not queued.
    app.read(|_| {
        for sequence in 1..=BURST {
            peer.send_frame(&Frame::pose(pose(sequence)));
        }
        wait_until("the burst is written", || peer.written() == BURST as usize);
    });
    wait_until("every frame is applied or dropped", || {
        let stats = client.stats();
        stats.frames_received == BURST && stats.frames_applied + stats.frames_dropped == BURST
    });
    let stats = client.stats();
    assert!(stats.frames_applied <= BURST / 2, "{stats:?}");
    assert!(stats.frames_dropped >= BURST / 2, "{stats:?}");
    let player = entity_named(&app, "Player");
    assert_eq!(
        landmarks(&app, &player).expect("landed")["sequence"],
        json!(BURST)
    );

    client.stop();
    assert_eq!(client.stats().state, ConnectionState::Stopped);
    client.stop();
}

#[test]
fn the_observer_sees_every_applied_frame_in_order() {
    let server = Server::start();
    let app = Host::new();
    let events = Arc::new(Mutex::new(Vec::new()));
    let observer: FrameObserver = Arc::new({
        let (events, app) = (events.clone(), app.clone());
        move |event: &FrameEvent| {
            // The world's lock is free: a request from here answers.
            let pong = request(&app, json!({"id": 1, "request": "PING"}));
            assert!(pong["response"]["status"].is_string(), "{pong}");
            events.lock().expect("events").push(event.clone());
        }
    });
    let client =
        PoseClient::start_with_observer(&app, config(server.url()), observer).expect("starts");
    let peer = server.next_peer();
    let mut stamped = pose(1);
    stamped.capture_time_ns = Some(1_700_000_000_000_000_000);
    let frames = [
        Frame::pose(stamped),
        Frame::empty(),
        Frame::pose(pose(3)),
        Frame::pose(pose(4)),
    ];
    for (count, frame) in (1..).zip(&frames) {
        peer.send_frame(frame);
        applied(&client, count);
    }
    peer.send(Message::binary(vec![1, 2, 3]));
    wait_until("the bad frame is counted", || {
        client.stats().decode_errors == 1
    });
    client.stop();

    let events = events.lock().expect("events").clone();
    let stats = client.stats();
    assert_eq!(stats.frames_applied, 4);
    assert_eq!(stats.decode_errors, 1);
    let seen: Vec<_> = events.iter().map(|e| (e.detected, e.sequence)).collect();
    assert_eq!(
        seen,
        [
            (true, Some(1)),
            (false, None),
            (true, Some(3)),
            (true, Some(4))
        ]
    );
    assert_eq!(events[0].capture_time_ns, Some(1_700_000_000_000_000_000));
    assert!(events[0].latency_ms.is_some() && events[2].latency_ms.is_none());
    assert_eq!(events[1].timestamp, None);
    assert_eq!(events[3].timestamp, Some(4.0 / 60.0));
    let json = serde_json::to_value(&events[1]).expect("event JSON");
    assert_eq!(
        json,
        json!({"detected": false, "sequence": null, "timestamp": null,
               "capture_time_ns": null, "latency_ms": null})
    );
}

#[test]
fn wss_with_a_configured_ca() {
    let (acceptor, ca_pem) = tls_acceptor();
    let server = Server::start_on("127.0.0.1:0".parse().expect("address"), Some(acceptor));
    let url = format!("wss://{}", server.addr);
    let app = Host::new();

    let untrusting = PoseClient::start(&app, config(url.clone())).expect("client starts");
    wait_until("a failed attempt", || untrusting.stats().reconnects >= 1);
    assert_eq!(untrusting.stats().connections, 0);
    let error = untrusting.stats().last_error.unwrap_or_default();
    assert!(error.contains("certificate"), "{error}");
    drop(untrusting);

    let dir = std::env::temp_dir().join(format!("brp-pose-ca-{}", std::process::id()));
    std::fs::create_dir_all(&dir).expect("temp dir");
    let ca_path = dir.join("ca.pem");
    std::fs::write(&ca_path, &ca_pem).expect("CA file");
    for (pem, path) in [(Some(ca_pem), None), (None, Some(ca_path))] {
        let mut config = config(url.clone());
        config.ca_cert_pem = pem;
        config.ca_cert_path = path;
        let client = PoseClient::start(&app, config).expect("client starts");
        let peer = server.next_peer();
        peer.send_frame(&Frame::pose(pose(7)));
        applied(&client, 1);
        // Stop the client before the server side closes, so it does not
        // reconnect and take the next client's place.
        drop((client, peer));
    }
    let _ = std::fs::remove_dir_all(&dir);
    let player = entity_named(&app, "Player");
    assert_eq!(
        landmarks(&app, &player).expect("landed")["sequence"],
        json!(7)
    );
}

#[test]
fn settings_that_cannot_work_fail_at_start() {
    let app = Host::new();
    let mut bad = Vec::new();
    bad.push(config("http://127.0.0.1:1".into()));
    bad.push(config("not a url".into()));
    let mut header = config("ws://127.0.0.1:1".into());
    header.headers.insert("Bad Header".into(), "x".into());
    bad.push(header);
    let mut pem = config("wss://127.0.0.1:1".into());
    pem.ca_cert_pem = Some("-----BEGIN CERTIFICATE-----\nnope\n".into());
    bad.push(pem);
    let mut missing = config("wss://127.0.0.1:1".into());
    missing.ca_cert_path = Some("/nonexistent/ca.pem".into());
    bad.push(missing);
    let mut size = config("ws://127.0.0.1:1".into());
    size.max_message_size = 0;
    bad.push(size);
    for config in bad {
        let error = PoseClient::start(&app, config.clone()).err();
        assert_eq!(
            error.map(|e| e.code),
            Some(brp::ErrorCode::InvalidParams),
            "{config:?}"
        );
    }
}
