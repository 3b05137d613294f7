//! Fixtures for the document tests (`doc_layout.rs`, `js_interop.rs`): cases built directly as data
//! (they need not pass the command gate: the document stores whatever events it is given), one of
//! them holding every event kind and every variant inside events. Adapted from
//! `schema/tests/common/mod.rs`.
#![allow(dead_code)]

use chrono::{NaiveDate, NaiveDateTime};
use yikou_schema::actor::{Actor, Role};
use yikou_schema::case::{
    Case, CaseHeader, Channel, Commitment, Condition, ConflictId, Delivery, DenialBasis, DutyKind, Event,
    EventKind, Level, Outcome, PreAcceptance, PresentedMaterial, Problem, Signatory,
};
use yikou_schema::catalog::{
    AppointmentInfo, BusinessArea, Item, ItemKind, ItemType, JointMode, Material, MaterialClass,
};
use yikou_schema::codes::{DepartmentCode, ItemCode, MaterialCode, NodeName, StaffId};
use yikou_schema::hlc::{Hlc, ms_from_local};
use yikou_schema::ids::{
    Agent, Applicant, ApplicantId, Authorisation, CaseNumber, CitizenId, CreditCode, LegacyCitizenId15,
    NodeCode,
};

pub const TOWN: &str = "town-a";
pub const HALL: &str = "hall";
pub const DEPT: &str = "D-ZRZY";
pub const DEPT_B: &str = "D-ZJJ";

pub fn d(s: &str) -> NaiveDate {
    NaiveDate::parse_from_str(s, "%Y-%m-%d").expect("test date")
}

pub fn t(s: &str) -> NaiveDateTime {
    NaiveDateTime::parse_from_str(s, "%Y-%m-%d %H:%M").expect("test datetime")
}

pub fn m(code: &str) -> MaterialCode {
    MaterialCode::new(code)
}

pub fn dept(code: &str) -> DepartmentCode {
    DepartmentCode::new(code)
}

fn material(code: &str, name: &str, class: MaterialClass, paper: bool) -> Material {
    Material { code: m(code), name: name.to_string(), class, paper }
}

/// A promise item on the tolerance list: K1 key, T1 tolerable.
pub fn small_item() -> Item {
    Item {
        code: ItemCode::new("ITEM-TOL"),
        name: "建设用地规划许可证核发".to_string(),
        department: dept(DEPT),
        item_type: ItemType::from_code("01").expect("01 is a type"),
        kind: ItemKind::Promise,
        promised_days: 5,
        statutory_days: 20,
        tolerance: true,
        materials: vec![
            material("K1", "申请书", MaterialClass::Key, true),
            material("T1", "现场照片", MaterialClass::Tolerable, false),
        ],
        joint: JointMode::None,
        appointment: None,
        area: BusinessArea::ConstructionApproval,
        effective_from: d("2020-01-01"),
        cancelled_from: None,
        revision: 1,
    }
}

/// An item with every optional part present: parallel joint handling, appointments, a
/// cancellation date.
pub fn full_item() -> Item {
    let mut item = small_item();
    item.code = ItemCode::new("ITEM-FULL");
    item.kind = ItemKind::Upward;
    item.item_type = ItemType::from_code("20").expect("20 is a type");
    item.joint = JointMode::Parallel { departments: vec![dept(DEPT), dept(DEPT_B)], lead: dept(DEPT_B) };
    item.appointment = Some(AppointmentInfo { average_daily_volume: 180 });
    item.area = BusinessArea::RealEstate;
    item.cancelled_from = Some(d("2027-01-01"));
    item.revision = 3;
    item
}

pub const PERSON_ID: &str = "11010519491231002X";
pub const ORGANISATION_ID: &str = "91350100M000100Y43";
pub const LEGACY_ID: &str = "110105491231002";

