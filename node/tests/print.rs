//! Printable documents as A4 HTML pages: real cases of the sample catalog driven through the
//! command gate, every form `documents_for` offers at each stage rendered and checked for what
//! the rules make it say.

use chrono::{NaiveDate, NaiveDateTime};
use yikou_node::fixtures::CaseFactory;
use yikou_node::print::{escape, index_page, page};
use yikou_schema::actor::{Actor, Role};
use yikou_schema::calendar::WorkCalendar;
use yikou_schema::case::{
    Case, CaseHeader, Channel, CommandContext, Commitment, Condition, Delivery, DenialBasis, Event,
    EventKind, Outcome, PresentedMaterial, Problem, Signatory,
};
use yikou_schema::catalog::Catalog;
use yikou_schema::codes::{ItemCode, MaterialCode, NodeName, StaffId};
use yikou_schema::documents::{self, COMMITMENT_COPIES, Document, DocumentKind, cn_date};
use yikou_schema::hlc::{Hlc, ms_from_local};
use yikou_schema::ids::{Applicant, ApplicantId, CaseNumber, NodeCode};
use yikou_schema::tolerance::DishonestyList;

const WINDOW: &str = "县政务服务中心不动产登记窗口";

fn day(s: &str) -> NaiveDate {
    NaiveDate::parse_from_str(s, "%Y-%m-%d").expect("test date")
}

fn at(s: &str) -> NaiveDateTime {
    NaiveDateTime::parse_from_str(s, "%Y-%m-%d %H:%M").expect("test datetime")
}

/// A case of the sample catalog's BDC001 (首次登记, promise item, M06 tolerable), recorded
/// through the real command gate.
struct Fx {
    case: Case,
    cal: WorkCalendar,
    list: DishonestyList,
}

fn event(when: &str, role: Role, kind: EventKind) -> Event {
    Event {
        hlc: Hlc { wall_ms: ms_from_local(at(when)), counter: 0, node: NodeName::new("hall") },
        actor: Actor { staff: StaffId::new("staff-1"), role, node: NodeName::new("hall") },
        kind,
    }
}

fn presented(list: &[(&str, Condition)]) -> Vec<PresentedMaterial> {
    list.iter()
        .map(|(code, condition)| PresentedMaterial {
            code: MaterialCode::new(*code),
            condition: condition.clone(),
        })
        .collect()
}

fn all_but(missing: Option<&str>) -> Vec<PresentedMaterial> {
    let codes = ["M01", "M02", "M03", "M04", "M05", "M06"];
    let list: Vec<(&str, Condition)> = codes
        .iter()
        .map(|c| (*c, if Some(*c) == missing { Condition::Missing } else { Condition::Present }))
        .collect();
    presented(&list)
}

