//! Clients that go away or stop reading: a parked POLL or an open watch
//! with bytes pipelined behind it and then the end of the client's stream
//! (the server must notice and close at once), clients that vanish
//! mid-request (counted; the final check finds their connections closed),
//! and a WebSocket that never reads (it must be disconnected).

use super::{ask, never_watermark, seed};
use crate::ctx::{Ctx, Rng};
use crate::scene::{NAME, bits, wrap};
use crate::settings::bound;
use crate::tally::Tally;
use crate::wire::{Ended, Http, closed, connect, frame_head, message, post_text, websocket};
use futures_util::SinkExt;
use serde_json::{Value, json};
use std::time::{Duration, Instant};
use tokio::io::AsyncWriteExt;
use tokio_tungstenite::tungstenite::{Bytes, Message};

pub(super) const PIPELINED: &str = "pipelined";
pub(super) const VANISHER: &str = "vanisher";
pub(crate) const NEVER_READER: &str = "never-reader";

/// How long the server may take to notice that a client closed its side:
/// no timeout applies, it reads the end of the stream.
fn notice() -> Duration {
    bound(Duration::ZERO)
}

/// How long one send of a WebSocket that never reads may wait before it
/// takes the server to have stopped reading.
const STALL: Duration = Duration::from_secs(1);

/// How many QUERYs the silent never-reader sends: their answers are more
/// than the socket buffers hold, fewer than `max_in_flight`.
const SILENT_AFTER: u64 = 12;

/// How long the server may take to disconnect a WebSocket that never
/// reads: it stalls, then reads nothing for `idle_timeout_ms` (or lets
/// answers pile up sooner).
fn flood_bound(ctx: &Ctx) -> Duration {
    STALL * 2 + bound(ctx.limits.idle_timeout)
}

/// A parked POLL, or a watch, with a PING pipelined behind it, then the
/// end of the client's stream (`shutdown`): the server must close the
/// connection within [`notice`]. A server that misses it would hold the
/// connection until the POLL times out, or the watch ends when the soak
/// destroys its entity.
pub(super) async fn pipelined(ctx: &Ctx, owner: u64, rng: &mut Rng, tally: &mut Tally) {
    let Ok(mut http) = Http::open(ctx).await else {
        return tally.count(PIPELINED, "could not connect");
    };
    let host = ctx.host();
    let ping = post_text(&host, &seed(3, "PING", Value::Null), &[]);
    let poll = rng.chance(50);
    let (wait, decoy) = if poll {
        let Some(watermark) = never_watermark(&mut http).await else {
            return tally.count(PIPELINED, "refused (max_connections)");
        };
        let wait = notice() + Duration::from_secs(3);
        let params = json!({"data": {"components": ["Never"]}, "watermark": watermark,
                            "timeout_ms": wait.as_millis() as u64});
        let text = post_text(&host, &seed(2, "POLL", params), &[]) + &ping;
        if http.write(text.as_bytes()).await.is_err() {
            return tally.count(PIPELINED, "refused (max_connections)");
        }
        tally.count(PIPELINED, "POLLs parked");
        (wait, None)
    } else {
        let owned = wrap(&json!({"owner": owner, "n": 0}));
        let spawned = ask(
            ctx,
            &seed(1, "SPAWN", json!({"components": {"Owned": owned}})),
        )
        .await;
        let Some(decoy) = spawned
            .as_ref()
            .and_then(|a| a["response"]["entity"].as_str())
        else {
            return tally.problem(PIPELINED, format!("no decoy entity: {spawned:?}"));
        };
        let watch = json!({"jsonrpc": "2.0", "id": 2, "method": "world.get_components+watch",
                           "params": {"entity": bits(decoy), "components": ["Owned"], "strict": true}});
        let text = post_text(&host, &watch.to_string(), &[]) + &ping;
        let opened = match http.write(text.as_bytes()).await {
            Ok(()) => http.head().await.is_ok() && http.event().await.is_ok_and(|e| e.is_some()),
            Err(_) => false,
        };
        if !opened {
            destroy(ctx, decoy, tally).await;
            return tally.count(PIPELINED, "refused (max_connections)");
        }
        tally.count(PIPELINED, "watches open");
        (notice() * 2, Some(decoy.to_owned()))
    };
    let _ = http.stream().shutdown().await;
    let since = Instant::now();
    let first = closed(http.stream(), since, notice()).await;
    tally.closed(PIPELINED, first.after, notice());
    if let Some(decoy) = &decoy {
        destroy(ctx, decoy, tally).await;
    }
    if first.after.is_none() {
        // Free the connection: the POLL times out, the watch has ended.
        let late = closed(http.stream(), since, wait + Duration::from_secs(5)).await;
        let what = if poll {
            "closed only when the POLL timed out"
        } else {
            "closed only when the watch ended"
        };
        match late.after {
            Some(_) => tally.count(PIPELINED, what),
            None => tally.problem(PIPELINED, "never closed".into()),
        }
    }
}

