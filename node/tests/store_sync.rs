//! What replication needs from the case store: heads, deltas after a peer's heads, checked remote
//! changes (cases and reference documents), peer checkpoints, the digest and the live feed
//! position. Two stores stand for two nodes.

use std::cell::RefCell;
use std::path::Path;
use std::sync::Arc;

use automerge::transaction::Transactable;
use automerge::{ChangeHash, ObjType, ROOT, ReadDoc};
use chrono::NaiveDate;
use yikou_node::doc::{CaseDoc, RefKind};
use yikou_node::fixtures::CaseFactory;
use yikou_node::store::{CaseStore, Checkpoint, FeedEntry, Kv, MemKv, SledKv, StoreConfig, StoreError};
use yikou_schema::calendar::WorkCalendar;
use yikou_schema::case::Case;
use yikou_schema::catalog::Catalog;

fn day() -> NaiveDate {
    NaiveDate::from_ymd_opt(2026, 3, 2).expect("date")
}

/// Node A's cases (scope 410184001).
fn factory_a() -> CaseFactory {
    CaseFactory::new("town-a", 1).expect("factory")
}

/// Events written at node B (another HLC node, so other event ids).
fn factory_b() -> CaseFactory {
    CaseFactory::new("town-b", 2).expect("factory")
}

fn open(kv: Arc<dyn Kv>, actor: &[u8], config: StoreConfig) -> CaseStore {
    CaseStore::open(kv, actor.to_vec(), config, WorkCalendar::builtin()).expect("store opens")
}

fn open_sled(dir: &Path, actor: &[u8]) -> CaseStore {
    open(Arc::new(SledKv::open(dir).expect("sled")), actor, StoreConfig::default())
}

fn heads(store: &CaseStore, id: &str) -> Vec<ChangeHash> {
    store.heads(id).expect("heads").expect("held")
}

/// Sends what `to` lacks of `id` from `from`; returns the delta's size and whether it was whole.
fn push(from: &CaseStore, to: &CaseStore, id: &str) -> (usize, bool) {
    let their = to.heads(id).expect("heads").unwrap_or_default();
    let delta = from.changes_after(id, &their).expect("delta").expect("held");
    to.apply_remote(id, &delta.bytes).expect("applied");
    (delta.bytes.len(), delta.whole)
}

/// Appends the next event of the stored case (made by `f`) and returns it.
fn append_next(store: &CaseStore, f: &CaseFactory, id: &str) -> yikou_schema::case::Event {
    let case = store.case(id).expect("case");
    let e = f.next_event(&case);
    store.append(id, std::slice::from_ref(&e)).expect("appended");
    e
}

fn has_event(case: &Case, e: &yikou_schema::case::Event) -> bool {
    case.events.iter().any(|x| x.id() == e.id())
}

