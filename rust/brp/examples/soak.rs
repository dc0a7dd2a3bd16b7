//! A soak test of libbrp (not run in CI; see docs/soak.md).
//!
//! For a bounded time, against one embedded world:
//!
//! - **writers** send mixed requests (PING, GET, QUERY, SPAWN, INSERT,
//!   REMOVE, REPARENT, DESTROY and bad requests of many kinds), through
//!   their session or sessionless, and check every answer against a model
//!   of the entities they own;
//! - **blocking pollers** chain POLLs with [`Session::request`] while a
//!   **churner** beside each cancels them (`Session::cancel` and CANCEL)
//!   and closes and replaces their session under them;
//! - **callback pollers** chain submitted POLLs from session callbacks,
//!   cancel some, and open and close (or drop) sessions with POLLs parked;
//! - a **pose stream**: an in-process tokio-tungstenite server on 127.0.0.1
//!   sends 33-landmark frames at ~60 fps to a [`PoseClient`] and hangs up
//!   every few seconds, so the client reconnects.
//!
//! At the deadline every loop stops by itself and every thread joins. The
//! soak then checks the world against the writers' models, prints what
//! happened (requests/s by kind, POLL outcomes, sessions, pose stream,
//! errors by code, memory) and exits non-zero on any unexpected response,
//! broken invariant, panic, hang, or entity count beyond the workload's
//! bound.
//!
//! `cargo run --release --locked -p brp --example soak -- --seconds 60 --threads 8`
//! (`scripts/soak --seconds 60`); `--update-hz 60` adds a thread calling
//! `Host::update` 60 times a second, as a game loop would; `--seed S`
//! repeats a run's random choices (the seed is printed).

use brp::pose::{Backoff, ClientConfig, Frame, FrameEvent, Landmark, PoseClient, PoseLandmarks};
use brp::{ErrorCode, Host, Response, Session};
use futures_util::SinkExt;
use serde_json::{Value, json};
use std::collections::{BTreeMap, BTreeSet, HashMap, VecDeque};
use std::process::ExitCode;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::{Arc, Mutex, MutexGuard, PoisonError, Weak, mpsc};
use std::thread::JoinHandle;
use std::time::{Duration, Instant, SystemTime, UNIX_EPOCH};
use tokio::net::{TcpListener, TcpStream};
use tokio::runtime::Runtime;
use tokio_tungstenite::tungstenite::Message;

// ---------------------------------------------------------------------------
// Settings
// ---------------------------------------------------------------------------

/// The app's settings: the dynamic components the workload uses and a
/// request-size limit small enough for the oversize bad request to hit.
const APP_CONFIG: &str = r#"{"components": ["Soak", "Counter", "Rare", "Never"],
                            "max_request_bytes": 65536}"#;

/// The most entities one writer keeps; at the limit it destroys instead of
/// spawning, which bounds the world.
const POOL_MAX: usize = 32;

/// Below this many entities a writer spawns instead of destroying.
const POOL_MIN: usize = 4;

/// How often the main thread counts the world's entities.
const SAMPLE_EVERY: Duration = Duration::from_millis(250);

/// How often a progress line is printed.
const PROGRESS_EVERY: Duration = Duration::from_secs(10);

/// How long after the deadline the threads may take to join before the
/// soak reports a hang.
const HANG_GRACE: Duration = Duration::from_secs(30);

/// The longest warm-up; memory "after warm-up" is read at its end.
const WARM_UP: Duration = Duration::from_secs(10);

/// How many problems are printed in full (all are counted).
const SHOWN_PROBLEMS: usize = 20;

/// The pose server's frame period (~60 fps).
const FRAME_PERIOD: Duration = Duration::from_micros(16_667);

/// A POLL on `Never`, a component no entity ever has: it parks until cancelled.
const NEVER: &str = r#"{"data": {"components": ["Never"]}}"#;

// ---------------------------------------------------------------------------
// Command line
// ---------------------------------------------------------------------------

/// The command line: `--seconds N --threads T [--seed S] [--update-hz H]`.
struct Args {
    seconds: u64,
    threads: usize,
    seed: u64,
    /// Calls of `Host::update` per second, as a game loop would make; 0
    /// (the default) never calls it.
    update_hz: u64,
}

impl Args {
    const USAGE: &str = "usage: soak [--seconds N (default 600)] [--threads T (>= 3, default 8)] [--seed S] [--update-hz H (default 0: never)]";

    /// Reads the process's arguments.
    fn parse() -> Result<Self, String> {
        let mut args = Self {
            seconds: 600,
            threads: 8,
            update_hz: 0,
            seed: SystemTime::now()
                .duration_since(UNIX_EPOCH)
                .map_or(1, |d| d.as_nanos() as u64),
        };
        let mut words = std::env::args().skip(1);
        while let Some(flag) = words.next() {
            let mut value = || {
                let text = words.next().ok_or(format!("{flag} needs a value"))?;
                text.parse::<u64>()
                    .map_err(|_| format!("{flag}: not a number: {text}"))
            };
            match flag.as_str() {
                "--seconds" => args.seconds = value()?,
                "--threads" => args.threads = value()? as usize,
                "--seed" => args.seed = value()?,
                "--update-hz" => args.update_hz = value()?,
                "-h" | "--help" => return Err(String::new()),
                other => return Err(format!("unknown argument {other}")),
            }
        }
        if args.seconds == 0 || args.threads < 3 {
            return Err("--seconds must be positive and --threads at least 3".into());
        }
        Ok(args)
    }
}

/// What each worker thread does; thread `i` gets `ROLES[i % 4]`.
#[derive(Clone, Copy, PartialEq)]
enum Role {
    Writer,
    BlockingPoller,
    CallbackPoller,
}

const ROLES: [Role; 4] = [
    Role::Writer,
    Role::BlockingPoller,
    Role::CallbackPoller,
    Role::Writer,
];

// ---------------------------------------------------------------------------
// Small tools: random numbers, the shared context, process-wide counters
// ---------------------------------------------------------------------------

/// xorshift64*: enough randomness for a workload, without a dependency.
struct Rng(u64);

impl Rng {
    fn new(seed: u64) -> Self {
        Self(seed.wrapping_mul(0x9E37_79B9_7F4A_7C15) | 1)
    }

    fn next(&mut self) -> u64 {
        self.0 ^= self.0 >> 12;
        self.0 ^= self.0 << 25;
        self.0 ^= self.0 >> 27;
        self.0.wrapping_mul(0x2545_F491_4F6C_DD1D)
    }

    /// Uniform in `0..n` (`n > 0`).
    fn below(&mut self, n: u64) -> u64 {
        self.next() % n
    }

    /// True `percent` times in a hundred.
    fn chance(&mut self, percent: u64) -> bool {
        self.below(100) < percent
    }

    /// A duration uniform in `low_ms..high_ms`.
    fn millis(&mut self, low_ms: u64, high_ms: u64) -> Duration {
        Duration::from_millis(low_ms + self.below(high_ms - low_ms))
    }
}

/// Requests answered, by every thread (for the progress line).
static REQUESTS: AtomicU64 = AtomicU64::new(0);
/// Problems found, by every thread (for the progress line).
static PROBLEMS: AtomicU64 = AtomicU64::new(0);
/// Counter INSERTs begun (counted before they are sent) and done (counted
/// after they succeeded), for the blocking pollers' wake-up check.
static COUNTER_WRITES_BEGUN: AtomicU64 = AtomicU64::new(0);
static COUNTER_WRITES_DONE: AtomicU64 = AtomicU64::new(0);
/// Panics anywhere in the process, including those the library catches
/// (in callbacks, observers and request handlers).
static PANICS: AtomicU64 = AtomicU64::new(0);

/// Counts every panic, then reports it as usual.
fn count_panics() {
    let report = std::panic::take_hook();
    std::panic::set_hook(Box::new(move |info| {
        PANICS.fetch_add(1, Ordering::SeqCst);
        report(info);
    }));
}

/// Locks `mutex`, ignoring poisoning (a panic is counted on its own).
fn lock<T>(mutex: &Mutex<T>) -> MutexGuard<'_, T> {
    mutex.lock().unwrap_or_else(PoisonError::into_inner)
}

/// What every thread shares.
#[derive(Clone)]
struct Ctx {
    app: Host,
    deadline: Instant,
    /// Names of the threads still running, for the hang report.
    running: Arc<Mutex<BTreeSet<String>>>,
}

impl Ctx {
    /// True once the deadline has passed.
    fn over(&self) -> bool {
        Instant::now() >= self.deadline
    }

    /// Sleeps for `duration`, or until the deadline if sooner.
    fn sleep(&self, duration: Duration) {
        let left = self.deadline.saturating_duration_since(Instant::now());
        std::thread::sleep(duration.min(left));
    }

