//! The consumer group as its coordinator sees it: the members it still lists, their hosts and
//! which partitions each one was assigned (DescribeGroups, through librdkafka), and the rule
//! that turns that view into "partitions no live member owns".
//!
//! Why the group's own view and not just this member's: a member that was handed an empty
//! assignment cannot tell "more members than partitions" from "the coordinator lost track of
//! the partitions" by looking at itself. Only the coordinator's member list says whether
//! somebody else owns the partitions whose lag is not moving.

use crate::config::KafkaOpts;
use crate::connection::QuietContext;
use rdkafka::consumer::{BaseConsumer, Consumer};
use std::collections::BTreeSet;
use std::time::{Duration, Instant};

/// One member of the group, as the coordinator describes it.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize)]
pub struct GroupMember {
    /// The member id the coordinator gave it.
    pub id: String,
    /// The client's `client.id`.
    pub client_id: String,
    /// The host the member connected from (`/127.0.0.1` style, as Kafka reports it).
    pub host: String,
    /// Partitions of the topic assigned to it, or `None` when the coordinator sent no
    /// assignment bytes at all (Tansu 0.6 never does; see the README's known limitations).
    pub partitions: Option<Vec<i32>>,
}

impl GroupMember {
    /// `id@host` (or just the id when the coordinator reports no host), for logs and `/readyz`.
    pub fn label(&self) -> String {
        let host = self.host.trim_start_matches('/');
        if host.is_empty() {
            self.id.clone()
        } else {
            format!("{}@{host}", self.id)
        }
    }
}

/// The coordinator's answer to DescribeGroups for one group.
#[derive(Debug, Clone, Default, PartialEq, Eq, serde::Serialize)]
pub struct GroupView {
    /// `Stable`, `PreparingRebalance`, `CompletingRebalance`, `Empty`, `Dead`, …
    pub state: String,
    /// Members the coordinator still lists (dead ones included until it evicts them).
    pub members: Vec<GroupMember>,
}

impl GroupView {
    /// Whether the coordinator reported any member's assignment. Without assignments, the
    /// owner of a partition is only known when it is this member.
    pub fn assignments_reported(&self) -> bool {
        self.members.iter().any(|m| m.partitions.is_some())
    }

    /// The member the coordinator says owns `partition`.
    pub fn owner(&self, partition: i32) -> Option<&GroupMember> {
        self.members.iter().find(|m| {
            m.partitions
                .as_ref()
                .is_some_and(|parts| parts.contains(&partition))
        })
    }

    /// Whether no live member owns `partition`: neither this member (`mine`) nor any member
    /// in the coordinator's assignments. (A partition stalled at *its owner* is that owner's
    /// `partitions` check, not this one.)
    pub fn is_unowned(&self, partition: i32, mine: &[i32]) -> bool {
        !mine.contains(&partition) && self.owner(partition).is_none()
    }

    /// The members for a human: `a@host, b@host` or `none`.
    pub fn member_labels(&self) -> String {
        if self.members.is_empty() {
            return "none".to_string();
        }
        self.members
            .iter()
            .map(GroupMember::label)
            .collect::<Vec<_>>()
            .join(", ")
    }
}

/// A client of its own for DescribeGroups, whose connection errors stay out of the logs (its
/// [`QuietContext`] routes them to `debug`): a broker that cannot describe groups drops the
/// connection (stock Tansu 0.6's sqlite storage does; see `tools/tansu`), and librdkafka would
/// report that as "all brokers down" although nothing is down. The failure reaches the caller
/// as the `Err` of [`GroupDescriber::describe`] instead.
pub struct GroupDescriber {
    client: BaseConsumer<QuietContext>,
    group: String,
}

impl GroupDescriber {
    /// A describe client for `group` on the brokers of `opts`.
    pub fn new(opts: &KafkaOpts, group: &str) -> anyhow::Result<Self> {
        let (client, _) = opts
            .create_quiet(&[("group.id", group), ("enable.auto.commit", "false")])
            .map_err(|e| anyhow::anyhow!("creating the group describe client: {e}"))?;
        Ok(Self {
            client,
            group: group.to_string(),
        })
    }

    /// Asks the coordinator for the group's members and their assignments on `topic`.
    /// Blocking: call it from a blocking context.
    pub fn describe(&self, topic: &str, timeout: Duration) -> anyhow::Result<GroupView> {
        let group = self.group.as_str();
        let list = self
            .client
            .fetch_group_list(Some(group), timeout)
            .map_err(|e| anyhow::anyhow!("describing group {group}: {e}"))?;
        let Some(info) = list.groups().iter().find(|g| g.name() == group) else {
            // A group nobody has joined yet: no members, nothing owned.
            return Ok(GroupView {
                state: "Empty".to_string(),
                members: vec![],
            });
        };
        let members = info
            .members()
            .iter()
            .map(|m| GroupMember {
                id: m.id().to_string(),
                client_id: m.client_id().to_string(),
                host: m.client_host().to_string(),
                // Unreadable bytes say nothing about what the member owns: unknown, as when
                // the coordinator sends none, and said once here.
                partitions: m
                    .assignment()
                    .filter(|bytes| !bytes.is_empty())
                    .and_then(|bytes| {
                        parse_assignment(bytes, topic)
                            .inspect_err(|e| tracing::warn!(member = m.id(), error = %e, "unreadable member assignment"))
                            .ok()
                    }),
            })
            .collect();
        Ok(GroupView {
            state: info.state().to_string(),
            members,
        })
    }
}

