//! What the sink does when a write fails: first decide *whether* retrying can help
//! ([`RetryAction`], from [`classify_sqlstate`]), then, separately, *how long* to wait
//! ([`Backoff`]). Keeping the two apart means a new error class never touches timing code, and
//! a `DontRetry` reason flows unchanged into the DLQ record.
//!
//! Pure logic only; the Postgres sink maps its driver errors onto these types.

#![warn(missing_docs)]

mod backoff;
mod breaker;
mod classify;
mod policy;

pub use backoff::Backoff;
pub use breaker::{BreakerState, CircuitBreaker};
pub use classify::{classify_sqlstate, RetryAction};
pub use policy::{retry, OnExhausted, RetryNotice, RetryOutcome, RetryPolicy};
