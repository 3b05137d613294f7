//! Case events: the append-only log a case is made of. Every type here is part of the stored
//! case document (a compatibility boundary): add variants and optional fields, never rename.

use chrono::NaiveDate;
use schemars::JsonSchema;
use serde::{Deserialize, Serialize};

use crate::actor::Actor;
use crate::codes::{DepartmentCode, MaterialCode};
use crate::hlc::Hlc;

/// Bounds on what one event may carry (TigerBeetle style: a limit on everything).
pub const REASONS_MAX: usize = 50;
pub const PROBLEMS_MAX: usize = 200;
pub const MATERIALS_PER_EVENT_MAX: usize = 200;
pub const TEXT_CHARS_MAX: usize = 2_000;

/// An event's identity: its HLC stamp, unique because each node's stamps strictly increase.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize, JsonSchema)]
#[serde(transparent)]
pub struct EventId(pub String);

impl std::fmt::Display for EventId {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(&self.0)
    }
}

/// One step in a case's life, stamped and signed by its actor.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize, JsonSchema)]
pub struct Event {
    pub hlc: Hlc,
    pub actor: Actor,
    pub kind: EventKind,
}

impl Event {
    pub fn id(&self) -> EventId {
        EventId(self.hlc.to_string())
    }
}

/// How an application reached the system (W3.1–W3.4).
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize, JsonSchema)]
#[serde(tag = "channel", rename_all = "snake_case")]
pub enum Channel {
    /// The county hall's comprehensive window (W3.2, W3.3).
    Hall,
    /// A township service point.
    Township,
    /// The online desk; needs a pre-acceptance result within 2 working days (W3.1).
    Online { portal_ref: String },
    /// By post: registered and dispatched by the hall with a handover record (W3.4).
    Mail { handover_record: String },
}

impl Channel {
    pub fn name_zh(&self) -> &'static str {
        match self {
            Channel::Hall => "大厅窗口",
            Channel::Township => "乡镇便民服务点",
            Channel::Online { .. } => "网上申报",
            Channel::Mail { .. } => "邮寄申报",
        }
    }
}

/// The state of one material as the window found it.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize, JsonSchema)]
#[serde(tag = "condition", content = "note", rename_all = "snake_case")]
pub enum Condition {
    /// Present and in lawful form.
    Present,
    Missing,
    /// Present but flawed; the note says how.
    Flawed(String),
}

#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize, JsonSchema)]
pub struct PresentedMaterial {
    pub code: MaterialCode,
    pub condition: Condition,
}

/// One problem of a correction notice or one-time notice: all are told at once (W3.5, W2.2).
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize, JsonSchema)]
pub struct Problem {
    /// The catalog material concerned, if any (W3.6: only listed materials may be demanded).
    pub material: Option<MaterialCode>,
    pub description: String,
}

/// One scanned or uploaded material: a reference to an attachment by its content hash (W3.2).
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize, JsonSchema)]
pub struct Scan {
    pub material: MaterialCode,
    /// BLAKE3 hash of the file, 64 lower-case hex digits.
    pub hash: String,
    pub bytes: u64,
    /// e.g. `application/pdf`, `image/jpeg`.
    pub media_type: String,
}

/// Who signed a tolerance commitment (T3.2).
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize, JsonSchema)]
#[serde(tag = "by", rename_all = "snake_case")]
pub enum Signatory {
    Applicant,
    /// An agent with specific written authorisation; `authorisation_ref` names the document.
    Agent {
        id_number: String,
        name: String,
        authorisation_ref: String,
    },
}

/// The applicant's signed promise to supply tolerable materials (承诺书, T3.2, T3.3).
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize, JsonSchema)]
pub struct Commitment {
    /// Tolerable materials to supply (names come from the item snapshot).
    pub materials: Vec<MaterialCode>,
    /// Last day to supply them; never after the promised completion date (T3.3).
    pub deadline: NaiveDate,
    /// Where to supply them (T3.1).
    pub window: String,
    pub signed_by: Signatory,
    /// The dishonesty list version the window checked (O4: re-validated after merge).
    pub dishonesty_list_version: u64,
}

/// Online pre-acceptance result (W3.1).
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize, JsonSchema)]
#[serde(tag = "result", rename_all = "snake_case")]
pub enum PreAcceptance {
    /// Passed; the applicant brings paper to the window when `paper_required`.
    Pass {
        paper_required: bool,
    },
    Correction {
        problems: Vec<Problem>,
    },
    Reject {
        reasons: Vec<String>,
    },
}

