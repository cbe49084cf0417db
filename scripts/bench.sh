#!/usr/bin/env bash
# make bench: criterion micro-benchmarks, then streamsre end to end against its peers and the
# limit, all in one invocation (these machines are shared and noisy, so every figure is also
# given as a ratio to another run of the same invocation).
#
# Workload: 200,000 events of 512 B in a 12-partition topic on a bench-owned memory-storage
# Tansu, drained into a fresh database per run (ledger, reviews and the per-key aggregate in
# one transaction per batch). Runs:
#   - streamsre with its default flags, and with the best tuned flags from docs/perf/sweep.md;
#   - streamsre with its default flags over TLS (`--security-protocol ssl`) to a second, TLS
#     listener of the same kind of broker, reported as a ratio to the plaintext defaults;
#   - the afternoon Python consumer (scripts/python-consumer, installed into .stack/venv);
#   - the seed's per-event transaction (--sink-mode single) on 20,000 events;
#   - the Postgres ceiling: the same SQL on pre-decoded batches straight from Rust, no Kafka
#     (crates/cli/examples/pg_ceiling.rs), same database server, same 4 connections, and the
#     two write paths (unnest, binary COPY) over batch sizes.
# streamsre's CPU seconds per million events come from /proc/<pid>/stat, its peak RSS from
# VmHWM. The last line is the machine-readable summary.
set -euo pipefail
cd "$(dirname "$0")/.."
BIN=${1:-target/release/streamsre}
CEILING=${CEILING:-target/release/examples/pg_ceiling}
TUNED=${BENCH_TUNED:-"--batch-size 2000 --max-inflight-batches 3 --memory-budget 256MiB"}
VENV=.stack/venv
source scripts/bench-lib.sh
BASELINE_N=${BENCH_BASELINE_EVENTS:-20000}

echo "bench: criterion micro-benchmarks (each against a baseline in the same run)"
{ cargo bench -q -p streamsre-event --bench codec && cargo bench -q -p streamsre-mapping --bench route \
  && cargo bench -q -p streamsre-flow --bench tracker; } \
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
ratio_of route_512b mapping_decode_route review_decode_validate
ratio_of track_complete_1024 offset_tracker_out_of_order baseline_btreeset

start_bench_broker

if [ ! -x "$VENV/bin/python" ] || ! "$VENV/bin/python" -c 'import confluent_kafka, psycopg2' 2>/dev/null; then
  echo "bench: installing the Python consumer's packages into $VENV"
  python3 -m venv "$VENV"
  "$VENV/bin/pip" install -q -r scripts/python-consumer/requirements.txt
fi

echo "bench: producing $N events of 512 B (and $BASELINE_N for the baseline)"
topic=$(new_topic bench "$N" 1)
base_topic=$(new_topic bench.base "$BASELINE_N" 2)

# streamsre RUN_NAME FLAGS... → sets eps, peak_mb, cpu_per_m for one consume run.
streamsre() {
  local name=$1 url summary; shift
  url=$(fresh_db "bench_$name")
  summary=$(run_consumer "$name" "$topic" "$N" "$url" "$@")
  drop_db "bench_$name"
  eps=$(echo "$summary" | json_field throughput_eps)
  peak_mb=$(awk '{ printf "%.0f", $1 / 1024 }' "$STACK/bench-$name.peak_kb")
  cpu_per_m=$(awk -v c="$(cat "$STACK/bench-$name.cpu_s")" -v n="$N" 'BEGIN { printf "%.1f", c / n * 1e6 }')
  printf 'bench: streamsre %-8s %6.0f events/s  peak RSS %s MB  %s CPU-s per M events  (%s)\n' \
    "$name" "$eps" "$peak_mb" "$cpu_per_m" "${*:-no flags}"
  cpu_split "$name" "$(cat "$STACK/bench-$name.cpu_s")" $(cat "$STACK/bench-$name.cpu_split")
}

# cpu_split NAME STREAMSRE_S BROKER_S POSTGRES_S WALL_S → where the machine's CPU went during a
# run, per million events and as a share of all cores over the run's wall time.
cpu_split() {
  awk -v name="$1" -v s="$2" -v b="$3" -v p="$4" -v w="$5" -v n="$N" -v cores="$(nproc)" 'BEGIN {
    m = n / 1e6; all = cores * w
    printf "bench: CPU of %s run per M events: streamsre %.1f s, broker %.1f s, postgres %.1f s; of %d cores over %.1f s: streamsre %.0f%%, broker %.0f%%, postgres %.0f%%, rest %.0f%%\n",
      name, s / m, b / m, p / m, cores, w, 100 * s / all, 100 * b / all, 100 * p / all, 100 * (all - s - b - p) / all }'
}

