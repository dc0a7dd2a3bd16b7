//! Replays a target's corpus as an ordinary test: included with `#[path]`
//! by the stable tests `rust/brp/tests/integration/fuzz_corpus.rs` and
//! `rust/brp-ffi/tests/fuzz_corpus.rs` (docs/fuzzing.md). Not part of the
//! fuzz crate.

use std::panic::{AssertUnwindSafe, catch_unwind};
use std::path::Path;

/// Runs `check` on every file of `fuzz/corpus/<target>/` (the including
/// crate sits two folders below the repository's root).
pub(crate) fn replay(target: &str, check: impl Fn(&[u8])) {
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
