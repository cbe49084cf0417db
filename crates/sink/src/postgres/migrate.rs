use crate::SinkError;
use tokio_postgres::Client;

/// Numbered migrations, applied in order, each exactly once.
const MIGRATIONS: &[(i32, &str, &str)] = &[
    (
        1,
        "init",
        include_str!("../../../../migrations/0001_init.sql"),
    ),
    (
        2,
        "dlq_details",
        include_str!("../../../../migrations/0002_dlq_details.sql"),
    ),
    (
        3,
        "ledger_retention",
        include_str!("../../../../migrations/0003_ledger_retention.sql"),
    ),
    (
        4,
        "ledger_retention_brin",
        include_str!("../../../../migrations/0004_ledger_retention_brin.sql"),
    ),
    (
        5,
        "ledger_index_on_demand",
        include_str!("../../../../migrations/0005_ledger_index_on_demand.sql"),
    ),
];

/// Arbitrary constant identifying streamsre's migration lock among other advisory locks.
const MIGRATION_LOCK_KEY: i64 = 0x5354_5245_414d_5352; // "STREAMSR"

/// Applies every migration not yet applied; returns how many were applied.
///
/// Safe to run from several processes at once (every consumer runs it at start): a
/// transaction-scoped advisory lock serializes them, and each migration commits together with
/// its row in `schema_migrations`, so a crash mid-migration leaves nothing half-applied.
pub async fn migrate(client: &mut Client) -> Result<usize, SinkError> {
    let tx = client.transaction().await?;
    tx.execute("SELECT pg_advisory_xact_lock($1)", &[&MIGRATION_LOCK_KEY])
        .await?;
    tx.batch_execute(
        "CREATE TABLE IF NOT EXISTS schema_migrations (
             version    int PRIMARY KEY,
             name       text NOT NULL,
             applied_at timestamptz NOT NULL DEFAULT now()
         )",
    )
    .await?;
    let applied: Vec<i32> = tx
        .query("SELECT version FROM schema_migrations", &[])
        .await?
        .iter()
        .map(|row| row.get(0))
        .collect();
    let mut count = 0;
    for (version, name, sql) in MIGRATIONS {
        if applied.contains(version) {
            continue;
        }
        tx.batch_execute(sql).await?;
        tx.execute(
            "INSERT INTO schema_migrations (version, name) VALUES ($1, $2)",
            &[version, name],
        )
        .await?;
        tracing::info!(version, name, "applied migration");
        count += 1;
    }
    tx.commit().await?;
    Ok(count)
}
