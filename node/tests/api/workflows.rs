//! Every workflow of RULES.md through HTTP, each step by the role the rules give it.

use serde_json::{Value, json};

use crate::harness::{
    APPLICANT, APPLICANT_2, APPLICANT_3, Api, DAY_MS, Tokens, assert_problem, intake_of, present,
};

const BDC001_ALL: [&str; 6] = ["M01", "M02", "M03", "M04", "M05", "M06"];
const BDC001_KEY: [&str; 5] = ["M01", "M02", "M03", "M04", "M05"];
/// BDC001's promised completion date from acceptance on the start day (5 working days).
const BDC001_LATEST_DEADLINE: &str = "2026-03-17";

fn phase(case: &Value) -> &str {
    case["state"]["phase"].as_str().unwrap_or("?")
}

fn documents(case: &Value) -> Vec<String> {
    case["documents"]
        .as_array()
        .map(|a| a.iter().filter_map(|d| d.as_str().map(str::to_string)).collect())
        .unwrap_or_default()
}

fn event_kinds(case: &Value) -> Vec<String> {
    case["events"]
        .as_array()
        .map(|a| a.iter().filter_map(|e| e["event"]["kind"]["kind"].as_str().map(str::to_string)).collect())
        .unwrap_or_default()
}

fn title_of(kind: &str) -> &'static str {
    match kind {
        "correction_notice" => "补正通知书",
        "non_acceptance" => "不予受理决定书",
        "intake_receipt" => "材料受理及接收凭证",
        "tolerance_receipt" => "容缺受理回执单",
        "commitment" => "限期补齐材料承诺书",
        "materials_received" => "材料接收清单",
        "denial" => "不予审批决定书",
        "result_handover" => "办理结果交接单",
        other => panic!("unknown document kind {other}"),
    }
}

/// Every document the case lists opens as an A4 HTML page with its title and the case number;
/// returns the kinds listed.
async fn check_documents(api: &Api, token: &str, id: &str) -> Vec<String> {
    let (status, list) = api.get(token, &format!("/api/v1/cases/{id}/documents")).await;
    assert_eq!(status, 200, "{list:#}");
    let case = api.case(token, id).await;
    let kinds = documents(&case);
    assert!(!kinds.is_empty(), "a case past intake has documents");
    let listed = list.to_string();
    for kind in &kinds {
        assert!(listed.contains(kind.as_str()), "documents list names {kind}: {list:#}");
        let (status, ctype, html) =
            api.raw("GET", &format!("/api/v1/cases/{id}/documents/{kind}"), Some(token), None).await;
        assert_eq!(status, 200, "{kind}: {}", String::from_utf8_lossy(&html));
        assert!(ctype.starts_with("text/html"), "{kind}: {ctype}");
        let html = String::from_utf8(html).expect("utf-8 page");
        assert!(html.contains(title_of(kind)), "{kind} page carries its title");
        assert!(html.contains(id), "{kind} page carries the case number");
    }
    kinds
}

/// Accepts (normally) a BDC001 case with every material and hands it to BDCDJ, signed.
async fn accepted_in_review(api: &Api, t: &Tokens, applicant: &str) -> String {
    let id = api.intake(&t.clerk, intake_of("BDC001", applicant, &BDC001_ALL)).await;
    api.step_ok(&t.clerk, &id, "accept", json!({ "presented": [] })).await;
    api.step_ok(&t.clerk, &id, "handover", json!({ "department": "BDCDJ", "paper": true })).await;
    let case = api.step_ok(&t.bdc, &id, "handover-sign", json!({ "department": "BDCDJ" })).await;
    assert_eq!(phase(&case), "in_review");
    id
}

fn approve() -> Value {
    json!({ "outcome": { "outcome": "approve", "result": "准予登记,颁发不动产权证书" } })
}

