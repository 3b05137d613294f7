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

// ---------------------------------------------------------------------------------------------
// A node's data directory: init, config, reference data, backup/restore, status (offline)
// ---------------------------------------------------------------------------------------------

fn yikou_in(dir: &std::path::Path, args: &[&str]) -> Output {
    Command::new(env!("CARGO_BIN_EXE_yikou")).current_dir(dir).args(args).output().expect("yikou runs")
}

/// A fresh self-signed node in a temp dir: (the temp dir, the node's dir as a string).
fn init_node(name: &str, role: &str, scope: &str) -> (tempfile::TempDir, String) {
    let tmp = tempfile::tempdir().expect("tempdir");
    let dir = tmp.path().join(name);
    let dir = dir.to_str().expect("utf8").to_string();
    // An HTTP port nothing listens on: the commands run offline.
    let out = yikou(&[
        "init",
        "--dir",
        &dir,
        "--name",
        name,
        "--role",
        role,
        "--scope",
        scope,
        "--self-signed",
        "--http",
        "127.0.0.1:9",
    ]);
    assert!(out.status.success(), "{}", stderr(&out));
    (tmp, dir)
}

#[test]
fn init_makes_a_node_and_refuses_to_overwrite_it() {
    let (_tmp, dir) = init_node("hall", "hall", "410184000");
    let dir = PathBuf::from(dir);
    for file in [
        "yikou.toml",
        "admin.token",
        "store",
        "tls/node.pem",
        "tls/node.key.pem",
        "tls/ca.pem",
        "tls/crl.pem",
    ] {
        assert!(dir.join(file).exists(), "{file}");
    }
    let token = std::fs::read_to_string(dir.join("admin.token")).expect("token");
    assert_eq!(token.trim().len(), 64);
    assert!(token.trim().bytes().all(|b| b.is_ascii_hexdigit()));
    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt;
        for file in ["admin.token", "tls/node.key.pem", "tls/ca/ca.key.pem"] {
            let mode = std::fs::metadata(dir.join(file)).expect("meta").permissions().mode();
            assert_eq!(mode & 0o777, 0o600, "{file}");
        }
    }
    let again = yikou(&[
        "init",
        "--dir",
        dir.to_str().expect("utf8"),
        "--name",
        "hall",
        "--role",
        "hall",
        "--scope",
        "410184000",
        "--self-signed",
    ]);
    assert!(!again.status.success());
    assert!(stderr(&again).contains("已经初始化过"), "{}", stderr(&again));
    // Exactly one source of credentials.
    let neither =
        yikou(&["init", "--dir", "/tmp/x", "--name", "a", "--role", "hall", "--scope", "410184000"]);
    assert!(!neither.status.success());
}

#[test]
fn config_defaults_and_unknown_keys() {
    let tmp = tempfile::tempdir().expect("tempdir");
    // No config file anywhere: the defaults, whose data dir does not exist here.
    let out = yikou_in(tmp.path(), &["status"]);
    assert!(!out.status.success());
    assert!(stderr(&out).contains("yikou-data") && stderr(&out).contains("yikou init"), "{}", stderr(&out));
    let bad = tmp.path().join("bad.toml");
    std::fs::write(&bad, "[http]\nlisten = \"127.0.0.1:9\"\nrequests_per_secnd = 5\n").expect("write");
    let out = yikou(&["status", "--config", bad.to_str().expect("utf8")]);
    assert!(!out.status.success());
    assert!(
        stderr(&out).contains("requests_per_secnd") && stderr(&out).contains("第 3 行"),
        "{}",
        stderr(&out)
    );
    std::fs::write(&bad, "[node]\nrole = \"hall\"\nscope = \"41x\"\n").expect("write");
    let out = yikou(&["status", "--config", bad.to_str().expect("utf8")]);
    assert!(stderr(&out).contains("node.scope"), "{}", stderr(&out));
}

#[test]
fn catalog_import_and_export_round_trip_offline() {
    let (tmp, dir) = init_node("hall", "hall", "410184000");
    let sample = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../schema/data/sample-catalog.toml");
    let out = yikou(&["catalog", "import", sample.to_str().expect("utf8"), "--dir", &dir]);
    assert!(out.status.success(), "{}", stderr(&out));
    assert!(stdout(&out).contains("已导入事项清单"), "{}", stdout(&out));
    let exported = tmp.path().join("exported.toml");
    let out = yikou(&["catalog", "export", "--out", exported.to_str().expect("utf8"), "--dir", &dir]);
    assert!(out.status.success(), "{}", stderr(&out));
    let text = std::fs::read_to_string(&exported).expect("exported");
    let original =
        yikou_schema::catalog::Catalog::from_toml(&std::fs::read_to_string(&sample).expect("sample"));
    assert_eq!(yikou_schema::catalog::Catalog::from_toml(&text).ok(), original.ok());
    // Through the config file in the working directory too (the default --config).
    let out = yikou_in(std::path::Path::new(&dir), &["catalog", "export"]);
    assert!(out.status.success(), "{}", stderr(&out));
    assert_eq!(stdout(&out), text);
    // A calendar import merges next year in.
    let cal = tmp.path().join("2027.toml");
    std::fs::write(&cal, "[2027]\nholidays = [\"2027-01-01\"]\nmakeup_workdays = []\n").expect("write");
    let out = yikou(&["calendar", "import", cal.to_str().expect("utf8"), "--dir", &dir]);
    assert!(out.status.success(), "{}", stderr(&out));
    assert!(stdout(&out).contains("2027"));
}

