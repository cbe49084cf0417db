# Shared by scripts/bench.sh and scripts/sweep.sh (source it from the repository root with BIN
# set, after `make up`). A bench-owned memory-storage Tansu, fresh databases, and one consumer
# run measured to its exact row count.
#
# Memory storage skips records when a fetch starts inside a stored batch (see the README's
# known limitations); these consumers start from offset 0 and must reach an exact count, so a
# loss would time the run out instead of passing silently.
STACK=.stack
source "$STACK/env"
export PATH="${CARGO_HOME:-$HOME/.cargo}/bin:$PATH"
N=${BENCH_EVENTS:-200000}
PORT=${BENCH_BROKER_PORT:-9093}
BROKER=127.0.0.1:$PORT
# Quiet psql's NOTICEs ("database … does not exist, skipping") in the bench output.
export PGOPTIONS="-c client_min_messages=warning"
ADMIN_URL=$(echo "$DATABASE_URL" | sed -E 's#/[^/?]*(\?|$)#/postgres\1#')
GROUP_OPTS="session.timeout.ms=6000;heartbeat.interval.ms=1000"
consumer=""
broker=""
tls_broker=""

bench_cleanup() {
  [ -n "$consumer" ] && kill -TERM "$consumer" 2>/dev/null || true
  [ -n "$broker" ] && kill -TERM "$broker" 2>/dev/null || true
  [ -n "$tls_broker" ] && kill -TERM "$tls_broker" 2>/dev/null || true
}

# Starts the bench's own broker and waits until it answers.
start_bench_broker() {
  echo "bench: starting a memory-storage Tansu on $BROKER"
  tansu broker --listener-url "tcp://$BROKER" --advertised-listener-url "tcp://$BROKER" \
    --storage-engine memory://tansu/ >"$STACK/bench-tansu.log" 2>&1 &
  broker=$!
  trap bench_cleanup EXIT
  for _ in $(seq 1 60); do "$BIN" topic list --brokers "$BROKER" >/dev/null 2>&1 && return; sleep 0.5; done
  echo "bench: the broker did not answer; see $STACK/bench-tansu.log" >&2
  exit 1
}

# Starts a second bench broker, the same memory-storage Tansu with a TLS listener on
# localhost:$((PORT + 1)), its CA and certificate made here with openssl; prints the
# environment a client needs (KAFKA_SECURITY_PROTOCOL, KAFKA_SSL_CA_LOCATION) to
# $STACK/bench-tls/env. TLS only, no SASL: SASL costs one exchange per connection, TLS costs
# every byte, and memory storage keeps no SCRAM users across the restart that adding them needs.
start_bench_tls_broker() {
  local dir=$STACK/bench-tls addr=localhost:$((PORT + 1))
  mkdir -p "$dir"
  openssl req -x509 -newkey ec -pkeyopt ec_paramgen_curve:P-256 -nodes -days 2 -subj /CN=bench-ca \
    -keyout "$dir/ca.key" -out "$dir/ca.pem" 2>/dev/null
  openssl req -newkey ec -pkeyopt ec_paramgen_curve:P-256 -nodes -subj /CN=localhost \
    -keyout "$dir/broker.key" -out "$dir/broker.csr" 2>/dev/null
  printf 'subjectAltName=DNS:localhost\n' >"$dir/ext"
  openssl x509 -req -in "$dir/broker.csr" -CA "$dir/ca.pem" -CAkey "$dir/ca.key" -CAcreateserial \
    -days 2 -extfile "$dir/ext" -out "$dir/broker.pem" 2>/dev/null
  echo "bench: starting a memory-storage Tansu with TLS on $addr"
  tansu broker --listener-url "tcp://127.0.0.1:$((PORT + 1))" --advertised-listener-url "tcp://$addr" \
    --storage-engine memory://tansu/ --cert "$dir/broker.pem" --key "$dir/broker.key" \
    >"$STACK/bench-tansu-tls.log" 2>&1 &
  tls_broker=$!
  printf 'KAFKA_SECURITY_PROTOCOL=ssl\nKAFKA_SSL_CA_LOCATION=%s\n' "$dir/ca.pem" >"$dir/env"
  for _ in $(seq 1 60); do
    env $(cat "$dir/env") "$BIN" topic list --brokers "$addr" >/dev/null 2>&1 && return
    sleep 0.5
  done
  echo "bench: the TLS broker did not answer; see $STACK/bench-tansu-tls.log" >&2
  exit 1
}

# fresh_db NAME → prints its URL.
fresh_db() {
  psql "$ADMIN_URL" -qc "DROP DATABASE IF EXISTS $1 WITH (FORCE)" -c "CREATE DATABASE $1"
  echo "$DATABASE_URL" | sed -E "s#/[^/?]*(\?|\$)#/$1\1#"
}

