//! The private network CA and mutual TLS for replication.
//!
//! Nodes replicate over QUIC, and both ends of every connection prove who they are with a
//! certificate from the network's own CA (one per deployment, kept offline by the county's
//! operator). Nothing else is trusted: not the operating system's roots, not a shared password.
//!
//! ## What a certificate says
//!
//! A node certificate names the node three times, for three readers:
//! - the SAN DNS name `{name}.yikou` is what a client passes as the TLS server name, so rustls's
//!   ordinary host-name check ties the connection to the node it meant to reach;
//! - the SAN URI `urn:yikou:node:{name}:{role}:{scope}` carries the whole [`NodeIdentity`]: the
//!   name, whether it is a county hall or a township, and the hall or township code it serves.
//!   A URI is a standard, machine-readable place in the certificate that TLS libraries neither
//!   interpret nor reject, needs no private OID, and survives every X.509 tool untouched, so the
//!   replication layer can decide what a peer may see and send ([`peer_identity`]) from the
//!   certificate the handshake has already verified, without a separate node registry;
//! - the subject CN repeats the name for humans reading the certificate with `openssl x509`.
//!
//! Node certificates carry both the server-auth and the client-auth extended key usage: every
//! node dials and is dialled.
//!
//! ## Where revocation comes from
//!
//! `yikou ca revoke` adds every certificate issued to a node name to the CA directory's
//! `revoked.json` and signs a new `crl.pem` with the next CRL number. The operator copies that
//! file to every node (with the next software update, on a USB stick, or by replication of
//! reference data); nodes load it with their credentials ([`NodeCredentials::load`]) and both
//! verifiers, client and server, refuse a revoked peer. Townships may stay offline for weeks, so
//! the CRL's `nextUpdate` is not enforced (rustls's default): an old list still protects against
//! what it lists. A node picks up a new list when it rebuilds its configs
//! ([`server_config`], [`client_config`]); quinn's `Endpoint::set_server_config` swaps the
//! server side in place. TLS session resumption is disabled on both sides so that every
//! connection is verified against the list in force.
//!
//! ## Layout of a CA directory
//!
//! `ca.pem` (the CA certificate, 10 years), `ca.key.pem` (its private key, mode 0600),
//! `crl.pem` (the current revocation list), `revoked.json` (the CRL number and each revoked
//! serial with its node and date), `issued.json` (every certificate issued: serial, node, role,
//! scope, validity). What a node receives from `yikou ca issue`: `node.pem`, `node.key.pem`
//! (0600), `ca.pem` and `crl.pem`.
//!
//! Time is always a parameter (`now`); only the command line reads the clock.

use std::fmt;
use std::path::{Path, PathBuf};
use std::str::FromStr;
use std::sync::Arc;
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use chrono::{DateTime, SecondsFormat, Utc};
use quinn::crypto::rustls::{QuicClientConfig, QuicServerConfig};
use rcgen::{
    BasicConstraints, CertificateParams, CertificateRevocationListParams, DistinguishedName, DnType,
    ExtendedKeyUsagePurpose, IsCa, Issuer, KeyIdMethod, KeyPair, KeyUsagePurpose, PublicKeyData,
    RevokedCertParams, SanType, SerialNumber,
};
use rustls::RootCertStore;
use rustls::crypto::CryptoProvider;
use rustls::pki_types::pem::PemObject;
use rustls::pki_types::{CertificateDer, CertificateRevocationListDer, PrivateKeyDer, PrivatePkcs8KeyDer};
use rustls::server::WebPkiClientVerifier;
use serde::{Deserialize, Serialize};
use x509_parser::extensions::{GeneralName, ParsedExtension};

/// The ALPN protocol of node-to-node replication.
pub const ALPN: &[u8] = b"yikou/1";
/// QUIC keep-alive interval: well inside NAT and firewall UDP timeouts.
pub const KEEP_ALIVE_MS: u32 = 5_000;
/// A connection silent for this long is dead (six missed keep-alives).
pub const IDLE_TIMEOUT_MS: u32 = 30_000;
const _: () =
    assert!(KEEP_ALIVE_MS * 3 <= IDLE_TIMEOUT_MS, "keep-alives must come well within the idle timeout");
/// The DNS suffix of node server names: `{name}.yikou`.
pub const DNS_SUFFIX: &str = "yikou";
/// The prefix of the SAN URI that carries a node's identity.
pub const IDENTITY_URI_PREFIX: &str = "urn:yikou:node:";

/// Validity of the network CA's certificate (10 years).
pub const CA_VALIDITY: Duration = Duration::from_secs(3_652 * DAY_SECS);
/// Validity of a node certificate (2 years), never beyond the CA's.
pub const NODE_VALIDITY: Duration = Duration::from_secs(730 * DAY_SECS);
/// Certificates start one day before `now`: an offline township's clock may lag the operator's.
pub const BACKDATE: Duration = Duration::from_secs(DAY_SECS);
/// The `nextUpdate` a CRL announces (not enforced by the nodes, see the module docs).
pub const CRL_NEXT_UPDATE: Duration = Duration::from_secs(90 * DAY_SECS);

const DAY_SECS: u64 = 86_400;
const MAX_NAME_LEN: usize = 32;
const MAX_SCOPE_LEN: usize = 32;
const MAX_ORG_LEN: usize = 64;
const SERIAL_LEN: usize = 16;
/// Latest `now` accepted (about year 8000): keeps every date encodable.
const MAX_UNIX_SECS: u64 = 190_000_000_000;
const CA_COMMON_NAME: &str = "Yikou network CA";

/// File names of a CA directory and of an issued node's directory.
pub mod files {
    /// The CA certificate (also copied to each node).
    pub const CA_CERT: &str = "ca.pem";
    /// The CA private key (CA directory only, mode 0600).
    pub const CA_KEY: &str = "ca.key.pem";
    /// The current certificate revocation list (also copied to each node).
    pub const CRL: &str = "crl.pem";
    /// The revocation register: CRL number and revoked serials.
    pub const REVOKED: &str = "revoked.json";
    /// The issue register: every node certificate the CA signed.
    pub const ISSUED: &str = "issued.json";
    /// A node's certificate.
    pub const NODE_CERT: &str = "node.pem";
    /// A node's private key (mode 0600).
    pub const NODE_KEY: &str = "node.key.pem";
}

