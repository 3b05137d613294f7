#!/usr/bin/env bash
# Long runs of the replication simulation (node/tests/simulation.rs): `count` seeds from `start`
# (default: 10,000 seeds from 0), in release mode, on every core. Prints progress every 100 seeds
# and, on failure, the first failing seed with its report and the command that replays it.
# The simulation's knobs pass through (YIKOU_SIM_STEPS, YIKOU_SIM_FAULTS, YIKOU_SIM_KEEP_GOING…).
#
#   scripts/sim.sh                 # seeds 0..10000
#   scripts/sim.sh 500 20000       # seeds 20000..20500
#   YIKOU_SIM_STEPS=1000 scripts/sim.sh 200
set -euo pipefail
cd "$(dirname "$0")/.."

count="${1:-10000}"
start="${2:-0}"
case "$count$start" in
  *[!0-9]*) echo "usage: scripts/sim.sh [count] [start]  (whole numbers)" >&2; exit 2 ;;
esac
end=$((start + count))

echo "replication simulation: seeds $start..$end (${YIKOU_SIM_STEPS:-300} steps each), release build"
cargo build --release -p yikou-node --test simulation --quiet
log="$(mktemp)"
trap 'rm -f "$log"' EXIT
began=$(date +%s)
set +e
YIKOU_SIM_SEEDS="$start..$end" cargo test --release -q -p yikou-node --test simulation \
  seeded_runs_converge_and_lose_no_acknowledged_change -- --nocapture >"$log" 2>&1 &
test_pid=$!
# Progress as it comes.
tail -n +1 -f "$log" --pid "$test_pid" | grep --line-buffered -E '^progress:'
wait "$test_pid"
status=$?
set -e
elapsed=$(($(date +%s) - began))
passed=$(grep -c '^simulation seed [0-9]*: ' "$log" || true)
if [ "$status" -ne 0 ]; then
  first=$(sed -n 's/.*first failing seed \([0-9]*\).*/\1/p' "$log" | head -n 1)
  failing=$(sed -n 's/^simulation failed for seeds \(\[.*\]\);.*/\1/p' "$log" | head -n 1)
  echo "FAILED after ${elapsed} s: $passed seeds passed; failing seeds: ${failing:-?}; first failing seed: ${first:-unknown}"
  if [ -n "$first" ]; then
    # That seed's report: reason, parameters, figures, last events, replay command.
    awk -v s="simulation seed $first failed" 'index($0, s) { p = 1 } p { print; if (/^ *replay:/) exit }' "$log"
  else
    tail -n 40 "$log"
  fi
  exit 1
fi
echo "all $count seeds passed in ${elapsed} s"
