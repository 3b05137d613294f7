//! One replication session with one peer: a state machine without I/O.
//!
//! Each side is at once a *publisher* (it offers its change feed to the peer) and a *subscriber*
//! (it takes the peer's feed). The driver feeds the session with the peer's messages
//! ([`Session::handle_message`]), the answers to its storage requests ([`Session::handle_reply`])
//! and news of local writes ([`Session::local_changed`]), and drains [`Session::poll`] after each
//! call: messages to send, storage requests to run **in the order given** (replies in the same
//! order), events for the node's status, and finally `Close`.
//!
//! The exchange, from the subscriber's side:
//! 1. Both send `Hello`, each with its checkpoint in the other's feed (epoch, seq). If the
//!    checkpoint names the publisher's current epoch, the publisher starts offering from it at
//!    once; with nothing changed the reconnect costs the two hellos and nothing else, whatever the
//!    number of documents. Otherwise the subscriber sends `Subscribe`: from 0 if it holds no
//!    documents (bootstrap); else (checkpoint lost, or the peer's store was restored: new epoch)
//!    it runs set reconciliation ([`crate::recon`]) and subscribes from the peer's current head.
//! 2. The publisher offers batches of (document, heads). The subscriber asks its storage which it
//!    lacks and answers `Want` with its own heads of those; the publisher answers `Data` with the
//!    changes after those heads (one round trip per batch), or the whole document.
//! 3. The subscriber applies the data durably, then acknowledges the batch; its checkpoint
//!    moves only over batches applied in order, and never while reconciliation is unfinished,
//!    so a checkpoint never claims a change the node does not hold.
//!
//! Bounds: batches in flight per direction, documents per offer, bytes per data part and per
//! batch, ranges per reconciliation message ([`Limits`]). A peer that breaks one, or the
//! protocol's order, is refused with a reason and the session closes; nothing panics.

use std::collections::{BTreeSet, HashMap, HashSet, VecDeque};

use crate::recon::{Compare, ReconSet};
use crate::wire::{
    Cursor, Data, DocData, DocHeads, HEADS_MAX, Hash, Hello, Message, OFFER_DOCS_MAX, Offer,
    RECON_RANGES_MAX, RangeFp, ReconQuery, ReconReply, Refusal, Want, WantDoc,
};
use crate::{PROTOCOL_VERSION, PROTOCOL_VERSION_MIN};

/// The bounds of one session.
#[derive(Debug, Clone)]
pub struct Limits {
    /// Documents per offer (≤ [`OFFER_DOCS_MAX`]).
    pub offer_docs_max: usize,
    /// Offers sent and not yet acknowledged (the window; the peer enforces it too).
    pub batches_in_flight_max: usize,
    /// Bytes of changes in one `Data` message (a larger document travels alone).
    pub data_part_bytes_max: usize,
    /// Bytes of changes accepted for one batch.
    pub batch_data_bytes_max: usize,
    /// Sub-ranges a mismatched reconciliation range is split into (2..=16).
    pub recon_branch: usize,
    /// Mismatched ranges holding at most this many documents are answered with the documents.
    pub recon_leaf: usize,
    /// Documents whose heads the peer is known to hold (from its offers in this session), so
    /// that what we just received is not offered straight back. Cleared when full.
    pub peer_heads_memo_max: usize,
}

impl Default for Limits {
    fn default() -> Self {
        Limits {
            offer_docs_max: 256,
            batches_in_flight_max: 4,
            data_part_bytes_max: 1024 * 1024,
            batch_data_bytes_max: 256 * 1024 * 1024,
            recon_branch: 16,
            recon_leaf: 16,
            peer_heads_memo_max: 200_000,
        }
    }
}

/// Reconciliation queries from the peer waiting to be answered; more is a protocol violation.
pub const RECON_QUERIES_WAITING_MAX: usize = 1_024;
/// Documents found by reconciliation waiting to be offered; queries wait while it is full.
pub const RECON_QUEUE_DOCS_MAX: usize = 1 << 20;

