//! Moving a consumer group's committed offsets: streamsre's `kafka-consumer-groups
//! --reset-offsets`, for reprocessing after a bad deploy or a fixed mapping.
//!
//! A reset is planned before anything changes (current → new per partition, from the log's
//! range and, for a point in time, the broker's offsets-for-times), and committed only on
//! request. It is refused while the group has members: their next commit would overwrite the
//! reset, and a real coordinator rejects a commit from outside a live generation anyway.

use crate::admin::{group_lag, PartitionLag};
use crate::config::KafkaOpts;
use crate::connection::QuietContext;
use crate::group::GroupDescriber;
use anyhow::{bail, Context};
use chrono::{DateTime, Utc};
use rdkafka::consumer::{BaseConsumer, CommitMode, Consumer};
use rdkafka::{Offset, TopicPartitionList};
use std::time::Duration;

/// Where a reset moves each partition.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ResetTarget {
    /// The log start (the oldest offset still kept).
    Earliest,
    /// The log end: skip everything not yet read.
    Latest,
    /// This offset.
    Offset(i64),
    /// The first message at or after this time (the log end if there is none).
    Datetime(DateTime<Utc>),
    /// The committed offset moved by this many messages (negative: back).
    ShiftBy(i64),
}

/// One partition of a reset plan.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize)]
pub struct PartitionReset {
    /// Partition id.
    pub partition: i32,
    /// The group's committed offset now (`None`: never committed).
    pub current: Option<i64>,
    /// Oldest offset still in the log.
    pub log_start: i64,
    /// Offset the next produced message will get.
    pub log_end: i64,
    /// The offset the group will read next after the reset.
    pub new: i64,
    /// Why `new` is not simply what was asked (clamped, or no message after the time).
    pub note: Option<String>,
}

/// The offset `target` gives a partition whose log holds `[log_start, log_end)` and whose
/// committed offset is `current`; `by_time` is the broker's answer for a time target (`None`:
/// no message at or after it). Out-of-range results are clamped, with a note saying so.
pub fn new_offset(
    target: ResetTarget,
    current: Option<i64>,
    log_start: i64,
    log_end: i64,
    by_time: Option<i64>,
) -> Result<(i64, Option<String>), String> {
    let asked = match target {
        ResetTarget::Earliest => return Ok((log_start, None)),
        ResetTarget::Latest => return Ok((log_end, None)),
        ResetTarget::Offset(n) => n,
        ResetTarget::ShiftBy(by) => {
            let Some(current) = current else {
                return Err("it has no committed offset to shift from".into());
            };
            current.saturating_add(by)
        }
        ResetTarget::Datetime(at) => match by_time {
            Some(n) => n,
            None => {
                return Ok((
                    log_end,
                    Some(format!("no message at or after {at}: the log end")),
                ))
            }
        },
    };
    Ok(if asked < log_start {
        (
            log_start,
            Some(format!("{asked} is before the log start: clamped")),
        )
    } else if asked > log_end {
        (
            log_end,
            Some(format!("{asked} is past the log end: clamped")),
        )
    } else {
        (asked, None)
    })
}

/// Plans a reset of `group` on `topic` (every partition, or only `partitions`). Changes
/// nothing. Blocking: call it from a blocking context.
pub fn plan_reset(
    opts: &KafkaOpts,
    group: &str,
    topic: &str,
    partitions: &[i32],
    target: ResetTarget,
    timeout: Duration,
) -> anyhow::Result<Vec<PartitionReset>> {
    let all = group_lag(opts, group, topic, timeout)?;
    let unknown: Vec<String> = partitions
        .iter()
        .filter(|p| !all.iter().any(|r| r.partition == **p))
        .map(i32::to_string)
        .collect();
    if !unknown.is_empty() {
        bail!(
            "topic {topic} has no partition {} (it has 0 to {})",
            unknown.join(", "),
            all.len() - 1
        );
    }
    let rows: Vec<PartitionLag> = all
        .into_iter()
        .filter(|r| partitions.is_empty() || partitions.contains(&r.partition))
        .collect();
    let by_time = match target {
        ResetTarget::Datetime(at) => offsets_for_time(opts, topic, &rows, at, timeout)?,
        _ => vec![None; rows.len()],
    };
    rows.iter()
        .zip(by_time)
        .map(|(r, by_time)| {
            let (new, note) = new_offset(
                target,
                r.committed,
                r.low_watermark,
                r.high_watermark,
                by_time,
            )
            .map_err(|e| anyhow::anyhow!("partition {}: {e}", r.partition))?;
            Ok(PartitionReset {
                partition: r.partition,
                current: r.committed,
                log_start: r.low_watermark,
                log_end: r.high_watermark,
                new,
                note,
            })
        })
        .collect()
}

