//! Benchmarks of replication between two nodes in one process over real loopback QUIC with
//! mutual TLS (`scripts/bench-sync.sh` runs them and prints the tables for docs/BENCHMARKS.md).
//! Every figure stands beside a baseline measured in the same run.
//!
//! `yikou-bench-sync pair --docs N [--receipt] [--changed C] [--baseline] [--profile] [--relay]`:
//! a hall (`hall`) is filled with N cases (five events each; `--receipt`: the receipt only) by
//! 32 writer threads, then an empty hall-role node (`hall-annex`) dials it:
//!
//! - **bootstrap**: time until the new node holds the N documents (and until both sides have
//!   acknowledged each other's feeds and recorded checkpoints); `--baseline`: Automerge
//!   `AutoCommit::load` + `save` of the same N documents in this process, one thread (and two);
//! - **reconnect with nothing changed** (both hold checkpoints): frame bytes of a fresh session
//!   over QUIC (`PeerStatus` of both sides) and the UDP datagrams and bytes through a perfect
//!   relay (QUIC and TLS handshake included); then the same session driven in-process (two
//!   `yikou_sync::Session`s, each served by `replica::Host` over its real store), which counts
//!   every message;
//! - **catch-up** of C changed cases (one `next_event` appended to each on the hall while the
//!   new node is away): frame bytes against the changes' encoded size (the sum of the
//!   `save_after(old heads)` chunks the host sends, and of the changes' own encodings), and the
//!   time; once over QUIC, once in-process with another C cases (messages by kind);
//! - `--relay`: another C changed cases through the lossy relay (20 % loss, 300 ms each way);
//! - `--profile`: where one document's bootstrap goes (sender's read, frame coding, receiver's
//!   apply, Automerge steps), each measured on its own.
//!
//! `yikou-bench-sync export --dir D --docs N --changed C` writes N case documents (Automerge
//! `save()`) and the changes of C of them to D, once, for every contender of `scripts/bench.sh`;
//! `yikou-bench-sync compare --dir D` syncs them (a) between two nodes over loopback QUIC and
//! (c) with Automerge alone in this process (the limit), bootstrap and reconnect after the C
//! changed, and prints `RESULT {json}` lines (time, bytes, CPU, peak memory).
//!
//! `yikou-bench-sync machine` prints the processor.

#[global_allocator]
static ALLOCATOR: mimalloc::MiMalloc = mimalloc::MiMalloc;

use std::collections::BTreeMap;
use std::net::SocketAddr;
use std::path::Path;
use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::{Duration, Instant, SystemTime};

use anyhow::{Context, Result, bail};
use automerge::{AutoCommit, ChangeHash};
use chrono::NaiveDate;
use yikou_node::doc::CaseDoc;
use yikou_node::fixtures::CaseFactory;
use yikou_node::net::{NetConfig, PeerAddr, PeerStatus, Replicator};
use yikou_node::pki::{Ca, NodeCredentials, NodeIdentity, PeerRole};
use yikou_node::relay::{Impairment, Relay, RelayStats};
use yikou_node::replica::{APPLY_THREADS_DEFAULT, Access, Host, ScopePolicy};
use yikou_node::store::{CaseStore, SledKv, StoreConfig};
use yikou_schema::calendar::WorkCalendar;
use yikou_sync::session::{Limits, Output, Reply, Request, Session, SessionConfig};
use yikou_sync::wire::{self, Cursor, Data, DocData, Message};

const HALL: &str = "hall";
const ANNEX: &str = "hall-annex";
const SCOPE: &str = "410184000";
const FILL_THREADS: u64 = 32;
const CHANGE_THREADS: usize = 16;
const RELAY_SEED: u64 = 20_261_125;

struct Opts {
    docs: u64,
    receipt: bool,
    changed: usize,
    baseline: bool,
    profile: bool,
    relay: bool,
}

struct Node {
    name: &'static str,
    store: Arc<CaseStore>,
    creds: NodeCredentials,
}

impl Node {
    fn new(ca: &mut Ca, dir: &Path, name: &'static str) -> Result<Node> {
        let kv = Arc::new(SledKv::open(&dir.join(name))?);
        let store =
            CaseStore::open(kv, name.as_bytes().to_vec(), StoreConfig::default(), WorkCalendar::builtin())?;
        let creds =
            ca.issue_in_memory(&NodeIdentity::new(name, PeerRole::Hall, SCOPE)?, SystemTime::now())?;
        Ok(Node { name, store: Arc::new(store), creds })
    }

    async fn start(&self, peer: Option<(&str, SocketAddr)>, lossy: bool) -> Result<Replicator> {
        let mut cfg = NetConfig::new("127.0.0.1:0".parse()?);
        (cfg.backoff_base_ms, cfg.backoff_max_ms) = if lossy { (100, 2_000) } else { (50, 500) };
        cfg.peers = peer.map(|(name, addr)| PeerAddr { name: name.to_string(), addr }).into_iter().collect();
        Ok(Replicator::start(self.store.clone(), self.creds.clone(), cfg).await?)
    }
}

fn machine() -> String {
    let cpu = std::fs::read_to_string("/proc/cpuinfo")
        .ok()
        .and_then(|s| {
            s.lines()
                .find(|l| l.starts_with("model name"))
                .and_then(|l| l.split(':').nth(1))
                .map(|m| m.trim().to_string())
        })
        .unwrap_or_else(|| "unknown".into());
    let cores = std::thread::available_parallelism().map_or(0, |n| n.get());
    format!("{cores} cores (nproc), {cpu}")
}

/// Processor time of this process so far, in seconds (user + system; Linux clock ticks of 1/100 s).
fn cpu_secs() -> f64 {
    std::fs::read_to_string("/proc/self/stat")
        .ok()
        .and_then(|s| {
            let rest = s.rsplit_once(')')?.1.split_whitespace().collect::<Vec<_>>();
            // Fields 14 and 15 of the whole line: the 12th and 13th after the command.
            Some(rest.get(11)?.parse::<f64>().ok()? + rest.get(12)?.parse::<f64>().ok()?)
        })
        .map_or(0.0, |ticks| ticks / 100.0)
}

/// Serials are per node per day (at most 99,999): spread cases over days.
fn serial_day(n: u64) -> (NaiveDate, u32) {
    let base = NaiveDate::from_ymd_opt(2026, 1, 5).unwrap_or(NaiveDate::MIN);
    let day = base + chrono::Duration::days((n / 90_000) as i64);
    (day, (n % 90_000) as u32 + 1)
}

/// Fills the store with `n` cases from FILL_THREADS writers (durable creations, cases generated
/// as they go); returns the documents' ids in serial order and the seconds taken.
fn fill(store: &Arc<CaseStore>, n: u64, receipt: bool) -> Result<(Vec<String>, f64)> {
    let start = Instant::now();
    let done = Arc::new(AtomicUsize::new(0));
    let handles: Vec<_> = (0..FILL_THREADS)
        .map(|t| {
            let (store, done) = (store.clone(), done.clone());
            std::thread::spawn(move || -> Result<Vec<(u64, String)>> {
                let f = CaseFactory::new("town-a", 1).map_err(anyhow::Error::msg)?;
                let mut ids = Vec::new();
                let mut i = t;
                while i < n {
                    let (day, serial) = serial_day(i);
                    let case = if receipt { f.received(day, serial)? } else { f.case(day, serial)? };
                    store.create(&case)?;
                    ids.push((i, case.header.number.to_string()));
                    done.fetch_add(1, Ordering::Relaxed);
                    i += FILL_THREADS;
                }
                Ok(ids)
            })
        })
        .collect();
    let progress = progress_reporter("fill", done, n as usize);
    let mut ids = Vec::with_capacity(n as usize);
    for h in handles {
        ids.extend(h.join().map_err(|_| anyhow::anyhow!("writer panicked"))??);
    }
    drop(progress);
    ids.sort();
    Ok((ids.into_iter().map(|(_, id)| id).collect(), start.elapsed().as_secs_f64()))
}

