//! A well-behaved client of server-sent events: it watches its own entity
//! (`world.get_components+watch`) on one connection while renaming it on
//! another. The stream must show the names in the order they were written,
//! up to the last one (a watch sees a subsequence of the writes,
//! docs/protocol.md). Then it drops the stream, or destroys the entity, so
//! that the stream ends with -23401 and the connection serves a PING.

use super::http::{Client, Short, clean_up};
use super::requests::{Dialect, ENTITY_NOT_FOUND, Model, Want, outcome, rpc, seed};
use crate::ctx::{Ctx, Rng};
use crate::scene::{NAME, bits, wrap};
use crate::tally::Tally;
use serde_json::{Value, json};
use std::sync::Arc;

pub(super) const KIND: &str = "sse";

/// The id of the watch on its connection.
const WATCH: u64 = 7;

/// Streams one after another until the deadline.
pub(super) async fn watcher(ctx: Arc<Ctx>, owner: u64, mut rng: Rng) {
    let mut model = Model::new(owner);
    while !ctx.over() {
        let mut tally = Tally::default();
        stream(&ctx, &mut model, &mut rng, &mut tally).await;
        ctx.record(tally);
        ctx.pause(rng.millis(0, 50)).await;
    }
    let mut tally = Tally::default();
    clean_up(&ctx, KIND, &mut model, &mut rng, &mut tally).await;
    ctx.record(tally);
}

/// The name the watcher gives its entity at its `k`-th rename.
fn name(owner: u64, k: u64) -> String {
    format!("sse-{owner}-{k}")
}

/// The `k` of a watch answer's name, or why it has none.
fn renamed(event: &Value, owner: u64) -> Result<u64, String> {
    let body = outcome(event).map_err(|code| format!("the watch answered {code}: {event}"))?;
    let given = body["components"][NAME].as_str();
    let k = given.and_then(|n| n.strip_prefix(&format!("sse-{owner}-"))?.parse().ok());
    match k {
        Some(k) if event["id"] == WATCH => Ok(k),
        _ => Err(format!("not a name of the watched entity: {event}")),
    }
}

async fn stream(ctx: &Ctx, model: &mut Model, rng: &mut Rng, tally: &mut Tally) {
    tally.count(KIND, "streams");
    let (mut watcher, mut writer) =
        match (Client::open(ctx, rng).await, Client::open(ctx, rng).await) {
            (Ok(watcher), Ok(writer)) => (watcher, writer),
            (Err(short), _) | (_, Err(short)) => return short.note(KIND, tally),
        };
    if !writer.recount(KIND, model, tally).await {
        return;
    }
    if model.live.is_empty() {
        let owned = wrap(&json!({"owner": model.owner, "n": 0}));
        let spawn = seed(1, "SPAWN", json!({"components": {"Owned": owned}}));
        if !writer
            .check(KIND, (spawn, Want::Spawned(Dialect::Seed)), model, tally)
            .await
            || model.live.is_empty()
        {
            return;
        }
    }
    let (entity, owner) = (model.live[0].id.clone(), model.owner);
    let rename = |id: u64, k: u64| {
        seed(
            id,
            "INSERT",
            json!({"entity": entity, "components": {"Name": wrap(&json!(name(owner, k)))}}),
        )
    };
    if !writer
        .check(
            KIND,
            (rename(2, 0), Want::Done(Dialect::Seed)),
            model,
            tally,
        )
        .await
    {
        return;
    }
    let watch = rpc(
        WATCH,
        "world.get_components+watch",
        json!({"entity": bits(&entity), "components": [NAME], "strict": true}),
    );
    match watcher.open_stream(&watch).await {
        Ok(first) => match renamed(&first, owner) {
            Ok(0) => tally.answer(KIND),
            Ok(k) => return tally.problem(KIND, format!("the watch began at name {k}, not 0")),
            Err(wrong) => return tally.problem(KIND, wrong),
        },
        Err(short) => return short.note(KIND, tally),
    }
    let mut seen = 0;
    for k in 1..=rng.between(3, 30) {
        if !writer
            .check(
                KIND,
                (rename(2, k), Want::Done(Dialect::Seed)),
                model,
                tally,
            )
            .await
        {
            return;
        }
        while seen < k {
            let event = match watcher.event().await {
                Ok(Some(event)) => event,
                Ok(None) => return tally.problem(KIND, "the stream ended".into()),
                Err(Short::Broken(what)) => {
                    return tally.problem(KIND, format!("{what}, at name {seen} of {k}"));
                }
                Err(short) => return short.note(KIND, tally),
            };
            match renamed(&event, owner) {
                Ok(next) if next > seen && next <= k => {
                    seen = next;
                    tally.answer(KIND);
                }
                Ok(next) => {
                    return tally
                        .problem(KIND, format!("name {next} after {seen}, {k} written last"));
                }
                Err(wrong) => return tally.problem(KIND, wrong),
            }
        }
    }
    if rng.chance(60) {
        // Gone mid-stream: the server cancels the watch.
        return tally.count(KIND, "streams dropped");
    }
    let destroy = seed(3, "DESTROY", json!({"entity": entity}));
    model.live.remove(0);
    if !writer
        .check(KIND, (destroy, Want::Done(Dialect::Seed)), model, tally)
        .await
    {
        return;
    }
    match watcher.event().await {
        Ok(Some(last)) if outcome(&last) == Err(ENTITY_NOT_FOUND) && last["id"] == WATCH => {
            tally.answer(KIND)
        }
        Ok(other) => return tally.problem(KIND, format!("the watch's last answer: {other:?}")),
        Err(short) => return short.note(KIND, tally),
    }
    match watcher.event().await {
        Ok(None) => tally.count(KIND, "streams ended by their entity"),
        other => return tally.problem(KIND, format!("the stream went on: {:?}", other.ok())),
    }
    // The connection serves the next request.
    let ping = seed(4, "PING", Value::Null);
    watcher.check(KIND, (ping, Want::Pong), model, tally).await;
}
