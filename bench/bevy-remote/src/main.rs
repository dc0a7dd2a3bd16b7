//! libbrp against Bevy's own BRP (bevy_remote, JSON-RPC over HTTP).
//!
//! Runs a headless Bevy app with `RemotePlugin` + `RemoteHttpPlugin` on
//! loopback holding the same world as the libbrp side (1,000 entities with
//! `Name` + `Transform`), times `world.get_components`,
//! `world.insert_components` and `world.query` over one keep-alive HTTP/1.1
//! connection — once with an uncapped frame loop, once at 60 Hz — and the
//! equivalent GET / INSERT / QUERY through `brp::Host::request` in the same
//! run, and prints medians and libbrp's speed-up.
//!
//! Over the network, in the same run: libbrp's own server
//! (`brp::server::Server` on 127.0.0.1:0, serving the libbrp host above)
//! answers the same JSON-RPC `world.get_components` and `world.query`
//! bodies through the same HTTP client code ([`http`]) and over a
//! WebSocket (tungstenite's blocking client); and a watch round trip is
//! timed on each side: a `world.get_components+watch` stays open on one
//! entity while a new `Transform` is written (in-process through
//! `Host::request` for libbrp; through bevy_remote's HTTP insert on a
//! second connection for bevy_remote) until the watch's next event
//! carrying it arrives (SSE over HTTP, or a WebSocket message).
//!
//! `cargo run --release` (from this directory; see docs/benchmarks.md).
//! The same sources build against bevy_remote 0.19.1 here and 0.20.1 in
//! bench/bevy-remote-0.20 (`cargo +nightly`, rustc 1.97); `peer:` lines name
//! the one this binary runs (build.rs reads it from Cargo.lock).
//! `BRP_BENCH_QUICK=1` takes fewer samples. Lines `<name> <ns per op>`
//! (names starting `bevy_remote/` or `libbrp/`) are for bench/summarize.py.
//!
//! `cargo run --release -- --check-client` instead drives libbrp's server
//! with bevy_remote's own request and response types ([`check_client`]) and
//! exits non-zero on any mismatch.

mod check_client;
mod http;

use bevy_app::{App, AppExit, ScheduleRunnerPlugin, TaskPoolPlugin, Update};
use bevy_ecs::message::MessageWriter;
use bevy_ecs::name::Name;
use bevy_remote::RemotePlugin;
use bevy_remote::http::RemoteHttpPlugin;
use bevy_transform::components::Transform;
use http::{Events, Http};
use serde_json::Value;
use std::net::TcpStream;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::mpsc;
use std::time::{Duration, Instant};
use tungstenite::{Message, WebSocket};

const ENTITIES: usize = 1_000;
/// The bevy_remote this binary is built against, as Cargo.lock resolved it
/// (build.rs): 0.19.1 (bench/bevy-remote) or 0.20.1 (bench/bevy-remote-0.20).
const BEVY_REMOTE_VERSION: &str = env!("BEVY_REMOTE_VERSION");
/// `rustc --version` of the compiler that built it (build.rs).
const RUSTC: &str = env!("BENCH_RUSTC");
const TRANSFORM: &str = "bevy_transform::components::transform::Transform";
const NAME: &str = "bevy_ecs::name::Name";

/// The line naming the peer, printed above the figures.
fn peer_line() -> String {
    format!("peer: bevy_remote {BEVY_REMOTE_VERSION} (built by {RUSTC})")
}

/// A running Bevy app; setting `stop` ends its frame loop.
struct Bevy {
    entity: u64,
    stop: Arc<AtomicBool>,
}

