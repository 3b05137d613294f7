//! Evaluation (W10): satisfaction ratings (好差评) and performance indicators per department.
//!
//! - [`Rating`]: the five national levels, 非常满意 5 … 非常不满意 1; 2 and 1 are bad reviews.
//!   Every named bad review is called back; [`callback_due`] gives the rectification deadline
//!   (a local choice: default [`RECTIFICATION_WORKDAYS_DEFAULT`], allowed
//!   [`RECTIFICATION_WORKDAYS_MIN`]..=[`RECTIFICATION_WORKDAYS_MAX`] working days).
//! - [`Criterion`]: what is rated — in the hall 服务效率, 服务水平, 服务态度; online 办事效率,
//!   办事指南精确度, 办事便捷度, 平台操作性.
//! - [`indicators`]: the five rates the notice names (标准化率, 无纸化率, 综合办理率, 网上办理率,
//!   联合办理率), plus the on-time rate, the tolerance case count and the ratings, per
//!   department, for the cases received in a period. Each rate is an exact fraction ([`Rate`]);
//!   per-mille values are derived for display, never stored as floats.
//!
//! T5: tolerance cases count here like every case; they are also counted on their own.
//!
//! Pure: the cases, the period and the calendar are passed in.

use std::borrow::Cow;
use std::collections::BTreeMap;

use chrono::NaiveDate;
use schemars::{JsonSchema, Schema, SchemaGenerator, json_schema};
use serde::{Deserialize, Serialize};

use crate::actor::Role;
use crate::calendar::{Deadline, WorkCalendar};
use crate::case::{Case, CaseState, Channel, DutyKind, Level};
use crate::codes::DepartmentCode;
use crate::supervision::{self, Policy};

/// Lowest and highest rating (DOMAIN-FACTS "Evaluation").
pub const RATING_MIN: u8 = 1;
pub const RATING_MAX: u8 = 5;
/// Rectification deadline for a bad review, in working days (local choice; 5 to 15 seen).
pub const RECTIFICATION_WORKDAYS_DEFAULT: u32 = 10;
pub const RECTIFICATION_WORKDAYS_MIN: u32 = 5;
pub const RECTIFICATION_WORKDAYS_MAX: u32 = 15;

/// Why an evaluation input was refused. Messages for the operator; [`IndicatorError::code`] is
/// stable.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum IndicatorError {
    #[error("满意度评价应为 {RATING_MIN} 至 {RATING_MAX},实际为 {score}")]
    RatingOutOfRange { score: u8 },
    #[error(
        "差评整改期限应为 {RECTIFICATION_WORKDAYS_MIN} 至 {RECTIFICATION_WORKDAYS_MAX} 个工作日,实际为 {workdays}"
    )]
    RectificationOutOfRange { workdays: u32 },
    #[error("期限计算超出工作日历的可计算范围:{0}")]
    Calendar(String),
}

impl IndicatorError {
    pub fn code(&self) -> &'static str {
        match self {
            IndicatorError::RatingOutOfRange { .. } => "indicator.rating_range",
            IndicatorError::RectificationOutOfRange { .. } => "indicator.rectification_range",
            IndicatorError::Calendar(_) => "indicator.calendar",
        }
    }
}

// ---------------------------------------------------------------------------------------------
// Ratings
// ---------------------------------------------------------------------------------------------

/// A satisfaction rating, 1 to 5. Built only through [`Rating::new`] (deserializing too).
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[serde(try_from = "u8", into = "u8")]
pub struct Rating(u8);

impl Rating {
    pub fn new(score: u8) -> Result<Rating, IndicatorError> {
        if (RATING_MIN..=RATING_MAX).contains(&score) {
            Ok(Rating(score))
        } else {
            Err(IndicatorError::RatingOutOfRange { score })
        }
    }

    pub fn value(self) -> u8 {
        self.0
    }

    /// 非常满意 5, 满意 4, 基本满意 3, 不满意 2, 非常不满意 1.
    pub fn name_zh(self) -> &'static str {
        match self.0 {
            5 => "非常满意",
            4 => "满意",
            3 => "基本满意",
            2 => "不满意",
            // The constructor admits only 1..=5, so this arm is 1.
            _ => "非常不满意",
        }
    }

    /// 差评: 不满意 (2) and 非常不满意 (1).
    pub fn is_bad(self) -> bool {
        self.0 <= 2
    }

    /// Every named bad review is called back (anonymous ones cannot be).
    pub fn needs_callback(self, named: bool) -> bool {
        named && self.is_bad()
    }
}

