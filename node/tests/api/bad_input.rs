//! Every class of bad input: each answered 4xx as problem+json with its stable `code` (and the
//! `rule` where one applies), and nothing written to the node's store.

use serde_json::{Value, json};
use yikou_node::api::ApiConfig;

use crate::harness::{ADMIN_TOKEN, APPLICANT, Api, DAY_MS, PASSWORD, assert_problem, intake_of, present};

const BDC001_ALL: [&str; 6] = ["M01", "M02", "M03", "M04", "M05", "M06"];
const BDC001_KEY: [&str; 5] = ["M01", "M02", "M03", "M04", "M05"];

/// Sends a request that must be refused with `status` and `code` (and `rule`), as problem+json,
/// and must leave every key of the store as it was.
#[allow(clippy::too_many_arguments)]
async fn refused(
    api: &Api,
    method: &str,
    path: &str,
    token: Option<&str>,
    body: Option<(&str, Vec<u8>)>,
    status: u16,
    code: &str,
    rule: Option<&str>,
) -> Value {
    let before = api.keys();
    let (got, ctype, bytes) = api.raw(method, path, token, body).await;
    let problem: Value = serde_json::from_slice(&bytes).unwrap_or_else(|_| {
        panic!("{method} {path}: not JSON ({got} {ctype}): {}", String::from_utf8_lossy(&bytes))
    });
    assert_problem((got, &problem), status, code, rule);
    assert_eq!(ctype, "application/problem+json", "{method} {path}");
    assert_eq!(problem["type"], format!("urn:yikou:problem:{code}"));
    assert_eq!(api.keys(), before, "{method} {path} refused with {code} but wrote to the store");
    problem
}

fn json_body(v: &Value) -> Option<(&'static str, Vec<u8>)> {
    Some(("application/json", v.to_string().into_bytes()))
}

/// A refused JSON POST.
async fn refused_post(
    api: &Api,
    token: &str,
    path: &str,
    body: Value,
    status: u16,
    code: &str,
    rule: Option<&str>,
) -> Value {
    refused(api, "POST", path, Some(token), json_body(&body), status, code, rule).await
}

async fn new_case(api: &Api, clerk: &str, codes: &[&str]) -> String {
    api.intake(clerk, intake_of("BDC001", APPLICANT, codes)).await
}

/// Identifiers are checked with their check digits before anything is stored.
#[tokio::test]
async fn invalid_identifiers() {
    let api = Api::hall().await;
    let clerk = api.login("clerk01").await;
    // The valid number ends in X; 1 is a wrong check digit.
    let problem = refused_post(
        &api,
        &clerk,
        "/api/v1/cases",
        intake_of("BDC001", "110105194912310021", &BDC001_ALL),
        422,
        "id.bad_check",
        None,
    )
    .await;
    assert_eq!(problem["errors"][0]["field"], "applicant.id", "{problem:#}");
    // A unified social credit code with a wrong check character.
    refused_post(
        &api,
        &clerk,
        "/api/v1/cases",
        intake_of("BDC001", "91350100M000100Y44", &BDC001_ALL),
        422,
        "id.bad_check",
        None,
    )
    .await;
    // The field is named for the form.
    let (_, out) = api.post(&clerk, "/api/v1/cases", intake_of("BDC001", "1101051949", &BDC001_ALL)).await;
    assert_eq!(out["code"], "id.wrong_length");
    assert_eq!(out["errors"][0]["field"], "applicant.id", "{out:#}");
    // An agent's ID number too.
    let mut body = intake_of("BDC001", APPLICANT, &BDC001_ALL);
    body["agent"] = json!({ "id": "110105199001011233", "name": "李四", "authorisation_ref": "WT-1" });
    refused_post(&api, &clerk, "/api/v1/cases", body, 422, "id.bad_check", None).await;
    // The same check answers the eligibility form, which never writes.
    refused_post(
        &api,
        &clerk,
        "/api/v1/eligibility",
        intake_of("BDC001", "110105194912310021", &BDC001_ALL),
        422,
        "id.bad_check",
        None,
    )
    .await;
}

