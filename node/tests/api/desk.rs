//! The front desk (queue numbers, appointments, consultations), the reports (JSON and .xlsx),
//! the conflict queue and the provincial number, through HTTP.

use std::io::Cursor;

use axum::body::Body;
use axum::http::{Request, header};
use calamine::{Data, Reader, Xlsx, open_workbook_from_rs};
use http_body_util::BodyExt;
use serde_json::{Value, json};
use tower::ServiceExt;
use yikou_node::reports;

use crate::harness::{APPLICANT, APPLICANT_2, APPLICANT_3, Api, assert_problem, intake_of};

const BDC001_ALL: [&str; 6] = ["M01", "M02", "M03", "M04", "M05", "M06"];
const BDC001_KEY: [&str; 5] = ["M01", "M02", "M03", "M04", "M05"];
const SC001_ALL: [&str; 5] = ["M01", "M02", "M03", "M04", "M05"];
/// The harness's start day (a Tuesday) and the next working day.
const TODAY: &str = "2026-03-10";
const TOMORROW: &str = "2026-03-11";
/// The second working day after the start day (W2.3).
const TWO_WORKDAYS_LATER: &str = "2026-03-12";
/// One minute in milliseconds, for `api.clock.advance_ms`.
const MINUTE_MS: i64 = 60 * 1000;

fn ticket(kind: &str) -> Value {
    json!({ "kind": kind })
}

fn booking(business: &str, date: &str, slot: &str, applicant: &str) -> Value {
    json!({ "business": business, "date": date, "slot": slot, "applicant_id": applicant,
            "agent_id": null, "organisation": false })
}

fn consultation(department: &str, item: Option<&str>, question: &str, category: &str, cause: &str) -> Value {
    json!({ "department": department, "item": item, "question": question, "category": category,
            "cause": cause })
}

/// A GET answered with its headers (the harness gives the body and content type only).
async fn get_with_headers(api: &Api, token: &str, path: &str) -> (u16, axum::http::HeaderMap, Vec<u8>) {
    let req = Request::builder()
        .method("GET")
        .uri(path)
        .header(header::AUTHORIZATION, format!("Bearer {token}"))
        .body(Body::empty())
        .expect("request builds");
    let response = api.router.clone().oneshot(req).await.expect("router answers");
    let status = response.status().as_u16();
    let headers = response.headers().clone();
    let bytes = response.into_body().collect().await.expect("body").to_bytes().to_vec();
    (status, headers, bytes)
}

/// rule W1.1: intake and consultation numbers each count up from 1, per day; rule W2.1: a
/// consultation number with a department calls it (rule W2.4: remotely when it is not in the
/// hall); only the window hands out numbers.
#[tokio::test]
async fn tickets_number_consecutively_and_call_the_department() {
    let api = Api::hall().await;
    let t = api.tokens().await;
    for n in 1..=3 {
        let (status, out) = api.post(&t.clerk, "/api/v1/tickets", ticket("Intake")).await;
        assert_eq!(status, 201, "{out:#}");
        assert_eq!(out["display_number"], format!("A{n:04}"));
        assert_eq!(out["id"], format!("hall-20260310-A{n:04}"));
        assert!(out["call"].is_null(), "an intake number calls nobody: {out:#}");
    }
    // The consultation queue has its own numbers, and calls the department at once.
    let (status, out) =
        api.post(&t.clerk, "/api/v1/tickets", json!({ "kind": "Consultation", "department": "BDCDJ" })).await;
    assert_eq!(status, 201, "{out:#}");
    assert_eq!(out["display_number"], "C0001");
    assert_eq!(out["call"]["department"], "BDCDJ");
    assert_eq!(out["call"]["remote"], false);
    let message = out["call_message"].as_str().expect("call message");
    assert!(message.contains("C0001") && message.contains("辅导席"), "{message}");
    let (status, out) = api
        .post(
            &t.clerk,
            "/api/v1/tickets",
            json!({ "kind": "Consultation", "department": "HJFJ", "remote": true }),
        )
        .await;
    assert_eq!(status, 201, "{out:#}");
    assert_eq!(out["display_number"], "C0002");
    assert_eq!(out["call"]["remote"], true);
    assert!(out["call_message"].as_str().is_some_and(|m| m.contains("远程")), "{out:#}");
    // A consultation number without a department is a plain number.
    let (status, out) = api.post(&t.clerk, "/api/v1/tickets", ticket("Consultation")).await;
    assert_eq!(status, 201, "{out:#}");
    assert_eq!(out["display_number"], "C0003");
    assert!(out["call"].is_null());
    // The intake queue went on where it was.
    let (_, out) = api.post(&t.clerk, "/api/v1/tickets", ticket("Intake")).await;
    assert_eq!(out["display_number"], "A0004");

    let before = api.keys();
    let got = api.post(&t.auditor, "/api/v1/tickets", ticket("Intake")).await;
    assert_problem((got.0, &got.1), 403, "permission.denied", Some("W1.1"));
    let got = api.post(&t.supervisor, "/api/v1/tickets", ticket("Intake")).await;
    assert_problem((got.0, &got.1), 403, "permission.denied", Some("W1.1"));
    // An intake number calls no department; an unknown department is refused.
    let got = api.post(&t.clerk, "/api/v1/tickets", json!({ "kind": "Intake", "department": "BDCDJ" })).await;
    assert_problem((got.0, &got.1), 422, "consultation.not_a_consultation_ticket", None);
    let got =
        api.post(&t.clerk, "/api/v1/tickets", json!({ "kind": "Consultation", "department": "NOPE" })).await;
    assert_problem((got.0, &got.1), 422, "consultation.department_unknown", Some("W2.1"));
    assert_eq!(api.keys(), before, "a refused number writes nothing, not even the dispenser");
    let (_, out) = api.post(&t.clerk, "/api/v1/tickets", ticket("Intake")).await;
    assert_eq!(out["display_number"], "A0005", "refusals used no number");
}

