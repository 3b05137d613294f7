//! Reports (W10 indicators, W2.5 consultation analysis): JSON figures counted by hand, and the
//! .xlsx read back with calamine.

use std::io::Cursor;

use calamine::{Data, Range, Reader, Xlsx, open_workbook_from_rs};
use chrono::{NaiveDate, NaiveDateTime};
use yikou_node::fixtures::CaseFactory;
use yikou_node::reports::{self, ITEM_ROWS_MAX, PERIOD_DAYS_MAX, Report};
use yikou_schema::actor::{Actor, Role};
use yikou_schema::calendar::WorkCalendar;
use yikou_schema::case::{
    Case, CaseHeader, Channel, CommandContext, Condition, Delivery, Event, EventKind, Outcome, PreAcceptance,
    PresentedMaterial, Problem,
};
use yikou_schema::catalog::Catalog;
use yikou_schema::codes::{DepartmentCode, ItemCode, MaterialCode, NodeName, StaffId};
use yikou_schema::consultation::{Answer, Category, Cause, ConsultationEntry, Mode, RemoteChannel};
use yikou_schema::hlc::{Hlc, ms_from_local};
use yikou_schema::ids::{Applicant, ApplicantId, CaseNumber, NodeCode};
use yikou_schema::tolerance::DishonestyList;

const NODE: &str = "hall";

fn d(s: &str) -> NaiveDate {
    NaiveDate::parse_from_str(s, "%Y-%m-%d").expect("test date")
}

fn at(s: &str) -> NaiveDateTime {
    NaiveDateTime::parse_from_str(s, "%Y-%m-%d %H:%M").expect("test datetime")
}

fn dept(code: &str) -> DepartmentCode {
    DepartmentCode::new(code)
}

/// Records events on a case through the real command gate.
struct Recorder {
    cal: WorkCalendar,
    list: DishonestyList,
}

impl Recorder {
    fn new() -> Recorder {
        Recorder { cal: WorkCalendar::builtin(), list: DishonestyList::default() }
    }

    fn event(when: &str, role: Role, kind: EventKind) -> Event {
        Event {
            hlc: Hlc { wall_ms: ms_from_local(at(when)), counter: 0, node: NodeName::new(NODE) },
            actor: Actor { staff: StaffId::new("s1"), role, node: NodeName::new(NODE) },
            kind,
        }
    }

    fn open(&self, item: &str, serial: u32, when: &str, channel: Channel, materials: &[&str]) -> Case {
        let catalog = Catalog::sample();
        let item = catalog.item(&ItemCode::new(item)).expect("sample item").clone();
        let header = CaseHeader {
            number: CaseNumber::new(NodeCode::parse("410184002").expect("valid"), at(when).date(), serial)
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
            catalog_version: catalog.version.clone(),
            origin: NodeName::new(NODE),
            scope: "hall".into(),
        };
        let ctx = CommandContext { calendar: &self.cal, dishonesty: &self.list };
        let kind = EventKind::Received { channel, presented: present(materials) };
        Case::open(header, Recorder::event(when, Role::WindowClerk, kind), &ctx).expect("received")
    }

    fn rec(&self, case: &mut Case, when: &str, role: Role, kind: EventKind) {
        let name = kind.name_zh();
        let ctx = CommandContext { calendar: &self.cal, dishonesty: &self.list };
        if let Err(e) = case.record(Recorder::event(when, role, kind), &ctx) {
            panic!("{name} at {when} refused: {e}");
        }
    }

    /// Handed over to the item's department and signed for.
    fn review(&self, case: &mut Case, when: &str, later: &str, paper: bool) {
        let department = case.header.item.department.clone();
        self.rec(
            case,
            when,
            Role::WindowClerk,
            EventKind::HandedOver { department: department.clone(), paper },
        );
        self.rec(
            case,
            later,
            Role::DepartmentReviewer(department.clone()),
            EventKind::HandoverSigned { department },
        );
    }

    fn approve(&self, case: &mut Case, when: &str) {
        let role = Role::DepartmentReviewer(case.header.item.lead_department().clone());
        self.rec(
            case,
            when,
            role,
            EventKind::Decided { outcome: Outcome::Approve { result: "许可证".into() } },
        );
    }
}

