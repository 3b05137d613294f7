//! The node's fuzz targets, replayed on stable in CI: every committed seed and crasher of
//! `doc_load` and `api_bodies` (see `fuzz/`, `scripts/fuzz.sh`) plus mutations of the document
//! seeds, asserting no panic and clean errors (the invariants are in `fuzz/harness/`).
//! `cargo test -p yikou-node --test fuzz_regressions -- --ignored write_fuzz_seeds` rewrites the seeds.

#[path = "../../fuzz/harness/api.rs"]
mod api_harness;
#[path = "../../fuzz/harness/doc.rs"]
mod doc_harness;
#[path = "../../fuzz/harness/replay.rs"]
mod replay;

use serde_json::{Value, json};
use yikou_node::doc::{RefDoc, RefKind};
use yikou_schema::catalog::Catalog;

#[test]
fn doc_load_seeds_and_regressions_load_or_refuse_cleanly() {
    let (seeds, _) = replay::replay("doc_load", doc_harness::doc_load, true);
    assert!(seeds >= 4, "the seed corpus of doc_load is missing");
}

#[test]
fn api_bodies_seeds_and_regressions_are_answered_cleanly() {
    // Each input builds a node: the seeds and crashers only, no mutations.
    let (seeds, _) = replay::replay("api_bodies", api_harness::api_bodies, false);
    assert!(seeds >= 10, "the seed corpus of api_bodies is missing");
}

#[test]
fn the_api_harness_reaches_the_service_past_parsing() {
    // A harness whose cases or staff were missing would only ever fuzz "not found" or "denied".
    let seed = |name: &str| {
        std::fs::read(replay::fuzz_dir().join("seeds/api_bodies").join(name)).expect("the seed file")
    };
    assert_eq!(api_harness::answer(&seed("cases.json.bin")), Some(201), "intake");
    assert_eq!(api_harness::answer(&seed("accept.json.bin")), Some(200), "accept");
    assert_eq!(api_harness::answer(&seed("handover.json.bin")), Some(200), "handover");
}

/// (path of `api_harness::paths`, staff index, case index, body) of each API seed.
fn api_seeds() -> Vec<(&'static str, u8, u8, Value)> {
    let present = |codes: &[&str]| -> Value {
        codes.iter().map(|c| json!({ "code": c, "condition": { "condition": "present" } })).collect()
    };
    let intake = json!({
        "item": "BDC001",
        "applicant": { "id": "11010519491231002X", "name": "张三", "phone": "13800000000", "address": "新郑市人民路1号" },
        "agent": { "id": "110105199001011232", "name": "李四", "authorisation_ref": "WT-001", "specific": true },
        "channel": { "channel": "hall" },
        "presented": present(&["M01", "M02", "M03", "M04", "M05"]),
        "requested_deadline": "2026-03-12",
    });
    let (clerk, bdc, issue, supervisor) = (0, 1, 3, 5);
    vec![
        ("/api/v1/cases", clerk, 0, intake.clone()),
        ("/api/v1/eligibility", clerk, 0, intake),
        ("/api/v1/catalog/adjustments", 4, 0, json!({})),
        ("/api/v1/tickets", clerk, 0, json!({ "item": "BDC001" })),
        ("/api/v1/appointments", clerk, 0, json!({ "item": "BDC001", "date": "2026-03-11" })),
        ("/api/v1/consultations", clerk, 0, json!({ "item": "BDC001", "question": "需要带什么材料?" })),
        ("accept", clerk, 0, json!({ "presented": present(&["M06"]) })),
        (
            "tolerance-accept",
            clerk,
            0,
            json!({ "presented": [], "commitment": { "materials": ["M06"], "deadline": "2026-03-12",
                    "window": "县政务服务中心不动产登记窗口", "signed_by": { "by": "applicant" } } }),
        ),
        ("correction-notice", clerk, 0, json!({ "problems": [{ "code": "M06", "problem": "missing" }] })),
        ("not-accept", clerk, 0, json!({ "reasons": ["不属于本机关职权范围"] })),
        ("withdraw", clerk, 0, json!({ "reason": "申请人撤回" })),
        ("handover", clerk, 1, json!({ "department": "BDCDJ", "paper": true })),
        ("handover-sign", bdc, 1, json!({ "department": "BDCDJ" })),
        ("special-procedure-start", bdc, 1, json!({ "reason": "需要现场勘验" })),
        ("proposed-decision", bdc, 1, json!({ "approve": true, "opinion": "同意" })),
        ("decision", bdc, 1, json!({ "outcome": { "outcome": "approved" } })),
        ("result-to-issuing", bdc, 1, json!({ "register_entry": "发证登记 2026-001" })),
        ("notify", issue, 1, json!({ "contact": "13800000000" })),
        ("deliver", issue, 1, json!({ "delivery": { "by": "in_person" } })),
        ("cards", supervisor, 1, json!({ "duty": "handover", "level": "yellow" })),
        ("rating", clerk, 1, json!({ "score": 5 })),
        ("scans", clerk, 1, json!({ "scans": [] })),
        ("provincial-number", clerk, 1, json!({ "number": "41018420260310000001" })),
        ("archive", clerk, 1, Value::Null),
    ]
}

#[test]
#[ignore = "writes fuzz/seeds/{doc_load,api_bodies}; run by hand when the formats change"]
fn write_fuzz_seeds() {
    let (saved, chunk) = doc_harness::base_case();
    let with = |mode: u8, bytes: &[u8]| [&[mode][..], bytes].concat();
    replay::write_seed("doc_load", "case_saved.bin", &with(0, saved));
    replay::write_seed("doc_load", "case_chunk.bin", &with(2, chunk));
    replay::write_seed("doc_load", "ref_dishonesty.bin", &with(1, doc_harness::base_ref()));
    replay::write_seed("doc_load", "ref_again.bin", &with(3, doc_harness::base_ref()));
    let catalog = RefDoc::new(RefKind::Catalog, &Catalog::sample(), b"seed").expect("catalog doc").save();
    replay::write_seed("doc_load", "ref_catalog.bin", &with(1, &catalog));
    // A catalog where a case is expected: refused by its layout.
    replay::write_seed("doc_load", "case_is_a_catalog.bin", &with(0, &catalog));
    let paths = api_harness::paths("CASE");
    for (path, staff, case, body) in api_seeds() {
        let full =
            if path.starts_with('/') { path.to_string() } else { format!("/api/v1/cases/CASE/{path}") };
        let route = paths.iter().position(|p| *p == full).unwrap_or_else(|| panic!("no route {full}"));
        let name = path.trim_start_matches("/api/v1/").replace('/', "_");
        let bytes = [&[route as u8, staff, case][..], body.to_string().as_bytes()].concat();
        replay::write_seed("api_bodies", &format!("{name}.json.bin"), &bytes);
    }
}
