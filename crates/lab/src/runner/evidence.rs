//! What one experiment leaves on disk, and all `lab report` reads back: `timeseries.csv`
//! (one row per second per process) and `facts.csv` (what happened once: counts at the end,
//! when a process died, the run's scale). Charts, figures and criteria are computed from these
//! two files alone, so a report can be re-rendered without running anything.

use std::io;
use std::path::{Path, PathBuf};

use serde::{Deserialize, Serialize};

use crate::scale::Scale;
use crate::timeseries::{self, Row};

/// One thing that happened once in a run.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Fact {
    /// The run it belongs to (`""` for the experiment as a whole).
    pub run: String,
    /// What it is (`produced`, `died_at_s`, `time_factor`).
    pub key: String,
    /// Its value (yes/no as 1/0).
    pub value: f64,
}

/// An experiment's evidence, as a report needs it.
#[derive(Debug, Clone)]
pub struct Evidence {
    /// The experiment's directory (charts are drawn into it).
    pub dir: PathBuf,
    /// The scale it ran at.
    pub scale: Scale,
    /// `timeseries.csv`.
    pub rows: Vec<Row>,
    /// `facts.csv`.
    pub facts: Vec<Fact>,
}

const TIMESERIES: &str = "timeseries.csv";
const FACTS: &str = "facts.csv";

impl Evidence {
    /// Writes the evidence of a run at `scale` into `dir`.
    pub fn save(dir: &Path, scale: Scale, rows: &[Row], facts: &[Fact]) -> io::Result<()> {
        timeseries::write(&dir.join(TIMESERIES), rows)?;
        let mut w = csv::Writer::from_path(dir.join(FACTS)).map_err(io::Error::other)?;
        w.serialize(Fact {
            run: String::new(),
            key: "scale".into(),
            value: scale.code(),
        })
        .map_err(io::Error::other)?;
        for f in facts {
            w.serialize(f).map_err(io::Error::other)?;
        }
        w.flush()
    }

    /// Reads what [`Evidence::save`] wrote into `dir`; a missing or foreign file is an error
    /// naming it.
    pub fn load(dir: &Path) -> io::Result<Self> {
        let rows = timeseries::read(&dir.join(TIMESERIES))?;
        let path = dir.join(FACTS);
        let named = |e: csv::Error| io::Error::other(format!("{}: {e}", path.display()));
        let facts: Vec<Fact> = csv::Reader::from_path(&path)
            .map_err(named)?
            .deserialize()
            .collect::<Result<_, _>>()
            .map_err(named)?;
        let scale = facts
            .iter()
            .find(|f| f.run.is_empty() && f.key == "scale")
            .and_then(|f| Scale::from_code(f.value))
            .ok_or_else(|| io::Error::other(format!("{}: no scale recorded", path.display())))?;
        Ok(Self {
            dir: dir.to_path_buf(),
            scale,
            rows,
            facts,
        })
    }

    /// A fact of `run`.
    pub fn fact(&self, run: &str, key: &str) -> Option<f64> {
        self.facts
            .iter()
            .rev()
            .find(|f| f.run == run && f.key == key)
            .map(|f| f.value)
    }

    /// The `(t_s, value)` series of one column of one process in one run.
    pub fn series(
        &self,
        run: &str,
        role: &str,
        column: impl Fn(&Row) -> Option<f64>,
    ) -> Vec<(f64, f64)> {
        timeseries::series(&self.rows, run, role, column)
    }

    /// Whether any row of `run` was measured (an interrupted experiment may lack later runs).
    pub fn has_run(&self, run: &str) -> bool {
        self.rows.iter().any(|r| r.run == run)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn evidence_survives_a_round_trip_with_its_scale() {
        let dir = std::env::temp_dir().join(format!("streamsre-evidence-{}", std::process::id()));
        std::fs::create_dir_all(&dir).unwrap();
        let rows = vec![Row {
            t_s: 1.0,
            run: "bounded".into(),
            role: "consumer".into(),
            lag: Some(5.0),
            ..Row::default()
        }];
        let facts = vec![Fact {
            run: "bounded".into(),
            key: "produced".into(),
            value: 1200.0,
        }];
        Evidence::save(&dir, Scale::Quick, &rows, &facts).unwrap();
        let e = Evidence::load(&dir).unwrap();
        assert_eq!(e.scale, Scale::Quick);
        assert_eq!(e.rows, rows);
        assert_eq!(e.fact("bounded", "produced"), Some(1200.0));
        assert_eq!(e.fact("bounded", "shed"), None);
        assert_eq!(e.series("bounded", "consumer", |r| r.lag), vec![(1.0, 5.0)]);
        assert!(e.has_run("bounded") && !e.has_run("unbounded"));
        std::fs::remove_file(dir.join(FACTS)).unwrap();
        let err = Evidence::load(&dir).unwrap_err().to_string();
        assert!(err.contains("facts.csv"), "{err}");
    }
}
