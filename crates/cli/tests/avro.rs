//! Avro values through a schema registry, end to end: events written by the real Python
//! `confluent-kafka` `AvroSerializer` (so the Confluent framing is not ours), registered with
//! the registry stand-in (`streamsre_testkit::RegistryStandIn`, since no Confluent-compatible
//! server is packaged here), consumed by the real `streamsre consume --value-format avro`.

mod common;

use common::{
    assert_exactly_once, consumer, fixture, wait_alive, wait_assigned, wait_lag_at_least,
    wait_ready, wait_rows,
};
use std::time::Duration;
use streamsre_testkit::{brokers, kafka_opts, RegistryStandIn, TestDb};

const SCRIPT: &str = concat!(env!("CARGO_MANIFEST_DIR"), "/tests/avro/produce_avro.py");

/// Runs the Python producer: `count` events with writer schema `schema` (see the script).
async fn python_produce(
    registry: &RegistryStandIn,
    topic: &str,
    count: u32,
    schema: &str,
    seed: u32,
) {
    let out = tokio::process::Command::new("python3")
        .arg(SCRIPT)
        .args([
            "--bootstrap",
            &brokers(),
            "--topic",
            topic,
            "--registry",
            &registry.url(),
        ])
        .args([
            "--count",
            &count.to_string(),
            "--schema",
            schema,
            "--seed",
            &seed.to_string(),
        ])
        .output()
        .await
        .expect("python3 (scripts/test-tools.sh installs confluent-kafka and fastavro)");
    assert!(
        out.status.success(),
        "the Python AvroSerializer producer failed (needs pip confluent-kafka fastavro httpx \
         attrs cachetools authlib, installed by scripts/test-tools.sh):\n{}{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
}

fn avro_args(registry: &RegistryStandIn) -> Vec<String> {
    vec![
        "--value-format".into(),
        "avro".into(),
        "--schema-registry-url".into(),
        registry.url(),
    ]
}

fn start_consumer(
    topic: &str,
    group: &str,
    db: &TestDb,
    registry: &RegistryStandIn,
) -> (streamsre_testkit::Proc, String) {
    let args = avro_args(registry);
    let args: Vec<&str> = args.iter().map(String::as_str).collect();
    consumer(topic, group, db, &args)
}

#[tokio::test]
async fn avro_events_from_the_python_serializer_apply_exactly_once_across_writer_schemas() {
    let registry = RegistryStandIn::start().await;
    let (topic, group, db) = fixture().await;
    let (mut consumer, addr) = start_consumer(&topic, &group, &db, &registry);
    wait_assigned(&addr, &mut consumer).await;
    // v1: uuid + timestamp-millis + a field the model lacks; v2: plain strings, RFC 3339 ts;
    // micros: timestamp-micros. Three writer schemas, one reader.
    python_produce(&registry, &topic, 200, "v1", 1).await;
    python_produce(&registry, &topic, 100, "v2", 2).await;
    python_produce(&registry, &topic, 50, "micros", 3).await;
    wait_rows(&db, 350, Duration::from_secs(90)).await;
    assert_exactly_once(&db, 350).await;
    assert_eq!(db.scalar("SELECT count(*) FROM dlq_events").await, 0);
    // Each writer schema was fetched once, then served from the cache.
    assert_eq!(registry.lookups(), 3, "one registry lookup per schema id");
    let ts = db
        .scalar("SELECT count(*) FROM reviews WHERE created_at = '2026-01-01T00:00:01Z'")
        .await;
    assert!(ts >= 1, "timestamps survive the logical types");
}

#[tokio::test]
async fn bad_avro_goes_to_the_dlq_with_a_reason_naming_what_is_wrong_and_its_raw_bytes() {
    let registry = RegistryStandIn::start().await;
    let (topic, group, db) = fixture().await;
    let (mut consumer, addr) = start_consumer(&topic, &group, &db, &registry);
    wait_assigned(&addr, &mut consumer).await;
    // A writer schema without the payload: the review mapping finds no rating (NOT NULL).
    python_produce(&registry, &topic, 5, "broken", 4).await;
    // Raw values: JSON (no magic byte), an id the registry does not know, and a good value cut
    // in half.
    python_produce(&registry, &topic, 1, "v2", 5).await;
    wait_rows(&db, 1, Duration::from_secs(60)).await;
    let good = streamsre_testkit::read_topic(&topic, 6, Duration::from_secs(30))
        .await
        .into_iter()
        .filter_map(|r| r.value)
        // The stand-in numbers schemas in order: "broken" is 1, "v2" is 2.
        .find(|v| v.len() > 5 && v[0] == 0 && v[1..5] == 2u32.to_be_bytes())
        .expect("the v2 message");
    let truncated = good[..good.len() / 2].to_vec();
    let unknown_id = [vec![0u8, 0, 0, 3, 0xe7], good[5..].to_vec()].concat();
    let json = br#"{"event_id":"7d1c6f9e-0000-4000-8000-000000000001"}"#.to_vec();
    let raw = vec![
        (Some(b"k".to_vec()), Some(json.clone())),
        (Some(b"k".to_vec()), Some(unknown_id.clone())),
        (Some(b"k".to_vec()), Some(truncated.clone())),
    ];
    let opts = kafka_opts();
    let t = topic.clone();
    tokio::task::spawn_blocking(move || {
        streamsre_lab::load::send_raw(&opts, &t, &raw, Duration::from_secs(30))
    })
    .await
    .unwrap()
    .unwrap();
    let client = db.client().await;
    let rows = wait_alive(&mut consumer, "8 DLQ rows", Duration::from_secs(60), || {
        let client = &client;
        async move {
            let rows = client
                .query(
                    "SELECT error_kind, reason, raw_payload FROM dlq_events ORDER BY error_kind",
                    &[],
                )
                .await
                .map_err(|e| e.to_string())?;
            if rows.len() >= 8 {
                Ok(rows)
            } else {
                Err(format!("{} rows", rows.len()))
            }
        }
    })
    .await;
    let kinds: Vec<String> = rows.iter().map(|r| r.get::<_, String>(0)).collect();
    let count = |k: &str| kinds.iter().filter(|x| x.as_str() == k).count();
    assert_eq!(count("missing_field"), 5, "{kinds:?}");
    assert_eq!(count("not_confluent_avro"), 1, "{kinds:?}");
    assert_eq!(count("unknown_schema"), 1, "{kinds:?}");
    assert_eq!(count("corrupt_avro"), 1, "{kinds:?}");
    for row in &rows {
        let (kind, reason, raw): (String, String, Option<Vec<u8>>) =
            (row.get(0), row.get(1), row.get(2));
        match kind.as_str() {
            "missing_field" => assert!(reason.contains("/payload/"), "{reason}"),
            "unknown_schema" => {
                assert!(reason.contains("999") && reason.contains("404"), "{reason}");
                assert_eq!(raw.as_deref(), Some(unknown_id.as_slice()));
            }
            "not_confluent_avro" => {
                assert!(reason.contains("magic byte"), "{reason}");
                assert_eq!(raw.as_deref(), Some(json.as_slice()));
            }
            "corrupt_avro" => assert_eq!(raw.as_deref(), Some(truncated.as_slice())),
            other => panic!("unexpected DLQ kind {other}: {reason}"),
        }
    }
    assert_eq!(db.scalar("SELECT count(*) FROM reviews").await, 1);
}

#[tokio::test]
async fn a_registry_outage_is_transient_lag_builds_readyz_names_it_and_nothing_reaches_the_dlq() {
    let mut registry = RegistryStandIn::start().await;
    let (topic, group, db) = fixture().await;
    python_produce(&registry, &topic, 100, "v1", 6).await;
    registry.stop();
    let (mut consumer, addr) = start_consumer(&topic, &group, &db, &registry);
    wait_assigned(&addr, &mut consumer).await;
    let body = wait_ready(&addr, 503, "/readyz to name the schema registry").await;
    assert!(
        body.contains("schema_registry") && body.contains("unavailable"),
        "{body}"
    );
    wait_lag_at_least(&group, &topic, 100, "the backlog to wait for the registry").await;
    assert_eq!(db.scalar("SELECT count(*) FROM reviews").await, 0);
    assert_eq!(
        db.scalar("SELECT count(*) FROM dlq_events").await,
        0,
        "an outage is never a DLQ reason"
    );
    registry.start_again().await;
    wait_rows(&db, 100, Duration::from_secs(90)).await;
    assert_exactly_once(&db, 100).await;
    assert_eq!(db.scalar("SELECT count(*) FROM dlq_events").await, 0);
    wait_ready(&addr, 200, "ready once the registry answers").await;
}