/// rule W1.2 rule W1.3: a booking within the node's share answers 201 with the quota numbers;
/// the booking beyond it answers 409 with the same numbers and writes nothing; an item of an
/// area without appointments is refused; appointments are listed by day (and business).
#[tokio::test]
async fn appointments_within_the_quota_then_refused_beyond_the_share() {
    let api = Api::hall().await;
    let t = api.tokens().await;
    // RS004: average daily volume 12, so a cap of floor(10 % × 12) = 1; the hall holds it all
    // (no quota plan: O4).
    let (status, out) =
        api.post(&t.clerk, "/api/v1/appointments", booking("RS004", TOMORROW, "09:30:00", APPLICANT)).await;
    assert_eq!(status, 201, "{out:#}");
    assert_eq!(out["booked"], true);
    assert_eq!(
        out["quota"],
        json!({ "business": "RS004", "date": TOMORROW, "cap": 1, "node_share": 1, "used": 1, "left": 0 })
    );
    let first = out["appointment"]["booking"]["id"].as_str().expect("booking id").to_string();
    assert_eq!(first, "hall-20260311-RS004-B0001");
    assert_eq!(out["appointment"]["status"], "Booked");

    let before = api.keys();
    let (status, out) =
        api.post(&t.clerk, "/api/v1/appointments", booking("RS004", TOMORROW, "10:00:00", APPLICANT_2)).await;
    assert_eq!(status, 409, "{out:#}");
    assert_eq!(out["booked"], false);
    assert!(out["appointment"].is_null());
    assert_eq!(
        out["quota"],
        json!({ "business": "RS004", "date": TOMORROW, "cap": 1, "node_share": 1, "used": 1, "left": 0 })
    );
    assert_eq!(out["refusal"]["code"], "queue.quota_exhausted");
    assert_eq!(out["refusal"]["rule"], "W1.3");
    assert!(out["refusal"]["message"].as_str().is_some_and(|m| m.contains("上限 1")), "{out:#}");
    assert_eq!(api.keys(), before, "the refused booking wrote nothing");

    // BDC001: volume 40, cap 4; two bookings leave two.
    for (n, applicant) in [(1, APPLICANT_2), (2, APPLICANT_3)] {
        let (status, out) = api
            .post(&t.clerk, "/api/v1/appointments", booking("BDC001", TOMORROW, "14:00:00", applicant))
            .await;
        assert_eq!(status, 201, "{out:#}");
        assert_eq!(out["quota"]["cap"], 4);
        assert_eq!(out["quota"]["used"], n);
        assert_eq!(out["quota"]["left"], 4 - n);
    }

    // W1.2: enterprise registration takes no appointments; a real-estate item without
    // appointment data neither.
    for item in ["SC001", "BDC005"] {
        let got =
            api.post(&t.clerk, "/api/v1/appointments", booking(item, TOMORROW, "09:00:00", APPLICANT)).await;
        assert_problem((got.0, &got.1), 422, "queue.not_eligible", Some("W1.2"));
    }
    // Other refusals: an invalid ID number, a slot already past, only the window books.
    let got =
        api.post(&t.clerk, "/api/v1/appointments", booking("BDC001", TOMORROW, "09:00:00", "123")).await;
    assert_eq!(got.0, 422, "{:#}", got.1);
    let got =
        api.post(&t.clerk, "/api/v1/appointments", booking("BDC001", TODAY, "08:00:00", APPLICANT)).await;
    assert_problem((got.0, &got.1), 422, "queue.slot_in_past", None);
    let got = api
        .post(&t.auditor, "/api/v1/appointments", booking("BDC001", TOMORROW, "09:00:00", APPLICANT))
        .await;
    assert_problem((got.0, &got.1), 403, "permission.denied", None);
    assert_eq!(api.keys().len(), before.len() + 2 * 2 + 1, "two bookings (+ ledger once) since");

    // The day's list: every business, or one.
    let (status, list) = api.get(&t.clerk, &format!("/api/v1/appointments?date={TOMORROW}")).await;
    assert_eq!(status, 200, "{list:#}");
    let ids: Vec<&str> =
        list.as_array().expect("list").iter().filter_map(|a| a["booking"]["id"].as_str()).collect();
    assert_eq!(
        ids,
        ["hall-20260311-BDC001-B0001", "hall-20260311-BDC001-B0002", "hall-20260311-RS004-B0001"]
    );
    let (_, list) = api.get(&t.clerk, &format!("/api/v1/appointments?date={TOMORROW}&business=RS004")).await;
    assert_eq!(list.as_array().map(Vec::len), Some(1), "{list:#}");
    assert_eq!(list[0]["applicant_id"], APPLICANT);
    let (_, list) = api.get(&t.clerk, &format!("/api/v1/appointments?date={TODAY}")).await;
    assert_eq!(list, json!([]));
    let (status, _) = api.get(&t.auditor, &format!("/api/v1/appointments?date={TOMORROW}")).await;
    assert_eq!(status, 403);
}

