//! Randomised properties of the fold (O3): the state is the same for every arrival order of the
//! same events, replicas that worked apart converge once they exchange events, and no input —
//! valid, invalid or garbage — panics the fold or the command gate. Each test prints its seed.

mod common;

use chrono::{Duration, NaiveDateTime};
use common::*;
use yikou_schema::actor::Role;
use yikou_schema::case::*;
use yikou_schema::catalog::Item;
use yikou_schema::codes::{DepartmentCode, MaterialCode, NodeName};
use yikou_schema::hlc::{HlcClock, ms_from_local};

const NODES: [&str; 3] = [HALL, TOWN, "town-b"];

fn items() -> Vec<Item> {
    vec![tolerant_item(), plain_item(), instant_item(), upward_item(), serial_item(), parallel_item()]
}

fn text(rng: &mut Rng) -> String {
    match rng.below(8) {
        0 => String::new(),
        1 => " ".into(),
        2 => "x".repeat(TEXT_CHARS_MAX + 1),
        3 => "\u{0}控制".into(),
        _ => rng
            .pick(&["申请材料不符合法定条件", "专家评审", "EMS1234", "张三", state::UPWARD_OPINION])
            .to_string(),
    }
}

fn material(rng: &mut Rng) -> MaterialCode {
    m(rng.pick(&["K1", "K2", "T1", "T2", "T1", "T2", "X9"]))
}

fn department(rng: &mut Rng) -> DepartmentCode {
    dept(rng.pick(&[DEPT, DEPT, DEPT_B, DEPT_C, "D-NONE"]))
}

fn condition(rng: &mut Rng) -> Condition {
    match rng.below(6) {
        0 => Condition::Missing,
        1 => Condition::Flawed(text(rng)),
        _ => Condition::Present,
    }
}

fn presented_list(rng: &mut Rng) -> Vec<PresentedMaterial> {
    let n = rng.below(5);
    (0..n).map(|_| PresentedMaterial { code: material(rng), condition: condition(rng) }).collect()
}

fn reasons(rng: &mut Rng) -> Vec<String> {
    let n = rng.below(3);
    (0..n).map(|_| text(rng)).collect()
}

fn duty(rng: &mut Rng) -> DutyKind {
    match rng.below(5) {
        0 => DutyKind::Handover(department(rng)),
        1 => DutyKind::ToleranceSupply,
        2 => DutyKind::Issuing,
        _ => DutyKind::Decision,
    }
}

fn level(rng: &mut Rng) -> Level {
    rng.pick(&[Level::Normal, Level::Warning, Level::Yellow, Level::Red])
}

/// Any event kind, with payloads that are often valid and sometimes not.
fn kind(rng: &mut Rng, deadline_base: NaiveDateTime) -> EventKind {
    match rng.below(28) {
        0 => EventKind::Received {
            channel: match rng.below(4) {
                0 => Channel::Online { portal_ref: text(rng) },
                1 => Channel::Mail { handover_record: text(rng) },
                2 => Channel::Township,
                _ => Channel::Hall,
            },
            presented: presented_list(rng),
        },
        1 => EventKind::PreAccepted {
            result: match rng.below(3) {
                0 => PreAcceptance::Pass { paper_required: rng.chance(50) },
                1 => PreAcceptance::Correction {
                    problems: vec![Problem { material: Some(material(rng)), description: text(rng) }],
                },
                _ => PreAcceptance::Reject { reasons: reasons(rng) },
            },
        },
        2 | 3 => EventKind::Accepted { presented: presented_list(rng) },
        4 | 5 => EventKind::ToleranceAccepted {
            presented: presented_list(rng),
            commitment: Commitment {
                materials: (0..rng.below(3)).map(|_| material(rng)).collect(),
                deadline: (deadline_base + Duration::days(rng.below(12) as i64)).date(),
                window: text(rng),
                signed_by: Signatory::Applicant,
                dishonesty_list_version: 0,
            },
        },
        6 => EventKind::CorrectionNotice {
            problems: (0..rng.below(3))
                .map(|_| Problem { material: Some(material(rng)), description: text(rng) })
                .collect(),
        },
        7 => EventKind::Resubmitted { presented: presented_list(rng) },
        8 => EventKind::NotAccepted { reasons: reasons(rng) },
        9 | 10 => EventKind::HandedOver { department: department(rng), paper: rng.chance(70) },
        11 | 12 => EventKind::HandoverSigned { department: department(rng) },
        13 => EventKind::SpecialProcedureStarted { reason: text(rng) },
        14 => EventKind::SpecialProcedureEnded,
        15 => EventKind::SupplementReceived { materials: (0..rng.below(3)).map(|_| material(rng)).collect() },
        16 => EventKind::ProposedDecision { approve: rng.chance(50), opinion: text(rng) },
        17 | 18 => EventKind::Decided {
            outcome: if rng.chance(60) {
                Outcome::Approve { result: text(rng) }
            } else {
                Outcome::Deny {
                    reasons: reasons(rng),
                    basis: if rng.chance(50) { DenialBasis::Review } else { DenialBasis::ToleranceLapsed },
                }
            },
        },
        19 => EventKind::ResultToIssuing { register_entry: text(rng) },
        20 => EventKind::Notified { contact: text(rng) },
        21 => EventKind::Delivered {
            delivery: if rng.chance(50) {
                Delivery::Pickup { signed_by: text(rng) }
            } else {
                Delivery::Mail { postal_receipt: text(rng), address: text(rng) }
            },
        },
        22 => EventKind::ResultFormReturned,
        23 => EventKind::Archived,
        24 => EventKind::ReportedUpward { opinion: text(rng) },
        25 => EventKind::Withdrawn { reason: text(rng) },
        26 => match rng.below(5) {
            0 => EventKind::CardIssued { duty: duty(rng), level: level(rng) },
            1 => EventKind::CardRevoked { duty: duty(rng), reason: text(rng) },
            2 => EventKind::Rated { score: rng.below(8) as u8 },
            3 => EventKind::MaterialsScanned {
                scans: vec![Scan {
                    material: material(rng),
                    hash: "a".repeat(64),
                    bytes: 10,
                    media_type: text(rng),
                }],
            },
            _ => EventKind::FileRemovalConsented { reason: text(rng) },
        },
        _ => EventKind::ConflictResolved { conflict: ConflictId(text(rng)), note: text(rng) },
    }
}