/// Prints progress to stderr every 30 s while it lives (for the long runs).
struct Progress(Arc<std::sync::atomic::AtomicBool>);

impl Drop for Progress {
    fn drop(&mut self) {
        self.0.store(true, Ordering::Relaxed);
    }
}

fn progress_reporter(what: &'static str, done: Arc<AtomicUsize>, total: usize) -> Progress {
    let stop = Arc::new(std::sync::atomic::AtomicBool::new(false));
    let s = stop.clone();
    std::thread::spawn(move || {
        let start = Instant::now();
        let mut last = Instant::now();
        while !s.load(Ordering::Relaxed) {
            std::thread::sleep(Duration::from_millis(200));
            if last.elapsed() >= Duration::from_secs(30) {
                last = Instant::now();
                eprintln!(
                    "  {what}: {}/{total} after {:.0} s",
                    done.load(Ordering::Relaxed),
                    start.elapsed().as_secs_f64()
                );
            }
        }
    });
    Progress(stop)
}

/// Polls `cond` every `every` until it holds; errors after `timeout`. Returns the time taken.
async fn wait_for(
    what: &str,
    timeout: Duration,
    every: Duration,
    mut cond: impl FnMut() -> Result<bool>,
) -> Result<Duration> {
    let start = Instant::now();
    while !cond()? {
        if start.elapsed() > timeout {
            bail!("timed out after {timeout:?} waiting for: {what}");
        }
        tokio::time::sleep(every).await;
    }
    Ok(start.elapsed())
}

fn peer(r: &Replicator, name: &str) -> PeerStatus {
    r.peer(name).unwrap_or_default()
}

/// Waits until a session's byte counters stop moving for `quiet`.
async fn settle_bytes(r: &Replicator, name: &str, quiet: Duration) -> PeerStatus {
    let mut last = peer(r, name);
    let mut since = Instant::now();
    loop {
        tokio::time::sleep(Duration::from_millis(50)).await;
        let now = peer(r, name);
        if (now.bytes_sent, now.bytes_received) != (last.bytes_sent, last.bytes_received) {
            since = Instant::now();
            last = now;
        } else if since.elapsed() >= quiet {
            return now;
        }
    }
}

/// Waits until the session is quiet (watched from the hall's side, whose status is cheap to
/// read), then reads the annex's status once; it must be caught up.
async fn quiet_status(ra: &Replicator, rh: &Replicator, quiet: Duration) -> Result<PeerStatus> {
    settle_bytes(rh, ANNEX, quiet).await;
    let p = peer(ra, HALL);
    if !p.caught_up {
        bail!("the annex is not caught up: {p:?}");
    }
    Ok(p)
}

/// Stops the annex's replicator and waits until the hall has seen the session end.
async fn stop(annex: Replicator, rh: &Replicator) -> Result<()> {
    annex.shutdown().await;
    wait_for(
        "the hall's session with the annex ended",
        Duration::from_secs(30),
        Duration::from_millis(20),
        || Ok(!peer(rh, ANNEX).connected),
    )
    .await?;
    Ok(())
}

fn both_checkpointed(hall: &Node, annex: &Node) -> Result<bool> {
    let a = annex.store.checkpoint(HALL)?.map(|c| c.seq);
    let h = hall.store.checkpoint(ANNEX)?.map(|c| c.seq);
    Ok(a == Some(hall.store.last_seq()?) && h == Some(annex.store.last_seq()?))
}

// ----- in-process sessions -----

#[derive(Default, Debug)]
struct Traffic {
    messages: usize,
    bytes: usize,
    kinds: BTreeMap<&'static str, (usize, usize)>,
    secs: f64,
}

impl Traffic {
    fn kinds(&self) -> String {
        self.kinds.iter().map(|(k, (n, b))| format!("{k} {n} ({b} B)")).collect::<Vec<_>>().join(", ")
    }
}

struct Side {
    session: Session,
    host: Host,
    store: Arc<CaseStore>,
    seen_seq: u64,
}

fn side(me: &Node, peer: &Node) -> Result<Side> {
    let policy = ScopePolicy { me: Access::hall(SCOPE), peer: Access::hall(SCOPE) };
    let store = me.store.clone();
    let checkpoint = store.checkpoint(peer.name)?.map(|c| Cursor { epoch: c.epoch, seq: c.seq });
    let seen_seq = store.last_seq()?;
    let session = Session::new(
        SessionConfig {
            node: me.name.to_string(),
            peer: peer.name.to_string(),
            epoch: store.epoch(),
            feed_seq: seen_seq,
            docs: store.doc_count()?,
            checkpoint,
            limits: Limits::default(),
        },
        Box::new(policy.clone()),
    );
    Ok(Side { session, host: Host::new(store.clone(), policy, APPLY_THREADS_DEFAULT), store, seen_seq })
}

/// One session between the two nodes without QUIC: both `Session`s in this thread, their storage
/// requests served in order by `replica::Host` over the real stores, every message through the
/// wire codec. Runs until neither side has anything to do.
fn in_process(hall: &Node, annex: &Node) -> Result<Traffic> {
    let mut sides = [side(hall, annex)?, side(annex, hall)?];
    let mut t = Traffic::default();
    let start = Instant::now();
    loop {
        let mut progress = false;
        for i in 0..2 {
            let (left, right) = sides.split_at_mut(1);
            let (me, other) =
                if i == 0 { (&mut left[0], &mut right[0]) } else { (&mut right[0], &mut left[0]) };
            while let Some(o) = me.session.poll() {
                progress = true;
                match o {
                    Output::Send(m) => {
                        let frame = wire::encode(&m)?;
                        t.messages += 1;
                        t.bytes += frame.len();
                        let k = t.kinds.entry(m.kind()).or_default();
                        k.0 += 1;
                        k.1 += frame.len();
                        let mut d = wire::Decoder::default();
                        d.push(&frame);
                        let msg = d.next_message()?.context("a whole frame")?;
                        other.session.handle_message(msg);
                    }
                    Output::Storage(r) => {
                        if let Some(reply) = me.host.serve(r)? {
                            me.session.handle_reply(reply);
                        }
                        // The store's write watch, as the quinn driver has it.
                        let seq = me.store.last_seq()?;
                        if seq > me.seen_seq {
                            me.seen_seq = seq;
                            me.session.local_changed(seq);
                        }
                    }
                    Output::Event(_) => {}
                    Output::Close(r) => bail!("in-process session closed: {} ({})", r.reason, r.code),
                }
            }
        }
        if !progress {
            break;
        }
    }
    t.secs = start.elapsed().as_secs_f64();
    if !(sides[0].session.caught_up() && sides[1].session.caught_up()) {
        bail!("in-process session ended without both sides caught up");
    }
    Ok(t)
}

// ----- changes -----