streamsre defaults
defaults_eps=$eps defaults_mb=$peak_mb defaults_cpu=$cpu_per_m
# shellcheck disable=SC2086 # one word per flag
streamsre tuned $TUNED
tuned_eps=$eps tuned_mb=$peak_mb tuned_cpu=$cpu_per_m

# The same defaults run over TLS: its own broker and topic, the client settings from the env.
start_bench_tls_broker
plain_broker=$BROKER plain_topic=$topic
BROKER=localhost:$((PORT + 1))
set -a; source "$STACK/bench-tls/env"; set +a
topic=$(new_topic bench.tls "$N" 1)
plain_pid=$broker broker=$tls_broker # the CPU split counts the broker this run talks to
streamsre tls
broker=$plain_pid
tls_eps=$eps tls_mb=$peak_mb tls_cpu=$cpu_per_m
unset KAFKA_SECURITY_PROTOCOL KAFKA_SSL_CA_LOCATION
kill -TERM "$tls_broker"; wait "$tls_broker" 2>/dev/null || true; tls_broker=""
BROKER=$plain_broker topic=$plain_topic

url=$(fresh_db bench_python)
"$BIN" migrate --database-url "$url" >/dev/null 2>&1
python_eps=$("$VENV/bin/python" scripts/python-consumer/consumer.py --brokers "$BROKER" --topic "$topic" \
  --group "bench-python-$$" --database-url "$url" --count "$N" | json_field throughput_eps)
drop_db bench_python
printf 'bench: python consumer   %6.0f events/s  (confluent-kafka + psycopg2, 1,000-message batches, one connection)\n' "$python_eps"

url=$(fresh_db bench_baseline)
base_summary=$(run_consumer baseline "$base_topic" "$BASELINE_N" "$url" --sink-mode single --sink-workers 4 --max-inflight 64)
drop_db bench_baseline
baseline_eps=$(echo "$base_summary" | json_field throughput_eps)
printf 'bench: per-event baseline %5.0f events/s  (the seed: one transaction per event, 4 workers, %s events)\n' "$baseline_eps" "$BASELINE_N"

# ceiling PATH BATCH → prints the ceiling's events/s and batch p99 (ms).
ceiling() {
  local url line
  url=$(fresh_db bench_ceiling)
  line=$("$CEILING" --database-url "$url" --events "$N" --batch-size "$2" --connections 4 --write-path "$1")
  drop_db bench_ceiling
  echo "bench: $line" >&2
  echo "$line" | sed -E 's/.* eps=([0-9]+) .*batch_p99_ms=([0-9.]+).*/\1 \2/'
}
echo "bench: Postgres ceiling (same SQL, pre-decoded, no Kafka, 4 connections) by write path and batch size"
for batch in 250 1000 4000; do
  for path in unnest copy; do ceiling "$path" "$batch" >/dev/null; done
done
ceiling unnest 1000 >"$STACK/bench-ceiling.result"
read -r ceiling_eps _ <"$STACK/bench-ceiling.result"
printf 'bench: Postgres ceiling  %6.0f events/s  (unnest, 1,000-event batches, as the defaults write)\n' "$ceiling_eps"

r() { awk -v a="$1" -v b="$2" 'BEGIN { printf "%.2f", a / b }'; }
printf 'bench: defaults_eps=%.0f tuned_eps=%.0f tls_eps=%.0f python_eps=%.0f baseline_eps=%.0f ceiling_eps=%.0f defaults_vs_python=%s defaults_of_ceiling=%s defaults_of_tuned=%s tls_of_defaults=%s defaults_vs_baseline=%s tuned_vs_baseline=%s defaults_peak_rss_mb=%s tuned_peak_rss_mb=%s tls_peak_rss_mb=%s defaults_cpu_s_per_m=%s tuned_cpu_s_per_m=%s tls_cpu_s_per_m=%s\n' \
  "$defaults_eps" "$tuned_eps" "$tls_eps" "$python_eps" "$baseline_eps" "$ceiling_eps" \
  "$(r "$defaults_eps" "$python_eps")" "$(r "$defaults_eps" "$ceiling_eps")" "$(r "$defaults_eps" "$tuned_eps")" \
  "$(r "$tls_eps" "$defaults_eps")" "$(r "$defaults_eps" "$baseline_eps")" "$(r "$tuned_eps" "$baseline_eps")" \
  "$defaults_mb" "$tuned_mb" "$tls_mb" "$defaults_cpu" "$tuned_cpu" "$tls_cpu"
