//! One function per subcommand: translate flags into library configs, run, report. One file
//! per command group: `consume`, `produce`, `lab` (lab and sink), `chaos`, `dlq`, `offsets`
//! (and `lag`); the small ones (topic, migrate, top) are here.

mod chaos;
mod consume;
mod dlq;
mod lab;
mod mapping;
mod offsets;
mod produce;

use crate::args::{Command, OffsetsCommand, TopicCommand};
use anyhow::Context;
use std::process::ExitCode;
use std::time::Duration;
use streamsre_sink::{PgSink, PgSinkConfig};
use streamsre_telemetry::redact_url;

/// Runs the chosen subcommand.
pub async fn dispatch(command: Command) -> anyhow::Result<ExitCode> {
    match command {
        Command::Topic(TopicCommand::Create {
            name,
            partitions,
            replication,
            kafka,
        }) => {
            let created = streamsre_kafka::admin::create_topic(
                &kafka.opts()?,
                &name,
                partitions,
                replication,
                Duration::from_secs(30),
            )
            .await?;
            let verb = if created { "created" } else { "already exists" };
            println!("topic {name}: {verb}");
            Ok(ExitCode::SUCCESS)
        }
        Command::Topic(TopicCommand::List { kafka }) => {
            let opts = kafka.opts()?;
            let topics = tokio::task::spawn_blocking(move || {
                streamsre_kafka::admin::list_topics(&opts, Duration::from_secs(10))
            })
            .await??;
            println!("{:<40} {:>10}", "TOPIC", "PARTITIONS");
            for t in topics {
                println!("{:<40} {:>10}", t.name, t.partitions);
            }
            Ok(ExitCode::SUCCESS)
        }
        Command::Mapping(command) => mapping::run(command).await,
        Command::Migrate(args) => {
            let sink = PgSink::connect(&PgSinkConfig {
                url: args.db.database_url.clone(),
                pool_size: 1,
                connect_timeout: Duration::from_secs(10),
                write_path: Default::default(),
            })
            .await
            .with_context(|| format!("connecting to {}", redact_url(&args.db.database_url)))?;
            let applied = sink.migrate().await.context("applying migrations")?;
            println!("migrations: {applied} applied, schema up to date");
            Ok(ExitCode::SUCCESS)
        }
        Command::Lag(args) => offsets::describe(args, false).await,
        Command::Offsets(OffsetsCommand::Describe(args)) => offsets::describe(*args, true).await,
        Command::Offsets(OffsetsCommand::Reset(args)) => offsets::reset(*args).await,
        Command::Dlq(command) => dlq::run(command).await,
        Command::Top(args) => crate::top::run(args.targets, args.interval, args.once).await,
        Command::Sink(args) => lab::sink_service(args).await,
        Command::Chaos(command) => chaos::run(command).await,
        Command::Produce(args) => produce::produce(args).await,
        Command::Consume(args) => consume::consume(*args).await,
        Command::Lab(command) => lab::lab(command).await,
    }
}

/// Resolves on SIGTERM or SIGINT (ctrl-c).
pub(crate) async fn shutdown_signal() {
    use tokio::signal::unix::{signal, SignalKind};
    match signal(SignalKind::terminate()) {
        Ok(mut term) => {
            tokio::select! {
                _ = term.recv() => {}
                _ = tokio::signal::ctrl_c() => {}
            }
        }
        Err(e) => {
            tracing::warn!(error = %e, "cannot listen for SIGTERM; only ctrl-c stops the process");
            let _ = tokio::signal::ctrl_c().await;
        }
    }
}
