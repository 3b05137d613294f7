//! Who may record which event: the division of duties of the one-window rules (二、职责分工).
//!
//! - The comprehensive window (综合受理) receives, accepts, corrects, refuses and hands over.
//! - A department's reviewer signs for, reviews and decides its own department's cases; for
//!   instant items (W3.3) and for the areas that keep their own intake staff (W3.2: real estate,
//!   housing fund, social security) it also does intake for its own items, never another's.
//! - The issuing window (统一发证) notifies and delivers.
//! - Only the hall centre consents to a case file leaving the hall (W5.2).
//! - The supervisor (电子监察) issues and revokes cards and resolves conflicts.
//! - The auditor reads only.

use super::event::EventKind;
use super::{CaseHeader, RuleViolation};
use crate::actor::Role;
use crate::catalog::{BusinessArea, ItemKind};

/// May `role` record `kind` on this case?
pub fn check(header: &CaseHeader, role: &Role, kind: &EventKind) -> Result<(), RuleViolation> {
    if allowed(header, role, kind) {
        Ok(())
    } else {
        Err(RuleViolation::new(
            rule_of(kind),
            "permission.denied",
            format!("「{}」无权办理「{}」", role.name_zh(), kind.name_zh()),
        ))
    }
}

fn own_department(header: &CaseHeader, role: &Role) -> bool {
    role.department().is_some_and(|d| *d == header.item.department)
}

fn involved_department(header: &CaseHeader, role: &Role) -> bool {
    role.department().is_some_and(|d| super::state::departments(header).contains(d))
}

/// W3.2 / W3.3: departments that keep their own intake staff, for their own items.
fn department_does_intake(header: &CaseHeader, role: &Role) -> bool {
    own_department(header, role)
        && (header.item.kind == ItemKind::Instant
            || matches!(
                header.item.area,
                BusinessArea::RealEstate | BusinessArea::HousingFund | BusinessArea::SocialSecurity
            ))
}

/// The lead department decides (W4.3: joint items are led by the lead department).
fn lead_department(header: &CaseHeader, role: &Role) -> bool {
    role.department().is_some_and(|d| super::state::departments(header).first() == Some(d))
}

fn allowed(header: &CaseHeader, role: &Role, kind: &EventKind) -> bool {
    use EventKind as K;
    match kind {
        K::Received { .. }
        | K::PreAccepted { .. }
        | K::Accepted { .. }
        | K::ToleranceAccepted { .. }
        | K::CorrectionNotice { .. }
        | K::Resubmitted { .. }
        | K::NotAccepted { .. }
        | K::Withdrawn { .. } => *role == Role::WindowClerk || department_does_intake(header, role),
        K::SupplementReceived { .. } => {
            matches!(role, Role::WindowClerk | Role::IssuingWindow) || department_does_intake(header, role)
        }
        K::HandedOver { .. } => {
            matches!(role, Role::WindowClerk | Role::HallCentre) || involved_department(header, role)
        }
        K::HandoverSigned { department } => role.department() == Some(department),
        K::SpecialProcedureStarted { .. } | K::SpecialProcedureEnded | K::ProposedDecision { .. } => {
            involved_department(header, role)
        }
        K::Decided { .. } | K::ReportedUpward { .. } => lead_department(header, role),
        K::ResultToIssuing { .. } => lead_department(header, role) || *role == Role::IssuingWindow,
        K::Notified { .. } | K::Delivered { .. } | K::ResultFormReturned => {
            *role == Role::IssuingWindow
                || (header.item.kind == ItemKind::Instant && own_department(header, role))
        }
        K::Archived => *role == Role::System || lead_department(header, role),
        K::FileRemovalConsented { .. } => *role == Role::HallCentre,
        K::MaterialsScanned { .. } => *role == Role::WindowClerk || department_does_intake(header, role),
        K::CardIssued { .. } => matches!(role, Role::Supervisor | Role::System),
        K::CardRevoked { .. } | K::ConflictResolved { .. } => *role == Role::Supervisor,
        K::Rated { .. } => matches!(role, Role::WindowClerk | Role::IssuingWindow | Role::System),
        K::ProvincialNumberAssigned { .. } => matches!(role, Role::System | Role::HallCentre),
    }
}

/// The rule a refusal of `kind` rests on.
fn rule_of(kind: &EventKind) -> &'static str {
    use EventKind as K;
    match kind {
        K::Received { .. } | K::PreAccepted { .. } | K::Accepted { .. } | K::CorrectionNotice { .. } => {
            "W3.2"
        }
        K::ToleranceAccepted { .. } => "T3.1",
        K::Resubmitted { .. } | K::NotAccepted { .. } | K::Withdrawn { .. } => "W3.5",
        K::SupplementReceived { .. } => "T3.5",
        K::HandedOver { .. } | K::HandoverSigned { .. } => "W4.1",
        K::SpecialProcedureStarted { .. } | K::SpecialProcedureEnded | K::Decided { .. } => "W5.1",
        K::ProposedDecision { .. } => "T3.4",
        K::ResultToIssuing { .. } => "W6.1",
        K::Notified { .. } | K::Delivered { .. } | K::ResultFormReturned => "W6.2",
        K::Archived => "W7",
        K::ReportedUpward { .. } => "W8",
        K::FileRemovalConsented { .. } => "W5.2",
        K::MaterialsScanned { .. } => "W3.2",
        K::CardIssued { .. } | K::CardRevoked { .. } => "W9",
        K::Rated { .. } => "W10",
        K::ConflictResolved { .. } => "O4",
        K::ProvincialNumberAssigned { .. } => "O3",
    }
}
