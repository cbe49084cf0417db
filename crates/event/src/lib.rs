//! The first stage of the data path after the broker: turns the raw bytes of a Kafka record
//! (JSON, or Confluent-framed Avro given its writer's schema) into a validated [`Event`], or
//! into an [`InvalidEvent`] whose reason is specific enough to put in a DLQ record and act on.
//!
//! A message that can never be applied becomes a [`DeadLetter`]: the one DLQ record shape the
//! table, the DLQ topic and the `dlq` commands share.
//!
//! This crate does no I/O so that every rule about what a valid event is can be unit-tested
//! without Kafka or Postgres, and so the producer and the consumer share one definition of
//! the wire format.

#![warn(missing_docs)]

mod avro;
mod avro_schema;
mod codec;
mod dead_letter;
mod model;
mod validate;

pub use apache_avro::Schema as AvroSchema;
pub use avro::{confluent_frame, decode_avro, decode_avro_json, MAGIC_BYTE};
pub use avro_schema::{writer_schema, AVRO_MAX_ALLOCATION_BYTES};
pub use codec::{decode, decode_json, decode_json_with, encode, DEFAULT_MAX_MESSAGE_BYTES};
pub use dead_letter::{DeadLetter, SourcePos, DLQ_ID_HEADER};
pub use model::{Event, ReviewPayload, EVENT_TYPE_REVIEW_CREATED, SCHEMA_VERSION};
pub use validate::{dlq_event_id, InvalidEvent};
