//! The fuzz harnesses: each takes the bytes a stranger controls, runs them through the same
//! calls the consumer makes, and asserts what must hold for any input (no panic, a reason for
//! every refusal, rows shaped like their table, encodings that round-trip). The libFuzzer
//! targets in `fuzz_targets/` call these; `tests/corpus.rs` replays the committed corpus
//! through them on stable Rust, so every input that once crashed stays a regression test.

use serde_json::{json, Value};
use std::collections::BTreeMap;
use std::sync::OnceLock;
use streamsre_event::{
    confluent_frame, decode, decode_avro, decode_avro_json, decode_json, decode_json_with, encode,
    writer_schema, AvroSchema, InvalidEvent,
};
use streamsre_mapping::{
    coerce, parse, stage_ddl, statement, ColumnSpec, ColumnType, Doc, Meta, Plan, Rejected, Routed,
    RowSource, Typed, REVIEWS_MAPPING,
};

/// The consumer's default message size limit; a fuzz input is far below it.
const MAX_BYTES: usize = streamsre_event::DEFAULT_MAX_MESSAGE_BYTES;

/// DLQ kinds a mapping may give (`Rejected::kind`).
const MAPPING_KINDS: [&str; 4] = [
    "unrouted",
    "missing_field",
    "type_mismatch",
    "invalid_dedup_id",
];

/// The issue's order lifecycle: upsert into `orders`, insert into `cancellations`.
pub const ORDERS_MAPPING: &str = r#"
unrouted = "dlq"
[[route]]
topic = "orders"
when = { "/type" = ["order.created", "order.updated"] }
table = "orders"
mode = "upsert"
key = ["order_id"]
dedup_id = "/id"
[route.columns]
order_id = "/data/order_id"
user_id = "/data/user_id"
status = "/data/status"
amount = "/data/amount"
tags = "/data/tags"
attrs = "/data"
paid = "/data/paid"
updated_at = "/timestamp"
source = "@header:source"
msg_key = "@key"

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
at_offset = "@offset"
"#;

fn spec(ty: ColumnType, sql_type: &str, not_null: bool) -> ColumnSpec {
    ColumnSpec {
        ty,
        sql_type: sql_type.into(),
        not_null,
    }
}

/// The catalog the shipped migrations and the order test's tables would report.
fn catalog() -> BTreeMap<String, BTreeMap<String, ColumnSpec>> {
    use ColumnType::*;
    let table = |cols: Vec<(&str, ColumnSpec)>| {
        cols.into_iter()
            .map(|(c, s)| (c.to_string(), s))
            .collect::<BTreeMap<_, _>>()
    };
    BTreeMap::from([
        (
            "reviews".to_string(),
            table(vec![
                ("review_id", spec(Text, "text", true)),
                ("event_id", spec(Uuid, "uuid", true)),
                ("user_key", spec(Text, "text", true)),
                ("rating", spec(Int2, "smallint", true)),
                ("text", spec(Text, "text", true)),
                (
                    "created_at",
                    spec(Timestamptz, "timestamp with time zone", true),
                ),
            ]),
        ),
        (
            "user_stats".to_string(),
            table(vec![
                ("user_key", spec(Text, "text", true)),
                ("review_count", spec(Int8, "bigint", true)),
                ("rating_sum", spec(Int8, "bigint", true)),
            ]),
        ),
        (
            "orders".to_string(),
            table(vec![
                ("order_id", spec(Text, "text", true)),
                ("user_id", spec(Int8, "bigint", true)),
                ("status", spec(Text, "text", true)),
                ("amount", spec(Numeric, "numeric(12,2)", false)),
                ("tags", spec(Array(Box::new(Int4)), "integer[]", false)),
                ("attrs", spec(Jsonb, "jsonb", false)),
                ("paid", spec(Bool, "boolean", false)),
                (
                    "updated_at",
                    spec(Timestamptz, "timestamp with time zone", false),
                ),
                ("source", spec(Text, "text", false)),
                ("msg_key", spec(Text, "text", false)),
            ]),
        ),
        (
            "cancellations".to_string(),
            table(vec![
                ("event_id", spec(Uuid, "uuid", true)),
                ("order_id", spec(Text, "text", true)),
                (
                    "cancelled_at",
                    spec(Timestamptz, "timestamp with time zone", true),
                ),
                ("at_offset", spec(Float, "double precision", false)),
            ]),
        ),
    ])
}

fn plan_of(text: &str) -> Plan {
    let mapping = parse(text).expect("a shipped mapping parses");
    Plan::new(&mapping, &catalog()).expect("a shipped mapping plans")
}