/// Destroys a pipelined watch's entity, which ends the watch.
async fn destroy(ctx: &Ctx, decoy: &str, tally: &mut Tally) {
    let destroyed = ask(ctx, &seed(4, "DESTROY", json!({"entity": decoy}))).await;
    if destroyed
        .as_ref()
        .is_none_or(|a| a["response"]["status"] != "OK")
    {
        tally.problem(
            PIPELINED,
            format!("could not destroy the decoy {decoy}: {destroyed:?}"),
        );
    }
}

/// A client that goes away in the middle of something: a request body,
/// a parked POLL (with a reset), a WebSocket with requests in flight or
/// half a message, a stream of server-sent events.
pub(super) async fn vanisher(ctx: &Ctx, rng: &mut Rng, tally: &mut Tally) {
    let fixed = &ctx.fixed[0];
    let watch = json!({"jsonrpc": "2.0", "id": 9, "method": "world.get_components+watch",
                       "params": {"entity": fixed.bits, "components": [NAME], "strict": true}})
    .to_string();
    let what = match rng.below(5) {
        0 => {
            let Ok(mut stream) = connect(ctx, false).await else {
                return;
            };
            let text = post_text(&ctx.host(), &" ".repeat(500), &[]);
            let _ = stream.write_all(&text.as_bytes()[..text.len() - 400]).await;
            "gone with a body half sent"
        }
        1 => {
            let Ok(mut http) = Http::open(ctx).await else {
                return;
            };
            let Some(watermark) = never_watermark(&mut http).await else {
                return;
            };
            let params = json!({"data": {"components": ["Never"]}, "watermark": watermark, "timeout_ms": 10_000});
            let _ = http.send(&seed(2, "POLL", params), &[]).await;
            ctx.pause(rng.millis(10, 100)).await;
            let _ = http.stream().set_zero_linger();
            "reset under a parked POLL"
        }
        2 => {
            let Ok(mut socket) = websocket(ctx, &[], false).await else {
                return;
            };
            let never = seed(1, "POLL", json!({"data": {"components": ["Never"]}}));
            let watermark = match socket.send(Message::text(never)).await {
                Ok(()) => match message(&mut socket).await {
                    Ok(Message::Text(text)) => serde_json::from_str::<Value>(&text)
                        .unwrap_or_default()["response"]["watermark"]
                        .clone(),
                    _ => return,
                },
                Err(_) => return,
            };
            for id in 2..5 {
                let params = json!({"data": {"components": ["Never"]}, "watermark": watermark, "timeout_ms": 10_000});
                let _ = socket.send(Message::text(seed(id, "POLL", params))).await;
            }
            let _ = socket.send(Message::text(watch)).await;
            ctx.pause(rng.millis(10, 100)).await;
            "gone with requests in flight"
        }
        3 => {
            let Ok(mut socket) = websocket(ctx, &[], false).await else {
                return;
            };
            let mut frame = frame_head(1, 500);
            frame.extend(b"{\"id\": 1, \"request\": \"PING\"");
            let _ = socket.get_mut().write_all(&frame).await;
            "gone with half a message"
        }
        _ => {
            let Ok(mut http) = Http::open(ctx).await else {
                return;
            };
            let _ = http.send(&watch, &[]).await;
            if http.head().await.is_err() || http.event().await.is_err() {
                return;
            }
            "gone from a stream"
        }
    };
    tally.count(VANISHER, what);
}

