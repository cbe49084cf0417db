#!/usr/bin/env bash
# make bench: criterion micro-benchmarks, then the end-to-end harness.
#
# End to end: 200,000 events of 512 B are produced to a fresh topic on a bench-owned Tansu
# broker with memory storage (fast, so the broker is not what is measured), then consumed into
# a fresh database; throughput is events / (first fetch → last durable write). In the same
# invocation a baseline consumer applies the seed's per-event transaction pattern
# (--sink-mode single, 4 workers) to 20,000 events of the same workload; its rate is what the
# ratio is against. streamsre runs twice on the 200,000: with the tuned flags below and with no
# flags at all (its defaults), reported as a share of the tuned rate. Every figure is a ratio
# to a baseline run in this invocation because these machines are shared and noisy. The last
# line is the machine-readable summary.
set -euo pipefail
cd "$(dirname "$0")/.."
BIN=${1:-target/release/streamsre}
source scripts/bench-lib.sh
BASELINE_N=${BENCH_BASELINE_EVENTS:-20000}

echo "bench: criterion micro-benchmarks (each against a baseline in the same run)"
{ cargo bench -q -p streamsre-event --bench codec && cargo bench -q -p streamsre-flow --bench tracker; } \
  >"$STACK/bench-criterion.log" 2>&1 || { tail -20 "$STACK/bench-criterion.log"; exit 1; }
ratio_of() { # group streamsre_bench baseline_bench
  python3 - "$1" "$2" "$3" <<'PY'
import json, sys
g, a, b = sys.argv[1:]
m = lambda n: json.load(open(f"target/criterion/{g}/{n}/new/estimates.json"))["mean"]["point_estimate"]
print(f"bench: micro {g}: {a}={m(a):.0f}ns {b}={m(b):.0f}ns ratio={m(a)/m(b):.2f}x of baseline")
PY
}
ratio_of decode_512b streamsre_decode_validate baseline_serde_value
ratio_of track_complete_1024 offset_tracker_out_of_order baseline_btreeset

start_bench_broker

echo "bench: producing $N events of 512 B (and $BASELINE_N for the baseline)"
topic=$(new_topic bench "$N" 1)
base_topic=$(new_topic bench.base "$BASELINE_N" 2)

echo "bench: streamsre (batch sink) consuming $N events"
url=$(fresh_db bench_streamsre)
summary=$(run_consumer streamsre "$topic" "$N" "$url" --max-inflight 16384 --batch-size 2000 --sink-workers 4)
streamsre_eps=$(echo "$summary" | json_field throughput_eps)
peak_mb=$(awk '{ printf "%.1f", $1 / 1024 }' "$STACK/bench-streamsre.peak_kb")
db_share=$(python3 - "$STACK/bench-streamsre.metrics" "$(echo "$summary" | json_field active_seconds)" <<'PY'
import re, sys
text = open(sys.argv[1]).read()
m = re.search(r'db_query_duration_seconds_sum\{query="apply_batch"\} ([0-9.e+-]+)', text)
active = float(sys.argv[2])
print(f"{float(m.group(1)) / (4 * active) * 100:.0f}" if m and active > 0 else "n/a")
PY
)
echo "bench: streamsre summary $summary"
echo "bench: time in Postgres transactions: ${db_share}% of the 4 sink workers' wall time"

echo "bench: streamsre with its default flags consuming the same $N events"
def_url=$(fresh_db bench_defaults)
def_summary=$(run_consumer defaults "$topic" "$N" "$def_url")
defaults_eps=$(echo "$def_summary" | json_field throughput_eps)
defaults_peak_mb=$(awk '{ printf "%.1f", $1 / 1024 }' "$STACK/bench-defaults.peak_kb")
echo "bench: defaults summary $def_summary"

echo "bench: baseline (seed's per-event transaction, 4 workers) consuming $BASELINE_N events"
base_url=$(fresh_db bench_baseline)
base_summary=$(run_consumer baseline "$base_topic" "$BASELINE_N" "$base_url" --sink-mode single --sink-workers 4 --max-inflight 64)
baseline_eps=$(echo "$base_summary" | json_field throughput_eps)
echo "bench: baseline summary $base_summary"

for db in bench_streamsre bench_defaults bench_baseline; do drop_db "$db"; done
ratio=$(awk -v a="$streamsre_eps" -v b="$baseline_eps" 'BEGIN { printf "%.1f", a / b }')
defaults_of_tuned=$(awk -v a="$defaults_eps" -v b="$streamsre_eps" 'BEGIN { printf "%.2f", a / b }')
printf 'bench: streamsre_eps=%.0f baseline_eps=%.0f ratio=%s peak_rss_mb=%s defaults_eps=%.0f defaults_of_tuned=%s defaults_peak_rss_mb=%s\n' \
  "$streamsre_eps" "$baseline_eps" "$ratio" "$peak_mb" "$defaults_eps" "$defaults_of_tuned" "$defaults_peak_mb"
