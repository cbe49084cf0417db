#!/usr/bin/env bash
# make sweep: throughput of `streamsre consume` over a grid of flow and batching flags, on the
# bench's workload (200,000 events of 512 B, 12 partitions, a bench-owned memory-storage
# broker, a fresh database per run). Prints a Markdown table: each configuration's rate as a
# ratio to the best one in the same invocation (these machines are shared and noisy) and its
# peak RSS. The first row is streamsre with no flags at all: the defaults.
#
#   scripts/sweep.sh [path/to/streamsre] > table.md     (docs/perf/sweep.md holds past runs)
#   SWEEP_CONFIGS=$'--batch-size 200\n--batch-size 2000' scripts/sweep.sh   (your own grid)
set -euo pipefail
cd "$(dirname "$0")/.."
BIN=${1:-target/release/streamsre}
source scripts/bench-lib.sh

# One configuration per line: the flags given to `consume` ("" = the defaults).
CONFIGS=${SWEEP_CONFIGS:-"
--memory-budget 64MiB
--memory-budget 256MiB
--batch-size 500
--batch-size 2000
--max-inflight-batches 1
--max-inflight-batches 3
--sink-workers 2
--sink-workers 8
--batch-linger 0ms
--batch-linger 20ms
--write-path copy
--batch-size 2000 --max-inflight-batches 3 --memory-budget 256MiB
"}

start_bench_broker >&2
topic=$(new_topic sweep "$N" 1)
rows=()
best=0
run() { # FLAGS...
  local url summary eps peak
  url=$(fresh_db bench_sweep)
  summary=$(run_consumer sweep "$topic" "$N" "$url" "$@")
  drop_db bench_sweep
  eps=$(echo "$summary" | json_field throughput_eps)
  peak=$(awk '{ printf "%.0f", $1 / 1024 }' "$STACK/bench-sweep.peak_kb")
  echo "sweep: ${*:-(defaults)} → ${eps%.*} events/s, peak RSS ${peak} MB" >&2
  rows+=("${*:-(defaults)}|${eps%.*}|$peak")
  best=$(awk -v a="$best" -v b="$eps" 'BEGIN { print (b > a) ? b : a }')
}
run
while IFS= read -r flags; do
  [ -n "$flags" ] || continue
  # shellcheck disable=SC2086 # one word per flag and value
  run $flags
done <<<"$CONFIGS"

echo "| consume flags | events/s | of the best | peak RSS MB |"
echo "|---|---:|---:|---:|"
for row in "${rows[@]}"; do
  IFS='|' read -r flags eps peak <<<"$row"
  ratio=$(awk -v a="$eps" -v b="$best" 'BEGIN { printf "%.2f", a / b }')
  echo "| \`$flags\` | $eps | $ratio | $peak |"
done
echo
echo "$N events of 512 B on 12 partitions, $(nproc) cores, broker and Postgres on the same host; $(date -u +%F)."
