//! The wire format is a compatibility boundary: every message's encoding is pinned here. A
//! change to any of these bytes needs a protocol version bump and a migration (ARCHITECTURE.md).
#![allow(clippy::unwrap_used)]

use expect_test::{Expect, expect};
use proptest::prelude::*;
use yikou_sync::wire::*;

fn hex(bytes: &[u8]) -> String {
    bytes.iter().map(|b| format!("{b:02x}")).collect()
}

fn check(msg: Message, expected: Expect) {
    let frame = encode(&msg).unwrap();
    expected.assert_eq(&hex(&frame));
    let mut d = Decoder::default();
    d.push(&frame);
    assert_eq!(d.next_message().unwrap(), Some(msg));
}

fn doc() -> DocHeads {
    DocHeads {
        doc: "4101840012603020000 1".replace(' ', ""),
        heads: vec![Hash([7; 32])],
        scope: Some("410184001".into()),
    }
}

#[test]
fn every_message_kind_has_a_pinned_encoding() {
    check(
        Message::Hello(Hello {
            version_min: 1,
            version_max: 1,
            node: "town-a".into(),
            epoch: [1; 16],
            feed_seq: 300,
            docs: 12,
            resume: Some(Cursor { epoch: [2; 16], seq: 77 }),
        }),
        expect![
            "0000002f0000010106746f776e2d6101010101010101010101010101010101ac020c01020202020202020202020202020202024d"
        ],
    );
    let reason = String::from("\u{8bf7}\u{5347}\u{7ea7}");
    check(
        Message::Refuse(Refusal { code: "version_newer".into(), reason }),
        expect!["0000001900010d76657273696f6e5f6e6577657209e8afb7e58d87e7baa7"],
    );
    check(Message::Subscribe { from: 42 }, expect!["0000000200022a"]);
    check(
        Message::Offer(Offer { batch: 3, upto: Some(9), head: 10, docs: vec![doc()] }),
        expect![
            "0000004700030301090a011434313031383430303132363033303230303030310107070707070707070707070707070707070707070707070707070707070707070109343130313834303031"
        ],
    );
    check(
        Message::Want(Want { batch: 3, docs: vec![WantDoc { idx: 0, have: vec![Hash([8; 32])] }] }),
        expect!["000000250004030100010808080808080808080808080808080808080808080808080808080808080808"],
    );
    check(
        Message::Data(Data {
            batch: 3,
            last: true,
            docs: vec![DocData { idx: 0, whole: false, bytes: vec![0x85, 0x6f] }],
        }),
        expect!["000000090005030101000002856f"],
    );
    check(Message::Ack { batch: 3 }, expect!["00000002000603"]);
    let range = RangeFp { lo: "a".into(), hi: Some("m".into()), count: 5, fp: [9; 16] };
    check(
        Message::ReconQuery(ReconQuery { id: 1, ranges: vec![range.clone()] }),
        expect!["0000001900070101016101016d0509090909090909090909090909090909"],
    );
    check(
        Message::ReconReply(ReconReply { id: 1, ranges: vec![range] }),
        expect!["0000001900080101016101016d0509090909090909090909090909090909"],
    );
}

#[test]
fn large_payloads_are_deflated_and_round_trip() {
    let docs = (0..100).map(|i| DocData { idx: i, whole: false, bytes: vec![b'x'; 200] }).collect();
    let msg = Message::Data(Data { batch: 1, last: true, docs });
    let frame = encode(&msg).unwrap();
    assert_eq!(frame[4], FLAG_DEFLATE);
    assert!(frame.len() < 2_000, "{}", frame.len());
    let mut d = Decoder::default();
    d.push(&frame);
    assert_eq!(d.next_message().unwrap(), Some(msg));
}

#[test]
fn oversized_frames_and_broken_bounds_are_refused_before_allocation() {
    let mut header = [0u8; FRAME_HEADER_BYTES];
    header[..4].copy_from_slice(&(MESSAGE_BYTES_MAX as u32 + 1).to_be_bytes());
    assert_eq!(decode_header(header).unwrap_err().code(), "frame_too_large");
    header[..4].copy_from_slice(&1u32.to_be_bytes());
    header[4] = 0x80;
    assert_eq!(decode_header(header).unwrap_err().code(), "frame_flags");
    // An offer of more documents than the bound.
    let docs = (0..=OFFER_DOCS_MAX).map(|_| doc()).collect();
    let payload =
        postcard::to_stdvec(&Message::Offer(Offer { batch: 1, upto: None, head: 0, docs })).unwrap();
    assert_eq!(decode_payload(0, &payload).unwrap_err(), WireError::Bound("offer documents"));
    // A deflate bomb inflating past the limit.
    use std::io::Write;
    let mut z = flate2::write::DeflateEncoder::new(Vec::new(), flate2::Compression::best());
    for _ in 0..(MESSAGE_BYTES_MAX / 65_536 + 2) {
        z.write_all(&[0u8; 65_536]).unwrap();
    }
    let bomb = z.finish().unwrap();
    assert!(matches!(decode_payload(FLAG_DEFLATE, &bomb), Err(WireError::TooLarge(_))));
}

proptest! {
    #[test]
    fn arbitrary_bytes_never_panic_the_decoder(bytes in proptest::collection::vec(any::<u8>(), 0..400), flags in 0u8..2) {
        let _ = decode_payload(flags, &bytes);
        let mut d = Decoder::default();
        d.push(&bytes);
        let _ = d.next_message();
    }
}
