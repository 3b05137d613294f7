//! The supervision engine (W9) over every timed duty, with the real working-day calendar.

mod common;

use common::*;
use yikou_schema::actor::Role;
use yikou_schema::case::*;
use yikou_schema::supervision::{self, Duty, Limit, Policy};

fn level_at(case: &Case, w: &World, kind: &DutyKind, now: &str) -> Level {
    let all = supervision::assess_case(&case.header, &case.state(), t(now), &w.cal, &Policy::default())
        .expect("assessable");
    all.into_iter().find(|a| a.kind == *kind).map(|a| a.level).unwrap_or_else(|| panic!("no duty {kind:?}"))
}

fn accepted(w: &World, at: &str) -> Case {
    let mut case = w.open(plain_item(), at, &["K1", "K2", "T1", "T2"]);
    w.rec(&mut case, at, clerk(), EventKind::Accepted { presented: vec![] });
    case
}

/// Accepted 2026-03-02 09:10, handed over at 10:00 and signed at 10:30: in review.
fn in_review(w: &World) -> Case {
    let mut case = accepted(w, "2026-03-02 09:10");
    w.rec(
        &mut case,
        "2026-03-02 10:00",
        clerk(),
        EventKind::HandedOver { department: dept(DEPT), paper: true },
    );
    w.rec(
        &mut case,
        "2026-03-02 10:30",
        reviewer(DEPT),
        EventKind::HandoverSigned { department: dept(DEPT) },
    );
    case
}

#[test]
fn decision_duty_goes_warning_yellow_red() {
    // rule W9: warning when <= 2 working days remain, yellow past the promised limit, red past the
    // statutory limit. Promised 5, statutory 20 working days from 2026-03-02 (Mon):
    // promised due 2026-03-09 (Mon), statutory due 2026-03-30 (Mon).
    let w = World::new();
    let case = accepted(&w, "2026-03-02 09:10");
    let kind = DutyKind::Decision;
    assert_eq!(level_at(&case, &w, &kind, "2026-03-03 09:00"), Level::Normal); // 4 left
    assert_eq!(level_at(&case, &w, &kind, "2026-03-04 09:00"), Level::Normal); // 3 left
    assert_eq!(level_at(&case, &w, &kind, "2026-03-05 09:00"), Level::Warning); // 2 left
    assert_eq!(level_at(&case, &w, &kind, "2026-03-09 23:59"), Level::Warning); // due day
    assert_eq!(level_at(&case, &w, &kind, "2026-03-10 00:00"), Level::Yellow);
    assert_eq!(level_at(&case, &w, &kind, "2026-03-30 23:59"), Level::Yellow);
    assert_eq!(level_at(&case, &w, &kind, "2026-03-31 00:00"), Level::Red);
}

#[test]
fn a_one_day_warning_policy_warns_later() {
    // rule W9: the warning threshold is a local setting (some cities: 1 working day).
    let w = World::new();
    let case = accepted(&w, "2026-03-02 09:10");
    let policy = Policy { warning_workdays: 1 };
    let at = |now: &str| {
        supervision::assess_case(&case.header, &case.state(), t(now), &w.cal, &policy)
            .expect("assessable")
            .into_iter()
            .find(|a| a.kind == DutyKind::Decision)
            .map(|a| a.level)
    };
    assert_eq!(at("2026-03-05 09:00"), Some(Level::Normal));
    assert_eq!(at("2026-03-06 09:00"), Some(Level::Warning));
}

#[test]
fn holidays_do_not_count() {
    // rule W9 with the calendar: accepted 2026-09-29, 5 working days -> due 2026-10-12 (Mon),
    // across National Day and the Saturday make-up day 2026-10-10.
    let w = World::new();
    let case = accepted(&w, "2026-09-29 10:00");
    let a = supervision::assess_case(
        &case.header,
        &case.state(),
        t("2026-10-05 10:00"),
        &w.cal,
        &Policy::default(),
    )
    .expect("assessable");
    let decision = a.iter().find(|a| a.kind == DutyKind::Decision).expect("decision duty");
    assert_eq!(decision.due, t("2026-10-13 00:00"));
    assert_eq!(decision.remaining_workdays, 4);
    assert_eq!(decision.level, Level::Normal);
}

