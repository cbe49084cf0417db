//! Writes the seed corpus (`fuzz/corpus/<target>/seed-*`): well-formed inputs of every shape
//! the consumer reads, and the bad ones it must refuse, so the fuzzer starts from deep inside
//! each decoder instead of rediscovering JSON and Avro from nothing. Run from `fuzz/`:
//! `cargo run --example seeds`.

use apache_avro::types::{Record, Value};
use apache_avro::writer::datum::GenericDatumWriter;
use apache_avro::Schema;
use std::fs;
use std::path::Path;
use streamsre_fuzz::{AVRO_SCHEMAS, ORDERS_MAPPING};

fn write(target: &str, name: &str, bytes: &[u8]) {
    let dir = Path::new("corpus").join(target);
    fs::create_dir_all(&dir).expect("corpus directory");
    fs::write(dir.join(format!("seed-{name}")), bytes).expect("seed file");
}

const REVIEW: &str = r#"{"event_id":"7d1c6f9e-0000-4000-8000-000000000001","event_type":"review_created","key":"user:7","ts":"2026-01-02T03:04:05.123Z","schema_version":1,"payload":{"review_id":"r-1","rating":4,"text":"ok \" é"}}"#;

fn json_seeds() {
    let order = |kind: &str, amount: &str| {
        format!(
            r#"{{"id":"o-1-{kind}","type":"order.{kind}","timestamp":1767225600123,"data":{{"order_id":"o-1","user_id":"42","status":"{kind}","amount":{amount},"tags":[1,2],"paid":"true"}}}}"#
        )
    };
    let seeds = [
        ("review", REVIEW.to_string()),
        (
            "review-bad-rating",
            REVIEW.replace("\"rating\":4", "\"rating\":9"),
        ),
        (
            "review-v9",
            REVIEW.replace("\"schema_version\":1", "\"schema_version\":9"),
        ),
        (
            "review-nil-id",
            REVIEW.replace(
                "7d1c6f9e-0000-4000-8000-000000000001",
                "00000000-0000-0000-0000-000000000000",
            ),
        ),
        ("order-created", order("created", "12.50")),
        ("order-updated", order("updated", "\"not-a-number\"")),
        ("order-cancelled", order("cancelled", "1e3")),
        ("empty-object", "{}".into()),
        ("array", "[1,\"a\",null,true,{}]".into()),
        ("deep", format!("{}{}", "[".repeat(200), "]".repeat(200))),
        (
            "big-number",
            "{\"data\":{\"user_id\":123456789012345678901234567890}}".into(),
        ),
        (
            "nul",
            "{\"type\":\"order.created\",\"data\":{\"status\":\"a\\u0000b\"}}".into(),
        ),
    ];
    for (name, text) in seeds {
        write("json_event", name, text.as_bytes());
    }
    write("json_event", "not-utf8", b"{\"a\":\"\xff\"}");
}

fn framed(pick: u8, schema: &Schema, value: Value) -> Vec<u8> {
    let mut bytes = vec![pick, 0, 0, 0, 0, 7];
    GenericDatumWriter::builder(schema)
        .build()
        .and_then(|w| w.write_value(&mut bytes, value))
        .expect("seed datum encodes");
    bytes
}

fn avro_seeds() {
    let review = Schema::parse_str(AVRO_SCHEMAS[0]).expect("review schema");
    let Schema::Record(rs) = &review else {
        unreachable!()
    };
    let mut payload = Record::new(&rs.fields[5].schema).expect("payload record");
    payload.put("review_id", "r-1");
    payload.put("rating", 4);
    payload.put("text", "ok");
    let mut r = Record::new(&review).expect("review record");
    r.put("event_id", Value::Uuid(uuid_of(7)));
    r.put("event_type", "review_created");
    r.put("key", "user:1");
    r.put("ts", Value::TimestampMillis(1_767_225_600_123));
    r.put("schema_version", 1);
    r.put("payload", payload);
    let review_bytes = framed(0, &review, r.into());
    write("avro_event", "review", &review_bytes);
    write(
        "avro_event",
        "review-truncated",
        &review_bytes[..review_bytes.len() / 2],
    );
    write(
        "avro_event",
        "json-not-avro",
        &[&[0u8][..], REVIEW.as_bytes()].concat(),
    );

    let every = Schema::parse_str(AVRO_SCHEMAS[1]).expect("everything schema");
    let cell = |v: Value| Value::Record(vec![("v".into(), v)]);
    let some = |d: f64| Value::Union(1, Box::new(Value::Double(d)));
    let null = || Value::Union(0, Box::new(Value::Null));
    let nested = Value::Array(vec![Value::Map(
        [
            ("x".to_string(), cell(some(1.5))),
            ("y".to_string(), cell(null())),
        ]
        .into(),
    )]);
    let fields = vec![
        ("n".into(), Value::Null),
        ("b".into(), Value::Boolean(true)),
        ("i".into(), Value::Int(-3)),
        ("l".into(), Value::Long(1 << 40)),
        ("f".into(), Value::Float(1.5)),
        ("d".into(), Value::Double(-2.25)),
        ("s".into(), Value::String("text".into())),
        ("u".into(), Value::Union(2, Box::new(Value::Long(9)))),
        ("e".into(), Value::Enum(1, "GREEN".into())),
        ("a".into(), Value::Array(vec![Value::Int(1), Value::Int(2)])),
        (
            "m".into(),
            Value::Map([("k".to_string(), Value::String("v".into()))].into()),
        ),
        ("id".into(), Value::Uuid(uuid_of(9))),
        ("tm".into(), Value::TimestampMicros(1_767_225_600_123_456)),
        ("nested".into(), nested),
        ("again".into(), Value::Array(vec![cell(some(-0.5))])),
    ];
    write(
        "avro_event",
        "everything",
        &framed(1, &every, Value::Record(fields)),
    );
    let no_json = Schema::parse_str(AVRO_SCHEMAS[2]).expect("no-json schema");
    let fields = vec![
        ("by".into(), Value::Bytes(vec![1, 2, 3])),
        ("fx".into(), Value::Fixed(4, vec![1, 2, 3, 4])),
        ("dec".into(), Value::Decimal(vec![0x04, 0xd2].into())),
        ("day".into(), Value::Date(20_000)),
    ];
    write(
        "avro_event",
        "no-json",
        &framed(2, &no_json, Value::Record(fields)),
    );

    // A schema carried in the input (pick 3), then its framed value.
    let own = r#"{"type":"record","name":"Order","fields":[{"name":"type","type":"string"},{"name":"data","type":{"type":"map","values":"string"}}]}"#;
    let own_schema = Schema::parse_str(own).expect("own schema");
    let value = Value::Record(vec![
        ("type".into(), Value::String("order.created".into())),
        (
            "data".into(),
            Value::Map([("order_id".to_string(), Value::String("o-1".into()))].into()),
        ),
    ]);
    let mut bytes = vec![3];
    bytes.extend(own.as_bytes());
    bytes.push(0);
    bytes.extend(&framed(0, &own_schema, value)[1..]);
    write("avro_event", "own-schema", &bytes);
}

