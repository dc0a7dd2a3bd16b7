//! The world the server serves: a small scene of entities that never
//! change, a writer thread that keeps changing a few dozen others (renames,
//! spawns, destroys: a few per millisecond), and the census that keeps
//! the world's size in check.

use crate::ctx::Rng;
use crate::tally::Tally;
use brp::Host;
use serde_json::{Value, json};
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::thread::JoinHandle;
use std::time::Duration;

/// The dynamic components: `Fixed` on the scene's unchanging entities,
/// `Churn` on the writer's, `Owned` on the clients' own, and `Never`,
/// which no entity has (a POLL on it parks until cancelled or timed out).
const APP_CONFIG: &str = r#"{"components": ["Fixed", "Churn", "Owned", "Never"]}"#;

/// The full type path of `Name`, as JSON-RPC requests name it.
pub(crate) const NAME: &str = "bevy_ecs::name::Name";

/// How many entities never change.
const FIXED: u64 = 8;

/// The writer keeps between this many entities ...
pub(crate) const CHURN_MIN: usize = 16;
/// ... and this many.
pub(crate) const CHURN_MAX: usize = 48;

/// Requests the writer makes each millisecond.
const WRITES_PER_MS: usize = 3;

/// Kind of the writer in the tally.
const WRITER: &str = "writer";

/// An entity of the scene that never changes: `Name` `fixed-<n>`, `Fixed`
/// `{"n": n}`.
pub(crate) struct Fixed {
    /// Its id in the seed dialect, `"<index>v<generation>"`.
    pub(crate) id: String,
    /// Its id in JSON-RPC, `Entity::to_bits`.
    pub(crate) bits: u64,
    pub(crate) n: u64,
}

impl Fixed {
    /// Its `Fixed` value.
    pub(crate) fn value(&self) -> Value {
        json!({"n": self.n})
    }
}

/// The id of `bits` in the seed dialect (docs/protocol.md: the low 32 bits
/// hold the index inverted, the high 32 the generation).
pub(crate) fn seed_id(bits: u64) -> String {
    format!("{}v{}", !(bits as u32), bits >> 32)
}

/// The JSON-RPC id of a seed-dialect id.
pub(crate) fn bits(id: &str) -> Option<u64> {
    let (index, generation) = id.split_once('v')?;
    let (index, generation): (u32, u32) = (index.parse().ok()?, generation.parse().ok()?);
    Some(u64::from(!index) | (u64::from(generation) << 32))
}

/// The host and its scene: the fixed entities and the writer's first ones.
pub(crate) fn build() -> Result<(Host, Vec<Fixed>), String> {
    let host = Host::from_config_json(APP_CONFIG).map_err(|e| e.message)?;
    let ok = |text: String| -> Result<Value, String> {
        let answer: Value =
            serde_json::from_str(&host.request(&text)).map_err(|e| e.to_string())?;
        match answer.get("response").or_else(|| answer.get("result")) {
            Some(body) => Ok(body.clone()),
            None => Err(format!("building the scene: {text} answered {answer}")),
        }
    };
    let mut fixed = Vec::new();
    for n in 0..FIXED {
        let components =
            json!({"Name": wrap(&json!(format!("fixed-{n}"))), "Fixed": wrap(&json!({"n": n}))});
        let spawned = ok(
            json!({"id": 1, "request": "SPAWN", "params": {"components": components}}).to_string(),
        )?;
        let id = spawned["entity"].as_str().unwrap_or_default().to_owned();
        let bits = bits(&id).ok_or(format!("a SPAWN answered {spawned}"))?;
        fixed.push(Fixed { id, bits, n });
    }
    // The two dialects name the same entities (the conversion is right).
    let rows = ok(json!({"jsonrpc": "2.0", "id": 1, "method": "world.query",
                         "params": {"data": {"components": ["Fixed"]}, "filter": {"with": ["Fixed"]}}})
    .to_string())?;
    let listed: Vec<(u64, Value)> = (rows.as_array().into_iter().flatten())
        .filter_map(|row| Some((row["entity"].as_u64()?, row["components"]["Fixed"].clone())))
        .collect();
    let expected: Vec<(u64, Value)> = fixed.iter().map(|f| (f.bits, f.value())).collect();
    if listed != expected || fixed.iter().any(|f| seed_id(f.bits) != f.id) {
        return Err(format!(
            "the scene's ids do not convert: {listed:?} vs {expected:?}"
        ));
    }
    for k in 0..CHURN_MIN as u64 {
        ok(spawn_churn(k))?;
    }
    Ok((host, fixed))
}

/// `{"JSON": "<value as text>"}`, a value in the seed dialect.
pub(crate) fn wrap(value: &Value) -> Value {
    json!({"JSON": value.to_string()})
}