/// rule W11: unknown and cancelled items are not accepted.
#[tokio::test]
async fn unknown_and_cancelled_items() {
    let api = Api::hall().await;
    let clerk = api.login("clerk01").await;
    let centre = api.login("centre01").await;
    refused_post(
        &api,
        &clerk,
        "/api/v1/cases",
        intake_of("NOPE01", APPLICANT, &[]),
        422,
        "catalog.item_unknown",
        Some("W11"),
    )
    .await;
    // The sample catalog's BDC008 was cancelled from 2025-07-01.
    refused_post(
        &api,
        &clerk,
        "/api/v1/cases",
        intake_of("BDC008", APPLICANT, &["M01", "M02", "M03"]),
        422,
        "catalog.item_cancelled",
        Some("W11"),
    )
    .await;
    // The hall centre cancels BDC004 from today; it is no longer accepted.
    api.intake(&clerk, intake_of("BDC004", APPLICANT, &["M01", "M02", "M03"])).await;
    let (status, out) = api
        .post(
            &centre,
            "/api/v1/catalog/adjustments",
            json!({ "adjustment": "cancel_item", "code": "BDC004", "from": "2026-03-10" }),
        )
        .await;
    assert_eq!(status, 200, "{out:#}");
    refused_post(
        &api,
        &clerk,
        "/api/v1/cases",
        intake_of("BDC004", APPLICANT, &["M01", "M02", "M03"]),
        422,
        "catalog.item_cancelled",
        Some("W11"),
    )
    .await;
    // A cancellation may not reach back before the adjustment day.
    refused_post(
        &api,
        &centre,
        "/api/v1/catalog/adjustments",
        json!({ "adjustment": "cancel_item", "code": "BDC001", "from": "2026-03-01" }),
        422,
        "catalog.invalid",
        Some("W11"),
    )
    .await;
    refused(
        &api,
        "GET",
        "/api/v1/catalog/items/NOPE01",
        Some(&clerk),
        None,
        404,
        "catalog.item_unknown",
        None,
    )
    .await;
}

/// rule T3.3: the commitment's deadline may not be later than the promised completion date.
#[tokio::test]
async fn commitment_deadline_too_late() {
    let api = Api::hall().await;
    let clerk = api.login("clerk01").await;
    let id = new_case(&api, &clerk, &BDC001_KEY).await;
    let body = |deadline: &str| {
        json!({ "presented": [], "commitment": { "materials": ["M06"], "deadline": deadline,
                "window": "不动产登记窗口", "signed_by": { "by": "applicant" } } })
    };
    let path = format!("/api/v1/cases/{id}/tolerance-accept");
    // BDC001 promises 5 working days: from 2026-03-10 the latest is 2026-03-17.
    refused_post(&api, &clerk, &path, body("2026-03-18"), 422, "tolerance.deadline_too_late", Some("T3.3"))
        .await;
    refused_post(&api, &clerk, &path, body("2026-03-09"), 422, "tolerance.deadline_past", Some("T3.3")).await;
    // rule T3.1: the commitment lists every missing tolerable material, and only those.
    let mut wrong = body("2026-03-17");
    wrong["commitment"]["materials"] = json!([]);
    refused_post(&api, &clerk, &path, wrong, 422, "tolerance.commitment_materials", Some("T3.1")).await;
    // rule T3.2: an agent signs only when the case has one.
    let mut agent = body("2026-03-17");
    agent["commitment"]["signed_by"] = json!({ "by": "agent", "id_number": "110105199001011232", "name": "李四", "authorisation_ref": "WT-1" });
    refused_post(&api, &clerk, &path, agent, 422, "tolerance.no_agent", Some("T3.2")).await;
    // The eligibility form answers the same without writing (200, not eligible).
    let before = api.keys();
    let mut form = intake_of("BDC001", APPLICANT, &BDC001_KEY);
    form["requested_deadline"] = json!("2026-03-18");
    let (status, out) = api.post(&clerk, "/api/v1/eligibility", form).await;
    assert_eq!(status, 200, "{out:#}");
    assert_eq!(out["answer"], "not_eligible");
    assert_eq!(out["reasons"][0]["code"], "tolerance.deadline_too_late");
    assert_eq!(api.keys(), before);
}

