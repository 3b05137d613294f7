//! [`CaseStore`]: cases as Automerge documents over a [`Kv`].
//!
//! A write (new case, new events, changes from a peer) holds its document's stripe lock, so
//! writes to one document are serial while writes to different documents run in parallel. The
//! document is taken from the cache (or loaded from its snapshot and chunks), changed, and the
//! writer prepares one batch: the new change chunk (or, when compaction is due, the new snapshot
//! and the deletion of the chunks it replaces) and its index entries. The committer thread
//! ([`super::commit`]) adds the feed entry and the metadata with the feed position, applies the
//! batches of every waiting writer atomically and fsyncs once; only then is the write
//! acknowledged (O2). If the commit fails, the document is not put back into the cache, so memory
//! never holds what the disk does not. A write that changes nothing (events or peer changes
//! already held) writes nothing and keeps its feed position, so that two nodes do not bounce a
//! document back and forth through their feeds.
//!
//! For replication: [`CaseStore::heads`] (from the metadata), [`CaseStore::changes_after`] (what a
//! peer at some heads lacks), [`CaseStore::apply_remote_checked`] (a peer's changes, through a
//! policy check that runs after the changes are applied in memory and before anything is
//! committed), durable peer checkpoints, [`CaseStore::digest`] for anti-entropy and
//! [`CaseStore::watch_seq`] for live pushes. Cases and reference documents (`ref:*`) go through
//! all of them alike.

use std::num::NonZeroUsize;
use std::sync::Arc;
use std::sync::Mutex;
use std::sync::atomic::{AtomicUsize, Ordering};

use automerge::ChangeHash;
use lru::LruCache;
use serde::de::DeserializeOwned;
use serde::{Deserialize, Serialize};
use yikou_schema::calendar::WorkCalendar;
use yikou_schema::case::{Case, CaseState, DutyKind, Event};
use yikou_schema::supervision;

use super::commit::{CommitCounts, Committer};
use super::kv::{Kv, WriteBatch};
use super::{STORE_LAYOUT_VERSION, StoreError, record};
use crate::doc::{CaseDoc, DocError, RefDoc, RefKind};

/// Limits of one store.
#[derive(Debug, Clone)]
pub struct StoreConfig {
    /// Loaded documents kept in memory (~20–40 KB each).
    pub cache_docs_max: usize,
    /// Compact a document once it has more change chunks than this…
    pub compact_chunks_max: u32,
    /// …or once its chunks outweigh its snapshot.
    pub compact_when_chunks_exceed_snapshot: bool,
    /// Writers waiting at once; more are refused with `Busy` (back-pressure, not a queue).
    pub writers_max: usize,
    /// Feed entries or index hits one query returns at most.
    pub query_limit_max: usize,
}

impl Default for StoreConfig {
    fn default() -> Self {
        StoreConfig {
            cache_docs_max: 4_096,
            compact_chunks_max: 10,
            compact_when_chunks_exceed_snapshot: true,
            writers_max: 1_024,
            query_limit_max: 10_000,
        }
    }
}

/// The secondary indexes (kept in the same batch as the change).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Index {
    /// The case's phase (`received`, `in_review`, …).
    Phase,
    /// The applicant's ID number or credit code.
    Applicant,
    Item,
    Department,
    /// The promised decision date (YYYY-MM-DD), for cases awaiting a decision.
    Due,
    /// The township (or hall) scope the case belongs to (O5).
    Scope,
}

impl Index {
    pub const ALL: [Index; 6] =
        [Index::Phase, Index::Applicant, Index::Item, Index::Department, Index::Due, Index::Scope];

    fn tag(self) -> &'static str {
        match self {
            Index::Phase => "phase",
            Index::Applicant => "applicant",
            Index::Item => "item",
            Index::Department => "department",
            Index::Due => "due",
            Index::Scope => "scope",
        }
    }
}

/// What an acknowledged write returns: its place in the feed and the document's new heads.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Ack {
    pub seq: u64,
    pub heads: Vec<ChangeHash>,
}

/// One entry of the change feed: the document's latest change is at `seq`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct FeedEntry {
    pub seq: u64,
    pub doc: String,
    pub heads: Vec<String>,
    /// The case's scope ([`Index::Scope`]: the township or hall it belongs to); `None` for
    /// reference documents (and for entries written before the field existed).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub scope: Option<String>,
}

/// What a peer at some heads lacks of a document ([`CaseStore::changes_after`]).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Delta {
    /// Automerge bytes for the peer's `load_incremental` (or `load`, when `whole`).
    pub bytes: Vec<u8>,
    /// The whole document (`save`), not changes after some heads: for a peer that lacks it.
    pub whole: bool,
}

/// What a policy check of incoming changes sees ([`CaseStore::apply_remote_checked`]).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct RemoteDoc<'a> {
    pub id: &'a str,
    /// The case header's scope, after the changes; `None` for reference documents.
    pub scope: Option<&'a str>,
    /// This node did not hold the document before.
    pub is_new: bool,
    /// Reference documents: the actor ids of the changes new to this node (empty for cases).
    pub authors: &'a [Vec<u8>],
}

