//! The `[auth]` section as written: API key entries, a keys file, and JWT issuers.

use std::fmt;
use std::path::PathBuf;
use std::time::Duration;

use serde::{Deserialize, Deserializer, Serialize, Serializer};

use crate::digest::Digest;

/// `[auth]`: the credentials a service accepts. Absent, or with nothing in it, the service
/// accepts no one.
#[derive(Debug, Clone, Default, Deserialize)]
#[serde(deny_unknown_fields, rename_all = "kebab-case")]
pub struct AuthSection {
    /// `[[auth.key]]`: API keys, by the hash of the key.
    #[serde(default)]
    pub key: Vec<KeyEntry>,
    /// More `[[key]]` entries in another file, relative to the config's directory, so that
    /// keys can change without touching the chain config.
    #[serde(default)]
    pub keys_file: Option<PathBuf>,
    /// `[[auth.jwt]]`: issuers whose signed tokens are accepted.
    #[serde(default)]
    pub jwt: Vec<JwtEntry>,
}

/// One API key: `{ id, hash, agent, roles, operator }`. The key itself is never stored, only
/// its hash (see [`super::ApiKey`]).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields, rename_all = "kebab-case")]
pub struct KeyEntry {
    /// A name for the key in logs and audit records: 1 to 128 letters, digits, `.`, `_`, `-`.
    pub id: String,
    /// `blake3:<hex>` of the whole key string.
    pub hash: Digest,
    /// The agent the key authenticates; optional for an operator key.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub agent: Option<String>,
    /// The roles the agent holds.
    #[serde(default)]
    pub roles: Vec<String>,
    /// Whether the key is an operator credential (may call admin endpoints).
    #[serde(default)]
    pub operator: bool,
}

/// A keys file: `[[key]]` tables, each like `[[auth.key]]`.
#[derive(Debug, Clone, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub(super) struct KeysFile {
    #[serde(default)]
    pub key: Vec<KeyEntry>,
}

/// One JWT issuer: whose tokens, for which audience, verified with which key.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields, rename_all = "kebab-case")]
pub struct JwtEntry {
    /// The `iss` claim a token must carry (exactly).
    pub issuer: String,
    /// A value the token's `aud` claim must hold.
    pub audience: String,
    /// The algorithms accepted; by default the one the key's type calls for (HS256 for a
    /// secret, RS256 for an RSA key, EdDSA for an Ed25519 key).
    #[serde(default)]
    pub algorithms: Option<Vec<JwtAlgorithm>>,
    /// An HS256 shared secret: the file's raw bytes (at least 32).
    #[serde(default)]
    pub secret_file: Option<PathBuf>,
    /// A public key in PEM: RSA or Ed25519.
    #[serde(default)]
    pub key_file: Option<PathBuf>,
    /// A JWKS (JSON Web Key Set) file; a token's `kid` picks the key.
    #[serde(default)]
    pub jwks_file: Option<PathBuf>,
    /// The claim naming the agent.
    #[serde(default = "default_agent_claim")]
    pub agent_claim: String,
    /// The claim listing the roles: an array of strings, or one space-separated string (as
    /// OAuth's `scope`).
    #[serde(default = "default_roles_claim")]
    pub roles_claim: String,
    /// A role that makes the identity an operator.
    #[serde(default)]
    pub operator_role: Option<String>,
    /// Clock skew allowed when checking `exp` and `nbf`.
    #[serde(default)]
    pub leeway: Leeway,
}

fn default_agent_claim() -> String {
    "sub".to_owned()
}

fn default_roles_claim() -> String {
    "roles".to_owned()
}

/// The JWT signature algorithms a service can accept.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub enum JwtAlgorithm {
    /// HMAC with SHA-256, with a shared secret.
    HS256,
    /// RSASSA-PKCS1-v1_5 with SHA-256.
    RS256,
    /// Ed25519.
    EdDSA,
}

impl JwtAlgorithm {
    /// The same algorithm as `jsonwebtoken` names it.
    pub fn to_jwt(self) -> jsonwebtoken::Algorithm {
        match self {
            JwtAlgorithm::HS256 => jsonwebtoken::Algorithm::HS256,
            JwtAlgorithm::RS256 => jsonwebtoken::Algorithm::RS256,
            JwtAlgorithm::EdDSA => jsonwebtoken::Algorithm::EdDSA,
        }
    }

    /// The algorithm a header's `alg` names, if it is one of these.
    pub fn from_header(alg: &str) -> Option<JwtAlgorithm> {
        match alg {
            "HS256" => Some(JwtAlgorithm::HS256),
            "RS256" => Some(JwtAlgorithm::RS256),
            "EdDSA" => Some(JwtAlgorithm::EdDSA),
            _ => None,
        }
    }

    /// The kind of key that verifies it.
    pub fn family(self) -> jsonwebtoken::AlgorithmFamily {
        self.to_jwt().family()
    }
}

impl fmt::Display for JwtAlgorithm {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        fmt::Debug::fmt(self, f)
    }
}

/// A clock-skew allowance, written as text such as `"30s"` (zero allowed); 30 seconds by
/// default.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Leeway(pub Duration);

impl Default for Leeway {
    fn default() -> Self {
        Leeway(Duration::from_secs(30))
    }
}

impl Serialize for Leeway {
    fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        serializer.collect_str(&humantime::format_duration(self.0))
    }
}

impl<'de> Deserialize<'de> for Leeway {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        let text = String::deserialize(deserializer)?;
        humantime::parse_duration(&text)
            .map(Leeway)
            .map_err(|e| serde::de::Error::custom(format!("duration `{text}`: {e}")))
    }
}
