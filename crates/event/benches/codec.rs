//! Decode cost per event, against plain `serde_json::from_slice` into a `Value` as the
//! baseline measured in the same run (so the figure is a ratio, robust to machine noise).
mod fixture;

use criterion::{criterion_group, criterion_main, Criterion, Throughput};
use streamsre_event::{decode, encode, DEFAULT_MAX_MESSAGE_BYTES};

fn bench_decode(c: &mut Criterion) {
    let event = fixture::review_512b();
    let bytes = encode(&event);
    let mut group = c.benchmark_group("decode_512b");
    group.throughput(Throughput::Elements(1));
    group.bench_function("baseline_serde_value", |b| {
        b.iter(|| {
            serde_json::from_slice::<serde_json::Value>(std::hint::black_box(&bytes)).unwrap()
        })
    });
    group.bench_function("streamsre_decode_validate", |b| {
        b.iter(|| {
            decode(
                Some(std::hint::black_box(&bytes)),
                DEFAULT_MAX_MESSAGE_BYTES,
            )
            .unwrap()
        })
    });
    group.finish();
}

criterion_group!(benches, bench_decode);
criterion_main!(benches);
