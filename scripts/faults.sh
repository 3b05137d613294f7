#!/usr/bin/env bash
# The real-process fault suite (docs/RELIABILITY.md): a hall and township `yikou run` processes
# connected through lossy user-space relays, intake through HTTP from concurrent clients, a fault
# injected, then every acknowledged case checked at every node it belongs to. Prints a table
# (scenario, cases acknowledged, cases found, time to converge); exits non-zero on any loss or
# non-convergence.
#
#   scripts/faults.sh                      # every scenario, release build (~6 minutes on 2 cores)
#   scripts/faults.sh --ci                 # partition, kill-hall, loss; debug build, shorter phases
#   scripts/faults.sh restore full-disk    # some scenarios (release)
#   scripts/faults.sh --ci clock-skew      # one scenario with the CI build and timing
#
# Extra options go to the orchestrator: --seed N (replay), --keep (keep the data dirs and logs),
# --no-mount (full-disk: use RLIMIT_FSIZE even where a small tmpfs can be mounted). Set
# CARGO_TARGET_DIR as for cargo.
set -euo pipefail
cd "$(dirname "$0")/.."

profile=release
args=()
while [ $# -gt 0 ]; do
  case "$1" in
    --ci) profile=debug; args+=("$1") ;;
    --seed|--scenario) args+=("$1" "${2:?$1 needs a value}"); shift ;;
    -*) args+=("$1") ;;
    *) args+=(--scenario "$1") ;;
  esac
  shift
done

# The CI part reuses the debug build that the cargo tests already made (a release build from
# scratch takes longer than the whole CI part).
if [ "$profile" = release ]; then
  cargo build --release --locked -q -p yikou-node --bin yikou --bin yikou-faults
else
  cargo build --locked -q -p yikou-node --bin yikou --bin yikou-faults
fi
target="${CARGO_TARGET_DIR:-target}"
echo "machine: $(nproc) cores, $(grep -m1 'model name' /proc/cpuinfo | cut -d: -f2- | sed 's/^ *//'),"\
  "commit $(git rev-parse --short HEAD 2>/dev/null || echo unknown), $profile build"
exec "$target/$profile/yikou-faults" "${args[@]}"
