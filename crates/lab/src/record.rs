//! Turning what a process reported at two consecutive seconds into its `timeseries.csv` row:
//! which metric feeds which column, per role. Rates are counter deltas over the time between
//! the two samples; latency percentiles come from the e2e histogram's bucket deltas over the
//! same second (as Prometheus' `histogram_quantile` over a 1 s `rate` would), so a row shows
//! that second's latency, not the run's so far.

use crate::sample::{per_second, Scrape};
use crate::timeseries::Row;
use streamsre_telemetry::metrics::quantile;

/// One sample of one process: when, its `/metrics`, and its RSS from `/proc`.
#[derive(Debug, Clone, Default)]
pub struct Sample {
    /// Seconds since the experiment started.
    pub t_s: f64,
    /// Its `/metrics` at that moment.
    pub scrape: Scrape,
    /// `VmRSS`, if the process was still there.
    pub rss_bytes: Option<f64>,
}

/// What a process is in the experiment, which decides its columns.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Role {
    /// `streamsre consume`.
    Consumer,
    /// `streamsre produce --metrics-addr`.
    Producer,
    /// `streamsre sink`.
    Sink,
}

/// The row for `now`, given the previous sample of the same process (`None` for its first:
/// no rates yet). `role_name` tells apart processes of one role (`consumer-2`).
pub fn row(run: &str, role: Role, role_name: &str, before: Option<&Sample>, now: &Sample) -> Row {
    let rate = |family: &str| {
        let b = before?;
        per_second(
            (b.t_s, b.scrape.sum(family)?),
            (now.t_s, now.scrape.sum(family)?),
        )
    };
    let m = &now.scrape;
    let mut row = Row {
        t_s: now.t_s,
        run: run.to_string(),
        role: role_name.to_string(),
        rss_bytes: now.rss_bytes,
        ..Row::default()
    };
    match role {
        Role::Consumer => {
            let q =
                |q: f64| before.and_then(|b| quantile_ms(&b.scrape, m, "e2e_latency_seconds", q));
            row.lag = m.get("consumer_lag_all_partitions");
            row.consumed_rate = rate("events_consumed_total");
            row.queue_depth = m.get("queue_depth_messages");
            row.heap_bytes = m.get("heap_in_use_bytes");
            row.p50_ms = q(0.5);
            row.p99_ms = q(0.99);
            row.p999_ms = q(0.999);
            row.evictions = m.sum("evictions_total");
            row.shed = m.sum("events_shed_total");
            row.ordering_violations = m.sum("ordering_violations_total");
            row.partitions = m.get("assigned_partitions");
            if let Some(b) = before {
                row.batch_events = mean_between(&b.scrape, m, "sink_batch_size");
                row.linger_ms =
                    mean_between(&b.scrape, m, "sink_batch_linger_seconds").map(|s| s * 1000.0);
            }
        }
        Role::Producer => row.producer_rate = rate("produce_acked_total"),
        Role::Sink => row.sink_rate = rate("sink_service_events_accepted_total"),
    }
    row
}

/// The `q` quantile, in ms, of what histogram `family` observed between two scrapes, linearly
/// interpolated inside its bucket; `None` when nothing was observed in between.
pub fn quantile_ms(before: &Scrape, after: &Scrape, family: &str, q: f64) -> Option<f64> {
    quantile(q, &after.buckets_since(Some(before), family)).map(|s| s * 1000.0)
}

/// The mean of what histogram `family` observed between two scrapes (its `_sum` and `_count`
/// deltas); `None` when nothing was observed in between.
pub fn mean_between(before: &Scrape, after: &Scrape, family: &str) -> Option<f64> {
    let delta = |suffix: &str| {
        let name = format!("{family}_{suffix}");
        Some(after.get(&name)? - before.get(&name).unwrap_or(0.0))
    };
    let count = delta("count")?;
    (count > 0.0).then(|| delta("sum").map(|sum| sum / count))?
}

#[cfg(test)]
mod tests {
    use super::*;

    fn consumer(t: f64, consumed: u64, le_counts: [u64; 3], lag: u64) -> Sample {
        let [a, b, c] = le_counts;
        let text = format!(
            "events_consumed_total {consumed}\nconsumer_lag_all_partitions {lag}\nqueue_depth_messages 7\n\
             heap_in_use_bytes 1000\nevictions_total 1\nordering_violations_total 0\n\
             events_shed_total{{key_class=\"hot\"}} 2\nevents_shed_total{{key_class=\"cold\"}} 3\n\
             e2e_latency_seconds_bucket{{le=\"0.1\"}} {a}\ne2e_latency_seconds_bucket{{le=\"0.2\"}} {b}\n\
             e2e_latency_seconds_bucket{{le=\"+Inf\"}} {c}\n"
        );
        Sample {
            t_s: t,
            scrape: Scrape::parse(&text),
            rss_bytes: Some(5e7),
        }
    }

