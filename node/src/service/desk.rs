//! The front desk's local records: queue tickets (W1.1), appointments with their quota share
//! (W1.2–W1.4), and the consultation ledger (W2).
//!
//! **These records are local to the node and never replicated.** A ticket is called out in this
//! hall only; an appointment (with the applicant's ID numbers) is kept by the node that booked it
//! (O5); quota safety across nodes comes from the replicated [`QuotaPlan`] split in advance, not
//! from sharing bookings (O4); the consultation ledger holds no personal data and reaches the
//! reports through [`Service::consultations_between`]. Every value is JSON sealed with
//! [`record::seal`] and written with one [`WriteBatch`] plus `sync` before the answer (O2), under
//! the service's `desk` lock (read, check, write never interleave). Key layout (see
//! [`crate::store`]):
//!
//! ```text
//! q/t/{yyyymmdd}              the day's ticket dispenser (W1.1)
//! q/l/{business}/{yyyymmdd}   this node's quota ledger of one business on one day (W1.3, O4)
//! q/a/{booking id}            an appointment (booking id = {node}-{yyyymmdd}-{business}-B{n:04})
//! q/o/{yyyymmdd}/{booking id} index of appointments still booked (W1.4: the expiry pass reads it)
//! k/n/{yyyymmdd}              the day's consultation counter
//! k/e/{entry id}              a consultation ledger entry (entry id = {node}-{yyyymmdd}-{n:04})
//! ```
//!
//! Every check runs before the first write: a refused command writes nothing.

use chrono::{NaiveDate, NaiveDateTime, TimeDelta};
use serde::de::DeserializeOwned;
use serde::{Deserialize, Serialize};
use yikou_schema::actor::Role;
use yikou_schema::catalog::Item;
use yikou_schema::codes::{DepartmentCode, ItemCode, NodeName};
use yikou_schema::consultation::{
    self, Analysis, Answer, Category, Cause, ConsultationEntry, ConsultationError, DepartmentCall,
    OneTimeNotice, RemoteChannel,
};
use yikou_schema::ids::{ApplicantId, CitizenId, CreditCode};
use yikou_schema::queue::{
    Appointment, AppointmentRequest, AppointmentStatus, Business, CancelReason, QueueError, QuotaLedger,
    QuotaPlan, QuotaShare, Ticket, TicketDispenser, TicketKind,
};

use super::{Action, RefView, Service, ServiceError, Staff};
use crate::store::{WriteBatch, record};

/// Appointments one list returns at most (one day, every business, this node).
pub const APPOINTMENTS_PER_DAY_MAX: usize = 5_000;
/// How many days ahead an appointment may be booked (bounds the ledgers a node keeps open).
pub const APPOINTMENT_DAYS_AHEAD_MAX: i64 = 30;
/// Appointments one expiry pass cancels at most; the next pass takes the rest.
pub const EXPIRE_PER_PASS_MAX: usize = 1_000;
/// Consultation entries one list returns at most.
pub const CONSULTATIONS_LIST_MAX: usize = 1_000;
/// Consultation entries the reports and the analysis read at most for one period.
pub const CONSULTATIONS_SCAN_MAX: usize = 100_000;
/// Consultations one node registers per day at most (the four digits of the entry id).
pub const CONSULTATIONS_PER_DAY_MAX: u32 = 9_999;
/// The longest department or item code accepted in a desk request.
pub const DESK_CODE_CHARS_MAX: usize = 64;

/// Asks for a queue number (W1.1).
#[derive(Debug, Clone, Serialize, Deserialize, schemars::JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct TicketRequest {
    /// `Intake` (受理业务号) or `Consultation` (咨询业务号).
    #[schemars(with = "serde_json::Value")]
    pub kind: TicketKind,
    /// W2.1: the department a consultation number calls (a department code of the catalog).
    #[serde(default)]
    pub department: Option<String>,
    /// W2.4: the department is not present in the hall and is called to consult remotely.
    #[serde(default)]
    pub remote: bool,
}

