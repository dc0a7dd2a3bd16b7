//! POLL: a QUERY that answers only once its answer differs from the one its
//! watermark stands for.
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

mod parked;

pub(crate) use parked::{Completion, Fired, Owner, Parked, ParkedPoll};

use crate::error::{BrpError, BrpResult};
use crate::params::{Params, echo};
use crate::protocol::{Body, body};
use crate::world::Ecs;
use crate::world::query::{QuerySpec, Rows};
use bevy_ecs::change_detection::Tick;
use bevy_ecs::component::ComponentId;
use bevy_ecs::entity::Entity;
use bevy_ecs::query::QueryState;
use bevy_ecs::world::EntityRef;
use serde::Serialize;
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
    spec: QuerySpec,
    /// The spec's ECS query, built at the first evaluation and kept.
    query: Option<QueryState<Entity>>,
    watermark: Option<Watermark>,
    /// How long the POLL may stay parked before it fails with
    /// [`ErrorCode::Timeout`](crate::ErrorCode::Timeout); `None` waits for ever.
    pub timeout: Option<Duration>,
}

impl Poll {
    /// Reads `{data, filter, watermark, timeout_ms}`.
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
        Ok(Self {
            spec: QuerySpec::parse(params, host, true)?,
            query: None,
            watermark,
            timeout,
        })
    }

    /// The answer, if the POLL should answer now; `None` to stay parked.
    pub(crate) fn answer(&mut self, host: &mut Ecs) -> BrpResult<Option<Body>> {
        let now = host.world.change_tick();
        let query = match &mut self.query {
            Some(query) => query,
            None => self.query.insert(self.spec.query(host)),
        };
        let entities = QuerySpec::matches_of(query, host);
        let digest = self.digest(host, &entities);
        let since = self.watermark.map(|w| Tick::new(w.tick.wrapping_sub(1)));
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
        let rows: Vec<Entity> = if self.spec.changed.is_empty() {
            let selected: Vec<ComponentId> = (self.spec.components.iter())
                .chain(&self.spec.optional)
                .map(|s| s.component.id)
                .collect();
            let unchanged = self.watermark.is_some_and(|w| w.digest == digest)
                && !(entities.iter().filter_map(|&e| host.visible(e)))
                    .any(|entity| changed(entity, &selected));
            if unchanged {
                return Ok(None);
            }
            entities
        } else {
            let watched: Vec<ComponentId> = self.spec.changed.iter().map(|c| c.id).collect();
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
            if rows.is_empty() && self.watermark.is_some_and(|w| w.digest == digest) {
                return Ok(None);
            }
            rows
        };
        host.check_rows(rows.len())?;
        let watermark = Watermark {
            tick: now.get(),
            digest,
        };
        #[derive(Serialize)]
        struct Answer<'a> {
            entities: Rows<'a>,
            watermark: String,
        }
        let answer = Answer {
            entities: self.spec.rows(host, &rows),
            watermark: watermark.to_text(),
        };
        body(&answer).map(Some)
    }

    /// The components whose changes can change this POLL's answer; `None`
    /// when it matches every entity, so that any change may.
    pub(crate) fn watched(&self) -> Option<Vec<ComponentId>> {
        let spec = &self.spec;
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

    /// Hashes which entities match and which optional components they have.
    fn digest(&self, host: &Ecs, entities: &[Entity]) -> u64 {
        let mut hasher = DefaultHasher::new();
        for entity in entities.iter().filter_map(|&e| host.visible(e)) {
            entity.id().hash(&mut hasher);
            for selected in self.spec.optional.iter().chain(&self.spec.has) {
                entity.contains_id(selected.component.id).hash(&mut hasher);
            }
        }
        hasher.finish()
    }
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
