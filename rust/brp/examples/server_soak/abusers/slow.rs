//! Connections that idle or send slowly: each must be closed by the
//! timeout that applies (`idle_timeout_ms`, `header_timeout_ms` from a
//! head's first byte, `body_timeout_ms`: docs/limits.md), and request
//! bodies held at once beyond `max_request_bytes_total` must be refused
//! with HTTP 503.

use super::expect_close;
use crate::ctx::{Ctx, Rng};
use crate::tally::Tally;
use crate::wire::{Http, connect, frame_head, post_text, websocket};
use std::time::{Duration, Instant};
use tokio::io::{AsyncWrite, AsyncWriteExt};

pub(super) const IDLE_HTTP: &str = "idle-http";
pub(super) const IDLE_KEPT_ALIVE: &str = "idle-kept-alive";
pub(super) const IDLE_WS: &str = "idle-ws";
pub(super) const SLOW_HEADERS: &str = "slow-headers";
pub(super) const SLOW_BODY: &str = "slow-body";
pub(super) const SLOW_WS_MESSAGE: &str = "slow-ws-message";
pub(super) const HOARDER: &str = "hoarder";

/// A PING padded to `length` bytes.
fn padded_ping(length: usize) -> String {
    let ping = r#"{"id": 1, "request": "PING"}"#;
    format!("{ping}{}", " ".repeat(length.saturating_sub(ping.len())))
}

/// Writes `bytes` `piece` at a time, `gap` apart, then waits for ever:
/// beside a read that sees the server close the connection.
async fn trickle(
    writer: &mut (impl AsyncWrite + Unpin),
    bytes: &[u8],
    piece: usize,
    gap: Duration,
) {
    for piece in bytes.chunks(piece) {
        if writer.write_all(piece).await.is_err() {
            break;
        }
        tokio::time::sleep(gap).await;
    }
    std::future::pending::<()>().await;
}

/// A connection that never sends a byte: closed after the idle timeout.
pub(super) async fn idle_http(ctx: &Ctx, tally: &mut Tally) {
    let Ok(mut stream) = connect(ctx, false).await else {
        return tally.count(IDLE_HTTP, "could not connect");
    };
    let timeout = ctx.limits.idle_timeout;
    expect_close(IDLE_HTTP, &mut stream, Instant::now(), timeout, tally).await;
}

/// One PING answered, then nothing: closed after the idle timeout.
pub(super) async fn idle_kept_alive(ctx: &Ctx, tally: &mut Tally) {
    let Ok(mut http) = Http::open(ctx).await else {
        return tally.count(IDLE_KEPT_ALIVE, "could not connect");
    };
    match http.post(r#"{"id": 1, "request": "PING"}"#, &[]).await {
        Ok(reply) if reply.status == 200 => {}
        Ok(reply) if reply.status == 503 => return tally.count(IDLE_KEPT_ALIVE, "busy (HTTP 503)"),
        Ok(reply) => {
            return tally.problem(IDLE_KEPT_ALIVE, format!("HTTP {} to a PING", reply.status));
        }
        Err(_) => return tally.count(IDLE_KEPT_ALIVE, "refused (max_connections)"),
    }
    let timeout = ctx.limits.idle_timeout;
    expect_close(
        IDLE_KEPT_ALIVE,
        http.stream(),
        Instant::now(),
        timeout,
        tally,
    )
    .await;
}

/// A WebSocket that never sends a message: closed after the idle timeout.
pub(super) async fn idle_ws(ctx: &Ctx, tally: &mut Tally) {
    let Ok(mut socket) = websocket(ctx, &[], false).await else {
        return tally.count(IDLE_WS, "refused (max_connections)");
    };
    let timeout = ctx.limits.idle_timeout;
    expect_close(IDLE_WS, socket.get_mut(), Instant::now(), timeout, tally).await;
}

