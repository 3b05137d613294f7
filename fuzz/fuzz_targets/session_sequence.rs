//! cargo-fuzz target `session_sequence`: see `fuzz/harness/session.rs` for the input and the invariants.
#![no_main]

#[allow(dead_code)]
#[path = "../harness/session.rs"]
mod harness;

libfuzzer_sys::fuzz_target!(|data: &[u8]| harness::session_sequence(data));
