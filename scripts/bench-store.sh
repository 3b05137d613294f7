#!/usr/bin/env bash
# Case-store benchmarks (docs/BENCHMARKS.md). Each figure is printed beside the baseline measured
# in the same run: the raw 4 KiB write + fsync rate of the same disk.
#
#   scripts/bench-store.sh            # creations (1 and 32 writers), fsync baseline, feed cost on 100,000 cases
#   CASES=1000000 scripts/bench-store.sh   # also builds a 1,000,000-case store and measures opening it
set -euo pipefail
cd "$(dirname "$0")/.."
cargo build --release --locked -p yikou-node --bin yikou-bench-store >/dev/null
bench=target/release/yikou-bench-store
cases="${CASES:-100000}"
dir="${BENCH_DIR:-$(mktemp -d)}"

echo "machine: $(nproc) cores, $(free -g | awk '/Mem:/ {print $2}') GiB, $(uname -r)"
"$bench" fsync
"$bench" create 1 2000
"$bench" create 32 6400
"$bench" build "$dir/store" "$cases"
"$bench" open "$dir/store"
"$bench" feed "$dir/store"
"$bench" fsync
