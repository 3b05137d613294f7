//! Staff accounts and login sessions of one node.
//!
//! Accounts are local to the node (O5: personal data stays where it is needed): created by the
//! operator (`yikou user add`) or by the demo, stored in the node's own key-value store under
//! `u/{staff}` and never replicated, so that login works with no network at all. A stored account
//! keeps its password only as an argon2id PHC string (random salt); the API view [`Account`] never
//! carries it.
//!
//! Sessions live in memory only, keyed by the BLAKE3 hash of their token (raw tokens are never
//! kept): **a restart of the node logs everyone out.** Login failures are counted in memory too
//! (so a restart also clears lockouts). Both maps are bounded ([`AccountsConfig::sessions_max`],
//! [`LOGIN_FAILURES_TRACKED_MAX`]).
//!
//! Time is passed in (`now_ms`, milliseconds since the Unix epoch); nothing here reads a clock.

use std::collections::HashMap;
use std::sync::{Arc, Mutex};

use argon2::password_hash::{PasswordHash, PasswordHasher, PasswordVerifier, SaltString};
use argon2::{Algorithm, Argon2, Params, Version};
use serde::{Deserialize, Serialize};
use yikou_schema::actor::Role;
use yikou_schema::codes::{DepartmentCode, StaffId};

use crate::store::kv::{Kv, WriteBatch};
use crate::store::{StoreError, record};

/// Default bound on live sessions held in memory.
pub const SESSIONS_MAX: usize = 10_000;
/// Bound on the accounts one node holds (and on what [`Accounts::list`] reads).
pub const ACCOUNTS_MAX: usize = 10_000;
/// Bound on the staff ids whose recent login failures are remembered. When full, expired entries
/// go first, then the unlocked entry whose last failure is oldest (then the oldest locked one).
pub const LOGIN_FAILURES_TRACKED_MAX: usize = 10_000;
/// Default session lifetime: one working day.
pub const SESSION_TTL_MS_DEFAULT: i64 = 8 * 60 * 60 * 1000;
/// Default failures within the lockout window that lock an account.
pub const LOGIN_FAILURES_MAX_DEFAULT: u32 = 5;
/// Default lockout window and lockout length.
pub const LOCKOUT_MS_DEFAULT: i64 = 15 * 60 * 1000;

pub const STAFF_ID_CHARS_MAX: usize = 32;
pub const NAME_CHARS_MAX: usize = 50;
pub const PASSWORD_CHARS_MIN: usize = 8;
pub const PASSWORD_CHARS_MAX: usize = 128;

/// Longest password login will hash: 128 characters of up to 4 UTF-8 bytes each.
const PASSWORD_BYTES_MAX: usize = PASSWORD_CHARS_MAX * 4;
/// Random bytes in a session token (shown as twice as many hex characters).
const TOKEN_BYTES: usize = 32;
const SALT_BYTES: usize = 16;
/// Key prefix of accounts in the node's store (see the key layout in [`crate::store`]).
const KEY_PREFIX: &[u8] = b"u/";
/// The byte after `/`: the exclusive end of the `u/` range.
const KEY_PREFIX_END: &[u8] = b"u0";

/// The cost of argon2id for new password hashes. Verification always uses the cost recorded in
/// the stored PHC string, so changing this does not lock anyone out.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Argon2Cost {
    pub memory_kib: u32,
    pub iterations: u32,
    pub parallelism: u32,
}

impl Argon2Cost {
    /// The smallest parameters argon2 accepts: for tests only, never for a node in service.
    pub const FAST_FOR_TESTS: Argon2Cost = Argon2Cost { memory_kib: 8, iterations: 1, parallelism: 1 };
}

impl Default for Argon2Cost {
    /// The argon2 crate's defaults (OWASP's recommendation: 19 MiB, 2 passes, 1 lane).
    fn default() -> Self {
        Argon2Cost {
            memory_kib: Params::DEFAULT_M_COST,
            iterations: Params::DEFAULT_T_COST,
            parallelism: Params::DEFAULT_P_COST,
        }
    }
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct AccountsConfig {
    /// How long a session lasts after login (not extended by use).
    pub session_ttl_ms: i64,
    /// Live sessions held at most; a login beyond it (after purging expired ones) is refused.
    pub sessions_max: usize,
    /// Failed logins within `lockout_ms` that lock the staff id.
    pub login_failures_max: u32,
    /// The failure-counting window and the length of a lockout.
    pub lockout_ms: i64,
    pub argon2_cost: Argon2Cost,
}

impl Default for AccountsConfig {
    fn default() -> Self {
        AccountsConfig {
            session_ttl_ms: SESSION_TTL_MS_DEFAULT,
            sessions_max: SESSIONS_MAX,
            login_failures_max: LOGIN_FAILURES_MAX_DEFAULT,
            lockout_ms: LOCKOUT_MS_DEFAULT,
            argon2_cost: Argon2Cost::default(),
        }
    }
}

/// A staff account as the API shows it (no password hash).
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Account {
    pub staff: StaffId,
    pub name: String,
    pub role: Role,
    pub disabled: bool,
    pub created_ms: i64,
}

/// A login: the token goes to the client once; the node keeps only its hash.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Session {
    /// 64 lowercase hex characters from 32 random bytes.
    pub token: String,
    pub account: Account,
    pub expires_ms: i64,
}

/// The stored form of an account (JSON inside a sealed record). Internal: never serialised to
/// the API.
#[derive(Debug, Clone, Serialize, Deserialize)]
struct StoredAccount {
    staff: StaffId,
    name: String,
    role: Role,
    disabled: bool,
    created_ms: i64,
    /// When it was last disabled (kept for the record after re-enabling).
    #[serde(default)]
    disabled_ms: Option<i64>,
    /// argon2id PHC string.
    password_phc: String,
}

