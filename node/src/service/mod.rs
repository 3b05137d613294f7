//! The service layer: what a member of staff can do at this node, as commands and queries that
//! the HTTP API (and the demo, and tests) call. It is where the schema's rules meet the store:
//! an intake reads as HTTP handler → [`Service::intake`] → [`yikou_schema::case::Case::open`] (the
//! rules) → [`crate::doc`] (the Automerge change) → [`crate::store::CaseStore::create`] (durable).
//!
//! Invariants:
//! - A command either writes everything it means to or nothing: every check runs before the
//!   first write, and a refused command leaves no trace (its error names the rule and a stable code).
//! - Every act is recorded in a case's event log with the person, role, node and time ([`Actor`],
//!   HLC stamp). The node's own acts (cards, archiving) carry [`Role::System`].
//! - Reference data (catalog, calendar, dishonesty list, quota plan) are replicated documents read
//!   through a cache that reloads when their heads change.
//! - Local records that never replicate (case-number counters, queue tickets, appointment ledgers,
//!   the consultation ledger) live under their own key prefixes of the node's key-value store.
//!
//! Modules: [`error`] (the one error type, with HTTP status, code, rule and a Chinese message),
//! [`permissions`] (the staff permission matrix beyond the case-event gate), [`cases`] (intake,
//! steps, queries, documents), [`desk`] (queue tickets, appointments, consultations),
//! [`supervise`] (cards and the dishonesty list maintenance the scheduler runs).

pub mod cases;
pub mod desk;
pub mod error;
pub mod permissions;
pub mod reference;
pub mod supervise;

use std::sync::{Arc, Mutex, RwLock};

use automerge::ChangeHash;
use chrono::{NaiveDate, NaiveDateTime};
use yikou_schema::actor::{Actor, Role};
use yikou_schema::calendar::WorkCalendar;
use yikou_schema::case::CommandContext;
use yikou_schema::catalog::Catalog;
use yikou_schema::codes::{NodeName, StaffId};
use yikou_schema::hlc::{Hlc, HlcClock};
use yikou_schema::ids::NodeCode;
use yikou_schema::queue::QuotaPlan;
use yikou_schema::tolerance::DishonestyList;

pub use error::ServiceError;
pub use permissions::Action;

use crate::clock::Clock;
use crate::doc::RefKind;
use crate::store::attachments::AttachmentStore;
use crate::store::{CaseStore, Kv};

/// Who this node is.
#[derive(Debug, Clone)]
pub struct NodeInfo {
    pub name: NodeName,
    /// The 9-digit code in this node's case numbers.
    pub code: NodeCode,
    /// The scope whose cases are this node's own (O5).
    pub scope: String,
    /// The hall holds every case and is the only node that edits reference data.
    pub hall: bool,
}

/// A member of staff acting through the service (from a login session).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Staff {
    pub id: StaffId,
    pub name: String,
    pub role: Role,
}

impl Staff {
    /// The node itself (the scheduler).
    pub fn system(node: &NodeName) -> Staff {
        Staff { id: StaffId::new(format!("{node}-system")), name: "系统".into(), role: Role::System }
    }
}

/// Reference data as last loaded, with the heads it was loaded at.
struct Refs {
    catalog: Option<Arc<Catalog>>,
    calendar: Arc<WorkCalendar>,
    dishonesty: Arc<DishonestyList>,
    quota_plan: Option<Arc<QuotaPlan>>,
    heads: Vec<Option<Vec<ChangeHash>>>,
}

/// A consistent view of the reference data for one command.
#[derive(Clone)]
pub struct RefView {
    pub catalog: Option<Arc<Catalog>>,
    pub calendar: Arc<WorkCalendar>,
    pub dishonesty: Arc<DishonestyList>,
    pub quota_plan: Option<Arc<QuotaPlan>>,
}

impl RefView {
    pub fn ctx(&self) -> CommandContext<'_> {
        CommandContext { calendar: &self.calendar, dishonesty: &self.dishonesty }
    }

    pub fn catalog(&self) -> Result<&Catalog, ServiceError> {
        self.catalog.as_deref().ok_or_else(|| {
            ServiceError::unavailable(
                "catalog.missing",
                Some("W11"),
                "本节点尚未收到事项清单:请在大厅节点导入事项清单,或等待与大厅同步后再办理",
            )
        })
    }
}

/// The service of one node.
pub struct Service {
    info: NodeInfo,
    store: Arc<CaseStore>,
    kv: Arc<dyn Kv>,
    attachments: Arc<AttachmentStore>,
    clock: Arc<Clock>,
    hlc: Mutex<HlcClock>,
    refs: RwLock<Refs>,
    /// Case-number allocation: the block of serials reserved on disk.
    intake: Mutex<cases::SerialBlock>,
    /// Serialises local-record updates (tickets, ledgers, consultations).
    desk: Mutex<()>,
    /// Serialise read-check-append per case (striped), so two staff acting on one case at once
    /// are checked one after the other, never both against the same old state.
    case_locks: Vec<Mutex<()>>,
}

