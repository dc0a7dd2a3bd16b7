//! Hardening of the pose client and `push_frame`: stopping while an
//! observer reads the stats, silent controllers, the world's hidden
//! entities, numbers beyond `f32`, error messages, the hard size limit, and
//! frames that point many offsets at one table.

use crate::pose_support::{DEADLINE, Server, config, pose, request, wait_until};
use brp::Host;
use brp::pose::{
    ClientConfig, ConnectionState, Frame, FrameEvent, FrameObserver, Landmark, OVERSIZE_FACTOR,
    PoseClient, PoseLandmarks, PoseNotDetected, Target, push_frame,
};
use serde_json::{Value, json};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex, OnceLock, mpsc};
use std::time::Duration;
use tokio_tungstenite::tungstenite::Message;

fn applied(client: &PoseClient, count: u64) {
    wait_until(&format!("{count} frames applied"), || {
        client.stats().frames_applied >= count
    });
}

/// The ids of the entities a QUERY on `component` finds.
fn with_component(app: &Host, component: &str) -> Value {
    let answer = request(
        app,
        json!({"id": 1, "request": "QUERY", "params": {"data": {"components": [component]}}}),
    );
    answer["response"]["entities"].clone()
}

#[test]
fn an_observer_reads_the_stats_while_another_thread_stops_the_client() {
    let server = Server::start();
    let app = Host::new();
    let slot: Arc<OnceLock<Arc<PoseClient>>> = Arc::new(OnceLock::new());
    let (entered_tx, entered) = mpsc::channel();
    let (stopping, stopping_rx) = mpsc::channel::<()>();
    let stopping_rx = Mutex::new(stopping_rx);
    let seen = Arc::new(Mutex::new(None));
    let returned = Arc::new(AtomicBool::new(false));
    let observer: FrameObserver = Arc::new({
        let (slot, seen, returned) = (slot.clone(), seen.clone(), returned.clone());
        move |_: &FrameEvent| {
            if returned.load(Ordering::Acquire) {
                return;
            }
            let _ = entered_tx.send(());
            // Hold the frame until another thread is stopping the client,
            // and give it a moment to reach the wait for this frame.
            let go = stopping_rx.lock().expect("receiver").recv_timeout(DEADLINE);
            assert!(go.is_ok(), "the test never stopped the client");
            std::thread::sleep(Duration::from_millis(50));
            let client = slot.get().expect("the client is set before frames flow");
            *seen.lock().expect("seen") = Some(client.stats());
            returned.store(true, Ordering::Release);
        }
    });
    let client = PoseClient::start_with_observer(&app, config(server.url()), observer)
        .expect("client starts");
    let client = slot.get_or_init(|| Arc::new(client)).clone();
    let peer = server.next_peer();
    peer.send_frame(&Frame::pose(pose(1)));
    entered.recv_timeout(DEADLINE).expect("the observer runs");

    let stopper = std::thread::spawn({
        let (client, returned) = (client.clone(), returned.clone());
        move || {
            stopping.send(()).expect("the observer waits");
            client.stop();
            // Stop waits for the observer of the frame being applied.
            returned.load(Ordering::Acquire)
        }
    });
    wait_until("stop returns", || stopper.is_finished());
    assert!(stopper.join().expect("no panic"), "stop returned first");
    let in_observer = seen.lock().expect("seen").take().expect("stats read");
    assert_eq!(in_observer.frames_applied, 1);
    let after = client.stats();
    assert_eq!(after.state, ConnectionState::Stopped);
    assert_eq!(after.frames_applied, 1);
    client.stop();
}

#[test]
fn a_silent_controller_is_dropped_after_the_idle_timeout_and_reconnected() {
    let server = Server::start_deaf();
    let app = Host::new();
    let mut config = config(server.url());
    config.ping_interval_ms = 50;
    config.idle_timeout_ms = 500;
    let client = PoseClient::start(&app, config).expect("client starts");
    let first = server.next_peer();
    first.send_frame(&Frame::pose(pose(1)));
    applied(&client, 1);

    wait_until("the silence is noticed", || {
        client.stats().idle_timeouts >= 1
    });
    let error = client.stats().last_error.unwrap_or_default();
    assert!(
        error.contains("idle timeout") && error.contains("500 ms (idle_timeout_ms)"),
        "{error}"
    );
    let _second = server.next_peer();
    wait_until("the client reconnects", || {
        let stats = client.stats();
        stats.connections >= 2 && stats.reconnects >= 1
    });
    assert_eq!(client.stats().frames_applied, 1);
}

