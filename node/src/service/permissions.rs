//! The permission matrix of acts that are not case events (those the schema's
//! [`yikou_schema::case::permissions`] gate decides, with the case at hand). Both follow the
//! notice's division of duties (一口受理工作规则 二、职责分工).

use serde::Serialize;
use yikou_schema::actor::Role;

use super::ServiceError;

/// Acts outside a case's event log.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, schemars::JsonSchema)]
#[serde(rename_all = "snake_case")]
pub enum Action {
    /// Read cases, their timelines, documents and raw Automerge bytes.
    ReadCases,
    /// Ask whether an application is eligible for tolerance acceptance (no write).
    CheckEligibility,
    /// Hand out queue numbers (W1.1).
    IssueTickets,
    /// Book, take up and cancel appointments (W1.2–W1.4).
    ManageAppointments,
    /// Record consultations and answer hard questions (W2).
    Consult,
    /// Upload scanned materials (W3.2).
    UploadMaterials,
    /// Adjust the catalog (W11): the hall centre only.
    AdjustCatalog,
    /// Read the dishonesty list (T3.6).
    ReadDishonesty,
    /// Read supervision cards and the conflict queue (W9, O4).
    ReadSupervision,
    /// Run the supervision scheduler now.
    RunSupervision,
    /// Read the W10 indicators and the W2.5 analysis.
    ReadReports,
    /// Read peer and sync status.
    ReadNetwork,
}

impl Action {
    pub const ALL: [Action; 12] = [
        Action::ReadCases,
        Action::CheckEligibility,
        Action::IssueTickets,
        Action::ManageAppointments,
        Action::Consult,
        Action::UploadMaterials,
        Action::AdjustCatalog,
        Action::ReadDishonesty,
        Action::ReadSupervision,
        Action::RunSupervision,
        Action::ReadReports,
        Action::ReadNetwork,
    ];

    pub fn name_zh(self) -> &'static str {
        match self {
            Action::ReadCases => "查阅办件",
            Action::CheckEligibility => "容缺受理条件核验",
            Action::IssueTickets => "取号",
            Action::ManageAppointments => "预约办理",
            Action::Consult => "咨询登记与答复",
            Action::UploadMaterials => "材料扫描上传",
            Action::AdjustCatalog => "事项清单调整",
            Action::ReadDishonesty => "查阅失信名单",
            Action::ReadSupervision => "查阅电子监察",
            Action::RunSupervision => "执行电子监察",
            Action::ReadReports => "查阅统计报表",
            Action::ReadNetwork => "查阅同步状态",
        }
    }

    fn rule(self) -> Option<&'static str> {
        match self {
            Action::IssueTickets | Action::ManageAppointments => Some("W1.1"),
            Action::Consult => Some("W2.1"),
            Action::UploadMaterials => Some("W3.2"),
            Action::AdjustCatalog => Some("W11"),
            Action::ReadDishonesty => Some("T3.6"),
            Action::ReadSupervision | Action::RunSupervision => Some("W9"),
            Action::ReadReports => Some("W10"),
            _ => None,
        }
    }
}

/// May `role` do `action`?
pub fn allowed(role: &Role, action: Action) -> bool {
    use Action as A;
    match action {
        // Every member of staff reads cases and the network's state; the auditor only reads.
        A::ReadCases | A::ReadNetwork | A::ReadDishonesty => true,
        A::CheckEligibility | A::UploadMaterials => {
            matches!(role, Role::WindowClerk | Role::DepartmentReviewer(_))
        }
        A::IssueTickets | A::ManageAppointments => matches!(role, Role::WindowClerk),
        // The window registers; the department's counsellor answers (W2.1).
        A::Consult => matches!(role, Role::WindowClerk | Role::DepartmentReviewer(_)),
        A::AdjustCatalog => *role == Role::HallCentre,
        A::ReadSupervision => {
            matches!(role, Role::Supervisor | Role::HallCentre | Role::Auditor | Role::DepartmentReviewer(_))
        }
        A::RunSupervision => matches!(role, Role::Supervisor | Role::System),
        A::ReadReports => {
            matches!(role, Role::Supervisor | Role::HallCentre | Role::Auditor | Role::DepartmentReviewer(_))
        }
    }
}

pub fn require(role: &Role, action: Action) -> Result<(), ServiceError> {
    if allowed(role, action) {
        Ok(())
    } else {
        Err(ServiceError::forbidden(
            "permission.denied",
            action.rule(),
            format!("「{}」无权进行「{}」", role.name_zh(), action.name_zh()),
        ))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use yikou_schema::codes::DepartmentCode;

    /// The whole matrix, role by role (a change to it must change this table).
    #[test]
    fn permission_matrix() {
        let reviewer = Role::DepartmentReviewer(DepartmentCode::new("BDC"));
        let roles = [
            ("window_clerk", Role::WindowClerk),
            ("reviewer", reviewer),
            ("issuing", Role::IssuingWindow),
            ("hall_centre", Role::HallCentre),
            ("supervisor", Role::Supervisor),
            ("auditor", Role::Auditor),
        ];
        let mut table = String::new();
        for (name, role) in &roles {
            let row: Vec<&str> =
                Action::ALL.iter().map(|a| if allowed(role, *a) { "x" } else { "." }).collect();
            table.push_str(&format!("{name:12} {}\n", row.join("")));
        }
        // Columns: read, eligibility, tickets, appointments, consult, upload, catalog, dishonesty,
        // read supervision, run supervision, reports, network.
        let expected = "\
window_clerk xxxxxx.x...x
reviewer     xx..xx.xx.xx
issuing      x......x...x
hall_centre  x.....xxx.xx
supervisor   x......xxxxx
auditor      x......xx.xx
";
        assert_eq!(table, expected);
    }

    /// rule W11: nobody but the hall centre adjusts the catalog.
    #[test]
    fn only_the_hall_centre_adjusts_the_catalog() {
        for role in [Role::WindowClerk, Role::Supervisor, Role::Auditor, Role::IssuingWindow] {
            let e = require(&role, Action::AdjustCatalog).expect_err("refused");
            assert_eq!(
                (e.status, e.code.as_str(), e.rule.as_deref()),
                (403, "permission.denied", Some("W11"))
            );
        }
        assert!(require(&Role::HallCentre, Action::AdjustCatalog).is_ok());
    }
}
