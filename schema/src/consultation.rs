//! Consultation (咨询辅导, rule W2): calling the department, the one-time notice, hard questions
//! answered within two working days, remote consultation and the consultation ledger (台账).
//!
//! - **W2.1** A consultation number makes the system call the department, which sends a
//!   counsellor at once: [`notify_department`] returns the call as data; the node delivers it.
//! - **W2.2** Pre-review checks only whether the materials are complete and in lawful form; the
//!   counsellor then fills a [`OneTimeNotice`] that states every problem at once. Its
//!   [`ProblemKind`] admits only those two kinds of problem: a pre-review is no substantive review.
//! - **W2.3** A hard question that cannot be answered on the spot is answered within
//!   [`HARD_QUESTION_WORKDAYS`] working days ([`hard_question_due`], [`ConsultationEntry::defer`]).
//! - **W2.4** A department not present in the hall consults remotely, in real time, by video,
//!   phone or online ([`Mode`], [`mode_for`]).
//! - **W2.5** Every consultation is a [`ConsultationEntry`] in the ledger, classified by
//!   [`Category`] and by [`Cause`] (the notice's three causes: information not published or not
//!   updated, incomplete standardisation, legacy or common hard problems), and analysed per period
//!   ([`analyse`]).
//!
//! The ledger records no personal data of the person asking (O5). Pure: no I/O, no clock.

use std::collections::BTreeMap;

use chrono::{NaiveDate, NaiveDateTime};
use schemars::JsonSchema;
use serde::{Deserialize, Serialize};

use crate::calendar::{CalendarError, Deadline, WorkCalendar};
use crate::codes::{DepartmentCode, ItemCode, NodeName, StaffId};
use crate::queue::{Ticket, TicketKind};

/// W2.3: hard questions are answered within this many working days.
pub const HARD_QUESTION_WORKDAYS: u32 = 2;
/// The longest entry id.
pub const ENTRY_ID_CHARS_MAX: usize = 128;
/// The longest ticket id referenced by an entry.
pub const TICKET_ID_CHARS_MAX: usize = 128;
/// The longest question recorded in the ledger (a brief registration, W2.5).
pub const QUESTION_CHARS_MAX: usize = 2_000;
/// The longest written answer.
pub const ANSWER_CHARS_MAX: usize = 4_000;
/// The most problems one notice may list.
pub const PROBLEMS_MAX: usize = 100;
/// The longest material name in a notice.
pub const MATERIAL_CHARS_MAX: usize = 200;
/// The longest problem description or requirement in a notice.
pub const PROBLEM_TEXT_CHARS_MAX: usize = 1_000;
/// How many items [`analyse`] lists as the top question generators.
pub const TOP_ITEMS: usize = 10;

/// W2.4: how the counsellor reached the applicant.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize, JsonSchema)]
pub enum Mode {
    /// At the consultation seat in the hall (现场).
    OnSite,
    /// A department not present consults in real time at a distance.
    Remote(RemoteChannel),
}

/// W2.4: the remote channels the notice names.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize, JsonSchema)]
pub enum RemoteChannel {
    /// 远程视频
    Video,
    /// 电话
    Phone,
    /// 网络
    Online,
}

impl Mode {
    pub fn label_zh(self) -> &'static str {
        match self {
            Mode::OnSite => "现场辅导",
            Mode::Remote(RemoteChannel::Video) => "远程视频辅导",
            Mode::Remote(RemoteChannel::Phone) => "电话辅导",
            Mode::Remote(RemoteChannel::Online) => "网络辅导",
        }
    }
}

/// W2.4: the mode for a department: on site when it is present in the hall, otherwise remote by
/// the given channel (which must then be named).
pub fn mode_for(department_on_site: bool, channel: Option<RemoteChannel>) -> Result<Mode, ConsultationError> {
    match (department_on_site, channel) {
        (true, _) => Ok(Mode::OnSite),
        (false, Some(channel)) => Ok(Mode::Remote(channel)),
        (false, None) => Err(ConsultationError::RemoteChannelRequired),
    }
}

/// W2.5: what the question was about.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize, JsonSchema)]
pub enum Category {
    /// 办事流程
    Process,
    /// 审批条件
    Conditions,
    /// 申报材料 / 申报要点
    Materials,
    /// 表格填写
    FormFilling,
    /// 材料预审
    PreReview,
    /// 疑难问题 (历史遗留、疑难复杂、产业政策、专业技术)
    HardQuestion,
}

impl Category {
    pub const ALL: [Category; 6] = [
        Category::Process,
        Category::Conditions,
        Category::Materials,
        Category::FormFilling,
        Category::PreReview,
        Category::HardQuestion,
    ];

    pub fn label_zh(self) -> &'static str {
        match self {
            Category::Process => "办事流程",
            Category::Conditions => "审批条件",
            Category::Materials => "申报材料",
            Category::FormFilling => "表格填写",
            Category::PreReview => "材料预审",
            Category::HardQuestion => "疑难问题",
        }
    }
}

/// W2.5: why the question arose, the three causes the notice asks departments to act on.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize, JsonSchema)]
pub enum Cause {
    /// 信息公开不到位或更新不及时: publish or update more.
    InformationNotPublic,
    /// 标准化编制不完善: refine the standardisation results.
    StandardIncomplete,
    /// 历史遗留和复杂、疑难共性问题: study a solution, issue a policy if needed.
    Legacy,
    /// 无 (an ordinary question with no systemic cause).
    None,
}

