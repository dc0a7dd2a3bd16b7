//! The accept loop, and the file descriptors it needs: `max_connections`
//! is checked against the process's descriptor limit at start (raising
//! the soft limit when the hard one allows), and running out of
//! descriptors later refuses the waiting client and backs off instead of
//! spinning (docs/limits.md, "Server").

use super::http;
use super::link::{Shared, stopping};
use crate::error::{BrpError, BrpResult};
use futures_util::FutureExt;
use std::sync::Arc;
use std::sync::atomic::Ordering;
use std::time::Duration;
use tokio::net::TcpListener;
use tokio::sync::Semaphore;
use tokio::task::JoinSet;

/// How long a new connection waits for the slot of the idle one it
/// evicted.
const EVICTION: Duration = Duration::from_secs(1);
/// How long accepting pauses once the process is out of descriptors.
const BACKOFF: Duration = Duration::from_millis(50);
/// Descriptors kept free beyond the connections: the listener, the
/// runtime's, the spare below, and what the host itself opens meanwhile.
const HEADROOM: u64 = 64;

/// One task per connection, until stopped; then waits for the
/// connections to close.
pub(super) async fn serve(listener: std::net::TcpListener, shared: Arc<Shared>) {
    let Ok(listener) = TcpListener::from_std(listener) else {
        return;
    };
    let slots = Arc::new(Semaphore::new(shared.config().max_connections));
    let counters = &shared.counters;
    let mut spare = Spare::open();
    let mut connections = JoinSet::new();
    loop {
        tokio::select! {
            _ = stopping(shared.stopped.clone()) => break,
            Some(_) = connections.join_next(), if !connections.is_empty() => {}
            accepted = listener.accept() => {
                let stream = match accepted {
                    Ok((stream, _)) => stream,
                    Err(e) if out_of_descriptors(&e) => {
                        counters.accept_errors.fetch_add(1, Ordering::Relaxed);
                        // Frees one descriptor to turn the waiting client
                        // away, rather than leave it waiting unanswered.
                        if spare.release()
                            && let Some(Ok((stream, _))) = listener.accept().now_or_never()
                        {
                            counters.refused_connections.fetch_add(1, Ordering::Relaxed);
                            drop(stream);
                        }
                        spare = Spare::open();
                        tokio::time::sleep(BACKOFF).await;
                        continue;
                    }
                    Err(_) => continue,
                };
                let _ = stream.set_nodelay(true);
                let shared = Arc::clone(&shared);
                if let Ok(slot) = Arc::clone(&slots).try_acquire_owned() {
                    counters.connections.fetch_add(1, Ordering::Relaxed);
                    connections.spawn(http::connection(stream, shared, slot));
                } else if shared.evict_idle() {
                    // The evicted connection's slot comes free as it closes.
                    let slots = Arc::clone(&slots);
                    connections.spawn(async move {
                        let freed = tokio::time::timeout(EVICTION, slots.acquire_owned()).await;
                        let counters = &shared.counters;
                        if let Ok(Ok(slot)) = freed {
                            counters.connections.fetch_add(1, Ordering::Relaxed);
                            http::connection(stream, shared, slot).await;
                        } else {
                            counters.refused_connections.fetch_add(1, Ordering::Relaxed);
                        }
                    });
                } else {
                    counters.refused_connections.fetch_add(1, Ordering::Relaxed);
                }
            }
        }
    }
    drop(listener);
    let grace = shared.settings.stop_timeout;
    let _ = tokio::time::timeout(grace, async {
        while connections.join_next().await.is_some() {}
    })
    .await;
    connections.abort_all();
}

/// Whether accepting failed for want of file descriptors.
fn out_of_descriptors(error: &std::io::Error) -> bool {
    #[cfg(unix)]
    {
        matches!(
            error.raw_os_error(),
            Some(libc::EMFILE | libc::ENFILE | libc::ENOBUFS | libc::ENOMEM)
        )
    }
    #[cfg(not(unix))]
    {
        let _ = error;
        false
    }
}

/// A descriptor held in reserve, given up to refuse a client when the
/// process has no other.
struct Spare(Option<std::fs::File>);

