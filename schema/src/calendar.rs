//! The official working-day calendar (工作日).
//!
//! A day is a working day iff it is a make-up working day (调休上班), or a Monday to Friday that is
//! not a statutory holiday. The table comes from the State Council's yearly notice and is loaded
//! from data (TOML, see `schema/data/cn-workdays-2025-2026.toml`); next year's table is merged in
//! at run time with [`WorkCalendar::merge`]. Any answer that needed a day outside the loaded years
//! is computed with the plain Monday-to-Friday rule and flagged `provisional`.
//!
//! Periods follow the Administrative Licensing Law §82: the starting day is not counted.

use std::collections::{BTreeMap, BTreeSet};

use chrono::{Datelike, NaiveDate, NaiveDateTime, NaiveTime, Weekday};
use schemars::JsonSchema;
use serde::{Deserialize, Serialize};

/// The largest number of working days any period may span (about 14 years): a bound on loops.
pub const WORKDAYS_MAX: u32 = 3_650;

/// Paper received before this time is "morning" paper (W4.1).
pub const HANDOVER_NOON: NaiveTime = match NaiveTime::from_hms_opt(12, 0, 0) {
    Some(t) => t,
    None => panic!("12:00 is a valid time"),
};
/// Morning paper reaches the department by 14:00 the same day (W4.1).
pub const HANDOVER_SAME_DAY: NaiveTime = match NaiveTime::from_hms_opt(14, 0, 0) {
    Some(t) => t,
    None => panic!("14:00 is a valid time"),
};
/// Afternoon paper reaches the department by 09:30 the next working day (W4.1).
pub const HANDOVER_NEXT_DAY: NaiveTime = match NaiveTime::from_hms_opt(9, 30, 0) {
    Some(t) => t,
    None => panic!("09:30 is a valid time"),
};

/// The embedded calendar shipped with the product (2025 and 2026).
pub const BUILTIN_TOML: &str = include_str!("../data/cn-workdays-2025-2026.toml");

/// A computed deadline, flagged when it rests on days outside the loaded years.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
pub struct Deadline<T> {
    pub at: T,
    /// True when a day outside the loaded years was needed: the answer used the Monday-to-Friday
    /// rule and may move once that year's notice is loaded.
    pub provisional: bool,
}

/// One year's table as the State Council notice gives it.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
pub struct YearTable {
    pub holidays: BTreeSet<NaiveDate>,
    pub makeup_workdays: BTreeSet<NaiveDate>,
}

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum CalendarError {
    #[error("工作日历文件第 {line} 行有误:{message}")]
    Parse { line: usize, message: String },
    #[error("工作日数 {requested} 超出上限 {max}")]
    TooManyDays { requested: u32, max: u32 },
    #[error("日期超出可计算范围")]
    OutOfRange,
}

/// The working-day calendar: loaded years plus the Monday-to-Friday rule beyond them.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
pub struct WorkCalendar {
    years: BTreeMap<i32, YearTable>,
}

#[derive(Deserialize)]
struct RawYear {
    #[serde(default)]
    holidays: Vec<toml::Spanned<String>>,
    #[serde(default)]
    makeup_workdays: Vec<toml::Spanned<String>>,
}

fn line_of(text: &str, offset: usize) -> usize {
    text.get(..offset).map_or(1, |prefix| prefix.bytes().filter(|b| *b == b'\n').count() + 1)
}

impl WorkCalendar {
    /// The calendar embedded in the binary (2025-2026).
    pub fn builtin() -> Self {
        // The embedded file is checked by the test `builtin_calendar_parses`.
        Self::from_toml(BUILTIN_TOML).unwrap_or_default()
    }