/// rule W1.4: an appointment taken up, one cancelled by the applicant, one not taken up within
/// an hour after its time and cancelled by the expiry pass (not before the hour is over).
#[tokio::test]
async fn appointments_taken_up_cancelled_and_expired() {
    let api = Api::hall().await;
    let t = api.tokens().await;
    let mut ids = Vec::new();
    for (slot, applicant) in [("10:00:00", APPLICANT), ("10:30:00", APPLICANT_2), ("11:00:00", APPLICANT_3)] {
        let (status, out) =
            api.post(&t.clerk, "/api/v1/appointments", booking("BDC001", TODAY, slot, applicant)).await;
        assert_eq!(status, 201, "{out:#}");
        ids.push(out["appointment"]["booking"]["id"].as_str().expect("id").to_string());
    }
    let (taken, cancelled, lapsing) = (&ids[0], &ids[1], &ids[2]);

    let (status, out) = api.post(&t.clerk, &format!("/api/v1/appointments/{taken}/take-up"), json!({})).await;
    assert_eq!(status, 200, "{out:#}");
    assert!(out["status"]["Arrived"]["at"].is_string(), "{out:#}");
    let got = api.post(&t.clerk, &format!("/api/v1/appointments/{taken}/take-up"), json!({})).await;
    assert_problem((got.0, &got.1), 409, "queue.appointment_not_booked", None);

    let (status, out) = api
        .post(&t.clerk, &format!("/api/v1/appointments/{cancelled}/cancel"), json!({ "reason": "Applicant" }))
        .await;
    assert_eq!(status, 200, "{out:#}");
    assert_eq!(out["status"], json!({ "Cancelled": { "reason": "Applicant" } }));
    // A no-show is the node's own act, never a clerk's; a clerk cannot cancel as a supervisor.
    let got = api
        .post(&t.clerk, &format!("/api/v1/appointments/{lapsing}/cancel"), json!({ "reason": "NoShow" }))
        .await;
    assert_problem((got.0, &got.1), 422, "appointment.no_show_is_automatic", Some("W1.4"));
    let got = api
        .post(&t.clerk, &format!("/api/v1/appointments/{lapsing}/cancel"), json!({ "reason": "Supervisor" }))
        .await;
    assert_problem((got.0, &got.1), 403, "permission.denied", Some("O4"));
    let got = api.post(&t.clerk, "/api/v1/appointments/hall-20260310-BDC001-B0099/take-up", json!({})).await;
    assert_problem((got.0, &got.1), 404, "appointment.not_found", None);

    // 11:59: the 11:00 appointment is still within its hour.
    api.clock.advance_ms(179 * MINUTE_MS);
    assert_eq!(api.service.expire_appointments(api.service.now()).expect("expiry pass"), 0);
    // 12:01: past the hour; the pass cancels it as a no-show, once.
    api.clock.advance_ms(2 * MINUTE_MS);
    assert_eq!(api.service.expire_appointments(api.service.now()).expect("expiry pass"), 1);
    assert_eq!(api.service.expire_appointments(api.service.now()).expect("expiry pass"), 0);
    let t = api.tokens().await;
    let (_, list) = api.get(&t.clerk, &format!("/api/v1/appointments?date={TODAY}")).await;
    let statuses: Vec<Value> = list.as_array().expect("list").iter().map(|a| a["status"].clone()).collect();
    assert!(statuses[0]["Arrived"].is_object(), "{statuses:?}");
    assert_eq!(statuses[1], json!({ "Cancelled": { "reason": "Applicant" } }));
    assert_eq!(statuses[2], json!({ "Cancelled": { "reason": "NoShow" } }));
    let got = api.post(&t.clerk, &format!("/api/v1/appointments/{lapsing}/take-up"), json!({})).await;
    assert_problem((got.0, &got.1), 409, "queue.appointment_not_booked", None);
}

/// rule W1.4: an applicant arriving after the hour is refused, the refusal writes nothing, and the
/// scheduler's expiry pass records the no-show.
#[tokio::test]
async fn late_arrival_is_refused_and_the_pass_cancels_the_appointment() {
    let api = Api::hall().await;
    let t = api.tokens().await;
    let (_, out) =
        api.post(&t.clerk, "/api/v1/appointments", booking("GJJ002", TODAY, "09:30:00", APPLICANT)).await;
    let id = out["appointment"]["booking"]["id"].as_str().expect("id").to_string();
    api.clock.advance_ms(92 * MINUTE_MS);
    let t = api.tokens().await;
    let before = api.keys();
    let got = api.post(&t.clerk, &format!("/api/v1/appointments/{id}/take-up"), json!({})).await;
    assert_problem((got.0, &got.1), 409, "queue.appointment_expired", Some("W1.4"));
    assert_eq!(api.keys(), before);
    assert_eq!(api.service.expire_appointments(api.service.now()).expect("expiry pass"), 1);
    let (_, list) = api.get(&t.clerk, &format!("/api/v1/appointments?date={TODAY}")).await;
    assert_eq!(list[0]["status"], json!({ "Cancelled": { "reason": "NoShow" } }));
}