impl Cause {
    pub const ALL: [Cause; 4] =
        [Cause::InformationNotPublic, Cause::StandardIncomplete, Cause::Legacy, Cause::None];

    pub fn label_zh(self) -> &'static str {
        match self {
            Cause::InformationNotPublic => "信息公开不到位或更新不及时",
            Cause::StandardIncomplete => "标准化编制不完善",
            Cause::Legacy => "历史遗留或复杂疑难共性问题",
            Cause::None => "无",
        }
    }

    /// What the notice asks the department to do about it.
    pub fn remedy_zh(self) -> &'static str {
        match self {
            Cause::InformationNotPublic => "加大公开、更新力度",
            Cause::StandardIncomplete => "完善细化标准化内容和编制成果",
            Cause::Legacy => "研究提出解决方案,必要时出台政策文件并向社会公布",
            Cause::None => "",
        }
    }
}

/// W2.2: the only two things a pre-review judges.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize, JsonSchema)]
pub enum ProblemKind {
    /// 材料不齐全: a material is missing (the material must be named).
    Missing,
    /// 不符合法定形式: a material is not in lawful form.
    Form,
}

/// W2.2: one problem in a one-time notice.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
// Named apart from the case's `Problem` in the API's schemas.
#[schemars(rename = "ConsultationProblem")]
pub struct Problem {
    pub kind: ProblemKind,
    /// The material concerned (required for a missing material).
    pub material: Option<String>,
    /// What is wrong.
    pub description: String,
    /// What is required to put it right.
    pub requirement: String,
}

/// W2.2: the one-time notice (一次告知单): every problem, stated at once.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
pub struct OneTimeNotice {
    pub problems: Vec<Problem>,
}

impl OneTimeNotice {
    /// A checked notice.
    pub fn new(problems: Vec<Problem>) -> Result<Self, ConsultationError> {
        let notice = Self { problems };
        notice.validate()?;
        Ok(notice)
    }

    /// W2.2: at least one problem, each complete and within bounds.
    pub fn validate(&self) -> Result<(), ConsultationError> {
        if self.problems.is_empty() {
            return Err(ConsultationError::NoticeEmpty);
        }
        if self.problems.len() > PROBLEMS_MAX {
            return Err(ConsultationError::TooManyProblems { max: PROBLEMS_MAX });
        }
        for (i, p) in self.problems.iter().enumerate() {
            let index = i + 1;
            let material = p.material.as_deref().map(str::trim).filter(|m| !m.is_empty());
            if p.kind == ProblemKind::Missing && material.is_none() {
                return Err(ConsultationError::MaterialUnnamed { index });
            }
            if let Some(m) = material {
                check_len("材料名称", m, MATERIAL_CHARS_MAX)?;
            }
            if p.description.trim().is_empty() || p.requirement.trim().is_empty() {
                return Err(ConsultationError::ProblemIncomplete { index });
            }
            check_len("问题说明", &p.description, PROBLEM_TEXT_CHARS_MAX)?;
            check_len("补正要求", &p.requirement, PROBLEM_TEXT_CHARS_MAX)?;
        }
        Ok(())
    }
}

/// How the question was answered.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
pub enum Answer {
    /// Answered at once; a pre-review ends with a one-time notice when it found problems (W2.2).
    OnTheSpot { one_time_notice: Option<OneTimeNotice> },
    /// W2.3: a hard question, to be answered by `due`.
    Deferred { due: Deadline<NaiveDate> },
    /// A deferred question answered later; `due` is kept to judge lateness.
    Answered { at: NaiveDateTime, text: String, due: Deadline<NaiveDate> },
}

/// W2.5: one line of the consultation ledger.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
pub struct ConsultationEntry {
    /// Unique in the network (e.g. prefixed by the node).
    pub id: String,
    /// The consultation number's id ([`Ticket::id`]), when the applicant took one.
    pub ticket: Option<String>,
    pub node: NodeName,
    /// When the question was asked.
    pub at: NaiveDateTime,
    /// The item asked about, when there is one.
    pub item: Option<ItemCode>,
    pub department: DepartmentCode,
    pub counsellor: StaffId,
    pub mode: Mode,
    /// A brief record of the question.
    pub question: String,
    pub category: Category,
    pub cause: Cause,
    pub answer: Answer,
}

impl ConsultationEntry {
    /// Checks the entry's fields and bounds (W2.2, W2.3, W2.5).
    pub fn validate(&self) -> Result<(), ConsultationError> {
        if self.id.trim().is_empty() {
            return Err(ConsultationError::IdMissing);
        }
        check_len("登记编号", &self.id, ENTRY_ID_CHARS_MAX)?;
        if let Some(ticket) = &self.ticket {
            check_len("咨询业务号", ticket, TICKET_ID_CHARS_MAX)?;
        }
        if self.question.trim().is_empty() {
            return Err(ConsultationError::QuestionMissing);
        }
        check_len("咨询内容", &self.question, QUESTION_CHARS_MAX)?;
        match &self.answer {
            Answer::OnTheSpot { one_time_notice: Some(notice) } => notice.validate(),
            Answer::OnTheSpot { one_time_notice: None } => Ok(()),
            Answer::Deferred { due } => {
                if due.at < self.at.date() {
                    Err(ConsultationError::DueBeforeQuestion)
                } else {
                    Ok(())
                }
            }
            Answer::Answered { at, text, due } => {
                if *at < self.at {
                    return Err(ConsultationError::AnswerBeforeQuestion);
                }
                if due.at < self.at.date() {
                    return Err(ConsultationError::DueBeforeQuestion);
                }
                check_answer_text(text)
            }
        }
    }

