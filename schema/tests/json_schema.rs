//! The JSON Schemas of the domain types (schemars derives, for the node's OpenAPI document)
//! describe the JSON serde really produces: realistic values, built through the command API
//! where there is one, are serialized with serde_json and validated against the generated
//! schemas with an independent validator (the `jsonschema` crate).
//!
//! Every value is checked against both schemas schemars can generate: the serialize contract
//! (what a response body is) and the deserialize contract (what a request body may be; for the
//! types that also deserialize, our own JSON must be accepted back).

mod common;

use std::collections::BTreeSet;

use chrono::{NaiveDate, NaiveDateTime, NaiveTime};
use common::*;
use schemars::JsonSchema;
use schemars::generate::SchemaSettings;
use serde::Serialize;
use serde_json::{Value, json};
use yikou_schema::actor::{Actor, Role};
use yikou_schema::calendar::WorkCalendar;
use yikou_schema::case::*;
use yikou_schema::catalog::{
    Adjustment, Catalog, CatalogErrors, IntakeRefusal, ItemStatus, UnlistedMaterial,
};
use yikou_schema::codes::{DepartmentCode, ItemCode, MaterialCode, NodeName, StaffId};
use yikou_schema::consultation::{
    self, Analysis, Answer, Category, Cause, ConsultationEntry, DepartmentCall, Mode, OneTimeNotice,
    ProblemKind, RemoteChannel,
};
use yikou_schema::documents::{self, Document, DocumentKind};
use yikou_schema::hlc::{Hlc, HlcClock};
use yikou_schema::ids::{
    Agent, Applicant, ApplicantId, Authorisation, CaseNumber, CaseNumberAllocator, CitizenId, NodeCode,
    ProvincialNumber,
};
use yikou_schema::indicators::{self, Criterion, DepartmentIndicators, Rating, RatingSummary};
use yikou_schema::queue::{
    Appointment, AppointmentRequest, Booking, Business, CancelReason, QuotaLedger, QuotaPlan, QuotaShare,
    Ticket, TicketDispenser, TicketKind, quota_conflicts,
};
use yikou_schema::supervision::{self, Assessment, Duty, Limit, Policy};
use yikou_schema::tolerance::{self, DishonestyEntry, DishonestyList, Eligibility};

// ---------------------------------------------------------------------------------------------
// Validation helpers
// ---------------------------------------------------------------------------------------------

/// The schema of `T` under one contract, as a standalone 2020-12 document with its `$defs`.
fn schema_of<T: JsonSchema>(serialize: bool) -> Value {
    let settings = SchemaSettings::draft2020_12();
    let settings = if serialize { settings.for_serialize() } else { settings.for_deserialize() };
    settings.into_generator().into_root_schema_for::<T>().to_value()
}

/// A validator that also checks `format`, chrono's two formats without a zone included, so
/// that a date schema really holds a date of the shape chrono writes.
fn validator(schema: &Value) -> jsonschema::Validator {
    jsonschema::options()
        .should_validate_formats(true)
        .with_format("partial-date-time", |s: &str| {
            NaiveDateTime::parse_from_str(s, "%Y-%m-%dT%H:%M:%S%.f").is_ok()
        })
        .with_format("partial-time", |s: &str| NaiveTime::parse_from_str(s, "%H:%M:%S%.f").is_ok())
        .build(schema)
        .unwrap_or_else(|e| panic!("the generated schema compiles: {e}\n{schema:#}"))
}

fn errors(schema: &Value, instance: &Value) -> Vec<String> {
    validator(schema).iter_errors(instance).map(|e| format!("{} at {}", e, e.instance_path())).collect()
}

/// Serializes `value` with serde_json and validates it against both contracts' schemas of `T`.
/// Returns the JSON for further checks.
#[track_caller]
fn valid<T: Serialize + JsonSchema>(value: &T) -> Value {
    let json = serde_json::to_value(value).expect("serializes");
    for serialize in [true, false] {
        let schema = schema_of::<T>(serialize);
        let errs = errors(&schema, &json);
        assert!(
            errs.is_empty(),
            "{} ({} contract) does not describe its JSON:\n{}\n{json:#}",
            T::schema_name(),
            if serialize { "serialize" } else { "deserialize" },
            errs.join("\n")
        );
    }
    json
}

