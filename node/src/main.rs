//! `yikou`: the Yikou node's command line.
//!
//! Today it carries the operators' checks on reference data (catalog and working-day calendar) and
//! the private network CA that certifies nodes for replication (`yikou ca`); the service, the
//! store and replication commands arrive with their issues.

mod catalog_cmd;

#[global_allocator]
static ALLOCATOR: mimalloc::MiMalloc = mimalloc::MiMalloc;

use std::path::{Path, PathBuf};

use anyhow::{Context, Result, bail};
use chrono::{NaiveDate, NaiveDateTime};
use clap::{Parser, Subcommand};
use yikou_node::pki::{Ca, NodeIdentity, PeerRole};
use yikou_schema::calendar::{Deadline, WorkCalendar};

#[derive(Parser)]
#[command(name = "yikou", version, about = "Yikou (一口): offline-first case intake node")]
struct Cli {
    #[command(subcommand)]
    command: Command,
}

#[derive(Subcommand)]
enum Command {
    /// The item catalog (事项清单).
    Catalog {
        #[command(subcommand)]
        command: CatalogCommand,
    },
    /// The working-day calendar (工作日历).
    Calendar {
        /// A calendar file (TOML, one table per year) merged over the built-in 2025-2026 table,
        /// e.g. next year's State Council notice.
        #[arg(long, global = true)]
        calendar: Option<PathBuf>,
        #[command(subcommand)]
        command: CalendarCommand,
    },
    /// The private network CA (网络 CA) that certifies nodes for replication.
    Ca {
        #[command(subcommand)]
        command: CaCommand,
    },
}

#[derive(Subcommand)]
enum CatalogCommand {
    /// Validates a catalog file and lists its items, or every problem with its line.
    Check { file: PathBuf },
}

#[derive(Subcommand)]
enum CalendarCommand {
    /// Validates a calendar file and lists the years it holds.
    Check { file: PathBuf },
    /// Prints the N-th working day after DATE (DATE itself not counted).
    WorkdayAfter { date: String, n: u32 },
    /// Prints the W4.1 handover deadline for paper received at DATETIME.
    HandoverDeadline { datetime: String },
}

#[derive(Subcommand)]
enum CaCommand {
    /// Creates a network CA in DIR: ca.pem, ca.key.pem (mode 0600), crl.pem, revoked.json,
    /// issued.json. Refuses to overwrite an existing CA.
    Init {
        dir: PathBuf,
        /// The organisation that runs the network, e.g. "某某县政务服务中心".
        #[arg(long)]
        name: String,
    },
    /// Issues a node certificate (2 years) and writes node.pem, node.key.pem (0600), ca.pem and
    /// crl.pem to OUT, the files to install on that node.
    Issue {
        dir: PathBuf,
        /// The node's name: lowercase letters, digits and '-', at most 32 characters.
        #[arg(long)]
        node: String,
        /// hall (county hall) or township.
        #[arg(long)]
        role: String,
        /// The hall or township code the node serves, e.g. 330102001.
        #[arg(long)]
        scope: String,
        #[arg(long)]
        out: PathBuf,
    },
    /// Revokes every certificate issued to a node and signs a new crl.pem, to be copied to
    /// every node.
    Revoke {
        dir: PathBuf,
        #[arg(long)]
        node: String,
    },
}

fn main() {
    let cli = Cli::parse();
    match run(cli) {
        Ok(out) => print!("{out}"),
        Err(err) => {
            eprintln!("错误:{err:#}");
            std::process::exit(1);
        }
    }
}

fn run(cli: Cli) -> Result<String> {
    match cli.command {
        Command::Catalog { command: CatalogCommand::Check { file } } => catalog_cmd::check(&file),
        Command::Calendar { calendar, command } => {
            let cal = load_calendar(calendar.as_deref())?;
            match command {
                CalendarCommand::Check { file } => {
                    let loaded = read_calendar(&file)?;
                    let years: Vec<String> = loaded.loaded_years().map(|y| y.to_string()).collect();
                    Ok(format!("工作日历有效,包含年份:{}\n", years.join("、")))
                }
                CalendarCommand::WorkdayAfter { date, n } => {
                    let date = parse_date(&date)?;
                    let got = cal.add_workdays(date, n)?;
                    Ok(with_provisional_note(got.at.to_string(), got))
                }
                CalendarCommand::HandoverDeadline { datetime } => {
                    let at = parse_datetime(&datetime)?;
                    let got = cal.handover_deadline(at)?;
                    Ok(with_provisional_note(got.at.format("%Y-%m-%d %H:%M").to_string(), got))
                }
            }
        }
        Command::Ca { command } => ca_command(command),
    }
}