#[test]
fn without_reconnect_a_silent_controller_stops_the_client() {
    let server = Server::start_deaf();
    let app = Host::new();
    let mut config = config(server.url());
    config.reconnect = false;
    config.ping_interval_ms = 0;
    config.idle_timeout_ms = 200;
    let client = PoseClient::start(&app, config).expect("client starts");
    let _peer = server.next_peer();
    wait_until("the client stops", || {
        client.stats().state == ConnectionState::Stopped
    });
    let stats = client.stats();
    assert_eq!((stats.connections, stats.idle_timeouts), (1, 1));
    assert!(
        stats
            .last_error
            .unwrap_or_default()
            .contains("idle timeout")
    );
}

#[test]
fn a_quiet_controller_that_answers_pings_stays_connected() {
    const PINGS: usize = 60;
    let server = Server::start();
    let app = Host::new();
    let mut config = config(server.url());
    config.ping_interval_ms = 20;
    config.idle_timeout_ms = 400;
    let client = PoseClient::start(&app, config).expect("client starts");
    let peer = server.next_peer();
    peer.send_frame(&Frame::pose(pose(1)));
    applied(&client, 1);
    // 60 pings, at least 20 ms apart: three idle timeouts without a frame.
    wait_until("the pings are answered", || peer.pings() >= PINGS);
    let stats = client.stats();
    assert_eq!(stats.state, ConnectionState::Connected, "{stats:?}");
    assert_eq!(
        (stats.connections, stats.idle_timeouts),
        (1, 0),
        "{stats:?}"
    );
}

#[test]
fn the_worlds_hidden_entities_are_no_pose_targets() {
    let app = Host::new();
    let hidden = brp::entity_id::parse("0v0").expect("an id");
    assert!(
        app.read(|world| world.get_entity(hidden).is_ok()),
        "0v0 exists"
    );
    let get = request(
        &app,
        json!({"id": 1, "request": "GET", "params": {"entity": "0v0", "components": []}}),
    );
    assert_eq!(get["error"]["code"], json!(-23401), "GET hides it: {get}");

    let frames = [
        Frame::pose(pose(1)).to_flatbuffers(),
        Frame::empty().to_flatbuffers(),
    ];
    for frame in frames {
        let error = push_frame(&app, &Target::entity(hidden), &frame).expect_err("hidden");
        assert_eq!(error.code, brp::ErrorCode::EntityNotFound);
        assert_eq!(error.message, "entity 0v0 does not exist");
    }
    let untouched = app.read(|world| {
        world.get::<PoseLandmarks>(hidden).is_none()
            && world.get::<PoseNotDetected>(hidden).is_none()
    });
    assert!(untouched);

    // A name on a hidden entity does not make it the target either.
    app.with_world_mut(|world| {
        world
            .entity_mut(hidden)
            .insert(bevy_ecs::name::Name::new("Player"));
    });
    push_frame(
        &app,
        &Target::default(),
        &Frame::pose(pose(2)).to_flatbuffers(),
    )
    .expect("lands on a new Player");
    assert!(app.read(|world| world.get::<PoseLandmarks>(hidden).is_none()));
    let landed = with_component(&app, "PoseLandmarks");
    assert_eq!(landed.as_array().map(Vec::len), Some(1), "{landed}");
    assert_ne!(landed[0]["id"], json!("0v0"));

    let server = Server::start();
    let mut config = config(server.url());
    config.target = Target::entity(hidden);
    let client = PoseClient::start(&app, config).expect("client starts");
    let peer = server.next_peer();
    peer.send_frame(&Frame::pose(pose(3)));
    wait_until("the frame is refused", || client.stats().apply_errors == 1);
    let stats = client.stats();
    assert_eq!(stats.frames_applied, 0);
    assert_eq!(
        stats.last_error.as_deref(),
        Some("entity 0v0 does not exist")
    );
    assert!(app.read(|world| world.get::<PoseLandmarks>(hidden).is_none()));
}

