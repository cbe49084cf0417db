-- --ledger-retention deletes ledger rows older than the retention (and below the committed
-- offset); this index lets it find them without scanning the ledger. Appends only at its
-- right edge (processed_at grows), so the cost per event is small.
CREATE INDEX IF NOT EXISTS processed_events_processed_at ON processed_events (processed_at);
