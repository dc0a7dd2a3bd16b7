//! JSON Schemas of component and resource values as the `{"JSON": text}`
//! of the protocol holds them, built from the `bevy_reflect` registry in
//! the shape of `bevy_remote`'s `registry.schema`.
//!
//! A schema describes one type: `shortPath`, `typePath`, `modulePath`,
//! `crateName`, `reflectTypes`, `kind`, and the JSON Schema keywords of its
//! value. Nested types are `{"$ref": "#/$defs/<typePath>"}` (the described
//! type itself is `{"$ref": "#"}`), defined once each under `$defs`.
//! Numbers, strings, entities, durations and `glam`'s vectors and matrices
//! are written in place. The types are visited from a worklist, never by
//! recursion, and at most [`MAX_DEFINITIONS`] of them.
//!
//! [`registry`] answers `bevy_remote`'s own `registry.schema`: the schema
//! of every registered type a filter admits, keyed by type path, with
//! entities written as in its JSON-RPC dialect ([`Entities::Bits`]).

use crate::error::{BrpError, BrpResult};
use crate::params;
use bevy_ecs::entity::Entity;
use bevy_ecs::name::Name;
use bevy_ecs::reflect::{ReflectComponent, ReflectEvent, ReflectResource};
use bevy_reflect::serde::SerializationData;
use bevy_reflect::{
    ReflectDeserialize, ReflectSerialize, TypeInfo, TypeRegistration, TypeRegistry,
    enums::VariantInfo, std_traits::ReflectDefault,
};
use serde_json::{Map, Value, json};
use std::any::TypeId;
use std::borrow::Cow;
use std::collections::VecDeque;
use std::time::Duration;

/// The most types one schema defines (the described type and its `$defs`).
pub(crate) const MAX_DEFINITIONS: usize = 256;

/// The most primitive leaves, and nested structs, a `glam` type is
/// flattened from (an `Affine3A` has 12 leaves in 6 structs, a `DMat4` 16
/// in 5).
const MAX_GLAM_LEAVES: usize = 16;

/// How a schema describes an [`Entity`].
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum Entities {
    /// The protocol's wire id, a string such as `"3v0"`.
    Ids,
    /// `bevy_remote`'s JSON-RPC form: the integer [`Entity::to_bits`].
    Bits,
}

/// The schema of the reflected type `root`, with the types it holds
/// under `$defs` and entities as wire ids ([`Entities::Ids`]).
pub(crate) fn reflected(registry: &TypeRegistry, root: TypeId) -> BrpResult<Value> {
    reflected_as(registry, root, Entities::Ids)
}

/// [`reflected`], with entities described as `entities` says.
pub(crate) fn reflected_as(
    registry: &TypeRegistry,
    root: TypeId,
    entities: Entities,
) -> BrpResult<Value> {
    bounded(registry, root, entities, MAX_DEFINITIONS)
}

/// `bevy_remote`'s `registry.schema`: `{typePath: schema}` of every
/// registered type that `filter` (the request's params, `null` when
/// absent) admits, sorted by type path, entities as integers
/// ([`Entities::Bits`]).
///
/// `filter` is `{"with_crates": [..], "without_crates": [..],
/// "type_limit": {"with": [..], "without": [..]}}`, every field optional.
/// As in `bevy_remote`, a type whose path names no crate (`u32`, `bool`)
/// passes both crate filters; `type_limit.with` keeps the types with at
/// least one of the named `reflectTypes` (`Component`, `Resource`,
/// `Event`, `Default`, `Serialize`, `Deserialize`), and
/// `type_limit.without` drops the types with any of them. Unknown fields,
/// `null` or a value of the wrong type are errors of params (-32602).
///
/// Each entry is [`reflected_as`]'s schema: it carries its own `$defs`,
/// so it stands alone whatever the filter left out, where
/// `bevy_remote`'s entries hold no `$defs` and refer to their siblings
/// in the map (through `#/$defs/<typePath>`). Entries also differ as
/// [`reflected`]'s do: leaves are written in place rather than
/// referenced, and `componentInfo` (which needs the world's
/// `Components`) is not written.
///
/// The answer is bounded: it holds one entry per registered type, a
/// number the registry fixes and no request can grow, and each entry at
/// most [`MAX_DEFINITIONS`] definitions, built from a worklist, never by
/// recursion. A type that needs more is listed still, with what
/// [`reflected`] would refuse it for as its `description` and its value
/// undescribed, so one large type does not fail the whole answer.
pub(crate) fn registry(registry: &TypeRegistry, filter: &Value) -> BrpResult<Value> {
    listed(registry, filter, MAX_DEFINITIONS)
}

