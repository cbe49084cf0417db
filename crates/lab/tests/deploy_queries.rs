//! Every PromQL expression shipped in `deploy/` (Grafana dashboard, Prometheus alerts) may only
//! name metrics the binaries actually export: a panel or alert on a misspelt or removed metric
//! fails the build instead of showing "no data" in production. It lives in the lab crate, the
//! one crate that sees every process's metrics (the consumer's and the lab's own).

use std::collections::BTreeSet;
use std::path::Path;
use streamsre_lab::metrics::{ProducerMetrics, SinkServiceMetrics};
use streamsre_telemetry::metrics::Outcome;
use streamsre_telemetry::Metrics;

fn repo_file(rel: &str) -> String {
    let path = Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("../..")
        .join(rel);
    std::fs::read_to_string(&path).unwrap_or_else(|e| panic!("{}: {e}", path.display()))
}

/// Sample names the binaries export, with every labelled family populated once.
fn exported() -> BTreeSet<String> {
    let m = Metrics::new();
    m.processed(Outcome::Success, 1);
    m.db_query("apply_batch", 0.01);
    m.partition_offsets("events.main", 0, Some(1), 2, 1);
    m.dependency("postgres", true);
    m.shed(0);
    let p = ProducerMetrics::new(1.0);
    let s = SinkServiceMetrics::new();
    let mut names: BTreeSet<String> = [m.encode(), p.encode(), s.encode()]
        .iter()
        .flat_map(|text| text.lines().map(str::to_string).collect::<Vec<_>>())
        .filter(|l| !l.starts_with('#') && !l.is_empty())
        .map(|l| l.split(['{', ' ']).next().unwrap().to_string())
        .collect();
    // Prometheus adds `up` for every scrape target itself.
    names.insert("up".to_string());
    names
}

/// PromQL keywords and aggregation operators (an aggregation may be followed by `by (…)`
/// before its parenthesis, so it is not recognised as a call).
const PROMQL_WORDS: &[&str] = &[
    "by",
    "without",
    "on",
    "ignoring",
    "group_left",
    "group_right",
    "and",
    "or",
    "unless",
    "offset",
    "bool",
    "inf",
    "nan",
    "sum",
    "min",
    "max",
    "avg",
    "count",
    "group",
    "stddev",
    "stdvar",
    "topk",
    "bottomk",
    "quantile",
    "count_values",
];

/// Metric names referenced by a PromQL expression: identifiers that are not functions
/// (followed by `(`), not inside label matchers `{…}` or ranges `[…]`, not grouping labels,
/// and not keywords or numbers.
fn metric_names(expr: &str) -> BTreeSet<String> {
    let mut out = BTreeSet::new();
    let chars: Vec<char> = expr.chars().collect();
    let (mut i, mut braces, mut brackets, mut grouping) = (0, 0, 0, false);
    let mut quote: Option<char> = None;
    while i < chars.len() {
        let c = chars[i];
        if let Some(q) = quote {
            if c == q {
                quote = None;
            }
            i += 1;
            continue;
        }
        match c {
            '"' | '\'' => quote = Some(c),
            '{' => braces += 1,
            '}' => braces -= 1,
            '[' => brackets += 1,
            ']' => brackets -= 1,
            ')' if grouping => grouping = false,
            c if c.is_ascii_alphabetic() || c == '_' || c == ':' => {
                let start = i;
                while i < chars.len()
                    && (chars[i].is_ascii_alphanumeric() || chars[i] == '_' || chars[i] == ':')
                {
                    i += 1;
                }
                let word: String = chars[start..i].iter().collect();
                let next = chars[i..].iter().find(|c| !c.is_whitespace());
                if matches!(word.as_str(), "by" | "without" | "on" | "ignoring") {
                    grouping = true;
                } else if braces == 0
                    && brackets == 0
                    && !grouping
                    && next != Some(&'(')
                    && !PROMQL_WORDS.contains(&word.as_str())
                {
                    out.insert(word);
                }
                continue;
            }
            _ => {}
        }
        i += 1;
    }
    out
}

#[test]
fn the_tokenizer_finds_metrics_and_skips_functions_labels_and_ranges() {
    let names = metric_names(
        r#"histogram_quantile(0.99, sum by (le, topic) (rate(x_bucket{result=~"dlq|fail"}[5m]))) / on (a) y > 0.01 or up == 0"#,
    );
    let expected: BTreeSet<String> = ["x_bucket", "y", "up"]
        .iter()
        .map(|s| s.to_string())
        .collect();
    assert_eq!(names, expected);
}

#[test]
fn every_dashboard_panel_queries_exported_metrics() {
    let exported = exported();
    let dashboard: serde_json::Value =
        serde_json::from_str(&repo_file("deploy/grafana/dashboards/streamsre.json")).unwrap();
    let panels = dashboard["panels"].as_array().expect("panels");
    assert!(panels.len() >= 8, "the seed's panels are all there");
    let mut ids = BTreeSet::new();
    for panel in panels {
        let title = panel["title"].as_str().unwrap();
        assert!(
            ids.insert(panel["id"].as_i64().unwrap()),
            "duplicate panel id in {title}"
        );
        assert!(
            panel["gridPos"]["w"].as_i64().is_some(),
            "{title} has no layout"
        );
        let targets = panel["targets"].as_array().expect("targets");
        assert!(!targets.is_empty(), "{title} has no query");
        for t in targets {
            assert_eq!(t["datasource"]["uid"], "prometheus", "{title}: datasource");
            let expr = t["expr"].as_str().unwrap();
            let names = metric_names(expr);
            assert!(!names.is_empty(), "{title}: no metric in {expr}");
            for name in names {
                assert!(
                    exported.contains(&name),
                    "{title}: {name} is not exported (in {expr})"
                );
            }
        }
    }
    let titles: Vec<&str> = panels
        .iter()
        .map(|p| p["title"].as_str().unwrap())
        .collect();
    for needed in [
        "lag",
        "Processed",
        "latency",
        "Error rate",
        "In-flight",
        "DB query",
        "memory",
    ] {
        assert!(
            titles.iter().any(|t| t.contains(needed)),
            "no panel about {needed}: {titles:?}"
        );
    }
}

#[test]
fn every_alert_queries_exported_metrics() {
    let exported = exported();
    let rules = repo_file("deploy/prometheus/alerts.yml");
    let lines: Vec<&str> = rules.lines().collect();
    let mut exprs = Vec::new();
    for (i, line) in lines.iter().enumerate() {
        let Some(rest) = line.trim_start().strip_prefix("expr:") else {
            continue;
        };
        if rest.trim() == "|" {
            let indent = line.len() - line.trim_start().len();
            let block: Vec<&str> = lines[i + 1..]
                .iter()
                .take_while(|l| l.len() - l.trim_start().len() > indent)
                .map(|l| l.trim())
                .collect();
            exprs.push(block.join(" "));
        } else {
            exprs.push(rest.trim().to_string());
        }
    }
    assert_eq!(
        exprs.len(),
        6,
        "six alerts: lag, error rate, DLQ, not ready, stuck, unowned"
    );
    for expr in exprs {
        for name in metric_names(&expr) {
            assert!(
                exported.contains(&name),
                "alert on {name}, which is not exported: {expr}"
            );
        }
    }
}
