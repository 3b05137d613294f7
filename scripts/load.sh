#!/usr/bin/env bash
# Load test of one node's HTTP API (docs/BENCHMARKS.md, "Load"): a real node in a temp data
# directory, 200 concurrent clients (each its own session and keep-alive connection) running
# 60 % queries, 25 % intakes and 15 % steps for 60 s; throughput, p50/p90/p99/max per request
# kind, errors by code. The rate limiter is configured away (429s would be counted apart);
# `scripts/load.sh --rate-limit` keeps the node's default limit.
#
#   scripts/load.sh                         # 200 clients, 60 s (~2 minutes with the build)
#   scripts/load.sh --clients 50 --secs 20  # any option of yikou-load
set -euo pipefail
cd "$(dirname "$0")/.."
cargo build --release --locked -p yikou-node --bin yikou-load >/dev/null
echo "machine: $(nproc) cores (nproc), $(grep -m1 'model name' /proc/cpuinfo | cut -d: -f2- | sed 's/^ *//'),"\
  "$(free -g | awk '/Mem:/ {print $2}') GiB, Linux $(uname -r); commit $(git rev-parse --short HEAD)"
"${CARGO_TARGET_DIR:-target}/release/yikou-load" "$@"
