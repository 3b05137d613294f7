//! Fuzz harnesses `catalog_toml` and `calendar_toml`: arbitrary text → `Catalog::from_toml` /
//! `WorkCalendar::from_toml` (the files an operator imports). Shared by
//! `fuzz/fuzz_targets/{catalog,calendar}_toml.rs` and `schema/tests/fuzz_regressions.rs`.
//!
//! Invariants: nothing panics; a refusal lists at least one problem, each with a code and a
//! message; a valid catalog writes back to TOML that parses to the same catalog (the documented
//! round trip of `Catalog::to_toml`); a valid calendar answers working-day questions about its
//! years and the edges of the date range without panicking.

use chrono::{Duration, NaiveDate, NaiveTime};
use yikou_schema::calendar::{CalendarError, WorkCalendar};
use yikou_schema::catalog::Catalog;

/// Working days asked for from each probed date.
const PROBE_WORKDAYS: u32 = 40;

pub fn catalog_toml(data: &[u8]) {
    let Ok(text) = std::str::from_utf8(data) else { return };
    match Catalog::from_toml(text) {
        Ok(catalog) => {
            let again = Catalog::from_toml(&catalog.to_toml());
            assert_eq!(again.as_ref(), Ok(&catalog), "the catalog written back as TOML reads differently");
        }
        Err(errors) => {
            assert!(!errors.0.is_empty(), "a refusal without a problem");
            for p in &errors.0 {
                assert!(!p.code.is_empty() && !p.message.is_empty(), "a problem without code or message");
            }
            assert!(!errors.to_string().is_empty());
        }
    }
}

pub fn calendar_toml(data: &[u8]) {
    let Ok(text) = std::str::from_utf8(data) else { return };
    let calendar = match WorkCalendar::from_toml(text) {
        Ok(c) => c,
        Err(e) => {
            if let CalendarError::Parse { line, message } = &e {
                assert!(*line >= 1, "a parse error on line 0");
                assert!(!message.is_empty());
            }
            return;
        }
    };
    let years: Vec<i32> = calendar.loaded_years().collect();
    let mut probes = vec![NaiveDate::MIN, NaiveDate::MAX];
    for year in years {
        for (month, day) in [(1, 1), (2, 10), (10, 1), (12, 31)] {
            if let Some(date) = NaiveDate::from_ymd_opt(year, month, day) {
                probes.push(date);
            }
        }
    }
    for date in probes {
        let _ = calendar.is_workday(date);
        if let Ok(d) = calendar.add_workdays(date, PROBE_WORKDAYS) {
            assert!(d.at > date, "{PROBE_WORKDAYS} working days after {date} is not later");
            let between = calendar.workdays_between(date, d.at);
            assert_eq!(
                between.map(|b| b.at),
                Ok(PROBE_WORKDAYS),
                "add_workdays and workdays_between disagree"
            );
        }
        let _ = calendar.next_workday(date);
        let _ = calendar.workdays_between(date, date.checked_add_signed(Duration::days(20)).unwrap_or(date));
        for time in [NaiveTime::MIN, NaiveTime::from_hms_opt(13, 0, 0).unwrap_or(NaiveTime::MIN)] {
            let _ = calendar.handover_deadline(date.and_time(time));
        }
    }
}
