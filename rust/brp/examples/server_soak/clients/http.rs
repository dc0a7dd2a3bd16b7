//! Well-behaved HTTP clients: keep-alive connections that send requests
//! of both dialects one after another (POLLs that park and are woken by
//! the writer, or time out, among them), and pairs of connections where
//! one parks a POLL that the other's write must wake.

use super::requests::{Dialect, Model, TIMEOUT, Want, outcome, rpc, seed};
use crate::ctx::{Ctx, Rng};
use crate::scene::{CHURN_MAX, CHURN_MIN, wrap};
use crate::settings::{GOOD_HOST, GOOD_ORIGIN};
use crate::tally::Tally;
use crate::wire::{Http, Lost};
use serde_json::{Value, json};
use std::sync::Arc;
use std::time::{Duration, Instant};

pub(super) const KIND: &str = "http";
pub(super) const PAIR: &str = "poll-pair";

/// What kept a request from its answer.
pub(super) enum Short {
    /// While a crowd had the server at `max_connections`: the connection
    /// was closed before its first answer (refused, or taken for another
    /// while still idle) ...
    Refused,
    /// ... or closed between requests (idle, to make room).
    Evicted,
    /// HTTP 503: request bodies held over `max_request_bytes_total`.
    Busy,
    /// Anything else: a problem.
    Broken(String),
}

impl Short {
    /// Counts a refusal, or notes a problem.
    pub(super) fn note(self, kind: &'static str, tally: &mut Tally) {
        match self {
            Self::Refused => tally.count(kind, "refused (max_connections)"),
            Self::Evicted => tally.count(kind, "closed while idle (max_connections)"),
            Self::Busy => tally.count(kind, "busy (HTTP 503)"),
            Self::Broken(what) => tally.problem(kind, what),
        }
    }
}

/// A connection of a well-behaved client, with the headers it sends.
pub(super) struct Client<'a> {
    ctx: &'a Ctx,
    http: Http,
    extra: Vec<(&'static str, &'static str)>,
    /// No answer has come on it yet.
    fresh: bool,
}

impl<'a> Client<'a> {
    /// Connects; now and then as a browser would (an allowed `Origin`) or
    /// by an allowed host name.
    pub(super) async fn open(ctx: &'a Ctx, rng: &mut Rng) -> Result<Self, Short> {
        let mut host = ctx.host();
        if rng.chance(20) {
            host = format!("{GOOD_HOST}:{}", ctx.address.port());
        }
        let mut extra = Vec::new();
        if rng.chance(20) {
            extra.push(("Origin", GOOD_ORIGIN));
        }
        match crate::wire::connect(ctx, false).await {
            Ok(stream) => Ok(Self {
                ctx,
                http: Http::on(stream, host),
                extra,
                fresh: true,
            }),
            Err(e) => Err(Short::Broken(format!("cannot connect: {e}"))),
        }
    }

    /// Sends `text` without reading the answer.
    async fn send(&mut self, text: &str) -> Result<(), Short> {
        let sent = self.http.send(text, &self.extra).await;
        sent.map_err(|lost| self.short(lost, text))
    }

    /// Reads the answer to a request sent.
    async fn answer(&mut self, text: &str) -> Result<Value, Short> {
        let answer = match self.http.reply().await {
            Ok(reply) if reply.status == 200 => reply.json().map_err(Short::Broken),
            Ok(reply) if reply.status == 503 => Err(Short::Busy),
            Ok(reply) => Err(Short::Broken(format!(
                "HTTP {} to {text}: {}",
                reply.status,
                String::from_utf8_lossy(&reply.body)
            ))),
            Err(lost) => Err(self.short(lost, text)),
        };
        self.fresh = false;
        answer
    }

    /// POSTs `text` and reads its answer.
    pub(super) async fn ask(&mut self, text: &str) -> Result<Value, Short> {
        self.send(text).await?;
        self.answer(text).await
    }

    /// POSTs a `+watch` request; the first answer of its stream.
    pub(super) async fn open_stream(&mut self, text: &str) -> Result<Value, Short> {
        self.send(text).await?;
        let (status, headers) = self
            .http
            .head()
            .await
            .map_err(|lost| self.short(lost, text))?;
        self.fresh = false;
        let events = (headers.iter()).any(|(n, v)| n == "content-type" && v == "text/event-stream");
        match status {
            503 => return Err(Short::Busy),
            200 if events => {}
            _ => {
                return Err(Short::Broken(format!(
                    "HTTP {status} {headers:?} to {text}"
                )));
            }
        }
        self.event()
            .await?
            .ok_or(Short::Broken(format!("an empty stream for {text}")))
    }

