//! Load test of one node's HTTP API (`scripts/load.sh` runs it; docs/BENCHMARKS.md, "Load").
//!
//! `yikou-load [--clients 200] [--secs 60] [--seed-cases 1500] [--rate-limit]`:
//!
//! 1. starts one real node in this process (`server::RunningNode`: sled store in a temp data
//!    directory, the HTTP API on loopback, the supervision scheduler; replication off) on its own
//!    tokio runtime (threads `yk-node`), with the sample catalog and staff accounts (argon2 at its
//!    default cost), its clock set to a working morning (Tuesday 10 March 2026, 09:00) so that
//!    deadlines stay inside the built-in calendar whatever the date;
//! 2. seeds `--seed-cases` cases through the API (intake, accept, handover to BDCDJ), untimed:
//!    the reviewers' queue and the pool of ids the queries ask for;
//! 3. runs `--clients` clients for `--secs` seconds on another runtime (threads `yk-load`), each
//!    its own staff session and its own keep-alive HTTP/1.1 connection, one request at a time,
//!    no think time (closed loop: the throughput is what the node sustains with that many
//!    requests in flight). Three in four clients are window clerks, one in four BDCDJ reviewers.
//!    The mix holds over all requests started: 60 % queries (half a case by id, a quarter the
//!    list by phase, a quarter by applicant, 20 cases each), 25 % intakes, 7.5 % clerks' steps
//!    (accept its oldest received case, or hand an accepted one over to BDCDJ, which puts it in
//!    the reviewers' queue), 7.5 % reviewers' steps (decide a case it signed for, or sign for
//!    one from the queue). Each client runs next whichever class its role allows (and it has
//!    work for) that is furthest below its share of the requests started so far, or waits 2 ms
//!    if none is below (so slow intakes do not shift the mix towards fast queries: the
//!    throughput is what the node sustains at this mix); a step that finds nothing to act on
//!    (another reviewer took the last queued case) becomes a query, counted as `step_fallback`;
//! 4. prints throughput, latency p50/p90/p99/max per request kind, errors by HTTP status and
//!    problem code, and the processor time of the node and of the clients apart.
//!
//! The rate limiter (per client address; every client here is 127.0.0.1) is configured away
//! unless `--rate-limit` keeps the node's default; 429 answers are counted under their own code
//! either way.

#[global_allocator]
static ALLOCATOR: mimalloc::MiMalloc = mimalloc::MiMalloc;

use std::collections::{BTreeMap, VecDeque};
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use anyhow::{Context, Result, anyhow, bail};
use serde_json::{Value, json};
use yikou_node::accounts::{AccountsConfig, parse_role};
use yikou_node::clock::Clock;
use yikou_node::init::{Credentials, InitOptions, init};
use yikou_node::pki::PeerRole;
use yikou_node::server::{RunningNode, StartOptions};

const PASSWORD: &str = "yikou-load-2026";
/// Ids the queries draw from; beyond it, new ids replace random old ones.
const ID_POOL_MAX: usize = 50_000;
/// Cases handed over and waiting for a reviewer's signature.
const HANDED_QUEUE_MAX: usize = 100_000;
/// A client's own cases waiting for its next step.
const CLIENT_PENDING_MAX: usize = 1_000;
/// Latency samples one client keeps per request kind (a sorted vec per kind at the end).
const SAMPLES_PER_KIND_MAX: usize = 1_000_000;
/// Concurrent seeding tasks.
const SEED_TASKS: usize = 16;
/// Staff accounts per role (clients share them round-robin; each client logs in on its own).
const CLERK_ACCOUNTS: usize = 20;
const REVIEWER_ACCOUNTS: usize = 10;
const REQUEST_TIMEOUT_MS: u64 = 30_000;
/// How long a client whose classes are all above their share waits before it looks again…
const WAIT_MS: u64 = 2;
/// …and after how long it runs one anyway.
const WAITED_LONG_MS: u64 = 200;
/// How far above its share (as a fraction of all requests) a class may go.
const MIX_SLACK: f64 = 0.005;