/// Starts a Bevy app serving BRP over HTTP on `port`; returns the bits of the
/// first entity once the server is listening.
fn start_bevy(port: u16, frame: Duration) -> Bevy {
    let (tx, rx) = mpsc::channel();
    let stop = Arc::new(AtomicBool::new(false));
    let stopped = Arc::clone(&stop);
    std::thread::Builder::new()
        .name(format!("bevy-{port}"))
        .spawn(move || {
            let mut app = App::new();
            app.add_plugins((
                TaskPoolPlugin::default(),
                ScheduleRunnerPlugin::run_loop(frame),
                RemotePlugin::default(),
                RemoteHttpPlugin::default().with_port(port),
            ));
            app.register_type::<Name>().register_type::<Transform>();
            // So that an uncapped app measured earlier does not spin beside
            // the later measurements.
            app.add_systems(Update, move |mut exit: MessageWriter<AppExit>| {
                if stopped.load(Ordering::Relaxed) {
                    exit.write(AppExit::Success);
                }
            });
            let first = app
                .world_mut()
                .spawn((Name::new("entity 0"), Transform::from_xyz(0.0, 1.0, 2.0)))
                .id();
            for i in 1..ENTITIES {
                app.world_mut().spawn((
                    Name::new(format!("entity {i}")),
                    Transform::from_xyz(i as f32, 1.0, 2.0),
                ));
            }
            tx.send(first.to_bits()).expect("main thread waits");
            app.run();
        })
        .expect("spawn bevy thread");
    let entity = rx.recv().expect("bevy app starts");
    // The server binds during the first frames.
    let started = Instant::now();
    while TcpStream::connect(("127.0.0.1", port)).is_err() {
        assert!(
            started.elapsed() < Duration::from_secs(30),
            "bevy_remote never listened"
        );
        std::thread::sleep(Duration::from_millis(10));
    }
    Bevy { entity, stop }
}

/// Median of `samples` timings of `op` (each timing covers `batch` calls),
/// in µs per call.
fn median_us(samples: usize, batch: usize, mut op: impl FnMut()) -> f64 {
    for _ in 0..batch.max(3) {
        op();
    }
    let mut times: Vec<f64> = (0..samples)
        .map(|_| {
            let start = Instant::now();
            for _ in 0..batch {
                op();
            }
            start.elapsed().as_secs_f64() * 1e6 / batch as f64
        })
        .collect();
    times.sort_by(f64::total_cmp);
    times[times.len() / 2]
}

/// Median of `samples` calls of `op`, each returning the µs it measured
/// itself (so that it can leave work out of its timing).
fn median_self_timed_us(samples: usize, mut op: impl FnMut() -> f64) -> f64 {
    for _ in 0..3 {
        op();
    }
    let mut times: Vec<f64> = (0..samples).map(|_| op()).collect();
    times.sort_by(f64::total_cmp);
    times[times.len() / 2]
}

fn get_body(entity: u64) -> String {
    format!(
        r#"{{"jsonrpc":"2.0","id":1,"method":"world.get_components","params":{{"entity":{entity},"components":["{TRANSFORM}"]}}}}"#
    )
}

fn insert_body(entity: u64, x: f64) -> String {
    format!(
        r#"{{"jsonrpc":"2.0","id":2,"method":"world.insert_components","params":{{"entity":{entity},"components":{{"{TRANSFORM}":{{"translation":[{x:?},1.0,2.0],"rotation":[0.0,0.0,0.0,1.0],"scale":[1.0,1.0,1.0]}}}}}}}}"#
    )
}

fn query_body() -> String {
    format!(
        r#"{{"jsonrpc":"2.0","id":3,"method":"world.query","params":{{"data":{{"components":["{NAME}","{TRANSFORM}"]}}}}}}"#
    )
}

fn watch_body(id: u64, entity: u64) -> String {
    format!(
        r#"{{"jsonrpc":"2.0","id":{id},"method":"world.get_components+watch","params":{{"entity":{entity},"components":["{TRANSFORM}"]}}}}"#
    )
}

/// Whether the JSON-RPC watch answer `text` carries a `Transform` whose
/// translation.x is `x`; panics on an error answer.
fn carries(text: &str, x: f64) -> bool {
    let answer: Value = serde_json::from_str(text).expect("a watch answer is JSON");
    assert!(answer.get("error").is_none(), "watch failed: {text}");
    answer["result"]["components"][TRANSFORM]["translation"][0].as_f64() == Some(x)
}

/// Reads events until one carries `x`.
fn wait_event(events: &mut Events, x: f64) {
    loop {
        let event = events.next().expect("the watch stream stays open");
        if carries(&event, x) {
            return;
        }
    }
}

