#!/usr/bin/env bash
# make bench: criterion micro-benchmarks, then the end-to-end harness.
#
# End to end: 200,000 events of 512 B are produced to a fresh topic on a bench-owned Tansu
# broker with memory storage (fast, so the broker is not what is measured), then consumed into
# a fresh database; throughput is events / (first fetch → last durable write). In the same
# invocation a baseline consumer applies the seed's per-event transaction pattern
# (--sink-mode single, 4 workers) to 20,000 events of the same workload; its rate is what the
# ratio is against. Every figure is a ratio to a baseline run in this invocation because these
# machines are shared and noisy. The last line is the machine-readable summary.
set -euo pipefail
cd "$(dirname "$0")/.."
BIN=${1:-target/release/streamsre}
STACK=.stack
source "$STACK/env"
export PATH="${CARGO_HOME:-$HOME/.cargo}/bin:$PATH"
N=${BENCH_EVENTS:-200000}
BASELINE_N=${BENCH_BASELINE_EVENTS:-20000}
PORT=${BENCH_BROKER_PORT:-9093}
BROKER=127.0.0.1:$PORT
ADMIN_URL=$(echo "$DATABASE_URL" | sed -E 's#/[^/?]*(\?|$)#/postgres\1#')
GROUP_OPTS="session.timeout.ms=6000;heartbeat.interval.ms=1000"

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

echo "bench: starting a memory-storage Tansu on $BROKER"
tansu broker --listener-url "tcp://$BROKER" --advertised-listener-url "tcp://$BROKER" \
  --storage-engine memory://tansu/ >"$STACK/bench-tansu.log" 2>&1 &
broker=$!
consumer=""
cleanup() {
  [ -n "$consumer" ] && kill -TERM "$consumer" 2>/dev/null || true
  kill -TERM "$broker" 2>/dev/null || true
}
trap cleanup EXIT
for i in $(seq 1 60); do "$BIN" topic list --brokers "$BROKER" >/dev/null 2>&1 && break; sleep 0.5; done

fresh_db() {
  psql "$ADMIN_URL" -qc "DROP DATABASE IF EXISTS $1 WITH (FORCE)" -c "CREATE DATABASE $1"
  echo "$DATABASE_URL" | sed -E "s#/[^/?]*(\?|\$)#/$1\1#"
}

# run_consumer NAME TOPIC COUNT DB_URL EXTRA_ARGS... → prints the JSON summary and writes the
# consumer's peak RSS (kB) to $STACK/bench-NAME.peak_kb (it runs in a subshell).
run_consumer() {
  local name=$1 topic=$2 count=$3 url=$4; shift 4
  local addr=127.0.0.1:$((20000 + RANDOM % 20000))
  KAFKA_OPTS="$GROUP_OPTS" "$BIN" consume --brokers "$BROKER" --topic "$topic" --group "bench-$name-$$" \
    --database-url "$url" --metrics-addr "$addr" --summary-format json "$@" \
    >"$STACK/bench-$name.out" 2>"$STACK/bench-$name.log" &
  consumer=$!
  local deadline=$((SECONDS + 900))
  until [ "$(psql "$url" -tAc 'select count(*) from processed_events' 2>/dev/null || echo 0)" -ge "$count" ]; do
    kill -0 "$consumer" 2>/dev/null || { echo "bench: $name consumer died; see $STACK/bench-$name.log" >&2; exit 1; }
    [ $SECONDS -lt $deadline ] || { echo "bench: $name timed out" >&2; kill -TERM "$consumer"; exit 1; }
    sleep 0.2
  done
  awk '/VmHWM/ {print $2}' "/proc/$consumer/status" >"$STACK/bench-$name.peak_kb"
  curl -fs "http://$addr/metrics" >"$STACK/bench-$name.metrics" || true
  kill -TERM "$consumer"; wait "$consumer"; consumer=""
  tail -n 1 "$STACK/bench-$name.out"
}
json_field() { sed -E "s/.*\"$1\":([0-9.eE+-]+).*/\1/"; }

echo "bench: producing $N events of 512 B (and $BASELINE_N for the baseline)"
topic=bench.$$.$RANDOM
base_topic=bench.base.$$.$RANDOM
"$BIN" topic create "$topic" --partitions 12 --brokers "$BROKER" >/dev/null
"$BIN" topic create "$base_topic" --partitions 12 --brokers "$BROKER" >/dev/null
"$BIN" produce --brokers "$BROKER" --topic "$topic" --count "$N" --rate 0 --msg-size 512 --seed 1 | sed 's/^/bench: /'
"$BIN" produce --brokers "$BROKER" --topic "$base_topic" --count "$BASELINE_N" --rate 0 --msg-size 512 --seed 2 | sed 's/^/bench: /'

echo "bench: streamsre (batch sink) consuming $N events"
url=$(fresh_db bench_streamsre)
summary=$(run_consumer streamsre "$topic" "$N" "$url" --max-inflight 4096 --batch-size 1000 --sink-workers 4)
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

echo "bench: baseline (seed's per-event transaction, 4 workers) consuming $BASELINE_N events"
base_url=$(fresh_db bench_baseline)
base_summary=$(run_consumer baseline "$base_topic" "$BASELINE_N" "$base_url" --sink-mode single --sink-workers 4 --max-inflight 64)
baseline_eps=$(echo "$base_summary" | json_field throughput_eps)
echo "bench: baseline summary $base_summary"

for db in bench_streamsre bench_baseline; do psql "$ADMIN_URL" -qc "DROP DATABASE IF EXISTS $db WITH (FORCE)"; done
ratio=$(awk -v a="$streamsre_eps" -v b="$baseline_eps" 'BEGIN { printf "%.1f", a / b }')
printf 'bench: streamsre_eps=%.0f baseline_eps=%.0f ratio=%s peak_rss_mb=%s\n' "$streamsre_eps" "$baseline_eps" "$ratio" "$peak_mb"
