//! Flow control under overload (the backpressure lab's machinery), with real processes: a
//! producer faster than the rate-limited HTTP sink (`streamsre sink`), and the consumer's queue
//! modes and overload policies in between. Figures are printed for the lab notes
//! (`--nocapture`).

mod common;

use common::*;
use std::time::{Duration, Instant};
use streamsre_testkit::{free_addr, http_get, metric_value, read_topic, total_lag, wait_for, Proc};

/// Starts `streamsre sink` at `rate` events/s (0 = unlimited).
async fn start_rate_limited_sink(rate: u32) -> (Proc, String) {
    start_sink(&["--rate-limit", &rate.to_string()]).await
}

async fn set_sink_rate(addr: &str, rate: u32) {
    reqwest::Client::new()
        .post(format!("http://{addr}/control/rate"))
        .json(&serde_json::json!({ "rate": rate }))
        .send()
        .await
        .unwrap()
        .error_for_status()
        .unwrap();
}

/// Producer events/s in the overload runs; the sink takes a quarter of it. Modest absolute
/// rates so three overload runs in parallel do not overload the shared test broker itself.
const OVERLOAD_RATE: u64 = 1_000;
const SINK_RATE: u32 = 250;
const OVERLOAD_FOR: Duration = Duration::from_secs(60);
/// 2 KiB events, so the unbounded queue's growth is unmistakable.
const OVERLOAD_MSG_SIZE: &str = "2048";

struct OverloadRun {
    rss_mib: Vec<f64>,
    heap_mib: Vec<f64>,
    /// What jemalloc holds (heap in use plus freed pages not yet returned).
    allocator_mib: Vec<f64>,
    queue_mib: Vec<f64>,
    lag: Vec<i64>,
}

/// The overload runs take turns: each saturates a core for a minute, and in parallel they
/// would measure each other.
static OVERLOAD_TURN: tokio::sync::Mutex<()> = tokio::sync::Mutex::const_new(());

