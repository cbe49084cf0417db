//! A PostgreSQL server of one test's own, for what the shared cluster cannot be changed to
//! do: here, serve a certificate from the test's CA so `sslmode=verify-full` has something to
//! verify. Same binaries as the stack's cluster (`/usr/lib/postgresql/<v>/bin`), trust auth,
//! TLS on, a free port, a temp data directory removed at the end.

use crate::tls::CertFiles;
use crate::{free_addr, unique, wait_for};
use std::path::{Path, PathBuf};
use std::process::Command;
use std::time::Duration;

/// A running test cluster; stopped and deleted on drop.
pub struct PgServer {
    dir: PathBuf,
    bin: PathBuf,
    /// Its port on 127.0.0.1.
    pub port: u16,
}

/// The newest installed PostgreSQL's binary directory.
fn pg_bin() -> PathBuf {
    let mut dirs: Vec<PathBuf> = std::fs::read_dir("/usr/lib/postgresql")
        .expect("PostgreSQL server binaries in /usr/lib/postgresql (make up installs them)")
        .filter_map(|e| e.ok().map(|e| e.path().join("bin")))
        .filter(|d| d.join("initdb").exists())
        .collect();
    dirs.sort();
    dirs.pop()
        .expect("an initdb under /usr/lib/postgresql/*/bin")
}

/// Runs `bin args` as the `postgres` user when we are root (initdb and postgres refuse root).
fn run_as_postgres(bin: &Path, args: &[&str]) {
    let root = unsafe { libc::geteuid() } == 0;
    let mut cmd = if root {
        let mut c = Command::new("runuser");
        c.args(["-u", "postgres", "--"]).arg(bin);
        c
    } else {
        Command::new(bin)
    };
    let out = cmd.args(args).output().expect("run a PostgreSQL binary");
    assert!(
        out.status.success(),
        "{} {args:?}: {}{}",
        bin.display(),
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
}

fn chown_postgres(path: &Path) {
    if unsafe { libc::geteuid() } == 0 {
        let status = Command::new("chown")
            .args(["-R", "postgres:postgres"])
            .arg(path)
            .status()
            .expect("chown");
        assert!(status.success(), "chown {}", path.display());
    }
}

impl PgServer {
    /// Initialises and starts a cluster serving `cert` over TLS, and waits until it answers.
    pub async fn start_tls(cert: &CertFiles) -> Self {
        let bin = pg_bin();
        let dir = std::env::temp_dir().join(unique("pgtls"));
        let data = dir.join("data");
        std::fs::create_dir_all(&dir).expect("cluster dir");
        chown_postgres(&dir);
        let data_s = data.display().to_string();
        run_as_postgres(
            &bin.join("initdb"),
            &[
                "-D",
                &data_s,
                "--auth=trust",
                "--username=postgres",
                "-E",
                "UTF8",
            ],
        );
        std::fs::copy(&cert.cert, data.join("server.crt")).expect("server.crt");
        std::fs::copy(&cert.key, data.join("server.key")).expect("server.key");
        crate::tls::set_mode(&data.join("server.key"), 0o600);
        let port: u16 = free_addr()
            .rsplit_once(':')
            .and_then(|(_, p)| p.parse().ok())
            .expect("a free port");
        let conf = format!(
            "listen_addresses = '127.0.0.1'\nport = {port}\nunix_socket_directories = '{}'\n\
             ssl = on\nssl_cert_file = 'server.crt'\nssl_key_file = 'server.key'\n\
             max_connections = 20\nshared_buffers = 16MB\nfsync = off\n",
            dir.display()
        );
        std::fs::write(data.join("postgresql.auto.conf"), conf).expect("postgresql.auto.conf");
        chown_postgres(&dir);
        let log = dir.join("server.log").display().to_string();
        run_as_postgres(
            &bin.join("pg_ctl"),
            &["-D", &data_s, "-l", &log, "-w", "start"],
        );
        let server = Self { dir, bin, port };
        let url = format!("postgres://postgres@127.0.0.1:{port}/postgres?sslmode=disable");
        wait_for(
            "the test cluster to answer",
            Duration::from_secs(30),
            || {
                let url = url.clone();
                async move {
                    tokio_postgres::connect(&url, tokio_postgres::NoTls)
                        .await
                        .map(|_| ())
                        .map_err(|e| e.to_string())
                }
            },
        )
        .await;
        server
    }
}

impl Drop for PgServer {
    fn drop(&mut self) {
        let data = self.dir.join("data").display().to_string();
        let root = unsafe { libc::geteuid() } == 0;
        let pg_ctl = self.bin.join("pg_ctl");
        let mut cmd = if root {
            let mut c = Command::new("runuser");
            c.args(["-u", "postgres", "--"]).arg(&pg_ctl);
            c
        } else {
            Command::new(&pg_ctl)
        };
        let _ = cmd.args(["-D", &data, "-m", "immediate", "stop"]).output();
        let _ = std::fs::remove_dir_all(&self.dir);
    }
}
