//! The storage trait the case store is written against, and its two implementations: sled on
//! disk ([`SledKv`], the product) and a map in memory ([`MemKv`], for the deterministic
//! simulation and for crash tests, where it can drop whatever was not synced).
//!
//! Durability: sled 0.34's `flush()` ends in `sync_file_range`, which is not safe against power
//! loss (upstream issue 1452). [`SledKv::sync`] therefore flushes and then fsyncs sled's data file,
//! its blob files and the directories itself.

use std::collections::{BTreeMap, BTreeSet};
use std::fs::File;
use std::path::{Path, PathBuf};
use std::sync::Mutex;

use super::StoreError;

/// Key-value pairs in key order, as a range read returns them.
pub type Entries = Vec<(Vec<u8>, Vec<u8>)>;

/// Writes applied together: after a crash either all of them are there or none.
#[derive(Debug, Default, Clone, PartialEq, Eq)]
pub struct WriteBatch {
    pub ops: Vec<(Vec<u8>, Option<Vec<u8>>)>,
}

impl WriteBatch {
    pub fn put(&mut self, key: impl Into<Vec<u8>>, value: impl Into<Vec<u8>>) {
        self.ops.push((key.into(), Some(value.into())));
    }

    pub fn delete(&mut self, key: impl Into<Vec<u8>>) {
        self.ops.push((key.into(), None));
    }

    pub fn len(&self) -> usize {
        self.ops.len()
    }

    pub fn is_empty(&self) -> bool {
        self.ops.is_empty()
    }
}

/// An ordered key-value store with atomic batches and an explicit durability barrier.
pub trait Kv: Send + Sync + 'static {
    fn get(&self, key: &[u8]) -> Result<Option<Vec<u8>>, StoreError>;
    /// Entries with `from <= key < to`, in key order, at most `limit` of them.
    fn range(&self, from: &[u8], to: &[u8], limit: usize) -> Result<Entries, StoreError>;
    /// Applies the batch atomically (visible to readers at once, durable only after `sync`).
    fn apply(&self, batch: &WriteBatch) -> Result<(), StoreError>;
    /// Everything applied before this call survives power loss once it returns.
    fn sync(&self) -> Result<(), StoreError>;
    /// Bytes the store occupies on disk (0 in memory).
    fn size_on_disk(&self) -> Result<u64, StoreError>;
}

/// sled's page cache: a bound on the memory the store itself holds (the document cache is apart).
pub const SLED_CACHE_BYTES: u64 = 128 * 1024 * 1024;

/// sled 0.34.7 on disk.
pub struct SledKv {
    dir: PathBuf,
    db: sled::Db,
    data_file: File,
    /// Blob files already fsynced (sled writes values over its inline limit as separate files).
    synced_blobs: Mutex<BTreeSet<std::ffi::OsString>>,
    /// The directory's entries at the last sync: its own fsync is needed only when they change.
    dir_entries: Mutex<BTreeSet<std::ffi::OsString>>,
}

impl SledKv {
    pub fn open(dir: &Path) -> Result<SledKv, StoreError> {
        /// How long an open waits for a previous handle's lock to be released.
        const LOCK_WAIT_MS_MAX: u64 = 5_000;
        std::fs::create_dir_all(dir).map_err(|e| StoreError::io(dir, e))?;
        let config = sled::Config::new()
            .path(dir)
            .mode(sled::Mode::LowSpace)
            .cache_capacity(SLED_CACHE_BYTES)
            // Flushing is ours (group commit + fsync); sled's own 500 ms timer would only add I/O.
            .flush_every_ms(None);
        // sled releases its file lock only when its background threads notice the previous
        // handle was dropped: a reopen right after a close (a restart, a test) waits for that.
        let mut waited_ms = 0;
        let db = loop {
            match config.open() {
                Err(sled::Error::Io(e))
                    if e.to_string().contains("could not acquire lock") && waited_ms < LOCK_WAIT_MS_MAX =>
                {
                    std::thread::sleep(std::time::Duration::from_millis(20));
                    waited_ms += 20;
                }
                other => break other?,
            }
        };
        let data_path = dir.join("db");
        let data_file = File::open(&data_path).map_err(|e| StoreError::io(&data_path, e))?;
        let kv = SledKv {
            dir: dir.to_path_buf(),
            db,
            data_file,
            synced_blobs: Mutex::new(BTreeSet::new()),
            dir_entries: Mutex::new(BTreeSet::new()),
        };
        // What was on disk before we opened counts as synced only after one full sync.
        kv.sync()?;
        Ok(kv)
    }

    fn sync_blobs(&self) -> Result<(), StoreError> {
        let blobs = self.dir.join("blobs");
        let Ok(entries) = std::fs::read_dir(&blobs) else { return Ok(()) };
        let mut synced = self.synced_blobs.lock().map_err(|_| StoreError::Poisoned)?;
        let mut present = BTreeSet::new();
        let mut any = false;
        for entry in entries {
            let entry = entry.map_err(|e| StoreError::io(&blobs, e))?;
            let name = entry.file_name();
            if !synced.contains(&name) {
                let path = entry.path();
                // A blob sled garbage-collected meanwhile is simply gone.
                if let Ok(f) = File::open(&path) {
                    f.sync_all().map_err(|e| StoreError::io(&path, e))?;
                    any = true;
                }
            }
            present.insert(name);
        }
        *synced = present;
        if any {
            fsync_dir(&blobs)?;
        }
        Ok(())
    }
}

