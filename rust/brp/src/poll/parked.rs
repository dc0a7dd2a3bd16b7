//! POLLs waiting for their answer, each with the completion that delivers
//! it, and the watches of the JSON-RPC dialect, each with its outlet.
//!
//! Parked polls live beside the world, under the same lock (the engine's): every change to
//! the world re-evaluates them before the lock is released, so a change can
//! never slip between an evaluation and the next park. Completions run only
//! after the lock is released (see [`Fired::deliver`]), so they may call back
//! into the app.

use super::Poll;
use super::watch::{Outlet, Watch};
use crate::error::{BrpError, ErrorCode};
use crate::protocol::{Body, Dialect, Response};
use crate::world::Ecs;
use crate::world::touched::Touched;
use bevy_ecs::component::ComponentId;
use std::collections::{BTreeMap, BTreeSet, HashMap};
use std::sync::Arc;
use std::time::Instant;

/// Delivers a parked request's response to whoever waits for it.
pub(crate) type Completion = Box<dyn FnOnce(Response) + Send>;

/// Who submitted a request: a session, or one sessionless call.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub(crate) struct Owner {
    /// Unique among the owners of one app.
    pub(crate) id: u64,
    /// A session (its parked POLLs count against
    /// `Config::max_parked_polls_per_session`), not a sessionless call.
    pub(crate) session: bool,
}

/// A POLL that has not answered yet, or a watch that has not ended.
pub(crate) struct ParkedPoll {
    /// Who asked.
    pub owner: Owner,
    /// The request id.
    pub id: u64,
    /// What it waits for, and where its answers go.
    pub waiter: Waiter,
    /// When it gives up with [`ErrorCode::Timeout`].
    pub deadline: Option<Instant>,
}

/// What a parked request waits for.
pub(crate) enum Waiter {
    /// A POLL, and where its one answer goes.
    Poll(Box<Poll>, Completion),
    /// A watch, and where its answers go, one per change.
    Watch(Watch, Arc<Outlet>),
}

impl Waiter {
    /// The components whose changes concern it; `None` for any.
    fn watched(&self) -> Option<Vec<ComponentId>> {
        match self {
            Waiter::Poll(poll, _) => poll.watched(),
            Waiter::Watch(watch, _) => watch.watched(),
        }
    }
}

/// Every parked POLL of one app, indexed by the components each watches.
#[derive(Default)]
pub(crate) struct Parked {
    /// By park order, so POLLs woken by one change answer in that order.
    polls: BTreeMap<u64, ParkedPoll>,
    next: u64,
    /// The POLLs whose answer depends on a component, by component.
    watching: HashMap<ComponentId, BTreeSet<u64>>,
    /// The POLLs that match every entity: any change may concern them.
    everything: BTreeSet<u64>,
    /// How many POLLs each owner has parked.
    per_owner: HashMap<Owner, usize>,
    /// How many evaluations `wake` made, for tests of the index.
    #[cfg(test)]
    pub(crate) evaluated: usize,
}

/// Responses to deliver once the world's lock is released.
#[must_use = "fired completions must be delivered after unlocking"]
#[derive(Default)]
pub(crate) struct Fired(Vec<Delivery>);

/// One delivery of [`Fired`].
enum Delivery {
    /// A POLL's answer.
    Once(Completion, Response),
    /// A watch with answers queued in its outlet.
    Stream(Arc<Outlet>),
}

impl Fired {
    /// Runs every completion, in the order they fired.
    pub(crate) fn deliver(self) {
        for delivery in self.0 {
            match delivery {
                Delivery::Once(complete, response) => complete(response),
                Delivery::Stream(outlet) => outlet.flush(),
            }
        }
    }

    /// True when nothing fired.
    pub(crate) fn is_empty(&self) -> bool {
        self.0.is_empty()
    }

    /// The last answer of `poll`: it leaves the parked requests.
    fn push(&mut self, poll: ParkedPoll, result: Result<Body, BrpError>) {
        let id = Some(poll.id);
        match poll.waiter {
            Waiter::Poll(_, complete) => {
                let response = Response {
                    id,
                    result,
                    dialect: Dialect::Brp,
                };
                self.0.push(Delivery::Once(complete, response));
            }
            Waiter::Watch(_, outlet) => {
                let response = Response {
                    id,
                    result,
                    dialect: Dialect::JsonRpc,
                };
                outlet.push(response, true);
                self.0.push(Delivery::Stream(outlet));
            }
        }
    }

