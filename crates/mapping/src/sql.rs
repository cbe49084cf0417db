//! The one statement a batch runs: the ledger insert, then one sub-statement per table that
//! writes only the rows of events the ledger had not seen, all in the caller's transaction.
//!
//! Rows travel as arrays (`unnest`), one array per column (shared where `layout` finds two
//! always equal; none for a column that holds the event id or a constant), typed as
//! [`param_type`] says; each value is cast to its column's own SQL type in the `SELECT`. Within a batch, rows are ordered so that concurrent transactions
//! lock rows in the same order (no deadlocks), an upsert keeps the last row per key by offset
//! (one statement cannot touch a row twice), and an increment sums per key first.

use crate::coerce::{ColumnType, Typed};
use crate::file::Mode;
use crate::layout::{Feed, Layout, Slot};
use crate::plan::{Plan, Target};
use std::fmt::Write;

/// The array element type a column's values are sent as.
pub fn param_type(ty: &ColumnType) -> &'static str {
    match ty {
        ColumnType::Text | ColumnType::Numeric => "text",
        ColumnType::Int2 | ColumnType::Int4 | ColumnType::Int8 => "int8",
        ColumnType::Float => "float8",
        ColumnType::Bool => "bool",
        ColumnType::Uuid => "uuid",
        ColumnType::Timestamptz => "timestamptz",
        ColumnType::Jsonb | ColumnType::Array(_) => "jsonb",
    }
}

/// `value` as a SQL literal of its array's element type (`'1'::int8`), for a constant column:
/// written once into the statement, it is neither encoded nor decoded per row. `None` where
/// text would not round-trip the value exactly as the binary parameter does (a timestamp's
/// sub-microsecond rounding) or the value is an array.
pub fn literal(value: &Typed, ty: &ColumnType) -> Option<String> {
    let param = param_type(ty);
    let text = match value {
        Typed::Null => return Some(format!("NULL::{param}")),
        Typed::Text(s) | Typed::Numeric(s) => s.clone(),
        Typed::Int(n) => n.to_string(),
        Typed::Float(f) => f.to_string(),
        Typed::Bool(b) => b.to_string(),
        Typed::Uuid(u) => u.to_string(),
        Typed::Json(v) => v.to_string(),
        // A span is a field of one event, never a constant.
        Typed::Timestamp(_) | Typed::Array(_) | Typed::Span(_) => return None,
    };
    Some(format!("{}::{param}", quote_literal(&text)))
}

/// A string constant that reads as `text` whatever `standard_conforming_strings` says: with a
/// backslash in it, an escape string (`E'…'`) with the backslashes doubled.
fn quote_literal(text: &str) -> String {
    let quoted = text.replace('\'', "''");
    if text.contains('\\') {
        format!("E'{}'", quoted.replace('\\', "\\\\"))
    } else {
        format!("'{quoted}'")
    }
}

/// Columns an increment adds to; its other columns take the batch's latest value.
pub fn is_numeric(ty: &ColumnType) -> bool {
    matches!(
        ty,
        ColumnType::Int2
            | ColumnType::Int4
            | ColumnType::Int8
            | ColumnType::Numeric
            | ColumnType::Float
    )
}

/// `"name"` or `"schema"."name"`, quoted so any identifier works.
pub fn quote_table(table: &str) -> String {
    table.split('.').map(quote).collect::<Vec<_>>().join(".")
}

/// A quoted identifier.
pub fn quote(ident: &str) -> String {
    format!("\"{}\"", ident.replace('"', "\"\""))
}

/// Where a batch's rows come from.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum RowSource {
    /// Array parameters: `$1..$4` the ledger (ids, topics, partitions, offsets); then the
    /// arrays [`Layout`] sends (targets' event ids, columns).
    Unnest,
    /// The per-connection staging tables of [`stage_ddl`], filled by binary `COPY`.
    Staged,
}

/// The ledger's staging table.
pub const LEDGER_STAGE: &str = "streamsre_stage_ledger";

/// Target `i`'s staging table.
pub fn target_stage(i: usize) -> String {
    format!("streamsre_stage_{i}")
}

/// Creates this connection's staging tables (emptied at every commit).
pub fn stage_ddl(plan: &Plan) -> String {
    let mut sql = format!(
        "CREATE TEMP TABLE IF NOT EXISTS {LEDGER_STAGE} (id uuid, topic text, part int4, off int8) \
         ON COMMIT DELETE ROWS;"
    );
    for (i, t) in plan.targets.iter().enumerate() {
        let columns: Vec<String> = t
            .columns
            .iter()
            .map(|(c, s)| format!(", {} {}", quote(c), param_type(&s.ty)))
            .collect();
        let _ = write!(
            sql,
            "\nCREATE TEMP TABLE IF NOT EXISTS {} (_sr_id uuid, _sr_ord int8{}) ON COMMIT DELETE ROWS;",
            target_stage(i),
            columns.concat()
        );
    }
    sql
}