    /// Parses a calendar file: one table per year (`[2027]`) with `holidays` and
    /// `makeup_workdays`, each a list of `YYYY-MM-DD` strings. Every problem names its line.
    pub fn from_toml(text: &str) -> Result<Self, CalendarError> {
        let raw: BTreeMap<String, RawYear> = toml::from_str(text).map_err(|e| {
            // Some parser errors carry no message (a NUL byte in a comment, found by fuzzing).
            let detail = e.message().trim();
            CalendarError::Parse {
                line: e.span().map_or(1, |s| line_of(text, s.start)),
                message: if detail.is_empty() {
                    "无法解析".to_string()
                } else {
                    detail.replace('\n', ";")
                },
            }
        })?;
        let mut years = BTreeMap::new();
        for (key, raw_year) in raw {
            let year: i32 = key.parse().ok().filter(|y| (1949..=9999).contains(y)).ok_or_else(|| {
                CalendarError::Parse {
                    line: text.find(&format!("[{key}]")).map_or(1, |o| line_of(text, o)),
                    message: format!("表名「{key}」不是年份"),
                }
            })?;
            let mut table = YearTable::default();
            let parse_list = |list: &[toml::Spanned<String>],
                              into: &mut BTreeSet<NaiveDate>,
                              what: &str|
             -> Result<(), CalendarError> {
                for item in list {
                    let line = line_of(text, item.span().start);
                    let date = NaiveDate::parse_from_str(item.get_ref(), "%Y-%m-%d").map_err(|_| {
                        CalendarError::Parse {
                            line,
                            message: format!("「{}」不是 YYYY-MM-DD 格式的日期", item.get_ref()),
                        }
                    })?;
                    if date.year() != year {
                        return Err(CalendarError::Parse {
                            line,
                            message: format!("{date} 不属于 {year} 年"),
                        });
                    }
                    if !into.insert(date) {
                        return Err(CalendarError::Parse {
                            line, message: format!("{what}中 {date} 重复")
                        });
                    }
                }
                Ok(())
            };
            parse_list(&raw_year.holidays, &mut table.holidays, "节假日")?;
            parse_list(&raw_year.makeup_workdays, &mut table.makeup_workdays, "调休上班日")?;
            for item in &raw_year.makeup_workdays {
                let line = line_of(text, item.span().start);
                // Parsed above, so this succeeds.
                let Ok(date) = NaiveDate::parse_from_str(item.get_ref(), "%Y-%m-%d") else {
                    continue;
                };
                if table.holidays.contains(&date) {
                    return Err(CalendarError::Parse {
                        line,
                        message: format!("{date} 同时列为节假日和调休上班日"),
                    });
                }
                if !matches!(date.weekday(), Weekday::Sat | Weekday::Sun) {
                    return Err(CalendarError::Parse {
                        line,
                        message: format!("调休上班日 {date} 不是周末"),
                    });
                }
            }
            years.insert(year, table);
        }
        Ok(Self { years })
    }

    /// Replaces (or adds) every year that `other` holds: how next year's notice is loaded.
    pub fn merge(&mut self, other: WorkCalendar) {
        self.years.extend(other.years);
    }

