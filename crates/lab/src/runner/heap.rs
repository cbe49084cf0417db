//! The unbounded consumer's heap autopsy: `/debug/pprof/heap` (jemalloc's sampled profile,
//! symbolized by the consumer itself) reduced to the allocation sites holding the most bytes.
//! A site is the innermost frame that is not the allocator, the standard library or a
//! collection's growth path: the code that decided to keep the bytes.

use std::collections::HashMap;

use pprof::protos::{Message, Profile};

/// Frames that only say *how* memory was taken, not who took it.
const PLUMBING: &[&str] = &[
    "alloc::",
    "<alloc::",
    "core::",
    "<core::",
    "std::",
    "<std::",
    "hashbrown::",
    "<hashbrown::",
    "__rust",
    "__rdl",
    "_rjem",
    "je_",
    "prof_",
    "malloc",
    "calloc",
    "realloc",
    "rd_malloc",
    "rd_calloc",
    "rd_realloc",
    "rd_strdup",
    "tikv_jemalloc",
    "<tikv_jemalloc",
    "bytes::",
    "<bytes::",
];

/// Bytes held per allocation site, most first.
pub fn top_sites(profile: &[u8], top: usize) -> Result<Vec<(String, f64)>, String> {
    let profile = Profile::parse_from_bytes(profile).map_err(|e| format!("heap profile: {e}"))?;
    let string = |i: i64| {
        profile
            .string_table
            .get(i as usize)
            .map_or("", String::as_str)
    };
    let function: HashMap<u64, &str> = profile
        .function
        .iter()
        .map(|f| (f.id, string(f.name)))
        .collect();
    // A location's frames, innermost (inlined) first, as pprof lists them.
    let location: HashMap<u64, Vec<&str>> = profile
        .location
        .iter()
        .map(|l| {
            let names = l
                .line
                .iter()
                .filter_map(|line| function.get(&line.function_id).copied())
                .collect();
            (l.id, names)
        })
        .collect();
    let mut sites: HashMap<String, f64> = HashMap::new();
    for sample in &profile.sample {
        let bytes = sample.value.first().copied().unwrap_or(0) as f64;
        let frames = sample
            .location_id
            .iter()
            .filter_map(|id| location.get(id))
            .flatten();
        let site = frames
            .copied()
            .find(|name| !name.is_empty() && !PLUMBING.iter().any(|p| name.starts_with(p)))
            .unwrap_or("(unsymbolized)");
        *sites.entry(site.to_string()).or_default() += bytes;
    }
    let mut sites: Vec<(String, f64)> = sites.into_iter().collect();
    sites.sort_by(|a, b| b.1.total_cmp(&a.1).then_with(|| a.0.cmp(&b.0)));
    sites.truncate(top);
    Ok(sites)
}

#[cfg(test)]
mod tests {
    use super::*;
    use pprof::protos::{Function, Line, Location, Sample};

    /// A profile of two stacks: 3 MiB under `grow_queue` (through Vec's growth path) and
    /// 1 MiB under `decode`.
    fn profile() -> Vec<u8> {
        let strings = [
            "",
            "alloc::raw_vec::finish_grow",
            "app::grow_queue",
            "app::decode",
        ];
        let mut p = Profile {
            string_table: strings.iter().map(|s| s.to_string()).collect(),
            ..Profile::default()
        };
        for (id, name) in [(1u64, 1i64), (2, 2), (3, 3)] {
            p.function.push(Function {
                id,
                name,
                ..Function::default()
            });
            p.location.push(Location {
                id,
                line: vec![Line {
                    function_id: id,
                    ..Line::default()
                }],
                ..Location::default()
            });
        }
        p.sample.push(Sample {
            location_id: vec![1, 2],
            value: vec![3 << 20],
            ..Sample::default()
        });
        p.sample.push(Sample {
            location_id: vec![3],
            value: vec![1 << 20],
            ..Sample::default()
        });
        p.write_to_bytes().unwrap()
    }

    #[test]
    fn sites_skip_the_allocator_and_rank_by_bytes() {
        let sites = top_sites(&profile(), 5).unwrap();
        assert_eq!(
            sites,
            vec![
                ("app::grow_queue".to_string(), 3145728.0),
                ("app::decode".to_string(), 1048576.0)
            ]
        );
        assert_eq!(top_sites(&profile(), 1).unwrap().len(), 1);
        assert!(top_sites(b"not a profile", 5).is_err());
    }
}
