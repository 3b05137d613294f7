//! The operator commands the README promises, run as the real `yikou` binary.

use std::path::PathBuf;
use std::process::{Command, Output};

fn yikou(args: &[&str]) -> Output {
    Command::new(env!("CARGO_BIN_EXE_yikou")).args(args).output().expect("yikou runs")
}

fn stdout(o: &Output) -> String {
    String::from_utf8_lossy(&o.stdout).into_owned()
}

fn stderr(o: &Output) -> String {
    String::from_utf8_lossy(&o.stderr).into_owned()
}

fn temp_file(name: &str, text: &str) -> PathBuf {
    let dir = std::env::temp_dir().join(format!("yikou-cli-{}", std::process::id()));
    std::fs::create_dir_all(&dir).expect("temp dir");
    let path = dir.join(name);
    std::fs::write(&path, text).expect("temp file");
    path
}

#[test]
fn workday_after_prints_the_domain_facts_vectors() {
    // rule W9: working days per the State Council calendar (DOMAIN-FACTS vectors).
    for (date, n, want) in [
        ("2025-09-26", "5", "2025-10-10"),
        ("2025-09-30", "1", "2025-10-09"),
        ("2025-12-31", "1", "2026-01-04"),
        ("2026-02-13", "1", "2026-02-14"),
        ("2026-02-13", "3", "2026-02-25"),
        ("2026-04-30", "1", "2026-05-06"),
    ] {
        let out = yikou(&["calendar", "workday-after", date, n]);
        assert!(out.status.success(), "{}", stderr(&out));
        assert_eq!(stdout(&out).trim(), want, "workday-after {date} {n}");
        assert!(stderr(&out).is_empty());
    }
}

#[test]
fn workday_after_beyond_the_loaded_years_warns_provisional() {
    let out = yikou(&["calendar", "workday-after", "2027-03-01", "1"]);
    assert!(out.status.success());
    assert_eq!(stdout(&out).trim(), "2027-03-02");
    assert!(stderr(&out).contains("暂定"), "{}", stderr(&out));
}

#[test]
fn next_years_calendar_is_loaded_with_a_flag() {
    let file = temp_file("2027.toml", "[2027]\nholidays = [\"2027-03-02\"]\nmakeup_workdays = []\n");
    let out =
        yikou(&["calendar", "workday-after", "2027-03-01", "1", "--calendar", file.to_str().expect("utf8")]);
    assert!(out.status.success(), "{}", stderr(&out));
    assert_eq!(stdout(&out).trim(), "2027-03-03");
    assert!(stderr(&out).is_empty());
    let check = yikou(&["calendar", "check", file.to_str().expect("utf8")]);
    assert!(check.status.success());
    assert!(stdout(&check).contains("2027"));
}

#[test]
fn handover_deadline_follows_w4_1() {
    // rule W4.1: morning paper by 14:00 the same day, afternoon paper by 09:30 next working day.
    for (received, want) in [
        ("2026-03-02 09:15", "2026-03-02 14:00"),
        ("2026-03-06 15:00", "2026-03-09 09:30"),
        ("2026-09-30T16:00", "2026-10-08 09:30"),
    ] {
        let out = yikou(&["calendar", "handover-deadline", received]);
        assert!(out.status.success(), "{}", stderr(&out));
        assert_eq!(stdout(&out).trim(), want, "received {received}");
    }
}

#[test]
fn bad_input_gets_a_clear_error_and_a_failing_exit() {
    let out = yikou(&["calendar", "workday-after", "2026-02-30", "1"]);
    assert!(!out.status.success());
    assert!(stderr(&out).contains("不是有效日期"), "{}", stderr(&out));
    let out = yikou(&["calendar", "handover-deadline", "tomorrow"]);
    assert!(!out.status.success());
    assert!(stderr(&out).contains("不是有效时间"), "{}", stderr(&out));
    let out = yikou(&["calendar", "workday-after", "2026-01-01", "999999"]);
    assert!(!out.status.success());
    assert!(stderr(&out).contains("上限"), "{}", stderr(&out));
    let bad = temp_file("bad.toml", "[2027]\nholidays = [\"2027-13-01\"]\n");
    let out = yikou(&["calendar", "check", bad.to_str().expect("utf8")]);
    assert!(!out.status.success());
    assert!(stderr(&out).contains("第 2 行"), "{}", stderr(&out));
}

#[test]
fn catalog_check_lists_the_sample_catalog() {
    // rule T4: the catalog marks tolerance items and tolerable materials.
    let sample = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../schema/data/sample-catalog.toml");
    let out = yikou(&["catalog", "check", sample.to_str().expect("utf8")]);
    assert!(out.status.success(), "{}", stderr(&out));
    let text = stdout(&out);
    assert!(text.lines().count() >= 20, "{text}");
    assert!(text.contains("容缺"), "{text}");
}

#[test]
fn catalog_check_reports_every_problem_with_its_line() {
    let bad = temp_file(
        "bad-catalog.toml",
        "version = \"1\"\ntitle = \"x\"\nsample = true\n\n[[items]]\ncode = \"A\"\n",
    );
    let out = yikou(&["catalog", "check", bad.to_str().expect("utf8")]);
    assert!(!out.status.success());
    assert!(stderr(&out).contains("行"), "{}", stderr(&out));
    let missing = yikou(&["catalog", "check", "/nonexistent/catalog.toml"]);
    assert!(!missing.status.success());
}
