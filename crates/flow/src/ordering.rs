//! Detects per-key reordering: an event applied after a later event of the same key.

use std::collections::HashMap;

/// Remembers, per key, the position of the last applied event.
///
/// Key-hashed dispatch never reorders a key; round-robin dispatch does whenever two events of
/// one key land in different lanes. This counts how often, so the lab can put a number on what
/// round-robin's extra speed costs. Memory is bounded: past `max_keys` the map starts afresh
/// (a violation straddling that moment goes unseen).
#[derive(Debug)]
pub struct OrderingChecker {
    last: HashMap<Vec<u8>, (i32, i64)>,
    max_keys: usize,
}

impl OrderingChecker {
    /// A checker remembering at most `max_keys` keys.
    pub fn new(max_keys: usize) -> Self {
        Self {
            last: HashMap::new(),
            max_keys: max_keys.max(1),
        }
    }

    /// Records that the event at (`partition`, `offset`) of `key` was applied; returns true if
    /// a later event of the same key (same partition, higher offset) was applied before it.
    pub fn applied(&mut self, key: &[u8], partition: i32, offset: i64) -> bool {
        if self.last.len() >= self.max_keys && !self.last.contains_key(key) {
            self.last.clear();
        }
        match self.last.get_mut(key) {
            Some(last) if last.0 == partition && offset < last.1 => true,
            Some(last) => {
                *last = (partition, offset);
                false
            }
            None => {
                self.last.insert(key.to_vec(), (partition, offset));
                false
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn in_order_is_fine_and_a_late_earlier_event_is_a_violation() {
        let mut c = OrderingChecker::new(100);
        assert!(!c.applied(b"k", 0, 1));
        assert!(!c.applied(b"k", 0, 5));
        assert!(c.applied(b"k", 0, 3), "3 applied after 5");
        assert!(!c.applied(b"k", 0, 6));
        assert!(!c.applied(b"other", 0, 2), "keys are independent");
        assert!(
            !c.applied(b"k", 1, 0),
            "a key moving partition (repartitioning) restarts its sequence"
        );
    }

    #[test]
    fn memory_is_bounded() {
        let mut c = OrderingChecker::new(10);
        for i in 0..1000u32 {
            c.applied(&i.to_le_bytes(), 0, i64::from(i));
        }
        assert!(c.last.len() <= 10);
    }
}