#[derive(Default, Debug, Clone, Copy)]
struct ChangeSizes {
    docs: usize,
    /// `save_after(old heads)`: the chunk the host sends for the document.
    save_after: usize,
    /// The changes' own encodings (`Change::bytes`, deflated when automerge finds it worth it).
    changes: usize,
    secs: f64,
}

/// Appends one event to each document on the hall (CHANGE_THREADS writers); returns the sizes of
/// what the annex lacks, and the old heads to check against afterwards.
fn change(hall: &Node, ids: &[String]) -> Result<ChangeSizes> {
    let next = AtomicUsize::new(0);
    let start = Instant::now();
    let parts: Vec<Result<ChangeSizes>> = std::thread::scope(|s| {
        let handles: Vec<_> = (0..CHANGE_THREADS)
            .map(|_| {
                s.spawn(|| -> Result<ChangeSizes> {
                    let f = CaseFactory::new("town-a", 1).map_err(anyhow::Error::msg)?;
                    let mut sizes = ChangeSizes::default();
                    loop {
                        let i = next.fetch_add(1, Ordering::Relaxed);
                        let Some(id) = ids.get(i) else { break };
                        let old: Vec<ChangeHash> = hall.store.heads(id)?.context("changed case held")?;
                        let case = hall.store.case(id)?;
                        hall.store.append(id, &[f.next_event(&case)])?;
                        let delta = hall.store.changes_after(id, &old)?.context("held")?;
                        if delta.whole {
                            bail!("the delta of {id} is the whole document");
                        }
                        sizes.save_after += delta.bytes.len();
                        let mut am = AutoCommit::load(&hall.store.document_bytes(id)?)?;
                        for mut c in am.get_changes(&old) {
                            sizes.changes += c.bytes().len();
                        }
                        sizes.docs += 1;
                    }
                    Ok(sizes)
                })
            })
            .collect();
        handles
            .into_iter()
            .map(|h| h.join().unwrap_or_else(|_| Err(anyhow::anyhow!("changer panicked"))))
            .collect()
    });
    let mut total = ChangeSizes { secs: start.elapsed().as_secs_f64(), ..Default::default() };
    for p in parts {
        let p = p?;
        total.docs += p.docs;
        total.save_after += p.save_after;
        total.changes += p.changes;
    }
    Ok(total)
}

fn same_heads(hall: &Node, annex: &Node, ids: &[String]) -> Result<bool> {
    for id in ids {
        if hall.store.heads(id)? != annex.store.heads(id)? {
            return Ok(false);
        }
    }
    Ok(true)
}

/// Round `r`'s changed documents: every (N / C)-th document, shifted by 0, 1/2 and 1/4 of that
/// stride in rounds 0, 1 and 2, so that the rounds' documents do not share sled leaves (a round
/// must not find its pages in memory because the previous round read its neighbours).
fn pick(ids: &[String], changed: usize, round: usize) -> Vec<String> {
    let stride = (ids.len() / changed.max(1)).max(1);
    let shift = [0, stride / 2, stride / 4][round % 3];
    (0..changed).filter_map(|i| ids.get(i * stride + shift).cloned()).collect()
}

/// Bytes this process read: through system calls (sled's page reads, page cache included) and
/// from the disk itself (`/proc/self/io`).
fn io_read() -> (u64, u64) {
    let s = std::fs::read_to_string("/proc/self/io").unwrap_or_default();
    let field = |name: &str| {
        s.lines().find_map(|l| l.strip_prefix(name)).and_then(|v| v.trim().parse::<u64>().ok()).unwrap_or(0)
    };
    (field("rchar:"), field("read_bytes:"))
}

fn io_since(before: (u64, u64)) -> String {
    let (r, d) = io_read();
    format!(
        "read {:.1} MB by system calls, {:.1} MB from the disk",
        (r - before.0) as f64 / 1e6,
        (d - before.1) as f64 / 1e6
    )
}

// ----- baseline -----

/// Wall and processor seconds of Automerge work on `threads` threads.
#[derive(Default, Clone, Copy)]
struct Timing {
    load: f64,
    save: f64,
    cpu: f64,
}

/// Automerge load + save of the documents, load and save timed apart, on one thread and on two;
/// the saved bytes are read from the store first (untimed), 2,000 documents at a time.
fn baseline(store: &CaseStore, ids: &[String]) -> Result<[Timing; 2]> {
    let mut out = [Timing::default(); 2];
    for chunk in ids.chunks(2_000) {
        let bytes: Vec<Vec<u8>> = par_map(chunk, 2, |id| Ok(store.document_bytes(id)?))?;
        for (threads, t) in [1, 2].into_iter().zip(out.iter_mut()) {
            let (start, c) = (Instant::now(), cpu_secs());
            let mut docs: Vec<AutoCommit> = par_map(&bytes, threads, |b| Ok(AutoCommit::load(b)?))?;
            t.load += start.elapsed().as_secs_f64();
            let start = Instant::now();
            let saved = par_map_mut(&mut docs, threads, |d| d.save().len());
            t.save += start.elapsed().as_secs_f64();
            t.cpu += cpu_secs() - c;
            if saved.contains(&0) {
                bail!("an empty save");
            }
        }
    }
    Ok(out)
}

fn par_map<T: Sync, U: Send>(
    items: &[T],
    threads: usize,
    f: impl Fn(&T) -> Result<U> + Sync,
) -> Result<Vec<U>> {
    let per = items.len().div_ceil(threads.max(1)).max(1);
    std::thread::scope(|s| {
        let handles: Vec<_> =
            items.chunks(per).map(|c| s.spawn(|| c.iter().map(&f).collect::<Result<Vec<U>>>())).collect();
        let mut out = Vec::with_capacity(items.len());
        for h in handles {
            out.extend(h.join().map_err(|_| anyhow::anyhow!("worker panicked"))??);
        }
        Ok(out)
    })
}

fn par_map_mut<T: Send, U: Send>(items: &mut [T], threads: usize, f: impl Fn(&mut T) -> U + Sync) -> Vec<U> {
    let per = items.len().div_ceil(threads.max(1)).max(1);
    std::thread::scope(|s| {
        let handles: Vec<_> =
            items.chunks_mut(per).map(|c| s.spawn(|| c.iter_mut().map(&f).collect::<Vec<U>>())).collect();
        handles.into_iter().flat_map(|h| h.join().unwrap_or_default()).collect()
    })
}

// ----- profile -----

