//! The protocol core between two in-process peers, with a toy document store: a document is a
//! grow-only set of change hashes (its "heads" are the whole set), which is all the core needs
//! to know of Automerge.
#![allow(clippy::unwrap_used)]

use std::collections::{BTreeMap, BTreeSet};

use yikou_sync::session::Open;
use yikou_sync::wire::{self, WantDoc};
use yikou_sync::*;

#[derive(Default, Clone)]
struct Toy {
    epoch: [u8; 16],
    docs: BTreeMap<String, BTreeSet<[u8; 32]>>,
    feed: BTreeMap<u64, String>,
    at: BTreeMap<String, u64>,
    seq: u64,
    checkpoints: BTreeMap<String, Cursor>,
}

fn ch(i: u64) -> [u8; 32] {
    *blake3::hash(&i.to_le_bytes()).as_bytes()
}

impl Toy {
    fn new(e: u8) -> Toy {
        Toy { epoch: [e; 16], ..Toy::default() }
    }
    fn write(&mut self, doc: &str, change: [u8; 32]) {
        let set = self.docs.entry(doc.to_string()).or_default();
        if set.insert(change) {
            if let Some(old) = self.at.remove(doc) {
                self.feed.remove(&old);
            }
            self.seq += 1;
            self.at.insert(doc.to_string(), self.seq);
            self.feed.insert(self.seq, doc.to_string());
        }
    }
    fn heads(&self, doc: &str) -> Vec<Hash> {
        self.docs.get(doc).map(|s| s.iter().map(|h| Hash(*h)).collect()).unwrap_or_default()
    }
    fn entry(&self, doc: &str) -> DocHeads {
        DocHeads { doc: doc.to_string(), heads: self.heads(doc), scope: None }
    }
    fn serve(&mut self, peer: &str, req: Request) -> Option<Reply> {
        Some(match req {
            Request::ReadFeed { after, limit } => Reply::Feed {
                entries: self.feed.range(after + 1..).take(limit).map(|(s, d)| (*s, self.entry(d))).collect(),
                head: self.seq,
            },
            Request::CheckHave { batch, docs, .. } => Reply::Have {
                batch,
                wants: docs
                    .iter()
                    .enumerate()
                    .filter(|(_, d)| {
                        let mine = self.docs.get(&d.doc);
                        !d.heads.iter().all(|h| mine.is_some_and(|m| m.contains(&h.0)))
                    })
                    .map(|(i, d)| WantDoc { idx: i as u32, have: self.heads(&d.doc) })
                    .collect(),
            },
            Request::ReadChanges { batch, docs } => Reply::Changes {
                batch,
                docs: docs
                    .into_iter()
                    .map(|(idx, doc, have)| {
                        let have: BTreeSet<[u8; 32]> = have.iter().map(|h| h.0).collect();
                        let bytes: Vec<u8> = self.docs[&doc]
                            .iter()
                            .filter(|c| !have.contains(*c))
                            .flatten()
                            .copied()
                            .collect();
                        DocData { idx, whole: have.is_empty(), bytes }
                    })
                    .collect(),
            },
            Request::Apply { batch, docs } => {
                for (doc, data) in docs {
                    for c in data.bytes.chunks(32) {
                        self.write(&doc, c.try_into().unwrap());
                    }
                }
                Reply::Applied { batch, refused: vec![] }
            }
            Request::SaveCheckpoint { peer: p, cursor } => {
                assert_eq!(p, peer);
                self.checkpoints.insert(p, cursor);
                return None;
            }
            Request::ReadSet => Reply::Set { docs: self.docs.keys().map(|d| self.entry(d)).collect() },
        })
    }
    fn session(&self, me: &str, peer: &str) -> Session {
        Session::new(
            SessionConfig {
                node: me.into(),
                peer: peer.into(),
                epoch: self.epoch,
                feed_seq: self.seq,
                docs: self.docs.len() as u64,
                checkpoint: self.checkpoints.get(peer).copied(),
                limits: Limits::default(),
            },
            Box::new(Open),
        )
    }
}

#[derive(Default, Debug)]
struct Traffic {
    messages: usize,
    bytes: usize,
    kinds: BTreeMap<&'static str, usize>,
    events: Vec<Event>,
    closed: Vec<Refusal>,
}