/// rule W3.6: no material the catalog does not list for the item, at intake or in any step.
#[tokio::test]
async fn unlisted_materials() {
    let api = Api::hall().await;
    let clerk = api.login("clerk01").await;
    let problem = refused(
        &api,
        "POST",
        "/api/v1/cases",
        Some(&clerk),
        json_body(&intake_of("BDC001", APPLICANT, &["M01", "M99"])),
        422,
        "catalog.material_not_listed",
        Some("W3.6"),
    )
    .await;
    assert_eq!(problem["errors"][0]["field"], "presented", "{problem:#}");
    let id = new_case(&api, &clerk, &["M01", "M02"]).await;
    refused_post(
        &api,
        &clerk,
        &format!("/api/v1/cases/{id}/correction-notice"),
        json!({ "problems": [{ "material": "M99", "description": "请补充无犯罪记录证明" }] }),
        422,
        "case.material_not_listed",
        Some("W3.6"),
    )
    .await;
    refused_post(
        &api,
        &clerk,
        &format!("/api/v1/cases/{id}/accept"),
        json!({ "presented": present(&["M99"]) }),
        422,
        "case.material_not_listed",
        Some("W3.6"),
    )
    .await;
}

/// A step the case's state does not allow is a conflict with that state (409).
#[tokio::test]
async fn steps_the_state_does_not_allow() {
    let api = Api::hall().await;
    let clerk = api.login("clerk01").await;
    let bdc = api.login("bdc01").await;
    let issue = api.login("issue01").await;
    let id = new_case(&api, &clerk, &BDC001_ALL).await;
    let decide = json!({ "outcome": { "outcome": "approve", "result": "准予登记" } });
    // rule W5.1: no decision before the department has signed for the materials.
    refused_post(
        &api,
        &bdc,
        &format!("/api/v1/cases/{id}/decision"),
        decide,
        409,
        "case.not_in_review",
        Some("W5.1"),
    )
    .await;
    // rule W4.1: no handover before acceptance.
    refused_post(
        &api,
        &clerk,
        &format!("/api/v1/cases/{id}/handover"),
        json!({ "department": "BDCDJ", "paper": true }),
        409,
        "case.not_accepted",
        Some("W4.1"),
    )
    .await;
    // rule W6.2: no notice before the result reached the issuing window.
    refused_post(
        &api,
        &issue,
        &format!("/api/v1/cases/{id}/notify"),
        json!({ "contact": "电话" }),
        409,
        "case.not_at_issuing",
        Some("W6.2"),
    )
    .await;
    // rule W3.5: accepted twice.
    api.step_ok(&clerk, &id, "accept", json!({ "presented": [] })).await;
    refused_post(
        &api,
        &clerk,
        &format!("/api/v1/cases/{id}/accept"),
        json!({ "presented": [] }),
        409,
        "case.not_awaiting_intake",
        Some("W3.5"),
    )
    .await;
    // rule W3.5: incomplete materials are not accepted normally.
    let partial = new_case(&api, &clerk, &BDC001_KEY).await;
    refused_post(
        &api,
        &clerk,
        &format!("/api/v1/cases/{partial}/accept"),
        json!({ "presented": [] }),
        422,
        "case.materials_incomplete",
        Some("W3.5"),
    )
    .await;
    // Form checks of a step body: rating out of range, empty text.
    refused_post(
        &api,
        &clerk,
        &format!("/api/v1/cases/{id}/rating"),
        json!({ "score": 9 }),
        422,
        "case.rating_range",
        Some("W10"),
    )
    .await;
    refused_post(
        &api,
        &clerk,
        &format!("/api/v1/cases/{id}/withdraw"),
        json!({ "reason": "  " }),
        422,
        "case.text_empty",
        Some("W3.5"),
    )
    .await;
    // rule W3.2: a scan must be uploaded first.
    refused_post(
        &api,
        &clerk,
        &format!("/api/v1/cases/{id}/scans"),
        json!({ "scans": [{ "material": "M01", "hash": "ab".repeat(32), "bytes": 3, "media_type": "application/pdf" }] }),
        422,
        "attachment.missing",
        Some("W3.2"),
    )
    .await;
}