impl TryFrom<u8> for Rating {
    type Error = IndicatorError;
    fn try_from(score: u8) -> Result<Rating, IndicatorError> {
        Rating::new(score)
    }
}

impl From<Rating> for u8 {
    fn from(r: Rating) -> u8 {
        r.0
    }
}

impl JsonSchema for Rating {
    fn schema_name() -> Cow<'static, str> {
        Cow::Borrowed("Rating")
    }

    fn schema_id() -> Cow<'static, str> {
        Cow::Borrowed(concat!(module_path!(), "::Rating"))
    }

    fn json_schema(_: &mut SchemaGenerator) -> Schema {
        json_schema!({
            "type": "integer",
            "minimum": RATING_MIN,
            "maximum": RATING_MAX,
            "description": "A satisfaction rating: 5 非常满意, 4 满意, 3 基本满意, 2 不满意, 1 非常不满意.",
        })
    }
}

/// What the hall's rating covers (one rating per visit at the window).
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "snake_case")]
pub enum HallCriterion {
    /// 服务效率
    ServiceEfficiency,
    /// 服务水平
    ServiceLevel,
    /// 服务态度
    ServiceAttitude,
}

/// What the online rating covers (one rating per case online).
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "snake_case")]
pub enum OnlineCriterion {
    /// 办事效率
    Efficiency,
    /// 办事指南精确度
    GuideAccuracy,
    /// 办事便捷度
    Convenience,
    /// 平台操作性
    Operability,
}

/// A rating criterion, hall or online.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize, JsonSchema)]
#[serde(tag = "channel", content = "criterion", rename_all = "snake_case")]
pub enum Criterion {
    Hall(HallCriterion),
    Online(OnlineCriterion),
}

impl Criterion {
    pub const HALL: [Criterion; 3] = [
        Criterion::Hall(HallCriterion::ServiceEfficiency),
        Criterion::Hall(HallCriterion::ServiceLevel),
        Criterion::Hall(HallCriterion::ServiceAttitude),
    ];
    pub const ONLINE: [Criterion; 4] = [
        Criterion::Online(OnlineCriterion::Efficiency),
        Criterion::Online(OnlineCriterion::GuideAccuracy),
        Criterion::Online(OnlineCriterion::Convenience),
        Criterion::Online(OnlineCriterion::Operability),
    ];

    pub fn name_zh(self) -> &'static str {
        match self {
            Criterion::Hall(HallCriterion::ServiceEfficiency) => "服务效率",
            Criterion::Hall(HallCriterion::ServiceLevel) => "服务水平",
            Criterion::Hall(HallCriterion::ServiceAttitude) => "服务态度",
            Criterion::Online(OnlineCriterion::Efficiency) => "办事效率",
            Criterion::Online(OnlineCriterion::GuideAccuracy) => "办事指南精确度",
            Criterion::Online(OnlineCriterion::Convenience) => "办事便捷度",
            Criterion::Online(OnlineCriterion::Operability) => "平台操作性",
        }
    }
}

/// The day by which a bad review rated on `rated_on` must be called back and rectified:
/// `rectification_workdays` working days later (local choice within
/// [`RECTIFICATION_WORKDAYS_MIN`]..=[`RECTIFICATION_WORKDAYS_MAX`]; default
/// [`RECTIFICATION_WORKDAYS_DEFAULT`]). Provisional beyond the loaded calendar years.
pub fn callback_due(
    rated_on: NaiveDate,
    cal: &WorkCalendar,
    rectification_workdays: u32,
) -> Result<Deadline<NaiveDate>, IndicatorError> {
    if !(RECTIFICATION_WORKDAYS_MIN..=RECTIFICATION_WORKDAYS_MAX).contains(&rectification_workdays) {
        return Err(IndicatorError::RectificationOutOfRange { workdays: rectification_workdays });
    }
    cal.add_workdays(rated_on, rectification_workdays).map_err(|e| IndicatorError::Calendar(e.to_string()))
}

