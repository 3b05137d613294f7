//! The fuzz targets of the catalog and calendar parsers, replayed on stable in CI: every
//! committed seed and crasher of `catalog_toml` and `calendar_toml` (see `fuzz/`,
//! `scripts/fuzz.sh`) plus mutations of the seeds, asserting no panic and clean errors (the
//! invariants are in `fuzz/harness/schema.rs`).
//! `cargo test -p yikou-schema --test fuzz_regressions -- --ignored write_fuzz_seeds` rewrites the seeds.

#[path = "../../fuzz/harness/replay.rs"]
mod replay;
#[path = "../../fuzz/harness/schema.rs"]
mod schema_harness;

use yikou_schema::calendar::BUILTIN_TOML;
use yikou_schema::catalog::SAMPLE_TOML;

#[test]
fn catalog_toml_seeds_and_regressions_parse_or_refuse_cleanly() {
    let (seeds, _) = replay::replay("catalog_toml", schema_harness::catalog_toml, true);
    assert!(seeds >= 2, "the seed corpus of catalog_toml is missing");
}

#[test]
fn calendar_toml_seeds_and_regressions_parse_or_refuse_cleanly() {
    let (seeds, _) = replay::replay("calendar_toml", schema_harness::calendar_toml, true);
    assert!(seeds >= 2, "the seed corpus of calendar_toml is missing");
}

#[test]
fn the_shipped_files_pass_their_harness() {
    schema_harness::catalog_toml(SAMPLE_TOML.as_bytes());
    schema_harness::calendar_toml(BUILTIN_TOML.as_bytes());
}

#[test]
#[ignore = "writes fuzz/seeds/{catalog,calendar}_toml; run by hand when the formats change"]
fn write_fuzz_seeds() {
    replay::write_seed("catalog_toml", "sample-catalog.toml", SAMPLE_TOML.as_bytes());
    // One department and one item: small enough for the fuzzer to mutate every part of it.
    let small = SAMPLE_TOML.split("\n[[items]]").take(2).collect::<Vec<_>>().join("\n[[items]]");
    replay::write_seed("catalog_toml", "one-item.toml", small.as_bytes());
    replay::write_seed("catalog_toml", "syntax-error.toml", b"version = \"1\"\n[[items]\ncode = 3\n");
    replay::write_seed("calendar_toml", "cn-workdays-2025-2026.toml", BUILTIN_TOML.as_bytes());
    replay::write_seed(
        "calendar_toml",
        "one-year.toml",
        b"[2027]\nholidays = [\"2027-01-01\", \"2027-02-08\"]\nmakeup_workdays = [\"2027-02-06\"]\n",
    );
    replay::write_seed(
        "calendar_toml",
        "bad-date.toml",
        b"[2027]\nholidays = [\"2027-02-30\"]\nmakeup_workdays = []\n",
    );
}

#[test]
fn a_calendar_toml_error_without_a_message_still_tells_the_operator_something() {
    // Found by fuzzing (calendar_toml, a NUL byte in a comment): the TOML parser's error had an
    // empty message, and the operator read "工作日历文件第 1 行有误:" and nothing after it.
    let text = std::fs::read_to_string(
        replay::fuzz_dir().join("regressions/calendar_toml/nul-in-comment-empty-message.toml"),
    )
    .expect("the regression file");
    match yikou_schema::calendar::WorkCalendar::from_toml(&text) {
        Err(yikou_schema::calendar::CalendarError::Parse { line, message }) => {
            assert_eq!(line, 1);
            assert!(!message.trim().is_empty(), "an empty message");
        }
        other => panic!("{other:?}"),
    }
}