/// Runs both sessions until neither has anything to do. Every message goes through the codec.
fn run(a: &mut Toy, sa: &mut Session, b: &mut Toy, sb: &mut Session) -> Traffic {
    let mut t = Traffic::default();
    loop {
        let mut progress = false;
        for side in 0..2 {
            let (me, s, peer_name, other) = if side == 0 {
                (&mut *a, &mut *sa, "b", &mut *sb)
            } else {
                (&mut *b, &mut *sb, "a", &mut *sa)
            };
            while let Some(o) = s.poll() {
                progress = true;
                match o {
                    Output::Send(m) => {
                        let frame = wire::encode(&m).unwrap();
                        t.messages += 1;
                        t.bytes += frame.len();
                        *t.kinds.entry(m.kind()).or_default() += 1;
                        let mut d = wire::Decoder::default();
                        d.push(&frame);
                        other.handle_message(d.next_message().unwrap().unwrap());
                    }
                    Output::Storage(r) => {
                        if let Some(reply) = me.serve(peer_name, r) {
                            s.handle_reply(reply);
                        }
                        // The node's write watch fires for every write, replicated ones too.
                        s.local_changed(me.seq);
                    }
                    Output::Event(e) => t.events.push(e),
                    Output::Close(r) => t.closed.push(r),
                }
            }
        }
        if !progress {
            return t;
        }
    }
}

fn connect(a: &mut Toy, b: &mut Toy) -> Traffic {
    let mut sa = a.session("a", "b");
    let mut sb = b.session("b", "a");
    let t = run(a, &mut sa, b, &mut sb);
    assert!(t.closed.is_empty(), "{:?}", t.closed);
    assert!(sa.caught_up() && sb.caught_up());
    t
}

fn filled(e: u8, docs: u64) -> Toy {
    let mut t = Toy::new(e);
    for i in 0..docs {
        t.write(&format!("doc{i:07}"), ch(i));
    }
    t
}

#[test]
fn bootstrap_copies_every_document_and_both_record_checkpoints() {
    let mut a = filled(1, 1000);
    let mut b = Toy::new(2);
    connect(&mut a, &mut b);
    assert_eq!(a.docs, b.docs);
    assert_eq!(b.checkpoints["a"], Cursor { epoch: a.epoch, seq: 1000 });
}

#[test]
fn reconnect_with_nothing_changed_costs_the_same_at_any_size() {
    let mut costs = Vec::new();
    for n in [10, 10_000] {
        let mut a = filled(1, n);
        let mut b = Toy::new(2);
        connect(&mut a, &mut b);
        let t = connect(&mut a, &mut b);
        costs.push((t.messages, t.bytes));
        assert_eq!(t.kinds.get("offer"), None, "{:?}", t.kinds);
        // Each side learns from the other's hello that nothing is behind.
        let held = t.events.iter().filter(|e| matches!(e, Event::PeerAcked { upto: Some(_) })).count();
        assert_eq!(held, 2, "{:?}", t.events);
    }
    assert_eq!(costs[0].0, costs[1].0, "{costs:?}");
    assert_eq!(costs[0].0, 2, "two hellos: each names its checkpoint in the other's feed");
    assert!(costs[1].1 < 300, "{costs:?}");
}

#[test]
fn catch_up_offers_only_what_changed_and_merges_both_ways() {
    let mut a = filled(1, 5_000);
    let mut b = Toy::new(2);
    connect(&mut a, &mut b);
    for i in 0..30 {
        a.write(&format!("doc{i:07}"), ch(100_000 + i));
    }
    for i in 20..40 {
        b.write(&format!("doc{i:07}"), ch(200_000 + i));
    }
    b.write("new-at-b", ch(7));
    let t = connect(&mut a, &mut b);
    assert_eq!(a.docs, b.docs);
    // Each side offers only its changed documents (b also re-offers nothing it got from a).
    let offered: usize = t
        .events
        .iter()
        .filter_map(|e| match e {
            Event::Applied { docs, .. } => Some(*docs),
            _ => None,
        })
        .sum();
    assert_eq!(offered, 30 + 21);
}

#[test]
fn a_new_epoch_is_reconciled_in_few_round_trips_not_by_listing() {
    let mut a = filled(1, 20_000);
    let mut b = Toy::new(2);
    connect(&mut a, &mut b);
    // a's store is restored from a backup: new epoch, and three documents differ.
    a.epoch = [9; 16];
    for i in [5u64, 9_999, 19_998] {
        a.write(&format!("doc{i:07}"), ch(500_000 + i));
    }
    let t = connect(&mut a, &mut b);
    assert_eq!(a.docs, b.docs);
    assert!(t.kinds["recon_query"] <= 8, "{:?}", t.kinds);
    assert!(t.bytes < 40_000, "{} bytes for 3 differences among 20,000", t.bytes);
    assert_eq!(b.checkpoints["a"].epoch, [9; 16]);
}