/// The default target, for poses of any landmark count.
fn any_count() -> Target {
    Target {
        landmark_count: None,
        ..Target::default()
    }
}

/// A one-landmark JSON pose whose landmark has `field` set to `value`.
fn json_pose(field: &str, value: &str) -> String {
    let mut landmark = json!({"x": 0.5, "y": 0.5, "z": 0.0,
                              "availability": {"visibility": 1.0, "presence": 1.0}});
    let raw: Value = serde_json::from_str(value).expect("a number");
    match field {
        "visibility" | "presence" => landmark["availability"][field] = raw,
        _ => landmark[field] = raw,
    }
    // serde_json writes 1e300 as 1e300: the number's text is kept.
    json!({"timestamp": 1.0, "landmarks": [landmark]}).to_string()
}

#[test]
fn numbers_beyond_f32_are_errors_and_never_stored() {
    let app = Host::new();
    let cases = [
        ("x", "1e300"),
        ("y", "-1e39"),
        ("z", "3.5e38"),
        ("visibility", "1e300"),
        ("presence", "-1e300"),
    ];
    for (field, value) in cases {
        let text = json_pose(field, value);
        let error = push_frame(&app, &any_count(), text.as_bytes()).expect_err(&text);
        assert_eq!(error.code, brp::ErrorCode::InvalidParams, "{text}");
        assert!(
            error.message.contains(&format!("{field}: ")) && error.message.contains("out of range"),
            "{}",
            error.message
        );
    }
    let edge = json_pose("x", "3.4028235e38");
    push_frame(&app, &any_count(), edge.as_bytes()).expect("f32::MAX is in range");
    app.with_world_mut(|world| world.clear_entities());

    let mut flatbuffers = Vec::new();
    for bad in [f32::INFINITY, f32::NEG_INFINITY, f32::NAN] {
        let mut landmarks = pose(1);
        landmarks.landmarks[5] = Landmark {
            z: bad,
            ..landmarks.landmarks[5]
        };
        flatbuffers.push(Frame::pose(landmarks).to_flatbuffers());
    }
    let mut timestamp = pose(1);
    timestamp.timestamp = f64::NAN;
    flatbuffers.push(Frame::pose(timestamp).to_flatbuffers());
    for frame in &flatbuffers {
        let error = push_frame(&app, &Target::default(), frame).expect_err("not finite");
        assert_eq!(error.code, brp::ErrorCode::InvalidParams);
        assert!(
            error.message.contains("not a finite number"),
            "{}",
            error.message
        );
    }
    assert_eq!(with_component(&app, "PoseLandmarks"), json!([]));

    // The client counts them as decode errors and applies nothing.
    let server = Server::start();
    let mut config = config(server.url());
    config.target = any_count();
    let client = PoseClient::start(&app, config).expect("client starts");
    let peer = server.next_peer();
    let bad = [
        Message::text(json_pose("x", "1e300")),
        Message::binary(flatbuffers[0].clone()),
    ];
    for (count, message) in (1..).zip(bad) {
        peer.send(message);
        wait_until("the bad frame is counted", || {
            client.stats().decode_errors == count
        });
    }
    assert_eq!(client.stats().frames_applied, 0);
    assert_eq!(with_component(&app, "PoseLandmarks"), json!([]));
}

/// The message of the error `push_frame` gives for `bytes` (pushed to a
/// target of any landmark count).
fn refusal(bytes: &[u8]) -> String {
    let app = Host::new();
    let error = push_frame(&app, &any_count(), bytes).expect_err("refused");
    assert_eq!(error.code, brp::ErrorCode::InvalidParams);
    error.message
}

