//! Routing rules of [`Plan`], on plans built from a mapping and a synthetic catalog.

use super::*;
use crate::file::parse;
use crate::rows::Row;
use std::collections::BTreeMap;

/// Routes sharing a topic and `when` are judged once per event; the verdict must still be
/// each route's own: a different `when` or a different topic is judged on its own.
#[test]
fn routes_judged_together_still_take_exactly_their_events() {
    let mapping = parse(
        r#"
        [[route]]
        topic = "t1"
        when = { "/type" = ["a"] }
        table = "x"
        mode = "insert"
        [route.columns]
        v = "/v"

        [[route]]
        topic = "t1"
        when = { "/type" = ["a"] }
        table = "y"
        mode = "insert"
        [route.columns]
        v = "/v"

        [[route]]
        topic = "t2"
        when = { "/type" = ["a"] }
        table = "z"
        mode = "insert"
        [route.columns]
        v = "/v"

        [[route]]
        topic = "t1"
        when = { "/type" = ["b"] }
        table = "z"
        mode = "insert"
        [route.columns]
        v = "/v"
        "#,
    )
    .unwrap();
    let spec = ColumnSpec {
        ty: ColumnType::Text,
        sql_type: "text".into(),
        not_null: false,
    };
    let columns = ["x", "y", "z"]
        .into_iter()
        .map(|t| {
            (
                t.to_string(),
                BTreeMap::from([("v".to_string(), spec.clone())]),
            )
        })
        .collect();
    let plan = Plan::new(&mapping, &columns).unwrap();
    let judged: Vec<usize> = plan.routes.iter().map(|r| r.judged_with).collect();
    assert_eq!(judged, [0, 0, 2, 3]);
    let tables = |topic: &str, ty: &str| {
        let value = serde_json::json!({ "type": ty, "v": "1" });
        let doc = Doc::from(&value);
        let meta = Meta {
            topic,
            partition: 0,
            offset: 0,
            key: None,
            timestamp_ms: None,
            headers: &[],
            value: None,
        };
        match plan.route(&doc, &meta).unwrap() {
            Routed::Rows { rows, .. } => rows
                .iter()
                .map(|r| plan.targets[r.target].table.clone())
                .collect::<Vec<_>>(),
            Routed::Skipped => Vec::new(),
        }
    };
    assert_eq!(tables("t1", "a"), ["x", "y"]);
    assert_eq!(tables("t2", "a"), ["z"]);
    assert_eq!(tables("t1", "b"), ["z"]);
    assert_eq!(tables("t2", "b"), Vec::<String>::new());
    assert_eq!(tables("t1", "c"), Vec::<String>::new());
}

fn text_or_uuid(ty: ColumnType) -> ColumnSpec {
    ColumnSpec {
        sql_type: if ty == ColumnType::Uuid {
            "uuid"
        } else {
            "text"
        }
        .into(),
        ty,
        not_null: true,
    }
}

fn meta(topic: &str) -> Meta<'_> {
    Meta {
        topic,
        partition: 3,
        offset: 9,
        key: None,
        timestamp_ms: None,
        headers: &[],
        value: None,
    }
}

/// A uuid column reading the dedup pointer takes the id the ledger parsed, and a dedup
/// value that is not a UUID (hashed for the ledger) is still refused by that column.
#[test]
fn a_uuid_column_on_the_dedup_pointer_holds_the_parsed_id_and_refuses_other_text() {
    let mapping = parse(
        r#"
        [[route]]
        table = "t"
        mode = "insert"
        dedup_id = "/id"
        [route.columns]
        id = "/id"
        other = "/other"
        "#,
    )
    .unwrap();
    let catalog = BTreeMap::from([(
        "t".to_string(),
        BTreeMap::from([
            ("id".to_string(), text_or_uuid(ColumnType::Uuid)),
            ("other".to_string(), text_or_uuid(ColumnType::Uuid)),
        ]),
    )]);
    let plan = Plan::new(&mapping, &catalog).unwrap();
    assert_eq!(plan.routes[0].is_dedup_uuid, [true, false]);
    let id = Uuid::new_v4();
    let other = Uuid::new_v4();
    let event = serde_json::json!({ "id": id.to_string().to_uppercase(), "other": other });
    assert!(matches!(
        plan.route(&Doc::from(&event), &meta("x")).unwrap(),
        Routed::Rows { id: got, rows } if got == id && rows.iter().collect::<Vec<_>>() == [Row {
            target: 0,
            values: &[Typed::Uuid(id), Typed::Uuid(other)]
        }]
    ));
    let event = serde_json::json!({ "id": "order-7", "other": other });
    let rejected = plan.route(&Doc::from(&event), &meta("x")).unwrap_err();
    assert_eq!(
        rejected.reason,
        r#"type_mismatch: t.id from /id: "order-7" is not a uuid"#
    );
}