/// The number handed out, and the department's call for a consultation number.
#[derive(Debug, Clone, Serialize, schemars::JsonSchema)]
pub struct TicketAnswer {
    #[schemars(with = "serde_json::Value")]
    pub ticket: Ticket,
    /// The network-wide id (`{node}-{yyyymmdd}-A0012`), to put on a consultation entry.
    pub id: String,
    /// Printed on the slip and called out, e.g. `A0012`.
    pub display_number: String,
    /// W2.1: the call the node delivers to the department.
    #[schemars(with = "Option<serde_json::Value>")]
    pub call: Option<DepartmentCall>,
    /// The call's text for the department.
    pub call_message: Option<String>,
}

/// W1.3: the quota numbers behind a booking answer.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, schemars::JsonSchema)]
pub struct QuotaAnswer {
    pub business: String,
    pub date: NaiveDate,
    /// The business's cap for the day across the network: floor(10 % × average daily volume).
    pub cap: u32,
    /// This node's share of the cap (O4).
    pub node_share: u32,
    /// Bookings this node made against its share.
    pub used: u32,
    /// Bookings this node can still make.
    pub left: u32,
}

/// Why a booking was refused for lack of quota.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, schemars::JsonSchema)]
pub struct QuotaRefusal {
    pub code: String,
    pub rule: String,
    pub message: String,
}

/// What booking answers: booked, or refused for lack of quota, with the numbers either way. Other
/// refusals (no ID, area without appointments, slot in the past) are errors.
#[derive(Debug, Clone, Serialize, schemars::JsonSchema)]
pub struct AppointmentAnswer {
    pub booked: bool,
    #[schemars(with = "Option<serde_json::Value>")]
    pub appointment: Option<Appointment>,
    pub quota: QuotaAnswer,
    pub refusal: Option<QuotaRefusal>,
}

/// Registers one consultation in the ledger (W2.2, W2.5).
#[derive(Debug, Clone, Serialize, Deserialize, schemars::JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct ConsultationRequest {
    /// The consultation number's id ([`TicketAnswer::id`]), when the applicant took one.
    #[serde(default)]
    pub ticket: Option<String>,
    /// The catalog item asked about.
    #[serde(default)]
    pub item: Option<String>,
    /// The department that counselled (a department code of the catalog).
    pub department: String,
    /// W2.4: absent = at the seat in the hall; otherwise the remote channel used.
    #[serde(default)]
    #[schemars(with = "Option<serde_json::Value>")]
    pub remote: Option<RemoteChannel>,
    /// A brief record of the question.
    pub question: String,
    #[schemars(with = "serde_json::Value")]
    pub category: Category,
    /// W2.5: the systemic cause, `None` for an ordinary question.
    #[serde(default = "no_cause")]
    #[schemars(with = "serde_json::Value")]
    pub cause: Cause,
    /// W2.2: a pre-review's one-time notice, every problem at once.
    #[serde(default)]
    #[schemars(with = "Option<serde_json::Value>")]
    pub one_time_notice: Option<OneTimeNotice>,
}

fn no_cause() -> Cause {
    Cause::None
}

fn ticket_key(day: NaiveDate) -> Vec<u8> {
    format!("q/t/{}", day.format("%Y%m%d")).into_bytes()
}

fn ledger_key(business: &ItemCode, day: NaiveDate) -> Vec<u8> {
    format!("q/l/{business}/{}", day.format("%Y%m%d")).into_bytes()
}

fn appointment_key(id: &str) -> Vec<u8> {
    format!("q/a/{id}").into_bytes()
}

fn open_key(day: NaiveDate, id: &str) -> Vec<u8> {
    format!("q/o/{}/{id}", day.format("%Y%m%d")).into_bytes()
}

fn counter_key(day: NaiveDate) -> Vec<u8> {
    format!("k/n/{}", day.format("%Y%m%d")).into_bytes()
}

fn entry_key(id: &str) -> Vec<u8> {
    format!("k/e/{id}").into_bytes()
}

/// The first key after every key starting with `prefix`.
fn prefix_end(prefix: &[u8]) -> Vec<u8> {
    let mut end = prefix.to_vec();
    while let Some(last) = end.pop() {
        if last < u8::MAX {
            end.push(last + 1);
            return end;
        }
    }
    // Only an all-0xFF prefix gets here; no key of ours is one.
    vec![u8::MAX; prefix.len() + 1]
}

/// At most 32 characters of user input, to quote it in a message.
fn quote(s: &str) -> String {
    s.chars().take(32).collect()
}

