//! Fuzz harness `session_sequence`: an arbitrary sequence of peer messages and local writes into
//! one `yikou_sync::Session`, its storage requests answered by a small in-memory store (the toy
//! of `sync/tests/session.rs`: a document is a set of 32-byte changes, its heads the whole set).
//! Shared by `fuzz/fuzz_targets/session_sequence.rs` and `sync/tests/fuzz_regressions.rs`.
//!
//! The input is read as operations (one byte picks the operation, the next bytes its fields);
//! besides raw postcard messages the fuzzer can build well-formed ones, with batch numbers it
//! can keep in sequence, to reach deep states of the protocol.
//!
//! Invariants checked after every operation: nothing panics; the outputs of one input are
//! bounded; every message sent keeps the wire bounds and encodes; offers respect the session's
//! limits and window; `Close` is the last output ever; storage replies stay in order.

use std::collections::{BTreeMap, BTreeSet};

use yikou_sync::session::Open;
use yikou_sync::wire::{self, Data, Hello, Offer, RangeFp, ReconQuery, ReconReply, Want, WantDoc};
use yikou_sync::{
    Cursor, DocData, DocHeads, Event, Hash, Limits, Message, Output, Policy, Refusal, Reply, Request,
    Session, SessionConfig,
};

/// Outputs one input may cause at most (a livelock or an unbounded answer breaks it).
const OUTPUTS_PER_STEP_MAX: usize = 20_000;
/// Operations read from one fuzz input at most.
const OPS_MAX: usize = 256;
/// Documents the toy store starts with at most.
const START_DOCS_MAX: u64 = 24;
/// Documents named by generated messages: `d0`..`d11` (some the store holds, some not).
const DOC_POOL: u64 = 12;
/// Bytes of one change in the toy store.
const CHANGE_BYTES: usize = 32;

fn ch(i: u64) -> [u8; CHANGE_BYTES] {
    *blake3::hash(&i.to_le_bytes()).as_bytes()
}

/// The fuzz input, read front to back; reads past the end give zeros.
struct Input<'a>(&'a [u8]);

impl Input<'_> {
    fn byte(&mut self) -> u8 {
        match self.0.split_first() {
            Some((b, rest)) => {
                self.0 = rest;
                *b
            }
            None => 0,
        }
    }
    fn take(&mut self, n: usize) -> &[u8] {
        let (head, rest) = self.0.split_at(n.min(self.0.len()));
        self.0 = rest;
        head
    }
    fn u64(&mut self) -> u64 {
        u64::from(self.byte())
    }
    fn bit(&mut self) -> bool {
        self.byte() & 1 == 1
    }
    fn is_empty(&self) -> bool {
        self.0.is_empty()
    }
}

#[derive(Default)]
struct Toy {
    epoch: [u8; 16],
    docs: BTreeMap<String, BTreeSet<[u8; CHANGE_BYTES]>>,
    feed: BTreeMap<u64, String>,
    at: BTreeMap<String, u64>,
    seq: u64,
    checkpoint: Option<Cursor>,
}

impl Toy {
    fn write(&mut self, doc: &str, change: [u8; CHANGE_BYTES]) {
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
        let scope = doc.ends_with('7').then(|| "secret".to_string());
        DocHeads { doc: doc.to_string(), heads: self.heads(doc), scope }
    }
    fn serve(&mut self, peer: &str, req: Request) -> Option<Reply> {
        Some(match req {
            Request::ReadFeed { after, limit } => Reply::Feed {
                entries: self
                    .feed
                    .range(after.saturating_add(1)..)
                    .take(limit)
                    .map(|(s, d)| (*s, self.entry(d)))
                    .collect(),
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
                        let have: BTreeSet<[u8; CHANGE_BYTES]> = have.iter().map(|h| h.0).collect();
                        let bytes: Vec<u8> = self
                            .docs
                            .get(&doc)
                            .into_iter()
                            .flatten()
                            .filter(|c| !have.contains(*c))
                            .flatten()
                            .copied()
                            .collect();
                        DocData { idx, whole: have.is_empty(), bytes }
                    })
                    .collect(),
            },
            Request::Apply { batch, docs } => {
                let mut refused = Vec::new();
                for (doc, data) in docs {
                    if data.bytes.len() % CHANGE_BYTES != 0 {
                        refused.push((doc, "changes of a wrong length".to_string()));
                        continue;
                    }
                    for c in data.bytes.chunks_exact(CHANGE_BYTES) {
                        let mut change = [0u8; CHANGE_BYTES];
                        change.copy_from_slice(c);
                        self.write(&doc, change);
                    }
                }
                Reply::Applied { batch, refused }
            }
            Request::SaveCheckpoint { peer: p, cursor } => {
                assert_eq!(p, peer, "a checkpoint saved for another peer");
                self.checkpoint = Some(cursor);
                return None;
            }
            Request::ReadSet => Reply::Set { docs: self.docs.keys().map(|d| self.entry(d)).collect() },
        })
    }
}