/// Schemas the consumer refuses (pick 3: the schema text, NUL, then a framed value).
fn refused_schema_seeds() {
    let refused = [
        (
            "null-array",
            r#"{"type":"array","items":"null"}"#,
            vec![0x80, 0x80, 0x80, 0x80, 0x10, 0],
        ),
        (
            "recursive",
            r#"{"type":"record","name":"Node","fields":[{"name":"v","type":"int"},{"name":"next","type":["null","Node"]}]}"#,
            vec![2, 2, 4, 2, 6, 0],
        ),
    ];
    for (name, schema, body) in refused {
        let mut bytes = vec![3];
        bytes.extend(schema.as_bytes());
        bytes.extend([0, 0, 0, 0, 0, 7]);
        bytes.extend(body);
        write("avro_event", name, &bytes);
    }
}

fn uuid_of(n: u128) -> uuid::Uuid {
    uuid::Uuid::from_u128(n)
}

fn mapping_seeds() {
    write(
        "mapping_file",
        "reviews",
        streamsre_mapping::REVIEWS_MAPPING.as_bytes(),
    );
    write("mapping_file", "orders", ORDERS_MAPPING.as_bytes());
    let broken = [
        ("syntax", "[[route]\ntable = \"t\""),
        ("mode", "[[route]]\ntable = \"t\"\nmode = \"merge\"\n[route.columns]\na = \"/a\""),
        ("pointer", "[[route]]\ntable = \"t\"\nmode = \"insert\"\n[route.columns]\na = \"a/b\""),
        ("keys", "[[route]]\ntable = \"t\"\nmode = \"upsert\"\nkey = [\"a\"]\n[route.columns]\na = \"/a\"\n[[route]]\ntable = \"t\"\nmode = \"upsert\"\nkey = [\"b\"]\n[route.columns]\nb = \"/b\""),
        ("metadata", "[[route]]\ntopic = \"*\"\ntable = \"s.t\"\nmode = \"increment\"\nkey = [\"k\"]\n[route.columns]\nk = \"@key\"\nn = 1\nh = \"@header:x\"\np = \"@partition\"\nbad = \"@nope\""),
    ];
    for (name, text) in broken {
        write("mapping_file", name, text.as_bytes());
    }
}

fn coerce_seeds() {
    let values = [
        ("string", "\"abc\""),
        ("int", "42"),
        ("int-string", "\" -42 \""),
        ("decimal", "\"-12.50\""),
        ("exponent", "1e3"),
        ("float", "2.5"),
        ("bool", "\"true\""),
        ("uuid", "\"7d1c6f9e-0000-4000-8000-000000000001\""),
        ("rfc3339", "\"2026-01-02T03:04:05+02:00\""),
        ("epoch-ms", "1767225600123"),
        ("array", "[1, \"2\", null]"),
        ("nested", "[[1], [2, 3]]"),
        ("object", "{\"a\": [1, {\"b\": null}]}"),
        ("huge", "123456789012345678901234567890"),
        ("nul", "\"a\\u0000b\""),
    ];
    for (name, text) in values {
        write("coerce_value", name, text.as_bytes());
    }
}

fn main() {
    json_seeds();
    avro_seeds();
    refused_schema_seeds();
    mapping_seeds();
    coerce_seeds();
}
