//! The handlers: each turns HTTP into one service call and its answer into JSON (or HTML, xlsx,
//! Automerge bytes). The route list here is also what the OpenAPI document describes
//! ([`super::openapi`]); a test checks the two agree.

use axum::Router;
use axum::body::Bytes;
use axum::extract::{Path, State};
use axum::http::{HeaderValue, StatusCode, header};
use axum::response::{Html, IntoResponse, Response};
use axum::routing::{get, post, put};
use serde::{Deserialize, Serialize};
use serde_json::{Value, json};
use yikou_schema::case::EventKind;
use yikou_schema::documents::DocumentKind;

use super::auth::{Admin, Auth};
use super::problem::{Body, Query, RawBody};
use super::{AppState, Problem};
use crate::service::cases::{CaseFilter, IntakeRequest};
use crate::service::{Action, ServiceError};

type ApiResult<T> = Result<T, Problem>;

/// One step of a case: its path segment under `/api/v1/cases/{id}/`, the event kind it records
/// (the `kind` tag of [`EventKind`]), a Chinese summary and the rule.
pub struct Step {
    pub path: &'static str,
    pub kind: &'static str,
    pub summary: &'static str,
    pub rule: &'static str,
}

/// Every step of RULES.md a member of staff records on a case.
pub const STEPS: &[Step] = &[
    Step { path: "pre-acceptance", kind: "pre_accepted", summary: "网上预受理结果", rule: "W3.1" },
    Step {
        path: "accept", kind: "accepted", summary: "受理(材料齐全、符合法定形式)", rule: "W3.5"
    },
    Step {
        path: "tolerance-accept",
        kind: "tolerance_accepted",
        summary: "容缺受理并签署承诺书",
        rule: "T3.2",
    },
    Step {
        path: "correction-notice", kind: "correction_notice", summary: "一次性告知补正", rule: "W3.5"
    },
    Step { path: "resubmit", kind: "resubmitted", summary: "补正后重新递交", rule: "W3.5" },
    Step { path: "not-accept", kind: "not_accepted", summary: "不予受理决定", rule: "W3.5" },
    Step { path: "handover", kind: "handed_over", summary: "材料移交职能部门", rule: "W4.1" },
    Step { path: "handover-sign", kind: "handover_signed", summary: "部门签收材料", rule: "W4.2" },
    Step {
        path: "special-procedure-start",
        kind: "special_procedure_started",
        summary: "特别程序开始",
        rule: "W5.1",
    },
    Step {
        path: "special-procedure-end",
        kind: "special_procedure_ended",
        summary: "特别程序结束",
        rule: "W5.1",
    },
    Step {
        path: "supplements", kind: "supplement_received", summary: "接收补交的容缺材料", rule: "T3.5"
    },
    Step { path: "proposed-decision", kind: "proposed_decision", summary: "拟审批决定", rule: "T3.4" },
    Step { path: "decision", kind: "decided", summary: "审批决定(准予或不予)", rule: "W5.1" },
    Step {
        path: "result-to-issuing",
        kind: "result_to_issuing",
        summary: "结果转交统一发证窗口",
        rule: "W6.1",
    },
    Step { path: "notify", kind: "notified", summary: "通知申请人领取", rule: "W6.2" },
    Step { path: "deliver", kind: "delivered", summary: "送达(自取或邮寄)", rule: "W6.2" },
    Step {
        path: "result-form-returned",
        kind: "result_form_returned",
        summary: "交接单返还部门",
        rule: "W6.2",
    },
    Step { path: "archive", kind: "archived", summary: "归档", rule: "W7" },
    Step { path: "report-upward", kind: "reported_upward", summary: "上报件呈报上级", rule: "W8" },
    Step { path: "withdraw", kind: "withdrawn", summary: "申请人撤回", rule: "W3.5" },
    Step {
        path: "file-removal-consent",
        kind: "file_removal_consented",
        summary: "同意案卷带离大厅",
        rule: "W5.2",
    },
    Step { path: "scans", kind: "materials_scanned", summary: "登记扫描上传的材料", rule: "W3.2" },
    Step { path: "cards", kind: "card_issued", summary: "红黄牌(电子监察)", rule: "W9" },
    Step { path: "card-revoke", kind: "card_revoked", summary: "撤销红黄牌", rule: "W9" },
    Step { path: "rating", kind: "rated", summary: "满意度评价", rule: "W10" },
    Step {
        path: "conflict-resolve", kind: "conflict_resolved", summary: "处理同步后冲突", rule: "O4"
    },
    Step {
        path: "provincial-number",
        kind: "provincial_number_assigned",
        summary: "登记省平台编号",
        rule: "O3",
    },
];

