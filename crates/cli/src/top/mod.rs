//! `streamsre top`: a terminal view of running consumers, read from their `/metrics`
//! (like `vector top`). Interactive on a terminal; `--once` prints one frame as text.

mod model;
mod view;

use model::{Scrape, TargetView};
use std::process::ExitCode;
use std::time::{Duration, Instant};

async fn scrape(client: &reqwest::Client, target: &str) -> Result<Scrape, String> {
    let res = client
        .get(format!("http://{target}/metrics"))
        .timeout(Duration::from_secs(2))
        .send()
        .await
        .map_err(|e| {
            if e.is_connect() {
                "connection refused".to_string()
            } else {
                e.to_string()
            }
        })?;
    if !res.status().is_success() {
        return Err(format!("HTTP {}", res.status()));
    }
    Ok(Scrape::parse(&res.text().await.map_err(|e| e.to_string())?))
}

/// Scrapes every target and computes its view against the previous scrape.
struct Poller {
    client: reqwest::Client,
    targets: Vec<String>,
    previous: Vec<Option<(Scrape, Instant)>>,
}

impl Poller {
    fn new(targets: Vec<String>) -> Self {
        let previous = targets.iter().map(|_| None).collect();
        Self {
            client: reqwest::Client::new(),
            targets,
            previous,
        }
    }

    async fn poll(&mut self) -> Vec<TargetView> {
        let mut views = Vec::with_capacity(self.targets.len());
        for (i, target) in self.targets.iter().enumerate() {
            match scrape(&self.client, target).await {
                Ok(now) => {
                    let at = Instant::now();
                    let before = self.previous[i].as_ref();
                    let elapsed = before.map_or(Duration::ZERO, |(_, t)| at - *t);
                    views.push(TargetView::compute(
                        target,
                        &now,
                        before.map(|(s, _)| s),
                        elapsed,
                    ));
                    self.previous[i] = Some((now, at));
                }
                Err(e) => views.push(TargetView::unreachable(target, e)),
            }
        }
        views
    }
}

/// Runs `streamsre top`.
pub async fn run(targets: Vec<String>, interval: Duration, once: bool) -> anyhow::Result<ExitCode> {
    let mut poller = Poller::new(targets);
    let interval_ms = interval.as_millis();
    if once {
        // Two scrapes one interval apart, so rates are real.
        poller.poll().await;
        tokio::time::sleep(interval).await;
        let views = poller.poll().await;
        print!(
            "{}",
            view::to_text(
                &views,
                150,
                12 + 3 * views.len() as u16
                    + views.iter().map(|v| v.partitions.len() as u16).sum::<u16>(),
                interval_ms
            )
        );
        return Ok(ExitCode::SUCCESS);
    }
    let mut terminal = ratatui::init();
    let result = async {
        use ratatui::crossterm::event::{self, Event, KeyCode, KeyModifiers};
        loop {
            let views = poller.poll().await;
            terminal.draw(|f| view::render(f, &views, interval_ms))?;
            // Wait for a key for up to one interval; any other event just redraws sooner.
            if event::poll(interval)? {
                if let Event::Key(key) = event::read()? {
                    let ctrl_c = key.code == KeyCode::Char('c')
                        && key.modifiers.contains(KeyModifiers::CONTROL);
                    if matches!(key.code, KeyCode::Char('q') | KeyCode::Esc) || ctrl_c {
                        return Ok::<_, anyhow::Error>(());
                    }
                }
            }
        }
    }
    .await;
    ratatui::restore();
    result.map(|()| ExitCode::SUCCESS)
}
