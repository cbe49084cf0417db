//! The lab's own broker: a Tansu started for one run, with its sqlite storage in the run's
//! directory, so no earlier run's backlog (or a developer's `make up` stack) can skew what an
//! experiment measures. Always sqlite: Tansu's memory storage skips records after a pause or a
//! rebalance, and the lab pauses and rebalances on purpose.

use std::net::TcpListener;
use std::time::Duration;

use streamsre_kafka::KafkaOpts;

use crate::procs::Children;

/// The broker binary the local stack installs (`make up` builds it).
pub const TANSU: &str = "tansu";

/// How long a fresh broker gets to answer its first metadata request.
const START_TIMEOUT: Duration = Duration::from_secs(30);

/// Starts `bin` (normally [`TANSU`]) as the child `broker` of `children`, listening on
/// 127.0.0.1:`port` (0 = any free port), and returns its address once it answers. Each way
/// this can fail is one line naming the fix: a missing binary, a taken port, a broker that
/// exits or never answers (with its log's path).
pub async fn start(children: &mut Children, bin: &str, port: u16) -> Result<String, String> {
    let addr = {
        let listener = TcpListener::bind(("127.0.0.1", port)).map_err(|e| {
            format!("port 127.0.0.1:{port} is not free for the lab's broker: {e} (stop what listens there or choose another port)")
        })?;
        listener
            .local_addr()
            .map_err(|e| e.to_string())?
            .to_string()
    };
    let url = format!("tcp://{addr}");
    children
        .spawn(
            "broker",
            bin,
            &[
                "broker",
                "--listener-url",
                &url,
                "--advertised-listener-url",
                &url,
                "--storage-engine",
                "sqlite://tansu.db",
            ],
            &[],
        )
        .map_err(|e| {
            if e.ends_with("not found") {
                format!("{e}: run `make up`, which builds and installs the local broker")
            } else {
                e
            }
        })?;
    let opts = KafkaOpts::plaintext(addr.clone());
    let deadline = tokio::time::Instant::now() + START_TIMEOUT;
    loop {
        if !children.is_running("broker") {
            return Err(format!(
                "the lab's broker ({bin}) exited at start; see broker.log in the run's directory"
            ));
        }
        let probe = opts.clone();
        let answered = tokio::task::spawn_blocking(move || {
            streamsre_kafka::admin::list_topics(&probe, Duration::from_secs(2))
        })
        .await
        .is_ok_and(|r| r.is_ok());
        if answered {
            return Ok(addr);
        }
        if tokio::time::Instant::now() >= deadline {
            return Err(format!("the lab's broker on {addr} did not answer within {START_TIMEOUT:?}; see broker.log"));
        }
        tokio::time::sleep(Duration::from_millis(200)).await;
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn dir(name: &str) -> std::path::PathBuf {
        std::env::temp_dir().join(format!("streamsre-broker-{}-{name}", std::process::id()))
    }

    /// Needs the local stack's `tansu` on PATH (`make test` installs it): fails loudly if not.
    #[tokio::test(flavor = "multi_thread")]
    async fn a_private_broker_answers_keeps_its_data_in_the_run_directory_and_stops() {
        let d = dir("private");
        let mut children = Children::new(&d).unwrap();
        let addr = start(&mut children, TANSU, 0).await.unwrap();
        let opts = KafkaOpts::plaintext(addr.clone());
        streamsre_kafka::admin::create_topic(&opts, "lab.private", 3, 1, Duration::from_secs(10))
            .await
            .unwrap();
        assert!(
            d.join("tansu.db").exists(),
            "sqlite storage lives in the run directory"
        );
        children.stop_all(Duration::from_secs(10)).await;
        assert!(
            TcpListener::bind(&addr).is_ok(),
            "the port is free again once the broker stopped"
        );
    }

    #[tokio::test]
    async fn a_taken_port_and_a_missing_binary_are_one_line_errors_with_the_fix() {
        let taken = TcpListener::bind("127.0.0.1:0").unwrap();
        let port = taken.local_addr().unwrap().port();
        let mut children = Children::new(&dir("taken")).unwrap();
        let err = start(&mut children, TANSU, port).await.unwrap_err();
        assert!(
            err.contains(&format!("127.0.0.1:{port} is not free"))
                && err.contains("choose another port"),
            "{err}"
        );
        let err = start(&mut children, "no-such-tansu", 0).await.unwrap_err();
        assert_eq!(err, "cannot start broker: no-such-tansu not found: run `make up`, which builds and installs the local broker");
        assert!(!err.contains('\n'));
    }
}
