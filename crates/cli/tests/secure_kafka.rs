//! Kafka over TLS, mTLS and SASL, end to end against a real Tansu serving each: a throwaway CA
//! per test, SCRAM users stored by the broker, and the real `streamsre` processes for
//! `topic`, `produce`, `consume` and `lag`. Then each connection failure an operator meets
//! first, asserted by its one log line and by `/readyz`.

mod common;

use common::{assert_exactly_once, consumer_env, readyz_dependency, wait_alive, wait_rows, BIN};
use std::path::PathBuf;
use std::time::Duration;
use streamsre_kafka::{KafkaSecurity, SaslMechanism, Secret, SecurityProtocol};
use streamsre_testkit::{
    http_get, unique, CertFiles, Listener, OwnBroker, Proc, ScramUser, TestCa, TestDb,
};

const PASSWORD: &str = "Pw-7f3e9c-never-printed";

/// A directory and CA of this test's own.
fn test_ca(name: &str) -> (TestCa, PathBuf) {
    let dir = std::env::temp_dir().join(unique("tls"));
    (TestCa::new(&dir, name), dir)
}

fn server_cert(ca: &TestCa) -> CertFiles {
    ca.server("broker", &["localhost", "127.0.0.1"])
}

fn scram_user(name: &str, mechanism: &'static str) -> ScramUser {
    ScramUser {
        name: name.into(),
        password: PASSWORD.into(),
        mechanism,
    }
}

fn sasl(
    protocol: SecurityProtocol,
    mechanism: SaslMechanism,
    user: &str,
    ca: Option<&TestCa>,
) -> KafkaSecurity {
    KafkaSecurity {
        protocol,
        sasl_mechanism: Some(mechanism),
        sasl_username: Some(user.into()),
        sasl_password: Some(Secret::new(PASSWORD)),
        ssl_ca_location: ca.map(TestCa::cert),
        ..Default::default()
    }
}

/// The environment variables an operator would set for `security` (the flags' env names).
fn env_of(brokers: &str, security: &KafkaSecurity) -> Env {
    let mut env = vec![
        ("KAFKA_BROKERS", brokers.to_string()),
        (
            "KAFKA_SECURITY_PROTOCOL",
            security.protocol.as_str().to_string(),
        ),
        // Fast group settings for a test broker, as the other end-to-end tests use.
        ("KAFKA_OPTS", streamsre_testkit::FAST_GROUP_OPTS.to_string()),
    ];
    let mut put = |k: &'static str, v: Option<String>| {
        if let Some(v) = v {
            env.push((k, v));
        }
    };
    put(
        "KAFKA_SASL_MECHANISM",
        security.sasl_mechanism.map(|m| m.as_str().to_string()),
    );
    put("KAFKA_SASL_USERNAME", security.sasl_username.clone());
    put(
        "KAFKA_SASL_PASSWORD",
        security
            .sasl_password
            .as_ref()
            .map(|p| p.expose().to_string()),
    );
    let path = |p: &Option<PathBuf>| p.as_ref().map(|p| p.display().to_string());
    put("KAFKA_SSL_CA_LOCATION", path(&security.ssl_ca_location));
    put(
        "KAFKA_SSL_CERTIFICATE_LOCATION",
        path(&security.ssl_certificate_location),
    );
    put("KAFKA_SSL_KEY_LOCATION", path(&security.ssl_key_location));
    env
}