#[test]
fn a_newer_protocol_or_a_false_name_is_refused_with_a_reason() {
    let a = Toy::new(1);
    let mut s = a.session("a", "b");
    while s.poll().is_some() {}
    s.handle_message(Message::Hello(wire::Hello {
        version_min: 2,
        version_max: 3,
        node: "b".into(),
        epoch: [0; 16],
        feed_seq: 0,
        docs: 0,
        resume: None,
    }));
    let out: Vec<Output> = std::iter::from_fn(|| s.poll()).collect();
    assert!(
        matches!(&out[..], [Output::Send(Message::Refuse(r)), Output::Close(_)] if r.code == "version_newer"),
        "{out:?}"
    );
    let mut s = a.session("a", "b");
    s.handle_message(Message::Hello(wire::Hello {
        version_min: 1,
        version_max: 1,
        node: "c".into(),
        epoch: [0; 16],
        feed_seq: 0,
        docs: 0,
        resume: None,
    }));
    assert!(
        std::iter::from_fn(|| s.poll())
            .any(|o| matches!(o, Output::Close(r) if r.code == "identity_mismatch"))
    );
}

#[test]
fn messages_out_of_order_close_the_session_without_panicking() {
    let a = Toy::new(1);
    let mut s = a.session("a", "b");
    s.handle_message(Message::Ack { batch: 1 });
    assert!(s.is_closed());
    let mut s = a.session("a", "b");
    hello_from_b(&mut s);
    s.handle_message(Message::Data(wire::Data { batch: 4, last: true, docs: vec![] }));
    assert!(s.is_closed());
    assert!(std::iter::from_fn(|| s.poll()).any(|o| matches!(o, Output::Close(r) if r.code == "protocol")));
}

#[test]
fn a_flood_of_reconciliation_queries_is_refused_at_its_bound() {
    use yikou_sync::session::RECON_QUERIES_WAITING_MAX;
    let a = Toy::new(1);
    let mut s = a.session("a", "b");
    hello_from_b(&mut s);
    let q = |id| Message::ReconQuery(wire::ReconQuery { id, ranges: vec![] });
    for id in 0..RECON_QUERIES_WAITING_MAX as u64 {
        s.handle_message(q(id));
    }
    assert!(!s.is_closed(), "up to the bound the queries wait for this node's set");
    s.handle_message(q(u64::MAX));
    assert!(s.is_closed());
}

fn hello_from_b(s: &mut Session) {
    s.handle_message(Message::Hello(wire::Hello {
        version_min: 1,
        version_max: 1,
        node: "b".into(),
        epoch: [0; 16],
        feed_seq: 10,
        docs: 0,
        resume: None,
    }));
}

fn offer(batch: u64, docs: &[&str]) -> Message {
    let docs = docs
        .iter()
        .map(|d| DocHeads { doc: d.to_string(), heads: vec![Hash([1; 32])], scope: None })
        .collect();
    Message::Offer(wire::Offer { batch, upto: Some(batch), head: 10, docs })
}

fn saved_checkpoint(s: &mut Session) -> bool {
    // (A bootstrap records position 0 at once: that claims nothing.)
    std::iter::from_fn(|| s.poll())
        .any(|o| matches!(o, Output::Storage(Request::SaveCheckpoint { cursor, .. }) if cursor.seq > 0))
}

#[test]
fn an_offer_out_of_sequence_closes_the_session_before_any_checkpoint_moves() {
    // Found by the simulation (seed 1765 with swapped messages): acknowledging batch 2 before
    // batch 1 had moved the checkpoint over batch 1's documents.
    let a = Toy::new(1);
    let mut s = a.session("a", "b");
    hello_from_b(&mut s);
    s.handle_message(offer(2, &[]));
    assert!(s.is_closed());
    assert!(!saved_checkpoint(&mut s));
}

#[test]
fn a_last_data_part_missing_a_wanted_document_closes_the_session() {
    // Found by the simulation (seed 2603): the last part arriving first completed the batch.
    let a = Toy::new(1);
    let mut s = a.session("a", "b");
    hello_from_b(&mut s);
    s.handle_message(offer(1, &["x", "y"]));
    while s.poll().is_some() {}
    s.handle_reply(Reply::Have {
        batch: 1,
        wants: vec![WantDoc { idx: 0, have: vec![] }, WantDoc { idx: 1, have: vec![] }],
    });
    while s.poll().is_some() {}
    let part = |idx, last| {
        Message::Data(wire::Data { batch: 1, last, docs: vec![DocData { idx, whole: true, bytes: vec![1] }] })
    };
    s.handle_message(part(1, true));
    assert!(s.is_closed());
    assert!(!saved_checkpoint(&mut s));
    // In order, the same parts complete the batch.
    let mut s = a.session("a", "b");
    hello_from_b(&mut s);
    s.handle_message(offer(1, &["x", "y"]));
    while s.poll().is_some() {}
    s.handle_reply(Reply::Have {
        batch: 1,
        wants: vec![WantDoc { idx: 0, have: vec![] }, WantDoc { idx: 1, have: vec![] }],
    });
    s.handle_message(part(0, false));
    s.handle_message(part(1, true));
    assert!(!s.is_closed());
    assert!(std::iter::from_fn(|| s.poll()).any(|o| matches!(o, Output::Storage(Request::Apply { .. }))));
}
