//! The front desk over a real sled store: queue tickets (W1.1), appointments against the node's
//! quota share (W1.2–W1.4, O4) and the consultation ledger (W2), with the permission matrix and
//! refusals that write nothing.

use std::path::Path;
use std::sync::Arc;

use chrono::{NaiveDateTime, NaiveTime, TimeDelta};
use yikou_node::clock::Clock;
use yikou_node::doc::RefKind;
use yikou_node::service::desk::{ConsultationRequest, TicketRequest, business_of, node_share};
use yikou_node::service::{NodeInfo, Service, ServiceError, Staff};
use yikou_node::store::attachments::AttachmentStore;
use yikou_node::store::{CaseStore, Kv, SledKv, StoreConfig};
use yikou_schema::actor::Role;
use yikou_schema::calendar::WorkCalendar;
use yikou_schema::catalog::Catalog;
use yikou_schema::codes::{DepartmentCode, ItemCode, NodeName, StaffId};
use yikou_schema::consultation::{
    Answer, Category, Cause, OneTimeNotice, Problem, ProblemKind, QUESTION_CHARS_MAX, RemoteChannel,
};
use yikou_schema::ids::NodeCode;
use yikou_schema::queue::{AppointmentRequest, AppointmentStatus, CancelReason, QuotaPlan, TicketKind};

const PERSON: &str = "11010519491231002X";
const ORGANISATION: &str = "91350100M000100Y43";

fn open_service(dir: &Path, name: &str, hall: bool) -> Service {
    let kv: Arc<dyn Kv> = Arc::new(SledKv::open(&dir.join("kv")).expect("sled"));
    let store = Arc::new(
        CaseStore::open(
            kv.clone(),
            name.as_bytes().to_vec(),
            StoreConfig::default(),
            WorkCalendar::builtin(),
        )
        .expect("store"),
    );
    if store.reference::<Catalog>(RefKind::Catalog).expect("read").is_none() {
        store.put_reference(RefKind::Catalog, &Catalog::sample()).expect("catalog");
    }
    let attachments = Arc::new(AttachmentStore::open(&dir.join("att"), 1 << 20).expect("attachments"));
    let info = NodeInfo {
        name: NodeName::new(name),
        code: NodeCode::parse("410184001").expect("node code"),
        scope: "county".into(),
        hall,
    };
    Service::new(info, store, kv, attachments, Arc::new(Clock::system()))
}

fn staff(role: Role) -> Staff {
    Staff { id: StaffId::new("s-1"), name: "王五".into(), role }
}

fn window() -> Staff {
    staff(Role::WindowClerk)
}

fn reviewer(dept: &str) -> Staff {
    Staff {
        id: StaffId::new(format!("r-{dept}")),
        name: "李四".into(),
        role: Role::DepartmentReviewer(DepartmentCode::new(dept)),
    }
}

fn ticket(kind: TicketKind, department: Option<&str>) -> TicketRequest {
    TicketRequest { kind, department: department.map(str::to_string), remote: false }
}

/// Every key in the store (to prove a refusal wrote nothing).
fn keys(service: &Service) -> Vec<Vec<u8>> {
    service.kv().range(b"", &[0xff], 1_000_000).expect("range").into_iter().map(|(k, _)| k).collect()
}

fn code(e: &ServiceError) -> (u16, &str, Option<&str>) {
    (e.status, e.code.as_str(), e.rule.as_deref())
}

/// The next working day after today, 09:00.
fn next_workday_at_nine(service: &Service) -> NaiveDateTime {
    let day = WorkCalendar::builtin().next_workday(service.today()).expect("calendar").at;
    day.and_time(NaiveTime::from_hms_opt(9, 0, 0).expect("time"))
}

fn appointment(business: &str, at: NaiveDateTime) -> AppointmentRequest {
    AppointmentRequest {
        business: ItemCode::new(business),
        date: at.date(),
        slot: at.time(),
        applicant_id: PERSON.into(),
        agent_id: None,
        organisation: false,
    }
}

