//! Queue numbers and appointments (取号与预约, rule W1), with appointment quotas that stay within
//! their cap while nodes cannot talk to each other (O4).
//!
//! - **Queue numbers (W1.1).** A [`TicketDispenser`] per node issues intake numbers (受理业务号,
//!   `A0001`…) and consultation numbers (咨询业务号, `C0001`…), unique per node per day. The
//!   network-wide id `{node}-{yyyymmdd}-{A|C}{serial:04}` carries the node, so two nodes can never
//!   issue the same id even when cut off from each other.
//! - **Appointments (W1.2).** An [`AppointmentRequest`] needs the applicant's ID (an organisation:
//!   its code certificate and the agent's ID) and is offered only for a [`Business`] flagged
//!   eligible. Only presence is checked here; the `ids` module checks the numbers themselves.
//! - **Quota (W1.3, O4).** The day's cap is `floor(share × average daily volume)` (share 10 % by
//!   default, [`QuotaShare`]). The cap is split *in advance* among the nodes that can book
//!   ([`QuotaPlan::split`], largest-remainder method), and each node books only against its own
//!   share ([`QuotaLedger`]): the sum of bookings can never exceed the cap, however long the
//!   partition lasts. Unused rights move between nodes only as explicit transfers
//!   ([`QuotaLedger::give`] / [`QuotaLedger::receive`]), which never change the sum (a bounded
//!   counter, as Antidote's `counter_b`). Should bookings from elsewhere still exceed the cap after
//!   a merge (a stale plan, a hand-edited share), [`quota_conflicts`] reports the excess as data
//!   for a supervisor.
//! - **No-shows (W1.4).** An [`Appointment`] not taken up within [`APPOINTMENT_GRACE_MINUTES`]
//!   after its time is cancelled: at exactly +60 min it is still valid, one second later it is not.
//!
//! A cancelled appointment keeps counting against the day's quota: rights are only ever spent,
//! never returned, which keeps the partition bound trivially true.
//!
//! Pure: no I/O, no clock; every "now" is an argument.

use std::collections::{BTreeMap, BTreeSet};
use std::fmt;

use chrono::{NaiveDate, NaiveDateTime, NaiveTime, TimeDelta};
use schemars::JsonSchema;
use serde::{Deserialize, Serialize};

use crate::codes::{ItemCode, NodeName};

/// The largest serial a node issues per kind per day (four digits on the display).
pub const TICKETS_PER_DAY_MAX: u32 = 9_999;
/// W1.4: an appointment not taken up within this many minutes after its time is cancelled.
pub const APPOINTMENT_GRACE_MINUTES: i64 = 60;
/// W1.3: the default appointment share of the average daily case count, in per-mille (10 %).
pub const QUOTA_SHARE_DEFAULT_PER_MILLE: u16 = 100;
/// The largest configurable appointment share, in per-mille (100 %).
pub const QUOTA_SHARE_MAX_PER_MILLE: u16 = 1_000;
/// The longest ID string (applicant, organisation code, agent) accepted for an appointment.
pub const APPOINTMENT_ID_CHARS_MAX: usize = 64;

/// Which queue a number belongs to (W1.1).
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize, JsonSchema)]
pub enum TicketKind {
    /// 受理业务号: the applicant comes to file an application.
    Intake,
    /// 咨询业务号: the applicant comes for advice; the department is called (W2.1).
    Consultation,
}

impl TicketKind {
    /// The letter in front of the number: `A` intake, `C` consultation.
    pub fn prefix(self) -> char {
        match self {
            TicketKind::Intake => 'A',
            TicketKind::Consultation => 'C',
        }
    }

    /// The kind for a prefix letter.
    pub fn from_prefix(c: char) -> Option<Self> {
        match c {
            'A' => Some(TicketKind::Intake),
            'C' => Some(TicketKind::Consultation),
            _ => None,
        }
    }

    /// The Chinese name shown to clerks.
    pub fn label_zh(self) -> &'static str {
        match self {
            TicketKind::Intake => "受理业务号",
            TicketKind::Consultation => "咨询业务号",
        }
    }
}

/// One queue number (W1.1).
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize, JsonSchema)]
pub struct Ticket {
    pub node: NodeName,
    pub date: NaiveDate,
    pub kind: TicketKind,
    /// 1..=[`TICKETS_PER_DAY_MAX`].
    pub serial: u32,
}

impl Ticket {
    /// The number called out in the hall and printed on the slip, e.g. `A0012`.
    pub fn display_number(&self) -> String {
        format!("{}{:04}", self.kind.prefix(), self.serial)
    }

    /// The network-wide unique id, e.g. `xinzheng-hall-20260302-A0012`.
    pub fn id(&self) -> String {
        format!("{}-{}-{}", self.node, self.date.format("%Y%m%d"), self.display_number())
    }

    /// Reads an id written by [`Ticket::id`]. The node name may itself contain `-`: the date and
    /// number are taken from the right.
    pub fn parse_id(id: &str) -> Option<Ticket> {
        let mut parts = id.rsplitn(3, '-');
        let number = parts.next()?;
        let date = parts.next()?;
        let node = parts.next()?;
        if node.is_empty() || date.len() != 8 || !date.bytes().all(|b| b.is_ascii_digit()) {
            return None;
        }
        let date = NaiveDate::parse_from_str(date, "%Y%m%d").ok()?;
        let mut chars = number.chars();
        let kind = TicketKind::from_prefix(chars.next()?)?;
        let digits = chars.as_str();
        if digits.len() != 4 || !digits.bytes().all(|b| b.is_ascii_digit()) {
            return None;
        }
        let serial: u32 = digits.parse().ok()?;
        if serial == 0 {
            return None;
        }
        Some(Ticket { node: NodeName::new(node), date, kind, serial })
    }
}

impl fmt::Display for Ticket {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.display_number())
    }
}

/// A node's number machine (W1.1): numbers restart at 1 on each new day, per kind. Its state is
/// plain data so that the node can store it durably before handing out a number (O2).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
pub struct TicketDispenser {
    pub node: NodeName,
    /// The day the counters belong to.
    pub day: NaiveDate,
    /// The next intake serial to issue (a stored 0 is read as 1).
    pub next_intake: u32,
    /// The next consultation serial to issue (a stored 0 is read as 1).
    pub next_consultation: u32,
}

impl TicketDispenser {
    /// A fresh dispenser for `node`, starting on `day`.
    pub fn new(node: NodeName, day: NaiveDate) -> Self {
        Self { node, day, next_intake: 1, next_consultation: 1 }
    }

    /// Issues the next number of `kind` for `today`. A new day resets both counters; a day
    /// earlier than the dispenser's (the clock went back) is refused, since restarting an earlier
    /// day could issue a number twice.
    pub fn issue(&mut self, kind: TicketKind, today: NaiveDate) -> Result<Ticket, QueueError> {
        if today < self.day {
            return Err(QueueError::ClockWentBack { current: self.day, given: today });
        }
        if today > self.day {
            self.day = today;
            self.next_intake = 1;
            self.next_consultation = 1;
        }
        let next = match kind {
            TicketKind::Intake => &mut self.next_intake,
            TicketKind::Consultation => &mut self.next_consultation,
        };
        let serial = (*next).max(1);
        if serial > TICKETS_PER_DAY_MAX {
            return Err(QueueError::TicketsExhausted { kind, max: TICKETS_PER_DAY_MAX });
        }
        *next = serial + 1;
        Ok(Ticket { node: self.node.clone(), date: today, kind, serial })
    }
}

