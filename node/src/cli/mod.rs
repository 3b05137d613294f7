//! The operator commands on a node: each works offline (opening the data directory itself) and,
//! while the node runs, through its admin API (the store is then the node's alone).
//!
//! - [`NodeOpts`]: which node (`--config FILE` or `--dir D`) and [`connect`] to it.
//! - [`client`]: the admin API client.
//! - [`users`]: staff accounts (`user add|list|disable`).
//! - [`commands`]: reference data, backup, restore and status.

pub mod client;
pub mod commands;
pub mod users;

use std::path::{Path, PathBuf};
use std::sync::Arc;

use anyhow::{Context, Result, bail};
use clap::Args;
use yikou_node::config::{CONFIG_FILE, Config, DataDir};
use yikou_node::store::{CaseStore, Kv, SledKv, StoreConfig};
use yikou_schema::calendar::WorkCalendar;

use client::{AdminClient, Probe};

/// Which node a command acts on.
#[derive(Args, Debug, Clone)]
pub struct NodeOpts {
    /// The node's configuration file (default: yikou.toml in the current directory if present,
    /// else the built-in defaults).
    #[arg(long, value_name = "FILE", conflicts_with = "dir")]
    pub config: Option<PathBuf>,
    /// The node's data directory (uses DIR/yikou.toml).
    #[arg(long, value_name = "DIR")]
    pub dir: Option<PathBuf>,
}

impl NodeOpts {
    /// The configuration this command runs with.
    pub fn load(&self) -> Result<Config> {
        let path = match (&self.dir, &self.config) {
            (Some(dir), _) => {
                let path = dir.join(CONFIG_FILE);
                if !path.exists() {
                    bail!(
                        "目录 {} 中没有 {CONFIG_FILE}:它不是已初始化的节点数据目录,请先运行 yikou init",
                        dir.display()
                    );
                }
                Some(path)
            }
            (None, Some(path)) => Some(path.clone()),
            (None, None) => Some(PathBuf::from(CONFIG_FILE)).filter(|p| p.exists()),
        };
        Ok(Config::load(path.as_deref())?)
    }
}

/// The store, opened offline.
pub struct Local {
    pub kv: Arc<dyn Kv>,
    pub store: CaseStore,
}

/// A node reached one way or the other.
pub enum Node {
    /// Running: through its admin API.
    Online(AdminClient),
    /// Stopped: its data directory opened directly.
    Offline(Local),
}

fn not_initialised(data: &DataDir) -> anyhow::Error {
    anyhow::anyhow!(
        "数据目录 {} 尚未初始化(没有办件存储):请先运行 yikou init,或用 --dir / --config 指定节点",
        data.root().display()
    )
}

/// Opens the store of a stopped node; a store held by a running process is reported as such.
pub fn open_local(config: &Config, listen_hint: &str) -> Result<Local> {
    let data = config.data_dir();
    if !data.store().exists() {
        return Err(not_initialised(&data));
    }
    let kv = match SledKv::open(&data.store()) {
        Ok(kv) => kv,
        Err(e) if e.to_string().contains("lock") => bail!(
            "数据目录 {} 的存储正被运行中的节点占用,但 http://{listen_hint}/healthz 无应答:请确认节点的 HTTP 地址(配置项 http.listen)",
            data.root().display()
        ),
        Err(e) => return Err(e).with_context(|| format!("无法打开存储 {}", data.store().display())),
    };
    let kv: Arc<dyn Kv> = Arc::new(kv);
    let store =
        CaseStore::open(kv.clone(), config.actor_prefix(), StoreConfig::default(), WorkCalendar::builtin())?;
    Ok(Local { kv, store })
}

/// Reaches the node: through its admin API if it answers, else offline.
pub fn connect(config: &Config) -> Result<Node> {
    let mut client = AdminClient::new(&config.http.listen)?;
    match client.probe() {
        Probe::Running { node } => {
            if node != config.node.name {
                bail!(
                    "{} 上运行的是节点「{node}」,不是配置中的「{}」:请检查 --config / --dir",
                    client.base(),
                    config.node.name
                );
            }
            let data = config.data_dir();
            let token = data.read_admin_token().with_context(|| {
                format!(
                    "节点正在运行,但无法读取管理令牌 {}(需与节点同一账户运行)",
                    data.admin_token().display()
                )
            })?;
            client.set_token(token);
            Ok(Node::Online(client))
        }
        Probe::Silent => Ok(Node::Offline(open_local(config, client.base().trim_start_matches("http://"))?)),
    }
}

/// For commands that must not run beside the node (restore): the store, or a refusal.
pub fn connect_offline_only(config: &Config, what: &str) -> Result<Local> {
    let client = AdminClient::new(&config.http.listen)?;
    if let Probe::Running { node } = client.probe() {
        bail!("节点「{node}」正在运行({}):{what}只能在节点停止时进行,请先停止节点", client.base());
    }
    open_local(config, client.base().trim_start_matches("http://")).map_err(|e| {
        if e.to_string().contains("占用") {
            anyhow::anyhow!("节点正在运行(存储被占用):{what}只能在节点停止时进行,请先停止节点")
        } else {
            e
        }
    })
}

/// Reads a text file of at most `max` bytes.
pub fn read_text(path: &Path, what: &str, max: usize) -> Result<String> {
    let size = std::fs::metadata(path).with_context(|| format!("无法读取{what} {}", path.display()))?.len();
    if size > max as u64 {
        bail!("{what} {} 有 {size} 字节,超过上限 {max} 字节", path.display());
    }
    std::fs::read_to_string(path)
        .with_context(|| format!("无法读取{what} {}(须为 UTF-8 文本)", path.display()))
}
