//! Reference data (`catalog import|export`, `calendar import`), `backup`, `restore` and `status`.

use std::fmt::Write as _;
use std::path::{Path, PathBuf};

use anyhow::{Context, Result, bail};
use serde_json::Value;
use yikou_node::backup;
use yikou_node::config::Config;
use yikou_node::doc::RefKind;
use yikou_node::pki::PeerRole;
use yikou_node::store::CaseStore;
use yikou_schema::calendar::WorkCalendar;
use yikou_schema::catalog::{Catalog, TEXT_BYTES_MAX};

use super::{Local, Node, connect, connect_offline_only, read_text};

/// Checkpoints listed by `status` at most.
const STATUS_PEERS_MAX: usize = 256;

/// Reference data is the hall's (O5): a township's copy arrives by replication only.
fn hall_only(config: &Config) -> Result<()> {
    if config.node.role != PeerRole::Hall {
        bail!(
            "参考数据只能在大厅节点修改:本节点「{}」是乡镇节点,事项清单和工作日历由大厅导入后自动同步过来",
            config.node.name
        );
    }
    Ok(())
}

pub fn catalog_import(config: &Config, file: &Path) -> Result<String> {
    hall_only(config)?;
    let text = read_text(file, "事项清单文件", TEXT_BYTES_MAX)?;
    let catalog = Catalog::from_toml(&text).map_err(|errors| {
        anyhow::anyhow!("事项清单文件 {} 有 {} 处问题,未导入:\n{errors}", file.display(), errors.0.len())
    })?;
    match connect(config)? {
        Node::Online(client) => {
            let v = client.put_text("/api/v1/admin/catalog", text, "导入事项清单")?;
            let version = v.get("version").and_then(Value::as_str).unwrap_or(&catalog.version);
            let items = v.get("items").and_then(Value::as_u64).unwrap_or(catalog.items.len() as u64);
            Ok(format!("已通过运行中的节点导入事项清单「{}」版本 {version},事项 {items} 个\n", catalog.title))
        }
        Node::Offline(local) => {
            let before = local.store.heads(&CaseStore::reference_id(RefKind::Catalog))?;
            let ack = local.store.put_reference(RefKind::Catalog, &catalog)?;
            let unchanged = before.as_ref() == Some(&ack.heads);
            Ok(format!(
                "已导入事项清单「{}」版本 {},事项 {} 个{}\n",
                catalog.title,
                catalog.version,
                catalog.items.len(),
                if unchanged {
                    "(与已有清单相同,未改变)"
                } else {
                    ";节点启动后同步到各乡镇"
                }
            ))
        }
    }
}

pub fn catalog_export(config: &Config, out: Option<&Path>) -> Result<String> {
    let text = match connect(config)? {
        Node::Online(client) => client.get_text("/api/v1/catalog?format=toml", "导出事项清单")?,
        Node::Offline(local) => match local.store.reference::<Catalog>(RefKind::Catalog)? {
            Some(catalog) => catalog.to_toml(),
            None => bail!("本节点还没有事项清单:大厅请用 yikou catalog import 导入,乡镇节点从大厅同步"),
        },
    };
    match out {
        Some(path) => {
            write_replacing(path, text.as_bytes())?;
            Ok(format!("已导出事项清单到 {}\n", path.display()))
        }
        None => Ok(text),
    }
}

pub fn calendar_import(config: &Config, file: &Path) -> Result<String> {
    hall_only(config)?;
    let text = read_text(file, "工作日历文件", TEXT_BYTES_MAX)?;
    let loaded = WorkCalendar::from_toml(&text)
        .with_context(|| format!("工作日历文件 {} 有误,未导入", file.display()))?;
    let years: Vec<String> = loaded.loaded_years().map(|y| y.to_string()).collect();
    match connect(config)? {
        Node::Online(client) => {
            client.put_text("/api/v1/admin/calendar", text, "导入工作日历")?;
        }
        Node::Offline(local) => {
            // The file's years replace the same years of the node's calendar (or the built-in one).
            let mut calendar = local
                .store
                .reference::<WorkCalendar>(RefKind::Calendar)?
                .unwrap_or_else(WorkCalendar::builtin);
            calendar.merge(loaded);
            local.store.put_reference(RefKind::Calendar, &calendar)?;
        }
    }
    Ok(format!("已导入工作日历,年份:{}\n", years.join("、")))
}

