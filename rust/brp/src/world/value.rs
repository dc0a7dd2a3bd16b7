//! Component values on the wire, converted through `bevy_reflect` for Rust
//! types and held as `serde_json::Value` for dynamic components, in one of
//! two [`Form`]s: `{"JSON": "<json text>"}` with entities as wire ids
//! (`"3v0"`, docs/protocol.md), or bevy_remote's plain JSON with entities
//! as their `u64` bits (its JSON-RPC dialect).

use crate::entity_id;
use crate::error::{BrpError, BrpResult};
use crate::params::{echo, strict};
use crate::world::components::{ComponentRef, Kind};
use crate::world::{finite, json};
use bevy_ecs::component::ComponentId;
use bevy_ecs::entity::Entity;
use bevy_ecs::hierarchy::ChildOf;
use bevy_ecs::name::Name;
use bevy_ecs::ptr::OwningPtr;
use bevy_ecs::reflect::ReflectComponent;
use bevy_ecs::world::{EntityRef, EntityWorldMut};
use bevy_reflect::serde::{
    ReflectDeserializerProcessor, ReflectSerializerProcessor, TypedReflectDeserializer,
    TypedReflectSerializer,
};
use bevy_reflect::{
    PartialReflect, Reflect, ReflectFromReflect, TypeInfo, TypeRegistration, TypeRegistry,
};
use bevy_transform::components::Transform;
use serde::de::{DeserializeSeed, Error as _};
use serde::{Deserialize, Deserializer, Serialize, Serializer};
use serde_json::Value;
use serde_json::ser::{CompactFormatter, Formatter};
use std::any::TypeId;
use std::borrow::Cow;
use std::io;
use std::mem::ManuallyDrop;
use std::ptr::NonNull;

/// How values, and entities inside and beside them, are written.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub(crate) enum Form {
    /// `{"JSON": text}`, entities as `"<index>v<generation>"`.
    #[default]
    Wrapped,
    /// The value itself, entities as `Entity::to_bits`.
    Plain,
}

impl Form {
    /// `entity` as this form writes an entity.
    pub(crate) fn entity(self, entity: Entity) -> EntityOut {
        EntityOut(self, entity)
    }

    /// The entity `value` names: a wire id string, or `u64` bits; `at`
    /// names the field in the error.
    pub(crate) fn parse_entity(self, value: &Value, at: &str) -> BrpResult<Entity> {
        match (self, value) {
            (Form::Wrapped, Value::String(id)) => entity_id::parse(id),
            (Form::Plain, Value::Number(bits)) => bits
                .as_u64()
                .and_then(Entity::try_from_bits)
                .ok_or_else(|| BrpError::invalid_params(format!("{at} is not an entity: {bits}"))),
            (Form::Wrapped, _) => Err(BrpError::invalid_params(format!("{at} must be a string"))),
            (Form::Plain, _) => Err(BrpError::invalid_params(format!(
                "{at} must be an entity as a non-negative integer (`Entity::to_bits`)"
            ))),
        }
    }
}

/// An entity written in a [`Form`].
pub(crate) struct EntityOut(Form, Entity);

impl Serialize for EntityOut {
    fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        match self.0 {
            Form::Wrapped => serializer.collect_str(&format_args!(
                "{}v{}",
                self.1.index_u32(),
                self.1.generation().to_bits()
            )),
            Form::Plain => serializer.serialize_u64(self.1.to_bits()),
        }
    }
}

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
    pub(crate) fn declare(&mut self, host: &mut super::Ecs) -> BrpResult<()> {
        for (name, value) in std::mem::take(&mut self.undeclared) {
            let component = host.declare_dynamic(&name)?;
            self.dynamic.push((component.id, value));
        }
        Ok(())
    }

    /// Inserts every value into `entity`, replacing existing ones. When two
    /// names stand for one component, the later value wins.
    pub(crate) fn insert(self, entity: &mut EntityWorldMut, registry: &TypeRegistry) {
        if !self.dynamic.is_empty() {
            insert_dynamic(entity, self.dynamic);
        }
        for (value, reflect) in self.reflected {
            reflect.insert(entity, value.as_partial_reflect(), registry);
        }
    }
}

/// Inserts dynamic components' values into `entity` as one bundle.
fn insert_dynamic(entity: &mut EntityWorldMut, mut dynamic: Vec<(ComponentId, Value)>) {
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
}

/// The JSON text of a wire value, as [`text`] reads it.
pub(crate) struct Text<'v> {
    /// The text.
    pub(crate) json: Cow<'v, str>,
    /// It holds a number beyond `f32`'s range: a value read from it is
    /// checked for floats that came out infinite ([`finite`]).
    beyond_f32: bool,
}