/// Roles without the right are refused with 403 `permission.denied` and the rule of the division
/// of duties.
#[tokio::test]
async fn roles_without_the_right() {
    let api = Api::hall().await;
    let t = api.tokens().await;
    let id = new_case(&api, &t.clerk, &BDC001_ALL).await;
    let step = |s: &str| format!("/api/v1/cases/{id}/{s}");
    let decide = json!({ "outcome": { "outcome": "approve", "result": "准予登记" } });
    // rule W3.2: a reviewer of another department may not accept BDC001 (a real-estate item).
    refused_post(
        &api,
        &t.scj,
        &step("accept"),
        json!({ "presented": [] }),
        403,
        "permission.denied",
        Some("W3.2"),
    )
    .await;
    api.step_ok(&t.clerk, &id, "accept", json!({ "presented": [] })).await;
    api.step_ok(&t.clerk, &id, "handover", json!({ "department": "BDCDJ", "paper": true })).await;
    // rule W4.1: only the department signs for its own materials.
    refused_post(
        &api,
        &t.scj,
        &step("handover-sign"),
        json!({ "department": "BDCDJ" }),
        403,
        "permission.denied",
        Some("W4.1"),
    )
    .await;
    api.step_ok(&t.bdc, &id, "handover-sign", json!({ "department": "BDCDJ" })).await;
    // rule W5.1: a clerk, another department's reviewer, the issuing window do not decide.
    for token in [&t.clerk, &t.scj, &t.issue, &t.centre, &t.supervisor, &t.auditor] {
        refused_post(&api, token, &step("decision"), decide.clone(), 403, "permission.denied", Some("W5.1"))
            .await;
    }
    // rule W5.2: only the hall centre consents to a file leaving the hall.
    for token in [&t.clerk, &t.bdc, &t.issue, &t.supervisor, &t.auditor] {
        refused_post(
            &api,
            token,
            &step("file-removal-consent"),
            json!({ "reason": "带回局里审查" }),
            403,
            "permission.denied",
            Some("W5.2"),
        )
        .await;
    }
    // rule W11: only the hall centre adjusts the catalog.
    for token in [&t.clerk, &t.bdc, &t.supervisor, &t.auditor] {
        refused_post(
            &api,
            token,
            "/api/v1/catalog/adjustments",
            json!({ "adjustment": "cancel_item", "code": "BDC004", "from": "2026-03-10" }),
            403,
            "permission.denied",
            Some("W11"),
        )
        .await;
    }
    // rule W9: cards are the supervisor's.
    refused_post(
        &api,
        &t.clerk,
        &step("cards"),
        json!({ "duty": { "duty": "decision" }, "level": "red" }),
        403,
        "permission.denied",
        Some("W9"),
    )
    .await;
}

