//! Pose streaming: `brp_pose_push` (in-process frames) and `brp_pose_client`
//! (a WebSocket client of a pose controller).

use crate::app::BrpApp;
use crate::boundary::{Failure, Handle, Out, call, free, handle, text};
use crate::status::BrpStatus;
use crate::string::into_c;
use brp::pose::{ClientConfig, FrameEvent, FrameObserver, PoseClient, Target};
use std::ffi::{CString, c_char, c_void};
use std::sync::Arc;

/// A pose client streaming poses from a controller's WebSocket server into
/// a world. Opaque: made by `brp_pose_client_start`, freed by
/// `brp_pose_client_free`.
///
/// Thread safety: every function taking a `const brp_pose_client *` may be
/// called from any number of threads at once.
pub struct BrpPoseClient {
    /// Shared by every thread without a lock of its own: stopping waits for
    /// the callback, which may read the stats meanwhile (so no lock may be
    /// held while stopping that reading the stats needs).
    client: PoseClient,
}

impl Handle for BrpPoseClient {
    fn release(&self) {
        self.client.stop();
    }
}

/// A core error as a failure with `status`, keeping its code.
fn failure(status: BrpStatus, error: &brp::BrpError) -> Failure {
    Failure::new(status, error.to_string())
}

/// Decodes `bytes` (`len` bytes) as a controller's frame, a FlatBuffers
/// `DetectionMessage` or its JSON text, and applies it to the world at once,
/// exactly as a pose client applies the frames it receives: a pose replaces
/// the target's `PoseLandmarks` component (waking parked POLLs), `Empty`
/// removes it and adds `PoseNotDetected`.
///
/// `target_json` picks the entity: NULL, `""` or `"null"` for the default
/// `{"name": "Player"}` (the first entity with that `Name`, spawned if
/// none), or `{"entity": "3v0"}`. Fails with `BRP_STATUS_INVALID_CONFIG` on
/// a malformed target and with `BRP_STATUS_POSE_REJECTED` on a malformed
/// frame (`BRP_ERROR_INVALID_PARAMS`, also for a landmark value beyond
/// `float`) or a target entity that does not exist or that requests do not
/// see, such as the world's own `0v0` (`BRP_ERROR_ENTITY_NOT_FOUND`); the
/// message carries the BRP error code and the world is then unchanged.
///
/// Thread safety: callable from any thread, concurrently with requests.
/// Ownership: `target_json` and `bytes` are only read during the call.
///
/// # Safety
/// `app` is NULL or a live handle from `brp_app_new`; `target_json` is NULL
/// or a NUL-terminated string; `bytes` is NULL or valid for reads of `len`
/// bytes.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn brp_pose_push(
    app: *const BrpApp,
    target_json: *const c_char,
    bytes: *const u8,
    len: usize,
) -> BrpStatus {
    call("brp_pose_push", || {
        // SAFETY: guaranteed by the caller.
        let app = unsafe { handle(app, "app") }?;
        let target = if target_json.is_null() {
            ""
        } else {
            // SAFETY: guaranteed by the caller.
            unsafe { text(target_json, "target_json") }?
        };
        if bytes.is_null() {
            return Err(Failure::new(BrpStatus::NullArgument, "bytes is NULL"));
        }
        // SAFETY: non-NULL, and the caller guarantees `len` readable bytes.
        let bytes = unsafe { std::slice::from_raw_parts(bytes, len) };
        let target = Target::from_json(target).map_err(|e| Failure::config(&e))?;
        brp::pose::push_frame(app.app(), &target, bytes)
            .map_err(|e| failure(BrpStatus::PoseRejected, &e))
    })
}