const APPLICANTS: [(&str, &str); 3] =
    [("张三", "11010519491231002X"), ("李四", "440524188001010014"), ("王五", "110105195001010039")];
const PHASES: [&str; 3] = ["received", "accepted", "in_review"];

struct Opts {
    clients: usize,
    secs: u64,
    seed_cases: usize,
    rate_limit: bool,
}

/// What clients share: ids to query, cases waiting for a reviewer.
#[derive(Default)]
struct Shared {
    ids: Mutex<Vec<String>>,
    handed: Mutex<VecDeque<String>>,
    /// Requests started per [`Class`].
    started: [AtomicU64; 4],
}

/// The classes of the mix and their target shares of all requests.
#[derive(Clone, Copy, PartialEq, Debug)]
enum Class {
    Query,
    Intake,
    ClerkStep,
    ReviewerStep,
}

const MIX: [(Class, f64); 4] =
    [(Class::Query, 0.60), (Class::Intake, 0.25), (Class::ClerkStep, 0.075), (Class::ReviewerStep, 0.075)];

impl Shared {
    /// The class this client runs next: of those it can run now (`can`), the one furthest
    /// below its target share of all requests started so far; `None` while every class it can
    /// run is [`MIX_SLACK`] or more above its share (the client then waits a moment), so the mix
    /// holds over all clients whatever each kind's latency. A client that `waited_long` runs the
    /// furthest below of its classes anyway (no deadlock when the classes below their share are
    /// the ones nobody can run just then).
    fn choose(&self, can: impl Fn(Class) -> bool, waited_long: bool) -> Option<Class> {
        let counts: Vec<u64> = self.started.iter().map(|c| c.load(Ordering::Relaxed)).collect();
        let total = counts.iter().sum::<u64>().max(1) as f64;
        let mut best: Option<(Class, f64, usize)> = None;
        for (i, (class, share)) in MIX.iter().enumerate() {
            let deficit = share - counts[i] as f64 / total;
            let below = deficit > -MIX_SLACK || waited_long;
            if can(*class) && below && best.is_none_or(|b| deficit > b.1) {
                best = Some((*class, deficit, i));
            }
        }
        let (class, _, i) = best?;
        self.started[i].fetch_add(1, Ordering::Relaxed);
        Some(class)
    }

    fn handed_waiting(&self) -> bool {
        self.handed.lock().is_ok_and(|q| !q.is_empty())
    }

    fn add_id(&self, id: &str, rng: &mut Rng) {
        if let Ok(mut ids) = self.ids.lock() {
            if ids.len() < ID_POOL_MAX {
                ids.push(id.to_string());
            } else {
                let i = rng.below(ids.len());
                ids[i] = id.to_string();
            }
        }
    }

    fn random_id(&self, rng: &mut Rng) -> Option<String> {
        let ids = self.ids.lock().ok()?;
        (!ids.is_empty()).then(|| ids[rng.below(ids.len())].clone())
    }

    fn push_handed(&self, id: String) {
        if let Ok(mut q) = self.handed.lock()
            && q.len() < HANDED_QUEUE_MAX
        {
            q.push_back(id);
        }
    }

    fn pop_handed(&self) -> Option<String> {
        self.handed.lock().ok()?.pop_front()
    }
}

/// xorshift64*: enough randomness for a request mix, without another dependency.
struct Rng(u64);

impl Rng {
    fn new(seed: u64) -> Rng {
        Rng(seed.wrapping_mul(0x9E37_79B9_7F4A_7C15) | 1)
    }

    fn next(&mut self) -> u64 {
        self.0 ^= self.0 >> 12;
        self.0 ^= self.0 << 25;
        self.0 ^= self.0 >> 27;
        self.0.wrapping_mul(0x2545_F491_4F6C_DD1D)
    }

    fn below(&mut self, n: usize) -> usize {
        (self.next() % n.max(1) as u64) as usize
    }

    /// Uniform in [0, 1).
    fn unit(&mut self) -> f64 {
        (self.next() >> 11) as f64 / (1u64 << 53) as f64
    }
}

/// One client's connection and session.
struct Client {
    http: reqwest::Client,
    base: String,
    token: String,
}

