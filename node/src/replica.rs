//! Replication's storage side: the answers to a [`yikou_sync::Session`]'s storage requests,
//! taken from the [`CaseStore`], and the scope policy (O5) that decides what crosses to and from
//! a peer. Synchronous (the quinn driver runs it on a blocking thread; the simulation calls it
//! directly), so the same code serves real links and simulated ones.

use std::sync::Arc;

use automerge::ChangeHash;
use yikou_sync::session::{Policy, Reply, Request};
use yikou_sync::wire::{DocData, DocHeads, Hash, WantDoc};

use crate::store::{CaseStore, Checkpoint, FeedEntry, StoreError};

/// What a node may read and write, from its certificate: the hall reads and writes everything;
/// a township reads the shared reference data and its own cases, and writes its own cases.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Access {
    pub hall: bool,
    /// The township (or hall) code whose cases are this node's own.
    pub scope: String,
}

fn is_reference(doc: &str) -> bool {
    doc.starts_with("ref:")
}

impl Access {
    pub fn hall(scope: &str) -> Access {
        Access { hall: true, scope: scope.to_string() }
    }

    pub fn township(scope: &str) -> Access {
        Access { hall: false, scope: scope.to_string() }
    }

    /// May this node hold the document?
    pub fn reads(&self, doc: &str, scope: Option<&str>) -> bool {
        self.hall || is_reference(doc) || scope == Some(self.scope.as_str())
    }

    /// May this node change the document? Reference data is the hall's (catalog adjustments by
    /// the hall centre, W11; the dishonesty list); a township writes only its own cases.
    pub fn writes(&self, doc: &str, scope: Option<&str>) -> bool {
        self.hall || (!is_reference(doc) && scope == Some(self.scope.as_str()))
    }
}

/// The policy of one session: this node and the peer's access.
#[derive(Debug, Clone)]
pub struct ScopePolicy {
    pub me: Access,
    pub peer: Access,
}

impl ScopePolicy {
    /// The check of incoming changes against the document they produce (its real scope, not
    /// the tag the peer offered it under).
    pub fn check_incoming(&self, doc: &str, scope: Option<&str>) -> Result<(), String> {
        if !self.peer.writes(doc, scope) {
            return Err(format!("对端节点无权修改文档 {doc}(归属 {})", scope.unwrap_or("共享数据")));
        }
        if !self.me.reads(doc, scope) {
            return Err(format!("文档 {doc} 不属于本节点的范围 {}", self.me.scope));
        }
        Ok(())
    }
}

impl Policy for ScopePolicy {
    fn may_send(&self, doc: &str, scope: Option<&str>) -> bool {
        self.peer.reads(doc, scope)
    }

    /// Before the content is seen: what the peer may write, and, at a hall, reference data too
    /// (which is then applied only if it is the hall's own changes coming back, see
    /// [`Host`]'s check).
    fn may_accept(&self, doc: &str, scope: Option<&str>) -> bool {
        self.check_incoming(doc, scope).is_ok() || (is_reference(doc) && self.me.hall)
    }
}

/// Storage failures that must not be acknowledged to the peer (the session closes and is
/// retried), as opposed to refusals of bad data, which are reported and acknowledged.
#[derive(Debug, thiserror::Error)]
#[error("{0}")]
pub struct HostError(pub StoreError);

fn is_refusal(e: &StoreError) -> bool {
    matches!(
        e,
        StoreError::Forbidden { .. }
            | StoreError::Doc(_)
            | StoreError::MissingDeps { .. }
            | StoreError::NotFound(_)
            | StoreError::AlreadyExists(_)
    )
}

fn hash_of(hex: &str) -> Option<Hash> {
    hex.parse::<ChangeHash>().ok().map(|h| Hash(h.0))
}

fn doc_heads(e: FeedEntry) -> DocHeads {
    DocHeads { heads: e.heads.iter().filter_map(|h| hash_of(h)).collect(), doc: e.doc, scope: e.scope }
}

/// One document's outcome: refused with a reason, or not; or a storage failure.
type ApplyOutcome = Result<Option<(String, String)>, StoreError>;

fn change_hashes(heads: &[Hash]) -> Vec<ChangeHash> {
    heads.iter().map(|h| ChangeHash(h.0)).collect()
}

/// Answers storage requests from the store.
pub struct Host {
    store: Arc<CaseStore>,
    policy: ScopePolicy,
    /// Threads applying one batch's documents in parallel, so that their fsyncs are grouped
    /// by the store's committer. 1 keeps the simulation deterministic.
    apply_threads: usize,
}

/// Hashes a `Want` carries for one document: its heads and their nearest ancestors.
pub const HAVE_HASHES_MAX: usize = 16;

/// Threads that apply one batch by default.
pub const APPLY_THREADS_DEFAULT: usize = 16;

impl Host {
    pub fn new(store: Arc<CaseStore>, policy: ScopePolicy, apply_threads: usize) -> Host {
        Host { store, policy, apply_threads: apply_threads.max(1) }
    }

    pub fn store(&self) -> &Arc<CaseStore> {
        &self.store
    }

