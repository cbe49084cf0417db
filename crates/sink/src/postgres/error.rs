use streamsre_retry::{classify_sqlstate, RetryAction};

/// A failed sink operation, already classified.
///
/// The pipeline branches on the variant (retry with backoff, or bisect and DLQ), so this is a
/// typed enum rather than a boxed error.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum SinkError {
    /// Transient (connection lost, deadlock, overload, admin shutdown): retry later.
    #[error("retriable: {0}")]
    Retriable(String),
    /// Caused by the data (constraint, bad value): retrying the same rows fails again.
    #[error("permanent: {0}")]
    Permanent(String),
    /// The downstream is up and full (HTTP 429): try the same write again after `wait`. Flow
    /// control, not a failure: no attempt is spent and the circuit breaker stays closed.
    #[error("busy for {wait:?}: {reason}")]
    Busy {
        /// How long it asked us to wait.
        wait: std::time::Duration,
        /// What it said.
        reason: String,
    },
}

impl SinkError {
    /// Whether retrying the same write may succeed.
    pub fn is_retriable(&self) -> bool {
        matches!(self, Self::Retriable(_) | Self::Busy { .. })
    }

    /// The reason, without the class prefix.
    pub fn reason(&self) -> &str {
        match self {
            Self::Retriable(r) | Self::Permanent(r) | Self::Busy { reason: r, .. } => r,
        }
    }
}

impl From<RetryAction> for SinkError {
    fn from(action: RetryAction) -> Self {
        match action {
            RetryAction::Retry(r) => Self::Retriable(r),
            RetryAction::DontRetry(r) => Self::Permanent(r),
            RetryAction::Later(wait, reason) => Self::Busy { wait, reason },
        }
    }
}

impl From<SinkError> for RetryAction {
    fn from(err: SinkError) -> Self {
        match err {
            SinkError::Retriable(r) => RetryAction::Retry(r),
            SinkError::Permanent(r) => RetryAction::DontRetry(r),
            SinkError::Busy { wait, reason } => RetryAction::Later(wait, reason),
        }
    }
}

impl From<tokio_postgres::Error> for SinkError {
    fn from(err: tokio_postgres::Error) -> Self {
        match err.as_db_error() {
            Some(db) => {
                let mut message = db.message().to_string();
                if let Some(constraint) = db.constraint().filter(|c| !message.contains(c)) {
                    message.push_str(&format!(" (constraint {constraint})"));
                }
                classify_sqlstate(db.code().code(), &message).into()
            }
            // No SQLSTATE: the connection broke, timed out or could not be opened. The server
            // never judged the data, so trying again on a fresh connection is the right move.
            None => Self::Retriable(format!("connection: {}", with_causes(&err))),
        }
    }
}

impl From<deadpool_postgres::PoolError> for SinkError {
    fn from(err: deadpool_postgres::PoolError) -> Self {
        match err {
            deadpool_postgres::PoolError::Backend(e) => e.into(),
            // Timeouts and a closed pool: no connection could be had; transient.
            other => Self::Retriable(format!("connection pool: {other}")),
        }
    }
}

/// The error and its chain of causes, e.g. `error connecting to server: Connection refused`:
/// tokio-postgres keeps the useful part (the OS error) in `source()`.
fn with_causes(err: &dyn std::error::Error) -> String {
    let mut text = err.to_string();
    let mut cause = err.source();
    while let Some(c) = cause {
        let c_text = c.to_string();
        if !text.contains(&c_text) {
            text.push_str(": ");
            text.push_str(&c_text);
        }
        cause = c.source();
    }
    text
}