/// An answer: status and body (JSON or Null).
struct Answer {
    status: u16,
    body: Value,
}

impl Client {
    async fn connect(base: &str, staff: &str) -> Result<Client> {
        let http = reqwest::Client::builder()
            .timeout(Duration::from_millis(REQUEST_TIMEOUT_MS))
            .pool_max_idle_per_host(1)
            .build()?;
        let mut c = Client { http, base: base.to_string(), token: String::new() };
        let a = c
            .send("POST", "/api/v1/auth/login", Some(json!({ "staff": staff, "password": PASSWORD })))
            .await?;
        c.token = a.body["token"]
            .as_str()
            .map(str::to_string)
            .ok_or_else(|| anyhow!("login {staff}: {} {}", a.status, a.body))?;
        Ok(c)
    }

    async fn send(&self, method: &str, path: &str, body: Option<Value>) -> Result<Answer> {
        let method = reqwest::Method::from_bytes(method.as_bytes())?;
        let mut req = self.http.request(method, format!("{}{path}", self.base));
        if !self.token.is_empty() {
            req = req.bearer_auth(&self.token);
        }
        if let Some(b) = body {
            req = req.json(&b);
        }
        let resp = req.send().await?;
        let status = resp.status().as_u16();
        let bytes = resp.bytes().await?;
        Ok(Answer { status, body: serde_json::from_slice(&bytes).unwrap_or(Value::Null) })
    }
}

fn intake_body(rng: &mut Rng) -> Value {
    let (name, id) = APPLICANTS[rng.below(APPLICANTS.len())];
    let presented: Vec<Value> = ["M01", "M02", "M03", "M04", "M05", "M06"]
        .iter()
        .map(|c| json!({ "code": c, "condition": { "condition": "present" } }))
        .collect();
    json!({
        "item": "BDC001",
        "applicant": { "id": id, "name": name, "phone": "13800000000" },
        "channel": { "channel": "hall" },
        "presented": presented,
    })
}

fn approve() -> Value {
    json!({ "outcome": { "outcome": "approve", "result": "准予登记,颁发不动产权证书" } })
}

/// Request kinds, in report order.
const KINDS: [&str; 9] = [
    "case_by_id",
    "list_by_phase",
    "list_by_applicant",
    "intake",
    "accept",
    "handover",
    "handover_sign",
    "decision",
    "step_fallback",
];

fn group(kind: &str) -> &'static str {
    match kind {
        "case_by_id" | "list_by_phase" | "list_by_applicant" | "step_fallback" => "query",
        "intake" => "intake",
        _ => "step",
    }
}

