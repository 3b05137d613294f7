//! A deterministic simulation of replication: five nodes over a simulated network, in one thread
//! and in simulated time, with random partitions, dropped connections, duplicated, swapped and
//! corrupted messages, crash-restarts and power cuts in the middle of a commit. The sync core
//! ([`Session`]) and the storage side ([`Host`] over a [`CaseStore`] on a crash-simulating memory
//! store) are the real ones; only the quinn driver (`net.rs`) is replaced, by an event queue.
//!
//! The nodes: the hall (`410184000`), townships 001, 002 and 003, and a second node of township
//! 001 (`town-1b`: two intake counters of one township, so that a township↔township link carries
//! real data both ways and the hall relays between two writers of the same cases). Links (the
//! first node dials): every township to the hall, `town-1b`↔`town-1` (same scope: cases flow,
//! reference data is offered and refused) and `town-3`↔`town-2` (different scopes: nothing but
//! reference data is offered, and refused). Each node holds a [`MemKv`] behind a fault-injecting
//! wrapper, a [`CaseStore`] (actor: the node's name) and a [`CaseFactory`].
//!
//! The network: a link that is up carries one session pair. Messages go through `wire::encode`
//! and a per-receiver `wire::Decoder`, and arrive after a random delay, in order per direction
//! (QUIC streams are ordered and reliable; datagram loss is QUIC's business, so "loss" is the
//! connection dropping: both sessions are discarded mid-exchange and the dialler reconnects after
//! its back-off). Transport faults at the message level, with small probability: a message
//! delivered twice, two messages swapped, a frame with one bit flipped. Sessions must tolerate a
//! duplicate or a swap or close; a flipped frame goes through the decoder into the session (which
//! must not panic: it refuses, or takes a different but valid message) and the connection is then
//! cut before any of the session's outputs are acted upon, since QUIC's AEAD never hands over a
//! corrupted stream and the protocol carries no checksum of its own. Storage requests of one
//! session run one at a time, in order, after a random latency (as `net.rs` runs them on a
//! storage thread: messages keep arriving meanwhile); every session of a node hears of each new
//! feed position at once (the store's `watch_seq`).
//!
//! The workload (seeded): townships (and now and then the hall, in its own scope) receive cases;
//! townships append events to their scope's cases; the hall appends to any case it holds and
//! updates the dishonesty list (reference data). Half the appends go to the two oldest cases of a
//! scope, which the township's two nodes and the hall all write, so that histories diverge while
//! links are down. Every acknowledged write goes into a ledger with the heads its `Ack` returned.
//! Faults: a link partitioned for a while, a connection dropped, a node crashed (what was not
//! synced is lost) and restarted after a while — sometimes with a new feed epoch (a restored
//! store: its peers must reconcile) or without one of its checkpoints (it must reconcile) — and a
//! power cut during a node's next commit (that write is not acknowledged; the node restarts).
//! A run's parameters (window, documents per offer, data parts, reconciliation branching,
//! delays, fault rates, compaction) are drawn per seed.
//!
//! Then HEAL: every node up, every link up, no faults, until nothing is left to do (no message in
//! flight, no storage request, no reconnect pending; a bound fails the run if that never comes).
//! Checked: every session is established, caught up and has nothing in flight; every node that
//! may hold a document (the hall: all; a township: its scope and reference data) holds it,
//! contains every acknowledged change of it, and has the same heads, the same folded case state,
//! header and events, or the same reference value as every other holder; no township holds or
//! indexes another scope's case. Along the way: no document the policy allows is refused (a
//! refusal is acknowledged, so the document would be lost on that link), and an intact frame
//! always decodes.
//!
//! Seeds: each run prints `simulation seed N` first and one line of figures when it passes.
//! `YIKOU_SIM_SEED=N` replays one seed; `YIKOU_SIM_SEEDS=A..B` runs a range in parallel with
//! progress lines, stopping at the first failure (`YIKOU_SIM_KEEP_GOING=1`: listing every failing
//! seed); `scripts/sim.sh` runs 10,000 seeds in release mode. Otherwise the fixed CI seeds run,
//! plus `YIKOU_SEED` when set (`scripts/test.sh` sets it for every randomised test). Knobs:
//! `YIKOU_SIM_STEPS` (workload steps, 300), `YIKOU_SIM_FAULTS=dup,swap,corrupt` (the message
//! faults to inject; all by default), `YIKOU_SIM_STRICT_ORDER=0` (see [`strict_event_order`]),
//! `YIKOU_SIM_TRACE=1` (print every event; `2` adds document ids and heads). A failure prints its
//! reason, the seed's parameters, the last events and the command that replays it.
//!
//! Determinism: everything is drawn from the seed; the stores' committer threads are synchronous
//! from the caller's view. Change hashes and feed epochs differ between runs of one seed (store
//! actors and epochs are made unique with the wall clock), so byte counts vary slightly, but the
//! sequence of events does not: `a_seed_replays_identically` checks it. A change to the sync core
//! or the store changes what a seed does, so a failing seed is reproducible at its commit.
//!
//! Known failures (sync core, reported; message reordering, which one QUIC stream never does,
//! but the session is meant to refuse what breaks the protocol's order rather than act on it):
//! a gap in the peer's batch numbers is accepted (an offer overtaken by the next one is acked
//! past, and the checkpoint moves over it), and the last data part of a batch completes it even
//! when an earlier part is missing. Seeds that hit them with the message faults on fail (about
//! 1 in 1,500): at the sync core of 3ee713c, seeds 2023 (gap) and 2419 (data part) of 0..3000,
//! and with `YIKOU_SIM_FAULTS=swap` seeds 1765 and 3859 (gap) and 2603 (data part). The CI seeds
//! pass.
#![allow(clippy::unwrap_used, clippy::expect_used)]

use std::cmp::Reverse;
use std::collections::{BTreeMap, BinaryHeap, VecDeque};
use std::fmt::Write as _;
use std::panic::AssertUnwindSafe;
use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};

use automerge::ChangeHash;
use chrono::NaiveDate;
use yikou_node::doc::RefKind;
use yikou_node::fixtures::CaseFactory;
use yikou_node::replica::{Access, Host, ScopePolicy};
use yikou_node::store::kv::Entries;
use yikou_node::store::{CaseStore, Index, Kv, MemKv, StoreConfig, StoreError, WriteBatch};
use yikou_schema::calendar::WorkCalendar;
use yikou_schema::catalog::Catalog;
use yikou_schema::tolerance::DishonestyList;
use yikou_sync::backoff::Backoff;
use yikou_sync::session::{Event, Limits, Output, Request, Session, SessionConfig};
use yikou_sync::wire::{self, Cursor, Message, Refusal};

/// Seeds run by `cargo test` (CI) unless the environment names others.
const CI_SEEDS: [u64; 12] = [1, 2, 3, 5, 8, 13, 21, 34, 55, 89, 144, 233];
/// Workload steps per run (`YIKOU_SIM_STEPS` overrides).
const STEPS_DEFAULT: u32 = 300;
/// Events the healing phase may take before the run is declared stuck.
const HEAL_EVENTS_MAX: u64 = 400_000;
/// Simulated time the healing phase may take before the run is declared stuck.
const HEAL_MS_MAX: u64 = 30 * 60 * 1000;
/// Trace lines kept for a failure's report.
const TRACE_TAIL: usize = 120;

