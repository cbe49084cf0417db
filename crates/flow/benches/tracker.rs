//! Cost of tracking and completing offsets, against the bare `BTreeSet` insert/remove the
//! tracker is built on, measured in the same run: the ratio is the tracker's own overhead
//! (partition lookup, epochs, highest-offset bookkeeping), robust to machine noise.
use criterion::{criterion_group, criterion_main, Criterion, Throughput};
use streamsre_flow::OffsetTracker;

fn bench_tracker(c: &mut Criterion) {
    const BATCH: i64 = 1024;
    let mut group = c.benchmark_group("track_complete_1024");
    group.throughput(Throughput::Elements(BATCH as u64));
    group.bench_function("baseline_btreeset", |b| {
        b.iter(|| {
            let mut set = std::collections::BTreeSet::new();
            for o in 0..BATCH {
                set.insert(std::hint::black_box(o));
            }
            for o in (0..BATCH).rev() {
                set.remove(&o);
            }
            std::hint::black_box(set.first().copied())
        })
    });
    group.bench_function("offset_tracker_out_of_order", |b| {
        b.iter(|| {
            let mut t = OffsetTracker::new();
            t.assign(0);
            let tickets: Vec<_> = (0..BATCH).map(|o| t.track(0, o).unwrap()).collect();
            for ticket in tickets.iter().rev() {
                t.complete(*ticket);
            }
            std::hint::black_box(t.commit_point(0))
        })
    });
    group.finish();
}

criterion_group!(benches, bench_tracker);
criterion_main!(benches);
