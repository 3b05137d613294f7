//! Every step of T and W through the command gate: allowed steps move the case, forbidden ones
//! are refused with the rule's ID and leave nothing written.

mod common;

use common::*;
use yikou_schema::actor::Role;
use yikou_schema::case::*;
use yikou_schema::tolerance::{self, Eligibility, Route};

fn approve() -> EventKind {
    EventKind::Decided { outcome: Outcome::Approve { result: "准予许可,核发证书".to_string() } }
}

fn deny(basis: DenialBasis) -> EventKind {
    EventKind::Decided {
        outcome: Outcome::Deny { reasons: vec!["申请材料不符合法定条件".to_string()], basis },
    }
}

fn handover(code: &str, paper: bool) -> EventKind {
    EventKind::HandedOver { department: dept(code), paper }
}

fn signed(code: &str) -> EventKind {
    EventKind::HandoverSigned { department: dept(code) }
}

/// Accepted (complete) and handed to the owning department, signed: in review.
fn in_review(w: &World) -> Case {
    let mut case = w.open(plain_item(), "2026-03-02 09:00", &["K1", "K2", "T1", "T2"]);
    w.rec(&mut case, "2026-03-02 09:10", clerk(), EventKind::Accepted { presented: vec![] });
    w.rec(&mut case, "2026-03-02 10:00", clerk(), handover(DEPT, true));
    w.rec(&mut case, "2026-03-02 10:30", reviewer(DEPT), signed(DEPT));
    case
}

#[test]
fn a_promise_case_walks_from_receipt_to_archive() {
    // rule W3.2: the window receives per the material list and issues a receipt.
    // rule W3.5: complete and lawful materials are accepted at once.
    // rule W4.1: paper handed over and signed. rule W5.1: the department decides.
    // rule W6.1: result to the issuing window. rule W6.2: notified and picked up. rule W7: archived.
    let w = World::new();
    let mut case = in_review(&w);
    assert_eq!(case.state().phase, Phase::InReview);
    w.rec(&mut case, "2026-03-03 10:00", reviewer(DEPT), approve());
    w.rec(
        &mut case,
        "2026-03-03 11:00",
        reviewer(DEPT),
        EventKind::ResultToIssuing { register_entry: "发证登记第12号".into() },
    );
    w.rec(
        &mut case,
        "2026-03-03 11:30",
        Role::IssuingWindow,
        EventKind::Notified { contact: "短信 13800000000".into() },
    );
    w.rec(
        &mut case,
        "2026-03-04 09:00",
        Role::IssuingWindow,
        EventKind::Delivered { delivery: Delivery::Pickup { signed_by: "张三".into() } },
    );
    w.rec(&mut case, "2026-03-04 09:05", Role::System, EventKind::Archived);
    let st = case.state();
    assert_eq!(st.phase, Phase::Archived);
    assert!(st.conflicts.is_empty());
    assert_eq!(case.events.len(), 9);
}

#[test]
fn incomplete_materials_cannot_be_accepted() {
    // rule W3.5: incomplete or unlawful form -> correction notice, not acceptance.
    let w = World::new();
    let mut case = w.open(plain_item(), "2026-03-02 09:00", &["K1", "K2"]);
    let (code, rule) =
        w.refuse(&mut case, "2026-03-02 09:10", clerk(), EventKind::Accepted { presented: vec![] });
    assert_eq!((code, rule), ("case.materials_incomplete", "W3.5"));
    let flawed = presented(&[("T1", Condition::Present), ("T2", Condition::Flawed("复印件不清晰".into()))]);
    let (code, _) =
        w.refuse(&mut case, "2026-03-02 09:10", clerk(), EventKind::Accepted { presented: flawed });
    assert_eq!(code, "case.materials_incomplete");
}

#[test]
fn correction_notice_tells_everything_once_then_resubmission_reopens_intake() {
    // rule W3.5: correction notice, told once. rule W2.2: every problem at once.
    let w = World::new();
    let mut case = w.open(plain_item(), "2026-03-02 09:00", &["K1"]);
    let problems = vec![
        Problem { material: Some(m("K2")), description: "缺少申请人身份证明".into() },
        Problem { material: Some(m("T1")), description: "项目情况说明未盖章".into() },
    ];
    let (code, _) =
        w.refuse(&mut case, "2026-03-02 09:05", clerk(), EventKind::CorrectionNotice { problems: vec![] });
    assert_eq!(code, "case.problems_missing");
    w.rec(&mut case, "2026-03-02 09:10", clerk(), EventKind::CorrectionNotice { problems: problems.clone() });
    assert_eq!(case.state().phase, Phase::AwaitingCorrection);
    let (code, rule) =
        w.refuse(&mut case, "2026-03-02 09:20", clerk(), EventKind::CorrectionNotice { problems });
    assert_eq!((code, rule), ("case.correction_told_once", "W3.5"));
    w.rec(
        &mut case,
        "2026-03-05 14:00",
        clerk(),
        EventKind::Resubmitted { presented: present(&["K2", "T1", "T2"]) },
    );
    assert_eq!(case.state().phase, Phase::Received);
    w.rec(&mut case, "2026-03-05 14:10", clerk(), EventKind::Accepted { presented: vec![] });
    let st = case.state();
    assert_eq!(st.phase, Phase::Accepted);
    assert_eq!(st.rounds.len(), 2);
    assert!(st.rounds.iter().all(|r| r.answered.is_some()));
}

