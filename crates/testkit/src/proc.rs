//! Child processes of a test: the real `streamsre` binary (or any other), output to files,
//! killed when dropped.

use crate::{brokers, unique};
use anyhow::bail;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, ExitStatus, Stdio};
use std::time::{Duration, Instant};

/// A free loopback port for a child's metrics server.
pub fn free_addr() -> String {
    let listener = std::net::TcpListener::bind("127.0.0.1:0").expect("bind an ephemeral port");
    listener.local_addr().expect("local addr").to_string()
}

/// A running `streamsre` child process whose output goes to files under `target/test-logs`.
pub struct Proc {
    child: Child,
    /// Where its stdout goes.
    pub stdout_path: PathBuf,
    /// Where its stderr goes.
    pub stderr_path: PathBuf,
    name: String,
}

fn log_dir() -> PathBuf {
    let dir = Path::new(env!("CARGO_MANIFEST_DIR")).join("../../target/test-logs");
    std::fs::create_dir_all(&dir).expect("create target/test-logs");
    dir
}

impl Proc {
    /// Spawns `bin args…` with `envs`.
    pub fn spawn(bin: &str, name: &str, args: &[&str], envs: &[(&str, &str)]) -> Self {
        let tag = unique(name);
        let stdout_path = log_dir().join(format!("{tag}.out"));
        let stderr_path = log_dir().join(format!("{tag}.err"));
        let mut cmd = Command::new(bin);
        cmd.args(args)
            .env("KAFKA_BROKERS", brokers())
            .env("LOG_FORMAT", "json")
            .env("RUST_LOG", "info")
            .stdin(Stdio::null())
            .stdout(std::fs::File::create(&stdout_path).expect("stdout file"))
            .stderr(std::fs::File::create(&stderr_path).expect("stderr file"));
        for (k, v) in envs {
            cmd.env(k, v);
        }
        let child = cmd.spawn().unwrap_or_else(|e| panic!("spawn {bin}: {e}"));
        Self {
            child,
            stdout_path,
            stderr_path,
            name: tag,
        }
    }

    /// OS process id.
    pub fn pid(&self) -> u32 {
        self.child.id()
    }

    /// Sends SIGTERM (graceful shutdown).
    pub fn sigterm(&self) {
        // SAFETY: kill(2) with a pid we own and a valid signal number.
        unsafe {
            libc::kill(self.child.id() as i32, libc::SIGTERM);
        }
    }

    /// Sends SIGKILL and reaps the process: a crash with no chance to clean up.
    pub fn sigkill(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }

    /// Whether it is still running.
    pub fn is_running(&mut self) -> bool {
        matches!(self.child.try_wait(), Ok(None))
    }

    /// Waits for exit up to `timeout`.
    pub async fn wait_exit(&mut self, timeout: Duration) -> anyhow::Result<ExitStatus> {
        let deadline = Instant::now() + timeout;
        loop {
            if let Some(status) = self.child.try_wait()? {
                return Ok(status);
            }
            if Instant::now() >= deadline {
                bail!(
                    "{} did not exit within {timeout:?}\n{}",
                    self.name,
                    self.stderr_tail()
                );
            }
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
    }

    /// Everything it printed on stdout so far.
    pub fn stdout(&self) -> String {
        std::fs::read_to_string(&self.stdout_path).unwrap_or_default()
    }

    /// The file its stderr goes to, for conditions checked while it runs.
    pub fn stderr_file(&self) -> PathBuf {
        self.stderr_path.clone()
    }

    /// Everything it printed on stderr so far (its logs).
    pub fn stderr(&self) -> String {
        std::fs::read_to_string(&self.stderr_path).unwrap_or_default()
    }

    /// The last lines of its stderr, for failure messages.
    pub fn stderr_tail(&self) -> String {
        let text = std::fs::read_to_string(&self.stderr_path).unwrap_or_default();
        let lines: Vec<&str> = text.lines().collect();
        let start = lines.len().saturating_sub(30);
        format!(
            "--- {} stderr (last lines) ---\n{}",
            self.name,
            lines[start..].join("\n")
        )
    }
}

impl Drop for Proc {
    fn drop(&mut self) {
        if matches!(self.child.try_wait(), Ok(None)) {
            let _ = self.child.kill();
            let _ = self.child.wait();
        }
    }
}