    /// A watch's answer `body`: it stays parked.
    fn stream(&mut self, id: u64, outlet: &Arc<Outlet>, body: Body) {
        let response = Response {
            id: Some(id),
            result: Ok(body),
            dialect: Dialect::JsonRpc,
        };
        outlet.push(response, false);
        self.0.push(Delivery::Stream(Arc::clone(outlet)));
    }
}

impl Parked {
    /// Parks `poll`.
    pub(crate) fn park(&mut self, poll: ParkedPoll) {
        let key = self.next;
        self.next += 1;
        match poll.waiter.watched() {
            None => {
                self.everything.insert(key);
            }
            Some(ids) => {
                for id in ids {
                    self.watching.entry(id).or_default().insert(key);
                }
            }
        }
        *self.per_owner.entry(poll.owner).or_default() += 1;
        self.polls.insert(key, poll);
    }

    /// True when no POLL is parked.
    pub(crate) fn is_empty(&self) -> bool {
        self.polls.is_empty()
    }

    /// How many POLLs `owner` has parked.
    pub(crate) fn count(&self, owner: Owner) -> usize {
        self.per_owner.get(&owner).copied().unwrap_or(0)
    }

    /// True when a POLL of `owner` with `id` is parked.
    pub(crate) fn contains(&self, owner: Owner, id: u64) -> bool {
        self.polls.values().any(|p| p.owner == owner && p.id == id)
    }

    /// The earliest deadline of any parked POLL.
    pub(crate) fn next_deadline(&self) -> Option<Instant> {
        self.polls.values().filter_map(|p| p.deadline).min()
    }

    /// Completes the POLLs selected by `which` with `error`.
    pub(crate) fn cancel(
        &mut self,
        which: impl Fn(&ParkedPoll) -> bool,
        error: impl Fn(&ParkedPoll) -> BrpError,
    ) -> Fired {
        let keys: Vec<u64> = (self.polls.iter())
            .filter(|(_, p)| which(p))
            .map(|(&key, _)| key)
            .collect();
        let mut fired = Fired::default();
        for key in keys {
            let poll = self.remove(key);
            let error = error(&poll);
            fired.push(poll, Err(error));
        }
        fired
    }

    /// Re-evaluates, against the world of `host` as it is now, every parked
    /// POLL that watches a component the last change touched.
    pub(crate) fn wake(&mut self, host: &mut Ecs, touched: &Touched) -> Fired {
        let mut fired = Fired::default();
        let keys: BTreeSet<u64> = match touched {
            Touched::All => self.polls.keys().copied().collect(),
            Touched::Components(ids) => (ids.iter())
                .filter_map(|id| self.watching.get(id))
                .flatten()
                .chain(&self.everything)
                .copied()
                .collect(),
        };
        for key in keys {
            let Some(parked) = self.polls.get_mut(&key) else {
                continue;
            };
            #[cfg(test)]
            {
                self.evaluated += 1;
            }
            let result = match &mut parked.waiter {
                Waiter::Poll(poll, _) => poll.answer(host),
                Waiter::Watch(watch, outlet) => match watch.answer(host) {
                    Ok(Some(answer)) => match outlet.backlog(parked.id) {
                        None => {
                            fired.stream(parked.id, outlet, answer);
                            continue;
                        }
                        Some(error) => Err(error),
                    },
                    other => other,
                },
            };
            let result = match result {
                Ok(None) => continue,
                Ok(Some(answer)) => Ok(answer),
                Err(error) => Err(error),
            };
            let parked = self.remove(key);
            fired.push(parked, result);
        }
        fired
    }

    /// Takes the POLL `key` out of the index.
    fn remove(&mut self, key: u64) -> ParkedPoll {
        let Some(poll) = self.polls.remove(&key) else {
            unreachable!("POLL {key} is parked");
        };
        match poll.waiter.watched() {
            None => {
                self.everything.remove(&key);
            }
            Some(ids) => {
                for id in ids {
                    if let Some(keys) = self.watching.get_mut(&id) {
                        keys.remove(&key);
                        if keys.is_empty() {
                            self.watching.remove(&id);
                        }
                    }
                }
            }
        }
        if let Some(count) = self.per_owner.get_mut(&poll.owner) {
            *count -= 1;
            if *count == 0 {
                self.per_owner.remove(&poll.owner);
            }
        }
        poll
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