    /// W2.3: the question cannot be answered on the spot; it is due within two working days of
    /// the day it was asked. Only an on-the-spot entry without a one-time notice can be deferred
    /// (a notice already given stays on record; register the hard question as its own entry).
    pub fn defer(&mut self, cal: &WorkCalendar) -> Result<Deadline<NaiveDate>, ConsultationError> {
        if !matches!(self.answer, Answer::OnTheSpot { one_time_notice: None }) {
            return Err(ConsultationError::CannotDefer);
        }
        let due = hard_question_due(self.at, cal)?;
        self.answer = Answer::Deferred { due };
        Ok(due)
    }

    /// W2.3: records the answer to a deferred question. A late answer is accepted (and counted
    /// as late by [`analyse`]).
    pub fn answer(&mut self, at: NaiveDateTime, text: String) -> Result<(), ConsultationError> {
        let Answer::Deferred { due } = self.answer else {
            return Err(ConsultationError::NotDeferred);
        };
        if at < self.at {
            return Err(ConsultationError::AnswerBeforeQuestion);
        }
        check_answer_text(&text)?;
        self.answer = Answer::Answered { at, text, due };
        Ok(())
    }

    /// W2.3: a deferred question still unanswered after its due day.
    pub fn overdue(&self, today: NaiveDate) -> bool {
        matches!(self.answer, Answer::Deferred { due } if today > due.at)
    }

    /// W2.3: answered after its due day.
    pub fn answered_late(&self) -> bool {
        matches!(&self.answer, Answer::Answered { at, due, .. } if at.date() > due.at)
    }

    /// A hard question: classified so, or one whose answer had to be deferred (W2.3).
    pub fn is_hard(&self) -> bool {
        self.category == Category::HardQuestion
            || matches!(self.answer, Answer::Deferred { .. } | Answer::Answered { .. })
    }
}

fn check_answer_text(text: &str) -> Result<(), ConsultationError> {
    if text.trim().is_empty() {
        return Err(ConsultationError::AnswerMissing);
    }
    check_len("答复内容", text, ANSWER_CHARS_MAX)
}

fn check_len(field: &'static str, text: &str, max: usize) -> Result<(), ConsultationError> {
    if text.chars().count() > max {
        return Err(ConsultationError::TooLong { field, max });
    }
    Ok(())
}

/// W2.3: the day a hard question asked at `asked` must be answered by: the second working day
/// after the day it was asked (that day not counted).
pub fn hard_question_due(
    asked: NaiveDateTime,
    cal: &WorkCalendar,
) -> Result<Deadline<NaiveDate>, ConsultationError> {
    Ok(cal.add_workdays(asked.date(), HARD_QUESTION_WORKDAYS)?)
}

/// W2.1: the call to a department that a consultation number triggers, for the node to deliver.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
pub struct DepartmentCall {
    pub department: DepartmentCode,
    pub ticket: Ticket,
    pub at: NaiveDateTime,
    /// W2.4: the department is not in the hall and must consult remotely, in real time.
    pub remote: bool,
}

impl DepartmentCall {
    /// The text shown to the department.
    pub fn message_zh(&self) -> String {
        let how = if self.remote {
            "请即时通过远程视频、电话或网络提供实时咨询辅导"
        } else {
            "请即时选派辅导员到指定辅导席"
        };
        format!("咨询业务号 {}(节点 {}):{how}", self.ticket.display_number(), self.ticket.node)
    }
}

/// W2.1: a consultation number calls the department at once (W2.4: remotely when it is not in
/// the hall). An intake number calls nobody.
pub fn notify_department(
    ticket: &Ticket,
    department: DepartmentCode,
    at: NaiveDateTime,
    department_on_site: bool,
) -> Result<DepartmentCall, ConsultationError> {
    if ticket.kind != TicketKind::Consultation {
        return Err(ConsultationError::NotAConsultationTicket);
    }
    Ok(DepartmentCall { department, ticket: ticket.clone(), at, remote: !department_on_site })
}

/// W2.5: one item's figures.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
pub struct ItemAnalysis {
    /// `None` groups questions not about any particular item.
    pub item: Option<ItemCode>,
    pub count: u32,
    pub by_category: BTreeMap<Category, u32>,
    pub by_cause: BTreeMap<Cause, u32>,
    pub hard_questions: u32,
    pub answered_late: u32,
}

/// W2.5: how many questions an item generated.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
pub struct ItemCount {
    pub item: ItemCode,
    pub count: u32,
}

/// W2.5: the periodic analysis of the ledger.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
pub struct Analysis {
    /// First day counted.
    pub from: Option<NaiveDate>,
    /// Last day counted.
    pub to: Option<NaiveDate>,
    pub total: u32,
    /// Per item, in item-code order (questions about no item first).
    pub per_item: Vec<ItemAnalysis>,
    pub by_category: BTreeMap<Category, u32>,
    pub by_cause: BTreeMap<Cause, u32>,
    /// W2.4: consultations at the seat in the hall.
    pub on_site: u32,
    /// W2.4: remote consultations per channel.
    pub remote: BTreeMap<RemoteChannel, u32>,
    /// The items with the most questions: count descending, then item code (at most [`TOP_ITEMS`]).
    pub top_items: Vec<ItemCount>,
    /// W2.3: hard questions (classified so or deferred).
    pub hard_questions: u32,
    /// W2.3: deferred questions answered after their due day.
    pub answered_late: u32,
    /// W2.3: deferred questions still unanswered after their due day, as of `to`.
    pub open_overdue: u32,
}