/// Asserts that the schema of `T` (serialize contract) refuses `json`: the schemas are not vacuous.
#[track_caller]
fn refused<T: JsonSchema>(json: Value) {
    let schema = schema_of::<T>(true);
    assert!(!errors(&schema, &json).is_empty(), "{} should refuse {json}", T::schema_name());
}

// ---------------------------------------------------------------------------------------------
// Fixtures
// ---------------------------------------------------------------------------------------------

fn approve() -> EventKind {
    EventKind::Decided { outcome: Outcome::Approve { result: "准予许可,核发证书".to_string() } }
}

fn handover(code: &str, paper: bool) -> EventKind {
    EventKind::HandedOver { department: dept(code), paper }
}

fn signed(code: &str) -> EventKind {
    EventKind::HandoverSigned { department: dept(code) }
}

/// A promise case that goes through every step to the archive, with a pause, scans, a mailed
/// result, a rating and the provincial number.
fn archived_case(w: &World) -> Case {
    let mut case = w.open(plain_item(), "2026-03-02 09:00", &["K1", "K2", "T1", "T2"]);
    w.rec(
        &mut case,
        "2026-03-02 09:05",
        clerk(),
        EventKind::MaterialsScanned {
            scans: vec![Scan {
                material: m("K1"),
                hash: "af1349b9f5f9a1a6a0404dea36dcc9499bcb25c9adc112b7cc9a93cae41f3262".to_string(),
                bytes: 183_204,
                media_type: "application/pdf".to_string(),
            }],
        },
    );
    w.rec(&mut case, "2026-03-02 09:10", clerk(), EventKind::Accepted { presented: vec![] });
    w.rec(&mut case, "2026-03-02 10:00", clerk(), handover(DEPT, true));
    w.rec(&mut case, "2026-03-02 10:30", reviewer(DEPT), signed(DEPT));
    w.rec(
        &mut case,
        "2026-03-03 09:00",
        reviewer(DEPT),
        EventKind::SpecialProcedureStarted { reason: "需要现场勘验".into() },
    );
    w.rec(&mut case, "2026-03-04 09:00", reviewer(DEPT), EventKind::SpecialProcedureEnded);
    w.rec(
        &mut case,
        "2026-03-04 10:00",
        reviewer(DEPT),
        EventKind::ProposedDecision { approve: true, opinion: "经实质审查,拟准予许可".into() },
    );
    w.rec(&mut case, "2026-03-05 10:00", reviewer(DEPT), approve());
    w.rec(
        &mut case,
        "2026-03-05 11:00",
        reviewer(DEPT),
        EventKind::ResultToIssuing { register_entry: "发证登记第12号".into() },
    );
    w.rec(
        &mut case,
        "2026-03-05 11:30",
        Role::IssuingWindow,
        EventKind::Notified { contact: "短信 13800000000".into() },
    );
    let mail =
        Delivery::Mail { postal_receipt: "EMS1234567890".into(), address: "新郑市某路1号".into() };
    w.rec(&mut case, "2026-03-06 09:00", Role::IssuingWindow, EventKind::Delivered { delivery: mail });
    w.rec(&mut case, "2026-03-06 15:00", Role::IssuingWindow, EventKind::ResultFormReturned);
    w.rec(&mut case, "2026-03-06 15:10", clerk(), EventKind::Rated { score: 5 });
    w.rec(
        &mut case,
        "2026-03-06 15:20",
        Role::System,
        EventKind::ProvincialNumberAssigned { number: "HN-2026-000123".into() },
    );
    w.rec(&mut case, "2026-03-06 16:00", Role::System, EventKind::Archived);
    assert_eq!(case.state().phase, Phase::Archived);
    case
}