/// A decision's outcome (W5.1, T3.5, T3.6).
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize, JsonSchema)]
#[serde(tag = "outcome", rename_all = "snake_case")]
pub enum Outcome {
    /// 准予 / 出证.
    Approve { result: String },
    /// 不予审批, with reasons.
    Deny { reasons: Vec<String>, basis: DenialBasis },
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "snake_case")]
pub enum DenialBasis {
    /// Substantive review found the application not compliant (T3.5).
    Review,
    /// The tolerance commitment's deadline passed without the materials (T3.6): also lists the
    /// applicant as dishonest for one year.
    ToleranceLapsed,
}

/// How the result reached the applicant (W6.2).
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize, JsonSchema)]
#[serde(tag = "method", rename_all = "snake_case")]
pub enum Delivery {
    /// Collected at the issuing window; the applicant verified and signed.
    Pickup { signed_by: String },
    /// Posted; the postal receipt is attached to the result handover form.
    Mail { postal_receipt: String, address: String },
}

/// Supervision levels (W9): 0 normal, 1 warning, 2 yellow card, 3 red card.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "snake_case")]
pub enum Level {
    Normal,
    Warning,
    Yellow,
    Red,
}

impl Level {
    pub fn name_zh(self) -> &'static str {
        match self {
            Level::Normal => "正常",
            Level::Warning => "预警",
            Level::Yellow => "黄牌",
            Level::Red => "红牌",
        }
    }
}

/// The timed duties supervision watches (W9, DOMAIN-FACTS "Electronic supervision cards").
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize, JsonSchema)]
#[serde(tag = "duty", content = "department", rename_all = "snake_case")]
pub enum DutyKind {
    /// Decide within the promised / statutory limit from acceptance (W5.1).
    Decision,
    /// Paper reaches the department by 14:00 / 09:30 (W4.1).
    Handover(DepartmentCode),
    /// Tolerable materials supplied by the commitment's deadline (T3.6).
    ToleranceSupply,
    /// Tell the applicant what is incomplete within 5 working days (Licensing Law §32).
    IntakeAnswer,
    /// Issue the result within 10 working days of approval (Licensing Law §44).
    Issuing,
    /// Online pre-acceptance within 2 working days (W3.1).
    PreAcceptance,
    /// Report an upward item within 2 working days (W8).
    UpwardReport,
    /// Return the result handover form within 1 working day of mail delivery (W6.2).
    ResultFormReturn,
    /// Answer a hard consultation question within 2 working days (W2.3).
    ConsultationReply,
}

impl DutyKind {
    pub fn name_zh(&self) -> &'static str {
        match self {
            DutyKind::Decision => "办结时限",
            DutyKind::Handover(_) => "材料交接",
            DutyKind::ToleranceSupply => "容缺材料补交",
            DutyKind::IntakeAnswer => "五日内一次告知",
            DutyKind::Issuing => "十日内颁发证照",
            DutyKind::PreAcceptance => "网上预受理",
            DutyKind::UpwardReport => "上报件两日内上报",
            DutyKind::ResultFormReturn => "办理结果交接单返还",
            DutyKind::ConsultationReply => "疑难咨询两日内答复",
        }
    }

    pub fn rule(&self) -> &'static str {
        match self {
            DutyKind::Decision => "W5.1",
            DutyKind::Handover(_) => "W4.1",
            DutyKind::ToleranceSupply => "T3.6",
            DutyKind::IntakeAnswer => "W3.5",
            DutyKind::Issuing => "W6.1",
            DutyKind::PreAcceptance => "W3.1",
            DutyKind::UpwardReport => "W8",
            DutyKind::ResultFormReturn => "W6.2",
            DutyKind::ConsultationReply => "W2.3",
        }
    }
}

/// A conflict's identity: deterministic, derived from the kind and the event that raised it.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize, JsonSchema)]
#[serde(transparent)]
pub struct ConflictId(pub String);

impl std::fmt::Display for ConflictId {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(&self.0)
    }
}