// ---------------------------------------------------------------------------------------------
// Errors
// ---------------------------------------------------------------------------------------------

/// Why a CA operation, a credential or a TLS configuration failed. Messages are in Chinese, for
/// the operator; [`PkiError::code`] is stable.
#[derive(Debug, thiserror::Error)]
pub enum PkiError {
    #[error(
        "节点名称「{0}」无效:只能由小写字母 a-z、数字和连字符 - 组成,长度 1 至 32 个字符,且不能以连字符开头或结尾"
    )]
    InvalidNodeName(String),
    #[error(
        "节点范围「{0}」无效:应为乡镇或大厅的编码(例如 330102001),只能由字母和数字组成,长度 1 至 32 个字符"
    )]
    InvalidScope(String),
    #[error("节点角色「{0}」无效:只能是 hall(大厅)或 township(乡镇)")]
    InvalidRole(String),
    #[error("机构名称「{0}」无效:不能为空,不能含控制字符,长度不超过 64 个字符")]
    InvalidOrgName(String),
    #[error("目录 {} 中已有网络 CA({file} 已存在),拒绝覆盖:如确需重建,请先备份并移走该目录中的文件", .dir.display())]
    CaExists { dir: PathBuf, file: &'static str },
    #[error("目录 {} 中没有网络 CA(缺少 {file}):请先运行 yikou ca init,或检查目录是否正确", .dir.display())]
    CaMissing { dir: PathBuf, file: &'static str },
    #[error("CA 私钥与 CA 证书不匹配(目录 {}):请检查 ca.key.pem 或 ca.pem 是否被替换", .dir.display())]
    CaKeyMismatch { dir: PathBuf },
    #[error("无法{action} {}:{source}", .path.display())]
    Io {
        action: &'static str,
        path: PathBuf,
        #[source]
        source: std::io::Error,
    },
    #[error("{what}已损坏或格式不对:{detail}")]
    Malformed { what: String, detail: String },
    #[error("证书中没有 Yikou 节点身份(SAN URI {IDENTITY_URI_PREFIX}…):它不是本网络 CA 签发的节点证书")]
    NoIdentity,
    #[error("证书中的节点身份无效:{0}")]
    BadIdentity(String),
    #[error("CA 没有给节点「{0}」签发过证书,无法吊销:请核对节点名称(签发记录见 CA 目录的 issued.json)")]
    NotIssued(String),
    #[error("吊销列表 crl.pem 不是本网络 CA(ca.pem)签发的:请向 CA 管理员索取本网络当前的 crl.pem")]
    CrlNotFromCa,
    #[error("时间超出证书可表示的范围,请检查系统时钟")]
    TimeOutOfRange,
    #[error("生成证书或吊销列表失败:{0}")]
    Sign(#[from] rcgen::Error),
    #[error("TLS 配置失败:{0}")]
    Tls(String),
    #[error("对端没有出示证书")]
    NoPeerCertificate,
}

impl PkiError {
    /// A stable code for logs, metrics and tests.
    pub fn code(&self) -> &'static str {
        match self {
            PkiError::InvalidNodeName(_) => "pki.invalid_node_name",
            PkiError::InvalidScope(_) => "pki.invalid_scope",
            PkiError::InvalidRole(_) => "pki.invalid_role",
            PkiError::InvalidOrgName(_) => "pki.invalid_org_name",
            PkiError::CaExists { .. } => "pki.ca_exists",
            PkiError::CaMissing { .. } => "pki.ca_missing",
            PkiError::CaKeyMismatch { .. } => "pki.ca_key_mismatch",
            PkiError::Io { .. } => "pki.io",
            PkiError::Malformed { .. } => "pki.malformed",
            PkiError::NoIdentity => "pki.no_identity",
            PkiError::BadIdentity(_) => "pki.bad_identity",
            PkiError::NotIssued(_) => "pki.not_issued",
            PkiError::CrlNotFromCa => "pki.crl_not_from_ca",
            PkiError::TimeOutOfRange => "pki.time_out_of_range",
            PkiError::Sign(_) => "pki.sign",
            PkiError::Tls(_) => "pki.tls",
            PkiError::NoPeerCertificate => "pki.no_peer_certificate",
        }
    }
}

fn malformed(what: impl Into<String>, detail: impl fmt::Display) -> PkiError {
    PkiError::Malformed { what: what.into(), detail: detail.to_string() }
}

fn io_err(action: &'static str, path: &Path) -> impl FnOnce(std::io::Error) -> PkiError {
    let path = path.to_path_buf();
    move |source| PkiError::Io { action, path, source }
}

fn tls_err(context: &str) -> impl FnOnce(String) -> PkiError {
    let context = context.to_string();
    move |detail| PkiError::Tls(format!("{context}({detail})"))
}

// ---------------------------------------------------------------------------------------------
// Identity
// ---------------------------------------------------------------------------------------------

/// What kind of node a certificate is for.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum PeerRole {
    /// A county service hall (县级政务服务大厅).
    Hall,
    /// A township service centre (乡镇便民服务中心).
    Township,
}

impl PeerRole {
    /// The stable spelling, used in certificates, files and the command line.
    pub fn as_str(self) -> &'static str {
        match self {
            PeerRole::Hall => "hall",
            PeerRole::Township => "township",
        }
    }

    /// The Chinese label for messages.
    pub fn label(self) -> &'static str {
        match self {
            PeerRole::Hall => "大厅",
            PeerRole::Township => "乡镇",
        }
    }

    /// Parses `hall` or `township`.
    pub fn parse(s: &str) -> Result<PeerRole, PkiError> {
        match s {
            "hall" => Ok(PeerRole::Hall),
            "township" => Ok(PeerRole::Township),
            other => Err(PkiError::InvalidRole(other.to_string())),
        }
    }
}

