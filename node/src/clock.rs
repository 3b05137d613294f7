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
