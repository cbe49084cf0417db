//! `policy-comparison`: the same 4× overload under each overload policy. Buffer waits (lag on
//! the broker), shed drops what finds no sink slot (counted, summarized on the DLQ topic),
//! slow-source tells the producer the sustainable rate (`produce --adaptive`). After the
//! source stops the sink's limit is lifted and the run drains, so loss is counted exactly:
//! what the producer had acknowledged against what the sink accepted, plus what was shed.

use std::time::Duration;

use super::*;
use crate::criteria;

pub(super) const EXPERIMENT: Experiment = Experiment {
    name: "policy-comparison",
    about: "4x overload under buffer, shed and slow-source: dropped, memory, p99, producer send rate, loss; which SLA each satisfies",
    full: Duration::from_secs(36 * 60),
    run: |lab| Box::pin(run(lab)),
    report,
};

const POLICIES: [&str; 3] = ["buffer", "shed", "slow-source"];
/// The latency SLA of the table, at full scale and quick alike.
const P99_SLA_MS: f64 = 1_000.0;

async fn run(lab: &mut Lab) -> Result<(), Stop> {
    let s = lab.scale;
    let length = s.time(mins(10));
    let asked = s.rate(OVERLOAD_RATE);
    for policy in POLICIES {
        let topic = lab.begin_run(policy).await?;
        let sink = lab.sink(s.rate(SINK_RATE), &[]).await?;
        let extra: &[&str] = match policy {
            // Shed drops only what finds no sink slot; a small in-flight cap makes that the
            // overload rather than nothing.
            "shed" => &[
                "--policy",
                "shed",
                "--queue-cap",
                "256",
                "--max-inflight",
                "256",
            ],
            "slow-source" => &["--policy", "slow-source"],
            _ => &["--policy", "buffer"],
        };
        let addr = lab
            .consumer("consumer", &topic, &format!("lab-{policy}"), &sink, extra)
            .await?;
        let control = format!("http://{addr}/control/rate");
        let mut load = vec![
            "--rate".to_string(),
            rate_arg(asked),
            "--duration".into(),
            arg(length),
        ];
        if policy == "slow-source" {
            load.extend(["--adaptive".into(), "--control-url".into(), control]);
        }
        let load: Vec<&str> = load.iter().map(String::as_str).collect();
        lab.producer(&topic, &load).await?;
        lab.fact("overload_end_s", length.as_secs_f64());
        lab.wait_until("overload", length + Duration::from_secs(60), |lab| {
            !lab.running("producer")
        })
        .await?;
        let produced = lab.acked("producer")?;
        lab.fact("produced", produced);
        lab.post(
            &format!("{sink}/control/rate"),
            serde_json::json!({ "rate": 0 }),
        )
        .await?;
        let written = lab.drain("consumer", Duration::from_secs(180)).await?;
        lab.fact("written", written);
        let shed = lab.latest("consumer", "events_shed_total").unwrap_or(0.0);
        lab.fact("shed", shed);
        lab.end_run().await;
    }
    Ok(())
}

struct Row {
    policy: &'static str,
    produced: f64,
    written: f64,
    shed: f64,
    peak_rss: f64,
    p99: Option<f64>,
    send_share: f64,
}

fn measure(ev: &Evidence, policy: &'static str) -> Option<Row> {
    let produced = ev.fact(policy, "produced")?;
    let end = ev.fact(policy, "overload_end_s")?;
    let during = |col: fn(&crate::timeseries::Row) -> Option<f64>, role| {
        ev.series(policy, role, col)
            .into_iter()
            .filter(|(t, _)| *t <= end)
            .collect::<Vec<_>>()
    };
    let asked = ev.scale.rate(OVERLOAD_RATE);
    Some(Row {
        policy,
        produced,
        written: ev.fact(policy, "written").unwrap_or(0.0),
        shed: ev.fact(policy, "shed").unwrap_or(0.0),
        peak_rss: peak(&ev.series(policy, "consumer", |r| r.rss_bytes)),
        p99: median(&second_half(&during(|r| r.p99_ms, "consumer"))),
        send_share: mean(&second_half(&during(|r| r.producer_rate, "producer"))) / asked,
    })
}

