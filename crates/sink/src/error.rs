//! A failed sink operation: the retry verdict, decided by the sink where the cause is visible
//! (a SQLSTATE, an HTTP status). A newtype rather than a second enum, so nothing converts
//! between the two.

use streamsre_retry::RetryAction;

/// A failed sink operation, already classified.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{0}")]
pub struct SinkError(pub RetryAction);

impl SinkError {
    /// Transient (connection lost, deadlock, overload, admin shutdown): retry later.
    pub fn retriable(reason: impl Into<String>) -> Self {
        Self(RetryAction::Retry(reason.into()))
    }

    /// Caused by the data or the setup (constraint, bad value, bad URL): the same write fails
    /// again.
    pub fn permanent(reason: impl Into<String>) -> Self {
        Self(RetryAction::DontRetry(reason.into()))
    }

    /// The downstream is up and full (HTTP 429): try the same write again after `wait`.
    pub fn busy(wait: std::time::Duration, reason: impl Into<String>) -> Self {
        Self(RetryAction::Later(wait, reason.into()))
    }

    /// Whether retrying the same write may succeed (now or after the asked-for wait).
    pub fn is_retriable(&self) -> bool {
        !matches!(self.0, RetryAction::DontRetry(_))
    }

    /// The reason, without the class prefix.
    pub fn reason(&self) -> &str {
        self.0.reason()
    }
}
