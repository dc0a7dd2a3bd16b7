//! The server's front door: raw bytes (HTTP requests, WebSocket upgrades and
//! frames) written over loopback TCP, in any split, to one process-wide
//! [`Server`] with small limits and short timeouts, over a [`Host`] with a
//! small scene (the `server` target; docs/fuzzing.md).
//!
//! The first byte of an input says how to send the rest ([`Delivery`]): its
//! low four bits pick the size of the chunks it is written in ([`CHUNKS`]),
//! its high four bits how the client behaves:
//!
//! - 0 to 11: it writes the chunks, waits until the server has sent nothing
//!   for [`QUIET`], and shuts down its write side. (The server takes the
//!   end of the client's side as the client gone and drops what it has not
//!   written yet, so without the wait most answers would be lost.)
//! - 12: it shuts down its write side right after its last chunk.
//! - 13: it shuts down both directions right after its last chunk.
//! - 14: as 0, while a second connection holds [`HELD`] bytes of
//!   `max_request_bytes_total`.
//! - 15: as 0, with a [`PAUSE`] longer than the server's timeouts before
//!   the input's last `n` bytes, `n` being the second byte.
//!
//! The pause and the holder are rare in the byte's values: they cost time.
//! The client reads whatever comes back, on a thread of its own, until the
//! server closes.
//!
//! Invariants checked for every input: no panic on the library's threads
//! (named `brp-server` and `brp-poll-timeout`; tokio, or the session
//! running a callback, would catch it unseen, so a chained panic hook
//! records it); the server closes the connection soon after the client's
//! end (within [`CLOSE_WAIT`]); what it sent passes [`replies::check`]
//! (statuses the docs allow, well-formed answers and WebSocket frames);
//! `open_connections` is back to 0 within [`SLOT_WAIT`] of the client's
//! close. After each input, entities it spawned are despawned (and a scene
//! it damaged is rebuilt) through [`Host::request`], so the world stays
//! bounded however many inputs run.

use super::replies;
use brp::server::{Server, ServerConfig};
use brp::{Config, Host};
use serde_json::Value;
use std::io::{ErrorKind, Read, Write};
use std::net::{Shutdown, SocketAddr, TcpStream};
use std::sync::{Mutex, MutexGuard, OnceLock, PoisonError};
use std::time::{Duration, Instant};

/// The token every request must carry: `Authorization: Bearer fuzz`.
const TOKEN: &str = "fuzz";

/// The server's timeouts (header, body and idle), in milliseconds: short,
/// as every input that waits for one costs that long.
const TIMEOUT_MS: u64 = 50;
/// A pause the client may take before its last bytes: longer than the
/// timeouts, so that each of them can expire.
const PAUSE: Duration = Duration::from_millis(TIMEOUT_MS + 10);
/// How long the server must have sent nothing before the client ends (so
/// that answers made at once come back before the server sees the end).
const QUIET: Duration = Duration::from_micros(500);
/// The longest the client waits for the server to fall quiet.
const QUIET_MAX: Duration = Duration::from_millis(50);
/// How long the server may keep a connection open after the client's end.
const CLOSE_WAIT: Duration = Duration::from_secs(5);
/// How long a closed connection may keep its slot.
const SLOT_WAIT: Duration = Duration::from_secs(2);
/// The most a server may send back for one input.
const MAX_REPLY: usize = 64 << 20;
/// The chunk sizes the first byte's low four bits pick (the last: all at
/// once).
const CHUNKS: [usize; 16] = [
    1,
    2,
    3,
    4,
    5,
    7,
    8,
    11,
    16,
    24,
    32,
    64,
    128,
    256,
    1024,
    usize::MAX,
];
/// The bytes of body the holding connection sends of the 4096 it
/// announces (`max_request_bytes`), of the 6144 of `max_request_bytes_total`.
const HELD: usize = 4000;

/// How the names of the library's threads begin: the server's runtime
/// (`brp-server`), and the thread that times out parked POLLs
/// (`brp-poll-timeout`), which also runs the server's session callbacks.
const LIBRARY_THREADS: &str = "brp-";

/// The dynamic components of the host; no entity of the scene has `Marker`,
/// so a POLL of it parks until an input adds one.
const COMPONENTS: [&str; 4] = ["Position", "Player", "game::Score", "Marker"];

