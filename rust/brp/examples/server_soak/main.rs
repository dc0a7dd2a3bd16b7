//! A soak of the HTTP/WebSocket server (not run in CI; see docs/soak.md,
//! `scripts/soak --server`).
//!
//! For a bounded time, a server with small limits (so that every one is
//! hit many times a minute) serves one embedded world, which a writer
//! thread keeps changing, to a mixed population of clients on 127.0.0.1:
//!
//! - **well-behaved** ones ([`clients`]): keep-alive HTTP in both
//!   dialects, POLLs woken by writes, streams of server-sent events,
//!   WebSocket sessions with many requests in flight, watches and CANCELs;
//!   each checks every answer it gets;
//! - **abusive** ones ([`abusers`]): idle, slow, unfinished, vanishing,
//!   never reading, oversized, from another origin or host, without the
//!   token, or too many at once; each checks what the server does about it.
//!
//! The process's resident memory is sampled every second. At the deadline
//! the clients finish, and [`checks`] judges the run: no wrong answer,
//! every abusive connection closed in time, `stats()` adding up, memory
//! flat, the world's size bounded. Exit status 1 with `FAILED` lines if
//! anything failed, 2 on a bad command line, 3 on a hang.
//!
//! `cargo run --release --locked -p brp --example server_soak -- --seconds 60`
//! (`scripts/soak --server --seconds 60`); `--seed S` repeats a run's
//! random choices (the seed is printed).

mod abusers;
mod checks;
mod clients;
mod ctx;
mod memory;
mod report;
mod scene;
mod settings;
mod tally;
mod wire;

use brp::server::{Server, ServerStats};
use ctx::Ctx;
use memory::{Memory, mib};
use report::Report;
use scene::Census;
use settings::Limits;
use std::process::ExitCode;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::mpsc;
use std::time::{Duration, Instant, SystemTime, UNIX_EPOCH};
use tokio::task::JoinSet;

/// How long after the deadline the clients may take to finish, and the
/// server to stop, before the soak reports a hang.
const HANG_GRACE: Duration = Duration::from_secs(30);

/// How often a progress line is printed.
const PROGRESS_EVERY: Duration = Duration::from_secs(10);

/// How long, once the clients are done, the server may take to close
/// their connections and count every one.
const SETTLE: Duration = Duration::from_secs(10);

/// Panics anywhere in the process, including those the library catches.
static PANICS: AtomicU64 = AtomicU64::new(0);

/// The command line: `[--seconds N] [--seed S]`.
struct Args {
    seconds: u64,
    seed: u64,
}

impl Args {
    const USAGE: &str = "usage: server_soak [--seconds N (at least 30, default 600)] [--seed S]";

    fn parse() -> Result<Self, String> {
        let mut args = Self {
            seconds: 600,
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
                "--seed" => args.seed = value()?,
                "-h" | "--help" => return Err(String::new()),
                other => return Err(format!("unknown argument {other}")),
            }
        }
        if args.seconds < 30 {
            return Err(
                "--seconds must be at least 30: a shorter run cannot hit every limit".into(),
            );
        }
        Ok(args)
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
            eprintln!("server_soak: {message}\n{}", Args::USAGE);
            return ExitCode::from(2);
        }
    };
    let report = std::panic::take_hook();
    std::panic::set_hook(Box::new(move |info| {
        PANICS.fetch_add(1, Ordering::SeqCst);
        report(info);
    }));
    match soak(&args) {
        Ok(report) => {
            report.print();
            if report.failures.is_empty() {
                ExitCode::SUCCESS
            } else {
                ExitCode::FAILURE
            }
        }
        Err(message) => {
            eprintln!("server_soak: {message}");
            ExitCode::FAILURE
        }
    }
}