/// Starts a pose client on `app`'s world and writes its handle to
/// `*out_client`. It registers the pose components, then connects to the
/// controller in the background (on a thread of its own) and applies every
/// pose it receives; connection failures are retried and reported in
/// `brp_pose_client_stats`, never here.
///
/// `config_json` is the client's configuration (docs/pose.md), e.g.
/// `{"url": "ws://127.0.0.1:9000", "target": {"name": "Player"},
/// "reconnect": true}`. Fails with `BRP_STATUS_INVALID_CONFIG` on malformed
/// JSON, an unknown field, or a setting that can never work (bad URL,
/// header or CA certificate).
///
/// Thread safety: callable from any thread. Ownership: the caller owns the
/// client and frees it with `brp_pose_client_free`; `config_json` is only
/// read during the call. Lifetime: the client keeps the world alive, so it
/// may outlive `app`'s handle. `*out_client` is written only on success.
///
/// # Safety
/// `app` is NULL or a live handle from `brp_app_new`; `config_json` is NULL
/// or a NUL-terminated string; `out_client` is NULL or valid for a write.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn brp_pose_client_start(
    app: *const BrpApp,
    config_json: *const c_char,
    out_client: *mut *mut BrpPoseClient,
) -> BrpStatus {
    call("brp_pose_client_start", || {
        // SAFETY: guaranteed by the caller.
        unsafe { start(app, config_json, None, out_client) }
    })
}

/// Is told about each frame a pose client applies: called with `user_data`
/// as given to `brp_pose_client_start_with_callback` and the frame's JSON
/// text, valid only during the call (copy it to keep it; never free it):
/// `{"detected": true, "sequence": 7, "timestamp": 1.5, "capture_time_ns":
/// 1700000000000000000, "latency_ms": 3.2}` (`detected` is false for
/// `Empty`; the other fields are null when the frame did not carry them).
pub type BrpPoseCallback =
    Option<unsafe extern "C" fn(user_data: *mut c_void, event_json: *const c_char)>;

/// A C pose callback and its `user_data`, callable from the client's thread.
struct PoseCallback {
    function: unsafe extern "C" fn(*mut c_void, *const c_char),
    user_data: *mut c_void,
}

// SAFETY: `brp_pose_client_start_with_callback`'s caller guarantees that
// the callback may be called with `user_data` from the client's thread.
unsafe impl Send for PoseCallback {}
// SAFETY: as above; the client calls it from one thread at a time.
unsafe impl Sync for PoseCallback {}

impl PoseCallback {
    fn call(&self, event: &FrameEvent) {
        // Numbers, booleans and nulls: neither step fails in practice.
        let text = serde_json::to_string(event)
            .ok()
            .and_then(|t| CString::new(t).ok());
        let Some(text) = text else { return };
        // SAFETY: the caller of `brp_pose_client_start_with_callback`
        // guarantees the function may be called with `user_data`; the text
        // outlives the call.
        unsafe { (self.function)(self.user_data, text.as_ptr()) }
    }
}

/// As `brp_pose_client_start`, and calls `callback` once per applied frame,
/// in order, with `user_data` and the frame's JSON (see `brp_pose_callback`).
/// A NULL `callback` is no callback.
///
/// The callback runs on the client's network thread, after the world's lock
/// is released, so it may make any `brp_*` call (requests, stats) except
/// `brp_pose_client_stop` or `brp_pose_client_free` of its own client (they
/// wait for it). No frame is received while it runs, so it should be quick.
/// It must not unwind (a C++ exception) into the library.
///
/// Thread safety: callable from any thread. Lifetime: `user_data` must stay
/// valid until `brp_pose_client_stop` or `brp_pose_client_free` of this
/// client returns; no callback runs after that.
///
/// # Safety
/// As `brp_pose_client_start`; `callback` is NULL or a function that may be
/// called as described, with `user_data`, from another thread.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn brp_pose_client_start_with_callback(
    app: *const BrpApp,
    config_json: *const c_char,
    callback: BrpPoseCallback,
    user_data: *mut c_void,
    out_client: *mut *mut BrpPoseClient,
) -> BrpStatus {
    call("brp_pose_client_start_with_callback", || {
        let observer = callback.map(|function| {
            let callback = PoseCallback {
                function,
                user_data,
            };
            Arc::new(move |event: &FrameEvent| callback.call(event)) as FrameObserver
        });
        // SAFETY: guaranteed by the caller.
        unsafe { start(app, config_json, observer, out_client) }
    })
}