    /// The years whose official table is loaded.
    pub fn loaded_years(&self) -> impl Iterator<Item = i32> + '_ {
        self.years.keys().copied()
    }

    /// Whether `date` is a working day, and whether that answer is provisional.
    pub fn is_workday(&self, date: NaiveDate) -> Deadline<bool> {
        match self.years.get(&date.year()) {
            Some(table) => Deadline {
                at: table.makeup_workdays.contains(&date)
                    || (!is_weekend(date) && !table.holidays.contains(&date)),
                provisional: false,
            },
            None => Deadline { at: !is_weekend(date), provisional: true },
        }
    }

    /// The n-th working day after `date` (`date` itself not counted). `n = 0` gives `date`.
    pub fn add_workdays(&self, date: NaiveDate, n: u32) -> Result<Deadline<NaiveDate>, CalendarError> {
        if n > WORKDAYS_MAX {
            return Err(CalendarError::TooManyDays { requested: n, max: WORKDAYS_MAX });
        }
        let mut day = date;
        let mut left = n;
        let mut provisional = false;
        while left > 0 {
            day = day.succ_opt().ok_or(CalendarError::OutOfRange)?;
            let w = self.is_workday(day);
            provisional |= w.provisional;
            if w.at {
                left -= 1;
            }
        }
        Ok(Deadline { at: day, provisional })
    }

    /// The first working day strictly after `date`.
    pub fn next_workday(&self, date: NaiveDate) -> Result<Deadline<NaiveDate>, CalendarError> {
        self.add_workdays(date, 1)
    }

    /// Working days in the half-open range `(from, to]`; zero when `to <= from`.
    pub fn workdays_between(&self, from: NaiveDate, to: NaiveDate) -> Result<Deadline<u32>, CalendarError> {
        let mut count = 0u32;
        let mut provisional = false;
        let mut day = from;
        while day < to {
            day = day.succ_opt().ok_or(CalendarError::OutOfRange)?;
            let w = self.is_workday(day);
            provisional |= w.provisional;
            if w.at {
                count += 1;
                if count > WORKDAYS_MAX {
                    return Err(CalendarError::TooManyDays { requested: count, max: WORKDAYS_MAX });
                }
            }
        }
        Ok(Deadline { at: count, provisional })
    }

    /// W4.1: paper received in the morning of a working day reaches the department by 14:00 the
    /// same day; paper received in the afternoon, or on a day that is not a working day, by 09:30
    /// of the next working day.
    pub fn handover_deadline(
        &self,
        received: NaiveDateTime,
    ) -> Result<Deadline<NaiveDateTime>, CalendarError> {
        let day = received.date();
        let today = self.is_workday(day);
        if today.at && received.time() < HANDOVER_NOON {
            return Ok(Deadline { at: day.and_time(HANDOVER_SAME_DAY), provisional: today.provisional });
        }
        let next = self.next_workday(day)?;
        Ok(Deadline {
            at: next.at.and_time(HANDOVER_NEXT_DAY),
            provisional: next.provisional || today.provisional,
        })
    }
}

