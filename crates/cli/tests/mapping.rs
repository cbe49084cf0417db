//! A second event schema end to end, through a mapping file and real processes: an order
//! lifecycle (created, updated, cancelled, keyed by order id) routed into two tables, with the
//! consumer SIGKILLed mid-run; and a mapping that cannot work refused before anything is read.

mod common;

use common::*;
use serde_json::json;
use std::collections::BTreeMap;
use std::time::Duration;
use streamsre_testkit::{kafka_opts, Proc};

const TABLES: &str = "
CREATE TABLE orders (order_id text PRIMARY KEY, user_id bigint NOT NULL, status text NOT NULL,
                     amount numeric(12,2) NOT NULL, updated_at timestamptz NOT NULL);
CREATE TABLE cancellations (event_id uuid PRIMARY KEY, order_id text NOT NULL,
                            cancelled_at timestamptz NOT NULL);
";

/// The issue's example, reading the test's own topic.
fn mapping(topic: &str) -> String {
    format!(
        r#"
[[route]]
topic = "{topic}"
when = {{ "/type" = ["order.created", "order.updated"] }}
table = "orders"
mode = "upsert"
key = ["order_id"]
dedup_id = "/id"
[route.columns]
order_id = "/data/order_id"
user_id = "/data/user_id"
status = "/data/status"
amount = "/data/amount"
updated_at = "/timestamp"

[[route]]
topic = "{topic}"
when = {{ "/type" = ["order.cancelled"] }}
table = "cancellations"
mode = "insert"
dedup_id = "/id"
[route.columns]
event_id = "/id"
order_id = "/data/order_id"
cancelled_at = "/timestamp"
"#
    )
}

/// `text` in a file of its own (the test's temporary directory).
fn write_mapping(text: &str) -> std::path::PathBuf {
    let path =
        std::env::temp_dir().join(format!("streamsre-mapping-{}.toml", uuid::Uuid::new_v4()));
    std::fs::write(&path, text).unwrap();
    path
}