/// Where one document's bootstrap goes, each part measured on its own over `sample` documents
/// that are not in the hall's cache. Returns lines for the report.
fn profile(hall: &Node, ids: &[String], dir: &Path) -> Result<Vec<(String, f64)>> {
    let sample: Vec<String> = ids.iter().take(2_048).cloned().collect();
    let n = sample.len() as f64;
    let us = |t: Instant| t.elapsed().as_secs_f64() * 1e6 / n;
    let mut out = Vec::new();

    // Sender: what Host answers ReadChanges with for a peer that lacks the documents.
    let host =
        Host::new(hall.store.clone(), ScopePolicy { me: Access::hall(SCOPE), peer: Access::hall(SCOPE) }, 1);
    let t = Instant::now();
    let mut datas: Vec<DocData> = Vec::new();
    for (b, chunk) in sample.chunks(256).enumerate() {
        let docs = chunk.iter().enumerate().map(|(i, id)| (i as u32, id.clone(), Vec::new())).collect();
        match host.serve(Request::ReadChanges { batch: b as u64, docs })? {
            Some(Reply::Changes { docs, .. }) => datas.extend(docs),
            other => bail!("unexpected reply {other:?}"),
        }
    }
    out.push(("sender: ReadChanges of whole documents (Host, one thread)".into(), us(t)));

    // The frames: encode (deflate) and decode (inflate) of 1 MiB Data parts.
    let t = Instant::now();
    let mut frames = Vec::new();
    for batch in datas.chunks(256) {
        let mut part = Vec::new();
        let mut part_bytes = 0;
        for d in batch {
            part_bytes += d.bytes.len();
            part.push(d.clone());
            if part_bytes >= 1024 * 1024 {
                let docs = std::mem::take(&mut part);
                frames.push(wire::encode(&Message::Data(Data { batch: 1, last: false, docs }))?);
                part_bytes = 0;
            }
        }
        frames.push(wire::encode(&Message::Data(Data { batch: 1, last: true, docs: part }))?);
    }
    out.push(("sender: frame encoding (postcard + deflate)".into(), us(t)));
    let t = Instant::now();
    for f in &frames {
        let mut d = wire::Decoder::default();
        d.push(f);
        d.next_message()?.context("frame")?;
    }
    out.push(("receiver: frame decoding (inflate + postcard)".into(), us(t)));

    // Receiver: Host's Apply into a fresh store, batches of 256 on 16 threads (as in the run).
    let kv = Arc::new(SledKv::open(&dir.join("profile-apply"))?);
    let fresh =
        Arc::new(CaseStore::open(kv, b"profile".to_vec(), StoreConfig::default(), WorkCalendar::builtin())?);
    let policy = ScopePolicy { me: Access::hall(SCOPE), peer: Access::hall(SCOPE) };
    let host = Host::new(fresh.clone(), policy, APPLY_THREADS_DEFAULT);
    let t = Instant::now();
    for (b, chunk) in datas.chunks(256).enumerate() {
        let docs = chunk.iter().map(|d| (sample[d.idx as usize + b * 256].clone(), d.clone())).collect();
        host.serve(Request::Apply { batch: b as u64, docs })?;
    }
    out.push((format!("receiver: Apply into a new store, {APPLY_THREADS_DEFAULT} threads (wall)"), us(t)));
    let applied = fresh.doc_count()?;
    if applied != sample.len() as u64 {
        bail!("profile applied {applied} of {}", sample.len());
    }
    // The same into stores in memory: no sled, no fsync.
    for threads in [APPLY_THREADS_DEFAULT, 1] {
        let mem = Arc::new(CaseStore::open(
            Arc::new(yikou_node::store::MemKv::new()),
            b"profile".to_vec(),
            StoreConfig::default(),
            WorkCalendar::builtin(),
        )?);
        let policy = ScopePolicy { me: Access::hall(SCOPE), peer: Access::hall(SCOPE) };
        let host = Host::new(mem, policy, threads);
        let t = Instant::now();
        for (b, chunk) in datas.chunks(256).enumerate() {
            let docs = chunk.iter().map(|d| (sample[d.idx as usize + b * 256].clone(), d.clone())).collect();
            host.serve(Request::Apply { batch: b as u64, docs })?;
        }
        out.push((
            format!("receiver: the same Apply into a store in memory, {threads} thread(s) (wall)"),
            us(t),
        ));
    }

    // The Automerge steps inside those, one thread.
    let bytes: Vec<&[u8]> = datas.iter().map(|d| d.bytes.as_slice()).collect();
    let t = Instant::now();
    let mut ams: Vec<AutoCommit> = bytes.iter().map(|b| AutoCommit::load(b)).collect::<Result<_, _>>()?;
    out.push(("automerge: AutoCommit::load of the bytes sent".into(), us(t)));
    let t = Instant::now();
    let saved: Vec<Vec<u8>> = ams.iter_mut().map(AutoCommit::save).collect();
    out.push(("automerge: save()".into(), us(t)));
    let t = Instant::now();
    let reloaded = saved.iter().map(|b| AutoCommit::load(b)).collect::<Result<Vec<_>, _>>()?;
    out.push(("automerge: AutoCommit::load of those save() bytes".into(), us(t)));
    drop(reloaded);
    let t = Instant::now();
    for a in &mut ams {
        a.save_nocompress();
    }
    out.push(("automerge: save_nocompress() (for comparison)".into(), us(t)));
    drop(ams);
    let t = Instant::now();
    let docs: Vec<CaseDoc> =
        bytes.iter().map(|b| CaseDoc::load(b, b"profile-actor")).collect::<Result<_, _>>()?;
    out.push(("store: CaseDoc::load".into(), us(t)));
    let t = Instant::now();
    let cases: Vec<_> = docs.iter().map(CaseDoc::case).collect::<Result<_, _>>()?;
    out.push(("store: CaseDoc::case (hydration)".into(), us(t)));
    let cal = WorkCalendar::builtin();
    let t = Instant::now();
    for c in &cases {
        let st = c.state();
        let _ = yikou_node::store::cases::index_entries(c, &st, &cal);
    }
    out.push(("store: fold + index entries".into(), us(t)));
    Ok(out)
}

// ----- comparative benchmarks (scripts/bench.sh) -----

/// Documents read or written by one thread of the export and the import.
const IO_THREADS: usize = 4;

/// Resets this process's peak resident memory (`VmHWM`) to its current size (Linux
/// `clear_refs` 5), so that the next reading is the peak of what follows.
fn reset_peak_rss() {
    let _ = std::fs::write("/proc/self/clear_refs", "5");
}

/// Peak resident memory since the last [`reset_peak_rss`], in KiB.
fn peak_rss_kib() -> u64 {
    std::fs::read_to_string("/proc/self/status")
        .ok()
        .and_then(|s| {
            s.lines()
                .find_map(|l| l.strip_prefix("VmHWM:"))
                .and_then(|v| v.trim().trim_end_matches("kB").trim().parse().ok())
        })
        .unwrap_or(0)
}

/// One line of results for scripts/bench.sh (`RESULT {json}`).
fn result(system: &str, phase: &str, fields: serde_json::Value) {
    let mut v = serde_json::json!({ "system": system, "phase": phase });
    if let (Some(o), Some(f)) = (v.as_object_mut(), fields.as_object()) {
        o.extend(f.clone());
    }
    println!("RESULT {v}");
}