/// rule W3.5 rule W4.1 rule W4.2 rule W5.1 rule W6.1 rule W6.2 rule W7: the normal path of a
/// promise item from the window to the archive, each step by its own role.
#[tokio::test]
async fn normal_acceptance_to_archive() {
    let api = Api::hall().await;
    let t = api.tokens().await;
    let id = api.intake(&t.clerk, intake_of("BDC001", APPLICANT, &BDC001_ALL)).await;
    let case = api.step_ok(&t.clerk, &id, "accept", json!({ "presented": [] })).await;
    assert_eq!(phase(&case), "accepted");
    assert!(documents(&case).contains(&"intake_receipt".to_string()), "{:#}", case["documents"]);
    // W4.1: paper handed to the department, which signs for it.
    let case = api.step_ok(&t.clerk, &id, "handover", json!({ "department": "BDCDJ", "paper": true })).await;
    assert_eq!(phase(&case), "accepted", "handed over, not yet signed");
    assert!(case["state"]["handovers"]["BDCDJ"]["handed_at"].is_string(), "{:#}", case["state"]);
    let case = api.step_ok(&t.bdc, &id, "handover-sign", json!({ "department": "BDCDJ" })).await;
    assert_eq!(phase(&case), "in_review");
    let case = api
        .step_ok(
            &t.bdc,
            &id,
            "proposed-decision",
            json!({ "approve": true, "opinion": "材料齐全,拟准予登记" }),
        )
        .await;
    assert_eq!(case["state"]["proposed"][1], true);
    let case = api.step_ok(&t.bdc, &id, "decision", approve()).await;
    assert_eq!(phase(&case), "decided");
    assert_eq!(case["state"]["decision"]["outcome"]["outcome"], "approve");
    let case = api
        .step_ok(&t.bdc, &id, "result-to-issuing", json!({ "register_entry": "发证交接登记簿第12号" }))
        .await;
    assert_eq!(phase(&case), "at_issuing_window");
    let case = api.step_ok(&t.issue, &id, "notify", json!({ "contact": "电话 13900000000" })).await;
    assert_eq!(phase(&case), "notified");
    let case = api
        .step_ok(&t.issue, &id, "deliver", json!({ "delivery": { "method": "pickup", "signed_by": "王五" } }))
        .await;
    assert_eq!(phase(&case), "delivered");
    let case = api.step_ok(&t.bdc, &id, "archive", json!({})).await;
    assert_eq!(phase(&case), "archived");
    assert_eq!(
        event_kinds(&case),
        [
            "received",
            "accepted",
            "handed_over",
            "handover_signed",
            "proposed_decision",
            "decided",
            "result_to_issuing",
            "notified",
            "delivered",
            "archived"
        ]
    );
    // Every act names who did it, in which role.
    let roles: Vec<&str> =
        case["events"].as_array().expect("events").iter().filter_map(|e| e["role_zh"].as_str()).collect();
    assert_eq!(roles.len(), 10);
    let kinds = check_documents(&api, &t.clerk, &id).await;
    assert!(kinds.contains(&"intake_receipt".to_string()), "{kinds:?}");
    // The timeline route gives the same events in order.
    let (status, timeline) = api.get(&t.auditor, &format!("/api/v1/cases/{id}/timeline")).await;
    assert_eq!(status, 200, "{timeline:#}");
    let text = timeline.to_string();
    assert!(text.contains("handover_signed") && text.contains("archived"), "{timeline:#}");
}

/// rule T1 rule T3.2 rule T3.4 rule T3.5: tolerance acceptance with a commitment, the promised
/// material supplied in time (a 材料接收清单), then approval.
#[tokio::test]
async fn tolerance_acceptance_supplied_in_time_then_approved() {
    let api = Api::hall().await;
    let t = api.tokens().await;
    let (status, out) =
        api.post(&t.clerk, "/api/v1/cases", intake_of("BDC001", APPLICANT, &BDC001_KEY)).await;
    assert_eq!(status, 201, "{out:#}");
    assert_eq!(out["eligibility"]["answer"], "eligible", "{out:#}");
    assert_eq!(out["eligibility"]["missing"], json!(["M06"]));
    assert_eq!(out["eligibility"]["latest_deadline"]["at"], BDC001_LATEST_DEADLINE);
    let id = out["case"]["id"].as_str().expect("id").to_string();
    let case = api
        .step_ok(
            &t.clerk,
            &id,
            "tolerance-accept",
            json!({ "presented": [], "commitment": { "materials": ["M06"], "deadline": BDC001_LATEST_DEADLINE,
                    "window": "县政务服务中心不动产登记窗口", "signed_by": { "by": "applicant" } } }),
        )
        .await;
    assert_eq!(phase(&case), "accepted");
    let docs = documents(&case);
    assert!(
        docs.contains(&"tolerance_receipt".to_string()) && docs.contains(&"commitment".to_string()),
        "{docs:?}"
    );
    api.step_ok(&t.clerk, &id, "handover", json!({ "department": "BDCDJ", "paper": true })).await;
    api.step_ok(&t.bdc, &id, "handover-sign", json!({ "department": "BDCDJ" })).await;
    // T3.5: approval waits for the promised material.
    let (status, out) = api.step(&t.bdc, &id, "decision", approve()).await;
    assert_problem((status, &out), 422, "case.tolerable_outstanding", Some("T3.5"));
    api.clock.advance_ms(DAY_MS);
    let t = api.tokens().await;
    let case = api.step_ok(&t.clerk, &id, "supplements", json!({ "materials": ["M06"] })).await;
    assert!(documents(&case).contains(&"materials_received".to_string()), "{:#}", case["documents"]);
    assert!(case["state"]["tolerance"]["supplied"]["M06"].is_string(), "{:#}", case["state"]);
    api.step_ok(
        &t.bdc,
        &id,
        "proposed-decision",
        json!({ "approve": true, "opinion": "补齐材料后审查通过" }),
    )
    .await;
    let case = api.step_ok(&t.bdc, &id, "decision", approve()).await;
    assert_eq!(phase(&case), "decided");
    let kinds = check_documents(&api, &t.clerk, &id).await;
    for k in ["tolerance_receipt", "commitment", "materials_received"] {
        assert!(kinds.contains(&k.to_string()), "{k} in {kinds:?}");
    }
}

