//! The well-behaved clients. Each knows the one right answer (or the set
//! of right answers) to every request it sends, and counts any other as a
//! problem: the scene's fixed entities read back exactly, its own entities
//! (which only it touches) as it wrote them, the writer's within their
//! bounds. What the server may do to them under load is counted, not a
//! problem: HTTP 503 or close 1013 while `max_request_bytes_total` is
//! held, and, while a crowd has it at `max_connections`, a connection
//! closed at once or closed while idle to make room.

mod http;
mod requests;
mod sse;
mod ws;

pub(crate) use requests::OWN_MAX;

use crate::ctx::{Ctx, Rng};
use std::sync::Arc;
use tokio::task::JoinSet;

/// How many tasks run each kind of well-behaved client.
const KINDS: [(&str, usize); 4] = [
    (http::KIND, 4),
    (http::PAIR, 2),
    (sse::KIND, 2),
    (ws::KIND, 3),
];

/// The most entities the well-behaved clients own at once.
pub(crate) fn owned_max() -> usize {
    KINDS.iter().map(|(_, tasks)| tasks).sum::<usize>() * OWN_MAX
}

/// Whether `kind` is a well-behaved client's.
pub(crate) fn is_client(kind: &str) -> bool {
    KINDS.iter().any(|(name, _)| *name == kind)
}

/// The kinds of well-behaved clients.
pub(crate) fn kinds() -> impl Iterator<Item = &'static str> {
    KINDS.iter().map(|(name, _)| *name)
}

/// Starts every well-behaved client on `tasks`; they run until the
/// deadline.
pub(crate) fn start(ctx: &Arc<Ctx>, tasks: &mut JoinSet<()>, seed: u64) {
    let mut owner = 0;
    for (kind, count) in KINDS {
        for _ in 0..count {
            owner += 1;
            let (ctx2, rng) = (Arc::clone(ctx), Rng::new(seed ^ (owner * 0x51_7CC1)));
            let name = format!("{kind}-{owner}");
            match kind {
                http::KIND => ctx.spawn(tasks, name, http::keep_alive(ctx2, owner, rng)),
                http::PAIR => ctx.spawn(tasks, name, http::poll_pair(ctx2, owner, rng)),
                sse::KIND => ctx.spawn(tasks, name, sse::watcher(ctx2, owner, rng)),
                _ => ctx.spawn(tasks, name, ws::sessions(ctx2, owner, rng)),
            }
        }
    }
}