impl fmt::Display for PeerRole {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

impl FromStr for PeerRole {
    type Err = PkiError;
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        PeerRole::parse(s)
    }
}

/// Who a node is, as its certificate says: name (unique in the network), role and the hall or
/// township code it serves.
#[derive(Debug, Clone, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub struct NodeIdentity {
    /// `[a-z0-9-]`, 1 to 32 characters, no hyphen at either end (it is a DNS label).
    pub name: String,
    pub role: PeerRole,
    /// `[0-9A-Za-z]`, 1 to 32 characters, e.g. `330102001`.
    pub scope: String,
}

impl NodeIdentity {
    /// A validated identity.
    pub fn new(name: impl Into<String>, role: PeerRole, scope: impl Into<String>) -> Result<Self, PkiError> {
        let id = NodeIdentity { name: name.into(), role, scope: scope.into() };
        id.validate()?;
        Ok(id)
    }

    /// Checks the name and the scope.
    pub fn validate(&self) -> Result<(), PkiError> {
        validate_node_name(&self.name)?;
        validate_scope(&self.scope)
    }

    /// The TLS server name and SAN DNS name, `{name}.yikou`.
    pub fn dns_name(&self) -> String {
        server_name(&self.name)
    }

    /// The SAN URI, `urn:yikou:node:{name}:{role}:{scope}`.
    pub fn uri(&self) -> String {
        format!("{IDENTITY_URI_PREFIX}{}:{}:{}", self.name, self.role, self.scope)
    }

    /// Parses (and validates) a SAN URI written by [`NodeIdentity::uri`].
    pub fn from_uri(uri: &str) -> Result<Self, PkiError> {
        let bad =
            || PkiError::BadIdentity(format!("「{uri}」不是 {IDENTITY_URI_PREFIX}名称:角色:范围 的形式"));
        let rest = uri.strip_prefix(IDENTITY_URI_PREFIX).ok_or_else(bad)?;
        let mut parts = rest.split(':');
        let (Some(name), Some(role), Some(scope), None) =
            (parts.next(), parts.next(), parts.next(), parts.next())
        else {
            return Err(bad());
        };
        NodeIdentity::new(name, PeerRole::parse(role)?, scope)
    }
}

impl fmt::Display for NodeIdentity {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}({},范围 {})", self.name, self.role.label(), self.scope)
    }
}

/// A node name: `[a-z0-9-]`, 1 to 32 characters, not starting or ending with `-`.
pub fn validate_node_name(name: &str) -> Result<(), PkiError> {
    let ok = !name.is_empty()
        && name.len() <= MAX_NAME_LEN
        && name.bytes().all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'-')
        && !name.starts_with('-')
        && !name.ends_with('-');
    if ok { Ok(()) } else { Err(PkiError::InvalidNodeName(name.to_string())) }
}

/// A scope (hall or township code): `[0-9A-Za-z]`, 1 to 32 characters.
pub fn validate_scope(scope: &str) -> Result<(), PkiError> {
    let ok =
        !scope.is_empty() && scope.len() <= MAX_SCOPE_LEN && scope.bytes().all(|b| b.is_ascii_alphanumeric());
    if ok { Ok(()) } else { Err(PkiError::InvalidScope(scope.to_string())) }
}

fn validate_org(org: &str) -> Result<(), PkiError> {
    let ok =
        !org.trim().is_empty() && org.chars().count() <= MAX_ORG_LEN && !org.chars().any(char::is_control);
    if ok { Ok(()) } else { Err(PkiError::InvalidOrgName(org.to_string())) }
}

/// The TLS server name of node `name`: `{name}.yikou`.
pub fn server_name(name: &str) -> String {
    format!("{name}.{DNS_SUFFIX}")
}

/// The node identity written in a certificate (DER): its `urn:yikou:node:` SAN URI, which must
/// agree with its SAN DNS name. Does not verify the certificate; the TLS handshake has.
pub fn identity_of(cert_der: &[u8]) -> Result<NodeIdentity, PkiError> {
    let (_, cert) = x509_parser::parse_x509_certificate(cert_der).map_err(|e| malformed("证书", e))?;
    let san = cert.subject_alternative_name().map_err(|e| malformed("证书的 SAN 扩展", e))?;
    let Some(san) = san else { return Err(PkiError::NoIdentity) };
    let mut identity = None;
    let mut dns_names = Vec::new();
    for name in &san.value.general_names {
        match name {
            GeneralName::URI(uri) if uri.starts_with(IDENTITY_URI_PREFIX) => {
                if identity.is_some() {
                    return Err(PkiError::BadIdentity("证书含有多个节点身份 URI".to_string()));
                }
                identity = Some(NodeIdentity::from_uri(uri)?);
            }
            GeneralName::DNSName(dns) => dns_names.push(*dns),
            _ => {}
        }
    }
    let identity = identity.ok_or(PkiError::NoIdentity)?;
    let expected = identity.dns_name();
    if !dns_names.contains(&expected.as_str()) {
        return Err(PkiError::BadIdentity(format!("身份 URI 与 DNS 名称不一致(缺少 {expected})")));
    }
    Ok(identity)
}

// ---------------------------------------------------------------------------------------------
// The CA
// ---------------------------------------------------------------------------------------------

/// One certificate in the CA's issue register (`issued.json`).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct IssuedCert {
    /// The serial number, lowercase hex (16 bytes).
    pub serial: String,
    pub name: String,
    pub role: PeerRole,
    pub scope: String,
    /// RFC 3339, UTC.
    pub not_before: String,
    /// RFC 3339, UTC.
    pub not_after: String,
}

impl IssuedCert {
    /// The identity the certificate carries.
    pub fn identity(&self) -> NodeIdentity {
        NodeIdentity { name: self.name.clone(), role: self.role, scope: self.scope.clone() }
    }
}

/// One revoked certificate in `revoked.json`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct RevokedCert {
    /// The serial number, lowercase hex.
    pub serial: String,
    pub name: String,
    /// RFC 3339, UTC.
    pub revoked_at: String,
}