/// rule T3.6: a commitment not kept by its deadline → denial for the lapse → the applicant is on
/// the dishonesty list → a new application of theirs is not eligible for tolerance, and the
/// tolerance-accept step is refused.
#[tokio::test]
async fn missed_commitment_lists_the_applicant_as_dishonest() {
    let api = Api::hall().await;
    let t = api.tokens().await;
    let id = api.intake(&t.clerk, intake_of("BDC001", APPLICANT_2, &BDC001_KEY)).await;
    let commitment = json!({ "presented": [], "commitment": { "materials": ["M06"], "deadline": BDC001_LATEST_DEADLINE,
        "window": "县政务服务中心不动产登记窗口", "signed_by": { "by": "applicant" } } });
    api.step_ok(&t.clerk, &id, "tolerance-accept", commitment.clone()).await;
    api.step_ok(&t.clerk, &id, "handover", json!({ "department": "BDCDJ", "paper": true })).await;
    api.step_ok(&t.bdc, &id, "handover-sign", json!({ "department": "BDCDJ" })).await;
    let deny = json!({ "outcome": { "outcome": "deny", "reasons": ["逾期未补交房地产调查或者测绘报告"],
        "basis": "tolerance_lapsed" } });
    // Not before the deadline has passed.
    let (status, out) = api.step(&t.bdc, &id, "decision", deny.clone()).await;
    assert_problem((status, &out), 409, "case.not_lapsed", Some("T3.6"));
    // 2026-03-18: the day after the deadline.
    api.clock.advance_ms(8 * DAY_MS);
    let t = api.tokens().await;
    let (status, out) = api.step(&t.clerk, &id, "supplements", json!({ "materials": ["M06"] })).await;
    assert_problem((status, &out), 422, "case.supplement_late", Some("T3.6"));
    let case = api.step_ok(&t.bdc, &id, "decision", deny).await;
    assert_eq!(phase(&case), "decided");
    assert!(documents(&case).contains(&"denial".to_string()), "{:#}", case["documents"]);
    check_documents(&api, &t.clerk, &id).await;

    let (status, list) = api.get(&t.clerk, "/api/v1/dishonesty").await;
    assert_eq!(status, 200, "{list:#}");
    let entries = list["entries"].as_array().expect("entries");
    assert_eq!(entries.len(), 1, "{list:#}");
    assert_eq!(entries[0]["applicant"], APPLICANT_2);
    assert_eq!(entries[0]["case"], id.as_str());
    assert_eq!(entries[0]["listed_on"], "2026-03-18");
    assert_eq!(entries[0]["until"], "2027-03-18");

    let (status, out) =
        api.post(&t.clerk, "/api/v1/cases", intake_of("BDC001", APPLICANT_2, &BDC001_KEY)).await;
    assert_eq!(status, 201, "{out:#}");
    assert_eq!(out["eligibility"]["answer"], "not_eligible", "{out:#}");
    let codes: Vec<&str> = out["eligibility"]["reasons"]
        .as_array()
        .expect("reasons")
        .iter()
        .filter_map(|r| r["code"].as_str())
        .collect();
    assert!(codes.contains(&"tolerance.dishonest_applicant"), "{codes:?}");
    let second = out["case"]["id"].as_str().expect("id").to_string();
    let mut late = commitment;
    late["commitment"]["deadline"] = json!("2026-03-25");
    let before = api.keys();
    let (status, out) = api.step(&t.clerk, &second, "tolerance-accept", late).await;
    assert_problem((status, &out), 422, "tolerance.dishonest_applicant", Some("T3.6"));
    assert_eq!(api.keys(), before, "a refused step writes nothing");
    // Another applicant is not affected.
    let (_, out) = api.post(&t.clerk, "/api/v1/cases", intake_of("BDC001", APPLICANT_3, &BDC001_KEY)).await;
    assert_eq!(out["eligibility"]["answer"], "eligible", "{out:#}");
}

/// rule W3.5 rule T2: a key material missing → one correction notice telling every problem →
/// resubmission → normal acceptance.
#[tokio::test]
async fn correction_notice_resubmit_accept() {
    let api = Api::hall().await;
    let t = api.tokens().await;
    let (_, out) = api
        .post(&t.clerk, "/api/v1/cases", intake_of("BDC002", APPLICANT, &["M01", "M02", "M03", "M05"]))
        .await;
    assert_eq!(out["eligibility"]["answer"], "not_eligible");
    let id = out["case"]["id"].as_str().expect("id").to_string();
    // T2: not with tolerance while a key material is missing.
    let (status, body) = api
        .step(
            &t.clerk,
            &id,
            "tolerance-accept",
            json!({ "presented": [], "commitment": { "materials": ["M06", "M07"], "deadline": "2026-03-12",
                    "window": "不动产登记窗口", "signed_by": { "by": "applicant" } } }),
        )
        .await;
    assert_problem((status, &body), 422, "tolerance.key_material_missing", Some("T2"));
    let case = api
        .step_ok(
            &t.clerk,
            &id,
            "correction-notice",
            json!({ "problems": [
                { "material": "M04", "description": "缺少房屋买卖合同" },
                { "material": "M06", "description": "缺少户口簿复印件" },
                { "material": "M07", "description": "缺少婚姻关系证明复印件" } ] }),
        )
        .await;
    assert_eq!(phase(&case), "awaiting_correction");
    assert!(documents(&case).contains(&"correction_notice".to_string()));
    check_documents(&api, &t.clerk, &id).await;
    // Told once: a second notice is refused.
    let (status, body) = api
        .step(
            &t.clerk,
            &id,
            "correction-notice",
            json!({ "problems": [{ "material": "M04", "description": "x" }] }),
        )
        .await;
    assert_problem((status, &body), 422, "case.correction_told_once", Some("W3.5"));
    let case =
        api.step_ok(&t.clerk, &id, "resubmit", json!({ "presented": present(&["M04", "M06", "M07"]) })).await;
    assert_eq!(phase(&case), "received");
    let case = api.step_ok(&t.clerk, &id, "accept", json!({ "presented": [] })).await;
    assert_eq!(phase(&case), "accepted");
}