/// What the queue needs to know about a business (supplied by the catalog).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
pub struct Business {
    pub key: ItemCode,
    /// W1.2: appointments are offered only for high-volume areas flagged here.
    pub eligible: bool,
    /// W1.3: the business's average daily case count.
    pub average_daily_volume: u32,
}

impl Business {
    /// W1.3: the day's appointment cap, 0 when the business takes no appointments.
    pub fn daily_cap(&self, share: QuotaShare) -> u32 {
        if self.eligible { share.cap(self.average_daily_volume) } else { 0 }
    }
}

/// W1.3: the appointment share of the average daily case count, in per-mille.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
pub struct QuotaShare {
    /// 0..=[`QUOTA_SHARE_MAX_PER_MILLE`]; a larger stored value is read as the maximum.
    pub per_mille: u16,
}

impl Default for QuotaShare {
    fn default() -> Self {
        Self { per_mille: QUOTA_SHARE_DEFAULT_PER_MILLE }
    }
}

impl QuotaShare {
    /// A configured share; more than [`QUOTA_SHARE_MAX_PER_MILLE`] is refused.
    pub fn new(per_mille: u16) -> Result<Self, QueueError> {
        if per_mille > QUOTA_SHARE_MAX_PER_MILLE {
            return Err(QueueError::ShareTooLarge { per_mille, max: QUOTA_SHARE_MAX_PER_MILLE });
        }
        Ok(Self { per_mille })
    }

    /// `floor(share × average_daily_volume)`.
    pub fn cap(self, average_daily_volume: u32) -> u32 {
        let per_mille = u64::from(self.per_mille.min(QUOTA_SHARE_MAX_PER_MILLE));
        let cap = u64::from(average_daily_volume) * per_mille / 1_000;
        // per_mille <= 1000, so cap <= average_daily_volume <= u32::MAX.
        u32::try_from(cap).unwrap_or(u32::MAX)
    }
}

/// A request for an appointment (W1.2).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
pub struct AppointmentRequest {
    pub business: ItemCode,
    pub date: NaiveDate,
    pub slot: NaiveTime,
    /// The applicant's ID number; for an organisation, its code certificate (unified social
    /// credit code).
    pub applicant_id: String,
    /// The agent's (经办人) ID number: required for an organisation.
    pub agent_id: Option<String>,
    pub organisation: bool,
}

impl AppointmentRequest {
    /// W1.2: the IDs are present and the business takes appointments. The numbers themselves are
    /// checked by the `ids` module.
    pub fn validate(&self, business: &Business) -> Result<(), QueueError> {
        if self.business != business.key {
            return Err(QueueError::BusinessMismatch {
                expected: business.key.clone(),
                got: self.business.clone(),
            });
        }
        if !business.eligible {
            return Err(QueueError::NotEligible { business: business.key.clone() });
        }
        let applicant = self.applicant_id.trim();
        if applicant.is_empty() {
            return Err(if self.organisation {
                QueueError::OrganisationCodeMissing
            } else {
                QueueError::ApplicantIdMissing
            });
        }
        check_id_length(applicant)?;
        match self.agent_id.as_deref().map(str::trim) {
            Some(agent) if !agent.is_empty() => check_id_length(agent)?,
            // An individual comes in person; a blank agent field is as good as none.
            _ if !self.organisation => {}
            _ => return Err(QueueError::AgentIdMissing),
        }
        Ok(())
    }

    /// When the appointment starts.
    pub fn starts_at(&self) -> NaiveDateTime {
        self.date.and_time(self.slot)
    }
}

fn check_id_length(id: &str) -> Result<(), QueueError> {
    if id.chars().count() > APPOINTMENT_ID_CHARS_MAX {
        return Err(QueueError::IdTooLong { max: APPOINTMENT_ID_CHARS_MAX });
    }
    Ok(())
}

/// W1.3, O4: the day's cap split among the nodes that can book, agreed while they are connected.
/// The sum of the shares equals the cap whenever at least one node takes part.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
pub struct QuotaPlan {
    cap: u32,
    shares: BTreeMap<NodeName, u32>,
}

impl QuotaPlan {
    /// Splits `cap` in proportion to the weights by the largest-remainder method. Deterministic:
    /// the order of `nodes` does not matter, a node listed twice has its weights added, ties go to
    /// the node whose name sorts first. If every weight is 0 the cap is split evenly. With no node
    /// at all, nothing is allocated (every node books against a share of 0).
    pub fn split(cap: u32, nodes: &[(NodeName, u32)]) -> QuotaPlan {
        let mut weights: BTreeMap<NodeName, u128> = BTreeMap::new();
        for (node, weight) in nodes {
            *weights.entry(node.clone()).or_insert(0) += u128::from(*weight);
        }
        let mut total: u128 = weights.values().sum();
        if total == 0 {
            for w in weights.values_mut() {
                *w = 1;
            }
            total = weights.values().sum();
        }
        let mut shares = BTreeMap::new();
        if total == 0 {
            return QuotaPlan { cap, shares };
        }
        let cap_wide = u128::from(cap);
        let mut remainders: Vec<(u128, &NodeName)> = Vec::with_capacity(weights.len());
        let mut allocated: u128 = 0;
        for (node, w) in &weights {
            let exact = cap_wide * w;
            let floor = exact / total;
            allocated += floor;
            // floor <= cap because w <= total.
            shares.insert(node.clone(), u32::try_from(floor).unwrap_or(cap));
            remainders.push((exact % total, node));
        }
        // Largest remainder first; equal remainders in node-name order (stable sort).
        remainders.sort_by_key(|r| std::cmp::Reverse(r.0));
        let leftover = cap_wide.saturating_sub(allocated);
        for (_, node) in remainders.iter().take(usize::try_from(leftover).unwrap_or(usize::MAX)) {
            if let Some(share) = shares.get_mut(*node) {
                *share = share.saturating_add(1);
            }
        }
        QuotaPlan { cap, shares }
    }

    /// The day's cap the plan divides.
    pub fn cap(&self) -> u32 {
        self.cap
    }

    /// A node's share (0 for a node not in the plan).
    pub fn share(&self, node: &NodeName) -> u32 {
        self.shares.get(node).copied().unwrap_or(0)
    }

    /// Every node's share, in node-name order.
    pub fn shares(&self) -> &BTreeMap<NodeName, u32> {
        &self.shares
    }

    /// The sum of the shares.
    pub fn allocated(&self) -> u64 {
        self.shares.values().map(|s| u64::from(*s)).sum()
    }

    /// Moves `n` booking rights from one node's share to another's, when both are connected. The
    /// sum never changes. Only the giving node knows how many of its rights are still unused:
    /// the rights themselves move with [`QuotaLedger::give`]; this keeps the plan's record in step
    /// (see also [`QuotaPlan::apply`]).
    pub fn transfer(&mut self, from: &NodeName, to: &NodeName, n: u32) -> Result<(), QueueError> {
        if from == to {
            return Err(QueueError::TransferToSelf);
        }
        let available = self.share(from);
        if n > available {
            return Err(QueueError::TransferExceedsUnused { available, requested: n });
        }
        let receiving = self.share(to).checked_add(n).ok_or(QueueError::QuotaInconsistent)?;
        self.shares.insert(from.clone(), available - n);
        self.shares.insert(to.clone(), receiving);
        Ok(())
    }

