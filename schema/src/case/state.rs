//! The case state machine: the fold over events, the structural rules every event must satisfy
//! against the state, and the extra checks made only when a clerk acts (calendar, dishonesty
//! list, permissions).

use std::collections::{BTreeMap, BTreeSet};

use chrono::{NaiveDate, NaiveDateTime};
use schemars::JsonSchema;
use serde::Serialize;

use super::event::*;
use super::permissions;
use super::{CaseHeader, CommandContext, RuleViolation};
use crate::actor::Actor;
use crate::catalog::{ItemKind, JointMode, MaterialClass};
use crate::codes::{DepartmentCode, MaterialCode};
use crate::hlc::Hlc;

/// The text an upward item's report must carry (W8).
pub const UPWARD_OPINION: &str = "材料齐全、符合法定形式,呈请上级部门办理";

/// Where a case stands.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, JsonSchema)]
#[serde(rename_all = "snake_case")]
pub enum Phase {
    /// No receipt yet (only seen when a merge delivered later events first).
    New,
    /// 已接件: awaiting the intake answer (or the online pre-acceptance).
    Received,
    /// Online pre-acceptance passed (W3.1).
    PreAccepted,
    /// 待补正: a correction notice was issued (W3.5).
    AwaitingCorrection,
    /// 已受理 (possibly with tolerance): materials go to the department(s).
    Accepted,
    /// Every department involved signed for the materials: in review.
    InReview,
    Decided,
    /// 结果已转统一发证窗口 (W6.1).
    AtIssuingWindow,
    Notified,
    Delivered,
    /// Terminal states.
    Archived,
    NotAccepted,
    ReportedUpward,
    Withdrawn,
}

impl Phase {
    pub fn is_terminal(self) -> bool {
        matches!(self, Phase::Archived | Phase::NotAccepted | Phase::ReportedUpward | Phase::Withdrawn)
    }

    pub fn name_zh(self) -> &'static str {
        match self {
            Phase::New => "新建",
            Phase::Received => "已接件",
            Phase::PreAccepted => "预受理通过",
            Phase::AwaitingCorrection => "待补正",
            Phase::Accepted => "已受理",
            Phase::InReview => "审查中",
            Phase::Decided => "已决定",
            Phase::AtIssuingWindow => "待发证",
            Phase::Notified => "已通知领取",
            Phase::Delivered => "已送达",
            Phase::Archived => "已归档",
            Phase::NotAccepted => "不予受理",
            Phase::ReportedUpward => "已上报",
            Phase::Withdrawn => "已撤回",
        }
    }
}

/// A domain conflict found after merge (O4), reported as data for a supervisor.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, JsonSchema)]
pub struct Conflict {
    pub id: ConflictId,
    pub kind: ConflictKind,
    /// The event that raised it.
    pub event: EventId,
    pub rule: &'static str,
    pub message: String,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, JsonSchema)]
#[serde(tag = "conflict", rename_all = "snake_case")]
pub enum ConflictKind {
    /// Two decisions on one case: the earlier (by HLC) stands until a supervisor acts.
    TwoDecisions { standing: EventId },
    /// An event after the case had ended.
    AfterTerminal { phase: Phase },
    /// Tolerance acceptance of an applicant who was on the dishonesty list (T3.6).
    DishonestApplicant { listed_on: NaiveDate },
    /// Any other event the merged state does not allow.
    NotAllowed { code: &'static str },
}

/// The tolerance part of a case (T3).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, JsonSchema)]
pub struct ToleranceState {
    /// The tolerance acceptance event.
    pub event: EventId,
    pub accepted_at: NaiveDateTime,
    pub commitment: Commitment,
    pub supplied: BTreeMap<MaterialCode, NaiveDateTime>,
}

impl ToleranceState {
    /// Materials promised and not yet supplied.
    pub fn outstanding(&self) -> Vec<MaterialCode> {
        self.commitment.materials.iter().filter(|m| !self.supplied.contains_key(*m)).cloned().collect()
    }
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, JsonSchema)]
pub struct HandoverState {
    /// When the duty to hand over started: acceptance, or (serial joint items) the sign-off of
    /// the previous department.
    pub due_from: NaiveDateTime,
    pub handed_at: Option<NaiveDateTime>,
    pub paper: bool,
    pub signed_at: Option<NaiveDateTime>,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, JsonSchema)]
pub struct Pause {
    pub start: NaiveDateTime,
    pub end: Option<NaiveDateTime>,
    pub reason: String,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, JsonSchema)]
pub struct DecisionRecord {
    pub at: NaiveDateTime,
    pub outcome: Outcome,
    pub by: Actor,
    pub event: EventId,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, JsonSchema)]
pub struct CardState {
    pub level: Level,
    pub issued_at: NaiveDateTime,
    pub revoked: Option<String>,
}

/// One card of [`CaseState::cards`] as JSON shows it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, JsonSchema)]
pub struct DutyCard {
    pub duty: DutyKind,
    pub card: CardState,
}

fn cards_as_list<S: serde::Serializer>(
    cards: &BTreeMap<DutyKind, CardState>,
    serializer: S,
) -> Result<S::Ok, S::Error> {
    serializer
        .collect_seq(cards.iter().map(|(duty, card)| DutyCard { duty: duty.clone(), card: card.clone() }))
}

