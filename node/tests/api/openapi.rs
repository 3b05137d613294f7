//! The OpenAPI document: valid OpenAPI 3.1 by an independent validator (Node.js,
//! `@readme/openapi-parser`, pinned in tests/js/package.json), and in step with the router both
//! ways: every route the source registers is documented, and every documented operation is served.

use std::collections::BTreeSet;
use std::path::{Path, PathBuf};
use std::process::Command;

use serde_json::{Value, json};
use yikou_node::api::ApiConfig;
use yikou_node::api::openapi::{document, listed_routes};
use yikou_node::api::routes::STEPS;

use crate::harness::Api;

fn js_dir() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../tests/js")
}

/// The document as served, validated by tests/js/validate-openapi.mjs.
#[tokio::test]
async fn openapi_document_is_valid_openapi_3_1() {
    let api = Api::hall().await;
    let (status, ctype, bytes) = api.raw("GET", "/api/v1/openapi.json", None, None).await;
    assert_eq!(status, 200);
    assert!(ctype.starts_with("application/json"), "{ctype}");
    let served: Value = serde_json::from_slice(&bytes).expect("JSON");
    assert_eq!(served["openapi"], "3.1.0");
    assert_eq!(served, document(), "the served document is the library's");

    let dir = js_dir();
    let package = dir.join("node_modules/@readme/openapi-parser/package.json");
    assert!(
        package.is_file(),
        "the OpenAPI validator is not installed ({} is missing): run scripts/test.sh, which runs \
         `npm ci` in tests/js (needs Node.js 20+ and npm)",
        package.display()
    );
    let tmp = tempfile::tempdir().expect("temp dir");
    let file = tmp.path().join("openapi.json");
    std::fs::write(&file, &bytes).expect("writes the document");
    let out = Command::new("node")
        .arg(dir.join("validate-openapi.mjs"))
        .arg(&file)
        .current_dir(&dir)
        .output()
        .unwrap_or_else(|e| panic!("cannot run `node` ({e}): install Node.js 20+, then run scripts/test.sh"));
    let stdout = String::from_utf8_lossy(&out.stdout);
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(out.status.success(), "the OpenAPI document is not valid ({}):\n{stderr}\n{stdout}", out.status);
    let paths = served["paths"].as_object().map_or(0, |p| p.len());
    assert_eq!(stdout.trim(), format!("valid 3.1.0 {paths}"), "{stderr}");
}

/// The validator really validates: a broken document fails with its message.
#[test]
fn the_validator_rejects_a_broken_document() {
    let dir = js_dir();
    if !dir.join("node_modules/@readme/openapi-parser/package.json").is_file() {
        panic!("the OpenAPI validator is not installed: run scripts/test.sh (npm ci in tests/js)");
    }
    let mut broken = document();
    broken["paths"]["/healthz"]["get"]["responses"] = json!("none");
    broken["info"].as_object_mut().expect("info").remove("title");
    let tmp = tempfile::tempdir().expect("temp dir");
    let file = tmp.path().join("broken.json");
    std::fs::write(&file, broken.to_string()).expect("writes");
    let out = Command::new("node")
        .arg(dir.join("validate-openapi.mjs"))
        .arg(&file)
        .current_dir(&dir)
        .output()
        .unwrap_or_else(|e| panic!("cannot run `node` ({e}): install Node.js 20+, then run scripts/test.sh"));
    assert!(!out.status.success(), "a document without info.title must fail");
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(stderr.contains("title"), "the validator names the problem: {stderr}");
}

/// The end of the call that starts at `open` (the index of its `(`), by balanced parentheses
/// outside string literals.
fn call_end(src: &str, open: usize) -> usize {
    let bytes = src.as_bytes();
    let (mut depth, mut i, mut in_str) = (0usize, open, false);
    while i < bytes.len() {
        match bytes[i] {
            b'\\' if in_str => i += 1,
            b'"' => in_str = !in_str,
            b'(' if !in_str => depth += 1,
            b')' if !in_str => {
                depth -= 1;
                if depth == 0 {
                    return i;
                }
            }
            _ => {}
        }
        i += 1;
    }
    panic!("unbalanced call at byte {open}");
}

const METHODS: [&str; 5] = ["get", "post", "put", "delete", "patch"];

/// The HTTP methods of a method router expression such as `post(intake).get(list_cases)`: the
/// method-router calls at its top level only (not words inside their arguments).
fn methods_of(expr: &str) -> Vec<String> {
    let bytes = expr.as_bytes();
    let mut out = Vec::new();
    let mut i = 0;
    while i < bytes.len() {
        let starts_call = i == 0 || matches!(bytes[i - 1], b'.' | b' ' | b'\n');
        let method = METHODS.iter().find(|m| starts_call && expr[i..].starts_with(&format!("{m}(")));
        match method {
            Some(m) => {
                out.push(m.to_uppercase());
                i = call_end(expr, i + m.len()) + 1;
            }
            None if bytes[i] == b'(' => i = call_end(expr, i) + 1,
            None => i += 1,
        }
    }
    out
}

