//! The real-process fault suite (issue 7): real `yikou run` processes — a hall and townships,
//! each with its own data directory and certificate from one network CA — connected through
//! user-space lossy relays (`yikou_node::relay`, in this process), intake driven through HTTP by
//! several concurrent clients, a fault injected, and then a check through the API that every case
//! the API acknowledged (201) exists everywhere it should with the same timeline.
//!
//! Usage: `yikou-faults [--ci] [--scenario NAME|all]... [--seed N] [--keep]` (`scripts/faults.sh`
//! builds and runs it). Prints one table line per scenario — acknowledged cases, cases found at
//! every node they belong to, time to converge — and exits 1 on any loss, divergence, or
//! convergence beyond the scenario's bound. The `yikou` binary is taken from the directory of
//! this one. Not part of the product.
//!
//! Where a case belongs: a township's case at that township and at the hall, a hall's case at the
//! hall (townships hold only their own cases, O5). "Converged": every acknowledged case is
//! present at each of its nodes, its timelines there are identical, they hold every acknowledged
//! step in causal order (received, accepted, handed over), timed from the end of the fault.

use std::collections::{BTreeMap, BTreeSet};
use std::io::{BufRead, Write as _};
use std::net::SocketAddr;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex, MutexGuard, PoisonError};
use std::time::{Duration, Instant};

use anyhow::{Context, Result, anyhow, bail};
use clap::Parser;
use serde_json::{Value, json};
use tokio::sync::watch;
use tokio::task::JoinHandle;
use yikou_node::relay::{Impairment, Relay, RelayHandle};

/// Every staff account's password (test data).
const PASSWORD: &str = "yikou-faults-2026";
/// How long a started node may take to answer `/healthz`.
const HEALTH_WAIT_MS_MAX: u64 = 60_000;
/// Convergence bound of a scenario over a clean (healed) link.
const CONVERGE_MS_MAX: u64 = 120_000;
/// Convergence bound while the link stays lossy (30 % loss, 300 ms, 1 Mbit/s).
const CONVERGE_LOSSY_MS_MAX: u64 = 300_000;
/// Convergence bound after a township is killed and restarted: below the QUIC idle timeout
/// (`pki::IDLE_TIMEOUT_MS`, 30 s), so that a hall that shuts the restarted township out until its
/// stale session times out fails the scenario (found by this suite; net.rs now replaces the
/// stale session).
const CONVERGE_AFTER_RESTART_MS_MAX: u64 = 25_000;
/// Pause between two convergence checks.
const POLL_MS: u64 = 250;
/// Acknowledged cases per scenario at most (below the API's list page of 1,000, so that one list
/// request shows every case a node holds).
const CASES_PER_SCENARIO_MAX: usize = 900;
/// The page asked of `GET /api/v1/cases`.
const LIST_LIMIT: usize = 1_000;
/// Timeline requests in flight at once while verifying.
const VERIFY_CONCURRENCY_MAX: usize = 8;
/// One HTTP request's bound.
const REQUEST_TIMEOUT_MS: u64 = 30_000;
/// A node asked to stop (SIGTERM) is killed after this long.
const STOP_WAIT_MS_MAX: u64 = 15_000;
/// Problems listed per scenario at most (the rest are counted).
const PROBLEMS_SHOWN_MAX: usize = 12;
/// Lines of a node's log printed when it fails to start.
const LOG_TAIL_LINES: usize = 20;
/// Requests-per-second limit written into each node's yikou.toml: every client of the suite comes
/// from 127.0.0.1, so the product's per-address default (50/s) would throttle the load itself.
const SUITE_REQUESTS_PER_SECOND: u32 = 100_000;

const HALL: Spec = Spec { name: "hall", role: "hall", scope: "410184000" };
const TOWN_A: Spec = Spec { name: "town-a", role: "township", scope: "410184001" };
const TOWN_B: Spec = Spec { name: "town-b", role: "township", scope: "410184002" };

/// Applicants of the load (valid resident ID numbers, test data).
const APPLICANTS: [(&str, &str); 2] = [("李四", "440524188001010014"), ("王五", "110105195001010039")];
/// Every material of item BDC001 (complete: accepted at once, W3.5).
const ALL_MATERIALS: [&str; 6] = ["M01", "M02", "M03", "M04", "M05", "M06"];

const SCENARIOS: [&str; 8] =
    ["partition", "kill-hall", "loss", "kill-township", "dup-reorder", "clock-skew", "full-disk", "restore"];
const CI_SCENARIOS: [&str; 3] = ["partition", "kill-hall", "loss"];

#[derive(Parser, Debug)]
#[command(name = "yikou-faults", about = "Real-process fault suite: yikou nodes over lossy relays")]
struct Args {
    /// A scenario to run (repeatable), or `all`. Default: all (or the CI set with --ci).
    #[arg(long = "scenario", value_name = "NAME")]
    scenarios: Vec<String>,
    /// The short set for CI (partition, kill-hall, loss) with shorter phases.
    #[arg(long)]
    ci: bool,
    /// Seed of the relays' decisions and of the load's choices (default: $YIKOU_SEED, else from
    /// the time).
    #[arg(long)]
    seed: Option<u64>,
    /// full-disk: use the file-size limit (RLIMIT_FSIZE) even where a small filesystem can be
    /// mounted.
    #[arg(long)]
    no_mount: bool,
    /// Keep every scenario's directory (a failed scenario's is always kept).
    #[arg(long)]
    keep: bool,
}

#[derive(Clone, Copy)]
struct Spec {
    name: &'static str,
    role: &'static str,
    scope: &'static str,
}

impl Spec {
    fn is_hall(&self) -> bool {
        self.role == "hall"
    }

    /// (staff, display name, role) of the node's accounts.
    fn staff(&self) -> &'static [(&'static str, &'static str, &'static str)] {
        if self.is_hall() {
            &[("clerk", "陈窗口", "window_clerk"), ("centre", "周主任", "hall_centre")]
        } else {
            &[("clerk", "李窗口", "window_clerk")]
        }
    }

    /// The account that reads cases when verifying.
    fn reader(&self) -> &'static str {
        if self.is_hall() { "centre" } else { "clerk" }
    }
}

fn lock<T>(m: &Mutex<T>) -> MutexGuard<'_, T> {
    m.lock().unwrap_or_else(PoisonError::into_inner)
}

/// Phase lengths: CI keeps each scenario within a minute or so on 2 cores.
#[derive(Clone, Copy)]
struct Timing {
    /// Intake before the fault.
    warmup_ms: u64,
    /// Intake during the fault (the partitioned "day", the load around a kill…).
    fault_ms: u64,
    /// Pause between two intakes of one client.
    pace_ms: u64,
}

// ---------------------------------------------------------------------------------------------
// HTTP

/// One node's API as a client sees it.
#[derive(Clone)]
struct Api {
    http: reqwest::Client,
    base: String,
    node: &'static str,
}

impl Api {
    /// `Err` only when no answer came (connection refused or reset, timeout).
    async fn call(
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
        let resp = req.send().await.with_context(|| format!("{} {path}: no answer", self.node))?;
        let status = resp.status().as_u16();
        let bytes = resp.bytes().await?;
        Ok((status, serde_json::from_slice(&bytes).unwrap_or(Value::Null)))
    }