/// One intake round: from receipt (or resubmission) to the answer (§32, W3.5).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, JsonSchema)]
pub struct IntakeRound {
    pub started: NaiveDateTime,
    pub answered: Option<NaiveDateTime>,
}

/// Everything the fold knows about a case.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, JsonSchema)]
pub struct CaseState {
    pub phase: Phase,
    pub channel: Option<Channel>,
    pub received_at: Option<NaiveDateTime>,
    /// The latest condition of each material as presented.
    pub presented: BTreeMap<MaterialCode, Condition>,
    pub rounds: Vec<IntakeRound>,
    pub pre_acceptance: Option<(NaiveDateTime, PreAcceptance)>,
    pub corrections: Vec<(NaiveDateTime, Vec<Problem>)>,
    pub not_accepted: Option<(NaiveDateTime, Vec<String>)>,
    pub accepted_at: Option<NaiveDateTime>,
    /// Who accepted (综合受理 or a department's own intake staff, W3.2): for the W10 indicators.
    pub accepted_by: Option<Actor>,
    pub tolerance: Option<ToleranceState>,
    pub handovers: BTreeMap<DepartmentCode, HandoverState>,
    pub pauses: Vec<Pause>,
    pub proposed: Option<(NaiveDateTime, bool, String)>,
    pub decision: Option<DecisionRecord>,
    pub at_issuing_at: Option<NaiveDateTime>,
    pub notified_at: Option<NaiveDateTime>,
    /// How the applicant was told (W6.2: by the contact and pickup method on record).
    pub notified_contact: Option<String>,
    pub delivered: Option<(NaiveDateTime, Delivery)>,
    pub form_returned_at: Option<NaiveDateTime>,
    pub archived_at: Option<NaiveDateTime>,
    pub reported_upward_at: Option<NaiveDateTime>,
    pub withdrawn: Option<(NaiveDateTime, String)>,
    pub file_removal_consents: Vec<(NaiveDateTime, String)>,
    /// Scans and uploads, in order (W3.2).
    pub scans: Vec<Scan>,
    /// JSON: a list of `{duty, card}` (a duty is an object, and JSON map keys are strings).
    #[serde(serialize_with = "cards_as_list")]
    #[schemars(with = "Vec<DutyCard>")]
    pub cards: BTreeMap<DutyKind, CardState>,
    pub ratings: Vec<u8>,
    pub provincial_number: Option<String>,
    /// Open conflicts (raised and not resolved).
    pub conflicts: Vec<Conflict>,
    pub resolved: Vec<(ConflictId, String)>,
    pub last_hlc: Option<Hlc>,
}

impl CaseState {
    fn new() -> Self {
        CaseState {
            phase: Phase::New,
            channel: None,
            received_at: None,
            presented: BTreeMap::new(),
            rounds: Vec::new(),
            pre_acceptance: None,
            corrections: Vec::new(),
            not_accepted: None,
            accepted_at: None,
            accepted_by: None,
            tolerance: None,
            handovers: BTreeMap::new(),
            pauses: Vec::new(),
            proposed: None,
            decision: None,
            at_issuing_at: None,
            notified_at: None,
            notified_contact: None,
            delivered: None,
            form_returned_at: None,
            archived_at: None,
            reported_upward_at: None,
            withdrawn: None,
            file_removal_consents: Vec::new(),
            scans: Vec::new(),
            cards: BTreeMap::new(),
            ratings: Vec::new(),
            provincial_number: None,
            conflicts: Vec::new(),
            resolved: Vec::new(),
            last_hlc: None,
        }
    }

    /// Whether the special procedure is open (the clock is paused).
    pub fn paused(&self) -> bool {
        self.pauses.last().is_some_and(|p| p.end.is_none())
    }

    /// Tolerable materials promised and not yet supplied.
    pub fn outstanding_materials(&self) -> Vec<MaterialCode> {
        self.tolerance.as_ref().map(ToleranceState::outstanding).unwrap_or_default()
    }

    fn raise(&mut self, event: &Event, kind: ConflictKind, violation: &RuleViolation) {
        let tag = match &kind {
            ConflictKind::TwoDecisions { .. } => "two_decisions",
            ConflictKind::AfterTerminal { .. } => "after_terminal",
            ConflictKind::DishonestApplicant { .. } => "dishonest_applicant",
            ConflictKind::NotAllowed { .. } => "not_allowed",
        };
        let id = ConflictId(format!("{tag}:{}", event.id()));
        if self.resolved.iter().any(|(r, _)| *r == id) || self.conflicts.iter().any(|c| c.id == id) {
            return;
        }
        self.conflicts.push(Conflict {
            id,
            kind,
            event: event.id(),
            rule: violation.rule,
            message: violation.message.clone(),
        });
    }

    /// Records a conflict found outside the fold (the dishonesty list, see
    /// [`crate::tolerance::dishonesty_conflict`]) unless a supervisor already resolved it.
    pub fn add_external_conflict(&mut self, conflict: Conflict) {
        if self.resolved.iter().any(|(r, _)| *r == conflict.id)
            || self.conflicts.iter().any(|c| c.id == conflict.id)
        {
            return;
        }
        self.conflicts.push(conflict);
    }
}

