//! `lab` (run, list, report) and `sink` (the lab's slow downstream).

use super::shutdown_signal;
use anyhow::Context;
use std::process::ExitCode;

pub(super) async fn lab(command: crate::args::LabCommand) -> anyhow::Result<ExitCode> {
    use crate::args::LabCommand;
    use streamsre_lab::runner;
    match command {
        LabCommand::List => {
            print!("{}", runner::list());
            Ok(ExitCode::SUCCESS)
        }
        LabCommand::Report { dir } => {
            let passed = runner::report(&dir).map_err(anyhow::Error::msg)?;
            println!("{}", dir.join("report.md").display());
            Ok(if passed {
                ExitCode::SUCCESS
            } else {
                ExitCode::FAILURE
            })
        }
        LabCommand::Run {
            experiments,
            scale,
            out,
            tansu,
        } => {
            let opts = runner::RunOptions {
                experiments,
                scale,
                out: out.unwrap_or_else(runner::default_out),
                bin: std::env::current_exe().context("finding the streamsre executable")?,
                tansu,
            };
            let outcome = runner::run(&opts, shutdown_signal())
                .await
                .map_err(anyhow::Error::msg)?;
            Ok(match outcome {
                runner::Outcome::Passed => ExitCode::SUCCESS,
                runner::Outcome::Failed => ExitCode::FAILURE,
                runner::Outcome::Interrupted => ExitCode::from(130),
            })
        }
    }
}

pub(super) async fn sink_service(args: crate::args::SinkArgs) -> anyhow::Result<ExitCode> {
    use streamsre_lab::sink_service::{SinkService, StallSchedule};
    let stall = match (args.stall_at, args.stall_for) {
        (Some(at), Some(duration)) => Some(StallSchedule {
            at,
            duration,
            rate: args.stall_rate,
        }),
        _ => None,
    };
    let service = SinkService::new(args.rate_limit, stall).with_latency(args.latency);
    let listener = tokio::net::TcpListener::bind(args.listen)
        .await
        .with_context(|| format!("binding the sink address {}", args.listen))?;
    tracing::info!(addr = %args.listen, rate_limit = args.rate_limit, ?stall, "sink service listening");
    streamsre_telemetry::serve(listener, service.router(), shutdown_signal())
        .await
        .context("serving the sink")?;
    let counts = service.counts();
    println!(
        "sink: accepted total={} distinct_keys={}",
        counts.values().sum::<u64>(),
        counts.len()
    );
    Ok(ExitCode::SUCCESS)
}