    /// Runs one request. `Ok(None)` for requests without a reply.
    pub fn serve(&self, req: Request) -> Result<Option<Reply>, HostError> {
        self.serve_inner(req).map_err(HostError)
    }

    fn serve_inner(&self, req: Request) -> Result<Option<Reply>, StoreError> {
        let s = &self.store;
        Ok(Some(match req {
            Request::ReadFeed { after, limit } => {
                let head = s.last_seq()?;
                let entries = s.changes_since(after, limit)?;
                Reply::Feed { entries: entries.into_iter().map(|e| (e.seq, doc_heads(e))).collect(), head }
            }
            Request::CheckHave { batch, docs, peer_holds } => {
                let mut wants = Vec::new();
                for (i, d) in docs.iter().enumerate() {
                    let idx = i as u32;
                    let Some(mine) = s.heads(&d.doc)? else {
                        wants.push(WantDoc { idx, have: Vec::new() });
                        continue;
                    };
                    let mine: Vec<Hash> = mine.iter().map(|h| Hash(h.0)).collect();
                    if d.heads.iter().all(|h| mine.contains(h)) {
                        continue;
                    }
                    if s.contains_all(&d.doc, &change_hashes(&d.heads))? {
                        continue;
                    }
                    // Changed here after what the peer holds of our feed: the peer may lack our
                    // newest changes (diverged histories), so send their nearest ancestors too,
                    // among which it finds a common point. Otherwise our heads are enough.
                    let diverged = s.feed_seq(&d.doc)?.is_some_and(|seq| seq > peer_holds);
                    let have = match diverged {
                        true => s
                            .frontier(&d.doc, HAVE_HASHES_MAX)?
                            .map_or(mine, |f| f.iter().map(|h| Hash(h.0)).collect()),
                        false => mine,
                    };
                    wants.push(WantDoc { idx, have });
                }
                Reply::Have { batch, wants }
            }
            Request::ReadChanges { batch, docs } => {
                let mut out = Vec::with_capacity(docs.len());
                for (idx, doc, have) in docs {
                    // A document offered is never deleted; if it is missing, the store is not
                    // what the offer said: close the session rather than send less than promised.
                    let delta =
                        s.changes_after(&doc, &change_hashes(&have))?.ok_or(StoreError::NotFound(doc))?;
                    out.push(DocData { idx, whole: delta.whole, bytes: delta.bytes });
                }
                Reply::Changes { batch, docs: out }
            }
            Request::Apply { batch, docs } => Reply::Applied { batch, refused: self.apply(docs)? },
            Request::SaveCheckpoint { peer, cursor } => {
                s.put_checkpoint(&peer, &Checkpoint { epoch: cursor.epoch, seq: cursor.seq })?;
                return Ok(None);
            }
            Request::ReadSet => Reply::Set { docs: s.digest()?.into_iter().map(doc_heads).collect() },
        }))
    }

    /// Applies a batch; returns the documents refused (bad or forbidden data, with the reason).
    /// A storage failure is an error: the batch must not be acknowledged.
    fn apply(&self, docs: Vec<(String, DocData)>) -> Result<Vec<(String, String)>, StoreError> {
        let apply_one = |(doc, data): &(String, DocData)| -> ApplyOutcome {
            let check = |r: &crate::store::RemoteDoc<'_>| {
                let allowed = self.policy.check_incoming(r.id, r.scope);
                // A hall's own reference-data changes may come back through a township: a peer
                // can receive a change that the hall then loses (a power cut before its fsync,
                // a restore from backup). Every new change must be one of this hall's actors.
                let own = is_reference(r.id)
                    && self.policy.me.hall
                    && !r.authors.is_empty()
                    && r.authors.iter().all(|a| self.store.is_own_actor(a));
                if own { Ok(()) } else { allowed }
            };
            match self.store.apply_remote_checked(doc, &data.bytes, &check) {
                Ok(_) => Ok(None),
                Err(e) if is_refusal(&e) => Ok(Some((doc.clone(), e.to_string()))),
                Err(e) => Err(e),
            }
        };
        let threads = self.apply_threads.min(docs.len()).max(1);
        let results: Vec<ApplyOutcome> = if threads == 1 {
            docs.iter().map(apply_one).collect()
        } else {
            let next = std::sync::atomic::AtomicUsize::new(0);
            let slots: Vec<std::sync::Mutex<Option<ApplyOutcome>>> =
                docs.iter().map(|_| std::sync::Mutex::new(None)).collect();
            std::thread::scope(|scope| {
                for _ in 0..threads {
                    scope.spawn(|| {
                        loop {
                            let i = next.fetch_add(1, std::sync::atomic::Ordering::SeqCst);
                            let Some(item) = docs.get(i) else { break };
                            let r = apply_one(item);
                            if let Ok(mut slot) = slots[i].lock() {
                                *slot = Some(r);
                            }
                        }
                    });
                }
            });
            slots
                .into_iter()
                .map(|m| m.into_inner().ok().flatten().unwrap_or(Err(StoreError::Poisoned)))
                .collect()
        };
        let mut refused = Vec::new();
        for r in results {
            if let Some(x) = r? {
                refused.push(x);
            }
        }
        Ok(refused)
    }
}