/// A tolerance case signed by an agent, supplied in time and approved.
fn tolerance_case(w: &World) -> Case {
    let agent_id = "110105195001010039";
    let mut h = header(tolerant_item());
    h.agent = Some(Agent {
        id: CitizenId::parse(agent_id).expect("valid"),
        name: "李四".into(),
        authorisation: Authorisation {
            document_ref: "委托书2026-7".into(),
            specific: true,
            valid_until: Some(d("2026-12-31")),
        },
    });
    let mut case =
        Case::open(h, ev("2026-03-02 09:00", clerk(), received(&["K1", "K2"])), &w.ctx()).expect("opens");
    let mut c = commitment(&["T1", "T2"], "2026-03-06", &w.list);
    c.signed_by = Signatory::Agent {
        id_number: agent_id.into(),
        name: "李四".into(),
        authorisation_ref: "委托书2026-7".into(),
    };
    w.rec(
        &mut case,
        "2026-03-02 09:10",
        clerk(),
        EventKind::ToleranceAccepted { presented: vec![], commitment: c },
    );
    w.rec(&mut case, "2026-03-02 10:00", clerk(), handover(DEPT, true));
    w.rec(&mut case, "2026-03-02 10:30", reviewer(DEPT), signed(DEPT));
    w.rec(&mut case, "2026-03-04 10:00", clerk(), EventKind::SupplementReceived { materials: vec![m("T1")] });
    w.rec(&mut case, "2026-03-06 16:00", clerk(), EventKind::SupplementReceived { materials: vec![m("T2")] });
    w.rec(&mut case, "2026-03-09 09:00", reviewer(DEPT), approve());
    assert!(case.state().tolerance.is_some());
    case
}

/// An online case: pre-acceptance asked for corrections, the applicant resubmitted, the window
/// then refused to accept.
fn refused_online_case(w: &World) -> Case {
    let kind = EventKind::Received {
        channel: Channel::Online { portal_ref: "WT-2026-0001".into() },
        presented: presented(&[
            ("K1", Condition::Present),
            ("K2", Condition::Flawed("复印件不清晰".into())),
            ("T1", Condition::Missing),
        ]),
    };
    let mut case =
        Case::open(header(plain_item()), ev("2026-03-02 09:00", clerk(), kind), &w.ctx()).expect("opens");
    w.rec(
        &mut case,
        "2026-03-02 15:00",
        clerk(),
        EventKind::PreAccepted {
            result: PreAcceptance::Correction {
                problems: vec![Problem { material: Some(m("K2")), description: "复印件不清晰".into() }],
            },
        },
    );
    w.rec(
        &mut case,
        "2026-03-03 09:00",
        clerk(),
        EventKind::Resubmitted { presented: present(&["K1", "K2"]) },
    );
    w.rec(
        &mut case,
        "2026-03-03 10:00",
        clerk(),
        EventKind::CorrectionNotice {
            problems: vec![
                Problem { material: Some(m("T1")), description: "缺少项目情况说明".into() },
                Problem { material: None, description: "申请表未签字".into() },
            ],
        },
    );
    w.rec(
        &mut case,
        "2026-03-04 10:00",
        clerk(),
        EventKind::NotAccepted { reasons: vec!["申请事项不属于本机关职权范围".into()] },
    );
    assert_eq!(case.state().phase, Phase::NotAccepted);
    case
}

/// One value of every `EventKind` variant (the command API is not needed to check shapes).
fn every_event_kind() -> Vec<EventKind> {
    vec![
        received(&["K1"]),
        EventKind::Received {
            channel: Channel::Mail { handover_record: "邮件分发登记 2026-031".into() },
            presented: vec![],
        },
        EventKind::Received { channel: Channel::Township, presented: vec![] },
        EventKind::PreAccepted { result: PreAcceptance::Pass { paper_required: true } },
        EventKind::PreAccepted {
            result: PreAcceptance::Reject { reasons: vec!["不属于受理范围".into()] }
        },
        EventKind::Accepted { presented: present(&["K1"]) },
        EventKind::ToleranceAccepted {
            presented: vec![],
            commitment: commitment(&["T1"], "2026-03-06", &DishonestyList::default()),
        },
        EventKind::CorrectionNotice { problems: vec![] },
        EventKind::Resubmitted { presented: vec![] },
        EventKind::NotAccepted { reasons: vec![] },
        handover(DEPT, false),
        signed(DEPT),
        EventKind::SpecialProcedureStarted { reason: "听证".into() },
        EventKind::SpecialProcedureEnded,
        EventKind::SupplementReceived { materials: vec![m("T1")] },
        EventKind::ProposedDecision { approve: false, opinion: "拟不予许可".into() },
        approve(),
        EventKind::Decided {
            outcome: Outcome::Deny {
                reasons: vec!["逾期未补齐".into()],
                basis: DenialBasis::ToleranceLapsed,
            },
        },
        EventKind::ResultToIssuing { register_entry: "第1号".into() },
        EventKind::Notified { contact: "电话".into() },
        EventKind::Delivered { delivery: Delivery::Pickup { signed_by: "张三".into() } },
        EventKind::ResultFormReturned,
        EventKind::Archived,
        EventKind::ReportedUpward { opinion: state::UPWARD_OPINION.into() },
        EventKind::Withdrawn { reason: "申请人撤回".into() },
        EventKind::FileRemovalConsented { reason: "送上级部门会审".into() },
        EventKind::MaterialsScanned { scans: vec![] },
        EventKind::CardIssued { duty: DutyKind::Handover(dept(DEPT_B)), level: Level::Warning },
        EventKind::CardRevoked { duty: DutyKind::ConsultationReply, reason: "系统故障".into() },
        EventKind::Rated { score: 4 },
        EventKind::ConflictResolved { conflict: ConflictId("c-1".into()), note: "已核实".into() },
        EventKind::ProvincialNumberAssigned { number: "HN-1".into() },
    ]
}

