//! Reports: the W10 evaluation indicators per department and the W2.5 consultation-ledger
//! analysis for a period, as JSON-serialisable data ([`Report`], built by [`build`]) and as an
//! Excel workbook for download ([`xlsx`], named by [`xlsx_file_name`]).
//!
//! The figures come from the schema ([`indicators::indicators`], [`consultation::analyse`]);
//! this module only validates the period, filters by department, adds totals and lays the
//! figures out. Rates stay exact fractions ([`RateView`]); the workbook shows them as
//! percentages, and a rate with nothing to count (denominator 0) as an empty cell, never 0 %.
//!
//! Pure apart from the clock reading passed in as `generated_at`: no I/O here; the HTTP API
//! (`GET /api/v1/reports?from=&to=&department=`) loads the cases and the ledger and calls in.

use std::collections::BTreeMap;

use chrono::{NaiveDate, NaiveDateTime};
use rust_xlsxwriter::{
    ColNum, DocProperties, ExcelDateTime, Format, FormatAlign, FormatBorder, RowNum, Workbook, Worksheet,
    XlsxError,
};
use schemars::JsonSchema;
use serde::{Deserialize, Serialize};
use yikou_schema::calendar::WorkCalendar;
use yikou_schema::case::Case;
use yikou_schema::catalog::Catalog;
use yikou_schema::codes::{DepartmentCode, ItemCode};
use yikou_schema::consultation::{self, Analysis, Category, Cause, ConsultationEntry, RemoteChannel};
use yikou_schema::indicators::{self, DepartmentIndicators, Rate, RatingSummary};

/// The longest period one report covers, in days (both ends included): a leap year.
pub const PERIOD_DAYS_MAX: i64 = 366;
/// The most per-item rows the consultation sheet lists (the most asked first); the rest are
/// summed up in one line. Far above any county catalog, far below Excel's 1,048,576 rows.
pub const ITEM_ROWS_MAX: usize = 10_000;
/// The rules a report implements, named in the workbook's 「说明」 sheet.
pub const RULES: [&str; 3] = ["W10", "W2.5", "T5"];

/// Why a report could not be produced. Messages for the clerk; [`ReportError::code`] is stable.
#[derive(Debug, thiserror::Error)]
pub enum ReportError {
    #[error("统计期间有误:开始日期 {from} 晚于结束日期 {to},请重新选择")]
    PeriodReversed { from: NaiveDate, to: NaiveDate },
    #[error("统计期间过长:共 {days} 天,一次最多统计 {PERIOD_DAYS_MAX} 天,请分段导出")]
    PeriodTooLong { days: i64 },
    #[error("生成 Excel 报表失败,请稍后重试或联系管理员:{0}")]
    Xlsx(#[from] XlsxError),
}

impl ReportError {
    pub fn code(&self) -> &'static str {
        match self {
            ReportError::PeriodReversed { .. } | ReportError::PeriodTooLong { .. } => "report.bad_period",
            ReportError::Xlsx(_) => "report.xlsx",
        }
    }
}

// ---------------------------------------------------------------------------------------------
// The report as data
// ---------------------------------------------------------------------------------------------

/// The days counted, both included (cases by their receipt day, consultations by the day asked).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
pub struct Period {
    pub from: NaiveDate,
    pub to: NaiveDate,
}

impl Period {
    /// A checked period: `from <= to`, at most [`PERIOD_DAYS_MAX`] days.
    pub fn new(from: NaiveDate, to: NaiveDate) -> Result<Period, ReportError> {
        if from > to {
            return Err(ReportError::PeriodReversed { from, to });
        }
        let days = (to - from).num_days().saturating_add(1);
        if days > PERIOD_DAYS_MAX {
            return Err(ReportError::PeriodTooLong { days });
        }
        Ok(Period { from, to })
    }

    /// Days in the period, both ends included.
    pub fn days(&self) -> i64 {
        (self.to - self.from).num_days().saturating_add(1)
    }
}

/// An exact rate with its display value: `per_mille` is `None` when nothing was counted.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
pub struct RateView {
    pub numerator: u64,
    pub denominator: u64,
    /// Thousandths, rounded half up (750 = 75.0 %); `None` when the denominator is 0.
    pub per_mille: Option<u32>,
}

impl RateView {
    fn of(rate: Rate) -> RateView {
        RateView { numerator: rate.numerator, denominator: rate.denominator, per_mille: rate.per_mille() }
    }

    fn plus(self, other: RateView) -> RateView {
        let rate = Rate::new(
            self.numerator.saturating_add(other.numerator),
            self.denominator.saturating_add(other.denominator),
        );
        RateView::of(rate)
    }

    /// The fraction for display (the workbook); `None` when nothing was counted.
    pub fn fraction(&self) -> Option<f64> {
        (self.denominator > 0).then(|| self.numerator as f64 / self.denominator as f64)
    }
}