#[test]
fn a_township_refuses_to_import_reference_data() {
    let (_tmp, dir) = init_node("town-a", "township", "410184001");
    let sample = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../schema/data/sample-catalog.toml");
    let out = yikou(&["catalog", "import", sample.to_str().expect("utf8"), "--dir", &dir]);
    assert!(!out.status.success());
    assert!(stderr(&out).contains("参考数据只能在大厅节点修改"), "{}", stderr(&out));
    let out = yikou(&["catalog", "export", "--dir", &dir]);
    assert!(!out.status.success());
    assert!(stderr(&out).contains("还没有事项清单"), "{}", stderr(&out));
}

#[test]
fn backup_and_restore_round_trip_through_the_cli() {
    let (tmp, dir) = init_node("hall", "hall", "410184000");
    let sample = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../schema/data/sample-catalog.toml");
    assert!(yikou(&["catalog", "import", sample.to_str().expect("utf8"), "--dir", &dir]).status.success());
    let file = tmp.path().join("hall.bak");
    let file = file.to_str().expect("utf8");
    let out = yikou(&["backup", "--out", file, "--dir", &dir]);
    assert!(out.status.success(), "{}", stderr(&out));
    assert!(stdout(&out).contains("文档 1 个"), "{}", stdout(&out));
    // Not overwritten.
    assert!(!yikou(&["backup", "--out", file, "--dir", &dir]).status.success());

    // A replacement node with the same certificate, restored from the backup.
    let dir2 = tmp.path().join("hall-2");
    let dir2 = dir2.to_str().expect("utf8");
    let tls = format!("{dir}/tls");
    let out = yikou(&[
        "init",
        "--dir",
        dir2,
        "--name",
        "hall",
        "--role",
        "hall",
        "--scope",
        "410184000",
        "--credentials",
        &tls,
        "--http",
        "127.0.0.1:9",
    ]);
    assert!(out.status.success(), "{}", stderr(&out));
    let out = yikou(&["restore", "--from", file, "--dir", dir2]);
    assert!(out.status.success(), "{}", stderr(&out));
    let a = yikou(&["catalog", "export", "--dir", &dir]);
    let b = yikou(&["catalog", "export", "--dir", dir2]);
    assert_eq!(stdout(&a), stdout(&b));
    // A second restore into the now non-empty store is refused.
    let out = yikou(&["restore", "--from", file, "--dir", dir2]);
    assert!(!out.status.success());
    assert!(stderr(&out).contains("不是空的"), "{}", stderr(&out));
    // A damaged backup is refused.
    let mut bytes = std::fs::read(file).expect("read");
    let middle = bytes.len() / 2;
    bytes[middle] ^= 1;
    let damaged = tmp.path().join("damaged.bak");
    std::fs::write(&damaged, bytes).expect("write");
    let (_tmp3, dir3) = init_node("hall", "hall", "410184000");
    let out = yikou(&["restore", "--from", damaged.to_str().expect("utf8"), "--dir", &dir3]);
    assert!(!out.status.success());
    assert!(stderr(&out).contains("校验失败"), "{}", stderr(&out));
}

#[test]
fn status_offline_reads_the_data_dir() {
    let (_tmp, dir) = init_node("town-a", "township", "410184001");
    let out = yikou(&["status", "--dir", &dir]);
    assert!(out.status.success(), "{}", stderr(&out));
    let text = stdout(&out);
    assert!(text.contains("未运行") && text.contains("文档:0 个") && text.contains("乡镇"), "{text}");
    assert!(text.contains("对端检查点"), "{text}");
}