fn entry(id: &str, at: &str, category: Category, mode: Mode, answer: Answer) -> ConsultationEntry {
    ConsultationEntry {
        id: id.to_string(),
        ticket: Some(format!("{TOWN}-20260302-C0001")),
        node: NodeName::new(TOWN),
        at: t(at),
        item: Some(ItemCode::new("ITEM-TOL")),
        department: dept(DEPT),
        counsellor: StaffId::new("staff-7"),
        mode,
        question: "办理建设用地规划许可需要哪些材料?".to_string(),
        category,
        cause: Cause::InformationNotPublic,
        answer,
    }
}

// ---------------------------------------------------------------------------------------------
// EventKind: one oneOf branch per kind (the API builds one request body per step from it)
// ---------------------------------------------------------------------------------------------

#[test]
fn event_kind_is_a_one_of_with_the_kind_as_a_const_in_each_branch() {
    let schema = schemars::schema_for!(EventKind).to_value();
    let branches = schema["oneOf"].as_array().expect("EventKind is a oneOf");
    let mut kinds = BTreeSet::new();
    for branch in branches {
        // Each branch is an object whose `kind` property is `{"type": "string", "const": <tag>}`
        // and is required; the variant's other fields sit beside it in the same `properties`.
        assert_eq!(branch["type"], "object", "{branch:#}");
        let tag = branch["properties"]["kind"]["const"].as_str().expect("kind const");
        assert_eq!(branch["properties"]["kind"]["type"], "string");
        let required = branch["required"].as_array().expect("required");
        assert!(required.contains(&json!("kind")), "{branch:#}");
        assert!(kinds.insert(tag.to_string()), "kind {tag} appears twice");
    }
    let expected = [
        "received",
        "pre_accepted",
        "accepted",
        "tolerance_accepted",
        "correction_notice",
        "resubmitted",
        "not_accepted",
        "handed_over",
        "handover_signed",
        "special_procedure_started",
        "special_procedure_ended",
        "supplement_received",
        "proposed_decision",
        "decided",
        "result_to_issuing",
        "notified",
        "delivered",
        "result_form_returned",
        "archived",
        "reported_upward",
        "withdrawn",
        "file_removal_consented",
        "materials_scanned",
        "card_issued",
        "card_revoked",
        "rated",
        "conflict_resolved",
        "provincial_number_assigned",
    ];
    assert_eq!(kinds, expected.iter().map(|s| s.to_string()).collect::<BTreeSet<_>>());

    // Each step's request body is the branch found by its tag; a variant's own value validates
    // against exactly that branch.
    let defs = schema["$defs"].clone();
    let samples = every_event_kind();
    let mut seen = BTreeSet::new();
    for kind in &samples {
        let json = valid(kind);
        let tag = json["kind"].as_str().expect("tagged").to_string();
        let branch =
            branches.iter().find(|b| b["properties"]["kind"]["const"] == json!(tag)).expect("branch");
        let mut body = branch.clone();
        body["$defs"] = defs.clone();
        assert!(errors(&body, &json).is_empty(), "{tag} validates against its own branch");
        seen.insert(tag);
    }
    assert_eq!(seen, kinds, "the samples cover every kind");
    refused::<EventKind>(json!({ "kind": "approved" }));
    refused::<EventKind>(json!({ "kind": "decided" }));
    refused::<EventKind>(json!({ "kind": "rated", "score": 300 }));
}

