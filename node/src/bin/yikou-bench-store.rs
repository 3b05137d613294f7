//! Benchmarks of the case store, each beside its baseline measured in the same run
//! (`scripts/bench-store.sh` runs them all and prints the table for docs/BENCHMARKS.md).
//!
//! - `fsync`: raw 4 KiB write + fsync rate of the disk: the limit for durable writes.
//! - `create WRITERS CASES`: durable case creations per second and latency percentiles.
//! - `build DIR CASES`: fills a store with CASES sample cases (bulk, for `open`/`feed`).
//! - `open DIR`: time to open that store, resident memory after opening, bytes on disk per case.
//! - `feed DIR`: cost of "what changed since N" for answers of 10, 100 and 1,000 documents.

use std::io::Write;
use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::time::{Duration, Instant};

use anyhow::{Context, Result, bail};
use chrono::NaiveDate;
use yikou_node::fixtures::CaseFactory;
use yikou_node::store::{CaseStore, SledKv, StoreConfig};
use yikou_schema::calendar::WorkCalendar;

fn open_store(dir: &Path) -> Result<CaseStore> {
    let kv = Arc::new(SledKv::open(dir)?);
    Ok(CaseStore::open(kv, b"bench-actor-0001".to_vec(), StoreConfig::default(), WorkCalendar::builtin())?)
}

fn rss_mib() -> f64 {
    std::fs::read_to_string("/proc/self/status")
        .ok()
        .and_then(|s| {
            s.lines()
                .find(|l| l.starts_with("VmRSS:"))
                .and_then(|l| l.split_whitespace().nth(1).and_then(|kb| kb.parse::<f64>().ok()))
        })
        .map_or(0.0, |kb| kb / 1024.0)
}

fn dir_bytes(dir: &Path) -> u64 {
    let Ok(entries) = std::fs::read_dir(dir) else { return 0 };
    entries
        .flatten()
        .map(|e| {
            let p = e.path();
            if p.is_dir() { dir_bytes(&p) } else { e.metadata().map_or(0, |m| m.len()) }
        })
        .sum()
}

fn fsync_rate(dir: &Path) -> Result<f64> {
    let path = dir.join("fsync-probe");
    let mut f = std::fs::File::create(&path)?;
    let block = vec![7u8; 4096];
    let n = 300;
    let start = Instant::now();
    for _ in 0..n {
        f.write_all(&block)?;
        f.sync_all()?;
    }
    let rate = f64::from(n) / start.elapsed().as_secs_f64();
    std::fs::remove_file(&path)?;
    Ok(rate)
}

fn percentile(sorted: &[Duration], p: f64) -> Duration {
    if sorted.is_empty() {
        return Duration::ZERO;
    }
    let i = ((sorted.len() as f64 - 1.0) * p).round() as usize;
    sorted[i.min(sorted.len() - 1)]
}

/// Serials are per node per day (at most 99,999): spread cases over days.
fn serial_day(n: u64) -> (NaiveDate, u32) {
    let base = NaiveDate::from_ymd_opt(2026, 1, 5).unwrap_or(NaiveDate::MIN);
    let day = base + chrono::Duration::days((n / 90_000) as i64);
    (day, (n % 90_000) as u32 + 1)
}

fn create(writers: u64, cases: u64) -> Result<()> {
    let dir = tempfile::tempdir()?;
    let store = Arc::new(open_store(dir.path())?);
    let per_writer = cases / writers.max(1);
    let start = Instant::now();
    let handles: Vec<_> = (0..writers)
        .map(|w| {
            let store = store.clone();
            std::thread::spawn(move || -> Result<Vec<Duration>> {
                let f = CaseFactory::new("town-a", 1).map_err(anyhow::Error::msg)?;
                let mut lat = Vec::with_capacity(per_writer as usize);
                for i in 0..per_writer {
                    let (day, serial) = serial_day(w * per_writer + i);
                    let case = f.case(day, serial)?;
                    let t = Instant::now();
                    store.create(&case)?;
                    lat.push(t.elapsed());
                }
                Ok(lat)
            })
        })
        .collect();
    let mut lat = Vec::new();
    for h in handles {
        lat.extend(h.join().map_err(|_| anyhow::anyhow!("writer panicked"))??);
    }
    let secs = start.elapsed().as_secs_f64();
    lat.sort();
    let fsync = fsync_rate(dir.path())?;
    println!(
        "create writers={writers} cases={} rate={:.0}/s p50={:.2}ms p99={:.2}ms fsync_rate={fsync:.0}/s ratio_to_fsync={:.2}",
        lat.len(),
        lat.len() as f64 / secs,
        percentile(&lat, 0.5).as_secs_f64() * 1e3,
        percentile(&lat, 0.99).as_secs_f64() * 1e3,
        lat.len() as f64 / secs / fsync,
    );
    Ok(())
}