/// Every route but the steps (those come from [`STEPS`]).
pub fn routes(state: &AppState) -> Router<AppState> {
    let upload_max = state.config.upload_bytes_max;
    let mut router = Router::new()
        .route("/healthz", get(healthz))
        .route("/metrics", get(metrics))
        .route("/api/v1/openapi.json", get(openapi))
        .route("/api/v1/auth/login", post(login))
        .route("/api/v1/auth/logout", post(logout))
        .route("/api/v1/auth/me", get(me))
        .route("/api/v1/eligibility", post(eligibility))
        .route("/api/v1/cases", post(intake).get(list_cases))
        .route("/api/v1/cases/{id}", get(case))
        .route("/api/v1/cases/{id}/timeline", get(timeline))
        .route("/api/v1/cases/{id}/automerge", get(automerge))
        .route("/api/v1/cases/{id}/documents", get(documents))
        .route("/api/v1/cases/{id}/documents/{kind}", get(document))
        .route("/api/v1/attachments", post(upload).layer(axum::extract::DefaultBodyLimit::max(upload_max)))
        .route("/api/v1/attachments/{hash}", get(download))
        .route("/api/v1/catalog", get(catalog))
        .route("/api/v1/catalog/items/{code}", get(catalog_item))
        .route("/api/v1/catalog/adjustments", post(adjust_catalog))
        .route("/api/v1/dishonesty", get(dishonesty))
        .route("/api/v1/supervision/cards", get(cards))
        .route("/api/v1/supervision/run", post(run_supervision))
        .route("/api/v1/conflicts", get(conflicts))
        .route("/api/v1/peers", get(peers))
        .route("/api/v1/status", get(status))
        .route("/api/v1/admin/users", post(add_user).get(list_users))
        .route("/api/v1/admin/users/{staff}/disable", post(disable_user))
        .route("/api/v1/admin/catalog", put(import_catalog))
        .route("/api/v1/admin/calendar", put(import_calendar))
        .route("/api/v1/admin/backup", post(admin_backup));
    for step in STEPS {
        let kind = step.kind;
        router = router.route(
            &format!("/api/v1/cases/{{id}}/{}", step.path),
            post(move |state: State<AppState>, auth: Auth, id: Path<String>, body: Body<Value>| {
                record_step(state, auth, id, kind, body)
            }),
        );
    }
    router
}

async fn healthz(State(state): State<AppState>) -> Json {
    Json(json!({ "status": "ok", "node": state.service.info().name.to_string() }))
}

async fn metrics(State(state): State<AppState>) -> Response {
    let text = state.metrics.render(&state);
    ([(header::CONTENT_TYPE, "application/openmetrics-text; version=1.0.0; charset=utf-8")], text)
        .into_response()
}

async fn openapi() -> Json {
    Json(super::openapi::document())
}

/// JSON answers.
pub struct Json(pub Value);

impl IntoResponse for Json {
    fn into_response(self) -> Response {
        axum::Json(self.0).into_response()
    }
}

pub(crate) fn to_json<T: Serialize>(value: &T) -> ApiResult<Json> {
    serde_json::to_value(value)
        .map(Json)
        .map_err(|e| ServiceError::internal(format!("序列化失败:{e}")).into())
}

/// Runs a blocking service call (store I/O, fsync) off the async workers.
pub(crate) async fn blocking<T: Send + 'static>(
    f: impl FnOnce() -> Result<T, ServiceError> + Send + 'static,
) -> ApiResult<T> {
    match tokio::task::spawn_blocking(f).await {
        Ok(r) => r.map_err(Problem::from),
        Err(_) => Err(ServiceError::internal("处理请求时内部错误").into()),
    }
}

#[derive(Debug, Deserialize, schemars::JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct LoginRequest {
    pub staff: String,
    pub password: String,
}

async fn login(State(state): State<AppState>, Body(req): Body<LoginRequest>) -> ApiResult<Json> {
    let accounts = state.accounts.clone();
    let now_ms = state.service.clock().now_ms();
    let session = tokio::task::spawn_blocking(move || accounts.login(&req.staff, &req.password, now_ms))
        .await
        .map_err(|_| Problem::from(ServiceError::internal("处理请求时内部错误")))??;
    to_json(&session)
}

