//! `[server]`: where and how `lampart serve` listens, and what it accepts.

use std::net::SocketAddr;
use std::path::PathBuf;
use std::time::Duration;

use serde::Deserialize;

use crate::config::ByteSize;

/// `[server]`: the listener, TLS and limits. Every key has a default.
#[derive(Debug, Clone, PartialEq, Eq, Deserialize)]
#[serde(deny_unknown_fields, rename_all = "kebab-case")]
pub struct ServerSection {
    /// The address to listen on (`--listen` overrides it). Default `127.0.0.1:7766`.
    #[serde(default = "default_listen")]
    pub listen: SocketAddr,
    /// Threads that serve requests and decide (each decision runs on the thread that read
    /// its request). Default: one per core.
    #[serde(default)]
    pub threads: Option<usize>,
    /// The largest request body. Default 1 MiB.
    #[serde(default = "default_max_body")]
    pub max_body: ByteSize,
    /// Connections served at once; one more is answered 503 and closed. Default 1024.
    #[serde(default = "default_max_connections")]
    pub max_connections: usize,
    /// Decisions waiting for a thread at once; one more is answered 503. Default 4096.
    #[serde(default = "default_max_pending")]
    pub max_pending: usize,
    /// How long a client may take to send a request's headers. Default 10 s.
    #[serde(default = "default_header_timeout", with = "humantime_serde_compat")]
    pub header_timeout: Duration,
    /// How long a request may take from its headers to its answer, body included. Default 30 s.
    #[serde(default = "default_request_timeout", with = "humantime_serde_compat")]
    pub request_timeout: Duration,
    /// HTTPS instead of HTTP.
    #[serde(default)]
    pub tls: Option<TlsSection>,
    /// Reload when the config file or a plugin file changes. Default true.
    #[serde(default = "yes")]
    pub watch: bool,
}

impl Default for ServerSection {
    fn default() -> Self {
        ServerSection {
            listen: default_listen(),
            threads: None,
            max_body: default_max_body(),
            max_connections: default_max_connections(),
            max_pending: default_max_pending(),
            header_timeout: default_header_timeout(),
            request_timeout: default_request_timeout(),
            tls: None,
            watch: true,
        }
    }
}

/// `[server.tls]`: the certificate chain and private key, PEM files (relative to the config).
#[derive(Debug, Clone, PartialEq, Eq, Deserialize)]
#[serde(deny_unknown_fields, rename_all = "kebab-case")]
pub struct TlsSection {
    /// The certificate chain, leaf first.
    pub cert_file: PathBuf,
    /// The private key (PKCS#8, PKCS#1 or SEC1).
    pub key_file: PathBuf,
}

/// The default listen address: loopback only, so a service is never exposed by accident.
pub const DEFAULT_LISTEN: &str = "127.0.0.1:7766";

fn default_listen() -> SocketAddr {
    DEFAULT_LISTEN.parse().unwrap_or_else(|_| unreachable!())
}

fn default_max_body() -> ByteSize {
    ByteSize(1 << 20)
}

fn default_max_connections() -> usize {
    1024
}

fn default_max_pending() -> usize {
    4096
}

fn default_header_timeout() -> Duration {
    Duration::from_secs(10)
}

fn default_request_timeout() -> Duration {
    Duration::from_secs(30)
}

fn yes() -> bool {
    true
}

/// `[elevation]`: how long grants last and what happens to a request for privileges that no
/// policy decided. Applies on reload.
#[derive(Debug, Clone, PartialEq, Eq, Deserialize)]
#[serde(deny_unknown_fields, rename_all = "kebab-case")]
pub struct ElevationSection {
    /// The longest a grant may last, whatever the agent or an operator asks. Default 1 h.
    #[serde(default = "default_max_ttl", with = "humantime_serde_compat")]
    pub max_ttl: Duration,
    /// How long a grant lasts when nobody says. Default 15 min (at most `max-ttl`).
    #[serde(default = "default_ttl", with = "humantime_serde_compat")]
    pub default_ttl: Duration,
    /// How long a request waits for an operator before it lapses. Default 1 h.
    #[serde(default = "default_max_ttl", with = "humantime_serde_compat")]
    pub pending_ttl: Duration,
    /// A request no policy decided (the chain's default deny): `hold` it for an operator
    /// (the default) or `deny` it.
    #[serde(default)]
    pub undecided: Undecided,
}

impl Default for ElevationSection {
    fn default() -> Self {
        ElevationSection {
            max_ttl: default_max_ttl(),
            default_ttl: default_ttl(),
            pending_ttl: default_max_ttl(),
            undecided: Undecided::Hold,
        }
    }
}

impl ElevationSection {
    /// Checks the section's values against each other.
    pub fn check(&self) -> Result<(), String> {
        if self.default_ttl > self.max_ttl {
            return Err(format!(
                "[elevation] default-ttl ({}) is longer than max-ttl ({})",
                humantime::format_duration(self.default_ttl),
                humantime::format_duration(self.max_ttl)
            ));
        }
        Ok(())
    }
}

/// What becomes of a request for privileges that no policy decided.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Undecided {
    /// It waits for an operator.
    #[default]
    Hold,
    /// It is denied.
    Deny,
}

fn default_max_ttl() -> Duration {
    Duration::from_secs(3600)
}

fn default_ttl() -> Duration {
    Duration::from_secs(15 * 60)
}

/// Durations written as humantime text (`"10s"`, `"1m 30s"`), never zero.
pub(crate) mod humantime_serde_compat {
    use std::time::Duration;

    use serde::{Deserialize, Deserializer};

    /// A positive duration written like `10s` or `2m 30s`.
    pub fn deserialize<'de, D: Deserializer<'de>>(d: D) -> Result<Duration, D::Error> {
        let text = String::deserialize(d)?;
        let duration = humantime::parse_duration(&text).map_err(|e| {
            serde::de::Error::custom(format!("`{text}` is not a duration like \"10s\": {e}"))
        })?;
        if duration.is_zero() {
            return Err(serde::de::Error::custom(
                "a timeout must be longer than zero",
            ));
        }
        Ok(duration)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn parse(text: &str) -> Result<ServerSection, toml::de::Error> {
        toml::from_str(text)
    }

    #[test]
    fn everything_has_a_default() {
        assert_eq!(parse("").unwrap(), ServerSection::default());
        assert_eq!(ServerSection::default().listen.to_string(), DEFAULT_LISTEN);
    }

    #[test]
    fn reads_limits_and_tls() {
        let section = parse(
            "listen = \"0.0.0.0:9000\"\nmax-body = \"64 KiB\"\nheader-timeout = \"2s\"\n[tls]\ncert-file = \"c.pem\"\nkey-file = \"k.pem\"\n",
        )
        .unwrap();
        assert_eq!(section.listen.port(), 9000);
        assert_eq!(section.max_body.0, 64 << 10);
        assert_eq!(section.header_timeout, Duration::from_secs(2));
        assert_eq!(section.tls.unwrap().key_file, PathBuf::from("k.pem"));
    }

    #[test]
    fn refuses_bad_values_naming_them() {
        let err = parse("listen = \"localhost\"").unwrap_err().to_string();
        assert!(err.contains("listen"), "{err}");
        let err = parse("request-timeout = \"0s\"").unwrap_err().to_string();
        assert!(err.contains("longer than zero"), "{err}");
        let err = parse("max-conections = 3").unwrap_err().to_string();
        assert!(err.contains("max-conections"), "{err}");
    }
}