/// `export --docs N --changed C --dir D`: the same documents for every contender. Fills a
/// store with N cases as `pair` does (`CaseFactory`, five events), writes each document's
/// `save()` to `D/docs/{i}.am` (i in serial order; the case ids in `D/ids.txt`), then appends
/// one event (`next_event`) to C cases spread over the store (`pick`) and writes each one's
/// changes after its old heads (`save_after`) to `D/changes/{i}.am` (the indices in
/// `D/changed.txt`).
fn export(n: u64, changed: usize, out: &Path) -> Result<()> {
    let tmp = tempfile::Builder::new().prefix("yikou-bench-export.").tempdir()?;
    let mut ca = Ca::in_memory("基准测试中心", SystemTime::now())?;
    let hall = Node::new(&mut ca, tmp.path(), HALL)?;
    let (ids, fill_secs) = fill(&hall.store, n, false)?;
    std::fs::create_dir_all(out.join("docs"))?;
    std::fs::create_dir_all(out.join("changes"))?;
    let indexed: Vec<(usize, &String)> = ids.iter().enumerate().collect();
    let sizes = par_map(&indexed, IO_THREADS, |(i, id)| {
        let bytes = hall.store.document_bytes(id)?;
        std::fs::write(out.join("docs").join(format!("{i}.am")), &bytes)?;
        Ok(bytes.len())
    })?;
    std::fs::write(out.join("ids.txt"), ids.join("\n") + "\n")?;
    let round = pick(&ids, changed, 0);
    let f = CaseFactory::new("town-a", 1).map_err(anyhow::Error::msg)?;
    let mut changed_idx = Vec::new();
    let mut change_bytes = 0;
    for id in &round {
        let i = ids.iter().position(|x| x == id).context("picked id listed")?;
        let old: Vec<ChangeHash> = hall.store.heads(id)?.context("changed case held")?;
        let case = hall.store.case(id)?;
        hall.store.append(id, &[f.next_event(&case)])?;
        let delta = hall.store.changes_after(id, &old)?.context("held")?;
        if delta.whole {
            bail!("the delta of {id} is the whole document");
        }
        change_bytes += delta.bytes.len();
        std::fs::write(out.join("changes").join(format!("{i}.am")), &delta.bytes)?;
        changed_idx.push(i.to_string());
    }
    std::fs::write(out.join("changed.txt"), changed_idx.join("\n") + "\n")?;
    let total: usize = sizes.iter().sum();
    println!(
        "exported {n} documents ({total} B saved, {:.0} B/doc; made in {fill_secs:.1} s) and {} changes ({change_bytes} B) to {}",
        total as f64 / n as f64,
        changed_idx.len(),
        out.display()
    );
    result(
        "documents",
        "export",
        serde_json::json!({ "docs": n, "bytes": total, "changed": changed_idx.len(), "change_bytes": change_bytes }),
    );
    Ok(())
}

/// The exported documents: (case id, saved bytes) in order, and (index, change bytes).
type Exported = (Vec<(String, Vec<u8>)>, Vec<(usize, Vec<u8>)>);

fn read_export(dir: &Path) -> Result<Exported> {
    let ids: Vec<String> = std::fs::read_to_string(dir.join("ids.txt"))
        .context("ids.txt: run `yikou-bench-sync export` first")?
        .lines()
        .filter(|l| !l.is_empty())
        .map(str::to_string)
        .collect();
    let indexed: Vec<(usize, String)> = ids.into_iter().enumerate().collect();
    let docs = par_map(&indexed, IO_THREADS, |(i, id)| {
        Ok((id.clone(), std::fs::read(dir.join("docs").join(format!("{i}.am")))?))
    })?;
    let mut changes = Vec::new();
    for l in std::fs::read_to_string(dir.join("changed.txt"))?.lines().filter(|l| !l.is_empty()) {
        let i: usize = l.parse()?;
        changes.push((i, std::fs::read(dir.join("changes").join(format!("{i}.am")))?));
    }
    Ok((docs, changes))
}

/// `compare --dir D [--skip-yikou] [--skip-automerge]`: (a) Yikou, two nodes over loopback
/// QUIC, and (c) Automerge alone in this process, on the exported documents; prints RESULT
/// lines. (b), automerge-repo, is tests/bench-js.
async fn compare(dir: &Path, skip_yikou: bool, skip_automerge: bool) -> Result<()> {
    let (docs, changes) = read_export(dir)?;
    println!("== compare: {} documents, {} changed; machine: {}", docs.len(), changes.len(), machine());
    if !skip_yikou {
        compare_yikou(&docs, &changes).await?;
    }
    if !skip_automerge {
        compare_automerge(&docs, &changes)?;
    }
    Ok(())
}

async fn compare_yikou(docs: &[(String, Vec<u8>)], changes: &[(usize, Vec<u8>)]) -> Result<()> {
    let base = std::env::var("BENCH_DIR").unwrap_or_else(|_| std::env::temp_dir().display().to_string());
    let tmp = tempfile::Builder::new().prefix("yikou-bench-compare.").tempdir_in(base)?;
    let mut ca = Ca::in_memory("基准测试中心", SystemTime::now())?;
    let hall = Node::new(&mut ca, tmp.path(), HALL)?;
    let annex = Node::new(&mut ca, tmp.path(), ANNEX)?;
    let n = docs.len() as u64;
    let t = Instant::now();
    par_map(docs, IO_THREADS, |(id, bytes)| Ok(hall.store.apply_remote(id, bytes)?))?;
    println!("the hall holds the {n} documents (applied in {:.1} s, untimed)", t.elapsed().as_secs_f64());

    // Bootstrap, through a perfect relay to count the UDP bytes as well.
    let rh = hall.start(None, false).await?;
    let hall_addr = rh.local_addr().context("hall address")?;
    let relay = Relay::start("127.0.0.1:0".parse()?, hall_addr, Impairment::default(), RELAY_SEED).await?;
    reset_peak_rss();
    let (t0, cpu0) = (Instant::now(), cpu_secs());
    let ra = annex.start(Some((HALL, relay.local_addr())), false).await?;
    let held =
        wait_for("the annex holds every case", Duration::from_secs(3_600), Duration::from_millis(5), || {
            Ok(annex.store.doc_count()? >= n)
        })
        .await?
        .as_secs_f64();
    let held_cpu = cpu_secs() - cpu0;
    wait_for("both sides checkpointed", Duration::from_secs(600), Duration::from_millis(20), || {
        both_checkpointed(&hall, &annex)
    })
    .await?;
    let settled = t0.elapsed().as_secs_f64();
    let boot = settle_bytes(&ra, HALL, Duration::from_millis(500)).await;
    let (cpu, rss) = (cpu_secs() - cpu0, peak_rss_kib());
    let udp = relay.stats();
    println!("bootstrap: {n} documents held after {held:.2} s, both checkpointed after {settled:.2} s");
    result(
        "yikou",
        "bootstrap",
        serde_json::json!({
            "docs": n, "done": n, "secs": held, "settled_secs": settled,
            "bytes": boot.bytes_sent + boot.bytes_received, "udp_bytes": udp.bytes, "datagrams": udp.forwarded,
            "cpu_secs": held_cpu, "cpu_secs_settled": cpu, "peak_rss_kib": rss,
        }),
    );
    stop(ra, &rh).await?;
    relay.shutdown().await;

    // Reconnect after C documents changed on the hall while the annex was away.
    let t = Instant::now();
    for (i, bytes) in changes {
        let id = &docs.get(*i).context("changed index")?.0;
        hall.store.apply_remote(id, bytes)?;
    }
    println!("the hall applied the {} changes (untimed, {:.2} s)", changes.len(), t.elapsed().as_secs_f64());
    let seq0 = annex.store.last_seq()?;
    let relay = Relay::start("127.0.0.1:0".parse()?, hall_addr, Impairment::default(), RELAY_SEED).await?;
    let hall_before = peer(&rh, ANNEX);
    reset_peak_rss();
    let (t0, cpu0) = (Instant::now(), cpu_secs());
    let ra = annex.start(Some((HALL, relay.local_addr())), false).await?;
    let applied =
        wait_for("the annex applied the changes", Duration::from_secs(600), Duration::from_millis(1), || {
            Ok(annex.store.last_seq()? >= seq0 + changes.len() as u64)
        })
        .await?
        .as_secs_f64();
    let applied_cpu = cpu_secs() - cpu0;
    wait_for("the hall caught up", Duration::from_secs(60), Duration::from_millis(2), || {
        let h = peer(&rh, ANNEX);
        Ok(h.sessions > hall_before.sessions && h.connected && h.caught_up)
    })
    .await?;
    let settled = t0.elapsed().as_secs_f64();
    let p = quiet_status(&ra, &rh, Duration::from_millis(500)).await?;
    let (cpu, rss) = (cpu_secs() - cpu0, peak_rss_kib());
    let udp = relay.stats();
    stop(ra, &rh).await?;
    relay.shutdown().await;
    for (i, _) in changes {
        let id = &docs.get(*i).context("changed index")?.0;
        if hall.store.heads(id)? != annex.store.heads(id)? {
            bail!("reconnect: the annex's heads of {id} differ from the hall's");
        }
    }
    println!("reconnect: {} changes applied after {applied:.3} s", changes.len());
    result(
        "yikou",
        "reconnect",
        serde_json::json!({
            "docs": n, "changed": changes.len(), "done": changes.len(), "secs": applied, "settled_secs": settled,
            "bytes": p.bytes_sent + p.bytes_received, "udp_bytes": udp.bytes, "datagrams": udp.forwarded,
            "cpu_secs": applied_cpu, "cpu_secs_settled": cpu, "peak_rss_kib": rss,
        }),
    );
    rh.shutdown().await;
    Ok(())
}