fn present(codes: &[&str]) -> Vec<PresentedMaterial> {
    codes
        .iter()
        .map(|c| PresentedMaterial { code: MaterialCode::new(*c), condition: Condition::Present })
        .collect()
}

/// Seven cases received in March 2026 in three departments, one in April.
///
/// | case | dept  | how                                                        |
/// |------|-------|------------------------------------------------------------|
/// | B1   | BDCDJ | fixture: tolerance-accepted, supplied; decided on time, issued, picked up, rated 5 |
/// | B2   | BDCDJ | fixture: received only                                     |
/// | B3   | BDCDJ | fixture: received 1 April (outside the period)             |
/// | S1   | SCJGJ | online, electronic handover, decided on time, rated 4     |
/// | S2   | SCJGJ | hall, correction notice, accepted, paper, decided late, rated 1 |
/// | S3   | SCJGJ | not accepted                                               |
/// | S4   | SCJGJ | hall, accepted, undecided                                  |
/// | Z1   | ZJJ   | joint (parallel) item, accepted, undecided                 |
fn cases() -> Vec<Case> {
    let r = Recorder::new();
    let factory = CaseFactory::new(NODE, 1).expect("factory");
    let clerk = Role::WindowClerk;

    let mut b1 = factory.case(d("2026-03-02"), 1).expect("fixture case");
    r.approve(&mut b1, "2026-03-04 10:00");
    let issuing = Role::IssuingWindow;
    r.rec(
        &mut b1,
        "2026-03-04 11:00",
        issuing.clone(),
        EventKind::ResultToIssuing { register_entry: "登记 1".into() },
    );
    r.rec(&mut b1, "2026-03-04 11:10", issuing.clone(), EventKind::Notified { contact: "短信".into() });
    r.rec(
        &mut b1,
        "2026-03-05 09:00",
        issuing.clone(),
        EventKind::Delivered { delivery: Delivery::Pickup { signed_by: "张三".into() } },
    );
    r.rec(&mut b1, "2026-03-05 09:05", issuing, EventKind::Rated { score: 5 });
    let b2 = factory.received(d("2026-03-03"), 2).expect("fixture case");
    let b3 = factory.case(d("2026-04-01"), 3).expect("fixture case");

    let all = ["M01", "M02", "M03", "M04", "M05"];
    let mut s1 = r.open("SC006", 1, "2026-03-02 09:00", Channel::Online { portal_ref: "WT-1".into() }, &all);
    r.rec(
        &mut s1,
        "2026-03-02 10:00",
        clerk.clone(),
        EventKind::PreAccepted { result: PreAcceptance::Pass { paper_required: false } },
    );
    r.rec(&mut s1, "2026-03-02 10:10", clerk.clone(), EventKind::Accepted { presented: vec![] });
    r.review(&mut s1, "2026-03-02 11:00", "2026-03-02 11:30", false);
    r.approve(&mut s1, "2026-03-05 10:00");
    r.rec(&mut s1, "2026-03-05 10:30", clerk.clone(), EventKind::Rated { score: 4 });

    let mut s2 = r.open("SC006", 2, "2026-03-02 09:00", Channel::Hall, &["M01", "M03", "M04", "M05"]);
    r.rec(
        &mut s2,
        "2026-03-02 09:10",
        clerk.clone(),
        EventKind::CorrectionNotice {
            problems: vec![Problem {
                material: Some(MaterialCode::new("M02")),
                description: "未提交".into(),
            }],
        },
    );
    r.rec(
        &mut s2,
        "2026-03-03 09:00",
        clerk.clone(),
        EventKind::Resubmitted { presented: present(&["M02"]) },
    );
    r.rec(&mut s2, "2026-03-03 09:10", clerk.clone(), EventKind::Accepted { presented: vec![] });
    r.review(&mut s2, "2026-03-03 10:00", "2026-03-03 10:30", true);
    r.approve(&mut s2, "2026-03-25 10:00");
    r.rec(&mut s2, "2026-03-25 11:00", clerk.clone(), EventKind::Rated { score: 1 });

    let mut s3 = r.open("SC006", 3, "2026-03-04 09:00", Channel::Hall, &all);
    r.rec(
        &mut s3,
        "2026-03-04 09:10",
        clerk.clone(),
        EventKind::NotAccepted { reasons: vec!["不属于本机关职权范围".into()] },
    );

    let mut s4 = r.open("SC006", 4, "2026-03-20 09:00", Channel::Hall, &all);
    r.rec(&mut s4, "2026-03-20 09:10", clerk.clone(), EventKind::Accepted { presented: vec![] });

    let mut z1 = r.open("ZJ003", 5, "2026-03-10 09:00", Channel::Hall, &["M01", "M02", "M03", "M04"]);
    r.rec(&mut z1, "2026-03-10 09:10", clerk, EventKind::Accepted { presented: vec![] });

    vec![b1, b2, b3, s1, s2, s3, s4, z1]
}