/// Past 64 routes the verdicts are kept in a vector; each route still takes its own events.
#[test]
fn a_mapping_with_more_routes_than_bits_in_a_word_routes_each_event_to_its_own() {
    let text: String = (0..70)
        .map(|i| {
            format!(
                "[[route]]\nwhen = {{ \"/n\" = [{i}] }}\ntable = \"t{}\"\nmode = \"insert\"\n\
                 [route.columns]\nv = \"/v\"\n",
                i % 3
            )
        })
        .collect();
    let mapping = parse(&text).unwrap();
    let catalog = (0..3)
        .map(|t| {
            (
                format!("t{t}"),
                BTreeMap::from([("v".to_string(), text_or_uuid(ColumnType::Text))]),
            )
        })
        .collect();
    let plan = Plan::new(&mapping, &catalog).unwrap();
    for n in [0, 63, 64, 65, 69] {
        let event = serde_json::json!({ "n": n, "v": "x" });
        let Routed::Rows { rows, .. } = plan.route(&Doc::from(&event), &meta("x")).unwrap() else {
            panic!("event {n} was skipped");
        };
        let tables: Vec<usize> = rows.iter().map(|r| r.target).collect();
        assert_eq!(tables, [n % 3], "event {n}");
    }
    let event = serde_json::json!({ "n": 70, "v": "x" });
    assert_eq!(
        plan.route(&Doc::from(&event), &meta("x")).unwrap(),
        Routed::Skipped
    );
}

/// A column copying an earlier one of the same type and nullability is left NULL once the
/// plan skips copies, and a NOT NULL copy of a nullable column is not: it must still refuse
/// an event where the value is absent, with its own reason.
#[test]
fn skipped_copies_are_null_and_a_stricter_copy_is_still_checked() {
    let mapping = parse(
        r#"
        [[route]]
        table = "a"
        mode = "insert"
        [route.columns]
        v = "/v"
        w = "/w"

        [[route]]
        table = "b"
        mode = "insert"
        [route.columns]
        v = "/v"
        w = "/w"
        "#,
    )
    .unwrap();
    let nullable = ColumnSpec {
        not_null: false,
        ..text_or_uuid(ColumnType::Text)
    };
    let catalog = BTreeMap::from([
        (
            "a".to_string(),
            BTreeMap::from([
                ("v".to_string(), text_or_uuid(ColumnType::Text)),
                ("w".to_string(), nullable.clone()),
            ]),
        ),
        (
            "b".to_string(),
            BTreeMap::from([
                ("v".to_string(), text_or_uuid(ColumnType::Text)),
                ("w".to_string(), text_or_uuid(ColumnType::Text)),
            ]),
        ),
    ]);
    let mut plan = Plan::new(&mapping, &catalog).unwrap();
    plan.skip_copies();
    let text = |s: &str| Typed::Text(s.into());
    let event = serde_json::json!({ "v": "x", "w": "y" });
    let Routed::Rows { rows, .. } = plan.route(&Doc::from(&event), &meta("t")).unwrap() else {
        panic!("skipped");
    };
    let rows: Vec<&[Typed]> = rows.iter().map(|r| r.values).collect();
    assert_eq!(
        rows,
        [&[text("x"), text("y")][..], &[Typed::Null, text("y")]]
    );
    let event = serde_json::json!({ "v": "x" });
    assert_eq!(
        plan.route(&Doc::from(&event), &meta("t"))
            .unwrap_err()
            .reason,
        "missing_field: b.w from /w: absent, and the column is NOT NULL"
    );
}