async fn logout(
    State(state): State<AppState>,
    headers: axum::http::HeaderMap,
    _auth: Auth,
) -> ApiResult<Json> {
    let token = headers
        .get(header::AUTHORIZATION)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.split_once(' '))
        .map_or("", |(_, t)| t.trim());
    let ended = state.accounts.logout(token)?;
    Ok(Json(json!({ "logged_out": ended })))
}

async fn me(Auth(staff): Auth) -> Json {
    Json(json!({
        "staff": staff.id.to_string(),
        "name": staff.name,
        "role": staff.role,
        "role_zh": staff.role.name_zh(),
        "role_code": crate::accounts::role_str(&staff.role),
    }))
}

async fn eligibility(
    State(state): State<AppState>,
    Auth(staff): Auth,
    Body(req): Body<IntakeRequest>,
) -> ApiResult<Json> {
    let answer = blocking(move || state.service.eligibility(&staff, &req)).await?;
    to_json(&answer)
}

async fn intake(
    State(state): State<AppState>,
    Auth(staff): Auth,
    Body(req): Body<IntakeRequest>,
) -> ApiResult<(StatusCode, Json)> {
    let channel = serde_json::to_value(&req.channel)
        .ok()
        .and_then(|v| v.get("channel").and_then(Value::as_str).map(str::to_string))
        .unwrap_or_default();
    let service = state.service.clone();
    let answer = blocking(move || service.intake(&staff, &req)).await?;
    state.metrics.intake(&channel);
    Ok((StatusCode::CREATED, to_json(&answer)?))
}

async fn list_cases(
    State(state): State<AppState>,
    Auth(staff): Auth,
    Query(filter): Query<CaseFilter>,
) -> ApiResult<Json> {
    let cases = blocking(move || state.service.list(&staff, &filter)).await?;
    Ok(Json(json!({ "cases": serde_json::to_value(&cases).unwrap_or_default() })))
}

async fn case(State(state): State<AppState>, Auth(staff): Auth, Path(id): Path<String>) -> ApiResult<Json> {
    let view = blocking(move || state.service.case_view(&staff, &id)).await?;
    to_json(&view)
}

async fn timeline(
    State(state): State<AppState>,
    Auth(staff): Auth,
    Path(id): Path<String>,
) -> ApiResult<Json> {
    let view = blocking(move || state.service.case_view(&staff, &id)).await?;
    to_json(&view.events)
}

async fn automerge(
    State(state): State<AppState>,
    Auth(staff): Auth,
    Path(id): Path<String>,
) -> ApiResult<Response> {
    let name = id.clone();
    let bytes = blocking(move || state.service.automerge(&staff, &id)).await?;
    Ok((
        [
            (header::CONTENT_TYPE, HeaderValue::from_static("application/octet-stream")),
            (
                header::CONTENT_DISPOSITION,
                HeaderValue::from_str(&format!("attachment; filename=\"{name}.automerge\""))
                    .unwrap_or(HeaderValue::from_static("attachment")),
            ),
        ],
        bytes,
    )
        .into_response())
}

async fn documents(
    State(state): State<AppState>,
    Auth(staff): Auth,
    Path(id): Path<String>,
    headers: axum::http::HeaderMap,
) -> ApiResult<Response> {
    let case_id = id.clone();
    let view = blocking(move || state.service.case_view(&staff, &case_id)).await?;
    let wants_html =
        headers.get(header::ACCEPT).and_then(|v| v.to_str().ok()).is_some_and(|a| a.contains("text/html"));
    let links: Vec<(DocumentKind, String)> = view
        .documents
        .iter()
        .map(|k| (*k, format!("/api/v1/cases/{id}/documents/{}", kind_name(*k))))
        .collect();
    if wants_html {
        return Ok(Html(crate::print::index_page(&id, &links)).into_response());
    }
    let list: Vec<Value> = links
        .iter()
        .map(|(k, href)| json!({ "kind": kind_name(*k), "title": k.title_zh(), "rule": k.rule(), "href": href }))
        .collect();
    Ok(Json(json!({ "documents": list })).into_response())
}

fn kind_name(kind: DocumentKind) -> String {
    serde_json::to_value(kind).ok().and_then(|v| v.as_str().map(str::to_string)).unwrap_or_default()
}

