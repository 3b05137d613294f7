//! Fuzz harness `doc_load`: stored or received bytes → `CaseDoc::load` / `RefDoc::load` (what the
//! store does with a document it reads back) and `load_incremental` on a real case (what
//! replication does with changes from a peer), then reading the case. Shared by
//! `fuzz/fuzz_targets/doc_load.rs` and `node/tests/fuzz_regressions.rs`.
//!
//! The first byte picks the mode, the rest is the bytes. Invariants: nothing panics; every error
//! has a stable code and a message; a loaded document reads (or refuses cleanly), saves, and the
//! save loads again to the same case; a refused incremental load leaves the document exactly as
//! it was (same heads, same case).

use std::sync::OnceLock;

use chrono::NaiveDate;
use yikou_node::doc::{CaseDoc, DocError, RefDoc, RefKind};
use yikou_node::fixtures::CaseFactory;
use yikou_schema::calendar::WorkCalendar;
use yikou_schema::catalog::Catalog;
use yikou_schema::queue::QuotaPlan;
use yikou_schema::tolerance::DishonestyList;

const ACTOR: &[u8] = b"fuzz-node";

fn clean(e: &DocError) {
    assert!(!e.code().is_empty() && !e.to_string().is_empty(), "an error without code or message");
}

/// A saved case with its five events (the base for incremental loads), and one more event as an
/// incremental chunk (a seed).
pub fn base_case() -> &'static (Vec<u8>, Vec<u8>) {
    static BASE: OnceLock<(Vec<u8>, Vec<u8>)> = OnceLock::new();
    BASE.get_or_init(|| {
        let factory = CaseFactory::new("hall", 0).expect("fixture factory");
        let day = NaiveDate::from_ymd_opt(2026, 3, 10).expect("a date");
        let case = factory.case(day, 7).expect("fixture case");
        let mut doc = CaseDoc::new(&case, ACTOR).expect("case document");
        let saved = doc.save();
        let next = factory.next_event(&case);
        doc.append(&[next]).expect("append");
        (saved, doc.save_incremental())
    })
}

/// A saved dishonesty list (a small reference document).
pub fn base_ref() -> &'static Vec<u8> {
    static BASE: OnceLock<Vec<u8>> = OnceLock::new();
    BASE.get_or_init(|| {
        RefDoc::new(RefKind::Dishonesty, &DishonestyList::default(), ACTOR).expect("ref document").save()
    })
}

pub fn doc_load(data: &[u8]) {
    let Some((&mode, bytes)) = data.split_first() else { return };
    match mode % 4 {
        0 => load_case(bytes),
        1 => load_ref(bytes),
        2 => incremental_case(bytes),
        _ => incremental_ref(bytes),
    }
}

fn load_case(bytes: &[u8]) {
    let mut doc = match CaseDoc::load(bytes, ACTOR) {
        Ok(doc) => doc,
        Err(e) => return clean(&e),
    };
    assert!(!doc.name().is_empty());
    let _ = doc.header().map_err(|e| clean(&e));
    let _ = doc.event_ids().map_err(|e| clean(&e));
    let _ = doc.to_json().map_err(|e| clean(&e));
    let case = doc.case().map_err(|e| clean(&e)).ok();
    let saved = doc.save();
    let again = match CaseDoc::load(&saved, ACTOR) {
        Ok(d) => d,
        Err(e) => panic!("a loaded case saves to bytes that do not load: {} {e}", e.code()),
    };
    if let Some(case) = case {
        assert_eq!(again.case().ok(), Some(case), "the saved case reads differently");
    }
}

fn load_ref(bytes: &[u8]) {
    let mut doc = match RefDoc::load(bytes, ACTOR) {
        Ok(doc) => doc,
        Err(e) => return clean(&e),
    };
    let _ = doc.to_json().map_err(|e| clean(&e));
    let _ = doc.value::<serde_json::Value>().map_err(|e| clean(&e));
    match doc.kind() {
        RefKind::Catalog => drop(doc.value::<Catalog>().map_err(|e| clean(&e))),
        RefKind::Calendar => drop(doc.value::<WorkCalendar>().map_err(|e| clean(&e))),
        RefKind::Dishonesty => drop(doc.value::<DishonestyList>().map_err(|e| clean(&e))),
        RefKind::QuotaPlan => drop(doc.value::<QuotaPlan>().map_err(|e| clean(&e))),
    }
    let saved = doc.save();
    if let Err(e) = RefDoc::load(&saved, ACTOR) {
        panic!("a loaded reference document saves to bytes that do not load: {} {e}", e.code());
    }
}

fn incremental_case(bytes: &[u8]) {
    let (saved, _) = base_case();
    let mut doc = CaseDoc::load(saved, ACTOR).expect("the base case loads");
    let heads = doc.heads();
    let before = doc.case().expect("the base case reads");
    match doc.load_incremental(bytes) {
        Ok(_) => {
            if let Err(e) = doc.case() {
                panic!("changes were accepted but the case no longer reads: {} {e}", e.code());
            }
        }
        Err(e) => {
            clean(&e);
            assert_eq!(doc.heads(), heads, "refused changes left the document changed");
            assert_eq!(doc.case().ok(), Some(before), "refused changes changed the case");
        }
    }
}

fn incremental_ref(bytes: &[u8]) {
    let mut doc = RefDoc::load(base_ref(), ACTOR).expect("the base reference document loads");
    let heads = doc.heads();
    match doc.load_incremental(bytes) {
        Ok(_) => assert_eq!(doc.kind(), RefKind::Dishonesty),
        Err(e) => {
            clean(&e);
            assert_eq!(doc.heads(), heads, "refused changes left the document changed");
        }
    }
    let _ = doc.value::<DishonestyList>().map_err(|e| clean(&e));
}