/// The role that would plausibly record `kind` (most of the time), or any role.
fn role_for(rng: &mut Rng, kind: &EventKind) -> Role {
    if rng.chance(15) {
        return rng.pick(&[
            clerk(),
            reviewer(DEPT),
            reviewer(DEPT_B),
            Role::IssuingWindow,
            Role::HallCentre,
            Role::Supervisor,
            Role::Auditor,
            Role::System,
        ]);
    }
    match kind {
        EventKind::HandoverSigned { department } => Role::DepartmentReviewer(department.clone()),
        EventKind::SpecialProcedureStarted { .. }
        | EventKind::SpecialProcedureEnded
        | EventKind::ProposedDecision { .. }
        | EventKind::Decided { .. }
        | EventKind::ReportedUpward { .. } => reviewer(rng.pick(&[DEPT, DEPT, DEPT_B])),
        EventKind::Notified { .. } | EventKind::Delivered { .. } | EventKind::ResultFormReturned => {
            Role::IssuingWindow
        }
        EventKind::Archived => Role::System,
        EventKind::CardIssued { .. } | EventKind::CardRevoked { .. } | EventKind::ConflictResolved { .. } => {
            Role::Supervisor
        }
        EventKind::FileRemovalConsented { .. } => Role::HallCentre,
        EventKind::ResultToIssuing { .. } => reviewer(DEPT),
        _ => clerk(),
    }
}

/// A replica of one case at one node, with that node's clock.
struct Replica {
    node: &'static str,
    clock: HlcClock,
    now: NaiveDateTime,
    case: Case,
}

impl Replica {
    /// Tries random events until `accepted` were recorded or the tries run out.
    fn work(&mut self, rng: &mut Rng, w: &World, accepted: usize, tries: usize) {
        let mut done = 0;
        for _ in 0..tries {
            if done >= accepted {
                break;
            }
            self.now += Duration::minutes(1 + rng.below(600) as i64);
            let k = kind(rng, self.now);
            // Endings are easy to reach; make them rare so that walks go deep.
            let ending = matches!(k, EventKind::Withdrawn { .. } | EventKind::NotAccepted { .. })
                || matches!(k, EventKind::PreAccepted { result: PreAcceptance::Reject { .. } });
            if ending && rng.chance(95) {
                continue;
            }
            let role = role_for(rng, &k);
            let mut e = ev_at(self.node, self.now, 0, role, k);
            for seen in &self.case.events {
                let _ = self.clock.observe(&seen.hlc, e.hlc.wall_ms);
            }
            e.hlc = self.clock.tick(ms_from_local(self.now)).expect("clock ticks");
            if self.case.record(e, &w.ctx()).is_ok() {
                done += 1;
            }
        }
    }
}

