//! The node's configuration file (`yikou.toml`) and the layout of its data directory.
//!
//! Every key has a default, and the defaults are written down once: in `config.default.toml`,
//! embedded in the binary as [`DEFAULT_CONFIG_TOML`] with a comment per key for operators
//! (`Config::default()` equals parsing it: a test keeps the two in step). Unknown keys are
//! refused, so that a misspelt key is not silently replaced by its default.
//!
//! [`Config::load`] reads, resolves relative paths against the file's directory and validates;
//! [`Config::render`] writes a config back as the commented default file with its values filled in
//! (what `yikou init` writes).

use std::collections::BTreeSet;
use std::net::SocketAddr;
use std::path::{Path, PathBuf};

use serde::{Deserialize, Serialize};
use yikou_schema::ids::NodeCode;

use crate::pki::{self, PeerRole};

/// The default configuration, with a comment per key (the file `yikou init` starts from).
pub const DEFAULT_CONFIG_TOML: &str = include_str!("config.default.toml");

/// The file name of a node's configuration inside its data directory.
pub const CONFIG_FILE: &str = "yikou.toml";

/// A configuration file larger than this is refused.
pub const CONFIG_BYTES_MAX: u64 = 1024 * 1024;

/// Peers a node may list.
pub const PEERS_MAX: usize = 256;

/// Upper bounds of the numeric keys (a typo of a few zeros should not take the node down).
pub const BODY_BYTES_LIMIT: u64 = 64 * 1024 * 1024;
pub const UPLOAD_BYTES_LIMIT: u64 = 1024 * 1024 * 1024;
pub const SESSION_TTL_MINUTES_LIMIT: u64 = 7 * 24 * 60;
pub const SUPERVISION_INTERVAL_SECONDS_LIMIT: u64 = 24 * 60 * 60;

/// Why a configuration could not be used. Messages in Chinese with the English gist, for operators.
#[derive(Debug, thiserror::Error)]
pub enum ConfigError {
    #[error("无法读取配置文件 {}:{source}(cannot read config file)", .path.display())]
    Io { path: PathBuf, source: std::io::Error },
    #[error("配置文件 {} 有 {bytes} 字节,超过上限 {max} 字节(config file too large)", .path.display())]
    TooLarge { path: PathBuf, bytes: u64, max: u64 },
    #[error("配置文件 {path} 第 {line} 行:{message}(syntax error)")]
    Syntax { path: String, line: usize, message: String },
    #[error(
        "配置文件 {path} 第 {line} 行:不认识的配置项 {key}(unknown key `{key}`);请核对拼写,可用的配置项见 yikou init 生成的 yikou.toml"
    )]
    UnknownKey { path: String, line: usize, key: String },
    #[error("配置项 {key} 无效:{message}(invalid `{key}`)")]
    Invalid { key: &'static str, message: String },
}

impl ConfigError {
    /// A stable code for logs and tests.
    pub fn code(&self) -> &'static str {
        match self {
            ConfigError::Io { .. } => "config.io",
            ConfigError::TooLarge { .. } => "config.too_large",
            ConfigError::Syntax { .. } => "config.syntax",
            ConfigError::UnknownKey { .. } => "config.unknown_key",
            ConfigError::Invalid { .. } => "config.invalid",
        }
    }

    fn invalid(key: &'static str, message: impl Into<String>) -> ConfigError {
        ConfigError::Invalid { key, message: message.into() }
    }
}

/// The whole configuration file.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, Default)]
#[serde(deny_unknown_fields, default)]
pub struct Config {
    pub node: NodeConfig,
    pub http: HttpConfig,
    pub sync: SyncConfig,
    pub sessions: SessionsConfig,
    pub supervision: SupervisionConfig,
    pub appointments: AppointmentsConfig,
    pub log: LogConfig,
}

/// `[node]`: who this node is and where it keeps its data.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct NodeConfig {
    /// The node's name (as in its certificate).
    pub name: String,
    pub role: PeerRole,
    /// The hall or township code whose cases are this node's own.
    pub scope: String,
    /// The 9-digit node code of its case numbers; empty = `scope` ([`Config::node_code`]).
    pub code: String,
    /// Resolved against the config file's directory by [`Config::load`].
    pub data_dir: PathBuf,
}

