//! A PostgreSQL database per test, created from the stack's server and dropped at the end.

use tokio_postgres::NoTls;

use crate::unique;

/// A database created for one test and dropped by [`TestDb::drop_db`].
pub struct TestDb {
    /// Name of the database.
    pub name: String,
    /// URL of the database.
    pub url: String,
    admin_url: String,
}

fn admin_url() -> String {
    let base = std::env::var("DATABASE_URL")
        .unwrap_or_else(|_| "postgres://postgres@127.0.0.1:5432/streamsre".to_string());
    with_database(&base, "postgres")
}

fn with_database(url: &str, db: &str) -> String {
    let mut parsed = url::Url::parse(url).expect("DATABASE_URL is a URL");
    parsed.set_path(&format!("/{db}"));
    parsed.to_string()
}

async fn connect(url: &str) -> anyhow::Result<tokio_postgres::Client> {
    let (client, connection) = tokio_postgres::connect(url, NoTls).await?;
    tokio::spawn(async move {
        let _ = connection.await;
    });
    Ok(client)
}

impl TestDb {
    /// Creates an empty database (the consumer applies migrations itself).
    pub async fn create() -> Self {
        let admin_url = admin_url();
        let name = unique("srt");
        let admin = connect(&admin_url).await.unwrap_or_else(|e| {
            panic!("cannot connect to PostgreSQL at {admin_url}: {e}\nStart the stack with `make up` (or set DATABASE_URL).")
        });
        admin
            .batch_execute(&format!("CREATE DATABASE {name}"))
            .await
            .expect("create test database");
        let url = with_database(&admin_url, &name);
        Self {
            name,
            url,
            admin_url,
        }
    }

    /// Creates a database and applies the migrations.
    pub async fn migrated() -> Self {
        let db = Self::create().await;
        let mut client = db.client().await;
        streamsre_sink::migrate(&mut client)
            .await
            .expect("migrations apply");
        db
    }

    /// A new connection to the test database.
    pub async fn client(&self) -> tokio_postgres::Client {
        connect(&self.url).await.expect("connect to test database")
    }

    /// Runs a query returning one bigint.
    pub async fn scalar(&self, sql: &str) -> i64 {
        self.try_scalar(sql)
            .await
            .unwrap_or_else(|e| panic!("{sql}: {e}"))
    }

    /// Like [`TestDb::scalar`], but returns the error, for conditions that may not hold yet
    /// (e.g. the consumer has not created the tables).
    pub async fn try_scalar(&self, sql: &str) -> Result<i64, String> {
        let client = connect(&self.url).await.map_err(|e| e.to_string())?;
        let row = client
            .query_one(sql, &[])
            .await
            .map_err(|e| match e.as_db_error() {
                Some(db) => db.message().to_string(),
                None => e.to_string(),
            })?;
        Ok(row.get(0))
    }

    /// Drops the database (call at the end of a passing test; a failing one keeps its data
    /// for inspection).
    pub async fn drop_db(self) {
        if let Ok(admin) = connect(&self.admin_url).await {
            let _ = admin
                .batch_execute(&format!(
                    "DROP DATABASE IF EXISTS {} WITH (FORCE)",
                    self.name
                ))
                .await;
        }
    }
}
