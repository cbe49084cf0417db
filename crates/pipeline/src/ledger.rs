//! The background task behind `--ledger-retention`: every so often, delete ledger rows that are
//! older than the retention and below the group's committed offset (as the lag monitor last
//! read it from the broker), and export what it did. The first passes also make sure the index
//! pruning reads exists (built concurrently, so the sink's writes go on meanwhile).

use std::sync::Arc;
use std::time::Duration;
use streamsre_kafka::lag::SharedLagView;
use streamsre_sink::postgres::PRUNE_BATCH;
use streamsre_sink::PgSink;
use streamsre_telemetry::Metrics;
use tokio_util::sync::CancellationToken;

/// How often a pass runs: often enough that the ledger holds little more than the retention,
/// rarely enough to cost nothing (a pass is an indexed range delete).
fn pass_interval(retention: Duration) -> Duration {
    (retention / 4).clamp(Duration::from_secs(1), Duration::from_secs(60))
}

pub(crate) async fn prune(
    sink: PgSink,
    topic: String,
    retention: Duration,
    lag: SharedLagView,
    metrics: Arc<Metrics>,
    cancel: CancellationToken,
) {
    tracing::info!(
        ?retention,
        "ledger retention on: pruning rows older than it and below the committed offset"
    );
    let mut indexed = false;
    loop {
        tokio::select! {
            _ = cancel.cancelled() => return,
            _ = tokio::time::sleep(pass_interval(retention)) => {}
        }
        if !indexed {
            // Pruning is correct without the index, only slower: a failure here waits a pass.
            match sink.ensure_prune_index().await {
                Ok(done) => indexed = done,
                Err(e) => {
                    tracing::warn!(reason = %e, "building the ledger's pruning index failed; trying again next pass")
                }
            }
        }
        let committed = lag
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .committed
            .clone();
        match sink
            .prune_ledger(&topic, &committed, retention, PRUNE_BATCH)
            .await
        {
            Ok((pruned, rows)) => {
                metrics.ledger_pruned(pruned, rows);
                if pruned > 0 {
                    tracing::info!(pruned, ledger_rows = rows, "ledger pruned");
                }
            }
            Err(e) => tracing::warn!(reason = %e, "ledger pruning failed; trying again next pass"),
        }
    }
}