    /// Records a transfer made between ledgers.
    pub fn apply(&mut self, transfer: &QuotaTransfer) -> Result<(), QueueError> {
        self.transfer(&transfer.from, &transfer.to, transfer.n)
    }

    /// The ledger a node books against for one business on one day.
    pub fn ledger(&self, node: NodeName, business: ItemCode, date: NaiveDate) -> QuotaLedger {
        let share = self.share(&node);
        QuotaLedger::new(node, business, date, share)
    }
}

/// One booked appointment slot, as replicated for quota checks. It carries no personal data (O5).
#[derive(Debug, Clone, PartialEq, Eq, Hash, Serialize, Deserialize, JsonSchema)]
pub struct Booking {
    /// `{node}-{yyyymmdd}-{business}-B{serial:04}`: unique because the ledger is per node,
    /// business and day and its serial only grows.
    pub id: String,
    pub node: NodeName,
    pub business: ItemCode,
    pub date: NaiveDate,
    pub slot: NaiveTime,
    /// When the booking was made (the booking node's time).
    pub booked_at: NaiveDateTime,
}

/// A node's booking rights for one business on one day (W1.3, O4): it books only against its
/// own share, so nodes that cannot talk never exceed the cap together.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
pub struct QuotaLedger {
    node: NodeName,
    business: ItemCode,
    date: NaiveDate,
    share: u32,
    used: u32,
    transfers_given: u32,
    transfers_received: BTreeSet<(NodeName, u32)>,
}

/// Booking rights given by one node to another (O4). Delivering it twice has no further effect.
#[derive(Debug, Clone, PartialEq, Eq, Hash, Serialize, Deserialize, JsonSchema)]
pub struct QuotaTransfer {
    pub from: NodeName,
    pub to: NodeName,
    pub business: ItemCode,
    pub date: NaiveDate,
    pub n: u32,
    /// 1, 2, … per giving ledger: with `from`, identifies the transfer.
    pub seq: u32,
}

impl QuotaLedger {
    /// A ledger holding `share` rights.
    pub fn new(node: NodeName, business: ItemCode, date: NaiveDate, share: u32) -> Self {
        Self { node, business, date, share, used: 0, transfers_given: 0, transfers_received: BTreeSet::new() }
    }

    pub fn node(&self) -> &NodeName {
        &self.node
    }
    pub fn business(&self) -> &ItemCode {
        &self.business
    }
    pub fn date(&self) -> NaiveDate {
        self.date
    }
    /// Rights currently held (used or not).
    pub fn share(&self) -> u32 {
        self.share
    }
    /// Bookings made.
    pub fn used(&self) -> u32 {
        self.used
    }
    /// Rights still free to book or to give away.
    pub fn unused(&self) -> u32 {
        self.share.saturating_sub(self.used)
    }

    /// Books one appointment (W1.2 checks, then W1.3 against this node's share). `booked_at` is
    /// the node's present time; a slot already past is refused.
    pub fn book(
        &mut self,
        business: &Business,
        request: &AppointmentRequest,
        booked_at: NaiveDateTime,
    ) -> Result<Booking, QueueError> {
        if business.key != self.business {
            return Err(QueueError::BusinessMismatch {
                expected: self.business.clone(),
                got: business.key.clone(),
            });
        }
        request.validate(business)?;
        if request.date != self.date {
            return Err(QueueError::DateMismatch { expected: self.date, got: request.date });
        }
        if request.starts_at() < booked_at {
            return Err(QueueError::SlotInPast { slot: request.starts_at() });
        }
        if self.used >= self.share {
            return Err(QueueError::QuotaExhausted { used: self.used, share: self.share });
        }
        self.used += 1;
        Ok(Booking {
            id: format!("{}-{}-{}-B{:04}", self.node, self.date.format("%Y%m%d"), self.business, self.used),
            node: self.node.clone(),
            business: self.business.clone(),
            date: self.date,
            slot: request.slot,
            booked_at,
        })
    }

    /// Gives `n` unused rights to another node (when connected). The rights leave this ledger at
    /// once; the returned transfer is delivered to the other node's ledger.
    pub fn give(&mut self, to: NodeName, n: u32) -> Result<QuotaTransfer, QueueError> {
        if to == self.node {
            return Err(QueueError::TransferToSelf);
        }
        let available = self.unused();
        if n > available {
            return Err(QueueError::TransferExceedsUnused { available, requested: n });
        }
        let seq = self.transfers_given.checked_add(1).ok_or(QueueError::QuotaInconsistent)?;
        self.share -= n;
        self.transfers_given = seq;
        Ok(QuotaTransfer {
            from: self.node.clone(),
            to,
            business: self.business.clone(),
            date: self.date,
            n,
            seq,
        })
    }

    /// Takes in rights given by another node. Returns `false` if this transfer was already taken
    /// in (a repeated delivery changes nothing).
    pub fn receive(&mut self, transfer: &QuotaTransfer) -> Result<bool, QueueError> {
        if transfer.to != self.node || transfer.business != self.business || transfer.date != self.date {
            return Err(QueueError::TransferMisaddressed);
        }
        let key = (transfer.from.clone(), transfer.seq);
        if self.transfers_received.contains(&key) {
            return Ok(false);
        }
        self.share = self.share.checked_add(transfer.n).ok_or(QueueError::QuotaInconsistent)?;
        self.transfers_received.insert(key);
        Ok(true)
    }
}

/// Why an appointment was cancelled.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
pub enum CancelReason {
    /// W1.4: not taken up within one hour after its time (超时未到).
    NoShow,
    /// The applicant withdrew (申请人取消).
    Applicant,
    /// A supervisor cancelled it, e.g. resolving a quota conflict after a merge (O4).
    Supervisor,
}

impl CancelReason {
    pub fn label_zh(self) -> &'static str {
        match self {
            CancelReason::NoShow => "超过预约时间一小时未办理",
            CancelReason::Applicant => "申请人取消",
            CancelReason::Supervisor => "主管取消",
        }
    }
}

/// Where an appointment stands.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
pub enum AppointmentStatus {
    Booked,
    Arrived { at: NaiveDateTime },
    Cancelled { reason: CancelReason },
}

/// An appointment: the booking plus who comes (kept on the booking node only).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
pub struct Appointment {
    pub booking: Booking,
    pub applicant_id: String,
    pub agent_id: Option<String>,
    pub organisation: bool,
    pub status: AppointmentStatus,
}

impl Appointment {
    /// A booked appointment from the booking and the request it was made for.
    pub fn new(booking: Booking, request: AppointmentRequest) -> Self {
        Self {
            booking,
            applicant_id: request.applicant_id,
            agent_id: request.agent_id,
            organisation: request.organisation,
            status: AppointmentStatus::Booked,
        }
    }

    /// When the appointment starts.
    pub fn starts_at(&self) -> NaiveDateTime {
        self.booking.date.and_time(self.booking.slot)
    }

    /// W1.4: the last moment the appointment may be taken up (start + 60 min, inclusive).
    /// `None` only beyond the end of the calendar, where it never lapses.
    pub fn take_up_until(&self) -> Option<NaiveDateTime> {
        self.starts_at().checked_add_signed(TimeDelta::minutes(APPOINTMENT_GRACE_MINUTES))
    }