fn entry(
    id: &str,
    when: &str,
    item: Option<&str>,
    department: &str,
    category: Category,
    cause: Cause,
) -> ConsultationEntry {
    ConsultationEntry {
        id: id.into(),
        ticket: None,
        node: NodeName::new(NODE),
        at: at(when),
        item: item.map(ItemCode::new),
        department: dept(department),
        counsellor: StaffId::new("c1"),
        mode: Mode::OnSite,
        question: "咨询".into(),
        category,
        cause,
        answer: Answer::OnTheSpot { one_time_notice: None },
    }
}

/// Six consultations in March, one in April.
fn ledger() -> Vec<ConsultationEntry> {
    let cal = WorkCalendar::builtin();
    let mut c3 = entry(
        "c3",
        "2026-03-04 10:00",
        Some("SC006"),
        "SCJGJ",
        Category::FormFilling,
        Cause::StandardIncomplete,
    );
    c3.mode = Mode::Remote(RemoteChannel::Phone);
    // Asked Thu 5 March, due Mon 9 March, answered Tue 10 March: late (W2.3).
    let mut c5 =
        entry("c5", "2026-03-05 15:00", Some("BDC007"), "BDCDJ", Category::HardQuestion, Cause::Legacy);
    c5.defer(&cal).expect("deferred");
    c5.answer(at("2026-03-10 09:00"), "按历史遗留问题处理意见办理".into()).expect("answered");
    vec![
        entry(
            "c1",
            "2026-03-02 09:00",
            Some("SC006"),
            "SCJGJ",
            Category::Materials,
            Cause::InformationNotPublic,
        ),
        entry(
            "c2",
            "2026-03-03 09:00",
            Some("SC006"),
            "SCJGJ",
            Category::Materials,
            Cause::InformationNotPublic,
        ),
        c3,
        entry("c4", "2026-03-05 09:00", Some("BDC001"), "BDCDJ", Category::Conditions, Cause::None),
        c5,
        entry("c6", "2026-03-10 09:00", None, "SCJGJ", Category::Process, Cause::None),
        entry("c7", "2026-04-02 09:00", Some("SC006"), "SCJGJ", Category::Process, Cause::None),
    ]
}

fn march(department: Option<&DepartmentCode>) -> Report {
    reports::build(
        &cases(),
        &ledger(),
        &WorkCalendar::builtin(),
        d("2026-03-01"),
        d("2026-03-31"),
        department,
        at("2026-04-01 08:00"),
    )
    .expect("valid period")
    .with_names(&Catalog::sample())
}

