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

use crate::error::{BrpError, BrpResult};
use bevy_ecs::entity::Entity;
use bevy_ecs::name::Name;
use bevy_ecs::reflect::{ReflectComponent, ReflectResource};
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

/// The schema of the reflected type `root`, with the types it holds
/// under `$defs`.
pub(crate) fn reflected(registry: &TypeRegistry, root: TypeId) -> BrpResult<Value> {
    bounded(registry, root, MAX_DEFINITIONS)
}

/// [`reflected`], defining at most `max` types.
fn bounded(registry: &TypeRegistry, root: TypeId, max: usize) -> BrpResult<Value> {
    let mut queue = VecDeque::from([root]);
    let mut seen = vec![root];
    let mut defs = Map::new();
    let mut top = None;
    while let Some(type_id) = queue.pop_front() {
        let registration = registry
            .get(type_id)
            .ok_or_else(|| BrpError::internal(format!("type {type_id:?} left the registry")))?;
        let mut refs = Vec::new();
        let definition = define(registration, registry, root, &mut refs);
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
    refs: &mut Vec<TypeId>,
) -> Map<String, Value> {
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
    let reflect_types: Vec<&str> = [
        (registration.contains::<ReflectComponent>(), "Component"),
        (registration.contains::<ReflectResource>(), "Resource"),
        (registration.contains::<ReflectDefault>(), "Default"),
        (registration.contains::<ReflectSerialize>(), "Serialize"),
        (registration.contains::<ReflectDeserialize>(), "Deserialize"),
    ]
    .into_iter()
    .filter_map(|(has, name)| has.then_some(name))
    .collect();
    out.insert("reflectTypes".into(), reflect_types.into());
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
    let mut field = |id: TypeId| reference(id, registry, root, refs);
    let body = match known(registration.type_id(), info, registry) {
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

/// How a field of type `id` refers to its type: in place when it is a
/// known leaf, else a `$ref` (and `id` joins `refs`).
fn reference(id: TypeId, registry: &TypeRegistry, root: TypeId, refs: &mut Vec<TypeId>) -> Value {
    let Some(registration) = registry.get(id) else {
        return json!({"description": "a type the registry does not know"});
    };
    if let Some(known) = known(id, registration.type_info(), registry) {
        return known;
    }
    if id == root {
        return json!({"$ref": "#"});
    }
    refs.push(id);
    json!({ "$ref": format!("#/$defs/{}", registration.type_info().type_path()) })
}

/// The schema of a type written in place: primitives, `Name`, `Entity`
/// (a wire id), `Duration` and `glam`'s types, which serde writes as the
/// flat list of their numbers.
fn known(id: TypeId, info: &TypeInfo, registry: &TypeRegistry) -> Option<Value> {
    if let Some(leaf) = primitive(id) {
        return Some(leaf);
    }
    if id == TypeId::of::<Name>() {
        return Some(json!({"type": "string"}));
    }
    if id == TypeId::of::<Entity>() {
        return Some(json!({"type": "string", "pattern": "^(0|[1-9][0-9]*)v(0|[1-9][0-9]*)$"}));
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
        let error = bounded(&registry(), TypeId::of::<Tree>(), 2).expect_err("over the bound");
        assert!(
            error.message.contains("more than 2 type definitions"),
            "{}",
            error.message
        );
        assert!(bounded(&registry(), TypeId::of::<Tree>(), 3).is_ok());
    }
}
