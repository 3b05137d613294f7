//! The operator CLI's client of a running node's admin API: plain HTTP on the configured address,
//! `Authorization: Bearer <admin.token>`. Errors come back as RFC 9457 problem+json; their `detail`
//! and `code` are what the operator sees.

use std::net::{IpAddr, Ipv4Addr, Ipv6Addr, SocketAddr};
use std::time::Duration;

use anyhow::{Context, Result, anyhow, bail};
use serde_json::Value;

/// How long the CLI waits for `/healthz` before treating the node as stopped.
pub const PROBE_TIMEOUT_MS: u64 = 1_500;

/// How long one admin request may take (a backup of a large store takes a while).
pub const REQUEST_TIMEOUT_MS: u64 = 30 * 60 * 1_000;

/// The largest error body shown to the operator.
const ERROR_BODY_CHARS_MAX: usize = 500;

/// What `/healthz` answered.
pub enum Probe {
    /// A node answered, with its name.
    Running { node: String },
    /// Nothing answers at the address.
    Silent,
}

pub struct AdminClient {
    rt: tokio::runtime::Runtime,
    http: reqwest::Client,
    base: String,
    token: Option<String>,
}

/// The address to connect to for a listen address: an unspecified one (0.0.0.0, ::) means this
/// machine.
fn connect_addr(listen: &str) -> Result<SocketAddr> {
    let mut addr: SocketAddr =
        listen.parse().with_context(|| format!("http.listen「{listen}」不是有效地址"))?;
    if addr.ip().is_unspecified() {
        addr.set_ip(match addr.ip() {
            IpAddr::V4(_) => IpAddr::V4(Ipv4Addr::LOCALHOST),
            IpAddr::V6(_) => IpAddr::V6(Ipv6Addr::LOCALHOST),
        });
    }
    Ok(addr)
}

impl AdminClient {
    pub fn new(listen: &str) -> Result<AdminClient> {
        let rt =
            tokio::runtime::Builder::new_current_thread().enable_all().build().context("无法启动运行时")?;
        let http = reqwest::Client::builder()
            // The node is on this machine or the LAN: a system proxy must not be asked for it.
            .no_proxy()
            .connect_timeout(Duration::from_millis(PROBE_TIMEOUT_MS))
            .build()
            .context("无法建立 HTTP 客户端")?;
        Ok(AdminClient { rt, http, base: format!("http://{}", connect_addr(listen)?), token: None })
    }

    pub fn base(&self) -> &str {
        &self.base
    }

    pub fn set_token(&mut self, token: String) {
        self.token = Some(token);
    }

    /// Asks `/healthz` whether a node is running at the address.
    pub fn probe(&self) -> Probe {
        let url = format!("{}/healthz", self.base);
        let answer = self.rt.block_on(async {
            let resp =
                self.http.get(&url).timeout(Duration::from_millis(PROBE_TIMEOUT_MS)).send().await.ok()?;
            if !resp.status().is_success() {
                return Some(String::new());
            }
            let body: Value = resp.json().await.ok()?;
            Some(body.get("node").and_then(Value::as_str).unwrap_or_default().to_string())
        });
        match answer {
            Some(node) => Probe::Running { node },
            None => Probe::Silent,
        }
    }

    fn request(&self, method: reqwest::Method, path: &str) -> reqwest::RequestBuilder {
        let mut req = self
            .http
            .request(method, format!("{}{path}", self.base))
            .timeout(Duration::from_millis(REQUEST_TIMEOUT_MS));
        if let Some(token) = &self.token {
            req = req.bearer_auth(token);
        }
        req
    }

    /// Sends a request; the response if it succeeded, else the problem's detail and code.
    async fn send(req: reqwest::RequestBuilder, what: &str) -> Result<reqwest::Response> {
        let resp = req.send().await.with_context(|| format!("{what}:无法连接运行中的节点"))?;
        if resp.status().is_success() {
            return Ok(resp);
        }
        let status = resp.status();
        let text = resp.text().await.unwrap_or_default();
        match serde_json::from_str::<Value>(&text) {
            Ok(problem) if problem.get("detail").is_some() || problem.get("code").is_some() => {
                let field = |k: &str| problem.get(k).and_then(Value::as_str).unwrap_or_default().to_string();
                let mut msg = format!("{what}失败:{}", field("detail"));
                if !field("code").is_empty() {
                    msg.push_str(&format!("[{}]", field("code")));
                }
                if !field("rule").is_empty() {
                    msg.push_str(&format!("(规则 {})", field("rule")));
                }
                Err(anyhow!(msg))
            }
            _ => {
                let shown: String = text.chars().take(ERROR_BODY_CHARS_MAX).collect();
                bail!("{what}失败:节点返回 HTTP {status} {shown}")
            }
        }
    }

    /// A JSON request (or none) with a JSON answer.
    pub fn json(
        &self,
        method: reqwest::Method,
        path: &str,
        body: Option<&Value>,
        what: &str,
    ) -> Result<Value> {
        self.rt.block_on(async {
            let mut req = self.request(method, path);
            if let Some(body) = body {
                req = req.json(body);
            }
            let resp = Self::send(req, what).await?;
            let text = resp.text().await.with_context(|| format!("{what}:读取应答失败"))?;
            if text.trim().is_empty() {
                return Ok(Value::Null);
            }
            serde_json::from_str(&text).with_context(|| format!("{what}:应答不是 JSON"))
        })
    }

    /// A text body (TOML) with a JSON answer.
    pub fn put_text(&self, path: &str, text: String, what: &str) -> Result<Value> {
        self.rt.block_on(async {
            let req = self
                .request(reqwest::Method::PUT, path)
                .header("content-type", "application/toml")
                .body(text);
            let resp = Self::send(req, what).await?;
            let text = resp.text().await.with_context(|| format!("{what}:读取应答失败"))?;
            Ok(serde_json::from_str(&text).unwrap_or(Value::Null))
        })
    }

    /// A text answer.
    pub fn get_text(&self, path: &str, what: &str) -> Result<String> {
        self.rt.block_on(async {
            let resp = Self::send(self.request(reqwest::Method::GET, path), what).await?;
            resp.text().await.with_context(|| format!("{what}:读取应答失败"))
        })
    }

    /// A binary answer streamed into `out`; the bytes written.
    pub fn post_to(&self, path: &str, out: &mut dyn std::io::Write, what: &str) -> Result<u64> {
        self.rt.block_on(async {
            let mut resp = Self::send(self.request(reqwest::Method::POST, path), what).await?;
            let mut written = 0u64;
            while let Some(chunk) = resp.chunk().await.with_context(|| format!("{what}:传输中断"))? {
                out.write_all(&chunk)?;
                written += chunk.len() as u64;
            }
            Ok(written)
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn unspecified_listen_addresses_connect_to_this_machine() {
        assert_eq!(connect_addr("0.0.0.0:8080").expect("ok").to_string(), "127.0.0.1:8080");
        assert_eq!(connect_addr("[::]:8080").expect("ok").to_string(), "[::1]:8080");
        assert_eq!(connect_addr("10.0.0.5:80").expect("ok").to_string(), "10.0.0.5:80");
    }
}