/// The nodes: name, hall?, node number (its scope is 410184 + number), first case serial.
const NODES: [(&str, bool, u16, u32); 5] = [
    ("hall", true, 0, 1),
    ("town-1", false, 1, 1),
    ("town-2", false, 2, 1),
    ("town-3", false, 3, 1),
    // The second node of township 001 numbers its cases apart from the first.
    ("town-1b", false, 1, 50_001),
];
const HALL: usize = 0;
/// Links: (dialler, acceptor).
const LINKS: [(usize, usize); 6] = [(1, 0), (2, 0), (3, 0), (4, 0), (4, 1), (3, 2)];

// ---------------------------------------------------------------------------------------------
// Randomness

/// splitmix64: small, seedable, good enough for a schedule.
struct Rng(u64);

impl Rng {
    fn next(&mut self) -> u64 {
        self.0 = self.0.wrapping_add(0x9E37_79B9_7F4A_7C15);
        let mut z = self.0;
        z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
        z ^ (z >> 31)
    }

    /// Uniform in `0..n` (0 when `n` is 0).
    fn below(&mut self, n: u64) -> u64 {
        if n == 0 { 0 } else { self.next() % n }
    }

    /// Uniform in `lo..=hi`.
    fn range(&mut self, lo: u64, hi: u64) -> u64 {
        lo + self.below(hi.saturating_sub(lo) + 1)
    }

    fn chance(&mut self, p: f64) -> bool {
        ((self.next() >> 11) as f64 / (1u64 << 53) as f64) < p
    }

    fn pick<T: Copy>(&mut self, items: &[T]) -> T {
        items[self.below(items.len() as u64) as usize]
    }
}

// ---------------------------------------------------------------------------------------------
// Storage with power cuts

/// A [`MemKv`] whose next sync can "lose power": the batches applied since the last sync are
/// dropped and the sync fails, so the write in progress is not acknowledged.
#[derive(Default)]
struct SimKv {
    mem: MemKv,
    cut_next_sync: AtomicBool,
    power_lost: AtomicBool,
}

impl SimKv {
    fn power_lost(&self) -> bool {
        self.power_lost.load(Ordering::SeqCst)
    }

    /// After a crash: only the synced image is left; no cut armed.
    fn crash(&self) {
        self.mem.crash();
        self.cut_next_sync.store(false, Ordering::SeqCst);
        self.power_lost.store(false, Ordering::SeqCst);
    }
}

impl Kv for SimKv {
    fn get(&self, key: &[u8]) -> Result<Option<Vec<u8>>, StoreError> {
        self.mem.get(key)
    }
    fn range(&self, from: &[u8], to: &[u8], limit: usize) -> Result<Entries, StoreError> {
        self.mem.range(from, to, limit)
    }
    fn apply(&self, batch: &WriteBatch) -> Result<(), StoreError> {
        self.mem.apply(batch)
    }
    fn sync(&self) -> Result<(), StoreError> {
        if self.cut_next_sync.swap(false, Ordering::SeqCst) {
            self.mem.crash();
            self.power_lost.store(true, Ordering::SeqCst);
            return Err(StoreError::SyncFailed("simulated power cut".into()));
        }
        self.mem.sync()
    }
    fn size_on_disk(&self) -> Result<u64, StoreError> {
        Ok(0)
    }
}

// ---------------------------------------------------------------------------------------------
// The world

/// What one run varies besides the workload.
struct Params {
    steps: u32,
    step_gap_ms: u64,
    delay_max_ms: u64,
    storage_max_ms: u64,
    /// Per message: delivered twice, swapped with the one before, one bit flipped.
    dup: f64,
    swap: f64,
    corrupt: f64,
    limits: Limits,
    store: StoreConfig,
}

impl Params {
    fn draw(rng: &mut Rng, steps: u32) -> Params {
        let limits = Limits {
            offer_docs_max: rng.pick(&[1, 2, 5, 256]),
            batches_in_flight_max: rng.pick(&[1, 2, 4]),
            // 1 byte: every document in its own data part. Sizes never decide anything else, so
            // that a seed's schedule does not depend on compressed sizes.
            data_part_bytes_max: rng.pick(&[1, 1 << 20]),
            recon_branch: rng.pick(&[2, 3, 16]),
            recon_leaf: rng.pick(&[1, 2, 16]),
            peer_heads_memo_max: rng.pick(&[1, 200_000]),
            ..Limits::default()
        };
        Params {
            steps,
            step_gap_ms: rng.pick(&[20, 100, 400]),
            delay_max_ms: rng.pick(&[5, 50, 300]),
            storage_max_ms: rng.pick(&[1, 10, 40]),
            dup: rng.pick(&[0.0, 0.003, 0.01]) * fault_on("dup"),
            swap: rng.pick(&[0.0, 0.003, 0.01]) * fault_on("swap"),
            corrupt: rng.pick(&[0.0, 0.003, 0.01]) * fault_on("corrupt"),
            limits,
            store: StoreConfig { compact_chunks_max: rng.pick(&[2, 10]), ..StoreConfig::default() },
        }
    }

    fn describe(&self) -> String {
        let l = &self.limits;
        format!(
            "offer {} window {} part {} branch {} leaf {} memo {}; gap {} ms, delay ≤{} ms, storage ≤{} ms, \
             dup {} swap {} corrupt {}, compact {}",
            l.offer_docs_max,
            l.batches_in_flight_max,
            l.data_part_bytes_max,
            l.recon_branch,
            l.recon_leaf,
            l.peer_heads_memo_max,
            self.step_gap_ms,
            self.delay_max_ms,
            self.storage_max_ms,
            self.dup,
            self.swap,
            self.corrupt,
            self.store.compact_chunks_max
        )
    }
}

/// Done to a node's storage while it is down.
#[derive(Debug, Clone, Copy)]
enum Reset {
    /// The store comes back with a new feed epoch (a restored or reinstalled store).
    Epoch,
    /// The checkpoint in one peer's feed is lost.
    Checkpoint(usize),
}

struct Node {
    name: String,
    access: Access,
    factory: CaseFactory,
    kv: Arc<SimKv>,
    store: Option<Arc<CaseStore>>,
    next_serial: u32,
    /// The feed position its sessions last heard of.
    seen_seq: u64,
    resets: Vec<Reset>,
    links: Vec<usize>,
}

impl Node {
    fn store(&self) -> &Arc<CaseStore> {
        self.store.as_ref().expect("the node is up")
    }

    fn up(&self) -> bool {
        self.store.is_some()
    }
}

/// One end of a connection.
struct End {
    session: Session,
    host: Host,
    decoder: wire::Decoder,
    storage: VecDeque<Request>,
    storage_busy: bool,
}

struct Frame {
    bytes: Vec<u8>,
    corrupt: bool,
}