/// Panics seen on the library's threads, not yet reported.
static LIBRARY_PANICS: Mutex<Vec<String>> = Mutex::new(Vec::new());

/// The host, its server and its scene, made once per process.
struct Fixture {
    host: Host,
    server: Server,
    scene: Mutex<Scene>,
    /// Held by the input being run: one connection at a time, so that
    /// `open_connections` and the world are the input's alone.
    running: Mutex<()>,
}

fn fixture() -> &'static Fixture {
    static FIXTURE: OnceLock<Fixture> = OnceLock::new();
    FIXTURE.get_or_init(|| {
        watch_library_threads();
        let host = Host::with_config(Config {
            components: COMPONENTS.map(str::to_owned).to_vec(),
            value_cache_bytes: 1 << 20,
            ..Config::default()
        })
        .expect("the fuzz host's config is valid");
        let scene = Mutex::new(Scene::build(&host));
        let config = ServerConfig {
            address: "127.0.0.1:0".to_owned(),
            token: Some(TOKEN.to_owned()),
            allowed_origins: vec!["https://tool.example".to_owned()],
            allowed_hosts: vec!["box.lan".to_owned()],
            max_request_bytes: 4096,
            max_request_bytes_total: 6144,
            max_connections: 8,
            max_in_flight: 4,
            max_watches: 2,
            max_queued_answers: 8,
            max_queued_bytes: 65536,
            header_timeout_ms: TIMEOUT_MS,
            body_timeout_ms: TIMEOUT_MS,
            idle_timeout_ms: TIMEOUT_MS,
            stop_timeout_ms: 500,
        };
        let server = Server::start(&host, config).expect("the fuzz server starts");
        Fixture {
            host,
            server,
            scene,
            running: Mutex::new(()),
        }
    })
}

/// Chains a panic hook that records panics on the library's threads.
fn watch_library_threads() {
    let previous = std::panic::take_hook();
    std::panic::set_hook(Box::new(move |info| {
        let thread = std::thread::current();
        if thread
            .name()
            .is_some_and(|name| name.starts_with(LIBRARY_THREADS))
        {
            lock(&LIBRARY_PANICS).push(info.to_string());
        }
        previous(info);
    }));
}

/// The `server` target: one connection carrying `data` (see the module
/// documentation).
pub fn connection(data: &[u8]) {
    let fixture = fixture();
    let Some((&first, bytes)) = data.split_first() else {
        return;
    };
    let _running = lock(&fixture.running);
    let delivery = Delivery::from(first);
    let reply = delivery.send(fixture.server.address(), bytes);
    let slot = slot_back(&fixture.server);
    if let Some(panic) = lock(&LIBRARY_PANICS).pop() {
        panic!("a thread of the library panicked: {panic}");
    }
    if let Err(stats) = slot {
        panic!("the connection's slot is still held {SLOT_WAIT:?} after it closed: {stats}");
    }
    assert!(
        reply.closed,
        "the server kept the connection open {CLOSE_WAIT:?} after the client's end"
    );
    if let Err(why) = replies::check(&reply.bytes) {
        panic!(
            "{why}\nthe server sent {:?}",
            String::from_utf8_lossy(&reply.bytes)
        );
    }
    lock(&fixture.scene).restore(&fixture.host);
}

/// Waits until the server counts no open connection; else its stats.
fn slot_back(server: &Server) -> Result<(), String> {
    let deadline = Instant::now() + SLOT_WAIT;
    loop {
        let stats = server.stats();
        if stats.open_connections == 0 {
            return Ok(());
        }
        if Instant::now() > deadline {
            return Err(format!("{stats:?}"));
        }
        std::thread::sleep(Duration::from_micros(20));
    }
}

/// How an input's bytes are sent, from its first byte.
#[derive(Debug, Clone, Copy)]
struct Delivery {
    chunk: usize,
    /// A [`PAUSE`] before the input's last bytes: as many as its second
    /// byte says.
    pause: bool,
    /// Another connection holds [`HELD`] bytes of the budget meanwhile.
    hold: bool,
    /// The client then shuts down both directions, reading nothing more.
    vanish: bool,
    /// The client ends right after its last chunk, without waiting for the
    /// server to fall [`QUIET`].
    hasty: bool,
}