/// The body of both start functions.
///
/// # Safety
/// As `brp_pose_client_start`.
unsafe fn start(
    app: *const BrpApp,
    config_json: *const c_char,
    observer: Option<FrameObserver>,
    out_client: *mut *mut BrpPoseClient,
) -> Result<(), Failure> {
    // SAFETY: guaranteed by the caller.
    let (app, config, out) = unsafe {
        (
            handle(app, "app")?,
            text(config_json, "config_json")?,
            Out::new(out_client, "out_client")?,
        )
    };
    let config = ClientConfig::from_json(config).map_err(|e| Failure::config(&e))?;
    let started = match observer {
        Some(observer) => PoseClient::start_with_observer(app.app(), config, observer),
        None => PoseClient::start(app.app(), config),
    };
    let client = started.map_err(|e| Failure::starting(&e, BrpStatus::Internal))?;
    out.give(BrpPoseClient { client });
    Ok(())
}

/// Writes the client's statistics as of now, as JSON text, to
/// `*out_json`: `state` (`"connecting"`, `"connected"`, `"waiting"`,
/// `"stopped"`), `connections`, `reconnects`, `frames_received`,
/// `frames_applied`, `frames_dropped`, `decode_errors`, `oversize_frames`,
/// `apply_errors`, `idle_timeouts`, `last_error`, `pose_age_ms`,
/// `arrival_fps`, `arrival_jitter_ms`, `latency_ms`, `latency_mean_ms`
/// (docs/pose.md).
///
/// Thread safety: callable from any thread, including the client's own
/// `brp_pose_callback` while another thread stops the client (it never
/// waits for the stop), and after stop (the state is then `"stopped"`).
/// Ownership: the caller owns the text and frees it with `brp_string_free`.
/// `*out_json` is written only on success.
///
/// # Safety
/// `client` is NULL or a live handle from `brp_pose_client_start`;
/// `out_json` is NULL or valid for a write.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn brp_pose_client_stats(
    client: *const BrpPoseClient,
    out_json: *mut *mut c_char,
) -> BrpStatus {
    call("brp_pose_client_stats", || {
        // SAFETY: guaranteed by the caller.
        let (client, out) = unsafe { (handle(client, "client")?, Out::new(out_json, "out_json")?) };
        let stats = client.client.stats();
        let json = serde_json::to_string(&stats)
            .map_err(|e| Failure::new(BrpStatus::Internal, format!("cannot write stats: {e}")))?;
        out.write(into_c(json)?);
        Ok(())
    })
}

/// Disconnects and stops the client; no pose applies and no callback runs
/// after this returns, and its statistics then say `"stopped"`. Stopping
/// again does nothing.
///
/// Waits for a pose being applied, which takes the world's lock: it must
/// not be called from code running under that lock (no `brp_*` callback
/// does).
///
/// Thread safety: callable from any thread, including a session callback,
/// but not from the client's own `brp_pose_callback`. Holds no lock while it
/// waits, so that callback may meanwhile call `brp_pose_client_stats` (and
/// any other thread anything but `brp_pose_client_free`).
///
/// # Safety
/// `client` is NULL or a live handle from `brp_pose_client_start`.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn brp_pose_client_stop(client: *const BrpPoseClient) -> BrpStatus {
    call("brp_pose_client_stop", || {
        // SAFETY: guaranteed by the caller.
        let client = unsafe { handle(client, "client") }?;
        client.client.stop();
        Ok(())
    })
}

/// Stops (as `brp_pose_client_stop`) and frees a pose client. NULL is
/// accepted and ignored.
///
/// Thread safety: no other thread may use this handle during or after the
/// call.
///
/// # Safety
/// `client` is NULL or a handle from `brp_pose_client_start` not yet
/// freed; it must not be used afterwards.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn brp_pose_client_free(client: *mut BrpPoseClient) {
    // SAFETY: guaranteed by the caller.
    unsafe { free("brp_pose_client_free", client) }
}
