//! `unbounded-vs-bounded`: the same 4× overload into an unbounded queue and a bounded one. The
//! unbounded consumer runs under a hard address-space cap, so it dies at the cliff; just
//! before, its heap profile is saved and reduced to the sites holding the bytes. The bounded
//! one turns the same overload into broker lag while its memory stays flat.

use std::time::Duration;

use super::*;
use crate::criteria;
use crate::runner::heap;
use crate::sample::{cap_address_space, vm_size_bytes};
use crate::scale::Scale;

pub(super) const EXPERIMENT: Experiment = Experiment {
    name: "unbounded-vs-bounded",
    about: "4x overload: an unbounded queue grows until it dies at its memory cap (heap profile saved); a bounded one stays flat and turns it into lag",
    full: Duration::from_secs(40 * 60),
    run: |lab| Box::pin(run(lab)),
    report,
};

/// Address space the unbounded consumer may add after start before it dies.
fn headroom(scale: Scale) -> u64 {
    match scale {
        Scale::Full => 1 << 30,
        Scale::Quick | Scale::Tiny => 128 << 20,
    }
}

/// The heap profile is taken again each time the consumer has used another tenth of its
/// headroom; the last one that succeeds before the cap is the autopsy. (Near the cap, dumping
/// and symbolizing a profile, which maps the binary's debug info, fails itself; one taken at
/// a fixed threshold risked coming too late or too early.)
const PROFILE_EVERY: f64 = 0.1;
/// The bounded run's length at full scale: its RSS band is judged on the second half, which
/// 20 minutes (2 at quick scale) gives well after the prefetch has filled, and it keeps the
/// experiment within 5 minutes at quick scale together with the unbounded run.
const BOUNDED_MINUTES: u64 = 20;
/// The bounded run's queue capacity (the specification's 10,000).
const QUEUE_CAP: &str = "10000";
const PROFILE: &str = "unbounded-heap.pb";
const SITES: &str = "heap-sites.csv";

async fn run(lab: &mut Lab) -> Result<(), Stop> {
    let s = lab.scale;
    let length = s.time(mins(30));
    let bounded_length = s.time(mins(BOUNDED_MINUTES));
    let (sink_rate, source) = (s.rate(SINK_RATE), s.rate(OVERLOAD_RATE));
    let load = [
        "--rate".to_string(),
        rate_arg(source),
        "--duration".into(),
        arg(length),
    ];
    let load: Vec<&str> = load.iter().map(String::as_str).collect();

    let topic = lab.begin_run("unbounded").await?;
    let sink = lab.sink(sink_rate, &[]).await?;
    lab.consumer(
        "consumer",
        &topic,
        "lab-unbounded",
        &sink,
        &["--queue", "unbounded"],
    )
    .await?;
    let pid = lab
        .pid("consumer")
        .ok_or_else(|| Stop::Failed("the unbounded consumer is gone".into()))?;
    let start_vm = vm_size_bytes(pid).map_err(|e| Stop::Failed(format!("VmSize: {e}")))?;
    let cap = start_vm as u64 + headroom(s);
    cap_address_space(pid, cap).map_err(|e| Stop::Failed(format!("prlimit: {e}")))?;
    lab.fact("cap_bytes", cap as f64);
    lab.producer(&topic, &load).await?;
    lab.announce("overload until the cap or the end", length);
    let mut next_profile = PROFILE_EVERY;
    while lab.t() < length.as_secs_f64() {
        if !lab.running("consumer") {
            let t = lab.t();
            lab.fact("died_at_s", t);
            break;
        }
        let used = (vm_size_bytes(pid).unwrap_or(0.0) - start_vm) / headroom(s) as f64;
        if used >= next_profile {
            if save_profile(lab).await {
                lab.fact("profile_saved", 1.0);
                lab.fact("profile_at_headroom_share", used);
            }
            next_profile = (used / PROFILE_EVERY).floor() * PROFILE_EVERY + PROFILE_EVERY;
        }
        lab.tick().await?;
    }
    lab.end_run().await;

    let topic = lab.begin_run("bounded").await?;
    let sink = lab.sink(sink_rate, &[]).await?;
    lab.consumer(
        "consumer",
        &topic,
        "lab-bounded",
        &sink,
        &["--queue", "bounded", "--queue-cap", QUEUE_CAP],
    )
    .await?;
    let load = [
        "--rate".to_string(),
        rate_arg(source),
        "--duration".into(),
        arg(bounded_length),
    ];
    let load: Vec<&str> = load.iter().map(String::as_str).collect();
    lab.producer(&topic, &load).await?;
    lab.phase("overload", bounded_length).await?;
    lab.end_run().await;
    Ok(())
}

/// Saves the consumer's heap profile and its top sites; false if the consumer could not give
/// one (it is busy dying, which the criterion then reports).
async fn save_profile(lab: &mut Lab) -> bool {
    let Some(addr) = lab.debug_addr("consumer").map(str::to_string) else {
        return false;
    };
    let Ok(profile) = lab.get(&addr, "/debug/pprof/heap").await else {
        return false;
    };
    // Replace the previous autopsy only with a complete one.
    let Ok(sites) = heap::top_sites(&profile, 8) else {
        return false;
    };
    let dir = lab.dir().to_path_buf();
    let tmp = dir.join(format!("{SITES}.tmp"));
    let written = (|| -> Result<(), Box<dyn std::error::Error>> {
        let mut w = csv::Writer::from_path(&tmp)?;
        w.write_record(["site", "bytes"])?;
        for (site, bytes) in &sites {
            w.write_record([site.as_str(), &format!("{bytes:.0}")])?;
        }
        w.flush()?;
        std::fs::write(dir.join(PROFILE), &profile)?;
        std::fs::rename(&tmp, dir.join(SITES))?;
        Ok(())
    })();
    written.is_ok()
}

