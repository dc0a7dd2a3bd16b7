//! Well-behaved WebSocket sessions (docs/server.md, "WebSocket"): bursts
//! of requests in both dialects with many in flight, answered out of order
//! and matched by id; POLLs parked and then CANCELled, or timed out;
//! watches on the client's own entities while it renames them; pings; and
//! `max_in_flight` and `max_watches` reached on purpose. A session ends
//! with a close handshake, or by dropping the connection.

use super::http::clean_up;
use super::requests::{
    CANCELLED, Dialect, INVALID_REQUEST, Model, TIMEOUT, Want, outcome, rpc, seed,
};
use crate::ctx::{Ctx, Rng};
use crate::scene::{NAME, bits, wrap};
use crate::tally::Tally;
use crate::wire::{Ended, NoSocket, Socket, message, websocket};
use futures_util::SinkExt;
use serde_json::{Value, json};
use std::collections::{HashMap, VecDeque};
use std::sync::Arc;
use std::time::Duration;
use tokio_tungstenite::tungstenite::{Bytes, Message};

pub(super) const KIND: &str = "ws";

/// What a request in flight waits for.
enum Pending {
    /// An answer, checked against its want; the request's text.
    Request(String, Want),
    /// A POLL on `Never`: -23407 when it has a timeout, else -23405 once
    /// cancelled.
    Parked { timed: bool },
    /// A request sent with `max_in_flight` POLLs parked: -32600 naming the
    /// limit, or, if a POLL's timeout freed a place just before, a pong.
    OverLimit,
    /// A watch of an entity's name.
    Watch(Watch),
}

/// A watch of `world.get_components+watch` on an entity's `Name`.
struct Watch {
    entity: String,
    /// The rename its first answer must show ...
    from: u64,
    /// ... and the last one it showed.
    seen: Option<u64>,
    cancelled: bool,
}

/// Why a session ended early.
enum End {
    /// Closed by the server with 1013: message bytes held over
    /// `max_request_bytes_total`.
    Busy,
    /// The connection failed (closed, reset, a send refused): the server's
    /// right only while a crowd has it at `max_connections`, when it
    /// closes an idle connection to make room.
    Lost(String),
    /// A wrong answer, or none in time.
    Problem(String),
}

/// One session on one connection.
struct Session<'a> {
    ctx: &'a Ctx,
    socket: Socket,
    model: &'a mut Model,
    tally: &'a mut Tally,
    rng: &'a mut Rng,
    pending: HashMap<u64, Pending>,
    /// Payloads of pings sent, waiting for their pongs.
    pings: VecDeque<Bytes>,
    /// The last rename of each entity this session watches:
    /// `ws-<owner>-<k>`.
    names: HashMap<String, u64>,
    next_id: u64,
    /// The watermark of a POLL on `Never`, with which it parks.
    never: String,
}

/// Sessions one after another until the deadline.
pub(super) async fn sessions(ctx: Arc<Ctx>, owner: u64, mut rng: Rng) {
    let mut model = Model::new(owner);
    while !ctx.over() {
        let mut tally = Tally::default();
        session(&ctx, &mut model, &mut rng, &mut tally).await;
        ctx.record(tally);
        ctx.pause(rng.millis(0, 100)).await;
    }
    let mut tally = Tally::default();
    clean_up(&ctx, KIND, &mut model, &mut rng, &mut tally).await;
    ctx.record(tally);
}