async fn document(
    State(state): State<AppState>,
    Auth(staff): Auth,
    Path((id, kind)): Path<(String, String)>,
) -> ApiResult<Html<String>> {
    let kind: DocumentKind = serde_json::from_value(Value::String(kind.clone())).map_err(|_| {
        Problem::from(ServiceError::not_found("document.unknown_kind", format!("没有这种文书:{kind}")))
    })?;
    let doc = blocking(move || state.service.document(&staff, &id, kind)).await?;
    Ok(Html(crate::print::page(&doc)))
}

async fn record_step(
    State(state): State<AppState>,
    Auth(staff): Auth,
    Path(id): Path<String>,
    kind: &'static str,
    Body(body): Body<Value>,
) -> ApiResult<Json> {
    let mut body = match body {
        Value::Object(map) => map,
        Value::Null => serde_json::Map::new(),
        _ => return Err(ServiceError::bad_request("request.not_an_object", "请求内容应为 JSON 对象").into()),
    };
    if body.contains_key("kind") {
        return Err(ServiceError::bad_request(
            "request.kind_in_body",
            "请求内容不应包含 kind 字段(由地址决定)",
        )
        .into());
    }
    if kind == "tolerance_accepted"
        && let Some(Value::Object(c)) = body.get_mut("commitment")
    {
        // Filled in by the node with the list it checked (O4); a client need not send it.
        c.entry("dishonesty_list_version").or_insert(json!(0));
    }
    body.insert("kind".into(), Value::String(kind.into()));
    let given = Value::Object(body);
    let event: EventKind = serde_json::from_value(given.clone()).map_err(|e| {
        Problem::from(ServiceError::invalid("request.invalid_fields", None, format!("提交的字段不正确:{e}")))
    })?;
    // The event types ignore unknown fields (stored documents must read on older nodes), but a
    // client's misspelt field must not be dropped silently: every field given must be read.
    let mut unknown = Vec::new();
    unknown_fields(&given, &serde_json::to_value(&event).unwrap_or_default(), "", &mut unknown);
    if !unknown.is_empty() {
        return Err(ServiceError::invalid(
            "request.invalid_fields",
            None,
            format!("提交的字段不正确:不认识的字段 {}", unknown.join("、")),
        )
        .into());
    }
    let outcome = blocking(move || state.service.step(&staff, &id, event)).await?;
    to_json(&outcome)
}

/// Unknown fields a client gave: the paths in `given` that `read` (what was parsed, serialised
/// again) does not have. At most [`UNKNOWN_FIELDS_MAX`] are named.
fn unknown_fields(given: &Value, read: &Value, path: &str, out: &mut Vec<String>) {
    if out.len() >= UNKNOWN_FIELDS_MAX {
        return;
    }
    match (given, read) {
        (Value::Object(g), Value::Object(r)) => {
            for (key, value) in g {
                let at = if path.is_empty() { key.clone() } else { format!("{path}.{key}") };
                match r.get(key) {
                    Some(known) => unknown_fields(value, known, &at, out),
                    None if out.len() < UNKNOWN_FIELDS_MAX => out.push(at),
                    None => return,
                }
            }
        }
        (Value::Array(g), Value::Array(r)) => {
            for (i, (value, known)) in g.iter().zip(r).enumerate() {
                unknown_fields(value, known, &format!("{path}[{i}]"), out);
            }
        }
        _ => {}
    }
}

/// Unknown fields one refusal names at most.
const UNKNOWN_FIELDS_MAX: usize = 20;

async fn upload(
    State(state): State<AppState>,
    Auth(staff): Auth,
    RawBody(body): RawBody,
) -> ApiResult<(StatusCode, Json)> {
    state.service.require(&staff, Action::UploadMaterials)?;
    if body.is_empty() {
        return Err(ServiceError::invalid("attachment.empty", Some("W3.2"), "上传的文件为空").into());
    }
    let attachments = state.service.attachments().clone();
    let stored = blocking(move || attachments.put(&body).map_err(ServiceError::from)).await?;
    Ok((StatusCode::CREATED, Json(json!({ "hash": stored.hash, "bytes": stored.bytes }))))
}

async fn download(
    State(state): State<AppState>,
    Auth(staff): Auth,
    Path(hash): Path<String>,
) -> ApiResult<Response> {
    state.service.require(&staff, Action::ReadCases)?;
    let valid = hash.len() == 64 && hash.bytes().all(|b| b.is_ascii_digit() || (b'a'..=b'f').contains(&b));
    if !valid {
        return Err(ServiceError::not_found("attachment.not_found", "没有这个文件").into());
    }
    let attachments = state.service.attachments().clone();
    let bytes = blocking(move || {
        if !attachments.has(&hash) {
            return Err(ServiceError::not_found(
                "attachment.not_found",
                "本节点还没有这个文件(可能尚未从其他节点取回)",
            ));
        }
        attachments.get(&hash).map_err(ServiceError::from)
    })
    .await?;
    Ok(([(header::CONTENT_TYPE, "application/octet-stream")], bytes).into_response())
}

