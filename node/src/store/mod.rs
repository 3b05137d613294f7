//! The case store: every case an Automerge document in sled, durable on acknowledgement,
//! bounded in memory and cheap to ask "what changed since".
//!
//! Layers, bottom up:
//! - [`kv`]: the storage trait ([`kv::Kv`]) with sled on disk and a memory map for simulation.
//! - [`record`]: every stored value carries a version byte and a BLAKE3 checksum.
//! - [`commit`]: group commit: writers prepare batches in parallel; one thread applies and fsyncs them together.
//! - [`cases`]: [`cases::CaseStore`]: per document a compacted snapshot plus incremental change
//!   chunks; a change feed (sequence → document, heads and scope) and secondary indexes written in
//!   the same atomic batch as the change; a bounded cache of loaded documents. For replication:
//!   heads, deltas after a peer's heads, policy-checked remote changes, peer checkpoints.
//! - [`attachments`]: scanned materials stored by BLAKE3 hash, size-limited, verified on read.
//!
//! Key layout (one sled tree; a compatibility boundary, versioned by [`STORE_LAYOUT_VERSION`]):
//! ```text
//! m/layout  m/epoch  m/seq  m/docs        store metadata
//! d/{doc}/m                               document metadata (chunks, heads, index entries, feed seq)
//! d/{doc}/s                               compacted snapshot (Automerge save)
//! d/{doc}/c/{n:016x}                      incremental change chunks since the snapshot
//! f/{seq:016x}                            change feed: the latest seq of each document (heads, scope)
//! i/{index}\0{value}\0{doc}               secondary indexes
//! p/{peer}                                replication checkpoint: a peer's feed epoch and seq
//! u/{staff}                               staff account (crate::accounts; local, never replicated)
//! n/serial/{yyyymmdd}                     the day's last case serial (local, never replicated)
//! q/t/{yyyymmdd}                          the day's queue-ticket dispenser (local, never replicated)
//! q/l/{business}/{yyyymmdd}               this node's appointment quota ledger (local)
//! q/a/{booking id}                        an appointment (local: holds the applicant's ID numbers)
//! q/o/{yyyymmdd}/{booking id}             index of appointments still booked (the W1.4 expiry pass)
//! k/n/{yyyymmdd}                          the day's consultation counter (local)
//! k/e/{entry id}                          a consultation ledger entry (local)
//! ```

pub mod attachments;
pub mod cases;
pub mod commit;
pub mod kv;
pub mod record;

use std::path::{Path, PathBuf};

pub use cases::{Ack, CaseStore, Checkpoint, Delta, FeedEntry, Index, RemoteDoc, StoreConfig};
pub use kv::{Kv, MemKv, SledKv, WriteBatch};

/// The version of the key layout above.
pub const STORE_LAYOUT_VERSION: u32 = 1;

#[derive(Debug, thiserror::Error)]
pub enum StoreError {
    #[error("存储读写失败({path}):{source}")]
    Io { path: PathBuf, source: std::io::Error },
    #[error("存储引擎错误:{0}")]
    Sled(#[from] sled::Error),
    #[error("办件文档错误:{0}")]
    Doc(#[from] crate::doc::DocError),
    #[error(
        "办件 {doc} 的存储数据校验失败({key}),该办件暂不可用,其他办件不受影响;请联系系统管理员从备份或其他节点恢复"
    )]
    Corrupt { doc: String, key: String },
    #[error("未找到办件 {0}")]
    NotFound(String),
    #[error("办件 {0} 已存在")]
    AlreadyExists(String),
    #[error("系统繁忙(同时写入超过 {0} 个),请稍后重试")]
    Busy(usize),
    #[error("数据落盘失败,为防止丢失已停止确认写入:{0}")]
    SyncFailed(String),
    #[error("内部锁异常,请重启节点")]
    Poisoned,
    #[error("数据过大:{bytes} 字节,上限 {max} 字节")]
    TooLarge { bytes: u64, max: u64 },
    #[error("存储布局版本 {found} 高于本程序支持的 {supported},请升级节点程序")]
    LayoutNewer { found: u32, supported: u32 },
    #[error("拒绝写入文档 {doc} 的传入修改:{reason}")]
    Forbidden { doc: String, reason: String },
    #[error("文档 {doc} 的传入修改缺少 {missing} 个前置修改,未写入;需要重新同步该文档")]
    MissingDeps { doc: String, missing: usize },
}

impl StoreError {
    pub fn io(path: &Path, source: std::io::Error) -> StoreError {
        StoreError::Io { path: path.to_path_buf(), source }
    }

    /// A stable code for logs and API problems.
    pub fn code(&self) -> &'static str {
        match self {
            StoreError::Io { .. } => "store.io",
            StoreError::Sled(_) => "store.engine",
            StoreError::Doc(_) => "store.document",
            StoreError::Corrupt { .. } => "store.corrupt",
            StoreError::NotFound(_) => "store.not_found",
            StoreError::AlreadyExists(_) => "store.exists",
            StoreError::Busy(_) => "store.busy",
            StoreError::SyncFailed(_) => "store.sync_failed",
            StoreError::Poisoned => "store.poisoned",
            StoreError::TooLarge { .. } => "store.too_large",
            StoreError::LayoutNewer { .. } => "store.layout_newer",
            StoreError::Forbidden { .. } => "forbidden",
            StoreError::MissingDeps { .. } => "store.missing_deps",
        }
    }
}
