//! A running node: the store, the service, staff accounts, replication, the HTTP API and the
//! supervision scheduler, started from a [`Config`] and stopped together.
//!
//! Start-up order: open the store (durable state first), then the service and accounts, then
//! replication (it reads the store), then the scheduler, then the HTTP listener last, so that a
//! node answering HTTP has everything behind it. Shutdown goes the other way.

use std::net::SocketAddr;
use std::sync::Arc;
use std::time::Duration;

use anyhow::{Context, Result, bail};
use tokio::sync::watch;
use yikou_schema::calendar::WorkCalendar;
use yikou_schema::codes::NodeName;

use crate::accounts::{Accounts, AccountsConfig};
use crate::api::{self, ApiConfig, AppState};
use crate::clock::Clock;
use crate::config::Config;
use crate::net::{NetConfig, PeerAddr, Replicator};
use crate::pki::{NodeCredentials, PeerRole};
use crate::service::{NodeInfo, Service, Staff};
use crate::store::attachments::{ATTACHMENT_BYTES_MAX, AttachmentStore};
use crate::store::{CaseStore, Kv, SledKv, StoreConfig};

/// A node that runs until [`RunningNode::shutdown`].
pub struct RunningNode {
    pub service: Arc<Service>,
    pub accounts: Arc<Accounts>,
    pub replicator: Option<Arc<Replicator>>,
    pub http_addr: SocketAddr,
    pub sync_addr: Option<SocketAddr>,
    stop: watch::Sender<bool>,
    tasks: Vec<tokio::task::JoinHandle<()>>,
}

/// How a node is started beyond its config (the demo moves the clock; tests make argon2 cheap).
pub struct StartOptions {
    pub clock: Arc<Clock>,
    pub accounts: AccountsConfig,
}

impl Default for StartOptions {
    fn default() -> Self {
        StartOptions { clock: Arc::new(Clock::system()), accounts: AccountsConfig::default() }
    }
}

/// The parts of a node without its network sides: what the CLI's offline commands and tests use.
pub struct NodeParts {
    pub service: Arc<Service>,
    pub accounts: Arc<Accounts>,
    pub kv: Arc<dyn Kv>,
}

/// Opens the store, the service and the accounts of a configured node.
pub fn open_parts(config: &Config, options: &StartOptions) -> Result<NodeParts> {
    let dir = config.data_dir();
    let kv: Arc<dyn Kv> = Arc::new(
        SledKv::open(&dir.store())
            .with_context(|| format!("无法打开数据目录 {}(节点是否已在运行?)", dir.store().display()))?,
    );
    let store = Arc::new(CaseStore::open(
        kv.clone(),
        config.actor_prefix(),
        StoreConfig::default(),
        WorkCalendar::builtin(),
    )?);
    let attachments = Arc::new(AttachmentStore::open(&dir.attachments(), ATTACHMENT_BYTES_MAX)?);
    let info = NodeInfo {
        name: NodeName::new(config.node.name.as_str()),
        code: config.node_code()?,
        scope: config.node.scope.clone(),
        hall: config.node.role == PeerRole::Hall,
    };
    let service = Arc::new(Service::new(info, store, kv.clone(), attachments, options.clock.clone()));
    let mut accounts_config = options.accounts.clone();
    accounts_config.session_ttl_ms = config.sessions.ttl_ms();
    let accounts = Arc::new(Accounts::open(kv.clone(), accounts_config)?);
    Ok(NodeParts { service, accounts, kv })
}

fn resolve(addr: &str) -> Result<SocketAddr> {
    use std::net::ToSocketAddrs;
    addr.to_socket_addrs()
        .with_context(|| format!("无法解析地址 {addr}"))?
        .next()
        .with_context(|| format!("地址 {addr} 没有可用的 IP"))
}