#[derive(Debug, Default, Deserialize, schemars::JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct CatalogQuery {
    /// `json` (default) or `toml`.
    pub format: Option<String>,
}

async fn catalog(
    State(state): State<AppState>,
    _auth: AuthOrAdmin,
    Query(q): Query<CatalogQuery>,
) -> ApiResult<Response> {
    let catalog = blocking(move || state.service.catalog()).await?;
    match q.format.as_deref() {
        Some("toml") => {
            Ok(([(header::CONTENT_TYPE, "application/toml; charset=utf-8")], catalog.to_toml())
                .into_response())
        }
        None | Some("json") => Ok(to_json(&*catalog)?.into_response()),
        Some(other) => Err(ServiceError::bad_request(
            "request.invalid_query",
            format!("不支持的格式 {other},可选 json 或 toml"),
        )
        .into()),
    }
}

async fn catalog_item(
    State(state): State<AppState>,
    _auth: Auth,
    Path(code): Path<String>,
) -> ApiResult<Json> {
    let catalog = blocking(move || state.service.catalog()).await?;
    let item = catalog.item(&yikou_schema::codes::ItemCode::new(code.as_str())).ok_or_else(|| {
        Problem::from(ServiceError::not_found(
            "catalog.item_unknown",
            format!("事项清单中没有编码为 {code} 的事项"),
        ))
    })?;
    to_json(item)
}

async fn adjust_catalog(
    State(state): State<AppState>,
    Auth(staff): Auth,
    Body(change): Body<yikou_schema::catalog::Adjustment>,
) -> ApiResult<Json> {
    let stored = blocking(move || state.service.adjust_catalog(&staff, change)).await?;
    to_json(&stored)
}

async fn dishonesty(State(state): State<AppState>, Auth(staff): Auth) -> ApiResult<Json> {
    let list = blocking(move || state.service.dishonesty(&staff)).await?;
    to_json(&list)
}

async fn cards(State(state): State<AppState>, Auth(staff): Auth) -> ApiResult<Json> {
    let (rows, truncated) = blocking(move || state.service.cards(&staff)).await?;
    Ok(Json(json!({ "cards": serde_json::to_value(&rows).unwrap_or_default(), "truncated": truncated })))
}

async fn run_supervision(State(state): State<AppState>, Auth(staff): Auth) -> ApiResult<Json> {
    let report = blocking(move || state.service.supervise(&staff)).await?;
    to_json(&report)
}

async fn conflicts(State(state): State<AppState>, Auth(staff): Auth) -> ApiResult<Json> {
    let (rows, truncated) = blocking(move || state.service.conflicts(&staff)).await?;
    Ok(Json(json!({ "conflicts": serde_json::to_value(&rows).unwrap_or_default(), "truncated": truncated })))
}

async fn peers(State(state): State<AppState>, Auth(staff): Auth) -> ApiResult<Json> {
    state.service.require(&staff, Action::ReadNetwork)?;
    let peers = super::console_data::peers_view(
        &state.configured_peers,
        state.replicator.as_ref().map(|r| r.status()).unwrap_or_default(),
    );
    Ok(Json(
        json!({ "sync_enabled": state.replicator.is_some(), "peers": serde_json::to_value(&peers).unwrap_or_default() }),
    ))
}

/// The node's status: for staff (to see whether the node is cut off) and for the operator CLI.
async fn status(State(state): State<AppState>, _auth: AuthOrAdmin) -> ApiResult<Json> {
    let store = state.service.store().clone();
    let (docs, seq, bytes) =
        blocking(move || Ok((store.doc_count()?, store.last_seq()?, store.size_on_disk()?))).await?;
    let info = state.service.info();
    // Configured peers never reached count too: a township cut off from the start is offline.
    let peers = super::console_data::peers_view(
        &state.configured_peers,
        state.replicator.as_ref().map(|r| r.status()).unwrap_or_default(),
    );
    let connected = peers.iter().filter(|p| p.connected).count();
    Ok(Json(json!({
        "node": info.name.to_string(),
        "role": if info.hall { "hall" } else { "township" },
        "scope": info.scope,
        "now": state.service.now(),
        "documents": docs,
        "feed_seq": seq,
        "store_bytes": bytes,
        "sync_enabled": state.replicator.is_some(),
        "peers_connected": connected,
        "offline": super::console_data::is_offline(state.replicator.is_some(), &peers),
        "peers": serde_json::to_value(&peers).unwrap_or_default(),
    })))
}

