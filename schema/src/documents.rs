//! Printable documents as data (办件文书).
//!
//! Every form the hall hands out or files is built here from a case's header and folded state
//! as a [`Document`]: a title, the case number, the day of issue, its copies (联), labelled
//! fields, lists, paragraphs of legal text and signature lines. Rendering (an A4 HTML page) is
//! someone else's job; this module decides only *what* each form says, so that the rule behind
//! it can be tested on the data.
//!
//! | kind | form | rule |
//! |---|---|---|
//! | [`DocumentKind::CorrectionNotice`] | 补正通知书(一次告知单) | W3.5, W2.2, Licensing Law §32 |
//! | [`DocumentKind::NonAcceptance`] | 不予受理决定书 | W3.5 |
//! | [`DocumentKind::IntakeReceipt`] | 材料受理及接收凭证 | W3.2 |
//! | [`DocumentKind::ToleranceReceipt`] | 容缺受理回执单 | T3.4 |
//! | [`DocumentKind::Commitment`] | 限期补齐材料承诺书 (three copies) | T3.2, T3.3 |
//! | [`DocumentKind::MaterialsReceived`] | 材料接收清单 | T3.5 |
//! | [`DocumentKind::Denial`] | 不予审批决定书 | T3.5, T3.6 |
//! | [`DocumentKind::ResultHandover`] | 办理结果交接单 | W6.2 |
//!
//! A builder refuses with a [`DocumentError`] when the case is not in a state where the form
//! exists (a commitment for a case accepted without tolerance, a denial for an approved case).
//! The day of issue comes from the state's own timestamps, so reprinting a form later gives the
//! same date. Material names are looked up in the item snapshot of the header.
//!
//! Pure: no I/O, no clock; the calendar is passed in where a deadline must be computed.

use chrono::{NaiveDate, NaiveDateTime};
use schemars::JsonSchema;
use serde::{Deserialize, Serialize};

use crate::calendar::{Deadline, WorkCalendar};
use crate::case::state::ToleranceState;
use crate::case::{CaseHeader, CaseState, Condition, Delivery, DenialBasis, Outcome, Signatory};
use crate::catalog::ItemKind;
use crate::codes::MaterialCode;
use crate::ids::ApplicantId;
use crate::supervision::{INTAKE_ANSWER_WORKDAYS, RESULT_FORM_WORKDAYS, UPWARD_REPORT_WORKDAYS};
use crate::tolerance;

/// The three copies of a commitment (T3.2): one to the applicant, one travels with the case,
/// one is registered at the window.
pub const COMMITMENT_COPIES: [&str; 3] = ["第一联 申请人留存", "第二联 随案流转", "第三联 窗口登记备查"];

/// What the applicant may do against a refusal: administrative reconsideration within 60 days,
/// or an administrative lawsuit within 6 months (行政复议法 §20, 行政诉讼法 §46).
pub const REMEDIES_TEXT: &str = "如不服本决定,可以自收到本决定书之日起六十日内依法申请行政复议,\
或者自收到本决定书之日起六个月内依法向人民法院提起行政诉讼。";

/// Licensing Law §32 as the correction notice quotes it (periods in working days, §82).
pub const LICENSING_LAW_32_TEXT: &str = "根据《中华人民共和国行政许可法》第三十二条,申请材料不齐全\
或者不符合法定形式的,行政机关应当当场或者在5个工作日内一次告知申请人需要补正的全部内容,\
逾期不告知的,自收到申请材料之日起即为受理。";

/// The kinds of printable documents, in the order a case meets them.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "snake_case")]
pub enum DocumentKind {
    /// 补正通知书 / 一次告知单: every problem at once (W3.5, W2.2).
    CorrectionNotice,
    /// 不予受理决定书 with specific reasons and remedies (W3.5).
    NonAcceptance,
    /// 材料受理及接收凭证 (W3.2); tolerance cases get the [`DocumentKind::ToleranceReceipt`].
    IntakeReceipt,
    /// 容缺受理回执单 (T3.4).
    ToleranceReceipt,
    /// 限期补齐材料承诺书, three copies (T3.2, T3.3).
    Commitment,
    /// 材料接收清单 for supplied tolerable materials (T3.5).
    MaterialsReceived,
    /// 不予审批决定书 (T3.5, T3.6).
    Denial,
    /// 办理结果交接单 (W6.2).
    ResultHandover,
}

impl DocumentKind {
    pub const ALL: [DocumentKind; 8] = [
        DocumentKind::CorrectionNotice,
        DocumentKind::NonAcceptance,
        DocumentKind::IntakeReceipt,
        DocumentKind::ToleranceReceipt,
        DocumentKind::Commitment,
        DocumentKind::MaterialsReceived,
        DocumentKind::Denial,
        DocumentKind::ResultHandover,
    ];

    /// The form's printed title.
    pub fn title_zh(self) -> &'static str {
        match self {
            DocumentKind::CorrectionNotice => "补正通知书(一次告知单)",
            DocumentKind::NonAcceptance => "不予受理决定书",
            DocumentKind::IntakeReceipt => "材料受理及接收凭证",
            DocumentKind::ToleranceReceipt => "容缺受理回执单",
            DocumentKind::Commitment => "限期补齐材料承诺书",
            DocumentKind::MaterialsReceived => "材料接收清单",
            DocumentKind::Denial => "不予审批决定书",
            DocumentKind::ResultHandover => "办理结果交接单",
        }
    }

    /// The rule (RULES.md) that prescribes the form.
    pub fn rule(self) -> &'static str {
        match self {
            DocumentKind::CorrectionNotice | DocumentKind::NonAcceptance => "W3.5",
            DocumentKind::IntakeReceipt => "W3.2",
            DocumentKind::ToleranceReceipt => "T3.4",
            DocumentKind::Commitment => "T3.2",
            DocumentKind::MaterialsReceived => "T3.5",
            DocumentKind::Denial => "T3.6",
            DocumentKind::ResultHandover => "W6.2",
        }
    }

    /// The copy labels (联) of the form.
    fn copies(self) -> Vec<String> {
        let single = match self {
            DocumentKind::Commitment => {
                return COMMITMENT_COPIES.iter().map(|c| (*c).to_string()).collect();
            }
            DocumentKind::ResultHandover => "送达后交职能部门",
            DocumentKind::CorrectionNotice
            | DocumentKind::NonAcceptance
            | DocumentKind::IntakeReceipt
            | DocumentKind::ToleranceReceipt
            | DocumentKind::MaterialsReceived
            | DocumentKind::Denial => "交申请人",
        };
        vec![single.to_string()]
    }
}

/// One labelled value (申请人: 张三).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
pub struct Field {
    pub label: String,
    pub value: String,
}

/// A titled list (已收取材料: …).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
pub struct DocList {
    pub title: String,
    pub entries: Vec<String>,
}

/// The content of one printable form.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
pub struct Document {
    pub kind: DocumentKind,
    /// The Chinese title printed at the top.
    pub title: String,
    pub case_number: String,
    pub issued_on: NaiveDate,
    /// Copy labels (联); one entry for single-copy forms.
    pub copies: Vec<String>,
    pub fields: Vec<Field>,
    pub lists: Vec<DocList>,
    /// Legal text, consequences, remedies.
    pub paragraphs: Vec<String>,
    /// Signature lines, e.g. "申请人(签字)", "受理人(签字)".
    pub signatures: Vec<String>,
}

impl Document {
    /// The value of the first field labelled `label`.
    pub fn field(&self, label: &str) -> Option<&str> {
        self.fields.iter().find(|f| f.label == label).map(|f| f.value.as_str())
    }

    /// The entries of the first list titled `title`.
    pub fn list(&self, title: &str) -> Option<&[String]> {
        self.lists.iter().find(|l| l.title == title).map(|l| l.entries.as_slice())
    }

    /// Every piece of text on the form, one string (for search and tests).
    pub fn text(&self) -> String {
        let mut out = vec![self.title.clone(), self.case_number.clone()];
        out.extend(self.copies.iter().cloned());
        for f in &self.fields {
            out.push(format!("{}:{}", f.label, f.value));
        }
        for l in &self.lists {
            out.push(l.title.clone());
            out.extend(l.entries.iter().cloned());
        }
        out.extend(self.paragraphs.iter().cloned());
        out.extend(self.signatures.iter().cloned());
        out.join("\n")
    }
}