/// A WebSocket that never reads, over a socket with a small receive
/// buffer: it floods QUERYs (large answers) or PINGs and pings (small
/// ones) until the server takes no more, or sends a few QUERYs and falls
/// silent. The server must disconnect it: answers piled up
/// (`max_queued_answers`, `max_queued_bytes`) or unread for
/// `idle_timeout_ms` (close 1008), or idle once the kernel holds them all
/// (1000). Its close resets the connection, or waits behind the answers
/// the client has not read, which the client then reads, then the close.
pub(super) async fn never_reader(ctx: &Ctx, rng: &mut Rng, tally: &mut Tally) {
    let Ok(mut socket) = websocket(ctx, &[], true).await else {
        return tally.count(NEVER_READER, "refused (max_connections)");
    };
    let query = |id| Message::text(seed(id, "QUERY", json!({"data": {"components": ["Name"]}})));
    let (what, flood) = match rng.below(5) {
        0 | 1 => ("floods of QUERYs", true),
        2 | 3 => ("floods of PINGs and pings", true),
        _ => ("a few QUERYs, then silence", false),
    };
    tally.count(NEVER_READER, what);
    let since = Instant::now();
    let mut sent = 0;
    while flood || sent < SILENT_AFTER {
        sent += 1;
        let message = match (what, sent % 2) {
            ("floods of PINGs and pings", 0) => Message::text(seed(sent, "PING", Value::Null)),
            ("floods of PINGs and pings", _) => Message::Ping(Bytes::from_static(b"soak")),
            _ => query(sent),
        };
        // A send that waits this long: the server takes no more.
        match tokio::time::timeout(STALL, socket.send(message)).await {
            Ok(Ok(())) => {}
            Ok(Err(_)) => {
                tally.count(NEVER_READER, "reset by the server's close");
                return tally.closed(NEVER_READER, Some(since.elapsed()), flood_bound(ctx));
            }
            Err(_) => break,
        }
    }
    tally.add(NEVER_READER, "messages sent", sent);
    if !flood {
        tokio::time::sleep(bound(ctx.limits.idle_timeout)).await;
    }
    let until = tokio::time::Instant::from_std(since + flood_bound(ctx));
    loop {
        match tokio::time::timeout_at(until, message(&mut socket)).await {
            Ok(Ok(_)) => {}
            // 1008: answers went unread; 1000: nothing was left to write,
            // and the connection idled.
            Ok(Err(Ended::Closed(Some(code @ (1008 | 1000))))) => {
                tally.count(
                    NEVER_READER,
                    if code == 1008 {
                        "close 1008"
                    } else {
                        "close 1000 (idle)"
                    },
                );
                return tally.closed(NEVER_READER, Some(since.elapsed()), flood_bound(ctx));
            }
            Ok(Err(Ended::Dropped(_))) => {
                tally.count(NEVER_READER, "reset by the server's close");
                return tally.closed(NEVER_READER, Some(since.elapsed()), flood_bound(ctx));
            }
            Ok(Err(Ended::Closed(Some(1013)))) => {
                return tally.count(NEVER_READER, "busy (close 1013)");
            }
            Ok(Err(ended)) => return tally.problem(NEVER_READER, format!("{what}: {ended}")),
            Err(_) => {
                let problem = format!(
                    "{what}: still open after {:?}, {sent} messages sent",
                    flood_bound(ctx)
                );
                return tally.problem(NEVER_READER, problem);
            }
        }
    }
}
