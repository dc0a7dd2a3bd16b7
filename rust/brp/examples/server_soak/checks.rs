//! The checks at the end of the soak (docs/soak.md, "What fails the
//! run"): no wrong answer and no abusive connection left open too long,
//! `stats()` adding up and moved by each kind of abuse, memory flat, the
//! world's size bounded.

use crate::abusers::{BAD_TOKEN, CROWD, EVIL_ORIGIN, NEVER_READER, OVERSIZED, TIMED_OUT};
use crate::clients;
use crate::memory::mib;
use crate::report::Report;
use crate::settings::Limits;

/// Every failure of the run, one line each.
pub(crate) fn judge(report: &Report, limits: &Limits) -> Vec<String> {
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

    let stat = |name| report.stats.get(name);
    let open = stat("open_connections").unwrap_or(u64::MAX);
    fail(
        open != 0,
        format!("{open} connections still open after every client left"),
    );
    let seen = stat("connections").unwrap_or(0) + stat("refused_connections").unwrap_or(0);
    fail(
        seen != report.connects,
        format!(
            "the clients made {} connections, the server counted {seen} (accepted and refused)",
            report.connects
        ),
    );
    // Each kind of abuse moves its counter, at least as far as the
    // clients saw it.
    let busy = t.total("busy (HTTP 503)") + t.total("busy (close 1013)");
    let timed_out = TIMED_OUT
        .iter()
        .map(|kind| t.get(kind, "closed by the server"))
        .sum();
    let moved = [
        (
            "refused_connections",
            t.get(CROWD, "refused (max_connections)"),
            true,
        ),
        (
            "oversized",
            t.get(OVERSIZED, "HTTP 413") + t.get(OVERSIZED, "close 1009"),
            true,
        ),
        (
            "slow_disconnects",
            t.get(NEVER_READER, "closed by the server"),
            true,
        ),
        ("unauthorized", t.get(BAD_TOKEN, "refused"), true),
        ("forbidden", t.get(EVIL_ORIGIN, "refused"), limits.origins),
        ("timeouts", timed_out, true),
        ("busy", busy, limits.max_request_bytes_total.is_some()),
    ];
    for (name, observed, applies) in moved {
        match stat(name) {
            Some(count) if applies => fail(
                count == 0 || count < observed,
                format!("stats().{name} is {count}; the clients saw {observed}"),
            ),
            _ => {}
        }
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
