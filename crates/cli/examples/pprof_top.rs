//! Summarizes a CPU profile from `/debug/pprof/profile` without Go's `pprof` tool (which this
//! project's machines don't have): samples by crate, the functions with the most samples of
//! their own, and streamsre's own functions by inclusive samples. `make profile` runs it on a
//! profile taken mid-run.
//!
//! Usage: `pprof_top PROFILE.pb [TOP]`

use std::collections::HashMap;

use pprof::protos::{Message, Profile};

/// The crate a source file belongs to, from its path: a crates.io package
/// (`…/registry/src/<index>/<name>-<version>/…`), a `-sys` crate's C sources
/// (`…/build/<name>-<hash>/out/…`), a workspace crate (`…/crates/<name>/src/…`, shown as
/// `streamsre-<name>`), or `None` for Rust's standard library, whose inlined helpers
/// (`atomic_or`, `copy_nonoverlapping`) say nothing about who asked for the work.
fn crate_of(file: &str) -> Option<String> {
    if file.is_empty() || file.starts_with("/rustc/") || file.starts_with("/rust/deps/") {
        return None;
    }
    let after = |marker: &str| file.find(marker).map(|i| &file[i + marker.len()..]);
    if let Some(rest) = after("/registry/src/") {
        let package = rest.split('/').nth(1)?;
        let name = package
            .rsplit_once('-')
            .map_or(package, |(name, _version)| name);
        return Some(name.to_string());
    }
    if let Some(rest) = after("/build/") {
        let dir = rest.split('/').next()?;
        return Some(
            dir.rsplit_once('-')
                .map_or(dir, |(name, _hash)| name)
                .to_string(),
        );
    }
    if let Some(rest) = after("/crates/") {
        return match rest.split('/').next()? {
            "cli" => Some("streamsre".into()),
            name => Some(format!("streamsre-{name}")),
        };
    }
    Some(file.to_string())
}

/// One stack frame: function name, source file and owning crate.
#[derive(Clone, Copy)]
struct Frame<'a> {
    name: &'a str,
    file: &'a str,
    krate: Option<&'a str>,
}

fn main() -> Result<(), Box<dyn std::error::Error>> {
    let mut args = std::env::args().skip(1);
    let path = args.next().ok_or("usage: pprof_top PROFILE.pb [TOP]")?;
    let top: usize = args.next().map(|s| s.parse()).transpose()?.unwrap_or(25);
    let profile = Profile::parse_from_bytes(&std::fs::read(&path)?)?;

    let string = |i: i64| {
        profile
            .string_table
            .get(i as usize)
            .map_or("?", String::as_str)
    };
    let crates: HashMap<u64, Option<String>> = profile
        .function
        .iter()
        .map(|f| (f.id, crate_of(string(f.filename))))
        .collect();
    let functions: HashMap<u64, Frame> = profile
        .function
        .iter()
        .map(|f| {
            let krate = crates.get(&f.id).and_then(|c| c.as_deref());
            let file = string(f.filename);
            (
                f.id,
                Frame {
                    name: string(f.name),
                    file,
                    krate,
                },
            )
        })
        .collect();
    // A location lists its inlined frames innermost first.
    let unknown = Frame {
        name: "?",
        file: "",
        krate: None,
    };
    let locations: HashMap<u64, Vec<Frame>> = profile
        .location
        .iter()
        .map(|l| {
            let frames = l
                .line
                .iter()
                .map(|line| functions.get(&line.function_id).copied().unwrap_or(unknown));
            (l.id, frames.collect())
        })
        .collect();

    let mut total = 0i64;
    let mut by_crate: HashMap<&str, i64> = HashMap::new();
    let mut own: HashMap<(&str, &str), i64> = HashMap::new();
    let mut ours: HashMap<(&str, &str), i64> = HashMap::new();
    for sample in &profile.sample {
        let n = sample.value.first().copied().unwrap_or(0);
        total += n;
        let frames: Vec<Frame> = sample
            .location_id
            .iter()
            .flat_map(|id| locations.get(id).into_iter().flatten().copied())
            .collect();
        // Charged to the innermost frame outside the standard library.
        let owner = frames.iter().find(|f| f.krate.is_some()).copied();
        *by_crate
            .entry(
                owner
                    .and_then(|f| f.krate)
                    .unwrap_or("std, libc or unsymbolized"),
            )
            .or_default() += n;
        if let Some(leaf) = frames.first() {
            let krate = owner.and_then(|f| f.krate).unwrap_or("std");
            *own.entry((leaf.name, krate)).or_default() += n;
        }
        // Async bodies are all called `{async_fn#0}`; the file tells them apart.
        let mut mine: Vec<(&str, &str)> = frames
            .iter()
            .filter(|f| f.krate.is_some_and(|c| c.starts_with("streamsre")))
            .map(|f| (f.name, f.file.rsplit('/').next().unwrap_or(f.file)))
            .collect();
        mine.sort_unstable();
        mine.dedup();
        for name in mine {
            *ours.entry(name).or_default() += n;
        }
    }
    if total == 0 {
        return Err(format!("{path}: the profile has no samples").into());
    }

    let pct = |n: i64| 100.0 * n as f64 / total as f64;
    println!("{total} samples");
    println!("\nby crate (the innermost frame outside Rust's standard library):");
    for (name, n) in sorted(by_crate) {
        println!("  {:5.1}%  {name}", pct(n));
    }
    println!("\ntop {top} functions by samples of their own [crate charged]:");
    for ((name, krate), n) in sorted(own).into_iter().take(top) {
        println!("  {:5.1}%  {} [{krate}]", pct(n), shorten(name));
    }
    println!("\ntop {top} streamsre functions by inclusive samples:");
    for ((name, file), n) in sorted(ours).into_iter().take(top) {
        println!("  {:5.1}%  {} ({file})", pct(n), shorten(name));
    }
    Ok(())
}

fn sorted<K: Ord>(counts: HashMap<K, i64>) -> Vec<(K, i64)> {
    let mut v: Vec<_> = counts.into_iter().collect();
    v.sort_unstable_by(|a, b| b.1.cmp(&a.1).then(a.0.cmp(&b.0)));
    v
}

/// Drops the trailing `::h0123…` hash rustc appends to symbol names and cuts generic
/// arguments past 100 characters (an async closure's type can run to a kilobyte).
fn shorten(name: &str) -> String {
    let name = match name.rfind("::h") {
        Some(i) if name[i + 3..].chars().all(|c| c.is_ascii_hexdigit()) => &name[..i],
        _ => name,
    };
    match name.char_indices().nth(100) {
        Some((i, _)) => format!("{}…", &name[..i]),
        None => name.to_string(),
    }
}