/// Lock stripes of [`Service::case_locks`].
const CASE_LOCK_STRIPES: usize = 64;

const REF_KINDS: [RefKind; 4] =
    [RefKind::Catalog, RefKind::Calendar, RefKind::Dishonesty, RefKind::QuotaPlan];

impl Service {
    pub fn new(
        info: NodeInfo,
        store: Arc<CaseStore>,
        kv: Arc<dyn Kv>,
        attachments: Arc<AttachmentStore>,
        clock: Arc<Clock>,
    ) -> Service {
        let hlc = Mutex::new(HlcClock::new(info.name.clone()));
        let refs = RwLock::new(Refs {
            catalog: None,
            calendar: Arc::new(WorkCalendar::builtin()),
            dishonesty: Arc::new(DishonestyList::default()),
            quota_plan: None,
            heads: vec![None; REF_KINDS.len()],
        });
        Service {
            info,
            store,
            kv,
            attachments,
            clock,
            hlc,
            refs,
            intake: Mutex::new(cases::SerialBlock::default()),
            desk: Mutex::new(()),
            case_locks: (0..CASE_LOCK_STRIPES).map(|_| Mutex::new(())).collect(),
        }
    }

    pub fn info(&self) -> &NodeInfo {
        &self.info
    }

    pub fn store(&self) -> &Arc<CaseStore> {
        &self.store
    }

    pub fn kv(&self) -> &Arc<dyn Kv> {
        &self.kv
    }

    pub fn attachments(&self) -> &Arc<AttachmentStore> {
        &self.attachments
    }

    pub fn clock(&self) -> &Arc<Clock> {
        &self.clock
    }

    /// Now, China Standard Time.
    pub fn now(&self) -> NaiveDateTime {
        self.clock.now_local()
    }

    pub fn today(&self) -> NaiveDate {
        self.now().date()
    }

    /// The next HLC stamp, after `after` (a case's latest event) when given.
    fn stamp(&self, after: Option<&Hlc>) -> Result<Hlc, ServiceError> {
        let now_ms = self.clock.now_ms();
        let mut hlc = self.hlc.lock().map_err(|_| ServiceError::internal("内部锁异常,请重启节点"))?;
        if let Some(last) = after {
            // A stamp from a peer whose clock runs far ahead is not followed (HLC drift bound);
            // the case's own check then refuses the command with a clear message.
            let _ = hlc.observe(last, now_ms);
        }
        hlc.tick(now_ms).map_err(|e| ServiceError::internal(format!("时钟错误:{e}")))
    }

    /// The actor of an act by `staff` at this node.
    fn actor(&self, staff: &Staff) -> Actor {
        Actor { staff: staff.id.clone(), role: staff.role.clone(), node: self.info.name.clone() }
    }

    /// The reference data, reloaded when any of their documents changed (locally or by sync).
    pub fn refs(&self) -> Result<RefView, ServiceError> {
        let heads: Vec<Option<Vec<ChangeHash>>> = REF_KINDS
            .iter()
            .map(|k| self.store.heads(&CaseStore::reference_id(*k)))
            .collect::<Result<_, _>>()?;
        {
            let refs = self.refs.read().map_err(|_| ServiceError::internal("内部锁异常,请重启节点"))?;
            if refs.heads == heads {
                return Ok(view(&refs));
            }
        }
        let mut refs = self.refs.write().map_err(|_| ServiceError::internal("内部锁异常,请重启节点"))?;
        refs.catalog = self.store.reference::<Catalog>(RefKind::Catalog)?.map(Arc::new);
        refs.calendar = Arc::new(
            self.store.reference::<WorkCalendar>(RefKind::Calendar)?.unwrap_or_else(WorkCalendar::builtin),
        );
        refs.dishonesty =
            Arc::new(self.store.reference::<DishonestyList>(RefKind::Dishonesty)?.unwrap_or_default());
        refs.quota_plan = self.store.reference::<QuotaPlan>(RefKind::QuotaPlan)?.map(Arc::new);
        refs.heads = heads;
        Ok(view(&refs))
    }

    /// Refuses an act `staff`'s role may not do (beyond the case-event gate of the schema).
    pub fn require(&self, staff: &Staff, action: Action) -> Result<(), ServiceError> {
        permissions::require(&staff.role, action)
    }

    /// Refuses reference-data edits away from the hall (townships receive them by sync).
    fn require_hall(&self, what: &str) -> Result<(), ServiceError> {
        if self.info.hall {
            Ok(())
        } else {
            Err(ServiceError::forbidden(
                "reference.hall_only",
                Some("W11"),
                format!("{what}只能在大厅节点修改,本节点({})会在同步后收到新版本", self.info.name),
            ))
        }
    }
}

fn view(refs: &Refs) -> RefView {
    RefView {
        catalog: refs.catalog.clone(),
        calendar: refs.calendar.clone(),
        dishonesty: refs.dishonesty.clone(),
        quota_plan: refs.quota_plan.clone(),
    }
}