pub fn applicant_id(kind: &str) -> ApplicantId {
    match kind {
        "person" => ApplicantId::Person(CitizenId::parse(PERSON_ID).expect("citizen id")),
        "organisation" => ApplicantId::Organisation(CreditCode::parse(ORGANISATION_ID).expect("credit code")),
        "legacy_person" => {
            ApplicantId::LegacyPerson(LegacyCitizenId15::parse(LEGACY_ID).expect("legacy citizen id"))
        }
        other => panic!("no applicant kind {other}"),
    }
}

/// A header numbered by `serial` at node 410184001 on 2026-03-02.
pub fn header(item: Item, applicant: ApplicantId, serial: u32) -> CaseHeader {
    let node = NodeCode::parse("410184001").expect("node code");
    CaseHeader {
        number: CaseNumber::new(node, d("2026-03-02"), serial).expect("case number"),
        applicant: Applicant::new(applicant, "张三", Some("13800000000"), None).expect("applicant"),
        agent: None,
        item,
        catalog_version: "test.1".to_string(),
        origin: NodeName::new(TOWN),
        scope: "410184001".to_string(),
    }
}

pub fn agent() -> Agent {
    Agent {
        id: CitizenId::parse(PERSON_ID).expect("citizen id"),
        name: "李四".to_string(),
        authorisation: Authorisation {
            document_ref: "委托书-2026-001".to_string(),
            specific: true,
            valid_until: Some(d("2026-12-31")),
        },
    }
}

/// An event at local time `at` (China Standard Time) with logical counter `counter` on `node`.
pub fn ev_at(node: &str, at: &str, counter: u32, role: Role, kind: EventKind) -> Event {
    Event {
        hlc: Hlc { wall_ms: ms_from_local(t(at)), counter, node: NodeName::new(node) },
        actor: Actor {
            staff: StaffId::new(format!("staff-{}", role.name_zh())),
            role,
            node: NodeName::new(node),
        },
        kind,
    }
}

pub fn present(codes: &[&str]) -> Vec<PresentedMaterial> {
    codes.iter().map(|c| PresentedMaterial { code: m(c), condition: Condition::Present }).collect()
}

/// A small fixed case: received at the hall window, then accepted. The layout snapshot and the
/// JavaScript test use it.
pub fn small_case() -> Case {
    Case {
        header: header(small_item(), applicant_id("person"), 1),
        events: vec![
            ev_at(
                TOWN,
                "2026-03-02 09:15",
                0,
                Role::WindowClerk,
                EventKind::Received { channel: Channel::Hall, presented: present(&["K1"]) },
            ),
            ev_at(
                TOWN,
                "2026-03-02 09:40",
                0,
                Role::WindowClerk,
                EventKind::Accepted {
                    presented: vec![
                        PresentedMaterial { code: m("K1"), condition: Condition::Present },
                        PresentedMaterial {
                            code: m("T1"),
                            condition: Condition::Flawed("照片模糊".to_string()),
                        },
                    ],
                },
            ),
        ],
    }
}