fn lock_poisoned() -> ServiceError {
    ServiceError::internal("内部锁异常,请重启节点")
}

/// A state the record is no longer in (already taken up, not deferred): a conflict, not bad input.
fn queue_error(e: QueueError) -> ServiceError {
    let conflict = matches!(e, QueueError::AppointmentNotBooked | QueueError::AppointmentExpired { .. });
    let mut err = ServiceError::from(e);
    if conflict {
        err.status = 409;
    }
    err
}

fn consultation_error(e: ConsultationError) -> ServiceError {
    let conflict = matches!(e, ConsultationError::CannotDefer | ConsultationError::NotDeferred);
    let mut err = ServiceError::from(e);
    if conflict {
        err.status = 409;
    }
    err
}

/// W1.2: what the queue needs to know about a catalog item. Appointments are offered only when
/// the catalog gives the item appointment data *and* its area is one of the three high-volume
/// areas (the catalog parser refuses the one without the other; both are checked here anyway).
pub fn business_of(item: &Item) -> Business {
    Business {
        key: item.code.clone(),
        eligible: item.appointment.is_some() && item.area.appointments_allowed(),
        average_daily_volume: item.appointment.as_ref().map_or(0, |a| a.average_daily_volume),
    }
}

/// W1.3, O4: this node's share of a business's daily cap.
///
/// With a replicated [`QuotaPlan`], its shares are the nodes' weights and every business's cap is
/// split by them ([`QuotaPlan::split`], deterministic): a plan whose cap equals the business's
/// gives exactly its shares. Every node computes the same split from the same plan, so the
/// shares sum to the cap and nodes that cannot talk never book more than the cap together.
///
/// Without a plan only the hall holds the whole cap and every other node holds 0. That is
/// partition-safe too: exactly one node can book, so no two sides of a partition can each spend
/// the cap. (Giving every node the whole cap would let N cut-off nodes book N × the cap.)
pub fn node_share(plan: Option<&QuotaPlan>, cap: u32, node: &NodeName, hall: bool) -> u32 {
    match plan {
        Some(plan) => {
            let weights: Vec<(NodeName, u32)> = plan.shares().iter().map(|(n, s)| (n.clone(), *s)).collect();
            QuotaPlan::split(cap, &weights).share(node)
        }
        None if hall => cap,
        None => 0,
    }
}

impl Service {
    fn desk_read<T: DeserializeOwned>(&self, key: &[u8], what: &str) -> Result<Option<T>, ServiceError> {
        match self.kv.get(key)? {
            Some(raw) => decode(&raw, what).map(Some),
            None => Ok(None),
        }
    }

    /// Applies the batch and makes it durable before the answer (O2).
    fn desk_commit(&self, batch: &WriteBatch) -> Result<(), ServiceError> {
        self.kv.apply(batch)?;
        self.kv.sync()?;
        Ok(())
    }

    /// Hands out the next queue number of the day (W1.1); a consultation number with a
    /// department also yields the department's call (W2.1, W2.4). The dispenser is durable
    /// before the number is shown, so a restart never issues a number twice.
    pub fn issue_ticket(&self, staff: &Staff, req: &TicketRequest) -> Result<TicketAnswer, ServiceError> {
        self.require(staff, Action::IssueTickets)?;
        let department = match req.department.as_deref().map(str::trim).filter(|d| !d.is_empty()) {
            None => None,
            Some(_) if req.kind == TicketKind::Intake => {
                return Err(ServiceError::from(ConsultationError::NotAConsultationTicket).at("department"));
            }
            Some(code) => Some(self.known_department(&self.refs()?, code)?),
        };
        let now = self.now();
        let today = now.date();
        let _desk = self.desk.lock().map_err(|_| lock_poisoned())?;
        let key = ticket_key(today);
        let mut dispenser: TicketDispenser = self
            .desk_read(&key, "取号机状态")?
            .unwrap_or_else(|| TicketDispenser::new(self.info.name.clone(), today));
        let ticket = dispenser.issue(req.kind, today)?;
        let call =
            department.map(|d| consultation::notify_department(&ticket, d, now, !req.remote)).transpose()?;
        let mut batch = WriteBatch::default();
        batch.put(key, seal(&dispenser)?);
        self.desk_commit(&batch)?;
        Ok(TicketAnswer {
            id: ticket.id(),
            display_number: ticket.display_number(),
            call_message: call.as_ref().map(DepartmentCall::message_zh),
            call,
            ticket,
        })
    }