/// The auditor reads everything and may do nothing.
#[tokio::test]
async fn the_auditor_only_reads() {
    let api = Api::hall().await;
    let t = api.tokens().await;
    let id = new_case(&api, &t.clerk, &BDC001_ALL).await;
    let a = t.auditor.as_str();
    refused_post(
        &api,
        a,
        "/api/v1/cases",
        intake_of("BDC001", APPLICANT, &BDC001_ALL),
        403,
        "permission.denied",
        Some("W3.2"),
    )
    .await;
    refused_post(
        &api,
        a,
        "/api/v1/eligibility",
        intake_of("BDC001", APPLICANT, &BDC001_ALL),
        403,
        "permission.denied",
        None,
    )
    .await;
    let steps: [(&str, Value); 8] = [
        ("accept", json!({ "presented": [] })),
        ("not-accept", json!({ "reasons": ["x"] })),
        ("withdraw", json!({ "reason": "x" })),
        ("rating", json!({ "score": 3 })),
        ("supplements", json!({ "materials": ["M06"] })),
        ("handover", json!({ "department": "BDCDJ", "paper": true })),
        ("file-removal-consent", json!({ "reason": "x" })),
        ("provincial-number", json!({ "number": "410000-1" })),
    ];
    for (s, body) in steps {
        refused_post(&api, a, &format!("/api/v1/cases/{id}/{s}"), body, 403, "permission.denied", None).await;
    }
    refused(
        &api,
        "POST",
        "/api/v1/attachments",
        Some(a),
        Some(("application/octet-stream", b"scan".to_vec())),
        403,
        "permission.denied",
        Some("W3.2"),
    )
    .await;
    refused_post(&api, a, "/api/v1/supervision/run", json!({}), 403, "permission.denied", Some("W9")).await;
    // Reading is allowed.
    assert_eq!(api.get(a, &format!("/api/v1/cases/{id}")).await.0, 200);
    assert_eq!(api.get(a, "/api/v1/supervision/cards").await.0, 200);
}

/// A township node does not edit reference data (rule W11: the hall adjusts, townships receive).
#[tokio::test]
async fn township_does_not_adjust_the_catalog() {
    let api = Api::township().await;
    let centre = api.login("centre01").await;
    refused_post(
        &api,
        &centre,
        "/api/v1/catalog/adjustments",
        json!({ "adjustment": "cancel_item", "code": "BDC004", "from": "2026-03-10" }),
        403,
        "reference.hall_only",
        Some("W11"),
    )
    .await;
    refused(
        &api,
        "PUT",
        "/api/v1/admin/catalog",
        Some(ADMIN_TOKEN),
        Some(("application/toml", b"version = \"x\"".to_vec())),
        403,
        "reference.hall_only",
        Some("W11"),
    )
    .await;
}

/// Bodies beyond `body_bytes_max` (and uploads beyond `upload_bytes_max`) are refused with 413.
#[tokio::test]
async fn oversized_bodies() {
    let api =
        Api::new(true, ApiConfig { body_bytes_max: 1024, upload_bytes_max: 2048, ..ApiConfig::default() })
            .await;
    let clerk = api.login("clerk01").await;
    let mut body = intake_of("BDC001", APPLICANT, &BDC001_ALL);
    body["applicant"]["address"] = json!("长".repeat(1000));
    refused_post(&api, &clerk, "/api/v1/cases", body, 413, "request.too_large", None).await;
    let id = new_case(&api, &clerk, &BDC001_ALL).await;
    refused_post(
        &api,
        &clerk,
        &format!("/api/v1/cases/{id}/not-accept"),
        json!({ "reasons": ["理由".repeat(400)] }),
        413,
        "request.too_large",
        None,
    )
    .await;
    refused(
        &api,
        "POST",
        "/api/v1/attachments",
        Some(&clerk),
        Some(("application/octet-stream", vec![7u8; 4096])),
        413,
        "request.too_large",
        None,
    )
    .await;
    // Within the upload limit it is stored.
    let (status, _, _) = api
        .raw("POST", "/api/v1/attachments", Some(&clerk), Some(("application/octet-stream", vec![7u8; 2000])))
        .await;
    assert_eq!(status, 201);
}

