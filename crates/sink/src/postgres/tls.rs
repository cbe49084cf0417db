//! `DATABASE_URL` → a driver config and a TLS connector, with libpq's `sslmode` and
//! `sslrootcert` meanings. tokio-postgres knows only disable/prefer/require and rejects
//! `sslrootcert`, so both are taken out of the URL here and carried out with rustls.
//!
//! | sslmode | encrypted | server certificate checked |
//! |---|---|---|
//! | `disable` | never | - |
//! | `prefer` (default) | if the server offers it | only against `sslrootcert`, when given (as libpq) |
//! | `require` | always | only against `sslrootcert`, when given (as libpq) |
//! | `verify-ca` | always | chain up to `sslrootcert` |
//! | `verify-full` | always | chain up to `sslrootcert` and the host name |

use std::path::{Path, PathBuf};
use std::str::FromStr;
use streamsre_tls::{load_roots as load_pem_roots, ServerCheck};
use tokio_postgres::config::SslMode as DriverSslMode;
use tokio_postgres_rustls::MakeRustlsConnect;

/// libpq's `sslmode`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum SslMode {
    /// Plain TCP.
    Disable,
    /// TLS when the server offers it (libpq's default).
    #[default]
    Prefer,
    /// TLS or fail.
    Require,
    /// TLS with a server certificate signed by `sslrootcert`.
    VerifyCa,
    /// As `VerifyCa`, and the certificate names the host connected to.
    VerifyFull,
}

impl SslMode {
    fn parse(value: &str) -> Result<Self, String> {
        Ok(match value {
            "disable" => Self::Disable,
            "prefer" => Self::Prefer,
            "require" => Self::Require,
            "verify-ca" => Self::VerifyCa,
            "verify-full" => Self::VerifyFull,
            "allow" => {
                return Err("sslmode=allow is not supported; use prefer or disable".to_string())
            }
            other => {
                return Err(format!(
                    "unknown sslmode {other:?} (disable, prefer, require, verify-ca, verify-full)"
                ))
            }
        })
    }
}

/// A parsed `DATABASE_URL`: the driver's config and the connector that carries out `sslmode`.
pub struct PgConnectOptions {
    /// tokio-postgres's config, with its own sslmode set to what the connector needs.
    pub config: tokio_postgres::Config,
    /// Always rustls; with `sslmode=disable` the driver never calls it.
    pub tls: MakeRustlsConnect,
    /// The mode asked for, for logs and tests.
    pub mode: SslMode,
}

impl PgConnectOptions {
    /// Parses a libpq URL (`postgres://…?sslmode=verify-full&sslrootcert=/ca.pem`) or a
    /// key/value string (`host=… sslmode=require`). Errors name the setting at fault and
    /// never echo the password.
    pub fn parse(url: &str) -> Result<Self, String> {
        let (rest, ssl) = take_ssl_settings(url)?;
        let mut config = tokio_postgres::Config::from_str(&rest)
            .map_err(|e| format!("invalid DATABASE_URL: {e}"))?;
        let mode = ssl.mode.unwrap_or_default();
        config.ssl_mode(match mode {
            SslMode::Disable => DriverSslMode::Disable,
            SslMode::Prefer => DriverSslMode::Prefer,
            SslMode::Require | SslMode::VerifyCa | SslMode::VerifyFull => DriverSslMode::Require,
        });
        let roots = match (&ssl.root_cert, mode) {
            (Some(path), _) => Some(load_roots(path)?),
            (None, SslMode::VerifyCa | SslMode::VerifyFull) => {
                let default = default_root_cert();
                if !default.is_file() {
                    return Err(format!(
                        "sslmode={} needs sslrootcert=FILE (the CA that signed the server's \
                         certificate); {} does not exist either",
                        if mode == SslMode::VerifyCa {
                            "verify-ca"
                        } else {
                            "verify-full"
                        },
                        default.display()
                    ));
                }
                Some(load_roots(&default)?)
            }
            (None, _) => None,
        };
        let client = ServerCheck::new(roots, mode == SslMode::VerifyFull)
            .and_then(ServerCheck::client_config)
            .map_err(|e| format!("TLS setup: {e}"))?;
        Ok(Self {
            config,
            tls: MakeRustlsConnect::new(client),
            mode,
        })
    }
}

impl PgConnectOptions {
    /// One connection outside the pool, for short-lived commands; its I/O task is spawned.
    pub async fn connect(self) -> Result<tokio_postgres::Client, tokio_postgres::Error> {
        let (client, connection) = self.config.connect(self.tls).await?;
        tokio::spawn(async move {
            if let Err(e) = connection.await {
                tracing::debug!(error = %e, "postgres connection closed");
            }
        });
        Ok(client)
    }
}