// ---------------------------------------------------------------------------------------------
// Rates
// ---------------------------------------------------------------------------------------------

/// An exact fraction: `numerator` of `denominator` cases.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Hash, Serialize, Deserialize, JsonSchema)]
pub struct Rate {
    pub numerator: u64,
    pub denominator: u64,
}

impl Rate {
    pub fn new(numerator: u64, denominator: u64) -> Rate {
        Rate { numerator, denominator }
    }

    /// The fraction in thousandths, rounded half up; `None` when nothing was counted.
    /// (Also serves means: a rating sum over a count gives the mean × 1000.)
    pub fn per_mille(&self) -> Option<u32> {
        if self.denominator == 0 {
            return None;
        }
        let n = u128::from(self.numerator);
        let d = u128::from(self.denominator);
        let rounded = (n * 2_000 + d) / (2 * d);
        Some(u32::try_from(rounded).unwrap_or(u32::MAX))
    }

    /// Counts one case in the denominator, and in the numerator when `hit`.
    fn count(&mut self, hit: bool) {
        self.denominator = self.denominator.saturating_add(1);
        if hit {
            self.numerator = self.numerator.saturating_add(1);
        }
    }

    /// Counts a case only when it belongs to the denominator (`Some`).
    fn count_opt(&mut self, hit: Option<bool>) {
        if let Some(hit) = hit {
            self.count(hit);
        }
    }
}

/// The ratings of a department's cases.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
pub struct RatingSummary {
    pub count: u64,
    pub sum: u64,
    /// Bad reviews (2 and 1).
    pub bad: u64,
    /// The mean rating × 1000, rounded half up (4500 = 4.5); `None` without ratings.
    pub mean_per_mille: Option<u32>,
}

impl RatingSummary {
    fn add(&mut self, r: Rating) {
        self.count = self.count.saturating_add(1);
        self.sum = self.sum.saturating_add(u64::from(r.value()));
        if r.is_bad() {
            self.bad = self.bad.saturating_add(1);
        }
        self.mean_per_mille = Rate::new(self.sum, self.count).per_mille();
    }
}

// ---------------------------------------------------------------------------------------------
// Per-case facts
// ---------------------------------------------------------------------------------------------

/// What one case contributes to its department's indicators. `None` means the case is not in
/// that rate's denominator (see [`DepartmentIndicators`] for each definition).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, JsonSchema)]
pub struct CaseFacts {
    pub department: DepartmentCode,
    pub received_on: NaiveDate,
    pub standardised: Option<bool>,
    pub paperless: Option<bool>,
    pub comprehensive: Option<bool>,
    pub online: bool,
    pub joint: bool,
    pub on_time: Option<bool>,
    /// Decided, but the limit could not be computed (calendar out of range).
    pub on_time_unassessed: bool,
    /// The on-time answer rests on days outside the loaded calendar years.
    pub on_time_provisional: bool,
    pub tolerance: bool,
    pub ratings: Vec<Rating>,
}

/// The facts of one case, from its events and folded state. `None` for a case without a receipt
/// (only seen when a merge delivered later events first).
pub fn case_facts(case: &Case, st: &CaseState, cal: &WorkCalendar) -> Option<CaseFacts> {
    let received_on = st.received_at?.date();
    let header = &case.header;
    let accepted = st.accepted_at.is_some();
    let online = matches!(st.channel, Some(Channel::Online { .. }));

    let standardised = if accepted {
        Some(st.corrections.is_empty())
    } else if !st.corrections.is_empty() {
        Some(false)
    } else {
        None
    };
    let paperless =
        accepted.then(|| online && st.handovers.values().all(|h| h.handed_at.is_none() || !h.paper));
    let comprehensive = st.accepted_by.as_ref().map(|a| a.role == Role::WindowClerk);

    let mut on_time = None;
    let mut on_time_unassessed = false;
    let mut on_time_provisional = false;
    if let Some(decision) = &st.decision {
        match supervision::assess_case(header, st, decision.at, cal, &Policy::default()) {
            Ok(assessments) => {
                if let Some(a) = assessments.iter().find(|a| a.kind == DutyKind::Decision) {
                    on_time = Some(a.level < Level::Yellow);
                    on_time_provisional = a.provisional;
                }
            }
            Err(_) => on_time_unassessed = true,
        }
    }

    Some(CaseFacts {
        department: header.item.department.clone(),
        received_on,
        standardised,
        paperless,
        comprehensive,
        online,
        joint: header.item.joint.is_joint(),
        on_time,
        on_time_unassessed,
        on_time_provisional,
        tolerance: st.tolerance.is_some(),
        ratings: st.ratings.iter().filter_map(|s| Rating::new(*s).ok()).collect(),
    })
}

