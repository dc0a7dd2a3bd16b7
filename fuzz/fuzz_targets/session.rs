//! Request text, one request per line, through a session's submit/receive.
#![no_main]

libfuzzer_sys::fuzz_target!(|data: &[u8]| brp_fuzz::requests::session_requests(data));