#[test]
fn no_material_outside_the_catalog_may_be_demanded() {
    // rule W3.6: a department may not demand a material the catalog does not list.
    let w = World::new();
    let mut case = w.open(plain_item(), "2026-03-02 09:00", &["K1"]);
    let problems = vec![Problem { material: Some(m("X9")), description: "请补充村委会证明".into() }];
    let (code, rule) =
        w.refuse(&mut case, "2026-03-02 09:10", clerk(), EventKind::CorrectionNotice { problems });
    assert_eq!((code, rule), ("case.material_not_listed", "W3.6"));
    let (code, _) = w.refuse(
        &mut case,
        "2026-03-02 09:10",
        clerk(),
        EventKind::Resubmitted { presented: present(&["X9"]) },
    );
    assert!(code == "case.not_awaiting_correction" || code == "case.material_not_listed");
}

#[test]
fn non_acceptance_needs_reasons_and_ends_the_case() {
    // rule W3.5: not acceptable at all -> non-acceptance decision with specific reasons.
    let w = World::new();
    let mut case = w.open(plain_item(), "2026-03-02 09:00", &["K1"]);
    let (code, _) =
        w.refuse(&mut case, "2026-03-02 09:10", clerk(), EventKind::NotAccepted { reasons: vec![] });
    assert_eq!(code, "case.reasons_missing");
    w.rec(
        &mut case,
        "2026-03-02 09:10",
        clerk(),
        EventKind::NotAccepted { reasons: vec!["不属于本机关职权范围".into()] },
    );
    assert_eq!(case.state().phase, Phase::NotAccepted);
    let (code, _) =
        w.refuse(&mut case, "2026-03-02 09:20", clerk(), EventKind::Accepted { presented: vec![] });
    assert_eq!(code, "case.terminal");
}

#[test]
fn online_cases_need_pre_acceptance_first() {
    // rule W3.1: the online desk's pre-acceptance comes before acceptance at the window.
    let w = World::new();
    let kind = EventKind::Received {
        channel: Channel::Online { portal_ref: "WT-2026-0001".into() },
        presented: present(&["K1", "K2", "T1", "T2"]),
    };
    let mut case =
        Case::open(header(plain_item()), ev("2026-03-02 09:00", clerk(), kind), &w.ctx()).expect("opens");
    let (code, rule) =
        w.refuse(&mut case, "2026-03-02 10:00", clerk(), EventKind::Accepted { presented: vec![] });
    assert_eq!((code, rule), ("case.pre_acceptance_required", "W3.1"));
    w.rec(
        &mut case,
        "2026-03-03 10:00",
        clerk(),
        EventKind::PreAccepted { result: PreAcceptance::Pass { paper_required: true } },
    );
    assert_eq!(case.state().phase, Phase::PreAccepted);
    w.rec(&mut case, "2026-03-04 10:00", clerk(), EventKind::Accepted { presented: vec![] });
    assert_eq!(case.state().phase, Phase::Accepted);
}

#[test]
fn pre_acceptance_is_only_for_online_cases() {
    // rule W3.1
    let w = World::new();
    let mut case = w.open(plain_item(), "2026-03-02 09:00", &["K1"]);
    let (code, _) = w.refuse(
        &mut case,
        "2026-03-02 09:10",
        clerk(),
        EventKind::PreAccepted { result: PreAcceptance::Pass { paper_required: false } },
    );
    assert_eq!(code, "case.not_online");
}

#[test]
fn mail_and_online_receipts_carry_their_records() {
    // rule W3.4: mailed applications are registered with a handover record.
    let w = World::new();
    let blank =
        EventKind::Received { channel: Channel::Mail { handover_record: " ".into() }, presented: vec![] };
    let err = Case::open(header(plain_item()), ev("2026-03-02 09:00", clerk(), blank), &w.ctx())
        .expect_err("refused");
    assert_eq!(err.rule, "W3.4");
    let mail = EventKind::Received {
        channel: Channel::Mail { handover_record: "邮件分发登记 2026-031".into() },
        presented: present(&["K1", "K2", "T1", "T2"]),
    };
    let case =
        Case::open(header(plain_item()), ev("2026-03-02 09:00", clerk(), mail), &w.ctx()).expect("opens");
    assert_eq!(case.state().phase, Phase::Received);
}

#[test]
fn instant_items_are_handled_by_the_department_itself() {
    // rule W3.3: the department's own staff handle intake, approval and issuance of instant items.
    let w = World::new();
    let kind = received(&["K1", "K2", "T1", "T2"]);
    let mut case = Case::open(header(instant_item()), ev("2026-03-02 09:00", reviewer(DEPT), kind), &w.ctx())
        .expect("opens");
    w.rec(&mut case, "2026-03-02 09:05", reviewer(DEPT), EventKind::Accepted { presented: vec![] });
    assert!(case.state().handovers.is_empty(), "no handover for instant items");
    w.rec(&mut case, "2026-03-02 09:20", reviewer(DEPT), approve());
    assert_eq!(case.state().phase, Phase::Decided);
    // Another department's reviewer may not do intake for this department's item.
    let other = Case::open(
        header(instant_item()),
        ev("2026-03-02 09:00", reviewer(DEPT_B), received(&["K1"])),
        &w.ctx(),
    );
    assert_eq!(other.expect_err("refused").code, "permission.denied");
}

#[test]
fn a_window_clerk_cannot_decide_and_a_reviewer_cannot_accept_for_another_department() {
    // rule W3.2 / W5.1: the division of duties.
    let w = World::new();
    let mut case = in_review(&w);
    let (code, _) = w.refuse(&mut case, "2026-03-03 10:00", clerk(), approve());
    assert_eq!(code, "permission.denied");
    let mut fresh = w.open(plain_item(), "2026-03-02 09:00", &["K1", "K2", "T1", "T2"]);
    let (code, _) =
        w.refuse(&mut fresh, "2026-03-02 09:10", reviewer(DEPT_B), EventKind::Accepted { presented: vec![] });
    assert_eq!(code, "permission.denied");
}