/// rule W2.5: the ledger registers consultations; rule W2.3: a hard question is deferred, due on
/// the second working day, and answered by the department's counsellor, not by the window;
/// rule W2.4: a remote consultation names its channel; the analysis counts it all.
#[tokio::test]
async fn consultations_ledger_deferral_answer_and_analysis() {
    let api = Api::hall().await;
    let t = api.tokens().await;
    let (_, number) =
        api.post(&t.clerk, "/api/v1/tickets", json!({ "kind": "Consultation", "department": "BDCDJ" })).await;
    let mut body =
        consultation("BDCDJ", Some("BDC001"), "首次登记需要哪些材料", "Materials", "InformationNotPublic");
    body["ticket"] = number["id"].clone();
    let (status, first) = api.post(&t.clerk, "/api/v1/consultations", body).await;
    assert_eq!(status, 201, "{first:#}");
    assert_eq!(first["id"], "hall-20260310-0001");
    assert_eq!(first["ticket"], "hall-20260310-C0001");
    assert_eq!(first["counsellor"], "clerk01");
    assert_eq!(first["mode"], "OnSite");
    assert_eq!(first["answer"], json!({ "OnTheSpot": { "one_time_notice": null } }));

    let (status, hard) = api
        .post(
            &t.bdc,
            "/api/v1/consultations",
            consultation("BDCDJ", Some("BDC001"), "历史遗留房屋能否办理首次登记", "HardQuestion", "Legacy"),
        )
        .await;
    assert_eq!(status, 201, "{hard:#}");
    let hard_id = hard["id"].as_str().expect("id").to_string();
    assert_eq!(hard_id, "hall-20260310-0002");
    let (status, deferred) =
        api.post(&t.clerk, &format!("/api/v1/consultations/{hard_id}/defer"), json!({})).await;
    assert_eq!(status, 200, "{deferred:#}");
    assert_eq!(deferred["answer"]["Deferred"]["due"]["at"], TWO_WORKDAYS_LATER);
    // Deferred once is enough.
    let got = api.post(&t.clerk, &format!("/api/v1/consultations/{hard_id}/defer"), json!({})).await;
    assert_problem((got.0, &got.1), 409, "consultation.cannot_defer", None);

    // W2.1/W2.3: the window registers, the department answers; another department neither.
    let before = api.keys();
    let answer = json!({ "text": "经研究,可按历史遗留问题处理办法办理,请携带相关证明" });
    let got = api.post(&t.clerk, &format!("/api/v1/consultations/{hard_id}/answer"), answer.clone()).await;
    assert_problem((got.0, &got.1), 403, "consultation.department_answers", Some("W2.3"));
    let got = api.post(&t.scj, &format!("/api/v1/consultations/{hard_id}/answer"), answer.clone()).await;
    assert_problem((got.0, &got.1), 403, "consultation.department_answers", Some("W2.3"));
    let got = api.post(&t.auditor, &format!("/api/v1/consultations/{hard_id}/answer"), answer.clone()).await;
    assert_problem((got.0, &got.1), 403, "permission.denied", Some("W2.1"));
    assert_eq!(api.keys(), before);
    let (status, answered) =
        api.post(&t.bdc, &format!("/api/v1/consultations/{hard_id}/answer"), answer.clone()).await;
    assert_eq!(status, 200, "{answered:#}");
    assert_eq!(answered["answer"]["Answered"]["text"], answer["text"]);
    assert_eq!(answered["answer"]["Answered"]["due"]["at"], TWO_WORKDAYS_LATER);
    let got = api.post(&t.bdc, &format!("/api/v1/consultations/{hard_id}/answer"), answer).await;
    assert_problem((got.0, &got.1), 409, "consultation.not_deferred", None);

    // W2.4: a department not in the hall consults by phone.
    let mut remote = consultation("ZJJ", Some("ZJ001"), "商品房预售资金监管流程", "Process", "None");
    remote["remote"] = json!("Phone");
    let (status, out) = api.post(&t.zjj, "/api/v1/consultations", remote).await;
    assert_eq!(status, 201, "{out:#}");
    assert_eq!(out["mode"], json!({ "Remote": "Phone" }));

    // Bad input writes nothing (and uses no number).
    let before = api.keys();
    let got = api
        .post(&t.clerk, "/api/v1/consultations", consultation("BDCDJ", None, "   ", "Process", "None"))
        .await;
    assert_problem((got.0, &got.1), 422, "consultation.question_missing", None);
    let got = api
        .post(&t.clerk, "/api/v1/consultations", consultation("NOPE", None, "问题", "Process", "None"))
        .await;
    assert_problem((got.0, &got.1), 422, "consultation.department_unknown", Some("W2.1"));
    let got = api
        .post(
            &t.clerk,
            "/api/v1/consultations",
            consultation("BDCDJ", Some("XX999"), "问题", "Process", "None"),
        )
        .await;
    assert_problem((got.0, &got.1), 422, "consultation.item_unknown", Some("W2.5"));
    let got = api
        .post(&t.scj, "/api/v1/consultations", consultation("BDCDJ", None, "问题", "Process", "None"))
        .await;
    assert_problem((got.0, &got.1), 403, "consultation.other_department", Some("W2.1"));
    let (status, _) = api
        .post(&t.clerk, "/api/v1/consultations", json!({ "department": "BDCDJ", "question": "问题" }))
        .await;
    assert_eq!(status, 422, "a category is required");
    assert_eq!(api.keys(), before);

    // The ledger by period.
    let (status, list) = api.get(&t.clerk, &format!("/api/v1/consultations?from={TODAY}&to={TODAY}")).await;
    assert_eq!(status, 200, "{list:#}");
    let ids: Vec<&str> = list.as_array().expect("list").iter().filter_map(|e| e["id"].as_str()).collect();
    assert_eq!(ids, ["hall-20260310-0001", "hall-20260310-0002", "hall-20260310-0003"]);
    let (_, list) =
        api.get(&t.auditor, &format!("/api/v1/consultations?from={TOMORROW}&to={TOMORROW}")).await;
    assert_eq!(list, json!([]));

    // W2.5: the analysis.
    let (status, a) =
        api.get(&t.supervisor, &format!("/api/v1/consultations/analysis?from={TODAY}&to={TODAY}")).await;
    assert_eq!(status, 200, "{a:#}");
    assert_eq!(a["total"], 3);
    assert_eq!(a["by_category"], json!({ "Process": 1, "Materials": 1, "HardQuestion": 1 }));
    assert_eq!(a["by_cause"], json!({ "InformationNotPublic": 1, "Legacy": 1, "None": 1 }));
    assert_eq!(a["on_site"], 2);
    assert_eq!(a["remote"], json!({ "Phone": 1 }));
    assert_eq!(a["hard_questions"], 1);
    assert_eq!(a["answered_late"], 0);
    assert_eq!(a["open_overdue"], 0);
    assert_eq!(a["top_items"], json!([{ "item": "BDC001", "count": 2 }, { "item": "ZJ001", "count": 1 }]));
    let got = api.get(&t.clerk, &format!("/api/v1/consultations/analysis?from={TODAY}&to={TODAY}")).await;
    assert_problem((got.0, &got.1), 403, "permission.denied", Some("W10"));
}