#[test]
fn decode_errors_say_what_was_expected_and_quote_little() {
    let empty = "malformed pose frame: the frame is empty (0 bytes)";
    assert_eq!(refusal(b""), empty);
    for decoded in [Frame::from_flatbuffers(b""), Frame::from_json(b"")] {
        let error = decoded.expect_err("empty");
        assert_eq!(error.to_string(), "the frame is empty (0 bytes)");
    }

    let list = refusal(b" []");
    assert!(
        list.contains("expected a JSON object") && list.ends_with("got a list"),
        "{list}"
    );
    let text = Frame::from_json(b"[1, 2]").expect_err("a list").to_string();
    assert!(text.ends_with("got a list"), "{text}");
    let string = Frame::from_json(b"\"pose\"")
        .expect_err("a string")
        .to_string();
    assert!(string.ends_with("got a string"), "{string}");
    // Binary messages hold FlatBuffers: JSON there is refused saying so.
    let binary = Frame::from_flatbuffers(b"[]")
        .expect_err("a list")
        .to_string();
    assert!(binary.ends_with("got a list"), "{binary}");
    let object = Frame::from_flatbuffers(br#"{"Empty": {}}"#).expect_err("JSON");
    assert!(
        object
            .to_string()
            .ends_with("a JSON pose, which goes in a text message"),
        "{object}"
    );

    let long = "y".repeat(10_000);
    let inputs = [
        format!(r#"{{"timestamp": "{long}", "landmarks": []}}"#),
        format!(r#"{{"timestamp": 1, "landmarks": [{{"x": "{long}", "y": 0, "z": 0}}]}}"#),
        format!(r#"{{"timestamp": 1, "landmarks": [], "sequence": "{long}"}}"#),
        format!(r#"{{"timestamp": 1, "landmarks": ["{long}"]}}"#),
        format!(
            r#"{{"timestamp": 1, "landmarks": [{{"x": 1{}, "y": 0, "z": 0}}]}}"#,
            "0".repeat(200)
        ),
        format!(r#"{{"timestamp": 1, "landmarks": [{}"#, "1, ".repeat(5000)),
        format!("{{\"{long}"),
        long.clone(),
    ];
    for input in inputs
        .iter()
        .map(String::as_bytes)
        .chain([&[0x0cu8; 10_000][..]])
    {
        let message = refusal(input);
        assert!(
            message.chars().count() < 300 && !message.contains(&"y".repeat(81)),
            "{message}"
        );
        assert!(!message.contains('\n'), "{message:?}");
    }
    let number = refusal(inputs[4].as_bytes());
    assert!(
        number.ends_with("landmarks[0].x: 1e+200 is out of range for a 32-bit float"),
        "{number}"
    );
}

#[test]
fn a_frame_over_the_hard_limit_ends_the_connection_which_is_counted_and_reestablished() {
    let server = Server::start();
    let app = Host::new();
    let mut config = config(server.url());
    config.max_message_size = 64;
    let client = PoseClient::start(&app, config).expect("client starts");
    let first = server.next_peer();
    first.send(Message::binary(vec![0u8; 64 * OVERSIZE_FACTOR + 1]));
    wait_until("the frame is counted", || {
        client.stats().oversize_frames == 1
    });
    let error = client.stats().last_error.unwrap_or_default();
    let hard = format!(
        "over the hard limit of {} bytes (max_message_size * 16)",
        64 * 16
    );
    assert!(error.contains(&hard), "{error}");

    let second = server.next_peer();
    second.send_frame(&Frame::empty());
    applied(&client, 1);
    let stats = client.stats();
    assert_eq!((stats.connections, stats.frames_received), (2, 2));
    assert_eq!((stats.oversize_frames, stats.decode_errors), (1, 0));
}

#[test]
fn settings_errors_quote_little_and_pings_must_precede_the_idle_timeout() {
    let app = Host::new();
    let long = "h".repeat(10_000);
    let mut header = config("ws://127.0.0.1:1".into());
    header.headers.insert(format!("Bad {long}"), "x".into());
    let mut pings = config("ws://127.0.0.1:1".into());
    pings.ping_interval_ms = 1000;
    pings.idle_timeout_ms = 1000;
    let bad = [
        config(format!("http://{long}")),
        config(format!("ws://{long} /")),
        header,
        pings,
    ];
    for config in bad {
        let error = PoseClient::start(&app, config).err().expect("refused");
        assert_eq!(error.code, brp::ErrorCode::InvalidParams);
        assert!(
            error.message.chars().count() < 300 && !error.message.contains(&"h".repeat(81)),
            "{}",
            error.message
        );
    }
    let json = format!(r#"{{"url": "ws://h", "reconnect": "{long}"}}"#);
    let error = ClientConfig::from_json(&json).expect_err("not a boolean");
    assert!(error.message.chars().count() < 300, "{}", error.message);
}

#[test]
fn a_frame_applied_while_another_thread_stops_is_still_observed() {
    let server = Server::start();
    let app = Host::new();
    let observed = Arc::new(std::sync::atomic::AtomicU64::new(0));
    let observer: FrameObserver = Arc::new({
        let observed = observed.clone();
        move |_: &FrameEvent| {
            observed.fetch_add(1, Ordering::AcqRel);
        }
    });
    let client = PoseClient::start_with_observer(&app, config(server.url()), observer)
        .expect("client starts");
    let client = Arc::new(client);
    let peer = server.next_peer();
    // Hold the world so that the frame waits to apply while stop begins.
    let stopper = app.read(|_| {
        peer.send_frame(&Frame::pose(pose(1)));
        wait_until("the frame is received", || {
            client.stats().frames_received == 1
        });
        // Moments for the frame to reach the world's lock, then for stop
        // to reach its wait for the frame: only to make the race likely.
        std::thread::sleep(Duration::from_millis(50));
        let stopper = std::thread::spawn({
            let client = client.clone();
            move || client.stop()
        });
        std::thread::sleep(Duration::from_millis(50));
        stopper
    });
    stopper.join().expect("stop returns");
    let applied = client.stats().frames_applied;
    assert_eq!(applied, 1, "the frame that was waiting applies");
    assert_eq!(
        observed.load(Ordering::Acquire),
        applied,
        "one observer call per applied frame"
    );
}

/// FlatBuffers may point many offsets at one table, so a small frame can
/// list thousands of people or landmarks. The decoder builds no more
/// people than the target takes and counts landmarks before reading them.
#[test]
fn a_small_frame_cannot_make_many_people_or_landmarks() {
    use flatbuffers::FlatBufferBuilder;
    let pose_table = |fbb: &mut FlatBufferBuilder<'static>, landmarks: usize| {
        // One landmark table, listed `landmarks` times.
        let start = fbb.start_table();
        fbb.push_slot::<f32>(4, 0.5, 0.0); // x
        let landmark = fbb.end_table(start);
        let landmarks = fbb.create_vector(&vec![landmark; landmarks]);
        let start = fbb.start_table();
        fbb.push_slot_always(4, landmarks); // landmarks
        fbb.push_slot::<f64>(6, 1.0, 0.0); // timestamp
        fbb.end_table(start)
    };
    let message = |people: usize, landmarks: usize| {
        let mut fbb = FlatBufferBuilder::new();
        let pose = pose_table(&mut fbb, landmarks);
        let more = fbb.create_vector(&vec![pose; people - 1]);
        let start = fbb.start_table();
        fbb.push_slot_always(8, more); // more_people
        fbb.push_slot_always(6, pose); // payload
        fbb.push_slot::<u8>(4, 1, 0); // payload_type: PoseDetectionResult
        let root = fbb.end_table(start);
        fbb.finish(root, None);
        fbb.finished_data().to_vec()
    };

    // 10,000 people of 33 landmarks in 40 KB: 8 are decoded and land.
    let many = message(10_000, 33);
    assert!(many.len() < 41_000, "{} bytes", many.len());
    let frame = Frame::decode(&many).expect("a frame");
    assert_eq!(frame.people.len(), 8);
    let app = Host::new();
    push_frame(&app, &Target::default(), &many).expect("lands");
    assert_eq!(
        with_component(&app, "PoseLandmarks")
            .as_array()
            .map(Vec::len),
        Some(8)
    );
    let two = Target::from_json(r#"{"names": ["A", "B"]}"#).expect("a target");
    assert_eq!(
        Frame::decode_for(&many, &two).map(|f| f.people.len()),
        Ok(2)
    );

    // 16,000 landmarks in 64 KB: refused by their count before any is read.
    let long = message(2, 16_000);
    let error = Frame::decode(&long).expect_err("16000 landmarks");
    assert_eq!(
        error.to_string(),
        "landmarks: expected 33 landmarks (the target's landmark_count), got 16000"
    );
}