/// How far this node has read a peer's feed: the peer's feed epoch and a sequence number in it.
#[derive(Serialize, Deserialize, Clone, Debug, PartialEq, Eq)]
pub struct Checkpoint {
    pub epoch: [u8; 16],
    pub seq: u64,
}

/// Per-document metadata, stored at `d/{doc}/m`.
#[derive(Debug, Clone, Default, Serialize, Deserialize)]
struct DocMeta {
    /// Chunks stored since the snapshot, numbered `first_chunk..next_chunk`.
    first_chunk: u64,
    next_chunk: u64,
    chunk_bytes: u64,
    snapshot_bytes: u64,
    /// The feed entry currently standing for this document.
    seq: u64,
    heads: Vec<String>,
    index: Vec<(Index, String)>,
}

impl DocMeta {
    fn chunks(&self) -> u64 {
        self.next_chunk - self.first_chunk
    }
}

/// The case store.
pub struct CaseStore {
    kv: Arc<dyn Kv>,
    actor: Vec<u8>,
    config: StoreConfig,
    calendar: WorkCalendar,
    epoch: [u8; 16],
    committer: Committer,
    cache: Mutex<LruCache<String, Cached>>,
    /// Writers of one document serialise on its stripe; different documents proceed in
    /// parallel, and meet again only in the committer's queue.
    stripes: Vec<Mutex<()>>,
    writers: AtomicUsize,
}

/// A loaded document with its hydrated case (hydration costs more than the fold).
struct Cached {
    doc: CaseDoc,
    case: Case,
}

/// Bytes each opening of a store appends to the node's actor prefix.
const ACTOR_SUFFIX_BYTES: usize = 8;

/// Lock stripes for per-document writes.
const WRITE_STRIPES: usize = 64;

fn doc_key(doc: &str, part: &str) -> Vec<u8> {
    format!("d/{doc}/{part}").into_bytes()
}

fn chunk_key(doc: &str, n: u64) -> Vec<u8> {
    format!("d/{doc}/c/{n:016x}").into_bytes()
}

fn feed_key(seq: u64) -> Vec<u8> {
    format!("f/{seq:016x}").into_bytes()
}

/// The whole feed: `f/` up to (not including) `f0`.
const FEED_END: &[u8] = b"f0";

fn checkpoint_key(peer: &str) -> Vec<u8> {
    format!("p/{peer}").into_bytes()
}

fn index_key(index: Index, value: &str, doc: &str) -> Vec<u8> {
    format!("i/{}\0{value}\0{doc}", index.tag()).into_bytes()
}

fn hex_heads(heads: &[ChangeHash]) -> Vec<String> {
    heads.iter().map(|h| h.to_string()).collect()
}

fn seal_json<T: Serialize>(value: &T) -> Vec<u8> {
    record::seal(&serde_json::to_vec(value).unwrap_or_default())
}

/// The kind of a reference document id (`ref:catalog`, …); `None` for a case id.
fn reference_kind(id: &str) -> Option<Result<RefKind, StoreError>> {
    let kind = id.strip_prefix("ref:")?;
    Some(RefKind::parse(kind).ok_or_else(|| {
        StoreError::Doc(DocError::Shape {
            doc: Some(id.to_string()),
            detail: format!("未知的参考数据类型 {kind}"),
        })
    }))
}

fn forbidden(doc: &str, reason: impl Into<String>) -> StoreError {
    StoreError::Forbidden { doc: doc.to_string(), reason: reason.into() }
}

/// After a peer's changes were applied in memory: refuses them if some of their dependencies are
/// missing (the peer computed them against heads this node does not have), since Automerge would
/// keep such changes queued in memory, where the disk never sees them.
fn check_complete(id: &str, am: &mut automerge::AutoCommit) -> Result<(), StoreError> {
    let missing = am.get_missing_deps(&[]);
    if missing.is_empty() {
        Ok(())
    } else {
        Err(StoreError::MissingDeps { doc: id.to_string(), missing: missing.len() })
    }
}

fn u64_of(bytes: Option<Vec<u8>>) -> u64 {
    bytes.and_then(|b| <[u8; 8]>::try_from(b.as_slice()).ok()).map_or(0, u64::from_be_bytes)
}

/// A document id must be usable inside keys: no separators, bounded.
pub const DOC_ID_CHARS_MAX: usize = 64;

fn check_doc_id(doc: &str) -> Result<(), StoreError> {
    let ok = !doc.is_empty()
        && doc.len() <= DOC_ID_CHARS_MAX
        && doc.bytes().all(|b| b.is_ascii_alphanumeric() || b == b'-' || b == b'_' || b == b':');
    if ok { Ok(()) } else { Err(StoreError::NotFound(doc.chars().take(DOC_ID_CHARS_MAX).collect())) }
}