/// rule W2.3: a deferred question left unanswered past its due day counts as overdue; answered
/// later, as answered late.
#[tokio::test]
async fn overdue_hard_question_is_counted() {
    let api = Api::hall().await;
    let t = api.tokens().await;
    let (_, e) = api
        .post(
            &t.bdc,
            "/api/v1/consultations",
            consultation("BDCDJ", None, "疑难问题", "HardQuestion", "Legacy"),
        )
        .await;
    let id = e["id"].as_str().expect("id").to_string();
    api.post(&t.bdc, &format!("/api/v1/consultations/{id}/defer"), json!({})).await;
    let path = format!("/api/v1/consultations/analysis?from={TODAY}&to=2026-03-13");
    let (_, a) = api.get(&t.supervisor, &path).await;
    assert_eq!((a["open_overdue"].clone(), a["answered_late"].clone()), (json!(1), json!(0)), "{a:#}");
    // Friday 13 March, one day after the due day.
    api.clock.advance_ms(3 * crate::harness::DAY_MS);
    let t = api.tokens().await;
    let (status, _) = api
        .post(&t.bdc, &format!("/api/v1/consultations/{id}/answer"), json!({ "text": "迟到的答复" }))
        .await;
    assert_eq!(status, 200);
    let (_, a) = api.get(&t.supervisor, &path).await;
    assert_eq!((a["open_overdue"].clone(), a["answered_late"].clone()), (json!(0), json!(1)), "{a:#}");
}

/// Cases for the report: at BDCDJ one decided on time (rated 5), one accepted with tolerance,
/// one only received; at SCJGJ one accepted. Plus one consultation at each department.
async fn report_fixture(api: &Api) {
    let t = api.tokens().await;
    let decided = api.intake(&t.clerk, intake_of("BDC001", APPLICANT, &BDC001_ALL)).await;
    api.step_ok(&t.clerk, &decided, "accept", json!({ "presented": [] })).await;
    api.step_ok(&t.clerk, &decided, "handover", json!({ "department": "BDCDJ", "paper": true })).await;
    api.step_ok(&t.bdc, &decided, "handover-sign", json!({ "department": "BDCDJ" })).await;
    api.step_ok(
        &t.bdc,
        &decided,
        "decision",
        json!({ "outcome": { "outcome": "approve", "result": "准予登记" } }),
    )
    .await;
    api.step_ok(&t.clerk, &decided, "rating", json!({ "score": 5 })).await;

    let (status, out) =
        api.post(&t.clerk, "/api/v1/cases", intake_of("BDC001", APPLICANT_2, &BDC001_KEY)).await;
    assert_eq!(status, 201, "{out:#}");
    let tolerated = out["case"]["id"].as_str().expect("id").to_string();
    let deadline = out["eligibility"]["latest_deadline"]["at"].clone();
    api.step_ok(
        &t.clerk,
        &tolerated,
        "tolerance-accept",
        json!({ "presented": [], "commitment": { "materials": ["M06"], "deadline": deadline,
                "window": "县政务服务中心不动产登记窗口", "signed_by": { "by": "applicant" } } }),
    )
    .await;

    api.intake(&t.clerk, intake_of("BDC001", APPLICANT_3, &BDC001_ALL)).await;

    let company = api.intake(&t.clerk, intake_of("SC001", APPLICANT_3, &SC001_ALL)).await;
    api.step_ok(&t.clerk, &company, "accept", json!({ "presented": [] })).await;

    for (token, department, item) in [(&t.clerk, "BDCDJ", "BDC001"), (&t.scj, "SCJGJ", "SC001")] {
        let (status, out) = api
            .post(
                token,
                "/api/v1/consultations",
                consultation(department, Some(item), "流程", "Process", "None"),
            )
            .await;
        assert_eq!(status, 201, "{out:#}");
    }
}