/// `revoked.json`.
#[derive(Debug, Clone, Serialize, Deserialize)]
struct RevokedRegister {
    crl_number: u64,
    revoked: Vec<RevokedCert>,
}

/// The network CA: its key, certificate, registers and current CRL. Backed by a directory
/// ([`Ca::init`], [`Ca::open`]), where every change is written before the call returns, or held
/// in memory only ([`Ca::in_memory`], for tests and simulations).
#[derive(Debug)]
pub struct Ca {
    dir: Option<PathBuf>,
    org: String,
    cert_der: CertificateDer<'static>,
    cert_pem: String,
    issuer: Issuer<'static, KeyPair>,
    issued: Vec<IssuedCert>,
    revoked: RevokedRegister,
    crl_der: CertificateRevocationListDer<'static>,
    crl_pem: String,
}

impl Ca {
    /// Creates a new CA for organisation `org` in `dir` (created if missing). Refuses if the
    /// directory already holds a CA certificate or key.
    pub fn init(dir: &Path, org: &str, now: SystemTime) -> Result<Ca, PkiError> {
        for file in [files::CA_CERT, files::CA_KEY] {
            if dir.join(file).exists() {
                return Err(PkiError::CaExists { dir: dir.to_path_buf(), file });
            }
        }
        let ca = Ca::create(Some(dir.to_path_buf()), org, now)?;
        std::fs::create_dir_all(dir).map_err(io_err("创建目录", dir))?;
        write_file(&dir.join(files::CA_KEY), ca.issuer.key().serialize_pem().as_bytes(), true)?;
        write_file(&dir.join(files::CA_CERT), ca.cert_pem.as_bytes(), false)?;
        ca.save_registers()?;
        Ok(ca)
    }

    /// A CA that lives in memory only (nothing is written).
    pub fn in_memory(org: &str, now: SystemTime) -> Result<Ca, PkiError> {
        Ca::create(None, org, now)
    }

    fn create(dir: Option<PathBuf>, org: &str, now: SystemTime) -> Result<Ca, PkiError> {
        validate_org(org)?;
        let now = checked_time(now)?;
        let key = KeyPair::generate()?;
        let mut params = ca_params(org);
        params.not_before = before(now, BACKDATE).into();
        params.not_after = (now + CA_VALIDITY).into();
        params.serial_number = Some(new_serial(key.public_key_raw(), now, org));
        let cert = params.self_signed(&key)?;
        let issuer = Issuer::new(params, key);
        let revoked = RevokedRegister { crl_number: 1, revoked: Vec::new() };
        let crl = sign_crl(&issuer, &revoked, now)?;
        Ok(Ca {
            dir,
            org: org.to_string(),
            cert_pem: cert.pem(),
            cert_der: cert.der().clone(),
            issuer,
            issued: Vec::new(),
            revoked,
            crl_der: crl.der().clone(),
            crl_pem: crl.pem()?,
        })
    }

    /// Opens the CA in `dir`.
    pub fn open(dir: &Path) -> Result<Ca, PkiError> {
        let read = |file: &'static str| -> Result<String, PkiError> {
            let path = dir.join(file);
            match std::fs::read_to_string(&path) {
                Err(e) if e.kind() == std::io::ErrorKind::NotFound => {
                    Err(PkiError::CaMissing { dir: dir.to_path_buf(), file })
                }
                other => other.map_err(io_err("读取", &path)),
            }
        };
        let cert_pem = read(files::CA_CERT)?;
        let key_pem = read(files::CA_KEY)?;
        let crl_pem = read(files::CRL)?;
        let issued: Vec<IssuedCert> =
            serde_json::from_str(&read(files::ISSUED)?).map_err(|e| malformed(files::ISSUED, e))?;
        let revoked: RevokedRegister =
            serde_json::from_str(&read(files::REVOKED)?).map_err(|e| malformed(files::REVOKED, e))?;