/// The two plans every decoded document goes through: the shipped reviews mapping and the
/// order lifecycle.
fn plans() -> &'static [Plan; 2] {
    static PLANS: OnceLock<[Plan; 2]> = OnceLock::new();
    PLANS.get_or_init(|| [plan_of(REVIEWS_MAPPING), plan_of(ORDERS_MAPPING)])
}

/// Routes `doc` through `plan` as a message of `topic` and checks the outcome's shape.
/// Routes `doc` (decoded from `data`) as `plan` does; the consumer's one-pass reader must
/// route `data` to exactly the same rows or reason.
fn check_route(plan: &Plan, doc: &Doc<'_>, data: &[u8], topic: &str) {
    let headers = [("source".to_string(), Some(b"fuzz".to_vec()))];
    let meta = Meta {
        topic,
        partition: 3,
        offset: 42,
        key: Some(b"k\xff"),
        timestamp_ms: Some(1_767_225_600_123),
        headers: &headers,
        value: None,
    };
    let routed = plan.route(doc, &meta);
    let fields = decode_json_with(Some(data), MAX_BYTES, |d| plan.read(d))
        .expect("what decodes as a document is read by the plan too");
    // The consumer keeps the message, so its text columns may be spans of `data`.
    let kept = Meta {
        value: Some(data),
        ..meta
    };
    let read = plan.route_fields(&fields, &kept).map(|r| match r {
        Routed::Rows { id, rows } => Routed::Rows {
            id,
            rows: rows.copied_from(data),
        },
        skipped => skipped,
    });
    assert_eq!(read, routed, "the planned reader and the document disagree");
    match routed {
        Ok(Routed::Skipped) => {}
        Ok(Routed::Rows { rows, .. }) => {
            assert!(!rows.is_empty(), "a matched event yields rows");
            for row in rows.iter() {
                let target = &plan.targets[row.target];
                assert_eq!(row.values.len(), target.columns.len());
                for (value, (column, spec)) in row.values.iter().zip(&target.columns) {
                    assert!(
                        !(spec.not_null && *value == Typed::Null),
                        "NULL for NOT NULL {column}"
                    );
                    assert_typed(value, &spec.ty);
                }
            }
        }
        Err(Rejected { kind, reason }) => {
            assert!(MAPPING_KINDS.contains(&kind), "unknown kind {kind}");
            assert!(reason.starts_with(kind), "{reason}");
        }
    }
}

/// A coerced value has the representation its column type promises, and one Postgres can
/// store (no NUL in text or jsonb).
fn assert_typed(value: &Typed, ty: &ColumnType) {
    let fits = match (value, ty) {
        (Typed::Null, _) => true,
        (Typed::Text(text), ColumnType::Text) => !text.contains('\0'),
        (Typed::Span(_), _) => panic!("a span where the message was not kept"),
        (Typed::Int(n), ColumnType::Int2) => i16::try_from(*n).is_ok(),
        (Typed::Int(n), ColumnType::Int4) => i32::try_from(*n).is_ok(),
        (Typed::Int(_), ColumnType::Int8) => true,
        (Typed::Numeric(text), ColumnType::Numeric) => is_decimal(text),
        (Typed::Float(f), ColumnType::Float) => f.is_finite(),
        (Typed::Bool(_), ColumnType::Bool) => true,
        (Typed::Uuid(_), ColumnType::Uuid) => true,
        (Typed::Timestamp(_), ColumnType::Timestamptz) => true,
        (Typed::Json(json), ColumnType::Jsonb) => !strings_of(json).any(|s| s.contains('\0')),
        (Typed::Array(items), ColumnType::Array(inner)) => {
            items.iter().for_each(|i| assert_typed(i, inner));
            true
        }
        _ => false,
    };
    assert!(fits, "{value:?} does not fit {ty:?}");
}

/// Every string in `value`, object keys included.
fn strings_of(value: &Value) -> Box<dyn Iterator<Item = &str> + '_> {
    match value {
        Value::String(s) => Box::new(std::iter::once(s.as_str())),
        Value::Array(items) => Box::new(items.iter().flat_map(strings_of)),
        Value::Object(map) => Box::new(
            map.iter()
                .flat_map(|(k, v)| std::iter::once(k.as_str()).chain(strings_of(v))),
        ),
        _ => Box::new(std::iter::empty()),
    }
}

/// Text Postgres' numeric input accepts: an optional sign, digits with at most one point, an
/// optional exponent.
fn is_decimal(text: &str) -> bool {
    let (mantissa, exponent) = match text.find(['e', 'E']) {
        Some(i) => (&text[..i], Some(&text[i + 1..])),
        None => (text, None),
    };
    let mantissa = mantissa.strip_prefix(['-', '+']).unwrap_or(mantissa);
    let digits = mantissa.chars().filter(char::is_ascii_digit).count();
    let points = mantissa.chars().filter(|c| *c == '.').count();
    let exponent_ok = exponent.is_none_or(|e| {
        let e = e.strip_prefix(['-', '+']).unwrap_or(e);
        !e.is_empty() && e.chars().all(|c| c.is_ascii_digit())
    });
    digits > 0 && points <= 1 && digits + points == mantissa.len() && exponent_ok
}

