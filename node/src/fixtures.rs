//! Realistic sample cases for tests, benchmarks and the demo: an application for the sample
//! catalog's first real-estate item, received at a window, accepted with tolerance, handed over,
//! signed for and supplemented — five events, as a typical case holds in its first days.
//! Every event passes the real command gate.

use chrono::{Duration, NaiveDate, NaiveDateTime, NaiveTime};
use yikou_schema::actor::{Actor, Role};
use yikou_schema::calendar::WorkCalendar;
use yikou_schema::case::{
    Case, CaseHeader, Channel, CommandContext, Commitment, Condition, Event, EventKind, PresentedMaterial,
    RuleViolation, Signatory,
};
use yikou_schema::catalog::Catalog;
use yikou_schema::codes::{ItemCode, MaterialCode, NodeName, StaffId};
use yikou_schema::hlc::{Hlc, ms_from_local};
use yikou_schema::ids::{Applicant, ApplicantId, CaseNumber, NodeCode};
use yikou_schema::tolerance::DishonestyList;

const APPLICANTS: [(&str, &str); 3] =
    [("11010519491231002X", "张三"), ("440524188001010014", "李四"), ("110105195001010039", "王五")];

/// Builds sample cases for one node.
pub struct CaseFactory {
    node: NodeName,
    code: NodeCode,
    catalog: Catalog,
    calendar: WorkCalendar,
    dishonesty: DishonestyList,
}

impl CaseFactory {
    /// `node_number` is the node's 3-digit number within region 410184 (the sample county).
    pub fn new(node: &str, node_number: u16) -> Result<CaseFactory, String> {
        let code = NodeCode::parse(&format!("410184{:03}", node_number % 1000)).map_err(|e| e.to_string())?;
        Ok(CaseFactory {
            node: NodeName::new(node),
            code,
            catalog: Catalog::sample(),
            calendar: WorkCalendar::builtin(),
            dishonesty: DishonestyList::default(),
        })
    }

    fn event(&self, at: NaiveDateTime, counter: u32, role: Role, kind: EventKind) -> Event {
        Event {
            hlc: Hlc { wall_ms: ms_from_local(at), counter, node: self.node.clone() },
            actor: Actor {
                staff: StaffId::new(format!("{}-{}", self.node, role.name_zh())),
                role,
                node: self.node.clone(),
            },
            kind,
        }
    }

    /// Case number `serial` received on `day` at 09:00 plus a few minutes per serial, with its
    /// five events.
    pub fn case(&self, day: NaiveDate, serial: u32) -> Result<Case, RuleViolation> {
        self.case_with(day, serial, usize::MAX)
    }

    /// The same case as a window creates it: with its receipt only.
    pub fn received(&self, day: NaiveDate, serial: u32) -> Result<Case, RuleViolation> {
        self.case_with(day, serial, 0)
    }

    /// The case with its receipt and at most `steps` of the four steps after it.
    fn case_with(&self, day: NaiveDate, serial: u32, steps_max: usize) -> Result<Case, RuleViolation> {
        let bad = |e: String| RuleViolation::new("W3.2", "fixture.invalid", e);
        let item = self
            .catalog
            .item(&ItemCode::new("BDC001"))
            .cloned()
            .ok_or_else(|| bad("BDC001 missing".into()))?;
        let (id, name) = APPLICANTS[serial as usize % APPLICANTS.len()];
        let applicant = Applicant::new(
            ApplicantId::parse(id).map_err(|e| bad(e.to_string()))?,
            name,
            Some("13800000000"),
            None,
        )
        .map_err(|e| bad(e.to_string()))?;
        let header = CaseHeader {
            number: CaseNumber::new(self.code.clone(), day, serial).map_err(|e| bad(e.to_string()))?,
            applicant,
            agent: None,
            item: item.clone(),
            catalog_version: self.catalog.version.clone(),
            origin: self.node.clone(),
            scope: self.code.to_string(),
        };
        let ctx = CommandContext { calendar: &self.calendar, dishonesty: &self.dishonesty };
        let start =
            day.and_time(NaiveTime::MIN) + Duration::hours(9) + Duration::seconds(i64::from(serial % 20_000));
        let present = |codes: &[&str]| -> Vec<PresentedMaterial> {
            codes
                .iter()
                .map(|c| PresentedMaterial { code: MaterialCode::new(*c), condition: Condition::Present })
                .collect()
        };
        let deadline = self.calendar.add_workdays(day, 3).map_err(|e| bad(e.to_string()))?.at;
        let dept = item.department.clone();
        let mut case = Case::open(
            header,
            self.event(
                start,
                0,
                Role::WindowClerk,
                EventKind::Received {
                    channel: Channel::Hall,
                    presented: present(&["M01", "M02", "M03", "M04", "M05"]),
                },
            ),
            &ctx,
        )?;
        let steps = [
            (
                Role::WindowClerk,
                EventKind::ToleranceAccepted {
                    presented: vec![],
                    commitment: Commitment {
                        materials: vec![MaterialCode::new("M06")],
                        deadline,
                        window: "县政务服务中心不动产登记窗口".into(),
                        signed_by: Signatory::Applicant,
                        dishonesty_list_version: self.dishonesty.version,
                    },
                },
            ),
            (Role::WindowClerk, EventKind::HandedOver { department: dept.clone(), paper: true }),
            (Role::DepartmentReviewer(dept.clone()), EventKind::HandoverSigned { department: dept }),
            (Role::WindowClerk, EventKind::SupplementReceived { materials: vec![MaterialCode::new("M06")] }),
        ];
        for (i, (role, kind)) in steps.into_iter().enumerate().take(steps_max) {
            let at = start + Duration::minutes(10 * (i as i64 + 1));
            case.record(self.event(at, 0, role, kind), &ctx)?;
        }
        Ok(case)
    }

    /// A further event for an existing case (a proposed decision), stamped after its last event.
    pub fn next_event(&self, case: &Case) -> Event {
        let last = case.events.iter().map(|e| e.hlc.clone()).max();
        let at = last.as_ref().map_or(NaiveDateTime::MIN, |h| h.local()) + Duration::minutes(5);
        let mut e = self.event(
            at,
            0,
            Role::DepartmentReviewer(case.header.item.department.clone()),
            EventKind::ProposedDecision { approve: true, opinion: "经审查,拟准予登记".into() },
        );
        if let Some(last) = last
            && e.hlc <= last
        {
            e.hlc.counter = last.counter + 1;
        }
        e
    }
}
