//! The web console in headless Chromium: real nodes started in process on loopback, driven by
//! `tests/js/console-e2e.mjs` (playwright-core with Debian's Chromium, both installed by
//! `scripts/test.sh`). Each scenario saves a screenshot of every page it passes through under
//! `<target dir>/console-screenshots/<scenario>/`.
//!
//! A missing Chromium, Node.js or playwright-core fails these tests with what to install: a
//! browser test that silently skips cannot fail, and so proves nothing.

use std::net::SocketAddr;
use std::path::{Path, PathBuf};
use std::process::Command;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use yikou_node::accounts::{AccountsConfig, Argon2Cost, parse_role};
use yikou_node::clock::Clock;
use yikou_node::config::PeerConfig;
use yikou_node::doc::RefKind;
use yikou_node::init::{Credentials, InitOptions, init};
use yikou_node::pki::PeerRole;
use yikou_node::server::{RunningNode, StartOptions};
use yikou_schema::catalog::Catalog;
use yikou_schema::hlc::ms_from_local;

/// The staff password of every test node (passed to the browser script in its environment).
const PASSWORD: &str = "console-e2e-2026";

/// How long one browser scenario may run at most before it is killed and the test fails.
const SCENARIO_MS_MAX: u64 = 100_000;

/// How long the township waits at most for its replicator to notice the hall is unreachable.
const OFFLINE_WAIT_MS_MAX: u64 = 20_000;

/// One Chromium at a time: the machine has two cores and three browsers at once make every
/// scenario's timeouts flaky.
static BROWSER: Mutex<()> = Mutex::new(());

/// Hall staff: (scenario role key, staff id, display name, role).
const HALL_STAFF: &[(&str, &str, &str, &str)] = &[
    ("clerk", "clerk01", "陈窗口", "window_clerk"),
    ("reviewer", "bdc01", "吴审批", "department_reviewer:BDCDJ"),
    ("issuing", "issue01", "郑发证", "issuing_window"),
    ("centre", "centre01", "周主任", "hall_centre"),
    ("supervisor", "super01", "王监察", "supervisor"),
    ("auditor", "audit01", "冯审计", "auditor"),
];

/// Township staff.
const TOWN_STAFF: &[(&str, &str, &str, &str)] =
    &[("clerk", "clerk-a", "李窗口", "window_clerk"), ("supervisor", "super-a", "赵监察", "supervisor")];

/// Tuesday 10 March 2026, 09:00 China Standard Time: a working morning inside the built-in
/// calendar, so that deadlines in working days are the same whatever day the suite runs.
fn start_moment() -> chrono::NaiveDateTime {
    chrono::NaiveDate::from_ymd_opt(2026, 3, 10)
        .and_then(|d| d.and_hms_opt(9, 0, 0))
        .expect("valid start moment")
}

/// `<target dir>/console-screenshots/<scenario>`, emptied.
fn shots_dir(scenario: &str) -> PathBuf {
    let tmp = Path::new(env!("CARGO_TARGET_TMPDIR"));
    let target = tmp.parent().unwrap_or(tmp);
    let dir = target.join("console-screenshots").join(scenario);
    let _ = std::fs::remove_dir_all(&dir);
    std::fs::create_dir_all(&dir).expect("screenshot directory");
    dir
}

fn repo_root() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).parent().expect("node/ has a parent").to_path_buf()
}

/// Where Chromium is: `YIKOU_CHROMIUM`, else `chromium` on the PATH, else the Debian path.
fn chromium() -> PathBuf {
    if let Some(p) = std::env::var_os("YIKOU_CHROMIUM").filter(|p| !p.is_empty()) {
        return PathBuf::from(p);
    }
    let on_path = std::env::var_os("PATH")
        .map(|paths| std::env::split_paths(&paths).map(|d| d.join("chromium")).collect::<Vec<_>>())
        .unwrap_or_default();
    on_path.into_iter().find(|p| p.is_file()).unwrap_or_else(|| PathBuf::from("/usr/bin/chromium"))
}

/// Fails the test with what to install when the browser toolchain is missing.
fn preflight() -> PathBuf {
    let node_ok = Command::new("node").arg("--version").output().map(|o| o.status.success()).unwrap_or(false);
    assert!(
        node_ok,
        "Node.js not found: the console's browser tests run tests/js/console-e2e.mjs with `node`; \
         run scripts/test.sh (it installs Node.js, npm and the pinned packages) or install Node.js 20+"
    );
    let playwright = repo_root().join("tests/js/node_modules/playwright-core/package.json");
    assert!(
        playwright.is_file(),
        "playwright-core not installed ({} missing): run `npm ci` in tests/js (scripts/test.sh does)",
        playwright.display()
    );
    let chromium = chromium();
    assert!(
        chromium.is_file(),
        "Chromium not found at {}: install Debian's chromium package (apt-get install chromium; \
         scripts/test.sh does when run as root) or set YIKOU_CHROMIUM to a Chromium binary",
        chromium.display()
    );
    chromium
}

