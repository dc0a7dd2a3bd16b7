//! Replays the fuzz corpus of the core's targets (`fuzz/corpus/request`,
//! `session` and `pose_frame`) through the same checks the fuzz targets
//! run, included here from `fuzz/src/` (docs/fuzzing.md).

use std::panic::{AssertUnwindSafe, catch_unwind};
use std::path::Path;

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

/// Runs `check` on every file of `fuzz/corpus/<target>/`.
fn replay(target: &str, check: fn(&[u8])) {
    let dir = Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("../../fuzz/corpus")
        .join(target);
    let mut files: Vec<_> = std::fs::read_dir(&dir)
        .unwrap_or_else(|e| panic!("{}: {e}", dir.display()))
        .map(|entry| entry.expect("a readable entry").path())
        .collect();
    files.sort();
    assert!(
        files.len() >= 10,
        "{} holds {} files",
        dir.display(),
        files.len()
    );
    for file in files {
        let data = std::fs::read(&file).expect("a readable corpus file");
        if catch_unwind(AssertUnwindSafe(|| check(&data))).is_err() {
            let name = file.file_name().unwrap_or_default().to_string_lossy();
            panic!("fuzz/corpus/{target}/{name} fails");
        }
    }
}

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
