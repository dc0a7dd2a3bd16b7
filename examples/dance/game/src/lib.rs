//! The dance game: a Bevy plugin that scores a player's arm positions.
//!
//! The camera controller (webcam + pose detector) streams poses; libbrp
//! lands each one on the `Player` entity as the reflected
//! [`PoseLandmarks`] component. [`DancePlugin`] spawns that Player and, on
//! every update, turns each new pose into the arms' angles at the shoulders
//! ([`ArmAngles`]) and scores them against the pose the player should strike
//! ([`TargetPose`], a "T" by default) in [`Score`]. All three are reflected,
//! so GET, QUERY and POLL read them by their short names like any component.
//!
//! ```
//! use bevy_app::App;
//! use dance_game::{DancePlugin, Score, pose_with_arms};
//!
//! let mut app = App::new();
//! app.add_plugins(DancePlugin);
//! app.update(); // spawns the Player
//! let world = app.world_mut();
//! let player = world.query::<(bevy_ecs::entity::Entity, &Score)>().single(world).unwrap().0;
//! let landmarks = pose_with_arms(90.0, 90.0);
//! world.entity_mut(player).insert(brp::pose::PoseLandmarks { landmarks, ..Default::default() });
//! app.update(); // scores the pose
//! let score = app.world().get::<Score>(player).unwrap();
//! assert_eq!((score.points, score.matched), (1, true));
//! ```
//!
//! [`pose_with_arms`] and [`frame_json`] build synthetic poses and the
//! controller's JSON frames for them, for tests and demos.

use bevy_app::{App, Plugin, Startup, Update};
use bevy_ecs::change_detection::{DetectChanges, Ref};
use bevy_ecs::component::Component;
use bevy_ecs::name::Name;
use bevy_ecs::reflect::{ReflectComponent, ReflectResource};
use bevy_ecs::resource::Resource;
use bevy_ecs::system::{Commands, Query, Res};
use bevy_reflect::Reflect;
use bevy_reflect::std_traits::ReflectDefault;
use bevy_transform::components::Transform;
pub use brp::pose::{Landmark, PoseLandmarks, PoseNotDetected};
use std::fmt::Write as _;

/// MediaPipe's index of the left shoulder.
const LEFT_SHOULDER: usize = 11;
/// MediaPipe's index of the right shoulder.
const RIGHT_SHOULDER: usize = 12;
/// MediaPipe's index of the left elbow.
const LEFT_ELBOW: usize = 13;
/// MediaPipe's index of the right elbow.
const RIGHT_ELBOW: usize = 14;
/// MediaPipe's index of the left wrist.
const LEFT_WRIST: usize = 15;
/// MediaPipe's index of the right wrist.
const RIGHT_WRIST: usize = 16;
/// MediaPipe's index of the left hip.
const LEFT_HIP: usize = 23;
/// MediaPipe's index of the right hip.
const RIGHT_HIP: usize = 24;

/// The fewest landmarks a pose needs for [`arm_angles`]: up to the right
/// hip (index 24).
pub const MIN_LANDMARKS: usize = RIGHT_HIP + 1;

/// The number of landmarks MediaPipe's pose detector reports, and that
/// [`pose_with_arms`] builds.
pub const POSE_LANDMARKS: usize = 33;

/// Adds the dance game to an app: registers [`Score`], [`ArmAngles`] and
/// [`TargetPose`], inserts the default [`TargetPose`], spawns the Player at
/// `Startup` and scores its poses every `Update` ([`score_poses`]).
#[derive(Debug, Clone, Copy, Default)]
pub struct DancePlugin;

impl Plugin for DancePlugin {
    fn build(&self, app: &mut App) {
        app.register_type::<Score>()
            .register_type::<ArmAngles>()
            .register_type::<TargetPose>()
            .init_resource::<TargetPose>()
            .add_systems(Startup, spawn_player)
            .add_systems(Update, score_poses);
    }
}

/// The player's score: one point for every new pose that matched the
/// [`TargetPose`].
#[derive(Component, Reflect, Default, Debug, Clone, PartialEq)]
#[reflect(Component, Default, Debug, PartialEq)]
pub struct Score {
    /// Matching poses so far.
    pub points: u32,
    /// Whether the latest pose matched.
    pub matched: bool,
}

/// The arms' angles at the shoulders, in degrees in [0, 180], from the
/// latest pose: between the torso (shoulder → hip) and the upper arm
/// (shoulder → elbow). 0 is the arm down along the body, 90 straight out
/// sideways, 180 straight up.
#[derive(Component, Reflect, Default, Debug, Clone, PartialEq)]
#[reflect(Component, Default, Debug, PartialEq)]
pub struct ArmAngles {
    /// The player's left arm (MediaPipe's left: shoulder 11, elbow 13,
    /// hip 23).
    pub left: f32,
    /// The player's right arm (shoulder 12, elbow 14, hip 24).
    pub right: f32,
}