/// Runs the 4× overload for `OVERLOAD_FOR` against a consumer with `args`, sampling its memory
/// and the group's lag about every second (a second's sleep plus the scrape and the lag
/// query), then lifts the sink's limit, lets the lag drain and checks that every event reached
/// the sink exactly once. Each run has a broker of its own, so the load never competes with
/// other tests for the shared broker.
async fn overload(label: &str, args: &[&str], rss_cap_mib: f64) -> OverloadRun {
    let _turn = OVERLOAD_TURN.lock().await;
    let broker = streamsre_testkit::OwnBroker::start().await;
    let (_sink, sink_addr) = start_rate_limited_sink(SINK_RATE).await;
    let topic = streamsre_testkit::unique("t");
    for name in [topic.clone(), dlq_topic(&topic)] {
        streamsre_kafka::admin::create_topic(
            &broker.opts(),
            &name,
            PARTITIONS,
            1,
            Duration::from_secs(30),
        )
        .await
        .unwrap();
    }
    let (group, db) = (
        streamsre_testkit::unique("g"),
        streamsre_testkit::TestDb::create().await,
    );
    let url = format!("http://{sink_addr}");
    let addr = free_addr();
    let dlq = dlq_topic(&topic);
    let mut all = vec![
        "consume",
        "--topic",
        &topic,
        "--dlq-topic",
        &dlq,
        "--group",
        &group,
        "--metrics-addr",
        &addr,
        "--summary-format",
        "json",
        "--debug-addr",
        "off",
        "--sink",
        "http",
        "--sink-url",
        &url,
        "--lag-interval",
        "1s",
    ];
    all.extend_from_slice(args);
    let envs = [
        ("KAFKA_BROKERS", broker.addr.as_str()),
        ("DATABASE_URL", db.url.as_str()),
        ("KAFKA_OPTS", streamsre_testkit::FAST_GROUP_OPTS),
    ];
    let mut c = Proc::spawn(BIN, "consume-overload", &all, &envs);
    wait_assigned(&addr, &mut c).await;
    let n = OVERLOAD_RATE * OVERLOAD_FOR.as_secs();
    let (count, rate) = (n.to_string(), OVERLOAD_RATE.to_string());
    let mut prod = Proc::spawn(
        BIN,
        "produce-overload",
        &[
            "produce",
            "--topic",
            &topic,
            "--count",
            &count,
            "--rate",
            &rate,
            "--msg-size",
            OVERLOAD_MSG_SIZE,
            "--seed",
            "201",
        ],
        &[("KAFKA_BROKERS", broker.addr.as_str())],
    );
    let mut run = OverloadRun {
        rss_mib: vec![],
        heap_mib: vec![],
        allocator_mib: vec![],
        queue_mib: vec![],
        lag: vec![],
    };
    let start = Instant::now();
    while start.elapsed() < OVERLOAD_FOR {
        tokio::time::sleep(Duration::from_secs(1)).await;
        assert!(
            c.is_running(),
            "{label}: consumer died\n{}",
            c.stderr_tail()
        );
        let (_, metrics) = http_get(&addr, "/metrics").await.unwrap();
        let mib = |name: &str| metric_value(&metrics, name).unwrap_or(0.0) / 1048576.0;
        let rss = mib("process_resident_memory_bytes");
        run.rss_mib.push(rss);
        run.heap_mib.push(mib("heap_in_use_bytes"));
        run.allocator_mib.push(mib("allocator_resident_bytes"));
        run.queue_mib.push(mib("queue_depth_bytes"));
        run.lag.push(broker.lag(&group, &topic).await.unwrap_or(-1));
        if rss > rss_cap_mib {
            // Safety cap for the test machine: the point (growth) is already made.
            c.sigkill();
            break;
        }
    }
    let overload_secs = start.elapsed().as_secs_f64();
    let status = prod.wait_exit(Duration::from_secs(60)).await.unwrap();
    assert!(
        status.success(),
        "{label}: producer failed\n{}",
        prod.stdout()
    );
    let (min, max) = min_max(&run.rss_mib);
    let (_, heap_max) = min_max(&run.heap_mib);
    let every_10s = |v: &[f64]| {
        v.iter()
            .step_by(10)
            .map(|x| format!("{x:.0}"))
            .collect::<Vec<_>>()
            .join(" ")
    };
    eprintln!(
        "{label}: every 10th sample, MiB: RSS [{}] allocator [{}] heap [{}] queue [{}]",
        every_10s(&run.rss_mib),
        every_10s(&run.allocator_mib),
        every_10s(&run.heap_mib),
        every_10s(&run.queue_mib)
    );
    eprintln!(
        "{label}: RSS {min:.1}..{max:.1} MiB, Rust heap up to {heap_max:.1} MiB, lag {} → {} over {:.0}s of 4x overload ({} samples)",
        run.lag.first().unwrap(),
        run.lag.last().unwrap(),
        overload_secs,
        run.lag.len()
    );
    if c.is_running() {
        // Drain: lift the sink's limit; nothing may be missing or doubled.
        set_sink_rate(&sink_addr, 0).await;
        let drain = Instant::now();
        wait_for("the lag to drain", Duration::from_secs(120), || async {
            match broker.lag(&group, &topic).await {
                Ok(0) => Ok(()),
                other => Err(format!("{other:?}")),
            }
        })
        .await;
        wait_sink_total(&sink_addr, n, Duration::from_secs(120)).await;
        eprintln!("{label}: drained in {:.1}s", drain.elapsed().as_secs_f64());
        stop_gracefully(&mut c).await;
        assert_eq!(
            sink_total(&sink_addr).await,
            n,
            "{label}: nothing lost, nothing doubled"
        );
    }
    db.drop_db().await;
    run
}

fn min_max(v: &[f64]) -> (f64, f64) {
    v.iter()
        .fold((f64::MAX, f64::MIN), |(lo, hi), x| (lo.min(*x), hi.max(*x)))
}