// ---------------------------------------------------------------------------------------------
// Cases, events, states, documents
// ---------------------------------------------------------------------------------------------

#[test]
fn an_archived_case_its_events_state_and_documents_match_their_schemas() {
    let w = World::new();
    let case = archived_case(&w);
    let json = valid(&case);
    assert_eq!(json["events"][0]["kind"]["kind"], "received");
    valid(&case.header);
    for event in &case.events {
        valid(event);
        valid(&event.kind);
    }
    let st = case.state();
    valid(&st);
    for kind in [DocumentKind::IntakeReceipt, DocumentKind::ResultHandover] {
        valid(&documents::build(kind, &case.header, &st, &w.cal).expect("form exists"));
    }
    for a in supervision::assess_case(&case.header, &st, t("2026-03-06 16:00"), &w.cal, &Policy::default())
        .expect("assessable")
    {
        valid::<Assessment>(&a);
    }
    for duty in supervision::case_duties(&case.header, &st, &w.cal).expect("duties") {
        valid::<Duty>(&duty);
    }
}

#[test]
fn a_tolerance_case_with_an_agent_matches_its_schemas() {
    let w = World::new();
    let case = tolerance_case(&w);
    let json = valid(&case);
    assert_eq!(json["header"]["agent"]["id"], "110105195001010039");
    let st = case.state();
    let json = valid(&st);
    assert!(json["tolerance"]["supplied"].is_object());
    for kind in [DocumentKind::ToleranceReceipt, DocumentKind::Commitment, DocumentKind::MaterialsReceived] {
        valid(&documents::build(kind, &case.header, &st, &w.cal).expect("form exists"));
    }
}

#[test]
fn a_refused_online_case_and_its_notices_match_their_schemas() {
    let w = World::new();
    let case = refused_online_case(&w);
    valid(&case);
    let st = case.state();
    let json = valid(&st);
    assert_eq!(json["phase"], "not_accepted");
    for kind in [DocumentKind::CorrectionNotice, DocumentKind::NonAcceptance] {
        valid::<Document>(&documents::build(kind, &case.header, &st, &w.cal).expect("form exists"));
    }
}

#[test]
fn a_denied_case_and_a_merge_conflict_match_their_schemas() {
    // rule O4: two decisions made apart become a conflict; its JSON is described too.
    let w = World::new();
    let mut case = w.open(plain_item(), "2026-03-02 09:00", &["K1", "K2", "T1", "T2"]);
    w.rec(&mut case, "2026-03-02 09:10", clerk(), EventKind::Accepted { presented: vec![] });
    w.rec(&mut case, "2026-03-02 10:00", clerk(), handover(DEPT, true));
    w.rec(&mut case, "2026-03-02 10:30", reviewer(DEPT), signed(DEPT));
    let mut hall = case.clone();
    hall.record(ev_on(HALL, "2026-03-03 10:00", reviewer(DEPT), approve()), &w.ctx()).expect("decides");
    let deny = EventKind::Decided {
        outcome: Outcome::Deny {
            reasons: vec!["申请材料不符合法定条件".into()], basis: DenialBasis::Review
        },
    };
    case.record(ev_on(TOWN, "2026-03-03 09:00", reviewer(DEPT), deny), &w.ctx()).expect("decides");
    valid(&documents::build(DocumentKind::Denial, &case.header, &case.state(), &w.cal).expect("denial"));
    case.merge(hall.events);
    let st = case.state();
    assert_eq!(st.conflicts.len(), 1);
    let json = valid(&st);
    assert_eq!(json["conflicts"][0]["kind"]["conflict"], "two_decisions");
    valid::<Conflict>(&st.conflicts[0]);
    let violation = case
        .record(ev("2026-03-04 09:00", clerk(), EventKind::Rated { score: 9 }), &w.ctx())
        .expect_err("refused");
    valid::<RuleViolation>(&violation);
}

