//! The request handlers: each reads its params, validates everything, and
//! only then touches the world, so a failed request changes nothing.

use crate::error::{BrpError, BrpResult, ErrorCode};
use crate::params::echo;
use crate::params::{self, Params};
use crate::protocol::{Body, body, ok};
use crate::world::components::{ComponentRef, Kind, NameKind};
use crate::world::json;
use crate::world::query::QuerySpec;
use crate::world::value::{self, Bundle};
use crate::world::{self, Ecs};
use bevy_ecs::entity::Entity;
use bevy_ecs::hierarchy::{ChildOf, Children};
use serde::Serialize;
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
    let entity = host.entity_at(params.required("entity")?, "params.entity")?;
    let registry = host.registry.read();
    let mut reader = host.reader(&registry, host.form);
    let mut out = String::with_capacity(128);
    out.push_str(r#"{"components":"#);
    let mut values = json::Object::new(&mut out);
    let mut missing = Vec::new();
    for (name, component) in names.iter().zip(components) {
        match reader.get(entity, component) {
            Some(value) => values.key(name).push_str(value?),
            None => missing.push(*name),
        }
    }
    values.end();
    if !missing.is_empty() {
        return Err(BrpError::new(
            ErrorCode::ComponentNotPresent,
            format!(
                "entity {} has no {}",
                host.describe(entity.id()),
                quoted(&missing)
            ),
        )
        .with_data(json!({ "missing": missing })));
    }
    out.push('}');
    Ok(Body::written(out))
}

/// QUERY: `{data, filter}` → `{"entities": [{"id", name: value, has-name: bool}]}`,
/// ordered by entity id.
pub(crate) fn query(host: &mut Ecs, params: &Params) -> BrpResult<Body> {
    let spec = QuerySpec::parse(params, host, false)?;
    let entities = spec.matches(host);
    host.check_rows(entities.len())?;
    let mut out = String::with_capacity(json::rows_capacity(entities.len()));
    out.push_str(r#"{"entities":"#);
    spec.rows(host, &entities).write(&mut out)?;
    out.push('}');
    Ok(Body::written(out))
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
        entity: value::EntityOut,
    }
    body(&Answer {
        entity: host.form.entity(entity),
    })
}

/// DESTROY: `{entity}` → `{"status": "OK"}`. The entity's descendants
/// (through `Children`) are destroyed with it, as Bevy's `despawn` does.
pub(crate) fn destroy(host: &mut Ecs, params: &Params) -> BrpResult<Body> {
    let root = entity_param(host, params)?;
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
    let entity = entity_param(host, params)?;
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
    let entity = entity_param(host, params)?;
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
    let entity = entity_param(host, params)?;
    let parent = match params.get("parent") {
        Some(parent @ Value::String(_)) => Some(host.entity_at(parent, "params.parent")?.id()),
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

/// The entity `params.entity` names.
fn entity_param(host: &Ecs, params: &Params) -> BrpResult<Entity> {
    Ok(host
        .entity_at(params.required("entity")?, "params.entity")?
        .id())
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
            bundle.push_undeclared(name, value::decode_json(name, wrapped, host.form)?);
            continue;
        };
        writable(host, &component, name)?;
        let value = value::decode(name, &component, wrapped, &host.registry.read(), host.form)?;
        if let Some(ChildOf(parent)) = value.downcast_ref::<ChildOf>() {
            let parent = host.visible(*parent).map(|p| p.id()).ok_or_else(|| {
                BrpError::new(
                    ErrorCode::EntityNotFound,
                    format!(
                        "`{name}` names entity {} which does not exist",
                        host.describe(*parent)
                    ),
                )
            })?;
            check_parent(host, entity, parent)?;
        }
        bundle.push(value);
    }
    Ok(bundle)
}

/// Rejects `Children`, which the hierarchy derives from `ChildOf`, and
/// resource types, which live on the world's own entities.
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
    if host.names.is_resource(component) {
        return Err(BrpError::component(format!(
            "`{name}` is a resource, not a component of an entity; \
             write it with INSERT_RESOURCE or MUTATE's `resource`"
        )));
    }
    Ok(component)
}

