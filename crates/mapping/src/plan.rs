//! A mapping joined with the column types the database reported: what the consumer runs for
//! every event. [`Plan::route`] takes a decoded event and its message metadata and returns the
//! rows it becomes (one per matching route, each already coerced to its table's types) and the
//! id it is deduplicated under, or why it cannot be applied (a DLQ reason).
//!
//! Routes into one table share a [`Target`], so a batch writes each table with one set of
//! arrays and one sub-statement (`crate::sql`). Building a plan, once at start, is in
//! `plan/build.rs`; this file is the per-event path.

use crate::coerce::{coerce_in, ColumnType, Typed};
use crate::doc::Doc;
use crate::fields::{Fields, Wanted};
use crate::file::{Mode, Source, Unrouted};
use crate::matching::Matching;
use crate::pointer::Pointer;
use crate::rows::Rows;
use serde_json::Value;
use std::borrow::Cow;
use uuid::Uuid;

/// A column as the catalog describes it.
#[derive(Debug, Clone, PartialEq)]
pub struct ColumnSpec {
    /// The type values are coerced to.
    pub ty: ColumnType,
    /// Its SQL type as `format_type` prints it (`numeric(12,2)`), for the final cast.
    pub sql_type: String,
    /// `NOT NULL`: an absent value is a DLQ reason, not a failed batch.
    pub not_null: bool,
}

/// One table a mapping writes, and how.
#[derive(Debug, Clone, PartialEq)]
pub struct Target {
    /// Table name as written in the mapping.
    pub table: String,
    /// How it is written.
    pub mode: Mode,
    /// Conflict target (upsert, increment).
    pub key: Vec<String>,
    /// Columns in the order rows carry their values.
    pub columns: Vec<(String, ColumnSpec)>,
}

/// Message metadata a column may take (`@key`, `@topic`, …).
#[derive(Debug, Clone, Copy)]
pub struct Meta<'a> {
    /// Topic.
    pub topic: &'a str,
    /// Partition.
    pub partition: i32,
    /// Offset.
    pub offset: i64,
    /// Message key bytes.
    pub key: Option<&'a [u8]>,
    /// Message timestamp, epoch milliseconds.
    pub timestamp_ms: Option<i64>,
    /// Message headers.
    pub headers: &'a [(String, Option<Vec<u8>>)],
    /// The message value, when it is the JSON text the fields were read from and the caller
    /// keeps it with the event's rows: text columns found in it become [`Typed::Span`]s of it
    /// instead of copies. `None` for any other source (a decoded Avro record, say).
    pub value: Option<&'a [u8]>,
}

/// What an event becomes.
#[derive(Debug, Clone, PartialEq)]
pub enum Routed {
    /// Rows to write, deduplicated under `id`.
    Rows {
        /// The ledger id.
        id: Uuid,
        /// One row per matching route.
        rows: Rows,
    },
    /// No route matched and the mapping says skip.
    Skipped,
}

/// Why an event cannot be applied: `kind` is the DLQ error kind, `reason` the full reason.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Rejected {
    /// `unrouted`, `missing_field`, `type_mismatch`, `invalid_dedup_id`.
    pub kind: &'static str,
    /// `kind: explanation`.
    pub reason: String,
}

impl Rejected {
    fn new(kind: &'static str, detail: impl std::fmt::Display) -> Self {
        Self {
            kind,
            reason: format!("{kind}: {detail}"),
        }
    }
}

struct PlannedRoute {
    topic: Option<String>,
    when: Vec<(Pointer, Vec<Value>)>,
    /// The field slot of each `when` pointer.
    when_slots: Vec<usize>,
    dedup_id: Option<Pointer>,
    dedup_slot: Option<usize>,
    target: usize,
    /// Sources in the target's column order.
    sources: Vec<Source>,
    /// Per column, the value of a constant source, coerced once when planning (a constant
    /// that does not fit is left to fail per event, with the usual reason).
    constants: Vec<Option<Typed>>,
    /// The first route with this route's topic and `when` (itself if none is earlier): routes
    /// splitting one event into several tables are judged once per event.
    judged_with: usize,
    /// Per column, whether it is a `uuid` read from this route's own `dedup_id` pointer: the
    /// ledger id already parsed that text, so it is not parsed again.
    is_dedup_uuid: Vec<bool>,
    /// Per column, how routing fills it: the facts above, folded into one list the per-event
    /// loop walks.
    fills: Vec<Fill>,
}

/// How routing fills one column of a route's row, decided when planning.
#[derive(Debug, Clone)]
enum Fill {
    /// NULL in every row ([`Plan::skip_copies`]).
    Skipped,
    /// A constant, coerced once.
    Constant(Typed),
    /// A field of the event, from its slot; `dedup_uuid` as [`PlannedRoute::is_dedup_uuid`].
    Field { slot: usize, dedup_uuid: bool },
    /// Message metadata, or a constant that did not coerce (it fails per event, with the
    /// usual reason).
    Source,
}