/// The first offset at or after `at` of each partition of `rows`, as the broker answers
/// ListOffsets by timestamp (`None`: no such message).
fn offsets_for_time(
    opts: &KafkaOpts,
    topic: &str,
    rows: &[PartitionLag],
    at: DateTime<Utc>,
    timeout: Duration,
) -> anyhow::Result<Vec<Option<i64>>> {
    let (consumer, _): (BaseConsumer<QuietContext>, _) =
        opts.create_quiet(&[]).context("creating Kafka client")?;
    let mut tpl = TopicPartitionList::new();
    for r in rows {
        tpl.add_partition_offset(topic, r.partition, Offset::Offset(at.timestamp_millis()))
            .context("building the offsets-for-times request")?;
    }
    let found = consumer
        .offsets_for_times(tpl, timeout)
        .with_context(|| format!("asking the broker for the offsets of {topic} at {at}"))?;
    rows.iter()
        .map(|r| {
            let element = found.find_partition(topic, r.partition).with_context(|| {
                format!("the broker sent no offset for {topic}/{}", r.partition)
            })?;
            element
                .error()
                .with_context(|| format!("offsets-for-times of {topic}/{} failed", r.partition))?;
            Ok(match element.offset() {
                Offset::Offset(n) if n >= 0 => Some(n),
                _ => None,
            })
        })
        .collect()
}

/// Commits `plan` as `group`'s offsets on `topic`, after checking the group has no members,
/// and reads them back. Blocking.
pub fn execute_reset(
    opts: &KafkaOpts,
    group: &str,
    topic: &str,
    plan: &[PartitionReset],
    timeout: Duration,
) -> anyhow::Result<()> {
    let view = GroupDescriber::new(opts, group)?
        .describe(topic, timeout)
        .with_context(|| {
            format!("cannot tell whether group {group} has active members, so nothing was reset")
        })?;
    if !view.members.is_empty() {
        bail!(
            "group {group} has {} active member(s) ({}), state {}: stop its consumers first \
             (their next commit would overwrite the reset); nothing was reset",
            view.members.len(),
            view.member_labels(),
            view.state
        );
    }
    let (consumer, context): (BaseConsumer<QuietContext>, _) = opts
        .create_quiet(&[("group.id", group), ("enable.auto.commit", "false")])
        .context("creating Kafka client")?;
    let mut tpl = TopicPartitionList::new();
    for p in plan {
        tpl.add_partition_offset(topic, p.partition, Offset::Offset(p.new))
            .context("building the offset commit")?;
    }
    consumer
        .commit(&tpl, CommitMode::Sync)
        .with_context(|| format!("committing the new offsets of group {group}"))
        .map_err(|e| context.explain(e))?;
    let committed = consumer
        .committed_offsets(tpl, timeout)
        .with_context(|| format!("reading back the offsets of group {group}"))?;
    let wrong: Vec<String> = plan
        .iter()
        .filter_map(|p| {
            let now = committed
                .find_partition(topic, p.partition)
                .map(|e| e.offset());
            (now != Some(Offset::Offset(p.new)))
                .then(|| format!("partition {} reads {now:?}, not {}", p.partition, p.new))
        })
        .collect();
    if !wrong.is_empty() {
        bail!(
            "the broker accepted the commit but reports other offsets: {}",
            wrong.join("; ")
        );
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn each_target_lands_inside_the_log_and_says_when_it_was_clamped() {
        let at = DateTime::parse_from_rfc3339("2026-12-03T10:00:00Z")
            .unwrap()
            .with_timezone(&Utc);
        let new = |target, current, by_time| new_offset(target, current, 10, 50, by_time);
        assert_eq!(new(ResetTarget::Earliest, Some(30), None), Ok((10, None)));
        assert_eq!(new(ResetTarget::Latest, None, None), Ok((50, None)));
        assert_eq!(new(ResetTarget::Offset(25), None, None), Ok((25, None)));
        assert_eq!(new(ResetTarget::Offset(50), None, None), Ok((50, None)));
        assert_eq!(
            new(ResetTarget::Offset(3), None, None),
            Ok((10, Some("3 is before the log start: clamped".into())))
        );
        assert_eq!(
            new(ResetTarget::Offset(99), None, None),
            Ok((50, Some("99 is past the log end: clamped".into())))
        );
        assert_eq!(
            new(ResetTarget::ShiftBy(-5), Some(30), None),
            Ok((25, None))
        );
        assert_eq!(new(ResetTarget::ShiftBy(7), Some(30), None), Ok((37, None)));
        assert_eq!(
            new(ResetTarget::ShiftBy(-100), Some(30), None),
            Ok((10, Some("-70 is before the log start: clamped".into())))
        );
        assert_eq!(
            new(ResetTarget::ShiftBy(i64::MAX), Some(30), None),
            Ok((
                50,
                Some(format!("{} is past the log end: clamped", i64::MAX))
            ))
        );
        assert_eq!(
            new(ResetTarget::ShiftBy(1), None, None),
            Err("it has no committed offset to shift from".into())
        );
        assert_eq!(
            new(ResetTarget::Datetime(at), None, Some(42)),
            Ok((42, None))
        );
        assert_eq!(
            new(ResetTarget::Datetime(at), Some(12), None),
            Ok((
                50,
                Some("no message at or after 2026-12-03 10:00:00 UTC: the log end".into())
            ))
        );
    }
}