/// rule W3.5: non-acceptance with specific reasons, and its decision document.
#[tokio::test]
async fn non_acceptance_with_reasons() {
    let api = Api::hall().await;
    let t = api.tokens().await;
    let id = api.intake(&t.clerk, intake_of("BDC004", APPLICANT, &["M01", "M02", "M03"])).await;
    let (status, body) = api.step(&t.clerk, &id, "not-accept", json!({ "reasons": [] })).await;
    assert_problem((status, &body), 422, "case.reasons_missing", Some("W3.5"));
    let case = api
        .step_ok(&t.clerk, &id, "not-accept", json!({ "reasons": ["申请事项依法不属于本机关职权范围"] }))
        .await;
    assert_eq!(phase(&case), "not_accepted");
    let kinds = check_documents(&api, &t.clerk, &id).await;
    assert!(kinds.contains(&"non_acceptance".to_string()), "{kinds:?}");
    let (status, ctype, html) =
        api.raw("GET", &format!("/api/v1/cases/{id}/documents/non_acceptance"), Some(&t.clerk), None).await;
    assert_eq!((status, ctype.starts_with("text/html")), (200, true));
    assert!(String::from_utf8_lossy(&html).contains("申请事项依法不属于本机关职权范围"));
    // A terminal case takes no further steps.
    let (status, body) = api.step(&t.clerk, &id, "accept", json!({ "presented": [] })).await;
    assert_problem((status, &body), 409, "case.terminal", Some("W9"));
}

/// rule W3.1: an online application needs the online desk's pre-acceptance before the window
/// accepts it.
#[tokio::test]
async fn online_channel_with_pre_acceptance() {
    let api = Api::hall().await;
    let t = api.tokens().await;
    let mut body = intake_of("BDC001", APPLICANT, &BDC001_ALL);
    body["channel"] = json!({ "channel": "online", "portal_ref": "WT-2026-000123" });
    let id = api.intake(&t.clerk, body).await;
    let case = api.case(&t.clerk, &id).await;
    assert_eq!(case["state"]["channel"]["channel"], "online");
    let (status, out) = api.step(&t.clerk, &id, "accept", json!({ "presented": [] })).await;
    assert_problem((status, &out), 422, "case.pre_acceptance_required", Some("W3.1"));
    let case = api
        .step_ok(
            &t.clerk,
            &id,
            "pre-acceptance",
            json!({ "result": { "result": "pass", "paper_required": true } }),
        )
        .await;
    assert_eq!(phase(&case), "pre_accepted");
    let case = api.step_ok(&t.clerk, &id, "accept", json!({ "presented": [] })).await;
    assert_eq!(phase(&case), "accepted");
    // Pre-acceptance is for online cases only.
    let hall = api.intake(&t.clerk, intake_of("BDC001", APPLICANT, &BDC001_ALL)).await;
    let (status, out) = api
        .step(
            &t.clerk,
            &hall,
            "pre-acceptance",
            json!({ "result": { "result": "pass", "paper_required": false } }),
        )
        .await;
    assert_problem((status, &out), 409, "case.not_online", Some("W3.1"));
}

/// rule W3.4 rule W6.2: a mailed application, the result posted, the result handover form
/// returned to the department before archiving.
#[tokio::test]
async fn mail_channel_and_mail_delivery() {
    let api = Api::hall().await;
    let t = api.tokens().await;
    let mut body = intake_of("BDC001", APPLICANT, &BDC001_ALL);
    body["channel"] = json!({ "channel": "mail", "handover_record": "YJ-2026-0310-07" });
    let id = api.intake(&t.clerk, body).await;
    assert_eq!(api.case(&t.clerk, &id).await["state"]["channel"]["handover_record"], "YJ-2026-0310-07");
    api.step_ok(&t.clerk, &id, "accept", json!({ "presented": [] })).await;
    api.step_ok(&t.clerk, &id, "handover", json!({ "department": "BDCDJ", "paper": false })).await;
    api.step_ok(&t.bdc, &id, "handover-sign", json!({ "department": "BDCDJ" })).await;
    api.step_ok(&t.bdc, &id, "decision", approve()).await;
    api.step_ok(&t.issue, &id, "result-to-issuing", json!({ "register_entry": "发证交接登记簿第13号" }))
        .await;
    api.step_ok(&t.issue, &id, "notify", json!({ "contact": "短信 13900000000" })).await;
    let case = api
        .step_ok(
            &t.issue,
            &id,
            "deliver",
            json!({ "delivery": { "method": "mail", "postal_receipt": "EMS1234567890", "address": "新郑市人民路1号" } }),
        )
        .await;
    assert_eq!(phase(&case), "delivered");
    let (status, out) = api.step(&t.bdc, &id, "archive", json!({})).await;
    assert_problem((status, &out), 422, "case.form_not_returned", Some("W6.2"));
    let case = api.step_ok(&t.issue, &id, "result-form-returned", json!({})).await;
    assert!(case["state"]["form_returned_at"].is_string());
    assert!(documents(&case).contains(&"result_handover".to_string()), "{:#}", case["documents"]);
    check_documents(&api, &t.issue, &id).await;
    let case = api.step_ok(&t.bdc, &id, "archive", json!({})).await;
    assert_eq!(phase(&case), "archived");
}

