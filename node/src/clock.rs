//! The node's one reading of the wall clock. The schema never reads a clock; what it needs is
//! passed in from here (milliseconds for HLC stamps, China Standard Time for business dates).

use chrono::{NaiveDate, NaiveDateTime};
use yikou_schema::hlc::local_from_ms;

/// Milliseconds since the Unix epoch (0 if the system clock is before 1970).
pub fn now_ms() -> i64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map_or(0, |d| i64::try_from(d.as_millis()).unwrap_or(i64::MAX))
}

/// Now, in China Standard Time.
pub fn now_local() -> NaiveDateTime {
    local_from_ms(now_ms())
}

/// Today, in China Standard Time.
pub fn today_local() -> NaiveDate {
    now_local().date()
}

/// The clock a node's service reads: the wall clock plus an offset that only the demo and tests
/// move (to let a commitment's deadline pass within a scripted day). Shared by every part of
/// one node, so that the HTTP service and the supervision scheduler agree on "now".
#[derive(Debug, Default)]
pub struct Clock {
    offset_ms: std::sync::atomic::AtomicI64,
}

impl Clock {
    /// The wall clock.
    pub fn system() -> Clock {
        Clock::default()
    }

    /// Milliseconds since the Unix epoch, offset.
    pub fn now_ms(&self) -> i64 {
        now_ms().saturating_add(self.offset_ms.load(std::sync::atomic::Ordering::Relaxed))
    }

    /// Now in China Standard Time, offset.
    pub fn now_local(&self) -> NaiveDateTime {
        local_from_ms(self.now_ms())
    }

    /// Moves this clock forward by `ms` (demo and tests only).
    pub fn advance_ms(&self, ms: i64) {
        self.offset_ms.fetch_add(ms, std::sync::atomic::Ordering::Relaxed);
    }
}