/// [`registry`], each entry defining at most `max` types.
fn listed(registry: &TypeRegistry, filter: &Value, max: usize) -> BrpResult<Value> {
    let filter = Filter::parse(filter)?;
    let mut admitted: Vec<&TypeRegistration> = registry
        .iter()
        .filter(|registration| filter.admits(registration))
        .collect();
    admitted.sort_unstable_by_key(|registration| registration.type_info().type_path());
    let mut schemas = Map::new();
    for registration in admitted {
        let schema = bounded(registry, registration.type_id(), Entities::Bits, max).unwrap_or_else(
            |too_large| {
                let mut entry = heading(registration);
                entry.insert("description".into(), too_large.message.into());
                Value::Object(entry)
            },
        );
        schemas.insert(registration.type_info().type_path().into(), schema);
    }
    Ok(Value::Object(schemas))
}

/// The params of `registry.schema`, borrowed from the request.
#[derive(Default)]
struct Filter<'a> {
    with_crates: Vec<&'a str>,
    without_crates: Vec<&'a str>,
    with: Vec<&'a str>,
    without: Vec<&'a str>,
}

impl<'a> Filter<'a> {
    /// `params` read, or an error of params naming the field at fault.
    fn parse(params: &'a Value) -> BrpResult<Self> {
        let mut filter = Self::default();
        if params.is_null() {
            return Ok(filter);
        }
        for (key, value) in params::object(params, "params")? {
            match key.as_str() {
                "with_crates" => filter.with_crates = strings(value, "params.with_crates")?,
                "without_crates" => {
                    filter.without_crates = strings(value, "params.without_crates")?;
                }
                "type_limit" => {
                    for (key, value) in params::object(value, "params.type_limit")? {
                        match key.as_str() {
                            "with" => filter.with = strings(value, "params.type_limit.with")?,
                            "without" => {
                                filter.without = strings(value, "params.type_limit.without")?;
                            }
                            _ => return Err(unknown("params.type_limit", key, "with, without")),
                        }
                    }
                }
                _ => {
                    return Err(unknown(
                        "params",
                        key,
                        "with_crates, without_crates, type_limit",
                    ));
                }
            }
        }
        Ok(filter)
    }

    /// Whether `registration` passes the crate filters and `type_limit`.
    fn admits(&self, registration: &TypeRegistration) -> bool {
        if let Some(krate) = registration.type_info().type_path_table().crate_name() {
            if !self.with_crates.is_empty() && !self.with_crates.contains(&krate) {
                return false;
            }
            if self.without_crates.contains(&krate) {
                return false;
            }
        }
        let types = reflect_types(registration);
        (self.with.is_empty() || self.with.iter().any(|t| types.contains(t)))
            && !self.without.iter().any(|t| types.contains(t))
    }
}

/// `value` as a list of strings, or an error of params naming `at`.
fn strings<'a>(value: &'a Value, at: &str) -> BrpResult<Vec<&'a str>> {
    let wrong = || BrpError::invalid_params(format!("{at} must be an array of strings"));
    (value.as_array().ok_or_else(wrong)?.iter())
        .map(|item| item.as_str().ok_or_else(wrong))
        .collect()
}

/// The error of an unknown field `key` of `at`.
fn unknown(at: &str, key: &str, expected: &str) -> BrpError {
    BrpError::invalid_params(format!(
        "unknown field {at}.{}; expected one of: {expected}",
        params::echo(key)
    ))
}

