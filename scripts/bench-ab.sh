#!/usr/bin/env bash
# scripts/bench-ab.sh OLD_BIN NEW_BIN [ROUNDS]: two streamsre builds, default flags, on the same
# topic in one invocation, alternating (old, new, old, new, ...) so that the machine's noise
# falls on both. For refactors that must not change speed. Prints each run's events/s, then
# the median of each and new/old.
#
# Workload as `make bench`: BENCH_EVENTS (200,000) events of 512 B in a 12-partition topic on
# a bench-owned memory-storage Tansu, a fresh database per run. Needs `make up`.
set -euo pipefail
cd "$(dirname "$0")/.."
OLD=${1:?usage: scripts/bench-ab.sh OLD_BIN NEW_BIN [ROUNDS]}
NEW=${2:?usage: scripts/bench-ab.sh OLD_BIN NEW_BIN [ROUNDS]}
ROUNDS=${3:-3}
BIN=$NEW
source scripts/bench-lib.sh
trap bench_cleanup EXIT
start_bench_broker
topic=$(new_topic bench.ab "$N" 1)
declare -A runs=([old]="" [new]="")
for round in $(seq 1 "$ROUNDS"); do
  for side in old new; do
    if [ "$side" = old ]; then BIN=$OLD; else BIN=$NEW; fi
    url=$(fresh_db bench_ab)
    eps=$(run_consumer "ab-$side" "$topic" "$N" "$url" | json_field throughput_eps)
    drop_db bench_ab
    runs[$side]+="$eps "
    printf 'bench-ab: round %d %s %6.0f events/s\n' "$round" "$side" "$eps"
  done
done
median() { tr ' ' '\n' | grep . | sort -n | awk '{ a[NR] = $1 } END { print (NR % 2) ? a[(NR + 1) / 2] : (a[NR / 2] + a[NR / 2 + 1]) / 2 }'; }
old_m=$(echo "${runs[old]}" | median)
new_m=$(echo "${runs[new]}" | median)
printf 'bench-ab: old_median_eps=%.0f new_median_eps=%.0f new_of_old=%s rounds=%d\n' "$old_m" "$new_m" \
  "$(awk -v a="$new_m" -v b="$old_m" 'BEGIN { printf "%.2f", a / b }')" "$ROUNDS"
