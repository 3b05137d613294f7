//! A consistent logical backup of a node's store, and its restore into an empty store.
//!
//! What a backup holds: every document (cases and the `ref:*` reference documents) as its whole
//! Automerge bytes, and the node's local records, copied raw: staff accounts (`u/`), node counters
//! (`n/`: case serials, the last HLC), queue tickets and appointment ledgers (`q/`) and the
//! consultation ledger (`k/`). Not held: the feed, the indexes and the metadata (rebuilt when the
//! documents are applied), and the peers' checkpoints (`p/`): a restored node reads its peers' feeds
//! from the start, which is what it needs, since it lacks whatever they sent after the backup.
//!
//! Consistency: each document is one Automerge save, consistent in itself; the set of documents
//! need not be a snapshot of one instant, because the CRDT makes it consistent after a restore: the
//! restored store has a new feed epoch, so its peers reconcile with it and send what it lacks.
//!
//! Format (a compatibility boundary, versioned by its magic line):
//! ```text
//! "YIKOU-BACKUP 1\n"
//! record*       kind (u8: 'D' document, 'R' raw record) | key length (u16 BE) | value length (u32 BE)
//!               | key | value
//! end           'E' | 0 (u16) | 8 (u32) | the number of records before it (u64 BE)
//! trailer       BLAKE3 (32 bytes) of everything above
//! ```
//! A restore verifies the whole file (trailer, structure, bounds, keys) before writing anything: it
//! copies the input to a temporary file while checking it, then applies it from there, so memory
//! stays bounded by one record.

use std::io::{Read, Seek, Write};

use chrono::NaiveDate;

use crate::doc::DOC_BYTES_MAX;
use crate::store::{CaseStore, Kv, StoreError, WriteBatch, record};

/// The first line of every backup (its format version).
pub const MAGIC: &[u8] = b"YIKOU-BACKUP 1\n";

/// The prefixes of the node's local records, copied raw.
pub const RAW_PREFIXES: [&[u8]; 4] = [b"u/", b"n/", b"q/", b"k/"];

/// The case-serial counters: raised on restore by [`CASE_SERIAL_RESTORE_GAP`].
pub const SERIAL_PREFIX: &[u8] = b"n/serial/";

/// How far every case-serial counter is raised on restore. Between the backup and the loss of the
/// store the node went on issuing case numbers; its peers may hold those cases while the backup
/// does not, and a restored counter would issue their numbers again for different cases. Raising
/// the counter by more than a node issues in the time a backup is kept fresh (a busy hall issues a
/// few hundred a day) skips past them; the gap in the numbers is harmless.
pub const CASE_SERIAL_RESTORE_GAP: u64 = 1000;

/// The largest key a backup holds.
pub const KEY_BYTES_MAX: usize = 1024;

/// The largest value a backup holds (a document's whole Automerge bytes are bounded the same).
pub const VALUE_BYTES_MAX: usize = DOC_BYTES_MAX;

/// The largest backup a restore reads (it is copied to a temporary file first).
pub const BACKUP_BYTES_MAX: u64 = 1 << 40;

/// Raw records read from the store per range query.
const RANGE_PAGE_MAX: usize = 1024;

/// Raw records written per batch on restore.
const RESTORE_BATCH_OPS_MAX: usize = 1024;

const KIND_DOC: u8 = b'D';
const KIND_RAW: u8 = b'R';
const KIND_END: u8 = b'E';
const HEADER_BYTES: usize = 1 + 2 + 4;
const TRAILER_BYTES: usize = 32;

