//! The process's resident memory, sampled once a second from
//! /proc/self/statm, and the check that it stays flat (docs/soak.md):
//! after a warm-up (the first tenth of the run), the most resident in the
//! last quarter may exceed the most of the second quarter by at most
//! [`SLACK`] plus a tenth.

use std::time::Duration;

/// What the last quarter may add to the second's most, besides a tenth.
const SLACK: u64 = 32 << 20;

/// Resident memory samples: (time into the run, bytes).
pub(crate) struct Memory {
    page: u64,
    samples: Vec<(Duration, u64)>,
}

/// The samples' summary and the judgement.
pub(crate) struct Summary {
    pub(crate) count: usize,
    pub(crate) first: u64,
    /// The first sample after the warm-up, and when it was.
    pub(crate) warm: (u64, Duration),
    pub(crate) second_quarter_max: u64,
    pub(crate) last_quarter_max: u64,
    /// The most the last quarter may reach.
    pub(crate) bound: u64,
    pub(crate) last: u64,
    pub(crate) max: u64,
}

impl Summary {
    pub(crate) fn flat(&self) -> bool {
        self.last_quarter_max <= self.bound
    }
}

impl Memory {
    pub(crate) fn new() -> Self {
        // The page size, as the kernel reports it for the first mapping.
        let smaps = std::fs::read_to_string("/proc/self/smaps").unwrap_or_default();
        let kib = (smaps.lines())
            .find_map(|line| line.strip_prefix("KernelPageSize:"))
            .and_then(|rest| {
                rest.trim()
                    .trim_end_matches("kB")
                    .trim()
                    .parse::<u64>()
                    .ok()
            });
        Self {
            page: kib.map_or(4096, |kib| kib << 10),
            samples: Vec::new(),
        }
    }

    /// Resident bytes now (0 where /proc is unreadable).
    pub(crate) fn resident(&self) -> u64 {
        let statm = std::fs::read_to_string("/proc/self/statm").unwrap_or_default();
        let pages = statm
            .split_whitespace()
            .nth(1)
            .and_then(|p| p.parse::<u64>().ok());
        pages.unwrap_or(0) * self.page
    }

    /// Takes a sample at `at` into the run; the bytes resident.
    pub(crate) fn sample(&mut self, at: Duration) -> u64 {
        let resident = self.resident();
        self.samples.push((at, resident));
        resident
    }

    /// The summary of a run of `run`; `None` before any sample.
    pub(crate) fn summary(&self, run: Duration) -> Option<Summary> {
        let (&(_, first), &(_, last)) = (self.samples.first()?, self.samples.last()?);
        let max_in = |from: Duration, to: Duration| {
            (self.samples.iter())
                .filter(|(at, _)| *at >= from && *at < to)
                .map(|(_, bytes)| *bytes)
                .max()
        };
        let warm = (self.samples.iter())
            .find(|(at, _)| *at >= run / 10)
            .map_or((last, run), |(at, bytes)| (*bytes, *at));
        let second_quarter_max = max_in(run / 4, run / 2).unwrap_or(warm.0);
        let last_quarter_max = max_in(run * 3 / 4, Duration::MAX).unwrap_or(last);
        Some(Summary {
            count: self.samples.len(),
            first,
            warm,
            second_quarter_max,
            last_quarter_max,
            bound: second_quarter_max + SLACK + second_quarter_max / 10,
            last,
            max: self
                .samples
                .iter()
                .map(|(_, bytes)| *bytes)
                .max()
                .unwrap_or(0),
        })
    }
}

/// `bytes` in MiB, for the report.
pub(crate) fn mib(bytes: u64) -> String {
    format!("{:.1} MiB", bytes as f64 / f64::from(1 << 20))
}