#[test]
fn a_case_state_with_a_card_serializes_its_cards_as_a_list() {
    // `CaseState::cards` is a map keyed by `DutyKind` (an object); JSON writes it as a list of
    // `{duty, card}` entries, and the schema says so.
    let w = World::new();
    let mut case = w.open(plain_item(), "2026-03-02 09:00", &["K1", "K2", "T1", "T2"]);
    w.rec(&mut case, "2026-03-02 09:10", clerk(), EventKind::Accepted { presented: vec![] });
    w.rec(
        &mut case,
        "2026-03-20 09:00",
        Role::System,
        EventKind::CardIssued { duty: DutyKind::Decision, level: Level::Yellow },
    );
    let json = valid(&case.state());
    assert_eq!(json["cards"][0]["duty"]["duty"], "decision");
    assert_eq!(json["cards"][0]["card"]["level"], "yellow");
    valid(&case); // the case itself (header and events) serializes and matches.
}

#[test]
fn the_sample_catalog_its_adjustments_and_refusals_match_their_schemas() {
    let catalog = Catalog::sample();
    let json = valid(&catalog);
    assert!(json["items"].as_array().is_some_and(|items| !items.is_empty()));
    let on = d("2026-03-02");
    for item in &catalog.items {
        valid(item);
        valid::<ItemStatus>(&item.status(on));
    }
    let item = catalog.items[0].clone();
    let mut updated = item.clone();
    updated.name = format!("{}(调整)", item.name);
    for change in [
        Adjustment::UpdateItem(updated),
        Adjustment::AddItem(tolerant_item()),
        Adjustment::CancelItem { code: item.code.clone(), from: d("2026-06-01") },
    ] {
        valid(&change);
        if let Ok(adjusted) = catalog.adjust(change, on) {
            valid(&adjusted);
        }
    }
    let refusal = catalog.item_for_intake(&ItemCode::new("NO-SUCH-ITEM"), on).expect_err("unknown");
    valid::<IntakeRefusal>(&refusal);
    let unlisted: UnlistedMaterial = item.check_demanded(&[MaterialCode::new("X-99")]).expect_err("unlisted");
    valid(&unlisted);
    let problems: CatalogErrors = Catalog::from_toml("version = 1").expect_err("not a catalog");
    valid(&problems);
}

// ---------------------------------------------------------------------------------------------
// Identifiers
// ---------------------------------------------------------------------------------------------

#[test]
fn identifiers_serialize_as_their_canonical_strings_and_match_their_patterns() {
    let person = ApplicantId::parse("11010519491231002x").expect("citizen id, lower-case x");
    assert_eq!(valid(&person), json!({ "kind": "person", "number": "11010519491231002X" }));
    let organisation = ApplicantId::parse("91350100M000100Y43").expect("credit code");
    assert_eq!(valid(&organisation)["kind"], "organisation");
    let legacy = ApplicantId::parse("110105491231002").expect("legacy id");
    assert_eq!(valid(&legacy)["kind"], "legacy_person");
    let applicant =
        Applicant::new(organisation, "某某科技有限公司", None, Some("新郑市某路1号")).expect("applicant");
    valid(&applicant);

    let node = NodeCode::parse("410184001").expect("node code");
    valid(&node);
    let number = CaseNumber::new(node.clone(), d("2026-03-02"), 12).expect("case number");
    assert_eq!(valid(&number).as_str().map(str::len), Some(21));
    let mut allocator = CaseNumberAllocator::new(node, d("2026-03-02"));
    allocator.next(d("2026-03-02")).expect("issues");
    valid(&allocator);
    valid(&ProvincialNumber::parse(" HN-2026-000123 ").expect("provincial number"));

    let mut clock = HlcClock::new(NodeName::new(TOWN));
    let stamp = clock.tick(1_772_413_200_000).expect("ticks");
    valid::<Hlc>(&stamp);
    valid(&clock);
    valid(&Actor { staff: StaffId::new("staff-1"), role: reviewer(DEPT), node: NodeName::new(HALL) });
    for role in [Role::WindowClerk, Role::HallCentre, Role::Supervisor, Role::Auditor, Role::System] {
        valid(&role);
    }

    // The serialized forms are pinned by patterns and ranges (the response schemas).
    refused::<CaseNumber>(json!("41018400126030200012"));
    refused::<CitizenId>(json!("11010519491231002x"));
    refused::<ApplicantId>(json!({ "kind": "person", "number": "91350100M000100Y43" }));
    refused::<Rating>(json!(6));
    refused::<DepartmentCode>(json!(7));
}

