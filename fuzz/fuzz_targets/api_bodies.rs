//! cargo-fuzz target `api_bodies`: see `fuzz/harness/api.rs` for the input and the invariants.
#![no_main]

#[allow(dead_code)]
#[path = "../harness/api.rs"]
mod harness;

libfuzzer_sys::fuzz_target!(|data: &[u8]| harness::api_bodies(data));