#[test]
fn electronic_materials_are_signed_in_the_system() {
    // rule W4.2: electronic materials flow at once; the department signs for them in the system.
    let w = World::new();
    let mut case = w.open(plain_item(), "2026-03-02 09:00", &["K1", "K2", "T1", "T2"]);
    w.rec(&mut case, "2026-03-02 09:10", clerk(), EventKind::Accepted { presented: vec![] });
    let (code, _) = w.refuse(&mut case, "2026-03-02 09:11", reviewer(DEPT), signed(DEPT));
    assert_eq!(code, "case.not_handed_over");
    w.rec(&mut case, "2026-03-02 09:11", clerk(), handover(DEPT, false));
    w.rec(&mut case, "2026-03-02 09:12", reviewer(DEPT), signed(DEPT));
    let st = case.state();
    assert_eq!(st.phase, Phase::InReview);
    assert!(!st.handovers[&dept(DEPT)].paper);
}

#[test]
fn serial_joint_items_pass_from_the_lead_in_order() {
    // rule W4.3: serial (前后置) items go to the lead department, which passes them on in order.
    let w = World::new();
    let mut case = w.open(serial_item(), "2026-03-02 09:00", &["K1", "K2", "T1", "T2"]);
    w.rec(&mut case, "2026-03-02 09:10", clerk(), EventKind::Accepted { presented: vec![] });
    let (code, rule) = w.refuse(&mut case, "2026-03-02 09:20", clerk(), handover(DEPT_B, true));
    assert_eq!((code, rule), ("case.serial_order", "W4.3"));
    w.rec(&mut case, "2026-03-02 09:30", clerk(), handover(DEPT, true));
    w.rec(&mut case, "2026-03-02 10:00", reviewer(DEPT), signed(DEPT));
    w.rec(&mut case, "2026-03-02 11:00", reviewer(DEPT), handover(DEPT_B, true));
    w.rec(&mut case, "2026-03-02 15:00", reviewer(DEPT_B), signed(DEPT_B));
    assert_eq!(case.state().phase, Phase::Accepted, "not in review until every department signed");
    w.rec(&mut case, "2026-03-03 09:00", reviewer(DEPT_B), handover(DEPT_C, true));
    w.rec(&mut case, "2026-03-03 09:10", reviewer(DEPT_C), signed(DEPT_C));
    assert_eq!(case.state().phase, Phase::InReview);
    // Only the lead decides.
    let (code, _) = w.refuse(&mut case, "2026-03-03 10:00", reviewer(DEPT_C), approve());
    assert_eq!(code, "permission.denied");
    w.rec(&mut case, "2026-03-03 10:00", reviewer(DEPT), approve());
}

#[test]
fn parallel_joint_items_go_to_every_department_at_once() {
    // rule W4.3: parallel (并联) items are distributed to all departments at once, led by the lead.
    let w = World::new();
    let mut case = w.open(parallel_item(), "2026-03-02 09:00", &["K1", "K2", "T1", "T2"]);
    w.rec(&mut case, "2026-03-02 09:10", clerk(), EventKind::Accepted { presented: vec![] });
    assert_eq!(case.state().handovers.len(), 3, "all three handover duties start at acceptance");
    for (i, code) in [DEPT_C, DEPT, DEPT_B].iter().enumerate() {
        w.rec(&mut case, &format!("2026-03-02 10:0{i}"), clerk(), handover(code, true));
    }
    for (i, code) in [DEPT, DEPT_C, DEPT_B].iter().enumerate() {
        w.rec(&mut case, &format!("2026-03-02 11:0{i}"), reviewer(code), signed(code));
    }
    assert_eq!(case.state().phase, Phase::InReview);
    let (code, _) = w.refuse(&mut case, "2026-03-02 15:00", reviewer(DEPT), approve());
    assert_eq!(code, "permission.denied", "the lead of this parallel item is {DEPT_B}");
    w.rec(&mut case, "2026-03-02 15:00", reviewer(DEPT_B), approve());
}

#[test]
fn special_procedure_pauses_and_blocks_the_decision() {
    // rule W5.1: decide within the limit; the special procedure (§45) pauses the clock.
    let w = World::new();
    let mut case = in_review(&w);
    w.rec(
        &mut case,
        "2026-03-03 09:00",
        reviewer(DEPT),
        EventKind::SpecialProcedureStarted { reason: "专家评审".into() },
    );
    assert!(case.state().paused());
    let (code, _) = w.refuse(&mut case, "2026-03-03 10:00", reviewer(DEPT), approve());
    assert_eq!(code, "case.paused");
    w.rec(&mut case, "2026-03-10 09:00", reviewer(DEPT), EventKind::SpecialProcedureEnded);
    w.rec(&mut case, "2026-03-10 10:00", reviewer(DEPT), approve());
}

#[test]
fn only_the_hall_centre_lets_a_case_file_leave_the_hall() {
    // rule W5.2: case files do not leave the hall without the hall centre's consent.
    let w = World::new();
    let mut case = in_review(&w);
    let kind = EventKind::FileRemovalConsented { reason: "现场核查".into() };
    for role in [clerk(), reviewer(DEPT), Role::Supervisor, Role::IssuingWindow, Role::Auditor] {
        let (code, rule) = w.refuse(&mut case, "2026-03-03 09:00", role, kind.clone());
        assert_eq!((code, rule), ("permission.denied", "W5.2"));
    }
    w.rec(&mut case, "2026-03-03 09:00", Role::HallCentre, kind);
    assert_eq!(case.state().file_removal_consents.len(), 1);
}