impl Fx {
    fn open(when: &str, materials: Vec<PresentedMaterial>) -> Fx {
        let catalog = Catalog::sample();
        let item = catalog.item(&ItemCode::new("BDC001")).cloned().expect("sample item BDC001");
        let received = at(when);
        let header = CaseHeader {
            number: CaseNumber::new(NodeCode::parse("410184001").expect("valid"), received.date(), 7)
                .expect("valid"),
            applicant: Applicant::new(
                ApplicantId::parse("11010519491231002X").expect("valid"),
                "张三",
                Some("13800000000"),
                Some("新郑市新建路 1 号"),
            )
            .expect("valid"),
            agent: None,
            item,
            catalog_version: catalog.version.clone(),
            origin: NodeName::new("hall"),
            scope: "410184001".to_string(),
        };
        let cal = WorkCalendar::builtin();
        let list = DishonestyList::default();
        let first = event(
            when,
            Role::WindowClerk,
            EventKind::Received { channel: Channel::Hall, presented: materials },
        );
        let case = Case::open(header, first, &CommandContext { calendar: &cal, dishonesty: &list })
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

    fn reviewer(&self) -> Role {
        Role::DepartmentReviewer(self.case.header.item.department.clone())
    }

    fn review(&mut self, handed: &str, signed: &str) -> &mut Fx {
        let d = self.case.header.item.department.clone();
        let reviewer = self.reviewer();
        self.rec(handed, Role::WindowClerk, EventKind::HandedOver { department: d.clone(), paper: true }).rec(
            signed,
            reviewer,
            EventKind::HandoverSigned { department: d },
        )
    }

    fn decide(&mut self, when: &str, outcome: Outcome) -> &mut Fx {
        let reviewer = self.reviewer();
        self.rec(when, reviewer, EventKind::Decided { outcome })
    }

    fn kinds(&self) -> Vec<DocumentKind> {
        documents::documents_for(&self.case.header, &self.case.state(), &self.cal)
    }

    fn doc(&self, kind: DocumentKind) -> Document {
        documents::build(kind, &self.case.header, &self.case.state(), &self.cal).expect("document builds")
    }
}

/// Accepted with tolerance on Monday 2 March 2026, M06 owed by Thursday 5 March.
fn tolerance_case() -> Fx {
    let mut fx = Fx::open("2026-03-02 09:00", all_but(Some("M06")));
    fx.rec(
        "2026-03-02 09:30",
        Role::WindowClerk,
        EventKind::ToleranceAccepted {
            presented: vec![],
            commitment: Commitment {
                materials: vec![MaterialCode::new("M06")],
                deadline: day("2026-03-05"),
                window: WINDOW.to_string(),
                signed_by: Signatory::Applicant,
                dishonesty_list_version: 0,
            },
        },
    );
    fx
}

/// Every piece of text the document holds appears on the page, escaped; the page is a
/// complete zh-CN HTML5 document titled with the form and the case number.
fn assert_renders_everything(doc: &Document, html: &str) {
    assert!(html.starts_with("<!DOCTYPE html>\n<html lang=\"zh-CN\">"), "{:?}", doc.kind);
    assert!(html.contains("<meta charset=\"utf-8\">"));
    assert!(html.contains(&format!("<title>{} {}</title>", escape(&doc.title), escape(&doc.case_number))));
    assert!(html.contains(&format!("<h1>{}</h1>", escape(&doc.title))));
    assert!(html.contains(&escape(&doc.case_number)));
    assert!(html.contains(&cn_date(doc.issued_on)), "{:?}: day of issue", doc.kind);
    for f in &doc.fields {
        assert!(html.contains(&format!(
            "<th scope=\"row\">{}</th><td>{}</td>",
            escape(&f.label),
            escape(&f.value)
        )));
    }
    for l in &doc.lists {
        assert!(html.contains(&format!("<h2>{}</h2>", escape(&l.title))));
        for e in &l.entries {
            assert!(html.contains(&format!("<li>{}</li>", escape(e))), "{e}");
        }
    }
    for p in &doc.paragraphs {
        assert!(html.contains(&format!("<p>{}</p>", escape(p))), "{p}");
    }
    for s in &doc.signatures {
        assert!(html.contains(&format!("<span class=\"label\">{}", escape(s))), "{s}");
    }
    for copy in &doc.copies {
        assert!(html.contains(&format!("<p class=\"copy\">{}</p>", escape(copy))), "{copy}");
    }
    for banned in ["<script", "<link", "<img", "url(", "http://", "https://"] {
        assert!(!html.contains(banned), "{:?} loads something: {banned}", doc.kind);
    }
    assert!(html.ends_with("</html>\n"));
}

fn rendered(fx: &Fx, kind: DocumentKind) -> (Document, String) {
    let doc = fx.doc(kind);
    let html = page(&doc);
    assert_renders_everything(&doc, &html);
    (doc, html)
}

#[test]
fn the_commitment_prints_three_labelled_copies_each_on_its_own_page() {
    // rule T3.2: three copies, one to the applicant, one with the case, one registered at the
    // window; each a printed page of its own.
    let fx = tolerance_case();
    let (doc, html) = rendered(&fx, DocumentKind::Commitment);
    assert_eq!(html.matches("<article class=\"sheet").count(), 3);
    assert_eq!(html.matches("<article class=\"sheet break\"").count(), 2, "the last copy ends the page run");
    assert!(html.contains(".break { break-after: page;"));
    let sheets: Vec<&str> = html.split("<article ").skip(1).collect();
    assert_eq!(sheets.len(), 3);
    for (sheet, label) in sheets.iter().zip(COMMITMENT_COPIES) {
        assert!(sheet.contains(&format!("<p class=\"copy\">{label}</p>")), "{label}");
        // rule T3.3: every copy carries the matter, the missing materials, the deadline, the
        // consequence and the legal responsibility.
        assert!(sheet.contains("国有建设用地使用权及房屋所有权首次登记"), "matter on {label}");
        assert!(sheet.contains("<li>房地产调查或者测绘报告</li>"), "missing material on {label}");
        assert!(sheet.contains("<td>2026年3月5日</td>"), "deadline on {label}");
        assert!(sheet.contains("逾期后果:") && sheet.contains("失信名单"), "consequence on {label}");
        assert!(sheet.contains("法律责任:"), "legal responsibility on {label}");
        assert!(sheet.contains("承诺人(申请人签字)"), "signature on {label}");
        assert!(sheet.contains("签署日期:</span><span class=\"blank\">"), "date line on {label}");
        assert!(sheet.contains(&escape(&doc.case_number)));
    }
    assert_eq!(doc.field("承诺补交期限"), Some("2026年3月5日"));
}

#[test]
fn the_tolerance_receipt_prints_what_is_owed_where_and_by_when() {
    // rule T3.4: the 容缺受理回执单; rule T3.1: the window, the deadline and the consequence.
    let fx = tolerance_case();
    assert_eq!(fx.kinds(), [DocumentKind::ToleranceReceipt, DocumentKind::Commitment]);
    let (_, html) = rendered(&fx, DocumentKind::ToleranceReceipt);
    assert_eq!(html.matches("<article class=\"sheet").count(), 1);
    assert!(!html.contains("sheet break"));
    assert!(html.contains("<p class=\"copy\">交申请人</p>"));
    assert!(html.contains("出具日期:2026年3月2日"));
    assert!(html.contains("<li>房地产调查或者测绘报告</li>"));
    assert!(html.contains("<li>不动产登记申请书</li>"));
    assert!(html.contains(&format!("请于2026年3月5日前(含当日)到{WINDOW}补齐补正上述材料。")));
    assert!(html.contains("失信名单"));
}

#[test]
fn the_materials_received_list_prints_the_delivery() {
    // rule T3.5: 材料接收清单 for the supplied materials, routed at once. The case comes from
    // the node's sample factory (received, tolerance, handover, signed, supplemented).
    let factory = CaseFactory::new("hall", 1).expect("factory");
    let case = factory.case(day("2026-03-02"), 7).expect("sample case");
    let cal = WorkCalendar::builtin();
    let state = case.state();
    let kinds = documents::documents_for(&case.header, &state, &cal);
    assert_eq!(
        kinds,
        [DocumentKind::ToleranceReceipt, DocumentKind::Commitment, DocumentKind::MaterialsReceived]
    );
    for kind in kinds {
        let doc = documents::build(kind, &case.header, &state, &cal).expect("builds");
        assert_renders_everything(&doc, &page(&doc));
    }
    let doc = documents::build(DocumentKind::MaterialsReceived, &case.header, &state, &cal).expect("builds");
    let html = page(&doc);
    assert!(html.contains("<h2>本次接收材料</h2>\n<ol>\n<li>房地产调查或者测绘报告</li>"));
    assert!(html.contains("立即流转至审批后台"));
    assert!(html.contains("已全部补齐"));
}

#[test]
fn the_intake_receipt_prints_the_materials_and_the_promised_date() {
    // rule W3.2: 材料受理及接收凭证 listing the materials collected.
    let mut fx = Fx::open("2026-03-02 09:00", all_but(None));
    fx.rec("2026-03-02 09:20", Role::WindowClerk, EventKind::Accepted { presented: vec![] });
    assert_eq!(fx.kinds(), [DocumentKind::IntakeReceipt]);
    let (doc, html) = rendered(&fx, DocumentKind::IntakeReceipt);
    for name in [
        "不动产登记申请书",
        "申请人身份证明",
        "不动产权属来源证明材料(国有建设用地使用权证书)",
        "房地产调查或者测绘报告",
    ] {
        assert!(html.contains(&format!("<li>{name}</li>")), "{name}");
    }
    let promised = doc.field("承诺办结日期").expect("promised date");
    // Five working days after Monday 2 March 2026.
    assert_eq!(promised, "2026年3月9日");
    assert!(html.contains(&format!("<td>{promised}</td>")));
    assert!(html.contains("<td>2026年3月2日 09:20</td>"));
    assert!(html.contains("<div class=\"sign seal\"><span class=\"label\">综合受理窗口(盖章)"));
}

#[test]
fn the_correction_notice_prints_every_problem_once_numbered_by_the_schema() {
    // rule W3.5: incomplete → correction notice; rule W2.2: every problem at once.
    let mut fx = Fx::open("2026-03-02 09:00", all_but(Some("M03")));
    fx.rec(
        "2026-03-02 09:10",
        Role::WindowClerk,
        EventKind::CorrectionNotice {
            problems: vec![
                Problem { material: Some(MaterialCode::new("M03")), description: "未提交".to_string() },
                Problem {
                    material: None, description: "申请书须由申请人本人签字 <未签>".to_string()
                },
            ],
        },
    );
    assert_eq!(fx.kinds(), [DocumentKind::CorrectionNotice]);
    let (doc, html) = rendered(&fx, DocumentKind::CorrectionNotice);
    assert!(html.contains(
        "<ul class=\"numbered\">\n<li>1. 不动产权属来源证明材料(国有建设用地使用权证书):未提交</li>\n\
         <li>2. 申请书须由申请人本人签字 &lt;未签&gt;</li>\n</ul>"
    ));
    assert!(!html.contains("<未签>"));
    // Licensing Law §32: told within 5 working days.
    assert_eq!(doc.field("法定告知期限"), Some("2026年3月9日"));
    assert!(html.contains("<td>2026年3月9日</td>"));
    assert!(html.contains("第三十二条"));
}

#[test]
fn the_non_acceptance_decision_prints_reasons_and_remedies() {
    // rule W3.5: not acceptable → a decision with specific reasons (and the remedies).
    let mut fx = Fx::open("2026-03-02 09:00", all_but(None));
    fx.rec(
        "2026-03-02 09:10",
        Role::WindowClerk,
        EventKind::NotAccepted { reasons: vec!["该宗地已查封,依法不予登记".to_string()] },
    );
    assert_eq!(fx.kinds(), [DocumentKind::NonAcceptance]);
    let (_, html) = rendered(&fx, DocumentKind::NonAcceptance);
    assert!(html.contains("<li>1. 该宗地已查封,依法不予登记</li>"));
    for needle in ["行政复议", "六十日", "行政诉讼", "六个月"] {
        assert!(html.contains(needle), "{needle}");
    }
}

#[test]
fn the_denial_for_a_lapsed_commitment_prints_the_listing_and_remedies() {
    // rule T3.6: not supplied by the deadline → denial with reasons and one year on the list.
    let mut fx = tolerance_case();
    fx.review("2026-03-02 10:00", "2026-03-02 11:00").decide(
        "2026-03-09 10:00",
        Outcome::Deny {
            reasons: vec!["逾期未补交房地产调查或者测绘报告".to_string()],
            basis: DenialBasis::ToleranceLapsed,
        },
    );
    assert!(fx.kinds().contains(&DocumentKind::Denial));
    let (doc, html) = rendered(&fx, DocumentKind::Denial);
    assert!(html.contains("出具日期:2026年3月9日"));
    assert!(html.contains("<td>2026年3月5日</td>"), "the lapsed deadline");
    assert!(html.contains("<h2>逾期未补交材料</h2>\n<ol>\n<li>房地产调查或者测绘报告</li>"));
    let until = doc.field("失信名单期限至").expect("listing end");
    assert!(html.contains(&format!("<td>{until}</td>")));
    assert!(html.contains("一年") && html.contains("任何窗口"));
    assert!(html.contains("行政复议") && html.contains("行政诉讼"));
}

#[test]
fn the_result_handover_by_post_has_a_box_for_the_postal_receipt() {
    // rule W6.2: posted, the postal receipt attached to the form, returned within 1 working day.
    let mut fx = Fx::open("2026-03-02 09:00", all_but(None));
    fx.rec("2026-03-02 09:20", Role::WindowClerk, EventKind::Accepted { presented: vec![] })
        .review("2026-03-02 10:00", "2026-03-02 11:00")
        .decide("2026-03-05 10:00", Outcome::Approve { result: "不动产权证书".to_string() });
    let reviewer = fx.reviewer();
    fx.rec(
        "2026-03-05 14:00",
        reviewer,
        EventKind::ResultToIssuing { register_entry: "发证登记 2026-031".to_string() },
    )
    .rec("2026-03-05 15:00", Role::IssuingWindow, EventKind::Notified { contact: "13800000000".to_string() })
    .rec(
        "2026-03-06 10:00",
        Role::IssuingWindow,
        EventKind::Delivered {
            delivery: Delivery::Mail {
                postal_receipt: "EMS1234567890".to_string(),
                address: "新郑市新建路 1 号".to_string(),
            },
        },
    );
    assert_eq!(fx.kinds(), [DocumentKind::IntakeReceipt, DocumentKind::ResultHandover]);
    let (_, html) = rendered(&fx, DocumentKind::ResultHandover);
    assert!(html.contains("<p class=\"copy\">送达后交职能部门</p>"));
    assert!(html.contains("<td>EMS1234567890</td>"));
    // Friday 6 March → Monday 9 March.
    assert!(html.contains("<th scope=\"row\">交接单返还部门期限</th><td>2026年3月9日</td>"));
    assert!(html.contains("<div class=\"sign paste\"><span class=\"label\">邮寄凭证(粘贴处)</span>"));
}

#[test]
fn the_index_lists_what_documents_for_offers() {
    let fx = tolerance_case();
    let number = fx.case.header.number.to_string();
    let links: Vec<(DocumentKind, String)> =
        fx.kinds().into_iter().map(|k| (k, format!("/cases/{number}/documents/{k:?}"))).collect();
    let html = index_page(&number, &links);
    assert!(html.contains(&format!("<title>办件文书 {number}</title>")));
    assert!(
        html.contains(&format!("<a href=\"/cases/{number}/documents/ToleranceReceipt\">容缺受理回执单</a>"))
    );
    assert!(
        html.contains(&format!("<a href=\"/cases/{number}/documents/Commitment\">限期补齐材料承诺书</a>"))
    );
    assert_eq!(html.matches("<li>").count(), 2);
}

#[test]
fn text_from_a_case_is_escaped_on_every_form() {
    // A name typed at the window cannot inject markup into a printed form.
    let mut fx = tolerance_case();
    fx.case.header.applicant = Applicant::new(
        ApplicantId::parse("11010519491231002X").expect("valid"),
        "张三<script>alert('x')</script>&\"",
        None,
        None,
    )
    .expect("valid applicant");
    for kind in fx.kinds() {
        let html = page(&fx.doc(kind));
        assert!(!html.contains("<script"), "{kind:?}");
        assert!(html.contains("张三&lt;script&gt;alert(&#39;x&#39;)&lt;/script&gt;&amp;&quot;"), "{kind:?}");
    }
}
