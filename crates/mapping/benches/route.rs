//! The generic path's cost per event against the review-specific one it replaced, measured in
//! the same run: the plan's one-pass reader + [`Plan::route_fields`] on the shipped reviews
//! mapping (JSON to two coerced rows, what the consumer runs) versus `decode` (JSON to the
//! review struct, validated), on the same bytes; and, for comparison, the whole document
//! decoded first and routed by lookup (`mapping_decode_route`). `examples/route_cost.rs` runs
//! the same paths for an instruction count.
mod common;

use common::{review_bytes, review_meta, reviews_plan};
use criterion::{criterion_group, criterion_main, Criterion, Throughput};
use std::hint::black_box;
use streamsre_event::{decode, decode_json, decode_json_with, DEFAULT_MAX_MESSAGE_BYTES};
use streamsre_mapping::Doc;

fn bench_route(c: &mut Criterion) {
    let bytes = review_bytes();
    let plan = reviews_plan();
    let meta = review_meta(&bytes);
    let mut group = c.benchmark_group("route_512b");
    group.throughput(Throughput::Elements(1));
    group.bench_function("review_decode_validate", |b| {
        b.iter(|| decode(Some(black_box(&bytes)), DEFAULT_MAX_MESSAGE_BYTES).unwrap())
    });
    group.bench_function("mapping_read_route", |b| {
        b.iter(|| {
            let fields =
                decode_json_with(Some(black_box(&bytes)), DEFAULT_MAX_MESSAGE_BYTES, |d| {
                    plan.read(d)
                })
                .unwrap();
            plan.route_fields(&fields, &meta).unwrap()
        })
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
