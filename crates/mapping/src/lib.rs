//! The mapping file (`consume --mapping FILE`): the stage between a decoded event and the sink,
//! saying which routes an event takes (topic and `when` filters), which table each writes,
//! how (insert, upsert, increment) and where each column's value comes from (a JSON pointer
//! into the event, or message metadata such as `@key`).
//!
//! This crate parses and checks the file on its own terms, and coerces a JSON value to a
//! column's type (`coerce`); what needs the database (do the
//! tables, columns and unique keys exist, can the values be coerced) is checked against the
//! catalog by the sink. Pure, so every rule is unit-tested.

#![warn(missing_docs)]

mod coerce;
mod file;
mod pointer;

pub use coerce::{coerce, ColumnType, Typed};
pub use file::{parse, Mapping, MappingError, Mode, Route, Source, Unrouted};
pub use pointer::Pointer;
