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

/// The environment variable `yikou run` reads once at start: a signed offset in milliseconds added
/// to the node's clock. A test and fault-injection setting (the fault suite runs a node whose
/// clock is 2 hours off), never for production: business dates and deadlines follow it.
pub const CLOCK_OFFSET_ENV: &str = "YIKOU_CLOCK_OFFSET_MS";

/// The largest offset [`CLOCK_OFFSET_ENV`] may set, either way (30 days).
pub const CLOCK_OFFSET_MS_MAX: i64 = 30 * 24 * 3_600_000;

/// Why [`CLOCK_OFFSET_ENV`] was refused.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum ClockOffsetError {
    #[error(
        "环境变量 YIKOU_CLOCK_OFFSET_MS 的值「{0}」不是整数毫秒数(例如 7200000 表示快 2 小时,-7200000 表示慢 2 小时)"
    )]
    NotANumber(String),
    #[error("环境变量 YIKOU_CLOCK_OFFSET_MS 的值 {0} 超出允许范围(正负 30 天以内)")]
    OutOfRange(i64),
}

impl ClockOffsetError {
    /// A stable code for logs.
    pub fn code(&self) -> &'static str {
        match self {
            ClockOffsetError::NotANumber(_) => "clock.offset_not_a_number",
            ClockOffsetError::OutOfRange(_) => "clock.offset_out_of_range",
        }
    }
}

/// Parses a [`CLOCK_OFFSET_ENV`] value (an integer, milliseconds, within ±[`CLOCK_OFFSET_MS_MAX`]).
pub fn parse_offset_ms(value: &str) -> Result<i64, ClockOffsetError> {
    let ms: i64 = value.trim().parse().map_err(|_| ClockOffsetError::NotANumber(value.to_string()))?;
    if ms.abs() > CLOCK_OFFSET_MS_MAX {
        return Err(ClockOffsetError::OutOfRange(ms));
    }
    Ok(ms)
}

impl Clock {
    /// The wall clock moved by [`CLOCK_OFFSET_ENV`] when that variable is set (and not empty).
    pub fn from_env() -> Result<Clock, ClockOffsetError> {
        let clock = Clock::system();
        if let Ok(value) = std::env::var(CLOCK_OFFSET_ENV)
            && !value.trim().is_empty()
        {
            clock.advance_ms(parse_offset_ms(&value)?);
        }
        Ok(clock)
    }

    /// The offset from the wall clock, in milliseconds.
    pub fn offset_ms(&self) -> i64 {
        self.offset_ms.load(std::sync::atomic::Ordering::Relaxed)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_offset_setting_is_parsed_and_bounded() {
        assert_eq!(parse_offset_ms("7200000"), Ok(7_200_000));
        assert_eq!(parse_offset_ms(" -7200000 "), Ok(-7_200_000));
        assert_eq!(parse_offset_ms("2h").map_err(|e| e.code()), Err("clock.offset_not_a_number"));
        let too_far = (CLOCK_OFFSET_MS_MAX + 1).to_string();
        assert_eq!(parse_offset_ms(&too_far).map_err(|e| e.code()), Err("clock.offset_out_of_range"));
        let clock = Clock::system();
        clock.advance_ms(-7_200_000);
        assert_eq!(clock.offset_ms(), -7_200_000);
        assert!(now_ms() - clock.now_ms() >= 7_200_000);
    }
}
