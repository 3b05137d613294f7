//! Electronic supervision (电子监察, W9): one engine for every timed duty.
//!
//! A [`Duty`] has a start, a promised limit, perhaps a statutory limit, paused intervals and
//! perhaps a completion time. [`assess`] gives its [`Level`] at a moment: normal, warning when at
//! most `warning_workdays` working days remain before the promised limit, yellow once past the
//! promised limit, red once past the statutory limit. Elapsed time counts working days only
//! (the start day not counted, §82); paused time (special procedure, §45) extends the limits by
//! the working time paused, part-days rounded up. A duty completed late keeps its colour.
//!
//! [`case_duties`] lists every duty a case carries (handovers, intake answer, pre-acceptance,
//! decision, tolerance deadline, issuing, upward report, result form); [`cards_due`] says which
//! cards the scheduler should record as events (they replicate like every event).

use chrono::{NaiveDate, NaiveDateTime, NaiveTime};
use schemars::JsonSchema;
use serde::{Deserialize, Serialize};

use crate::calendar::{CalendarError, WORKDAYS_MAX, WorkCalendar};
use crate::case::{CaseHeader, CaseState, Delivery, DutyKind, Level, Outcome};
use crate::catalog::ItemKind;

/// §32: what is incomplete must be told within 5 working days.
pub const INTAKE_ANSWER_WORKDAYS: u32 = 5;
/// §44: issue the licence within 10 working days of approval.
pub const ISSUING_WORKDAYS: u32 = 10;
/// W3.1: online pre-acceptance within 2 working days.
pub const PRE_ACCEPTANCE_WORKDAYS: u32 = 2;
/// W8: upward items reported within 2 working days.
pub const UPWARD_REPORT_WORKDAYS: u32 = 2;
/// W6.2: the result handover form returns within 1 working day.
pub const RESULT_FORM_WORKDAYS: u32 = 1;

const DAY_SECS: i64 = 86_400;

/// A limit: a number of working days from the start, a moment, or the end of a day.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
#[serde(tag = "limit", content = "value", rename_all = "snake_case")]
pub enum Limit {
    WorkingDays(u32),
    At(NaiveDateTime),
    EndOfDay(NaiveDate),
}

/// One timed duty.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
pub struct Duty {
    pub kind: DutyKind,
    pub started: NaiveDateTime,
    pub promised: Limit,
    pub statutory: Option<Limit>,
    /// Paused intervals; an open one (`None` end) lasts until the moment assessed.
    pub pauses: Vec<(NaiveDateTime, Option<NaiveDateTime>)>,
    pub done: Option<NaiveDateTime>,
}

/// Local policy: how many working days before the promised limit the warning starts
/// (DOMAIN-FACTS: 2, some cities 1).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
pub struct Policy {
    pub warning_workdays: u32,
}

impl Default for Policy {
    fn default() -> Self {
        Policy { warning_workdays: 2 }
    }
}

/// A duty's standing at one moment.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, JsonSchema)]
pub struct Assessment {
    pub kind: DutyKind,
    pub level: Level,
    /// The promised limit as a moment (end of the due day for working-day limits), pauses added.
    pub due: NaiveDateTime,
    pub statutory_due: Option<NaiveDateTime>,
    /// Working days left before `due` (0 on the due day and after).
    pub remaining_workdays: u32,
    pub done: bool,
    /// Rests on days outside the loaded calendar years.
    pub provisional: bool,
}

fn end_of(date: NaiveDate) -> NaiveDateTime {
    date.succ_opt().unwrap_or(NaiveDate::MAX).and_time(NaiveTime::MIN)
}

