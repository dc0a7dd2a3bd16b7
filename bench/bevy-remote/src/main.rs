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
//! `cargo run --release` (from this directory; see docs/benchmarks.md).
//! `BRP_BENCH_QUICK=1` takes fewer samples.

use bevy_app::{App, ScheduleRunnerPlugin, TaskPoolPlugin};
use bevy_ecs::name::Name;
use bevy_remote::RemotePlugin;
use bevy_remote::http::RemoteHttpPlugin;
use bevy_transform::components::Transform;
use std::io::{BufRead, BufReader, Read, Write};
use std::net::TcpStream;
use std::sync::mpsc;
use std::time::{Duration, Instant};

const ENTITIES: usize = 1_000;
/// The version Cargo.lock pins (the newest line that builds with rustc 1.95).
const BEVY_REMOTE_VERSION: &str = "0.19.1";
const TRANSFORM: &str = "bevy_transform::components::transform::Transform";
const NAME: &str = "bevy_ecs::name::Name";

/// Starts a Bevy app serving BRP over HTTP on `port`; returns the bits of the
/// first entity once the server is listening.
fn start_bevy(port: u16, frame: Duration) -> u64 {
    let (tx, rx) = mpsc::channel();
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
    let bits = rx.recv().expect("bevy app starts");
    // The server binds during the first frames.
    let started = Instant::now();
    while TcpStream::connect(("127.0.0.1", port)).is_err() {
        assert!(
            started.elapsed() < Duration::from_secs(30),
            "bevy_remote never listened"
        );
        std::thread::sleep(Duration::from_millis(10));
    }
    bits
}

/// One keep-alive HTTP/1.1 connection posting JSON-RPC bodies.
struct Http {
    reader: BufReader<TcpStream>,
    writer: TcpStream,
}

impl Http {
    fn connect(port: u16) -> Self {
        let stream = TcpStream::connect(("127.0.0.1", port)).expect("connect");
        stream.set_nodelay(true).expect("nodelay");
        Self {
            reader: BufReader::new(stream.try_clone().expect("clone")),
            writer: stream,
        }
    }

