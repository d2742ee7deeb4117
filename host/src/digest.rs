//! Content digests as one type: `blake3:<64 hex digits>` in configs, records and output.

use std::fmt;
use std::str::FromStr;

use serde::{Deserialize, Deserializer, Serialize, Serializer};

/// The blake3 digest of some bytes (a plugin file, a request's canonical JSON, a chain),
/// written `blake3:<64 lowercase hex digits>`.
#[derive(Clone, Copy, PartialEq, Eq, Hash)]
pub struct Digest(pub blake3::Hash);

impl Digest {
    /// The digest of `bytes`.
    pub fn of(bytes: &[u8]) -> Digest {
        Digest(blake3::hash(bytes))
    }

    /// The digest of a JSON value's canonical form (see [`crate::canonical`]).
    pub fn of_json(value: &serde_json::Value) -> Digest {
        Digest(crate::canonical::digest(value))
    }
}

impl From<blake3::Hash> for Digest {
    fn from(hash: blake3::Hash) -> Self {
        Digest(hash)
    }
}

impl fmt::Display for Digest {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "blake3:{}", self.0.to_hex())
    }
}

impl fmt::Debug for Digest {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        fmt::Display::fmt(self, f)
    }
}

/// A digest that is not `blake3:` followed by 64 hexadecimal digits.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum DigestError {
    /// Another algorithm, or none.
    #[error("digest `{0}` must start with `blake3:`")]
    Algorithm(String),
    /// Not 64 hexadecimal digits.
    #[error("digest `{0}` is not 64 hexadecimal digits after `blake3:`")]
    Hex(String),
}

impl FromStr for Digest {
    type Err = DigestError;

    fn from_str(text: &str) -> Result<Self, Self::Err> {
        let hex = text
            .strip_prefix("blake3:")
            .ok_or_else(|| DigestError::Algorithm(text.to_owned()))?;
        if hex.len() != 64 {
            return Err(DigestError::Hex(text.to_owned()));
        }
        blake3::Hash::from_hex(hex)
            .map(Digest)
            .map_err(|_| DigestError::Hex(text.to_owned()))
    }
}

impl Serialize for Digest {
    fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        serializer.collect_str(self)
    }
}

impl<'de> Deserialize<'de> for Digest {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        let text = String::deserialize(deserializer)?;
        text.parse().map_err(serde::de::Error::custom)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn round_trips_through_text_and_refuses_other_forms() {
        let digest = Digest::of(b"plugin");
        let text = digest.to_string();
        assert!(text.starts_with("blake3:") && text.len() == 71);
        assert_eq!(text.parse::<Digest>().unwrap(), digest);
        assert_eq!(
            "sha256:00".parse::<Digest>().unwrap_err().to_string(),
            "digest `sha256:00` must start with `blake3:`"
        );
        assert!(matches!(
            "blake3:zz".parse::<Digest>(),
            Err(DigestError::Hex(_))
        ));
    }
}
