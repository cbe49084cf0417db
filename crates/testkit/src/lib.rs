//! Test harness for streamsre's integration tests. Nothing here is mocked: it creates a
//! dedicated PostgreSQL database and Kafka topic per test (so tests run in parallel without
//! sharing state), spawns the real `streamsre` binary as child processes, and waits on
//! observable conditions (row counts, lag, metrics) with deadlines instead of sleeping.
//!
//! A missing broker or database is a test failure with a message saying how to start it,
//! never a skip.

#![warn(missing_docs)]

use anyhow::{anyhow, bail, Context};
use std::future::Future;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, ExitStatus, Stdio};
use std::time::{Duration, Instant};
use streamsre_kafka::KafkaOpts;
use tokio_postgres::NoTls;
use uuid::Uuid;

/// Kafka bootstrap servers for tests: `KAFKA_BROKERS`, default the local stack's.
pub fn brokers() -> String {
    std::env::var("KAFKA_BROKERS").unwrap_or_else(|_| "127.0.0.1:9092".to_string())
}

/// Kafka options for tests: short session timeout so group joins and failovers are quick.
pub fn kafka_opts() -> KafkaOpts {
    KafkaOpts {
        brokers: brokers(),
        extra: vec![],
    }
}

/// librdkafka overrides every test consumer gets (see ARCHITECTURE.md: Tansu answers a join
/// after about the session timeout).
pub const FAST_GROUP_OPTS: &str = "session.timeout.ms=6000;heartbeat.interval.ms=1000";

/// A short unique suffix for names.
pub fn unique(prefix: &str) -> String {
    format!("{prefix}_{}", &Uuid::new_v4().simple().to_string()[..12])
}

/// Creates a fresh topic and returns its name.
pub async fn create_topic(partitions: i32) -> String {
    let name = unique("t");
    create_named_topic(&name, partitions).await;
    name
}

/// Creates the topic `name` (it must not be shared with another test).
pub async fn create_named_topic(name: &str, partitions: i32) {
    streamsre_kafka::admin::create_topic(&kafka_opts(), name, partitions, 1, Duration::from_secs(30))
        .await
        .unwrap_or_else(|e| {
            panic!(
                "cannot create a topic on Kafka at {}: {e:#}\nStart the stack with `make up` (or set KAFKA_BROKERS).",
                brokers()
            )
        });
}

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