fn rate(numerator: u64, denominator: u64, per_mille: Option<u32>) -> Value {
    json!({ "numerator": numerator, "denominator": denominator, "per_mille": per_mille })
}

/// rule W10 rule W2.5 rule T5: the indicators of the period's cases per department, the totals,
/// and the consultation analysis; a reviewer sees its own department only; the window none.
#[tokio::test]
async fn report_json_has_the_expected_indicators() {
    let api = Api::hall().await;
    report_fixture(&api).await;
    let t = api.tokens().await;
    let (status, r) = api.get(&t.supervisor, &format!("/api/v1/reports?from={TODAY}&to={TODAY}")).await;
    assert_eq!(status, 200, "{r:#}");
    assert_eq!(r["period"], json!({ "from": TODAY, "to": TODAY }));
    assert!(r["department"].is_null());
    let rows = r["indicators"].as_array().expect("rows");
    let departments: Vec<&str> = rows.iter().filter_map(|d| d["department"].as_str()).collect();
    assert_eq!(departments, ["BDCDJ", "SCJGJ"]);
    let bdc = &rows[0];
    assert_eq!(bdc["cases"], 3);
    // Two accepted on the first round (the third awaits an answer and is not counted).
    assert_eq!(bdc["standardisation"], rate(2, 2, Some(1000)));
    // Hall applications on paper.
    assert_eq!(bdc["paperless"], rate(0, 2, Some(0)));
    assert_eq!(bdc["comprehensive"], rate(2, 2, Some(1000)));
    assert_eq!(bdc["online"], rate(0, 3, Some(0)));
    assert_eq!(bdc["joint"], rate(0, 3, Some(0)));
    assert_eq!(bdc["on_time"], rate(1, 1, Some(1000)));
    assert_eq!(bdc["on_time_unassessed"], 0);
    // T5: the tolerance case counts in every rate above and on its own here.
    assert_eq!(bdc["tolerance_cases"], 1);
    assert_eq!(bdc["ratings"], json!({ "count": 1, "sum": 5, "bad": 0, "mean_per_mille": 5000 }));
    let scj = &rows[1];
    assert_eq!(scj["cases"], 1);
    assert_eq!(scj["comprehensive"], rate(1, 1, Some(1000)));
    assert_eq!(scj["on_time"], rate(0, 0, None), "nothing decided: no rate, not 0 %");
    assert_eq!(r["total"]["cases"], 4);
    assert_eq!(r["total"]["standardisation"], rate(3, 3, Some(1000)));
    assert_eq!(r["total"]["tolerance_cases"], 1);
    assert_eq!(r["consultations"]["total"], 2);
    assert_eq!(r["department_names"]["BDCDJ"], "县不动产登记中心");
    assert_eq!(r["item_names"]["SC001"], "有限责任公司设立登记");

    // The hall centre may narrow to one department.
    let (status, r) =
        api.get(&t.centre, &format!("/api/v1/reports?from={TODAY}&to={TODAY}&department=SCJGJ")).await;
    assert_eq!(status, 200, "{r:#}");
    assert_eq!(r["department"], "SCJGJ");
    assert_eq!(r["indicators"].as_array().map(Vec::len), Some(1));
    assert_eq!(r["total"]["cases"], 1);
    assert_eq!(r["consultations"]["total"], 1);

    // A reviewer gets its own department, asked or not.
    for path in [
        format!("/api/v1/reports?from={TODAY}&to={TODAY}"),
        format!("/api/v1/reports?from={TODAY}&to={TODAY}&department=BDCDJ"),
    ] {
        let (status, r) = api.get(&t.bdc, &path).await;
        assert_eq!(status, 200, "{r:#}");
        assert_eq!(r["department"], "BDCDJ");
        let departments: Vec<&str> = r["indicators"]
            .as_array()
            .expect("rows")
            .iter()
            .filter_map(|d| d["department"].as_str())
            .collect();
        assert_eq!(departments, ["BDCDJ"]);
        assert_eq!(r["total"]["cases"], 3);
        assert_eq!(r["consultations"]["total"], 1);
    }
    let got = api.get(&t.bdc, &format!("/api/v1/reports?from={TODAY}&to={TODAY}&department=SCJGJ")).await;
    assert_problem((got.0, &got.1), 403, "permission.denied", Some("W10"));
    let got = api.get(&t.clerk, &format!("/api/v1/reports?from={TODAY}&to={TODAY}")).await;
    assert_problem((got.0, &got.1), 403, "permission.denied", Some("W10"));
    let got = api.get(&t.issue, &format!("/api/v1/reports?from={TODAY}&to={TODAY}")).await;
    assert_problem((got.0, &got.1), 403, "permission.denied", Some("W10"));

    // A period without cases: no rows, no consultations.
    let (status, r) = api.get(&t.auditor, "/api/v1/reports?from=2026-04-01&to=2026-04-30").await;
    assert_eq!(status, 200, "{r:#}");
    assert_eq!(r["indicators"], json!([]));
    assert_eq!(r["total"]["cases"], 0);
    assert_eq!(r["consultations"]["total"], 0);
}