// ---------------------------------------------------------------------------------------------
// Department indicators
// ---------------------------------------------------------------------------------------------

/// One department's indicators for the cases received in a period (W10). A case counts for the
/// department that owns its item (`item.department`), joint items included.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
pub struct DepartmentIndicators {
    pub department: DepartmentCode,
    /// Cases received in the period.
    pub cases: u64,
    /// 标准化率: of the cases whose intake ended in acceptance or a correction notice, those
    /// accepted on the first intake round — the published guide and material list sufficed, no
    /// correction notice (online pre-acceptance corrections included) was needed. Cases refused,
    /// withdrawn before an answer, or still awaiting one are not counted.
    pub standardisation: Rate,
    /// 无纸化率: of the accepted cases, those applied for online whose handovers were all
    /// electronic (no handover recorded with paper; handovers still pending do not count
    /// against).
    pub paperless: Rate,
    /// 综合办理率 (one-window rate): of the accepted cases, those whose acceptance was recorded
    /// by the comprehensive window (a window clerk) rather than the department's own staff.
    pub comprehensive: Rate,
    /// 网上办理率: of the cases, those applied for online.
    pub online: Rate,
    /// 联合办理率: of the cases, those of joint items (serial or parallel).
    pub joint: Rate,
    /// Of the decided cases, those decided within the promised limit (the decision duty of
    /// supervision stayed below a yellow card; special-procedure pauses extend the limit).
    /// Upward items are decided above the county and are not counted.
    pub on_time: Rate,
    /// Decided cases whose limit could not be computed (calendar out of range): left out of
    /// `on_time`.
    pub on_time_unassessed: u64,
    /// Some on-time answer rests on days outside the loaded calendar years.
    pub on_time_provisional: bool,
    /// Tolerance cases among `cases` (T5: they are counted in every rate like any case).
    pub tolerance_cases: u64,
    pub ratings: RatingSummary,
}

impl DepartmentIndicators {
    fn new(department: DepartmentCode) -> Self {
        DepartmentIndicators {
            department,
            cases: 0,
            standardisation: Rate::default(),
            paperless: Rate::default(),
            comprehensive: Rate::default(),
            online: Rate::default(),
            joint: Rate::default(),
            on_time: Rate::default(),
            on_time_unassessed: 0,
            on_time_provisional: false,
            tolerance_cases: 0,
            ratings: RatingSummary::default(),
        }
    }

    fn add(&mut self, f: &CaseFacts) {
        self.cases = self.cases.saturating_add(1);
        self.standardisation.count_opt(f.standardised);
        self.paperless.count_opt(f.paperless);
        self.comprehensive.count_opt(f.comprehensive);
        self.online.count(f.online);
        self.joint.count(f.joint);
        self.on_time.count_opt(f.on_time);
        if f.on_time_unassessed {
            self.on_time_unassessed = self.on_time_unassessed.saturating_add(1);
        }
        self.on_time_provisional |= f.on_time_provisional;
        if f.tolerance {
            self.tolerance_cases = self.tolerance_cases.saturating_add(1);
        }
        for r in &f.ratings {
            self.ratings.add(*r);
        }
    }
}