impl Spare {
    fn open() -> Self {
        Self(std::fs::File::open(if cfg!(unix) { "/dev/null" } else { "NUL" }).ok())
    }

    /// Closes the spare; false if there was none.
    fn release(&mut self) -> bool {
        self.0.take().is_some()
    }
}

/// Makes sure the process may open `max_connections` more descriptors:
/// raises the soft limit up to the hard one if it must, or refuses.
pub(super) fn reserve_descriptors(max_connections: usize) -> BrpResult<()> {
    #[cfg(unix)]
    {
        let open = std::fs::read_dir("/proc/self/fd")
            .or_else(|_| std::fs::read_dir("/dev/fd"))
            .map_or(HEADROOM, |entries| entries.count() as u64);
        let needed = open + HEADROOM + max_connections as u64;
        let (soft, hard) = limits::get()?;
        match plan(needed, soft, hard) {
            Plan::Enough => Ok(()),
            Plan::Raise(to) => limits::set_soft(to, hard).map_err(|e| {
                BrpError::invalid_params(format!(
                    "invalid server config: max_connections {max_connections} needs {needed} \
                     file descriptors and the soft limit (RLIMIT_NOFILE) is {soft}; raising it \
                     failed: {e}"
                ))
            }),
            Plan::Refuse => Err(BrpError::invalid_params(format!(
                "invalid server config: max_connections {max_connections} needs {needed} file \
                 descriptors, but this process may open at most {hard} (RLIMIT_NOFILE); lower \
                 max_connections or raise the limit"
            ))),
        }
    }
    #[cfg(not(unix))]
    {
        let _ = max_connections;
        Ok(())
    }
}

/// What to do about the descriptor limits `soft` and `hard` when `needed`
/// may be open at once.
#[derive(Debug, PartialEq, Eq)]
enum Plan {
    Enough,
    Raise(u64),
    Refuse,
}

fn plan(needed: u64, soft: u64, hard: u64) -> Plan {
    if needed <= soft {
        Plan::Enough
    } else if needed <= hard {
        Plan::Raise(needed)
    } else {
        Plan::Refuse
    }
}

#[cfg(unix)]
mod limits {
    use crate::error::{BrpError, BrpResult};

    /// The soft and hard `RLIMIT_NOFILE` (infinity as `u64::MAX`).
    #[allow(clippy::unnecessary_cast, reason = "rlim_t is not u64 on every Unix")]
    pub(super) fn get() -> BrpResult<(u64, u64)> {
        let mut limit = libc::rlimit {
            rlim_cur: 0,
            rlim_max: 0,
        };
        // SAFETY: `limit` is a valid, writable rlimit for the call.
        if unsafe { libc::getrlimit(libc::RLIMIT_NOFILE, &mut limit) } != 0 {
            let e = std::io::Error::last_os_error();
            return Err(BrpError::internal(format!(
                "cannot read RLIMIT_NOFILE: {e}"
            )));
        }
        Ok((limit.rlim_cur as u64, limit.rlim_max as u64))
    }

    /// Sets the soft `RLIMIT_NOFILE` to `soft`, keeping the hard one.
    #[allow(clippy::unnecessary_cast, reason = "rlim_t is not u64 on every Unix")]
    pub(super) fn set_soft(soft: u64, hard: u64) -> std::io::Result<()> {
        let limit = libc::rlimit {
            rlim_cur: soft as libc::rlim_t,
            rlim_max: hard as libc::rlim_t,
        };
        // SAFETY: `limit` is a valid rlimit, read by the call.
        match unsafe { libc::setrlimit(libc::RLIMIT_NOFILE, &limit) } {
            0 => Ok(()),
            _ => Err(std::io::Error::last_os_error()),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_soft_limit_is_raised_only_as_far_as_the_hard_one() {
        assert_eq!(plan(1000, 1024, 4096), Plan::Enough);
        assert_eq!(plan(2000, 1024, 4096), Plan::Raise(2000));
        assert_eq!(plan(5000, 1024, 4096), Plan::Refuse);
        assert_eq!(plan(5000, 1024, u64::MAX), Plan::Raise(5000));
    }
}
