//! bevy_remote 0.20's methods, answered by the same handlers as the
//! seed's requests (docs/protocol.md, "JSON-RPC 2.0"): a request that came
//! in JSON-RPC framing is looked up here, and the engine runs it with
//! values and entities in their plain form ([`Form::Plain`]).
//!
//! Where bevy_remote's shapes are the seed's, a row calls the seed's
//! handler and only turns `{"status": "OK"}` into `null` or resource codes
//! into bevy_remote's; where they differ (`strict`, batch reparenting,
//! `option: "all"`), the handler here does that part with the world
//! layer's functions.

use super::handlers;
use super::{Action, Doc, Handler, Method, Param, Watch};
use crate::error::{BrpError, BrpResult, ErrorCode};
use crate::params::{self, Params};
use crate::protocol::{Body, body};
use crate::world::components::{ComponentRef, NameKind};
use crate::world::context::Context;
use crate::world::json;
use crate::world::query::{QuerySpec, Selected};
use crate::world::value::Form;
use crate::world::{self, Ecs};
use bevy_ecs::entity::Entity;
use serde_json::{Map, Value};

const fn row(
    name: &'static str,
    params: &'static [&'static str],
    doc: Doc,
    handler: Handler,
    mutates: bool,
) -> Method {
    Method {
        name,
        params,
        doc,
        action: Action::Answer { handler, mutates },
    }
}

/// A [`Doc`] in the table's short form.
const fn doc(params: &'static [Param], result: fn() -> Value) -> Doc {
    Doc {
        params,
        result: ("result", result),
    }
}

const ENTITY: Param = ("entity", true, s::entity);
const GET: &[&str] = &["entity", "components", "strict"];
const GET_DOC: Doc = doc(
    &[
        ENTITY,
        ("components", true, s::paths),
        ("strict", false, s::boolean),
    ],
    s::any,
);
const RESOURCE: &[&str] = &["resource"];
const RESOURCE_DOC: &[Param] = &[("resource", true, s::path)];

/// Every method of bevy_remote 0.20 that libbrp answers.
pub(crate) const METHODS: &[Method] = &[
    row("world.get_components", GET, GET_DOC, get_components, false),
    row(
        "world.query",
        &["data", "filter", "strict"],
        doc(
            &[
                ("data", false, s::any),
                ("filter", false, s::any),
                ("strict", false, s::boolean),
            ],
            s::any,
        ),
        query,
        false,
    ),
    row(
        "world.spawn_entity",
        &["components"],
        doc(&[("components", true, s::values)], s::any),
        handlers::spawn,
        true,
    ),
    row(
        "world.insert_components",
        &["entity", "components"],
        doc(&[ENTITY, ("components", true, s::values)], s::null),
        insert,
        true,
    ),
    row(
        "world.remove_components",
        &["entity", "components"],
        doc(&[ENTITY, ("components", true, s::paths)], s::null),
        remove,
        true,
    ),
    row(
        "world.despawn_entity",
        &["entity"],
        doc(&[ENTITY], s::null),
        despawn,
        true,
    ),
    row(
        "world.reparent_entities",
        &["entities", "parent"],
        doc(
            &[
                ("entities", true, s::entities),
                ("parent", false, s::entity),
            ],
            s::null,
        ),
        reparent,
        true,
    ),
    row(
        "world.list_components",
        &["entity"],
        doc(&[("entity", false, s::entity)], s::paths),
        list_components,
        false,
    ),
    row(
        "world.mutate_components",
        &["entity", "component", "path", "value"],
        doc(
            &[
                ENTITY,
                ("component", true, s::path),
                ("path", true, s::path),
                ("value", true, s::any),
            ],
            s::null,
        ),
        mutate,
        true,
    ),
    row(
        "world.get_resources",
        RESOURCE,
        doc(RESOURCE_DOC, s::any),
        get_resource,
        false,
    ),
    row(
        "world.insert_resources",
        &["resource", "value"],
        doc(
            &[("resource", true, s::path), ("value", true, s::any)],
            s::null,
        ),
        insert_resource,
        true,
    ),
    row(
        "world.remove_resources",
        RESOURCE,
        doc(RESOURCE_DOC, s::null),
        remove_resource,
        true,
    ),
    row(
        "world.mutate_resources",
        &["resource", "path", "value"],
        doc(
            &[
                ("resource", true, s::path),
                ("path", true, s::path),
                ("value", true, s::any),
            ],
            s::null,
        ),
        mutate_resource,
        true,
    ),
    row(
        "world.list_resources",
        &[],
        doc(&[], s::paths),
        list_resources,
        false,
    ),
    row(
        "registry.schema",
        &["with_crates", "without_crates", "type_limit"],
        doc(
            &[
                ("with_crates", false, s::paths),
                ("without_crates", false, s::paths),
                ("type_limit", false, s::any),
            ],
            s::any,
        ),
        registry_schema,
        false,
    ),
    row("rpc.discover", &[], doc(&[], s::any), discover, false),
    Method {
        name: "world.get_components+watch",
        params: GET,
        doc: GET_DOC,
        action: Action::Watch(Watch::Components),
    },
    Method {
        name: "world.list_components+watch",
        params: &["entity"],
        doc: doc(&[ENTITY], s::any),
        action: Action::Watch(Watch::List),
    },
];