impl StoredAccount {
    fn view(&self) -> Account {
        Account {
            staff: self.staff.clone(),
            name: self.name.clone(),
            role: self.role.clone(),
            disabled: self.disabled,
            created_ms: self.created_ms,
        }
    }
}

struct SessionEntry {
    staff: StaffId,
    expires_ms: i64,
}

/// Recent failed logins of one staff id.
struct Failures {
    window_start_ms: i64,
    last_ms: i64,
    count: u32,
    locked_until_ms: Option<i64>,
}

#[derive(Debug, thiserror::Error)]
pub enum AccountError {
    #[error("工号格式不正确:须为 1–32 个字母、数字或 _ . - 字符")]
    InvalidStaffId,
    #[error("姓名不能为空,且不超过 50 个字符,不能含控制字符")]
    InvalidName,
    #[error("密码不符合要求:须为 8–128 个字符,且至少包含字母、数字、其他符号中的两类")]
    WeakPassword,
    #[error(
        "角色“{0}”无效:可选 window_clerk、department_reviewer:<部门编码>、issuing_window、hall_centre、supervisor、auditor"
    )]
    InvalidRole(String),
    #[error("工号 {0} 已存在")]
    Exists(String),
    #[error("未找到工号 {0}")]
    NotFound(String),
    #[error("本节点账号数已达上限 {0},无法再添加")]
    TooManyAccounts(usize),
    #[error("账号 {0} 的存储数据校验失败,请联系系统管理员从备份恢复或重新创建该账号")]
    Corrupt(String),
    #[error("账号存储读写失败:{0}")]
    Store(#[from] StoreError),
    #[error("账号处理内部错误:{0}")]
    Internal(String),
    #[error("账号配置无效:{0}")]
    Config(String),
    #[error("内部锁异常,请重启节点")]
    Poisoned,
    #[error("工号或密码错误")]
    BadCredentials,
    #[error("该账号已停用,请联系政务服务中心")]
    Disabled,
    #[error("连续 {failures} 次登录失败,该账号已锁定,请于 {until} 后重试")]
    Locked {
        failures: u32,
        /// China Standard Time, `YYYY-MM-DD HH:MM:SS`.
        until: String,
        until_ms: i64,
    },
    #[error("当前登录人数已达上限 {0},请稍后重试或联系系统管理员")]
    TooManySessions(usize),
    #[error("未登录,请先登录")]
    Missing,
    #[error("登录凭证无效,请重新登录")]
    Invalid,
    #[error("登录已过期,请重新登录")]
    Expired,
}

impl AccountError {
    /// A stable code for logs and API problems.
    pub fn code(&self) -> &'static str {
        match self {
            AccountError::InvalidStaffId => "account.invalid_staff",
            AccountError::InvalidName => "account.invalid_name",
            AccountError::WeakPassword => "account.weak_password",
            AccountError::InvalidRole(_) => "account.invalid_role",
            AccountError::Exists(_) => "account.exists",
            AccountError::NotFound(_) => "account.not_found",
            AccountError::TooManyAccounts(_) => "account.too_many",
            AccountError::Corrupt(_) => "account.corrupt",
            AccountError::Store(_) => "account.storage",
            AccountError::Internal(_) => "account.internal",
            AccountError::Config(_) => "account.config",
            AccountError::Poisoned => "account.poisoned",
            AccountError::BadCredentials => "auth.bad_credentials",
            AccountError::Disabled => "auth.disabled",
            AccountError::Locked { .. } => "auth.locked",
            AccountError::TooManySessions(_) => "auth.too_many_sessions",
            AccountError::Missing => "auth.missing",
            AccountError::Invalid => "auth.invalid",
            AccountError::Expired => "auth.expired",
        }
    }

    /// The HTTP status the API answers this error with.
    pub fn http_status(&self) -> u16 {
        match self {
            AccountError::BadCredentials
            | AccountError::Missing
            | AccountError::Invalid
            | AccountError::Expired => 401,
            AccountError::Disabled => 403,
            AccountError::NotFound(_) => 404,
            AccountError::Exists(_) => 409,
            AccountError::InvalidStaffId
            | AccountError::InvalidName
            | AccountError::WeakPassword
            | AccountError::InvalidRole(_)
            | AccountError::TooManyAccounts(_) => 422,
            AccountError::Locked { .. } => 423,
            AccountError::TooManySessions(_) => 503,
            AccountError::Corrupt(_)
            | AccountError::Store(_)
            | AccountError::Internal(_)
            | AccountError::Config(_)
            | AccountError::Poisoned => 500,
        }
    }
}

/// The accounts and sessions of one node. Cheap to share behind an `Arc`; every method takes `&self`.
pub struct Accounts {
    kv: Arc<dyn Kv>,
    config: AccountsConfig,
    hasher: Argon2<'static>,
    /// A hash of a random password with the configured cost: an unknown staff id is verified
    /// against it so that its answer takes as long as a wrong password.
    dummy_phc: String,
    /// Serialises read-modify-write of stored accounts (add's existence check, disable, …).
    write_lock: Mutex<()>,
    /// blake3(token) → session.
    sessions: Mutex<HashMap<[u8; 32], SessionEntry>>,
    failures: Mutex<HashMap<String, Failures>>,
}

impl Accounts {
    pub fn open(kv: Arc<dyn Kv>, config: AccountsConfig) -> Result<Accounts, AccountError> {
        if config.session_ttl_ms <= 0 || config.lockout_ms <= 0 {
            return Err(AccountError::Config("会话有效期和锁定时长必须大于 0".into()));
        }
        if config.sessions_max == 0 || config.login_failures_max == 0 {
            return Err(AccountError::Config("会话上限和登录失败次数上限必须大于 0".into()));
        }
        let cost = config.argon2_cost;
        let params = Params::new(cost.memory_kib, cost.iterations, cost.parallelism, None)
            .map_err(|e| AccountError::Config(format!("argon2 参数无效:{e}")))?;
        let hasher = Argon2::new(Algorithm::Argon2id, Version::V0x13, params);
        let dummy_password = random_token()?;
        let dummy_phc = hash_with(&hasher, &dummy_password)?;
        Ok(Accounts {
            kv,
            config,
            hasher,
            dummy_phc,
            write_lock: Mutex::new(()),
            sessions: Mutex::new(HashMap::new()),
            failures: Mutex::new(HashMap::new()),
        })
    }