#[test]
fn json_indicators_match_hand_counts() {
    // rule W10: standardisation, paperless, one-window, online and joint-handling rates and the
    // ratings, per department, for the cases received in the period.
    // rule T5: the tolerance case (B1) counts in every rate and on its own.
    let report = march(None);
    let json = serde_json::to_value(&report).expect("serialises");
    let codes: Vec<&str> = report.indicators.iter().map(|r| r.department.as_str()).collect();
    assert_eq!(codes, ["BDCDJ", "SCJGJ", "ZJJ"]);
    let rate = |row: usize, name: &str| {
        let r = &json["indicators"][row][name];
        (r["numerator"].as_u64(), r["denominator"].as_u64(), r["per_mille"].as_u64())
    };

    // BDCDJ: B1 and B2 (B3 was received in April).
    assert_eq!(json["indicators"][0]["cases"], 2);
    assert_eq!(rate(0, "standardisation"), (Some(1), Some(1), Some(1000)));
    assert_eq!(rate(0, "paperless"), (Some(0), Some(1), Some(0)));
    assert_eq!(rate(0, "comprehensive"), (Some(1), Some(1), Some(1000)));
    assert_eq!(rate(0, "online"), (Some(0), Some(2), Some(0)));
    assert_eq!(rate(0, "on_time"), (Some(1), Some(1), Some(1000)));
    assert_eq!(json["indicators"][0]["tolerance_cases"], 1);
    assert_eq!(json["indicators"][0]["ratings"]["mean_per_mille"], 5000);

    // SCJGJ: S1 online on time, S2 corrected and late, S3 refused, S4 accepted.
    assert_eq!(json["indicators"][1]["cases"], 4);
    assert_eq!(rate(1, "standardisation"), (Some(2), Some(3), Some(667)));
    assert_eq!(rate(1, "paperless"), (Some(1), Some(3), Some(333)));
    assert_eq!(rate(1, "comprehensive"), (Some(3), Some(3), Some(1000)));
    assert_eq!(rate(1, "online"), (Some(1), Some(4), Some(250)));
    assert_eq!(rate(1, "joint"), (Some(0), Some(4), Some(0)));
    assert_eq!(rate(1, "on_time"), (Some(1), Some(2), Some(500)));
    let ratings = &json["indicators"][1]["ratings"];
    assert_eq!(
        (ratings["count"].as_u64(), ratings["sum"].as_u64(), ratings["bad"].as_u64()),
        (Some(2), Some(5), Some(1))
    );
    assert_eq!(ratings["mean_per_mille"], 2500);

    // ZJJ: one joint case, nothing decided: on-time has no denominator (null, not 0).
    assert_eq!(rate(2, "joint"), (Some(1), Some(1), Some(1000)));
    assert_eq!(rate(2, "on_time"), (Some(0), Some(0), None));
    assert_eq!(json["indicators"][2]["ratings"]["mean_per_mille"], serde_json::Value::Null);

    // The total sums numerators and denominators.
    let t = &report.total;
    assert_eq!(t.cases, 7);
    assert_eq!((t.standardisation.numerator, t.standardisation.denominator), (4, 5));
    assert_eq!(t.standardisation.per_mille, Some(800));
    assert_eq!((t.paperless.numerator, t.paperless.denominator), (1, 5));
    assert_eq!((t.online.numerator, t.online.denominator), (1, 7));
    assert_eq!((t.joint.numerator, t.joint.denominator), (1, 7));
    assert_eq!(t.on_time.per_mille, Some(667));
    assert_eq!(t.tolerance_cases, 1);
    assert_eq!(
        (t.ratings.count, t.ratings.sum, t.ratings.bad, t.ratings.mean_per_mille),
        (3, 10, 1, Some(3333))
    );

    assert_eq!(json["period"]["from"], "2026-03-01");
    assert_eq!(json["generated_at"], "2026-04-01T08:00:00");
    assert_eq!(json["department"], serde_json::Value::Null);
    assert_eq!(report.department_names[&dept("SCJGJ")], "县市场监督管理局");

    // The JSON reads back as the same report (the API's clients deserialise it).
    let back: Report = serde_json::from_value(json).expect("deserialises");
    assert_eq!(back, report);
}

#[test]
fn json_consultation_analysis_matches_hand_counts() {
    // rule W2.5: which items generate most questions, and why.
    let a = march(None).consultations;
    assert_eq!(a.total, 6);
    let top: Vec<(&str, u32)> = a.top_items.iter().map(|t| (t.item.as_str(), t.count)).collect();
    assert_eq!(top, [("SC006", 3), ("BDC001", 1), ("BDC007", 1)]);
    assert_eq!(a.by_category[&Category::Materials], 2);
    assert_eq!(a.by_cause[&Cause::InformationNotPublic], 2);
    assert_eq!(a.by_cause[&Cause::None], 2);
    assert_eq!((a.on_site, a.remote[&RemoteChannel::Phone]), (5, 1));
    // rule W2.3: the deferred question answered after its second working day.
    assert_eq!((a.hard_questions, a.answered_late, a.open_overdue), (1, 1, 0));
}

