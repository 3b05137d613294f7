//! Cases: intake on every channel with the eligibility answer, every step of RULES.md as one
//! event through the schema's command gate, queries and documents.

use chrono::{NaiveDate, NaiveDateTime};
use serde::{Deserialize, Serialize};
use yikou_schema::case::{Case, CaseHeader, CaseState, Channel, Event, EventKind, PresentedMaterial, Scan};
use yikou_schema::codes::{ItemCode, MaterialCode};
use yikou_schema::documents::{self, Document, DocumentKind};
use yikou_schema::ids::{Agent, Applicant, ApplicantId, Authorisation, CaseNumber, CitizenId};
use yikou_schema::supervision::{self, Assessment};
use yikou_schema::tolerance::{self, Eligibility};

use super::{RefView, Service, ServiceError, Staff};
use crate::store::{Index, record};

/// Cases one list query returns at most.
pub const LIST_LIMIT_MAX: usize = 1_000;
/// Cases one list query returns when it names no limit.
pub const LIST_LIMIT_DEFAULT: usize = 100;
/// Cases a scan over every open case (cards, conflicts) reads at most; beyond it the answer says
/// it is truncated.
pub const SCAN_CASES_MAX: usize = 50_000;

/// An application as the window types it in.
#[derive(Debug, Clone, Serialize, Deserialize, schemars::JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct IntakeRequest {
    /// The catalog item's code.
    pub item: String,
    pub applicant: ApplicantInput,
    /// An agent acting with written authorisation (委托人).
    #[serde(default)]
    pub agent: Option<AgentInput>,
    /// How the application came in (W3.1–W3.4).
    #[schemars(with = "serde_json::Value")]
    pub channel: Channel,
    /// The materials as the window found them.
    #[serde(default)]
    #[schemars(with = "Vec<serde_json::Value>")]
    pub presented: Vec<PresentedMaterial>,
    /// A deadline the applicant proposes for the tolerance commitment, to check it (T3.3).
    #[serde(default)]
    pub requested_deadline: Option<NaiveDate>,
}

#[derive(Debug, Clone, Serialize, Deserialize, schemars::JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct ApplicantInput {
    /// Citizen ID number (18 or 15 digits) or unified social credit code (18 characters).
    pub id: String,
    pub name: String,
    #[serde(default)]
    pub phone: Option<String>,
    #[serde(default)]
    pub address: Option<String>,
}

#[derive(Debug, Clone, Serialize, Deserialize, schemars::JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct AgentInput {
    /// The agent's citizen ID number.
    pub id: String,
    pub name: String,
    /// The written authorisation's reference (委托书编号).
    pub authorisation_ref: String,
    /// A specific authorisation (特别授权), needed to sign a commitment (T3.2).
    #[serde(default)]
    pub specific: bool,
    #[serde(default)]
    pub valid_until: Option<NaiveDate>,
}

/// What intake returns: the stored case and the live answer to "is tolerance acceptance possible".
#[derive(Debug, Clone, Serialize)]
pub struct IntakeAnswer {
    pub case: CaseView,
    pub eligibility: Eligibility,
}

/// A case as the API shows it.
#[derive(Debug, Clone, Serialize)]
pub struct CaseView {
    pub id: String,
    pub header: CaseHeader,
    pub state: CaseState,
    pub phase_zh: &'static str,
    pub events: Vec<TimelineEntry>,
    /// The printable documents the case has so far.
    pub documents: Vec<DocumentKind>,
    /// Every timed duty assessed now (W9).
    pub duties: Vec<Assessment>,
}

/// One line of a case's timeline.
#[derive(Debug, Clone, Serialize)]
pub struct TimelineEntry {
    pub id: String,
    pub at: NaiveDateTime,
    pub name_zh: &'static str,
    pub staff: String,
    pub role_zh: &'static str,
    pub node: String,
    pub event: Event,
}

/// A case in a list.
#[derive(Debug, Clone, Serialize, schemars::JsonSchema)]
pub struct CaseSummary {
    pub id: String,
    pub applicant: String,
    pub item: String,
    pub item_name: String,
    pub department: String,
    pub scope: String,
    pub phase: String,
    pub phase_zh: String,
    pub received_at: Option<NaiveDateTime>,
    /// Open conflicts (O4).
    pub conflicts: usize,
}

/// Filters of a case list; they combine (all must hold).
#[derive(Debug, Clone, Default, Serialize, Deserialize, schemars::JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct CaseFilter {
    pub phase: Option<String>,
    pub applicant: Option<String>,
    pub item: Option<String>,
    pub department: Option<String>,
    /// The promised decision date (YYYY-MM-DD) of open cases.
    pub due: Option<String>,
    pub scope: Option<String>,
    pub limit: Option<usize>,
}