    pub fn config(&self) -> &AccountsConfig {
        &self.config
    }

    /// Creates an account; it is on disk (synced) when this returns.
    pub fn add(
        &self,
        staff: &str,
        name: &str,
        role: Role,
        password: &str,
        now_ms: i64,
    ) -> Result<Account, AccountError> {
        validate_staff(staff)?;
        let name = validate_name(name)?;
        validate_password(password)?;
        if role == Role::System {
            return Err(AccountError::InvalidRole("system".into()));
        }
        // Hash before taking the lock: it is the slow part.
        let password_phc = hash_with(&self.hasher, password)?;
        let _guard = self.write_lock.lock().map_err(|_| AccountError::Poisoned)?;
        if self.kv.get(&key(staff))?.is_some() {
            return Err(AccountError::Exists(staff.to_string()));
        }
        let held = self.kv.range(KEY_PREFIX, KEY_PREFIX_END, ACCOUNTS_MAX)?.len();
        if held >= ACCOUNTS_MAX {
            return Err(AccountError::TooManyAccounts(ACCOUNTS_MAX));
        }
        let stored = StoredAccount {
            staff: StaffId::new(staff),
            name,
            role,
            disabled: false,
            created_ms: now_ms,
            disabled_ms: None,
            password_phc,
        };
        self.write(&stored)?;
        Ok(stored.view())
    }

    /// Every account, in staff-id order.
    pub fn list(&self) -> Result<Vec<Account>, AccountError> {
        self.kv
            .range(KEY_PREFIX, KEY_PREFIX_END, ACCOUNTS_MAX)?
            .iter()
            .map(|(k, v)| decode(&String::from_utf8_lossy(&k[KEY_PREFIX.len()..]), v).map(|s| s.view()))
            .collect()
    }

    pub fn get(&self, staff: &str) -> Result<Account, AccountError> {
        Ok(self.read(staff)?.view())
    }

    /// Disables the account and ends its sessions at once. Idempotent.
    pub fn disable(&self, staff: &str, now_ms: i64) -> Result<Account, AccountError> {
        let account = {
            let _guard = self.write_lock.lock().map_err(|_| AccountError::Poisoned)?;
            let mut stored = self.read(staff)?;
            if !stored.disabled {
                stored.disabled = true;
                stored.disabled_ms = Some(now_ms);
                self.write(&stored)?;
            }
            stored.view()
        };
        self.end_sessions_of(&account.staff)?;
        Ok(account)
    }

    /// Re-enables the account (its old sessions stay ended). Idempotent.
    pub fn enable(&self, staff: &str) -> Result<Account, AccountError> {
        let _guard = self.write_lock.lock().map_err(|_| AccountError::Poisoned)?;
        let mut stored = self.read(staff)?;
        if stored.disabled {
            stored.disabled = false;
            self.write(&stored)?;
        }
        Ok(stored.view())
    }

    /// Replaces the password; ends the account's sessions and clears its failure count.
    pub fn set_password(&self, staff: &str, password: &str) -> Result<Account, AccountError> {
        validate_staff(staff)?;
        validate_password(password)?;
        let password_phc = hash_with(&self.hasher, password)?;
        let account = {
            let _guard = self.write_lock.lock().map_err(|_| AccountError::Poisoned)?;
            let mut stored = self.read(staff)?;
            stored.password_phc = password_phc;
            self.write(&stored)?;
            stored.view()
        };
        self.end_sessions_of(&account.staff)?;
        self.failures.lock().map_err(|_| AccountError::Poisoned)?.remove(staff);
        Ok(account)
    }

    /// Checks the password and opens a session.
    ///
    /// A wrong id and a wrong password give the same error after the same work (one argon2
    /// verification). The failure that reaches `login_failures_max` within `lockout_ms` locks the
    /// id for `lockout_ms` and already answers [`AccountError::Locked`]; unknown ids are counted
    /// and locked alike, so a lock does not tell that an id exists. A disabled account is told so
    /// only when the password is right.
    pub fn login(&self, staff: &str, password: &str, now_ms: i64) -> Result<Session, AccountError> {
        if validate_staff(staff).is_err() || password.len() > PASSWORD_BYTES_MAX {
            // Not a possible account: same answer and same cost as a wrong password, not counted.
            self.verify(&self.dummy_phc, password);
            return Err(AccountError::BadCredentials);
        }
        self.check_lock(staff, now_ms)?;
        let stored = match self.kv.get(&key(staff))? {
            Some(v) => Some(decode(staff, &v)?),
            None => None,
        };
        let ok = match &stored {
            Some(s) => self.verify(&s.password_phc, password),
            None => {
                self.verify(&self.dummy_phc, password);
                false
            }
        };
        let stored = match stored {
            Some(s) if ok => s,
            _ => return Err(self.record_failure(staff, now_ms)?),
        };
        self.failures.lock().map_err(|_| AccountError::Poisoned)?.remove(staff);
        if stored.disabled {
            return Err(AccountError::Disabled);
        }
        let token = random_token()?;
        let expires_ms = now_ms.saturating_add(self.config.session_ttl_ms);
        {
            let mut sessions = self.sessions.lock().map_err(|_| AccountError::Poisoned)?;
            if sessions.len() >= self.config.sessions_max {
                sessions.retain(|_, s| s.expires_ms > now_ms);
            }
            if sessions.len() >= self.config.sessions_max {
                return Err(AccountError::TooManySessions(self.config.sessions_max));
            }
            sessions.insert(token_key(&token), SessionEntry { staff: stored.staff.clone(), expires_ms });
        }
        Ok(Session { token, account: stored.view(), expires_ms })
    }

