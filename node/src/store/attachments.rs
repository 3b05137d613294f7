//! Scanned materials (W3.2), stored by content: the file name is the BLAKE3 hash of the bytes,
//! the case refers to the hash, and every read verifies it. Files are written to a temporary
//! name, fsynced, then renamed into place, so a crash never leaves a torn attachment under a
//! valid name.

use std::io::Write;
use std::path::{Path, PathBuf};

use serde::{Deserialize, Serialize};

use super::StoreError;

/// The largest attachment accepted by default (a scanned multi-page document).
pub const ATTACHMENT_BYTES_MAX: u64 = 32 * 1024 * 1024;

/// How a case refers to an attachment.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct AttachmentRef {
    /// BLAKE3 hash, 64 hex digits.
    pub hash: String,
    pub bytes: u64,
}

pub struct AttachmentStore {
    dir: PathBuf,
    bytes_max: u64,
}

fn valid_hash(hash: &str) -> bool {
    hash.len() == 64 && hash.bytes().all(|b| b.is_ascii_hexdigit() && !b.is_ascii_uppercase())
}

impl AttachmentStore {
    pub fn open(dir: &Path, bytes_max: u64) -> Result<AttachmentStore, StoreError> {
        std::fs::create_dir_all(dir.join("tmp")).map_err(|e| StoreError::io(dir, e))?;
        Ok(AttachmentStore { dir: dir.to_path_buf(), bytes_max })
    }

    fn path(&self, hash: &str) -> PathBuf {
        self.dir.join(&hash[..2]).join(hash)
    }

    /// Stores `bytes` durably and returns their reference. Storing the same bytes twice is free.
    pub fn put(&self, bytes: &[u8]) -> Result<AttachmentRef, StoreError> {
        let len = bytes.len() as u64;
        if len > self.bytes_max {
            return Err(StoreError::TooLarge { bytes: len, max: self.bytes_max });
        }
        let hash = blake3::hash(bytes).to_hex().to_string();
        let path = self.path(&hash);
        if self.get(&hash).is_ok() {
            return Ok(AttachmentRef { hash, bytes: len });
        }
        let parent = self.dir.join(&hash[..2]);
        std::fs::create_dir_all(&parent).map_err(|e| StoreError::io(&parent, e))?;
        let tmp = self.dir.join("tmp").join(format!("{hash}.{}", std::process::id()));
        let write = || -> std::io::Result<()> {
            let mut f = std::fs::File::create(&tmp)?;
            f.write_all(bytes)?;
            f.sync_all()?;
            std::fs::rename(&tmp, &path)?;
            std::fs::File::open(&parent)?.sync_all()
        };
        write().map_err(|e| StoreError::io(&path, e))?;
        Ok(AttachmentRef { hash, bytes: len })
    }

    /// Whether the attachment is held (not verified: [`AttachmentStore::get`] verifies).
    pub fn has(&self, hash: &str) -> bool {
        valid_hash(hash) && self.path(hash).is_file()
    }

    fn partial_path(&self, hash: &str) -> PathBuf {
        self.dir.join("tmp").join(format!("{hash}.part"))
    }

    /// Bytes of an interrupted download already here (a fetch resumes from there).
    pub fn partial_len(&self, hash: &str) -> u64 {
        if !valid_hash(hash) {
            return 0;
        }
        std::fs::metadata(self.partial_path(hash)).map_or(0, |m| m.len())
    }

    /// Appends downloaded bytes to the attachment's partial file.
    pub fn append_partial(&self, hash: &str, bytes: &[u8]) -> Result<u64, StoreError> {
        if !valid_hash(hash) {
            return Err(StoreError::NotFound(format!(
                "attachment:{}",
                hash.chars().take(64).collect::<String>()
            )));
        }
        let path = self.partial_path(hash);
        let len = self.partial_len(hash) + bytes.len() as u64;
        if len > self.bytes_max {
            let _ = std::fs::remove_file(&path);
            return Err(StoreError::TooLarge { bytes: len, max: self.bytes_max });
        }
        let mut f = std::fs::OpenOptions::new()
            .create(true)
            .append(true)
            .open(&path)
            .map_err(|e| StoreError::io(&path, e))?;
        f.write_all(bytes).map_err(|e| StoreError::io(&path, e))?;
        Ok(len)
    }

