//! The world layer: the ECS world with its type registry, the component
//! names, how values convert and how queries select. It knows nothing of
//! requests, POLL or locking (docs/architecture.md).

pub(crate) mod cache;
pub(crate) mod components;
pub(crate) mod contents;
pub(crate) mod finite;
pub(crate) mod frame;
pub(crate) mod json;
pub(crate) mod path;
pub(crate) mod pose;
pub(crate) mod query;
pub(crate) mod schema;
pub(crate) mod touched;
pub(crate) mod value;

use crate::config::Config;
use crate::entity_id;
use crate::error::{BrpError, BrpResult, ErrorCode};
use bevy_ecs::component::{Component, ComponentId};
use bevy_ecs::entity::Entity;
use bevy_ecs::hierarchy::{ChildOf, Children};
use bevy_ecs::name::Name;
use bevy_ecs::observer::Observer;
use bevy_ecs::reflect::AppTypeRegistry;
use bevy_ecs::resource::IsResource;
use bevy_ecs::system::SystemIdMarker;
use bevy_ecs::world::{EntityRef, World};
use bevy_reflect::GetTypeRegistration;
use bevy_reflect::TypeRegistry;
use bevy_transform::components::{GlobalTransform, Transform};
use cache::{Reader, ValueCache};
use components::{ComponentNames, ComponentRef};
use std::cell::RefCell;
use std::collections::HashSet;
use touched::{KnownHooks, Touched};

/// A world and everything needed to answer requests against it.
pub(crate) struct Ecs {
    /// The ECS world.
    pub world: World,
    /// Reflection data of the Rust component types.
    pub registry: AppTypeRegistry,
    /// Name → component index.
    pub names: ComponentNames,
    /// The settings the app was made with.
    pub config: Config,
    /// Components of the world's own bookkeeping entities (resources,
    /// observers, registered systems), which requests neither see nor touch.
    pub hidden: [ComponentId; 3],
    /// What the current write touched; the engine resets it to
    /// [`Touched::All`] before each write, and handlers narrow it.
    pub touched: Touched,
    /// Whether any POLL is parked, so that what a write touched matters;
    /// set by the engine before each write.
    pub tracking: bool,
    /// The hooks whose effects are known or not.
    pub hooks: KnownHooks,
    /// How the current request writes values and entities; set by the
    /// engine before each request.
    pub form: value::Form,
    /// Values as answers last wrote them (docs/limits.md, `value_cache_bytes`).
    pub values: RefCell<ValueCache>,
    /// The executors `update` runs the schedules on.
    executors: frame::Executors,
}

impl Ecs {
    /// The world of a Bevy app built with the built-in contents and
    /// `install`'s plugins ([`contents::build`]), with `config.components`
    /// declared.
    pub(crate) fn new(config: Config, install: impl FnOnce(&mut bevy_app::App)) -> BrpResult<Self> {
        config.validate()?;
        let mut world = contents::build(&config, install)?;
        let registry = world.resource::<AppTypeRegistry>().clone();
        let hidden = [
            world.register_component::<IsResource>(),
            world.register_component::<Observer>(),
            world.register_component::<SystemIdMarker>(),
        ];
        let hierarchy = [
            world.register_component::<ChildOf>(),
            world.register_component::<Children>(),
        ];
        let mut host = Self {
            world,
            registry,
            names: ComponentNames::default(),
            config: Config::default(),
            hidden,
            touched: Touched::All,
            tracking: false,
            form: value::Form::Wrapped,
            values: RefCell::new(ValueCache::new(config.value_cache_bytes)),
            hooks: KnownHooks {
                hierarchy,
                hookless: HashSet::new(),
            },
            executors: frame::Executors::new(config.multi_threaded),
        };
        host.index_types()?;
        host.hookless::<Name>();
        host.hookless::<Transform>();
        host.hookless::<GlobalTransform>();
        host.hookless::<pose::PoseLandmarks>();
        host.hookless::<pose::PoseNotDetected>();
        for name in &config.components {
            host.declare_component(name)?;
        }
        host.config = config;
        Ok(host)
    }

