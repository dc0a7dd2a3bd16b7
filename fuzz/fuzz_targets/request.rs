//! Request text, one request per line, through `Host::respond` on two apps.
#![no_main]

libfuzzer_sys::fuzz_target!(|data: &[u8]| brp_fuzz::requests::app_requests(data));
