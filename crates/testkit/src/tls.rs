//! Throwaway certificate authorities for the TLS tests: a CA per test run, server certificates
//! for the names a test connects to, client certificates for mTLS, all as PEM files.

use rcgen::{
    BasicConstraints, CertificateParams, DnType, ExtendedKeyUsagePurpose, IsCa, KeyPair,
    KeyUsagePurpose,
};
use std::path::{Path, PathBuf};

/// A certificate and its private key on disk.
#[derive(Debug, Clone)]
pub struct CertFiles {
    /// PEM certificate.
    pub cert: PathBuf,
    /// PEM private key (PKCS#8).
    pub key: PathBuf,
}

/// A CA that exists for one test: its certificate is at [`TestCa::cert`].
pub struct TestCa {
    dir: PathBuf,
    name: String,
    cert: rcgen::Certificate,
    key: KeyPair,
}

impl TestCa {
    /// A new CA called `name`, writing its files into `dir` (created if missing).
    pub fn new(dir: &Path, name: &str) -> Self {
        std::fs::create_dir_all(dir).expect("certificate dir");
        let mut params = CertificateParams::new(Vec::<String>::new()).expect("CA params");
        params.is_ca = IsCa::Ca(BasicConstraints::Unconstrained);
        params
            .distinguished_name
            .push(DnType::CommonName, format!("streamsre test CA {name}"));
        params.key_usages = vec![KeyUsagePurpose::KeyCertSign, KeyUsagePurpose::CrlSign];
        let key = KeyPair::generate().expect("CA key");
        let cert = params.self_signed(&key).expect("CA certificate");
        let ca = Self {
            dir: dir.to_path_buf(),
            name: name.to_string(),
            cert,
            key,
        };
        std::fs::write(ca.cert(), ca.cert.pem()).expect("write CA certificate");
        ca
    }

    /// The CA certificate (PEM), what a client passes as its trusted CA.
    pub fn cert(&self) -> PathBuf {
        self.dir.join(format!("{}-ca.pem", self.name))
    }

    /// A server certificate for `hosts` (DNS names or IP addresses).
    pub fn server(&self, name: &str, hosts: &[&str]) -> CertFiles {
        self.issue(name, hosts, ExtendedKeyUsagePurpose::ServerAuth)
    }

    /// A client certificate with common name `name`, for mTLS.
    pub fn client(&self, name: &str) -> CertFiles {
        self.issue(name, &[], ExtendedKeyUsagePurpose::ClientAuth)
    }

    fn issue(&self, name: &str, hosts: &[&str], usage: ExtendedKeyUsagePurpose) -> CertFiles {
        let hosts: Vec<String> = hosts.iter().map(|h| h.to_string()).collect();
        let mut params = CertificateParams::new(hosts).expect("certificate params");
        params.distinguished_name.push(DnType::CommonName, name);
        params.extended_key_usages = vec![usage];
        params.key_usages = vec![
            KeyUsagePurpose::DigitalSignature,
            KeyUsagePurpose::KeyEncipherment,
        ];
        let key = KeyPair::generate().expect("key");
        let cert = params
            .signed_by(&key, &self.cert, &self.key)
            .expect("sign certificate");
        let files = CertFiles {
            cert: self.dir.join(format!("{}-{name}.pem", self.name)),
            key: self.dir.join(format!("{}-{name}.key", self.name)),
        };
        std::fs::write(&files.cert, cert.pem()).expect("write certificate");
        std::fs::write(&files.key, key.serialize_pem()).expect("write key");
        // Postgres refuses a key readable by others.
        set_mode(&files.key, 0o600);
        files
    }
}

/// `chmod` for the key files.
pub fn set_mode(path: &Path, mode: u32) {
    use std::os::unix::fs::PermissionsExt;
    std::fs::set_permissions(path, std::fs::Permissions::from_mode(mode)).expect("chmod");
}
