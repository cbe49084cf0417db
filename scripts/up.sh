#!/usr/bin/env bash
# Brings up the local stack, starting only what is missing, and records what it started under
# .stack/ so that scripts/down.sh stops exactly that. Idempotent.
#
#   scripts/up.sh [path/to/streamsre]
#
# If KAFKA_BROKERS / DATABASE_URL are set, those services are used as they are.
# Writes .stack/env with the resolved KAFKA_BROKERS and DATABASE_URL.
set -euo pipefail
cd "$(dirname "$0")/.."
BIN=${1:-target/release/streamsre}
STACK=.stack
mkdir -p "$STACK"
TANSU_VERSION=0.6.0
CARGO_BIN=${CARGO_HOME:-$HOME/.cargo}/bin
export PATH="$CARGO_BIN:$PATH"
log() { echo "up: $*"; }
as_postgres() { if [ "$(id -u)" = 0 ]; then su postgres -c "$*"; else sudo -u postgres sh -c "$*"; fi; }

# ---------------------------------------------------------------- PostgreSQL
if [ -n "${DATABASE_URL:-}" ]; then
  log "PostgreSQL: using DATABASE_URL from the environment"
else
  if ! pg_isready -q -h 127.0.0.1 -p 5432 2>/dev/null; then
    if ! command -v pg_ctlcluster >/dev/null 2>&1; then
      log "PostgreSQL not installed: installing the Debian package"
      export DEBIAN_FRONTEND=noninteractive
      apt-get update -qq && apt-get install -y -qq postgresql >/dev/null
    fi
    version=$(ls /etc/postgresql | sort -V | tail -n 1)
    if ! pg_isready -q -h 127.0.0.1 -p 5432 2>/dev/null; then
      log "starting PostgreSQL $version"
      pg_ctlcluster --skip-systemctl-redirect "$version" main start
      echo "$version" > "$STACK/postgres.started"
    fi
    for _ in $(seq 1 60); do pg_isready -q -h 127.0.0.1 -p 5432 && break; sleep 0.5; done
  else
    log "PostgreSQL already running on 127.0.0.1:5432"
  fi
  if ! psql -h 127.0.0.1 -U postgres -d postgres -tAc 'select 1' >/dev/null 2>&1; then
    # A fresh Debian cluster asks for passwords on TCP; for this local dev stack only, trust
    # loopback connections (the project's machines are set up like that already).
    log "enabling trust auth for loopback connections (local dev cluster only)"
    hba=$(as_postgres "psql -tAc 'show hba_file'")
    as_postgres "sed -i -E 's/^(host\s+all\s+all\s+(127\.0\.0\.1\/32|::1\/128)\s+)\S+/\1trust/' '$hba'"
    as_postgres "psql -qc 'select pg_reload_conf()'" >/dev/null
  fi
  export DATABASE_URL="postgres://postgres@127.0.0.1:5432/streamsre"
  if [ "$(psql -h 127.0.0.1 -U postgres -d postgres -tAc "select 1 from pg_database where datname='streamsre'")" != 1 ]; then
    psql -h 127.0.0.1 -U postgres -d postgres -qc 'create database streamsre'
    log "created database streamsre"
  fi
fi

# ---------------------------------------------------------------- Kafka (Tansu)
if [ -n "${KAFKA_BROKERS:-}" ]; then
  log "Kafka: using KAFKA_BROKERS=$KAFKA_BROKERS from the environment"
else
  export KAFKA_BROKERS=127.0.0.1:9092
  if ss -ltn 2>/dev/null | grep -q '127.0.0.1:9092 \|\*:9092 \|0.0.0.0:9092 '; then
    log "a broker is already listening on 127.0.0.1:9092"
  else
    # Tansu 0.6.0 with one coordinator fix (see tools/tansu/README.md), plus the stock build
    # the group tests need; each built only when missing.
    scripts/install-tansu.sh
    log "starting Tansu $TANSU_VERSION, patched (sqlite storage: durable across broker restarts)"
    nohup tansu broker \
      --listener-url tcp://127.0.0.1:9092 \
      --advertised-listener-url tcp://127.0.0.1:9092 \
      --storage-engine "sqlite://$STACK/tansu.db" >"$STACK/tansu.log" 2>&1 &
    echo $! > "$STACK/tansu.pid"
  fi
fi

if [ ! -x "$BIN" ]; then
  echo "up: $BIN is missing; build it first (make build)" >&2
  exit 1
fi
for i in $(seq 1 60); do
  "$BIN" topic list --brokers "$KAFKA_BROKERS" >/dev/null 2>&1 && break
  [ "$i" = 60 ] && { echo "up: broker at $KAFKA_BROKERS did not answer; see $STACK/tansu.log" >&2; exit 1; }
  sleep 0.5
done
for topic in events.main events.dlq; do
  "$BIN" topic create "$topic" --partitions 12 --brokers "$KAFKA_BROKERS" | sed 's/^/up: /'
done
RUST_LOG=warn "$BIN" migrate --database-url "$DATABASE_URL" | sed 's/^/up: /'

# ---------------------------------------------------------------- Prometheus (optional)
# Started from the Debian package when it is installed, scraping the targets in
# deploy/prometheus/prometheus.yml; skipped (with a note) when it is not.
if command -v prometheus >/dev/null 2>&1; then
  if ss -ltn 2>/dev/null | grep -q '127.0.0.1:9090 \|\*:9090 \|0.0.0.0:9090 '; then
    log "something already listens on 127.0.0.1:9090; not starting Prometheus"
  else
    nohup prometheus --config.file=deploy/prometheus/prometheus.yml \
      --storage.tsdb.path="$STACK/prometheus" --web.listen-address=127.0.0.1:9090 \
      >"$STACK/prometheus.log" 2>&1 &
    echo $! > "$STACK/prometheus.pid"
    log "started Prometheus on http://127.0.0.1:9090 (alerts from deploy/prometheus/alerts.yml)"
  fi
else
  log "Prometheus not installed (apt-get install prometheus); skipping it"
fi

cat > "$STACK/env" <<ENV
KAFKA_BROKERS=$KAFKA_BROKERS
DATABASE_URL=$DATABASE_URL
ENV
log "stack ready: KAFKA_BROKERS=$KAFKA_BROKERS DATABASE_URL=$(echo "$DATABASE_URL" | sed -E 's#://([^:/@]+):[^@]*@#://\1:***@#')"
