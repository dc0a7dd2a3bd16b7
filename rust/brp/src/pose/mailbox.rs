//! A single-slot mailbox between the network task and the applier: the
//! newest value wins, older unread ones are dropped, nothing queues.

use std::sync::{Condvar, Mutex, MutexGuard, PoisonError};

/// Holds at most one value; [`put`](Self::put) replaces an unread one.
pub(crate) struct Mailbox<T> {
    slot: Mutex<Slot<T>>,
    ready: Condvar,
}

struct Slot<T> {
    value: Option<T>,
    closed: bool,
}

impl<T> Mailbox<T> {
    pub(crate) fn new() -> Self {
        Self {
            slot: Mutex::new(Slot {
                value: None,
                closed: false,
            }),
            ready: Condvar::new(),
        }
    }

    /// Leaves `value` for the reader; true when it replaced an unread
    /// value. A closed mailbox discards it.
    pub(crate) fn put(&self, value: T) -> bool {
        let mut slot = self.lock();
        if slot.closed {
            return false;
        }
        let replaced = slot.value.replace(value).is_some();
        drop(slot);
        self.ready.notify_one();
        replaced
    }

    /// Waits for a value; `None` once the mailbox is closed.
    pub(crate) fn take(&self) -> Option<T> {
        let mut slot = self.lock();
        loop {
            if slot.closed {
                return None;
            }
            if let Some(value) = slot.value.take() {
                return Some(value);
            }
            slot = self
                .ready
                .wait(slot)
                .unwrap_or_else(PoisonError::into_inner);
        }
    }

    /// Wakes the reader for good, discarding any unread value.
    pub(crate) fn close(&self) {
        let mut slot = self.lock();
        slot.closed = true;
        slot.value = None;
        drop(slot);
        self.ready.notify_all();
    }

    fn lock(&self) -> MutexGuard<'_, Slot<T>> {
        self.slot.lock().unwrap_or_else(PoisonError::into_inner)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::sync::Arc;

    #[test]
    fn newest_wins_and_close_wakes_the_reader() {
        let mailbox = Arc::new(Mailbox::new());
        assert!(!mailbox.put(1));
        assert!(mailbox.put(2));
        assert_eq!(mailbox.take(), Some(2));
        let reader = std::thread::spawn({
            let mailbox = mailbox.clone();
            move || mailbox.take()
        });
        mailbox.close();
        assert_eq!(reader.join().ok(), Some(None));
        assert!(!mailbox.put(3));
        assert_eq!(mailbox.take(), None);
    }
}
