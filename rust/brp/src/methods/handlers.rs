//! The request handlers: each reads its params, validates everything, and
//! only then touches the world, so a failed request changes nothing.

use crate::entity_id;
use crate::error::{BrpError, BrpResult, ErrorCode};
use crate::params::{self, Params};
use crate::protocol::{Body, body, ok};
use crate::world::Ecs;
use crate::world::components::ComponentRef;
use crate::world::query::{QuerySpec, Rows};
use crate::world::value::{self, Bundle};
use bevy_ecs::entity::Entity;
use bevy_ecs::hierarchy::{ChildOf, Children};
use serde::{Serialize, Serializer};
use serde_json::{Map, Value, json};

/// PING: `{}` → `{"status": "OK"}`.
pub(crate) fn ping(_: &mut Ecs, _: &Params) -> BrpResult<Body> {
    ok()
}

/// GET: `{entity, components}` → `{"components": {name: {"JSON": text}}}`.
///
/// Every named component must be present; otherwise the error lists the
/// missing ones.
pub(crate) fn get(host: &mut Ecs, params: &Params) -> BrpResult<Body> {
    let names = params.names("components")?;
    host.check_names(&names, "params.components")?;
    let components = names
        .iter()
        .map(|name| host.names.resolve(name))
        .collect::<BrpResult<Vec<_>>>()?;
    let id = params.str("entity")?;
    let entity = host.entity(id)?;
    let registry = host.registry.read();
    let mut values = Vec::with_capacity(names.len());
    let mut missing = Vec::new();
    for (name, component) in names.iter().zip(components) {
        match value::read(entity, component, &registry) {
            Some(text) => values.push((*name, text?)),
            None => missing.push(*name),
        }
    }
    if !missing.is_empty() {
        return Err(BrpError::new(
            ErrorCode::ComponentNotPresent,
            format!("entity {id} has no {}", quoted(&missing)),
        )
        .with_data(json!({ "missing": missing })));
    }
    /// `{name: {"JSON": text}}` in the order requested.
    struct Components<'a>(&'a [(&'a str, String)]);
    impl Serialize for Components<'_> {
        fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
            serializer.collect_map(
                self.0
                    .iter()
                    .map(|(name, text)| (name, value::Wrapped(text))),
            )
        }
    }
    #[derive(Serialize)]
    struct Answer<'a> {
        components: Components<'a>,
    }
    body(&Answer {
        components: Components(&values),
    })
}

/// QUERY: `{data, filter}` → `{"entities": [{"id", name: value, has-name: bool}]}`,
/// ordered by entity id.
pub(crate) fn query(host: &mut Ecs, params: &Params) -> BrpResult<Body> {
    let spec = QuerySpec::parse(params, host, false)?;
    let entities = spec.matches(host);
    host.check_rows(entities.len())?;
    #[derive(Serialize)]
    struct Answer<'a> {
        entities: Rows<'a>,
    }
    body(&Answer {
        entities: spec.rows(host, &entities),
    })
}

/// SPAWN: `{components}` → `{"entity": "<id>"}`.
pub(crate) fn spawn(host: &mut Ecs, params: &Params) -> BrpResult<Body> {
    let mut bundle = decode_all(host, params.object("components")?, None)?;
    bundle.declare(host)?;
    let registry = host.registry.read();
    let mut entity = host.world.spawn_empty();
    bundle.insert(&mut entity, &registry);
    let entity = entity.id();
    drop(registry);
    let mut touched = host.start_touching();
    host.touching(&mut touched, &[entity]);
    host.touched = touched;
    #[derive(Serialize)]
    struct Answer {
        entity: String,
    }
    body(&Answer {
        entity: entity_id::format(entity),
    })
}

/// DESTROY: `{entity}` → `{"status": "OK"}`. The entity's descendants
/// (through `Children`) are destroyed with it, as Bevy's `despawn` does.
pub(crate) fn destroy(host: &mut Ecs, params: &Params) -> BrpResult<Body> {
    let root = host.entity(params.str("entity")?)?.id();
    // Leaves first, so no despawn has children to despawn in turn: Bevy's
    // own despawn recurses once per level, and a deep hierarchy would
    // overflow the stack.
    let mut doomed = vec![root];
    let mut next = 0;
    while let Some(&entity) = doomed.get(next) {
        if let Some(children) = host.world.get::<Children>(entity) {
            doomed.extend(children.iter());
        }
        next += 1;
    }
    let mut touched = host.start_touching();
    host.touching(&mut touched, &doomed);
    for entity in doomed.into_iter().rev() {
        host.world.despawn(entity);
    }
    host.touched = touched;
    ok()
}

/// INSERT: `{entity, components}` → `{"status": "OK"}`; replaces existing values.
pub(crate) fn insert(host: &mut Ecs, params: &Params) -> BrpResult<Body> {
    let components = params.object("components")?;
    let entity = host.entity(params.str("entity")?)?.id();
    let mut bundle = decode_all(host, components, Some(entity))?;
    bundle.declare(host)?;
    let mut touched = host.start_touching();
    host.touching(&mut touched, &[entity]);
    let registry = host.registry.read();
    bundle.insert(&mut host.world.entity_mut(entity), &registry);
    drop(registry);
    host.touching(&mut touched, &[entity]);
    host.touched = touched;
    ok()
}

