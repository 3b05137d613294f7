//! The case store over real sled and over the crash-simulating memory store.

use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};

use chrono::NaiveDate;
use yikou_node::fixtures::CaseFactory;
use yikou_node::store::{CaseStore, Index, Kv, MemKv, SledKv, StoreConfig, StoreError, WriteBatch};
use yikou_schema::calendar::WorkCalendar;

fn day() -> NaiveDate {
    NaiveDate::from_ymd_opt(2026, 3, 2).expect("date")
}

fn factory() -> CaseFactory {
    CaseFactory::new("town-a", 1).expect("factory")
}

fn open(kv: Arc<dyn Kv>, config: StoreConfig) -> CaseStore {
    CaseStore::open(kv, b"test-actor-00001".to_vec(), config, WorkCalendar::builtin()).expect("store opens")
}

#[test]
fn cases_survive_a_reopen_of_real_sled() {
    // rule O2: acknowledged = durable on this node's disk.
    let dir = tempfile::tempdir().expect("temp dir");
    let f = factory();
    let mut ids = Vec::new();
    {
        let store = open(Arc::new(SledKv::open(dir.path()).expect("sled")), StoreConfig::default());
        for serial in 1..=20 {
            let case = f.case(day(), serial).expect("case");
            let ack = store.create(&case).expect("stored");
            assert_eq!(ack.seq, u64::from(serial));
            ids.push((case.header.number.to_string(), case));
        }
        assert!(matches!(store.create(&ids[0].1), Err(StoreError::AlreadyExists(_))));
    }
    let store = open(Arc::new(SledKv::open(dir.path()).expect("sled")), StoreConfig::default());
    assert_eq!(store.doc_count().expect("count"), 20);
    assert_eq!(store.last_seq().expect("seq"), 20);
    for (id, case) in &ids {
        assert_eq!(&store.case(id).expect("read back"), case);
    }
}

#[test]
fn the_feed_answers_what_changed_since_in_proportion_to_the_answer() {
    let store = open(Arc::new(MemKv::new()), StoreConfig::default());
    let f = factory();
    let mut cases = Vec::new();
    for serial in 1..=30 {
        let case = f.case(day(), serial).expect("case");
        store.create(&case).expect("stored");
        cases.push(case);
    }
    let all = store.changes_since(0, 1_000).expect("feed");
    assert_eq!(all.len(), 30);
    assert_eq!(store.changes_since(25, 1_000).expect("feed").len(), 5);
    assert_eq!(store.changes_since(0, 7).expect("feed").len(), 7, "bounded by the limit");
    // A document changed again moves to the end of the feed and appears once.
    let id = cases[2].header.number.to_string();
    let e = f.next_event(&cases[2]);
    let ack = store.append(&id, &[e]).expect("appended");
    assert_eq!(ack.seq, 31);
    let since = store.changes_since(29, 1_000).expect("feed");
    assert_eq!(
        since.iter().map(|e| e.doc.as_str()).collect::<Vec<_>>(),
        vec![cases[29].header.number.to_string().as_str(), id.as_str()]
    );
    assert_eq!(store.changes_since(0, 1_000).expect("feed").len(), 30);
}

#[test]
fn indexes_follow_the_case() {
    let store = open(Arc::new(MemKv::new()), StoreConfig::default());
    let f = factory();
    let case = f.case(day(), 1).expect("case");
    let id = case.header.number.to_string();
    store.create(&case).expect("stored");
    assert_eq!(store.find(Index::Phase, "in_review", 10).expect("find"), vec![id.clone()]);
    assert_eq!(store.find(Index::Item, "BDC001", 10).expect("find"), vec![id.clone()]);
    assert_eq!(
        store.find(Index::Applicant, "11010519491231002X", 10).expect("find").len(),
        0,
        "serial 1 is 李四"
    );
    assert_eq!(store.find(Index::Applicant, "440524188001010014", 10).expect("find"), vec![id.clone()]);
    assert_eq!(store.find(Index::Scope, "410184001", 10).expect("find"), vec![id.clone()]);
    // Promised 5 working days from 2026-03-02: 2026-03-09.
    assert_eq!(store.find(Index::Due, "2026-03-09", 10).expect("find"), vec![id.clone()]);
    // A withdrawal moves the phase index and drops the due date.
    let mut withdrawn = f.next_event(&case);
    withdrawn.actor.role = yikou_schema::actor::Role::WindowClerk;
    withdrawn.kind = yikou_schema::case::EventKind::Withdrawn { reason: "申请人撤回".into() };
    store.append(&id, &[withdrawn]).expect("appended");
    assert!(store.find(Index::Phase, "in_review", 10).expect("find").is_empty());
    assert_eq!(store.find(Index::Phase, "withdrawn", 10).expect("find"), vec![id.clone()]);
    assert!(store.find(Index::Due, "2026-03-09", 10).expect("find").is_empty());
}

