//! `streamsre chaos`: the lab's failures on demand; the catalogue itself is
//! `streamsre_lab::chaos`.

use crate::args::{ChaosCommand, DbSlowArg};
use std::process::ExitCode;
use streamsre_lab::chaos;

/// Runs one chaos action.
pub async fn run(command: ChaosCommand) -> anyhow::Result<ExitCode> {
    match command {
        ChaosCommand::Stall {
            sink_url,
            rate,
            duration,
        } => chaos::stall(&sink_url, rate, duration, |line| println!("{line}")).await?,
        ChaosCommand::Pause { sink_url } => {
            chaos::pause(&sink_url).await?;
            println!("chaos: sink paused");
        }
        ChaosCommand::Resume { sink_url } => {
            chaos::resume(&sink_url).await?;
            println!("chaos: sink resumed");
        }
        ChaosCommand::Poison {
            count,
            topic,
            kafka,
        } => {
            let report = chaos::poison(kafka.opts()?, topic, count).await?;
            println!(
                "chaos: produced {} poison message(s), {} acknowledged",
                report.sent, report.acked
            );
        }
        ChaosCommand::Kill { pid_file, .. } => {
            let pid = chaos::kill(&pid_file)?;
            println!("chaos: consumer {pid} killed (SIGKILL)");
        }
        ChaosCommand::DbSlow { state, sleep, db } => match state {
            DbSlowArg::On => {
                chaos::db_slow(&db.database_url, Some(sleep)).await?;
                println!(
                    "chaos: db-slow on ({}s per insert statement into reviews)",
                    sleep.as_secs_f64()
                );
            }
            DbSlowArg::Off => {
                chaos::db_slow(&db.database_url, None).await?;
                println!("chaos: db-slow off");
            }
        },
    }
    Ok(ExitCode::SUCCESS)
}
