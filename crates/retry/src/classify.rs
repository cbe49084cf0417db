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

/// Classifies a Postgres error by its five-character SQLSTATE.
///
/// Retriable classes: 08 connection exception, 40 transaction rollback (serialization failure,
/// deadlock), 53 insufficient resources (e.g. too many connections), 57 operator intervention
/// (admin shutdown, query canceled) and 58 system error (I/O). Everything else, notably 22 data
/// exception and 23 integrity constraint violation, is a property of the data and permanent.
/// Unknown or malformed codes are treated as permanent so that bad data cannot cause an endless
/// retry loop; the bisection in the sink then isolates the offending rows.
pub fn classify_sqlstate(code: &str, message: &str) -> RetryAction {
    let class = code.get(..2).unwrap_or("");
    let reason = format!("sqlstate {code}: {message}");
    match class {
        "08" | "40" | "53" | "57" | "58" => RetryAction::Retry(reason),
        _ => RetryAction::DontRetry(reason),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn classes_follow_the_design_table() {
        let table = [
            ("08006", true, "connection failure"),
            ("08001", true, "unable to connect"),
            ("40001", true, "serialization failure"),
            ("40P01", true, "deadlock detected"),
            ("53300", true, "too many connections"),
            ("57P01", true, "admin shutdown"),
            ("57014", true, "query canceled"),
            ("58030", true, "io error"),
            ("22001", false, "string data right truncation"),
            ("22P02", false, "invalid text representation"),
            ("23505", false, "unique violation"),
            ("23514", false, "check violation"),
            ("42P01", false, "undefined table"),
            ("", false, "no code"),
        ];
        for (code, retry, msg) in table {
            let action = classify_sqlstate(code, msg);
            assert_eq!(action.is_retry(), retry, "{code}");
            assert!(action.reason().contains(msg), "{code}: {}", action.reason());
        }
    }
}
