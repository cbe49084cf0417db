#!/usr/bin/env bash
# make profile: where a default-flags consume run spends its time. It drains the bench workload
# (512 B events, 12 partitions, bench-owned memory-storage Tansu, fresh database) and takes:
#   - a CPU profile of streamsre from /debug/pprof/profile mid-run, summarized by
#     crates/cli/examples/pprof_top.rs (by component, top functions self and inclusive);
#   - Postgres' pg_stat_statements for the run's database: time per statement, calls, rows;
#   - the CPU split between streamsre, the broker and Postgres over the run.
# pg_stat_statements must be preloaded; if it is not, this script enables it in the local
# cluster (ALTER SYSTEM + restart), says so, and leaves it on (it costs about nothing).
set -euo pipefail
cd "$(dirname "$0")/.."
BIN=${1:-target/release/streamsre}
export BENCH_EVENTS=${BENCH_EVENTS:-500000}
SECONDS_PROFILED=${PROFILE_SECONDS:-8}
TOP=target/release/examples/pprof_top
source scripts/bench-lib.sh

if ! psql "$ADMIN_URL" -tAc 'show shared_preload_libraries' | grep -q pg_stat_statements; then
  version=$(psql "$ADMIN_URL" -tAc 'show server_version_num' | cut -c1-2)
  echo "profile: enabling pg_stat_statements in the local PostgreSQL $version (ALTER SYSTEM, then a restart)"
  psql "$ADMIN_URL" -qc "ALTER SYSTEM SET shared_preload_libraries = 'pg_stat_statements'"
  pg_ctlcluster --skip-systemctl-redirect "$version" main restart
  for _ in $(seq 1 60); do pg_isready -q -h 127.0.0.1 -p 5432 && break; sleep 0.5; done
fi

start_bench_broker
echo "profile: producing $N events of 512 B"
topic=$(new_topic profile "$N" 1)
url=$(fresh_db profile_run)
psql "$url" -qc 'CREATE EXTENSION IF NOT EXISTS pg_stat_statements' -c 'SELECT pg_stat_statements_reset()' >/dev/null

debug=127.0.0.1:$((20000 + RANDOM % 20000))
profile="$STACK/profile-cpu.pb"
rm -f "$profile"
# Profile once a tenth of the events are in, so start-up and the last partial batches stay out.
(
  until [ "$(psql "$url" -tAc 'select count(*) from processed_events' 2>/dev/null || echo 0)" -ge $((N / 10)) ]; do sleep 0.1; done
  curl -fsS "http://$debug/debug/pprof/profile?seconds=$SECONDS_PROFILED" -o "$profile"
) &
profiler=$!
summary=$(run_consumer defaults "$topic" "$N" "$url" --debug-addr "$debug")
wait "$profiler" || { echo "profile: the CPU profile failed (was the run shorter than ${SECONDS_PROFILED}s?)" >&2; exit 1; }
eps=$(echo "$summary" | json_field throughput_eps)
read -r broker_s pg_s wall_s <"$STACK/bench-defaults.cpu_split"
printf 'profile: streamsre defaults %.0f events/s over %s s; CPU seconds: streamsre %s, broker %s, postgres %s (%s cores)\n' \
  "$eps" "$wall_s" "$(cat "$STACK/bench-defaults.cpu_s")" "$broker_s" "$pg_s" "$(nproc)"

echo
echo "profile: streamsre CPU, ${SECONDS_PROFILED} s mid-run ($profile)"
"$TOP" "$profile" 20

echo
echo "profile: pg_stat_statements for the run's database, by total execution time"
psql "$url" -P pager=off -c "
  SELECT round((100 * total_exec_time / sum(total_exec_time) OVER ())::numeric, 1) AS pct,
         calls,
         round(total_exec_time::numeric, 0) AS total_ms,
         round(mean_exec_time::numeric, 2) AS mean_ms,
         round(rows::numeric / greatest(calls, 1), 1) AS rows_per_call,
         left(regexp_replace(query, '\s+', ' ', 'g'), 90) AS query
    FROM pg_stat_statements
   WHERE dbid = (SELECT oid FROM pg_database WHERE datname = current_database())
   ORDER BY total_exec_time DESC
   LIMIT 12"
psql "$url" -tAc "
  SELECT 'profile: statements ran ' || round(sum(total_exec_time)::numeric / 1000, 1) || ' s in all over a '
         || '$wall_s' || ' s run (' || round(sum(total_exec_time)::numeric / 10 / $wall_s, 0) || '% of one connection)'
    FROM pg_stat_statements WHERE dbid = (SELECT oid FROM pg_database WHERE datname = current_database())"
drop_db profile_run