/// Fails if making `parent` the parent of `entity` would form a cycle.
pub(crate) fn check_parent(host: &Ecs, entity: Option<Entity>, parent: Entity) -> BrpResult<()> {
    let Some(entity) = entity else { return Ok(()) };
    let id = host.describe(entity);
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
                        host.describe(parent)
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

/// The resource a request names in `params.resource`.
fn resource(host: &Ecs, params: &Params) -> BrpResult<(String, ComponentRef)> {
    let name = params.str("resource")?;
    let resource = host.names.resolve_resource(name)?.clone();
    Ok((name.to_owned(), resource))
}

/// The error for a registered resource that the world does not hold.
fn resource_absent(name: &str) -> BrpError {
    BrpError::new(
        ErrorCode::ComponentNotPresent,
        format!("resource `{name}` is not in the world"),
    )
}

/// GET_RESOURCE: `{resource}` → `{"value": {"JSON": text}}`.
pub(crate) fn get_resource(host: &mut Ecs, params: &Params) -> BrpResult<Body> {
    let (name, resource) = resource(host, params)?;
    let entity = host
        .resource_entity(&resource)
        .ok_or_else(|| resource_absent(&name))?;
    let registry = host.registry.read();
    let mut reader = host.reader(&registry, host.form);
    let value = (reader.get(host.world.entity(entity), &resource))
        .ok_or_else(|| resource_absent(&name))??;
    Ok(Body::written(format!(r#"{{"value":{value}}}"#)))
}

/// INSERT_RESOURCE: `{resource, value}` → `{"status": "OK"}`; inserts the
/// resource or replaces its whole value.
pub(crate) fn insert_resource(host: &mut Ecs, params: &Params) -> BrpResult<Body> {
    let (name, resource) = resource(host, params)?;
    let wrapped = params.required("value")?;
    let registry = host.registry.clone();
    let registry = registry.read();
    let decoded =
        value::decode(&name, &resource, wrapped, &registry, host.form).map_err(as_params)?;
    // A removed resource keeps its entity, which takes the value back.
    let kept = host.world.resource_entities().get(resource.id);
    let entity = match kept.filter(|&entity| host.world.get_entity(entity).is_ok()) {
        Some(entity) => entity,
        None => host.world.spawn_empty().id(),
    };
    let mut bundle = Bundle::default();
    bundle.push(decoded);
    bundle.insert(&mut host.world.entity_mut(entity), &registry);
    ok()
}

/// REMOVE_RESOURCE: `{resource}` → `{"status": "OK"}`; the resource must be present.
pub(crate) fn remove_resource(host: &mut Ecs, params: &Params) -> BrpResult<Body> {
    let (name, resource) = resource(host, params)?;
    if host.resource_entity(&resource).is_none() {
        return Err(resource_absent(&name));
    }
    host.world.remove_resource_by_id(resource.id);
    ok()
}

/// LIST_RESOURCES: `{}` → `{"resources": [path]}`, the reflected resources
/// the world holds, sorted.
pub(crate) fn list_resources(host: &mut Ecs, _: &Params) -> BrpResult<Body> {
    let mut resources: Vec<&str> = host
        .names
        .list()
        .filter(|(resource, _, kind)| {
            *kind == NameKind::Resource && host.resource_entity(resource).is_some()
        })
        .map(|(resource, _, _)| &*resource.path)
        .collect();
    resources.sort_unstable();
    #[derive(Serialize)]
    struct Answer<'a> {
        resources: Vec<&'a str>,
    }
    body(&Answer { resources })
}

/// LIST: `{entity}` → `{"components": [path]}`, the named components the
/// entity has; `{}` → `{"components": [{"name", "short", "kind"}]}`, every
/// component name the world knows. Both sorted by full name.
pub(crate) fn list(host: &mut Ecs, params: &Params) -> BrpResult<Body> {
    #[derive(Serialize)]
    struct Entry<'a> {
        name: &'a str,
        short: &'a str,
        kind: &'static str,
    }
    #[derive(Serialize)]
    struct Answer<T> {
        components: Vec<T>,
    }
    let Some(id) = params.get("entity") else {
        let mut components: Vec<Entry> = host
            .names
            .list()
            .filter_map(|(component, short, kind)| {
                let kind = match kind {
                    NameKind::Reflected => "reflected",
                    NameKind::Dynamic => "dynamic",
                    NameKind::Resource => return None,
                };
                Some(Entry {
                    name: &component.path,
                    short,
                    kind,
                })
            })
            .collect();
        components.sort_unstable_by_key(|entry| entry.name);
        return body(&Answer { components });
    };
    let entity = host.entity_at(id, "params.entity")?;
    let mut components: Vec<&str> = host
        .names
        .list()
        .filter(|(component, _, _)| entity.contains_id(component.id))
        .map(|(component, _, _)| &*component.path)
        .collect();
    components.sort_unstable();
    body(&Answer { components })
}

/// MUTATE: `{entity, component, path, value}` or `{resource, path, value}`
/// → `{"status": "OK"}`; sets the one field at `path`, the rest untouched.
pub(crate) fn mutate(host: &mut Ecs, params: &Params) -> BrpResult<Body> {
    let on_entity = params.has("entity") || params.has("component");
    let (name, component, target, is_resource) = match (on_entity, params.has("resource")) {
        (true, true) => {
            return Err(BrpError::invalid_params(
                "give params.resource, or params.entity and params.component, not both",
            ));
        }
        (false, false) => {
            return Err(BrpError::invalid_params(
                "missing params.resource, or params.entity and params.component",
            ));
        }
        (false, true) => {
            let (name, resource) = resource(host, params)?;
            let entity = host
                .resource_entity(&resource)
                .ok_or_else(|| resource_absent(&name))?;
            (name, resource, entity, true)
        }
        (true, false) => {
            let name = params.str("component")?;
            let component = writable(host, host.names.resolve(name)?, name)?.clone();
            let entity = host.entity_at(params.required("entity")?, "params.entity")?;
            if !entity.contains_id(component.id) {
                return Err(BrpError::new(
                    ErrorCode::ComponentNotPresent,
                    format!("entity {} has no `{name}`", host.describe(entity.id())),
                )
                .with_data(json!({ "missing": [name] })));
            }
            (name.to_owned(), component, entity.id(), false)
        }
    };
    let mutable = (host.world.components().get_info(component.id)).is_some_and(|i| i.mutable());
    if !mutable {
        return Err(BrpError::component(format!(
            "`{name}` is immutable; replace it whole with INSERT"
        )));
    }
    let text = params.str("path")?;
    let path = world::path::parse(text)?;
    let new = value::text(&name, params.required("value")?, host.form)?;
    let registry = host.registry.clone();
    let registry = registry.read();
    let invalid = |e: &dyn std::fmt::Display| {
        BrpError::invalid_params(format!(
            "invalid value for `{}` of `{name}`: {e}",
            echo(text)
        ))
    };
    let gone = || BrpError::internal(format!("`{name}` left the entity before the write"));
    let mut touched = host.start_touching();
    match &component.kind {
        Kind::Reflected { reflect, .. } => {
            let current = reflect
                .reflect(host.world.entity(target))
                .ok_or_else(gone)?;
            let field = world::path::target(current.as_partial_reflect(), &path, text)?;
            let type_info = field
                .get_represented_type_info()
                .ok_or_else(|| invalid(&"the field's type is not known to reflection"))?;
            let registration = registry.get(type_info.type_id()).ok_or_else(|| {
                invalid(&format_args!(
                    "the field's type `{}` is not registered; set the value that holds it",
                    type_info.type_path()
                ))
            })?;
            let value = value::decode_typed(&new, registration, &registry, host.form)
                .map_err(|e| invalid(&e))?
                .ok_or_else(|| {
                    invalid(&format_args!(
                        "`{}` cannot be built from reflection",
                        type_info.type_path()
                    ))
                })?;
            if !is_resource {
                host.touching(&mut touched, &[target]);
            }
            let mut entity_mut = host.world.entity_mut(target);
            let mut current = reflect.reflect_mut(&mut entity_mut).ok_or_else(gone)?;
            world::path::set(current.as_partial_reflect_mut(), &path, value)?;
        }
        Kind::Dynamic => {
            let current = host
                .world
                .entity(target)
                .get_by_id(component.id)
                .map_err(|_| gone())?;
            // SAFETY: dynamic components are registered with the layout of
            // `Value` and only ever written from a `Value`.
            let current = unsafe { current.deref::<serde_json::Value>() };
            world::path::check_json(current, &path, text)?;
            let value: serde_json::Value =
                serde_json::from_str(&new.json).map_err(|e| invalid(&e))?;
            host.touching(&mut touched, &[target]);
            let current = host
                .world
                .entity_mut(target)
                .into_mut_by_id(component.id)
                .map_err(|_| gone())?;
            // SAFETY: as above; the component holds a `Value`.
            let current = unsafe { current.into_inner().deref_mut::<serde_json::Value>() };
            world::path::set_json(current, &path, value)?;
        }
    }
    // A resource's entity is hidden from POLLs; its write leaves
    // `host.touched` at `Touched::All`, waking every parked POLL.
    if !is_resource {
        host.touched = touched;
    }
    ok()
}

/// `error` as an error of `params` (-32602), keeping its message.
fn as_params(error: BrpError) -> BrpError {
    BrpError::invalid_params(error.message)
}

/// SCHEMA: `{component}` or `{resource}` → `{"schema": {...}}`, the JSON
/// Schema of the type's value as `{"JSON": text}` holds it
/// ([`world::schema`]).
pub(crate) fn schema(host: &mut Ecs, params: &Params) -> BrpResult<Body> {
    let target = match (params.has("component"), params.has("resource")) {
        (true, true) => {
            return Err(BrpError::invalid_params(
                "give params.component or params.resource, not both",
            ));
        }
        (false, false) => {
            return Err(BrpError::invalid_params(
                "missing params.component or params.resource",
            ));
        }
        (true, false) => host.names.resolve(params.str("component")?)?,
        (false, true) => host.names.resolve_resource(params.str("resource")?)?,
    };
    let schema = match &target.kind {
        Kind::Reflected { type_id, .. } => {
            world::schema::reflected(&host.registry.read(), *type_id)?
        }
        Kind::Dynamic => world::schema::dynamic(&target.path),
    };
    body(&json!({ "schema": schema }))
}

/// DISCOVER: `{}` → the OpenRPC document of every request.
pub(crate) fn discover(_: &mut Ecs, _: &Params) -> BrpResult<Body> {
    body(&super::openrpc::document())
}
