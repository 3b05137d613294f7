//! Who is asking: a member of staff by the bearer token of a login session, or the operator by
//! the node's admin token (the `yikou` CLI, reading `admin.token` from the data directory).

use axum::extract::FromRequestParts;
use axum::http::header;
use axum::http::request::Parts;

use super::{AppState, Problem};
use crate::service::{ServiceError, Staff};

fn bearer(parts: &Parts) -> Option<&str> {
    let value = parts.headers.get(header::AUTHORIZATION)?.to_str().ok()?;
    let (scheme, token) = value.split_once(' ')?;
    scheme.eq_ignore_ascii_case("bearer").then(|| token.trim())
}

/// The member of staff behind the request's session token.
pub struct Auth(pub Staff);

impl FromRequestParts<AppState> for Auth {
    type Rejection = Problem;

    async fn from_request_parts(parts: &mut Parts, state: &AppState) -> Result<Self, Problem> {
        let token = bearer(parts).unwrap_or("");
        let account = state.accounts.authenticate(token, state.service.clock().now_ms())?;
        Ok(Auth(Staff { id: account.staff, name: account.name, role: account.role }))
    }
}

/// The operator (admin token).
pub struct Admin;

impl FromRequestParts<AppState> for Admin {
    type Rejection = Problem;

    async fn from_request_parts(parts: &mut Parts, state: &AppState) -> Result<Self, Problem> {
        let given = bearer(parts).unwrap_or("");
        // Compared through hashes: equal-length, data-independent comparison.
        let ok = !state.admin_token.is_empty()
            && blake3::hash(given.as_bytes()) == blake3::hash(state.admin_token.as_bytes());
        if ok {
            Ok(Admin)
        } else {
            Err(ServiceError::new(
                401,
                "auth.admin_required",
                None,
                "此操作需要节点管理员凭证(数据目录中的 admin.token),请在节点所在机器上用 yikou 命令操作",
            )
            .into())
        }
    }
}