/// Every event kind, and inside events every variant of channel, condition, signatory,
/// pre-acceptance, outcome, denial basis, delivery, level, duty and role.
pub fn every_event_kind() -> Vec<EventKind> {
    let problems = vec![
        Problem { material: Some(m("K1")), description: "申请书未签字".to_string() },
        Problem { material: None, description: "申请人联系方式不全".to_string() },
    ];
    let commitment = |signed_by| Commitment {
        materials: vec![m("T1")],
        deadline: d("2026-03-09"),
        window: "县政务服务中心综合受理窗口".to_string(),
        signed_by,
        dishonesty_list_version: 7,
    };
    let duties = [
        DutyKind::Decision,
        DutyKind::Handover(dept(DEPT_B)),
        DutyKind::ToleranceSupply,
        DutyKind::IntakeAnswer,
        DutyKind::Issuing,
        DutyKind::PreAcceptance,
        DutyKind::UpwardReport,
        DutyKind::ResultFormReturn,
        DutyKind::ConsultationReply,
    ];
    let levels = [Level::Normal, Level::Warning, Level::Yellow, Level::Red];
    let mut kinds = vec![
        EventKind::Received { channel: Channel::Hall, presented: present(&["K1", "T1"]) },
        EventKind::Received { channel: Channel::Township, presented: Vec::new() },
        EventKind::Received {
            channel: Channel::Online { portal_ref: "WS-2026-0001".to_string() },
            presented: vec![PresentedMaterial { code: m("T1"), condition: Condition::Missing }],
        },
        EventKind::Received {
            channel: Channel::Mail { handover_record: "YJ-2026-0001".to_string() },
            presented: vec![PresentedMaterial {
                code: m("K1"),
                condition: Condition::Flawed("复印件不清晰".to_string()),
            }],
        },
        EventKind::PreAccepted { result: PreAcceptance::Pass { paper_required: true } },
        EventKind::PreAccepted { result: PreAcceptance::Correction { problems: problems.clone() } },
        EventKind::PreAccepted {
            result: PreAcceptance::Reject { reasons: vec!["不属于本事项".to_string()] },
        },
        EventKind::Accepted { presented: present(&["K1", "T1"]) },
        EventKind::ToleranceAccepted {
            presented: present(&["K1"]),
            commitment: commitment(Signatory::Applicant),
        },
        EventKind::ToleranceAccepted {
            presented: present(&["K1"]),
            commitment: commitment(Signatory::Agent {
                id_number: PERSON_ID.to_string(),
                name: "李四".to_string(),
                authorisation_ref: "委托书-2026-001".to_string(),
            }),
        },
        EventKind::CorrectionNotice { problems },
        EventKind::Resubmitted { presented: present(&["K1", "T1"]) },
        EventKind::NotAccepted {
            reasons: vec!["申请材料不齐全".to_string(), "逾期未补正".to_string()]
        },
        EventKind::HandedOver { department: dept(DEPT), paper: true },
        EventKind::HandedOver { department: dept(DEPT_B), paper: false },
        EventKind::HandoverSigned { department: dept(DEPT) },
        EventKind::SpecialProcedureStarted { reason: "需现场勘验".to_string() },
        EventKind::SpecialProcedureEnded,
        EventKind::SupplementReceived { materials: vec![m("T1")] },
        EventKind::ProposedDecision { approve: true, opinion: "符合条件,拟准予".to_string() },
        EventKind::Decided { outcome: Outcome::Approve { result: "准予许可".to_string() } },
        EventKind::Decided {
            outcome: Outcome::Deny {
                reasons: vec!["不符合规划".to_string()], basis: DenialBasis::Review
            },
        },
        EventKind::Decided {
            outcome: Outcome::Deny {
                reasons: vec!["逾期未补交容缺材料".to_string()],
                basis: DenialBasis::ToleranceLapsed,
            },
        },
        EventKind::ResultToIssuing { register_entry: "登记簿第 12 页".to_string() },
        EventKind::Notified { contact: "13800000000".to_string() },
        EventKind::Delivered { delivery: Delivery::Pickup { signed_by: "张三".to_string() } },
        EventKind::Delivered {
            delivery: Delivery::Mail {
                postal_receipt: "EMS1234567890".to_string(),
                address: "河南省郑州市新郑市某路 1 号".to_string(),
            },
        },
        EventKind::ResultFormReturned,
        EventKind::Archived,
        EventKind::ReportedUpward { opinion: "材料齐全,同意上报".to_string() },
        EventKind::Withdrawn { reason: "申请人主动撤回".to_string() },
        EventKind::FileRemovalConsented { reason: "送市局会审".to_string() },
        EventKind::MaterialsScanned {
            scans: vec![yikou_schema::case::Scan {
                material: MaterialCode::new("M1"),
                hash: "af1349b9f5f9a1a6a0404dea36dcc9499bcb25c9adc112b7cc9a93cae41f3262".to_string(),
                bytes: 0,
                media_type: "application/pdf".to_string(),
            }],
        },
        EventKind::Rated { score: 5 },
        EventKind::ConflictResolved {
            conflict: ConflictId("two_decisions:1772414100000.0000@town-a".to_string()),
            note: "以县局决定为准".to_string(),
        },
        EventKind::ProvincialNumberAssigned { number: "41000026030200001".to_string() },
    ];
    for (i, duty) in duties.iter().enumerate() {
        kinds.push(EventKind::CardIssued { duty: duty.clone(), level: levels[i % levels.len()] });
    }
    kinds.push(EventKind::CardRevoked {
        duty: DutyKind::Handover(dept(DEPT)), reason: "系误发".to_string()
    });
    kinds
}

