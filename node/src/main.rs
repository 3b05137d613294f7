//! `yikou`: the Yikou node's command line.
//!
//! Today it carries the operators' checks on reference data (catalog and working-day calendar);
//! the service, the store and replication commands arrive with their issues.

mod catalog_cmd;

#[global_allocator]
static ALLOCATOR: mimalloc::MiMalloc = mimalloc::MiMalloc;

use std::path::{Path, PathBuf};

use anyhow::{Context, Result, bail};
use chrono::{NaiveDate, NaiveDateTime};
use clap::{Parser, Subcommand};
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
