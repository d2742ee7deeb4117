//! `[state]`: which backend keeps session state, where, and for how long a session lives.
//!
//! ```toml
//! [state]
//! backend = "sqlite"        # default; or "postgres"
//! dir = "state"             # sqlite only: relative to the config file's directory
//! session-ttl = "24h"       # sliding: every use of a session extends it
//!
//! # or, shared by replicas:
//! [state]
//! backend = "postgres"
//! url-env = "LAMPART_STATE_URL"   # or url = "postgres://…" (then the password is in the file)
//! schema = "lampart"              # created if absent; every table lives in it
//! max-connections = 16
//! ```
//!
//! The section is checked once, when it is read: a key that does not apply to the chosen
//! backend, a zero TTL, a bad schema name or a malformed URL is refused with one line naming
//! the key.

use std::fmt;
use std::path::PathBuf;
use std::str::FromStr;
use std::time::Duration;

use serde::Deserialize;

/// `[state]`: where session state is kept, checked when read.
#[derive(Debug, Clone, PartialEq, Eq, Deserialize)]
#[serde(try_from = "RawStateSection")]
pub struct StateSection {
    /// The backend and its settings.
    pub backend: BackendConfig,
    /// How long an unused session lives (`session-ttl`); every use extends it by this much.
    pub session_ttl: Duration,
}

impl Default for StateSection {
    fn default() -> Self {
        StateSection {
            backend: BackendConfig::Sqlite {
                dir: PathBuf::from(DEFAULT_DIR),
            },
            session_ttl: DEFAULT_TTL,
        }
    }
}

/// The default state directory, relative to the config file's directory.
pub const DEFAULT_DIR: &str = "state";
/// The default session lifetime: 24 hours.
pub const DEFAULT_TTL: Duration = Duration::from_secs(24 * 60 * 60);
/// The default PostgreSQL schema.
pub const DEFAULT_SCHEMA: &str = "lampart";
/// The default size of the PostgreSQL connection pool.
pub const DEFAULT_MAX_CONNECTIONS: u32 = 16;

/// Which backend keeps the state, with its settings.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum BackendConfig {
    /// An embedded SQLite file, exclusive to one process.
    Sqlite {
        /// The state directory (`dir`), relative to the config file's directory unless
        /// absolute.
        dir: PathBuf,
    },
    /// A PostgreSQL server, shared by replicas.
    Postgres(PostgresConfig),
}

/// `backend = "postgres"`: the server and how to use it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PostgresConfig {
    /// Where the connection URL comes from (`url` or `url-env`).
    pub url: UrlSource,
    /// The schema every table lives in (`schema`), created if absent.
    pub schema: String,
    /// The size of the connection pool (`max-connections`).
    pub max_connections: u32,
}

/// Where the PostgreSQL connection URL comes from.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum UrlSource {
    /// Written in the config (`url`).
    Url(DatabaseUrl),
    /// The value of this environment variable when the store is opened (`url-env`).
    Env(String),
}

/// A database URL; its password never appears in `Debug` or `Display` output.
#[derive(Clone, PartialEq, Eq)]
pub struct DatabaseUrl(String);

impl DatabaseUrl {
    /// Checks that `url` is a PostgreSQL URL sqlx can connect with.
    pub fn parse(url: &str) -> Result<DatabaseUrl, String> {
        let redacted = redact(url);
        if !(url.starts_with("postgres://") || url.starts_with("postgresql://")) {
            return Err(format!(
                "`{redacted}` is not a PostgreSQL URL (it must start with postgres://)"
            ));
        }
        sqlx::postgres::PgConnectOptions::from_str(url)
            .map_err(|e| format!("`{redacted}`: {}", one_line(&e.to_string())))?;
        Ok(DatabaseUrl(url.to_string()))
    }

    /// The URL itself, password included: only for connecting.
    pub fn expose(&self) -> &str {
        &self.0
    }
}

impl fmt::Debug for DatabaseUrl {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "DatabaseUrl({:?})", redact(&self.0))
    }
}

impl fmt::Display for DatabaseUrl {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&redact(&self.0))
    }
}

/// `url` with the password in its user info and any query string replaced by `***`, and its
/// control characters escaped.
pub(crate) fn redact(url: &str) -> String {
    let (scheme, rest) = match url.split_once("://") {
        Some((scheme, rest)) => (Some(scheme), rest),
        None => (None, url),
    };
    let (rest, query) = match rest.split_once('?') {
        Some((rest, _)) => (rest, "?***"),
        None => (rest, ""),
    };
    // The user info ends at the last `@`, even when a malformed password holds a `/`.
    let rest = match rest.rsplit_once('@') {
        Some((user_info, host_and_path)) => match user_info.split_once(':') {
            Some((user, _password)) => format!("{user}:***@{host_and_path}"),
            None => rest.to_string(),
        },
        None => rest.to_string(),
    };
    let scheme = scheme.map(|s| format!("{s}://")).unwrap_or_default();
    crate::text::escape(&format!("{scheme}{rest}{query}"))
}