impl From<u8> for Delivery {
    fn from(first: u8) -> Self {
        let how = first >> 4;
        Self {
            chunk: CHUNKS[usize::from(first & 0x0f)],
            hasty: how == 12 || how == 13,
            vanish: how == 13,
            hold: how == 14,
            pause: how == 15,
        }
    }
}

/// What came back on a connection.
struct Reply {
    bytes: Vec<u8>,
    /// The server closed it (or the client stopped reading).
    closed: bool,
}

impl Delivery {
    /// Sends `bytes` to `address` and collects the reply.
    fn send(self, address: SocketAddr, bytes: &[u8]) -> Reply {
        let (before, after) = match (self.pause, bytes.split_first()) {
            (true, Some((&tail, rest))) => rest.split_at(rest.len().saturating_sub(tail.into())),
            (true, None) => (bytes, bytes),
            (false, _) => (bytes, &bytes[bytes.len()..]),
        };
        let holder = self.hold.then(|| hold(address));
        let stream = TcpStream::connect(address).expect("the fuzz server accepts");
        let _ = stream.set_nodelay(true);
        let reader = stream.try_clone().expect("a socket can be shared");
        let heard = Mutex::new(Instant::now());
        let reply = std::thread::scope(|scope| {
            let reading = scope.spawn(|| read_until_closed(reader, &heard));
            let written = self.write(&stream, before);
            if self.pause && written {
                std::thread::sleep(PAUSE);
                self.write(&stream, after);
            }
            if !self.hasty {
                *lock(&heard) = Instant::now();
                quiet(&heard);
            }
            let how = if self.vanish {
                Shutdown::Both
            } else {
                Shutdown::Write
            };
            let _ = stream.shutdown(how);
            reading.join().expect("the reader does not panic")
        });
        drop(holder);
        reply
    }

    /// Writes `bytes` in chunks; false once the server no longer takes
    /// them.
    fn write(self, mut stream: &TcpStream, bytes: &[u8]) -> bool {
        bytes
            .chunks(self.chunk)
            .all(|chunk| stream.write_all(chunk).is_ok())
    }
}

/// Waits until nothing was heard for [`QUIET`], or at most [`QUIET_MAX`].
fn quiet(heard: &Mutex<Instant>) {
    let give_up = Instant::now() + QUIET_MAX;
    loop {
        let since = lock(heard).elapsed();
        if since >= QUIET || Instant::now() >= give_up {
            return;
        }
        std::thread::sleep(QUIET - since);
    }
}

/// A connection that holds [`HELD`] bytes of the server's budget for
/// request bodies until dropped (once its bytes are in: the server reads
/// them within microseconds on loopback).
fn hold(address: SocketAddr) -> TcpStream {
    let mut stream = TcpStream::connect(address).expect("the fuzz server accepts");
    let head = format!(
        "POST / HTTP/1.1\r\nHost: 127.0.0.1\r\nAuthorization: Bearer {TOKEN}\r\n\
         Content-Length: 4096\r\n\r\n"
    );
    let _ = stream.write_all(head.as_bytes());
    let _ = stream.write_all(&[b' '; HELD]);
    std::thread::sleep(Duration::from_millis(5));
    stream
}

/// Reads `stream` until the server closes it, for at most [`CLOSE_WAIT`];
/// notes in `heard` when bytes last came.
fn read_until_closed(mut stream: TcpStream, heard: &Mutex<Instant>) -> Reply {
    let deadline = Instant::now() + CLOSE_WAIT;
    let mut bytes = Vec::new();
    let mut buffer = [0; 16 << 10];
    let closed = loop {
        let left = deadline.saturating_duration_since(Instant::now());
        if left.is_zero() {
            break false;
        }
        let _ = stream.set_read_timeout(Some(left));
        match stream.read(&mut buffer) {
            Ok(0) => break true,
            Ok(read) => {
                *lock(heard) = Instant::now();
                bytes.extend_from_slice(&buffer[..read]);
                assert!(
                    bytes.len() <= MAX_REPLY,
                    "the server sent over {MAX_REPLY} bytes"
                );
            }
            Err(e) if matches!(e.kind(), ErrorKind::WouldBlock | ErrorKind::TimedOut) => {}
            Err(e) if e.kind() == ErrorKind::Interrupted => {}
            // Reset: the server closed with bytes of the client unread.
            Err(_) => break true,
        }
    };
    Reply { bytes, closed }
}