impl Default for NodeConfig {
    fn default() -> Self {
        NodeConfig {
            name: "hall".into(),
            role: PeerRole::Hall,
            scope: "410184000".into(),
            code: String::new(),
            data_dir: PathBuf::from("yikou-data"),
        }
    }
}

/// `[http]`: the HTTP API.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct HttpConfig {
    /// A socket address (`ip:port`), checked by [`Config::validate`].
    pub listen: String,
    pub body_bytes_max: u64,
    pub upload_bytes_max: u64,
    pub requests_per_second: u32,
    pub burst: u32,
}

impl Default for HttpConfig {
    fn default() -> Self {
        HttpConfig {
            listen: "127.0.0.1:8080".into(),
            body_bytes_max: 1_048_576,
            upload_bytes_max: 33_554_432,
            requests_per_second: 50,
            burst: 100,
        }
    }
}

/// `[sync]`: replication.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct SyncConfig {
    pub enabled: bool,
    /// A socket address (`ip:port`).
    pub listen: String,
    pub peers: Vec<PeerConfig>,
    /// Relative to the data directory ([`Config::data_dir`]).
    pub tls_dir: PathBuf,
    /// `None`: true on a hall, false on a township ([`Config::fetch_all_attachments`]).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub fetch_all_attachments: Option<bool>,
}

impl Default for SyncConfig {
    fn default() -> Self {
        SyncConfig {
            enabled: true,
            listen: "0.0.0.0:7400".into(),
            peers: Vec::new(),
            tls_dir: PathBuf::from("tls"),
            fetch_all_attachments: None,
        }
    }
}

/// One peer this node connects to.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct PeerConfig {
    /// The peer's node name (as in its certificate).
    pub name: String,
    /// `host:port` (a name or an IP address).
    pub addr: String,
}

impl PeerConfig {
    /// Parses `name=host:port` (the `--peer` option of `yikou init`).
    pub fn parse(s: &str) -> Result<PeerConfig, ConfigError> {
        let (name, addr) = s.split_once('=').ok_or_else(|| {
            ConfigError::invalid(
                "sync.peers",
                format!("「{s}」应写成 名称=主机:端口,例如 town-a=10.0.0.2:7400"),
            )
        })?;
        let peer = PeerConfig { name: name.trim().to_string(), addr: addr.trim().to_string() };
        peer.validate()?;
        Ok(peer)
    }

    fn validate(&self) -> Result<(), ConfigError> {
        pki::validate_node_name(&self.name).map_err(|e| ConfigError::invalid("sync.peers", e.to_string()))?;
        let bad = || {
            ConfigError::invalid(
                "sync.peers",
                format!("对端 {} 的地址「{}」应为 主机:端口,例如 10.0.0.2:7400", self.name, self.addr),
            )
        };
        if self.addr.parse::<SocketAddr>().is_ok() {
            return Ok(());
        }
        let (host, port) = self.addr.rsplit_once(':').ok_or_else(bad)?;
        let host_ok = !host.is_empty()
            && host.len() <= 253
            && host.bytes().all(|b| b.is_ascii_alphanumeric() || b == b'-' || b == b'.');
        match port.parse::<u16>() {
            Ok(p) if p > 0 && host_ok => Ok(()),
            _ => Err(bad()),
        }
    }
}

/// `[sessions]`: staff logins.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct SessionsConfig {
    pub ttl_minutes: u64,
}

impl Default for SessionsConfig {
    fn default() -> Self {
        SessionsConfig { ttl_minutes: 480 }
    }
}

impl SessionsConfig {
    pub fn ttl_ms(&self) -> i64 {
        i64::try_from(self.ttl_minutes.saturating_mul(60_000)).unwrap_or(i64::MAX)
    }
}

/// `[supervision]`: the overdue-case assessment.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct SupervisionConfig {
    pub interval_seconds: u64,
}

impl Default for SupervisionConfig {
    fn default() -> Self {
        SupervisionConfig { interval_seconds: 60 }
    }
}

impl SupervisionConfig {
    pub fn interval_ms(&self) -> u64 {
        self.interval_seconds.saturating_mul(1_000)
    }
}