/// The arm angles the player should strike, in degrees, and how far off
/// (in degrees, per arm) still counts as a match. Defaults to a "T" pose:
/// both arms at 90, within 20.
#[derive(Resource, Reflect, Debug, Clone, PartialEq)]
#[reflect(Resource, Default, Debug, PartialEq)]
pub struct TargetPose {
    /// The left arm's target angle.
    pub left: f32,
    /// The right arm's target angle.
    pub right: f32,
    /// The largest difference from a target angle that still matches.
    pub tolerance: f32,
}

impl Default for TargetPose {
    fn default() -> Self {
        Self {
            left: 90.0,
            right: 90.0,
            tolerance: 20.0,
        }
    }
}

impl TargetPose {
    /// Whether both of `angles` are within the tolerance of their targets.
    pub fn matches(&self, angles: &ArmAngles) -> bool {
        (angles.left - self.left).abs() <= self.tolerance
            && (angles.right - self.right).abs() <= self.tolerance
    }
}

/// Spawns the Player: `Name("Player")`, a `Transform`, a zero [`Score`] and
/// [`ArmAngles`]. Poses land on it by its name.
pub fn spawn_player(mut commands: Commands) {
    commands.spawn((
        Name::new("Player"),
        Transform::default(),
        Score::default(),
        ArmAngles::default(),
    ));
}

/// For every entity whose [`PoseLandmarks`] changed since this system last
/// ran: sets its [`ArmAngles`], sets [`Score::matched`] by the
/// [`TargetPose`], and adds a point when it matched. A pose that
/// [`arm_angles`] cannot read changes nothing.
pub fn score_poses(
    target: Res<TargetPose>,
    mut players: Query<(Ref<PoseLandmarks>, &mut ArmAngles, &mut Score)>,
) {
    for (pose, mut angles, mut score) in &mut players {
        if !pose.is_changed() {
            continue;
        }
        let Some(new) = arm_angles(&pose.landmarks) else {
            continue;
        };
        let matched = target.matches(&new);
        *angles = new;
        score.matched = matched;
        if matched {
            score.points = score.points.saturating_add(1);
        }
    }
}

/// The arms' angles at the shoulders in `landmarks` (MediaPipe's order),
/// computed in image x, y (see [`ArmAngles`]).
///
/// `None` when there are fewer than [`MIN_LANDMARKS`], or when an elbow or
/// a hip lies on its shoulder (no direction to measure from).
pub fn arm_angles(landmarks: &[Landmark]) -> Option<ArmAngles> {
    if landmarks.len() < MIN_LANDMARKS {
        return None;
    }
    let at = |shoulder: usize, elbow: usize, hip: usize| {
        shoulder_angle(&landmarks[shoulder], &landmarks[elbow], &landmarks[hip])
    };
    Some(ArmAngles {
        left: at(LEFT_SHOULDER, LEFT_ELBOW, LEFT_HIP)?,
        right: at(RIGHT_SHOULDER, RIGHT_ELBOW, RIGHT_HIP)?,
    })
}

/// The angle in degrees between shoulder → hip and shoulder → elbow.
fn shoulder_angle(shoulder: &Landmark, elbow: &Landmark, hip: &Landmark) -> Option<f32> {
    let vector = |to: &Landmark| {
        (
            f64::from(to.x) - f64::from(shoulder.x),
            f64::from(to.y) - f64::from(shoulder.y),
        )
    };
    let (torso, arm) = (vector(hip), vector(elbow));
    if torso == (0.0, 0.0) || arm == (0.0, 0.0) {
        return None;
    }
    let cross = torso.0 * arm.1 - torso.1 * arm.0;
    let dot = torso.0 * arm.0 + torso.1 * arm.1;
    Some(cross.abs().atan2(dot).to_degrees() as f32)
}

