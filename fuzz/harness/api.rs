//! Fuzz harness `api_bodies`: arbitrary request bodies through the node's real HTTP router (in
//! process, no socket) on a service over an in-memory store: intake, eligibility, catalog
//! adjustments, the desk's forms and every case step (`EventKind` JSON with the kind from the
//! path, unknown fields refused). Shared by `fuzz/fuzz_targets/api_bodies.rs` and
//! `node/tests/fuzz_regressions.rs`.
//!
//! Input: byte 0 picks the route, byte 1 the member of staff, byte 2 the case; the rest is the
//! body, sent as `application/json` whatever it is. Every input starts from the same store
//! (a copy of one prepared once: the sample catalog, the staff, a received and an accepted case).
//!
//! Invariants: nothing panics; no answer is a 5xx (bad input is the client's fault, never an
//! internal error); every refusal is problem+json with a stable code and a detail for the clerk,
//! and writes nothing to the store.

use std::sync::{Arc, OnceLock};

use axum::body::Body;
use axum::http::{Request, header};
use http_body_util::BodyExt;
use serde_json::{Value, json};
use tower::ServiceExt;
use yikou_node::accounts::{Accounts, AccountsConfig, Argon2Cost};
use yikou_node::api::routes::STEPS;
use yikou_node::api::{self, ApiConfig, AppState};
use yikou_node::clock::Clock;
use yikou_node::doc::RefKind;
use yikou_node::service::{NodeInfo, Service};
use yikou_node::store::attachments::AttachmentStore;
use yikou_node::store::{CaseStore, Kv, MemKv, StoreConfig};
use yikou_schema::actor::Role;
use yikou_schema::calendar::WorkCalendar;
use yikou_schema::catalog::Catalog;
use yikou_schema::codes::{DepartmentCode, NodeName};
use yikou_schema::hlc::ms_from_local;
use yikou_schema::ids::NodeCode;

const PASSWORD: &str = "fuzz-password-42";
/// Scans one test node may hold (none are uploaded here).
const ATTACHMENT_BYTES_MAX: u64 = 1024 * 1024;
/// Routes with a JSON body besides the steps.
const BODY_ROUTES: [&str; 6] = [
    "/api/v1/cases",
    "/api/v1/eligibility",
    "/api/v1/catalog/adjustments",
    "/api/v1/tickets",
    "/api/v1/appointments",
    "/api/v1/consultations",
];

fn staff_roles() -> Vec<(&'static str, Role)> {
    vec![
        ("clerk01", Role::WindowClerk),
        ("bdc01", Role::DepartmentReviewer(DepartmentCode::new("BDCDJ"))),
        ("scj01", Role::DepartmentReviewer(DepartmentCode::new("SCJGJ"))),
        ("issue01", Role::IssuingWindow),
        ("centre01", Role::HallCentre),
        ("super01", Role::Supervisor),
        ("audit01", Role::Auditor),
    ]
}

/// The moment every input runs at: Tuesday 10 March 2026, 09:00, a working morning.
fn start_ms() -> i64 {
    let start = chrono::NaiveDate::from_ymd_opt(2026, 3, 10).and_then(|d| d.and_hms_opt(9, 0, 0));
    ms_from_local(start.expect("a valid moment"))
}

struct Base {
    kv: MemKv,
    dir: std::path::PathBuf,
    /// A received case and an accepted one.
    cases: [String; 2],
}

struct Node {
    router: axum::Router,
    store: Arc<CaseStore>,
    accounts: Arc<Accounts>,
    kv: Arc<MemKv>,
    clock: Arc<Clock>,
}

fn node_on(kv: MemKv, dir: &std::path::Path) -> Node {
    let kv = Arc::new(kv);
    let dyn_kv: Arc<dyn Kv> = kv.clone();
    let store = Arc::new(
        CaseStore::open(dyn_kv.clone(), b"hall".to_vec(), StoreConfig::default(), WorkCalendar::builtin())
            .expect("case store opens"),
    );
    let attachments = Arc::new(AttachmentStore::open(dir, ATTACHMENT_BYTES_MAX).expect("attachments"));
    let clock = Arc::new(Clock::system());
    clock.advance_ms(start_ms() - clock.now_ms());
    let info = NodeInfo {
        name: NodeName::new("hall"),
        code: NodeCode::parse("410184000").expect("node code"),
        scope: "410184000".to_string(),
        hall: true,
    };
    let service = Arc::new(Service::new(info, store.clone(), dyn_kv.clone(), attachments, clock.clone()));
    let config = AccountsConfig { argon2_cost: Argon2Cost::FAST_FOR_TESTS, ..AccountsConfig::default() };
    let accounts = Arc::new(Accounts::open(dyn_kv, config).expect("accounts"));
    let state = AppState::new(service, accounts.clone(), None, String::new(), ApiConfig::default());
    Node { router: api::router(state), store, accounts, kv, clock }
}

fn runtime() -> &'static tokio::runtime::Runtime {
    static RT: OnceLock<tokio::runtime::Runtime> = OnceLock::new();
    RT.get_or_init(|| tokio::runtime::Builder::new_current_thread().enable_all().build().expect("runtime"))
}

