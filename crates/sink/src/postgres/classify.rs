//! Postgres errors as retry verdicts: by SQLSTATE when the server judged the statement, as
//! transient when no answer came (connection, pool).

use crate::SinkError;
use streamsre_retry::RetryAction;

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

impl From<tokio_postgres::Error> for SinkError {
    fn from(err: tokio_postgres::Error) -> Self {
        match err.as_db_error() {
            Some(db) => {
                let mut message = db.message().to_string();
                if let Some(constraint) = db.constraint().filter(|c| !message.contains(c)) {
                    message.push_str(&format!(" (constraint {constraint})"));
                }
                // "Failing row contains (…)", "Key (id)=(7) already exists.": which row, so
                // two rows rejected by one constraint have reasons an operator can tell apart.
                if let Some(detail) = db.detail() {
                    let cut: String = detail.chars().take(200).collect();
                    message.push_str(&format!(": {cut}"));
                }
                SinkError(classify_sqlstate(db.code().code(), &message))
            }
            // No SQLSTATE: the connection broke, timed out or could not be opened. The server
            // never judged the data, so trying again on a fresh connection is the right move,
            // unless our own TLS check refused the server: that stays so until the setup
            // changes.
            None => {
                let text = with_causes(&err);
                if text.contains("invalid peer certificate") {
                    Self::permanent(format!(
                        "TLS: the server's certificate was rejected ({text}); check sslrootcert \
                         (the CA that signed it) and, with sslmode=verify-full, that the host in \
                         DATABASE_URL is a name the certificate lists"
                    ))
                } else if text.contains("server does not support TLS") {
                    Self::permanent(format!(
                        "TLS: {text}; use sslmode=prefer or disable, or turn ssl on at the server"
                    ))
                } else {
                    Self::retriable(format!("connection: {text}"))
                }
            }
        }
    }
}

impl From<deadpool_postgres::PoolError> for SinkError {
    fn from(err: deadpool_postgres::PoolError) -> Self {
        match err {
            deadpool_postgres::PoolError::Backend(e) => e.into(),
            // Timeouts and a closed pool: no connection could be had; transient.
            other => Self::retriable(format!("connection pool: {other}")),
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