/// What a step returns.
#[derive(Debug, Clone, Serialize)]
pub struct StepOutcome {
    pub case: CaseView,
    pub event: Event,
}

/// Case serials reserved durably at a time (one counter fsync per block of intakes).
pub const SERIAL_BLOCK: u32 = 16;

/// The serials this node may hand out without writing: `next..=reserved` of `day`.
#[derive(Debug, Default)]
pub struct SerialBlock {
    day: Option<NaiveDate>,
    next: u32,
    reserved: u32,
}

/// Key of the case-number counter of a day: the highest serial reserved (local, never replicated).
fn serial_key(day: NaiveDate) -> Vec<u8> {
    format!("n/serial/{}", day.format("%Y%m%d")).into_bytes()
}

impl Service {
    /// The live answer for the intake form: may this application be accepted with tolerance,
    /// and if not, every reason (T1, T2, T3.3, T3.6). Writes nothing.
    pub fn eligibility(&self, staff: &Staff, req: &IntakeRequest) -> Result<Eligibility, ServiceError> {
        self.require(staff, super::Action::CheckEligibility)?;
        let refs = self.refs()?;
        let today = self.today();
        let catalog = refs.catalog()?;
        let item = catalog.item_for_intake(&ItemCode::new(req.item.trim()), today)?;
        check_presented(item, &req.presented)?;
        let applicant =
            ApplicantId::parse(&req.applicant.id).map_err(|e| ServiceError::from(e).at("applicant.id"))?;
        Ok(tolerance::eligibility(
            item,
            &req.presented,
            &applicant,
            today,
            req.requested_deadline,
            &refs.ctx(),
        ))
    }

    /// Receives an application (接件): checks everything, gives it this node's next case number,
    /// stores it durably, and answers whether tolerance acceptance is possible.
    pub fn intake(&self, staff: &Staff, req: &IntakeRequest) -> Result<IntakeAnswer, ServiceError> {
        let refs = self.refs()?;
        let now = self.now();
        let today = now.date();
        let catalog = refs.catalog()?;
        let item = catalog.item_for_intake(&ItemCode::new(req.item.trim()), today)?.clone();
        check_presented(&item, &req.presented)?;
        check_channel(&req.channel)?;
        let applicant_id =
            ApplicantId::parse(&req.applicant.id).map_err(|e| ServiceError::from(e).at("applicant.id"))?;
        let applicant = Applicant::new(
            applicant_id.clone(),
            &req.applicant.name,
            req.applicant.phone.as_deref(),
            req.applicant.address.as_deref(),
        )
        .map_err(|e| ServiceError::from(e).at("applicant"))?;
        let agent = req.agent.as_ref().map(agent_of).transpose()?;

        // Numbers come from a block reserved durably ahead (one fsync per `SERIAL_BLOCK` intakes);
        // the lock covers only taking the number and building the case, not the case's own write.
        let case = {
            let mut serials =
                self.intake.lock().map_err(|_| ServiceError::internal("内部锁异常,请重启节点"))?;
            let serial = self.next_serial(&mut serials, today)?;
            let number = CaseNumber::new(self.info.code.clone(), today, serial)?;
            let header = CaseHeader {
                number,
                applicant,
                agent,
                item: item.clone(),
                catalog_version: catalog.version.clone(),
                origin: self.info.name.clone(),
                scope: self.info.scope.clone(),
            };
            let event = Event {
                hlc: self.stamp(None)?,
                actor: self.actor(staff),
                kind: EventKind::Received { channel: req.channel.clone(), presented: req.presented.clone() },
            };
            let case = Case::open(header, event, &refs.ctx())?;
            // Taken only now: a refused application leaves its number to the next one.
            serials.next = serial.saturating_add(1);
            case
        };
        self.store.create(&case)?;
        let eligibility = tolerance::eligibility(
            &item,
            &req.presented,
            &applicant_id,
            today,
            req.requested_deadline,
            &refs.ctx(),
        );
        Ok(IntakeAnswer { case: self.view(&case, &refs)?, eligibility })
    }

