//! Cases as event logs.
//!
//! A case is its identity ([`CaseHeader`]: number, applicant, agent, the catalog item as it stood
//! when the case was received) plus an append-only list of [`Event`]s. Its [`CaseState`] is a pure
//! fold over the events sorted by HLC, so every node holding the same events computes the same
//! state, whatever order they arrived in.
//!
//! Two gates, one rule book ([`state`]):
//! - At the command (a clerk acts on this node) [`Case::record`] refuses an event the state or the
//!   rules forbid, with a [`RuleViolation`] naming the rule.
//! - At the fold (events that arrived by merge) nothing is refused: an event the state does not
//!   allow becomes a [`Conflict`] for a supervisor (O4), and is otherwise ignored.

pub mod event;
pub mod permissions;
pub mod state;

use schemars::JsonSchema;
use serde::{Deserialize, Serialize};

pub use event::*;
pub use state::{CaseState, Conflict, ConflictKind, Phase};

use crate::calendar::WorkCalendar;
use crate::catalog::Item;
use crate::codes::NodeName;
use crate::ids::{Agent, Applicant, CaseNumber};
use crate::tolerance::DishonestyList;

/// The most events one case may hold through local commands (a bound, TigerBeetle style).
pub const CASE_EVENTS_MAX: usize = 2_000;

/// The version of the case document layout (see ARCHITECTURE.md: a compatibility boundary).
pub const CASE_LAYOUT_VERSION: u32 = 1;

/// A case's identity: fixed when the case is received, never edited afterwards.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
pub struct CaseHeader {
    pub number: CaseNumber,
    pub applicant: Applicant,
    pub agent: Option<Agent>,
    /// The item as the catalog described it at intake (its revision is inside).
    pub item: Item,
    /// The catalog version the item was taken from.
    pub catalog_version: String,
    /// The node that received the case.
    pub origin: NodeName,
    /// The township (or hall) scope whose node may hold the case (O5).
    pub scope: String,
}

/// A refusal: the rule it rests on, a stable code, and a message a clerk can act on.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, thiserror::Error, JsonSchema)]
#[error("{message}(依据:{rule})")]
pub struct RuleViolation {
    pub rule: &'static str,
    pub code: &'static str,
    pub message: String,
}

impl RuleViolation {
    pub fn new(rule: &'static str, code: &'static str, message: impl Into<String>) -> Self {
        Self { rule, code, message: message.into() }
    }
}

/// What the command gate needs beyond the case itself: reference data, passed in.
#[derive(Debug, Clone, Copy)]
pub struct CommandContext<'a> {
    pub calendar: &'a WorkCalendar,
    pub dishonesty: &'a DishonestyList,
}

/// A case: identity plus events.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
pub struct Case {
    pub header: CaseHeader,
    pub events: Vec<Event>,
}

impl Case {
    /// Opens a case with its first event, which must be a receipt ([`EventKind::Received`]).
    pub fn open(
        header: CaseHeader,
        received: Event,
        ctx: &CommandContext<'_>,
    ) -> Result<Case, RuleViolation> {
        let mut case = Case { header, events: Vec::new() };
        case.record(received, ctx)?;
        Ok(case)
    }

    /// The state: a pure fold over the events (see [`state::fold`]).
    pub fn state(&self) -> CaseState {
        state::fold(&self.header, &self.events)
    }

    /// The state with the conflicts only reference data can reveal (the dishonesty list, O4).
    pub fn state_with(&self, dishonesty: &DishonestyList) -> CaseState {
        let mut st = self.state();
        if let Some(conflict) = crate::tolerance::dishonesty_conflict(&self.header, &st, dishonesty) {
            st.add_external_conflict(conflict);
        }
        st
    }

    /// Checks `event` against the rules and the current state, then appends it. Nothing is
    /// appended on error. Returns the new state.
    pub fn record(&mut self, event: Event, ctx: &CommandContext<'_>) -> Result<CaseState, RuleViolation> {
        if self.events.len() >= CASE_EVENTS_MAX {
            return Err(RuleViolation::new(
                "O2",
                "case.too_many_events",
                format!("本办件记录已达上限 {CASE_EVENTS_MAX} 条,请联系系统管理员"),
            ));
        }
        let current = self.state_with(ctx.dishonesty);
        state::check_command(&self.header, &current, &event, ctx)?;
        self.events.push(event);
        Ok(self.state_with(ctx.dishonesty))
    }

    /// Adds events that arrived from a peer (deduplicated). Never refuses: rule breaks surface
    /// as conflicts in the state.
    pub fn merge(&mut self, events: impl IntoIterator<Item = Event>) {
        self.events.extend(events);
        self.events.sort();
        self.events.dedup();
    }
}
