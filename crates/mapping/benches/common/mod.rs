//! The workload `benches/route.rs` and `examples/route_cost.rs` share: the shipped reviews
//! mapping planned against the reviews tables, and one 512-byte review event.
#[path = "../../../event/benches/fixture/mod.rs"]
mod fixture;

use std::collections::BTreeMap;
use streamsre_event::encode;
use streamsre_mapping::{parse, ColumnSpec, ColumnType, Meta, Plan, REVIEWS_MAPPING};

/// The reviews tables as the catalog reports them (`migrations/`).
pub fn reviews_plan() -> Plan {
    let spec = |ty, sql_type: &str| ColumnSpec {
        ty,
        sql_type: sql_type.into(),
        not_null: true,
    };
    let columns = |cols: Vec<(&str, ColumnSpec)>| {
        cols.into_iter()
            .map(|(c, s)| (c.to_string(), s))
            .collect::<BTreeMap<_, _>>()
    };
    let catalog = BTreeMap::from([
        (
            "reviews".to_string(),
            columns(vec![
                ("review_id", spec(ColumnType::Text, "text")),
                ("event_id", spec(ColumnType::Uuid, "uuid")),
                ("user_key", spec(ColumnType::Text, "text")),
                ("rating", spec(ColumnType::Int2, "smallint")),
                ("text", spec(ColumnType::Text, "text")),
                ("created_at", spec(ColumnType::Timestamptz, "timestamptz")),
            ]),
        ),
        (
            "user_stats".to_string(),
            columns(vec![
                ("user_key", spec(ColumnType::Text, "text")),
                ("review_count", spec(ColumnType::Int8, "bigint")),
                ("rating_sum", spec(ColumnType::Int8, "bigint")),
            ]),
        ),
    ]);
    let mut plan = Plan::new(&parse(REVIEWS_MAPPING).unwrap(), &catalog).unwrap();
    // As the consumer's default (unnest) write path runs it.
    plan.skip_copies();
    plan
}

/// A review event of about 512 bytes, as `make bench` produces them.
pub fn review_bytes() -> Vec<u8> {
    encode(&fixture::review_512b())
}

/// The message metadata the consumer passes for `value`, which it keeps with the rows.
pub fn review_meta(value: &[u8]) -> Meta<'_> {
    Meta {
        topic: "reviews",
        partition: 0,
        offset: 7,
        key: Some(b"user:42"),
        timestamp_ms: None,
        headers: &[],
        value: Some(value),
    }
}
