#!/usr/bin/env bash
# Runs Yikou's whole test suite on a fresh machine. Installs whatever the tests need first
# (today only the Rust toolchain the machine already has; later issues add Node.js packages and
# Chromium here, never by hand).
set -euo pipefail
cd "$(dirname "$0")/.."

if ! command -v cargo >/dev/null 2>&1; then
  echo "cargo not found: install the Rust toolchain (rustup) first" >&2
  exit 1
fi

# Randomised tests print their seed; set YIKOU_SEED to replay one.
cargo test --workspace --locked --all-targets "$@"
# Doc tests are not part of --all-targets.
cargo test --workspace --locked --doc
