//! POLL: a QUERY, or a read of one resource, that answers only once its
//! answer differs from the one its watermark stands for.
//!
//! A watermark is `"<tick>-<digest>"`: the world's change tick when the
//! answer was made (every change before it is in the answer, every change
//! after it carries a tick at least as new) and a digest of the answer's
//! shape (which entities matched, which `optional`/`has` components they
//! had). A POLL with a watermark answers when the digest differs (an entity
//! entered or left, an optional component came or went) or when a selected
//! component of a matching entity changed at or after the tick. With
//! `filter.changed` it answers only the entities whose listed components
//! changed at or after the tick, once there is at least one or the match set
//! differs (then possibly with none: an entity left).
//!
//! A POLL of a resource (`params.resource`) answers `{"value", "watermark"}`,
//! with `value` `null` while the world does not hold the resource; its
//! digest stands for the resource and whether the world held it, so an
//! insertion or removal answers, and so does a write at or after the tick.

mod parked;
mod watch;

pub(crate) use parked::{Completion, Fired, Owner, Parked, ParkedPoll, Waiter};
pub(crate) use watch::{Outlet, Stream, Watch};

use crate::error::{BrpError, BrpResult};
use crate::params::{Params, echo};
use crate::protocol::Body;
use crate::world::Ecs;
use crate::world::components::ComponentRef;
use crate::world::json;
use crate::world::query::QuerySpec;
use crate::world::value::Form;
use bevy_ecs::change_detection::Tick;
use bevy_ecs::component::ComponentId;
use bevy_ecs::entity::Entity;
use bevy_ecs::query::QueryState;
use bevy_ecs::world::EntityRef;
use serde_json::Value;
use std::hash::{DefaultHasher, Hash, Hasher};
use std::time::Duration;

/// The point a POLL answer stands for.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct Watermark {
    tick: u32,
    digest: u64,
}

impl Watermark {
    /// Parses the opaque text a POLL answer carried.
    pub(crate) fn parse(text: &str) -> BrpResult<Self> {
        let malformed = || {
            BrpError::invalid_params(format!(
                "malformed watermark {:?}: pass back the watermark of a previous POLL answer",
                echo(text)
            ))
        };
        let (tick, digest) = text.split_once('-').ok_or_else(malformed)?;
        let mark = Self {
            tick: tick.parse().map_err(|_| malformed())?,
            digest: u64::from_str_radix(digest, 16).map_err(|_| malformed())?,
        };
        // Only the text an answer carried: no sign, no other spelling.
        if mark.to_text() != text {
            return Err(malformed());
        }
        Ok(mark)
    }

    /// The opaque text form.
    pub(crate) fn to_text(self) -> String {
        format!("{}-{:016x}", self.tick, self.digest)
    }
}

/// A parsed POLL request.
pub(crate) struct Poll {
    target: Target,
    watermark: Option<Watermark>,
    /// How long the POLL may stay parked before it fails with
    /// [`ErrorCode::Timeout`](crate::ErrorCode::Timeout); `None` waits for ever.
    pub timeout: Option<Duration>,
}

/// What a POLL watches.
enum Target {
    /// The answer of a QUERY (`data`, `filter`).
    Query {
        spec: QuerySpec,
        /// The spec's ECS query, built at the first evaluation and kept.
        query: Option<Box<QueryState<Entity>>>,
    },
    /// The value of one resource (`resource`), or its absence.
    Resource(ComponentRef),
}

impl Poll {
    /// Reads `{data, filter, watermark, timeout_ms}` or
    /// `{resource, watermark, timeout_ms}`.
    pub(crate) fn parse(params: &Params, host: &Ecs) -> BrpResult<Self> {
        let watermark = match params.get("watermark") {
            None => None,
            Some(Value::String(text)) => Some(Watermark::parse(text)?),
            Some(_) => {
                return Err(BrpError::invalid_params(
                    "params.watermark must be null or a string from a previous POLL answer",
                ));
            }
        };
        let timeout = match params.get("timeout_ms") {
            None => None,
            Some(ms) => Some(Duration::from_millis(ms.as_u64().ok_or_else(|| {
                BrpError::invalid_params("params.timeout_ms must be a non-negative integer")
            })?)),
        };
        let target = if params.has("resource") {
            if params.has("data") || params.has("filter") {
                return Err(BrpError::invalid_params(
                    "give params.resource, or params.data and params.filter, not both",
                ));
            }
            let name = params.str("resource")?;
            Target::Resource(host.names.resolve_resource(name)?.clone())
        } else {
            Target::Query {
                spec: QuerySpec::parse(params, host, true)?,
                query: None,
            }
        };
        Ok(Self {
            target,
            watermark,
            timeout,
        })
    }

    /// The answer, if the POLL should answer now; `None` to stay parked.
    pub(crate) fn answer(&mut self, host: &mut Ecs) -> BrpResult<Option<Body>> {
        match &mut self.target {
            Target::Query { spec, query } => {
                let query = match query {
                    Some(query) => query,
                    None => query.insert(Box::new(spec.query(host))),
                };
                query_answer(spec, query, self.watermark, host)
            }
            Target::Resource(resource) => resource_answer(resource, self.watermark, host),
        }
    }

