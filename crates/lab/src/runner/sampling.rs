//! The bench's clock and its once-a-second sampling: phases, waits on a condition, a tick per
//! second that scrapes every watched process's `/metrics` and `/proc` into a `timeseries.csv`
//! row, and the HTTP calls the bench makes to its processes.

use super::lab::{Lab, Stop, Target};
use crate::record::{row, Sample};
use crate::sample::{rss_bytes, Scrape};
use std::time::Duration;
use tokio::time::Instant;

impl Lab {
    /// The last value of `metric` (a full sample name) that `name` of the current run reported.
    pub fn latest(&self, name: &str, metric: &str) -> Option<f64> {
        self.target(name)?.last.as_ref()?.scrape.sum(metric)
    }

    pub(super) fn target(&self, name: &str) -> Option<&Target> {
        let child = self.child_name(name);
        self.targets.iter().find(|t| t.child == child)
    }

    /// The last sample of `name` in the current run.
    pub fn last_sample(&self, name: &str) -> Option<&Sample> {
        self.target(name)?.last.as_ref()
    }

    /// GETs `path` from `addr`.
    pub async fn get(&self, addr: &str, path: &str) -> Result<Vec<u8>, String> {
        let res = self
            .http
            .get(format!("http://{addr}{path}"))
            .timeout(Duration::from_secs(30))
            .send()
            .await
            .and_then(|r| r.error_for_status())
            .map_err(|e| format!("GET {addr}{path}: {e}"))?;
        res.bytes()
            .await
            .map(|b| b.to_vec())
            .map_err(|e| format!("GET {addr}{path}: {e}"))
    }

    /// POSTs a JSON body to `url`.
    pub async fn post(&self, url: &str, body: serde_json::Value) -> Result<(), String> {
        self.http
            .post(url)
            .json(&body)
            .send()
            .await
            .and_then(|r| r.error_for_status())
            .map(|_| ())
            .map_err(|e| format!("POST {url}: {e}"))
    }

    pub(super) async fn wait_http(
        &mut self,
        name: &str,
        addr: &str,
        path: &str,
    ) -> Result<(), Stop> {
        let deadline = Instant::now() + Duration::from_secs(30);
        loop {
            if self.get(addr, path).await.is_ok() {
                return Ok(());
            }
            if !self.running(name) {
                return Err(Stop::Failed(format!(
                    "{} exited at start; see {}.log",
                    self.child_name(name),
                    self.child_name(name)
                )));
            }
            if Instant::now() >= deadline {
                return Err(Stop::Failed(format!("{name} did not answer on {addr}")));
            }
            self.pause(Duration::from_millis(200)).await?;
        }
    }

    pub(super) async fn pause(&self, d: Duration) -> Result<(), Stop> {
        tokio::select! {
            _ = self.cancel.cancelled() => Err(Stop::Interrupted),
            _ = tokio::time::sleep(d) => Ok(()),
        }
    }

    /// Samples every process for `duration`, once a second, under the phase name `label`.
    pub async fn phase(&mut self, label: &str, duration: Duration) -> Result<(), Stop> {
        self.sample_while(label, duration, |_| false)
            .await
            .map(|_| ())
    }

    /// Samples once a second until `done` holds (true) or `timeout` passes (false).
    pub async fn sample_while(
        &mut self,
        label: &str,
        timeout: Duration,
        done: impl Fn(&mut Lab) -> bool,
    ) -> Result<bool, Stop> {
        self.announce(label, timeout);
        let start = Instant::now();
        loop {
            if done(self) {
                return Ok(true);
            }
            if start.elapsed() >= timeout {
                return Ok(false);
            }
            self.tick().await?;
        }
    }

    /// Shows a new phase, expected to take up to `expected`.
    pub fn announce(&mut self, label: &str, expected: Duration) {
        self.progress
            .phase(&format!("{}: {label}", self.run), Some(expected));
        self.phase_started = Instant::now();
    }

    /// Waits for the next second and samples every process once.
    pub async fn tick(&mut self) -> Result<(), Stop> {
        self.next_tick = (self.next_tick + Duration::from_secs(1)).max(Instant::now());
        tokio::select! {
            _ = self.cancel.cancelled() => return Err(Stop::Interrupted),
            _ = tokio::time::sleep_until(self.next_tick) => {}
        }
        self.sample().await;
        self.progress.tick(self.phase_started.elapsed());
        Ok(())
    }

    /// Like [`Lab::sample_while`], but running out of time is an error naming `label`.
    pub async fn wait_until(
        &mut self,
        label: &str,
        timeout: Duration,
        done: impl Fn(&mut Lab) -> bool,
    ) -> Result<(), Stop> {
        if self.sample_while(label, timeout, done).await? {
            Ok(())
        } else {
            Err(Stop::Failed(format!("timed out waiting for {label}")))
        }
    }

    /// One sample of every process into a row each. A process that no longer answers (it
    /// exited, or died at its memory cap) gets a row with what `/proc` still says, if anything.
    pub(super) async fn sample(&mut self) {
        let t_s = self.t();
        let mut scrapes = Vec::with_capacity(self.targets.len());
        for t in &self.targets {
            let text = self.get(&t.addr, "/metrics").await.ok();
            scrapes.push(text.map(|b| Scrape::parse(&String::from_utf8_lossy(&b))));
        }
        for (i, scrape) in scrapes.into_iter().enumerate() {
            let pid = self.children.pid(&self.targets[i].child);
            let target = &mut self.targets[i];
            let Some(scrape) = scrape else { continue };
            let now = Sample {
                t_s,
                scrape,
                rss_bytes: pid.and_then(|p| rss_bytes(p).ok()),
            };
            self.rows.push(row(
                &target.run,
                target.role,
                &target.name,
                target.last.as_ref(),
                &now,
            ));
            target.last = Some(now);
        }
    }
}