/// Polls `check` every 100 ms until it returns `Some`, or fails after `timeout` with `what`
/// and the last observation.
pub async fn wait_for<T, F, Fut>(what: &str, timeout: Duration, mut check: F) -> T
where
    F: FnMut() -> Fut,
    Fut: Future<Output = Result<T, String>>,
{
    let deadline = Instant::now() + timeout;
    loop {
        let last = match check().await {
            Ok(v) => return v,
            Err(observed) => observed,
        };
        if Instant::now() >= deadline {
            panic!("timed out after {timeout:?} waiting for {what}; last observed: {last}");
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
}

/// A free loopback port for a child's metrics server.
pub fn free_addr() -> String {
    let listener = std::net::TcpListener::bind("127.0.0.1:0").expect("bind an ephemeral port");
    listener.local_addr().expect("local addr").to_string()
}

/// A running `streamsre` child process whose output goes to files under `target/test-logs`.
pub struct Proc {
    child: Child,
    /// Where its stdout goes.
    pub stdout_path: PathBuf,
    /// Where its stderr goes.
    pub stderr_path: PathBuf,
    name: String,
}

fn log_dir() -> PathBuf {
    let dir = Path::new(env!("CARGO_MANIFEST_DIR")).join("../../target/test-logs");
    std::fs::create_dir_all(&dir).expect("create target/test-logs");
    dir
}

impl Proc {
    /// Spawns `bin args…` with `envs`.
    pub fn spawn(bin: &str, name: &str, args: &[&str], envs: &[(&str, &str)]) -> Self {
        let tag = unique(name);
        let stdout_path = log_dir().join(format!("{tag}.out"));
        let stderr_path = log_dir().join(format!("{tag}.err"));
        let mut cmd = Command::new(bin);
        cmd.args(args)
            .env("KAFKA_BROKERS", brokers())
            .env("LOG_FORMAT", "json")
            .env("RUST_LOG", "info")
            .stdin(Stdio::null())
            .stdout(std::fs::File::create(&stdout_path).expect("stdout file"))
            .stderr(std::fs::File::create(&stderr_path).expect("stderr file"));
        for (k, v) in envs {
            cmd.env(k, v);
        }
        let child = cmd.spawn().unwrap_or_else(|e| panic!("spawn {bin}: {e}"));
        Self {
            child,
            stdout_path,
            stderr_path,
            name: tag,
        }
    }

    /// OS process id.
    pub fn pid(&self) -> u32 {
        self.child.id()
    }

    /// Sends SIGTERM (graceful shutdown).
    pub fn sigterm(&self) {
        // SAFETY: kill(2) with a pid we own and a valid signal number.
        unsafe {
            libc::kill(self.child.id() as i32, libc::SIGTERM);
        }
    }

    /// Sends SIGKILL and reaps the process: a crash with no chance to clean up.
    pub fn sigkill(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }

    /// Whether it is still running.
    pub fn is_running(&mut self) -> bool {
        matches!(self.child.try_wait(), Ok(None))
    }

    /// Waits for exit up to `timeout`.
    pub async fn wait_exit(&mut self, timeout: Duration) -> anyhow::Result<ExitStatus> {
        let deadline = Instant::now() + timeout;
        loop {
            if let Some(status) = self.child.try_wait()? {
                return Ok(status);
            }
            if Instant::now() >= deadline {
                bail!(
                    "{} did not exit within {timeout:?}\n{}",
                    self.name,
                    self.stderr_tail()
                );
            }
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
    }

    /// Everything it printed on stdout so far.
    pub fn stdout(&self) -> String {
        std::fs::read_to_string(&self.stdout_path).unwrap_or_default()
    }

    /// The last lines of its stderr, for failure messages.
    pub fn stderr_tail(&self) -> String {
        let text = std::fs::read_to_string(&self.stderr_path).unwrap_or_default();
        let lines: Vec<&str> = text.lines().collect();
        let start = lines.len().saturating_sub(30);
        format!(
            "--- {} stderr (last lines) ---\n{}",
            self.name,
            lines[start..].join("\n")
        )
    }
}

impl Drop for Proc {
    fn drop(&mut self) {
        if matches!(self.child.try_wait(), Ok(None)) {
            let _ = self.child.kill();
            let _ = self.child.wait();
        }
    }
}

/// Fetches `http://addr/path` and returns (status, body).
pub async fn http_get(addr: &str, path: &str) -> anyhow::Result<(u16, String)> {
    let res = reqwest::Client::new()
        .get(format!("http://{addr}{path}"))
        .timeout(Duration::from_secs(5))
        .send()
        .await
        .with_context(|| format!("GET {addr}{path}"))?;
    let status = res.status().as_u16();
    Ok((status, res.text().await?))
}

/// The value of an unlabelled or fully labelled sample in Prometheus text, e.g.
/// `events_processed_total{result="success"}`.
pub fn metric_value(text: &str, sample: &str) -> Option<f64> {
    text.lines().filter(|l| !l.starts_with('#')).find_map(|l| {
        l.strip_prefix(sample)?
            .strip_prefix(' ')?
            .trim()
            .parse()
            .ok()
    })
}

/// Scrapes one sample from a process's `/metrics`.
pub async fn scrape(addr: &str, sample: &str) -> anyhow::Result<f64> {
    let (_, body) = http_get(addr, "/metrics").await?;
    metric_value(&body, sample).ok_or_else(|| anyhow!("{sample} not found in /metrics"))
}

/// Total lag of `group` on `topic` (blocking admin calls run off the async runtime).
pub async fn total_lag(group: &str, topic: &str) -> anyhow::Result<i64> {
    let (group, topic) = (group.to_string(), topic.to_string());
    tokio::task::spawn_blocking(move || {
        streamsre_kafka::admin::group_lag(&kafka_opts(), &group, &topic, Duration::from_secs(10))
            .map(|rows| rows.iter().map(|r| r.lag).sum())
    })
    .await?
}

/// Committed offset per partition of `group` on `topic` (`None` where nothing is committed).
pub async fn committed_offsets(
    group: &str,
    topic: &str,
) -> anyhow::Result<Vec<(i32, Option<i64>)>> {
    let (group, topic) = (group.to_string(), topic.to_string());
    tokio::task::spawn_blocking(move || {
        streamsre_kafka::admin::group_lag(&kafka_opts(), &group, &topic, Duration::from_secs(10))
            .map(|rows| rows.iter().map(|r| (r.partition, r.committed)).collect())
    })
    .await?
}

/// One record read back from a topic, with its headers as strings.
#[derive(Debug, Clone)]
pub struct ReadRecord {
    /// Message key.
    pub key: Option<Vec<u8>>,
    /// Message value.
    pub value: Option<Vec<u8>>,
    /// Headers whose values are UTF-8.
    pub headers: std::collections::HashMap<String, String>,
}

/// Reads `topic` from the beginning of every partition until `expected` records arrived, or
/// fails after `timeout`. Uses manual assignment (no group), so it never disturbs a group.
pub async fn read_topic(topic: &str, expected: usize, timeout: Duration) -> Vec<ReadRecord> {
    use rdkafka::consumer::{BaseConsumer, Consumer};
    use rdkafka::message::{Headers, Message};
    let topic = topic.to_string();
    tokio::task::spawn_blocking(move || {
        let consumer: BaseConsumer = kafka_opts()
            .client_config(&[
                ("group.id", "streamsre-testkit-reader"),
                ("enable.auto.commit", "false"),
            ])
            .create()
            .expect("create reader");
        let metadata = consumer
            .fetch_metadata(Some(&topic), Duration::from_secs(10))
            .expect("topic metadata");
        let mut tpl = rdkafka::TopicPartitionList::new();
        for p in metadata.topics().iter().flat_map(|t| t.partitions()) {
            tpl.add_partition_offset(&topic, p.id(), rdkafka::Offset::Beginning)
                .expect("add partition");
        }
        consumer.assign(&tpl).expect("assign partitions");
        let deadline = Instant::now() + timeout;
        let mut out = Vec::new();
        while out.len() < expected {
            assert!(
                Instant::now() < deadline,
                "read {} of {expected} records from {topic} within {timeout:?}",
                out.len()
            );
            if let Some(Ok(m)) = consumer.poll(Duration::from_millis(200)) {
                let headers = m
                    .headers()
                    .map(|h| {
                        h.iter()
                            .filter_map(|h| {
                                let v = std::str::from_utf8(h.value?).ok()?;
                                Some((h.key.to_string(), v.to_string()))
                            })
                            .collect()
                    })
                    .unwrap_or_default();
                out.push(ReadRecord {
                    key: m.key().map(<[u8]>::to_vec),
                    value: m.payload().map(<[u8]>::to_vec),
                    headers,
                });
            }
        }
        out
    })
    .await
    .expect("reader thread")
}

/// A real headless Chromium driven through chromedriver's WebDriver HTTP API (Debian packages
/// `chromium` and `chromium-driver`), for tests that watch a live page in real time.
pub struct Browser {
    driver: Child,
    base: String,
    session: String,
    http: reqwest::Client,
    profile: PathBuf,
}

impl Browser {
    /// Starts chromedriver and a headless browser session (no network beyond loopback).
    pub async fn start() -> anyhow::Result<Self> {
        let port = free_addr().rsplit(':').next().unwrap().to_string();
        let driver = Command::new("chromedriver")
            .arg(format!("--port={port}"))
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .context("chromedriver is needed (Debian package `chromium-driver`; `make test` installs it)")?;
        let base = format!("http://127.0.0.1:{port}");
        let http = reqwest::Client::new();
        let deadline = Instant::now() + Duration::from_secs(20);
        while http.get(format!("{base}/status")).send().await.is_err() {
            if Instant::now() > deadline {
                bail!("chromedriver did not start on {base}");
            }
            tokio::time::sleep(Duration::from_millis(100)).await;
        }
        let profile = std::env::temp_dir().join(unique("chromium-profile"));
        let caps = serde_json::json!({"capabilities": {"alwaysMatch": {
            "browserName": "chrome",
            "goog:chromeOptions": {
                "binary": "/usr/bin/chromium",
                "args": ["--headless", "--no-sandbox", "--disable-gpu", "--disable-quic",
                         "--no-first-run", "--disable-background-networking",
                         "--disable-component-update", "--disable-sync", "--disable-dev-shm-usage",
                         "--window-size=1280,1000",
                         format!("--user-data-dir={}", profile.display())]
            }
        }}});
        let res: serde_json::Value = http
            .post(format!("{base}/session"))
            .json(&caps)
            .send()
            .await?
            .json()
            .await?;
        let session = res["value"]["sessionId"]
            .as_str()
            .ok_or_else(|| anyhow!("no WebDriver session: {res}"))?
            .to_string();
        Ok(Self {
            driver,
            base,
            session,
            http,
            profile,
        })
    }

    async fn call(
        &self,
        method: reqwest::Method,
        path: &str,
        body: serde_json::Value,
    ) -> anyhow::Result<serde_json::Value> {
        let url = format!("{}/session/{}/{path}", self.base, self.session);
        let mut request = self.http.request(method.clone(), url);
        if method != reqwest::Method::GET {
            request = request.json(&body);
        }
        let res: serde_json::Value = request.send().await?.json().await?;
        if res["value"].get("error").is_some() {
            bail!("WebDriver {path}: {}", res["value"]);
        }
        Ok(res["value"].clone())
    }

    /// Navigates to `url`.
    pub async fn goto(&self, url: &str) -> anyhow::Result<()> {
        self.call(
            reqwest::Method::POST,
            "url",
            serde_json::json!({ "url": url }),
        )
        .await
        .map(|_| ())
    }

    /// Runs `script` in the page and returns its result.
    pub async fn eval(&self, script: &str) -> anyhow::Result<serde_json::Value> {
        self.call(
            reqwest::Method::POST,
            "execute/sync",
            serde_json::json!({ "script": script, "args": [] }),
        )
        .await
    }

    /// Saves a PNG screenshot of the viewport to `path`.
    pub async fn screenshot(&self, path: &Path) -> anyhow::Result<u64> {
        use base64::Engine;
        let value = self
            .call(reqwest::Method::GET, "screenshot", serde_json::Value::Null)
            .await?;
        let png = base64::engine::general_purpose::STANDARD.decode(value.as_str().unwrap_or(""))?;
        std::fs::write(path, &png)?;
        Ok(png.len() as u64)
    }
}

impl Drop for Browser {
    fn drop(&mut self) {
        let _ = self.driver.kill();
        let _ = self.driver.wait();
        let _ = std::fs::remove_dir_all(&self.profile);
    }
}

/// A Tansu broker of the test's own (sqlite storage in a temp dir, free port), for tests that
/// must stop the broker without disturbing other tests. `tansu` comes from `make up`.
pub struct OwnBroker {
    child: Option<Child>,
    /// `host:port`.
    pub addr: String,
    dir: PathBuf,
    bin: PathBuf,
}

/// Tansu 0.6.0 as published, without the coordinator fix the local stack's `tansu` carries
/// (tools/tansu): the group tests reproduce the fault on it. Installed by
/// `scripts/install-tansu.sh` (run by `make up` and `make test`).
pub fn stock_tansu() -> PathBuf {
    let home = std::env::var("CARGO_HOME")
        .map(PathBuf::from)
        .unwrap_or_else(|_| {
            PathBuf::from(std::env::var("HOME").unwrap_or_default()).join(".cargo")
        });
    let bin = home.join("tansu-0.6.0-stock/bin/tansu");
    assert!(
        bin.exists(),
        "{} is missing: run scripts/install-tansu.sh (make test runs it)",
        bin.display()
    );
    bin
}

impl OwnBroker {
    /// Starts a durable (sqlite) broker and waits until it answers.
    ///
    /// Always sqlite, never Tansu 0.6.0's `memory://` storage: a fetch from an offset inside a
    /// stored batch skips the rest of that batch there (measured: consuming from offset 5 of a
    /// 10-record batch returned 10 onwards), and a consumer fetches from such offsets after
    /// every pause or restart, so tests on it would lose events that streamsre never saw.
    pub async fn start() -> Self {
        Self::start_bin(PathBuf::from("tansu")).await
    }

    /// Like [`OwnBroker::start`], running the broker binary `bin` (e.g. [`stock_tansu`]).
    pub async fn start_bin(bin: PathBuf) -> Self {
        let addr = free_addr();
        let dir = std::env::temp_dir().join(unique("tansu"));
        std::fs::create_dir_all(&dir).expect("broker dir");
        let mut broker = Self {
            child: None,
            addr,
            dir,
            bin,
        };
        broker.restart().await;
        broker
    }

    /// Total lag of `group` on `topic` on this broker.
    pub async fn lag(&self, group: &str, topic: &str) -> anyhow::Result<i64> {
        let (opts, group, topic) = (self.opts(), group.to_string(), topic.to_string());
        tokio::task::spawn_blocking(move || {
            streamsre_kafka::admin::group_lag(&opts, &group, &topic, Duration::from_secs(10))
                .map(|rows| rows.iter().map(|r| r.lag).sum())
        })
        .await?
    }

    /// Options pointing at this broker.
    pub fn opts(&self) -> KafkaOpts {
        KafkaOpts {
            brokers: self.addr.clone(),
            extra: vec![],
        }
    }

    /// Kills the broker (SIGKILL).
    pub fn kill(&mut self) {
        if let Some(mut c) = self.child.take() {
            let _ = c.kill();
            let _ = c.wait();
        }
    }

    /// Starts the broker again on the same port and storage, and waits until it answers.
    pub async fn restart(&mut self) {
        self.kill();
        let url = format!("tcp://{}", self.addr);
        let child = Command::new(&self.bin)
            .args([
                "broker",
                "--listener-url",
                &url,
                "--advertised-listener-url",
                &url,
            ])
            // Tansu resolves the sqlite path against its working directory (even with a
            // leading slash), so run it inside the broker's directory with a relative path.
            .args(["--storage-engine", "sqlite://tansu.db"])
            .current_dir(&self.dir)
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .unwrap_or_else(|e| {
                panic!(
                    "{} is needed (installed by `make up`): {e}",
                    self.bin.display()
                )
            });
        self.child = Some(child);
        let opts = self.opts();
        wait_for("the test broker to answer", Duration::from_secs(30), || {
            let opts = opts.clone();
            async move {
                tokio::task::spawn_blocking(move || {
                    streamsre_kafka::admin::list_topics(&opts, Duration::from_secs(2))
                })
                .await
                .map_err(|e| e.to_string())?
                .map(|_| ())
                .map_err(|e| e.to_string())
            }
        })
        .await;
    }
}

impl Drop for OwnBroker {
    fn drop(&mut self) {
        self.kill();
        let _ = std::fs::remove_dir_all(&self.dir);
    }
}