#[test]
fn mailed_results_return_the_handover_form_before_archiving() {
    // rule W6.2: posted, the postal receipt on the result handover form, which returns to the department.
    // rule W7: archive after delivery.
    let w = World::new();
    let mut case = in_review(&w);
    w.rec(&mut case, "2026-03-03 10:00", reviewer(DEPT), approve());
    w.rec(
        &mut case,
        "2026-03-03 11:00",
        reviewer(DEPT),
        EventKind::ResultToIssuing { register_entry: "第13号".into() },
    );
    let (code, _) = w.refuse(
        &mut case,
        "2026-03-03 11:10",
        Role::IssuingWindow,
        EventKind::Delivered { delivery: Delivery::Pickup { signed_by: "张三".into() } },
    );
    assert_eq!(code, "case.not_notified");
    w.rec(&mut case, "2026-03-03 11:30", Role::IssuingWindow, EventKind::Notified { contact: "电话".into() });
    let mail =
        Delivery::Mail { postal_receipt: "EMS1234567890".into(), address: "新郑市某路1号".into() };
    w.rec(&mut case, "2026-03-04 09:00", Role::IssuingWindow, EventKind::Delivered { delivery: mail });
    let (code, rule) = w.refuse(&mut case, "2026-03-04 10:00", Role::System, EventKind::Archived);
    assert_eq!((code, rule), ("case.form_not_returned", "W6.2"));
    w.rec(&mut case, "2026-03-05 09:00", Role::IssuingWindow, EventKind::ResultFormReturned);
    w.rec(&mut case, "2026-03-05 10:00", Role::System, EventKind::Archived);
    assert_eq!(case.state().phase, Phase::Archived);
}

#[test]
fn upward_items_are_checked_and_reported_not_decided() {
    // rule W8: the county checks completeness and form and reports upward with the fixed opinion.
    let w = World::new();
    let mut case = w.open(upward_item(), "2026-03-02 09:00", &["K1", "K2", "T1", "T2"]);
    w.rec(&mut case, "2026-03-02 09:10", clerk(), EventKind::Accepted { presented: vec![] });
    w.rec(&mut case, "2026-03-02 10:00", clerk(), handover(DEPT, true));
    w.rec(&mut case, "2026-03-02 10:30", reviewer(DEPT), signed(DEPT));
    let (code, rule) = w.refuse(&mut case, "2026-03-03 09:00", reviewer(DEPT), approve());
    assert_eq!((code, rule), ("case.upward_no_decision", "W8"));
    let (code, _) = w.refuse(
        &mut case,
        "2026-03-03 09:00",
        reviewer(DEPT),
        EventKind::ReportedUpward { opinion: "同意上报".into() },
    );
    assert_eq!(code, "case.upward_opinion");
    w.rec(
        &mut case,
        "2026-03-03 09:00",
        reviewer(DEPT),
        EventKind::ReportedUpward { opinion: state::UPWARD_OPINION.into() },
    );
    assert_eq!(case.state().phase, Phase::ReportedUpward);
}

#[test]
fn withdrawal_ends_an_undecided_case_only() {
    let w = World::new();
    let mut case = in_review(&w);
    w.rec(&mut case, "2026-03-03 09:00", clerk(), EventKind::Withdrawn { reason: "申请人主动撤回".into() });
    assert_eq!(case.state().phase, Phase::Withdrawn);
    let mut decided = in_review(&w);
    w.rec(&mut decided, "2026-03-03 09:00", reviewer(DEPT), approve());
    let (code, _) =
        w.refuse(&mut decided, "2026-03-03 10:00", clerk(), EventKind::Withdrawn { reason: "撤回".into() });
    assert_eq!(code, "case.already_decided");
}

#[test]
fn ratings_are_one_to_five() {
    // rule W10: satisfaction ratings 1-5; one per case online.
    let w = World::new();
    let mut case = in_review(&w);
    let (code, rule) = w.refuse(&mut case, "2026-03-03 09:00", clerk(), EventKind::Rated { score: 6 });
    assert_eq!((code, rule), ("case.rating_range", "W10"));
    w.rec(&mut case, "2026-03-03 09:00", clerk(), EventKind::Rated { score: 2 });
    assert_eq!(case.state().ratings, vec![2]);
}

#[test]
fn cards_only_escalate_and_are_revoked_with_a_reason() {
    // rule W9: cards issued automatically or by hand, revoked with a reason; they escalate.
    let w = World::new();
    let mut case = in_review(&w);
    let yellow = EventKind::CardIssued { duty: DutyKind::Decision, level: Level::Yellow };
    w.rec(&mut case, "2026-03-20 09:00", Role::System, yellow.clone());
    let (code, _) = w.refuse(&mut case, "2026-03-20 10:00", Role::System, yellow);
    assert_eq!(code, "case.card_not_escalated");
    let (code, _) = w.refuse(
        &mut case,
        "2026-03-20 10:00",
        clerk(),
        EventKind::CardIssued { duty: DutyKind::Decision, level: Level::Red },
    );
    assert_eq!(code, "permission.denied");
    w.rec(
        &mut case,
        "2026-04-01 09:00",
        Role::Supervisor,
        EventKind::CardIssued { duty: DutyKind::Decision, level: Level::Red },
    );
    w.rec(
        &mut case,
        "2026-04-02 09:00",
        Role::Supervisor,
        EventKind::CardRevoked {
            duty: DutyKind::Decision, reason: "系统停电,经核实非部门原因".into()
        },
    );
    let card = &case.state().cards[&DutyKind::Decision];
    assert_eq!(card.level, Level::Red);
    assert!(card.revoked.is_some());
}