/// The JSON text of the wire value `value` in `form`: the text inside
/// `{"JSON": text}`, which must keep the rules of [`strict`]
/// (docs/protocol.md, "Duplicate keys and numbers"), or the plain value
/// written out (read, and checked, with the request's params).
pub(crate) fn text<'v>(name: &str, value: &'v Value, form: Form) -> BrpResult<Text<'v>> {
    match form {
        Form::Wrapped => {
            let json = unwrap(name, value)?;
            let scanned = strict::scan(json).map_err(|fault| {
                BrpError::invalid_params(format!("component `{name}`: {}", fault.message("")))
            })?;
            Ok(Text {
                json: Cow::Borrowed(json),
                beyond_f32: scanned.beyond_f32,
            })
        }
        Form::Plain => {
            let mut json = String::new();
            let mut beyond_f32 = false;
            let mut writer = serde_json::Serializer::with_formatter(
                json::Utf8(&mut json),
                Noting(&mut beyond_f32),
            );
            // A `Value` cannot fail to serialize.
            drop(value.serialize(&mut writer));
            Ok(Text {
                json: Cow::Owned(json),
                beyond_f32,
            })
        }
    }
}

/// A compact serde_json formatter that notes a float beyond `f32`'s range.
struct Noting<'a>(&'a mut bool);

impl Formatter for Noting<'_> {
    fn write_f64<W: ?Sized + io::Write>(&mut self, writer: &mut W, value: f64) -> io::Result<()> {
        *self.0 |= value.abs() > f64::from(f32::MAX);
        CompactFormatter.write_f64(writer, value)
    }
}

/// Returns the JSON text inside `{"JSON": text}`.
fn unwrap<'v>(name: &str, wrapped: &'v Value) -> BrpResult<&'v str> {
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

/// Appends the value of `component` in `entity` to `out` as answers write
/// it in `form`: `{"JSON": "<text>"}`, escaped as it is serialized, or the
/// plain value. `None` (nothing written) if the entity does not have it.
pub(crate) fn write(
    out: &mut Vec<u8>,
    entity: EntityRef,
    component: &ComponentRef,
    registry: &TypeRegistry,
    form: Form,
) -> Option<BrpResult<()>> {
    let written = match &component.kind {
        Kind::Reflected { reflect, .. } => {
            let value = reflect.reflect(entity)?;
            let value = Inner {
                value: value.as_partial_reflect(),
                registry,
                form,
            };
            in_form(out, &value, form)
        }
        Kind::Dynamic => {
            let ptr = entity.get_by_id(component.id).ok()?;
            // SAFETY: dynamic components are registered with the layout of `Value`
            // and only ever written from a `Value`.
            let value = unsafe { ptr.deref::<Value>() };
            in_form(out, value, form)
        }
    };
    Some(
        written.map_err(|e| {
            BrpError::component(format!("cannot serialize `{}`: {e}", component.path))
        }),
    )
}

/// Appends `value` to `out` in `form`.
fn in_form(out: &mut Vec<u8>, value: &impl Serialize, form: Form) -> serde_json::Result<()> {
    match form {
        Form::Plain => serde_json::to_writer(out, value),
        Form::Wrapped => {
            out.extend_from_slice(br#"{"JSON":""#);
            value.serialize(&mut serde_json::Serializer::with_formatter(
                &mut *out,
                json::Nested,
            ))?;
            out.extend_from_slice(br#""}"#);
            Ok(())
        }
    }
}

/// A reflected value, serialized by its own serde impl when it is of a type
/// known to write just what reflection writes (which saves reflection's
/// dynamic dispatch, field by field), else through reflection.
struct Inner<'a> {
    value: &'a dyn PartialReflect,
    registry: &'a TypeRegistry,
    form: Form,
}

impl Serialize for Inner<'_> {
    fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        if let Some(transform) = self.value.try_downcast_ref::<Transform>() {
            return transform.serialize(serializer);
        }
        if let Some(name) = self.value.try_downcast_ref::<Name>() {
            return name.serialize(serializer);
        }
        let processor = EntityIds(self.form);
        TypedReflectSerializer::with_processor(self.value, self.registry, &processor)
            .serialize(serializer)
    }
}

/// Decodes the wire value `wrapped`, in `form`, for `component` without
/// touching the world.
pub(crate) fn decode(
    name: &str,
    component: &ComponentRef,
    wrapped: &Value,
    registry: &TypeRegistry,
    form: Form,
) -> BrpResult<Decoded> {
    let invalid = |e: &dyn std::fmt::Display| {
        BrpError::component(format!("invalid value for component `{name}`: {e}"))
    };
    match &component.kind {
        Kind::Dynamic => Ok(Decoded::Dynamic {
            id: component.id,
            value: decode_json(name, wrapped, form)?,
        }),
        Kind::Reflected {
            type_id, reflect, ..
        } => {
            let text = text(name, wrapped, form)?;
            let registration = registry
                .get(*type_id)
                .ok_or_else(|| BrpError::internal(format!("`{name}` left the registry")))?;
            let value = decode_typed(&text, registration, registry, form)
                .map_err(|e| invalid(&e))?
                .ok_or_else(|| {
                    BrpError::component(format!("`{name}` cannot be built from reflection"))
                })?;
            Ok(Decoded::Reflected {
                value,
                reflect: reflect.clone(),
            })
        }
    }
}

