//! RFC 9457 problem details: every refusal the API gives, with a stable `code`, the `rule` it
//! rests on (RULES.md) and a `detail` a clerk can act on, in Chinese.

use axum::extract::rejection::{JsonRejection, QueryRejection};
use axum::extract::{FromRequest, Request};
use axum::http::{HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};
use serde::Serialize;
use serde::de::DeserializeOwned;

use crate::accounts::AccountError;
use crate::service::ServiceError;
use crate::service::error::Detail;

/// The media type of problem details.
pub const PROBLEM_JSON: &str = "application/problem+json";

/// A problem details object (RFC 9457) with Yikou's extension members `code`, `rule`, `errors`.
#[derive(Debug, Clone, Serialize, schemars::JsonSchema)]
pub struct Problem {
    /// `urn:yikou:problem:{code}`.
    #[serde(rename = "type")]
    pub kind: String,
    /// A short Chinese title for the status.
    pub title: String,
    pub status: u16,
    /// What went wrong and what to do, in Chinese.
    pub detail: String,
    /// Stable, dotted.
    pub code: String,
    /// The rule of RULES.md the refusal rests on.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub rule: Option<String>,
    /// Every problem when there are several.
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub errors: Vec<Detail>,
}

fn title(status: u16) -> &'static str {
    match status {
        400 => "请求格式错误",
        401 => "未登录或登录已失效",
        403 => "无权办理",
        404 => "未找到",
        405 => "请求方法不支持",
        409 => "当前状态不允许此操作",
        413 => "提交内容过大",
        415 => "提交内容类型不支持",
        422 => "提交内容不符合规则",
        423 => "账号已锁定",
        429 => "请求过于频繁",
        503 => "服务暂不可用",
        507 => "存储空间不足",
        _ => "系统内部错误",
    }
}

impl From<ServiceError> for Problem {
    fn from(e: ServiceError) -> Problem {
        Problem {
            kind: format!("urn:yikou:problem:{}", e.code),
            title: title(e.status).to_string(),
            status: e.status,
            detail: e.message,
            code: e.code,
            rule: e.rule,
            errors: e.details,
        }
    }
}

impl From<AccountError> for Problem {
    fn from(e: AccountError) -> Problem {
        ServiceError::new(e.http_status(), e.code(), None, e.to_string()).into()
    }
}

impl From<JsonRejection> for Problem {
    fn from(r: JsonRejection) -> Problem {
        let (status, code, message) = match &r {
            JsonRejection::MissingJsonContentType(_) => {
                (415, "request.content_type", "请以 JSON 提交(Content-Type: application/json)".to_string())
            }
            JsonRejection::JsonSyntaxError(_) => {
                (400, "request.invalid_json", format!("提交的内容不是有效的 JSON:{}", r.body_text()))
            }
            JsonRejection::JsonDataError(_) => {
                (422, "request.invalid_fields", format!("提交的字段不正确:{}", r.body_text()))
            }
            JsonRejection::BytesRejection(_) if r.status() == StatusCode::PAYLOAD_TOO_LARGE => {
                (413, "request.too_large", "提交内容超过大小上限".to_string())
            }
            _ => (r.status().as_u16(), "request.invalid", format!("请求无效:{}", r.body_text())),
        };
        ServiceError::new(status, code, None, message).into()
    }
}

impl From<QueryRejection> for Problem {
    fn from(r: QueryRejection) -> Problem {
        ServiceError::bad_request("request.invalid_query", format!("查询参数不正确:{}", r.body_text())).into()
    }
}

impl IntoResponse for Problem {
    fn into_response(self) -> Response {
        let status = StatusCode::from_u16(self.status).unwrap_or(StatusCode::INTERNAL_SERVER_ERROR);
        if status.is_server_error() {
            tracing::warn!(code = %self.code, detail = %self.detail, "request failed");
        }
        let mut response = (status, axum::Json(&self)).into_response();
        response.headers_mut().insert(header::CONTENT_TYPE, HeaderValue::from_static(PROBLEM_JSON));
        response
    }
}

/// A JSON body whose rejections are problem details (axum's `Json` answers in plain text).
pub struct Body<T>(pub T);

impl<S: Send + Sync, T: DeserializeOwned> FromRequest<S> for Body<T> {
    type Rejection = Problem;

    async fn from_request(req: Request, state: &S) -> Result<Self, Problem> {
        axum::Json::<T>::from_request(req, state).await.map(|axum::Json(v)| Body(v)).map_err(Problem::from)
    }
}

/// A raw body (uploads, TOML files) whose rejections are problem details: beyond the route's
/// limit it is 413 `request.too_large` (axum's own `Bytes` answers in plain text).
pub struct RawBody(pub axum::body::Bytes);

impl<S: Send + Sync> FromRequest<S> for RawBody {
    type Rejection = Problem;

    async fn from_request(req: Request, state: &S) -> Result<Self, Problem> {
        axum::body::Bytes::from_request(req, state).await.map(RawBody).map_err(|r| {
            let (status, code, message) = if r.status() == StatusCode::PAYLOAD_TOO_LARGE {
                (413, "request.too_large", "提交内容超过大小上限".to_string())
            } else {
                (r.status().as_u16(), "request.invalid", format!("请求无效:{}", r.body_text()))
            };
            ServiceError::new(status, code, None, message).into()
        })
    }
}

/// Query parameters whose rejections are problem details.
pub struct Query<T>(pub T);

impl<S: Send + Sync, T: DeserializeOwned> axum::extract::FromRequestParts<S> for Query<T> {
    type Rejection = Problem;

    async fn from_request_parts(parts: &mut axum::http::request::Parts, state: &S) -> Result<Self, Problem> {
        axum::extract::Query::<T>::from_request_parts(parts, state)
            .await
            .map(|axum::extract::Query(v)| Query(v))
            .map_err(Problem::from)
    }
}
