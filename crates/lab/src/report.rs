//! What a lab run leaves for people and for machines: `DIR/report.md` (one section per
//! experiment: setup, figures, charts, finding, criteria) and `DIR/summary.json` (the scale
//! and every criterion with its value and threshold). Both are written from
//! [`ExperimentReport`]s alone, so `lab report` can rebuild them from the CSV files of a run.

use std::fmt::Write as _;
use std::io;
use std::path::Path;

use serde::{Deserialize, Serialize};

use crate::criteria::Criterion;
use crate::scale::Scale;

/// One experiment's part of the report.
#[derive(Debug, Clone, PartialEq)]
pub struct ExperimentReport {
    /// The CLI name, e.g. `unbounded-vs-bounded`; also its directory under the run's.
    pub name: String,
    /// What was run, at this scale, in a sentence or two.
    pub setup: String,
    /// Headline figures as (what, value with unit).
    pub figures: Vec<(String, String)>,
    /// A comparison table (header, rows), when the experiment compares alternatives.
    pub table: Option<(Vec<String>, Vec<Vec<String>>)>,
    /// Charts as (caption, file name inside the experiment's directory).
    pub charts: Vec<(String, String)>,
    /// What the figures show, in a paragraph.
    pub finding: String,
    /// The criteria checked.
    pub criteria: Vec<Criterion>,
}

impl ExperimentReport {
    /// Whether every criterion passed (an experiment with none has not proven anything).
    pub fn passed(&self) -> bool {
        !self.criteria.is_empty() && self.criteria.iter().all(|c| c.passed)
    }
}

/// `summary.json`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Summary {
    /// `quick` or `full`.
    pub scale: Scale,
    /// Factor on every rate at this scale.
    pub rate_factor: f64,
    /// Factor on every duration at this scale.
    pub time_factor: f64,
    /// Every experiment run, in order.
    pub experiments: Vec<ExperimentSummary>,
}

/// One experiment in `summary.json`. A value that never came (a lag that never recovered) is
/// `null`: JSON has no infinity.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ExperimentSummary {
    /// The CLI name.
    pub name: String,
    /// Its criteria.
    pub criteria: Vec<Criterion>,
}

/// Writes `report.md` and `summary.json` into `dir` and returns whether every criterion of
/// every experiment passed (what `lab run` exits with).
pub fn write(dir: &Path, scale: Scale, experiments: &[ExperimentReport]) -> io::Result<bool> {
    let summary = Summary {
        scale,
        rate_factor: scale.rate_factor(),
        time_factor: scale.time_factor(),
        experiments: experiments
            .iter()
            .map(|e| ExperimentSummary {
                name: e.name.clone(),
                criteria: e.criteria.clone(),
            })
            .collect(),
    };
    let json = serde_json::to_string_pretty(&summary).map_err(io::Error::other)?;
    std::fs::write(dir.join("summary.json"), json + "\n")?;
    std::fs::write(dir.join("report.md"), markdown(scale, experiments))?;
    Ok(experiments.iter().all(ExperimentReport::passed))
}

fn markdown(scale: Scale, experiments: &[ExperimentReport]) -> String {
    let mut md = String::new();
    let _ = writeln!(md, "# streamsre backpressure lab ({scale} scale)\n");
    if scale != Scale::Full {
        let _ = writeln!(
            md,
            "{scale} scale keeps every ratio of the lab specification and multiplies every rate by \
             {} and every duration by {}: divide a {scale} rate by {} and multiply a {scale} \
             time by {:.0} to read it at full scale.\n",
            scale.rate_factor(),
            scale.time_factor(),
            scale.rate_factor(),
            1.0 / scale.time_factor()
        );
    }
    let _ = writeln!(md, "| experiment | criteria passed |\n|---|---|");
    for e in experiments {
        let passed = e.criteria.iter().filter(|c| c.passed).count();
        let mark = if e.passed() { "yes" } else { "**no**" };
        let _ = writeln!(
            md,
            "| [{name}](#{name}) | {mark}: {passed} of {total} |",
            name = e.name,
            total = e.criteria.len()
        );
    }
    for e in experiments {
        let _ = writeln!(md, "\n## {}\n\n**Setup.** {}\n", e.name, e.setup);
        if !e.figures.is_empty() {
            let _ = writeln!(md, "| figure | value |\n|---|---:|");
            for (what, value) in &e.figures {
                let _ = writeln!(md, "| {what} | {value} |");
            }
            md.push('\n');
        }
        if let Some((header, rows)) = &e.table {
            let _ = writeln!(md, "| {} |", header.join(" | "));
            let _ = writeln!(md, "|{}", "---|".repeat(header.len()));
            for row in rows {
                let _ = writeln!(md, "| {} |", row.join(" | "));
            }
            md.push('\n');
        }
        for (caption, file) in &e.charts {
            let _ = writeln!(md, "![{caption}]({}/{file})\n", e.name);
        }
        let _ = writeln!(md, "**Finding.** {}\n", e.finding);
        let _ = writeln!(
            md,
            "| # | criterion | value | threshold | result |\n|---|---|---:|---:|---|"
        );
        for c in &e.criteria {
            let result = if c.passed { "pass" } else { "**FAIL**" };
            let _ = writeln!(
                md,
                "| {} | {} | {} | {} | {result} |",
                c.number,
                c.criterion,
                number(c.value),
                number(c.threshold)
            );
        }
    }
    md
}