/// Sends `text` as one text message.
fn ws_send(ws: &mut WebSocket<TcpStream>, text: &str) {
    ws.send(Message::text(text)).expect("websocket send");
}

/// The next text message.
fn ws_receive(ws: &mut WebSocket<TcpStream>) -> String {
    loop {
        match ws.read().expect("websocket read") {
            Message::Text(text) => return text.as_str().to_owned(),
            Message::Ping(_) | Message::Pong(_) => {}
            other => panic!("unexpected websocket message {other:?}"),
        }
    }
}

fn ws_connect(port: u16) -> WebSocket<TcpStream> {
    let stream = TcpStream::connect(("127.0.0.1", port)).expect("connect");
    stream.set_nodelay(true).expect("nodelay");
    let (ws, _) = tungstenite::client(format!("ws://127.0.0.1:{port}/"), stream)
        .unwrap_or_else(|e| panic!("websocket upgrade failed: {e}"));
    ws
}

fn check_answers(get: &str, query: &str, over: &str) {
    assert!(get.contains("translation"), "GET over {over} failed: {get}");
    assert_eq!(
        query.matches("\"entity\":").count(),
        ENTITIES,
        "QUERY over {over} failed: {}",
        &query[..query.len().min(300)]
    );
}

/// GET, INSERT, QUERY 1k and the watch round trip over bevy_remote's HTTP.
fn bevy_figures(port: u16, frame: Duration, samples: usize) -> [f64; 4] {
    let bevy = start_bevy(port, frame);
    let entity = bevy.entity;
    let mut http = Http::connect(port);
    let (get, query) = (get_body(entity), query_body());
    let insert = insert_body(entity, 7.0);
    let (got, queried) = (http.post(&get), http.post(&query));
    check_answers(&got, &queried, "bevy_remote HTTP");
    let answer = http.post(&insert);
    assert!(!answer.contains("\"error\""), "INSERT failed: {answer}");
    let figures = [
        median_us(samples, 1, || drop(http.post(&get))),
        median_us(samples, 1, || drop(http.post(&insert))),
        median_us(samples, 1, || drop(http.post(&query))),
    ];
    // The watch on a connection of its own; the writes on `http`.
    let mut events = Http::connect(port).watch(&watch_body(4, entity));
    let mut x = 100.0;
    let watch = median_self_timed_us(samples, || {
        x += 1.0;
        let insert = insert_body(entity, x);
        let start = Instant::now();
        http.send(&insert);
        wait_event(&mut events, x);
        let time = start.elapsed().as_secs_f64() * 1e6;
        let answer = http.receive();
        assert!(!answer.contains("\"error\""), "INSERT failed: {answer}");
        time
    });
    bevy.stop.store(true, Ordering::Relaxed);
    [figures[0], figures[1], figures[2], watch]
}

/// The libbrp host holding the world: 1,000 entities with Name + Transform;
/// returns it with the first entity's seed id and JSON-RPC bits, read from
/// the answers.
fn libbrp_host() -> (brp::Host, String, u64) {
    let app = brp::Host::new();
    let mut first = String::new();
    for i in 0..ENTITIES {
        let spawn = format!(
            r#"{{"id":1,"request":"SPAWN","params":{{"components":{{"Name":{{"JSON":"\"entity {i}\""}},"Transform":{{"JSON":"{{\"translation\":[{i},1,2]}}"}}}}}}}}"#
        );
        let answer = app.request(&spawn);
        assert!(answer.contains("entity"), "SPAWN failed: {answer}");
        if i == 0 {
            let answer: Value = serde_json::from_str(&answer).expect("JSON");
            first = answer["response"]["entity"]
                .as_str()
                .unwrap_or_else(|| panic!("SPAWN answer without an entity: {answer}"))
                .to_owned();
        }
    }
    // The same entity as JSON-RPC names it (Entity::to_bits).
    let rows: Value = serde_json::from_str(&app.request(&query_body())).expect("JSON");
    let bits = rows["result"]
        .as_array()
        .expect("query rows")
        .iter()
        .find(|row| row["components"][NAME] == "entity 0")
        .and_then(|row| row["entity"].as_u64())
        .expect("entity 0 in the query answer");
    (app, first, bits)
}