/// The fold: sorts the events by HLC (a total order), then applies each one the state allows
/// and turns each one it does not into a conflict. Pure and deterministic.
pub fn fold(header: &CaseHeader, events: &[Event]) -> CaseState {
    let mut sorted: Vec<&Event> = events.iter().collect();
    sorted.sort();
    sorted.dedup();
    let mut st = CaseState::new();
    for event in sorted {
        match check_structure(header, &st, event) {
            Ok(()) => apply(header, &mut st, event),
            Err(v) => {
                let kind = if st.phase.is_terminal() && !always_allowed(&event.kind) {
                    ConflictKind::AfterTerminal { phase: st.phase }
                } else if let (EventKind::Decided { .. }, Some(d)) = (&event.kind, &st.decision) {
                    ConflictKind::TwoDecisions { standing: d.event.clone() }
                } else {
                    ConflictKind::NotAllowed { code: v.code }
                };
                st.raise(event, kind, &v);
            }
        }
        if st.last_hlc.as_ref().is_none_or(|h| *h < event.hlc) {
            st.last_hlc = Some(event.hlc.clone());
        }
    }
    st
}

/// Events that are bookkeeping about the case rather than steps of it.
fn always_allowed(kind: &EventKind) -> bool {
    matches!(
        kind,
        EventKind::CardIssued { .. }
            | EventKind::CardRevoked { .. }
            | EventKind::Rated { .. }
            | EventKind::ConflictResolved { .. }
            | EventKind::ProvincialNumberAssigned { .. }
    )
}

fn v(rule: &'static str, code: &'static str, message: impl Into<String>) -> RuleViolation {
    RuleViolation::new(rule, code, message)
}

fn check_text(rule: &'static str, what: &str, text: &str) -> Result<(), RuleViolation> {
    if text.trim().is_empty() {
        return Err(v(rule, "case.text_empty", format!("{what}不能为空")));
    }
    if text.chars().count() > TEXT_CHARS_MAX {
        return Err(v(rule, "case.text_too_long", format!("{what}超过 {TEXT_CHARS_MAX} 字,请精简")));
    }
    Ok(())
}

fn check_list(rule: &'static str, what: &str, items: &[String], max: usize) -> Result<(), RuleViolation> {
    if items.is_empty() {
        return Err(v(rule, "case.reasons_missing", format!("{what}至少需要一条")));
    }
    if items.len() > max {
        return Err(v(rule, "case.too_many_reasons", format!("{what}最多 {max} 条")));
    }
    items.iter().try_for_each(|t| check_text(rule, what, t))
}

/// W3.6: every material named must be listed for the item.
fn check_listed<'a>(
    header: &CaseHeader,
    codes: impl Iterator<Item = &'a MaterialCode>,
) -> Result<(), RuleViolation> {
    let unlisted: Vec<String> =
        codes.filter(|c| header.item.material(c).is_none()).map(|c| c.to_string()).collect();
    if unlisted.is_empty() {
        Ok(())
    } else {
        Err(v(
            "W3.6",
            "case.material_not_listed",
            format!("材料 {} 不在本事项的申报材料清单中,不得要求申请人提供", unlisted.join("、")),
        ))
    }
}

fn check_presented(header: &CaseHeader, presented: &[PresentedMaterial]) -> Result<(), RuleViolation> {
    if presented.len() > MATERIALS_PER_EVENT_MAX {
        return Err(v("W3.2", "case.too_many_materials", format!("材料最多 {MATERIALS_PER_EVENT_MAX} 项")));
    }
    check_listed(header, presented.iter().map(|p| &p.code))?;
    let mut seen = BTreeSet::new();
    for p in presented {
        if !seen.insert(&p.code) {
            return Err(v("W3.2", "case.material_repeated", format!("材料 {} 重复登记", p.code)));
        }
        if let Condition::Flawed(note) = &p.condition {
            check_text("W3.2", "材料瑕疵说明", note)?;
        }
    }
    Ok(())
}

/// Conditions after merging a new presentation into what was presented before.
fn merged_presented(st: &CaseState, presented: &[PresentedMaterial]) -> BTreeMap<MaterialCode, Condition> {
    let mut all = st.presented.clone();
    for p in presented {
        all.insert(p.code.clone(), p.condition.clone());
    }
    all
}

fn material_name(header: &CaseHeader, code: &MaterialCode) -> String {
    header.item.material(code).map_or_else(|| code.to_string(), |m| m.name.clone())
}

/// Materials of the item that are not present and lawful, given the conditions recorded.
fn not_present(
    header: &CaseHeader,
    conditions: &BTreeMap<MaterialCode, Condition>,
    class: MaterialClass,
) -> Vec<MaterialCode> {
    header
        .item
        .materials
        .iter()
        .filter(|m| m.class == class)
        .filter(|m| conditions.get(&m.code) != Some(&Condition::Present))
        .map(|m| m.code.clone())
        .collect()
}

fn names(header: &CaseHeader, codes: &[MaterialCode]) -> String {
    codes.iter().map(|c| material_name(header, c)).collect::<Vec<_>>().join("、")
}

/// The departments a case must be handed to, in order (the lead first).
pub fn departments(header: &CaseHeader) -> Vec<DepartmentCode> {
    header.item.joint.departments(&header.item.department)
}

fn is_instant(header: &CaseHeader) -> bool {
    header.item.kind == ItemKind::Instant
}