fn sites(ev: &Evidence) -> Vec<(String, f64)> {
    let Ok(mut r) = csv::Reader::from_path(ev.dir.join(SITES)) else {
        return Vec::new();
    };
    r.records()
        .filter_map(Result::ok)
        .filter_map(|rec| Some((rec.get(0)?.to_string(), rec.get(1)?.parse().ok()?)))
        .collect()
}

fn report(ev: &Evidence) -> ExperimentReport {
    let s = ev.scale;
    let rss = |run| ev.series(run, "consumer", |r| r.rss_bytes);
    let heap = |run| ev.series(run, "consumer", |r| r.heap_bytes);
    let lag = |run| ev.series(run, "consumer", |r| r.lag);
    let died = ev.fact("unbounded", "died_at_s");
    let saved = ev.fact("unbounded", "profile_saved") == Some(1.0);
    let bounded_rss = rss("bounded");
    let bounded_lag = lag("bounded");
    let lag_slope = criteria::slope(&second_half(&bounded_lag));
    let overload = s.rate(OVERLOAD_RATE) - s.rate(SINK_RATE);
    let sites = sites(ev);

    let mut criteria = vec![
        criteria::grows_then_dies(
            1,
            &heap("unbounded"),
            64.0 * 1048576.0,
            died.is_some(),
            saved,
        ),
        criteria::flat(2, "bounded RSS", &bounded_rss, FLAT_TOLERANCE),
        criteria::stays_below(2, "bounded RSS", &bounded_rss, RSS_LIMIT),
    ];
    criteria.push(criteria::at_least(
        2,
        "bounded: the overload goes to the broker as lag (lag slope, events/s, at least half the excess)",
        lag_slope,
        overload / 2.0,
    ));

    let memory = chart(
        "Memory under 4x overload: unbounded vs bounded",
        "MiB",
        vec![
            Line {
                label: "unbounded heap".into(),
                points: mib(heap("unbounded")),
            },
            Line {
                label: "unbounded RSS".into(),
                points: mib(rss("unbounded")),
            },
            Line {
                label: "bounded heap".into(),
                points: mib(heap("bounded")),
            },
            Line {
                label: "bounded RSS".into(),
                points: mib(bounded_rss.clone()),
            },
        ],
    );
    let producer = chart(
        "Producer send rate (open model: the broker absorbs it)",
        "events/s acknowledged",
        vec![
            line(ev, "unbounded", "unbounded", "producer", |r| {
                r.producer_rate
            }),
            line(ev, "bounded", "bounded", "producer", |r| r.producer_rate),
        ],
    );
    let lag_chart = chart(
        "Consumer lag",
        "messages",
        vec![
            Line {
                label: "unbounded".into(),
                points: lag("unbounded"),
            },
            Line {
                label: "bounded".into(),
                points: bounded_lag.clone(),
            },
        ],
    );
    let mut figures = vec![
        fig("unbounded: peak heap", mib_s(peak(&heap("unbounded")))),
        fig("unbounded: peak RSS", mib_s(peak(&rss("unbounded")))),
        fig(
            "unbounded: died at",
            died.map_or("did not die".into(), |t| {
                format!(
                    "{t:.0} s (address-space cap {})",
                    mib_s(ev.fact("unbounded", "cap_bytes").unwrap_or(0.0))
                )
            }),
        ),
        fig("bounded: RSS band (second half)", {
            let h = second_half(&bounded_rss);
            let lo = h.iter().map(|(_, v)| *v).fold(f64::MAX, f64::min);
            format!(
                "{} .. {}",
                mib_s(if lo == f64::MAX { 0.0 } else { lo }),
                mib_s(peak(&h))
            )
        }),
        fig("bounded: peak heap", mib_s(peak(&heap("bounded")))),
        fig("bounded: lag growth", eps(lag_slope)),
    ];
    for (i, (site, bytes)) in sites.iter().take(5).enumerate() {
        figures.push(fig(
            &format!("heap site {} (at the profile)", i + 1),
            format!("`{site}`: {}", mib_s(*bytes)),
        ));
    }
    let top = sites
        .first()
        .map_or("no heap profile was saved".to_string(), |(site, _)| {
            format!("the heap profile names `{site}` as the site holding the most bytes")
        });
    ExperimentReport {
        table: None,
        name: EXPERIMENT.name.into(),
        setup: format!(
            "{} events/s of 512 B into a sink taking {} events/s (4x) for up to {} s (unbounded) and {} s (bounded), 6 partitions. Unbounded: `--queue unbounded` under an address-space cap of its start size + {} (`prlimit --as`, set by the lab). Bounded: `--queue bounded --queue-cap {QUEUE_CAP}`, default memory budget.",
            rate_arg(s.rate(OVERLOAD_RATE)),
            rate_arg(s.rate(SINK_RATE)),
            s.time(mins(30)).as_secs(),
            s.time(mins(BOUNDED_MINUTES)).as_secs(),
            mib_s(headroom(s) as f64),
        ),
        figures,
        charts: vec![
            draw(ev, "memory.png", memory),
            draw(ev, "producer.png", producer),
            draw(ev, "lag.png", lag_chart),
        ],
        finding: format!(
            "Without a bound the consumer keeps fetching what the sink cannot take: the backlog moves from the broker into its heap, which grows with every second of overload until the process dies at its cap; {top}. With a bound, fetching pauses when the queue is full: the same backlog stays on the broker as lag, growing at {:.0} events/s, while RSS holds a flat band. Bounded queues convert overload into lag, not RAM.",
            lag_slope
        ),
        criteria,
    }
}