fn check_invalid(e: &InvalidEvent) {
    assert!(!e.kind().is_empty());
    assert!(!e.reason().is_empty(), "{e:?} has no reason");
}

/// A message value read as JSON: the review decoder (which must round-trip what it accepts)
/// and the generic decoder through both mappings.
pub fn json_event(data: &[u8]) {
    match decode(Some(data), MAX_BYTES) {
        Ok(event) => {
            let again = decode(Some(&encode(&event)), MAX_BYTES).expect("re-encoded event decodes");
            assert_eq!(again, event, "encode/decode round trip");
        }
        Err(e) => check_invalid(&e),
    }
    let value = decode_json::<Value>(Some(data), MAX_BYTES);
    match decode_json::<Doc<'_>>(Some(data), MAX_BYTES) {
        Ok(doc) => {
            // The borrowed document reads exactly what serde_json's own tree reads.
            assert_eq!(value.ok(), Some(doc.to_value()), "Doc and Value disagree");
            let [reviews, orders] = plans();
            check_route(reviews, &doc, data, "reviews");
            check_route(orders, &doc, data, "orders");
            check_route(orders, &doc, data, "elsewhere");
        }
        Err(e) => {
            check_invalid(&e);
            for plan in plans() {
                let read = decode_json_with(Some(data), MAX_BYTES, |d| plan.read(d));
                assert_eq!(
                    read.err(),
                    Some(e.clone()),
                    "the planned reader accepts what the document refuses"
                );
            }
        }
    }
}

/// Writer schemas the Avro target decodes with: the review event, a record with every Avro
/// type that has a JSON spelling (logical types, nesting, a reused named type), and the types
/// that have none (bytes, fixed, decimal, date: refused with a reason).
pub const AVRO_SCHEMAS: [&str; 3] = [
    r#"{"type":"record","name":"Event","fields":[
        {"name":"event_id","type":{"type":"string","logicalType":"uuid"}},
        {"name":"event_type","type":"string"},
        {"name":"key","type":"string"},
        {"name":"ts","type":{"type":"long","logicalType":"timestamp-millis"}},
        {"name":"schema_version","type":"int"},
        {"name":"payload","type":{"type":"record","name":"Review","fields":[
            {"name":"review_id","type":"string"},{"name":"rating","type":"int"},
            {"name":"text","type":"string"}]}}]}"#,
    r#"{"type":"record","name":"Everything","fields":[
        {"name":"n","type":"null"},
        {"name":"b","type":"boolean"},
        {"name":"i","type":"int"},
        {"name":"l","type":"long"},
        {"name":"f","type":"float"},
        {"name":"d","type":"double"},
        {"name":"s","type":"string"},
        {"name":"u","type":["null","string","long"]},
        {"name":"e","type":{"type":"enum","name":"Colour","symbols":["RED","GREEN"]}},
        {"name":"a","type":{"type":"array","items":"int"}},
        {"name":"m","type":{"type":"map","values":"string"}},
        {"name":"id","type":{"type":"string","logicalType":"uuid"}},
        {"name":"tm","type":{"type":"long","logicalType":"timestamp-micros"}},
        {"name":"nested","type":{"type":"array","items":{"type":"map","values":
            {"type":"record","name":"Cell","fields":[{"name":"v","type":["null","double"]}]}}}},
        {"name":"again","type":{"type":"array","items":"Cell"}}]}"#,
    r#"{"type":"record","name":"NoJson","fields":[
        {"name":"by","type":"bytes"},
        {"name":"fx","type":{"type":"fixed","name":"Four","size":4}},
        {"name":"dec","type":{"type":"bytes","logicalType":"decimal","precision":9,"scale":2}},
        {"name":"day","type":{"type":"int","logicalType":"date"}}]}"#,
];

fn avro_schemas() -> &'static [AvroSchema] {
    static SCHEMAS: OnceLock<Vec<AvroSchema>> = OnceLock::new();
    SCHEMAS.get_or_init(|| {
        AVRO_SCHEMAS
            .iter()
            .map(|s| writer_schema(s).expect("fuzz schema is accepted"))
            .collect()
    })
}

