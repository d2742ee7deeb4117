//! API keys: `lpk_` and 43 characters of URL-safe base64 (32 random bytes), known to the
//! service only by their hash.
//!
//! The hash is a plain blake3 of the whole key string, not a slow password hash: a key holds
//! 256 random bits, so there is nothing to guess or brute-force from its hash (the same
//! reasoning as GitHub's tokens), and a fast hash keeps authenticating a request to one blake3
//! and one hash-map lookup. Looking keys up by hash also means no comparison against a stored
//! secret whose timing could leak it.

use std::collections::hash_map::Entry;
use std::collections::{HashMap, HashSet};
use std::fmt;

use crate::digest::Digest;

use super::config::KeyEntry;
use super::error::{AuthConfigError, KeyProblem};
use super::names::{check_name, is_valid_id};
use super::{AuthFailure, CredentialId, Identity, base64url};

/// What every API key starts with.
pub const KEY_PREFIX: &str = "lpk_";
/// The random bytes in a key.
const KEY_RANDOM_BYTES: usize = 32;
/// The base64 digits after the prefix: 32 bytes, unpadded.
const KEY_DIGITS: usize = 43;

/// A new API key. Shown once to whoever creates it; the service keeps only [`ApiKey::hash`].
/// Its `Debug` form leaves the key out.
pub struct ApiKey(String);

impl ApiKey {
    /// A new key from 32 bytes of the operating system's randomness.
    pub fn generate() -> Result<ApiKey, getrandom::Error> {
        let mut random = [0u8; KEY_RANDOM_BYTES];
        getrandom::fill(&mut random)?;
        Ok(ApiKey(format!(
            "{KEY_PREFIX}{}",
            base64url::encode(&random)
        )))
    }

    /// The key, to give to its holder.
    pub fn as_str(&self) -> &str {
        &self.0
    }

    /// The hash to configure: `blake3:<hex>` of the whole key string.
    pub fn hash(&self) -> Digest {
        Digest::of(self.0.as_bytes())
    }
}

impl fmt::Debug for ApiKey {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("ApiKey(…)")
    }
}

/// Whether a credential has the shape of an API key (whether or not it is a known one).
pub fn is_well_formed(credential: &str) -> bool {
    credential.strip_prefix(KEY_PREFIX).is_some_and(|digits| {
        digits.len() == KEY_DIGITS
            && base64url::decode(digits.as_bytes()).is_some_and(|b| b.len() == KEY_RANDOM_BYTES)
    })
}

/// The configured keys, by hash.
#[derive(Debug, Default)]
pub(super) struct KeyTable {
    by_hash: HashMap<Digest, Identity>,
}

impl KeyTable {
    /// Checks and adds the entries of one source; `place` names the source in errors, e.g.
    /// `[[auth.key]]`.
    pub fn add(
        &mut self,
        place: &str,
        entries: &[KeyEntry],
        ids: &mut HashSet<String>,
    ) -> Result<(), AuthConfigError> {
        for (index, entry) in entries.iter().enumerate() {
            let error = |problem: KeyProblem| AuthConfigError::Key {
                place: if is_valid_id(&entry.id) {
                    format!("{place} `{}`", entry.id)
                } else {
                    format!("{place} number {}", index + 1)
                },
                problem,
            };
            if !is_valid_id(&entry.id) {
                return Err(error(KeyProblem::Id));
            }
            if let Some(agent) = &entry.agent {
                check_name(agent).map_err(|p| error(KeyProblem::Agent(p)))?;
            } else if !entry.operator {
                return Err(error(KeyProblem::NoPrincipal));
            }
            for role in &entry.roles {
                check_name(role).map_err(|p| error(KeyProblem::Role(p)))?;
            }
            if !ids.insert(entry.id.clone()) {
                return Err(error(KeyProblem::DuplicateId));
            }
            match self.by_hash.entry(entry.hash) {
                Entry::Occupied(other) => {
                    let other = other.get().credential.to_string();
                    return Err(error(KeyProblem::DuplicateHash(other)));
                }
                Entry::Vacant(slot) => {
                    slot.insert(Identity {
                        agent: entry.agent.clone(),
                        roles: entry.roles.clone(),
                        operator: entry.operator,
                        credential: CredentialId::Key(entry.id.clone()),
                    });
                }
            }
        }
        Ok(())
    }

    /// Whether no key is configured.
    pub fn is_empty(&self) -> bool {
        self.by_hash.is_empty()
    }

    /// The identity of a well-formed key.
    pub fn authenticate(&self, credential: &str) -> Result<Identity, AuthFailure> {
        self.by_hash
            .get(&Digest::of(credential.as_bytes()))
            .cloned()
            .ok_or(AuthFailure::UnknownKey)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn generated_keys_are_well_formed_distinct_and_hashed_whole() {
        let a = ApiKey::generate().unwrap();
        let b = ApiKey::generate().unwrap();
        assert_ne!(a.as_str(), b.as_str());
        assert_eq!(a.as_str().len(), KEY_PREFIX.len() + KEY_DIGITS);
        assert!(a.as_str().starts_with("lpk_"));
        assert!(is_well_formed(a.as_str()));
        assert_eq!(
            a.hash().to_string(),
            format!("blake3:{}", blake3::hash(a.as_str().as_bytes()).to_hex())
        );
        assert_eq!(format!("{a:?}"), "ApiKey(…)");
    }

    #[test]
    fn malformed_keys_are_recognised() {
        let key = ApiKey::generate().unwrap();
        let digits = &key.as_str()[4..];
        assert!(!is_well_formed(digits));
        assert!(!is_well_formed(&format!("lpk_{}", &digits[1..])));
        assert!(!is_well_formed(&format!("lpk_{digits}A")));
        assert!(!is_well_formed(&format!("lpk_{}+", &digits[1..])));
        assert!(!is_well_formed(&format!("lpx_{digits}")));
    }
}