fn brp_figures(app: &brp::Host, entity: &str, samples: usize) -> [f64; 3] {
    let get = format!(
        r#"{{"id":1,"request":"GET","params":{{"entity":"{entity}","components":["Transform"]}}}}"#
    );
    let insert = format!(
        r#"{{"id":2,"request":"INSERT","params":{{"entity":"{entity}","components":{{"Transform":{{"JSON":"{{\"translation\":[7.0,1.0,2.0],\"rotation\":[0.0,0.0,0.0,1.0],\"scale\":[1.0,1.0,1.0]}}"}}}}}}}}"#
    );
    let query =
        r#"{"id":3,"request":"QUERY","params":{"data":{"components":["Name","Transform"]}}}"#;
    assert!(app.request(&get).contains("translation"));
    assert!(app.request(&insert).contains("OK"));
    assert_eq!(app.request(query).matches("\"id\":\"").count(), ENTITIES);
    [
        median_us(samples, 1000, || drop(app.request(&get))),
        median_us(samples, 1000, || drop(app.request(&insert))),
        median_us(samples, 10, || drop(app.request(query))),
    ]
}

/// libbrp's server: [HTTP GET, HTTP QUERY 1k, WS GET, WS QUERY 1k, HTTP
/// watch round trip, WS watch round trip].
fn libbrp_network_figures(app: &brp::Host, entity: u64, samples: usize) -> [f64; 6] {
    let config = brp::server::ServerConfig {
        address: "127.0.0.1:0".to_owned(),
        ..brp::server::ServerConfig::default()
    };
    let mut server = brp::server::Server::start(app, config).expect("libbrp server starts");
    let port = server.address().port();
    let (get, query) = (get_body(entity), query_body());

    let mut http = Http::connect(port);
    let (got, queried) = (http.post(&get), http.post(&query));
    check_answers(&got, &queried, "libbrp HTTP");
    let http_get = median_us(samples, 1, || drop(http.post(&get)));
    let http_query = median_us(samples, 1, || drop(http.post(&query)));

    let mut ws = ws_connect(port);
    let mut call = |text: &str| {
        ws_send(&mut ws, text);
        ws_receive(&mut ws)
    };
    let (got, queried) = (call(&get), call(&query));
    check_answers(&got, &queried, "libbrp WebSocket");
    let ws_get = median_us(samples, 1, || drop(call(&get)));
    let ws_query = median_us(samples, 1, || drop(call(&query)));

    let mut x = 100.0;
    let write = |x: f64| {
        let answer = app.request(&insert_body(entity, x));
        assert!(answer.contains("\"result\""), "INSERT failed: {answer}");
    };
    let mut events = Http::connect(port).watch(&watch_body(4, entity));
    let http_watch = median_self_timed_us(samples, || {
        x += 1.0;
        let start = Instant::now();
        write(x);
        wait_event(&mut events, x);
        start.elapsed().as_secs_f64() * 1e6
    });
    drop(events);

    let mut ws = ws_connect(port);
    ws_send(&mut ws, &watch_body(5, entity));
    let ws_watch = median_self_timed_us(samples, || {
        x += 1.0;
        let start = Instant::now();
        write(x);
        while !carries(&ws_receive(&mut ws), x) {}
        start.elapsed().as_secs_f64() * 1e6
    });
    drop(ws);
    let stats = server.stats();
    server.stop();
    println!(
        "libbrp server on {}: {} connections, {} requests, {} slow disconnects",
        server.address(),
        stats.connections,
        stats.requests,
        stats.slow_disconnects
    );
    [http_get, http_query, ws_get, ws_query, http_watch, ws_watch]
}

