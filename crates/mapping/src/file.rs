//! The mapping file's TOML, read into [`Mapping`] and checked for everything that needs no
//! database: syntax (with line and column), modes, pointers, metadata sources, keys, and two
//! routes writing one table with different keys. Every problem is reported, not just the first.

use crate::pointer::Pointer;
use serde::Deserialize;
use std::collections::BTreeMap;
use std::fmt;

/// What to do with an event no route matches.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum Unrouted {
    /// Skip it, counted as `events_processed_total{result="unrouted"}`.
    #[default]
    Skip,
    /// Send it to the DLQ.
    Dlq,
}

/// How a route writes its table.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Mode {
    /// One new row per event.
    Insert,
    /// Insert, or replace the row with the same key.
    Upsert,
    /// Insert, or add the mapped numeric columns to the row with the same key.
    Increment,
}

/// Where a column's value comes from.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Source {
    /// A JSON pointer into the decoded event.
    Field(Pointer),
    /// `@key`: the message key (UTF-8).
    Key,
    /// `@topic`.
    Topic,
    /// `@partition`.
    Partition,
    /// `@offset`.
    Offset,
    /// `@timestamp`: the message timestamp.
    Timestamp,
    /// `@header:NAME`.
    Header(String),
    /// A constant: any TOML value that is not a string (`review_count = 1`).
    Const(serde_json::Value),
}

impl Source {
    fn parse(raw: &str) -> Result<Self, String> {
        Ok(match raw {
            "@key" => Self::Key,
            "@topic" => Self::Topic,
            "@partition" => Self::Partition,
            "@offset" => Self::Offset,
            "@timestamp" => Self::Timestamp,
            _ if raw.starts_with("@header:") && raw.len() > "@header:".len() => {
                Self::Header(raw["@header:".len()..].to_string())
            }
            _ if raw.starts_with('@') => {
                return Err(format!(
                    "{raw:?} is not a metadata source (@key, @topic, @partition, @offset, \
                     @timestamp, @header:NAME)"
                ))
            }
            _ => Self::Field(Pointer::parse(raw)?),
        })
    }
}

/// One route: events of `topic` that pass `when` become rows of `table`.
#[derive(Debug, Clone, PartialEq)]
pub struct Route {
    /// Source topic; `None` (no `topic`, or `"*"`): every topic the consumer reads.
    pub topic: Option<String>,
    /// Every pointer must hold one of its values (all must match).
    pub when: Vec<(Pointer, Vec<serde_json::Value>)>,
    /// Target table (optionally `schema.table`).
    pub table: String,
    /// How the table is written.
    pub mode: Mode,
    /// Conflict target for upsert and increment.
    pub key: Vec<String>,
    /// The event's unique id for the ledger; `None`: derived from topic, partition and offset.
    pub dedup_id: Option<Pointer>,
    /// Column → source, sorted by column name.
    pub columns: Vec<(String, Source)>,
}

/// A parsed, self-consistent mapping file.
#[derive(Debug, Clone, PartialEq)]
pub struct Mapping {
    /// The routes, in file order.
    pub routes: Vec<Route>,
    /// What happens to an event no route matches.
    pub unrouted: Unrouted,
}

impl Mapping {
    /// Whether any column reads a message header (`@header:NAME`): only then does the source
    /// keep each record's headers.
    pub fn reads_headers(&self) -> bool {
        self.routes
            .iter()
            .flat_map(|r| &r.columns)
            .any(|(_, source)| matches!(source, Source::Header(_)))
    }
}