fn question(department: &str, item: Option<&str>, text: &str) -> ConsultationRequest {
    ConsultationRequest {
        ticket: None,
        item: item.map(str::to_string),
        department: department.into(),
        remote: None,
        question: text.into(),
        category: Category::Materials,
        cause: Cause::InformationNotPublic,
        one_time_notice: None,
    }
}

#[test]
fn tickets_number_consecutively_per_kind_and_survive_a_reopen() {
    // rule W1.1: intake and consultation numbers, consecutive per kind, never reissued after a
    // restart (the dispenser is durable before the number is shown, O2).
    let dir = tempfile::tempdir().expect("tempdir");
    let service = open_service(dir.path(), "hall", true);
    let today = service.today().format("%Y%m%d").to_string();
    let a1 = service.issue_ticket(&window(), &ticket(TicketKind::Intake, None)).expect("A1");
    let a2 = service.issue_ticket(&window(), &ticket(TicketKind::Intake, None)).expect("A2");
    let c1 = service.issue_ticket(&window(), &ticket(TicketKind::Consultation, None)).expect("C1");
    assert_eq!(
        (a1.display_number.as_str(), a2.display_number.as_str(), c1.display_number.as_str()),
        ("A0001", "A0002", "C0001")
    );
    assert_eq!(a1.id, format!("hall-{today}-A0001"));
    assert!(a1.call.is_none() && c1.call.is_none());
    drop(service);

    let service = open_service(dir.path(), "hall", true);
    let a3 = service.issue_ticket(&window(), &ticket(TicketKind::Intake, None)).expect("A3");
    let c2 = service.issue_ticket(&window(), &ticket(TicketKind::Consultation, None)).expect("C2");
    assert_eq!((a3.display_number.as_str(), c2.display_number.as_str()), ("A0003", "C0002"));
}

#[test]
fn a_consultation_number_calls_the_department() {
    // rule W2.1: a consultation number with a department calls it at once; rule W2.4: remotely
    // when it is not in the hall.
    let dir = tempfile::tempdir().expect("tempdir");
    let service = open_service(dir.path(), "hall", true);
    let answer =
        service.issue_ticket(&window(), &ticket(TicketKind::Consultation, Some("BDCDJ"))).expect("C1");
    let call = answer.call.expect("a call");
    assert_eq!(call.department, DepartmentCode::new("BDCDJ"));
    assert!(!call.remote);
    assert!(answer.call_message.expect("text").contains("C0001"));
    let remote = TicketRequest { remote: true, ..ticket(TicketKind::Consultation, Some("GJJ")) };
    let answer = service.issue_ticket(&window(), &remote).expect("C2");
    assert!(answer.call.expect("a call").remote);

    // An intake number calls nobody; an unknown department is refused; neither uses a number.
    let before = keys(&service);
    let e = service.issue_ticket(&window(), &ticket(TicketKind::Intake, Some("BDCDJ"))).expect_err("intake");
    assert_eq!(code(&e), (422, "consultation.not_a_consultation_ticket", Some("W2.1")));
    let e =
        service.issue_ticket(&window(), &ticket(TicketKind::Consultation, Some("NOPE"))).expect_err("dept");
    assert_eq!(code(&e), (422, "consultation.department_unknown", Some("W2.1")));
    assert_eq!(keys(&service), before);
    let next = service.issue_ticket(&window(), &ticket(TicketKind::Consultation, None)).expect("C3");
    assert_eq!(next.display_number, "C0003");
}

#[test]
fn an_auditor_may_not_issue_tickets_nor_book() {
    // rule W1.1: only the window hands out numbers and books appointments.
    let dir = tempfile::tempdir().expect("tempdir");
    let service = open_service(dir.path(), "hall", true);
    let before = keys(&service);
    let e =
        service.issue_ticket(&staff(Role::Auditor), &ticket(TicketKind::Intake, None)).expect_err("auditor");
    assert_eq!(code(&e), (403, "permission.denied", Some("W1.1")));
    let at = next_workday_at_nine(&service);
    let e = service.book_appointment(&staff(Role::Auditor), &appointment("RS004", at)).expect_err("auditor");
    assert_eq!(code(&e), (403, "permission.denied", Some("W1.1")));
    assert_eq!(keys(&service), before);
}