#[test]
fn the_special_procedure_extends_the_limit_by_the_paused_working_time() {
    // rule W9: paused time (special procedure) excluded, part-days rounded up.
    let w = World::new();
    let mut case = in_review(&w);
    // Paused from Tue 10:00 to Thu 09:00: 1 day 23 hours of working time -> 2 days.
    w.rec(
        &mut case,
        "2026-03-03 10:00",
        reviewer(DEPT),
        EventKind::SpecialProcedureStarted { reason: "检验检测".into() },
    );
    w.rec(&mut case, "2026-03-05 09:00", reviewer(DEPT), EventKind::SpecialProcedureEnded);
    let a = supervision::assess_case(
        &case.header,
        &case.state(),
        t("2026-03-10 09:00"),
        &w.cal,
        &Policy::default(),
    )
    .expect("assessable");
    let decision = a.iter().find(|a| a.kind == DutyKind::Decision).expect("decision duty");
    // 5 + 2 working days after 2026-03-02: 2026-03-11.
    assert_eq!(decision.due, t("2026-03-12 00:00"));
    assert_eq!(decision.level, Level::Warning);
    // An open pause keeps extending the limit while it lasts.
    let open = Duty {
        kind: DutyKind::Decision,
        started: t("2026-03-02 09:00"),
        promised: Limit::WorkingDays(1),
        statutory: None,
        pauses: vec![(t("2026-03-02 12:00"), None)],
        done: None,
    };
    let a =
        supervision::assess(&open, t("2026-03-20 12:00"), &w.cal, &Policy::default()).expect("assessable");
    assert_ne!(a.level, Level::Yellow, "the clock is stopped: {a:?}");
}

#[test]
fn late_handover_draws_a_card() {
    // rule W4.1: morning paper by 14:00 the same day; the duty is watched by supervision (W9).
    let w = World::new();
    let case = accepted(&w, "2026-03-02 09:10");
    let kind = DutyKind::Handover(dept(DEPT));
    assert_eq!(level_at(&case, &w, &kind, "2026-03-02 09:30"), Level::Warning); // due today
    assert_eq!(level_at(&case, &w, &kind, "2026-03-02 14:01"), Level::Yellow);
    // Afternoon paper: 09:30 next working day.
    let afternoon = accepted(&w, "2026-03-06 15:00"); // Friday
    assert_eq!(level_at(&afternoon, &w, &kind, "2026-03-07 12:00"), Level::Normal);
    assert_eq!(level_at(&afternoon, &w, &kind, "2026-03-09 09:29"), Level::Warning);
    assert_eq!(level_at(&afternoon, &w, &kind, "2026-03-09 09:31"), Level::Yellow);
}

#[test]
fn a_duty_done_on_time_stays_normal_and_a_late_one_keeps_its_colour() {
    // rule W9
    let w = World::new();
    let mut case = accepted(&w, "2026-03-02 09:10");
    w.rec(
        &mut case,
        "2026-03-02 13:00",
        clerk(),
        EventKind::HandedOver { department: dept(DEPT), paper: true },
    );
    w.rec(
        &mut case,
        "2026-03-02 13:30",
        reviewer(DEPT),
        EventKind::HandoverSigned { department: dept(DEPT) },
    );
    let kind = DutyKind::Handover(dept(DEPT));
    assert_eq!(level_at(&case, &w, &kind, "2026-05-01 00:00"), Level::Normal);

    let mut late = accepted(&w, "2026-03-02 09:10");
    w.rec(
        &mut late,
        "2026-03-02 15:00",
        clerk(),
        EventKind::HandedOver { department: dept(DEPT), paper: true },
    );
    w.rec(
        &mut late,
        "2026-03-02 15:30",
        reviewer(DEPT),
        EventKind::HandoverSigned { department: dept(DEPT) },
    );
    assert_eq!(level_at(&late, &w, &kind, "2026-05-01 00:00"), Level::Yellow);
}

#[test]
fn intake_answer_within_five_working_days() {
    // rule W3.5 with Licensing Law §32: tell what is incomplete within 5 working days.
    let w = World::new();
    let case = w.open(plain_item(), "2026-03-02 09:00", &["K1"]);
    assert_eq!(level_at(&case, &w, &DutyKind::IntakeAnswer, "2026-03-06 09:00"), Level::Warning);
    assert_eq!(level_at(&case, &w, &DutyKind::IntakeAnswer, "2026-03-10 09:00"), Level::Yellow);
}

#[test]
fn online_pre_acceptance_within_two_working_days() {
    // rule W3.1: the online desk answers within 2 working days.
    let w = World::new();
    let kind =
        EventKind::Received { channel: Channel::Online { portal_ref: "WT-1".into() }, presented: vec![] };
    let case =
        Case::open(header(plain_item()), ev("2026-03-06 20:00", clerk(), kind), &w.ctx()).expect("opens");
    // Friday evening: due Tuesday 2026-03-10.
    assert_eq!(level_at(&case, &w, &DutyKind::PreAcceptance, "2026-03-10 18:00"), Level::Warning);
    assert_eq!(level_at(&case, &w, &DutyKind::PreAcceptance, "2026-03-11 08:00"), Level::Yellow);
}

#[test]
fn tolerance_deadline_is_watched() {
    // rule T5: tolerance cases count in supervision like every case. rule T3.6: the deadline.
    let w = World::new();
    let mut case = w.open(tolerant_item(), "2026-03-02 09:00", &["K1", "K2"]);
    let kind = EventKind::ToleranceAccepted {
        presented: vec![],
        commitment: commitment(&["T1", "T2"], "2026-03-06", &w.list),
    };
    w.rec(&mut case, "2026-03-02 09:10", clerk(), kind);
    assert_eq!(level_at(&case, &w, &DutyKind::ToleranceSupply, "2026-03-02 10:00"), Level::Normal);
    assert_eq!(level_at(&case, &w, &DutyKind::ToleranceSupply, "2026-03-04 10:00"), Level::Warning);
    assert_eq!(level_at(&case, &w, &DutyKind::ToleranceSupply, "2026-03-07 00:01"), Level::Yellow);
    // The decision duty runs too: T5.
    assert_eq!(level_at(&case, &w, &DutyKind::Decision, "2026-03-10 00:01"), Level::Yellow);
}