    async fn login(&self, staff: &str) -> Result<String> {
        let (status, v) = self
            .call("POST", "/api/v1/auth/login", None, Some(json!({ "staff": staff, "password": PASSWORD })))
            .await?;
        match v["token"].as_str() {
            Some(t) if status == 200 => Ok(t.to_string()),
            _ => bail!("{}: login {staff} answered {status}: {v}", self.node),
        }
    }

    async fn healthy(&self) -> bool {
        matches!(self.call("GET", "/healthz", None, None).await, Ok((200, _)))
    }
}

// ---------------------------------------------------------------------------------------------
// Node processes

/// A `yikou run` process and what it needs to be started again.
struct Proc {
    spec: Spec,
    dir: PathBuf,
    http_addr: SocketAddr,
    sync_addr: SocketAddr,
    /// (peer name, address) written into yikou.toml at init.
    peers: Vec<(String, SocketAddr)>,
    env: Vec<(String, String)>,
    /// RLIMIT_FSIZE for the process (the full-disk fallback).
    file_size_limit_bytes: Option<u64>,
    child: Option<Child>,
    log: PathBuf,
    api: Api,
}

impl Proc {
    /// Still running?
    fn alive(&mut self) -> bool {
        self.child.as_mut().is_some_and(|c| matches!(c.try_wait(), Ok(None)))
    }
}

impl Drop for Proc {
    /// A scenario that fails half-way leaves no node running.
    fn drop(&mut self) {
        if let Some(child) = &mut self.child {
            let _ = child.kill();
            let _ = child.wait();
        }
    }
}

/// Runs one `yikou` command to its end; its output on success.
async fn yikou(bin: &Path, args: Vec<String>, stdin: Option<String>) -> Result<String> {
    let bin = bin.to_path_buf();
    tokio::task::spawn_blocking(move || {
        let mut cmd = Command::new(&bin);
        cmd.args(&args).stdout(Stdio::piped()).stderr(Stdio::piped());
        cmd.stdin(if stdin.is_some() { Stdio::piped() } else { Stdio::null() });
        let mut child = cmd.spawn().with_context(|| format!("cannot run {}", bin.display()))?;
        if let (Some(text), Some(mut input)) = (stdin, child.stdin.take()) {
            input.write_all(text.as_bytes())?;
        }
        let out = child.wait_with_output()?;
        if !out.status.success() {
            bail!(
                "yikou {} failed ({}): {}{}",
                args.join(" "),
                out.status,
                String::from_utf8_lossy(&out.stdout),
                String::from_utf8_lossy(&out.stderr)
            );
        }
        Ok(String::from_utf8_lossy(&out.stdout).into_owned())
    })
    .await?
}

/// Copies a child's output into its log file, line by line, from a thread of its own (a pipe, not
/// the file itself, so that a file-size limit on the node does not cut its log).
fn copy_to_log(source: impl std::io::Read + Send + 'static, log: &Path, tag: &'static str) {
    let log = log.to_path_buf();
    std::thread::spawn(move || {
        let Ok(mut file) = std::fs::OpenOptions::new().create(true).append(true).open(&log) else {
            return;
        };
        for line in std::io::BufReader::new(source).lines() {
            let Ok(line) = line else { break };
            let _ = writeln!(file, "{tag} {line}");
        }
    });
}

fn free_ports() -> Result<(SocketAddr, SocketAddr)> {
    // The OS picks free ports; they are released at once and written into the node's config (a
    // fixed pair, so that a node restarted after a kill is found at the same addresses).
    let tcp = std::net::TcpListener::bind("127.0.0.1:0")?;
    let udp = std::net::UdpSocket::bind("127.0.0.1:0")?;
    Ok((tcp.local_addr()?, udp.local_addr()?))
}

fn tail(path: &Path, lines: usize) -> String {
    let text = std::fs::read_to_string(path).unwrap_or_default();
    let all: Vec<&str> = text.lines().collect();
    all[all.len().saturating_sub(lines)..].join("\n")
}

// ---------------------------------------------------------------------------------------------
// The network of one scenario

struct Net {
    bin: PathBuf,
    root: PathBuf,
    ca: PathBuf,
    nodes: Vec<Proc>,
    /// Township name → the relay between it and the hall.
    relays: BTreeMap<&'static str, RelayHandle>,
    http: reqwest::Client,
    seed: u64,
}

/// How one node of a scenario differs from the plain setup.
#[derive(Default, Clone)]
struct NodeOptions {
    env: Vec<(String, String)>,
    /// The data directory (default: `<root>/<name>`).
    dir: Option<PathBuf>,
    file_size_limit_bytes: Option<u64>,
}

impl Net {
    async fn new(bin: &Path, root: &Path, seed: u64) -> Result<Net> {
        let ca = root.join("ca");
        yikou(
            bin,
            vec!["ca".into(), "init".into(), path_arg(&ca), "--name".into(), "故障测试县 CA".into()],
            None,
        )
        .await?;
        let http = reqwest::Client::builder().timeout(Duration::from_millis(REQUEST_TIMEOUT_MS)).build()?;
        Ok(Net {
            bin: bin.to_path_buf(),
            root: root.to_path_buf(),
            ca,
            nodes: Vec::new(),
            relays: BTreeMap::new(),
            http,
            seed,
        })
    }

    /// A hall and the given townships, each township behind its own relay (a perfect link at
    /// first), all started.
    async fn standard(bin: &Path, root: &Path, seed: u64, towns: &[(Spec, NodeOptions)]) -> Result<Net> {
        let mut net = Net::new(bin, root, seed).await?;
        net.add(HALL, NodeOptions::default()).await?;
        for (spec, options) in towns {
            net.add(*spec, options.clone()).await?;
        }
        Ok(net)
    }

    fn node(&self, name: &str) -> Result<&Proc> {
        self.nodes.iter().find(|n| n.spec.name == name).ok_or_else(|| anyhow!("no node {name}"))
    }

    fn node_mut(&mut self, name: &str) -> Result<&mut Proc> {
        self.nodes.iter_mut().find(|n| n.spec.name == name).ok_or_else(|| anyhow!("no node {name}"))
    }

    fn api(&self, name: &str) -> Result<Api> {
        Ok(self.node(name)?.api.clone())
    }

    fn relay(&self, town: &str) -> Result<&RelayHandle> {
        self.relays.get(town).ok_or_else(|| anyhow!("no relay for {town}"))
    }