fn fsync_dir(dir: &Path) -> Result<(), StoreError> {
    File::open(dir).and_then(|d| d.sync_all()).map_err(|e| StoreError::io(dir, e))
}

impl Kv for SledKv {
    fn get(&self, key: &[u8]) -> Result<Option<Vec<u8>>, StoreError> {
        Ok(self.db.get(key)?.map(|v| v.to_vec()))
    }

    fn range(&self, from: &[u8], to: &[u8], limit: usize) -> Result<Entries, StoreError> {
        let mut out = Vec::new();
        if from >= to {
            return Ok(out);
        }
        for entry in self.db.range(from..to).take(limit) {
            let (k, v) = entry?;
            out.push((k.to_vec(), v.to_vec()));
        }
        Ok(out)
    }

    fn apply(&self, batch: &WriteBatch) -> Result<(), StoreError> {
        let mut b = sled::Batch::default();
        for (k, v) in &batch.ops {
            match v {
                Some(v) => b.insert(k.as_slice(), v.as_slice()),
                None => b.remove(k.as_slice()),
            }
        }
        self.db.apply_batch(b)?;
        Ok(())
    }

    fn sync(&self) -> Result<(), StoreError> {
        self.db.flush()?;
        self.data_file.sync_all().map_err(|e| StoreError::io(&self.dir.join("db"), e))?;
        self.sync_blobs()?;
        let entries: BTreeSet<std::ffi::OsString> = std::fs::read_dir(&self.dir)
            .map_err(|e| StoreError::io(&self.dir, e))?
            .flatten()
            .map(|e| e.file_name())
            .collect();
        let mut known = self.dir_entries.lock().map_err(|_| StoreError::Poisoned)?;
        if *known != entries {
            fsync_dir(&self.dir)?;
            *known = entries;
        }
        Ok(())
    }

    fn size_on_disk(&self) -> Result<u64, StoreError> {
        Ok(self.db.size_on_disk()?)
    }
}

/// In memory, with a durable image: [`MemKv::crash`] drops every batch applied since the last
/// `sync`, as a power cut would.
#[derive(Default)]
pub struct MemKv {
    inner: Mutex<MemInner>,
}

#[derive(Default, Clone)]
struct MemInner {
    live: BTreeMap<Vec<u8>, Vec<u8>>,
    durable: BTreeMap<Vec<u8>, Vec<u8>>,
    /// Batches applied to `live` since the last sync, to apply to `durable` at the next one.
    unsynced: Vec<WriteBatch>,
}

fn apply_to(map: &mut BTreeMap<Vec<u8>, Vec<u8>>, batch: &WriteBatch) {
    for (k, v) in &batch.ops {
        match v {
            Some(v) => map.insert(k.clone(), v.clone()),
            None => map.remove(k),
        };
    }
}

impl MemKv {
    pub fn new() -> MemKv {
        MemKv::default()
    }

    /// Forgets everything not synced, as after a power cut.
    pub fn crash(&self) {
        if let Ok(mut inner) = self.inner.lock() {
            inner.live = inner.durable.clone();
            inner.unsynced.clear();
        }
    }

    /// A new store holding exactly this one's durable image (what a restarted node would find).
    pub fn restarted(&self) -> MemKv {
        let durable = self.inner.lock().map(|i| i.durable.clone()).unwrap_or_default();
        MemKv { inner: Mutex::new(MemInner { live: durable.clone(), durable, unsynced: Vec::new() }) }
    }

    /// Replaces one stored value in both images (for corruption tests).
    pub fn poke(&self, key: &[u8], value: Vec<u8>) {
        if let Ok(mut inner) = self.inner.lock() {
            inner.live.insert(key.to_vec(), value.clone());
            inner.durable.insert(key.to_vec(), value);
        }
    }
}

impl Kv for MemKv {
    fn get(&self, key: &[u8]) -> Result<Option<Vec<u8>>, StoreError> {
        Ok(self.inner.lock().map_err(|_| StoreError::Poisoned)?.live.get(key).cloned())
    }

    fn range(&self, from: &[u8], to: &[u8], limit: usize) -> Result<Entries, StoreError> {
        if from >= to {
            return Ok(Vec::new());
        }
        let inner = self.inner.lock().map_err(|_| StoreError::Poisoned)?;
        Ok(inner
            .live
            .range(from.to_vec()..to.to_vec())
            .take(limit)
            .map(|(k, v)| (k.clone(), v.clone()))
            .collect())
    }

    fn apply(&self, batch: &WriteBatch) -> Result<(), StoreError> {
        let mut inner = self.inner.lock().map_err(|_| StoreError::Poisoned)?;
        apply_to(&mut inner.live, batch);
        inner.unsynced.push(batch.clone());
        Ok(())
    }

    fn sync(&self) -> Result<(), StoreError> {
        let mut inner = self.inner.lock().map_err(|_| StoreError::Poisoned)?;
        let MemInner { durable, unsynced, .. } = &mut *inner;
        for batch in unsynced.drain(..) {
            apply_to(durable, &batch);
        }
        Ok(())
    }

    fn size_on_disk(&self) -> Result<u64, StoreError> {
        Ok(0)
    }
}
