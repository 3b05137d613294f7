//! Benchmarks of the case store, each beside its baseline measured in the same run
//! (`scripts/bench-store.sh` runs them all and prints the table for docs/BENCHMARKS.md).
//!
//! - `fsync`: raw 4 KiB write + fsync rate of the disk: the limit for durable writes.
//! - `create WRITERS CASES`: durable case creations per second and latency percentiles
//!   (`BENCH_MEM=1`: the same against the in-memory store, i.e. without the disk);
//!   `create-receipt`: the same with each case as a window creates it, with its receipt only.
//! - `build DIR CASES`: fills a store with CASES sample cases (bulk, for `open`/`feed`).
//! - `open DIR`: time to open that store, resident memory after opening, bytes on disk per case.
//! - `feed DIR`: cost of "what changed since N" for answers of 10, 100 and 1,000 documents.
//! - `profile`, `profile-kv`, `profile-contention`: the measurements behind the design notes in
//!   docs/BENCHMARKS.md (Automerge steps per case; sled apply and sync; apply during a flush).

#[global_allocator]
static ALLOCATOR: mimalloc::MiMalloc = mimalloc::MiMalloc;

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

/// `receipt_only`: the case as a window creates it (its receipt); otherwise with five events.
fn create(writers: u64, cases: u64, receipt_only: bool) -> Result<()> {
    let dir = tempfile::tempdir()?;
    let store = Arc::new(if std::env::var("BENCH_MEM").is_ok() {
        CaseStore::open(
            Arc::new(yikou_node::store::MemKv::new()),
            b"bench-actor-0001".to_vec(),
            StoreConfig::default(),
            WorkCalendar::builtin(),
        )?
    } else {
        open_store(dir.path())?
    });
    let per_writer = cases / writers.max(1);
    // Cases are made (and checked by the rule gate) before the clock starts: this measures the store.
    let f = CaseFactory::new("town-a", 1).map_err(anyhow::Error::msg)?;
    let mut batches = Vec::new();
    for w in 0..writers {
        let batch: Vec<_> = (0..per_writer)
            .map(|i| {
                let (day, serial) = serial_day(w * per_writer + i);
                if receipt_only { f.received(day, serial) } else { f.case(day, serial) }
            })
            .collect::<Result<_, _>>()?;
        batches.push(batch);
    }
    let start = Instant::now();
    let handles: Vec<_> = batches
        .into_iter()
        .map(|batch| {
            let store = store.clone();
            std::thread::spawn(move || -> Result<Vec<Duration>> {
                let mut lat = Vec::with_capacity(batch.len());
                for case in &batch {
                    let t = Instant::now();
                    store.create(case)?;
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
    let counts = store.commit_counts();
    lat.sort();
    let fsync = fsync_rate(dir.path())?;
    println!(
        "create{} writers={writers} cases={} rate={:.0}/s p50={:.2}ms p99={:.2}ms fsyncs={} fsync_rate={fsync:.0}/s ratio_to_fsync={:.2}",
        if receipt_only { "-receipt" } else { "" },
        lat.len(),
        lat.len() as f64 / secs,
        percentile(&lat, 0.5).as_secs_f64() * 1e3,
        percentile(&lat, 0.99).as_secs_f64() * 1e3,
        counts.syncs,
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
    let rss_opened = rss_mib();
    let docs = store.doc_count()?;
    // One read to show the store serves immediately.
    let first = store.changes_since(0, 1)?;
    if let Some(e) = first.first() {
        store.case(&e.doc)?;
    }
    let bytes = dir_bytes(dir);
    let rss_read = rss_mib();
    // The allocator returns what opening decoded and freed within a few seconds: the steady state
    // is what a node running for days holds.
    std::thread::sleep(Duration::from_secs(3));
    println!(
        "open cases={docs} seconds={secs:.3} rss_mib_steady={:.0} (before open {rss_before:.0}, right after open {rss_opened:.0}, after one read {rss_read:.0}) disk_bytes_per_case={:.0}",
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
        Some("profile") => profile_steps()?,
        Some("profile-kv") => profile_kv()?,
        Some("profile-contention") => profile_contention()?,
        Some("fsync") => {
            let dir = tempfile::tempdir()?;
            println!("fsync rate={:.0}/s (4 KiB write + fsync)", fsync_rate(dir.path())?);
        }
        Some("create") => create(num(2)?, num(3)?, false)?,
        Some("create-receipt") => create(num(2)?, num(3)?, true)?,
        Some("build") => build(&PathBuf::from(arg(2).context("DIR")?), num(3)?)?,
        Some("open") => open(&PathBuf::from(arg(2).context("DIR")?))?,
        Some("feed") => feed(&PathBuf::from(arg(2).context("DIR")?))?,
        _ => bail!(
            "usage: yikou-bench-store fsync | create WRITERS CASES | create-receipt WRITERS CASES | build DIR CASES | open DIR | feed DIR"
        ),
    }
    Ok(())
}

/// Where one case's store work goes (Automerge steps, per case).
fn profile_steps() -> Result<()> {
    use yikou_node::doc::CaseDoc;
    let f = CaseFactory::new("town-a", 1).map_err(anyhow::Error::msg)?;
    let n = 300u32;
    let cases: Vec<_> = (1..=n)
        .map(|i| f.case(NaiveDate::from_ymd_opt(2026, 3, 2).unwrap_or(NaiveDate::MIN), i))
        .collect::<Result<_, _>>()?;
    let cal = WorkCalendar::builtin();
    let mut t = [Duration::ZERO; 6];
    for c in &cases {
        let s = Instant::now();
        let mut d = CaseDoc::new(c, b"bench-actor-0001")?;
        t[0] += s.elapsed();
        let s = Instant::now();
        let back = d.case()?;
        t[1] += s.elapsed();
        let s = Instant::now();
        let st = back.state();
        t[2] += s.elapsed();
        let s = Instant::now();
        let _ = yikou_node::store::cases::index_entries(&back, &st, &cal);
        t[3] += s.elapsed();
        let s = Instant::now();
        let _ = d.heads();
        let chunk = d.save_incremental();
        t[4] += s.elapsed();
        let s = Instant::now();
        let _ = d.save();
        t[5] += s.elapsed();
        if chunk.is_empty() {
            bail!("empty chunk");
        }
    }
    for (name, d) in ["new", "case()", "fold", "index", "save_incremental", "save"].iter().zip(t) {
        println!("{name}: {:.1} us", d.as_secs_f64() * 1e6 / f64::from(n));
    }
    Ok(())
}

/// sled apply and sync costs on their own.
fn profile_kv() -> Result<()> {
    use yikou_node::store::{Kv, WriteBatch};
    let dir = tempfile::tempdir()?;
    let kv = SledKv::open(dir.path())?;
    let n = 300u32;
    let (mut ta, mut ts, mut tf, mut tfs) = (Duration::ZERO, Duration::ZERO, Duration::ZERO, Duration::ZERO);
    let db = sled::open(dir.path().join("raw"))?;
    for i in 0..n {
        let mut b = WriteBatch::default();
        b.put(format!("k{i}").into_bytes(), vec![1u8; 1500]);
        b.put(format!("m{i}").into_bytes(), vec![2u8; 300]);
        let s = Instant::now();
        kv.apply(&b)?;
        ta += s.elapsed();
        let s = Instant::now();
        kv.sync()?;
        ts += s.elapsed();
        db.insert(format!("k{i}"), vec![1u8; 1500])?;
        let s = Instant::now();
        db.flush()?;
        tf += s.elapsed();
        let s = Instant::now();
        std::fs::File::open(dir.path().join("raw/db"))?.sync_all()?;
        tfs += s.elapsed();
    }
    let us = |d: Duration| d.as_secs_f64() * 1e6 / f64::from(n);
    println!(
        "apply {:.1} us, sync {:.1} us, raw sled flush {:.1} us, fsync after flush {:.1} us",
        us(ta),
        us(ts),
        us(tf),
        us(tfs)
    );
    Ok(())
}

/// Apply latency while another thread syncs (sled stalls writes during its flush).
fn profile_contention() -> Result<()> {
    use yikou_node::store::{Kv, WriteBatch};
    let dir = tempfile::tempdir()?;
    let kv = Arc::new(SledKv::open(dir.path())?);
    let stop = Arc::new(std::sync::atomic::AtomicBool::new(false));
    let syncer = {
        let (kv, stop) = (kv.clone(), stop.clone());
        std::thread::spawn(move || {
            let mut n = 0u64;
            while !stop.load(std::sync::atomic::Ordering::Relaxed) {
                let _ = kv.sync();
                n += 1;
            }
            n
        })
    };
    let mut lat = Vec::new();
    let start = Instant::now();
    for i in 0..3000u32 {
        let mut b = WriteBatch::default();
        b.put(format!("k{i:08}").into_bytes(), vec![1u8; 1500]);
        for j in 0..8 {
            b.put(format!("i{j}/{i:08}").into_bytes(), vec![]);
        }
        let s = Instant::now();
        kv.apply(&b)?;
        lat.push(s.elapsed());
    }
    let secs = start.elapsed().as_secs_f64();
    stop.store(true, std::sync::atomic::Ordering::Relaxed);
    let syncs = syncer.join().map_err(|_| anyhow::anyhow!("syncer"))?;
    lat.sort();
    println!(
        "apply with concurrent syncs: {:.0}/s p50={:.1}us p99={:.1}us max={:.1}us syncs={syncs}",
        3000.0 / secs,
        percentile(&lat, 0.5).as_secs_f64() * 1e6,
        percentile(&lat, 0.99).as_secs_f64() * 1e6,
        lat.last().map_or(0.0, |d| d.as_secs_f64() * 1e6)
    );
    Ok(())
}