/// `[appointments]`: W1.3.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct AppointmentsConfig {
    /// Thousandths of the business's average daily cases (100 = the rule's 10 %).
    pub quota_share_per_mille: u32,
}

impl Default for AppointmentsConfig {
    fn default() -> Self {
        AppointmentsConfig { quota_share_per_mille: 100 }
    }
}

/// `[log]`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct LogConfig {
    /// A `tracing_subscriber::EnvFilter` directive.
    pub level: String,
}

impl Default for LogConfig {
    fn default() -> Self {
        LogConfig { level: "info".into() }
    }
}

/// The 1-based line of a byte offset.
fn line_of(text: &str, offset: usize) -> usize {
    text.get(..offset).map_or(1, |prefix| prefix.bytes().filter(|b| *b == b'\n').count() + 1)
}

fn check_socket_addr(key: &'static str, value: &str) -> Result<(), ConfigError> {
    value.parse::<SocketAddr>().map(|_| ()).map_err(|_| {
        ConfigError::invalid(key, format!("「{value}」不是有效的监听地址,应为 IP:端口,例如 127.0.0.1:8080"))
    })
}

fn check_range(key: &'static str, value: u64, min: u64, max: u64) -> Result<(), ConfigError> {
    if (min..=max).contains(&value) {
        Ok(())
    } else {
        Err(ConfigError::invalid(key, format!("{value} 超出允许范围 {min} 至 {max}")))
    }
}

impl Config {
    /// Parses configuration text (paths left as written). `origin` names the file in messages.
    pub fn from_toml(text: &str, origin: &str) -> Result<Config, ConfigError> {
        toml::from_str::<Config>(text).map_err(|e| {
            let line = e.span().map_or(1, |s| line_of(text, s.start));
            let message = e.message().trim().to_string();
            // serde's wording for `deny_unknown_fields`: "unknown field `x`, expected …".
            match message.strip_prefix("unknown field `").and_then(|rest| rest.split_once('`')) {
                Some((key, _)) => {
                    ConfigError::UnknownKey { path: origin.to_string(), line, key: key.to_string() }
                }
                None => ConfigError::Syntax {
                    path: origin.to_string(),
                    line,
                    message: message.replace('\n', ";"),
                },
            }
        })
    }

    /// Loads and validates the configuration: `None` gives the defaults. Relative paths are
    /// resolved against the file's directory (against the working directory without a file).
    pub fn load(path: Option<&Path>) -> Result<Config, ConfigError> {
        let (mut config, base) = match path {
            None => (Config::default(), std::env::current_dir().unwrap_or_default()),
            Some(path) => {
                let io = |source| ConfigError::Io { path: path.to_path_buf(), source };
                let bytes = std::fs::metadata(path).map_err(io)?.len();
                if bytes > CONFIG_BYTES_MAX {
                    return Err(ConfigError::TooLarge {
                        path: path.to_path_buf(),
                        bytes,
                        max: CONFIG_BYTES_MAX,
                    });
                }
                let text = std::fs::read_to_string(path).map_err(io)?;
                let config = Config::from_toml(&text, &path.display().to_string())?;
                let dir = path.parent().filter(|d| !d.as_os_str().is_empty()).unwrap_or(Path::new("."));
                let base = if dir.is_absolute() {
                    dir.to_path_buf()
                } else {
                    std::env::current_dir().map(|cwd| cwd.join(dir)).unwrap_or_else(|_| dir.to_path_buf())
                };
                (config, base)
            }
        };
        config.resolve_paths(&base);
        config.validate()?;
        Ok(config)
    }

    /// Makes `node.data_dir` absolute against `base` (`sync.tls_dir` stays relative to it).
    pub fn resolve_paths(&mut self, base: &Path) {
        if self.node.data_dir.is_relative() {
            let joined = base.join(&self.node.data_dir);
            // `dir/.` reads better as `dir`.
            self.node.data_dir =
                if self.node.data_dir == Path::new(".") { base.to_path_buf() } else { joined };
        }
    }