fn intake_open(st: &CaseState, header: &CaseHeader) -> Result<(), RuleViolation> {
    match (st.phase, &st.channel) {
        (Phase::PreAccepted, _) => Ok(()),
        (Phase::Received, Some(Channel::Online { .. })) if st.pre_acceptance.is_none() => {
            Err(v("W3.1", "case.pre_acceptance_required", "网上申报件须先由网厅作出预受理结果,方可受理"))
        }
        (Phase::Received, _) => Ok(()),
        (phase, _) => Err(v(
            "W3.5",
            "case.not_awaiting_intake",
            format!("办件 {} 当前状态为「{}」,不能办理受理", header.number, phase.name_zh()),
        )),
    }
}

/// The structural rules: what the state allows next. Shared by the command gate and the fold.
pub fn check_structure(header: &CaseHeader, st: &CaseState, event: &Event) -> Result<(), RuleViolation> {
    if event.hlc.node != event.actor.node {
        return Err(v("O3", "case.node_mismatch", "事件的时间戳节点与操作节点不一致"));
    }
    if st.phase == Phase::New && !matches!(event.kind, EventKind::Received { .. }) {
        return Err(v("W3.5", "case.not_received", "办件尚未接件,不能办理此步骤"));
    }
    if st.phase.is_terminal() && !always_allowed(&event.kind) {
        return Err(v(
            "W9",
            "case.terminal",
            format!("办件已处于「{}」状态,不能再办理「{}」", st.phase.name_zh(), event.kind.name_zh()),
        ));
    }
    match &event.kind {
        EventKind::Received { presented, channel } => {
            if st.phase != Phase::New {
                return Err(v("W3.5", "case.already_received", "该办件已接件"));
            }
            match channel {
                Channel::Mail { handover_record } => check_text("W3.4", "邮寄件交接登记", handover_record)?,
                Channel::Online { portal_ref } => check_text("W3.1", "网上申报编号", portal_ref)?,
                Channel::Hall | Channel::Township => {}
            }
            check_presented(header, presented)
        }
        EventKind::PreAccepted { result } => {
            if !matches!(st.channel, Some(Channel::Online { .. })) {
                return Err(v("W3.1", "case.not_online", "只有网上申报件需要预受理"));
            }
            if st.phase != Phase::Received {
                return Err(v("W3.1", "case.pre_acceptance_done", "该办件已作出预受理结果"));
            }
            match result {
                PreAcceptance::Pass { .. } => Ok(()),
                PreAcceptance::Correction { problems } => check_problems(header, problems),
                PreAcceptance::Reject { reasons } => check_list("W3.5", "不予受理理由", reasons, REASONS_MAX),
            }
        }
        EventKind::Accepted { presented } => {
            intake_open(st, header)?;
            check_presented(header, presented)?;
            let all = merged_presented(st, presented);
            let key = not_present(header, &all, MaterialClass::Key);
            let tolerable = not_present(header, &all, MaterialClass::Tolerable);
            if !key.is_empty() || !tolerable.is_empty() {
                let mut missing = key;
                missing.extend(tolerable);
                return Err(v(
                    "W3.5",
                    "case.materials_incomplete",
                    format!(
                        "材料不齐全或不符合法定形式:{}。请出具补正通知,或在符合条件时办理容缺受理",
                        names(header, &missing)
                    ),
                ));
            }
            Ok(())
        }
        EventKind::ToleranceAccepted { presented, commitment } => {
            intake_open(st, header)?;
            check_presented(header, presented)?;
            check_tolerance_structure(header, &merged_presented(st, presented), commitment)
        }
        EventKind::CorrectionNotice { problems } => {
            if st.phase == Phase::AwaitingCorrection {
                return Err(v(
                    "W3.5",
                    "case.correction_told_once",
                    "补正通知已出具:材料问题须一次性告知,待申请人补正后方可再次审查",
                ));
            }
            intake_open(st, header)?;
            check_problems(header, problems)
        }
        EventKind::Resubmitted { presented } => {
            if st.phase != Phase::AwaitingCorrection {
                return Err(v("W3.5", "case.not_awaiting_correction", "办件不在待补正状态"));
            }
            check_presented(header, presented)
        }
        EventKind::NotAccepted { reasons } => {
            if !matches!(st.phase, Phase::Received | Phase::PreAccepted | Phase::AwaitingCorrection) {
                return Err(v(
                    "W3.5",
                    "case.not_awaiting_intake",
                    format!("办件当前状态为「{}」,不能作出不予受理决定", st.phase.name_zh()),
                ));
            }
            check_list("W3.5", "不予受理理由", reasons, REASONS_MAX)
        }
        EventKind::HandedOver { department, .. } => check_handover(header, st, department),
        EventKind::HandoverSigned { department } => match st.handovers.get(department) {
            Some(h) if h.handed_at.is_some() && h.signed_at.is_none() => Ok(()),
            Some(h) if h.signed_at.is_some() => {
                Err(v("W4.1", "case.already_signed", format!("{department} 已签收")))
            }
            _ => Err(v("W4.1", "case.not_handed_over", format!("材料尚未移交 {department},不能签收"))),
        },
        EventKind::SpecialProcedureStarted { reason } => {
            if st.phase != Phase::InReview {
                return Err(v("W5.1", "case.not_in_review", "只有审查中的办件可以启动特别程序"));
            }
            if st.paused() {
                return Err(v("W5.1", "case.already_paused", "特别程序已在进行中"));
            }
            check_text("W5.1", "特别程序事由", reason)
        }
        EventKind::SpecialProcedureEnded => {
            if st.paused() {
                Ok(())
            } else {
                Err(v("W5.1", "case.not_paused", "没有进行中的特别程序"))
            }
        }
        EventKind::SupplementReceived { materials } => {
            let Some(t) = &st.tolerance else {
                return Err(v("T3.5", "case.no_commitment", "该办件不是容缺受理件,没有待补交的材料"));
            };
            if st.decision.is_some() {
                return Err(v("T3.5", "case.already_decided", "办件已作出决定,不再接收补交材料"));
            }
            if materials.is_empty() || materials.len() > MATERIALS_PER_EVENT_MAX {
                return Err(v("T3.5", "case.supplement_empty", "请登记本次补交的材料"));
            }
            // T3.6: arrival at the window is the time of supply; after the deadline, denial.
            let today = event.hlc.local().date();
            if today > t.commitment.deadline {
                return Err(v(
                    "T3.6",
                    "case.supplement_late",
                    format!(
                        "已超过承诺补交期限 {},不能再接收补交材料,应依法作出不予审批决定",
                        t.commitment.deadline
                    ),
                ));
            }
            let outstanding = t.outstanding();
            let unexpected: Vec<MaterialCode> =
                materials.iter().filter(|m| !outstanding.contains(m)).cloned().collect();
            if !unexpected.is_empty() {
                return Err(v(
                    "T3.5",
                    "case.supplement_not_promised",
                    format!("{} 不在承诺书待补交材料中,或已补交", names(header, &unexpected)),
                ));
            }
            Ok(())
        }
        EventKind::ProposedDecision { opinion, .. } => {
            decision_phase_open(header, st)?;
            check_text("T3.4", "拟审批意见", opinion)
        }
        EventKind::Decided { outcome } => check_decision(header, st, outcome, event.hlc.local().date()),
        EventKind::ResultToIssuing { register_entry } => {
            if st.phase != Phase::Decided {
                return Err(v("W6.1", "case.not_decided", "办件尚未作出决定,不能转交发证窗口"));
            }
            check_text("W6.1", "交接登记", register_entry)
        }
        EventKind::Notified { contact } => {
            if st.phase != Phase::AtIssuingWindow {
                return Err(v("W6.2", "case.not_at_issuing", "发证窗口尚未收到办理结果"));
            }
            check_text("W6.2", "通知方式", contact)
        }
        EventKind::Delivered { delivery } => {
            if st.phase != Phase::Notified {
                return Err(v("W6.2", "case.not_notified", "尚未通知申请人,不能登记送达"));
            }
            match delivery {
                Delivery::Pickup { signed_by } => check_text("W6.2", "领取人签名", signed_by),
                Delivery::Mail { postal_receipt, address } => {
                    check_text("W6.2", "邮寄凭证号", postal_receipt)?;
                    check_text("W6.2", "邮寄地址", address)
                }
            }
        }
        EventKind::ResultFormReturned => match &st.delivered {
            Some((_, Delivery::Mail { .. })) if st.form_returned_at.is_none() => Ok(()),
            Some((_, Delivery::Mail { .. })) => Err(v("W6.2", "case.form_returned", "办理结果交接单已返还")),
            _ => Err(v("W6.2", "case.not_mailed", "只有邮寄送达的办件需要返还办理结果交接单")),
        },
        EventKind::Archived => {
            if st.phase != Phase::Delivered {
                return Err(v("W7", "case.not_delivered", "办理结果送达后方可归档"));
            }
            if matches!(st.delivered, Some((_, Delivery::Mail { .. }))) && st.form_returned_at.is_none() {
                return Err(v(
                    "W6.2",
                    "case.form_not_returned",
                    "邮寄件须先将办理结果交接单返还部门,方可归档",
                ));
            }
            Ok(())
        }
        EventKind::ReportedUpward { opinion } => {
            if header.item.kind != ItemKind::Upward {
                return Err(v("W8", "case.not_upward", "该事项不是上报件"));
            }
            if st.phase != Phase::InReview {
                return Err(v("W8", "case.not_in_review", "部门签收材料后方可上报"));
            }
            if opinion.trim() != UPWARD_OPINION {
                return Err(v("W8", "case.upward_opinion", format!("上报意见应为「{UPWARD_OPINION}」")));
            }
            Ok(())
        }
        EventKind::Withdrawn { reason } => {
            if st.decision.is_some() {
                return Err(v("W5.1", "case.already_decided", "办件已作出决定,不能撤回"));
            }
            check_text("W3.5", "撤回理由", reason)
        }
        EventKind::FileRemovalConsented { reason } => check_text("W5.2", "案卷带离事由", reason),
        EventKind::MaterialsScanned { scans } => {
            if scans.is_empty() || scans.len() > MATERIALS_PER_EVENT_MAX {
                return Err(v(
                    "W3.2",
                    "case.scans_empty",
                    format!("每次登记 1 至 {MATERIALS_PER_EVENT_MAX} 份扫描件"),
                ));
            }
            check_listed(header, scans.iter().map(|s| &s.material))?;
            for scan in scans {
                let hex = scan.hash.len() == 64
                    && scan.hash.bytes().all(|b| b.is_ascii_digit() || (b'a'..=b'f').contains(&b));
                if !hex {
                    return Err(v("W3.2", "case.scan_hash", "扫描件的内容摘要应为 64 位小写十六进制"));
                }
                check_text("W3.2", "文件类型", &scan.media_type)?;
            }
            Ok(())
        }
        EventKind::CardIssued { level, duty } => {
            if *level == Level::Normal {
                return Err(v("W9", "case.card_normal", "正常状态无需发牌"));
            }
            match st.cards.get(duty) {
                Some(c) if c.revoked.is_none() && c.level >= *level => Err(v(
                    "W9",
                    "case.card_not_escalated",
                    format!("「{}」已有{},只能升级", duty.name_zh(), c.level.name_zh()),
                )),
                _ => Ok(()),
            }
        }
        EventKind::CardRevoked { duty, reason } => match st.cards.get(duty) {
            Some(c) if c.revoked.is_none() => check_text("W9", "撤销理由", reason),
            _ => Err(v("W9", "case.no_card", format!("「{}」没有可撤销的红黄牌", duty.name_zh()))),
        },
        EventKind::Rated { score } => {
            if !(1..=5).contains(score) {
                return Err(v("W10", "case.rating_range", "满意度评价应为 1 至 5"));
            }
            if matches!(st.channel, Some(Channel::Online { .. })) && !st.ratings.is_empty() {
                return Err(v("W10", "case.rated_online", "网上办件每件只评价一次"));
            }
            Ok(())
        }
        // Whether the conflict is open is checked at the command (it may be one found outside
        // the fold, such as the dishonesty list's); the fold only needs the resolution's form.
        EventKind::ConflictResolved { conflict, note } => {
            check_text("O4", "冲突编号", &conflict.0)?;
            check_text("O4", "处理意见", note)
        }
        EventKind::ProvincialNumberAssigned { number } => {
            if st.provincial_number.is_some() {
                return Err(v("O3", "case.provincial_number_set", "省平台编号已登记"));
            }
            check_text("O3", "省平台编号", number)
        }
    }
}