struct Conn {
    generation: u64,
    ends: [End; 2],
    /// Frames on their way to each end, in delivery order.
    inflight: [VecDeque<Frame>; 2],
    /// The last delivery time scheduled towards each end (streams deliver in order).
    last_delivery: [u64; 2],
}

struct Link {
    ends: [usize; 2],
    partitioned: bool,
    conn: Option<Conn>,
    generation: u64,
    backoff: Backoff,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
enum Ev {
    Step,
    Connect(usize),
    Deliver { link: usize, generation: u64, to: usize },
    Storage { link: usize, generation: u64, side: usize },
    Heal(usize),
    Restart(usize),
}

/// An acknowledged write.
struct Acked {
    doc: String,
    scope: Option<String>,
    heads: Vec<ChangeHash>,
    by: usize,
    at: u64,
}

#[derive(Default)]
struct Stats {
    messages: u64,
    bytes: u64,
    sessions: u64,
    reconciliations: u64,
    crashes: u64,
    power_cuts: u64,
    epoch_resets: u64,
    checkpoints_lost: u64,
    partitions: u64,
    drops: u64,
    dups: u64,
    swaps: u64,
    corrupt: u64,
    corrupt_refused_by_decoder: u64,
    corrupt_refused_by_session: u64,
    corrupt_taken: u64,
    closes: BTreeMap<String, u64>,
    refused_docs: u64,
    cases: u64,
    appends: u64,
    refs: u64,
    events: u64,
}

/// What a passing run reports.
struct Report {
    line: String,
    digest: u64,
}

struct Sim {
    seed: u64,
    rng: Rng,
    p: Params,
    now: u64,
    next_id: u64,
    queue: BinaryHeap<Reverse<(u64, u64, Ev)>>,
    nodes: Vec<Node>,
    links: Vec<Link>,
    ledger: Vec<Acked>,
    stats: Stats,
    trace: VecDeque<String>,
    trace_print: bool,
    /// Document ids and heads in the trace (`YIKOU_SIM_TRACE=2`; heads differ between runs).
    trace_verbose: bool,
    digest: u64,
    healing: bool,
    heal_at: u64,
    steps_done: u32,
    dishonesty_version: u64,
    day: NaiveDate,
}

fn describe(m: &Message, verbose: bool) -> String {
    if verbose && let Message::Offer(o) = m {
        let docs: Vec<String> = o.docs.iter().map(|d| format!("{} {:?}", d.doc, d.heads)).collect();
        return format!("offer b{} upto {:?} head {} docs [{}]", o.batch, o.upto, o.head, docs.join(", "));
    }
    if verbose && let Message::Want(w) = m {
        let docs: Vec<String> = w.docs.iter().map(|d| format!("#{} {:?}", d.idx, d.have)).collect();
        return format!("want b{} docs [{}]", w.batch, docs.join(", "));
    }
    match m {
        Message::Hello(h) => format!("hello seq {} docs {}", h.feed_seq, h.docs),
        Message::Refuse(r) => format!("refuse {}", r.code),
        Message::Subscribe { from } => format!("subscribe from {from}"),
        Message::Offer(o) => {
            format!("offer b{} upto {:?} head {} docs {}", o.batch, o.upto, o.head, o.docs.len())
        }
        Message::Want(w) => format!("want b{} docs {}", w.batch, w.docs.len()),
        Message::Data(d) => format!("data b{} last {} docs {}", d.batch, d.last, d.docs.len()),
        Message::Ack { batch } => format!("ack b{batch}"),
        Message::ReconQuery(q) => format!("recon_query #{} ranges {}", q.id, q.ranges.len()),
        Message::ReconReply(r) => format!("recon_reply #{} ranges {}", r.id, r.ranges.len()),
    }
}

fn sorted(mut heads: Vec<ChangeHash>) -> Vec<ChangeHash> {
    heads.sort();
    heads
}

impl Sim {
    fn new(seed: u64, steps: u32) -> Sim {
        let mut rng = Rng(seed);
        let p = Params::draw(&mut rng, steps);
        let mut nodes: Vec<Node> = NODES
            .iter()
            .map(|&(name, hall, number, serial)| {
                let scope = format!("410184{number:03}");
                Node {
                    name: name.to_string(),
                    access: if hall { Access::hall(&scope) } else { Access::township(&scope) },
                    factory: CaseFactory::new(name, number).expect("factory"),
                    kv: Arc::new(SimKv::default()),
                    store: None,
                    next_serial: serial,
                    seen_seq: 0,
                    resets: Vec::new(),
                    links: Vec::new(),
                }
            })
            .collect();
        let links = LINKS
            .iter()
            .enumerate()
            .map(|(i, &(a, b))| {
                nodes[a].links.push(i);
                nodes[b].links.push(i);
                Link {
                    ends: [a, b],
                    partitioned: false,
                    conn: None,
                    generation: 0,
                    backoff: Backoff::new(50, 5_000, seed ^ (i as u64).wrapping_mul(0x5851_F42D_4C95_7F2D)),
                }
            })
            .collect();
        let mut sim = Sim {
            seed,
            rng,
            p,
            now: 0,
            next_id: 0,
            queue: BinaryHeap::new(),
            nodes,
            links,
            ledger: Vec::new(),
            stats: Stats::default(),
            trace: VecDeque::new(),
            trace_print: std::env::var("YIKOU_SIM_TRACE").is_ok_and(|v| !v.is_empty() && v != "0"),
            trace_verbose: std::env::var("YIKOU_SIM_TRACE").is_ok_and(|v| v == "2"),
            digest: 0xcbf2_9ce4_8422_2325,
            healing: false,
            heal_at: 0,
            steps_done: 0,
            dishonesty_version: 0,
            day: NaiveDate::from_ymd_opt(2026, 3, 2).expect("date"),
        };
        for n in 0..sim.nodes.len() {
            sim.open_store(n);
        }
        sim
    }

    // ----- bookkeeping -----

    fn schedule(&mut self, at: u64, ev: Ev) {
        self.next_id += 1;
        self.queue.push(Reverse((at, self.next_id, ev)));
    }

    fn trace(&mut self, line: String) {
        let line = format!("{:>8} {line}", self.now);
        for b in line.bytes() {
            self.digest = (self.digest ^ u64::from(b)).wrapping_mul(0x0100_0000_01b3);
        }
        if self.trace_print {
            println!("[{}] {line}", self.seed);
        }
        if self.trace.len() == TRACE_TAIL {
            self.trace.pop_front();
        }
        self.trace.push_back(line);
    }

    fn fail(&self, what: impl std::fmt::Display) -> ! {
        let mut tail = String::new();
        for line in &self.trace {
            let _ = writeln!(tail, "    {line}");
        }
        panic!(
            "simulation seed {} failed at {} ms: {what}\n  params: {}\n  {}\n  last events:\n{tail}  \
             replay: YIKOU_SIM_SEED={}{} YIKOU_SIM_TRACE=1 cargo test -p yikou-node --test simulation -- --nocapture",
            self.seed,
            self.now,
            self.p.describe(),
            self.figures(),
            self.seed,
            replay_env()
        );
    }

