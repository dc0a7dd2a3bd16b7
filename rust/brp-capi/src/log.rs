//! `brp_set_log_callback`: libbrp's log messages handed to a C callback.
//!
//! The core logs through the `log` crate (targets `brp::…`, e.g.
//! `brp::pose`). The first callback set installs this module's logger as
//! the library's `log` logger; it forwards the records of `brp` targets up
//! to the chosen level to the callback, and nothing else.

use crate::boundary::{Failure, call};
use crate::status::BrpStatus;
use log::{LevelFilter, Log, Metadata, Record};
use std::cell::Cell;
use std::ffi::{CString, c_char, c_int, c_void};
use std::sync::{OnceLock, PoisonError, RwLock};

/// The level of a log message, as `log` numbers them: the lower, the more
/// severe. `brp_set_log_callback`'s `max_level` takes these too, and
/// `BRP_LOG_LEVEL_OFF` (0) for no message at all.
#[repr(C)]
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum BrpLogLevel {
    /// No message (only as `max_level`).
    Off = 0,
    /// Something failed that should not have (e.g. a frame callback
    /// panicked).
    Error = 1,
    /// A failure the library recovers from: a refused or lost connection,
    /// a malformed frame, a frame that cannot be applied.
    Warn = 2,
    /// A change of state: connected, connection closed, stopped.
    Info = 3,
    /// Detail: each connection attempt.
    Debug = 4,
    /// Finer detail (libbrp logs nothing at this level yet).
    Trace = 5,
}

/// Is called with each log message of libbrp up to the level set with
/// `brp_set_log_callback`: `user_data` as given there, the message's level
/// (a `brp_log_level`, 1 to 5), its target (the part of libbrp it comes
/// from, e.g. `"brp::pose"`) and its text (one line, e.g.
/// `"ws://127.0.0.1:9000/: connected"`). Both strings are valid only during
/// the call: copy them to keep them, never free them.
pub type BrpLogCallback = Option<
    unsafe extern "C" fn(
        user_data: *mut c_void,
        level: c_int,
        target: *const c_char,
        message: *const c_char,
    ),
>;

/// The callback set, its `user_data` and its level.
struct Sink {
    function: unsafe extern "C" fn(*mut c_void, c_int, *const c_char, *const c_char),
    user_data: *mut c_void,
    max_level: LevelFilter,
}

// SAFETY: `brp_set_log_callback`'s caller guarantees that the callback may
// be called with `user_data` from any thread, concurrently.
unsafe impl Send for Sink {}
// SAFETY: as above.
unsafe impl Sync for Sink {}

/// The current callback. Held for reading while a callback runs, so that
/// replacing it waits until no call of the old one is running.
static SINK: RwLock<Option<Sink>> = RwLock::new(None);

/// Whether [`Forwarder`] is the library's `log` logger (decided by the
/// first callback set: `log` takes one logger per library, for good).
static INSTALLED: OnceLock<bool> = OnceLock::new();

thread_local! {
    /// Set while this thread runs the callback: records logged meanwhile
    /// (by libbrp calls the callback makes) are dropped, and setting the
    /// callback is refused, rather than deadlock.
    static IN_CALLBACK: Cell<bool> = const { Cell::new(false) };
}

/// The library's `log` logger: hands records of `brp` targets to the
/// callback.
struct Forwarder;

static FORWARDER: Forwarder = Forwarder;

/// Whether `target` is one of libbrp's (`brp` or `brp::…`).
fn is_brp(target: &str) -> bool {
    target
        .strip_prefix("brp")
        .is_some_and(|rest| rest.is_empty() || rest.starts_with("::"))
}

/// `text` as a C string, any NUL written as `\0`.
fn c_text(text: &str) -> CString {
    let text = if text.contains('\0') {
        text.replace('\0', "\\0")
    } else {
        text.to_owned()
    };
    CString::new(text).unwrap_or_default()
}