/// Runs the soak: the scene, the writer and the server, then every client
/// until the deadline; then waits for the server to settle and checks.
fn soak(args: &Args) -> Result<Report, String> {
    let mut memory = Memory::new();
    let limits = Limits::new();
    let (host, fixed) = scene::build()?;
    let server = Server::start(&host, limits.config.clone()).map_err(|e| e.message)?;
    println!(
        "== server soak: {} s, seed {}, server on {} with {}",
        args.seconds,
        args.seed,
        server.address(),
        serde_json::to_string(&limits.config).map_err(|e| e.to_string())?
    );
    let run = Duration::from_secs(args.seconds);
    let started = Instant::now();
    let deadline = started + run;
    let ctx = Arc::new(Ctx::new(server.address(), limits, fixed, deadline));
    let stop_writer = Arc::new(AtomicBool::new(false));
    let writer = scene::writer(&host, Arc::clone(&stop_writer), args.seed);
    let mut census = Census::new(&host, clients::owned_max() + abusers::owned_max());
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .thread_name("soak-client")
        .enable_all()
        .build()
        .map_err(|e| e.to_string())?;
    let task_panics = runtime.block_on(async {
        let mut tasks = JoinSet::new();
        clients::start(&ctx, &mut tasks, args.seed);
        abusers::start(&ctx, &mut tasks, args.seed);
        monitor(&ctx, &host, &server, started, &mut census, &mut memory).await;
        let joined = tokio::time::timeout(HANG_GRACE, async {
            let mut panics = 0;
            while let Some(joined) = tasks.join_next().await {
                panics += u64::from(joined.is_err());
            }
            panics
        });
        joined.await
    });
    let Ok(task_panics) = task_panics else {
        eprintln!(
            "server_soak: HANG: {} s after the deadline, still running: {:?}",
            HANG_GRACE.as_secs(),
            ctx.running()
        );
        std::process::exit(3);
    };
    drop(runtime);
    let elapsed = started.elapsed();
    stop_writer.store(true, Ordering::Relaxed);
    let mut tally = ctx.take_tally();
    match writer.join() {
        Ok(writes) => tally.merge(writes),
        Err(_) => tally.problem("writer", "the writer thread panicked".into()),
    }
    let stats = settle(&server);
    let connects = wire::CONNECTS.load(Ordering::Relaxed);
    census.sample(&host, elapsed);
    let owned_left = owned_left(&host);
    let (done, watchdog) = watchdog(ctx.limits.stop_timeout + HANG_GRACE, "stopping the server");
    server.stop();
    let _ = done.send(());
    let _ = watchdog.join();
    let mut report = Report {
        elapsed,
        tally,
        stats,
        connects,
        census,
        owned_left,
        memory: memory.summary(run),
        panics: PANICS.load(Ordering::SeqCst) + task_panics,
        failures: Vec::new(),
    };
    report.failures = checks::judge(&report);
    Ok(report)
}

/// Until the deadline: samples memory and the world every second, and
/// prints a progress line every [`PROGRESS_EVERY`].
async fn monitor(
    ctx: &Ctx,
    host: &brp::Host,
    server: &Server,
    started: Instant,
    census: &mut Census,
    memory: &mut Memory,
) {
    let mut next_progress = PROGRESS_EVERY;
    while !ctx.over() {
        ctx.pause(Duration::from_secs(1)).await;
        let at = started.elapsed();
        let resident = memory.sample(at);
        let spawned = census.sample(host, at);
        if at >= next_progress {
            next_progress += PROGRESS_EVERY;
            let answers = tally::ANSWERS.load(Ordering::Relaxed);
            println!(
                "[{:>4.0} s] {answers} answers checked ({:.0}/s), {} connections open, {spawned} entities (max {}), {} problems, RSS {}",
                at.as_secs_f64(),
                answers as f64 / at.as_secs_f64(),
                server.stats().open_connections,
                census.max_spawned,
                tally::PROBLEMS.load(Ordering::Relaxed),
                mib(resident),
            );
        }
    }
}

/// The server's statistics once every connection the clients made is
/// counted and closed, or [`SETTLE`] has passed.
fn settle(server: &Server) -> ServerStats {
    let until = Instant::now() + SETTLE;
    loop {
        let stats = server.stats();
        let seen = stats.connections + stats.refused_connections;
        let settled = stats.open_connections == 0 && seen == wire::CONNECTS.load(Ordering::Relaxed);
        if settled || Instant::now() >= until {
            return stats;
        }
        std::thread::sleep(Duration::from_millis(50));
    }
}

/// How many `Owned` entities are left in the world.
fn owned_left(host: &brp::Host) -> usize {
    let query =
        r#"{"id": 1, "request": "QUERY", "params": {"data": {}, "filter": {"with": ["Owned"]}}}"#;
    let answer: serde_json::Value = serde_json::from_str(&host.request(query)).unwrap_or_default();
    answer["response"]["entities"]
        .as_array()
        .map_or(usize::MAX, Vec::len)
}

/// Reports a hang in `what` and exits (code 3) unless signalled within
/// `grace`.
fn watchdog(
    grace: Duration,
    what: &'static str,
) -> (mpsc::Sender<()>, std::thread::JoinHandle<()>) {
    let (done, wait) = mpsc::channel::<()>();
    let thread = std::thread::spawn(move || {
        if let Err(mpsc::RecvTimeoutError::Timeout) = wait.recv_timeout(grace) {
            eprintln!(
                "server_soak: HANG: {what} took more than {} s",
                grace.as_secs()
            );
            std::process::exit(3);
        }
    });
    (done, thread)
}