    /// The account behind a session token, re-read from the store so that a disabled account's
    /// sessions stop at once.
    pub fn authenticate(&self, token: &str, now_ms: i64) -> Result<Account, AccountError> {
        if token.is_empty() {
            return Err(AccountError::Missing);
        }
        if token.len() != TOKEN_BYTES * 2 || !token.bytes().all(|b| b.is_ascii_hexdigit()) {
            return Err(AccountError::Invalid);
        }
        let k = token_key(&token.to_ascii_lowercase());
        let staff = {
            let mut sessions = self.sessions.lock().map_err(|_| AccountError::Poisoned)?;
            let Some(entry) = sessions.get(&k) else { return Err(AccountError::Invalid) };
            if entry.expires_ms <= now_ms {
                sessions.remove(&k);
                return Err(AccountError::Expired);
            }
            entry.staff.clone()
        };
        let stored = match self.read(staff.as_str()) {
            Ok(s) => s,
            Err(AccountError::NotFound(_)) => return Err(AccountError::Invalid),
            Err(e) => return Err(e),
        };
        if stored.disabled {
            return Err(AccountError::Disabled);
        }
        Ok(stored.view())
    }

    /// Ends one session; `false` if there was none (already ended, expired and purged, or never).
    pub fn logout(&self, token: &str) -> Result<bool, AccountError> {
        let k = token_key(&token.to_ascii_lowercase());
        Ok(self.sessions.lock().map_err(|_| AccountError::Poisoned)?.remove(&k).is_some())
    }

    /// Sessions held in memory (expired ones included until purged), for metrics.
    pub fn session_count(&self) -> usize {
        self.sessions.lock().map(|s| s.len()).unwrap_or(0)
    }

    fn end_sessions_of(&self, staff: &StaffId) -> Result<(), AccountError> {
        self.sessions.lock().map_err(|_| AccountError::Poisoned)?.retain(|_, s| s.staff != *staff);
        Ok(())
    }

    fn check_lock(&self, staff: &str, now_ms: i64) -> Result<(), AccountError> {
        let mut failures = self.failures.lock().map_err(|_| AccountError::Poisoned)?;
        if let Some(f) = failures.get(staff) {
            match f.locked_until_ms {
                Some(until_ms) if until_ms > now_ms => return Err(locked(f.count, until_ms)),
                // The lock is over: start counting afresh.
                Some(_) => {
                    failures.remove(staff);
                }
                None => {}
            }
        }
        Ok(())
    }

    /// Counts a failure; the error to answer (bad credentials, or locked by this very failure).
    fn record_failure(&self, staff: &str, now_ms: i64) -> Result<AccountError, AccountError> {
        let mut failures = self.failures.lock().map_err(|_| AccountError::Poisoned)?;
        let lockout_ms = self.config.lockout_ms;
        if !failures.contains_key(staff) && failures.len() >= LOGIN_FAILURES_TRACKED_MAX {
            failures.retain(|_, f| match f.locked_until_ms {
                Some(until_ms) => until_ms > now_ms,
                None => now_ms.saturating_sub(f.window_start_ms) < lockout_ms,
            });
            if failures.len() >= LOGIN_FAILURES_TRACKED_MAX {
                // Unlocked entries go before locked ones, so that a flood of made-up ids
                // cannot lift a lock early.
                let oldest = failures
                    .iter()
                    .min_by_key(|(_, f)| (f.locked_until_ms.is_some(), f.last_ms))
                    .map(|(k, _)| k.clone());
                if let Some(oldest) = oldest {
                    failures.remove(&oldest);
                }
            }
        }
        let f = failures.entry(staff.to_string()).or_insert(Failures {
            window_start_ms: now_ms,
            last_ms: now_ms,
            count: 0,
            locked_until_ms: None,
        });
        if now_ms.saturating_sub(f.window_start_ms) >= lockout_ms {
            f.window_start_ms = now_ms;
            f.count = 0;
        }
        f.count = f.count.saturating_add(1);
        f.last_ms = now_ms;
        if f.count >= self.config.login_failures_max {
            let until_ms = now_ms.saturating_add(lockout_ms);
            f.locked_until_ms = Some(until_ms);
            return Ok(locked(f.count, until_ms));
        }
        Ok(AccountError::BadCredentials)
    }

    /// `true` when the password matches the PHC string; any malformed hash is a mismatch.
    fn verify(&self, phc: &str, password: &str) -> bool {
        match PasswordHash::new(phc) {
            Ok(hash) => self.hasher.verify_password(password.as_bytes(), &hash).is_ok(),
            Err(_) => false,
        }
    }

    fn read(&self, staff: &str) -> Result<StoredAccount, AccountError> {
        validate_staff(staff).map_err(|_| AccountError::NotFound(staff.to_string()))?;
        match self.kv.get(&key(staff))? {
            Some(v) => decode(staff, &v),
            None => Err(AccountError::NotFound(staff.to_string())),
        }
    }

    /// Writes and syncs: durable when this returns (O2).
    fn write(&self, stored: &StoredAccount) -> Result<(), AccountError> {
        let json = serde_json::to_vec(stored).map_err(|e| AccountError::Internal(e.to_string()))?;
        let mut batch = WriteBatch::default();
        batch.put(key(stored.staff.as_str()), record::seal(&json));
        self.kv.apply(&batch)?;
        self.kv.sync()?;
        Ok(())
    }
}

