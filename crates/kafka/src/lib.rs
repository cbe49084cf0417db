//! The Kafka end of the data path: the source (a consumer-group poll loop that hands messages
//! to sink workers and commits only durable offsets), the DLQ topic publisher, and the admin
//! calls (topics, committed offsets, lag, group view) the CLI and tests need. The load
//! generator that feeds topics in the lab lives in `streamsre-lab`.
//!
//! Everything talks to the broker through librdkafka (the `rdkafka` crate, bundled build), so
//! any Kafka-protocol broker works: Apache Kafka, Redpanda, or Tansu locally.

#![warn(missing_docs)]

pub mod admin;
pub mod config;
pub mod dlq;
pub mod group;
pub mod heal;
pub mod lag;
pub mod source;

pub use config::{parse_kafka_opt, KafkaOpts};
