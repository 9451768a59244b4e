#!/usr/bin/env bash
# Builds the libFuzzer targets (own scratch path: .build-fuzz) and fuzzes each for FUZZ_SECONDS (default 600),
# starting from fixtures/fuzz/<target>/ (seeds + earlier findings). New coverage goes to .fuzz/corpus/<target>/;
# a crash, leak, timeout or OOM is written to fixtures/fuzz/<target>/ (crash-*, leak-*, timeout-*, oom-*), where
# `make test` replays it as a regression test (ReliabilityTests/FuzzCorpusTests). Prints one line per target
# and exits 1 if any target found anything.
#   FuzzTesting/run.sh [target ...]        FUZZ_SECONDS=60 FuzzTesting/run.sh lz4 proof
set -uo pipefail
repo=$(cd "$(dirname "$0")/.." && pwd)
cd "$repo"
seconds=${FUZZ_SECONDS:-600}
all="segment-header open-segment record sealed-segment lz4 cursor envelope-json handoff manifest signed-note head proof contracts store-files legacy-ko legacy-decisions legacy-session"
targets=${*:-$all}
start=$(date +%s.%N)
swift build --package-path FuzzTesting --scratch-path .build-fuzz --sanitize=fuzzer -Xswiftc -sanitize=fuzzer,address \
  2>&1 | grep -E "error|warning: |Build complete" | grep -vE "mktemp|Cannot export local symbol" || true
[ -x .build-fuzz/debug/FuzzLz4 ] || { echo "fuzz: the build failed"; exit 1; }
awk "BEGIN{printf \"fuzz build time: %.1f s\\n\", $(date +%s.%N) - $start}"
mkdir -p .fuzz/logs
# Swift's own crash backtracer fights ASan's (a false "stack-buffer-underflow" in its memory server): off.
export SWIFT_BACKTRACE=enable=no
status=0
results=.fuzz/results.txt
: > "$results"
for t in $targets; do
  exe=Fuzz$(echo "$t" | awk -F- '{for(i=1;i<=NF;i++) printf "%s", toupper(substr($i,1,1)) substr($i,2)}')
  mkdir -p ".fuzz/corpus/$t"
  before=$(ls "fixtures/fuzz/$t" | grep -cvE '^seed-' || true)
  log=.fuzz/logs/$t.log
  ".build-fuzz/debug/$exe" ".fuzz/corpus/$t" "fixtures/fuzz/$t" -max_total_time="$seconds" -max_len=65536 \
    -timeout=10 -rss_limit_mb=2048 -print_final_stats=1 -artifact_prefix="fixtures/fuzz/$t/" >"$log" 2>&1
  rc=$?
  execs=$(sed -n 's/^stat::number_of_executed_units: *//p' "$log" | tail -1)
  cov=$(grep -oE 'cov: [0-9]+' "$log" | tail -1 | cut -d' ' -f2)
  units=$(ls ".fuzz/corpus/$t" | wc -l)
  after=$(ls "fixtures/fuzz/$t" | grep -cvE '^seed-' || true)
  found=$((after - before))
  verdict="0 crashes/hangs/OOMs"
  if [ "$rc" != 0 ] || [ "$found" != 0 ]; then verdict="FOUND $found (exit $rc, see $log)"; status=1; fi
  line=$(printf '%-15s %12s executions in %ss, coverage %s, corpus %s units: %s' "$t" "${execs:-?}" "$seconds" "${cov:-?}" "$units" "$verdict")
  echo "$line" | tee -a "$results"
done
exit $status
