#!/usr/bin/env bash
# Stops what scripts/up.sh started (and nothing else). Data stays in .stack/ unless removed.
set -euo pipefail
cd "$(dirname "$0")/.."
STACK=.stack
if [ -f "$STACK/tansu.pid" ]; then
  pid=$(cat "$STACK/tansu.pid")
  if kill -0 "$pid" 2>/dev/null; then
    kill -TERM "$pid"
    for _ in $(seq 1 50); do kill -0 "$pid" 2>/dev/null || break; sleep 0.1; done
    kill -KILL "$pid" 2>/dev/null || true
    echo "down: stopped Tansu (pid $pid)"
  fi
  rm -f "$STACK/tansu.pid"
fi
if [ -f "$STACK/prometheus.pid" ]; then
  pid=$(cat "$STACK/prometheus.pid")
  kill -TERM "$pid" 2>/dev/null && echo "down: stopped Prometheus (pid $pid)"
  rm -f "$STACK/prometheus.pid"
fi
if [ -f "$STACK/postgres.started" ]; then
  version=$(cat "$STACK/postgres.started")
  pg_ctlcluster --skip-systemctl-redirect "$version" main stop && echo "down: stopped PostgreSQL $version"
  rm -f "$STACK/postgres.started"
fi
echo "down: done"