    /// Books an appointment (W1.2, W1.3) against this node's share of the day's cap. A booking
    /// beyond the share is answered as refused with the numbers; other refusals are errors.
    pub fn book_appointment(
        &self,
        staff: &Staff,
        req: &AppointmentRequest,
    ) -> Result<AppointmentAnswer, ServiceError> {
        self.require(staff, Action::ManageAppointments)?;
        let refs = self.refs()?;
        let now = self.now();
        if req.business.as_str().chars().count() > DESK_CODE_CHARS_MAX {
            return Err(ServiceError::invalid("appointment.business_unknown", Some("W1.2"), "业务编码过长")
                .at("business"));
        }
        let item = refs.catalog()?.item_for_intake(&req.business, req.date)?;
        let business = business_of(item);
        req.validate(&business).map_err(queue_error)?;
        check_appointment_ids(req)?;
        self.check_appointment_day(&refs, req.date, now.date())?;
        let cap = business.daily_cap(QuotaShare::default());

        let _desk = self.desk.lock().map_err(|_| lock_poisoned())?;
        let ledger_key = ledger_key(&business.key, req.date);
        // The share is fixed when the day's ledger is opened; rights move afterwards only by
        // explicit transfers (O4), never by a plan edit under bookings already made.
        let mut ledger: QuotaLedger = match self.desk_read(&ledger_key, "预约名额台账")? {
            Some(ledger) => ledger,
            None => QuotaLedger::new(
                self.info.name.clone(),
                business.key.clone(),
                req.date,
                node_share(refs.quota_plan.as_deref(), cap, &self.info.name, self.info.hall),
            ),
        };
        let booking = match ledger.book(&business, req, now) {
            Ok(booking) => booking,
            Err(e @ QueueError::QuotaExhausted { .. }) => {
                return Ok(AppointmentAnswer {
                    booked: false,
                    appointment: None,
                    quota: quota_answer(&ledger, cap),
                    refusal: Some(QuotaRefusal {
                        code: e.code().into(),
                        rule: e.rule().unwrap_or("W1.3").into(),
                        message: format!(
                            "{e}(该业务当日全网预约上限 {cap} 个,本节点分得 {} 个)",
                            ledger.share()
                        ),
                    }),
                });
            }
            Err(e) => return Err(queue_error(e)),
        };
        let appointment = Appointment::new(booking, req.clone());
        let id = appointment.booking.id.clone();
        let mut batch = WriteBatch::default();
        batch.put(ledger_key, seal(&ledger)?);
        batch.put(appointment_key(&id), seal(&appointment)?);
        batch.put(open_key(req.date, &id), Vec::new());
        self.desk_commit(&batch)?;
        Ok(AppointmentAnswer {
            booked: true,
            appointment: Some(appointment),
            quota: quota_answer(&ledger, cap),
            refusal: None,
        })
    }

    /// The day is open and not too far ahead (the slot itself is checked by the ledger).
    fn check_appointment_day(
        &self,
        refs: &RefView,
        date: NaiveDate,
        today: NaiveDate,
    ) -> Result<(), ServiceError> {
        let last = today.checked_add_signed(TimeDelta::days(APPOINTMENT_DAYS_AHEAD_MAX)).unwrap_or(today);
        if date > last {
            return Err(ServiceError::invalid(
                "appointment.too_far_ahead",
                Some("W1.2"),
                format!("最多可预约 {APPOINTMENT_DAYS_AHEAD_MAX} 天内的办理时间(至 {last})"),
            )
            .at("date"));
        }
        if !refs.calendar.is_workday(date).at {
            return Err(ServiceError::invalid(
                "appointment.not_a_workday",
                Some("W1.2"),
                format!("{date} 不是工作日,大厅不办理业务,请选择工作日预约"),
            )
            .at("date"));
        }
        Ok(())
    }

