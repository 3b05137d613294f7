//! Electronic supervision (W9) and the dishonesty list (T3.6) as the node maintains them: the
//! scheduler's pass records a card event for every duty whose level rose (cards replicate like
//! every event), and the hall lists applicants whose commitments lapsed.

use serde::Serialize;
use yikou_schema::case::{Case, CaseState, Conflict, Event, EventKind};
use yikou_schema::supervision::{self, Assessment};
use yikou_schema::tolerance::{self, DishonestyList};

use super::{Action, Service, ServiceError, Staff};
use crate::doc::RefKind;

/// Cards one scheduler pass records at most (the rest wait for the next pass).
pub const CARDS_PER_PASS_MAX: usize = 10_000;

/// What one scheduler pass did.
#[derive(Debug, Clone, Default, Serialize, schemars::JsonSchema)]
pub struct PassReport {
    pub cases_checked: usize,
    pub cards_recorded: usize,
    pub applicants_listed: usize,
    /// The scan stopped at its bound; the next pass continues.
    pub truncated: bool,
    /// Cases a card could not be recorded on (with the reason), e.g. a clock behind the case.
    pub errors: Vec<String>,
}

/// One duty of one open case, as the supervisor's dashboard lists it.
#[derive(Debug, Clone, Serialize)]
pub struct CardRow {
    pub case: String,
    pub applicant: String,
    pub item_name: String,
    pub department: String,
    pub scope: String,
    pub duty_zh: &'static str,
    pub rule: &'static str,
    pub level_zh: &'static str,
    pub assessment: Assessment,
}

/// A case with open conflicts (O4).
#[derive(Debug, Clone, Serialize)]
pub struct ConflictRow {
    pub case: String,
    pub scope: String,
    pub conflicts: Vec<Conflict>,
}

impl Service {
    /// One pass of the supervision scheduler: for every open case, records the cards due now
    /// (as [`EventKind::CardIssued`] events by the node itself), and at the hall lists the
    /// applicants of lapsed commitments (T3.6) that are not listed yet.
    pub fn supervise(&self, staff: &Staff) -> Result<PassReport, ServiceError> {
        self.require(staff, Action::RunSupervision)?;
        let system = Staff::system(&self.info.name);
        let refs = self.refs()?;
        let (cases, truncated) = self.open_cases()?;
        let mut report = PassReport { cases_checked: cases.len(), truncated, ..PassReport::default() };
        let policy = supervision::Policy::default();
        let now = self.now();
        for case in &cases {
            if report.cards_recorded >= CARDS_PER_PASS_MAX {
                report.truncated = true;
                break;
            }
            // Cards are recorded by the node that owns the case (the hall for its own), so two
            // nodes never both record the same card while apart.
            if case.header.origin != self.info.name {
                continue;
            }
            let state = case.state_with(&refs.dishonesty);
            let due = supervision::cards_due(&case.header, &state, now, &refs.calendar, &policy)
                .unwrap_or_default();
            for (duty, level) in due {
                let id = case.header.number.to_string();
                match self.step(&system, &id, EventKind::CardIssued { duty, level }) {
                    Ok(_) => report.cards_recorded += 1,
                    Err(e) => report.errors.push(format!("{id}: {} ({})", e.message, e.code)),
                }
            }
        }
        if self.info.hall {
            let (all, _) = self.all_cases()?;
            report.applicants_listed = self.list_lapsed(&all)?;
        }
        Ok(report)
    }

    /// T3.6: after a denial for a lapsed commitment, the applicant goes on the list (hall only).
    pub(crate) fn list_if_lapsed(&self, case: &Case) -> Result<(), ServiceError> {
        self.list_lapsed(std::slice::from_ref(case)).map(|_| ())
    }

    fn list_lapsed(&self, cases: &[Case]) -> Result<usize, ServiceError> {
        let entries: Vec<_> =
            cases.iter().filter_map(|c| tolerance::entry_for_lapse(&c.header, &c.state())).collect();
        if entries.is_empty() {
            return Ok(0);
        }
        let _desk = self.desk.lock().map_err(|_| ServiceError::internal("内部锁异常,请重启节点"))?;
        let mut list: DishonestyList = self.store.reference(RefKind::Dishonesty)?.unwrap_or_default();
        let added = entries.into_iter().filter(|e| list.add(e.clone())).count();
        if added > 0 {
            self.store.put_reference(RefKind::Dishonesty, &list)?;
        }
        Ok(added)
    }

    /// The dishonesty list this node holds.
    pub fn dishonesty(&self, staff: &Staff) -> Result<DishonestyList, ServiceError> {
        self.require(staff, Action::ReadDishonesty)?;
        Ok((*self.refs()?.dishonesty).clone())
    }

    /// Every duty of every open case above normal (warning, yellow, red), worst first.
    pub fn cards(&self, staff: &Staff) -> Result<(Vec<CardRow>, bool), ServiceError> {
        self.require(staff, Action::ReadSupervision)?;
        let refs = self.refs()?;
        let (cases, truncated) = self.open_cases()?;
        let now = self.now();
        let policy = supervision::Policy::default();
        let mut rows = Vec::new();
        for case in &cases {
            let state = case.state_with(&refs.dishonesty);
            let assessed = supervision::assess_case(&case.header, &state, now, &refs.calendar, &policy)
                .unwrap_or_default();
            for a in assessed.into_iter().filter(|a| a.level > yikou_schema::case::Level::Normal && !a.done) {
                rows.push(card_row(case, a));
            }
        }
        rows.sort_by(|a, b| {
            b.assessment.level.cmp(&a.assessment.level).then(a.assessment.due.cmp(&b.assessment.due))
        });
        Ok((rows, truncated))
    }

    /// The conflict queue: open cases and recently changed ones with unresolved conflicts (O4).
    pub fn conflicts(&self, staff: &Staff) -> Result<(Vec<ConflictRow>, bool), ServiceError> {
        self.require(staff, Action::ReadSupervision)?;
        let refs = self.refs()?;
        let (cases, truncated) = self.all_cases()?;
        let rows = cases
            .iter()
            .filter_map(|c| {
                let st: CaseState = c.state_with(&refs.dishonesty);
                (!st.conflicts.is_empty()).then(|| ConflictRow {
                    case: c.header.number.to_string(),
                    scope: c.header.scope.clone(),
                    conflicts: st.conflicts,
                })
            })
            .collect();
        Ok((rows, truncated))
    }
}

fn card_row(case: &Case, a: Assessment) -> CardRow {
    let h = &case.header;
    CardRow {
        case: h.number.to_string(),
        applicant: h.applicant.name().to_string(),
        item_name: h.item.name.clone(),
        department: h.item.department.to_string(),
        scope: h.scope.clone(),
        duty_zh: a.kind.name_zh(),
        rule: a.kind.rule(),
        level_zh: a.level.name_zh(),
        assessment: a,
    }
}

/// Events the scheduler recorded on a case (for tests and the timeline).
pub fn cards_of(case: &Case) -> Vec<&Event> {
    case.events.iter().filter(|e| matches!(e.kind, EventKind::CardIssued { .. })).collect()
}