    /// Checks every value; the first problem is returned.
    pub fn validate(&self) -> Result<(), ConfigError> {
        let n = &self.node;
        pki::validate_node_name(&n.name).map_err(|e| ConfigError::invalid("node.name", e.to_string()))?;
        pki::validate_scope(&n.scope).map_err(|e| ConfigError::invalid("node.scope", e.to_string()))?;
        self.node_code()?;
        if n.data_dir.as_os_str().is_empty() {
            return Err(ConfigError::invalid("node.data_dir", "不能为空"));
        }
        check_socket_addr("http.listen", &self.http.listen)?;
        check_range("http.body_bytes_max", self.http.body_bytes_max, 1024, BODY_BYTES_LIMIT)?;
        check_range("http.upload_bytes_max", self.http.upload_bytes_max, 1024, UPLOAD_BYTES_LIMIT)?;
        check_range("http.requests_per_second", self.http.requests_per_second.into(), 1, 100_000)?;
        check_range("http.burst", self.http.burst.into(), 1, 1_000_000)?;
        check_socket_addr("sync.listen", &self.sync.listen)?;
        if self.sync.peers.len() > PEERS_MAX {
            return Err(ConfigError::invalid(
                "sync.peers",
                format!("对端 {} 个,超过上限 {PEERS_MAX} 个", self.sync.peers.len()),
            ));
        }
        let mut names = BTreeSet::new();
        for peer in &self.sync.peers {
            peer.validate()?;
            if peer.name == n.name {
                return Err(ConfigError::invalid(
                    "sync.peers",
                    format!("对端名称 {} 与本节点相同", peer.name),
                ));
            }
            if !names.insert(peer.name.as_str()) {
                return Err(ConfigError::invalid("sync.peers", format!("对端 {} 重复", peer.name)));
            }
        }
        if self.sync.tls_dir.as_os_str().is_empty() {
            return Err(ConfigError::invalid("sync.tls_dir", "不能为空"));
        }
        check_range("sessions.ttl_minutes", self.sessions.ttl_minutes, 1, SESSION_TTL_MINUTES_LIMIT)?;
        check_range(
            "supervision.interval_seconds",
            self.supervision.interval_seconds,
            1,
            SUPERVISION_INTERVAL_SECONDS_LIMIT,
        )?;
        check_range(
            "appointments.quota_share_per_mille",
            self.appointments.quota_share_per_mille.into(),
            1,
            1000,
        )?;
        tracing_subscriber::EnvFilter::try_new(&self.log.level).map_err(|e| {
            ConfigError::invalid("log.level", format!("「{}」不是有效的日志级别:{e}", self.log.level))
        })?;
        Ok(())
    }

    /// The node code of this node's case numbers: `node.code`, or the scope when that is empty.
    pub fn node_code(&self) -> Result<NodeCode, ConfigError> {
        let (key, text) = if self.node.code.is_empty() {
            ("node.scope", &self.node.scope)
        } else {
            ("node.code", &self.node.code)
        };
        NodeCode::parse(text).map_err(|e| {
            ConfigError::invalid(key, format!("「{text}」不能作为办件编号中的 9 位节点编码:{e}"))
        })
    }

    /// Whether replication fetches every attachment (default: on a hall, not on a township).
    pub fn fetch_all_attachments(&self) -> bool {
        self.sync.fetch_all_attachments.unwrap_or(self.node.role == PeerRole::Hall)
    }

    /// The Automerge actor prefix of this node's store (the store appends a suffix per opening);
    /// the CLI's offline commands and the running node use the same one, so that reference data
    /// the CLI writes counts as this node's own.
    pub fn actor_prefix(&self) -> Vec<u8> {
        self.node.name.as_bytes().to_vec()
    }

    /// The data directory's paths.
    pub fn data_dir(&self) -> DataDir {
        let root = self.node.data_dir.clone();
        let tls = root.join(&self.sync.tls_dir);
        DataDir { root, tls }
    }

