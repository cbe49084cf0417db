//! `streamsre lab`: runs experiments from the catalogue, each on a bench of its own (its own
//! broker in its own directory), writes their evidence, and turns the evidence into charts,
//! `report.md` and `summary.json`. Ctrl-C stops every child and still writes what was
//! measured; the exit status follows the criteria.

pub mod evidence;
pub mod heap;
pub mod lab;
pub mod progress;
mod sampling;

use std::future::Future;
use std::path::{Path, PathBuf};

use tokio_util::sync::CancellationToken;

use crate::experiments::{catalogue, Experiment};
use crate::report::{self, ExperimentReport};
use crate::scale::Scale;
use evidence::Evidence;
use lab::{Lab, Stop};
use progress::Progress;

/// What `lab run` was asked to do.
#[derive(Debug, Clone)]
pub struct RunOptions {
    /// Experiment names, or `all`.
    pub experiments: Vec<String>,
    /// Their size.
    pub scale: Scale,
    /// The run's directory.
    pub out: PathBuf,
    /// The streamsre executable the experiments start.
    pub bin: PathBuf,
    /// The broker executable.
    pub tansu: String,
}

/// How a run ended.
#[derive(Debug, PartialEq, Eq)]
pub enum Outcome {
    /// Every criterion of every experiment passed.
    Passed,
    /// At least one criterion failed (or an experiment could not finish).
    Failed,
    /// Ctrl-C; what was measured is written.
    Interrupted,
}

/// `lab list`: one line per experiment.
pub fn list() -> String {
    let mut out = format!(
        "{:<22} {:>7} {:>7}  what it shows\n",
        "experiment", "quick", "full"
    );
    for e in catalogue() {
        let _ = std::fmt::Write::write_fmt(
            &mut out,
            format_args!(
                "{:<22} {:>6}m {:>6}m  {}\n",
                e.name,
                format!("{:.1}", Scale::Quick.time(e.full).as_secs_f64() / 60.0),
                e.full.as_secs() / 60,
                e.about
            ),
        );
    }
    out
}

/// The experiments `names` select, in catalogue order; an unknown name is an error listing
/// the known ones.
pub fn select(names: &[String]) -> Result<Vec<Experiment>, String> {
    if names.is_empty() {
        return Err("name an experiment or `all` (see `streamsre lab list`)".into());
    }
    let all = catalogue();
    for n in names {
        if n != "all" && !all.iter().any(|e| e.name == n) {
            let known: Vec<&str> = all.iter().map(|e| e.name).collect();
            return Err(format!(
                "unknown experiment {n:?}; known: {} (or all)",
                known.join(", ")
            ));
        }
    }
    Ok(all
        .into_iter()
        .filter(|e| names.iter().any(|n| n == "all" || n == e.name))
        .collect())
}

/// The default `--out`: `lab-results/<UTC timestamp>/`.
pub fn default_out() -> PathBuf {
    PathBuf::from("lab-results").join(chrono::Utc::now().format("%Y%m%dT%H%M%SZ").to_string())
}

/// Creates `dir` (and its parents), or says why it cannot.
fn create_dir(dir: &Path) -> Result<(), String> {
    std::fs::create_dir_all(dir).map_err(|e| {
        format!(
            "cannot write to --out {}: {e} (choose a writable directory)",
            dir.display()
        )
    })
}

/// `lab run`: every selected experiment in turn until `interrupt` resolves, then the report.
pub async fn run(
    opts: &RunOptions,
    interrupt: impl Future<Output = ()>,
) -> Result<Outcome, String> {
    let experiments = select(&opts.experiments)?;
    create_dir(&opts.out)?;
    if !Path::new(&opts.bin).exists() {
        return Err(format!(
            "the streamsre executable {} is missing",
            opts.bin.display()
        ));
    }
    let cancel = CancellationToken::new();
    let work = async {
        let mut reports = Vec::new();
        for e in &experiments {
            if cancel.is_cancelled() {
                break;
            }
            reports.push(run_one(e, opts, cancel.clone()).await?);
        }
        Ok::<_, String>(reports)
    };
    tokio::pin!(work);
    // On an interrupt, cancel: the experiment under way stops its children, writes what it
    // measured, and `work` returns with the reports so far.
    let reports = tokio::select! {
        r = &mut work => r?,
        _ = interrupt => {
            cancel.cancel();
            work.await?
        }
    };
    let passed = report::write(&opts.out, opts.scale, &reports)
        .map_err(|e| format!("writing the report into {}: {e}", opts.out.display()))?;
    eprintln!("report: {}", opts.out.join("report.md").display());
    Ok(if cancel.is_cancelled() {
        Outcome::Interrupted
    } else if passed && reports.len() == experiments.len() {
        Outcome::Passed
    } else {
        Outcome::Failed
    })
}

