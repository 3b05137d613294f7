//! The service's one error: an HTTP status, a stable code, the rule it rests on (when one does)
//! and a message a clerk can act on, in Chinese. The API renders it as RFC 9457 problem+json.

use yikou_schema::calendar::CalendarError;
use yikou_schema::case::RuleViolation;
use yikou_schema::catalog::{CatalogErrors, IntakeRefusal, UnlistedMaterial};
use yikou_schema::consultation::ConsultationError;
use yikou_schema::ids::IdError;
use yikou_schema::queue::QueueError;

use crate::store::StoreError;

/// A refused or failed command. Nothing was written.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{message}")]
pub struct ServiceError {
    /// The HTTP status the API answers with.
    pub status: u16,
    /// Stable, dotted (`tolerance.deadline_too_late`).
    pub code: String,
    /// The RULES.md rule the refusal rests on, if any.
    pub rule: Option<String>,
    /// For the clerk, in Chinese.
    pub message: String,
    /// Further problems when there are several (every problem at once, W3.5).
    pub details: Vec<Detail>,
}

/// One of several problems.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize, schemars::JsonSchema)]
pub struct Detail {
    pub code: String,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub rule: Option<String>,
    pub message: String,
    /// Where in the request, e.g. `applicant.id`.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub field: Option<String>,
}

impl ServiceError {
    pub fn new(status: u16, code: impl Into<String>, rule: Option<&str>, message: impl Into<String>) -> Self {
        ServiceError {
            status,
            code: code.into(),
            rule: rule.map(str::to_string),
            message: message.into(),
            details: Vec::new(),
        }
    }

    /// 422: the request is well-formed but the rules or the data refuse it.
    pub fn invalid(code: impl Into<String>, rule: Option<&str>, message: impl Into<String>) -> Self {
        Self::new(422, code, rule, message)
    }

    /// 400: the request itself is malformed.
    pub fn bad_request(code: impl Into<String>, message: impl Into<String>) -> Self {
        Self::new(400, code, None, message)
    }

    pub fn forbidden(code: impl Into<String>, rule: Option<&str>, message: impl Into<String>) -> Self {
        Self::new(403, code, rule, message)
    }

    pub fn not_found(code: impl Into<String>, message: impl Into<String>) -> Self {
        Self::new(404, code, None, message)
    }

    /// 409: the state does not allow it now (another act came first).
    pub fn conflict(code: impl Into<String>, rule: Option<&str>, message: impl Into<String>) -> Self {
        Self::new(409, code, rule, message)
    }

    pub fn unavailable(code: impl Into<String>, rule: Option<&str>, message: impl Into<String>) -> Self {
        Self::new(503, code, rule, message)
    }

    pub fn internal(message: impl Into<String>) -> Self {
        Self::new(500, "internal", None, message)
    }

    /// Names the request field the problem is about.
    pub fn at(mut self, field: &str) -> Self {
        if self.details.is_empty() {
            self.details.push(Detail {
                code: self.code.clone(),
                rule: self.rule.clone(),
                message: self.message.clone(),
                field: Some(field.to_string()),
            });
        }
        self
    }

    pub fn with_details(mut self, details: Vec<Detail>) -> Self {
        self.details = details;
        self
    }
}

impl From<RuleViolation> for ServiceError {
    fn from(v: RuleViolation) -> Self {
        let status = if v.code == "permission.denied" {
            403
        } else if v.code.starts_with("case.not_")
            || v.code.starts_with("case.already_")
            || v.code == "case.terminal"
            // "Already set", though not named `already_` (a stable code): the same conflict.
            || v.code == "case.provincial_number_set"
        {
            // The case's state does not allow the step (now): a conflict with its state.
            409
        } else {
            422
        };
        ServiceError::new(status, v.code, Some(v.rule), v.message)
    }
}

impl From<IntakeRefusal> for ServiceError {
    fn from(r: IntakeRefusal) -> Self {
        ServiceError::invalid(r.code(), Some(r.rule()), r.to_string())
    }
}

impl From<UnlistedMaterial> for ServiceError {
    fn from(u: UnlistedMaterial) -> Self {
        ServiceError::invalid(u.code(), Some(u.rule()), u.to_string())
    }
}

impl From<IdError> for ServiceError {
    fn from(e: IdError) -> Self {
        ServiceError::invalid(e.code(), None, e.to_string())
    }
}

impl From<CalendarError> for ServiceError {
    fn from(e: CalendarError) -> Self {
        ServiceError::invalid("calendar.out_of_range", None, e.to_string())
    }
}

impl From<QueueError> for ServiceError {
    fn from(e: QueueError) -> Self {
        ServiceError::invalid(e.code(), e.rule(), e.to_string())
    }
}

impl From<ConsultationError> for ServiceError {
    fn from(e: ConsultationError) -> Self {
        ServiceError::invalid(e.code(), e.rule(), e.to_string())
    }
}

impl From<CatalogErrors> for ServiceError {
    fn from(e: CatalogErrors) -> Self {
        let details =
            e.0.iter()
                .map(|p| Detail {
                    code: p.code.to_string(),
                    rule: Some("W11".into()),
                    message: p.to_string(),
                    field: None,
                })
                .collect();
        ServiceError::invalid("catalog.invalid", Some("W11"), format!("事项清单有 {} 处问题", e.0.len()))
            .with_details(details)
    }
}

/// A store error caused by a full disk (ENOSPC, or EFBIG under a file-size limit).
fn disk_full(e: &StoreError) -> bool {
    let text = e.to_string();
    ["os error 28", "No space left", "os error 27", "File too large"].iter().any(|m| text.contains(m))
}

impl From<StoreError> for ServiceError {
    fn from(e: StoreError) -> Self {
        if disk_full(&e) {
            // O2: nothing acknowledged is lost; what could not be written was not acknowledged.
            return ServiceError::new(
                507,
                "store.disk_full",
                Some("O2"),
                "本节点磁盘空间已满:这次办理没有保存,已保存的办件不受影响。请联系系统管理员清理磁盘后重启节点",
            );
        }
        let status = match &e {
            StoreError::NotFound(_) => 404,
            StoreError::AlreadyExists(_) => 409,
            StoreError::Busy(_) => 503,
            StoreError::TooLarge { .. } => 413,
            StoreError::Forbidden { .. } => 403,
            _ => 500,
        };
        ServiceError::new(status, e.code(), None, e.to_string())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// rule O2: a full disk is told to the clerk plainly, as such.
    #[test]
    fn a_full_disk_is_a_507_with_a_plain_message() {
        let full = StoreError::SyncFailed("No space left on device (os error 28)".into());
        let e = ServiceError::from(full);
        assert_eq!((e.status, e.code.as_str(), e.rule.as_deref()), (507, "store.disk_full", Some("O2")));
        assert!(!e.message.contains("os error"));
        let other = ServiceError::from(StoreError::SyncFailed("Input/output error (os error 5)".into()));
        assert_eq!((other.status, other.code.as_str()), (500, "store.sync_failed"));
    }
}
