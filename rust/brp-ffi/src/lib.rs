//! libbrp itself: the C ABI of `include/brp.h` (built by
//! [`brp_capi`]) as `libbrp.so` and `libbrp.a`, whose apps hold the built-in
//! contents and nothing else. A game builds its own libbrp the same way,
//! naming its plugins instead (docs/c-api.md, "Your own libbrp").

brp_capi::libbrp!(|_app| {});