/// Satisfaction ratings (好差评) of a department's cases.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
pub struct RatingsView {
    pub count: u64,
    pub sum: u64,
    /// 差评: 不满意 (2) and 非常不满意 (1).
    pub bad: u64,
    /// Mean rating × 1000, rounded half up (4500 = 4.5); `None` without ratings.
    pub mean_per_mille: Option<u32>,
}

impl RatingsView {
    fn of(r: &RatingSummary) -> RatingsView {
        RatingsView { count: r.count, sum: r.sum, bad: r.bad, mean_per_mille: r.mean_per_mille }
    }

    fn plus(self, other: RatingsView) -> RatingsView {
        let count = self.count.saturating_add(other.count);
        let sum = self.sum.saturating_add(other.sum);
        RatingsView {
            count,
            sum,
            bad: self.bad.saturating_add(other.bad),
            mean_per_mille: Rate::new(sum, count).per_mille(),
        }
    }

    /// The mean for display; `None` without ratings.
    pub fn mean(&self) -> Option<f64> {
        (self.count > 0).then(|| self.sum as f64 / self.count as f64)
    }

    /// Bad reviews among the ratings.
    pub fn bad_rate(&self) -> RateView {
        RateView::of(Rate::new(self.bad, self.count))
    }
}

/// The W10 figures of one department (or of all of them, summed). Each rate's definition is
/// that of [`DepartmentIndicators`].
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
pub struct Figures {
    /// 办件量: cases received in the period.
    pub cases: u64,
    /// 标准化率
    pub standardisation: RateView,
    /// 无纸化率
    pub paperless: RateView,
    /// 综合受理率 (one-window rate)
    pub comprehensive: RateView,
    /// 网上办理率
    pub online: RateView,
    /// 联合办理率
    pub joint: RateView,
    /// 按时办结率
    pub on_time: RateView,
    /// Decided cases whose limit could not be computed (left out of `on_time`).
    pub on_time_unassessed: u64,
    /// Some on-time answer rests on days outside the loaded calendar years.
    pub on_time_provisional: bool,
    /// 容缺受理件数 (T5: also counted in every rate).
    pub tolerance_cases: u64,
    pub ratings: RatingsView,
}

impl Figures {
    fn of(d: &DepartmentIndicators) -> Figures {
        Figures {
            cases: d.cases,
            standardisation: RateView::of(d.standardisation),
            paperless: RateView::of(d.paperless),
            comprehensive: RateView::of(d.comprehensive),
            online: RateView::of(d.online),
            joint: RateView::of(d.joint),
            on_time: RateView::of(d.on_time),
            on_time_unassessed: d.on_time_unassessed,
            on_time_provisional: d.on_time_provisional,
            tolerance_cases: d.tolerance_cases,
            ratings: RatingsView::of(&d.ratings),
        }
    }

    fn plus(self, o: &Figures) -> Figures {
        Figures {
            cases: self.cases.saturating_add(o.cases),
            standardisation: self.standardisation.plus(o.standardisation),
            paperless: self.paperless.plus(o.paperless),
            comprehensive: self.comprehensive.plus(o.comprehensive),
            online: self.online.plus(o.online),
            joint: self.joint.plus(o.joint),
            on_time: self.on_time.plus(o.on_time),
            on_time_unassessed: self.on_time_unassessed.saturating_add(o.on_time_unassessed),
            on_time_provisional: self.on_time_provisional || o.on_time_provisional,
            tolerance_cases: self.tolerance_cases.saturating_add(o.tolerance_cases),
            ratings: self.ratings.plus(o.ratings),
        }
    }

