//! The DLQ topic: where messages that can never be applied are republished, with their
//! original key and value and headers saying why, so other tools can consume them too.

use crate::config::KafkaOpts;
use crate::connection::QuietContext;
use anyhow::Context;
use rdkafka::error::{KafkaError, RDKafkaErrorCode};
use rdkafka::message::{Header, OwnedHeaders};
use rdkafka::producer::future_producer::DeliveryFuture;
use rdkafka::producer::{FutureProducer, FutureRecord};
use std::time::Duration;
use streamsre_event::DeadLetter;
use streamsre_retry::RetryAction;

pub use streamsre_event::DLQ_ID_HEADER;

/// Classifies a Kafka client error: retry what the broker or network may fix by itself.
pub fn classify_kafka(err: &KafkaError) -> RetryAction {
    use RDKafkaErrorCode as C;
    let reason = format!("kafka: {err}");
    match err.rdkafka_error_code() {
        Some(
            C::QueueFull
            | C::MessageTimedOut
            | C::BrokerTransportFailure
            | C::AllBrokersDown
            | C::RequestTimedOut
            | C::NetworkException
            | C::NotLeaderForPartition
            | C::LeaderNotAvailable
            | C::NotEnoughReplicas
            | C::NotEnoughReplicasAfterAppend
            | C::NotCoordinator
            | C::CoordinatorNotAvailable
            | C::CoordinatorLoadInProgress
            | C::OperationTimedOut
            | C::Resolve
            | C::TimedOutQueue
            | C::WaitingForCoordinator
            | C::ThrottlingQuotaExceeded,
        ) => RetryAction::Retry(reason),
        // Unknown topic may be a topic being created right now; auto-creation or an operator
        // can fix it, so wait rather than drop.
        Some(C::UnknownTopicOrPartition | C::UnknownTopic | C::UnknownPartition) => {
            RetryAction::Retry(reason)
        }
        _ => RetryAction::DontRetry(reason),
    }
}

/// Publishes DLQ records and waits for the broker's acknowledgement.
pub struct DlqPublisher {
    producer: FutureProducer<QuietContext>,
    topic: String,
}

impl DlqPublisher {
    /// A publisher to `topic`.
    pub fn new(kafka: &KafkaOpts, topic: &str) -> anyhow::Result<Self> {
        let (producer, _) = kafka
            .create_quiet(&[
                // A DLQ record must not be lost once we commit past its offset.
                ("acks", "all"),
                ("linger.ms", "5"),
                ("message.timeout.ms", "30000"),
                // Poison values can be large; let the broker, not the client, decide.
                ("message.max.bytes", "10000000"),
            ])
            .context("creating the DLQ producer")?;
        Ok(Self {
            producer,
            topic: topic.to_string(),
        })
    }

    /// The DLQ topic.
    pub fn topic(&self) -> &str {
        &self.topic
    }

    /// Sends every record and waits until all are acknowledged. Records are queued first and
    /// then awaited, so they are delivered concurrently. If a value is too large for the
    /// broker, the record is sent again without its value (header `value_omitted`); the
    /// `dlq_events` table still holds the bytes.
    pub async fn publish(&self, messages: &[DeadLetter]) -> Result<(), KafkaError> {
        let mut queued = Vec::with_capacity(messages.len());
        for m in messages {
            queued.push((m, self.enqueue(m).await?));
        }
        for (m, delivery) in queued {
            match delivery.await {
                Ok(Ok(_)) => {}
                Ok(Err((
                    KafkaError::MessageProduction(RDKafkaErrorCode::MessageSizeTooLarge),
                    _,
                ))) => {
                    self.enqueue_record(m, true)
                        .await?
                        .await
                        .map_err(|_| KafkaError::Canceled)?
                        .map_err(|(e, _)| e)?;
                }
                Ok(Err((e, _))) => return Err(e),
                Err(_) => return Err(KafkaError::Canceled),
            }
        }
        Ok(())
    }

    async fn enqueue(&self, m: &DeadLetter) -> Result<DeliveryFuture, KafkaError> {
        match self.enqueue_record(m, false).await {
            Err(KafkaError::MessageProduction(RDKafkaErrorCode::MessageSizeTooLarge)) => {
                self.enqueue_record(m, true).await
            }
            other => other,
        }
    }