/// The statement for rows from `source`.
pub fn statement(plan: &Plan, source: RowSource) -> String {
    let layout = Layout::new(plan);
    // With one input (see `Layout::uniform`), the ledger and every table read the same rows.
    let shared = source == RowSource::Unnest && layout.uniform();
    let mut sql = String::from("WITH ");
    let ledger = if shared {
        let mut arrays = vec!["$1::uuid[], $2::text[], $3::int4[], $4::int8[]".to_string()];
        let mut names = vec!["_sr_id, _sr_topic, _sr_part, _sr_off".to_string()];
        for (k, slot) in layout.sent().iter().enumerate() {
            let Slot::Column(t, c) = *slot else {
                unreachable!("a uniform layout sends no id arrays")
            };
            let n = layout.number(Slot::Column(t, c));
            debug_assert_eq!(n, k + 5);
            arrays.push(format!(
                "${n}::{}[]",
                param_type(&plan.targets[t].columns[c].1.ty)
            ));
            names.push(format!("p{n}"));
        }
        let _ = write!(
            sql,
            "input AS (\n    SELECT * FROM unnest({}) WITH ORDINALITY AS i({}, _sr_ord)\n),\n",
            arrays.join(", "),
            names.join(", ")
        );
        "input AS l(id, topic, part, off)".to_string()
    } else {
        match source {
            RowSource::Unnest => {
                "unnest($1::uuid[], $2::text[], $3::int4[], $4::int8[]) AS l(id, topic, part, off)"
                    .to_string()
            }
            RowSource::Staged => format!("pg_temp.{LEDGER_STAGE} AS l"),
        }
    };
    let _ = write!(
        sql,
        "fresh AS (
    INSERT INTO processed_events (event_id, processed_at, source_topic, source_partition, source_offset)
    SELECT id, now(), topic, part, off
    FROM {ledger}
    ORDER BY id
    ON CONFLICT (event_id) DO NOTHING
    RETURNING event_id
)",
    );
    for (i, target) in plan.targets.iter().enumerate() {
        let (rows, refs): (String, Vec<String>) = match source {
            RowSource::Unnest if shared => (
                "input AS i".to_string(),
                fed_refs(i, target, &layout, |n, _| format!("i.p{n}")),
            ),
            RowSource::Unnest => (
                unnest(i, target, &layout),
                fed_refs(i, target, &layout, |_, column| {
                    format!("i.{}", quote(column))
                }),
            ),
            RowSource::Staged => (
                format!("pg_temp.{} AS i", target_stage(i)),
                named_refs(target),
            ),
        };
        let _ = write!(sql, ",\nt{i} AS (\n{}\n)", target_sql(target, &rows, &refs));
    }
    sql.push_str("\nSELECT count(*) FROM fresh");
    sql
}

/// How target `i`'s statement reads each column on the `unnest` path: an array's element as
/// `array(number, column)` names it, the row's event id, or a literal.
fn fed_refs(
    i: usize,
    t: &Target,
    layout: &Layout,
    array: impl Fn(usize, &str) -> String,
) -> Vec<String> {
    (t.columns.iter().enumerate())
        .map(|(c, (column, _))| match layout.feed(i, c) {
            Feed::Array(n) => array(n, column),
            Feed::EventId => "i._sr_id".to_string(),
            Feed::Constant(sql) => sql,
        })
        .collect()
}

/// `i."column"` for each of the target's columns: how its own rows name them.
fn named_refs(t: &Target) -> Vec<String> {
    t.columns
        .iter()
        .map(|(c, _)| format!("i.{}", quote(c)))
        .collect()
}

/// Target `i`'s rows from the array parameters `layout` gives it (its event ids, and each
/// column read from an array); a row's order in the batch is its position in the arrays.
fn unnest(i: usize, t: &Target, layout: &Layout) -> String {
    let mut arrays = vec![format!("${}::uuid[]", layout.number(Slot::Ids(i)))];
    let mut names = vec!["_sr_id".to_string()];
    for (c, (column, spec)) in t.columns.iter().enumerate() {
        if let Feed::Array(n) = layout.feed(i, c) {
            arrays.push(format!("${n}::{}[]", param_type(&spec.ty)));
            names.push(quote(column));
        }
    }
    names.push("_sr_ord".to_string());
    format!(
        "unnest({}) WITH ORDINALITY AS i({})",
        arrays.join(", "),
        names.join(", ")
    )
}