/// Why a backup or a restore failed. Messages for operators, in Chinese.
#[derive(Debug, thiserror::Error)]
pub enum BackupError {
    #[error("备份文件读写失败:{0}")]
    Io(#[from] std::io::Error),
    #[error("{0}")]
    Store(#[from] StoreError),
    #[error("这不是 Yikou 备份文件(文件头不对),或是本程序不支持的备份格式版本")]
    BadMagic,
    #[error("备份文件不完整(在第 {offset} 字节处意外结束),可能复制时被截断;未写入任何数据")]
    Truncated { offset: u64 },
    #[error("备份文件校验失败(内容与校验码不符),文件已损坏;未写入任何数据")]
    Corrupt,
    #[error("备份文件格式错误(第 {offset} 字节处):{detail};未写入任何数据")]
    BadRecord { offset: u64, detail: String },
    #[error("{what}过大:{bytes} 字节,上限 {max} 字节")]
    TooLarge { what: String, bytes: u64, max: u64 },
    #[error(
        "目标存储不是空的(已有{what}),拒绝恢复:请在新初始化的节点数据目录中恢复(yikou init 之后、首次启动之前)"
    )]
    NotEmpty { what: &'static str },
    #[error("办件流水号计数器 {key} 的格式无法识别,无法安全地调高,拒绝恢复;未写入任何数据")]
    UnknownCounter { key: String },
}

impl BackupError {
    /// A stable code for logs and API problems.
    pub fn code(&self) -> &'static str {
        match self {
            BackupError::Io(_) => "backup.io",
            BackupError::Store(e) => e.code(),
            BackupError::BadMagic => "backup.bad_magic",
            BackupError::Truncated { .. } => "backup.truncated",
            BackupError::Corrupt => "backup.corrupt",
            BackupError::BadRecord { .. } => "backup.bad_record",
            BackupError::TooLarge { .. } => "backup.too_large",
            BackupError::NotEmpty { .. } => "backup.not_empty",
            BackupError::UnknownCounter { .. } => "backup.unknown_counter",
        }
    }
}

/// What a backup holds (or a restore wrote).
#[derive(Debug, Clone, Default, PartialEq, Eq, serde::Serialize)]
pub struct BackupSummary {
    /// Documents (cases and reference documents).
    pub documents: u64,
    /// Raw local records.
    pub records: u64,
    /// Case-serial counters raised (restore only).
    pub serials_raised: u64,
    /// The backup's size in bytes.
    pub bytes: u64,
}

impl std::fmt::Display for BackupSummary {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "文档 {} 个,本地记录 {} 条,共 {} 字节", self.documents, self.records, self.bytes)?;
        if self.serials_raised > 0 {
            write!(
                f,
                ",办件流水号计数器 {} 个已调高 {CASE_SERIAL_RESTORE_GAP}(避免重复使用备份之后已发出的编号)",
                self.serials_raised
            )?;
        }
        Ok(())
    }
}

/// Writes what it is given and hashes it.
struct HashingWriter<'a> {
    out: &'a mut dyn Write,
    hasher: blake3::Hasher,
    bytes: u64,
}

impl HashingWriter<'_> {
    fn put(&mut self, bytes: &[u8]) -> Result<(), BackupError> {
        self.out.write_all(bytes)?;
        self.hasher.update(bytes);
        self.bytes += bytes.len() as u64;
        Ok(())
    }

    fn record(&mut self, kind: u8, key: &[u8], value: &[u8]) -> Result<(), BackupError> {
        let what = || String::from_utf8_lossy(&key[..key.len().min(64)]).into_owned();
        let key_len =
            u16::try_from(key.len()).ok().filter(|n| usize::from(*n) <= KEY_BYTES_MAX).ok_or_else(|| {
                BackupError::TooLarge {
                    what: format!("键 {}", what()),
                    bytes: key.len() as u64,
                    max: KEY_BYTES_MAX as u64,
                }
            })?;
        let value_len = u32::try_from(value.len())
            .ok()
            .filter(|n| *n as usize <= VALUE_BYTES_MAX)
            .ok_or_else(|| BackupError::TooLarge {
                what: format!("{} 的数据", what()),
                bytes: value.len() as u64,
                max: VALUE_BYTES_MAX as u64,
            })?;
        self.put(&[kind])?;
        self.put(&key_len.to_be_bytes())?;
        self.put(&value_len.to_be_bytes())?;
        self.put(key)?;
        self.put(value)
    }
}

/// The end of a key prefix's range: the prefix with its last byte ('/') raised by one.
fn prefix_end(prefix: &[u8]) -> Vec<u8> {
    let mut end = prefix.to_vec();
    if let Some(last) = end.last_mut() {
        *last = last.saturating_add(1);
    }
    end
}

