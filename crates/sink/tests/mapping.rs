//! A mapping other than the reviews' written by the sink into a real database: insert, upsert
//! and increment, each applied twice (nothing changes the second time), through both write
//! paths, with the column types a JSON producer meets (numeric, arrays, jsonb, timestamps).

use serde_json::{json, Value};
use std::time::Duration;
use streamsre_mapping::{parse, statement, Doc, Meta, RowSource};
use streamsre_sink::{PgSink, PgSinkConfig, SourcePos, ValidEvent, WritePath};
use streamsre_testkit::TestDb;

const MAPPING: &str = r#"
[[route]]
topic = "orders"
when = { "/type" = ["order.created", "order.updated"] }
table = "orders"
mode = "upsert"
key = ["order_id"]
dedup_id = "/id"
[route.columns]
order_id = "/data/order_id"
user_id = "/data/user_id"
status = "/data/status"
amount = "/data/amount"
tags = "/data/tags"
extra = "/data/extra"
updated_at = "/timestamp"
source = "@topic"

[[route]]
topic = "orders"
when = { "/type" = ["order.created"] }
table = "user_orders"
mode = "increment"
key = ["user_id"]
dedup_id = "/id"
[route.columns]
user_id = "/data/user_id"
orders = 1
spent = "/data/amount"
last_order = "/data/order_id"

[[route]]
topic = "orders"
when = { "/type" = ["order.cancelled"] }
table = "cancellations"
mode = "insert"
dedup_id = "/id"
[route.columns]
event_id = "/id"
order_id = "/data/order_id"
cancelled_at = "/timestamp"
reason = "@header:reason"
note = { said = "it's a \\ note" }
"#;

const TABLES: &str = "
CREATE TABLE orders (order_id text PRIMARY KEY, user_id bigint NOT NULL, status text NOT NULL,
                     amount numeric(12,2), tags int4[], extra jsonb, updated_at timestamptz,
                     source text);
CREATE TABLE user_orders (user_id bigint PRIMARY KEY, orders int NOT NULL, spent numeric NOT NULL,
                          last_order text);
CREATE TABLE cancellations (event_id uuid PRIMARY KEY, order_id text NOT NULL,
                            cancelled_at timestamptz NOT NULL, reason text, note jsonb);
";

fn order(n: u32, kind: &str, order: &str, user: i64, status: &str, amount: &str) -> Value {
    json!({
        "id": format!("00000000-0000-4000-8000-{n:012}"),
        "type": kind,
        "timestamp": 1_767_225_600_000i64 + i64::from(n),
        "data": {"order_id": order, "user_id": user, "status": status, "amount": amount,
                 "tags": [n, n + 1], "extra": {"n": n}},
    })
}

async fn sink(db: &TestDb, write_path: WritePath) -> PgSink {
    sink_of(db, write_path, MAPPING).await
}

async fn sink_of(db: &TestDb, write_path: WritePath, mapping: &str) -> PgSink {
    PgSink::connect(&PgSinkConfig {
        url: db.url.clone(),
        pool_size: 2,
        connect_timeout: Duration::from_secs(5),
        write_path,
    })
    .await
    .unwrap()
    .with_mapping(&parse(mapping).unwrap())
    .await
    .unwrap()
}

fn mapped(sink: &PgSink, docs: &[Value]) -> Vec<ValidEvent> {
    let plan = sink.plan().unwrap();
    let headers = vec![("reason".to_string(), Some(b"changed mind".to_vec()))];
    docs.iter()
        .enumerate()
        .map(|(offset, doc)| {
            let pos = SourcePos {
                topic: "orders".into(),
                partition: 0,
                offset: offset as i64,
            };
            // As the consumer reads a message: from its JSON text, which the event keeps, so
            // text columns travel as spans of it.
            let value = serde_json::to_vec(doc).unwrap();
            let fields = plan
                .read(&mut serde_json::Deserializer::from_slice(&value))
                .unwrap();
            let meta = Meta {
                topic: "orders",
                partition: 0,
                offset: offset as i64,
                key: None,
                timestamp_ms: None,
                headers: &headers,
                value: Some(&value),
            };
            let event = ValidEvent::map(plan, &fields, &meta, &pos)
                .unwrap()
                .unwrap();
            drop(fields);
            event.with_value(Some(value))
        })
        .collect()
}

