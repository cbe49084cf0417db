//! One experiment's bench: its broker, its processes, and the once-a-second sampling of
//! everything it runs into `timeseries.csv` rows. An experiment only says *what* to start and
//! for how long; this file owns ports, process names, readiness waits and the sampling loop,
//! so every experiment measures the same way. The clock, the sampling and the HTTP calls to
//! the processes are in `sampling`.

use std::path::{Path, PathBuf};
use std::time::Duration;

use tokio::time::Instant;
use tokio_util::sync::CancellationToken;

use crate::procs::Children;
use crate::record::{Role, Sample};
use crate::runner::evidence::Fact;
use crate::runner::progress::Progress;

use crate::scale::Scale;
use crate::timeseries::Row;

/// Partitions of every experiment topic: enough for 16 sink lanes to matter and for two
/// consumers to split, few enough for the local broker.
pub const PARTITIONS: i32 = 6;

/// How long a stopped process gets to drain and commit before it is killed.
const GRACE: Duration = Duration::from_secs(15);

/// Group timings short enough that a rebalance shows within a quick run.
const GROUP_OPTS: &str = "session.timeout.ms=6000;heartbeat.interval.ms=1000";

/// Why an experiment stopped early.
#[derive(Debug)]
pub enum Stop {
    /// Ctrl-C: stop everything, keep what was measured.
    Interrupted,
    /// Something it needs failed; the message names it.
    Failed(String),
}

impl From<String> for Stop {
    fn from(e: String) -> Self {
        Stop::Failed(e)
    }
}

/// A process the bench samples once a second.
pub(super) struct Target {
    pub(super) run: String,
    pub(super) role: Role,
    /// Its name in the CSV (`consumer`, `consumer-2`) and, with the run, among the children.
    pub(super) name: String,
    pub(super) child: String,
    pub(super) addr: String,
    /// A consumer's `/debug/pprof` address.
    pub(super) debug: Option<String>,
    pub(super) last: Option<Sample>,
}

/// One experiment's bench.
pub struct Lab {
    /// The experiment's size.
    pub scale: Scale,
    pub(super) dir: PathBuf,
    pub(super) bin: String,
    pub(super) brokers: String,
    pub(super) children: Children,
    pub(super) run: String,
    pub(super) run_started: Instant,
    pub(super) phase_started: Instant,
    pub(super) next_tick: Instant,
    pub(super) targets: Vec<Target>,
    pub(super) rows: Vec<Row>,
    pub(super) facts: Vec<Fact>,
    pub(super) cancel: CancellationToken,
    pub(super) progress: Progress,
    pub(super) http: reqwest::Client,
    pub(super) seed: u64,
}

impl Lab {
    /// A bench in `dir` running `bin` (the streamsre executable) against its own broker from
    /// `tansu`.
    pub async fn start(
        dir: &Path,
        scale: Scale,
        bin: &str,
        tansu: &str,
        cancel: CancellationToken,
        progress: Progress,
    ) -> Result<Self, String> {
        let mut children = Children::new(dir)?;
        let brokers = crate::broker::start(&mut children, tansu, 0).await?;
        Ok(Self {
            scale,
            dir: dir.to_path_buf(),
            bin: bin.to_string(),
            brokers,
            children,
            run: String::new(),
            run_started: Instant::now(),
            phase_started: Instant::now(),
            next_tick: Instant::now(),
            targets: Vec::new(),
            rows: Vec::new(),
            facts: Vec::new(),
            cancel,
            progress,
            http: reqwest::Client::builder()
                .timeout(Duration::from_secs(2))
                .build()
                .map_err(|e| e.to_string())?,
            seed: 1,
        })
    }

    /// The experiment's directory (charts, profiles and logs go here).
    pub fn dir(&self) -> &Path {
        &self.dir
    }

    /// Starts run `name`: its own topic (and DLQ topic) and group, and a clock from zero, so
    /// the runs of one experiment overlay on a chart. Returns the topic.
    pub async fn begin_run(&mut self, name: &str) -> Result<String, Stop> {
        self.run = name.to_string();
        let topic = format!("lab.{name}");
        let opts = streamsre_kafka::KafkaOpts::plaintext(self.brokers.clone());
        for t in [topic.clone(), format!("{topic}.dlq")] {
            streamsre_kafka::admin::create_topic(&opts, &t, PARTITIONS, 1, Duration::from_secs(30))
                .await
                .map_err(|e| Stop::Failed(format!("creating topic {t}: {e:#}")))?;
        }
        self.progress.phase(&format!("{name}: starting"), None);
        self.run_started = Instant::now();
        Ok(topic)
    }