/// One table's sub-statement, reading `rows` (aliased `i`, with `_sr_id` and `_sr_ord`), where
/// `refs[c]` names column `c`'s value.
fn target_sql(t: &Target, rows: &str, refs: &[String]) -> String {
    let value = |c: usize| {
        let (ty, sql_type) = (&t.columns[c].1.ty, &t.columns[c].1.sql_type);
        let c = &refs[c];
        match ty {
            ColumnType::Array(_) => format!(
                "(CASE WHEN {c} IS NULL THEN NULL ELSE ARRAY(SELECT x FROM \
                 jsonb_array_elements_text({c}) WITH ORDINALITY AS e(x, n) ORDER BY n) END)::{sql_type}"
            ),
            _ => format!("{c}::{sql_type}"),
        }
    };
    let columns: Vec<String> = t.columns.iter().map(|(c, _)| quote(c)).collect();
    let keys: Vec<String> = t.key.iter().map(|k| quote(k)).collect();
    let from = format!("FROM {rows}\n    JOIN fresh f ON f.event_id = i._sr_id");
    let table = quote_table(&t.table);
    let head = format!("    INSERT INTO {table} AS t ({})", columns.join(", "));
    // Each column cast to its type: what insert and upsert select (increment aggregates).
    let select = || -> Vec<String> { (0..t.columns.len()).map(value).collect() };
    match t.mode {
        // Rows leave `unnest` (or the stage) in batch order; an insert needs no other.
        Mode::Insert => format!("{head}\n    SELECT {}\n    {from}", select().join(", ")),
        Mode::Upsert => {
            // Key columns come first in a target (see `Plan::new`).
            let distinct = &refs[..t.key.len()];
            let updates: Vec<String> = t
                .columns
                .iter()
                .filter(|(c, _)| !t.key.contains(c))
                .map(|(c, _)| format!("{0} = EXCLUDED.{0}", quote(c)))
                .collect();
            let action = conflict_action(&updates);
            // DISTINCT ON keeps the first row per key in this order: the highest offset.
            format!(
                "{head}\n    SELECT DISTINCT ON ({d}) {s}\n    {from}\n    ORDER BY {d}, i._sr_ord DESC\n    ON CONFLICT ({k}) {action}",
                d = distinct.join(", "),
                s = select().join(", "),
                k = keys.join(", "),
            )
        }
        Mode::Increment => {
            // Key columns come first in a target (see `Plan::new`), so 1..=k group them.
            let select: Vec<String> = t
                .columns
                .iter()
                .enumerate()
                .map(|(i, (c, s))| {
                    if t.key.contains(c) {
                        value(i)
                    } else if is_numeric(&s.ty) {
                        // Summed in the column's own type: integers take Postgres' integer
                        // accumulators, several times cheaper than numeric's.
                        format!("sum({})::{}", value(i), s.sql_type)
                    } else {
                        format!("(array_agg({} ORDER BY i._sr_ord DESC))[1]", value(i))
                    }
                })
                .collect();
            let positions: Vec<String> = (1..=t.key.len()).map(|p| p.to_string()).collect();
            let updates: Vec<String> = t
                .columns
                .iter()
                .filter(|(c, _)| !t.key.contains(c))
                .map(|(c, s)| {
                    if is_numeric(&s.ty) {
                        format!(
                            "{0} = coalesce(t.{0}, 0) + coalesce(EXCLUDED.{0}, 0)",
                            quote(c)
                        )
                    } else {
                        format!("{0} = EXCLUDED.{0}", quote(c))
                    }
                })
                .collect();
            let action = conflict_action(&updates);
            format!(
                "{head}\n    SELECT {}\n    {from}\n    GROUP BY {p}\n    ORDER BY {p}\n    ON CONFLICT ({}) {action}",
                select.join(", "),
                keys.join(", "),
                p = positions.join(", "),
            )
        }
    }
}

/// `DO UPDATE SET …`, or `DO NOTHING` when every column is part of the key.
fn conflict_action(updates: &[String]) -> String {
    if updates.is_empty() {
        "DO NOTHING".to_string()
    } else {
        format!("DO UPDATE SET {}", updates.join(", "))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_constant_is_spelled_so_postgres_reads_it_back_as_it_was() {
        let text = Typed::Text(r"it's a \ note".into());
        assert_eq!(
            literal(&text, &ColumnType::Text).unwrap(),
            r"E'it''s a \\ note'::text"
        );
        assert_eq!(
            literal(&Typed::Text("it's".into()), &ColumnType::Text).unwrap(),
            "'it''s'::text"
        );
        assert_eq!(
            literal(&Typed::Int(-3), &ColumnType::Int4).unwrap(),
            "'-3'::int8"
        );
        assert_eq!(
            literal(&Typed::Null, &ColumnType::Uuid).unwrap(),
            "NULL::uuid"
        );
        let json = Typed::Json(serde_json::json!({"a": "b'c"}));
        assert_eq!(
            literal(&json, &ColumnType::Jsonb).unwrap(),
            r#"'{"a":"b''c"}'::jsonb"#
        );
        let ts = Typed::Timestamp(chrono::DateTime::UNIX_EPOCH);
        assert_eq!(literal(&ts, &ColumnType::Timestamptz), None);
    }
}