    /// The stream's next answer; `None` at its end. A stream is a request
    /// in progress, never idle: the server may not close it, not even at
    /// `max_connections`.
    pub(super) async fn event(&mut self) -> Result<Option<Value>, Short> {
        let event = self.http.event().await;
        event.map_err(|lost| {
            let during = if self.ctx.crowded() {
                ", during a crowd"
            } else {
                ""
            };
            Short::Broken(format!("a stream {lost}{during}"))
        })
    }

    /// Why `text` got no answer: a close is the server's right only while
    /// a crowd has it at `max_connections`.
    fn short(&self, lost: Lost, text: &str) -> Short {
        match lost {
            Lost::Closed if self.ctx.crowded() && self.fresh => Short::Refused,
            Lost::Closed if self.ctx.crowded() => Short::Evicted,
            lost => Short::Broken(format!("{lost} after {text}")),
        }
    }

    /// Asks `text` and checks the answer against `want`; updates `model`
    /// for a SPAWN. False when the exchange failed (the model is then
    /// unsure).
    pub(super) async fn check(
        &mut self,
        kind: &'static str,
        (text, want): (String, Want),
        model: &mut Model,
        tally: &mut Tally,
    ) -> bool {
        let answer = match self.ask(&text).await {
            Ok(answer) => answer,
            Err(short) => {
                short.note(kind, tally);
                model.unsure = true;
                return false;
            }
        };
        match want.check(&self.ctx.fixed, model.owner, &answer) {
            Ok(spawned) => {
                tally.answer(kind);
                if let Want::Spawned(_) = want {
                    model.spawned(spawned);
                }
            }
            Err(wrong) => {
                tally.problem(kind, format!("{text}: {wrong}"));
                model.unsure = true;
            }
        }
        true
    }

    /// Asks the world which entities the client owns, when unsure.
    pub(super) async fn recount(
        &mut self,
        kind: &'static str,
        model: &mut Model,
        tally: &mut Tally,
    ) -> bool {
        if !model.unsure {
            return true;
        }
        let census = Model::census(0);
        match self.ask(&census).await {
            Ok(answer) => match model.recount(&answer) {
                Ok(()) => true,
                Err(wrong) => {
                    tally.problem(kind, wrong);
                    false
                }
            },
            Err(short) => {
                short.note(kind, tally);
                false
            }
        }
    }
}

