//! The requests the well-behaved clients send, in both dialects
//! (docs/protocol.md), and the answer each must get: reads of the fixed
//! entities and of the writer's, and a model of the client's own entities
//! (`Owned` `{"owner", "n"}`), which only it touches.

use crate::ctx::Rng;
use crate::scene::{CHURN_MAX, CHURN_MIN, Fixed, NAME, bits, seed_id, wrap};
use serde_json::{Value, json};
use std::collections::{BTreeMap, VecDeque};

/// The most entities one client owns at once.
pub(crate) const OWN_MAX: usize = 4;

/// Error codes the clients expect (docs/protocol.md).
pub(crate) const INVALID_REQUEST: i64 = -32600;
pub(crate) const UNKNOWN_REQUEST: i64 = -32601;
pub(crate) const ENTITY_NOT_FOUND: i64 = -23401;
pub(crate) const CANCELLED: i64 = -23405;
pub(crate) const TIMEOUT: i64 = -23407;

/// The two dialects.
#[derive(Clone, Copy, PartialEq, Debug)]
pub(crate) enum Dialect {
    /// `{"id", "request", "params"}`.
    Seed,
    /// bevy_remote's JSON-RPC 2.0.
    Rpc,
}

impl Dialect {
    pub(crate) fn pick(rng: &mut Rng) -> Self {
        if rng.chance(50) {
            Self::Seed
        } else {
            Self::Rpc
        }
    }
}

/// A seed-dialect request.
pub(crate) fn seed(id: u64, request: &str, params: Value) -> String {
    json!({"id": id, "request": request, "params": params}).to_string()
}

/// A JSON-RPC request.
pub(crate) fn rpc(id: u64, method: &str, params: Value) -> String {
    json!({"jsonrpc": "2.0", "id": id, "method": method, "params": params}).to_string()
}

/// The body of an answer in either dialect (`response` or `result`), or
/// its error code.
pub(crate) fn outcome(answer: &Value) -> Result<&Value, i64> {
    if let Some(error) = answer.get("error") {
        return Err(error["code"].as_i64().unwrap_or(0));
    }
    (answer.get("response").or_else(|| answer.get("result"))).ok_or(0)
}

/// The value inside a seed-dialect `{"JSON": "<text>"}`.
fn inner(value: &Value) -> Option<Value> {
    serde_json::from_str(value.get("JSON")?.as_str()?).ok()
}

/// A component value in `dialect`'s form, as plain JSON.
fn plain(dialect: Dialect, value: &Value) -> Option<Value> {
    match dialect {
        Dialect::Seed => inner(value),
        Dialect::Rpc => Some(value.clone()),
    }
}

/// The rows of a QUERY answer in `dialect`, as (seed-dialect id, value of
/// `component` as plain JSON).
fn rows(dialect: Dialect, body: &Value, component: &str) -> Option<Vec<(String, Value)>> {
    let (list, id, values) = match dialect {
        Dialect::Seed => (body.get("entities")?, "id", None),
        Dialect::Rpc => (body, "entity", Some("components")),
    };
    (list.as_array()?.iter())
        .map(|row| {
            let id = match dialect {
                Dialect::Seed => row[id].as_str()?.to_owned(),
                Dialect::Rpc => seed_id(row[id].as_u64()?),
            };
            let value = values.map_or(row, |values| &row[values]).get(component)?;
            Some((id, plain(dialect, value)?))
        })
        .collect()
}

/// The QUERY of every entity with `with`, selecting `component`.
fn query(dialect: Dialect, id: u64, component: &str, with: &str) -> String {
    let params = json!({"data": {"components": [component]}, "filter": {"with": [with]}});
    match dialect {
        Dialect::Seed => seed(id, "QUERY", params),
        Dialect::Rpc => rpc(id, "world.query", params),
    }
}

