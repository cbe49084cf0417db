-- DLQ details for inspection and replay.
--   error_kind:   the stable kind prefix of the reason (filterable: `streamsre dlq list --kind`)
--   original_key: the message key, so a replay lands on the same partition and lane
--   retry_count:  how many times this record came back to the DLQ (replays that failed again)
--   replayed_at:  when `streamsre dlq replay` last sent it back to the main topic
ALTER TABLE dlq_events
    ADD COLUMN error_kind   text,
    ADD COLUMN original_key bytea,
    ADD COLUMN retry_count  int NOT NULL DEFAULT 0,
    ADD COLUMN replayed_at  timestamptz;
CREATE INDEX dlq_events_kind_failed_at ON dlq_events (error_kind, failed_at);
