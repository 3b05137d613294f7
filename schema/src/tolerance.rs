//! Tolerance acceptance (容缺受理, T1–T3.6) and the dishonesty list (失信名单).
//!
//! [`eligibility`] answers, while the clerk is still filling the form, "eligible" or every reason
//! why not, each with its rule and the route to take instead (correction notice, plain
//! acceptance). [`check_command`] is the same rule book applied when the commitment is signed.
//! A missed deadline leads to a denial and a one-year entry on the dishonesty list
//! ([`entry_for_lapse`]); a tolerance acceptance that a partition let through although the
//! applicant was listed becomes a conflict after merge ([`dishonesty_conflict`], O4).

use chrono::{Months, NaiveDate};
use schemars::JsonSchema;
use serde::{Deserialize, Serialize};

use crate::calendar::{Deadline, WorkCalendar};
use crate::case::{
    CaseHeader, CaseState, CommandContext, Commitment, Condition, Conflict, ConflictId, ConflictKind,
    DenialBasis, Outcome, PresentedMaterial, RuleViolation, Signatory,
};
use crate::catalog::{Item, ItemKind, MaterialClass};
use crate::codes::MaterialCode;
use crate::ids::ApplicantId;

/// How long a broken commitment excludes the applicant from tolerance acceptance (T3.6).
pub const DISHONESTY_MONTHS: u32 = 12;
/// Entries the list may hold (a bound; the list is shared reference data).
pub const DISHONESTY_ENTRIES_MAX: usize = 1_000_000;

/// One listing: who, for which case, from when until when (T3.6).
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord, Serialize, Deserialize, JsonSchema)]
pub struct DishonestyEntry {
    /// The applicant's ID number or credit code.
    pub applicant: String,
    pub name: String,
    /// The case whose commitment was broken.
    pub case: String,
    pub listed_on: NaiveDate,
    /// First day on which tolerance acceptance is possible again.
    pub until: NaiveDate,
    pub reason: String,
}

impl DishonestyEntry {
    pub fn active_on(&self, on: NaiveDate) -> bool {
        self.listed_on <= on && on < self.until
    }
}

/// The dishonesty list as one node knows it. `version` increases with each change, so a
/// tolerance acceptance records which version it was checked against.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
pub struct DishonestyList {
    pub version: u64,
    pub entries: Vec<DishonestyEntry>,
}

impl DishonestyList {
    /// The entry that bars `applicant` on `on`, if any.
    pub fn active(&self, applicant: &str, on: NaiveDate) -> Option<&DishonestyEntry> {
        self.entries.iter().filter(|e| e.applicant == applicant && e.active_on(on)).max_by_key(|e| e.until)
    }

    /// Adds an entry (once per case). Returns false when it was already there or the list is full.
    pub fn add(&mut self, entry: DishonestyEntry) -> bool {
        if self.entries.len() >= DISHONESTY_ENTRIES_MAX || self.entries.iter().any(|e| e.case == entry.case) {
            return false;
        }
        self.entries.push(entry);
        self.entries.sort();
        self.version += 1;
        true
    }
}

/// The key an applicant is listed under.
pub fn applicant_key(id: &ApplicantId) -> String {
    id.to_string()
}

/// What the clerk should do instead when tolerance acceptance is not possible.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, JsonSchema)]
#[serde(rename_all = "snake_case")]
pub enum Route {
    /// Issue a correction notice (T2).
    CorrectionNotice,
    /// Accept normally: nothing is missing.
    AcceptNormally,
    /// Tolerance is not available: the normal procedure applies.
    NormalProcedure,
    /// Choose an earlier deadline.
    ShortenDeadline,
}

/// One reason tolerance acceptance is not possible.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, JsonSchema)]
pub struct Ineligibility {
    pub rule: &'static str,
    pub code: &'static str,
    pub message: String,
    pub route: Route,
}

/// The live answer for the intake form.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, JsonSchema)]
#[serde(tag = "answer", rename_all = "snake_case")]
pub enum Eligibility {
    Eligible {
        /// The tolerable materials to promise, all of them (T3.1).
        missing: Vec<MaterialCode>,
        /// The latest deadline the commitment may carry: the promised completion date (T3.3).
        latest_deadline: Deadline<NaiveDate>,
    },
    NotEligible {
        reasons: Vec<Ineligibility>,
    },
}