/// Writes `bytes` to `path` through a temporary file beside it (a failure leaves no half file).
fn write_replacing(path: &Path, bytes: &[u8]) -> Result<()> {
    let tmp = partial_path(path);
    std::fs::write(&tmp, bytes).with_context(|| format!("无法写入 {}", tmp.display()))?;
    std::fs::rename(&tmp, path).with_context(|| format!("无法写入 {}", path.display()))
}

fn partial_path(path: &Path) -> PathBuf {
    let mut name = path.file_name().map(|n| n.to_os_string()).unwrap_or_default();
    name.push(".partial");
    path.with_file_name(name)
}

pub fn backup(config: &Config, out: &Path) -> Result<String> {
    if out.exists() {
        bail!("备份文件 {} 已存在,拒绝覆盖:请换一个文件名(例如带上日期)", out.display());
    }
    let tmp = partial_path(out);
    let result = write_backup(config, &tmp);
    let summary = match result {
        Ok(summary) => summary,
        Err(e) => {
            let _ = std::fs::remove_file(&tmp);
            return Err(e);
        }
    };
    std::fs::rename(&tmp, out).with_context(|| format!("无法写入 {}", out.display()))?;
    Ok(format!("已备份到 {}:{summary}\n", out.display()))
}

fn write_backup(config: &Config, tmp: &Path) -> Result<backup::BackupSummary> {
    let file = std::fs::File::create(tmp).with_context(|| format!("无法创建 {}", tmp.display()))?;
    let mut w = std::io::BufWriter::new(file);
    match connect(config)? {
        Node::Online(client) => {
            client.post_to("/api/v1/admin/backup", &mut w, "备份")?;
        }
        Node::Offline(local) => {
            backup::write(&local.store, local.kv.as_ref(), &mut w)?;
        }
    }
    let file = w.into_inner().map_err(|e| e.into_error())?;
    file.sync_all()?;
    // Checked as a restore will read it: a backup that would not restore is not reported as made.
    let mut reader = std::io::BufReader::new(std::fs::File::open(tmp)?);
    backup::verify(&mut reader).context("备份文件校验未通过,未保存")
}

pub fn restore(config: &Config, from: &Path) -> Result<String> {
    let file = std::fs::File::open(from).with_context(|| format!("无法读取备份文件 {}", from.display()))?;
    let local = connect_offline_only(config, "恢复")?;
    let summary = backup::restore(&mut std::io::BufReader::new(file), &local.store, local.kv.as_ref())?;
    Ok(format!(
        "已从 {} 恢复:{summary}\n下一步:启动节点(yikou run),它会与各对端重新核对,补齐备份之后的数据\n",
        from.display()
    ))
}

pub fn status(config: &Config) -> Result<String> {
    match connect(config)? {
        Node::Online(client) => {
            let v = client.json(reqwest::Method::GET, "/api/v1/status", None, "查询状态")?;
            let mut out = format!("节点 {} 正在运行({}):\n", config.node.name, client.base());
            readable(&mut out, &v, 1);
            Ok(out)
        }
        Node::Offline(local) => offline_status(config, &local),
    }
}

fn hex(bytes: &[u8]) -> String {
    bytes.iter().map(|b| format!("{b:02x}")).collect()
}