        let cert_der =
            CertificateDer::from_pem_slice(cert_pem.as_bytes()).map_err(|e| malformed(files::CA_CERT, e))?;
        let key = KeyPair::from_pem(&key_pem).map_err(|e| malformed(files::CA_KEY, e))?;
        let crl_der = CertificateRevocationListDer::from_pem_slice(crl_pem.as_bytes())
            .map_err(|e| malformed(files::CRL, e))?;
        let (_, cert) =
            x509_parser::parse_x509_certificate(&cert_der).map_err(|e| malformed(files::CA_CERT, e))?;
        if cert.public_key().raw != PublicKeyData::subject_public_key_info(&key).as_slice() {
            return Err(PkiError::CaKeyMismatch { dir: dir.to_path_buf() });
        }
        let org = cert
            .subject()
            .iter_organization()
            .next()
            .and_then(|o| o.as_str().ok())
            .ok_or_else(|| malformed(files::CA_CERT, "缺少机构名称(O)"))?
            .to_string();
        // The issuer is rebuilt from the same parameters `create` used; `issue` checks that the
        // rebuilt name is byte for byte the certificate's subject.
        let issuer = Issuer::new(ca_params(&org), key);
        Ok(Ca {
            dir: Some(dir.to_path_buf()),
            org,
            cert_der,
            cert_pem,
            issuer,
            issued,
            revoked,
            crl_der,
            crl_pem,
        })
    }

    /// The organisation named at `init`.
    pub fn org(&self) -> &str {
        &self.org
    }

    /// The directory backing this CA (none for [`Ca::in_memory`]).
    pub fn dir(&self) -> Option<&Path> {
        self.dir.as_deref()
    }

    /// The CA certificate, DER.
    pub fn cert_der(&self) -> &CertificateDer<'static> {
        &self.cert_der
    }

    /// The CA certificate, PEM.
    pub fn cert_pem(&self) -> &str {
        &self.cert_pem
    }

    /// The current CRL, DER.
    pub fn crl_der(&self) -> &CertificateRevocationListDer<'static> {
        &self.crl_der
    }

    /// The current CRL, PEM (what `crl.pem` holds).
    pub fn crl_pem(&self) -> &str {
        &self.crl_pem
    }

    /// The current CRL's number (1 after `init`, one more per effective revocation).
    pub fn crl_number(&self) -> u64 {
        self.revoked.crl_number
    }

    /// Every certificate issued, oldest first.
    pub fn issued(&self) -> &[IssuedCert] {
        &self.issued
    }

    /// Every certificate revoked, oldest first.
    pub fn revoked(&self) -> &[RevokedCert] {
        &self.revoked.revoked
    }

    /// Issues a certificate for `identity` and writes `node.pem`, `node.key.pem` (0600), `ca.pem`
    /// and `crl.pem` into `out_dir` (created if missing; files there are replaced).
    pub fn issue(
        &mut self,
        identity: &NodeIdentity,
        out_dir: &Path,
        now: SystemTime,
    ) -> Result<IssuedCert, PkiError> {
        let node = self.sign_node(identity, now)?;
        std::fs::create_dir_all(out_dir).map_err(io_err("创建目录", out_dir))?;
        write_file(&out_dir.join(files::NODE_KEY), node.key_pem.as_bytes(), true)?;
        write_file(&out_dir.join(files::NODE_CERT), node.cert_pem.as_bytes(), false)?;
        write_file(&out_dir.join(files::CA_CERT), self.cert_pem.as_bytes(), false)?;
        write_file(&out_dir.join(files::CRL), self.crl_pem.as_bytes(), false)?;
        Ok(node.record)
    }

    /// Issues a certificate for `identity` and returns it as credentials, writing no node files
    /// (the issue register is still updated if the CA has a directory).
    pub fn issue_in_memory(
        &mut self,
        identity: &NodeIdentity,
        now: SystemTime,
    ) -> Result<NodeCredentials, PkiError> {
        let node = self.sign_node(identity, now)?;
        Ok(NodeCredentials {
            ca_der: self.cert_der.clone(),
            cert_chain: vec![node.cert_der],
            key: PrivateKeyDer::Pkcs8(PrivatePkcs8KeyDer::from(node.key_der)),
            crls: vec![self.crl_der.clone()],
            identity: identity.clone(),
        })
    }

    fn sign_node(&mut self, identity: &NodeIdentity, now: SystemTime) -> Result<SignedNode, PkiError> {
        identity.validate()?;
        let now = checked_time(now)?;
        let key = KeyPair::generate()?;
        let serial = new_serial(key.public_key_raw(), now, &identity.name);
        let not_before = before(now, BACKDATE);
        let ca_not_after = self.ca_not_after()?;
        let not_after = (now + NODE_VALIDITY).min(ca_not_after);

        let mut params = CertificateParams::default();
        let mut dn = DistinguishedName::new();
        dn.push(DnType::OrganizationName, self.org.as_str());
        dn.push(DnType::CommonName, identity.name.as_str());
        params.distinguished_name = dn;
        params.subject_alt_names =
            vec![SanType::DnsName(identity.dns_name().try_into()?), SanType::URI(identity.uri().try_into()?)];
        params.is_ca = IsCa::ExplicitNoCa;
        params.key_usages = vec![KeyUsagePurpose::DigitalSignature];
        params.extended_key_usages =
            vec![ExtendedKeyUsagePurpose::ServerAuth, ExtendedKeyUsagePurpose::ClientAuth];
        params.use_authority_key_identifier_extension = true;
        params.serial_number = Some(serial.clone());
        params.not_before = not_before.into();
        params.not_after = not_after.into();
        let cert = params.signed_by(&key, &self.issuer)?;

        // Guard against an issuer rebuilt with a different name (see `open`): a certificate
        // whose issuer is not the CA's subject would never verify.
        let (_, parsed) =
            x509_parser::parse_x509_certificate(cert.der()).map_err(|e| malformed("新证书", e))?;
        let (_, ca) =
            x509_parser::parse_x509_certificate(&self.cert_der).map_err(|e| malformed(files::CA_CERT, e))?;
        if parsed.issuer().as_raw() != ca.subject().as_raw() {
            return Err(malformed(files::CA_CERT, "证书主体名称无法还原,不能用它签发"));
        }

        let record = IssuedCert {
            serial: hex(serial.as_ref()),
            name: identity.name.clone(),
            role: identity.role,
            scope: identity.scope.clone(),
            not_before: rfc3339(not_before),
            not_after: rfc3339(not_after),
        };
        self.issued.push(record.clone());
        if let Err(e) = self.save_issued() {
            self.issued.pop();
            return Err(e);
        }
        Ok(SignedNode {
            record,
            cert_pem: cert.pem(),
            cert_der: cert.der().clone(),
            key_pem: key.serialize_pem(),
            key_der: key.serialize_der(),
        })
    }

    fn ca_not_after(&self) -> Result<SystemTime, PkiError> {
        let (_, ca) =
            x509_parser::parse_x509_certificate(&self.cert_der).map_err(|e| malformed(files::CA_CERT, e))?;
        let secs = ca.validity().not_after.timestamp();
        let secs = u64::try_from(secs).map_err(|_| PkiError::TimeOutOfRange)?;
        Ok(UNIX_EPOCH + Duration::from_secs(secs))
    }

    /// Revokes every certificate issued to node `name` that is not yet revoked and, if there
    /// was any, signs a new CRL with the next number (written to `crl.pem`). Returns how many
    /// certificates were newly revoked (0: all were already revoked, the CRL is unchanged unless
    /// an interrupted revocation left it behind `revoked.json`, in which case it is re-signed).
    pub fn revoke(&mut self, name: &str, now: SystemTime) -> Result<usize, PkiError> {
        let now = checked_time(now)?;
        if !self.issued.iter().any(|c| c.name == name) {
            return Err(PkiError::NotIssued(name.to_string()));
        }
        let mut register = self.revoked.clone();
        let mut count = 0;
        for cert in self.issued.iter().filter(|c| c.name == name) {
            if !register.revoked.iter().any(|r| r.serial == cert.serial) {
                register.revoked.push(RevokedCert {
                    serial: cert.serial.clone(),
                    name: cert.name.clone(),
                    revoked_at: rfc3339(now),
                });
                count += 1;
            }
        }
        if count == 0 {
            if self.crl_is_current() {
                return Ok(0);
            }
            // A previous revocation saved the register but not the list (see `save_registers`):
            // sign the list the register describes, under the number it announces.
        } else {
            register.crl_number += 1;
        }
        let crl = sign_crl(&self.issuer, &register, now)?;
        let previous = std::mem::replace(&mut self.revoked, register);
        let (crl_der, crl_pem) = (crl.der().clone(), crl.pem()?);
        let previous_crl =
            (std::mem::replace(&mut self.crl_der, crl_der), std::mem::replace(&mut self.crl_pem, crl_pem));
        if let Err(e) = self.save_registers() {
            self.revoked = previous;
            (self.crl_der, self.crl_pem) = previous_crl;
            return Err(e);
        }
        Ok(count)
    }

    /// Whether the current CRL carries the register's CRL number.
    fn crl_is_current(&self) -> bool {
        x509_parser::parse_x509_crl(&self.crl_der).is_ok_and(|(_, crl)| {
            crl.crl_number().is_some_and(|n| n.to_string() == self.revoked.crl_number.to_string())
        })
    }

    /// Writes `crl.pem`, `revoked.json` and `issued.json` (directory-backed CAs only).
    fn save_registers(&self) -> Result<(), PkiError> {
        let Some(dir) = &self.dir else { return Ok(()) };
        // revoked.json before crl.pem: a crash between the two leaves the register ahead of the
        // list, and the next revocation signs a list from the register.
        write_json(&dir.join(files::REVOKED), &self.revoked)?;
        write_file(&dir.join(files::CRL), self.crl_pem.as_bytes(), false)?;
        self.save_issued()
    }

    fn save_issued(&self) -> Result<(), PkiError> {
        let Some(dir) = &self.dir else { return Ok(()) };
        write_json(&dir.join(files::ISSUED), &self.issued)
    }
}

