//! The checks at the end of the soak (docs/soak.md, "What fails the
//! run"): no wrong answer and no abusive connection left open too long,
//! `stats()` adding up and moved by each kind of abuse, memory flat, the
//! world's size bounded.

use crate::abusers::{BAD_TOKEN, EVIL_HOST, EVIL_ORIGIN, NEVER_READER, OVERSIZED, TIMED_OUT};
use crate::clients;
use crate::memory::mib;
use crate::report::Report;

/// Every failure of the run, one line each.
pub(crate) fn judge(report: &Report) -> Vec<String> {
    let mut failures = Vec::new();
    let mut fail = |bad: bool, what: String| {
        if bad {
            failures.push(what);
        }
    };
    let t = &report.tally;
    let problems = t.problem_count();
    fail(
        problems > 0,
        format!(
            "{problems} wrong answers or abusive connections not closed in time (problems above)"
        ),
    );
    fail(report.panics > 0, format!("{} panics", report.panics));
    for kind in clients::kinds() {
        fail(
            t.get(kind, "answers") == 0,
            format!("no {kind} client got an answer"),
        );
    }
    for (what, limit) in [
        ("max_in_flight refusals", "max_in_flight"),
        ("max_watches refusals", "max_watches"),
    ] {
        fail(
            t.get("ws", what) == 0,
            format!("no WebSocket session reached {limit}"),
        );
    }

    let s = &report.stats;
    fail(
        s.open_connections != 0,
        format!(
            "{} connections still open after every client left",
            s.open_connections
        ),
    );
    let seen = s.connections + s.refused_connections;
    fail(
        seen != report.connects,
        format!(
            "the clients made {} connections, the server counted {seen} (accepted and refused)",
            report.connects
        ),
    );
    // Each kind of abuse moves its counter, at least as far as the
    // clients saw it.
    let timed_out = TIMED_OUT
        .iter()
        .map(|kind| t.get(kind, "closed by the server"))
        .sum();
    let moved = [
        ("requests", s.requests, t.total("answers").min(1)),
        ("refused_connections", s.refused_connections, 1),
        (
            "oversized",
            s.oversized,
            t.get(OVERSIZED, "HTTP 413") + t.get(OVERSIZED, "close 1009"),
        ),
        (
            "slow_disconnects",
            s.slow_disconnects,
            t.get(NEVER_READER, "close 1008"),
        ),
        ("unauthorized", s.unauthorized, t.get(BAD_TOKEN, "refused")),
        (
            "forbidden",
            s.forbidden,
            t.get(EVIL_ORIGIN, "refused") + t.get(EVIL_HOST, "refused"),
        ),
        ("timeouts", s.timeouts, timed_out),
        (
            "busy",
            s.busy,
            t.total("busy (HTTP 503)") + t.total("busy (close 1013)"),
        ),
    ];
    for (name, count, observed) in moved {
        fail(
            count == 0 || count < observed,
            format!("stats().{name} is {count}; the clients saw {observed}"),
        );
    }

    let c = &report.census;
    if let Some(over) = &c.over {
        fail(true, format!("the world outgrew its bound: {over}"));
    }
    fail(
        report.owned_left > 0,
        format!(
            "{} entities of the clients left at the end",
            report.owned_left
        ),
    );
    match &report.memory {
        Some(m) => fail(
            !m.flat(),
            format!(
                "memory grew: max {} in the last quarter, over {} (the 2nd quarter's max {} + 32 MiB + 10%)",
                mib(m.last_quarter_max),
                mib(m.bound),
                mib(m.second_quarter_max)
            ),
        ),
        None => fail(true, "no memory samples".into()),
    }
    failures
}