/// The indicators of every department with cases received in `[from, to]` (both days
/// included), ordered by department code. Empty when `from > to`.
pub fn indicators(
    cases: &[Case],
    from: NaiveDate,
    to: NaiveDate,
    cal: &WorkCalendar,
) -> Vec<DepartmentIndicators> {
    let mut by_department: BTreeMap<DepartmentCode, DepartmentIndicators> = BTreeMap::new();
    for case in cases {
        let st = case.state();
        if !st.received_at.is_some_and(|r| (from..=to).contains(&r.date())) {
            continue;
        }
        let Some(facts) = case_facts(case, &st, cal) else {
            continue;
        };
        by_department
            .entry(facts.department.clone())
            .or_insert_with(|| DepartmentIndicators::new(facts.department.clone()))
            .add(&facts);
    }
    by_department.into_values().collect()
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::actor::Actor;
    use crate::case::EventKind;
    use crate::case::{
        CaseHeader, CommandContext, Commitment, Condition, Event, Outcome, PreAcceptance, PresentedMaterial,
        Problem, Signatory,
    };
    use crate::catalog::{BusinessArea, Item, ItemKind, ItemType, JointMode, Material, MaterialClass};
    use crate::codes::{ItemCode, MaterialCode, NodeName, StaffId};
    use crate::hlc::{Hlc, ms_from_local};
    use crate::ids::{Applicant, ApplicantId, CaseNumber, NodeCode};
    use crate::tolerance::DishonestyList;
    use chrono::NaiveDateTime;

    const FOOD: &str = "SCJGJ";
    const ESTATE: &str = "BDCDJ";

    fn date(s: &str) -> NaiveDate {
        NaiveDate::parse_from_str(s, "%Y-%m-%d").expect("test date")
    }

    fn at(s: &str) -> NaiveDateTime {
        NaiveDateTime::parse_from_str(s, "%Y-%m-%d %H:%M").expect("test datetime")
    }

    fn dept(code: &str) -> DepartmentCode {
        DepartmentCode::new(code)
    }

    fn food_item() -> Item {
        let m = |code: &str, name: &str, class| Material {
            code: MaterialCode::new(code),
            name: name.to_string(),
            class,
            paper: true,
        };
        Item {
            code: ItemCode::new("SCJG001"),
            name: "食品经营许可".to_string(),
            department: dept(FOOD),
            item_type: ItemType::Licensing,
            kind: ItemKind::Promise,
            promised_days: 15,
            statutory_days: 20,
            tolerance: true,
            materials: vec![
                m("M1", "营业执照", MaterialClass::Key),
                m("M2", "经营场所使用证明", MaterialClass::Tolerable),
            ],
            joint: JointMode::None,
            appointment: None,
            area: BusinessArea::Other,
            effective_from: date("2025-01-01"),
            cancelled_from: None,
            revision: 1,
        }
    }

    /// A joint real-estate item: the centre keeps its own intake staff (W3.2).
    fn estate_item() -> Item {
        Item {
            code: ItemCode::new("BDC001"),
            name: "不动产转移登记".to_string(),
            department: dept(ESTATE),
            area: BusinessArea::RealEstate,
            tolerance: false,
            joint: JointMode::Parallel { departments: vec![dept(ESTATE), dept("SWJ")], lead: dept(ESTATE) },
            ..food_item()
        }
    }

    fn header(item: Item, serial: u32) -> CaseHeader {
        CaseHeader {
            number: CaseNumber::new(NodeCode::parse("410184001").expect("valid"), date("2026-03-02"), serial)
                .expect("valid"),
            applicant: Applicant::new(
                ApplicantId::parse("11010519491231002X").expect("valid"),
                "张三",
                None,
                None,
            )
            .expect("valid"),
            agent: None,
            item,
            catalog_version: "2026.3".to_string(),
            origin: NodeName::new("hall"),
            scope: "hall".to_string(),
        }
    }

    fn present(codes: &[&str]) -> Vec<PresentedMaterial> {
        codes
            .iter()
            .map(|c| PresentedMaterial { code: MaterialCode::new(*c), condition: Condition::Present })
            .collect()
    }

    /// A case driven through the real command gate.
    struct Fx {
        case: Option<Case>,
        header: CaseHeader,
        cal: WorkCalendar,
        list: DishonestyList,
    }

    impl Fx {
        fn new(item: Item, serial: u32) -> Fx {
            Fx {
                case: None,
                header: header(item, serial),
                cal: WorkCalendar::builtin(),
                list: DishonestyList::default(),
            }
        }

        fn rec(mut self, when: &str, role: Role, kind: EventKind) -> Fx {
            let name = kind.name_zh();
            let event = Event {
                hlc: Hlc { wall_ms: ms_from_local(at(when)), counter: 0, node: NodeName::new("hall") },
                actor: Actor { staff: StaffId::new("s1"), role, node: NodeName::new("hall") },
                kind,
            };
            let ctx = CommandContext { calendar: &self.cal, dishonesty: &self.list };
            let result = match self.case.as_mut() {
                Some(case) => case.record(event, &ctx).map(|_| ()),
                None => Case::open(self.header.clone(), event, &ctx).map(|c| self.case = Some(c)),
            };
            if let Err(e) = result {
                panic!("{name} at {when} refused: {e}");
            }
            self
        }

        fn receive(self, when: &str, channel: Channel, presented: Vec<PresentedMaterial>) -> Fx {
            self.rec(when, Role::WindowClerk, EventKind::Received { channel, presented })
        }

        fn accept(self, when: &str, by: Role) -> Fx {
            self.rec(when, by, EventKind::Accepted { presented: vec![] })
        }

        /// Hands over to and signs for every department of the item.
        fn review(mut self, when: &str, paper: bool) -> Fx {
            for d in self.header.item.departments() {
                self = self
                    .rec(when, Role::WindowClerk, EventKind::HandedOver { department: d.clone(), paper })
                    .rec(
                        &bump(when),
                        Role::DepartmentReviewer(d.clone()),
                        EventKind::HandoverSigned { department: d },
                    );
            }
            self
        }

        fn approve(self, when: &str) -> Fx {
            let lead = Role::DepartmentReviewer(self.header.item.lead_department().clone());
            self.rec(when, lead, EventKind::Decided { outcome: Outcome::Approve { result: "许可证".into() } })
        }

        fn rate(self, when: &str, score: u8) -> Fx {
            self.rec(when, Role::WindowClerk, EventKind::Rated { score })
        }

        fn done(self) -> Case {
            self.case.expect("case opened")
        }
    }

    /// One minute later (distinct HLC stamps for paired events).
    fn bump(when: &str) -> String {
        (at(when) + chrono::Duration::minutes(1)).format("%Y-%m-%d %H:%M").to_string()
    }

    fn department<'a>(all: &'a [DepartmentIndicators], code: &str) -> &'a DepartmentIndicators {
        all.iter().find(|d| d.department.as_str() == code).expect("department present")
    }

    fn cases() -> Vec<Case> {
        let clerk = Role::WindowClerk;
        vec![
            // 1. Hall, complete, on time, rated 5.
            Fx::new(food_item(), 1)
                .receive("2026-03-02 09:00", Channel::Hall, present(&["M1", "M2"]))
                .accept("2026-03-02 09:10", clerk.clone())
                .review("2026-03-02 10:00", true)
                .approve("2026-03-03 10:00")
                .rate("2026-03-03 11:00", 5)
                .done(),
            // 2. Corrected once, then accepted; undecided; rated 2 (a bad review).
            Fx::new(food_item(), 2)
                .receive("2026-03-02 09:00", Channel::Hall, present(&["M2"]))
                .rec(
                    "2026-03-02 09:05",
                    clerk.clone(),
                    EventKind::CorrectionNotice {
                        problems: vec![Problem {
                            material: Some(MaterialCode::new("M1")),
                            description: "未提交".into(),
                        }],
                    },
                )
                .rec(
                    "2026-03-03 09:00",
                    clerk.clone(),
                    EventKind::Resubmitted { presented: present(&["M1"]) },
                )
                .accept("2026-03-03 09:10", clerk.clone())
                .rate("2026-03-03 09:20", 2)
                .done(),
            // 3. Online, electronic handover, decided late (15 working days end 23 March).
            Fx::new(food_item(), 3)
                .receive(
                    "2026-03-02 09:00",
                    Channel::Online { portal_ref: "WT-1".into() },
                    present(&["M1", "M2"]),
                )
                .rec(
                    "2026-03-02 10:00",
                    clerk.clone(),
                    EventKind::PreAccepted { result: PreAcceptance::Pass { paper_required: false } },
                )
                .accept("2026-03-02 10:10", clerk.clone())
                .review("2026-03-02 11:00", false)
                .approve("2026-03-30 10:00")
                .done(),
            // 4. Tolerance acceptance, supplied, decided on time.
            Fx::new(food_item(), 4)
                .receive("2026-03-02 09:00", Channel::Hall, present(&["M1"]))
                .rec(
                    "2026-03-02 09:10",
                    clerk.clone(),
                    EventKind::ToleranceAccepted {
                        presented: vec![],
                        commitment: Commitment {
                            materials: vec![MaterialCode::new("M2")],
                            deadline: date("2026-03-06"),
                            window: "3 号窗口".into(),
                            signed_by: Signatory::Applicant,
                            dishonesty_list_version: 0,
                        },
                    },
                )
                .review("2026-03-02 10:00", true)
                .rec(
                    "2026-03-04 10:00",
                    clerk.clone(),
                    EventKind::SupplementReceived { materials: vec![MaterialCode::new("M2")] },
                )
                .approve("2026-03-05 10:00")
                .done(),
            // 5. Not accepted.
            Fx::new(food_item(), 5)
                .receive("2026-03-02 09:00", Channel::Hall, present(&["M1", "M2"]))
                .rec(
                    "2026-03-02 09:10",
                    clerk.clone(),
                    EventKind::NotAccepted { reasons: vec!["不属于本机关职权范围".into()] },
                )
                .done(),
            // 6. Received after the period.
            Fx::new(food_item(), 6)
                .receive("2026-04-10 09:00", Channel::Hall, present(&["M1", "M2"]))
                .accept("2026-04-10 09:10", clerk.clone())
                .done(),
            // 7. Joint real-estate item, accepted by the centre's own staff.
            Fx::new(estate_item(), 7)
                .receive("2026-03-02 09:00", Channel::Hall, present(&["M1", "M2"]))
                .accept("2026-03-02 09:10", Role::DepartmentReviewer(dept(ESTATE)))
                .done(),
        ]
    }

    #[test]
    fn department_indicators_count_each_rate_exactly() {
        // rule W10: standardisation, paperless, one-window, online and joint-handling rates,
        // per department, with ratings.
        // rule T5: the tolerance case counts in every rate like any case, and on its own.
        let cal = WorkCalendar::builtin();
        let all = indicators(&cases(), date("2026-03-01"), date("2026-03-31"), &cal);
        let codes: Vec<&str> = all.iter().map(|d| d.department.as_str()).collect();
        assert_eq!(codes, [ESTATE, FOOD], "ordered by department code");

        let food = department(&all, FOOD);
        assert_eq!(food.cases, 5);
        assert_eq!(food.standardisation, Rate::new(3, 4));
        assert_eq!(food.paperless, Rate::new(1, 4));
        assert_eq!(food.comprehensive, Rate::new(4, 4));
        assert_eq!(food.online, Rate::new(1, 5));
        assert_eq!(food.joint, Rate::new(0, 5));
        assert_eq!(food.on_time, Rate::new(2, 3));
        assert_eq!(food.on_time_unassessed, 0);
        assert!(!food.on_time_provisional);
        assert_eq!(food.tolerance_cases, 1);
        assert_eq!(food.ratings, RatingSummary { count: 2, sum: 7, bad: 1, mean_per_mille: Some(3_500) });
        assert_eq!(food.standardisation.per_mille(), Some(750));
        assert_eq!(food.on_time.per_mille(), Some(667));

        let estate = department(&all, ESTATE);
        assert_eq!(estate.cases, 1);
        assert_eq!(estate.comprehensive, Rate::new(0, 1));
        assert_eq!(estate.joint, Rate::new(1, 1));
        assert_eq!(estate.on_time, Rate::new(0, 0));
        assert_eq!(estate.on_time.per_mille(), None);
        assert_eq!(estate.ratings.mean_per_mille, None);

        let json = serde_json::to_value(&all).expect("serializes");
        assert_eq!(json[1]["standardisation"]["numerator"], 3);
    }

    #[test]
    fn the_period_is_inclusive_and_filters_by_receipt() {
        // rule W10: only cases received in [from, to].
        let cal = WorkCalendar::builtin();
        let all = cases();
        let april = indicators(&all, date("2026-04-10"), date("2026-04-10"), &cal);
        assert_eq!(april.len(), 1);
        assert_eq!(april[0].cases, 1);
        assert!(indicators(&all, date("2026-03-31"), date("2026-03-01"), &cal).is_empty());
        assert!(indicators(&[], date("2026-03-01"), date("2026-03-31"), &cal).is_empty());
    }

    #[test]
    fn ratings_have_five_levels_and_two_bad_ones() {
        // rule W10: 非常满意 5 … 非常不满意 1; 2 and 1 are bad reviews.
        let names: Vec<&str> = (1..=5).map(|s| Rating::new(s).expect("in range").name_zh()).collect();
        assert_eq!(names, ["非常不满意", "不满意", "基本满意", "满意", "非常满意"]);
        let bad: Vec<u8> = (1..=5).filter(|s| Rating::new(*s).is_ok_and(Rating::is_bad)).collect();
        assert_eq!(bad, [1, 2]);
        for score in [0, 6, u8::MAX] {
            let e = Rating::new(score).expect_err("out of range");
            assert_eq!(e.code(), "indicator.rating_range");
        }
        assert!(Rating::new(1).is_ok_and(|r| r.needs_callback(true)));
        assert!(!Rating::new(1).is_ok_and(|r| r.needs_callback(false)));
        assert!(!Rating::new(3).is_ok_and(|r| r.needs_callback(true)));
        assert!(serde_json::from_str::<Rating>("6").is_err());
        assert_eq!(serde_json::from_str::<Rating>("4").ok(), Rating::new(4).ok());
    }

    #[test]
    fn criteria_cover_hall_and_online() {
        // rule W10: hall 服务效率/服务水平/服务态度; online 办事效率/办事指南精确度/办事便捷度/平台操作性.
        let hall: Vec<&str> = Criterion::HALL.iter().map(|c| c.name_zh()).collect();
        assert_eq!(hall, ["服务效率", "服务水平", "服务态度"]);
        let online: Vec<&str> = Criterion::ONLINE.iter().map(|c| c.name_zh()).collect();
        assert_eq!(online, ["办事效率", "办事指南精确度", "办事便捷度", "平台操作性"]);
    }

    #[test]
    fn bad_reviews_are_called_back_within_the_local_deadline() {
        // rule W10: rectification within 5 to 15 working days (default 10).
        let cal = WorkCalendar::builtin();
        let due = callback_due(date("2026-09-25"), &cal, RECTIFICATION_WORKDAYS_DEFAULT).expect("in range");
        // Rated on the Mid-Autumn holiday: 28-30 Sept, National Day off, 8-9 Oct, the make-up
        // Saturday 10 Oct, then 12-15 Oct.
        assert_eq!(due.at, date("2026-10-15"));
        assert!(!due.provisional);
        for days in [4, 16] {
            let e = callback_due(date("2026-03-02"), &cal, days).expect_err("out of range");
            assert_eq!(e.code(), "indicator.rectification_range");
        }
        assert!(callback_due(date("2026-03-02"), &cal, 5).is_ok());
        assert!(callback_due(date("2026-03-02"), &cal, 15).is_ok());
        assert!(callback_due(date("2026-12-30"), &cal, 5).is_ok_and(|d| d.provisional));
    }

    #[test]
    fn per_mille_is_exact_and_rounds_half_up() {
        assert_eq!(Rate::new(0, 0).per_mille(), None);
        assert_eq!(Rate::new(1, 3).per_mille(), Some(333));
        assert_eq!(Rate::new(2, 3).per_mille(), Some(667));
        assert_eq!(Rate::new(1, 2000).per_mille(), Some(1));
        assert_eq!(Rate::new(3, 4).per_mille(), Some(750));
        assert_eq!(Rate::new(u64::MAX, u64::MAX).per_mille(), Some(1_000));
        assert_eq!(Rate::new(u64::MAX, 1).per_mille(), Some(u32::MAX));
    }

    proptest::proptest! {
        #[test]
        fn per_mille_matches_the_exact_fraction(n in 0u64..1_000_000, d in 1u64..1_000_000) {
            let p = u128::from(Rate::new(n, d).per_mille().unwrap_or(u32::MAX));
            // |p/1000 - n/d| <= 1/2000, in integers.
            let lhs = (p * 2 * u128::from(d)).abs_diff(u128::from(n) * 2_000);
            proptest::prop_assert!(lhs <= u128::from(d));
        }
    }
}