    fn figures(&self) -> String {
        let s = &self.stats;
        let closes: Vec<String> = s.closes.iter().map(|(k, v)| format!("{k} {v}")).collect();
        format!(
            "{} messages, {} bytes, {} sessions ({} reconciling), {} crashes ({} power cuts, {} new epochs, \
             {} checkpoints lost), {} partitions, {} drops, faults {} dup / {} swap / {} corrupt \
             (refused: {} decoder, {} session; {} taken), closes [{}], {} docs refused, acked {} cases + {} \
             appends + {} refs, {} events, {} ms simulated",
            s.messages,
            s.bytes,
            s.sessions,
            s.reconciliations,
            s.crashes,
            s.power_cuts,
            s.epoch_resets,
            s.checkpoints_lost,
            s.partitions,
            s.drops,
            s.dups,
            s.swaps,
            s.corrupt,
            s.corrupt_refused_by_decoder,
            s.corrupt_refused_by_session,
            s.corrupt_taken,
            closes.join(", "),
            s.refused_docs,
            s.cases,
            s.appends,
            s.refs,
            s.events,
            self.now
        )
    }

    fn name(&self, n: usize) -> &str {
        &self.nodes[n].name
    }

    fn link_name(&self, l: usize) -> String {
        let [a, b] = self.links[l].ends;
        format!("{}~{}", self.name(a), self.name(b))
    }

    fn conn_mut(&mut self, l: usize, generation: u64) -> Option<&mut Conn> {
        self.links[l].conn.as_mut().filter(|c| c.generation == generation)
    }

    // ----- nodes -----

    fn open_store(&mut self, n: usize) {
        let node = &mut self.nodes[n];
        let kv: Arc<dyn Kv> = node.kv.clone();
        let store =
            CaseStore::open(kv, node.name.as_bytes().to_vec(), self.p.store.clone(), WorkCalendar::builtin())
                .unwrap_or_else(|e| panic!("seed {}: {} does not reopen: {e}", self.seed, node.name));
        node.seen_seq = store.last_seq().expect("seq");
        node.store = Some(Arc::new(store));
    }

    /// The node stops at once: its connections drop, what it had not synced is lost.
    fn crash(&mut self, n: usize, why: &str, down_ms: u64) {
        self.stats.crashes += 1;
        self.trace(format!("CRASH {} ({why}), down {down_ms} ms", self.name(n)));
        for l in self.nodes[n].links.clone() {
            self.cut(l, "node crashed");
        }
        let node = &mut self.nodes[n];
        node.store = None;
        node.kv.crash();
        self.schedule(self.now + down_ms, Ev::Restart(n));
    }

    fn restart(&mut self, n: usize) {
        if self.nodes[n].up() {
            return;
        }
        let resets = std::mem::take(&mut self.nodes[n].resets);
        for r in resets {
            let mut batch = WriteBatch::default();
            match r {
                Reset::Epoch => {
                    self.stats.epoch_resets += 1;
                    batch.delete(b"m/epoch".to_vec());
                }
                Reset::Checkpoint(peer) => {
                    self.stats.checkpoints_lost += 1;
                    batch.delete(format!("p/{}", self.nodes[peer].name).into_bytes());
                }
            }
            self.trace(format!("{} restarts with {r:?}", self.name(n)));
            let kv = &self.nodes[n].kv;
            kv.apply(&batch).and_then(|()| kv.sync()).expect("reset");
        }
        self.open_store(n);
        self.trace(format!("RESTART {} seq {}", self.name(n), self.nodes[n].seen_seq));
        for l in self.nodes[n].links.clone() {
            let at = self.now + self.rng.range(0, 50);
            self.schedule(at, Ev::Connect(l));
        }
    }

    /// After a write or a served request: a power cut crashes the node.
    fn check_power(&mut self, n: usize, during: &str) -> bool {
        if self.nodes[n].kv.power_lost() {
            self.stats.power_cuts += 1;
            let down = self.rng.range(50, 2_000);
            self.crash(n, &format!("power cut during {during}"), down);
            true
        } else {
            false
        }
    }

    /// Every session of the node hears of its new feed position (the store's `watch_seq`).
    fn notify(&mut self, n: usize) {
        let Some(store) = &self.nodes[n].store else { return };
        let seq = store.last_seq().expect("seq");
        if seq == self.nodes[n].seen_seq {
            return;
        }
        self.nodes[n].seen_seq = seq;
        for l in self.nodes[n].links.clone() {
            let side = if self.links[l].ends[0] == n { 0 } else { 1 };
            if let Some(conn) = self.links[l].conn.as_mut() {
                conn.ends[side].session.local_changed(seq);
                self.pump(l, side);
            }
        }
    }

    // ----- links -----

    fn end_for(&self, n: usize, peer: usize) -> End {
        let (me, other) = (&self.nodes[n], &self.nodes[peer]);
        let store = me.store().clone();
        let checkpoint = store.checkpoint(&other.name).expect("checkpoint");
        let policy = ScopePolicy { me: me.access.clone(), peer: other.access.clone() };
        let session = Session::new(
            SessionConfig {
                node: me.name.clone(),
                peer: other.name.clone(),
                epoch: store.epoch(),
                feed_seq: store.last_seq().expect("seq"),
                docs: store.doc_count().expect("docs"),
                checkpoint: checkpoint.map(|c| Cursor { epoch: c.epoch, seq: c.seq }),
                limits: self.p.limits.clone(),
            },
            Box::new(policy.clone()),
        );
        End {
            session,
            host: Host::new(store, policy, 1),
            decoder: wire::Decoder::default(),
            storage: VecDeque::new(),
            storage_busy: false,
        }
    }

    fn connect(&mut self, l: usize) {
        let [a, b] = self.links[l].ends;
        let link = &self.links[l];
        if link.conn.is_some() || link.partitioned || !self.nodes[a].up() || !self.nodes[b].up() {
            return;
        }
        let ends = [self.end_for(a, b), self.end_for(b, a)];
        let link = &mut self.links[l];
        link.generation += 1;
        link.conn = Some(Conn {
            generation: link.generation,
            ends,
            inflight: [VecDeque::new(), VecDeque::new()],
            last_delivery: [0, 0],
        });
        self.stats.sessions += 1;
        self.trace(format!("connect {}", self.link_name(l)));
        self.pump(l, 0);
        self.pump(l, 1);
    }

    /// Drops the connection (both sessions, everything in flight); the dialler retries later.
    fn cut(&mut self, l: usize, why: &str) {
        if self.links[l].conn.take().is_some() {
            self.trace(format!("cut {}: {why}", self.link_name(l)));
            let at = self.now + self.links[l].backoff.next_delay_ms();
            self.schedule(at, Ev::Connect(l));
        }
    }