#[test]
fn two_stores_replicate_a_case_by_heads_with_small_deltas_and_diverged_histories() {
    let (da, db) = (tempfile::tempdir().expect("dir"), tempfile::tempdir().expect("dir"));
    let a = open_sled(da.path(), b"node-a-actor-001");
    let b = open_sled(db.path(), b"node-b-actor-002");
    let (fa, fb) = (factory_a(), factory_b());
    let case = fa.case(day(), 1).expect("case");
    let id = case.header.number.to_string();
    a.create(&case).expect("stored");
    append_next(&a, &fa, &id);

    // B does not hold it: the whole document.
    assert_eq!(b.heads(&id).expect("heads"), None);
    assert_eq!(b.changes_after(&id, &[]).expect("delta"), None);
    let whole = a.changes_after(&id, &[]).expect("delta").expect("held");
    assert!(whole.whole);
    b.apply_remote(&id, &whole.bytes).expect("applied");
    assert_eq!(heads(&a, &id), heads(&b, &id));
    assert_eq!(b.case(&id).expect("read"), a.case(&id).expect("read"));
    // B has everything: an empty delta.
    let none = a.changes_after(&id, &heads(&b, &id)).expect("delta").expect("held");
    assert!(!none.whole && none.bytes.is_empty());

    // A appends: B's heads are known to A, so only the new change travels.
    let e1 = append_next(&a, &fa, &id);
    let (size, was_whole) = push(&a, &b, &id);
    let whole_size = a.changes_after(&id, &[]).expect("delta").expect("held").bytes.len();
    assert!(!was_whole);
    assert!(size * 3 < whole_size, "delta {size} bytes, whole {whole_size}");
    assert_eq!(heads(&a, &id), heads(&b, &id));
    assert!(has_event(&b.case(&id).expect("read"), &e1));

    // Both append concurrently. A does not know B's head: the whole document goes to B.
    let x = append_next(&a, &fa, &id);
    let y = append_next(&b, &fb, &id);
    assert_ne!(x.id(), y.id());
    let (_, was_whole) = push(&a, &b, &id);
    assert!(was_whole, "none of B's heads is known to A");
    let b_heads = heads(&b, &id);
    assert_eq!(b_heads.len(), 2, "x and y are concurrent");

    // A appends again; of B's two heads A knows one (x): the changes after it, not the whole.
    let z = append_next(&a, &fa, &id);
    let (size, was_whole) = push(&a, &b, &id);
    assert!(!was_whole);
    assert!(size * 3 < whole_size, "delta {size} bytes");
    // B's own change goes back: A's head is known to B.
    let (size, was_whole) = push(&b, &a, &id);
    assert!(!was_whole);
    assert!(size * 3 < whole_size, "delta {size} bytes");
    assert_eq!(heads(&a, &id), heads(&b, &id));
    for store in [&a, &b] {
        let got = store.case(&id).expect("read");
        for e in [&e1, &x, &y, &z] {
            assert!(has_event(&got, e), "{} lacks {}", id, e.id());
        }
    }
    assert_eq!(a.case(&id).expect("read"), b.case(&id).expect("read"));

    // Durable: both read the same after a reopen, from the metadata and from the documents.
    let (ha, hb) = (heads(&a, &id), heads(&b, &id));
    drop((a, b));
    let a = open_sled(da.path(), b"node-a-actor-001");
    let b = open_sled(db.path(), b"node-b-actor-002");
    assert_eq!((heads(&a, &id), heads(&b, &id)), (ha, hb));
    assert_eq!(a.case(&id).expect("read"), b.case(&id).expect("read"));
}

#[test]
fn changes_already_held_write_no_feed_entry() {
    let a = open(Arc::new(MemKv::new()), b"node-a-actor-001", StoreConfig::default());
    let b = open(Arc::new(MemKv::new()), b"node-b-actor-002", StoreConfig::default());
    let f = factory_a();
    let case = f.case(day(), 1).expect("case");
    let id = case.header.number.to_string();
    a.create(&case).expect("stored");
    let e = append_next(&a, &f, &id);
    push(&a, &b, &id);

    let seq = b.last_seq().expect("seq");
    let mut watch = b.watch_seq();
    watch.borrow_and_update();
    let whole = a.changes_after(&id, &[]).expect("delta").expect("held").bytes;
    let ack = b.apply_remote(&id, &whole).expect("applied again");
    assert_eq!(ack.seq, seq, "the current position");
    assert_eq!(ack.heads, heads(&a, &id));
    assert_eq!(b.last_seq().expect("seq"), seq, "no new feed entry");
    assert!(!watch.has_changed().expect("open"), "nothing published");
    // The same for events already present.
    let seq_a = a.last_seq().expect("seq");
    let ack = a.append(&id, &[e]).expect("appended again");
    assert_eq!((ack.seq, a.last_seq().expect("seq")), (seq_a, seq_a));
    // And for a document this node sent itself, coming back from the peer.
    let back = b.changes_after(&id, &[]).expect("delta").expect("held").bytes;
    assert_eq!(a.apply_remote(&id, &back).expect("applied").seq, seq_a);
}