struct SignedNode {
    record: IssuedCert,
    cert_pem: String,
    cert_der: CertificateDer<'static>,
    key_pem: String,
    key_der: Vec<u8>,
}

fn ca_params(org: &str) -> CertificateParams {
    let mut params = CertificateParams::default();
    let mut dn = DistinguishedName::new();
    dn.push(DnType::OrganizationName, org);
    dn.push(DnType::CommonName, CA_COMMON_NAME);
    params.distinguished_name = dn;
    params.is_ca = IsCa::Ca(BasicConstraints::Constrained(0));
    params.key_usages =
        vec![KeyUsagePurpose::KeyCertSign, KeyUsagePurpose::CrlSign, KeyUsagePurpose::DigitalSignature];
    params.key_identifier_method = KeyIdMethod::Sha256;
    params
}

fn sign_crl(
    issuer: &Issuer<'_, KeyPair>,
    register: &RevokedRegister,
    now: SystemTime,
) -> Result<rcgen::CertificateRevocationList, PkiError> {
    let revoked_certs = register
        .revoked
        .iter()
        .map(|r| {
            Ok(RevokedCertParams {
                serial_number: SerialNumber::from_slice(&unhex(&r.serial).ok_or_else(|| {
                    malformed(files::REVOKED, format!("序列号「{}」不是十六进制", r.serial))
                })?),
                revocation_time: parse_rfc3339(&r.revoked_at)?.into(),
                reason_code: None,
                invalidity_date: None,
            })
        })
        .collect::<Result<Vec<_>, PkiError>>()?;
    let params = CertificateRevocationListParams {
        this_update: now.into(),
        next_update: (now + CRL_NEXT_UPDATE).into(),
        crl_number: SerialNumber::from(register.crl_number),
        issuing_distribution_point: None,
        revoked_certs,
        key_identifier_method: KeyIdMethod::Sha256,
    };
    Ok(params.signed_by(issuer)?)
}

/// 16 bytes, positive, without a leading zero byte (so the DER integer is exactly these bytes).
/// The fresh key's public half makes it unpredictable; time, subject and process make it unique
/// even if a key were reused.
fn new_serial(public_key: &[u8], now: SystemTime, subject: &str) -> SerialNumber {
    let mut hasher = blake3::Hasher::new_derive_key("yikou pki certificate serial v1");
    hasher.update(public_key);
    let nanos = now.duration_since(UNIX_EPOCH).map_or(0, |d| d.as_nanos());
    hasher.update(&nanos.to_le_bytes());
    hasher.update(subject.as_bytes());
    hasher.update(&std::process::id().to_le_bytes());
    let mut bytes = [0u8; SERIAL_LEN];
    bytes.copy_from_slice(&hasher.finalize().as_bytes()[..SERIAL_LEN]);
    bytes[0] = (bytes[0] & 0x7f) | 0x40;
    SerialNumber::from_slice(&bytes)
}

fn checked_time(t: SystemTime) -> Result<SystemTime, PkiError> {
    match t.duration_since(UNIX_EPOCH) {
        Ok(d) if d.as_secs() <= MAX_UNIX_SECS => Ok(t),
        _ => Err(PkiError::TimeOutOfRange),
    }
}

fn before(t: SystemTime, d: Duration) -> SystemTime {
    t.checked_sub(d).filter(|b| *b >= UNIX_EPOCH).unwrap_or(UNIX_EPOCH)
}

fn rfc3339(t: SystemTime) -> String {
    DateTime::<Utc>::from(t).to_rfc3339_opts(SecondsFormat::Secs, true)
}

fn parse_rfc3339(s: &str) -> Result<SystemTime, PkiError> {
    let t =
        DateTime::parse_from_rfc3339(s).map_err(|e| malformed(files::REVOKED, format!("时间「{s}」:{e}")))?;
    checked_time(SystemTime::from(t.with_timezone(&Utc)))
}

fn hex(bytes: &[u8]) -> String {
    bytes.iter().map(|b| format!("{b:02x}")).collect()
}

