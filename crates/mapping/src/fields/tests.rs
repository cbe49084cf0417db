use super::*;
use serde_json::{json, Value};

fn pointers(raw: &[&str]) -> Vec<Pointer> {
    raw.iter().map(|p| Pointer::parse(p).unwrap()).collect()
}

/// Each pointer's value as `Pointer::get` finds it in the whole document.
fn expected<'a>(ps: &[Pointer], doc: &Doc<'a>) -> Vec<Option<Doc<'a>>> {
    ps.iter().map(|p| p.get(doc).cloned()).collect()
}

fn by_pointer<'a>(w: &Wanted, ps: &[Pointer], f: &Fields<'a>) -> Vec<Option<Doc<'a>>> {
    ps.iter().map(|p| f.get(w.slot(p)).cloned()).collect()
}

#[test]
fn reading_and_lookup_find_what_pointers_find() {
    let ps = pointers(&[
        "/a",
        "/b/c",
        "/b/d/0",
        "/b/d/1/e",
        "/whole",
        "/whole/x",
        "/list/01",
        "/list/1",
        "/0",
        "/missing/deep",
        "/esc~1aped",
    ]);
    let w = Wanted::new(&ps);
    let texts = [
        r#"{"a": 1, "b": {"c": "two", "d": [3, {"e": null}]}, "whole": {"x": [1], "y": 2},
            "list": [0, 1], "0": "zero", "esc/aped": "\u00e9", "skip": {"deep": [1, {"z": 2}]}}"#,
        // Repeated keys: the last one counts, even where it holds less than the first.
        r#"{"b": {"c": 1, "d": [1, 2]}, "b": {"d": []}, "a": 1, "a": {"k": 2}}"#,
        r#"{"whole": 5, "whole": {"x": "later"}, "b": 7, "list": {"1": "a key, not an index"}}"#,
        r#"[{"a": 1}]"#,
        r#""just a string""#,
        r#"{}"#,
    ];
    for text in texts {
        let doc: Doc<'_> = serde_json::from_str(text).unwrap();
        let want = expected(&ps, &doc);
        let read = w
            .read(&mut serde_json::Deserializer::from_str(text))
            .unwrap();
        assert_eq!(by_pointer(&w, &ps, &read), want, "read {text}");
        assert_eq!(by_pointer(&w, &ps, &w.lookup(&doc)), want, "lookup {text}");
        let value: Value = serde_json::from_str(text).unwrap();
        let from_value = w.read(&value).unwrap();
        assert_eq!(by_pointer(&w, &ps, &from_value), want, "value {text}");
    }
}

#[test]
fn the_whole_document_is_a_field_like_any_other() {
    let ps = pointers(&["", "/a"]);
    let w = Wanted::new(&ps);
    let text = r#"{"a": [1, 2], "b": true}"#;
    let read = w
        .read(&mut serde_json::Deserializer::from_str(text))
        .unwrap();
    assert_eq!(
        read.get(w.slot(&ps[0])).unwrap().to_value(),
        json!({"a": [1, 2], "b": true})
    );
    assert_eq!(read.get(w.slot(&ps[1])).unwrap().to_value(), json!([1, 2]));
}

#[test]
fn keys_compare_equal_exactly_when_their_bytes_do() {
    let keys: Vec<String> = (0..=20)
        .flat_map(|n| {
            let base: String = (0..n)
                .map(|i: usize| char::from(b'a' + (i % 26) as u8))
                .collect();
            // The same length, differing at the first, a middle and the last byte.
            let mut variants = vec![base.clone()];
            for at in [0, n / 2, n.saturating_sub(1)] {
                if n > 0 {
                    let mut v = base.clone().into_bytes();
                    v[at] = b'Z';
                    variants.push(String::from_utf8(v).unwrap());
                }
            }
            variants
        })
        .collect();
    for a in &keys {
        for b in &keys {
            assert_eq!(same_key(a.as_bytes(), b.as_bytes()), a == b, "{a:?} {b:?}");
        }
    }
}

#[test]
fn skipped_parts_are_still_checked_as_json() {
    let w = Wanted::new(&pointers(&["/a"]));
    for bad in [
        r#"{"a": 1, "skip": [1, }"#,
        r#"{"a": 1, "skip": "\x"}"#,
        r#"{"skip": tru, "a": 1}"#,
        // What `IgnoredAny` would let through.
        r#"{"a": 1, "skip": "\ud800"}"#,
        r#"{"a": 1, "skip": [1e400]}"#,
    ] {
        assert!(
            w.read(&mut serde_json::Deserializer::from_str(bad))
                .is_err(),
            "{bad}"
        );
    }
}