/// The answer a request must get.
#[derive(Debug)]
pub(crate) enum Want {
    /// PING: `{"status": "OK"}`.
    Pong,
    /// A write: `{"status": "OK"}` in the seed dialect, `null` in JSON-RPC.
    Done(Dialect),
    /// GET of fixed entity `.0`: exactly its `Fixed` value.
    Fixed(usize, Dialect),
    /// QUERY of `Fixed`: exactly the fixed entities, with their values.
    AllFixed(Dialect),
    /// QUERY of the writer's entities: between [`CHURN_MIN`] and
    /// [`CHURN_MAX`] of them, each named `churn-…`.
    Churn(Dialect),
    /// SPAWN of an own entity: its id.
    Spawned(Dialect),
    /// GET of an own entity: exactly this `n`.
    Own(Dialect, u64),
    /// QUERY of `Owned`: exactly these own entities with these `n`.
    Owns(Dialect, BTreeMap<String, u64>),
    /// This error.
    Error(i64),
    /// -32600 naming this limit.
    Refused(&'static str),
}

impl Want {
    /// Checks `answer` of a client with `owner`; for a SPAWN, the new
    /// entity's id.
    pub(crate) fn check(
        &self,
        fixed: &[Fixed],
        owner: u64,
        answer: &Value,
    ) -> Result<Option<String>, String> {
        let wrong = || Err(format!("expected {self:?}, got {answer}"));
        let body = match (self, outcome(answer)) {
            (Self::Error(want), Err(got)) if *want == got => return Ok(None),
            (Self::Refused(limit), Err(INVALID_REQUEST)) => {
                let message = answer["error"]["message"].as_str().unwrap_or_default();
                return if message.contains(limit) {
                    Ok(None)
                } else {
                    wrong()
                };
            }
            (Self::Error(_) | Self::Refused(_), _) | (_, Err(_)) => return wrong(),
            (_, Ok(body)) => body,
        };
        let fine = match self {
            Self::Pong => body["status"] == "OK",
            Self::Done(Dialect::Seed) => body["status"] == "OK",
            Self::Done(Dialect::Rpc) => body.is_null(),
            Self::Fixed(index, dialect) => {
                let value = match dialect {
                    Dialect::Seed => &body["components"]["Fixed"],
                    Dialect::Rpc => &body["Fixed"],
                };
                plain(*dialect, value) == Some(fixed[*index].value())
            }
            Self::AllFixed(dialect) => {
                let want: Vec<(String, Value)> =
                    fixed.iter().map(|f| (f.id.clone(), f.value())).collect();
                rows(*dialect, body, "Fixed") == Some(want)
            }
            Self::Churn(dialect) => {
                let name = if *dialect == Dialect::Seed {
                    "Name"
                } else {
                    NAME
                };
                rows(*dialect, body, name).is_some_and(|rows| {
                    (CHURN_MIN..=CHURN_MAX).contains(&rows.len())
                        && (rows.iter())
                            .all(|(_, name)| name.as_str().is_some_and(|n| n.starts_with("churn-")))
                })
            }
            Self::Spawned(dialect) => {
                let id = match dialect {
                    Dialect::Seed => body["entity"].as_str().map(str::to_owned),
                    Dialect::Rpc => body["entity"].as_u64().map(seed_id),
                };
                return match id {
                    Some(id) => Ok(Some(id)),
                    None => wrong(),
                };
            }
            Self::Own(dialect, n) => {
                let value = match dialect {
                    Dialect::Seed => &body["components"]["Owned"],
                    Dialect::Rpc => &body["Owned"],
                };
                plain(*dialect, value) == Some(json!({"owner": owner, "n": n}))
            }
            Self::Owns(dialect, want) => rows(*dialect, body, "Owned").is_some_and(|rows| {
                let mine: BTreeMap<String, u64> = (rows.into_iter())
                    .filter(|(_, value)| value["owner"] == owner)
                    .filter_map(|(id, value)| Some((id, value["n"].as_u64()?)))
                    .collect();
                mine == *want
            }),
            Self::Error(_) | Self::Refused(_) => false,
        };
        if fine { Ok(None) } else { wrong() }
    }
}

/// An entity a client owns, as it last wrote it.
pub(crate) struct Own {
    /// Its id in the seed dialect.
    pub(crate) id: String,
    pub(crate) n: u64,
}

/// A client's model of its own entities.
pub(crate) struct Model {
    pub(crate) owner: u64,
    pub(crate) live: Vec<Own>,
    /// Ids of destroyed entities, for requests that must not find them.
    stale: VecDeque<String>,
    /// SPAWNs sent whose answers have not come yet.
    pub(crate) spawning: usize,
    /// Set when a write may or may not have been carried out (its answer
    /// was lost): the client then asks the world ([`Model::census`]).
    pub(crate) unsure: bool,
}

impl Model {
    pub(crate) fn new(owner: u64) -> Self {
        Self {
            owner,
            live: Vec::new(),
            stale: VecDeque::new(),
            spawning: 0,
            unsure: false,
        }
    }

