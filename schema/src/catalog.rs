//! The item catalog (事项清单 / 标准化成果): items, their materials and time limits (T4, W3.6, W11).
//!
//! A [`Catalog`] is plain data. Cases embed a snapshot of the [`Item`] they were accepted under, so
//! a later adjustment never rewrites the past.
//!
//! - Parsing: [`Catalog::from_toml`] reads the human-edited TOML file and reports **every** problem
//!   it finds, each with its line, so an operator fixes the file in one pass. [`Catalog::to_toml`]
//!   writes a file that parses back to the same catalog.
//! - Rules: [`Catalog::item_for_intake`] refuses unknown, not-yet-effective and cancelled items
//!   (W11); [`Item::check_demanded`] refuses materials the catalog does not list (W3.6); each item
//!   says whether it is on the published tolerance list and which of its materials are tolerable
//!   (T4, T1 b).
//! - Changes: [`Catalog::adjust`] is the only way to change a catalog (W11); it yields a new
//!   catalog with a new version string, validated like a parsed file. Who may adjust is checked
//!   elsewhere.
//!
//! The TOML format (see `schema/data/sample-catalog.toml`):
//!
//! ```toml
//! version = "2026.3"
//! sample = true
//! title = "示例事项清单(样例数据,非官方)"
//!
//! [[departments]]
//! code = "BDCDJ"
//! name = "县不动产登记中心"
//!
//! [[items]]
//! code = "BDC002"
//! name = "国有建设用地使用权及房屋所有权转移登记"
//! department = "BDCDJ"
//! item_type = "07"             # 国家事项类型编码
//! kind = "promise"             # instant 即办件 | promise 承诺件 | upward 上报件
//! area = "real_estate"
//! promised_days = 5            # 承诺办结时限(工作日)
//! statutory_days = 30          # 法定时限(工作日)
//! tolerance = true             # 列入容缺受理清单
//! effective_from = 2025-01-01
//! revision = 1
//! appointment = { average_daily_volume = 180 }
//! joint = { mode = "serial", departments = ["ZJJ", "SWJ", "BDCDJ"] }   # absent = not joint
//!
//! [[items.materials]]
//! code = "M01"
//! name = "不动产登记申请书"
//! class = "key"                # key 关键材料 | tolerable 可容缺材料
//! paper = true                 # 须提交纸质原件
//! ```

use std::collections::{BTreeMap, BTreeSet};
use std::fmt;
use std::ops::Range;

use chrono::{Datelike, NaiveDate};
use schemars::JsonSchema;
use serde::de::{self, Deserializer, MapAccess, SeqAccess, Visitor};
use serde::{Deserialize, Serialize};
use toml::Spanned;

use crate::codes::{DepartmentCode, ItemCode, MaterialCode};

/// The most items one catalog may hold.
pub const ITEMS_MAX: usize = 10_000;
/// The most materials one item may list.
pub const MATERIALS_PER_ITEM_MAX: usize = 200;
/// The longest name (of a catalog, department, item or material), in characters.
pub const NAME_CHARS_MAX: usize = 200;
/// The most departments one catalog may hold.
pub const DEPARTMENTS_MAX: usize = 1_000;
/// The longest code (item, department, material) and version string, in characters.
pub const CODE_CHARS_MAX: usize = 64;
/// The longest time limit, in working days (a sanity bound; real limits are well below it).
pub const DAYS_MAX: u32 = 1_000;
/// The largest average daily volume an appointment-eligible item may declare.
pub const DAILY_VOLUME_MAX: u32 = 100_000;
/// The largest catalog file accepted, in bytes.
pub const TEXT_BYTES_MAX: usize = 64 * 1024 * 1024;
/// Dates in a catalog lie within these years (TOML dates have four-digit years).
pub const YEAR_MIN: i32 = 1900;
/// See [`YEAR_MIN`].
pub const YEAR_MAX: i32 = 9999;

/// The embedded sample catalog (clearly labelled sample data, not an official list).
pub const SAMPLE_TOML: &str = include_str!("../data/sample-catalog.toml");

// ---------------------------------------------------------------------------------------------
// The data
// ---------------------------------------------------------------------------------------------

/// A published catalog (事项清单), one version of it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
pub struct Catalog {
    /// Version string, e.g. "2026.3"; each adjustment yields a new one ("2026.3+1", "2026.3+2"…).
    pub version: String,
    /// True for sample data (never an official list).
    pub sample: bool,
    pub title: String,
    pub departments: Vec<Department>,
    pub items: Vec<Item>,
}

/// A department (职能部门) that owns or takes part in items.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
pub struct Department {
    pub code: DepartmentCode,
    pub name: String,
}

/// One item (事项) of the catalog.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
pub struct Item {
    pub code: ItemCode,
    pub name: String,
    /// The department that owns the item.
    pub department: DepartmentCode,
    /// National catalogue type (事项类型).
    pub item_type: ItemType,
    /// 即办件 / 承诺件 / 上报件.
    pub kind: ItemKind,
    /// 承诺办结时限, working days (0 allowed only for instant items).
    pub promised_days: u32,
    /// 法定时限, working days; never less than `promised_days`.
    pub statutory_days: u32,
    /// On the published tolerance list (容缺受理清单, T4).
    pub tolerance: bool,
    pub materials: Vec<Material>,
    /// Joint handling (W4.3).
    pub joint: JointMode,
    /// Present when appointments are offered (W1.2); the quota (W1.3) is computed elsewhere.
    pub appointment: Option<AppointmentInfo>,
    pub area: BusinessArea,
    /// First day the item may be accepted (W11).
    pub effective_from: NaiveDate,
    /// First day the item is no longer accepted (W11).
    pub cancelled_from: Option<NaiveDate>,
    /// Item version, 1 when added, bumped by each W11 adjustment.
    pub revision: u32,
}

/// National catalogue item types (事项类型), serialized as their two-digit code.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize, JsonSchema)]
pub enum ItemType {
    /// 01 行政许可
    #[serde(rename = "01")]
    Licensing,
    /// 02 行政处罚
    #[serde(rename = "02")]
    Penalty,
    /// 03 行政强制
    #[serde(rename = "03")]
    Coercion,
    /// 04 行政征收
    #[serde(rename = "04")]
    Levy,
    /// 05 行政给付
    #[serde(rename = "05")]
    Benefit,
    /// 06 行政检查
    #[serde(rename = "06")]
    Inspection,
    /// 07 行政确认
    #[serde(rename = "07")]
    Confirmation,
    /// 08 行政奖励
    #[serde(rename = "08")]
    Reward,
    /// 09 行政裁决
    #[serde(rename = "09")]
    Adjudication,
    /// 10 其他行政权力
    #[serde(rename = "10")]
    OtherPower,
    /// 20 公共服务
    #[serde(rename = "20")]
    PublicService,
}

impl ItemType {
    pub const ALL: [ItemType; 11] = [
        ItemType::Licensing,
        ItemType::Penalty,
        ItemType::Coercion,
        ItemType::Levy,
        ItemType::Benefit,
        ItemType::Inspection,
        ItemType::Confirmation,
        ItemType::Reward,
        ItemType::Adjudication,
        ItemType::OtherPower,
        ItemType::PublicService,
    ];

    /// The two-digit national code, e.g. "01".
    pub fn code(&self) -> &'static str {
        match self {
            ItemType::Licensing => "01",
            ItemType::Penalty => "02",
            ItemType::Coercion => "03",
            ItemType::Levy => "04",
            ItemType::Benefit => "05",
            ItemType::Inspection => "06",
            ItemType::Confirmation => "07",
            ItemType::Reward => "08",
            ItemType::Adjudication => "09",
            ItemType::OtherPower => "10",
            ItemType::PublicService => "20",
        }
    }

    pub fn from_code(code: &str) -> Option<ItemType> {
        ItemType::ALL.into_iter().find(|t| t.code() == code)
    }

    pub fn name_zh(&self) -> &'static str {
        match self {
            ItemType::Licensing => "行政许可",
            ItemType::Penalty => "行政处罚",
            ItemType::Coercion => "行政强制",
            ItemType::Levy => "行政征收",
            ItemType::Benefit => "行政给付",
            ItemType::Inspection => "行政检查",
            ItemType::Confirmation => "行政确认",
            ItemType::Reward => "行政奖励",
            ItemType::Adjudication => "行政裁决",
            ItemType::OtherPower => "其他行政权力",
            ItemType::PublicService => "公共服务",
        }
    }
}

/// Case kind (办件类型, W3).
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "lowercase")]
pub enum ItemKind {
    /// 即办件: handled on the spot by the department's own staff (W3.3).
    Instant,
    /// 承诺件: accepted at the window, decided within the promised limit (W3.2).
    Promise,
    /// 上报件: a higher level decides; the county checks and reports upward (W8).
    Upward,
}

impl ItemKind {
    pub fn name_zh(&self) -> &'static str {
        match self {
            ItemKind::Instant => "即办件",
            ItemKind::Promise => "承诺件",
            ItemKind::Upward => "上报件",
        }
    }

    /// The code used by provincial exchange specs: 1 即办件, 2 承诺件, 4 上报件.
    pub fn exchange_code(&self) -> u8 {
        match self {
            ItemKind::Instant => 1,
            ItemKind::Promise => 2,
            ItemKind::Upward => 4,
        }
    }

    fn key(&self) -> &'static str {
        match self {
            ItemKind::Instant => "instant",
            ItemKind::Promise => "promise",
            ItemKind::Upward => "upward",
        }
    }
}

/// A material (申报材料) an item requires.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
pub struct Material {
    /// Unique within its item.
    pub code: MaterialCode,
    pub name: String,
    pub class: MaterialClass,
    /// The original must be presented on paper.
    pub paper: bool,
}

/// Key (主要/关键, never tolerable) or tolerable (非关键性, 可容缺) — T1, T4.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "lowercase")]
pub enum MaterialClass {
    Key,
    Tolerable,
}

impl MaterialClass {
    pub fn name_zh(&self) -> &'static str {
        match self {
            MaterialClass::Key => "关键材料",
            MaterialClass::Tolerable => "可容缺材料",
        }
    }

    fn key(&self) -> &'static str {
        match self {
            MaterialClass::Key => "key",
            MaterialClass::Tolerable => "tolerable",
        }
    }
}

/// Joint handling of an item (W4.3).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, Default, JsonSchema)]
#[serde(tag = "mode", rename_all = "lowercase")]
pub enum JointMode {
    /// One department handles the item.
    #[default]
    None,
    /// 前后置 (serial): materials go to the first (lead) department, which passes them on in order.
    Serial { departments: Vec<DepartmentCode> },
    /// 并联 (parallel): materials go to all departments at once, led by `lead`.
    Parallel { departments: Vec<DepartmentCode>, lead: DepartmentCode },
}

impl JointMode {
    pub fn is_joint(&self) -> bool {
        !matches!(self, JointMode::None)
    }

