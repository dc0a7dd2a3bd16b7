//! The bytes of requests a server holds before it can carry them out —
//! HTTP bodies and unfinished WebSocket messages — counted against one
//! budget for all connections together (`max_request_bytes_total`,
//! docs/limits.md).

use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};

/// The server's budget of request bytes.
#[derive(Debug)]
pub(super) struct Budget {
    max: usize,
    used: AtomicUsize,
}

impl Budget {
    /// A budget of `max` bytes.
    pub(super) fn new(max: usize) -> Arc<Self> {
        Arc::new(Self {
            max,
            used: AtomicUsize::new(0),
        })
    }

    /// Takes `bytes` from the budget; false, taking nothing, when that
    /// would go beyond it.
    fn take(&self, bytes: usize) -> bool {
        (self.used)
            .fetch_update(Ordering::AcqRel, Ordering::Acquire, |used| {
                used.checked_add(bytes).filter(|&total| total <= self.max)
            })
            .is_ok()
    }

    fn give_back(&self, bytes: usize) {
        self.used.fetch_sub(bytes, Ordering::AcqRel);
    }
}

/// Bytes one request holds of the budget, given back when dropped.
#[derive(Debug)]
pub(super) struct Charge {
    budget: Arc<Budget>,
    bytes: usize,
}

impl Charge {
    /// A charge of nothing yet on `budget`.
    pub(super) fn new(budget: &Arc<Budget>) -> Self {
        Self {
            budget: Arc::clone(budget),
            bytes: 0,
        }
    }

    /// Adds `bytes` to the charge; false, adding nothing, when the budget
    /// has no room for them.
    pub(super) fn add(&mut self, bytes: usize) -> bool {
        let taken = self.budget.take(bytes);
        if taken {
            self.bytes += bytes;
        }
        taken
    }

    /// Gives every byte of the charge back.
    pub(super) fn clear(&mut self) {
        self.budget.give_back(std::mem::take(&mut self.bytes));
    }
}

impl Drop for Charge {
    fn drop(&mut self) {
        self.clear();
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn charges_share_the_budget_and_give_it_back() {
        let budget = Budget::new(10);
        let mut first = Charge::new(&budget);
        let mut second = Charge::new(&budget);
        assert!(first.add(6));
        assert!(!second.add(5), "6 + 5 is over 10");
        assert!(second.add(4));
        assert!(!first.add(1));
        drop(second);
        assert!(first.add(4));
        first.clear();
        assert!(Charge::new(&budget).add(10));
        assert!(!Charge::new(&budget).add(usize::MAX), "no overflow");
    }
}
