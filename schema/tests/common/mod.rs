//! Fixtures for the schema's integration tests: hand-made catalog items (independent of the
//! sample catalog's content), case headers, actors and events stamped at a given local time.
#![allow(dead_code)]

use chrono::{NaiveDate, NaiveDateTime};
use yikou_schema::actor::{Actor, Role};
use yikou_schema::calendar::WorkCalendar;
use yikou_schema::case::{
    Case, CaseHeader, CommandContext, Commitment, Condition, Event, EventKind, PresentedMaterial, Signatory,
};
use yikou_schema::catalog::{BusinessArea, Item, ItemKind, ItemType, JointMode, Material, MaterialClass};
use yikou_schema::codes::{DepartmentCode, ItemCode, MaterialCode, NodeName, StaffId};
use yikou_schema::hlc::{Hlc, ms_from_local};
use yikou_schema::ids::{Applicant, ApplicantId, CaseNumber, NodeCode};
use yikou_schema::tolerance::DishonestyList;

pub const DEPT: &str = "D-ZRZY";
pub const DEPT_B: &str = "D-ZJJ";
pub const DEPT_C: &str = "D-SCJG";
pub const HALL: &str = "hall";
pub const TOWN: &str = "town-a";

pub fn d(s: &str) -> NaiveDate {
    NaiveDate::parse_from_str(s, "%Y-%m-%d").expect("test date")
}

pub fn t(s: &str) -> NaiveDateTime {
    NaiveDateTime::parse_from_str(s, "%Y-%m-%d %H:%M").expect("test datetime")
}

pub fn m(code: &str) -> MaterialCode {
    MaterialCode::new(code)
}

pub fn dept(code: &str) -> DepartmentCode {
    DepartmentCode::new(code)
}

fn material(code: &str, name: &str, class: MaterialClass) -> Material {
    Material { code: m(code), name: name.to_string(), class, paper: true }
}

/// A promise item on the tolerance list: K1, K2 key; T1, T2 tolerable; 5 / 20 working days.
pub fn tolerant_item() -> Item {
    Item {
        code: ItemCode::new("ITEM-TOL"),
        name: "建设用地规划许可证核发".to_string(),
        department: dept(DEPT),
        item_type: ItemType::from_code("01").expect("01 is a type"),
        kind: ItemKind::Promise,
        promised_days: 5,
        statutory_days: 20,
        tolerance: true,
        materials: vec![
            material("K1", "申请书", MaterialClass::Key),
            material("K2", "申请人身份证明", MaterialClass::Key),
            material("T1", "项目情况说明", MaterialClass::Tolerable),
            material("T2", "现场照片", MaterialClass::Tolerable),
        ],
        joint: JointMode::None,
        appointment: None,
        area: BusinessArea::ConstructionApproval,
        effective_from: d("2020-01-01"),
        cancelled_from: None,
        revision: 1,
    }
}

/// A promise item not on the tolerance list.
pub fn plain_item() -> Item {
    let mut item = tolerant_item();
    item.code = ItemCode::new("ITEM-PLAIN");
    item.tolerance = false;
    for mat in &mut item.materials {
        mat.class = MaterialClass::Key;
    }
    item
}

pub fn instant_item() -> Item {
    let mut item = plain_item();
    item.code = ItemCode::new("ITEM-INSTANT");
    item.kind = ItemKind::Instant;
    item.promised_days = 0;
    item.statutory_days = 0;
    item
}

pub fn upward_item() -> Item {
    let mut item = plain_item();
    item.code = ItemCode::new("ITEM-UP");
    item.kind = ItemKind::Upward;
    item
}

pub fn serial_item() -> Item {
    let mut item = plain_item();
    item.code = ItemCode::new("ITEM-SERIAL");
    item.joint = JointMode::Serial { departments: vec![dept(DEPT), dept(DEPT_B), dept(DEPT_C)] };
    item
}

pub fn parallel_item() -> Item {
    let mut item = plain_item();
    item.code = ItemCode::new("ITEM-PARALLEL");
    item.joint =
        JointMode::Parallel { departments: vec![dept(DEPT), dept(DEPT_B), dept(DEPT_C)], lead: dept(DEPT_B) };
    item
}

pub const APPLICANT_ID: &str = "11010519491231002X";

pub fn header(item: Item) -> CaseHeader {
    header_for(item, APPLICANT_ID, 1)
}

pub fn header_for(item: Item, applicant: &str, serial: u32) -> CaseHeader {
    let node = NodeCode::parse("410184001").expect("node code");
    CaseHeader {
        number: CaseNumber::new(node, d("2026-03-02"), serial).expect("case number"),
        applicant: Applicant::new(
            ApplicantId::parse(applicant).expect("valid id"),
            "张三",
            Some("13800000000"),
            None,
        )
        .expect("applicant"),
        agent: None,
        item,
        catalog_version: "test.1".to_string(),
        origin: NodeName::new(TOWN),
        scope: "410184001".to_string(),
    }
}

pub fn clerk() -> Role {
    Role::WindowClerk
}

pub fn reviewer(code: &str) -> Role {
    Role::DepartmentReviewer(dept(code))
}

