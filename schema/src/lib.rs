//! # yikou-schema: the rules of one-window intake as a pure library
//!
//! Layout, from the ground up:
//! - [`codes`], [`ids`]: identifiers — citizen ID numbers (GB 11643), unified social credit codes
//!   (GB 32100), agents, case numbers that two nodes can never both issue.
//! - [`calendar`]: the official working-day calendar; "n-th working day after", W4.1 handover
//!   deadlines, provisional answers beyond the loaded years.
//! - [`catalog`]: items, their materials (key / tolerable), limits and status (T4, W3.6, W11).
//! - [`hlc`], [`actor`]: hybrid logical clock timestamps and who acts (staff, role, node).
//! - [`case`]: a case is an append-only event log; its state is a pure fold over the events
//!   ordered by HLC, so every node that holds the same events reaches the same state. Events the
//!   state forbids are refused at the command with an error naming the rule; events that arrive
//!   by merge and break a rule become [`case::Conflict`]s for a supervisor (O4).
//! - [`tolerance`]: eligibility for tolerance acceptance (T1–T3) and the dishonesty list (T3.6).
//! - [`queue`], [`consultation`]: queue numbers, appointments with partition-safe quota shares (W1),
//!   the consultation ledger (W2).
//! - [`supervision`]: one engine for every timed duty, giving normal / warning / yellow / red (W9).
//! - [`documents`], [`indicators`]: printable documents as data, ratings and W10 indicators.
//!
//! Invariant: nothing here does I/O or reads a clock. Time is always passed in.

pub mod actor;
pub mod calendar;
pub mod case;
pub mod catalog;
pub mod codes;
pub mod consultation;
pub mod documents;
pub mod hlc;
pub mod ids;
pub mod indicators;
pub mod queue;
pub mod supervision;
pub mod tolerance;
