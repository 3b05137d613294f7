//! `yikou`: the Yikou node's command line.
//!
//! The operators' commands: checks on reference data (catalog and working-day calendar), the
//! private network CA that certifies nodes for replication (`yikou ca`), a new node's data
//! directory (`yikou init`), and the commands on a node ([`cli`]: accounts, reference data imports,
//! backup, restore, status), which work on a stopped node's data directory and through a running
//! node's admin API alike.

mod catalog_cmd;
mod cli;

#[global_allocator]
static ALLOCATOR: mimalloc::MiMalloc = mimalloc::MiMalloc;

use std::path::{Path, PathBuf};

use anyhow::{Context, Result, bail};
use chrono::{NaiveDate, NaiveDateTime};
use clap::{ArgGroup, Args, Parser, Subcommand};
use cli::NodeOpts;
use yikou_node::config::PeerConfig;
use yikou_node::init::{Credentials, InitOptions};
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
    /// Creates a node's data directory: yikou.toml, certificates (tls/), an empty store and the
    /// admin token (admin.token, mode 0600). Refuses an initialised directory.
    Init(InitArgs),
    /// Staff accounts (工作人员账户) of a node.
    User {
        #[command(subcommand)]
        command: UserCommand,
    },
    /// Writes a backup of a node (documents and local records) to FILE.
    Backup {
        #[arg(long, value_name = "FILE")]
        out: PathBuf,
        #[command(flatten)]
        node: NodeOpts,
    },
    /// Restores a backup into a stopped node's freshly initialised data directory.
    Restore {
        #[arg(long, value_name = "FILE")]
        from: PathBuf,
        #[command(flatten)]
        node: NodeOpts,
    },
    /// Runs the node: HTTP API, replication, supervision scheduler. Without a configuration and
    /// an initialised data directory, it first makes a standalone node there (one-node CA, the
    /// sample catalog) so that `yikou run` alone starts a working node.
    Run {
        #[command(flatten)]
        node: NodeOpts,
    },
    /// Starts a demo network on loopback — a hall and two townships, each with its own data
    /// directory, real QUIC with mutual TLS, the sample catalog and seeded staff — runs a scripted
    /// working day and prints what happened.
    Demo {
        /// Where the demo keeps its three data directories (default: a new temporary directory).
        #[arg(long, value_name = "DIR")]
        dir: Option<PathBuf>,
        /// Stay up after the script (until Ctrl-C), printing each node's address.
        #[arg(long)]
        keep_running: bool,
    },
    /// A node's state: documents, feed, store size, peers' checkpoints (or the running node's
    /// status).
    Status {
        #[command(flatten)]
        node: NodeOpts,
    },
}

#[derive(Args)]
#[command(group(ArgGroup::new("source").required(true).args(["ca", "credentials", "self_signed"])))]
struct InitArgs {
    /// The data directory to create.
    #[arg(long, value_name = "DIR")]
    dir: PathBuf,
    /// The node's name: lowercase letters, digits and '-', at most 32 characters.
    #[arg(long)]
    name: String,
    /// hall (county hall) or township.
    #[arg(long)]
    role: String,
    /// The hall or township code the node serves, e.g. 410184001.
    #[arg(long)]
    scope: String,
    /// The 9-digit node code of case numbers (default: the scope).
    #[arg(long)]
    code: Option<String>,
    /// The HTTP API's listen address (default 127.0.0.1:8080).
    #[arg(long, value_name = "ADDR")]
    http: Option<String>,
    /// Replication's listen address (default 0.0.0.0:7400).
    #[arg(long, value_name = "ADDR")]
    sync: Option<String>,
    /// A peer to connect to, NAME=HOST:PORT (repeatable).
    #[arg(long = "peer", value_name = "NAME=HOST:PORT")]
    peers: Vec<String>,
    /// Issue the node's certificate from the network CA in this directory.
    #[arg(long, value_name = "CA_DIR")]
    ca: Option<PathBuf>,
    /// Install a certificate issued elsewhere (`yikou ca issue --out DIR`).
    #[arg(long, value_name = "DIR")]
    credentials: Option<PathBuf>,
    /// Make a one-node CA inside the data directory (a standalone node).
    #[arg(long)]
    self_signed: bool,
}

#[derive(Subcommand)]
enum UserCommand {
    /// Adds a staff account. The password is read from standard input.
    Add {
        /// The staff ID (工号).
        #[arg(long)]
        staff: String,
        #[arg(long)]
        name: String,
        /// window_clerk, department_reviewer:<DEPT>, issuing_window, hall_centre, supervisor or auditor.
        #[arg(long)]
        role: String,
        /// Read the password as one line from standard input (for scripts) instead of asking twice.
        #[arg(long)]
        password_stdin: bool,
        #[command(flatten)]
        node: NodeOpts,
    },
    /// Lists the staff accounts.
    List {
        #[command(flatten)]
        node: NodeOpts,
    },
    /// Disables an account; its sessions end at once.
    Disable {
        #[arg(long)]
        staff: String,
        #[command(flatten)]
        node: NodeOpts,
    },
}

