#!/usr/bin/env bash
# The main job end to end: start the consumer, produce 50,000 events at 5,000/s with 80% of
# them on hot keys, wait until every produced event is committed, stop the consumer cleanly
# (SIGTERM) and print a summary. Expects scripts/up.sh to have run (make demo does that).
set -euo pipefail
cd "$(dirname "$0")/.."
BIN=${1:-target/release/streamsre}
STACK=.stack
# shellcheck disable=SC1091
source "$STACK/env"
export KAFKA_BROKERS DATABASE_URL
COUNT=${DEMO_COUNT:-50000}
RATE=${DEMO_RATE:-5000}
TOPIC=events.main
GROUP=streamsre-demo
METRICS=${DEMO_METRICS_ADDR:-127.0.0.1:2112}
# Faster group joins and failure detection (Tansu completes a join after ~session timeout).
GROUP_OPTS="session.timeout.ms=6000;heartbeat.interval.ms=1000"

psql_q() { psql "$DATABASE_URL" -tAc "$1"; }
rows_before=$(psql_q "select count(*) from reviews")
dlq_before=$(psql_q "select count(*) from dlq_events")

echo "demo: starting the consumer (group $GROUP, metrics on http://$METRICS)"
KAFKA_OPTS="$GROUP_OPTS" "$BIN" consume --topic "$TOPIC" --group "$GROUP" --metrics-addr "$METRICS" \
  >"$STACK/demo-consumer.out" 2>"$STACK/demo-consumer.log" &
consumer=$!
trap 'kill -TERM $consumer 2>/dev/null || true' EXIT

for i in $(seq 1 120); do
  curl -fs "http://$METRICS/readyz" 2>/dev/null | grep -q 'partitions assigned' && break
  kill -0 $consumer 2>/dev/null || { echo "demo: consumer exited; see $STACK/demo-consumer.log" >&2; exit 1; }
  [ "$i" = 120 ] && { echo "demo: consumer not ready after 60 s; see $STACK/demo-consumer.log" >&2; exit 1; }
  sleep 0.5
done
echo "demo: consumer ready; producing $COUNT events at $RATE/s (80% hot keys)"
"$BIN" produce --topic "$TOPIC" --count "$COUNT" --rate "$RATE" --hot-key-pct 80 | tee "$STACK/demo-produce.out"

echo "demo: waiting until the group has committed everything produced"
for i in $(seq 1 240); do
  lag=$("$BIN" lag --group "$GROUP" --topic "$TOPIC" --json | sed -E 's/.*"total_lag":([0-9]+).*/\1/')
  [ "$lag" = 0 ] && break
  [ "$i" = 240 ] && { echo "demo: lag still $lag after 120 s" >&2; exit 1; }
  sleep 0.5
done

kill -TERM $consumer
wait $consumer
trap - EXIT
rows_after=$(psql_q "select count(*) from reviews")
dlq_after=$(psql_q "select count(*) from dlq_events")
echo
echo "=============================== streamsre demo ==============================="
grep '^produce:' "$STACK/demo-produce.out"
cat "$STACK/demo-consumer.out"
echo "postgres"
echo "  new rows in reviews  $((rows_after - rows_before))"
echo "  new DLQ rows         $((dlq_after - dlq_before))"
echo "  sum(review_count)    $(psql_q "select coalesce(sum(review_count),0) from user_stats") (total reviews: $rows_after)"
echo "consumer stopped cleanly (SIGTERM, exit 0); logs in $STACK/demo-consumer.log"
