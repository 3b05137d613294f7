//! The fuzz targets of the sync core, replayed on stable in CI: every committed seed and crasher
//! of `wire_decode` and `session_sequence` (see `fuzz/`, `scripts/fuzz.sh`) plus mutations of the
//! seeds, asserting no panic and clean errors (the invariants are in `fuzz/harness/`).
//! `cargo test -p yikou-sync --test fuzz_regressions -- --ignored write_fuzz_seeds` rewrites the seeds.

#[path = "../../fuzz/harness/replay.rs"]
mod replay;
#[path = "../../fuzz/harness/session.rs"]
mod session_harness;
#[path = "../../fuzz/harness/wire.rs"]
mod wire_harness;

use yikou_sync::wire::{self, Data, Hello, Offer, RangeFp, ReconQuery, ReconReply, Want, WantDoc};
use yikou_sync::{Cursor, DocData, DocHeads, Hash, Message, Refusal};

#[test]
fn wire_decode_seeds_and_regressions_decode_cleanly() {
    let (seeds, _) = replay::replay("wire_decode", wire_harness::wire_decode, true);
    assert!(seeds >= 5, "the seed corpus of wire_decode is missing");
}

#[test]
fn session_sequence_seeds_and_regressions_keep_the_invariants() {
    let (seeds, _) = replay::replay("session_sequence", session_harness::session_sequence, true);
    assert!(seeds >= 3, "the seed corpus of session_sequence is missing");
}

#[test]
fn bad_frames_are_clean_errors() {
    // A header announcing more than the limit, unknown flags, garbage deflate, a truncated payload.
    for bytes in [
        &[0xff, 0xff, 0xff, 0xff, 0][..],
        &[0, 0, 0, 1, 0x80, 0],
        &[0, 0, 0, 3, 1, 0xde, 0xad, 0xbe],
        &[0, 0, 0, 9, 0, 3],
    ] {
        wire_harness::wire_decode(bytes);
    }
}

fn messages() -> Vec<(&'static str, Message)> {
    let h = |i: u8| Hash([i; 32]);
    let doc = |d: &str| DocHeads { doc: d.into(), heads: vec![h(1), h(2)], scope: Some("410184001".into()) };
    let range =
        |lo: &str, hi: Option<&str>| RangeFp { lo: lo.into(), hi: hi.map(Into::into), count: 3, fp: [7; 16] };
    vec![
        (
            "hello",
            Message::Hello(Hello {
                version_min: 1,
                version_max: 1,
                node: "town-a".into(),
                epoch: [3; 16],
                feed_seq: 42,
                docs: 40,
                resume: Some(Cursor { epoch: [4; 16], seq: 17 }),
            }),
        ),
        ("refuse", Message::Refuse(Refusal { code: "protocol".into(), reason: "对端违反同步协议".into() })),
        ("subscribe", Message::Subscribe { from: 9 }),
        (
            "offer",
            Message::Offer(Offer { batch: 1, upto: Some(12), head: 40, docs: vec![doc("a"), doc("b")] }),
        ),
        (
            "want",
            Message::Want(Want {
                batch: 1,
                docs: vec![WantDoc { idx: 0, have: vec![h(1)] }, WantDoc { idx: 1, have: vec![] }],
            }),
        ),
        (
            "data",
            Message::Data(Data {
                batch: 1,
                last: true,
                docs: vec![DocData { idx: 0, whole: false, bytes: vec![0x85, 0x6f, 0x4a, 0x83, 1, 2, 3] }],
            }),
        ),
        (
            "data_deflated",
            Message::Data(Data {
                batch: 2,
                last: false,
                docs: vec![DocData { idx: 3, whole: true, bytes: b"case change ".repeat(100) }],
            }),
        ),
        ("ack", Message::Ack { batch: 3 }),
        ("recon_query", Message::ReconQuery(ReconQuery { id: 1, ranges: vec![range("", None)] })),
        (
            "recon_reply",
            Message::ReconReply(ReconReply { id: 1, ranges: vec![range("", Some("m")), range("m", None)] }),
        ),
    ]
}

/// Session inputs: the operations of `fuzz/harness/session.rs` (setup, then op byte + fields).
fn session_seeds() -> Vec<(&'static str, Vec<u8>)> {
    // setup: limits byte, start documents, checkpoint kind, policy (1: open).
    let hello = |docs: u8, epoch: u8| vec![1, 1, 0, 1, epoch, 0, 10, docs];
    let mut bootstrap = vec![0x05, 0, 0, 1];
    bootstrap.extend(hello(3, 2));
    // Offer in sequence: 2 documents with one head each, upto Some(2), head 10.
    bootstrap.extend([3, 1, 2, 1, 1, 5, 2, 1, 6, 0, 2, 10]);
    // Data for the batch just offered: both documents, one change each, last part.
    bootstrap.extend([5, 1, 2, 0, 1, 5, 0, 1, 1, 1, 6, 0, 1, 1]);
    let mut publisher = vec![0x15, 5, 0, 1];
    publisher.extend(hello(0, 2));
    publisher.extend([2, 0]); // subscribe from 0
    publisher.extend([4, 0, 1, 1, 0, 0]); // want the first offered batch's document 0
    publisher.extend([6, 1]); // ack it
    publisher.extend([10, 3, 9]); // a local write
    publisher.extend([6, 1]);
    let mut recon = vec![0x2a, 6, 1, 7, 1];
    recon.extend(hello(3, 3));
    recon.extend([7, 1, 1, 1, 1, 3, 5, 0]); // the peer's query: one range
    recon.extend([8, 1, 1, 1, 1, 4, 1, 2, 9, 1]); // a reply to our query
    recon.extend([12]); // close
    vec![("bootstrap.bin", bootstrap), ("publisher.bin", publisher), ("reconcile.bin", recon)]
}

#[test]
#[ignore = "writes fuzz/seeds/{wire_decode,session_sequence}; run by hand when the formats change"]
fn write_fuzz_seeds() {
    let mut stream = Vec::new();
    for (name, msg) in messages() {
        let frame = wire::encode(&msg).expect("encodes");
        replay::write_seed("wire_decode", &format!("frame_{name}.bin"), &frame);
        stream.extend_from_slice(&frame);
    }
    replay::write_seed("wire_decode", "stream_all.bin", &stream);
    for (name, bytes) in session_seeds() {
        replay::write_seed("session_sequence", name, &bytes);
    }
}
