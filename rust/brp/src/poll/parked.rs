//! POLLs waiting for their answer, each with the completion that delivers it.
//!
//! Parked polls live beside the world, under the same lock (the engine's): every change to
//! the world re-evaluates them before the lock is released, so a change can
//! never slip between an evaluation and the next park. Completions run only
//! after the lock is released (see [`Fired::deliver`]), so they may call back
//! into the app.

use super::Poll;
use crate::error::{BrpError, ErrorCode};
use crate::protocol::{Body, Response};
use crate::world::Host;
use std::time::Instant;

/// Delivers a parked request's response to whoever waits for it.
pub(crate) type Completion = Box<dyn FnOnce(Response) + Send>;

/// Who submitted a request: a session, or [`Owner::NONE`] for sessionless calls.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub(crate) struct Owner(pub u64);

impl Owner {
    /// Sessionless requests (`App::request`).
    pub(crate) const NONE: Owner = Owner(0);
}

/// A POLL that has not answered yet.
pub(crate) struct ParkedPoll {
    /// Who asked.
    pub owner: Owner,
    /// The request id.
    pub id: u64,
    /// What it waits for.
    pub poll: Poll,
    /// When it gives up with [`ErrorCode::Timeout`].
    pub deadline: Option<Instant>,
    /// Where the answer goes.
    pub complete: Completion,
}

/// Every parked POLL of one app.
#[derive(Default)]
pub(crate) struct Parked {
    polls: Vec<ParkedPoll>,
}

/// Responses to deliver once the world's lock is released.
#[must_use = "fired completions must be delivered after unlocking"]
#[derive(Default)]
pub(crate) struct Fired(Vec<(Completion, Response)>);

impl Fired {
    /// Runs every completion, in the order they fired.
    pub(crate) fn deliver(self) {
        for (complete, response) in self.0 {
            complete(response);
        }
    }

    /// True when nothing fired.
    pub(crate) fn is_empty(&self) -> bool {
        self.0.is_empty()
    }

    fn push(&mut self, poll: ParkedPoll, result: Result<Body, BrpError>) {
        self.0.push((
            poll.complete,
            Response {
                id: Some(poll.id),
                result,
            },
        ));
    }
}

impl Parked {
    /// Parks `poll`.
    pub(crate) fn park(&mut self, poll: ParkedPoll) {
        self.polls.push(poll);
    }

    /// True when a POLL of `owner` with `id` is parked.
    pub(crate) fn contains(&self, owner: Owner, id: u64) -> bool {
        self.polls.iter().any(|p| p.owner == owner && p.id == id)
    }

    /// The earliest deadline of any parked POLL.
    pub(crate) fn next_deadline(&self) -> Option<Instant> {
        self.polls.iter().filter_map(|p| p.deadline).min()
    }

    /// Completes the POLLs selected by `which` with `error`.
    pub(crate) fn cancel(
        &mut self,
        which: impl Fn(&ParkedPoll) -> bool,
        error: impl Fn(&ParkedPoll) -> BrpError,
    ) -> Fired {
        let mut fired = Fired::default();
        let (gone, kept) = std::mem::take(&mut self.polls)
            .into_iter()
            .partition(|p| which(p));
        self.polls = kept;
        for poll in gone {
            let error = error(&poll);
            fired.push(poll, Err(error));
        }
        fired
    }

    /// Re-evaluates every parked POLL against the world of `host` as it is now.
    pub(crate) fn wake(&mut self, host: &mut Host) -> Fired {
        let mut fired = Fired::default();
        for mut parked in std::mem::take(&mut self.polls) {
            match parked.poll.answer(host) {
                Ok(None) => self.polls.push(parked),
                Ok(Some(answer)) => fired.push(parked, Ok(answer)),
                Err(error) => fired.push(parked, Err(error)),
            }
        }
        fired
    }

    /// Fails every POLL whose deadline is at or before `now`.
    pub(crate) fn expire(&mut self, now: Instant) -> Fired {
        self.cancel(
            |p| p.deadline.is_some_and(|d| d <= now),
            |p| {
                BrpError::new(
                    ErrorCode::Timeout,
                    format!(
                        "POLL {} timed out; poll again with the same watermark",
                        p.id
                    ),
                )
            },
        )
    }
}