/// Why a form cannot be built for a case. Messages for the clerk; [`DocumentError::code`] is
/// stable.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum DocumentError {
    #[error("办件尚未受理,没有《{document}》")]
    NotAccepted { document: &'static str },
    #[error("容缺受理件出具《容缺受理回执单》,不出具《材料受理及接收凭证》")]
    ToleranceCase,
    #[error("即办件由部门当场受理、办结,不出具《材料受理及接收凭证》")]
    InstantItem,
    #[error("该办件不是容缺受理件,没有《{document}》")]
    NoTolerance { document: &'static str },
    #[error("该办件没有出具过补正通知")]
    NoCorrection,
    #[error("该办件没有补交材料记录,没有《材料接收清单》")]
    NoSupplement,
    #[error("该办件只有 {count} 份《{document}》,没有第 {requested} 份")]
    NoSuchInstance { document: &'static str, count: usize, requested: usize },
    #[error("该办件没有作出不予受理决定")]
    NotRefused,
    #[error("该办件没有作出不予审批决定")]
    NoDenial,
    #[error("办理结果尚未转交统一发证窗口,没有《办理结果交接单》")]
    NotAtIssuingWindow,
    #[error("期限计算超出工作日历的可计算范围:{0}")]
    Calendar(String),
}

impl DocumentError {
    pub fn code(&self) -> &'static str {
        match self {
            DocumentError::NotAccepted { .. } => "document.not_accepted",
            DocumentError::ToleranceCase => "document.tolerance_case",
            DocumentError::InstantItem => "document.instant_item",
            DocumentError::NoTolerance { .. } => "document.no_tolerance",
            DocumentError::NoCorrection => "document.no_correction",
            DocumentError::NoSupplement => "document.no_supplement",
            DocumentError::NoSuchInstance { .. } => "document.no_such_instance",
            DocumentError::NotRefused => "document.not_refused",
            DocumentError::NoDenial => "document.no_denial",
            DocumentError::NotAtIssuingWindow => "document.not_at_issuing_window",
            DocumentError::Calendar(_) => "document.calendar",
        }
    }
}

// ---------------------------------------------------------------------------------------------
// Formatting helpers
// ---------------------------------------------------------------------------------------------

/// 2026年3月2日
pub fn cn_date(d: NaiveDate) -> String {
    d.format("%Y年%-m月%-d日").to_string()
}

/// 2026年3月2日 09:15
pub fn cn_datetime(t: NaiveDateTime) -> String {
    t.format("%Y年%-m月%-d日 %H:%M").to_string()
}

/// A computed date, marked "(暂定)" when it rests on a year whose calendar is not loaded.
fn cn_deadline(d: Deadline<NaiveDate>) -> String {
    if d.provisional { format!("{}(暂定)", cn_date(d.at)) } else { cn_date(d.at) }
}

fn material_name(header: &CaseHeader, code: &MaterialCode) -> String {
    header.item.material(code).map_or_else(|| format!("材料 {code}"), |m| m.name.clone())
}

/// Names of `codes`, in catalog order (codes the item does not list come last, by code).
fn material_names(header: &CaseHeader, codes: &[MaterialCode]) -> Vec<String> {
    let mut out: Vec<String> =
        header.item.materials.iter().filter(|m| codes.contains(&m.code)).map(|m| m.name.clone()).collect();
    let mut unlisted: Vec<&MaterialCode> =
        codes.iter().filter(|c| header.item.material(c).is_none()).collect();
    unlisted.sort();
    unlisted.dedup();
    out.extend(unlisted.into_iter().map(|c| material_name(header, c)));
    out
}

fn id_label(id: &ApplicantId) -> &'static str {
    match id {
        ApplicantId::Person(_) => "公民身份号码",
        ApplicantId::Organisation(_) => "统一社会信用代码",
        ApplicantId::LegacyPerson(_) => "身份证号码(15位,待核验)",
    }
}

fn is_organisation(header: &CaseHeader) -> bool {
    matches!(header.applicant.id(), ApplicantId::Organisation(_))
}

/// "你" or "你单位", as the forms address the applicant.
fn you(header: &CaseHeader) -> &'static str {
    if is_organisation(header) { "你单位" } else { "你" }
}

/// "本人" or "本单位", as the applicant speaks in the commitment.
fn me(header: &CaseHeader) -> &'static str {
    if is_organisation(header) { "本单位" } else { "本人" }
}

fn calendar_error(e: impl std::fmt::Display) -> DocumentError {
    DocumentError::Calendar(e.to_string())
}

fn add_workdays(cal: &WorkCalendar, from: NaiveDate, n: u32) -> Result<Deadline<NaiveDate>, DocumentError> {
    cal.add_workdays(from, n).map_err(calendar_error)
}

/// Picks instance `index` (or the latest when `None`) of a form a case may carry several times.
fn pick<'a, T>(
    items: &'a [T],
    index: Option<usize>,
    document: &'static str,
    none: DocumentError,
) -> Result<&'a T, DocumentError> {
    if items.is_empty() {
        return Err(none);
    }
    let i = index.unwrap_or(items.len() - 1);
    items.get(i).ok_or(DocumentError::NoSuchInstance {
        document,
        count: items.len(),
        requested: i.saturating_add(1),
    })
}

/// Collects a form's content.
struct Builder {
    doc: Document,
}

impl Builder {
    /// A form with the applicant block every form carries.
    fn new(kind: DocumentKind, header: &CaseHeader, issued_on: NaiveDate) -> Builder {
        let mut b = Builder {
            doc: Document {
                kind,
                title: kind.title_zh().to_string(),
                case_number: header.number.to_string(),
                issued_on,
                copies: kind.copies(),
                fields: Vec::new(),
                lists: Vec::new(),
                paragraphs: Vec::new(),
                signatures: Vec::new(),
            },
        };
        let item = &header.item;
        let applicant = &header.applicant;
        b.field("申请事项", item.name.clone());
        b.field("事项编码", item.code.to_string());
        b.field("办件类型", item.kind.name_zh());
        b.field("承办部门", item.department.to_string());
        b.field(if is_organisation(header) { "申请单位" } else { "申请人" }, applicant.name());
        b.field(id_label(applicant.id()), applicant.id().to_string());
        if let Some(phone) = applicant.phone() {
            b.field("联系电话", phone);
        }
        if let Some(address) = applicant.address() {
            b.field("通讯地址", address);
        }
        if let Some(agent) = &header.agent {
            b.field("委托人", format!("{}(公民身份号码 {})", agent.name, agent.id));
        }
        b
    }

    fn field(&mut self, label: &str, value: impl Into<String>) -> &mut Self {
        self.doc.fields.push(Field { label: label.to_string(), value: value.into() });
        self
    }

    fn list(&mut self, title: &str, entries: Vec<String>) -> &mut Self {
        self.doc.lists.push(DocList { title: title.to_string(), entries });
        self
    }

    fn para(&mut self, text: impl Into<String>) -> &mut Self {
        self.doc.paragraphs.push(text.into());
        self
    }

    fn sign(&mut self, line: &str) -> &mut Self {
        self.doc.signatures.push(line.to_string());
        self
    }

    fn done(self) -> Document {
        self.doc
    }
}

/// Whether the applicant signs a form (签字) or signs for receiving it (签收).
#[derive(Clone, Copy, PartialEq, Eq)]
enum Act {
    Sign,
    Receive,
}

/// The applicant's signature line: an organisation seals, a person signs; an agent signs for
/// either.
fn applicant_signature(header: &CaseHeader, act: Act) -> &'static str {
    match (is_organisation(header), header.agent.is_some(), act) {
        (true, true, Act::Sign) => "申请单位(盖章)/委托人(签字)",
        (true, false, Act::Sign) => "申请单位(盖章)",
        (false, true, Act::Sign) => "申请人/委托人(签字)",
        (false, false, Act::Sign) => "申请人(签字)",
        (true, true, Act::Receive) => "申请单位/委托人(签收)",
        (true, false, Act::Receive) => "申请单位(签收)",
        (false, true, Act::Receive) => "申请人/委托人(签收)",
        (false, false, Act::Receive) => "申请人(签收)",
    }
}

/// The promised completion date counted from acceptance (T3.3), "(暂定)" when provisional.
fn promised_completion(
    header: &CaseHeader,
    accepted_on: NaiveDate,
    cal: &WorkCalendar,
) -> Result<String, DocumentError> {
    tolerance::promised_completion(&header.item, accepted_on, cal)
        .map(cn_deadline)
        .map_err(|v| DocumentError::Calendar(v.message))
}