fn spawn_churn(k: u64) -> String {
    let components =
        json!({"Name": wrap(&json!(format!("churn-{k}"))), "Churn": wrap(&json!({"k": k}))});
    json!({"id": 1, "request": "SPAWN", "params": {"components": components}}).to_string()
}

/// Starts the writer: [`WRITES_PER_MS`] requests a millisecond on the
/// `Churn` entities, which only it touches, so each must succeed; until
/// `stop` is set, once the clients are done (a POLL parked at the
/// deadline is still woken). Returns its tally.
pub(crate) fn writer(host: &Host, stop: Arc<AtomicBool>, seed: u64) -> JoinHandle<Tally> {
    let host = host.clone();
    std::thread::Builder::new()
        .name(WRITER.into())
        .spawn(move || write(&host, &stop, seed))
        .expect("start the writer")
}

fn write(host: &Host, stop: &AtomicBool, seed: u64) -> Tally {
    let mut rng = Rng::new(seed);
    let mut tally = Tally::default();
    let query =
        r#"{"id": 1, "request": "QUERY", "params": {"data": {}, "filter": {"with": ["Churn"]}}}"#;
    let answer: Value = serde_json::from_str(&host.request(query)).unwrap_or_default();
    let mut live: Vec<String> = (answer["response"]["entities"]
        .as_array()
        .into_iter()
        .flatten())
    .filter_map(|row| Some(row["id"].as_str()?.to_owned()))
    .collect();
    let mut next = CHURN_MIN as u64;
    while !stop.load(Ordering::Relaxed) {
        for _ in 0..WRITES_PER_MS {
            let roll = rng.below(100);
            let (what, text) = if (roll < 20 && live.len() < CHURN_MAX) || live.len() <= CHURN_MIN {
                next += 1;
                ("spawns", spawn_churn(next))
            } else if roll < 40 {
                let id = live.swap_remove(rng.below(live.len() as u64) as usize);
                (
                    "destroys",
                    json!({"id": 1, "request": "DESTROY", "params": {"entity": id}}).to_string(),
                )
            } else {
                let id = rng.pick(&live);
                let name = wrap(&json!(format!("churn-{}", rng.below(1_000_000))));
                let params = json!({"entity": id, "components": {"Name": name}});
                (
                    "renames",
                    json!({"id": 1, "request": "INSERT", "params": params}).to_string(),
                )
            };
            let response = host.respond(&text);
            match &response.result {
                Ok(body) if what == "spawns" => {
                    let body: Value = serde_json::from_str(body.get()).unwrap_or_default();
                    match body["entity"].as_str() {
                        Some(id) => live.push(id.to_owned()),
                        None => tally.problem(WRITER, format!("{text} answered {body}")),
                    }
                }
                Ok(_) => {}
                Err(e) => tally.problem(WRITER, format!("{text} answered {}", e.message)),
            }
            tally.count(WRITER, what);
        }
        std::thread::sleep(Duration::from_millis(1));
    }
    tally
}

/// Spawned entities and allocated entity indices.
fn entity_counts(host: &Host) -> (u32, u32) {
    host.read(|world| (world.entities().count_spawned(), world.entities().len()))
}

/// Entity counts sampled while the soak runs, against the workload's
/// bound.
pub(crate) struct Census {
    /// Entities at start, plus what the workload may add: the writer's
    /// most, and each client's own.
    pub(crate) bound: u32,
    /// The most entity indices the bound explains: twice it, and at least
    /// 4096. Bevy's table of indices grows by doubling, and freed indices
    /// wait in batches before they are reused; at the writer's rate (some
    /// 600 spawns a second), indices that were never reused would pass it
    /// within seconds.
    pub(crate) index_bound: u32,
    pub(crate) max_spawned: u32,
    pub(crate) max_allocated: u32,
    /// The first sample over a bound.
    pub(crate) over: Option<String>,
}

impl Census {
    /// A census of `host`, whose clients may own `owned` entities at once.
    pub(crate) fn new(host: &Host, owned: usize) -> Self {
        let (spawned, allocated) = entity_counts(host);
        let bound = spawned + (CHURN_MAX - CHURN_MIN + owned) as u32;
        Self {
            bound,
            index_bound: (2 * bound).next_power_of_two().max(4096),
            max_spawned: spawned,
            max_allocated: allocated,
            over: None,
        }
    }

    /// Counts the entities now; returns how many are spawned.
    pub(crate) fn sample(&mut self, host: &Host, at: Duration) -> u32 {
        let (spawned, allocated) = entity_counts(host);
        self.max_spawned = self.max_spawned.max(spawned);
        self.max_allocated = self.max_allocated.max(allocated);
        if self.over.is_none() && (spawned > self.bound || allocated > self.index_bound) {
            self.over = Some(format!(
                "at {:.0} s: {spawned} entities spawned (bound {}), {allocated} indices allocated (bound {})",
                at.as_secs_f64(),
                self.bound,
                self.index_bound
            ));
        }
        spawned
    }
}