    /// W1.4: still booked and `now` is later than one hour after its time.
    pub fn is_expired(&self, now: NaiveDateTime) -> bool {
        self.status == AppointmentStatus::Booked && self.take_up_until().is_some_and(|until| now > until)
    }

    /// W1.4: cancels the appointment if it has lapsed. Returns whether it did.
    pub fn expire(&mut self, now: NaiveDateTime) -> bool {
        if self.is_expired(now) {
            self.status = AppointmentStatus::Cancelled { reason: CancelReason::NoShow };
            true
        } else {
            false
        }
    }

    /// The applicant turns up. Refused once the appointment has lapsed (W1.4) or is no longer
    /// booked; the state is then left unchanged.
    pub fn arrive(&mut self, now: NaiveDateTime) -> Result<(), QueueError> {
        if self.status != AppointmentStatus::Booked {
            return Err(QueueError::AppointmentNotBooked);
        }
        if self.is_expired(now) {
            return Err(QueueError::AppointmentExpired {
                until: self.take_up_until().unwrap_or(NaiveDateTime::MAX),
            });
        }
        self.status = AppointmentStatus::Arrived { at: now };
        Ok(())
    }

    /// Cancels a booked appointment.
    pub fn cancel(&mut self, reason: CancelReason) -> Result<(), QueueError> {
        if self.status != AppointmentStatus::Booked {
            return Err(QueueError::AppointmentNotBooked);
        }
        self.status = AppointmentStatus::Cancelled { reason };
        Ok(())
    }
}

/// After a merge: more bookings for one business on one day than its cap (O4). Data for a
/// supervisor; nothing is cancelled automatically.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
pub struct QuotaConflict {
    pub business: ItemCode,
    pub date: NaiveDate,
    pub cap: u32,
    /// Distinct bookings found.
    pub count: u32,
    /// The bookings beyond the cap, latest last, in the order (booked_at, node, id).
    pub beyond: Vec<Booking>,
}

impl QuotaConflict {
    /// A line for the supervisor's list.
    pub fn describe_zh(&self) -> String {
        format!(
            "业务 {} 在 {} 的预约数 {} 超过上限 {},超出 {} 条,请主管处理",
            self.business,
            self.date,
            self.count,
            self.cap,
            self.beyond.len()
        )
    }
}

/// O4, W1.3: groups the bookings by (business, date) and reports every group above `cap`.
/// Bookings with the same id count once. Output sorted by (business, date).
pub fn quota_conflicts(bookings: &[Booking], cap: u32) -> Vec<QuotaConflict> {
    quota_conflicts_by(bookings, |_, _| cap)
}

/// As [`quota_conflicts`], with a cap per (business, date).
pub fn quota_conflicts_by(
    bookings: &[Booking],
    cap: impl Fn(&ItemCode, NaiveDate) -> u32,
) -> Vec<QuotaConflict> {
    let mut groups: BTreeMap<(&ItemCode, NaiveDate), BTreeMap<&str, &Booking>> = BTreeMap::new();
    for booking in bookings {
        let group = groups.entry((&booking.business, booking.date)).or_default();
        group
            .entry(booking.id.as_str())
            .and_modify(|kept| {
                // Same id twice (should not happen): keep the earliest, deterministically.
                if order_key(booking) < order_key(kept) {
                    *kept = booking;
                }
            })
            .or_insert(booking);
    }
    let mut conflicts = Vec::new();
    for ((business, date), group) in groups {
        let cap = cap(business, date);
        let mut sorted: Vec<&Booking> = group.into_values().collect();
        let count = u32::try_from(sorted.len()).unwrap_or(u32::MAX);
        if count <= cap {
            continue;
        }
        sorted.sort_by(|a, b| order_key(a).cmp(&order_key(b)));
        let beyond = sorted.into_iter().skip(usize::try_from(cap).unwrap_or(usize::MAX)).cloned().collect();
        conflicts.push(QuotaConflict { business: business.clone(), date, cap, count, beyond });
    }
    conflicts
}

fn order_key(b: &Booking) -> (NaiveDateTime, &NodeName, &str, NaiveTime) {
    (b.booked_at, &b.node, b.id.as_str(), b.slot)
}

/// Everything the queue refuses, with a message for the window clerk.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum QueueError {
    #[error("系统日期 {given} 早于当前取号日期 {current},时钟可能被回拨,请联系管理员")]
    ClockWentBack { current: NaiveDate, given: NaiveDate },
    #[error("今日{}已发放至上限 {max} 个", .kind.label_zh())]
    TicketsExhausted { kind: TicketKind, max: u32 },
    #[error("预约须持申请人有效身份证件")]
    ApplicantIdMissing,
    #[error("单位预约须持单位编码证书")]
    OrganisationCodeMissing,
    #[error("单位预约须持经办人有效身份证件")]
    AgentIdMissing,
    #[error("证件号码过长(最多 {max} 个字符)")]
    IdTooLong { max: usize },
    #[error("业务 {business} 不提供预约服务")]
    NotEligible { business: ItemCode },
    #[error("预约业务不符:应为 {expected},实为 {got}")]
    BusinessMismatch { expected: ItemCode, got: ItemCode },
    #[error("预约日期不符:应为 {expected},实为 {got}")]
    DateMismatch { expected: NaiveDate, got: NaiveDate },
    #[error("预约时间 {slot} 已过,请选择其他时间")]
    SlotInPast { slot: NaiveDateTime },
    #[error("本节点当日该业务预约名额已满({used}/{share}),请改约其他日期")]
    QuotaExhausted { used: u32, share: u32 },
    #[error("预约比例 {per_mille}‰ 超过上限 {max}‰")]
    ShareTooLarge { per_mille: u16, max: u16 },
    #[error("可转让的预约名额不足:剩余 {available},申请转出 {requested}")]
    TransferExceedsUnused { available: u32, requested: u32 },
    #[error("不能向本节点转让预约名额")]
    TransferToSelf,
    #[error("该名额转让不属于本节点的这项业务和日期")]
    TransferMisaddressed,
    #[error("预约名额数据不一致,请联系管理员")]
    QuotaInconsistent,
    #[error("预约已超过办理时限({until}),已自动取消,请重新取号或预约")]
    AppointmentExpired { until: NaiveDateTime },
    #[error("该预约已到场办理或已取消")]
    AppointmentNotBooked,
}