/// Writes a backup of `store` and the local records of `kv` (the store's own key-value store) to
/// `out`. Runs beside a live node: each document is read as one consistent save.
pub fn write(store: &CaseStore, kv: &dyn Kv, out: &mut dyn Write) -> Result<BackupSummary, BackupError> {
    let mut w = HashingWriter { out, hasher: blake3::Hasher::new(), bytes: 0 };
    let mut summary = BackupSummary::default();
    w.put(MAGIC)?;
    for entry in store.digest()? {
        let bytes = store.document_bytes(&entry.doc)?;
        w.record(KIND_DOC, entry.doc.as_bytes(), &bytes)?;
        summary.documents += 1;
    }
    for prefix in RAW_PREFIXES {
        let end = prefix_end(prefix);
        let mut from = prefix.to_vec();
        loop {
            let page = kv.range(&from, &end, RANGE_PAGE_MAX)?;
            for (key, value) in &page {
                w.record(KIND_RAW, key, value)?;
                summary.records += 1;
            }
            match page.last() {
                Some((last, _)) if page.len() == RANGE_PAGE_MAX => {
                    from = last.clone();
                    from.push(0);
                }
                _ => break,
            }
        }
    }
    let count = summary.documents + summary.records;
    w.record(KIND_END, &[], &count.to_be_bytes())?;
    let trailer = w.hasher.finalize();
    w.out.write_all(trailer.as_bytes())?;
    w.out.flush()?;
    summary.bytes = w.bytes + TRAILER_BYTES as u64;
    Ok(summary)
}

/// One record as read.
enum Record {
    Doc { id: String, bytes: Vec<u8> },
    Raw { key: Vec<u8>, value: Vec<u8> },
}

/// Reads a backup, hashing what it reads and optionally copying it.
struct Reader<'a> {
    input: &'a mut dyn Read,
    copy: Option<&'a mut dyn Write>,
    hasher: blake3::Hasher,
    offset: u64,
}

impl Reader<'_> {
    fn bytes(&mut self, n: usize, hash: bool) -> Result<Vec<u8>, BackupError> {
        if self.offset + n as u64 > BACKUP_BYTES_MAX {
            return Err(BackupError::TooLarge {
                what: "备份文件".into(),
                bytes: self.offset + n as u64,
                max: BACKUP_BYTES_MAX,
            });
        }
        let mut buf = vec![0u8; n];
        self.input.read_exact(&mut buf).map_err(|e| match e.kind() {
            std::io::ErrorKind::UnexpectedEof => BackupError::Truncated { offset: self.offset },
            _ => BackupError::Io(e),
        })?;
        if hash {
            self.hasher.update(&buf);
        }
        if let Some(copy) = self.copy.as_mut() {
            copy.write_all(&buf)?;
        }
        self.offset += n as u64;
        Ok(buf)
    }

    fn bad(&self, detail: impl Into<String>) -> BackupError {
        BackupError::BadRecord { offset: self.offset, detail: detail.into() }
    }
}