/// Working time (seconds on working days) inside `[from, to)`.
fn working_secs(
    cal: &WorkCalendar,
    from: NaiveDateTime,
    to: NaiveDateTime,
) -> Result<(i64, bool), CalendarError> {
    if to <= from {
        return Ok((0, false));
    }
    let span_days = (to.date() - from.date()).num_days();
    if span_days > i64::from(WORKDAYS_MAX) * 2 {
        return Err(CalendarError::TooManyDays {
            requested: u32::try_from(span_days).unwrap_or(u32::MAX),
            max: WORKDAYS_MAX * 2,
        });
    }
    let mut total = 0i64;
    let mut provisional = false;
    let mut day = from.date();
    while day <= to.date() {
        let w = cal.is_workday(day);
        provisional |= w.provisional;
        if w.at {
            let start = from.max(day.and_time(NaiveTime::MIN));
            let end = to.min(end_of(day));
            total += (end - start).num_seconds().max(0);
        }
        day = match day.succ_opt() {
            Some(d) => d,
            None => break,
        };
    }
    Ok((total, provisional))
}

/// The moment a limit falls, with pauses added, and the due day.
fn due_of(
    cal: &WorkCalendar,
    started: NaiveDateTime,
    limit: &Limit,
    paused_days: u32,
) -> Result<(NaiveDateTime, NaiveDate, bool), CalendarError> {
    match limit {
        Limit::WorkingDays(n) => {
            let d = cal.add_workdays(started.date(), n.saturating_add(paused_days))?;
            Ok((end_of(d.at), d.at, d.provisional))
        }
        Limit::At(t) => Ok((*t, t.date(), false)),
        Limit::EndOfDay(d) => Ok((end_of(*d), *d, false)),
    }
}

/// The duty's level at `now` (or at its completion, if done).
pub fn assess(
    duty: &Duty,
    now: NaiveDateTime,
    cal: &WorkCalendar,
    policy: &Policy,
) -> Result<Assessment, CalendarError> {
    let t = duty.done.unwrap_or(now);
    let mut paused = 0i64;
    let mut provisional = false;
    for (start, end) in &duty.pauses {
        let end = end.unwrap_or(t).min(t);
        let (secs, p) = working_secs(cal, (*start).max(duty.started), end)?;
        paused += secs;
        provisional |= p;
    }
    // Part-days rounded up.
    let paused_days = u32::try_from((paused + DAY_SECS - 1) / DAY_SECS).unwrap_or(u32::MAX);
    let (due, due_day, p1) = due_of(cal, duty.started, &duty.promised, paused_days)?;
    provisional |= p1;
    let statutory_due = match &duty.statutory {
        Some(limit) => {
            let (s, _, p2) = due_of(cal, duty.started, limit, paused_days)?;
            provisional |= p2;
            Some(s)
        }
        None => None,
    };
    let remaining = cal.workdays_between(t.date(), due_day)?;
    provisional |= remaining.provisional;
    let level = if statutory_due.is_some_and(|s| t >= s) {
        Level::Red
    } else if t >= due {
        Level::Yellow
    } else if duty.done.is_some() {
        Level::Normal
    } else {
        let warn = match duty.promised {
            Limit::At(at) => t.date() == at.date(),
            _ => remaining.at <= policy.warning_workdays,
        };
        if warn { Level::Warning } else { Level::Normal }
    };
    Ok(Assessment {
        kind: duty.kind.clone(),
        level,
        due,
        statutory_due,
        remaining_workdays: if t >= due { 0 } else { remaining.at },
        done: duty.done.is_some(),
        provisional,
    })
}