fn is_weekend(date: NaiveDate) -> bool {
    matches!(date.weekday(), Weekday::Sat | Weekday::Sun)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn d(s: &str) -> NaiveDate {
        NaiveDate::parse_from_str(s, "%Y-%m-%d").expect("test date")
    }
    fn dt(s: &str) -> NaiveDateTime {
        NaiveDateTime::parse_from_str(s, "%Y-%m-%d %H:%M").expect("test datetime")
    }

    #[test]
    fn builtin_calendar_parses() {
        let cal = WorkCalendar::from_toml(BUILTIN_TOML).expect("embedded calendar parses");
        assert_eq!(cal.loaded_years().collect::<Vec<_>>(), vec![2025, 2026]);
        assert_eq!(cal, WorkCalendar::builtin());
    }

    #[test]
    fn each_loaded_year_has_248_working_days() {
        let cal = WorkCalendar::builtin();
        for year in [2025, 2026] {
            let n = cal
                .workdays_between(d(&format!("{}-12-31", year - 1)), d(&format!("{year}-12-31")))
                .expect("within bounds");
            assert_eq!(n.at, 248, "{year}");
            // Dec 31 of the year before is outside the loaded years but is the (uncounted) start.
            assert!(!n.provisional, "{year}");
        }
    }

    #[test]
    fn domain_facts_vectors() {
        // rule W9: periods in working days, DOMAIN-FACTS vectors (d not counted).
        let cal = WorkCalendar::builtin();
        for (from, n, want) in [
            ("2025-09-26", 5, "2025-10-10"),
            ("2025-09-30", 1, "2025-10-09"),
            ("2025-12-31", 1, "2026-01-04"),
            ("2026-02-13", 1, "2026-02-14"),
            ("2026-02-13", 3, "2026-02-25"),
            ("2026-04-30", 1, "2026-05-06"),
        ] {
            let got = cal.add_workdays(d(from), n).expect("within bounds");
            assert_eq!(got.at, d(want), "add({from}, {n})");
            assert!(!got.provisional, "add({from}, {n})");
        }
    }

    #[test]
    fn beyond_loaded_years_is_provisional() {
        let cal = WorkCalendar::builtin();
        let got = cal.add_workdays(d("2026-12-30"), 3).expect("within bounds");
        // Dec 31 (Thu) counts from the table; Jan 1 and 4 2027 come from the Mon-Fri rule.
        assert_eq!(got.at, d("2027-01-04"));
        assert!(got.provisional);
        let inside = cal.add_workdays(d("2026-12-29"), 2).expect("within bounds");
        assert_eq!(inside.at, d("2026-12-31"));
        assert!(!inside.provisional);
    }

    #[test]
    fn merging_next_year_replaces_the_provisional_answer() {
        let mut cal = WorkCalendar::builtin();
        let next = WorkCalendar::from_toml("[2027]\nholidays = [\"2027-01-01\"]\nmakeup_workdays = []\n")
            .expect("valid");
        cal.merge(next);
        let got = cal.add_workdays(d("2026-12-31"), 1).expect("within bounds");
        assert_eq!(got.at, d("2027-01-04"));
        assert!(!got.provisional);
    }

    #[test]
    fn handover_deadlines() {
        // rule W4.1: morning paper by 14:00 the same day, afternoon paper by 09:30 next working day.
        let cal = WorkCalendar::builtin();
        let cases = [
            ("2026-03-02 09:15", "2026-03-02 14:00"),
            ("2026-03-02 11:59", "2026-03-02 14:00"),
            ("2026-03-02 12:00", "2026-03-03 09:30"),
            ("2026-03-06 15:00", "2026-03-09 09:30"), // Friday afternoon -> Monday
            ("2026-09-30 16:00", "2026-10-08 09:30"), // before National Day
            ("2026-02-14 10:00", "2026-02-14 14:00"), // Saturday make-up working day
            ("2026-03-07 10:00", "2026-03-09 09:30"), // Saturday, not a working day
        ];
        for (received, want) in cases {
            let got = cal.handover_deadline(dt(received)).expect("within bounds");
            assert_eq!(got.at, dt(want), "received {received}");
            assert!(!got.provisional);
        }
        let late = cal.handover_deadline(dt("2026-12-31 15:00")).expect("within bounds");
        assert_eq!(late.at, dt("2027-01-01 09:30"));
        assert!(late.provisional);
    }

    #[test]
    fn bad_files_name_the_line() {
        let cases = [
            ("[2027]\nholidays = [\"2027-02-30\"]\n", 2),
            ("[2027]\nholidays = [\"2027-01-01\"]\nmakeup_workdays = [\"2027-01-01\"]\n", 3),
            ("[2027]\nholidays = [\n \"2027-01-01\",\n \"2026-01-02\"]\n", 4),
            ("[2027]\nmakeup_workdays = [\"2027-01-05\"]\n", 2),
            ("[abc]\nholidays = []\n", 1),
            ("[2027]\nholidays = [1, 2]\n", 2),
            ("[2027]\nholidays = [\"2027-01-01\", \"2027-01-01\"]\n", 2),
        ];
        for (text, want_line) in cases {
            match WorkCalendar::from_toml(text) {
                Err(CalendarError::Parse { line, .. }) => assert_eq!(line, want_line, "{text}"),
                other => panic!("expected a parse error for {text:?}, got {other:?}"),
            }
        }
    }

    #[test]
    fn too_many_days_is_an_error_not_a_hang() {
        let cal = WorkCalendar::builtin();
        assert!(matches!(
            cal.add_workdays(d("2026-01-01"), WORKDAYS_MAX + 1),
            Err(CalendarError::TooManyDays { .. })
        ));
        assert!(cal.add_workdays(NaiveDate::MAX, 1).is_err());
    }

    proptest::proptest! {
        #[test]
        fn random_text_never_panics(text in ".{0,400}") {
            let _ = WorkCalendar::from_toml(&text);
        }

        #[test]
        fn add_then_count_round_trips(days in 0i64..700, n in 0u32..300) {
            let cal = WorkCalendar::builtin();
            let start = d("2025-01-01") + chrono::Duration::days(days);
            let end = cal.add_workdays(start, n).expect("within bounds");
            let back = cal.workdays_between(start, end.at).expect("within bounds");
            proptest::prop_assert_eq!(back.at, n);
            proptest::prop_assert!(n == 0 || cal.is_workday(end.at).at);
        }
    }
}