    /// Drains a session's outputs.
    fn pump(&mut self, l: usize, side: usize) {
        loop {
            let Some(conn) = self.links[l].conn.as_mut() else { return };
            let generation = conn.generation;
            let Some(out) = conn.ends[side].session.poll() else { return };
            match out {
                Output::Send(m) => self.send(l, side, m),
                Output::Storage(r) => {
                    let end = &mut conn.ends[side];
                    end.storage.push_back(r);
                    if !end.storage_busy {
                        end.storage_busy = true;
                        let at = self.now + self.storage_delay();
                        self.schedule(at, Ev::Storage { link: l, generation, side });
                    }
                }
                Output::Event(e) => self.on_event(l, side, e),
                Output::Close(r) => {
                    let who = self.name(self.links[l].ends[side]).to_string();
                    self.trace(format!("{who} closes {}: {} {}", self.link_name(l), r.code, r.reason));
                    *self.stats.closes.entry(r.code).or_default() += 1;
                    self.cut(l, "session closed");
                    return;
                }
            }
        }
    }

    fn storage_delay(&mut self) -> u64 {
        if self.rng.chance(0.5) { 0 } else { self.rng.range(1, self.p.storage_max_ms) }
    }

    fn on_event(&mut self, l: usize, side: usize, e: Event) {
        let who = self.name(self.links[l].ends[side]).to_string();
        match e {
            Event::Established { reconcile, .. } => {
                self.links[l].backoff.reset();
                if reconcile {
                    self.stats.reconciliations += 1;
                }
                self.trace(format!("{who} established on {} (reconcile {reconcile})", self.link_name(l)));
            }
            Event::Applied { docs, refused, .. } => {
                // Refusals are for what the policy forbids (reference data from a township, a
                // case of another scope); anything else refused and acknowledged would be lost
                // on this link.
                let [me, peer] = if side == 0 {
                    self.links[l].ends
                } else {
                    [self.links[l].ends[1], self.links[l].ends[0]]
                };
                let policy =
                    ScopePolicy { me: self.nodes[me].access.clone(), peer: self.nodes[peer].access.clone() };
                for (doc, reason) in &refused {
                    // In this simulation a case's scope is its number's node code.
                    let scope = if doc.starts_with("ref:") { None } else { doc.get(..9) };
                    if policy.check_incoming(doc, scope).is_ok() {
                        self.fail(format!(
                            "{who} refused {doc} from {}, which it may take: {reason}",
                            self.name(peer)
                        ));
                    }
                }
                self.stats.refused_docs += refused.len() as u64;
                let from = self.name(peer).to_string();
                self.trace(format!("{who} applied {docs} from {from}, refused {}", refused.len()));
            }
            Event::PeerAcked { upto } => {
                self.trace(format!("{who} acked by {} up to {upto:?}", self.link_name(l)))
            }
            Event::CaughtUp { peer_head } => {
                self.trace(format!("{who} caught up on {} to {peer_head}", self.link_name(l)))
            }
        }
    }

    fn send(&mut self, l: usize, from: usize, m: Message) {
        let bytes = match wire::encode(&m) {
            Ok(b) => b,
            Err(e) => self.fail(format!(
                "{} cannot encode {}: {e}",
                self.link_name(l),
                describe(&m, self.trace_verbose)
            )),
        };
        self.stats.messages += 1;
        self.stats.bytes += bytes.len() as u64;
        let to = 1 - from;
        let mut frames = vec![Frame { bytes, corrupt: false }];
        let mut swap = false;
        if !self.healing {
            if self.rng.chance(self.p.corrupt) {
                let f = &mut frames[0];
                let at = self.rng.below(f.bytes.len() as u64) as usize;
                f.bytes[at] ^= 1 << self.rng.below(8);
                f.corrupt = true;
                self.stats.corrupt += 1;
            } else if self.rng.chance(self.p.dup) {
                frames.push(Frame { bytes: frames[0].bytes.clone(), corrupt: false });
                self.stats.dups += 1;
            }
            swap = self.rng.chance(self.p.swap);
        }
        for f in frames {
            let delay = self.rng.range(1, self.p.delay_max_ms);
            let Some(conn) = self.links[l].conn.as_mut() else { return };
            let at = (self.now + delay).max(conn.last_delivery[to]);
            conn.last_delivery[to] = at;
            conn.inflight[to].push_back(f);
            let generation = conn.generation;
            self.schedule(at, Ev::Deliver { link: l, generation, to });
        }
        if swap && let Some(conn) = self.links[l].conn.as_mut() {
            let q = &mut conn.inflight[to];
            if q.len() >= 2 {
                let n = q.len();
                q.swap(n - 1, n - 2);
                self.stats.swaps += 1;
            }
        }
    }

    fn deliver(&mut self, l: usize, generation: u64, to: usize) {
        let Some(conn) = self.conn_mut(l, generation) else { return };
        let Some(frame) = conn.inflight[to].pop_front() else { return };
        let end = &mut conn.ends[to];
        end.decoder.push(&frame.bytes);
        if frame.corrupt {
            // Whatever the flipped bit made of the frame, the session must not panic on it; the
            // connection is then cut (outputs discarded), as an authenticated transport would
            // never have delivered it.
            let outcome = loop {
                match end.decoder.next_message() {
                    Ok(Some(m)) => {
                        end.session.handle_message(m);
                        if end.session.is_closed() {
                            break 1;
                        }
                    }
                    Ok(None) => break 2,
                    Err(_) => break 0,
                }
            };
            match outcome {
                0 => self.stats.corrupt_refused_by_decoder += 1,
                1 => self.stats.corrupt_refused_by_session += 1,
                _ => self.stats.corrupt_taken += 1,
            }
            self.cut(l, "corrupted frame");
            return;
        }
        loop {
            let Some(conn) = self.conn_mut(l, generation) else { return };
            match conn.ends[to].decoder.next_message() {
                Ok(Some(m)) => {
                    let [a, b] = self.links[l].ends;
                    let (src, dst) = if to == 1 { (a, b) } else { (b, a) };
                    self.trace(format!(
                        "{} > {}: {}",
                        self.name(src),
                        self.name(dst),
                        describe(&m, self.trace_verbose)
                    ));
                    if let Some(conn) = self.conn_mut(l, generation) {
                        conn.ends[to].session.handle_message(m);
                    }
                    self.pump(l, to);
                }
                Ok(None) => return,
                Err(e) => {
                    self.fail(format!("{}: an intact frame did not decode: {e}", self.link_name(l)));
                }
            }
        }
    }

    fn serve_storage(&mut self, l: usize, generation: u64, side: usize) {
        let n = self.links[l].ends[side];
        let result = {
            let Some(conn) = self.conn_mut(l, generation) else { return };
            let end = &mut conn.ends[side];
            let Some(req) = end.storage.pop_front() else {
                end.storage_busy = false;
                return;
            };
            end.host.serve(req)
        };
        if self.check_power(n, "a replicated write") {
            return;
        }
        let seq = self.nodes[n].store().last_seq().expect("seq");
        let next = self.storage_delay();
        let now = self.now;
        let Some(conn) = self.conn_mut(l, generation) else { return };
        let end = &mut conn.ends[side];
        match result {
            Ok(Some(reply)) => end.session.handle_reply(reply),
            Ok(None) => {}
            Err(e) => end.session.close(Refusal { code: "storage".into(), reason: e.to_string() }),
        }
        end.session.local_changed(seq);
        let more = !end.storage.is_empty();
        end.storage_busy = more;
        if more {
            self.schedule(now + next, Ev::Storage { link: l, generation, side });
        }
        self.pump(l, side);
        self.notify(n);
    }