#[test]
fn a_department_report_holds_only_that_department() {
    // rule W10, rule W2.5
    let scjgj = dept("SCJGJ");
    let report = march(Some(&scjgj));
    assert_eq!(report.indicators.len(), 1);
    assert_eq!(report.indicators[0].department, scjgj);
    assert_eq!(report.total, report.indicators[0].figures);
    assert_eq!(report.consultations.total, 4, "c1, c2, c3 and c6 asked SCJGJ");
    assert_eq!(report.item_names.keys().map(ItemCode::as_str).collect::<Vec<_>>(), ["SC006"]);
    assert_eq!(reports::xlsx_file_name(&report), "一口受理报表_SCJGJ_2026-03-01_2026-03-31.xlsx");
    assert_eq!(reports::xlsx_file_name_ascii(&report), "yikou-report_SCJGJ_2026-03-01_2026-03-31.xlsx");
    assert_eq!(
        reports::content_disposition(&report),
        "attachment; filename=\"yikou-report_SCJGJ_2026-03-01_2026-03-31.xlsx\"; filename*=UTF-8''\
         %E4%B8%80%E5%8F%A3%E5%8F%97%E7%90%86%E6%8A%A5%E8%A1%A8_SCJGJ_2026-03-01_2026-03-31.xlsx"
    );

    let all = march(None);
    assert_eq!(reports::xlsx_file_name(&all), "一口受理报表_全部_2026-03-01_2026-03-31.xlsx");
    assert_eq!(reports::xlsx_file_name_ascii(&all), "yikou-report_all_2026-03-01_2026-03-31.xlsx");

    // A department code cannot smuggle a path or a quote into the file name.
    let odd = dept("../a\"b");
    let report = march(Some(&odd));
    assert!(report.indicators.is_empty());
    assert_eq!(reports::xlsx_file_name(&report), "一口受理报表_..ab_2026-03-01_2026-03-31.xlsx");
    assert_eq!(reports::xlsx_file_name_ascii(&report), "yikou-report____a_b_2026-03-01_2026-03-31.xlsx");
}

#[test]
fn bad_periods_are_refused() {
    let cal = WorkCalendar::builtin();
    let build = |from: &str, to: &str| {
        reports::build(&[], &[], &cal, d(from), d(to), None, at("2026-04-01 08:00")).map(|_| ())
    };
    let e = build("2026-03-31", "2026-03-01").expect_err("reversed");
    assert_eq!(e.code(), "report.bad_period");
    assert_eq!(e.to_string(), "统计期间有误:开始日期 2026-03-31 晚于结束日期 2026-03-01,请重新选择");
    let e = build("2026-01-01", "2027-01-02").expect_err("too long");
    assert_eq!(e.code(), "report.bad_period");
    assert!(e.to_string().contains(&PERIOD_DAYS_MAX.to_string()));
    // At the bound: 366 days, a leap year.
    assert!(build("2028-01-01", "2028-12-31").is_ok());
    assert!(build("2026-03-01", "2026-03-01").is_ok());
}

fn open(bytes: Vec<u8>) -> Xlsx<Cursor<Vec<u8>>> {
    open_workbook_from_rs(Cursor::new(bytes)).expect("a valid .xlsx")
}

fn sheet(book: &mut Xlsx<Cursor<Vec<u8>>>, name: &str) -> Range<Data> {
    book.worksheet_range(name).expect("sheet present")
}

fn text(range: &Range<Data>, row: u32, col: u32) -> String {
    match range.get_value((row, col)) {
        Some(Data::String(s)) => s.clone(),
        other => panic!("({row}, {col}): expected text, found {other:?}"),
    }
}

fn number(range: &Range<Data>, row: u32, col: u32) -> f64 {
    match range.get_value((row, col)) {
        Some(Data::Float(f)) => *f,
        Some(Data::Int(i)) => *i as f64,
        other => panic!("({row}, {col}): expected a number, found {other:?}"),
    }
}