/// Clears [`IN_CALLBACK`] when the call ends.
struct InCallback;

impl Drop for InCallback {
    fn drop(&mut self) {
        let _ = IN_CALLBACK.try_with(|c| c.set(false));
    }
}

impl Log for Forwarder {
    fn enabled(&self, metadata: &Metadata<'_>) -> bool {
        metadata.level() <= log::max_level() && is_brp(metadata.target())
    }

    fn log(&self, record: &Record<'_>) {
        // Not inside a callback on this thread (nor while it exits).
        if !self.enabled(record.metadata()) || IN_CALLBACK.try_with(Cell::get) != Ok(false) {
            return;
        }
        let sink = SINK.read().unwrap_or_else(PoisonError::into_inner);
        let Some(sink) = sink.as_ref().filter(|s| record.level() <= s.max_level) else {
            return;
        };
        let target = c_text(record.target());
        let message = c_text(&record.args().to_string());
        IN_CALLBACK.set(true);
        let _clear = InCallback;
        // SAFETY: the caller of `brp_set_log_callback` guarantees that the
        // function may be called with `user_data` from any thread; the
        // strings outlive the call.
        unsafe {
            (sink.function)(
                sink.user_data,
                record.level() as c_int,
                target.as_ptr(),
                message.as_ptr(),
            );
        }
    }

    fn flush(&self) {}
}

/// `max_level` as a filter, or a failure naming it.
fn level_filter(max_level: c_int) -> Result<LevelFilter, Failure> {
    match max_level {
        0 => Ok(LevelFilter::Off),
        1 => Ok(LevelFilter::Error),
        2 => Ok(LevelFilter::Warn),
        3 => Ok(LevelFilter::Info),
        4 => Ok(LevelFilter::Debug),
        5 => Ok(LevelFilter::Trace),
        _ => Err(Failure::new(
            BrpStatus::InvalidConfig,
            format!("max_level must be 0 (off) to 5 (BRP_LOG_LEVEL_TRACE), got {max_level}"),
        )),
    }
}