fn check_problems(header: &CaseHeader, problems: &[Problem]) -> Result<(), RuleViolation> {
    if problems.is_empty() {
        return Err(v("W3.5", "case.problems_missing", "补正通知须列明全部问题,至少一条"));
    }
    if problems.len() > PROBLEMS_MAX {
        return Err(v("W3.5", "case.too_many_problems", format!("问题最多 {PROBLEMS_MAX} 条")));
    }
    check_listed(header, problems.iter().filter_map(|p| p.material.as_ref()))?;
    problems.iter().try_for_each(|p| check_text("W3.5", "问题说明", &p.description))
}

/// T1 and T3.1–T3.2, as far as the case alone can tell.
fn check_tolerance_structure(
    header: &CaseHeader,
    conditions: &BTreeMap<MaterialCode, Condition>,
    commitment: &Commitment,
) -> Result<(), RuleViolation> {
    if !header.item.tolerance {
        return Err(v("T1", "tolerance.not_on_list", "该事项不在容缺受理事项清单中"));
    }
    if is_instant(header) {
        return Err(v("T1", "tolerance.instant_item", "即办件不适用容缺受理"));
    }
    let key = not_present(header, conditions, MaterialClass::Key);
    if !key.is_empty() {
        return Err(v(
            "T2",
            "tolerance.key_material_missing",
            format!("主要申报材料 {} 欠缺或有瑕疵,应出具补正通知,不能容缺受理", names(header, &key)),
        ));
    }
    let tolerable = not_present(header, conditions, MaterialClass::Tolerable);
    if tolerable.is_empty() {
        return Err(v("T1", "tolerance.nothing_missing", "材料已齐全,应直接受理,无需容缺"));
    }
    let promised: BTreeSet<&MaterialCode> = commitment.materials.iter().collect();
    let needed: BTreeSet<&MaterialCode> = tolerable.iter().collect();
    if promised != needed || promised.len() != commitment.materials.len() {
        return Err(v(
            "T3.1",
            "tolerance.commitment_materials",
            format!("承诺书须一次列明全部待补材料:{}", names(header, &tolerable)),
        ));
    }
    check_text("T3.1", "补交窗口", &commitment.window)?;
    if let Signatory::Agent { id_number, name, authorisation_ref } = &commitment.signed_by {
        check_text("T3.2", "委托人身份证号", id_number)?;
        check_text("T3.2", "委托人姓名", name)?;
        check_text("T3.2", "特别授权委托书", authorisation_ref)?;
    }
    Ok(())
}

