//! How much of the broker's acknowledgement the producer waits for (`produce --acks`,
//! `--idempotence`).

/// librdkafka's `acks`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum Acks {
    /// Fire and forget: a record is counted as acknowledged once sent; lost on any failure.
    None,
    /// The partition leader has written it; lost if the leader dies before replicating.
    Leader,
    /// Every in-sync replica has it (the default: a lost acknowledged record would make every
    /// downstream count wrong).
    #[default]
    All,
}

impl Acks {
    /// librdkafka's `acks` value.
    pub fn librdkafka_value(self) -> &'static str {
        match self {
            Self::None => "0",
            Self::Leader => "1",
            Self::All => "all",
        }
    }

    /// `enable.idempotence` for `requested` (`None`: the default, on exactly with `acks=all`).
    /// The idempotent producer needs every replica's acknowledgement, so asking for it with
    /// fewer is refused rather than silently weakened.
    pub fn idempotence(self, requested: Option<bool>) -> Result<bool, String> {
        match (self, requested) {
            (Self::All, None) => Ok(true),
            (_, None) => Ok(false),
            (Self::All, Some(on)) => Ok(on),
            (_, Some(false)) => Ok(false),
            (acks, Some(true)) => Err(format!(
                "--idempotence needs --acks all (the broker can only deduplicate retries that \
                 every in-sync replica acknowledged); got --acks {}",
                acks.librdkafka_value()
            )),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn idempotence_is_on_by_default_with_acks_all_and_refused_without_it() {
        assert_eq!(Acks::All.idempotence(None), Ok(true));
        assert_eq!(Acks::All.idempotence(Some(false)), Ok(false));
        assert_eq!(Acks::Leader.idempotence(None), Ok(false));
        assert_eq!(Acks::None.idempotence(Some(false)), Ok(false));
        let e = Acks::Leader.idempotence(Some(true)).unwrap_err();
        assert!(e.contains("--acks all") && e.contains("--acks 1"), "{e}");
    }
}