/// Reads and checks a whole backup, handing every record to `visit` in order; the trailer is
/// checked at the end, so a caller that must not act on unverified data reads it twice.
fn read_all<'a>(
    input: &'a mut dyn Read,
    copy: Option<&'a mut dyn Write>,
    visit: &mut dyn FnMut(Record) -> Result<(), BackupError>,
) -> Result<BackupSummary, BackupError> {
    let mut r = Reader { input, copy, hasher: blake3::Hasher::new(), offset: 0 };
    if r.bytes(MAGIC.len(), true).map_err(|_| BackupError::BadMagic)? != MAGIC {
        return Err(BackupError::BadMagic);
    }
    let mut summary = BackupSummary::default();
    loop {
        let header = r.bytes(HEADER_BYTES, true)?;
        let kind = header[0];
        let key_len = usize::from(u16::from_be_bytes([header[1], header[2]]));
        let value_len = u32::from_be_bytes([header[3], header[4], header[5], header[6]]) as usize;
        if key_len > KEY_BYTES_MAX || value_len > VALUE_BYTES_MAX {
            return Err(r.bad(format!("记录长度 {key_len}/{value_len} 超出上限")));
        }
        let key = r.bytes(key_len, true)?;
        let value = r.bytes(value_len, true)?;
        match kind {
            KIND_DOC => {
                let id = String::from_utf8(key).map_err(|_| r.bad("文档编号不是 UTF-8 文本"))?;
                visit(Record::Doc { id, bytes: value })?;
                summary.documents += 1;
            }
            KIND_RAW => {
                if !RAW_PREFIXES.iter().any(|p| key.starts_with(p)) {
                    let shown = String::from_utf8_lossy(&key).into_owned();
                    return Err(r.bad(format!("键 {shown} 不属于可恢复的本地记录")));
                }
                visit(Record::Raw { key, value })?;
                summary.records += 1;
            }
            KIND_END => {
                let count = <[u8; 8]>::try_from(value.as_slice()).ok().map(u64::from_be_bytes);
                if !key.is_empty() || count != Some(summary.documents + summary.records) {
                    return Err(r.bad("结束记录与记录数不符"));
                }
                break;
            }
            other => return Err(r.bad(format!("未知的记录类型 {other}"))),
        }
    }
    let expected = r.hasher.finalize();
    let trailer = r.bytes(TRAILER_BYTES, false)?;
    if trailer.as_slice() != expected.as_bytes() {
        return Err(BackupError::Corrupt);
    }
    let mut probe = [0u8; 1];
    if r.input.read(&mut probe)? != 0 {
        return Err(r.bad("校验码之后还有多余的数据"));
    }
    summary.bytes = r.offset;
    Ok(summary)
}

/// Checks a backup without restoring it (trailer, structure, bounds); the summary of what it holds.
pub fn verify(input: &mut dyn Read) -> Result<BackupSummary, BackupError> {
    read_all(input, None, &mut |_| Ok(()))
}

/// A case-serial counter raised by [`CASE_SERIAL_RESTORE_GAP`], in the encoding it was stored in:
/// a sealed or bare 8-byte big-endian number, or a sealed JSON number or JSON object with a
/// `next_serial` (the serialised `CaseNumberAllocator`: serials restart every day, so an allocator
/// whose `day` is before `today` moves to `today` and starts past the gap there, since the numbers
/// issued today before the store was lost are the ones at risk). Daily serials stop at
/// `CASE_SERIALS_PER_DAY_MAX + 1` (the day is then used up: refusal, never a repeat). `None` for an
/// encoding it does not know.
pub fn raise_serial(value: &[u8], today: NaiveDate) -> Option<Vec<u8>> {
    use yikou_schema::ids::CASE_SERIALS_PER_DAY_MAX;
    let number = |bytes: &[u8]| <[u8; 8]>::try_from(bytes).ok().map(u64::from_be_bytes);
    let Some(payload) = record::open(value) else {
        return number(value).map(|n| n.saturating_add(CASE_SERIAL_RESTORE_GAP).to_be_bytes().to_vec());
    };
    if let Some(n) = number(payload) {
        return Some(record::seal(&n.saturating_add(CASE_SERIAL_RESTORE_GAP).to_be_bytes()));
    }
    let raised = match serde_json::from_slice::<serde_json::Value>(payload).ok()? {
        serde_json::Value::Number(n) => {
            serde_json::Value::from(n.as_u64()?.saturating_add(CASE_SERIAL_RESTORE_GAP))
        }
        serde_json::Value::Object(mut map) => {
            let mut next = map.get("next_serial")?.as_u64()?;
            if let Some(day) = map.get("day") {
                let day = day.as_str().and_then(|d| NaiveDate::parse_from_str(d, "%Y-%m-%d").ok())?;
                if day < today {
                    map.insert("day".into(), serde_json::Value::from(today.to_string()));
                    next = 1;
                }
            }
            let limit = u64::from(CASE_SERIALS_PER_DAY_MAX) + 1;
            let raised = next.saturating_add(CASE_SERIAL_RESTORE_GAP).min(limit);
            map.insert("next_serial".into(), serde_json::Value::from(raised));
            serde_json::Value::Object(map)
        }
        _ => return None,
    };
    serde_json::to_vec(&raised).ok().map(|json| record::seal(&json))
}

