//! The dance game's own libbrp, `libdance.so` and `libdance.a`: the C ABI of
//! `include/brp.h`, whose every app plays the dance game
//! ([`dance_game::DancePlugin`]: the Player, its `Score` and `ArmAngles`).
//!
//! `brp_app_new` makes an app with the plugin; the first `brp_app_update`
//! spawns the Player, and each later one scores the poses that landed on it
//! (`brp_pose_push` or a pose client) since the last.

brp_capi::libbrp!(|app| {
    app.add_plugins(dance_game::DancePlugin);
});
