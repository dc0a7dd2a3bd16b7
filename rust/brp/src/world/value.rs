//! Component values on the wire: `{"JSON": "<json text>"}`, converted through
//! `bevy_reflect` for Rust types and held as `serde_json::Value` for dynamic
//! components.
//!
//! Entities inside reflected values (`ChildOf`, `Children`, ...) are written
//! as wire ids, `"3v0"`, not as Bevy's opaque bit patterns.

use crate::entity_id;
use crate::error::{BrpError, BrpResult};
use crate::params::echo;
use crate::world::components::{ComponentNames, ComponentRef, Kind};
use bevy_ecs::component::ComponentId;
use bevy_ecs::entity::Entity;
use bevy_ecs::hierarchy::ChildOf;
use bevy_ecs::ptr::OwningPtr;
use bevy_ecs::reflect::ReflectComponent;
use bevy_ecs::world::{EntityRef, EntityWorldMut, World};
use bevy_reflect::serde::{
    ReflectDeserializerProcessor, ReflectSerializerProcessor, TypedReflectDeserializer,
    TypedReflectSerializer,
};
use bevy_reflect::{PartialReflect, Reflect, ReflectFromReflect, TypeRegistration, TypeRegistry};
use serde::de::{DeserializeSeed, Error as _};
use serde::ser::SerializeMap;
use serde::{Deserialize, Deserializer, Serialize, Serializer};
use serde_json::Value;
use std::any::TypeId;
use std::mem::ManuallyDrop;
use std::ptr::NonNull;

/// A value decoded from the wire for one component, ready to insert.
pub(crate) enum Decoded {
    /// A concrete Rust value and the functions that insert it.
    Reflected {
        /// The value.
        value: Box<dyn Reflect>,
        /// Its component's reflection functions.
        reflect: ReflectComponent,
    },
    /// A dynamic component's JSON value.
    Dynamic {
        /// The dynamic component.
        id: ComponentId,
        /// The value.
        value: Value,
    },
}

impl Decoded {
    /// The value as `T`, if it is a reflected `T`.
    pub(crate) fn downcast_ref<T: Reflect>(&self) -> Option<&T> {
        match self {
            Decoded::Reflected { value, .. } => value.downcast_ref(),
            Decoded::Dynamic { .. } => None,
        }
    }
}

/// The decoded components of one SPAWN or INSERT, inserted together: the
/// dynamic ones as one bundle (one archetype move, however many there are).
#[derive(Default)]
pub(crate) struct Bundle {
    reflected: Vec<(Box<dyn Reflect>, ReflectComponent)>,
    dynamic: Vec<(ComponentId, Value)>,
    /// Dynamic components to declare before inserting (`auto_declare`).
    undeclared: Vec<(String, Value)>,
}

impl Bundle {
    /// Adds a decoded value.
    pub(crate) fn push(&mut self, decoded: Decoded) {
        match decoded {
            Decoded::Reflected { value, reflect } => self.reflected.push((value, reflect)),
            Decoded::Dynamic { id, value } => self.dynamic.push((id, value)),
        }
    }

    /// Adds the value of a dynamic component that is not declared yet.
    pub(crate) fn push_undeclared(&mut self, name: &str, value: Value) {
        self.undeclared.push((name.to_owned(), value));
    }

    /// Declares the dynamic components the bundle names but the world does
    /// not know yet. Called only once the whole request is known to succeed,
    /// so a failed request declares nothing.
    pub(crate) fn declare(
        &mut self,
        names: &mut ComponentNames,
        world: &mut World,
    ) -> BrpResult<()> {
        for (name, value) in std::mem::take(&mut self.undeclared) {
            let component = names.declare(world, &name)?;
            self.dynamic.push((component.id, value));
        }
        Ok(())
    }