fn ca_command(command: CaCommand) -> Result<String> {
    let now = std::time::UNIX_EPOCH
        + std::time::Duration::from_millis(u64::try_from(yikou_node::clock::now_ms()).unwrap_or(0));
    match command {
        CaCommand::Init { dir, name } => {
            let ca = Ca::init(&dir, &name, now)?;
            Ok(format!(
                "已建立网络 CA:{},证书 {},私钥 {}(仅本账户可读,请离线妥善保管)\n",
                ca.org(),
                dir.join(yikou_node::pki::files::CA_CERT).display(),
                dir.join(yikou_node::pki::files::CA_KEY).display(),
            ))
        }
        CaCommand::Issue { dir, node, role, scope, out } => {
            let identity = NodeIdentity::new(node, PeerRole::parse(&role)?, scope)?;
            let mut ca = Ca::open(&dir)?;
            let issued = ca.issue(&identity, &out, now)?;
            Ok(format!(
                "已签发节点证书:{identity},序列号 {},有效期至 {};文件已写入 {}\n",
                issued.serial,
                local_date(&issued.not_after),
                out.display(),
            ))
        }
        CaCommand::Revoke { dir, node } => {
            let mut ca = Ca::open(&dir)?;
            let count = ca.revoke(&node, now)?;
            let crl = dir.join(yikou_node::pki::files::CRL);
            if count == 0 {
                Ok(format!(
                    "节点 {node} 的证书此前均已吊销,吊销列表未变(第 {} 号,{})\n",
                    ca.crl_number(),
                    crl.display()
                ))
            } else {
                Ok(format!(
                    "已吊销节点 {node} 的 {count} 张证书,吊销列表已更新为第 {} 号:请把 {} 分发到各节点\n",
                    ca.crl_number(),
                    crl.display()
                ))
            }
        }
    }
}

/// An RFC 3339 instant as a date in China Standard Time.
fn local_date(rfc3339: &str) -> String {
    match chrono::DateTime::parse_from_rfc3339(rfc3339) {
        Ok(t) => (t.naive_utc() + chrono::Duration::hours(8)).format("%Y-%m-%d").to_string(),
        Err(_) => rfc3339.to_string(),
    }
}

fn with_provisional_note<T>(value: String, deadline: Deadline<T>) -> String {
    if deadline.provisional {
        eprintln!(
            "注意:该日期超出已导入的工作日历年份,按周一至周五推算,属暂定结果;导入该年度工作日历后请重新计算。"
        );
    }
    format!("{value}\n")
}

fn read_calendar(path: &Path) -> Result<WorkCalendar> {
    let text =
        std::fs::read_to_string(path).with_context(|| format!("无法读取工作日历文件 {}", path.display()))?;
    Ok(WorkCalendar::from_toml(&text)?)
}

fn load_calendar(extra: Option<&Path>) -> Result<WorkCalendar> {
    let mut cal = WorkCalendar::builtin();
    if let Some(path) = extra {
        cal.merge(read_calendar(path)?);
    }
    Ok(cal)
}

fn parse_date(s: &str) -> Result<NaiveDate> {
    match NaiveDate::parse_from_str(s.trim(), "%Y-%m-%d") {
        Ok(d) => Ok(d),
        Err(_) => bail!("「{s}」不是有效日期,请按 YYYY-MM-DD 填写,例如 2026-03-02"),
    }
}

fn parse_datetime(s: &str) -> Result<NaiveDateTime> {
    let s = s.trim();
    for fmt in ["%Y-%m-%d %H:%M", "%Y-%m-%dT%H:%M", "%Y-%m-%d %H:%M:%S", "%Y-%m-%dT%H:%M:%S"] {
        if let Ok(dt) = NaiveDateTime::parse_from_str(s, fmt) {
            return Ok(dt);
        }
    }
    bail!("「{s}」不是有效时间,请按 \"YYYY-MM-DD HH:MM\" 填写,例如 \"2026-03-02 09:15\"")
}
