//! The HTTP API driven through its router (in process, no socket) on a real store on disk.

mod harness;

use harness::{Api, clerk_intake, present};
use serde_json::json;

/// rule W3.2: intake answers with the stored case and the eligibility answer; rule T1.
#[tokio::test]
async fn intake_stores_the_case_and_answers_eligibility() {
    let api = Api::hall().await;
    let clerk = api.login("clerk01").await;
    let (status, body) =
        api.post(&clerk, "/api/v1/cases", clerk_intake(&["M01", "M02", "M03", "M04", "M05"])).await;
    assert_eq!(status, 201, "{body:#}");
    let id = body["case"]["id"].as_str().expect("case id").to_string();
    assert_eq!(body["case"]["state"]["phase"], "received");
    assert_eq!(body["eligibility"]["answer"], "eligible", "{:#}", body["eligibility"]);
    let (status, got) = api.get(&clerk, &format!("/api/v1/cases/{id}")).await;
    assert_eq!(status, 200);
    assert_eq!(got["header"]["applicant"]["name"], "张三");
    let _ = present(&[]);
    let _ = json!({});
}

/// rule T3.2: tolerance acceptance through its step route, with the commitment; the printable
/// commitment has its three copies.
#[tokio::test]
async fn tolerance_acceptance_step_records_the_commitment() {
    let api = Api::hall().await;
    let clerk = api.login("clerk01").await;
    let (_, body) =
        api.post(&clerk, "/api/v1/cases", clerk_intake(&["M01", "M02", "M03", "M04", "M05"])).await;
    let id = body["case"]["id"].as_str().expect("id").to_string();
    let deadline = body["eligibility"]["latest_deadline"]["at"].clone();
    let (status, out) = api
        .post(
            &clerk,
            &format!("/api/v1/cases/{id}/tolerance-accept"),
            json!({ "presented": [], "commitment": { "materials": ["M06"], "deadline": deadline,
                    "window": "县政务服务中心不动产登记窗口", "signed_by": { "by": "applicant" } } }),
        )
        .await;
    assert_eq!(status, 200, "{out:#}");
    assert_eq!(out["case"]["state"]["phase"], "accepted");
    let (status, ctype, html) =
        api.raw("GET", &format!("/api/v1/cases/{id}/documents/commitment"), Some(&clerk), None).await;
    assert_eq!(status, 200);
    assert!(ctype.starts_with("text/html"));
    let html = String::from_utf8(html).expect("utf-8");
    assert!(html.matches("break-after").count() >= 2, "three copies: {html}");
}

mod bad_input;
mod console;
mod desk;
mod openapi;
mod workflows;

/// rule O2: the running node's backup streams a consistent copy that verifies and holds the cases.
#[tokio::test]
async fn admin_backup_streams_a_verifiable_copy() {
    let api = Api::hall().await;
    let clerk = api.login("clerk01").await;
    let (status, _) =
        api.post(&clerk, "/api/v1/cases", clerk_intake(&["M01", "M02", "M03", "M04", "M05"])).await;
    assert_eq!(status, 201);
    let (status, _, _) = api.raw("POST", "/api/v1/admin/backup", Some(&clerk), None).await;
    assert_eq!(status, 401, "a member of staff is not the operator");
    let (status, ctype, bytes) =
        api.raw("POST", "/api/v1/admin/backup", Some(harness::ADMIN_TOKEN), None).await;
    assert_eq!((status, ctype.as_str()), (200, "application/octet-stream"));
    assert!(bytes.starts_with(yikou_node::backup::MAGIC));
    let summary = yikou_node::backup::verify(&mut bytes.as_slice()).expect("the backup verifies");
    assert!(summary.documents >= 2, "the catalog and the case: {summary:?}");
}

/// rule O3: case numbers are this node's own and never issued twice: consecutive within a reserved
/// block, a refused application takes none, and after a restart numbering continues past the block
/// reserved on disk.
#[tokio::test]
async fn case_numbers_are_consecutive_and_never_reissued_after_a_restart() {
    use yikou_node::service::{NodeInfo, Service, Staff};
    let api = Api::hall().await;
    let clerk = api.login("clerk01").await;
    let serial = |id: &str| id[15..20].parse::<u32>().expect("serial digits");
    let mut got = Vec::new();
    for _ in 0..2 {
        let (status, body) = api.post(&clerk, "/api/v1/cases", clerk_intake(&["M01"])).await;
        assert_eq!(status, 201, "{body:#}");
        got.push(serial(body["case"]["id"].as_str().expect("id")));
    }
    let mut refused = clerk_intake(&["M01"]);
    refused["applicant"]["id"] = json!("110105194912310021");
    let (status, _) = api.post(&clerk, "/api/v1/cases", refused).await;
    assert_eq!(status, 422);
    let (_, body) = api.post(&clerk, "/api/v1/cases", clerk_intake(&["M01"])).await;
    got.push(serial(body["case"]["id"].as_str().expect("id")));
    assert_eq!(got, vec![1, 2, 3]);

    // The same store under a new service (a restart): the next number comes after the block.
    let old = &api.service;
    let info: NodeInfo = old.info().clone();
    let restarted = Service::new(
        info,
        old.store().clone(),
        old.kv().clone(),
        old.attachments().clone(),
        old.clock().clone(),
    );
    let clerk_staff = Staff {
        id: yikou_schema::codes::StaffId::new("clerk01"),
        name: "clerk01".into(),
        role: yikou_schema::actor::Role::WindowClerk,
    };
    let req: yikou_node::service::cases::IntakeRequest =
        serde_json::from_value(clerk_intake(&["M01"])).expect("request");
    let answer = restarted.intake(&clerk_staff, &req).expect("intake after restart");
    let next = serial(&answer.case.id);
    assert_eq!(next, yikou_node::service::cases::SERIAL_BLOCK + 1);
}