pub const ROLES: usize = 7;

pub fn role(i: usize) -> Role {
    match i % ROLES {
        0 => Role::WindowClerk,
        1 => Role::DepartmentReviewer(dept(DEPT)),
        2 => Role::IssuingWindow,
        3 => Role::HallCentre,
        4 => Role::Supervisor,
        5 => Role::Auditor,
        _ => Role::System,
    }
}

/// The number of [`EventKind`] variants; [`kind_index`] names each one.
pub const EVENT_KINDS: usize = 28;

/// An exhaustive match (no wildcard): adding an event kind to the schema breaks the build here
/// until the kind gets an index, and the coverage test fails until the fixture holds one.
pub fn kind_index(kind: &EventKind) -> usize {
    match kind {
        EventKind::Received { .. } => 0,
        EventKind::PreAccepted { .. } => 1,
        EventKind::Accepted { .. } => 2,
        EventKind::ToleranceAccepted { .. } => 3,
        EventKind::CorrectionNotice { .. } => 4,
        EventKind::Resubmitted { .. } => 5,
        EventKind::NotAccepted { .. } => 6,
        EventKind::HandedOver { .. } => 7,
        EventKind::HandoverSigned { .. } => 8,
        EventKind::SpecialProcedureStarted { .. } => 9,
        EventKind::SpecialProcedureEnded => 10,
        EventKind::SupplementReceived { .. } => 11,
        EventKind::ProposedDecision { .. } => 12,
        EventKind::Decided { .. } => 13,
        EventKind::ResultToIssuing { .. } => 14,
        EventKind::Notified { .. } => 15,
        EventKind::Delivered { .. } => 16,
        EventKind::ResultFormReturned => 17,
        EventKind::Archived => 18,
        EventKind::ReportedUpward { .. } => 19,
        EventKind::Withdrawn { .. } => 20,
        EventKind::FileRemovalConsented { .. } => 21,
        EventKind::CardIssued { .. } => 22,
        EventKind::CardRevoked { .. } => 23,
        EventKind::Rated { .. } => 24,
        EventKind::ConflictResolved { .. } => 25,
        EventKind::ProvincialNumberAssigned { .. } => 26,
        EventKind::MaterialsScanned { .. } => 27,
    }
}

/// A case holding every event kind, one minute apart, each by a different role in turn, on two
/// nodes; the header has an organisation applicant, an agent, and an item with every optional part.
pub fn every_kind_case() -> Case {
    let mut header = header(full_item(), applicant_id("organisation"), 2);
    header.agent = Some(agent());
    let events = every_event_kind()
        .into_iter()
        .enumerate()
        .map(|(i, kind)| {
            let at = t("2026-03-02 09:00") + chrono::Duration::minutes(i64::try_from(i).expect("small"));
            let node = if i % 2 == 0 { TOWN } else { HALL };
            let role = role(i);
            Event {
                hlc: Hlc {
                    wall_ms: ms_from_local(at),
                    counter: u32::try_from(i % 3).expect("small"),
                    node: NodeName::new(node),
                },
                actor: Actor { staff: StaffId::new(format!("staff-{i}")), role, node: NodeName::new(node) },
                kind,
            }
        })
        .collect();
    Case { header, events }
}