    /// Inserts every value into `entity`, replacing existing ones. When two
    /// names stand for one component, the later value wins.
    pub(crate) fn insert(self, entity: &mut EntityWorldMut, registry: &TypeRegistry) {
        let mut dynamic = self.dynamic;
        dynamic.reverse();
        dynamic.sort_by_key(|(id, _)| *id); // stable: the later value comes first
        dynamic.dedup_by_key(|(id, _)| *id);
        let ids: Vec<ComponentId> = dynamic.iter().map(|(id, _)| *id).collect();
        let mut values: Vec<ManuallyDrop<Value>> = dynamic
            .into_iter()
            .map(|(_, value)| ManuallyDrop::new(value))
            .collect();
        let pointers = values.iter_mut().map(|value| {
            // SAFETY: the pointer is to a live `Value` that the world takes
            // ownership of; `ManuallyDrop` keeps it from being dropped here.
            unsafe { OwningPtr::new(NonNull::from(&mut **value).cast()) }
        });
        // SAFETY: every id is a dynamic component of this world, laid out as
        // a `Value`, and each pointer points to a `Value`, in the same order.
        unsafe { entity.insert_by_ids(&ids, pointers) };
        for (value, reflect) in self.reflected {
            reflect.insert(entity, value.as_partial_reflect(), registry);
        }
    }
}

/// JSON text in the protocol's nesting (docs/protocol.md), written as `{"JSON": text}`.
pub(crate) struct Wrapped<'a>(pub &'a str);

impl Serialize for Wrapped<'_> {
    fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        let mut map = serializer.serialize_map(Some(1))?;
        map.serialize_entry("JSON", self.0)?;
        map.end()
    }
}

/// Returns the JSON text inside `{"JSON": text}`.
pub(crate) fn unwrap<'v>(name: &str, wrapped: &'v Value) -> BrpResult<&'v str> {
    match wrapped {
        Value::Object(object) if object.len() == 1 => match object.get("JSON") {
            Some(Value::String(text)) => return Ok(text),
            Some(_) => {
                return Err(BrpError::invalid_params(format!(
                    "component `{name}`: \"JSON\" must be a string holding JSON text"
                )));
            }
            None => {}
        },
        _ => {}
    }
    Err(BrpError::invalid_params(format!(
        "component `{name}`: expected {{\"JSON\": \"<json text>\"}}, got {}",
        echo(&wrapped.to_string())
    )))
}

/// Serializes `component` of `entity` to JSON text; `None` if it is absent.
pub(crate) fn read(
    entity: EntityRef,
    component: &ComponentRef,
    registry: &TypeRegistry,
) -> Option<BrpResult<String>> {
    match &component.kind {
        Kind::Reflected { reflect, .. } => {
            let value = reflect.reflect(entity)?;
            let serializer = TypedReflectSerializer::with_processor(
                value.as_partial_reflect(),
                registry,
                &EntityIds,
            );
            Some(serde_json::to_string(&serializer).map_err(|e| {
                BrpError::component(format!("cannot serialize `{}`: {e}", component.path))
            }))
        }
        Kind::Dynamic => {
            let ptr = entity.get_by_id(component.id).ok()?;
            // SAFETY: dynamic components are registered with the layout of `Value`
            // and only ever written from a `Value`.
            let value = unsafe { ptr.deref::<Value>() };
            Some(Ok(value.to_string()))
        }
    }
}

/// Decodes the wire value `wrapped` for `component` without touching the world.
pub(crate) fn decode(
    name: &str,
    component: &ComponentRef,
    wrapped: &Value,
    registry: &TypeRegistry,
) -> BrpResult<Decoded> {
    let text = unwrap(name, wrapped)?;
    let invalid = |e: &dyn std::fmt::Display| {
        BrpError::component(format!("invalid value for component `{name}`: {e}"))
    };
    match &component.kind {
        Kind::Dynamic => Ok(Decoded::Dynamic {
            id: component.id,
            value: decode_json(name, wrapped)?,
        }),
        Kind::Reflected { type_id, reflect } => {
            let registration = registry
                .get(*type_id)
                .ok_or_else(|| BrpError::internal(format!("`{name}` left the registry")))?;
            let mut deserializer = serde_json::Deserializer::from_str(text);
            let partial: Box<dyn PartialReflect> =
                TypedReflectDeserializer::with_processor(registration, registry, &mut EntityIds)
                    .deserialize(&mut deserializer)
                    .map_err(|e| invalid(&e))?;
            deserializer.end().map_err(|e| invalid(&e))?;
            let from_reflect = registration.data::<ReflectFromReflect>().ok_or_else(|| {
                BrpError::component(format!("`{name}` cannot be built from reflection"))
            })?;
            let value = from_reflect.from_reflect(partial.as_ref()).ok_or_else(|| {
                invalid(&format_args!(
                    "{} does not form a `{}`",
                    echo(text),
                    component.path
                ))
            })?;
            let written = serde_json::to_value(TypedReflectSerializer::with_processor(
                value.as_partial_reflect(),
                registry,
                &EntityIds,
            ))
            .map_err(|e| invalid(&e))?;
            let given: Value = serde_json::from_str(text).map_err(|e| invalid(&e))?;
            check_kept(&given, &written).map_err(|problem| invalid(&problem))?;
            Ok(Decoded::Reflected {
                value,
                reflect: reflect.clone(),
            })
        }
    }
}

