//! Looks at a broker's TLS certificate ourselves, to tell apart what librdkafka reports as
//! one error ("certificate verify failed"): a certificate from a CA the client does not trust,
//! and a good certificate for another host. One handshake, only when such a failure is seen.

use crate::failure::Cause;
use rustls::client::danger::{HandshakeSignatureValid, ServerCertVerified, ServerCertVerifier};
use rustls::client::WebPkiServerVerifier;
use rustls::pki_types::pem::PemObject;
use rustls::pki_types::{CertificateDer, ServerName, UnixTime};
use rustls::{CertificateError, DigitallySignedStruct, SignatureScheme};
use std::net::{TcpStream, ToSocketAddrs};
use std::path::Path;
use std::sync::{Arc, Mutex};
use std::time::Duration;

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
    let mut roots = rustls::RootCertStore::empty();
    for cert in CertificateDer::pem_file_iter(ca).ok()? {
        roots.add(cert.ok()?).ok()?;
    }
    let provider = Arc::new(rustls::crypto::ring::default_provider());
    let inner = WebPkiServerVerifier::builder_with_provider(Arc::new(roots), provider.clone())
        .build()
        .ok()?;
    let seen = Arc::new(Mutex::new(None));
    let recorder = Recorder {
        inner,
        provider: provider.clone(),
        seen: seen.clone(),
    };
    let config = rustls::ClientConfig::builder_with_provider(provider)
        .with_safe_default_protocol_versions()
        .ok()?
        .dangerous()
        .with_custom_certificate_verifier(Arc::new(recorder))
        .with_no_client_auth();
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

/// Checks like the normal verifier and keeps the result for [`check`].
#[derive(Debug)]
struct Recorder {
    inner: Arc<WebPkiServerVerifier>,
    provider: Arc<rustls::crypto::CryptoProvider>,
    seen: Arc<Mutex<Option<Result<(), rustls::Error>>>>,
}

impl ServerCertVerifier for Recorder {
    fn verify_server_cert(
        &self,
        end_entity: &CertificateDer<'_>,
        intermediates: &[CertificateDer<'_>],
        server_name: &ServerName<'_>,
        ocsp: &[u8],
        now: UnixTime,
    ) -> Result<ServerCertVerified, rustls::Error> {
        let result =
            self.inner
                .verify_server_cert(end_entity, intermediates, server_name, ocsp, now);
        *self.seen.lock().unwrap_or_else(|e| e.into_inner()) =
            Some(result.as_ref().map(|_| ()).map_err(Clone::clone));
        result
    }

    fn verify_tls12_signature(
        &self,
        message: &[u8],
        cert: &CertificateDer<'_>,
        dss: &DigitallySignedStruct,
    ) -> Result<HandshakeSignatureValid, rustls::Error> {
        rustls::crypto::verify_tls12_signature(
            message,
            cert,
            dss,
            &self.provider.signature_verification_algorithms,
        )
    }

    fn verify_tls13_signature(
        &self,
        message: &[u8],
        cert: &CertificateDer<'_>,
        dss: &DigitallySignedStruct,
    ) -> Result<HandshakeSignatureValid, rustls::Error> {
        rustls::crypto::verify_tls13_signature(
            message,
            cert,
            dss,
            &self.provider.signature_verification_algorithms,
        )
    }

    fn supported_verify_schemes(&self) -> Vec<SignatureScheme> {
        self.provider
            .signature_verification_algorithms
            .supported_schemes()
    }
}
