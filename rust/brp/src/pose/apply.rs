//! Applying frames to the world: the one code path of the client and of
//! [`push_frame`].

use super::config::{Mapping, Target};
use super::frame::Frame;
use super::smoothing::{LandmarkFilter, Smoothing};
use super::tracking;
use crate::entity_id;
use crate::error::{BrpError, BrpResult, ErrorCode};
use crate::host::Host;
use crate::world::pose::{PoseLandmarks, PoseNotDetected};
use bevy_ecs::component::Component;
use bevy_ecs::entity::Entity;
use bevy_ecs::name::Name;
use bevy_ecs::world::{EntityRef, World};
use std::sync::OnceLock;
use std::time::Instant;

/// Decodes `bytes` as a controller's frame (FlatBuffers or JSON, see
/// [`Frame::decode_for`]) and lands it as `target` says, exactly as a
/// [`PoseClient`](super::PoseClient) lands the frames it receives.
///
/// Each person lands on a target entity of their own (see
/// [`Mapping`]) as [`PoseLandmarks`], and keeps it from frame to frame: the
/// people of a frame are matched to the targets that hold
/// `PoseLandmarks` by the nearest torso centres (the mean of landmarks 11,
/// 12, 23 and 24, or of all landmarks when a pose has fewer), not by their
/// order in the frame. A person who enters takes the first target that
/// holds no pose (a target by name is spawned then if missing); a target
/// whose person left loses `PoseLandmarks` and gets [`PoseNotDetected`], as
/// does the first target whenever nobody is on it (spawned for that if
/// missing). The matching reads only the world, so frames pushed one by
/// one and frames a client receives track people alike.
///
/// Fails, leaving the world unchanged, when the target settings are
/// impossible or the frame is malformed ([`ErrorCode::InvalidParams`]) or a
/// target entity does not exist or is not visible to requests
/// ([`ErrorCode::EntityNotFound`], as GET says of it).
pub fn push_frame(app: &Host, target: &Target, bytes: &[u8]) -> BrpResult<()> {
    target.validate()?;
    let frame = Frame::decode_for(bytes, target)?;
    Applier::new(target.clone()).apply(app, frame)
}

/// The filter of a person's world landmarks, and the settings it and the
/// entity's [`LandmarkFilter`] were made with (new settings start both
/// over). Not reflected, so requests do not see it.
#[derive(Component)]
struct WorldLandmarkFilter {
    settings: Smoothing,
    filter: LandmarkFilter,
}

/// Lands frames as one [`Target`] says, remembering the entities its names
/// resolved to.
pub(crate) struct Applier {
    target: Target,
    /// The names of the targets of a mapping by name, one per person the
    /// target allows; empty for a mapping by entity.
    names: Vec<String>,
    /// Per target by name, the entity found or spawned for it last.
    resolved: Vec<Option<Entity>>,
}

impl Applier {
    pub(crate) fn new(target: Target) -> Self {
        let count = target.people();
        let names = match &target.mapping {
            Mapping::Name(name) => (0..count)
                .map(|index| match index {
                    0 => name.clone(),
                    _ => format!("{name} {}", index + 1),
                })
                .collect(),
            Mapping::Names(names) => names.iter().take(count).cloned().collect(),
            Mapping::Entities(_) => Vec::new(),
        };
        Self {
            resolved: vec![None; names.len()],
            target,
            names,
        }
    }

    /// The target frames land on, whose limits decoding follows.
    #[cfg(feature = "client")]
    pub(crate) fn target(&self) -> &Target {
        &self.target
    }

    /// Lands `frame` (see [`push_frame`]). Only entities visible to
    /// requests are targets: the world's own (resource, observer) entities
    /// do not exist as far as poses go, as for GET.
    pub(crate) fn apply(&mut self, app: &Host, frame: Frame) -> BrpResult<()> {
        app.with_visible_world_mut(|world, visible| {
            let targets = self.resolve(world, visible, frame.people.len())?;
            // Nothing fails from here on.
            let held: Vec<_> = targets
                .iter()
                .map(|entity| {
                    let pose = entity.and_then(|entity| world.get::<PoseLandmarks>(entity));
                    pose.map(|pose| tracking::centre(&pose.landmarks))
                })
                .collect();
            let centres: Vec<_> = (frame.people.iter())
                .map(|pose| tracking::centre(&pose.landmarks))
                .collect();
            let on = tracking::assign(&held, &centres);
            let mut people: Vec<_> = frame.people.into_iter().map(Some).collect();
            for (index, (entity, person)) in targets.into_iter().zip(on).enumerate() {
                let pose = person
                    .and_then(|p| people.get_mut(p))
                    .and_then(Option::take);
                let entity = match (entity, &pose) {
                    (Some(entity), _) => Some(entity),
                    (None, Some(_)) => self.spawn(world, index),
                    (None, None) if index == 0 => self.spawn(world, index),
                    (None, None) => None,
                };
                let Some(entity) = entity else {
                    continue;
                };
                match pose {
                    Some(pose) => {
                        let entering = held[index].is_none();
                        self.land(world, entity, pose, entering);
                    }
                    None => leave(world, entity),
                }
            }
            Ok(())
        })
    }

