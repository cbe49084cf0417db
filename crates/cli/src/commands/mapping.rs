//! The mapping file from the command line: read and parsed before anything connects, so a file
//! that cannot work stops the process with every problem and exit code 2; and the `mapping`
//! commands (`check` against the live database, `init` from a table).

use crate::args::MappingCommand;
use anyhow::Context;
use std::path::Path;
use std::process::ExitCode;
use std::time::Duration;
use streamsre_mapping::{parse, statement, Mapping, RowSource, REVIEWS_MAPPING};
use streamsre_sink::postgres::catalog::{self, TableShape};
use streamsre_sink::{PgSink, PgSinkConfig};
use streamsre_telemetry::redact_url;

/// Exit code of a mapping that cannot work (missing, malformed, or not fitting the tables).
pub(super) const BAD_MAPPING: u8 = 2;

/// The mapping at `path`, or the built-in review mapping; every problem otherwise.
pub(super) fn load(path: Option<&Path>) -> Result<Mapping, Vec<String>> {
    let (text, name) = match path {
        None => (
            REVIEWS_MAPPING.to_string(),
            "built-in reviews mapping".to_string(),
        ),
        Some(p) => (
            std::fs::read_to_string(p)
                .map_err(|e| vec![format!("mapping file {}: {e}", p.display())])?,
            p.display().to_string(),
        ),
    };
    parse(&text).map_err(|errors| {
        errors
            .into_iter()
            .map(|e| format!("mapping file {name}: {e}"))
            .collect()
    })
}

/// Prints every problem and returns the exit code that says "the mapping cannot work".
pub(super) fn refuse(problems: &[String]) -> ExitCode {
    for problem in problems {
        eprintln!("error: {problem}");
    }
    eprintln!("error: refusing to start: nothing was consumed");
    ExitCode::from(BAD_MAPPING)
}

/// `mapping check` and `mapping init`.
pub(super) async fn run(command: MappingCommand) -> anyhow::Result<ExitCode> {
    match command {
        MappingCommand::Check { mapping, db } => {
            let parsed = match load(Some(&mapping)) {
                Ok(m) => m,
                Err(problems) => return Ok(refuse_check(&problems)),
            };
            let sink = connect(&db.database_url).await?;
            let client = sink.client().await?;
            match catalog::plan(&client, &parsed).await {
                Err(catalog::PlanError::Rejected(problems)) => Ok(refuse_check(&problems)),
                Err(catalog::PlanError::Unavailable(e)) => {
                    anyhow::bail!("cannot read the catalog: {}", e.reason())
                }
                Ok(plan) => {
                    println!(
                        "{}: {} route(s) into {} table(s), fits the database",
                        mapping.display(),
                        parsed.routes.len(),
                        plan.targets.len()
                    );
                    for t in &plan.targets {
                        let columns: Vec<String> = t
                            .columns
                            .iter()
                            .map(|(c, s)| format!("{c} {}", s.sql_type))
                            .collect();
                        println!("  {} ({}): {}", t.table, t.mode, columns.join(", "));
                    }
                    println!("\n-- every batch runs, in one transaction with the DLQ rows:");
                    println!("{};", statement(&plan, RowSource::Unnest));
                    Ok(ExitCode::SUCCESS)
                }
            }
        }
        MappingCommand::Init { table, topic, db } => {
            let sink = connect(&db.database_url).await?;
            let client = sink.client().await?;
            let Some(shape) = catalog::table_shape(&client, &table).await? else {
                eprintln!("error: table {table} does not exist");
                return Ok(ExitCode::from(BAD_MAPPING));
            };
            print!("{}", starting_route(&table, topic.as_deref(), &shape));
            Ok(ExitCode::SUCCESS)
        }
    }
}

fn refuse_check(problems: &[String]) -> ExitCode {
    for problem in problems {
        eprintln!("error: {problem}");
    }
    ExitCode::from(BAD_MAPPING)
}

async fn connect(url: &str) -> anyhow::Result<PgSink> {
    let sink = PgSink::connect(&PgSinkConfig {
        url: url.to_string(),
        pool_size: 1,
        connect_timeout: Duration::from_secs(10),
        write_path: Default::default(),
    })
    .await
    .with_context(|| format!("connecting to {}", redact_url(url)))?;
    Ok(sink)
}

/// A route for `table` that fills every column it can: upsert on its narrowest unique key
/// when it has one, insert otherwise; each column from the JSON field of the same name.
fn starting_route(table: &str, topic: Option<&str>, shape: &TableShape) -> String {
    let key = shape.unique_keys.iter().min_by_key(|k| k.len());
    let mut out = format!(
        "# A starting route for {table}: point each column at the field of your events that \
         fills it,\n# then `streamsre mapping check --mapping FILE`.\n[[route]]\ntopic = {:?}\n\
         table = {table:?}\n",
        topic.unwrap_or(table)
    );
    match key {
        Some(k) => out.push_str(&format!("mode = \"upsert\"\nkey = {k:?}\n")),
        None => out.push_str("mode = \"insert\"\n"),
    }
    out.push_str(
        "# dedup_id = \"/id\"   # the event's unique id; without it: topic/partition/offset\n",
    );
    out.push_str("[route.columns]\n");
    for (column, ty) in &shape.columns {
        let sql_type = &shape.sql_types[column];
        let null = if shape.not_null.contains(column) {
            ", NOT NULL"
        } else {
            ""
        };
        match ty {
            Ok(_) => out.push_str(&format!("{column} = \"/{column}\"   # {sql_type}{null}\n")),
            Err(_) => out.push_str(&format!(
                "# {column}: {sql_type} cannot be filled from JSON\n"
            )),
        }
    }
    out
}