    /// Seconds since the current run began.
    pub fn t(&self) -> f64 {
        self.run_started.elapsed().as_secs_f64()
    }

    /// Records a fact of the current run (a count, a time, a yes/no as 1/0).
    pub fn fact(&mut self, key: &str, value: f64) {
        self.facts.push(Fact {
            run: self.run.clone(),
            key: key.to_string(),
            value,
        });
    }

    pub(super) fn child_name(&self, name: &str) -> String {
        format!("{}-{name}", self.run)
    }

    fn spawn(&mut self, name: &str, args: &[&str]) -> Result<u32, Stop> {
        let child = self.child_name(name);
        let envs = [
            ("KAFKA_BROKERS", self.brokers.as_str()),
            ("KAFKA_OPTS", GROUP_OPTS),
            ("LOG_FORMAT", "json"),
        ];
        Ok(self.children.spawn(&child, &self.bin, args, &envs)?)
    }

    fn watch(&mut self, role: Role, name: &str, addr: &str) {
        self.targets.push(Target {
            run: self.run.clone(),
            role,
            name: name.to_string(),
            child: self.child_name(name),
            addr: addr.to_string(),
            debug: None,
            last: None,
        });
    }

    /// Starts `streamsre sink` at `rate` events/s with `extra` flags; returns its base URL.
    pub async fn sink(&mut self, rate: f64, extra: &[&str]) -> Result<String, Stop> {
        let addr = free_addr()?;
        let rate = format!("{}", rate.round() as u64);
        let mut args = vec!["sink", "--listen", &addr, "--rate-limit", &rate];
        args.extend_from_slice(extra);
        self.spawn("sink", &args)?;
        self.watch(Role::Sink, "sink", &addr);
        self.wait_http("sink", &addr, "/healthz").await?;
        Ok(format!("http://{addr}"))
    }

    /// Starts `streamsre consume` as `name` on `topic` (group `group`) writing to the HTTP sink
    /// at `sink_url`, with `extra` flags, and waits until it owns partitions. Returns its
    /// metrics address (also its `/control/rate`).
    pub async fn consumer(
        &mut self,
        name: &str,
        topic: &str,
        group: &str,
        sink_url: &str,
        extra: &[&str],
    ) -> Result<String, Stop> {
        let (addr, debug) = (free_addr()?, free_addr()?);
        let dlq = format!("{topic}.dlq");
        let mut args = vec![
            "consume",
            "--topic",
            topic,
            "--group",
            group,
            "--dlq-topic",
            &dlq,
            "--sink",
            "http",
            "--sink-url",
            sink_url,
            "--metrics-addr",
            &addr,
            "--debug-addr",
            &debug,
            "--lag-interval",
            "1s",
            "--summary-format",
            "json",
            // A run ends by stopping its consumers; what they hold for a slow sink need not
            // be written first (the next run has its own topic).
            "--drain-timeout",
            "2s",
            "--revoke-timeout",
            "2s",
        ];
        args.extend_from_slice(extra);
        self.spawn(name, &args)?;
        self.watch(Role::Consumer, name, &addr);
        if let Some(t) = self.targets.last_mut() {
            t.debug = Some(debug.clone());
        }
        self.wait_until(
            &format!("{name} owns partitions"),
            Duration::from_secs(60),
            |lab| lab.latest(name, "assigned_partitions").unwrap_or(0.0) > 0.0,
        )
        .await?;
        Ok(addr)
    }

    /// The address of `name`'s `/debug/pprof` endpoints in the current run.
    pub fn debug_addr(&self, name: &str) -> Option<&str> {
        self.target(name)?.debug.as_deref()
    }