async fn session(ctx: &Ctx, model: &mut Model, rng: &mut Rng, tally: &mut Tally) {
    tally.count(KIND, "sessions");
    let socket = match websocket(ctx, &[], false).await {
        Ok(socket) => socket,
        Err(NoSocket::Closed) if ctx.crowded() => {
            return tally.count(KIND, "refused (max_connections)");
        }
        Err(NoSocket::Status(503)) => return tally.count(KIND, "busy (HTTP 503)"),
        Err(other) => return tally.problem(KIND, format!("no WebSocket: {other:?}")),
    };
    let mut session = Session {
        ctx,
        socket,
        model,
        tally,
        rng,
        pending: HashMap::new(),
        pings: VecDeque::new(),
        names: HashMap::new(),
        next_id: 0,
        never: String::new(),
    };
    match session.run().await {
        Ok(()) => {}
        Err(End::Busy) => {
            session.tally.count(KIND, "busy (close 1013)");
            session.model.unsure = true;
        }
        Err(End::Lost(_)) if ctx.crowded() => {
            session
                .tally
                .count(KIND, "closed while idle (max_connections)");
            session.model.unsure = true;
        }
        Err(End::Lost(what) | End::Problem(what)) => {
            session.tally.problem(KIND, what);
            session.model.unsure = true;
        }
    }
}

