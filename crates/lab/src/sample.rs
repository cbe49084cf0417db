//! Reading what a lab process says about itself, once a second: its `/metrics` text and its
//! `/proc/<pid>/status`. The runner turns two consecutive samples into the rates of a
//! `timeseries.csv` row; nothing here estimates what it could measure.

use std::io;

pub use streamsre_telemetry::metrics::Scrape;

/// Per-second rate of a counter between two `(t_s, value)` samples. `None` for no time between
/// them or a counter that went down (the process restarted: the next pair is good again).
pub fn per_second(before: (f64, f64), after: (f64, f64)) -> Option<f64> {
    let dt = after.0 - before.0;
    let dv = after.1 - before.1;
    (dt > 0.0 && dv >= 0.0).then(|| dv / dt)
}

/// Resident set size of process `pid` in bytes (`VmRSS` in `/proc/<pid>/status`).
pub fn rss_bytes(pid: u32) -> io::Result<f64> {
    vm_field(pid, "VmRSS")
}

/// Address space of process `pid` in bytes (`VmSize`): what `RLIMIT_AS` caps.
pub fn vm_size_bytes(pid: u32) -> io::Result<f64> {
    vm_field(pid, "VmSize")
}

fn vm_field(pid: u32, field: &str) -> io::Result<f64> {
    let status = std::fs::read_to_string(format!("/proc/{pid}/status"))?;
    parse_vm(&status, field).ok_or_else(|| {
        io::Error::new(
            io::ErrorKind::InvalidData,
            format!("no {field} in /proc/{pid}/status"),
        )
    })
}

fn parse_vm(status: &str, field: &str) -> Option<f64> {
    let line = status
        .lines()
        .find(|l| l.strip_prefix(field).is_some_and(|r| r.starts_with(':')))?;
    let kib: f64 = line.split_whitespace().nth(1)?.parse().ok()?;
    Some(kib * 1024.0)
}

/// Caps the address space of running process `pid` at `bytes` (`prlimit --as`): past it, its
/// allocations fail and it dies, as under a container's memory limit.
pub fn cap_address_space(pid: u32, bytes: u64) -> io::Result<()> {
    let limit = libc::rlimit {
        rlim_cur: bytes,
        rlim_max: bytes,
    };
    // SAFETY: prlimit reads `limit` and writes nothing (the old-limit pointer is null).
    let rc = unsafe {
        libc::prlimit(
            pid as libc::pid_t,
            libc::RLIMIT_AS,
            &limit,
            std::ptr::null_mut(),
        )
    };
    if rc == 0 {
        Ok(())
    } else {
        Err(io::Error::last_os_error())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn rates_between_samples() {
        assert_eq!(per_second((10.0, 100.0), (12.0, 700.0)), Some(300.0));
        assert_eq!(
            per_second((10.0, 100.0), (10.0, 700.0)),
            None,
            "no time passed"
        );
        assert_eq!(per_second((10.0, 700.0), (11.0, 5.0)), None, "restarted");
    }

    #[test]
    fn rss_from_proc() {
        assert_eq!(
            parse_vm("Name:\tx\nVmRSS:\t   2048 kB\n", "VmRSS"),
            Some(2048.0 * 1024.0)
        );
        assert_eq!(parse_vm("Name:\tx\n", "VmRSS"), None);
        assert!(vm_size_bytes(std::process::id()).unwrap() >= own_rss());
        let own = rss_bytes(std::process::id()).unwrap();
        assert!(
            own > 1024.0 * 1024.0,
            "this test process holds more than 1 MiB: {own}"
        );
        let err = rss_bytes(u32::MAX).unwrap_err();
        assert_eq!(err.kind(), io::ErrorKind::NotFound);
    }

    fn own_rss() -> f64 {
        rss_bytes(std::process::id()).unwrap()
    }

    /// A real child under a cap: `sleep` gets a limit it can live with, and the kernel reports
    /// it; a pid that does not exist is an error.
    #[test]
    fn an_address_space_cap_applies_to_a_running_process() {
        let mut child = std::process::Command::new("sleep")
            .arg("30")
            .spawn()
            .unwrap();
        let pid = child.id();
        cap_address_space(pid, 1 << 30).unwrap();
        let limits = std::fs::read_to_string(format!("/proc/{pid}/limits")).unwrap();
        let line = limits
            .lines()
            .find(|l| l.starts_with("Max address space"))
            .unwrap();
        assert!(line.contains("1073741824"), "{line}");
        child.kill().unwrap();
        child.wait().unwrap();
        assert!(cap_address_space(u32::MAX >> 1, 1 << 30).is_err());
    }
}
