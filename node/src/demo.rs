//! `yikou demo`: a hall and two township nodes on loopback, each with its own data directory,
//! certificates from one network CA, real QUIC with mutual TLS, the sample catalog and seeded
//! staff; then a scripted working day driven through each node's HTTP API:
//!
//! 1. intakes at both townships, one of them a tolerance acceptance with its commitment (T3.2);
//! 2. township A is cut off (its link to the hall goes through a user-space relay, partitioned);
//!    its window keeps taking applications (O1) while the hall works on A's earlier case;
//! 3. the link heals and every node converges (O3);
//! 4. the commitment's deadline passes (the demo moves its nodes' shared clock): supervision
//!    records a card (W9), the department denies the application (T3.6) and the hall lists the
//!    applicant as dishonest; the list reaches township B by sync, where tolerance acceptance for
//!    that applicant is now refused.
//!
//! Every step checks what it expects and the demo fails (exit code 1) with the step's name if
//! something does not happen within its time bound.

use std::net::SocketAddr;
use std::path::PathBuf;
use std::sync::Arc;
use std::time::{Duration, Instant};

use anyhow::{Context, Result, anyhow, bail};
use serde_json::{Value, json};

use crate::accounts::{AccountsConfig, Argon2Cost};
use crate::clock::Clock;
use crate::config::Config;
use crate::init::{Credentials, InitOptions, init};
use crate::pki::{Ca, PeerRole};
use crate::relay::{Impairment, Relay, RelayHandle};
use crate::server::{RunningNode, StartOptions};
use crate::service::Staff;

/// How long one scripted step waits for replication at most.
pub const STEP_WAIT_MS_MAX: u64 = 90_000;

/// The demo staff's password (printed: demo data only).
pub const DEMO_PASSWORD: &str = "yikou-demo-2026";

pub struct DemoOptions {
    pub dir: Option<PathBuf>,
    pub keep_running: bool,
}

struct NodeSpec {
    name: &'static str,
    role: PeerRole,
    scope: &'static str,
    label: &'static str,
    staff: &'static [(&'static str, &'static str, &'static str)],
}

const HALL: NodeSpec = NodeSpec {
    name: "hall",
    role: PeerRole::Hall,
    scope: "410184000",
    label: "县政务服务中心",
    staff: &[
        ("centre01", "周主任", "hall_centre"),
        ("bdc01", "吴审批", "department_reviewer:BDCDJ"),
        ("issue01", "郑发证", "issuing_window"),
        ("super01", "王监察", "supervisor"),
        ("audit01", "冯审计", "auditor"),
        ("clerk01", "陈窗口", "window_clerk"),
    ],
};

const TOWN_A: NodeSpec = NodeSpec {
    name: "town-a",
    role: PeerRole::Township,
    scope: "410184001",
    label: "城关镇便民服务中心",
    staff: &[("clerk-a", "李窗口", "window_clerk"), ("super-a", "赵监察", "supervisor")],
};

const TOWN_B: NodeSpec = NodeSpec {
    name: "town-b",
    role: PeerRole::Township,
    scope: "410184002",
    label: "新村镇便民服务中心",
    staff: &[("clerk-b", "孙窗口", "window_clerk")],
};

/// One node of the demo network.
struct DemoNode {
    spec: &'static NodeSpec,
    node: RunningNode,
    base: String,
    http: reqwest::Client,
}

impl DemoNode {
    async fn login(&self, staff: &str) -> Result<String> {
        let v = self
            .call(
                "POST",
                "/api/v1/auth/login",
                None,
                Some(json!({ "staff": staff, "password": DEMO_PASSWORD })),
            )
            .await?;
        v["token"]
            .as_str()
            .map(str::to_string)
            .ok_or_else(|| anyhow!("{} 登录 {staff} 未返回凭证", self.spec.name))
    }

    /// An application with every material present, received and accepted at once (W3.5).
    async fn intake_and_accept(&self, token: &str, (name, id): (&str, &str)) -> Result<String> {
        let body = intake_body(name, id, &ALL_MATERIALS);
        let answer = self.call("POST", "/api/v1/cases", Some(token), Some(body)).await?;
        let case = answer["case"]["id"].as_str().unwrap_or_default().to_string();
        let accept = Some(json!({ "presented": [] }));
        self.call("POST", &format!("/api/v1/cases/{case}/accept"), Some(token), accept).await?;
        Ok(case)
    }