/// A member of staff or the operator.
pub struct AuthOrAdmin;

impl axum::extract::FromRequestParts<AppState> for AuthOrAdmin {
    type Rejection = Problem;

    async fn from_request_parts(
        parts: &mut axum::http::request::Parts,
        state: &AppState,
    ) -> Result<Self, Problem> {
        if Admin::from_request_parts(parts, state).await.is_ok() {
            return Ok(AuthOrAdmin);
        }
        Auth::from_request_parts(parts, state).await.map(|_| AuthOrAdmin)
    }
}

#[derive(Debug, Deserialize, schemars::JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct NewUser {
    pub staff: String,
    pub name: String,
    /// `window_clerk`, `department_reviewer:<DEPT>`, `issuing_window`, `hall_centre`, `supervisor`, `auditor`.
    pub role: String,
    pub password: String,
}

async fn add_user(
    State(state): State<AppState>,
    _admin: Admin,
    Body(req): Body<NewUser>,
) -> ApiResult<(StatusCode, Json)> {
    let role = crate::accounts::parse_role(&req.role)?;
    let accounts = state.accounts.clone();
    let now_ms = state.service.clock().now_ms();
    let account =
        tokio::task::spawn_blocking(move || accounts.add(&req.staff, &req.name, role, &req.password, now_ms))
            .await
            .map_err(|_| Problem::from(ServiceError::internal("处理请求时内部错误")))??;
    Ok((StatusCode::CREATED, to_json(&account)?))
}

async fn list_users(State(state): State<AppState>, _admin: Admin) -> ApiResult<Json> {
    to_json(&state.accounts.list()?)
}

async fn disable_user(
    State(state): State<AppState>,
    _admin: Admin,
    Path(staff): Path<String>,
) -> ApiResult<Json> {
    let account = state.accounts.disable(&staff, state.service.clock().now_ms())?;
    to_json(&account)
}

fn text_body(body: &Bytes) -> ApiResult<String> {
    String::from_utf8(body.to_vec())
        .map_err(|_| ServiceError::bad_request("request.not_utf8", "文件内容须为 UTF-8 编码的文本").into())
}

async fn import_catalog(
    State(state): State<AppState>,
    _admin: Admin,
    RawBody(body): RawBody,
) -> ApiResult<Json> {
    let text = text_body(&body)?;
    let stored = blocking(move || state.service.import_catalog(&text)).await?;
    to_json(&stored)
}

async fn import_calendar(
    State(state): State<AppState>,
    _admin: Admin,
    RawBody(body): RawBody,
) -> ApiResult<Json> {
    let text = text_body(&body)?;
    let years = blocking(move || state.service.import_calendar(&text)).await?;
    Ok(Json(json!({ "years": years })))
}

/// Operations registered by other route groups (front desk, reports, backup), for the OpenAPI
/// document: (method, path, summary, tag, rule).
pub fn extra_operations()
-> Vec<(&'static str, &'static str, &'static str, &'static str, Option<&'static str>)> {
    super::desk::OPERATIONS.to_vec()
}

/// A consistent logical backup of the running node (every document, the local records), written
/// to an anonymous temporary file and streamed from there, so memory stays bounded whatever the
/// store's size: the operator's `yikou backup` writes it to a file.
async fn admin_backup(State(state): State<AppState>, _admin: Admin) -> ApiResult<Response> {
    use std::io::Seek;
    let service = state.service.clone();
    let file = blocking(move || {
        let failed = |e: String| ServiceError::internal(format!("备份失败:{e}"));
        let mut file = tempfile::tempfile().map_err(|e| failed(e.to_string()))?;
        crate::backup::write(service.store(), service.kv().as_ref(), &mut file)
            .map_err(|e| failed(e.to_string()))?;
        file.rewind().map_err(|e| failed(e.to_string()))?;
        Ok(file)
    })
    .await?;
    let stream = tokio_util::io::ReaderStream::new(tokio::fs::File::from_std(file));
    Ok(([(header::CONTENT_TYPE, "application/octet-stream")], axum::body::Body::from_stream(stream))
        .into_response())
}
