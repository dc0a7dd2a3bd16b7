//! Pose stream end to end on loopback, beside the raw WebSocket floor.
//!
//! A controller (a tokio-tungstenite server, as docs/pose.md describes) sends 33-landmark
//! FlatBuffers frames; the clock starts just before each frame is sent and
//! stops when the frame is visible in the world: an observer on
//! `PoseLandmarks` insertion, which runs inside the same world change that
//! GET, QUERY and POLL then see. The floor is a bare tokio-tungstenite
//! client on the same loopback receiving the same bytes (clock stops when
//! `next()` returns the frame).
//!
//! Prints p50/p99 one-way latency at 60 Hz and 1 kHz, and the sustained
//! frames/s when the controller sends flat out; libbrp runs once more with
//! the target's One Euro smoothing on (`brp_smoothing`), and the line under
//! each paced case says what it adds to p50. `BRP_BENCH_QUICK=1` sends
//! fewer frames. A benchmark: it prints figures and asserts nothing about
//! timing.

use bevy_ecs::lifecycle::Insert;
use bevy_ecs::observer::On;
use bevy_ecs::system::Query;
use brp::Host;
use brp::pose::{ClientConfig, Frame, Landmark, PoseClient, PoseLandmarks, Target};
use futures_util::{SinkExt, StreamExt};
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::{Duration, Instant};
use tokio::net::TcpListener;
use tokio::runtime::Runtime;
use tokio::sync::mpsc;
use tokio_tungstenite::tungstenite::Message;

/// Per-frame send and arrival times, in ns since `base` (0: not yet).
struct Clock {
    base: Instant,
    sent: Vec<AtomicU64>,
    seen: Vec<AtomicU64>,
}

impl Clock {
    fn new(frames: usize) -> Arc<Self> {
        Arc::new(Self {
            base: Instant::now(),
            sent: (0..frames).map(|_| AtomicU64::new(0)).collect(),
            seen: (0..frames).map(|_| AtomicU64::new(0)).collect(),
        })
    }

    fn now(&self) -> u64 {
        self.base.elapsed().as_nanos() as u64
    }

    fn mark(slots: &[AtomicU64], index: usize, ns: u64) {
        if let Some(slot) = slots.get(index) {
            slot.store(ns.max(1), Ordering::Release);
        }
    }

    fn seen_count(&self) -> usize {
        self.seen
            .iter()
            .filter(|s| s.load(Ordering::Acquire) != 0)
            .count()
    }

    /// Waits until the last frame is seen or nothing new arrives for 500 ms.
    fn settle(&self) {
        let mut last = (self.seen_count(), Instant::now());
        while last.0 < self.seen.len() && last.1.elapsed() < Duration::from_millis(500) {
            std::thread::sleep(Duration::from_millis(5));
            let count = self.seen_count();
            if count != last.0 {
                last = (count, Instant::now());
            }
            if self
                .seen
                .last()
                .is_some_and(|s| s.load(Ordering::Acquire) != 0)
            {
                break;
            }
        }
    }

    /// One-way latencies (µs) of the frames seen, sorted.
    fn latencies_us(&self) -> Vec<f64> {
        let mut out: Vec<f64> = self
            .sent
            .iter()
            .zip(&self.seen)
            .filter_map(|(sent, seen)| {
                let (sent, seen) = (sent.load(Ordering::Acquire), seen.load(Ordering::Acquire));
                (sent != 0 && seen != 0).then(|| seen.saturating_sub(sent) as f64 / 1e3)
            })
            .collect();
        out.sort_by(f64::total_cmp);
        out
    }

    /// Seen frames per second, from the first send to the last arrival.
    fn rate(&self) -> f64 {
        let first = self.sent.first().map_or(0, |s| s.load(Ordering::Acquire));
        let last = self
            .seen
            .iter()
            .map(|s| s.load(Ordering::Acquire))
            .max()
            .unwrap_or(0);
        self.seen_count() as f64 / ((last.saturating_sub(first)) as f64 / 1e9)
    }
}