fn offline_status(config: &Config, local: &Local) -> Result<String> {
    let s = &local.store;
    let n = &config.node;
    let mut out = String::new();
    // Writing to a String cannot fail: the results of writeln! below are ignored on purpose.
    let _ = writeln!(out, "节点 {} 未运行(以下读自数据目录 {})", n.name, n.data_dir.display());
    let code = config.node_code().map(|c| c.to_string()).unwrap_or_default();
    let _ = writeln!(out, "  角色:{}  范围:{}  节点编码:{code}", n.role.label(), n.scope);
    let _ = writeln!(
        out,
        "  文档:{} 个  变更序列:{}  存储纪元:{}",
        s.doc_count()?,
        s.last_seq()?,
        hex(&s.epoch())
    );
    let size = s.size_on_disk()?;
    let _ = writeln!(out, "  存储大小:{:.1} MB({size} 字节)", size as f64 / 1_048_576.0);
    for kind in RefKind::ALL {
        let state = match s.heads(&CaseStore::reference_id(kind))? {
            None => "无".to_string(),
            Some(_) if kind == RefKind::Catalog => match s.reference::<Catalog>(kind) {
                Ok(Some(c)) => format!("版本 {},事项 {} 个", c.version, c.items.len()),
                _ => "有".to_string(),
            },
            Some(_) => "有".to_string(),
        };
        let _ = writeln!(out, "  {}:{state}", kind.name_zh());
    }
    let rows = local.kv.range(b"p/", b"p0", STATUS_PEERS_MAX)?;
    let mut peers: Vec<String> =
        rows.iter().filter_map(|(k, _)| String::from_utf8(k[2..].to_vec()).ok()).collect();
    for p in &config.sync.peers {
        if !peers.contains(&p.name) {
            peers.push(p.name.clone());
        }
    }
    let _ = writeln!(out, "  对端检查点({} 个):", peers.len());
    for peer in &peers {
        let addr =
            config.sync.peers.iter().find(|p| &p.name == peer).map_or("未配置", |p| p.addr.as_str());
        let state = match s.checkpoint(peer) {
            Ok(Some(cp)) => format!("已读到对方变更序列 {}(对方纪元 {})", cp.seq, hex(&cp.epoch)),
            Ok(None) => "尚未同步".to_string(),
            Err(e) => format!("读取失败:{e}"),
        };
        let _ = writeln!(out, "    {peer}({addr}):{state}");
    }
    Ok(out)
}

/// JSON as indented `key: value` lines.
fn readable(out: &mut String, v: &Value, depth: usize) {
    let pad = "  ".repeat(depth);
    match v {
        Value::Object(map) => {
            for (k, v) in map {
                match v {
                    Value::Object(_) => {
                        let _ = writeln!(out, "{pad}{k}:");
                        readable(out, v, depth + 1);
                    }
                    Value::Array(items) if items.iter().any(|i| i.is_object() || i.is_array()) => {
                        let _ = writeln!(out, "{pad}{k}:");
                        for item in items {
                            let _ = writeln!(out, "{pad}  -");
                            readable(out, item, depth + 2);
                        }
                    }
                    other => {
                        let _ = writeln!(out, "{pad}{k}: {}", scalar(other));
                    }
                }
            }
        }
        Value::Array(items) => {
            for item in items {
                let _ = writeln!(out, "{pad}-");
                readable(out, item, depth + 1);
            }
        }
        other => {
            let _ = writeln!(out, "{pad}{}", scalar(other));
        }
    }
}

fn scalar(v: &Value) -> String {
    match v {
        Value::String(s) => s.clone(),
        Value::Array(items) => items.iter().map(scalar).collect::<Vec<_>>().join(", "),
        other => other.to_string(),
    }
}

/// The configuration `yikou run` starts with. With no config file at all and a data directory
/// that does not exist yet, it first makes a standalone node there (a one-node CA, the sample
/// catalog), so that `yikou run` alone starts a working node.
pub fn prepare_run(node: &super::NodeOpts) -> Result<Config> {
    let explicit =
        node.dir.is_some() || node.config.is_some() || Path::new(yikou_node::config::CONFIG_FILE).exists();
    let config = node.load()?;
    let data = config.data_dir();
    if explicit || data.is_initialised() {
        return Ok(config);
    }
    let report = yikou_node::init::init(&yikou_node::init::InitOptions {
        dir: data.root().to_path_buf(),
        name: config.node.name.clone(),
        role: config.node.role,
        scope: config.node.scope.clone(),
        code: None,
        http: Some(config.http.listen.clone()),
        sync: Some(config.sync.listen.clone()),
        peers: Vec::new(),
        credentials: yikou_node::init::Credentials::SelfSigned,
    })?;
    println!("{report}");
    let parts = yikou_node::server::open_parts(&report.config, &yikou_node::server::StartOptions::default())?;
    parts.service.import_catalog(yikou_schema::catalog::SAMPLE_TOML)?;
    drop(parts);
    println!("已导入示例事项清单(样例数据,非官方);正式使用前请用 yikou catalog import 导入本县事项清单。");
    Ok(report.config)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn status_json_prints_as_indented_lines() {
        let v = serde_json::json!({"node": "hall", "store": {"documents": 3}, "peers": [{"name": "a"}], "tags": [1, 2]});
        let mut out = String::new();
        readable(&mut out, &v, 0);
        assert_eq!(out, "node: hall\npeers:\n  -\n    name: a\nstore:\n  documents: 3\ntags: 1, 2\n");
    }
}