// ---------------------------------------------------------------------------------------------
// Tolerance acceptance (T)
// ---------------------------------------------------------------------------------------------

/// A tolerance acceptance with a commitment to supply `materials` by `deadline`.
fn tol(
    presented: Vec<PresentedMaterial>,
    materials: &[&str],
    deadline: &str,
    list: &yikou_schema::tolerance::DishonestyList,
) -> EventKind {
    EventKind::ToleranceAccepted { presented, commitment: commitment(materials, deadline, list) }
}

fn tolerance_accept(w: &World, case: &mut Case, at: &str, deadline: &str) {
    let kind = EventKind::ToleranceAccepted {
        presented: vec![],
        commitment: commitment(&["T1", "T2"], deadline, &w.list),
    };
    w.rec(case, at, clerk(), kind);
}

#[test]
fn tolerance_needs_the_item_on_the_list_and_not_instant() {
    // rule T1: (a) on the published tolerance list, (b) not an instant item.
    let w = World::new();
    let mut case = w.open(plain_item(), "2026-03-02 09:00", &["K1", "K2"]);
    let kind = tol(vec![], &["T1"], "2026-03-04", &w.list);
    let (code, rule) = w.refuse(&mut case, "2026-03-02 09:10", clerk(), kind);
    assert_eq!((code, rule), ("tolerance.not_on_list", "T1"));

    let mut instant = tolerant_item();
    instant.kind = yikou_schema::catalog::ItemKind::Instant;
    let mut case = w.open(instant.clone(), "2026-03-02 09:00", &["K1", "K2"]);
    let kind = tol(vec![], &["T1", "T2"], "2026-03-04", &w.list);
    let (code, _) = w.refuse(&mut case, "2026-03-02 09:10", clerk(), kind);
    assert_eq!(code, "tolerance.instant_item");
}

#[test]
fn a_missing_key_material_means_a_correction_notice() {
    // rule T2: key material missing or flawed -> correction notice, never tolerance acceptance.
    // rule T1: (c) every key material present and lawful.
    let w = World::new();
    let mut case = w.open(tolerant_item(), "2026-03-02 09:00", &["K1", "T1"]);
    let kind = tol(vec![], &["T2"], "2026-03-04", &w.list);
    let (code, rule) = w.refuse(&mut case, "2026-03-02 09:10", clerk(), kind);
    assert_eq!((code, rule), ("tolerance.key_material_missing", "T2"));
    let flawed_key = presented(&[("K2", Condition::Flawed("身份证已过期".into()))]);
    let kind = tol(flawed_key, &["T2"], "2026-03-04", &w.list);
    let (code, _) = w.refuse(&mut case, "2026-03-02 09:10", clerk(), kind);
    assert_eq!(code, "tolerance.key_material_missing");
}

#[test]
fn the_commitment_lists_every_missing_tolerable_material() {
    // rule T3.1: the window tells the applicant once and in full which tolerable materials to supply.
    // rule T1: (d) only tolerable materials missing or flawed.
    let w = World::new();
    let mut case = w.open(tolerant_item(), "2026-03-02 09:00", &["K1", "K2"]);
    let kind = tol(vec![], &["T1"], "2026-03-04", &w.list);
    let (code, rule) = w.refuse(&mut case, "2026-03-02 09:10", clerk(), kind);
    assert_eq!((code, rule), ("tolerance.commitment_materials", "T3.1"));
    // A flawed tolerable material counts as missing.
    let flawed = presented(&[("T1", Condition::Present), ("T2", Condition::Flawed("照片模糊".into()))]);
    let kind = tol(flawed, &["T2"], "2026-03-04", &w.list);
    w.rec(&mut case, "2026-03-02 09:10", clerk(), kind);
    assert_eq!(case.state().outstanding_materials(), vec![m("T2")]);
}

#[test]
fn nothing_missing_means_plain_acceptance() {
    // rule T1: tolerance acceptance is for missing tolerable materials only.
    let w = World::new();
    let mut case = w.open(tolerant_item(), "2026-03-02 09:00", &["K1", "K2", "T1", "T2"]);
    let kind = tol(vec![], &[], "2026-03-04", &w.list);
    let (code, _) = w.refuse(&mut case, "2026-03-02 09:10", clerk(), kind);
    assert_eq!(code, "tolerance.nothing_missing");
}

#[test]
fn the_deadline_is_never_after_the_promised_completion_date() {
    // rule T3.3: the commitment's deadline is never later than the promised completion time limit.
    let w = World::new();
    // Accepted 2026-09-29 (Tue); promised 5 working days: 09-30, 10-08, 10-09, 10-10 (Sat make-up), 10-12.
    let latest = tolerance::promised_completion(&tolerant_item(), d("2026-09-29"), &w.cal).expect("in range");
    assert_eq!(latest.at, d("2026-10-12"));
    let mut case = w.open(tolerant_item(), "2026-09-29 09:00", &["K1", "K2"]);
    let kind = tol(vec![], &["T1", "T2"], "2026-10-13", &w.list);
    let (code, rule) = w.refuse(&mut case, "2026-09-29 09:10", clerk(), kind);
    assert_eq!((code, rule), ("tolerance.deadline_too_late", "T3.3"));
    tolerance_accept(&w, &mut case, "2026-09-29 09:10", "2026-10-12");
    assert_eq!(case.state().tolerance.expect("tolerance").commitment.deadline, d("2026-10-12"));
}