#[test]
fn replicas_that_worked_apart_converge_to_one_state() {
    // rule O3: after peers reconnect, every node that shares a record converges to the same record.
    let mut rng = Rng::from_env("replicas_that_worked_apart_converge_to_one_state");
    let w = World::new();
    let mut conflicts_seen = 0usize;
    let mut phases = std::collections::BTreeSet::new();
    for round in 0..120 {
        let item = rng.pick(&items());
        let start = t("2026-03-02 09:00") + Duration::days(rng.below(200) as i64);
        let opened = ev_at(TOWN, start, 0, clerk(), received(&["K1", "K2", "T1"]));
        let Ok(case) = Case::open(header(item), opened.clone(), &w.ctx()) else { continue };
        let mut base = Replica {
            node: TOWN,
            clock: HlcClock::resume(NodeName::new(TOWN), &opened.hlc),
            now: start,
            case,
        };
        let n = rng.below(25);
        base.work(&mut rng, &w, n, 800);

        let mut replicas: Vec<Replica> = NODES
            .iter()
            .map(|node| Replica {
                node,
                clock: HlcClock::new(NodeName::new(*node)),
                now: base.now,
                case: base.case.clone(),
            })
            .collect();
        for r in &mut replicas {
            let n = rng.below(5);
            r.work(&mut rng, &w, n, 150);
        }
        // Exchange in random order and random pieces, like a flaky network would.
        let mut all: Vec<Event> = replicas.iter().flat_map(|r| r.case.events.clone()).collect();
        all.sort();
        all.dedup();
        for _ in 0..6 {
            let from = rng.below(replicas.len());
            let to = rng.below(replicas.len());
            let mut piece = replicas[from].case.events.clone();
            rng.shuffle(&mut piece);
            piece.truncate(rng.below(piece.len() + 1));
            replicas[to].case.merge(piece);
        }
        for r in &mut replicas {
            let mut rest = all.clone();
            rng.shuffle(&mut rest);
            r.case.merge(rest);
        }
        let expected = fold_of(&replicas[0].case.header, &all);
        for r in &replicas {
            assert_eq!(r.case.events, all, "round {round}: replica {} holds every event once", r.node);
            assert_eq!(r.case.state(), expected, "round {round}: replica {} converged", r.node);
        }
        conflicts_seen += expected.conflicts.len();
        phases.insert(expected.phase);
    }
    // The generator must reach real states, or the property says little.
    assert!(phases.len() >= 6, "phases reached: {phases:?}");
    println!("conflicts raised across rounds: {conflicts_seen}; phases reached: {phases:?}");
}

fn fold_of(header: &CaseHeader, events: &[Event]) -> CaseState {
    state::fold(header, events)
}

#[test]
fn the_fold_is_the_same_for_every_arrival_order() {
    // rule O3: the state is a pure fold, independent of the order in which events arrived.
    let mut rng = Rng::from_env("the_fold_is_the_same_for_every_arrival_order");
    for round in 0..300 {
        let h = header(rng.pick(&items()));
        let start = t("2026-03-02 09:00");
        let mut events: Vec<Event> = (0..rng.below(40))
            .map(|i| {
                let at = start + Duration::minutes(rng.below(20_000) as i64);
                let k = if i == 0 { received(&["K1", "K2"]) } else { kind(&mut rng, at) };
                let role = role_for(&mut rng, &k);
                ev_at(rng.pick(&NODES), at, rng.below(3) as u32, role, k)
            })
            .collect();
        let reference = state::fold(&h, &events);
        for _ in 0..4 {
            rng.shuffle(&mut events);
            // Duplicates (a peer resending) change nothing either.
            if rng.chance(30) && !events.is_empty() {
                let dup = events[rng.below(events.len())].clone();
                events.push(dup);
            }
            assert_eq!(state::fold(&h, &events), reference, "round {round}");
        }
    }
}

#[test]
fn no_event_sequence_panics_the_fold_or_the_gate() {
    // Nothing panics on input: random event sequences, valid or not, through fold and record.
    let mut rng = Rng::from_env("no_event_sequence_panics_the_fold_or_the_gate");
    let w = World::new();
    for _ in 0..300 {
        let h = header(rng.pick(&items()));
        let mut case = Case { header: h, events: Vec::new() };
        let mut at = t("2026-03-02 09:00");
        for _ in 0..rng.below(60) {
            at += Duration::minutes(rng.below(3_000) as i64);
            let k = kind(&mut rng, at);
            let role = role_for(&mut rng, &k);
            let e = ev_at(rng.pick(&NODES), at, 0, role, k);
            if rng.chance(50) {
                let _ = case.record(e, &w.ctx());
            } else {
                case.merge([e]);
            }
            let st = case.state_with(&w.list);
            let _ = yikou_schema::supervision::assess_case(
                &case.header,
                &st,
                at,
                &w.cal,
                &yikou_schema::supervision::Policy::default(),
            );
        }
    }
}

#[test]
fn events_round_trip_through_json() {
    // The event types are a stored format: whatever is written reads back the same.
    let mut rng = Rng::from_env("events_round_trip_through_json");
    for _ in 0..500 {
        let at = t("2026-03-02 09:00") + Duration::minutes(rng.below(100_000) as i64);
        let k = kind(&mut rng, at);
        let role = role_for(&mut rng, &k);
        let e = ev_at(rng.pick(&NODES), at, rng.below(5) as u32, role, k);
        let json = serde_json::to_string(&e).expect("serializes");
        let back: Event = serde_json::from_str(&json).expect("deserializes");
        assert_eq!(back, e);
    }
}
