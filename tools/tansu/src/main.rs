//! The `tansu` command line (broker, topic, user, …) exactly as crates.io's tansu 0.6.0 ships
//! it, built against the patched `tansu-broker` in `vendor/`. Local stack and tests only.

use tansu_broker::{otel, TracingFormat};
use tansu_sans_io::ErrorCode;

#[tokio::main]
async fn main() -> tansu_cli::Result<ErrorCode> {
    // Tansu reads its settings from a .env file too; keep that behaviour.
    let _ = dotenv::dotenv();
    let _guard = otel::init(TracingFormat::Text)?;
    let code = tansu_cli::Cli::main().await?;
    if code != ErrorCode::None {
        tracing::error!("{code}");
    }
    Ok(code)
}