/// Largest allowed `recon_branch`.
pub const RECON_BRANCH_MAX: usize = 16;
/// Ranges per query, so that every reply (each range split in `RECON_BRANCH_MAX`) fits a message.
pub const RECON_QUERY_RANGES_MAX: usize = RECON_RANGES_MAX / RECON_BRANCH_MAX;

/// What may cross to and from this peer: given by the node, from the peer's certificate.
pub trait Policy: Send {
    /// May this document be offered to the peer (the peer may read it)?
    fn may_send(&self, doc: &str, scope: Option<&str>) -> bool;
    /// May the peer change this document (its changes are applied here)?
    fn may_accept(&self, doc: &str, scope: Option<&str>) -> bool;
}

/// A policy that lets everything through (tests and trusted links).
pub struct Open;

impl Policy for Open {
    fn may_send(&self, _: &str, _: Option<&str>) -> bool {
        true
    }
    fn may_accept(&self, _: &str, _: Option<&str>) -> bool {
        true
    }
}

#[derive(Debug, Clone)]
pub struct SessionConfig {
    /// This node's name.
    pub node: String,
    /// The peer's name, as its certificate says.
    pub peer: String,
    /// This node's feed epoch, newest feed position and document count.
    pub epoch: [u8; 16],
    pub feed_seq: u64,
    pub docs: u64,
    /// Where this node stands in the peer's feed, as last durably recorded.
    pub checkpoint: Option<Cursor>,
    pub limits: Limits,
}

/// Storage work for the driver. Replies come back through [`Session::handle_reply`] in the
/// order the requests were given.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Request {
    /// Feed entries after `after`, oldest first, at most `limit`. Reply: [`Reply::Feed`].
    ReadFeed { after: u64, limit: usize },
    /// Which of these documents lack some of these heads here? Reply: [`Reply::Have`].
    /// `peer_holds`: the peer holds this node's feed up to there, so documents this node changed
    /// later may have changes the peer lacks (diverged histories): for those, answer with more
    /// than the heads (their nearest ancestors) so that the peer finds a common point.
    CheckHave { batch: u64, docs: Vec<DocHeads>, peer_holds: u64 },
    /// The changes of each document after the peer's heads. Reply: [`Reply::Changes`].
    ReadChanges { batch: u64, docs: Vec<(u32, String, Vec<Hash>)> },
    /// Apply (durably) the changes received. Reply: [`Reply::Applied`].
    Apply { batch: u64, docs: Vec<(String, DocData)> },
    /// Record durably where this node stands in the peer's feed. No reply.
    SaveCheckpoint { peer: String, cursor: Cursor },
    /// Every document with its heads and scope. Reply: [`Reply::Set`].
    ReadSet,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Reply {
    /// Feed entries `(seq, document)` and the feed's head.
    Feed {
        entries: Vec<(u64, DocHeads)>,
        head: u64,
    },
    /// `idx` into the checked documents, with this node's heads of each.
    Have {
        batch: u64,
        wants: Vec<WantDoc>,
    },
    Changes {
        batch: u64,
        docs: Vec<DocData>,
    },
    /// Documents refused by the node's own checks, with the reason.
    Applied {
        batch: u64,
        refused: Vec<(String, String)>,
    },
    Set {
        docs: Vec<DocHeads>,
    },
}

/// News for the node's status page and logs.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Event {
    /// The peer's hello was accepted.
    Established { peer: String, version: u16, reconcile: bool },
    /// The peer holds this node's feed up to `upto` (`None`: a reconciliation batch).
    PeerAcked { upto: Option<u64> },
    /// Documents applied from the peer in one batch, and those refused with the reason.
    Applied { docs: usize, bytes: usize, refused: Vec<(String, String)> },
    /// This node holds everything the peer offered up to the peer's head.
    CaughtUp { peer_head: u64 },
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Output {
    Send(Message),
    Storage(Request),
    Event(Event),
    /// The session is over (after a `Refuse` was sent or received).
    Close(Refusal),
}

fn refusal(code: &str, reason: impl Into<String>) -> Refusal {
    Refusal { code: code.to_string(), reason: reason.into() }
}

fn protocol(what: impl std::fmt::Display) -> Refusal {
    refusal("protocol", format!("对端违反同步协议:{what}"))
}