impl QueueError {
    /// A stable code for logs, APIs and tests.
    pub fn code(&self) -> &'static str {
        match self {
            QueueError::ClockWentBack { .. } => "queue.clock_went_back",
            QueueError::TicketsExhausted { .. } => "queue.tickets_exhausted",
            QueueError::ApplicantIdMissing => "queue.applicant_id_missing",
            QueueError::OrganisationCodeMissing => "queue.organisation_code_missing",
            QueueError::AgentIdMissing => "queue.agent_id_missing",
            QueueError::IdTooLong { .. } => "queue.id_too_long",
            QueueError::NotEligible { .. } => "queue.not_eligible",
            QueueError::BusinessMismatch { .. } => "queue.business_mismatch",
            QueueError::DateMismatch { .. } => "queue.date_mismatch",
            QueueError::SlotInPast { .. } => "queue.slot_in_past",
            QueueError::QuotaExhausted { .. } => "queue.quota_exhausted",
            QueueError::ShareTooLarge { .. } => "queue.share_too_large",
            QueueError::TransferExceedsUnused { .. } => "queue.transfer_exceeds_unused",
            QueueError::TransferToSelf => "queue.transfer_to_self",
            QueueError::TransferMisaddressed => "queue.transfer_misaddressed",
            QueueError::QuotaInconsistent => "queue.quota_inconsistent",
            QueueError::AppointmentExpired { .. } => "queue.appointment_expired",
            QueueError::AppointmentNotBooked => "queue.appointment_not_booked",
        }
    }

    /// The rule the refusal enforces, if any.
    pub fn rule(&self) -> Option<&'static str> {
        match self {
            QueueError::ClockWentBack { .. } | QueueError::TicketsExhausted { .. } => Some("W1.1"),
            QueueError::ApplicantIdMissing
            | QueueError::OrganisationCodeMissing
            | QueueError::AgentIdMissing
            | QueueError::IdTooLong { .. }
            | QueueError::NotEligible { .. } => Some("W1.2"),
            QueueError::QuotaExhausted { .. } | QueueError::ShareTooLarge { .. } => Some("W1.3"),
            QueueError::TransferExceedsUnused { .. }
            | QueueError::TransferToSelf
            | QueueError::TransferMisaddressed
            | QueueError::QuotaInconsistent => Some("O4"),
            QueueError::AppointmentExpired { .. } | QueueError::AppointmentNotBooked => Some("W1.4"),
            QueueError::BusinessMismatch { .. }
            | QueueError::DateMismatch { .. }
            | QueueError::SlotInPast { .. } => None,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    fn d(s: &str) -> NaiveDate {
        NaiveDate::parse_from_str(s, "%Y-%m-%d").expect("test date")
    }
    fn t(s: &str) -> NaiveTime {
        NaiveTime::parse_from_str(s, "%H:%M:%S").expect("test time")
    }
    fn dt(s: &str) -> NaiveDateTime {
        NaiveDateTime::parse_from_str(s, "%Y-%m-%d %H:%M:%S").expect("test datetime")
    }
    fn node(s: &str) -> NodeName {
        NodeName::new(s)
    }
    fn housing() -> Business {
        Business { key: ItemCode::new("HF-001"), eligible: true, average_daily_volume: 200 }
    }
    fn person(date: NaiveDate, slot: &str) -> AppointmentRequest {
        AppointmentRequest {
            business: ItemCode::new("HF-001"),
            date,
            slot: t(slot),
            applicant_id: "11010519491231002X".into(),
            agent_id: None,
            organisation: false,
        }
    }

    #[test]
    fn ticket_numbers_and_ids() {
        // rule W1.1: intake numbers A…, consultation numbers C…, node-prefixed ids.
        let mut dispenser = TicketDispenser::new(node("town-03"), d("2026-03-02"));
        let a1 = dispenser.issue(TicketKind::Intake, d("2026-03-02")).expect("issued");
        let a2 = dispenser.issue(TicketKind::Intake, d("2026-03-02")).expect("issued");
        let c1 = dispenser.issue(TicketKind::Consultation, d("2026-03-02")).expect("issued");
        assert_eq!(a1.display_number(), "A0001");
        assert_eq!(a2.display_number(), "A0002");
        assert_eq!(c1.display_number(), "C0001");
        assert_eq!(a2.to_string(), "A0002");
        assert_eq!(a2.id(), "town-03-20260302-A0002");
        assert_eq!(c1.id(), "town-03-20260302-C0001");
        assert_eq!(Ticket::parse_id(&a2.id()), Some(a2.clone()));
        assert_eq!(Ticket::parse_id(&c1.id()), Some(c1));
        for bad in [
            "",
            "A0001",
            "-20260302-A0001",
            "n-2026030-A0001",
            "n-20260230-A0001",
            "n-20260302-B0001",
            "n-20260302-A0000",
            "n-20260302-A001",
            "n-20260302-A+001",
            "n-20260302-A00001",
            "n-20260302-Ä0001",
        ] {
            assert_eq!(Ticket::parse_id(bad), None, "{bad}");
        }
    }

    #[test]
    fn numbers_reset_each_day_and_refuse_a_clock_going_back() {
        // rule W1.1: unique per node per day; restart on a new day; the clock going back is refused.
        let mut dispenser = TicketDispenser::new(node("hall"), d("2026-03-02"));
        for _ in 0..5 {
            dispenser.issue(TicketKind::Intake, d("2026-03-02")).expect("issued");
        }
        let next_day = dispenser.issue(TicketKind::Intake, d("2026-03-03")).expect("issued");
        assert_eq!(next_day.serial, 1);
        assert_eq!(next_day.date, d("2026-03-03"));
        let err = dispenser.issue(TicketKind::Intake, d("2026-03-02")).expect_err("clock went back");
        assert_eq!(err.code(), "queue.clock_went_back");
        assert_eq!(err.rule(), Some("W1.1"));
        // The refusal changed nothing.
        let after = dispenser.issue(TicketKind::Intake, d("2026-03-03")).expect("issued");
        assert_eq!(after.serial, 2);
    }

    #[test]
    fn numbers_stop_at_the_daily_maximum() {
        // rule W1.1: at most 9 999 numbers per kind per day; the other kind goes on.
        let mut dispenser = TicketDispenser {
            node: node("hall"),
            day: d("2026-03-02"),
            next_intake: TICKETS_PER_DAY_MAX,
            next_consultation: 0,
        };
        let last = dispenser.issue(TicketKind::Intake, d("2026-03-02")).expect("issued");
        assert_eq!(last.display_number(), "A9999");
        let err = dispenser.issue(TicketKind::Intake, d("2026-03-02")).expect_err("exhausted");
        assert_eq!(err.code(), "queue.tickets_exhausted");
        assert!(err.to_string().contains("受理业务号"));
        let c = dispenser.issue(TicketKind::Consultation, d("2026-03-02")).expect("issued");
        assert_eq!(c.display_number(), "C0001");
        // A new day starts over.
        let next = dispenser.issue(TicketKind::Intake, d("2026-03-03")).expect("issued");
        assert_eq!(next.serial, 1);
    }

    #[test]
    fn two_nodes_never_issue_the_same_id() {
        // rule W1.1, rule O1: nodes cut off from each other still issue distinct ids.
        let mut a = TicketDispenser::new(node("town-a"), d("2026-03-02"));
        let mut b = TicketDispenser::new(node("town-b"), d("2026-03-02"));
        let mut ids = BTreeSet::new();
        for _ in 0..50 {
            for kind in [TicketKind::Intake, TicketKind::Consultation] {
                assert!(ids.insert(a.issue(kind, d("2026-03-02")).expect("issued").id()));
                assert!(ids.insert(b.issue(kind, d("2026-03-02")).expect("issued").id()));
            }
        }
    }

    #[test]
    fn appointment_needs_ids() {
        // rule W1.2: an ID for a person; the code certificate and the agent's ID for an organisation.
        let business = housing();
        let ok = person(d("2026-03-02"), "09:00:00");
        assert_eq!(ok.validate(&business), Ok(()));

        let mut no_id = ok.clone();
        no_id.applicant_id = "  ".into();
        let err = no_id.validate(&business).expect_err("no id");
        assert_eq!(err.code(), "queue.applicant_id_missing");
        assert_eq!(err.rule(), Some("W1.2"));

        let mut org = ok.clone();
        org.organisation = true;
        org.applicant_id = "91350100M000100Y43".into();
        let err = org.validate(&business).expect_err("no agent");
        assert_eq!(err.code(), "queue.agent_id_missing");
        assert_eq!(err.to_string(), "单位预约须持经办人有效身份证件");
        org.agent_id = Some(" ".into());
        assert_eq!(org.validate(&business).map_err(|e| e.code()), Err("queue.agent_id_missing"));
        org.agent_id = Some("440524188001010014".into());
        assert_eq!(org.validate(&business), Ok(()));
        org.applicant_id = String::new();
        assert_eq!(org.validate(&business).map_err(|e| e.code()), Err("queue.organisation_code_missing"));

        let mut long = ok.clone();
        long.applicant_id = "1".repeat(APPOINTMENT_ID_CHARS_MAX + 1);
        assert_eq!(long.validate(&business).map_err(|e| e.code()), Err("queue.id_too_long"));
    }

    #[test]
    fn appointments_only_for_eligible_businesses() {
        // rule W1.2: only businesses flagged eligible (high-volume areas) take appointments.
        let mut business = housing();
        business.eligible = false;
        let req = person(d("2026-03-02"), "09:00:00");
        let err = req.validate(&business).expect_err("not eligible");
        assert_eq!(err.code(), "queue.not_eligible");
        assert_eq!(business.daily_cap(QuotaShare::default()), 0);
        let mut ledger = QuotaLedger::new(node("hall"), business.key.clone(), d("2026-03-02"), 5);
        assert_eq!(
            ledger.book(&business, &req, dt("2026-03-01 10:00:00")).map_err(|e| e.code()),
            Err("queue.not_eligible")
        );
        assert_eq!(ledger.used(), 0);
    }

    #[test]
    fn daily_cap_is_ten_percent_by_default() {
        // rule W1.3: cap = floor(10 % × average daily count); the share may be raised.
        let share = QuotaShare::default();
        assert_eq!(share.per_mille, 100);
        assert_eq!(share.cap(200), 20);
        assert_eq!(share.cap(199), 19);
        assert_eq!(share.cap(9), 0);
        assert_eq!(share.cap(u32::MAX), u32::MAX / 10);
        let raised = QuotaShare::new(150).expect("valid");
        assert_eq!(raised.cap(199), 29);
        assert_eq!(QuotaShare::new(1_000).expect("valid").cap(u32::MAX), u32::MAX);
        let err = QuotaShare::new(1_001).expect_err("too large");
        assert_eq!(err.code(), "queue.share_too_large");
        assert_eq!(err.rule(), Some("W1.3"));
        // A hand-edited stored value is read as the maximum.
        assert_eq!(QuotaShare { per_mille: u16::MAX }.cap(50), 50);
        assert_eq!(housing().daily_cap(share), 20);
    }

    #[test]
    fn split_is_largest_remainder_and_deterministic() {
        // rule W1.3, rule O4: the cap is split in advance; shares sum to the cap exactly.
        let plan = QuotaPlan::split(10, &[(node("town-b"), 1), (node("hall"), 1), (node("town-a"), 1)]);
        // 10/3 = 3 each, one left over: equal remainders go to the first name ("hall").
        assert_eq!(plan.share(&node("hall")), 4);
        assert_eq!(plan.share(&node("town-a")), 3);
        assert_eq!(plan.share(&node("town-b")), 3);
        assert_eq!(plan.allocated(), 10);
        let reordered = QuotaPlan::split(10, &[(node("town-a"), 1), (node("town-b"), 1), (node("hall"), 1)]);
        assert_eq!(plan, reordered);

        // 20 over weights 5:3:2 → 10, 6, 4 exactly.
        let p = QuotaPlan::split(20, &[(node("a"), 5), (node("b"), 3), (node("c"), 2)]);
        assert_eq!(p.shares().values().copied().collect::<Vec<_>>(), vec![10, 6, 4]);
        // 7 over 5:3:2 → 3.5, 2.1, 1.4 → floors 3, 2, 1; leftover 1 to the largest remainder (a).
        let p = QuotaPlan::split(7, &[(node("a"), 5), (node("b"), 3), (node("c"), 2)]);
        assert_eq!(p.shares().values().copied().collect::<Vec<_>>(), vec![4, 2, 1]);
        // A duplicate name adds up; zero weights everywhere split evenly; nobody → nothing.
        let p = QuotaPlan::split(9, &[(node("a"), 1), (node("b"), 1), (node("a"), 1)]);
        assert_eq!((p.share(&node("a")), p.share(&node("b"))), (6, 3));
        let p = QuotaPlan::split(5, &[(node("a"), 0), (node("b"), 0)]);
        assert_eq!((p.share(&node("a")), p.share(&node("b"))), (3, 2));
        let p = QuotaPlan::split(5, &[]);
        assert_eq!(p.allocated(), 0);
        assert_eq!(p.share(&node("a")), 0);
        let p = QuotaPlan::split(u32::MAX, &[(node("a"), u32::MAX), (node("b"), u32::MAX), (node("c"), 1)]);
        assert_eq!(p.allocated(), u64::from(u32::MAX));
    }

    #[test]
    fn a_node_books_only_against_its_share() {
        // rule W1.3, rule O4: booking stops at the node's own share, with a message for the clerk.
        let business = housing();
        let day = d("2026-03-02");
        let plan = QuotaPlan::split(
            business.daily_cap(QuotaShare::default()),
            &[(node("hall"), 3), (node("town-a"), 1)],
        );
        assert_eq!(plan.share(&node("town-a")), 5);
        let mut ledger = plan.ledger(node("town-a"), business.key.clone(), day);
        let mut ids = BTreeSet::new();
        for _ in 0..5 {
            let b = ledger
                .book(&business, &person(day, "09:00:00"), dt("2026-03-01 10:00:00"))
                .expect("within share");
            assert!(ids.insert(b.id));
        }
        assert!(ids.contains("town-a-20260302-HF-001-B0001"));
        let err = ledger
            .book(&business, &person(day, "09:00:00"), dt("2026-03-01 10:00:00"))
            .expect_err("share used up");
        assert_eq!(err.code(), "queue.quota_exhausted");
        assert_eq!(err.rule(), Some("W1.3"));
        assert_eq!(err.to_string(), "本节点当日该业务预约名额已满(5/5),请改约其他日期");
        assert_eq!(ledger.used(), 5);
    }

    #[test]
    fn booking_checks_business_date_and_time() {
        let business = housing();
        let day = d("2026-03-02");
        let mut ledger = QuotaLedger::new(node("hall"), business.key.clone(), day, 5);
        let other_day = person(d("2026-03-03"), "09:00:00");
        assert_eq!(
            ledger.book(&business, &other_day, dt("2026-03-01 10:00:00")).map_err(|e| e.code()),
            Err("queue.date_mismatch")
        );
        let past = person(day, "09:00:00");
        assert_eq!(
            ledger.book(&business, &past, dt("2026-03-02 09:00:01")).map_err(|e| e.code()),
            Err("queue.slot_in_past")
        );
        let mut other = housing();
        other.key = ItemCode::new("RE-002");
        assert_eq!(
            ledger.book(&other, &past, dt("2026-03-01 09:00:00")).map_err(|e| e.code()),
            Err("queue.business_mismatch")
        );
        assert_eq!(ledger.used(), 0);
    }

    #[test]
    fn transfers_move_unused_rights_and_never_change_the_sum() {
        // rule O4: rights move between nodes only when connected, the sum unchanged.
        let business = housing();
        let day = d("2026-03-02");
        let mut plan = QuotaPlan::split(10, &[(node("hall"), 1), (node("town-a"), 1)]);
        let mut hall = plan.ledger(node("hall"), business.key.clone(), day);
        let mut town = plan.ledger(node("town-a"), business.key.clone(), day);
        for _ in 0..3 {
            hall.book(&business, &person(day, "10:00:00"), dt("2026-03-01 08:00:00")).expect("booked");
        }
        // 5 held, 3 used: only 2 can be given.
        let err = hall.give(node("town-a"), 3).expect_err("too many");
        assert_eq!(err.code(), "queue.transfer_exceeds_unused");
        assert_eq!(err.rule(), Some("O4"));
        assert_eq!(hall.give(node("hall"), 1).map_err(|e| e.code()), Err("queue.transfer_to_self"));
        let transfer = hall.give(node("town-a"), 2).expect("unused rights");
        assert_eq!(hall.share(), 3);
        assert_eq!(hall.unused(), 0);
        assert_eq!(town.receive(&transfer), Ok(true));
        assert_eq!(town.receive(&transfer), Ok(false), "a repeated delivery changes nothing");
        assert_eq!(town.share(), 7);
        plan.apply(&transfer).expect("recorded");
        assert_eq!(plan.share(&node("hall")), 3);
        assert_eq!(plan.share(&node("town-a")), 7);
        assert_eq!(plan.allocated(), 10);

        let mut elsewhere = plan.ledger(node("town-b"), business.key.clone(), day);
        assert_eq!(elsewhere.receive(&transfer).map_err(|e| e.code()), Err("queue.transfer_misaddressed"));
        assert_eq!(
            plan.transfer(&node("hall"), &node("town-a"), 4).map_err(|e| e.code()),
            Err("queue.transfer_exceeds_unused")
        );
        assert_eq!(
            plan.transfer(&node("hall"), &node("hall"), 1).map_err(|e| e.code()),
            Err("queue.transfer_to_self")
        );
        plan.transfer(&node("town-a"), &node("town-b"), 7).expect("moved");
        assert_eq!(plan.allocated(), 10);
        assert_eq!(plan.share(&node("town-b")), 7);
    }

    fn appointment(slot: &str) -> Appointment {
        let business = housing();
        let day = d("2026-03-02");
        let mut ledger = QuotaLedger::new(node("hall"), business.key.clone(), day, 1);
        let req = person(day, slot);
        let booking = ledger.book(&business, &req, dt("2026-03-01 08:00:00")).expect("booked");
        Appointment::new(booking, req)
    }

    #[test]
    fn no_show_cancelled_after_one_hour() {
        // rule W1.4: exactly one hour after the slot the appointment still stands; one second later
        // it is cancelled.
        let mut a = appointment("09:30:00");
        assert_eq!(a.take_up_until(), Some(dt("2026-03-02 10:30:00")));
        assert!(!a.is_expired(dt("2026-03-02 09:00:00")));
        assert!(!a.is_expired(dt("2026-03-02 10:30:00")));
        assert!(!a.expire(dt("2026-03-02 10:30:00")));
        assert_eq!(a.status, AppointmentStatus::Booked);
        assert!(a.is_expired(dt("2026-03-02 10:30:01")));
        assert!(a.expire(dt("2026-03-02 10:30:01")));
        assert_eq!(a.status, AppointmentStatus::Cancelled { reason: CancelReason::NoShow });
        // Once cancelled it is no longer "expired" and expiring again changes nothing.
        assert!(!a.is_expired(dt("2026-03-02 12:00:00")));
        assert!(!a.expire(dt("2026-03-02 12:00:00")));
        assert_eq!(
            a.arrive(dt("2026-03-02 12:00:00")).map_err(|e| e.code()),
            Err("queue.appointment_not_booked")
        );
    }

    #[test]
    fn arrival_within_the_hour() {
        // rule W1.4: arriving at +60 min is in time; at +60 min 1 s it is refused.
        let mut on_time = appointment("09:30:00");
        on_time.arrive(dt("2026-03-02 10:30:00")).expect("in time");
        assert_eq!(on_time.status, AppointmentStatus::Arrived { at: dt("2026-03-02 10:30:00") });
        assert!(!on_time.expire(dt("2026-03-02 23:00:00")), "arrived: never expires");

        let mut late = appointment("09:30:00");
        let err = late.arrive(dt("2026-03-02 10:30:01")).expect_err("late");
        assert_eq!(err.code(), "queue.appointment_expired");
        assert_eq!(err.rule(), Some("W1.4"));
        assert_eq!(late.status, AppointmentStatus::Booked, "refusal changes nothing");

        let mut withdrawn = appointment("09:30:00");
        withdrawn.cancel(CancelReason::Applicant).expect("cancelled");
        assert_eq!(
            withdrawn.cancel(CancelReason::Supervisor).map_err(|e| e.code()),
            Err("queue.appointment_not_booked")
        );
    }

    #[test]
    fn appointment_at_the_end_of_time_does_not_panic() {
        // rule W1.4: a slot whose grace period runs past the calendar never lapses.
        let mut a = appointment("09:30:00");
        a.booking.date = NaiveDate::MAX;
        a.booking.slot = t("23:30:00");
        assert_eq!(a.take_up_until(), None);
        assert!(!a.is_expired(NaiveDateTime::MAX));
    }

    fn booking(node_name: &str, business: &str, date: &str, at: &str, n: u32) -> Booking {
        Booking {
            id: format!("{node_name}-{business}-{n}"),
            node: node(node_name),
            business: ItemCode::new(business),
            date: d(date),
            slot: t("09:00:00"),
            booked_at: dt(at),
        }
    }

    #[test]
    fn conflicts_after_merge_list_the_excess() {
        // rule O4, rule W1.3: after a merge, bookings over the cap are reported for a supervisor.
        let bookings = vec![
            booking("town-b", "HF", "2026-03-02", "2026-03-01 09:00:00", 1),
            booking("town-a", "HF", "2026-03-02", "2026-03-01 09:00:00", 1),
            booking("hall", "HF", "2026-03-02", "2026-03-01 08:00:00", 1),
            booking("hall", "HF", "2026-03-02", "2026-03-01 10:00:00", 2),
            // Merged twice: counts once.
            booking("hall", "HF", "2026-03-02", "2026-03-01 10:00:00", 2),
            // Another day and another business: within the cap.
            booking("hall", "HF", "2026-03-03", "2026-03-01 10:00:00", 3),
            booking("hall", "RE", "2026-03-02", "2026-03-01 10:00:00", 4),
        ];
        let conflicts = quota_conflicts(&bookings, 2);
        assert_eq!(conflicts.len(), 1);
        let c = &conflicts[0];
        assert_eq!((c.business.as_str(), c.date, c.cap, c.count), ("HF", d("2026-03-02"), 2, 4));
        let beyond: Vec<&str> = c.beyond.iter().map(|b| b.id.as_str()).collect();
        // Order: booked_at, then node: hall 08:00, town-a 09:00 | town-b 09:00, hall 10:00.
        assert_eq!(beyond, vec!["town-b-HF-1", "hall-HF-2"]);
        assert!(c.describe_zh().contains("超过上限 2"));

        let mut reversed = bookings.clone();
        reversed.reverse();
        assert_eq!(quota_conflicts(&reversed, 2), conflicts, "order of input does not matter");
        assert!(quota_conflicts(&bookings, 4).is_empty());
        assert_eq!(quota_conflicts(&bookings, 0).len(), 3);
        let by = quota_conflicts_by(&bookings, |b, _| if b.as_str() == "HF" { 10 } else { 0 });
        assert_eq!(by.len(), 1);
        assert_eq!(by[0].business.as_str(), "RE");
    }

    #[test]
    fn serde_round_trip() {
        let mut ledger = QuotaLedger::new(node("hall"), ItemCode::new("HF-001"), d("2026-03-02"), 4);
        let t = ledger.give(node("town"), 1).expect("given");
        let mut other = QuotaLedger::new(node("town"), ItemCode::new("HF-001"), d("2026-03-02"), 0);
        other.receive(&t).expect("received");
        let json = serde_json::to_string(&other).expect("serialise");
        let back: QuotaLedger = serde_json::from_str(&json).expect("deserialise");
        assert_eq!(back, other);
        let a = appointment("09:00:00");
        let json = serde_json::to_string(&a).expect("serialise");
        assert_eq!(serde_json::from_str::<Appointment>(&json).expect("deserialise"), a);
        let plan = QuotaPlan::split(7, &[(node("a"), 2), (node("b"), 1)]);
        let json = serde_json::to_string(&plan).expect("serialise");
        assert_eq!(serde_json::from_str::<QuotaPlan>(&json).expect("deserialise"), plan);
    }

    #[derive(Debug, Clone)]
    enum Op {
        Book(usize),
        Give { from: usize, to: usize, n: u32 },
        Deliver(usize),
    }

    fn op(nodes: usize) -> impl Strategy<Value = Op> {
        prop_oneof![
            6 => (0..nodes).prop_map(Op::Book),
            1 => (0..nodes, 0..nodes, 0u32..6).prop_map(|(from, to, n)| Op::Give { from, to, n }),
            1 => (0usize..64).prop_map(Op::Deliver),
        ]
    }

    fn scenario() -> impl Strategy<Value = (u32, Vec<u32>, Vec<Op>)> {
        (1usize..7).prop_flat_map(|n| {
            (0u32..120, proptest::collection::vec(0u32..50, n), proptest::collection::vec(op(n), 0..400))
        })
    }

    proptest! {
        #[test]
        fn partitioned_nodes_never_exceed_the_cap((cap, weights, ops) in scenario()) {
            // rule W1.3, rule O4: nodes that book with no communication, plus transfers delivered late,
            // twice or never, never book more than the cap together.
            let business = housing();
            let day = d("2026-03-02");
            let names: Vec<NodeName> = (0..weights.len()).map(|i| node(&format!("n{i}"))).collect();
            let pairs: Vec<(NodeName, u32)> =
                names.iter().cloned().zip(weights.iter().copied()).collect();
            let plan = QuotaPlan::split(cap, &pairs);
            prop_assert_eq!(plan.allocated(), u64::from(cap));
            let mut ledgers: Vec<QuotaLedger> = names
                .iter()
                .map(|n| plan.ledger(n.clone(), business.key.clone(), day))
                .collect();
            let mut in_flight: Vec<QuotaTransfer> = Vec::new();
            let mut bookings: Vec<Booking> = Vec::new();
            for op in ops {
                match op {
                    Op::Book(i) => {
                        let before = ledgers[i].used();
                        match ledgers[i].book(&business, &person(day, "09:00:00"), dt("2026-03-01 08:00:00")) {
                            Ok(b) => bookings.push(b),
                            Err(e) => {
                                prop_assert_eq!(e.code(), "queue.quota_exhausted");
                                prop_assert_eq!(ledgers[i].used(), before);
                            }
                        }
                    }
                    Op::Give { from, to, n } => {
                        let to_name = names[to].clone();
                        if let Ok(t) = ledgers[from].give(to_name, n) {
                            in_flight.push(t);
                        }
                    }
                    Op::Deliver(k) => {
                        if !in_flight.is_empty() {
                            let t = in_flight[k % in_flight.len()].clone();
                            let to = names.iter().position(|n| *n == t.to).expect("known node");
                            ledgers[to].receive(&t).expect("addressed to it");
                        }
                    }
                }
                let used: u64 = ledgers.iter().map(|l| u64::from(l.used())).sum();
                let held: u64 = ledgers.iter().map(|l| u64::from(l.share())).sum();
                prop_assert!(used <= u64::from(cap));
                prop_assert!(held <= u64::from(cap));
            }
            prop_assert!(quota_conflicts(&bookings, cap).is_empty());
            let ids: BTreeSet<&str> = bookings.iter().map(|b| b.id.as_str()).collect();
            prop_assert_eq!(ids.len(), bookings.len());
        }

        #[test]
        fn split_sums_to_cap_and_ignores_order(
            cap in any::<u32>(),
            weights in proptest::collection::vec(any::<u32>(), 1..12),
            rotate in 0usize..12,
        ) {
            // rule W1.3, rule O4: the split is exact and deterministic.
            let pairs: Vec<(NodeName, u32)> = weights
                .iter()
                .enumerate()
                .map(|(i, w)| (node(&format!("n{i:02}")), *w))
                .collect();
            let plan = QuotaPlan::split(cap, &pairs);
            prop_assert_eq!(plan.allocated(), u64::from(cap));
            let mut rotated = pairs.clone();
            let len = rotated.len();
            rotated.rotate_left(rotate % len);
            prop_assert_eq!(&QuotaPlan::split(cap, &rotated), &plan);
            // Each share is within one of its exact proportion.
            let total: u128 = weights.iter().map(|w| u128::from(*w)).sum();
            for (name, w) in &pairs {
                if let Some(exact_floor) = (u128::from(cap) * u128::from(*w)).checked_div(total) {
                    let share = u128::from(plan.share(name));
                    prop_assert!(share == exact_floor || share == exact_floor + 1);
                }
            }
        }

        #[test]
        fn every_node_can_fill_its_share_alone(cap in 0u32..200, weights in proptest::collection::vec(0u32..10, 1..6)) {
            // rule W1.3, rule O1: a node cut off from the rest still books its whole share.
            let business = housing();
            let day = d("2026-03-02");
            let pairs: Vec<(NodeName, u32)> =
                weights.iter().enumerate().map(|(i, w)| (node(&format!("n{i}")), *w)).collect();
            let plan = QuotaPlan::split(cap, &pairs);
            let mut total = 0u64;
            for (name, _) in &pairs {
                let mut ledger = plan.ledger(name.clone(), business.key.clone(), day);
                while ledger.book(&business, &person(day, "09:00:00"), dt("2026-03-01 08:00:00")).is_ok() {}
                prop_assert_eq!(ledger.used(), plan.share(name));
                total += u64::from(ledger.used());
            }
            prop_assert_eq!(total, u64::from(cap));
        }

        #[test]
        fn parse_id_never_panics(s in ".{0,40}") {
            // rule W1.1
            let _ = Ticket::parse_id(&s);
        }

        #[test]
        fn ticket_ids_round_trip(node_name in "[a-z0-9-]{1,20}", days in 0i64..2000, serial in 1u32..=9999, c in any::<bool>()) {
            // rule W1.1
            let ticket = Ticket {
                node: node(&node_name),
                date: d("2025-01-01") + TimeDelta::days(days),
                kind: if c { TicketKind::Consultation } else { TicketKind::Intake },
                serial,
            };
            prop_assert_eq!(Ticket::parse_id(&ticket.id()), Some(ticket));
        }
    }
}