    /// The next case serial of `day`, reserving a new block durably when the current one is used
    /// up (or the day changed). Every number handed out is at most the stored high-water mark, so
    /// no number is ever issued twice, across restarts too; a restart skips the rest of its block.
    fn next_serial(&self, block: &mut SerialBlock, day: NaiveDate) -> Result<u32, ServiceError> {
        if block.day == Some(day) && block.next <= block.reserved {
            return Ok(block.next);
        }
        let stored = match self.kv.get(&serial_key(day))? {
            Some(raw) => {
                // A sealed 8-byte big-endian number (the format `backup::raise_serial` reads).
                let bytes = record::open(&raw)
                    .and_then(|b| <[u8; 8]>::try_from(b).ok())
                    .ok_or_else(|| ServiceError::internal("办件编号计数器数据损坏,请联系系统管理员"))?;
                u32::try_from(u64::from_be_bytes(bytes)).unwrap_or(u32::MAX)
            }
            None => 0,
        };
        let reserved = stored.saturating_add(SERIAL_BLOCK);
        let mut batch = crate::store::WriteBatch::default();
        batch.put(serial_key(day), record::seal(&u64::from(reserved).to_be_bytes()));
        self.kv.apply(&batch)?;
        self.kv.sync()?;
        *block = SerialBlock { day: Some(day), next: stored.saturating_add(1), reserved };
        Ok(block.next)
    }

    /// Records one step of a case (every step of RULES.md is an [`EventKind`]): the schema's
    /// gate checks the role, the state and the rules; nothing is written when it refuses.
    pub fn step(&self, staff: &Staff, id: &str, mut kind: EventKind) -> Result<StepOutcome, ServiceError> {
        let refs = self.refs()?;
        match &mut kind {
            // The window checked the list this node holds now (O4: re-checked after merge).
            EventKind::ToleranceAccepted { commitment, .. } => {
                commitment.dishonesty_list_version = refs.dishonesty.version;
            }
            EventKind::MaterialsScanned { scans } => self.check_scans(scans)?,
            _ => {}
        }
        let _case_lock = self.lock_case(id)?;
        let mut case = self.stored_case(id)?;
        let state = case.state_with(&refs.dishonesty);
        let event = Event { hlc: self.stamp(state.last_hlc.as_ref())?, actor: self.actor(staff), kind };
        case.record(event.clone(), &refs.ctx())?;
        self.store.append(id, std::slice::from_ref(&event))?;
        if self.info.hall {
            // T3.6: a denial for a lapsed commitment lists the applicant (the hall keeps the list).
            // The step itself is recorded and acknowledged already; should the list's write fail,
            // the scheduler's next pass lists the applicant (it sweeps every lapsed denial).
            if let Err(e) = self.list_if_lapsed(&case) {
                tracing::warn!(case = %id, code = %e.code, error = %e.message, "dishonesty listing deferred to the scheduler");
            }
        }
        // The list may have changed just now (T3.6); the view falls back to the data checked.
        let refs = self.refs().unwrap_or(refs);
        Ok(StepOutcome { case: self.view(&case, &refs)?, event })
    }

    fn check_scans(&self, scans: &mut [Scan]) -> Result<(), ServiceError> {
        for scan in scans.iter_mut() {
            if !self.attachments.has(&scan.hash) {
                return Err(ServiceError::invalid(
                    "attachment.missing",
                    Some("W3.2"),
                    format!("扫描件 {} 尚未上传到本节点,请先上传文件再登记", scan.hash),
                ));
            }
            let bytes = self.attachments.get(&scan.hash)?;
            scan.bytes = bytes.len() as u64;
        }
        Ok(())
    }

    /// A case with everything the API shows about it.
    pub fn case_view(&self, staff: &Staff, id: &str) -> Result<CaseView, ServiceError> {
        self.require(staff, super::Action::ReadCases)?;
        let refs = self.refs()?;
        let case = self.stored_case(id)?;
        self.view(&case, &refs)
    }

    pub(crate) fn view(&self, case: &Case, refs: &RefView) -> Result<CaseView, ServiceError> {
        let state = case.state_with(&refs.dishonesty);
        let mut events = case.events.clone();
        events.sort();
        let duties = supervision::assess_case(
            &case.header,
            &state,
            self.now(),
            &refs.calendar,
            &supervision::Policy::default(),
        )
        .unwrap_or_default();
        Ok(CaseView {
            id: case.header.number.to_string(),
            documents: documents::documents_for(&case.header, &state, &refs.calendar),
            phase_zh: state.phase.name_zh(),
            events: events.into_iter().map(timeline_entry).collect(),
            header: case.header.clone(),
            state,
            duties,
        })
    }