/// Malformed requests: not JSON, not declared as JSON, unknown fields, `kind` in a step body.
#[tokio::test]
async fn malformed_requests() {
    let api = Api::hall().await;
    let clerk = api.login("clerk01").await;
    let c = Some(clerk.as_str());
    refused(
        &api,
        "POST",
        "/api/v1/cases",
        c,
        Some(("application/json", b"{\"item\": ".to_vec())),
        400,
        "request.invalid_json",
        None,
    )
    .await;
    let body = intake_of("BDC001", APPLICANT, &BDC001_ALL).to_string().into_bytes();
    refused(
        &api,
        "POST",
        "/api/v1/cases",
        c,
        Some(("text/plain", body.clone())),
        415,
        "request.content_type",
        None,
    )
    .await;
    refused(&api, "POST", "/api/v1/cases", c, None, 415, "request.content_type", None).await;
    let mut unknown = intake_of("BDC001", APPLICANT, &BDC001_ALL);
    unknown["urgent"] = json!(true);
    refused(&api, "POST", "/api/v1/cases", c, json_body(&unknown), 422, "request.invalid_fields", None).await;
    let mut missing = intake_of("BDC001", APPLICANT, &BDC001_ALL);
    missing.as_object_mut().expect("object").remove("applicant");
    refused(&api, "POST", "/api/v1/cases", c, json_body(&missing), 422, "request.invalid_fields", None).await;
    let mut channel = intake_of("BDC001", APPLICANT, &BDC001_ALL);
    channel["channel"] = json!({ "channel": "fax" });
    refused(&api, "POST", "/api/v1/cases", c, json_body(&channel), 422, "request.invalid_fields", None).await;
    // rule W3.4: a mailed application carries its handover record.
    let mut mail = intake_of("BDC001", APPLICANT, &BDC001_ALL);
    mail["channel"] = json!({ "channel": "mail", "handover_record": " " });
    refused(
        &api,
        "POST",
        "/api/v1/cases",
        c,
        json_body(&mail),
        422,
        "intake.channel_reference_missing",
        Some("W3.4"),
    )
    .await;

    let id = new_case(&api, &clerk, &BDC001_ALL).await;
    let step = format!("/api/v1/cases/{id}/accept");
    refused(
        &api,
        "POST",
        &step,
        c,
        Some(("application/json", b"[1,".to_vec())),
        400,
        "request.invalid_json",
        None,
    )
    .await;
    refused(&api, "POST", &step, c, Some(("text/plain", b"{}".to_vec())), 415, "request.content_type", None)
        .await;
    refused(&api, "POST", &step, c, json_body(&json!([])), 400, "request.not_an_object", None).await;
    refused(
        &api,
        "POST",
        &step,
        c,
        json_body(&json!({ "kind": "accepted", "presented": [] })),
        400,
        "request.kind_in_body",
        None,
    )
    .await;
    refused(&api, "POST", &step, c, json_body(&json!({})), 422, "request.invalid_fields", None).await;
    refused(
        &api,
        "POST",
        &step,
        c,
        json_body(&json!({ "presented": "all" })),
        422,
        "request.invalid_fields",
        None,
    )
    .await;
    // An unknown field in a step body is refused like anywhere else (a typo is never dropped).
    refused(
        &api,
        "POST",
        &step,
        c,
        json_body(&json!({ "presented": [], "note": "x" })),
        422,
        "request.invalid_fields",
        None,
    )
    .await;
    refused(
        &api,
        "POST",
        &format!("/api/v1/cases/{id}/withdraw"),
        c,
        json_body(&json!({ "reason": "撤回", "reasons": ["撤回"] })),
        422,
        "request.invalid_fields",
        None,
    )
    .await;
    refused(
        &api,
        "POST",
        &format!("/api/v1/cases/{id}/deliver"),
        c,
        json_body(&json!({ "delivery": { "method": "pickup", "signed_by": "王五", "signed": true } })),
        422,
        "request.invalid_fields",
        None,
    )
    .await;
    // Query strings too.
    refused(&api, "GET", "/api/v1/cases?colour=red", c, None, 400, "request.invalid_query", None).await;
    refused(&api, "GET", "/api/v1/cases?limit=many", c, None, 400, "request.invalid_query", None).await;
    refused(&api, "GET", "/api/v1/catalog?format=xml", c, None, 400, "request.invalid_query", None).await;
    // Unknown document kinds and attachments.
    refused(
        &api,
        "GET",
        &format!("/api/v1/cases/{id}/documents/receipt"),
        c,
        None,
        404,
        "document.unknown_kind",
        None,
    )
    .await;
    refused(&api, "GET", "/api/v1/attachments/not-a-hash", c, None, 404, "attachment.not_found", None).await;
    refused(
        &api,
        "GET",
        &format!("/api/v1/attachments/{}", "0".repeat(64)),
        c,
        None,
        404,
        "attachment.not_found",
        None,
    )
    .await;
    refused(
        &api,
        "POST",
        "/api/v1/attachments",
        c,
        Some(("application/octet-stream", Vec::new())),
        422,
        "attachment.empty",
        Some("W3.2"),
    )
    .await;
    // A document the case does not have yet.
    refused(
        &api,
        "GET",
        &format!("/api/v1/cases/{id}/documents/denial"),
        c,
        None,
        409,
        "document.no_denial",
        Some("T3.6"),
    )
    .await;
}

