//! `yikou init`: a new node's data directory: its configuration, its certificates, an empty
//! store and the admin token of the operator CLI. Callable from code (the demo builds its nodes
//! with it).

use std::fmt;
use std::io::Write;
use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use anyhow::{Context, Result, bail};
use yikou_schema::calendar::WorkCalendar;

use crate::config::{Config, DataDir, PeerConfig};
use crate::pki::{Ca, NodeCredentials, NodeIdentity, PeerRole, files};
use crate::store::{CaseStore, Kv, SledKv, StoreConfig};

/// Random bytes of the admin token (written as hex).
pub const ADMIN_TOKEN_BYTES: usize = 32;

/// Where the node's certificates come from.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Credentials {
    /// Issued now by the network CA in this directory (`yikou ca init`).
    Ca(PathBuf),
    /// Issued elsewhere (`yikou ca issue … --out DIR`): copied from this directory.
    Issued(PathBuf),
    /// A one-node CA made inside the data directory (`tls/ca`): a standalone node.
    SelfSigned,
}

/// What `yikou init` is told.
#[derive(Debug, Clone)]
pub struct InitOptions {
    pub dir: PathBuf,
    pub name: String,
    pub role: PeerRole,
    pub scope: String,
    /// The 9-digit node code of case numbers; `None` = the scope.
    pub code: Option<String>,
    /// The HTTP listen address; `None` = the default.
    pub http: Option<String>,
    /// The replication listen address; `None` = the default.
    pub sync: Option<String>,
    pub peers: Vec<PeerConfig>,
    pub credentials: Credentials,
}

/// What `yikou init` made.
#[derive(Debug, Clone)]
pub struct InitReport {
    pub dir: PathBuf,
    pub config_file: PathBuf,
    pub tls_dir: PathBuf,
    pub store_dir: PathBuf,
    pub admin_token: PathBuf,
    /// The one-node CA, for `Credentials::SelfSigned`.
    pub ca_dir: Option<PathBuf>,
    pub identity: NodeIdentity,
    /// The configuration as written (paths resolved).
    pub config: Config,
}

impl fmt::Display for InitReport {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        writeln!(f, "已初始化节点 {},数据目录 {}:", self.identity, self.dir.display())?;
        writeln!(f, "  配置文件    {}", self.config_file.display())?;
        writeln!(f, "  节点证书    {}", self.tls_dir.display())?;
        if let Some(ca) = &self.ca_dir {
            writeln!(
                f,
                "  单节点 CA   {}(私钥仅本账户可读;以后加入网络时改用网络 CA 签发的证书)",
                ca.display()
            )?;
        }
        writeln!(f, "  办件存储    {}", self.store_dir.display())?;
        writeln!(
            f,
            "  管理令牌    {}(仅本账户可读,运维命令用它访问运行中的节点)",
            self.admin_token.display()
        )?;
        writeln!(f, "下一步:添加工作人员账户,例如")?;
        writeln!(
            f,
            "  yikou user add --dir {} --staff clerk01 --name 张三 --role window_clerk --password-stdin",
            self.dir.display()
        )?;
        if self.config.node.role == PeerRole::Hall {
            writeln!(f, "  yikou catalog import --dir {} 事项清单.toml", self.dir.display())?;
        }
        writeln!(f, "然后启动节点:yikou run --dir {}", self.dir.display())
    }
}

fn now() -> SystemTime {
    UNIX_EPOCH + Duration::from_millis(u64::try_from(crate::clock::now_ms()).unwrap_or(0))
}

/// Writes a file that must not exist yet, with mode 0600 when `private`, and fsyncs it.
pub fn write_new_file(path: &Path, bytes: &[u8], private: bool) -> std::io::Result<()> {
    let mut file = crate::pki::create_new_file(path, private)?;
    file.write_all(bytes)?;
    file.sync_all()
}

/// A new admin token: [`ADMIN_TOKEN_BYTES`] random bytes as hex.
pub fn new_admin_token() -> Result<String> {
    let mut bytes = [0u8; ADMIN_TOKEN_BYTES];
    getrandom::fill(&mut bytes).map_err(|e| anyhow::anyhow!("无法取得系统随机数:{e}"))?;
    Ok(bytes.iter().map(|b| format!("{b:02x}")).collect())
}

