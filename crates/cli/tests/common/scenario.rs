//! The usual start of an end-to-end test, in one place: a fresh topic, group and database, a
//! consumer with the test's flags and its partitions assigned, then a producer, then enough
//! rows to know events flow.

use super::{consumer, fixture, producer, wait_assigned, wait_produced, wait_rows};
use std::time::Duration;
use streamsre_testkit::{Proc, TestDb};

/// What a started scenario hands the test.
pub struct Scenario {
    /// The test's topic (its DLQ topic is `dlq_topic(&topic)`).
    pub topic: String,
    /// The consumer's group.
    pub group: String,
    /// The test's database.
    pub db: TestDb,
    /// The consumer.
    pub consumer: Proc,
    /// Its `/metrics` address.
    pub addr: String,
    /// The producer, if the scenario has load (still running unless `delivered` was asked).
    pub producer: Option<Proc>,
}

/// How to start a [`Scenario`].
#[derive(Default)]
pub struct ScenarioBuilder {
    consumer_args: Vec<String>,
    load: Option<(u64, u32, u64)>,
    delivered: bool,
    rows: Option<(i64, Duration)>,
}

impl Scenario {
    /// A scenario with a default consumer and no load.
    pub fn builder() -> ScenarioBuilder {
        ScenarioBuilder::default()
    }
}

impl ScenarioBuilder {
    /// Extra `consume` flags.
    pub fn consumer_args(mut self, args: &[&str]) -> Self {
        self.consumer_args = args.iter().map(|a| a.to_string()).collect();
        self
    }

    /// Once the consumer has partitions, produce `count` events at `rate`/s (0: as fast as
    /// possible) with `seed`.
    pub fn load(mut self, count: u64, rate: u32, seed: u64) -> Self {
        self.load = Some((count, rate, seed));
        self
    }

    /// Wait until the producer delivered everything (it exits successfully).
    pub fn delivered(mut self) -> Self {
        self.delivered = true;
        self
    }

    /// Wait until at least `n` rows were applied, for up to `timeout`.
    pub fn until_rows(mut self, n: i64, timeout: Duration) -> Self {
        self.rows = Some((n, timeout));
        self
    }

    /// Starts it all, in order, each step waiting on its observable condition.
    pub async fn start(self) -> Scenario {
        let (topic, group, db) = fixture().await;
        let args: Vec<&str> = self.consumer_args.iter().map(String::as_str).collect();
        let (mut consumer, addr) = consumer(&topic, &group, &db, &args);
        wait_assigned(&addr, &mut consumer).await;
        let mut producer = self
            .load
            .map(|(count, rate, seed)| producer(&topic, count, rate, seed));
        if let (true, Some(p)) = (self.delivered, producer.as_mut()) {
            wait_produced(p).await;
        }
        if let Some((n, timeout)) = self.rows {
            wait_rows(&db, n, timeout).await;
        }
        Scenario {
            topic,
            group,
            db,
            consumer,
            addr,
            producer,
        }
    }
}