/// `text` on one line: line breaks and other control characters escaped.
pub(crate) fn one_line(text: &str) -> String {
    crate::text::escape(text)
}

/// The backend named by `backend`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "lowercase")]
enum BackendName {
    Sqlite,
    Postgres,
}

/// `[state]` as written, before its keys are checked against each other.
#[derive(Deserialize)]
#[serde(deny_unknown_fields, rename_all = "kebab-case")]
struct RawStateSection {
    #[serde(default)]
    backend: Option<BackendName>,
    #[serde(default)]
    dir: Option<PathBuf>,
    #[serde(default)]
    url: Option<String>,
    #[serde(default)]
    url_env: Option<String>,
    #[serde(default)]
    schema: Option<String>,
    #[serde(default)]
    max_connections: Option<u32>,
    #[serde(default)]
    session_ttl: Option<String>,
}

impl TryFrom<RawStateSection> for StateSection {
    type Error = String;

    fn try_from(raw: RawStateSection) -> Result<StateSection, String> {
        let session_ttl = match &raw.session_ttl {
            None => DEFAULT_TTL,
            Some(text) => parse_ttl(text)?,
        };
        let backend = match raw.backend.unwrap_or(BackendName::Sqlite) {
            BackendName::Sqlite => {
                for (key, present) in [
                    ("url", raw.url.is_some()),
                    ("url-env", raw.url_env.is_some()),
                    ("schema", raw.schema.is_some()),
                    ("max-connections", raw.max_connections.is_some()),
                ] {
                    if present {
                        return Err(format!(
                            "`{key}` applies only to backend = \"postgres\"; the sqlite backend keeps its file under `dir`"
                        ));
                    }
                }
                let dir = raw.dir.unwrap_or_else(|| PathBuf::from(DEFAULT_DIR));
                if dir.as_os_str().is_empty() {
                    return Err("`dir` is empty; name the state directory".to_string());
                }
                BackendConfig::Sqlite { dir }
            }
            BackendName::Postgres => {
                if raw.dir.is_some() {
                    return Err(
                        "`dir` applies only to backend = \"sqlite\"; PostgreSQL is named by `url` or `url-env`"
                            .to_string(),
                    );
                }
                let url = match (raw.url, raw.url_env) {
                    (Some(_), Some(_)) => {
                        return Err("`url` and `url-env` are both set; use one".to_string());
                    }
                    (None, None) => {
                        return Err(
                            "backend = \"postgres\" needs `url` or `url-env` (an environment variable holding the URL)"
                                .to_string(),
                        );
                    }
                    (Some(url), None) => {
                        UrlSource::Url(DatabaseUrl::parse(&url).map_err(|e| format!("`url`: {e}"))?)
                    }
                    (None, Some(name)) => UrlSource::Env(check_env_name(name)?),
                };
                let schema = match raw.schema {
                    None => DEFAULT_SCHEMA.to_string(),
                    Some(schema) => check_schema(schema)?,
                };
                let max_connections = raw.max_connections.unwrap_or(DEFAULT_MAX_CONNECTIONS);
                if max_connections == 0 {
                    return Err("`max-connections` must be at least 1".to_string());
                }
                BackendConfig::Postgres(PostgresConfig {
                    url,
                    schema,
                    max_connections,
                })
            }
        };
        Ok(StateSection {
            backend,
            session_ttl,
        })
    }
}

/// The longest TTL accepted: a hundred years, so that expiry times never overflow.
const MAX_TTL: Duration = Duration::from_secs(100 * 365 * 24 * 60 * 60);

fn parse_ttl(text: &str) -> Result<Duration, String> {
    let ttl = humantime::parse_duration(text)
        .map_err(|e| format!("`session-ttl`: duration `{}`: {e}", one_line(text)))?;
    if ttl.is_zero() {
        return Err(format!("`session-ttl`: duration `{text}` must be positive"));
    }
    if ttl > MAX_TTL {
        return Err(format!(
            "`session-ttl`: duration `{text}` is longer than 100 years"
        ));
    }
    Ok(ttl)
}

/// A PostgreSQL schema name is put into SQL text, so only plain lowercase identifiers are
/// accepted: nothing to quote, nothing to fold.
fn check_schema(schema: String) -> Result<String, String> {
    let mut chars = schema.chars();
    let first_ok = chars
        .next()
        .is_some_and(|c| c.is_ascii_lowercase() || c == '_');
    let rest_ok = chars.all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || c == '_');
    if !first_ok || !rest_ok || schema.len() > 63 {
        return Err(format!(
            "`schema`: `{}` is not a plain name (use 1 to 63 lowercase letters, digits and underscores, not starting with a digit)",
            one_line(&schema)
        ));
    }
    Ok(schema)
}

