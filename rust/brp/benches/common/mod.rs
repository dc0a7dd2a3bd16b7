//! What the core's benchmarks share.

use criterion::Criterion;
use std::time::Duration;

/// Criterion's settings: `BRP_BENCH_QUICK=1` (set by `scripts/bench`)
/// shortens warm-up and measurement.
pub(crate) fn config() -> Criterion {
    let c = Criterion::default();
    if std::env::var_os("BRP_BENCH_QUICK").is_some() {
        c.warm_up_time(Duration::from_millis(500))
            .measurement_time(Duration::from_secs(2))
    } else {
        c
    }
}
