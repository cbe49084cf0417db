//! The Prometheus text format, both ways: [`render`] writes a registry as every process's
//! `/metrics` serves it, and [`Scrape`] reads it back. One parser for `streamsre top`, the
//! lab's sampler and the tests, so all three agree on what a sample is.

use prometheus_client::registry::Registry;
use std::collections::BTreeMap;

/// Renders a registry as Prometheus 0.0.4 text (every process's `/metrics`).
pub fn render(registry: &Registry) -> String {
    let mut out = String::new();
    // Encoding into a String cannot fail (fmt::Write for String is infallible).
    prometheus_client::encoding::text::encode(&mut out, registry)
        .expect("encoding metrics into a String");
    openmetrics_to_prometheus_text(&out)
}

/// Converts prometheus-client's OpenMetrics text into the Prometheus 0.0.4 text format that
/// `/metrics` declares. OpenMetrics names a counter family without `_total` and ends with
/// `# EOF`; in 0.0.4 the family is named like its `_total` sample and there is no EOF marker.
/// Without this, `promtool check metrics` reports every counter as having no help text.
fn openmetrics_to_prometheus_text(text: &str) -> String {
    let counters: std::collections::HashSet<&str> = text
        .lines()
        .filter_map(|l| l.strip_prefix("# TYPE ")?.strip_suffix(" counter"))
        .collect();
    let mut out = String::with_capacity(text.len() + 16 * counters.len());
    for line in text.lines() {
        if line == "# EOF" {
            continue;
        }
        let renamed = ["# HELP ", "# TYPE "].iter().find_map(|prefix| {
            let rest = line.strip_prefix(prefix)?;
            let (name, tail) = rest.split_once(' ')?;
            counters
                .contains(name)
                .then(|| format!("{prefix}{name}_total {tail}"))
        });
        out.push_str(renamed.as_deref().unwrap_or(line));
        out.push('\n');
    }
    out
}

/// One sample: family name, labels, value.
#[derive(Debug, Clone, PartialEq)]
pub struct Sample {
    /// Name as exposed, e.g. `events_processed_total` or `e2e_latency_seconds_bucket`.
    pub name: String,
    /// Label names and values.
    pub labels: BTreeMap<String, String>,
    /// The value.
    pub value: f64,
}

/// One scrape of a `/metrics` endpoint.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct Scrape {
    samples: Vec<Sample>,
}

/// Splits `name{labels}` into the name and the parsed labels. Label values may hold spaces,
/// commas, braces and escaped quotes.
fn parse_series(series: &str) -> Option<(&str, BTreeMap<String, String>)> {
    let Some((name, rest)) = series.split_once('{') else {
        return Some((series, BTreeMap::new()));
    };
    let mut labels = BTreeMap::new();
    let mut chars = rest.chars().peekable();
    loop {
        while chars.next_if(|c| *c == ',' || c.is_whitespace()).is_some() {}
        if chars.next_if_eq(&'}').is_some() {
            return Some((name, labels));
        }
        let key: String = std::iter::from_fn(|| chars.next_if(|c| *c != '=')).collect();
        chars.next_if_eq(&'=')?;
        chars.next_if_eq(&'"')?;
        let mut value = String::new();
        loop {
            match chars.next()? {
                '\\' => match chars.next()? {
                    'n' => value.push('\n'),
                    other => value.push(other),
                },
                '"' => break,
                c => value.push(c),
            }
        }
        labels.insert(key.trim().to_string(), value);
    }
}

/// Where the series ends: after the closing brace of the label set (whose values may hold
/// spaces), or at the first space.
fn series_end(line: &str) -> Option<usize> {
    if !line.contains('{') {
        return line.find(char::is_whitespace);
    }
    let mut in_value = false;
    let mut escaped = false;
    for (i, c) in line.char_indices() {
        match (in_value, escaped, c) {
            (true, true, _) => escaped = false,
            (true, false, '\\') => escaped = true,
            (_, false, '"') => in_value = !in_value,
            (false, _, '}') => return Some(i + 1),
            _ => {}
        }
    }
    None
}

impl Scrape {
    /// Parses Prometheus 0.0.4 text. Comments, blank lines and lines that do not parse are
    /// skipped: a scrape taken while a process starts may be partial, and one odd line must
    /// not lose the rest. A timestamp after the value is ignored.
    pub fn parse(text: &str) -> Self {
        let samples = text
            .lines()
            .map(str::trim)
            .filter(|l| !l.is_empty() && !l.starts_with('#'))
            .filter_map(|line| {
                let end = series_end(line)?;
                let (name, labels) = parse_series(&line[..end])?;
                let value = line[end..].split_whitespace().next()?.parse().ok()?;
                Some(Sample {
                    name: name.to_string(),
                    labels,
                    value,
                })
            })
            .collect();
        Self { samples }
    }

    /// Every sample, in the order exposed.
    pub fn samples(&self) -> &[Sample] {
        &self.samples
    }

    /// One sample by its series as exposed, e.g. `lag` or `events_processed_total{result="dlq"}`
    /// (labels in any order).
    pub fn get(&self, series: &str) -> Option<f64> {
        let (name, labels) = parse_series(series)?;
        self.samples
            .iter()
            .find(|s| s.name == name && s.labels == labels)
            .map(|s| s.value)
    }