/// Parses a role as the CLI and the API write it: `window_clerk`, `department_reviewer:<DEPT>`,
/// `issuing_window`, `hall_centre`, `supervisor`, `auditor`. `system` is not a login role.
pub fn parse_role(s: &str) -> Result<Role, AccountError> {
    let s = s.trim();
    let bad = || AccountError::InvalidRole(s.to_string());
    Ok(match s {
        "window_clerk" => Role::WindowClerk,
        "issuing_window" => Role::IssuingWindow,
        "hall_centre" => Role::HallCentre,
        "supervisor" => Role::Supervisor,
        "auditor" => Role::Auditor,
        _ => {
            let dept = s.strip_prefix("department_reviewer:").ok_or_else(bad)?;
            let valid = !dept.is_empty()
                && dept.len() <= STAFF_ID_CHARS_MAX
                && dept.bytes().all(|b| b.is_ascii_alphanumeric() || b == b'_' || b == b'-');
            if !valid {
                return Err(bad());
            }
            Role::DepartmentReviewer(DepartmentCode::new(dept))
        }
    })
}

/// The inverse of [`parse_role`] (`system` for the node's own role, which `parse_role` refuses).
pub fn role_str(role: &Role) -> String {
    match role {
        Role::WindowClerk => "window_clerk".into(),
        Role::DepartmentReviewer(d) => format!("department_reviewer:{d}"),
        Role::IssuingWindow => "issuing_window".into(),
        Role::HallCentre => "hall_centre".into(),
        Role::Supervisor => "supervisor".into(),
        Role::Auditor => "auditor".into(),
        Role::System => "system".into(),
    }
}

fn key(staff: &str) -> Vec<u8> {
    let mut k = KEY_PREFIX.to_vec();
    k.extend_from_slice(staff.as_bytes());
    k
}

fn decode(staff: &str, sealed: &[u8]) -> Result<StoredAccount, AccountError> {
    let corrupt = || AccountError::Corrupt(staff.to_string());
    let payload = record::open(sealed).ok_or_else(corrupt)?;
    let stored: StoredAccount = serde_json::from_slice(payload).map_err(|_| corrupt())?;
    if stored.staff.as_str() != staff {
        return Err(corrupt());
    }
    Ok(stored)
}

fn token_key(token: &str) -> [u8; 32] {
    *blake3::hash(token.as_bytes()).as_bytes()
}

fn locked(failures: u32, until_ms: i64) -> AccountError {
    let until = yikou_schema::hlc::local_from_ms(until_ms).format("%Y-%m-%d %H:%M:%S").to_string();
    AccountError::Locked { failures, until, until_ms }
}

fn random_bytes<const N: usize>() -> Result<[u8; N], AccountError> {
    let mut buf = [0u8; N];
    getrandom::fill(&mut buf).map_err(|e| AccountError::Internal(format!("系统随机数不可用:{e}")))?;
    Ok(buf)
}

/// A session token: 64 lowercase hex characters from 32 random bytes.
fn random_token() -> Result<String, AccountError> {
    let raw = random_bytes::<TOKEN_BYTES>()?;
    Ok(raw.iter().map(|b| format!("{b:02x}")).collect())
}

fn hash_with(hasher: &Argon2<'_>, password: &str) -> Result<String, AccountError> {
    let salt = SaltString::encode_b64(&random_bytes::<SALT_BYTES>()?)
        .map_err(|e| AccountError::Internal(e.to_string()))?;
    let hash = hasher
        .hash_password(password.as_bytes(), &salt)
        .map_err(|e| AccountError::Internal(e.to_string()))?;
    Ok(hash.to_string())
}

fn validate_staff(staff: &str) -> Result<(), AccountError> {
    let ok = !staff.is_empty()
        && staff.len() <= STAFF_ID_CHARS_MAX
        && staff.bytes().all(|b| b.is_ascii_alphanumeric() || matches!(b, b'_' | b'.' | b'-'));
    ok.then_some(()).ok_or(AccountError::InvalidStaffId)
}

fn validate_name(name: &str) -> Result<String, AccountError> {
    let name = name.trim();
    let chars = name.chars().count();
    let ok = (1..=NAME_CHARS_MAX).contains(&chars) && !name.chars().any(char::is_control);
    ok.then(|| name.to_string()).ok_or(AccountError::InvalidName)
}