/// Every (method, path) the source of the API registers: `.route("…", get(..).post(..))` literals
/// in node/src/api/*.rs, and the step routes (`STEPS`, registered with `post` in a loop).
fn routes_in_source() -> BTreeSet<(String, String)> {
    let dir = Path::new(env!("CARGO_MANIFEST_DIR")).join("src/api");
    let mut found = BTreeSet::new();
    let mut files: Vec<PathBuf> =
        std::fs::read_dir(&dir).expect("src/api").filter_map(|e| e.ok().map(|e| e.path())).collect();
    files.sort();
    for file in files.iter().filter(|f| f.extension().is_some_and(|e| e == "rs")) {
        let src = std::fs::read_to_string(file).expect("source");
        for (at, _) in src.match_indices(".route(") {
            let open = at + ".route".len();
            let call = &src[open + 1..call_end(&src, open)];
            let call = call.trim_start();
            if let Some(rest) = call.strip_prefix('"') {
                let end = rest.find('"').expect("closing quote");
                let path = &rest[..end];
                let handlers = rest[end + 1..].trim_start().trim_start_matches(',');
                let methods = methods_of(handlers.trim());
                assert!(!methods.is_empty(), "{}: no method for {path}", file.display());
                found.extend(methods.into_iter().map(|m| (m, path.to_string())));
            } else if call.starts_with("&format!(\"/api/v1/cases/{{id}}/{}\", step.path)") {
                let handlers = call.split_once("step.path),").expect("handlers").1;
                assert_eq!(methods_of(handlers.trim()), ["POST"], "steps are POST routes");
                found.extend(
                    STEPS.iter().map(|s| ("POST".to_string(), format!("/api/v1/cases/{{id}}/{}", s.path))),
                );
            } else {
                panic!(
                    "{}: a route whose path the test cannot read: .route({})",
                    file.display(),
                    &call[..60.min(call.len())]
                );
            }
        }
    }
    // The STEPS table in the source and the constant agree.
    let routes_rs = std::fs::read_to_string(dir.join("routes.rs")).expect("routes.rs");
    let table = routes_rs.split_once("pub const STEPS").expect("STEPS in routes.rs").1;
    let table = table.split_once("];").expect("end of STEPS").0;
    let steps_in_source = table.matches("path: \"").count();
    assert_eq!(steps_in_source, STEPS.len(), "every STEPS entry of routes.rs is in the constant");
    found
}

/// Every route the router serves is in the OpenAPI document, and every operation the document
/// lists is a route of the source.
#[test]
fn every_route_is_documented_and_every_documented_route_exists() {
    let source = routes_in_source();
    assert!(source.len() > 50, "the parser found the routes: {source:?}");
    assert!(source.contains(&("POST".into(), "/api/v1/cases".into())));
    assert!(source.contains(&("GET".into(), "/api/v1/cases".into())));
    assert!(source.contains(&("POST".into(), "/api/v1/cases/{id}/tolerance-accept".into())));
    let listed: BTreeSet<(String, String)> = listed_routes().into_iter().collect();
    let undocumented: Vec<_> = source.difference(&listed).collect();
    let unserved: Vec<_> = listed.difference(&source).collect();
    assert!(undocumented.is_empty(), "routes missing from the OpenAPI document: {undocumented:?}");
    assert!(unserved.is_empty(), "documented operations no route serves: {unserved:?}");
}

fn placeholder(name: &str) -> String {
    match name {
        "id" => "410184000260310000001".into(),
        "kind" => "commitment".into(),
        "hash" => "0".repeat(64),
        "staff" => "nobody01".into(),
        "code" => "BDC001".into(),
        other => format!("x-{other}"),
    }
}

/// Every documented (method, path), called with placeholder ids, reaches a handler: the answer is
/// never the router's own `route.not_found` or `route.method_not_allowed`.
#[tokio::test]
async fn every_documented_operation_is_routed() {
    let api = Api::new(true, ApiConfig { burst: 10_000, ..ApiConfig::default() }).await;
    let clerk = api.login("clerk01").await;
    let listed = listed_routes();
    assert!(listed.len() > 50);
    for (method, path) in listed {
        let concrete: String = path
            .split('/')
            .map(|s| match s.strip_prefix('{').and_then(|s| s.strip_suffix('}')) {
                Some(name) => placeholder(name),
                None => s.to_string(),
            })
            .collect::<Vec<_>>()
            .join("/");
        let body = matches!(method.as_str(), "POST" | "PUT").then(|| ("application/json", b"{}".to_vec()));
        let (status, _, bytes) = api.raw(&method, &concrete, Some(&clerk), body).await;
        let answer: Value = serde_json::from_slice(&bytes).unwrap_or(Value::Null);
        let code = answer["code"].as_str().unwrap_or("");
        assert!(
            !code.starts_with("route.") && status != 405,
            "{method} {concrete} (documented as {path}) is not routed: {status} {answer}"
        );
    }
}
