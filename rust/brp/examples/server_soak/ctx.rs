//! What every task of the soak shares, and its random numbers.

use crate::scene::Fixed;
use crate::settings::Limits;
use crate::tally::Tally;
use std::collections::BTreeSet;
use std::net::SocketAddr;
use std::sync::{Arc, Mutex, MutexGuard, PoisonError};
use std::time::{Duration, Instant};
use tokio::task::JoinSet;

/// Locks `mutex`, ignoring poisoning (a panic is counted on its own).
pub(crate) fn lock<T>(mutex: &Mutex<T>) -> MutexGuard<'_, T> {
    mutex.lock().unwrap_or_else(PoisonError::into_inner)
}

/// What every client task shares.
pub(crate) struct Ctx {
    /// Where the server listens.
    pub(crate) address: SocketAddr,
    pub(crate) limits: Limits,
    /// The scene's entities that never change.
    pub(crate) fixed: Vec<Fixed>,
    /// When the clients stop starting new work.
    pub(crate) deadline: Instant,
    tally: Mutex<Tally>,
    /// Names of the tasks still running, for the hang report.
    running: Arc<Mutex<BTreeSet<String>>>,
    /// Crowds of connections running now, and when the last one ended.
    crowds: Mutex<(usize, Option<Instant>)>,
}

/// How long after a crowd the server may still be seen to have been at
/// `max_connections`: a client notices a closed connection when it next
/// uses it.
const AFTER_CROWD: Duration = Duration::from_secs(2);

/// A crowd of connections over `max_connections`, until dropped.
pub(crate) struct Crowd<'a>(&'a Ctx);

impl Drop for Crowd<'_> {
    fn drop(&mut self) {
        let mut crowds = lock(&self.0.crowds);
        crowds.0 -= 1;
        crowds.1 = Some(Instant::now());
    }
}

impl Ctx {
    pub(crate) fn new(
        address: SocketAddr,
        limits: Limits,
        fixed: Vec<Fixed>,
        deadline: Instant,
    ) -> Self {
        Self {
            address,
            limits,
            fixed,
            deadline,
            tally: Mutex::default(),
            running: Arc::default(),
            crowds: Mutex::default(),
        }
    }

    /// Marks a crowd of connections over `max_connections` while the
    /// guard lives.
    pub(crate) fn crowd(&self) -> Crowd<'_> {
        lock(&self.crowds).0 += 1;
        Crowd(self)
    }

    /// Whether a crowd runs, or just ran: the only times the server is at
    /// `max_connections`, when it closes a new connection at once, or an
    /// idle one to make room (docs/server.md, "Safe by default").
    pub(crate) fn crowded(&self) -> bool {
        let (running, ended) = *lock(&self.crowds);
        running > 0 || ended.is_some_and(|ended| ended.elapsed() < AFTER_CROWD)
    }

    /// True once the deadline has passed.
    pub(crate) fn over(&self) -> bool {
        Instant::now() >= self.deadline
    }

    /// Sleeps for `duration`, or until the deadline if sooner.
    pub(crate) async fn pause(&self, duration: Duration) {
        let left = self.deadline.saturating_duration_since(Instant::now());
        tokio::time::sleep(duration.min(left)).await;
    }

    /// The `Host` header of a well-behaved request.
    pub(crate) fn host(&self) -> String {
        self.address.to_string()
    }

    /// Merges what a task counted into the soak's tally.
    pub(crate) fn record(&self, tally: Tally) {
        lock(&self.tally).merge(tally);
    }

    /// Takes the soak's tally (at the end).
    pub(crate) fn take_tally(&self) -> Tally {
        std::mem::take(&mut *lock(&self.tally))
    }

    /// The tasks still running.
    pub(crate) fn running(&self) -> Vec<String> {
        lock(&self.running).iter().cloned().collect()
    }

    /// Starts `work` on `tasks`, listed as running under `name` until it
    /// ends.
    pub(crate) fn spawn(
        &self,
        tasks: &mut JoinSet<()>,
        name: String,
        work: impl Future<Output = ()> + Send + 'static,
    ) {
        lock(&self.running).insert(name.clone());
        let listed = Listed(Arc::clone(&self.running), name);
        tasks.spawn(async move {
            let _listed = listed;
            work.await;
        });
    }
}

/// Removes a task's name from the running list when it ends (also by
/// panic).
struct Listed(Arc<Mutex<BTreeSet<String>>>, String);

impl Drop for Listed {
    fn drop(&mut self) {
        lock(&self.0).remove(&self.1);
    }
}

/// xorshift64*: enough randomness for a workload, without a dependency.
pub(crate) struct Rng(u64);

impl Rng {
    pub(crate) fn new(seed: u64) -> Self {
        Self(seed.wrapping_mul(0x9E37_79B9_7F4A_7C15) | 1)
    }

    fn next(&mut self) -> u64 {
        self.0 ^= self.0 >> 12;
        self.0 ^= self.0 << 25;
        self.0 ^= self.0 >> 27;
        self.0.wrapping_mul(0x2545_F491_4F6C_DD1D)
    }

    /// Uniform in `0..n` (`n > 0`).
    pub(crate) fn below(&mut self, n: u64) -> u64 {
        self.next() % n
    }

    /// Uniform in `low..=high`.
    pub(crate) fn between(&mut self, low: u64, high: u64) -> u64 {
        low + self.below(high - low + 1)
    }

    /// True `percent` times in a hundred.
    pub(crate) fn chance(&mut self, percent: u64) -> bool {
        self.below(100) < percent
    }

    /// A duration uniform in `low_ms..=high_ms`.
    pub(crate) fn millis(&mut self, low_ms: u64, high_ms: u64) -> Duration {
        Duration::from_millis(self.between(low_ms, high_ms))
    }

    /// One of `items` (not empty).
    pub(crate) fn pick<'a, T>(&mut self, items: &'a [T]) -> &'a T {
        &items[self.below(items.len() as u64) as usize]
    }
}