fn check_handover(
    header: &CaseHeader,
    st: &CaseState,
    department: &DepartmentCode,
) -> Result<(), RuleViolation> {
    if st.phase != Phase::Accepted {
        return Err(v(
            "W4.1",
            "case.not_accepted",
            format!("办件当前状态为「{}」,不能移交材料", st.phase.name_zh()),
        ));
    }
    let all = departments(header);
    let Some(pos) = all.iter().position(|d| d == department) else {
        return Err(v("W4.3", "case.department_not_involved", format!("{department} 不是本事项的办理部门")));
    };
    if st.handovers.get(department).is_some_and(|h| h.handed_at.is_some()) {
        return Err(v("W4.1", "case.already_handed_over", format!("材料已移交 {department}")));
    }
    if let JointMode::Serial { .. } = header.item.joint {
        // W4.3: serial items go to the lead first, then on in order after each sign-off.
        if let Some(prev) = pos.checked_sub(1).and_then(|p| all.get(p)) {
            let signed = st.handovers.get(prev).is_some_and(|h| h.signed_at.is_some());
            if !signed {
                return Err(v(
                    "W4.3",
                    "case.serial_order",
                    format!("前后置联办事项须按顺序移交:请待 {prev} 签收后再移交 {department}"),
                ));
            }
        }
    }
    Ok(())
}