/// 8–128 characters, at least two of three classes: letters, digits, anything else.
fn validate_password(password: &str) -> Result<(), AccountError> {
    let chars = password.chars().count();
    if !(PASSWORD_CHARS_MIN..=PASSWORD_CHARS_MAX).contains(&chars) {
        return Err(AccountError::WeakPassword);
    }
    let letters = password.chars().any(char::is_alphabetic);
    let digits = password.chars().any(|c| c.is_ascii_digit());
    let others = password.chars().any(|c| !c.is_alphabetic() && !c.is_ascii_digit());
    if u8::from(letters) + u8::from(digits) + u8::from(others) < 2 {
        return Err(AccountError::WeakPassword);
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::store::kv::{MemKv, SledKv};

    const T0_MS: i64 = 1_714_521_600_000; // 2024-05-01 08:00 CST
    const PASSWORD: &str = "window-2024";

    fn config() -> AccountsConfig {
        AccountsConfig { argon2_cost: Argon2Cost::FAST_FOR_TESTS, ..AccountsConfig::default() }
    }

    fn accounts_on(kv: Arc<dyn Kv>, config: AccountsConfig) -> Accounts {
        Accounts::open(kv, config).expect("open")
    }

    fn accounts() -> Accounts {
        accounts_on(Arc::new(MemKv::new()), config())
    }

    fn with_clerk(accounts: &Accounts) -> Account {
        accounts.add("zhang.wei", " 张伟 ", Role::WindowClerk, PASSWORD, T0_MS).expect("add")
    }

    #[test]
    fn add_login_authenticate_logout() {
        let a = accounts();
        let account = with_clerk(&a);
        assert_eq!(account.name, "张伟");
        assert!(!account.disabled);
        assert_eq!(a.get("zhang.wei").expect("get"), account);

        let session = a.login("zhang.wei", PASSWORD, T0_MS).expect("login");
        assert_eq!(session.token.len(), 64);
        assert!(session.token.bytes().all(|b| b.is_ascii_hexdigit()));
        assert_eq!(session.expires_ms, T0_MS + SESSION_TTL_MS_DEFAULT);
        assert_eq!(session.account, account);
        assert_eq!(a.authenticate(&session.token, T0_MS + 1).expect("auth"), account);

        // Two logins: two independent sessions.
        let other = a.login("zhang.wei", PASSWORD, T0_MS).expect("login");
        assert_ne!(other.token, session.token);

        assert!(a.logout(&session.token).expect("logout"));
        assert!(!a.logout(&session.token).expect("logout"));
        assert_eq!(a.authenticate(&session.token, T0_MS + 2).map_err(|e| e.code()), Err("auth.invalid"));
        assert!(a.authenticate(&other.token, T0_MS + 2).is_ok());
    }

    #[test]
    fn the_api_view_never_carries_the_hash() {
        let a = accounts();
        let session = {
            with_clerk(&a);
            a.login("zhang.wei", PASSWORD, T0_MS).expect("login")
        };
        let json = serde_json::to_string(&session).expect("json");
        assert!(!json.contains("argon2"), "{json}");
        assert!(!json.contains(PASSWORD), "{json}");
    }

    #[test]
    fn a_wrong_password_and_an_unknown_id_get_the_same_answer() {
        let a = accounts();
        with_clerk(&a);
        let wrong = a.login("zhang.wei", "window-2025", T0_MS).expect_err("wrong password");
        let unknown = a.login("li.na", PASSWORD, T0_MS).expect_err("unknown");
        let malformed = a.login("bad id!", PASSWORD, T0_MS).expect_err("malformed");
        for e in [&wrong, &unknown, &malformed] {
            assert_eq!(e.code(), "auth.bad_credentials");
            assert_eq!(e.to_string(), "工号或密码错误");
            assert_eq!(e.http_status(), 401);
        }
    }

    #[test]
    fn a_session_expires_after_its_ttl() {
        let a = accounts();
        with_clerk(&a);
        let session = a.login("zhang.wei", PASSWORD, T0_MS).expect("login");
        assert!(a.authenticate(&session.token, session.expires_ms - 1).is_ok());
        let e = a.authenticate(&session.token, session.expires_ms).expect_err("expired");
        assert_eq!(e.code(), "auth.expired");
        assert_eq!(e.to_string(), "登录已过期,请重新登录");
        assert_eq!(e.http_status(), 401);
        // Once expired it is gone, not merely refused.
        assert_eq!(a.session_count(), 0);
    }

    #[test]
    fn missing_and_malformed_tokens_are_refused() {
        let a = accounts();
        assert_eq!(a.authenticate("", T0_MS).map_err(|e| e.code()), Err("auth.missing"));
        assert_eq!(a.authenticate("abc", T0_MS).map_err(|e| e.code()), Err("auth.invalid"));
        let not_hex = "z".repeat(64);
        assert_eq!(a.authenticate(&not_hex, T0_MS).map_err(|e| e.code()), Err("auth.invalid"));
        let unknown = "0".repeat(64);
        assert_eq!(a.authenticate(&unknown, T0_MS).map_err(|e| e.code()), Err("auth.invalid"));
    }

    #[test]
    fn disabling_stops_existing_sessions_at_once() {
        let a = accounts();
        with_clerk(&a);
        let session = a.login("zhang.wei", PASSWORD, T0_MS).expect("login");
        let disabled = a.disable("zhang.wei", T0_MS + 10).expect("disable");
        assert!(disabled.disabled);
        // disable ended the session outright.
        let e = a.authenticate(&session.token, T0_MS + 11).expect_err("disabled");
        assert_eq!(e.code(), "auth.invalid");

        let e = a.login("zhang.wei", PASSWORD, T0_MS + 12).expect_err("disabled");
        assert_eq!((e.code(), e.http_status()), ("auth.disabled", 403));
        // Without the right password a disabled account is not revealed as such.
        let e = a.login("zhang.wei", "wrong-pass-1", T0_MS + 12).expect_err("wrong");
        assert_eq!(e.code(), "auth.bad_credentials");

        assert!(!a.enable("zhang.wei").expect("enable").disabled);
        assert!(a.authenticate(&session.token, T0_MS + 13).is_err(), "old sessions stay ended");
        assert!(a.login("zhang.wei", PASSWORD, T0_MS + 14).is_ok());
    }

    #[test]
    fn a_disabled_flag_written_behind_the_sessions_back_is_seen_at_once() {
        // authenticate re-reads the account: even a session the disable did not purge stops.
        let kv = Arc::new(MemKv::new());
        let a = accounts_on(kv.clone(), config());
        with_clerk(&a);
        let session = a.login("zhang.wei", PASSWORD, T0_MS).expect("login");
        let mut stored = a.read("zhang.wei").expect("read");
        stored.disabled = true;
        a.write(&stored).expect("write");
        let e = a.authenticate(&session.token, T0_MS + 1).expect_err("disabled");
        assert_eq!(e.code(), "auth.disabled");
    }

    #[test]
    fn five_failures_lock_the_id_until_the_window_passes() {
        let a = accounts();
        with_clerk(&a);
        for i in 0..4 {
            let e = a.login("zhang.wei", "wrong-pass-1", T0_MS + i).expect_err("wrong");
            assert_eq!(e.code(), "auth.bad_credentials");
        }
        let e = a.login("zhang.wei", "wrong-pass-1", T0_MS + 4).expect_err("fifth");
        assert_eq!((e.code(), e.http_status()), ("auth.locked", 423));
        // 2024-05-01 08:00:00.004 CST + 15 min.
        assert_eq!(e.to_string(), "连续 5 次登录失败,该账号已锁定,请于 2024-05-01 08:15:00 后重试");

        // Even the right password is refused while locked.
        let until_ms = T0_MS + 4 + LOCKOUT_MS_DEFAULT;
        let e = a.login("zhang.wei", PASSWORD, until_ms - 1).expect_err("locked");
        assert_eq!(e.code(), "auth.locked");
        let session = a.login("zhang.wei", PASSWORD, until_ms).expect("unlocked");
        assert!(a.authenticate(&session.token, until_ms).is_ok());
    }

    #[test]
    fn failures_spread_beyond_the_window_do_not_lock() {
        let a = accounts();
        with_clerk(&a);
        for i in 0..10 {
            let e =
                a.login("zhang.wei", "wrong-pass-1", T0_MS + i * LOCKOUT_MS_DEFAULT / 4).expect_err("wrong");
            assert_eq!(e.code(), "auth.bad_credentials", "attempt {i}");
        }
        // A success clears the count.
        let a = accounts();
        with_clerk(&a);
        for round in 0..3 {
            for _ in 0..4 {
                a.login("zhang.wei", "wrong-pass-1", T0_MS + round).expect_err("wrong");
            }
            a.login("zhang.wei", PASSWORD, T0_MS + round).expect("login clears the count");
        }
    }

    #[test]
    fn unknown_ids_lock_like_known_ones() {
        let a = accounts();
        for i in 0..5 {
            a.login("nobody", PASSWORD, T0_MS + i).expect_err("unknown");
        }
        assert_eq!(a.login("nobody", PASSWORD, T0_MS + 5).map_err(|e| e.code()).err(), Some("auth.locked"));
    }

    #[test]
    fn the_failure_counters_are_bounded_and_keep_recent_locks() {
        let a = accounts();
        for _ in 0..5 {
            a.record_failure("locked.one", T0_MS).expect("count");
        }
        for i in 0..LOGIN_FAILURES_TRACKED_MAX {
            a.record_failure(&format!("id{i}"), T0_MS + 1 + i as i64).expect("count");
        }
        let held = a.failures.lock().expect("lock").len();
        assert_eq!(held, LOGIN_FAILURES_TRACKED_MAX);
        // The oldest unlocked entry made room; the lock stays.
        assert_eq!(a.check_lock("locked.one", T0_MS + 2).map_err(|e| e.code()), Err("auth.locked"));
        assert!(!a.failures.lock().expect("lock").contains_key("id0"));
        // Once windows pass, stale entries are purged first and a fresh lock survives.
        let later_ms = T0_MS + 2 * LOCKOUT_MS_DEFAULT + LOGIN_FAILURES_TRACKED_MAX as i64;
        for _ in 0..5 {
            a.record_failure("locked.two", later_ms).expect("count");
        }
        assert_eq!(a.failures.lock().expect("lock").len(), 1);
        assert_eq!(a.check_lock("locked.two", later_ms + 1).map_err(|e| e.code()), Err("auth.locked"));
    }

    #[test]
    fn sessions_are_bounded_expired_ones_purged_first() {
        let sessions_max = 3;
        let a = accounts_on(
            Arc::new(MemKv::new()),
            AccountsConfig { sessions_max, session_ttl_ms: 1_000, ..config() },
        );
        with_clerk(&a);
        let first = a.login("zhang.wei", PASSWORD, T0_MS).expect("login");
        for _ in 1..sessions_max {
            a.login("zhang.wei", PASSWORD, T0_MS + 500).expect("login");
        }
        let e = a.login("zhang.wei", PASSWORD, T0_MS + 500).expect_err("full");
        assert_eq!((e.code(), e.http_status()), ("auth.too_many_sessions", 503));
        assert_eq!(a.session_count(), sessions_max);
        // The first session has expired: purged to make room.
        let late = a.login("zhang.wei", PASSWORD, T0_MS + 1_000).expect("room after purge");
        assert_eq!(a.session_count(), sessions_max);
        assert_eq!(a.authenticate(&first.token, T0_MS + 1_000).map_err(|e| e.code()), Err("auth.invalid"));
        assert!(a.authenticate(&late.token, T0_MS + 1_000).is_ok());
    }

    #[test]
    fn accounts_survive_a_restart_sessions_do_not() {
        // rule O2: an acknowledged account is durable.
        let dir = tempfile::tempdir().expect("tempdir");
        let token = {
            let kv: Arc<dyn Kv> = Arc::new(SledKv::open(dir.path()).expect("sled"));
            let a = accounts_on(kv, config());
            with_clerk(&a);
            a.add(
                "li.na",
                "李娜",
                parse_role("department_reviewer:BDC").expect("role"),
                "bdc-review-1",
                T0_MS,
            )
            .expect("add");
            a.login("zhang.wei", PASSWORD, T0_MS).expect("login").token
        };
        let kv: Arc<dyn Kv> = Arc::new(SledKv::open(dir.path()).expect("reopen"));
        let a = accounts_on(kv, config());
        let list = a.list().expect("list");
        let ids: Vec<&str> = list.iter().map(|acc| acc.staff.as_str()).collect();
        assert_eq!(ids, ["li.na", "zhang.wei"]);
        assert_eq!(list[0].role, Role::DepartmentReviewer(DepartmentCode::new("BDC")));
        assert_eq!(a.authenticate(&token, T0_MS + 1).map_err(|e| e.code()), Err("auth.invalid"));
        assert!(a.login("zhang.wei", PASSWORD, T0_MS + 2).is_ok());
    }

    #[test]
    fn add_is_durable_before_it_returns() {
        // rule O2: what add acknowledged survives a power cut.
        let kv = Arc::new(MemKv::new());
        let a = accounts_on(kv.clone(), config());
        with_clerk(&a);
        kv.crash();
        let a = accounts_on(Arc::new(kv.restarted()), config());
        assert!(a.login("zhang.wei", PASSWORD, T0_MS).is_ok());
    }

    #[test]
    fn the_store_holds_an_argon2id_phc_string_never_the_password() {
        let kv = Arc::new(MemKv::new());
        let a = accounts_on(kv.clone(), AccountsConfig::default());
        with_clerk(&a);
        let raw = kv.get(b"u/zhang.wei").expect("get").expect("stored");
        let text = String::from_utf8_lossy(&raw);
        // The production cost: argon2's defaults.
        assert!(text.contains("$argon2id$v=19$m=19456,t=2,p=1$"), "{text}");
        assert!(!text.contains(PASSWORD), "{text}");
        assert!(a.login("zhang.wei", PASSWORD, T0_MS).is_ok());

        // A hash made at another cost still verifies (the PHC string carries its parameters).
        let fast = accounts_on(kv, config());
        assert!(fast.login("zhang.wei", PASSWORD, T0_MS).is_ok());
    }

    #[test]
    fn a_corrupt_record_is_reported_not_trusted() {
        let kv = Arc::new(MemKv::new());
        let a = accounts_on(kv.clone(), config());
        with_clerk(&a);
        let mut raw = kv.get(b"u/zhang.wei").expect("get").expect("stored");
        let last = raw.len() - 1;
        raw[last] ^= 1;
        kv.poke(b"u/zhang.wei", raw);
        let e = a.login("zhang.wei", PASSWORD, T0_MS).expect_err("corrupt");
        assert_eq!((e.code(), e.http_status()), ("account.corrupt", 500));
        assert_eq!(a.get("zhang.wei").map_err(|e| e.code()), Err("account.corrupt"));
    }

    #[test]
    fn add_validates_and_refuses_an_existing_id() {
        let a = accounts();
        with_clerk(&a);
        let e = a.add("zhang.wei", "另一个张伟", Role::Auditor, PASSWORD, T0_MS).expect_err("exists");
        assert_eq!((e.code(), e.http_status()), ("account.exists", 409));

        let cases: [(&str, &str, &str, &str); 9] = [
            ("", "名", PASSWORD, "account.invalid_staff"),
            ("有中文", "名", PASSWORD, "account.invalid_staff"),
            ("a b", "名", PASSWORD, "account.invalid_staff"),
            (&"x".repeat(33), "名", PASSWORD, "account.invalid_staff"),
            ("ok", "   ", PASSWORD, "account.invalid_name"),
            ("ok", &"名".repeat(51), PASSWORD, "account.invalid_name"),
            ("ok", "名", "short-1", "account.weak_password"),
            ("ok", "名", "onlyletters", "account.weak_password"),
            ("ok", "名", "1234567890", "account.weak_password"),
        ];
        for (staff, name, password, code) in cases {
            let e = a.add(staff, name, Role::WindowClerk, password, T0_MS).expect_err(code);
            assert_eq!((e.code(), e.http_status()), (code, 422), "{staff:?} {name:?} {password:?}");
        }
        assert!(a.add(&"x".repeat(32), &"名".repeat(50), Role::WindowClerk, "12345678a", T0_MS).is_ok());
        assert!(a.add("ok", "名", Role::WindowClerk, &"a1".repeat(64), T0_MS).is_ok());
        let e = a.add("ok2", "名", Role::WindowClerk, &"a1".repeat(65), T0_MS).expect_err("long");
        assert_eq!(e.code(), "account.weak_password");
        let e = a.add("sys", "系统", Role::System, PASSWORD, T0_MS).expect_err("system");
        assert_eq!(e.code(), "account.invalid_role");
        assert_eq!(a.get("nobody").map_err(|e| (e.code(), e.http_status())), Err(("account.not_found", 404)));
    }

    #[test]
    fn set_password_replaces_it_and_ends_sessions() {
        let a = accounts();
        with_clerk(&a);
        let session = a.login("zhang.wei", PASSWORD, T0_MS).expect("login");
        let e = a.set_password("zhang.wei", "weak").expect_err("weak");
        assert_eq!(e.code(), "account.weak_password");
        a.set_password("zhang.wei", "new-pass-2024").expect("set");
        assert!(a.authenticate(&session.token, T0_MS + 1).is_err());
        assert_eq!(
            a.login("zhang.wei", PASSWORD, T0_MS + 2).map_err(|e| e.code()).err(),
            Some("auth.bad_credentials")
        );
        assert!(a.login("zhang.wei", "new-pass-2024", T0_MS + 3).is_ok());
        assert_eq!(a.set_password("nobody", "new-pass-2024").map_err(|e| e.code()), Err("account.not_found"));
    }

    #[test]
    fn roles_round_trip_and_bad_roles_are_refused() {
        let roles = [
            Role::WindowClerk,
            Role::DepartmentReviewer(DepartmentCode::new("BDC")),
            Role::IssuingWindow,
            Role::HallCentre,
            Role::Supervisor,
            Role::Auditor,
        ];
        for role in roles {
            assert_eq!(parse_role(&role_str(&role)).expect("parse"), role);
        }
        assert_eq!(
            role_str(&Role::DepartmentReviewer(DepartmentCode::new("BDC"))),
            "department_reviewer:BDC"
        );
        for bad in [
            "",
            "system",
            "clerk",
            "department_reviewer",
            "department_reviewer:",
            "department_reviewer:B D",
            "WINDOW_CLERK",
        ] {
            let e = parse_role(bad).expect_err(bad);
            assert_eq!((e.code(), e.http_status()), ("account.invalid_role", 422), "{bad:?}");
        }
    }

    #[test]
    fn bad_configs_are_refused() {
        for c in [
            AccountsConfig { session_ttl_ms: 0, ..config() },
            AccountsConfig { sessions_max: 0, ..config() },
            AccountsConfig { login_failures_max: 0, ..config() },
            AccountsConfig { lockout_ms: -1, ..config() },
            AccountsConfig {
                argon2_cost: Argon2Cost { memory_kib: 1, iterations: 0, parallelism: 0 },
                ..config()
            },
        ] {
            assert_eq!(
                Accounts::open(Arc::new(MemKv::new()), c).map(|_| ()).map_err(|e| e.code()),
                Err("account.config")
            );
        }
    }
}