#[test]
fn an_agent_signs_only_with_specific_written_authorisation() {
    // rule T3.2: the applicant, or an agent with specific written authorisation, signs the commitment.
    use yikou_schema::ids::{Agent, Authorisation, CitizenId};
    let w = World::new();
    let agent_id = "110105195001010039";
    let mut c = commitment(&["T1", "T2"], "2026-03-04", &w.list);
    c.signed_by = Signatory::Agent {
        id_number: agent_id.into(),
        name: "李四".into(),
        authorisation_ref: "委托书2026-7".into(),
    };

    let mut case = w.open(tolerant_item(), "2026-03-02 09:00", &["K1", "K2"]);
    let kind = EventKind::ToleranceAccepted { presented: vec![], commitment: c.clone() };
    let (code, rule) = w.refuse(&mut case, "2026-03-02 09:10", clerk(), kind.clone());
    assert_eq!((code, rule), ("tolerance.no_agent", "T3.2"));

    let mut h = header(tolerant_item());
    h.agent = Some(Agent {
        id: CitizenId::parse(agent_id).expect("valid"),
        name: "李四".into(),
        authorisation: Authorisation {
            document_ref: "委托书2026-7".into(),
            specific: false,
            valid_until: None,
        },
    });
    let mut case = Case::open(h.clone(), ev("2026-03-02 09:00", clerk(), received(&["K1", "K2"])), &w.ctx())
        .expect("opens");
    let (code, _) = w.refuse(&mut case, "2026-03-02 09:10", clerk(), kind.clone());
    assert_eq!(code, "tolerance.agent_not_authorised");

    if let Some(a) = h.agent.as_mut() {
        a.authorisation.specific = true;
    }
    let mut case =
        Case::open(h, ev("2026-03-02 09:00", clerk(), received(&["K1", "K2"])), &w.ctx()).expect("opens");
    w.rec(&mut case, "2026-03-02 09:10", clerk(), kind);
}

#[test]
fn tolerance_case_is_reviewed_but_not_approved_until_supplied() {
    // rule T3.4: receipt issued, routed to the back office, which reaches a proposed decision.
    // rule T3.5: supplied by the deadline -> materials-received list; compliant -> approval.
    // rule T5: tolerance cases go through supervision like every case.
    let w = World::new();
    let mut case = w.open(tolerant_item(), "2026-03-02 09:00", &["K1", "K2"]);
    tolerance_accept(&w, &mut case, "2026-03-02 09:10", "2026-03-06");
    w.rec(&mut case, "2026-03-02 10:00", clerk(), handover(DEPT, true));
    w.rec(&mut case, "2026-03-02 10:30", reviewer(DEPT), signed(DEPT));
    w.rec(
        &mut case,
        "2026-03-03 09:00",
        reviewer(DEPT),
        EventKind::ProposedDecision { approve: true, opinion: "经实质审查,拟准予许可".into() },
    );
    let (code, rule) = w.refuse(&mut case, "2026-03-03 10:00", reviewer(DEPT), approve());
    assert_eq!((code, rule), ("case.tolerable_outstanding", "T3.5"));
    let (code, _) = w.refuse(
        &mut case,
        "2026-03-04 10:00",
        clerk(),
        EventKind::SupplementReceived { materials: vec![m("K1")] },
    );
    assert_eq!(code, "case.supplement_not_promised");
    w.rec(&mut case, "2026-03-04 10:00", clerk(), EventKind::SupplementReceived { materials: vec![m("T1")] });
    w.rec(&mut case, "2026-03-06 16:00", clerk(), EventKind::SupplementReceived { materials: vec![m("T2")] });
    assert!(case.state().outstanding_materials().is_empty());
    w.rec(&mut case, "2026-03-09 09:00", reviewer(DEPT), approve());
    let duties = yikou_schema::supervision::case_duties(&case.header, &case.state(), &w.cal).expect("duties");
    assert!(duties.iter().any(|d| d.kind == DutyKind::ToleranceSupply && d.done.is_some()));
}

#[test]
fn supplied_but_not_compliant_is_denied_with_reasons() {
    // rule T3.5: not compliant -> denial (不予审批) with reasons.
    let w = World::new();
    let mut case = w.open(tolerant_item(), "2026-03-02 09:00", &["K1", "K2"]);
    tolerance_accept(&w, &mut case, "2026-03-02 09:10", "2026-03-06");
    w.rec(&mut case, "2026-03-02 10:00", clerk(), handover(DEPT, true));
    w.rec(&mut case, "2026-03-02 10:30", reviewer(DEPT), signed(DEPT));
    w.rec(
        &mut case,
        "2026-03-04 10:00",
        clerk(),
        EventKind::SupplementReceived { materials: vec![m("T1"), m("T2")] },
    );
    let empty = EventKind::Decided { outcome: Outcome::Deny { reasons: vec![], basis: DenialBasis::Review } };
    let (code, _) = w.refuse(&mut case, "2026-03-05 09:00", reviewer(DEPT), empty);
    assert_eq!(code, "case.reasons_missing");
    w.rec(&mut case, "2026-03-05 09:00", reviewer(DEPT), deny(DenialBasis::Review));
    assert!(
        tolerance::entry_for_lapse(&case.header, &case.state()).is_none(),
        "a review denial lists nobody"
    );
}

