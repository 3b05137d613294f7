//! Replication between real nodes: real sled stores on disk, real QUIC with mutual TLS on
//! loopback, certificates from a real (in-memory) CA.
#![allow(clippy::unwrap_used, clippy::expect_used)]

use std::sync::Arc;
use std::time::{Duration, SystemTime};

use chrono::NaiveDate;
use yikou_node::doc::RefKind;
use yikou_node::fixtures::CaseFactory;
use yikou_node::net::{NetConfig, PeerAddr, Replicator};
use yikou_node::pki::{Ca, NodeCredentials, NodeIdentity, PeerRole};
use yikou_node::store::attachments::{ATTACHMENT_BYTES_MAX, AttachmentStore};
use yikou_node::store::{CaseStore, Index, SledKv, StoreConfig};
use yikou_schema::calendar::WorkCalendar;
use yikou_schema::catalog::Catalog;

struct Node {
    name: String,
    store: Arc<CaseStore>,
    creds: NodeCredentials,
    _dir: tempfile::TempDir,
}

impl Node {
    fn new(ca: &mut Ca, name: &str, role: PeerRole, scope: &str) -> Node {
        let dir = tempfile::tempdir().unwrap();
        let kv = Arc::new(SledKv::open(dir.path()).unwrap());
        let store =
            CaseStore::open(kv, name.as_bytes().to_vec(), StoreConfig::default(), WorkCalendar::builtin())
                .unwrap();
        let id = NodeIdentity::new(name, role, scope).unwrap();
        let creds = ca.issue_in_memory(&id, SystemTime::now()).unwrap();
        Node { name: name.to_string(), store: Arc::new(store), creds, _dir: dir }
    }

    async fn start(&self, peers: &[(&Node, &Replicator)]) -> Replicator {
        let mut cfg = NetConfig::new("127.0.0.1:0".parse().unwrap());
        cfg.backoff_base_ms = 50;
        cfg.backoff_max_ms = 500;
        cfg.attachments_dir = Some(self.attachments_dir());
        cfg.peers = peers
            .iter()
            .map(|(n, r)| PeerAddr { name: n.name.clone(), addr: r.local_addr().unwrap() })
            .collect();
        Replicator::start(self.store.clone(), self.creds.clone(), cfg).await.unwrap()
    }

    fn attachments_dir(&self) -> std::path::PathBuf {
        self._dir.path().join("attachments")
    }

    fn attachments(&self) -> AttachmentStore {
        AttachmentStore::open(&self.attachments_dir(), ATTACHMENT_BYTES_MAX).unwrap()
    }

    fn scope_cases(&self, scope: &str) -> Vec<String> {
        self.store.find(Index::Scope, scope, 10_000).unwrap()
    }

    fn heads(&self, doc: &str) -> Option<Vec<automerge::ChangeHash>> {
        self.store.heads(doc).unwrap()
    }
}

const HALL: &str = "410184000";
const TOWN_A: &str = "410184001";
const TOWN_B: &str = "410184002";

fn day() -> NaiveDate {
    NaiveDate::from_ymd_opt(2026, 3, 2).unwrap()
}