/// One problem with the file, located where possible.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum MappingError {
    /// Not valid TOML, or not the expected shape.
    #[error("line {line}, column {column}: {message}")]
    Syntax {
        /// 1-based line.
        line: usize,
        /// 1-based column.
        column: usize,
        /// What the TOML reader said.
        message: String,
    },
    /// A route that cannot work as written.
    #[error("route {index} ({table}): {message}")]
    Route {
        /// 1-based position of the route in the file.
        index: usize,
        /// Its table.
        table: String,
        /// What is wrong.
        message: String,
    },
    /// A problem across routes or with the file as a whole.
    #[error("{0}")]
    File(String),
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct RawFile {
    #[serde(default)]
    unrouted: Option<String>,
    #[serde(default)]
    route: Vec<RawRoute>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct RawRoute {
    #[serde(default)]
    topic: Option<String>,
    #[serde(default)]
    when: BTreeMap<String, Vec<toml::Value>>,
    table: String,
    mode: String,
    #[serde(default)]
    key: Vec<String>,
    #[serde(default)]
    dedup_id: Option<String>,
    columns: BTreeMap<String, toml::Value>,
}

/// Reads and checks a mapping file's text; every problem found is returned.
pub fn parse(text: &str) -> Result<Mapping, Vec<MappingError>> {
    let raw: RawFile = toml::from_str(text).map_err(|e| vec![syntax_error(text, &e)])?;
    let mut errors = Vec::new();
    let unrouted = match raw.unrouted.as_deref() {
        None | Some("skip") => Unrouted::Skip,
        Some("dlq") => Unrouted::Dlq,
        Some(other) => {
            errors.push(MappingError::File(format!(
                "unrouted = {other:?}: use \"skip\" or \"dlq\""
            )));
            Unrouted::Skip
        }
    };
    if raw.route.is_empty() {
        errors.push(MappingError::File(
            "no [[route]]: the file maps nothing".to_string(),
        ));
    }
    let routes: Vec<Route> = raw
        .route
        .into_iter()
        .enumerate()
        .filter_map(|(i, r)| match check_route(r) {
            Ok(route) => Some(route),
            Err((table, messages)) => {
                errors.extend(messages.into_iter().map(|message| MappingError::Route {
                    index: i + 1,
                    table: table.clone(),
                    message,
                }));
                None
            }
        })
        .collect();
    for (i, a) in routes.iter().enumerate() {
        for b in &routes[i + 1..] {
            if a.table != b.table {
                continue;
            }
            if a.mode != Mode::Insert && b.mode != Mode::Insert && a.key != b.key {
                errors.push(MappingError::File(format!(
                    "two routes write {} with different keys ({:?} and {:?}): one table has one conflict target",
                    a.table, a.key, b.key
                )));
            } else if a.mode != b.mode || !same_columns(a, b) {
                // Their rows share one statement per batch (one upsert cannot touch a row twice).
                errors.push(MappingError::File(format!(
                    "two routes write {} with different modes or columns: routes into one table \
                     must agree on mode and columns (widen one route's `when` instead)",
                    a.table
                )));
            }
        }
    }
    if errors.is_empty() {
        Ok(Mapping { routes, unrouted })
    } else {
        Err(errors)
    }
}

fn same_columns(a: &Route, b: &Route) -> bool {
    a.columns.len() == b.columns.len() && a.columns.iter().zip(&b.columns).all(|(x, y)| x.0 == y.0)
}

/// Checks one route; on failure returns its table and every problem.
fn check_route(r: RawRoute) -> Result<Route, (String, Vec<String>)> {
    let mut problems = Vec::new();
    let mode = match r.mode.as_str() {
        "insert" => Some(Mode::Insert),
        "upsert" => Some(Mode::Upsert),
        "increment" => Some(Mode::Increment),
        other => {
            problems.push(format!(
                "mode = {other:?} is not a mode (insert, upsert, increment)"
            ));
            None
        }
    };
    if r.topic.as_deref().is_some_and(|t| t.trim().is_empty()) {
        problems.push("topic is empty (leave it out, or \"*\", for every topic)".to_string());
    }
    if r.table.trim().is_empty() {
        problems.push("table is empty".to_string());
    }
    if r.columns.is_empty() {
        problems.push("[route.columns] is empty: the route writes nothing".to_string());
    }
    let mut when = Vec::new();
    for (pointer, values) in r.when {
        match Pointer::parse(&pointer) {
            Ok(p) if values.is_empty() => {
                problems.push(format!("when {p}: the list of accepted values is empty"))
            }
            Ok(p) => when.push((p, values.into_iter().map(toml_to_json).collect())),
            Err(e) => problems.push(format!("when: {e}")),
        }
    }
    let dedup_id = match r.dedup_id.as_deref().map(Pointer::parse).transpose() {
        Ok(p) => p,
        Err(e) => {
            problems.push(format!("dedup_id: {e}"));
            None
        }
    };
    let mut columns = Vec::new();
    for (column, source) in r.columns {
        match source {
            toml::Value::String(source) => match Source::parse(&source) {
                Ok(s) => columns.push((column, s)),
                Err(e) => problems.push(format!("column {column}: {e}")),
            },
            constant => columns.push((column, Source::Const(toml_to_json(constant)))),
        }
    }
    match mode {
        Some(Mode::Upsert | Mode::Increment) if r.key.is_empty() => problems.push(format!(
            "mode = {:?} needs key = [...] (the conflict target)",
            r.mode
        )),
        Some(Mode::Insert) if !r.key.is_empty() => {
            problems.push("key is only used by upsert and increment".to_string())
        }
        _ => {}
    }
    for k in &r.key {
        if !columns.iter().any(|(c, _)| c == k) {
            problems.push(format!("key column {k} is not in [route.columns]"));
        }
    }
    match (mode, problems.is_empty()) {
        (Some(mode), true) => Ok(Route {
            topic: r.topic.filter(|t| t != "*"),
            when,
            table: r.table,
            mode,
            key: r.key,
            dedup_id,
            columns,
        }),
        _ => Err((r.table, problems)),
    }
}

fn toml_to_json(v: toml::Value) -> serde_json::Value {
    match v {
        toml::Value::String(s) => s.into(),
        toml::Value::Integer(i) => i.into(),
        toml::Value::Float(f) => {
            serde_json::Number::from_f64(f).map_or(serde_json::Value::Null, Into::into)
        }
        toml::Value::Boolean(b) => b.into(),
        toml::Value::Datetime(d) => d.to_string().into(),
        toml::Value::Array(a) => a.into_iter().map(toml_to_json).collect(),
        toml::Value::Table(t) => t.into_iter().map(|(k, v)| (k, toml_to_json(v))).collect(),
    }
}

/// The TOML error located by line and column in `text`.
fn syntax_error(text: &str, e: &toml::de::Error) -> MappingError {
    let at = e.span().map_or(0, |s| s.start).min(text.len());
    let before = &text[..at];
    let line = before.matches('\n').count() + 1;
    let column = before.rsplit('\n').next().map_or(0, |l| l.chars().count()) + 1;
    MappingError::Syntax {
        line,
        column,
        message: e.message().to_string(),
    }
}

impl fmt::Display for Mode {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            Self::Insert => "insert",
            Self::Upsert => "upsert",
            Self::Increment => "increment",
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The issue's example, exactly as written.
    const ORDERS: &str = r#"
[[route]]
topic = "orders"
when = { "/type" = ["order.created", "order.updated"] }   # optional: JSON pointer -> accepted values
table = "orders"
mode = "upsert"              # insert | upsert | increment
key = ["order_id"]           # conflict target for upsert/increment
dedup_id = "/id"             # JSON pointer to the event's unique id; absent: derived from topic/partition/offset
[route.columns]
order_id = "/data/order_id"
user_id = "/data/user_id"
status = "/data/status"
amount = "/data/amount"
updated_at = "/timestamp"

[[route]]
topic = "orders"
when = { "/type" = ["order.cancelled"] }
table = "cancellations"
mode = "insert"
dedup_id = "/id"
[route.columns]
event_id = "/id"
order_id = "/data/order_id"
cancelled_at = "/timestamp"
"#;

    fn errors(text: &str) -> Vec<String> {
        parse(text)
            .unwrap_err()
            .iter()
            .map(ToString::to_string)
            .collect()
    }

    #[test]
    fn the_issues_example_parses_as_written() {
        let m = parse(ORDERS).unwrap();
        assert_eq!(m.unrouted, Unrouted::Skip);
        assert_eq!(m.routes.len(), 2);
        let orders = &m.routes[0];
        assert_eq!(
            (orders.table.as_str(), orders.mode),
            ("orders", Mode::Upsert)
        );
        assert_eq!(orders.key, vec!["order_id".to_string()]);
        assert_eq!(orders.when[0].0.as_str(), "/type");
        assert_eq!(
            orders.when[0].1,
            vec![
                serde_json::json!("order.created"),
                serde_json::json!("order.updated")
            ]
        );
        assert_eq!(orders.dedup_id.as_ref().map(Pointer::as_str), Some("/id"));
        assert_eq!(orders.columns.len(), 5);
        assert_eq!(m.routes[1].mode, Mode::Insert);
    }

    #[test]
    fn metadata_sources_and_unrouted_dlq() {
        let m = parse(
            r#"
unrouted = "dlq"
[[route]]
topic = "t"
table = "raw"
mode = "insert"
[route.columns]
k = "@key"
p = "@partition"
o = "@offset"
ts = "@timestamp"
src = "@topic"
trace = "@header:traceparent"
"#,
        )
        .unwrap();
        assert_eq!(m.unrouted, Unrouted::Dlq);
        let sources: Vec<&Source> = m.routes[0].columns.iter().map(|(_, s)| s).collect();
        assert!(sources.contains(&&Source::Header("traceparent".into())));
        assert!(sources.contains(&&Source::Key));
        assert!(m.routes[0].dedup_id.is_none());
        assert!(m.reads_headers());
        assert!(!parse(crate::REVIEWS_MAPPING).unwrap().reads_headers());
    }

    #[test]
    fn syntax_errors_have_a_line_and_column() {
        let e = errors("[[route]]\ntopic = \"t\"\ntable = \n");
        assert_eq!(e.len(), 1);
        assert!(e[0].starts_with("line 3, column"), "{e:?}");
        let e = errors("[[route]]\ntopic = \"t\"\ntable = \"x\"\nmode = \"insert\"\ncolour = 1\n[route.columns]\na = \"/a\"\n");
        assert!(e[0].contains("colour"), "{e:?}");
    }

    #[test]
    fn every_problem_of_every_route_is_reported() {
        let e = errors(
            r#"
unrouted = "drop"
[[route]]
topic = "t"
table = "a"
mode = "merge"
dedup_id = "id"
when = { "type" = ["x"] }
[route.columns]
x = "@nope"
y = "/ok"

[[route]]
topic = "t"
table = "b"
mode = "upsert"
[route.columns]
y = "/y"
"#,
        );
        let all = e.join("\n");
        for needle in [
            "unrouted = \"drop\"",
            "mode = \"merge\" is not a mode",
            "dedup_id: \"id\" is not a JSON pointer",
            "when: \"type\" is not a JSON pointer",
            "column x: \"@nope\" is not a metadata source",
            "route 2 (b): mode = \"upsert\" needs key",
        ] {
            assert!(all.contains(needle), "missing {needle:?} in:\n{all}");
        }
    }

    #[test]
    fn one_table_cannot_have_two_conflict_targets() {
        let text = r#"
[[route]]
topic = "t"
table = "s"
mode = "upsert"
key = ["a"]
[route.columns]
a = "/a"
b = "/b"
[[route]]
topic = "u"
table = "s"
mode = "increment"
key = ["b"]
[route.columns]
a = "/a"
b = "/b"
"#;
        assert!(errors(text)[0].contains("different keys"));
        assert!(errors("")[0].contains("no [[route]]"));
        let key_not_mapped = text.replace("key = [\"b\"]", "key = [\"c\"]");
        assert!(errors(&key_not_mapped)
            .join("\n")
            .contains("key column c is not in"));
    }
}