impl RunningNode {
    /// Starts everything a node runs.
    pub async fn start(config: &Config, options: StartOptions) -> Result<RunningNode> {
        config.validate()?;
        let parts = open_parts(config, &options)?;
        let dir = config.data_dir();
        let replicator = if config.sync.enabled {
            let creds = NodeCredentials::load(&dir.tls())
                .with_context(|| format!("读取节点证书失败({})", dir.tls().display()))?;
            if creds.identity.name != config.node.name {
                bail!(
                    "节点证书中的名称 {} 与配置中的 node.name {} 不一致,请检查 {}",
                    creds.identity.name,
                    config.node.name,
                    dir.tls().display()
                );
            }
            let mut net = NetConfig::new(resolve(&config.sync.listen)?);
            for p in &config.sync.peers {
                net.peers.push(PeerAddr { name: p.name.clone(), addr: resolve(&p.addr)? });
            }
            net.attachments_dir = Some(dir.attachments());
            net.fetch_all_attachments = Some(config.fetch_all_attachments());
            Some(Arc::new(Replicator::start(parts.service.store().clone(), creds, net).await?))
        } else {
            None
        };
        let sync_addr = replicator.as_ref().and_then(|r| r.local_addr());
        let admin_token = dir.read_admin_token().unwrap_or_default();
        let api_config = ApiConfig {
            body_bytes_max: usize::try_from(config.http.body_bytes_max).unwrap_or(usize::MAX),
            upload_bytes_max: usize::try_from(config.http.upload_bytes_max).unwrap_or(usize::MAX),
            requests_per_second: config.http.requests_per_second,
            burst: config.http.burst,
        };
        let state = AppState::new(
            parts.service.clone(),
            parts.accounts.clone(),
            replicator.clone(),
            admin_token,
            api_config,
        )
        .with_configured_peers(if replicator.is_some() {
            config.sync.peers.iter().map(|p| p.name.clone()).collect()
        } else {
            Vec::new()
        });
        let (stop, stopped) = watch::channel(false);
        let mut tasks = vec![tokio::spawn(scheduler(
            parts.service.clone(),
            Duration::from_millis(config.supervision.interval_ms().max(1_000)),
            stopped.clone(),
        ))];
        let listener = tokio::net::TcpListener::bind(resolve(&config.http.listen)?)
            .await
            .with_context(|| format!("无法监听 HTTP 地址 {}", config.http.listen))?;
        let http_addr = listener.local_addr()?;
        let app = api::router(state).into_make_service_with_connect_info::<SocketAddr>();
        let mut http_stopped = stopped;
        tasks.push(tokio::spawn(async move {
            let shutdown = async move {
                let _ = http_stopped.wait_for(|s| *s).await;
            };
            if let Err(e) = axum::serve(listener, app).with_graceful_shutdown(shutdown).await {
                tracing::error!(error = %e, "HTTP server stopped");
            }
        }));
        tracing::info!(node = %config.node.name, http = %http_addr, sync = ?sync_addr, "node running");
        Ok(RunningNode {
            service: parts.service,
            accounts: parts.accounts,
            replicator,
            http_addr,
            sync_addr,
            stop,
            tasks,
        })
    }

    /// Stops the HTTP service, the scheduler and replication; waits for them.
    pub async fn shutdown(self) {
        let _ = self.stop.send(true);
        for t in self.tasks {
            let _ = tokio::time::timeout(Duration::from_secs(5), t).await;
        }
        if let Some(r) = &self.replicator {
            r.shutdown().await;
        }
    }
}

/// The supervision scheduler: a pass every `interval` (W9), plus the W1.4 appointment expiry.
async fn scheduler(service: Arc<Service>, interval: Duration, mut stopped: watch::Receiver<bool>) {
    let system = Staff::system(&service.info().name);
    loop {
        tokio::select! {
            _ = tokio::time::sleep(interval) => {}
            _ = stopped.wait_for(|s| *s) => return,
        }
        let service = service.clone();
        let system = system.clone();
        let pass = tokio::task::spawn_blocking(move || {
            // W1.4: appointments not taken up within an hour lapse.
            if let Err(e) = service.expire_appointments(service.now()) {
                tracing::warn!(code = %e.code, error = %e.message, "appointment expiry failed");
            }
            service.supervise(&system)
        })
        .await;
        match pass {
            Ok(Ok(report)) if report.cards_recorded > 0 || report.applicants_listed > 0 => {
                tracing::info!(
                    cards = report.cards_recorded,
                    listed = report.applicants_listed,
                    "supervision pass"
                );
            }
            Ok(Ok(_)) => {}
            Ok(Err(e)) => tracing::warn!(code = %e.code, error = %e.message, "supervision pass failed"),
            Err(e) => tracing::warn!(error = %e, "supervision pass panicked"),
        }
    }
}

/// `yikou run`: starts the node and runs until Ctrl-C / SIGTERM.
/// The environment variable [`crate::clock::CLOCK_OFFSET_ENV`] (a test and fault-injection
/// setting) moves the node's clock, read once here.
pub async fn run(config: Config) -> Result<()> {
    let clock = Clock::from_env().with_context(|| format!("无法启动节点 {}", config.node.name))?;
    if clock.offset_ms() != 0 {
        tracing::warn!(
            offset_ms = clock.offset_ms(),
            "{} is set: this node's clock is moved (testing only)",
            crate::clock::CLOCK_OFFSET_ENV
        );
        println!(
            "注意:本节点时钟按环境变量 {} 偏移 {} 毫秒(仅供测试)",
            crate::clock::CLOCK_OFFSET_ENV,
            clock.offset_ms()
        );
    }
    let options = StartOptions { clock: Arc::new(clock), ..StartOptions::default() };
    let node = RunningNode::start(&config, options).await?;
    println!("节点 {} 已启动:HTTP http://{}", config.node.name, node.http_addr);
    if let Some(addr) = node.sync_addr {
        println!("同步(QUIC)监听 {addr}");
    }
    if node.accounts.list().map(|a| a.is_empty()).unwrap_or(false) {
        println!("尚无工作人员账户:请用 yikou user add 创建(节点运行时也可以)");
    }
    wait_for_signal().await;
    println!("正在停止节点……");
    node.shutdown().await;
    Ok(())
}

async fn wait_for_signal() {
    #[cfg(unix)]
    {
        use tokio::signal::unix::{SignalKind, signal};
        match signal(SignalKind::terminate()) {
            Ok(mut term) => {
                tokio::select! {
                    _ = tokio::signal::ctrl_c() => {}
                    _ = term.recv() => {}
                }
            }
            Err(_) => {
                let _ = tokio::signal::ctrl_c().await;
            }
        }
    }
    #[cfg(not(unix))]
    {
        let _ = tokio::signal::ctrl_c().await;
    }
}