    /// Reads values in `form` for one answer, through the value cache.
    pub(crate) fn reader<'a>(
        &'a self,
        registry: &'a TypeRegistry,
        form: value::Form,
    ) -> Reader<'a> {
        Reader::new(self.values.borrow_mut(), &self.world, registry, form)
    }

    /// Runs one frame of the app (see [`frame::run`]).
    pub(crate) fn run_frame(&mut self) -> BrpResult<()> {
        frame::run(&mut self.world, &mut self.executors)
    }

    /// Registers the reflected component type `T` and indexes its names.
    pub(crate) fn register_type<T: Component + GetTypeRegistration>(&mut self) -> BrpResult<()> {
        self.registry.write().register::<T>();
        self.index_types()?;
        self.hookless::<T>();
        Ok(())
    }

    /// Notes that `T` has no hooks, if so.
    fn hookless<T: Component>(&mut self) {
        let hooked = T::on_add().is_some()
            || T::on_insert().is_some()
            || T::on_discard().is_some()
            || T::on_remove().is_some()
            || T::on_despawn().is_some();
        if !hooked {
            let id = self.world.register_component::<T>();
            self.hooks.hookless.insert(id);
        }
    }

    /// An empty record of what a write touches, or [`Touched::All`] when no
    /// POLL is parked to care (which costs nothing to keep).
    pub(crate) fn start_touching(&self) -> Touched {
        if self.tracking {
            Touched::none()
        } else {
            Touched::All
        }
    }

    /// What the entities `entities` hold now, for [`Ecs::touched`].
    pub(crate) fn touching(&self, touched: &mut Touched, entities: &[Entity]) {
        for &entity in entities {
            touched.entity(&self.world, entity, &self.hooks);
        }
    }

    /// Declares the dynamic component `name` (see [`Host::declare_component`](crate::Host::declare_component)).
    pub(crate) fn declare_component(&mut self, name: &str) -> BrpResult<()> {
        self.declare_dynamic(name).map(drop)
    }

    /// Declares the dynamic component `name`, which has no hooks.
    pub(crate) fn declare_dynamic(&mut self, name: &str) -> BrpResult<ComponentRef> {
        let component = self.names.declare(&mut self.world, name)?;
        self.hooks.hookless.insert(component.id);
        Ok(component)
    }

    fn index_types(&mut self) -> BrpResult<()> {
        let registry = self.registry.read();
        self.names.index_reflected(&mut self.world, &registry)
    }

    /// The entity the field `at` names (`value`, in the request's form),
    /// if it exists and is visible to requests.
    pub(crate) fn entity_at(
        &self,
        value: &serde_json::Value,
        at: &str,
    ) -> BrpResult<EntityRef<'_>> {
        self.existing(self.form.parse_entity(value, at)?)
    }

    /// `entity`, if it exists and is visible to requests.
    pub(crate) fn existing(&self, entity: Entity) -> BrpResult<EntityRef<'_>> {
        self.visible(entity).ok_or_else(|| {
            BrpError::new(
                ErrorCode::EntityNotFound,
                format!("entity {} does not exist", self.describe(entity)),
            )
        })
    }

    /// `entity` for messages, in the request's form.
    pub(crate) fn describe(&self, entity: Entity) -> String {
        match self.form {
            value::Form::Wrapped => entity_id::format(entity),
            value::Form::Plain => format!("{} ({})", entity.to_bits(), entity_id::format(entity)),
        }
    }

    /// Fails when a request names more components than
    /// [`Config::max_components_per_request`] allows.
    pub(crate) fn check_count(&self, count: usize, at: &str) -> BrpResult<()> {
        let max = self.config.max_components_per_request;
        if count > max {
            return Err(BrpError::invalid_params(format!(
                "{at} names {count} components, over the limit of {max} \
                 (Config.max_components_per_request)"
            )));
        }
        Ok(())
    }

    /// Fails when an answer would hold more entities than
    /// [`Config::max_entities_per_response`] allows.
    pub(crate) fn check_rows(&self, count: usize) -> BrpResult<()> {
        let max = self.config.max_entities_per_response;
        if count > max {
            return Err(BrpError::invalid_params(format!(
                "the answer would hold {count} entities, over the limit of {max} \
                 (Config.max_entities_per_response); narrow it with params.filter"
            )));
        }
        Ok(())
    }

    /// [`check_count`](Self::check_count), and fails when a name is given
    /// twice (an answer cannot hold the same key twice).
    pub(crate) fn check_names(&self, names: &[&str], at: &str) -> BrpResult<()> {
        self.check_count(names.len(), at)?;
        // Comparing pairs costs less than hashing for the usual short list.
        let twice = if names.len() <= 16 {
            (names.iter().enumerate())
                .find(|(i, name)| names[..*i].contains(name))
                .map(|(_, name)| name)
        } else {
            let mut seen = std::collections::HashSet::with_capacity(names.len());
            names.iter().find(|name| !seen.insert(**name))
        };
        match twice {
            Some(twice) => Err(BrpError::invalid_params(format!(
                "{at} names `{twice}` twice"
            ))),
            None => Ok(()),
        }
    }

    /// The entity holding the resource `resource`, if the world has it.
    pub(crate) fn resource_entity(&self, resource: &ComponentRef) -> Option<Entity> {
        let entity = self.world.resource_entities().get(resource.id)?;
        let held = self.world.get_entity(entity).ok()?.contains_id(resource.id);
        held.then_some(entity)
    }

    /// `entity` as an [`EntityRef`], unless it is missing or hidden.
    pub(crate) fn visible(&self, entity: Entity) -> Option<EntityRef<'_>> {
        let entity = self.world.get_entity(entity).ok()?;
        (!self.hidden.iter().any(|&id| entity.contains_id(id))).then_some(entity)
    }
}
