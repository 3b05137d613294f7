//! `yikou catalog check FILE`: validates a catalog file (事项清单) and lists its items, or lists
//! every problem with its line so an operator can fix the file in one pass.
//!
//! The texts are for operators, in Chinese. The listing shows each item's status on the day the
//! command runs (China Standard Time, UTC+8): in use, not yet in effect, or cancelled (W11).

use std::fmt::Write as _;
use std::path::Path;

use anyhow::{Context, Result, bail};
use chrono::NaiveDate;
use yikou_schema::catalog::{Catalog, ItemStatus, JointMode, TEXT_BYTES_MAX};

/// Validates the catalog at `path`; on success a printable listing, on failure an error whose
/// text lists every problem as `第 N 行 [code]: message`, one per line.
pub fn check(path: &Path) -> Result<String> {
    check_on(path, yikou_node::clock::today_local())
}

/// As [`check`], with item statuses as of `on`.
pub fn check_on(path: &Path, on: NaiveDate) -> Result<String> {
    let size =
        std::fs::metadata(path).with_context(|| format!("无法读取事项清单文件 {}", path.display()))?.len();
    if size > TEXT_BYTES_MAX as u64 {
        bail!("事项清单文件 {} 有 {size} 字节,超过上限 {TEXT_BYTES_MAX} 字节", path.display());
    }
    let text = std::fs::read_to_string(path)
        .with_context(|| format!("无法读取事项清单文件 {}(须为 UTF-8 文本)", path.display()))?;
    match Catalog::from_toml(&text) {
        Ok(catalog) => Ok(listing(&catalog, on)),
        Err(errors) => {
            bail!("事项清单文件 {} 有 {} 处问题,未通过检查:\n{errors}", path.display(), errors.0.len())
        }
    }
}

fn listing(c: &Catalog, on: NaiveDate) -> String {
    let mut out = String::new();
    // Writing to a String cannot fail: the results of writeln! below are ignored on purpose.
    let _ = writeln!(out, "事项清单:{}", c.title);
    let _ = writeln!(out, "版本:{}    样例数据:{}", c.version, if c.sample { "是" } else { "否" });
    if c.sample {
        let _ = writeln!(out, "注意:这是样例数据,不是正式发布的事项清单,不得作为办事依据。");
    }
    let count = |s: ItemStatus| c.items.iter().filter(|i| i.status(on) == s).count();
    let _ = writeln!(
        out,
        "部门 {} 个,事项 {} 个(截至 {on}:在用 {},尚未施行 {},已取消 {};列入容缺受理清单 {})",
        c.departments.len(),
        c.items.len(),
        count(ItemStatus::InEffect),
        count(ItemStatus::NotYetInEffect),
        count(ItemStatus::Cancelled),
        c.items.iter().filter(|i| i.tolerance).count(),
    );
    let _ = writeln!(
        out,
        "编码 | 名称 | 实施部门 | 办件类型 | 承诺/法定时限(工作日) | 容缺 | 材料(关键/可容缺) | 状态"
    );
    for item in &c.items {
        let department = c.department(&item.department).map_or(item.department.as_str(), |d| d.name.as_str());
        let joint = match &item.joint {
            JointMode::None => String::new(),
            JointMode::Serial { .. } | JointMode::Parallel { .. } => {
                let names: Vec<String> = item
                    .departments()
                    .iter()
                    .map(|code| c.department(code).map_or_else(|| code.to_string(), |d| d.name.clone()))
                    .collect();
                format!("({}:{})", item.joint.name_zh(), names.join("→"))
            }
        };
        let status = match item.status(on) {
            ItemStatus::InEffect => "在用".to_string(),
            ItemStatus::NotYetInEffect => format!("尚未施行({} 起受理)", item.effective_from),
            ItemStatus::Cancelled => match item.cancelled_from {
                Some(d) => format!("已取消({d} 起不再受理)"),
                None => "已取消".to_string(),
            },
        };
        let _ = writeln!(
            out,
            "{} | {}{} | {} | {} | {}/{} | {} | {}/{} | {}",
            item.code,
            item.name,
            joint,
            department,
            item.kind.name_zh(),
            item.promised_days,
            item.statutory_days,
            if item.tolerance { "是" } else { "否" },
            item.key_materials().count(),
            item.tolerable_materials().count(),
            status,
        );
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::path::PathBuf;
    use std::sync::atomic::{AtomicUsize, Ordering};

    /// A file under the temp dir, removed on drop.
    struct TempFile(PathBuf);

    impl TempFile {
        fn new(text: &str) -> TempFile {
            static N: AtomicUsize = AtomicUsize::new(0);
            let path = std::env::temp_dir().join(format!(
                "yikou-catalog-cmd-{}-{}.toml",
                std::process::id(),
                N.fetch_add(1, Ordering::Relaxed)
            ));
            std::fs::write(&path, text).expect("write temp file");
            TempFile(path)
        }
    }

    impl Drop for TempFile {
        fn drop(&mut self) {
            let _ = std::fs::remove_file(&self.0);
        }
    }

    fn day(y: i32, m: u32, d: u32) -> NaiveDate {
        NaiveDate::from_ymd_opt(y, m, d).expect("valid date")
    }

    #[test]
    fn lists_the_sample() {
        let file = TempFile::new(yikou_schema::catalog::SAMPLE_TOML);
        let out = check_on(&file.0, day(2026, 3, 2)).expect("sample is valid");
        assert!(out.contains("版本:2026.3"), "{out}");
        assert!(out.contains("样例数据:是"), "{out}");
        assert!(out.contains("BDC002 | 国有建设用地使用权及房屋所有权转移登记 | 县不动产登记中心 | 承诺件 | 5/30 | 是 | 5/2 | 在用"), "{out}");
        // rule W11: statuses as of the day
        assert!(out.contains("尚未施行(2027-01-01 起受理)"), "{out}");
        assert!(out.contains("已取消(2025-07-01 起不再受理)"), "{out}");
        assert!(out.contains("并联办理"), "{out}");
        let items = Catalog::sample().items.len();
        assert_eq!(out.lines().filter(|l| l.matches(" | ").count() == 7).count(), items + 1);
        // And with today's date it works too.
        assert!(check(&file.0).is_ok());
    }

    #[test]
    fn lists_every_problem_with_its_line() {
        let text = "version = \"1\"\ntitle = \"\"\nsurprise = 1\n\n[[departments]]\ncode = \"A\"\n";
        let file = TempFile::new(text);
        let err = check_on(&file.0, day(2026, 3, 2)).expect_err("invalid");
        let msg = err.to_string();
        assert!(msg.contains("第 2 行 [catalog.empty_name]"), "{msg}");
        assert!(msg.contains("第 3 行 [catalog.unknown_field]"), "{msg}");
        assert!(msg.contains("第 5 行 [catalog.missing_field]"), "{msg}");
        assert_eq!(msg.lines().filter(|l| l.starts_with("第 ")).count(), 3, "{msg}");
    }

    #[test]
    fn missing_file_is_an_error() {
        let path = std::env::temp_dir().join("yikou-catalog-cmd-does-not-exist.toml");
        let err = check(&path).expect_err("missing");
        assert!(err.to_string().contains("无法读取事项清单文件"));
    }
}
