//! Replays the fuzz corpus of the core's targets (`fuzz/corpus/request`,
//! `session`, `pose_frame` and `server`) through the same checks the fuzz
//! targets run, included here from `fuzz/src/` (docs/fuzzing.md).

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

#[allow(unreachable_pub)]
#[path = "../../../../fuzz/src/replies.rs"]
mod replies;

#[allow(unreachable_pub)]
#[path = "../../../../fuzz/src/server.rs"]
mod server;

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

#[test]
fn server_corpus() {
    let _serial = server::SERIAL
        .lock()
        .unwrap_or_else(std::sync::PoisonError::into_inner);
    replay("server", server::connection);
}
