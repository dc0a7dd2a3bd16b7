//! Waits that Ctrl-C can interrupt.
//!
//! A thread blocked in the core (a parked POLL, an empty response queue)
//! never runs Python's signal handlers, so a SIGINT would wait with it.
//! These waits release the GIL and run the handlers every
//! [`brp::WAIT_SLICE`] (`Python::check_signals`, which only acts on the main
//! thread): an exception a handler raises, such as `KeyboardInterrupt`, ends
//! the wait, after the core cancelled what it waited for.

use pyo3::prelude::*;
use std::time::{Duration, Instant};

/// Runs `f` with the GIL released, handing it an `interrupted` test for the
/// core's `respond_interruptible`: true once a signal handler raised, whose
/// exception this then returns.
pub(crate) fn interruptible<R: Send>(
    py: Python<'_>,
    f: impl FnOnce(&mut dyn FnMut() -> bool) -> R + Send,
) -> PyResult<R> {
    let mut raised: Option<PyErr> = None;
    let result = py.detach(|| {
        let mut interrupted = || {
            raised.is_some()
                || Python::attach(|py| py.check_signals())
                    .map_err(|error| raised = Some(error))
                    .is_err()
        };
        f(&mut interrupted)
    });
    match raised {
        Some(error) => Err(error),
        None => Ok(result),
    }
}

/// [`brp::Session::receive`], in slices that let signal handlers run: the
/// next response, waiting up to `timeout` (`None`: for ever), or why there
/// is none.
pub(crate) fn receive(
    py: Python<'_>,
    session: &brp::Session,
    timeout: Option<Duration>,
) -> PyResult<Result<brp::Response, brp::NoResponse>> {
    // A timeout too long to add to now is for ever.
    let deadline = timeout.and_then(|timeout| Instant::now().checked_add(timeout));
    loop {
        let slice = deadline.map_or(brp::WAIT_SLICE, |deadline| {
            (deadline.saturating_duration_since(Instant::now())).min(brp::WAIT_SLICE)
        });
        match py.detach(|| session.receive(Some(slice))) {
            Err(brp::NoResponse::TimedOut)
                if deadline.is_none_or(|deadline| Instant::now() < deadline) =>
            {
                py.check_signals()?;
            }
            done => return Ok(done),
        }
    }
}