/// Restores a backup into an empty store (a freshly initialised data directory), with today's date
/// (China Standard Time) for the serial counters. See [`restore_on`].
pub fn restore(input: &mut dyn Read, store: &CaseStore, kv: &dyn Kv) -> Result<BackupSummary, BackupError> {
    restore_on(input, store, kv, crate::clock::today_local())
}

/// Restores a backup into an empty store: refuses a store holding any document or local record.
/// The whole backup is verified before anything is written; then the documents are applied as a
/// peer's would be (durable each), and the local records in batches followed by one sync, every
/// case-serial counter raised ([`raise_serial`]).
pub fn restore_on(
    input: &mut dyn Read,
    store: &CaseStore,
    kv: &dyn Kv,
    today: NaiveDate,
) -> Result<BackupSummary, BackupError> {
    if store.last_seq()? > 0 || !kv.range(b"d/", b"d0", 1)?.is_empty() {
        return Err(BackupError::NotEmpty { what: "办件或参考数据" });
    }
    for prefix in RAW_PREFIXES {
        if !kv.range(prefix, &prefix_end(prefix), 1)?.is_empty() {
            return Err(BackupError::NotEmpty {
                what: "本地记录(账户、计数器、排队或咨询台账)"
            });
        }
    }
    // Pass 1: check everything (and that every counter can be raised) while copying to a file.
    let mut copy = tempfile::tempfile()?;
    // A counter it cannot raise is reported after the trailer is verified: damage first.
    let mut unknown_counter = None;
    let mut check = |r: Record| {
        if let Record::Raw { key, value } = r
            && key.starts_with(SERIAL_PREFIX)
            && raise_serial(&value, today).is_none()
            && unknown_counter.is_none()
        {
            unknown_counter = Some(String::from_utf8_lossy(&key).into_owned());
        }
        Ok(())
    };
    read_all(input, Some(&mut copy), &mut check)?;
    if let Some(key) = unknown_counter {
        return Err(BackupError::UnknownCounter { key });
    }
    copy.flush()?;
    copy.rewind()?;
    // Pass 2: apply, from the verified copy.
    let mut batch = WriteBatch::default();
    let mut serials_raised = 0;
    let mut apply = |r: Record| -> Result<(), BackupError> {
        match r {
            Record::Doc { id, bytes } => {
                store.apply_remote(&id, &bytes)?;
            }
            Record::Raw { key, value } => {
                let value = if key.starts_with(SERIAL_PREFIX) {
                    serials_raised += 1;
                    raise_serial(&value, today).ok_or_else(|| BackupError::UnknownCounter {
                        key: String::from_utf8_lossy(&key).into(),
                    })?
                } else {
                    value
                };
                batch.put(key, value);
                if batch.len() >= RESTORE_BATCH_OPS_MAX {
                    kv.apply(&std::mem::take(&mut batch))?;
                }
            }
        }
        Ok(())
    };
    let mut reader = std::io::BufReader::new(copy);
    let mut summary = read_all(&mut reader, None, &mut apply)?;
    if !batch.is_empty() {
        kv.apply(&batch)?;
    }
    kv.sync()?;
    summary.serials_raised = serials_raised;
    Ok(summary)
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::sync::Arc;

    use crate::doc::RefKind;
    use crate::fixtures::CaseFactory;
    use crate::store::{MemKv, StoreConfig};
    use yikou_schema::calendar::WorkCalendar;
    use yikou_schema::catalog::Catalog;

    fn day(y: i32, m: u32, d: u32) -> NaiveDate {
        NaiveDate::from_ymd_opt(y, m, d).expect("date")
    }

    fn open(kv: &Arc<MemKv>) -> CaseStore {
        let kv: Arc<dyn Kv> = kv.clone();
        CaseStore::open(kv, b"hall".to_vec(), StoreConfig::default(), WorkCalendar::builtin()).expect("opens")
    }

    /// A store with three cases, the catalog and some local records; its backup.
    fn backed_up() -> (Arc<MemKv>, CaseStore, Vec<u8>) {
        let kv = Arc::new(MemKv::new());
        let store = open(&kv);
        let f = CaseFactory::new("hall", 0).expect("factory");
        for serial in 1..=3 {
            store.create(&f.case(day(2026, 3, 2), serial).expect("case")).expect("stored");
        }
        store.put_reference(RefKind::Catalog, &Catalog::sample()).expect("catalog");
        let mut b = WriteBatch::default();
        b.put(b"u/clerk1".to_vec(), record::seal(b"{\"staff\":\"clerk1\"}"));
        b.put(b"n/hlc".to_vec(), record::seal(&42u64.to_be_bytes()));
        b.put(
            b"n/serial/410184000".to_vec(),
            record::seal(br#"{"node":"410184000","day":"2026-03-02","next_serial":4}"#),
        );
        b.put(b"n/serial/plain".to_vec(), 7u64.to_be_bytes().to_vec());
        b.put(b"q/2026-03-02/A001".to_vec(), b"ticket".to_vec());
        b.put(b"k/0001".to_vec(), b"consultation".to_vec());
        b.put(b"p/town-a".to_vec(), b"checkpoint: not backed up".to_vec());
        kv.apply(&b).expect("apply");
        let mut out = Vec::new();
        let summary = write(&store, kv.as_ref(), &mut out).expect("backup");
        assert_eq!((summary.documents, summary.records, summary.bytes), (4, 6, out.len() as u64));
        (kv, store, out)
    }

    #[test]
    fn restore_gives_the_same_documents_and_records_with_serials_raised() {
        let (kv, store, bytes) = backed_up();
        let kv2 = Arc::new(MemKv::new());
        let store2 = open(&kv2);
        let summary =
            restore_on(&mut bytes.as_slice(), &store2, kv2.as_ref(), day(2026, 3, 2)).expect("restores");
        assert_eq!((summary.documents, summary.records, summary.serials_raised), (4, 6, 2));
        for entry in store.digest().expect("digest") {
            assert_eq!(store2.heads(&entry.doc).expect("heads"), store.heads(&entry.doc).expect("heads"));
        }
        assert_eq!(store2.digest().expect("digest").len(), 4);
        let catalog: Option<Catalog> = store2.reference(RefKind::Catalog).expect("catalog");
        assert_eq!(catalog, Some(Catalog::sample()));
        for key in [&b"u/clerk1"[..], b"n/hlc", b"q/2026-03-02/A001", b"k/0001"] {
            assert_eq!(
                kv2.get(key).expect("get"),
                kv.get(key).expect("get"),
                "{}",
                String::from_utf8_lossy(key)
            );
        }
        assert_eq!(kv2.get(b"p/town-a").expect("get"), None);
        let allocator = kv2.get(b"n/serial/410184000").expect("get").expect("present");
        let json: serde_json::Value =
            serde_json::from_slice(record::open(&allocator).expect("sealed")).expect("json");
        assert_eq!(json["next_serial"], 1004);
        assert_eq!(json["day"], "2026-03-02");
        assert_eq!(kv2.get(b"n/serial/plain").expect("get"), Some(1007u64.to_be_bytes().to_vec()));
        // Durable: a restart keeps it all.
        assert_eq!(kv2.restarted().get(b"u/clerk1").expect("get"), kv.get(b"u/clerk1").expect("get"));
        // The restored store is a new feed epoch, which makes its peers reconcile with it.
        assert_ne!(store2.epoch(), store.epoch());
    }

    #[test]
    fn an_allocator_of_an_earlier_day_moves_to_today_past_the_gap() {
        let sealed = record::seal(br#"{"node":"410184000","day":"2026-03-02","next_serial":99990}"#);
        let raised = raise_serial(&sealed, day(2026, 3, 2)).expect("raised");
        let json: serde_json::Value =
            serde_json::from_slice(record::open(&raised).expect("sealed")).expect("json");
        assert_eq!(json["next_serial"], 100_000, "capped at the day's end");
        let raised = raise_serial(&sealed, day(2026, 3, 5)).expect("raised");
        let json: serde_json::Value =
            serde_json::from_slice(record::open(&raised).expect("sealed")).expect("json");
        assert_eq!((json["day"].as_str(), json["next_serial"].as_u64()), (Some("2026-03-05"), Some(1001)));
        assert_eq!(raise_serial(b"odd", day(2026, 3, 5)), None);
        assert_eq!(raise_serial(&record::seal(b"\"text\""), day(2026, 3, 5)), None);
    }

    #[test]
    fn any_corrupted_byte_is_refused_and_nothing_is_written() {
        let (_, _, bytes) = backed_up();
        // Every byte of the header and trailer, and a spread of bytes in between.
        let step = (bytes.len() / 200).max(1);
        let positions = (0..bytes.len()).filter(|i| *i < 64 || *i >= bytes.len() - 64 || i % step == 0);
        for i in positions {
            let mut bad = bytes.clone();
            bad[i] ^= 0x20;
            let kv = Arc::new(MemKv::new());
            let store = open(&kv);
            let err =
                restore_on(&mut bad.as_slice(), &store, kv.as_ref(), day(2026, 3, 2)).expect_err("corrupt");
            assert!(
                matches!(
                    err.code(),
                    "backup.corrupt" | "backup.bad_magic" | "backup.bad_record" | "backup.truncated"
                ),
                "byte {i}: {err}"
            );
            assert_eq!(store.last_seq().expect("seq"), 0, "byte {i}");
            for prefix in RAW_PREFIXES {
                assert!(kv.range(prefix, &prefix_end(prefix), 1).expect("range").is_empty(), "byte {i}");
            }
        }
        let err = verify(&mut &bytes[..bytes.len() - 1]).expect_err("truncated");
        assert_eq!(err.code(), "backup.truncated");
        let mut longer = bytes.clone();
        longer.push(0);
        assert_eq!(verify(&mut longer.as_slice()).expect_err("extra").code(), "backup.bad_record");
        assert_eq!(verify(&mut bytes.as_slice()).expect("valid").documents, 4);
    }

    #[test]
    fn restore_into_a_non_empty_store_is_refused() {
        let (kv, store, bytes) = backed_up();
        let err = restore(&mut bytes.as_slice(), &store, kv.as_ref()).expect_err("not empty");
        assert_eq!(err.code(), "backup.not_empty");
        // Local records alone also count.
        let kv2 = Arc::new(MemKv::new());
        let store2 = open(&kv2);
        let mut b = WriteBatch::default();
        b.put(b"u/x".to_vec(), b"x".to_vec());
        kv2.apply(&b).expect("apply");
        let err = restore(&mut bytes.as_slice(), &store2, kv2.as_ref()).expect_err("not empty");
        assert_eq!(err.code(), "backup.not_empty");
    }

    #[test]
    fn an_unknown_counter_encoding_refuses_the_restore_before_writing() {
        let kv = Arc::new(MemKv::new());
        let store = open(&kv);
        let mut b = WriteBatch::default();
        b.put(b"n/serial/x".to_vec(), b"seven".to_vec());
        kv.apply(&b).expect("apply");
        let mut out = Vec::new();
        write(&store, kv.as_ref(), &mut out).expect("backup");
        let kv2 = Arc::new(MemKv::new());
        let store2 = open(&kv2);
        let err = restore(&mut out.as_slice(), &store2, kv2.as_ref()).expect_err("unknown");
        assert_eq!(err.code(), "backup.unknown_counter");
        assert_eq!(kv2.get(b"n/serial/x").expect("get"), None);
    }

    #[test]
    fn raw_records_outside_the_local_prefixes_are_refused() {
        let mut forged = Vec::new();
        let mut w = HashingWriter { out: &mut forged, hasher: blake3::Hasher::new(), bytes: 0 };
        w.put(MAGIC).expect("write");
        w.record(KIND_RAW, b"m/epoch", b"x").expect("write");
        w.record(KIND_END, &[], &1u64.to_be_bytes()).expect("write");
        let trailer = w.hasher.finalize();
        forged.extend_from_slice(trailer.as_bytes());
        assert_eq!(verify(&mut forged.as_slice()).expect_err("forged").code(), "backup.bad_record");
    }
}