/// A Confluent-framed Avro value. The first byte picks the writer's schema; past the fixed
/// ones, the input carries its own schema text up to the first NUL (a registry's answer is
/// bytes from the network too), and the framed value after it.
pub fn avro_event(data: &[u8]) {
    let Some((&pick, rest)) = data.split_first() else {
        return;
    };
    let schemas = avro_schemas();
    let parsed;
    let (schema, framed) = match schemas.get(usize::from(pick) % (schemas.len() + 1)) {
        Some(schema) => (schema, rest),
        None => {
            let Some(nul) = rest.iter().position(|b| *b == 0) else {
                return;
            };
            let Ok(text) = std::str::from_utf8(&rest[..nul]) else {
                return;
            };
            // A refused schema is the registry's `Unusable` answer, not a crash.
            let Ok(schema) = writer_schema(text) else {
                return;
            };
            parsed = schema;
            (&parsed, &rest[nul + 1..])
        }
    };
    let (id, body) = match confluent_frame(Some(framed), MAX_BYTES) {
        Ok(frame) => frame,
        Err(e) => return check_invalid(&e),
    };
    match decode_avro(id, schema, body) {
        Ok(event) => {
            let again =
                decode(Some(&encode(&event)), MAX_BYTES).expect("an Avro event is valid JSON");
            assert_eq!(again, event);
        }
        Err(e) => check_invalid(&e),
    }
    match decode_avro_json(id, schema, body) {
        Ok(value) => {
            let doc = Doc::from(&value);
            let text = value.to_string();
            let [reviews, orders] = plans();
            check_route(reviews, &doc, text.as_bytes(), "reviews");
            check_route(orders, &doc, text.as_bytes(), "orders");
        }
        Err(e) => check_invalid(&e),
    }
}

/// Every scalar column type the coercion knows.
const SCALARS: [ColumnType; 10] = [
    ColumnType::Text,
    ColumnType::Int2,
    ColumnType::Int4,
    ColumnType::Int8,
    ColumnType::Numeric,
    ColumnType::Float,
    ColumnType::Bool,
    ColumnType::Uuid,
    ColumnType::Timestamptz,
    ColumnType::Jsonb,
];

/// Column types a fuzzed mapping's columns get, picked from the column name so one input
/// always plans the same way.
fn synthetic_type(column: &str) -> ColumnType {
    let h = column.bytes().fold(7usize, |h, b| {
        h.wrapping_mul(31).wrapping_add(usize::from(b))
    });
    let scalar = SCALARS[h % SCALARS.len()].clone();
    if h % 3 == 0 {
        ColumnType::Array(Box::new(scalar))
    } else {
        scalar
    }
}

/// A mapping file's text: parsed, and when it parses, planned against a catalog that has
/// every table and column it names, its SQL written for both write paths, and a document
/// routed through it.
pub fn mapping_file(data: &[u8]) {
    let Ok(text) = std::str::from_utf8(data) else {
        return;
    };
    let mapping = match parse(text) {
        Ok(mapping) => mapping,
        Err(errors) => {
            assert!(!errors.is_empty(), "a refusal names its problems");
            for e in errors {
                assert!(!e.to_string().is_empty());
            }
            return;
        }
    };
    let mut catalog: BTreeMap<String, BTreeMap<String, ColumnSpec>> = BTreeMap::new();
    for route in &mapping.routes {
        let table = catalog.entry(route.table.clone()).or_default();
        for (column, _) in &route.columns {
            let ty = synthetic_type(column);
            let not_null = route.key.contains(column);
            table.insert(column.clone(), spec(ty, "text", not_null));
        }
    }
    let Ok(plan) = Plan::new(&mapping, &catalog) else {
        return;
    };
    for source in [RowSource::Unnest, RowSource::Staged] {
        assert!(!statement(&plan, source).is_empty());
    }
    assert!(!stage_ddl(&plan).is_empty());
    let doc = json!({"id": "7", "type": "a", "data": {"x": 1, "y": [1, "2"], "z": null}});
    let text = doc.to_string();
    for route in &mapping.routes {
        check_route(
            &plan,
            &Doc::from(&doc),
            text.as_bytes(),
            route.topic.as_deref().unwrap_or("any"),
        );
    }
}

/// Every column type the coercion knows, and arrays of each.
fn all_types() -> Vec<ColumnType> {
    let arrays = SCALARS
        .iter()
        .map(|t| ColumnType::Array(Box::new(t.clone())));
    SCALARS.iter().cloned().chain(arrays).collect()
}

/// A JSON value coerced to every column type; what succeeds has its column's shape.
pub fn coerce_value(data: &[u8]) {
    let Ok(value) = serde_json::from_slice::<Doc<'_>>(data) else {
        return;
    };
    for ty in all_types() {
        match coerce(Some(&value), &ty) {
            Ok(typed) => assert_typed(&typed, &ty),
            Err(reason) => assert!(!reason.is_empty()),
        }
    }
}