#[test]
fn issuing_upward_and_result_form_duties() {
    // rule W6.1 / Licensing Law §44: issue within 10 working days of approval.
    // rule W6.2: the result form returns within 1 working day. rule W8: report within 2 working days.
    let w = World::new();
    let mut case = in_review(&w);
    w.rec(
        &mut case,
        "2026-03-03 10:00",
        reviewer(DEPT),
        EventKind::Decided { outcome: Outcome::Approve { result: "准予".into() } },
    );
    assert_eq!(level_at(&case, &w, &DutyKind::Issuing, "2026-03-18 10:00"), Level::Yellow);
    w.rec(
        &mut case,
        "2026-03-04 10:00",
        reviewer(DEPT),
        EventKind::ResultToIssuing { register_entry: "1".into() },
    );
    w.rec(&mut case, "2026-03-04 11:00", Role::IssuingWindow, EventKind::Notified { contact: "电话".into() });
    assert_eq!(level_at(&case, &w, &DutyKind::Issuing, "2026-03-18 10:00"), Level::Normal);
    w.rec(
        &mut case,
        "2026-03-05 09:00",
        Role::IssuingWindow,
        EventKind::Delivered {
            delivery: Delivery::Mail { postal_receipt: "EMS1".into(), address: "某地".into() },
        },
    );
    assert_eq!(level_at(&case, &w, &DutyKind::ResultFormReturn, "2026-03-06 12:00"), Level::Warning);
    assert_eq!(level_at(&case, &w, &DutyKind::ResultFormReturn, "2026-03-07 00:01"), Level::Yellow);

    let mut up = w.open(upward_item(), "2026-03-02 09:00", &["K1", "K2", "T1", "T2"]);
    w.rec(&mut up, "2026-03-02 09:10", clerk(), EventKind::Accepted { presented: vec![] });
    assert_eq!(level_at(&up, &w, &DutyKind::UpwardReport, "2026-03-05 00:01"), Level::Yellow);
}

#[test]
fn cards_due_lists_only_escalations() {
    // rule W9: the scheduler records cards as events; only a rise in level draws a new card.
    let w = World::new();
    let mut case = accepted(&w, "2026-03-02 09:10");
    let due = supervision::cards_due(
        &case.header,
        &case.state(),
        t("2026-03-10 09:00"),
        &w.cal,
        &Policy::default(),
    )
    .expect("assessable");
    assert!(due.contains(&(DutyKind::Decision, Level::Yellow)), "{due:?}");
    assert!(due.contains(&(DutyKind::Handover(dept(DEPT)), Level::Yellow)), "{due:?}");
    for (duty, level) in due {
        w.rec(&mut case, "2026-03-10 09:00", Role::System, EventKind::CardIssued { duty, level });
    }
    let again = supervision::cards_due(
        &case.header,
        &case.state(),
        t("2026-03-11 09:00"),
        &w.cal,
        &Policy::default(),
    )
    .expect("assessable");
    assert!(again.is_empty(), "{again:?}");
    let red = supervision::cards_due(
        &case.header,
        &case.state(),
        t("2026-04-01 09:00"),
        &w.cal,
        &Policy::default(),
    )
    .expect("assessable");
    assert_eq!(red, vec![(DutyKind::Decision, Level::Red)]);
}

#[test]
fn consultation_reply_duty() {
    // rule W2.3: hard questions answered within 2 working days, same engine.
    let w = World::new();
    let duty = supervision::consultation_duty(t("2026-09-30 15:00"), None);
    let a =
        supervision::assess(&duty, t("2026-10-09 10:00"), &w.cal, &Policy::default()).expect("assessable");
    assert_eq!(a.due, t("2026-10-10 00:00"));
    assert_eq!(a.level, Level::Warning);
    let a =
        supervision::assess(&duty, t("2026-10-10 08:00"), &w.cal, &Policy::default()).expect("assessable");
    assert_eq!(a.level, Level::Yellow);
}

#[test]
fn deadlines_beyond_the_loaded_years_are_provisional() {
    // rule W9 with a provisional calendar.
    let w = World::new();
    let case = accepted(&w, "2026-12-29 09:00");
    let a = supervision::assess_case(
        &case.header,
        &case.state(),
        t("2026-12-29 10:00"),
        &w.cal,
        &Policy::default(),
    )
    .expect("assessable");
    let decision = a.iter().find(|a| a.kind == DutyKind::Decision).expect("decision duty");
    assert!(decision.provisional);
}