#[test]
fn an_appointment_beyond_the_nodes_quota_is_refused_with_the_numbers() {
    // rule W1.3: RS004 averages 12 cases a day, so 10 % gives a cap of 1; without a quota plan
    // the hall holds the whole cap (rule O4).
    let dir = tempfile::tempdir().expect("tempdir");
    let service = open_service(dir.path(), "hall", true);
    let at = next_workday_at_nine(&service);
    let first = service.book_appointment(&window(), &appointment("RS004", at)).expect("booked");
    assert!(first.booked);
    let booked = first.appointment.expect("appointment");
    assert_eq!(booked.booking.id, format!("hall-{}-RS004-B0001", at.date().format("%Y%m%d")));
    assert_eq!((first.quota.cap, first.quota.node_share, first.quota.used, first.quota.left), (1, 1, 1, 0));

    let before = keys(&service);
    let second = service.book_appointment(&window(), &appointment("RS004", at)).expect("an answer");
    assert!(!second.booked);
    assert!(second.appointment.is_none());
    assert_eq!(
        (second.quota.cap, second.quota.node_share, second.quota.used, second.quota.left),
        (1, 1, 1, 0)
    );
    let refusal = second.refusal.expect("refusal");
    assert_eq!((refusal.code.as_str(), refusal.rule.as_str()), ("queue.quota_exhausted", "W1.3"));
    assert!(refusal.message.contains("1/1"), "{}", refusal.message);
    assert_eq!(keys(&service), before, "a refused booking writes nothing");

    let listed = service.list_appointments(&window(), at.date(), None).expect("list");
    assert_eq!(listed, vec![booked.clone()]);
    assert!(service.list_appointments(&window(), at.date(), Some("GJJ002")).expect("list").is_empty());
}

#[test]
fn a_township_books_only_its_share_of_the_plan() {
    // rule O4, rule W1.3: without a plan a township holds no right (only the hall books, so a
    // partition can never double the cap); with a plan each node books its split of each
    // business's cap.
    let dir = tempfile::tempdir().expect("tempdir");
    let service = open_service(dir.path(), "town-a", false);
    let at = next_workday_at_nine(&service);
    let answer = service.book_appointment(&window(), &appointment("GJJ002", at)).expect("answer");
    assert!(!answer.booked);
    assert_eq!((answer.quota.cap, answer.quota.node_share), (20, 0));

    // GJJ003 averages 60 a day: cap 6, split 3:1 between the hall and town-a gives 1 here (the
    // tied remainder goes to the hall); GJJ002's cap 20 splits 15 + 5.
    let plan = QuotaPlan::split(4, &[(NodeName::new("hall"), 3), (NodeName::new("town-a"), 1)]);
    service.store().put_reference(RefKind::QuotaPlan, &plan).expect("plan");
    let answer = service.book_appointment(&window(), &appointment("GJJ003", at)).expect("answer");
    assert!(answer.booked);
    assert_eq!((answer.quota.cap, answer.quota.node_share, answer.quota.left), (6, 1, 0));
    let sum: u32 = ["hall", "town-a", "town-b"]
        .iter()
        .map(|n| node_share(Some(&plan), 20, &NodeName::new(*n), false))
        .sum();
    assert_eq!(sum, 20, "the shares of every node sum to the cap");
    assert_eq!(node_share(None, 20, &NodeName::new("hall"), true), 20);
    assert_eq!(node_share(None, 20, &NodeName::new("town-a"), false), 0);
}