/// Runs Automerge's sync protocol between `a` and `b` in memory until neither has anything to
/// send; returns (messages, bytes).
fn sync_pair(
    a: &mut AutoCommit,
    sa: &mut automerge::sync::State,
    b: &mut AutoCommit,
    sb: &mut automerge::sync::State,
) -> Result<(usize, usize)> {
    use automerge::sync::{Message as SyncMessage, SyncDoc};
    let (mut messages, mut bytes) = (0, 0);
    // Both sides' messages go through their encoding, as on a wire.
    let mut carry = |m: SyncMessage| -> Result<SyncMessage> {
        let e = m.encode();
        messages += 1;
        bytes += e.len();
        Ok(SyncMessage::decode(&e)?)
    };
    for _ in 0..SYNC_ROUNDS_MAX {
        let mut progress = false;
        if let Some(m) = a.sync().generate_sync_message(sa) {
            b.sync().receive_sync_message(sb, carry(m)?)?;
            progress = true;
        }
        if let Some(m) = b.sync().generate_sync_message(sb) {
            a.sync().receive_sync_message(sa, carry(m)?)?;
            progress = true;
        }
        if !progress {
            return Ok((messages, bytes));
        }
    }
    bail!("the sync protocol did not finish in {SYNC_ROUNDS_MAX} rounds")
}

/// Rounds of the in-memory sync protocol for one document pair at most.
const SYNC_ROUNDS_MAX: usize = 100;

fn compare_automerge(docs: &[(String, Vec<u8>)], changes: &[(usize, Vec<u8>)]) -> Result<()> {
    use automerge::sync::State;
    let n = docs.len();
    // Side A holds the documents in memory (untimed), as automerge-repo's process A does.
    let mut a: Vec<AutoCommit> = docs.iter().map(|(_, b)| AutoCommit::load(b)).collect::<Result<_, _>>()?;

    // (c1) The sync protocol, one document pair after another, one thread.
    reset_peak_rss();
    let (t0, cpu0) = (Instant::now(), cpu_secs());
    let mut b: Vec<AutoCommit> = Vec::with_capacity(n);
    let mut states: Vec<(State, State)> = Vec::with_capacity(n);
    let (mut messages, mut bytes) = (0, 0);
    for da in a.iter_mut() {
        let (mut sa, mut sb) = (State::new(), State::new());
        let mut db = AutoCommit::new();
        let (m, by) = sync_pair(da, &mut sa, &mut db, &mut sb)?;
        messages += m;
        bytes += by;
        b.push(db);
        states.push((sa, sb));
    }
    let secs = t0.elapsed().as_secs_f64();
    let (cpu, rss) = (cpu_secs() - cpu0, peak_rss_kib());
    println!("automerge sync protocol: {n} documents in {secs:.2} s, {messages} messages, {bytes} B");
    result(
        "automerge",
        "bootstrap",
        serde_json::json!({ "docs": n, "done": n, "secs": secs, "bytes": bytes, "messages": messages,
            "cpu_secs": cpu, "peak_rss_kib": rss }),
    );

    // (c2) save() on A, load() on B: the cheapest way to copy a document whole.
    reset_peak_rss();
    let (t0, cpu0) = (Instant::now(), cpu_secs());
    let mut copied = Vec::with_capacity(n);
    let mut bytes = 0;
    for da in a.iter_mut() {
        let saved = da.save();
        bytes += saved.len();
        copied.push(AutoCommit::load(&saved)?);
    }
    let secs = t0.elapsed().as_secs_f64();
    let (cpu, rss) = (cpu_secs() - cpu0, peak_rss_kib());
    drop(copied);
    result(
        "automerge-save-load",
        "bootstrap",
        serde_json::json!({ "docs": n, "done": n, "secs": secs, "bytes": bytes, "cpu_secs": cpu, "peak_rss_kib": rss }),
    );

    // Reconnect: the changes reach A; both sides kept their sync states (encoded and decoded, as
    // a peer persists them), and sync every pair again (a peer does not know which changed)…
    for (i, bytes) in changes {
        a.get_mut(*i).context("changed index")?.load_incremental(bytes)?;
    }
    let mut persisted: Vec<(State, State)> = states
        .iter()
        .map(|(sa, sb)| Ok((State::decode(&sa.encode())?, State::decode(&sb.encode())?)))
        .collect::<Result<_>>()?;
    reset_peak_rss();
    let (t0, cpu0) = (Instant::now(), cpu_secs());
    let (mut messages, mut bytes) = (0, 0);
    for ((da, db), (sa, sb)) in a.iter_mut().zip(b.iter_mut()).zip(persisted.iter_mut()) {
        let (m, by) = sync_pair(da, sa, db, sb)?;
        messages += m;
        bytes += by;
    }
    let secs = t0.elapsed().as_secs_f64();
    let (cpu, rss) = (cpu_secs() - cpu0, peak_rss_kib());
    for (i, _) in changes {
        if a[*i].get_heads() != b[*i].get_heads() {
            bail!("in-process reconnect: document {i} differs");
        }
    }
    result(
        "automerge",
        "reconnect",
        serde_json::json!({ "docs": n, "changed": changes.len(), "done": changes.len(), "secs": secs,
            "bytes": bytes, "messages": messages, "cpu_secs": cpu, "peak_rss_kib": rss, "pairs": n }),
    );

    // …and only the changed pairs (a peer told which documents changed): the limit. B as it was
    // before the reconnect (the document without its change), with the states of then.
    let mut b2: Vec<AutoCommit> = Vec::new();
    let mut pairs = Vec::new();
    for (i, _) in changes {
        let (sa, sb) = states.get(*i).context("changed index")?;
        pairs.push((*i, State::decode(&sa.encode())?, State::decode(&sb.encode())?));
        b2.push(AutoCommit::load(&docs[*i].1)?);
    }
    reset_peak_rss();
    let (t0, cpu0) = (Instant::now(), cpu_secs());
    let (mut messages, mut bytes) = (0, 0);
    for ((i, sa, sb), db) in pairs.iter_mut().zip(b2.iter_mut()) {
        let (m, by) = sync_pair(&mut a[*i], sa, db, sb)?;
        messages += m;
        bytes += by;
    }
    let secs = t0.elapsed().as_secs_f64();
    let (cpu, rss) = (cpu_secs() - cpu0, peak_rss_kib());
    result(
        "automerge-changed-only",
        "reconnect",
        serde_json::json!({ "docs": n, "changed": changes.len(), "done": changes.len(), "secs": secs,
            "bytes": bytes, "messages": messages, "cpu_secs": cpu, "peak_rss_kib": rss, "pairs": changes.len() }),
    );
    Ok(())
}

