//! How `--memory-budget` is shared out, and what one message costs against it.
//!
//! The budget must bound the whole process heap, not only the bytes of the messages, so it is
//! split between the three places fetched data lives, with room left for what scales with
//! neither (the batch's SQL parameters, the allocator's slack):
//!
//! | share | holds |
//! |---|---|
//! | 1/8 | librdkafka's prefetch queue (`queued.max.messages.kbytes`), counted in payload bytes; its buffers and per-message overhead come on top |
//! | 1/32 | one fetch response (`fetch.max.bytes`), held while it is decoded into messages |
//! | 3/8 | the pipeline: messages waiting in the queue and in flight in the sink lanes |
//! | the rest (15/32) | headroom: the process's own baseline (~8 MiB), librdkafka's buffers beyond the payload, the allocator's slack |
//!
//! A message in the pipeline costs more than its bytes: once a lane decodes it, the decoded
//! event sits beside the raw value (kept so a row the database rejects reaches the DLQ byte
//! for byte), the batch being written holds it a third time as statement parameters or a
//! request body, and every message carries its position, ticket and permits.
//! [`MemoryBudget::cost`] charges that, so a large `MAX_INFLIGHT` cannot outgrow the budget
//! (measured with 2 KiB events under 4× overload: charging twice the bytes left the heap at
//! 70.6 MiB under a 64 MiB budget).

/// Fixed heap cost of one message in the pipeline besides its bytes: the fetched message and
/// decoded item structs, the topic name of its position and the allocator's rounding. An
/// estimate on the safe side of what jemalloc reports for 512 B events.
pub const MESSAGE_OVERHEAD: usize = 512;

/// librdkafka's floor for a fetch (`message.max.bytes` must fit in it).
const MIN_FETCH: usize = 1 << 20;

/// A memory budget in bytes and its shares.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct MemoryBudget {
    total: usize,
}

impl MemoryBudget {
    /// A budget of `total` bytes.
    pub fn new(total: usize) -> Self {
        Self { total }
    }

    /// The whole budget in bytes.
    pub fn total(&self) -> usize {
        self.total
    }

    /// librdkafka's prefetch queue cap in KiB (`queued.max.messages.kbytes`): an eighth, at
    /// least 1 MiB, at most librdkafka's 2 GiB limit. Measured with 2 KiB events under 4×
    /// overload, a quarter held the heap at 66-68 MiB under a 64 MiB budget.
    pub fn prefetch_kib(&self) -> usize {
        ((self.total / 8).max(MIN_FETCH) / 1024).min(2_097_151)
    }

    /// Most bytes one fetch response may carry (`fetch.max.bytes`). The prefetch cap only
    /// stops *new* fetches, so a response in progress comes on top of it, decompressed.
    pub fn fetch_max_bytes(&self) -> usize {
        (self.total / 32).clamp(MIN_FETCH, 52_428_800)
    }

    /// What messages in the queue and in flight may cost together (see [`Self::cost`]).
    pub fn pipeline_bytes(&self) -> usize {
        self.total / 8 * 3
    }

    /// What one message of `bytes` (key + value) costs while the pipeline holds it: its bytes
    /// three times (raw, decoded, and serialized for the sink) plus [`MESSAGE_OVERHEAD`].
    pub fn cost(bytes: usize) -> usize {
        bytes.saturating_mul(3).saturating_add(MESSAGE_OVERHEAD)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const MIB: usize = 1 << 20;

    #[test]
    fn the_shares_leave_headroom_under_the_total() {
        for total in [16 * MIB, 64 * MIB, 256 * MIB, 1024 * MIB] {
            let b = MemoryBudget::new(total);
            let used = b.prefetch_kib() * 1024 + b.fetch_max_bytes() + b.pipeline_bytes();
            assert!(used < total, "{total}: shares use {used}");
        }
        let b = MemoryBudget::new(64 * MIB);
        assert_eq!(b.prefetch_kib(), 8 * 1024);
        assert_eq!(b.fetch_max_bytes(), 2 * MIB);
        assert_eq!(b.pipeline_bytes(), 24 * MIB);
    }

    #[test]
    fn small_budgets_keep_librdkafkas_floors() {
        let b = MemoryBudget::new(MIB);
        assert_eq!(b.prefetch_kib(), 1024);
        assert_eq!(b.fetch_max_bytes(), MIB);
    }

    #[test]
    fn a_message_costs_its_bytes_three_times_plus_overhead() {
        assert_eq!(MemoryBudget::cost(0), MESSAGE_OVERHEAD);
        assert_eq!(MemoryBudget::cost(512), 1536 + MESSAGE_OVERHEAD);
        assert_eq!(MemoryBudget::cost(usize::MAX), usize::MAX, "saturates");
        // The default 64 MiB holds two full default batches (1,000 events of 512 B) per
        // default lane (4) in its pipeline share, and a third as much again queued: the
        // budget does not throttle batching at the defaults.
        let fits = MemoryBudget::new(64 * MIB).pipeline_bytes() / MemoryBudget::cost(512);
        assert!(fits >= 3 * 4 * 1_000, "{fits}");
    }
}
