//! The lab's child processes: the broker, the sink, consumers, the producer, chaos. Every one
//! is a real process with its output in `DIR/<name>.log`, and every one is stopped when the
//! experiment ends, fails or is interrupted: [`Children::stop_all`] asks politely (SIGTERM,
//! so a consumer drains and commits) and then insists (SIGKILL); dropping [`Children`] kills
//! whatever is left, so an error path cannot leave orphans behind.

use std::path::{Path, PathBuf};
use std::process::{ExitStatus, Stdio};
use std::time::Duration;

use tokio::process::{Child, Command};

/// One running child.
struct Running {
    name: String,
    child: Child,
}

/// The children of one experiment, stopped in reverse start order.
pub struct Children {
    dir: PathBuf,
    running: Vec<Running>,
}

impl Children {
    /// Children whose logs go to `dir`, which must be writable: the error names the directory
    /// and the fix, before anything has started.
    pub fn new(dir: &Path) -> Result<Self, String> {
        let unwritable = |e: std::io::Error| {
            format!(
                "cannot write to {}: {e} (choose another --out)",
                dir.display()
            )
        };
        std::fs::create_dir_all(dir).map_err(unwritable)?;
        let probe = dir.join(".write-test");
        std::fs::write(&probe, b"").map_err(unwritable)?;
        let _ = std::fs::remove_file(probe);
        Ok(Self {
            dir: dir.to_path_buf(),
            running: Vec::new(),
        })
    }

    /// Starts `program args…` as `name`, with `envs` on top of this process's environment and
    /// the log directory as its working directory (so relative paths, such as the broker's
    /// sqlite file, land beside the logs), and returns its pid. A missing program is an error
    /// naming it.
    pub fn spawn(
        &mut self,
        name: &str,
        program: &str,
        args: &[&str],
        envs: &[(&str, &str)],
    ) -> Result<u32, String> {
        let log_path = self.dir.join(format!("{name}.log"));
        let log =
            std::fs::File::create(&log_path).map_err(|e| format!("{}: {e}", log_path.display()))?;
        let err_log = log
            .try_clone()
            .map_err(|e| format!("{}: {e}", log_path.display()))?;
        let child = Command::new(program)
            .args(args)
            .envs(envs.iter().copied())
            .current_dir(&self.dir)
            .stdin(Stdio::null())
            .stdout(log)
            .stderr(err_log)
            // Its own process group, so stopping it also stops whatever it started.
            .process_group(0)
            .kill_on_drop(true)
            .spawn()
            .map_err(|e| match e.kind() {
                std::io::ErrorKind::NotFound => format!("cannot start {name}: {program} not found"),
                _ => format!("cannot start {name} ({program}): {e}"),
            })?;
        let pid = child
            .id()
            .ok_or_else(|| format!("{name} exited before it could be tracked"))?;
        self.running.push(Running {
            name: name.to_string(),
            child,
        });
        Ok(pid)
    }

    /// The pid of the child called `name`, if it is still tracked.
    pub fn pid(&self, name: &str) -> Option<u32> {
        self.running
            .iter()
            .find(|r| r.name == name)
            .and_then(|r| r.child.id())
    }

    /// Whether `name` is still running (a child that exited on its own is reaped here).
    pub fn is_running(&mut self, name: &str) -> bool {
        self.running
            .iter_mut()
            .find(|r| r.name == name)
            .is_some_and(|r| matches!(r.child.try_wait(), Ok(None)))
    }

    /// Stops `name`: SIGTERM, then SIGKILL if it has not exited within `grace`. Returns how it
    /// exited, or `None` if no such child is tracked.
    pub async fn stop(&mut self, name: &str, grace: Duration) -> Option<ExitStatus> {
        let i = self.running.iter().position(|r| r.name == name)?;
        let mut r = self.running.remove(i);
        Some(stop(&mut r.child, grace).await)
    }

    /// Stops every child, the last started first (the producer before the consumer before the
    /// broker), each with `grace` to exit on SIGTERM.
    pub async fn stop_all(&mut self, grace: Duration) {
        while let Some(mut r) = self.running.pop() {
            let status = stop(&mut r.child, grace).await;
            tracing::debug!(child = %r.name, ?status, "stopped");
        }
    }
}

async fn stop(child: &mut Child, grace: Duration) -> ExitStatus {
    if let Ok(Some(status)) = child.try_wait() {
        return status;
    }
    let group = child.id().map(|pid| pid as i32);
    signal_group(group, libc::SIGTERM);
    let status = match tokio::time::timeout(grace, child.wait()).await {
        Ok(Ok(status)) => status,
        _ => {
            let _ = child.kill().await;
            child
                .wait()
                .await
                .unwrap_or_else(|_| std::os::unix::process::ExitStatusExt::from_raw(libc::SIGKILL))
        }
    };
    // Whatever the child started and left behind goes with it.
    signal_group(group, libc::SIGKILL);
    status
}