    /// Starts a named thread that is listed as running until it ends.
    fn spawn<T: Send + 'static>(
        &self,
        name: String,
        work: impl FnOnce() -> T + Send + 'static,
    ) -> JoinHandle<T> {
        lock(&self.running).insert(name.clone());
        let running = Arc::clone(&self.running);
        let listed = name.clone();
        std::thread::Builder::new()
            .name(name)
            .spawn(move || {
                let _listed = Listed(running, listed);
                work()
            })
            .expect("start a thread")
    }
}

/// Removes a thread's name from the running list when the thread ends
/// (also by panic).
struct Listed(Arc<Mutex<BTreeSet<String>>>, String);

impl Drop for Listed {
    fn drop(&mut self) {
        lock(&self.0).remove(&self.1);
    }
}

// ---------------------------------------------------------------------------
// Tallies and expectations
// ---------------------------------------------------------------------------

/// What a response should be.
#[derive(Debug, Clone, Copy)]
enum Expect {
    /// A success.
    Ok,
    /// This error.
    Error(ErrorCode),
    /// A success or one of these errors: outcomes of races the soak does
    /// not control (a CANCEL racing its POLL's answer, a timeout).
    OkOr(&'static [ErrorCode]),
}

impl Expect {
    fn allows(self, outcome: Result<(), ErrorCode>) -> bool {
        match (self, outcome) {
            (Self::Ok | Self::OkOr(_), Ok(())) => true,
            (Self::Error(want), Err(got)) => want == got,
            (Self::OkOr(codes), Err(got)) => codes.contains(&got),
            _ => false,
        }
    }
}

/// POLL outcomes of one watch.
#[derive(Default, Clone, Copy)]
struct PollTally {
    answers: u64,
    timeouts: u64,
    cancelled: u64,
    /// The longest time an answered POLL took.
    longest: Duration,
}

impl PollTally {
    fn merge(&mut self, other: Self) {
        self.answers += other.answers;
        self.timeouts += other.timeouts;
        self.cancelled += other.cancelled;
        self.longest = self.longest.max(other.longest);
    }
}

/// Counts of what happened; each thread keeps its own, merged at the end.
#[derive(Default)]
struct Tally {
    /// Responses, by request kind.
    requests: BTreeMap<&'static str, u64>,
    /// Error responses, by (code, whether the soak expected it).
    errors: BTreeMap<(i32, bool), u64>,
    /// POLL outcomes, by watch.
    polls: BTreeMap<&'static str, PollTally>,
    /// `Session::cancel` calls and CANCEL requests sent ...
    cancels: u64,
    /// ... and how many of them found their POLL still parked.
    cancels_found: u64,
    sessions_opened: u64,
    sessions_closed: u64,
    sessions_dropped: u64,
    /// Unexpected responses and broken invariants, the first few in full.
    problems: Vec<String>,
    problem_count: u64,
}

impl Tally {
    /// Counts `response` to a request of `kind` and checks it against
    /// `expect`; true when it is as expected.
    fn record(
        &mut self,
        kind: &'static str,
        request: &str,
        response: &Response,
        expect: Expect,
    ) -> bool {
        REQUESTS.fetch_add(1, Ordering::Relaxed);
        *self.requests.entry(kind).or_default() += 1;
        let outcome = response.result.as_ref().map(|_| ()).map_err(|e| e.code);
        let fine = expect.allows(outcome);
        if let Err(code) = outcome {
            *self.errors.entry((code.code(), fine)).or_default() += 1;
        }
        if !fine {
            let request: String = request.chars().take(300).collect();
            let response: String = response.to_text().chars().take(300).collect();
            self.problem(format!(
                "{kind}: expected {expect:?}\n    request:  {request}\n    response: {response}"
            ));
        }
        fine
    }

    /// Notes a problem: an unexpected response or a broken invariant.
    fn problem(&mut self, what: String) {
        PROBLEMS.fetch_add(1, Ordering::Relaxed);
        self.problem_count += 1;
        if self.problems.len() < SHOWN_PROBLEMS {
            self.problems.push(what);
        }
    }

    fn merge(&mut self, other: Self) {
        for (kind, n) in other.requests {
            *self.requests.entry(kind).or_default() += n;
        }
        for (key, n) in other.errors {
            *self.errors.entry(key).or_default() += n;
        }
        for (watch, polls) in other.polls {
            self.polls.entry(watch).or_default().merge(polls);
        }
        self.cancels += other.cancels;
        self.cancels_found += other.cancels_found;
        self.sessions_opened += other.sessions_opened;
        self.sessions_closed += other.sessions_closed;
        self.sessions_dropped += other.sessions_dropped;
        self.problem_count += other.problem_count;
        let room = SHOWN_PROBLEMS.saturating_sub(self.problems.len());
        self.problems.extend(other.problems.into_iter().take(room));
    }
}

/// The text of request `name` with `id` and `params`.
fn request(id: u64, name: &str, params: Value) -> String {
    json!({"id": id, "request": name, "params": params}).to_string()
}

/// The body of a successful response, parsed.
fn body(response: &Response) -> Option<Value> {
    let body = response.result.as_ref().ok()?;
    serde_json::from_str(body.get()).ok()
}

/// The JSON value inside `{"JSON": "<text>"}`.
fn inner(value: &Value) -> Option<Value> {
    serde_json::from_str(value.get("JSON")?.as_str()?).ok()
}

/// `{"JSON": "<value as text>"}`.
fn wrap(value: Value) -> Value {
    json!({"JSON": value.to_string()})
}

// ---------------------------------------------------------------------------
// POLL chains
// ---------------------------------------------------------------------------

/// What a chain of POLLs watches, and what its answers must satisfy.
struct Watch {
    name: &'static str,
    /// POLL params, without `watermark` and `timeout_ms`.
    params: &'static str,
    /// A component whose value (or a field of it) only ever rises per
    /// entity in the writes, so it may never fall along a chain of answers:
    /// a poller sees a subsequence of the writes, never an older value
    /// after a newer one.
    rising: Option<(&'static str, Option<&'static str>)>,
    /// True when every answer lists every match (no `filter.changed`).
    complete: bool,
    /// Percent of this watch's POLLs sent with a `timeout_ms`.
    timeout_percent: u64,
}

static WATCHES: [Watch; 4] = [
    Watch {
        name: "counters",
        params: r#"{"data": {"components": ["Counter"]}, "filter": {"with": ["Soak"]}}"#,
        rising: Some(("Counter", None)),
        complete: true,
        timeout_percent: 20,
    },
    Watch {
        name: "pose",
        params: r#"{"data": {"components": ["PoseLandmarks"]}}"#,
        rising: Some(("PoseLandmarks", Some("sequence"))),
        complete: true,
        timeout_percent: 20,
    },
    Watch {
        name: "rare",
        params: r#"{"data": {"components": ["Rare"]}, "filter": {"changed": ["Rare"]}}"#,
        rising: Some(("Rare", None)),
        complete: false,
        timeout_percent: 100,
    },
    Watch {
        name: "tree",
        params: r#"{"data": {"components": ["Name"], "optional": ["Parent"]},
                    "filter": {"with": ["Soak"]}}"#,
        rising: None,
        complete: true,
        timeout_percent: 20,
    },
];

/// The watch of the n-th blocking poller (cycling): with 8 threads, the
/// pollers of both kinds cover every watch.
const BLOCKING_WATCHES: [&str; 2] = ["counters", "pose"];

/// The watches of the n-th callback poller's two chains (cycling).
const CALLBACK_WATCHES: [[&str; 2]; 2] = [["tree", "counters"], ["pose", "rare"]];

/// The watch called `name`.
fn watch(name: &str) -> &'static Watch {
    (WATCHES.iter())
        .find(|w| w.name == name)
        .expect("a watch of that name")
}

/// One chain of POLLs on a watch: each passes the previous answer's
/// watermark (the first passes none and answers at once).
struct Chain {
    watch: &'static Watch,
    watermark: Option<String>,
    /// The newest value of the watch's rising field seen, per entity.
    seen: HashMap<String, u64>,
    rng: Rng,
    /// The POLL last sent, when, and whether it had a timeout.
    sent: String,
    sent_at: Instant,
    timed: bool,
}

impl Chain {
    fn new(watch: &'static Watch, seed: u64) -> Self {
        Self {
            watch,
            watermark: None,
            seen: HashMap::new(),
            rng: Rng::new(seed),
            sent: String::new(),
            sent_at: Instant::now(),
            timed: false,
        }
    }

    /// The next POLL of the chain, as `id`.
    fn next(&mut self, id: u64) -> String {
        let mut params: Value = serde_json::from_str(self.watch.params).expect("watch params");
        params["watermark"] = json!(self.watermark);
        self.timed = self.rng.chance(self.watch.timeout_percent);
        if self.timed {
            params["timeout_ms"] = json!(5 + self.rng.below(45));
        }
        self.sent = request(id, "POLL", params);
        self.sent_at = Instant::now();
        self.sent.clone()
    }