/// Sends libbrp's log messages up to `max_level` (a `brp_log_level`:
/// `BRP_LOG_LEVEL_WARN` gives errors and warnings) to `callback`, with
/// `user_data`; a NULL `callback` or `BRP_LOG_LEVEL_OFF` turns logging off
/// (the default: libbrp never prints anything itself). Replaces any callback
/// set before.
///
/// The pose client logs under the target `"brp::pose"`: connecting
/// (DEBUG), connected, connection closed and stopped (INFO), a refused or
/// lost connection with its reason, and malformed, oversize or unappliable
/// frames (WARN), a frame callback that panicked (ERROR). Messages are
/// limited per client to 10 at once, then one per second, per kind of
/// per-frame error and for the connection's messages; each says how many
/// were left out.
///
/// The callback may be called from any thread, several at once: a pose
/// client's network thread, and any thread calling into libbrp (e.g.
/// `brp_pose_client_stop`). It should be quick and must not unwind into
/// the library. It may call libbrp (messages logged meanwhile on its thread
/// are dropped), but not `brp_set_log_callback` (refused with
/// `BRP_STATUS_LOG_UNAVAILABLE`), nor stop or free a pose client (it may
/// run while that client handles a frame).
///
/// Fails with `BRP_STATUS_INVALID_CONFIG` on a `max_level` outside 0 to 5,
/// and with `BRP_STATUS_LOG_UNAVAILABLE` when called from a log callback or
/// when something else in this library (e.g. a game's plugin) installed a
/// `log` logger before the first callback was set.
///
/// Thread safety: callable from any thread. Lifetime: when it returns, no
/// call of the previous callback is running or will start, so its
/// `user_data` may be freed; `user_data` must stay valid until then.
///
/// # Safety
/// `callback` is NULL or a function that may be called as described, with
/// `user_data`, from any thread, concurrently.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn brp_set_log_callback(
    callback: BrpLogCallback,
    user_data: *mut c_void,
    max_level: c_int,
) -> BrpStatus {
    call("brp_set_log_callback", || {
        let max_level = level_filter(max_level)?;
        if IN_CALLBACK.try_with(Cell::get) != Ok(false) {
            return Err(Failure::new(
                BrpStatus::LogUnavailable,
                "called from a log callback",
            ));
        }
        let sink = callback
            .filter(|_| max_level != LevelFilter::Off)
            .map(|function| Sink {
                function,
                user_data,
                max_level,
            });
        let installed = if sink.is_some() {
            *INSTALLED.get_or_init(|| log::set_logger(&FORWARDER).is_ok())
        } else {
            INSTALLED.get() == Some(&true)
        };
        if sink.is_some() && !installed {
            return Err(Failure::new(
                BrpStatus::LogUnavailable,
                "another log::Log logger is installed in this library",
            ));
        }
        // Waits for the running calls of the previous callback.
        let level = if sink.is_some() {
            max_level
        } else {
            LevelFilter::Off
        };
        *SINK.write().unwrap_or_else(PoisonError::into_inner) = sink;
        if installed {
            log::set_max_level(level);
        }
        Ok(())
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::ffi::CStr;
    use std::sync::Mutex;

    /// What the test callback received: level, target, message; and the
    /// status of its own `brp_set_log_callback`.
    type Received = Mutex<Vec<(c_int, String, String, BrpStatus)>>;

    unsafe extern "C" fn record(
        user_data: *mut c_void,
        level: c_int,
        target: *const c_char,
        message: *const c_char,
    ) {
        // SAFETY: the test passes a `Received` that outlives the callback,
        // and libbrp passes two NUL-terminated strings.
        let (received, target, message) = unsafe {
            (
                &*user_data.cast::<Received>(),
                CStr::from_ptr(target).to_string_lossy().into_owned(),
                CStr::from_ptr(message).to_string_lossy().into_owned(),
            )
        };
        // A nested call is refused, not deadlocked.
        // SAFETY: a NULL callback.
        let nested = unsafe { brp_set_log_callback(None, std::ptr::null_mut(), 0) };
        log::warn!(target: "brp::test", "logged from the callback: dropped");
        received
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .push((level, target, message, nested));
    }

    /// The only test that sets the callback: `log` has one logger per
    /// binary, for every test.
    #[test]
    fn records_of_brp_targets_reach_the_callback_up_to_its_level() {
        let received: Received = Mutex::new(Vec::new());
        let user_data = std::ptr::from_ref(&received).cast_mut().cast();
        // SAFETY: `record` with a `Received` that outlives the callback (it
        // is cleared below).
        let status = unsafe { brp_set_log_callback(Some(record), user_data, 3) };
        assert_eq!(status, BrpStatus::Ok);
        log::info!(target: "brp::pose", "one\0two");
        log::debug!(target: "brp::pose", "too detailed");
        log::warn!(target: "brp", "the root");
        log::error!(target: "brpx", "not libbrp's");
        log::error!(target: "tungstenite", "not libbrp's either");
        // SAFETY: a NULL callback.
        let status = unsafe { brp_set_log_callback(None, std::ptr::null_mut(), 5) };
        assert_eq!(status, BrpStatus::Ok);
        log::error!(target: "brp::pose", "after clearing");
        let got = received
            .into_inner()
            .unwrap_or_else(PoisonError::into_inner);
        let refused = BrpStatus::LogUnavailable;
        let expected = [
            (3, "brp::pose".to_owned(), "one\\0two".to_owned(), refused),
            (2, "brp".to_owned(), "the root".to_owned(), refused),
        ];
        assert_eq!(got, expected);

        for bad in [-1, 6] {
            // SAFETY: a NULL callback.
            let status = unsafe { brp_set_log_callback(None, std::ptr::null_mut(), bad) };
            assert_eq!(status, BrpStatus::InvalidConfig);
        }
    }
}