    fn value(&self, n: u64) -> Value {
        json!({"owner": self.owner, "n": n})
    }

    /// A request about the scene or the client's own entities, with the
    /// answer it must get. The model changes at once as the request will
    /// change the world: a connection's requests are carried out in the
    /// order they arrive (docs/server.md), so later requests see it.
    pub(crate) fn next(&mut self, rng: &mut Rng, fixed: &[Fixed], id: u64) -> (String, Want) {
        let dialect = Dialect::pick(rng);
        let owned = self.live.len() + self.spawning;
        match rng.below(100) {
            0..8 => (seed(id, "PING", Value::Null), Want::Pong),
            8..23 => {
                let index = rng.below(fixed.len() as u64) as usize;
                let f = &fixed[index];
                let text = match dialect {
                    Dialect::Seed => {
                        seed(id, "GET", json!({"entity": f.id, "components": ["Fixed"]}))
                    }
                    Dialect::Rpc => rpc(
                        id,
                        "world.get_components",
                        json!({"entity": f.bits, "components": ["Fixed"], "strict": true}),
                    ),
                };
                (text, Want::Fixed(index, dialect))
            }
            23..31 => (
                query(dialect, id, "Fixed", "Fixed"),
                Want::AllFixed(dialect),
            ),
            31..39 => {
                let name = if dialect == Dialect::Seed {
                    "Name"
                } else {
                    NAME
                };
                (query(dialect, id, name, "Churn"), Want::Churn(dialect))
            }
            39..49 if owned < OWN_MAX => self.spawn(dialect, id),
            49..64 if !self.live.is_empty() => {
                let at = rng.below(self.live.len() as u64) as usize;
                self.live[at].n += 1;
                let (entity, value) = (&self.live[at].id, self.value(self.live[at].n));
                let text = match dialect {
                    Dialect::Seed => seed(
                        id,
                        "INSERT",
                        json!({"entity": entity, "components": {"Owned": wrap(&value)}}),
                    ),
                    Dialect::Rpc => rpc(
                        id,
                        "world.insert_components",
                        json!({"entity": bits(entity), "components": {"Owned": value}}),
                    ),
                };
                (text, Want::Done(dialect))
            }
            64..76 if !self.live.is_empty() => {
                let own = &self.live[rng.below(self.live.len() as u64) as usize];
                (get(dialect, id, &own.id), Want::Own(dialect, own.n))
            }
            39..82 if !self.live.is_empty() => {
                let own = self
                    .live
                    .swap_remove(rng.below(self.live.len() as u64) as usize);
                self.stale.push_back(own.id.clone());
                if self.stale.len() > 8 {
                    self.stale.pop_front();
                }
                (destroy(dialect, id, &own.id), Want::Done(dialect))
            }
            39..82 if owned < OWN_MAX => self.spawn(dialect, id),
            82..87 if !self.stale.is_empty() => {
                let entity = rng.pick(self.stale.make_contiguous());
                (get(dialect, id, entity), Want::Error(ENTITY_NOT_FOUND))
            }
            87..94 if self.spawning == 0 => {
                let want = self
                    .live
                    .iter()
                    .map(|own| (own.id.clone(), own.n))
                    .collect();
                (
                    query(dialect, id, "Owned", "Owned"),
                    Want::Owns(dialect, want),
                )
            }
            94.. if dialect == Dialect::Seed => {
                (seed(id, "NOPE", Value::Null), Want::Error(UNKNOWN_REQUEST))
            }
            94.. => (
                rpc(id, "world.nope", Value::Null),
                Want::Error(UNKNOWN_REQUEST),
            ),
            _ => (seed(id, "PING", Value::Null), Want::Pong),
        }
    }