    /// Records the response to the POLL last sent, checks its answer and
    /// keeps its watermark.
    fn answered(&mut self, response: &Response, tally: &mut Tally) {
        const CANCELLED: &[ErrorCode] = &[ErrorCode::Cancelled];
        const TIMED: &[ErrorCode] = &[ErrorCode::Cancelled, ErrorCode::Timeout];
        let expect = Expect::OkOr(if self.timed { TIMED } else { CANCELLED });
        let fine = tally.record("POLL", &self.sent, response, expect);
        let polls = tally.polls.entry(self.watch.name).or_default();
        match &response.result {
            Ok(_) => {
                polls.answers += 1;
                polls.longest = polls.longest.max(self.sent_at.elapsed());
            }
            Err(e) if e.code == ErrorCode::Timeout => polls.timeouts += 1,
            Err(e) if e.code == ErrorCode::Cancelled => polls.cancelled += 1,
            Err(_) => {}
        }
        if fine && let Some(answer) = body(response) {
            self.check(&answer, tally);
            match answer["watermark"].as_str() {
                Some(watermark) => self.watermark = Some(watermark.to_owned()),
                None => tally.problem(format!("POLL answer without a watermark: {answer}")),
            }
        }
    }

    /// Checks that the rising field never fell since the previous answers.
    ///
    /// Entity ids are never reused (a new entity on a freed index has a
    /// new generation), so ids missing from a complete answer are gone for
    /// good and forgotten; a `changed` watch forgets everything now and
    /// then instead. Either way, the map stays as small as the world.
    fn check(&mut self, answer: &Value, tally: &mut Tally) {
        let Some((component, field)) = self.watch.rising else {
            return;
        };
        let rows = answer["entities"].as_array().map_or(&[][..], Vec::as_slice);
        let mut seen = HashMap::with_capacity(rows.len());
        for row in rows {
            let (Some(id), Some(value)) = (row["id"].as_str(), row.get(component).and_then(inner))
            else {
                continue;
            };
            let Some(value) = field
                .map_or(Some(&value), |f| value.get(f))
                .and_then(Value::as_u64)
            else {
                continue;
            };
            let before = self.seen.get(id).copied().unwrap_or(0);
            if value < before {
                tally.problem(format!(
                    "POLL {}: {component} of {id} went back from {before} to {value}",
                    self.watch.name
                ));
            }
            seen.insert(id.to_owned(), value);
        }
        if self.watch.complete {
            self.seen = seen;
        } else {
            if self.seen.len() > 4096 {
                self.seen.clear();
            }
            self.seen.extend(seen);
        }
    }
}

/// The watermark of a POLL on `params` with none, through `session`.
fn first_watermark(session: &Session, id: u64, params: &str, tally: &mut Tally) -> Option<String> {
    let params: Value = serde_json::from_str(params).expect("POLL params");
    let text = request(id, "POLL", params);
    let response = session.respond(&text);
    tally.record("POLL", &text, &response, Expect::Ok);
    Some(body(&response)?["watermark"].as_str()?.to_owned())
}

// ---------------------------------------------------------------------------
// Writers
// ---------------------------------------------------------------------------

/// An entity a writer spawned, as the writer believes it to be.
#[derive(Clone)]
struct Owned {
    id: String,
    parent: Option<String>,
    counter: u64,
}

/// A writer's model of its entities: only it touches them, so it knows
/// exactly what every request about them must answer.
#[derive(Default)]
struct Pool {
    live: Vec<Owned>,
    /// Ids of destroyed entities, for requests that must not find them.
    stale: VecDeque<String>,
}

impl Pool {
    fn pick(&self, rng: &mut Rng) -> Option<Owned> {
        let n = self.live.len() as u64;
        (n > 0).then(|| self.live[rng.below(n) as usize].clone())
    }

    fn get_mut(&mut self, id: &str) -> Option<&mut Owned> {
        self.live.iter_mut().find(|e| e.id == id)
    }

    /// True when `ancestor` is `of` or above it.
    fn is_ancestor(&self, ancestor: &str, of: &str) -> bool {
        let mut at = Some(of.to_owned());
        for _ in 0..=self.live.len() {
            match at {
                Some(id) if id == ancestor => return true,
                Some(id) => {
                    at = self
                        .live
                        .iter()
                        .find(|e| e.id == id)
                        .and_then(|e| e.parent.clone())
                }
                None => return false,
            }
        }
        false
    }

    /// Forgets `id` and its descendants, as DESTROY removes them.
    fn destroy(&mut self, id: &str) {
        let doomed: Vec<String> = (self.live.iter())
            .filter(|e| self.is_ancestor(id, &e.id))
            .map(|e| e.id.clone())
            .collect();
        self.live.retain(|e| !doomed.contains(&e.id));
        for id in doomed {
            self.stale.push_back(id);
            if self.stale.len() > 16 {
                self.stale.pop_front();
            }
        }
    }
}

/// A writer thread: mixed requests about the entities it owns, each
/// answer checked against its [`Pool`].
struct Writer {
    ctx: Ctx,
    index: usize,
    session: Session,
    rng: Rng,
    pool: Pool,
    next_id: u64,
    spawned: u64,
    /// The watermark of a POLL on [`NEVER`], which parks for ever with it.
    never: Option<String>,
    /// A PING padded past `max_request_bytes`.
    oversize: String,
    tally: Tally,
}