// ----- the run -----

struct Figures {
    lines: Vec<(String, String)>,
}

impl Figures {
    fn add(&mut self, what: impl Into<String>, value: impl Into<String>) {
        let (what, value) = (what.into(), value.into());
        println!("{what}: {value}");
        self.lines.push((what, value));
    }
}

fn kb(b: u64) -> String {
    format!("{b} B ({:.1} KB)", b as f64 / 1000.0)
}

async fn pair(o: Opts) -> Result<()> {
    let base = std::env::var("BENCH_DIR").unwrap_or_else(|_| std::env::temp_dir().display().to_string());
    let dir = tempfile::Builder::new().prefix("yikou-bench-sync.").tempdir_in(base)?;
    let mut ca = Ca::in_memory("基准测试中心", SystemTime::now())?;
    let hall = Node::new(&mut ca, dir.path(), HALL)?;
    let annex = Node::new(&mut ca, dir.path(), ANNEX)?;
    let n = o.docs;
    let kind = if o.receipt { "receipt only (1 event)" } else { "five events" };
    let mut fig = Figures { lines: Vec::new() };
    println!("== pair: {n} cases, {kind}, {} changed; machine: {}", o.changed, machine());

    // Fill.
    let (ids, fill_secs) = fill(&hall.store, n, o.receipt)?;
    fig.add(
        format!("fill the hall: {n} cases ({kind}), {FILL_THREADS} writers, durable"),
        format!("{fill_secs:.1} s, {:.0} cases/s", n as f64 / fill_secs),
    );

    // Bootstrap.
    let rh = hall.start(None, false).await?;
    let hall_addr = rh.local_addr().context("hall address")?;
    let (t0, cpu0) = (Instant::now(), cpu_secs());
    let ra = annex.start(Some((HALL, hall_addr)), false).await?;
    let done = Arc::new(AtomicUsize::new(0));
    let progress = progress_reporter("bootstrap", done.clone(), n as usize);
    let held =
        wait_for("the annex holds every case", Duration::from_secs(7_200), Duration::from_millis(5), || {
            let c = annex.store.doc_count()?;
            done.store(c as usize, Ordering::Relaxed);
            Ok(c >= n)
        })
        .await?;
    drop(progress);
    let boot_cpu = cpu_secs() - cpu0;
    let cores_busy = boot_cpu / held.as_secs_f64();
    let held_secs = held.as_secs_f64();
    let rate = n as f64 / held_secs;
    let settle_every = Duration::from_millis(if n > 100_000 { 500 } else { 50 });
    wait_for("both sides caught up and checkpointed", Duration::from_secs(7_200), settle_every, || {
        // Checkpoints first: reading them is cheap, a status counts the documents behind.
        if !both_checkpointed(&hall, &annex)? {
            return Ok(false);
        }
        let (a, h) = (peer(&ra, HALL), peer(&rh, ANNEX));
        Ok(a.caught_up && h.caught_up && a.docs_behind == 0 && h.docs_behind == 0)
    })
    .await?;
    let settled = t0.elapsed().as_secs_f64();
    let boot = settle_bytes(&ra, HALL, Duration::from_millis(300)).await;
    fig.add(
        format!("bootstrap: {n} cases to an empty node over loopback QUIC"),
        format!(
            "{held_secs:.1} s, {rate:.0} docs/s, {cores_busy:.2} cores busy (both sides checkpointed after {settled:.1} s)"
        ),
    );
    fig.add(
        "bootstrap: frame bytes (annex's PeerStatus, sent + received)",
        format!(
            "{} ({:.0} B/doc; received {}, sent {})",
            kb(boot.bytes_sent + boot.bytes_received),
            (boot.bytes_sent + boot.bytes_received) as f64 / n as f64,
            boot.bytes_received,
            boot.bytes_sent
        ),
    );
    stop(ra, &rh).await?;

    if o.baseline {
        let [t1, t2] = baseline(&hall.store, &ids)?;
        let (l1, s1, c1) = (t1.load, t1.save, t1.cpu);
        let one = n as f64 / (l1 + s1);
        fig.add(
            "baseline: AutoCommit::load + save() of the same documents, one thread",
            format!(
                "{one:.0} docs/s (load {:.0}/s, save {:.0}/s), {:.0} µs of CPU per doc; bootstrap / baseline = {:.2}",
                n as f64 / l1,
                n as f64 / s1,
                c1 * 1e6 / n as f64,
                rate / one
            ),
        );
        let two = n as f64 / (t2.load + t2.save);
        fig.add(
            "baseline: the same on two threads",
            format!(
                "{two:.0} docs/s, {:.0} µs of CPU per doc; bootstrap / two-thread baseline = {:.2}",
                t2.cpu * 1e6 / n as f64,
                rate / two
            ),
        );
        fig.add(
            "bootstrap: CPU per document (both nodes, whole process) / baseline's",
            format!(
                "{:.0} µs / {:.0} µs = {:.1}×",
                boot_cpu * 1e6 / n as f64,
                c1 * 1e6 / n as f64,
                boot_cpu / c1
            ),
        );
    }
    if o.profile {
        for (what, us) in profile(&hall, &ids, dir.path())? {
            fig.add(format!("profile, per document: {what}"), format!("{us:.0} µs"));
        }
    }

    // Reconnect with nothing changed: QUIC through a perfect relay (to count datagrams).
    let hall_before = peer(&rh, ANNEX);
    let relay = Relay::start("127.0.0.1:0".parse()?, hall_addr, Impairment::default(), RELAY_SEED).await?;
    let t0 = Instant::now();
    let ra = annex.start(Some((HALL, relay.local_addr())), false).await?;
    // Watched from the hall's side: a status counts the documents behind from the peer's last
    // acknowledgement, which a fresh replicator does not have yet (the whole feed, see below).
    wait_for("reconnected and caught up", Duration::from_secs(60), Duration::from_millis(2), || {
        let h = peer(&rh, ANNEX);
        Ok(h.sessions > hall_before.sessions && h.connected && h.caught_up)
    })
    .await?;
    let reconnect_secs = t0.elapsed().as_secs_f64();
    let h = settle_bytes(&rh, ANNEX, Duration::from_millis(1_000)).await;
    let t = Instant::now();
    let p = peer(&ra, HALL);
    let status_ms = t.elapsed().as_secs_f64() * 1e3;
    let udp: RelayStats = relay.stats();
    fig.add(
        format!("reconnect, nothing changed, {n} held: frame bytes over QUIC (annex sent + received)"),
        format!(
            "{} (hall's side: {} B); the hall caught up {:.0} ms after the dial started",
            kb(p.bytes_sent + p.bytes_received),
            (h.bytes_sent - hall_before.bytes_sent) + (h.bytes_received - hall_before.bytes_received),
            reconnect_secs * 1e3
        ),
    );
    fig.add(
        format!("reconnect, nothing changed, {n} held: the annex's PeerStatus of the hall afterwards"),
        format!(
            "caught_up {}, acked_upto {:?}, docs_behind {} (the status took {status_ms:.0} ms)",
            p.caught_up, p.acked_upto, p.docs_behind
        ),
    );
    fig.add(
        format!("reconnect, nothing changed, {n} held: UDP through a perfect relay (QUIC + TLS handshake)"),
        format!("{} datagrams, {}", udp.forwarded, kb(udp.bytes)),
    );
    stop(ra, &rh).await?;
    relay.shutdown().await;
    let t = in_process(&hall, &annex)?;
    fig.add(
        format!("reconnect, nothing changed, {n} held: in-process sessions (exact)"),
        format!("{} messages, {} B in {:.2} ms: {}", t.messages, t.bytes, t.secs * 1e3, t.kinds()),
    );

    // Catch-up over QUIC.
    let round = pick(&ids, o.changed, 0);
    let sizes = change(&hall, &round)?;
    let seq0 = annex.store.last_seq()?;
    let io0 = io_read();
    let t0 = Instant::now();
    let ra = annex.start(Some((HALL, hall_addr)), false).await?;
    wait_for("the annex applied the changes", Duration::from_secs(600), Duration::from_millis(2), || {
        Ok(annex.store.last_seq()? >= seq0 + sizes.docs as u64)
    })
    .await?;
    let applied = t0.elapsed().as_secs_f64();
    let applied_io = io_since(io0);
    let p = quiet_status(&ra, &rh, Duration::from_millis(500)).await?;
    stop(ra, &rh).await?;
    if !same_heads(&hall, &annex, &round)? {
        bail!("catch-up: the annex's heads differ from the hall's");
    }
    let wire = p.bytes_sent + p.bytes_received;
    fig.add(
        format!("catch-up, {} changed of {n}: changes' encoded size", sizes.docs),
        format!(
            "save_after(old heads) {} ({:.0} B/doc); the changes' own encodings {} (made in {:.1} s)",
            sizes.save_after,
            sizes.save_after as f64 / sizes.docs as f64,
            sizes.changes,
            sizes.secs
        ),
    );
    fig.add(
        format!("catch-up, {} changed of {n}: over QUIC", sizes.docs),
        format!(
            "{applied:.2} s until all applied ({applied_io}), {} on the wire = {:.2}× save_after, {:.2}× the changes",
            kb(wire),
            wire as f64 / sizes.save_after as f64,
            wire as f64 / sizes.changes as f64
        ),
    );

    // Catch-up in-process (another set of cases).
    let round = pick(&ids, o.changed, 1);
    let sizes = change(&hall, &round)?;
    let io0 = io_read();
    let t = in_process(&hall, &annex)?;
    let in_process_io = io_since(io0);
    if !same_heads(&hall, &annex, &round)? {
        bail!("in-process catch-up: the annex's heads differ from the hall's");
    }
    let data = t.kinds.get("data").map_or(0, |k| k.1);
    let undeflated = (t.bytes - data + sizes.save_after) as f64 / sizes.save_after as f64;
    fig.add(
        format!("catch-up, {} changed of {n}: in-process sessions (exact)", sizes.docs),
        format!(
            "{:.2} s ({in_process_io}), {} messages, {} = {:.2}× save_after ({} B; {undeflated:.2}× if the data did not deflate at all): {}",
            t.secs,
            t.messages,
            kb(t.bytes as u64),
            t.bytes as f64 / sizes.save_after as f64,
            sizes.save_after,
            t.kinds()
        ),
    );

    if o.relay {
        let round = pick(&ids, o.changed, 2);
        let sizes = change(&hall, &round)?;
        let bad = Impairment { loss: 0.2, delay_ms: 300, ..Impairment::default() };
        let relay = Relay::start("127.0.0.1:0".parse()?, hall_addr, bad, RELAY_SEED).await?;
        let seq0 = annex.store.last_seq()?;
        let t0 = Instant::now();
        let ra = annex.start(Some((HALL, relay.local_addr())), true).await?;
        wait_for(
            "the annex applied the changes through the relay",
            Duration::from_secs(1_800),
            Duration::from_millis(5),
            || Ok(annex.store.last_seq()? >= seq0 + sizes.docs as u64),
        )
        .await?;
        let applied = t0.elapsed().as_secs_f64();
        let p = quiet_status(&ra, &rh, Duration::from_millis(3_000)).await?;
        let udp = relay.stats();
        stop(ra, &rh).await?;
        relay.shutdown().await;
        if !same_heads(&hall, &annex, &round)? {
            bail!("lossy catch-up: the annex's heads differ from the hall's");
        }
        let wire = p.bytes_sent + p.bytes_received;
        fig.add(
            format!("catch-up, {} changed of {n}, relay 20 % loss + 300 ms each way (seed {RELAY_SEED})", sizes.docs),
            format!(
                "{applied:.1} s until all applied ({} sessions), frames {} = {:.2}× save_after; UDP: {} datagrams in, {} dropped, {} forwarded",
                p.sessions,
                kb(wire),
                wire as f64 / sizes.save_after as f64,
                udp.received,
                udp.dropped_loss,
                kb(udp.bytes)
            ),
        );
    }
    rh.shutdown().await;

    println!("\n| {n} cases, {kind} | measured |\n|---|---|");
    for (what, value) in &fig.lines {
        println!("| {what} | {value} |");
    }
    Ok(())
}

