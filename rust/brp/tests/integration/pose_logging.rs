//! What the pose client logs through the `log` crate: connecting,
//! connected, lost, refused and stopped at their levels under target
//! `brp::pose`; per-frame errors throttled; no secret of the URL.

use crate::pose_support::{Server, config, pose, wait_until};
use brp::Host;
use brp::pose::{ConnectionState, Frame, PoseClient};
use log::{Level, LevelFilter, Log, Metadata, Record};
use std::sync::{Mutex, Once, PoisonError};
use std::time::Instant;
use tokio_tungstenite::tungstenite::Message;

/// Every record of a `brp` target logged by this test binary: level,
/// target, message.
static RECORDS: Mutex<Vec<(Level, String, String)>> = Mutex::new(Vec::new());

struct Capture;

impl Log for Capture {
    fn enabled(&self, metadata: &Metadata<'_>) -> bool {
        metadata.target().starts_with("brp")
    }

    fn log(&self, record: &Record<'_>) {
        if !self.enabled(record.metadata()) {
            return;
        }
        let entry = (
            record.level(),
            record.target().to_owned(),
            record.args().to_string(),
        );
        RECORDS
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .push(entry);
    }

    fn flush(&self) {}
}

/// Installs [`Capture`] once for the whole binary.
fn capture() {
    static INSTALL: Once = Once::new();
    INSTALL.call_once(|| {
        log::set_logger(&Capture).expect("no other logger in this binary");
        log::set_max_level(LevelFilter::Debug);
    });
}

/// The `brp::pose` records whose message starts with `prefix` (a URL:
/// other tests' clients log too).
fn records(prefix: &str) -> Vec<(Level, String)> {
    RECORDS
        .lock()
        .unwrap_or_else(PoisonError::into_inner)
        .iter()
        .filter(|(_, target, message)| target == "brp::pose" && message.starts_with(prefix))
        .map(|(level, _, message)| (*level, message.clone()))
        .collect()
}

fn has(records: &[(Level, String)], level: Level, text: &str) -> bool {
    records.iter().any(|(l, m)| *l == level && m.contains(text))
}

#[test]
fn connecting_connected_closed_and_stopped_are_logged_without_the_query() {
    capture();
    let server = Server::start();
    let prefix = format!("{}/:", server.url());
    let app = Host::new();
    let mut config = config(format!("{}/?token=s3cret", server.url()));
    config.reconnect = false;
    let client = PoseClient::start(&app, config).expect("client starts");
    let peer = server.next_peer();
    wait_until("connected is logged", || {
        has(&records(&prefix), Level::Info, "connected")
    });
    peer.send_frame(&Frame::pose(pose(1)));
    drop((peer, server));
    wait_until("the client stops", || {
        client.stats().state == ConnectionState::Stopped
    });
    client.stop();
    client.stop();

    let logged = records(&prefix);
    assert!(
        has(&logged, Level::Debug, "connecting (attempt 1)"),
        "{logged:?}"
    );
    assert!(
        logged.iter().any(
            |(level, message)| matches!(level, Level::Info | Level::Warn)
                && message.contains("not reconnecting (reconnect is off)")
        ),
        "{logged:?}"
    );
    let stopped = logged.iter().filter(|(_, m)| m.ends_with(": stopped"));
    assert_eq!(stopped.count(), 1, "{logged:?}");
    let all = RECORDS.lock().unwrap_or_else(PoisonError::into_inner);
    assert!(!all.iter().any(|(_, _, m)| m.contains("s3cret")), "{all:?}");
}

#[test]
fn a_refused_connection_is_a_warning_naming_the_reason() {
    capture();
    // A port that was free a moment ago: nothing listens there.
    let url = {
        let server = Server::start();
        server.url()
    };
    let app = Host::new();
    let mut config = config(url.clone());
    config.reconnect = false;
    let client = PoseClient::start(&app, config).expect("client starts");
    wait_until("the client stops", || {
        client.stats().state == ConnectionState::Stopped
    });
    let logged = records(&format!("{url}/:"));
    assert!(
        logged.iter().any(|(level, message)| *level == Level::Warn
            && message.contains("cannot connect: ")
            && message.ends_with("; not reconnecting (reconnect is off)")),
        "{logged:?}"
    );
}

#[test]
fn a_flood_of_bad_frames_logs_a_burst_then_one_a_second() {
    const BAD: u64 = 200;
    capture();
    let server = Server::start();
    let prefix = format!("{}/:", server.url());
    let app = Host::new();
    let client = PoseClient::start(&app, config(server.url())).expect("client starts");
    let peer = server.next_peer();
    let start = Instant::now();
    // One at a time, so that each is decoded (not replaced by the next).
    for count in 1..=BAD {
        peer.send(Message::text(format!("not json \u{1b}[31m{count}\n")));
        wait_until("the bad frame is counted", || {
            client.stats().decode_errors == count
        });
    }
    let seconds = start.elapsed().as_secs();
    peer.send_frame(&Frame::pose(pose(1)));
    wait_until("the good frame applies", || {
        client.stats().frames_applied == 1
    });

    let logged = records(&prefix);
    let malformed: Vec<_> = logged
        .iter()
        .filter(|(_, m)| m.contains("skipped a malformed frame"))
        .collect();
    // 10 at once, then one per second that passed.
    assert!(malformed.len() >= 10, "{malformed:?}");
    assert!(
        malformed.len() as u64 <= 10 + seconds + 1,
        "{} logged in {seconds} s",
        malformed.len()
    );
    assert!(malformed.iter().all(|(level, _)| *level == Level::Warn));
    // The peer's control characters are escaped: one line, no escape codes.
    assert!(
        malformed.iter().all(|(_, m)| !m.contains(['\n', '\u{1b}'])),
        "{malformed:?}"
    );
    if let Some((_, after_burst)) = malformed.get(10) {
        assert!(
            after_burst.contains("similar messages not logged"),
            "{after_burst}"
        );
    }
}

#[test]
fn a_controller_that_keeps_hanging_up_is_logged_a_burst_then_one_a_second() {
    const CYCLES: u64 = 30;
    capture();
    let server = Server::start();
    let prefix = format!("{}/:", server.url());
    let app = Host::new();
    let client = PoseClient::start(&app, config(server.url())).expect("client starts");
    let start = Instant::now();
    for _ in 0..CYCLES {
        drop(server.next_peer());
    }
    wait_until("the last hang-up is noticed", || {
        client.stats().connections == CYCLES && client.stats().state != ConnectionState::Connected
    });
    let seconds = start.elapsed().as_secs();
    drop(client);

    // Three messages a cycle (connecting, connected, closed or lost), all
    // through one throttle: 10 at once, then one per second.
    let logged = records(&prefix);
    let connection: Vec<_> = logged
        .iter()
        .filter(|(_, m)| !m.ends_with(": stopped"))
        .collect();
    assert!(connection.len() >= 10, "{connection:?}");
    assert!(
        connection.len() as u64 <= 10 + seconds + 1,
        "{} logged in {seconds} s: {connection:?}",
        connection.len()
    );
}
