//! A script of C ABI calls with arbitrary NUL-terminated strings.
#![no_main]

use std::sync::LazyLock;

static ABI: LazyLock<brp_fuzz::ffi::Abi> = LazyLock::new(brp_fuzz::linked::abi);

libfuzzer_sys::fuzz_target!(|data: &[u8]| brp_fuzz::ffi::calls(&ABI, data));
