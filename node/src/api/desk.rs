//! Routes of the front desk (queue tickets, appointments, consultations) and of the reports (W10
//! indicators, the W2.5 consultation analysis) as JSON and `.xlsx`.

use axum::Router;
use axum::extract::{Path, State};
use axum::http::{HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post};
use chrono::NaiveDate;
use serde::Deserialize;
use yikou_schema::codes::DepartmentCode;
use yikou_schema::queue::{AppointmentRequest, CancelReason};

use super::auth::Auth;
use super::problem::{Body, Query};
use super::routes::{Json, blocking, to_json};
use super::{AppState, Problem};
use crate::service::desk::{ConsultationRequest, TicketRequest};
use crate::service::{Action, ServiceError};

type ApiResult<T> = Result<T, Problem>;

/// Routes of this file (the OpenAPI document lists them from [`OPERATIONS`]).
pub fn routes() -> Router<AppState> {
    Router::new()
        .route("/api/v1/tickets", post(ticket))
        .route("/api/v1/appointments", post(book).get(appointments))
        .route("/api/v1/appointments/{id}/take-up", post(take_up))
        .route("/api/v1/appointments/{id}/cancel", post(cancel))
        .route("/api/v1/consultations", post(consult).get(consultations))
        .route("/api/v1/consultations/analysis", get(analysis))
        .route("/api/v1/consultations/{id}/defer", post(defer))
        .route("/api/v1/consultations/{id}/answer", post(answer))
        .route("/api/v1/reports", get(report))
        .route("/api/v1/reports/xlsx", get(report_xlsx))
}

/// (method, path, summary, tag, rule) of every route above.
pub const OPERATIONS: &[(&str, &str, &str, &str, Option<&str>)] = &[
    ("post", "/api/v1/tickets", "取号(受理业务号或咨询业务号)", "取号预约", Some("W1.1")),
    ("post", "/api/v1/appointments", "预约(名额答复)", "取号预约", Some("W1.3")),
    ("get", "/api/v1/appointments", "某日预约列表", "取号预约", Some("W1.2")),
    ("post", "/api/v1/appointments/{id}/take-up", "预约到场", "取号预约", Some("W1.4")),
    ("post", "/api/v1/appointments/{id}/cancel", "取消预约", "取号预约", Some("W1.4")),
    ("post", "/api/v1/consultations", "咨询登记(台账)", "咨询", Some("W2.5")),
    ("get", "/api/v1/consultations", "咨询台账", "咨询", Some("W2.5")),
    ("get", "/api/v1/consultations/analysis", "咨询台账分析", "咨询", Some("W2.5")),
    ("post", "/api/v1/consultations/{id}/defer", "疑难问题转两日内答复", "咨询", Some("W2.3")),
    ("post", "/api/v1/consultations/{id}/answer", "答复疑难问题", "咨询", Some("W2.3")),
    ("get", "/api/v1/reports", "绩效指标与咨询分析(JSON)", "报表", Some("W10")),
    ("get", "/api/v1/reports/xlsx", "绩效指标与咨询分析(.xlsx 下载)", "报表", Some("W10")),
];

async fn ticket(
    State(s): State<AppState>,
    Auth(staff): Auth,
    Body(req): Body<TicketRequest>,
) -> ApiResult<(StatusCode, Json)> {
    let answer = blocking(move || s.service.issue_ticket(&staff, &req)).await?;
    Ok((StatusCode::CREATED, to_json(&answer)?))
}

async fn book(
    State(s): State<AppState>,
    Auth(staff): Auth,
    Body(req): Body<AppointmentRequest>,
) -> ApiResult<Response> {
    let answer = blocking(move || s.service.book_appointment(&staff, &req)).await?;
    // A full quota is an answer, not a malformed request: 409 with the numbers.
    let status = if answer.booked { StatusCode::CREATED } else { StatusCode::CONFLICT };
    Ok((status, to_json(&answer)?).into_response())
}

#[derive(Debug, Deserialize, schemars::JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct DayQuery {
    pub date: NaiveDate,
    pub business: Option<String>,
}

async fn appointments(
    State(s): State<AppState>,
    Auth(staff): Auth,
    Query(q): Query<DayQuery>,
) -> ApiResult<Json> {
    let list = blocking(move || s.service.list_appointments(&staff, q.date, q.business.as_deref())).await?;
    to_json(&list)
}

async fn take_up(State(s): State<AppState>, Auth(staff): Auth, Path(id): Path<String>) -> ApiResult<Json> {
    let a = blocking(move || s.service.take_up(&staff, &id)).await?;
    to_json(&a)
}

#[derive(Debug, Deserialize, schemars::JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct CancelRequest {
    #[schemars(with = "serde_json::Value")]
    pub reason: CancelReason,
}