#[derive(Debug, PartialEq, Eq)]
enum Stage {
    Checking,
    Wanting,
    Applying,
    Done,
}

/// A batch offered by the peer, in arrival order.
struct InBatch {
    batch: u64,
    upto: Option<u64>,
    docs: Vec<DocHeads>,
    stage: Stage,
    wanted: BTreeSet<u32>,
    /// Wanted documents whose data has arrived.
    received: BTreeSet<u32>,
    data: Vec<DocData>,
    data_bytes: usize,
}

/// A batch this node offered, not yet acknowledged.
struct OutBatch {
    batch: u64,
    upto: Option<u64>,
    docs: Vec<DocHeads>,
}

enum ReconItem {
    Doc(DocHeads),
    Reply(ReconReply),
}

pub struct Session {
    cfg: SessionConfig,
    policy: Box<dyn Policy>,
    out: VecDeque<Output>,
    closed: bool,
    peer: Option<Hello>,

    // Publisher: this node's feed to the peer.
    feed_cursor: Option<u64>,
    reading_feed: bool,
    local_head: u64,
    /// The peer holds this node's feed up to here (its subscription point, then its acks).
    peer_holds: u64,
    next_batch: u64,
    out_flight: VecDeque<OutBatch>,
    peer_heads: HashMap<String, Vec<Hash>>,
    recon_queue: VecDeque<ReconItem>,
    queries_waiting: VecDeque<ReconQuery>,

    // This node's set (for reconciliation either way), read once per session.
    set: Option<ReconSet>,
    set_requested: bool,

    // Subscriber: the peer's feed to this node.
    inbound: VecDeque<InBatch>,
    last_in_batch: u64,
    applied_upto: Option<u64>,
    saved: Option<u64>,
    peer_head: u64,
    recon_start_pending: bool,
    recon_outstanding: BTreeSet<u64>,
    next_query: u64,
    caught_up_reported: bool,
    /// Storage replies expected, in order (to check the driver keeps the order).
    expected_replies: VecDeque<&'static str>,
}

impl Session {
    pub fn new(cfg: SessionConfig, policy: Box<dyn Policy>) -> Session {
        let mut limits = cfg.limits.clone();
        limits.offer_docs_max = limits.offer_docs_max.clamp(1, OFFER_DOCS_MAX);
        limits.batches_in_flight_max = limits.batches_in_flight_max.max(1);
        limits.recon_branch = limits.recon_branch.clamp(2, RECON_BRANCH_MAX);
        limits.recon_leaf = limits.recon_leaf.max(1);
        let hello = Hello {
            version_min: PROTOCOL_VERSION_MIN,
            version_max: PROTOCOL_VERSION,
            node: cfg.node.clone(),
            epoch: cfg.epoch,
            feed_seq: cfg.feed_seq,
            docs: cfg.docs,
            resume: cfg.checkpoint,
        };
        let saved = cfg.checkpoint.map(|c| c.seq);
        let local_head = cfg.feed_seq;
        let cfg = SessionConfig { limits, ..cfg };
        Session {
            cfg,
            policy,
            out: VecDeque::from([Output::Send(Message::Hello(hello))]),
            closed: false,
            peer: None,
            feed_cursor: None,
            reading_feed: false,
            local_head,
            peer_holds: 0,
            next_batch: 1,
            out_flight: VecDeque::new(),
            peer_heads: HashMap::new(),
            recon_queue: VecDeque::new(),
            queries_waiting: VecDeque::new(),
            set: None,
            set_requested: false,
            inbound: VecDeque::new(),
            last_in_batch: 0,
            applied_upto: None,
            saved,
            peer_head: 0,
            recon_start_pending: false,
            recon_outstanding: BTreeSet::new(),
            next_query: 1,
            caught_up_reported: false,
            expected_replies: VecDeque::new(),
        }
    }

    /// The next output, if any. Call until `None` after every input.
    pub fn poll(&mut self) -> Option<Output> {
        self.out.pop_front()
    }

    pub fn is_closed(&self) -> bool {
        self.closed
    }

    /// The peer's hello, once received.
    pub fn peer_hello(&self) -> Option<&Hello> {
        self.peer.as_ref()
    }

