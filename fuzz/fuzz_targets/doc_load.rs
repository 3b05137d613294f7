//! cargo-fuzz target `doc_load`: see `fuzz/harness/doc.rs` for the input and the invariants.
#![no_main]

#[allow(dead_code)]
#[path = "../harness/doc.rs"]
mod harness;

libfuzzer_sys::fuzz_target!(|data: &[u8]| harness::doc_load(data));