#[test]
fn a_refused_remote_change_writes_nothing_and_is_not_kept_in_memory() {
    let (da, db) = (tempfile::tempdir().expect("dir"), tempfile::tempdir().expect("dir"));
    let a = open_sled(da.path(), b"node-a-actor-001");
    // A cache of one document: reading another case evicts the refused one.
    let config = StoreConfig { cache_docs_max: 1, ..StoreConfig::default() };
    let b = open(Arc::new(SledKv::open(db.path()).expect("sled")), b"node-b-actor-002", config.clone());
    let f = factory_a();
    let case = f.case(day(), 1).expect("case");
    let other = f.case(day(), 2).expect("case");
    let id = case.header.number.to_string();
    a.create(&case).expect("stored");
    a.create(&other).expect("stored");
    push(&a, &b, &id);
    push(&a, &b, &other.header.number.to_string());

    let e = append_next(&a, &f, &id);
    let delta = a.changes_after(&id, &heads(&b, &id)).expect("delta").expect("held");
    let (seq, before, held) = (b.last_seq().expect("seq"), heads(&b, &id), b.case(&id).expect("read"));
    let seen = RefCell::new(Vec::new());
    let refuse = |doc: &yikou_node::store::RemoteDoc<'_>| -> Result<(), String> {
        seen.borrow_mut().push((doc.id.to_string(), doc.scope.map(str::to_string), doc.is_new));
        Err("该办件不属于对方节点的写入范围".into())
    };
    let err = b.apply_remote_checked(&id, &delta.bytes, &refuse).expect_err("refused");
    assert_eq!(err.code(), "forbidden");
    assert!(matches!(&err, StoreError::Forbidden { doc, reason } if *doc == id && reason.contains("范围")));
    assert!(err.to_string().contains("拒绝"), "{err}");
    assert_eq!(seen.take(), vec![(id.clone(), Some("410184001".to_string()), false)]);
    let unchanged = |b: &CaseStore| {
        assert_eq!(b.last_seq().expect("seq"), seq);
        assert_eq!(heads(b, &id), before);
        assert_eq!(b.case(&id).expect("read"), held);
        assert!(!has_event(&b.case(&id).expect("read"), &e));
    };
    unchanged(&b);
    b.case(&other.header.number.to_string()).expect("evicts");
    unchanged(&b);
    drop(b);
    let b = open(Arc::new(SledKv::open(db.path()).expect("sled")), b"node-b-actor-002", config);
    unchanged(&b);

    // Allowed now, the same bytes land (so they were not kept anywhere as "already held").
    let ack = b.apply_remote(&id, &delta.bytes).expect("applied");
    assert!(ack.seq > seq);
    assert!(has_event(&b.case(&id).expect("read"), &e));

    // A new document refused: not stored at all.
    let c = open(Arc::new(MemKv::new()), b"node-c-actor-003", StoreConfig::default());
    let whole = a.changes_after(&id, &[]).expect("delta").expect("held").bytes;
    let new_seen = RefCell::new(None);
    let refuse_new = |doc: &yikou_node::store::RemoteDoc<'_>| -> Result<(), String> {
        *new_seen.borrow_mut() = Some(doc.is_new);
        Err("范围外".into())
    };
    assert_eq!(c.apply_remote_checked(&id, &whole, &refuse_new).expect_err("refused").code(), "forbidden");
    assert_eq!(new_seen.take(), Some(true));
    assert_eq!(c.heads(&id).expect("heads"), None);
    assert_eq!((c.last_seq().expect("seq"), c.doc_count().expect("count")), (0, 0));
    assert_eq!(c.case(&id).expect_err("absent").code(), "store.not_found");
}

/// Bytes of a change made elsewhere to the stored case: its header's `scope` set to `scope`.
fn scope_change(store: &CaseStore, id: &str, scope: &str) -> Vec<u8> {
    let mut doc =
        CaseDoc::load(&store.document_bytes(id).expect("bytes"), b"mallory-actor-09").expect("load");
    let before = doc.heads();
    let am = doc.inner();
    let header = match am.get(&ROOT, "header").expect("get") {
        Some((automerge::Value::Object(ObjType::Map), header)) => header,
        other => panic!("no header map: {other:?}"),
    };
    am.put(&header, "scope", scope).expect("put");
    am.commit();
    doc.save_after(&before)
}

