//! The Kafka end of the data path: the source (a consumer-group poll loop that hands messages
//! to sink workers and commits only durable offsets), the open-model load generator that feeds
//! the topic, and the admin calls (topics, committed offsets) the CLI and tests need.
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
pub mod producer;
pub mod slots;
pub mod source;

pub use config::{parse_kafka_opt, KafkaOpts};