/// [`reflected_as`], defining at most `max` types.
fn bounded(
    registry: &TypeRegistry,
    root: TypeId,
    entities: Entities,
    max: usize,
) -> BrpResult<Value> {
    let mut queue = VecDeque::from([root]);
    let mut seen = vec![root];
    let mut defs = Map::new();
    let mut top = None;
    while let Some(type_id) = queue.pop_front() {
        let registration = registry
            .get(type_id)
            .ok_or_else(|| BrpError::internal(format!("type {type_id:?} left the registry")))?;
        let mut refs = Vec::new();
        let definition = define(registration, registry, root, entities, &mut refs);
        for id in refs {
            if !seen.contains(&id) {
                if seen.len() >= max {
                    return Err(BrpError::component(format!(
                        "the schema of `{}` needs more than {max} type definitions",
                        registry
                            .get(root)
                            .map_or("?", |r| r.type_info().type_path())
                    )));
                }
                seen.push(id);
                queue.push_back(id);
            }
        }
        if type_id == root {
            top = Some(definition);
        } else {
            let path = registration.type_info().type_path().to_owned();
            defs.insert(path, Value::Object(definition));
        }
    }
    let mut top = top.unwrap_or_default();
    if !defs.is_empty() {
        top.insert("$defs".into(), Value::Object(defs));
    }
    Ok(Value::Object(top))
}

/// The schema of the dynamic component `name`, which holds any JSON value.
pub(crate) fn dynamic(name: &str) -> Value {
    json!({
        "shortPath": name,
        "typePath": name,
        "reflectTypes": ["Component"],
        "kind": "Value",
        "description": "any JSON value",
    })
}

/// The definition of one type; the registered types it refers to are
/// pushed onto `refs`.
fn define(
    registration: &TypeRegistration,
    registry: &TypeRegistry,
    root: TypeId,
    entities: Entities,
    refs: &mut Vec<TypeId>,
) -> Map<String, Value> {
    let info = registration.type_info();
    let mut out = heading(registration);
    let mut field = |id: TypeId| reference(id, registry, root, entities, refs);
    let body = match known(registration.type_id(), info, registry, entities) {
        Some(known) => object(known),
        None => match info {
            TypeInfo::Struct(info) => {
                let skipped = registration.data::<SerializationData>();
                let defaulted = registration.contains::<ReflectDefault>();
                let mut properties = Map::new();
                let mut required = Vec::new();
                for (index, f) in info.iter().enumerate() {
                    if skipped.is_some_and(|s| s.is_field_skipped(index)) {
                        continue;
                    }
                    properties.insert(f.name().into(), field(f.type_id()));
                    if !defaulted && !is_option(f.type_path()) {
                        required.push(Value::from(f.name()));
                    }
                }
                object(json!({
                    "type": "object",
                    "properties": properties,
                    "required": required,
                    "additionalProperties": false,
                }))
            }
            TypeInfo::TupleStruct(info) if info.field_len() == 1 => {
                let inner = info.iter().map(|f| field(f.type_id())).next();
                object(inner.unwrap_or_default())
            }
            TypeInfo::TupleStruct(info) => tuple(info.iter().map(|f| field(f.type_id())).collect()),
            TypeInfo::Tuple(info) => tuple(info.iter().map(|f| field(f.type_id())).collect()),
            TypeInfo::List(info) => {
                object(json!({"type": "array", "items": field(info.item_ty().id())}))
            }
            TypeInfo::Set(info) => object(json!({
                "type": "array", "items": field(info.value_ty().id()), "uniqueItems": true,
            })),
            TypeInfo::Array(info) => object(json!({
                "type": "array",
                "items": field(info.item_ty().id()),
                "minItems": info.capacity(),
                "maxItems": info.capacity(),
            })),
            TypeInfo::Map(info) => object(json!({
                "type": "object",
                "keyType": field(info.key_ty().id()),
                "additionalProperties": field(info.value_ty().id()),
            })),
            TypeInfo::Enum(info) if is_option(info.type_path()) => {
                let some = (info.iter())
                    .find_map(|v| match v {
                        VariantInfo::Tuple(v) => v.iter().next().map(|f| field(f.type_id())),
                        _ => None,
                    })
                    .unwrap_or_default();
                object(json!({"oneOf": [{"type": "null"}, some]}))
            }
            TypeInfo::Enum(info) => {
                let variants: Vec<Value> = info
                    .iter()
                    .map(|variant| match variant {
                        VariantInfo::Unit(v) => json!({"type": "string", "const": v.name()}),
                        VariantInfo::Tuple(v) => {
                            let fields: Vec<Value> = v.iter().map(|f| field(f.type_id())).collect();
                            let inner = match <[Value; 1]>::try_from(fields) {
                                Ok([one]) => one,
                                Err(fields) => Value::Object(tuple(fields)),
                            };
                            variant_object(v.name(), inner)
                        }
                        VariantInfo::Struct(v) => {
                            let properties: Map<String, Value> = v
                                .iter()
                                .map(|f| (f.name().to_owned(), field(f.type_id())))
                                .collect();
                            let required: Vec<&str> = v.iter().map(|f| f.name()).collect();
                            let inner = json!({
                                "type": "object",
                                "properties": properties,
                                "required": required,
                                "additionalProperties": false,
                            });
                            variant_object(v.name(), inner)
                        }
                    })
                    .collect();
                object(json!({ "oneOf": variants }))
            }
            TypeInfo::Opaque(_) => object(json!({
                "description": "written by the type's own serde implementation",
            })),
        },
    };
    out.extend(body);
    out
}