/// The memory budget the bounded and pull overload runs give the consumer, in MiB.
const BUDGET_MIB: f64 = 64.0;

/// What bounded and pull modes promise under overload: the backlog goes to the broker as lag,
/// the whole process heap (jemalloc is the process's malloc, so librdkafka's buffers count)
/// stays within the memory budget, and RSS stays in a flat band once the prefetch has filled
/// (the second half of the run): it does not grow with the backlog.
fn assert_memory_flat_while_lag_grows(label: &str, run: &OverloadRun) {
    let lag_end = *run.lag.last().unwrap();
    assert!(
        lag_end >= 30_000,
        "{label}: the overload went to the broker as lag ({lag_end})"
    );
    let (_, heap) = min_max(&run.heap_mib);
    assert!(
        heap <= BUDGET_MIB,
        "{label}: process heap {heap:.1} MiB within the {BUDGET_MIB} MiB budget"
    );
    // How fast the prefetch fills varies from run to run, so the band is judged on the
    // second half, and growth against the backlog by an absolute bound: RSS before the load
    // plus the budget. The backlog (~90 MiB of events) would not fit under it.
    let baseline = run.rss_mib[0];
    let (min, max) = min_max(&run.rss_mib[run.rss_mib.len() / 2..]);
    eprintln!(
        "{label}: RSS over the second half {min:.1}..{max:.1} MiB (before the load {baseline:.1})"
    );
    assert!(
        max - min <= BUDGET_MIB / 2.0,
        "{label}: RSS in a flat band over the second half: {min:.1}..{max:.1} MiB"
    );
    assert!(
        max <= baseline + BUDGET_MIB,
        "{label}: RSS {max:.1} MiB stays within the budget over what it was before the load ({baseline:.1})"
    );
}

/// Bounded queue (the default) under 4× overload with default flags (a 64 MiB budget, so the
/// ~120 MiB backlog cannot hide under it): memory stays flat and within the budget while the
/// overload becomes broker-side lag, RSS stays under the budget plus 32 MiB, and after the
/// source stops everything drains exactly once.
#[tokio::test(flavor = "multi_thread")]
async fn bounded_queue_keeps_memory_flat_under_4x_overload() {
    let run = overload("bounded", &[], 2048.0).await;
    assert_memory_flat_while_lag_grows("bounded", &run);
    let (_, queue) = min_max(&run.queue_mib);
    assert!(
        queue <= BUDGET_MIB,
        "queue {queue:.1} MiB within the budget"
    );
    let (_, rss) = min_max(&run.rss_mib);
    assert!(
        rss <= BUDGET_MIB + 32.0,
        "bounded: RSS {rss:.1} MiB within the budget + 32 MiB"
    );
}

/// Pull mode under 4× overload: no internal queue at all, the broker holds the backlog,
/// memory stays flat, and after the source stops everything drains exactly once.
#[tokio::test(flavor = "multi_thread")]
async fn pull_mode_keeps_memory_flat_under_4x_overload() {
    let run = overload(
        "pull",
        &["--queue", "pull", "--memory-budget", "64MiB"],
        2048.0,
    )
    .await;
    assert_memory_flat_while_lag_grows("pull", &run);
    let (_, queue) = min_max(&run.queue_mib);
    // The queue is reported at what its messages cost against the budget; pull mode holds at
    // most the one or two messages a poll returned while the sink had just filled.
    let two = 2.0 * streamsre_flow::MemoryBudget::cost(2048 + 64) as f64 / (1 << 20) as f64;
    assert!(
        queue <= two,
        "pull mode queues next to nothing ({queue:.3} MiB, two messages cost {two:.3})"
    );
}