/// The body `null`.
fn null() -> BrpResult<Body> {
    body(&())
}

/// `error` with bevy_remote's resource codes for the component codes the
/// seed's resource requests use.
fn resource_codes(mut error: BrpError) -> BrpError {
    error.code = match error.code {
        ErrorCode::ComponentError => ErrorCode::ResourceError,
        ErrorCode::ComponentNotPresent => ErrorCode::ResourceNotPresent,
        code => code,
    };
    error
}

/// `params.strict`, false when absent.
fn strict(params: &Params) -> BrpResult<bool> {
    match params.get("strict") {
        None => Ok(false),
        Some(Value::Bool(strict)) => Ok(*strict),
        Some(other) => Err(BrpError::invalid_params(format!(
            "params.strict must be true or false, got {}",
            params::kind(other)
        ))),
    }
}

/// world.get_components: `{entity, components, strict}` → `{name: value}`
/// when strict, else `{"components": {name: value}, "errors": {name: error}}`.
fn get_components(host: &mut Ecs, ctx: &mut Context, params: &Params) -> BrpResult<Body> {
    let strict = strict(params)?;
    let names = params.names("components")?;
    host.check_names(&names, "params.components")?;
    let entity = host.entity_at(ctx.form, params.required("entity")?, "params.entity")?;
    let registry = host.registry.read();
    let mut reader = host.reader(&registry, Form::Plain);
    let mut out = String::with_capacity(128);
    if !strict {
        out.push_str(r#"{"components":"#);
    }
    let mut values = json::Object::new(&mut out);
    let mut errors = Map::new();
    for name in names {
        let read = host.names.resolve(name).and_then(|component| {
            reader.get(entity, component).unwrap_or_else(|| {
                Err(BrpError::new(
                    ErrorCode::ComponentNotPresent,
                    format!("entity {} has no `{name}`", ctx.form.describe(entity.id())),
                ))
            })
        });
        match read {
            Ok(value) => values.key(name).push_str(value),
            Err(error) if strict => return Err(error),
            Err(error) => {
                errors.insert(name.to_owned(), error.to_json());
            }
        }
    }
    values.end();
    if !strict {
        out.push_str(r#","errors":"#);
        json::push(&mut out, &errors);
        out.push('}');
    }
    Ok(Body::written(out))
}

/// What `data.option` selects.
enum Optional {
    /// These components, when present.
    Listed(Vec<Selected>),
    /// `"all"`: every named component the entity has.
    All,
}

/// world.query: `{data: {components, option, has}, filter: {with,
/// without}, strict}` → `[{entity, components: {name: value}, has: {name:
/// bool}}]`, ordered by entity.
///
/// Without `strict`, an unknown name in `components` or `filter.with`
/// matches nothing, one in `option` or `filter.without` is ignored, and one
/// in `has` reads `false`, as in bevy_remote.
fn query(host: &mut Ecs, _: &mut Context, params: &Params) -> BrpResult<Body> {
    let strict = strict(params)?;
    let empty = Map::new();
    let object = |key: &str| match params.get(key) {
        Some(value) => params::object(value, &format!("params.{key}")),
        None => Ok(&empty),
    };
    let (data, filter) = (object("data")?, object("filter")?);
    params::only(Some(data), "params.data", &["components", "option", "has"])?;
    params::only(Some(filter), "params.filter", &["with", "without"])?;
    let mut count = 0;
    let mut resolve = |names: Vec<&str>| -> BrpResult<(Vec<Selected>, Vec<String>)> {
        count += names.len();
        let mut known = Vec::with_capacity(names.len());
        let mut unknown = Vec::new();
        for name in names {
            if known.iter().any(|s: &Selected| s.key == name) {
                continue;
            }
            match host.names.resolve(name) {
                Ok(component) => known.push(Selected {
                    key: name.to_owned(),
                    component: component.clone(),
                }),
                Err(error) if strict => return Err(error),
                Err(_) => unknown.push(name.to_owned()),
            }
        }
        Ok((known, unknown))
    };
    let (components, unknown_required) = resolve(list(data, "components", "params.data")?)?;
    let optional = match data.get("option") {
        Some(Value::String(all)) if all == "all" => Optional::All,
        _ => Optional::Listed(resolve(list(data, "option", "params.data")?)?.0),
    };
    let (has, unknown_has) = resolve(list(data, "has", "params.data")?)?;
    let (with, unknown_with) = resolve(list(filter, "with", "params.filter")?)?;
    let (without, _) = resolve(list(filter, "without", "params.filter")?)?;
    host.check_count(count, "params.data and params.filter")?;
    if !unknown_required.is_empty() || !unknown_with.is_empty() {
        return body(&[(); 0]);
    }
    let spec = QuerySpec {
        components,
        optional: match &optional {
            Optional::Listed(listed) => listed.iter().map(Selected::clone).collect(),
            Optional::All => Vec::new(),
        },
        has,
        with: with.into_iter().map(|s| s.component).collect(),
        without: without.into_iter().map(|s| s.component).collect(),
        changed: Vec::new(),
    };
    let entities = spec.matches(host);
    host.check_rows(entities.len())?;
    let mut out = String::with_capacity(json::rows_capacity(entities.len()));
    Rows {
        host,
        spec: &spec,
        all: matches!(optional, Optional::All),
        unknown_has: &unknown_has,
        entities: &entities,
    }
    .write(&mut out)?;
    Ok(Body::written(out))
}

/// The names `object.key` lists, none when absent; `at` names `object`.
fn list<'m>(object: &'m Map<String, Value>, key: &str, at: &str) -> BrpResult<Vec<&'m str>> {
    match object.get(key) {
        None | Some(Value::Null) => Ok(Vec::new()),
        Some(names) => params::names(names, &format!("{at}.{key}")),
    }
}