fn empty(range: &Range<Data>, row: u32, col: u32) -> bool {
    matches!(range.get_value((row, col)), None | Some(Data::Empty))
}

fn header_row(range: &Range<Data>) -> Vec<String> {
    range.rows().next().map(|r| r.iter().map(|c| c.to_string()).collect()).unwrap_or_default()
}

#[test]
fn xlsx_reads_back_with_chinese_sheets_headers_and_figures() {
    // rule W10, rule W2.5
    let report = march(None);
    let bytes = reports::xlsx(&report).expect("workbook");
    assert_eq!(&bytes[..2], b"PK", "a zip container");
    let mut book = open(bytes);
    assert_eq!(
        book.sheet_names(),
        ["部门指标", "指标明细", "满意度", "咨询台账分析", "咨询分类汇总", "说明"]
    );

    let ind = sheet(&mut book, "部门指标");
    assert_eq!(
        header_row(&ind),
        [
            "部门编码",
            "部门名称",
            "办件量",
            "标准化率",
            "无纸化率",
            "综合受理率",
            "网上办理率",
            "联合办理率",
            "按时办结率",
            "容缺受理件数",
            "评价数",
            "平均满意度(分)",
            "差评数",
            "备注"
        ]
    );
    assert_eq!(text(&ind, 2, 0), "SCJGJ");
    assert_eq!(text(&ind, 2, 1), "县市场监督管理局");
    assert_eq!(number(&ind, 2, 2), 4.0);
    assert!((number(&ind, 2, 3) - 2.0 / 3.0).abs() < 1e-12, "标准化率 2/3");
    assert_eq!(number(&ind, 2, 6), 0.25, "网上办理率 1/4");
    assert_eq!(number(&ind, 2, 11), 2.5, "mean rating");
    assert_eq!(number(&ind, 2, 12), 1.0, "one bad review");
    // ZJJ decided nothing: an empty cell, not 0 %.
    assert_eq!(text(&ind, 3, 0), "ZJJ");
    assert!(empty(&ind, 3, 8), "按时办结率 without a denominator");
    assert!(empty(&ind, 3, 11), "no ratings, no mean");
    assert_eq!(number(&ind, 3, 7), 1.0, "联合办理率 1/1");
    // The total row.
    assert_eq!(text(&ind, 4, 0), "合计");
    assert_eq!(number(&ind, 4, 2), 7.0);
    assert_eq!(number(&ind, 4, 3), 0.8);
    assert_eq!(ind.height(), 5);

    let detail = sheet(&mut book, "指标明细");
    let head = header_row(&detail);
    assert_eq!(head[3..5], ["一次受理件数", "标准化率分母"]);
    assert_eq!((number(&detail, 2, 3), number(&detail, 2, 4)), (2.0, 3.0));

    let ratings = sheet(&mut book, "满意度");
    assert_eq!(header_row(&ratings)[2..5], ["评价数", "评价总分", "平均满意度(分)"]);
    assert_eq!(number(&ratings, 1, 4), 5.0, "BDCDJ: one rating of 5");
    assert_eq!(number(&ratings, 4, 6), 1.0 / 3.0, "one bad review of three");

    let cons = sheet(&mut book, "咨询台账分析");
    let head = header_row(&cons);
    assert_eq!(head[..5], ["排名", "事项编码", "事项名称", "咨询量", "占比"]);
    assert!(head.contains(&"类别:申报材料".to_string()));
    assert!(head.contains(&"原因:信息公开不到位或更新不及时".to_string()));
    // Most asked first: SC006 (3 of 6), with its categories and causes.
    assert_eq!(
        (number(&cons, 1, 0), text(&cons, 1, 1), text(&cons, 1, 2)),
        (1.0, "SC006".into(), "食品经营许可".into())
    );
    assert_eq!((number(&cons, 1, 3), number(&cons, 1, 4)), (3.0, 0.5));
    let materials = head.iter().position(|h| h == "类别:申报材料").expect("column") as u32;
    let unpublished =
        head.iter().position(|h| h == "原因:信息公开不到位或更新不及时").expect("column") as u32;
    assert_eq!((number(&cons, 1, materials), number(&cons, 1, unpublished)), (2.0, 2.0));
    // Then BDC001 and BDC007 (1 each), the question about no item, then the total.
    assert_eq!((text(&cons, 2, 1), text(&cons, 3, 1)), ("BDC001".into(), "BDC007".into()));
    assert_eq!(number(&cons, 3, 16), 1.0, "BDC007 answered late");
    assert_eq!(text(&cons, 4, 2), "(未涉及具体事项)");
    assert_eq!((text(&cons, 5, 0), number(&cons, 5, 3)), ("合计".into(), 6.0));

    let summary = sheet(&mut book, "咨询分类汇总");
    assert_eq!(header_row(&summary), ["维度", "项目", "件数", "占比", "整改方向"]);
    let row = (1..summary.height() as u32)
        .find(|r| text(&summary, *r, 1) == "信息公开不到位或更新不及时")
        .expect("cause row");
    assert_eq!(number(&summary, row, 2), 2.0);
    assert_eq!(text(&summary, row, 4), "加大公开、更新力度");

    let notes = sheet(&mut book, "说明");
    let lines: Vec<(String, String)> =
        (1..notes.height() as u32).map(|r| (text(&notes, r, 0), text(&notes, r, 1))).collect();
    let value = |key: &str| lines.iter().find(|(k, _)| k == key).map(|(_, v)| v.clone()).expect(key);
    assert!(value("统计期间").starts_with("2026-03-01 至 2026-03-31"));
    assert_eq!(value("统计部门"), "全部部门");
    assert_eq!(value("生成时间"), "2026-04-01 08:00:00");
    assert!(value("依据规则").contains("W10") && value("依据规则").contains("W2.5"));
}

