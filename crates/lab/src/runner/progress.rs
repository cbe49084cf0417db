//! Where a run shows how far it is: a progress bar with the phase's name on a terminal, one
//! line per phase otherwise (CI logs, `make lab | tee`).

use std::io::IsTerminal;
use std::time::Duration;

use indicatif::{ProgressBar, ProgressStyle};

/// The progress display of one experiment.
#[derive(Clone)]
pub struct Progress {
    experiment: String,
    bar: Option<ProgressBar>,
}

impl Progress {
    /// A display for `experiment`: a bar if stderr is a terminal, plain lines otherwise.
    pub fn new(experiment: &str) -> Self {
        let bar = std::io::stderr().is_terminal().then(|| {
            let bar = ProgressBar::new(1);
            bar.set_style(
                ProgressStyle::with_template("{prefix:.bold} {wide_msg} [{bar:30}] {pos}/{len}s")
                    .unwrap_or_else(|_| ProgressStyle::default_bar())
                    .progress_chars("=> "),
            );
            bar.set_prefix(experiment.to_string());
            bar
        });
        Self {
            experiment: experiment.to_string(),
            bar,
        }
    }

    /// A new phase, expected to take up to `expected`.
    pub fn phase(&self, label: &str, expected: Option<Duration>) {
        match &self.bar {
            Some(bar) => {
                bar.set_message(label.to_string());
                bar.set_length(expected.map_or(1, |d| d.as_secs().max(1)));
                bar.set_position(0);
            }
            None => {
                let upto = expected.map_or(String::new(), |d| format!(" (up to {}s)", d.as_secs()));
                eprintln!("[{}] {label}{upto}", self.experiment);
            }
        }
    }

    /// Time spent in the current phase.
    pub fn tick(&self, elapsed: Duration) {
        if let Some(bar) = &self.bar {
            bar.set_position(elapsed.as_secs());
        }
    }

    /// The experiment is over; `outcome` says how.
    pub fn finish(&self, outcome: &str) {
        if let Some(bar) = &self.bar {
            bar.finish_and_clear();
        }
        eprintln!("[{}] {outcome}", self.experiment);
    }
}