/// What a definition says of the type itself: `shortPath`, `typePath`,
/// `modulePath`, `crateName`, `reflectTypes` and `kind`.
fn heading(registration: &TypeRegistration) -> Map<String, Value> {
    let info = registration.type_info();
    let table = info.type_path_table();
    let mut out = Map::new();
    out.insert("shortPath".into(), table.short_path().into());
    out.insert("typePath".into(), table.path().into());
    if let Some(module) = table.module_path() {
        out.insert("modulePath".into(), module.into());
    }
    if let Some(krate) = table.crate_name() {
        out.insert("crateName".into(), krate.into());
    }
    out.insert("reflectTypes".into(), reflect_types(registration).into());
    let kind = match info {
        TypeInfo::Struct(_) => "Struct",
        TypeInfo::TupleStruct(_) => "TupleStruct",
        TypeInfo::Tuple(_) => "Tuple",
        TypeInfo::List(_) => "List",
        TypeInfo::Array(_) => "Array",
        TypeInfo::Map(_) => "Map",
        TypeInfo::Set(_) => "Set",
        TypeInfo::Enum(_) => "Enum",
        TypeInfo::Opaque(_) => "Value",
    };
    out.insert("kind".into(), kind.into());
    out
}

/// The names `bevy_remote` gives the reflect data `registration` holds,
/// in its `reflectTypes`.
fn reflect_types(registration: &TypeRegistration) -> Vec<&'static str> {
    [
        (registration.contains::<ReflectComponent>(), "Component"),
        (registration.contains::<ReflectResource>(), "Resource"),
        (registration.contains::<ReflectEvent>(), "Event"),
        (registration.contains::<ReflectDefault>(), "Default"),
        (registration.contains::<ReflectSerialize>(), "Serialize"),
        (registration.contains::<ReflectDeserialize>(), "Deserialize"),
    ]
    .into_iter()
    .filter_map(|(has, name)| has.then_some(name))
    .collect()
}

/// How a field of type `id` refers to its type: in place when it is a
/// known leaf, else a `$ref` (and `id` joins `refs`).
fn reference(
    id: TypeId,
    registry: &TypeRegistry,
    root: TypeId,
    entities: Entities,
    refs: &mut Vec<TypeId>,
) -> Value {
    let Some(registration) = registry.get(id) else {
        return json!({"description": "a type the registry does not know"});
    };
    if let Some(known) = known(id, registration.type_info(), registry, entities) {
        return known;
    }
    if id == root {
        return json!({"$ref": "#"});
    }
    refs.push(id);
    json!({ "$ref": format!("#/$defs/{}", registration.type_info().type_path()) })
}

/// The schema of a type written in place: primitives, `Name`, `Entity`
/// (as `entities` says), `Duration` and `glam`'s types, which serde
/// writes as the flat list of their numbers.
fn known(
    id: TypeId,
    info: &TypeInfo,
    registry: &TypeRegistry,
    entities: Entities,
) -> Option<Value> {
    if let Some(leaf) = primitive(id) {
        return Some(leaf);
    }
    if id == TypeId::of::<Name>() {
        return Some(json!({"type": "string"}));
    }
    if id == TypeId::of::<Entity>() {
        return Some(match entities {
            Entities::Ids => {
                json!({"type": "string", "pattern": "^(0|[1-9][0-9]*)v(0|[1-9][0-9]*)$"})
            }
            Entities::Bits => json!({"type": "integer", "minimum": 0}),
        });
    }
    if id == TypeId::of::<Duration>() {
        return Some(json!({
            "type": "object",
            "properties": {
                "secs": {"type": "integer", "minimum": 0},
                "nanos": {"type": "integer", "minimum": 0, "maximum": 999_999_999},
            },
            "required": ["secs", "nanos"],
            "additionalProperties": false,
        }));
    }
    glam(info, registry)
}