    /// The case's raw Automerge document (for audits and any Automerge tool).
    pub fn automerge(&self, staff: &Staff, id: &str) -> Result<Vec<u8>, ServiceError> {
        self.require(staff, super::Action::ReadCases)?;
        if id.starts_with("ref:") {
            return Err(ServiceError::not_found("case.not_found", format!("未找到办件 {id}")));
        }
        self.store.document_bytes(id).map_err(|e| not_found_case(e, id))
    }

    /// A printable document of a case, as data (the API renders it as an HTML page).
    pub fn document(&self, staff: &Staff, id: &str, kind: DocumentKind) -> Result<Document, ServiceError> {
        self.require(staff, super::Action::ReadCases)?;
        let refs = self.refs()?;
        let case = self.stored_case(id)?;
        let state = case.state_with(&refs.dishonesty);
        documents::build(kind, &case.header, &state, &refs.calendar).map_err(|e| {
            ServiceError::new(409, e.code(), Some(kind.rule()), format!("{}:{e}", kind.title_zh()))
        })
    }

    /// Cases matching every filter given, at most `limit` (newest changes first without filters).
    pub fn list(&self, staff: &Staff, filter: &CaseFilter) -> Result<Vec<CaseSummary>, ServiceError> {
        self.require(staff, super::Action::ReadCases)?;
        let limit = filter.limit.unwrap_or(LIST_LIMIT_DEFAULT).clamp(1, LIST_LIMIT_MAX);
        let refs = self.refs()?;
        let indexed: Vec<(Index, &String)> = [
            (Index::Applicant, &filter.applicant),
            (Index::Item, &filter.item),
            (Index::Department, &filter.department),
            (Index::Due, &filter.due),
            (Index::Scope, &filter.scope),
            (Index::Phase, &filter.phase),
        ]
        .into_iter()
        .filter_map(|(i, v)| v.as_ref().map(|v| (i, v)))
        .collect();
        let ids: Vec<String> = match indexed.first() {
            Some((index, value)) => {
                let mut ids = self.store.find(*index, value.trim(), SCAN_CASES_MAX)?;
                for (index, value) in &indexed[1..] {
                    let other: std::collections::BTreeSet<String> =
                        self.store.find(*index, value.trim(), SCAN_CASES_MAX)?.into_iter().collect();
                    ids.retain(|id| other.contains(id));
                }
                ids.truncate(limit);
                ids
            }
            None => self.recent_case_ids(limit)?,
        };
        let mut out = Vec::with_capacity(ids.len());
        for id in ids {
            // A case whose stored data fails its checksum is left out of lists (it is reported
            // when opened), not allowed to break every list.
            if let Ok(case) = self.store.case(&id) {
                out.push(summary(&case, &case.state_with(&refs.dishonesty)));
            }
        }
        Ok(out)
    }

    /// The ids of the cases changed most recently, newest first.
    fn recent_case_ids(&self, limit: usize) -> Result<Vec<String>, ServiceError> {
        let last = self.store.last_seq()?;
        let mut from = last.saturating_sub((limit as u64).saturating_mul(4));
        loop {
            let entries = self.store.changes_since(from, SCAN_CASES_MAX)?;
            let mut ids: Vec<String> =
                entries.into_iter().rev().map(|e| e.doc).filter(|d| !d.starts_with("ref:")).collect();
            if ids.len() >= limit || from == 0 {
                ids.truncate(limit);
                return Ok(ids);
            }
            from = from.saturating_sub((limit as u64).saturating_mul(16));
        }
    }

    /// Every open case (not in a terminal phase), at most [`SCAN_CASES_MAX`]; the flag says
    /// whether the scan stopped at the bound.
    pub fn open_cases(&self) -> Result<(Vec<Case>, bool), ServiceError> {
        let mut ids = Vec::new();
        for phase in [
            "new",
            "received",
            "pre_accepted",
            "awaiting_correction",
            "accepted",
            "in_review",
            "decided",
            "at_issuing_window",
            "notified",
            "delivered",
        ] {
            ids.extend(self.store.find(Index::Phase, phase, SCAN_CASES_MAX)?);
        }
        let truncated = ids.len() > SCAN_CASES_MAX;
        ids.truncate(SCAN_CASES_MAX);
        let cases = ids.iter().filter_map(|id| self.store.case(id).ok()).collect();
        Ok((cases, truncated))
    }

