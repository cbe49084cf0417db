//! `streamsre lab` end to end, with real processes: one short experiment at tiny scale leaves
//! its evidence, charts and an evaluated report; Ctrl-C and bad input leave no child behind.
//! Every lab child runs in the experiment's directory, so "no orphans" is checked by looking
//! for any process whose working directory is inside the run's `--out`.

mod common;

use common::BIN;
use std::path::{Path, PathBuf};
use std::time::Duration;
use streamsre_testkit::{wait_for, Proc};

fn out_dir(name: &str) -> PathBuf {
    let dir = std::env::temp_dir().join(streamsre_testkit::unique(name));
    let _ = std::fs::remove_dir_all(&dir);
    dir
}

/// Pids of processes working inside `dir`.
fn processes_in(dir: &Path) -> Vec<u32> {
    let Ok(dir) = dir.canonicalize() else {
        return Vec::new();
    };
    std::fs::read_dir("/proc")
        .unwrap()
        .filter_map(|e| e.ok()?.file_name().to_str()?.parse::<u32>().ok())
        .filter(|pid| {
            std::fs::read_link(format!("/proc/{pid}/cwd")).is_ok_and(|cwd| cwd.starts_with(&dir))
        })
        .collect()
}

fn lab(name: &str, args: &[&str]) -> Proc {
    let mut all = vec!["lab"];
    all.extend_from_slice(args);
    Proc::spawn(BIN, name, &all, &[])
}

#[tokio::test(flavor = "multi_thread")]
async fn a_tiny_burst_leaves_csv_charts_and_an_evaluated_report() {
    let out = out_dir("lab-tiny");
    let dir = out.to_str().unwrap();
    let mut run = lab(
        "lab-tiny",
        &["run", "burst", "--scale", "tiny", "--out", dir],
    );
    let status = run.wait_exit(Duration::from_secs(300)).await.unwrap();
    let code = status.code();
    assert!(
        matches!(code, Some(0) | Some(1)),
        "the run ended with its criteria's verdict, not an error ({code:?}):\n{}",
        run.stderr_tail()
    );
    let csv = std::fs::read_to_string(out.join("burst/timeseries.csv")).unwrap();
    for role in [",burst,consumer,", ",burst,producer,", ",burst,sink,"] {
        assert!(
            csv.lines().filter(|l| l.contains(role)).count() >= 5,
            "a row per second for {role}:\n{csv}"
        );
    }
    let png = std::fs::read(out.join("burst/lag.png")).unwrap();
    assert!(
        png.starts_with(b"\x89PNG") && png.len() > 5_000,
        "a real chart"
    );
    let report = std::fs::read_to_string(out.join("report.md")).unwrap();
    assert!(
        report.contains("## burst") && report.contains("![Lag through the burst](burst/lag.png)"),
        "{report}"
    );
    let summary: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(out.join("summary.json")).unwrap()).unwrap();
    assert_eq!(summary["scale"], "tiny");
    let criteria = summary["experiments"][0]["criteria"].as_array().unwrap();
    assert!(criteria.len() >= 4, "{summary}");
    let all_passed = criteria.iter().all(|c| c["passed"] == true);
    assert_eq!(
        code == Some(0),
        all_passed,
        "the exit status follows the criteria: {summary}"
    );
    assert!(processes_in(&out).is_empty(), "no child outlives the run");

    // The report re-renders from the CSV files alone.
    std::fs::remove_file(out.join("report.md")).unwrap();
    std::fs::remove_file(out.join("burst/lag.png")).unwrap();
    let mut again = lab("lab-report", &["report", dir]);
    again.wait_exit(Duration::from_secs(60)).await.unwrap();
    assert_eq!(
        std::fs::read_to_string(out.join("report.md")).unwrap(),
        report
    );
    assert!(out.join("burst/lag.png").exists());
    let _ = std::fs::remove_dir_all(&out);
}

#[tokio::test(flavor = "multi_thread")]
async fn ctrl_c_stops_every_child_and_still_writes_what_was_measured() {
    let out = out_dir("lab-interrupt");
    let dir = out.to_str().unwrap();
    let mut run = lab(
        "lab-interrupt",
        &["run", "burst", "--scale", "quick", "--out", dir],
    );
    // Broker, sink, consumer and producer all up.
    wait_for(
        "the experiment's children",
        Duration::from_secs(90),
        || async {
            let n = processes_in(&out).len();
            if n >= 4 && out.join("burst/burst-producer.log").exists() {
                Ok(())
            } else {
                Err(format!("{n} children"))
            }
        },
    )
    .await;
    tokio::time::sleep(Duration::from_secs(3)).await; // a few samples to keep
                                                      // SAFETY: kill(2) on our own child with a valid signal.
    unsafe { libc::kill(run.pid() as i32, libc::SIGINT) };
    let status = run.wait_exit(Duration::from_secs(90)).await.unwrap();
    assert_eq!(status.code(), Some(130), "{}", run.stderr_tail());
    assert!(processes_in(&out).is_empty(), "every child stopped");
    let csv = std::fs::read_to_string(out.join("burst/timeseries.csv")).unwrap();
    assert!(csv.lines().count() > 3, "what was measured is kept:\n{csv}");
    let report = std::fs::read_to_string(out.join("report.md")).unwrap();
    assert!(report.contains("interrupted"), "{report}");
    let _ = std::fs::remove_dir_all(&out);
}

#[tokio::test(flavor = "multi_thread")]
async fn bad_input_is_one_line_naming_the_fix_and_leaves_nothing_running() {
    let out = out_dir("lab-bad");
    let dir = out.to_str().unwrap();
    let cases: [(&[&str], &str); 4] = [
        (
            &["run", "bursty", "--out", dir],
            "unknown experiment \"bursty\"; known: unbounded-vs-bounded",
        ),
        (
            &["run", "burst", "--out", "/proc/lab"],
            "cannot write to --out /proc/lab",
        ),
        (
            &[
                "run",
                "burst",
                "--out",
                dir,
                "--tansu",
                "/nonexistent/tansu",
            ],
            "not found: run `make up`",
        ),
        (
            &["report", "/nonexistent"],
            "holds no experiment's timeseries.csv",
        ),
    ];
    for (args, expect) in cases {
        let mut p = lab("lab-bad", args);
        let status = p.wait_exit(Duration::from_secs(60)).await.unwrap();
        let err = p.stderr_tail();
        assert_eq!(status.code(), Some(1), "{args:?}: {err}");
        let line = err
            .lines()
            .find(|l| l.starts_with("error: "))
            .unwrap_or_default();
        assert!(line.contains(expect), "{args:?}: {err}");
        assert!(
            processes_in(&out).is_empty(),
            "{args:?} left a child running"
        );
    }
    let _ = std::fs::remove_dir_all(&out);
}
