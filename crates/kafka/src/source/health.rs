//! The consumer's group membership as `/readyz` sees it, set by the rebalance callbacks and
//! the client's error callback, read by the probe and the lag monitor.

use crate::connection::ConnectionWatch;
use crate::security::KafkaSecurity;
use rdkafka::error::RDKafkaErrorCode;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Mutex;

/// What `/readyz` needs to know about the consumer's group membership.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum GroupState {
    /// Subscribed and waiting for (or between) assignments: normal during start and rebalances.
    Joining,
    /// Member of the group with this many partitions (zero is fine: more members than partitions).
    Assigned(usize),
    /// The client cannot work: a classified connection failure (bad credentials, an untrusted
    /// certificate, every broker down, …), a fatal error or a rebalance error.
    Failed(String),
}

/// Group state shared with the readiness probe.
#[derive(Debug)]
pub struct KafkaHealth {
    state: Mutex<GroupState>,
    /// Mirrors `state == Failed`, so the per-message recovery check is one atomic load.
    failed: AtomicBool,
    /// Set by the lag monitor's self-heal (see `crate::heal`), taken by the poll loop, which
    /// alone may touch the consumer.
    rejoin: AtomicBool,
    /// Turns librdkafka's error and log lines into one classified failure.
    connection: ConnectionWatch,
}

impl Default for KafkaHealth {
    fn default() -> Self {
        Self::new(KafkaSecurity::default())
    }
}

impl KafkaHealth {
    /// Health of a consumer configured with `security` (named in failure messages).
    pub fn new(security: KafkaSecurity) -> Self {
        Self {
            state: Mutex::new(GroupState::Joining),
            failed: AtomicBool::new(false),
            rejoin: AtomicBool::new(false),
            connection: ConnectionWatch::new(security),
        }
    }

    /// Whether a librdkafka error is a connection failure (reported once by [`Self::observe`]).
    pub(crate) fn is_connection_failure(&self, code: Option<RDKafkaErrorCode>, text: &str) -> bool {
        self.connection.is_connection_failure(code, text)
    }

    /// Feeds a librdkafka error or log line; a newly classified connection failure turns
    /// the state `Failed` with its message. Returns whether the line was such a failure.
    pub(super) fn observe(&self, code: Option<RDKafkaErrorCode>, text: &str) -> bool {
        match self.connection.observe(code, text) {
            Some(message) => {
                self.set(GroupState::Failed(message));
                true
            }
            None => false,
        }
    }

    /// The current state.
    pub fn state(&self) -> GroupState {
        self.state.lock().unwrap_or_else(|e| e.into_inner()).clone()
    }

    pub(super) fn set(&self, state: GroupState) {
        let mut current = self.state.lock().unwrap_or_else(|e| e.into_inner());
        self.failed
            .store(matches!(state, GroupState::Failed(_)), Ordering::SeqCst);
        *current = state;
    }

    /// Asks the poll loop to leave the group and join it again.
    pub fn request_rejoin(&self) {
        self.rejoin.store(true, Ordering::SeqCst);
    }

    /// Whether a rejoin was requested since the last call.
    pub(super) fn take_rejoin_request(&self) -> bool {
        self.rejoin.swap(false, Ordering::SeqCst)
    }

    /// Clears a broker failure once the client is working again (a message arrived, or the
    /// broker answered a metadata request).
    pub fn recovered(&self) {
        // Called for every fetched message: skip the lock unless a failure is recorded.
        if !self.failed.load(Ordering::SeqCst) {
            return;
        }
        let mut s = self.state.lock().unwrap_or_else(|e| e.into_inner());
        if matches!(*s, GroupState::Failed(_)) {
            *s = GroupState::Joining;
        }
        self.connection.clear();
        self.failed.store(false, Ordering::SeqCst);
    }
}
