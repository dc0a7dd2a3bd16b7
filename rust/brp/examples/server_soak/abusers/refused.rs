//! Requests the server must refuse: bodies and messages over
//! `max_request_bytes` (HTTP 413, close 1009), a browser's request from
//! another origin or naming another `Host` (403), a missing or wrong token
//! (401), and connections over `max_connections`.

use super::{never_watermark, seed};
use crate::ctx::{Ctx, Rng};
use crate::settings::TOKEN;
use crate::tally::Tally;
use crate::wire::{Ended, Http, Lost, NoSocket, connect, message, post_text, websocket};
use futures_util::SinkExt;
use serde_json::json;
use std::time::{Duration, Instant};
use tokio_tungstenite::tungstenite::Message;

pub(crate) const OVERSIZED: &str = "oversized";
pub(crate) const EVIL_ORIGIN: &str = "evil-origin";
pub(crate) const EVIL_HOST: &str = "evil-host";
pub(crate) const BAD_TOKEN: &str = "bad-token";
pub(crate) const CROWD: &str = "crowd";

const PING: &str = r#"{"id": 1, "request": "PING"}"#;

/// The error code of a POLL that timed out (docs/protocol.md).
const TIMEOUT: i64 = -23407;
const EVIL: &str = "evil.example";
const EVIL_URL: &str = "http://evil.example";

/// A PING padded past `max_request_bytes`, over HTTP (413) or as a
/// WebSocket message (close 1009). While the hoarders hold
/// `max_request_bytes_total`, it may be refused sooner, as busy (503,
/// 1013): the server charges a body's bytes to the budget as they come.
pub(super) async fn oversized(ctx: &Ctx, rng: &mut Rng, tally: &mut Tally) {
    let length = ctx.limits.config.max_request_bytes + rng.between(1, 1000) as usize;
    let body = format!("{PING}{}", " ".repeat(length - PING.len()));
    if rng.chance(50) {
        let Ok(mut http) = Http::open(ctx).await else {
            return;
        };
        match http.post(&body, &[]).await {
            Ok(reply) if reply.status == 413 => tally.count(OVERSIZED, "HTTP 413"),
            // Refused sooner: its bytes were more than the budget had left.
            Ok(reply) if reply.status == 503 => tally.count(OVERSIZED, "busy (HTTP 503)"),
            Ok(reply) => tally.problem(
                OVERSIZED,
                format!("HTTP {} to {length} bytes", reply.status),
            ),
            Err(Lost::Closed) => tally.count(OVERSIZED, "closed before a reply (max_connections)"),
            Err(lost) => tally.problem(OVERSIZED, format!("{lost} after {length} bytes")),
        }
    } else {
        let Ok(mut socket) = websocket(ctx, &[], false).await else {
            return;
        };
        if socket.send(Message::text(body)).await.is_err() {
            return tally.count(OVERSIZED, "closed before the message went");
        }
        match message(&mut socket).await {
            Err(Ended::Closed(Some(1009))) => tally.count(OVERSIZED, "close 1009"),
            Err(Ended::Closed(Some(1013))) => tally.count(OVERSIZED, "busy (close 1013)"),
            Err(Ended::Closed(Some(1000))) if ctx.crowded() => {
                tally.count(OVERSIZED, "closed while idle (max_connections)");
            }
            Err(Ended::Dropped(_)) => tally.count(OVERSIZED, "closed without a close frame"),
            Ok(message) => tally.problem(OVERSIZED, format!("{length} bytes answered {message:?}")),
            Err(ended) => tally.problem(OVERSIZED, format!("{length} bytes: {ended}")),
        }
    }
}

/// Checks the status of a refused request or upgrade against `wanted`;
/// `None`: closed before a reply, at `max_connections`.
fn refusal(kind: &'static str, status: Option<u16>, wanted: u16, tally: &mut Tally) {
    match status {
        Some(status) if status == wanted => tally.count(kind, "refused"),
        Some(status) => tally.problem(kind, format!("answered {status}, not {wanted}")),
        None => tally.count(kind, "closed before a reply (max_connections)"),
    }
}

/// The status a POST on a new connection gets, with `host` as its Host
/// header and `extra` headers; `None` if closed before a reply.
async fn status(
    ctx: &Ctx,
    host: String,
    extra: &[(&str, &str)],
    tally: &mut Tally,
    kind: &'static str,
) -> Option<u16> {
    let stream = connect(ctx, false).await.ok()?;
    let mut http = Http::on(stream, host);
    match http.post(PING, extra).await {
        Ok(reply) => Some(reply.status),
        Err(Lost::Closed) => None,
        Err(lost) => {
            tally.problem(kind, format!("{lost}"));
            None
        }
    }
}

