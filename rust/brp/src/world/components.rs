//! Components addressed by name: reflected Rust types and dynamic JSON
//! components declared at run time.
//!
//! A name resolves, in order, as a full type path (or a dynamic component's
//! declared name), as an alias (`Parent` → `ChildOf`), then as a short type
//! path when exactly one registered type has it. A resource name resolves
//! among the types that reflect `Resource` only: full type path, then
//! short path.

use crate::error::{BrpError, BrpResult};
use crate::params::echo;
use bevy_ecs::component::{ComponentCloneBehavior, ComponentDescriptor, ComponentId, StorageType};
use bevy_ecs::ptr::OwningPtr;
use bevy_ecs::reflect::{ReflectComponent, ReflectResource};
use bevy_ecs::world::World;
use bevy_reflect::TypeRegistry;
use serde_json::{Value, json};
use std::alloc::Layout;
use std::any::TypeId;
use std::collections::HashMap;
use std::sync::Arc;

/// Short names that stand for another type: `Parent` is the name
/// docs/protocol.md uses for `ChildOf`.
const ALIASES: &[(&str, &str)] = &[("Parent", "bevy_ecs::hierarchy::ChildOf")];

/// Names a dynamic component may not take: keys of a QUERY result row.
const RESERVED: &[&str] = &["id"];

/// How a component's value is stored and converted.
#[derive(Clone)]
pub(crate) enum Kind {
    /// A Rust type serialized through `bevy_reflect`.
    Reflected {
        /// The Rust type.
        type_id: TypeId,
        /// Its reflection functions.
        reflect: ReflectComponent,
        /// Its short type path.
        short: Arc<str>,
    },
    /// A component declared at run time holding a `serde_json::Value`.
    Dynamic,
}

/// A resolved component: its id in the world, canonical name and kind.
#[derive(Clone)]
pub(crate) struct ComponentRef {
    /// The component's id in the world.
    pub id: ComponentId,
    /// The full type path, or the declared name of a dynamic component.
    pub path: Arc<str>,
    /// How its value is converted.
    pub kind: Kind,
}

/// The name → component index of one world.
#[derive(Default)]
pub(crate) struct ComponentNames {
    by_path: HashMap<Arc<str>, ComponentRef>,
    by_short: HashMap<Arc<str>, Vec<Arc<str>>>,
    /// Short path → full paths of the types that reflect `Resource`.
    resources: HashMap<Arc<str>, Vec<Arc<str>>>,
}

/// What kind of name [`ComponentNames::list`] reports.
#[derive(Clone, Copy, PartialEq, Eq)]
pub(crate) enum NameKind {
    /// A reflected component type.
    Reflected,
    /// A reflected resource type (also a component in Bevy 0.20).
    Resource,
    /// A dynamic JSON component.
    Dynamic,
}

impl ComponentNames {
    /// Resolves a name given by a client.
    pub(crate) fn resolve(&self, name: &str) -> BrpResult<&ComponentRef> {
        if let Some(component) = self.by_path.get(name) {
            return Ok(component);
        }
        if let Some((_, path)) = ALIASES.iter().find(|(alias, _)| *alias == name)
            && let Some(component) = self.by_path.get(*path)
        {
            return Ok(component);
        }
        self.by_short_path(&self.by_short, name, "component").unwrap_or_else(|| {
            Err(BrpError::component(format!(
                "unknown component `{}`: it is neither a registered type nor a declared component",
                echo(name)
            )))
        })
    }

    /// The type whose short path `name` is in `index`: `None` when none
    /// has it, an error naming the candidates when several do.
    fn by_short_path(
        &self,
        index: &HashMap<Arc<str>, Vec<Arc<str>>>,
        name: &str,
        what: &str,
    ) -> Option<BrpResult<&ComponentRef>> {
        match index.get(name).map(Vec::as_slice)? {
            [path] => Some(Ok(&self.by_path[path])),
            paths => Some(Err(BrpError::component(format!(
                "ambiguous {what} name `{name}`: use one of {}",
                paths
                    .iter()
                    .map(|p| format!("`{p}`"))
                    .collect::<Vec<_>>()
                    .join(", ")
            ))
            .with_data(
                json!({ "candidates": paths.iter().map(|p| p.as_ref()).collect::<Vec<_>>() }),
            ))),
        }
    }

    /// Resolves a resource name: the full type path or the unambiguous short
    /// path of a registered type that reflects `Resource`.
    pub(crate) fn resolve_resource(&self, name: &str) -> BrpResult<&ComponentRef> {
        if let Some(component) = self.by_path.get(name)
            && self.is_resource(component)
        {
            return Ok(component);
        }
        self.by_short_path(&self.resources, name, "resource").unwrap_or_else(|| {
            Err(BrpError::component(format!(
                "unknown resource `{}`: no registered type with `#[reflect(Resource)]` has that name",
                echo(name)
            )))
        })
    }

    /// Whether `component` is a reflected resource type.
    pub(crate) fn is_resource(&self, component: &ComponentRef) -> bool {
        let short = match &component.kind {
            Kind::Reflected { short, .. } => short,
            Kind::Dynamic => return false,
        };
        self.resources
            .get(short)
            .is_some_and(|paths| paths.contains(&component.path))
    }

    /// Every name the index knows, with its short path and kind, in no order.
    pub(crate) fn list(&self) -> impl Iterator<Item = (&ComponentRef, &str, NameKind)> {
        self.by_path
            .values()
            .map(|component| match &component.kind {
                Kind::Dynamic => (component, &*component.path, NameKind::Dynamic),
                Kind::Reflected { short, .. } if self.is_resource(component) => {
                    (component, &**short, NameKind::Resource)
                }
                Kind::Reflected { short, .. } => (component, &**short, NameKind::Reflected),
            })
    }

