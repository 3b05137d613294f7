//! Hybrid logical clock timestamps (HLC).
//!
//! Every event carries an [`Hlc`]: physical milliseconds, a logical counter, and the node. Events
//! are ordered by HLC, never by the raw wall clock, so a node whose clock runs fast or slow cannot
//! reorder what it has seen: a stamp is always greater than every stamp the node issued or
//! observed before. Business times (deadlines, "received in the morning") read the HLC's physical
//! part in China Standard Time (UTC+8, no daylight saving).

use chrono::{DateTime, NaiveDateTime};
use schemars::JsonSchema;
use serde::{Deserialize, Serialize};

use crate::codes::NodeName;

/// China Standard Time's offset from UTC in milliseconds.
pub const CST_OFFSET_MS: i64 = 8 * 3_600_000;
/// A remote stamp further ahead of our physical clock than this is not adopted (its event is
/// kept; our clock just does not jump): one misconfigured node must not drag every clock forward.
pub const HLC_DRIFT_MAX_MS: i64 = 3 * 3_600_000;

/// One timestamp. Ordered by (physical ms, counter, node): a total order over all events.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize, JsonSchema)]
pub struct Hlc {
    pub wall_ms: i64,
    pub counter: u32,
    pub node: NodeName,
}

impl Hlc {
    /// The stamp's physical time as China Standard Time wall-clock time.
    pub fn local(&self) -> NaiveDateTime {
        local_from_ms(self.wall_ms)
    }
}

/// Milliseconds since the Unix epoch as China Standard Time (saturating at chrono's range).
pub fn local_from_ms(ms: i64) -> NaiveDateTime {
    DateTime::from_timestamp_millis(ms.saturating_add(CST_OFFSET_MS))
        .map_or(NaiveDateTime::MAX, |t| t.naive_utc())
}

/// China Standard Time wall-clock time as milliseconds since the Unix epoch.
pub fn ms_from_local(local: NaiveDateTime) -> i64 {
    local.and_utc().timestamp_millis() - CST_OFFSET_MS
}

impl std::fmt::Display for Hlc {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "{}.{:04}@{}", self.wall_ms, self.counter, self.node)
    }
}

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum HlcError {
    #[error("remote clock of {node} is {ahead_ms} ms ahead of ours: not adopted")]
    RemoteTooFarAhead { node: NodeName, ahead_ms: i64 },
    #[error("logical counter exhausted within one millisecond")]
    CounterExhausted,
}

/// A node's clock state. Pure: the physical time is passed in.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
pub struct HlcClock {
    node: NodeName,
    wall_ms: i64,
    counter: u32,
}

impl HlcClock {
    pub fn new(node: NodeName) -> Self {
        Self { node, wall_ms: i64::MIN, counter: 0 }
    }

    /// Restores a clock that must issue stamps after `last` (e.g. the node's newest stored event).
    pub fn resume(node: NodeName, last: &Hlc) -> Self {
        Self { node, wall_ms: last.wall_ms, counter: last.counter }
    }

    /// A new stamp for a local event, strictly greater than every stamp issued or observed.
    pub fn tick(&mut self, physical_ms: i64) -> Result<Hlc, HlcError> {
        if physical_ms > self.wall_ms {
            self.wall_ms = physical_ms;
            self.counter = 0;
        } else {
            self.counter = self.counter.checked_add(1).ok_or(HlcError::CounterExhausted)?;
        }
        Ok(Hlc { wall_ms: self.wall_ms, counter: self.counter, node: self.node.clone() })
    }

    /// Takes a remote stamp into account so that later local stamps sort after it. A stamp more
    /// than [`HLC_DRIFT_MAX_MS`] ahead of our physical clock is refused (the caller keeps the
    /// event, and reports the drift).
    pub fn observe(&mut self, remote: &Hlc, physical_ms: i64) -> Result<(), HlcError> {
        let ahead_ms = remote.wall_ms.saturating_sub(physical_ms);
        if ahead_ms > HLC_DRIFT_MAX_MS {
            return Err(HlcError::RemoteTooFarAhead { node: remote.node.clone(), ahead_ms });
        }
        if (remote.wall_ms, remote.counter) > (self.wall_ms, self.counter) {
            self.wall_ms = remote.wall_ms;
            self.counter = remote.counter;
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn node(s: &str) -> NodeName {
        NodeName::new(s)
    }

    #[test]
    fn stamps_increase_even_when_the_clock_goes_back() {
        let mut c = HlcClock::new(node("a"));
        let t1 = c.tick(1_000).expect("tick");
        let t2 = c.tick(900).expect("tick");
        let t3 = c.tick(1_000).expect("tick");
        let t4 = c.tick(1_001).expect("tick");
        assert!(t1 < t2 && t2 < t3 && t3 < t4);
        assert_eq!(t4.counter, 0);
    }

    #[test]
    fn observed_stamps_order_later_local_events() {
        // A township whose clock is 2 hours slow still stamps its reply after what it saw.
        let mut hall = HlcClock::new(node("hall"));
        let mut town = HlcClock::new(node("town"));
        let hour = 3_600_000;
        let seen = hall.tick(10 * hour).expect("tick");
        town.observe(&seen, 8 * hour).expect("within drift");
        let reply = town.tick(8 * hour).expect("tick");
        assert!(reply > seen);
    }

    #[test]
    fn far_future_stamps_are_not_adopted() {
        let mut c = HlcClock::new(node("a"));
        let before = c.tick(1_000).expect("tick");
        let rogue = Hlc { wall_ms: 1_000 + HLC_DRIFT_MAX_MS + 1, counter: 0, node: node("b") };
        assert!(matches!(c.observe(&rogue, 1_000), Err(HlcError::RemoteTooFarAhead { .. })));
        let after = c.tick(1_000).expect("tick");
        assert_eq!(after.wall_ms, before.wall_ms);
    }

    #[test]
    fn local_time_is_china_standard_time() {
        // 2026-03-02 01:15 UTC is 09:15 in Beijing.
        let ms = 1_772_414_100_000;
        let t = Hlc { wall_ms: ms, counter: 0, node: node("a") };
        assert_eq!(t.local().format("%Y-%m-%d %H:%M").to_string(), "2026-03-02 09:15");
        assert_eq!(ms_from_local(t.local()), ms);
    }

    proptest::proptest! {
        #[test]
        fn ticks_are_strictly_monotonic(steps in proptest::collection::vec(-5_000i64..5_000, 1..200)) {
            let mut c = HlcClock::new(node("n"));
            let mut phys = 1_000_000i64;
            let mut last: Option<Hlc> = None;
            for s in steps {
                phys += s;
                let t = c.tick(phys).expect("tick");
                if let Some(l) = &last { proptest::prop_assert!(&t > l); }
                last = Some(t);
            }
        }
    }
}