    /// Offers not yet acknowledged by the peer.
    pub fn batches_in_flight(&self) -> usize {
        self.out_flight.len()
    }

    /// Whether this node holds everything the peer offered so far (and reconciliation is done).
    pub fn caught_up(&self) -> bool {
        self.peer.is_some()
            && self.inbound.is_empty()
            && !self.reconciling()
            && self.applied_upto.is_some_and(|u| u >= self.peer_head)
    }

    /// Closes the session from this side with a reason (sent to the peer).
    pub fn close(&mut self, reason: Refusal) {
        if !self.closed {
            self.out.push_back(Output::Send(Message::Refuse(reason.clone())));
            self.out.push_back(Output::Close(reason));
            self.closed = true;
        }
    }

    /// A write was acknowledged locally: the feed's head is now `seq`.
    pub fn local_changed(&mut self, seq: u64) {
        if self.closed {
            return;
        }
        self.local_head = self.local_head.max(seq);
        self.pump();
    }

    pub fn handle_message(&mut self, msg: Message) {
        if self.closed {
            return;
        }
        if let Err(r) = self.on_message(msg) {
            self.close(r);
        }
    }

    pub fn handle_reply(&mut self, reply: Reply) {
        if self.closed {
            return;
        }
        if let Err(r) = self.on_reply(reply) {
            self.close(r);
        }
    }

    fn send(&mut self, msg: Message) {
        self.out.push_back(Output::Send(msg));
    }

    fn request(&mut self, req: Request) {
        let expects = match &req {
            Request::ReadFeed { .. } => Some("feed"),
            Request::CheckHave { .. } => Some("have"),
            Request::ReadChanges { .. } => Some("changes"),
            Request::Apply { .. } => Some("applied"),
            Request::ReadSet => Some("set"),
            Request::SaveCheckpoint { .. } => None,
        };
        if let Some(e) = expects {
            self.expected_replies.push_back(e);
        }
        self.out.push_back(Output::Storage(req));
    }

    fn event(&mut self, e: Event) {
        self.out.push_back(Output::Event(e));
    }

    fn reconciling(&self) -> bool {
        self.recon_start_pending || !self.recon_outstanding.is_empty()
    }

    // ----- messages -----

    fn on_message(&mut self, msg: Message) -> Result<(), Refusal> {
        msg.check().map_err(|e| protocol(e.to_string()))?;
        if self.peer.is_none() && !matches!(msg, Message::Hello(_) | Message::Refuse(_)) {
            return Err(protocol(format!("在问候之前发送了 {}", msg.kind())));
        }
        match msg {
            Message::Hello(h) => self.on_hello(h),
            Message::Refuse(r) => {
                self.closed = true;
                self.out.push_back(Output::Close(r));
                Ok(())
            }
            Message::Subscribe { from } => {
                if self.feed_cursor.is_some() {
                    return Err(protocol("重复订阅"));
                }
                self.feed_cursor = Some(from);
                self.peer_holds = self.peer_holds.max(from);
                self.pump();
                Ok(())
            }
            Message::Offer(o) => self.on_offer(o),
            Message::Want(w) => self.on_want(w),
            Message::Data(d) => self.on_data(d),
            Message::Ack { batch } => {
                let front = self.out_flight.pop_front().ok_or_else(|| protocol("确认了未发送的批次"))?;
                if front.batch != batch {
                    return Err(protocol(format!("确认顺序错误:期望 {},收到 {batch}", front.batch)));
                }
                if let Some(u) = front.upto {
                    self.peer_holds = self.peer_holds.max(u);
                }
                self.event(Event::PeerAcked { upto: front.upto });
                self.pump();
                Ok(())
            }
            Message::ReconQuery(q) => {
                if q.ranges.len() > RECON_QUERY_RANGES_MAX {
                    return Err(protocol("对账查询的范围过多"));
                }
                if self.queries_waiting.len() >= RECON_QUERIES_WAITING_MAX {
                    return Err(protocol("待答复的对账查询过多"));
                }
                self.queries_waiting.push_back(q);
                if self.set.is_some() {
                    self.answer_queries();
                } else {
                    self.want_set();
                }
                Ok(())
            }
            Message::ReconReply(r) => self.on_recon_reply(r),
        }
    }

