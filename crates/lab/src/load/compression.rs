//! The producer's record-batch codec.

/// The record-batch compression codecs Kafka defines. The consumer reads every one of them
/// (librdkafka decompresses whatever the batch says); which one a topic gets is the
/// producer's choice.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum Compression {
    /// Uncompressed.
    None,
    /// gzip: small, CPU-hungry.
    Gzip,
    /// snappy.
    Snappy,
    /// lz4: cheap on CPU and roughly halves the bytes of JSON events (the default).
    #[default]
    Lz4,
    /// zstd: the smallest at a moderate CPU cost.
    Zstd,
}

impl Compression {
    /// librdkafka's `compression.type` value.
    pub fn librdkafka_name(self) -> &'static str {
        match self {
            Self::None => "none",
            Self::Gzip => "gzip",
            Self::Snappy => "snappy",
            Self::Lz4 => "lz4",
            Self::Zstd => "zstd",
        }
    }
}
