//! The lab's experiments, one file each: what it runs ([`Experiment::run`], on a
//! [`Lab`] bench) and what its evidence shows ([`Experiment::report`], from the CSV files
//! alone). Rates and times are written at full scale (the lab specification's numbers) and
//! scaled by the bench's [`Scale`](crate::scale::Scale).

mod batch_size_sweep;
mod burst;
mod downstream_stall;
mod max_poll_eviction;
mod policy_comparison;
mod pull_vs_push;
mod unbounded_vs_bounded;
mod workers_vs_ordering;

use std::future::Future;
use std::pin::Pin;
use std::time::Duration;

use crate::chart::{render_png, Chart, Line};
use crate::report::ExperimentReport;
use crate::runner::evidence::Evidence;
use crate::runner::lab::{Lab, Stop};
use crate::timeseries::Row;

/// What an experiment's `run` returns.
pub type Running<'a> = Pin<Box<dyn Future<Output = Result<(), Stop>> + 'a>>;

/// One experiment of the catalogue.
pub struct Experiment {
    /// Its CLI name.
    pub name: &'static str,
    /// One line for `lab list`.
    pub about: &'static str,
    /// How long it runs at full scale (the specification's numbers), roughly.
    pub full: Duration,
    /// Runs it on a bench.
    pub run: for<'a> fn(&'a mut Lab) -> Running<'a>,
    /// Draws its charts into the evidence's directory and writes its part of the report.
    pub report: fn(&Evidence) -> ExperimentReport,
}

/// Every experiment, in the order `lab run all` runs them.
pub fn catalogue() -> [Experiment; 8] {
    [
        unbounded_vs_bounded::EXPERIMENT,
        pull_vs_push::EXPERIMENT,
        batch_size_sweep::EXPERIMENT,
        workers_vs_ordering::EXPERIMENT,
        downstream_stall::EXPERIMENT,
        max_poll_eviction::EXPERIMENT,
        policy_comparison::EXPERIMENT,
        burst::EXPERIMENT,
    ]
}

/// The sink's rate at full scale (the specification's downstream).
pub(crate) const SINK_RATE: f64 = 2_000.0;
/// The source's rate under overload: 4× the sink.
pub(crate) const OVERLOAD_RATE: f64 = 8_000.0;
/// How much a bounded process's RSS may trend up over the second half of a run, as a share of
/// its mean there, and still count as flat. RSS swings by about a fifth of itself as batches
/// come and go (the heap's sawtooth, 14..36 MiB in a pull run); a growing queue adds far more
/// over the same time (the unbounded run: +45 MiB in 45 s).
pub(crate) const FLAT_TOLERANCE: f64 = 0.2;
/// Memory the specification allows bounded and pull modes (RSS).
pub(crate) const RSS_LIMIT: f64 = 512.0 * 1024.0 * 1024.0;

pub(crate) fn mins(m: u64) -> Duration {
    Duration::from_secs(m * 60)
}

/// A duration as a CLI argument (`90s`).
pub(crate) fn arg(d: Duration) -> String {
    format!("{}s", d.as_secs())
}

/// Starts the producer on `topic` at a constant `rate` (open model) for `length`: the load of
/// every experiment that is not about the load's shape.
pub(crate) async fn constant_load(
    lab: &mut Lab,
    topic: &str,
    rate: f64,
    length: Duration,
) -> Result<(), Stop> {
    lab.producer(
        topic,
        &["--rate", &rate_arg(rate), "--duration", &arg(length)],
    )
    .await
}

/// Starts run `run` with the lab sink at `sink_rate` and one consumer (group `lab-<run>`)
/// writing to it with `consumer_args`; returns the run's topic and the sink's URL.
pub(crate) async fn sink_and_consumer(
    lab: &mut Lab,
    run: &str,
    sink_rate: f64,
    consumer_args: &[&str],
) -> Result<(String, String), Stop> {
    let topic = lab.begin_run(run).await?;
    let sink = lab.sink(sink_rate, &[]).await?;
    lab.consumer(
        "consumer",
        &topic,
        &format!("lab-{run}"),
        &sink,
        consumer_args,
    )
    .await?;
    Ok((topic, sink))
}

/// A rate as a CLI argument.
pub(crate) fn rate_arg(rate: f64) -> String {
    format!("{}", rate.round() as u64)
}

