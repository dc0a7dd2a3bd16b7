//! The dance game driven through libbrp: poses pushed as the controller's
//! JSON frames, the score read back with QUERY and GET.

use brp::Host;
use brp::pose::{PoseLandmarks, Target, push_frame};
use dance_game::{DancePlugin, frame_json, pose_with_arms};
use serde_json::Value;

fn host() -> Host {
    Host::build(|app: &mut bevy_app::App| {
        app.add_plugins(DancePlugin);
    })
    .unwrap()
}

/// Pushes a pose with the arms at `left` and `right` degrees, then updates.
fn dance(host: &Host, timestamp: f64, left: f32, right: f32) {
    let frame = frame_json(timestamp, &pose_with_arms(left, right));
    push_frame(host, &Target::default(), frame.as_bytes()).unwrap();
    host.update().unwrap();
}

/// The `response` of `request`, failing on an error.
fn respond(host: &Host, request: &str) -> Value {
    let answer: Value = serde_json::from_str(&host.request(request)).unwrap();
    answer
        .get("response")
        .unwrap_or_else(|| panic!("{request} failed: {answer}"))
        .clone()
}

/// The value nested as `{"JSON": "<text>"}`.
fn nested(value: &Value) -> Value {
    serde_json::from_str(value["JSON"].as_str().unwrap()).unwrap()
}

/// The Player's id and `Score` (`points`, `matched`), by QUERY.
fn score(host: &Host) -> (String, u64, bool) {
    let response = respond(
        host,
        r#"{"id": 1, "request": "QUERY", "params": {"data": {"components": ["Name", "Score"]}}}"#,
    );
    let entities = response["entities"].as_array().unwrap();
    assert_eq!(entities.len(), 1, "one scored entity: {response}");
    let player = &entities[0];
    assert_eq!(nested(&player["Name"]), "Player");
    let score = nested(&player["Score"]);
    (
        player["id"].as_str().unwrap().to_owned(),
        score["points"].as_u64().unwrap(),
        score["matched"].as_bool().unwrap(),
    )
}

/// The Player's `ArmAngles` (`left`, `right`), by GET.
fn arm_angles(host: &Host, player: &str) -> (f64, f64) {
    let request = format!(
        r#"{{"id": 2, "request": "GET", "params": {{"entity": "{player}", "components": ["ArmAngles"]}}}}"#
    );
    let angles = nested(&respond(host, &request)["components"]["ArmAngles"]);
    (
        angles["left"].as_f64().unwrap(),
        angles["right"].as_f64().unwrap(),
    )
}

#[test]
fn the_player_scores_t_poses() {
    let host = host();
    host.update().unwrap();
    let (player, points, matched) = score(&host);
    assert_eq!((points, matched), (0, false));

    dance(&host, 1.0, 90.0, 90.0);
    assert_eq!(score(&host), (player.clone(), 1, true));
    let (left, right) = arm_angles(&host, &player);
    assert!(
        (left - 90.0).abs() < 0.01 && (right - 90.0).abs() < 0.01,
        "a T pose reads ({left}, {right})"
    );

    dance(&host, 2.0, 0.0, 0.0);
    assert_eq!(score(&host), (player.clone(), 1, false));
    let (left, right) = arm_angles(&host, &player);
    assert!(
        left.abs() < 0.01 && right.abs() < 0.01,
        "arms down read ({left}, {right})"
    );

    for timestamp in [3.0, 4.0, 5.0] {
        dance(&host, timestamp, 90.0, 90.0);
    }
    assert_eq!(score(&host), (player, 4, true));
}

#[test]
fn an_update_without_a_new_pose_scores_nothing() {
    let host = host();
    host.update().unwrap();
    dance(&host, 1.0, 85.0, 100.0);
    host.update().unwrap();
    host.update().unwrap();
    let (_, points, matched) = score(&host);
    assert_eq!((points, matched), (1, true));
}

#[test]
fn frames_land_the_synthetic_pose_exactly() {
    let host = host();
    host.update().unwrap();
    let pose = pose_with_arms(30.0, 150.0);
    let frame = frame_json(7.25, &pose);
    push_frame(&host, &Target::default(), frame.as_bytes()).unwrap();
    let landed = host.read(|world| {
        let mut query = world.try_query::<&PoseLandmarks>().unwrap();
        let landed: Vec<_> = query.iter(world).cloned().collect();
        landed
    });
    assert_eq!(landed.len(), 1, "the pose lands on the one Player");
    assert_eq!(landed[0].timestamp, 7.25);
    assert_eq!(landed[0].landmarks, pose);
}