#[test]
fn the_request_schemas_of_identifiers_leave_normalisation_to_the_parser() {
    // The deserialize contract: input the parser accepts (lower-case x, blanks) is not refused
    // by the request schema, and our own JSON is read back.
    let schema = schema_of::<CitizenId>(false);
    assert!(errors(&schema, &json!(" 11010519491231002x ")).is_empty());
    assert!(!errors(&schema, &json!("")).is_empty());
    let back: CitizenId = serde_json::from_value(json!(" 11010519491231002x ")).expect("parser normalises");
    assert_eq!(back.as_str(), "11010519491231002X");
    let schema = schema_of::<Applicant>(false);
    let input = json!({ "id": { "kind": "person", "number": "11010519491231002X" }, "name": "张三" });
    assert!(errors(&schema, &input).is_empty(), "phone and address may be left out");
    let back: Applicant = serde_json::from_value(input).expect("reads");
    assert_eq!(back.phone(), None);
}

// ---------------------------------------------------------------------------------------------
// Tolerance, queue, consultation, supervision, indicators, calendar
// ---------------------------------------------------------------------------------------------

#[test]
fn eligibility_both_ways_and_the_dishonesty_list_match_their_schemas() {
    let mut w = World::new();
    let item = tolerant_item();
    let applicant = ApplicantId::parse(APPLICANT_ID).expect("id");
    let yes =
        tolerance::eligibility(&item, &present(&["K1", "K2"]), &applicant, d("2026-03-02"), None, &w.ctx());
    assert!(matches!(yes, Eligibility::Eligible { .. }));
    assert_eq!(valid(&yes)["answer"], "eligible");

    assert!(w.list.add(DishonestyEntry {
        applicant: APPLICANT_ID.to_string(),
        name: "张三".into(),
        case: "410184001260302000121".into(),
        listed_on: d("2026-03-09"),
        until: d("2027-03-09"),
        reason: "逾期未补齐容缺材料".into(),
    }));
    valid(&w.list);
    let no =
        tolerance::eligibility(&plain_item(), &present(&["K1"]), &applicant, d("2026-06-01"), None, &w.ctx());
    let json = valid(&no);
    assert_eq!(json["answer"], "not_eligible");
    assert!(json["reasons"].as_array().is_some_and(|r| !r.is_empty()));
    if let Eligibility::NotEligible { reasons } = &no {
        valid(&reasons[0]);
    }
}

#[test]
fn tickets_appointments_and_quotas_match_their_schemas() {
    let today = d("2026-03-02");
    let mut dispenser = TicketDispenser::new(NodeName::new(HALL), today);
    let ticket = dispenser.issue(TicketKind::Consultation, today).expect("ticket");
    valid::<Ticket>(&ticket);
    valid(&dispenser.issue(TicketKind::Intake, today).expect("ticket"));
    valid(&dispenser);

    let business = Business { key: ItemCode::new("GJJ-01"), eligible: true, average_daily_volume: 200 };
    valid(&business);
    let share = QuotaShare::default();
    valid(&share);
    let plan =
        QuotaPlan::split(business.daily_cap(share), &[(NodeName::new(HALL), 3), (NodeName::new(TOWN), 1)]);
    valid(&plan);
    let mut hall = plan.ledger(NodeName::new(HALL), business.key.clone(), today);
    let mut town = plan.ledger(NodeName::new(TOWN), business.key.clone(), today);
    let transfer = hall.give(NodeName::new(TOWN), 2).expect("gives");
    valid(&transfer);
    assert!(town.receive(&transfer).expect("takes in"));
    valid::<QuotaLedger>(&town);
    let request = AppointmentRequest {
        business: business.key.clone(),
        date: today,
        slot: NaiveTime::from_hms_opt(10, 30, 0).expect("time"),
        applicant_id: "91350100M000100Y43".into(),
        agent_id: Some(APPLICANT_ID.into()),
        organisation: true,
    };
    valid(&request);
    let booking: Booking = town.book(&business, &request, t("2026-03-02 08:00")).expect("books");
    valid(&booking);
    let mut appointment = Appointment::new(booking.clone(), request.clone());
    valid(&appointment);
    appointment.arrive(t("2026-03-02 10:40")).expect("arrives");
    valid(&appointment);
    let mut cancelled = Appointment::new(booking.clone(), request);
    cancelled.cancel(CancelReason::Applicant).expect("cancels");
    valid(&cancelled);
    let conflicts = quota_conflicts(&[booking.clone(), Booking { id: "other".into(), ..booking }], 1);
    assert_eq!(conflicts.len(), 1);
    valid(&conflicts[0]);
}