#[test]
fn a_change_of_a_cases_scope_is_refused() {
    let store = open(Arc::new(MemKv::new()), b"node-a-actor-001", StoreConfig::default());
    let case = factory_a().case(day(), 1).expect("case");
    let id = case.header.number.to_string();
    store.create(&case).expect("stored");
    let (seq, before) = (store.last_seq().expect("seq"), heads(&store, &id));
    let bytes = scope_change(&store, &id, "410184999");
    let err = store.apply_remote(&id, &bytes).expect_err("refused");
    assert_eq!(err.code(), "forbidden");
    assert!(err.to_string().contains("410184999"), "{err}");
    assert_eq!((store.last_seq().expect("seq"), heads(&store, &id)), (seq, before));
    assert_eq!(store.case(&id).expect("read"), case);
    // Setting it to the same value is no change of scope (Automerge writes no change for it).
    let same = scope_change(&store, &id, "410184001");
    store.apply_remote(&id, &same).expect("applied");
}

#[test]
fn changes_for_another_document_or_without_their_dependencies_are_refused() {
    let a = open(Arc::new(MemKv::new()), b"node-a-actor-001", StoreConfig::default());
    let b = open(Arc::new(MemKv::new()), b"node-b-actor-002", StoreConfig::default());
    let f = factory_a();
    let (one, two) = (f.case(day(), 1).expect("case"), f.case(day(), 2).expect("case"));
    let (id1, id2) = (one.header.number.to_string(), two.header.number.to_string());
    a.create(&one).expect("stored");
    a.create(&two).expect("stored");
    // Case 1's document under case 2's id.
    let whole1 = a.changes_after(&id1, &[]).expect("delta").expect("held").bytes;
    assert_eq!(b.apply_remote(&id2, &whole1).expect_err("wrong id").code(), "store.document");
    assert_eq!(b.heads(&id2).expect("heads"), None);
    // A chunk whose dependency B lacks: refused, nothing kept; the complete delta then lands.
    push(&a, &b, &id1);
    let base = heads(&b, &id1);
    append_next(&a, &f, &id1);
    let middle = heads(&a, &id1);
    let last = append_next(&a, &f, &id1);
    let tail = a.changes_after(&id1, &middle).expect("delta").expect("held").bytes;
    let seq = b.last_seq().expect("seq");
    assert_eq!(b.apply_remote(&id1, &tail).expect_err("gap").code(), "store.missing_deps");
    assert_eq!((b.last_seq().expect("seq"), heads(&b, &id1)), (seq, base));
    push(&a, &b, &id1);
    assert!(has_event(&b.case(&id1).expect("read"), &last));
    assert_eq!(heads(&a, &id1), heads(&b, &id1));
}

#[test]
fn reference_documents_replicate_like_cases() {
    let a = open(Arc::new(MemKv::new()), b"node-a-actor-001", StoreConfig::default());
    let b = open(Arc::new(MemKv::new()), b"node-b-actor-002", StoreConfig::default());
    let id = CaseStore::reference_id(RefKind::Catalog);
    let mut catalog = Catalog::sample();
    a.put_reference(RefKind::Catalog, &catalog).expect("stored");
    let (_, whole) = push(&a, &b, &id);
    assert!(whole);
    assert_eq!(b.reference::<Catalog>(RefKind::Catalog).expect("read"), Some(catalog.clone()));
    assert_eq!(heads(&a, &id), heads(&b, &id));

    catalog.title = format!("{}(调整)", catalog.title);
    a.put_reference(RefKind::Catalog, &catalog).expect("stored");
    let seen = RefCell::new(None);
    let their = heads(&b, &id);
    let delta = a.changes_after(&id, &their).expect("delta").expect("held");
    assert!(!delta.whole);
    let check = |doc: &yikou_node::store::RemoteDoc<'_>| -> Result<(), String> {
        *seen.borrow_mut() = Some((doc.scope.is_none(), doc.is_new));
        Ok(())
    };
    b.apply_remote_checked(&id, &delta.bytes, &check).expect("applied");
    assert_eq!(seen.take(), Some((true, false)));
    assert_eq!(b.reference::<Catalog>(RefKind::Catalog).expect("read"), Some(catalog.clone()));
    assert_eq!(heads(&a, &id), heads(&b, &id));
    // Held already: no new feed entry.
    let seq = b.last_seq().expect("seq");
    assert_eq!(b.apply_remote(&id, &delta.bytes).expect("again").seq, seq);
    assert_eq!(b.last_seq().expect("seq"), seq);
    // The feed entry of a reference document has no scope.
    let feed = b.changes_since(0, 10).expect("feed");
    assert_eq!(feed.len(), 1);
    assert_eq!((feed[0].doc.as_str(), &feed[0].scope), (id.as_str(), &None));
    // A refused reference change writes nothing.
    catalog.title = format!("{}(再调整)", catalog.title);
    a.put_reference(RefKind::Catalog, &catalog).expect("stored");
    let delta = a.changes_after(&id, &heads(&b, &id)).expect("delta").expect("held");
    let before = heads(&b, &id);
    let err = b.apply_remote_checked(&id, &delta.bytes, &|_| Err("只接受中心节点的参考数据".into()));
    assert_eq!(err.expect_err("refused").code(), "forbidden");
    assert_eq!((b.last_seq().expect("seq"), heads(&b, &id)), (seq, before));
    // The catalog under another reference id, or an unknown kind: refused.
    let whole = a.changes_after(&id, &[]).expect("delta").expect("held").bytes;
    let calendar = CaseStore::reference_id(RefKind::Calendar);
    assert_eq!(b.apply_remote(&calendar, &whole).expect_err("wrong kind").code(), "store.document");
    assert_eq!(b.apply_remote("ref:nonsense", &whole).expect_err("unknown kind").code(), "store.document");
    assert_eq!(b.heads(&calendar).expect("heads"), None);
}

