use std::hash::{Hash, Hasher};

/// The lane (sink worker) that owns `key`.
///
/// Every event of a key goes to the same lane, whatever partition it came from, and a lane
/// applies its events one batch at a time in arrival order; that is what keeps per-key order
/// while lanes run in parallel. The hash only needs to be stable within one process.
pub fn lane_for(key: &[u8], lanes: usize) -> usize {
    assert!(lanes > 0, "at least one lane is required");
    let mut hasher = std::collections::hash_map::DefaultHasher::new();
    key.hash(&mut hasher);
    (hasher.finish() % lanes as u64) as usize
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn same_key_same_lane_and_keys_spread() {
        let lanes = 8;
        let mut used = vec![0usize; lanes];
        for i in 0..10_000 {
            let key = format!("user:{i}");
            let lane = lane_for(key.as_bytes(), lanes);
            assert_eq!(lane, lane_for(key.as_bytes(), lanes));
            used[lane] += 1;
        }
        // A usable hash spreads 10k keys over 8 lanes without starving any of them.
        assert!(used.iter().all(|&n| n > 800), "uneven spread: {used:?}");
    }
}