/// What happened. Each variant names the rule it implements.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize, JsonSchema)]
#[serde(tag = "kind", rename_all = "snake_case")]
pub enum EventKind {
    /// 接件: the first event of every case (W3.1–W3.4).
    Received {
        channel: Channel,
        presented: Vec<PresentedMaterial>,
    },
    /// 网上预受理 result (W3.1).
    PreAccepted {
        result: PreAcceptance,
    },
    /// 受理: complete and lawful (W3.5).
    Accepted {
        presented: Vec<PresentedMaterial>,
    },
    /// 容缺受理 with the signed commitment (T1, T3.1–T3.4).
    ToleranceAccepted {
        presented: Vec<PresentedMaterial>,
        commitment: Commitment,
    },
    /// 补正通知 / 一次告知: every problem at once (W3.5, T2).
    CorrectionNotice {
        problems: Vec<Problem>,
    },
    /// The applicant brought corrected materials; intake starts over.
    Resubmitted {
        presented: Vec<PresentedMaterial>,
    },
    /// 不予受理决定, with reasons (W3.5).
    NotAccepted {
        reasons: Vec<String>,
    },
    /// Materials handed to a department (W4.1 paper, W4.2 electronic, W4.3 joint).
    HandedOver {
        department: DepartmentCode,
        paper: bool,
    },
    /// The department signed for the materials (W4.1, W4.2).
    HandoverSigned {
        department: DepartmentCode,
    },
    /// 特别程序 starts: the clock pauses (Licensing Law §45).
    SpecialProcedureStarted {
        reason: String,
    },
    SpecialProcedureEnded,
    /// 补齐补正 materials received: issues a 材料接收清单 (T3.5).
    SupplementReceived {
        materials: Vec<MaterialCode>,
    },
    /// 拟审批决定 after substantive review (T3.4).
    ProposedDecision {
        approve: bool,
        opinion: String,
    },
    /// 审批决定 (W5.1, T3.5, T3.6).
    Decided {
        outcome: Outcome,
    },
    /// The department hands the result to the issuing window; both sign the register (W6.1).
    ResultToIssuing {
        register_entry: String,
    },
    /// The issuing window told the applicant (W6.2).
    Notified {
        contact: String,
    },
    /// Picked up or posted (W6.2).
    Delivered {
        delivery: Delivery,
    },
    /// The result handover form went back to the department (W6.2, within 1 working day).
    ResultFormReturned,
    /// 归档 (W7).
    Archived,
    /// 上报件: completeness and form checked, opinion signed, reported upward (W8).
    ReportedUpward {
        opinion: String,
    },
    /// The applicant withdrew the application (撤回).
    Withdrawn {
        reason: String,
    },
    /// The hall centre consented to the case file leaving the hall (W5.2).
    FileRemovalConsented {
        reason: String,
    },
    /// Originals scanned and electronic materials uploaded (W3.2); the bytes live in the
    /// node's attachment store, the case holds their BLAKE3 hashes.
    MaterialsScanned {
        scans: Vec<Scan>,
    },
    /// A supervision card (W9).
    CardIssued {
        duty: DutyKind,
        level: Level,
    },
    /// A card withdrawn with a reason (W9).
    CardRevoked {
        duty: DutyKind,
        reason: String,
    },
    /// Satisfaction rating 1–5 (W10).
    Rated {
        score: u8,
    },
    /// A supervisor cleared a conflict raised after merge (O4).
    ConflictResolved {
        conflict: ConflictId,
        note: String,
    },
    /// The provincial platform's number, assigned later.
    ProvincialNumberAssigned {
        number: String,
    },
}

impl EventKind {
    /// A short Chinese name for timelines and error messages.
    pub fn name_zh(&self) -> &'static str {
        match self {
            EventKind::Received { .. } => "接件",
            EventKind::PreAccepted { .. } => "网上预受理",
            EventKind::Accepted { .. } => "受理",
            EventKind::ToleranceAccepted { .. } => "容缺受理",
            EventKind::CorrectionNotice { .. } => "补正通知",
            EventKind::Resubmitted { .. } => "补正后重新递交",
            EventKind::NotAccepted { .. } => "不予受理",
            EventKind::HandedOver { .. } => "材料移交",
            EventKind::HandoverSigned { .. } => "部门签收",
            EventKind::SpecialProcedureStarted { .. } => "特别程序开始",
            EventKind::SpecialProcedureEnded => "特别程序结束",
            EventKind::SupplementReceived { .. } => "补交材料接收",
            EventKind::ProposedDecision { .. } => "拟审批决定",
            EventKind::Decided { .. } => "审批决定",
            EventKind::ResultToIssuing { .. } => "结果转交发证窗口",
            EventKind::Notified { .. } => "通知申请人",
            EventKind::Delivered { .. } => "送达",
            EventKind::ResultFormReturned => "交接单返还部门",
            EventKind::Archived => "归档",
            EventKind::ReportedUpward { .. } => "上报",
            EventKind::Withdrawn { .. } => "撤回",
            EventKind::FileRemovalConsented { .. } => "同意案卷带离大厅",
            EventKind::MaterialsScanned { .. } => "材料扫描上传",
            EventKind::CardIssued { .. } => "红黄牌",
            EventKind::CardRevoked { .. } => "撤销红黄牌",
            EventKind::Rated { .. } => "满意度评价",
            EventKind::ConflictResolved { .. } => "冲突处理",
            EventKind::ProvincialNumberAssigned { .. } => "省平台编号",
        }
    }
}
