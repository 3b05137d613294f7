#!/usr/bin/env bash
# Runs Yikou's fuzz targets (fuzz/, cargo-fuzz + libFuzzer) for a given time each.
#
#   scripts/fuzz.sh [seconds-per-target] [target...]     (default: 60 s, every target)
#
# Needs a nightly toolchain (cargo-fuzz builds with sanitizer flags only nightly accepts):
# `rustup toolchain install nightly`. Installs cargo-fuzz with `cargo install` when missing.
# CI does not run this: the seeds and every crasher are replayed on stable by the
# */tests/fuzz_regressions.rs tests (scripts/test.sh).
#
# Each target starts from its committed seeds (fuzz/seeds/<target>/) plus the corpus earlier runs
# grew (fuzz/corpus/<target>/, not committed). Reports per target: executions, CPU seconds,
# crashes. A crasher is copied to fuzz/regressions/<target>/ (commit it with its fix: the
# regression tests replay it from then on).
#
# Environment: FUZZ_JOBS (parallel workers per target, default 1), FUZZ_SANITIZER (none |
# address, default none: the code under test forbids `unsafe`, and ASan halves the throughput),
# FUZZ_RSS_MB (memory limit per worker, default 2048).
set -euo pipefail
cd "$(dirname "$0")/.."

seconds="${1:-60}"
shift || true
all=(wire_decode session_sequence doc_load api_bodies catalog_toml calendar_toml)
targets=("$@")
[ ${#targets[@]} -eq 0 ] && targets=("${all[@]}")
jobs="${FUZZ_JOBS:-1}"
sanitizer="${FUZZ_SANITIZER:-none}"
rss_mb="${FUZZ_RSS_MB:-2048}"

if ! [[ "$seconds" =~ ^[0-9]+$ ]] || [ "$seconds" -eq 0 ]; then
  echo "usage: scripts/fuzz.sh [seconds-per-target] [target...]   targets: ${all[*]}" >&2
  exit 2
fi
for t in "${targets[@]}"; do
  if [[ ! " ${all[*]} " =~ " $t " ]]; then
    echo "unknown target '$t'; targets: ${all[*]}" >&2
    exit 2
  fi
done

if ! rustup run nightly rustc --version >/dev/null 2>&1; then
  echo "fuzzing needs a nightly Rust toolchain (cargo-fuzz passes -Z flags to rustc)." >&2
  echo "install it with: rustup toolchain install nightly" >&2
  exit 1
fi
if ! cargo fuzz --version >/dev/null 2>&1; then
  echo "cargo-fuzz not found: installing it (cargo install cargo-fuzz --locked)"
  cargo install cargo-fuzz --locked
fi

cd fuzz
flags=(-O -a -s "$sanitizer")
echo "building the fuzz targets (nightly, release with debug assertions, sanitizer: $sanitizer)"
if ! cargo +nightly fuzz build "${flags[@]}" >build.log 2>&1; then
  cat build.log >&2
  exit 1
fi
rm -f build.log

report=()
status=0
for t in "${targets[@]}"; do
  mkdir -p "corpus/$t" "artifacts/$t" "regressions/$t"
  log="artifacts/$t/last-run.log"
  marker="artifacts/$t/.run-start"
  touch "$marker"
  echo "fuzzing $t for ${seconds}s ($jobs worker(s))"
  # CPU time: user + system ticks of this shell's finished children, before and after the run.
  ticks=$(getconf CLK_TCK)
  start_cpu=$(awk '{print $16 + $17}' /proc/$$/stat)
  set +e
  parallel=()
  [ "$jobs" -gt 1 ] && parallel=(-jobs="$jobs" -workers="$jobs")
  cargo +nightly fuzz run "${flags[@]}" "$t" "corpus/$t" "seeds/$t" -- \
    -max_total_time="$seconds" -timeout=10 -rss_limit_mb="$rss_mb" "${parallel[@]}" \
    -print_final_stats=1 >"$log" 2>&1
  rc=$?
  set -e
  end_cpu=$(awk '{print $16 + $17}' /proc/$$/stat)
  cpu=$(( (end_cpu - start_cpu) / ticks ))
  shopt -s nullglob
  workers=(fuzz-*.log)
  shopt -u nullglob
  runs=$(awk '/stat::number_of_executed_units/ {s += $2} END {print s + 0}' "$log" "${workers[@]}")
  [ ${#workers[@]} -gt 0 ] && cat "${workers[@]}" >>"$log"
  rm -f "${workers[@]}"
  crashes=0
  while IFS= read -r f; do
    crashes=$((crashes + 1))
    cp "$f" "regressions/$t/"
    echo "  crasher: fuzz/$f (copied to fuzz/regressions/$t/)"
  done < <(find "artifacts/$t" -type f -newer "$marker" \( -name 'crash-*' -o -name 'oom-*' -o -name 'timeout-*' -o -name 'leak-*' \))
  if [ "$rc" -ne 0 ]; then status=1; fi
  report+=("$(printf '%-18s runs %12s   cpu %6ss   crashes %s%s' "$t" "$runs" "$cpu" "$crashes" \
    "$([ "$rc" -ne 0 ] && echo "   (exit $rc: see fuzz/$log)")")")
done

echo
echo "fuzzing report (${seconds}s per target, commit $(git rev-parse --short HEAD), $(uname -srm), $(nproc) cpu)"
printf '%s\n' "${report[@]}"
exit "$status"
