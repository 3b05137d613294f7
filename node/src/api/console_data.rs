//! Data the web console needs that no other route gave: the supervision cards recorded per day
//! over a period (the supervisor's trend chart, W9), and the network as the status and peers
//! routes show it (configured peers that were never reached included, so that a township cut
//! off from its first minute counts as offline).

use std::collections::BTreeMap;

use axum::Router;
use axum::extract::State;
use axum::routing::get;
use chrono::NaiveDate;
use serde::{Deserialize, Serialize};
use yikou_schema::case::{Case, EventKind, Level};

use super::auth::Auth;
use super::problem::Query;
use super::routes::{Json, to_json};
use super::{AppState, Problem};
use crate::net::PeerStatus;
use crate::service::{Action, ServiceError, Staff};

/// The longest period one trend covers.
pub const TREND_DAYS_MAX: i64 = 366;

/// Routes of this file (the OpenAPI document lists them from [`OPERATIONS`]).
pub fn routes() -> Router<AppState> {
    Router::new().route("/api/v1/supervision/trend", get(trend))
}

/// (method, path, summary, tag, rule) of every route above.
pub const OPERATIONS: &[(&str, &str, &str, &str, Option<&str>)] =
    &[("get", "/api/v1/supervision/trend", "每日记录的预警与红黄牌(趋势图)", "电子监察", Some("W9"))];

/// The query parameters of [`OPERATIONS`], for the OpenAPI document.
pub const QUERY: &[(&str, &str)] =
    &[("from", "起始日期 YYYY-MM-DD"), ("to", "截止日期 YYYY-MM-DD"), ("department", "部门编码")];

#[derive(Debug, Deserialize, schemars::JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct TrendQuery {
    pub from: NaiveDate,
    pub to: NaiveDate,
    pub department: Option<String>,
}

/// Cards recorded on one day, by level.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize)]
pub struct TrendDay {
    pub date: NaiveDate,
    pub warning: u64,
    pub yellow: u64,
    pub red: u64,
}

/// Every day of `[from, to]` (days without cards too), for the cases given.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Trend {
    pub from: NaiveDate,
    pub to: NaiveDate,
    pub department: Option<String>,
    pub days: Vec<TrendDay>,
    /// The case scan stopped at its bound: older cases are not counted.
    pub truncated: bool,
}

#[derive(Debug, thiserror::Error, PartialEq, Eq)]
pub enum TrendError {
    #[error("起始日期 {from} 晚于截止日期 {to}")]
    Reversed { from: NaiveDate, to: NaiveDate },
    #[error("统计期间最长 {TREND_DAYS_MAX} 天")]
    TooLong,
}

impl TrendError {
    pub fn code(&self) -> &'static str {
        match self {
            TrendError::Reversed { .. } => "trend.period_reversed",
            TrendError::TooLong => "trend.period_too_long",
        }
    }
}

/// Counts the cards ([`EventKind::CardIssued`]) recorded per day (by the event's local time) on
/// `cases` of `department` (the item's department; all when `None`).
pub fn cards_per_day(
    cases: &[Case],
    from: NaiveDate,
    to: NaiveDate,
    department: Option<&str>,
) -> Result<Vec<TrendDay>, TrendError> {
    if from > to {
        return Err(TrendError::Reversed { from, to });
    }
    if (to - from).num_days() >= TREND_DAYS_MAX {
        return Err(TrendError::TooLong);
    }
    let mut days: BTreeMap<NaiveDate, TrendDay> = from
        .iter_days()
        .take_while(|d| *d <= to)
        .map(|date| (date, TrendDay { date, ..TrendDay::default() }))
        .collect();
    for case in cases {
        if department.is_some_and(|d| case.header.item.department.as_str() != d) {
            continue;
        }
        for event in &case.events {
            let EventKind::CardIssued { level, .. } = &event.kind else { continue };
            let Some(day) = days.get_mut(&event.hlc.local().date()) else { continue };
            match level {
                Level::Warning => day.warning += 1,
                Level::Yellow => day.yellow += 1,
                Level::Red => day.red += 1,
                Level::Normal => {}
            }
        }
    }
    Ok(days.into_values().collect())
}