    /// Starts `streamsre produce` on `topic` with `extra` flags (a rate and a duration or a
    /// schedule), 512-byte events and a seed of its own; it is sampled from its own /metrics.
    pub async fn producer(&mut self, topic: &str, extra: &[&str]) -> Result<(), Stop> {
        let addr = free_addr()?;
        self.seed += 1;
        let seed = self.seed.to_string();
        let mut args = vec![
            "produce",
            "--topic",
            topic,
            "--msg-size",
            "512",
            "--seed",
            &seed,
            "--metrics-addr",
            &addr,
        ];
        args.extend_from_slice(extra);
        self.spawn("producer", &args)?;
        self.watch(Role::Producer, "producer", &addr);
        self.wait_http("producer", &addr, "/metrics").await
    }

    /// Runs `streamsre chaos` with `args` in the background (it exits by itself).
    pub fn chaos(&mut self, args: &[&str]) -> Result<(), Stop> {
        let mut all = vec!["chaos"];
        all.extend_from_slice(args);
        self.spawn("chaos", &all)?;
        Ok(())
    }

    /// Whether `name` of the current run is still running.
    pub fn running(&mut self, name: &str) -> bool {
        let child = self.child_name(name);
        self.children.is_running(&child)
    }

    /// The pid of `name` in the current run.
    pub fn pid(&self, name: &str) -> Option<u32> {
        self.children.pid(&self.child_name(name))
    }

    /// Stops `name` of the current run (SIGTERM, then SIGKILL after a grace period) and stops
    /// sampling it; returns whether it exited cleanly.
    pub async fn stop(&mut self, name: &str) -> bool {
        let child = self.child_name(name);
        self.targets.retain(|t| t.child != child);
        self.children
            .stop(&child, GRACE)
            .await
            .is_some_and(|s| s.success())
    }

    /// Stops every process of the current run, newest first.
    pub async fn end_run(&mut self) {
        let names: Vec<String> = self
            .targets
            .iter()
            .filter(|t| t.run == self.run)
            .map(|t| t.name.clone())
            .collect();
        for name in names.iter().rev() {
            self.stop(name).await;
        }
        let chaos = self.child_name("chaos");
        self.children.stop(&chaos, GRACE).await;
    }

    /// Events `name` (a producer of the current run, exited) reports as acknowledged in its
    /// final report (`acked=N`), exact where its last `/metrics` sample may be a second old.
    pub fn acked(&self, name: &str) -> Result<f64, Stop> {
        let path = self.dir.join(format!("{}.log", self.child_name(name)));
        let log = std::fs::read_to_string(&path).unwrap_or_default();
        log.rsplit("acked=")
            .next()
            .filter(|_| log.contains("acked="))
            .and_then(|rest| rest.split(|c: char| !c.is_ascii_digit()).next())
            .and_then(|n| n.parse().ok())
            .ok_or_else(|| Stop::Failed(format!("no acked= in {}", path.display())))
    }

    /// Samples until `consumer` has no lag and the sink's total has held for two samples, and
    /// returns that total (what the sink accepted, all told).
    pub async fn drain(&mut self, consumer: &str, timeout: Duration) -> Result<f64, Stop> {
        self.announce("drain", timeout);
        let start = Instant::now();
        let (mut last, mut stable) = (f64::NAN, 0);
        while start.elapsed() < timeout {
            self.tick().await?;
            let lag = self.latest(consumer, "consumer_lag_all_partitions");
            let total = self
                .latest("sink", "sink_service_events_accepted_total")
                .unwrap_or(0.0);
            stable = if lag == Some(0.0) && total == last {
                stable + 1
            } else {
                0
            };
            last = total;
            if stable >= 2 {
                return Ok(total);
            }
        }
        Err(Stop::Failed(format!(
            "{consumer} did not drain within {timeout:?}"
        )))
    }

    /// Stops everything (the broker last) and hands over what was measured.
    pub async fn finish(mut self) -> (Vec<Row>, Vec<Fact>) {
        self.children.stop_all(GRACE).await;
        (self.rows, self.facts)
    }
}

/// A free loopback address (the OS picks the port; the lab starts the process on it at once).
pub fn free_addr() -> Result<String, Stop> {
    std::net::TcpListener::bind("127.0.0.1:0")
        .and_then(|l| l.local_addr())
        .map(|a| a.to_string())
        .map_err(|e| Stop::Failed(format!("no free local port: {e}")))
}
