//! The mapping file (`consume --mapping FILE`): the stage between a decoded event and the sink,
//! saying which routes an event takes (topic and `when` filters), which table each writes,
//! how (insert, upsert, increment) and where each column's value comes from (a JSON pointer
//! into the event, message metadata such as `@key`, or a constant).
//!
//! `doc` is the decoded event, borrowed from the message; `file` parses and checks the file
//! on its own terms; `plan` joins it with the column types
//! the database reported and turns each event into coerced rows (`coerce`) or a DLQ reason;
//! `sql` writes the one statement a batch runs, `layout` which arrays it sends. What needs the
//! database (do the tables, columns and unique keys exist) is read and checked by the sink.
//! Pure, so every rule is unit-tested.

#![warn(missing_docs)]

mod coerce;
mod doc;
mod fields;
mod file;
mod layout;
mod matching;
mod plan;
mod pointer;
mod rows;
mod sql;

pub use coerce::{coerce, ColumnType, Typed};
pub use doc::Doc;
pub use fields::Fields;
pub use file::{parse, Mapping, MappingError, Mode, Route, Source, Unrouted};
pub use layout::{Layout, Slot};
pub use plan::{ColumnSpec, Meta, Plan, Rejected, Routed, Target};
pub use pointer::Pointer;
pub use rows::{Row, Rows};
pub use sql::{
    is_numeric, param_type, quote, quote_table, stage_ddl, statement, target_stage, RowSource,
    LEDGER_STAGE,
};

/// The review pipeline's mapping (`examples/reviews.toml`): what `consume` runs into
/// Postgres when no `--mapping` is given.
pub const REVIEWS_MAPPING: &str = include_str!("../../../examples/reviews.toml");