/// The scene: a player (with a child, its hand) and a camera, spawned
/// through requests; and what the world holds with it.
struct Scene {
    /// The scene's entities, as the wire writes them.
    entities: Vec<String>,
    /// Every entity of the world (hidden ones too) and its components.
    baseline: Vec<(String, Vec<usize>)>,
}

impl Scene {
    fn build(host: &Host) -> Self {
        let spawn = |components: &str| {
            let text = format!(
                r#"{{"id": 0, "request": "SPAWN", "params": {{"components": {components}}}}}"#
            );
            let answer: Value = serde_json::from_str(&host.request(&text)).expect("JSON");
            let entity = answer["response"]["entity"].as_str();
            entity
                .unwrap_or_else(|| panic!("scene: {answer}"))
                .to_owned()
        };
        let player = spawn(
            r#"{"Name": {"JSON": "\"Player\""}, "Position": {"JSON": "{\"x\": 1, \"y\": 2}"}, "Player": {"JSON": "true"}}"#,
        );
        let hand = spawn(&format!(
            r#"{{"Name": {{"JSON": "\"Hand\""}}, "Parent": {{"JSON": "\"{player}\""}}, "game::Score": {{"JSON": "[1, 2, 3]"}}}}"#
        ));
        let camera = spawn(
            r#"{"Name": {"JSON": "\"Camera\""}, "Transform": {"JSON": "{\"translation\": [0, 5, 10]}"}}"#,
        );
        Self {
            entities: vec![player, hand, camera],
            baseline: contents(host),
        }
    }

    /// Despawns what an input spawned; rebuilds the scene if the input
    /// destroyed part of it or changed which components it has.
    fn restore(&mut self, host: &Host) {
        let now = contents(host);
        if now == self.baseline {
            return;
        }
        for (entity, _) in &now {
            if !self.baseline.iter().any(|(e, _)| e == entity) {
                destroy(host, entity);
            }
        }
        if contents(host) == self.baseline {
            return;
        }
        for entity in &self.entities {
            destroy(host, entity);
        }
        *self = Self::build(host);
    }
}

fn destroy(host: &Host, entity: &str) {
    let text = format!(r#"{{"id": 0, "request": "DESTROY", "params": {{"entity": "{entity}"}}}}"#);
    // An entity already gone with its parent answers not-found.
    host.request(&text);
}

/// Every entity of `host`'s world with the indices of its components,
/// sorted.
fn contents(host: &Host) -> Vec<(String, Vec<usize>)> {
    host.read(|world| {
        let mut entities: Vec<_> = (world.archetypes().iter())
            .flat_map(|archetype| {
                let components: Vec<usize> =
                    archetype.components().iter().map(|id| id.index()).collect();
                (archetype.entities().iter())
                    .map(move |entity| (brp::entity_id::format(entity.id()), components.clone()))
            })
            .collect();
        entities.sort_unstable();
        entities
    })
}

fn lock<T>(mutex: &Mutex<T>) -> MutexGuard<'_, T> {
    mutex.lock().unwrap_or_else(PoisonError::into_inner)
}

/// Held by whatever drives several inputs that must not interleave with
/// others in the same process (the tests below, the corpus replay).
#[cfg(test)]
pub(crate) static SERIAL: Mutex<()> = Mutex::new(());

#[cfg(test)]
mod tests {
    use super::*;

    /// An input: a POST of `body`, sent at once, the answer waited for.
    fn post(body: &str) -> Vec<u8> {
        let head = format!(
            "\x0fPOST / HTTP/1.1\r\nHost: 127.0.0.1\r\nAuthorization: Bearer {TOKEN}\r\n\
             Content-Length: {}\r\n\r\n",
            body.len()
        );
        [head.as_bytes(), body.as_bytes()].concat()
    }

    #[test]
    fn what_an_input_spawns_goes() {
        let _serial = lock(&SERIAL);
        let fixture = fixture();
        let baseline = lock(&fixture.scene).baseline.clone();
        connection(&post(
            r#"{"id": 1, "request": "SPAWN", "params": {"components": {"Marker": {"JSON": "1"}}}}"#,
        ));
        assert_eq!(
            contents(&fixture.host),
            baseline,
            "the spawned entity is gone"
        );
    }
}