/// The rows of a world.query answer, written straight to the output.
struct Rows<'a> {
    host: &'a Ecs,
    spec: &'a QuerySpec,
    /// `option: "all"`.
    all: bool,
    /// Unknown names of `has`, which read `false`.
    unknown_has: &'a [String],
    entities: &'a [Entity],
}

impl Rows<'_> {
    /// Appends `[{entity, components: {name: value}, has: {name: bool}}]`.
    fn write(&self, out: &mut String) -> BrpResult<()> {
        let registry = self.host.registry.read();
        let mut reader = self.host.reader(&registry, Form::Plain);
        let listed: Vec<(&str, &ComponentRef)> =
            (self.spec.components.iter().chain(&self.spec.optional))
                .map(|s| (&*s.key, &s.component))
                .collect();
        let mut selected = Vec::with_capacity(listed.len());
        out.push('[');
        for (i, entity) in (self.entities.iter())
            .filter_map(|&e| self.host.world.get_entity(e).ok())
            .enumerate()
        {
            if i > 0 {
                out.push(',');
            }
            selected.clear();
            selected.extend_from_slice(&listed);
            if self.all {
                let required = |id| self.spec.components.iter().any(|s| s.component.id == id);
                let start = selected.len();
                selected.extend(
                    (self.host.names.list())
                        .filter(|(component, _, kind)| {
                            *kind != NameKind::Resource
                                && !required(component.id)
                                && entity.contains_id(component.id)
                        })
                        .map(|(component, _, _)| (&*component.path, component)),
                );
                selected[start..].sort_unstable_by_key(|(path, _)| *path);
            }
            let mut row = json::Object::new(out);
            json::entity_bits(row.key("entity"), entity.id());
            let mut values = json::Object::new(row.key("components"));
            for &(key, component) in &selected {
                if let Some(value) = reader.get(entity, component) {
                    values.key(key).push_str(value?);
                }
            }
            values.end();
            if !self.spec.has.is_empty() || !self.unknown_has.is_empty() {
                let mut has = json::Object::new(row.key("has"));
                for s in &self.spec.has {
                    has.key(&s.key)
                        .push_str(json::boolean(entity.contains_id(s.component.id)));
                }
                for key in self.unknown_has {
                    has.key(key).push_str("false");
                }
                has.end();
            }
            row.end();
        }
        out.push(']');
        Ok(())
    }
}