impl Session<'_> {
    async fn run(&mut self) -> Result<(), End> {
        self.begin().await?;
        for _ in 0..self.rng.between(3, 15) {
            match self.rng.below(100) {
                0..40 => {
                    let count = self.rng.between(3, 12);
                    self.burst(count).await?;
                }
                40..60 => self.parks().await?,
                60..72 => self.over_in_flight().await?,
                72..90 => self.watches().await?,
                _ => self.pings().await?,
            }
            if self.ctx.over() {
                break;
            }
            self.ctx.pause(self.rng.millis(0, 20)).await;
        }
        if self.rng.chance(30) {
            while let Some((text, want)) = self.model.destroy_one(self.rng, self.next_id + 1) {
                self.request(text, want).await?;
            }
            self.drain().await?;
        }
        if self.rng.chance(60) {
            self.close().await
        } else {
            // Gone without a close: the server closes the session.
            self.tally.count(KIND, "sessions dropped");
            Ok(())
        }
    }

    /// Recounts the client's entities if unsure, and reads the watermark
    /// with which POLLs on `Never` park.
    async fn begin(&mut self) -> Result<(), End> {
        if self.model.unsure {
            let id = self.id();
            let answer = self.ask(id, Model::census(id)).await?;
            self.model.recount(&answer).map_err(End::Problem)?;
        }
        let id = self.id();
        let answer = self
            .ask(
                id,
                seed(id, "POLL", json!({"data": {"components": ["Never"]}})),
            )
            .await?;
        let watermark = outcome(&answer)
            .ok()
            .and_then(|body| body["watermark"].as_str());
        let watermark =
            watermark.ok_or_else(|| End::Problem(format!("a POLL on Never answered {answer}")))?;
        self.never = watermark.to_owned();
        Ok(())
    }

    fn id(&mut self) -> u64 {
        self.next_id += 1;
        self.next_id
    }

    async fn send(&mut self, id: u64, text: String, pending: Pending) -> Result<(), End> {
        self.put(Message::text(text)).await?;
        self.pending.insert(id, pending);
        Ok(())
    }

    /// Sends `message`; if the connection is gone, why.
    async fn put(&mut self, message: Message) -> Result<(), End> {
        let what = format!("cannot send {message}");
        match self.socket.send(message).await {
            Ok(()) => Ok(()),
            Err(e) => Err(self.lost(format!("{what}: {e}")).await),
        }
    }

    /// Why the connection failed under `what`: the close frame the
    /// server sent, if it is there behind the last answers.
    async fn lost(&mut self, what: String) -> End {
        for _ in 0..1000 {
            let read = tokio::time::timeout(Duration::from_millis(200), message(&mut self.socket));
            match read.await {
                Ok(Ok(_)) => {}
                Ok(Err(Ended::Closed(Some(1013)))) => return End::Busy,
                Ok(Err(ended)) => return End::Lost(format!("{what}; {ended}")),
                Err(_) => break,
            }
        }
        End::Lost(what)
    }

    /// Sends a request whose answer must be `want`.
    async fn request(&mut self, text: String, want: Want) -> Result<(), End> {
        let id = self.next_id + 1;
        self.next_id = id;
        self.send(id, text.clone(), Pending::Request(text, want))
            .await
    }

    /// Sends request `id` and waits for its answer; others are handled as
    /// they come.
    async fn ask(&mut self, id: u64, text: String) -> Result<Value, End> {
        self.put(Message::text(text)).await?;
        loop {
            match self.receive().await? {
                Some(answer) if answer["id"] == id => return Ok(answer),
                Some(answer) => self.answered(answer)?,
                None => {}
            }
        }
    }

    /// The next message: an answer, or `None` for a pong, checked against
    /// the pings sent.
    async fn receive(&mut self) -> Result<Option<Value>, End> {
        match message(&mut self.socket).await {
            Ok(Message::Text(text)) => {
                let answer = serde_json::from_str(&text)
                    .map_err(|e| End::Problem(format!("{e}: {text}")))?;
                Ok(Some(answer))
            }
            Ok(Message::Pong(payload)) => {
                if self.pings.pop_front() != Some(payload.clone()) {
                    return Err(End::Problem(format!("a pong {payload:?} for no ping")));
                }
                self.tally.count(KIND, "pongs");
                Ok(None)
            }
            Ok(Message::Ping(_) | Message::Frame(_) | Message::Close(_)) => Ok(None),
            Ok(Message::Binary(_)) => Err(End::Problem("a binary message".into())),
            Err(Ended::Closed(Some(1013))) => Err(End::Busy),
            Err(Ended::Timeout) => {
                let (pending, pings) = (self.pending.len(), self.pings.len());
                let what = format!("no answer in time, with {pending} in flight, {pings} pings");
                Err(End::Problem(what))
            }
            // The close of an idle connection at max_connections is 1000.
            Err(ended @ (Ended::Closed(Some(1000)) | Ended::Dropped(_))) => Err(End::Lost(
                format!("{ended} with {} in flight", self.pending.len()),
            )),
            Err(ended) => Err(End::Problem(format!(
                "{ended} with {} in flight",
                self.pending.len()
            ))),
        }
    }

    /// Reads until no request but parked POLLs and open watches waits.
    async fn drain(&mut self) -> Result<(), End> {
        self.drain_until(|s| {
            (s.pending.values())
                .all(|p| matches!(p, Pending::Parked { timed: false } | Pending::Watch(_)))
                && s.pings.is_empty()
        })
        .await
    }

    async fn drain_until(&mut self, done: impl Fn(&Self) -> bool) -> Result<(), End> {
        while !done(self) {
            if let Some(answer) = self.receive().await? {
                self.answered(answer)?;
            }
        }
        Ok(())
    }

    /// Checks an answer against what its id waits for.
    fn answered(&mut self, answer: Value) -> Result<(), End> {
        let problem = |what: String| Err(End::Problem(what));
        let Some(id) = answer["id"].as_u64() else {
            return problem(format!("an answer without an id: {answer}"));
        };
        let Some(pending) = self.pending.remove(&id) else {
            return problem(format!("an answer to nothing in flight: {answer}"));
        };
        match pending {
            Pending::Request(text, want) => {
                let checked = want.check(&self.ctx.fixed, self.model.owner, &answer);
                if let Want::Spawned(_) = want {
                    self.model.spawned(checked.as_ref().ok().cloned().flatten());
                }
                if let Err(wrong) = checked {
                    return problem(format!("{text}: {wrong}"));
                }
            }
            Pending::Parked { timed } => {
                let (want, what) = if timed {
                    (TIMEOUT, "POLL timeouts")
                } else {
                    (CANCELLED, "POLLs cancelled")
                };
                if outcome(&answer) != Err(want) {
                    return problem(format!("a parked POLL answered {answer}, not {want}"));
                }
                self.tally.count(KIND, what);
            }
            Pending::OverLimit => match outcome(&answer) {
                Err(INVALID_REQUEST) if answer.to_string().contains("max_in_flight") => {
                    self.tally.count(KIND, "max_in_flight refusals");
                }
                Ok(body) if body["status"] == "OK" => {
                    self.tally.count(KIND, "max_in_flight raced by a timeout")
                }
                _ => return problem(format!("over max_in_flight: {answer}")),
            },
            Pending::Watch(mut watch) => match outcome(&answer) {
                Err(CANCELLED) if watch.cancelled => self.tally.count(KIND, "watches cancelled"),
                Ok(body) => {
                    let prefix = format!("ws-{}-", self.model.owner);
                    let name = body["components"][NAME].as_str();
                    let k: Option<u64> = name.and_then(|n| n.strip_prefix(&prefix)?.parse().ok());
                    let written = self.names.get(&watch.entity).copied().unwrap_or(0);
                    let fine = match (k, watch.seen) {
                        (Some(k), None) => k == watch.from,
                        (Some(k), Some(seen)) => k > seen && k <= written,
                        (None, _) => false,
                    };
                    if !fine {
                        return problem(format!(
                            "watch of {}: {answer} after {:?}, {written} written last",
                            watch.entity, watch.seen
                        ));
                    }
                    watch.seen = k;
                    self.pending.insert(id, Pending::Watch(watch));
                }
                Err(_) => return problem(format!("watch of {}: {answer}", watch.entity)),
            },
        }
        self.tally.answer(KIND);
        Ok(())
    }

    /// `count` requests sent at once, then their answers, in any order.
    async fn burst(&mut self, count: u64) -> Result<(), End> {
        for _ in 0..count {
            let id = self.next_id + 1;
            let (text, want) = self.model.next(self.rng, &self.ctx.fixed, id);
            self.request(text, want).await?;
        }
        self.drain().await
    }

    fn parked(&mut self, id: u64, timeout_ms: Option<u64>) -> String {
        let mut params = json!({"data": {"components": ["Never"]}, "watermark": self.never});
        if let Some(timeout) = timeout_ms {
            params["timeout_ms"] = json!(timeout);
        }
        seed(id, "POLL", params)
    }

    /// POLLs parked among other requests, then CANCELled.
    async fn parks(&mut self) -> Result<(), End> {
        let mut parked = Vec::new();
        let count = self.rng.between(1, 6);
        for _ in 0..count {
            let id = self.id();
            let text = self.parked(id, None);
            self.send(id, text, Pending::Parked { timed: false })
                .await?;
            parked.push(id);
        }
        // With the parked ones, fewer than `max_in_flight` in flight.
        let room = self.ctx.limits.config.max_in_flight as u64 - count;
        let others = self.rng.between(1, room.min(8));
        self.burst(others).await?;
        for poll in parked {
            let id = self.next_id + 1;
            let cancel = seed(id, "CANCEL", json!({"id": poll}));
            self.request(cancel, Want::Pong).await?;
        }
        self.drain_until(|s| s.pending.is_empty()).await
    }

    /// `max_in_flight` POLLs parked with a timeout, and one request more:
    /// refused.
    async fn over_in_flight(&mut self) -> Result<(), End> {
        for _ in 0..self.ctx.limits.config.max_in_flight {
            let id = self.id();
            let timeout = self.rng.between(400, 800);
            let text = self.parked(id, Some(timeout));
            self.send(id, text, Pending::Parked { timed: true }).await?;
        }
        let id = self.id();
        self.send(id, seed(id, "PING", Value::Null), Pending::OverLimit)
            .await?;
        self.drain_until(|s| s.pending.is_empty()).await
    }

    /// Watches of the client's entities (up to `max_watches`, sometimes
    /// one more: refused), renames that each must show, then CANCELs.
    async fn watches(&mut self) -> Result<(), End> {
        if self.model.live.is_empty() {
            let id = self.next_id + 1;
            let (text, want) = self.model.spawn(Dialect::pick(self.rng), id);
            self.request(text, want).await?;
            self.drain().await?;
        }
        if self.model.live.is_empty() {
            return Ok(());
        }
        let max = self.ctx.limits.config.max_watches as u64;
        let count = self.rng.between(1, max);
        let entities: Vec<String> = (0..count as usize)
            .map(|i| self.model.live[i % self.model.live.len()].id.clone())
            .collect();
        self.names.clear();
        for entity in &entities {
            if !self.names.contains_key(entity) {
                self.names.insert(entity.clone(), 0);
                self.rename(entity, 0).await?;
            }
        }
        let mut watches = Vec::new();
        for entity in &entities {
            let id = self.id();
            let watch = Watch {
                entity: entity.clone(),
                from: 0,
                seen: None,
                cancelled: false,
            };
            self.send(id, watch_text(id, entity), Pending::Watch(watch))
                .await?;
            watches.push(id);
        }
        if count == max && self.rng.chance(70) {
            let id = self.next_id + 1;
            let refused = Want::Refused("max_watches");
            self.request(watch_text(id, &entities[0]), refused).await?;
            self.tally.count(KIND, "max_watches refusals");
        }
        self.drain_until(Self::watches_caught_up).await?;
        for _ in 0..self.rng.between(1, 5) {
            let renamed: Vec<(String, u64)> =
                self.names.iter().map(|(e, k)| (e.clone(), k + 1)).collect();
            for (entity, k) in renamed {
                self.names.insert(entity.clone(), k);
                self.rename(&entity, k).await?;
            }
            self.drain_until(Self::watches_caught_up).await?;
        }
        for watch in watches {
            if let Some(Pending::Watch(watch)) = self.pending.get_mut(&watch) {
                watch.cancelled = true;
            }
            let id = self.next_id + 1;
            self.request(seed(id, "CANCEL", json!({"id": watch})), Want::Pong)
                .await?;
        }
        self.drain_until(|s| s.pending.is_empty()).await
    }

    /// True when every request but the watches is answered, and each watch
    /// showed the last rename of its entity.
    fn watches_caught_up(&self) -> bool {
        (self.pending.values()).all(|pending| match pending {
            Pending::Watch(watch) => watch.seen == self.names.get(&watch.entity).copied(),
            _ => false,
        })
    }

    async fn rename(&mut self, entity: &str, k: u64) -> Result<(), End> {
        let id = self.next_id + 1;
        let name = wrap(&json!(format!("ws-{}-{k}", self.model.owner)));
        let text = seed(
            id,
            "INSERT",
            json!({"entity": entity, "components": {"Name": name}}),
        );
        self.request(text, Want::Done(Dialect::Seed)).await
    }

    /// WebSocket pings: each answered by a pong with its payload.
    async fn pings(&mut self) -> Result<(), End> {
        for _ in 0..self.rng.between(1, 4) {
            let payload = Bytes::from(self.rng.below(u64::MAX).to_be_bytes().to_vec());
            self.pings.push_back(payload.clone());
            self.put(Message::Ping(payload)).await?;
        }
        self.drain().await
    }

    /// The close handshake: the server answers with its close frame.
    async fn close(&mut self) -> Result<(), End> {
        let closed = self.socket.close(None).await;
        closed.map_err(|e| End::Problem(format!("cannot close: {e}")))?;
        loop {
            if message(&mut self.socket).await.is_err() {
                break;
            }
        }
        self.tally.count(KIND, "sessions closed");
        Ok(())
    }
}

/// A watch of `entity`'s `Name`.
fn watch_text(id: u64, entity: &str) -> String {
    let params = json!({"entity": bits(entity), "components": [NAME], "strict": true});
    rpc(id, "world.get_components+watch", params)
}
