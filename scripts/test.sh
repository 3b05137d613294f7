#!/usr/bin/env bash
# Runs Yikou's whole test suite on a fresh machine. Installs whatever the tests need first
# (the Rust toolchain the machine already has; the JavaScript Automerge package for the document
# interop test; Chromium and playwright-core for the console's browser tests), never by hand.
set -euo pipefail
cd "$(dirname "$0")/.."

if ! command -v cargo >/dev/null 2>&1; then
  echo "cargo not found: install the Rust toolchain (rustup) first" >&2
  exit 1
fi

# One seed for every randomised test of this run: ours read YIKOU_SEED, proptest reads
# PROPTEST_RNG_SEED. Printed so that a failure can be replayed.
seed="${YIKOU_SEED:-${PROPTEST_RNG_SEED:-$(od -An -N4 -tu4 /dev/urandom | tr -d ' ')}}"
export YIKOU_SEED="$seed" PROPTEST_RNG_SEED="$seed"
echo "randomised tests seed: $seed (replay: YIKOU_SEED=$seed PROPTEST_RNG_SEED=$seed scripts/test.sh)"

# The JavaScript interop test (node/tests/js_interop.rs) loads a saved case with the npm package
# pinned in tests/js/package-lock.json.
if ! command -v node >/dev/null 2>&1 || ! command -v npm >/dev/null 2>&1; then
  if command -v apt-get >/dev/null 2>&1 && [ "$(id -u)" = 0 ]; then
    echo "installing Node.js and npm from Debian's packages (the document interop test needs them)"
    apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq nodejs npm >/dev/null
  fi
fi
for tool in node npm; do
  if ! command -v "$tool" >/dev/null 2>&1; then
    echo "$tool not found: install Node.js 20 or newer (with npm); the document interop test needs it" >&2
    exit 1
  fi
done
(cd tests/js && npm ci --no-audit --no-fund)

# The console's browser tests (node/tests/console.rs) drive Debian's Chromium through
# playwright-core (pinned in tests/js/package-lock.json; it downloads no browser of its own).
# A CJK font makes the Chinese pages legible in the screenshots they save.
chromium_bin="${YIKOU_CHROMIUM:-$(command -v chromium || true)}"
if [ -z "$chromium_bin" ] || ! fc-list :lang=zh 2>/dev/null | grep -q .; then
  if command -v apt-get >/dev/null 2>&1 && [ "$(id -u)" = 0 ]; then
    echo "installing Chromium and a CJK font from Debian's packages (the console's browser tests need them)"
    apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq chromium fonts-noto-cjk >/dev/null
    chromium_bin="${YIKOU_CHROMIUM:-$(command -v chromium || true)}"
  fi
fi
if [ -z "$chromium_bin" ]; then
  echo "chromium not found: install Debian's chromium package (apt-get install chromium), or set" >&2
  echo "YIKOU_CHROMIUM to a Chromium binary; the console's browser tests need it" >&2
  exit 1
fi
export YIKOU_CHROMIUM="$chromium_bin"
echo "browser tests use $("$chromium_bin" --version 2>/dev/null || echo "$chromium_bin")"

log="$(mktemp)"
trap 'rm -f "$log"' EXIT
# Doc tests are not part of --all-targets; run them first so the run closes on the full suite.
cargo test --workspace --locked --doc 2>&1 | tee "$log"
cargo test --workspace --locked --all-targets "$@" 2>&1 | tee -a "$log"

# The fault suite's CI part (docs/RELIABILITY.md): real node processes through a partition, a
# SIGKILL of the hall under load and a lossy link; every acknowledged case must be found everywhere
# (about 2 minutes on 2 cores, reusing the debug build above). Its table closes with "faults:".
faults_status=0
scripts/faults.sh --ci 2>&1 | tee -a "$log" || faults_status=$?

# One closing line over every test binary of the run.
awk '/^test result:/ { for (i = 1; i <= NF; i++) { if ($(i+1) ~ /^passed/) p += $i; if ($(i+1) ~ /^failed/) f += $i } }
     END { printf "total: %d passed, %d failed\n", p, f }' "$log"
if [ "$faults_status" != 0 ]; then
  echo "fault suite (CI part) failed: see its table above" >&2
  exit "$faults_status"
fi