fn main() {
    if std::env::args().skip(1).any(|arg| arg == "--check-client") {
        std::process::exit(check_client::run());
    }
    let quick = std::env::var_os("BRP_BENCH_QUICK").is_some();
    let (fast, slow) = if quick { (100, 20) } else { (400, 60) };
    println!("{}", peer_line());
    println!(
        "bevy_remote {} (HTTP, keep-alive) vs libbrp in-process and over its server; {ENTITIES} entities with Name + Transform",
        BEVY_REMOTE_VERSION
    );
    let (app, first, bits) = libbrp_host();
    let brp = brp_figures(&app, &first, 31);
    // libbrp's server before any Bevy app starts, so that none runs beside it.
    let net = libbrp_network_figures(&app, bits, fast);
    let uncapped = bevy_figures(15702, Duration::ZERO, fast);
    let capped = bevy_figures(15703, Duration::from_secs_f64(1.0 / 60.0), slow);
    println!(
        "{:<10} {:>16} {:>14} {:>12} {:>18} {:>16}",
        "op",
        "bevy uncapped µs",
        "bevy 60 Hz µs",
        "libbrp µs",
        "speed-up uncapped",
        "speed-up 60 Hz"
    );
    for (i, op) in ["GET", "INSERT", "QUERY 1k"].into_iter().enumerate() {
        println!(
            "{:<10} {:>16.1} {:>14.1} {:>12.2} {:>17.0}x {:>15.0}x",
            op,
            uncapped[i],
            capped[i],
            brp[i],
            uncapped[i] / brp[i],
            capped[i] / brp[i]
        );
    }
    for (op, i, target) in [("GET", 0, 100.0), ("QUERY 1k", 2, 50.0)] {
        let ratio = uncapped[i] / brp[i];
        let verdict = if ratio >= target { "met" } else { "MISSED" };
        println!(
            "target: {op} >= {target}x faster than bevy_remote uncapped: {ratio:.0}x, {verdict}"
        );
    }

    println!();
    println!(
        "over the network (loopback; same JSON-RPC bodies; ratio = libbrp / bevy_remote, below 1 is faster):"
    );
    println!(
        "{:<10} {:>14} {:>12} {:>16} {:>13} {:>13} {:>11} {:>11} {:>9}",
        "op",
        "libbrp HTTP µs",
        "libbrp WS µs",
        "bevy uncapped µs",
        "bevy 60 Hz µs",
        "HTTP/uncapped",
        "WS/uncapped",
        "HTTP/60 Hz",
        "WS/60 Hz"
    );
    // (op, libbrp HTTP, libbrp WS, bevy index)
    let network = [
        ("GET", net[0], net[2], 0),
        ("QUERY 1k", net[1], net[3], 2),
        ("watch RT", net[4], net[5], 3),
    ];
    for (op, over_http, over_ws, i) in network {
        println!(
            "{:<10} {:>14.1} {:>12.1} {:>16.1} {:>13.1} {:>12.3}x {:>10.3}x {:>10.4}x {:>8.4}x",
            op,
            over_http,
            over_ws,
            uncapped[i],
            capped[i],
            over_http / uncapped[i],
            over_ws / uncapped[i],
            over_http / capped[i],
            over_ws / capped[i]
        );
    }

    println!();
    println!("{}", peer_line());
    println!("figures for bench/summarize.py, ns per op:");
    let figure = |name: &str, us: f64| println!("{name} {:.0}", us * 1e3);
    for (i, op) in ["get", "insert", "query_1k"].into_iter().enumerate() {
        figure(&format!("libbrp/in_process/{op}"), brp[i]);
    }
    for (i, op) in ["get", "insert", "query_1k", "watch"]
        .into_iter()
        .enumerate()
    {
        figure(&format!("bevy_remote/http/{op}/uncapped"), uncapped[i]);
        figure(&format!("bevy_remote/http/{op}/60hz"), capped[i]);
    }
    for (i, name) in [
        "libbrp/http/get",
        "libbrp/http/query_1k",
        "libbrp/ws/get",
        "libbrp/ws/query_1k",
        "libbrp/http/watch",
        "libbrp/ws/watch",
    ]
    .into_iter()
    .enumerate()
    {
        figure(name, net[i]);
    }
    // The Bevy apps' HTTP servers run on their own threads.
    std::process::exit(0);
}