/// W2.5: analyses the entries asked between `from` and `to` (both days included). Deterministic:
/// the order of `entries` does not matter. Entry ids are assumed unique (the ledger merges by id).
pub fn analyse(entries: &[ConsultationEntry], from: NaiveDate, to: NaiveDate) -> Analysis {
    let mut analysis = Analysis { from: Some(from), to: Some(to), ..Analysis::default() };
    let mut per_item: BTreeMap<Option<&ItemCode>, ItemAnalysis> = BTreeMap::new();
    for entry in entries {
        let day = entry.at.date();
        if day < from || day > to {
            continue;
        }
        let hard = entry.is_hard();
        let late = entry.answered_late();
        analysis.total = analysis.total.saturating_add(1);
        bump(&mut analysis.by_category, entry.category);
        bump(&mut analysis.by_cause, entry.cause);
        match entry.mode {
            Mode::OnSite => analysis.on_site = analysis.on_site.saturating_add(1),
            Mode::Remote(channel) => bump(&mut analysis.remote, channel),
        }
        if hard {
            analysis.hard_questions = analysis.hard_questions.saturating_add(1);
        }
        if late {
            analysis.answered_late = analysis.answered_late.saturating_add(1);
        }
        if entry.overdue(to) {
            analysis.open_overdue = analysis.open_overdue.saturating_add(1);
        }
        let stats = per_item
            .entry(entry.item.as_ref())
            .or_insert_with(|| ItemAnalysis { item: entry.item.clone(), ..ItemAnalysis::default() });
        stats.count = stats.count.saturating_add(1);
        bump(&mut stats.by_category, entry.category);
        bump(&mut stats.by_cause, entry.cause);
        if hard {
            stats.hard_questions = stats.hard_questions.saturating_add(1);
        }
        if late {
            stats.answered_late = stats.answered_late.saturating_add(1);
        }
    }
    analysis.per_item = per_item.into_values().collect();
    let mut top: Vec<ItemCount> = analysis
        .per_item
        .iter()
        .filter_map(|s| s.item.as_ref().map(|item| ItemCount { item: item.clone(), count: s.count }))
        .collect();
    top.sort_by(|a, b| b.count.cmp(&a.count).then_with(|| a.item.cmp(&b.item)));
    top.truncate(TOP_ITEMS);
    analysis.top_items = top;
    analysis
}

fn bump<K: Ord>(map: &mut BTreeMap<K, u32>, key: K) {
    let n = map.entry(key).or_insert(0);
    *n = n.saturating_add(1);
}