    /// A SPAWN of a new own entity.
    pub(crate) fn spawn(&mut self, dialect: Dialect, id: u64) -> (String, Want) {
        self.spawning += 1;
        let value = self.value(0);
        let text = match dialect {
            Dialect::Seed => seed(id, "SPAWN", json!({"components": {"Owned": wrap(&value)}})),
            Dialect::Rpc => rpc(
                id,
                "world.spawn_entity",
                json!({"components": {"Owned": value}}),
            ),
        };
        (text, Want::Spawned(dialect))
    }

    /// Takes in the entity a SPAWN made (`None`: the SPAWN failed).
    pub(crate) fn spawned(&mut self, id: Option<String>) {
        self.spawning = self.spawning.saturating_sub(1);
        if let Some(id) = id {
            self.live.push(Own { id, n: 0 });
        }
    }

    /// The QUERY that tells which entities the client owns.
    pub(crate) fn census(id: u64) -> String {
        query(Dialect::Seed, id, "Owned", "Owned")
    }

    /// Rebuilds the model from the answer to [`Model::census`] (a DESTROY
    /// whose answer was lost may not have been carried out: the stale ids
    /// are forgotten).
    pub(crate) fn recount(&mut self, answer: &Value) -> Result<(), String> {
        let body =
            outcome(answer).map_err(|code| format!("the census answered {code}: {answer}"))?;
        let rows = rows(Dialect::Seed, body, "Owned")
            .ok_or_else(|| format!("a census answer {answer}"))?;
        self.live = (rows.into_iter())
            .filter(|(_, value)| value["owner"] == self.owner)
            .filter_map(|(id, value)| {
                Some(Own {
                    id,
                    n: value["n"].as_u64()?,
                })
            })
            .collect();
        self.spawning = 0;
        self.stale.clear();
        self.unsure = false;
        Ok(())
    }

    /// A DESTROY of one of the client's entities, if it has one.
    pub(crate) fn destroy_one(&mut self, rng: &mut Rng, id: u64) -> Option<(String, Want)> {
        let own = self.live.pop()?;
        let dialect = Dialect::pick(rng);
        self.stale.push_back(own.id.clone());
        Some((destroy(dialect, id, &own.id), Want::Done(dialect)))
    }
}

/// GET of an entity's `Owned`.
pub(crate) fn get(dialect: Dialect, id: u64, entity: &str) -> String {
    match dialect {
        Dialect::Seed => seed(
            id,
            "GET",
            json!({"entity": entity, "components": ["Owned"]}),
        ),
        Dialect::Rpc => rpc(
            id,
            "world.get_components",
            json!({"entity": bits(entity), "components": ["Owned"], "strict": true}),
        ),
    }
}

/// DESTROY of an entity.
fn destroy(dialect: Dialect, id: u64, entity: &str) -> String {
    match dialect {
        Dialect::Seed => seed(id, "DESTROY", json!({"entity": entity})),
        Dialect::Rpc => rpc(id, "world.despawn_entity", json!({"entity": bits(entity)})),
    }
}
