//! `yikou demo` as the real binary: three nodes on loopback run the scripted day to the end.

use std::io::Read;
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

/// The demo's own steps wait up to 90 s each for replication; the whole run gets this long.
const DEMO_TIMEOUT_MS: u64 = 300_000;

/// rule O1: township A keeps taking applications while cut off (链路中断 … 链路恢复); rule O3:
/// the nodes converge afterwards; rule T3.6: the lapsed commitment lists the applicant, and the
/// other township refuses tolerance acceptance to them. Each node keeps its own data directory.
#[test]
fn demo_runs_the_scripted_day_to_the_end() {
    let dir = tempfile::tempdir().expect("temp dir");
    let mut child = Command::new(env!("CARGO_BIN_EXE_yikou"))
        .args(["demo", "--dir"])
        .arg(dir.path())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .expect("yikou demo starts");
    // Drained on their own threads so that a full pipe never stalls the demo.
    let mut out = child.stdout.take().expect("stdout piped");
    let mut err = child.stderr.take().expect("stderr piped");
    let stdout = std::thread::spawn(move || {
        let mut s = String::new();
        let _ = out.read_to_string(&mut s);
        s
    });
    let stderr = std::thread::spawn(move || {
        let mut s = String::new();
        let _ = err.read_to_string(&mut s);
        s
    });
    let started = Instant::now();
    let status = loop {
        if let Some(status) = child.try_wait().expect("wait on the demo") {
            break Some(status);
        }
        if started.elapsed() > Duration::from_millis(DEMO_TIMEOUT_MS) {
            let _ = child.kill();
            let _ = child.wait();
            break None;
        }
        std::thread::sleep(Duration::from_millis(200));
    };
    let stdout = stdout.join().expect("stdout reader");
    let stderr = stderr.join().expect("stderr reader");
    let Some(status) = status else {
        panic!(
            "the demo did not finish within {DEMO_TIMEOUT_MS} ms\n--- stdout\n{stdout}\n--- stderr\n{stderr}"
        );
    };
    assert!(status.success(), "the demo failed ({status})\n--- stdout\n{stdout}\n--- stderr\n{stderr}");

    // The three nodes' HTTP addresses.
    assert_eq!(stdout.matches("HTTP http://127.0.0.1:").count(), 3, "{stdout}");
    for milestone in [
        // T3.2: tolerance acceptance at township A.
        "容缺受理",
        // O1: the link is cut and the window keeps working, then it heals (O3).
        "链路中断",
        "链路恢复",
        // T3.6: the applicant listed, and refused tolerance at township B.
        "失信名单",
        "不能容缺受理",
        "演示脚本完成",
    ] {
        assert!(stdout.contains(milestone), "the demo's output lacks 「{milestone}」:\n{stdout}");
    }
    let pos = |s: &str| stdout.find(s).unwrap_or(usize::MAX);
    assert!(pos("链路中断") < pos("链路恢复") && pos("链路恢复") < pos("演示脚本完成"), "{stdout}");

    // Each node has its own data directory with its configuration.
    for node in ["hall", "town-a", "town-b"] {
        let config = dir.path().join(node).join("yikou.toml");
        assert!(config.is_file(), "{} is missing", config.display());
    }
}