/// Every timed duty of a case, from its state.
pub fn case_duties(
    header: &CaseHeader,
    st: &CaseState,
    cal: &WorkCalendar,
) -> Result<Vec<Duty>, CalendarError> {
    let mut duties = Vec::new();
    // A case that ended (withdrawn, not accepted) ends its open duties.
    let ended = st.withdrawn.as_ref().map(|w| w.0).or(st.not_accepted.as_ref().map(|n| n.0));
    let duty = |kind: DutyKind, started, promised, statutory, done: Option<NaiveDateTime>| Duty {
        kind,
        started,
        promised,
        statutory,
        pauses: Vec::new(),
        done: done.or(ended),
    };

    if let Some(round) = st.rounds.last() {
        duties.push(duty(
            DutyKind::IntakeAnswer,
            round.started,
            Limit::WorkingDays(INTAKE_ANSWER_WORKDAYS),
            None,
            round.answered,
        ));
    }
    if let (Some(crate::case::Channel::Online { .. }), Some(received)) = (&st.channel, st.received_at) {
        duties.push(duty(
            DutyKind::PreAcceptance,
            received,
            Limit::WorkingDays(PRE_ACCEPTANCE_WORKDAYS),
            None,
            st.pre_acceptance.as_ref().map(|p| p.0),
        ));
    }
    for (department, h) in &st.handovers {
        let deadline = cal.handover_deadline(h.due_from)?;
        duties.push(duty(
            DutyKind::Handover(department.clone()),
            h.due_from,
            Limit::At(deadline.at),
            None,
            h.signed_at,
        ));
    }
    if let Some(accepted) = st.accepted_at {
        if header.item.kind == ItemKind::Upward {
            duties.push(duty(
                DutyKind::UpwardReport,
                accepted,
                Limit::WorkingDays(UPWARD_REPORT_WORKDAYS),
                None,
                st.reported_upward_at,
            ));
        } else {
            let mut d = duty(
                DutyKind::Decision,
                accepted,
                Limit::WorkingDays(header.item.promised_days),
                Some(Limit::WorkingDays(header.item.statutory_days)),
                st.decision.as_ref().map(|d| d.at),
            );
            d.pauses = st.pauses.iter().map(|p| (p.start, p.end)).collect();
            duties.push(d);
        }
    }
    if let Some(t) = &st.tolerance {
        let all_supplied = t.outstanding().is_empty();
        let done = if all_supplied { t.supplied.values().max().copied() } else { None };
        duties.push(duty(
            DutyKind::ToleranceSupply,
            t.accepted_at,
            Limit::EndOfDay(t.commitment.deadline),
            None,
            done.or(st.decision.as_ref().map(|d| d.at)),
        ));
    }
    if let Some(d) = &st.decision
        && matches!(d.outcome, Outcome::Approve { .. })
    {
        duties.push(duty(
            DutyKind::Issuing,
            d.at,
            Limit::WorkingDays(ISSUING_WORKDAYS),
            None,
            st.notified_at,
        ));
    }
    if let Some((at, Delivery::Mail { .. })) = &st.delivered {
        duties.push(duty(
            DutyKind::ResultFormReturn,
            *at,
            Limit::WorkingDays(RESULT_FORM_WORKDAYS),
            None,
            st.form_returned_at,
        ));
    }
    Ok(duties)
}

/// Every duty of a case assessed at `now`.
pub fn assess_case(
    header: &CaseHeader,
    st: &CaseState,
    now: NaiveDateTime,
    cal: &WorkCalendar,
    policy: &Policy,
) -> Result<Vec<Assessment>, CalendarError> {
    case_duties(header, st, cal)?.iter().map(|d| assess(d, now, cal, policy)).collect()
}

/// Cards the scheduler should record now: duties whose level rose above the card on record.
pub fn cards_due(
    header: &CaseHeader,
    st: &CaseState,
    now: NaiveDateTime,
    cal: &WorkCalendar,
    policy: &Policy,
) -> Result<Vec<(DutyKind, Level)>, CalendarError> {
    Ok(assess_case(header, st, now, cal, policy)?
        .into_iter()
        .filter(|a| a.level > Level::Normal)
        .filter(|a| st.cards.get(&a.kind).is_none_or(|c| a.level > c.level))
        .map(|a| (a.kind, a.level))
        .collect())
}

/// W2.3: the duty of answering a hard consultation question.
pub fn consultation_duty(asked: NaiveDateTime, answered: Option<NaiveDateTime>) -> Duty {
    Duty {
        kind: DutyKind::ConsultationReply,
        started: asked,
        promised: Limit::WorkingDays(crate::consultation::HARD_QUESTION_WORKDAYS),
        statutory: None,
        pauses: Vec::new(),
        done: answered,
    }
}