/// Everything the consultation ledger refuses, with a message for the counsellor.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum ConsultationError {
    #[error("咨询登记缺少编号")]
    IdMissing,
    #[error("{field}过长(最多 {max} 个字符)")]
    TooLong { field: &'static str, max: usize },
    #[error("请简要登记咨询内容")]
    QuestionMissing,
    #[error("一次告知单至少须列明一个问题")]
    NoticeEmpty,
    #[error("一次告知单所列问题过多(最多 {max} 个)")]
    TooManyProblems { max: usize },
    #[error("一次告知单第 {index} 项缺少所缺材料的名称")]
    MaterialUnnamed { index: usize },
    #[error("一次告知单第 {index} 项须写明存在的问题和相关要求")]
    ProblemIncomplete { index: usize },
    #[error("受理业务号不通知部门辅导,请领取咨询业务号")]
    NotAConsultationTicket,
    #[error("部门不在大厅驻场,须选择远程视频、电话或网络方式实时辅导")]
    RemoteChannelRequired,
    #[error("只有当场未出具一次告知单的咨询才能转为限期答复")]
    CannotDefer,
    #[error("该咨询不是待答复的疑难问题")]
    NotDeferred,
    #[error("答复时间早于咨询时间")]
    AnswerBeforeQuestion,
    #[error("答复期限早于咨询日期")]
    DueBeforeQuestion,
    #[error("请填写答复内容")]
    AnswerMissing,
    #[error("无法计算答复期限:{0}")]
    Calendar(#[from] CalendarError),
}

impl ConsultationError {
    /// A stable code for logs, APIs and tests.
    pub fn code(&self) -> &'static str {
        match self {
            ConsultationError::IdMissing => "consultation.id_missing",
            ConsultationError::TooLong { .. } => "consultation.too_long",
            ConsultationError::QuestionMissing => "consultation.question_missing",
            ConsultationError::NoticeEmpty => "consultation.notice_empty",
            ConsultationError::TooManyProblems { .. } => "consultation.too_many_problems",
            ConsultationError::MaterialUnnamed { .. } => "consultation.material_unnamed",
            ConsultationError::ProblemIncomplete { .. } => "consultation.problem_incomplete",
            ConsultationError::NotAConsultationTicket => "consultation.not_a_consultation_ticket",
            ConsultationError::RemoteChannelRequired => "consultation.remote_channel_required",
            ConsultationError::CannotDefer => "consultation.cannot_defer",
            ConsultationError::NotDeferred => "consultation.not_deferred",
            ConsultationError::AnswerBeforeQuestion => "consultation.answer_before_question",
            ConsultationError::DueBeforeQuestion => "consultation.due_before_question",
            ConsultationError::AnswerMissing => "consultation.answer_missing",
            ConsultationError::Calendar(_) => "consultation.calendar",
        }
    }

    /// The rule the refusal enforces, if any.
    pub fn rule(&self) -> Option<&'static str> {
        match self {
            ConsultationError::NotAConsultationTicket => Some("W2.1"),
            ConsultationError::NoticeEmpty
            | ConsultationError::TooManyProblems { .. }
            | ConsultationError::MaterialUnnamed { .. }
            | ConsultationError::ProblemIncomplete { .. } => Some("W2.2"),
            ConsultationError::CannotDefer
            | ConsultationError::NotDeferred
            | ConsultationError::AnswerBeforeQuestion
            | ConsultationError::DueBeforeQuestion
            | ConsultationError::AnswerMissing
            | ConsultationError::Calendar(_) => Some("W2.3"),
            ConsultationError::RemoteChannelRequired => Some("W2.4"),
            ConsultationError::IdMissing
            | ConsultationError::TooLong { .. }
            | ConsultationError::QuestionMissing => Some("W2.5"),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::queue::TicketDispenser;
    use proptest::prelude::*;

    fn d(s: &str) -> NaiveDate {
        NaiveDate::parse_from_str(s, "%Y-%m-%d").expect("test date")
    }
    fn dt(s: &str) -> NaiveDateTime {
        NaiveDateTime::parse_from_str(s, "%Y-%m-%d %H:%M").expect("test datetime")
    }

    fn entry(id: &str, at: &str, item: Option<&str>, category: Category, cause: Cause) -> ConsultationEntry {
        ConsultationEntry {
            id: id.into(),
            ticket: None,
            node: NodeName::new("hall"),
            at: dt(at),
            item: item.map(ItemCode::new),
            department: DepartmentCode::new("HF"),
            counsellor: StaffId::new("zhang.san"),
            mode: Mode::OnSite,
            question: "公积金提取需要哪些材料?".into(),
            category,
            cause,
            answer: Answer::OnTheSpot { one_time_notice: None },
        }
    }

    fn missing(material: &str) -> Problem {
        Problem {
            kind: ProblemKind::Missing,
            material: Some(material.into()),
            description: "未提供".into(),
            requirement: "请提供原件及复印件一份".into(),
        }
    }

    #[test]
    fn consultation_number_calls_the_department() {
        // rule W2.1: a consultation number notifies the department at once, as data.
        let mut dispenser = TicketDispenser::new(NodeName::new("hall"), d("2026-03-02"));
        let c = dispenser.issue(TicketKind::Consultation, d("2026-03-02")).expect("issued");
        let call = notify_department(&c, DepartmentCode::new("HF"), dt("2026-03-02 09:01"), true)
            .expect("a consultation number");
        assert_eq!(call.department, DepartmentCode::new("HF"));
        assert_eq!(call.ticket, c);
        assert_eq!(call.at, dt("2026-03-02 09:01"));
        assert!(!call.remote);
        assert!(call.message_zh().contains("C0001"));
        assert!(call.message_zh().contains("辅导席"));

        let a = dispenser.issue(TicketKind::Intake, d("2026-03-02")).expect("issued");
        let err = notify_department(&a, DepartmentCode::new("HF"), dt("2026-03-02 09:01"), true)
            .expect_err("intake numbers call nobody");
        assert_eq!(err.code(), "consultation.not_a_consultation_ticket");
        assert_eq!(err.rule(), Some("W2.1"));
    }

    #[test]
    fn absent_department_consults_remotely() {
        // rule W2.4: a department not in the hall consults in real time by video, phone or online.
        let c = TicketDispenser::new(NodeName::new("town-a"), d("2026-03-02"))
            .issue(TicketKind::Consultation, d("2026-03-02"))
            .expect("issued");
        let call =
            notify_department(&c, DepartmentCode::new("TAX"), dt("2026-03-02 09:01"), false).expect("called");
        assert!(call.remote);
        assert!(call.message_zh().contains("远程视频"));

        assert_eq!(mode_for(true, None), Ok(Mode::OnSite));
        assert_eq!(mode_for(false, Some(RemoteChannel::Video)), Ok(Mode::Remote(RemoteChannel::Video)));
        let err = mode_for(false, None).expect_err("channel required");
        assert_eq!(err.code(), "consultation.remote_channel_required");
        assert_eq!(err.rule(), Some("W2.4"));

        let mut e = entry("e1", "2026-03-02 09:05", Some("TAX-1"), Category::Process, Cause::None);
        for channel in [RemoteChannel::Video, RemoteChannel::Phone, RemoteChannel::Online] {
            e.mode = Mode::Remote(channel);
            assert_eq!(e.validate(), Ok(()));
        }
        assert_eq!(Mode::Remote(RemoteChannel::Phone).label_zh(), "电话辅导");
    }

    #[test]
    fn one_time_notice_states_every_problem() {
        // rule W2.2: at least one problem; each names what is wrong and what is required.
        let notice = OneTimeNotice::new(vec![
            missing("身份证"),
            Problem {
                kind: ProblemKind::Form,
                material: Some("购房合同".into()),
                description: "缺少签章".into(),
                requirement: "须加盖售房单位公章".into(),
            },
        ])
        .expect("valid");
        assert_eq!(notice.problems.len(), 2);

        let err = OneTimeNotice::new(vec![]).expect_err("empty");
        assert_eq!(err.code(), "consultation.notice_empty");
        assert_eq!(err.rule(), Some("W2.2"));

        let mut unnamed = missing("x");
        unnamed.material = Some(" ".into());
        let err = OneTimeNotice::new(vec![missing("身份证"), unnamed]).expect_err("unnamed");
        assert_eq!(err, ConsultationError::MaterialUnnamed { index: 2 });
        assert_eq!(err.to_string(), "一次告知单第 2 项缺少所缺材料的名称");

        let mut no_requirement = missing("户口簿");
        no_requirement.requirement = String::new();
        assert_eq!(
            OneTimeNotice::new(vec![no_requirement]).map_err(|e| e.code()),
            Err("consultation.problem_incomplete")
        );
        // A form problem may concern the application as a whole.
        let general = Problem {
            kind: ProblemKind::Form,
            material: None,
            description: "申请表未签字".into(),
            requirement: "申请人本人签字".into(),
        };
        assert!(OneTimeNotice::new(vec![general]).is_ok());
        assert_eq!(
            OneTimeNotice::new(vec![missing("a"); PROBLEMS_MAX + 1]).map_err(|e| e.code()),
            Err("consultation.too_many_problems")
        );
        let mut long = missing("a");
        long.description = "长".repeat(PROBLEM_TEXT_CHARS_MAX + 1);
        assert_eq!(OneTimeNotice::new(vec![long]).map_err(|e| e.code()), Err("consultation.too_long"));

        // The entry checks its notice too.
        let mut e = entry("e1", "2026-03-02 09:05", Some("HF-1"), Category::PreReview, Cause::None);
        e.answer = Answer::OnTheSpot { one_time_notice: Some(OneTimeNotice { problems: vec![] }) };
        assert_eq!(e.validate().map_err(|e| e.code()), Err("consultation.notice_empty"));
        e.answer = Answer::OnTheSpot { one_time_notice: Some(notice) };
        assert_eq!(e.validate(), Ok(()));
    }

    #[test]
    fn hard_question_due_in_two_working_days_across_national_day() {
        // rule W2.3: asked Wed 2026-09-30; Oct 1-7 are holidays, so the two working days are
        // Thu Oct 8 and Fri Oct 9.
        let cal = WorkCalendar::builtin();
        let due = hard_question_due(dt("2026-09-30 16:45"), &cal).expect("in range");
        assert_eq!(due.at, d("2026-10-09"));
        assert!(!due.provisional);
        // Asked Fri Oct 9: Sat Oct 10 is a make-up working day, so due Mon Oct 12.
        let due = hard_question_due(dt("2026-10-09 10:00"), &cal).expect("in range");
        assert_eq!(due.at, d("2026-10-12"));
        // Asked on a holiday (a remote consultation): the day itself is not counted either way.
        let due = hard_question_due(dt("2026-10-03 10:00"), &cal).expect("in range");
        assert_eq!(due.at, d("2026-10-09"));
        // Beyond the loaded years: flagged provisional.
        let due = hard_question_due(dt("2026-12-31 10:00"), &cal).expect("in range");
        assert_eq!(due.at, d("2027-01-04"));
        assert!(due.provisional);
        let err = hard_question_due(NaiveDateTime::MAX, &cal).expect_err("end of time");
        assert_eq!(err.code(), "consultation.calendar");
    }

    #[test]
    fn defer_answer_and_overdue() {
        // rule W2.3: deferred, overdue the day after the due day, answered late or in time.
        let cal = WorkCalendar::builtin();
        let mut e = entry("e1", "2026-09-30 16:45", Some("RE-7"), Category::HardQuestion, Cause::Legacy);
        let due = e.defer(&cal).expect("deferred");
        assert_eq!(due.at, d("2026-10-09"));
        assert_eq!(e.answer, Answer::Deferred { due });
        assert_eq!(e.validate(), Ok(()));
        assert!(!e.overdue(d("2026-10-09")));
        assert!(e.overdue(d("2026-10-10")));
        assert_eq!(e.defer(&cal).map_err(|e| e.code()), Err("consultation.cannot_defer"));

        let mut in_time = e.clone();
        assert_eq!(
            in_time.answer(dt("2026-09-30 16:00"), "答复".into()).map_err(|e| e.code()),
            Err("consultation.answer_before_question")
        );
        assert_eq!(
            in_time.answer(dt("2026-10-09 17:00"), " ".into()).map_err(|e| e.code()),
            Err("consultation.answer_missing")
        );
        in_time.answer(dt("2026-10-09 17:00"), "按历史遗留问题处理意见办理".into()).expect("answered");
        assert!(!in_time.answered_late());
        assert!(!in_time.overdue(d("2026-12-01")));
        assert_eq!(in_time.validate(), Ok(()));
        let err = in_time.answer(dt("2026-10-09 18:00"), "再答".into()).expect_err("not deferred");
        assert_eq!(err.code(), "consultation.not_deferred");
        assert_eq!(err.rule(), Some("W2.3"));

        let mut late = e.clone();
        late.answer(dt("2026-10-10 09:00"), "答复".into()).expect("answered late");
        assert!(late.answered_late());

        // A pre-review that already gave a notice is not turned into a deferred question.
        let mut noticed = entry("e2", "2026-09-30 10:00", Some("RE-7"), Category::PreReview, Cause::None);
        noticed.answer = Answer::OnTheSpot {
            one_time_notice: Some(OneTimeNotice::new(vec![missing("身份证")]).expect("valid")),
        };
        assert_eq!(noticed.defer(&cal).map_err(|e| e.code()), Err("consultation.cannot_defer"));
    }

    #[test]
    fn entry_validation() {
        // rule W2.5: each consultation is briefly registered, within bounds.
        let ok = entry("e1", "2026-03-02 09:05", None, Category::Process, Cause::None);
        assert_eq!(ok.validate(), Ok(()));
        let mut e = ok.clone();
        e.id = " ".into();
        assert_eq!(e.validate().map_err(|e| e.code()), Err("consultation.id_missing"));
        let mut e = ok.clone();
        e.question = String::new();
        let err = e.validate().expect_err("no question");
        assert_eq!((err.code(), err.rule()), ("consultation.question_missing", Some("W2.5")));
        let mut e = ok.clone();
        e.question = "问".repeat(QUESTION_CHARS_MAX);
        assert_eq!(e.validate(), Ok(()));
        e.question.push('问');
        let err = e.validate().expect_err("too long");
        assert_eq!(err.to_string(), format!("咨询内容过长(最多 {QUESTION_CHARS_MAX} 个字符)"));
        let mut e = ok.clone();
        e.answer = Answer::Answered {
            at: dt("2026-03-02 09:00"),
            text: "答".into(),
            due: Deadline { at: d("2026-03-04"), provisional: false },
        };
        assert_eq!(e.validate().map_err(|e| e.code()), Err("consultation.answer_before_question"));
        let mut e = ok.clone();
        e.answer = Answer::Deferred { due: Deadline { at: d("2026-03-01"), provisional: false } };
        assert_eq!(e.validate().map_err(|e| e.code()), Err("consultation.due_before_question"));
        let mut e = ok;
        e.ticket = Some("t".repeat(TICKET_ID_CHARS_MAX + 1));
        assert_eq!(e.validate().map_err(|e| e.code()), Err("consultation.too_long"));
    }

    #[test]
    fn analysis_counts_and_ranks() {
        // rule W2.5: classified and analysed: which items generate most questions, and why.
        let cal = WorkCalendar::builtin();
        let mut entries = vec![
            entry("1", "2026-03-02 09:00", Some("HF-1"), Category::Materials, Cause::InformationNotPublic),
            entry("2", "2026-03-02 10:00", Some("HF-1"), Category::Materials, Cause::InformationNotPublic),
            entry("3", "2026-03-03 10:00", Some("HF-1"), Category::FormFilling, Cause::StandardIncomplete),
            entry("4", "2026-03-03 11:00", Some("RE-7"), Category::Conditions, Cause::None),
            entry("5", "2026-03-04 11:00", Some("RE-7"), Category::HardQuestion, Cause::Legacy),
            entry("6", "2026-03-04 11:00", Some("AA-0"), Category::Process, Cause::None),
            entry("7", "2026-03-04 12:00", Some("ZZ-9"), Category::Process, Cause::None),
            entry("8", "2026-03-05 12:00", None, Category::Process, Cause::None),
            // Outside the period.
            entry("9", "2026-03-01 12:00", Some("ZZ-9"), Category::Process, Cause::None),
            entry("10", "2026-03-07 00:00", Some("ZZ-9"), Category::Process, Cause::None),
        ];
        entries[3].mode = Mode::Remote(RemoteChannel::Phone);
        // 5: hard question deferred (due 03-06) and answered late on 03-09.
        entries[4].defer(&cal).expect("deferred");
        entries[4].answer(dt("2026-03-09 09:00"), "答复".into()).expect("answered");
        // 7: deferred, still open, due 03-06: not yet overdue on 03-06, overdue after it.
        entries[6].defer(&cal).expect("deferred");

        let a = analyse(&entries, d("2026-03-02"), d("2026-03-06"));
        assert_eq!(a.total, 8);
        assert_eq!(a.by_category[&Category::Materials], 2);
        assert_eq!(a.by_category[&Category::Process], 3);
        assert_eq!(a.by_cause[&Cause::InformationNotPublic], 2);
        assert_eq!(a.by_cause[&Cause::None], 4);
        assert_eq!(a.remote[&RemoteChannel::Phone], 1);
        assert_eq!(a.remote.len(), 1);
        assert_eq!(a.on_site, 7);
        assert_eq!(a.hard_questions, 2);
        assert_eq!(a.answered_late, 1);
        assert_eq!(a.open_overdue, 0);
        let top: Vec<(&str, u32)> = a.top_items.iter().map(|t| (t.item.as_str(), t.count)).collect();
        assert_eq!(top, vec![("HF-1", 3), ("RE-7", 2), ("AA-0", 1), ("ZZ-9", 1)]);
        assert_eq!(a.per_item.len(), 5);
        assert_eq!(a.per_item[0].item, None);
        let hf = &a.per_item[2];
        assert_eq!(hf.item, Some(ItemCode::new("HF-1")));
        assert_eq!(hf.count, 3);
        assert_eq!(hf.by_category[&Category::FormFilling], 1);
        assert_eq!(hf.by_cause[&Cause::StandardIncomplete], 1);
        let re = &a.per_item[3];
        assert_eq!(re.item, Some(ItemCode::new("RE-7")));
        assert_eq!((re.hard_questions, re.answered_late), (1, 1));

        let later = analyse(&entries, d("2026-03-02"), d("2026-03-09"));
        assert_eq!(later.open_overdue, 1);
        assert_eq!(later.total, 9);

        // Serialisable, and the order of the ledger does not matter.
        let json = serde_json::to_string(&a).expect("serialise");
        assert_eq!(serde_json::from_str::<Analysis>(&json).expect("deserialise"), a);
        let mut reversed = entries.clone();
        reversed.reverse();
        assert_eq!(analyse(&reversed, d("2026-03-02"), d("2026-03-06")), a);
        assert_eq!(analyse(&entries, d("2026-03-06"), d("2026-03-02")).total, 0);
    }

    #[test]
    fn top_items_are_bounded() {
        // rule W2.5
        let entries: Vec<ConsultationEntry> = (0..25)
            .map(|i| {
                entry(
                    &i.to_string(),
                    "2026-03-02 09:00",
                    Some(&format!("I{:02}", i % 15)),
                    Category::Process,
                    Cause::None,
                )
            })
            .collect();
        let a = analyse(&entries, d("2026-03-02"), d("2026-03-02"));
        assert_eq!(a.top_items.len(), TOP_ITEMS);
        assert_eq!(a.top_items[0].item.as_str(), "I00");
        assert_eq!(a.top_items[0].count, 2);
        assert_eq!(a.top_items[9].item.as_str(), "I09");
        assert_eq!(a.per_item.len(), 15);
    }

    #[test]
    fn entry_serde_round_trip() {
        let cal = WorkCalendar::builtin();
        let mut e = entry("e1", "2026-09-30 16:45", Some("RE-7"), Category::HardQuestion, Cause::Legacy);
        e.mode = Mode::Remote(RemoteChannel::Video);
        e.ticket = Some("hall-20260930-C0007".into());
        e.defer(&cal).expect("deferred");
        let json = serde_json::to_string(&e).expect("serialise");
        assert_eq!(serde_json::from_str::<ConsultationEntry>(&json).expect("deserialise"), e);
    }

    fn category() -> impl Strategy<Value = Category> {
        proptest::sample::select(Category::ALL.to_vec())
    }
    fn cause() -> impl Strategy<Value = Cause> {
        proptest::sample::select(Cause::ALL.to_vec())
    }

    proptest! {
        #[test]
        fn analysis_is_consistent(
            rows in proptest::collection::vec((0i64..20, 0usize..6, category(), cause(), any::<bool>()), 0..80),
            start in 0i64..20,
            len in 0i64..20,
        ) {
            // rule W2.5: the per-item, per-category and per-cause figures add up to the total,
            // whatever the ledger holds.
            let cal = WorkCalendar::builtin();
            let base = dt("2026-09-20 09:00");
            let entries: Vec<ConsultationEntry> = rows
                .iter()
                .enumerate()
                .map(|(i, (day, item, cat, cause, defer))| {
                    let at = base + chrono::TimeDelta::days(*day);
                    let item = (*item > 0).then(|| format!("I{item}"));
                    let mut e = entry(&i.to_string(), "2026-09-20 09:00", item.as_deref(), *cat, *cause);
                    e.at = at;
                    if *defer {
                        e.defer(&cal).expect("deferred");
                    }
                    e
                })
                .collect();
            let from = base.date() + chrono::TimeDelta::days(start);
            let to = from + chrono::TimeDelta::days(len);
            let a = analyse(&entries, from, to);
            let in_range = entries.iter().filter(|e| e.at.date() >= from && e.at.date() <= to).count();
            prop_assert_eq!(a.total as usize, in_range);
            prop_assert_eq!(a.per_item.iter().map(|s| s.count).sum::<u32>(), a.total);
            prop_assert_eq!(a.by_category.values().sum::<u32>(), a.total);
            prop_assert_eq!(a.by_cause.values().sum::<u32>(), a.total);
            prop_assert_eq!(a.remote.values().sum::<u32>() + a.on_site, a.total);
            prop_assert!(a.hard_questions <= a.total);
            prop_assert!(a.open_overdue <= a.hard_questions);
            for pair in a.top_items.windows(2) {
                prop_assert!(pair[0].count > pair[1].count
                    || (pair[0].count == pair[1].count && pair[0].item < pair[1].item));
            }
            for e in &entries {
                // rule W2.3: a deferred question's due day is two working days on.
                if let Answer::Deferred { due } = e.answer {
                    prop_assert_eq!(cal.workdays_between(e.at.date(), due.at).expect("in range").at, 2);
                }
            }
        }

        #[test]
        fn validation_never_panics(question in ".{0,50}", id in ".{0,10}", desc in ".{0,10}", mat in proptest::option::of(".{0,5}")) {
            // rule W2.2, rule W2.5
            let mut e = entry("x", "2026-03-02 09:00", None, Category::PreReview, Cause::None);
            e.id = id;
            e.question = question;
            e.answer = Answer::OnTheSpot {
                one_time_notice: Some(OneTimeNotice {
                    problems: vec![Problem { kind: ProblemKind::Missing, material: mat, description: desc, requirement: "r".into() }],
                }),
            };
            let _ = e.validate();
        }
    }
}