/// Deserializes the JSON `text` as a value of `registration`'s type,
/// refusing fields the type does not have and floats that come out not
/// finite ([`finite`]). `Ok(None)` when the type can be neither
/// deserialized to itself nor built from reflection; the error is the
/// reason the text does not fit.
pub(crate) fn decode_typed(
    text: &Text,
    registration: &TypeRegistration,
    registry: &TypeRegistry,
    form: Form,
) -> Result<Option<Box<dyn Reflect>>, String> {
    let mut deserializer = serde_json::Deserializer::from_str(&text.json);
    // Types deserialized by their own serde impl skip fields they do
    // not know; a misspelt field must be an error, not a default.
    let mut unknown = None;
    let mut note = |path: serde_ignored::Path<'_>| {
        unknown.get_or_insert_with(|| path.to_string());
    };
    let partial: Box<dyn PartialReflect> =
        TypedReflectDeserializer::with_processor(registration, registry, &mut EntityIds(form))
            .deserialize(serde_ignored::Deserializer::new(
                &mut deserializer,
                &mut note,
            ))
            .map_err(|e| e.to_string())?;
    deserializer.end().map_err(|e| e.to_string())?;
    if let Some(path) = unknown {
        return Err(unknown_field(&path, registration));
    }
    if text.beyond_f32 {
        finite::check(partial.as_ref())?;
    }
    let partial = match partial.try_into_reflect() {
        Ok(value) if (*value).type_id() == registration.type_id() => return Ok(Some(value)),
        Ok(value) => value.into_partial_reflect(),
        Err(partial) => partial,
    };
    let Some(from_reflect) = registration.data::<ReflectFromReflect>() else {
        return Ok(None);
    };
    match from_reflect.from_reflect(partial.as_ref()) {
        Some(value) => Ok(Some(value)),
        None => Err(format!(
            "{} does not form a `{}`",
            echo(&text.json),
            registration.type_info().type_path()
        )),
    }
}

/// The message for the unknown field at `path` of a value of
/// `registration`'s type, listing the fields a struct has.
fn unknown_field(path: &str, registration: &TypeRegistration) -> String {
    let field = echo(path);
    match registration.type_info() {
        TypeInfo::Struct(info) if !path.contains('.') => {
            let fields: Vec<&str> = info.iter().map(|f| f.name()).collect();
            format!(
                "unknown field `{field}`; expected one of: {}",
                fields.join(", ")
            )
        }
        _ => format!("unknown field `{field}`"),
    }
}

/// Decodes the wire value `wrapped`, in `form`, of the dynamic component `name`.
pub(crate) fn decode_json(name: &str, wrapped: &Value, form: Form) -> BrpResult<Value> {
    match form {
        Form::Wrapped => serde_json::from_str(&text(name, wrapped, form)?.json)
            .map_err(|e| BrpError::component(format!("invalid value for component `{name}`: {e}"))),
        Form::Plain => Ok(wrapped.clone()),
    }
}

/// Reads and writes `Entity` values inside reflected values as `form`
/// writes entities; `ChildOf`, which serializes through serde, is its
/// entity alone.
struct EntityIds(Form);

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
        self.0.entity(entity).serialize(serializer).map(Ok)
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
        let entity = match self.0 {
            Form::Wrapped => entity_id::parse(&String::deserialize(deserializer)?)
                .map_err(|e| D::Error::custom(e.message))?,
            Form::Plain => {
                let bits = u64::deserialize(deserializer)?;
                Entity::try_from_bits(bits)
                    .ok_or_else(|| D::Error::custom(format!("{bits} is not an entity")))?
            }
        };
        Ok(Ok(if type_id == TypeId::of::<ChildOf>() {
            Box::new(ChildOf(entity))
        } else {
            Box::new(entity)
        }))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use bevy_reflect::TypeRegistry;
    use bevy_transform::components::Transform;

    /// `value` written by [`Inner`] and by reflection alone.
    fn both(value: &dyn PartialReflect, registry: &TypeRegistry) -> (String, String) {
        let fast = Inner {
            value,
            registry,
            form: Form::Wrapped,
        };
        let processor = EntityIds(Form::Wrapped);
        let reflected = TypedReflectSerializer::with_processor(value, registry, &processor);
        (
            serde_json::to_string(&fast).unwrap(),
            serde_json::to_string(&reflected).unwrap(),
        )
    }

    #[test]
    fn types_written_by_their_own_serde_impl_write_what_reflection_writes() {
        let mut registry = TypeRegistry::new();
        registry.register::<Transform>();
        registry.register::<Name>();
        let transforms = [
            Transform::default(),
            Transform::from_xyz(1.5, -0.0, 1e-7)
                .with_scale(Transform::from_xyz(f32::MAX, 2.0, 3.0).translation),
        ];
        for transform in transforms {
            let (fast, reflected) = both(&transform, &registry);
            assert_eq!(fast, reflected);
        }
        let name = Name::new("a \"quoted\" \\ name\n é");
        let (fast, reflected) = both(&name, &registry);
        assert_eq!(fast, reflected);
    }
}