    /// Verifies a complete download against its hash and moves it into place (durably). A
    /// download that does not match is deleted, so the next fetch starts over.
    pub fn finish_partial(&self, hash: &str) -> Result<AttachmentRef, StoreError> {
        let path = self.partial_path(hash);
        let bytes = std::fs::read(&path).map_err(|e| StoreError::io(&path, e))?;
        if blake3::hash(&bytes).to_hex().as_str() != hash {
            let _ = std::fs::remove_file(&path);
            return Err(StoreError::Corrupt {
                doc: format!("attachment:{hash}"),
                key: path.display().to_string(),
            });
        }
        let r = self.put(&bytes)?;
        let _ = std::fs::remove_file(&path);
        Ok(r)
    }

    /// The attachment's bytes, verified against its hash.
    pub fn get(&self, hash: &str) -> Result<Vec<u8>, StoreError> {
        if !valid_hash(hash) {
            return Err(StoreError::NotFound(format!(
                "attachment:{}",
                hash.chars().take(64).collect::<String>()
            )));
        }
        let path = self.path(hash);
        let meta = match std::fs::metadata(&path) {
            Ok(m) => m,
            Err(_) => return Err(StoreError::NotFound(format!("attachment:{hash}"))),
        };
        if meta.len() > self.bytes_max {
            return Err(StoreError::Corrupt {
                doc: format!("attachment:{hash}"),
                key: path.display().to_string(),
            });
        }
        let bytes = std::fs::read(&path).map_err(|e| StoreError::io(&path, e))?;
        if blake3::hash(&bytes).to_hex().as_str() != hash {
            return Err(StoreError::Corrupt {
                doc: format!("attachment:{hash}"),
                key: path.display().to_string(),
            });
        }
        Ok(bytes)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn attachments_round_trip_and_are_verified() {
        // rule W3.2: scanned originals are kept, by content.
        let dir = tempfile::tempdir().expect("temp dir");
        let store = AttachmentStore::open(dir.path(), 1024).expect("opens");
        let r = store.put(b"scan of an ID card").expect("stored");
        assert_eq!(r.bytes, 18);
        assert_eq!(store.get(&r.hash).expect("read"), b"scan of an ID card");
        assert_eq!(store.put(b"scan of an ID card").expect("again"), r);
        // Rot on disk is caught.
        std::fs::write(store.path(&r.hash), b"something else").expect("tamper");
        assert_eq!(store.get(&r.hash).expect_err("corrupt").code(), "store.corrupt");
        // Bounds and bad names.
        assert_eq!(store.put(&[0u8; 1025]).expect_err("too large").code(), "store.too_large");
        assert_eq!(store.get("../etc/passwd").expect_err("bad").code(), "store.not_found");
        assert_eq!(store.get(&"0".repeat(64)).expect_err("absent").code(), "store.not_found");
    }

    #[test]
    fn an_interrupted_download_resumes_and_is_verified_before_it_counts() {
        let dir = tempfile::tempdir().expect("temp dir");
        let store = AttachmentStore::open(dir.path(), 1024).expect("opens");
        let bytes = b"page one, page two, page three";
        let hash = blake3::hash(bytes).to_hex().to_string();
        assert_eq!(store.partial_len(&hash), 0);
        store.append_partial(&hash, &bytes[..9]).expect("first part");
        assert_eq!(store.partial_len(&hash), 9);
        assert!(!store.has(&hash));
        store.append_partial(&hash, &bytes[9..]).expect("rest");
        assert_eq!(store.finish_partial(&hash).expect("verified").bytes, bytes.len() as u64);
        assert!(store.has(&hash) && store.partial_len(&hash) == 0);
        // A download that does not match its hash is thrown away.
        let other = blake3::hash(b"other").to_hex().to_string();
        store.append_partial(&other, b"not it").expect("part");
        assert_eq!(store.finish_partial(&other).expect_err("mismatch").code(), "store.corrupt");
        assert_eq!(store.partial_len(&other), 0);
        assert!(!store.has(&other));
    }
}