#[test]
fn compaction_replaces_chunks_with_a_snapshot_and_loses_nothing() {
    let kv = Arc::new(MemKv::new());
    let config = StoreConfig { compact_chunks_max: 4, ..StoreConfig::default() };
    let store = open(kv.clone(), config.clone());
    let f = factory();
    let mut case = f.case(day(), 1).expect("case");
    let id = case.header.number.to_string();
    store.create(&case).expect("stored");
    for _ in 0..11 {
        let e = f.next_event(&case);
        case.events.push(e.clone());
        store.append(&id, &[e]).expect("appended");
    }
    let chunks =
        kv.range(format!("d/{id}/c/").as_bytes(), format!("d/{id}/c0").as_bytes(), 100).expect("range");
    assert!(chunks.len() < 4, "compacted: {} chunks left", chunks.len());
    assert!(kv.get(format!("d/{id}/s").as_bytes()).expect("get").is_some(), "snapshot written");
    let reopened = open(Arc::new(kv.restarted()), config);
    assert_eq!(reopened.case(&id).expect("read").events.len(), case.events.len());
}

/// A `Kv` that fails on the n-th `apply` or `sync`; a failing sync also "loses power".
struct FaultKv {
    inner: Arc<MemKv>,
    applies: AtomicUsize,
    syncs: AtomicUsize,
    fail_apply_at: usize,
    crash_sync_at: usize,
}

impl Kv for FaultKv {
    fn get(&self, key: &[u8]) -> Result<Option<Vec<u8>>, StoreError> {
        self.inner.get(key)
    }
    fn range(
        &self,
        from: &[u8],
        to: &[u8],
        limit: usize,
    ) -> Result<yikou_node::store::kv::Entries, StoreError> {
        self.inner.range(from, to, limit)
    }
    fn apply(&self, batch: &WriteBatch) -> Result<(), StoreError> {
        if self.applies.fetch_add(1, Ordering::SeqCst) + 1 == self.fail_apply_at {
            return Err(StoreError::Poisoned);
        }
        self.inner.apply(batch)
    }
    fn sync(&self) -> Result<(), StoreError> {
        if self.syncs.fetch_add(1, Ordering::SeqCst) + 1 == self.crash_sync_at {
            self.inner.crash();
            return Err(StoreError::SyncFailed("simulated power loss".into()));
        }
        self.inner.sync()
    }
    fn size_on_disk(&self) -> Result<u64, StoreError> {
        Ok(0)
    }
}

#[test]
fn a_crash_at_any_step_keeps_every_acknowledged_write_and_tears_nothing() {
    // rule O2. Writes include compactions (every 3 chunks), so a crash lands before, inside and
    // after a compaction's batch.
    let f = factory();
    let config = StoreConfig { compact_chunks_max: 3, ..StoreConfig::default() };
    for crash_at in 2..40 {
        for fail_apply in [false, true] {
            let inner = Arc::new(MemKv::new());
            let kv = Arc::new(FaultKv {
                inner: inner.clone(),
                applies: AtomicUsize::new(0),
                syncs: AtomicUsize::new(0),
                fail_apply_at: if fail_apply { crash_at } else { usize::MAX },
                crash_sync_at: if fail_apply { usize::MAX } else { crash_at },
            });
            let store = open(kv, config.clone());
            let mut acked: Vec<(String, usize)> = Vec::new();
            let mut cases = Vec::new();
            for serial in 1..=3 {
                let case = f.case(day(), serial).expect("case");
                if store.create(&case).is_ok() {
                    acked.push((case.header.number.to_string(), case.events.len()));
                }
                cases.push(case);
            }
            for round in 0..8 {
                let case = &mut cases[round % 3];
                let id = case.header.number.to_string();
                let e = f.next_event(case);
                case.events.push(e.clone());
                match store.append(&id, &[e]) {
                    Ok(_) => {
                        acked.retain(|(a, _)| *a != id);
                        acked.push((id, case.events.len()));
                    }
                    Err(_) => {
                        // Not acknowledged: the clerk was told it failed; nothing more is promised.
                        case.events.pop();
                    }
                }
            }
            let after = open(Arc::new(inner.restarted()), config.clone());
            for (id, events) in &acked {
                let got = after.case(id).unwrap_or_else(|e| panic!("crash_at {crash_at}: {id} lost: {e}"));
                assert!(
                    got.events.len() >= *events,
                    "crash_at {crash_at}: {id} has {} < {events}",
                    got.events.len()
                );
            }
            for entry in after.changes_since(0, 100).expect("feed") {
                after
                    .case(&entry.doc)
                    .unwrap_or_else(|e| panic!("crash_at {crash_at}: {} torn: {e}", entry.doc));
            }
        }
    }
}

