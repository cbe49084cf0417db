//! The unbounded consumer's heap autopsy: `/debug/pprof/heap` (jemalloc's sampled profile)
//! reduced to the allocation sites holding the most bytes. A site is the innermost frame that
//! is not the allocator, the standard library or a collection's growth path: the code that
//! decided to keep the bytes.
//!
//! The consumer serves addresses, not names: symbolizing loads the binary's debug info
//! (measured: +220 MB of address space and +160 MB RSS), which a process dying at its memory
//! cap cannot afford. The lab runs the same executable, so it resolves the addresses itself:
//! a profile address is the ELF virtual address in the file, and this process's load bias
//! turns it into an address of its own copy of the same code.

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
    // jemalloc's own internals (C, unprefixed).
    "imalloc",
    "ialloc",
    "iralloc",
    "irallocx",
    "ixalloc",
    "do_rallocx",
    "mallocx",
    "rallocx",
    "sdallocx",
    "arena_",
    "tcache_",
    "large_",
    "extent_",
    "emap_",
    "pages_",
    "bytes::",
    "<bytes::",
];

/// This executable's load bias (runtime address minus ELF virtual address), from the dynamic
/// loader's first entry, which is the main program.
fn own_load_bias() -> Option<u64> {
    unsafe extern "C" fn first(
        info: *mut libc::dl_phdr_info,
        _size: libc::size_t,
        data: *mut libc::c_void,
    ) -> libc::c_int {
        // SAFETY: the loader passes a valid entry; `data` is the u64 below.
        unsafe { *(data as *mut u64) = (*info).dlpi_addr };
        1 // stop after the main program
    }
    let mut bias: u64 = 0;
    // SAFETY: the callback only writes through `data`, which outlives the call.
    let rc =
        unsafe { libc::dl_iterate_phdr(Some(first), &mut bias as *mut u64 as *mut libc::c_void) };
    (rc == 1).then_some(bias)
}

/// Function names at `address` (an ELF virtual address of this same executable), innermost
/// inlined frame first. Debug info names an inlined Rust frame by its bare name (`alloc`,
/// `grow_impl_runtime`), which says nothing about whose code it is; where a location has
/// path-qualified names, only those are kept (C functions have no path and are kept as is).
fn resolve_own(bias: u64, address: u64) -> Vec<String> {
    let mut names = Vec::new();
    backtrace::resolve(
        bias.wrapping_add(address) as *mut std::ffi::c_void,
        |symbol| {
            if let Some(name) = symbol.name() {
                names.push(format!("{name:#}"));
            }
        },
    );
    if names.iter().any(|n| qualified(n)) {
        names.retain(|n| qualified(n));
    }
    names
}

/// Bare names of the standard library's allocation and growth paths, as debug info gives
/// inlined frames (no path): they say how memory was taken, not who kept it.
const BARE_PLUMBING: &[&str] = &[
    "alloc",
    "alloc_impl",
    "allocate",
    "allocate_in",
    "try_allocate_in",
    "do_alloc",
    "exchange_malloc",
    "finish_grow",
    "grow_impl_runtime",
    "grow_amortized",
    "grow_one",
    "reserve",
    "reserve_for_push",
    "with_capacity",
    "new",
    "clone",
    "to_vec",
    "to_owned",
    "push",
    "extend",
    "spec_extend",
    "extend_trusted",
    "from",
    "into",
    "collect",
    "insert",
    "from_iter",
    "box_new",
    "new_uninit",
    "into_boxed_slice",
];

/// Whether a frame only says how memory was taken (allocator, std, collections).
fn plumbing(name: &str) -> bool {
    let head = name.split('<').next().unwrap_or(name);
    PLUMBING.iter().any(|p| name.starts_with(p)) || BARE_PLUMBING.contains(&head)
}