    pub fn name_zh(&self) -> &'static str {
        match self {
            JointMode::None => "单部门办理",
            JointMode::Serial { .. } => "串联办理(前后置)",
            JointMode::Parallel { .. } => "并联办理",
        }
    }

    /// The lead department; `own` (the item's department) when not joint.
    pub fn lead<'a>(&'a self, own: &'a DepartmentCode) -> &'a DepartmentCode {
        match self {
            JointMode::None => own,
            JointMode::Serial { departments } => departments.first().unwrap_or(own),
            JointMode::Parallel { lead, .. } => lead,
        }
    }

    /// Every department involved, lead first, then the others in catalog order (for serial: the
    /// order materials travel), each once; `own` is included even if the list omits it.
    pub fn departments(&self, own: &DepartmentCode) -> Vec<DepartmentCode> {
        let lead = self.lead(own);
        let listed: &[DepartmentCode] = match self {
            JointMode::None => &[],
            JointMode::Serial { departments } | JointMode::Parallel { departments, .. } => departments,
        };
        let mut out = vec![lead.clone()];
        for d in listed.iter().chain(std::iter::once(own)) {
            if !out.contains(d) {
                out.push(d.clone());
            }
        }
        out
    }

    fn listed(&self) -> &[DepartmentCode] {
        match self {
            JointMode::None => &[],
            JointMode::Serial { departments } | JointMode::Parallel { departments, .. } => departments,
        }
    }
}

/// Appointment data of an appointment-eligible item (W1.2).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
pub struct AppointmentInfo {
    /// Average number of cases per day; the W1.3 quota is computed elsewhere from it.
    pub average_daily_volume: u32,
}

/// Business area of an item; W1.2 offers appointments only in the first three.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "snake_case")]
pub enum BusinessArea {
    /// 房屋交易与不动产登记
    RealEstate,
    /// 住房公积金
    HousingFund,
    /// 社会保障
    SocialSecurity,
    /// 企业注册登记
    EnterpriseRegistration,
    /// 建设项目审批
    ConstructionApproval,
    /// 其他
    Other,
}

impl BusinessArea {
    pub const ALL: [BusinessArea; 6] = [
        BusinessArea::RealEstate,
        BusinessArea::HousingFund,
        BusinessArea::SocialSecurity,
        BusinessArea::EnterpriseRegistration,
        BusinessArea::ConstructionApproval,
        BusinessArea::Other,
    ];

    /// W1.2: appointments are offered for real estate, housing fund and social security.
    pub fn appointments_allowed(&self) -> bool {
        matches!(self, BusinessArea::RealEstate | BusinessArea::HousingFund | BusinessArea::SocialSecurity)
    }

    pub fn name_zh(&self) -> &'static str {
        match self {
            BusinessArea::RealEstate => "房屋交易与不动产登记",
            BusinessArea::HousingFund => "住房公积金",
            BusinessArea::SocialSecurity => "社会保障",
            BusinessArea::EnterpriseRegistration => "企业注册登记",
            BusinessArea::ConstructionApproval => "建设项目审批",
            BusinessArea::Other => "其他",
        }
    }

    /// The key used in TOML and JSON, e.g. "real_estate".
    pub fn key(&self) -> &'static str {
        match self {
            BusinessArea::RealEstate => "real_estate",
            BusinessArea::HousingFund => "housing_fund",
            BusinessArea::SocialSecurity => "social_security",
            BusinessArea::EnterpriseRegistration => "enterprise_registration",
            BusinessArea::ConstructionApproval => "construction_approval",
            BusinessArea::Other => "other",
        }
    }
}

/// Where an item stands on a given day (W11).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "snake_case")]
pub enum ItemStatus {
    /// Listed, but its `effective_from` is still ahead: not yet accepted.
    NotYetInEffect,
    InEffect,
    /// On or after `cancelled_from`: no longer accepted.
    Cancelled,
}

impl ItemStatus {
    pub fn name_zh(&self) -> &'static str {
        match self {
            ItemStatus::NotYetInEffect => "尚未施行",
            ItemStatus::InEffect => "在用",
            ItemStatus::Cancelled => "已取消",
        }
    }
}

// ---------------------------------------------------------------------------------------------
// Errors and refusals
// ---------------------------------------------------------------------------------------------

/// One problem found in a catalog, with the line it is on (1-based; 0 when it has no source
/// line, e.g. a problem found in an adjustment).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, JsonSchema)]
pub struct CatalogProblem {
    pub line: usize,
    /// Stable code, e.g. "catalog.duplicate_item".
    pub code: &'static str,
    /// For an operator, in Chinese.
    pub message: String,
}

impl fmt::Display for CatalogProblem {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        if self.line == 0 {
            write!(f, "[{}]: {}", self.code, self.message)
        } else {
            write!(f, "第 {} 行 [{}]: {}", self.line, self.code, self.message)
        }
    }
}

/// Every problem found, in line order; never empty when returned as an error.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, JsonSchema)]
pub struct CatalogErrors(pub Vec<CatalogProblem>);

impl fmt::Display for CatalogErrors {
    /// One problem per line: `第 N 行 [code]: message`.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        for (i, p) in self.0.iter().enumerate() {
            if i > 0 {
                f.write_str("\n")?;
            }
            write!(f, "{p}")?;
        }
        Ok(())
    }
}

impl std::error::Error for CatalogErrors {}

impl CatalogErrors {
    fn one(line: usize, code: &'static str, message: String) -> CatalogErrors {
        CatalogErrors(vec![CatalogProblem { line, code, message }])
    }
}

/// Why an item cannot be accepted on a given day (rule W11).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, thiserror::Error, JsonSchema)]
#[serde(tag = "refusal", rename_all = "snake_case")]
pub enum IntakeRefusal {
    #[error("事项清单中没有编码为 {code} 的事项,不能受理(W11:未经调整纳入清单的事项不得受理)")]
    UnknownItem { code: ItemCode },
    #[error(
        "事项“{name}”({code})自 {effective_from} 起施行,此前不能受理(W11:新增事项未经调整纳入前不得受理)"
    )]
    NotYetInEffect { code: ItemCode, name: String, effective_from: NaiveDate },
    #[error("事项“{name}”({code})已自 {cancelled_from} 起取消,不再受理(W11)")]
    Cancelled { code: ItemCode, name: String, cancelled_from: NaiveDate },
}

impl IntakeRefusal {
    /// Stable code: "catalog.item_unknown", "catalog.item_not_in_effect", "catalog.item_cancelled".
    pub fn code(&self) -> &'static str {
        match self {
            IntakeRefusal::UnknownItem { .. } => "catalog.item_unknown",
            IntakeRefusal::NotYetInEffect { .. } => "catalog.item_not_in_effect",
            IntakeRefusal::Cancelled { .. } => "catalog.item_cancelled",
        }
    }

    /// The rule that refuses: always "W11".
    pub fn rule(&self) -> &'static str {
        "W11"
    }
}

/// Materials demanded of an applicant that the catalog does not list for the item (rule W3.6).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
pub struct UnlistedMaterial {
    pub item: ItemCode,
    pub item_name: String,
    /// Every unlisted code, each once, in the order demanded.
    pub codes: Vec<MaterialCode>,
}

impl UnlistedMaterial {
    /// Stable code: "catalog.material_not_listed".
    pub fn code(&self) -> &'static str {
        "catalog.material_not_listed"
    }

    /// The rule that refuses: "W3.6".
    pub fn rule(&self) -> &'static str {
        "W3.6"
    }
}

impl fmt::Display for UnlistedMaterial {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let codes: Vec<&str> = self.codes.iter().map(MaterialCode::as_str).collect();
        write!(
            f,
            "事项“{}”({})的材料清单未列出以下材料,不得要求申请人提交(W3.6):{}",
            self.item_name,
            self.item,
            codes.join("、")
        )
    }
}

impl std::error::Error for UnlistedMaterial {}

/// A catalog change through the adjustment procedure (W11).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
#[serde(tag = "adjustment", rename_all = "snake_case")]
pub enum Adjustment {
    /// Adds a new item (its code must be new); its revision is set to 1. Its `effective_from`
    /// may not lie before the adjustment day.
    AddItem(Item),
    /// Replaces the item with the same code; the revision becomes the old one plus 1.
    UpdateItem(Item),
    /// Cancels an item from `from` on (not before the adjustment day); bumps its revision.
    CancelItem { code: ItemCode, from: NaiveDate },
}

// ---------------------------------------------------------------------------------------------
// Lookups and rules
// ---------------------------------------------------------------------------------------------

impl Catalog {
    /// The embedded sample catalog (`schema/data/sample-catalog.toml`), sample data only.
    pub fn sample() -> Catalog {
        match Catalog::from_toml(SAMPLE_TOML) {
            Ok(c) => c,
            // Invariant: the embedded file is valid; `sample_parses` tests it. Should it ever break,
            // an empty catalog marked as sample is returned rather than a panic.
            Err(_) => Catalog {
                version: "0".to_string(),
                sample: true,
                title: "示例事项清单(样例数据,非官方)".to_string(),
                departments: Vec::new(),
                items: Vec::new(),
            },
        }
    }

    pub fn item(&self, code: &ItemCode) -> Option<&Item> {
        self.items.iter().find(|i| &i.code == code)
    }

    pub fn department(&self, code: &DepartmentCode) -> Option<&Department> {
        self.departments.iter().find(|d| &d.code == code)
    }

    /// Items that may be accepted on `on`.
    pub fn items_in_effect(&self, on: NaiveDate) -> impl Iterator<Item = &Item> {
        self.items.iter().filter(move |i| i.status(on) == ItemStatus::InEffect)
    }

    /// The item to accept a case for on `on`, or why it may not be accepted (rule W11).
    pub fn item_for_intake(&self, code: &ItemCode, on: NaiveDate) -> Result<&Item, IntakeRefusal> {
        let Some(item) = self.item(code) else {
            return Err(IntakeRefusal::UnknownItem { code: code.clone() });
        };
        match item.status(on) {
            ItemStatus::InEffect => Ok(item),
            ItemStatus::NotYetInEffect => Err(IntakeRefusal::NotYetInEffect {
                code: item.code.clone(),
                name: item.name.clone(),
                effective_from: item.effective_from,
            }),
            ItemStatus::Cancelled => Err(IntakeRefusal::Cancelled {
                code: item.code.clone(),
                name: item.name.clone(),
                cancelled_from: item.cancelled_from.unwrap_or(item.effective_from),
            }),
        }
    }

    /// Applies one adjustment made on `on` (W11) and returns the new catalog with a new version
    /// string, validated like a parsed file (problems carry line 0). `self` is unchanged.
    pub fn adjust(&self, change: Adjustment, on: NaiveDate) -> Result<Catalog, CatalogErrors> {
        let mut next = self.clone();
        match change {
            Adjustment::AddItem(mut item) => {
                if self.item(&item.code).is_some() {
                    return Err(CatalogErrors::one(
                        0,
                        "catalog.duplicate_item",
                        format!(
                            "事项编码 {} 已在清单中,新增事项须使用新编码(修改已有事项请用调整)",
                            item.code
                        ),
                    ));
                }
                if item.effective_from < on {
                    return Err(retroactive(&item.code, item.effective_from, on));
                }
                item.revision = 1;
                next.items.push(item);
            }
            Adjustment::UpdateItem(mut item) => {
                let Some(pos) = self.items.iter().position(|i| i.code == item.code) else {
                    return Err(unknown_for_adjust(&item.code));
                };
                let old = &self.items[pos];
                if item.effective_from != old.effective_from && item.effective_from < on {
                    return Err(retroactive(&item.code, item.effective_from, on));
                }
                if item.cancelled_from != old.cancelled_from && item.cancelled_from.is_some_and(|d| d < on) {
                    return Err(CatalogErrors::one(
                        0,
                        "catalog.adjust_retroactive",
                        format!("事项 {} 的取消日期不得早于调整日 {on}", item.code),
                    ));
                }
                item.revision = old.revision.saturating_add(1);
                next.items[pos] = item;
            }
            Adjustment::CancelItem { code, from } => {
                let Some(pos) = self.items.iter().position(|i| i.code == code) else {
                    return Err(unknown_for_adjust(&code));
                };
                let old = &self.items[pos];
                if let Some(d) = old.cancelled_from
                    && d <= on
                {
                    return Err(CatalogErrors::one(
                        0,
                        "catalog.adjust_already_cancelled",
                        format!("事项 {code} 已自 {d} 起取消,无需再次取消"),
                    ));
                }
                if from < on {
                    return Err(CatalogErrors::one(
                        0,
                        "catalog.adjust_retroactive",
                        format!("事项 {code} 的取消日期 {from} 不得早于调整日 {on}"),
                    ));
                }
                let item = &mut next.items[pos];
                item.cancelled_from = Some(from);
                item.revision = item.revision.saturating_add(1);
            }
        }
        next.version = next_version(&self.version);
        let mut problems = Vec::new();
        validate(&next, &Locs::default(), &mut problems);
        if problems.is_empty() { Ok(next) } else { Err(CatalogErrors(problems)) }
    }
}

