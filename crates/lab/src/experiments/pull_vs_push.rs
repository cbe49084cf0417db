//! `pull-vs-push`: the same 4× overload into an unbounded push queue and into pull mode (no
//! buffer: a message is taken only when the sink has room). The question is coupling: does
//! the consumer's poll rate follow the sink's rate, or run ahead of it into memory?

use std::time::Duration;

use super::*;
use crate::criteria;

pub(super) const EXPERIMENT: Experiment = Experiment {
    name: "pull-vs-push",
    about: "4x overload: pull mode couples the poll rate to the sink's; unbounded push runs ahead into the heap",
    full: Duration::from_secs(30 * 60),
    run: |lab| Box::pin(run(lab)),
    report,
};

const RUNS: [(&str, &str); 2] = [("push", "unbounded"), ("pull", "pull")];
/// Each run's length at full scale: long enough that librdkafka's prefetch has filled its
/// share of the budget well before the second half, which the flatness check judges.
const RUN_MINUTES: u64 = 15;

async fn run(lab: &mut Lab) -> Result<(), Stop> {
    let s = lab.scale;
    let length = s.time(mins(RUN_MINUTES));
    for (run, queue) in RUNS {
        let (topic, _sink) =
            sink_and_consumer(lab, run, s.rate(SINK_RATE), &["--queue", queue]).await?;
        constant_load(lab, &topic, s.rate(OVERLOAD_RATE), length).await?;
        lab.phase("overload", length).await?;
        lab.end_run().await;
    }
    Ok(())
}

/// Poll rate over sink rate across the second half of a run.
fn coupling(ev: &Evidence, run: &str) -> (f64, f64) {
    let poll = mean(&second_half(
        &ev.series(run, "consumer", |r| r.consumed_rate),
    ));
    let sink = mean(&second_half(&ev.series(run, "sink", |r| r.sink_rate)));
    (poll, sink)
}

fn report(ev: &Evidence) -> ExperimentReport {
    let s = ev.scale;
    let (push_poll, push_sink) = coupling(ev, "push");
    let (pull_poll, pull_sink) = coupling(ev, "pull");
    let ratio = |poll: f64, sink: f64| {
        if sink > 0.0 {
            poll / sink
        } else {
            f64::INFINITY
        }
    };
    let p99 = |run| median(&second_half(&ev.series(run, "consumer", |r| r.p99_ms)));
    let heap = |run| ev.series(run, "consumer", |r| r.heap_bytes);
    let rss = |run| ev.series(run, "consumer", |r| r.rss_bytes);
    let criteria = vec![
        criteria::flat(2, "pull RSS", &rss("pull"), FLAT_TOLERANCE),
        criteria::stays_below(2, "pull RSS", &rss("pull"), RSS_LIMIT),
        criteria::at_most(
            2,
            "pull: poll rate / sink rate over the second half (coupled)",
            ratio(pull_poll, pull_sink),
            1.25,
        ),
        criteria::at_least(
            2,
            "push: poll rate / sink rate over the second half (runs ahead)",
            ratio(push_poll, push_sink),
            2.0,
        ),
    ];
    let coupling_chart = chart(
        "Poll rate vs sink rate",
        "events/s",
        vec![
            line(ev, "push: poll", "push", "consumer", |r| r.consumed_rate),
            line(ev, "push: sink", "push", "sink", |r| r.sink_rate),
            line(ev, "pull: poll", "pull", "consumer", |r| r.consumed_rate),
            line(ev, "pull: sink", "pull", "sink", |r| r.sink_rate),
        ],
    );
    let heap_chart = chart(
        "Heap in use",
        "MiB",
        vec![
            Line {
                label: "push (unbounded)".into(),
                points: mib(heap("push")),
            },
            Line {
                label: "pull".into(),
                points: mib(heap("pull")),
            },
        ],
    );
    let p99_chart = chart(
        "End-to-end p99 latency (per second)",
        "ms",
        vec![
            line(ev, "push", "push", "consumer", |r| r.p99_ms),
            line(ev, "pull", "pull", "consumer", |r| r.p99_ms),
        ],
    );
    ExperimentReport {
        table: None,
        name: EXPERIMENT.name.into(),
        setup: format!(
            "{} events/s of 512 B into a {} events/s sink for {} s per run. Push: `--queue unbounded`. Pull: `--queue pull`.",
            rate_arg(s.rate(OVERLOAD_RATE)),
            rate_arg(s.rate(SINK_RATE)),
            s.time(mins(RUN_MINUTES)).as_secs()
        ),
        figures: vec![
            fig("push: poll / sink rate", format!("{} / {} ({:.1}x)", eps(push_poll), eps(push_sink), ratio(push_poll, push_sink))),
            fig("pull: poll / sink rate", format!("{} / {} ({:.2}x)", eps(pull_poll), eps(pull_sink), ratio(pull_poll, pull_sink))),
            fig("push: e2e p99 (median second, second half)", ms(p99("push"))),
            fig("pull: e2e p99 (median second, second half)", ms(p99("pull"))),
            fig("push: peak heap", mib_s(peak(&heap("push")))),
            fig("pull: peak heap", mib_s(peak(&heap("pull")))),
        ],
        charts: vec![
            draw(ev, "coupling.png", coupling_chart),
            draw(ev, "heap.png", heap_chart),
            draw(ev, "p99.png", p99_chart),
        ],
        finding: format!(
            "Pull mode takes a message only when a sink slot is free, so its poll rate is the sink's rate ({:.2}x) and the backlog stays on the broker; push polls at {:.1}x the sink's rate and the difference accumulates in the heap (peak {} against {}). Neither makes an event faster: p99 is {} with push and {} with pull, because under overload every event waits behind the same backlog, in memory or on the broker.",
            ratio(pull_poll, pull_sink),
            ratio(push_poll, push_sink),
            mib_s(peak(&heap("push"))),
            mib_s(peak(&heap("pull"))),
            ms(p99("push")),
            ms(p99("pull")),
        ),
        criteria,
    }
}
