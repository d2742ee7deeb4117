//! Who is calling: API keys and JWTs mapped to an agent identity, so a service never takes
//! the principal from the request body.
//!
//! A request authenticates with `Authorization: Bearer <credential>`, where the credential is
//! an API key (made by `lampart keys new`) or a JWT from a configured issuer.
//!
//! ```toml
//! [auth]
//! keys-file = "keys.toml"        # more [[key]] tables, relative to this file (optional)
//!
//! [[auth.key]]
//! id = "billing-bot-1"           # names the key in logs and audit records
//! hash = "blake3:…"              # of the key; the key itself is never stored
//! agent = "billing-bot"          # optional for an operator key
//! roles = ["finance"]
//! operator = false               # true: may call admin endpoints
//!
//! [[auth.jwt]]
//! issuer = "https://login.example.com"   # the `iss` claim, exactly
//! audience = "lampart"                   # must be in the `aud` claim
//! jwks-file = "jwks.json"                # or key-file (PEM, RSA or Ed25519) or secret-file (HS256)
//! algorithms = ["RS256"]                 # default: what the key's type calls for
//! agent-claim = "sub"
//! roles-claim = "roles"                  # an array, or a space-separated string like `scope`
//! operator-role = "lampart-admin"        # a role that makes the caller an operator (optional)
//! leeway = "30s"                         # clock skew allowed for `exp` (required) and `nbf`
//! ```
//!
//! Files named here are refused when users other than their owner may write them, and a
//! `secret-file` also when others may read it; see [`file`].
//!
//! [`Authenticator::load`] checks everything once per config load; [`Authenticator::authenticate`]
//! runs on every request: one blake3 and one hash-map lookup for an API key, one signature
//! check for a JWT.

mod base64url;
mod config;
mod error;
mod failure;
pub mod file;
mod jwt;
mod key;
mod names;

use std::collections::HashSet;
use std::fmt;
use std::path::Path;
use std::time::SystemTime;

pub use config::{AuthSection, JwtAlgorithm, JwtEntry, KeyEntry, Leeway};
pub use error::{AuthConfigError, FileUse, JwtProblem, KeyProblem};
pub use failure::{AuthFailure, TokenProblem};
pub use key::{ApiKey, KEY_PREFIX};
pub use names::{MAX_ID_BYTES, MAX_NAME_BYTES, NameProblem, check_name, is_valid_id};

use config::KeysFile;
use file::Secrecy;
use jwt::Issuers;
use key::KeyTable;

/// The longest `Authorization` header value looked at: 16 KiB.
pub const MAX_AUTHORIZATION_BYTES: usize = 16 << 10;

/// Who a request comes from, as its credential proves.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Identity {
    /// The agent the request acts as; `None` only for an operator credential without one.
    pub agent: Option<String>,
    /// The roles the agent holds.
    pub roles: Vec<String>,
    /// Whether the credential is an operator's (may call admin endpoints).
    pub operator: bool,
    /// Which credential proved it.
    pub credential: CredentialId,
}

/// Which credential authenticated a request, for logs and audit records. Displayed as the key
/// id, or `jwt:<issuer>:<sub>` (control characters escaped).
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub enum CredentialId {
    /// An API key, by its configured id.
    Key(String),
    /// A JWT: its issuer and its `sub` claim, when it has one.
    Jwt {
        /// The issuer.
        issuer: String,
        /// The `sub` claim.
        subject: Option<String>,
    },
    /// No credential: the identity a local `lampart mcp` proxy was configured with, by
    /// where it came from (`flag`, `env` or `config`). Only the user who runs the proxy
    /// can set it, and the proxy speaks only to the agent that started it.
    Local(&'static str),
}

impl fmt::Display for CredentialId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        use crate::text::Escaped;
        match self {
            CredentialId::Key(id) => write!(f, "{}", Escaped(id)),
            CredentialId::Jwt { issuer, subject } => write!(
                f,
                "jwt:{}:{}",
                Escaped(issuer),
                Escaped(subject.as_deref().unwrap_or_default())
            ),
            CredentialId::Local(source) => write!(f, "local:{source}"),
        }
    }
}