/// rule W10: the .xlsx download opens, with the report module's sheets and a Chinese file name
/// in RFC 5987 form; the same permissions as the JSON.
#[tokio::test]
async fn report_xlsx_downloads_and_opens() {
    let api = Api::hall().await;
    report_fixture(&api).await;
    let t = api.tokens().await;
    let (status, headers, bytes) =
        get_with_headers(&api, &t.supervisor, &format!("/api/v1/reports/xlsx?from={TODAY}&to={TODAY}")).await;
    assert_eq!(status, 200, "{}", String::from_utf8_lossy(&bytes));
    assert_eq!(
        headers.get(header::CONTENT_TYPE).and_then(|v| v.to_str().ok()),
        Some("application/vnd.openxmlformats-officedocument.spreadsheetml.sheet")
    );
    let disposition =
        headers.get(header::CONTENT_DISPOSITION).and_then(|v| v.to_str().ok()).expect("disposition");
    assert!(disposition.starts_with("attachment;"), "{disposition}");
    assert!(
        disposition.contains("filename=\"yikou-report_all_2026-03-10_2026-03-10.xlsx\""),
        "{disposition}"
    );
    // 一口受理报表_全部_… percent-encoded as UTF-8.
    assert!(
        disposition.contains("filename*=UTF-8''%E4%B8%80%E5%8F%A3%E5%8F%97%E7%90%86%E6%8A%A5%E8%A1%A8_"),
        "{disposition}"
    );
    assert_eq!(&bytes[..2], b"PK", "a zip container");
    let mut book: Xlsx<_> = open_workbook_from_rs(Cursor::new(bytes)).expect("calamine opens it");
    assert_eq!(
        book.sheet_names(),
        [
            reports::SHEET_INDICATORS,
            reports::SHEET_INDICATOR_DETAIL,
            reports::SHEET_RATINGS,
            reports::SHEET_CONSULTATIONS,
            reports::SHEET_CONSULTATION_SUMMARY,
            reports::SHEET_NOTES,
        ]
    );
    let sheet = book.worksheet_range(reports::SHEET_INDICATORS).expect("indicators sheet");
    let row = sheet
        .rows()
        .find(|r| matches!(r.first(), Some(Data::String(s)) if s == "BDCDJ"))
        .expect("a BDCDJ row");
    assert_eq!(row.get(1), Some(&Data::String("县不动产登记中心".into())));
    assert!(matches!(row.get(2), Some(Data::Float(f)) if *f == 3.0), "{row:?}");

    // A reviewer's download is its department's, named so.
    let (status, headers, _) =
        get_with_headers(&api, &t.bdc, &format!("/api/v1/reports/xlsx?from={TODAY}&to={TODAY}")).await;
    assert_eq!(status, 200);
    let disposition =
        headers.get(header::CONTENT_DISPOSITION).and_then(|v| v.to_str().ok()).expect("disposition");
    assert!(disposition.contains("yikou-report_BDCDJ_"), "{disposition}");
    for (token, query) in [(&t.bdc, "&department=SCJGJ"), (&t.clerk, "")] {
        let got = api.get(token, &format!("/api/v1/reports/xlsx?from={TODAY}&to={TODAY}{query}")).await;
        assert_problem((got.0, &got.1), 403, "permission.denied", Some("W10"));
    }
}

/// rule W10: a period backwards or longer than 366 days is refused with `report.bad_period`,
/// for the JSON and the workbook alike.
#[tokio::test]
async fn report_bad_period_is_refused() {
    let api = Api::hall().await;
    let t = api.tokens().await;
    for route in ["/api/v1/reports", "/api/v1/reports/xlsx"] {
        for (from, to) in [("2026-03-31", "2026-03-01"), ("2025-01-01", "2026-01-02")] {
            let got = api.get(&t.supervisor, &format!("{route}?from={from}&to={to}")).await;
            assert_problem((got.0, &got.1), 422, "report.bad_period", Some("W10"));
        }
        // At the bound: 366 days.
        let (status, _) = api.get(&t.supervisor, &format!("{route}?from=2025-03-10&to=2026-03-10")).await;
        assert_eq!(status, 200);
        let (status, _) = api.get(&t.supervisor, &format!("{route}?from=2026-03-10")).await;
        assert_eq!(status, 400, "a missing end date is a malformed query");
    }
}