/// rule W4.3: a parallel joint item goes to every department at once; review starts when all
/// have signed; the lead department decides.
#[tokio::test]
async fn joint_parallel_item_handed_to_every_department() {
    let api = Api::hall().await;
    let t = api.tokens().await;
    let id = api.intake(&t.clerk, intake_of("ZJ003", APPLICANT_3, &["M01", "M02", "M03", "M04"])).await;
    let case = api.step_ok(&t.clerk, &id, "accept", json!({ "presented": [] })).await;
    let mut departments: Vec<String> =
        case["state"]["handovers"].as_object().expect("handovers").keys().cloned().collect();
    departments.sort();
    assert_eq!(departments, ["RFB", "ZJJ", "ZRZYJ"], "parallel: every department's duty starts at once");
    for d in ["ZJJ", "ZRZYJ", "RFB"] {
        api.step_ok(&t.clerk, &id, "handover", json!({ "department": d, "paper": true })).await;
    }
    // A department not involved is refused.
    let (status, out) =
        api.step(&t.clerk, &id, "handover", json!({ "department": "BDCDJ", "paper": true })).await;
    assert_eq!(status, 422, "{out:#}");
    assert_eq!(out["code"], "case.department_not_involved");
    let case = api.step_ok(&t.zjj, &id, "handover-sign", json!({ "department": "ZJJ" })).await;
    assert_eq!(phase(&case), "accepted");
    // Each department signs for itself only.
    let (status, out) = api.step(&t.zjj, &id, "handover-sign", json!({ "department": "RFB" })).await;
    assert_problem((status, &out), 403, "permission.denied", Some("W4.1"));
    api.step_ok(&t.zrzyj, &id, "handover-sign", json!({ "department": "ZRZYJ" })).await;
    let case = api.step_ok(&t.rfb, &id, "handover-sign", json!({ "department": "RFB" })).await;
    assert_eq!(phase(&case), "in_review");
    // Every involved department may give its opinion; only the lead decides.
    api.step_ok(&t.zrzyj, &id, "proposed-decision", json!({ "approve": true, "opinion": "规划条件符合" }))
        .await;
    let (status, out) = api.step(&t.rfb, &id, "decision", approve()).await;
    assert_problem((status, &out), 403, "permission.denied", Some("W5.1"));
    let case = api
        .step_ok(
            &t.zjj,
            &id,
            "decision",
            json!({ "outcome": { "outcome": "approve", "result": "准予施工许可" } }),
        )
        .await;
    assert_eq!(phase(&case), "decided");
}

/// rule W5.1: the special procedure pauses the clock; no decision while it runs.
#[tokio::test]
async fn special_procedure_start_and_end() {
    let api = Api::hall().await;
    let t = api.tokens().await;
    let id = accepted_in_review(&api, &t, APPLICANT).await;
    let case = api.step_ok(&t.bdc, &id, "special-procedure-start", json!({ "reason": "需要现场勘验" })).await;
    assert_eq!(case["state"]["pauses"][0]["reason"], "需要现场勘验");
    assert!(case["state"]["pauses"][0]["end"].is_null());
    let (status, out) = api.step(&t.bdc, &id, "decision", approve()).await;
    assert_problem((status, &out), 422, "case.paused", Some("W5.1"));
    let case = api.step_ok(&t.bdc, &id, "special-procedure-end", json!({})).await;
    assert!(case["state"]["pauses"][0]["end"].is_string());
    let case = api.step_ok(&t.bdc, &id, "decision", approve()).await;
    assert_eq!(phase(&case), "decided");
}

/// rule W8: an upward item is checked for completeness and form and reported upward with the
/// prescribed opinion; the county does not decide it.
#[tokio::test]
async fn upward_item_reported_upward() {
    let api = Api::hall().await;
    let t = api.tokens().await;
    let id = api.intake(&t.clerk, intake_of("HJ001", APPLICANT, &["M01", "M02", "M03"])).await;
    api.step_ok(&t.clerk, &id, "accept", json!({ "presented": [] })).await;
    api.step_ok(&t.clerk, &id, "handover", json!({ "department": "HJFJ", "paper": true })).await;
    api.step_ok(&t.hjfj, &id, "handover-sign", json!({ "department": "HJFJ" })).await;
    let (status, out) = api.step(&t.hjfj, &id, "decision", approve()).await;
    assert_problem((status, &out), 422, "case.upward_no_decision", Some("W8"));
    let (status, out) = api.step(&t.hjfj, &id, "report-upward", json!({ "opinion": "同意上报" })).await;
    assert_problem((status, &out), 422, "case.upward_opinion", Some("W8"));
    let case = api
        .step_ok(
            &t.hjfj,
            &id,
            "report-upward",
            json!({ "opinion": "材料齐全、符合法定形式,呈请上级部门办理" }),
        )
        .await;
    assert_eq!(phase(&case), "reported_upward");
}

/// rule W3.5: the applicant withdraws before a decision.
#[tokio::test]
async fn withdrawal() {
    let api = Api::hall().await;
    let t = api.tokens().await;
    let id = accepted_in_review(&api, &t, APPLICANT).await;
    let case = api.step_ok(&t.clerk, &id, "withdraw", json!({ "reason": "申请人书面申请撤回" })).await;
    assert_eq!(phase(&case), "withdrawn");
    assert_eq!(case["state"]["withdrawn"][1], "申请人书面申请撤回");
}

/// rule W5.2: the hall centre consents to a case file leaving the hall.
#[tokio::test]
async fn file_removal_consent_by_the_hall_centre() {
    let api = Api::hall().await;
    let t = api.tokens().await;
    let id = accepted_in_review(&api, &t, APPLICANT).await;
    let case = api
        .step_ok(&t.centre, &id, "file-removal-consent", json!({ "reason": "报市局会审,三日内送回" }))
        .await;
    assert_eq!(case["state"]["file_removal_consents"][0][1], "报市局会审,三日内送回");
}