/// A stand-in for a running node's admin API on a free port: `/healthz`, `/api/v1/status`, a
/// refused `POST /api/v1/admin/users` (problem+json) and `POST /api/v1/admin/backup` answering
/// with `backup` when the bearer token is `token`. Returns the listen address.
fn fake_node(name: &'static str, token: String, backup: Vec<u8>) -> String {
    use axum::http::{HeaderMap, StatusCode};
    use axum::routing::{get, post};
    use axum::{Json, Router};
    let listener = std::net::TcpListener::bind("127.0.0.1:0").expect("bind");
    let addr = listener.local_addr().expect("addr").to_string();
    listener.set_nonblocking(true).expect("nonblocking");
    std::thread::spawn(move || {
        let rt = tokio::runtime::Builder::new_current_thread().enable_all().build().expect("runtime");
        rt.block_on(async move {
            let authorised =
                move |h: &HeaderMap| h.get("authorization").and_then(|v| v.to_str().ok()) == Some(&format!("Bearer {token}"));
            let a2 = authorised.clone();
            let app = Router::new()
                .route("/healthz", get(move || async move { Json(serde_json::json!({"status": "ok", "node": name})) }))
                .route(
                    "/api/v1/status",
                    get(move || async move { Json(serde_json::json!({"node": name, "store": {"documents": 7}})) }),
                )
                .route(
                    "/api/v1/admin/users",
                    post(move |h: HeaderMap| async move {
                        let status = if authorised(&h) { StatusCode::CONFLICT } else { StatusCode::UNAUTHORIZED };
                        let body = serde_json::json!({"type": "about:blank", "title": "exists", "status": 409,
                            "detail": "工号 clerk1 已存在", "code": "account.exists"});
                        (status, [("content-type", "application/problem+json")], body.to_string())
                    }),
                )
                .route(
                    "/api/v1/admin/backup",
                    post(move |h: HeaderMap| async move {
                        if a2(&h) { (StatusCode::OK, backup) } else { (StatusCode::UNAUTHORIZED, Vec::new()) }
                    }),
                );
            let listener = tokio::net::TcpListener::from_std(listener).expect("listener");
            let _ = axum::serve(listener, app).await;
        });
    });
    addr
}

#[test]
fn commands_go_through_the_running_nodes_admin_api() {
    // A real backup to serve, from an offline node.
    let (tmp, source) = init_node("hall", "hall", "410184000");
    let sample = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../schema/data/sample-catalog.toml");
    assert!(yikou(&["catalog", "import", sample.to_str().expect("utf8"), "--dir", &source]).status.success());
    let file = tmp.path().join("source.bak");
    assert!(yikou(&["backup", "--out", file.to_str().expect("utf8"), "--dir", &source]).status.success());

    let dir = tmp.path().join("running");
    let token = "ab".repeat(32);
    let addr = fake_node("running", token.clone(), std::fs::read(&file).expect("backup"));
    let out = yikou(&[
        "init",
        "--dir",
        dir.to_str().expect("utf8"),
        "--name",
        "running",
        "--role",
        "hall",
        "--scope",
        "410184000",
        "--self-signed",
        "--http",
        &addr,
    ]);
    assert!(out.status.success(), "{}", stderr(&out));
    std::fs::remove_file(dir.join("admin.token")).expect("rm");
    std::fs::write(dir.join("admin.token"), format!("{token}\n")).expect("token");
    let d = dir.to_str().expect("utf8");

    let out = yikou(&["status", "--dir", d]);
    assert!(out.status.success(), "{}", stderr(&out));
    assert!(stdout(&out).contains("正在运行") && stdout(&out).contains("documents: 7"), "{}", stdout(&out));

    let mut child = Command::new(env!("CARGO_BIN_EXE_yikou"))
        .args([
            "user",
            "add",
            "--dir",
            d,
            "--staff",
            "clerk1",
            "--name",
            "张三",
            "--role",
            "window_clerk",
            "--password-stdin",
        ])
        .stdin(std::process::Stdio::piped())
        .stdout(std::process::Stdio::piped())
        .stderr(std::process::Stdio::piped())
        .spawn()
        .expect("spawn");
    use std::io::Write;
    child.stdin.take().expect("stdin").write_all(b"Secret-123\n").expect("write");
    let out = child.wait_with_output().expect("waits");
    assert!(!out.status.success());
    assert!(
        stderr(&out).contains("工号 clerk1 已存在") && stderr(&out).contains("account.exists"),
        "{}",
        stderr(&out)
    );

    let copy = tmp.path().join("online.bak");
    let out = yikou(&["backup", "--out", copy.to_str().expect("utf8"), "--dir", d]);
    assert!(out.status.success(), "{}", stderr(&out));
    assert_eq!(std::fs::read(&copy).expect("copy"), std::fs::read(&file).expect("file"));

    // Restore refuses while the node runs.
    let out = yikou(&["restore", "--from", file.to_str().expect("utf8"), "--dir", d]);
    assert!(!out.status.success());
    assert!(stderr(&out).contains("正在运行"), "{}", stderr(&out));
}