fn unhex(s: &str) -> Option<Vec<u8>> {
    if s.is_empty() || !s.len().is_multiple_of(2) {
        return None;
    }
    (0..s.len()).step_by(2).map(|i| s.get(i..i + 2).and_then(|h| u8::from_str_radix(h, 16).ok())).collect()
}

fn write_json<T: Serialize>(path: &Path, value: &T) -> Result<(), PkiError> {
    let mut text =
        serde_json::to_string_pretty(value).map_err(|e| malformed(path.display().to_string(), e))?;
    text.push('\n');
    write_file(path, text.as_bytes(), false)
}

/// Creates a file that must not exist yet, readable by its owner only when `private` (keys,
/// tokens) and by everyone otherwise.
pub fn create_new_file(path: &Path, private: bool) -> std::io::Result<std::fs::File> {
    let mut options = std::fs::OpenOptions::new();
    options.write(true).create_new(true);
    #[cfg(unix)]
    {
        use std::os::unix::fs::OpenOptionsExt;
        options.mode(if private { 0o600 } else { 0o644 });
    }
    #[cfg(not(unix))]
    let _ = private;
    options.open(path)
}

/// Writes `path` atomically (temporary file, fsync, rename). A private file is created with mode
/// 0600 and never exists with wider permissions, even briefly.
fn write_file(path: &Path, bytes: &[u8], private: bool) -> Result<(), PkiError> {
    use std::io::Write;
    let file_name = path.file_name().map(|n| n.to_string_lossy().into_owned()).unwrap_or_default();
    let tmp = path.with_file_name(format!(".{file_name}.tmp"));
    match std::fs::remove_file(&tmp) {
        Err(e) if e.kind() != std::io::ErrorKind::NotFound => return Err(io_err("删除", &tmp)(e)),
        _ => {}
    }
    let mut file = create_new_file(&tmp, private).map_err(io_err("写入", &tmp))?;
    file.write_all(bytes).map_err(io_err("写入", &tmp))?;
    file.sync_all().map_err(io_err("写入", &tmp))?;
    drop(file);
    std::fs::rename(&tmp, path).map_err(io_err("写入", path))?;
    if let Some(dir) = path.parent().filter(|d| !d.as_os_str().is_empty()) {
        // Make the rename durable; not every platform lets a directory be opened, so best effort.
        if let Ok(d) = std::fs::File::open(dir) {
            let _ = d.sync_all();
        }
    }
    Ok(())
}

// ---------------------------------------------------------------------------------------------
// Node credentials and TLS configs
// ---------------------------------------------------------------------------------------------

/// What a node needs for mutual TLS: the CA root, its own certificate and key, the revocation
/// lists, and the identity its certificate carries.
#[derive(Debug)]
pub struct NodeCredentials {
    pub ca_der: CertificateDer<'static>,
    /// The node's certificate first (today the chain is just that one certificate).
    pub cert_chain: Vec<CertificateDer<'static>>,
    pub key: PrivateKeyDer<'static>,
    pub crls: Vec<CertificateRevocationListDer<'static>>,
    pub identity: NodeIdentity,
}

impl Clone for NodeCredentials {
    fn clone(&self) -> Self {
        NodeCredentials {
            ca_der: self.ca_der.clone(),
            cert_chain: self.cert_chain.clone(),
            key: self.key.clone_key(),
            crls: self.crls.clone(),
            identity: self.identity.clone(),
        }
    }
}

impl NodeCredentials {
    /// Reads `node.pem`, `node.key.pem`, `ca.pem` and, if present, `crl.pem` from `dir`.
    pub fn load(dir: &Path) -> Result<NodeCredentials, PkiError> {
        let read = |file: &str| {
            let path = dir.join(file);
            std::fs::read_to_string(&path).map_err(io_err("读取节点证书文件", &path))
        };
        let crl_path = dir.join(files::CRL);
        let crl = match std::fs::read_to_string(&crl_path) {
            Ok(text) => Some(text),
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => None,
            Err(e) => return Err(io_err("读取", &crl_path)(e)),
        };
        NodeCredentials::from_pem(
            &read(files::CA_CERT)?,
            &read(files::NODE_CERT)?,
            &read(files::NODE_KEY)?,
            crl.as_deref(),
        )
    }

    /// Credentials from PEM text: the CA certificate, the node's certificate (chain), its key and
    /// optionally one or more CRLs.
    pub fn from_pem(
        ca_pem: &str,
        cert_pem: &str,
        key_pem: &str,
        crl_pem: Option<&str>,
    ) -> Result<NodeCredentials, PkiError> {
        let ca_der =
            CertificateDer::from_pem_slice(ca_pem.as_bytes()).map_err(|e| malformed("CA 证书", e))?;
        let cert_chain = CertificateDer::pem_slice_iter(cert_pem.as_bytes())
            .collect::<Result<Vec<_>, _>>()
            .map_err(|e| malformed("节点证书", e))?;
        let first = cert_chain.first().ok_or_else(|| malformed("节点证书", "没有证书"))?;
        let identity = identity_of(first)?;
        let key = PrivateKeyDer::from_pem_slice(key_pem.as_bytes()).map_err(|e| malformed("节点私钥", e))?;
        let crls = match crl_pem {
            Some(text) => parse_crls(text, &ca_der)?,
            None => Vec::new(),
        };
        Ok(NodeCredentials { ca_der, cert_chain, key, crls, identity })
    }

    /// Replaces the revocation lists (e.g. when a new `crl.pem` arrives); rebuild the configs
    /// afterwards.
    pub fn set_crl_pem(&mut self, crl_pem: &str) -> Result<(), PkiError> {
        self.crls = parse_crls(crl_pem, &self.ca_der)?;
        Ok(())
    }

    fn roots(&self) -> Result<Arc<RootCertStore>, PkiError> {
        let mut roots = RootCertStore::empty();
        roots
            .add(self.ca_der.clone())
            .map_err(|e| tls_err("CA 证书不能作为信任根")(e.to_string()))?;
        Ok(Arc::new(roots))
    }
}