fn report(ev: &Evidence) -> ExperimentReport {
    let s = ev.scale;
    let rows: Vec<Row> = POLICIES.iter().filter_map(|p| measure(ev, p)).collect();
    let header: Vec<String> = [
        "policy",
        "dropped",
        "lost",
        "peak RSS",
        "e2e p99",
        "producer send rate",
        "SLAs satisfied",
    ]
    .iter()
    .map(|h| h.to_string())
    .collect();
    let mut table = Vec::new();
    for r in &rows {
        let loss = (r.produced - r.written - r.shed).max(0.0);
        let mut slas = Vec::new();
        if r.shed == 0.0 && loss == 0.0 {
            slas.push("no loss");
        }
        if r.peak_rss < RSS_LIMIT {
            slas.push("memory < 512 MB");
        }
        if r.p99.is_some_and(|p| p <= P99_SLA_MS) {
            slas.push("p99 <= 1 s");
        }
        if r.send_share >= 0.95 {
            slas.push("producer never slowed");
        }
        table.push(vec![
            format!("`{}`", r.policy),
            format!("{:.0} of {:.0}", r.shed, r.produced),
            format!("{loss:.0}"),
            mib_s(r.peak_rss),
            ms(r.p99),
            format!("{:.0}% of asked", r.send_share * 100.0),
            if slas.is_empty() {
                "none".into()
            } else {
                slas.join(", ")
            },
        ]);
    }
    let p99_of = |p: &str| ms(rows.iter().find(|r| r.policy == p).and_then(|r| r.p99));
    let share_of = |p: &str| {
        rows.iter()
            .find(|r| r.policy == p)
            .map_or(0.0, |r| r.send_share * 100.0)
    };
    let get = |p: &str| rows.iter().find(|r| r.policy == p);
    let mut criteria = vec![criteria::at_least(
        7,
        "policy table complete (policies measured)",
        rows.len() as f64,
        3.0,
    )];
    if let Some(r) = get("buffer") {
        criteria.push(criteria::no_loss(
            7,
            "buffer",
            r.produced as u64,
            r.written as u64,
        ));
    }
    if let Some(r) = get("shed") {
        criteria.push(criteria::shed_accounted(
            7,
            r.produced as u64,
            r.written as u64,
            r.shed as u64,
        ));
    }
    if let Some(r) = get("slow-source") {
        criteria.push(criteria::no_loss(
            7,
            "slow-source",
            r.produced as u64,
            r.written as u64,
        ));
    }
    let rates = chart(
        "Producer send rate under each policy",
        "events/s acknowledged",
        POLICIES
            .iter()
            .map(|p| line(ev, p, p, "producer", |r| r.producer_rate))
            .collect(),
    );
    let memory = chart(
        "Consumer RSS under each policy",
        "MiB",
        POLICIES
            .iter()
            .map(|p| Line {
                label: p.to_string(),
                points: mib(ev.series(p, "consumer", |r| r.rss_bytes)),
            })
            .collect(),
    );
    let p99 = chart(
        "End-to-end p99 (per second) under each policy",
        "ms",
        POLICIES
            .iter()
            .map(|p| line(ev, p, p, "consumer", |r| r.p99_ms))
            .collect(),
    );
    ExperimentReport {
        name: EXPERIMENT.name.into(),
        setup: format!(
            "{} events/s of 512 B asked of the producer for {} s into a {} events/s sink, once per policy; then the sink's limit is lifted and the run drains. Shed runs with `--queue-cap 256 --max-inflight 256`; slow-source with `produce --adaptive` following the consumer's `/control/rate`. The latency SLA is p99 <= 1 s.",
            rate_arg(s.rate(OVERLOAD_RATE)),
            s.time(mins(10)).as_secs(),
            rate_arg(s.rate(SINK_RATE)),
        ),
        figures: Vec::new(),
        table: Some((header, table)),
        charts: vec![
            draw(ev, "producer.png", rates),
            draw(ev, "memory.png", memory),
            draw(ev, "p99.png", p99),
        ],
        finding: format!(
            "Each policy keeps memory bounded; they differ in who pays for the overload. Buffer loses nothing and never slows the producer, and the backlog waits on the broker, so latency grows with it (p99 {}). Shed keeps the wait short by dropping (p99 {}), every drop counted and summarized on the DLQ topic, which fits data whose loss is acceptable (telemetry, metrics). Slow-source loses nothing and keeps latency lowest (p99 {}) by slowing the producer to {:.0}% of what it asked, which needs a producer that listens. **Buffer is the default**: streamsre promises effectively-once delivery, and buffer is the only policy that keeps that promise with any producer; its cost, lag, is visible, alertable and drains by itself once the sink recovers. Shed and slow-source are opt-in for pipelines that can afford loss or own their producer.",
            p99_of("buffer"),
            p99_of("shed"),
            p99_of("slow-source"),
            share_of("slow-source"),
        ),
        criteria,
    }
}
