//! `yikou user add|list|disable`: staff accounts, through the running node's admin API or, with
//! the node stopped, in its store directly (accounts are local to each node, under `u/`).

use std::io::{BufRead, IsTerminal, Read, Write};
use std::sync::Arc;

use anyhow::{Result, bail};
use serde_json::{Value, json};
use yikou_node::accounts::{Account, Accounts, AccountsConfig, parse_role, role_str};
use yikou_node::config::Config;
use yikou_node::store::Kv;

use super::{Node, connect};

/// Password characters read at most.
const PASSWORD_CHARS_MAX: usize = 1024;

/// An account as the CLI shows it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct AccountView {
    pub staff: String,
    pub name: String,
    pub role: String,
    pub disabled: bool,
}

impl AccountView {
    /// From the API's account JSON (`{staff, name, role, disabled, created_ms}`); a role that is not
    /// a string is shown as its JSON.
    pub fn from_json(v: &Value) -> AccountView {
        let role = match v.get("role") {
            // The API's role: `{"role": "department_reviewer", "department": "BDC"}`.
            Some(Value::Object(r)) => {
                let name = r.get("role").and_then(Value::as_str).unwrap_or("");
                match r.get("department").and_then(Value::as_str) {
                    Some(d) => format!("{name}:{d}"),
                    None => name.to_string(),
                }
            }
            _ => String::new(),
        };
        let text = |k: &str| match v.get(k) {
            Some(Value::String(s)) => s.clone(),
            Some(Value::Null) | None => String::new(),
            Some(other) => other.to_string(),
        };
        AccountView {
            staff: text("staff"),
            name: text("name"),
            role: if role.is_empty() { text("role") } else { role },
            disabled: v.get("disabled").and_then(Value::as_bool).unwrap_or(false),
        }
    }

    fn line(&self) -> String {
        let state = if self.disabled { "已停用" } else { "启用" };
        format!("{} | {} | {} | {state}", self.staff, self.name, self.role)
    }
}

/// Account administration on a stopped node's own store.
pub trait LocalAccounts {
    fn add(&self, staff: &str, name: &str, role: &str, password: &str, now_ms: i64) -> Result<AccountView>;
    fn list(&self) -> Result<Vec<AccountView>>;
    fn disable(&self, staff: &str, now_ms: i64) -> Result<AccountView>;
}

/// The accounts of a stopped node.
fn local_accounts(kv: Arc<dyn Kv>) -> Result<Box<dyn LocalAccounts>> {
    Ok(Box::new(Offline(Accounts::open(kv, AccountsConfig::default())?)))
}

struct Offline(Accounts);

fn view(a: &Account) -> AccountView {
    AccountView {
        staff: a.staff.to_string(),
        name: a.name.clone(),
        role: role_str(&a.role),
        disabled: a.disabled,
    }
}

impl LocalAccounts for Offline {
    fn add(&self, staff: &str, name: &str, role: &str, password: &str, now_ms: i64) -> Result<AccountView> {
        Ok(view(&self.0.add(staff, name, parse_role(role)?, password, now_ms)?))
    }

    fn list(&self) -> Result<Vec<AccountView>> {
        Ok(self.0.list()?.iter().map(view).collect())
    }

    fn disable(&self, staff: &str, now_ms: i64) -> Result<AccountView> {
        Ok(view(&self.0.disable(staff, now_ms)?))
    }
}

/// Reads the password: one line from standard input, or (at a terminal) asked twice, unechoed.
pub fn read_password(from_stdin: bool) -> Result<String> {
    let stdin = std::io::stdin();
    let read_line = || -> Result<String> {
        let mut line = String::new();
        stdin.lock().take(PASSWORD_CHARS_MAX as u64 * 4).read_line(&mut line)?;
        Ok(line.trim_end_matches(['\r', '\n']).to_string())
    };
    if from_stdin || !stdin.is_terminal() {
        let password = read_line()?;
        if password.is_empty() {
            bail!("没有从标准输入读到密码");
        }
        return Ok(password);
    }
    // No extra crate for a hidden prompt: `stty` turns the terminal's echo off meanwhile.
    let echo = |on: bool| {
        let _ = std::process::Command::new("stty").arg(if on { "echo" } else { "-echo" }).status();
    };
    let ask = |prompt: &str| -> Result<String> {
        eprint!("{prompt}");
        let _ = std::io::stderr().flush();
        echo(false);
        let line = read_line();
        echo(true);
        eprintln!();
        line
    };
    let first = ask("请输入密码:")?;
    let second = ask("请再输入一次:")?;
    if first != second {
        bail!("两次输入的密码不一致,未创建账户");
    }
    Ok(first)
}

pub fn add(config: &Config, staff: &str, name: &str, role: &str, password: &str) -> Result<String> {
    let account = match connect(config)? {
        Node::Online(client) => {
            let body = json!({ "staff": staff, "name": name, "role": role, "password": password });
            let v = client.json(reqwest::Method::POST, "/api/v1/admin/users", Some(&body), "添加账户")?;
            AccountView::from_json(&v)
        }
        Node::Offline(local) => {
            local_accounts(local.kv)?.add(staff, name, role, password, yikou_node::clock::now_ms())?
        }
    };
    Ok(format!("已添加账户:{}\n", account.line()))
}

pub fn list(config: &Config) -> Result<String> {
    let accounts = match connect(config)? {
        Node::Online(client) => {
            let v = client.json(reqwest::Method::GET, "/api/v1/admin/users", None, "列出账户")?;
            let items = match &v {
                Value::Array(items) => items.clone(),
                other => other.get("users").and_then(Value::as_array).cloned().unwrap_or_default(),
            };
            items.iter().map(AccountView::from_json).collect()
        }
        Node::Offline(local) => local_accounts(local.kv)?.list()?,
    };
    let mut out = format!("账户 {} 个\n工号 | 姓名 | 角色 | 状态\n", accounts.len());
    for a in &accounts {
        out.push_str(&a.line());
        out.push('\n');
    }
    Ok(out)
}

pub fn disable(config: &Config, staff: &str) -> Result<String> {
    let account = match connect(config)? {
        Node::Online(client) => {
            let path = format!("/api/v1/admin/users/{staff}/disable");
            if !staff.bytes().all(|b| b.is_ascii_alphanumeric() || b"_.-".contains(&b)) {
                bail!("工号「{staff}」无效:只能由字母、数字和 _ . - 组成");
            }
            let v = client.json(reqwest::Method::POST, &path, None, "停用账户")?;
            if v.is_null() {
                AccountView { staff: staff.into(), name: String::new(), role: String::new(), disabled: true }
            } else {
                AccountView::from_json(&v)
            }
        }
        Node::Offline(local) => local_accounts(local.kv)?.disable(staff, yikou_node::clock::now_ms())?,
    };
    Ok(format!("已停用账户:{}(其登录会话立即失效)\n", account.line()))
}