    /// The target entities, one per person [`Target::people`] allows:
    /// `None` for a name no visible entity has. Fails when a listed entity
    /// does not exist or is not visible.
    ///
    /// Names are looked up in the world (a scan of the named entities) only
    /// while one of the first `people` targets (at least the first) is not
    /// known yet: the entities found or spawned are remembered, so a steady
    /// stream scans nothing.
    fn resolve(
        &mut self,
        world: &mut World,
        visible: &dyn Fn(EntityRef<'_>) -> bool,
        people: usize,
    ) -> BrpResult<Vec<Option<Entity>>> {
        if let Mapping::Entities(entities) = &self.target.mapping {
            let entities = &entities[..self.target.people().min(entities.len())];
            if let Some(&missing) = entities
                .iter()
                .find(|&&entity| !world.get_entity(entity).is_ok_and(visible))
            {
                let id = entity_id::format(missing);
                let message = format!("entity {id} does not exist");
                return Err(BrpError::new(ErrorCode::EntityNotFound, message));
            }
            return Ok(entities.iter().copied().map(Some).collect());
        }
        let names = &self.names;
        let named = |world: &World, entity: Entity, index: usize| {
            world.get_entity(entity).is_ok_and(|e| {
                visible(e) && e.get::<Name>().is_some_and(|n| n.as_str() == names[index])
            })
        };
        for (index, slot) in self.resolved.iter_mut().enumerate() {
            *slot = slot.filter(|&entity| named(world, entity, index));
        }
        let needed = people.max(1).min(self.resolved.len());
        if self.resolved[..needed].contains(&None) {
            for (entity, name) in world.query::<(EntityRef, &Name)>().iter(world) {
                let index = names.iter().position(|n| n == name.as_str());
                if let Some(slot) = index.and_then(|index| self.resolved.get_mut(index))
                    && slot.is_none()
                    && visible(entity)
                {
                    *slot = Some(entity.id());
                }
            }
        }
        Ok(self.resolved.clone())
    }

    /// Spawns target `index` of a mapping by name (`None`: there is no
    /// such target).
    fn spawn(&mut self, world: &mut World, index: usize) -> Option<Entity> {
        let name = self.names.get(index)?;
        let entity = world.spawn(Name::new(name.clone())).id();
        if let Some(slot) = self.resolved.get_mut(index) {
            *slot = Some(entity);
        }
        Some(entity)
    }

    /// Lands `pose` on `entity`, smoothed as the target says; `entering`:
    /// the entity held no pose, so the person is new to it.
    fn land(&self, world: &mut World, entity: Entity, mut pose: PoseLandmarks, entering: bool) {
        let mut entity = world.entity_mut(entity);
        match self.target.smoothing {
            None => {
                if entity.contains::<LandmarkFilter>() {
                    entity.remove::<(LandmarkFilter, WorldLandmarkFilter)>();
                }
            }
            Some(settings) => {
                let kept = entity
                    .get::<WorldLandmarkFilter>()
                    .is_some_and(|filter| filter.settings == settings)
                    && entity.contains::<LandmarkFilter>();
                if entering || !kept {
                    entity.insert((
                        LandmarkFilter::new(settings),
                        WorldLandmarkFilter {
                            settings,
                            filter: LandmarkFilter::new(settings),
                        },
                    ));
                }
                let time = seconds(&pose);
                if let Some(mut filter) = entity.get_mut::<LandmarkFilter>() {
                    filter.apply(time, &mut pose.landmarks);
                }
                if let Some(mut filter) = entity.get_mut::<WorldLandmarkFilter>() {
                    filter.filter.apply(time, &mut pose.world_landmarks);
                }
            }
        }
        entity.remove::<PoseNotDetected>().insert(pose);
    }
}

/// Marks `entity` as holding nobody: its pose and filters go,
/// [`PoseNotDetected`] comes (unless it is there already).
fn leave(world: &mut World, entity: Entity) {
    let mut entity = world.entity_mut(entity);
    entity.remove::<(PoseLandmarks, LandmarkFilter, WorldLandmarkFilter)>();
    if !entity.contains::<PoseNotDetected>() {
        entity.insert(PoseNotDetected);
    }
}

/// The time of `pose` for smoothing, in seconds: its `capture_time_ns`
/// when stamped, else when it is applied (on a monotonic clock), since the
/// unit of `timestamp` is the controller's own.
fn seconds(pose: &PoseLandmarks) -> f64 {
    static ORIGIN: OnceLock<Instant> = OnceLock::new();
    match pose.capture_time_ns {
        Some(ns) => ns as f64 / 1e9,
        None => ORIGIN.get_or_init(Instant::now).elapsed().as_secs_f64(),
    }
}