/// Missing, malformed, unknown and expired session tokens; wrong admin token; bad logins.
#[tokio::test]
async fn authentication() {
    let api = Api::hall().await;
    let body = intake_of("BDC001", APPLICANT, &BDC001_ALL);
    refused(&api, "POST", "/api/v1/cases", None, json_body(&body), 401, "auth.missing", None).await;
    refused(&api, "POST", "/api/v1/cases", Some("not-a-token"), json_body(&body), 401, "auth.invalid", None)
        .await;
    let unknown = "ab".repeat(32);
    refused(&api, "POST", "/api/v1/cases", Some(&unknown), json_body(&body), 401, "auth.invalid", None).await;
    // The admin token is not a staff session.
    refused(&api, "POST", "/api/v1/cases", Some(ADMIN_TOKEN), json_body(&body), 401, "auth.invalid", None)
        .await;
    let clerk = api.login("clerk01").await;
    // Sessions last 8 hours.
    api.clock.advance_ms(9 * 60 * 60 * 1000);
    refused(&api, "POST", "/api/v1/cases", Some(&clerk), json_body(&body), 401, "auth.expired", None).await;
    refused(&api, "GET", "/api/v1/auth/me", Some(&clerk), None, 401, "auth.invalid", None).await;

    let fresh = api.login("clerk01").await;
    for (method, path) in [("GET", "/api/v1/admin/users"), ("POST", "/api/v1/admin/users/clerk01/disable")] {
        for token in [None, Some("wrong-admin-token"), Some(fresh.as_str())] {
            refused(&api, method, path, token, None, 401, "auth.admin_required", None).await;
        }
    }
    refused(
        &api,
        "PUT",
        "/api/v1/admin/catalog",
        Some(&fresh),
        Some(("application/toml", b"version = \"x\"".to_vec())),
        401,
        "auth.admin_required",
        None,
    )
    .await;
    let login = |staff: &str, password: &str| json!({ "staff": staff, "password": password });
    refused(
        &api,
        "POST",
        "/api/v1/auth/login",
        None,
        json_body(&login("clerk01", "wrong-password-1")),
        401,
        "auth.bad_credentials",
        None,
    )
    .await;
    refused(
        &api,
        "POST",
        "/api/v1/auth/login",
        None,
        json_body(&login("nobody", PASSWORD)),
        401,
        "auth.bad_credentials",
        None,
    )
    .await;
    // Admin: bad new accounts.
    let user = |role: &str, password: &str| json!({ "staff": "new01", "name": "新人", "role": role, "password": password });
    refused(
        &api,
        "POST",
        "/api/v1/admin/users",
        Some(ADMIN_TOKEN),
        json_body(&user("mayor", "long-pass-123")),
        422,
        "account.invalid_role",
        None,
    )
    .await;
    refused(
        &api,
        "POST",
        "/api/v1/admin/users",
        Some(ADMIN_TOKEN),
        json_body(&user("window_clerk", "short")),
        422,
        "account.weak_password",
        None,
    )
    .await;
    refused(
        &api,
        "POST",
        "/api/v1/admin/users/ghost/disable",
        Some(ADMIN_TOKEN),
        None,
        404,
        "account.not_found",
        None,
    )
    .await;
}

