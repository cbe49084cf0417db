//! Drill: PostgreSQL is stopped mid-run and started again.
//!
//! A binary of its own: cargo runs test binaries one at a time, so stopping the cluster here
//! cannot break another test. Needs the local Debian cluster (`pg_ctlcluster`), as `make up`
//! provides; without it the test fails and says so.

mod common;

use common::*;
use std::process::Command;
use std::time::{Duration, Instant};
use streamsre_testkit::{http_get, scrape, wait_for};

fn cluster_version() -> String {
    let versions = std::fs::read_dir("/etc/postgresql").expect(
        "this drill needs the local Debian PostgreSQL cluster (/etc/postgresql); run `make up`",
    );
    let mut names: Vec<String> = versions
        .filter_map(|e| e.ok()?.file_name().into_string().ok())
        .collect();
    names.sort_by_key(|v| v.parse::<u32>().unwrap_or(0));
    names.pop().expect("a PostgreSQL cluster version")
}

fn pg_ctl(action: &str) {
    let status = Command::new("pg_ctlcluster")
        .args([
            "--skip-systemctl-redirect",
            &cluster_version(),
            "main",
            action,
        ])
        .args(if action == "stop" {
            &["-m", "fast"][..]
        } else {
            &[][..]
        })
        .status()
        .expect("pg_ctlcluster runs");
    assert!(status.success(), "pg_ctlcluster {action} failed: {status}");
}

/// Starts the cluster again if the test stops half way, so later tests have a database.
struct RestartGuard;

impl Drop for RestartGuard {
    fn drop(&mut self) {
        let _ = Command::new("pg_ctlcluster")
            .args([
                "--skip-systemctl-redirect",
                &cluster_version(),
                "main",
                "start",
            ])
            .stdout(std::process::Stdio::null())
            .stderr(std::process::Stdio::null())
            .status();
    }
}

#[tokio::test(flavor = "multi_thread")]
async fn postgres_restart_stalls_the_pipeline_then_it_resumes_with_exact_counts() {
    const N: u64 = 15_000;
    // A small in-flight cap: the outage must build lag on the broker, not in memory.
    let Scenario {
        topic,
        group,
        db,
        consumer: mut c,
        addr,
        producer,
    } = Scenario::builder()
        .consumer_args(&["--max-inflight", "64"])
        .load(N, 1_000, 51)
        .until_rows(2_000, Duration::from_secs(60))
        .start()
        .await;
    let mut prod = producer.unwrap();
    let revokes_before = scrape(&addr, "rebalances_total{kind=\"revoke\"}")
        .await
        .unwrap();
    let retries_before = scrape(&addr, "retries_total").await.unwrap();

    let _guard = RestartGuard;
    let outage = Instant::now();
    pg_ctl("stop");
    let body = wait_for(
        "/readyz to report postgres down",
        Duration::from_secs(30),
        || async {
            match http_get(&addr, "/readyz").await {
                Ok((503, body)) if body.contains("\"name\":\"postgres\",\"ok\":false") => Ok(body),
                other => Err(format!("{other:?}")),
            }
        },
    )
    .await;
    eprintln!("drill pg-restart: /readyz during the outage: {body}");
    // Backpressure: the sink cannot write, so fetching stops and lag builds on the broker.
    let lag_down =
        wait_lag_at_least(&group, &topic, 3_000, "lag to build while Postgres is down").await;
    let inflight = scrape(&addr, "inflight_workers").await.unwrap();
    assert!(inflight <= 64.0, "in-flight stays bounded: {inflight}");
    let retries_down = scrape(&addr, "retries_total").await.unwrap() - retries_before;
    assert!(retries_down >= 1.0, "the outage shows in retries_total");
    // All lanes failing together trip the shared circuit breaker (threshold 5).
    wait_for(
        "the circuit breaker to open",
        Duration::from_secs(30),
        || async {
            match scrape(&addr, "sink_circuit_opened_total").await {
                Ok(n) if n >= 1.0 => Ok(()),
                other => Err(format!("{other:?}")),
            }
        },
    )
    .await;

    pg_ctl("start");
    let down_for = outage.elapsed();
    let back = Instant::now();
    wait_for("/readyz to recover", Duration::from_secs(60), || async {
        match http_get(&addr, "/readyz").await {
            Ok((200, _)) => Ok(()),
            other => Err(format!("{other:?}")),
        }
    })
    .await;
    let ready_after = back.elapsed();
    assert!(prod
        .wait_exit(Duration::from_secs(60))
        .await
        .unwrap()
        .success());
    wait_rows(&db, N as i64, Duration::from_secs(120)).await;
    wait_no_lag(&group, &topic).await;
    let drained_after = back.elapsed();
    eprintln!(
        "drill pg-restart: down {:.1}s, lag reached {lag_down}, {retries_down} retries during the outage, \
         ready {:.1}s and lag drained {:.1}s after the restart",
        down_for.as_secs_f64(),
        ready_after.as_secs_f64(),
        drained_after.as_secs_f64()
    );

    assert!(c.is_running(), "the consumer rode out the outage");
    assert_eq!(
        scrape(&addr, "sink_circuit_state").await.unwrap(),
        0.0,
        "the breaker closed again once the database answered"
    );
    let revokes_after = scrape(&addr, "rebalances_total{kind=\"revoke\"}")
        .await
        .unwrap();
    assert_eq!(
        revokes_after, revokes_before,
        "no rebalance: the member kept its partitions"
    );
    stop_gracefully(&mut c).await;
    assert_exactly_once(&db, N as i64).await;
    db.drop_db().await;
}