/// rule O4: two decisions on one case from two nodes (the hall and a township that held a copy
/// while apart) merge into a conflict the supervisor sees in the queue and resolves; the earlier
/// decision stands meanwhile; nobody but a supervisor resolves.
#[tokio::test]
async fn two_decisions_from_two_nodes_raise_a_conflict_a_supervisor_resolves() {
    let hall = Api::hall().await;
    let town = Api::township().await;
    let t = hall.tokens().await;
    let id = hall.intake(&t.clerk, intake_of("BDC001", APPLICANT, &BDC001_ALL)).await;
    hall.step_ok(&t.clerk, &id, "accept", json!({ "presented": [] })).await;
    hall.step_ok(&t.clerk, &id, "handover", json!({ "department": "BDCDJ", "paper": false })).await;
    hall.step_ok(&t.bdc, &id, "handover-sign", json!({ "department": "BDCDJ" })).await;
    // The township holds the case as it is now (a replicated copy) ...
    let bytes = hall.service.store().document_bytes(&id).expect("hall document");
    town.service.store().apply_remote(&id, &bytes).expect("township takes the copy");
    // ... then both decide while they cannot talk: the hall first, the township a minute later.
    let approve = json!({ "outcome": { "outcome": "approve", "result": "准予登记" } });
    hall.step_ok(&t.bdc, &id, "decision", approve).await;
    town.clock.advance_ms(MINUTE_MS);
    let tt = town.tokens().await;
    let deny =
        json!({ "outcome": { "outcome": "deny", "basis": "review", "reasons": ["权属来源材料不实"] } });
    let town_case = town.step_ok(&tt.bdc, &id, "decision", deny).await;
    assert_eq!(town_case["state"]["decision"]["outcome"]["outcome"], "deny");
    let (status, queue) = hall.get(&t.supervisor, "/api/v1/conflicts").await;
    assert_eq!(status, 200, "{queue:#}");
    assert_eq!(queue["conflicts"], json!([]), "no conflict before the merge");

    // The link heals: the township's changes reach the hall.
    let bytes = town.service.store().document_bytes(&id).expect("township document");
    hall.service.store().apply_remote(&id, &bytes).expect("hall merges");
    let case = hall.case(&t.supervisor, &id).await;
    assert_eq!(case["state"]["decision"]["outcome"]["outcome"], "approve", "the earlier decision stands");
    let (status, queue) = hall.get(&t.supervisor, "/api/v1/conflicts").await;
    assert_eq!(status, 200, "{queue:#}");
    let rows = queue["conflicts"].as_array().expect("conflicts");
    assert_eq!(rows.len(), 1, "{queue:#}");
    assert_eq!(rows[0]["case"], id.as_str());
    let conflict = &rows[0]["conflicts"][0];
    assert_eq!(conflict["kind"]["conflict"], "two_decisions", "{conflict:#}");
    assert_eq!(conflict["rule"], "O4");
    let conflict_id = conflict["id"].as_str().expect("conflict id").to_string();
    assert!(conflict_id.starts_with("two_decisions:"), "{conflict_id}");
    // Readers of supervision see the queue; the window does not.
    let (status, _) = hall.get(&t.auditor, "/api/v1/conflicts").await;
    assert_eq!(status, 200);
    let got = hall.get(&t.clerk, "/api/v1/conflicts").await;
    assert_problem((got.0, &got.1), 403, "permission.denied", Some("W9"));

    let resolution = json!({ "conflict": conflict_id, "note": "经核实以大厅准予决定为准,撤销乡镇误录决定" });
    let before = hall.keys();
    for token in [&t.clerk, &t.bdc, &t.centre] {
        let got = hall.step(token, &id, "conflict-resolve", resolution.clone()).await;
        assert_problem((got.0, &got.1), 403, "permission.denied", Some("O4"));
    }
    let got = hall
        .step(
            &t.supervisor,
            &id,
            "conflict-resolve",
            json!({ "conflict": "two_decisions:nope", "note": "x" }),
        )
        .await;
    assert_problem((got.0, &got.1), 422, "case.no_such_conflict", Some("O4"));
    assert_eq!(hall.keys(), before, "refusals wrote nothing");

    let case = hall.step_ok(&t.supervisor, &id, "conflict-resolve", resolution.clone()).await;
    assert_eq!(case["state"]["conflicts"], json!([]));
    assert_eq!(case["state"]["resolved"][0][0], conflict_id.as_str());
    let (_, queue) = hall.get(&t.supervisor, "/api/v1/conflicts").await;
    assert_eq!(queue["conflicts"], json!([]), "gone from the queue");
    // Resolved once: a second resolution finds no open conflict.
    let got = hall.step(&t.supervisor, &id, "conflict-resolve", resolution).await;
    assert_problem((got.0, &got.1), 422, "case.no_such_conflict", Some("O4"));
}

/// rule O3: the hall centre records the provincial platform's number once; a second number is
/// refused; nobody else records it.
#[tokio::test]
async fn provincial_number_is_recorded_once_by_the_hall_centre() {
    let api = Api::hall().await;
    let t = api.tokens().await;
    let id = api.intake(&t.clerk, intake_of("BDC001", APPLICANT, &BDC001_ALL)).await;
    api.step_ok(&t.clerk, &id, "accept", json!({ "presented": [] })).await;
    let before = api.keys();
    for token in [&t.clerk, &t.bdc, &t.supervisor] {
        let got = api.step(token, &id, "provincial-number", json!({ "number": "豫2026-000123" })).await;
        assert_problem((got.0, &got.1), 403, "permission.denied", Some("O3"));
    }
    let got = api.step(&t.centre, &id, "provincial-number", json!({ "number": "  " })).await;
    assert_problem((got.0, &got.1), 422, "case.text_empty", Some("O3"));
    assert_eq!(api.keys(), before);
    let case = api.step_ok(&t.centre, &id, "provincial-number", json!({ "number": "豫2026-000123" })).await;
    assert_eq!(case["state"]["provincial_number"], "豫2026-000123");
    let before = api.keys();
    let got = api.step(&t.centre, &id, "provincial-number", json!({ "number": "豫2026-000999" })).await;
    assert_problem((got.0, &got.1), 409, "case.provincial_number_set", Some("O3"));
    assert_eq!(api.keys(), before);
    let case = api.case(&t.auditor, &id).await;
    assert_eq!(case["state"]["provincial_number"], "豫2026-000123", "the first number stays");
}
