//! Looks at a broker's TLS certificate ourselves, to tell apart what librdkafka reports as
//! one error ("certificate verify failed"): a certificate from a CA the client does not trust,
//! and a good certificate for another host. One handshake, only when such a failure is seen.

use crate::failure::Cause;
use std::net::{TcpStream, ToSocketAddrs};
use std::path::Path;
use std::sync::{Arc, Mutex};
use std::time::Duration;
use streamsre_tls::rustls::pki_types::ServerName;
use streamsre_tls::rustls::{self, CertificateError};
use streamsre_tls::{load_roots, ServerCheck};

/// The verdict on the broker's certificate, with the evidence.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Verdict {
    /// `UntrustedCertificate`, `WrongHostCertificate` or `RejectedCertificate`.
    pub cause: Cause,
    /// What was seen, e.g. `certificate names other.example, not localhost`.
    pub detail: String,
}

/// Handshakes with `broker` (`host:port`) and checks its certificate against the CA file
/// `ca` (PEM), as librdkafka would. `None` when the certificate passes or no handshake
/// could be had (the failure is then left as librdkafka described it).
pub fn check(broker: &str, ca: &Path, timeout: Duration) -> Option<Verdict> {
    let (host, _) = broker.rsplit_once(':')?;
    let roots = load_roots(ca).ok()?;
    let seen = Arc::new(Mutex::new(None));
    let config = ServerCheck::new(Some(roots), true)
        .ok()?
        .recording(seen.clone())
        .client_config()
        .ok()?;
    let name = ServerName::try_from(host.to_string()).ok()?;
    let mut conn = rustls::ClientConnection::new(Arc::new(config), name).ok()?;
    let addr = broker.to_socket_addrs().ok()?.next()?;
    let mut tcp = TcpStream::connect_timeout(&addr, timeout).ok()?;
    tcp.set_read_timeout(Some(timeout)).ok()?;
    tcp.set_write_timeout(Some(timeout)).ok()?;
    // The verdict is recorded during the handshake; its outcome does not matter.
    let _ = conn.complete_io(&mut tcp);
    let verdict = seen.lock().unwrap_or_else(|e| e.into_inner()).take();
    verdict.and_then(|result: Result<(), rustls::Error>| {
        let err = result.err()?;
        Some(match err {
            rustls::Error::InvalidCertificate(CertificateError::NotValidForNameContext {
                expected,
                presented,
            }) => Verdict {
                cause: Cause::WrongHostCertificate,
                detail: format!(
                    "the certificate names {}, not {}",
                    presented
                        .iter()
                        .map(|p| plain_name(p))
                        .collect::<Vec<_>>()
                        .join(", "),
                    plain_name(&format!("{expected:?}"))
                ),
            },
            rustls::Error::InvalidCertificate(CertificateError::NotValidForName) => Verdict {
                cause: Cause::WrongHostCertificate,
                detail: format!("the certificate does not name {host}"),
            },
            // BadSignature: an issuer of the same name, but not the CA in the file.
            rustls::Error::InvalidCertificate(
                CertificateError::UnknownIssuer | CertificateError::BadSignature,
            ) => Verdict {
                cause: Cause::UntrustedCertificate,
                detail: format!("the certificate's issuer is not in {}", ca.display()),
            },
            other => Verdict {
                cause: Cause::RejectedCertificate,
                detail: other.to_string(),
            },
        })
    })
}

/// `DnsName("kafka-1")` → `kafka-1`, for messages.
fn plain_name(debug: &str) -> String {
    debug.replace("DnsName(\"", "").replace("\")", "")
}