#[test]
fn booking_needs_an_eligible_area_and_valid_ids() {
    // rule W1.2: appointments only for real estate, housing fund and social security, with a
    // valid ID (an organisation: its credit code and the agent's ID); nothing written on refusal.
    let dir = tempfile::tempdir().expect("tempdir");
    let service = open_service(dir.path(), "hall", true);
    let at = next_workday_at_nine(&service);
    let before = keys(&service);
    let e = service.book_appointment(&window(), &appointment("SC001", at)).expect_err("enterprise");
    assert_eq!(code(&e), (422, "queue.not_eligible", Some("W1.2")));
    let mut org = appointment("GJJ002", at);
    org.organisation = true;
    org.applicant_id = ORGANISATION.into();
    let e = service.book_appointment(&window(), &org).expect_err("no agent");
    assert_eq!(code(&e), (422, "queue.agent_id_missing", Some("W1.2")));
    let mut blank = appointment("GJJ002", at);
    blank.applicant_id = "  ".into();
    let e = service.book_appointment(&window(), &blank).expect_err("no id");
    assert_eq!(code(&e), (422, "queue.applicant_id_missing", Some("W1.2")));
    let mut bad = appointment("GJJ002", at);
    bad.applicant_id = "110105194912310021".into();
    let e = service.book_appointment(&window(), &bad).expect_err("bad checksum");
    assert_eq!(e.status, 422);
    let mut unflagged = appointment("GJJ002", at);
    unflagged.applicant_id = ORGANISATION.into();
    let e = service.book_appointment(&window(), &unflagged).expect_err("organisation as person");
    assert_eq!(code(&e), (422, "appointment.organisation_unflagged", Some("W1.2")));
    let far = at + TimeDelta::days(60);
    let e = service.book_appointment(&window(), &appointment("GJJ002", far)).expect_err("far");
    assert_eq!(e.code, "appointment.too_far_ahead");
    let past = at - TimeDelta::days(7);
    let e = service.book_appointment(&window(), &appointment("GJJ002", past)).expect_err("past");
    assert_eq!(e.status, 422);
    assert_eq!(keys(&service), before);

    org.agent_id = Some(PERSON.into());
    assert!(service.book_appointment(&window(), &org).expect("organisation").booked);
}

#[test]
fn a_no_show_is_cancelled_one_hour_after_its_time() {
    // rule W1.4: at +60 min the appointment stands; one second later the expiry pass cancels it
    // and a late arrival is refused.
    let dir = tempfile::tempdir().expect("tempdir");
    let service = open_service(dir.path(), "hall", true);
    let at = next_workday_at_nine(&service);
    let late = service.book_appointment(&window(), &appointment("GJJ002", at)).expect("b1");
    let on_time = service.book_appointment(&window(), &appointment("GJJ002", at)).expect("b2");
    let lapsing = service.book_appointment(&window(), &appointment("GJJ002", at)).expect("b3");
    let late_id = late.appointment.expect("a").booking.id;
    let on_time_id = on_time.appointment.expect("a").booking.id;
    let lapsing_id = lapsing.appointment.expect("a").booking.id;

    // Move the clock to 09:30 of that day: the applicant arrives in time.
    let ms = (at + TimeDelta::minutes(30) - service.now()).num_milliseconds();
    service.clock().advance_ms(ms);
    let arrived = service.take_up(&window(), &on_time_id).expect("in time");
    assert!(matches!(arrived.status, AppointmentStatus::Arrived { .. }));
    let e = service.take_up(&window(), &on_time_id).expect_err("twice");
    assert_eq!(code(&e), (409, "queue.appointment_not_booked", Some("W1.4")));
    assert_eq!(service.expire_appointments(at + TimeDelta::minutes(60)).expect("pass"), 0);

    // 10:01: a late arrival is refused, and the refusal writes nothing.
    service.clock().advance_ms(TimeDelta::minutes(31).num_milliseconds());
    let before = keys(&service);
    let e = service.take_up(&window(), &late_id).expect_err("late");
    assert_eq!(code(&e), (409, "queue.appointment_expired", Some("W1.4")));
    assert_eq!(keys(&service), before);
    // The pass cancels both lapsed ones, one second after the later one's hour, and nothing more
    // afterwards.
    let just_after = at + TimeDelta::minutes(60) + TimeDelta::seconds(1);
    assert_eq!(service.expire_appointments(just_after).expect("pass"), 2);
    assert_eq!(service.expire_appointments(service.now()).expect("pass"), 0);

    let listed = service.list_appointments(&window(), at.date(), None).expect("list");
    let status = |id: &str| listed.iter().find(|a| a.booking.id == id).expect("listed").status;
    assert_eq!(status(&late_id), AppointmentStatus::Cancelled { reason: CancelReason::NoShow });
    assert_eq!(status(&lapsing_id), AppointmentStatus::Cancelled { reason: CancelReason::NoShow });
    assert!(matches!(status(&on_time_id), AppointmentStatus::Arrived { .. }));
    // The open index is empty again: nothing left for later passes.
    assert!(keys(&service).iter().all(|k| !k.starts_with(b"q/o/")));
}