/// A synthetic 33-landmark pose of someone facing the camera, upright, with
/// the left arm at `left` degrees and the right at `right` (in [0, 180];
/// see [`ArmAngles`]), so that [`arm_angles`] gives them back. Every
/// landmark has visibility and presence 1.
///
/// The player's left side is on the image's right (larger x); image y
/// grows downwards. The forearms continue the upper arms; the head's
/// landmarks sit above the shoulders and the legs below the hips.
pub fn pose_with_arms(left: f32, right: f32) -> Vec<Landmark> {
    const UPPER_ARM: f64 = 0.15;
    const SHOULDER_Y: f64 = 0.35;
    const HIP_Y: f64 = 0.65;
    let point = |x: f64, y: f64| Landmark {
        x: x as f32,
        y: y as f32,
        z: 0.0,
        visibility: 1.0,
        presence: 1.0,
    };
    let mut pose = vec![point(0.5, 0.2); POSE_LANDMARKS];
    // Outward is +x for the left arm, -x for the right.
    let mut arm = |degrees: f32, outward: f64, shoulder_x: f64, [s, e, w, h]: [usize; 4]| {
        let radians = f64::from(degrees).to_radians();
        let (dx, dy) = (outward * radians.sin(), radians.cos());
        pose[s] = point(shoulder_x, SHOULDER_Y);
        pose[e] = point(shoulder_x + UPPER_ARM * dx, SHOULDER_Y + UPPER_ARM * dy);
        pose[w] = point(
            shoulder_x + 2.0 * UPPER_ARM * dx,
            SHOULDER_Y + 2.0 * UPPER_ARM * dy,
        );
        pose[h] = point(shoulder_x, HIP_Y);
    };
    arm(
        left,
        1.0,
        0.6,
        [LEFT_SHOULDER, LEFT_ELBOW, LEFT_WRIST, LEFT_HIP],
    );
    arm(
        right,
        -1.0,
        0.4,
        [RIGHT_SHOULDER, RIGHT_ELBOW, RIGHT_WRIST, RIGHT_HIP],
    );
    // Hands (17..=22) at their wrists: pinky, index, thumb, left then right.
    for hand in 17..=22 {
        pose[hand] = pose[if hand % 2 == 1 {
            LEFT_WRIST
        } else {
            RIGHT_WRIST
        }];
    }
    // Legs: knees (25, 26), ankles (27, 28), heels (29, 30), toes (31, 32).
    for (leg, y) in (25..=32).zip([0.8, 0.8, 0.95, 0.95, 0.97, 0.97, 0.99, 0.99]) {
        let x = if leg % 2 == 1 { 0.6 } else { 0.4 };
        pose[leg] = point(x, y);
    }
    pose
}