/// A request's head sent a byte at a time: closed after the header
/// timeout, however the bytes keep coming.
pub(super) async fn slow_headers(ctx: &Ctx, rng: &mut Rng, tally: &mut Tally) {
    let Ok(stream) = connect(ctx, false).await else {
        return tally.count(SLOW_HEADERS, "could not connect");
    };
    let text = post_text(
        &ctx.host(),
        r#"{"id": 1, "request": "PING"}"#,
        &[("X-Soak", "slow")],
    );
    let (mut reader, mut writer) = stream.into_split();
    let gap = rng.millis(20, 60);
    let since = Instant::now();
    let timeout = ctx.limits.header_timeout;
    tokio::select! {
        () = expect_close(SLOW_HEADERS, &mut reader, since, timeout, tally) => {}
        () = trickle(&mut writer, text.as_bytes(), 1, gap) => {}
    }
}

/// A body slower than the body timeout allows, or never finished (its
/// Content-Length larger than what is sent): closed after the body
/// timeout.
pub(super) async fn slow_body(ctx: &Ctx, rng: &mut Rng, tally: &mut Tally) {
    let Ok(mut stream) = connect(ctx, false).await else {
        return tally.count(SLOW_BODY, "could not connect");
    };
    let body = padded_ping(2000);
    let text = post_text(&ctx.host(), &body, &[]);
    let head = text.len() - body.len();
    if stream.write_all(&text.as_bytes()[..head]).await.is_err() {
        return tally.count(SLOW_BODY, "refused (max_connections)");
    }
    let since = Instant::now();
    let (mut reader, mut writer) = stream.into_split();
    let sent = if rng.chance(50) {
        body.len()
    } else {
        rng.between(0, 1000) as usize
    };
    let timeout = ctx.limits.body_timeout;
    tokio::select! {
        () = expect_close(SLOW_BODY, &mut reader, since, timeout, tally) => {}
        () = trickle(&mut writer, &body.as_bytes()[..sent], 10, Duration::from_millis(100)) => {}
    }
}

/// A WebSocket text message begun and sent slowly, or never finished:
/// closed after the body timeout.
pub(super) async fn slow_ws_message(ctx: &Ctx, rng: &mut Rng, tally: &mut Tally) {
    let Ok(socket) = websocket(ctx, &[], false).await else {
        return tally.count(SLOW_WS_MESSAGE, "refused (max_connections)");
    };
    let message = padded_ping(1000);
    let mut frame = frame_head(1, message.len() as u64);
    frame.extend(message.as_bytes());
    let sent = if rng.chance(50) {
        frame.len()
    } else {
        rng.between(2, 500) as usize
    };
    let since = Instant::now();
    let (mut reader, mut writer) = socket.into_inner().into_split();
    let timeout = ctx.limits.body_timeout;
    tokio::select! {
        () = expect_close(SLOW_WS_MESSAGE, &mut reader, since, timeout, tally) => {}
        () = trickle(&mut writer, &frame[..sent], 10, Duration::from_millis(100)) => {}
    }
}

/// A large body (under `max_request_bytes`), sent quickly up to near its
/// end and then held. With the hoarders together holding more than
/// `max_request_bytes_total`, some are refused with 503; the others are
/// closed after the body timeout.
pub(super) async fn hoarder(ctx: &Ctx, rng: &mut Rng, tally: &mut Tally) {
    let Ok(mut stream) = connect(ctx, false).await else {
        return tally.count(HOARDER, "could not connect");
    };
    let limits = &ctx.limits;
    let body = padded_ping(limits.config.max_request_bytes - 200);
    let text = post_text(&ctx.host(), &body, &[]);
    let held = text.len() - rng.between(100, 1000) as usize;
    let since = Instant::now();
    for piece in text.as_bytes()[..held].chunks(1024) {
        if stream.write_all(piece).await.is_err() {
            break;
        }
        tokio::time::sleep(Duration::from_millis(5)).await;
    }
    expect_close(HOARDER, &mut stream, since, limits.body_timeout, tally).await;
}
