//! A real headless Chromium, for the tests that watch the live page.

use crate::free_addr;
use anyhow::{anyhow, bail, Context};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use crate::unique;

/// A real headless Chromium driven through chromedriver's WebDriver HTTP API (Debian packages
/// `chromium` and `chromium-driver`), for tests that watch a live page in real time.
pub struct Browser {
    driver: Child,
    base: String,
    session: String,
    http: reqwest::Client,
    profile: PathBuf,
}

impl Browser {
    /// Starts chromedriver and a headless browser session (no network beyond loopback).
    pub async fn start() -> anyhow::Result<Self> {
        let port = free_addr().rsplit(':').next().unwrap().to_string();
        let driver = Command::new("chromedriver")
            .arg(format!("--port={port}"))
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .context("chromedriver is needed (Debian package `chromium-driver`; `make test` installs it)")?;
        let base = format!("http://127.0.0.1:{port}");
        let http = reqwest::Client::new();
        let deadline = Instant::now() + Duration::from_secs(20);
        while http.get(format!("{base}/status")).send().await.is_err() {
            if Instant::now() > deadline {
                bail!("chromedriver did not start on {base}");
            }
            tokio::time::sleep(Duration::from_millis(100)).await;
        }
        let profile = std::env::temp_dir().join(unique("chromium-profile"));
        let caps = serde_json::json!({"capabilities": {"alwaysMatch": {
            "browserName": "chrome",
            "goog:chromeOptions": {
                "binary": "/usr/bin/chromium",
                "args": ["--headless", "--no-sandbox", "--disable-gpu", "--disable-quic",
                         "--no-first-run", "--disable-background-networking",
                         "--disable-component-update", "--disable-sync", "--disable-dev-shm-usage",
                         "--window-size=1280,1000",
                         format!("--user-data-dir={}", profile.display())]
            }
        }}});
        let res: serde_json::Value = http
            .post(format!("{base}/session"))
            .json(&caps)
            .send()
            .await?
            .json()
            .await?;
        let session = res["value"]["sessionId"]
            .as_str()
            .ok_or_else(|| anyhow!("no WebDriver session: {res}"))?
            .to_string();
        Ok(Self {
            driver,
            base,
            session,
            http,
            profile,
        })
    }

    async fn call(
        &self,
        method: reqwest::Method,
        path: &str,
        body: serde_json::Value,
    ) -> anyhow::Result<serde_json::Value> {
        let url = format!("{}/session/{}/{path}", self.base, self.session);
        let mut request = self.http.request(method.clone(), url);
        if method != reqwest::Method::GET {
            request = request.json(&body);
        }
        let res: serde_json::Value = request.send().await?.json().await?;
        if res["value"].get("error").is_some() {
            bail!("WebDriver {path}: {}", res["value"]);
        }
        Ok(res["value"].clone())
    }

    /// Navigates to `url`.
    pub async fn goto(&self, url: &str) -> anyhow::Result<()> {
        self.call(
            reqwest::Method::POST,
            "url",
            serde_json::json!({ "url": url }),
        )
        .await
        .map(|_| ())
    }

    /// Runs `script` in the page and returns its result.
    pub async fn eval(&self, script: &str) -> anyhow::Result<serde_json::Value> {
        self.call(
            reqwest::Method::POST,
            "execute/sync",
            serde_json::json!({ "script": script, "args": [] }),
        )
        .await
    }

    /// Saves a PNG screenshot of the viewport to `path`.
    pub async fn screenshot(&self, path: &Path) -> anyhow::Result<u64> {
        use base64::Engine;
        let value = self
            .call(reqwest::Method::GET, "screenshot", serde_json::Value::Null)
            .await?;
        let png = base64::engine::general_purpose::STANDARD.decode(value.as_str().unwrap_or(""))?;
        std::fs::write(path, &png)?;
        Ok(png.len() as u64)
    }
}

impl Drop for Browser {
    fn drop(&mut self) {
        let _ = self.driver.kill();
        let _ = self.driver.wait();
        let _ = std::fs::remove_dir_all(&self.profile);
    }
}