fn retroactive(code: &ItemCode, effective_from: NaiveDate, on: NaiveDate) -> CatalogErrors {
    CatalogErrors::one(
        0,
        "catalog.adjust_retroactive",
        format!("事项 {code} 的施行日期 {effective_from} 不得早于调整日 {on}(W11:事项须先调整纳入,再受理)"),
    )
}

fn unknown_for_adjust(code: &ItemCode) -> CatalogErrors {
    CatalogErrors::one(0, "catalog.adjust_unknown_item", format!("清单中没有编码为 {code} 的事项,无法调整"))
}

/// "2026.3" → "2026.3+1"; "2026.3+1" → "2026.3+2".
fn next_version(version: &str) -> String {
    if let Some((base, n)) = version.rsplit_once('+')
        && let Ok(n) = n.parse::<u64>()
        && let Some(n) = n.checked_add(1)
    {
        return format!("{base}+{n}");
    }
    format!("{version}+1")
}

impl Item {
    pub fn material(&self, code: &MaterialCode) -> Option<&Material> {
        self.materials.iter().find(|m| &m.code == code)
    }

    pub fn key_materials(&self) -> impl Iterator<Item = &Material> {
        self.materials.iter().filter(|m| m.class == MaterialClass::Key)
    }

    pub fn tolerable_materials(&self) -> impl Iterator<Item = &Material> {
        self.materials.iter().filter(|m| m.class == MaterialClass::Tolerable)
    }

    /// Where the item stands on `on` (W11).
    pub fn status(&self, on: NaiveDate) -> ItemStatus {
        if self.cancelled_from.is_some_and(|d| d <= on) {
            ItemStatus::Cancelled
        } else if self.effective_from > on {
            ItemStatus::NotYetInEffect
        } else {
            ItemStatus::InEffect
        }
    }

    /// Every department involved, lead first (W4.3).
    pub fn departments(&self) -> Vec<DepartmentCode> {
        self.joint.departments(&self.department)
    }

    /// The lead department (W4.3).
    pub fn lead_department(&self) -> &DepartmentCode {
        self.joint.lead(&self.department)
    }

    /// Rule W3.6: a department may not demand a material the catalog does not list for the item.
    /// The error names every unlisted code.
    pub fn check_demanded(&self, codes: &[MaterialCode]) -> Result<(), UnlistedMaterial> {
        let mut unlisted: Vec<MaterialCode> = Vec::new();
        for c in codes {
            if self.material(c).is_none() && !unlisted.contains(c) {
                unlisted.push(c.clone());
            }
        }
        if unlisted.is_empty() {
            Ok(())
        } else {
            Err(UnlistedMaterial { item: self.code.clone(), item_name: self.name.clone(), codes: unlisted })
        }
    }
}

// ---------------------------------------------------------------------------------------------
// Parsing: TOML text → a tree with spans → typed data, collecting every problem
// ---------------------------------------------------------------------------------------------

/// The key under which the `toml` deserializer hands over a date or datetime.
const TOML_DATETIME_KEY: &str = "$__toml_private_datetime";

/// A TOML value with the span of every nested value, so that any problem gets its line.
#[derive(Debug)]
enum Node {
    Str(String),
    Int(i64),
    Bool(bool),
    /// A TOML date or datetime, in its TOML text form.
    Datetime(String),
    /// A value of a kind the catalog never uses (a float, an out-of-range integer).
    Other(&'static str),
    Array(Vec<Spanned<Node>>),
    Table(Vec<(String, Spanned<Node>)>),
}

impl Node {
    fn kind_zh(&self) -> &'static str {
        match self {
            Node::Str(_) => "字符串",
            Node::Int(_) => "整数",
            Node::Bool(_) => "布尔值",
            Node::Datetime(_) => "日期时间",
            Node::Other(k) => k,
            Node::Array(_) => "数组",
            Node::Table(_) => "表",
        }
    }
}

impl<'de> Deserialize<'de> for Node {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        struct NodeVisitor;
        impl<'de> Visitor<'de> for NodeVisitor {
            type Value = Node;
            fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                f.write_str("a TOML value")
            }
            fn visit_bool<E: de::Error>(self, v: bool) -> Result<Node, E> {
                Ok(Node::Bool(v))
            }
            fn visit_i64<E: de::Error>(self, v: i64) -> Result<Node, E> {
                Ok(Node::Int(v))
            }
            fn visit_u64<E: de::Error>(self, v: u64) -> Result<Node, E> {
                Ok(i64::try_from(v).map_or(Node::Other("超大整数"), Node::Int))
            }
            fn visit_f64<E: de::Error>(self, _: f64) -> Result<Node, E> {
                Ok(Node::Other("小数"))
            }
            fn visit_str<E: de::Error>(self, v: &str) -> Result<Node, E> {
                Ok(Node::Str(v.to_string()))
            }
            fn visit_string<E: de::Error>(self, v: String) -> Result<Node, E> {
                Ok(Node::Str(v))
            }
            fn visit_seq<A: SeqAccess<'de>>(self, mut seq: A) -> Result<Node, A::Error> {
                let mut out = Vec::new();
                while let Some(v) = seq.next_element::<Spanned<Node>>()? {
                    out.push(v);
                }
                Ok(Node::Array(out))
            }
            fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> Result<Node, A::Error> {
                let mut out = Vec::new();
                while let Some(key) = map.next_key::<String>()? {
                    if key == TOML_DATETIME_KEY {
                        return Ok(Node::Datetime(map.next_value::<String>()?));
                    }
                    out.push((key, map.next_value::<Spanned<Node>>()?));
                }
                Ok(Node::Table(out))
            }
        }
        deserializer.deserialize_any(NodeVisitor)
    }
}

/// Lines of a table's fields, for problems found after conversion, and the fields that could not
/// be read (already reported; the checks that need them are skipped).
#[derive(Debug, Default)]
struct Loc {
    line: usize,
    fields: Vec<(&'static str, usize)>,
    broken: Vec<&'static str>,
}

impl Loc {
    /// True when none of `keys` is broken.
    fn ok(&self, keys: &[&str]) -> bool {
        !keys.iter().any(|k| self.broken.contains(k))
    }