    /// The configuration as a file: the commented default file with this config's values (keys
    /// the default file does not show, such as `fetch_all_attachments` when set, are added at the
    /// end of their table). `Config::from_toml(&c.render())` gives `c` back.
    pub fn render(&self) -> String {
        let Ok(toml::Value::Table(tables)) = toml::Value::try_from(self) else {
            // The config is plain data (strings, numbers, booleans, tables, arrays): the
            // serialisation cannot fail. Should it ever, the defaults file is still a valid config.
            return DEFAULT_CONFIG_TOML.to_string();
        };
        let mut out = String::with_capacity(DEFAULT_CONFIG_TOML.len() + 256);
        let mut section: Option<&toml::Table> = None;
        let mut written: BTreeSet<String> = BTreeSet::new();
        let flush = |out: &mut String, section: Option<&toml::Table>, written: &BTreeSet<String>| {
            if let Some(table) = section {
                for (key, value) in table.iter().filter(|(k, _)| !written.contains(k.as_str())) {
                    out.push_str(&format!("{key} = {value}\n"));
                }
            }
        };
        for line in DEFAULT_CONFIG_TOML.lines() {
            let trimmed = line.trim();
            if let Some(name) = trimmed.strip_prefix('[').and_then(|s| s.strip_suffix(']')) {
                flush(&mut out, section, &written);
                written.clear();
                section = tables.get(name).and_then(|v| v.as_table());
                out.push_str(line);
                out.push('\n');
                continue;
            }
            let key = trimmed.split_once('=').map(|(k, _)| k.trim()).filter(|_| !trimmed.starts_with('#'));
            match (key, section) {
                (Some(key), Some(table)) => {
                    if let Some(value) = table.get(key) {
                        out.push_str(&format!("{key} = {value}\n"));
                        written.insert(key.to_string());
                    }
                }
                _ => {
                    out.push_str(line);
                    out.push('\n');
                }
            }
        }
        flush(&mut out, section, &written);
        out
    }
}

/// The paths of a node's data directory.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct DataDir {
    root: PathBuf,
    tls: PathBuf,
}

impl DataDir {
    /// The layout under `root`, certificates in `root/tls`.
    pub fn new(root: impl Into<PathBuf>) -> DataDir {
        let root = root.into();
        DataDir { tls: root.join("tls"), root }
    }

    pub fn root(&self) -> &Path {
        &self.root
    }

    /// The case store (sled).
    pub fn store(&self) -> PathBuf {
        self.root.join("store")
    }

    /// Scanned materials, by hash.
    pub fn attachments(&self) -> PathBuf {
        self.root.join("attachments")
    }

    /// The node's certificates: node.pem, node.key.pem (0600), ca.pem, crl.pem.
    pub fn tls(&self) -> PathBuf {
        self.tls.clone()
    }

    /// The operator CLI's credential for the running node's admin API (mode 0600).
    pub fn admin_token(&self) -> PathBuf {
        self.root.join("admin.token")
    }

    /// The node's configuration as `yikou init` wrote it.
    pub fn config(&self) -> PathBuf {
        self.root.join(CONFIG_FILE)
    }

    /// Whether `yikou init` has run here (any of its products is present).
    pub fn is_initialised(&self) -> bool {
        self.config().exists() || self.store().exists() || self.admin_token().exists()
    }