/// Refuses documents whose scope is `secret` both ways (to reach the policy's branches).
struct NoSecrets;

impl Policy for NoSecrets {
    fn may_send(&self, _: &str, scope: Option<&str>) -> bool {
        scope != Some("secret")
    }
    fn may_accept(&self, _: &str, scope: Option<&str>) -> bool {
        scope != Some("secret")
    }
}

/// The harness's view of the session, to check its outputs.
struct Driver {
    session: Session,
    store: Toy,
    limits: Limits,
    closed: bool,
    /// Batch numbers of this node's offers (the fuzzer may answer them correctly).
    offered: Vec<(u64, usize)>,
    /// The next batch number the peer should use.
    next_in_batch: u64,
    recon_ids: Vec<u64>,
    /// The peer sent a refusal: the session closes with the peer's code, whatever it is.
    peer_refused: bool,
}

impl Driver {
    /// Polls every output, answering storage requests, and checks the invariants.
    fn drain(&mut self) {
        let mut outputs = 0usize;
        while let Some(out) = self.session.poll() {
            outputs += 1;
            assert!(outputs <= OUTPUTS_PER_STEP_MAX, "one input caused over {OUTPUTS_PER_STEP_MAX} outputs");
            assert!(!self.closed, "output after Close: {out:?}");
            match out {
                Output::Send(msg) => self.sent(msg),
                Output::Storage(req) => {
                    if let Some(reply) = self.store.serve("b", req) {
                        self.session.handle_reply(reply);
                    }
                }
                Output::Event(e) => {
                    if let Event::Applied { refused, .. } = &e {
                        assert!(refused.iter().all(|(d, why)| !d.is_empty() || !why.is_empty()));
                    }
                }
                Output::Close(r) => {
                    assert!(self.peer_refused || !r.code.is_empty(), "this side closed without a code");
                    self.closed = true;
                }
            }
        }
        assert!(self.session.batches_in_flight() <= self.limits.batches_in_flight_max.max(1));
        assert_eq!(self.session.is_closed(), self.closed, "closed state and Close output disagree");
    }

    fn sent(&mut self, msg: Message) {
        if let Err(e) = msg.check() {
            panic!("sent a {} that breaks a bound: {e}", msg.kind());
        }
        if let Err(e) = wire::encode(&msg) {
            panic!("sent a {} that does not encode: {e}", msg.kind());
        }
        match &msg {
            Message::Offer(o) => {
                assert!(o.docs.len() <= self.limits.offer_docs_max.max(1), "offer over the limit");
                self.offered.push((o.batch, o.docs.len()));
            }
            Message::Data(d) => {
                let bytes: usize = d.docs.iter().map(|x| x.bytes.len()).sum();
                assert!(
                    d.docs.len() <= 1 || bytes <= self.limits.data_part_bytes_max,
                    "data part of {bytes} bytes over the limit"
                );
            }
            Message::ReconQuery(q) => self.recon_ids.push(q.id),
            _ => {}
        }
    }
}

fn doc_name(i: u64) -> String {
    format!("d{}", i % DOC_POOL)
}

fn heads_of(input: &mut Input) -> Vec<Hash> {
    let n = input.byte() % 4;
    (0..n).map(|_| Hash(ch(input.u64()))).collect()
}

fn ranges_of(input: &mut Input) -> Vec<RangeFp> {
    let n = input.byte() % 5;
    (0..n)
        .map(|_| {
            let lo = if input.bit() { String::new() } else { doc_name(input.u64()) };
            let hi = input.bit().then(|| doc_name(input.u64()));
            let count = input.u64() % 20;
            let mut fp = [0u8; 16];
            fp[0] = input.byte();
            RangeFp { lo, hi, count, fp }
        })
        .collect()
}