/// Mean of the values of a series (0 for none).
pub(crate) fn mean(series: &[(f64, f64)]) -> f64 {
    if series.is_empty() {
        return 0.0;
    }
    series.iter().map(|(_, v)| v).sum::<f64>() / series.len() as f64
}

/// Median of the values of a series, if any.
pub(crate) fn median(series: &[(f64, f64)]) -> Option<f64> {
    let mut v: Vec<f64> = series.iter().map(|(_, v)| *v).collect();
    v.sort_by(f64::total_cmp);
    v.get(v.len() / 2).copied()
}

/// Highest value of a series (0 for none).
pub(crate) fn peak(series: &[(f64, f64)]) -> f64 {
    series.iter().map(|(_, v)| *v).fold(0.0, f64::max)
}

/// The part of a series from `from` seconds on.
pub(crate) fn after(series: &[(f64, f64)], from: f64) -> Vec<(f64, f64)> {
    series.iter().copied().filter(|(t, _)| *t >= from).collect()
}

/// The second half of a series by time.
pub(crate) fn second_half(series: &[(f64, f64)]) -> Vec<(f64, f64)> {
    let end = series.last().map_or(0.0, |(t, _)| *t);
    after(series, end / 2.0)
}

/// A series in MiB.
pub(crate) fn mib(series: Vec<(f64, f64)>) -> Vec<(f64, f64)> {
    series
        .into_iter()
        .map(|(t, v)| (t, v / 1048576.0))
        .collect()
}

/// One chart line: `column` of `role` in `run`.
pub(crate) fn line(
    ev: &Evidence,
    label: &str,
    run: &str,
    role: &str,
    column: impl Fn(&Row) -> Option<f64>,
) -> Line {
    Line {
        label: label.to_string(),
        points: ev.series(run, role, column),
    }
}

/// Draws `chart` into the experiment's directory as `file`; returns its report entry. A chart
/// that cannot be drawn is named in its caption instead of failing the report.
pub(crate) fn draw(ev: &Evidence, file: &str, chart: Chart) -> (String, String) {
    let caption = chart.title.clone();
    match render_png(&chart, &ev.dir.join(file)) {
        Ok(()) => (caption, file.to_string()),
        Err(e) => (format!("{caption} (not drawn: {e})"), file.to_string()),
    }
}

/// A chart of seconds since the run began.
pub(crate) fn chart(title: &str, y_label: &str, lines: Vec<Line>) -> Chart {
    Chart {
        title: title.to_string(),
        x_label: "seconds since the run began".to_string(),
        y_label: y_label.to_string(),
        lines,
        shade: None,
    }
}

/// Formats a figure with its unit.
pub(crate) fn fig(what: &str, value: String) -> (String, String) {
    (what.to_string(), value)
}

/// Events/s, whole.
pub(crate) fn eps(v: f64) -> String {
    format!("{v:.0} events/s")
}

/// Bytes as MiB.
pub(crate) fn mib_s(v: f64) -> String {
    format!("{:.1} MiB", v / 1048576.0)
}

/// Milliseconds, or "n/a".
pub(crate) fn ms(v: Option<f64>) -> String {
    v.map_or("n/a".to_string(), |v| format!("{v:.0} ms"))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_catalogue_has_eight_distinct_experiments() {
        let all = catalogue();
        let mut names: Vec<&str> = all.iter().map(|e| e.name).collect();
        names.sort_unstable();
        names.dedup();
        assert_eq!(names.len(), 8);
        for e in &all {
            let quick = crate::scale::Scale::Quick.time(e.full);
            assert!(
                quick <= Duration::from_secs(300),
                "{} runs {quick:?} at quick scale",
                e.name
            );
        }
    }

    #[test]
    fn series_helpers() {
        let s = [(0.0, 1.0), (1.0, 5.0), (2.0, 3.0), (4.0, 7.0)];
        assert_eq!(mean(&s), 4.0);
        assert_eq!(median(&s), Some(5.0));
        assert_eq!(peak(&s), 7.0);
        assert_eq!(second_half(&s), vec![(2.0, 3.0), (4.0, 7.0)]);
        assert_eq!(mean(&[]), 0.0);
        assert_eq!(median(&[]), None);
    }
}