#[tokio::test(flavor = "multi_thread")]
async fn unbounded_queue_grows_memory_under_4x_overload() {
    let run = overload("unbounded", &["--queue", "unbounded"], 1536.0).await;
    // The queue itself lives on the Rust heap: it grows with the backlog.
    let heap = &run.heap_mib;
    let growth = heap.last().unwrap() - heap[5];
    assert!(
        growth >= 48.0,
        "unbounded memory grows: heap {:.1} → {:.1} MiB",
        heap[5],
        heap.last().unwrap()
    );
    let tens: Vec<f64> = heap.iter().step_by(10).copied().collect();
    assert!(
        tens.windows(2).skip(1).all(|w| w[1] > w[0]),
        "heap rises in every window of 10 samples: {tens:?}"
    );
    assert!(
        run.rss_mib.last().unwrap() - run.rss_mib[5] >= 48.0,
        "and so does RSS: {:?}",
        run.rss_mib
    );
}

#[tokio::test(flavor = "multi_thread")]
async fn shed_counts_every_dropped_message_and_loses_nothing_else() {
    const N: u64 = 15_000;
    let (_sink, sink_addr) = start_rate_limited_sink(SINK_RATE).await;
    let (topic, group, db) = fixture().await;
    let (mut c, addr) = http_consumer(
        &topic,
        &group,
        &db,
        &sink_addr,
        &[
            "--policy",
            "shed",
            "--queue-cap",
            "256",
            // Shed drops only what finds no sink slot; the default cap (16,384) would take
            // the whole 15,000 in flight and leave nothing to shed.
            "--max-inflight",
            "256",
        ],
    );
    wait_assigned(&addr, &mut c).await;
    let mut prod = producer(&topic, N, OVERLOAD_RATE as u32, 202);
    assert!(prod
        .wait_exit(Duration::from_secs(60))
        .await
        .unwrap()
        .success());
    wait_no_lag(&group, &topic).await;
    let summary = stop_gracefully(&mut c).await;
    let shed = summary["shed"].as_u64().unwrap();
    let written = sink_total(&sink_addr).await;
    eprintln!(
        "shed: {written} written + {shed} shed = {} of {N}",
        written + shed
    );
    assert!(shed > 0, "the overload made the policy shed");
    assert_eq!(
        written + shed,
        N,
        "every message was either written or counted as shed"
    );
    let records = read_topic(&dlq_topic(&topic), 1, Duration::from_secs(20)).await;
    assert_eq!(
        records[0].headers["error"], "shed",
        "a shed summary reached the DLQ topic"
    );
    db.drop_db().await;
}

#[tokio::test(flavor = "multi_thread")]
async fn slow_source_makes_the_producer_follow_the_sink() {
    let sink_rate = 500u32;
    let (_sink, sink_addr) = start_rate_limited_sink(sink_rate).await;
    let (topic, group, db) = fixture().await;
    let (mut c, addr) = http_consumer(
        &topic,
        &group,
        &db,
        &sink_addr,
        &["--policy", "slow-source"],
    );
    wait_assigned(&addr, &mut c).await;
    let control = format!("http://{addr}/control/rate");
    let mut prod = Proc::spawn(
        BIN,
        "produce-adaptive",
        &[
            "produce",
            "--topic",
            &topic,
            "--rate",
            "2000",
            "--duration",
            "30s",
            "--adaptive",
            "--control-url",
            &control,
            "--seed",
            "203",
        ],
        &[],
    );
    assert!(
        prod.wait_exit(Duration::from_secs(90))
            .await
            .unwrap()
            .success(),
        "{}",
        prod.stderr_tail()
    );
    let out = prod.stdout();
    let field = |name: &str| -> f64 {
        out.split(&format!("{name}="))
            .nth(1)
            .and_then(|r| r.split(|ch: char| !ch.is_ascii_digit() && ch != '.').next())
            .and_then(|v| v.parse().ok())
            .unwrap_or_else(|| panic!("no {name} in {out}"))
    };
    let (acked, achieved) = (field("acked") as u64, field("achieved_rate"));
    eprintln!("slow-source: producer asked for 2000/s, achieved {achieved:.0}/s against a {sink_rate}/s sink");
    assert!(
        achieved < 1_000.0,
        "the producer slowed down towards the sink's rate: {achieved}"
    );
    assert!(
        achieved > f64::from(sink_rate) * 0.5,
        "but kept sending: {achieved}"
    );
    wait_no_lag(&group, &topic).await;
    wait_sink_total(&sink_addr, acked, Duration::from_secs(60)).await;
    stop_gracefully(&mut c).await;
    assert_eq!(sink_total(&sink_addr).await, acked, "zero loss");
    db.drop_db().await;
}

