//! Group membership faults, with real processes on real brokers. Two Tansu 0.6.0 builds take
//! part: the published one (`stock_tansu`), whose group coordinator leaves partitions
//! unowned after certain member deaths, and the local stack's, which carries the fixes
//! in `vendor/tansu-broker` (see `tools/tansu/README.md`). On the first, streamsre must report
//! the unowned partitions and heal what a member can heal; on the second, the same sequences
//! must simply work.

mod common;

use common::*;
use std::time::Duration;
use streamsre_testkit::{
    brokers, http_get, scrape, stock_tansu, wait_for, OwnBroker, Proc, TestDb,
};

const N: u64 = 12_000;

/// A topic (and its DLQ topic), a group and a database on `brokers`, with a backlog of
/// `upfront` events.
async fn backlog(brokers: &str, upfront: u64) -> (String, String, TestDb) {
    let opts = streamsre_kafka::KafkaOpts::plaintext(brokers);
    let topic = streamsre_testkit::unique("t");
    for (name, partitions) in [(topic.clone(), PARTITIONS), (dlq_topic(&topic), 1)] {
        streamsre_kafka::admin::create_topic(&opts, &name, partitions, 1, Duration::from_secs(30))
            .await
            .unwrap();
    }
    produce_all_at(brokers, &topic, upfront, 91).await;
    (
        topic,
        streamsre_testkit::unique("g"),
        TestDb::create().await,
    )
}

/// The group checks run fast: `--stuck-after` is longer than a Tansu join (about the 6 s
/// session timeout) and short enough for a test.
fn member(
    brokers: &str,
    topic: &str,
    group: &str,
    db: &TestDb,
    stuck_after: &str,
) -> (Proc, String) {
    consumer_at(
        brokers,
        topic,
        group,
        db,
        &["--stuck-after", stuck_after, "--lag-interval", "1s"],
    )
}

/// The `group` dependency of a `/readyz` answer, if it is failing.
async fn group_failure(addr: &str) -> Option<String> {
    let (code, body) = http_get(addr, "/readyz").await.ok()?;
    if code != 503 {
        return None;
    }
    let group = common::readyz_dependency(&body, "group")?;
    (group["ok"] == false).then(|| group["detail"].as_str().unwrap_or_default().to_string())
}

/// The sequence: a member with partitions is killed, the next one is killed about 3 s
/// into its life while it is still joining, and a third starts. Returns the third once it owns
/// partitions, with what its `/readyz` said about the group until then.
async fn kill_a_member_while_joining(
    brokers: &str,
    topic: &str,
    group: &str,
    db: &TestDb,
    stuck_after: &str,
) -> (Proc, String, Option<String>) {
    let (mut a, addr_a) = member(brokers, topic, group, db, stuck_after);
    wait_assigned(&addr_a, &mut a).await;
    wait_rows(db, 1, Duration::from_secs(60)).await;
    a.sigkill();

    let (mut b, addr_b) = member(brokers, topic, group, db, stuck_after);
    wait_serving(&addr_b, &mut b).await;
    // The fault's own timing, not a wait for a condition: the third member must join the
    // group about 3 s after the first one died (one Tansu join pause), so that the dead
    // leader is evicted between its JoinGroup and its SyncGroup.
    tokio::time::sleep(Duration::from_secs(3)).await;
    let assigned_b = scrape(&addr_b, "assigned_partitions").await.unwrap_or(0.0);
    b.sigkill();
    assert_eq!(assigned_b, 0.0, "b got partitions before it was killed");

    let (mut c, addr_c) = member(brokers, topic, group, db, stuck_after);
    let reported = std::sync::Mutex::new(None);
    wait_alive(
        &mut c,
        "the third member to own partitions",
        Duration::from_secs(180),
        || async {
            if let Some(detail) = group_failure(&addr_c).await {
                *reported.lock().unwrap() = Some(detail);
            }
            match scrape(&addr_c, "assigned_partitions").await {
                Ok(n) if n > 0.0 => Ok(()),
                other => Err(format!("assigned {other:?}")),
            }
        },
    )
    .await;
    let reported = reported.into_inner().unwrap();
    (c, addr_c, reported)
}

/// Waits for the backlog to land and the group's lag (on `broker`, or the stack's) to drain,
/// stops the members and checks every count is exact.
async fn finish(
    broker: Option<&OwnBroker>,
    group: &str,
    topic: &str,
    db: TestDb,
    members: &mut [&mut Proc],
) {
    wait_rows(&db, N as i64, Duration::from_secs(180)).await;
    wait_for("group lag to reach 0", Duration::from_secs(120), || async {
        let lag = match broker {
            Some(b) => b.lag(group, topic).await,
            None => streamsre_testkit::total_lag(group, topic).await,
        };
        match lag {
            Ok(0) => Ok(()),
            other => Err(format!("{other:?}")),
        }
    })
    .await;
    for m in members.iter_mut() {
        stop_gracefully(m).await;
    }
    assert_exactly_once(&db, N as i64).await;
    db.drop_db().await;
}

