//! How a batch's rows reach the tables: the statement the mapping's plan wrote
//! (`streamsre_mapping::statement`: the ledger insert, then each table's rows for the newly
//! inserted ids only), run inside the caller's transaction. Two ways to ship the rows, one
//! SQL body:
//!
//! - [`WritePath::Unnest`]: the rows travel as array parameters of one prepared statement
//!   (one round trip).
//! - [`WritePath::Copy`]: the rows travel by binary `COPY` into per-connection temporary
//!   staging tables (`ON COMMIT DELETE ROWS`), then the same statement reads the stages.
//!
//! `make bench` measures both against batch size (`pg_ceiling --write-path`); the README's
//! Performance section has the figures behind the default.

use crate::{EventBody, SinkError, ValidEvent};
use bytes::BytesMut;
use chrono::{DateTime, Utc};
use deadpool_postgres::Transaction;
use serde_json::Value;
use std::error::Error;
use streamsre_mapping::{
    param_type, stage_ddl, statement, target_stage, Layout, Plan, RowSource, Slot, Typed,
    LEDGER_STAGE,
};
use tokio_postgres::binary_copy::BinaryCopyInWriter;
use tokio_postgres::types::{to_sql_checked, IsNull, ToSql, Type};
use uuid::Uuid;

/// How rows are shipped to Postgres.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum WritePath {
    /// Array parameters of one prepared statement.
    #[default]
    Unnest,
    /// Binary `COPY` into temporary staging tables, then the same statement.
    Copy,
}

/// A plan's statements, written once when the sink is given the plan.
pub(super) struct Statements {
    pub(super) plan: Plan,
    layout: Layout,
    unnest: String,
    staged: String,
    ddl: String,
}

impl Statements {
    pub(super) fn new(mut plan: Plan, path: WritePath) -> Self {
        // The unnest path reads a copied column from the array of the column it copies;
        // COPY writes every column of every stage.
        if path == WritePath::Unnest {
            plan.skip_copies();
        }
        Self {
            unnest: statement(&plan, RowSource::Unnest),
            staged: statement(&plan, RowSource::Staged),
            ddl: stage_ddl(&plan),
            layout: Layout::new(&plan),
            plan,
        }
    }
}

/// One column's values for a batch, in the element type `param_type` names; text is borrowed
/// from the events (a batch is retried from the same events, so they outlive it).
enum Column<'a> {
    Text(Vec<Option<Utf8<'a>>>),
    Int(Vec<Option<i64>>),
    Float(Vec<Option<f64>>),
    Bool(Vec<Option<bool>>),
    Uuid(Vec<Option<Uuid>>),
    Time(Vec<Option<DateTime<Utc>>>),
    Json(Vec<Option<Value>>),
}

impl<'a> Column<'a> {
    fn for_type(param: &str, capacity: usize) -> Self {
        match param {
            "int8" => Self::Int(Vec::with_capacity(capacity)),
            "float8" => Self::Float(Vec::with_capacity(capacity)),
            "bool" => Self::Bool(Vec::with_capacity(capacity)),
            "uuid" => Self::Uuid(Vec::with_capacity(capacity)),
            "timestamptz" => Self::Time(Vec::with_capacity(capacity)),
            "jsonb" => Self::Json(Vec::with_capacity(capacity)),
            _ => Self::Text(Vec::with_capacity(capacity)),
        }
    }

