//! Every decision between "a message was fetched" and "its offset may be committed": where a
//! fetched message waits and what happens when the sink cannot keep up, and which offsets are
//! safe to commit.
//!
//! Work runs in parallel and finishes out of order, so the consumer cannot simply commit the
//! offset of the last message it finished: that would commit past a message still in flight,
//! and a crash would lose it. [`OffsetTracker`] commits, per partition, only the contiguous
//! watermark below which everything is durable. [`lane_for`] picks the worker for a key so
//! that events of one key are applied in offset order while different keys run in parallel.
//!
//! [`FlowControl`] is the one place where the queue mode and overload policy decide what
//! happens to a message the sink cannot take yet, and [`WaitQueue`] holds those messages and
//! carries out every decision about them (queue, pause, resume, shed, the pull stall).
//! [`SinkSlots`] is the room on the sink side, [`MemoryBudget`] the one place that shares the
//! memory budget out and prices a message against it, [`SharedTracker`] and [`ShedLog`] the
//! state the source thread shares with the sink workers, and [`OrderingChecker`] measures what
//! unordered dispatch costs. [`RateAdvice`] is what the slow-source policy tells a cooperating
//! producer.
//!
//! Nothing here does I/O; the Kafka source loop (`streamsre-kafka`) asks and applies, the sink
//! workers (`streamsre-pipeline`) complete.

#![warn(missing_docs)]

mod advice;
mod budget;
mod lanes;
mod ordering;
mod overload;
mod queue;
mod shared;
mod slots;
mod tracker;

pub use advice::RateAdvice;
pub use budget::{MemoryBudget, MESSAGE_OVERHEAD};
pub use lanes::lane_for;
pub use ordering::OrderingChecker;
pub use overload::{FlowControl, OverloadPolicy, QueueMode, Waiting, WhenSinkFull};
pub use queue::{Arrival, Cost, Pausing, PollMode, Step, WaitQueue, POLL_INTERVAL, PULL_STALL};
pub use shared::{SharedTracker, ShedLog, KEY_CLASSES};
pub use slots::{SinkSlots, SlotPermit};
pub use tracker::{OffsetTracker, Ticket};
