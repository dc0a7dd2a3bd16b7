//! [`Context`]: what one request runs with besides the world — the form
//! its values and entities take, and what its write touched — so that the
//! world itself knows nothing of requests.

use super::Ecs;
use super::touched::Touched;
use super::value::Form;
use bevy_ecs::entity::Entity;

/// One request's state, made by the engine for each request and handed to
/// its handler.
#[derive(Debug)]
pub(crate) struct Context {
    /// How the request reads and writes values and entities (its dialect's).
    pub(crate) form: Form,
    /// Whether a POLL is parked, so that what a write touched matters.
    tracking: bool,
    /// What the write touched; `None` until it records anything, which
    /// counts as [`Touched::All`].
    touched: Option<Touched>,
}

impl Context {
    /// The context of a request in `form`; `tracking` when POLLs are parked.
    pub(crate) fn new(form: Form, tracking: bool) -> Self {
        Self {
            form,
            tracking,
            touched: None,
        }
    }

    /// Records what `entities` hold now (nothing when no POLL is parked to
    /// care, which costs nothing).
    pub(crate) fn touch(&mut self, host: &Ecs, entities: &[Entity]) {
        if !self.tracking {
            return;
        }
        let touched = self.touched.get_or_insert_with(Touched::none);
        for &entity in entities {
            touched.entity(&host.world, entity, &host.hooks);
        }
    }

    /// Runs `write`, which changes `entities`, recording what they hold
    /// before and after it.
    pub(crate) fn write<R>(
        &mut self,
        host: &mut Ecs,
        entities: &[Entity],
        write: impl FnOnce(&mut Ecs) -> R,
    ) -> R {
        self.touch(host, entities);
        let result = write(host);
        self.touch(host, entities);
        result
    }

    /// What the request touched: [`Touched::All`] unless it recorded it.
    pub(crate) fn touched(self) -> Touched {
        self.touched.unwrap_or(Touched::All)
    }
}