    fn on_hello(&mut self, h: Hello) -> Result<(), Refusal> {
        if self.peer.is_some() {
            return Err(protocol("重复问候"));
        }
        if h.version_min > PROTOCOL_VERSION {
            return Err(refusal(
                "version_newer",
                format!(
                    "对端节点使用同步协议第 {} 版,本节点只支持到第 {PROTOCOL_VERSION} 版:请升级本节点",
                    h.version_min
                ),
            ));
        }
        if h.version_max < PROTOCOL_VERSION_MIN {
            return Err(refusal(
                "version_older",
                format!(
                    "对端节点只支持同步协议第 {} 版,本节点至少需要第 {PROTOCOL_VERSION_MIN} 版:请升级对端节点",
                    h.version_max
                ),
            ));
        }
        if h.node != self.cfg.peer {
            return Err(refusal(
                "identity_mismatch",
                format!("对端自称“{}”,但其证书属于“{}”", h.node, self.cfg.peer),
            ));
        }
        let version = h.version_max.min(PROTOCOL_VERSION);
        // Publisher: the peer's checkpoint in our feed, if it names our epoch, is its subscription.
        if let Some(r) = h.resume.filter(|r| r.epoch == self.cfg.epoch && r.seq <= self.cfg.feed_seq) {
            self.feed_cursor = Some(r.seq);
            self.peer_holds = self.peer_holds.max(r.seq);
            // Its checkpoint is durable: the peer holds our feed up to there.
            self.event(Event::PeerAcked { upto: Some(r.seq) });
        }
        self.peer_head = h.feed_seq;
        let valid = self.cfg.checkpoint.filter(|c| c.epoch == h.epoch && c.seq <= h.feed_seq);
        let reconcile;
        let from = if let Some(cp) = valid {
            reconcile = false;
            self.applied_upto = Some(cp.seq);
            cp.seq
        } else if self.cfg.docs == 0 || h.docs == 0 {
            // Nothing here to compare (bootstrap), or nothing there: take the whole feed.
            reconcile = false;
            self.saved = None;
            self.applied_upto = Some(0);
            0
        } else {
            // Checkpoint lost or the peer's store was restored: reconcile, then follow the feed
            // from its current head.
            reconcile = true;
            self.saved = None;
            self.applied_upto = Some(h.feed_seq);
            self.recon_start_pending = true;
            h.feed_seq
        };
        self.peer = Some(h);
        self.event(Event::Established { peer: self.cfg.peer.clone(), version, reconcile });
        if valid.is_none() {
            // The peer cannot use our hello's checkpoint: say where to start.
            self.send(Message::Subscribe { from });
        }
        self.pump();
        if reconcile {
            if self.set.is_some() {
                self.start_recon();
            } else {
                self.want_set();
            }
        }
        self.maybe_checkpoint();
        Ok(())
    }

    fn on_offer(&mut self, o: Offer) -> Result<(), Refusal> {
        if self.inbound.len() > self.cfg.limits.batches_in_flight_max * 2 {
            return Err(protocol("未确认的批次超过窗口"));
        }
        // Batches are numbered 1, 2, 3… per session: a gap means one was lost or reordered, and
        // acknowledging past it would move the checkpoint over documents never applied.
        if o.batch != self.last_in_batch + 1 {
            return Err(protocol(format!("批次编号应为 {},收到 {}", self.last_in_batch + 1, o.batch)));
        }
        self.last_in_batch = o.batch;
        self.peer_head = self.peer_head.max(o.head);
        self.caught_up_reported = false;
        if self.peer_heads.len() + o.docs.len() > self.cfg.limits.peer_heads_memo_max {
            self.peer_heads.clear();
        }
        for d in &o.docs {
            let mut heads = d.heads.clone();
            heads.sort();
            self.peer_heads.insert(d.doc.clone(), heads);
        }
        let empty = o.docs.is_empty();
        self.inbound.push_back(InBatch {
            batch: o.batch,
            upto: o.upto,
            docs: o.docs.clone(),
            stage: if empty { Stage::Done } else { Stage::Checking },
            wanted: BTreeSet::new(),
            received: BTreeSet::new(),
            data: Vec::new(),
            data_bytes: 0,
        });
        if empty {
            self.advance();
        } else {
            self.request(Request::CheckHave { batch: o.batch, docs: o.docs, peer_holds: self.peer_holds });
        }
        Ok(())
    }

