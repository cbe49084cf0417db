//! The `streamsre` binary. Thin on purpose: parse the command line, set up logging, call the
//! library, turn its result into output and an exit code.

mod args;
mod chaos;
mod commands;
mod debug;
mod dlq;
mod top;

use clap::Parser;

// jemalloc: less fragmentation under a steady churn of message buffers than glibc malloc, so
// RSS tracks what is really held; it also enables heap profiling later.
#[global_allocator]
static GLOBAL: tikv_jemallocator::Jemalloc = tikv_jemallocator::Jemalloc;

fn main() -> std::process::ExitCode {
    let cli = args::Cli::parse();
    streamsre_telemetry::logging::init(cli.log_format());
    let runtime = match tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
    {
        Ok(rt) => rt,
        Err(e) => {
            eprintln!("error: cannot start the async runtime: {e}");
            return std::process::ExitCode::FAILURE;
        }
    };
    match runtime.block_on(commands::dispatch(cli.command)) {
        Ok(code) => code,
        Err(e) => {
            eprintln!("error: {e:#}");
            std::process::ExitCode::FAILURE
        }
    }
}