/// world.insert_components: INSERT, answering `null`.
fn insert(host: &mut Ecs, ctx: &mut Context, params: &Params) -> BrpResult<Body> {
    handlers::insert(host, ctx, params).and_then(|_| null())
}

/// world.remove_components: REMOVE, answering `null`.
fn remove(host: &mut Ecs, ctx: &mut Context, params: &Params) -> BrpResult<Body> {
    handlers::remove(host, ctx, params).and_then(|_| null())
}

/// world.despawn_entity: DESTROY, answering `null`.
fn despawn(host: &mut Ecs, ctx: &mut Context, params: &Params) -> BrpResult<Body> {
    handlers::destroy(host, ctx, params).and_then(|_| null())
}

/// world.mutate_components: MUTATE of a component, answering `null`.
fn mutate(host: &mut Ecs, ctx: &mut Context, params: &Params) -> BrpResult<Body> {
    handlers::mutate(host, ctx, params).and_then(|_| null())
}

/// world.get_resources: GET_RESOURCE, `{"value": value}`.
fn get_resource(host: &mut Ecs, ctx: &mut Context, params: &Params) -> BrpResult<Body> {
    handlers::get_resource(host, ctx, params).map_err(resource_codes)
}

/// world.insert_resources: INSERT_RESOURCE, answering `null`.
fn insert_resource(host: &mut Ecs, ctx: &mut Context, params: &Params) -> BrpResult<Body> {
    (handlers::insert_resource(host, ctx, params).map_err(resource_codes)).and_then(|_| null())
}

/// world.remove_resources: REMOVE_RESOURCE, answering `null`.
fn remove_resource(host: &mut Ecs, ctx: &mut Context, params: &Params) -> BrpResult<Body> {
    (handlers::remove_resource(host, ctx, params).map_err(resource_codes)).and_then(|_| null())
}

/// world.mutate_resources: MUTATE of a resource, answering `null`.
fn mutate_resource(host: &mut Ecs, ctx: &mut Context, params: &Params) -> BrpResult<Body> {
    (handlers::mutate(host, ctx, params).map_err(resource_codes)).and_then(|_| null())
}

