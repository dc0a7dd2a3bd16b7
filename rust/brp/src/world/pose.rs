//! The reflected components a pose lands as.

use bevy_ecs::component::Component;
use bevy_ecs::reflect::ReflectComponent;
use bevy_reflect::Reflect;
use bevy_reflect::std_traits::ReflectDefault;

/// The newest pose detected for an entity: one body's landmarks (MediaPipe's
/// 33, in normalized image coordinates) and when they were detected.
///
/// Removed while nobody is in view (see [`PoseNotDetected`]).
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
}

/// One landmark of a [`PoseLandmarks`].
#[derive(Reflect, Debug, Clone, Copy, Default, PartialEq)]
#[reflect(Debug, Default, PartialEq)]
pub struct Landmark {
    /// Horizontal position, normalized to the image width.
    pub x: f32,
    /// Vertical position, normalized to the image height.
    pub y: f32,
    /// Depth, on roughly the scale of `x`.
    pub z: f32,
    /// Likelihood, in [0, 1], that the landmark is visible (not occluded).
    pub visibility: f32,
    /// Likelihood, in [0, 1], that the landmark is in the image.
    pub presence: f32,
}

/// Marks an entity whose controller reports nobody in view (an `Empty`
/// frame); it replaces [`PoseLandmarks`] until the next pose.
#[derive(Component, Reflect, Debug, Clone, Copy, Default, PartialEq)]
#[reflect(Component, Debug, Default, PartialEq)]
pub struct PoseNotDetected;
