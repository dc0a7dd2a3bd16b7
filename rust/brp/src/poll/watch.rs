//! The `+watch` methods of the JSON-RPC dialect (docs/protocol.md,
//! "Watches"): a parked request that answers at once with the current
//! state, then once after every change that concerns it, until it is
//! cancelled, its session closes or its entity goes.
//!
//! Like a POLL, a watch keeps the change tick of its last answer (every
//! change after it carries a tick at least as new) and what it saw then,
//! so an answer holds exactly what changed since the last one.

use crate::error::{BrpError, BrpResult, ErrorCode};
use crate::params::{self, Params};
use crate::protocol::{Body, Response, body};
use crate::world::Ecs;
use crate::world::components::{ComponentRef, NameKind};
use crate::world::json;
use crate::world::value::Form;
use bevy_ecs::change_detection::Tick;
use bevy_ecs::component::ComponentId;
use bevy_ecs::entity::Entity;
use serde::Serialize;
use serde_json::{Map, Value};
use std::collections::VecDeque;
use std::sync::{Arc, Mutex, PoisonError};

/// Delivers one answer of a watch's stream.
pub(crate) type Stream = Arc<dyn Fn(Response) + Send + Sync>;

/// What a watch reports.
pub(crate) enum Watched {
    /// `world.get_components+watch`: the values of these components,
    /// by the name the client gave (`None`: an unknown name, reported in
    /// `errors` when not strict).
    Values {
        components: Vec<(String, Option<ComponentRef>)>,
        strict: bool,
    },
    /// `world.list_components+watch`: which named components it has.
    List,
}

/// One watch of one entity.
pub(crate) struct Watch {
    entity: Entity,
    watched: Watched,
    /// The change tick of the last answer; `None` before the first.
    mark: Option<Tick>,
    /// The watched components the entity had at the last answer.
    present: Vec<ComponentId>,
}

impl Watch {
    /// Reads `{entity, components, strict}` (`list`: `{entity}`).
    pub(crate) fn parse(list: bool, params: &Params, host: &Ecs) -> BrpResult<Self> {
        let entity = host
            .entity_at(Form::Plain, params.required("entity")?, "params.entity")?
            .id();
        let watched = if list {
            Watched::List
        } else {
            let strict = match params.get("strict") {
                None => false,
                Some(Value::Bool(strict)) => *strict,
                Some(other) => {
                    return Err(BrpError::invalid_params(format!(
                        "params.strict must be true or false, got {}",
                        params::kind(other)
                    )));
                }
            };
            let names = params.names("components")?;
            host.check_names(&names, "params.components")?;
            let components = names
                .into_iter()
                .map(|name| match host.names.resolve(name) {
                    Ok(component) => Ok((name.to_owned(), Some(component.clone()))),
                    Err(error) if strict => Err(error),
                    Err(_) => Ok((name.to_owned(), None)),
                })
                .collect::<BrpResult<_>>()?;
            Watched::Values { components, strict }
        };
        Ok(Self {
            entity,
            watched,
            mark: None,
            present: Vec::new(),
        })
    }

    /// The components whose changes can change the next answer; `None`
    /// when any may (a list watch).
    pub(crate) fn watched(&self) -> Option<Vec<ComponentId>> {
        match &self.watched {
            Watched::Values { components, .. } => Some(
                components
                    .iter()
                    .filter_map(|(_, c)| Some(c.as_ref()?.id))
                    .collect(),
            ),
            Watched::List => None,
        }
    }