/// A figure for a table: whole numbers without decimals, others with up to three.
fn number(v: f64) -> String {
    if !v.is_finite() {
        "never".into()
    } else if v.fract() == 0.0 {
        format!("{v:.0}")
    } else {
        format!("{v:.3}").trim_end_matches('0').to_string()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::criteria::{ordering, recovers};

    fn experiment(name: &str, criteria: Vec<Criterion>) -> ExperimentReport {
        ExperimentReport {
            name: name.into(),
            setup: "2,000/s into a 500/s sink for 3 min.".into(),
            figures: vec![("peak RSS".into(), "61 MiB".into())],
            table: Some((
                vec!["policy".into(), "loss".into()],
                vec![vec!["buffer".into(), "0".into()]],
            )),
            charts: vec![("RSS over time".into(), "rss.png".into())],
            finding: "Bounded memory stays flat.".into(),
            criteria,
        }
    }

    fn dir(name: &str) -> std::path::PathBuf {
        let d =
            std::env::temp_dir().join(format!("streamsre-report-{}-{name}", std::process::id()));
        std::fs::create_dir_all(&d).unwrap();
        d
    }

    #[test]
    fn the_summary_has_the_agreed_shape_and_the_exit_follows_the_criteria() {
        let d = dir("shape");
        let lag = [(0.0, 10.0), (5.0, 900.0), (10.0, 900.0)];
        let all_pass = [experiment("workers-vs-ordering", vec![ordering(5, 0, 12)])];
        assert!(write(&d, Scale::Quick, &all_pass).unwrap());
        let one_fails = [
            experiment("workers-vs-ordering", vec![ordering(5, 0, 12)]),
            experiment("downstream-stall", vec![recovers(6, &lag, 5.0, 10.0, 30.0)]),
        ];
        assert!(!write(&d, Scale::Quick, &one_fails).unwrap());
        let json: serde_json::Value =
            serde_json::from_str(&std::fs::read_to_string(d.join("summary.json")).unwrap())
                .unwrap();
        assert_eq!(json["scale"], "quick");
        assert_eq!(json["rate_factor"], 0.25);
        assert_eq!(json["experiments"][0]["name"], "workers-vs-ordering");
        assert_eq!(json["experiments"][0]["criteria"][0]["passed"], true);
        assert_eq!(json["experiments"][1]["criteria"][0]["passed"], false);
        assert!(
            json["experiments"][1]["criteria"][0]["value"].is_null(),
            "never recovered"
        );
        let back: Summary = serde_json::from_value(json).unwrap();
        assert_eq!(
            back.experiments[1].criteria[0].value,
            f64::INFINITY,
            "null reads back as never"
        );
        assert_eq!(back.experiments.len(), 2);
    }

    #[test]
    fn the_report_states_the_scale_links_charts_and_marks_failures() {
        let d = dir("markdown");
        let lag = [(0.0, 10.0), (5.0, 900.0), (10.0, 900.0)];
        write(
            &d,
            Scale::Quick,
            &[experiment(
                "downstream-stall",
                vec![recovers(6, &lag, 5.0, 10.0, 30.0)],
            )],
        )
        .unwrap();
        let md = std::fs::read_to_string(d.join("report.md")).unwrap();
        assert!(
            md.starts_with("# streamsre backpressure lab (quick scale)"),
            "{md}"
        );
        assert!(
            md.contains("multiplies every rate by 0.25 and every duration by 0.1"),
            "{md}"
        );
        assert!(
            md.contains("![RSS over time](downstream-stall/rss.png)"),
            "{md}"
        );
        assert!(
            md.contains("| policy | loss |\n|---|---|\n| buffer | 0 |\n"),
            "a comparison table: {md}"
        );
        assert!(
            md.contains("| [downstream-stall](#downstream-stall) | **no**: 0 of 1 |"),
            "{md}"
        );
        assert!(md.contains("| never | 30 | **FAIL** |"), "{md}");
        assert!(md.contains("| peak RSS | 61 MiB |"), "{md}");
    }

    #[test]
    fn an_experiment_without_criteria_proves_nothing() {
        assert!(!experiment("empty", vec![]).passed());
    }

    #[test]
    fn numbers_read_well() {
        assert_eq!(number(30.0), "30");
        assert_eq!(number(0.125), "0.125");
        assert_eq!(number(0.1), "0.1");
        assert_eq!(number(f64::INFINITY), "never");
    }
}