/// Destroys every entity the client owns, over new connections, trying
/// for a while if refused.
pub(super) async fn clean_up(
    ctx: &Ctx,
    kind: &'static str,
    model: &mut Model,
    rng: &mut Rng,
    tally: &mut Tally,
) {
    model.unsure = true;
    for _ in 0..50 {
        if let Ok(mut client) = Client::open(ctx, rng).await
            && client.recount(kind, model, tally).await
        {
            while let Some(destroy) = model.destroy_one(rng, 0) {
                if !client.check(kind, destroy, model, tally).await {
                    break;
                }
            }
            if !model.unsure {
                return;
            }
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    tally.problem(kind, "could not destroy its entities at the end".into());
}

/// A well-behaved keep-alive client: connections of 5–60 requests each,
/// until the deadline.
pub(super) async fn keep_alive(ctx: Arc<Ctx>, owner: u64, mut rng: Rng) {
    let mut model = Model::new(owner);
    while !ctx.over() {
        let mut tally = Tally::default();
        connection(&ctx, &mut model, &mut rng, &mut tally).await;
        ctx.record(tally);
        ctx.pause(rng.millis(0, 50)).await;
    }
    let mut tally = Tally::default();
    clean_up(&ctx, KIND, &mut model, &mut rng, &mut tally).await;
    ctx.record(tally);
}

async fn connection(ctx: &Ctx, model: &mut Model, rng: &mut Rng, tally: &mut Tally) {
    tally.count(KIND, "connections");
    let mut client = match Client::open(ctx, rng).await {
        Ok(client) => client,
        Err(short) => return short.note(KIND, tally),
    };
    if !client.recount(KIND, model, tally).await {
        return;
    }
    for _ in 0..rng.between(5, 60) {
        let done = match rng.below(100) {
            0..5 => woken_poll(&mut client, tally).await,
            5..8 => timed_out_poll(&mut client, rng, tally).await,
            _ => {
                let id = rng.below(1 << 40);
                let request = model.next(rng, &ctx.fixed, id);
                client.check(KIND, request, model, tally).await
            }
        };
        if !done || ctx.over() {
            return;
        }
        ctx.pause(rng.millis(0, 20)).await;
    }
}

/// The POLL of the writer's names: with `watermark`, it parks until the
/// writer's next change (within a millisecond or so).
fn churn_poll(watermark: Option<&str>) -> String {
    let params = json!({"data": {"components": ["Name"]}, "filter": {"with": ["Churn"]},
                        "watermark": watermark});
    seed(1, "POLL", params)
}

/// A POLL's watermark and entities, checked to be the writer's.
fn polled(answer: &Value) -> Result<(String, usize), String> {
    let body = outcome(answer).map_err(|code| format!("a POLL answered {code}: {answer}"))?;
    let watermark = body["watermark"]
        .as_str()
        .ok_or(format!("no watermark: {answer}"))?;
    let rows = body["entities"]
        .as_array()
        .ok_or(format!("no entities: {answer}"))?;
    let churn = |row: &Value| {
        let name = serde_json::from_str::<Value>(row["Name"]["JSON"].as_str().unwrap_or_default());
        name.ok()
            .and_then(|n| n.as_str().map(|n| n.starts_with("churn-")))
            == Some(true)
    };
    if !(CHURN_MIN..=CHURN_MAX).contains(&rows.len()) || !rows.iter().all(churn) {
        return Err(format!("not the writer's entities: {answer}"));
    }
    Ok((watermark.to_owned(), rows.len()))
}

/// A POLL that parks until the writer wakes it: its answer is the
/// writer's entities, with a new watermark.
async fn woken_poll(client: &mut Client<'_>, tally: &mut Tally) -> bool {
    let first = match client.ask(&churn_poll(None)).await {
        Ok(answer) => answer,
        Err(short) => {
            short.note(KIND, tally);
            return false;
        }
    };
    let Ok((watermark, _)) = polled(&first).map_err(|wrong| tally.problem(KIND, wrong)) else {
        return true;
    };
    let sent = Instant::now();
    let answer = match client.ask(&churn_poll(Some(&watermark))).await {
        Ok(answer) => answer,
        Err(short) => {
            short.note(KIND, tally);
            return false;
        }
    };
    match polled(&answer) {
        Ok((next, _)) if next != watermark => {
            tally.answer(KIND);
            tally.count(KIND, "POLLs woken by the writer");
            tally.took(KIND, "woken POLL", sent.elapsed());
        }
        Ok(_) => tally.problem(KIND, format!("a POLL answered its own watermark: {answer}")),
        Err(wrong) => tally.problem(KIND, wrong),
    }
    true
}

/// A POLL on `Never` with a short `timeout_ms`: it must time out.
async fn timed_out_poll(client: &mut Client<'_>, rng: &mut Rng, tally: &mut Tally) -> bool {
    let never = json!({"data": {"components": ["Never"]}});
    let first = match client.ask(&seed(1, "POLL", never.clone())).await {
        Ok(answer) => answer,
        Err(short) => {
            short.note(KIND, tally);
            return false;
        }
    };
    let Some(watermark) = outcome(&first).ok().and_then(|b| b["watermark"].as_str()) else {
        tally.problem(KIND, format!("a POLL on Never answered {first}"));
        return true;
    };
    let mut params = never;
    params["watermark"] = json!(watermark);
    params["timeout_ms"] = json!(rng.between(20, 100));
    let text = seed(2, "POLL", params);
    match client.ask(&text).await {
        Ok(answer) if outcome(&answer) == Err(TIMEOUT) => {
            tally.answer(KIND);
            tally.count(KIND, "POLL timeouts");
        }
        Ok(answer) => tally.problem(KIND, format!("{text}: expected TIMEOUT, got {answer}")),
        Err(short) => {
            short.note(KIND, tally);
            return false;
        }
    }
    true
}

/// A pair of connections: one parks POLLs on `Owned`, the other writes the
/// client's own entity; each write must wake the POLL with exactly the
/// value written.
pub(super) async fn poll_pair(ctx: Arc<Ctx>, owner: u64, mut rng: Rng) {
    let mut model = Model::new(owner);
    while !ctx.over() {
        let mut tally = Tally::default();
        pair(&ctx, &mut model, &mut rng, &mut tally).await;
        ctx.record(tally);
        ctx.pause(rng.millis(0, 50)).await;
    }
    let mut tally = Tally::default();
    clean_up(&ctx, PAIR, &mut model, &mut rng, &mut tally).await;
    ctx.record(tally);
}

/// The POLL of every `Owned` entity.
fn owned_poll(watermark: Option<&str>) -> String {
    let params = json!({"data": {"components": ["Owned"]}, "filter": {"with": ["Owned"]},
                        "watermark": watermark});
    seed(1, "POLL", params)
}

/// The watermark of a POLL answer on `Owned`, and the `n` of `entity` in
/// it.
fn owned_answer(answer: &Value, owner: u64, entity: &str) -> Result<(String, u64), String> {
    let body = outcome(answer).map_err(|code| format!("a POLL answered {code}: {answer}"))?;
    let watermark = body["watermark"]
        .as_str()
        .ok_or(format!("no watermark: {answer}"))?;
    let row = (body["entities"].as_array().into_iter().flatten()).find(|row| row["id"] == entity);
    let value =
        row.and_then(|row| serde_json::from_str::<Value>(row["Owned"]["JSON"].as_str()?).ok());
    match value {
        Some(value) if value["owner"] == owner => {
            let n = value["n"].as_u64().ok_or(format!("no n: {answer}"))?;
            Ok((watermark.to_owned(), n))
        }
        _ => Err(format!("{entity} is not in {answer}")),
    }
}

async fn pair(ctx: &Ctx, model: &mut Model, rng: &mut Rng, tally: &mut Tally) {
    tally.count(PAIR, "pairs");
    let (mut poller, mut writer) =
        match (Client::open(ctx, rng).await, Client::open(ctx, rng).await) {
            (Ok(poller), Ok(writer)) => (poller, writer),
            (Err(short), _) | (_, Err(short)) => return short.note(PAIR, tally),
        };
    if !writer.recount(PAIR, model, tally).await {
        return;
    }
    if model.live.is_empty() {
        let spawn = (
            seed(
                1,
                "SPAWN",
                json!({"components": {"Owned": wrap(&json!({"owner": model.owner, "n": 0}))}}),
            ),
            Want::Spawned(Dialect::Seed),
        );
        if !writer.check(PAIR, spawn, model, tally).await || model.live.is_empty() {
            return;
        }
    }
    let (entity, mut n) = (model.live[0].id.clone(), model.live[0].n);
    let mut watermark = match poller
        .ask(&owned_poll(None))
        .await
        .map(|a| owned_answer(&a, model.owner, &entity))
    {
        Ok(Ok((watermark, got))) if got == n => watermark,
        Ok(Ok((_, got))) => return tally.problem(PAIR, format!("{entity} has n {got}, not {n}")),
        Ok(Err(wrong)) => return tally.problem(PAIR, wrong),
        Err(short) => return short.note(PAIR, tally),
    };
    for _ in 0..rng.between(3, 30) {
        let poll = owned_poll(Some(&watermark));
        if let Err(short) = poller.send(&poll).await {
            return short.note(PAIR, tally);
        }
        ctx.pause(rng.millis(0, 5)).await;
        n += 1;
        model.live[0].n = n;
        let value = json!({"owner": model.owner, "n": n});
        let dialect = Dialect::pick(rng);
        let insert = match dialect {
            Dialect::Seed => seed(
                2,
                "INSERT",
                json!({"entity": entity, "components": {"Owned": wrap(&value)}}),
            ),
            Dialect::Rpc => rpc(
                2,
                "world.insert_components",
                json!({"entity": crate::scene::bits(&entity), "components": {"Owned": value}}),
            ),
        };
        let written = Instant::now();
        if !writer
            .check(PAIR, (insert, Want::Done(dialect)), model, tally)
            .await
        {
            return;
        }
        // Answers made before the write (woken by another client's) show
        // the value before it; the next POLL then answers at once.
        let mut woken = false;
        for _ in 0..100 {
            let answer = match poller.answer(&poll).await {
                Ok(answer) => answer,
                Err(short) => return short.note(PAIR, tally),
            };
            match owned_answer(&answer, model.owner, &entity) {
                Ok((next, got)) if got == n => {
                    watermark = next;
                    woken = true;
                    tally.answer(PAIR);
                    tally.took(PAIR, "wake-up after the write", written.elapsed());
                    break;
                }
                Ok((next, got)) if got + 1 == n => {
                    tally.count(PAIR, "POLLs woken by another client");
                    watermark = next;
                    if let Err(short) = poller.send(&owned_poll(Some(&watermark))).await {
                        return short.note(PAIR, tally);
                    }
                }
                Ok((_, got)) => {
                    return tally.problem(PAIR, format!("{entity} has n {got}, not {n}: {answer}"));
                }
                Err(wrong) => return tally.problem(PAIR, wrong),
            }
        }
        if !woken {
            return tally.problem(PAIR, format!("a POLL never saw n {n} of {entity}"));
        }
    }
}
