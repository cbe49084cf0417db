#!/usr/bin/env bash
# scripts/bench-ab.sh OLD_BIN NEW_BIN [ROUNDS]: two streamsre builds, default flags, on the same
# topic in one invocation, alternating (old, new, new, old, ...) so that the machine's noise
# falls on both. For refactors that must not change speed. Prints each run's events/s, then
# the median of each and new/old, and the median CPU seconds streamsre and Postgres spent per
# run: on a shared machine throughput wanders with the neighbours, the work per event less.
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
declare -A runs=([old]="" [new]="") own=([old]="" [new]="") pg=([old]="" [new]="")
for round in $(seq 1 "$ROUNDS"); do
  # ABBA order: the side that runs second inherits the first run's checkpoint and autovacuum
  # debt, so the order swaps every round.
  order="old new"; [ $((round % 2)) -eq 0 ] && order="new old"
  for side in $order; do
    if [ "$side" = old ]; then BIN=$OLD; else BIN=$NEW; fi
    url=$(fresh_db bench_ab)
    eps=$(run_consumer "ab-$side" "$topic" "$N" "$url" | json_field throughput_eps)
    drop_db bench_ab
    runs[$side]+="$eps "
    own[$side]+="$(cat "$STACK/bench-ab-$side.cpu_s") "
    pg[$side]+="$(awk '{ print $2 }' "$STACK/bench-ab-$side.cpu_split") "
    # Batches (transactions) the run took: fewer, fuller ones cost Postgres less per event.
    batches=$(awk '/^sink_batch_size_count/ { print $2 }' "$STACK/bench-ab-$side.metrics")
    printf 'bench-ab: round %d %s %6.0f events/s  cpu-s: streamsre %s postgres %s  batches %s\n' "$round" "$side" "$eps" \
      "$(cat "$STACK/bench-ab-$side.cpu_s")" "$(awk '{ print $2 }' "$STACK/bench-ab-$side.cpu_split")" "${batches:-?}"
  done
done
median() { tr ' ' '\n' | grep . | sort -n | awk '{ a[NR] = $1 } END { print (NR % 2) ? a[(NR + 1) / 2] : (a[NR / 2] + a[NR / 2 + 1]) / 2 }'; }
old_m=$(echo "${runs[old]}" | median)
new_m=$(echo "${runs[new]}" | median)
ratio() { awk -v a="$1" -v b="$2" 'BEGIN { printf "%.2f", a / b }'; }
printf 'bench-ab: old_median_eps=%.0f new_median_eps=%.0f new_of_old=%s rounds=%d\n' "$old_m" "$new_m" \
  "$(ratio "$new_m" "$old_m")" "$ROUNDS"
for side in old new; do
  printf 'bench-ab: %s median cpu-s: streamsre %s postgres %s\n' "$side" \
    "$(echo "${own[$side]}" | median)" "$(echo "${pg[$side]}" | median)"
done
printf 'bench-ab: new_of_old cpu: streamsre=%s postgres=%s\n' \
  "$(ratio "$(echo "${own[new]}" | median)" "$(echo "${own[old]}" | median)")" \
  "$(ratio "$(echo "${pg[new]}" | median)" "$(echo "${pg[old]}" | median)")"