/// The controller's JSON text frame (see docs/pose.md) for a pose of
/// `landmarks` detected at `timestamp`, as [`brp::pose::push_frame`] and
/// the pose client read it: `{"timestamp": t, "landmarks": [{"x": .., "y":
/// .., "z": .., "availability": {"visibility": .., "presence": ..}}, ...]}`.
///
/// Every number is written so that it reads back exactly; non-finite
/// numbers, which frames refuse, make text that is not JSON.
pub fn frame_json(timestamp: f64, landmarks: &[Landmark]) -> String {
    let mut text = format!(r#"{{"timestamp": {timestamp}, "landmarks": ["#);
    for (i, l) in landmarks.iter().enumerate() {
        if i > 0 {
            text.push_str(", ");
        }
        // Writing to a String cannot fail.
        let _ = write!(
            text,
            r#"{{"x": {}, "y": {}, "z": {}, "availability": {{"visibility": {}, "presence": {}}}}}"#,
            l.x, l.y, l.z, l.visibility, l.presence
        );
    }
    text.push_str("]}");
    text
}

#[cfg(test)]
mod tests {
    use super::*;
    use bevy_ecs::entity::Entity;
    use bevy_ecs::world::World;

    fn assert_round_trip(left: f32, right: f32) {
        let angles = arm_angles(&pose_with_arms(left, right)).unwrap();
        assert!(
            (angles.left - left).abs() < 0.01 && (angles.right - right).abs() < 0.01,
            "({left}, {right}) came back as {angles:?}"
        );
    }

    #[test]
    fn arms_down_out_and_up_round_trip() {
        assert_round_trip(0.0, 0.0);
        assert_round_trip(90.0, 90.0);
        assert_round_trip(180.0, 180.0);
    }

    #[test]
    fn asymmetric_arms_round_trip() {
        assert_round_trip(45.0, 135.0);
        assert_round_trip(170.0, 10.0);
        assert_round_trip(0.5, 179.5);
        for left in (0..=180).step_by(15) {
            assert_round_trip(left as f32, 180.0 - left as f32);
        }
    }

    #[test]
    fn synthetic_pose_is_a_full_visible_pose() {
        let pose = pose_with_arms(30.0, 60.0);
        assert_eq!(pose.len(), POSE_LANDMARKS);
        assert!(
            pose.iter()
                .all(|l| l.visibility == 1.0 && l.presence == 1.0)
        );
        // The left shoulder is on the image's right, the arms' sides apart.
        assert!(pose[LEFT_SHOULDER].x > pose[RIGHT_SHOULDER].x);
        assert!(pose[LEFT_ELBOW].x > pose[LEFT_SHOULDER].x);
        assert!(pose[RIGHT_ELBOW].x < pose[RIGHT_SHOULDER].x);
    }

    #[test]
    fn raised_arms_point_up_in_the_image() {
        let pose = pose_with_arms(180.0, 0.0);
        assert!(pose[LEFT_ELBOW].y < pose[LEFT_SHOULDER].y);
        assert!(pose[RIGHT_ELBOW].y > pose[RIGHT_SHOULDER].y);
    }

    #[test]
    fn too_short_poses_have_no_angles() {
        assert_eq!(arm_angles(&[]), None);
        let pose = pose_with_arms(90.0, 90.0);
        assert_eq!(arm_angles(&pose[..MIN_LANDMARKS - 1]), None);
        assert_round_trip(90.0, 90.0);
        let angles = arm_angles(&pose[..MIN_LANDMARKS]).unwrap();
        assert!((angles.left - 90.0).abs() < 0.01);
    }

    #[test]
    fn an_elbow_on_its_shoulder_has_no_angle() {
        let mut pose = pose_with_arms(90.0, 90.0);
        pose[RIGHT_ELBOW] = pose[RIGHT_SHOULDER];
        assert_eq!(arm_angles(&pose), None);
    }

    #[test]
    fn target_matches_within_tolerance() {
        let target = TargetPose::default();
        let angles = |left, right| ArmAngles { left, right };
        assert!(target.matches(&angles(90.0, 90.0)));
        assert!(target.matches(&angles(70.0, 110.0)));
        assert!(!target.matches(&angles(69.0, 90.0)));
        assert!(!target.matches(&angles(90.0, 0.0)));
    }

    #[test]
    fn frame_json_writes_the_controller_format() {
        let landmark = Landmark {
            x: 0.5,
            y: 0.25,
            z: -0.1,
            visibility: 1.0,
            presence: 0.75,
        };
        assert_eq!(
            frame_json(1.5, &[landmark, landmark])
                .matches(r#"{"x": 0.5, "y": 0.25, "z": -0.1, "availability": {"visibility": 1, "presence": 0.75}}"#)
                .count(),
            2
        );
        assert!(frame_json(1.5, &[landmark]).starts_with(r#"{"timestamp": 1.5, "landmarks": [{"#));
        assert_eq!(frame_json(2.0, &[]), r#"{"timestamp": 2, "landmarks": []}"#);
    }

    fn player(world: &mut World) -> Entity {
        world
            .query::<(Entity, &Name)>()
            .iter(world)
            .find(|(_, name)| name.as_str() == "Player")
            .map(|(entity, _)| entity)
            .unwrap()
    }

    fn show(app: &mut App, player: Entity, left: f32, right: f32) {
        let landmarks = pose_with_arms(left, right);
        app.world_mut().entity_mut(player).insert(PoseLandmarks {
            landmarks,
            ..Default::default()
        });
        app.update();
    }

    fn score(app: &App, player: Entity) -> Score {
        app.world().get::<Score>(player).unwrap().clone()
    }

    #[test]
    fn the_plugin_scores_new_poses_only() {
        let mut app = App::new();
        app.add_plugins(DancePlugin);
        app.update();
        let player = player(app.world_mut());
        assert_eq!(score(&app, player), Score::default());
        assert!(app.world().get::<Transform>(player).is_some());

        show(&mut app, player, 90.0, 90.0);
        assert_eq!(
            score(&app, player),
            Score {
                points: 1,
                matched: true
            }
        );
        // No new pose: nothing scores again.
        app.update();
        assert_eq!(score(&app, player).points, 1);

        show(&mut app, player, 0.0, 0.0);
        assert_eq!(
            score(&app, player),
            Score {
                points: 1,
                matched: false
            }
        );
        let angles = app.world().get::<ArmAngles>(player).unwrap();
        assert!(angles.left.abs() < 0.01 && angles.right.abs() < 0.01);

        // A too-short pose changes neither the angles nor the score.
        app.world_mut().entity_mut(player).insert(PoseLandmarks {
            landmarks: pose_with_arms(90.0, 90.0)[..10].to_vec(),
            ..Default::default()
        });
        app.update();
        assert_eq!(score(&app, player).points, 1);
        assert!(!score(&app, player).matched);
    }

    #[test]
    fn the_target_pose_is_a_resource_to_change() {
        let mut app = App::new();
        app.add_plugins(DancePlugin);
        app.update();
        let player = player(app.world_mut());
        assert_eq!(*app.world().resource::<TargetPose>(), TargetPose::default());
        app.world_mut().resource_mut::<TargetPose>().left = 180.0;
        show(&mut app, player, 90.0, 90.0);
        assert!(!score(&app, player).matched);
        show(&mut app, player, 175.0, 95.0);
        assert_eq!(
            score(&app, player),
            Score {
                points: 1,
                matched: true
            }
        );
    }
}
