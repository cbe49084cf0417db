//! The Kafka end of the data path: the [`source`] (a consumer-group poll loop that carries out
//! `streamsre-flow`'s decisions, hands messages to sink workers and commits only durable
//! offsets), the DLQ topic publisher and replay ([`dlq`]), the [`admin`] calls (topics,
//! committed offsets), [`lag`] measurement, the [`group`] view and its [`heal`], and the client
//! settings every command shares ([`config`], with TLS and SASL in [`security`]), and
//! why a connection fails, in words an operator can act on ([`failure`], [`connection`],
//! [`tls_check`]). The load generator that feeds topics in the
//! lab lives in `streamsre-lab`.
//!
//! Everything talks to the broker through librdkafka (the `rdkafka` crate, bundled build), so
//! any Kafka-protocol broker works: Apache Kafka, Redpanda, or Tansu locally.

#![warn(missing_docs)]

pub mod admin;
pub mod config;
pub mod connection;
pub mod dlq;
pub mod failure;
pub mod group;
pub mod heal;
pub mod lag;
pub mod offsets;
pub mod security;
pub mod source;
pub mod tls_check;

pub use config::{parse_kafka_opt, KafkaOpts};
pub use security::{KafkaSecurity, SaslMechanism, Secret, SecurityProtocol};