async fn snapshot(db: &TestDb) -> Vec<String> {
    let client = db.client().await;
    let mut out = Vec::new();
    for query in [
        "SELECT row_to_json(o)::text FROM orders o ORDER BY order_id",
        "SELECT row_to_json(u)::text FROM user_orders u ORDER BY user_id",
        "SELECT row_to_json(c)::text FROM cancellations c ORDER BY order_id",
    ] {
        for row in client.query(query, &[]).await.unwrap() {
            out.push(row.get(0));
        }
    }
    out
}

#[tokio::test]
async fn every_mode_applied_twice_changes_nothing_the_second_time() {
    for write_path in [WritePath::Unnest, WritePath::Copy] {
        let db = TestDb::migrated().await;
        db.client().await.batch_execute(TABLES).await.unwrap();
        let sink = sink(&db, write_path).await;
        let docs = vec![
            order(1, "order.created", "o-1", 7, "new", "10.50"),
            order(2, "order.created", "o-2", 7, "new", "4.25"),
            // Two updates of o-1 in one batch: the later offset wins.
            order(3, "order.updated", "o-1", 7, "paid", "10.50"),
            order(4, "order.updated", "o-1", 7, "shipped", "10.50"),
            order(5, "order.created", "o-3", 8, "new", "1"),
            order(6, "order.cancelled", "o-2", 7, "cancelled", "4.25"),
        ];
        let events = mapped(&sink, &docs);
        let first = sink.apply_batch(&events, &[]).await.unwrap();
        assert_eq!((first.applied, first.duplicates), (6, 0), "{write_path:?}");
        let after_first = snapshot(&db).await;
        let second = sink.apply_batch(&events, &[]).await.unwrap();
        assert_eq!(
            (second.applied, second.duplicates),
            (0, 6),
            "{write_path:?}"
        );
        assert_eq!(
            snapshot(&db).await,
            after_first,
            "{write_path:?}: nothing changed"
        );

        let one = |q: &'static str| {
            let db = &db;
            async move {
                let row = db.client().await.query_one(q, &[]).await.unwrap();
                row.get::<_, String>(0)
            }
        };
        assert_eq!(
            one("SELECT status || ' ' || amount || ' ' || tags::text || ' ' || extra::text || ' ' || source FROM orders WHERE order_id = 'o-1'").await,
            r#"shipped 10.50 {4,5} {"n": 4} orders"#
        );
        assert_eq!(
            one("SELECT orders || ' ' || spent || ' ' || last_order FROM user_orders WHERE user_id = 7").await,
            "2 14.75 o-2",
            "two orders created by user 7, summed; the latest order id"
        );
        assert_eq!(
            one("SELECT order_id || ' ' || reason || ' ' || to_char(cancelled_at AT TIME ZONE 'UTC', 'YYYY-MM-DD') FROM cancellations").await,
            "o-2 changed mind 2026-01-01"
        );
        // The event id (the ledger's) and a constant with a quote and a backslash (written
        // into the statement on the unnest path).
        assert_eq!(
            one("SELECT event_id || ' ' || (note->>'said') FROM cancellations").await,
            r"00000000-0000-4000-8000-000000000006 it's a \ note"
        );
        // A later batch adds to the increment and replaces the upsert.
        let more = mapped(&sink, &[order(7, "order.created", "o-4", 7, "new", "0.25")]);
        sink.apply_batch(&more, &[]).await.unwrap();
        assert_eq!(
            one("SELECT orders || ' ' || spent FROM user_orders WHERE user_id = 7").await,
            "3 15.00"
        );
        db.drop_db().await;
    }
}

/// Every event both routes take: each table's rows line up with the ledger's, so the batch is
/// read as one input (`Layout::uniform`) whose row order is the batch's.
const ONE_FILTER: &str = r#"
[[route]]
when = { "/type" = ["order.created", "order.updated"] }
table = "orders"
mode = "upsert"
key = ["order_id"]
dedup_id = "/id"
[route.columns]
order_id = "/data/order_id"
user_id = "/data/user_id"
status = "/data/status"
amount = "/data/amount"

