//! The slow downstream (`streamsre sink`) and the consumer's HTTP sink, as real processes.

mod common;

use common::*;
use std::time::{Duration, Instant};
use streamsre_testkit::{http_get, scrape, wait_for};

async fn post(addr: &str, path: &str) {
    reqwest::Client::new()
        .post(format!("http://{addr}{path}"))
        .send()
        .await
        .unwrap()
        .error_for_status()
        .unwrap();
}

#[tokio::test(flavor = "multi_thread")]
async fn sink_429s_are_waited_out_and_never_dropped() {
    const N: u64 = 8_000;
    let (mut sink, sink_addr) = start_sink(&["--rate-limit", "2000"]).await;
    let (topic, group, db) = fixture().await;
    let mut p = producer(&topic, N, 0, 101);
    assert!(p
        .wait_exit(Duration::from_secs(60))
        .await
        .unwrap()
        .success());
    let (mut c, addr) = http_consumer(&topic, &group, &db, &sink_addr, &[]);

    wait_sink_total(&sink_addr, N, Duration::from_secs(90)).await;
    wait_no_lag(&group, &topic).await;
    let rejected = scrape(&sink_addr, "sink_service_events_rejected_total")
        .await
        .unwrap();
    let busy = scrape(&addr, "sink_busy_waits_total").await.unwrap();
    let opened = scrape(&addr, "sink_circuit_opened_total").await.unwrap();
    let retries = scrape(&addr, "retries_total").await.unwrap();
    eprintln!(
        "http sink: {rejected} events refused with 429, {busy} busy waits, {retries} failed attempts, breaker opened {opened} times, all {N} delivered"
    );
    assert!(rejected > 0.0, "the test must actually hit the rate limit");
    assert!(busy > 0.0, "429s were waited out");
    // A 429 is the sink's flow control: waiting it out spends no attempt and never opens the
    // circuit breaker (which would stop every lane for --breaker-open-for).
    assert_eq!(
        (retries, opened),
        (0.0, 0.0),
        "a busy sink is not a failing one"
    );
    let summary = stop_gracefully(&mut c).await;
    assert_eq!(summary["applied"].as_u64(), Some(N));
    assert_eq!(
        sink_total(&sink_addr).await,
        N,
        "nothing lost, nothing sent twice"
    );

    let (_, metrics) = http_get(&sink_addr, "/metrics").await.unwrap();
    assert!(metrics.contains("sink_service_requests_total{endpoint=\"batch\",code=\"429\"}"));
    sink.sigterm();
    assert!(sink
        .wait_exit(Duration::from_secs(10))
        .await
        .unwrap()
        .success());
    assert!(
        sink.stdout().contains(&format!("accepted total={N}")),
        "{}",
        sink.stdout()
    );
    db.drop_db().await;
}

#[tokio::test(flavor = "multi_thread")]
async fn a_paused_sink_builds_lag_that_drains_after_resume() {
    const N: u64 = 6_000;
    let (_sink, sink_addr) = start_sink(&["--rate-limit", "0"]).await;
    let (topic, group, db) = fixture().await;
    let (mut c, addr) = http_consumer(
        &topic,
        &group,
        &db,
        &sink_addr,
        &[
            "--lag-interval",
            "500ms",
            // A small in-flight cap: a paused sink must build lag on the broker.
            "--max-inflight",
            "64",
        ],
    );
    wait_assigned(&addr, &mut c).await;
    let mut p = producer(&topic, N, 500, 102);
    wait_for("events to flow", Duration::from_secs(60), || async {
        match sink_total(&sink_addr).await {
            n if n >= 1_000 => Ok(()),
            n => Err(format!("{n}")),
        }
    })
    .await;

    post(&sink_addr, "/control/pause").await;
    let paused_at = Instant::now();
    let lag = wait_lag_at_least(
        &group,
        &topic,
        1_000,
        "lag to rise while the sink is paused",
    )
    .await;
    let inflight = scrape(&addr, "inflight_workers").await.unwrap();
    assert!(
        inflight <= 64.0,
        "memory stays bounded while stalled: {inflight} in flight"
    );
    post(&sink_addr, "/control/resume").await;
    let resumed = Instant::now();
    assert!(p
        .wait_exit(Duration::from_secs(60))
        .await
        .unwrap()
        .success());
    wait_no_lag(&group, &topic).await;
    eprintln!(
        "http sink pause: paused {:.1}s, lag reached {lag}, drained {:.1}s after resume",
        resumed.duration_since(paused_at).as_secs_f64(),
        resumed.elapsed().as_secs_f64()
    );
    stop_gracefully(&mut c).await;
    assert_eq!(
        sink_total(&sink_addr).await,
        N,
        "every event delivered once"
    );
    db.drop_db().await;
}
