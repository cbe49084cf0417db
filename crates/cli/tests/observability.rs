//! What an operator sees: metrics that pass `promtool`, lag per partition, readiness
//! transitions of the stuck-partition watchdog, log formats, and no secret anywhere.

mod common;

use common::*;
use std::io::Write;
use std::process::{Command, Stdio};
use std::time::Duration;
use streamsre_testkit::{http_get, metric_value, scrape, wait_for, Proc, TestDb};

fn promtool_check_metrics(scrape: &str) -> (bool, String) {
    let mut child = Command::new("promtool")
        .args(["check", "metrics"])
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .expect("promtool is needed (Debian package `prometheus`; `make test` installs it)");
    child
        .stdin
        .take()
        .unwrap()
        .write_all(scrape.as_bytes())
        .unwrap();
    let out = child.wait_with_output().unwrap();
    let text = format!(
        "{}{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
    (out.status.success(), text)
}

#[tokio::test(flavor = "multi_thread")]
async fn metrics_pass_promtool_and_report_lag_per_partition() {
    let Scenario {
        topic,
        group,
        db,
        consumer: mut c,
        addr,
        producer,
    } = Scenario::builder()
        .consumer_args(&["--lag-interval", "500ms"])
        .load(3_000, 0, 61)
        .delivered()
        .until_rows(3_000, Duration::from_secs(60))
        .start()
        .await;
    let _p = producer;
    wait_no_lag(&group, &topic).await;

    // The consumer's own lag metrics agree with the broker: one series per partition, all 0.
    let body = wait_for(
        "consumer_lag to be measured at 0 on every partition",
        Duration::from_secs(30),
        || async {
            let (_, body) = http_get(&addr, "/metrics")
                .await
                .map_err(|e| e.to_string())?;
            let series = body
                .lines()
                .filter(|l| l.starts_with(&format!("consumer_lag{{topic=\"{topic}\"")))
                .count();
            let all = metric_value(&body, "consumer_lag_all_partitions");
            if series == PARTITIONS as usize && all == Some(0.0) {
                Ok(body)
            } else {
                Err(format!("{series} series, total {all:?}"))
            }
        },
    )
    .await;
    let high: f64 = body
        .lines()
        .filter(|l| l.starts_with("consumer_high_watermark{"))
        .filter_map(|l| l.rsplit(' ').next()?.parse::<f64>().ok())
        .sum();
    assert_eq!(
        high, 3_000.0,
        "high watermarks add up to the events produced"
    );
    for name in [
        "consumer_committed_offset{",
        "assigned_partitions 6",
        "rebalances_total{kind=\"assign\"}",
        "streamsre_build_info{version=",
        "process_resident_memory_bytes",
        "git_sha=",
    ] {
        assert!(body.contains(name), "/metrics lacks {name}");
    }
    let (ok, report) = promtool_check_metrics(&body);
    assert!(ok, "promtool check metrics failed:\n{report}");
    stop_gracefully(&mut c).await;
    db.drop_db().await;
}

#[tokio::test(flavor = "multi_thread")]
async fn readyz_turns_503_on_a_stuck_partition_and_recovers() {
    let (topic, group, db) = fixture().await;
    let (mut c, addr) = consumer(
        &topic,
        &group,
        &db,
        &["--lag-interval", "300ms", "--stuck-after", "2s"],
    );
    wait_assigned(&addr, &mut c).await;
    let mut p = producer(&topic, 200, 0, 71);
    assert!(p
        .wait_exit(Duration::from_secs(60))
        .await
        .unwrap()
        .success());
    wait_rows(&db, 200, Duration::from_secs(60)).await;
    wait_ready(&addr, 200, "ready").await;

    // Hold a lock every batch needs: Postgres still answers pings, but no batch can commit.
    let locker = db.client().await;
    locker
        .batch_execute("BEGIN; LOCK TABLE user_stats IN ACCESS EXCLUSIVE MODE")
        .await
        .unwrap();
    let mut p = producer(&topic, 500, 0, 72);
    assert!(p
        .wait_exit(Duration::from_secs(60))
        .await
        .unwrap()
        .success());
    let body = wait_ready(&addr, 503, "/readyz 503 for stuck partitions").await;
    let by_name = |n: &str| readyz_dependency(&body, n).expect("listed");
    assert_eq!(by_name("partitions")["ok"], false, "{body}");
    assert!(by_name("partitions")["detail"]
        .as_str()
        .unwrap()
        .contains("no progress"));
    assert_eq!(
        by_name("postgres")["ok"],
        true,
        "Postgres itself still answers"
    );
    assert!(scrape(&addr, "stuck_partitions").await.unwrap() >= 1.0);

    locker.batch_execute("ROLLBACK").await.unwrap();
    wait_ready(&addr, 200, "/readyz 200 after recovery").await;
    wait_rows(&db, 700, Duration::from_secs(60)).await;
    wait_for(
        "stuck_partitions back to 0",
        Duration::from_secs(10),
        || async {
            match scrape(&addr, "stuck_partitions").await {
                Ok(0.0) => Ok(()),
                other => Err(format!("{other:?}")),
            }
        },
    )
    .await;
    stop_gracefully(&mut c).await;
    assert_exactly_once(&db, 700).await;
    db.drop_db().await;
}

#[tokio::test(flavor = "multi_thread")]
async fn secrets_never_reach_logs_metrics_or_health_output() {
    const DB_SECRET: &str = "Sup3rS3cretDbPw";
    const KAFKA_SECRET: &str = "KafkaSaslS3cret";
    let (topic, group, db) = fixture().await;
    // Trust auth on the local stack accepts any password, so the URL can carry a real one.
    let url = db
        .url
        .replacen("postgres@", &format!("postgres:{DB_SECRET}@"), 1);
    assert!(url.contains(DB_SECRET), "{url}");
    let addr = streamsre_testkit::free_addr();
    let sasl = format!("sasl.password={KAFKA_SECRET}");
    let mut c = Proc::spawn(
        BIN,
        "consume-secret",
        &[
            "consume",
            "--topic",
            &topic,
            "--dlq-topic",
            &dlq_topic(&topic),
            "--group",
            &group,
            "--metrics-addr",
            &addr,
            "--kafka-opt",
            &sasl,
            "--summary-format",
            "json",
        ],
        &[
            ("DATABASE_URL", &url),
            ("KAFKA_OPTS", streamsre_testkit::FAST_GROUP_OPTS),
            ("RUST_LOG", "debug"),
        ],
    );
    wait_assigned(&addr, &mut c).await;
    let mut p = producer(&topic, 100, 0, 81);
    assert!(p
        .wait_exit(Duration::from_secs(60))
        .await
        .unwrap()
        .success());
    wait_rows(&db, 100, Duration::from_secs(60)).await;
    let (_, metrics) = http_get(&addr, "/metrics").await.unwrap();
    let (_, ready) = http_get(&addr, "/readyz").await.unwrap();
    stop_gracefully(&mut c).await;

    // A failing connection's error message is redacted too.
    let mut bad = Proc::spawn(
        BIN,
        "migrate-secret",
        &["migrate"],
        &[(
            "DATABASE_URL",
            &format!("postgres://postgres:{DB_SECRET}@127.0.0.1:1/nowhere"),
        )],
    );
    let status = bad.wait_exit(Duration::from_secs(60)).await.unwrap();
    assert!(!status.success());
    let bad_err = std::fs::read_to_string(&bad.stderr_path).unwrap();
    assert!(bad_err.contains("***"), "{bad_err}");

    let help = Command::new(BIN)
        .args(["consume", "--help"])
        .env("DATABASE_URL", &url)
        .env("KAFKA_OPTS", &sasl)
        .output()
        .unwrap();
    let outputs = [
        ("consumer stdout", c.stdout()),
        (
            "consumer stderr",
            std::fs::read_to_string(&c.stderr_path).unwrap(),
        ),
        ("/metrics", metrics),
        ("/readyz", ready),
        ("migrate stderr", bad_err),
        ("--help", String::from_utf8_lossy(&help.stdout).into_owned()),
    ];
    for (what, text) in &outputs {
        assert!(
            !text.is_empty() || *what == "consumer stdout",
            "{what} is empty"
        );
        for secret in [DB_SECRET, KAFKA_SECRET] {
            assert!(!text.contains(secret), "{what} leaks a secret:\n{text}");
        }
    }
    db.drop_db().await;
}

#[tokio::test(flavor = "multi_thread")]
async fn log_format_switches_between_json_lines_and_text() {
    for (format, json) in [("json", true), ("text", false)] {
        let db = TestDb::create().await;
        let mut m = Proc::spawn(
            BIN,
            "migrate-log",
            &["migrate", "--log-format", format],
            &[("DATABASE_URL", &db.url)],
        );
        assert!(m
            .wait_exit(Duration::from_secs(30))
            .await
            .unwrap()
            .success());
        let log = std::fs::read_to_string(&m.stderr_path).unwrap();
        let lines: Vec<&str> = log
            .lines()
            .filter(|l| l.contains("applied migration"))
            .collect();
        assert!(!lines.is_empty(), "{format}: {log}");
        for line in lines {
            let parsed = serde_json::from_str::<serde_json::Value>(line);
            assert_eq!(parsed.is_ok(), json, "{format}: {line}");
        }
        db.drop_db().await;
    }
}

#[tokio::test(flavor = "multi_thread")]
async fn the_live_dashboard_renders_pipeline_data_in_a_real_browser() {
    // Keep events flowing while the browser watches.
    let Scenario {
        topic: _,
        group: _,
        db,
        consumer: mut c,
        addr,
        producer,
    } = Scenario::builder()
        .consumer_args(&["--lag-interval", "500ms"])
        .load(30_000, 2_000, 91)
        .until_rows(2_000, Duration::from_secs(60))
        .start()
        .await;
    let mut p = producer.unwrap();

    let browser = streamsre_testkit::Browser::start().await.unwrap();
    browser.goto(&format!("http://{addr}/")).await.unwrap();
    // Each chart: [id, points drawn, value shown]; plus the status line's class.
    let read = "return { status: document.getElementById('status').className, charts: \
        [...document.querySelectorAll('section.chart')].map(s => \
        [s.id, Number(s.dataset.points), s.querySelector('.value').textContent]) };";
    let page = wait_for(
        "every chart to show live data",
        Duration::from_secs(30),
        || async {
            let page = browser.eval(read).await.map_err(|e| e.to_string())?;
            let charts = page["charts"].as_array().cloned().unwrap_or_default();
            let ready = page["status"] == "live"
                && charts.len() == 5
                && charts
                    .iter()
                    .all(|c| c[1].as_u64().unwrap_or(0) >= 3 && c[2] != "–");
            let flowing = charts
                .iter()
                .find(|c| c[0] == "throughput")
                .and_then(|c| c[2].as_str()?.replace(',', "").parse::<f64>().ok())
                .is_some_and(|rate| rate > 0.0);
            if ready && flowing {
                Ok(page)
            } else {
                Err(page.to_string())
            }
        },
    )
    .await;
    eprintln!("dashboard: {page}");

    let artifacts =
        std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("../../target/test-artifacts");
    std::fs::create_dir_all(&artifacts).unwrap();
    let shot = artifacts.join("dashboard.png");
    let size = browser.screenshot(&shot).await.unwrap();
    assert!(
        size > 10_000,
        "screenshot saved at {} ({size} bytes)",
        shot.display()
    );
    drop(browser);

    assert!(p
        .wait_exit(Duration::from_secs(60))
        .await
        .unwrap()
        .success());
    wait_rows(&db, 30_000, Duration::from_secs(60)).await;
    stop_gracefully(&mut c).await;
    db.drop_db().await;
}

#[tokio::test(flavor = "multi_thread")]
async fn top_shows_live_consumers_and_marks_dead_ones() {
    let Scenario {
        topic,
        group: _,
        db,
        consumer: mut c,
        addr,
        producer,
    } = Scenario::builder()
        .consumer_args(&["--lag-interval", "500ms"])
        .load(20_000, 2_000, 95)
        .until_rows(2_000, Duration::from_secs(60))
        .start()
        .await;
    let mut p = producer.unwrap();
    let dead = streamsre_testkit::free_addr();
    let mut top = Proc::spawn(
        BIN,
        "top",
        &[
            "top",
            "--once",
            "--interval",
            "1s",
            "--target",
            &addr,
            "--target",
            &dead,
        ],
        &[],
    );
    assert!(
        top.wait_exit(Duration::from_secs(30))
            .await
            .unwrap()
            .success(),
        "{}",
        top.stderr_tail()
    );
    let screen = top.stdout();
    eprintln!("{screen}");
    let row = screen
        .lines()
        .find(|l| l.contains(&addr) && l.contains("ready"))
        .unwrap_or_else(|| panic!("no ready row for {addr}:\n{screen}"));
    let consumed: f64 = row
        .split_whitespace()
        .nth(2)
        .and_then(|v| v.parse().ok())
        .unwrap_or(0.0);
    assert!(consumed > 0.0, "consumed/s shows the flow: {row}");
    assert!(
        screen
            .lines()
            .any(|l| l.contains(&dead) && l.contains("DOWN")),
        "{screen}"
    );
    let partition_rows = screen.lines().filter(|l| l.contains(&topic)).count();
    assert_eq!(
        partition_rows, PARTITIONS as usize,
        "one row per partition:\n{screen}"
    );
    assert!(p
        .wait_exit(Duration::from_secs(60))
        .await
        .unwrap()
        .success());
    stop_gracefully(&mut c).await;
    db.drop_db().await;
}

#[tokio::test(flavor = "multi_thread")]
async fn readyz_turns_503_while_the_broker_is_down_and_recovers() {
    let mut broker = streamsre_testkit::OwnBroker::start().await;
    let topic = streamsre_testkit::unique("t");
    for name in [topic.clone(), dlq_topic(&topic)] {
        streamsre_kafka::admin::create_topic(&broker.opts(), &name, 2, 1, Duration::from_secs(30))
            .await
            .unwrap();
    }
    let (group, db) = (streamsre_testkit::unique("g"), TestDb::create().await);
    let addr = streamsre_testkit::free_addr();
    let mut c = Proc::spawn(
        BIN,
        "consume-own-broker",
        &[
            "consume",
            "--topic",
            &topic,
            "--dlq-topic",
            &dlq_topic(&topic),
            "--group",
            &group,
            "--metrics-addr",
            &addr,
            "--lag-interval",
            "500ms",
            "--summary-format",
            "json",
        ],
        &[
            ("KAFKA_BROKERS", &broker.addr),
            ("DATABASE_URL", &db.url),
            ("KAFKA_OPTS", streamsre_testkit::FAST_GROUP_OPTS),
        ],
    );
    wait_assigned(&addr, &mut c).await;
    wait_ready(&addr, 200, "ready").await;

    broker.kill();
    let body = wait_ready(&addr, 503, "/readyz 503 naming kafka").await;
    let kafka = readyz_dependency(&body, "kafka").expect("a kafka dependency");
    assert_eq!(kafka["ok"], false, "{body}");
    eprintln!("broker down: {body}");
    let (health, _) = http_get(&addr, "/healthz").await.unwrap();
    assert_eq!(health, 200, "liveness does not depend on the broker");

    broker.restart().await;
    wait_ready(&addr, 200, "/readyz 200 after the broker is back").await;
    stop_gracefully(&mut c).await;
    db.drop_db().await;
}

#[tokio::test(flavor = "multi_thread")]
async fn heap_and_cpu_profiles_are_served_on_the_debug_address() {
    let debug = streamsre_testkit::free_addr();
    let Scenario {
        topic: _,
        group: _,
        db,
        consumer: mut c,
        addr,
        producer,
    } = Scenario::builder()
        .consumer_args(&["--debug-addr", &debug])
        .load(5_000, 0, 111)
        .delivered()
        .until_rows(5_000, Duration::from_secs(60))
        .start()
        .await;
    let _p = producer;

    let client = reqwest::Client::new();
    let heap = client
        .get(format!("http://{debug}/debug/pprof/heap"))
        .send()
        .await
        .unwrap();
    assert_eq!(heap.status(), 200);
    let heap = heap.bytes().await.unwrap();
    // pprof profiles are gzip-compressed protobuf.
    assert!(
        heap.len() > 100 && heap[..2] == [0x1f, 0x8b],
        "heap profile: {} bytes",
        heap.len()
    );
    let cpu = client
        .get(format!("http://{debug}/debug/pprof/profile?seconds=1"))
        .timeout(Duration::from_secs(30))
        .send()
        .await
        .unwrap();
    assert_eq!(cpu.status(), 200);
    let cpu = cpu.bytes().await.unwrap();
    assert!(cpu.len() > 50, "CPU profile: {} bytes", cpu.len());
    let heap_metric = scrape(&addr, "heap_in_use_bytes").await.unwrap();
    assert!(
        heap_metric > 1e6,
        "heap_in_use_bytes from jemalloc: {heap_metric}"
    );
    stop_gracefully(&mut c).await;
    db.drop_db().await;
}
