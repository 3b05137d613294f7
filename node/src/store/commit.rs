//! Group commit: writers prepare their batch in parallel (the Automerge work); one committer
//! thread takes every batch waiting, gives each its feed position, applies them as one atomic
//! sled batch, fsyncs once and acknowledges them all. Applying and fsyncing never overlap (sled
//! stalls writes while it flushes), and under 32 writers one fsync acknowledges many cases.
//!
//! Bounds: at most [`COMMIT_QUEUE_MAX`] batches wait in the queue (a writer beyond that blocks:
//! back-pressure), and one group holds at most [`COMMIT_GROUP_MAX`] of them.
//!
//! Besides document writes (which take a feed position) the committer writes plain batches that
//! are not in the feed (peer checkpoints), so that every write to the store shares its one
//! apply-then-fsync sequence and its stop after a failure. Whenever a group took feed positions,
//! the new last position is published on a `tokio::sync::watch` channel ([`Committer::watch`]).

use std::sync::mpsc::{Receiver, SyncSender, sync_channel};
use std::sync::{Arc, Mutex};
use std::thread::JoinHandle;

use tokio::sync::watch;

use super::StoreError;
use super::kv::{Kv, WriteBatch};

/// Batches waiting for the committer.
pub const COMMIT_QUEUE_MAX: usize = 1_024;
/// Batches committed by one fsync at most.
pub const COMMIT_GROUP_MAX: usize = 256;

/// The committer's counters, for metrics.
#[derive(Debug, Default, Clone, Copy, PartialEq, Eq)]
pub struct CommitCounts {
    pub last_seq: u64,
    pub docs: u64,
    pub commits: u64,
    pub syncs: u64,
}

/// What a writer hands over.
pub enum Work {
    /// A document's write: the rest of its batch is written once its feed position is known.
    /// `finish`, given the feed position, returns the complete batch; `new_doc` counts documents.
    Doc { finish: Box<dyn FnOnce(u64) -> WriteBatch + Send>, new_doc: bool },
    /// A write outside the feed (peer checkpoints): takes no feed position.
    Plain(WriteBatch),
}

/// A writer's work and where to acknowledge it (with its feed position, or the current last
/// position for [`Work::Plain`]).
pub struct Job {
    pub work: Work,
    pub done: SyncSender<Result<u64, String>>,
}

pub struct Committer {
    queue: Mutex<Option<SyncSender<Job>>>,
    counts: Arc<Mutex<CommitCounts>>,
    seq_tx: Arc<watch::Sender<u64>>,
    thread: Mutex<Option<JoinHandle<()>>>,
}

impl Committer {
    pub fn start(kv: Arc<dyn Kv>, last_seq: u64, docs: u64) -> Committer {
        let (tx, rx) = sync_channel::<Job>(COMMIT_QUEUE_MAX);
        let counts = Arc::new(Mutex::new(CommitCounts { last_seq, docs, commits: 0, syncs: 0 }));
        let seq_tx = Arc::new(watch::Sender::new(last_seq));
        let (c, w) = (counts.clone(), seq_tx.clone());
        let thread =
            std::thread::Builder::new().name("yikou-commit".into()).spawn(move || run(kv, rx, c, w)).ok();
        Committer { queue: Mutex::new(Some(tx)), counts, seq_tx, thread: Mutex::new(thread) }
    }

    /// Commits a document's write; returns its feed position once it is durable.
    pub fn commit(
        &self,
        finish: Box<dyn FnOnce(u64) -> WriteBatch + Send>,
        new_doc: bool,
    ) -> Result<u64, StoreError> {
        self.submit(Work::Doc { finish, new_doc })
    }

    /// Commits a batch outside the feed; returns once it is durable.
    pub fn commit_plain(&self, batch: WriteBatch) -> Result<(), StoreError> {
        self.submit(Work::Plain(batch)).map(drop)
    }

    fn submit(&self, work: Work) -> Result<u64, StoreError> {
        let (done, wait) = sync_channel(1);
        let queue = self.queue.lock().map_err(|_| StoreError::Poisoned)?.clone();
        let queue = queue.ok_or_else(|| StoreError::SyncFailed("存储已关闭".into()))?;
        queue.send(Job { work, done }).map_err(|_| StoreError::SyncFailed("提交线程已停止".into()))?;
        match wait.recv() {
            Ok(Ok(seq)) => Ok(seq),
            Ok(Err(e)) => Err(StoreError::SyncFailed(e)),
            Err(_) => Err(StoreError::SyncFailed("提交线程已停止".into())),
        }
    }

    pub fn counts(&self) -> CommitCounts {
        self.counts.lock().map(|c| *c).unwrap_or_default()
    }

    /// The last acknowledged feed position, changing whenever a group of document writes is
    /// acknowledged (not for plain writes).
    pub fn watch(&self) -> watch::Receiver<u64> {
        self.seq_tx.subscribe()
    }
}

impl Drop for Committer {
    fn drop(&mut self) {
        // Closing the queue ends the thread once it has committed what it holds.
        if let Ok(mut q) = self.queue.lock() {
            q.take();
        }
        if let Some(t) = self.thread.lock().ok().and_then(|mut t| t.take()) {
            let _ = t.join();
        }
    }
}

fn run(
    kv: Arc<dyn Kv>,
    rx: Receiver<Job>,
    counts: Arc<Mutex<CommitCounts>>,
    seq_tx: Arc<watch::Sender<u64>>,
) {
    let Ok(c) = counts.lock().map(|c| *c) else { return };
    let (mut seq, mut docs) = (c.last_seq, c.docs);
    // After a failed apply or fsync the data's fate is unknown (fsyncgate): refuse from then on.
    let mut failed: Option<String> = None;
    while let Ok(first) = rx.recv() {
        let mut jobs = vec![first];
        while jobs.len() < COMMIT_GROUP_MAX {
            match rx.try_recv() {
                Ok(job) => jobs.push(job),
                Err(_) => break,
            }
        }
        if let Some(e) = &failed {
            for job in jobs {
                let _ = job.done.send(Err(e.clone()));
            }
            continue;
        }
        let mut group = WriteBatch::default();
        let mut acks = Vec::with_capacity(jobs.len());
        let (start_seq, start_docs) = (seq, docs);
        for job in jobs {
            match job.work {
                Work::Doc { finish, new_doc } => {
                    seq += 1;
                    if new_doc {
                        docs += 1;
                    }
                    group.ops.extend(finish(seq).ops);
                    acks.push((job.done, seq));
                }
                Work::Plain(batch) => {
                    group.ops.extend(batch.ops);
                    acks.push((job.done, seq));
                }
            }
        }
        group.put(b"m/seq".to_vec(), seq.to_be_bytes().to_vec());
        group.put(b"m/docs".to_vec(), docs.to_be_bytes().to_vec());
        let result = kv.apply(&group).and_then(|()| kv.sync());
        match result {
            Ok(()) => {
                if let Ok(mut c) = counts.lock() {
                    c.last_seq = seq;
                    c.docs = docs;
                    c.commits += acks.len() as u64;
                    c.syncs += 1;
                }
                if seq != start_seq {
                    seq_tx.send_replace(seq);
                }
                for (done, s) in acks {
                    let _ = done.send(Ok(s));
                }
            }
            Err(e) => {
                let message = e.to_string();
                (seq, docs) = (start_seq, start_docs);
                for (done, _) in acks {
                    let _ = done.send(Err(message.clone()));
                }
                failed = Some(message);
            }
        }
    }
}