#[test]
fn a_missed_deadline_means_denial_and_a_year_on_the_dishonesty_list() {
    // rule T3.6: not supplied by the deadline -> denial with reasons and the dishonesty list for
    // one year: no tolerance acceptance at any window.
    let mut w = World::new();
    let mut case = w.open(tolerant_item(), "2026-03-02 09:00", &["K1", "K2"]);
    tolerance_accept(&w, &mut case, "2026-03-02 09:10", "2026-03-06");
    w.rec(&mut case, "2026-03-02 10:00", clerk(), handover(DEPT, true));
    w.rec(&mut case, "2026-03-02 10:30", reviewer(DEPT), signed(DEPT));
    let (code, _) =
        w.refuse(&mut case, "2026-03-05 09:00", reviewer(DEPT), deny(DenialBasis::ToleranceLapsed));
    assert_eq!(code, "case.not_lapsed");
    let (code, rule) = w.refuse(
        &mut case,
        "2026-03-09 09:00",
        clerk(),
        EventKind::SupplementReceived { materials: vec![m("T1")] },
    );
    assert_eq!((code, rule), ("case.supplement_late", "T3.6"));
    w.rec(&mut case, "2026-03-09 09:30", reviewer(DEPT), deny(DenialBasis::ToleranceLapsed));
    let entry = tolerance::entry_for_lapse(&case.header, &case.state()).expect("listed");
    assert_eq!((entry.listed_on, entry.until), (d("2026-03-09"), d("2027-03-09")));
    assert!(w.list.add(entry));

    // The same applicant, another case at another window, within the year: refused, every reason told.
    let other = header_for(tolerant_item(), APPLICANT_ID, 2);
    let answer = tolerance::eligibility(
        &other.item,
        &present(&["K1", "K2"]),
        other.applicant.id(),
        d("2026-06-01"),
        None,
        &w.ctx(),
    );
    match answer {
        Eligibility::NotEligible { reasons } => {
            assert_eq!(reasons.len(), 1);
            assert_eq!(
                (reasons[0].code, reasons[0].route),
                ("tolerance.dishonest_applicant", Route::NormalProcedure)
            );
        }
        Eligibility::Eligible { .. } => panic!("a listed applicant is not eligible"),
    }
    let mut case2 = Case::open(
        other.clone(),
        ev_on(HALL, "2026-06-01 09:00", clerk(), received(&["K1", "K2"])),
        &w.ctx(),
    )
    .expect("opens");
    let kind = tol(vec![], &["T1", "T2"], "2026-06-03", &w.list);
    let err = case2.record(ev_on(HALL, "2026-06-01 09:10", clerk(), kind), &w.ctx()).expect_err("refused");
    assert_eq!((err.code, err.rule), ("tolerance.dishonest_applicant", "T3.6"));
    // A year later the exclusion has ended.
    let later = tolerance::eligibility(
        &other.item,
        &present(&["K1", "K2"]),
        other.applicant.id(),
        d("2027-03-09"),
        None,
        &w.ctx(),
    );
    assert!(matches!(later, Eligibility::Eligible { .. }), "{later:?}");
}

#[test]
fn eligibility_gives_every_reason_at_once() {
    // rule T1, rule T2, rule T3.3: every reason, each with its route.
    let w = World::new();
    let mut item = plain_item();
    item.kind = yikou_schema::catalog::ItemKind::Instant;
    let h = header(item);
    let answer = tolerance::eligibility(
        &h.item,
        &present(&["K1"]),
        h.applicant.id(),
        d("2026-03-02"),
        Some(d("2026-12-01")),
        &w.ctx(),
    );
    let Eligibility::NotEligible { reasons } = answer else { panic!("not eligible") };
    let codes: Vec<&str> = reasons.iter().map(|r| r.code).collect();
    assert_eq!(
        codes,
        vec![
            "tolerance.not_on_list",
            "tolerance.instant_item",
            "tolerance.key_material_missing",
            "tolerance.deadline_too_late"
        ]
    );
    let eligible = tolerance::eligibility(
        &tolerant_item(),
        &present(&["K1", "K2", "T1"]),
        h.applicant.id(),
        d("2026-03-02"),
        None,
        &w.ctx(),
    );
    match eligible {
        Eligibility::Eligible { missing, latest_deadline } => {
            assert_eq!(missing, vec![m("T2")]);
            assert_eq!(latest_deadline.at, d("2026-03-09"));
        }
        other => panic!("eligible expected, got {other:?}"),
    }
}

// ---------------------------------------------------------------------------------------------
// Conflicts after merge (O4)
// ---------------------------------------------------------------------------------------------

#[test]
fn two_decisions_made_apart_become_a_conflict_for_the_supervisor() {
    // rule O4: two decisions on one case during a partition -> conflict, never silently dropped.
    let w = World::new();
    let base = in_review(&w);
    let mut hall = base.clone();
    let mut town = base;
    hall.record(ev_on(HALL, "2026-03-03 10:00", reviewer(DEPT), approve()), &w.ctx()).expect("hall decides");
    town.record(ev_on(TOWN, "2026-03-03 11:00", reviewer(DEPT), deny(DenialBasis::Review)), &w.ctx())
        .expect("town decides");
    hall.merge(town.events.clone());
    town.merge(hall.events.clone());
    let (a, b) = (hall.state(), town.state());
    assert_eq!(a, b, "both nodes fold to the same state");
    assert_eq!(a.conflicts.len(), 1);
    assert!(matches!(a.conflicts[0].kind, ConflictKind::TwoDecisions { .. }));
    assert!(
        matches!(a.decision.as_ref().map(|d| &d.outcome), Some(Outcome::Approve { .. })),
        "the earlier stands"
    );

    let id = a.conflicts[0].id.clone();
    let resolve = EventKind::ConflictResolved {
        conflict: id,
        note: "以先作出的准予决定为准,已告知乡镇".into(),
    };
    let (code, _) = w.refuse(&mut hall, "2026-03-04 09:00", clerk(), resolve.clone());
    assert_eq!(code, "permission.denied");
    hall.record(ev_on(HALL, "2026-03-04 09:00", Role::Supervisor, resolve), &w.ctx()).expect("resolved");
    assert!(hall.state().conflicts.is_empty());
    assert_eq!(hall.state().resolved.len(), 1);
}