fn decision_phase_open(header: &CaseHeader, st: &CaseState) -> Result<(), RuleViolation> {
    match st.phase {
        Phase::InReview => Ok(()),
        // W3.3: instant items are decided by the department's own staff at intake.
        Phase::Accepted if is_instant(header) => Ok(()),
        phase => Err(v(
            "W5.1",
            "case.not_in_review",
            format!("办件当前状态为「{}」,部门签收材料后方可审查决定", phase.name_zh()),
        )),
    }
}

fn check_decision(
    header: &CaseHeader,
    st: &CaseState,
    outcome: &Outcome,
    today: NaiveDate,
) -> Result<(), RuleViolation> {
    if st.decision.is_some() {
        return Err(v("O4", "case.already_decided", "该办件已作出审批决定,不能重复决定"));
    }
    if header.item.kind == ItemKind::Upward {
        return Err(v("W8", "case.upward_no_decision", "上报件由上级部门审批,县级只核查并上报"));
    }
    decision_phase_open(header, st)?;
    if st.paused() {
        return Err(v("W5.1", "case.paused", "特别程序进行中,请先结束特别程序再作决定"));
    }
    let outstanding = st.outstanding_materials();
    match outcome {
        Outcome::Approve { result } => {
            if !outstanding.is_empty() {
                return Err(v(
                    "T3.5",
                    "case.tolerable_outstanding",
                    format!("容缺材料 {} 尚未补齐,不能作出准予决定", names(header, &outstanding)),
                ));
            }
            check_text("W5.1", "办理结果", result)
        }
        Outcome::Deny { reasons, basis } => {
            check_list("T3.5", "不予审批理由", reasons, REASONS_MAX)?;
            if *basis == DenialBasis::ToleranceLapsed && outstanding.is_empty() {
                return Err(v("T3.6", "case.nothing_lapsed", "容缺材料已补齐,不能以逾期未补交为由不予审批"));
            }
            if *basis == DenialBasis::ToleranceLapsed
                && st.tolerance.as_ref().is_some_and(|t| today <= t.commitment.deadline)
            {
                return Err(v("T3.6", "case.not_lapsed", "承诺补交期限尚未届满,不能以逾期为由不予审批"));
            }
            Ok(())
        }
    }
}

/// The command gate: structure, permission, and what needs reference data (calendar,
/// dishonesty list). Nothing is written when this fails.
pub fn check_command(
    header: &CaseHeader,
    st: &CaseState,
    event: &Event,
    ctx: &CommandContext<'_>,
) -> Result<(), RuleViolation> {
    if let Some(last) = &st.last_hlc
        && event.hlc <= *last
    {
        return Err(v("O3", "case.stale_clock", "事件时间早于办件的最新记录,请检查本节点时钟"));
    }
    permissions::check(header, &event.actor.role, &event.kind)?;
    check_structure(header, st, event)?;
    let today = event.hlc.local().date();
    match &event.kind {
        EventKind::ToleranceAccepted { commitment, .. } => {
            crate::tolerance::check_command(header, today, commitment, ctx)
        }
        EventKind::ConflictResolved { conflict, .. } => {
            if st.conflicts.iter().any(|c| c.id == *conflict) {
                Ok(())
            } else {
                Err(v("O4", "case.no_such_conflict", format!("没有待处理的冲突 {conflict}")))
            }
        }
        _ => Ok(()),
    }
}