async fn cancel(
    State(s): State<AppState>,
    Auth(staff): Auth,
    Path(id): Path<String>,
    Body(req): Body<CancelRequest>,
) -> ApiResult<Json> {
    let a = blocking(move || s.service.cancel_appointment(&staff, &id, req.reason)).await?;
    to_json(&a)
}

async fn consult(
    State(s): State<AppState>,
    Auth(staff): Auth,
    Body(req): Body<ConsultationRequest>,
) -> ApiResult<(StatusCode, Json)> {
    let entry = blocking(move || s.service.record_consultation(&staff, &req)).await?;
    Ok((StatusCode::CREATED, to_json(&entry)?))
}

#[derive(Debug, Deserialize, schemars::JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct PeriodQuery {
    pub from: NaiveDate,
    pub to: NaiveDate,
    /// A department code: only that department's figures.
    pub department: Option<String>,
}

async fn consultations(
    State(s): State<AppState>,
    Auth(staff): Auth,
    Query(q): Query<PeriodQuery>,
) -> ApiResult<Json> {
    let list = blocking(move || s.service.list_consultations(&staff, q.from, q.to)).await?;
    to_json(&list)
}

async fn analysis(
    State(s): State<AppState>,
    Auth(staff): Auth,
    Query(q): Query<PeriodQuery>,
) -> ApiResult<Json> {
    let a = blocking(move || s.service.consultation_analysis(&staff, q.from, q.to)).await?;
    to_json(&a)
}

async fn defer(State(s): State<AppState>, Auth(staff): Auth, Path(id): Path<String>) -> ApiResult<Json> {
    let e = blocking(move || s.service.defer_consultation(&staff, &id)).await?;
    to_json(&e)
}

#[derive(Debug, Deserialize, schemars::JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct AnswerRequest {
    pub text: String,
}

async fn answer(
    State(s): State<AppState>,
    Auth(staff): Auth,
    Path(id): Path<String>,
    Body(req): Body<AnswerRequest>,
) -> ApiResult<Json> {
    let e = blocking(move || s.service.answer_consultation(&staff, &id, &req.text)).await?;
    to_json(&e)
}

/// The report for a period: a department reviewer sees its own department only.
fn build_report(
    s: &AppState,
    staff: &crate::service::Staff,
    q: &PeriodQuery,
) -> Result<crate::reports::Report, ServiceError> {
    s.service.require(staff, Action::ReadReports)?;
    // The period first: a bad one is `report.bad_period` (not the ledger's range error), and
    // nothing is loaded for it.
    crate::reports::Period::new(q.from, q.to)
        .map_err(|e| ServiceError::invalid(e.code(), Some("W10"), e.to_string()))?;
    let department = match (staff.role.department(), &q.department) {
        (Some(own), Some(asked)) if own.as_str() != asked => {
            return Err(ServiceError::forbidden(
                "permission.denied",
                Some("W10"),
                format!("职能部门只能查看本部门({own})的报表"),
            ));
        }
        (Some(own), _) => Some(own.clone()),
        (None, asked) => asked.as_deref().map(DepartmentCode::new),
    };
    let refs = s.service.refs()?;
    let (cases, _) = s.service.all_cases()?;
    let consultations = s.service.consultations_between(q.from, q.to)?;
    let report = crate::reports::build(
        &cases,
        &consultations,
        &refs.calendar,
        q.from,
        q.to,
        department.as_ref(),
        s.service.now(),
    )
    .map_err(|e| ServiceError::invalid(e.code(), Some("W10"), e.to_string()))?;
    Ok(match &refs.catalog {
        Some(c) => report.with_names(c),
        None => report,
    })
}

async fn report(
    State(s): State<AppState>,
    Auth(staff): Auth,
    Query(q): Query<PeriodQuery>,
) -> ApiResult<Json> {
    let state = s.clone();
    let report = blocking(move || build_report(&state, &staff, &q)).await?;
    to_json(&report)
}

async fn report_xlsx(
    State(s): State<AppState>,
    Auth(staff): Auth,
    Query(q): Query<PeriodQuery>,
) -> ApiResult<Response> {
    let state = s.clone();
    let (bytes, disposition) = blocking(move || {
        let report = build_report(&state, &staff, &q)?;
        let bytes =
            crate::reports::xlsx(&report).map_err(|e| ServiceError::internal(format!("生成报表失败:{e}")))?;
        Ok((bytes, crate::reports::content_disposition(&report)))
    })
    .await?;
    let disposition = HeaderValue::from_str(&disposition).unwrap_or(HeaderValue::from_static("attachment"));
    Ok((
        [
            (
                header::CONTENT_TYPE,
                HeaderValue::from_static("application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"),
            ),
            (header::CONTENT_DISPOSITION, disposition),
        ],
        bytes,
    )
        .into_response())
}
