//! `streamsre_pipeline::run` driven in-process, against the real broker and PostgreSQL of the
//! local stack (`make up`): the shutdown future is a parameter, so a test stops the service
//! exactly the way SIGTERM does, and reads the summary it returns.

use std::time::Duration;
use streamsre_kafka::source::{PollMode, SourceConfig};
use streamsre_kafka::KafkaOpts;
use streamsre_pipeline::{
    ConsumeConfig, Dispatch, FlowControl, MemoryBudget, OverloadPolicy, QueueMode, RunSummary,
    SinkMode, SinkTarget, WritePath,
};
use streamsre_retry::{Backoff, OnExhausted, RetryPolicy};
use streamsre_testkit::{
    brokers, create_topic, free_addr, http_get, kafka_opts, review, scrape, total_lag, unique,
    wait_for, TestDb,
};
use tokio::sync::oneshot;
use tokio::task::JoinHandle;

/// Sends `events` keyed by their key and waits for every acknowledgement (the lab's raw
/// producer, off the async runtime: it flushes synchronously).
async fn produce_events(topic: &str, events: &[streamsre_event::Event]) {
    let records: Vec<_> = events
        .iter()
        .map(|e| {
            (
                Some(e.key.clone().into_bytes()),
                Some(streamsre_event::encode(e)),
            )
        })
        .collect();
    let topic = topic.to_string();
    let report = tokio::task::spawn_blocking(move || {
        streamsre_lab::load::send_raw(&kafka_opts(), &topic, &records, Duration::from_secs(30))
    })
    .await
    .unwrap()
    .expect("producing the test's events");
    assert_eq!(report.acked, events.len() as u64, "{report:?}");
}

/// `consume`'s defaults, scaled for a test: its own group, DLQ topic and metrics port, short
/// group timeouts (Tansu answers a join after about the session timeout).
async fn config(topic: &str, db: &TestDb) -> ConsumeConfig {
    let kafka = KafkaOpts {
        brokers: brokers(),
        security: Default::default(),
        extra: vec![
            ("session.timeout.ms".into(), "6000".into()),
            ("heartbeat.interval.ms".into(), "1000".into()),
        ],
    };
    ConsumeConfig {
        source: SourceConfig {
            kafka,
            topic: topic.to_string(),
            group: unique("g"),
            commit_interval: Duration::from_millis(500),
            revoke_timeout: Duration::from_secs(5),
            drain_timeout: Duration::from_secs(10),
            flow: FlowControl {
                mode: QueueMode::Bounded { cap: 1024 },
                policy: OverloadPolicy::Buffer,
                memory_budget: Some(MemoryBudget::new(64 << 20)),
            },
            poll_mode: PollMode::Decoupled,
            max_poll_interval: Duration::from_secs(300),
            keep_headers: false,
            start_from: Default::default(),
        },
        sink: SinkTarget::Postgres,
        database_url: db.url.clone(),
        max_inflight: 16_384,
        metrics_addr: free_addr().parse().unwrap(),
        sink_workers: 2,
        dispatch: Dispatch::Key,
        sink_mode: SinkMode::Batch,
        batch_size: 1000,
        write_path: WritePath::Unnest,
        max_inflight_batches: 2,
        batch_linger: Duration::from_millis(5),
        max_message_bytes: streamsre_event::DEFAULT_MAX_MESSAGE_BYTES,
        value_format: Default::default(),
        mapping: streamsre_mapping::parse(streamsre_mapping::REVIEWS_MAPPING).unwrap(),
        ledger_retention: None,
        dlq_topic: create_topic(1).await,
        retry: RetryPolicy {
            backoff: Backoff {
                base: Duration::from_millis(100),
                cap: Duration::from_millis(500),
            },
            max_attempts: 8,
            on_exhausted: OnExhausted::Wait,
        },
        breaker_threshold: 5,
        breaker_open_for: Duration::from_millis(500),
        readiness_timeout: Duration::from_secs(2),
        lag_interval: Duration::from_secs(1),
        stuck_after: Duration::from_secs(300),
        heap_probe: None,
    }
}

/// The service running on the test's runtime, and the trigger that shuts it down.
struct Running {
    stop: oneshot::Sender<()>,
    task: JoinHandle<anyhow::Result<RunSummary>>,
    addr: String,
}

fn start(config: ConsumeConfig) -> Running {
    let (stop, stopped) = oneshot::channel::<()>();
    let addr = config.metrics_addr.to_string();
    let task = tokio::spawn(streamsre_pipeline::run(config, async move {
        let _ = stopped.await;
    }));
    Running { stop, task, addr }
}

impl Running {
    /// Waits until `/readyz` answers 200: database connected and migrated, partitions assigned.
    async fn ready(&self) {
        wait_for("/readyz 200", Duration::from_secs(60), || async {
            match http_get(&self.addr, "/readyz").await {
                Ok((200, _)) => Ok(()),
                Ok((code, body)) => Err(format!("{code} {body}")),
                Err(e) => Err(e.to_string()),
            }
        })
        .await
    }