/// REMOVE: `{entity, components}` → `{"status": "OK"}`; absent components are ignored.
pub(crate) fn remove(host: &mut Ecs, params: &Params) -> BrpResult<Body> {
    let names = params.names("components")?;
    host.check_count(names.len(), "params.components")?;
    let entity = host.entity(params.str("entity")?)?.id();
    let ids = names
        .iter()
        .map(|name| writable(host, host.names.resolve(name)?, name).map(|c| c.id))
        .collect::<BrpResult<Vec<_>>>()?;
    let mut touched = host.start_touching();
    host.touching(&mut touched, &[entity]);
    let mut entity_mut = host.world.entity_mut(entity);
    for id in ids {
        entity_mut.remove_by_id(id);
    }
    host.touching(&mut touched, &[entity]);
    host.touched = touched;
    ok()
}

/// REPARENT: `{entity, parent}` → `{"status": "OK"}`. `parent: null` makes the
/// entity a root. The old parent's `Children` is updated in the same step.
pub(crate) fn reparent(host: &mut Ecs, params: &Params) -> BrpResult<Body> {
    let entity = host.entity(params.str("entity")?)?.id();
    let parent = match params.get("parent") {
        Some(Value::String(parent)) => Some(host.entity(parent)?.id()),
        Some(other) => {
            return Err(BrpError::invalid_params(format!(
                "params.parent must be an entity id or null, got {}",
                params::kind(other)
            )));
        }
        None if params.has("parent") => None,
        None => {
            return Err(BrpError::invalid_params(
                "missing params.parent (null makes the entity a root)",
            ));
        }
    };
    if let Some(parent) = parent {
        check_parent(host, Some(entity), parent)?;
    }
    let mut touched = host.start_touching();
    host.touching(&mut touched, &[entity]);
    let mut entity_mut = host.world.entity_mut(entity);
    match parent {
        Some(parent) => entity_mut.insert(ChildOf(parent)),
        None => entity_mut.remove::<ChildOf>(),
    };
    host.touching(&mut touched, &[entity]);
    host.touched = touched;
    ok()
}

/// Resolves and decodes every component of a SPAWN or INSERT, checking a
/// new `ChildOf` against `entity` (`None` for a new entity). Changes nothing.
fn decode_all(
    host: &Ecs,
    components: &Map<String, Value>,
    entity: Option<Entity>,
) -> BrpResult<Bundle> {
    host.check_count(components.len(), "params.components")?;
    let mut bundle = Bundle::default();
    for (name, wrapped) in components {
        let Some(component) = host.names.resolve_or_plan(name, host.config.auto_declare)? else {
            bundle.push_undeclared(name, value::decode_json(name, wrapped)?);
            continue;
        };
        writable(host, &component, name)?;
        let value = value::decode(name, &component, wrapped, &host.registry.read())?;
        if let Some(ChildOf(parent)) = value.downcast_ref::<ChildOf>() {
            let parent = host.visible(*parent).map(|p| p.id()).ok_or_else(|| {
                BrpError::new(
                    ErrorCode::EntityNotFound,
                    format!(
                        "`{name}` names entity {} which does not exist",
                        entity_id::format(*parent)
                    ),
                )
            })?;
            check_parent(host, entity, parent)?;
        }
        bundle.push(value);
    }
    Ok(bundle)
}

/// Rejects `Children`, which the hierarchy derives from `ChildOf`.
fn writable<'c>(
    host: &Ecs,
    component: &'c ComponentRef,
    name: &str,
) -> BrpResult<&'c ComponentRef> {
    if host.world.component_id::<Children>() == Some(component.id) {
        return Err(BrpError::component(format!(
            "`{name}` is kept by the hierarchy; change it with REPARENT or `ChildOf`"
        )));
    }
    Ok(component)
}

/// Fails if making `parent` the parent of `entity` would form a cycle.
fn check_parent(host: &Ecs, entity: Option<Entity>, parent: Entity) -> BrpResult<()> {
    let Some(entity) = entity else { return Ok(()) };
    let id = entity_id::format(entity);
    if parent == entity {
        return Err(BrpError::new(
            ErrorCode::SelfReparent,
            format!("cannot make {id} its own parent"),
        ));
    }
    let mut ancestor = parent;
    for _ in 0..host.world.entities().len() {
        match host.world.get::<ChildOf>(ancestor) {
            Some(&ChildOf(next)) if next == entity => {
                return Err(BrpError::new(
                    ErrorCode::SelfReparent,
                    format!(
                        "cannot make {id} a child of its own descendant {}",
                        entity_id::format(parent)
                    ),
                ));
            }
            Some(&ChildOf(next)) => ancestor = next,
            None => return Ok(()),
        }
    }
    Err(BrpError::internal(
        "the hierarchy above the new parent has a cycle",
    ))
}

/// `names` as `` `a`, `b` `` for messages.
fn quoted(names: &[&str]) -> String {
    names
        .iter()
        .map(|n| format!("`{n}`"))
        .collect::<Vec<_>>()
        .join(", ")
}