    fn on_want(&mut self, w: Want) -> Result<(), Refusal> {
        let Some(b) = self.out_flight.iter().find(|b| b.batch == w.batch) else {
            return Err(protocol(format!("索取了未提供的批次 {}", w.batch)));
        };
        let mut seen = HashSet::new();
        let mut docs = Vec::with_capacity(w.docs.len());
        for d in w.docs {
            let Some(doc) = b.docs.get(d.idx as usize) else {
                return Err(protocol(format!("批次 {} 没有第 {} 份文档", w.batch, d.idx)));
            };
            if !seen.insert(d.idx) || d.have.len() > HEADS_MAX {
                return Err(protocol("索取的文档重复"));
            }
            docs.push((d.idx, doc.doc.clone(), d.have));
        }
        self.request(Request::ReadChanges { batch: w.batch, docs });
        Ok(())
    }

    fn on_data(&mut self, d: Data) -> Result<(), Refusal> {
        let limit = self.cfg.limits.batch_data_bytes_max;
        let Some(b) = self.inbound.iter_mut().find(|b| b.batch == d.batch) else {
            return Err(protocol(format!("发送了未索取的批次 {}", d.batch)));
        };
        if b.stage != Stage::Wanting {
            return Err(protocol(format!("批次 {} 的数据来得不是时候", d.batch)));
        }
        for doc in d.docs {
            if !b.wanted.contains(&doc.idx) || !b.received.insert(doc.idx) {
                return Err(protocol(format!("批次 {} 的第 {} 份文档未被索取或重复", d.batch, doc.idx)));
            }
            b.data_bytes += doc.bytes.len();
            if b.data_bytes > limit {
                return Err(protocol(format!("批次 {} 的数据超过 {limit} 字节", d.batch)));
            }
            b.data.push(doc);
        }
        if d.last {
            // Every wanted document must have come: the batch's acknowledgement will claim them.
            if b.received != b.wanted {
                let missing = b.wanted.difference(&b.received).count();
                return Err(protocol(format!("批次 {} 结束时缺少 {missing} 份索取的文档", d.batch)));
            }
            b.stage = Stage::Applying;
            let data = std::mem::take(&mut b.data);
            let docs = data
                .into_iter()
                .filter_map(|dd| b.docs.get(dd.idx as usize).map(|h| (h.doc.clone(), dd)))
                .collect::<Vec<_>>();
            let batch = b.batch;
            self.request(Request::Apply { batch, docs });
        }
        Ok(())
    }

    fn on_recon_reply(&mut self, r: ReconReply) -> Result<(), Refusal> {
        if !self.recon_outstanding.remove(&r.id) {
            return Err(protocol(format!("对账答复 {} 无对应查询", r.id)));
        }
        let Some(set) = &self.set else { return Err(protocol("对账答复先于本方集合")) };
        let mut next = Vec::new();
        for theirs in &r.ranges {
            match set.compare(theirs) {
                Compare::Equal => {}
                Compare::Empty | Compare::Differs(_) => {
                    next.push(set.range(&theirs.lo, theirs.hi.as_deref()));
                }
            }
        }
        for chunk in next.chunks(RECON_QUERY_RANGES_MAX) {
            let id = self.next_query;
            self.next_query += 1;
            self.recon_outstanding.insert(id);
            self.send(Message::ReconQuery(ReconQuery { id, ranges: chunk.to_vec() }));
        }
        self.maybe_checkpoint();
        Ok(())
    }

    // ----- storage replies -----

