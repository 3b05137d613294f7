#!/usr/bin/env bash
# Comparative benchmarks (docs/BENCHMARKS.md, "Comparative benchmarks (issue 7)"): the same case
# documents synchronised (a) by Yikou between two nodes over QUIC, (b) by automerge-repo between
# two Node.js processes (WebSocket network adapter, NodeFS storage; tests/bench-js, installed
# here with `npm ci`) and (c) by Automerge alone in one process, the limit; then a reconnect
# after 100 documents changed. Writes the tables into docs/BENCHMARKS.md.
#
#   scripts/bench.sh                          # 10,000 documents (~15-20 minutes, most of it automerge-repo)
#   scripts/bench.sh --docs 2000              # fewer documents for every contender
#   scripts/bench.sh --js-limit-secs 300      # stop automerge-repo's phases after 300 s each (partial figures)
#
# Not run by CI (long). Needs Node.js 20+ and npm.
set -euo pipefail
cd "$(dirname "$0")/.."
docs=10000
changed=100
js_limit=600
while [ $# -gt 0 ]; do
  case "$1" in
    --docs) docs=$2; shift 2 ;;
    --changed) changed=$2; shift 2 ;;
    --js-limit-secs) js_limit=$2; shift 2 ;;
    *) echo "usage: scripts/bench.sh [--docs N] [--changed C] [--js-limit-secs S]" >&2; exit 2 ;;
  esac
done
cargo build --release --locked -p yikou-node --bin yikou-bench-sync >/dev/null
bench="${CARGO_TARGET_DIR:-target}/release/yikou-bench-sync"
(cd tests/bench-js && npm ci --no-audit --no-fund --loglevel=error >/dev/null)

machine="$(nproc) vCPU (nproc, shared), $(grep -m1 'model name' /proc/cpuinfo | cut -d: -f2- | sed 's/^ *//'),\
 $(free -g | awk '/Mem:/ {print $2}') GiB, Linux $(uname -r), Node.js $(node --version), release build"
commit=$(git rev-parse --short HEAD)$(git diff --quiet HEAD -- node sync schema tests/bench-js || echo "+changes")
echo "machine: $machine; commit $commit"
work=$(mktemp -d "${BENCH_DIR:-/tmp}/yikou-bench.XXXXXX")
trap 'rm -rf "$work"' EXIT
log="$work/log"

"$bench" export --dir "$work/docs" --docs "$docs" --changed "$changed" | tee -a "$log"
"$bench" compare --dir "$work/docs" | tee -a "$log"
node tests/bench-js/bench.mjs --export "$work/docs" --limit-secs "$js_limit" | tee -a "$log"

grep '^RESULT ' "$log" | sed 's/^RESULT //' >"$work/results.jsonl"
cp "$work/results.jsonl" "${BENCH_RESULTS:-/tmp/yikou-bench-results.jsonl}"
node tests/bench-js/report.mjs --results "$work/results.jsonl" --doc docs/BENCHMARKS.md \
  --command "scripts/bench.sh --docs $docs --changed $changed --js-limit-secs $js_limit" \
  --machine "$machine" --commit "$commit" --date "$(date -u '+%Y-%m-%d %H:%M UTC')"