#[derive(Subcommand)]
enum CatalogCommand {
    /// Validates a catalog file and lists its items, or every problem with its line.
    Check { file: PathBuf },
    /// Validates a catalog file and makes it the node's catalog (hall nodes only; it replicates
    /// to the townships).
    Import {
        file: PathBuf,
        #[command(flatten)]
        node: NodeOpts,
    },
    /// Writes the node's current catalog as TOML (to standard output, or to --out FILE).
    Export {
        #[arg(long, value_name = "FILE")]
        out: Option<PathBuf>,
        #[command(flatten)]
        node: NodeOpts,
    },
}

#[derive(Subcommand)]
enum CalendarCommand {
    /// Validates a calendar file and lists the years it holds.
    Check { file: PathBuf },
    /// Validates a calendar file and merges its years into the node's calendar (hall nodes only).
    Import {
        file: PathBuf,
        #[command(flatten)]
        node: NodeOpts,
    },
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

/// Logs go to standard error, filtered by `RUST_LOG` or the configured level.
fn init_logging(level: &str) {
    let filter = tracing_subscriber::EnvFilter::try_from_default_env()
        .unwrap_or_else(|_| tracing_subscriber::EnvFilter::new(level));
    use std::io::IsTerminal as _;
    let _ = tracing_subscriber::fmt()
        .with_env_filter(filter)
        .with_ansi(std::io::stderr().is_terminal())
        .with_writer(std::io::stderr)
        .try_init();
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
        Command::Run { node } => {
            let config = cli::commands::prepare_run(&node)?;
            init_logging(&config.log.level);
            let runtime = tokio::runtime::Runtime::new()?;
            runtime.block_on(yikou_node::server::run(config))?;
            Ok(String::new())
        }
        Command::Demo { dir, keep_running } => {
            init_logging("warn");
            let runtime = tokio::runtime::Runtime::new()?;
            runtime.block_on(yikou_node::demo::run(yikou_node::demo::DemoOptions { dir, keep_running }))?;
            Ok(String::new())
        }
        Command::Catalog { command: CatalogCommand::Check { file } } => catalog_cmd::check(&file),
        Command::Catalog { command: CatalogCommand::Import { file, node } } => {
            cli::commands::catalog_import(&node.load()?, &file)
        }
        Command::Catalog { command: CatalogCommand::Export { out, node } } => {
            cli::commands::catalog_export(&node.load()?, out.as_deref())
        }
        Command::Calendar { command: CalendarCommand::Import { file, node }, .. } => {
            cli::commands::calendar_import(&node.load()?, &file)
        }
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
                // Matched above.
                CalendarCommand::Import { .. } => bail!("内部错误:命令分派"),
            }
        }
        Command::Ca { command } => ca_command(command),
        Command::Init(args) => init_command(args),
        Command::User { command } => match command {
            UserCommand::Add { staff, name, role, password_stdin, node } => {
                let config = node.load()?;
                let password = cli::users::read_password(password_stdin)?;
                cli::users::add(&config, &staff, &name, &role, &password)
            }
            UserCommand::List { node } => cli::users::list(&node.load()?),
            UserCommand::Disable { staff, node } => cli::users::disable(&node.load()?, &staff),
        },
        Command::Backup { out, node } => cli::commands::backup(&node.load()?, &out),
        Command::Restore { from, node } => cli::commands::restore(&node.load()?, &from),
        Command::Status { node } => cli::commands::status(&node.load()?),
    }
}

fn init_command(args: InitArgs) -> Result<String> {
    let credentials = match (args.ca, args.credentials, args.self_signed) {
        (Some(ca), None, false) => Credentials::Ca(ca),
        (None, Some(dir), false) => Credentials::Issued(dir),
        (None, None, true) => Credentials::SelfSigned,
        _ => bail!("--ca、--credentials、--self-signed 只能选一个"),
    };
    let peers = args.peers.iter().map(|p| PeerConfig::parse(p)).collect::<Result<Vec<_>, _>>()?;
    let report = yikou_node::init::init(&InitOptions {
        dir: args.dir,
        name: args.name,
        role: PeerRole::parse(&args.role)?,
        scope: args.scope,
        code: args.code,
        http: args.http,
        sync: args.sync,
        peers,
        credentials,
    })?;
    Ok(report.to_string())
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
