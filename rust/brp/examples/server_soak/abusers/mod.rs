//! The abusive clients: connections that idle, send slowly or never
//! finish, vanish, never read, send too much, come from the wrong origin
//! or host or without the token, or come in a crowd. Each checks what the
//! server must do about it (docs/server.md, docs/limits.md): close the
//! connection within a generous bound of the timeout that applies, or
//! refuse with the right status or close code.

mod gone;
mod refused;
mod slow;

use crate::ctx::{Ctx, Rng};
use crate::settings::bound;
use crate::tally::Tally;
use crate::wire::{Http, closed};
use serde_json::{Value, json};
use std::sync::Arc;
use std::time::{Duration, Instant};
use tokio::io::AsyncRead;
use tokio::task::JoinSet;

/// How many tasks run each kind of abuse.
const KINDS: [(&str, usize); 15] = [
    (slow::IDLE_HTTP, 2),
    (slow::IDLE_KEPT_ALIVE, 2),
    (slow::IDLE_WS, 2),
    (slow::SLOW_HEADERS, 2),
    (slow::SLOW_BODY, 2),
    (slow::SLOW_WS_MESSAGE, 1),
    (slow::HOARDER, 4),
    (gone::PIPELINED, 2),
    (gone::VANISHER, 2),
    (gone::NEVER_READER, 1),
    (refused::OVERSIZED, 1),
    (refused::EVIL_ORIGIN, 1),
    (refused::EVIL_HOST, 1),
    (refused::BAD_TOKEN, 1),
    (refused::CROWD, 1),
];

/// The kinds whose connections the server closes by a timeout (header,
/// idle or body): each such close counts in `stats().timeouts`.
pub(crate) const TIMED_OUT: [&str; 7] = [
    slow::IDLE_HTTP,
    slow::IDLE_KEPT_ALIVE,
    slow::IDLE_WS,
    slow::SLOW_HEADERS,
    slow::SLOW_BODY,
    slow::SLOW_WS_MESSAGE,
    slow::HOARDER,
];

pub(crate) use gone::NEVER_READER;
pub(crate) use refused::{BAD_TOKEN, EVIL_HOST, EVIL_ORIGIN, OVERSIZED};

/// The most entities the abusers own at once (decoys of the pipelined
/// watches).
pub(crate) fn owned_max() -> usize {
    KINDS
        .iter()
        .filter(|(kind, _)| *kind == gone::PIPELINED)
        .map(|(_, n)| n)
        .sum()
}

/// Starts every abuser on `tasks`; they run until the deadline.
pub(crate) fn start(ctx: &Arc<Ctx>, tasks: &mut JoinSet<()>, seed: u64) {
    let mut index: u64 = 0;
    for (kind, count) in KINDS {
        for _ in 0..count {
            index += 1;
            let ctx2 = Arc::clone(ctx);
            let mut rng = Rng::new(seed ^ (index << 32) ^ 0xAB05E);
            // Owners of abusers' entities are apart from the clients'.
            let owner = 1_000 + index;
            ctx.spawn(tasks, format!("{kind}-{index}"), async move {
                while !ctx2.over() {
                    let mut tally = Tally::default();
                    tally.count(kind, "runs");
                    match kind {
                        slow::IDLE_HTTP => slow::idle_http(&ctx2, &mut tally).await,
                        slow::IDLE_KEPT_ALIVE => slow::idle_kept_alive(&ctx2, &mut tally).await,
                        slow::IDLE_WS => slow::idle_ws(&ctx2, &mut tally).await,
                        slow::SLOW_HEADERS => slow::slow_headers(&ctx2, &mut rng, &mut tally).await,
                        slow::SLOW_BODY => slow::slow_body(&ctx2, &mut rng, &mut tally).await,
                        slow::SLOW_WS_MESSAGE => {
                            slow::slow_ws_message(&ctx2, &mut rng, &mut tally).await
                        }
                        slow::HOARDER => slow::hoarder(&ctx2, &mut rng, &mut tally).await,
                        gone::PIPELINED => {
                            gone::pipelined(&ctx2, owner, &mut rng, &mut tally).await
                        }
                        gone::VANISHER => gone::vanisher(&ctx2, &mut rng, &mut tally).await,
                        gone::NEVER_READER => gone::never_reader(&ctx2, &mut rng, &mut tally).await,
                        refused::OVERSIZED => refused::oversized(&ctx2, &mut rng, &mut tally).await,
                        refused::EVIL_ORIGIN => {
                            refused::evil_origin(&ctx2, &mut rng, &mut tally).await
                        }
                        refused::EVIL_HOST => refused::evil_host(&ctx2, &mut rng, &mut tally).await,
                        refused::BAD_TOKEN => refused::bad_token(&ctx2, &mut rng, &mut tally).await,
                        _ => refused::crowd(&ctx2, &mut rng, &mut tally).await,
                    }
                    ctx2.record(tally);
                    ctx2.pause(rng.millis(0, 300)).await;
                }
            });
        }
    }
}

/// A seed-dialect request.
fn seed(id: u64, request: &str, params: Value) -> String {
    json!({"id": id, "request": request, "params": params}).to_string()
}

/// POSTs `text` on a new connection (a few tries, if refused); the answer.
async fn ask(ctx: &Ctx, text: &str) -> Option<Value> {
    for _ in 0..20 {
        if let Ok(mut http) = Http::open(ctx).await
            && let Ok(reply) = http.post(text, &[]).await
            && reply.status == 200
        {
            return reply.json().ok();
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    None
}

/// The watermark with which a POLL on `Never` parks, from a POLL on `http`.
async fn never_watermark(http: &mut Http) -> Option<String> {
    let never = seed(1, "POLL", json!({"data": {"components": ["Never"]}}));
    let reply = http.post(&never, &[]).await.ok()?;
    Some(
        reply.json().ok()?["response"]["watermark"]
            .as_str()?
            .to_owned(),
    )
}

/// Waits for the server to close `stream`, which abuses it since `since`
/// in a way that `timeout` ends, and notes how long it took for `kind`.
/// Closed long before the timeout, it was turned away at
/// `max_connections` (at once, or closed while idle to make room), and
/// HTTP 503 is a refusal over `max_request_bytes_total`.
async fn expect_close(
    kind: &'static str,
    stream: &mut (impl AsyncRead + Unpin),
    since: Instant,
    timeout: Duration,
    tally: &mut Tally,
) {
    let bound = bound(timeout);
    let closed = closed(stream, since, bound).await;
    match (closed.status, closed.after) {
        (Some(503), _) => tally.count(kind, "busy (HTTP 503)"),
        (None, Some(after)) if after < timeout / 2 => {
            tally.count(kind, "closed early (max_connections)");
        }
        (_, after) => tally.closed(kind, after, bound),
    }
}