    fn post(&mut self, body: &str) -> String {
        let head = format!(
            "POST / HTTP/1.1\r\nHost: 127.0.0.1\r\nContent-Type: application/json\r\nContent-Length: {}\r\n\r\n",
            body.len()
        );
        self.writer.write_all(head.as_bytes()).expect("write");
        self.writer.write_all(body.as_bytes()).expect("write");
        let mut length = 0usize;
        let mut chunked = false;
        let mut line = String::new();
        loop {
            line.clear();
            self.reader.read_line(&mut line).expect("read header");
            let trimmed = line.trim_end();
            if trimmed.is_empty() {
                break;
            }
            if let Some((name, value)) = trimmed.split_once(':')
                && name.eq_ignore_ascii_case("content-length")
            {
                length = value.trim().parse().expect("content-length");
            }
            if let Some((name, value)) = trimmed.split_once(':')
                && name.eq_ignore_ascii_case("transfer-encoding")
            {
                chunked = value.trim().eq_ignore_ascii_case("chunked");
            }
        }
        let mut body = Vec::new();
        if chunked {
            // hyper streams the body in chunks: `<hex size>\r\n<data>\r\n`, ending
            // with a zero-size chunk.
            loop {
                line.clear();
                self.reader.read_line(&mut line).expect("chunk size");
                let size = usize::from_str_radix(line.trim_end(), 16).expect("chunk size");
                let start = body.len();
                body.resize(start + size + 2, 0);
                self.reader
                    .read_exact(&mut body[start..])
                    .expect("read chunk");
                body.truncate(start + size);
                if size == 0 {
                    break;
                }
            }
        } else {
            body.resize(length, 0);
            self.reader.read_exact(&mut body).expect("read body");
        }
        String::from_utf8(body).expect("utf-8")
    }
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

struct Row {
    op: &'static str,
    bevy_uncapped: f64,
    bevy_60hz: f64,
    brp: f64,
}

fn bevy_figures(port: u16, frame: Duration, samples: usize) -> [f64; 3] {
    let entity = start_bevy(port, frame);
    let mut http = Http::connect(port);
    let get = format!(
        r#"{{"jsonrpc":"2.0","id":1,"method":"world.get_components","params":{{"entity":{entity},"components":["{TRANSFORM}"]}}}}"#
    );
    let insert = format!(
        r#"{{"jsonrpc":"2.0","id":2,"method":"world.insert_components","params":{{"entity":{entity},"components":{{"{TRANSFORM}":{{"translation":[7.0,1.0,2.0],"rotation":[0.0,0.0,0.0,1.0],"scale":[1.0,1.0,1.0]}}}}}}}}"#
    );
    let query = format!(
        r#"{{"jsonrpc":"2.0","id":3,"method":"world.query","params":{{"data":{{"components":["{NAME}","{TRANSFORM}"]}}}}}}"#
    );
    let answer = http.post(&get);
    assert!(answer.contains("translation"), "GET failed: {answer}");
    let answer = http.post(&insert);
    assert!(!answer.contains("\"error\""), "INSERT failed: {answer}");
    let answer = http.post(&query);
    assert_eq!(
        answer.matches("\"entity\":").count(),
        ENTITIES,
        "QUERY failed: {}",
        &answer[..answer.len().min(300)]
    );
    [
        median_us(samples, 1, || drop(http.post(&get))),
        median_us(samples, 1, || drop(http.post(&insert))),
        median_us(samples, 1, || drop(http.post(&query))),
    ]
}

fn brp_figures(samples: usize) -> [f64; 3] {
    let app = brp::Host::new();
    for i in 0..ENTITIES {
        let spawn = format!(
            r#"{{"id":1,"request":"SPAWN","params":{{"components":{{"Name":{{"JSON":"\"entity {i}\""}},"Transform":{{"JSON":"{{\"translation\":[{i},1,2]}}"}}}}}}}}"#
        );
        assert!(app.request(&spawn).contains("entity"));
    }
    let get = r#"{"id":1,"request":"GET","params":{"entity":"1v0","components":["Transform"]}}"#;
    let insert = r#"{"id":2,"request":"INSERT","params":{"entity":"1v0","components":{"Transform":{"JSON":"{\"translation\":[7.0,1.0,2.0],\"rotation\":[0.0,0.0,0.0,1.0],\"scale\":[1.0,1.0,1.0]}"}}}}"#;
    let query =
        r#"{"id":3,"request":"QUERY","params":{"data":{"components":["Name","Transform"]}}}"#;
    assert!(app.request(get).contains("translation"));
    assert!(app.request(insert).contains("OK"));
    assert_eq!(app.request(query).matches("\"id\":\"").count(), ENTITIES);
    [
        median_us(samples, 1000, || drop(app.request(get))),
        median_us(samples, 1000, || drop(app.request(insert))),
        median_us(samples, 10, || drop(app.request(query))),
    ]
}

fn main() {
    let quick = std::env::var_os("BRP_BENCH_QUICK").is_some();
    let (fast, slow) = if quick { (100, 20) } else { (400, 60) };
    println!(
        "bevy_remote {} (HTTP, keep-alive) vs libbrp in-process; {ENTITIES} entities with Name + Transform",
        BEVY_REMOTE_VERSION
    );
    let brp = brp_figures(31);
    let uncapped = bevy_figures(15702, Duration::ZERO, fast);
    let capped = bevy_figures(15703, Duration::from_secs_f64(1.0 / 60.0), slow);
    let rows = ["GET", "INSERT", "QUERY 1k"]
        .into_iter()
        .enumerate()
        .map(|(i, op)| Row {
            op,
            bevy_uncapped: uncapped[i],
            bevy_60hz: capped[i],
            brp: brp[i],
        });
    println!(
        "{:<10} {:>16} {:>14} {:>12} {:>18} {:>16}",
        "op",
        "bevy uncapped µs",
        "bevy 60 Hz µs",
        "libbrp µs",
        "speed-up uncapped",
        "speed-up 60 Hz"
    );
    for row in rows {
        println!(
            "{:<10} {:>16.1} {:>14.1} {:>12.2} {:>17.0}x {:>15.0}x",
            row.op,
            row.bevy_uncapped,
            row.bevy_60hz,
            row.brp,
            row.bevy_uncapped / row.brp,
            row.bevy_60hz / row.brp
        );
    }
    for (op, i, target) in [("GET", 0, 100.0), ("QUERY 1k", 2, 50.0)] {
        let ratio = uncapped[i] / brp[i];
        let verdict = if ratio >= target { "met" } else { "MISSED" };
        println!(
            "target: {op} >= {target}x faster than bevy_remote uncapped: {ratio:.0}x, {verdict}"
        );
    }
    // The Bevy apps loop for ever on their own threads.
    std::process::exit(0);
}