fn check_env_name(name: String) -> Result<String, String> {
    let mut chars = name.chars();
    let first_ok = chars
        .next()
        .is_some_and(|c| c.is_ascii_alphabetic() || c == '_');
    if !first_ok || !chars.all(|c| c.is_ascii_alphanumeric() || c == '_') {
        return Err(format!(
            "`url-env`: `{}` is not an environment variable name (letters, digits and underscores)",
            one_line(&name)
        ));
    }
    Ok(name)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn parse(text: &str) -> Result<StateSection, String> {
        toml::from_str::<StateSection>(text).map_err(|e| e.message().to_string())
    }

    #[test]
    fn an_empty_section_is_sqlite_under_state_for_a_day() {
        let section = parse("").unwrap();
        assert_eq!(section, StateSection::default());
        assert_eq!(
            section.backend,
            BackendConfig::Sqlite {
                dir: PathBuf::from("state")
            }
        );
        assert_eq!(section.session_ttl, Duration::from_secs(86_400));
    }

    #[test]
    fn postgres_keys_are_read() {
        let section = parse(
            r#"
            backend = "postgres"
            url = "postgres://app:s3cret@db.example:5432/lampart"
            schema = "tenant_7"
            max-connections = 4
            session-ttl = "90m"
            "#,
        )
        .unwrap();
        assert_eq!(section.session_ttl, Duration::from_secs(90 * 60));
        let BackendConfig::Postgres(pg) = section.backend else {
            panic!("not postgres: {section:?}");
        };
        assert_eq!(pg.schema, "tenant_7");
        assert_eq!(pg.max_connections, 4);
        let UrlSource::Url(url) = &pg.url else {
            panic!("not a url: {pg:?}");
        };
        assert_eq!(
            url.expose(),
            "postgres://app:s3cret@db.example:5432/lampart"
        );
        // The password is not shown.
        let shown = format!("{pg:?} {url}");
        assert!(!shown.contains("s3cret"), "{shown}");
        assert!(shown.contains("postgres://app:***@db.example:5432/lampart"));

        let section = parse("backend = \"postgres\"\nurl-env = \"LAMPART_STATE_URL\"").unwrap();
        let BackendConfig::Postgres(pg) = section.backend else {
            panic!("not postgres");
        };
        assert_eq!(pg.url, UrlSource::Env("LAMPART_STATE_URL".into()));
        assert_eq!(pg.schema, "lampart");
        assert_eq!(pg.max_connections, 16);
    }

    #[test]
    fn bad_values_are_refused_in_one_line_naming_the_key() {
        let cases = [
            (
                "session-ttl = \"0s\"",
                "`session-ttl`: duration `0s` must be positive",
            ),
            ("session-ttl = \"soon\"", "`session-ttl`: duration `soon`"),
            ("session-ttl = \"1000years\"", "longer than 100 years"),
            (
                "url = \"postgres://x/y\"",
                "`url` applies only to backend = \"postgres\"",
            ),
            (
                "schema = \"s\"",
                "`schema` applies only to backend = \"postgres\"",
            ),
            ("max-connections = 3", "`max-connections` applies only"),
            ("dir = \"\"", "`dir` is empty"),
            ("backend = \"mysql\"", "unknown variant `mysql`"),
            ("dri = \"x\"", "unknown field `dri`"),
            (
                "backend = \"postgres\"\ndir = \"x\"\nurl = \"postgres://h/d\"",
                "`dir` applies only to backend = \"sqlite\"",
            ),
            ("backend = \"postgres\"", "needs `url` or `url-env`"),
            (
                "backend = \"postgres\"\nurl = \"postgres://h/d\"\nurl-env = \"X\"",
                "both set",
            ),
            (
                "backend = \"postgres\"\nurl = \"mysql://u:pw@h/d\"",
                "`url`: `mysql://u:***@h/d` is not a PostgreSQL URL",
            ),
            (
                "backend = \"postgres\"\nurl-env = \"NOT-A-NAME\"",
                "`url-env`: `NOT-A-NAME` is not an environment variable name",
            ),
            (
                "backend = \"postgres\"\nurl = \"postgres://h/d\"\nschema = \"Public; DROP\"",
                "`schema`: `Public; DROP` is not a plain name",
            ),
            (
                "backend = \"postgres\"\nurl = \"postgres://h/d\"\nschema = \"9lives\"",
                "is not a plain name",
            ),
            (
                "backend = \"postgres\"\nurl = \"postgres://h/d\"\nmax-connections = 0",
                "`max-connections` must be at least 1",
            ),
        ];
        for (text, expected) in cases {
            let err = parse(text).unwrap_err();
            assert!(err.contains(expected), "{text}: {err}");
            assert!(!err.contains('\n'), "{text}: {err}");
        }
    }

    #[test]
    fn redaction_hides_passwords_and_query_strings() {
        assert_eq!(redact("postgres://u:pw@h:5/d"), "postgres://u:***@h:5/d");
        assert_eq!(redact("postgres://u@h/d"), "postgres://u@h/d");
        assert_eq!(
            redact("postgres://h/d?password=pw&sslmode=require"),
            "postgres://h/d?***"
        );
        assert_eq!(redact("postgres://u:p@w@h/d"), "postgres://u:***@h/d");
        assert_eq!(redact("postgres://u:pa/ss@h/d"), "postgres://u:***@h/d");
        assert_eq!(redact("postgres://h/d\n"), "postgres://h/d\\n");
    }
}
