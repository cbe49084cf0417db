//! How streamsre checks a server's certificate, on both ends of the data path: the Postgres
//! sink's `sslmode` (`streamsre-sink`, `postgres/tls.rs`) and the diagnosis of a broker's
//! certificate when librdkafka's TLS handshake fails (`streamsre-kafka`, `tls_check.rs`).
//! librdkafka does its own TLS (OpenSSL); this is rustls with the ring provider.

#![warn(missing_docs)]

use rustls::client::danger::{HandshakeSignatureValid, ServerCertVerified, ServerCertVerifier};
use rustls::client::WebPkiServerVerifier;
use rustls::crypto::{ring, CryptoProvider};
use rustls::pki_types::pem::PemObject;
use rustls::pki_types::{CertificateDer, ServerName, UnixTime};
use rustls::{CertificateError, DigitallySignedStruct, RootCertStore, SignatureScheme};
use std::path::Path;
use std::sync::{Arc, Mutex};

pub use rustls;

/// The crypto provider every streamsre TLS client uses.
pub fn provider() -> Arc<CryptoProvider> {
    Arc::new(ring::default_provider())
}

/// The certificates of a PEM CA file; an error names the file and what is wrong with it.
pub fn load_roots(path: &Path) -> Result<RootCertStore, String> {
    let shown = path.display();
    let mut roots = RootCertStore::empty();
    let certs = CertificateDer::pem_file_iter(path).map_err(|e| format!("{shown}: {e}"))?;
    for cert in certs {
        let cert = cert.map_err(|e| format!("{shown}: {e}"))?;
        roots.add(cert).map_err(|e| format!("{shown}: {e}"))?;
    }
    if roots.is_empty() {
        return Err(format!("{shown}: no PEM certificate in the file"));
    }
    Ok(roots)
}

/// The outcome of the certificate check, kept by a [`ServerCheck`] that records it.
pub type Seen = Arc<Mutex<Option<Result<(), rustls::Error>>>>;

/// Checks a server's certificate: not at all (no roots), up to the roots only, or up to the
/// roots and for the host name. Handshake signatures are always checked. Optionally keeps the
/// verdict, so a caller can say *why* a certificate was refused.
#[derive(Debug)]
pub struct ServerCheck {
    chain: Option<Arc<WebPkiServerVerifier>>,
    check_name: bool,
    seen: Option<Seen>,
    provider: Arc<CryptoProvider>,
}

impl ServerCheck {
    /// A check against `roots` (none: accept any certificate), with or without the name.
    pub fn new(roots: Option<RootCertStore>, check_name: bool) -> Result<Self, String> {
        let provider = provider();
        let chain = roots
            .map(|roots| {
                WebPkiServerVerifier::builder_with_provider(Arc::new(roots), provider.clone())
                    .build()
                    .map_err(|e| e.to_string())
            })
            .transpose()?;
        Ok(Self {
            chain,
            check_name,
            seen: None,
            provider,
        })
    }

    /// Also keeps each verdict in `seen`.
    pub fn recording(mut self, seen: Seen) -> Self {
        self.seen = Some(seen);
        self
    }

    /// A client configuration that checks servers this way and sends no client certificate.
    pub fn client_config(self) -> Result<rustls::ClientConfig, String> {
        Ok(
            rustls::ClientConfig::builder_with_provider(self.provider.clone())
                .with_safe_default_protocol_versions()
                .map_err(|e| e.to_string())?
                .dangerous()
                .with_custom_certificate_verifier(Arc::new(self))
                .with_no_client_auth(),
        )
    }
}

impl ServerCertVerifier for ServerCheck {
    fn verify_server_cert(
        &self,
        end_entity: &CertificateDer<'_>,
        intermediates: &[CertificateDer<'_>],
        server_name: &ServerName<'_>,
        ocsp_response: &[u8],
        now: UnixTime,
    ) -> Result<ServerCertVerified, rustls::Error> {
        let Some(chain) = &self.chain else {
            return Ok(ServerCertVerified::assertion());
        };
        let result =
            chain.verify_server_cert(end_entity, intermediates, server_name, ocsp_response, now);
        if let Some(seen) = &self.seen {
            *seen.lock().unwrap_or_else(|e| e.into_inner()) =
                Some(result.as_ref().map(|_| ()).map_err(Clone::clone));
        }
        match result {
            // The chain is checked before the name, so a name error means the chain was good.
            Err(rustls::Error::InvalidCertificate(
                CertificateError::NotValidForName | CertificateError::NotValidForNameContext { .. },
            )) if !self.check_name => Ok(ServerCertVerified::assertion()),
            other => other,
        }
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