async fn call(node: &Node, path: &str, token: &str, body: Vec<u8>) -> (u16, String, Vec<u8>) {
    let req = Request::builder()
        .method("POST")
        .uri(path)
        .header(header::AUTHORIZATION, format!("Bearer {token}"))
        .header(header::CONTENT_TYPE, "application/json")
        .body(Body::from(body))
        .expect("request builds");
    let response = node.router.clone().oneshot(req).await.expect("the router answers");
    let status = response.status().as_u16();
    let ctype =
        response.headers().get(header::CONTENT_TYPE).and_then(|v| v.to_str().ok()).unwrap_or("").to_string();
    let bytes = response.into_body().collect().await.expect("body").to_bytes().to_vec();
    (status, ctype, bytes)
}

fn login(node: &Node, staff: &str) -> String {
    node.accounts.login(staff, PASSWORD, node.clock.now_ms()).expect("login").token
}

fn base() -> &'static Base {
    static BASE: OnceLock<Base> = OnceLock::new();
    BASE.get_or_init(|| {
        let dir = std::env::temp_dir().join(format!("yikou-fuzz-api-{}", std::process::id()));
        let node = node_on(MemKv::new(), &dir);
        node.store.put_reference(RefKind::Catalog, &Catalog::sample()).expect("catalog");
        for (staff, role) in staff_roles() {
            node.accounts.add(staff, &format!("{staff} 姓名"), role, PASSWORD, 0).expect("staff added");
        }
        // The service reads the catalog when it starts: a node on the prepared store.
        let node = node_on(node.kv.restarted(), &dir);
        let clerk = login(&node, "clerk01");
        let present: Vec<Value> = ["M01", "M02", "M03", "M04", "M05", "M06"]
            .iter()
            .map(|c| json!({ "code": c, "condition": { "condition": "present" } }))
            .collect();
        let intake = json!({
            "item": "BDC001",
            "applicant": { "id": "11010519491231002X", "name": "张三", "phone": "13800000000" },
            "channel": { "channel": "hall" },
            "presented": present,
        });
        let mut cases = Vec::new();
        for accept in [false, true] {
            let (status, _, body) =
                runtime().block_on(call(&node, "/api/v1/cases", &clerk, intake.to_string().into_bytes()));
            assert_eq!(status, 201, "base intake: {}", String::from_utf8_lossy(&body));
            let out: Value = serde_json::from_slice(&body).expect("json");
            let id = out["case"]["id"].as_str().expect("case id").to_string();
            if accept {
                let path = format!("/api/v1/cases/{id}/accept");
                let (status, _, body) =
                    runtime().block_on(call(&node, &path, &clerk, br#"{"presented": []}"#.to_vec()));
                assert_eq!(status, 200, "base accept: {}", String::from_utf8_lossy(&body));
            }
            cases.push(id);
        }
        let kv = node.kv.restarted();
        let [received, accepted] = <[String; 2]>::try_from(cases).expect("two cases");
        Base { kv, dir, cases: [received, accepted] }
    })
}

/// The paths the first byte picks from: the body routes, then every step of a case.
pub fn paths(case: &str) -> Vec<String> {
    let mut paths: Vec<String> = BODY_ROUTES.iter().map(|p| p.to_string()).collect();
    paths.extend(STEPS.iter().map(|s| format!("/api/v1/cases/{case}/{}", s.path)));
    paths
}

pub fn api_bodies(data: &[u8]) {
    let _ = answer(data);
}

/// Sends the input's request, checks the invariants and returns the status (`None`: the input is
/// too short to name a request).
pub fn answer(data: &[u8]) -> Option<u16> {
    let [route, who, which] = *data.first_chunk::<3>()?;
    let body = data[3..].to_vec();
    let base = base();
    let case = match which % 3 {
        0 => base.cases[0].as_str(),
        1 => base.cases[1].as_str(),
        _ => "410184000260310999999",
    };
    let paths = paths(case);
    let path = &paths[usize::from(route) % paths.len()];
    let staff = staff_roles();
    let (staff, _) = staff[usize::from(who) % staff.len()];
    let node = node_on(base.kv.restarted(), &base.dir);
    let token = login(&node, staff);
    let before = node.kv.range(b"", &[0xff; 8], usize::MAX).expect("range");
    let (status, ctype, bytes) = runtime().block_on(call(&node, path, &token, body));
    assert!(status < 500, "POST {path} as {staff} answered {status}: {}", String::from_utf8_lossy(&bytes));
    if status >= 400 {
        assert_eq!(ctype, "application/problem+json", "POST {path}: {status} {ctype}");
        let problem: Value = serde_json::from_slice(&bytes).expect("a problem is JSON");
        assert!(problem["code"].as_str().is_some_and(|c| !c.is_empty()), "no code: {problem}");
        assert!(problem["detail"].as_str().is_some_and(|c| !c.is_empty()), "no detail: {problem}");
        let after = node.kv.range(b"", &[0xff; 8], usize::MAX).expect("range");
        let keys = |e: &[(Vec<u8>, Vec<u8>)]| e.iter().map(|(k, _)| k.clone()).collect::<Vec<_>>();
        assert_eq!(keys(&after), keys(&before), "POST {path} refused with {problem} but wrote to the store");
    } else if ctype.starts_with("application/json") {
        assert!(serde_json::from_slice::<Value>(&bytes).is_ok(), "an answer that is not JSON");
    }
    Some(status)
}