    /// Appends `value`, of an event read from `message`; the plan coerced it for this
    /// column, so its variant matches (if not, the row is refused rather than written wrong).
    fn push(&mut self, value: &'a Typed, message: Option<&'a [u8]>) -> Result<(), SinkError> {
        match (self, value) {
            (Self::Text(v), Typed::Null) => v.push(None),
            (Self::Int(v), Typed::Null) => v.push(None),
            (Self::Float(v), Typed::Null) => v.push(None),
            (Self::Bool(v), Typed::Null) => v.push(None),
            (Self::Uuid(v), Typed::Null) => v.push(None),
            (Self::Time(v), Typed::Null) => v.push(None),
            (Self::Json(v), Typed::Null) => v.push(None),
            (Self::Text(v), Typed::Text(s) | Typed::Numeric(s)) => v.push(Some(Utf8(s.as_bytes()))),
            (Self::Text(v), Typed::Span(span)) => {
                let text = message.and_then(|m| m.get(span.clone())).ok_or_else(|| {
                    SinkError::permanent("a text span of a message the event did not keep")
                })?;
                v.push(Some(Utf8(text)))
            }
            (Self::Int(v), Typed::Int(n)) => v.push(Some(*n)),
            (Self::Float(v), Typed::Float(f)) => v.push(Some(*f)),
            (Self::Bool(v), Typed::Bool(b)) => v.push(Some(*b)),
            (Self::Uuid(v), Typed::Uuid(u)) => v.push(Some(*u)),
            (Self::Time(v), Typed::Timestamp(t)) => v.push(Some(*t)),
            (Self::Json(v), Typed::Json(j)) => v.push(Some(j.clone())),
            (Self::Json(v), Typed::Array(items)) => {
                let element = |t| element_json(t, message);
                v.push(Some(Value::Array(items.iter().map(element).collect())))
            }
            (_, other) => {
                return Err(SinkError::permanent(format!(
                    "value {other:?} does not fit its column's type"
                )))
            }
        }
        Ok(())
    }

    fn as_sql(&self) -> &(dyn ToSql + Sync) {
        match self {
            Self::Text(v) => v,
            Self::Int(v) => v,
            Self::Float(v) => v,
            Self::Bool(v) => v,
            Self::Uuid(v) => v,
            Self::Time(v) => v,
            Self::Json(v) => v,
        }
    }

    /// The `i`th value, for a `COPY` row.
    fn at(&self, i: usize) -> &(dyn ToSql + Sync) {
        match self {
            Self::Text(v) => &v[i],
            Self::Int(v) => &v[i],
            Self::Float(v) => &v[i],
            Self::Bool(v) => &v[i],
            Self::Uuid(v) => &v[i],
            Self::Time(v) => &v[i],
            Self::Json(v) => &v[i],
        }
    }
}

/// Text as the UTF-8 bytes it already is: a span of a message ([`Typed::Span`]) is written
/// straight from the message, which was checked to be UTF-8 whole before it was parsed.
#[derive(Debug)]
struct Utf8<'a>(&'a [u8]);

impl ToSql for Utf8<'_> {
    fn to_sql(&self, _: &Type, out: &mut BytesMut) -> Result<IsNull, Box<dyn Error + Sync + Send>> {
        out.extend_from_slice(self.0);
        Ok(IsNull::No)
    }

    /// Only `text`: the statement types every text array (and stage column) so.
    fn accepts(ty: &Type) -> bool {
        *ty == Type::TEXT
    }

    to_sql_checked!();
}

/// An array element as the JSON text `jsonb_array_elements_text` turns back into it.
fn element_json(t: &Typed, message: Option<&[u8]>) -> Value {
    match t {
        Typed::Null => Value::Null,
        Typed::Text(s) | Typed::Numeric(s) => Value::String(s.clone()),
        Typed::Int(n) => (*n).into(),
        Typed::Float(f) => serde_json::Number::from_f64(*f).map_or(Value::Null, Value::Number),
        Typed::Bool(b) => (*b).into(),
        Typed::Uuid(u) => u.to_string().into(),
        Typed::Timestamp(t) => t.to_rfc3339().into(),
        // A jsonb element travels as its own JSON text, which the cast to jsonb parses.
        Typed::Json(j) => j.to_string().into(),
        Typed::Array(items) => {
            Value::Array(items.iter().map(|t| element_json(t, message)).collect())
        }
        Typed::Span(span) => message
            .and_then(|m| m.get(span.clone()))
            .map_or(Value::Null, |text| String::from_utf8_lossy(text).into()),
    }
}

/// The batch laid out column by column: the ledger, then each target's rows.
struct Columns<'a> {
    ids: Vec<Uuid>,
    topics: Vec<&'a str>,
    partitions: Vec<i32>,
    offsets: Vec<i64>,
    targets: Vec<TargetColumns<'a>>,
}