#[tokio::test(flavor = "multi_thread")]
async fn key_dispatch_keeps_per_key_order_and_round_robin_does_not() {
    const N: u64 = 20_000;
    let mut violations = Vec::new();
    for dispatch in ["key", "round-robin"] {
        let (topic, group, db) = fixture().await;
        let mut p = producer(&topic, N, 0, 204);
        assert!(p
            .wait_exit(Duration::from_secs(60))
            .await
            .unwrap()
            .success());
        let (mut c, _) = consumer(
            &topic,
            &group,
            &db,
            &[
                "--dispatch",
                dispatch,
                "--sink-workers",
                "4",
                "--batch-size",
                "50",
            ],
        );
        wait_rows(&db, N as i64, Duration::from_secs(120)).await;
        wait_no_lag(&group, &topic).await;
        let summary = stop_gracefully(&mut c).await;
        assert_exactly_once(&db, N as i64).await;
        violations.push(summary["ordering_violations"].as_u64().unwrap());
        db.drop_db().await;
    }
    eprintln!(
        "ordering violations: key={} round-robin={}",
        violations[0], violations[1]
    );
    assert_eq!(violations[0], 0, "key dispatch never reorders a key");
    assert!(violations[1] > 0, "round-robin reorders hot keys");
}

#[tokio::test(flavor = "multi_thread")]
async fn a_chaos_stall_raises_lag_which_returns_to_its_band() {
    let (_sink, sink_addr) = start_rate_limited_sink(3_000).await;
    let (topic, group, db) = fixture().await;
    let url = format!("http://{sink_addr}");
    let (mut c, addr) = http_consumer(&topic, &group, &db, &sink_addr, &[]);
    wait_assigned(&addr, &mut c).await;
    let mut prod = producer(&topic, 30_000, 1_000, 205);
    // Pre-stall band: lag while the sink keeps up.
    tokio::time::sleep(Duration::from_secs(5)).await;
    let mut before = 0;
    for _ in 0..3 {
        before = before.max(total_lag(&group, &topic).await.unwrap());
        tokio::time::sleep(Duration::from_millis(500)).await;
    }
    let mut stall = Proc::spawn(
        BIN,
        "chaos-stall",
        &[
            "chaos",
            "stall",
            "--sink-url",
            &url,
            "--rate",
            "0",
            "--for",
            "6s",
        ],
        &[],
    );
    let peak = wait_for(
        "lag to rise during the stall",
        Duration::from_secs(20),
        || async {
            match total_lag(&group, &topic).await {
                Ok(lag) if lag >= before + 3_000 => Ok(lag),
                other => Err(format!("{other:?}")),
            }
        },
    )
    .await;
    assert!(
        stall
            .wait_exit(Duration::from_secs(30))
            .await
            .unwrap()
            .success(),
        "{}",
        stall.stderr_tail()
    );
    let stall_over = Instant::now();
    let band = before + 1_000;
    wait_for(
        "lag back in its pre-stall band",
        Duration::from_secs(60),
        || async {
            match total_lag(&group, &topic).await {
                Ok(lag) if lag <= band => Ok(()),
                other => Err(format!("{other:?}")),
            }
        },
    )
    .await;
    eprintln!(
        "chaos stall: lag {before} before, {peak}+ during, back under {band} {:.1}s after the stall",
        stall_over.elapsed().as_secs_f64()
    );
    assert!(prod
        .wait_exit(Duration::from_secs(60))
        .await
        .unwrap()
        .success());
    wait_no_lag(&group, &topic).await;
    stop_gracefully(&mut c).await;
    assert_eq!(sink_total(&sink_addr).await, 30_000);
    db.drop_db().await;
}