/// Waits (up to a generous limit; this is liveness, not speed) until `cond` holds.
async fn eventually(what: &str, mut cond: impl FnMut() -> bool, status: impl Fn() -> String) {
    let start = tokio::time::Instant::now();
    let deadline = start + Duration::from_secs(60);
    while !cond() {
        if tokio::time::Instant::now() > deadline {
            panic!("never happened: {what}\n{}", status());
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    println!("{what}: {:?}", start.elapsed());
}

fn create_cases(node: &Node, factory: &CaseFactory, serials: std::ops::Range<u32>) -> Vec<String> {
    serials
        .map(|s| {
            let case = factory.case(day(), s).unwrap();
            node.store.create(&case).unwrap();
            case.header.number.to_string()
        })
        .collect()
}

fn same_heads(a: &Node, b: &Node, docs: &[String]) -> bool {
    docs.iter().all(|d| a.heads(d).is_some() && a.heads(d) == b.heads(d))
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn township_works_through_an_outage_and_converges_and_never_sees_another_townships_cases() {
    // rule O1: intake continues while cut off. rule O2: nothing acknowledged is lost.
    // rule O3: nodes sharing a record converge. rule O5: a township holds only its own cases.
    let mut ca = Ca::in_memory("测试县政务服务中心", SystemTime::now()).unwrap();
    let hall = Node::new(&mut ca, "hall", PeerRole::Hall, HALL);
    let hall2 = Node::new(&mut ca, "hall-annex", PeerRole::Hall, HALL);
    let a = Node::new(&mut ca, "town-a", PeerRole::Township, TOWN_A);
    let b = Node::new(&mut ca, "town-b", PeerRole::Township, TOWN_B);
    let fa = CaseFactory::new("town-a", 1).unwrap();
    let fb = CaseFactory::new("town-b", 2).unwrap();

    hall.store.put_reference(RefKind::Catalog, &Catalog::sample()).unwrap();
    let mut a_cases = create_cases(&a, &fa, 1..6);
    let b_cases = create_cases(&b, &fb, 1..6);

    let rh = hall.start(&[]).await;
    let rh2 = hall2.start(&[(&hall, &rh)]).await;
    let ra = a.start(&[(&hall, &rh)]).await;
    let rb = b.start(&[(&hall, &rh)]).await;
    let status = || format!("hall: {:#?}\ntown-a: {:#?}", rh.status(), ra.status());

    eventually(
        "the hall holds both townships' cases, the townships the catalog",
        || {
            same_heads(&hall, &a, &a_cases)
                && same_heads(&hall, &b, &b_cases)
                && a.store.reference::<Catalog>(RefKind::Catalog).unwrap().is_some()
                && b.store.reference::<Catalog>(RefKind::Catalog).unwrap().is_some()
        },
        status,
    )
    .await;
    // A change relayed through the hall reaches a third node intact (rule O3).
    eventually("the annex holds town-a's cases via the hall", || same_heads(&hall2, &a, &a_cases), status)
        .await;

    // Outage: town-a is cut off. Intake continues there (O1) while the hall works on one of its
    // cases.
    ra.shutdown().await;
    a_cases.extend(create_cases(&a, &fa, 6..9));
    let first = a.store.case(&a_cases[0]).unwrap();
    a.store.append(&a_cases[0], &[fa.next_event(&first)]).unwrap();
    let hall_event = {
        let mut e = fa.next_event(&first);
        e.hlc.node = yikou_schema::codes::NodeName::new("hall");
        e.hlc.wall_ms += 1;
        e.actor.node = yikou_schema::codes::NodeName::new("hall");
        e
    };
    hall.store.append(&a_cases[0], &[hall_event]).unwrap();
    assert_ne!(hall.heads(&a_cases[0]), a.heads(&a_cases[0]));

    // The link returns: both sides' changes meet (O3).
    let ra = a.start(&[(&hall, &rh)]).await;
    eventually(
        "town-a and the hall converge after the outage",
        || same_heads(&hall, &a, &a_cases) && same_heads(&hall2, &a, &a_cases),
        || format!("hall: {:#?}\ntown-a: {:#?}", rh.status(), ra.status()),
    )
    .await;
    let merged = a.store.case(&a_cases[0]).unwrap();
    assert_eq!(merged.events.len(), first.events.len() + 2, "both the township's and the hall's event");
    assert_eq!(hall.store.case(&a_cases[0]).unwrap(), merged);

    // O5: a township never receives another township's case.
    assert!(b.scope_cases(TOWN_A).is_empty());
    assert!(a.scope_cases(TOWN_B).is_empty());
    assert!(b_cases.iter().all(|c| a.heads(c).is_none()));
    assert_eq!(hall.scope_cases(TOWN_A).len(), a_cases.len());

    let peer = ra.peer("hall").unwrap();
    assert!(peer.connected && peer.role == Some(PeerRole::Hall));
    eventually(
        "town-a's status shows nothing behind",
        || ra.peer("hall").unwrap().docs_behind == 0,
        || format!("{:#?}", ra.status()),
    )
    .await;
    for r in [ra, rb, rh2, rh] {
        r.shutdown().await;
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_rogue_ca_node_and_a_revoked_node_are_refused_before_any_data_moves() {
    let mut ca = Ca::in_memory("测试县政务服务中心", SystemTime::now()).unwrap();
    let mut rogue_ca = Ca::in_memory("冒牌中心", SystemTime::now()).unwrap();
    let revoked = Node::new(&mut ca, "town-c", PeerRole::Township, "410184003");
    ca.revoke("town-c", SystemTime::now()).unwrap();
    let mut hall = Node::new(&mut ca, "hall", PeerRole::Hall, HALL);
    hall.creds.crls = vec![ca.crl_der().clone()];
    let rogue = Node::new(&mut rogue_ca, "town-a", PeerRole::Township, TOWN_A);
    hall.store.put_reference(RefKind::Catalog, &Catalog::sample()).unwrap();
    let fa = CaseFactory::new("town-a", 1).unwrap();
    create_cases(&rogue, &fa, 1..3);
    let fc = CaseFactory::new("town-c", 3).unwrap();
    create_cases(&revoked, &fc, 1..3);

    let rh = hall.start(&[]).await;
    let r1 = rogue.start(&[(&hall, &rh)]).await;
    let r2 = revoked.start(&[(&hall, &rh)]).await;
    eventually(
        "both dialers report a refusal",
        || {
            r1.peer("hall").is_some_and(|p| p.last_error.is_some() && !p.connected)
                && r2.peer("hall").is_some_and(|p| p.last_error.is_some() && !p.connected)
        },
        || format!("rogue: {:#?}\nrevoked: {:#?}", r1.status(), r2.status()),
    )
    .await;
    tokio::time::sleep(Duration::from_millis(300)).await;
    assert_eq!(hall.store.doc_count().unwrap(), 1, "only the hall's own catalog");
    assert!(rogue.store.reference::<Catalog>(RefKind::Catalog).unwrap().is_none());
    assert!(revoked.store.reference::<Catalog>(RefKind::Catalog).unwrap().is_none());
    assert!(rh.status().iter().all(|p| p.sessions == 0), "{:#?}", rh.status());
    for r in [r1, r2, rh] {
        r.shutdown().await;
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_hall_refuses_a_townships_change_to_a_case_outside_its_scope() {
    // rule O5: a node accepts changes only to documents its peer may write.
    let mut ca = Ca::in_memory("测试县政务服务中心", SystemTime::now()).unwrap();
    let hall = Node::new(&mut ca, "hall", PeerRole::Hall, HALL);
    let a = Node::new(&mut ca, "town-a", PeerRole::Township, TOWN_A);
    // town-a holds (by a bug or tampering) a case of town-b's scope, and one of its own.
    let forged = create_cases(&a, &CaseFactory::new("town-b", 2).unwrap(), 1..2);
    let own = create_cases(&a, &CaseFactory::new("town-a", 1).unwrap(), 1..2);
    let rh = hall.start(&[]).await;
    let ra = a.start(&[(&hall, &rh)]).await;
    eventually(
        "the hall holds town-a's own case",
        || same_heads(&hall, &a, &own),
        || format!("{:#?}", rh.status()),
    )
    .await;
    tokio::time::sleep(Duration::from_millis(300)).await;
    assert!(hall.heads(&forged[0]).is_none(), "the forged case was refused");
    assert!(hall.scope_cases(TOWN_B).is_empty());
    for r in [ra, rh] {
        r.shutdown().await;
    }
}

fn seed() -> u64 {
    let seed = std::env::var("YIKOU_SEED").ok().and_then(|s| s.parse().ok()).unwrap_or(20_261_125);
    println!("relay seed {seed} (replay: YIKOU_SEED={seed})");
    seed
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn syncs_through_twenty_percent_loss_and_300_ms_delay_and_a_partition() {
    use yikou_node::relay::{Impairment, Relay};
    let mut ca = Ca::in_memory("测试县政务服务中心", SystemTime::now()).unwrap();
    let hall = Node::new(&mut ca, "hall", PeerRole::Hall, HALL);
    let a = Node::new(&mut ca, "town-a", PeerRole::Township, TOWN_A);
    let fa = CaseFactory::new("town-a", 1).unwrap();
    hall.store.put_reference(RefKind::Catalog, &Catalog::sample()).unwrap();
    let mut cases = create_cases(&a, &fa, 1..101);

    let rh = hall.start(&[]).await;
    let bad = Impairment { loss: 0.2, delay_ms: 300, ..Impairment::default() };
    let relay =
        Relay::start("127.0.0.1:0".parse().unwrap(), rh.local_addr().unwrap(), bad, seed()).await.unwrap();
    let mut cfg = NetConfig::new("127.0.0.1:0".parse().unwrap());
    cfg.backoff_base_ms = 100;
    cfg.backoff_max_ms = 2_000;
    cfg.peers = vec![PeerAddr { name: "hall".into(), addr: relay.local_addr() }];
    let ra = Replicator::start(a.store.clone(), a.creds.clone(), cfg).await.unwrap();
    let status = || format!("town-a: {:#?}\nrelay: {:?}", ra.status(), relay.stats());
    eventually(
        "100 cases cross a link losing 20 % of datagrams with 300 ms delay",
        || same_heads(&hall, &a, &cases) && a.store.reference::<Catalog>(RefKind::Catalog).unwrap().is_some(),
        status,
    )
    .await;
    println!("{}", status());
    let stats = relay.stats();
    assert!(stats.dropped_loss > 0, "the link really lost datagrams: {stats:?}");

    // Cut the link; intake continues; heal; the new cases arrive.
    relay.partition(true);
    cases.extend(create_cases(&a, &fa, 101..111));
    tokio::time::sleep(Duration::from_millis(500)).await;
    assert!(hall.heads(&cases[105]).is_none());
    relay.partition(false);
    eventually(
        "the cases made during the partition arrive after it heals",
        || same_heads(&hall, &a, &cases),
        status,
    )
    .await;
    ra.shutdown().await;
    rh.shutdown().await;
    relay.shutdown().await;
}

/// Appends a "materials scanned" event to a case at `node`, storing the bytes there first.
fn scan(node: &Node, factory: &CaseFactory, doc: &str, bytes: &[u8]) -> String {
    use yikou_schema::actor::Role;
    use yikou_schema::case::{EventKind, Scan};
    let r = node.attachments().put(bytes).unwrap();
    let case = node.store.case(doc).unwrap();
    let mut e = factory.next_event(&case);
    e.actor.role = Role::WindowClerk;
    e.kind = EventKind::MaterialsScanned {
        scans: vec![Scan {
            material: yikou_schema::codes::MaterialCode::new("M01"),
            hash: r.hash.clone(),
            bytes: r.bytes,
            media_type: "application/pdf".into(),
        }],
    };
    node.store.append(doc, &[e]).unwrap();
    r.hash
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn scanned_materials_travel_on_their_own_streams_the_hall_takes_all_a_township_on_demand() {
    // rule W3.2: the scanned originals follow the case.
    let mut ca = Ca::in_memory("测试县政务服务中心", SystemTime::now()).unwrap();
    let hall = Node::new(&mut ca, "hall", PeerRole::Hall, HALL);
    let a = Node::new(&mut ca, "town-a", PeerRole::Township, TOWN_A);
    let b = Node::new(&mut ca, "town-b", PeerRole::Township, TOWN_B);
    let fa = CaseFactory::new("town-a", 1).unwrap();
    let cases = create_cases(&a, &fa, 1..3);
    let big: Vec<u8> = (0..3_000_000u32).map(|i| (i % 251) as u8).collect();
    let at_township = scan(&a, &fa, &cases[0], &big);

    let rh = hall.start(&[]).await;
    let ra = a.start(&[(&hall, &rh)]).await;
    let rb = b.start(&[(&hall, &rh)]).await;
    eventually(
        "the hall fetched the township's scan by itself",
        || hall.attachments().has(&at_township),
        || format!("{:#?}", rh.status()),
    )
    .await;
    assert_eq!(hall.attachments().get(&at_township).unwrap(), big);

    // A scan added at the hall reaches the township only when asked for.
    let fh = CaseFactory::new("hall", 0).unwrap();
    let at_hall = scan(&hall, &fh, &cases[1], b"hall's scan of the signed commitment");
    eventually(
        "the case with the hall's scan reaches town-a",
        || same_heads(&hall, &a, &cases),
        || format!("{:#?}", ra.status()),
    )
    .await;
    assert!(!a.attachments().has(&at_hall));
    // An interrupted download is resumed: leave a partial file behind first.
    a.attachments().append_partial(&at_hall, b"hall's scan").unwrap();
    ra.fetch_attachment(&cases[1], &at_hall).await.unwrap();
    assert_eq!(a.attachments().get(&at_hall).unwrap(), b"hall's scan of the signed commitment");

    // Another township may not read town-a's materials (O5).
    eventually(
        "town-b is connected",
        || rb.peer("hall").is_some_and(|p| p.connected),
        || format!("{:#?}", rb.status()),
    )
    .await;
    let refused = rb.fetch_attachment(&cases[0], &at_township).await.unwrap_err();
    assert!(refused.contains("不允许") || refused.contains("没有"), "{refused}");
    assert!(!b.attachments().has(&at_township));
    for r in [ra, rb, rh] {
        r.shutdown().await;
    }
}
