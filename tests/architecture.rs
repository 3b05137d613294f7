//! Architecture invariants that a compiler cannot check: `yikou-schema` stays pure.
//!
//! ARCHITECTURE.md: "schema/ is pure (no I/O, no tokio, no clock: time is passed in)". These tests
//! fail the build the day someone adds an I/O crate to the schema's dependency tree, or reads a
//! clock or a file from its source.

use std::collections::{BTreeSet, HashMap};
use std::process::Command;

use serde_json::Value;
use yikou_tests::workspace_root;

/// Crates that do I/O, own sockets, threads, files or async runtimes: never in the schema's tree.
const FORBIDDEN_IN_SCHEMA: &[&str] = &[
    "tokio",
    "mio",
    "sled",
    "quinn",
    "quinn-proto",
    "quinn-udp",
    "socket2",
    "hyper",
    "axum",
    "reqwest",
    "async-std",
    "smol",
    "rustls",
    "tokio-rustls",
    "turmoil",
    "fs2",
    "memmap2",
    "notify",
    "tracing-subscriber",
    "iana-time-zone",
    "automerge",
    "libc",
];

fn metadata() -> Value {
    let cargo = std::env::var("CARGO").unwrap_or_else(|_| "cargo".to_string());
    let out = Command::new(cargo)
        .current_dir(workspace_root())
        .args(["metadata", "--format-version", "1", "--locked"])
        .output()
        .expect("cargo metadata runs");
    assert!(out.status.success(), "cargo metadata failed: {}", String::from_utf8_lossy(&out.stderr));
    serde_json::from_slice(&out.stdout).expect("cargo metadata prints JSON")
}

/// Names of every crate in `root`'s normal (non-dev, non-build) dependency tree.
fn normal_dependency_tree(meta: &Value, root_name: &str) -> BTreeSet<String> {
    let packages = meta["packages"].as_array().expect("packages");
    let name_of: HashMap<&str, &str> =
        packages.iter().map(|p| (p["id"].as_str().expect("id"), p["name"].as_str().expect("name"))).collect();
    let nodes = meta["resolve"]["nodes"].as_array().expect("resolve nodes");
    let by_id: HashMap<&str, &Value> =
        nodes.iter().map(|n| (n["id"].as_str().expect("node id"), n)).collect();
    let root = packages
        .iter()
        .find(|p| p["name"] == root_name)
        .and_then(|p| p["id"].as_str())
        .expect("root package is in the workspace");

    let mut seen = BTreeSet::new();
    let mut stack = vec![root];
    while let Some(id) = stack.pop() {
        let node = by_id[id];
        for dep in node["deps"].as_array().expect("deps") {
            let normal = dep["dep_kinds"].as_array().expect("dep_kinds").iter().any(|k| k["kind"].is_null());
            let dep_id = dep["pkg"].as_str().expect("pkg");
            if normal && seen.insert(name_of[dep_id].to_string()) {
                stack.push(dep_id);
            }
        }
    }
    seen
}

#[test]
fn schema_depends_on_no_io_crate() {
    let meta = metadata();
    let tree = normal_dependency_tree(&meta, "yikou-schema");
    assert!(tree.contains("serde"), "the walk found the schema's dependencies: {tree:?}");
    let bad: Vec<&str> = FORBIDDEN_IN_SCHEMA.iter().copied().filter(|name| tree.contains(*name)).collect();
    assert!(bad.is_empty(), "yikou-schema must stay pure, but depends on {bad:?} (tree: {tree:?})");
}

#[test]
fn the_dependency_check_would_catch_an_io_crate() {
    // The same walk over the node's tree must see what the node owns; if the node one day has
    // no such dependency this test is updated, not deleted.
    let meta = metadata();
    let tree = normal_dependency_tree(&meta, "yikou-node");
    assert!(tree.contains("yikou-schema"));
    assert!(tree.contains("clap"));
}

#[test]
fn schema_source_reads_no_clock_and_does_no_io() {
    let forbidden = [
        "std::fs",
        "std::net",
        "std::io::stdin",
        "std::env",
        "std::thread",
        "SystemTime",
        "Instant::now",
        "Utc::now",
        "Local::now",
        "std::process",
    ];
    let dir = workspace_root().join("schema/src");
    let mut offences = Vec::new();
    let mut stack = vec![dir];
    while let Some(dir) = stack.pop() {
        for entry in std::fs::read_dir(&dir).expect("schema/src readable") {
            let path = entry.expect("dir entry").path();
            if path.is_dir() {
                stack.push(path);
            } else if path.extension().is_some_and(|e| e == "rs") {
                let text = std::fs::read_to_string(&path).expect("source readable");
                for (no, line) in text.lines().enumerate() {
                    for word in forbidden {
                        if line.contains(word) {
                            offences.push(format!("{}:{}: {word}", path.display(), no + 1));
                        }
                    }
                }
            }
        }
    }
    assert!(offences.is_empty(), "schema must not do I/O or read a clock:\n{}", offences.join("\n"));
}