#[test]
fn a_corrupt_chunk_is_reported_and_the_rest_is_served() {
    let kv = Arc::new(MemKv::new());
    let store = open(kv.clone(), StoreConfig::default());
    let f = factory();
    let a = f.case(day(), 1).expect("case");
    let b = f.case(day(), 2).expect("case");
    store.create(&a).expect("stored");
    store.create(&b).expect("stored");
    let id_a = a.header.number.to_string();
    let key = format!("d/{id_a}/c/{:016x}", 0);
    let mut raw = kv.get(key.as_bytes()).expect("get").expect("chunk 0 exists");
    let mid = raw.len() / 2;
    raw[mid] ^= 0x40;
    kv.poke(key.as_bytes(), raw);
    let fresh = open(Arc::new(kv.restarted()), StoreConfig::default());
    let err = fresh.case(&id_a).expect_err("corrupt");
    assert_eq!(err.code(), "store.corrupt");
    assert!(err.to_string().contains(&id_a), "{err}");
    assert_eq!(fresh.case(&b.header.number.to_string()).expect("other case served"), b);
}

#[test]
fn concurrent_writers_share_fsyncs_and_all_land() {
    let dir = tempfile::tempdir().expect("temp dir");
    let store = Arc::new(open(Arc::new(SledKv::open(dir.path()).expect("sled")), StoreConfig::default()));
    let threads: Vec<_> = (0..8u32)
        .map(|t| {
            let store = store.clone();
            std::thread::spawn(move || {
                let f = CaseFactory::new("town-a", 1).expect("factory");
                for i in 0..10u32 {
                    let case = f.case(day(), t * 100 + i + 1).expect("case");
                    store.create(&case).expect("stored");
                }
            })
        })
        .collect();
    for t in threads {
        t.join().expect("writer thread");
    }
    assert_eq!(store.doc_count().expect("count"), 80);
    assert_eq!(store.changes_since(0, 1_000).expect("feed").len(), 80);
}

#[test]
fn too_many_writers_are_refused_not_queued() {
    let store = open(Arc::new(MemKv::new()), StoreConfig { writers_max: 0, ..StoreConfig::default() });
    let case = factory().case(day(), 1).expect("case");
    assert_eq!(store.create(&case).expect_err("busy").code(), "store.busy");
    assert_eq!(store.doc_count().expect("count"), 0, "nothing written");
}

#[test]
fn a_peer_document_applies_and_reads_the_same() {
    let f = factory();
    let a = open(Arc::new(MemKv::new()), StoreConfig::default());
    let b = CaseStore::open(
        Arc::new(MemKv::new()),
        b"other-actor-0002".to_vec(),
        StoreConfig::default(),
        WorkCalendar::builtin(),
    )
    .expect("opens");
    let case = f.case(day(), 1).expect("case");
    let id = case.header.number.to_string();
    a.create(&case).expect("stored");
    let bytes = a.document_bytes(&id).expect("bytes");
    b.apply_remote(&id, &bytes).expect("applied");
    assert_eq!(b.case(&id).expect("read"), case);
    assert_eq!(b.find(Index::Item, "BDC001", 10).expect("find"), vec![id.clone()]);
    assert!(a.apply_remote(&id, b"garbage").is_err());
    assert_eq!(a.case(&id).expect("still fine"), case);
}

#[test]
fn bad_document_ids_are_refused() {
    let store = open(Arc::new(MemKv::new()), StoreConfig::default());
    for bad in ["", "a/b", "../x", &"x".repeat(100), "a\0b"] {
        assert!(store.case(bad).is_err(), "{bad:?}");
    }
}

#[test]
fn reference_data_is_stored_as_documents_in_the_feed() {
    use yikou_node::doc::RefKind;
    use yikou_schema::catalog::Catalog;
    let store = open(Arc::new(MemKv::new()), StoreConfig::default());
    assert!(store.reference::<Catalog>(RefKind::Catalog).expect("read").is_none());
    let catalog = Catalog::sample();
    let first = store.put_reference(RefKind::Catalog, &catalog).expect("stored");
    assert_eq!(store.reference::<Catalog>(RefKind::Catalog).expect("read"), Some(catalog.clone()));
    // Unchanged data writes nothing.
    let again = store.put_reference(RefKind::Catalog, &catalog).expect("unchanged");
    assert_eq!(again.seq, first.seq);
    let calendar = WorkCalendar::builtin();
    store.put_reference(RefKind::Calendar, &calendar).expect("stored");
    let feed = store.changes_since(0, 10).expect("feed");
    let ids: Vec<&str> = feed.iter().map(|e| e.doc.as_str()).collect();
    assert_eq!(ids, vec!["ref:catalog", "ref:calendar"]);
    assert_eq!(store.reference::<WorkCalendar>(RefKind::Calendar).expect("read"), Some(calendar));
}

#[test]
fn a_store_reopened_while_the_old_handle_is_closing_waits_for_its_lock() {
    let dir = tempfile::tempdir().expect("temp dir");
    let first = SledKv::open(dir.path()).expect("sled");
    let closer = std::thread::spawn(move || {
        std::thread::sleep(std::time::Duration::from_millis(300));
        drop(first);
    });
    let second = SledKv::open(dir.path());
    closer.join().expect("closer");
    assert!(second.is_ok(), "{:?}", second.err());
}
