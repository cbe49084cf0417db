//! What the pipeline records: one method per event worth counting, so call sites never touch
//! a metric family or a label value directly.

use super::*;

impl Metrics {
    /// Counts messages fetched.
    pub fn consumed(&self, n: u64) {
        self.events_consumed.inc_by(n);
    }

    /// Total messages fetched so far.
    pub fn consumed_total(&self) -> u64 {
        self.events_consumed.get()
    }

    /// Counts finished events by outcome.
    pub fn processed(&self, outcome: Outcome, n: u64) {
        if n > 0 {
            self.processed_counter(outcome).inc_by(n);
        }
    }

    /// Total events finished with `outcome` so far.
    pub fn processed_total(&self, outcome: Outcome) -> u64 {
        self.processed_counter(outcome).get()
    }

    pub(super) fn processed_counter(&self, outcome: Outcome) -> Counter {
        self.events_processed
            .get_or_create(&ResultLabels {
                result: outcome.label(),
            })
            .clone()
    }

    /// Records fetch-to-durable time of one event, in seconds.
    pub fn processing_duration(&self, seconds: f64) {
        self.processing_duration.observe(seconds);
    }

    /// Records the duration of one Postgres query or transaction.
    pub fn db_query(&self, query: &'static str, seconds: f64) {
        self.db_query_duration
            .get_or_create(&QueryLabels { query })
            .observe(seconds);
    }

    /// Records produce-to-durable latency of one event.
    pub fn e2e_latency(&self, seconds: f64) {
        self.e2e_latency.observe(seconds);
    }

    /// Counts one retried write.
    pub fn retry(&self) {
        self.retries.inc();
    }

    /// Counts ledger rows pruned and sets the ledger's estimated size.
    pub fn ledger_pruned(&self, pruned: u64, rows: i64) {
        self.ledger_pruned.inc_by(pruned);
        self.ledger_rows.set(rows);
    }

    /// Counts one failed attempt beyond `--max-attempts`.
    pub fn retries_exhausted(&self) {
        self.retries_exhausted.inc();
    }

    /// Sets the circuit breaker state gauge (0 closed, 1 half-open, 2 open).
    pub fn circuit_state(&self, value: i64) {
        self.circuit_state.set(value);
    }

    /// Counts one opening of the circuit breaker.
    pub fn circuit_opened(&self) {
        self.circuit_opened.inc();
    }

    /// Total retried writes so far.
    pub fn retries_total(&self) -> u64 {
        self.retries.get()
    }

    /// Adjusts the in-flight gauge by `delta`.
    pub fn inflight_add(&self, delta: i64) {
        self.inflight.inc_by(delta);
    }

    /// Counts one busy answer (HTTP 429) waited out.
    pub fn sink_busy(&self) {
        self.sink_busy.inc();
    }

    /// Records the size of one sink transaction.
    pub fn batch(&self, events: usize) {
        self.batch_size.observe(events as f64);
    }

    /// Records how long one batch gathered after its first message (the lab's per-batch
    /// linger: what a bigger batch costs in latency).
    pub fn batch_linger(&self, seconds: f64) {
        self.batch_linger.observe(seconds);
    }

    /// Counts one offset commit by result.
    pub fn commit(&self, ok: bool) {
        let result = if ok { "ok" } else { "error" };
        self.commits.get_or_create(&ResultLabels { result }).inc();
    }

    /// Counts one rebalance callback (`assign`, `revoke` or `error`).
    pub fn rebalance(&self, kind: &'static str) {
        self.rebalances.get_or_create(&KindLabels { kind }).inc();
    }

    /// Sets the number of partitions assigned.
    pub fn assigned(&self, partitions: usize) {
        self.assigned_partitions.set(partitions as i64);
    }

    /// Publishes one partition's offsets as the lag monitor measured them.
    pub fn partition_offsets(
        &self,
        topic: &str,
        partition: i32,
        committed: Option<i64>,
        high: i64,
        lag: i64,
    ) {
        let labels = PartitionLabels {
            topic: topic.to_string(),
            partition,
        };
        self.lag.get_or_create(&labels).set(lag);
        self.high_watermark.get_or_create(&labels).set(high);
        match committed {
            Some(c) => {
                self.committed_offset.get_or_create(&labels).set(c);
            }
            None => {
                self.committed_offset.remove(&labels);
            }
        }
    }

    /// Drops a partition's series once it is no longer assigned here, so two members never
    /// both report it (sums over members stay right).
    pub fn forget_partition(&self, topic: &str, partition: i32) {
        let labels = PartitionLabels {
            topic: topic.to_string(),
            partition,
        };
        self.lag.remove(&labels);
        self.committed_offset.remove(&labels);
        self.high_watermark.remove(&labels);
    }

    /// Sets the depth of the source→sink queue.
    pub fn queue_depth(&self, messages: usize, bytes: usize) {
        self.queue_messages.set(messages as i64);
        self.queue_bytes.set(bytes as i64);
    }

    /// Sets how many partitions are paused.
    pub fn paused_partitions(&self, n: usize) {
        self.paused_partitions.set(n as i64);
    }

    /// Counts one shed message of key class `class`.
    pub fn shed(&self, class: usize) {
        self.shed
            .get_or_create(&KeyClassLabels {
                key_class: format!("k{class:02}"),
            })
            .inc();
    }

    /// Total shed messages so far.
    pub fn shed_total(&self) -> u64 {
        let mut total = 0;
        for class in 0..16 {
            total += self
                .shed
                .get_or_create(&KeyClassLabels {
                    key_class: format!("k{class:02}"),
                })
                .get();
        }
        total
    }

    /// Sets the heap figures, as the allocator reports them.
    pub fn heap(&self, stats: HeapStats) {
        self.heap_bytes.set(stats.allocated as i64);
        self.allocator_resident.set(stats.resident as i64);
    }

    /// Counts one eviction for exceeding `max.poll.interval.ms`.
    pub fn eviction(&self) {
        self.evictions.inc();
    }

    /// Counts ordering violations.
    pub fn ordering_violations(&self, n: u64) {
        if n > 0 {
            self.ordering_violations.inc_by(n);
        }
    }

    /// Records the result of one readiness check of `dependency`.
    pub fn dependency(&self, dependency: &'static str, up: bool) {
        self.dependency_up
            .get_or_create(&DependencyLabels { dependency })
            .set(i64::from(up));
    }

    /// Sets the total lag of this member and how many of its partitions are stuck.
    pub fn lag_summary(&self, lag_sum: i64, stuck: usize) {
        self.lag_sum.set(lag_sum);
        self.stuck_partitions.set(stuck as i64);
    }

    /// Sets how many partitions have no live owner (see the lag monitor's group check).
    pub fn unowned_partitions(&self, n: usize) {
        self.unowned_partitions.set(n as i64);
    }

    /// Counts one leave-and-rejoin of the group by the self-heal.
    pub fn group_rejoin(&self) {
        self.group_rejoins.inc();
    }
}
