//! Why an `[auth]` section cannot be used: one line naming the entry or file and the problem.

use std::path::PathBuf;

use crate::files::FileProblem;
use crate::text::Escaped;

use super::config::JwtAlgorithm;
use super::names::NameProblem;

/// An `[auth]` section, keys file or key file that cannot be used.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum AuthConfigError {
    /// A file named by the section cannot be read or is not trusted.
    #[error("{field} `{}`: {problem}", Escaped(&path.display().to_string()))]
    File {
        /// The setting naming the file, e.g. `[auth] keys-file`.
        field: String,
        /// The file, as resolved against the config's directory.
        path: PathBuf,
        /// What is wrong with it.
        problem: FileUse,
    },
    /// The keys file is not valid TOML or has unknown or ill-typed fields.
    #[error(
        "keys file `{}`{}: {}",
        Escaped(&path.display().to_string()),
        line.map(|l| format!(" line {l}")).unwrap_or_default(),
        Escaped(message)
    )]
    KeysFileSyntax {
        /// The file.
        path: PathBuf,
        /// The line, when the problem has one.
        line: Option<usize>,
        /// What is wrong, in one line.
        message: String,
    },
    /// An API key entry is invalid.
    #[error("{place}: {problem}")]
    Key {
        /// Where the entry is, e.g. ``[[auth.key]] `billing-bot-1` ``.
        place: String,
        /// What is wrong with it.
        problem: KeyProblem,
    },
    /// A JWT issuer entry is invalid.
    #[error("[[auth.jwt]] issuer `{}`: {problem}", Escaped(issuer))]
    Jwt {
        /// The entry's issuer.
        issuer: String,
        /// What is wrong with it.
        problem: JwtProblem,
    },
}

/// Why a file named by `[auth]` is not used.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum FileUse {
    /// It cannot be read (or is not a regular file, or is too large).
    #[error("{0}")]
    Read(FileProblem),
    /// Users other than its owner may write it, and so grant themselves access.
    #[error("writable by other users (mode {mode:o}); whoever writes it decides who is accepted")]
    WritableByOthers {
        /// Its permission bits.
        mode: u32,
    },
    /// A secret that users other than its owner may read.
    #[error("readable by other users (mode {mode:o}); a shared secret must be private (chmod 600)")]
    ReadableByOthers {
        /// Its permission bits.
        mode: u32,
    },
}

/// What is wrong with an API key entry.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum KeyProblem {
    /// The id is not 1 to 128 letters, digits, `.`, `_` or `-`.
    #[error("`id` must be 1 to 128 ASCII letters, digits, `.`, `_` or `-`")]
    Id,
    /// The agent name is invalid.
    #[error("`agent` {0}")]
    Agent(NameProblem),
    /// A role name is invalid.
    #[error("a role {0}")]
    Role(NameProblem),
    /// The key names no agent and is not an operator key, so it would authenticate no one.
    #[error("has neither `agent` nor `operator = true`")]
    NoPrincipal,
    /// Another entry has the same id.
    #[error("another key also has this id")]
    DuplicateId,
    /// Another entry has the same hash (the same key).
    #[error("has the same hash as key `{0}`")]
    DuplicateHash(String),
}

/// What is wrong with a JWT issuer entry.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum JwtProblem {
    /// `issuer` is empty.
    #[error("`issuer` must not be empty")]
    EmptyIssuer,
    /// `audience` is empty.
    #[error("`audience` must not be empty")]
    EmptyAudience,
    /// Another entry has the same issuer.
    #[error("another [[auth.jwt]] entry has the same issuer")]
    DuplicateIssuer,
    /// Not exactly one of `secret-file`, `key-file` and `jwks-file`.
    #[error("needs exactly one of `secret-file`, `key-file` and `jwks-file` (has {0})")]
    KeySources(usize),
    /// `algorithms` is an empty list.
    #[error("`algorithms` must not be empty")]
    NoAlgorithms,
    /// An algorithm that no configured key can verify (e.g. HS256 with an RSA key).
    #[error("algorithm {0} cannot be verified with the configured key")]
    AlgorithmWithoutKey(JwtAlgorithm),
    /// The shared secret is shorter than 32 bytes.
    #[error("`secret-file` holds {0} bytes; an HS256 secret needs at least 32")]
    ShortSecret(usize),
    /// `key-file` is not an RSA or Ed25519 public key in PEM.
    #[error("`key-file` is not an RSA or Ed25519 public key in PEM")]
    Pem,
    /// `key-file` holds a private key.
    #[error("`key-file` holds a private key; give the public key only")]
    PrivateKey,
    /// `jwks-file` is not a JSON Web Key Set.
    #[error("`jwks-file` is not a JSON Web Key Set: {0}")]
    Jwks(String),
    /// The JWKS has no key usable for signatures with the accepted algorithms.
    #[error("`jwks-file` has no signing key for the accepted algorithms")]
    NoUsableKey,
    /// Two keys in the JWKS share a `kid`.
    #[error("`jwks-file` has two keys with `kid` `{}`", Escaped(.0))]
    DuplicateKid(String),
    /// A claim name setting is invalid.
    #[error("`{field}` {problem}")]
    ClaimName {
        /// The setting, e.g. `agent-claim`.
        field: &'static str,
        /// What is wrong with it.
        problem: NameProblem,
    },
    /// `operator-role` is not a valid role name.
    #[error("`operator-role` {0}")]
    OperatorRole(NameProblem),
}