    /// Cases by feed order (all cases, terminal ones too), at most [`SCAN_CASES_MAX`].
    pub fn all_cases(&self) -> Result<(Vec<Case>, bool), ServiceError> {
        let entries = self.store.changes_since(0, SCAN_CASES_MAX + 8)?;
        let truncated = entries.len() > SCAN_CASES_MAX;
        let cases = entries
            .iter()
            .filter(|e| !e.doc.starts_with("ref:"))
            .take(SCAN_CASES_MAX)
            .filter_map(|e| self.store.case(&e.doc).ok())
            .collect();
        Ok((cases, truncated))
    }

    /// The case `id` from the store; a reference document's id (`ref:…`) is no case.
    fn stored_case(&self, id: &str) -> Result<Case, ServiceError> {
        if id.starts_with("ref:") {
            return Err(ServiceError::not_found("case.not_found", format!("未找到办件 {id}")));
        }
        self.store.case(id).map_err(|e| not_found_case(e, id))
    }

    fn lock_case(&self, id: &str) -> Result<std::sync::MutexGuard<'_, ()>, ServiceError> {
        let stripe = blake3::hash(id.as_bytes()).as_bytes()[0] as usize % self.case_locks.len();
        self.case_locks[stripe].lock().map_err(|_| ServiceError::internal("内部锁异常,请重启节点"))
    }
}

fn not_found_case(e: crate::store::StoreError, id: &str) -> ServiceError {
    match e {
        crate::store::StoreError::NotFound(_) => {
            ServiceError::not_found("case.not_found", format!("本节点没有办件 {id}(可能尚未同步到本节点)"))
        }
        other => other.into(),
    }
}

fn timeline_entry(e: Event) -> TimelineEntry {
    TimelineEntry {
        id: e.id().to_string(),
        at: e.hlc.local(),
        name_zh: e.kind.name_zh(),
        staff: e.actor.staff.to_string(),
        role_zh: e.actor.role.name_zh(),
        node: e.actor.node.to_string(),
        event: e,
    }
}

fn summary(case: &Case, state: &CaseState) -> CaseSummary {
    let h = &case.header;
    CaseSummary {
        id: h.number.to_string(),
        applicant: h.applicant.name().to_string(),
        item: h.item.code.to_string(),
        item_name: h.item.name.clone(),
        department: h.item.department.to_string(),
        scope: h.scope.clone(),
        phase: serde_json::to_value(state.phase)
            .ok()
            .and_then(|v| v.as_str().map(str::to_string))
            .unwrap_or_default(),
        phase_zh: state.phase.name_zh().to_string(),
        received_at: state.received_at,
        conflicts: state.conflicts.len(),
    }
}

/// W3.6: only materials the catalog lists for the item may be presented (or demanded).
fn check_presented(
    item: &yikou_schema::catalog::Item,
    presented: &[PresentedMaterial],
) -> Result<(), ServiceError> {
    if presented.len() > yikou_schema::case::MATERIALS_PER_EVENT_MAX {
        return Err(ServiceError::invalid(
            "case.too_many_materials",
            Some("W3.2"),
            format!("一次最多登记 {} 项材料", yikou_schema::case::MATERIALS_PER_EVENT_MAX),
        ));
    }
    let codes: Vec<MaterialCode> = presented.iter().map(|p| p.code.clone()).collect();
    item.check_demanded(&codes).map_err(|e| ServiceError::from(e).at("presented"))
}

fn check_channel(channel: &Channel) -> Result<(), ServiceError> {
    let empty = match channel {
        Channel::Online { portal_ref } => {
            portal_ref.trim().is_empty().then_some(("W3.1", "网上申报须填写网上申报编号"))
        }
        Channel::Mail { handover_record } => {
            handover_record.trim().is_empty().then_some(("W3.4", "邮寄申报须填写登记分发交接记录编号"))
        }
        _ => None,
    };
    match empty {
        Some((rule, message)) => {
            Err(ServiceError::invalid("intake.channel_reference_missing", Some(rule), message).at("channel"))
        }
        None => Ok(()),
    }
}

fn agent_of(a: &AgentInput) -> Result<Agent, ServiceError> {
    let id = CitizenId::parse(&a.id).map_err(|e| ServiceError::from(e).at("agent.id"))?;
    let name = a.name.trim();
    if name.is_empty() || name.chars().count() > yikou_schema::ids::APPLICANT_NAME_CHARS_MAX {
        return Err(ServiceError::invalid("agent.name_empty", Some("T3.2"), "请填写委托人姓名(不超过100字)")
            .at("agent.name"));
    }
    Ok(Agent {
        id,
        name: name.to_string(),
        authorisation: Authorisation {
            document_ref: a.authorisation_ref.trim().to_string(),
            specific: a.specific,
            valid_until: a.valid_until,
        },
    })
}
