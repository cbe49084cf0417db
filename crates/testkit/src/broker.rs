//! A Tansu broker of one test's own, for tests that stop, restart or replace the broker, or
//! need a TLS, mTLS or SASL listener.

use crate::tls::CertFiles;
use crate::{free_addr, unique, wait_for};
use std::path::PathBuf;
use std::process::{Child, Command, Stdio};
use std::time::Duration;
use streamsre_kafka::{KafkaOpts, KafkaSecurity};

/// How the test broker's one listener is secured. Tansu serves TLS with `--cert/--key`,
/// SASL (PLAIN and SCRAM) with `--authentication`, and mTLS with `--client-ca` (the TLS
/// listener and `--client-ca` work with the patches in `vendor/`: see tools/tansu/README.md).
#[derive(Debug, Clone, Default)]
pub struct Listener {
    /// Server certificate: the listener speaks TLS.
    pub tls: Option<CertFiles>,
    /// Clients must present a certificate signed by this CA.
    pub client_ca: Option<PathBuf>,
    /// SASL is required. Tansu 0.6's PLAIN accepts any password; SCRAM checks it.
    pub authentication: bool,
}

/// A SCRAM user created on the broker before its listener is secured.
#[derive(Debug, Clone)]
pub struct ScramUser {
    /// User name.
    pub name: String,
    /// Password.
    pub password: String,
    /// `scram256` or `scram512` (Tansu's spelling).
    pub mechanism: &'static str,
}

/// A Tansu broker of the test's own (sqlite storage in a temp dir, free port), for tests that
/// must stop the broker without disturbing other tests. `tansu` comes from `make up`.
pub struct OwnBroker {
    child: Option<Child>,
    /// `host:port`.
    pub addr: String,
    dir: PathBuf,
    bin: PathBuf,
    listener: Listener,
    /// What a client needs to get in; used to wait for the broker and by [`OwnBroker::opts`].
    client: KafkaSecurity,
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
            listener: Listener::default(),
            client: KafkaSecurity::default(),
        };
        broker.restart().await;
        broker
    }

    /// A broker whose listener is secured as `listener` says, with `users` created first (on a
    /// plaintext listener over the same sqlite storage, which keeps them). `client` is what
    /// [`OwnBroker::opts`] connects with; the broker answers it before this returns.
    pub async fn start_secure(
        listener: Listener,
        users: &[ScramUser],
        client: KafkaSecurity,
    ) -> Self {
        let mut broker = Self::start().await;
        for user in users {
            let out = Command::new(&broker.bin)
                .args(["user", "create", &user.name, &user.password])
                .args(["--mechanism", user.mechanism])
                .args(["--broker", &format!("tcp://{}", broker.addr)])
                .current_dir(&broker.dir)
                .output()
                .expect("tansu user create");
            assert!(
                out.status.success(),
                "tansu user create {}: {}",
                user.name,
                String::from_utf8_lossy(&out.stderr)
            );
        }
        broker.listener = listener;
        broker.client = client;
        broker.restart().await;
        broker
    }

    /// The advertised `host:port`; a certificate for this broker names `localhost`.
    pub fn host_addr(&self) -> String {
        self.addr.replace("127.0.0.1", "localhost")
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
            brokers: self.host_addr(),
            security: self.client.clone(),
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
        // The listener binds the IP; clients are sent to `localhost`, the name the test
        // certificates carry, so host name verification has something to check.
        let listen = format!("tcp://{}", self.addr);
        let advertised = format!("tcp://{}", self.host_addr());
        let mut command = Command::new(&self.bin);
        command.args([
            "broker",
            "--listener-url",
            &listen,
            "--advertised-listener-url",
            &advertised,
        ]);
        if let Some(tls) = &self.listener.tls {
            command
                .arg("--cert")
                .arg(&tls.cert)
                .arg("--key")
                .arg(&tls.key);
        }
        if let Some(ca) = &self.listener.client_ca {
            command.arg("--client-ca").arg(ca);
        }
        if self.listener.authentication {
            command.arg("--authentication");
        }
        let child = command
            // Tansu resolves the sqlite path against its working directory (even with a
            // leading slash), so run it inside the broker's directory with a relative path.
            .args(["--storage-engine", "sqlite://tansu.db"])
            .current_dir(&self.dir)
            .stdout(Stdio::null())
            // Kept beside the storage while the test runs, for a failing test's author.
            .stderr(
                std::fs::File::create(self.dir.join("broker.log"))
                    .map(Stdio::from)
                    .unwrap_or_else(|_| Stdio::null()),
            )
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