    /// The admin token, trimmed.
    pub fn read_admin_token(&self) -> std::io::Result<String> {
        Ok(std::fs::read_to_string(self.admin_token())?.trim().to_string())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_embedded_file_is_the_default() {
        let parsed = Config::from_toml(DEFAULT_CONFIG_TOML, "default").expect("the default file parses");
        assert_eq!(parsed, Config::default());
        Config::default().validate().expect("the defaults are valid");
        assert_eq!(Config::default().render(), DEFAULT_CONFIG_TOML);
        assert!(Config::default().fetch_all_attachments());
        assert_eq!(Config::default().node_code().expect("code").as_str(), "410184000");
    }

    #[test]
    fn every_default_key_is_documented_in_the_file() {
        let Ok(toml::Value::Table(tables)) = toml::Value::try_from(Config::default()) else {
            panic!("serialises")
        };
        for (section, table) in &tables {
            assert!(DEFAULT_CONFIG_TOML.contains(&format!("[{section}]")), "{section}");
            for key in table.as_table().expect("table").keys() {
                assert!(DEFAULT_CONFIG_TOML.contains(&format!("\n{key} = ")), "{section}.{key}");
            }
        }
        assert!(DEFAULT_CONFIG_TOML.contains("# fetch_all_attachments = "));
    }

    #[test]
    fn render_round_trips_a_changed_config() {
        let mut c = Config::default();
        c.node.name = "town-a".into();
        c.node.role = PeerRole::Township;
        c.node.scope = "410184001".into();
        c.node.data_dir = ".".into();
        c.http.listen = "127.0.0.1:18080".into();
        c.sync.peers = vec![PeerConfig::parse("hall=10.0.0.1:7400").expect("peer")];
        c.sync.fetch_all_attachments = Some(true);
        let text = c.render();
        assert!(text.contains("# The node's name in the network"), "{text}");
        assert_eq!(Config::from_toml(&text, "rendered").expect("parses"), c, "{text}");
        c.validate().expect("valid");
        assert!(c.fetch_all_attachments());
        c.sync.fetch_all_attachments = None;
        assert!(!c.fetch_all_attachments());
    }

    #[test]
    fn unknown_keys_are_refused_with_the_key_named() {
        let err = Config::from_toml("[http]\nlisten = \"127.0.0.1:1\"\nlisten_adress = \"x\"\n", "f.toml")
            .expect_err("unknown key");
        assert_eq!(err.code(), "config.unknown_key");
        let msg = err.to_string();
        assert!(msg.contains("listen_adress") && msg.contains("第 3 行"), "{msg}");
        let err = Config::from_toml("[nod]\nname = \"x\"\n", "f.toml").expect_err("unknown table");
        assert!(err.to_string().contains("nod"), "{err}");
    }

    #[test]
    fn bad_values_are_refused_with_the_key_named() {
        let cases = [
            ("[node]\nrole = \"county\"\n", "config.syntax", "county"),
            ("[node]\nscope = \"41-01\"\n", "config.invalid", "node.scope"),
            ("[node]\nscope = \"ABC\"\n", "config.invalid", "node.scope"),
            ("[node]\nname = \"Hall A\"\n", "config.invalid", "node.name"),
            ("[http]\nlisten = \"localhost\"\n", "config.invalid", "http.listen"),
            ("[sync]\nlisten = \"0.0.0.0\"\n", "config.invalid", "sync.listen"),
            ("[sync]\npeers = [{ name = \"a\", addr = \"nohost\" }]\n", "config.invalid", "sync.peers"),
            ("[http]\nburst = 0\n", "config.invalid", "http.burst"),
            ("[appointments]\nquota_share_per_mille = 2000\n", "config.invalid", "quota_share_per_mille"),
            ("[log]\nlevel = \"loud=[\"\n", "config.invalid", "log.level"),
        ];
        for (text, code, named) in cases {
            let err = Config::from_toml(text, "f.toml").and_then(|c| c.validate()).expect_err(text);
            assert_eq!(err.code(), code, "{text}: {err}");
            assert!(err.to_string().contains(named), "{text}: {err}");
        }
    }

    #[test]
    fn relative_paths_resolve_against_the_file() {
        let dir = tempfile::tempdir().expect("tempdir");
        let path = dir.path().join("yikou.toml");
        std::fs::write(&path, "[node]\ndata_dir = \"data\"\n").expect("write");
        let c = Config::load(Some(&path)).expect("loads");
        assert_eq!(c.node.data_dir, dir.path().join("data"));
        let d = c.data_dir();
        assert_eq!(d.store(), dir.path().join("data/store"));
        assert_eq!(d.tls(), dir.path().join("data/tls"));
        assert_eq!(d.admin_token(), dir.path().join("data/admin.token"));
        assert_eq!(d.config(), dir.path().join("data/yikou.toml"));
        std::fs::write(&path, "[node]\ndata_dir = \".\"\n").expect("write");
        assert_eq!(Config::load(Some(&path)).expect("loads").node.data_dir, dir.path());
        let missing = Config::load(Some(&dir.path().join("nope.toml"))).expect_err("missing");
        assert_eq!(missing.code(), "config.io");
    }

    #[test]
    fn peer_options_parse() {
        assert_eq!(
            PeerConfig::parse("town-a=town-a.example:7400").expect("ok"),
            PeerConfig { name: "town-a".into(), addr: "town-a.example:7400".into() }
        );
        assert!(PeerConfig::parse("[::1]:7400").is_err());
        assert!(PeerConfig::parse("a=[::1]:7400").is_ok());
        assert!(PeerConfig::parse("a=host:0").is_err());
    }
}