    /// The six rates in the workbook's column order, with their Chinese names.
    fn rates(&self) -> [(&'static RateLabel, RateView); 6] {
        [
            (&RATE_LABELS[0], self.standardisation),
            (&RATE_LABELS[1], self.paperless),
            (&RATE_LABELS[2], self.comprehensive),
            (&RATE_LABELS[3], self.online),
            (&RATE_LABELS[4], self.joint),
            (&RATE_LABELS[5], self.on_time),
        ]
    }
}

/// One department's row. A case counts for the department that owns its item (joint items too).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
pub struct DepartmentRow {
    #[schemars(with = "String")]
    pub department: DepartmentCode,
    #[serde(flatten)]
    pub figures: Figures,
}

/// The report for one period (and optionally one department): W10 indicators and the W2.5
/// consultation analysis. The JSON body of `GET /api/v1/reports`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, JsonSchema)]
pub struct Report {
    pub period: Period,
    /// The department reported on; `None` for all departments.
    #[schemars(with = "Option<String>")]
    pub department: Option<DepartmentCode>,
    /// Local time the report was generated.
    pub generated_at: NaiveDateTime,
    /// W10: one row per department with cases received in the period, by department code.
    pub indicators: Vec<DepartmentRow>,
    /// W10: the rows summed (rates as the sums of their numerators and denominators).
    pub total: Figures,
    /// W2.5: the consultation ledger's analysis for the period (and department).
    #[schemars(with = "serde_json::Value")]
    pub consultations: Analysis,
    /// Department names from the catalog, for the departments in the report ([`Report::with_names`]).
    #[schemars(with = "BTreeMap<String, String>")]
    pub department_names: BTreeMap<DepartmentCode, String>,
    /// Item names from the catalog, for the items in the consultation analysis.
    #[schemars(with = "BTreeMap<String, String>")]
    pub item_names: BTreeMap<ItemCode, String>,
}

/// Builds the report for the cases received and the consultations asked in `[from, to]`,
/// restricted to `department` when given (cases by their item's department, consultations by
/// the department consulted).
pub fn build(
    cases: &[Case],
    consultations: &[ConsultationEntry],
    calendar: &WorkCalendar,
    from: NaiveDate,
    to: NaiveDate,
    department: Option<&DepartmentCode>,
    generated_at: NaiveDateTime,
) -> Result<Report, ReportError> {
    let period = Period::new(from, to)?;
    let rows: Vec<DepartmentRow> = indicators::indicators(cases, period.from, period.to, calendar)
        .iter()
        .filter(|d| department.is_none_or(|wanted| *wanted == d.department))
        .map(|d| DepartmentRow { department: d.department.clone(), figures: Figures::of(d) })
        .collect();
    let total = rows.iter().fold(Figures::default(), |sum, r| sum.plus(&r.figures));
    let analysis = match department {
        None => consultation::analyse(consultations, period.from, period.to),
        Some(wanted) => {
            let mine: Vec<ConsultationEntry> =
                consultations.iter().filter(|e| e.department == *wanted).cloned().collect();
            consultation::analyse(&mine, period.from, period.to)
        }
    };
    Ok(Report {
        period,
        department: department.cloned(),
        generated_at,
        indicators: rows,
        total,
        consultations: analysis,
        department_names: BTreeMap::new(),
        item_names: BTreeMap::new(),
    })
}

impl Report {
    /// Adds the catalog's names of the departments and items the report mentions.
    pub fn with_names(mut self, catalog: &Catalog) -> Report {
        let departments = self.indicators.iter().map(|r| &r.department).chain(self.department.as_ref());
        for code in departments {
            if let Some(d) = catalog.department(code) {
                self.department_names.insert(code.clone(), d.name.clone());
            }
        }
        for code in self.consultations.per_item.iter().filter_map(|s| s.item.as_ref()) {
            if let Some(item) = catalog.item(code) {
                self.item_names.insert(code.clone(), item.name.clone());
            }
        }
        self
    }

    fn department_name(&self, code: &DepartmentCode) -> &str {
        self.department_names.get(code).map_or("", String::as_str)
    }

    fn item_name(&self, code: &ItemCode) -> &str {
        self.item_names.get(code).map_or("", String::as_str)
    }