/// Parses CRLs and checks that they name the CA as issuer (subject and key identifier). The
/// verifiers would check the signature anyway, but they fail closed on a foreign list, refusing
/// every peer; this way a wrong `crl.pem` is an error at load time, with its cause.
fn parse_crls(
    text: &str,
    ca_der: &CertificateDer<'_>,
) -> Result<Vec<CertificateRevocationListDer<'static>>, PkiError> {
    const WHAT: &str = "吊销列表 crl.pem";
    let crls = CertificateRevocationListDer::pem_slice_iter(text.as_bytes())
        .collect::<Result<Vec<_>, _>>()
        .map_err(|e| malformed(WHAT, e))?;
    if crls.is_empty() {
        return Err(malformed(WHAT, "没有吊销列表"));
    }
    let (_, ca) = x509_parser::parse_x509_certificate(ca_der).map_err(|e| malformed("CA 证书", e))?;
    let ca_key_id = ca.extensions().iter().find_map(|e| match e.parsed_extension() {
        ParsedExtension::SubjectKeyIdentifier(id) => Some(id.0),
        _ => None,
    });
    for der in &crls {
        let (_, crl) = x509_parser::parse_x509_crl(der).map_err(|e| malformed(WHAT, e))?;
        let crl_key_id = crl.extensions().iter().find_map(|e| match e.parsed_extension() {
            ParsedExtension::AuthorityKeyIdentifier(aki) => aki.key_identifier.as_ref().map(|id| id.0),
            _ => None,
        });
        let same_key = match (ca_key_id, crl_key_id) {
            (Some(ca_id), Some(crl_id)) => ca_id == crl_id,
            _ => true,
        };
        if crl.issuer().as_raw() != ca.subject().as_raw() || !same_key {
            return Err(PkiError::CrlNotFromCa);
        }
    }
    Ok(crls)
}

fn provider() -> Arc<CryptoProvider> {
    Arc::new(rustls::crypto::ring::default_provider())
}

fn transport() -> Arc<quinn::TransportConfig> {
    let mut transport = quinn::TransportConfig::default();
    transport.keep_alive_interval(Some(Duration::from_millis(KEEP_ALIVE_MS.into())));
    transport.max_idle_timeout(Some(quinn::IdleTimeout::from(quinn::VarInt::from_u32(IDLE_TIMEOUT_MS))));
    // Township links lose packets for reasons other than congestion; BBR does not halve its rate
    // at every loss as the default (CUBIC) does.
    transport.congestion_controller_factory(Arc::new(quinn::congestion::BbrConfig::default()));
    Arc::new(transport)
}

/// The QUIC server config of a node: TLS 1.3, ALPN `yikou/1`, client certificates required and
/// verified against the CA and the CRLs, no session resumption or early data.
pub fn server_config(creds: &NodeCredentials) -> Result<quinn::ServerConfig, PkiError> {
    let provider = provider();
    let verifier = WebPkiClientVerifier::builder_with_provider(creds.roots()?, provider.clone())
        .with_crls(creds.crls.iter().cloned())
        .build()
        .map_err(|e| tls_err("无法建立客户端证书校验")(e.to_string()))?;
    let mut tls = rustls::ServerConfig::builder_with_provider(provider)
        .with_protocol_versions(&[&rustls::version::TLS13])
        .map_err(|e| tls_err("不支持 TLS 1.3")(e.to_string()))?
        .with_client_cert_verifier(verifier)
        .with_single_cert(creds.cert_chain.clone(), creds.key.clone_key())
        .map_err(|e| tls_err("节点证书或私钥不可用")(e.to_string()))?;
    tls.alpn_protocols = vec![ALPN.to_vec()];
    tls.session_storage = Arc::new(rustls::server::NoServerSessionStorage {});
    tls.send_tls13_tickets = 0;
    tls.max_early_data_size = 0;
    let quic = QuicServerConfig::try_from(tls).map_err(|e| tls_err("QUIC 加密配置")(e.to_string()))?;
    let mut config = quinn::ServerConfig::with_crypto(Arc::new(quic));
    config.transport_config(transport());
    Ok(config)
}

/// The QUIC client config of a node: TLS 1.3, ALPN `yikou/1`, the server verified against the
/// CA and the CRLs (connect with [`server_name`] of the peer), the node's certificate presented.
pub fn client_config(creds: &NodeCredentials) -> Result<quinn::ClientConfig, PkiError> {
    let provider = provider();
    let verifier =
        rustls::client::WebPkiServerVerifier::builder_with_provider(creds.roots()?, provider.clone())
            .with_crls(creds.crls.iter().cloned())
            .build()
            .map_err(|e| tls_err("无法建立服务端证书校验")(e.to_string()))?;
    let mut tls = rustls::ClientConfig::builder_with_provider(provider)
        .with_protocol_versions(&[&rustls::version::TLS13])
        .map_err(|e| tls_err("不支持 TLS 1.3")(e.to_string()))?
        .with_webpki_verifier(verifier)
        .with_client_auth_cert(creds.cert_chain.clone(), creds.key.clone_key())
        .map_err(|e| tls_err("节点证书或私钥不可用")(e.to_string()))?;
    tls.alpn_protocols = vec![ALPN.to_vec()];
    tls.resumption = rustls::client::Resumption::disabled();
    tls.enable_early_data = false;
    let quic = QuicClientConfig::try_from(tls).map_err(|e| tls_err("QUIC 加密配置")(e.to_string()))?;
    let mut config = quinn::ClientConfig::new(Arc::new(quic));
    config.transport_config(transport());
    Ok(config)
}

/// The identity of the peer of an established connection, from the certificate its handshake
/// verified.
pub fn peer_identity(conn: &quinn::Connection) -> Result<NodeIdentity, PkiError> {
    let any = conn.peer_identity().ok_or(PkiError::NoPeerCertificate)?;
    let chain = any.downcast::<Vec<CertificateDer<'static>>>().map_err(|_| PkiError::NoPeerCertificate)?;
    let first = chain.first().ok_or(PkiError::NoPeerCertificate)?;
    identity_of(first)
}