    /// This node's appointments of one day (every business, or one), in booking-id order.
    pub fn list_appointments(
        &self,
        staff: &Staff,
        date: NaiveDate,
        business: Option<&str>,
    ) -> Result<Vec<Appointment>, ServiceError> {
        self.require(staff, Action::ManageAppointments)?;
        let prefix = appointment_key(&format!("{}-{}-", self.info.name, date.format("%Y%m%d")));
        let rows = self.kv.range(&prefix, &prefix_end(&prefix), APPOINTMENTS_PER_DAY_MAX)?;
        let business = business.map(str::trim).filter(|b| !b.is_empty());
        let mut out = Vec::with_capacity(rows.len());
        for (_, raw) in rows {
            let a: Appointment = decode(&raw, "预约记录")?;
            if business.is_none_or(|b| a.booking.business.as_str() == b) {
                out.push(a);
            }
        }
        Ok(out)
    }

    /// The applicant turned up (W1.4: within one hour after the appointment's time). A lapsed
    /// appointment is refused and nothing is written (a refusal leaves no trace); the scheduler's
    /// next expiry pass records the no-show.
    pub fn take_up(&self, staff: &Staff, id: &str) -> Result<Appointment, ServiceError> {
        self.require(staff, Action::ManageAppointments)?;
        let now = self.now();
        let _desk = self.desk.lock().map_err(|_| lock_poisoned())?;
        let mut appointment = self.appointment(id)?;
        match appointment.arrive(now) {
            Ok(()) => {
                self.put_appointment(&appointment)?;
                Ok(appointment)
            }
            Err(e) => Err(queue_error(e)),
        }
    }

    /// Cancels a booked appointment. A no-show is the node's own act (W1.4, by
    /// [`Service::expire_appointments`]); a supervisor's cancellation (a quota conflict after a
    /// merge, O4) needs a supervisor or the hall centre. The quota right stays spent.
    pub fn cancel_appointment(
        &self,
        staff: &Staff,
        id: &str,
        reason: CancelReason,
    ) -> Result<Appointment, ServiceError> {
        match reason {
            CancelReason::Applicant => self.require(staff, Action::ManageAppointments)?,
            CancelReason::Supervisor => {
                if !matches!(staff.role, Role::Supervisor | Role::HallCentre) {
                    return Err(ServiceError::forbidden(
                        "permission.denied",
                        Some("O4"),
                        format!("「{}」不能以主管名义取消预约", staff.role.name_zh()),
                    ));
                }
            }
            CancelReason::NoShow => {
                return Err(ServiceError::invalid(
                    "appointment.no_show_is_automatic",
                    Some("W1.4"),
                    "超时未到的预约由系统在预约时间一小时后自动取消,无需手工取消",
                )
                .at("reason"));
            }
        }
        let _desk = self.desk.lock().map_err(|_| lock_poisoned())?;
        let mut appointment = self.appointment(id)?;
        appointment.cancel(reason).map_err(queue_error)?;
        self.put_appointment(&appointment)?;
        Ok(appointment)
    }