    /// 「全部部门」 or the department's code and name.
    fn scope_zh(&self) -> String {
        match &self.department {
            None => "全部部门".to_string(),
            Some(code) => match self.department_names.get(code) {
                Some(name) => format!("{code} {name}"),
                None => code.to_string(),
            },
        }
    }
}

// ---------------------------------------------------------------------------------------------
// File names
// ---------------------------------------------------------------------------------------------

/// The download's name: `一口受理报表_{department or 全部}_{from}_{to}.xlsx`.
pub fn xlsx_file_name(report: &Report) -> String {
    let scope = match &report.department {
        None => "全部".to_string(),
        Some(code) => {
            let clean: String = code
                .as_str()
                .chars()
                .filter(|c| !c.is_control() && !FILE_NAME_FORBIDDEN.contains(c))
                .collect();
            if clean.is_empty() { "部门".to_string() } else { clean }
        }
    };
    format!("一口受理报表_{scope}_{}_{}.xlsx", report.period.from, report.period.to)
}

/// The ASCII fallback name (`filename=` of Content-Disposition): `yikou-report_{department or
/// all}_{from}_{to}.xlsx`, any other character of the department code replaced by `_`.
pub fn xlsx_file_name_ascii(report: &Report) -> String {
    let scope = match &report.department {
        None => "all".to_string(),
        Some(code) => code
            .as_str()
            .chars()
            .map(|c| if c.is_ascii_alphanumeric() || c == '-' { c } else { '_' })
            .collect(),
    };
    format!("yikou-report_{scope}_{}_{}.xlsx", report.period.from, report.period.to)
}

/// A Content-Disposition value for the download: the ASCII name, then the Chinese name in
/// RFC 5987 / RFC 6266 form (`filename*=UTF-8''…`).
pub fn content_disposition(report: &Report) -> String {
    format!(
        "attachment; filename=\"{}\"; filename*=UTF-8''{}",
        xlsx_file_name_ascii(report),
        rfc5987_encode(&xlsx_file_name(report))
    )
}

/// Characters never put in a file name (Windows' reserved set plus quotes).
const FILE_NAME_FORBIDDEN: [char; 9] = ['/', '\\', ':', '*', '?', '"', '<', '>', '|'];

/// Percent-encodes everything but RFC 5987's `attr-char`.
fn rfc5987_encode(s: &str) -> String {
    let mut out = String::with_capacity(s.len() * 3);
    for b in s.bytes() {
        if b.is_ascii_alphanumeric() || b"!#$&+-.^_`|~".contains(&b) {
            out.push(char::from(b));
        } else {
            out.push_str(&format!("%{b:02X}"));
        }
    }
    out
}

// ---------------------------------------------------------------------------------------------
// The workbook
// ---------------------------------------------------------------------------------------------

/// Sheet names (each under Excel's 31 characters, none of `[]:*?/\`).
pub const SHEET_INDICATORS: &str = "部门指标";
pub const SHEET_INDICATOR_DETAIL: &str = "指标明细";
pub const SHEET_RATINGS: &str = "满意度";
pub const SHEET_CONSULTATIONS: &str = "咨询台账分析";
pub const SHEET_CONSULTATION_SUMMARY: &str = "咨询分类汇总";
pub const SHEET_NOTES: &str = "说明";

/// A rate's name, its numerator's name and its definition, for headers and the notes.
struct RateLabel {
    name: &'static str,
    numerator: &'static str,
    definition: &'static str,
}

const RATE_LABELS: [RateLabel; 6] = [
    RateLabel {
        name: "标准化率",
        numerator: "一次受理件数",
        definition: "已作出受理或补正答复的办件中,首次递交即受理、未出具补正通知的比例",
    },
    RateLabel {
        name: "无纸化率",
        numerator: "全程无纸化件数",
        definition: "已受理办件中,网上申报且材料全部以电子方式移交的比例",
    },
    RateLabel {
        name: "综合受理率",
        numerator: "综合窗口受理件数",
        definition: "已受理办件中,由综合受理窗口(一窗)而非部门自设窗口受理的比例",
    },
    RateLabel {
        name: "网上办理率", numerator: "网上申报件数", definition: "全部办件中网上申报的比例"
    },
    RateLabel {
        name: "联合办理率",
        numerator: "联办件数",
        definition: "全部办件中属于联办事项(串联或并联)的比例",
    },
    RateLabel {
        name: "按时办结率",
        numerator: "按时办结件数",
        definition: "已作出审批决定的办件中,在承诺时限内(未达黄牌)作出决定的比例;上报件不计",
    },
];

/// The workbook's cell formats.
struct Formats {
    header: Format,
    text: Format,
    count: Format,
    percent: Format,
    mean: Format,
    total_text: Format,
    total_count: Format,
    total_percent: Format,
    total_mean: Format,
    wrap: Format,
}

impl Formats {
    fn new() -> Formats {
        let cell = || Format::new().set_border(FormatBorder::Thin);
        let total = || cell().set_bold().set_background_color(0xF2F2F2);
        Formats {
            header: cell()
                .set_bold()
                .set_text_wrap()
                .set_align(FormatAlign::Center)
                .set_align(FormatAlign::VerticalCenter)
                .set_background_color(0xDDEBF7),
            text: cell(),
            count: cell().set_num_format("0"),
            percent: cell().set_num_format("0.0%"),
            mean: cell().set_num_format("0.00"),
            total_text: total(),
            total_count: total().set_num_format("0"),
            total_percent: total().set_num_format("0.0%"),
            total_mean: total().set_num_format("0.00"),
            wrap: cell().set_text_wrap().set_align(FormatAlign::Top),
        }
    }