#[test]
fn an_empty_report_still_makes_a_workbook() {
    // rule W10: no cases, no consultations: headers, a total of zero, empty rate cells.
    let scjgj = dept("SCJGJ");
    let report = reports::build(
        &[],
        &[],
        &WorkCalendar::builtin(),
        d("2026-03-01"),
        d("2026-03-31"),
        Some(&scjgj),
        at("2026-04-01 08:00"),
    )
    .expect("valid period");
    let mut book = open(reports::xlsx(&report).expect("workbook"));
    let ind = sheet(&mut book, "部门指标");
    assert_eq!((text(&ind, 1, 0), number(&ind, 1, 2)), ("合计".into(), 0.0));
    assert!(empty(&ind, 1, 3));
    let notes = sheet(&mut book, "说明");
    assert_eq!(text(&notes, 3, 1), "SCJGJ");
}

#[test]
fn consultation_rows_stop_at_the_bound() {
    // rule W2.5: every item is counted; beyond ITEM_ROWS_MAX the least asked are summed in one line.
    let entries: Vec<ConsultationEntry> = (0..=ITEM_ROWS_MAX)
        .map(|i| {
            let item = format!("I{i:05}");
            entry(&i.to_string(), "2026-03-02 09:00", Some(&item), "SCJGJ", Category::Process, Cause::None)
        })
        .collect();
    let report = reports::build(
        &[],
        &entries,
        &WorkCalendar::builtin(),
        d("2026-03-01"),
        d("2026-03-31"),
        None,
        at("2026-04-01 08:00"),
    )
    .expect("valid period");
    let mut book = open(reports::xlsx(&report).expect("workbook"));
    let cons = sheet(&mut book, "咨询台账分析");
    let last_item = ITEM_ROWS_MAX as u32;
    assert_eq!(text(&cons, last_item, 1), format!("I{:05}", ITEM_ROWS_MAX - 1));
    assert_eq!(
        (text(&cons, last_item + 1, 2), number(&cons, last_item + 1, 3)),
        ("其余 1 个事项".into(), 1.0)
    );
    assert_eq!(number(&cons, last_item + 2, 3), (ITEM_ROWS_MAX + 1) as f64);
    assert_eq!(cons.height(), ITEM_ROWS_MAX + 3);
}
