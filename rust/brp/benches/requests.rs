//! Request-level benchmarks of the core, each beside its floor measured in
//! the same run (see docs/benchmarks.md; `scripts/bench` runs them and
//! prints the ratios).
//!
//! Groups: `ping`, `get` (warm, and `brp_cold` after the value changed; +
//! the JSON-RPC dialect's `world.get_components` and the `serde_json`
//! floor), `insert`, `mutate` (one
//! `Transform` field, beside `insert` of the whole value), `query` of 1k /
//! 10k / 100k entities, `query_changes` (the same after none, a tenth or
//! all of the values were written since the last answer), `poll_wake` (+
//! bare `Condvar` floor) and `pose` decode + apply, also with smoothing on
//! (+ FlatBuffers decode floor).
//!
//! `BRP_BENCH_QUICK=1` shortens warm-up and measurement (used by
//! `scripts/bench`).

mod common;

use brp::Host;
use brp::pose::{Frame, Landmark, PoseLandmarks, Target, push_frame};
use criterion::{BatchSize, BenchmarkId, Criterion, criterion_group, criterion_main};
use serde_json::Value;
use std::hint::black_box;
use std::sync::mpsc;
use std::sync::{Arc, Condvar, Mutex};
use std::thread;
use std::time::{Duration, Instant};

const GET: &str =
    r#"{"id":1,"request":"GET","params":{"entity":"1v0","components":["Transform"]}}"#;

/// The same read in bevy_remote's JSON-RPC dialect (docs/protocol.md); the
/// entity `1v0` is `4294967294` there.
const GET_COMPONENTS: &str = r#"{"jsonrpc":"2.0","id":1,"method":"world.get_components","params":{"entity":4294967294,"components":["bevy_transform::components::transform::Transform"],"strict":true}}"#;

/// QUERY of every entity's `Name` and `Transform`.
const QUERY: &str =
    r#"{"id":1,"request":"QUERY","params":{"data":{"components":["Name","Transform"]}}}"#;

