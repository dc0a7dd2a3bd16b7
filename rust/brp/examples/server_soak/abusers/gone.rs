//! Clients that go away or stop reading: a parked POLL or an open watch
//! with bytes pipelined behind it and then the end of the client's stream
//! (the server must notice and close at once), clients that vanish
//! mid-request (counted; the final check finds their connections closed),
//! and a WebSocket that never reads (it must be disconnected, close 1008).

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

/// How long a WebSocket that never reads may flood the server before it
/// must be disconnected ...
const FLOOD_BOUND: Duration = Duration::from_secs(10);

/// ... and how long one of its sends may wait before it takes the server
/// to have stopped reading.
const STALL: Duration = Duration::from_secs(1);

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
    let reply = http
        .post(
            &seed(1, "POLL", json!({"data": {"components": ["Never"]}})),
            &[],
        )
        .await
        .ok()?;
    Some(
        reply.json().ok()?["response"]["watermark"]
            .as_str()?
            .to_owned(),
    )
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

/// A WebSocket that sends and never reads, flooding QUERYs (large
/// answers) or PINGs and pings (small ones) over a socket with a small
/// receive buffer, until the server stops taking them: it must disconnect
/// the client (`max_queued_answers`, `max_queued_bytes`). Its close
/// resets the connection, or waits behind the answers the client has not
/// read: the client then reads them, then the close frame (1008).
pub(super) async fn never_reader(ctx: &Ctx, rng: &mut Rng, tally: &mut Tally) {
    let Ok(mut socket) = websocket(ctx, &[], true).await else {
        return tally.count(NEVER_READER, "refused (max_connections)");
    };
    let queries = rng.chance(50);
    let flood = if queries {
        "floods of QUERYs"
    } else {
        "floods of PINGs and pings"
    };
    tally.count(NEVER_READER, flood);
    let since = Instant::now();
    let until = tokio::time::Instant::from_std(since + FLOOD_BOUND);
    let mut sent = 0;
    loop {
        sent += 1;
        let message = match (queries, sent % 2) {
            (true, _) => Message::text(seed(
                sent,
                "QUERY",
                json!({"data": {"components": ["Name"]}}),
            )),
            (false, 0) => Message::text(seed(sent, "PING", Value::Null)),
            (false, _) => Message::Ping(Bytes::from_static(b"soak")),
        };
        // A send that waits this long: the server takes no more.
        match tokio::time::timeout(STALL, socket.send(message)).await {
            Ok(Ok(())) => {}
            Ok(Err(_)) => {
                tally.add(NEVER_READER, "messages sent", sent - 1);
                tally.count(NEVER_READER, "reset by the server's close");
                return tally.closed(NEVER_READER, Some(since.elapsed()), FLOOD_BOUND);
            }
            Err(_) => break,
        }
    }
    tally.add(NEVER_READER, "messages sent", sent - 1);
    loop {
        match tokio::time::timeout_at(until, message(&mut socket)).await {
            Ok(Ok(_)) => {}
            Ok(Err(Ended::Closed(Some(1008)))) => {
                tally.count(NEVER_READER, "close 1008");
                return tally.closed(NEVER_READER, Some(since.elapsed()), FLOOD_BOUND);
            }
            Ok(Err(Ended::Dropped(_))) => {
                tally.count(NEVER_READER, "reset by the server's close");
                return tally.closed(NEVER_READER, Some(since.elapsed()), FLOOD_BOUND);
            }
            Ok(Err(ended)) => return tally.problem(NEVER_READER, format!("{flood}: {ended}")),
            Err(_) => {
                let what =
                    format!("{flood}: still open after {FLOOD_BOUND:?}, {sent} messages sent");
                return tally.problem(NEVER_READER, what);
            }
        }
    }
}