#[test]
fn cancelling_an_appointment() {
    // rule W1.4: no-shows are the node's own act; rule O4: a supervisor's cancellation needs a
    // supervisor; the right stays spent.
    let dir = tempfile::tempdir().expect("tempdir");
    let service = open_service(dir.path(), "hall", true);
    let at = next_workday_at_nine(&service);
    let id = |a: yikou_node::service::desk::AppointmentAnswer| a.appointment.expect("booked").booking.id;
    let a = id(service.book_appointment(&window(), &appointment("GJJ002", at)).expect("a"));
    let b = id(service.book_appointment(&window(), &appointment("GJJ002", at)).expect("b"));
    let e = service.cancel_appointment(&window(), &a, CancelReason::NoShow).expect_err("automatic");
    assert_eq!(code(&e), (422, "appointment.no_show_is_automatic", Some("W1.4")));
    let e =
        service.cancel_appointment(&window(), &a, CancelReason::Supervisor).expect_err("not a supervisor");
    assert_eq!(e.status, 403);
    let done = service.cancel_appointment(&window(), &a, CancelReason::Applicant).expect("withdrawn");
    assert_eq!(done.status, AppointmentStatus::Cancelled { reason: CancelReason::Applicant });
    let e = service.cancel_appointment(&window(), &a, CancelReason::Applicant).expect_err("twice");
    assert_eq!(e.status, 409);
    service.cancel_appointment(&staff(Role::Supervisor), &b, CancelReason::Supervisor).expect("supervisor");
    let e = service.cancel_appointment(&window(), "hall-nope", CancelReason::Applicant).expect_err("unknown");
    assert_eq!(code(&e), (404, "appointment.not_found", None));
    let next = service.book_appointment(&window(), &appointment("GJJ002", at)).expect("c");
    assert_eq!(next.quota.used, 3, "cancelled appointments keep counting against the quota");
}

#[test]
fn a_hard_question_is_deferred_two_working_days_and_answered_by_its_department() {
    // rule W2.3: due on the second working day after the day asked; rule W2.1: the department
    // answers, the window registers.
    let dir = tempfile::tempdir().expect("tempdir");
    let service = open_service(dir.path(), "hall", true);
    let today = service.today();
    let entry = service
        .record_consultation(&window(), &question("BDCDJ", Some("BDC002"), "继承房产如何办理转移登记"))
        .expect("registered");
    assert_eq!(entry.id, format!("hall-{}-0001", today.format("%Y%m%d")));
    assert_eq!(entry.counsellor, StaffId::new("s-1"));
    let deferred = service.defer_consultation(&window(), &entry.id).expect("deferred");
    let due = WorkCalendar::builtin().add_workdays(today, 2).expect("calendar");
    assert_eq!(deferred.answer, Answer::Deferred { due });
    let e = service.defer_consultation(&window(), &entry.id).expect_err("twice");
    assert_eq!(code(&e), (409, "consultation.cannot_defer", Some("W2.3")));

    let e = service.answer_consultation(&window(), &entry.id, "按继承登记办理").expect_err("window");
    assert_eq!(code(&e), (403, "consultation.department_answers", Some("W2.3")));
    let e =
        service.answer_consultation(&reviewer("GJJ"), &entry.id, "按继承登记办理").expect_err("other dept");
    assert_eq!(e.status, 403);
    let e = service.answer_consultation(&reviewer("BDCDJ"), &entry.id, "  ").expect_err("empty");
    assert_eq!(code(&e), (422, "consultation.answer_missing", Some("W2.3")));
    let answered =
        service.answer_consultation(&reviewer("BDCDJ"), &entry.id, "按继承登记办理").expect("answered");
    assert!(matches!(answered.answer, Answer::Answered { due: d, .. } if d == due));
    let e = service.answer_consultation(&reviewer("BDCDJ"), &entry.id, "再答").expect_err("answered");
    assert_eq!(code(&e), (409, "consultation.not_deferred", Some("W2.3")));
    let listed = service.list_consultations(&window(), today, today).expect("list");
    assert_eq!(listed, vec![answered]);
}