/// rule W3.2: scans uploaded as bytes, registered on the case by hash (the size is the node's,
/// not the client's), and downloadable again; rule W10: a satisfaction rating.
#[tokio::test]
async fn scans_and_rating() {
    let api = Api::hall().await;
    let t = api.tokens().await;
    let id = api.intake(&t.clerk, intake_of("BDC001", APPLICANT, &BDC001_ALL)).await;
    let pdf = b"%PDF-1.4 scanned application form".to_vec();
    let (status, _, out) = api
        .raw("POST", "/api/v1/attachments", Some(&t.clerk), Some(("application/octet-stream", pdf.clone())))
        .await;
    assert_eq!(status, 201, "{}", String::from_utf8_lossy(&out));
    let out: Value = serde_json::from_slice(&out).expect("json");
    let hash = out["hash"].as_str().expect("hash").to_string();
    assert_eq!(hash, blake3::hash(&pdf).to_hex().to_string());
    assert_eq!(out["bytes"], pdf.len());
    let case = api
        .step_ok(
            &t.clerk,
            &id,
            "scans",
            json!({ "scans": [{ "material": "M01", "hash": hash, "bytes": 1, "media_type": "application/pdf" }] }),
        )
        .await;
    assert_eq!(case["state"]["scans"][0]["hash"], hash.as_str());
    assert_eq!(case["state"]["scans"][0]["bytes"], pdf.len(), "the node's size, not the client's");
    let (status, ctype, bytes) =
        api.raw("GET", &format!("/api/v1/attachments/{hash}"), Some(&t.auditor), None).await;
    assert_eq!((status, ctype.as_str()), (200, "application/octet-stream"));
    assert_eq!(bytes, pdf);
    let case = api.step_ok(&t.clerk, &id, "rating", json!({ "score": 5 })).await;
    assert_eq!(case["state"]["ratings"], json!([5]));
}

/// rule W9: after the clock passes a duty's limit, a supervision pass records a card on the case;
/// the dashboard lists the duty; the supervisor revokes the card with a reason.
#[tokio::test]
async fn supervision_cards_and_revocation() {
    let api = Api::hall().await;
    let t = api.tokens().await;
    let id = api.intake(&t.clerk, intake_of("BDC001", APPLICANT, &BDC001_ALL)).await;
    api.step_ok(&t.clerk, &id, "accept", json!({ "presented": [] })).await;
    // Accepted on a morning: the paper is due at the department by 14:00 (W4.1). Two days on,
    // it has not been handed over.
    api.clock.advance_ms(2 * DAY_MS);
    let t = api.tokens().await;
    let (status, out) = api.post(&t.clerk, "/api/v1/supervision/run", json!({})).await;
    assert_problem((status, &out), 403, "permission.denied", Some("W9"));
    let (status, report) = api.post(&t.supervisor, "/api/v1/supervision/run", json!({})).await;
    assert_eq!(status, 200, "{report:#}");
    assert!(report["cards_recorded"].as_u64().unwrap_or(0) >= 1, "{report:#}");
    assert_eq!(report["errors"], json!([]));
    let case = api.case(&t.supervisor, &id).await;
    assert!(event_kinds(&case).contains(&"card_issued".to_string()), "{:#}", case["events"]);
    let card = case["state"]["cards"]
        .as_array()
        .expect("cards")
        .iter()
        .find(|c| c["duty"]["duty"] == "handover")
        .cloned()
        .unwrap_or_else(|| panic!("a handover card: {:#}", case["state"]["cards"]));
    assert!(["yellow", "red"].contains(&card["card"]["level"].as_str().unwrap_or("")), "{card:#}");
    // The card was recorded by the node itself.
    let issued = case["events"]
        .as_array()
        .expect("events")
        .iter()
        .find(|e| e["event"]["kind"]["kind"] == "card_issued")
        .expect("card event");
    assert_eq!(issued["event"]["actor"]["role"]["role"], "system", "{issued:#}");
    // A second pass records nothing new for the same level.
    let (_, again) = api.post(&t.supervisor, "/api/v1/supervision/run", json!({})).await;
    assert_eq!(again["cards_recorded"], 0, "{again:#}");

    let (status, cards) = api.get(&t.supervisor, "/api/v1/supervision/cards").await;
    assert_eq!(status, 200, "{cards:#}");
    let rows = cards["cards"].as_array().expect("rows");
    assert!(
        rows.iter().any(|r| r["case"] == id.as_str() && r["assessment"]["kind"]["duty"] == "handover"),
        "{cards:#}"
    );

    let (status, out) = api
        .step(&t.clerk, &id, "card-revoke", json!({ "duty": card["duty"].clone(), "reason": "系统故障导致" }))
        .await;
    assert_problem((status, &out), 403, "permission.denied", Some("W9"));
    let case = api
        .step_ok(
            &t.supervisor,
            &id,
            "card-revoke",
            json!({ "duty": card["duty"].clone(), "reason": "停电导致无法交接,经核实予以撤销" }),
        )
        .await;
    let revoked = case["state"]["cards"]
        .as_array()
        .expect("cards")
        .iter()
        .find(|c| c["duty"]["duty"] == "handover")
        .expect("card");
    assert_eq!(revoked["card"]["revoked"], "停电导致无法交接,经核实予以撤销");
}

