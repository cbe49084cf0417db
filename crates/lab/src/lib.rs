//! The lab side of streamsre: components that make overload reproducible, on both ends of the
//! data path.
//!
//! - [`load`]: the open-model load generator behind `streamsre produce` and the seeded event
//!   generator tests and chaos share.
//! - [`chaos`]: the failures on demand (`streamsre chaos`): sink stalls, poison messages,
//!   SIGKILL, a slow database.
//! - [`metrics`]: the load generator's and the sink's own `/metrics`.
//! - [`schedule`]: the source's load profile, steps of constant rate (`produce --schedule`).
//! - [`scale`]: quick and full experiment sizes, with the factors the report states.
//! - [`procs`]: an experiment's child processes, stopped on every exit path.
//! - [`broker`]: the run's own Tansu, its sqlite storage in the run's directory.
//! - [`sample`]: reading a process's `/metrics` and `/proc` once a second.
//! - [`record`]: which metric feeds which `timeseries.csv` column, per process role.
//! - [`timeseries`]: `timeseries.csv`, the contract between a run and its report.
//! - [`criteria`]: the acceptance criteria as pure checks over measured series.
//! - [`chart`]: PNG line charts with titles, units, legends and shaded windows.
//! - [`report`]: `report.md` and `summary.json`, and the run's exit status.
//! - [`experiments`]: the catalogue: each experiment's run and its report, one file each.
//! - [`runner`]: `streamsre lab run|report|list`: a bench per experiment (its own broker,
//!   its processes, once-a-second sampling), evidence on disk, Ctrl-C handling.
//! - [`sink_service`]: the slow downstream (`streamsre sink`), an HTTP service that accepts
//!   events at a fixed rate (server-side token bucket), answers `429` with `Retry-After` beyond
//!   it, can stall on a deterministic schedule or on command, and counts what it accepted per
//!   key so experiments can check loss and duplication.

#![warn(missing_docs)]

pub mod broker;
pub mod chaos;
pub mod chart;
pub mod criteria;
pub mod experiments;
pub mod load;
pub mod metrics;
pub mod procs;
pub mod record;
pub mod report;
pub mod runner;
pub mod sample;
pub mod scale;
pub mod schedule;
pub mod sink_service;
pub mod timeseries;