fn transform(i: usize) -> String {
    format!(r#"{{"translation":[{i},1,2],"rotation":[0,0,0,1],"scale":[1,1,1]}}"#)
}

/// An app with `n` entities carrying `Name` and `Transform`; the first is `1v0`.
fn world(n: usize) -> Host {
    let app = Host::from_config_json(r#"{"components":["Position"]}"#).expect("config");
    for i in 0..n {
        let spawn = serde_json::json!({
            "id": 1,
            "request": "SPAWN",
            "params": {"components": {
                "Name": {"JSON": format!("\"entity {i}\"")},
                "Transform": {"JSON": transform(i)},
            }},
        });
        let answer = app.request(&spawn.to_string());
        assert!(answer.contains("\"entity\""), "{answer}");
    }
    app
}

fn ping(c: &mut Criterion) {
    let app = world(1);
    let ping = r#"{"id":1,"request":"PING"}"#;
    assert!(!app.request(ping).contains("error"));
    c.bench_function("ping/brp", |b| b.iter(|| app.request(black_box(ping))));
}

fn get(c: &mut Criterion) {
    let app = world(1);
    let answer = app.request(GET);
    assert!(answer.contains("translation"), "{answer}");
    let response: Value = serde_json::from_str(&answer).expect("response JSON");
    let jsonrpc = app.request(GET_COMPONENTS);
    assert!(
        jsonrpc.contains("\"result\"") && jsonrpc.contains("translation"),
        "{jsonrpc}"
    );
    let mut group = c.benchmark_group("get");
    group.bench_function("brp", |b| b.iter(|| app.request(black_box(GET))));
    // The same GET after the value was written since the last answer, so
    // that it is serialized again (the write is outside the clock).
    group.bench_function("brp_cold", |b| {
        use bevy_ecs::change_detection::DetectChangesMut;
        use bevy_transform::components::Transform;
        let touch = || {
            app.with_world_mut(|world| {
                let mut transforms = world.query::<&mut Transform>();
                transforms
                    .single_mut(world)
                    .expect("one entity")
                    .set_changed();
            });
        };
        b.iter_batched(
            touch,
            |()| app.request(black_box(GET)),
            BatchSize::PerIteration,
        );
    });
    group.bench_function("jsonrpc", |b| {
        b.iter(|| app.request(black_box(GET_COMPONENTS)))
    });
    // The floor: what any JSON-in/JSON-out call must do at least.
    group.bench_function("serde_json_floor", |b| {
        b.iter(|| {
            let request: Value = serde_json::from_str(black_box(GET)).expect("request JSON");
            black_box(request);
            serde_json::to_string(black_box(&response)).expect("serialize")
        });
    });
    group.finish();
}

fn insert(c: &mut Criterion) {
    let app = world(1);
    let insert = serde_json::json!({
        "id": 1,
        "request": "INSERT",
        "params": {"entity": "1v0", "components": {"Transform": {"JSON": transform(7)}}},
    })
    .to_string();
    let answer = app.request(&insert);
    assert!(answer.contains("OK"), "{answer}");
    c.bench_function("insert/brp", |b| b.iter(|| app.request(black_box(&insert))));
}

/// MUTATE of one `Transform` field, beside INSERT of the whole value (the
/// `insert` group) in the same run.
fn mutate(c: &mut Criterion) {
    let app = world(1);
    let mutate = r#"{"id":1,"request":"MUTATE","params":{"entity":"1v0","component":"Transform","path":"translation.x","value":{"JSON":"7.0"}}}"#;
    let answer = app.request(mutate);
    assert!(answer.contains("OK"), "{answer}");
    c.bench_function("mutate/brp", |b| b.iter(|| app.request(black_box(mutate))));
}

fn query(c: &mut Criterion) {
    let mut group = c.benchmark_group("query");
    for n in [1_000usize, 10_000, 100_000] {
        let app = world(n);
        let answer = app.request(QUERY);
        assert!(
            answer.contains(&format!("\"{n}v0\"")),
            "query missed entities"
        );
        if n >= 10_000 {
            group.sample_size(10);
        }
        group.bench_with_input(BenchmarkId::new("brp", n), &n, |b, _| {
            b.iter(|| app.request(black_box(QUERY)));
        });
        // The floor: writing the same answer from a ready JSON tree, the
        // least any JSON-out call must do for it.
        let response: Value = serde_json::from_str(&answer).expect("response JSON");
        group.bench_with_input(BenchmarkId::new("serde_json_floor", n), &n, |b, _| {
            b.iter(|| serde_json::to_string(black_box(&response)).expect("serialize"));
        });
    }
    group.finish();
}

/// QUERY of `Name` + `Transform` after a share of the entities had both
/// values written since the last answer: none (`warm`), a tenth
/// (`changed_10pct`) or all (`cold`). The writes happen outside the clock,
/// in `with_world_mut`, between answers.
fn query_changes(c: &mut Criterion) {
    use bevy_ecs::change_detection::DetectChangesMut;
    use bevy_ecs::name::Name;
    use bevy_transform::components::Transform;
    let mut group = c.benchmark_group("query_changes");
    for n in [1_000usize, 10_000, 100_000] {
        let app = world(n);
        if n >= 10_000 {
            group.sample_size(10);
        }
        for (label, every) in [("warm", 0usize), ("changed_10pct", 10), ("cold", 1)] {
            let touch = || {
                if every == 0 {
                    return;
                }
                app.with_world_mut(|world| {
                    let mut values = world.query::<(&mut Name, &mut Transform)>();
                    for (i, (mut name, mut transform)) in values.iter_mut(world).enumerate() {
                        if i % every == 0 {
                            name.set_changed();
                            transform.set_changed();
                        }
                    }
                });
            };
            group.bench_with_input(BenchmarkId::new(label, n), &n, |b, _| {
                b.iter_batched(
                    touch,
                    |()| app.request(black_box(QUERY)),
                    BatchSize::PerIteration,
                );
            });
        }
        if n == 100_000 {
            app.request(QUERY);
            let stats = app.cache_stats();
            println!(
                "value cache after QUERY of {n}: {} entries, {:.1} MiB",
                stats.entries,
                stats.bytes as f64 / (1 << 20) as f64
            );
        }
    }
    group.finish();
}

/// Mutation → parked POLL answered in another thread, one way: the clock
/// starts before the INSERT and stops when the thread blocked in
/// `Session::receive` has the answer.
fn poll_wake(c: &mut Criterion) {
    let mut group = c.benchmark_group("poll_wake");
    let app = world(1);
    let session = Arc::new(app.session());
    let first = app.request(r#"{"id":1,"request":"POLL","params":{"data":{"components":["Transform"]},"watermark":null}}"#);
    let mut watermark = watermark_of(&serde_json::from_str(&first).expect("POLL JSON"));
    let (woke_tx, woke_rx) = mpsc::channel::<(Instant, String)>();
    let waiter = {
        let session = Arc::clone(&session);
        thread::spawn(move || {
            while let Ok(response) = session.receive(None) {
                let now = Instant::now();
                let answer = response.to_json();
                if woke_tx.send((now, watermark_of(&answer))).is_err() {
                    break;
                }
            }
        })
    };
    let mut round = 0u64;
    group.bench_function("brp", |b| {
        b.iter_custom(|iters| {
            let mut total = Duration::ZERO;
            for _ in 0..iters {
                round += 1;
                session.submit(&format!(
                    r#"{{"id":{round},"request":"POLL","params":{{"data":{{"components":["Transform"]}},"watermark":"{watermark}"}}}}"#
                ));
                let insert = format!(
                    r#"{{"id":1,"request":"INSERT","params":{{"entity":"1v0","components":{{"Transform":{{"JSON":"{{\"translation\":[{round},0,0]}}"}}}}}}}}"#
                );
                let start = Instant::now();
                let answer = app.request(&insert);
                let (woke, next) = woke_rx.recv().expect("waiter alive");
                debug_assert!(answer.contains("OK"), "{answer}");
                total += woke - start;
                watermark = next;
            }
            total
        });
    });
    session.close();
    waiter.join().expect("waiter");

    // The floor: a flag set under a mutex, `notify_one`, and the other
    // thread returning from `Condvar::wait`, timed the same way.
    let pair = Arc::new((Mutex::new(0u64), Condvar::new()));
    let (woke_tx, woke_rx) = mpsc::channel::<Instant>();
    let waiter = {
        let pair = Arc::clone(&pair);
        thread::spawn(move || {
            let (lock, cvar) = &*pair;
            let mut seen = 0u64;
            loop {
                let mut value = lock.lock().expect("lock");
                while *value == seen {
                    value = cvar.wait(value).expect("wait");
                }
                let now = Instant::now();
                seen = *value;
                drop(value);
                if seen == u64::MAX || woke_tx.send(now).is_err() {
                    break;
                }
            }
        })
    };
    group.bench_function("condvar_floor", |b| {
        b.iter_custom(|iters| {
            let (lock, cvar) = &*pair;
            let mut total = Duration::ZERO;
            for _ in 0..iters {
                let start = Instant::now();
                *lock.lock().expect("lock") += 1;
                cvar.notify_one();
                total += woke_rx.recv().expect("waiter alive") - start;
            }
            total
        });
    });
    group.finish();
    *pair.0.lock().expect("lock") = u64::MAX;
    pair.1.notify_one();
    waiter.join().expect("waiter");
}

fn watermark_of(answer: &Value) -> String {
    let answer = answer.get("response").unwrap_or(answer);
    answer["watermark"]
        .as_str()
        .expect("POLL answers carry a watermark")
        .to_owned()
}

/// One 33-landmark frame (the MediaPipe pose model's size) as FlatBuffers.
fn pose_bytes() -> Vec<u8> {
    let landmarks = (0..33)
        .map(|i| Landmark {
            x: i as f32 / 33.0,
            y: 0.5,
            z: -0.1,
            visibility: 0.9,
            presence: 0.95,
        })
        .collect();
    Frame::pose(PoseLandmarks {
        timestamp: 1.5,
        landmarks,
        sequence: Some(1),
        capture_time_ns: None,
        ..PoseLandmarks::default()
    })
    .to_flatbuffers()
}

fn pose(c: &mut Criterion) {
    let app = world(1);
    let bytes = pose_bytes();
    let target = Target::from_json(r#"{"entity":"1v0"}"#).expect("target");
    push_frame(&app, &target, &bytes).expect("pose applies");
    let mut group = c.benchmark_group("pose");
    group.bench_function("decode_apply", |b| {
        b.iter(|| push_frame(&app, &target, black_box(&bytes)));
    });
    let smoothed = Target::from_json(r#"{"entity":"1v0","smoothing":{}}"#).expect("target");
    group.bench_function("decode_apply_smoothing", |b| {
        b.iter(|| push_frame(&app, &smoothed, black_box(&bytes)));
    });
    group.bench_function("flatbuffers_decode_floor", |b| {
        b.iter(|| Frame::from_flatbuffers(black_box(&bytes)));
    });
    group.finish();
}

criterion_group! {
    name = benches;
    config = common::config();
    targets = ping, get, insert, mutate, query, query_changes, poll_wake, pose
}
criterion_main!(benches);