[[route]]
when = { "/type" = ["order.created", "order.updated"] }
table = "user_orders"
mode = "increment"
key = ["user_id"]
dedup_id = "/id"
[route.columns]
user_id = "/data/user_id"
orders = 1
spent = "/data/amount"
last_order = "/data/order_id"
"#;

#[tokio::test]
async fn one_input_keeps_the_batch_order_for_upserts_and_latest_values() {
    for write_path in [WritePath::Unnest, WritePath::Copy] {
        let db = TestDb::migrated().await;
        db.client().await.batch_execute(TABLES).await.unwrap();
        let sink = sink_of(&db, write_path, ONE_FILTER).await;
        let plan = sink.plan().unwrap();
        assert!(statement(plan, RowSource::Unnest).starts_with("WITH input AS"));
        let docs = [
            order(1, "order.created", "o-2", 7, "new", "4.25"),
            order(2, "order.created", "o-1", 7, "new", "10.50"),
            order(3, "order.updated", "o-2", 7, "paid", "4.25"),
            order(4, "order.updated", "o-1", 7, "paid", "10.50"),
            order(5, "order.updated", "o-1", 7, "shipped", "10.50"),
            order(6, "order.cancelled", "o-2", 7, "cancelled", "4.25"),
        ];
        let events: Vec<ValidEvent> = mapped(&sink, &docs[..5]);
        let first = sink.apply_batch(&events, &[]).await.unwrap();
        assert_eq!((first.applied, first.duplicates), (5, 0), "{write_path:?}");
        let second = sink.apply_batch(&events, &[]).await.unwrap();
        assert_eq!(
            (second.applied, second.duplicates),
            (0, 5),
            "{write_path:?}"
        );
        let rows = db
            .client()
            .await
            .query(
                "SELECT o.order_id || ' ' || o.status || ' ' || u.orders || ' ' || u.spent \
                 || ' ' || u.last_order FROM orders o JOIN user_orders u USING (user_id) \
                 ORDER BY o.order_id",
                &[],
            )
            .await
            .unwrap();
        let rows: Vec<String> = rows.iter().map(|r| r.get(0)).collect();
        assert_eq!(
            rows,
            ["o-1 shipped 5 40.00 o-1", "o-2 paid 5 40.00 o-1"],
            "{write_path:?}: the last update per order wins; the sums cover every event once"
        );
        assert!(
            sink.plan()
                .unwrap()
                .route(&Doc::from(&docs[5]), &meta_of(0))
                .unwrap()
                == streamsre_mapping::Routed::Skipped,
            "unrouted events are skipped by default"
        );
        db.drop_db().await;
    }
}

fn meta_of(offset: i64) -> Meta<'static> {
    Meta {
        topic: "orders",
        partition: 0,
        offset,
        key: None,
        timestamp_ms: None,
        headers: &[],
        value: None,
    }
}

#[tokio::test]
async fn a_value_that_does_not_fit_is_a_reason_naming_route_column_pointer_and_value() {
    let db = TestDb::migrated().await;
    db.client().await.batch_execute(TABLES).await.unwrap();
    let sink = sink(&db, WritePath::Unnest).await;
    let plan = sink.plan().unwrap();
    let meta = meta_of(0);
    let mut bad = order(1, "order.created", "o-1", 7, "new", "1");
    bad["data"]["amount"] = json!("not-a-number");
    let rejected = plan.route(&Doc::from(&bad), &meta).unwrap_err();
    assert_eq!(
        rejected.reason,
        r#"type_mismatch: orders.amount from /data/amount: "not-a-number" is not numeric"#
    );
    let mut absent = order(2, "order.created", "o-1", 7, "new", "1");
    absent["data"].as_object_mut().unwrap().remove("status");
    assert_eq!(
        plan.route(&Doc::from(&absent), &meta).unwrap_err().reason,
        "missing_field: orders.status from /data/status: absent, and the column is NOT NULL"
    );
    db.drop_db().await;
}
