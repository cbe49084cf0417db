//! `max-poll-eviction`: two consumers in one group through a sink stall. A member whose poll
//! loop blocks on the sink (`--poll-mode blocking`) stops polling for longer than
//! `max.poll.interval.ms` and is evicted: its partitions move to the survivor, whose lag
//! spikes, and it rejoins later (two rebalances for one stall). The fix, decoupled polling,
//! keeps both members through the same stall: zero evictions over the whole run.

use std::time::Duration;

use super::*;
use crate::chart::Chart;
use crate::criteria;

pub(super) const EXPERIMENT: Experiment = Experiment {
    name: "max-poll-eviction",
    about: "two consumers, a sink stall: blocking poll gets one evicted (rebalance, survivor's lag spike); decoupled polling has zero evictions over 30 min",
    full: Duration::from_secs(45 * 60),
    run: |lab| Box::pin(run(lab)),
    report,
};

/// A steady source below the sink's rate.
const STEADY_RATE: f64 = 1_500.0;

/// (max.poll.interval, stall start, stall length) at `scale`. The interval never goes below
/// librdkafka's floor (the session timeout, 6 s here). The stall lasts three intervals: one
/// to get the blocking member evicted, two for the survivor to hold every partition.
fn timing(s: crate::scale::Scale) -> (Duration, Duration, Duration) {
    let interval = s.time(Duration::from_secs(100)).max(Duration::from_secs(7));
    (interval, s.time(Duration::from_secs(200)), interval * 3)
}

const PHASES: [(&str, &str, u64); 2] =
    [("blocking", "blocking", 10), ("decoupled", "decoupled", 30)];

async fn run(lab: &mut Lab) -> Result<(), Stop> {
    let s = lab.scale;
    let (interval, at, stall) = timing(s);
    for (run, first_mode, minutes) in PHASES {
        let length = s.time(mins(minutes)).max(at + stall * 2);
        let topic = lab.begin_run(run).await?;
        let sink = lab.sink(s.rate(SINK_RATE), &[]).await?;
        let group = format!("lab-eviction-{run}");
        let interval = arg(interval);
        for (name, mode) in [("consumer-1", first_mode), ("consumer-2", "decoupled")] {
            lab.consumer(
                name,
                &topic,
                &group,
                &sink,
                &[
                    "--poll-mode",
                    mode,
                    "--max-poll-interval",
                    &interval,
                    "--max-inflight",
                    "64",
                ],
            )
            .await?;
        }
        lab.wait_until(
            "both members own partitions",
            Duration::from_secs(60),
            |lab| {
                ["consumer-1", "consumer-2"]
                    .iter()
                    .all(|c| lab.latest(c, "assigned_partitions").unwrap_or(0.0) > 0.0)
            },
        )
        .await?;
        constant_load(lab, &topic, s.rate(STEADY_RATE), length).await?;
        lab.phase("steady", at).await?;
        let start = lab.t();
        lab.chaos(&[
            "stall",
            "--sink-url",
            &sink,
            "--rate",
            "0",
            "--for",
            &arg(stall),
        ])?;
        lab.fact("stall_start_s", start);
        lab.fact("stall_end_s", start + stall.as_secs_f64());
        let rest = length.saturating_sub(Duration::from_secs_f64(lab.t()));
        lab.phase("stall and after", rest).await?;
        lab.end_run().await;
    }
    Ok(())
}

/// Evictions counted by both members of `run` by its end.
fn evictions(ev: &Evidence, run: &str, member: &str) -> f64 {
    ev.series(run, member, |r| r.evictions)
        .last()
        .map_or(0.0, |(_, v)| *v)
}

fn report(ev: &Evidence) -> ExperimentReport {
    let s = ev.scale;
    let (interval, at, stall) = timing(s);
    let blocking = evictions(ev, "blocking", "consumer-1");
    let decoupled =
        evictions(ev, "decoupled", "consumer-1") + evictions(ev, "decoupled", "consumer-2");
    let survivor_lag = ev.series("blocking", "consumer-2", |r| r.lag);
    let shade = |run: &str| {
        ev.fact(run, "stall_start_s")
            .zip(ev.fact(run, "stall_end_s"))
            .map(|(a, b)| (a, b, "sink stalled".to_string()))
    };
    let mut charts = Vec::new();
    for (run, _, _) in PHASES {
        charts.push(draw(
            ev,
            &format!("partitions-{run}.png"),
            Chart {
                shade: shade(run),
                ..chart(
                    &format!("Partitions per member ({run} poll on consumer-1)"),
                    "partitions owned",
                    vec![
                        line(ev, "consumer-1", run, "consumer-1", |r| r.partitions),
                        line(ev, "consumer-2", run, "consumer-2", |r| r.partitions),
                    ],
                )
            },
        ));
        charts.push(draw(
            ev,
            &format!("lag-{run}.png"),
            Chart {
                shade: shade(run),
                ..chart(
                    &format!("Group lag and evictions ({run} poll on consumer-1)"),
                    "messages  |  evictions x1000",
                    vec![
                        line(ev, "lag", run, "consumer-2", |r| r.lag),
                        Line {
                            label: "consumer-1 evictions x1000".into(),
                            points: ev
                                .series(run, "consumer-1", |r| r.evictions)
                                .into_iter()
                                .map(|(t, v)| (t, v * 1000.0))
                                .collect(),
                        },
                    ],
                )
            },
        ));
    }
    let moved = ev
        .series("blocking", "consumer-2", |r| r.partitions)
        .iter()
        .map(|(_, v)| *v)
        .fold(0.0, f64::max);
    ExperimentReport {
        table: None,
        name: EXPERIMENT.name.into(),
        setup: format!(
            "Two consumers in one group on 6 partitions, `--max-poll-interval {}s`, a steady {} events/s into a {} events/s sink that `streamsre chaos stall` stops for {} s at T+{} s. Blocking run: consumer-1 `--poll-mode blocking`, consumer-2 decoupled, {} s. Fixed run: both decoupled, {} s (30 min at full scale).",
            interval.as_secs(),
            rate_arg(s.rate(STEADY_RATE)),
            rate_arg(s.rate(SINK_RATE)),
            stall.as_secs(),
            at.as_secs(),
            s.time(mins(10)).max(at + stall * 2).as_secs(),
            s.time(mins(30)).max(at + stall * 2).as_secs(),
        ),
        figures: vec![
            fig("blocking: consumer-1 evictions", format!("{blocking:.0}")),
            fig("blocking: most partitions the survivor held", format!("{moved:.0} of 6")),
            fig("blocking: survivor's peak lag", format!("{:.0} messages", peak(&survivor_lag))),
            fig("decoupled: evictions (both members, whole run)", format!("{decoupled:.0}")),
        ],
        charts,
        finding: format!(
            "A poll loop that waits for the sink stops calling poll while the sink is stalled; after {}s the broker-side member is dropped ({blocking:.0} eviction(s)), its partitions move to the survivor (up to {moved:.0} of 6), and the backlog of both lands on one member, whose lag spikes. When the stall ends the evicted member rejoins, which costs a second rebalance. The cascade is avoidable: decoupled polling keeps calling poll (partitions paused) while it waits, so the same stall caused {decoupled:.0} evictions.",
            interval.as_secs()
        ),
        criteria: vec![criteria::eviction_fixed(6, blocking as u64, decoupled as u64)],
    }
}