impl Writer {
    fn new(ctx: Ctx, index: usize, seed: u64) -> Self {
        let session = ctx.app.session();
        let padding = " ".repeat(70_000);
        Self {
            oversize: format!(r#"{{"id": 1, "request": "PING"{padding}}}"#),
            ctx,
            index,
            session,
            rng: Rng::new(seed),
            pool: Pool::default(),
            next_id: 1000,
            spawned: 0,
            never: None,
            tally: Tally {
                sessions_opened: 1,
                ..Tally::default()
            },
        }
    }

    /// Runs until the deadline; returns what it counted and the entities
    /// it left in the world.
    fn run(mut self) -> (Tally, Vec<Owned>) {
        while !self.ctx.over() {
            self.step();
        }
        self.session.close();
        self.tally.sessions_closed += 1;
        (self.tally, self.pool.live)
    }

    /// One request (or a short exchange), chosen at random.
    fn step(&mut self) {
        match self.rng.below(100) {
            0..5 => self.ping(),
            5..20 => self.get(),
            20..23 => self.query(),
            23..35 if self.pool.live.len() < POOL_MAX => self.spawn(),
            23..35 => self.destroy(),
            35..60 => self.insert(),
            60..66 => self.remove(),
            66..75 => self.reparent(),
            75..84 if self.pool.live.len() > POOL_MIN => self.destroy(),
            75..84 => self.spawn(),
            84..99 => self.bad(),
            _ => self.churn_session(),
        }
    }

    fn fresh_id(&mut self) -> u64 {
        self.next_id += 1;
        self.next_id
    }

    /// Sends `text` sessionless (one time in five) or through the session,
    /// and records the response.
    fn send_text(&mut self, kind: &'static str, text: &str, expect: Expect) -> Response {
        let response = if self.rng.chance(20) {
            self.ctx.app.respond(text)
        } else {
            self.session.respond(text)
        };
        self.tally.record(kind, text, &response, expect);
        response
    }

    /// Sends request `name` with `params`; the body when it succeeded as expected.
    fn send(&mut self, name: &'static str, params: Value, expect: Expect) -> Option<Value> {
        let id = self.fresh_id();
        let response = self.send_text(name, &request(id, name, params), expect);
        match expect {
            Expect::Ok => body(&response),
            _ => None,
        }
    }

    fn ping(&mut self) {
        self.send("PING", Value::Null, Expect::Ok);
    }

    /// GET of an owned entity: its Counter is exactly what the writer wrote.
    fn get(&mut self) {
        let Some(entity) = self.pool.pick(&mut self.rng) else {
            return self.spawn();
        };
        let params = json!({"entity": entity.id, "components": ["Name", "Counter"]});
        if let Some(answer) = self.send("GET", params, Expect::Ok) {
            let counter = inner(&answer["components"]["Counter"]);
            if counter != Some(json!(entity.counter)) {
                self.tally.problem(format!(
                    "GET {}: Counter {counter:?}, the writer wrote {}",
                    entity.id, entity.counter
                ));
            }
        }
    }

    /// QUERY of every Soak entity: each owned one is there with its Counter.
    fn query(&mut self) {
        let params = json!({"data": {"components": ["Counter"], "has": ["Rare"]},
                            "filter": {"with": ["Soak"], "without": ["Never"]}});
        let Some(answer) = self.send("QUERY", params, Expect::Ok) else {
            return;
        };
        let rows = answer["entities"].as_array().map_or(&[][..], Vec::as_slice);
        let found: HashMap<&str, Option<Value>> = (rows.iter())
            .filter_map(|row| Some((row["id"].as_str()?, inner(&row["Counter"]))))
            .collect();
        for entity in &self.pool.live {
            let counter = found.get(entity.id.as_str());
            if counter != Some(&Some(json!(entity.counter))) {
                let what = format!(
                    "QUERY: {} has Counter {counter:?}, not {}",
                    entity.id, entity.counter
                );
                self.tally.problem(what);
            }
        }
    }

    /// SPAWN of a Soak entity, a child of an owned one a third of the time.
    fn spawn(&mut self) {
        self.spawned += 1;
        let name = format!("soak-{}-{}", self.index, self.spawned);
        let mut components = json!({"Name": wrap(json!(name)), "Soak": wrap(json!({"writer": self.index})),
                                    "Counter": wrap(json!(0))});
        let parent = self
            .pool
            .pick(&mut self.rng)
            .filter(|_| self.rng.chance(33))
            .map(|p| p.id);
        if let Some(parent) = &parent {
            components["Parent"] = wrap(json!(parent));
        }
        let answer = self.send("SPAWN", json!({"components": components}), Expect::Ok);
        match answer.as_ref().and_then(|a| a["entity"].as_str()) {
            Some(id) => self.pool.live.push(Owned {
                id: id.to_owned(),
                parent,
                counter: 0,
            }),
            None if answer.is_some() => self.tally.problem(format!("SPAWN answered {answer:?}")),
            None => {}
        }
    }

    /// DESTROY of an owned entity, which takes its descendants with it.
    fn destroy(&mut self) {
        let Some(entity) = self.pool.pick(&mut self.rng) else {
            return self.spawn();
        };
        if self
            .send("DESTROY", json!({"entity": entity.id}), Expect::Ok)
            .is_some()
        {
            self.pool.destroy(&entity.id);
        }
    }

    /// INSERT of the next Counter value; now and then a Transform, rarely a
    /// Rare (which the "rare" POLLs wait for).
    fn insert(&mut self) {
        let Some(entity) = self.pool.pick(&mut self.rng) else {
            return self.spawn();
        };
        let counter = entity.counter + 1;
        let mut components = json!({"Counter": wrap(json!(counter))});
        if self.rng.chance(10) {
            components["Transform"] = wrap(json!({"translation": [1.0, 2.0, counter as f64]}));
        }
        if self.rng.below(2000) == 0 {
            components["Rare"] = wrap(json!(counter));
        }
        let params = json!({"entity": entity.id, "components": components});
        COUNTER_WRITES_BEGUN.fetch_add(1, Ordering::SeqCst);
        if self.send("INSERT", params, Expect::Ok).is_some() {
            COUNTER_WRITES_DONE.fetch_add(1, Ordering::SeqCst);
            if let Some(owned) = self.pool.get_mut(&entity.id) {
                owned.counter = counter;
            }
        }
    }

    /// REMOVE of components that may or may not be there (absent ones are ignored).
    fn remove(&mut self) {
        let Some(entity) = self.pool.pick(&mut self.rng) else {
            return self.spawn();
        };
        let params = json!({"entity": entity.id, "components": ["Rare", "Transform"]});
        self.send("REMOVE", params, Expect::Ok);
    }

    /// REPARENT (or INSERT of `Parent`) of an owned entity under another,
    /// or to the root; refused as SELF_REPARENT exactly when the model says
    /// it would make a cycle.
    fn reparent(&mut self) {
        let (Some(child), Some(parent)) =
            (self.pool.pick(&mut self.rng), self.pool.pick(&mut self.rng))
        else {
            return self.spawn();
        };
        let parent = (!self.rng.chance(25)).then_some(parent.id);
        let cycle = parent
            .as_ref()
            .is_some_and(|p| self.pool.is_ancestor(&child.id, p));
        let expect = if cycle {
            Expect::Error(ErrorCode::SelfReparent)
        } else {
            Expect::Ok
        };
        let done = match &parent {
            Some(p) if self.rng.chance(50) => {
                let params = json!({"entity": child.id, "components": {"Parent": wrap(json!(p))}});
                self.send("INSERT", params, expect)
            }
            _ => self.send(
                "REPARENT",
                json!({"entity": child.id, "parent": parent}),
                expect,
            ),
        };
        if done.is_some()
            && let Some(owned) = self.pool.get_mut(&child.id)
        {
            owned.parent = parent;
        }
    }

    /// Replaces the writer's session (closing the old one a time in two,
    /// dropping it otherwise).
    fn churn_session(&mut self) {
        let old = std::mem::replace(&mut self.session, self.ctx.app.session());
        self.tally.sessions_opened += 1;
        if self.rng.chance(50) {
            old.close();
            self.tally.sessions_closed += 1;
        } else {
            drop(old);
            self.tally.sessions_dropped += 1;
        }
    }

    /// One bad request, of a kind chosen at random; each has exactly one
    /// right answer.
    fn bad(&mut self) {
        use ErrorCode::*;
        let Some(own) = self.pool.pick(&mut self.rng) else {
            return self.spawn();
        };
        let stale = (self.pool.stale.front().cloned()).unwrap_or_else(|| "999999v0".to_owned());
        let get = |entity: &str, component: &str| {
            request(
                1,
                "GET",
                json!({"entity": entity, "components": [component]}),
            )
        };
        let insert = |component: &str| {
            let components = json!({component: wrap(json!([]))});
            request(
                1,
                "INSERT",
                json!({"entity": own.id, "components": components}),
            )
        };
        let (text, code) = match self.rng.below(17) {
            0 => (r#"{"id": 1, "request": "PING""#.to_owned(), ParseError),
            1 => ("[1, 2, 3]".to_owned(), InvalidRequest),
            2 => (r#"{"request": "PING"}"#.to_owned(), InvalidRequest),
            3 => (
                r#"{"id": 1, "request": "PING", "extra": 1}"#.to_owned(),
                InvalidRequest,
            ),
            4 => (r#"{"id": 1, "request": "FROB"}"#.to_owned(), UnknownRequest),
            5 => (get("banana", "Name"), InvalidParams),
            6 => (
                request(1, "GET", json!({"entty": own.id, "components": ["Name"]})),
                InvalidParams,
            ),
            7 => (get(&stale, "Name"), EntityNotFound),
            8 => (insert("NoSuchComponent"), ComponentError),
            9 => (get(&own.id, "Never"), ComponentNotPresent),
            10 => (
                request(1, "REPARENT", json!({"entity": own.id, "parent": own.id})),
                SelfReparent,
            ),
            11 => (insert("Children"), ComponentError),
            12 => (
                request(
                    1,
                    "POLL",
                    json!({"data": {"components": ["Name"]}, "watermark": "zz"}),
                ),
                InvalidParams,
            ),
            13 => return self.cancel_sessionless(),
            14 => return self.cancel_nothing(),
            15 => (self.oversize.clone(), InvalidRequest),
            _ => return self.duplicate_id(),
        };
        self.send_text("bad", &text, Expect::Error(code));
    }

    /// CANCEL outside a session: refused.
    fn cancel_sessionless(&mut self) {
        let text = request(1, "CANCEL", json!({"id": 1}));
        let response = self.ctx.app.respond(&text);
        let expect = Expect::Error(ErrorCode::InvalidRequest);
        self.tally.record("bad", &text, &response, expect);
    }

    /// CANCEL of a POLL that is not parked: refused.
    fn cancel_nothing(&mut self) {
        let id = self.fresh_id();
        let text = request(id, "CANCEL", json!({"id": 123_456_789}));
        let response = self.session.respond(&text);
        let expect = Expect::Error(ErrorCode::InvalidParams);
        self.tally.record("bad", &text, &response, expect);
    }

    /// Parks a POLL on [`NEVER`], sends another request with its id
    /// (DUPLICATE_ID), CANCELs it, and receives its CANCELLED answer.
    fn duplicate_id(&mut self) {
        if self.never.is_none() {
            let id = self.fresh_id();
            self.never = first_watermark(&self.session, id, NEVER, &mut self.tally);
        }
        let Some(watermark) = self.never.clone() else {
            return;
        };
        let id = self.fresh_id();
        let mut params: Value = serde_json::from_str(NEVER).expect("NEVER");
        params["watermark"] = json!(watermark);
        let poll = request(id, "POLL", params);
        self.session.submit(&poll);
        if let Ok(early) = self.session.receive(Some(Duration::ZERO)) {
            self.tally
                .problem(format!("a POLL on Never answered: {}", early.to_text()));
            return;
        }
        let duplicate = request(id, "PING", Value::Null);
        let response = self.session.respond(&duplicate);
        self.tally.record(
            "bad",
            &duplicate,
            &response,
            Expect::Error(ErrorCode::DuplicateId),
        );
        let cancel_id = self.fresh_id();
        let cancel = request(cancel_id, "CANCEL", json!({"id": id}));
        let response = self.session.respond(&cancel);
        self.tally.cancels += 1;
        if self.tally.record("CANCEL", &cancel, &response, Expect::Ok) {
            self.tally.cancels_found += 1;
        }
        match self.session.receive(Some(Duration::from_secs(10))) {
            Ok(answer) if answer.id == Some(id) => {
                self.tally
                    .record("POLL", &poll, &answer, Expect::Error(ErrorCode::Cancelled));
            }
            other => {
                let other = other.map(|r| r.to_text());
                self.tally
                    .problem(format!("POLL {id} cancelled, but received {other:?}"));
            }
        }
    }
}

// ---------------------------------------------------------------------------
// Blocking pollers and their churners
// ---------------------------------------------------------------------------

/// The session a blocking poller uses, which its churner cancels, closes
/// and replaces under it.
struct Slot {
    session: Mutex<Arc<Session>>,
    /// The POLL the poller is sending or waiting on.
    parked: Mutex<Parked>,
}

/// A blocking poller's POLL, as its churner sees it.
#[derive(Clone, Copy, Default)]
struct Parked {
    id: u64,
    /// [`COUNTER_WRITES_BEGUN`] once the previous answer was in, just
    /// before this POLL was sent.
    writes_begun: u64,
}

impl Slot {
    fn new(app: &Host) -> Self {
        Self {
            session: Mutex::new(Arc::new(app.session())),
            parked: Mutex::default(),
        }
    }

    fn current(&self) -> Arc<Session> {
        Arc::clone(&lock(&self.session))
    }
}

/// A blocking poller: chains POLLs with `Session::respond`, which blocks
/// while the POLL is parked, keeping its watermark across sessions.
fn blocking_poller(ctx: &Ctx, slot: &Slot, watch: &'static Watch, seed: u64) -> Tally {
    let mut tally = Tally::default();
    let mut chain = Chain::new(watch, seed);
    let mut id = 0;
    while !ctx.over() {
        id += 1;
        let session = slot.current();
        let text = chain.next(id);
        *lock(&slot.parked) = Parked {
            id,
            writes_begun: COUNTER_WRITES_BEGUN.load(Ordering::SeqCst),
        };
        let response = session.respond(&text);
        chain.answered(&response, &mut tally);
    }
    tally
}

/// A blocking poller's churner: every few milliseconds it cancels the
/// poller's POLL (`Session::cancel` or a CANCEL request from this thread)
/// or replaces its session, closing the old one under the parked POLL. At
/// the deadline it closes the last session, which ends the poller's wait.
///
/// On the `counters` watch a cancel also checks that writes wake POLLs:
/// a Counter INSERT begun after the POLL's previous answer was in changes
/// its answer, so once such an INSERT is done (more are done than had begun
/// when the POLL was sent), the POLL must have answered: a cancel must not
/// find it still parked.
fn churner(ctx: &Ctx, slot: &Slot, watch: &Watch, seed: u64) -> Tally {
    let mut tally = Tally {
        sessions_opened: 1, // the slot's first session
        ..Tally::default()
    };
    let mut rng = Rng::new(seed);
    let mut cancel_id = 1 << 40; // far from the poller's ids
    while !ctx.over() {
        ctx.sleep(rng.millis(5, 100));
        let session = slot.current();
        let parked = *lock(&slot.parked);
        let writes_done = COUNTER_WRITES_DONE.load(Ordering::SeqCst);
        let found = match rng.below(10) {
            0..4 => session.cancel(parked.id),
            4..7 => {
                cancel_id += 1;
                let text = request(cancel_id, "CANCEL", json!({"id": parked.id}));
                let response = session.respond(&text);
                // The POLL may have answered just before: then no POLL is parked.
                let expect = Expect::OkOr(&[ErrorCode::InvalidParams]);
                tally.record("CANCEL", &text, &response, expect) && response.result.is_ok()
            }
            _ => {
                let old = std::mem::replace(&mut *lock(&slot.session), Arc::new(ctx.app.session()));
                tally.sessions_opened += 1;
                old.close();
                tally.sessions_closed += 1;
                continue;
            }
        };
        tally.cancels += 1;
        tally.cancels_found += u64::from(found);
        if found && watch.name == "counters" && writes_done > parked.writes_begun {
            tally.problem(format!(
                "POLL {} on counters was still parked after {} Counter INSERTs it should have answered to were done",
                parked.id,
                writes_done - parked.writes_begun
            ));
        }
    }
    slot.current().close();
    tally.sessions_closed += 1;
    tally
}

// ---------------------------------------------------------------------------
// Callback pollers
// ---------------------------------------------------------------------------

/// Request ids in a callback session are `seq * TAGS + tag`; the tag says
/// what the request was: 0 and 1 the two chains' POLLs, [`CANCEL_TAG`] a
/// CANCEL.
const TAGS: u64 = 4;
const CANCEL_TAG: u64 = 2;

/// The two POLL chains of a callback session, driven by its callback: each
/// answer is checked and the chain's next POLL submitted from inside the
/// callback.
struct Chains {
    chains: [Mutex<Chain>; 2],
    /// The id of each chain's newest POLL (what a cancel aims at).
    newest: [AtomicU64; 2],
    next_seq: AtomicU64,
    /// Set before the session closes: the callback sends no next POLL.
    closing: AtomicBool,
    deadline: Instant,
    tally: Mutex<Tally>,
}

impl Chains {
    fn new(watches: [&'static Watch; 2], seed: u64, deadline: Instant) -> Self {
        Self {
            chains: [0, 1].map(|k| Mutex::new(Chain::new(watches[k], seed + k as u64))),
            newest: [AtomicU64::new(0), AtomicU64::new(0)],
            next_seq: AtomicU64::new(1),
            closing: AtomicBool::new(false),
            deadline,
            tally: Mutex::default(),
        }
    }

    fn id(&self, tag: u64) -> u64 {
        self.next_seq.fetch_add(1, Ordering::Relaxed) * TAGS + tag
    }

    /// The next POLL of chain `tag`; none once the session is closing or
    /// the deadline has passed.
    fn next(&self, tag: usize) -> Option<String> {
        if self.closing.load(Ordering::SeqCst) || Instant::now() >= self.deadline {
            return None;
        }
        let id = self.id(tag as u64);
        let text = lock(&self.chains[tag]).next(id);
        self.newest[tag].store(id, Ordering::SeqCst);
        Some(text)
    }

    /// The session's callback. It runs on whichever thread completed the
    /// request (often a writer whose change woke the POLL), with no
    /// library lock held, and must not hold a lock of ours while it submits.
    fn on_response(&self, response: Response, session: &Weak<Session>) {
        let Some(id) = response.id else {
            let what = format!("a response without an id: {}", response.to_text());
            return lock(&self.tally).problem(what);
        };
        match id % TAGS {
            tag @ (0 | 1) => {
                let tag = tag as usize;
                lock(&self.chains[tag]).answered(&response, &mut lock(&self.tally));
                if let Some(text) = self.next(tag)
                    && let Some(session) = session.upgrade()
                {
                    session.submit(&text);
                }
            }
            CANCEL_TAG => {
                // The POLL may have answered just before: then none is parked.
                let expect = Expect::OkOr(&[ErrorCode::InvalidParams]);
                let mut tally = lock(&self.tally);
                if tally.record("CANCEL", "CANCEL (submitted)", &response, expect)
                    && response.result.is_ok()
                {
                    tally.cancels_found += 1;
                }
            }
            _ => lock(&self.tally)
                .problem(format!("a response to no request: {}", response.to_text())),
        }
    }

    /// Cancels a chain's newest POLL at random: with `Session::cancel` or a
    /// submitted CANCEL (whose answer comes through the callback). Both may
    /// run the callback on this thread, so no lock is held across them.
    fn cancel_one(&self, session: &Session, rng: &mut Rng) {
        let target = self.newest[rng.below(2) as usize].load(Ordering::SeqCst);
        match rng.below(4) {
            0 => {
                let found = session.cancel(target);
                let mut tally = lock(&self.tally);
                tally.cancels += 1;
                tally.cancels_found += u64::from(found);
            }
            1 => {
                lock(&self.tally).cancels += 1;
                session.submit(&request(
                    self.id(CANCEL_TAG),
                    "CANCEL",
                    json!({"id": target}),
                ));
            }
            _ => {}
        }
    }
}

/// A callback poller: sessions whose callbacks chain POLLs, one after the
/// other, each followed by a session abandoned with POLLs parked.
fn callback_poller(ctx: &Ctx, watches: [&'static Watch; 2], seed: u64) -> Tally {
    let mut tally = Tally::default();
    let mut rng = Rng::new(seed);
    while !ctx.over() {
        tally.merge(callback_session(ctx, watches, &mut rng));
        tally.merge(abandoned_session(ctx, &mut rng));
    }
    tally
}

/// One session whose callback chains POLLs on `watches`; it lives for a
/// random while, during which its POLLs are cancelled at random, and is
/// then closed with its POLLs parked.
fn callback_session(ctx: &Ctx, watches: [&'static Watch; 2], rng: &mut Rng) -> Tally {
    let session = Arc::new(ctx.app.session());
    let chains = Arc::new(Chains::new(watches, rng.next(), ctx.deadline));
    let (weak, handler) = (Arc::downgrade(&session), Arc::clone(&chains));
    session.set_callback(Some(Arc::new(move |response| {
        handler.on_response(response, &weak)
    })));
    for tag in 0..2 {
        if let Some(text) = chains.next(tag) {
            session.submit(&text);
        }
    }
    let end = Instant::now() + rng.millis(50, 500);
    while Instant::now() < end && !ctx.over() {
        ctx.sleep(rng.millis(1, 20));
        chains.cancel_one(&session, rng);
    }
    chains.closing.store(true, Ordering::SeqCst);
    // Closing waits for running callbacks; none starts after it, so this
    // thread's handle is the last strong one and the drop is ours.
    session.close();
    drop(session);
    let mut tally = std::mem::take(&mut *lock(&chains.tally));
    tally.sessions_opened += 1;
    tally.sessions_closed += 1;
    tally
}

/// A session without a callback that parks two POLLs on [`NEVER`] and is
/// then dropped, or closed: then both POLLs' CANCELLED answers must be
/// waiting in its queue.
fn abandoned_session(ctx: &Ctx, rng: &mut Rng) -> Tally {
    let mut tally = Tally {
        sessions_opened: 1,
        ..Tally::default()
    };
    let session = ctx.app.session();
    let Some(watermark) = first_watermark(&session, 1, NEVER, &mut tally) else {
        return tally;
    };
    let mut params: Value = serde_json::from_str(NEVER).expect("NEVER");
    params["watermark"] = json!(watermark);
    let polls: Vec<String> = [2, 3].map(|id| request(id, "POLL", params.clone())).into();
    for poll in &polls {
        session.submit(poll);
    }
    ctx.sleep(rng.millis(0, 5));
    if rng.chance(50) {
        drop(session);
        tally.sessions_dropped += 1;
        return tally;
    }
    session.close();
    tally.sessions_closed += 1;
    for _ in &polls {
        match session.receive(Some(Duration::ZERO)) {
            Ok(answer) => {
                let poll = answer
                    .id
                    .map_or("?", |id| &polls[(id as usize).clamp(2, 3) - 2]);
                tally.record("POLL", poll, &answer, Expect::Error(ErrorCode::Cancelled));
            }
            Err(_) => tally.problem("a POLL parked in a closed session got no answer".into()),
        }
    }
    if let Ok(extra) = session.receive(Some(Duration::ZERO)) {
        tally.problem(format!(
            "a closed session answered more than it was asked: {}",
            extra.to_text()
        ));
    }
    tally
}

// ---------------------------------------------------------------------------
// The pose stream
// ---------------------------------------------------------------------------

/// The pose server's counters.
#[derive(Default)]
struct ServerStats {
    connections: AtomicU64,
    frames_sent: AtomicU64,
    /// Connections the server ended before the deadline (with a close
    /// handshake or by dropping the socket).
    hang_ups: AtomicU64,
}

/// Starts the controller stand-in: a tokio-tungstenite server on 127.0.0.1
/// that streams poses at ~60 fps to each client, hanging up every 2-8 s,
/// until the deadline. Returns its runtime (dropping it stops the server)
/// and its URL.
fn start_pose_server(deadline: Instant, seed: u64, stats: Arc<ServerStats>) -> (Runtime, String) {
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(1)
        .thread_name("pose-server")
        .enable_all()
        .build()
        .expect("pose server runtime");
    let listener = runtime
        .block_on(TcpListener::bind("127.0.0.1:0"))
        .expect("bind the pose server");
    let url = format!(
        "ws://{}",
        listener.local_addr().expect("pose server address")
    );
    let deadline = tokio::time::Instant::from_std(deadline);
    runtime.spawn(serve_poses(listener, deadline, seed, stats));
    (runtime, url)
}

/// Accepts clients until the deadline, each served by [`stream_poses`];
/// one sequence counter runs across all connections, so the poses' sequence
/// numbers only ever rise.
async fn serve_poses(
    listener: TcpListener,
    deadline: tokio::time::Instant,
    seed: u64,
    stats: Arc<ServerStats>,
) {
    let sequence = Arc::new(AtomicU64::new(0));
    for connection in 1u64.. {
        let accepted = tokio::select! {
            accepted = listener.accept() => accepted,
            () = tokio::time::sleep_until(deadline) => return,
        };
        if let Ok((stream, _)) = accepted {
            let rng = Rng::new(seed.wrapping_add(connection));
            let (sequence, stats) = (Arc::clone(&sequence), Arc::clone(&stats));
            tokio::spawn(stream_poses(stream, rng, deadline, sequence, stats));
        }
    }
}

/// Sends one frame per [`FRAME_PERIOD`] until the deadline or until its
/// random lifetime ends; then closes the connection, politely or not.
async fn stream_poses(
    stream: TcpStream,
    mut rng: Rng,
    deadline: tokio::time::Instant,
    sequence: Arc<AtomicU64>,
    stats: Arc<ServerStats>,
) {
    let _ = stream.set_nodelay(true);
    let Ok(mut socket) = tokio_tungstenite::accept_async(stream).await else {
        return;
    };
    stats.connections.fetch_add(1, Ordering::Relaxed);
    let hang_up = tokio::time::Instant::now() + rng.millis(2000, 8000);
    let mut ticks = tokio::time::interval(FRAME_PERIOD);
    ticks.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Skip);
    loop {
        let now = ticks.tick().await;
        if now >= deadline.min(hang_up) {
            break;
        }
        let message = pose_message(sequence.fetch_add(1, Ordering::Relaxed) + 1);
        if socket.send(message).await.is_err() {
            return; // the client went away
        }
        stats.frames_sent.fetch_add(1, Ordering::Relaxed);
    }
    if Instant::now() < deadline.into_std() {
        stats.hang_ups.fetch_add(1, Ordering::Relaxed);
    }
    if rng.chance(50) {
        let _ = socket.close(None).await;
    } // else: dropped without a close handshake
}

/// Frame `sequence`: a 33-landmark pose stamped with its capture time
/// (every 300th is `Empty`, nobody in view), as FlatBuffers (every 10th as
/// JSON text).
fn pose_message(sequence: u64) -> Message {
    let frame = if sequence.is_multiple_of(300) {
        Frame::empty()
    } else {
        let wave = (sequence % 120) as f32 / 120.0;
        Frame::pose(PoseLandmarks {
            timestamp: sequence as f64 / 60.0,
            sequence: Some(sequence),
            capture_time_ns: SystemTime::now()
                .duration_since(UNIX_EPOCH)
                .ok()
                .map(|d| d.as_nanos() as u64),
            landmarks: (0..33)
                .map(|i| Landmark {
                    x: i as f32 / 33.0,
                    y: wave,
                    z: -0.1,
                    visibility: 0.9,
                    presence: 0.95,
                })
                .collect(),
            ..PoseLandmarks::default()
        })
    };
    if sequence.is_multiple_of(10) {
        Message::text(frame.to_json())
    } else {
        Message::binary(frame.to_flatbuffers())
    }
}

/// What the pose client's observer saw: frames in order, sequence numbers
/// never falling.
#[derive(Default)]
struct PoseOrder {
    events: AtomicU64,
    last_sequence: AtomicU64,
    backwards: AtomicU64,
}

impl PoseOrder {
    fn observe(&self, event: &FrameEvent) {
        self.events.fetch_add(1, Ordering::Relaxed);
        if let Some(sequence) = event.sequence
            && self.last_sequence.swap(sequence, Ordering::Relaxed) > sequence
        {
            self.backwards.fetch_add(1, Ordering::Relaxed);
        }
    }
}

/// Connects a pose client to `url` with short backoffs (so reconnects are
/// quick), landing poses on the default target, the entity named Player.
fn start_pose_client(app: &Host, url: String, order: Arc<PoseOrder>) -> PoseClient {
    let mut config = ClientConfig::new(url);
    config.backoff = Backoff {
        initial_ms: 20,
        max_ms: 200,
        jitter: 0.5,
    };
    let observer = Arc::new(move |event: &FrameEvent| order.observe(event));
    PoseClient::start_with_observer(app, config, observer).expect("start the pose client")
}

// ---------------------------------------------------------------------------
// Watching the world and the process
// ---------------------------------------------------------------------------

/// The process's resident memory, in KiB, from /proc/self/status (0 where
/// unreadable).
#[derive(Clone, Copy, Default)]
struct Memory {
    /// VmRSS: resident now.
    rss_kib: u64,
    /// VmHWM: the most ever resident.
    hwm_kib: u64,
}

fn memory() -> Memory {
    let status = std::fs::read_to_string("/proc/self/status").unwrap_or_default();
    let field = |name: &str| {
        (status.lines())
            .find_map(|line| line.strip_prefix(name))
            .and_then(|rest| rest.trim().trim_end_matches("kB").trim().parse().ok())
            .unwrap_or(0)
    };
    Memory {
        rss_kib: field("VmRSS:"),
        hwm_kib: field("VmHWM:"),
    }
}

fn mib(kib: u64) -> String {
    format!("{:.1} MiB", kib as f64 / 1024.0)
}

/// Spawned entities and allocated entity indices. Freed indices are
/// reused; Bevy grows its table of indices by doubling, so the allocated
/// count runs ahead of the spawned one, by at most about twice.
fn entity_counts(app: &Host) -> (u32, u32) {
    app.read(|world| (world.entities().count_spawned(), world.entities().len()))
}

/// Entity counts sampled while the soak runs, against the workload's bound.
struct Census {
    /// Entities at start, plus what the workload may add: each writer's
    /// pool, and the Player the pose client spawns.
    bound: u32,
    /// The most entity indices the bound explains: twice it (the table
    /// doubles), and at least 1024.
    index_bound: u32,
    max_spawned: u32,
    max_allocated: u32,
    /// The first sample over a bound.
    over: Option<String>,
}

impl Census {
    fn new(app: &Host, writers: usize) -> Self {
        let (spawned, allocated) = entity_counts(app);
        let bound = spawned + (writers * POOL_MAX) as u32 + 1;
        Self {
            bound,
            index_bound: (2 * bound).next_power_of_two().max(1024),
            max_spawned: spawned,
            max_allocated: allocated,
            over: None,
        }
    }

    fn sample(&mut self, app: &Host, at: Duration) {
        let (spawned, allocated) = entity_counts(app);
        self.max_spawned = self.max_spawned.max(spawned);
        self.max_allocated = self.max_allocated.max(allocated);
        if self.over.is_none() && (spawned > self.bound || allocated > self.index_bound) {
            self.over = Some(format!(
                "at {:.1} s: {spawned} entities spawned (bound {}), {allocated} indices allocated (bound {})",
                at.as_secs_f64(),
                self.bound,
                self.index_bound
            ));
        }
    }
}

/// Samples the world until the deadline and prints a progress line every
/// [`PROGRESS_EVERY`]; returns the memory at the end of the warm-up and when
/// that was.
fn monitor(
    ctx: &Ctx,
    started: Instant,
    census: &mut Census,
    pose: &PoseClient,
) -> (Memory, Duration) {
    let warm_up = WARM_UP.min(ctx.deadline.saturating_duration_since(started) / 6);
    let mut warm = None;
    let mut next_progress = PROGRESS_EVERY;
    while !ctx.over() {
        ctx.sleep(SAMPLE_EVERY);
        let at = started.elapsed();
        census.sample(&ctx.app, at);
        if warm.is_none() && at >= warm_up {
            warm = Some((memory(), at));
        }
        if at >= next_progress {
            next_progress += PROGRESS_EVERY;
            let requests = REQUESTS.load(Ordering::Relaxed);
            let (spawned, _) = entity_counts(&ctx.app);
            println!(
                "[{:>5.0} s] {requests} requests ({:.0}/s), {spawned} entities (max {}), {} poses applied, {} problems, VmRSS {}",
                at.as_secs_f64(),
                requests as f64 / at.as_secs_f64(),
                census.max_spawned,
                pose.stats().frames_applied,
                PROBLEMS.load(Ordering::Relaxed),
                mib(memory().rss_kib),
            );
        }
    }
    warm.unwrap_or_else(|| (memory(), started.elapsed()))
}

/// Checks the world against the writers' models: exactly their entities
/// carry `Soak`, each with the Counter and Parent its writer last wrote.
fn check_world(app: &Host, owned: &[Owned]) -> (usize, Vec<String>) {
    let text = r#"{"id": 1, "request": "QUERY", "params": {
        "data": {"components": ["Counter"], "optional": ["Parent"]}, "filter": {"with": ["Soak"]}}}"#;
    let answer: Value = serde_json::from_str(&app.request(text)).unwrap_or_default();
    let Some(rows) = answer["response"]["entities"].as_array() else {
        return (0, vec![format!("the final QUERY failed: {answer}")]);
    };
    let world: HashMap<&str, (Option<u64>, Option<String>)> = (rows.iter())
        .filter_map(|row| {
            let counter = inner(&row["Counter"]).and_then(|c| c.as_u64());
            let parent = row
                .get("Parent")
                .and_then(inner)
                .and_then(|p| p.as_str().map(str::to_owned));
            Some((row["id"].as_str()?, (counter, parent)))
        })
        .collect();
    let mut problems = Vec::new();
    for entity in owned {
        let want = (Some(entity.counter), entity.parent.clone());
        match world.get(entity.id.as_str()) {
            Some(got) if *got == want => {}
            got => problems.push(format!(
                "{}: the world has {got:?}, its writer wrote {want:?}",
                entity.id
            )),
        }
    }
    if world.len() != owned.len() {
        problems.push(format!(
            "the world has {} Soak entities, the writers own {}",
            world.len(),
            owned.len()
        ));
    }
    (world.len(), problems)
}

// ---------------------------------------------------------------------------
// Running it
// ---------------------------------------------------------------------------

/// A worker thread's result: its counts and, for a writer, its entities.
type Worker = JoinHandle<(Tally, Vec<Owned>)>;

/// Starts `threads` workers with the roles of [`ROLES`] (a blocking poller
/// comes with its churner, an extra thread).
fn start_workers(ctx: &Ctx, args: &Args) -> Vec<Worker> {
    let mut workers = Vec::new();
    for index in 0..args.threads {
        let seed = args.seed.wrapping_add(index as u64 * 1_000_003);
        let nth = index / ROLES.len();
        let ctx2 = ctx.clone();
        match ROLES[index % ROLES.len()] {
            Role::Writer => {
                let name = format!("writer-{index}");
                workers.push(ctx.spawn(name, move || Writer::new(ctx2, index, seed).run()));
            }
            Role::BlockingPoller => {
                let watch = watch(BLOCKING_WATCHES[nth % BLOCKING_WATCHES.len()]);
                let slot = Arc::new(Slot::new(&ctx.app));
                let (ctx3, slot2) = (ctx.clone(), Arc::clone(&slot));
                let name = format!("blocking-poller-{index}-{}", watch.name);
                workers.push(ctx.spawn(name, move || {
                    (blocking_poller(&ctx2, &slot, watch, seed), Vec::new())
                }));
                let name = format!("churner-{index}");
                workers.push(ctx.spawn(name, move || {
                    (churner(&ctx3, &slot2, watch, seed + 1), Vec::new())
                }));
            }
            Role::CallbackPoller => {
                let name = format!("callback-poller-{index}");
                let watches = CALLBACK_WATCHES[nth % CALLBACK_WATCHES.len()].map(watch);
                workers.push(ctx.spawn(name, move || {
                    (callback_poller(&ctx2, watches, seed), Vec::new())
                }));
            }
        }
    }
    if args.update_hz > 0 {
        let (ctx2, hz) = (ctx.clone(), args.update_hz);
        workers.push(ctx.spawn("updater".into(), move || (updater(&ctx2, hz), Vec::new())));
    }
    workers
}

/// With `--update-hz`: calls `Host::update` `hz` times a second until the
/// deadline, as a game loop beside the requests would.
fn updater(ctx: &Ctx, hz: u64) -> Tally {
    let mut tally = Tally::default();
    let period = Duration::from_secs_f64(1.0 / hz as f64);
    while !ctx.over() {
        ctx.sleep(period);
        if let Err(error) = ctx.app.update() {
            tally.problem(format!("Host::update failed: {error}"));
        }
        *tally.requests.entry("(update)").or_default() += 1;
    }
    tally
}

/// Reports a hang and exits (code 3) unless `done` is signalled within
/// [`HANG_GRACE`] after the deadline.
fn watchdog(ctx: &Ctx) -> (mpsc::Sender<()>, JoinHandle<()>) {
    let (done, wait) = mpsc::channel::<()>();
    let running = Arc::clone(&ctx.running);
    let limit = ctx.deadline + HANG_GRACE;
    let thread = std::thread::spawn(move || {
        let left = limit.saturating_duration_since(Instant::now());
        if let Err(mpsc::RecvTimeoutError::Timeout) = wait.recv_timeout(left) {
            eprintln!(
                "soak: HANG: {} s after the deadline, still running: {:?}",
                HANG_GRACE.as_secs(),
                lock(&running)
            );
            std::process::exit(3);
        }
    });
    (done, thread)
}

/// Everything the soak found.
struct Report {
    elapsed: Duration,
    tally: Tally,
    server: Arc<ServerStats>,
    pose: brp::pose::Stats,
    order: Arc<PoseOrder>,
    census: Census,
    /// Spawned entities and allocated indices at the end.
    end: (u32, u32),
    soak_entities: usize,
    owned: usize,
    memory: [Memory; 3],
    warm_at: Duration,
    failures: Vec<String>,
}

/// Runs the soak: starts the pose stream and the workers, watches until
/// the deadline, joins everything and checks the outcome.
fn soak(args: &Args) -> Report {
    let start_memory = memory();
    let started = Instant::now();
    let deadline = started + Duration::from_secs(args.seconds);
    let app = Host::from_config_json(APP_CONFIG).expect("the soak's app config");
    let ctx = Ctx {
        app: app.clone(),
        deadline,
        running: Arc::default(),
    };
    let count = |role| {
        (0..args.threads)
            .filter(|i| ROLES[i % ROLES.len()] == role)
            .count()
    };
    let writers = count(Role::Writer);
    println!(
        "== soak: {} s, {} threads ({writers} writers, {} blocking pollers (+1 churner each), {} callback pollers), seed {}, Host::update {}",
        args.seconds,
        args.threads,
        count(Role::BlockingPoller),
        count(Role::CallbackPoller),
        args.seed,
        match args.update_hz {
            0 => "never".to_owned(),
            hz => format!("{hz} Hz"),
        }
    );

    let server_stats = Arc::new(ServerStats::default());
    let (server, url) = start_pose_server(deadline, args.seed, Arc::clone(&server_stats));
    let order = Arc::new(PoseOrder::default());
    let client = start_pose_client(&app, url, Arc::clone(&order));
    let mut census = Census::new(&app, writers);
    let workers = start_workers(&ctx, args);
    let (warm_memory, warm_at) = monitor(&ctx, started, &mut census, &client);

    let (done, watchdog) = watchdog(&ctx);
    let mut tally = Tally::default();
    let mut owned = Vec::new();
    let mut failures = Vec::new();
    for worker in workers {
        match worker.join() {
            Ok((worker_tally, worker_owned)) => {
                tally.merge(worker_tally);
                owned.extend(worker_owned);
            }
            Err(_) => failures.push("a worker thread panicked".to_owned()),
        }
    }
    let elapsed = started.elapsed();
    // The server stopped sending at the deadline: the stats are final.
    let pose = client.stats();
    drop(client);
    server.shutdown_timeout(Duration::from_secs(1));
    census.sample(&app, elapsed);
    let end = entity_counts(&app);
    let (soak_entities, world_problems) = check_world(&app, &owned);
    let _ = done.send(());
    let _ = watchdog.join();

    let mut report = Report {
        elapsed,
        tally,
        server: server_stats,
        pose,
        order,
        census,
        end,
        soak_entities,
        owned: owned.len(),
        memory: [start_memory, warm_memory, memory()],
        warm_at,
        failures,
    };
    report.failures.extend(world_problems);
    report.judge();
    report
}

impl Report {
    /// Adds a failure for everything that must not happen.
    fn judge(&mut self) {
        let mut fail = |bad: bool, what: String| {
            if bad {
                self.failures.push(what);
            }
        };
        let t = &self.tally;
        fail(
            t.problem_count > 0,
            format!(
                "{} unexpected responses or broken invariants",
                t.problem_count
            ),
        );
        let panics = PANICS.load(Ordering::SeqCst);
        fail(panics > 0, format!("{panics} panics"));
        if let Some(over) = &self.census.over {
            fail(true, format!("the world outgrew its bound: {over}"));
        }
        let answers: u64 = t.polls.values().map(|p| p.answers).sum();
        fail(answers == 0, "no POLL was ever answered".into());
        let pose = &self.pose;
        fail(pose.frames_applied == 0, "no pose frame was applied".into());
        fail(
            pose.decode_errors + pose.apply_errors + pose.oversize_frames > 0,
            format!(
                "pose frames failed: {} decode errors, {} apply errors, {} oversize (last error: {:?})",
                pose.decode_errors, pose.apply_errors, pose.oversize_frames, pose.last_error
            ),
        );
        let backwards = self.order.backwards.load(Ordering::Relaxed);
        fail(
            backwards > 0,
            format!("{backwards} pose frames applied out of order"),
        );
    }

    fn print(&self) {
        let t = &self.tally;
        let seconds = self.elapsed.as_secs_f64();
        let total: u64 = t.requests.values().sum();
        println!("== result");
        println!("duration        {seconds:.1} s");
        println!(
            "requests        {total} answered, {:.0}/s",
            total as f64 / seconds
        );
        for (kind, n) in &t.requests {
            println!("  {kind:<12} {n:>10} {:>10.0}/s", *n as f64 / seconds);
        }
        println!("POLL answers    by watch:");
        for (watch, p) in &t.polls {
            println!(
                "  {watch:<12} {:>10} answers, {} timeouts, {} cancelled, longest wait {:.1} ms",
                p.answers,
                p.timeouts,
                p.cancelled,
                p.longest.as_secs_f64() * 1e3
            );
        }
        let (timeouts, cancelled) =
            (t.polls.values()).fold((0, 0), |(a, b), p| (a + p.timeouts, b + p.cancelled));
        println!("POLL timeouts   {timeouts}");
        println!(
            "cancellations   {} CANCELLED answers, {cancelled} of them to chained POLLs; {} cancels sent (Session::cancel, CANCEL), {} found their POLL parked",
            (t.errors.iter())
                .filter(|((code, _), _)| *code == ErrorCode::Cancelled.code())
                .map(|(_, n)| n)
                .sum::<u64>(),
            t.cancels,
            t.cancels_found
        );
        println!(
            "sessions        {} opened, {} closed, {} dropped",
            t.sessions_opened, t.sessions_closed, t.sessions_dropped
        );
        self.print_pose();
        self.print_errors();
        let c = &self.census;
        println!(
            "entities        bound {} spawned / {} indices; max {} / {}; at end {} / {}; {} Soak entities, writers own {}",
            c.bound,
            c.index_bound,
            c.max_spawned,
            c.max_allocated,
            self.end.0,
            self.end.1,
            self.soak_entities,
            self.owned
        );
        let [start, warm, end] = self.memory;
        let minutes = (self.elapsed.saturating_sub(self.warm_at)).as_secs_f64() / 60.0;
        let growth = (end.rss_kib as f64 - warm.rss_kib as f64) / 1024.0 / minutes;
        println!(
            "memory          VmRSS {} at start, {} after warm-up ({:.0} s), {} at end ({growth:+.1} MiB/min since warm-up); VmHWM {}",
            mib(start.rss_kib),
            mib(warm.rss_kib),
            self.warm_at.as_secs_f64(),
            mib(end.rss_kib),
            mib(end.hwm_kib)
        );
        for problem in &t.problems {
            println!("problem         {problem}");
        }
        if self.failures.is_empty() {
            println!("result          OK");
        } else {
            for failure in &self.failures {
                println!("FAILED          {failure}");
            }
        }
    }

    fn print_pose(&self) {
        let (s, p) = (&self.server, &self.pose);
        println!(
            "pose server     {} connections, {} frames sent, {} hang-ups",
            s.connections.load(Ordering::Relaxed),
            s.frames_sent.load(Ordering::Relaxed),
            s.hang_ups.load(Ordering::Relaxed)
        );
        println!(
            "pose client     {} connections, {} reconnects, {} frames received, {} applied, {} dropped (newest wins), latency mean {:.2} ms",
            p.connections,
            p.reconnects,
            p.frames_received,
            p.frames_applied,
            p.frames_dropped,
            p.latency_mean_ms.unwrap_or(f64::NAN)
        );
        println!(
            "pose observer   {} frames, {} out of order; last error {:?}",
            self.order.events.load(Ordering::Relaxed),
            self.order.backwards.load(Ordering::Relaxed),
            p.last_error
        );
    }

    fn print_errors(&self) {
        for expected in [true, false] {
            let label = if expected { "expected" } else { "unexpected" };
            let rows: Vec<_> = (self.tally.errors.iter())
                .filter(|((_, e), _)| *e == expected)
                .collect();
            if rows.is_empty() {
                println!("errors, {label:<10} none");
            }
            for (i, ((code, _), n)) in rows.into_iter().enumerate() {
                let name = ErrorCode::from_code(*code).map_or("?", ErrorCode::name);
                let head = if i == 0 {
                    format!("errors, {label}")
                } else {
                    String::new()
                };
                println!("{head:<19} {code:>7} {name:<22} {n:>10}");
            }
        }
    }
}

fn main() -> ExitCode {
    let args = match Args::parse() {
        Ok(args) => args,
        Err(message) if message.is_empty() => {
            println!("{}", Args::USAGE);
            return ExitCode::SUCCESS;
        }
        Err(message) => {
            eprintln!("soak: {message}\n{}", Args::USAGE);
            return ExitCode::from(2);
        }
    };
    count_panics();
    let report = soak(&args);
    report.print();
    if report.failures.is_empty() {
        ExitCode::SUCCESS
    } else {
        ExitCode::FAILURE
    }
}