#[test]
fn feed_entries_carry_the_scope_and_old_entries_still_read() {
    let store = open(Arc::new(MemKv::new()), b"node-a-actor-001", StoreConfig::default());
    let case = factory_a().case(day(), 1).expect("case");
    store.create(&case).expect("stored");
    let feed = store.changes_since(0, 10).expect("feed");
    assert_eq!(feed[0].scope.as_deref(), Some("410184001"));
    let old: FeedEntry = serde_json::from_str(r#"{"seq":3,"doc":"x","heads":[]}"#).expect("old entry reads");
    assert_eq!(old.scope, None);
    let json = serde_json::to_string(&old).expect("writes");
    assert!(!json.contains("scope"), "{json}");
}

#[test]
fn checkpoints_are_durable_and_outside_the_feed() {
    let dir = tempfile::tempdir().expect("dir");
    let cp = Checkpoint { epoch: [7; 16], seq: 42 };
    {
        let store = open_sled(dir.path(), b"node-a-actor-001");
        assert_eq!(store.checkpoint("town-b").expect("read"), None);
        let mut watch = store.watch_seq();
        watch.borrow_and_update();
        store.put_checkpoint("town-b", &Checkpoint { epoch: [1; 16], seq: 1 }).expect("stored");
        store.put_checkpoint("town-b", &cp).expect("stored");
        store.put_checkpoint("town-c", &Checkpoint { epoch: [2; 16], seq: 9 }).expect("stored");
        assert_eq!(store.last_seq().expect("seq"), 0, "no feed position taken");
        assert!(!watch.has_changed().expect("open"));
        assert!(store.changes_since(0, 10).expect("feed").is_empty());
        assert!(store.put_checkpoint("a/b", &cp).is_err());
        assert!(store.checkpoint("").is_err());
    }
    let store = open_sled(dir.path(), b"node-a-actor-001");
    assert_eq!(store.checkpoint("town-b").expect("read"), Some(cp.clone()));
    assert_eq!(store.checkpoint("town-c").expect("read").map(|c| c.seq), Some(9));
    assert_eq!(store.checkpoint("town-d").expect("read"), None);

    // Synced before return: a power cut right after keeps it.
    let kv = Arc::new(MemKv::new());
    let store = open(kv.clone(), b"node-a-actor-001", StoreConfig::default());
    store.put_checkpoint("town-b", &cp).expect("stored");
    kv.crash();
    let after = open(Arc::new(kv.restarted()), b"node-a-actor-001", StoreConfig::default());
    assert_eq!(after.checkpoint("town-b").expect("read"), Some(cp));
}

#[test]
fn the_digest_lists_every_document_once_sorted_and_feed_len_after_counts() {
    let store = open(Arc::new(MemKv::new()), b"node-a-actor-001", StoreConfig::default());
    let f = factory_a();
    let mut ids = Vec::new();
    for serial in [5, 3, 9, 1, 7] {
        let case = f.case(day(), serial).expect("case");
        ids.push(case.header.number.to_string());
        store.create(&case).expect("stored");
    }
    store.put_reference(RefKind::Catalog, &Catalog::sample()).expect("stored");
    ids.push(CaseStore::reference_id(RefKind::Catalog));
    // A case written again moves in the feed and is still listed once.
    append_next(&store, &f, &ids[1]);

    let digest = store.digest().expect("digest");
    let mut sorted = ids.clone();
    sorted.sort();
    assert_eq!(digest.iter().map(|e| e.doc.clone()).collect::<Vec<_>>(), sorted);
    assert_eq!(digest.len() as u64, store.doc_count().expect("count"));
    let mut feed = store.changes_since(0, 100).expect("feed");
    feed.sort_by(|a, b| a.doc.cmp(&b.doc));
    assert_eq!(digest, feed);
    for e in &digest {
        assert_eq!(e.heads, heads(&store, &e.doc).iter().map(|h| h.to_string()).collect::<Vec<_>>());
    }

    // Feed positions 1..=7 were taken; 2 was replaced by 7.
    assert_eq!(store.last_seq().expect("seq"), 7);
    assert_eq!(store.feed_len_after(0, 100).expect("len"), 6);
    assert_eq!(store.feed_len_after(0, 4).expect("len"), 4, "counts at most max");
    assert_eq!(store.feed_len_after(1, 100).expect("len"), 5);
    assert_eq!(store.feed_len_after(5, 100).expect("len"), 2);
    assert_eq!(store.feed_len_after(7, 100).expect("len"), 0);
    assert_eq!(store.feed_len_after(u64::MAX, 100).expect("len"), 0);
}

#[test]
fn watch_seq_follows_acknowledged_writes() {
    let store = Arc::new(open(Arc::new(MemKv::new()), b"node-a-actor-001", StoreConfig::default()));
    let f = factory_a();
    let mut watch = store.watch_seq();
    assert_eq!(*watch.borrow_and_update(), 0);
    let ack = store.create(&f.case(day(), 1).expect("case")).expect("stored");
    assert!(watch.has_changed().expect("open"));
    assert_eq!(*watch.borrow_and_update(), ack.seq);

    // A task waiting on the channel wakes when another thread writes.
    let rt = tokio::runtime::Builder::new_current_thread().enable_all().build().expect("runtime");
    let writer = store.clone();
    let seen = rt.block_on(async move {
        let write = std::thread::spawn(move || {
            writer.create(&factory_a().case(day(), 2).expect("case")).expect("stored").seq
        });
        tokio::time::timeout(std::time::Duration::from_secs(10), watch.changed())
            .await
            .expect("woken in time")
            .expect("open");
        let seen = *watch.borrow_and_update();
        (seen, write.join().expect("writer"))
    });
    assert_eq!(seen.0, seen.1);
    assert_eq!(seen.0, 2);
}

#[test]
fn a_document_received_whole_is_stored_whole() {
    // Regression: a document loaded from a peer's bytes has no unsaved changes, so its first
    // write stored metadata only and the case was unreadable once out of the cache.
    let a = open(Arc::new(MemKv::new()), b"node-a-actor-001", StoreConfig::default());
    let kv = Arc::new(MemKv::new());
    let b = open(kv.clone(), b"node-b-actor-002", StoreConfig::default());
    let case = factory_a().case(day(), 1).expect("case");
    let id = case.header.number.to_string();
    a.create(&case).expect("stored");
    push(&a, &b, &id);
    let kv = Arc::new(kv.restarted());
    let after = open(kv.clone(), b"node-b-actor-002", StoreConfig::default());
    assert_eq!(after.case(&id).expect("read after restart"), case);
    append_next(&after, &factory_b(), &id);
    let again = open(Arc::new(kv.restarted()), b"node-b-actor-002", StoreConfig::default());
    assert_eq!(again.case(&id).expect("read"), after.case(&id).expect("read"));
    assert_eq!(again.case(&id).expect("read").events.len(), case.events.len() + 1);
}