    fn on_reply(&mut self, reply: Reply) -> Result<(), Refusal> {
        let kind = match &reply {
            Reply::Feed { .. } => "feed",
            Reply::Have { .. } => "have",
            Reply::Changes { .. } => "changes",
            Reply::Applied { .. } => "applied",
            Reply::Set { .. } => "set",
        };
        if self.expected_replies.pop_front() != Some(kind) {
            return Err(refusal("internal", format!("存储答复顺序错误({kind})")));
        }
        match reply {
            Reply::Feed { entries, head } => {
                self.reading_feed = false;
                self.local_head = self.local_head.max(head);
                let Some(cursor) = self.feed_cursor else { return Ok(()) };
                let last = entries.last().map_or(cursor, |(s, _)| *s).max(cursor);
                let peer_has = |d: &DocHeads| {
                    self.peer_heads.get(&d.doc).is_some_and(|h| {
                        let mut mine = d.heads.clone();
                        mine.sort();
                        *h == mine
                    })
                };
                let docs: Vec<DocHeads> = entries
                    .into_iter()
                    .filter(|(_, d)| self.policy.may_send(&d.doc, d.scope.as_deref()) && !peer_has(d))
                    .map(|(_, d)| d)
                    .collect();
                if last > cursor {
                    self.feed_cursor = Some(last);
                    self.offer(Some(last), docs);
                } else {
                    // Nothing after the cursor: stop reading until the next local write.
                    self.local_head = cursor;
                }
                self.pump();
            }
            Reply::Have { batch, wants } => {
                let b = self
                    .inbound
                    .iter_mut()
                    .find(|b| b.batch == batch && b.stage == Stage::Checking)
                    .ok_or_else(|| refusal("internal", "存储答复了未检查的批次"))?;
                let mut refused = Vec::new();
                let mut keep = Vec::new();
                for w in wants {
                    let Some(d) = b.docs.get(w.idx as usize) else { continue };
                    if self.policy.may_accept(&d.doc, d.scope.as_deref()) {
                        if b.wanted.insert(w.idx) {
                            keep.push(w);
                        }
                    } else {
                        refused.push((d.doc.clone(), "对端无权修改此文档".to_string()));
                    }
                }
                if keep.is_empty() {
                    b.stage = Stage::Done;
                } else {
                    b.stage = Stage::Wanting;
                    self.send(Message::Want(Want { batch, docs: keep }));
                }
                if !refused.is_empty() {
                    self.event(Event::Applied { docs: 0, bytes: 0, refused });
                }
                self.advance();
            }
            Reply::Changes { batch, docs } => {
                let part_max = self.cfg.limits.data_part_bytes_max;
                let mut part: Vec<DocData> = Vec::new();
                let mut part_bytes = 0;
                for d in docs {
                    if !part.is_empty() && part_bytes + d.bytes.len() > part_max {
                        let docs = std::mem::take(&mut part);
                        self.send(Message::Data(Data { batch, last: false, docs }));
                        part_bytes = 0;
                    }
                    part_bytes += d.bytes.len();
                    part.push(d);
                }
                self.send(Message::Data(Data { batch, last: true, docs: part }));
            }
            Reply::Applied { batch, refused } => {
                let b = self
                    .inbound
                    .iter_mut()
                    .find(|b| b.batch == batch && b.stage == Stage::Applying)
                    .ok_or_else(|| refusal("internal", "存储答复了未应用的批次"))?;
                b.stage = Stage::Done;
                let docs = b.received.len() - refused.len().min(b.received.len());
                let bytes = b.data_bytes;
                self.event(Event::Applied { docs, bytes, refused });
                self.advance();
            }
            Reply::Set { docs } => {
                let docs =
                    docs.into_iter().filter(|d| self.policy.may_send(&d.doc, d.scope.as_deref())).collect();
                self.set = Some(ReconSet::new(docs));
                if self.recon_start_pending {
                    self.start_recon();
                }
                self.answer_queries();
            }
        }
        Ok(())
    }

    // ----- publisher -----

    fn offer(&mut self, upto: Option<u64>, docs: Vec<DocHeads>) {
        let batch = self.next_batch;
        self.next_batch += 1;
        self.out_flight.push_back(OutBatch { batch, upto, docs: docs.clone() });
        self.send(Message::Offer(Offer { batch, upto, head: self.local_head, docs }));
    }