fn build(dir: &Path, cases: u64) -> Result<()> {
    let store = Arc::new(open_store(dir)?);
    let have = store.doc_count()?;
    let threads = 4u64;
    let start = Instant::now();
    let handles: Vec<_> = (0..threads)
        .map(|t| {
            let store = store.clone();
            std::thread::spawn(move || -> Result<()> {
                let f = CaseFactory::new("town-a", 1).map_err(anyhow::Error::msg)?;
                let mut n = have + t;
                while n < cases {
                    let (day, serial) = serial_day(n);
                    store.create(&f.case(day, serial)?)?;
                    n += threads;
                }
                Ok(())
            })
        })
        .collect();
    for h in handles {
        h.join().map_err(|_| anyhow::anyhow!("builder panicked"))??;
    }
    println!("build cases={} seconds={:.0}", store.doc_count()?, start.elapsed().as_secs_f64());
    Ok(())
}

fn open(dir: &Path) -> Result<()> {
    let rss_before = rss_mib();
    let start = Instant::now();
    let store = open_store(dir)?;
    let secs = start.elapsed().as_secs_f64();
    let docs = store.doc_count()?;
    // One read to show the store serves immediately.
    let first = store.changes_since(0, 1)?;
    if let Some(e) = first.first() {
        store.case(&e.doc)?;
    }
    let bytes = dir_bytes(dir);
    println!(
        "open cases={docs} seconds={secs:.3} rss_mib={:.0} (before open {rss_before:.0}) disk_bytes_per_case={:.0}",
        rss_mib(),
        bytes as f64 / docs.max(1) as f64
    );
    Ok(())
}

fn feed(dir: &Path) -> Result<()> {
    let store = open_store(dir)?;
    let last = store.last_seq()?;
    for answer in [10u64, 100, 1_000] {
        let n = 200;
        let start = Instant::now();
        for _ in 0..n {
            let got = store.changes_since(last.saturating_sub(answer), 100_000)?;
            if got.len() as u64 != answer.min(store.doc_count()?) {
                bail!("feed answered {} entries, expected {answer}", got.len());
            }
        }
        let per = start.elapsed().as_secs_f64() / f64::from(n);
        println!(
            "feed held={} answer={answer} micros_per_query={:.1} micros_per_entry={:.2}",
            store.doc_count()?,
            per * 1e6,
            per * 1e6 / answer as f64
        );
    }
    Ok(())
}

fn main() -> Result<()> {
    let args: Vec<String> = std::env::args().collect();
    let arg = |i: usize| args.get(i).map(String::as_str);
    let num = |i: usize| -> Result<u64> { arg(i).context("missing number")?.parse().context("not a number") };
    match arg(1) {
        Some("fsync") => {
            let dir = tempfile::tempdir()?;
            println!("fsync rate={:.0}/s (4 KiB write + fsync)", fsync_rate(dir.path())?);
        }
        Some("create") => create(num(2)?, num(3)?)?,
        Some("build") => build(&PathBuf::from(arg(2).context("DIR")?), num(3)?)?,
        Some("open") => open(&PathBuf::from(arg(2).context("DIR")?))?,
        Some("feed") => feed(&PathBuf::from(arg(2).context("DIR")?))?,
        _ => bail!(
            "usage: yikou-bench-store fsync | create WRITERS CASES | build DIR CASES | open DIR | feed DIR"
        ),
    }
    Ok(())
}
