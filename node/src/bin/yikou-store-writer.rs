//! Test tool for the store's crash test (`node/tests/crash.rs`): opens the case store at DIR and,
//! from several threads until killed, creates sample cases and appends events to them (so that
//! documents reach compaction), printing `ACK <case number> <events>` after each write is
//! acknowledged (durable). Not part of the product.
//!
//! Usage: yikou-store-writer DIR FIRST_SERIAL THREADS

#[global_allocator]
static ALLOCATOR: mimalloc::MiMalloc = mimalloc::MiMalloc;

use std::io::Write;
use std::sync::{Arc, Mutex};

use anyhow::{Context, Result, bail};
use chrono::NaiveDate;
use yikou_node::fixtures::CaseFactory;
use yikou_node::store::{CaseStore, SledKv, StoreConfig};
use yikou_schema::calendar::WorkCalendar;

fn ack(out: &Mutex<std::io::Stdout>, case: &yikou_schema::case::Case) -> Result<()> {
    let mut o = out.lock().map_err(|_| anyhow::anyhow!("stdout lock"))?;
    writeln!(o, "ACK {} {}", case.header.number, case.events.len())?;
    o.flush()?;
    Ok(())
}

fn main() -> Result<()> {
    let args: Vec<String> = std::env::args().collect();
    let [_, dir, first, threads] = args.as_slice() else {
        bail!("usage: yikou-store-writer DIR FIRST_SERIAL THREADS");
    };
    let first: u32 = first.parse().context("FIRST_SERIAL")?;
    let threads: u32 = threads.parse().context("THREADS")?;
    let kv = Arc::new(SledKv::open(std::path::Path::new(dir))?);
    let store = Arc::new(CaseStore::open(
        kv,
        b"crash-writer-001".to_vec(),
        StoreConfig::default(),
        WorkCalendar::builtin(),
    )?);
    let out = Arc::new(Mutex::new(std::io::stdout()));
    let day = NaiveDate::from_ymd_opt(2026, 3, 2).context("date")?;
    let handles: Vec<_> = (0..threads)
        .map(|t| {
            let (store, out) = (store.clone(), out.clone());
            std::thread::spawn(move || -> Result<()> {
                let f = CaseFactory::new("town-a", 1).map_err(anyhow::Error::msg)?;
                let mut serial = first + t;
                while serial <= yikou_schema::ids::CASE_SERIALS_PER_DAY_MAX {
                    let mut case = f.case(day, serial)?;
                    store.create(&case)?;
                    ack(&out, &case)?;
                    // Twelve more events: past the compaction threshold of ten chunks.
                    for _ in 0..12 {
                        let e = f.next_event(&case);
                        case.events.push(e.clone());
                        store.append(&case.header.number.to_string(), &[e])?;
                        ack(&out, &case)?;
                    }
                    serial += threads;
                }
                Ok(())
            })
        })
        .collect();
    for h in handles {
        h.join().map_err(|_| anyhow::anyhow!("writer thread panicked"))??;
    }
    Ok(())
}