fn no(rule: &'static str, code: &'static str, route: Route, message: impl Into<String>) -> Ineligibility {
    Ineligibility { rule, code, message: message.into(), route }
}

/// The promised completion date counted from acceptance on `accepted_on` (T3.3).
pub fn promised_completion(
    item: &Item,
    accepted_on: NaiveDate,
    cal: &WorkCalendar,
) -> Result<Deadline<NaiveDate>, RuleViolation> {
    cal.add_workdays(accepted_on, item.promised_days)
        .map_err(|e| RuleViolation::new("T3.3", "calendar.out_of_range", e.to_string()))
}

/// Is tolerance acceptance possible? Gives every reason when not (T1, T2, T3.3, T3.6).
pub fn eligibility(
    item: &Item,
    presented: &[PresentedMaterial],
    applicant: &ApplicantId,
    on: NaiveDate,
    requested_deadline: Option<NaiveDate>,
    ctx: &CommandContext<'_>,
) -> Eligibility {
    let mut reasons = Vec::new();
    if !item.tolerance {
        reasons.push(no(
            "T1",
            "tolerance.not_on_list",
            Route::NormalProcedure,
            "该事项不在容缺受理事项清单中",
        ));
    }
    if item.kind == ItemKind::Instant {
        reasons.push(no("T1", "tolerance.instant_item", Route::NormalProcedure, "即办件不适用容缺受理"));
    }
    let condition = |code: &MaterialCode| presented.iter().find(|p| p.code == *code).map(|p| &p.condition);
    let lacking = |class: MaterialClass| -> Vec<&crate::catalog::Material> {
        item.materials
            .iter()
            .filter(|m| m.class == class && condition(&m.code) != Some(&Condition::Present))
            .collect()
    };
    let key = lacking(MaterialClass::Key);
    if !key.is_empty() {
        let names: Vec<&str> = key.iter().map(|m| m.name.as_str()).collect();
        reasons.push(no(
            "T2",
            "tolerance.key_material_missing",
            Route::CorrectionNotice,
            format!("主要申报材料欠缺或有瑕疵:{},应出具补正通知", names.join("、")),
        ));
    }
    let tolerable = lacking(MaterialClass::Tolerable);
    if tolerable.is_empty() && key.is_empty() {
        reasons.push(no("T1", "tolerance.nothing_missing", Route::AcceptNormally, "材料已齐全,可直接受理"));
    }
    let latest = match applicant_and_deadline(item, applicant, on, requested_deadline, ctx, &mut reasons) {
        Some(latest) => latest,
        None => return Eligibility::NotEligible { reasons },
    };
    if reasons.is_empty() {
        Eligibility::Eligible {
            missing: tolerable.iter().map(|m| m.code.clone()).collect(),
            latest_deadline: latest,
        }
    } else {
        Eligibility::NotEligible { reasons }
    }
}

/// The reasons that rest on the applicant and the deadline rather than the materials (T1 legacy
/// IDs, T3.6, T3.3). Returns the latest allowed deadline, or `None` when it cannot be computed.
fn applicant_and_deadline(
    item: &Item,
    applicant: &ApplicantId,
    on: NaiveDate,
    requested_deadline: Option<NaiveDate>,
    ctx: &CommandContext<'_>,
    reasons: &mut Vec<Ineligibility>,
) -> Option<Deadline<NaiveDate>> {
    if applicant.needs_review() {
        reasons.push(no(
            "T1",
            "tolerance.legacy_id",
            Route::NormalProcedure,
            "申请人使用15位旧身份证号码,须人工核验后方可办理容缺受理",
        ));
    }
    if let Some(entry) = ctx.dishonesty.active(&applicant_key(applicant), on) {
        reasons.push(no(
            "T3.6",
            "tolerance.dishonest_applicant",
            Route::NormalProcedure,
            format!(
                "申请人因办件 {} 逾期未补交材料列入失信名单,{} 前不适用容缺受理",
                entry.case, entry.until
            ),
        ));
    }
    let latest = match promised_completion(item, on, ctx.calendar) {
        Ok(d) => d,
        Err(e) => {
            reasons.push(no(e.rule, e.code, Route::NormalProcedure, e.message));
            return None;
        }
    };
    if let Some(d) = requested_deadline {
        if d > latest.at {
            reasons.push(no(
                "T3.3",
                "tolerance.deadline_too_late",
                Route::ShortenDeadline,
                format!("承诺补交期限 {d} 晚于承诺办结日期 {},最迟只能到 {}", latest.at, latest.at),
            ));
        } else if d < on {
            reasons.push(no(
                "T3.3",
                "tolerance.deadline_past",
                Route::ShortenDeadline,
                format!("承诺补交期限 {d} 早于今天"),
            ));
        }
    }
    Some(latest)
}