    /// Initialises a node (a township gets a relay to the hall first) and starts it.
    async fn add(&mut self, spec: Spec, options: NodeOptions) -> Result<()> {
        let (http_addr, sync_addr) = free_ports()?;
        let mut peers = Vec::new();
        if !spec.is_hall() {
            let hall_sync = self.node(HALL.name)?.sync_addr;
            let index = self.relays.len() as u64 + 1;
            let relay = Relay::start(
                "127.0.0.1:0".parse()?,
                hall_sync,
                Impairment::default(),
                self.seed.wrapping_mul(31).wrapping_add(index),
            )
            .await?;
            peers.push((HALL.name.to_string(), relay.local_addr()));
            self.relays.insert(spec.name, relay);
        }
        let dir = options.dir.clone().unwrap_or_else(|| self.root.join(spec.name));
        let api = Api { http: self.http.clone(), base: format!("http://{http_addr}"), node: spec.name };
        let mut proc = Proc {
            spec,
            dir,
            http_addr,
            sync_addr,
            peers,
            env: options.env,
            file_size_limit_bytes: options.file_size_limit_bytes,
            child: None,
            log: self.root.join(format!("{}.log", spec.name)),
            api,
        };
        self.init_dir(&proc).await?;
        for (staff, name, role) in spec.staff() {
            let args = vec![
                "user".into(),
                "add".into(),
                "--dir".into(),
                path_arg(&proc.dir),
                "--staff".into(),
                staff.to_string(),
                "--name".into(),
                name.to_string(),
                "--role".into(),
                role.to_string(),
                "--password-stdin".into(),
            ];
            yikou(&self.bin, args, Some(format!("{PASSWORD}\n"))).await?;
        }
        if spec.is_hall() {
            let catalog = self.root.join("catalog.toml");
            std::fs::write(&catalog, yikou_schema::catalog::SAMPLE_TOML)?;
            let args = vec![
                "catalog".into(),
                "import".into(),
                "--dir".into(),
                path_arg(&proc.dir),
                path_arg(&catalog),
            ];
            yikou(&self.bin, args, None).await?;
        }
        start(&self.bin, &mut proc).await?;
        self.nodes.push(proc);
        Ok(())
    }

    /// `yikou init` of a node's directory (certificate from the network CA), then the suite's
    /// rate limit in its yikou.toml.
    async fn init_dir(&self, proc: &Proc) -> Result<()> {
        let mut args = vec![
            "init".into(),
            "--dir".into(),
            path_arg(&proc.dir),
            "--name".into(),
            proc.spec.name.into(),
            "--role".into(),
            proc.spec.role.into(),
            "--scope".into(),
            proc.spec.scope.into(),
            "--ca".into(),
            path_arg(&self.ca),
            "--http".into(),
            proc.http_addr.to_string(),
            "--sync".into(),
            proc.sync_addr.to_string(),
        ];
        for (name, addr) in &proc.peers {
            args.push("--peer".into());
            args.push(format!("{name}={addr}"));
        }
        yikou(&self.bin, args, None).await?;
        let config = proc.dir.join("yikou.toml");
        let text = std::fs::read_to_string(&config)?;
        let patched = text
            .replace(
                "requests_per_second = 50\n",
                &format!("requests_per_second = {SUITE_REQUESTS_PER_SECOND}\n"),
            )
            .replace("burst = 100\n", &format!("burst = {SUITE_REQUESTS_PER_SECOND}\n"));
        if patched == text {
            bail!("{}: the rate-limit keys of yikou.toml were not found", config.display());
        }
        std::fs::write(&config, patched)?;
        Ok(())
    }

    async fn kill(&mut self, name: &str) -> Result<()> {
        let proc = self.node_mut(name)?;
        if let Some(mut child) = proc.child.take() {
            // std's kill is SIGKILL.
            child.kill()?;
            tokio::task::spawn_blocking(move || child.wait()).await??;
        }
        Ok(())
    }

    /// SIGTERM, then SIGKILL after [`STOP_WAIT_MS_MAX`].
    async fn stop(&mut self, name: &str) -> Result<()> {
        let proc = self.node_mut(name)?;
        let Some(mut child) = proc.child.take() else { return Ok(()) };
        let _ = Command::new("kill").arg("-TERM").arg(child.id().to_string()).status();
        let started = Instant::now();
        while started.elapsed() < Duration::from_millis(STOP_WAIT_MS_MAX) {
            if child.try_wait()?.is_some() {
                return Ok(());
            }
            tokio::time::sleep(Duration::from_millis(100)).await;
        }
        child.kill()?;
        tokio::task::spawn_blocking(move || child.wait()).await??;
        Ok(())
    }

    async fn restart(&mut self, name: &str) -> Result<()> {
        let bin = self.bin.clone();
        let proc = self.node_mut(name)?;
        start(&bin, proc).await
    }

    async fn shutdown(mut self) {
        let names: Vec<&'static str> = self.nodes.iter().map(|n| n.spec.name).collect();
        for name in names {
            let _ = self.stop(name).await;
        }
        for (_, relay) in std::mem::take(&mut self.relays) {
            relay.shutdown().await;
        }
    }
}

fn path_arg(p: &Path) -> String {
    p.to_string_lossy().into_owned()
}

