//! Every rule ID of T and W in `docs/RULES.md` (a copy of the project's shared rules) is named by
//! at least one test as `rule <ID>`, so that `grep -rn "rule T3.6"` finds its proof.

use std::collections::BTreeSet;
use std::path::Path;

use yikou_tests::workspace_root;

/// Rule IDs as RULES.md writes them: `**T3.6**`, `**W1 Queue…**`.
fn rule_ids(text: &str) -> BTreeSet<String> {
    let mut ids = BTreeSet::new();
    for piece in text.split("**").skip(1).step_by(2) {
        let id: String = piece.chars().take_while(|c| c.is_ascii_alphanumeric() || *c == '.').collect();
        let id = id.trim_end_matches('.');
        let mut chars = id.chars();
        if matches!(chars.next(), Some('T' | 'W' | 'O')) && chars.next().is_some_and(|c| c.is_ascii_digit()) {
            ids.insert(id.to_string());
        }
    }
    ids
}

fn rust_sources(dir: &Path, out: &mut Vec<String>) {
    let Ok(entries) = std::fs::read_dir(dir) else { return };
    for entry in entries.flatten() {
        let path = entry.path();
        let name = entry.file_name();
        if name == "target" || name == ".git" {
            continue;
        }
        if path.is_dir() {
            rust_sources(&path, out);
        } else if path.extension().is_some_and(|e| e == "rs") {
            out.push(std::fs::read_to_string(&path).expect("readable source"));
        }
    }
}

/// Whether some source names `rule <id>` not followed by a digit or a dot-digit (so that
/// `rule T3.1` does not count for `T3.10`, nor `rule T3` for `T3.1`).
fn named(sources: &[String], id: &str) -> bool {
    let needle = format!("rule {id}");
    sources.iter().any(|s| {
        s.match_indices(&needle).any(|(at, _)| {
            let rest = &s[at + needle.len()..];
            let mut chars = rest.chars();
            match chars.next() {
                Some(c) if c.is_ascii_digit() => false,
                Some('.') => !chars.next().is_some_and(|c| c.is_ascii_digit()),
                _ => true,
            }
        })
    })
}

#[test]
fn every_t_and_w_rule_has_a_test_that_names_it() {
    let root = workspace_root();
    let rules = std::fs::read_to_string(root.join("docs/RULES.md")).expect("docs/RULES.md");
    let ids = rule_ids(&rules);
    assert!(ids.contains("T3.6") && ids.contains("W11"), "parsed IDs: {ids:?}");
    let mut sources = Vec::new();
    rust_sources(&root, &mut sources);
    let missing: Vec<&String> = ids
        .iter()
        .filter(|id| id.starts_with('T') || id.starts_with('W'))
        // A parent (T3, W1) is proven by its children.
        .filter(|id| !ids.iter().any(|child| child.starts_with(&format!("{id}."))))
        .filter(|id| !named(&sources, id))
        .collect();
    assert!(missing.is_empty(), "rules without a test naming them: {missing:?}");
}

#[test]
fn the_matcher_tells_rule_ids_apart() {
    let sources = vec!["// rule T3.1: x".to_string(), "// rule W1 and rule W10".to_string()];
    assert!(named(&sources, "T3.1"));
    assert!(!named(&sources, "T3"));
    assert!(named(&sources, "W1"));
    assert!(named(&sources, "W10"));
    assert!(!named(&sources, "W11"));
}