/// Sends `signal` to the process group led by `leader` (each child leads its own).
fn signal_group(leader: Option<i32>, signal: i32) {
    if let Some(pgid) = leader {
        // SAFETY: kill(2) on the process group of a child we spawned as its leader; the group
        // id stays ours until every member has exited.
        unsafe {
            libc::kill(-pgid, signal);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::os::unix::process::ExitStatusExt;

    fn dir(name: &str) -> PathBuf {
        std::env::temp_dir().join(format!("streamsre-procs-{}-{name}", std::process::id()))
    }

    /// Whether a process with this pid exists (and is not a zombie we forgot to reap).
    fn alive(pid: u32) -> bool {
        std::fs::read_to_string(format!("/proc/{pid}/stat"))
            .map(|s| !s.split(") ").nth(1).unwrap_or("").starts_with('Z'))
            .unwrap_or(false)
    }

    /// Waits until `name`'s log holds `text`: a child that has said something is past its
    /// start-up (and, for the stubborn one, has installed its trap).
    async fn wait_logged(dir: &Path, name: &str, text: &str) {
        for _ in 0..250 {
            if std::fs::read_to_string(dir.join(format!("{name}.log")))
                .is_ok_and(|l| l.contains(text))
            {
                return;
            }
            tokio::time::sleep(Duration::from_millis(20)).await;
        }
        panic!("{name} never logged {text:?}");
    }

    #[tokio::test]
    async fn stop_all_ends_every_child_and_logs_what_they_said() {
        let d = dir("stop-all");
        let mut c = Children::new(&d).unwrap();
        let a = c
            .spawn("a", "sh", &["-c", "echo started a; exec sleep 60"], &[])
            .unwrap();
        let b = c
            .spawn(
                "b",
                "sh",
                &["-c", "echo $GREETING; exec sleep 60"],
                &[("GREETING", "hello b")],
            )
            .unwrap();
        wait_logged(&d, "a", "started a").await;
        wait_logged(&d, "b", "hello b").await;
        assert!(c.is_running("a") && c.is_running("b"));
        assert_eq!(c.pid("b"), Some(b));
        c.stop_all(Duration::from_secs(5)).await;
        assert!(!alive(a) && !alive(b));
        assert_eq!(
            std::fs::read_to_string(d.join("b.log")).unwrap(),
            "hello b\n"
        );
    }

    #[tokio::test]
    async fn a_child_that_ignores_sigterm_is_killed_after_the_grace() {
        let d = dir("stubborn");
        let mut c = Children::new(&d).unwrap();
        let ignore_term = "import signal, time; signal.signal(signal.SIGTERM, signal.SIG_IGN); print('trapped', flush=True); time.sleep(60)";
        let pid = c
            .spawn("stubborn", "python3", &["-c", ignore_term], &[])
            .unwrap();
        wait_logged(&d, "stubborn", "trapped").await;
        let status = c
            .stop("stubborn", Duration::from_millis(300))
            .await
            .unwrap();
        assert_eq!(status.signal(), Some(libc::SIGKILL));
        assert!(!alive(pid));
        assert!(
            c.stop("stubborn", Duration::ZERO).await.is_none(),
            "no longer tracked"
        );
    }

    #[tokio::test]
    async fn what_a_child_started_stops_with_it() {
        let d = dir("grandchild");
        let mut c = Children::new(&d).unwrap();
        c.spawn("parent", "sh", &["-c", "sleep 60 & echo $!; wait"], &[])
            .unwrap();
        wait_logged(&d, "parent", "\n").await;
        let log = std::fs::read_to_string(d.join("parent.log")).unwrap();
        let grandchild: u32 = log.trim().parse().unwrap();
        assert!(alive(grandchild));
        c.stop_all(Duration::from_secs(5)).await;
        for _ in 0..100 {
            if !alive(grandchild) {
                return;
            }
            tokio::time::sleep(Duration::from_millis(20)).await;
        }
        panic!("the grandchild {grandchild} outlived its parent's stop");
    }

    #[tokio::test]
    async fn a_polite_child_exits_on_sigterm() {
        let mut c = Children::new(&dir("polite")).unwrap();
        c.spawn("polite", "sleep", &["60"], &[]).unwrap();
        let status = c.stop("polite", Duration::from_secs(5)).await.unwrap();
        assert_eq!(status.signal(), Some(libc::SIGTERM));
    }

    #[tokio::test]
    async fn dropping_the_children_kills_them() {
        let mut c = Children::new(&dir("drop")).unwrap();
        let pid = c.spawn("sleeper", "sleep", &["60"], &[]).unwrap();
        drop(c);
        // kill_on_drop sends SIGKILL at once; the runtime reaps the process shortly after.
        for _ in 0..100 {
            if !alive(pid) {
                return;
            }
            tokio::time::sleep(Duration::from_millis(20)).await;
        }
        panic!("pid {pid} survived its Children");
    }

    #[test]
    fn bad_directories_and_programs_are_errors_naming_the_fix() {
        let err = Children::new(Path::new("/proc/streamsre-lab"))
            .err()
            .unwrap();
        assert!(
            err.contains("/proc/streamsre-lab") && err.contains("choose another --out"),
            "{err}"
        );
        let rt = tokio::runtime::Builder::new_current_thread()
            .enable_all()
            .build()
            .unwrap();
        rt.block_on(async {
            let mut c = Children::new(&dir("missing")).unwrap();
            let err = c
                .spawn("broker", "no-such-tansu-binary", &[], &[])
                .unwrap_err();
            assert_eq!(err, "cannot start broker: no-such-tansu-binary not found");
        });
    }
}