/// Decodes a consumer-protocol `MemberAssignment` (versions 0 to 3: int16 version, then an
/// array of topic name + partition array, then user data) and returns the partitions of
/// `topic`, sorted.
pub fn parse_assignment(bytes: &[u8], topic: &str) -> Result<Vec<i32>, String> {
    let mut r = Reader { bytes, at: 0 };
    let version = r.i16()?;
    if version < 0 {
        return Err(format!("assignment version {version}"));
    }
    let topics = r.i32()?;
    let mut out = BTreeSet::new();
    for _ in 0..topics.max(0) {
        let name = r.string()?;
        let count = r.i32()?;
        for _ in 0..count.max(0) {
            let p = r.i32()?;
            if name == topic {
                out.insert(p);
            }
        }
    }
    // User data follows; it is the assignor's business, not ours.
    Ok(out.into_iter().collect())
}

/// A big-endian cursor that refuses to read past the end instead of panicking.
struct Reader<'a> {
    bytes: &'a [u8],
    at: usize,
}

impl Reader<'_> {
    fn take(&mut self, n: usize) -> Result<&[u8], String> {
        let end = self.at.checked_add(n).filter(|e| *e <= self.bytes.len());
        let Some(end) = end else {
            return Err(format!(
                "truncated assignment: needed {n} bytes at {} of {}",
                self.at,
                self.bytes.len()
            ));
        };
        let out = &self.bytes[self.at..end];
        self.at = end;
        Ok(out)
    }

    fn i16(&mut self) -> Result<i16, String> {
        let b = self.take(2)?;
        Ok(i16::from_be_bytes([b[0], b[1]]))
    }

    fn i32(&mut self) -> Result<i32, String> {
        let b = self.take(4)?;
        Ok(i32::from_be_bytes([b[0], b[1], b[2], b[3]]))
    }

    fn string(&mut self) -> Result<String, String> {
        let len = self.i16()?;
        let bytes = self.take(usize::try_from(len).map_err(|_| "null topic name".to_string())?)?;
        String::from_utf8(bytes.to_vec()).map_err(|_| "topic name is not UTF-8".to_string())
    }
}

/// How far to trust the coordinator's silence. A broker that has never answered DescribeGroups
/// (Tansu's sqlite storage) is asked again only every `--stuck-after`, and ownership is judged
/// from this member's own assignment meanwhile. A broker that has answered before and fails
/// now is having a blip (a dropped connection, a coordinator moving): the check holds its last
/// verdict for up to `--stuck-after` of failures, asking every interval, rather than calling a
/// slow partition unowned on one lost request. A blip that outlasts that is treated like a
/// broker that never answers, so a dead coordinator is not asked (and waited on) every interval.
#[derive(Debug, Default)]
pub struct DescribeTrust {
    answered_before: bool,
    failing_since: Option<Instant>,
    /// The last failure, and whether it was read as a fallback (then the broker is not asked
    /// again for a while).
    last_failure: Option<(Instant, String, bool)>,
}

/// What a failed describe means for the unowned check.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Silence {
    /// Keep the previous verdict: the coordinator answered before and has failed only briefly.
    Hold(String),
    /// Judge from this member's own assignment.
    Fallback(String),
}

impl DescribeTrust {
    /// The last failure, when the broker is not to be asked again yet.
    pub fn skip_asking(&self, now: Instant, retry_after: Duration) -> Option<Silence> {
        match &self.last_failure {
            Some((at, error, true)) if now < *at + retry_after => {
                Some(Silence::Fallback(error.clone()))
            }
            _ => None,
        }
    }

    /// Records an answer.
    pub fn answered(&mut self) {
        self.answered_before = true;
        self.failing_since = None;
        self.last_failure = None;
    }

    /// Records a failure at `now` and says how to read it.
    pub fn failed(&mut self, error: String, now: Instant, hold_for: Duration) -> Silence {
        let since = *self.failing_since.get_or_insert(now);
        let hold = self.answered_before && now < since + hold_for;
        self.last_failure = Some((now, error.clone(), !hold));
        if hold {
            Silence::Hold(error)
        } else {
            Silence::Fallback(error)
        }
    }

