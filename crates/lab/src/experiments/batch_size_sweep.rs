//! `batch-size-sweep`: the same source rate into a downstream with a per-request round trip,
//! at batch sizes 1, 50, 200 and 1000. Throughput rises while a batch amortizes the round
//! trip and flattens once the source rate is met (the knee); past the knee a bigger batch
//! only waits longer to fill. The knee is named and a batch size recommended for a p99 SLO.

use std::time::Duration;

use super::*;
use crate::criteria::{self, SweepPoint};

pub(super) const EXPERIMENT: Experiment = Experiment {
    name: "batch-size-sweep",
    about: "batch size 1/50/200/1000 at a fixed source rate: throughput, e2e p99 and per-batch linger; the knee and a recommended size",
    full: Duration::from_secs(20 * 60),
    run: |lab| Box::pin(run(lab)),
    report,
};

const SIZES: [u32; 4] = [1, 50, 200, 1000];
/// The source rate at full scale: twice what batches of one can carry.
const SOURCE_RATE: f64 = 4_000.0;
/// The downstream's round trip per request, whatever its size.
const LATENCY: &str = "20ms";
/// How long a lane may wait for its batch to fill.
const LINGER: &str = "50ms";
/// The p99 SLO the recommendation is made for. End-to-end latency includes the fetch's wait
/// for data (librdkafka's `fetch.wait.max.ms`, 500 ms), which puts every size's p99 near half
/// a second at this rate; 1 s is an SLO that separates sizes that keep up from those that do not.
pub(crate) const SLO_MS: f64 = 1_000.0;
/// A bigger batch must add this share of throughput to be worth its latency.
const MIN_GAIN: f64 = 0.10;

fn run_name(size: u32) -> String {
    format!("batch-{size}")
}

async fn run(lab: &mut Lab) -> Result<(), Stop> {
    let s = lab.scale;
    let length = s.time(mins(5));
    for size in SIZES {
        let run = run_name(size);
        let topic = lab.begin_run(&run).await?;
        let sink = lab.sink(0.0, &["--latency", LATENCY]).await?;
        let size = size.to_string();
        lab.consumer(
            "consumer",
            &topic,
            &format!("lab-{run}"),
            &sink,
            &["--batch-size", &size, "--batch-linger", LINGER],
        )
        .await?;
        constant_load(lab, &topic, s.rate(SOURCE_RATE), length).await?;
        lab.phase("steady source", length).await?;
        lab.end_run().await;
    }
    Ok(())
}

/// A sweep point from its run's second half: sink throughput and the median second's p99.
fn point(ev: &Evidence, size: u32) -> Option<(SweepPoint, f64)> {
    let run = run_name(size);
    if !ev.has_run(&run) {
        return None;
    }
    let half = |col: fn(&crate::timeseries::Row) -> Option<f64>, role| {
        second_half(&ev.series(&run, role, col))
    };
    let p99 = median(&half(|r| r.p99_ms, "consumer")).unwrap_or(f64::INFINITY);
    let linger = mean(&half(|r| r.linger_ms, "consumer"));
    Some((
        SweepPoint {
            batch: size,
            throughput: mean(&half(|r| r.sink_rate, "sink")),
            p99_ms: p99,
        },
        linger,
    ))
}