/// Creates and fills a node's data directory. Refuses a directory that is already initialised.
/// On failure, what it made is removed again.
pub fn init(opts: &InitOptions) -> Result<InitReport> {
    let mut config = Config::default();
    config.node.name = opts.name.clone();
    config.node.role = opts.role;
    config.node.scope = opts.scope.clone();
    config.node.code = opts.code.clone().unwrap_or_default();
    // The data directory is the one holding the config file.
    config.node.data_dir = PathBuf::from(".");
    if let Some(http) = &opts.http {
        config.http.listen = http.clone();
    }
    if let Some(sync) = &opts.sync {
        config.sync.listen = sync.clone();
    }
    config.sync.peers = opts.peers.clone();
    config.validate()?;
    let identity = NodeIdentity::new(opts.name.clone(), opts.role, opts.scope.clone())?;

    let data = DataDir::new(&opts.dir);
    if data.is_initialised() || data.tls().join(files::NODE_CERT).exists() {
        bail!(
            "目录 {} 已经初始化过(已有配置文件、存储或证书),拒绝覆盖:如确需重建,请先备份并移走该目录",
            opts.dir.display()
        );
    }
    let existed = opts.dir.exists();
    std::fs::create_dir_all(&opts.dir).with_context(|| format!("无法创建目录 {}", opts.dir.display()))?;
    let made = make(opts, &config, &identity, &data);
    if made.is_err() {
        // Leave the directory as it was: a half-made node would be refused by the next `init`.
        if existed {
            let ca = data.tls().join("ca");
            let _ = std::fs::remove_dir_all(data.store());
            let _ = std::fs::remove_file(data.admin_token());
            let _ = std::fs::remove_file(data.config());
            for file in [files::NODE_CERT, files::NODE_KEY, files::CA_CERT, files::CRL] {
                let _ = std::fs::remove_file(data.tls().join(file));
            }
            if matches!(opts.credentials, Credentials::SelfSigned) {
                let _ = std::fs::remove_dir_all(ca);
            }
            let _ = std::fs::remove_dir(data.tls());
        } else {
            let _ = std::fs::remove_dir_all(&opts.dir);
        }
    }
    let ca_dir = made?;
    let mut resolved = config.clone();
    let base = std::fs::canonicalize(&opts.dir).unwrap_or_else(|_| opts.dir.clone());
    resolved.resolve_paths(&base);
    let data = resolved.data_dir();
    let ca_dir = ca_dir.map(|_| data.tls().join("ca"));
    Ok(InitReport {
        dir: base,
        config_file: data.config(),
        tls_dir: data.tls(),
        store_dir: data.store(),
        admin_token: data.admin_token(),
        ca_dir,
        identity,
        config: resolved,
    })
}

/// The steps of [`init`] that write.
fn make(
    opts: &InitOptions,
    config: &Config,
    identity: &NodeIdentity,
    data: &DataDir,
) -> Result<Option<PathBuf>> {
    let tls = data.tls();
    let ca_dir = match &opts.credentials {
        Credentials::Ca(dir) => {
            let mut ca = Ca::open(dir)?;
            ca.issue(identity, &tls, now())?;
            None
        }
        Credentials::Issued(dir) => {
            copy_credentials(dir, &tls, identity)?;
            None
        }
        Credentials::SelfSigned => {
            let ca_dir = tls.join("ca");
            let mut ca = Ca::init(&ca_dir, &format!("{} 单节点 CA", opts.name), now())?;
            ca.issue(identity, &tls, now())?;
            Some(ca_dir)
        }
    };
    // The certificates must load as the node will load them.
    NodeCredentials::load(&tls)?;

    let store_dir = data.store();
    {
        let kv: Arc<dyn Kv> = Arc::new(SledKv::open(&store_dir)?);
        let store =
            CaseStore::open(kv, config.actor_prefix(), StoreConfig::default(), WorkCalendar::builtin())?;
        drop(store);
    }
    let token = new_admin_token()?;
    write_new_file(&data.admin_token(), format!("{token}\n").as_bytes(), true)
        .with_context(|| format!("无法写入管理令牌 {}", data.admin_token().display()))?;
    // The configuration last: its presence marks the directory as a node's.
    write_new_file(&data.config(), config.render().as_bytes(), false)
        .with_context(|| format!("无法写入配置文件 {}", data.config().display()))?;
    Ok(ca_dir)
}