    /// Whether this is the first failure of a run (worth one log line).
    pub fn is_first_failure(&self) -> bool {
        self.failing_since.is_none()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Encodes an assignment the way the Java and librdkafka clients do.
    fn encode(version: i16, topics: &[(&str, &[i32])], user_data: &[u8]) -> Vec<u8> {
        let mut b = version.to_be_bytes().to_vec();
        b.extend((topics.len() as i32).to_be_bytes());
        for (name, parts) in topics {
            b.extend((name.len() as i16).to_be_bytes());
            b.extend(name.as_bytes());
            b.extend((parts.len() as i32).to_be_bytes());
            for p in *parts {
                b.extend(p.to_be_bytes());
            }
        }
        b.extend((user_data.len() as i32).to_be_bytes());
        b.extend(user_data);
        b
    }

    #[test]
    fn reads_the_partitions_of_our_topic_only() {
        let bytes = encode(1, &[("other", &[0, 1]), ("orders", &[5, 0, 3])], b"x");
        assert_eq!(parse_assignment(&bytes, "orders"), Ok(vec![0, 3, 5]));
        assert_eq!(parse_assignment(&bytes, "missing"), Ok(vec![]));
        assert_eq!(parse_assignment(&encode(0, &[], &[]), "orders"), Ok(vec![]));
    }

    #[test]
    fn truncated_or_garbage_bytes_are_errors_not_panics() {
        let bytes = encode(0, &[("orders", &[1, 2])], &[]);
        for cut in 0..bytes.len() - 4 {
            assert!(
                parse_assignment(&bytes[..cut], "orders").is_err(),
                "cut at {cut}"
            );
        }
        assert!(parse_assignment(&[0xff, 0xff, 0, 0, 0, 1], "orders").is_err());
        // A huge declared count must fail on the missing bytes, not allocate.
        assert!(parse_assignment(&[0, 0, 0x7f, 0xff, 0xff, 0xff], "orders").is_err());
    }

    fn member(id: &str, parts: Option<&[i32]>) -> GroupMember {
        GroupMember {
            id: id.into(),
            client_id: "rdkafka".into(),
            host: "/127.0.0.1".into(),
            partitions: parts.map(<[i32]>::to_vec),
        }
    }

    #[test]
    fn a_stalled_partition_is_unowned_only_when_nobody_holds_it() {
        let view = GroupView {
            state: "Stable".into(),
            members: vec![member("a", Some(&[0, 1])), member("b", Some(&[]))],
        };
        // 0 is a's (stalled at its owner: a's own check), 4 is mine, 2 and 3 are nobody's.
        let unowned: Vec<i32> = [0, 2, 3, 4]
            .into_iter()
            .filter(|p| view.is_unowned(*p, &[4]))
            .collect();
        assert_eq!(unowned, vec![2, 3]);
        assert_eq!(view.owner(1).map(|m| m.id.as_str()), Some("a"));
        assert!(view.assignments_reported());
        assert_eq!(view.member_labels(), "a@127.0.0.1, b@127.0.0.1");
    }

    #[test]
    fn without_reported_assignments_only_my_partitions_have_a_known_owner() {
        let view = GroupView {
            state: "Stable".into(),
            members: vec![member("zombie", None), member("me", None)],
        };
        assert!(!view.assignments_reported());
        assert!(view.is_unowned(0, &[1]) && view.is_unowned(2, &[1]));
        assert!(!view.is_unowned(1, &[1]), "mine");
        assert_eq!(GroupView::default().member_labels(), "none");
    }

    #[test]
    fn a_blip_holds_the_verdict_and_a_broker_that_never_answers_is_asked_rarely() {
        let t0 = Instant::now();
        let s = |n| t0 + Duration::from_secs(n);
        let window = Duration::from_secs(3);
        let failure = || "BrokerTransportFailure".to_string();

        // Never answered: judged from the member's own view, and not asked again for 3 s.
        let mut never = DescribeTrust::default();
        assert!(never.is_first_failure());
        assert_eq!(
            never.failed(failure(), s(0), window),
            Silence::Fallback(failure())
        );
        assert!(!never.is_first_failure());
        assert_eq!(
            never.skip_asking(s(2), window),
            Some(Silence::Fallback(failure()))
        );
        assert_eq!(never.skip_asking(s(3), window), None);

        // Answered before: failures are retried every interval and hold the verdict until
        // they have lasted 3 s.
        let mut blip = DescribeTrust::default();
        blip.answered();
        assert_eq!(
            blip.failed(failure(), s(10), window),
            Silence::Hold(failure())
        );
        assert_eq!(blip.skip_asking(s(11), window), None, "asked again at once");
        assert_eq!(
            blip.failed(failure(), s(12), window),
            Silence::Hold(failure())
        );
        assert_eq!(
            blip.failed(failure(), s(13), window),
            Silence::Fallback(failure())
        );
        // Outlasting the hold, it is asked only every 3 s, like a broker that never answers.
        assert_eq!(
            blip.skip_asking(s(15), window),
            Some(Silence::Fallback(failure()))
        );
        assert_eq!(blip.skip_asking(s(16), window), None);
        // An answer ends the run: the next failure holds again.
        blip.answered();
        assert!(blip.is_first_failure());
        assert_eq!(
            blip.failed(failure(), s(20), window),
            Silence::Hold(failure())
        );
    }
}