/// A mapping ready to run.
pub struct Plan {
    /// The tables written, one per distinct table.
    pub targets: Vec<Target>,
    routes: Vec<PlannedRoute>,
    unrouted: Unrouted,
    /// Every pointer the routes read, as one tree the parser fills.
    wanted: Wanted,
}

/// Namespace of ids derived from a dedup value or a message position (fixed, so the same event
/// always gets the same id).
const DEDUP_NAMESPACE: Uuid = Uuid::from_u128(0x2d7c_51e4_8a0f_4b6e_b3c1_95fa_07e2_6d38);

impl Plan {
    /// The fields this plan reads, parsed straight from `d` (JSON text, or a
    /// `serde_json::Value`): what the consumer routes.
    pub fn read<'de, D: serde::Deserializer<'de>>(&self, d: D) -> Result<Fields<'de>, D::Error> {
        self.wanted.read(d)
    }

    /// The fields this plan reads, looked up in a document already in memory.
    pub fn fields<'a>(&self, doc: &Doc<'a>) -> Fields<'a> {
        self.wanted.lookup(doc)
    }

    /// The only route that writes target `t`, if only one does.
    fn sole_route(&self, t: usize) -> Option<&PlannedRoute> {
        let mut feeding = self.routes.iter().filter(|r| r.target == t);
        let route = feeding.next()?;
        feeding.next().is_none().then_some(route)
    }

    /// Whether every event that routes at all writes exactly one row into every target (all
    /// routes share one topic and `when`, and each target has one route), so each target's
    /// rows line up one to one with the ledger's: the reviews mapping, and any mapping that
    /// splits one event into several tables.
    pub(crate) fn uniform(&self) -> bool {
        let mut routes = self.routes.iter();
        let first = routes.next();
        routes.all(|r| first.is_some_and(|f| r.topic == f.topic && r.when == f.when))
            && (0..self.targets.len()).all(|t| self.sole_route(t).is_some())
    }

    /// The first target whose rows line up one to one with `t`'s, batch after batch: each is
    /// written by one route, and the two routes take the same events (same topic and `when`).
    /// `t` itself when no earlier target does.
    pub(crate) fn lead_of(&self, t: usize) -> usize {
        let Some(route) = self.sole_route(t) else {
            return t;
        };
        (0..t)
            .find(|&a| {
                self.sole_route(a)
                    .is_some_and(|r| r.topic == route.topic && r.when == route.when)
            })
            .unwrap_or(t)
    }

    /// An earlier column, of `t` or of a target lined up with it, that always holds the same
    /// values as column `c` of `t`: the same source, coerced to the same value.
    pub(crate) fn same_values(&self, t: usize, c: usize) -> Option<(usize, usize)> {
        let route = self.sole_route(t)?;
        let (source, ty) = (&route.sources[c], &self.targets[t].columns[c].1.ty);
        let integer =
            |ty: &ColumnType| matches!(ty, ColumnType::Int2 | ColumnType::Int4 | ColumnType::Int8);
        let lead = self.lead_of(t);
        // Columns in (target, column) order, up to this one, of the targets lined up with `t`.
        (0..=t)
            .filter(|&a| self.lead_of(a) == lead)
            .flat_map(|a| (0..self.targets[a].columns.len()).map(move |b| (a, b)))
            .take_while(|&at| at < (t, c))
            .find(|&(a, b)| {
                let other = &self.targets[a].columns[b].1.ty;
                self.sole_route(a).is_some_and(|r| r.sources[b] == *source)
                    && (other == ty || (integer(other) && integer(ty)))
            })
    }

    /// The value column `c` of `t` takes in every row, when its one route fills it with a
    /// constant that fits the column (coerced once, when planning).
    pub(crate) fn constant(&self, t: usize, c: usize) -> Option<&Typed> {
        self.sole_route(t)?.constants[c].as_ref()
    }

    /// Whether column `c` of `t` always holds its row's ledger id: a `uuid` read from the one
    /// dedup pointer every route names. The ledger parses that text by the same rule, and
    /// where it cannot (not a UUID) the column cannot either, so the event has no rows at all.
    pub(crate) fn is_ledger_id(&self, t: usize, c: usize) -> bool {
        let Some(route) = self.sole_route(t) else {
            return false;
        };
        let mut pointers = self.routes.iter().filter_map(|r| r.dedup_id.as_ref());
        route.is_dedup_uuid[c] && pointers.all(|p| route.dedup_id.as_ref() == Some(p))
    }

    /// Leaves NULL, in every row, each column that holds the same value as an earlier column
    /// of the same type and nullability ([`Plan::same_values`]), instead of coercing that
    /// value twice. For a sink that sends the earlier column's values once for both (the
    /// `unnest` path's [`crate::Layout`]), which then never reads these. DLQ reasons do not
    /// change: the earlier column comes from an earlier route (or is earlier in the same row)
    /// that takes the same events, so it is coerced first, by the same rules.
    pub fn skip_copies(&mut self) {
        let mut copies = Vec::new();
        for (t, target) in self.targets.iter().enumerate() {
            for (c, (_, spec)) in target.columns.iter().enumerate() {
                let Some((a, b)) = self.same_values(t, c) else {
                    continue;
                };
                let earlier = &self.targets[a].columns[b].1;
                if earlier.ty == spec.ty && earlier.not_null == spec.not_null {
                    copies.push((t, c));
                }
            }
        }
        for (t, c) in copies {
            // `same_values` found `t`'s one route.
            if let Some(route) = self.routes.iter_mut().find(|r| r.target == t) {
                route.fills[c] = Fill::Skipped;
            }
        }
    }

    /// The rows `doc` becomes, or why it cannot be applied.
    pub fn route(&self, doc: &Doc<'_>, meta: &Meta<'_>) -> Result<Routed, Rejected> {
        self.route_fields(&self.fields(doc), meta)
    }

    /// The rows an event becomes, from its fields ([`Plan::read`]), or why it cannot be applied.
    pub fn route_fields(&self, fields: &Fields<'_>, meta: &Meta<'_>) -> Result<Routed, Rejected> {
        let matching = self.matching(fields, meta);
        let mut routes = matching.iter().map(|i| &self.routes[i]).peekable();
        if routes.peek().is_none() {
            return match self.unrouted {
                Unrouted::Skip => Ok(Routed::Skipped),
                Unrouted::Dlq => Err(Rejected::new("unrouted", self.why_unrouted(fields, meta))),
            };
        }
        let dedup = routes
            .clone()
            .find_map(|r| r.dedup_id.as_ref().zip(r.dedup_slot));
        let (id, parsed) = dedup_id(dedup.map(|(p, slot)| (p, fields.get(slot))), meta)?;
        // Equal pointers share a slot, so slots compare pointers without comparing text.
        let dedup_slot = dedup.map(|(_, slot)| slot);
        // One buffer of the final size: growing a row of 40-byte values showed in the profile.
        let size = routes.clone().map(|r| r.sources.len()).sum();
        let mut rows = Rows::with_capacity(size);
        for route in routes {
            let target = &self.targets[route.target];
            // The id parsed from the dedup text stands for a column reading the same pointer.
            let reuse_id = parsed && route.dedup_slot == dedup_slot;
            let values = &mut rows;
            for ((fill, (column, spec)), source) in
                route.fills.iter().zip(&target.columns).zip(&route.sources)
            {
                // A field is borrowed from the event; only metadata makes a value here.
                let made;
                let found = match fill {
                    Fill::Skipped => {
                        values.push(Typed::Null);
                        continue;
                    }
                    Fill::Constant(value) => {
                        values.push(value.clone());
                        continue;
                    }
                    Fill::Field {
                        dedup_uuid: true, ..
                    } if reuse_id => {
                        values.push(Typed::Uuid(id));
                        continue;
                    }
                    Fill::Field { slot, .. } => fields.get(*slot),
                    Fill::Source => {
                        made = metadata(source, meta);
                        made.as_ref()
                    }
                };
                let at = || format!("{}.{column} from {}", target.table, shown(source));
                if found.is_none_or(Doc::is_null) && spec.not_null {
                    return Err(Rejected::new(
                        "missing_field",
                        format!("{}: absent, and the column is NOT NULL", at()),
                    ));
                }
                let value = coerce_in(found, &spec.ty, meta.value)
                    .map_err(|e| Rejected::new("type_mismatch", format!("{}: {e}", at())))?;
                values.push(value);
            }
            rows.end_row(route.target);
        }
        Ok(Routed::Rows { id, rows })
    }

    /// The routes that take this event. Routes judged with an earlier one reuse its verdict.
    fn matching(&self, fields: &Fields<'_>, meta: &Meta<'_>) -> Matching {
        let mut matching = Matching::new(self.routes.len());
        for (i, r) in self.routes.iter().enumerate() {
            let pass = if r.judged_with < i {
                matching.contains(r.judged_with)
            } else {
                r.topic.as_deref().is_none_or(|t| t == meta.topic)
                    && (r.when.iter().zip(&r.when_slots))
                        .all(|((_, a), &s)| accepts(fields.get(s), a))
            };
            if pass {
                matching.insert(i);
            }
        }
        matching
    }

    /// Names, for each route of this topic, the first `when` it failed.
    fn why_unrouted(&self, fields: &Fields<'_>, meta: &Meta<'_>) -> String {
        let reasons: Vec<String> = self
            .routes
            .iter()
            .filter(|r| r.topic.as_deref().is_none_or(|t| t == meta.topic))
            .filter_map(|r| {
                let ((p, accepted), value) = (r.when.iter().zip(&r.when_slots))
                    .map(|(w, &s)| (w, fields.get(s)))
                    .find(|((_, a), v)| !accepts(*v, a))?;
                let found = value.map_or("nothing".to_string(), |v| cut(&v.to_string()));
                Some(format!(
                    "{} needs {p} in {}, found {found}",
                    self.targets[r.target].table,
                    Value::from(accepted.clone())
                ))
            })
            .collect();
        if reasons.is_empty() {
            format!("no route reads topic {}", meta.topic)
        } else {
            format!("no route takes this event: {}", reasons.join("; "))
        }
    }
}