    /// Sends what the window allows: reconciliation findings first, then the feed.
    fn pump(&mut self) {
        if self.closed || self.peer.is_none() {
            return;
        }
        let window = self.cfg.limits.batches_in_flight_max;
        while !self.recon_queue.is_empty() && self.out_flight.len() < window {
            let mut docs = Vec::new();
            while docs.len() < self.cfg.limits.offer_docs_max {
                match self.recon_queue.front() {
                    Some(ReconItem::Doc(_)) => {
                        if let Some(ReconItem::Doc(d)) = self.recon_queue.pop_front() {
                            docs.push(d);
                        }
                    }
                    _ => break,
                }
            }
            if !docs.is_empty() {
                self.offer(None, docs);
            }
            while let Some(ReconItem::Reply(_)) = self.recon_queue.front() {
                if let Some(ReconItem::Reply(r)) = self.recon_queue.pop_front() {
                    self.send(Message::ReconReply(r));
                }
            }
        }
        if !self.queries_waiting.is_empty()
            && self.recon_queue.len() < RECON_QUEUE_DOCS_MAX
            && self.set.is_some()
        {
            self.answer_queries();
            return;
        }
        let Some(cursor) = self.feed_cursor else { return };
        if !self.reading_feed && self.out_flight.len() < window && cursor < self.local_head {
            self.reading_feed = true;
            self.request(Request::ReadFeed { after: cursor, limit: self.cfg.limits.offer_docs_max });
        }
    }

    fn want_set(&mut self) {
        if !self.set_requested {
            self.set_requested = true;
            self.request(Request::ReadSet);
        }
    }

    fn answer_queries(&mut self) {
        let Some(set) = &self.set else { return };
        let branch = self.cfg.limits.recon_branch;
        let leaf = self.cfg.limits.recon_leaf as u64;
        while self.recon_queue.len() < RECON_QUEUE_DOCS_MAX {
            let Some(q) = self.queries_waiting.pop_front() else { break };
            let mut ranges: Vec<RangeFp> = Vec::new();
            for theirs in &q.ranges {
                if let Compare::Differs(ours) = set.compare(theirs) {
                    if theirs.count == 0 || ours.count <= leaf {
                        self.recon_queue.extend(set.docs(&ours).cloned().map(ReconItem::Doc));
                    } else {
                        ranges.extend(set.split(&theirs.lo, theirs.hi.as_deref(), &ours, branch));
                    }
                }
            }
            self.recon_queue.push_back(ReconItem::Reply(ReconReply { id: q.id, ranges }));
        }
        self.pump();
    }

    // ----- subscriber -----

    fn start_recon(&mut self) {
        let Some(set) = &self.set else { return };
        self.recon_start_pending = false;
        let range = set.range("", None);
        let id = self.next_query;
        self.next_query += 1;
        self.recon_outstanding.insert(id);
        self.send(Message::ReconQuery(ReconQuery { id, ranges: vec![range] }));
    }

    /// Acknowledges finished batches in arrival order and moves the checkpoint over them.
    fn advance(&mut self) {
        while self.inbound.front().is_some_and(|b| b.stage == Stage::Done) {
            let Some(b) = self.inbound.pop_front() else { break };
            self.send(Message::Ack { batch: b.batch });
            if let Some(u) = b.upto {
                self.applied_upto = Some(self.applied_upto.map_or(u, |a| a.max(u)));
            }
        }
        self.maybe_checkpoint();
    }

    fn maybe_checkpoint(&mut self) {
        if self.reconciling() || self.inbound.iter().any(|b| b.upto.is_none()) {
            return;
        }
        let (Some(upto), Some(peer)) = (self.applied_upto, self.peer.as_ref()) else { return };
        if self.saved != Some(upto) {
            self.saved = Some(upto);
            let cursor = Cursor { epoch: peer.epoch, seq: upto };
            self.request(Request::SaveCheckpoint { peer: self.cfg.peer.clone(), cursor });
        }
        if self.caught_up() && !self.caught_up_reported {
            self.caught_up_reported = true;
            self.event(Event::CaughtUp { peer_head: self.peer_head });
        }
    }
}
