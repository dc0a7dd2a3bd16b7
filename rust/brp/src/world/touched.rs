//! Which components a write touched, so that only the parked POLLs that
//! watch one of them are evaluated again (docs/protocol.md, POLL).

use bevy_ecs::component::ComponentId;
use bevy_ecs::entity::Entity;
use bevy_ecs::world::World;
use std::collections::HashSet;

/// The components a change may have touched, on any entity.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) enum Touched {
    /// Anything may have changed (systems, direct world access, hooks and
    /// observers the library cannot see through).
    All,
    /// Only these components were added, changed or removed.
    Components(HashSet<ComponentId>),
}

impl Touched {
    /// Nothing yet.
    pub(crate) fn none() -> Self {
        Self::Components(HashSet::new())
    }

    /// Adds every component `entity` has now. Components whose hooks or
    /// observers may change other entities make it [`Touched::All`], except
    /// the hierarchy's, whose effect is known: the related entity's
    /// `ChildOf` or `Children`. A component not known to be without hooks
    /// counts as hooked when the entity's archetype has hooks.
    pub(crate) fn entity(&mut self, world: &World, entity: Entity, known: &KnownHooks) {
        let Self::Components(set) = self else { return };
        let Ok(entity) = world.get_entity(entity) else {
            return;
        };
        let archetype = entity.archetype();
        let observed = archetype.has_add_observer()
            || archetype.has_insert_observer()
            || archetype.has_discard_observer()
            || archetype.has_remove_observer()
            || archetype.has_despawn_observer();
        let hooked = archetype.has_add_hook()
            || archetype.has_insert_hook()
            || archetype.has_discard_hook()
            || archetype.has_remove_hook()
            || archetype.has_despawn_hook();
        let mut hierarchy = false;
        for id in archetype.iter_components() {
            let known_hooks = known.hierarchy.contains(&id) || known.hookless.contains(&id);
            if observed || (hooked && !known_hooks) {
                *self = Self::All;
                return;
            }
            hierarchy |= known.hierarchy.contains(&id);
            set.insert(id);
        }
        if hierarchy {
            set.extend(known.hierarchy);
        }
    }
}

/// What the library knows of component hooks.
#[derive(Debug, Clone)]
pub(crate) struct KnownHooks {
    /// `ChildOf` and `Children`: their hooks change only each other.
    pub(crate) hierarchy: [ComponentId; 2],
    /// Components known to have no hooks: the dynamic ones, and the Rust
    /// types checked when registered. Any other component of an archetype
    /// with hooks may be the one whose hooks have unknown effects.
    pub(crate) hookless: HashSet<ComponentId>,
}
