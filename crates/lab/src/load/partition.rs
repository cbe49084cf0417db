//! Where the load generator puts each record (`produce --partitioner`, `--partition`).
//!
//! The hash partitioners are librdkafka's own, so a key lands where a Java producer (murmur2),
//! librdkafka's default (consistent, CRC32) or a Go/Python client (fnv1a) would put it. Only
//! `priority` is computed here: librdkafka cannot reserve a partition for one class of records.

/// A key-hashing partitioner librdkafka implements.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Hashing {
    /// Java's default partitioner: murmur2 of the key, made positive, modulo the partitions.
    Murmur2,
    /// FNV-1a of the key (the Sarama and franz-go default).
    Fnv1a,
    /// CRC32 of the key: librdkafka's default.
    Consistent,
}

impl Hashing {
    /// librdkafka's `partitioner` value (the `_random` forms only differ for records without a
    /// key, which the generator never sends).
    pub fn librdkafka_name(self) -> &'static str {
        match self {
            Self::Murmur2 => "murmur2_random",
            Self::Fnv1a => "fnv1a_random",
            Self::Consistent => "consistent_random",
        }
    }
}

/// How the generator chooses partitions.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Partitioning {
    /// By key, with librdkafka's partitioner.
    Hash(Hashing),
    /// Every record to one partition.
    Fixed(i32),
    /// Records with `priority=high` to `partition`; every other record by the murmur2 of its
    /// key over the remaining partitions, so the two classes never share a partition and
    /// high-priority records never queue behind a backlog of the rest.
    Priority {
        /// The partition reserved for high-priority records.
        partition: i32,
    },
}

impl Partitioning {
    /// The partition to set on a record explicitly, or `None` to let librdkafka hash its key.
    /// `partitions` is the topic's partition count, checked by [`Partitioning::check`].
    pub fn choose(self, key: &[u8], high: bool, partitions: i32) -> Option<i32> {
        match self {
            Self::Hash(_) => None,
            Self::Fixed(p) => Some(p),
            Self::Priority { partition } if high => Some(partition),
            Self::Priority { partition } => {
                // Hash over the other partitions, skipping the reserved one.
                let slot = positive(murmur2(key)) % (partitions - 1);
                Some(if slot >= partition { slot + 1 } else { slot })
            }
        }
    }

    /// Whether this choice fits a topic of `partitions` partitions.
    pub fn check(self, topic: &str, partitions: i32) -> Result<(), String> {
        match self {
            Self::Hash(_) => Ok(()),
            Self::Fixed(p) if (0..partitions).contains(&p) => Ok(()),
            Self::Fixed(p) => Err(format!(
                "--partition {p} does not exist: topic {topic} has {partitions} partition(s)"
            )),
            Self::Priority { .. } if partitions < 2 => Err(format!(
                "--partitioner priority needs at least 2 partitions (one reserved for \
                 priority=high); topic {topic} has {partitions}"
            )),
            Self::Priority { partition } if !(0..partitions).contains(&partition) => Err(format!(
                "--priority-partition {partition} does not exist: topic {topic} has \
                     {partitions} partition(s)"
            )),
            Self::Priority { .. } => Ok(()),
        }
    }
}

/// Kafka's murmur2 (`org.apache.kafka.common.utils.Utils.murmur2`): the 32-bit MurmurHash2
/// with Kafka's seed. Written out because no maintained crate carries Kafka's variant, and
/// `priority` must place the rest of the keys as a Java producer would over its partitions.
pub fn murmur2(data: &[u8]) -> i32 {
    const SEED: u32 = 0x9747_b28c;
    const M: u32 = 0x5bd1_e995;
    const R: u32 = 24;
    let mut h = SEED ^ data.len() as u32;
    let mut chunks = data.chunks_exact(4);
    for chunk in &mut chunks {
        let mut k = u32::from_le_bytes([chunk[0], chunk[1], chunk[2], chunk[3]]);
        k = k.wrapping_mul(M);
        k ^= k >> R;
        k = k.wrapping_mul(M);
        h = h.wrapping_mul(M);
        h ^= k;
    }
    let tail = chunks.remainder();
    if tail.len() >= 3 {
        h ^= u32::from(tail[2]) << 16;
    }
    if tail.len() >= 2 {
        h ^= u32::from(tail[1]) << 8;
    }
    if let Some(&first) = tail.first() {
        h ^= u32::from(first);
        h = h.wrapping_mul(M);
    }
    h ^= h >> 13;
    h = h.wrapping_mul(M);
    h ^= h >> 15;
    h as i32
}

/// Kafka's `Utils.toPositive`: the sign bit cleared (not `abs`, which overflows on MIN).
fn positive(n: i32) -> i32 {
    n & 0x7fff_ffff
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The Java client's own vectors (`UtilsTest.testMurmur2`).
    #[test]
    fn murmur2_matches_the_java_client() {
        for (input, hash) in [
            ("21", -973_932_308),
            ("foobar", -790_332_482),
            ("a-little-bit-long-string", -985_981_536),
            ("a-little-bit-longer-string", -1_486_304_829),
            (
                "lkjh234lh9fiuh90y23oiuhsafujhadof229phr9h19h89h8",
                -58_897_971,
            ),
            ("abc", 479_470_107),
        ] {
            assert_eq!(murmur2(input.as_bytes()), hash, "{input}");
        }
    }

    #[test]
    fn priority_reserves_its_partition_and_spreads_the_rest() {
        let priority = Partitioning::Priority { partition: 2 };
        let mut seen = [0u32; 6];
        for i in 0..6_000 {
            let key = format!("user:{i}");
            assert_eq!(priority.choose(key.as_bytes(), true, 6), Some(2));
            let p = priority.choose(key.as_bytes(), false, 6).unwrap();
            seen[p as usize] += 1;
        }
        assert_eq!(
            seen[2], 0,
            "nothing else on the reserved partition: {seen:?}"
        );
        for (p, n) in seen.iter().enumerate().filter(|(p, _)| *p != 2) {
            assert!((900..=1_500).contains(n), "partition {p} got {n}: {seen:?}");
        }
        // The same key always goes to the same partition.
        assert_eq!(
            priority.choose(b"user:7", false, 6),
            priority.choose(b"user:7", false, 6)
        );
    }

    #[test]
    fn impossible_choices_are_refused_with_the_topic_shape() {
        assert!(Partitioning::Fixed(3).check("t", 4).is_ok());
        let e = Partitioning::Fixed(4).check("t", 4).unwrap_err();
        assert!(
            e.contains("--partition 4") && e.contains("4 partition(s)"),
            "{e}"
        );
        let e = Partitioning::Priority { partition: 0 }
            .check("t", 1)
            .unwrap_err();
        assert!(e.contains("at least 2"), "{e}");
        let e = Partitioning::Priority { partition: 5 }
            .check("t", 3)
            .unwrap_err();
        assert!(e.contains("--priority-partition 5"), "{e}");
        assert_eq!(Partitioning::Fixed(1).choose(b"k", false, 4), Some(1));
        assert_eq!(
            Partitioning::Hash(Hashing::Murmur2).choose(b"k", true, 4),
            None
        );
    }
}