/// A node started for one scenario, with its data directory.
struct TestNode {
    node: RunningNode,
    base: String,
    _dir: tempfile::TempDir,
}

async fn start_node(
    role: PeerRole,
    name: &str,
    scope: &str,
    staff: &[(&str, &str, &str, &str)],
    peers: Vec<(String, SocketAddr)>,
) -> TestNode {
    let dir = tempfile::Builder::new().prefix("yikou-console-").tempdir().expect("tempdir");
    let report = init(&InitOptions {
        dir: dir.path().join(name),
        name: name.into(),
        role,
        scope: scope.into(),
        code: None,
        http: Some("127.0.0.1:0".into()),
        sync: Some("127.0.0.1:0".into()),
        peers: Vec::new(),
        credentials: Credentials::SelfSigned,
    })
    .expect("node initialised");
    let mut config = report.config;
    config.sync.peers =
        peers.into_iter().map(|(name, addr)| PeerConfig { name, addr: addr.to_string() }).collect();
    let clock = Arc::new(Clock::system());
    clock.advance_ms(ms_from_local(start_moment()) - clock.now_ms());
    let options = StartOptions {
        clock: clock.clone(),
        accounts: AccountsConfig { argon2_cost: Argon2Cost::FAST_FOR_TESTS, ..AccountsConfig::default() },
    };
    let node = RunningNode::start(&config, options).await.expect("node starts");
    for (_, id, display, role) in staff {
        let role = parse_role(role).expect("staff role");
        node.accounts.add(id, display, role, PASSWORD, clock.now_ms()).expect("staff added");
    }
    if role == PeerRole::Hall {
        node.service.import_catalog(yikou_schema::catalog::SAMPLE_TOML).expect("catalog imported");
    } else {
        // What the township had received from the hall before it was cut off.
        node.service.store().put_reference(RefKind::Catalog, &Catalog::sample()).expect("catalog stored");
    }
    let base = format!("http://{}", node.http_addr);
    TestNode { node, base, _dir: dir }
}

/// Two cases through the API (one accepted with tolerance and handed to BDCDJ, one just
/// received), so that lists, inboxes and charts have something to show.
async fn seed_cases(base: &str) {
    let http = reqwest::Client::new();
    let call = |method: reqwest::Method, path: String, token: Option<String>, body: serde_json::Value| {
        let mut req = http.request(method, format!("{base}{path}")).json(&body);
        if let Some(t) = token {
            req = req.bearer_auth(t);
        }
        async move {
            let resp = req.send().await.expect("node answers");
            let status = resp.status();
            let v: serde_json::Value = resp.json().await.unwrap_or_default();
            assert!(status.is_success(), "{path}: {status} {v:#}");
            v
        }
    };
    let login = |staff: &'static str| {
        call(
            reqwest::Method::POST,
            "/api/v1/auth/login".into(),
            None,
            serde_json::json!({ "staff": staff, "password": PASSWORD }),
        )
    };
    let clerk = login("clerk01").await["token"].as_str().map(str::to_string);
    let bdc = login("bdc01").await["token"].as_str().map(str::to_string);
    let intake = |name: &str, id: &str, materials: &[&str]| {
        serde_json::json!({
            "item": "BDC001",
            "applicant": { "id": id, "name": name, "phone": "13800000000" },
            "channel": { "channel": "hall" },
            "presented": materials.iter()
                .map(|c| serde_json::json!({ "code": c, "condition": { "condition": "present" } }))
                .collect::<Vec<_>>(),
        })
    };
    let post = reqwest::Method::POST;
    let made = call(
        post.clone(),
        "/api/v1/cases".into(),
        clerk.clone(),
        intake("张三", "11010519491231002X", &["M01", "M02", "M03", "M04", "M05"]),
    )
    .await;
    let id = made["case"]["id"].as_str().expect("case id").to_string();
    let deadline = made["eligibility"]["latest_deadline"]["at"].clone();
    call(
        post.clone(),
        format!("/api/v1/cases/{id}/tolerance-accept"),
        clerk.clone(),
        serde_json::json!({ "presented": [], "commitment": { "materials": ["M06"], "deadline": deadline,
            "window": "县政务服务中心不动产登记窗口", "signed_by": { "by": "applicant" } } }),
    )
    .await;
    call(
        post.clone(),
        format!("/api/v1/cases/{id}/handover"),
        clerk.clone(),
        serde_json::json!({ "department": "BDCDJ", "paper": true }),
    )
    .await;
    call(
        post.clone(),
        format!("/api/v1/cases/{id}/handover-sign"),
        bdc,
        serde_json::json!({ "department": "BDCDJ" }),
    )
    .await;
    call(
        post,
        "/api/v1/cases".into(),
        clerk,
        intake("王五", "110105195001010039", &["M01", "M02", "M03", "M04", "M05", "M06"]),
    )
    .await;
}