#[test]
fn the_analysis_counts_the_ledger() {
    // rule W2.5: classified and analysed (which items generate most questions, and why); rule
    // W2.2: a pre-review's one-time notice is kept on the entry.
    let dir = tempfile::tempdir().expect("tempdir");
    let service = open_service(dir.path(), "hall", true);
    let today = service.today();
    service.record_consultation(&window(), &question("BDCDJ", Some("BDC002"), "要带哪些材料")).expect("1");
    service.record_consultation(&window(), &question("BDCDJ", Some("BDC002"), "完税凭证在哪开")).expect("2");
    let mut remote = question("GJJ", Some("GJJ002"), "提取条件");
    remote.remote = Some(RemoteChannel::Phone);
    remote.category = Category::Conditions;
    remote.cause = Cause::None;
    service.record_consultation(&reviewer("GJJ"), &remote).expect("3");
    let mut pre_review = question("BDCDJ", Some("BDC001"), "材料预审");
    pre_review.category = Category::PreReview;
    pre_review.cause = Cause::None;
    pre_review.one_time_notice = Some(OneTimeNotice {
        problems: vec![Problem {
            kind: ProblemKind::Missing,
            material: Some("竣工验收备案表".into()),
            description: "未提供".into(),
            requirement: "补充原件".into(),
        }],
    });
    let noticed = service.record_consultation(&window(), &pre_review).expect("4");
    let e = service.defer_consultation(&window(), &noticed.id).expect_err("notice given");
    assert_eq!(e.code, "consultation.cannot_defer");
    let hard = service.record_consultation(&window(), &question("BDCDJ", None, "历史遗留房产")).expect("5");
    service.defer_consultation(&window(), &hard.id).expect("deferred");

    let a = service.consultation_analysis(&staff(Role::Supervisor), today, today).expect("analysis");
    assert_eq!(a.total, 5);
    assert_eq!(a.by_category[&Category::Materials], 3);
    assert_eq!(a.by_cause[&Cause::InformationNotPublic], 3);
    assert_eq!((a.on_site, a.remote[&RemoteChannel::Phone]), (4, 1));
    assert_eq!(a.hard_questions, 1);
    let top: Vec<(&str, u32)> = a.top_items.iter().map(|t| (t.item.as_str(), t.count)).collect();
    assert_eq!(top, vec![("BDC002", 2), ("BDC001", 1), ("GJJ002", 1)]);
    assert_eq!(service.consultations_between(today, today).expect("between").len(), 5);
    assert!(
        service
            .consultations_between(today + TimeDelta::days(1), today + TimeDelta::days(9))
            .expect("empty")
            .is_empty()
    );

    // The window registers but does not read reports; a reviewer registers for its own department only.
    let e = service.consultation_analysis(&window(), today, today).expect_err("window");
    assert_eq!(code(&e), (403, "permission.denied", Some("W10")));
    let e = service.record_consultation(&reviewer("GJJ"), &question("BDCDJ", None, "问")).expect_err("other");
    assert_eq!(code(&e), (403, "consultation.other_department", Some("W2.1")));
    let e = service
        .record_consultation(&staff(Role::Auditor), &question("BDCDJ", None, "问"))
        .expect_err("auditor");
    assert_eq!(code(&e), (403, "permission.denied", Some("W2.1")));
    let e = service.list_consultations(&window(), today, today - TimeDelta::days(1)).expect_err("range");
    assert_eq!(e.code, "desk.range_invalid");
}