    // ----- workload -----

    fn up_nodes(&self, townships_only: bool) -> Vec<usize> {
        (0..self.nodes.len()).filter(|&n| self.nodes[n].up() && !(townships_only && n == HALL)).collect()
    }

    fn record(&mut self, n: usize, doc: String, scope: Option<String>, heads: Vec<ChangeHash>) {
        self.ledger.push(Acked { doc, scope, heads, by: n, at: self.now });
        self.notify(n);
    }

    fn write_failed(&mut self, n: usize, what: &str, e: StoreError) {
        if !self.check_power(n, what) {
            self.fail(format!("{} could not {what}: {e}", self.name(n)));
        }
    }

    fn create(&mut self, n: usize) {
        let node = &mut self.nodes[n];
        let serial = node.next_serial;
        node.next_serial += 1;
        let whole = self.rng.chance(0.3);
        let node = &self.nodes[n];
        let case =
            if whole { node.factory.case(self.day, serial) } else { node.factory.received(self.day, serial) }
                .expect("fixture case");
        let id = case.header.number.to_string();
        match node.store().create(&case) {
            Ok(ack) => {
                self.stats.cases += 1;
                self.trace(format!("{} creates {id}", self.name(n)));
                self.record(n, id, Some(case.header.scope.clone()), ack.heads);
            }
            Err(e) => self.write_failed(n, "create a case", e),
        }
    }

    fn append(&mut self, n: usize) {
        let store = self.nodes[n].store().clone();
        let docs: Vec<String> = if self.nodes[n].access.hall {
            store.digest().expect("digest").into_iter().filter(|e| e.scope.is_some()).map(|e| e.doc).collect()
        } else {
            store.find(Index::Scope, &self.nodes[n].access.scope, 100_000).expect("find")
        };
        if docs.is_empty() {
            return;
        }
        // Half the time one of the two oldest cases of a scope: cases that its township's nodes and
        // the hall all write to, so that histories diverge while links are down.
        let pool: Vec<&String> = if self.rng.chance(0.5) {
            let mut scopes: Vec<&str> = docs.iter().filter_map(|d| d.get(..9)).collect();
            scopes.dedup();
            let scope = self.rng.pick(&scopes);
            docs.iter().filter(|d| d.starts_with(scope)).take(2).collect()
        } else {
            docs.iter().collect()
        };
        let id = pool[self.rng.below(pool.len() as u64) as usize].clone();
        let case =
            store.case(&id).unwrap_or_else(|e| self.fail(format!("{} cannot read {id}: {e}", self.name(n))));
        let event = self.nodes[n].factory.next_event(&case);
        match store.append(&id, &[event]) {
            Ok(ack) => {
                self.stats.appends += 1;
                self.trace(format!("{} appends to {id}", self.name(n)));
                self.record(n, id, Some(case.header.scope.clone()), ack.heads);
            }
            Err(e) => self.write_failed(n, "append an event", e),
        }
    }

    fn update_reference(&mut self) {
        self.dishonesty_version += 1;
        let list = DishonestyList { version: self.dishonesty_version, entries: Vec::new() };
        match self.nodes[HALL].store().put_reference(RefKind::Dishonesty, &list) {
            Ok(ack) => {
                self.stats.refs += 1;
                self.trace(format!("hall puts dishonesty list v{}", self.dishonesty_version));
                self.record(HALL, CaseStore::reference_id(RefKind::Dishonesty), None, ack.heads);
            }
            Err(e) => self.write_failed(HALL, "update the dishonesty list", e),
        }
    }

    fn step(&mut self) {
        let roll = self.rng.below(100);
        match roll {
            // Intake: mostly townships; now and then the hall in its own scope.
            0..=29 => {
                let nodes = self.up_nodes(roll >= 3);
                if !nodes.is_empty() {
                    let n = self.rng.pick(&nodes);
                    self.create(n);
                }
            }
            30..=49 => {
                let nodes = self.up_nodes(true);
                if !nodes.is_empty() {
                    let n = self.rng.pick(&nodes);
                    self.append(n);
                }
            }
            50..=59 if self.nodes[HALL].up() => self.append(HALL),
            60..=62 if self.nodes[HALL].up() => self.update_reference(),
            63..=66 => {
                let l = self.rng.below(self.links.len() as u64) as usize;
                if !self.links[l].partitioned {
                    self.links[l].partitioned = true;
                    self.stats.partitions += 1;
                    let until = self.now + self.rng.range(200, 8_000);
                    self.trace(format!("PARTITION {} until {until}", self.link_name(l)));
                    self.cut(l, "partition");
                    self.schedule(until, Ev::Heal(l));
                }
            }
            67..=71 => {
                let up: Vec<usize> =
                    (0..self.links.len()).filter(|&l| self.links[l].conn.is_some()).collect();
                if !up.is_empty() {
                    let l = self.rng.pick(&up);
                    self.stats.drops += 1;
                    self.cut(l, "connection lost");
                }
            }
            72..=73 => {
                let nodes = self.up_nodes(false);
                if !nodes.is_empty() {
                    let n = self.rng.pick(&nodes);
                    let reset = self.rng.below(10);
                    if reset < 2 {
                        self.nodes[n].resets.push(Reset::Epoch);
                    } else if reset < 4 {
                        let links = self.nodes[n].links.clone();
                        let l = self.rng.pick(&links);
                        let [a, b] = self.links[l].ends;
                        self.nodes[n].resets.push(Reset::Checkpoint(if a == n { b } else { a }));
                    }
                    let down = self.rng.range(100, 5_000);
                    self.crash(n, "crash", down);
                }
            }
            74..=75 => {
                let nodes = self.up_nodes(false);
                if !nodes.is_empty() {
                    let n = self.rng.pick(&nodes);
                    self.trace(format!("power will fail at {}'s next commit", self.name(n)));
                    self.nodes[n].kv.cut_next_sync.store(true, Ordering::SeqCst);
                }
            }
            _ => {}
        }
    }

    // ----- the run -----

    fn heal(&mut self) {
        self.healing = true;
        self.heal_at = self.now;
        self.trace("HEAL".into());
        for n in 0..self.nodes.len() {
            self.nodes[n].kv.cut_next_sync.store(false, Ordering::SeqCst);
            self.restart(n);
        }
        for l in 0..self.links.len() {
            self.links[l].partitioned = false;
            self.schedule(self.now, Ev::Connect(l));
        }
    }