/// On the published Tansu 0.6.0 the third member is handed an empty assignment that nothing
/// revises. streamsre reports it (`/readyz` 503 naming the group, its partitions and members;
/// `unowned_partitions`), leaves and rejoins by itself, and then lands the backlog exactly once.
#[tokio::test(flavor = "multi_thread")]
async fn on_stock_tansu_a_stuck_group_is_reported_and_healed_by_a_rejoin() {
    let broker = OwnBroker::start_bin(stock_tansu()).await;
    let (topic, group, db) = backlog(&broker.addr, N).await;
    let (mut c, addr_c, reported) =
        kill_a_member_while_joining(&broker.addr, &topic, &group, &db, "10s").await;
    let detail = reported
        .expect("the stock broker's stuck group was never reported: /readyz never named the group");
    eprintln!("reported before healing: {detail}");
    assert!(detail.contains("no live owner"), "{detail}");
    assert!(
        detail.contains("(lag "),
        "partitions and their lag: {detail}"
    );
    // Tansu's sqlite storage fails every DescribeGroups, so the member says so and judges by
    // its own assignment (a Kafka coordinator's member list is covered by unit tests).
    assert!(
        detail.contains("could not be asked who owns them"),
        "why the coordinator's members are missing: {detail}"
    );
    let rejoins = scrape(&addr_c, "group_rejoins_total").await.unwrap();
    assert!(rejoins >= 1.0, "healed without a rejoin? {rejoins}");
    finish(Some(&broker), &group, &topic, db, &mut [&mut c]).await;
}

/// The same sequence on the local stack's broker (with the coordinator fix): the third member
/// gets the partitions by itself, no rejoin needed, and nothing is lost or applied twice.
#[tokio::test(flavor = "multi_thread")]
async fn on_the_stack_broker_a_member_killed_while_joining_leaves_nothing_stuck() {
    let (topic, group, db) = backlog(&brokers(), N).await;
    // A generous --stuck-after: the fix alone must get the partitions owned, long before it.
    let (mut c, addr_c, reported) =
        kill_a_member_while_joining(&brokers(), &topic, &group, &db, "30s").await;
    assert_eq!(reported, None, "reported unowned partitions");
    assert_eq!(scrape(&addr_c, "group_rejoins_total").await.unwrap(), 0.0);
    wait_owns_every_partition(&addr_c).await;
    finish(None, &group, &topic, db, &mut [&mut c]).await;
}

/// Waits until the member at `addr` owns every partition of the topic.
async fn wait_owns_every_partition(addr: &str) {
    wait_for(
        "every partition at one member",
        Duration::from_secs(60),
        || async {
            match scrape(addr, "assigned_partitions").await {
                Ok(n) if n == PARTITIONS as f64 => Ok(()),
                other => Err(format!("{other:?}")),
            }
        },
    )
    .await;
}

/// Two members share the partitions; one is killed right after it got its share, while the
/// second half of the `N` events streams in (so the dead member's partitions keep gaining
/// lag, however fast the first half was drained). Returns the survivor and the producer.
async fn kill_a_member_with_partitions(
    brokers: &str,
    topic: &str,
    group: &str,
    db: &TestDb,
) -> (Proc, String, Proc) {
    let (mut a, addr_a) = member(brokers, topic, group, db, "10s");
    wait_assigned(&addr_a, &mut a).await;
    let prod = producer_at(brokers, topic, N / 2, 200, 93);
    let (mut b, addr_b) = member(brokers, topic, group, db, "10s");
    wait_assigned(&addr_b, &mut b).await;
    b.sigkill();
    (a, addr_a, prod)
}