#[test]
fn events_after_the_end_become_conflicts() {
    // rule O4: events after a terminal state are raised, not dropped.
    let w = World::new();
    let base = in_review(&w);
    let mut hall = base.clone();
    let mut town = base;
    hall.record(
        ev_on(HALL, "2026-03-03 10:00", clerk(), EventKind::Withdrawn { reason: "申请人撤回".into() }),
        &w.ctx(),
    )
    .expect("withdrawn");
    town.record(
        ev_on(
            TOWN,
            "2026-03-03 11:00",
            reviewer(DEPT),
            EventKind::SpecialProcedureStarted { reason: "现场勘验".into() },
        ),
        &w.ctx(),
    )
    .expect("paused");
    hall.merge(town.events);
    let st = hall.state();
    assert_eq!(st.phase, Phase::Withdrawn);
    assert_eq!(st.conflicts.len(), 1);
    assert!(matches!(st.conflicts[0].kind, ConflictKind::AfterTerminal { phase: Phase::Withdrawn }));
}

#[test]
fn tolerance_for_a_listed_applicant_seen_late_is_a_conflict() {
    // rule O4, rule T3.6: the dishonesty list seen late -> conflict after merge.
    let mut w = World::new();
    let mut case = w.open(tolerant_item(), "2026-03-02 09:00", &["K1", "K2"]);
    tolerance_accept(&w, &mut case, "2026-03-02 09:10", "2026-03-06");
    // Meanwhile, at the hall, the same applicant had been listed for another case.
    w.list.add(tolerance::DishonestyEntry {
        applicant: APPLICANT_ID.into(),
        name: "张三".into(),
        case: "another".into(),
        listed_on: d("2026-02-01"),
        until: d("2027-02-01"),
        reason: "逾期未补交".into(),
    });
    let st = case.state_with(&w.list);
    assert_eq!(st.conflicts.len(), 1);
    let conflict = &st.conflicts[0];
    assert_eq!(conflict.rule, "T3.6");
    assert!(matches!(conflict.kind, ConflictKind::DishonestApplicant { .. }));
    assert!(case.state().conflicts.is_empty(), "only the reference data reveals it");
    let resolve = EventKind::ConflictResolved {
        conflict: conflict.id.clone(),
        note: "核实后维持容缺受理".into(),
    };
    case.record(ev("2026-03-03 09:00", Role::Supervisor, resolve.clone()), &w.ctx()).expect("resolved");
    assert!(case.state_with(&w.list).conflicts.is_empty(), "stays resolved when recomputed");
    let (code, _) = w.refuse(&mut case, "2026-03-03 10:00", Role::Supervisor, resolve);
    assert_eq!(code, "case.no_such_conflict");
}

#[test]
fn refused_events_write_nothing_and_stale_clocks_are_refused() {
    let w = World::new();
    let mut case = in_review(&w);
    let before = case.clone();
    let err = case.record(ev("2026-03-01 09:00", reviewer(DEPT), approve()), &w.ctx()).expect_err("stale");
    assert_eq!(err.code, "case.stale_clock");
    assert_eq!(case, before);
}

#[test]
fn a_late_supplement_arriving_by_merge_is_a_conflict() {
    // rule T3.6, rule O4: after the deadline no supplement counts, even one recorded at a node
    // whose clerk could not see the deadline had passed; it is raised, not applied.
    let w = World::new();
    let mut case = w.open(tolerant_item(), "2026-03-02 09:00", &["K1", "K2"]);
    tolerance_accept(&w, &mut case, "2026-03-02 09:10", "2026-03-06");
    let late =
        ev_on(HALL, "2026-03-09 09:00", clerk(), EventKind::SupplementReceived { materials: vec![m("T1")] });
    case.merge([late]);
    let st = case.state();
    assert_eq!(st.outstanding_materials(), vec![m("T1"), m("T2")]);
    assert_eq!(st.conflicts.len(), 1);
    assert_eq!(st.conflicts[0].rule, "T3.6");
}

#[test]
fn scans_refer_to_listed_materials_by_content_hash() {
    // rule W3.2: the window scans originals and uploads electronic materials.
    let w = World::new();
    let mut case = w.open(plain_item(), "2026-03-02 09:00", &["K1", "K2", "T1", "T2"]);
    let scan = |material: &str, hash: &str| Scan {
        material: m(material),
        hash: hash.to_string(),
        bytes: 1024,
        media_type: "application/pdf".to_string(),
    };
    let good = "0".repeat(64);
    let (code, rule) = w.refuse(
        &mut case,
        "2026-03-02 09:05",
        clerk(),
        EventKind::MaterialsScanned { scans: vec![scan("K1", "ABC")] },
    );
    assert_eq!((code, rule), ("case.scan_hash", "W3.2"));
    let (code, _) = w.refuse(
        &mut case,
        "2026-03-02 09:05",
        clerk(),
        EventKind::MaterialsScanned { scans: vec![scan("X9", &good)] },
    );
    assert_eq!(code, "case.material_not_listed");
    let (code, _) = w.refuse(
        &mut case,
        "2026-03-02 09:05",
        Role::Supervisor,
        EventKind::MaterialsScanned { scans: vec![scan("K1", &good)] },
    );
    assert_eq!(code, "permission.denied");
    w.rec(
        &mut case,
        "2026-03-02 09:05",
        clerk(),
        EventKind::MaterialsScanned { scans: vec![scan("K1", &good)] },
    );
    assert_eq!(case.state().scans.len(), 1);
}