    fn run(mut self) -> Report {
        match self.nodes[HALL].store().put_reference(RefKind::Catalog, &Catalog::sample()) {
            Ok(ack) => self.record(HALL, CaseStore::reference_id(RefKind::Catalog), None, ack.heads),
            Err(e) => self.fail(format!("catalog: {e}")),
        }
        self.schedule(0, Ev::Step);
        for l in 0..self.links.len() {
            let at = self.rng.range(0, 100);
            self.schedule(at, Ev::Connect(l));
        }
        let mut heal_events = 0u64;
        while let Some(Reverse((at, _, ev))) = self.queue.pop() {
            self.now = at;
            self.stats.events += 1;
            if self.healing {
                heal_events += 1;
                if heal_events > HEAL_EVENTS_MAX || at > self.heal_at + HEAL_MS_MAX {
                    let state = self.session_states();
                    self.fail(format!(
                        "not quiescent {heal_events} events and {} ms after healing\n{state}",
                        at - self.heal_at
                    ));
                }
            }
            match ev {
                Ev::Step => {
                    if self.steps_done < self.p.steps {
                        self.steps_done += 1;
                        self.step();
                        let at = self.now + self.rng.range(1, self.p.step_gap_ms);
                        self.schedule(at, Ev::Step);
                    } else {
                        self.heal();
                    }
                }
                Ev::Connect(l) => self.connect(l),
                Ev::Deliver { link, generation, to } => self.deliver(link, generation, to),
                Ev::Storage { link, generation, side } => self.serve_storage(link, generation, side),
                Ev::Heal(l) => {
                    if self.links[l].partitioned {
                        self.links[l].partitioned = false;
                        self.trace(format!("partition of {} heals", self.link_name(l)));
                        self.schedule(self.now, Ev::Connect(l));
                    }
                }
                Ev::Restart(n) => self.restart(n),
            }
        }
        let quiet_after = self.now - self.heal_at;
        self.check_sessions();
        let reordered = self.check_documents();
        Report {
            line: format!(
                "simulation seed {}: {}; quiescent {quiet_after} ms after healing; {reordered} cases listed in \
                 another event order by one holder",
                self.seed,
                self.figures()
            ),
            digest: self.digest,
        }
    }

    fn session_states(&self) -> String {
        let mut out = String::new();
        for (l, link) in self.links.iter().enumerate() {
            let _ = write!(out, "  {}: ", self.link_name(l));
            match &link.conn {
                None => {
                    let _ = writeln!(out, "no connection (partitioned {})", link.partitioned);
                }
                Some(c) => {
                    for (side, end) in c.ends.iter().enumerate() {
                        let s = &end.session;
                        let _ = write!(
                            out,
                            "[{}: hello {} caught_up {} in_flight {} closed {} storage {} frames {}] ",
                            self.name(link.ends[side]),
                            s.peer_hello().is_some(),
                            s.caught_up(),
                            s.batches_in_flight(),
                            s.is_closed(),
                            end.storage.len(),
                            c.inflight[side].len()
                        );
                    }
                    let _ = writeln!(out);
                }
            }
        }
        out
    }

    fn check_sessions(&self) {
        for (l, link) in self.links.iter().enumerate() {
            let Some(c) = &link.conn else {
                self.fail(format!(
                    "{} is not connected after healing\n{}",
                    self.link_name(l),
                    self.session_states()
                ))
            };
            for (side, end) in c.ends.iter().enumerate() {
                let s = &end.session;
                let ok = s.peer_hello().is_some()
                    && s.caught_up()
                    && s.batches_in_flight() == 0
                    && !s.is_closed()
                    && end.storage.is_empty()
                    && c.inflight[side].is_empty();
                if !ok {
                    self.fail(format!(
                        "nothing left to do, but a session on {} is not done\n{}",
                        self.link_name(l),
                        self.session_states()
                    ));
                }
            }
        }
    }

    /// Returns the documents whose holders' `case()` answers list the same events in another
    /// order.
    fn check_documents(&self) -> usize {
        let mut reordered = 0;
        let stores: Vec<&Arc<CaseStore>> = self.nodes.iter().map(|n| n.store()).collect();
        // Every document anywhere, with its scope.
        let mut docs: BTreeMap<String, Option<String>> = BTreeMap::new();
        for (n, store) in stores.iter().enumerate() {
            for e in store.digest().expect("digest") {
                if let Some(scope) = docs.get(&e.doc)
                    && *scope != e.scope
                {
                    self.fail(format!(
                        "{} has {} in scope {:?}, others in {scope:?}",
                        self.name(n),
                        e.doc,
                        e.scope
                    ));
                }
                docs.insert(e.doc, e.scope);
            }
        }
        for (doc, scope) in &docs {
            let mut first: Option<(usize, Vec<ChangeHash>)> = None;
            for (n, store) in stores.iter().enumerate() {
                let may = self.nodes[n].access.reads(doc, scope.as_deref());
                let heads = store.heads(doc).expect("heads").map(sorted);
                match (may, heads) {
                    (false, Some(_)) => {
                        self.fail(format!("{} holds {doc} of scope {scope:?}, outside its own", self.name(n)))
                    }
                    (true, None) => self.fail(format!("{} lacks {doc} (scope {scope:?})", self.name(n))),
                    (false, None) => {}
                    (true, Some(heads)) => match &first {
                        None => first = Some((n, heads)),
                        Some((m, theirs)) => {
                            if *theirs != heads {
                                self.fail(format!(
                                    "{doc}: {} has heads {theirs:?}, {} has {heads:?}",
                                    self.name(*m),
                                    self.name(n)
                                ));
                            }
                            if self.same_content(doc, *m, n) {
                                reordered += 1;
                            }
                        }
                    },
                }
            }
        }
        for a in &self.ledger {
            for (n, store) in stores.iter().enumerate() {
                if self.nodes[n].access.reads(&a.doc, a.scope.as_deref())
                    && !store.contains_all(&a.doc, &a.heads).expect("contains")
                {
                    self.fail(format!(
                        "{} lost a change to {} acknowledged by {} at {} ms",
                        self.name(n),
                        a.doc,
                        self.name(a.by),
                        a.at
                    ));
                }
            }
        }
        for (n, node) in self.nodes.iter().enumerate() {
            if node.access.hall {
                continue;
            }
            for other in ["410184000", "410184001", "410184002", "410184003"] {
                if other != node.access.scope
                    && !stores[n].find(Index::Scope, other, 10).expect("find").is_empty()
                {
                    self.fail(format!("{} indexes cases of scope {other}", node.name));
                }
            }
        }
        reordered
    }

