//! Test tool for the store's crash test (`node/tests/crash.rs`): opens the case store at DIR and
//! creates sample cases from several threads until killed, printing `ACK <case number>` after
//! each create is acknowledged (durable). Not part of the product.
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
                    let case = f.case(day, serial)?;
                    store.create(&case)?;
                    let mut o = out.lock().map_err(|_| anyhow::anyhow!("stdout lock"))?;
                    writeln!(o, "ACK {}", case.header.number)?;
                    o.flush()?;
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
