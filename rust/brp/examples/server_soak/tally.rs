//! What the clients saw: counts by client kind, the longest waits, and the
//! problems (wrong answers, connections not closed in time). Each task
//! keeps its own and merges it into the shared one after every run.

use std::collections::BTreeMap;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::Duration;

/// Answers the well-behaved clients checked, for the progress line.
pub(crate) static ANSWERS: AtomicU64 = AtomicU64::new(0);

/// Problems found so far, for the progress line.
pub(crate) static PROBLEMS: AtomicU64 = AtomicU64::new(0);

/// How many problems of each kind are printed in full (all are counted).
const SHOWN: usize = 5;

/// Counts and problems, by client kind.
#[derive(Default)]
pub(crate) struct Tally {
    /// `(kind, what)` → how many times.
    counts: BTreeMap<(&'static str, &'static str), u64>,
    /// `(kind, what)` → the longest it took.
    longest: BTreeMap<(&'static str, &'static str), Duration>,
    /// Problems by kind: how many, and the first few in full.
    problems: BTreeMap<&'static str, (u64, Vec<String>)>,
}

impl Tally {
    /// Counts one `what` of client `kind`.
    pub(crate) fn count(&mut self, kind: &'static str, what: &'static str) {
        self.add(kind, what, 1);
    }

    /// Counts `n` `what` of client `kind` (none: nothing to print).
    pub(crate) fn add(&mut self, kind: &'static str, what: &'static str, n: u64) {
        if n > 0 {
            *self.counts.entry((kind, what)).or_default() += n;
        }
    }

    /// Counts a checked answer of a well-behaved client.
    pub(crate) fn answer(&mut self, kind: &'static str) {
        ANSWERS.fetch_add(1, Ordering::Relaxed);
        self.count(kind, "answers");
    }

    /// How many `what` of `kind` were counted.
    pub(crate) fn get(&self, kind: &str, what: &str) -> u64 {
        (self.counts.iter())
            .filter(|((k, w), _)| *k == kind && *w == what)
            .map(|(_, n)| n)
            .sum()
    }

    /// How many `what` were counted, over every kind.
    pub(crate) fn total(&self, what: &str) -> u64 {
        (self.counts.iter())
            .filter(|((_, w), _)| *w == what)
            .map(|(_, n)| n)
            .sum()
    }

    /// Notes that `what` of `kind` took `took`.
    pub(crate) fn took(&mut self, kind: &'static str, what: &'static str, took: Duration) {
        let longest = self.longest.entry((kind, what)).or_default();
        *longest = (*longest).max(took);
    }

    /// Notes a problem of client `kind`.
    pub(crate) fn problem(&mut self, kind: &'static str, what: String) {
        PROBLEMS.fetch_add(1, Ordering::Relaxed);
        let (count, shown) = self.problems.entry(kind).or_default();
        *count += 1;
        if shown.len() < SHOWN {
            shown.push(what);
        }
    }

    /// How many problems were noted.
    pub(crate) fn problem_count(&self) -> u64 {
        self.problems.values().map(|(count, _)| count).sum()
    }

    /// Problems by kind: how many, and the first few.
    pub(crate) fn problems(&self) -> impl Iterator<Item = (&'static str, u64, &[String])> {
        (self.problems.iter()).map(|(kind, (count, shown))| (*kind, *count, shown.as_slice()))
    }

    /// Notes when the server closed an abusive connection of `kind`:
    /// `took` since the abuse began, or `None` if still open at `bound`
    /// (a problem).
    pub(crate) fn closed(&mut self, kind: &'static str, took: Option<Duration>, bound: Duration) {
        match took {
            Some(took) => {
                self.count(kind, "closed by the server");
                self.took(kind, "close", took);
            }
            None => self.problem(
                kind,
                format!("the server had not closed the connection after {bound:.1?}"),
            ),
        }
    }

    pub(crate) fn merge(&mut self, other: Self) {
        for (key, n) in other.counts {
            *self.counts.entry(key).or_default() += n;
        }
        for (key, took) in other.longest {
            let longest = self.longest.entry(key).or_default();
            *longest = (*longest).max(took);
        }
        for (kind, (count, shown)) in other.problems {
            let (total, kept) = self.problems.entry(kind).or_default();
            *total += count;
            let room = SHOWN.saturating_sub(kept.len());
            kept.extend(shown.into_iter().take(room));
        }
    }

    /// The kinds counted, in order.
    pub(crate) fn kinds(&self) -> Vec<&'static str> {
        let mut kinds: Vec<&'static str> = self.counts.keys().map(|(k, _)| *k).collect();
        kinds.dedup();
        kinds
    }

    /// One kind's counts and longest waits, as `what n` and `longest what t`.
    pub(crate) fn line(&self, kind: &str) -> String {
        let counts = (self.counts.iter())
            .filter(|((k, _), _)| *k == kind)
            .map(|((_, what), n)| format!("{what} {n}"));
        let longest = (self.longest.iter())
            .filter(|((k, _), _)| *k == kind)
            .map(|((_, what), t)| format!("longest {what} {:.2} s", t.as_secs_f64()));
        counts.chain(longest).collect::<Vec<_>>().join(", ")
    }
}