    /// W1.4: cancels every appointment not taken up within one hour after its time, as of `now`
    /// (at most [`EXPIRE_PER_PASS_MAX`] per call). Returns how many it cancelled. The scheduler
    /// calls it on each pass.
    pub fn expire_appointments(&self, now: NaiveDateTime) -> Result<usize, ServiceError> {
        let _desk = self.desk.lock().map_err(|_| lock_poisoned())?;
        // Still-booked appointments up to today's (a later day cannot have lapsed).
        let from = b"q/o/".to_vec();
        let to = prefix_end(format!("q/o/{}/", now.date().format("%Y%m%d")).as_bytes());
        let mut cancelled = 0;
        let mut batch = WriteBatch::default();
        let mut start = from;
        // Pages of the open index: those still within their hour are skipped, not counted.
        'pages: loop {
            let rows = self.kv.range(&start, &to, EXPIRE_PER_PASS_MAX)?;
            let full = rows.len() == EXPIRE_PER_PASS_MAX;
            for (key, _) in &rows {
                let Some(id) = std::str::from_utf8(key).ok().and_then(|k| k.get("q/o/yyyymmdd/".len()..))
                else {
                    continue;
                };
                match self.desk_read::<Appointment>(&appointment_key(id), "预约记录")? {
                    Some(mut a) if a.status == AppointmentStatus::Booked => {
                        if a.expire(now) {
                            batch.put(appointment_key(id), seal(&a)?);
                            batch.delete(key.clone());
                            cancelled += 1;
                            if cancelled == EXPIRE_PER_PASS_MAX {
                                break 'pages;
                            }
                        }
                    }
                    // Taken up or cancelled meanwhile, or gone: the index entry is stale.
                    _ => batch.delete(key.clone()),
                }
            }
            match rows.last() {
                Some((last, _)) if full => {
                    start = last.clone();
                    start.push(0);
                }
                _ => break,
            }
        }
        if !batch.is_empty() {
            self.desk_commit(&batch)?;
        }
        if cancelled > 0 {
            tracing::info!(cancelled, "appointments not taken up within one hour cancelled (W1.4)");
        }
        Ok(cancelled)
    }

    fn appointment(&self, id: &str) -> Result<Appointment, ServiceError> {
        let missing =
            || ServiceError::not_found("appointment.not_found", format!("本节点没有预约 {}", quote(id)));
        if id.is_empty() || id.len() > 256 {
            return Err(missing());
        }
        self.desk_read(&appointment_key(id), "预约记录")?.ok_or_else(missing)
    }

    /// Writes an appointment; one no longer booked leaves the open index.
    fn put_appointment(&self, a: &Appointment) -> Result<(), ServiceError> {
        let mut batch = WriteBatch::default();
        batch.put(appointment_key(&a.booking.id), seal(a)?);
        if a.status != AppointmentStatus::Booked {
            batch.delete(open_key(a.booking.date, &a.booking.id));
        }
        self.desk_commit(&batch)
    }

    /// Registers a consultation in the ledger (W2.5), with its one-time notice when the
    /// pre-review found problems (W2.2). The counsellor is the member of staff registering it; a
    /// department's counsellor registers only for their own department.
    pub fn record_consultation(
        &self,
        staff: &Staff,
        req: &ConsultationRequest,
    ) -> Result<ConsultationEntry, ServiceError> {
        self.require(staff, Action::Consult)?;
        let refs = self.refs()?;
        let department = self.known_department(&refs, req.department.trim())?;
        require_own_department(staff, &department)?;
        let item = match req.item.as_deref().map(str::trim).filter(|i| !i.is_empty()) {
            None => None,
            Some(code) => {
                let code = ItemCode::new(code);
                if code.as_str().chars().count() > DESK_CODE_CHARS_MAX
                    || refs.catalog()?.item(&code).is_none()
                {
                    return Err(ServiceError::invalid(
                        "consultation.item_unknown",
                        Some("W2.5"),
                        format!("事项清单中没有事项 {}", quote(code.as_str())),
                    )
                    .at("item"));
                }
                Some(code)
            }
        };
        let ticket = match req.ticket.as_deref().map(str::trim).filter(|t| !t.is_empty()) {
            None => None,
            Some(id) => match Ticket::parse_id(id) {
                Some(t) if t.kind == TicketKind::Consultation => Some(id.to_string()),
                _ => {
                    return Err(ServiceError::invalid(
                        "consultation.ticket_invalid",
                        Some("W2.1"),
                        format!("{} 不是有效的咨询业务号", quote(id)),
                    )
                    .at("ticket"));
                }
            },
        };
        let now = self.now();
        let today = now.date();
        let mut entry = ConsultationEntry {
            id: String::new(),
            ticket,
            node: self.info.name.clone(),
            at: now,
            item,
            department,
            counsellor: staff.id.clone(),
            mode: consultation::mode_for(req.remote.is_none(), req.remote)?,
            question: req.question.trim().to_string(),
            category: req.category,
            cause: req.cause,
            answer: Answer::OnTheSpot { one_time_notice: req.one_time_notice.clone() },
        };
        // Checked before a number is taken (with one of the same length): a refused entry uses none.
        entry.id = format!("{}-{}-0001", self.info.name, today.format("%Y%m%d"));
        entry.validate().map_err(consultation_error)?;

        let _desk = self.desk.lock().map_err(|_| lock_poisoned())?;
        let counter_key = counter_key(today);
        let n = self.desk_read::<u32>(&counter_key, "咨询登记计数器")?.unwrap_or(0).saturating_add(1);
        if n > CONSULTATIONS_PER_DAY_MAX {
            return Err(ServiceError::conflict(
                "consultation.day_full",
                Some("W2.5"),
                format!("本节点今日咨询登记已达上限 {CONSULTATIONS_PER_DAY_MAX} 条"),
            ));
        }
        entry.id = format!("{}-{}-{n:04}", self.info.name, today.format("%Y%m%d"));
        let mut batch = WriteBatch::default();
        batch.put(counter_key, seal(&n)?);
        batch.put(entry_key(&entry.id), seal(&entry)?);
        self.desk_commit(&batch)?;
        Ok(entry)
    }

    /// W2.3: a question that cannot be answered on the spot; due within two working days.
    pub fn defer_consultation(&self, staff: &Staff, id: &str) -> Result<ConsultationEntry, ServiceError> {
        self.require(staff, Action::Consult)?;
        let refs = self.refs()?;
        let _desk = self.desk.lock().map_err(|_| lock_poisoned())?;
        let mut entry = self.entry(id)?;
        require_own_department(staff, &entry.department)?;
        entry.defer(&refs.calendar).map_err(consultation_error)?;
        self.put_entry(&entry)?;
        Ok(entry)
    }

    /// W2.3: the department's answer to a deferred hard question. Only a counsellor of the
    /// entry's department answers (W2.1: the department answers, the window registers).
    pub fn answer_consultation(
        &self,
        staff: &Staff,
        id: &str,
        text: &str,
    ) -> Result<ConsultationEntry, ServiceError> {
        self.require(staff, Action::Consult)?;
        let now = self.now();
        let _desk = self.desk.lock().map_err(|_| lock_poisoned())?;
        let mut entry = self.entry(id)?;
        match &staff.role {
            Role::DepartmentReviewer(d) if *d == entry.department => {}
            _ => {
                return Err(ServiceError::forbidden(
                    "consultation.department_answers",
                    Some("W2.3"),
                    format!("疑难问题须由{}的辅导人员答复", entry.department),
                ));
            }
        }
        entry.answer(now, text.trim().to_string()).map_err(consultation_error)?;
        entry.validate().map_err(consultation_error)?;
        self.put_entry(&entry)?;
        Ok(entry)
    }

    /// The ledger's entries asked between `from` and `to` (both included), oldest first, at most
    /// [`CONSULTATIONS_LIST_MAX`].
    pub fn list_consultations(
        &self,
        staff: &Staff,
        from: NaiveDate,
        to: NaiveDate,
    ) -> Result<Vec<ConsultationEntry>, ServiceError> {
        if self.require(staff, Action::Consult).is_err() {
            self.require(staff, Action::ReadReports)?;
        }
        self.entries(from, to, CONSULTATIONS_LIST_MAX)
    }

    /// W2.5: the periodic analysis (which items generate most questions, and why).
    pub fn consultation_analysis(
        &self,
        staff: &Staff,
        from: NaiveDate,
        to: NaiveDate,
    ) -> Result<Analysis, ServiceError> {
        self.require(staff, Action::ReadReports)?;
        Ok(consultation::analyse(&self.consultations_between(from, to)?, from, to))
    }

    /// Every ledger entry asked between `from` and `to` (both included), at most
    /// [`CONSULTATIONS_SCAN_MAX`]: for the reports, which check their own permission.
    pub fn consultations_between(
        &self,
        from: NaiveDate,
        to: NaiveDate,
    ) -> Result<Vec<ConsultationEntry>, ServiceError> {
        let entries = self.entries(from, to, CONSULTATIONS_SCAN_MAX)?;
        if entries.len() == CONSULTATIONS_SCAN_MAX {
            tracing::warn!(%from, %to, max = CONSULTATIONS_SCAN_MAX, "consultation scan stopped at its bound");
        }
        Ok(entries)
    }

    fn entries(
        &self,
        from: NaiveDate,
        to: NaiveDate,
        max: usize,
    ) -> Result<Vec<ConsultationEntry>, ServiceError> {
        if from > to {
            return Err(ServiceError::invalid("desk.range_invalid", None, "起始日期晚于截止日期"));
        }
        // Entry ids are `{node}-{yyyymmdd}-{n:04}` and only this node's are stored here: key order
        // is day order.
        let start = entry_key(&format!("{}-{}", self.info.name, from.format("%Y%m%d")));
        let end = prefix_end(&entry_key(&format!("{}-{}", self.info.name, to.format("%Y%m%d"))));
        let rows = self.kv.range(&start, &end, max)?;
        rows.iter().map(|(_, raw)| decode(raw, "咨询登记")).collect()
    }

    fn entry(&self, id: &str) -> Result<ConsultationEntry, ServiceError> {
        let missing =
            || ServiceError::not_found("consultation.not_found", format!("本节点没有咨询登记 {}", quote(id)));
        if id.is_empty() || id.chars().count() > consultation::ENTRY_ID_CHARS_MAX {
            return Err(missing());
        }
        self.desk_read(&entry_key(id), "咨询登记")?.ok_or_else(missing)
    }

    fn put_entry(&self, entry: &ConsultationEntry) -> Result<(), ServiceError> {
        let mut batch = WriteBatch::default();
        batch.put(entry_key(&entry.id), seal(entry)?);
        self.desk_commit(&batch)
    }

    /// A department the catalog knows.
    fn known_department(&self, refs: &RefView, code: &str) -> Result<DepartmentCode, ServiceError> {
        let code = DepartmentCode::new(code);
        if code.as_str().is_empty() {
            return Err(ServiceError::invalid(
                "consultation.department_missing",
                Some("W2.1"),
                "请选择辅导部门",
            )
            .at("department"));
        }
        if code.as_str().chars().count() > DESK_CODE_CHARS_MAX || refs.catalog()?.department(&code).is_none()
        {
            return Err(ServiceError::invalid(
                "consultation.department_unknown",
                Some("W2.1"),
                format!("事项清单中没有部门 {}", quote(code.as_str())),
            )
            .at("department"));
        }
        Ok(code)
    }
}