/// T3.6 in the words of the forms: denial and one year without tolerance acceptance. `who`
/// names the applicant as the form addresses them ("你" on receipts, "本人" in the commitment).
fn lapse_consequence(who: &str) -> String {
    format!(
        "逾期未补齐补正的,审批部门将依法作出不予审批(批准)决定,并由政务服务大厅将{who}列入失信名单:\
         一年内对{who}的所有申请,在任何窗口均不再适用容缺受理。"
    )
}

// ---------------------------------------------------------------------------------------------
// Builders
// ---------------------------------------------------------------------------------------------

/// 材料受理及接收凭证 (W3.2): the window accepted complete and lawful materials. Issued on the
/// day of acceptance, with the materials collected and the promised completion date (for an
/// upward item: the county's reporting deadline). Tolerance cases get the
/// [`tolerance_receipt`] instead; instant items (W3.3) none.
pub fn intake_receipt(
    header: &CaseHeader,
    state: &CaseState,
    cal: &WorkCalendar,
) -> Result<Document, DocumentError> {
    let kind = DocumentKind::IntakeReceipt;
    let accepted_at = state.accepted_at.ok_or(DocumentError::NotAccepted { document: kind.title_zh() })?;
    if state.tolerance.is_some() {
        return Err(DocumentError::ToleranceCase);
    }
    if header.item.kind == ItemKind::Instant {
        return Err(DocumentError::InstantItem);
    }
    let item = &header.item;
    let accepted_on = accepted_at.date();
    let mut b = Builder::new(kind, header, accepted_on);
    if let Some(channel) = &state.channel {
        b.field("接件渠道", channel.name_zh());
    }
    if let Some(received) = state.received_at {
        b.field("接件时间", cn_datetime(received));
    }
    b.field("受理时间", cn_datetime(accepted_at));
    if item.kind == ItemKind::Upward {
        let report = add_workdays(cal, accepted_on, UPWARD_REPORT_WORKDAYS)?;
        b.field("上报期限", cn_deadline(report));
    } else {
        b.field("承诺办结时限", format!("{} 个工作日", item.promised_days));
        b.field("承诺办结日期", promised_completion(header, accepted_on, cal)?);
    }
    let received: Vec<MaterialCode> = state
        .presented
        .iter()
        .filter(|(_, c)| **c == Condition::Present)
        .map(|(code, _)| code.clone())
        .collect();
    b.list("已收取材料", material_names(header, &received));
    b.para(format!(
        "{}提交的「{}」申请材料齐全、符合法定形式,现予受理。申请材料已照单收取,身份证明原件与复印件已核验,\
         有关原件已扫描、电子材料已上传,将按规定移交审批部门审查。",
        you(header),
        item.name
    ));
    if item.kind == ItemKind::Upward {
        b.para(format!(
            "本事项由上级部门审批。县级部门仅核查申请材料是否齐全、符合法定形式,并于受理后{UPWARD_REPORT_WORKDAYS}个工作日内呈报上级部门办理。"
        ));
    }
    b.para("请妥善保管本凭证,凭办件编号查询办理进度。办理结果将按预留的联系方式和取件方式通知领取。");
    b.sign("受理人(签字)").sign(applicant_signature(header, Act::Sign)).sign("综合受理窗口(盖章)");
    Ok(b.done())
}

fn tolerance_of(state: &CaseState, kind: DocumentKind) -> Result<&ToleranceState, DocumentError> {
    state.tolerance.as_ref().ok_or(DocumentError::NoTolerance { document: kind.title_zh() })
}

/// The materials still to supply, each with the flaw to correct when one was recorded.
fn promised_entries(header: &CaseHeader, state: &CaseState, t: &ToleranceState) -> Vec<String> {
    header
        .item
        .materials
        .iter()
        .filter(|m| t.commitment.materials.contains(&m.code))
        .map(|m| match state.presented.get(&m.code) {
            Some(Condition::Flawed(note)) => format!("{}(需补正:{note})", m.name),
            _ => m.name.clone(),
        })
        .chain(
            t.commitment
                .materials
                .iter()
                .filter(|c| header.item.material(c).is_none())
                .map(|c| material_name(header, c)),
        )
        .collect()
}

/// 容缺受理回执单 (T3.4): accepted with tolerance; the case goes to the back office for
/// substantive review and a proposed decision. Lists what was received and what is owed, where
/// and by when, the promised completion date and the consequence of missing the deadline.
pub fn tolerance_receipt(
    header: &CaseHeader,
    state: &CaseState,
    cal: &WorkCalendar,
) -> Result<Document, DocumentError> {
    let kind = DocumentKind::ToleranceReceipt;
    let t = tolerance_of(state, kind)?;
    let accepted_on = t.accepted_at.date();
    let c = &t.commitment;
    let mut b = Builder::new(kind, header, accepted_on);
    b.field("受理时间", cn_datetime(t.accepted_at))
        .field("受理方式", "容缺受理")
        .field("补交窗口", c.window.clone())
        .field("承诺补交期限", cn_date(c.deadline))
        .field("承诺办结日期", promised_completion(header, accepted_on, cal)?);
    // Received at acceptance: present now and not supplied afterwards.
    let received: Vec<MaterialCode> = state
        .presented
        .iter()
        .filter(|(code, cond)| **cond == Condition::Present && !t.supplied.contains_key(*code))
        .map(|(code, _)| code.clone())
        .collect();
    b.list("已收取材料", material_names(header, &received));
    b.list("待补齐补正材料", promised_entries(header, state, t));
    b.para(format!(
        "经核验,{}提交的主要申报材料齐全且符合法定形式,非关键性申报材料有欠缺或存在瑕疵但不影响实质性审核,\
         依据《新郑市政务服务容缺受理办法(试行)》予以容缺受理。本件已流转至审批后台({}),\
         由职能部门进行实质审查并作出拟审批决定。",
        you(header),
        header.item.department
    ));
    b.para(format!("请于{}前(含当日)到{}补齐补正上述材料。", cn_date(c.deadline), c.window));
    b.para(lapse_consequence(you(header)));
    b.sign("受理人(签字)").sign(applicant_signature(header, Act::Sign)).sign("综合受理窗口(盖章)");
    Ok(b.done())
}

/// 限期补齐材料承诺书 (T3.2, T3.3), three copies. Records the application matter, the names of
/// the missing materials, the deadline (never after the promised completion date), the
/// consequence of missing it (denial, and one year on the dishonesty list without tolerance
/// acceptance at any window) and the legal responsibility; signed by the applicant or by the
/// agent with specific written authorisation.
pub fn commitment(
    header: &CaseHeader,
    state: &CaseState,
    cal: &WorkCalendar,
) -> Result<Document, DocumentError> {
    let kind = DocumentKind::Commitment;
    let t = tolerance_of(state, kind)?;
    let accepted_on = t.accepted_at.date();
    let c = &t.commitment;
    let who = me(header);
    let mut b = Builder::new(kind, header, accepted_on);
    b.field("申请事由", format!("申请办理「{}」({})", header.item.name, header.item.kind.name_zh()));
    match &c.signed_by {
        Signatory::Applicant => {
            b.field("承诺人", format!("{}(申请人)", header.applicant.name()));
        }
        Signatory::Agent { id_number, name, authorisation_ref } => {
            b.field("承诺人", format!("{name}(经申请人依法特别授权的委托人,公民身份号码 {id_number})"));
            b.field("特别授权委托书", authorisation_ref.clone());
        }
    }
    b.field("补交窗口", c.window.clone())
        .field("承诺补交期限", cn_date(c.deadline))
        .field("承诺办结日期", promised_completion(header, accepted_on, cal)?);
    b.list("所缺申报材料名称", promised_entries(header, state, t));
    b.para(format!(
        "{who}申请办理「{}」,主要申报材料齐全且符合法定形式,所列非关键性申报材料有欠缺或存在瑕疵,\
         申请容缺受理。{who}郑重承诺:于{}前(含当日)到{}补齐补正上列全部材料。",
        header.item.name,
        cn_date(c.deadline),
        c.window
    ));
    b.para(format!("逾期后果:{}", lapse_consequence(me(header))));
    b.para(format!(
        "法律责任:{who}对所提交及补交材料的真实性、合法性负责;如提供虚假材料或隐瞒有关情况,\
         依法承担相应法律责任;因逾期未补齐补正材料导致不予审批(批准)的,后果由{who}承担。"
    ));
    b.para(
        "本承诺书一式三份(一份由承诺人填写,其余由综合受理人员复印):\
         第一联当场交申请人或其委托人留存,第二联随案内部流转,第三联由综合受理窗口登记备查。",
    );
    match &c.signed_by {
        Signatory::Applicant if is_organisation(header) => {
            b.sign("承诺人(申请单位盖章及经办人签字)");
        }
        Signatory::Applicant => {
            b.sign("承诺人(申请人签字)");
        }
        Signatory::Agent { .. } => {
            b.sign("承诺人(经特别授权的委托人签字)");
        }
    }
    b.sign("签署日期").sign("综合受理窗口受理人(签字)");
    Ok(b.done())
}

