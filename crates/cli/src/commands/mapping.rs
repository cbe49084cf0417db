//! The mapping file from the command line: read and parsed before anything connects, so a file
//! that cannot work stops the process with every problem and exit code 2.

use std::path::Path;
use std::process::ExitCode;
use streamsre_mapping::{parse, Mapping, REVIEWS_MAPPING};

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
