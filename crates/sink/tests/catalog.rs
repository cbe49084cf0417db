//! A mapping's routes checked against tables in a real database: the catalog's column types
//! and unique keys decide, one message per problem.

use streamsre_mapping::{parse, ColumnType};
use streamsre_sink::postgres::catalog::{check_route, table_shape};
use streamsre_testkit::TestDb;

const MAPPING: &str = r#"
[[route]]
topic = "orders"
table = "orders"
mode = "upsert"
key = ["order_id"]
[route.columns]
order_id = "/data/order_id"
status = "/data/status"
amount = "/data/amount"
tags = "/data/tags"
updated_at = "/timestamp"

[[route]]
topic = "orders"
table = "order_stats"
mode = "increment"
key = ["user_id"]
[route.columns]
user_id = "/data/user_id"
orders = "/one"
last_status = "/data/status"

[[route]]
topic = "orders"
table = "missing_table"
mode = "insert"
[route.columns]
x = "/x"
"#;

#[tokio::test]
async fn routes_are_checked_against_the_catalog() {
    let db = TestDb::create().await;
    let client = db.client().await;
    client
        .batch_execute(
            "CREATE TABLE orders (order_id text PRIMARY KEY, status text, amount numeric,
                                  tags int4[], updated_at timestamptz, spot point);
             CREATE TABLE order_stats (user_id text NOT NULL, orders bigint, last_status text);",
        )
        .await
        .unwrap();
    let mapping = parse(MAPPING).unwrap();
    let mut problems = Vec::new();
    for route in &mapping.routes {
        let shape = table_shape(&client, &route.table).await.unwrap();
        problems.extend(check_route(route, shape.as_ref()));
    }
    let orders = table_shape(&client, "orders").await.unwrap().unwrap();
    assert_eq!(orders.columns["amount"], Ok(ColumnType::Numeric));
    assert_eq!(
        orders.columns["tags"],
        Ok(ColumnType::Array(Box::new(ColumnType::Int4)))
    );
    assert_eq!(orders.columns["spot"], Err("point".to_string()));
    assert_eq!(orders.unique_keys, vec![vec!["order_id".to_string()]]);
    assert!(orders.not_null.contains("order_id") && !orders.not_null.contains("status"));
    assert_eq!(orders.sql_types["tags"], "integer[]");
    // The orders route is fine; order_stats has no unique key on user_id; the third table does
    // not exist.
    assert_eq!(
        problems,
        vec![
            "key [\"user_id\"] is not a unique constraint of order_stats (unique keys: [])"
                .to_string(),
            "table missing_table does not exist".to_string(),
        ]
    );
    // A column of a type no JSON value coerces to, and one that is not there.
    let bad = parse(
        r#"
[[route]]
topic = "t"
table = "orders"
mode = "insert"
[route.columns]
spot = "/spot"
colour = "/colour"
"#,
    )
    .unwrap();
    assert_eq!(
        check_route(&bad.routes[0], Some(&orders)),
        vec![
            "orders has no column colour".to_string(),
            "orders.spot is point, which no JSON value can be coerced to".to_string(),
        ]
    );
    db.drop_db().await;
}