    /// The components whose changes can change this POLL's answer; `None`
    /// when it matches every entity, so that any change may.
    pub(crate) fn watched(&self) -> Option<Vec<ComponentId>> {
        let spec = match &self.target {
            Target::Query { spec, .. } => spec,
            // Writes to a resource leave what they touched unknown
            // ([`Touched::All`](crate::world::touched::Touched::All)), which
            // wakes every parked POLL; this is for any narrower write.
            Target::Resource(resource) => return Some(vec![resource.id]),
        };
        if spec.components.is_empty() && spec.with.is_empty() {
            return None;
        }
        let selected = (spec.components.iter())
            .chain(&spec.optional)
            .chain(&spec.has)
            .map(|s| s.component.id);
        let filters = (spec.with.iter())
            .chain(&spec.without)
            .chain(&spec.changed)
            .map(|c| c.id);
        let mut ids: Vec<ComponentId> = selected.chain(filters).collect();
        ids.sort_unstable();
        ids.dedup();
        Some(ids)
    }
}

/// The answer of a POLL of `spec`, if it differs from the one `watermark`
/// stands for.
fn query_answer(
    spec: &QuerySpec,
    query: &mut QueryState<Entity>,
    watermark: Option<Watermark>,
    host: &Ecs,
) -> BrpResult<Option<Body>> {
    let now = host.world.read_change_tick();
    let entities = QuerySpec::matches_of(query, host);
    let digest = query_digest(spec, host, &entities);
    let since = watermark.map(|w| Tick::new(w.tick.wrapping_sub(1)));
    // Whether any of `ids` changed on `entity` at or after the watermark.
    let changed = |entity: EntityRef, ids: &[ComponentId]| {
        since.is_none_or(|since| {
            ids.iter().any(|&id| {
                entity
                    .get_change_ticks_by_id(id)
                    .is_some_and(|ticks| ticks.is_changed(since, now))
            })
        })
    };
    let rows: Vec<Entity> = if spec.changed.is_empty() {
        let selected: Vec<ComponentId> = (spec.components.iter())
            .chain(&spec.optional)
            .map(|s| s.component.id)
            .collect();
        let unchanged = watermark.is_some_and(|w| w.digest == digest)
            && !(entities.iter().filter_map(|&e| host.visible(e)))
                .any(|entity| changed(entity, &selected));
        if unchanged {
            return Ok(None);
        }
        entities
    } else {
        let watched: Vec<ComponentId> = spec.changed.iter().map(|c| c.id).collect();
        let rows: Vec<Entity> = entities
            .into_iter()
            .filter(|&e| {
                host.visible(e)
                    .is_some_and(|entity| changed(entity, &watched))
            })
            .collect();
        // Nothing changed and the same entities match: stay parked. When
        // an entity left the match set (e.g. was destroyed), answer even
        // with no rows, so the watcher learns of it.
        if rows.is_empty() && watermark.is_some_and(|w| w.digest == digest) {
            return Ok(None);
        }
        rows
    };
    host.check_rows(rows.len())?;
    let watermark = Watermark {
        tick: now.get(),
        digest,
    };
    let mut out = String::with_capacity(json::rows_capacity(rows.len()));
    out.push_str(r#"{"entities":"#);
    spec.rows(host, &rows).write(&mut out)?;
    out.push_str(r#","watermark":""#);
    out.push_str(&watermark.to_text());
    out.push_str(r#""}"#);
    Ok(Some(Body::written(out)))
}

/// Hashes which entities match and which optional components they have.
fn query_digest(spec: &QuerySpec, host: &Ecs, entities: &[Entity]) -> u64 {
    let mut hasher = DefaultHasher::new();
    for entity in entities.iter().filter_map(|&e| host.visible(e)) {
        entity.id().hash(&mut hasher);
        for selected in spec.optional.iter().chain(&spec.has) {
            entity.contains_id(selected.component.id).hash(&mut hasher);
        }
    }
    hasher.finish()
}

/// The answer of a POLL of `resource`, if it differs from the one
/// `watermark` stands for: the resource was inserted or removed, or written
/// at or after the watermark's tick.
fn resource_answer(
    resource: &ComponentRef,
    watermark: Option<Watermark>,
    host: &Ecs,
) -> BrpResult<Option<Body>> {
    let now = host.world.read_change_tick();
    let held = (host.resource_entity(resource)).map(|entity| host.world.entity(entity));
    // The resource's path sets these digests apart from other POLLs'.
    let mut hasher = DefaultHasher::new();
    ("resource", &*resource.path, held.is_some()).hash(&mut hasher);
    let digest = hasher.finish();
    if let Some(watermark) = watermark
        && watermark.digest == digest
    {
        let since = Tick::new(watermark.tick.wrapping_sub(1));
        let changed = held.is_some_and(|entity| {
            (entity.get_change_ticks_by_id(resource.id))
                .is_some_and(|ticks| ticks.is_changed(since, now))
        });
        if !changed {
            return Ok(None);
        }
    }
    let registry = host.registry.read();
    let mut reader = host.reader(&registry, Form::Wrapped);
    let value = match held {
        Some(entity) => reader.get(entity, resource).transpose()?,
        None => None,
    };
    let watermark = Watermark {
        tick: now.get(),
        digest,
    };
    Ok(Some(Body::written(format!(
        r#"{{"value":{},"watermark":"{}"}}"#,
        value.unwrap_or("null"),
        watermark.to_text()
    ))))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn watermarks_round_trip_and_reject_garbage() {
        let mark = Watermark {
            tick: 42,
            digest: 0xdead_beef,
        };
        assert_eq!(Watermark::parse(&mark.to_text()), Ok(mark));
        for bad in [
            "",
            "42",
            "x-1",
            "42-zz",
            "-1-1",
            "42-",
            "<some opaque value>",
            "1-+1",
            "+1-0000000000000001",
            "01-0000000000000001",
            "1-1",
        ] {
            assert!(Watermark::parse(bad).is_err(), "{bad}");
        }
    }
}
