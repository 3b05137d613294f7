//! A case document saved by this node loads in the JavaScript Automerge package
//! (`@automerge/automerge`, pinned in tests/js/package.json and installed by scripts/test.sh)
//! with the same fields and the same heads: the layout is readable by other software.

mod doc_fixtures;

use std::path::{Path, PathBuf};
use std::process::Command;

use doc_fixtures::*;
use serde_json::{Value, json};
use yikou_node::doc::CaseDoc;
use yikou_schema::case::Case;

fn js_dir() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../tests/js")
}

/// Runs tests/js/load_case.mjs on `bytes` and returns what it printed, parsed.
fn load_in_javascript(bytes: &[u8]) -> Value {
    let dir = js_dir();
    let package = dir.join("node_modules/@automerge/automerge/package.json");
    assert!(
        package.is_file(),
        "the JavaScript Automerge package is not installed ({} is missing): run scripts/test.sh, \
         which runs `npm ci` in tests/js",
        package.display()
    );
    let tmp = tempfile::tempdir().expect("temp dir");
    let file = tmp.path().join("case.automerge");
    std::fs::write(&file, bytes).expect("writes the document");
    let out = Command::new("node")
        .arg(dir.join("load_case.mjs"))
        .arg(&file)
        .current_dir(&dir)
        .output()
        .unwrap_or_else(|e| panic!("cannot run `node` ({e}): install Node.js 20+, then run scripts/test.sh"));
    let stdout = String::from_utf8_lossy(&out.stdout);
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(out.status.success(), "load_case.mjs failed ({}):\n{stderr}\n{stdout}", out.status);
    serde_json::from_str(&stdout).unwrap_or_else(|e| panic!("load_case.mjs printed no JSON ({e}):\n{stdout}"))
}

/// The fields load_case.mjs prints, as Rust sees them.
fn expected(doc: &mut CaseDoc) -> Value {
    let mut case = doc.case().expect("reads");
    // `case()` lists events in canonical (HLC) order; JavaScript sees the document's list order.
    let order = doc.event_ids().expect("event ids");
    case.events.sort_by_key(|e| order.iter().position(|id| *id == e.id()));
    let mut heads: Vec<String> = doc.heads().iter().map(|h| h.to_string()).collect();
    heads.sort();
    json!({
        "layout": 1,
        "doc_type": "case",
        "number": case.header.number.as_str(),
        "applicant_name": case.header.applicant.name(),
        "applicant_id_kind": "organisation",
        "item_code": case.header.item.code.as_str(),
        "materials": case.header.item.materials.len(),
        "events": case.events.len(),
        "event_ids": case.events.iter().map(|e| e.id().0).collect::<Vec<_>>(),
        "event_kinds": case.events.iter().map(|e| kind_name(&e.kind)).collect::<Vec<_>>(),
        "wall_ms": case.events.iter().map(|e| e.hlc.wall_ms).collect::<Vec<_>>(),
        "heads": heads,
        "not_scalar": [],
    })
}

fn kind_name(kind: &yikou_schema::case::EventKind) -> String {
    serde_json::to_value(kind).expect("serializes")["kind"].as_str().expect("tagged").to_string()
}

fn sorted_heads(mut printed: Value) -> Value {
    if let Some(heads) = printed["heads"].as_array_mut() {
        heads.sort_by(|a, b| a.as_str().cmp(&b.as_str()));
    }
    printed
}

#[test]
fn a_saved_case_loads_in_javascript_automerge_with_the_same_fields_and_heads() {
    // Every event kind, then two concurrent appends merged: the document has two heads.
    let case = every_kind_case();
    let saved = CaseDoc::new(&case, b"node-a.1").expect("new").save();
    let mut town = CaseDoc::load(&saved, b"node-b.1").expect("loads");
    let mut hall = CaseDoc::load(&saved, b"node-c.1").expect("loads");
    let extra = small_case().events;
    town.append(&extra[..1]).expect("appends");
    hall.append(&extra[1..]).expect("appends");
    town.merge(&mut hall).expect("merges");
    assert_eq!(town.heads().len(), 2, "concurrent appends leave two heads");
    assert_eq!(town.case().expect("reads").events.len(), case.events.len() + 2);

    let printed = load_in_javascript(&town.save());
    assert_eq!(sorted_heads(printed), expected(&mut town));
}

#[test]
fn a_snapshot_followed_by_incremental_chunks_loads_in_javascript() {
    let small = small_case();
    let mut doc = CaseDoc::new(&Case { header: every_kind_case().header, events: Vec::new() }, b"node-a.1")
        .expect("new");
    let mut bytes = doc.save();
    for event in &small.events {
        doc.append(std::slice::from_ref(event)).expect("appends");
        bytes.extend(doc.save_incremental());
    }
    let printed = load_in_javascript(&bytes);
    assert_eq!(sorted_heads(printed), expected(&mut doc));
}
