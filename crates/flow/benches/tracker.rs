//! Cost of tracking and completing one offset, against a plain `Vec` push/pop baseline in the
//! same run, so the figure reads as a ratio rather than machine-dependent nanoseconds.
use criterion::{criterion_group, criterion_main, Criterion, Throughput};
use streamsre_flow::OffsetTracker;

fn bench_tracker(c: &mut Criterion) {
    const BATCH: i64 = 1024;
    let mut group = c.benchmark_group("track_complete_1024");
    group.throughput(Throughput::Elements(BATCH as u64));
    group.bench_function("baseline_vec", |b| {
        b.iter(|| {
            let mut v = Vec::with_capacity(BATCH as usize);
            for o in 0..BATCH {
                v.push(std::hint::black_box(o));
            }
            while v.pop().is_some() {}
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