/// A department's counsellor acts for their own department only; the window for any.
fn require_own_department(staff: &Staff, department: &DepartmentCode) -> Result<(), ServiceError> {
    match &staff.role {
        Role::DepartmentReviewer(own) if own != department => Err(ServiceError::forbidden(
            "consultation.other_department",
            Some("W2.1"),
            format!("本账号属于部门 {own},不能办理部门 {department} 的咨询"),
        )),
        _ => Ok(()),
    }
}

/// W1.2: a valid ID: an individual's citizen ID; an organisation's unified social credit code
/// plus the agent's citizen ID. (Presence and length were checked by the schema.)
fn check_appointment_ids(req: &AppointmentRequest) -> Result<(), ServiceError> {
    let applicant = req.applicant_id.trim();
    if req.organisation {
        CreditCode::parse(applicant).map_err(|e| ServiceError::from(e).at("applicant_id"))?;
    } else if let ApplicantId::Organisation(_) =
        ApplicantId::parse(applicant).map_err(|e| ServiceError::from(e).at("applicant_id"))?
    {
        return Err(ServiceError::invalid(
            "appointment.organisation_unflagged",
            Some("W1.2"),
            "该号码是统一社会信用代码:单位预约请勾选“单位”并填写经办人身份证件",
        )
        .at("organisation"));
    }
    if let Some(agent) = req.agent_id.as_deref().map(str::trim).filter(|a| !a.is_empty()) {
        CitizenId::parse(agent).map_err(|e| ServiceError::from(e).at("agent_id"))?;
    }
    Ok(())
}

fn quota_answer(ledger: &QuotaLedger, cap: u32) -> QuotaAnswer {
    QuotaAnswer {
        business: ledger.business().to_string(),
        date: ledger.date(),
        cap,
        node_share: ledger.share(),
        used: ledger.used(),
        left: ledger.unused(),
    }
}

fn seal<T: Serialize + ?Sized>(value: &T) -> Result<Vec<u8>, ServiceError> {
    let json =
        serde_json::to_vec(value).map_err(|e| ServiceError::internal(format!("前台记录无法保存:{e}")))?;
    Ok(record::seal(&json))
}

fn decode<T: DeserializeOwned>(raw: &[u8], what: &str) -> Result<T, ServiceError> {
    let corrupt = || ServiceError::internal(format!("{what}数据校验失败,请联系系统管理员从备份恢复"));
    let payload = record::open(raw).ok_or_else(corrupt)?;
    serde_json::from_slice(payload).map_err(|_| corrupt())
}