fn apply(header: &CaseHeader, st: &mut CaseState, event: &Event) {
    let at = event.hlc.local();
    let answer_round = |st: &mut CaseState| {
        if let Some(r) = st.rounds.last_mut()
            && r.answered.is_none()
        {
            r.answered = Some(at);
        }
    };
    match &event.kind {
        EventKind::Received { channel, presented } => {
            st.phase = Phase::Received;
            st.channel = Some(channel.clone());
            st.received_at = Some(at);
            st.rounds.push(IntakeRound { started: at, answered: None });
            st.presented = merged_presented(st, presented);
        }
        EventKind::PreAccepted { result } => {
            st.pre_acceptance = Some((at, result.clone()));
            answer_round(st);
            match result {
                PreAcceptance::Pass { .. } => st.phase = Phase::PreAccepted,
                PreAcceptance::Correction { problems } => {
                    st.corrections.push((at, problems.clone()));
                    st.phase = Phase::AwaitingCorrection;
                }
                PreAcceptance::Reject { reasons } => {
                    st.not_accepted = Some((at, reasons.clone()));
                    st.phase = Phase::NotAccepted;
                }
            }
        }
        EventKind::Accepted { presented } => {
            st.presented = merged_presented(st, presented);
            accept(header, st, at, &event.actor);
        }
        EventKind::ToleranceAccepted { presented, commitment } => {
            st.presented = merged_presented(st, presented);
            st.tolerance = Some(ToleranceState {
                event: event.id(),
                accepted_at: at,
                commitment: commitment.clone(),
                supplied: BTreeMap::new(),
            });
            accept(header, st, at, &event.actor);
        }
        EventKind::CorrectionNotice { problems } => {
            answer_round(st);
            st.corrections.push((at, problems.clone()));
            st.phase = Phase::AwaitingCorrection;
        }
        EventKind::Resubmitted { presented } => {
            st.presented = merged_presented(st, presented);
            st.rounds.push(IntakeRound { started: at, answered: None });
            st.phase = Phase::Received;
        }
        EventKind::NotAccepted { reasons } => {
            answer_round(st);
            st.not_accepted = Some((at, reasons.clone()));
            st.phase = Phase::NotAccepted;
        }
        EventKind::HandedOver { department, paper } => {
            let h = st.handovers.entry(department.clone()).or_insert(HandoverState {
                due_from: at,
                handed_at: None,
                paper: *paper,
                signed_at: None,
            });
            h.handed_at = Some(at);
            h.paper = *paper;
        }
        EventKind::HandoverSigned { department } => {
            if let Some(h) = st.handovers.get_mut(department) {
                h.signed_at = Some(at);
            }
            let all = departments(header);
            // Serial items: the next department's handover duty starts at this sign-off.
            if let JointMode::Serial { .. } = header.item.joint
                && let Some(next) = all.iter().position(|d| d == department).and_then(|p| all.get(p + 1))
            {
                st.handovers.entry(next.clone()).or_insert(HandoverState {
                    due_from: at,
                    handed_at: None,
                    paper: true,
                    signed_at: None,
                });
            }
            if all.iter().all(|d| st.handovers.get(d).is_some_and(|h| h.signed_at.is_some())) {
                st.phase = Phase::InReview;
            }
        }
        EventKind::SpecialProcedureStarted { reason } => {
            st.pauses.push(Pause { start: at, end: None, reason: reason.clone() });
        }
        EventKind::SpecialProcedureEnded => {
            if let Some(p) = st.pauses.last_mut() {
                p.end = Some(at);
            }
        }
        EventKind::SupplementReceived { materials } => {
            if let Some(t) = st.tolerance.as_mut() {
                for m in materials {
                    t.supplied.insert(m.clone(), at);
                }
            }
            for m in materials {
                st.presented.insert(m.clone(), Condition::Present);
            }
        }
        EventKind::ProposedDecision { approve, opinion } => {
            st.proposed = Some((at, *approve, opinion.clone()));
        }
        EventKind::Decided { outcome } => {
            st.decision = Some(DecisionRecord {
                at,
                outcome: outcome.clone(),
                by: event.actor.clone(),
                event: event.id(),
            });
            st.phase = Phase::Decided;
        }
        EventKind::ResultToIssuing { .. } => {
            st.at_issuing_at = Some(at);
            st.phase = Phase::AtIssuingWindow;
        }
        EventKind::Notified { contact } => {
            st.notified_at = Some(at);
            st.notified_contact = Some(contact.clone());
            st.phase = Phase::Notified;
        }
        EventKind::Delivered { delivery } => {
            st.delivered = Some((at, delivery.clone()));
            st.phase = Phase::Delivered;
        }
        EventKind::ResultFormReturned => st.form_returned_at = Some(at),
        EventKind::Archived => {
            st.archived_at = Some(at);
            st.phase = Phase::Archived;
        }
        EventKind::ReportedUpward { .. } => {
            st.reported_upward_at = Some(at);
            st.phase = Phase::ReportedUpward;
        }
        EventKind::Withdrawn { reason } => {
            answer_round(st);
            st.withdrawn = Some((at, reason.clone()));
            st.phase = Phase::Withdrawn;
        }
        EventKind::FileRemovalConsented { reason } => st.file_removal_consents.push((at, reason.clone())),
        EventKind::MaterialsScanned { scans } => st.scans.extend(scans.iter().cloned()),
        EventKind::CardIssued { duty, level } => {
            st.cards.insert(duty.clone(), CardState { level: *level, issued_at: at, revoked: None });
        }
        EventKind::CardRevoked { duty, reason } => {
            if let Some(c) = st.cards.get_mut(duty) {
                c.revoked = Some(reason.clone());
            }
        }
        EventKind::Rated { score } => st.ratings.push(*score),
        EventKind::ConflictResolved { conflict, note } => {
            st.conflicts.retain(|c| c.id != *conflict);
            st.resolved.push((conflict.clone(), note.clone()));
        }
        EventKind::ProvincialNumberAssigned { number } => st.provincial_number = Some(number.clone()),
    }
}

fn accept(header: &CaseHeader, st: &mut CaseState, at: NaiveDateTime, by: &Actor) {
    if let Some(r) = st.rounds.last_mut()
        && r.answered.is_none()
    {
        r.answered = Some(at);
    }
    st.accepted_at = Some(at);
    st.accepted_by = Some(by.clone());
    st.phase = Phase::Accepted;
    // The handover duty of the first department (serial) or every department (parallel, single)
    // starts at acceptance (W4.1, W4.3).
    // Instant items are handled by the department's own staff: no handover (W3.3).
    if is_instant(header) {
        return;
    }
    let all = departments(header);
    let first_only = matches!(header.item.joint, JointMode::Serial { .. });
    for d in all.iter().take(if first_only { 1 } else { all.len() }) {
        st.handovers.entry(d.clone()).or_insert(HandoverState {
            due_from: at,
            handed_at: None,
            paper: true,
            signed_at: None,
        });
    }
}