/// 补正通知书 / 一次告知单 (W3.5, W2.2): every problem at once, and Licensing Law §32 (told
/// within 5 working days, or the application counts as accepted from the day the materials
/// arrived). `index` picks one of several notices (0-based); `None` the latest.
pub fn correction_notice(
    header: &CaseHeader,
    state: &CaseState,
    cal: &WorkCalendar,
    index: Option<usize>,
) -> Result<Document, DocumentError> {
    let kind = DocumentKind::CorrectionNotice;
    let (at, problems) = pick(&state.corrections, index, kind.title_zh(), DocumentError::NoCorrection)?;
    let at = *at;
    // The intake round the notice answered: the latest that started before it.
    let round_start = state
        .rounds
        .iter()
        .rev()
        .find(|r| r.started <= at)
        .map(|r| r.started)
        .or(state.received_at)
        .unwrap_or(at);
    let limit = add_workdays(cal, round_start.date(), INTAKE_ANSWER_WORKDAYS)?;
    let mut b = Builder::new(kind, header, at.date());
    b.field("收到申请材料时间", cn_datetime(round_start))
        .field("告知时间", cn_datetime(at))
        .field("法定告知期限", cn_deadline(limit));
    let entries = problems
        .iter()
        .enumerate()
        .map(|(i, p)| match &p.material {
            Some(code) => format!("{}. {}:{}", i + 1, material_name(header, code), p.description),
            None => format!("{}. {}", i + 1, p.description),
        })
        .collect();
    b.list("需要补正的全部内容", entries);
    b.para(format!(
        "{}申请办理「{}」提交的申请材料不齐全或者不符合法定形式。现将需要补正的全部内容一次告知如上,\
         请按要求补正后重新递交。本事项申报材料以公布的受理清单为准,清单未列明的材料不予要求。",
        you(header),
        header.item.name
    ));
    b.para(LICENSING_LAW_32_TEXT);
    b.sign("告知人(签字)").sign(applicant_signature(header, Act::Receive)).sign("综合受理窗口(盖章)");
    Ok(b.done())
}

/// 不予受理决定书 (W3.5): the specific reasons, and the remedies (行政复议 within 60 days,
/// 行政诉讼 within 6 months). Also issued for an online application rejected at pre-acceptance.
pub fn non_acceptance(header: &CaseHeader, state: &CaseState) -> Result<Document, DocumentError> {
    let kind = DocumentKind::NonAcceptance;
    let (at, reasons) = state.not_accepted.as_ref().ok_or(DocumentError::NotRefused)?;
    let mut b = Builder::new(kind, header, at.date());
    if let Some(received) = state.received_at {
        b.field("收到申请时间", cn_datetime(received));
    }
    b.field("决定时间", cn_datetime(*at));
    b.list(
        "不予受理的具体理由",
        reasons.iter().enumerate().map(|(i, r)| format!("{}. {r}", i + 1)).collect(),
    );
    b.para(format!(
        "{}申请办理「{}」,经审查,申请不符合受理条件。依据《中华人民共和国行政许可法》第三十二条,\
         决定不予受理,具体理由如上。",
        you(header),
        header.item.name
    ));
    b.para(REMEDIES_TEXT);
    b.sign("经办人(签字)").sign("综合受理窗口(盖章)").sign(applicant_signature(header, Act::Receive));
    Ok(b.done())
}

/// The supplied materials grouped by the moment they were received, oldest first.
pub fn supplement_batches(state: &CaseState) -> Vec<(NaiveDateTime, Vec<MaterialCode>)> {
    let Some(t) = &state.tolerance else {
        return Vec::new();
    };
    let mut batches: Vec<(NaiveDateTime, Vec<MaterialCode>)> = Vec::new();
    let mut supplied: Vec<(&NaiveDateTime, &MaterialCode)> =
        t.supplied.iter().map(|(code, at)| (at, code)).collect();
    supplied.sort();
    for (at, code) in supplied {
        match batches.last_mut() {
            Some((last, codes)) if last == at => codes.push(code.clone()),
            _ => batches.push((*at, vec![code.clone()])),
        }
    }
    batches
}

/// 材料接收清单 (T3.5): the tolerable materials supplied, when, and that they went to the back
/// office at once; what is still owed, if anything. `index` picks one delivery (0-based, see
/// [`supplement_batches`]); `None` the latest.
pub fn materials_received(
    header: &CaseHeader,
    state: &CaseState,
    index: Option<usize>,
) -> Result<Document, DocumentError> {
    let kind = DocumentKind::MaterialsReceived;
    let t = tolerance_of(state, kind)?;
    let batches = supplement_batches(state);
    let (at, codes) = pick(&batches, index, kind.title_zh(), DocumentError::NoSupplement)?;
    let at = *at;
    let c = &t.commitment;
    let owed: Vec<MaterialCode> =
        c.materials.iter().filter(|m| t.supplied.get(*m).is_none_or(|s| *s > at)).cloned().collect();
    let mut b = Builder::new(kind, header, at.date());
    b.field("容缺受理时间", cn_datetime(t.accepted_at))
        .field("承诺补交期限", cn_date(c.deadline))
        .field("接收时间", cn_datetime(at))
        .field("是否在承诺期限内", if at.date() <= c.deadline { "是" } else { "否(逾期)" });
    b.list("本次接收材料", material_names(header, codes));
    b.para(format!(
        "上述补齐补正材料已由补交材料受理窗口接收,并立即流转至审批后台({})审查。",
        header.item.department
    ));
    if owed.is_empty() {
        b.para("承诺书所列材料已全部补齐。");
    } else {
        b.list("尚未补交材料", material_names(header, &owed));
        b.para(format!(
            "尚未补交的材料请于{}前(含当日)补齐。{}",
            cn_date(c.deadline),
            lapse_consequence(you(header))
        ));
    }
    b.sign("接收人(签字)").sign(applicant_signature(header, Act::Sign)).sign("补交材料受理窗口(盖章)");
    Ok(b.done())
}

/// 不予审批决定书 (T3.5, T3.6): the reasons and the remedies; when the basis is a lapsed
/// tolerance commitment, also the materials not supplied and the dishonesty listing with its
/// end date.
pub fn denial(header: &CaseHeader, state: &CaseState) -> Result<Document, DocumentError> {
    let kind = DocumentKind::Denial;
    let decision = state.decision.as_ref().ok_or(DocumentError::NoDenial)?;
    let Outcome::Deny { reasons, basis } = &decision.outcome else {
        return Err(DocumentError::NoDenial);
    };
    let mut b = Builder::new(kind, header, decision.at.date());
    if let Some(accepted) = state.accepted_at {
        b.field("受理时间", cn_datetime(accepted));
    }
    let department = decision.by.role.department().unwrap_or(&header.item.department);
    b.field("决定时间", cn_datetime(decision.at)).field("决定部门", department.to_string()).field(
        "决定依据",
        match basis {
            DenialBasis::Review => "经实质审查,不符合法定条件、标准",
            DenialBasis::ToleranceLapsed => "未在承诺时限内补齐补正容缺受理材料",
        },
    );
    b.list("不予审批的理由", reasons.iter().enumerate().map(|(i, r)| format!("{}. {r}", i + 1)).collect());
    b.para(format!("{}申请办理的「{}」,经审查,决定不予审批(批准),理由如上。", you(header), header.item.name));
    if *basis == DenialBasis::ToleranceLapsed {
        if let Some(t) = &state.tolerance {
            b.field("承诺补交期限", cn_date(t.commitment.deadline));
            b.list("逾期未补交材料", material_names(header, &t.outstanding()));
        }
        if let Some(entry) = tolerance::entry_for_lapse(header, state) {
            let last_day = entry.until.pred_opt().unwrap_or(entry.until);
            b.field("列入失信名单日期", cn_date(entry.listed_on)).field("失信名单期限至", cn_date(last_day));
            b.para(format!(
                "{you}未在承诺时限内补齐补正容缺受理材料。依据《新郑市政务服务容缺受理办法(试行)》,\
                 由政务服务大厅将{you}列入失信名单,期限一年(自{}起至{}止):\
                 期间对{you}在任何窗口提出的所有申请,均不再适用容缺受理。",
                cn_date(entry.listed_on),
                cn_date(last_day),
                you = you(header)
            ));
        }
    }
    b.para(REMEDIES_TEXT);
    b.sign("经办人(签字)").sign("审批部门(盖章)").sign(applicant_signature(header, Act::Receive));
    Ok(b.done())
}

