//! cargo-fuzz target `wire_decode`: see `fuzz/harness/wire.rs` for the input and the invariants.
#![no_main]

#[allow(dead_code)]
#[path = "../harness/wire.rs"]
mod harness;

libfuzzer_sys::fuzz_target!(|data: &[u8]| harness::wire_decode(data));