fn frames(count: usize) -> Vec<Vec<u8>> {
    (0..count)
        .map(|i| {
            let landmarks = (0..33)
                .map(|j| Landmark {
                    x: j as f32 / 33.0,
                    y: 0.5,
                    z: -0.1,
                    visibility: 0.9,
                    presence: 0.95,
                })
                .collect();
            Frame::pose(PoseLandmarks {
                timestamp: i as f64,
                sequence: Some(i as u64),
                capture_time_ns: None,
                landmarks,
                ..PoseLandmarks::default()
            })
            .to_flatbuffers()
        })
        .collect()
}

/// The controller: accepts one client, then sends every frame, one per
/// `period` (flat out when `None`), stamping each send.
async fn controller(
    listener: TcpListener,
    frames: Vec<Vec<u8>>,
    period: Option<Duration>,
    clock: Arc<Clock>,
    mut go: mpsc::Receiver<()>,
) {
    let (stream, _) = listener.accept().await.expect("accept");
    stream.set_nodelay(true).expect("nodelay");
    let mut ws = tokio_tungstenite::accept_async(stream)
        .await
        .expect("handshake");
    go.recv().await;
    let start = tokio::time::Instant::now();
    for (i, frame) in frames.into_iter().enumerate() {
        if let Some(period) = period {
            tokio::time::sleep_until(start + period * i as u32).await;
        }
        Clock::mark(&clock.sent, i, clock.now());
        ws.send(Message::binary(frame)).await.expect("send");
    }
    // Keep the connection open until the client has read everything.
    tokio::time::sleep(Duration::from_secs(2)).await;
}

#[derive(Clone, Copy, PartialEq)]
enum Receiver {
    /// libbrp's `PoseClient` applying into a `Host`.
    Brp,
    /// The same, with the target's One Euro smoothing on (its defaults).
    BrpSmoothing,
    /// A bare tokio-tungstenite client.
    RawWs,
}

struct Outcome {
    latencies: Vec<f64>,
    seen: usize,
    sent: usize,
    rate: f64,
}

