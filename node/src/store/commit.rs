//! Group commit: writers prepare their batch in parallel (the Automerge work); one committer
//! thread takes every batch waiting, gives each its feed position, applies them as one atomic
//! sled batch, fsyncs once and acknowledges them all. Applying and fsyncing never overlap (sled
//! stalls writes while it flushes), and under 32 writers one fsync acknowledges many cases.
//!
//! Bounds: at most [`COMMIT_QUEUE_MAX`] batches wait in the queue (a writer beyond that blocks:
//! back-pressure), and one group holds at most [`COMMIT_GROUP_MAX`] of them.

use std::sync::mpsc::{Receiver, SyncSender, sync_channel};
use std::sync::{Arc, Mutex};
use std::thread::JoinHandle;

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

/// What a writer hands over: the rest of its batch is written once its feed position is known.
pub struct Job {
    /// Given the feed position and whether the document is new, the complete batch.
    pub finish: Box<dyn FnOnce(u64) -> WriteBatch + Send>,
    pub new_doc: bool,
    pub done: SyncSender<Result<u64, String>>,
}

pub struct Committer {
    queue: Mutex<Option<SyncSender<Job>>>,
    counts: Arc<Mutex<CommitCounts>>,
    thread: Mutex<Option<JoinHandle<()>>>,
}

impl Committer {
    pub fn start(kv: Arc<dyn Kv>, last_seq: u64, docs: u64) -> Committer {
        let (tx, rx) = sync_channel::<Job>(COMMIT_QUEUE_MAX);
        let counts = Arc::new(Mutex::new(CommitCounts { last_seq, docs, commits: 0, syncs: 0 }));
        let c = counts.clone();
        let thread =
            std::thread::Builder::new().name("yikou-commit".into()).spawn(move || run(kv, rx, c)).ok();
        Committer { queue: Mutex::new(Some(tx)), counts, thread: Mutex::new(thread) }
    }

    /// Commits a job; returns its feed position once it is durable.
    pub fn commit(
        &self,
        finish: Box<dyn FnOnce(u64) -> WriteBatch + Send>,
        new_doc: bool,
    ) -> Result<u64, StoreError> {
        let (done, wait) = sync_channel(1);
        let queue = self.queue.lock().map_err(|_| StoreError::Poisoned)?.clone();
        let queue = queue.ok_or_else(|| StoreError::SyncFailed("存储已关闭".into()))?;
        queue
            .send(Job { finish, new_doc, done })
            .map_err(|_| StoreError::SyncFailed("提交线程已停止".into()))?;
        match wait.recv() {
            Ok(Ok(seq)) => Ok(seq),
            Ok(Err(e)) => Err(StoreError::SyncFailed(e)),
            Err(_) => Err(StoreError::SyncFailed("提交线程已停止".into())),
        }
    }

    pub fn counts(&self) -> CommitCounts {
        self.counts.lock().map(|c| *c).unwrap_or_default()
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

fn run(kv: Arc<dyn Kv>, rx: Receiver<Job>, counts: Arc<Mutex<CommitCounts>>) {
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
            seq += 1;
            if job.new_doc {
                docs += 1;
            }
            group.ops.extend((job.finish)(seq).ops);
            acks.push((job.done, seq));
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
