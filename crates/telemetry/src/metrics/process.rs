//! What the process reports about its own memory: RSS from the kernel, heap figures from the
//! allocator.

/// What the allocator reports about the heap. Two figures, because RSS growth can come from
/// live allocations (`allocated`) or from freed pages the allocator keeps (`resident` minus
/// `allocated`), and the fix differs.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct HeapStats {
    /// Bytes the application has allocated and not freed.
    pub allocated: u64,
    /// Bytes of physical memory the allocator holds, including its metadata and dirty pages.
    pub resident: u64,
}

/// Resident set size from `/proc/self/statm` (Linux); 0 where it cannot be read.
pub(super) fn resident_bytes() -> i64 {
    let pages = std::fs::read_to_string("/proc/self/statm")
        .ok()
        .and_then(|s| s.split_whitespace().nth(1)?.parse::<i64>().ok())
        .unwrap_or(0);
    // SAFETY: sysconf has no preconditions; _SC_PAGESIZE is always valid.
    let page = unsafe { libc::sysconf(libc::_SC_PAGESIZE) };
    pages * page.max(0) as i64
}
