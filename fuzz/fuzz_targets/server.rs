//! Raw bytes (HTTP requests, upgrades, WebSocket frames) over loopback TCP
//! to one process-wide server, in chunks the first byte picks.
#![no_main]

libfuzzer_sys::fuzz_target!(|data: &[u8]| brp_fuzz::server::connection(data));