    /// The next answer, if anything changed since the last one (the first
    /// call always answers); an error ends the watch.
    pub(crate) fn answer(&mut self, host: &mut Ecs) -> BrpResult<Option<Body>> {
        let now = host.world.change_tick();
        let entity = host.existing(Form::Plain, self.entity)?;
        let since = self.mark.map(|mark| Tick::new(mark.get().wrapping_sub(1)));
        let answer = match &self.watched {
            Watched::Values { components, strict } => {
                let registry = host.registry.read();
                let mut reader = host.reader(&registry, Form::Plain);
                let mut out = String::with_capacity(128);
                out.push_str(r#"{"components":"#);
                let mut values = json::Object::new(&mut out);
                let mut answered = false;
                let mut removed = Vec::new();
                let mut present = Vec::new();
                for (name, component) in components {
                    let Some(component) = component else { continue };
                    if !entity.contains_id(component.id) {
                        if self.present.contains(&component.id) {
                            removed.push(name.as_str());
                        }
                        continue;
                    }
                    present.push(component.id);
                    let changed = since.is_none_or(|since| {
                        (entity.get_change_ticks_by_id(component.id))
                            .is_some_and(|ticks| ticks.is_changed(since, now))
                    }) || !self.present.contains(&component.id);
                    if changed && let Some(value) = reader.get(entity, component) {
                        values.key(name).push_str(value?);
                        answered = true;
                    }
                }
                values.end();
                self.present = present;
                if self.mark.is_some() && !answered && removed.is_empty() {
                    return Ok(None);
                }
                let errors: Map<String, Value> = (components.iter())
                    .filter(|(_, component)| component.is_none() && !strict)
                    .map(|(name, _)| {
                        let error = host.names.resolve(name).err().unwrap_or_else(|| {
                            BrpError::component(format!("unknown component `{name}`"))
                        });
                        (name.clone(), error.to_json())
                    })
                    .collect();
                out.push_str(r#","removed":"#);
                json::push(&mut out, &removed);
                if !strict {
                    out.push_str(r#","errors":"#);
                    json::push(&mut out, &errors);
                }
                out.push('}');
                Body::written(out)
            }
            Watched::List => {
                let mut present: Vec<(&str, ComponentId)> = (host.names.list())
                    .filter(|(c, _, kind)| *kind != NameKind::Resource && entity.contains_id(c.id))
                    .map(|(c, _, _)| (&*c.path, c.id))
                    .collect();
                present.sort_unstable();
                let mut added: Vec<&str> = (present.iter())
                    .filter(|(_, id)| !self.present.contains(id))
                    .map(|(path, _)| *path)
                    .collect();
                let mut removed: Vec<&str> = (host.names.list())
                    .filter(|(c, _, _)| {
                        self.present.contains(&c.id) && !present.iter().any(|(_, id)| *id == c.id)
                    })
                    .map(|(c, _, _)| &*c.path)
                    .collect();
                removed.sort_unstable();
                let first = self.mark.is_none();
                self.present = present.iter().map(|(_, id)| *id).collect();
                if !first && added.is_empty() && removed.is_empty() {
                    return Ok(None);
                }
                added.dedup();
                #[derive(Serialize)]
                struct Answer<'a> {
                    added: Vec<&'a str>,
                    removed: Vec<&'a str>,
                }
                body(&Answer { added, removed })?
            }
        };
        self.mark = Some(now);
        Ok(Some(answer))
    }
}

/// Where a watch's answers go, in the order they were made: answers are
/// queued under the world's lock and handed on after it is released, by
/// whichever thread gets there first, one at a time.
pub(crate) struct Outlet {
    queue: Mutex<VecDeque<(Response, bool)>>,
    /// The most answers that may wait in `queue` (`Config::max_watch_backlog`).
    limit: usize,
    /// Held by the thread handing answers on.
    delivering: Mutex<()>,
    stream: Stream,
    /// Takes the last answer (an error, or the cancellation).
    last: Mutex<Option<super::Completion>>,
}

impl Outlet {
    /// An outlet handing answers to `stream`, and the last to `last`, that
    /// holds at most `limit` answers not handed on yet.
    pub(crate) fn new(stream: Stream, last: super::Completion, limit: usize) -> Arc<Self> {
        Arc::new(Self {
            queue: Mutex::default(),
            limit,
            delivering: Mutex::new(()),
            stream,
            last: Mutex::new(Some(last)),
        })
    }

    /// Queues `response`; `last` when it ends the stream.
    pub(crate) fn push(&self, response: Response, last: bool) {
        lock(&self.queue).push_back((response, last));
    }

    /// The error that ends the watch when its next answer would find
    /// `limit` answers not handed on yet (their receiver is stuck), if so.
    pub(crate) fn backlog(&self, id: u64) -> Option<BrpError> {
        let waiting = lock(&self.queue).len();
        (waiting >= self.limit).then(|| {
            BrpError::new(
                ErrorCode::Cancelled,
                format!(
                    "watch {id} was cancelled: {waiting} of its answers wait to be handed \
                     on (Config.max_watch_backlog)"
                ),
            )
        })
    }

    /// Hands on every queued answer, in order. A thread that finds another
    /// handing them on leaves its answers to it, so a stream's callback
    /// that makes a change is never entered again from inside itself.
    pub(crate) fn flush(&self) {
        loop {
            let Ok(_delivering) = self.delivering.try_lock() else {
                return;
            };
            loop {
                let next = lock(&self.queue).pop_front();
                match next {
                    Some((response, false)) => (self.stream)(response),
                    Some((response, true)) => {
                        if let Some(last) = lock(&self.last).take() {
                            last(response);
                        }
                    }
                    None => break,
                }
            }
            drop(_delivering);
            if lock(&self.queue).is_empty() {
                return;
            }
        }
    }
}

fn lock<T>(mutex: &Mutex<T>) -> std::sync::MutexGuard<'_, T> {
    mutex.lock().unwrap_or_else(PoisonError::into_inner)
}