fn run(receiver: Receiver, count: usize, period: Option<Duration>) -> Outcome {
    let clock = Clock::new(count);
    let server = Runtime::new().expect("runtime");
    let listener = server
        .block_on(TcpListener::bind("127.0.0.1:0"))
        .expect("bind");
    let url = format!("ws://{}", listener.local_addr().expect("addr"));
    let (go_tx, go_rx) = mpsc::channel(1);
    let sender = server.spawn(controller(
        listener,
        frames(count),
        period,
        clock.clone(),
        go_rx,
    ));

    // Keep whichever receiver runs alive until the frames are in.
    let mut _client = None;
    let mut _raw = None;
    match receiver {
        Receiver::Brp | Receiver::BrpSmoothing => {
            let app = Host::new();
            let spawned = app.request(r#"{"id":1,"request":"SPAWN","params":{"components":{"Name":{"JSON":"\"Player\""}}}}"#);
            assert!(spawned.contains("1v0"), "{spawned}");
            let seen = clock.clone();
            app.with_world_mut(|world| {
                world.add_observer(
                    move |on: On<Insert<PoseLandmarks>>, poses: Query<&PoseLandmarks>| {
                        let now = seen.now();
                        if let Some(sequence) =
                            poses.get(on.event().entity).ok().and_then(|p| p.sequence)
                        {
                            Clock::mark(&seen.seen, sequence as usize, now);
                        }
                    },
                );
            });
            let mut config = ClientConfig::new(url);
            let target = match receiver {
                Receiver::BrpSmoothing => r#"{"entity":"1v0","smoothing":{}}"#,
                _ => r#"{"entity":"1v0"}"#,
            };
            config.target = Target::from_json(target).expect("target");
            config.max_message_size = 1 << 20;
            let client = PoseClient::start(&app, config).expect("pose client");
            let started = Instant::now();
            while client.stats().connections == 0 && started.elapsed() < Duration::from_secs(5) {
                std::thread::sleep(Duration::from_millis(2));
            }
            _client = Some((app, client));
        }
        Receiver::RawWs => {
            let runtime = tokio::runtime::Builder::new_multi_thread()
                .worker_threads(1)
                .enable_all()
                .build()
                .expect("runtime");
            let (connected_tx, connected_rx) = std::sync::mpsc::channel();
            let seen = clock.clone();
            runtime.spawn(async move {
                let (mut ws, _) = tokio_tungstenite::connect_async(url.as_str())
                    .await
                    .expect("connect");
                let _ = connected_tx.send(());
                let mut index = 0usize;
                while let Some(Ok(message)) = ws.next().await {
                    let now = seen.now();
                    if message.is_binary() {
                        Clock::mark(&seen.seen, index, now);
                        index += 1;
                    }
                }
            });
            connected_rx
                .recv_timeout(Duration::from_secs(5))
                .expect("raw client connects");
            _raw = Some(runtime);
        }
    }
    std::thread::sleep(Duration::from_millis(50));
    go_tx.blocking_send(()).expect("controller waiting");
    // Wait for the sender to finish pacing, then for the last arrivals.
    let sent_all = Instant::now();
    while clock
        .sent
        .last()
        .is_some_and(|s| s.load(Ordering::Acquire) == 0)
        && sent_all.elapsed() < Duration::from_secs(120)
    {
        std::thread::sleep(Duration::from_millis(5));
    }
    clock.settle();
    let outcome = Outcome {
        latencies: clock.latencies_us(),
        seen: clock.seen_count(),
        sent: clock
            .sent
            .iter()
            .filter(|s| s.load(Ordering::Acquire) != 0)
            .count(),
        rate: clock.rate(),
    };
    sender.abort();
    drop(_client);
    drop(_raw);
    server.shutdown_background();
    outcome
}

fn percentile(sorted: &[f64], p: f64) -> f64 {
    if sorted.is_empty() {
        return f64::NAN;
    }
    let rank = ((sorted.len() - 1) as f64 * p).round() as usize;
    sorted[rank]
}

fn main() {
    // `cargo bench` passes `--bench`; without it (`cargo test --benches`)
    // a few frames check that the benchmark runs. Filters are not supported.
    let bench = std::env::args().any(|arg| arg == "--bench");
    let quick = std::env::var_os("BRP_BENCH_QUICK").is_some();
    let (n60, n1k, nmax) = if !bench {
        (10, 50, 200)
    } else if quick {
        (180, 2_000, 10_000)
    } else {
        (600, 10_000, 50_000)
    };
    println!("pose stream on loopback: one-way latency, controller send -> visible");
    println!(
        "{:<26} {:>10} {:>10} {:>13} {:>12}",
        "case", "p50 µs", "p99 µs", "seen/sent", "frames/s"
    );
    let cases = [
        ("60Hz", n60, Some(Duration::from_micros(16_667))),
        ("1kHz", n1k, Some(Duration::from_millis(1))),
        ("flat_out", nmax, None),
    ];
    for (name, count, period) in cases {
        let mut p50 = [0.0; 3];
        let receivers = [Receiver::Brp, Receiver::RawWs, Receiver::BrpSmoothing];
        for (k, receiver) in receivers.into_iter().enumerate() {
            let label = match receiver {
                Receiver::Brp => "brp",
                Receiver::RawWs => "raw_ws_floor",
                Receiver::BrpSmoothing => "brp_smoothing",
            };
            let outcome = run(receiver, count, period);
            p50[k] = percentile(&outcome.latencies, 0.5);
            println!(
                "{:<26} {:>10.1} {:>10.1} {:>13} {:>12.0}",
                format!("pose_e2e/{name}/{label}"),
                p50[k],
                percentile(&outcome.latencies, 0.99),
                format!("{}/{}", outcome.seen, outcome.sent),
                outcome.rate,
            );
        }
        if period.is_some() {
            println!(
                "{:<26} p50 ratio brp / raw_ws_floor = {:.2}x; smoothing adds {:.1} µs",
                format!("pose_e2e/{name}"),
                p50[0] / p50[1],
                p50[2] - p50[0]
            );
        }
    }
}
