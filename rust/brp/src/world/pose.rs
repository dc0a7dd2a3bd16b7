//! The reflected components a pose lands as.

use bevy_ecs::component::Component;
use bevy_ecs::reflect::ReflectComponent;
use bevy_reflect::Reflect;
use bevy_reflect::std_traits::ReflectDefault;

/// The newest pose detected for an entity: one person's landmarks
/// (MediaPipe's 33, in normalized image coordinates), optionally their
/// world landmarks and the image size, and when they were detected.
///
/// Removed while the person is not in view (see [`PoseNotDetected`]).
#[derive(Component, Reflect, Debug, Clone, Default, PartialEq)]
#[reflect(Component, Debug, Default, PartialEq)]
pub struct PoseLandmarks {
    /// The detector's timestamp, as the controller stamped it.
    pub timestamp: f64,
    /// The controller's frame counter, when it sends one.
    pub sequence: Option<u64>,
    /// When the camera captured the frame, in nanoseconds since the UNIX
    /// epoch, when the controller stamps it.
    pub capture_time_ns: Option<u64>,
    /// The landmarks, in the detector's order.
    pub landmarks: Vec<Landmark>,
    /// MediaPipe's world landmarks: metric 3D coordinates in meters, origin
    /// between the hips, in the order of `landmarks`; empty when the
    /// controller sends none.
    pub world_landmarks: Vec<Landmark>,
    /// The width in pixels of the image the landmarks are normalized to,
    /// when the controller sends it.
    pub image_width: Option<u32>,
    /// The height in pixels of that image, when the controller sends it.
    pub image_height: Option<u32>,
}

/// One landmark of a [`PoseLandmarks`] (of its `landmarks` or
/// `world_landmarks`).
#[derive(Reflect, Debug, Clone, Copy, Default, PartialEq)]
#[reflect(Debug, Default, PartialEq)]
pub struct Landmark {
    /// Horizontal position: normalized to the image width in `landmarks`,
    /// in meters in `world_landmarks`.
    pub x: f32,
    /// Vertical position: normalized to the image height in `landmarks`,
    /// in meters in `world_landmarks`.
    pub y: f32,
    /// Depth: on roughly the scale of `x` in `landmarks`, in meters in
    /// `world_landmarks`.
    pub z: f32,
    /// Likelihood, in [0, 1], that the landmark is visible (not occluded).
    pub visibility: f32,
    /// Likelihood, in [0, 1], that the landmark is in the image.
    pub presence: f32,
}

/// Marks a pose target that nobody is on: the controller reports nobody in
/// view, or the person this entity tracked left; it replaces
/// [`PoseLandmarks`] until a person lands on the entity again.
#[derive(Component, Reflect, Debug, Clone, Copy, Default, PartialEq)]
#[reflect(Component, Debug, Default, PartialEq)]
pub struct PoseNotDetected;