/// 办理结果交接单 (W6.2): the result, how it reached the applicant (pickup with the signature,
/// or post with the postal receipt attached) and, for post, the return of the form to the
/// department within 1 working day. Exists from the moment the result is at the issuing window,
/// so it can be printed for signing; delivery fields are filled once delivery is recorded.
pub fn result_handover(
    header: &CaseHeader,
    state: &CaseState,
    cal: &WorkCalendar,
) -> Result<Document, DocumentError> {
    let kind = DocumentKind::ResultHandover;
    let at_issuing = state.at_issuing_at.ok_or(DocumentError::NotAtIssuingWindow)?;
    let decision = state.decision.as_ref().ok_or(DocumentError::NotAtIssuingWindow)?;
    let issued_on = state.delivered.as_ref().map_or(at_issuing, |d| d.0).date();
    let mut b = Builder::new(kind, header, issued_on);
    b.field(
        "办理结果",
        match &decision.outcome {
            Outcome::Approve { result } => result.clone(),
            Outcome::Deny { .. } => "不予审批决定书".to_string(),
        },
    )
    .field("决定时间", cn_datetime(decision.at))
    .field("结果转交发证窗口时间", cn_datetime(at_issuing))
    .field("通知申请人时间", state.notified_at.map_or_else(|| "尚未通知".to_string(), cn_datetime))
    .field("通知方式", state.notified_contact.clone().unwrap_or_else(|| "—".to_string()));
    match &state.delivered {
        None => {
            b.field("送达方式", "尚未送达");
        }
        Some((at, Delivery::Pickup { signed_by })) => {
            b.field("送达方式", "窗口自取")
                .field("领取人签收", signed_by.clone())
                .field("送达时间", cn_datetime(*at));
        }
        Some((at, Delivery::Mail { postal_receipt, address })) => {
            let due = add_workdays(cal, at.date(), RESULT_FORM_WORKDAYS)?;
            b.field("送达方式", "邮寄送达")
                .field("邮寄凭证号", postal_receipt.clone())
                .field("邮寄地址", address.clone())
                .field("送达时间", cn_datetime(*at))
                .field("交接单返还部门期限", cn_deadline(due))
                .field(
                    "交接单返还时间",
                    state.form_returned_at.map_or_else(|| "尚未返还".to_string(), cn_datetime),
                );
        }
    }
    b.para(
        "统一发证窗口按申请人预留的联系方式和取件方式通知申请人。窗口自取的,核对相关信息后发放办理结果,\
         由领取人登记签收;邮寄领取的,委托邮政单位按留存的通讯地址寄送,邮寄凭证粘贴于本交接单。",
    );
    b.para(format!(
        "送达后,统一发证窗口在系统中登记送达结果,并于{RESULT_FORM_WORKDAYS}个工作日内将本交接单送达职能部门({})。",
        header.item.department
    ));
    b.sign("发证窗口经办人(签字)");
    match &state.delivered {
        Some((_, Delivery::Mail { .. })) => {
            b.sign("邮寄凭证(粘贴处)");
        }
        _ => {
            b.sign("领取人(签字)");
        }
    }
    b.sign("职能部门接收人(签字)");
    Ok(b.done())
}

/// Builds `kind` for the case; for forms a case may carry several times (correction notices,
/// materials received) the latest.
pub fn build(
    kind: DocumentKind,
    header: &CaseHeader,
    state: &CaseState,
    cal: &WorkCalendar,
) -> Result<Document, DocumentError> {
    match kind {
        DocumentKind::CorrectionNotice => correction_notice(header, state, cal, None),
        DocumentKind::NonAcceptance => non_acceptance(header, state),
        DocumentKind::IntakeReceipt => intake_receipt(header, state, cal),
        DocumentKind::ToleranceReceipt => tolerance_receipt(header, state, cal),
        DocumentKind::Commitment => commitment(header, state, cal),
        DocumentKind::MaterialsReceived => materials_received(header, state, None),
        DocumentKind::Denial => denial(header, state),
        DocumentKind::ResultHandover => result_handover(header, state, cal),
    }
}