#[test]
fn bad_consultation_input_is_refused_and_writes_nothing() {
    // rule W2.5: a brief record within bounds; nothing written, no number used, on refusal.
    let dir = tempfile::tempdir().expect("tempdir");
    let service = open_service(dir.path(), "hall", true);
    let before = keys(&service);
    let e = service.record_consultation(&window(), &question("BDCDJ", None, "  ")).expect_err("empty");
    assert_eq!(code(&e), (422, "consultation.question_missing", Some("W2.5")));
    let long = "问".repeat(QUESTION_CHARS_MAX + 1);
    let e = service.record_consultation(&window(), &question("BDCDJ", None, &long)).expect_err("long");
    assert_eq!((e.status, e.code.as_str()), (422, "consultation.too_long"));
    let e = service.record_consultation(&window(), &question("NOPE", None, "问")).expect_err("dept");
    assert_eq!(code(&e), (422, "consultation.department_unknown", Some("W2.1")));
    let e = service.record_consultation(&window(), &question("BDCDJ", Some("NOPE"), "问")).expect_err("item");
    assert_eq!(e.code, "consultation.item_unknown");
    let mut bad_ticket = question("BDCDJ", None, "问");
    bad_ticket.ticket = Some("hall-20260302-A0001".into());
    let e = service.record_consultation(&window(), &bad_ticket).expect_err("intake ticket");
    assert_eq!(e.code, "consultation.ticket_invalid");
    let mut empty_notice = question("BDCDJ", None, "问");
    empty_notice.one_time_notice = Some(OneTimeNotice { problems: vec![] });
    let e = service.record_consultation(&window(), &empty_notice).expect_err("notice");
    assert_eq!(code(&e), (422, "consultation.notice_empty", Some("W2.2")));
    let e = service.defer_consultation(&window(), "hall-19990101-0001").expect_err("unknown");
    assert_eq!(e.status, 404);
    assert_eq!(keys(&service), before);

    let first = service.record_consultation(&window(), &question("BDCDJ", None, "问")).expect("ok");
    assert!(first.id.ends_with("-0001"), "refusals used no number: {}", first.id);
}

#[test]
fn requests_read_from_json() {
    // The API's request shapes (the lead's routes deserialise these).
    let t: TicketRequest =
        serde_json::from_str(r#"{"kind":"Consultation","department":"BDCDJ"}"#).expect("ticket");
    assert_eq!((t.kind, t.remote), (TicketKind::Consultation, false));
    let q: ConsultationRequest = serde_json::from_str(
        r#"{"department":"GJJ","question":"提取条件","category":"Conditions","remote":"Video"}"#,
    )
    .expect("consultation");
    assert_eq!((q.cause, q.remote), (Cause::None, Some(RemoteChannel::Video)));
    assert!(serde_json::from_str::<TicketRequest>(r#"{"kind":"Intake","extra":1}"#).is_err());
    let item = Catalog::sample().item(&ItemCode::new("SC001")).cloned().expect("item");
    assert!(!business_of(&item).eligible);
}

#[test]
fn the_day_counter_bound_and_a_corrupt_record() {
    // rule W2.5: at most CONSULTATIONS_PER_DAY_MAX entries a day (four digits of the id); a
    // record failing its checksum is an internal error, never a reset counter (rule W1.1).
    use yikou_node::service::desk::CONSULTATIONS_PER_DAY_MAX;
    use yikou_node::store::{WriteBatch, record};
    let dir = tempfile::tempdir().expect("tempdir");
    let service = open_service(dir.path(), "hall", true);
    let day = service.today().format("%Y%m%d").to_string();
    let mut batch = WriteBatch::default();
    let json = serde_json::to_vec(&(CONSULTATIONS_PER_DAY_MAX - 1)).expect("json");
    batch.put(format!("k/n/{day}").into_bytes(), record::seal(&json));
    batch.put(format!("q/t/{day}").into_bytes(), b"torn".to_vec());
    service.kv().apply(&batch).expect("poke");
    let last = service.record_consultation(&window(), &question("BDCDJ", None, "问")).expect("the last");
    assert_eq!(last.id, format!("hall-{day}-{CONSULTATIONS_PER_DAY_MAX}"));
    let e = service.record_consultation(&window(), &question("BDCDJ", None, "问")).expect_err("full");
    assert_eq!(code(&e), (409, "consultation.day_full", Some("W2.5")));
    let e = service.issue_ticket(&window(), &ticket(TicketKind::Intake, None)).expect_err("corrupt");
    assert_eq!((e.status, e.code.as_str()), (500, "internal"));
    assert!(e.message.contains("校验失败"), "{}", e.message);
}
