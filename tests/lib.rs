//! Workspace-level integration tests for Yikou. The tests themselves are the `[[test]]` targets
//! of this package (see `Cargo.toml`); this library holds what they share.

use std::path::PathBuf;

/// The workspace root (the folder holding the top-level `Cargo.toml`).
pub fn workspace_root() -> PathBuf {
    let here = PathBuf::from(env!("CARGO_MANIFEST_DIR"));
    // tests/ sits directly under the workspace root.
    here.parent().map(PathBuf::from).unwrap_or(here)
}