/// One experiment on its own bench: run, stop everything, save the evidence, report. Its
/// failure (other than a missing broker, which would fail every experiment) is a failed
/// criterion of its report, so the others still run.
async fn run_one(
    e: &Experiment,
    opts: &RunOptions,
    cancel: CancellationToken,
) -> Result<ExperimentReport, String> {
    let dir = opts.out.join(e.name);
    create_dir(&dir)?;
    let progress = Progress::new(e.name);
    let bin = opts.bin.to_string_lossy().to_string();
    let mut lab = Lab::start(
        &dir,
        opts.scale,
        &bin,
        &opts.tansu,
        cancel,
        progress.clone(),
    )
    .await?;
    let result = (e.run)(&mut lab).await;
    let (rows, mut facts) = lab.finish().await;
    let ended = match &result {
        Ok(()) => "done".to_string(),
        Err(Stop::Interrupted) => "interrupted".to_string(),
        Err(Stop::Failed(why)) => format!("failed: {why}"),
    };
    facts.push(evidence::Fact {
        run: String::new(),
        key: format!("{OUTCOME}{ended}"),
        value: if result.is_ok() { 1.0 } else { 0.0 },
    });
    Evidence::save(&dir, opts.scale, &rows, &facts)
        .map_err(|err| format!("saving the evidence of {}: {err}", e.name))?;
    let evidence = Evidence::load(&dir).map_err(|err| err.to_string())?;
    let report = report_of(e, &evidence);
    let verdict = if report.passed() {
        "criteria passed"
    } else {
        "criteria FAILED"
    };
    progress.finish(&format!("{ended}; {verdict}"));
    Ok(report)
}

/// The key prefix of the fact that says how an experiment ended.
const OUTCOME: &str = "outcome: ";

/// An experiment's report from its evidence, with a failed criterion 0 if it did not run to
/// its end (failed or interrupted), so a re-rendered report says so too.
fn report_of(e: &Experiment, evidence: &Evidence) -> ExperimentReport {
    let mut report = (e.report)(evidence);
    let ended = evidence
        .facts
        .iter()
        .find(|f| f.run.is_empty() && f.key.starts_with(OUTCOME));
    if let Some(f) = ended.filter(|f| f.value != 1.0) {
        let what = format!(
            "the experiment ran to its end ({})",
            &f.key[OUTCOME.len()..]
        );
        report
            .criteria
            .insert(0, crate::criteria::at_least(0, &what, 0.0, 1.0));
    }
    report
}

/// `lab report DIR`: charts, `report.md` and `summary.json` again from the evidence files of
/// every experiment in `dir`. Returns whether every criterion passed.
pub fn report(dir: &Path) -> Result<bool, String> {
    let mut reports = Vec::new();
    let mut scale = None;
    for e in catalogue() {
        let sub = dir.join(e.name);
        if !sub.join("timeseries.csv").exists() {
            continue;
        }
        let evidence = Evidence::load(&sub).map_err(|err| err.to_string())?;
        scale = Some(evidence.scale);
        reports.push(report_of(&e, &evidence));
    }
    let scale = scale.ok_or_else(|| {
        format!(
            "{} holds no experiment's timeseries.csv (is it a `lab run --out` directory?)",
            dir.display()
        )
    })?;
    report::write(dir, scale, &reports)
        .map_err(|e| format!("writing the report into {}: {e}", dir.display()))
}