/// On the published Tansu the dead member's partitions stay assigned to it after its session
/// expires. The survivor owns partitions, so it does not rejoin (only a member that owns
/// nothing may), but it reports the others as unowned until a new member joins and the group
/// rebalances; then everything lands exactly once.
#[tokio::test(flavor = "multi_thread")]
async fn on_stock_tansu_a_dead_members_partitions_are_reported_unowned() {
    let broker = OwnBroker::start_bin(stock_tansu()).await;
    let (topic, group, db) = backlog(&broker.addr, N / 2).await;
    let (mut a, addr_a, mut prod) =
        kill_a_member_with_partitions(&broker.addr, &topic, &group, &db).await;
    let detail = wait_for(
        "the survivor to report unowned partitions",
        Duration::from_secs(90),
        || async {
            group_failure(&addr_a)
                .await
                .ok_or_else(|| "not reported".to_string())
        },
    )
    .await;
    eprintln!("reported: {detail}");
    let owned = scrape(&addr_a, "assigned_partitions").await.unwrap();
    let unowned = scrape(&addr_a, "unowned_partitions").await.unwrap();
    assert!(
        owned > 0.0 && owned < PARTITIONS as f64,
        "survivor owns {owned}"
    );
    // The dead member's partitions that still have lag (one may have been drained already).
    assert!(
        unowned >= 1.0 && owned + unowned <= PARTITIONS as f64,
        "owned {owned}, unowned {unowned}: {detail}"
    );
    assert_eq!(scrape(&addr_a, "group_rejoins_total").await.unwrap(), 0.0);

    // `streamsre lag` shows the owner column; this broker cannot say who owns what, and the
    // command says so instead of printing `-` (nobody) for partitions a live member holds.
    let mut lag = Proc::spawn(
        BIN,
        "lag",
        &["lag", "--group", &group, "--topic", &topic],
        &[("KAFKA_BROKERS", broker.addr.as_str())],
    );
    assert!(lag
        .wait_exit(Duration::from_secs(30))
        .await
        .unwrap()
        .success());
    let table = lag.stdout();
    assert!(table.contains("OWNER"), "{table}");
    let rows: Vec<&str> = table
        .lines()
        .filter(|l| l.trim_start().starts_with(|c: char| c.is_ascii_digit()))
        .collect();
    assert_eq!(rows.len(), PARTITIONS as usize, "{table}");
    assert!(rows.iter().all(|r| r.ends_with(" ?")), "{table}");
    assert!(table.contains("owners unknown"), "{table}");

    // A new member changes the membership: the coordinator rebalances and assigns everything.
    let (mut d, addr_d) = member(&broker.addr, &topic, &group, &db, "10s");
    wait_for(
        "the partitions to be owned again",
        Duration::from_secs(90),
        || async {
            let a = scrape(&addr_a, "assigned_partitions").await.unwrap_or(-1.0);
            let d = scrape(&addr_d, "assigned_partitions").await.unwrap_or(-1.0);
            if a + d == PARTITIONS as f64 {
                Ok(())
            } else {
                Err(format!("a={a} d={d}"))
            }
        },
    )
    .await;
    wait_produced(&mut prod).await;
    finish(Some(&broker), &group, &topic, db, &mut [&mut a, &mut d]).await;
}

/// The same on the stack's broker: once the dead member's session expires, the survivor is
/// given every partition.
#[tokio::test(flavor = "multi_thread")]
async fn on_the_stack_broker_the_survivor_takes_over_a_dead_members_partitions() {
    let (topic, group, db) = backlog(&brokers(), N / 2).await;
    let (mut a, addr_a, mut prod) =
        kill_a_member_with_partitions(&brokers(), &topic, &group, &db).await;
    wait_owns_every_partition(&addr_a).await;
    assert_eq!(scrape(&addr_a, "group_rejoins_total").await.unwrap(), 0.0);
    wait_produced(&mut prod).await;
    finish(None, &group, &topic, db, &mut [&mut a]).await;
}

/// More members than partitions: the idle member owns nothing by design while the
/// partition is owned and moving, and it stays ready.
#[tokio::test(flavor = "multi_thread")]
async fn a_member_with_nothing_to_own_stays_ready() {
    const LOAD: u64 = 6_000;
    let topic = streamsre_testkit::create_topic(1).await;
    streamsre_testkit::create_named_topic(&dlq_topic(&topic), 1).await;
    let group = streamsre_testkit::unique("g");
    let db = TestDb::create().await;
    let (mut a, addr_a) = member(&brokers(), &topic, &group, &db, "3s");
    wait_assigned(&addr_a, &mut a).await;
    let (mut b, addr_b) = member(&brokers(), &topic, &group, &db, "3s");
    wait_serving(&addr_b, &mut b).await;
    // Steady load for 30 s: the partition always has fresh lag and keeps moving.
    let mut prod = producer(&topic, LOAD, 200, 92);
    wait_for(
        "one member with the partition, one without, both in the group",
        Duration::from_secs(90),
        || async {
            let pa = scrape(&addr_a, "assigned_partitions").await.unwrap_or(-1.0);
            let pb = scrape(&addr_b, "assigned_partitions").await.unwrap_or(-1.0);
            let joined = scrape(&addr_b, "rebalances_total{kind=\"assign\"}")
                .await
                .unwrap_or(0.0);
            if pa + pb == 1.0 && joined >= 1.0 {
                Ok(())
            } else {
                Err(format!("a={pa} b={pb} b assigns={joined}"))
            }
        },
    )
    .await;
    let idle = if scrape(&addr_a, "assigned_partitions").await.unwrap() == 0.0 {
        addr_a.clone()
    } else {
        addr_b.clone()
    };
    // Watch the idle member for 4 times --stuck-after (40 samples, 0.3 s apart) while
    // events flow: long enough for the unowned check to have fired if it misjudged.
    for _ in 0..40 {
        let (code, body) = http_get(&idle, "/readyz").await.unwrap();
        assert_eq!(code, 200, "the idle member must stay ready: {body}");
        assert_eq!(scrape(&idle, "unowned_partitions").await.unwrap(), 0.0);
        tokio::time::sleep(Duration::from_millis(300)).await;
    }
    assert!(prod.is_running(), "the load ended before the watch did");
    assert_eq!(scrape(&idle, "group_rejoins_total").await.unwrap(), 0.0);
    wait_produced(&mut prod).await;
    wait_rows(&db, LOAD as i64, Duration::from_secs(120)).await;
    wait_no_lag(&group, &topic).await;
    stop_gracefully(&mut a).await;
    stop_gracefully(&mut b).await;
    assert_exactly_once(&db, LOAD as i64).await;
    db.drop_db().await;
}
