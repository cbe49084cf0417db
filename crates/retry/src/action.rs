//! The verdict on one failure: whether trying again can help. Whoever sees the cause decides
//! it (the Postgres sink from the SQLSTATE, the HTTP sink from the status, the DLQ publisher
//! from the Kafka error code); [`crate::retry`] only carries it out.

/// The verdict on one failure.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum RetryAction {
    /// Transient: the same write may succeed later (connection lost, deadlock, overload).
    Retry(String),
    /// Permanent: the same write will fail again; the reason goes to the DLQ.
    DontRetry(String),
    /// Not a failure: the service is up and full (HTTP 429) and said when to come back. The
    /// wait is its flow control, so it spends no attempt and opens no circuit breaker.
    Later(std::time::Duration, String),
}

impl RetryAction {
    /// Whether this verdict asks for another attempt.
    pub fn is_retry(&self) -> bool {
        matches!(self, Self::Retry(_))
    }

    /// The human-readable reason, whichever way the verdict went.
    pub fn reason(&self) -> &str {
        match self {
            Self::Retry(r) | Self::DontRetry(r) | Self::Later(_, r) => r,
        }
    }
}

impl std::fmt::Display for RetryAction {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Self::Retry(r) => write!(f, "retriable: {r}"),
            Self::DontRetry(r) => write!(f, "permanent: {r}"),
            Self::Later(wait, r) => write!(f, "busy for {wait:?}: {r}"),
        }
    }
}