    fn pick(&self, total: bool) -> (&Format, &Format, &Format, &Format) {
        if total {
            (&self.total_text, &self.total_count, &self.total_percent, &self.total_mean)
        } else {
            (&self.text, &self.count, &self.percent, &self.mean)
        }
    }
}

/// A header row (row 0), frozen, with column widths.
fn header(sheet: &mut Worksheet, f: &Formats, columns: &[(&str, f64)]) -> Result<(), XlsxError> {
    for (col, (title, width)) in (0..).zip(columns) {
        sheet.write_string_with_format(0, col, *title, &f.header)?;
        sheet.set_column_width(col, *width)?;
    }
    sheet.set_row_height(0, 32)?;
    sheet.set_freeze_panes(1, 0)?;
    Ok(())
}

fn write_count(
    sheet: &mut Worksheet,
    row: RowNum,
    col: ColNum,
    n: u64,
    fmt: &Format,
) -> Result<(), XlsxError> {
    // Counts are far below 2^53, exact as f64.
    sheet.write_number_with_format(row, col, n as f64, fmt)?;
    Ok(())
}

/// A number, or a formatted empty cell when there is nothing to show (never 0).
fn write_opt(
    sheet: &mut Worksheet,
    row: RowNum,
    col: ColNum,
    value: Option<f64>,
    fmt: &Format,
) -> Result<(), XlsxError> {
    match value {
        Some(v) => sheet.write_number_with_format(row, col, v, fmt)?,
        None => sheet.write_blank(row, col, fmt)?,
    };
    Ok(())
}

/// The workbook of a report: 部门指标, 指标明细, 满意度, 咨询台账分析, 咨询分类汇总, 说明.
pub fn xlsx(report: &Report) -> Result<Vec<u8>, ReportError> {
    let mut book = Workbook::new();
    let f = Formats::new();
    let mut props = DocProperties::new()
        .set_title(format!("一口受理报表 {} 至 {}", report.period.from, report.period.to))
        .set_author("一口受理系统")
        .set_comment("W10 评价考核指标;W2.5 咨询台账分析");
    // Stamp the generation time rather than the wall clock: the same report gives the same file.
    if let Ok(at) =
        ExcelDateTime::parse_from_str(&report.generated_at.format("%Y-%m-%dT%H:%M:%S").to_string())
    {
        props = props.set_creation_datetime(&at);
    }
    book.set_properties(&props);
    indicators_sheet(book.add_worksheet(), report, &f)?;
    detail_sheet(book.add_worksheet(), report, &f)?;
    ratings_sheet(book.add_worksheet(), report, &f)?;
    consultations_sheet(book.add_worksheet(), report, &f)?;
    consultation_summary_sheet(book.add_worksheet(), report, &f)?;
    notes_sheet(book.add_worksheet(), report, &f)?;
    Ok(book.save_to_buffer()?)
}

/// The department rows, then 合计.
fn rows_with_total(report: &Report) -> Vec<(Option<&DepartmentCode>, &Figures)> {
    let mut rows: Vec<(Option<&DepartmentCode>, &Figures)> =
        report.indicators.iter().map(|r| (Some(&r.department), &r.figures)).collect();
    rows.push((None, &report.total));
    rows
}

fn write_department(
    sheet: &mut Worksheet,
    row: RowNum,
    report: &Report,
    department: Option<&DepartmentCode>,
    fmt: &Format,
) -> Result<(), XlsxError> {
    match department {
        Some(code) => {
            sheet.write_string_with_format(row, 0, code.as_str(), fmt)?;
            sheet.write_string_with_format(row, 1, report.department_name(code), fmt)?;
        }
        None => {
            sheet.write_string_with_format(row, 0, "合计", fmt)?;
            sheet.write_blank(row, 1, fmt)?;
        }
    }
    Ok(())
}

/// 「部门指标」: one row per department, rates as percentages.
fn indicators_sheet(sheet: &mut Worksheet, report: &Report, f: &Formats) -> Result<(), XlsxError> {
    sheet.set_name(SHEET_INDICATORS)?;
    let mut columns: Vec<(&str, f64)> = vec![("部门编码", 12.0), ("部门名称", 28.0), ("办件量", 10.0)];
    columns.extend(RATE_LABELS.iter().map(|l| (l.name, 12.0)));
    columns.extend([("容缺受理件数", 12.0), ("评价数", 10.0), ("平均满意度(分)", 12.0), ("差评数", 10.0)]);
    columns.push(("备注", 36.0));
    header(sheet, f, &columns)?;
    for (row, (department, fig)) in (1..).zip(rows_with_total(report)) {
        let (text, count, percent, mean) = f.pick(department.is_none());
        write_department(sheet, row, report, department, text)?;
        write_count(sheet, row, 2, fig.cases, count)?;
        let mut col: ColNum = 3;
        for (_, rate) in fig.rates() {
            write_opt(sheet, row, col, rate.fraction(), percent)?;
            col += 1;
        }
        write_count(sheet, row, col, fig.tolerance_cases, count)?;
        write_count(sheet, row, col + 1, fig.ratings.count, count)?;
        write_opt(sheet, row, col + 2, fig.ratings.mean(), mean)?;
        write_count(sheet, row, col + 3, fig.ratings.bad, count)?;
        sheet.write_string_with_format(row, col + 4, remark(fig), text)?;
    }
    Ok(())
}

fn remark(fig: &Figures) -> String {
    let mut notes = Vec::new();
    if fig.on_time_unassessed > 0 {
        notes.push(format!("{} 件已决定办件无法判定时限,未计入按时办结率", fig.on_time_unassessed));
    }
    if fig.on_time_provisional {
        notes.push("按时办结率部分按暂定工作日历计算".to_string());
    }
    notes.join(";")
}

/// 「指标明细」: the numerator and denominator of each rate.
fn detail_sheet(sheet: &mut Worksheet, report: &Report, f: &Formats) -> Result<(), XlsxError> {
    sheet.set_name(SHEET_INDICATOR_DETAIL)?;
    let denominators: Vec<String> = RATE_LABELS.iter().map(|l| format!("{}分母", l.name)).collect();
    let mut columns: Vec<(&str, f64)> = vec![("部门编码", 12.0), ("部门名称", 28.0), ("办件量", 10.0)];
    for (label, den) in RATE_LABELS.iter().zip(&denominators) {
        columns.push((label.numerator, 12.0));
        columns.push((den.as_str(), 12.0));
    }
    columns.extend([("无法判定时限件数", 12.0), ("含暂定日历", 10.0)]);
    header(sheet, f, &columns)?;
    for (row, (department, fig)) in (1..).zip(rows_with_total(report)) {
        let (text, count, _, _) = f.pick(department.is_none());
        write_department(sheet, row, report, department, text)?;
        write_count(sheet, row, 2, fig.cases, count)?;
        let mut col: ColNum = 3;
        for (_, rate) in fig.rates() {
            write_count(sheet, row, col, rate.numerator, count)?;
            write_count(sheet, row, col + 1, rate.denominator, count)?;
            col += 2;
        }
        write_count(sheet, row, col, fig.on_time_unassessed, count)?;
        sheet.write_string_with_format(
            row,
            col + 1,
            if fig.on_time_provisional { "是" } else { "否" },
            text,
        )?;
    }
    Ok(())
}

/// 「满意度」: the ratings per department.
fn ratings_sheet(sheet: &mut Worksheet, report: &Report, f: &Formats) -> Result<(), XlsxError> {
    sheet.set_name(SHEET_RATINGS)?;
    header(
        sheet,
        f,
        &[
            ("部门编码", 12.0),
            ("部门名称", 28.0),
            ("评价数", 10.0),
            ("评价总分", 10.0),
            ("平均满意度(分)", 14.0),
            ("差评数(不满意、非常不满意)", 16.0),
            ("差评率", 10.0),
        ],
    )?;
    for (row, (department, fig)) in (1..).zip(rows_with_total(report)) {
        let (text, count, percent, mean) = f.pick(department.is_none());
        let r = &fig.ratings;
        write_department(sheet, row, report, department, text)?;
        write_count(sheet, row, 2, r.count, count)?;
        write_count(sheet, row, 3, r.sum, count)?;
        write_opt(sheet, row, 4, r.mean(), mean)?;
        write_count(sheet, row, 5, r.bad, count)?;
        write_opt(sheet, row, 6, r.bad_rate().fraction(), percent)?;
    }
    Ok(())
}

/// The label of a consultation with no particular item.
const NO_ITEM_ZH: &str = "(未涉及具体事项)";

/// 「咨询台账分析」: per item, the most asked first: how many questions, of which kind, why.
fn consultations_sheet(sheet: &mut Worksheet, report: &Report, f: &Formats) -> Result<(), XlsxError> {
    sheet.set_name(SHEET_CONSULTATIONS)?;
    let a = &report.consultations;
    let categories: Vec<String> = Category::ALL.iter().map(|c| format!("类别:{}", c.label_zh())).collect();
    let causes: Vec<String> = Cause::ALL.iter().map(|c| format!("原因:{}", c.label_zh())).collect();
    let mut columns: Vec<(&str, f64)> =
        vec![("排名", 6.0), ("事项编码", 12.0), ("事项名称", 32.0), ("咨询量", 10.0), ("占比", 10.0)];
    columns.extend(categories.iter().map(|c| (c.as_str(), 11.0)));
    columns.extend(causes.iter().map(|c| (c.as_str(), 14.0)));
    columns.extend([("疑难问题件数(含限期答复)", 14.0), ("逾期答复件数", 12.0)]);
    header(sheet, f, &columns)?;

    let mut items: Vec<&consultation::ItemAnalysis> = a.per_item.iter().collect();
    // Most asked first; questions about no item after the items with as many; then by code.
    items.sort_by(|x, y| {
        y.count
            .cmp(&x.count)
            .then_with(|| x.item.is_none().cmp(&y.item.is_none()))
            .then_with(|| x.item.cmp(&y.item))
    });
    let share = |n: u32| (a.total > 0).then(|| f64::from(n) / f64::from(a.total));
    let listed = items.len().min(ITEM_ROWS_MAX);
    let mut row: RowNum = 1;
    let mut rank: u32 = 0;
    for s in &items[..listed] {
        match &s.item {
            Some(code) => {
                rank += 1;
                sheet.write_number_with_format(row, 0, rank, &f.count)?;
                sheet.write_string_with_format(row, 1, code.as_str(), &f.text)?;
                sheet.write_string_with_format(row, 2, report.item_name(code), &f.text)?;
            }
            None => {
                sheet.write_blank(row, 0, &f.text)?;
                sheet.write_blank(row, 1, &f.text)?;
                sheet.write_string_with_format(row, 2, NO_ITEM_ZH, &f.text)?;
            }
        }
        breakdown_row(sheet, row, f, false, s.count, share(s.count), &s.by_category, &s.by_cause)?;
        write_count(sheet, row, 15, s.hard_questions.into(), &f.count)?;
        write_count(sheet, row, 16, s.answered_late.into(), &f.count)?;
        row += 1;
    }
    if items.len() > listed {
        let rest = &items[listed..];
        let count: u32 = rest.iter().map(|s| s.count).fold(0, u32::saturating_add);
        let mut by_category = BTreeMap::new();
        let mut by_cause = BTreeMap::new();
        for s in rest {
            for (k, n) in &s.by_category {
                let e: &mut u32 = by_category.entry(*k).or_default();
                *e = e.saturating_add(*n);
            }
            for (k, n) in &s.by_cause {
                let e: &mut u32 = by_cause.entry(*k).or_default();
                *e = e.saturating_add(*n);
            }
        }
        sheet.write_blank(row, 0, &f.text)?;
        sheet.write_blank(row, 1, &f.text)?;
        sheet.write_string_with_format(row, 2, format!("其余 {} 个事项", rest.len()), &f.text)?;
        breakdown_row(sheet, row, f, false, count, share(count), &by_category, &by_cause)?;
        let hard: u32 = rest.iter().map(|s| s.hard_questions).fold(0, u32::saturating_add);
        let late: u32 = rest.iter().map(|s| s.answered_late).fold(0, u32::saturating_add);
        write_count(sheet, row, 15, hard.into(), &f.count)?;
        write_count(sheet, row, 16, late.into(), &f.count)?;
        row += 1;
    }
    sheet.write_string_with_format(row, 0, "合计", &f.total_text)?;
    sheet.write_blank(row, 1, &f.total_text)?;
    sheet.write_blank(row, 2, &f.total_text)?;
    breakdown_row(sheet, row, f, true, a.total, share(a.total), &a.by_category, &a.by_cause)?;
    write_count(sheet, row, 15, a.hard_questions.into(), &f.total_count)?;
    write_count(sheet, row, 16, a.answered_late.into(), &f.total_count)?;
    Ok(())
}

/// Columns 3..=14 of a consultation row: count, share, categories, causes.
#[allow(clippy::too_many_arguments)]
fn breakdown_row(
    sheet: &mut Worksheet,
    row: RowNum,
    f: &Formats,
    total: bool,
    count: u32,
    share: Option<f64>,
    by_category: &BTreeMap<Category, u32>,
    by_cause: &BTreeMap<Cause, u32>,
) -> Result<(), XlsxError> {
    let (_, count_fmt, percent, _) = f.pick(total);
    write_count(sheet, row, 3, count.into(), count_fmt)?;
    write_opt(sheet, row, 4, share, percent)?;
    let mut col: ColNum = 5;
    for c in Category::ALL {
        write_count(sheet, row, col, by_category.get(&c).copied().unwrap_or(0).into(), count_fmt)?;
        col += 1;
    }
    for c in Cause::ALL {
        write_count(sheet, row, col, by_cause.get(&c).copied().unwrap_or(0).into(), count_fmt)?;
        col += 1;
    }
    Ok(())
}

/// 「咨询分类汇总」: the ledger by category, cause (with the remedy the notice asks for), mode,
/// and the hard questions' answers (W2.3).
fn consultation_summary_sheet(sheet: &mut Worksheet, report: &Report, f: &Formats) -> Result<(), XlsxError> {
    sheet.set_name(SHEET_CONSULTATION_SUMMARY)?;
    header(sheet, f, &[("维度", 12.0), ("项目", 28.0), ("件数", 10.0), ("占比", 10.0), ("整改方向", 48.0)])?;
    let a = &report.consultations;
    let mut lines: Vec<(&str, &str, u32, &str)> = Vec::new();
    for c in Category::ALL {
        lines.push(("咨询类别", c.label_zh(), a.by_category.get(&c).copied().unwrap_or(0), ""));
    }
    for c in Cause::ALL {
        lines.push(("产生原因", c.label_zh(), a.by_cause.get(&c).copied().unwrap_or(0), c.remedy_zh()));
    }
    lines.push(("辅导方式", "现场辅导", a.on_site, ""));
    for (channel, label) in [
        (RemoteChannel::Video, "远程视频辅导"),
        (RemoteChannel::Phone, "电话辅导"),
        (RemoteChannel::Online, "网络辅导"),
    ] {
        lines.push(("辅导方式", label, a.remote.get(&channel).copied().unwrap_or(0), ""));
    }
    lines.push(("疑难问题", "疑难问题件数(含限期答复)", a.hard_questions, ""));
    lines.push(("疑难问题", "超过 2 个工作日答复", a.answered_late, ""));
    lines.push(("疑难问题", "逾期尚未答复(截至统计期末)", a.open_overdue, ""));
    let mut row: RowNum = 1;
    for (dimension, label, n, remedy) in lines {
        sheet.write_string_with_format(row, 0, dimension, &f.text)?;
        sheet.write_string_with_format(row, 1, label, &f.text)?;
        write_count(sheet, row, 2, n.into(), &f.count)?;
        let share = (a.total > 0).then(|| f64::from(n) / f64::from(a.total));
        write_opt(sheet, row, 3, share, &f.percent)?;
        sheet.write_string_with_format(row, 4, remedy, &f.wrap)?;
        row += 1;
    }
    sheet.write_string_with_format(row, 0, "合计", &f.total_text)?;
    sheet.write_string_with_format(row, 1, "咨询总量", &f.total_text)?;
    write_count(sheet, row, 2, a.total.into(), &f.total_count)?;
    sheet.write_blank(row, 3, &f.total_text)?;
    sheet.write_blank(row, 4, &f.total_text)?;
    Ok(())
}

/// 「说明」: period, department, generation time, rules and definitions.
fn notes_sheet(sheet: &mut Worksheet, report: &Report, f: &Formats) -> Result<(), XlsxError> {
    sheet.set_name(SHEET_NOTES)?;
    header(sheet, f, &[("项目", 16.0), ("内容", 90.0)])?;
    let p = &report.period;
    let mut lines: Vec<(String, String)> = vec![
        ("报表".into(), "一口受理评价考核与咨询台账分析报表".into()),
        (
            "统计期间".into(),
            format!(
                "{} 至 {}(共 {} 天,含首尾两日;办件按接件日期、咨询按登记日期统计)",
                p.from,
                p.to,
                p.days()
            ),
        ),
        ("统计部门".into(), report.scope_zh()),
        ("生成时间".into(), report.generated_at.format("%Y-%m-%d %H:%M:%S").to_string()),
        (
            "依据规则".into(),
            format!(
                "{}:评价考核——满意度评价及各部门标准化率、无纸化率、综合受理率、网上办理率、联合办理率;\
                 {}:咨询台账分类登记、定期分析(哪些事项咨询多、原因何在);\
                 {}:容缺受理件与其他办件一样计入各项指标",
                RULES[0], RULES[1], RULES[2]
            ),
        ),
    ];
    for l in &RATE_LABELS {
        lines.push((l.name.into(), l.definition.into()));
    }
    lines.extend([
        ("空白单元格".into(), "该项没有可计入的办件(分母为 0),不是 0%".into()),
        ("部门归属".into(), "办件计入其事项所属部门(联办事项计入事项所属部门);咨询计入被咨询部门".into()),
        (
            "满意度".into(),
            "非常满意 5 分、满意 4 分、基本满意 3 分、不满意 2 分、非常不满意 1 分;2 分及以下为差评".into(),
        ),
    ]);
    for (row, (k, v)) in (1..).zip(&lines) {
        sheet.write_string_with_format(row, 0, k, &f.text)?;
        sheet.write_string_with_format(row, 1, v, &f.wrap)?;
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn d(s: &str) -> NaiveDate {
        NaiveDate::parse_from_str(s, "%Y-%m-%d").expect("test date")
    }

    #[test]
    fn periods_are_checked() {
        let ok = Period::new(d("2028-01-01"), d("2028-12-31")).expect("a leap year is 366 days");
        assert_eq!(ok.days(), PERIOD_DAYS_MAX);
        let e = Period::new(d("2026-01-01"), d("2027-01-02")).expect_err("367 days");
        assert_eq!(e.code(), "report.bad_period");
        assert_eq!(e.to_string(), "统计期间过长:共 367 天,一次最多统计 366 天,请分段导出");
        let e = Period::new(d("2026-03-02"), d("2026-03-01")).expect_err("reversed");
        assert_eq!(e.code(), "report.bad_period");
        assert_eq!(Period::new(d("2026-03-01"), d("2026-03-01")).map(|p| p.days()).ok(), Some(1));
    }

    #[test]
    fn the_workbook_is_reproducible_and_the_report_has_a_json_schema() {
        let report = build(
            &[],
            &[],
            &WorkCalendar::builtin(),
            d("2026-03-01"),
            d("2026-03-31"),
            None,
            NaiveDateTime::parse_from_str("2026-04-01 08:00", "%Y-%m-%d %H:%M").expect("test datetime"),
        )
        .expect("valid period");
        // The same report gives the same bytes (the creation time is the report's own).
        assert_eq!(xlsx(&report).expect("workbook"), xlsx(&report).expect("workbook"));
        let schema = serde_json::to_value(schemars::schema_for!(Report)).expect("schema serialises");
        assert!(schema["properties"]["indicators"].is_object());
        assert!(schema["properties"]["period"].is_object());
    }

    #[test]
    fn rfc5987_keeps_attr_chars_only() {
        assert_eq!(rfc5987_encode("a-b_1.xlsx"), "a-b_1.xlsx");
        assert_eq!(rfc5987_encode("报 表\"%"), "%E6%8A%A5%20%E8%A1%A8%22%25");
    }
}