#[tokio::test(flavor = "multi_thread")]
async fn an_order_lifecycle_lands_in_two_tables_exactly_once_through_a_sigkill() {
    let (topic, group, db) = fixture().await;
    db.client().await.batch_execute(TABLES).await.unwrap();
    let file = write_mapping(&mapping(&topic));

    // 600 orders: each created, updated 0..=3 times, a third of them cancelled. Every event
    // carries the order's whole state, so each row must end equal to its order's last
    // created/updated event.
    let mut records = Vec::new();
    let mut last: BTreeMap<String, serde_json::Value> = BTreeMap::new();
    let (mut routed, mut cancelled, mut ts) = (0i64, 0i64, 1_767_225_600_000i64);
    let statuses = ["new", "paid", "packed", "shipped"];
    for n in 0..600u32 {
        let order_id = format!("order-{n}");
        let updates = n % 4;
        for step in 0..=updates {
            ts += 1;
            let data = json!({
                "order_id": order_id,
                "user_id": n % 37,
                "status": statuses[step as usize],
                "amount": format!("{}.{:02}", 10 + n, step),
            });
            let event = json!({
                "id": uuid::Uuid::new_v4(),
                "type": if step == 0 { "order.created" } else { "order.updated" },
                "timestamp": ts,
                "data": data,
            });
            last.insert(order_id.clone(), event.clone());
            records.push((
                Some(order_id.clone().into_bytes()),
                Some(event.to_string().into_bytes()),
            ));
            routed += 1;
        }
        if n % 3 == 0 {
            ts += 1;
            let event = json!({
                "id": uuid::Uuid::new_v4(), "type": "order.cancelled", "timestamp": ts,
                "data": {"order_id": order_id},
            });
            records.push((
                Some(order_id.clone().into_bytes()),
                Some(event.to_string().into_bytes()),
            ));
            routed += 1;
            cancelled += 1;
        }
    }
    // One value its column cannot take (isolated: its batch's neighbours commit), and one
    // event type no route takes (skipped and counted: the mapping does not say dlq).
    let bad = json!({"id": uuid::Uuid::new_v4(), "type": "order.created", "timestamp": ts,
                     "data": {"order_id": "order-bad", "user_id": 1, "status": "new",
                              "amount": "not-a-number"}});
    let other = json!({"id": uuid::Uuid::new_v4(), "type": "order.archived", "data": {}});
    records.insert(
        700,
        (
            Some(b"order-bad".to_vec()),
            Some(bad.to_string().into_bytes()),
        ),
    );
    records.insert(
        900,
        (
            Some(b"order-x".to_vec()),
            Some(other.to_string().into_bytes()),
        ),
    );
    let total = records.len();
    let send = |records: Vec<streamsre_lab::load::RawRecord>| {
        let (opts, t) = (kafka_opts(), topic.clone());
        tokio::task::spawn_blocking(move || {
            streamsre_lab::load::send_raw(&opts, &t, &records, Duration::from_secs(60))
        })
    };
    // The first half now, the rest only after the kill, so the kill always lands mid-run
    // (the consumer can apply all of a small backlog before a kill could catch it).
    let rest = records.split_off(total / 2);
    send(records).await.unwrap().unwrap();

    let path = file.to_str().unwrap().to_string();
    // Small batches under a slow commit: the kill lands between commits, so the restart
    // is redelivered events the ledger already holds.
    let args = [
        "--mapping",
        path.as_str(),
        "--batch-size",
        "50",
        "--commit-interval",
        "5s",
    ];
    let (mut first, _) = consumer(&topic, &group, &db, &args);
    let count = |q: &'static str| {
        let db = &db;
        async move { db.try_scalar(q).await }
    };
    wait_alive(
        &mut first,
        "some orders applied",
        Duration::from_secs(90),
        || async {
            match count("SELECT count(*) FROM processed_events").await {
                Ok(n) if n >= 300 => Ok(n),
                other => Err(format!("{other:?}")),
            }
        },
    )
    .await;
    first.sigkill();
    first.wait_exit(Duration::from_secs(10)).await.unwrap();
    let at_kill = db.scalar("SELECT count(*) FROM processed_events").await;
    assert!(
        at_kill < routed,
        "the kill landed mid-run ({at_kill} of {routed})"
    );
    send(rest).await.unwrap().unwrap();

    let (mut second, addr) = consumer(&topic, &group, &db, &args);
    wait_alive(
        &mut second,
        "every event applied",
        Duration::from_secs(120),
        || async {
            match count("SELECT count(*) FROM processed_events").await {
                Ok(n) if n >= routed => Ok(n),
                other => Err(format!("{other:?}")),
            }
        },
    )
    .await;
    wait_no_lag(&group, &topic).await;
    let unrouted = streamsre_testkit::scrape(&addr, "events_processed_total{result=\"unrouted\"}")
        .await
        .ok();
    stop_gracefully(&mut second).await;

    assert_eq!(
        db.scalar("SELECT count(*) FROM processed_events").await,
        routed
    );
    assert_eq!(db.scalar("SELECT count(*) FROM orders").await, 600);
    assert_eq!(
        db.scalar("SELECT count(*) FROM cancellations").await,
        cancelled
    );
    let client = db.client().await;
    let rows = client
        .query(
            "SELECT order_id, user_id, status, amount::text,
                    (extract(epoch FROM updated_at) * 1000)::bigint FROM orders",
            &[],
        )
        .await
        .unwrap();
    for row in rows {
        let order_id: String = row.get(0);
        let e = &last[&order_id];
        let d = &e["data"];
        assert_eq!(
            (
                row.get::<_, i64>(1),
                row.get::<_, String>(2),
                row.get::<_, String>(3),
                row.get::<_, i64>(4)
            ),
            (
                d["user_id"].as_i64().unwrap(),
                d["status"].as_str().unwrap().to_string(),
                d["amount"].as_str().unwrap().to_string(),
                e["timestamp"].as_i64().unwrap()
            ),
            "{order_id} equals its last event"
        );
    }
    let reason: String = client
        .query_one("SELECT reason FROM dlq_events", &[])
        .await
        .unwrap()
        .get(0);
    assert_eq!(
        reason,
        r#"type_mismatch: orders.amount from /data/amount: "not-a-number" is not numeric"#
    );
    // The unrouted event may have been counted by the killed consumer instead.
    assert!(unrouted.unwrap_or(0.0) <= 1.0);
    assert_eq!(
        routed + 2,
        total as i64,
        "every record is a routed event, the bad one or the unrouted one"
    );
    db.drop_db().await;
}