/// Repeated failed logins lock the account for a while (423), whatever the password.
#[tokio::test]
async fn login_lockout() {
    let api = Api::hall().await;
    let wrong = json!({ "staff": "clerk01", "password": "wrong-password-1" });
    for _ in 0..4 {
        let (status, _) = api.call("POST", "/api/v1/auth/login", None, Some(wrong.clone())).await;
        assert_eq!(status, 401);
    }
    refused(&api, "POST", "/api/v1/auth/login", None, json_body(&wrong), 423, "auth.locked", None).await;
    let right = json!({ "staff": "clerk01", "password": PASSWORD });
    refused(&api, "POST", "/api/v1/auth/login", None, json_body(&right), 423, "auth.locked", None).await;
    api.clock.advance_ms(DAY_MS);
    assert!(!api.login("clerk01").await.is_empty());
}

/// Beyond the burst a client is refused with 429 until the bucket refills.
#[tokio::test]
async fn rate_limit() {
    let api = Api::new(true, ApiConfig { requests_per_second: 1, burst: 2, ..ApiConfig::default() }).await;
    // A session made without HTTP, so that the burst is not spent on the login.
    let token = api.accounts.login("clerk01", PASSWORD, api.clock.now_ms()).expect("login").token;
    assert_eq!(api.call("GET", "/healthz", None, None).await.0, 200);
    assert_eq!(api.call("GET", "/healthz", None, None).await.0, 200);
    refused(
        &api,
        "POST",
        "/api/v1/cases",
        Some(&token),
        json_body(&intake_of("BDC001", APPLICANT, &BDC001_ALL)),
        429,
        "request.rate_limited",
        None,
    )
    .await;
}

/// Unknown routes, methods, cases.
#[tokio::test]
async fn unknown_routes_and_cases() {
    let api = Api::hall().await;
    let clerk = api.login("clerk01").await;
    let c = Some(clerk.as_str());
    refused(&api, "GET", "/api/v1/nothing-here", c, None, 404, "route.not_found", None).await;
    refused(&api, "POST", "/api/v2/cases", c, json_body(&json!({})), 404, "route.not_found", None).await;
    refused(
        &api,
        "POST",
        "/api/v1/cases/41018400026031000001/approve",
        c,
        json_body(&json!({})),
        404,
        "route.not_found",
        None,
    )
    .await;
    refused(&api, "DELETE", "/api/v1/cases", c, None, 405, "route.method_not_allowed", None).await;
    refused(&api, "GET", "/api/v1/cases/x/accept", c, None, 405, "route.method_not_allowed", None).await;
    let missing = "410184000260310099999";
    refused(&api, "GET", &format!("/api/v1/cases/{missing}"), c, None, 404, "case.not_found", None).await;
    refused(&api, "GET", "/api/v1/cases/no-such-case/timeline", c, None, 404, "case.not_found", None).await;
    refused(&api, "GET", "/api/v1/cases/ref:catalog/automerge", c, None, 404, "case.not_found", None).await;
    refused(
        &api,
        "GET",
        &format!("/api/v1/cases/{missing}/documents/commitment"),
        c,
        None,
        404,
        "case.not_found",
        None,
    )
    .await;
    refused(
        &api,
        "POST",
        &format!("/api/v1/cases/{missing}/accept"),
        c,
        json_body(&json!({ "presented": [] })),
        404,
        "case.not_found",
        None,
    )
    .await;
    // Reference documents are not cases.
    refused(
        &api,
        "POST",
        "/api/v1/cases/ref:catalog/accept",
        c,
        json_body(&json!({ "presented": [] })),
        404,
        "case.not_found",
        None,
    )
    .await;
}