    #[test]
    fn a_consumer_row_takes_rates_and_this_seconds_latency() {
        // Before: 100 observations, all under 100 ms. In the next 2 s: 100 more, half of them
        // between 100 and 200 ms.
        let before = consumer(10.0, 1000, [100, 100, 100], 40);
        let now = consumer(12.0, 1600, [150, 200, 200], 55);
        let r = row("bounded", Role::Consumer, "consumer", Some(&before), &now);
        assert_eq!(r.consumed_rate, Some(300.0));
        assert_eq!(
            (r.lag, r.queue_depth, r.heap_bytes, r.rss_bytes),
            (Some(55.0), Some(7.0), Some(1000.0), Some(5e7))
        );
        assert_eq!(
            (r.evictions, r.shed, r.ordering_violations),
            (Some(1.0), Some(5.0), Some(0.0))
        );
        // p50 of this window is the 50th of 100: the top of the first bucket.
        assert!((r.p50_ms.unwrap() - 100.0).abs() < 1e-9, "{:?}", r.p50_ms);
        // p99 is the 99th: 49/50 of the way through the second bucket.
        assert!((r.p99_ms.unwrap() - 198.0).abs() < 1e-9, "{:?}", r.p99_ms);
        assert_eq!(
            (r.producer_rate, r.sink_rate),
            (None, None),
            "not a consumer's columns"
        );
        let first = row("bounded", Role::Consumer, "consumer", None, &now);
        assert_eq!(
            (first.consumed_rate, first.p99_ms),
            (None, None),
            "no rate from one sample"
        );
        assert_eq!(first.lag, Some(55.0));
    }

    #[test]
    fn quiet_seconds_and_the_overflow_bucket() {
        let a = consumer(1.0, 0, [5, 5, 5], 0);
        assert_eq!(
            quantile_ms(&a.scrape, &a.scrape, "e2e_latency_seconds", 0.99),
            None,
            "nothing observed"
        );
        let b = consumer(2.0, 0, [5, 5, 15], 0);
        assert_eq!(
            quantile_ms(&a.scrape, &b.scrape, "e2e_latency_seconds", 0.5),
            Some(200.0),
            "+Inf: its lower edge"
        );
    }

    #[test]
    fn producer_and_sink_rows() {
        let p = |t: f64, n: u64| Sample {
            t_s: t,
            scrape: Scrape::parse(&format!("produce_acked_total {n}\n")),
            rss_bytes: None,
        };
        let r = row(
            "burst",
            Role::Producer,
            "producer",
            Some(&p(1.0, 100)),
            &p(2.0, 1600),
        );
        assert_eq!(r.producer_rate, Some(1500.0));
        assert_eq!(r.lag, None);
        let s = |t: f64, n: u64| Sample {
            t_s: t,
            scrape: Scrape::parse(&format!("sink_service_events_accepted_total {n}\n")),
            rss_bytes: None,
        };
        assert_eq!(
            row("burst", Role::Sink, "sink", Some(&s(1.0, 0)), &s(3.0, 1000)).sink_rate,
            Some(500.0)
        );
    }

    /// The names above are the exporters' own: fed by the real metric registries, every
    /// column a role owns is filled (a rename in telemetry or the lab breaks this test).
    #[test]
    fn every_column_is_fed_by_the_real_exporters() {
        let m = streamsre_telemetry::Metrics::new();
        let sample = |t: f64, m: &streamsre_telemetry::Metrics| Sample {
            t_s: t,
            scrape: Scrape::parse(&m.encode()),
            rss_bytes: Some(1.0),
        };
        m.lag_summary(12, 0);
        m.queue_depth(3, 3000);
        m.heap(streamsre_telemetry::HeapStats {
            allocated: 4096,
            resident: 8192,
        });
        m.shed(0);
        m.eviction();
        m.ordering_violations(0);
        let before = sample(1.0, &m);
        m.consumed(500);
        m.e2e_latency(0.05);
        m.batch(40);
        m.batch(60);
        m.batch_linger(0.004);
        m.assigned(3);
        let r = row(
            "r",
            Role::Consumer,
            "consumer",
            Some(&before),
            &sample(2.0, &m),
        );
        for (column, value) in [
            ("lag", r.lag),
            ("consumed_rate", r.consumed_rate),
            ("queue_depth", r.queue_depth),
            ("heap_bytes", r.heap_bytes),
            ("p50_ms", r.p50_ms),
            ("p99_ms", r.p99_ms),
            ("p999_ms", r.p999_ms),
            ("evictions", r.evictions),
            ("shed", r.shed),
            ("ordering_violations", r.ordering_violations),
            ("partitions", r.partitions),
            ("batch_events", r.batch_events),
            ("linger_ms", r.linger_ms),
        ] {
            assert!(value.is_some(), "{column} is empty");
        }
        assert_eq!(r.consumed_rate, Some(500.0));
        assert_eq!(r.batch_events, Some(50.0), "the mean batch of the second");
        assert!(
            (r.linger_ms.unwrap() - 4.0).abs() < 1e-9,
            "{:?}",
            r.linger_ms
        );

        let p = crate::metrics::ProducerMetrics::new(100.0);
        let before = Sample {
            t_s: 0.0,
            scrape: Scrape::parse(&p.encode()),
            rss_bytes: None,
        };
        p.update(10, 10, 0, 0.0);
        let after = Sample {
            t_s: 1.0,
            scrape: Scrape::parse(&p.encode()),
            rss_bytes: None,
        };
        assert_eq!(
            row("r", Role::Producer, "producer", Some(&before), &after).producer_rate,
            Some(10.0)
        );

        let s = crate::metrics::SinkServiceMetrics::new();
        let before = Sample {
            t_s: 0.0,
            scrape: Scrape::parse(&s.encode()),
            rss_bytes: None,
        };
        assert!(
            before
                .scrape
                .sum("sink_service_events_accepted_total")
                .is_some(),
            "the sink's counter exists from the start"
        );
    }
}