/// world.reparent_entities: `{entities, parent}` → `null`; every entity
/// becomes a child of `parent`, or a root when `parent` is absent or
/// `null`. Every entity and the new hierarchy are checked before any
/// changes.
fn reparent(host: &mut Ecs, ctx: &mut Context, params: &Params) -> BrpResult<Body> {
    let list = params
        .required("entities")?
        .as_array()
        .ok_or_else(|| BrpError::invalid_params("params.entities must be an array of entities"))?;
    host.check_count(list.len(), "params.entities")?;
    let entities = (list.iter().enumerate())
        .map(|(i, id)| {
            Ok(host
                .entity_at(ctx.form, id, &format!("params.entities[{i}]"))?
                .id())
        })
        .collect::<BrpResult<Vec<Entity>>>()?;
    let parent = match params.get("parent") {
        Some(parent) => Some(host.entity_at(ctx.form, parent, "params.parent")?.id()),
        None => None,
    };
    handlers::reparent_all(host, ctx, &entities, parent)?;
    null()
}

/// world.list_components: `{entity}` → the full names of the components
/// the entity has; `{}` → every component name the world knows. Sorted.
fn list_components(host: &mut Ecs, ctx: &mut Context, params: &Params) -> BrpResult<Body> {
    match params.get("entity") {
        Some(id) => {
            let entity = host.entity_at(ctx.form, id, "params.entity")?;
            body(&handlers::names_on(host, entity))
        }
        None => {
            let mut names: Vec<&str> = (host.names.list())
                .filter(|(_, _, kind)| *kind != NameKind::Resource)
                .map(|(component, _, _)| &*component.path)
                .collect();
            names.sort_unstable();
            body(&names)
        }
    }
}

/// world.list_resources: every reflected resource type, held or not, sorted.
fn list_resources(host: &mut Ecs, _: &mut Context, _: &Params) -> BrpResult<Body> {
    body(&handlers::resource_names(host, false))
}

/// registry.schema: `{with_crates, without_crates, type_limit}` → `{type
/// path: schema}` ([`world::schema::registry`]).
fn registry_schema(host: &mut Ecs, _: &mut Context, params: &Params) -> BrpResult<Body> {
    let mut filter = Map::new();
    for key in ["with_crates", "without_crates", "type_limit"] {
        if let Some(value) = params.get(key) {
            filter.insert(key.to_owned(), value.clone());
        }
    }
    let schemas = world::schema::registry(&host.registry.read(), &Value::Object(filter))?;
    body(&schemas)
}

/// rpc.discover: the OpenRPC document of these methods. Each method's
/// params are under the extension field `x-params`, and `params` is empty,
/// as bevy_remote writes it: its own `OpenRpcDocument` type reads a
/// parameter's schema as a Bevy type description, which a plain JSON
/// Schema is not.
fn discover(_: &mut Ecs, _: &mut Context, _: &Params) -> BrpResult<Body> {
    let mut document = super::openrpc::document_of(METHODS);
    if let Some(methods) = document["methods"].as_array_mut() {
        for method in methods {
            let params = std::mem::replace(&mut method["params"], Value::Array(Vec::new()));
            method["x-params"] = params;
        }
    }
    body(&document)
}

/// The JSON Schemas of this dialect's params and results.
mod s {
    use serde_json::{Value, json};

    /// An entity as its `u64` bits.
    pub(super) fn entity() -> Value {
        json!({"type": "integer", "minimum": 0})
    }

    /// A list of entities.
    pub(super) fn entities() -> Value {
        json!({"type": "array", "items": entity()})
    }

    /// A type path or reflect path.
    pub(super) fn path() -> Value {
        json!({"type": "string"})
    }

    /// A list of type paths.
    pub(super) fn paths() -> Value {
        json!({"type": "array", "items": path()})
    }

    /// A map of type paths to plain values.
    pub(super) fn values() -> Value {
        json!({"type": "object", "additionalProperties": true})
    }

    /// `true` or `false`.
    pub(super) fn boolean() -> Value {
        json!({"type": "boolean"})
    }

    /// Any JSON value.
    pub(super) fn any() -> Value {
        json!({})
    }

    /// `null`.
    pub(super) fn null() -> Value {
        json!({"type": "null"})
    }
}