    /// The same folded case (or reference value) at both nodes.
    /// Returns true when the two `case()` answers hold the same events in another order (see
    /// [`strict_event_order`]).
    fn same_content(&self, doc: &str, a: usize, b: usize) -> bool {
        let (sa, sb) = (self.nodes[a].store(), self.nodes[b].store());
        if let Some(kind) = doc.strip_prefix("ref:") {
            let kind = RefKind::parse(kind).expect("known reference kind");
            let va: Option<serde_json::Value> = sa.reference(kind).expect("reference");
            let vb: Option<serde_json::Value> = sb.reference(kind).expect("reference");
            if va != vb {
                self.fail(format!("{doc}: {} holds {va:?}, {} holds {vb:?}", self.name(a), self.name(b)));
            }
            return false;
        }
        let ca = sa.case(doc).expect("case");
        let cb = sb.case(doc).expect("case");
        if ca.state() != cb.state() {
            self.fail(format!(
                "{doc}: the folded states differ between {} and {}",
                self.name(a),
                self.name(b)
            ));
        }
        if ca != cb {
            let mut ea = ca.events.clone();
            let mut eb = cb.events.clone();
            ea.sort();
            eb.sort();
            if ca.header == cb.header && ea == eb {
                // Same events in another order: which one is the documents' order?
                let fresh = |n: usize| {
                    let kv: Arc<dyn Kv> = self.nodes[n].kv.clone();
                    let s =
                        CaseStore::open(kv, b"check".to_vec(), self.p.store.clone(), WorkCalendar::builtin())
                            .expect("reopen");
                    s.case(doc).expect("case")
                };
                let (fa, fb) = (fresh(a), fresh(b));
                if strict_event_order() {
                    let names = |c: &yikou_schema::case::Case| -> Vec<String> {
                        c.events.iter().map(|e| e.hlc.to_string()).collect()
                    };
                    self.fail(format!(
                        "{doc}: the same events in another order: {} {:?} (reloaded: {:?}), {} {:?} \
                         (reloaded: {:?})",
                        self.name(a),
                        names(&ca),
                        names(&fa),
                        self.name(b),
                        names(&cb),
                        names(&fb),
                    ));
                }
                // Reloaded from storage, both give the document's order.
                if fa != fb {
                    self.fail(format!(
                        "{doc}: {} and {} hold the same events but their documents order them apart",
                        self.name(a),
                        self.name(b)
                    ));
                }
                return true;
            }
            self.fail(format!(
                "{doc}: the cases differ between {} ({} events) and {} ({} events)",
                self.name(a),
                ca.events.len(),
                self.name(b),
                cb.events.len()
            ));
        }
        false
    }
}

// ---------------------------------------------------------------------------------------------
// Seeds

/// The settings of this run that a replay needs besides the seed (` NAME=value` each).
fn replay_env() -> String {
    ["YIKOU_SIM_STEPS", "YIKOU_SIM_FAULTS", "YIKOU_SIM_STRICT_ORDER"]
        .iter()
        .filter_map(|name| std::env::var(name).ok().map(|v| format!(" {name}={v}")))
        .collect()
}

/// 1.0 if the message-level fault is on: all are, unless `YIKOU_SIM_FAULTS` lists the ones to
/// keep (`YIKOU_SIM_FAULTS=dup,corrupt`; `none` for none). A seed's parameters stay the same.
fn fault_on(fault: &str) -> f64 {
    match std::env::var("YIKOU_SIM_FAULTS") {
        Ok(list) if !list.trim().is_empty() => {
            if list.split(',').any(|f| f.trim() == fault) {
                1.0
            } else {
                0.0
            }
        }
        _ => 1.0,
    }
}

/// Whether two holders of a case must list its events in the same order (`case()` equal, not
/// only its folded state and its set of events). On by default since `CaseDoc::case` returns the
/// events in canonical (HLC) order (the simulation had found the cached and the loaded copies of
/// a case listing them differently). `YIKOU_SIM_STRICT_ORDER=0` turns the check off.
fn strict_event_order() -> bool {
    std::env::var("YIKOU_SIM_STRICT_ORDER").map_or(true, |v| !v.is_empty() && v != "0")
}

fn steps() -> u32 {
    std::env::var("YIKOU_SIM_STEPS").ok().and_then(|s| s.trim().parse().ok()).unwrap_or(STEPS_DEFAULT)
}

/// The seeds to run, and for a range (progress reports) whether to stop at its first failure.
fn seeds() -> (Vec<u64>, Option<bool>) {
    let var = |name: &str| std::env::var(name).ok().map(|s| s.trim().to_string()).filter(|s| !s.is_empty());
    if let Some(s) = var("YIKOU_SIM_SEED") {
        return (vec![s.parse().expect("YIKOU_SIM_SEED is a number")], None);
    }
    if let Some(r) = var("YIKOU_SIM_SEEDS") {
        let (a, b) = r.split_once("..").expect("YIKOU_SIM_SEEDS is start..end");
        let (a, b): (u64, u64) = (a.parse().expect("start"), b.parse().expect("end"));
        // `YIKOU_SIM_KEEP_GOING=1`: run the whole range and list every failing seed.
        return ((a..b).collect(), Some(var("YIKOU_SIM_KEEP_GOING").is_none_or(|v| v == "0")));
    }
    let mut seeds = CI_SEEDS.to_vec();
    if let Some(s) = var("YIKOU_SEED").and_then(|s| s.parse().ok())
        && !seeds.contains(&s)
    {
        seeds.push(s);
    }
    (seeds, None)
}

fn panic_text(p: &(dyn std::any::Any + Send)) -> String {
    p.downcast_ref::<String>()
        .cloned()
        .or_else(|| p.downcast_ref::<&str>().map(|s| s.to_string()))
        .unwrap_or_default()
}

#[test]
fn seeded_runs_converge_and_lose_no_acknowledged_change() {
    let (seeds, range) = seeds();
    let steps = steps();
    let threads = std::thread::available_parallelism().map_or(1, |n| n.get()).min(seeds.len()).max(1);
    let next = AtomicUsize::new(0);
    let done = AtomicUsize::new(0);
    let stop = AtomicBool::new(false);
    let failures: Mutex<Vec<(u64, String)>> = Mutex::new(Vec::new());
    let started = std::time::Instant::now();
    std::thread::scope(|scope| {
        for _ in 0..threads {
            scope.spawn(|| {
                while !stop.load(Ordering::SeqCst) {
                    let i = next.fetch_add(1, Ordering::SeqCst);
                    let Some(&seed) = seeds.get(i) else { break };
                    println!("simulation seed {seed}");
                    let t = std::time::Instant::now();
                    match std::panic::catch_unwind(AssertUnwindSafe(|| Sim::new(seed, steps).run())) {
                        Ok(report) => println!("{} [{:.1} s]", report.line, t.elapsed().as_secs_f64()),
                        Err(p) => {
                            failures.lock().unwrap().push((seed, panic_text(p.as_ref())));
                            if range == Some(true) {
                                stop.store(true, Ordering::SeqCst);
                            }
                        }
                    }
                    let d = done.fetch_add(1, Ordering::SeqCst) + 1;
                    if range.is_some() && (d.is_multiple_of(100) || d == seeds.len()) {
                        println!(
                            "progress: {d}/{} seeds in {:.0} s, {} failed",
                            seeds.len(),
                            started.elapsed().as_secs_f64(),
                            failures.lock().unwrap().len()
                        );
                    }
                }
            });
        }
    });
    let mut failures = failures.into_inner().unwrap();
    failures.sort();
    if let Some((first, text)) = failures.first() {
        let all: Vec<u64> = failures.iter().map(|f| f.0).collect();
        panic!(
            "simulation failed for seeds {all:?}; first failing seed {first}\n{text}\n\
             replay: YIKOU_SIM_SEED={first}{} cargo test -p yikou-node --test simulation -- --nocapture",
            replay_env()
        );
    }
}

#[test]
fn a_seed_replays_identically() {
    let seed = CI_SEEDS[0];
    let a = Sim::new(seed, 80).run();
    let b = Sim::new(seed, 80).run();
    assert_eq!(a.digest, b.digest, "seed {seed} ran differently twice:\n{}\n{}", a.line, b.line);
}
