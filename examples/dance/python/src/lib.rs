//! `dance._native`, the native module of the `dance` wheel: libbrp's module
//! whose apps play the dance game.

brp_python::module!(|app| {
    app.add_plugins(dance_game::DancePlugin);
});