fn main() -> Result<()> {
    let args: Vec<String> = std::env::args().collect();
    let flag = |f: &str| args.iter().any(|a| a == f);
    let value = |f: &str| -> Result<Option<u64>> {
        match args.iter().position(|a| a == f) {
            Some(i) => Ok(Some(args.get(i + 1).context("a number")?.parse().context("not a number")?)),
            None => Ok(None),
        }
    };
    let path_arg = |f: &str| -> Result<std::path::PathBuf> {
        let i = args.iter().position(|a| a == f).with_context(|| format!("{f} DIR is required"))?;
        Ok(args.get(i + 1).context("a directory")?.into())
    };
    match args.get(1).map(String::as_str) {
        Some("machine") => println!("{}", machine()),
        Some("export") => {
            let dir = path_arg("--dir")?;
            export(value("--docs")?.unwrap_or(10_000), value("--changed")?.unwrap_or(100) as usize, &dir)?;
        }
        Some("compare") => {
            let dir = path_arg("--dir")?;
            let rt = tokio::runtime::Builder::new_multi_thread().worker_threads(2).enable_all().build()?;
            rt.block_on(compare(&dir, flag("--skip-yikou"), flag("--skip-automerge")))?;
        }
        Some("pair") => {
            let o = Opts {
                docs: value("--docs")?.unwrap_or(10_000),
                receipt: flag("--receipt"),
                changed: value("--changed")?.unwrap_or(1_000) as usize,
                baseline: flag("--baseline"),
                profile: flag("--profile"),
                relay: flag("--relay"),
            };
            let rt = tokio::runtime::Builder::new_multi_thread().worker_threads(2).enable_all().build()?;
            rt.block_on(pair(o))?;
        }
        _ => bail!(
            "usage: yikou-bench-sync machine | pair [--docs N] [--receipt] [--changed C] [--baseline] [--profile] [--relay] \
             | export --dir D [--docs N] [--changed C] | compare --dir D [--skip-yikou] [--skip-automerge]"
        ),
    }
    Ok(())
}