/// Checks credentials against the configured keys and issuers. Built once per config load;
/// `Send + Sync`, to share behind an `Arc`.
#[derive(Debug, Default)]
pub struct Authenticator {
    keys: KeyTable,
    issuers: Issuers,
}

impl Authenticator {
    /// Reads and checks an `[auth]` section (and the files it names, relative to `base_dir`,
    /// the config's directory). No section: an authenticator that accepts no one.
    pub fn load(
        section: Option<&AuthSection>,
        base_dir: &Path,
    ) -> Result<Authenticator, AuthConfigError> {
        let Some(section) = section else {
            return Ok(Authenticator::default());
        };
        let mut keys = KeyTable::default();
        let mut ids = HashSet::new();
        keys.add("[[auth.key]]", &section.key, &mut ids)?;
        if let Some(path) = &section.keys_file {
            let path = base_dir.join(path);
            let file = load_keys_file(&path)?;
            let place = format!(
                "keys file `{}` [[key]]",
                crate::text::escape(&path.display().to_string())
            );
            keys.add(&place, &file.key, &mut ids)?;
        }
        let issuers = Issuers::load(&section.jwt, base_dir)?;
        Ok(Authenticator { keys, issuers })
    }

    /// Whether any credential could be accepted: false when no key and no issuer is
    /// configured.
    pub fn accepts_anyone(&self) -> bool {
        !self.keys.is_empty() || !self.issuers.is_empty()
    }

    /// The identity an `Authorization` header value proves, or why it proves none. `now` is
    /// the time JWT expiry and not-before are checked against.
    pub fn authenticate(
        &self,
        authorization: Option<&[u8]>,
        now: SystemTime,
    ) -> Result<Identity, AuthFailure> {
        let header = authorization.ok_or(AuthFailure::Missing)?;
        let credential = bearer(header).ok_or(AuthFailure::Malformed)?;
        if credential.starts_with(KEY_PREFIX) {
            if !key::is_well_formed(credential) {
                return Err(AuthFailure::Malformed);
            }
            self.keys.authenticate(credential)
        } else if credential.bytes().filter(|&b| b == b'.').count() == 2 {
            self.issuers.authenticate(credential, now)
        } else {
            Err(AuthFailure::Malformed)
        }
    }
}

/// The credential in `Bearer <credential>` (RFC 6750 §2.1: the scheme in any case, then
/// spaces, then a token68).
fn bearer(header: &[u8]) -> Option<&str> {
    if header.len() > MAX_AUTHORIZATION_BYTES {
        return None;
    }
    let text = std::str::from_utf8(header).ok()?;
    let (scheme, rest) = text.split_once(' ')?;
    if !scheme.eq_ignore_ascii_case("bearer") {
        return None;
    }
    let credential = rest.trim_matches(' ');
    let token68 = credential.trim_end_matches('=');
    let valid = !token68.is_empty()
        && token68.bytes().all(|b| {
            b.is_ascii_alphanumeric() || matches!(b, b'-' | b'.' | b'_' | b'~' | b'+' | b'/')
        });
    valid.then_some(credential)
}

/// Reads a keys file: `[[key]]` tables.
fn load_keys_file(path: &Path) -> Result<KeysFile, AuthConfigError> {
    let bytes = file::read(path, Secrecy::Public).map_err(|problem| AuthConfigError::File {
        field: "[auth] keys-file".to_owned(),
        path: path.to_path_buf(),
        problem,
    })?;
    let syntax = |line: Option<usize>, message: String| AuthConfigError::KeysFileSyntax {
        path: path.to_path_buf(),
        line,
        message,
    };
    let text = std::str::from_utf8(&bytes).map_err(|e| {
        syntax(
            None,
            format!(
                "not UTF-8 text (invalid byte at offset {})",
                e.valid_up_to()
            ),
        )
    })?;
    toml::from_str(text).map_err(|e| {
        let line = e
            .span()
            .map(|span| text[..span.start.min(text.len())].matches('\n').count() + 1);
        syntax(line, e.message().replace('\n', " ").trim().to_owned())
    })
}

#[cfg(test)]
mod tests;
