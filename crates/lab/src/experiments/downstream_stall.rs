//! `downstream-stall`: a steady source below the sink's rate, then the sink drops to 10% of
//! its rate for a while (`streamsre chaos stall`), with a bounded and an unbounded queue. Lag
//! climbs during the stall and must come back to its pre-stall band within the bound once the
//! sink recovers.

use std::time::Duration;

use super::*;
use crate::chart::Chart;
use crate::criteria;

pub(super) const EXPERIMENT: Experiment = Experiment {
    name: "downstream-stall",
    about: "steady load, then the sink drops to 10% for 90 s: lag slope, peak lag and recovery to the pre-stall band, bounded and unbounded",
    full: Duration::from_secs(35 * 60),
    run: |lab| Box::pin(run(lab)),
    report,
};

const RUNS: [(&str, &str); 2] = [("bounded", "bounded"), ("unbounded", "unbounded")];
/// The steady source: three quarters of the sink's rate (spare capacity to recover with).
const STEADY_RATE: f64 = 1_500.0;
/// The stall: the sink at 10% of its rate.
const STALL_RATE: f64 = 200.0;

/// (stall start, stall length, recovery bound) at `scale`.
fn timing(s: crate::scale::Scale) -> (Duration, Duration, Duration) {
    (
        s.time(mins(10)),
        s.time(Duration::from_secs(90)),
        s.time(mins(5)),
    )
}

async fn run(lab: &mut Lab) -> Result<(), Stop> {
    let s = lab.scale;
    let (at, stall, bound) = timing(s);
    let total = at + stall + bound + s.time(mins(1));
    for (run, queue) in RUNS {
        let (topic, sink) =
            sink_and_consumer(lab, run, s.rate(SINK_RATE), &["--queue", queue]).await?;
        constant_load(lab, &topic, s.rate(STEADY_RATE), total).await?;
        let steady = at.saturating_sub(Duration::from_secs_f64(lab.t()));
        lab.phase("steady", steady).await?;
        let start = lab.t();
        lab.chaos(&[
            "stall",
            "--sink-url",
            &sink,
            "--rate",
            &rate_arg(s.rate(STALL_RATE)),
            "--for",
            &arg(stall),
        ])?;
        lab.fact("stall_start_s", start);
        lab.fact("stall_end_s", start + stall.as_secs_f64());
        lab.phase("stall", stall).await?;
        lab.phase("recovery", bound + s.time(mins(1))).await?;
        lab.end_run().await;
    }
    Ok(())
}

struct Outcome {
    slope: f64,
    peak: f64,
    band: f64,
    recovery: criteria::Criterion,
}

fn outcome(ev: &Evidence, run: &str, bound: f64) -> Option<Outcome> {
    let (start, end) = (ev.fact(run, "stall_start_s")?, ev.fact(run, "stall_end_s")?);
    let lag = ev.series(run, "consumer", |r| r.lag);
    let band = criteria::band(&lag, start / 2.0, start);
    let during: Vec<(f64, f64)> = lag
        .iter()
        .copied()
        .filter(|(t, _)| *t >= start && *t <= end)
        .collect();
    Some(Outcome {
        slope: criteria::slope(&during),
        peak: peak(&after(&lag, start)),
        band,
        recovery: criteria::recovers(5, &lag, end, band, bound),
    })
}

fn report(ev: &Evidence) -> ExperimentReport {
    let s = ev.scale;
    let (_, stall, bound) = timing(s);
    let mut figures = Vec::new();
    let mut criteria = Vec::new();
    let mut charts = Vec::new();
    for (run, _) in RUNS {
        let Some(o) = outcome(ev, run, bound.as_secs_f64()) else {
            criteria.push(criteria::at_least(
                5,
                &format!("{run}: the stall ran"),
                0.0,
                1.0,
            ));
            continue;
        };
        figures.push(fig(
            &format!("{run}: lag slope during the stall"),
            eps(o.slope),
        ));
        figures.push(fig(
            &format!("{run}: peak lag"),
            format!("{:.0} messages (pre-stall band {:.0})", o.peak, o.band),
        ));
        figures.push(fig(
            &format!("{run}: back in the band after the sink recovered"),
            if o.recovery.value.is_finite() {
                format!("{:.0} s", o.recovery.value)
            } else {
                "never".into()
            },
        ));
        let mut c = o.recovery;
        c.criterion = format!("{run}: {}", c.criterion);
        criteria.push(c);
        let shade = ev
            .fact(run, "stall_start_s")
            .zip(ev.fact(run, "stall_end_s"))
            .map(|(a, b)| (a, b, "sink at 10%".to_string()));
        charts.push(draw(
            ev,
            &format!("lag-{run}.png"),
            Chart {
                shade,
                ..chart(
                    &format!("Lag through a downstream stall ({run} queue)"),
                    "messages",
                    vec![line(ev, "lag", run, "consumer", |r| r.lag)],
                )
            },
        ));
        charts.push(draw(
            ev,
            &format!("rates-{run}.png"),
            chart(
                &format!("Producer and sink rates ({run} queue)"),
                "events/s",
                vec![
                    line(ev, "producer", run, "producer", |r| r.producer_rate),
                    line(ev, "sink", run, "sink", |r| r.sink_rate),
                ],
            ),
        ));
    }
    ExperimentReport {
        table: None,
        name: EXPERIMENT.name.into(),
        setup: format!(
            "{} events/s of 512 B into a {} events/s sink; at T+{} s `streamsre chaos stall` drops the sink to {} events/s for {} s. Recovery bound: {} s after the sink recovers (5 min at full scale). Band: the highest lag over the second half of the steady phase.",
            rate_arg(s.rate(STEADY_RATE)),
            rate_arg(s.rate(SINK_RATE)),
            timing(s).0.as_secs(),
            rate_arg(s.rate(STALL_RATE)),
            stall.as_secs(),
            bound.as_secs()
        ),
        figures,
        charts,
        finding: format!(
            "During the stall lag grows at about the source rate minus the stalled sink's, whatever the queue: once the sink is slow, the difference has to wait somewhere. After the sink recovers, the spare quarter of its capacity drains the backlog back into the pre-stall band. The difference is where the backlog waited: the bounded consumer's heap peaked at {} and the unbounded one's at {}.",
            mib_s(peak(&ev.series("bounded", "consumer", |r| r.heap_bytes))),
            mib_s(peak(&ev.series("unbounded", "consumer", |r| r.heap_bytes))),
        ),
        criteria,
    }
}