/// Spawns `yikou run --dir` and waits for `/healthz`.
async fn start(bin: &Path, proc: &mut Proc) -> Result<()> {
    let mut cmd = match proc.file_size_limit_bytes {
        // SIGXFSZ would kill the node at the limit; ignored (the disposition survives exec), a
        // write past the limit fails with EFBIG instead, as a full disk fails with ENOSPC.
        Some(bytes) => {
            let mut c = Command::new("sh");
            c.arg("-c")
                .arg(format!("trap '' XFSZ; exec prlimit --fsize={bytes} -- \"$0\" run --dir \"$1\""))
                .arg(bin)
                .arg(&proc.dir);
            c
        }
        None => {
            let mut c = Command::new(bin);
            c.arg("run").arg("--dir").arg(&proc.dir);
            c
        }
    };
    cmd.stdin(Stdio::null()).stdout(Stdio::piped()).stderr(Stdio::piped());
    for (k, v) in &proc.env {
        cmd.env(k, v);
    }
    let mut child = cmd.spawn().with_context(|| format!("cannot start {}", proc.spec.name))?;
    if let Some(out) = child.stdout.take() {
        copy_to_log(out, &proc.log, "out");
    }
    if let Some(err) = child.stderr.take() {
        copy_to_log(err, &proc.log, "err");
    }
    proc.child = Some(child);
    let started = Instant::now();
    loop {
        if proc.api.healthy().await {
            return Ok(());
        }
        if !proc.alive() || started.elapsed() > Duration::from_millis(HEALTH_WAIT_MS_MAX) {
            bail!("{} did not start; its log ends:\n{}", proc.spec.name, tail(&proc.log, LOG_TAIL_LINES));
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
}

// ---------------------------------------------------------------------------------------------
// The ledger of acknowledged cases, and the load

/// A case the API acknowledged, with the steps acknowledged on it since.
#[derive(Debug, Clone)]
struct Acked {
    origin: &'static str,
    /// Event kinds acknowledged, in causal order.
    kinds: Vec<&'static str>,
}

#[derive(Default)]
struct Ledger {
    cases: Mutex<BTreeMap<String, Acked>>,
    /// "node status code" → count of refusals (an answer that is not 2xx).
    refusals: Mutex<BTreeMap<String, u64>>,
    /// Requests that got no answer (the node was down, the connection reset).
    unanswered: AtomicU64,
    /// The first refusal body per node (shown by the full-disk scenario).
    first_refusal: Mutex<BTreeMap<&'static str, (u16, Value)>>,
}

impl Ledger {
    fn ack(&self, id: &str, origin: &'static str) {
        lock(&self.cases).insert(id.to_string(), Acked { origin, kinds: vec!["received"] });
    }

    fn step(&self, id: &str, kind: &'static str) {
        if let Some(c) = lock(&self.cases).get_mut(id) {
            c.kinds.push(kind);
        }
    }

    fn refused(&self, node: &'static str, status: u16, v: &Value) {
        let code = v["code"].as_str().unwrap_or("-");
        *lock(&self.refusals).entry(format!("{node} {status} {code}")).or_default() += 1;
        lock(&self.first_refusal).entry(node).or_insert_with(|| (status, v.clone()));
    }

    fn len(&self) -> usize {
        lock(&self.cases).len()
    }

    fn snapshot(&self) -> BTreeMap<String, Acked> {
        lock(&self.cases).clone()
    }

    fn of(&self, origin: &str) -> Vec<String> {
        lock(&self.cases).iter().filter(|(_, c)| c.origin == origin).map(|(id, _)| id.clone()).collect()
    }

    fn refusal_count(&self) -> u64 {
        lock(&self.refusals).values().sum()
    }

    fn refusal_summary(&self) -> String {
        lock(&self.refusals).iter().map(|(k, n)| format!("{k}×{n}")).collect::<Vec<_>>().join(", ")
    }
}

fn intake_body(i: u64) -> Value {
    let (name, id) = APPLICANTS[(i % APPLICANTS.len() as u64) as usize];
    json!({
        "item": "BDC001",
        "applicant": { "id": id, "name": name, "phone": "13800000000" },
        "channel": { "channel": "township" },
        "presented": ALL_MATERIALS.iter()
            .map(|c| json!({ "code": c, "condition": { "condition": "present" } })).collect::<Vec<_>>(),
    })
}

/// Concurrent window clerks taking applications until stopped.
struct Load {
    stop: watch::Sender<bool>,
    tasks: Vec<JoinHandle<()>>,
}

impl Load {
    /// `clients` clerks at each of `nodes`, one intake per `pace_ms` each; every other case is
    /// also accepted at once (W3.5).
    fn start(net: &Net, ledger: &Arc<Ledger>, nodes: &[&str], clients: usize, pace_ms: u64) -> Result<Load> {
        let (stop, stopped) = watch::channel(false);
        let mut tasks = Vec::new();
        for (n, name) in nodes.iter().enumerate() {
            for c in 0..clients {
                let api = net.api(name)?;
                let ledger = ledger.clone();
                let stopped = stopped.clone();
                let salt = net.seed ^ ((n as u64) << 32 | c as u64);
                tasks.push(tokio::spawn(clerk(api, ledger, stopped, pace_ms, salt)));
            }
        }
        Ok(Load { stop, tasks })
    }

    async fn stop(self) {
        let _ = self.stop.send(true);
        for t in self.tasks {
            let _ = t.await;
        }
    }
}

async fn clerk(api: Api, ledger: Arc<Ledger>, stopped: watch::Receiver<bool>, pace_ms: u64, salt: u64) {
    let mut token: Option<String> = None;
    let mut i = salt;
    while !*stopped.borrow() && ledger.len() < CASES_PER_SCENARIO_MAX {
        i = i.wrapping_add(1);
        tokio::time::sleep(Duration::from_millis(pace_ms)).await;
        let Some(t) = token.clone() else {
            // Sessions live in the node's memory: after a restart, log in again.
            token = api.login("clerk").await.ok();
            continue;
        };
        match api.call("POST", "/api/v1/cases", Some(&t), Some(intake_body(i))).await {
            Ok((201, v)) => {
                let Some(id) = v["case"]["id"].as_str() else { continue };
                ledger.ack(id, api.node);
                if i.is_multiple_of(2) {
                    let path = format!("/api/v1/cases/{id}/accept");
                    match api.call("POST", &path, Some(&t), Some(json!({ "presented": [] }))).await {
                        Ok((s, _)) if (200..300).contains(&s) => ledger.step(id, "accepted"),
                        Ok((401, _)) => token = None,
                        Ok((s, v)) => ledger.refused(api.node, s, &v),
                        Err(_) => {
                            ledger.unanswered.fetch_add(1, Ordering::Relaxed);
                        }
                    }
                }
            }
            Ok((401, _)) => token = None,
            Ok((s, v)) => ledger.refused(api.node, s, &v),
            Err(_) => {
                ledger.unanswered.fetch_add(1, Ordering::Relaxed);
            }
        }
    }
}

/// The hall centre hands accepted cases of `origin` to the department (W4.2): work done at the
/// hall on a township's cases, which the township must receive.
async fn hall_handovers(net: &Net, ledger: &Ledger, origin: &str, count_max: usize) -> Result<usize> {
    let hall = net.api(HALL.name)?;
    let token = hall.login("centre").await?;
    let candidates: Vec<String> = ledger
        .snapshot()
        .into_iter()
        .filter(|(_, c)| c.origin == origin && c.kinds == ["received", "accepted"])
        .map(|(id, _)| id)
        .take(count_max)
        .collect();
    let mut done = 0;
    for id in candidates {
        let body = json!({ "department": "BDCDJ", "paper": false });
        match hall.call("POST", &format!("/api/v1/cases/{id}/handover"), Some(&token), Some(body)).await? {
            (s, _) if (200..300).contains(&s) => {
                ledger.step(&id, "handed_over");
                done += 1;
            }
            (s, v) => ledger.refused(hall.node, s, &v),
        }
    }
    Ok(done)
}

// ---------------------------------------------------------------------------------------------
// Verification

/// What the check found.
struct Verdict {
    acked: usize,
    /// Acknowledged cases present at every node they belong to.
    found: usize,
    /// From the end of the fault (the heal, the restart, the end of intake over a bad link) until
    /// everything agreed; `None` if it never did.
    converged: Option<Duration>,
    problems: Vec<String>,
}

/// Where a case of `origin` must be.
fn homes(origin: &'static str) -> Vec<&'static str> {
    if origin == HALL.name { vec![HALL.name] } else { vec![origin, HALL.name] }
}

/// The ids a node lists (every case it holds: fewer than [`LIST_LIMIT`] per scenario).
async fn listed(api: &Api, token: &str) -> Option<BTreeSet<String>> {
    let (s, v) =
        api.call("GET", &format!("/api/v1/cases?limit={LIST_LIMIT}"), Some(token), None).await.ok()?;
    if s != 200 {
        return None;
    }
    Some(v["cases"].as_array()?.iter().filter_map(|c| c["id"].as_str().map(str::to_string)).collect())
}

/// A case's problem at its nodes, or `None` when its timelines agree and hold every acknowledged
/// step in causal order.
async fn case_problem(apis: Vec<(Api, String)>, id: String, acked: Acked) -> Option<String> {
    let mut first: Option<Value> = None;
    for (api, token) in &apis {
        let timeline = match api.call("GET", &format!("/api/v1/cases/{id}/timeline"), Some(token), None).await
        {
            Ok((200, v)) if v.is_array() => v,
            Ok((s, _)) => return Some(format!("{id}: {} answers {s}", api.node)),
            Err(e) => return Some(format!("{id}: {e:#}")),
        };
        match &first {
            None => first = Some(timeline),
            Some(f) if *f != timeline => return Some(format!("{id}: timelines differ at {}", api.node)),
            Some(_) => {}
        }
    }
    let timeline = first?;
    let entries = timeline.as_array()?;
    // Sorted by HLC, and every acknowledged step after the ones it followed.
    let stamps: Vec<(i64, u64, String)> = entries
        .iter()
        .map(|e| {
            let h = &e["event"]["hlc"];
            (h["wall_ms"].as_i64().unwrap_or(0), h["counter"].as_u64().unwrap_or(0), h["node"].to_string())
        })
        .collect();
    if stamps.windows(2).any(|w| w[0] >= w[1]) {
        return Some(format!("{id}: timeline not in HLC order"));
    }
    let kinds: Vec<&str> = entries.iter().filter_map(|e| e["event"]["kind"]["kind"].as_str()).collect();
    let mut at = 0;
    for want in &acked.kinds {
        match kinds[at..].iter().position(|k| k == want) {
            Some(p) => at += p + 1,
            None => {
                return Some(format!("{id}: acknowledged step {want} missing or out of order ({kinds:?})"));
            }
        }
    }
    None
}

/// Polls until every acknowledged case agrees at every node it belongs to, at most `bound` from
/// `since` (the end of the fault, from which convergence is timed).
async fn verify(net: &Net, ledger: &Ledger, bound: Duration, since: Instant) -> Result<Verdict> {
    let started = since;
    let cases = ledger.snapshot();
    let mut tokens: BTreeMap<&'static str, String> = BTreeMap::new();
    for n in &net.nodes {
        tokens.insert(n.spec.name, n.api.login(n.spec.reader()).await?);
    }
    let mut pending: BTreeSet<String> = cases.keys().cloned().collect();
    let mut problems: Vec<String> = Vec::new();
    let mut present: BTreeMap<&'static str, BTreeSet<String>> = BTreeMap::new();
    while !pending.is_empty() {
        // Presence first (one list per node), then the timelines of what is present everywhere.
        for n in &net.nodes {
            if let Some(ids) = listed(&n.api, &tokens[n.spec.name]).await {
                present.insert(n.spec.name, ids);
            }
        }
        let ready: Vec<String> = pending
            .iter()
            .filter(|id| {
                cases.get(*id).is_some_and(|c| {
                    homes(c.origin).iter().all(|h| present.get(h).is_some_and(|s| s.contains(*id)))
                })
            })
            .cloned()
            .collect();
        problems.clear();
        for chunk in ready.chunks(VERIFY_CONCURRENCY_MAX) {
            let mut set = tokio::task::JoinSet::new();
            for id in chunk {
                let Some(acked) = cases.get(id).cloned() else { continue };
                let apis: Vec<(Api, String)> = homes(acked.origin)
                    .into_iter()
                    .filter_map(|h| Some((net.api(h).ok()?, tokens.get(h)?.clone())))
                    .collect();
                let id = id.clone();
                set.spawn(async move { (id.clone(), case_problem(apis, id, acked).await) });
            }
            while let Some(joined) = set.join_next().await {
                match joined {
                    Ok((id, None)) => {
                        pending.remove(&id);
                    }
                    Ok((_, Some(p))) => problems.push(p),
                    Err(e) => problems.push(format!("check task: {e}")),
                }
            }
        }
        if pending.is_empty() {
            break;
        }
        if started.elapsed() > bound {
            for id in &pending {
                if !ready.contains(id) {
                    let missing: Vec<&str> = cases.get(id).map_or(Vec::new(), |c| {
                        homes(c.origin)
                            .into_iter()
                            .filter(|h| !present.get(h).is_some_and(|s| s.contains(id)))
                            .collect()
                    });
                    problems.push(format!("{id}: missing at {}", missing.join(", ")));
                }
            }
            break;
        }
        tokio::time::sleep(Duration::from_millis(POLL_MS)).await;
    }
    let found = cases
        .iter()
        .filter(|(id, c)| homes(c.origin).iter().all(|h| present.get(h).is_some_and(|s| s.contains(*id))))
        .count();
    let converged = pending.is_empty().then(|| started.elapsed());
    Ok(Verdict { acked: cases.len(), found, converged, problems })
}

// ---------------------------------------------------------------------------------------------
// Scenarios

/// One line of the table.
struct Outcome {
    scenario: String,
    acked: usize,
    found: usize,
    converged: Option<Duration>,
    passed: bool,
    notes: Vec<String>,
    problems: Vec<String>,
}

struct Ctx {
    bin: PathBuf,
    no_mount: bool,
    seed: u64,
    timing: Timing,
}

/// Waits until the hall lists `count` cases of `origin` or more; the count seen last.
async fn hall_count(net: &Net, token: &str, ids: &BTreeSet<String>) -> usize {
    match net.api(HALL.name) {
        Ok(api) => listed(&api, token).await.map_or(0, |s| s.intersection(ids).count()),
        Err(_) => 0,
    }
}

async fn settle(net: &Net, ledger: &Ledger) -> Result<()> {
    let v = verify(net, ledger, Duration::from_millis(CONVERGE_MS_MAX), Instant::now()).await?;
    if v.converged.is_none() {
        bail!("the network did not converge before the fault: {}", v.problems.join("; "));
    }
    Ok(())
}

fn sleep_ms(ms: u64) -> tokio::time::Sleep {
    tokio::time::sleep(Duration::from_millis(ms))
}

fn outcome(
    name: &str,
    v: Verdict,
    mut notes: Vec<String>,
    mut extra: Vec<String>,
    ledger: &Ledger,
) -> Outcome {
    let unanswered = ledger.unanswered.load(Ordering::Relaxed);
    if v.acked >= CASES_PER_SCENARIO_MAX {
        notes.push(format!("load stopped at the cap of {CASES_PER_SCENARIO_MAX} cases"));
    }
    if unanswered > 0 {
        notes.push(format!("{unanswered} requests unanswered"));
    }
    if ledger.refusal_count() > 0 {
        notes.push(format!("refused: {}", ledger.refusal_summary()));
    }
    extra.extend(v.problems);
    let passed = v.found == v.acked && v.converged.is_some() && extra.is_empty() && v.acked > 0;
    Outcome {
        scenario: name.to_string(),
        acked: v.acked,
        found: v.found,
        converged: v.converged,
        passed,
        notes,
        problems: extra,
    }
}

/// A township cut off for a "day" of intake while the hall works on its earlier cases; healed.
async fn partition(ctx: &Ctx, root: &Path) -> Result<Outcome> {
    let t = ctx.timing;
    let towns = [(TOWN_A, NodeOptions::default()), (TOWN_B, NodeOptions::default())];
    let net = Net::standard(&ctx.bin, root, ctx.seed, &towns).await?;
    let ledger = Arc::new(Ledger::default());
    let load = Load::start(&net, &ledger, &[TOWN_A.name, TOWN_B.name], 2, t.pace_ms)?;
    sleep_ms(t.warmup_ms).await;
    load.stop().await;
    settle(&net, &ledger).await?;
    let before = ledger.of(TOWN_A.name).len();
    net.relay(TOWN_A.name)?.partition(true);
    let load = Load::start(&net, &ledger, &[TOWN_A.name, TOWN_B.name], 2, t.pace_ms)?;
    let handed = hall_handovers(&net, &ledger, TOWN_A.name, 10).await?;
    sleep_ms(t.fault_ms).await;
    load.stop().await;
    // The partition was real: the hall has none of A's cases made during it.
    let hall = net.api(HALL.name)?;
    let token = hall.login("centre").await?;
    let during: BTreeSet<String> = ledger.of(TOWN_A.name).into_iter().collect();
    let seen = hall_count(&net, &token, &during).await;
    let made = during.len() - before;
    let mut extra = Vec::new();
    if seen > before {
        extra.push(format!("the hall saw {} of town-a's cases made during the partition", seen - before));
    }
    net.relay(TOWN_A.name)?.partition(false);
    let v = verify(&net, &ledger, Duration::from_millis(CONVERGE_MS_MAX), Instant::now()).await?;
    let notes = vec![format!(
        "{made} cases made at town-a while cut off, {handed} handed over at the hall meanwhile"
    )];
    let out = outcome("partition", v, notes, extra, &ledger);
    net.shutdown().await;
    Ok(out)
}

/// The hall killed with SIGKILL under load (its own clerks and both townships'), restarted.
async fn kill_hall(ctx: &Ctx, root: &Path) -> Result<Outcome> {
    let t = ctx.timing;
    let towns = [(TOWN_A, NodeOptions::default()), (TOWN_B, NodeOptions::default())];
    let mut net = Net::standard(&ctx.bin, root, ctx.seed, &towns).await?;
    let ledger = Arc::new(Ledger::default());
    let load = Load::start(&net, &ledger, &[HALL.name, TOWN_A.name, TOWN_B.name], 2, t.pace_ms)?;
    sleep_ms(t.warmup_ms).await;
    let at_kill = ledger.len();
    net.kill(HALL.name).await?;
    let killed = Instant::now();
    sleep_ms(t.fault_ms / 2).await;
    net.restart(HALL.name).await?;
    let restarted = Instant::now();
    let down = killed.elapsed();
    load.stop().await;
    let v = verify(&net, &ledger, Duration::from_millis(CONVERGE_MS_MAX), restarted).await?;
    let hall_cases = ledger.of(HALL.name).len();
    let notes = vec![format!(
        "killed with {at_kill} acknowledged ({hall_cases} at the hall in all), down {:.1} s",
        down.as_secs_f64()
    )];
    let out = outcome("kill-hall", v, notes, Vec::new(), &ledger);
    net.shutdown().await;
    Ok(out)
}

/// Both townships' links: 30 % loss, 300 ms delay, 1 Mbit/s, for the whole run.
async fn loss(ctx: &Ctx, root: &Path) -> Result<Outcome> {
    bad_link(
        ctx,
        root,
        "loss",
        Impairment {
            loss: 0.3,
            delay_ms: 300,
            bandwidth_bytes_per_s: Some(125_000),
            ..Impairment::default()
        },
        CONVERGE_LOSSY_MS_MAX,
    )
    .await
}

/// Duplicated and reordered datagrams (with jitter reordering more), for the whole run.
async fn dup_reorder(ctx: &Ctx, root: &Path) -> Result<Outcome> {
    bad_link(
        ctx,
        root,
        "dup-reorder",
        Impairment { duplicate: 0.25, reorder: 0.25, delay_ms: 20, jitter_ms: 15, ..Impairment::default() },
        CONVERGE_MS_MAX,
    )
    .await
}

async fn bad_link(ctx: &Ctx, root: &Path, name: &str, link: Impairment, bound_ms: u64) -> Result<Outcome> {
    let t = ctx.timing;
    let towns = [(TOWN_A, NodeOptions::default()), (TOWN_B, NodeOptions::default())];
    let net = Net::standard(&ctx.bin, root, ctx.seed, &towns).await?;
    for town in [TOWN_A.name, TOWN_B.name] {
        net.relay(town)?.set_impairment(link);
    }
    let ledger = Arc::new(Ledger::default());
    let load = Load::start(&net, &ledger, &[TOWN_A.name, TOWN_B.name], 2, t.pace_ms)?;
    sleep_ms(t.warmup_ms + t.fault_ms).await;
    load.stop().await;
    let handed = hall_handovers(&net, &ledger, TOWN_A.name, 5).await.unwrap_or(0);
    let v = verify(&net, &ledger, Duration::from_millis(bound_ms), Instant::now()).await?;
    let stats = net.relay(TOWN_A.name)?.stats();
    let notes = vec![format!(
        "link stays bad while converging; town-a relay: {} datagrams, {} lost, {} duplicated, {} reordered; {handed} handed over",
        stats.received, stats.dropped_loss, stats.duplicated, stats.reordered
    )];
    let out = outcome(name, v, notes, Vec::new(), &ledger);
    net.shutdown().await;
    Ok(out)
}

/// A township cut off long enough to build a backlog both ways, then killed while catching up
/// over a slow link, restarted.
async fn kill_township(ctx: &Ctx, root: &Path) -> Result<Outcome> {
    let t = ctx.timing;
    let towns = [(TOWN_A, NodeOptions::default())];
    let mut net = Net::standard(&ctx.bin, root, ctx.seed, &towns).await?;
    let ledger = Arc::new(Ledger::default());
    let load = Load::start(&net, &ledger, &[TOWN_A.name], 2, t.pace_ms)?;
    sleep_ms(t.warmup_ms).await;
    load.stop().await;
    settle(&net, &ledger).await?;
    let relay = net.relay(TOWN_A.name)?;
    relay.partition(true);
    let handed = hall_handovers(&net, &ledger, TOWN_A.name, 20).await?;
    // A backlog at the township: three clerks, no pause.
    let load = Load::start(&net, &ledger, &[TOWN_A.name], 3, t.pace_ms / 4)?;
    sleep_ms(t.fault_ms).await;
    load.stop().await;
    let ids: BTreeSet<String> = ledger.of(TOWN_A.name).into_iter().collect();
    let hall = net.api(HALL.name)?;
    let token = hall.login("centre").await?;
    let before = hall_count(&net, &token, &ids).await;
    // Heal over a slow link, and kill the township once the hall has some but not all of it.
    net.relay(TOWN_A.name)?.set_impairment(Impairment {
        bandwidth_bytes_per_s: Some(64_000),
        delay_ms: 50,
        ..Impairment::default()
    });
    let healed = Instant::now();
    let mut at_kill = before;
    while healed.elapsed() < Duration::from_millis(CONVERGE_MS_MAX) {
        at_kill = hall_count(&net, &token, &ids).await;
        if at_kill > before {
            break;
        }
        sleep_ms(50).await;
    }
    net.kill(TOWN_A.name).await?;
    let catch_up = healed.elapsed();
    let mut extra = Vec::new();
    if at_kill >= ids.len() {
        extra.push("the catch-up finished before the kill (the kill did not interrupt it)".to_string());
    }
    sleep_ms(1_000).await;
    net.relay(TOWN_A.name)?.set_impairment(Impairment::default());
    net.restart(TOWN_A.name).await?;
    let v =
        verify(&net, &ledger, Duration::from_millis(CONVERGE_AFTER_RESTART_MS_MAX), Instant::now()).await?;
    let notes = vec![format!(
        "killed after {:.1} s of catch-up with {at_kill}/{} of its cases at the hall ({before} before); {handed} handed over at the hall meanwhile",
        catch_up.as_secs_f64(),
        ids.len()
    )];
    let out = outcome("kill-township", v, notes, extra, &ledger);
    net.shutdown().await;
    Ok(out)
}

/// town-a's clock 2 hours fast, town-b's 2 hours slow (YIKOU_CLOCK_OFFSET_MS); the hall hands over
/// cases of both: nothing refused, every timeline in causal order by HLC.
async fn clock_skew(ctx: &Ctx, root: &Path) -> Result<Outcome> {
    let t = ctx.timing;
    let hours2 = 2 * 3_600_000i64;
    let offset = |ms: i64| NodeOptions {
        env: vec![(yikou_node::clock::CLOCK_OFFSET_ENV.to_string(), ms.to_string())],
        ..NodeOptions::default()
    };
    let towns = [(TOWN_A, offset(hours2)), (TOWN_B, offset(-hours2))];
    let net = Net::standard(&ctx.bin, root, ctx.seed, &towns).await?;
    let ledger = Arc::new(Ledger::default());
    let load = Load::start(&net, &ledger, &[TOWN_A.name, TOWN_B.name], 2, t.pace_ms)?;
    sleep_ms(t.warmup_ms + t.fault_ms / 2).await;
    load.stop().await;
    settle(&net, &ledger).await?;
    let handed_a = hall_handovers(&net, &ledger, TOWN_A.name, 10).await?;
    let handed_b = hall_handovers(&net, &ledger, TOWN_B.name, 10).await?;
    let v = verify(&net, &ledger, Duration::from_millis(CONVERGE_MS_MAX), Instant::now()).await?;
    let mut extra = Vec::new();
    if ledger.refusal_count() > 0 {
        extra.push(format!("refused with a skewed clock: {}", ledger.refusal_summary()));
    }
    if handed_a == 0 || handed_b == 0 {
        extra.push("no handover at the hall on a skewed township's case".into());
    }
    // The hall (true clock) stamped its handover after town-a's accept, 2 hours "ahead": the HLC
    // followed the fast clock instead of ordering the handover before what it answered.
    let hall = net.api(HALL.name)?;
    let token = hall.login("centre").await?;
    let mut followed = 0;
    for (id, c) in ledger.snapshot() {
        if c.origin != TOWN_A.name || !c.kinds.contains(&"handed_over") {
            continue;
        }
        let (_, tl) = hall.call("GET", &format!("/api/v1/cases/{id}/timeline"), Some(&token), None).await?;
        let stamp = |kind: &str| {
            tl.as_array()?
                .iter()
                .find(|e| e["event"]["kind"]["kind"] == kind)
                .and_then(|e| e["event"]["hlc"]["wall_ms"].as_i64())
        };
        match (stamp("accepted"), stamp("handed_over")) {
            (Some(a), Some(h)) if h >= a && a - yikou_node::clock::now_ms() > hours2 / 2 => followed += 1,
            (Some(a), Some(h)) if h >= a => {}
            other => extra.push(format!("{id}: accept/handover stamps {other:?}")),
        }
    }
    let notes = vec![format!(
        "town-a +2 h, town-b -2 h; {handed_a}+{handed_b} handed over at the hall; {followed} hall stamps followed town-a's fast clock"
    )];
    let out = outcome("clock-skew", v, notes, extra, &ledger);
    net.shutdown().await;
    Ok(out)
}

/// Bytes of the small filesystem (or the file-size limit) of the full-disk township: room for
/// its initial store and some cases, then full within a minute of intake.
const FULL_DISK_BYTES: u64 = 3 * 1024 * 1024;

/// Mounts a tmpfs of `bytes` at `dir` (root only); false if that is not possible here.
fn mount_small_fs(dir: &Path, bytes: u64) -> bool {
    let _ = std::fs::create_dir_all(dir);
    Command::new("mount")
        .args(["-t", "tmpfs", "-o", &format!("size={bytes}"), "yikou-faults", &path_arg(dir)])
        .stderr(Stdio::null())
        .status()
        .is_ok_and(|s| s.success())
}

/// A township whose disk fills during intake: intake refused with a clear problem, the node keeps
/// serving reads, every case acknowledged before is kept and reaches the hall.
async fn full_disk(ctx: &Ctx, root: &Path) -> Result<Outcome> {
    let t = ctx.timing;
    let mount = root.join("small-fs");
    let mounted = !ctx.no_mount && mount_small_fs(&mount, FULL_DISK_BYTES);
    let options = if mounted {
        NodeOptions { dir: Some(mount.join(TOWN_A.name)), ..NodeOptions::default() }
    } else {
        NodeOptions { file_size_limit_bytes: Some(FULL_DISK_BYTES), ..NodeOptions::default() }
    };
    let result = full_disk_run(ctx, root, t, options, mounted).await;
    if mounted {
        let _ = Command::new("umount").arg(&mount).status();
    }
    result
}

async fn full_disk_run(
    ctx: &Ctx,
    root: &Path,
    t: Timing,
    options: NodeOptions,
    mounted: bool,
) -> Result<Outcome> {
    let mut net = Net::standard(&ctx.bin, root, ctx.seed, &[(TOWN_A, options)]).await?;
    let ledger = Arc::new(Ledger::default());
    let load = Load::start(&net, &ledger, &[TOWN_A.name], 2, t.pace_ms / 2)?;
    let started = Instant::now();
    while started.elapsed() < Duration::from_millis(CONVERGE_MS_MAX) && ledger.refusal_count() < 5 {
        if !net.node_mut(TOWN_A.name)?.alive() {
            break;
        }
        sleep_ms(200).await;
    }
    load.stop().await;
    let mut extra = Vec::new();
    let first = lock(&ledger.first_refusal).get(TOWN_A.name).cloned();
    let refusal = match &first {
        Some((status, v)) => {
            let detail = v["detail"].as_str().unwrap_or("");
            let clear = *status >= 400 && v["code"].is_string() && detail.chars().any(|c| c > '\u{2e80}');
            if !clear {
                extra.push(format!("intake refused without a clear problem: {status} {v}"));
            }
            format!("refused {status} {}: {detail}", v["code"].as_str().unwrap_or("-"))
        }
        None => {
            extra.push("intake was never refused (the disk did not fill)".into());
            "never refused".into()
        }
    };
    let alive = net.node_mut(TOWN_A.name)?.alive();
    if !alive {
        extra.push(format!(
            "town-a died; its log ends:\n{}",
            tail(&net.node(TOWN_A.name)?.log, LOG_TAIL_LINES)
        ));
    } else {
        let api = net.api(TOWN_A.name)?;
        let reads = match api.login("clerk").await {
            // A login is in memory; the reads must work off the full disk.
            Ok(token) => match ledger.of(TOWN_A.name).first() {
                Some(id) => api.call("GET", &format!("/api/v1/cases/{id}"), Some(&token), None).await?.0,
                None => 0,
            },
            Err(_) => 0,
        };
        if reads != 200 {
            extra.push(format!("town-a does not serve reads on a full disk ({reads})"));
        }
    }
    let v = verify(&net, &ledger, Duration::from_millis(CONVERGE_MS_MAX), Instant::now()).await?;
    let how = if mounted {
        format!("tmpfs of {} MiB", FULL_DISK_BYTES >> 20)
    } else {
        format!("RLIMIT_FSIZE {} MiB (no small filesystem mounted)", FULL_DISK_BYTES >> 20)
    };
    let out = outcome("full-disk", v, vec![how, refusal], extra, &ledger);
    net.shutdown().await;
    Ok(out)
}

/// A township backed up, more cases made, then its data lost: init + restore + start brings the
/// cases made after the backup back from the hall (a new feed epoch, reconciliation).
async fn restore(ctx: &Ctx, root: &Path) -> Result<Outcome> {
    let t = ctx.timing;
    let mut net = Net::standard(&ctx.bin, root, ctx.seed, &[(TOWN_A, NodeOptions::default())]).await?;
    let ledger = Arc::new(Ledger::default());
    let load = Load::start(&net, &ledger, &[TOWN_A.name], 2, t.pace_ms)?;
    sleep_ms(t.warmup_ms).await;
    load.stop().await;
    let backup = root.join("town-a.bak");
    let dir = net.node(TOWN_A.name)?.dir.clone();
    let args = vec!["backup".into(), "--dir".into(), path_arg(&dir), "--out".into(), path_arg(&backup)];
    yikou(&ctx.bin, args, None).await?;
    let in_backup = ledger.len();
    let load = Load::start(&net, &ledger, &[TOWN_A.name], 2, t.pace_ms)?;
    sleep_ms(t.fault_ms).await;
    load.stop().await;
    let after_backup = ledger.len() - in_backup;
    // Everything reaches the hall before the township's disk is lost.
    settle(&net, &ledger).await?;
    let handed = hall_handovers(&net, &ledger, TOWN_A.name, 10).await?;
    net.stop(TOWN_A.name).await?;
    std::fs::remove_dir_all(&dir)?;
    net.init_dir(net.node(TOWN_A.name)?).await?;
    let args = vec!["restore".into(), "--dir".into(), path_arg(&dir), "--from".into(), path_arg(&backup)];
    yikou(&ctx.bin, args, None).await?;
    let restored = Instant::now();
    net.restart(TOWN_A.name).await?;
    let back = verify(&net, &ledger, Duration::from_millis(CONVERGE_MS_MAX), restored).await?;
    // New intake after the restore: new case numbers, nothing overwritten.
    let load = Load::start(&net, &ledger, &[TOWN_A.name], 1, t.pace_ms)?;
    sleep_ms(t.warmup_ms / 2).await;
    load.stop().await;
    let mut v = verify(&net, &ledger, Duration::from_millis(CONVERGE_MS_MAX), Instant::now()).await?;
    // The table's time is the recovery's: from the restore until every case was back.
    v.converged = v.converged.and(back.converged);
    v.problems.extend(back.problems);
    let notes = vec![format!(
        "{in_backup} cases in the backup, {after_backup} made after it, {handed} handed over at the hall; then {} more made after the restore",
        ledger.len() - in_backup - after_backup
    )];
    let out = outcome("restore", v, notes, Vec::new(), &ledger);
    net.shutdown().await;
    Ok(out)
}

async fn run_scenario(ctx: &Ctx, name: &str, root: &Path) -> Result<Outcome> {
    match name {
        "partition" => partition(ctx, root).await,
        "kill-hall" => kill_hall(ctx, root).await,
        "loss" => loss(ctx, root).await,
        "kill-township" => kill_township(ctx, root).await,
        "dup-reorder" => dup_reorder(ctx, root).await,
        "clock-skew" => clock_skew(ctx, root).await,
        "full-disk" => full_disk(ctx, root).await,
        "restore" => restore(ctx, root).await,
        other => bail!("unknown scenario {other} (known: {})", SCENARIOS.join(", ")),
    }
}

// ---------------------------------------------------------------------------------------------

fn print_table(outcomes: &[Outcome]) {
    println!();
    println!(
        "{:<14} {:>6} {:>6} {:>5} {:>10}  {:<6} notes",
        "scenario", "acked", "found", "lost", "converge", "result"
    );
    for o in outcomes {
        let converge = o.converged.map_or("never".to_string(), |d| format!("{:.1} s", d.as_secs_f64()));
        println!(
            "{:<14} {:>6} {:>6} {:>5} {:>10}  {:<6} {}",
            o.scenario,
            o.acked,
            o.found,
            o.acked - o.found.min(o.acked),
            converge,
            if o.passed { "ok" } else { "FAIL" },
            o.notes.join("; ")
        );
    }
    let acked: usize = outcomes.iter().map(|o| o.acked).sum();
    let lost: usize = outcomes.iter().map(|o| o.acked - o.found.min(o.acked)).sum();
    let failed = outcomes.iter().filter(|o| !o.passed).count();
    println!(
        "faults: {} scenarios, {} failed; {acked} cases acknowledged, {lost} lost",
        outcomes.len(),
        failed
    );
}

async fn main_async(args: Args) -> Result<bool> {
    let exe = std::env::current_exe()?;
    let bin =
        exe.parent().map(|d| d.join("yikou")).ok_or_else(|| anyhow!("no directory of {}", exe.display()))?;
    if !bin.exists() {
        bail!("{} not found: build the yikou binary first (cargo build -p yikou-node)", bin.display());
    }
    // scripts/test.sh exports one seed for every randomised test of its run.
    let seed = args
        .seed
        .or_else(|| std::env::var("YIKOU_SEED").ok().and_then(|s| s.trim().parse().ok()))
        .unwrap_or_else(|| yikou_node::clock::now_ms().unsigned_abs() % 1_000_000);
    let timing = if args.ci {
        Timing { warmup_ms: 4_000, fault_ms: 10_000, pace_ms: 150 }
    } else {
        Timing { warmup_ms: 8_000, fault_ms: 30_000, pace_ms: 200 }
    };
    let names: Vec<String> = if args.scenarios.is_empty() || args.scenarios.iter().any(|s| s == "all") {
        let set: &[&str] = if args.ci && args.scenarios.is_empty() { &CI_SCENARIOS } else { &SCENARIOS };
        set.iter().map(|s| s.to_string()).collect()
    } else {
        args.scenarios.clone()
    };
    for n in &names {
        if !SCENARIOS.contains(&n.as_str()) {
            bail!("unknown scenario {n} (known: {})", SCENARIOS.join(", "));
        }
    }
    println!("yikou fault suite: seed {seed} (replay: --seed {seed}), scenarios: {}", names.join(", "));
    let ctx = Ctx { bin, no_mount: args.no_mount, seed, timing };
    let mut outcomes = Vec::new();
    for name in &names {
        let temp = tempfile::Builder::new().prefix(&format!("yikou-faults-{name}-")).tempdir()?;
        let root = temp.path().to_path_buf();
        let started = Instant::now();
        println!("[{name}] running in {}", root.display());
        let outcome = match run_scenario(&ctx, name, &root).await {
            Ok(o) => o,
            Err(e) => Outcome {
                scenario: name.clone(),
                acked: 0,
                found: 0,
                converged: None,
                passed: false,
                notes: vec!["scenario error".into()],
                problems: vec![format!("{e:#}")],
            },
        };
        println!(
            "[{name}] {} in {:.0} s: {} acknowledged, {} found",
            if outcome.passed { "ok" } else { "FAILED" },
            started.elapsed().as_secs_f64(),
            outcome.acked,
            outcome.found
        );
        for p in outcome.problems.iter().take(PROBLEMS_SHOWN_MAX) {
            println!("    {p}");
        }
        if outcome.problems.len() > PROBLEMS_SHOWN_MAX {
            println!("    … and {} more", outcome.problems.len() - PROBLEMS_SHOWN_MAX);
        }
        if !outcome.passed || args.keep {
            let kept = temp.keep();
            println!("    kept {} (node logs: *.log)", kept.display());
        }
        outcomes.push(outcome);
    }
    print_table(&outcomes);
    Ok(outcomes.iter().all(|o| o.passed))
}

fn main() {
    let args = Args::parse();
    let runtime = match tokio::runtime::Runtime::new() {
        Ok(r) => r,
        Err(e) => {
            eprintln!("cannot start the runtime: {e}");
            std::process::exit(2);
        }
    };
    match runtime.block_on(main_async(args)) {
        Ok(true) => {}
        Ok(false) => std::process::exit(1),
        Err(e) => {
            eprintln!("fault suite error: {e:#}");
            std::process::exit(2);
        }
    }
}