/// rule W9: the case list filters combine (phase and department, item, applicant).
#[tokio::test]
async fn case_list_filters() {
    let api = Api::hall().await;
    let t = api.tokens().await;
    let accepted = api.intake(&t.clerk, intake_of("BDC001", APPLICANT, &BDC001_ALL)).await;
    api.step_ok(&t.clerk, &accepted, "accept", json!({ "presented": [] })).await;
    let received = api.intake(&t.clerk, intake_of("BDC001", APPLICANT_2, &BDC001_ALL)).await;
    let other =
        api.intake(&t.clerk, intake_of("SC001", APPLICANT_2, &["M01", "M02", "M03", "M04", "M05"])).await;
    api.step_ok(&t.clerk, &other, "accept", json!({ "presented": [] })).await;

    let ids = |v: &Value| -> Vec<String> {
        let mut ids: Vec<String> = v["cases"]
            .as_array()
            .expect("cases")
            .iter()
            .filter_map(|c| c["id"].as_str().map(str::to_string))
            .collect();
        ids.sort();
        ids
    };
    let sorted = |mut v: Vec<String>| {
        v.sort();
        v
    };
    let (status, out) = api.get(&t.auditor, "/api/v1/cases?phase=accepted&department=BDCDJ").await;
    assert_eq!(status, 200, "{out:#}");
    assert_eq!(ids(&out), std::slice::from_ref(&accepted));
    assert_eq!(out["cases"][0]["phase"], "accepted");
    assert_eq!(out["cases"][0]["department"], "BDCDJ");
    let (_, out) = api.get(&t.auditor, "/api/v1/cases?phase=accepted").await;
    assert_eq!(ids(&out), sorted(vec![accepted.clone(), other.clone()]));
    let (_, out) = api.get(&t.auditor, "/api/v1/cases?department=BDCDJ").await;
    assert_eq!(ids(&out), sorted(vec![accepted.clone(), received.clone()]));
    let (_, out) = api.get(&t.auditor, "/api/v1/cases?phase=received&item=BDC001").await;
    assert_eq!(ids(&out), std::slice::from_ref(&received));
    let (_, out) = api.get(&t.auditor, &format!("/api/v1/cases?applicant={APPLICANT_2}")).await;
    assert_eq!(ids(&out), sorted(vec![received.clone(), other.clone()]));
    let (_, out) = api.get(&t.auditor, "/api/v1/cases?phase=archived").await;
    assert_eq!(ids(&out), Vec::<String>::new());
    let (_, out) = api.get(&t.auditor, "/api/v1/cases?limit=2").await;
    assert_eq!(ids(&out).len(), 2);
    let (_, out) = api.get(&t.auditor, "/api/v1/cases").await;
    assert_eq!(ids(&out), sorted(vec![accepted, received, other]));
}

/// rule O3: the raw Automerge document of a case loads in the automerge crate and holds the
/// same case.
#[tokio::test]
async fn automerge_bytes_load() {
    let api = Api::hall().await;
    let t = api.tokens().await;
    let id = accepted_in_review(&api, &t, APPLICANT).await;
    let (status, ctype, bytes) =
        api.raw("GET", &format!("/api/v1/cases/{id}/automerge"), Some(&t.auditor), None).await;
    assert_eq!(status, 200, "{}", String::from_utf8_lossy(&bytes));
    assert_eq!(ctype, "application/octet-stream");
    let mut doc = automerge::AutoCommit::load(&bytes).expect("automerge loads the case document");
    assert!(!doc.get_heads().is_empty());
    let case =
        yikou_node::doc::CaseDoc::load(&bytes, b"test").and_then(|d| d.case()).expect("the case reads back");
    assert_eq!(case.header.number.to_string(), id);
    assert_eq!(case.events.len(), 4);
}

/// rule T4 rule W11: the catalog reads as JSON and TOML; the hall centre adjusts an item through
/// the adjustment procedure (revision bumped, new catalog version).
#[tokio::test]
async fn catalog_read_and_adjustment() {
    let api = Api::hall().await;
    let t = api.tokens().await;
    let (status, catalog) = api.get(&t.clerk, "/api/v1/catalog").await;
    assert_eq!(status, 200, "{catalog:#}");
    assert_eq!(catalog["version"], "2026.3");
    assert!(catalog["items"].as_array().expect("items").iter().any(|i| i["code"] == "BDC001"));
    let (status, ctype, toml) = api.raw("GET", "/api/v1/catalog?format=toml", Some(&t.clerk), None).await;
    assert_eq!(status, 200);
    assert!(ctype.starts_with("application/toml"), "{ctype}");
    let parsed = yikou_schema::catalog::Catalog::from_toml(&String::from_utf8(toml).expect("utf-8"))
        .expect("the TOML export parses as a catalog");
    assert_eq!(parsed.version, "2026.3");
    assert_eq!(parsed.items.len(), catalog["items"].as_array().map_or(0, Vec::len));
    // The operator reads it with the admin token too.
    let (status, _) = api.call("GET", "/api/v1/catalog", Some(crate::harness::ADMIN_TOKEN), None).await;
    assert_eq!(status, 200);

    let (status, item) = api.get(&t.clerk, "/api/v1/catalog/items/BDC004").await;
    assert_eq!(status, 200, "{item:#}");
    assert_eq!(item["revision"], 1);
    let mut changed = item.clone();
    changed["name"] = json!("预告登记(调整后)");
    changed["adjustment"] = json!("update_item");
    let (status, out) = api.post(&t.centre, "/api/v1/catalog/adjustments", changed).await;
    assert_eq!(status, 200, "{out:#}");
    assert_ne!(out["version"], "2026.3");
    let (_, item) = api.get(&t.clerk, "/api/v1/catalog/items/BDC004").await;
    assert_eq!(item["name"], "预告登记(调整后)");
    assert_eq!(item["revision"], 2);
    let (_, catalog) = api.get(&t.clerk, "/api/v1/catalog").await;
    assert_eq!(catalog["version"], out["version"]);
}