/// Whether a `when` filter's pointer found one of the accepted values.
fn accepts(found: Option<&Doc<'_>>, accepted: &[Value]) -> bool {
    found.is_some_and(|v| accepted.iter().any(|a| v == a))
}

/// The ledger id: the dedup value (a UUID as is, anything else hashed into one), or the
/// message's position when the mapping names no dedup pointer; and whether it is the dedup
/// value's own text parsed as a UUID.
fn dedup_id(
    pointer: Option<(&Pointer, Option<&Doc<'_>>)>,
    meta: &Meta<'_>,
) -> Result<(Uuid, bool), Rejected> {
    let Some((pointer, found)) = pointer else {
        let position = format!("{}/{}/{}", meta.topic, meta.partition, meta.offset);
        return Ok((Uuid::new_v5(&DEDUP_NAMESPACE, position.as_bytes()), false));
    };
    // Only a string's own text is what a uuid column reading the same pointer would parse.
    let (text, string) = match found {
        None | Some(Doc::Null) => {
            return Err(Rejected::new(
                "missing_field",
                format!("dedup_id {pointer} is absent"),
            ))
        }
        Some(Doc::String(s)) => (Cow::Borrowed(s.as_ref()), true),
        Some(Doc::Number(n)) => (Cow::Owned(n.to_string()), false),
        Some(v) => {
            return Err(Rejected::new(
                "invalid_dedup_id",
                format!(
                    "dedup_id {pointer} is {}, not a string or number",
                    cut(&v.to_string())
                ),
            ))
        }
    };
    match Uuid::parse_str(&text) {
        Ok(id) if id.is_nil() => Err(Rejected::new(
            "invalid_dedup_id",
            format!("dedup_id {pointer} is the nil UUID (an unset id)"),
        )),
        Ok(id) => Ok((id, string)),
        Err(_) if text.trim().is_empty() => Err(Rejected::new(
            "invalid_dedup_id",
            format!("dedup_id {pointer} is empty"),
        )),
        Err(_) => Ok((Uuid::new_v5(&DEDUP_NAMESPACE, text.as_bytes()), false)),
    }
}

/// The JSON a metadata (or constant) source yields for this event (`None`: nothing there).
/// A field source reads its slot instead, and yields nothing here.
fn metadata<'a>(source: &'a Source, meta: &Meta<'a>) -> Option<Doc<'a>> {
    let text = |b: &'a [u8]| Doc::String(String::from_utf8_lossy(b));
    match source {
        Source::Field(_) => None,
        Source::Const(v) => Some(Doc::from(v)),
        Source::Key => meta.key.map(text),
        Source::Topic => Some(Doc::String(meta.topic.into())),
        Source::Partition => Some(Doc::Number(meta.partition.into())),
        Source::Offset => Some(Doc::Number(meta.offset.into())),
        Source::Timestamp => meta.timestamp_ms.map(|ms| Doc::Number(ms.into())),
        Source::Header(name) => meta
            .headers
            .iter()
            .find(|(n, _)| n == name)
            .and_then(|(_, v)| v.as_deref().map(text)),
    }
}

fn shown(source: &Source) -> String {
    match source {
        Source::Field(p) => p.to_string(),
        Source::Key => "@key".into(),
        Source::Topic => "@topic".into(),
        Source::Partition => "@partition".into(),
        Source::Offset => "@offset".into(),
        Source::Timestamp => "@timestamp".into(),
        Source::Header(n) => format!("@header:{n}"),
        Source::Const(v) => format!("constant {v}"),
    }
}

fn cut(text: &str) -> String {
    match text.char_indices().nth(60) {
        Some((i, _)) => format!("{}…", &text[..i]),
        None => text.to_string(),
    }
}

mod build;
#[cfg(test)]
mod tests;