/// The index entries of a case: derived from its header and folded state.
pub fn index_entries(case: &Case, state: &CaseState, calendar: &WorkCalendar) -> Vec<(Index, String)> {
    let h = &case.header;
    let mut out = vec![
        (Index::Applicant, h.applicant.id().to_string()),
        (Index::Item, h.item.code.to_string()),
        (Index::Department, h.item.department.to_string()),
        (Index::Scope, h.scope.clone()),
    ];
    if let Ok(serde_json::Value::String(phase)) = serde_json::to_value(state.phase) {
        out.push((Index::Phase, phase));
    }
    if state.decision.is_none() && !state.phase.is_terminal() {
        let duties = supervision::case_duties(h, state, calendar).unwrap_or_default();
        if let Some(d) = duties.iter().find(|d| d.kind == DutyKind::Decision) {
            let policy = supervision::Policy::default();
            // As of the case's latest event, so that special-procedure pauses extend the date.
            let as_of = case.events.iter().map(|e| e.hlc.local()).max().unwrap_or(d.started);
            if let Ok(a) = supervision::assess(d, as_of, calendar, &policy) {
                // `due` is the end of the due day (next midnight): index the day itself.
                let day = a.due - chrono::Duration::seconds(1);
                out.push((Index::Due, day.date().to_string()));
            }
        }
    }
    out
}

impl CaseStore {
    /// Opens (or initialises) a store. Reads only the store's metadata: no document is loaded.
    pub fn open(
        kv: Arc<dyn Kv>,
        actor: Vec<u8>,
        config: StoreConfig,
        calendar: WorkCalendar,
    ) -> Result<CaseStore, StoreError> {
        let layout = u64_of(kv.get(b"m/layout")?);
        if layout > u64::from(STORE_LAYOUT_VERSION) {
            return Err(StoreError::LayoutNewer {
                found: u32::try_from(layout).unwrap_or(u32::MAX),
                supported: STORE_LAYOUT_VERSION,
            });
        }
        let epoch = match kv.get(b"m/epoch")? {
            Some(e) if e.len() == 16 => {
                let mut out = [0u8; 16];
                out.copy_from_slice(&e);
                out
            }
            _ => {
                let epoch = new_epoch(&actor);
                let mut b = WriteBatch::default();
                b.put(b"m/layout".to_vec(), u64::from(STORE_LAYOUT_VERSION).to_be_bytes().to_vec());
                b.put(b"m/epoch".to_vec(), epoch.to_vec());
                kv.apply(&b)?;
                kv.sync()?;
                epoch
            }
        };
        let seq = u64_of(kv.get(b"m/seq")?);
        let docs = u64_of(kv.get(b"m/docs")?);
        let cache_size = NonZeroUsize::new(config.cache_docs_max.max(1)).unwrap_or(NonZeroUsize::MIN);
        // A fresh actor for every opening: Automerge refuses to merge two histories that reuse
        // one actor id, as a restarted process would.
        let mut actor = actor;
        actor.extend_from_slice(&new_epoch(&actor)[..ACTOR_SUFFIX_BYTES]);
        Ok(CaseStore {
            committer: Committer::start(kv.clone(), seq, docs),
            kv,
            actor,
            config,
            calendar,
            epoch,
            cache: Mutex::new(LruCache::new(cache_size)),
            stripes: (0..WRITE_STRIPES).map(|_| Mutex::new(())).collect(),
            writers: AtomicUsize::new(0),
        })
    }

    /// The actor id prefix this store was opened with (every opening appends its own 8 bytes).
    pub fn actor_prefix(&self) -> &[u8] {
        &self.actor[..self.actor.len().saturating_sub(ACTOR_SUFFIX_BYTES)]
    }

    /// Whether an actor id is one of this node's (any opening's).
    pub fn is_own_actor(&self, actor: &[u8]) -> bool {
        let prefix = self.actor_prefix();
        actor.len() == prefix.len() + ACTOR_SUFFIX_BYTES && actor.starts_with(prefix)
    }

    /// The feed's epoch: new for every fresh store, so a restored backup is noticed by peers.
    pub fn epoch(&self) -> [u8; 16] {
        self.epoch
    }

    /// The newest feed sequence number.
    pub fn last_seq(&self) -> Result<u64, StoreError> {
        Ok(self.committer.counts().last_seq)
    }

    pub fn doc_count(&self) -> Result<u64, StoreError> {
        Ok(self.committer.counts().docs)
    }

    /// Feed position, documents, writes committed and fsyncs run since the store was opened.
    pub fn commit_counts(&self) -> CommitCounts {
        self.committer.counts()
    }

    pub fn size_on_disk(&self) -> Result<u64, StoreError> {
        self.kv.size_on_disk()
    }

    /// Stores a new case. Returns once it is durable.
    pub fn create(&self, case: &Case) -> Result<Ack, StoreError> {
        let id = case.header.number.to_string();
        self.write_doc(&id, None, |existing| match existing {
            Some(_) => Err(StoreError::AlreadyExists(id.clone())),
            None => Ok(Cached { doc: CaseDoc::new(case, &self.actor)?, case: case.clone() }),
        })
    }

