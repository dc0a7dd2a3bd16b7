//! The request handlers: each reads its params, validates everything, and
//! only then touches the world, so a failed request changes nothing.

use crate::error::{BrpError, BrpResult, ErrorCode};
use crate::params::echo;
use crate::params::{self, Params};
use crate::protocol::{Body, body, ok};
use crate::world::components::{ComponentRef, Kind, NameKind};
use crate::world::context::Context;
use crate::world::json;
use crate::world::query::QuerySpec;
use crate::world::value::{self, Bundle, Form};
use crate::world::{self, Ecs};
use bevy_ecs::entity::Entity;
use bevy_ecs::hierarchy::{ChildOf, Children};
use bevy_ecs::world::EntityRef;
use serde::Serialize;
use serde_json::{Map, Value, json};

/// PING: `{}` → `{"status": "OK"}`.
pub(crate) fn ping(_: &mut Ecs, _: &mut Context, _: &Params) -> BrpResult<Body> {
    ok()
}

/// GET: `{entity, components}` → `{"components": {name: {"JSON": text}}}`.
///
/// Every named component must be present; otherwise the error lists the
/// missing ones.
pub(crate) fn get(host: &mut Ecs, ctx: &mut Context, params: &Params) -> BrpResult<Body> {
    let names = params.names("components")?;
    host.check_names(&names, "params.components")?;
    let components = names
        .iter()
        .map(|name| host.names.resolve(name))
        .collect::<BrpResult<Vec<_>>>()?;
    let entity = host.entity_at(ctx.form, params.required("entity")?, "params.entity")?;
    let registry = host.registry.read();
    let mut reader = host.reader(&registry, ctx.form);
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
                ctx.form.describe(entity.id()),
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
pub(crate) fn query(host: &mut Ecs, _: &mut Context, params: &Params) -> BrpResult<Body> {
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
pub(crate) fn spawn(host: &mut Ecs, ctx: &mut Context, params: &Params) -> BrpResult<Body> {
    let mut bundle = decode_all(host, ctx.form, params.object("components")?, None)?;
    bundle.declare(host)?;
    let registry = host.registry.read();
    let mut entity = host.world.spawn_empty();
    bundle.insert(&mut entity, &registry);
    let entity = entity.id();
    drop(registry);
    ctx.touch(host, &[entity]);
    #[derive(Serialize)]
    struct Answer {
        entity: value::EntityOut,
    }
    body(&Answer {
        entity: ctx.form.entity(entity),
    })
}

/// DESTROY: `{entity}` → `{"status": "OK"}`. The entity's descendants
/// (through `Children`) are destroyed with it, as Bevy's `despawn` does.
pub(crate) fn destroy(host: &mut Ecs, ctx: &mut Context, params: &Params) -> BrpResult<Body> {
    let root = entity_param(host, ctx, params)?;
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
    ctx.write(host, &doomed, |host| {
        for &entity in doomed.iter().rev() {
            host.world.despawn(entity);
        }
    });
    ok()
}

/// INSERT: `{entity, components}` → `{"status": "OK"}`; replaces existing values.
pub(crate) fn insert(host: &mut Ecs, ctx: &mut Context, params: &Params) -> BrpResult<Body> {
    let components = params.object("components")?;
    let entity = entity_param(host, ctx, params)?;
    let mut bundle = decode_all(host, ctx.form, components, Some(entity))?;
    bundle.declare(host)?;
    ctx.write(host, &[entity], |host| {
        let registry = host.registry.read();
        bundle.insert(&mut host.world.entity_mut(entity), &registry);
    });
    ok()
}

/// REMOVE: `{entity, components}` → `{"status": "OK"}`; absent components are ignored.
pub(crate) fn remove(host: &mut Ecs, ctx: &mut Context, params: &Params) -> BrpResult<Body> {
    let names = params.names("components")?;
    host.check_count(names.len(), "params.components")?;
    let entity = entity_param(host, ctx, params)?;
    let ids = names
        .iter()
        .map(|name| writable(host, host.names.resolve(name)?, name).map(|c| c.id))
        .collect::<BrpResult<Vec<_>>>()?;
    ctx.write(host, &[entity], |host| {
        let mut entity_mut = host.world.entity_mut(entity);
        for id in ids {
            entity_mut.remove_by_id(id);
        }
    });
    ok()
}

/// REPARENT: `{entity, parent}` → `{"status": "OK"}`. `parent: null` makes the
/// entity a root. The old parent's `Children` is updated in the same step.
pub(crate) fn reparent(host: &mut Ecs, ctx: &mut Context, params: &Params) -> BrpResult<Body> {
    let entity = entity_param(host, ctx, params)?;
    let parent = match params.get("parent") {
        Some(parent @ Value::String(_)) => {
            Some(host.entity_at(ctx.form, parent, "params.parent")?.id())
        }
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
    reparent_all(host, ctx, &[entity], parent)?;
    ok()
}

/// Makes each of `entities` a child of `parent` (a root for `None`), once
/// the whole new hierarchy is checked: on failure nothing changes.
pub(crate) fn reparent_all(
    host: &mut Ecs,
    ctx: &mut Context,
    entities: &[Entity],
    parent: Option<Entity>,
) -> BrpResult<()> {
    if let Some(parent) = parent {
        for &entity in entities {
            check_parent(host, ctx.form, Some(entity), parent)?;
        }
    }
    ctx.write(host, entities, |host| {
        for &entity in entities {
            let mut entity_mut = host.world.entity_mut(entity);
            match parent {
                Some(parent) => entity_mut.insert(ChildOf(parent)),
                None => entity_mut.remove::<ChildOf>(),
            };
        }
    });
    Ok(())
}

/// The entity `params.entity` names.
fn entity_param(host: &Ecs, ctx: &Context, params: &Params) -> BrpResult<Entity> {
    Ok(host
        .entity_at(ctx.form, params.required("entity")?, "params.entity")?
        .id())
}

/// Resolves and decodes every component of a SPAWN or INSERT, checking a
/// new `ChildOf` against `entity` (`None` for a new entity). Changes nothing.
fn decode_all(
    host: &Ecs,
    form: Form,
    components: &Map<String, Value>,
    entity: Option<Entity>,
) -> BrpResult<Bundle> {
    host.check_count(components.len(), "params.components")?;
    let mut bundle = Bundle::default();
    for (name, wrapped) in components {
        let Some(component) = host.names.resolve_or_plan(name, host.config.auto_declare)? else {
            bundle.push_undeclared(name, value::decode_json(name, wrapped, form)?);
            continue;
        };
        writable(host, &component, name)?;
        let value = value::decode(name, &component, wrapped, &host.registry.read(), form)?;
        if let Some(ChildOf(parent)) = value.downcast_ref::<ChildOf>() {
            let parent = host.visible(*parent).map(|p| p.id()).ok_or_else(|| {
                BrpError::new(
                    ErrorCode::EntityNotFound,
                    format!(
                        "`{name}` names entity {} which does not exist",
                        form.describe(*parent)
                    ),
                )
            })?;
            check_parent(host, form, entity, parent)?;
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
pub(crate) fn check_parent(
    host: &Ecs,
    form: Form,
    entity: Option<Entity>,
    parent: Entity,
) -> BrpResult<()> {
    let Some(entity) = entity else { return Ok(()) };
    let id = form.describe(entity);
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
                        form.describe(parent)
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
pub(crate) fn get_resource(host: &mut Ecs, ctx: &mut Context, params: &Params) -> BrpResult<Body> {
    let (name, resource) = resource(host, params)?;
    let entity = host
        .resource_entity(&resource)
        .ok_or_else(|| resource_absent(&name))?;
    let registry = host.registry.read();
    let mut reader = host.reader(&registry, ctx.form);
    let value = (reader.get(host.world.entity(entity), &resource))
        .ok_or_else(|| resource_absent(&name))??;
    Ok(Body::written(format!(r#"{{"value":{value}}}"#)))
}

/// INSERT_RESOURCE: `{resource, value}` → `{"status": "OK"}`; inserts the
/// resource or replaces its whole value.
pub(crate) fn insert_resource(
    host: &mut Ecs,
    ctx: &mut Context,
    params: &Params,
) -> BrpResult<Body> {
    let (name, resource) = resource(host, params)?;
    let wrapped = params.required("value")?;
    let registry = host.registry.clone();
    let registry = registry.read();
    let decoded =
        value::decode(&name, &resource, wrapped, &registry, ctx.form).map_err(as_params)?;
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
pub(crate) fn remove_resource(host: &mut Ecs, _: &mut Context, params: &Params) -> BrpResult<Body> {
    let (name, resource) = resource(host, params)?;
    if host.resource_entity(&resource).is_none() {
        return Err(resource_absent(&name));
    }
    host.world.remove_resource_by_id(resource.id);
    ok()
}

/// LIST_RESOURCES: `{}` → `{"resources": [path]}`, the reflected resources
/// the world holds, sorted.
pub(crate) fn list_resources(host: &mut Ecs, _: &mut Context, _: &Params) -> BrpResult<Body> {
    let resources = resource_names(host, true);
    #[derive(Serialize)]
    struct Answer<'a> {
        resources: Vec<&'a str>,
    }
    body(&Answer { resources })
}

/// LIST: `{entity}` → `{"components": [path]}`, the named components the
/// entity has; `{}` → `{"components": [{"name", "short", "kind"}]}`, every
/// component name the world knows. Both sorted by full name.
pub(crate) fn list(host: &mut Ecs, ctx: &mut Context, params: &Params) -> BrpResult<Body> {
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
    let entity = host.entity_at(ctx.form, id, "params.entity")?;
    body(&Answer {
        components: names_on(host, entity),
    })
}

/// The full names of the components `entity` has, sorted.
pub(crate) fn names_on<'a>(host: &'a Ecs, entity: EntityRef<'_>) -> Vec<&'a str> {
    let mut names: Vec<&str> = (host.names.list())
        .filter(|(component, _, _)| entity.contains_id(component.id))
        .map(|(component, _, _)| &*component.path)
        .collect();
    names.sort_unstable();
    names
}

/// The reflected resource types, sorted: only those the world holds when
/// `held`, else every one.
pub(crate) fn resource_names(host: &Ecs, held: bool) -> Vec<&str> {
    let mut names: Vec<&str> = (host.names.list())
        .filter(|(resource, _, kind)| {
            *kind == NameKind::Resource && (!held || host.resource_entity(resource).is_some())
        })
        .map(|(resource, _, _)| &*resource.path)
        .collect();
    names.sort_unstable();
    names
}

/// MUTATE: `{entity, component, path, value}` or `{resource, path, value}`
/// → `{"status": "OK"}`; sets the one field at `path`, the rest untouched.
pub(crate) fn mutate(host: &mut Ecs, ctx: &mut Context, params: &Params) -> BrpResult<Body> {
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
            let entity = host.entity_at(ctx.form, params.required("entity")?, "params.entity")?;
            if !entity.contains_id(component.id) {
                return Err(BrpError::new(
                    ErrorCode::ComponentNotPresent,
                    format!("entity {} has no `{name}`", ctx.form.describe(entity.id())),
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
    let new = value::text(&name, params.required("value")?, ctx.form)?;
    let registry = host.registry.clone();
    let registry = registry.read();
    let invalid = |e: &dyn std::fmt::Display| {
        BrpError::invalid_params(format!(
            "invalid value for `{}` of `{name}`: {e}",
            echo(text)
        ))
    };
    let gone = || BrpError::internal(format!("`{name}` left the entity before the write"));
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
            let value = value::decode_typed(&new, registration, &registry, ctx.form)
                .map_err(|e| invalid(&e))?
                .ok_or_else(|| {
                    invalid(&format_args!(
                        "`{}` cannot be built from reflection",
                        type_info.type_path()
                    ))
                })?;
            // A resource's entity is hidden from POLLs: its write touches
            // everything, waking every parked POLL.
            if !is_resource {
                ctx.touch(host, &[target]);
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
            ctx.touch(host, &[target]);
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
    ok()
}

/// `error` as an error of `params` (-32602), keeping its message.
fn as_params(error: BrpError) -> BrpError {
    BrpError::invalid_params(error.message)
}

/// SCHEMA: `{component}` or `{resource}` → `{"schema": {...}}`, the JSON
/// Schema of the type's value as `{"JSON": text}` holds it
/// ([`world::schema`]).
pub(crate) fn schema(host: &mut Ecs, _: &mut Context, params: &Params) -> BrpResult<Body> {
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
pub(crate) fn discover(_: &mut Ecs, _: &mut Context, _: &Params) -> BrpResult<Body> {
    body(&super::openrpc::document())
}
