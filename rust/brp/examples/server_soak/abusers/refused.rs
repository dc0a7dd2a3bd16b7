//! Requests the server must refuse: bodies and messages over
//! `max_request_bytes` (HTTP 413, close 1009), a browser's request from
//! another origin (403), another `Host` (403 or 400), a missing or wrong
//! token (401), and connections over `max_connections` (closed at once).

use crate::ctx::{Ctx, Rng};
use crate::tally::Tally;
use crate::wire::{Ended, Http, Lost, NoSocket, connect, message, post_text, websocket};
use futures_util::SinkExt;
use tokio_tungstenite::tungstenite::Message;

pub(crate) const OVERSIZED: &str = "oversized";
pub(crate) const EVIL_ORIGIN: &str = "evil-origin";
pub(crate) const EVIL_HOST: &str = "evil-host";
pub(crate) const BAD_TOKEN: &str = "bad-token";
pub(crate) const CROWD: &str = "crowd";

const PING: &str = r#"{"id": 1, "request": "PING"}"#;
const EVIL: &str = "evil.example";
const EVIL_URL: &str = "http://evil.example";

/// A PING padded past `max_request_bytes`, over HTTP (413) or as a
/// WebSocket message (close 1009).
pub(super) async fn oversized(ctx: &Ctx, rng: &mut Rng, tally: &mut Tally) {
    let length = ctx.limits.max_request_bytes + rng.between(1, 1000) as usize;
    let body = format!("{PING}{}", " ".repeat(length - PING.len()));
    if rng.chance(50) {
        let Ok(mut http) = Http::open(ctx).await else {
            return;
        };
        match http.post(&body, &[]).await {
            Ok(reply) if reply.status == 413 => tally.count(OVERSIZED, "HTTP 413"),
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
            Err(Ended::Dropped(_)) => tally.count(OVERSIZED, "closed without a close frame"),
            Ok(message) => tally.problem(OVERSIZED, format!("{length} bytes answered {message:?}")),
            Err(ended) => tally.problem(OVERSIZED, format!("{length} bytes: {ended}")),
        }
    }
}

/// Checks the status of a refused request or upgrade: `wanted` when the
/// server has the setting (`set`), else whatever it answered is counted.
fn refusal(kind: &'static str, set: bool, status: Option<u16>, wanted: &[u16], tally: &mut Tally) {
    match status {
        Some(status) if set && wanted.contains(&status) => tally.count(kind, "refused"),
        None => tally.count(kind, "closed before a reply (max_connections)"),
        _ if set => tally.problem(kind, format!("answered {status:?}, not {wanted:?}")),
        _ => tally.count(kind, "answered (its setting is not there yet)"),
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

/// A browser-like request from another origin, over HTTP or as an
/// upgrade: 403 (`allowed_origins`).
pub(super) async fn evil_origin(ctx: &Ctx, rng: &mut Rng, tally: &mut Tally) {
    let set = ctx.limits.origins;
    let status = if rng.chance(50) {
        status(ctx, ctx.host(), &[("Origin", EVIL_URL)], tally, EVIL_ORIGIN).await
    } else {
        upgrade(ctx, &[("origin", EVIL_URL)]).await
    };
    refusal(EVIL_ORIGIN, set, status, &[403], tally);
}

/// A request naming another host, over HTTP or as an upgrade: 403 or 400
/// (`allowed_hosts`).
pub(super) async fn evil_host(ctx: &Ctx, rng: &mut Rng, tally: &mut Tally) {
    let set = ctx.limits.hosts;
    let status = if rng.chance(50) {
        status(ctx, EVIL.to_owned(), &[], tally, EVIL_HOST).await
    } else {
        upgrade(ctx, &[("host", EVIL)]).await
    };
    refusal(EVIL_HOST, set, status, &[403, 400], tally);
}

/// A request or upgrade with no token, a wrong one, or one cut short:
/// 401 with `WWW-Authenticate: Bearer`.
pub(super) async fn bad_token(ctx: &Ctx, rng: &mut Rng, tally: &mut Tally) {
    let token = *rng.pick(&["", "Bearer wrong", "Bearer soak-toke", "soak-token"]);
    let status = if rng.chance(50) {
        let Ok(stream) = connect(ctx, false).await else {
            return;
        };
        let mut http = Http::on(stream, ctx.host());
        let text = post_text(&ctx.host(), PING, &[]).replacen(
            &format!("Authorization: Bearer {}\r\n", crate::settings::TOKEN),
            &if token.is_empty() {
                String::new()
            } else {
                format!("Authorization: {token}\r\n")
            },
            1,
        );
        match http.write(text.as_bytes()).await {
            Ok(()) => match http.reply().await {
                Ok(reply) => Some(reply.status),
                Err(_) => None,
            },
            Err(_) => None,
        }
    } else {
        upgrade(ctx, &[("authorization", token)]).await
    };
    refusal(BAD_TOKEN, true, status, &[401], tally);
}

/// `max_connections` and a few more connections at once, each with a
/// PING: those over the limit are closed at once, unanswered.
pub(super) async fn crowd(ctx: &Ctx, rng: &mut Rng, tally: &mut Tally) {
    ctx.pause(rng.millis(2000, 5000)).await;
    let mut crowd = Vec::new();
    for _ in 0..ctx.limits.max_connections + 8 {
        if let Ok(stream) = connect(ctx, false).await {
            crowd.push(Http::on(stream, ctx.host()));
        }
    }
    let ping = post_text(&ctx.host(), PING, &[("Connection", "close")]);
    let mut sent = Vec::new();
    for mut http in crowd {
        let written = http.write(ping.as_bytes()).await.is_ok();
        sent.push((http, written));
    }
    let mut refused = 0;
    for (http, written) in &mut sent {
        let reply = match written {
            true => http.reply().await,
            false => Err(Lost::Closed),
        };
        match reply {
            Ok(reply) if reply.status == 200 => tally.count(CROWD, "answered"),
            Ok(reply) => tally.problem(CROWD, format!("HTTP {} to a PING", reply.status)),
            Err(Lost::Closed) => refused += 1,
            Err(lost) => tally.problem(CROWD, format!("{lost} after a PING")),
        }
    }
    tally.add(CROWD, "refused (max_connections)", refused);
}