/// What one client measured.
#[derive(Default)]
struct Tally {
    /// Latency in µs of successful (2xx) requests, per kind.
    ok_us: BTreeMap<&'static str, Vec<u32>>,
    /// Refusals and failures: (kind, status, problem code) → count; status 0 = transport error.
    errors: BTreeMap<(&'static str, u16, String), u64>,
}

impl Tally {
    fn record(&mut self, kind: &'static str, started: Instant, answer: &Result<Answer>) -> bool {
        match answer {
            Ok(a) if (200..300).contains(&a.status) => {
                let v = self.ok_us.entry(kind).or_default();
                if v.len() < SAMPLES_PER_KIND_MAX {
                    v.push(started.elapsed().as_micros().min(u128::from(u32::MAX)) as u32);
                }
                true
            }
            Ok(a) => {
                let code = a.body["code"].as_str().unwrap_or("(no problem code)").to_string();
                *self.errors.entry((kind, a.status, code)).or_default() += 1;
                false
            }
            Err(e) => {
                let what = if e.to_string().contains("timed out") { "timeout" } else { "transport" };
                *self.errors.entry((kind, 0, what.to_string())).or_default() += 1;
                false
            }
        }
    }
}

#[derive(Clone, Copy, PartialEq)]
enum Desk {
    Clerk,
    Reviewer,
}

/// One client's loop until `until`.
async fn run_client(client: Client, desk: Desk, seed: u64, shared: Arc<Shared>, until: Instant) -> Tally {
    let mut rng = Rng::new(seed);
    let mut tally = Tally::default();
    // Clerk: received cases to accept, accepted ones to hand over. Reviewer: signed, to decide.
    let mut received: VecDeque<String> = VecDeque::new();
    let mut accepted: VecDeque<String> = VecDeque::new();
    let mut signed: VecDeque<String> = VecDeque::new();
    let mut waiting_since: Option<Instant> = None;
    while Instant::now() < until {
        let can = |c: Class| match (desk, c) {
            (_, Class::Query) => true,
            (Desk::Clerk, Class::Intake) => true,
            (Desk::Clerk, Class::ClerkStep) => !(received.is_empty() && accepted.is_empty()),
            (Desk::Reviewer, Class::ReviewerStep) => !signed.is_empty() || shared.handed_waiting(),
            _ => false,
        };
        let waited_long = waiting_since.is_some_and(|t| t.elapsed() >= Duration::from_millis(WAITED_LONG_MS));
        let Some(class) = shared.choose(can, waited_long) else {
            waiting_since.get_or_insert_with(Instant::now);
            tokio::time::sleep(Duration::from_millis(WAIT_MS)).await;
            continue;
        };
        waiting_since = None;
        let started = Instant::now();
        match class {
            Class::Query => query(&client, &shared, &mut rng, &mut tally, None).await,
            Class::Intake => {
                let a = client.send("POST", "/api/v1/cases", Some(intake_body(&mut rng))).await;
                if tally.record("intake", started, &a)
                    && let Some(id) = a.ok().and_then(|a| a.body["case"]["id"].as_str().map(str::to_string))
                {
                    shared.add_id(&id, &mut rng);
                    if received.len() < CLIENT_PENDING_MAX {
                        received.push_back(id);
                    }
                }
            }
            // Hand over what was accepted first, so that cases flow on to the reviewers.
            Class::ClerkStep => {
                if let Some(id) = accepted.pop_front() {
                    let body = json!({ "department": "BDCDJ", "paper": true });
                    let a = client.send("POST", &format!("/api/v1/cases/{id}/handover"), Some(body)).await;
                    if tally.record("handover", started, &a) {
                        shared.push_handed(id);
                    }
                } else if let Some(id) = received.pop_front() {
                    let body = json!({ "presented": [] });
                    let a = client.send("POST", &format!("/api/v1/cases/{id}/accept"), Some(body)).await;
                    if tally.record("accept", started, &a) {
                        accepted.push_back(id);
                    }
                } else {
                    query(&client, &shared, &mut rng, &mut tally, Some("step_fallback")).await;
                }
            }
            Class::ReviewerStep => {
                if let Some(id) = signed.pop_front() {
                    let a =
                        client.send("POST", &format!("/api/v1/cases/{id}/decision"), Some(approve())).await;
                    tally.record("decision", started, &a);
                } else if let Some(id) = shared.pop_handed() {
                    let body = json!({ "department": "BDCDJ" });
                    let a =
                        client.send("POST", &format!("/api/v1/cases/{id}/handover-sign"), Some(body)).await;
                    if tally.record("handover_sign", started, &a) {
                        signed.push_back(id);
                    }
                } else {
                    query(&client, &shared, &mut rng, &mut tally, Some("step_fallback")).await;
                }
            }
        }
    }
    tally
}

/// One query: half a case by id, a quarter a list by phase, a quarter a list by applicant
/// (20 cases each). `as_kind` files it under another kind (the reviewers' fallback).
async fn query(
    client: &Client,
    shared: &Shared,
    rng: &mut Rng,
    tally: &mut Tally,
    as_kind: Option<&'static str>,
) {
    let started = Instant::now();
    let draw = rng.unit();
    let (kind, path) = if draw < 0.5
        && let Some(id) = shared.random_id(rng)
    {
        ("case_by_id", format!("/api/v1/cases/{id}"))
    } else if draw < 0.75 {
        ("list_by_phase", format!("/api/v1/cases?phase={}&limit=20", PHASES[rng.below(PHASES.len())]))
    } else {
        ("list_by_applicant", format!("/api/v1/cases?applicant={}&limit=20", APPLICANTS[rng.below(3)].1))
    };
    let a = client.send("GET", &path, None).await;
    tally.record(as_kind.unwrap_or(kind), started, &a);
}

/// Seeds `n` cases through the API: intake, accept, handover (untimed).
async fn seed(base: &str, n: usize, shared: &Arc<Shared>) -> Result<()> {
    let next = Arc::new(std::sync::atomic::AtomicUsize::new(0));
    let mut tasks = Vec::new();
    for t in 0..SEED_TASKS {
        let (base, next, shared) = (base.to_string(), next.clone(), shared.clone());
        tasks.push(tokio::spawn(async move {
            let c = Client::connect(&base, &format!("clerk{:02}", t % CLERK_ACCOUNTS)).await?;
            let mut rng = Rng::new(1_000 + t as u64);
            while next.fetch_add(1, Ordering::Relaxed) < n {
                let a = c.send("POST", "/api/v1/cases", Some(intake_body(&mut rng))).await?;
                let id = a.body["case"]["id"]
                    .as_str()
                    .map(str::to_string)
                    .ok_or_else(|| anyhow!("seed intake: {} {}", a.status, a.body))?;
                for (step, body) in [
                    ("accept", json!({ "presented": [] })),
                    ("handover", json!({ "department": "BDCDJ", "paper": true })),
                ] {
                    let a = c.send("POST", &format!("/api/v1/cases/{id}/{step}"), Some(body)).await?;
                    if a.status != 200 {
                        bail!("seed {step}: {} {}", a.status, a.body);
                    }
                }
                shared.add_id(&id, &mut rng);
                shared.push_handed(id);
            }
            Ok::<(), anyhow::Error>(())
        }));
    }
    for t in tasks {
        t.await??;
    }
    Ok(())
}

/// Processor seconds (user + system) of this process's threads, split by whether the thread's
/// name starts with `prefix` (threads that ended are counted in the process total only).
fn cpu_split(prefix: &str) -> (f64, f64) {
    let ticks = |stat: &str| -> Option<(String, f64)> {
        let open = stat.find('(')?;
        let close = stat.rfind(')')?;
        let name = stat.get(open + 1..close)?.to_string();
        let rest: Vec<&str> = stat.get(close + 1..)?.split_whitespace().collect();
        Some((name, rest.get(11)?.parse::<f64>().ok()? + rest.get(12)?.parse::<f64>().ok()?))
    };
    let total = std::fs::read_to_string("/proc/self/stat").ok().and_then(|s| ticks(&s)).map_or(0.0, |t| t.1);
    let mut matching = 0.0;
    if let Ok(dir) = std::fs::read_dir("/proc/self/task") {
        for e in dir.flatten() {
            if let Some((name, t)) =
                std::fs::read_to_string(e.path().join("stat")).ok().and_then(|s| ticks(&s))
                && name.starts_with(prefix)
            {
                matching += t;
            }
        }
    }
    (total / 100.0, matching / 100.0)
}

fn vm_hwm_kb() -> u64 {
    std::fs::read_to_string("/proc/self/status")
        .ok()
        .and_then(|s| {
            s.lines()
                .find_map(|l| l.strip_prefix("VmHWM:"))
                .and_then(|v| v.trim().trim_end_matches(" kB").trim().parse().ok())
        })
        .unwrap_or(0)
}

fn pct(sorted: &[u32], p: f64) -> f64 {
    if sorted.is_empty() {
        return 0.0;
    }
    let i = ((sorted.len() as f64 * p).ceil() as usize).clamp(1, sorted.len()) - 1;
    f64::from(sorted[i]) / 1000.0
}

fn main() -> Result<()> {
    let args: Vec<String> = std::env::args().collect();
    let value = |f: &str| -> Result<Option<u64>> {
        match args.iter().position(|a| a == f) {
            Some(i) => Ok(Some(args.get(i + 1).context("a number")?.parse().context("not a number")?)),
            None => Ok(None),
        }
    };
    if args.iter().any(|a| a == "--help" || a == "-h") {
        println!("usage: yikou-load [--clients 200] [--secs 60] [--seed-cases 1500] [--rate-limit]");
        return Ok(());
    }
    let o = Opts {
        clients: value("--clients")?.unwrap_or(200) as usize,
        secs: value("--secs")?.unwrap_or(60),
        seed_cases: value("--seed-cases")?.unwrap_or(1_500) as usize,
        rate_limit: args.iter().any(|a| a == "--rate-limit"),
    };
    let node_rt = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .thread_name("yk-node")
        .enable_all()
        .build()?;
    let load_rt = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .thread_name("yk-load")
        .enable_all()
        .build()?;

    let dir = tempfile::Builder::new().prefix("yikou-load.").tempdir()?;
    let report = init(&InitOptions {
        dir: dir.path().join("hall"),
        name: "hall".into(),
        role: PeerRole::Hall,
        scope: "410184000".into(),
        code: None,
        http: Some("127.0.0.1:0".into()),
        sync: Some("127.0.0.1:0".into()),
        peers: Vec::new(),
        credentials: Credentials::SelfSigned,
    })?;
    let mut config = report.config;
    config.sync.enabled = false;
    if !o.rate_limit {
        // The largest limits the configuration allows: far above what 2 cores answer.
        config.http.requests_per_second = 100_000;
        config.http.burst = 1_000_000;
    }
    let clock = Arc::new(Clock::system());
    let start = chrono::NaiveDate::from_ymd_opt(2026, 3, 10)
        .and_then(|d| d.and_hms_opt(9, 0, 0))
        .context("start moment")?;
    clock.advance_ms(yikou_schema::hlc::ms_from_local(start) - clock.now_ms());
    let options = StartOptions { clock: clock.clone(), accounts: AccountsConfig::default() };
    let node = node_rt.block_on(RunningNode::start(&config, options))?;
    node.service.import_catalog(yikou_schema::catalog::SAMPLE_TOML)?;
    for i in 0..CLERK_ACCOUNTS {
        let role = parse_role("window_clerk")?;
        node.accounts.add(&format!("clerk{i:02}"), "窗口", role, PASSWORD, clock.now_ms())?;
    }
    for i in 0..REVIEWER_ACCOUNTS {
        let role = parse_role("department_reviewer:BDCDJ")?;
        node.accounts.add(&format!("bdc{i:02}"), "审批", role, PASSWORD, clock.now_ms())?;
    }
    let base = format!("http://{}", node.http_addr);
    println!(
        "== yikou-load: {} clients for {} s against {base}; rate limiter {}; {} cores (nproc)",
        o.clients,
        o.secs,
        if o.rate_limit { "at the node's default" } else { "configured away" },
        std::thread::available_parallelism().map_or(0, |n| n.get())
    );

    let shared = Arc::new(Shared::default());
    let t = Instant::now();
    load_rt.block_on(seed(&base, o.seed_cases, &shared))?;
    println!(
        "seeded {} cases (intake, accept, handover) in {:.1} s",
        o.seed_cases,
        t.elapsed().as_secs_f64()
    );

    // Log every client in before the clock starts (argon2 at its default cost).
    let t = Instant::now();
    let clients: Vec<(Client, Desk)> = load_rt.block_on(async {
        let mut handles = Vec::new();
        for i in 0..o.clients {
            let base = base.clone();
            handles.push(tokio::spawn(async move {
                let (desk, staff) = if i % 4 == 3 {
                    (Desk::Reviewer, format!("bdc{:02}", (i / 4) % REVIEWER_ACCOUNTS))
                } else {
                    (Desk::Clerk, format!("clerk{:02}", i % CLERK_ACCOUNTS))
                };
                Ok::<_, anyhow::Error>((Client::connect(&base, &staff).await?, desk))
            }));
        }
        let mut out = Vec::new();
        for h in handles {
            out.push(h.await??);
        }
        Ok::<_, anyhow::Error>(out)
    })?;
    println!("{} clients logged in in {:.1} s", clients.len(), t.elapsed().as_secs_f64());

    // The peak of the run only (200 logins at argon2's default cost take ~19 MiB each at once).
    let _ = std::fs::write("/proc/self/clear_refs", "5");
    let (cpu0, load_cpu0) = cpu_split("yk-load");
    let started = Instant::now();
    let until = started + Duration::from_secs(o.secs);
    let tallies: Vec<Tally> = load_rt.block_on(async {
        let handles: Vec<_> = clients
            .into_iter()
            .enumerate()
            .map(|(i, (c, desk))| tokio::spawn(run_client(c, desk, i as u64 + 1, shared.clone(), until)))
            .collect();
        let mut out = Vec::new();
        for h in handles {
            out.push(h.await.map_err(|e| anyhow!("client task: {e}"))?);
        }
        Ok::<_, anyhow::Error>(out)
    })?;
    let wall = started.elapsed().as_secs_f64();
    let (cpu1, load_cpu1) = cpu_split("yk-load");
    let (cpu, load_cpu) = (cpu1 - cpu0, load_cpu1 - load_cpu0);

    // Merge.
    let mut ok: BTreeMap<&str, Vec<u32>> = BTreeMap::new();
    let mut errors: BTreeMap<(&str, u16, String), u64> = BTreeMap::new();
    for t in tallies {
        for (k, v) in t.ok_us {
            ok.entry(k).or_default().extend(v);
        }
        for (k, n) in t.errors {
            *errors.entry(k).or_default() += n;
        }
    }
    let mut groups: BTreeMap<&str, Vec<u32>> = BTreeMap::new();
    let mut all: Vec<u32> = Vec::new();
    for (k, v) in ok.iter_mut() {
        v.sort_unstable();
        groups.entry(group(k)).or_default().extend(v.iter().copied());
        all.extend(v.iter().copied());
    }
    for v in groups.values_mut() {
        v.sort_unstable();
    }
    all.sort_unstable();
    let failed: u64 = errors.values().sum();
    let done = all.len() as u64 + failed;

    println!(
        "\n{} requests in {wall:.1} s: **{:.0} requests/s** answered 2xx, {failed} not 2xx ({:.2} %)",
        done,
        all.len() as f64 / wall,
        failed as f64 * 100.0 / done.max(1) as f64
    );
    println!(
        "processor: {cpu:.1} s in {wall:.1} s = {:.2} cores busy; the clients (threads yk-load) {load_cpu:.1} s, the node {:.1} s ({:.2} cores, {:.0} µs per request); peak RSS of the process during the run {} MiB",
        cpu / wall,
        cpu - load_cpu,
        (cpu - load_cpu) / wall,
        (cpu - load_cpu) * 1e6 / done.max(1) as f64,
        vm_hwm_kb() / 1024
    );
    println!("\n| request | share | answered 2xx | per second | p50 ms | p90 ms | p99 ms | max ms |");
    println!("|---|---|---|---|---|---|---|---|");
    let row = |name: &str, v: &[u32]| {
        println!(
            "| {name} | {:.1} % | {} | {:.0} | {:.1} | {:.1} | {:.1} | {:.1} |",
            v.len() as f64 * 100.0 / done.max(1) as f64,
            v.len(),
            v.len() as f64 / wall,
            pct(v, 0.50),
            pct(v, 0.90),
            pct(v, 0.99),
            pct(v, 1.0)
        );
    };
    for k in KINDS {
        if let Some(v) = ok.get(k) {
            row(&format!("`{k}`"), v);
        }
    }
    for g in ["query", "intake", "step"] {
        if let Some(v) = groups.get(g) {
            row(&format!("**all {g}**"), v);
        }
    }
    row("**all**", &all);
    if errors.is_empty() {
        println!("\nno request answered other than 2xx");
    } else {
        println!("\n| request | status | code | count |\n|---|---|---|---|");
        for ((k, status, code), n) in &errors {
            let status = if *status == 0 { "—".to_string() } else { status.to_string() };
            println!("| `{k}` | {status} | `{code}` | {n} |");
        }
    }
    node_rt.block_on(node.shutdown());
    drop(load_rt);
    drop(node_rt);
    Ok(())
}
