//! Group commit: many writers, one fsync.
//!
//! Each writer applies its batch (fast, in memory) and takes a ticket; then it waits until a sync
//! that started after its apply has finished. The first waiter to find no sync running runs one
//! for everybody applied so far; the others wait on a condition variable. Under 32 concurrent
//! writers one fsync acknowledges many cases.

use std::sync::{Condvar, Mutex};

use super::StoreError;
use super::kv::Kv;

#[derive(Default)]
struct State {
    /// Tickets handed out (batches applied).
    applied: u64,
    /// Every ticket up to this one is durable.
    synced: u64,
    syncing: bool,
    /// The last sync failed: what it covered is not known to be durable.
    failed: Option<String>,
}

#[derive(Default)]
pub struct SyncGate {
    state: Mutex<State>,
    done: Condvar,
}

impl SyncGate {
    /// A ticket for a batch just applied. Call while still holding the store's write lock, so
    /// that tickets follow the order of application.
    pub fn ticket(&self) -> Result<u64, StoreError> {
        let mut s = self.state.lock().map_err(|_| StoreError::Poisoned)?;
        s.applied += 1;
        Ok(s.applied)
    }

    /// Returns once everything up to `ticket` is durable.
    pub fn wait(&self, kv: &dyn Kv, ticket: u64) -> Result<(), StoreError> {
        let mut s = self.state.lock().map_err(|_| StoreError::Poisoned)?;
        loop {
            if s.synced >= ticket {
                return Ok(());
            }
            if let Some(e) = &s.failed {
                return Err(StoreError::SyncFailed(e.clone()));
            }
            if !s.syncing {
                s.syncing = true;
                let target = s.applied;
                drop(s);
                let result = kv.sync();
                s = self.state.lock().map_err(|_| StoreError::Poisoned)?;
                s.syncing = false;
                match result {
                    Ok(()) => s.synced = s.synced.max(target),
                    // A failed fsync leaves the data's fate unknown (fsyncgate): stop acknowledging.
                    Err(e) => s.failed = Some(e.to_string()),
                }
                self.done.notify_all();
                continue;
            }
            s = self.done.wait(s).map_err(|_| StoreError::Poisoned)?;
        }
    }
}