drop_db() { psql "$ADMIN_URL" -qc "DROP DATABASE IF EXISTS $1 WITH (FORCE)"; }

# new_topic PREFIX COUNT SEED → creates a 12-partition topic holding COUNT events of 512 B and
# prints its name.
new_topic() {
  local topic=$1.$$.$RANDOM
  "$BIN" topic create "$topic" --partitions 12 --brokers "$BROKER" >/dev/null
  "$BIN" produce --brokers "$BROKER" --topic "$topic" --count "$2" --rate 0 --msg-size 512 \
    --seed "$3" | sed 's/^/bench: /' >&2
  echo "$topic"
}

# cpu_seconds PID → user + system CPU seconds the process has used (/proc/PID/stat fields 14
# and 15, in clock ticks).
cpu_seconds() {
  awk -v hz="$(getconf CLK_TCK)" '{ sub(/^.*\) /, ""); printf "%.2f", ($12 + $13) / hz }' "/proc/$1/stat"
}

# cpu_snapshot → one "pid CPU-seconds" line per process of the broker and the Postgres server.
cpu_snapshot() {
  local pid
  for pid in $broker $(pgrep -x postgres); do
    [ -r "/proc/$pid/stat" ] && echo "$pid $(cpu_seconds "$pid" 2>/dev/null || echo 0)"
  done
  true
}

# cpu_since SNAPSHOT_FILE → "BROKER_S POSTGRES_S": CPU seconds the broker and Postgres (every
# backend still running, from 0 if it started after the snapshot) used since the snapshot.
cpu_since() {
  cpu_snapshot | awk -v b="$broker" 'NR == FNR { was[$1] = $2; next }
    { d = $2 - was[$1]; if ($1 == b) broker += d; else pg += d }
    END { printf "%.2f %.2f", broker, pg }' "$1" -
}

# processed ADDR → events the consumer at ADDR has finished (events_processed_total, all
# results), 0 while it is not serving yet.
processed() {
  curl -fs "http://$1/metrics" 2>/dev/null |
    awk '/^events_processed_total[{ ]/ { n += $NF } END { printf "%d", n }'
}

# run_consumer NAME TOPIC COUNT DB_URL EXTRA_ARGS... → prints the JSON summary and writes the
# consumer's peak RSS (kB) to $STACK/bench-NAME.peak_kb, its CPU seconds to
# $STACK/bench-NAME.cpu_s, the broker's and Postgres' CPU seconds and the wall seconds of the
# run to $STACK/bench-NAME.cpu_split, and its /metrics to $STACK/bench-NAME.metrics (it runs in
# a subshell).
run_consumer() {
  local name=$1 topic=$2 count=$3 url=$4; shift 4
  local addr=127.0.0.1:$((20000 + RANDOM % 20000)) started=$EPOCHREALTIME
  cpu_snapshot >"$STACK/bench-$name.cpu_before"
  KAFKA_OPTS="$GROUP_OPTS" "$BIN" consume --brokers "$BROKER" --topic "$topic" --group "bench-$name-$$-$RANDOM" \
    --database-url "$url" --metrics-addr "$addr" --summary-format json "$@" \
    >"$STACK/bench-$name.out" 2>"$STACK/bench-$name.log" &
  consumer=$!
  local deadline=$((SECONDS + 900))
  # Watch the consumer's own counter, and ask the database (a count(*) over a growing ledger,
  # which competes with the run for the same cores) only once that counter says done.
  until [ "$(processed "$addr")" -ge "$count" ] &&
    [ "$(psql "$url" -tAc 'select count(*) from processed_events' 2>/dev/null || echo 0)" -ge "$count" ]; do
    kill -0 "$consumer" 2>/dev/null || { echo "bench: $name consumer died; see $STACK/bench-$name.log" >&2; exit 1; }
    [ $SECONDS -lt $deadline ] || { echo "bench: $name timed out" >&2; kill -TERM "$consumer"; exit 1; }
    sleep 0.2
  done
  awk '/VmHWM/ {print $2}' "/proc/$consumer/status" >"$STACK/bench-$name.peak_kb"
  cpu_seconds "$consumer" >"$STACK/bench-$name.cpu_s"
  echo "$(cpu_since "$STACK/bench-$name.cpu_before") $(awk -v a="$started" -v b="$EPOCHREALTIME" 'BEGIN { printf "%.2f", b - a }')" \
    >"$STACK/bench-$name.cpu_split"
  curl -fs "http://$addr/metrics" >"$STACK/bench-$name.metrics" || true
  kill -TERM "$consumer"; wait "$consumer"; consumer=""
  tail -n 1 "$STACK/bench-$name.out"
}

json_field() { sed -E "s/.*\"$1\":([0-9.eE+-]+).*/\1/"; }