    /// A request whose answer must be 2xx.
    async fn call(
        &self,
        method: &str,
        path: &str,
        token: Option<&str>,
        body: Option<Value>,
    ) -> Result<Value> {
        let (status, v) = self.try_call(method, path, token, body).await?;
        if !(200..300).contains(&status) {
            bail!("{} {method} {path} 返回 {status}:{}", self.spec.name, v);
        }
        Ok(v)
    }

    async fn try_call(
        &self,
        method: &str,
        path: &str,
        token: Option<&str>,
        body: Option<Value>,
    ) -> Result<(u16, Value)> {
        let method = reqwest::Method::from_bytes(method.as_bytes())?;
        let mut req = self.http.request(method, format!("{}{path}", self.base));
        if let Some(t) = token {
            req = req.bearer_auth(t);
        }
        if let Some(b) = body {
            req = req.json(&b);
        }
        let resp = req.send().await.with_context(|| format!("{} 无法访问 {path}", self.spec.name))?;
        let status = resp.status().as_u16();
        let bytes = resp.bytes().await?;
        let v = serde_json::from_slice(&bytes).unwrap_or(Value::Null);
        Ok((status, v))
    }
}

fn say(line: impl AsRef<str>) {
    println!("{}", line.as_ref());
}

/// Polls `check` until it gives `Some`, at most [`STEP_WAIT_MS_MAX`].
async fn wait_for<T, F, Fut>(what: &str, mut check: F) -> Result<(T, Duration)>
where
    F: FnMut() -> Fut,
    Fut: std::future::Future<Output = Option<T>>,
{
    let started = Instant::now();
    loop {
        if let Some(v) = check().await {
            return Ok((v, started.elapsed()));
        }
        if started.elapsed() > Duration::from_millis(STEP_WAIT_MS_MAX) {
            bail!("等待超时({} 秒):{what}", STEP_WAIT_MS_MAX / 1000);
        }
        tokio::time::sleep(Duration::from_millis(250)).await;
    }
}

async fn start_node(
    root: &std::path::Path,
    spec: &'static NodeSpec,
    ca_dir: &std::path::Path,
    peers: Vec<(String, SocketAddr)>,
    clock: &Arc<Clock>,
) -> Result<DemoNode> {
    let report = init(&InitOptions {
        dir: root.join(spec.name),
        name: spec.name.into(),
        role: spec.role,
        scope: spec.scope.into(),
        code: None,
        http: Some("127.0.0.1:0".into()),
        sync: Some("127.0.0.1:0".into()),
        peers: Vec::new(),
        credentials: Credentials::Ca(ca_dir.to_path_buf()),
    })?;
    let mut config: Config = report.config;
    config.sync.peers = peers
        .into_iter()
        .map(|(name, addr)| crate::config::PeerConfig { name, addr: addr.to_string() })
        .collect();
    // The demo's passwords are printed anyway; a light argon2 cost keeps its start quick.
    let options = StartOptions {
        clock: clock.clone(),
        accounts: AccountsConfig { argon2_cost: Argon2Cost::FAST_FOR_TESTS, ..AccountsConfig::default() },
    };
    let node = RunningNode::start(&config, options).await?;
    for (staff, name, role) in spec.staff {
        node.accounts.add(staff, name, crate::accounts::parse_role(role)?, DEMO_PASSWORD, clock.now_ms())?;
    }
    if spec.role == PeerRole::Hall {
        node.service.import_catalog(yikou_schema::catalog::SAMPLE_TOML)?;
    }
    let base = format!("http://{}", node.http_addr);
    let http = reqwest::Client::builder().timeout(Duration::from_secs(30)).build()?;
    Ok(DemoNode { spec, node, base, http })
}

fn intake_body(name: &str, id: &str, materials: &[&str]) -> Value {
    json!({
        "item": "BDC001",
        "applicant": { "id": id, "name": name, "phone": "13800000000" },
        "channel": { "channel": "township" },
        "presented": materials.iter().map(|c| json!({ "code": c, "condition": { "condition": "present" } })).collect::<Vec<_>>(),
    })
}

const ZHANG: (&str, &str) = ("张三", "11010519491231002X");
const LI: (&str, &str) = ("李四", "440524188001010014");
const WANG: (&str, &str) = ("王五", "110105195001010039");
const KEY_MATERIALS: [&str; 5] = ["M01", "M02", "M03", "M04", "M05"];
const ALL_MATERIALS: [&str; 6] = ["M01", "M02", "M03", "M04", "M05", "M06"];

