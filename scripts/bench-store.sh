#!/usr/bin/env bash
# Case-store benchmarks (docs/BENCHMARKS.md). Each figure is printed beside the baseline measured
# in the same run: the raw 4 KiB write + fsync rate of the same disk, the in-memory store, and a
# 10,000-case store for the queries that must not grow with the store.
#
#   scripts/bench-store.sh                  # large store of 100,000 cases (~1 minute to build)
#   CASES=1000000 scripts/bench-store.sh    # the 1,000,000-case figures (~12 minutes to build, ~9 GB)
set -euo pipefail
cd "$(dirname "$0")/.."
cargo build --release --locked -p yikou-node --bin yikou-bench-store >/dev/null
bench=target/release/yikou-bench-store
cases="${CASES:-100000}"
dir="$(mktemp -d "${BENCH_DIR:-/tmp}/yikou-bench.XXXXXX")"
trap 'rm -rf "$dir"' EXIT

echo "machine: $(nproc) cores, $(free -g | awk '/Mem:/ {print $2}') GiB, Linux $(uname -r)"
"$bench" fsync
"$bench" create 1 2000
"$bench" create 32 6400
"$bench" create-receipt 1 2000
"$bench" create-receipt 32 6400
BENCH_MEM=1 "$bench" create 1 2000
BENCH_MEM=1 "$bench" create 32 6400
"$bench" fsync

"$bench" build "$dir/small" 10000
"$bench" build "$dir/large" "$cases"
drop_caches() { sync; echo 3 > /proc/sys/vm/drop_caches 2>/dev/null || echo "(page cache not dropped: not root)"; }
for store in small large; do
  drop_caches
  "$bench" open "$dir/$store"   # cold
  "$bench" open "$dir/$store"   # warm
  "$bench" feed "$dir/$store"
done
