//! A controller's frame (FlatBuffers or JSON) through `Frame::decode` and
//! `push_frame`.
#![no_main]

libfuzzer_sys::fuzz_target!(|data: &[u8]| brp_fuzz::pose::frames(data));