    /// The line of `key`, or of the table when the key was absent.
    fn at(&self, key: &str) -> usize {
        self.fields.iter().find(|(k, _)| *k == key).map_or(self.line, |(_, l)| *l)
    }
}

#[derive(Debug, Default)]
struct ItemLoc {
    loc: Loc,
    materials: Vec<Loc>,
}

/// Lines of everything parsed; empty (every line 0) for a catalog that has no source text.
#[derive(Debug, Default)]
struct Locs {
    root: Loc,
    departments: Vec<Loc>,
    items: Vec<ItemLoc>,
}

static NO_LOC: Loc = Loc { line: 0, fields: Vec::new(), broken: Vec::new() };
static NO_ITEM_LOC: ItemLoc =
    ItemLoc { loc: Loc { line: 0, fields: Vec::new(), broken: Vec::new() }, materials: Vec::new() };

impl Locs {
    fn department(&self, i: usize) -> &Loc {
        self.departments.get(i).unwrap_or(&NO_LOC)
    }
    fn item(&self, i: usize) -> &ItemLoc {
        self.items.get(i).unwrap_or(&NO_ITEM_LOC)
    }
}

impl ItemLoc {
    fn material(&self, i: usize) -> &Loc {
        self.materials.get(i).unwrap_or(&NO_LOC)
    }
}

/// A table being read: fields are taken out one by one; what is left is unknown.
struct Fields {
    line: usize,
    /// "事项 BDC001", "材料" …: names the table in messages.
    label: String,
    entries: Vec<(String, Spanned<Node>)>,
    loc: Loc,
}

impl Fields {
    fn take(&mut self, key: &str) -> Option<Spanned<Node>> {
        let i = self.entries.iter().position(|(k, _)| k == key)?;
        Some(self.entries.remove(i).1)
    }
}

/// The outcome of reading one field.
enum Got<T> {
    Absent,
    /// Present but unusable; the problem is already recorded.
    Broken,
    Present(T),
}

type Conv<T> = fn(&Node) -> Result<T, (&'static str, String)>;

struct Reader {
    /// Byte offset of each newline in the text, ascending.
    newlines: Vec<usize>,
    problems: Vec<CatalogProblem>,
}

impl Reader {
    fn new(text: &str) -> Reader {
        Reader {
            newlines: text.bytes().enumerate().filter(|(_, b)| *b == b'\n').map(|(i, _)| i).collect(),
            problems: Vec::new(),
        }
    }

    /// 1-based line of the start of a span: the newlines before it, plus one.
    fn line(&self, span: &Range<usize>) -> usize {
        self.newlines.partition_point(|&nl| nl < span.start) + 1
    }

    fn problem(&mut self, line: usize, code: &'static str, message: String) {
        self.problems.push(CatalogProblem { line, code, message });
    }

    /// Opens a table value; records a problem and returns None when it is not a table.
    fn table(&mut self, node: Spanned<Node>, label: String, what: &str) -> Option<Fields> {
        let line = self.line(&node.span());
        match node.into_inner() {
            Node::Table(entries) => Some(Fields {
                line,
                label,
                entries,
                loc: Loc { line, fields: Vec::new(), broken: Vec::new() },
            }),
            other => {
                self.problem(line, "catalog.wrong_type", format!("{what}应为表,实际是{}", other.kind_zh()));
                None
            }
        }
    }

    /// Reports the keys nobody took.
    fn finish(&mut self, f: Fields) -> Loc {
        for (key, node) in &f.entries {
            let line = self.line(&node.span());
            self.problem(
                line,
                "catalog.unknown_field",
                format!("{}中有未知字段 `{key}`(拼写错误?)", f.label),
            );
        }
        f.loc
    }

    fn get<T>(&mut self, f: &mut Fields, key: &'static str, zh: &str, conv: Conv<T>) -> Got<T> {
        let Some(node) = f.take(key) else {
            return Got::Absent;
        };
        let line = self.line(&node.span());
        f.loc.fields.push((key, line));
        match conv(node.get_ref()) {
            Ok(v) => Got::Present(v),
            Err((code, why)) => {
                self.problem(line, code, format!("{}的 `{key}`({zh}){why}", f.label));
                f.loc.broken.push(key);
                Got::Broken
            }
        }
    }

    fn required<T>(&mut self, f: &mut Fields, key: &'static str, zh: &str, conv: Conv<T>) -> Option<T> {
        match self.get(f, key, zh, conv) {
            Got::Present(v) => Some(v),
            Got::Broken => None,
            Got::Absent => {
                f.loc.broken.push(key);
                self.problem(
                    f.line,
                    "catalog.missing_field",
                    format!("{}缺少必填字段 `{key}`({zh})", f.label),
                );
                None
            }
        }
    }

    /// None when broken; Some(default) when absent.
    fn optional<T>(
        &mut self,
        f: &mut Fields,
        key: &'static str,
        zh: &str,
        conv: Conv<T>,
        default: T,
    ) -> Option<T> {
        match self.get(f, key, zh, conv) {
            Got::Present(v) => Some(v),
            Got::Broken => None,
            Got::Absent => Some(default),
        }
    }

    /// An array of tables (`[[items]]`); absent = empty.
    fn tables(&mut self, f: &mut Fields, key: &'static str, zh: &str) -> Vec<Spanned<Node>> {
        let Some(node) = f.take(key) else {
            return Vec::new();
        };
        let line = self.line(&node.span());
        f.loc.fields.push((key, line));
        match node.into_inner() {
            Node::Array(v) => v,
            other => {
                f.loc.broken.push(key);
                self.problem(
                    line,
                    "catalog.wrong_type",
                    format!("{}的 `{key}`({zh})应为表数组([[{key}]]),实际是{}", f.label, other.kind_zh()),
                );
                Vec::new()
            }
        }
    }
}

fn wrong(expected: &str, got: &Node) -> (&'static str, String) {
    ("catalog.wrong_type", format!("应为{expected},实际是{}", got.kind_zh()))
}

fn conv_string(n: &Node) -> Result<String, (&'static str, String)> {
    match n {
        Node::Str(s) => Ok(s.clone()),
        other => Err(wrong("字符串", other)),
    }
}

fn conv_bool(n: &Node) -> Result<bool, (&'static str, String)> {
    match n {
        Node::Bool(b) => Ok(*b),
        other => Err(wrong("布尔值(true / false)", other)),
    }
}

fn conv_u32(n: &Node) -> Result<u32, (&'static str, String)> {
    match n {
        Node::Int(i) => {
            u32::try_from(*i).map_err(|_| ("catalog.bad_value", format!("应为不小于 0 的整数,实际是 {i}")))
        }
        other => Err(wrong("整数", other)),
    }
}

fn conv_date(n: &Node) -> Result<NaiveDate, (&'static str, String)> {
    let text = match n {
        Node::Datetime(s) | Node::Str(s) => s,
        other => return Err(wrong("日期(YYYY-MM-DD)", other)),
    };
    let ok = text.len() == 10
        && text.bytes().enumerate().all(
            |(i, b)| {
                if i == 4 || i == 7 { b == b'-' } else { b.is_ascii_digit() }
            },
        );
    match text.parse::<NaiveDate>() {
        Ok(d) if ok => Ok(d),
        _ => Err(("catalog.bad_value", format!("应为日期(YYYY-MM-DD,如 2026-01-01),实际是“{text}”"))),
    }
}

fn conv_codes(n: &Node) -> Result<Vec<DepartmentCode>, (&'static str, String)> {
    match n {
        Node::Array(v) => v
            .iter()
            .map(|x| match x.get_ref() {
                Node::Str(s) => Ok(DepartmentCode::new(s.as_str())),
                other => Err(wrong("部门编码字符串", other)),
            })
            .collect(),
        other => Err(wrong("部门编码数组", other)),
    }
}

fn conv_item_type(n: &Node) -> Result<ItemType, (&'static str, String)> {
    let s = conv_string(n).map_err(|_| {
        ("catalog.wrong_type", format!("应为两位编码字符串(如 \"01\"),实际是{}", n.kind_zh()))
    })?;
    ItemType::from_code(&s).ok_or_else(|| {
        (
            "catalog.bad_value",
            format!(
                "的取值“{s}”无效,应为 01 行政许可、02 行政处罚、03 行政强制、04 行政征收、05 行政给付、06 行政检查、07 行政确认、08 行政奖励、09 行政裁决、10 其他行政权力、20 公共服务之一"
            ),
        )
    })
}

fn conv_kind(n: &Node) -> Result<ItemKind, (&'static str, String)> {
    let s = conv_string(n)?;
    [ItemKind::Instant, ItemKind::Promise, ItemKind::Upward].into_iter().find(|k| k.key() == s).ok_or_else(
        || {
            (
                "catalog.bad_value",
                format!("的取值“{s}”无效,应为 instant(即办件)、promise(承诺件)或 upward(上报件)"),
            )
        },
    )
}

fn conv_class(n: &Node) -> Result<MaterialClass, (&'static str, String)> {
    let s = conv_string(n)?;
    [MaterialClass::Key, MaterialClass::Tolerable].into_iter().find(|c| c.key() == s).ok_or_else(|| {
        ("catalog.bad_value", format!("的取值“{s}”无效,应为 key(关键材料)或 tolerable(可容缺材料)"))
    })
}

fn conv_area(n: &Node) -> Result<BusinessArea, (&'static str, String)> {
    let s = conv_string(n)?;
    BusinessArea::ALL.into_iter().find(|a| a.key() == s).ok_or_else(|| {
        let all: Vec<String> =
            BusinessArea::ALL.iter().map(|a| format!("{}({})", a.key(), a.name_zh())).collect();
        ("catalog.bad_value", format!("的取值“{s}”无效,应为以下之一:{}", all.join("、")))
    })
}

/// What the first pass produced: the data as far as it could be read (unreadable fields hold
/// placeholders and are marked broken in `locs`), and their lines.
struct Parsed {
    catalog: Catalog,
    locs: Locs,
}

/// Stands in for a date that could not be read; never validated (the field is marked broken).
const PLACEHOLDER_DATE: NaiveDate = NaiveDate::MIN;

impl Reader {
    fn read_catalog(&mut self, root: Node) -> Parsed {
        let mut f = Fields {
            line: 1,
            label: "事项清单".to_string(),
            entries: match root {
                Node::Table(entries) => entries,
                _ => Vec::new(),
            },
            loc: Loc { line: 1, ..Loc::default() },
        };
        let version = self.required(&mut f, "version", "版本号", conv_string).unwrap_or_default();
        let sample = self.optional(&mut f, "sample", "样例数据标志", conv_bool, false).unwrap_or(false);
        let title = self.required(&mut f, "title", "清单标题", conv_string).unwrap_or_default();
        let department_nodes = self.tables(&mut f, "departments", "部门");
        let item_nodes = self.tables(&mut f, "items", "事项");
        let root_loc = self.finish(f);

        let mut departments = Vec::new();
        let mut department_locs = Vec::new();
        for node in department_nodes {
            let Some(mut f) = self.table(node, "部门".to_string(), "部门([[departments]])") else {
                continue;
            };
            let code = self.required(&mut f, "code", "部门编码", conv_string);
            if let Some(code) = &code {
                f.label = format!("部门 {code} ");
            }
            let name = self.required(&mut f, "name", "部门名称", conv_string);
            departments.push(Department {
                code: DepartmentCode(code.unwrap_or_default()),
                name: name.unwrap_or_default(),
            });
            department_locs.push(self.finish(f));
        }

        let mut items = Vec::new();
        let mut item_locs = Vec::new();
        for node in item_nodes {
            if let Some((item, loc)) = self.read_item(node) {
                items.push(item);
                item_locs.push(loc);
            }
        }

        Parsed {
            catalog: Catalog { version, sample, title, departments, items },
            locs: Locs { root: root_loc, departments: department_locs, items: item_locs },
        }
    }

    /// None only when the entry is not a table at all.
    fn read_item(&mut self, node: Spanned<Node>) -> Option<(Item, ItemLoc)> {
        let mut f = self.table(node, "事项".to_string(), "事项([[items]])")?;
        let code = self.required(&mut f, "code", "事项编码", conv_string);
        if let Some(code) = &code {
            f.label = format!("事项 {code} ");
        }
        let name = self.required(&mut f, "name", "事项名称", conv_string);
        let department = self.required(&mut f, "department", "实施部门编码", conv_string);
        let item_type = self.required(&mut f, "item_type", "事项类型", conv_item_type);
        let kind = self.required(&mut f, "kind", "办件类型", conv_kind);
        let area = self.required(&mut f, "area", "业务领域", conv_area);
        let promised_days = self.required(&mut f, "promised_days", "承诺办结时限", conv_u32);
        let statutory_days = self.required(&mut f, "statutory_days", "法定时限", conv_u32);
        let tolerance = self.optional(&mut f, "tolerance", "容缺受理标志", conv_bool, false);
        let effective_from = self.required(&mut f, "effective_from", "施行日期", conv_date);
        let cancelled_from = match self.get(&mut f, "cancelled_from", "取消日期", conv_date) {
            Got::Present(d) => Some(d),
            Got::Absent | Got::Broken => None,
        };
        let revision = self.optional(&mut f, "revision", "事项版本号", conv_u32, 1);
        let joint = self.read_joint(&mut f);
        if joint.is_none() {
            f.loc.broken.push("joint");
        }
        let appointment = self.read_appointment(&mut f);
        if appointment.is_none() {
            f.loc.broken.push("appointment");
        }

        let material_nodes = self.tables(&mut f, "materials", "申报材料");
        let mut materials = Vec::new();
        let mut material_locs = Vec::new();
        for node in material_nodes {
            let label = format!("{}的材料", f.label);
            match self.read_material(node, label) {
                Some((m, loc)) => {
                    if !loc.ok(&["code", "class"]) {
                        // Whether the item has a tolerable material is unknown.
                        f.loc.broken.push("materials");
                    }
                    materials.push(m);
                    material_locs.push(loc);
                }
                None => f.loc.broken.push("materials"),
            }
        }
        let loc = self.finish(f);

        let item = Item {
            code: ItemCode(code.unwrap_or_default()),
            name: name.unwrap_or_default(),
            department: DepartmentCode(department.unwrap_or_default()),
            item_type: item_type.unwrap_or(ItemType::Licensing),
            kind: kind.unwrap_or(ItemKind::Promise),
            promised_days: promised_days.unwrap_or(0),
            statutory_days: statutory_days.unwrap_or(0),
            tolerance: tolerance.unwrap_or(false),
            materials,
            joint: joint.unwrap_or_default(),
            appointment: appointment.unwrap_or(None),
            area: area.unwrap_or(BusinessArea::Other),
            effective_from: effective_from.unwrap_or(PLACEHOLDER_DATE),
            cancelled_from,
            revision: revision.unwrap_or(1),
        };
        Some((item, ItemLoc { loc, materials: material_locs }))
    }

    /// None only when the entry is not a table at all.
    fn read_material(&mut self, node: Spanned<Node>, label: String) -> Option<(Material, Loc)> {
        let mut f = self.table(node, label, "申报材料([[items.materials]])")?;
        let code = self.required(&mut f, "code", "材料编码", conv_string);
        if let Some(code) = &code {
            f.label = format!("{} {code} ", f.label);
        }
        let name = self.required(&mut f, "name", "材料名称", conv_string);
        let class = self.required(&mut f, "class", "材料类别", conv_class);
        let paper = self.optional(&mut f, "paper", "纸质原件标志", conv_bool, false);
        let loc = self.finish(f);
        Some((
            Material {
                code: MaterialCode(code.unwrap_or_default()),
                name: name.unwrap_or_default(),
                class: class.unwrap_or(MaterialClass::Key),
                paper: paper.unwrap_or(false),
            },
            loc,
        ))
    }

    /// `joint = { mode = "serial" | "parallel" | "none", departments = [...], lead = "..." }`;
    /// absent = none. Returns None when broken.
    fn read_joint(&mut self, item: &mut Fields) -> Option<JointMode> {
        let Some(node) = item.take("joint") else {
            return Some(JointMode::None);
        };
        let line = self.line(&node.span());
        item.loc.fields.push(("joint", line));
        let label = format!("{}的联办设置 joint ", item.label);
        let mut f = self.table(node, label, "联办设置 `joint`")?;
        let mode = self.required(&mut f, "mode", "联办方式", conv_string);
        let result = match mode.as_deref() {
            Some("none") => Some(JointMode::None),
            Some("serial") => self
                .required(&mut f, "departments", "参与部门(按流转顺序)", conv_codes)
                .map(|departments| JointMode::Serial { departments }),
            Some("parallel") => {
                let departments = self.required(&mut f, "departments", "参与部门", conv_codes);
                let lead = self.required(&mut f, "lead", "牵头部门", conv_string);
                match (departments, lead) {
                    (Some(departments), Some(lead)) => {
                        Some(JointMode::Parallel { departments, lead: DepartmentCode(lead) })
                    }
                    _ => None,
                }
            }
            Some(other) => {
                let line = f.loc.at("mode");
                self.problem(
                    line,
                    "catalog.bad_value",
                    format!(
                        "{}的 `mode`(联办方式)取值“{other}”无效,应为 serial(串联/前后置)、parallel(并联)或 none",
                        f.label.trim_end()
                    ),
                );
                None
            }
            None => None,
        };
        let mut result = result;
        if matches!(mode.as_deref(), Some("serial"))
            && let Some(node) = f.take("lead")
        {
            let line = self.line(&node.span());
            self.problem(
                line,
                "catalog.unknown_field",
                format!(
                    "{}:串联(前后置)办理的牵头部门是 departments 中的第一个,不应另设 `lead`",
                    f.label.trim_end()
                ),
            );
            result = None;
        }
        let _ = self.finish(f);
        result
    }

    /// `appointment = { average_daily_volume = N }`; absent = no appointments.
    fn read_appointment(&mut self, item: &mut Fields) -> Option<Option<AppointmentInfo>> {
        let Some(node) = item.take("appointment") else {
            return Some(None);
        };
        let line = self.line(&node.span());
        item.loc.fields.push(("appointment", line));
        let label = format!("{}的预约设置 appointment ", item.label);
        let mut f = self.table(node, label, "预约设置 `appointment`")?;
        let volume = self.required(&mut f, "average_daily_volume", "日均办件量", conv_u32);
        let _ = self.finish(f);
        volume.map(|average_daily_volume| Some(AppointmentInfo { average_daily_volume }))
    }
}

// ---------------------------------------------------------------------------------------------
// Validation: the same for parsed files and adjusted catalogs
// ---------------------------------------------------------------------------------------------

fn push(out: &mut Vec<CatalogProblem>, line: usize, code: &'static str, message: String) {
    out.push(CatalogProblem { line, code, message });
}

fn check_name(out: &mut Vec<CatalogProblem>, line: usize, what: &str, name: &str) {
    let chars = name.chars().count();
    if name.trim().is_empty() {
        push(out, line, "catalog.empty_name", format!("{what}不能为空"));
    } else if chars > NAME_CHARS_MAX {
        push(
            out,
            line,
            "catalog.name_too_long",
            format!("{what}有 {chars} 个字,超过上限 {NAME_CHARS_MAX} 个字"),
        );
    } else if name.chars().any(char::is_control) {
        push(out, line, "catalog.bad_name", format!("{what}含有换行符等控制字符"));
    }
}

/// Codes: 1 to [`CODE_CHARS_MAX`] characters of ASCII letters, digits, `-`, `_`, `.`.
fn check_code(out: &mut Vec<CatalogProblem>, line: usize, what: &str, code: &str) {
    let ok = !code.is_empty()
        && code.len() <= CODE_CHARS_MAX
        && code.bytes().all(|b| b.is_ascii_alphanumeric() || matches!(b, b'-' | b'_' | b'.'));
    if !ok {
        push(
            out,
            line,
            "catalog.bad_code",
            format!("{what}“{code}”无效:应为 1 至 {CODE_CHARS_MAX} 位字母、数字、-、_ 或 ."),
        );
    }
}

fn check_date(out: &mut Vec<CatalogProblem>, line: usize, what: &str, d: NaiveDate) {
    if !(YEAR_MIN..=YEAR_MAX).contains(&d.year()) {
        push(out, line, "catalog.bad_value", format!("{what} {d} 超出 {YEAR_MIN} 至 {YEAR_MAX} 年的范围"));
    }
}

fn validate(c: &Catalog, locs: &Locs, out: &mut Vec<CatalogProblem>) {
    let root = &locs.root;
    let v = &c.version;
    let version_ok = !v.is_empty()
        && v.chars().count() <= CODE_CHARS_MAX
        && !v.chars().any(|ch| ch.is_control() || ch.is_whitespace());
    if root.ok(&["version"]) && !version_ok {
        push(
            out,
            root.at("version"),
            "catalog.bad_version",
            format!("版本号“{v}”无效:应为 1 至 {CODE_CHARS_MAX} 个字符且不含空白,如 2026.3"),
        );
    }
    if root.ok(&["title"]) {
        check_name(out, root.at("title"), "清单标题", &c.title);
    }

    // Departments.
    if c.departments.len() > DEPARTMENTS_MAX {
        push(
            out,
            locs.department(DEPARTMENTS_MAX).line,
            "catalog.too_many_departments",
            format!("部门有 {} 个,超过上限 {DEPARTMENTS_MAX} 个", c.departments.len()),
        );
    }
    let mut departments: BTreeMap<&DepartmentCode, usize> = BTreeMap::new();
    for (i, d) in c.departments.iter().enumerate() {
        let loc = locs.department(i);
        if loc.ok(&["code"]) {
            check_code(out, loc.at("code"), "部门编码", d.code.as_str());
            if let Some(first) = departments.get(&d.code) {
                push(
                    out,
                    loc.at("code"),
                    "catalog.duplicate_department",
                    format!("部门编码 {} 重复{}", d.code, first_seen(*first)),
                );
            } else {
                departments.insert(&d.code, loc.at("code"));
            }
        }
        if loc.ok(&["name"]) {
            check_name(out, loc.at("name"), &format!("部门 {} 的名称", d.code), &d.name);
        }
    }
    let known = |d: &DepartmentCode| departments.contains_key(d);

    // Items.
    if c.items.len() > ITEMS_MAX {
        push(
            out,
            locs.item(ITEMS_MAX).loc.line,
            "catalog.too_many_items",
            format!("事项有 {} 个,超过上限 {ITEMS_MAX} 个", c.items.len()),
        );
    }
    let mut items: BTreeMap<&ItemCode, usize> = BTreeMap::new();
    for (i, item) in c.items.iter().enumerate() {
        let iloc = locs.item(i);
        let loc = &iloc.loc;
        let at = |k: &str| loc.at(k);
        let ok = |keys: &[&str]| loc.ok(keys);
        let label = if ok(&["code"]) { format!("事项 {}", item.code) } else { "该事项".to_string() };

        if ok(&["code"]) {
            check_code(out, at("code"), "事项编码", item.code.as_str());
            if let Some(first) = items.get(&item.code) {
                push(
                    out,
                    at("code"),
                    "catalog.duplicate_item",
                    format!("事项编码 {} 重复{}", item.code, first_seen(*first)),
                );
            } else {
                items.insert(&item.code, at("code"));
            }
        }
        if ok(&["name"]) {
            check_name(out, at("name"), &format!("{label} 的名称"), &item.name);
        }
        if ok(&["department"]) && !known(&item.department) {
            push(
                out,
                at("department"),
                "catalog.unknown_department",
                format!("{label} 的实施部门 {} 不在部门列表([[departments]])中", item.department),
            );
        }

        // Time limits.
        if ok(&["promised_days", "kind"]) && item.promised_days == 0 && item.kind != ItemKind::Instant {
            push(
                out,
                at("promised_days"),
                "catalog.promised_days",
                format!("{label} 是{},承诺办结时限至少 1 个工作日(只有即办件可为 0)", item.kind.name_zh()),
            );
        }
        if item.promised_days > DAYS_MAX || item.statutory_days > DAYS_MAX {
            let key = if item.statutory_days > DAYS_MAX { "statutory_days" } else { "promised_days" };
            push(
                out,
                at(key),
                "catalog.days_too_large",
                format!("{label} 的时限超过上限 {DAYS_MAX} 个工作日"),
            );
        }
        if ok(&["promised_days", "statutory_days"]) && item.statutory_days < item.promised_days {
            push(
                out,
                at("statutory_days"),
                "catalog.statutory_days",
                format!(
                    "{label} 的法定时限({} 个工作日)短于承诺办结时限({} 个工作日)",
                    item.statutory_days, item.promised_days
                ),
            );
        }

        // Materials.
        if item.materials.len() > MATERIALS_PER_ITEM_MAX {
            push(
                out,
                iloc.material(MATERIALS_PER_ITEM_MAX).line,
                "catalog.too_many_materials",
                format!("{label} 有 {} 项材料,超过上限 {MATERIALS_PER_ITEM_MAX} 项", item.materials.len()),
            );
        }
        let mut materials: BTreeMap<&MaterialCode, usize> = BTreeMap::new();
        for (j, m) in item.materials.iter().enumerate() {
            let mloc = iloc.material(j);
            if mloc.ok(&["code"]) {
                check_code(out, mloc.at("code"), &format!("{label} 的材料编码"), m.code.as_str());
                if let Some(first) = materials.get(&m.code) {
                    push(
                        out,
                        mloc.at("code"),
                        "catalog.duplicate_material",
                        format!("{label} 的材料编码 {} 重复{}", m.code, first_seen(*first)),
                    );
                } else {
                    materials.insert(&m.code, mloc.at("code"));
                }
            }
            if mloc.ok(&["name"]) {
                check_name(out, mloc.at("name"), &format!("{label} 的材料 {} 的名称", m.code), &m.name);
            }
            // T4: only items on the tolerance list have tolerable materials.
            if ok(&["tolerance"])
                && mloc.ok(&["class"])
                && m.class == MaterialClass::Tolerable
                && !item.tolerance
            {
                push(
                    out,
                    mloc.at("class"),
                    "catalog.tolerable_without_tolerance",
                    format!(
                        "{label} 未列入容缺受理清单(tolerance = false),其材料 {} 不能标为可容缺(tolerable)",
                        m.code
                    ),
                );
            }
        }

        // Tolerance list (T1 b, T4).
        if ok(&["tolerance"]) && item.tolerance {
            if ok(&["kind"]) && item.kind == ItemKind::Instant {
                push(
                    out,
                    at("tolerance"),
                    "catalog.tolerance_instant",
                    format!("{label} 是即办件,不能列入容缺受理清单(T1)"),
                );
            }
            if ok(&["materials"]) && item.tolerable_materials().next().is_none() {
                push(
                    out,
                    at("tolerance"),
                    "catalog.tolerance_without_tolerable",
                    format!("{label} 列入了容缺受理清单,但没有任何材料标为可容缺(class = \"tolerable\")"),
                );
            }
        }

        // Joint handling (W4.3).
        if ok(&["joint"]) && item.joint.is_joint() {
            let line = at("joint");
            let listed = item.joint.listed();
            let mut seen: BTreeSet<&DepartmentCode> = BTreeSet::new();
            for d in listed {
                if !seen.insert(d) {
                    push(
                        out,
                        line,
                        "catalog.joint_duplicate_department",
                        format!("{label} 的联办部门 {d} 重复列出"),
                    );
                } else if !known(d) {
                    push(
                        out,
                        line,
                        "catalog.joint_unknown_department",
                        format!("{label} 的联办部门 {d} 不在部门列表([[departments]])中"),
                    );
                }
            }
            if seen.len() < 2 {
                push(out, line, "catalog.joint_too_few", format!("{label} 为联办事项,至少需要 2 个不同部门"));
            }
            if ok(&["department"]) && !listed.contains(&item.department) {
                push(
                    out,
                    line,
                    "catalog.joint_own_department",
                    format!("{label} 的实施部门 {} 应在联办部门 departments 之中", item.department),
                );
            }
            if let JointMode::Parallel { lead, .. } = &item.joint
                && !listed.contains(lead)
            {
                push(
                    out,
                    line,
                    "catalog.joint_lead",
                    format!("{label} 的牵头部门 {lead} 不在联办部门 departments 之中"),
                );
            }
        }

        // Appointments (W1.2).
        if let Some(a) = &item.appointment {
            if ok(&["area"]) && !item.area.appointments_allowed() {
                push(
                    out,
                    at("appointment"),
                    "catalog.appointment_not_allowed",
                    format!(
                        "{label} 属于“{}”领域,不提供预约;预约仅限房屋交易与不动产登记、住房公积金、社会保障(W1.2)",
                        item.area.name_zh()
                    ),
                );
            }
            if a.average_daily_volume == 0 || a.average_daily_volume > DAILY_VOLUME_MAX {
                push(
                    out,
                    at("appointment"),
                    "catalog.bad_value",
                    format!(
                        "{label} 的日均办件量应在 1 至 {DAILY_VOLUME_MAX} 之间,实际是 {}",
                        a.average_daily_volume
                    ),
                );
            }
        }

        // Dates (W11).
        if ok(&["effective_from"]) {
            check_date(out, at("effective_from"), &format!("{label} 的施行日期"), item.effective_from);
        }
        if let Some(cancelled) = item.cancelled_from {
            check_date(out, at("cancelled_from"), &format!("{label} 的取消日期"), cancelled);
            if ok(&["effective_from"]) && cancelled <= item.effective_from {
                push(
                    out,
                    at("cancelled_from"),
                    "catalog.cancel_before_effective",
                    format!("{label} 的取消日期 {cancelled} 应晚于施行日期 {}", item.effective_from),
                );
            }
        }
        if item.revision == 0 {
            push(out, at("revision"), "catalog.bad_value", format!("{label} 的事项版本号应从 1 开始"));
        }
    }
}

fn first_seen(line: usize) -> String {
    if line == 0 { String::new() } else { format!("(首次出现在第 {line} 行)") }
}

// ---------------------------------------------------------------------------------------------
// from_toml / to_toml
// ---------------------------------------------------------------------------------------------

impl Catalog {
    /// Parses and validates a catalog file. On failure, every problem found, in line order.
    pub fn from_toml(text: &str) -> Result<Catalog, CatalogErrors> {
        if text.len() > TEXT_BYTES_MAX {
            return Err(CatalogErrors::one(
                1,
                "catalog.too_large",
                format!("事项清单文件有 {} 字节,超过上限 {TEXT_BYTES_MAX} 字节", text.len()),
            ));
        }
        let mut reader = Reader::new(text);
        let root = match toml::from_str::<Node>(text) {
            Ok(root) => root,
            Err(e) => {
                let line = e.span().map_or(1, |s| reader.line(&s));
                let detail = e.message().trim();
                let detail =
                    if detail.is_empty() { "无法解析".to_string() } else { detail.replace('\n', ";") };
                return Err(CatalogErrors::one(line, "catalog.syntax", format!("TOML 语法错误:{detail}")));
            }
        };
        let parsed = reader.read_catalog(root);
        let mut problems = reader.problems;
        validate(&parsed.catalog, &parsed.locs, &mut problems);
        if problems.is_empty() {
            Ok(parsed.catalog)
        } else {
            problems.sort_by_key(|p| p.line);
            Err(CatalogErrors(problems))
        }
    }

    /// Writes the catalog as TOML; `Catalog::from_toml(&c.to_toml()) == Ok(c)` for every valid
    /// catalog.
    pub fn to_toml(&self) -> String {
        let mut s = String::new();
        if self.sample {
            s.push_str("# 样例数据,非官方发布的事项清单。\n");
        }
        line(&mut s, "version", &quote(&self.version));
        line(&mut s, "sample", &self.sample.to_string());
        line(&mut s, "title", &quote(&self.title));
        for d in &self.departments {
            s.push_str("\n[[departments]]\n");
            line(&mut s, "code", &quote(d.code.as_str()));
            line(&mut s, "name", &quote(&d.name));
        }
        for item in &self.items {
            s.push_str("\n[[items]]\n");
            line(&mut s, "code", &quote(item.code.as_str()));
            line(&mut s, "name", &quote(&item.name));
            line(&mut s, "department", &quote(item.department.as_str()));
            line(&mut s, "item_type", &quote(item.item_type.code()));
            line(&mut s, "kind", &quote(item.kind.key()));
            line(&mut s, "area", &quote(item.area.key()));
            line(&mut s, "promised_days", &item.promised_days.to_string());
            line(&mut s, "statutory_days", &item.statutory_days.to_string());
            line(&mut s, "tolerance", &item.tolerance.to_string());
            line(&mut s, "effective_from", &item.effective_from.to_string());
            if let Some(d) = item.cancelled_from {
                line(&mut s, "cancelled_from", &d.to_string());
            }
            line(&mut s, "revision", &item.revision.to_string());
            if let Some(a) = &item.appointment {
                line(
                    &mut s,
                    "appointment",
                    &format!("{{ average_daily_volume = {} }}", a.average_daily_volume),
                );
            }
            let list = |ds: &[DepartmentCode]| {
                let v: Vec<String> = ds.iter().map(|d| quote(d.as_str())).collect();
                format!("[{}]", v.join(", "))
            };
            match &item.joint {
                JointMode::None => {}
                JointMode::Serial { departments } => line(
                    &mut s,
                    "joint",
                    &format!("{{ mode = \"serial\", departments = {} }}", list(departments)),
                ),
                JointMode::Parallel { departments, lead } => line(
                    &mut s,
                    "joint",
                    &format!(
                        "{{ mode = \"parallel\", departments = {}, lead = {} }}",
                        list(departments),
                        quote(lead.as_str())
                    ),
                ),
            }
            for m in &item.materials {
                s.push_str("\n[[items.materials]]\n");
                line(&mut s, "code", &quote(m.code.as_str()));
                line(&mut s, "name", &quote(&m.name));
                line(&mut s, "class", &quote(m.class.key()));
                line(&mut s, "paper", &m.paper.to_string());
            }
        }
        s
    }
}

fn line(s: &mut String, key: &str, value: &str) {
    s.push_str(key);
    s.push_str(" = ");
    s.push_str(value);
    s.push('\n');
}

/// A TOML basic string literal.
fn quote(text: &str) -> String {
    let mut out = String::with_capacity(text.len() + 2);
    out.push('"');
    for ch in text.chars() {
        match ch {
            '"' => out.push_str("\\\""),
            '\\' => out.push_str("\\\\"),
            '\n' => out.push_str("\\n"),
            '\t' => out.push_str("\\t"),
            '\r' => out.push_str("\\r"),
            c if c.is_control() => out.push_str(&format!("\\u{:04X}", u32::from(c))),
            c => out.push(c),
        }
    }
    out.push('"');
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    fn date(y: i32, m: u32, d: u32) -> NaiveDate {
        NaiveDate::from_ymd_opt(y, m, d).expect("valid test date")
    }

    fn sample() -> Catalog {
        Catalog::from_toml(SAMPLE_TOML).expect("sample catalog parses")
    }

    /// 1-based line of the first line of `text` that contains `needle`.
    fn line_of(text: &str, needle: &str) -> usize {
        text.lines()
            .position(|l| l.contains(needle))
            .map(|i| i + 1)
            .unwrap_or_else(|| panic!("{needle:?} not in text"))
    }

    fn problems(text: &str) -> Vec<(usize, &'static str)> {
        match Catalog::from_toml(text) {
            Ok(_) => Vec::new(),
            Err(e) => e.0.iter().map(|p| (p.line, p.code)).collect(),
        }
    }

    const HEAD: &str = r#"version = "t1"
title = "测试清单"

[[departments]]
code = "A"
name = "甲局"

[[departments]]
code = "B"
name = "乙局"
"#;

    fn item(code: &str, extra: &str) -> String {
        format!(
            r#"
[[items]]
code = "{code}"
name = "事项{code}"
department = "A"
item_type = "01"
kind = "promise"
area = "other"
promised_days = 5
statutory_days = 20
effective_from = 2025-01-01
{extra}
[[items.materials]]
code = "M01"
name = "申请书"
class = "key"
paper = true
"#
        )
    }

    #[test]
    fn sample_parses() {
        // rule T4: the published list marks tolerance per item
        let c = sample();
        assert!(c.sample);
        assert!(c.title.contains("样例"));
        assert_eq!(c.version, "2026.3");
        assert!(c.items.len() >= 20, "{} items", c.items.len());
        for area in [
            BusinessArea::RealEstate,
            BusinessArea::HousingFund,
            BusinessArea::SocialSecurity,
            BusinessArea::EnterpriseRegistration,
            BusinessArea::ConstructionApproval,
        ] {
            assert!(c.items.iter().filter(|i| i.area == area).count() >= 2, "{area:?}");
        }
        assert!(c.items.iter().filter(|i| i.tolerance).count() >= 8);
        assert!(c.items.iter().filter(|i| i.kind == ItemKind::Instant).count() >= 2);
        assert!(c.items.iter().any(|i| i.kind == ItemKind::Upward));
        assert!(c.items.iter().any(|i| matches!(i.joint, JointMode::Parallel { .. })));
        assert!(c.items.iter().any(|i| matches!(i.joint, JointMode::Serial { .. })));
        assert_eq!(Catalog::sample(), c);
    }

    #[test]
    fn sample_statuses_exercise_w11() {
        // rule W11: one item not yet adjusted in, one cancelled
        let c = sample();
        let today = date(2026, 3, 2);
        let statuses: Vec<ItemStatus> = c.items.iter().map(|i| i.status(today)).collect();
        assert!(statuses.contains(&ItemStatus::NotYetInEffect));
        assert!(statuses.contains(&ItemStatus::Cancelled));
        assert!(c.items_in_effect(today).count() >= 20);
    }

    #[test]
    fn intake_refusals_w11() {
        // rule W11: unknown, not yet in effect and cancelled items are refused
        let c = sample();
        let on = date(2026, 3, 2);

        let ok = c.item_for_intake(&ItemCode::from("BDC002"), on).expect("in effect");
        assert_eq!(ok.name, "国有建设用地使用权及房屋所有权转移登记");

        let unknown = c.item_for_intake(&ItemCode::from("NOPE"), on).expect_err("unknown");
        assert_eq!(unknown.code(), "catalog.item_unknown");
        assert_eq!(unknown.rule(), "W11");
        assert!(unknown.to_string().contains("NOPE"));

        // A new item may not be accepted before it is adjusted in.
        let future = ItemCode::from("ZJ004");
        let early = c.item_for_intake(&future, on).expect_err("not yet");
        assert_eq!(early.code(), "catalog.item_not_in_effect");
        assert_eq!(early.rule(), "W11");
        assert!(early.to_string().contains("2027-01-01"));
        assert!(c.item_for_intake(&future, date(2026, 12, 31)).is_err());
        assert!(c.item_for_intake(&future, date(2027, 1, 1)).is_ok());

        // A cancelled item is no longer accepted, from its cancellation day on.
        let old = ItemCode::from("BDC008");
        assert!(c.item_for_intake(&old, date(2025, 6, 30)).is_ok());
        let gone = c.item_for_intake(&old, date(2025, 7, 1)).expect_err("cancelled");
        assert_eq!(gone.code(), "catalog.item_cancelled");
        assert_eq!(gone.rule(), "W11");
        assert!(gone.to_string().contains("已自 2025-07-01 起取消"));
    }

    #[test]
    fn unlisted_material_w36() {
        // rule W3.6: a department may not demand a material the catalog does not list
        let c = sample();
        let item = c.item(&ItemCode::from("SC001")).expect("listed");
        assert!(item.check_demanded(&[MaterialCode::from("M01"), MaterialCode::from("M05")]).is_ok());
        assert!(item.check_demanded(&[]).is_ok());
        let err = item
            .check_demanded(&[
                MaterialCode::from("M01"),
                MaterialCode::from("X9"),
                MaterialCode::from("验资报告"),
                MaterialCode::from("X9"),
            ])
            .expect_err("unlisted");
        assert_eq!(err.codes, vec![MaterialCode::from("X9"), MaterialCode::from("验资报告")]);
        assert_eq!(err.code(), "catalog.material_not_listed");
        assert_eq!(err.rule(), "W3.6");
        let text = err.to_string();
        assert!(text.contains("X9") && text.contains("验资报告") && text.contains("不得要求"));
    }

    #[test]
    fn tolerance_flags_and_materials_t4() {
        // rule T4: the catalog marks per item whether tolerance applies and which materials are
        // tolerable; rule T1 (b): never for an instant item
        let c = sample();
        for i in &c.items {
            if i.tolerance {
                assert!(i.tolerable_materials().next().is_some(), "{}", i.code);
                assert_ne!(i.kind, ItemKind::Instant, "{}", i.code);
            } else {
                assert_eq!(i.tolerable_materials().count(), 0, "{}", i.code);
            }
            assert_eq!(i.key_materials().count() + i.tolerable_materials().count(), i.materials.len());
        }
        let transfer = c.item(&ItemCode::from("BDC002")).expect("listed");
        let tolerable: Vec<&str> = transfer.tolerable_materials().map(|m| m.code.as_str()).collect();
        assert_eq!(tolerable, ["M06", "M07"]);
        assert_eq!(transfer.material(&MaterialCode::from("M03")).map(|m| m.class), Some(MaterialClass::Key));

        // The parser enforces the same.
        let tolerable_material =
            "\n[[items.materials]]\ncode = \"M02\"\nname = \"复印件\"\nclass = \"tolerable\"\n";
        let text = format!("{HEAD}{}{tolerable_material}", item("X1", ""));
        assert_eq!(
            problems(&text),
            [(line_of(&text, "class = \"tolerable\""), "catalog.tolerable_without_tolerance")]
        );
        let text = format!("{HEAD}{}", item("X1", "tolerance = true"));
        assert_eq!(
            problems(&text),
            [(line_of(&text, "tolerance = true"), "catalog.tolerance_without_tolerable")]
        );
        let text = format!(
            "{HEAD}{}{tolerable_material}",
            item("X1", "tolerance = true").replace("\"promise\"", "\"instant\"")
        );
        assert_eq!(problems(&text), [(line_of(&text, "tolerance = true"), "catalog.tolerance_instant")]);
        let text = format!("{HEAD}{}{tolerable_material}", item("X1", "tolerance = true"));
        assert!(Catalog::from_toml(&text).is_ok());
    }

    #[test]
    fn every_problem_with_its_line() {
        let mut text = String::from(HEAD);
        text.push_str("\n[[departments]]\ncode = \"A\"\nname = \"\"\n");
        text.push_str(&item("X1", ""));
        text.push_str(&item("X1", "revision = 0"));
        text.push_str(&item("X2", "tolerence = true\nappointment = { average_daily_volume = 10 }"));
        text.push_str(
            &item("X3", "cancelled_from = 2024-12-31").replace("statutory_days = 20", "statutory_days = 3"),
        );
        text.push_str(
            &item("X4", "joint = { mode = \"parallel\", departments = [\"A\", \"Q\"], lead = \"B\" }")
                .replace("department = \"A\"", "department = \"Z\"")
                .replace("kind = \"promise\"", "kind = \"later\""),
        );
        text.push_str(
            &item("X5", "")
                .replace("promised_days = 5", "promised_days = -1")
                .replace("name = \"申请书\"", "name = 3"),
        );
        text.push_str("\n[[items]]\ncode = \"X6\"\n");
        text.push_str(&item("X7", "").replace("promised_days = 5", "promised_days = 0"));
        text.push_str(
            &item("X8", "")
                .replace("code = \"M01\"", "code = \"M 1\"")
                .replace("effective_from = 2025-01-01", "effective_from = \"2025-13-01\""),
        );
        text.push_str(
            &(item("X9", "joint = { mode = \"serial\", departments = [\"B\"] }")
                + "\n[[items.materials]]\ncode = \"M01\"\nname = \"重复\"\nclass = \"key\"\n"),
        );
        let got = problems(&text);

        // Lines of the n-th occurrence of a needle after the line of another.
        let after = |anchor: &str, needle: &str| -> usize {
            let start = line_of(&text, anchor);
            text.lines()
                .enumerate()
                .skip(start)
                .find(|(_, l)| l.contains(needle))
                .map(|(i, _)| i + 1)
                .expect("needle after anchor")
        };
        let mut want = vec![
            // The second department A: duplicate code and empty name.
            (after("name = \"乙局\"", "code = \"A\""), "catalog.duplicate_department"),
            (after("name = \"乙局\"", "name = \"\""), "catalog.empty_name"),
            // X1 twice.
            (after("name = \"事项X1\"", "code = \"X1\""), "catalog.duplicate_item"),
            (line_of(&text, "revision = 0"), "catalog.bad_value"),
            // X2: a typo and an appointment outside W1.2 areas.
            (line_of(&text, "tolerence = true"), "catalog.unknown_field"),
            (line_of(&text, "appointment = {"), "catalog.appointment_not_allowed"),
            // X3: statutory shorter than promised, cancelled before effective.
            (after("code = \"X3\"", "statutory_days = 3"), "catalog.statutory_days"),
            (line_of(&text, "cancelled_from = 2024-12-31"), "catalog.cancel_before_effective"),
            // X4: bad kind; the rest of X4 is still checked: unknown department, a joint
            // department that does not exist, a lead outside the list, its own department
            // missing from the list.
            (line_of(&text, "kind = \"later\""), "catalog.bad_value"),
            (line_of(&text, "department = \"Z\""), "catalog.unknown_department"),
            (line_of(&text, "lead = \"B\""), "catalog.joint_unknown_department"),
            (line_of(&text, "lead = \"B\""), "catalog.joint_lead"),
            (line_of(&text, "lead = \"B\""), "catalog.joint_own_department"),
            // X5: negative days, material name of the wrong type.
            (line_of(&text, "promised_days = -1"), "catalog.bad_value"),
            (line_of(&text, "name = 3"), "catalog.wrong_type"),
            // X7: zero days on a promise item.
            (after("code = \"X7\"", "promised_days = 0"), "catalog.promised_days"),
            // X8: bad material code, bad date.
            (line_of(&text, "code = \"M 1\""), "catalog.bad_code"),
            (line_of(&text, "\"2025-13-01\""), "catalog.bad_value"),
            // X9: serial with one department that is not its own; duplicate material.
            (line_of(&text, "mode = \"serial\""), "catalog.joint_too_few"),
            (line_of(&text, "mode = \"serial\""), "catalog.joint_own_department"),
            (after("code = \"X9\"", "name = \"重复\"") - 1, "catalog.duplicate_material"),
        ];
        // X6: every required field but code is missing, reported at its [[items]] line.
        let x6 = line_of(&text, "code = \"X6\"") - 1;
        for _ in 0..8 {
            want.push((x6, "catalog.missing_field"));
        }
        want.sort();
        let mut got_sorted = got.clone();
        got_sorted.sort();
        assert_eq!(got_sorted, want, "\n{}", render(&text));
        // Reported in line order.
        assert!(got.windows(2).all(|w| w[0].0 <= w[1].0));
    }

    fn render(text: &str) -> String {
        match Catalog::from_toml(text) {
            Ok(_) => "ok".to_string(),
            Err(e) => e.to_string(),
        }
    }

    #[test]
    fn joint_and_department_problems() {
        // rule W4.3: joint departments exist, the lead is among them
        let joint = "joint = { mode = \"parallel\", departments = [\"A\", \"Q\", \"A\"], lead = \"B\" }";
        let text = format!("{HEAD}{}", item("X1", joint));
        let line = line_of(&text, "joint = {");
        let mut got = problems(&text);
        got.sort();
        let mut want = vec![
            (line, "catalog.joint_unknown_department"),
            (line, "catalog.joint_duplicate_department"),
            (line, "catalog.joint_lead"),
        ];
        want.sort();
        assert_eq!(got, want, "{}", render(&text));

        let text = format!("{HEAD}{}", item("X1", "").replace("department = \"A\"", "department = \"Z\""));
        assert_eq!(problems(&text), [(line_of(&text, "department = \"Z\""), "catalog.unknown_department")]);

        let text = format!(
            "{HEAD}{}",
            item("X1", "joint = { mode = \"serial\", departments = [\"A\", \"B\"], lead = \"B\" }")
        );
        assert_eq!(problems(&text), [(line_of(&text, "joint = {"), "catalog.unknown_field")]);
    }

    #[test]
    fn joint_departments_lead_first() {
        // rule W4.3: serial — the first is lead; parallel — the named lead
        let c = sample();
        let serial = c.item(&ItemCode::from("BDC007")).expect("listed");
        assert_eq!(serial.lead_department().as_str(), "ZJJ");
        let names: Vec<String> = serial.departments().iter().map(|d| d.0.clone()).collect();
        assert_eq!(names, ["ZJJ", "SWJ", "BDCDJ"]);

        let parallel =
            JointMode::Parallel { departments: vec!["A".into(), "B".into(), "C".into()], lead: "B".into() };
        let own = DepartmentCode::from("A");
        assert_eq!(parallel.lead(&own).as_str(), "B");
        let names: Vec<String> = parallel.departments(&own).iter().map(|d| d.0.clone()).collect();
        assert_eq!(names, ["B", "A", "C"]);

        assert_eq!(JointMode::None.departments(&own), vec![own.clone()]);
        assert_eq!(JointMode::None.lead(&own), &own);
        let empty = JointMode::Serial { departments: Vec::new() };
        assert_eq!(empty.lead(&own), &own);
    }

    #[test]
    fn syntax_error_has_its_line() {
        let text = format!("{HEAD}\n[[items]]\ncode = \"X1\nname = \"n\"\n");
        let err = Catalog::from_toml(&text).expect_err("syntax");
        assert_eq!(err.0.len(), 1);
        assert_eq!(err.0[0].code, "catalog.syntax");
        assert_eq!(err.0[0].line, line_of(&text, "code = \"X1"));
        assert!(err.to_string().starts_with(&format!("第 {} 行 [catalog.syntax]", err.0[0].line)));
    }

    #[test]
    fn wrong_shapes_are_problems_not_panics() {
        for (text, code) in [
            ("version = 1\ntitle = \"t\"\n", "catalog.wrong_type"),
            ("title = \"t\"\n", "catalog.missing_field"),
            ("version = \"v\"\ntitle = \"t\"\nitems = 3\n", "catalog.wrong_type"),
            ("version = \"v\"\ntitle = \"t\"\nitems = [1]\n", "catalog.wrong_type"),
            ("version = \"v w\"\ntitle = \"t\"\n", "catalog.bad_version"),
            ("version = \"v\"\ntitle = \"t\"\nsample = \"yes\"\n", "catalog.wrong_type"),
            (
                "version = \"v\"\ntitle = \"t\"\n[[departments]]\ncode = \"A\"\nname = 1.5\n",
                "catalog.wrong_type",
            ),
        ] {
            let got = problems(text);
            assert_eq!(got.len(), 1, "{text}: {got:?}");
            assert_eq!(got[0].1, code, "{text}");
        }
        // A broken department entry still counts as known for the items that name it.
        let text = format!(
            "{HEAD}\n[[departments]]\ncode = \"C\"\n{}",
            item("X1", "").replace("department = \"A\"", "department = \"C\"")
        );
        assert_eq!(problems(&text), [(line_of(&text, "code = \"C\"") - 1, "catalog.missing_field")]);
    }

    #[test]
    fn size_bounds() {
        let long = "长".repeat(NAME_CHARS_MAX + 1);
        let text = format!("{HEAD}{}", item("X1", "").replace("事项X1", &long));
        assert_eq!(problems(&text), [(line_of(&text, &long), "catalog.name_too_long")]);

        let mut many = item("X1", "");
        for i in 0..MATERIALS_PER_ITEM_MAX {
            many.push_str(&format!(
                "\n[[items.materials]]\ncode = \"N{i}\"\nname = \"材料{i}\"\nclass = \"key\"\n"
            ));
        }
        let text = format!("{HEAD}{many}");
        assert_eq!(problems(&text).len(), 1);
        assert_eq!(problems(&text)[0].1, "catalog.too_many_materials");
    }

    #[test]
    fn to_toml_round_trips() {
        let c = sample();
        let text = c.to_toml();
        assert_eq!(Catalog::from_toml(&text), Ok(c.clone()));
        // And through JSON, as embedded in case documents.
        let json = serde_json::to_string(&c).expect("json");
        assert_eq!(serde_json::from_str::<Catalog>(&json).expect("json back"), c);
        let item_json = serde_json::to_value(&c.items[0]).expect("json");
        assert_eq!(item_json["item_type"], "07");
        assert_eq!(item_json["kind"], "promise");
        assert_eq!(item_json["area"], "real_estate");
    }

    #[test]
    fn adjustments_w11() {
        // rule W11: items change only through adjustment; a new item is not accepted before it is
        // adjusted in, a cancelled one no longer
        let c = sample();
        let on = date(2026, 3, 2);
        let mut new_item = c.item(&ItemCode::from("SC004")).expect("listed").clone();
        new_item.code = ItemCode::from("SC099");
        new_item.name = "农民专业合作社设立登记".to_string();
        new_item.effective_from = date(2026, 3, 10);
        new_item.revision = 7;
        assert!(c.item_for_intake(&new_item.code, on).is_err());

        let c1 = c.adjust(Adjustment::AddItem(new_item.clone()), on).expect("added");
        assert_eq!(c1.version, "2026.3+1");
        assert_eq!(c.items.len() + 1, c1.items.len());
        let added = c1.item(&new_item.code).expect("added");
        assert_eq!(added.revision, 1);
        assert!(c1.item_for_intake(&new_item.code, on).is_err());
        assert!(c1.item_for_intake(&new_item.code, date(2026, 3, 10)).is_ok());

        // Adding twice, or adding retroactively, is refused.
        let again = c1.adjust(Adjustment::AddItem(new_item.clone()), on);
        assert_eq!(again.expect_err("dup").0[0].code, "catalog.duplicate_item");
        let mut past = new_item.clone();
        past.code = ItemCode::from("SC098");
        past.effective_from = date(2026, 1, 1);
        let err = c1.adjust(Adjustment::AddItem(past), on).expect_err("past");
        assert_eq!(err.0[0].code, "catalog.adjust_retroactive");

        // Update bumps the revision and is validated like a file.
        let mut changed = c1.item(&ItemCode::from("BDC002")).expect("listed").clone();
        changed.promised_days = 3;
        let c2 = c1.adjust(Adjustment::UpdateItem(changed.clone()), on).expect("updated");
        assert_eq!(c2.version, "2026.3+2");
        let updated = c2.item(&changed.code).expect("listed");
        assert_eq!(updated.revision, 3);
        assert_eq!(updated.promised_days, 3);
        changed.statutory_days = 1;
        let err = c2.adjust(Adjustment::UpdateItem(changed), on).expect_err("invalid");
        assert_eq!(err.0[0].code, "catalog.statutory_days");
        assert_eq!(err.0[0].line, 0);
        let mut stranger = new_item.clone();
        stranger.code = ItemCode::from("NOPE");
        let err = c2.adjust(Adjustment::UpdateItem(stranger), on).expect_err("unknown");
        assert_eq!(err.0[0].code, "catalog.adjust_unknown_item");

        // Cancel.
        let code = ItemCode::from("RS005");
        let c3 = c2
            .adjust(Adjustment::CancelItem { code: code.clone(), from: date(2026, 4, 1) }, on)
            .expect("cancelled");
        assert_eq!(c3.version, "2026.3+3");
        assert!(c3.item_for_intake(&code, date(2026, 3, 31)).is_ok());
        assert_eq!(
            c3.item_for_intake(&code, date(2026, 4, 1)).expect_err("cancelled").code(),
            "catalog.item_cancelled"
        );
        assert_eq!(c3.item(&code).expect("listed").revision, 2);
        let err = c3
            .adjust(Adjustment::CancelItem { code: ItemCode::from("BDC008"), from: on }, on)
            .expect_err("already");
        assert_eq!(err.0[0].code, "catalog.adjust_already_cancelled");
        let err = c3
            .adjust(Adjustment::CancelItem { code: ItemCode::from("SC001"), from: date(2026, 3, 1) }, on)
            .expect_err("retroactive");
        assert_eq!(err.0[0].code, "catalog.adjust_retroactive");
        // Every adjusted catalog still round-trips.
        assert_eq!(Catalog::from_toml(&c3.to_toml()), Ok(c3.clone()));
        // The original is untouched.
        assert_eq!(c, sample());
    }

    #[test]
    fn version_counter() {
        assert_eq!(next_version("2026.3"), "2026.3+1");
        assert_eq!(next_version("2026.3+9"), "2026.3+10");
        assert_eq!(next_version("a+b"), "a+b+1");
        assert_eq!(next_version("x+18446744073709551615"), "x+18446744073709551615+1");
    }

    #[test]
    fn item_type_codes() {
        for t in ItemType::ALL {
            assert_eq!(ItemType::from_code(t.code()), Some(t));
            assert_eq!(
                serde_json::to_value(t).expect("json"),
                serde_json::Value::String(t.code().to_string())
            );
            assert!(!t.name_zh().is_empty());
        }
        assert_eq!(ItemType::Licensing.name_zh(), "行政许可");
        assert_eq!(ItemType::PublicService.code(), "20");
        assert_eq!(ItemType::from_code("11"), None);
        assert_eq!(ItemKind::Upward.name_zh(), "上报件");
        assert_eq!(ItemKind::Upward.exchange_code(), 4);
        assert!(BusinessArea::HousingFund.appointments_allowed());
        assert!(!BusinessArea::EnterpriseRegistration.appointments_allowed());
    }

    fn name_strategy() -> impl Strategy<Value = String> {
        // Any printable text, including quotes, backslashes and non-BMP characters.
        proptest::collection::vec(any::<char>(), 0..40).prop_map(|chars| {
            let text: String = chars.into_iter().filter(|c| !c.is_control()).collect();
            format!("名{text}\\\"")
        })
    }

    proptest! {
        #![proptest_config(ProptestConfig::with_cases(64))]

        #[test]
        fn round_trip_any_names(
            title in name_strategy(),
            names in proptest::collection::vec(name_strategy(), 1..4),
            days in 1u32..50,
            extra in 0u32..50,
            year in YEAR_MIN..=YEAR_MAX - 1,
        ) {
            let mut c = sample();
            c.title = title;
            c.version = "v\"1".to_string();
            for (item, name) in c.items.iter_mut().zip(&names) {
                item.name = name.clone();
                item.promised_days = days;
                item.statutory_days = days + extra;
                item.effective_from = date(year, 2, 28);
                item.cancelled_from = None;
                if let Some(m) = item.materials.first_mut() {
                    m.name = format!("{name}\\\"");
                }
            }
            prop_assert_eq!(Catalog::from_toml(&c.to_toml()), Ok(c));
        }

        #[test]
        fn random_text_never_panics(text in "\\PC{0,400}") {
            let _ = Catalog::from_toml(&text);
        }

        #[test]
        fn toml_like_text_never_panics(
            parts in proptest::collection::vec(
                prop_oneof![
                    Just("[[items]]\n".to_string()),
                    Just("[[items.materials]]\n".to_string()),
                    Just("[[departments]]\n".to_string()),
                    Just("joint = { mode = \"parallel\", departments = [\"A\"], lead = \"Q\" }\n".to_string()),
                    Just("appointment = { average_daily_volume = 0 }\n".to_string()),
                    "[a-z_]{1,15} = (\"[A-Z0-9]{0,4}\"|-?[0-9]{1,12}|true|2026-0[1-9]-[0-3][0-9]|\\[\\]|\\{\\})\n",
                ],
                0..40,
            )
        ) {
            let _ = Catalog::from_toml(&parts.concat());
        }

        #[test]
        fn mutated_sample_never_panics(at in 0usize..40_000, len in 0usize..200, insert in "\\PC{0,20}") {
            let chars: Vec<char> = SAMPLE_TOML.chars().collect();
            let at = at.min(chars.len());
            let end = (at + len).min(chars.len());
            let mut text: String = chars[..at].iter().collect();
            text.push_str(&insert);
            text.extend(&chars[end..]);
            if let Err(e) = Catalog::from_toml(&text) {
                prop_assert!(!e.0.is_empty());
                prop_assert!(e.0.iter().all(|p| p.line >= 1 && p.line <= text.lines().count() + 1));
            }
        }
    }
}