type Env = Vec<(&'static str, String)>;

fn borrowed<'a>(env: &'a [(&'static str, String)]) -> Vec<(&'static str, &'a str)> {
    env.iter().map(|(k, v)| (*k, v.as_str())).collect()
}

fn spawn(name: &str, args: &[&str], env: &[(&'static str, String)]) -> Proc {
    Proc::spawn(BIN, name, args, &borrowed(env))
}

/// A consumer of `topic` configured by `env` alone; returns it and its ops address.
fn consumer(
    topic: &str,
    group: &str,
    db: &TestDb,
    env: &[(&'static str, String)],
) -> (Proc, String) {
    consumer_env(topic, group, db, &[], &borrowed(env))
}

/// Polls `/readyz` at `addr` until it is 503 with `expected` in it; fails early if `proc` exits.
async fn wait_not_ready(proc: &mut Proc, addr: &str, expected: &str) -> String {
    wait_alive(
        proc,
        &format!("/readyz 503 saying {expected:?}"),
        Duration::from_secs(60),
        || async {
            match http_get(addr, "/readyz").await {
                Ok((503, body)) if body.contains(expected) => Ok(body),
                other => Err(format!("{other:?}")),
            }
        },
    )
    .await
}

async fn run_ok(name: &str, args: &[&str], env: &[(&'static str, String)]) -> Proc {
    let mut p = spawn(name, args, env);
    let status = p.wait_exit(Duration::from_secs(120)).await.unwrap();
    assert!(status.success(), "{name} failed:\n{}", p.stderr_tail());
    p
}

/// `topic create`, `produce`, `consume` and `lag` with `env`; every event lands exactly once.
/// Returns every process and HTTP body, for the secrets check.
async fn round_trip(env: &[(&'static str, String)]) -> Vec<String> {
    const EVENTS: i64 = 300;
    let topic = unique("sec");
    let group = unique("g");
    let db = TestDb::create().await;
    let mut seen = Vec::new();
    for t in [topic.clone(), format!("{topic}.dlq")] {
        let p = run_ok("topic", &["topic", "create", &t, "--partitions", "3"], env).await;
        seen.push(p.stdout() + &p.stderr());
    }
    let p = run_ok(
        "produce",
        &[
            "produce",
            "--topic",
            &topic,
            "--count",
            &EVENTS.to_string(),
            "--rate",
            "0",
        ],
        env,
    )
    .await;
    seen.push(p.stdout() + &p.stderr());
    let (mut consumer, addr) = consumer(&topic, &group, &db, env);
    wait_rows(&db, EVENTS, Duration::from_secs(90)).await;
    assert_exactly_once(&db, EVENTS).await;
    for path in ["/readyz", "/metrics"] {
        let (_, body) = http_get(&addr, path).await.unwrap();
        seen.push(body);
    }
    let lag = run_ok(
        "lag",
        &["lag", "--topic", &topic, "--group", &group, "--json"],
        env,
    )
    .await;
    seen.push(lag.stdout() + &lag.stderr());
    consumer.sigterm();
    consumer.wait_exit(Duration::from_secs(30)).await.unwrap();
    seen.push(consumer.stdout() + &consumer.stderr());
    seen
}

fn assert_no_password(outputs: &[String]) {
    for (i, text) in outputs.iter().enumerate() {
        assert!(
            !text.contains(PASSWORD),
            "output {i} shows the SASL password:\n{text}"
        );
    }
}

#[tokio::test]
async fn sasl_ssl_with_scram_sha_512_and_sha_256_round_trips_and_never_shows_the_password() {
    let (ca, _dir) = test_ca("kafka");
    let users = [
        scram_user("app512", "scram512"),
        scram_user("app256", "scram256"),
    ];
    let listener = Listener {
        tls: Some(server_cert(&ca)),
        authentication: true,
        ..Default::default()
    };
    let client = sasl(
        SecurityProtocol::SaslSsl,
        SaslMechanism::ScramSha512,
        "app512",
        Some(&ca),
    );
    let broker = OwnBroker::start_secure(listener, &users, client.clone()).await;
    let mut seen = round_trip(&env_of(&broker.host_addr(), &client)).await;
    let client256 = sasl(
        SecurityProtocol::SaslSsl,
        SaslMechanism::ScramSha256,
        "app256",
        Some(&ca),
    );
    seen.extend(round_trip(&env_of(&broker.host_addr(), &client256)).await);
    // --help shows which variables exist, never a password's value.
    let help = std::process::Command::new(BIN)
        .args(["consume", "--help"])
        .env("KAFKA_SASL_PASSWORD", PASSWORD)
        .output()
        .unwrap();
    let help = String::from_utf8_lossy(&help.stdout).to_string();
    assert!(help.contains("KAFKA_SASL_PASSWORD"), "{help}");
    seen.push(help);
    assert_no_password(&seen);
}

#[tokio::test]
async fn mtls_over_ssl_round_trips_and_a_client_without_a_certificate_is_told_why() {
    let (ca, _dir) = test_ca("kafka");
    let listener = Listener {
        tls: Some(server_cert(&ca)),
        client_ca: Some(ca.cert()),
        ..Default::default()
    };
    let client_cert = ca.client("app");
    let client = KafkaSecurity {
        protocol: SecurityProtocol::Ssl,
        ssl_ca_location: Some(ca.cert()),
        ssl_certificate_location: Some(client_cert.cert.clone()),
        ssl_key_location: Some(client_cert.key.clone()),
        ..Default::default()
    };
    let broker = OwnBroker::start_secure(listener, &[], client.clone()).await;
    round_trip(&env_of(&broker.host_addr(), &client)).await;

    let without_cert = KafkaSecurity {
        protocol: SecurityProtocol::Ssl,
        ssl_ca_location: Some(ca.cert()),
        ..Default::default()
    };
    assert_consumer_explains(
        &env_of(&broker.host_addr(), &without_cert),
        "requires a client certificate",
        "client_certificate_required",
    )
    .await;
}

#[tokio::test]
async fn sasl_plaintext_with_plain_round_trips() {
    let listener = Listener {
        authentication: true,
        ..Default::default()
    };
    let client = sasl(
        SecurityProtocol::SaslPlaintext,
        SaslMechanism::Plain,
        "app",
        None,
    );
    let broker = OwnBroker::start_secure(listener, &[], client.clone()).await;
    round_trip(&env_of(&broker.host_addr(), &client)).await;
}

/// Starts a consumer with `env` and waits until `/readyz` is 503 naming `kafka` with
/// `expected`; then, once librdkafka has retried a few times, the cause has been logged
/// exactly once, at error level, and the process is still up (no crash loop).
async fn assert_consumer_explains(env: &[(&'static str, String)], expected: &str, label: &str) {
    let db = TestDb::create().await;
    let mut env = env.to_vec();
    // librdkafka's own lines at debug, to count its retries.
    env.push(("RUST_LOG", "info,streamsre_kafka=debug".to_string()));
    let (mut consumer, addr) = consumer(&unique("sec"), &unique("g"), &db, &env);
    let body = wait_not_ready(&mut consumer, &addr, expected).await;
    let dep = readyz_dependency(&body, "kafka").expect("a kafka dependency");
    assert_eq!(dep["ok"], false, "{body}");
    assert!(dep["detail"].as_str().unwrap().contains(label), "{body}");
    let stderr = consumer.stderr_file();
    wait_alive(
        &mut consumer,
        "librdkafka to retry 3 times",
        Duration::from_secs(60),
        || {
            let stderr = stderr.clone();
            async move {
                let text = std::fs::read_to_string(&stderr).unwrap_or_default();
                let retries = text
                    .lines()
                    .filter(|l| l.contains("\"fac\":\"FAIL\""))
                    .count();
                if retries >= 3 {
                    Ok(())
                } else {
                    Err(format!("{retries} FAIL lines"))
                }
            }
        },
    )
    .await;
    let logged: Vec<String> = consumer
        .stderr()
        .lines()
        .filter(|l| l.contains("\"level\":\"ERROR\"") && l.contains(expected))
        .map(String::from)
        .collect();
    assert_eq!(logged.len(), 1, "the cause is logged once: {logged:#?}");
    assert!(consumer.is_running(), "{}", consumer.stderr_tail());
}

#[tokio::test]
async fn each_connection_failure_names_its_cause_in_one_line_and_in_readyz() {
    let (ca, _dir) = test_ca("kafka");
    let users = [scram_user("app", "scram512")];
    let listener = Listener {
        tls: Some(server_cert(&ca)),
        authentication: true,
        ..Default::default()
    };
    let good = sasl(
        SecurityProtocol::SaslSsl,
        SaslMechanism::ScramSha512,
        "app",
        Some(&ca),
    );
    let broker = OwnBroker::start_secure(listener, &users, good.clone()).await;
    let addr = broker.host_addr();

    let mut bad_password = good.clone();
    bad_password.sasl_password = Some(Secret::new("not-the-password"));
    assert_consumer_explains(
        &env_of(&addr, &bad_password),
        "authentication failed",
        "authentication",
    )
    .await;
    // The one-shot commands say the same, in their error or once in their log.
    let mut env = env_of(&addr, &bad_password);
    env.retain(|(k, _)| *k != "KAFKA_OPTS");
    env.push(("KAFKA_OPTS", "message.timeout.ms=3000".to_string()));
    let mut topic_list = spawn("topic", &["topic", "list"], &env);
    assert!(!topic_list
        .wait_exit(Duration::from_secs(60))
        .await
        .unwrap()
        .success());
    assert!(
        topic_list.stderr().contains("authentication failed"),
        "{}",
        topic_list.stderr_tail()
    );
    let mut produce = spawn(
        "produce",
        &["produce", "--topic", "t", "--count", "5", "--rate", "0"],
        &env,
    );
    assert!(!produce
        .wait_exit(Duration::from_secs(60))
        .await
        .unwrap()
        .success());
    let said = produce
        .stderr()
        .lines()
        .filter(|l| l.contains("authentication failed"))
        .count();
    assert_eq!(said, 1, "{}", produce.stderr_tail());

    let (other_ca, _other_dir) = test_ca("other");
    let mut unknown_ca = good.clone();
    unknown_ca.ssl_ca_location = Some(other_ca.cert());
    assert_consumer_explains(
        &env_of(&addr, &unknown_ca),
        "not signed by a trusted CA",
        "untrusted_certificate",
    )
    .await;

    let plaintext = KafkaSecurity::default();
    assert_consumer_explains(
        &env_of(&addr, &plaintext),
        "probably a TLS listener",
        "tls_listener",
    )
    .await;

    // A certificate from the right CA for another host.
    let wrong_host = Listener {
        tls: Some(ca.server("elsewhere", &["kafka.elsewhere.example"])),
        ..Default::default()
    };
    let tls_only = KafkaSecurity {
        protocol: SecurityProtocol::Ssl,
        ssl_ca_location: Some(ca.cert()),
        // The broker's certificate does not name localhost, so the harness itself connects
        // without the name check; the consumer below does check.
        ssl_skip_hostname_verification: true,
        ..Default::default()
    };
    let other = OwnBroker::start_secure(wrong_host, &[], tls_only.clone()).await;
    let checked = KafkaSecurity {
        ssl_skip_hostname_verification: false,
        ..tls_only
    };
    assert_consumer_explains(
        &env_of(&other.host_addr(), &checked),
        "is for another host",
        "wrong_host_certificate",
    )
    .await;

    // Nothing listening: transient, said once as a warning, not an error.
    let down = env_of(&streamsre_testkit::free_addr(), &KafkaSecurity::default());
    let db = TestDb::create().await;
    let (mut consumer, maddr) = consumer(&unique("sec"), &unique("g"), &db, &down);
    let body = wait_not_ready(&mut consumer, &maddr, "unreachable").await;
    assert!(body.contains("will keep retrying"), "{body}");
    assert!(
        !consumer
            .stderr()
            .lines()
            .any(|l| l.contains("\"level\":\"ERROR\"") && l.contains("unreachable")),
        "a broker that is down is transient: {}",
        consumer.stderr_tail()
    );
}
