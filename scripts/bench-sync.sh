#!/usr/bin/env bash
# Replication benchmarks (docs/BENCHMARKS.md, "Replication (issue 4)"): two nodes in one process
# over loopback QUIC with mutual TLS, each figure beside its baseline measured in the same run
# (Automerge save + load of the same documents; the same session driven in-process; the
# changes' own encoded size; a store of 10,000 beside the large one).
#
#   scripts/bench-sync.sh                 # 10,000 and 100,000 cases (~7 minutes, ~2 GB in BENCH_DIR)
#   BENCH_LARGE=1 scripts/bench-sync.sh   # also 1,000,000 cases (30-45 minutes more, ~17 GB in BENCH_DIR)
set -euo pipefail
cd "$(dirname "$0")/.."
cargo build --release --locked -p yikou-node --bin yikou-bench-sync >/dev/null
bench=target/release/yikou-bench-sync

echo "machine: $(nproc) cores (nproc), $(grep -m1 'model name' /proc/cpuinfo | cut -d: -f2- | sed 's/^ *//'),"\
  "$(free -g | awk '/Mem:/ {print $2}') GiB, Linux $(uname -r)"
# Reconnect and catch-up at 10,000 held, and the catch-up through the lossy relay.
"$bench" pair --docs 10000 --relay
# Bootstrap of 100,000 cases against Automerge save + load of the same documents.
"$bench" pair --docs 100000 --baseline --profile
if [ "${BENCH_LARGE:-0}" = 1 ]; then
  # 1,000,000 cases with their receipt only (to build the store in minutes, not an hour), and
  # the same kind of cases at 10,000 for the comparison.
  "$bench" pair --docs 10000 --receipt
  "$bench" pair --docs 1000000 --receipt --baseline --profile
fi
