//! The generic path's cost per event against the review-specific one it replaced, measured in
//! the same run: `decode_json` + [`Plan::route`] on the shipped reviews mapping (JSON to two
//! coerced rows) versus `decode` (JSON to the review struct, validated), on the same bytes.
use chrono::Utc;
use criterion::{criterion_group, criterion_main, Criterion, Throughput};
use std::collections::BTreeMap;
use std::hint::black_box;
use streamsre_event::{
    decode, decode_json, encode, Event, ReviewPayload, DEFAULT_MAX_MESSAGE_BYTES,
};
use streamsre_mapping::{parse, ColumnSpec, ColumnType, Doc, Meta, Plan, REVIEWS_MAPPING};
use uuid::Uuid;

/// The reviews tables as the catalog reports them (`migrations/`).
fn reviews_plan() -> Plan {
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
    Plan::new(&parse(REVIEWS_MAPPING).unwrap(), &catalog).unwrap()
}

fn bench_route(c: &mut Criterion) {
    let bytes = encode(&Event {
        event_id: Uuid::new_v4(),
        event_type: "review_created".into(),
        key: "user:42".into(),
        ts: Utc::now(),
        schema_version: 1,
        payload: ReviewPayload {
            review_id: "r-42".into(),
            rating: 3,
            text: "x".repeat(350),
        },
    });
    let plan = reviews_plan();
    let meta = Meta {
        topic: "reviews",
        partition: 0,
        offset: 7,
        key: Some(b"user:42"),
        timestamp_ms: None,
        headers: &[],
    };
    let mut group = c.benchmark_group("route_512b");
    group.throughput(Throughput::Elements(1));
    group.bench_function("review_decode_validate", |b| {
        b.iter(|| decode(Some(black_box(&bytes)), DEFAULT_MAX_MESSAGE_BYTES).unwrap())
    });
    group.bench_function("mapping_decode_route", |b| {
        b.iter(|| {
            let doc: Doc<'_> =
                decode_json(Some(black_box(&bytes)), DEFAULT_MAX_MESSAGE_BYTES).unwrap();
            plan.route(&doc, &meta).unwrap()
        })
    });
    let doc: Doc<'_> = decode_json(Some(&bytes), DEFAULT_MAX_MESSAGE_BYTES).unwrap();
    group.bench_function("mapping_route_only", |b| {
        b.iter(|| plan.route(black_box(&doc), &meta).unwrap())
    });
    group.bench_function("mapping_decode_only", |b| {
        b.iter(|| {
            decode_json::<Doc<'_>>(Some(black_box(&bytes)), DEFAULT_MAX_MESSAGE_BYTES).unwrap()
        })
    });
    group.bench_function("value_decode_only", |b| {
        b.iter(|| {
            decode_json::<serde_json::Value>(Some(black_box(&bytes)), DEFAULT_MAX_MESSAGE_BYTES)
                .unwrap()
        })
    });
    group.finish();
}

criterion_group!(benches, bench_route);
criterion_main!(benches);
