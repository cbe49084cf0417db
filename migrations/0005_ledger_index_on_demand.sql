-- The ledger's processed_at index is built only where it is used: by a consumer started with
-- --ledger-retention (PgSink::ensure_prune_index, CREATE INDEX CONCURRENTLY). Without
-- retention nothing reads it, and every ledger insert paid for it: about 4% of the sink's
-- throughput at the Postgres ceiling (pg_ceiling, 12 alternating runs, 6 of 6 faster without).
-- A database whose consumers prune keeps it: the next such consumer finds it and moves on.
DROP INDEX IF EXISTS processed_events_processed_at_brin;