#[test]
fn consultation_entries_calls_and_the_analysis_match_their_schemas() {
    let cal = WorkCalendar::builtin();
    let notice = OneTimeNotice::new(vec![consultation::Problem {
        kind: ProblemKind::Missing,
        material: Some("营业执照副本".into()),
        description: "未提供营业执照副本".into(),
        requirement: "提供加盖公章的营业执照副本复印件".into(),
    }])
    .expect("notice");
    let on_the_spot = entry(
        "town-a-1",
        "2026-03-02 09:00",
        Category::PreReview,
        Mode::OnSite,
        Answer::OnTheSpot { one_time_notice: Some(notice) },
    );
    let mut deferred = entry(
        "town-a-2",
        "2026-03-02 10:00",
        Category::HardQuestion,
        Mode::Remote(RemoteChannel::Video),
        Answer::OnTheSpot { one_time_notice: None },
    );
    deferred.defer(&cal).expect("deferred");
    let mut answered = deferred.clone();
    answered.id = "town-a-3".into();
    answered.mode = Mode::Remote(RemoteChannel::Phone);
    answered.answer(t("2026-03-05 16:00"), "按历史遗留问题处理意见办理".into()).expect("answered");
    let entries = vec![on_the_spot, deferred, answered];
    for e in &entries {
        e.validate().expect("a valid entry");
        valid(e);
    }
    let analysis: Analysis = consultation::analyse(&entries, d("2026-03-01"), d("2026-03-31"));
    let json = valid(&analysis);
    assert_eq!(json["total"], 3);

    let ticket = Ticket {
        node: NodeName::new(HALL),
        date: d("2026-03-02"),
        kind: TicketKind::Consultation,
        serial: 1,
    };
    let call: DepartmentCall =
        consultation::notify_department(&ticket, dept(DEPT), t("2026-03-02 09:00"), false).expect("call");
    valid(&call);
}

#[test]
fn duties_assessments_indicators_and_ratings_match_their_schemas() {
    let w = World::new();
    let duty = supervision::consultation_duty(t("2026-03-02 10:00"), None);
    valid(&duty);
    let late =
        supervision::assess(&duty, t("2026-03-10 10:00"), &w.cal, &Policy::default()).expect("assessed");
    assert!(late.level > Level::Normal);
    valid(&late);
    valid(&Policy::default());
    for limit in [Limit::WorkingDays(5), Limit::At(t("2026-03-02 14:00")), Limit::EndOfDay(d("2026-03-03"))] {
        valid(&limit);
    }

    let cases = vec![archived_case(&w), tolerance_case(&w), refused_online_case(&w)];
    let all: Vec<DepartmentIndicators> =
        indicators::indicators(&cases, d("2026-03-01"), d("2026-03-31"), &w.cal);
    assert!(!all.is_empty());
    for one in &all {
        valid(one);
    }
    for case in &cases {
        if let Some(facts) = indicators::case_facts(case, &case.state(), &w.cal) {
            valid(&facts);
        }
    }
    valid(&Rating::new(3).expect("rating"));
    valid(&RatingSummary::default());
    for c in Criterion::HALL.iter().chain(Criterion::ONLINE.iter()) {
        valid(c);
    }
    let due = indicators::callback_due(d("2026-03-02"), &w.cal, indicators::RECTIFICATION_WORKDAYS_DEFAULT)
        .expect("due");
    valid(&due);
}

#[test]
fn the_builtin_calendar_matches_its_schema() {
    let cal = WorkCalendar::builtin();
    let json = valid(&cal);
    assert!(json["years"]["2026"].is_object(), "years are keyed by their number as a string");
    valid(&cal.add_workdays(d("2026-03-02"), 5).expect("deadline"));
    valid(&cal.is_workday(NaiveDate::from_ymd_opt(2030, 1, 2).expect("date")));
    // The formats are checked, so a date field really holds chrono's shape.
    refused::<NaiveDate>(json!("2026-02-30"));
    refused::<NaiveDateTime>(json!("2026-03-02 09:00:00"));
    refused::<NaiveTime>(json!("9:30"));
}