pub fn session_sequence(data: &[u8]) {
    let mut input = Input(data);
    let setup = input.byte();
    let limits = Limits {
        offer_docs_max: usize::from(setup % 4) + 1,
        batches_in_flight_max: usize::from((setup >> 2) % 3) + 1,
        data_part_bytes_max: CHANGE_BYTES * 2,
        batch_data_bytes_max: CHANGE_BYTES * 64,
        recon_branch: usize::from((setup >> 4) % 3) + 2,
        recon_leaf: usize::from((setup >> 6) % 3) + 1,
        peer_heads_memo_max: 6,
    };
    let mut store = Toy { epoch: [1; 16], ..Toy::default() };
    let docs = input.u64() % (START_DOCS_MAX + 1);
    for i in 0..docs {
        store.write(&doc_name(i), ch(1000 + i));
    }
    let checkpoint = match input.byte() % 3 {
        0 => None,
        1 => Some(Cursor { epoch: [2; 16], seq: input.u64() }),
        _ => Some(Cursor { epoch: [3; 16], seq: input.u64() }),
    };
    let policy: Box<dyn Policy> = if input.bit() { Box::new(Open) } else { Box::new(NoSecrets) };
    let cfg = SessionConfig {
        node: "a".into(),
        peer: "b".into(),
        epoch: store.epoch,
        feed_seq: store.seq,
        docs: store.docs.len() as u64,
        checkpoint,
        limits: limits.clone(),
    };
    let mut d = Driver {
        session: Session::new(cfg, policy),
        store,
        limits,
        closed: false,
        offered: Vec::new(),
        next_in_batch: 1,
        recon_ids: Vec::new(),
        peer_refused: false,
    };
    d.drain();
    for _ in 0..OPS_MAX {
        if input.is_empty() {
            break;
        }
        let op = input.byte();
        match op % 13 {
            0 => {
                // Raw bytes, as postcard, the way the wire decodes them (bounds checked).
                let n = usize::from(input.byte());
                if let Ok(msg) = wire::decode_payload(0, input.take(n)) {
                    d.peer_refused |= matches!(msg, Message::Refuse(_));
                    d.session.handle_message(msg);
                }
            }
            1 => {
                let version_min = u16::from(input.byte() % 3);
                let version_max = version_min + u16::from(input.byte() % 3);
                let node = if input.byte() % 8 == 0 { "c" } else { "b" }.to_string();
                let epoch = [input.byte() % 4; 16];
                let resume = match input.byte() % 3 {
                    0 => None,
                    1 => Some(Cursor { epoch: [1; 16], seq: input.u64() }),
                    _ => Some(Cursor { epoch: [input.byte(); 16], seq: input.u64() }),
                };
                d.session.handle_message(Message::Hello(Hello {
                    version_min,
                    version_max,
                    node,
                    epoch,
                    feed_seq: input.u64(),
                    docs: input.u64() % 4,
                    resume,
                }));
            }
            2 => d.session.handle_message(Message::Subscribe { from: input.u64() }),
            3 => {
                let batch = if input.bit() { d.next_in_batch } else { input.u64() };
                d.next_in_batch = batch.saturating_add(1);
                let n = input.byte() % 5;
                let docs = (0..n)
                    .map(|_| {
                        let doc = doc_name(input.u64());
                        let scope = doc.ends_with('7').then(|| "secret".to_string());
                        DocHeads { doc, heads: heads_of(&mut input), scope }
                    })
                    .collect();
                let upto = if input.bit() { None } else { Some(input.u64()) };
                d.session.handle_message(Message::Offer(Offer { batch, upto, head: input.u64(), docs }));
            }
            4 => {
                let (batch, len) = match d.offered.get(usize::from(input.byte()) % d.offered.len().max(1)) {
                    Some(&(b, l)) if input.bit() => (b, l),
                    _ => (input.u64(), 4),
                };
                let n = input.byte() % 4;
                let docs = (0..n)
                    .map(|_| WantDoc {
                        idx: u32::from(input.byte()) % (len.max(1) as u32 + 1),
                        have: heads_of(&mut input),
                    })
                    .collect();
                d.session.handle_message(Message::Want(Want { batch, docs }));
            }
            5 => {
                let batch = if input.bit() { d.next_in_batch.saturating_sub(1) } else { input.u64() };
                let n = input.byte() % 4;
                let docs = (0..n)
                    .map(|_| {
                        let idx = u32::from(input.byte() % 6);
                        let changes = usize::from(input.byte() % 4);
                        let mut bytes: Vec<u8> = (0..changes).flat_map(|_| ch(input.u64())).collect();
                        if input.byte() == 0xff {
                            bytes.push(0);
                        }
                        DocData { idx, whole: input.bit(), bytes }
                    })
                    .collect();
                d.session.handle_message(Message::Data(Data { batch, last: input.bit(), docs }));
            }
            6 => {
                let batch = match d.offered.first() {
                    Some(&(b, _)) if input.bit() => {
                        d.offered.remove(0);
                        b
                    }
                    _ => input.u64(),
                };
                d.session.handle_message(Message::Ack { batch });
            }
            7 => {
                let id = input.u64();
                d.session
                    .handle_message(Message::ReconQuery(ReconQuery { id, ranges: ranges_of(&mut input) }));
            }
            8 => {
                let id = match d.recon_ids.pop() {
                    Some(id) if input.bit() => id,
                    _ => input.u64(),
                };
                d.session
                    .handle_message(Message::ReconReply(ReconReply { id, ranges: ranges_of(&mut input) }));
            }
            9 => {
                d.peer_refused = true;
                d.session.handle_message(Message::Refuse(Refusal {
                    code: "protocol".into(),
                    reason: "对端关闭".into(),
                }));
            }
            10 => {
                let doc = doc_name(input.u64());
                d.store.write(&doc, ch(5000 + input.u64()));
                d.session.local_changed(d.store.seq);
            }
            11 => d.session.local_changed(input.u64()),
            _ => d.session.close(Refusal { code: "shutdown".into(), reason: "节点关闭".into() }),
        }
        d.drain();
    }
    // The caught-up answer never panics, whatever the state.
    let _ = d.session.caught_up();
}
