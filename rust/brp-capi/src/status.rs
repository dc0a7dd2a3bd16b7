//! [`BrpStatus`]: what every fallible call returns.

/// The outcome of a call. `BRP_STATUS_OK` is 0; every other value is a
/// failed call, described by `brp_last_error_message()` on the same thread.
///
/// A BRP *error response* (e.g. an unknown entity) is not a failed call: the
/// call succeeds and its response JSON carries the `"error"` object.
/// Later versions may add values: treat any value other than
/// `BRP_STATUS_OK` as a failure.
#[repr(C)]
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum BrpStatus {
    /// The call succeeded and wrote its out-parameter, if it has one.
    Ok = 0,
    /// A pointer argument was NULL.
    NullArgument = 1,
    /// A string argument was not valid UTF-8.
    InvalidUtf8 = 2,
    /// A configuration JSON was malformed, had an unknown field or an
    /// invalid value: `brp_app_new`'s (or a component it lists cannot be
    /// declared), `brp_pose_client_start`'s, `brp_server_start`'s (or its
    /// address cannot be listened on), or `brp_pose_push`'s target;
    /// or `brp_set_log_callback`'s `max_level` is not a level.
    InvalidConfig = 3,
    /// `brp_app_register_component` rejected the name: not an identifier
    /// (or `::` path of identifiers), reserved, or taken by a Rust type.
    InvalidComponent = 4,
    /// `brp_app_update` failed: a system returned an error or panicked (the
    /// message names it). The world stays usable.
    UpdateFailed = 5,
    /// The library panicked; the panic was caught at the boundary. This is a
    /// bug in libbrp; the handles stay usable.
    Panic = 6,
    /// The library could not hand a result to C (e.g. a response containing
    /// a NUL byte). This is a bug in libbrp.
    Internal = 7,
    /// `brp_session_receive`: no response arrived within the timeout. Not
    /// an error of the session: receive again.
    Timeout = 8,
    /// `brp_session_receive`: the session is closed and every response it
    /// queued has been received.
    Closed = 9,
    /// `brp_pose_push` rejected the frame: malformed (neither a FlatBuffers
    /// `DetectionMessage` nor its JSON form), or its target entity does not
    /// exist. The world is unchanged.
    PoseRejected = 10,
    /// `brp_app_new` could not build the app: one of the library's plugins
    /// panicked while it was built, or was not ready (the message says
    /// which). Nothing was made.
    AppBuildFailed = 11,
    /// `brp_set_log_callback` cannot take the library's log: it was called
    /// from a log callback, or something else in the library (e.g. a game's
    /// plugin) installed a `log` logger first.
    LogUnavailable = 12,
}