/// A `glam` struct whose numbers, in field order, all have one type:
/// an array of exactly that many of it, as glam's serde writes it.
fn glam(info: &TypeInfo, registry: &TypeRegistry) -> Option<Value> {
    let is_glam = |info: &TypeInfo| info.type_path_table().crate_name() == Some("glam");
    if !is_glam(info) {
        return None;
    }
    let mut pending = vec![info];
    let mut leaf = None;
    let mut count = 0usize;
    let mut structs = 0usize;
    while let Some(info) = pending.pop() {
        structs += 1;
        if structs > MAX_GLAM_LEAVES {
            return None;
        }
        let TypeInfo::Struct(info) = info else {
            return None;
        };
        // Reversed, so the first field is taken first.
        for field in info.iter().rev() {
            if primitive(field.type_id()).is_some() {
                if leaf.get_or_insert(field.type_id()) != &field.type_id() {
                    return None;
                }
                count += 1;
                if count > MAX_GLAM_LEAVES {
                    return None;
                }
                continue;
            }
            let inner = registry.get(field.type_id())?.type_info();
            if !is_glam(inner) || pending.len() >= MAX_GLAM_LEAVES {
                return None;
            }
            pending.push(inner);
        }
    }
    let items = primitive(leaf?)?;
    Some(json!({"type": "array", "items": items, "minItems": count, "maxItems": count}))
}

/// The schema of a primitive type, if `id` is one.
fn primitive(id: TypeId) -> Option<Value> {
    macro_rules! integers {
        ($($t:ty),*) => {
            $(if id == TypeId::of::<$t>() {
                return Some(json!({"type": "integer", "minimum": <$t>::MIN, "maximum": <$t>::MAX}));
            })*
        };
    }
    integers!(u8, u16, u32, u64, usize, i8, i16, i32, i64, isize);
    let leaf = if id == TypeId::of::<bool>() {
        json!({"type": "boolean"})
    } else if id == TypeId::of::<f32>() || id == TypeId::of::<f64>() {
        json!({"type": "number"})
    } else if id == TypeId::of::<String>()
        || id == TypeId::of::<&'static str>()
        || id == TypeId::of::<Cow<'static, str>>()
    {
        json!({"type": "string"})
    } else if id == TypeId::of::<char>() {
        json!({"type": "string", "minLength": 1, "maxLength": 1})
    } else if id == TypeId::of::<u128>() || id == TypeId::of::<i128>() {
        json!({"type": "integer"})
    } else {
        return None;
    };
    Some(leaf)
}

/// Whether `path` is a `core::option::Option`.
fn is_option(path: &str) -> bool {
    path.starts_with("core::option::Option<")
}

/// An array of exactly `items`, in order.
fn tuple(items: Vec<Value>) -> Map<String, Value> {
    let len = items.len();
    object(json!({
        "type": "array",
        "prefixItems": items,
        "items": false,
        "minItems": len,
        "maxItems": len,
    }))
}

/// An enum variant with data, as serde writes it: `{"Variant": inner}`.
fn variant_object(name: &str, inner: Value) -> Value {
    json!({
        "type": "object",
        "properties": { name: inner },
        "required": [name],
        "additionalProperties": false,
    })
}