/// One target's rows, column by column. Only what the write path reads is filled: the
/// `unnest` path never reads row orders, nor the ids and shared columns [`Layout`] sends once
/// for several targets; COPY writes every column of every stage.
struct TargetColumns<'a> {
    rows: usize,
    ids: Vec<Uuid>,
    ords: Vec<i64>,
    values: Vec<Column<'a>>,
    fill_ids: bool,
    fill_ords: bool,
    fill: Vec<bool>,
}

impl<'a> Columns<'a> {
    fn new(
        plan: &Plan,
        layout: &Layout,
        path: WritePath,
        events: &[&'a ValidEvent],
    ) -> Result<Self, SinkError> {
        let n = events.len();
        let wanted = |slot: Slot| path == WritePath::Copy || layout.sent().contains(&slot);
        let sized = |fill: bool| if fill { n } else { 0 };
        let mut targets: Vec<TargetColumns<'a>> = plan
            .targets
            .iter()
            .enumerate()
            .map(|(t, target)| {
                let fill: Vec<bool> = (0..target.columns.len())
                    .map(|c| wanted(Slot::Column(t, c)))
                    .collect();
                let fill_ids = wanted(Slot::Ids(t));
                let fill_ords = path == WritePath::Copy;
                TargetColumns {
                    rows: 0,
                    ids: Vec::with_capacity(sized(fill_ids)),
                    ords: Vec::with_capacity(sized(fill_ords)),
                    values: target
                        .columns
                        .iter()
                        .zip(&fill)
                        .map(|((_, s), &f)| Column::for_type(param_type(&s.ty), sized(f)))
                        .collect(),
                    fill_ids,
                    fill_ords,
                    fill,
                }
            })
            .collect();
        for (ord, e) in events.iter().enumerate() {
            let EventBody::Rows(rows) = &e.body else {
                return Err(SinkError::permanent(
                    "the Postgres sink writes mapped rows; this event was not mapped",
                ));
            };
            for row in rows.iter() {
                let t = &mut targets[row.target];
                t.rows += 1;
                if t.fill_ids {
                    t.ids.push(e.id);
                }
                if t.fill_ords {
                    t.ords.push(ord as i64);
                }
                for ((column, value), &fill) in t.values.iter_mut().zip(row.values).zip(&t.fill) {
                    if fill {
                        column.push(value, e.value.as_deref())?;
                    }
                }
            }
        }
        Ok(Self {
            ids: events.iter().map(|e| e.id).collect(),
            topics: events.iter().map(|e| &*e.pos.topic).collect(),
            partitions: events.iter().map(|e| e.pos.partition).collect(),
            offsets: events.iter().map(|e| e.pos.offset).collect(),
            targets,
        })
    }

    /// The `unnest` statement's parameters: the ledger's, then the arrays `layout` sends.
    fn params(&self, layout: &Layout) -> Vec<&(dyn ToSql + Sync)> {
        let mut params: Vec<&(dyn ToSql + Sync)> =
            vec![&self.ids, &self.topics, &self.partitions, &self.offsets];
        params.extend(layout.sent().iter().map(|slot| match *slot {
            Slot::Ids(t) => &self.targets[t].ids as &(dyn ToSql + Sync),
            Slot::Column(t, c) => self.targets[t].values[c].as_sql(),
        }));
        params
    }
}

/// Applies `events` (ids unique within the batch) inside `tx`; returns how many were new.
pub(super) async fn apply(
    tx: &Transaction<'_>,
    path: WritePath,
    statements: &Statements,
    events: &[&ValidEvent],
) -> Result<usize, SinkError> {
    if events.is_empty() {
        return Ok(0);
    }
    let columns = Columns::new(&statements.plan, &statements.layout, path, events)?;
    let fresh: i64 = match path {
        WritePath::Unnest => {
            let stmt = tx.prepare_cached(&statements.unnest).await?;
            tx.query_one(&stmt, &columns.params(&statements.layout))
                .await?
                .get(0)
        }
        WritePath::Copy => {
            staged(tx, statements, &columns).await?;
            let stmt = tx.prepare_cached(&statements.staged).await?;
            tx.query_one(&stmt, &[]).await?.get(0)
        }
    };
    Ok(fresh as usize)
}

/// Makes sure this connection has its staging tables; call outside a transaction (a failed
/// prepare inside one would abort it). The cached statement that reads the stages is proof
/// they exist (parsing it resolves the tables), so after the first batch this costs nothing.
pub(super) async fn prepare_stage(
    client: &deadpool_postgres::Client,
    statements: &Statements,
) -> Result<(), SinkError> {
    if client.prepare_cached(&statements.staged).await.is_err() {
        client.batch_execute(&statements.ddl).await?;
        client.prepare_cached(&statements.staged).await?;
    }
    Ok(())
}

fn copy_type(param: &str) -> Type {
    match param {
        "int8" => Type::INT8,
        "float8" => Type::FLOAT8,
        "bool" => Type::BOOL,
        "uuid" => Type::UUID,
        "timestamptz" => Type::TIMESTAMPTZ,
        "jsonb" => Type::JSONB,
        _ => Type::TEXT,
    }
}

async fn staged(
    tx: &Transaction<'_>,
    statements: &Statements,
    columns: &Columns<'_>,
) -> Result<(), SinkError> {
    let ledger_types = [Type::UUID, Type::TEXT, Type::INT4, Type::INT8];
    let copy = format!("COPY pg_temp.{LEDGER_STAGE} FROM STDIN BINARY");
    let sink = tx.copy_in(&copy).await?;
    let mut writer = std::pin::pin!(BinaryCopyInWriter::new(sink, &ledger_types));
    for i in 0..columns.ids.len() {
        let row: [&(dyn ToSql + Sync); 4] = [
            &columns.ids[i],
            &columns.topics[i],
            &columns.partitions[i],
            &columns.offsets[i],
        ];
        writer.as_mut().write(&row).await?;
    }
    writer.finish().await?;
    for (t, (target, values)) in statements
        .plan
        .targets
        .iter()
        .zip(&columns.targets)
        .enumerate()
    {
        if values.rows == 0 {
            continue;
        }
        let mut types = vec![Type::UUID, Type::INT8];
        types.extend(
            target
                .columns
                .iter()
                .map(|(_, s)| copy_type(param_type(&s.ty))),
        );
        let copy = format!("COPY pg_temp.{} FROM STDIN BINARY", target_stage(t));
        let sink = tx.copy_in(&copy).await?;
        let mut writer = std::pin::pin!(BinaryCopyInWriter::new(sink, &types));
        for i in 0..values.rows {
            let mut row: Vec<&(dyn ToSql + Sync)> = vec![&values.ids[i], &values.ords[i]];
            row.extend(values.values.iter().map(|c| c.at(i)));
            writer.as_mut().write(&row).await?;
        }
        writer.finish().await?;
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn encoded(value: &(dyn ToSql + Sync)) -> Vec<u8> {
        let mut out = BytesMut::new();
        value.to_sql_checked(&Type::TEXT, &mut out).unwrap();
        out.to_vec()
    }

    #[test]
    fn a_span_is_written_from_its_message_and_refused_without_it() {
        let message = b"{\"note\": \"caf\xc3\xa9\"}";
        let span = Typed::Span(10..15);
        let mut column = Column::for_type("text", 2);
        column.push(&span, Some(message)).unwrap();
        let copy = Typed::Text("café".into());
        column.push(&copy, None).unwrap();
        assert_eq!(encoded(column.at(0)), "café".as_bytes());
        assert_eq!(encoded(column.at(1)), encoded(&"café"));
        // Out of range, or no message kept: a refused row, never a wrong one.
        assert!(column.push(&span, None).is_err());
        assert!(column.push(&Typed::Span(10..99), Some(message)).is_err());
        // Written as text only: another type is refused when the statement is bound.
        let mut out = BytesMut::new();
        assert!(Utf8(b"x").to_sql_checked(&Type::BYTEA, &mut out).is_err());
    }
}