/// An event at local time `at` (China Standard Time) on node `node`.
pub fn ev_on(node: &str, at: &str, role: Role, kind: EventKind) -> Event {
    ev_at(node, t(at), 0, role, kind)
}

pub fn ev_at(node: &str, at: NaiveDateTime, counter: u32, role: Role, kind: EventKind) -> Event {
    Event {
        hlc: Hlc { wall_ms: ms_from_local(at), counter, node: NodeName::new(node) },
        actor: Actor {
            staff: StaffId::new(format!("staff-{}", role.name_zh())),
            role,
            node: NodeName::new(node),
        },
        kind,
    }
}

pub fn ev(at: &str, role: Role, kind: EventKind) -> Event {
    ev_on(TOWN, at, role, kind)
}

pub fn present(codes: &[&str]) -> Vec<PresentedMaterial> {
    codes.iter().map(|c| PresentedMaterial { code: m(c), condition: Condition::Present }).collect()
}

pub fn presented(pairs: &[(&str, Condition)]) -> Vec<PresentedMaterial> {
    pairs.iter().map(|(c, cond)| PresentedMaterial { code: m(c), condition: cond.clone() }).collect()
}

pub fn received(codes: &[&str]) -> EventKind {
    EventKind::Received { channel: yikou_schema::case::Channel::Hall, presented: present(codes) }
}

pub fn commitment(materials: &[&str], deadline: &str, list: &DishonestyList) -> Commitment {
    Commitment {
        materials: materials.iter().map(|c| m(c)).collect(),
        deadline: d(deadline),
        window: "县政务服务中心综合受理窗口".to_string(),
        signed_by: Signatory::Applicant,
        dishonesty_list_version: list.version,
    }
}

/// Reference data every command needs.
pub struct World {
    pub cal: WorkCalendar,
    pub list: DishonestyList,
}

impl World {
    pub fn new() -> Self {
        World { cal: WorkCalendar::builtin(), list: DishonestyList::default() }
    }

    pub fn ctx(&self) -> CommandContext<'_> {
        CommandContext { calendar: &self.cal, dishonesty: &self.list }
    }

    /// Opens a case received at the hall window at `at` with `codes` present.
    pub fn open(&self, item: Item, at: &str, codes: &[&str]) -> Case {
        Case::open(header(item), ev(at, clerk(), received(codes)), &self.ctx()).expect("case opens")
    }

    /// Records an event stamped the way a node's HLC would stamp it: after every event the case
    /// already holds, even at the same wall-clock minute.
    pub fn rec(&self, case: &mut Case, at: &str, role: Role, kind: EventKind) {
        let mut event = ev(at, role, kind);
        if let Some(last) = case.events.iter().map(|e| &e.hlc).max() {
            let mut clock = yikou_schema::hlc::HlcClock::resume(NodeName::new(TOWN), last);
            event.hlc = clock.tick(event.hlc.wall_ms).expect("clock ticks");
        }
        if let Err(e) = case.record(event, &self.ctx()) {
            panic!("event at {at} refused: {e} [{}]", e.code);
        }
    }

    /// The refusal's code (and rule) for an event that must be refused; asserts nothing was written.
    pub fn refuse(
        &self,
        case: &mut Case,
        at: &str,
        role: Role,
        kind: EventKind,
    ) -> (&'static str, &'static str) {
        let before = case.events.len();
        let err = case.record(ev(at, role, kind), &self.ctx()).expect_err("event must be refused");
        assert_eq!(case.events.len(), before, "a refused event writes nothing");
        (err.code, err.rule)
    }
}

/// A small seeded generator (SplitMix64) for randomised tests: every such test prints its seed
/// and replays from `YIKOU_SEED` (scripts/test.sh sets and prints one per run).
pub struct Rng(u64);

impl Rng {
    pub fn from_env(test: &str) -> Rng {
        let seed =
            std::env::var("YIKOU_SEED").ok().and_then(|s| s.trim().parse().ok()).unwrap_or_else(|| {
                std::time::SystemTime::now()
                    .duration_since(std::time::UNIX_EPOCH)
                    .map(|d| d.as_nanos() as u64)
                    .unwrap_or(0x5EED)
            });
        println!("{test}: seed {seed} (replay with YIKOU_SEED={seed})");
        Rng(seed)
    }

    pub fn next(&mut self) -> u64 {
        self.0 = self.0.wrapping_add(0x9E37_79B9_7F4A_7C15);
        let mut z = self.0;
        z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
        z ^ (z >> 31)
    }

    /// Uniform in `0..n` (n > 0).
    pub fn below(&mut self, n: usize) -> usize {
        (self.next() % n.max(1) as u64) as usize
    }

    pub fn chance(&mut self, percent: u64) -> bool {
        self.next() % 100 < percent
    }

    pub fn pick<T: Clone>(&mut self, items: &[T]) -> T {
        items[self.below(items.len())].clone()
    }

    pub fn shuffle<T>(&mut self, items: &mut [T]) {
        for i in (1..items.len()).rev() {
            let j = self.below(i + 1);
            items.swap(i, j);
        }
    }
}
