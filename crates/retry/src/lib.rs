//! What the pipeline does when a write fails: the sink that saw the failure says *whether*
//! retrying can help ([`RetryAction`]); this crate decides, separately, *how long* to wait
//! ([`Backoff`]), when to stop ([`RetryPolicy`], [`retry`]) and when to stop trying for a while
//! ([`CircuitBreaker`]). Keeping the two apart means a new error class never touches timing
//! code, and a `DontRetry` reason flows unchanged into the DLQ record.
//!
//! Pure logic only; each sink maps its own errors onto [`RetryAction`].

#![warn(missing_docs)]

mod action;
mod backoff;
mod breaker;
mod policy;

pub use action::RetryAction;
pub use backoff::Backoff;
pub use breaker::{BreakerState, CircuitBreaker};
pub use policy::{retry, OnExhausted, RetryNotice, RetryOutcome, RetryPolicy};