    /// Appends events to a stored case. Returns once they are durable.
    pub fn append(&self, id: &str, events: &[Event]) -> Result<Ack, StoreError> {
        self.write_doc(id, None, |existing| {
            let mut c = existing.ok_or_else(|| StoreError::NotFound(id.to_string()))?;
            c.doc.append(events)?;
            // The document added exactly the events it did not hold; the merge does the same.
            c.case.merge(events.iter().cloned());
            Ok(c)
        })
    }

    /// Applies changes received from a peer (a chunk of Automerge changes, or a whole saved
    /// document for a document this node does not hold yet), for a case or a reference document
    /// (`ref:*`). Durable on return; changes already held write nothing and return the current
    /// position. Equivalent to [`CaseStore::apply_remote_checked`] with a check that allows all.
    pub fn apply_remote(&self, id: &str, bytes: &[u8]) -> Result<Ack, StoreError> {
        self.apply_remote_checked(id, bytes, &|_| Ok(()))
    }

    /// [`CaseStore::apply_remote`] through a policy check. `check` runs after the bytes were
    /// applied in memory (so it sees the resulting document's scope) and before anything is
    /// committed, also when the changes turn out to be held already. If it refuses, nothing is
    /// written, the cache does not keep the changes, and [`StoreError::Forbidden`] carries its
    /// reason. A change to an existing case's scope is refused the same way; changes that do not
    /// belong to the document `id` (another case, another kind of reference data) or whose
    /// dependencies this node lacks ([`StoreError::MissingDeps`]) are refused before the check.
    pub fn apply_remote_checked(
        &self,
        id: &str,
        bytes: &[u8],
        check: &dyn Fn(&RemoteDoc<'_>) -> Result<(), String>,
    ) -> Result<Ack, StoreError> {
        if let Some(kind) = reference_kind(id) {
            let kind = kind?;
            let mut authors: Vec<Vec<u8>> = Vec::new();
            return self.write_ref(id, |existing| {
                let is_new = existing.is_none();
                let mut doc = match existing {
                    Some(mut doc) => {
                        let before = doc.heads();
                        doc.load_incremental(bytes)?;
                        authors = doc
                            .inner()
                            .get_changes(&before)
                            .iter()
                            .map(|c| c.actor_id().to_bytes().to_vec())
                            .collect();
                        doc
                    }
                    None => {
                        let mut doc = RefDoc::load(bytes, &self.actor)?;
                        authors = doc
                            .inner()
                            .get_changes(&[])
                            .iter()
                            .map(|c| c.actor_id().to_bytes().to_vec())
                            .collect();
                        doc
                    }
                };
                if doc.kind() != kind {
                    let detail = format!("传入的是{},不是{}", doc.kind().name_zh(), kind.name_zh());
                    return Err(StoreError::Doc(DocError::Shape { doc: Some(id.to_string()), detail }));
                }
                check_complete(id, doc.inner())?;
                authors.sort();
                authors.dedup();
                check(&RemoteDoc { id, scope: None, is_new, authors: &authors })
                    .map_err(|reason| forbidden(id, reason))?;
                Ok(doc)
            });
        }
        self.write_doc(id, Some(bytes), |existing| {
            let (doc, scope_before) = match existing {
                Some(mut c) => {
                    c.doc.load_incremental(bytes)?;
                    (c.doc, Some(c.case.header.scope))
                }
                None => {
                    let doc = CaseDoc::load(bytes, &self.actor)?;
                    if doc.name() != id {
                        let detail = format!("传入的是办件 {} 的文档", doc.name());
                        return Err(StoreError::Doc(DocError::Shape { doc: Some(id.to_string()), detail }));
                    }
                    (doc, None)
                }
            };
            let mut doc = doc;
            check_complete(id, doc.inner())?;
            let case = doc.case()?;
            if let Some(before) = &scope_before
                && *before != case.header.scope
            {
                let reason = format!("不得修改办件的归属范围(由 {before} 改为 {})", case.header.scope);
                return Err(forbidden(id, reason));
            }
            let remote = RemoteDoc {
                id,
                scope: Some(&case.header.scope),
                is_new: scope_before.is_none(),
                authors: &[],
            };
            check(&remote).map_err(|reason| forbidden(id, reason))?;
            Ok(Cached { doc, case })
        })
    }

    /// The document id of a piece of shared reference data (`ref:catalog`, …). Reference
    /// documents share the key layout and the feed with cases, so they replicate the same way.
    pub fn reference_id(kind: RefKind) -> String {
        format!("ref:{}", kind.as_str())
    }

    /// Stores a new version of a piece of reference data (catalog, calendar, dishonesty list,
    /// quota plan) as one Automerge document. Durable on return; unchanged data writes nothing.
    pub fn put_reference<T: Serialize + ?Sized>(&self, kind: RefKind, value: &T) -> Result<Ack, StoreError> {
        self.write_ref(&Self::reference_id(kind), |existing| match existing {
            Some(mut doc) => {
                // Unchanged data makes no change: `write_ref` then writes nothing.
                doc.replace(value)?;
                Ok(doc)
            }
            None => Ok(RefDoc::new(kind, value, &self.actor)?),
        })
    }

    /// Admits a writer of document `id`: refuses beyond `writers_max` (back-pressure), then holds
    /// the document's stripe lock until the returned guard drops.
    fn admit(&self, id: &str) -> Result<(WriterGuard<'_>, std::sync::MutexGuard<'_, ()>), StoreError> {
        check_doc_id(id)?;
        let writers = self.writers.fetch_add(1, Ordering::SeqCst);
        let guard = WriterGuard(&self.writers);
        if writers >= self.config.writers_max {
            return Err(StoreError::Busy(self.config.writers_max));
        }
        let lock = self.stripe(id).lock().map_err(|_| StoreError::Poisoned)?;
        Ok((guard, lock))
    }

    /// The write path of reference documents: stored as one snapshot (they change rarely).
    fn write_ref(
        &self,
        id: &str,
        change: impl FnOnce(Option<RefDoc>) -> Result<RefDoc, StoreError>,
    ) -> Result<Ack, StoreError> {
        let _admitted = self.admit(id)?;
        let meta = self.meta(id)?;
        let existing = self.reference_doc(id)?;
        let is_new = meta.is_none();
        let mut doc = change(existing)?;
        let heads = doc.heads();
        let mut meta = meta.unwrap_or_default();
        if !is_new && meta.heads == hex_heads(&heads) {
            return Ok(Ack { seq: meta.seq, heads });
        }
        let snapshot = doc.save();
        meta.snapshot_bytes = snapshot.len() as u64;
        meta.heads = hex_heads(&heads);
        let previous_seq = meta.seq;
        let id = id.to_string();
        let finish = Box::new(move |seq: u64| {
            let mut batch = WriteBatch::default();
            batch.put(doc_key(&id, "s"), record::seal(&snapshot));
            if previous_seq > 0 {
                batch.delete(feed_key(previous_seq));
            }
            let feed = FeedEntry { seq, doc: id.clone(), heads: meta.heads.clone(), scope: None };
            batch.put(feed_key(seq), seal_json(&feed));
            meta.seq = seq;
            batch.put(doc_key(&id, "m"), seal_json(&meta));
            batch
        });
        let seq = self.committer.commit(finish, is_new)?;
        Ok(Ack { seq, heads })
    }

    /// The stored version of a piece of reference data, if any.
    pub fn reference<T: DeserializeOwned>(&self, kind: RefKind) -> Result<Option<T>, StoreError> {
        let id = Self::reference_id(kind);
        match self.reference_doc(&id)? {
            Some(doc) => Ok(Some(doc.value()?)),
            None => Ok(None),
        }
    }

    fn reference_doc(&self, id: &str) -> Result<Option<RefDoc>, StoreError> {
        let key = doc_key(id, "s");
        let Some(raw) = self.kv.get(&key)? else { return Ok(None) };
        let corrupt =
            || StoreError::Corrupt { doc: id.to_string(), key: String::from_utf8_lossy(&key).into() };
        let bytes = record::open(&raw).ok_or_else(corrupt)?;
        Ok(Some(RefDoc::load(bytes, &self.actor).map_err(|_| corrupt())?))
    }

    /// The case as stored.
    pub fn case(&self, id: &str) -> Result<Case, StoreError> {
        check_doc_id(id)?;
        let mut cache = self.cache.lock().map_err(|_| StoreError::Poisoned)?;
        if let Some(c) = cache.get(id) {
            return Ok(c.case.clone());
        }
        let c = self.load(id)?.ok_or_else(|| StoreError::NotFound(id.to_string()))?;
        let case = c.case.clone();
        cache.put(id.to_string(), c);
        Ok(case)
    }

    /// The whole document as Automerge bytes (for audits and other Automerge tools).
    pub fn document_bytes(&self, id: &str) -> Result<Vec<u8>, StoreError> {
        self.with_automerge(id, |am| am.save())?.ok_or_else(|| StoreError::NotFound(id.to_string()))
    }

    /// Documents changed after feed position `seq`, oldest first, at most `limit` (each document
    /// appears once, at its latest change). Costs in proportion to the answer.
    pub fn changes_since(&self, seq: u64, limit: usize) -> Result<Vec<FeedEntry>, StoreError> {
        let limit = limit.min(self.config.query_limit_max);
        let from = feed_key(seq.saturating_add(1));
        let rows = self.kv.range(&from, FEED_END, limit)?;
        rows.into_iter().map(|(key, value)| feed_entry(&key, &value)).collect()
    }

    /// How many documents changed after feed position `seq`, counting at most `max` (for "documents
    /// behind" figures).
    pub fn feed_len_after(&self, seq: u64, max: usize) -> Result<usize, StoreError> {
        let from = feed_key(seq.saturating_add(1));
        Ok(self.kv.range(&from, FEED_END, max)?.len())
    }

    /// Every document's feed entry (the feed holds each document once), sorted by document id:
    /// for set reconciliation with a peer. O(n) in the number of documents, reading the whole
    /// feed: only the anti-entropy backstop uses it; regular replication follows the feed.
    pub fn digest(&self) -> Result<Vec<FeedEntry>, StoreError> {
        let rows = self.kv.range(b"f/", FEED_END, usize::MAX)?;
        let mut entries =
            rows.into_iter().map(|(key, value)| feed_entry(&key, &value)).collect::<Result<Vec<_>, _>>()?;
        entries.sort_by(|a, b| a.doc.cmp(&b.doc));
        Ok(entries)
    }

    /// The feed position, published whenever the committer acknowledges document writes (writes
    /// that change nothing and checkpoints publish nothing). For live replication.
    pub fn watch_seq(&self) -> tokio::sync::watch::Receiver<u64> {
        self.committer.watch()
    }

    /// A document's heads, from its metadata (the document is not loaded); `None` if this node
    /// does not hold it. Cases and reference documents alike.
    pub fn heads(&self, id: &str) -> Result<Option<Vec<ChangeHash>>, StoreError> {
        check_doc_id(id)?;
        let Some(meta) = self.meta(id)? else { return Ok(None) };
        let corrupt = || StoreError::Corrupt { doc: id.to_string(), key: format!("d/{id}/m") };
        let heads = meta.heads.iter().map(|h| h.parse::<ChangeHash>().map_err(|_| corrupt()));
        heads.collect::<Result<Vec<_>, _>>().map(Some)
    }

    /// What a peer at `their_heads` lacks of the document `id`; `None` if this node does not hold
    /// it. No heads: the whole document (`whole`). Heads all known here: the changes after them
    /// (empty when the peer has everything). Some heads unknown here (the histories diverged):
    /// the changes after the known ones, a superset of what the peer lacks; the whole document
    /// if none is known. Either kind of bytes applies with `apply_remote` (or Automerge's
    /// `load_incremental`); only whole bytes load as a new document.
    pub fn changes_after(&self, id: &str, their_heads: &[ChangeHash]) -> Result<Option<Delta>, StoreError> {
        if their_heads.is_empty() && reference_kind(id).is_none() {
            // The whole case for a peer that lacks it: the stored bytes as they are, without
            // loading the document (bootstrap sends every document this way).
            check_doc_id(id)?;
            let cached =
                self.cache.lock().map_err(|_| StoreError::Poisoned)?.get_mut(id).map(|c| c.doc.save());
            let bytes = match cached {
                Some(b) => Some(b),
                None => self.stored_bytes(id)?,
            };
            return Ok(bytes.map(|bytes| Delta { bytes, whole: true }));
        }
        self.with_automerge(id, |am| {
            if their_heads.is_empty() {
                return Delta { bytes: am.save(), whole: true };
            }
            let known: Vec<ChangeHash> =
                their_heads.iter().filter(|h| am.get_change_by_hash(h).is_some()).copied().collect();
            if known.is_empty() {
                return Delta { bytes: am.save(), whole: true };
            }
            Delta { bytes: am.save_after(&known), whole: false }
        })
    }

    /// The feed position of the document's latest change; `None` if it is not held.
    pub fn feed_seq(&self, id: &str) -> Result<Option<u64>, StoreError> {
        check_doc_id(id)?;
        Ok(self.meta(id)?.map(|m| m.seq))
    }

    /// Whether the document holds every one of these changes (its history, not only its heads):
    /// a peer's offer of heads this node is already past needs nothing. `false` if the document
    /// is not held.
    pub fn contains_all(&self, id: &str, hashes: &[ChangeHash]) -> Result<bool, StoreError> {
        let all = |am: &mut automerge::AutoCommit| hashes.iter().all(|h| am.get_change_by_hash(h).is_some());
        Ok(self.with_automerge(id, all)?.unwrap_or(false))
    }

    /// The document's heads followed by their nearest ancestors (breadth first), at most `max`
    /// hashes; `None` if the document is not held. A node sends this as what it has, so that a
    /// peer whose history diverged from ours (it lacks our newest changes) still finds changes
    /// it knows among them and sends only what comes after those, not the whole document.
    pub fn frontier(&self, id: &str, max: usize) -> Result<Option<Vec<ChangeHash>>, StoreError> {
        self.with_automerge(id, |am| {
            let mut out: Vec<ChangeHash> = am.get_heads();
            let mut seen: std::collections::HashSet<ChangeHash> = out.iter().copied().collect();
            let mut next = 0;
            while out.len() < max && next < out.len() {
                let deps = am.get_change_by_hash(&out[next]).map(|c| c.deps().to_vec()).unwrap_or_default();
                for d in deps {
                    if out.len() < max && seen.insert(d) {
                        out.push(d);
                    }
                }
                next += 1;
            }
            out.truncate(max);
            out
        })
    }

    /// Runs `f` on the document's Automerge state (through the cache for cases); `None` if the
    /// document is not held.
    fn with_automerge<R>(
        &self,
        id: &str,
        f: impl FnOnce(&mut automerge::AutoCommit) -> R,
    ) -> Result<Option<R>, StoreError> {
        check_doc_id(id)?;
        if reference_kind(id).is_some() {
            return Ok(self.reference_doc(id)?.map(|mut doc| f(doc.inner())));
        }
        let mut cache = self.cache.lock().map_err(|_| StoreError::Poisoned)?;
        if let Some(c) = cache.get_mut(id) {
            return Ok(Some(f(c.doc.inner())));
        }
        let Some(mut c) = self.load(id)? else { return Ok(None) };
        let out = f(c.doc.inner());
        cache.put(id.to_string(), c);
        Ok(Some(out))
    }

    /// Stores how far this node has read `peer`'s feed. Durable on return (through the
    /// committer, outside the feed).
    pub fn put_checkpoint(&self, peer: &str, cp: &Checkpoint) -> Result<(), StoreError> {
        check_doc_id(peer)?;
        let mut batch = WriteBatch::default();
        batch.put(checkpoint_key(peer), seal_json(cp));
        self.committer.commit_plain(batch)
    }

    /// How far this node has read `peer`'s feed, if it ever did.
    pub fn checkpoint(&self, peer: &str) -> Result<Option<Checkpoint>, StoreError> {
        check_doc_id(peer)?;
        let key = checkpoint_key(peer);
        let Some(raw) = self.kv.get(&key)? else { return Ok(None) };
        record::open(&raw).and_then(|p| serde_json::from_slice(p).ok()).map(Some).ok_or_else(|| {
            StoreError::Corrupt { doc: peer.to_string(), key: String::from_utf8_lossy(&key).into() }
        })
    }

    /// Documents whose `index` has `value`, in document-id order, at most `limit`.
    pub fn find(&self, index: Index, value: &str, limit: usize) -> Result<Vec<String>, StoreError> {
        let limit = limit.min(self.config.query_limit_max);
        let prefix = format!("i/{}\0{value}\0", index.tag()).into_bytes();
        let mut end = prefix.clone();
        if let Some(last) = end.last_mut() {
            *last = 1;
        }
        let rows = self.kv.range(&prefix, &end, limit)?;
        Ok(rows.into_iter().filter_map(|(k, _)| String::from_utf8(k[prefix.len()..].to_vec()).ok()).collect())
    }

    /// Loads a document from its snapshot and chunks, verifying every checksum.
    fn load(&self, id: &str) -> Result<Option<Cached>, StoreError> {
        let Some(bytes) = self.stored_bytes(id)? else { return Ok(None) };
        let corrupt = || StoreError::Corrupt { doc: id.to_string(), key: format!("d/{id}/s") };
        // One load of the snapshot and every chunk together: Automerge applies the chunks' changes
        // in one pass, where a load_incremental per chunk costs about a whole load each.
        let mut doc = CaseDoc::load(&bytes, &self.actor).map_err(|_| corrupt())?;
        // Everything loaded is on disk already: the next incremental save starts from here.
        let _ = doc.save_incremental();
        let case = doc.case().map_err(|_| corrupt())?;
        Ok(Some(Cached { doc, case }))
    }

    /// A stored case exactly as stored: its snapshot followed by its change chunks, every
    /// checksum verified (a failing one is reported with its key). Automerge loads this
    /// concatenation as one document. `None` if the document is not held.
    fn stored_bytes(&self, id: &str) -> Result<Option<Vec<u8>>, StoreError> {
        let Some(meta) = self.meta(id)? else { return Ok(None) };
        let corrupt = |key: &[u8]| StoreError::Corrupt {
            doc: id.to_string(),
            key: String::from_utf8_lossy(key).into(),
        };
        let mut out = Vec::with_capacity((meta.snapshot_bytes + meta.chunk_bytes) as usize);
        let snap_key = doc_key(id, "s");
        if let Some(raw) = self.kv.get(&snap_key)? {
            out.extend_from_slice(record::open(&raw).ok_or_else(|| corrupt(&snap_key))?);
        }
        let from = chunk_key(id, meta.first_chunk);
        let to = chunk_key(id, meta.next_chunk);
        for (key, raw) in self.kv.range(&from, &to, usize::MAX)? {
            out.extend_from_slice(record::open(&raw).ok_or_else(|| corrupt(&key))?);
        }
        if out.is_empty() {
            return Err(corrupt(&snap_key));
        }
        Ok(Some(out))
    }

    fn meta(&self, id: &str) -> Result<Option<DocMeta>, StoreError> {
        let key = doc_key(id, "m");
        match self.kv.get(&key)? {
            None => Ok(None),
            Some(raw) => {
                record::open(&raw).and_then(|p| serde_json::from_slice(p).ok()).map(Some).ok_or_else(|| {
                    StoreError::Corrupt { doc: id.to_string(), key: String::from_utf8_lossy(&key).into() }
                })
            }
        }
    }

    /// The write path shared by every kind of write.
    /// `received`: the bytes a new document was loaded from, stored as its snapshot as they are
    /// (saving the document again would cost a compression pass for the same content).
    fn write_doc(
        &self,
        id: &str,
        received: Option<&[u8]>,
        change: impl FnOnce(Option<Cached>) -> Result<Cached, StoreError>,
    ) -> Result<Ack, StoreError> {
        let _admitted = self.admit(id)?;

        // 1. The document's change, outside the store-wide lock (Automerge work is the cost).
        let cached = self.cache.lock().map_err(|_| StoreError::Poisoned)?.pop(id);
        let existing = match cached {
            Some(c) => Some(c),
            None => self.load(id)?,
        };
        let is_new = existing.is_none();
        let mut meta = if is_new { DocMeta::default() } else { self.meta(id)?.unwrap_or_default() };
        let mut c = change(existing)?;
        let heads = c.doc.heads();
        if !is_new && meta.heads == hex_heads(&heads) {
            // Nothing new (events or peer changes already held): no write, no feed entry.
            self.cache.lock().map_err(|_| StoreError::Poisoned)?.put(id.to_string(), c);
            return Ok(Ack { seq: meta.seq, heads });
        }
        let state = c.case.state();
        let chunk = c.doc.save_incremental();
        // A document new here that was loaded from a peer's bytes has no unsaved changes (the
        // chunk is empty): it is stored whole, as a snapshot.
        let compact = (is_new && chunk.is_empty())
            || meta.chunks() + 1 > u64::from(self.config.compact_chunks_max)
            || (self.config.compact_when_chunks_exceed_snapshot
                && meta.snapshot_bytes > 0
                && meta.chunk_bytes + chunk.len() as u64 > meta.snapshot_bytes);

        let mut batch = WriteBatch::default();
        if compact {
            // The snapshot holds every change; it replaces the chunks in the same atomic batch.
            let snapshot = match received {
                Some(bytes) if is_new && chunk.is_empty() => bytes.to_vec(),
                _ => c.doc.save(),
            };
            for n in meta.first_chunk..meta.next_chunk {
                batch.delete(chunk_key(id, n));
            }
            meta.snapshot_bytes = snapshot.len() as u64;
            batch.put(doc_key(id, "s"), record::seal(&snapshot));
            meta.first_chunk = meta.next_chunk;
            meta.chunk_bytes = 0;
        } else if !chunk.is_empty() {
            meta.chunk_bytes += chunk.len() as u64;
            batch.put(chunk_key(id, meta.next_chunk), record::seal(&chunk));
            meta.next_chunk += 1;
        }
        let index = index_entries(&c.case, &state, &self.calendar);
        for (name, value) in &meta.index {
            if !index.contains(&(*name, value.clone())) {
                batch.delete(index_key(*name, value, id));
            }
        }
        for (name, value) in &index {
            batch.put(index_key(*name, value, id), Vec::new());
        }
        meta.index = index;
        meta.heads = hex_heads(&heads);
        let previous_seq = meta.seq;

        // 2. Commit: the committer gives the feed position, applies and fsyncs with others (O2).
        let doc = id.to_string();
        let heads_hex = meta.heads.clone();
        let scope = Some(c.case.header.scope.clone());
        let finish = Box::new(move |seq: u64| {
            if previous_seq > 0 {
                batch.delete(feed_key(previous_seq));
            }
            let feed = FeedEntry { seq, doc: doc.clone(), heads: heads_hex, scope };
            batch.put(feed_key(seq), seal_json(&feed));
            meta.seq = seq;
            batch.put(doc_key(&doc, "m"), seal_json(&meta));
            batch
        });
        // On failure the document does not go back into the cache: memory holds only what the
        // disk holds.
        let seq = self.committer.commit(finish, is_new)?;
        self.cache.lock().map_err(|_| StoreError::Poisoned)?.put(id.to_string(), c);
        Ok(Ack { seq, heads })
    }

    /// The lock that serialises the writes of one document.
    fn stripe(&self, id: &str) -> &Mutex<()> {
        &self.stripes[blake3::hash(id.as_bytes()).as_bytes()[0] as usize % WRITE_STRIPES]
    }
}

fn feed_entry(key: &[u8], value: &[u8]) -> Result<FeedEntry, StoreError> {
    record::open(value)
        .and_then(|p| serde_json::from_slice::<FeedEntry>(p).ok())
        .ok_or_else(|| StoreError::Corrupt { doc: "-".into(), key: String::from_utf8_lossy(key).into() })
}

struct WriterGuard<'a>(&'a AtomicUsize);

impl Drop for WriterGuard<'_> {
    fn drop(&mut self) {
        self.0.fetch_sub(1, Ordering::SeqCst);
    }
}

/// A new feed epoch or actor suffix: unique per call (time, process, a per-process counter, actor).
fn new_epoch(actor: &[u8]) -> [u8; 16] {
    static CALLS: AtomicUsize = AtomicUsize::new(0);
    let mut h = blake3::Hasher::new();
    h.update(&crate::clock::now_ms().to_le_bytes());
    h.update(&CALLS.fetch_add(1, Ordering::SeqCst).to_le_bytes());
    h.update(&std::process::id().to_le_bytes());
    h.update(actor);
    let mut out = [0u8; 16];
    out.copy_from_slice(&h.finalize().as_bytes()[..16]);
    out
}