/// Compares a reflected value as `given` with the same value `written` back
/// by its serializer, so that nothing given is silently dropped: a field the
/// type does not have (a misspelling), a list longer than the type holds, or
/// a number out of the type's range (written back as `null`, e.g. `1e39`
/// for an `f32`) is an error naming where it is.
fn check_kept(given: &Value, written: &Value) -> Result<(), String> {
    let mut pending = vec![(String::new(), given, written)];
    while let Some((at, given, written)) = pending.pop() {
        let here = |what: String| {
            if at.is_empty() {
                what
            } else {
                format!("at `{at}`: {what}")
            }
        };
        match (given, written) {
            (Value::Object(given), Value::Object(written)) => {
                for (key, value) in given {
                    let Some(kept) = written.get(key) else {
                        let fields: Vec<&str> = written.keys().map(String::as_str).collect();
                        return Err(here(format!(
                            "unknown field `{}`; expected one of: {}",
                            echo(key),
                            fields.join(", ")
                        )));
                    };
                    let path = if at.is_empty() {
                        key.clone()
                    } else {
                        format!("{at}.{key}")
                    };
                    pending.push((path, value, kept));
                }
            }
            (Value::Array(given), Value::Array(written)) => {
                if given.len() > written.len() {
                    return Err(here(format!(
                        "expected {} elements, got {}",
                        written.len(),
                        given.len()
                    )));
                }
                for (index, (value, kept)) in given.iter().zip(written).enumerate() {
                    pending.push((format!("{at}[{index}]"), value, kept));
                }
            }
            (Value::Number(number), Value::Null) => {
                return Err(here(format!("{number} is out of range for its type")));
            }
            _ => {}
        }
    }
    Ok(())
}

/// Decodes the wire value `wrapped` of the dynamic component `name`.
pub(crate) fn decode_json(name: &str, wrapped: &Value) -> BrpResult<Value> {
    serde_json::from_str(unwrap(name, wrapped)?)
        .map_err(|e| BrpError::component(format!("invalid value for component `{name}`: {e}")))
}

/// Reads and writes `Entity` values as wire ids inside reflected values;
/// `ChildOf`, which serializes through serde, is its entity alone.
struct EntityIds;

impl ReflectSerializerProcessor for EntityIds {
    fn try_serialize<S: Serializer>(
        &self,
        value: &dyn PartialReflect,
        _: &TypeRegistry,
        serializer: S,
    ) -> Result<Result<S::Ok, S>, S::Error> {
        let entity = match value.try_downcast_ref::<Entity>() {
            Some(&entity) => entity,
            None => match value.try_downcast_ref::<ChildOf>() {
                Some(child_of) => child_of.parent(),
                None => return Ok(Err(serializer)),
            },
        };
        serializer.serialize_str(&entity_id::format(entity)).map(Ok)
    }
}

impl ReflectDeserializerProcessor for EntityIds {
    fn try_deserialize<'de, D: Deserializer<'de>>(
        &mut self,
        registration: &TypeRegistration,
        _: &TypeRegistry,
        deserializer: D,
    ) -> Result<Result<Box<dyn PartialReflect>, D>, D::Error> {
        let type_id = registration.type_id();
        if type_id != TypeId::of::<Entity>() && type_id != TypeId::of::<ChildOf>() {
            return Ok(Err(deserializer));
        }
        let text = String::deserialize(deserializer)?;
        let entity = entity_id::parse(&text).map_err(|e| D::Error::custom(e.message))?;
        Ok(Ok(if type_id == TypeId::of::<ChildOf>() {
            Box::new(ChildOf(entity))
        } else {
            Box::new(entity)
        }))
    }
}
