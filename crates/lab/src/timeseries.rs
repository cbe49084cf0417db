//! `timeseries.csv`: what an experiment measured, one row per second per process role, sampled
//! from the processes' own `/metrics` and `/proc`. `lab report` re-renders charts and the report
//! from these files alone, so the columns are the contract between a run and its report. A
//! value that does not apply to a role (a producer has no lag) is an empty cell.

use std::io;
use std::path::Path;

use serde::{Deserialize, Serialize};

/// One sample of one process role.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct Row {
    /// Seconds since the experiment started.
    pub t_s: f64,
    /// Which run of the experiment (e.g. `unbounded`, `bounded`, `batch-200`).
    pub run: String,
    /// Which process: `consumer`, `consumer-2`, `producer`, `sink`.
    pub role: String,
    /// The group's lag on the experiment's topic (messages).
    pub lag: Option<f64>,
    /// Messages the consumer fetched per second.
    pub consumed_rate: Option<f64>,
    /// Events the sink accepted per second.
    pub sink_rate: Option<f64>,
    /// Events the producer had acknowledged per second.
    pub producer_rate: Option<f64>,
    /// Messages waiting in the consumer's queue.
    pub queue_depth: Option<f64>,
    /// Resident set size (`/proc/<pid>/status` VmRSS).
    pub rss_bytes: Option<f64>,
    /// Heap in use as the allocator reports it.
    pub heap_bytes: Option<f64>,
    /// End-to-end latency percentiles over the last second's window, ms.
    pub p50_ms: Option<f64>,
    /// See `p50_ms`.
    pub p99_ms: Option<f64>,
    /// See `p50_ms`.
    pub p999_ms: Option<f64>,
    /// Group members evicted so far (cumulative).
    pub evictions: Option<f64>,
    /// Messages shed by policy so far (cumulative).
    pub shed: Option<f64>,
    /// Per-key ordering violations so far (cumulative).
    pub ordering_violations: Option<f64>,
    /// Partitions the consumer owns (a rebalance moves them).
    pub partitions: Option<f64>,
    /// Mean events per sink batch over the last second.
    pub batch_events: Option<f64>,
    /// Mean time a batch gathered after its first message over the last second, ms.
    pub linger_ms: Option<f64>,
}

/// Writes `rows` as CSV with a header.
pub fn write(path: &Path, rows: &[Row]) -> io::Result<()> {
    let mut w = csv::Writer::from_path(path).map_err(to_io)?;
    for row in rows {
        w.serialize(row).map_err(to_io)?;
    }
    w.flush()
}

/// Reads a file [`write`] wrote. An unknown or missing column is an error naming the file.
pub fn read(path: &Path) -> io::Result<Vec<Row>> {
    let mut r = csv::Reader::from_path(path).map_err(to_io)?;
    r.deserialize()
        .collect::<Result<Vec<Row>, _>>()
        .map_err(|e| {
            io::Error::new(
                io::ErrorKind::InvalidData,
                format!("{}: {e}", path.display()),
            )
        })
}

fn to_io(e: csv::Error) -> io::Error {
    io::Error::other(e.to_string())
}

/// The `(t_s, value)` series of one column for one run and role, skipping empty cells.
pub fn series(
    rows: &[Row],
    run: &str,
    role: &str,
    column: impl Fn(&Row) -> Option<f64>,
) -> Vec<(f64, f64)> {
    rows.iter()
        .filter(|r| r.run == run && r.role == role)
        .filter_map(|r| column(r).map(|v| (r.t_s, v)))
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn dir() -> std::path::PathBuf {
        let d = std::env::temp_dir().join(format!(
            "streamsre-timeseries-{}-{:?}",
            std::process::id(),
            std::thread::current().id()
        ));
        std::fs::create_dir_all(&d).unwrap();
        d
    }

    #[test]
    fn rows_survive_a_round_trip_with_empty_cells() {
        let rows = vec![
            Row {
                t_s: 1.0,
                run: "bounded".into(),
                role: "consumer".into(),
                lag: Some(120.0),
                rss_bytes: Some(7.5e7),
                ..Row::default()
            },
            Row {
                t_s: 1.0,
                run: "bounded".into(),
                role: "producer".into(),
                producer_rate: Some(2000.0),
                ..Row::default()
            },
        ];
        let path = dir().join("round_trip.csv");
        write(&path, &rows).unwrap();
        let text = std::fs::read_to_string(&path).unwrap();
        assert!(
            text.starts_with("t_s,run,role,lag,consumed_rate,sink_rate,producer_rate,queue_depth,rss_bytes,heap_bytes,p50_ms,p99_ms,p999_ms,evictions,shed,ordering_violations,partitions,batch_events,linger_ms\n"),
            "{text}"
        );
        assert!(
            text.contains("1.0,bounded,producer,,,,2000.0,"),
            "empty cells stay empty: {text}"
        );
        assert_eq!(read(&path).unwrap(), rows);
        assert_eq!(
            series(&rows, "bounded", "consumer", |r| r.lag),
            vec![(1.0, 120.0)]
        );
        assert!(series(&rows, "bounded", "producer", |r| r.lag).is_empty());
    }

    #[test]
    fn a_foreign_file_is_an_error_naming_it() {
        let path = dir().join("foreign.csv");
        std::fs::write(&path, "t_s,run\nsoon,bounded\n").unwrap();
        let err = read(&path).unwrap_err().to_string();
        assert!(err.contains("foreign.csv"), "{err}");
    }
}
