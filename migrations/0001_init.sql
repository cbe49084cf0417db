-- Dedup ledger: one row per event whose effects are committed. The primary key is what makes
-- a replay a no-op. The source position is kept for audits ("which offset wrote this?") and
-- lets tests prove that committed Kafka offsets cover every row written.
CREATE TABLE processed_events (
    event_id         uuid PRIMARY KEY,
    processed_at     timestamptz NOT NULL DEFAULT now(),
    source_topic     text,
    source_partition int,
    source_offset    bigint
);

-- The business rows.
CREATE TABLE reviews (
    review_id  text PRIMARY KEY,
    event_id   uuid NOT NULL,
    user_key   text NOT NULL,
    rating     int  NOT NULL CHECK (rating BETWEEN 1 AND 5),
    text       text NOT NULL,
    created_at timestamptz NOT NULL
);

-- Per-key aggregate maintained in the same transaction. Unlike reviews, whose primary key
-- would silently absorb a double application, a double-applied event inflates review_count:
-- sum(review_count) = distinct events produced is the end-to-end exactly-once check.
CREATE TABLE user_stats (
    user_key     text PRIMARY KEY,
    review_count bigint NOT NULL,
    rating_sum   bigint NOT NULL,
    updated_at   timestamptz NOT NULL DEFAULT now()
);

-- Messages that can never be applied, with the reason. raw_payload keeps the exact bytes
-- (even when not UTF-8 or not JSON); original_payload is the JSON when it parses.
CREATE TABLE dlq_events (
    event_id         uuid PRIMARY KEY,
    reason           text NOT NULL,
    original_payload jsonb,
    raw_payload      bytea,
    source_topic     text,
    source_partition int,
    source_offset    bigint,
    failed_at        timestamptz NOT NULL DEFAULT now()
);
CREATE INDEX dlq_events_failed_at ON dlq_events (failed_at);
