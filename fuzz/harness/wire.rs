//! Fuzz harness `wire_decode`: bytes from a peer → frame headers, payloads and a byte stream
//! (`yikou_sync::wire`). Shared by `fuzz/fuzz_targets/wire_decode.rs` and the stable replay in
//! `sync/tests/fuzz_regressions.rs`. Panics only when an invariant breaks.
//!
//! Invariants: nothing panics; a decoded message keeps every bound (`Message::check`), encodes
//! again and decodes to itself; a stream decoder either yields messages or one clean error.

use yikou_sync::wire::{self, Decoder, FRAME_HEADER_BYTES, Message};

/// Pieces a byte stream is pushed in (a stream read in small reads).
const STREAM_CHUNK_BYTES: usize = 7;

pub fn wire_decode(data: &[u8]) {
    // The input as one payload, plain and deflated.
    for flags in [0, wire::FLAG_DEFLATE] {
        if let Ok(msg) = wire::decode_payload(flags, data) {
            round_trip(&msg);
        }
    }
    // The first bytes as a header (every header is either refused or gives a bounded length).
    if let Some(h) = data.first_chunk::<FRAME_HEADER_BYTES>()
        && let Ok((len, _)) = wire::decode_header(*h)
    {
        assert!(len <= wire::MESSAGE_BYTES_MAX);
    }
    // The input as a stream of frames, arriving in small pieces.
    let mut stream = Decoder::default();
    for chunk in data.chunks(STREAM_CHUNK_BYTES) {
        stream.push(chunk);
        loop {
            match stream.next_message() {
                Ok(Some(msg)) => round_trip(&msg),
                Ok(None) => break,
                Err(e) => {
                    assert!(!e.code().is_empty() && !e.to_string().is_empty());
                    return;
                }
            }
        }
    }
}

fn round_trip(msg: &Message) {
    assert!(msg.check().is_ok(), "a decoded message breaks a bound: {}", msg.kind());
    let frame = match wire::encode(msg) {
        Ok(f) => f,
        Err(e) => panic!("a decoded {} does not encode again: {e}", msg.kind()),
    };
    let mut again = Decoder::default();
    again.push(&frame);
    assert_eq!(again.next_message(), Ok(Some(msg.clone())), "re-encoded message differs");
}