/// Runs the demo network and its script.
pub async fn run(options: DemoOptions) -> Result<()> {
    let temp;
    let root = match &options.dir {
        Some(d) => {
            std::fs::create_dir_all(d)?;
            d.clone()
        }
        None => {
            temp = tempfile::Builder::new().prefix("yikou-demo-").tempdir()?;
            temp.path().to_path_buf()
        }
    };
    let started = Instant::now();
    say(format!("一口受理演示网络:数据目录 {}(演示时钟从 2026-03-10 09:00 开始)", root.display()));
    let ca_dir = root.join("ca");
    Ca::init(&ca_dir, "演示县政务服务网络 CA", std::time::SystemTime::now())?;
    // The demo's day is fixed (a Tuesday inside the built-in calendar's years), so that the script
    // runs the same whatever the date: the nodes' clock starts there and moves only forward.
    let clock = Arc::new(Clock::system());
    let start = chrono::NaiveDate::from_ymd_opt(2026, 3, 10)
        .and_then(|d| d.and_hms_opt(9, 0, 0))
        .ok_or_else(|| anyhow!("演示起始时间无效"))?;
    clock.advance_ms(yikou_schema::hlc::ms_from_local(start) - clock.now_ms());

    let hall = start_node(&root, &HALL, &ca_dir, Vec::new(), &clock).await?;
    let hall_sync = hall.node.sync_addr.ok_or_else(|| anyhow!("大厅节点未启动同步"))?;
    // Township A reaches the hall through a relay the demo can cut; B directly.
    let relay: RelayHandle =
        Relay::start("127.0.0.1:0".parse()?, hall_sync, Impairment::default(), 2026).await?;
    let town_a =
        start_node(&root, &TOWN_A, &ca_dir, vec![("hall".into(), relay.local_addr())], &clock).await?;
    let town_b = start_node(&root, &TOWN_B, &ca_dir, vec![("hall".into(), hall_sync)], &clock).await?;
    for n in [&hall, &town_a, &town_b] {
        say(format!("  {}({}):HTTP {}  同步 {:?}", n.spec.label, n.spec.name, n.base, n.node.sync_addr));
    }

    let result = script(&hall, &town_a, &town_b, &relay, &clock).await;
    match &result {
        Ok(()) => {
            say(format!("演示脚本完成,用时 {:.1} 秒,各节点数据一致。", started.elapsed().as_secs_f64()))
        }
        Err(e) => say(format!("演示脚本失败:{e:#}")),
    }
    if options.keep_running && result.is_ok() {
        say("节点保持运行(Ctrl-C 停止)。工作人员账户(密码均为 yikou-demo-2026):");
        for n in [&hall, &town_a, &town_b] {
            let staff: Vec<String> =
                n.spec.staff.iter().map(|(s, name, role)| format!("{s}({name},{role})")).collect();
            say(format!("  {} {}:{}", n.spec.name, n.base, staff.join("、")));
        }
        let _ = tokio::signal::ctrl_c().await;
    }
    for n in [town_a, town_b, hall] {
        n.node.shutdown().await;
    }
    relay.shutdown().await;
    result
}