/// Copies credentials issued elsewhere, after checking they are for this node.
fn copy_credentials(from: &Path, tls: &Path, identity: &NodeIdentity) -> Result<()> {
    let creds = NodeCredentials::load(from)?;
    if creds.identity != *identity {
        bail!(
            "{} 中的证书属于节点 {},不是本节点 {}:请用 yikou ca issue 为本节点签发证书",
            from.display(),
            creds.identity,
            identity
        );
    }
    std::fs::create_dir_all(tls).with_context(|| format!("无法创建目录 {}", tls.display()))?;
    for (file, private, required) in [
        (files::NODE_CERT, false, true),
        (files::NODE_KEY, true, true),
        (files::CA_CERT, false, true),
        (files::CRL, false, false),
    ] {
        let source = from.join(file);
        if !required && !source.exists() {
            continue;
        }
        let bytes = std::fs::read(&source).with_context(|| format!("无法读取 {}", source.display()))?;
        let target = tls.join(file);
        write_new_file(&target, &bytes, private).with_context(|| format!("无法写入 {}", target.display()))?;
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn options(dir: &Path, credentials: Credentials) -> InitOptions {
        InitOptions {
            dir: dir.to_path_buf(),
            name: "town-a".into(),
            role: PeerRole::Township,
            scope: "410184001".into(),
            code: None,
            http: Some("127.0.0.1:18081".into()),
            sync: None,
            peers: vec![PeerConfig::parse("hall=127.0.0.1:7400").expect("peer")],
            credentials,
        }
    }

    #[test]
    fn init_from_a_network_ca_and_from_issued_files() {
        let tmp = tempfile::tempdir().expect("tempdir");
        let ca_dir = tmp.path().join("ca");
        Ca::init(&ca_dir, "某县政务服务中心", now()).expect("ca");
        let dir = tmp.path().join("town-a");
        let report = init(&options(&dir, Credentials::Ca(ca_dir.clone()))).expect("init");
        assert_eq!(report.ca_dir, None);
        let config = Config::load(Some(&dir.join("yikou.toml"))).expect("config loads");
        assert_eq!(config.node.data_dir, report.dir);
        assert_eq!(config.sync.peers.len(), 1);
        assert_eq!(config.http.listen, "127.0.0.1:18081");
        assert_eq!(NodeCredentials::load(&config.data_dir().tls()).expect("creds").identity, report.identity);
        // Re-init refused.
        assert!(init(&options(&dir, Credentials::SelfSigned)).is_err());

        // Issued elsewhere, then copied.
        let out = tmp.path().join("issued");
        Ca::open(&ca_dir)
            .expect("ca")
            .issue(&NodeIdentity::new("town-a", PeerRole::Township, "410184001").expect("id"), &out, now())
            .expect("issued");
        let dir2 = tmp.path().join("town-a-2");
        init(&options(&dir2, Credentials::Issued(out.clone()))).expect("init");
        assert!(dir2.join("tls/crl.pem").exists());
        // Someone else's certificate is refused, and nothing is left behind.
        let mut other = options(&tmp.path().join("town-b"), Credentials::Issued(out));
        other.name = "town-b".into();
        let err = init(&other).expect_err("wrong node");
        assert!(err.to_string().contains("不是本节点"), "{err}");
        assert!(!tmp.path().join("town-b").exists());
    }

    #[test]
    fn a_bad_option_makes_nothing() {
        let tmp = tempfile::tempdir().expect("tempdir");
        let dir = tmp.path().join("x");
        let mut o = options(&dir, Credentials::SelfSigned);
        o.http = Some("nowhere".into());
        let err = init(&o).expect_err("bad");
        assert!(err.to_string().contains("http.listen"), "{err}");
        assert!(!dir.exists());
    }
}