/// `value`'s object, or an empty one.
fn object(value: Value) -> Map<String, Value> {
    match value {
        Value::Object(map) => map,
        _ => Map::new(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use bevy_ecs::hierarchy::ChildOf;
    use bevy_reflect::Reflect;
    use serde_json::json;

    /// A type that holds itself, through a list.
    #[derive(Reflect)]
    #[reflect(no_field_bounds)]
    struct Tree {
        children: Vec<Tree>,
        label: Option<String>,
    }

    fn registry() -> TypeRegistry {
        let mut registry = TypeRegistry::new();
        registry.register::<Tree>();
        registry
    }

    #[test]
    fn a_type_that_holds_itself_refers_to_the_root() {
        let schema = reflected(&registry(), TypeId::of::<Tree>()).expect("schema");
        let list = "alloc::vec::Vec<brp::world::schema::tests::Tree>";
        assert_eq!(
            schema["properties"]["children"],
            json!({ "$ref": format!("#/$defs/{list}") })
        );
        assert_eq!(schema["$defs"][list]["items"], json!({"$ref": "#"}));
        assert_eq!(schema["required"], json!(["children"]));
        let label = schema["properties"]["label"]["$ref"]
            .as_str()
            .expect("label");
        let label = &schema["$defs"][label.trim_start_matches("#/$defs/")];
        assert_eq!(
            label["oneOf"],
            json!([{"type": "null"}, {"type": "string"}])
        );
    }

    #[test]
    fn the_number_of_definitions_is_bounded() {
        let error = bounded(&registry(), TypeId::of::<Tree>(), Entities::Ids, 2)
            .expect_err("over the bound");
        assert!(
            error.message.contains("more than 2 type definitions"),
            "{}",
            error.message
        );
        assert!(bounded(&registry(), TypeId::of::<Tree>(), Entities::Ids, 3).is_ok());
    }

    /// A type of this crate that holds an entity.
    #[derive(Reflect)]
    struct Holder {
        target: Entity,
    }

    /// `Tree`, `Holder`, `ChildOf` (a component of `bevy_ecs`) and `u32`
    /// (a type of no crate), with the types they hold.
    fn mixed() -> TypeRegistry {
        let mut registry = registry();
        registry.register::<Holder>();
        registry.register::<ChildOf>();
        registry.register::<u32>();
        registry
    }

    const TREE: &str = "brp::world::schema::tests::Tree";
    const HOLDER: &str = "brp::world::schema::tests::Holder";
    const CHILD_OF: &str = "bevy_ecs::hierarchy::ChildOf";

    /// The type paths `registry.schema` answers `filter` with, in order.
    fn exported(filter: Value) -> Vec<String> {
        let schemas = super::registry(&mixed(), &filter).expect("schemas");
        let schemas = schemas.as_object().expect("a map");
        for (path, schema) in schemas {
            assert_eq!(schema["typePath"], json!(path));
        }
        schemas.keys().cloned().collect()
    }

    #[test]
    fn without_a_filter_every_registered_type_is_exported_in_order() {
        let all = exported(Value::Null);
        assert_eq!(all.len(), mixed().iter().count());
        assert!(all.is_sorted(), "{all:?}");
        for path in [TREE, HOLDER, CHILD_OF, "u32", "bevy_ecs::entity::Entity"] {
            assert!(all.iter().any(|p| p == path), "{path} in {all:?}");
        }
        assert_eq!(exported(json!({})), all);
    }

    #[test]
    fn crate_filters_keep_and_drop_by_crate_name() {
        let brp = exported(json!({"with_crates": ["brp"]}));
        assert!(brp.iter().any(|p| p == TREE) && brp.iter().any(|p| p == HOLDER));
        assert!(!brp.iter().any(|p| p == CHILD_OF), "{brp:?}");
        assert!(!brp.iter().any(|p| p.starts_with("alloc::")), "{brp:?}");
        // As in `bevy_remote`, a type of no crate passes every crate filter.
        assert!(brp.iter().any(|p| p == "u32"), "{brp:?}");

        let two = exported(json!({"with_crates": ["brp", "bevy_ecs"]}));
        assert!(two.iter().any(|p| p == TREE) && two.iter().any(|p| p == CHILD_OF));

        let not_ecs = exported(json!({"without_crates": ["bevy_ecs"]}));
        assert!(!not_ecs.iter().any(|p| p.starts_with("bevy_ecs::")));
        assert!(not_ecs.iter().any(|p| p == TREE) && not_ecs.iter().any(|p| p == "u32"));

        let both = exported(json!({"with_crates": ["brp"], "without_crates": ["brp"]}));
        assert!(both.iter().any(|p| p == "u32"), "{both:?}");
        assert!(both.iter().all(|p| !p.contains("::")), "{both:?}");
    }

    #[test]
    fn type_limit_keeps_and_drops_by_reflect_type() {
        let components = exported(json!({"type_limit": {"with": ["Component"]}}));
        assert_eq!(components, [CHILD_OF]);
        let either = exported(json!({"type_limit": {"with": ["Resource", "Component"]}}));
        assert_eq!(either, [CHILD_OF]);

        let rest = exported(json!({"type_limit": {"without": ["Component"]}}));
        assert!(!rest.iter().any(|p| p == CHILD_OF), "{rest:?}");
        assert!(rest.iter().any(|p| p == TREE), "{rest:?}");

        let serializable = exported(json!({"type_limit": {"with": ["Serialize"]}}));
        assert!(serializable.iter().any(|p| p == "u32"), "{serializable:?}");
        assert!(!serializable.iter().any(|p| p == TREE), "{serializable:?}");

        let crate_and_type = exported(json!({
            "with_crates": ["bevy_ecs"],
            "type_limit": {"without": ["Component"]},
        }));
        assert!(
            crate_and_type
                .iter()
                .any(|p| p == "bevy_ecs::entity::Entity")
        );
        assert!(!crate_and_type.iter().any(|p| p == CHILD_OF || p == TREE));
    }

    #[test]
    fn a_bad_filter_is_an_error_of_params_naming_the_field() {
        for (filter, expected) in [
            (json!([]), "params must be an object"),
            (
                json!({"with_crates": "brp"}),
                "params.with_crates must be an array of strings",
            ),
            (
                json!({"with_crates": null}),
                "params.with_crates must be an array of strings",
            ),
            (
                json!({"without_crates": [1]}),
                "params.without_crates must be an array of strings",
            ),
            (
                json!({"type_limit": []}),
                "params.type_limit must be an object",
            ),
            (
                json!({"type_limit": {"with": [true]}}),
                "params.type_limit.with must be an array of strings",
            ),
            (
                json!({"type_limit": {"without": {}}}),
                "params.type_limit.without must be an array of strings",
            ),
            (json!({"crates": []}), "unknown field params.crates"),
            (
                json!({"type_limit": {"only": []}}),
                "unknown field params.type_limit.only",
            ),
        ] {
            let error = super::registry(&mixed(), &filter).expect_err("a bad filter");
            assert_eq!(
                error.code,
                crate::error::ErrorCode::InvalidParams,
                "{filter}"
            );
            assert!(
                error.message.starts_with(expected),
                "{filter}: {}",
                error.message
            );
        }
    }

    #[test]
    fn entities_are_wire_ids_or_integer_bits() {
        let registry = mixed();
        let id = json!({"type": "string", "pattern": "^(0|[1-9][0-9]*)v(0|[1-9][0-9]*)$"});
        let bits = json!({"type": "integer", "minimum": 0});

        let holder = reflected(&registry, TypeId::of::<Holder>()).expect("schema");
        assert_eq!(holder["properties"]["target"], id);
        let holder =
            reflected_as(&registry, TypeId::of::<Holder>(), Entities::Bits).expect("schema");
        assert_eq!(holder["properties"]["target"], bits);

        let child_of = reflected(&registry, TypeId::of::<ChildOf>()).expect("schema");
        assert_eq!(child_of["type"], id["type"]);
        let schemas = super::registry(&registry, &Value::Null).expect("schemas");
        assert_eq!(schemas[HOLDER]["properties"]["target"], bits);
        assert_eq!(schemas[CHILD_OF]["type"], bits["type"]);
        assert_eq!(schemas[CHILD_OF]["reflectTypes"][0], "Component");
        assert_eq!(schemas["bevy_ecs::entity::Entity"]["type"], bits["type"]);
    }

    #[test]
    fn a_type_too_large_to_define_is_listed_undescribed() {
        let schemas = listed(&mixed(), &Value::Null, 2).expect("schemas");
        let tree = schemas[TREE].as_object().expect("listed");
        assert_eq!(tree["typePath"], TREE);
        assert_eq!(tree["kind"], "Struct");
        assert!(!tree.contains_key("properties") && !tree.contains_key("$defs"));
        let description = tree["description"].as_str().expect("why");
        assert!(
            description.contains("more than 2 type definitions"),
            "{description}"
        );
        assert!(schemas[HOLDER]["properties"].is_object());
    }

    #[test]
    fn every_type_of_the_built_in_world_has_a_schema() {
        let world = super::super::contents::build(&crate::config::Config::default(), |_| {})
            .expect("world");
        let registry = world
            .resource::<bevy_ecs::reflect::AppTypeRegistry>()
            .read();
        let schemas = super::registry(&registry, &Value::Null).expect("schemas");
        assert_eq!(
            schemas.as_object().map(Map::len),
            Some(registry.iter().count())
        );
        let too_large = |schema: &Value| {
            schema["description"]
                .as_str()
                .is_some_and(|d| d.contains("more than"))
        };
        assert!(!schemas.as_object().expect("a map").values().any(too_large));
    }
}