fn report(ev: &Evidence) -> ExperimentReport {
    let s = ev.scale;
    let measured: Vec<(SweepPoint, f64)> = SIZES.iter().filter_map(|b| point(ev, *b)).collect();
    let points: Vec<SweepPoint> = measured.iter().map(|(p, _)| *p).collect();
    let knee = criteria::knee(&points, MIN_GAIN);
    let pick = criteria::recommend(&points, MIN_GAIN, SLO_MS);
    let mut figures: Vec<(String, String)> = measured
        .iter()
        .map(|(p, linger)| {
            fig(
                &format!("batch {}", p.batch),
                format!(
                    "{}, p99 {}, linger {linger:.1} ms",
                    eps(p.throughput),
                    ms(Some(p.p99_ms).filter(|v| v.is_finite()))
                ),
            )
        })
        .collect();
    figures.push(fig(
        "knee",
        knee.map_or("none within the sweep".into(), |k| {
            format!("batch {}", k.batch)
        }),
    ));
    figures.push(fig(
        &format!("recommended for p99 <= {SLO_MS:.0} ms"),
        pick.map_or("none meets the SLO".into(), |p| {
            format!("batch {}", p.batch)
        }),
    ));
    let xs = |f: fn(&SweepPoint) -> f64| -> Vec<(f64, f64)> {
        points.iter().map(|p| (p.batch as f64, f(p))).collect()
    };
    // The knee curve: each size as a point of (throughput, p99); the knee is where moving
    // right stops and only moving up (latency) remains. Batch 1's p99 grows without bound
    // (it cannot keep up), so it is left off the curve and reported in the figures.
    let knee_chart = crate::chart::Chart {
        title: "Knee curve: sink throughput vs e2e p99 (batch 50, 200, 1000)".into(),
        x_label: "sink throughput (events/s)".into(),
        y_label: "e2e p99 (ms)".into(),
        lines: vec![Line {
            label: "batch sizes that keep up".into(),
            points: points
                .iter()
                .filter(|p| p.batch > 1 && p.p99_ms.is_finite())
                .map(|p| (p.throughput, p.p99_ms))
                .collect(),
        }],
        shade: None,
    };
    let tput_chart = crate::chart::Chart {
        title: "Sink throughput by batch size".into(),
        x_label: "batch size (events)".into(),
        y_label: "events/s".into(),
        lines: vec![Line {
            label: "throughput".into(),
            points: xs(|p| p.throughput),
        }],
        shade: None,
    };
    let linger_chart = crate::chart::Chart {
        title: "Per-batch linger (time a batch gathers after its first event)".into(),
        x_label: "batch size (events)".into(),
        y_label: "ms".into(),
        lines: vec![Line {
            label: "mean linger".into(),
            points: measured.iter().map(|(p, l)| (p.batch as f64, *l)).collect(),
        }],
        shade: None,
    };
    let over_time = chart(
        "Sink throughput per batch size",
        "events/s",
        SIZES
            .iter()
            .map(|b| {
                line(ev, &format!("batch {b}"), &run_name(*b), "sink", |r| {
                    r.sink_rate
                })
            })
            .collect(),
    );
    ExperimentReport {
        table: None,
        name: EXPERIMENT.name.into(),
        setup: format!(
            "{} events/s of 512 B for {} s per batch size into a sink with no rate limit and a {LATENCY} round trip per request; 4 lanes, `--batch-linger {LINGER}`. Knee: the size after which a bigger batch adds less than {:.0}% throughput.",
            rate_arg(s.rate(SOURCE_RATE)),
            s.time(mins(5)).as_secs(),
            MIN_GAIN * 100.0
        ),
        figures,
        charts: vec![
            draw(ev, "knee.png", knee_chart),
            draw(ev, "throughput-by-size.png", tput_chart),
            draw(ev, "linger.png", linger_chart),
            draw(ev, "throughput.png", over_time),
        ],
        finding: match (knee, pick) {
            (Some(k), Some(p)) => format!(
                "Batches of one pay the round trip per event and carry {} with four lanes; batch {} carries the whole source rate ({}), and bigger batches add nothing but linger. The knee is batch {}; for a p99 SLO of {SLO_MS:.0} ms, batch {} is the largest size up to the knee that meets it (p99 {}).",
                eps(points.first().map_or(0.0, |p| p.throughput)),
                k.batch,
                eps(k.throughput),
                k.batch,
                p.batch,
                ms(Some(p.p99_ms)),
            ),
            _ => "The sweep did not show a knee or no size met the SLO; see the figures.".into(),
        },
        criteria: vec![criteria::knee_found(3, &points, MIN_GAIN)],
    }
}
