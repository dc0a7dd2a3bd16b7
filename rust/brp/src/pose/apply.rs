//! Applying frames to the world: the one code path of the client and of
//! [`push_frame`].

use super::config::Target;
use super::frame::Frame;
use crate::entity_id;
use crate::error::{BrpError, BrpResult, ErrorCode};
use crate::host::Host;
use crate::world::pose::{PoseLandmarks, PoseNotDetected};
use bevy_ecs::entity::Entity;
use bevy_ecs::name::Name;
use bevy_ecs::world::{EntityRef, World};

/// Decodes `bytes` as a controller's frame (FlatBuffers or JSON, see
/// [`Frame::decode`]) and applies it to `target`, exactly as a
/// [`PoseClient`](super::PoseClient) applies the frames it receives.
///
/// Fails, leaving the world unchanged, when the frame is malformed
/// ([`ErrorCode::InvalidParams`]) or the target entity does not exist or is
/// not visible to requests ([`ErrorCode::EntityNotFound`], as GET says of
/// it).
pub fn push_frame(app: &Host, target: &Target, bytes: &[u8]) -> BrpResult<()> {
    let frame = Frame::decode(bytes)?;
    Applier::new(target.clone()).apply(app, frame)
}

/// Applies frames to one target, remembering the entity it resolved.
pub(crate) struct Applier {
    target: Target,
    resolved: Option<Entity>,
}

impl Applier {
    pub(crate) fn new(target: Target) -> Self {
        Self {
            target,
            resolved: None,
        }
    }

    /// Lands `frame` on the target: a pose replaces [`PoseLandmarks`] and
    /// clears [`PoseNotDetected`]; `Empty` does the opposite. Only entities
    /// visible to requests are targets: the world's own (resource, observer)
    /// entities do not exist as far as poses go, as for GET.
    pub(crate) fn apply(&mut self, app: &Host, frame: Frame) -> BrpResult<()> {
        app.with_visible_world_mut(|world, visible| {
            let entity = self.resolve(world, visible)?;
            let missing = || {
                let id = entity_id::format(entity);
                BrpError::new(
                    ErrorCode::EntityNotFound,
                    format!("entity {id} does not exist"),
                )
            };
            if !world.get_entity(entity).is_ok_and(visible) {
                return Err(missing());
            }
            let mut entity = world.get_entity_mut(entity).map_err(|_| missing())?;
            match frame {
                Frame::Pose(pose) => {
                    entity.remove::<PoseNotDetected>().insert(pose);
                }
                Frame::Empty => {
                    entity.remove::<PoseLandmarks>().insert(PoseNotDetected);
                }
            }
            Ok(())
        })
    }

    fn resolve(
        &mut self,
        world: &mut World,
        visible: &dyn Fn(EntityRef<'_>) -> bool,
    ) -> BrpResult<Entity> {
        let name = match &self.target {
            Target::Entity(entity) => return Ok(*entity),
            Target::Name(name) => name.as_str(),
        };
        let named = |entity| {
            world
                .get::<Name>(entity)
                .is_some_and(|n| n.as_str() == name)
        };
        if let Some(entity) = self.resolved.filter(|&e| named(e)) {
            return Ok(entity);
        }
        let found = world
            .query::<(EntityRef, &Name)>()
            .iter(world)
            .find_map(|(entity, n)| (n.as_str() == name && visible(entity)).then_some(entity.id()));
        let entity = found.unwrap_or_else(|| world.spawn(Name::new(name.to_owned())).id());
        self.resolved = Some(entity);
        Ok(entity)
    }
}