fn build(state: &AppState, staff: &Staff, q: &TrendQuery) -> Result<Trend, ServiceError> {
    state.service.require(staff, Action::ReadSupervision)?;
    // A department sees its own department only (as with the reports).
    let department = match (staff.role.department(), &q.department) {
        (Some(own), Some(asked)) if own.as_str() != asked => {
            return Err(ServiceError::forbidden(
                "permission.denied",
                Some("W9"),
                format!("职能部门只能查看本部门({own})的电子监察"),
            ));
        }
        (Some(own), _) => Some(own.to_string()),
        (None, asked) => asked.clone(),
    };
    let (cases, truncated) = state.service.all_cases()?;
    let days = cards_per_day(&cases, q.from, q.to, department.as_deref())
        .map_err(|e| ServiceError::invalid(e.code(), Some("W9"), e.to_string()))?;
    Ok(Trend { from: q.from, to: q.to, department, days, truncated })
}

async fn trend(
    State(state): State<AppState>,
    Auth(staff): Auth,
    Query(q): Query<TrendQuery>,
) -> Result<Json, Problem> {
    let answer = tokio::task::spawn_blocking(move || build(&state, &staff, &q))
        .await
        .map_err(|_| Problem::from(ServiceError::internal("处理请求时内部错误")))??;
    to_json(&answer)
}

/// The peers to show: every peer the replicator knows, and every configured peer it has no
/// entry for yet (dialled but never answered: not connected, never in contact).
pub fn peers_view(configured: &[String], mut live: Vec<PeerStatus>) -> Vec<PeerStatus> {
    for name in configured {
        if !live.iter().any(|p| &p.name == name) {
            live.push(PeerStatus { name: name.clone(), ..PeerStatus::default() });
        }
    }
    live
}

/// Is the node cut off? With sync enabled, when it has peers (configured or known) and none of
/// them is connected. A standalone node (sync disabled) is never offline; neither is a hall no
/// township has dialled yet and that dials nobody.
pub fn is_offline(sync_enabled: bool, peers: &[PeerStatus]) -> bool {
    sync_enabled && !peers.is_empty() && !peers.iter().any(|p| p.connected)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn peer(name: &str, connected: bool) -> PeerStatus {
        PeerStatus { name: name.into(), connected, ..PeerStatus::default() }
    }

    /// rule O1: a township whose configured hall never answered is offline (the banner shows)
    /// even before the first dial attempt has failed.
    #[test]
    fn a_configured_peer_never_reached_makes_the_node_offline() {
        let peers = peers_view(&["hall".to_string()], Vec::new());
        assert_eq!(peers.len(), 1);
        assert_eq!(
            (peers[0].name.as_str(), peers[0].connected, peers[0].last_contact_ms),
            ("hall", false, None)
        );
        assert!(is_offline(true, &peers));
        assert!(!is_offline(false, &peers), "a standalone node is never offline");
    }

    #[test]
    fn one_connected_peer_is_enough_to_be_online() {
        let peers = peers_view(&["hall".to_string()], vec![peer("hall", true), peer("town-b", false)]);
        assert_eq!(peers.len(), 2, "a configured peer the replicator knows is not listed twice");
        assert!(!is_offline(true, &peers));
        let peers = peers_view(&[], vec![peer("town-a", false)]);
        assert!(is_offline(true, &peers));
        assert!(!is_offline(true, &peers_view(&[], Vec::new())), "a hall nobody dialled yet");
    }

    fn day(s: &str) -> NaiveDate {
        NaiveDate::parse_from_str(s, "%Y-%m-%d").expect("date")
    }

    #[test]
    fn every_day_of_the_period_is_listed_even_without_cards() {
        let days = cards_per_day(&[], day("2026-03-01"), day("2026-03-07"), None).expect("trend");
        assert_eq!(days.len(), 7);
        assert_eq!(days[0], TrendDay { date: day("2026-03-01"), ..TrendDay::default() });
        assert_eq!(days[6].date, day("2026-03-07"));
    }

    #[test]
    fn a_reversed_or_overlong_period_is_refused_with_its_code() {
        let e = cards_per_day(&[], day("2026-03-07"), day("2026-03-01"), None).expect_err("reversed");
        assert_eq!(e.code(), "trend.period_reversed");
        let e = cards_per_day(&[], day("2025-01-01"), day("2026-03-01"), None).expect_err("too long");
        assert_eq!(e.code(), "trend.period_too_long");
        // The bound itself is allowed.
        let last = day("2025-01-01") + chrono::Duration::days(TREND_DAYS_MAX - 1);
        assert_eq!(cards_per_day(&[], day("2025-01-01"), last, None).map(|d| d.len()), Ok(366));
    }
}