    /// Resolves `name`; when it is unknown and `declare` is set (the
    /// `auto_declare` setting), checks that it may be declared as a dynamic
    /// component and returns `None`: the caller declares it once the whole
    /// request is known to succeed. Changes nothing.
    pub(crate) fn resolve_or_plan(
        &self,
        name: &str,
        declare: bool,
    ) -> BrpResult<Option<ComponentRef>> {
        match self.resolve(name) {
            Ok(component) => Ok(Some(component.clone())),
            Err(error) if !declare || self.by_short.contains_key(name) => Err(error),
            Err(_) => self.declarable(name),
        }
    }

    /// Indexes every type of `registry` that reflects `Component`.
    ///
    /// Fails, indexing nothing, if a type's short path is a declared dynamic
    /// component's name.
    pub(crate) fn index_reflected(
        &mut self,
        world: &mut World,
        registry: &TypeRegistry,
    ) -> BrpResult<()> {
        let mut found = Vec::new();
        for registration in registry.iter() {
            let Some(reflect) = registration.data::<ReflectComponent>() else {
                continue;
            };
            let table = registration.type_info().type_path_table();
            let path: Arc<str> = table.path().into();
            if self.by_path.contains_key(&path) {
                continue;
            }
            let short: Arc<str> = table.short_path().into();
            if let Some(existing) = self.by_path.get(&short)
                && matches!(existing.kind, Kind::Dynamic)
            {
                return Err(BrpError::component(format!(
                    "type `{path}` has the short name of the declared component `{short}`"
                )));
            }
            let resource = registration.data::<ReflectResource>().is_some();
            found.push((
                path,
                short,
                registration.type_id(),
                reflect.clone(),
                resource,
            ));
        }
        for (path, short, type_id, reflect, resource) in found {
            let id = reflect.register_component(world);
            if resource {
                (self.resources.entry(short.clone()).or_default()).push(path.clone());
            }
            let kind = Kind::Reflected {
                type_id,
                reflect,
                short: short.clone(),
            };
            self.by_path.insert(
                path.clone(),
                ComponentRef {
                    id,
                    path: path.clone(),
                    kind,
                },
            );
            self.by_short.entry(short).or_default().push(path);
        }
        Ok(())
    }

    /// Checks that `name` may name a dynamic component: `Some` if it already
    /// does, `None` if [`declare`](Self::declare) would make it. Changes nothing.
    pub(crate) fn declarable(&self, name: &str) -> BrpResult<Option<ComponentRef>> {
        if let Some(existing) = self.by_path.get(name) {
            return match existing.kind {
                Kind::Dynamic => Ok(Some(existing.clone())),
                Kind::Reflected { .. } => Err(BrpError::component(format!(
                    "cannot declare `{name}`: it is a registered Rust type"
                ))),
            };
        }
        validate_name(name)?;
        if let Ok(taken) = self.resolve(name) {
            return Err(BrpError::component(format!(
                "cannot declare `{name}`: the name already stands for `{}`",
                taken.path
            )));
        }
        if self.by_short.contains_key(name) {
            return Err(BrpError::component(format!(
                "cannot declare `{name}`: it is the short name of several registered types"
            )));
        }
        Ok(None)
    }

    /// Declares a dynamic component named `name`; declaring it again is a no-op.
    pub(crate) fn declare(&mut self, world: &mut World, name: &str) -> BrpResult<ComponentRef> {
        if let Some(existing) = self.declarable(name)? {
            return Ok(existing);
        }
        let path: Arc<str> = name.into();
        // SAFETY: the layout and drop function are those of `serde_json::Value`,
        // which is `Send + Sync`; the component is not a relationship.
        let descriptor = unsafe {
            ComponentDescriptor::new_with_layout(
                name.to_owned(),
                StorageType::Table,
                Layout::new::<Value>(),
                Some(drop_json),
                true,
                false,
                ComponentCloneBehavior::Ignore,
                None,
            )
        };
        let id = world.register_component_with_descriptor(descriptor);
        let component = ComponentRef {
            id,
            path: path.clone(),
            kind: Kind::Dynamic,
        };
        self.by_path.insert(path, component.clone());
        Ok(component)
    }
}

/// Drops a dynamic component's value.
///
/// # Safety
/// `ptr` must point to a valid `serde_json::Value`.
unsafe fn drop_json(ptr: OwningPtr<'_>) {
    // SAFETY: upheld by the caller; dynamic components hold a `Value`.
    unsafe { ptr.drop_as::<Value>() }
}

/// A dynamic component name is a Rust-like path: `Position`, `game::Player`.
fn validate_name(name: &str) -> BrpResult<()> {
    let segment_ok = |s: &str| {
        let mut chars = s.chars();
        chars
            .next()
            .is_some_and(|c| c.is_ascii_alphabetic() || c == '_')
            && chars.all(|c| c.is_ascii_alphanumeric() || c == '_')
    };
    if RESERVED.contains(&name) {
        return Err(BrpError::component(format!(
            "cannot declare `{name}`: the name is reserved"
        )));
    }
    if name.split("::").all(segment_ok) {
        Ok(())
    } else {
        Err(BrpError::component(format!(
            "cannot declare {:?}: a component name is an identifier or a `::` path of identifiers",
            echo(name)
        )))
    }
}