    async fn enqueue_record(
        &self,
        m: &DeadLetter,
        omit_value: bool,
    ) -> Result<DeliveryFuture, KafkaError> {
        let mut headers = OwnedHeaders::new();
        for (key, value) in &m.headers() {
            headers = headers.insert(Header {
                key,
                value: Some(value.as_str()),
            });
        }
        if omit_value {
            headers = headers.insert(Header {
                key: "value_omitted",
                value: Some("too_large_for_dlq_topic"),
            });
        }
        let mut record: FutureRecord<'_, [u8], [u8]> =
            FutureRecord::to(&self.topic).headers(headers);
        if let Some(k) = &m.key {
            record = record.key(k.as_slice());
        }
        if let (Some(v), false) = (&m.value, omit_value) {
            record = record.payload(v.as_slice());
        }
        loop {
            match self.producer.send_result(record) {
                Ok(delivery) => return Ok(delivery),
                // The client queue is full: wait for room rather than drop a DLQ record.
                Err((KafkaError::MessageProduction(RDKafkaErrorCode::QueueFull), r)) => {
                    record = r;
                    tokio::time::sleep(Duration::from_millis(10)).await;
                }
                Err((e, _)) => return Err(e),
            }
        }
    }
}

/// Sends dead letters back to `topic`, key and value byte for byte with their id in the
/// header [`DLQ_ID_HEADER`], at most `rate` per second, and waits for every acknowledgement.
/// Returns how many were acknowledged.
///
/// Replaying is safe by construction: events already applied are skipped by the dedup ledger,
/// and records that fail again update their DLQ row (`retry_count`) instead of adding one.
pub async fn replay(
    kafka: &KafkaOpts,
    topic: &str,
    records: &[DeadLetter],
    rate: std::num::NonZeroU32,
) -> anyhow::Result<usize> {
    use governor::{Quota, RateLimiter};
    let (producer, context): (FutureProducer<QuietContext>, _) = kafka
        .create_quiet(&[
            ("acks", "all"),
            ("linger.ms", "5"),
            ("message.max.bytes", "10000000"),
        ])
        .context("creating the replay producer")?;
    // Paced by a token bucket so a large replay cannot flood the consumer it feeds.
    let limiter = RateLimiter::direct(Quota::per_second(rate));
    let mut deliveries = Vec::with_capacity(records.len());
    for r in records {
        limiter.until_ready().await;
        let id = r.id.to_string();
        let headers = OwnedHeaders::new()
            .insert(Header {
                key: DLQ_ID_HEADER,
                value: Some(id.as_str()),
            })
            .insert(Header {
                key: "x-streamsre-replay",
                value: Some("1"),
            });
        let mut record: FutureRecord<'_, [u8], [u8]> = FutureRecord::to(topic).headers(headers);
        if let Some(k) = &r.key {
            record = record.key(k.as_slice());
        }
        if let Some(v) = &r.value {
            record = record.payload(v.as_slice());
        }
        deliveries.push(
            producer
                .send_result(record)
                .map_err(|(e, _)| e)
                .with_context(|| format!("queueing replay of {id}"))?,
        );
    }
    let mut acked = 0;
    for d in deliveries {
        match d.await {
            Ok(Ok(_)) => acked += 1,
            Ok(Err((e, _))) => {
                return Err(context.explain(anyhow::anyhow!(
                    "replay delivery failed after {acked} acknowledged: {e}"
                )))
            }
            Err(_) => anyhow::bail!("replay producer closed after {acked} acknowledged"),
        }
    }
    Ok(acked)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn kafka_errors_are_classified_by_code() {
        use RDKafkaErrorCode as C;
        let retry = [
            C::QueueFull,
            C::MessageTimedOut,
            C::AllBrokersDown,
            C::NotLeaderForPartition,
            C::RequestTimedOut,
            C::UnknownTopicOrPartition,
        ];
        for code in retry {
            let action = classify_kafka(&KafkaError::MessageProduction(code));
            assert!(action.is_retry(), "{code:?} should be retriable");
        }
        let permanent = [
            C::MessageSizeTooLarge,
            C::InvalidMessage,
            C::TopicAuthorizationFailed,
            C::InvalidRecord,
        ];
        for code in permanent {
            let action = classify_kafka(&KafkaError::MessageProduction(code));
            assert!(!action.is_retry(), "{code:?} should be permanent");
            assert!(action.reason().starts_with("kafka: "));
        }
    }
}