#[tokio::test]
async fn a_mapping_that_cannot_work_is_refused_with_every_problem_and_nothing_is_read() {
    let (topic, group, db) = fixture().await;
    produce_all(&topic, 20, 3).await;
    // Bad on its own terms: an unknown mode, a pointer that is not one, two keys for one table.
    let bad = write_mapping(
        r#"
[[route]]
table = "reviews"
mode = "merge"
[route.columns]
review_id = "payload/review_id"

[[route]]
table = "user_stats"
mode = "upsert"
key = ["user_key"]
[route.columns]
user_key = "/key"

[[route]]
table = "user_stats"
mode = "upsert"
key = ["review_count"]
[route.columns]
review_count = "/n"
"#,
    );
    let path = bad.to_str().unwrap();
    let (mut c, _) = consumer(&topic, &group, &db, &["--mapping", path]);
    let status = c.wait_exit(Duration::from_secs(30)).await.unwrap();
    assert_eq!(status.code(), Some(2), "{}", c.stderr_tail());
    let err = c.stderr();
    for expected in [
        "mode = \"merge\" is not a mode",
        "\"payload/review_id\" is not a JSON pointer",
        "two routes write user_stats with different keys",
        "nothing was consumed",
    ] {
        assert!(err.contains(expected), "{expected:?} in {err}");
    }
    // A syntax error is located; a missing file is named.
    let syntax = write_mapping("[[route]]\ntable = \"reviews\"\nmode = \n");
    let (mut c, _) = consumer(
        &topic,
        &group,
        &db,
        &["--mapping", syntax.to_str().unwrap()],
    );
    assert_eq!(
        c.wait_exit(Duration::from_secs(30)).await.unwrap().code(),
        Some(2)
    );
    assert!(c.stderr().contains("line 3, column"), "{}", c.stderr());

    // Fine on its own terms, but not against the database: checked after migrations, before
    // the consumer joins the group.
    let unfit = write_mapping(
        r#"
[[route]]
table = "reviews"
mode = "insert"
[route.columns]
review_id = "/payload/review_id"
colour = "/colour"

[[route]]
table = "nowhere"
mode = "insert"
[route.columns]
x = "/x"
"#,
    );
    let unfit_path = unfit.to_str().unwrap();
    let (mut c, _) = consumer(&topic, &group, &db, &["--mapping", unfit_path]);
    assert_eq!(
        c.wait_exit(Duration::from_secs(60)).await.unwrap().code(),
        Some(2)
    );
    let err = c.stderr();
    assert!(err.contains("reviews has no column colour"), "{err}");
    assert!(err.contains("table nowhere does not exist"), "{err}");
    let mut check = Proc::spawn(
        BIN,
        "mapping-check",
        &["mapping", "check", "--mapping", unfit_path],
        &[("DATABASE_URL", &db.url)],
    );
    assert_eq!(
        check
            .wait_exit(Duration::from_secs(30))
            .await
            .unwrap()
            .code(),
        Some(2)
    );
    assert!(check.stderr().contains("reviews has no column colour"));

    // Nothing was read: the group never committed an offset.
    let committed = streamsre_testkit::committed_offsets(&group, &topic)
        .await
        .unwrap();
    assert!(committed.iter().all(|(_, c)| c.is_none()), "{committed:?}");
    assert_eq!(db.scalar("SELECT count(*) FROM processed_events").await, 0);

    // The shipped review mapping checks clean and prints its statement.
    let reviews = concat!(env!("CARGO_MANIFEST_DIR"), "/../../examples/reviews.toml");
    let mut check = Proc::spawn(
        BIN,
        "mapping-check",
        &["mapping", "check", "--mapping", reviews],
        &[("DATABASE_URL", &db.url)],
    );
    assert!(
        check
            .wait_exit(Duration::from_secs(30))
            .await
            .unwrap()
            .success(),
        "{}",
        check.stderr()
    );
    assert!(
        check.stdout().contains("INSERT INTO \"user_stats\""),
        "{}",
        check.stdout()
    );
    db.drop_db().await;
}

/// Headers reach a table: the producer's default headers and a `--header` of its own, read by
/// a mapping's `@header:NAME` (the source keeps headers only for a mapping that reads them).
#[tokio::test(flavor = "multi_thread")]
async fn headers_the_producer_sets_land_in_columns_through_header_sources() {
    const N: u64 = 300;
    let (topic, group, db) = fixture().await;
    db.client()
        .await
        .batch_execute(
            "CREATE TABLE header_log (event_id uuid PRIMARY KEY, event_type text NOT NULL,
                                      produced_at timestamptz NOT NULL, team text,
                                      missing text)",
        )
        .await
        .unwrap();
    let file = write_mapping(&format!(
        r#"
[[route]]
topic = "{topic}"
table = "header_log"
mode = "insert"
dedup_id = "/event_id"
[route.columns]
event_id = "/event_id"
event_type = "@header:event-type"
produced_at = "@header:produced-at"
team = "@header:team"
missing = "@header:no-such-header"
"#
    ));
    let mut p = producer_with(
        &streamsre_testkit::brokers(),
        &topic,
        N,
        0,
        17,
        &["--default-headers", "--header", "team=sre"],
    );
    wait_produced(&mut p).await;
    let mapping_flag = file.to_str().unwrap();
    let (mut c, _addr) = consumer(&topic, &group, &db, &["--mapping", mapping_flag]);
    wait_for_count(&db, "SELECT count(*) FROM header_log", N as i64).await;
    stop_gracefully(&mut c).await;
    assert_eq!(
        db.scalar(
            "SELECT count(*) FROM header_log WHERE event_type = 'review_created' \
             AND team = 'sre' AND missing IS NULL \
             AND produced_at > now() - interval '1 hour'"
        )
        .await,
        N as i64
    );
    db.drop_db().await;
}

/// Waits until `sql` (a count) reaches `n`.
async fn wait_for_count(db: &streamsre_testkit::TestDb, sql: &'static str, n: i64) {
    streamsre_testkit::wait_for(sql, Duration::from_secs(120), || async {
        match db.try_scalar(sql).await {
            Ok(c) if c >= n => Ok(()),
            Ok(c) => Err(format!("{c} of {n}")),
            Err(e) => Err(e),
        }
    })
    .await;
}