    /// The samples named `name`, one per label set.
    pub fn family<'a>(&'a self, name: &'a str) -> impl Iterator<Item = &'a Sample> + 'a {
        self.samples.iter().filter(move |s| s.name == name)
    }

    /// The sum of every sample named `name` (all its label sets); `None` when there is none.
    pub fn sum(&self, name: &str) -> Option<f64> {
        let mut values = self.samples.iter().filter(|s| s.name == name).peekable();
        values.peek()?;
        Some(values.map(|s| s.value).sum())
    }

    /// The sum of the samples named `name` whose labels pass `keep` (0 when none do).
    pub fn sum_where(&self, name: &str, keep: impl Fn(&BTreeMap<String, String>) -> bool) -> f64 {
        self.samples
            .iter()
            .filter(|s| s.name == name && keep(&s.labels))
            .map(|s| s.value)
            .sum()
    }

    /// The cumulative buckets of histogram `histogram` as `(upper bound, count)`, by bound.
    pub fn buckets(&self, histogram: &str) -> Vec<(f64, f64)> {
        let name = format!("{histogram}_bucket");
        let mut buckets: Vec<(f64, f64)> = self
            .samples
            .iter()
            .filter(|s| s.name == name)
            .filter_map(|s| {
                let le = s.labels.get("le")?;
                let le = if le == "+Inf" {
                    f64::INFINITY
                } else {
                    le.parse().ok()?
                };
                Some((le, s.value))
            })
            .collect();
        buckets.sort_by(|a, b| a.0.total_cmp(&b.0));
        buckets
    }
}

impl Scrape {
    /// What histogram `histogram` observed since the scrape `before` (everything, without
    /// one): its cumulative buckets minus those of `before`, by bound.
    pub fn buckets_since(&self, before: Option<&Scrape>, histogram: &str) -> Vec<(f64, f64)> {
        let old = before.map(|b| b.buckets(histogram)).unwrap_or_default();
        self.buckets(histogram)
            .into_iter()
            .map(|(le, n)| {
                let was = old.iter().find(|(l, _)| *l == le).map_or(0.0, |(_, m)| *m);
                (le, n - was)
            })
            .collect()
    }
}

/// The `q` quantile of cumulative `buckets` sorted by bound, interpolated linearly inside its
/// bucket like PromQL's `histogram_quantile`; beyond the last finite bound, that bound. `None`
/// when nothing was observed.
pub fn quantile(q: f64, buckets: &[(f64, f64)]) -> Option<f64> {
    let total = buckets.last()?.1;
    if total <= 0.0 {
        return None;
    }
    let rank = q * total;
    let (mut lower, mut below) = (0.0, 0.0);
    for &(le, count) in buckets {
        if count >= rank {
            if le.is_infinite() {
                return Some(lower);
            }
            let within = if count > below {
                (rank - below) / (count - below)
            } else {
                1.0
            };
            return Some(lower + (le - lower) * within);
        }
        (lower, below) = (le, count);
    }
    Some(lower)
}

#[cfg(test)]
mod tests {
    use super::*;

    const TEXT: &str = r#"# HELP events_processed_total Events.
# TYPE events_processed_total counter
events_processed_total{result="success"} 1200
events_processed_total{result="dlq"} 3
events_processed_total_extra 5
consumer_lag_all_partitions 42
heap_in_use_bytes 1.5e7
note{text="two words } here",b="x\"y"} 7 1700000000000
lat_bucket{le="0.1"} 2
lat_bucket{le="+Inf"} 4
lat_bucket{le="0.2"} 4
broken_line
"#;

    #[test]
    fn samples_by_series_and_families_by_sum() {
        let s = Scrape::parse(TEXT);
        assert_eq!(s.get("consumer_lag_all_partitions"), Some(42.0));
        assert_eq!(s.get(r#"events_processed_total{result="dlq"}"#), Some(3.0));
        assert_eq!(s.get("heap_in_use_bytes"), Some(1.5e7));
        assert_eq!(
            s.sum("events_processed_total"),
            Some(1203.0),
            "another name is another family"
        );
        assert_eq!(
            s.sum_where("events_processed_total", |l| l["result"] == "dlq"),
            3.0
        );
        assert_eq!(
            s.get(r#"note{b="x\"y",text="two words } here"}"#),
            Some(7.0),
            "quoted braces, escapes, any label order; the timestamp is dropped"
        );
        assert_eq!(s.get("broken_line"), None);
        assert_eq!(s.sum("absent_total"), None);
        assert_eq!(Scrape::parse(""), Scrape::default());
    }

    #[test]
    fn histogram_buckets_and_quantiles() {
        let s = Scrape::parse(TEXT);
        let b = s.buckets("lat");
        assert_eq!(b, vec![(0.1, 2.0), (0.2, 4.0), (f64::INFINITY, 4.0)]);
        assert_eq!(quantile(0.5, &b), Some(0.1));
        assert!((quantile(0.75, &b).unwrap() - 0.15).abs() < 1e-9);
        assert_eq!(quantile(0.5, &[(0.1, 0.0), (f64::INFINITY, 0.0)]), None);
        let later = Scrape::parse(
            "lat_bucket{le=\"0.1\"} 2\nlat_bucket{le=\"0.2\"} 10\nlat_bucket{le=\"+Inf\"} 10\n",
        );
        assert_eq!(
            later.buckets_since(Some(&s), "lat"),
            vec![(0.1, 0.0), (0.2, 6.0), (f64::INFINITY, 6.0)]
        );
        assert_eq!(later.buckets_since(None, "lat"), later.buckets("lat"));
        assert_eq!(
            quantile(0.99, &[(0.1, 0.0), (f64::INFINITY, 5.0)]),
            Some(0.1),
            "past the last bound"
        );
    }

    #[test]
    fn what_render_writes_parses_back() {
        let m = crate::Metrics::new();
        m.processed(crate::metrics::Outcome::Success, 7);
        let s = Scrape::parse(&m.encode());
        assert_eq!(
            s.get(r#"events_processed_total{result="success"}"#),
            Some(7.0)
        );
        assert!(s.samples().len() > 20);
    }
}