/// The status a WebSocket upgrade with `extra` headers gets (101 when it
/// succeeds); `None` if closed before a reply.
async fn upgrade(ctx: &Ctx, extra: &[(&'static str, &str)]) -> Option<u16> {
    match websocket(ctx, extra, false).await {
        Ok(_) => Some(101),
        Err(NoSocket::Status(status)) => Some(status),
        Err(_) => None,
    }
}

/// A browser-like request from an origin not in `allowed_origins`, over
/// HTTP or as an upgrade: 403.
pub(super) async fn evil_origin(ctx: &Ctx, rng: &mut Rng, tally: &mut Tally) {
    let status = if rng.chance(50) {
        status(ctx, ctx.host(), &[("Origin", EVIL_URL)], tally, EVIL_ORIGIN).await
    } else {
        upgrade(ctx, &[("origin", EVIL_URL)]).await
    };
    refusal(EVIL_ORIGIN, status, 403, tally);
}

/// A request naming a host not in `allowed_hosts` (DNS rebinding), over
/// HTTP or as an upgrade: 403.
pub(super) async fn evil_host(ctx: &Ctx, rng: &mut Rng, tally: &mut Tally) {
    let status = if rng.chance(50) {
        status(ctx, EVIL.to_owned(), &[], tally, EVIL_HOST).await
    } else {
        upgrade(ctx, &[("host", EVIL)]).await
    };
    refusal(EVIL_HOST, status, 403, tally);
}

/// A request or upgrade with no token, a wrong one, or one cut short:
/// 401.
pub(super) async fn bad_token(ctx: &Ctx, rng: &mut Rng, tally: &mut Tally) {
    let token = *rng.pick(&["", "Bearer wrong", "Bearer soak-toke", "soak-token"]);
    let status = if rng.chance(50) {
        let Ok(stream) = connect(ctx, false).await else {
            return;
        };
        let mut http = Http::on(stream, ctx.host());
        let given = if token.is_empty() {
            String::new()
        } else {
            format!("Authorization: {token}\r\n")
        };
        let text = post_text(&ctx.host(), PING, &[]).replacen(
            &format!("Authorization: Bearer {TOKEN}\r\n"),
            &given,
            1,
        );
        match http.write(text.as_bytes()).await {
            Ok(()) => http.reply().await.ok().map(|reply| reply.status),
            Err(_) => None,
        }
    } else {
        upgrade(ctx, &[("authorization", token)]).await
    };
    refusal(BAD_TOKEN, status, 401, tally);
}

/// Connections the crowd opens beyond `max_connections`.
const BEYOND: usize = 8;

/// How long a crowd's POLLs stay parked.
const CROWD_POLL: Duration = Duration::from_millis(500);

/// `max_connections` and [`BEYOND`] more connections at once, each parking
/// a POLL (on `Never`, with a short timeout). None of them is idle, so a
/// new one only takes the slot of an idle connection elsewhere, or is
/// closed at once (docs/server.md, "Safe by default"): the server holds at
/// most `max_connections`, so no more of them than that have their POLL
/// time out, besides one for each refused as busy (503, which frees its
/// slot). That holds if every POLL was sent before the first timed out.
pub(super) async fn crowd(ctx: &Ctx, rng: &mut Rng, tally: &mut Tally) {
    ctx.pause(rng.millis(3000, 6000)).await;
    if ctx.over() {
        return;
    }
    let watermark = match Http::open(ctx).await {
        Ok(mut http) => never_watermark(&mut http).await,
        Err(_) => None,
    };
    let Some(watermark) = watermark else {
        return tally.count(CROWD, "could not begin");
    };
    let timeout = CROWD_POLL.as_millis() as u64;
    let params =
        json!({"data": {"components": ["Never"]}, "watermark": watermark, "timeout_ms": timeout});
    let poll = post_text(&ctx.host(), &seed(2, "POLL", params), &[]);
    let _crowd = ctx.crowd();
    let count = ctx.limits.config.max_connections + BEYOND;
    let began = Instant::now();
    let mut crowd = Vec::new();
    for _ in 0..count {
        if let Ok(stream) = connect(ctx, false).await {
            let mut http = Http::on(stream, ctx.host());
            let written = http.write(poll.as_bytes()).await.is_ok();
            crowd.push((http, written));
        }
    }
    let together = began.elapsed() < CROWD_POLL;
    let (mut held, mut busy) = (0, 0);
    let mut unanswered = count - crowd.len();
    for (http, written) in &mut crowd {
        let reply = match written {
            true => http.reply().await,
            false => Err(Lost::Closed),
        };
        match reply.map(|reply| (reply.status, reply.json())) {
            Ok((200, Ok(answer))) if answer["error"]["code"] == TIMEOUT => held += 1,
            Ok((503, _)) => busy += 1,
            Ok((status, answer)) => {
                tally.problem(CROWD, format!("HTTP {status} to a POLL: {answer:?}"))
            }
            Err(Lost::Closed) => unanswered += 1,
            Err(lost) => tally.problem(CROWD, format!("{lost} after a POLL")),
        }
    }
    tally.add(CROWD, "POLLs held to their timeout", held);
    tally.add(
        CROWD,
        "closed unanswered (max_connections)",
        unanswered as u64,
    );
    tally.add(CROWD, "busy (HTTP 503)", busy);
    let max = ctx.limits.config.max_connections as u64;
    if !together {
        tally.count(CROWD, "too slow to judge");
    } else if held > max + busy {
        let what =
            format!("{held} POLLs held at once, over max_connections {max} (and {busy} busy)");
        tally.problem(CROWD, what);
    }
}
