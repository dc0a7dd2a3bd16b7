//! Replays the fuzz corpus of the core's targets (`fuzz/corpus/request`,
//! `session` and `pose_frame`) through the same checks the fuzz targets
//! run, included here from `fuzz/src/` (docs/fuzzing.md).

// The fuzz crate's modules: public there, private here.
#[allow(unreachable_pub)]
#[path = "../../../../fuzz/src/wire.rs"]
mod wire;

#[allow(unreachable_pub)]
#[path = "../../../../fuzz/src/requests.rs"]
mod requests;

#[allow(unreachable_pub)]
#[path = "../../../../fuzz/src/pose.rs"]
mod pose;

#[path = "../../../../fuzz/replay.rs"]
mod replay;

use replay::replay;

#[test]
fn request_corpus() {
    replay("request", requests::app_requests);
}

#[test]
fn session_corpus() {
    replay("session", requests::session_requests);
}

#[test]
fn pose_frame_corpus() {
    replay("pose_frame", pose::frames);
}
