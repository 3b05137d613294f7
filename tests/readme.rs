//! The README's operator commands work as written: every line of the form
//! `cargo run -q -p yikou-node -- ARGS   # EXPECTED` is run and must print EXPECTED.

use std::process::Command;

use yikou_tests::workspace_root;

/// Splits a shell-like argument string (double quotes group words).
fn words(line: &str) -> Vec<String> {
    let mut out = Vec::new();
    let mut current = String::new();
    let mut quoted = false;
    for c in line.chars() {
        match c {
            '"' => quoted = !quoted,
            ' ' if !quoted => {
                if !current.is_empty() {
                    out.push(std::mem::take(&mut current));
                }
            }
            c => current.push(c),
        }
    }
    if !current.is_empty() {
        out.push(current);
    }
    out
}

#[test]
fn readme_commands_print_what_the_readme_says() {
    let root = workspace_root();
    let readme = std::fs::read_to_string(root.join("README.md")).expect("README.md");
    let prefix = "cargo run -q -p yikou-node -- ";
    let mut checked = 0;
    for line in readme.lines() {
        let Some(rest) = line.strip_prefix(prefix) else { continue };
        let Some((args, expected)) = rest.split_once('#') else { continue };
        let cargo = std::env::var("CARGO").unwrap_or_else(|_| "cargo".to_string());
        let mut cmd = Command::new(cargo);
        cmd.current_dir(&root).args(["run", "-q", "-p", "yikou-node", "--"]).args(words(args.trim()));
        let out = cmd.output().expect("cargo runs");
        assert!(out.status.success(), "`{line}` failed: {}", String::from_utf8_lossy(&out.stderr));
        assert_eq!(String::from_utf8_lossy(&out.stdout).trim(), expected.trim(), "`{line}`");
        checked += 1;
    }
    assert!(checked >= 2, "the README shows commands with their output ({checked} found)");
}