/// Whether a function name carries its path (`streamsre_kafka::source::run`,
/// `<Vec<T> as Clone>::clone`), not just a bare inlined name with generic arguments
/// (`try_allocate_in<alloc::alloc::Global>`).
fn qualified(name: &str) -> bool {
    name.starts_with('<')
        || name
            .split('<')
            .next()
            .is_some_and(|head| head.contains("::"))
}

/// Bytes held per allocation site, most first. Locations the profile did not name are
/// resolved here when they belong to this executable.
pub fn top_sites(profile: &[u8], top: usize) -> Result<Vec<(String, f64)>, String> {
    // pprof files are gzipped protobuf (jemalloc_pprof's are); plain protobuf is read as is.
    let mut raw = Vec::new();
    let profile = if profile.starts_with(&[0x1f, 0x8b]) {
        std::io::Read::read_to_end(&mut flate2::read::GzDecoder::new(profile), &mut raw)
            .map_err(|e| format!("heap profile: {e}"))?;
        &raw[..]
    } else {
        profile
    };
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
    // Mappings of this very executable (the consumer the lab started is `current_exe`).
    let own_exe = std::env::current_exe()
        .ok()
        .and_then(|p| p.canonicalize().ok());
    let own_mappings: Vec<u64> = profile
        .mapping
        .iter()
        .filter(|m| {
            let file = std::path::Path::new(string(m.filename));
            own_exe.is_some() && file.canonicalize().ok() == own_exe
        })
        .map(|m| m.id)
        .collect();
    let bias = own_load_bias();
    // A location's frames, innermost (inlined) first, as pprof lists them.
    let location: HashMap<u64, Vec<String>> = profile
        .location
        .iter()
        .map(|l| {
            let mut names: Vec<String> = l
                .line
                .iter()
                .filter_map(|line| function.get(&line.function_id).map(|n| n.to_string()))
                .collect();
            if names.is_empty() && own_mappings.contains(&l.mapping_id) {
                if let Some(bias) = bias {
                    names = resolve_own(bias, l.address);
                }
            }
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
        // The site and two callers, for context: debug info often names inlined Rust frames
        // by their bare name, so a path alone is not always there to say whose code it is.
        let chain: Vec<&str> = frames
            .map(String::as_str)
            .filter(|name| !name.is_empty() && !plumbing(name))
            .take(3)
            .collect();
        let site = if chain.is_empty() {
            "(unsymbolized)".to_string()
        } else {
            chain.join(" ← ")
        };
        *sites.entry(site).or_default() += bytes;
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
    fn bare_inlined_names_are_not_qualified() {
        assert!(qualified("streamsre_kafka::source::run"));
        assert!(qualified(
            "<alloc::vec::Vec<T> as core::clone::Clone>::clone"
        ));
        assert!(qualified("alloc::raw_vec::RawVec<T>::grow"));
        assert!(!qualified("try_allocate_in<alloc::alloc::Global>"));
        assert!(!qualified("alloc"));
        assert!(plumbing("try_allocate_in<alloc::alloc::Global>") && plumbing("alloc"));
        assert!(!plumbing("rd_kafka_buf_new") && !plumbing("detach"));
    }

    /// An address of this test binary's own code, as a profile would carry it (its ELF
    /// virtual address), resolves to the function's name.
    #[test]
    fn own_addresses_resolve_to_names() {
        let bias = own_load_bias().expect("the main program is loaded");
        let runtime = own_addresses_resolve_to_names as *const () as u64;
        let names = resolve_own(bias, runtime - bias + 1);
        assert!(
            names
                .iter()
                .any(|n| n.contains("own_addresses_resolve_to_names")),
            "{names:?}"
        );
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
        let mut gz = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::fast());
        std::io::Write::write_all(&mut gz, &profile()).unwrap();
        assert_eq!(
            top_sites(&gz.finish().unwrap(), 5).unwrap(),
            sites,
            "gzipped, as served"
        );
        assert!(top_sites(b"not a profile", 5).is_err());
    }
}