/// rule O1: status, health and metrics for the operator and the monitoring.
#[tokio::test]
async fn status_healthz_metrics() {
    let api = Api::hall().await;
    let t = api.tokens().await;
    api.intake(&t.clerk, intake_of("BDC001", APPLICANT, &BDC001_ALL)).await;
    let (status, health) = api.call("GET", "/healthz", None, None).await;
    assert_eq!(status, 200);
    assert_eq!(health["status"], "ok");
    assert_eq!(health["node"], "hall");
    for token in [t.auditor.as_str(), crate::harness::ADMIN_TOKEN] {
        let (status, out) = api.call("GET", "/api/v1/status", Some(token), None).await;
        assert_eq!(status, 200, "{out:#}");
        assert_eq!(out["role"], "hall");
        assert_eq!(out["sync_enabled"], false);
        assert_eq!(out["offline"], false);
        assert!(out["documents"].as_u64().unwrap_or(0) >= 2, "catalog and the case: {out:#}");
        assert!(out["now"].as_str().is_some_and(|n| n.starts_with("2026-03-10")), "{out:#}");
    }
    let (status, ctype, text) = api.raw("GET", "/metrics", None, None).await;
    assert_eq!(status, 200);
    assert!(ctype.contains("openmetrics") || ctype.starts_with("text/plain"), "{ctype}");
    let text = String::from_utf8(text).expect("utf-8");
    assert!(
        text.lines().any(|l| l.starts_with("yikou_http_requests_total{")
            && l.contains("route=\"/api/v1/cases\"")
            && l.contains("status=\"201\"")),
        "{text}"
    );
    assert!(text.contains("yikou_intakes_total{channel=\"hall\"} 1"), "{text}");
    assert!(text.contains("yikou_http_request_duration_seconds_bucket"), "{text}");
    assert!(text.lines().any(|l| l.starts_with("yikou_store_documents ")), "{text}");
    assert!(text.trim_end().ends_with("# EOF"), "OpenMetrics text ends with # EOF");
}

/// Staff accounts through the admin token: add, list, disable; a disabled account's session
/// stops working at once.
#[tokio::test]
async fn admin_users_and_disabled_accounts() {
    let api = Api::hall().await;
    let admin = crate::harness::ADMIN_TOKEN;
    let (status, out) = api
        .call(
            "POST",
            "/api/v1/admin/users",
            Some(admin),
            Some(json!({ "staff": "clerk02", "name": "赵六", "role": "window_clerk", "password": "another-pass-7" })),
        )
        .await;
    assert_eq!(status, 201, "{out:#}");
    assert_eq!(out["staff"], "clerk02");
    let (status, out) = api
        .call(
            "POST",
            "/api/v1/admin/users",
            Some(admin),
            Some(json!({ "staff": "clerk02", "name": "赵六", "role": "window_clerk", "password": "another-pass-7" })),
        )
        .await;
    assert_problem((status, &out), 409, "account.exists", None);
    let (status, list) = api.call("GET", "/api/v1/admin/users", Some(admin), None).await;
    assert_eq!(status, 200, "{list:#}");
    assert!(list.as_array().expect("accounts").iter().any(|a| a["staff"] == "clerk02"));
    assert!(!list.to_string().contains("password"), "no password hash leaves the node");
    let (status, session) = api
        .call(
            "POST",
            "/api/v1/auth/login",
            None,
            Some(json!({ "staff": "clerk02", "password": "another-pass-7" })),
        )
        .await;
    assert_eq!(status, 200, "{session:#}");
    let token = session["token"].as_str().expect("token").to_string();
    let (status, me) = api.get(&token, "/api/v1/auth/me").await;
    assert_eq!(status, 200);
    assert_eq!((me["staff"].as_str(), me["role_code"].as_str()), (Some("clerk02"), Some("window_clerk")));
    let id = api.intake(&token, intake_of("BDC001", APPLICANT, &BDC001_ALL)).await;

    let (status, out) = api.call("POST", "/api/v1/admin/users/clerk02/disable", Some(admin), None).await;
    assert_eq!(status, 200, "{out:#}");
    assert_eq!(out["disabled"], true);
    // Disabling ends the account's sessions at once.
    let (status, out) = api.get(&token, &format!("/api/v1/cases/{id}")).await;
    assert_problem((status, &out), 401, "auth.invalid", None);
    let (status, out) = api
        .call(
            "POST",
            "/api/v1/auth/login",
            None,
            Some(json!({ "staff": "clerk02", "password": "another-pass-7" })),
        )
        .await;
    assert_problem((status, &out), 403, "auth.disabled", None);
    // Logging out ends a session.
    let clerk = api.login("clerk01").await;
    let (status, out) = api.post(&clerk, "/api/v1/auth/logout", json!({})).await;
    assert_eq!((status, out["logged_out"].as_bool()), (200, Some(true)));
    let (status, out) = api.get(&clerk, "/api/v1/auth/me").await;
    assert_problem((status, &out), 401, "auth.invalid", None);
}
