//! O2 under SIGKILL: a writer process creates cases and appends to them on real sled (so that
//! compactions happen too) and is killed at a random moment, many times over the same store; after
//! each kill every acknowledged write is there, and every stored case loads (no torn document).
//! Prints its seed; replay with YIKOU_SEED.

use std::collections::BTreeMap;
use std::io::Read;
use std::process::{Command, Stdio};
use std::sync::Arc;
use std::time::Duration;

use yikou_node::store::{CaseStore, SledKv, StoreConfig};
use yikou_schema::calendar::WorkCalendar;

const ROUNDS: u64 = 12;

fn seed() -> u64 {
    let seed = std::env::var("YIKOU_SEED").ok().and_then(|s| s.trim().parse().ok()).unwrap_or_else(|| {
        std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .map(|d| d.as_nanos() as u64)
            .unwrap_or(7)
    });
    println!("crash test seed {seed} (replay with YIKOU_SEED={seed})");
    seed
}

#[test]
fn every_acknowledged_case_survives_sigkill() {
    // rule O2: nothing acknowledged to a clerk is ever lost.
    let mut s = seed();
    let dir = tempfile::tempdir().expect("temp dir");
    // Case number -> events acknowledged.
    let mut acked_total: BTreeMap<String, usize> = BTreeMap::new();
    for round in 0..ROUNDS {
        s = s.wrapping_mul(6364136223846793005).wrapping_add(1442695040888963407);
        let run_ms = 150 + (s >> 33) % 600;
        let mut child = Command::new(env!("CARGO_BIN_EXE_yikou-store-writer"))
            .args([dir.path().to_str().expect("utf8 path"), &(round * 5_000 + 1).to_string(), "4"])
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .spawn()
            .expect("writer starts");
        std::thread::sleep(Duration::from_millis(run_ms));
        child.kill().expect("SIGKILL");
        child.wait().expect("reaped");
        let mut out = String::new();
        child.stdout.take().expect("stdout").read_to_string(&mut out).expect("read acks");
        for line in out.lines() {
            let mut parts = line.strip_prefix("ACK ").unwrap_or_default().split(' ');
            if let (Some(id), Some(Ok(events))) = (parts.next(), parts.next().map(str::parse::<usize>)) {
                let e = acked_total.entry(id.to_string()).or_default();
                *e = (*e).max(events);
            }
        }

        let kv = Arc::new(SledKv::open(dir.path()).expect("reopens after SIGKILL"));
        let store = CaseStore::open(
            kv,
            b"crash-checker-01".to_vec(),
            StoreConfig::default(),
            WorkCalendar::builtin(),
        )
        .expect("store opens");
        for (id, events) in &acked_total {
            let case =
                store.case(id).unwrap_or_else(|e| panic!("round {round}: acknowledged {id} lost: {e}"));
            assert!(
                case.events.len() >= *events,
                "round {round}: {id} has {} of {events} events",
                case.events.len()
            );
        }
        let feed = store.changes_since(0, 1_000_000).expect("feed");
        for entry in &feed {
            store.case(&entry.doc).unwrap_or_else(|e| panic!("round {round}: {} torn: {e}", entry.doc));
        }
        assert!(feed.len() >= acked_total.len());
        println!(
            "round {round}: ran {run_ms} ms, {} acknowledged so far, {} stored",
            acked_total.len(),
            feed.len()
        );
    }
    assert!(!acked_total.is_empty(), "the writer acknowledged something");
    // 5 events at creation + 11 appends = 12 chunks: past the default compaction threshold (10),
    // so some acknowledged documents went through compaction between kills.
    let compacted = acked_total.values().filter(|e| **e >= 16).count();
    println!("{compacted} acknowledged cases went through compaction");
    assert!(compacted > 0, "the run reached compaction");
}