/// The forms the case has so far, in the order the case met them (each kind once; see
/// [`correction_notice`] and [`materials_received`] for kinds that occur several times).
/// A kind is listed exactly when [`build`] succeeds for it.
pub fn documents_for(header: &CaseHeader, state: &CaseState, cal: &WorkCalendar) -> Vec<DocumentKind> {
    DocumentKind::ALL.into_iter().filter(|k| build(*k, header, state, cal).is_ok()).collect()
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::actor::{Actor, Role};
    use crate::case::{
        Case, Channel, CommandContext, Commitment, Event, EventKind, PresentedMaterial, Problem,
    };
    use crate::catalog::{BusinessArea, Item, ItemType, JointMode, Material, MaterialClass};
    use crate::codes::{DepartmentCode, ItemCode, NodeName, StaffId};
    use crate::hlc::{Hlc, ms_from_local};
    use crate::ids::{Agent, Applicant, Authorisation, CaseNumber, CitizenId, NodeCode};
    use crate::tolerance::DishonestyList;

    const DEPT: &str = "SCJGJ";
    const WINDOW: &str = "综合受理窗口 3 号";

    fn date(s: &str) -> NaiveDate {
        NaiveDate::parse_from_str(s, "%Y-%m-%d").expect("test date")
    }

    fn at(s: &str) -> NaiveDateTime {
        NaiveDateTime::parse_from_str(s, "%Y-%m-%d %H:%M").expect("test datetime")
    }

    fn material(code: &str, name: &str, class: MaterialClass) -> Material {
        Material { code: MaterialCode::new(code), name: name.to_string(), class, paper: true }
    }

    fn item(kind: ItemKind) -> Item {
        Item {
            code: ItemCode::new("SCJG001"),
            name: "食品经营许可".to_string(),
            department: DepartmentCode::new(DEPT),
            item_type: ItemType::Licensing,
            kind,
            promised_days: 15,
            statutory_days: 20,
            tolerance: true,
            materials: vec![
                material("M1", "营业执照", MaterialClass::Key),
                material("M2", "食品经营许可申请书", MaterialClass::Key),
                material("M3", "经营场所使用证明", MaterialClass::Tolerable),
                material("M4", "食品安全管理制度", MaterialClass::Tolerable),
            ],
            joint: JointMode::None,
            appointment: None,
            area: BusinessArea::Other,
            effective_from: date("2025-01-01"),
            cancelled_from: None,
            revision: 1,
        }
    }

    fn agent() -> Agent {
        Agent {
            id: CitizenId::parse("110105195001010039").expect("valid"),
            name: "李四".to_string(),
            authorisation: Authorisation {
                document_ref: "WT-2026-001".to_string(),
                specific: true,
                valid_until: None,
            },
        }
    }

    fn header(kind: ItemKind, agent: Option<Agent>, on: NaiveDate) -> CaseHeader {
        CaseHeader {
            number: CaseNumber::new(NodeCode::parse("410184001").expect("valid"), on, 7).expect("valid"),
            applicant: Applicant::new(
                ApplicantId::parse("11010519491231002X").expect("valid"),
                "张三",
                Some("13800000000"),
                Some("新郑市新建路 1 号"),
            )
            .expect("valid"),
            agent,
            item: item(kind),
            catalog_version: "2026.3".to_string(),
            origin: NodeName::new("hall"),
            scope: "hall".to_string(),
        }
    }

    fn event(when: &str, role: Role, kind: EventKind) -> Event {
        Event {
            hlc: Hlc { wall_ms: ms_from_local(at(when)), counter: 0, node: NodeName::new("hall") },
            actor: Actor { staff: StaffId::new("staff-1"), role, node: NodeName::new("hall") },
            kind,
        }
    }

    fn clerk() -> Role {
        Role::WindowClerk
    }

    fn reviewer() -> Role {
        Role::DepartmentReviewer(DepartmentCode::new(DEPT))
    }

    fn presented(list: &[(&str, Condition)]) -> Vec<PresentedMaterial> {
        list.iter()
            .map(|(code, condition)| PresentedMaterial {
                code: MaterialCode::new(*code),
                condition: condition.clone(),
            })
            .collect()
    }

    fn all_present() -> Vec<PresentedMaterial> {
        presented(&[
            ("M1", Condition::Present),
            ("M2", Condition::Present),
            ("M3", Condition::Present),
            ("M4", Condition::Present),
        ])
    }

    fn tolerable_missing() -> Vec<PresentedMaterial> {
        presented(&[
            ("M1", Condition::Present),
            ("M2", Condition::Present),
            ("M3", Condition::Missing),
            ("M4", Condition::Flawed("未加盖公章".to_string())),
        ])
    }

    /// A case driven through the real command gate.
    struct Fx {
        case: Case,
        cal: WorkCalendar,
        list: DishonestyList,
    }

    impl Fx {
        fn open(header: CaseHeader, when: &str, materials: Vec<PresentedMaterial>) -> Fx {
            let cal = WorkCalendar::builtin();
            let list = DishonestyList::default();
            let received =
                event(when, clerk(), EventKind::Received { channel: Channel::Hall, presented: materials });
            let case = Case::open(header, received, &CommandContext { calendar: &cal, dishonesty: &list })
                .expect("received");
            Fx { case, cal, list }
        }

        fn rec(&mut self, when: &str, role: Role, kind: EventKind) -> &mut Fx {
            let ctx = CommandContext { calendar: &self.cal, dishonesty: &self.list };
            let name = kind.name_zh();
            if let Err(e) = self.case.record(event(when, role, kind), &ctx) {
                panic!("{name} at {when} refused: {e}");
            }
            self
        }

        fn state(&self) -> CaseState {
            self.case.state()
        }

        fn build(&self, kind: DocumentKind) -> Result<Document, DocumentError> {
            build(kind, &self.case.header, &self.state(), &self.cal)
        }

        fn doc(&self, kind: DocumentKind) -> Document {
            self.build(kind).expect("document builds")
        }

        fn kinds(&self) -> Vec<DocumentKind> {
            documents_for(&self.case.header, &self.state(), &self.cal)
        }

        fn accept(&mut self, when: &str) -> &mut Fx {
            self.rec(when, clerk(), EventKind::Accepted { presented: vec![] })
        }

        fn accept_with_tolerance(&mut self, when: &str, deadline: &str, by: Signatory) -> &mut Fx {
            self.rec(
                when,
                clerk(),
                EventKind::ToleranceAccepted {
                    presented: vec![],
                    commitment: Commitment {
                        materials: vec![MaterialCode::new("M3"), MaterialCode::new("M4")],
                        deadline: date(deadline),
                        window: WINDOW.to_string(),
                        signed_by: by,
                        dishonesty_list_version: 0,
                    },
                },
            )
        }

        /// Hand over (paper) and sign: the case is in review.
        fn review(&mut self, handed: &str, signed: &str) -> &mut Fx {
            let d = DepartmentCode::new(DEPT);
            self.rec(handed, clerk(), EventKind::HandedOver { department: d.clone(), paper: true }).rec(
                signed,
                reviewer(),
                EventKind::HandoverSigned { department: d },
            )
        }

        fn supply(&mut self, when: &str, codes: &[&str]) -> &mut Fx {
            self.rec(
                when,
                clerk(),
                EventKind::SupplementReceived {
                    materials: codes.iter().map(|c| MaterialCode::new(*c)).collect(),
                },
            )
        }

        fn decide(&mut self, when: &str, outcome: Outcome) -> &mut Fx {
            self.rec(when, reviewer(), EventKind::Decided { outcome })
        }
    }

    fn normal_case() -> Fx {
        let mut fx =
            Fx::open(header(ItemKind::Promise, None, date("2026-03-02")), "2026-03-02 09:00", all_present());
        fx.accept("2026-03-02 09:20");
        fx
    }

    fn tolerance_case(agent_signs: bool) -> Fx {
        let (agent, by) = if agent_signs {
            (
                Some(agent()),
                Signatory::Agent {
                    id_number: "110105195001010039".to_string(),
                    name: "李四".to_string(),
                    authorisation_ref: "WT-2026-001".to_string(),
                },
            )
        } else {
            (None, Signatory::Applicant)
        };
        let mut fx = Fx::open(
            header(ItemKind::Promise, agent, date("2026-03-02")),
            "2026-03-02 09:00",
            tolerable_missing(),
        );
        fx.accept_with_tolerance("2026-03-02 09:30", "2026-03-06", by);
        fx
    }

    fn has(doc: &Document, needle: &str) -> bool {
        doc.text().contains(needle)
    }

    #[test]
    fn intake_receipt_lists_materials_and_promised_completion() {
        // rule W3.2: the window issues a 材料受理及接收凭证 listing the materials collected.
        let fx = normal_case();
        let doc = fx.doc(DocumentKind::IntakeReceipt);
        assert_eq!(doc.title, "材料受理及接收凭证");
        assert_eq!(doc.case_number, fx.case.header.number.to_string());
        assert_eq!(doc.issued_on, date("2026-03-02"));
        assert_eq!(doc.copies.len(), 1);
        assert_eq!(
            doc.list("已收取材料").expect("list"),
            ["营业执照", "食品经营许可申请书", "经营场所使用证明", "食品安全管理制度"]
        );
        // 15 working days after Monday 2 March 2026.
        assert_eq!(doc.field("承诺办结日期"), Some("2026年3月23日"));
        assert_eq!(doc.field("申请人"), Some("张三"));
        assert_eq!(doc.field("公民身份号码"), Some("11010519491231002X"));
        assert!(doc.signatures.iter().any(|s| s == "受理人(签字)"));
        assert!(doc.signatures.iter().any(|s| s == "申请人(签字)"));
        assert_eq!(fx.kinds(), [DocumentKind::IntakeReceipt]);
    }

    #[test]
    fn promised_completion_beyond_the_loaded_years_is_provisional() {
        // rule W3.2: a date computed past the loaded calendar is marked (暂定).
        let mut fx =
            Fx::open(header(ItemKind::Promise, None, date("2026-12-21")), "2026-12-21 09:00", all_present());
        fx.accept("2026-12-21 09:20");
        let doc = fx.doc(DocumentKind::IntakeReceipt);
        let promised = doc.field("承诺办结日期").expect("field");
        assert!(promised.starts_with("2027年"), "{promised}");
        assert!(promised.ends_with("(暂定)"), "{promised}");
    }

    #[test]
    fn tolerance_receipt_says_what_is_owed_and_routes_to_the_back_office() {
        // rule T3.4: 容缺受理回执单, the case goes to the back office for substantive review.
        let fx = tolerance_case(false);
        let doc = fx.doc(DocumentKind::ToleranceReceipt);
        assert_eq!(doc.title, "容缺受理回执单");
        assert_eq!(doc.issued_on, date("2026-03-02"));
        assert_eq!(doc.list("已收取材料").expect("list"), ["营业执照", "食品经营许可申请书"]);
        assert_eq!(
            doc.list("待补齐补正材料").expect("list"),
            ["经营场所使用证明", "食品安全管理制度(需补正:未加盖公章)"]
        );
        assert_eq!(doc.field("承诺补交期限"), Some("2026年3月6日"));
        assert_eq!(doc.field("补交窗口"), Some(WINDOW));
        assert_eq!(doc.field("承诺办结日期"), Some("2026年3月23日"));
        assert!(has(&doc, "审批后台"));
        assert!(has(&doc, "拟审批决定"));
        assert!(has(&doc, "失信名单"));
        assert_eq!(fx.kinds(), [DocumentKind::ToleranceReceipt, DocumentKind::Commitment]);
    }

    #[test]
    fn commitment_has_three_copies_and_every_required_element() {
        // rule T3.2: three copies — applicant, with the case, registered at the window.
        // rule T3.3: application matter, missing material names, deadline, consequence, legal
        // responsibility; the deadline is not after the promised completion date.
        let fx = tolerance_case(false);
        let doc = fx.doc(DocumentKind::Commitment);
        assert_eq!(doc.title, "限期补齐材料承诺书");
        assert_eq!(doc.copies, ["第一联 申请人留存", "第二联 随案流转", "第三联 窗口登记备查"]);
        assert_eq!(doc.field("申请事由"), Some("申请办理「食品经营许可」(承诺件)"));
        let missing = doc.list("所缺申报材料名称").expect("list");
        assert!(missing.iter().any(|m| m.contains("经营场所使用证明")));
        assert!(missing.iter().any(|m| m.contains("食品安全管理制度")));
        assert_eq!(doc.field("承诺补交期限"), Some("2026年3月6日"));
        assert!(date("2026-03-06") <= date("2026-03-23"));
        assert_eq!(doc.field("承诺办结日期"), Some("2026年3月23日"));
        let consequence =
            doc.paragraphs.iter().find(|p| p.starts_with("逾期后果")).expect("consequence paragraph");
        assert!(consequence.contains("不予审批"));
        assert!(consequence.contains("失信名单"));
        assert!(consequence.contains("一年"));
        assert!(consequence.contains("任何窗口"));
        assert!(doc.paragraphs.iter().any(|p| p.starts_with("法律责任")));
        assert!(doc.signatures.iter().any(|s| s.contains("申请人签字")));
    }

    #[test]
    fn commitment_signed_by_an_agent_names_the_specific_authorisation() {
        // rule T3.2: an agent with specific written authorisation may sign.
        let fx = tolerance_case(true);
        let doc = fx.doc(DocumentKind::Commitment);
        let by = doc.field("承诺人").expect("field");
        assert!(by.contains("李四") && by.contains("特别授权"), "{by}");
        assert_eq!(doc.field("特别授权委托书"), Some("WT-2026-001"));
        assert!(doc.signatures.iter().any(|s| s.contains("委托人签字")));
    }

    #[test]
    fn correction_notice_tells_every_problem_at_once_and_cites_article_32() {
        // rule W3.5: incomplete → correction notice, told once.
        // rule W2.2: the one-time notice states every problem at once.
        let mut fx = Fx::open(
            header(ItemKind::Promise, None, date("2026-03-02")),
            "2026-03-02 09:00",
            presented(&[("M1", Condition::Missing), ("M2", Condition::Present)]),
        );
        fx.rec(
            "2026-03-02 09:10",
            clerk(),
            EventKind::CorrectionNotice {
                problems: vec![
                    Problem { material: Some(MaterialCode::new("M1")), description: "未提交".to_string() },
                    Problem {
                        material: None, description: "申请书须由法定代表人签字".to_string()
                    },
                ],
            },
        );
        let doc = fx.doc(DocumentKind::CorrectionNotice);
        assert_eq!(doc.title, "补正通知书(一次告知单)");
        assert_eq!(
            doc.list("需要补正的全部内容").expect("list"),
            ["1. 营业执照:未提交", "2. 申请书须由法定代表人签字"]
        );
        assert_eq!(doc.field("法定告知期限"), Some("2026年3月9日"));
        assert!(has(&doc, "第三十二条"));
        assert!(has(&doc, "5个工作日"));
        assert!(has(&doc, "即为受理"));
        assert_eq!(fx.kinds(), [DocumentKind::CorrectionNotice]);
        let e =
            correction_notice(&fx.case.header, &fx.state(), &fx.cal, Some(1)).expect_err("only one notice");
        assert_eq!(e.code(), "document.no_such_instance");
    }

    #[test]
    fn non_acceptance_gives_specific_reasons_and_remedies() {
        // rule W3.5: not acceptable → decision with specific reasons.
        let mut fx =
            Fx::open(header(ItemKind::Promise, None, date("2026-03-02")), "2026-03-02 09:00", all_present());
        fx.rec(
            "2026-03-02 09:10",
            clerk(),
            EventKind::NotAccepted {
                reasons: vec!["申请经营场所位于规划禁止经营区域".to_string()]
            },
        );
        let doc = fx.doc(DocumentKind::NonAcceptance);
        assert_eq!(doc.title, "不予受理决定书");
        assert_eq!(doc.list("不予受理的具体理由").expect("list"), ["1. 申请经营场所位于规划禁止经营区域"]);
        for needle in ["行政复议", "六十日", "行政诉讼", "六个月"] {
            assert!(has(&doc, needle), "{needle}");
        }
        assert_eq!(fx.kinds(), [DocumentKind::NonAcceptance]);
    }

    #[test]
    fn materials_received_lists_each_delivery_and_routes_it_at_once() {
        // rule T3.5: the receiving window issues a 材料接收清单 and routes them at once.
        let mut fx = tolerance_case(false);
        fx.review("2026-03-02 10:00", "2026-03-02 11:00").supply("2026-03-04 10:00", &["M3"]);
        let first = fx.doc(DocumentKind::MaterialsReceived);
        assert_eq!(first.title, "材料接收清单");
        assert_eq!(first.issued_on, date("2026-03-04"));
        assert_eq!(first.list("本次接收材料").expect("list"), ["经营场所使用证明"]);
        assert_eq!(first.list("尚未补交材料").expect("list"), ["食品安全管理制度"]);
        assert_eq!(first.field("是否在承诺期限内"), Some("是"));
        assert!(has(&first, "立即流转至审批后台"));

        fx.supply("2026-03-05 15:00", &["M4"]);
        let second = fx.doc(DocumentKind::MaterialsReceived);
        assert_eq!(second.list("本次接收材料").expect("list"), ["食品安全管理制度"]);
        assert!(second.list("尚未补交材料").is_none());
        assert!(has(&second, "已全部补齐"));
        let again = materials_received(&fx.case.header, &fx.state(), Some(0)).expect("first");
        assert_eq!(again, first);
        assert!(fx.kinds().contains(&DocumentKind::MaterialsReceived));
    }

    #[test]
    fn denial_after_review_gives_reasons_and_remedies_without_listing() {
        // rule T3.5: supplied but not compliant → denial with reasons.
        let mut fx = tolerance_case(false);
        fx.review("2026-03-02 10:00", "2026-03-02 11:00").supply("2026-03-04 10:00", &["M3", "M4"]).decide(
            "2026-03-10 16:00",
            Outcome::Deny {
                reasons: vec!["经营场所与申请书所载地址不一致".to_string()],
                basis: DenialBasis::Review,
            },
        );
        let doc = fx.doc(DocumentKind::Denial);
        assert_eq!(doc.title, "不予审批决定书");
        assert_eq!(doc.issued_on, date("2026-03-10"));
        assert_eq!(doc.list("不予审批的理由").expect("list"), ["1. 经营场所与申请书所载地址不一致"]);
        assert!(has(&doc, "行政复议") && has(&doc, "行政诉讼"));
        assert!(!has(&doc, "失信名单"));
    }

    #[test]
    fn denial_for_a_lapsed_commitment_lists_the_applicant_for_one_year() {
        // rule T3.6: not supplied by the deadline → denial with reasons, and one year on the
        // dishonesty list; the form states the end date and the remedies.
        let mut fx = tolerance_case(false);
        fx.review("2026-03-02 10:00", "2026-03-02 11:00").supply("2026-03-04 10:00", &["M3"]).decide(
            "2026-03-09 10:00",
            Outcome::Deny {
                reasons: vec!["逾期未补交食品安全管理制度".to_string()],
                basis: DenialBasis::ToleranceLapsed,
            },
        );
        let doc = fx.doc(DocumentKind::Denial);
        assert_eq!(doc.field("承诺补交期限"), Some("2026年3月6日"));
        assert_eq!(doc.list("逾期未补交材料").expect("list"), ["食品安全管理制度"]);
        assert_eq!(doc.field("列入失信名单日期"), Some("2026年3月9日"));
        assert_eq!(doc.field("失信名单期限至"), Some("2027年3月8日"));
        let listing = doc.paragraphs.iter().find(|p| p.contains("失信名单")).expect("listing paragraph");
        assert!(listing.contains("一年") && listing.contains("任何窗口"));
        assert!(has(&doc, "行政复议") && has(&doc, "六个月"));
        assert_eq!(
            fx.kinds(),
            [
                DocumentKind::ToleranceReceipt,
                DocumentKind::Commitment,
                DocumentKind::MaterialsReceived,
                DocumentKind::Denial,
            ]
        );
    }

    fn approved_case() -> Fx {
        let mut fx = normal_case();
        fx.review("2026-03-02 10:00", "2026-03-02 11:00")
            .decide("2026-03-05 10:00", Outcome::Approve { result: "食品经营许可证".to_string() })
            .rec(
                "2026-03-05 14:00",
                reviewer(),
                EventKind::ResultToIssuing { register_entry: "发证登记 2026-031".to_string() },
            )
            .rec(
                "2026-03-05 15:00",
                Role::IssuingWindow,
                EventKind::Notified { contact: "13800000000".to_string() },
            );
        fx
    }

    #[test]
    fn result_handover_by_post_carries_the_receipt_and_the_return_deadline() {
        // rule W6.2: posted, postal receipt attached, form back to the department within one
        // working day.
        let mut fx = approved_case();
        let before = fx.doc(DocumentKind::ResultHandover);
        assert_eq!(before.field("送达方式"), Some("尚未送达"));
        fx.rec(
            "2026-03-06 10:00",
            Role::IssuingWindow,
            EventKind::Delivered {
                delivery: Delivery::Mail {
                    postal_receipt: "EMS1234567890".to_string(),
                    address: "新郑市新建路 1 号".to_string(),
                },
            },
        );
        let doc = fx.doc(DocumentKind::ResultHandover);
        assert_eq!(doc.title, "办理结果交接单");
        assert_eq!(doc.issued_on, date("2026-03-06"));
        assert_eq!(doc.field("办理结果"), Some("食品经营许可证"));
        assert_eq!(doc.field("送达方式"), Some("邮寄送达"));
        assert_eq!(doc.field("邮寄凭证号"), Some("EMS1234567890"));
        // rule W6.2: notified by the contact on record.
        assert_eq!(doc.field("通知方式"), Some("13800000000"));
        // Friday 6 March → Monday 9 March.
        assert_eq!(doc.field("交接单返还部门期限"), Some("2026年3月9日"));
        assert_eq!(doc.field("交接单返还时间"), Some("尚未返还"));
        assert!(doc.signatures.iter().any(|s| s.contains("邮寄凭证")));
        fx.rec("2026-03-09 09:00", Role::IssuingWindow, EventKind::ResultFormReturned);
        let returned = fx.doc(DocumentKind::ResultHandover);
        assert_eq!(returned.field("交接单返还时间"), Some("2026年3月9日 09:00"));
        assert_eq!(fx.kinds(), [DocumentKind::IntakeReceipt, DocumentKind::ResultHandover]);
    }

    #[test]
    fn result_handover_by_pickup_carries_the_signature() {
        // rule W6.2: pickup — verify and sign.
        let mut fx = approved_case();
        fx.rec(
            "2026-03-06 10:00",
            Role::IssuingWindow,
            EventKind::Delivered { delivery: Delivery::Pickup { signed_by: "张三".to_string() } },
        );
        let doc = fx.doc(DocumentKind::ResultHandover);
        assert_eq!(doc.field("送达方式"), Some("窗口自取"));
        assert_eq!(doc.field("领取人签收"), Some("张三"));
        assert!(doc.field("交接单返还部门期限").is_none());
        assert!(doc.signatures.iter().any(|s| s == "领取人(签字)"));
    }

    #[test]
    fn forms_a_case_does_not_have_are_refused_with_a_stable_code() {
        let normal = normal_case();
        for (kind, code) in [
            (DocumentKind::Commitment, "document.no_tolerance"),
            (DocumentKind::ToleranceReceipt, "document.no_tolerance"),
            (DocumentKind::MaterialsReceived, "document.no_tolerance"),
            (DocumentKind::Denial, "document.no_denial"),
            (DocumentKind::CorrectionNotice, "document.no_correction"),
            (DocumentKind::NonAcceptance, "document.not_refused"),
            (DocumentKind::ResultHandover, "document.not_at_issuing_window"),
        ] {
            let e = normal.build(kind).expect_err("refused");
            assert_eq!(e.code(), code, "{kind:?}");
            assert!(!e.to_string().is_empty());
        }
        let tolerance = tolerance_case(false);
        assert_eq!(
            tolerance.build(DocumentKind::IntakeReceipt).expect_err("tolerance receipt instead").code(),
            "document.tolerance_case"
        );
        assert_eq!(
            tolerance.build(DocumentKind::MaterialsReceived).expect_err("nothing supplied").code(),
            "document.no_supplement"
        );
        let approved = approved_case();
        assert_eq!(approved.build(DocumentKind::Denial).expect_err("approved").code(), "document.no_denial");
        let received =
            Fx::open(header(ItemKind::Promise, None, date("2026-03-02")), "2026-03-02 09:00", all_present());
        assert_eq!(
            received.build(DocumentKind::IntakeReceipt).expect_err("not accepted").code(),
            "document.not_accepted"
        );
        assert!(received.kinds().is_empty());
    }

    #[test]
    fn documents_serialize_with_their_kind() {
        let doc = tolerance_case(false).doc(DocumentKind::Commitment);
        let json = serde_json::to_value(&doc).expect("serializes");
        assert_eq!(json["kind"], "commitment");
        assert_eq!(json["copies"].as_array().map(Vec::len), Some(3));
        let back: Document = serde_json::from_value(json).expect("round trip");
        assert_eq!(back, doc);
    }

    /// Every event of the flows above, to be merged in any subset and order.
    fn event_pool() -> Vec<Event> {
        let d = || DepartmentCode::new(DEPT);
        let mut fx = tolerance_case(false);
        fx.review("2026-03-02 10:00", "2026-03-02 11:00").supply("2026-03-04 10:00", &["M3"]).decide(
            "2026-03-09 10:00",
            Outcome::Deny { reasons: vec!["逾期".to_string()], basis: DenialBasis::ToleranceLapsed },
        );
        let mut pool = fx.case.events.clone();
        pool.extend([
            event("2026-03-02 09:20", clerk(), EventKind::Accepted { presented: vec![] }),
            event(
                "2026-03-02 09:10",
                clerk(),
                EventKind::CorrectionNotice {
                    problems: vec![Problem {
                        material: Some(MaterialCode::new("M9")),
                        description: "x".to_string(),
                    }],
                },
            ),
            event("2026-03-02 09:15", clerk(), EventKind::NotAccepted { reasons: vec!["y".to_string()] }),
            event(
                "2026-03-05 10:00",
                reviewer(),
                EventKind::Decided { outcome: Outcome::Approve { result: "证".to_string() } },
            ),
            event(
                "2026-03-10 10:00",
                reviewer(),
                EventKind::ResultToIssuing { register_entry: "r".to_string() },
            ),
            event("2026-03-10 11:00", Role::IssuingWindow, EventKind::Notified { contact: "c".to_string() }),
            event(
                "2026-03-10 12:00",
                Role::IssuingWindow,
                EventKind::Delivered {
                    delivery: Delivery::Mail { postal_receipt: "p".to_string(), address: "a".to_string() },
                },
            ),
            event("2026-03-10 13:00", reviewer(), EventKind::HandoverSigned { department: d() }),
            event(
                "2026-03-05 12:00",
                clerk(),
                EventKind::SupplementReceived {
                    materials: vec![MaterialCode::new("M4"), MaterialCode::new("M9")],
                },
            ),
        ]);
        pool
    }

    proptest::proptest! {
        #[test]
        fn no_state_makes_a_builder_panic(
            picks in proptest::collection::vec(proptest::bool::ANY, 16),
            day_shift in 0i64..400,
        ) {
            let pool = event_pool();
            let header = header(ItemKind::Promise, None, date("2026-03-02"));
            let chosen: Vec<Event> = pool
                .into_iter()
                .zip(picks.iter().cycle())
                .filter(|(_, keep)| **keep)
                .map(|(mut e, _)| {
                    e.hlc.wall_ms += day_shift * 86_400_000 * i64::from(e.hlc.wall_ms % 2 == 0);
                    e
                })
                .collect();
            let mut case = Case { header, events: Vec::new() };
            case.merge(chosen);
            let state = case.state();
            let cal = WorkCalendar::builtin();
            let kinds = documents_for(&case.header, &state, &cal);
            for kind in DocumentKind::ALL {
                let built = build(kind, &case.header, &state, &cal);
                proptest::prop_assert_eq!(built.is_ok(), kinds.contains(&kind));
                if let Ok(doc) = built {
                    proptest::prop_assert_eq!(doc.kind, kind);
                    proptest::prop_assert!(!doc.copies.is_empty());
                }
            }
        }
    }
}