#[tokio::test(flavor = "multi_thread")]
async fn blocking_poll_mode_is_evicted_and_decoupled_is_not() {
    let mut evictions = Vec::new();
    for mode in ["blocking", "decoupled"] {
        let (_sink, sink_addr) = start_rate_limited_sink(0).await;
        let (topic, group, db) = fixture().await;
        let (mut c, addr) = http_consumer(
            &topic,
            &group,
            &db,
            &sink_addr,
            &[
                "--poll-mode",
                mode,
                "--max-poll-interval",
                "7s",
                "--max-inflight",
                "16",
            ],
        );
        wait_assigned(&addr, &mut c).await;
        reqwest::Client::new()
            .post(format!("http://{sink_addr}/control/pause"))
            .send()
            .await
            .unwrap();
        let mut p = producer(&topic, 2_000, 0, 206);
        assert!(p
            .wait_exit(Duration::from_secs(60))
            .await
            .unwrap()
            .success());
        // Stalled well past max.poll.interval.ms.
        tokio::time::sleep(Duration::from_secs(15)).await;
        let (_, metrics) = http_get(&addr, "/metrics").await.unwrap();
        evictions.push(metric_value(&metrics, "evictions_total").unwrap_or(0.0));
        c.sigkill();
        db.drop_db().await;
    }
    eprintln!(
        "evictions: blocking={} decoupled={}",
        evictions[0], evictions[1]
    );
    assert!(
        evictions[0] >= 1.0,
        "a poll loop that blocks on the sink is evicted"
    );
    assert_eq!(
        evictions[1], 0.0,
        "the decoupled poll loop keeps its membership"
    );
}

/// `produce --schedule`: each step is sent at its own rate, one after the other, and the run
/// ends with the last step. Checked from the events' own timestamps (set when each is sent):
/// 300 in the first second, 1,500 in the next, nothing after.
#[tokio::test(flavor = "multi_thread")]
async fn a_step_schedule_sends_each_step_at_its_rate() {
    let topic = streamsre_testkit::create_topic(3).await;
    let mut prod = Proc::spawn(
        BIN,
        "produce-schedule",
        &[
            "produce",
            "--topic",
            &topic,
            "--schedule",
            "300:1s,1500:1s",
            "--seed",
            "204",
        ],
        &[],
    );
    let status = prod.wait_exit(Duration::from_secs(60)).await.unwrap();
    assert!(status.success(), "{}", prod.stderr_tail());
    assert!(
        prod.stdout().contains("sent=1800 acked=1800"),
        "the schedule sends 300 + 1,500 events: {}",
        prod.stdout()
    );
    let records = read_topic(&topic, 1800, Duration::from_secs(30)).await;
    let mut sent_at: Vec<chrono::DateTime<chrono::Utc>> = records
        .iter()
        .map(|r| {
            let v: serde_json::Value = serde_json::from_slice(r.value.as_deref().unwrap()).unwrap();
            v["ts"].as_str().unwrap().parse().unwrap()
        })
        .collect();
    sent_at.sort();
    let start = sent_at[0];
    let in_first_second = sent_at
        .iter()
        .filter(|t| (**t - start).num_milliseconds() < 1000)
        .count();
    // Pacing is exact; the margin only absorbs where the first event fell in its interval.
    assert!(
        (290..=310).contains(&in_first_second),
        "the first step sends 300/s: {in_first_second} in its second"
    );
    let last = (*sent_at.last().unwrap() - start).num_milliseconds();
    assert!(last < 2100, "the run ends with its last step ({last} ms)");
}
