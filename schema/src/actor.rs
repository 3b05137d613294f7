//! Who acts: a staff member in a role at a node. Every event records its actor (W9: every act is
//! tracked against the person who did it).

use schemars::JsonSchema;
use serde::{Deserialize, Serialize};

use crate::codes::{DepartmentCode, NodeName, StaffId};

/// The roles of the notice's division of duties (一口受理工作规则 二、职责分工).
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize, JsonSchema)]
#[serde(tag = "role", content = "department", rename_all = "snake_case")]
pub enum Role {
    /// 综合受理窗口: intake, correction notices, handovers.
    WindowClerk,
    /// 职能部门审批人员 of one department: signs handovers, reviews, decides.
    DepartmentReviewer(DepartmentCode),
    /// 统一发证窗口: notifies and delivers results.
    IssuingWindow,
    /// 政务服务中心: catalog adjustment, consent for files leaving the hall (W5.2).
    HallCentre,
    /// 电子监察: cards, conflict resolution.
    Supervisor,
    /// 审计: read only.
    Auditor,
    /// The node itself (scheduler, automatic archiving).
    System,
}

impl Role {
    pub fn name_zh(&self) -> &'static str {
        match self {
            Role::WindowClerk => "综合受理窗口",
            Role::DepartmentReviewer(_) => "职能部门",
            Role::IssuingWindow => "统一发证窗口",
            Role::HallCentre => "政务服务中心",
            Role::Supervisor => "电子监察",
            Role::Auditor => "审计(只读)",
            Role::System => "系统",
        }
    }

    /// The department of a reviewer.
    pub fn department(&self) -> Option<&DepartmentCode> {
        match self {
            Role::DepartmentReviewer(d) => Some(d),
            _ => None,
        }
    }
}

/// The person (or the node itself) behind an event.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize, JsonSchema)]
pub struct Actor {
    pub staff: StaffId,
    pub role: Role,
    pub node: NodeName,
}
