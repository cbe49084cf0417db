//! `sslmode` and `sslrootcert` in `DATABASE_URL`, against real servers: the stack's cluster
//! (`ssl = on`) for encryption, and a cluster of the test's own serving a certificate from a
//! CA made for the test, for verification.

use streamsre_sink::postgres::PgConnectOptions;
use streamsre_sink::{PgSink, PgSinkConfig, WritePath};
use streamsre_testkit::{unique, PgServer, TestCa, TestDb};

/// Whether the session behind `url` is encrypted, as the server sees it (`pg_stat_ssl`).
async fn encrypted(url: &str) -> Result<bool, String> {
    let client = PgConnectOptions::parse(url)?
        .connect()
        .await
        .map_err(|e| format!("{e}: {:?}", std::error::Error::source(&e)))?;
    let row = client
        .query_one(
            "SELECT ssl FROM pg_stat_ssl WHERE pid = pg_backend_pid()",
            &[],
        )
        .await
        .map_err(|e| e.to_string())?;
    Ok(row.get(0))
}

fn with_params(url: &str, params: &str) -> String {
    format!("{url}{}{params}", if url.contains('?') { '&' } else { '?' })
}

#[tokio::test]
async fn sslmode_require_encrypts_disable_does_not_and_prefer_is_the_default() {
    let db = TestDb::create().await;
    assert_eq!(
        encrypted(&with_params(&db.url, "sslmode=require")).await,
        Ok(true)
    );
    assert_eq!(
        encrypted(&with_params(&db.url, "sslmode=disable")).await,
        Ok(false)
    );
    // libpq's default: TLS when the server offers it, and the stack's cluster does.
    assert_eq!(encrypted(&db.url).await, Ok(true));
    // The sink itself connects through the same options.
    let sink = PgSink::connect(&PgSinkConfig {
        url: with_params(&db.url, "sslmode=require"),
        pool_size: 1,
        connect_timeout: std::time::Duration::from_secs(5),
        write_path: WritePath::default(),
    })
    .await;
    assert!(sink.is_ok(), "{:?}", sink.err().map(|e| e.to_string()));
}

#[tokio::test]
async fn verify_full_passes_with_the_servers_ca_and_fails_clearly_with_another() {
    let dir = std::env::temp_dir().join(unique("pgca"));
    let ca = TestCa::new(&dir, "pg");
    let other = TestCa::new(&dir, "other");
    let server = PgServer::start_tls(&ca.server("pg", &["localhost"])).await;
    let base = format!("postgres://postgres@localhost:{}/postgres", server.port);
    let root = |ca: &TestCa| format!("sslrootcert={}", ca.cert().display());

    let good = with_params(&base, &format!("sslmode=verify-full&{}", root(&ca)));
    assert_eq!(encrypted(&good).await, Ok(true));

    let wrong_ca = with_params(&base, &format!("sslmode=verify-full&{}", root(&other)));
    let err = encrypted(&wrong_ca).await.unwrap_err();
    assert!(err.to_lowercase().contains("unknownissuer"), "{err}");

    // The certificate names localhost, not 127.0.0.1: verify-full refuses, verify-ca accepts.
    let by_ip = format!("postgres://postgres@127.0.0.1:{}/postgres", server.port);
    let full = with_params(&by_ip, &format!("sslmode=verify-full&{}", root(&ca)));
    let err = encrypted(&full).await.unwrap_err();
    assert!(err.to_lowercase().contains("name"), "{err}");
    let ca_only = with_params(&by_ip, &format!("sslmode=verify-ca&{}", root(&ca)));
    assert_eq!(encrypted(&ca_only).await, Ok(true));

    // The sink names the failure as a certificate problem, not a passing outage.
    let sink = PgSink::connect(&PgSinkConfig {
        url: wrong_ca,
        pool_size: 1,
        connect_timeout: std::time::Duration::from_secs(5),
        write_path: WritePath::default(),
    })
    .await;
    let err = sink.err().expect("verify-full with the wrong CA must fail");
    assert!(
        !err.is_retriable(),
        "a rejected certificate is permanent: {err}"
    );
    assert!(err.to_string().contains("sslrootcert"), "{err}");
    let _ = std::fs::remove_dir_all(dir);
}
