//! cargo-fuzz target `calendar_toml`: see `fuzz/harness/schema.rs` for the input and the invariants.
#![no_main]

#[allow(dead_code)]
#[path = "../harness/schema.rs"]
mod harness;

libfuzzer_sys::fuzz_target!(|data: &[u8]| harness::calendar_toml(data));