async fn script(
    hall: &DemoNode,
    town_a: &DemoNode,
    town_b: &DemoNode,
    relay: &RelayHandle,
    clock: &Arc<Clock>,
) -> Result<()> {
    // 0. Townships receive the catalog from the hall.
    let clerk_a = town_a.login("clerk-a").await?;
    let clerk_b = town_b.login("clerk-b").await?;
    for (n, token) in [(town_a, &clerk_a), (town_b, &clerk_b)] {
        let (_, took) = wait_for(&format!("{} 收到事项清单", n.spec.name), || async {
            let (s, _) = n.try_call("GET", "/api/v1/catalog", Some(token), None).await.ok()?;
            (s == 200).then_some(())
        })
        .await?;
        say(format!("[同步] {} 从大厅收到事项清单({:.1} 秒)", n.spec.label, took.as_secs_f64()));
    }

    // 1. Intakes at both townships; one tolerance acceptance (T1–T3).
    let answer = town_a
        .call("POST", "/api/v1/cases", Some(&clerk_a), Some(intake_body(ZHANG.0, ZHANG.1, &KEY_MATERIALS)))
        .await?;
    let case1 = answer["case"]["id"].as_str().unwrap_or_default().to_string();
    if answer["eligibility"]["answer"] != "eligible" {
        bail!("办件 {case1} 应可容缺受理,实际:{}", answer["eligibility"]);
    }
    let latest = answer["eligibility"]["latest_deadline"]["at"].as_str().unwrap_or_default().to_string();
    say(format!("[城关镇] 接件 {case1}(张三,缺「M06」非关键材料):可容缺受理,承诺期限最迟 {latest}"));
    // A short promise (the next day), within the latest allowed (T3.3).
    let deadline = clock.now_local().date() + chrono::Duration::days(1);
    town_a
        .call(
            "POST",
            &format!("/api/v1/cases/{case1}/tolerance-accept"),
            Some(&clerk_a),
            Some(json!({ "presented": [], "commitment": {
                "materials": ["M06"], "deadline": deadline, "window": "城关镇便民服务中心综合窗口",
                "signed_by": { "by": "applicant" } } })),
        )
        .await?;
    say(format!("[城关镇] {case1} 容缺受理,承诺书三联已出具,承诺 {deadline} 前补交"));
    let case2 = town_a.intake_and_accept(&clerk_a, WANG).await?;
    say(format!("[城关镇] 接件并受理 {case2}(王五,材料齐全)"));
    let case3 = town_b.intake_and_accept(&clerk_b, LI).await?;
    say(format!("[新村镇] 接件并受理 {case3}(李四,材料齐全)"));

    let centre = hall.login("centre01").await?;
    let reviewer = hall.login("bdc01").await?;
    for id in [&case1, &case2, &case3] {
        let (_, took) = wait_for(&format!("大厅收到 {id}"), || async {
            let (s, _) =
                hall.try_call("GET", &format!("/api/v1/cases/{id}"), Some(&centre), None).await.ok()?;
            (s == 200).then_some(())
        })
        .await?;
        say(format!("[同步] 大厅收到 {id}({:.1} 秒)", took.as_secs_f64()));
    }

    // 2. Township A is cut off; its window keeps working (O1); the hall works on case 1.
    relay.partition(true);
    say("[网络] 城关镇与大厅之间的链路中断");
    let case4 = town_a.intake_and_accept(&clerk_a, LI).await?;
    say(format!("[城关镇] 断网期间照常接件并受理 {case4}(已保存在本节点,恢复联网后同步)"));
    hall.call(
        "POST",
        &format!("/api/v1/cases/{case1}/handover"),
        Some(&centre),
        Some(json!({ "department": "BDCDJ", "paper": false })),
    )
    .await?;
    hall.call(
        "POST",
        &format!("/api/v1/cases/{case1}/handover-sign"),
        Some(&reviewer),
        Some(json!({ "department": "BDCDJ" })),
    )
    .await?;
    say(format!("[大厅] {case1} 电子材料移交不动产登记部门并签收,进入审查"));
    let (status, _) = hall.try_call("GET", &format!("/api/v1/cases/{case4}"), Some(&centre), None).await?;
    if status != 404 {
        bail!("断网期间大厅不应已有 {case4}(返回 {status})");
    }

    // 3. The link heals; everything converges (O3).
    relay.partition(false);
    say("[网络] 链路恢复");
    let (_, took) = wait_for(&format!("大厅收到断网期间的 {case4}"), || async {
        let (s, _) =
            hall.try_call("GET", &format!("/api/v1/cases/{case4}"), Some(&centre), None).await.ok()?;
        (s == 200).then_some(())
    })
    .await?;
    say(format!("[同步] 大厅收到 {case4}({:.1} 秒)", took.as_secs_f64()));
    let (_, took) = wait_for(&format!("城关镇收到大厅对 {case1} 的办理"), || async {
        let (_, v) =
            town_a.try_call("GET", &format!("/api/v1/cases/{case1}"), Some(&clerk_a), None).await.ok()?;
        (v["state"]["phase"] == "in_review").then_some(())
    })
    .await?;
    say(format!("[同步] 城关镇看到 {case1} 已进入审查({:.1} 秒)", took.as_secs_f64()));

    // 4. The commitment lapses: a card, a denial, the dishonesty list at the other township.
    clock.advance_ms(3 * 24 * 3_600_000);
    say(format!("[时间] 三天过去({}),{case1} 的容缺材料仍未补交;工作人员重新登录", clock.now_local().date()));
    // Sessions last a working day: everyone logs in again.
    let centre = hall.login("centre01").await?;
    let reviewer = hall.login("bdc01").await?;
    let clerk_a = town_a.login("clerk-a").await?;
    let clerk_b = town_b.login("clerk-b").await?;
    let pass = town_a.node.service.supervise(&Staff::system(&town_a.node.service.info().name))?;
    say(format!("[电子监察] 城关镇记录红黄牌 {} 张", pass.cards_recorded));
    let (_, took) = wait_for(&format!("大厅看到 {case1} 的超期记录"), || async {
        let (_, v) =
            hall.try_call("GET", &format!("/api/v1/cases/{case1}"), Some(&centre), None).await.ok()?;
        let cards = v["state"]["cards"].as_array().map_or(0, Vec::len);
        (cards > 0 || pass.cards_recorded == 0).then_some(())
    })
    .await?;
    say(format!("[同步] 红黄牌记录到达大厅({:.1} 秒)", took.as_secs_f64()));
    hall.call(
        "POST",
        &format!("/api/v1/cases/{case1}/decision"),
        Some(&reviewer),
        Some(json!({ "outcome": { "outcome": "deny", "basis": "tolerance_lapsed",
            "reasons": ["申请人未在承诺期限内补交容缺材料(M06)"] } })),
    )
    .await?;
    say(format!("[大厅] 不动产登记部门对 {case1} 作出不予审批决定(逾期未补交),申请人张三列入失信名单一年"));
    let (_, took) = wait_for("新村镇收到失信名单", || async {
        let (_, v) = town_b.try_call("GET", "/api/v1/dishonesty", Some(&clerk_b), None).await.ok()?;
        let listed = v["entries"].as_array()?.iter().any(|e| e["case"] == case1.as_str());
        listed.then_some(())
    })
    .await?;
    say(format!("[同步] 新村镇收到更新后的失信名单({:.1} 秒)", took.as_secs_f64()));
    let answer = town_b
        .call("POST", "/api/v1/cases", Some(&clerk_b), Some(intake_body(ZHANG.0, ZHANG.1, &KEY_MATERIALS)))
        .await?;
    let case5 = answer["case"]["id"].as_str().unwrap_or_default().to_string();
    let reasons = answer["eligibility"]["reasons"].as_array().cloned().unwrap_or_default();
    let barred = reasons.iter().find(|r| r["code"] == "tolerance.dishonest_applicant");
    let Some(barred) = barred else {
        bail!("新村镇应拒绝张三的容缺受理,实际核验结果:{}", answer["eligibility"]);
    };
    say(format!("[新村镇] 接件 {case5}(张三):不能容缺受理 —— {}", barred["message"].as_str().unwrap_or("")));
    let (status, v) = town_b
        .try_call(
            "POST",
            &format!("/api/v1/cases/{case5}/tolerance-accept"),
            Some(&clerk_b),
            Some(json!({ "presented": [], "commitment": { "materials": ["M06"], "deadline": clock.now_local().date(),
                "window": "新村镇便民服务中心综合窗口", "signed_by": { "by": "applicant" } } })),
        )
        .await?;
    if status < 400 || v["rule"] != "T3.6" {
        bail!("新村镇的容缺受理应被拒绝(T3.6),实际 {status}:{v}");
    }
    say(format!(
        "[新村镇] 强行容缺受理被拒绝:{}(依据 {})",
        v["detail"].as_str().unwrap_or(""),
        v["rule"].as_str().unwrap_or("")
    ));

    // 5. Convergence: each shared case has the same state everywhere it lives (O3, O5).
    let auditor = hall.login("audit01").await?;
    for (n, token, ids) in
        [(town_a, &clerk_a, vec![&case1, &case2, &case4]), (town_b, &clerk_b, vec![&case3])]
    {
        for id in ids {
            let (_, took) = wait_for(&format!("{id} 在 {} 与大厅一致", n.spec.name), || async {
                let (_, here) = n
                    .try_call("GET", &format!("/api/v1/cases/{id}/timeline"), Some(token), None)
                    .await
                    .ok()?;
                let (_, there) = hall
                    .try_call("GET", &format!("/api/v1/cases/{id}/timeline"), Some(&auditor), None)
                    .await
                    .ok()?;
                (here == there && here.is_array()).then_some(())
            })
            .await?;
            let _ = took;
        }
    }
    let (s, _) = town_b.try_call("GET", &format!("/api/v1/cases/{case1}"), Some(&clerk_b), None).await?;
    if s != 404 {
        bail!("新村镇不应持有城关镇的办件 {case1}(O5)");
    }
    say("[核对] 各节点共有的办件记录完全一致;乡镇只持有本镇办件(O5)");
    Ok(())
}