    /// Resolves the shutdown future and returns the summary, failing after `within`.
    async fn shut_down(self, within: Duration) -> RunSummary {
        self.stop.send(()).expect("the service is still running");
        tokio::time::timeout(within, self.task)
            .await
            .unwrap_or_else(|_| panic!("run did not return within {within:?} of shutdown"))
            .expect("run did not panic")
            .expect("run returned Ok")
    }
}

async fn rows(db: &TestDb) -> i64 {
    db.scalar("SELECT count(*) FROM processed_events").await
}

#[tokio::test(flavor = "multi_thread")]
async fn applies_everything_then_shuts_down_cleanly_with_every_offset_committed() {
    let db = TestDb::migrated().await;
    let topic = create_topic(3).await;
    let config = config(&topic, &db).await;
    let group = config.source.group.clone();
    let service = start(config);
    service.ready().await;

    let events: Vec<_> = (0..300).map(review).collect();
    produce_events(&topic, &events).await;
    wait_for("300 events applied", Duration::from_secs(60), || async {
        match rows(&db).await {
            300 => Ok(()),
            n => Err(format!("{n} rows")),
        }
    })
    .await;

    let summary = service.shut_down(Duration::from_secs(30)).await;
    assert_eq!(
        (summary.consumed, summary.applied, summary.duplicates),
        (300, 300, 0)
    );
    assert_eq!((summary.dlq, summary.abandoned, summary.shed), (0, 0, 0));
    assert_eq!(
        total_lag(&group, &topic).await.unwrap(),
        0,
        "the final commit covers every applied event"
    );
    db.drop_db().await;
}

#[tokio::test(flavor = "multi_thread")]
async fn a_shutdown_while_a_write_is_retrying_abandons_it_uncommitted_and_the_next_run_applies_it()
{
    let db = TestDb::migrated().await;
    // Every statement of a new session gives up after 300 ms (SQLSTATE 57014, retriable).
    db.client()
        .await
        .batch_execute(&format!(
            "ALTER DATABASE \"{}\" SET statement_timeout = '300ms'",
            db.name
        ))
        .await
        .unwrap();
    let topic = create_topic(2).await;
    let config = config(&topic, &db).await;
    let (group, addr) = (config.source.group.clone(), config.metrics_addr.to_string());
    let service = start(config.clone());
    service.ready().await;

    // Another session holds the ledger: every batch write waits, times out and is retried.
    let mut blocker = db.client().await;
    let lock = blocker.transaction().await.unwrap();
    lock.batch_execute(
        "SET LOCAL statement_timeout = 0; LOCK TABLE processed_events IN ACCESS EXCLUSIVE MODE",
    )
    .await
    .unwrap();
    let events: Vec<_> = (0..50).map(review).collect();
    produce_events(&topic, &events).await;
    wait_for("a write being retried", Duration::from_secs(60), || async {
        match scrape(&addr, "retries_total").await {
            Ok(n) if n >= 2.0 => Ok(()),
            other => Err(format!("{other:?}")),
        }
    })
    .await;

    let summary = service.shut_down(Duration::from_secs(30)).await;
    assert_eq!(summary.applied, 0);
    assert!(summary.retries >= 2, "{summary:?}");
    assert!(
        summary.abandoned > 0 && summary.abandoned <= 50,
        "the retried batch is abandoned, not applied: {summary:?}"
    );
    assert_eq!(
        total_lag(&group, &topic).await.unwrap(),
        50,
        "nothing of the abandoned work is committed"
    );
    lock.rollback().await.unwrap();
    assert_eq!(rows(&db).await, 0);

    // The same group again, with the database free: everything is applied, once.
    let mut again = config;
    again.metrics_addr = free_addr().parse().unwrap();
    let service = start(again);
    wait_for("50 events applied", Duration::from_secs(60), || async {
        match rows(&db).await {
            50 => Ok(()),
            n => Err(format!("{n} rows")),
        }
    })
    .await;
    let summary = service.shut_down(Duration::from_secs(30)).await;
    assert_eq!((summary.applied, summary.duplicates), (50, 0));
    assert_eq!(total_lag(&group, &topic).await.unwrap(), 0);
    db.drop_db().await;
}

#[tokio::test]
async fn a_config_without_lanes_is_refused_before_anything_starts() {
    let db = TestDb::create().await;
    let mut config = config("unused", &db).await;
    config.sink_workers = 0;
    let err = streamsre_pipeline::run(config, std::future::pending())
        .await
        .expect_err("zero lanes is refused");
    assert!(err.to_string().contains("--sink-workers"), "{err}");
    db.drop_db().await;
}