/// The TLS settings libpq reads and tokio-postgres does not.
#[derive(Default)]
struct SslSettings {
    mode: Option<SslMode>,
    root_cert: Option<PathBuf>,
}

/// Removes `sslmode` and `sslrootcert` from `url`, returning the rest for the driver.
fn take_ssl_settings(url: &str) -> Result<(String, SslSettings), String> {
    let mut ssl = SslSettings::default();
    let mut take = |key: &str, value: &str| -> Result<bool, String> {
        match key {
            "sslmode" => ssl.mode = Some(SslMode::parse(value)?),
            "sslrootcert" if value == "system" => {
                return Err("sslrootcert=system is not supported; give the CA file's path".into())
            }
            "sslrootcert" => ssl.root_cert = Some(PathBuf::from(value)),
            _ => return Ok(false),
        }
        Ok(true)
    };
    if url.starts_with("postgres://") || url.starts_with("postgresql://") {
        let mut parsed = url::Url::parse(url).map_err(|e| format!("invalid DATABASE_URL: {e}"))?;
        let mut kept = Vec::new();
        for (k, v) in parsed.query_pairs() {
            if !take(&k, &v)? {
                kept.push((k.into_owned(), v.into_owned()));
            }
        }
        if kept.is_empty() {
            parsed.set_query(None);
        } else {
            parsed.query_pairs_mut().clear().extend_pairs(kept);
        }
        Ok((parsed.to_string(), ssl))
    } else {
        // key=value form; values with spaces are quoted, and these two settings never need it.
        let mut kept = Vec::new();
        for token in url.split_whitespace() {
            match token.split_once('=') {
                Some((k, v)) if take(k, v)? => {}
                _ => kept.push(token),
            }
        }
        Ok((kept.join(" "), ssl))
    }
}

/// libpq's default CA file, `~/.postgresql/root.crt`.
fn default_root_cert() -> PathBuf {
    std::env::var_os("HOME")
        .map(PathBuf::from)
        .unwrap_or_default()
        .join(".postgresql/root.crt")
}

fn load_roots(path: &Path) -> Result<streamsre_tls::rustls::RootCertStore, String> {
    load_pem_roots(path).map_err(|e| format!("sslrootcert={e}"))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ssl_settings_leave_the_url_and_the_rest_stays() {
        let (rest, ssl) = take_ssl_settings(
            "postgres://app:pw@db:5432/x?sslmode=verify-full&application_name=a&sslrootcert=/ca.pem",
        )
        .unwrap();
        assert_eq!(rest, "postgres://app:pw@db:5432/x?application_name=a");
        assert_eq!(ssl.mode, Some(SslMode::VerifyFull));
        assert_eq!(ssl.root_cert, Some(PathBuf::from("/ca.pem")));

        let (rest, ssl) = take_ssl_settings("host=db user=app sslmode=require").unwrap();
        assert_eq!(rest, "host=db user=app");
        assert_eq!(ssl.mode, Some(SslMode::Require));
    }

    #[test]
    fn prefer_is_the_default_and_maps_to_the_driver() {
        let o = PgConnectOptions::parse("postgres://u@h/db").unwrap();
        assert_eq!(o.mode, SslMode::Prefer);
        assert_eq!(o.config.get_ssl_mode(), DriverSslMode::Prefer);
        let o = PgConnectOptions::parse("postgres://u@h/db?sslmode=disable").unwrap();
        assert_eq!(o.config.get_ssl_mode(), DriverSslMode::Disable);
    }

    #[test]
    fn bad_settings_name_themselves() {
        let err = |url: &str| PgConnectOptions::parse(url).err().unwrap();
        assert!(err("postgres://u@h/db?sslmode=bogus").contains("unknown sslmode"));
        assert!(err("postgres://u@h/db?sslmode=allow").contains("allow"));
        assert!(
            err("postgres://u@h/db?sslmode=require&sslrootcert=/nonexistent.pem")
                .contains("sslrootcert=/nonexistent.pem")
        );
        assert!(err("postgres://u@h/db?sslrootcert=system").contains("system"));
        if !default_root_cert().is_file() {
            // No ~/.postgresql/root.crt either: verify-full has no CA to check against.
            assert!(err("postgres://u:secret@h/db?sslmode=verify-full").contains("sslrootcert"));
        }
        assert!(!err("postgres://u:secret@h/db?sslmode=bogus").contains("secret"));
    }
}