/// The command gate's tolerance checks that need reference data: the deadline against the
/// calendar (T3.3), the dishonesty list (T3.6), the agent's authorisation (T3.2).
pub fn check_command(
    header: &CaseHeader,
    today: NaiveDate,
    commitment: &Commitment,
    ctx: &CommandContext<'_>,
) -> Result<(), RuleViolation> {
    let mut reasons = Vec::new();
    applicant_and_deadline(
        &header.item,
        header.applicant.id(),
        today,
        Some(commitment.deadline),
        ctx,
        &mut reasons,
    );
    if let Some(r) = reasons.into_iter().next() {
        return Err(RuleViolation::new(r.rule, r.code, r.message));
    }
    if commitment.dishonesty_list_version != ctx.dishonesty.version {
        return Err(RuleViolation::new(
            "T3.6",
            "tolerance.list_version",
            "承诺书记录的失信名单版本与本节点不一致,请刷新后重试",
        ));
    }
    if let Signatory::Agent { id_number, .. } = &commitment.signed_by {
        let Some(agent) = &header.agent else {
            return Err(RuleViolation::new(
                "T3.2",
                "tolerance.no_agent",
                "办件未登记委托人,承诺书须由申请人本人签署",
            ));
        };
        if agent.id.as_str() != id_number.trim() {
            return Err(RuleViolation::new(
                "T3.2",
                "tolerance.agent_mismatch",
                "签署承诺书的委托人与办件登记的委托人不一致",
            ));
        }
        agent
            .may_sign_commitment(today)
            .map_err(|e| RuleViolation::new("T3.2", "tolerance.agent_not_authorised", e.to_string()))?;
    }
    Ok(())
}

/// The dishonesty entry a lapsed commitment produces (T3.6): listed on the denial date, for one
/// year. `None` unless the case was denied for a lapsed commitment.
pub fn entry_for_lapse(header: &CaseHeader, state: &CaseState) -> Option<DishonestyEntry> {
    let decision = state.decision.as_ref()?;
    let Outcome::Deny { basis: DenialBasis::ToleranceLapsed, reasons } = &decision.outcome else {
        return None;
    };
    let listed_on = decision.at.date();
    Some(DishonestyEntry {
        applicant: applicant_key(header.applicant.id()),
        name: header.applicant.name().to_string(),
        case: header.number.to_string(),
        listed_on,
        until: listed_on.checked_add_months(Months::new(DISHONESTY_MONTHS)).unwrap_or(NaiveDate::MAX),
        reason: reasons.join(";"),
    })
}

/// O4: a tolerance acceptance made while the applicant was listed (seen only after merge).
pub fn dishonesty_conflict(
    header: &CaseHeader,
    state: &CaseState,
    list: &DishonestyList,
) -> Option<Conflict> {
    let t = state.tolerance.as_ref()?;
    let on = t.accepted_at.date();
    let entry = list.active(&applicant_key(header.applicant.id()), on)?;
    if entry.case == header.number.to_string() {
        return None;
    }
    Some(Conflict {
        id: ConflictId(format!("dishonest_applicant:{}", t.event)),
        kind: ConflictKind::DishonestApplicant { listed_on: entry.listed_on },
        event: t.event.clone(),
        rule: "T3.6",
        message: format!(
            "申请人 {} 在容缺受理时({on})已因办件 {} 列入失信名单,请电子监察核查处理",
            header.applicant.name(),
            entry.case
        ),
    })
}
