//! `burst`: the lab specification's load profile. A baseline below the sink's rate (lag flat),
//! a step to 4× the sink's rate, and back (`produce --schedule`). Lag climbs during the burst
//! and drains after it while the consumer's memory stays bounded.

use std::time::Duration;

use super::*;
use crate::chart::Chart;
use crate::criteria;

pub(super) const EXPERIMENT: Experiment = Experiment {
    name: "burst",
    about: "baseline 1,500/s, a step to 8,000/s, back to 1,500/s (produce --schedule): lag flat, climbing, draining; memory bounded",
    full: Duration::from_secs(20 * 60),
    run: |lab| Box::pin(run(lab)),
    report,
};

const BASELINE: f64 = 1_500.0;

/// (baseline, burst, after) lengths at `scale`.
fn steps(s: crate::scale::Scale) -> [Duration; 3] {
    [s.time(mins(2)), s.time(mins(5)), s.time(mins(3))]
}

async fn run(lab: &mut Lab) -> Result<(), Stop> {
    let s = lab.scale;
    let [base, burst, rest] = steps(s);
    let (low, high) = (rate_arg(s.rate(BASELINE)), rate_arg(s.rate(OVERLOAD_RATE)));
    let schedule = format!(
        "{low}:{},{high}:{},{low}:{}",
        arg(base),
        arg(burst),
        arg(rest)
    );
    let topic = lab.begin_run("burst").await?;
    let sink = lab.sink(s.rate(SINK_RATE), &[]).await?;
    lab.consumer("consumer", &topic, "lab-burst", &sink, &[])
        .await?;
    lab.producer(&topic, &["--schedule", &schedule]).await?;
    let start = lab.t();
    lab.fact("burst_start_s", start + base.as_secs_f64());
    lab.fact("burst_end_s", start + (base + burst).as_secs_f64());
    lab.wait_until(
        "schedule",
        base + burst + rest + Duration::from_secs(30),
        |lab| !lab.running("producer"),
    )
    .await?;
    // The backlog drains at the sink's full rate once the source stops; twice that long at most.
    let backlog = (s.rate(OVERLOAD_RATE) - s.rate(SINK_RATE)) * burst.as_secs_f64();
    let drain = Duration::from_secs_f64(2.0 * backlog / s.rate(SINK_RATE) + 30.0);
    lab.drain("consumer", drain).await?;
    lab.end_run().await;
    Ok(())
}

fn report(ev: &Evidence) -> ExperimentReport {
    let s = ev.scale;
    let [base, burst, rest] = steps(s);
    let lag = ev.series("burst", "consumer", |r| r.lag);
    let rss = ev.series("burst", "consumer", |r| r.rss_bytes);
    let (from, to) = (
        ev.fact("burst", "burst_start_s").unwrap_or(0.0),
        ev.fact("burst", "burst_end_s").unwrap_or(0.0),
    );
    // Baseline: from when the consumer has caught up with the start to the burst.
    let baseline: Vec<(f64, f64)> = lag
        .iter()
        .copied()
        .filter(|(t, _)| *t >= from / 2.0 && *t < from)
        .collect();
    let during: Vec<(f64, f64)> = lag
        .iter()
        .copied()
        .filter(|(t, _)| *t >= from && *t <= to)
        .collect();
    let base_slope = criteria::slope(&baseline);
    let burst_slope = criteria::slope(&during);
    let excess = s.rate(OVERLOAD_RATE) - s.rate(SINK_RATE);
    let drained = lag.last().map(|(_, v)| *v);
    let criteria = vec![
        criteria::at_most(
            8,
            "lag flat at the baseline: its peak, messages, at most 2 s of baseline traffic",
            peak(&baseline),
            2.0 * s.rate(BASELINE),
        ),
        criteria::at_least(
            8,
            "lag climbs during the burst (slope, events/s, at least half the excess)",
            burst_slope,
            excess / 2.0,
        ),
        criteria::at_most(
            8,
            "lag drained after the burst (messages at the end)",
            drained.unwrap_or(f64::INFINITY),
            0.0,
        ),
        criteria::stays_below(2, "consumer RSS through the burst", &rss, RSS_LIMIT),
    ];
    let shade = Some((from, to, "burst".to_string()));
    ExperimentReport {
        table: None,
        name: EXPERIMENT.name.into(),
        setup: format!(
            "`streamsre produce --schedule {}:{}s,{}:{}s,{}:{}s` (512 B) into a {} events/s sink, bounded queue with defaults; after the schedule the run drains.",
            rate_arg(s.rate(BASELINE)), base.as_secs(),
            rate_arg(s.rate(OVERLOAD_RATE)), burst.as_secs(),
            rate_arg(s.rate(BASELINE)), rest.as_secs(),
            rate_arg(s.rate(SINK_RATE)),
        ),
        figures: vec![
            fig("lag at the baseline", format!("peak {:.0} messages, slope {base_slope:.1} events/s", peak(&baseline))),
            fig("lag slope during the burst", eps(burst_slope)),
            fig("peak lag", format!("{:.0} messages", peak(&lag))),
            fig("peak RSS", mib_s(peak(&rss))),
        ],
        charts: vec![
            draw(ev, "rates.png", Chart {
                shade: shade.clone(),
                ..chart("Producer, consumer and sink rates through the burst", "events/s", vec![
                    line(ev, "producer", "burst", "producer", |r| r.producer_rate),
                    line(ev, "consumer polled", "burst", "consumer", |r| r.consumed_rate),
                    line(ev, "sink accepted", "burst", "sink", |r| r.sink_rate),
                ])
            }),
            draw(ev, "lag.png", Chart {
                shade: shade.clone(),
                ..chart("Lag through the burst", "messages", vec![Line { label: "lag".into(), points: lag.clone() }])
            }),
            draw(ev, "memory.png", Chart {
                shade,
                ..chart("Consumer memory through the burst", "MiB", vec![
                    Line { label: "RSS".into(), points: mib(rss.clone()) },
                    Line { label: "heap".into(), points: mib(ev.series("burst", "consumer", |r| r.heap_bytes)) },
                ])
            }),
        ],
        finding: format!(
            "Below the sink's rate lag stays flat ({base_slope:.1} events/s). The burst outruns the sink by {excess:.0} events/s and lag climbs at {burst_slope:.0} events/s, held on the broker while the consumer's RSS peaks at {}; once the source drops back, the sink's spare capacity drains it.",
            mib_s(peak(&rss))
        ),
        criteria,
    }
}
