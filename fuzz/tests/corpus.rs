//! Replays the committed corpus (seeds, inputs the fuzzer kept for new coverage, and every
//! input that once crashed a target) through the harnesses on stable Rust, so `make test`
//! fails if any of them regresses.

use std::fs;
use std::path::Path;

fn replay(target: &str, harness: fn(&[u8])) {
    let dir = Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("corpus")
        .join(target);
    let mut count = 0;
    for entry in fs::read_dir(&dir).unwrap_or_else(|e| panic!("{}: {e}", dir.display())) {
        let path = entry.expect("corpus entry").path();
        let bytes = fs::read(&path).expect("corpus file");
        // A failing input names itself before the harness panics.
        eprintln!("{target}: {}", path.display());
        harness(&bytes);
        count += 1;
    }
    assert!(count > 0, "{target}: no corpus in {}", dir.display());
}

#[test]
fn json_event_corpus() {
    replay("json_event", streamsre_fuzz::json_event);
}

#[test]
fn avro_event_corpus() {
    replay("avro_event", streamsre_fuzz::avro_event);
}

#[test]
fn mapping_file_corpus() {
    replay("mapping_file", streamsre_fuzz::mapping_file);
}

#[test]
fn coerce_value_corpus() {
    replay("coerce_value", streamsre_fuzz::coerce_value);
}