/// `clerk=clerk01,reviewer=bdc01,…` for the script's `--staff`.
fn staff_arg(staff: &[(&str, &str, &str, &str)]) -> String {
    staff.iter().map(|(key, id, _, _)| format!("{key}={id}")).collect::<Vec<_>>().join(",")
}

/// Runs one scenario of `tests/js/console-e2e.mjs` against `base`; panics with the script's
/// output when it fails or runs longer than [`SCENARIO_MS_MAX`].
async fn run_scenario(scenario: &str, base: &str, staff: &[(&str, &str, &str, &str)]) {
    let chromium = preflight();
    let shots = shots_dir(scenario);
    println!("console screenshots ({scenario}): {}", shots.display());
    let root = repo_root();
    let mut cmd = Command::new("node");
    cmd.current_dir(root.join("tests/js"))
        .arg("console-e2e.mjs")
        .args(["--base", base, "--scenario", scenario, "--staff", &staff_arg(staff)])
        .arg("--shots")
        .arg(&shots)
        .arg("--timeout-ms")
        .arg(SCENARIO_MS_MAX.to_string())
        .env("YIKOU_CHROMIUM", &chromium)
        .env("YIKOU_E2E_PASSWORD", PASSWORD)
        .env("FORCE_COLOR", "0");
    let started = Instant::now();
    let output = tokio::task::spawn_blocking(move || {
        // The guard only orders browsers; a panic in another scenario does not poison that.
        let _one_browser = BROWSER.lock().unwrap_or_else(|e| e.into_inner());
        cmd.output()
    })
    .await
    .expect("scenario task")
    .expect("node runs");
    let stdout = String::from_utf8_lossy(&output.stdout);
    let stderr = String::from_utf8_lossy(&output.stderr);
    let shots_taken = std::fs::read_dir(&shots).map(|d| d.count()).unwrap_or(0);
    println!(
        "scenario {scenario}: {:.1} s (queue included), {shots_taken} screenshots in {}",
        started.elapsed().as_secs_f64(),
        shots.display()
    );
    assert!(
        output.status.success(),
        "browser scenario {scenario} failed ({}); screenshots in {}\n--- stdout\n{stdout}\n--- stderr\n{stderr}",
        output.status,
        shots.display()
    );
    println!("{stdout}");
    assert!(shots_taken > 0, "scenario {scenario} saved no screenshot in {}", shots.display());
}

/// rule W1 rule W3.2 rule T1 rule T3.2 rule T3.4 rule W4.1 rule W5.1 rule W6.1 rule W6.2: one
/// case from the queue number to delivery through the console, each step by its own role, the
/// intake form by keyboard alone.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn case_walk_from_queue_number_to_delivery() {
    let hall = start_node(PeerRole::Hall, "hall", "410184000", HALL_STAFF, Vec::new()).await;
    run_scenario("case-walk", &hall.base, HALL_STAFF).await;
    hall.node.shutdown().await;
}

/// rule O1: a township whose hall is unreachable shows the offline banner on its pages and
/// still takes applications.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn offline_banner_when_the_hall_is_unreachable() {
    // A loopback port that nothing listens on: bound for a moment, then released.
    let dead =
        std::net::UdpSocket::bind("127.0.0.1:0").and_then(|s| s.local_addr()).expect("a free loopback port");
    let town =
        start_node(PeerRole::Township, "town-a", "410184001", TOWN_STAFF, vec![("hall".to_string(), dead)])
            .await;
    // The node itself must say it is offline before the browser can show it.
    let started = Instant::now();
    let http = reqwest::Client::new();
    let login: serde_json::Value = http
        .post(format!("{}/api/v1/auth/login", town.base))
        .json(&serde_json::json!({ "staff": "clerk-a", "password": PASSWORD }))
        .send()
        .await
        .expect("login answered")
        .json()
        .await
        .expect("login JSON");
    let token = login["token"].as_str().expect("session token").to_string();
    loop {
        let status: serde_json::Value = http
            .get(format!("{}/api/v1/status", town.base))
            .bearer_auth(&token)
            .send()
            .await
            .expect("status answered")
            .json()
            .await
            .expect("status JSON");
        if status["offline"] == true {
            break;
        }
        assert!(
            started.elapsed() < Duration::from_millis(OFFLINE_WAIT_MS_MAX),
            "the township never reported itself offline with its hall unreachable: {status:#}"
        );
        tokio::time::sleep(Duration::from_millis(250)).await;
    }
    run_scenario("offline-banner", &town.base, TOWN_STAFF).await;
    town.node.shutdown().await;
}

/// Every page of every role's menu renders with the node's data only: no request leaves the
/// node, no console error; a screenshot of each.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn every_menu_page_of_every_role_renders_from_the_node_alone() {
    let hall = start_node(PeerRole::Hall, "hall", "410184000", HALL_STAFF, Vec::new()).await;
    seed_cases(&hall.base).await;
    run_scenario("pages", &hall.base, HALL_STAFF).await;
    hall.node.shutdown().await;
}
