//! Signed plugins: Ed25519 signatures over a plugin's manifest, so that a detection plugin
//! can be shared and its users can require that it comes from a signer they trust.
//!
//! A signature covers a [`Manifest`]: the plugin's name and version (as its `describe()`
//! says), its world, the contract version it was built against and the blake3 digest of
//! the component's bytes. Changing one byte of the component changes the digest, so the
//! signature no longer covers it. The signatures sit next to the component in a JSON file,
//! `<plugin>.sig` by default:
//!
//! ```json
//! {
//!   "format": "lampart-plugin-signature/1",
//!   "manifest": {"name": "secrets", "version": "0.1.0", "world": "inspector",
//!                "contract": "0.2.0", "digest": "blake3:…"},
//!   "signatures": [{"key": "ed25519:…", "signature": "…"}]
//! }
//! ```
//!
//! What is signed is the line `lampart-plugin-signature/1`, a newline, and the manifest's
//! canonical JSON (keys sorted, no spaces; see [`crate::canonical`]). Several signers can
//! sign one manifest (an author, then a team that reviewed it).
//!
//! Keys are Ed25519: a private key is a PKCS#8 PEM file (`lampart plugin keygen`, or
//! `openssl genpkey -algorithm ed25519`), a public key is written `ed25519:<base64>`.

use std::collections::BTreeMap;
use std::fmt;
use std::path::{Path, PathBuf};
use std::str::FromStr;

use base64::Engine as _;
use base64::engine::general_purpose::STANDARD as BASE64;
use ed25519_dalek::pkcs8::{DecodePrivateKey, DecodePublicKey, EncodePrivateKey};
use ed25519_dalek::{Signer as _, SigningKey};
use serde::{Deserialize, Deserializer, Serialize, Serializer};

use crate::digest::Digest;

/// The format tag of a signature file, also the first line of what is signed.
pub const FORMAT: &str = "lampart-plugin-signature/1";

/// The largest signature file read: 1 MiB.
pub const MAX_SIGNATURE_FILE_BYTES: u64 = 1 << 20;

/// An Ed25519 public key, written `ed25519:<base64 of its 32 bytes>`.
#[derive(Clone, Copy, PartialEq, Eq)]
pub struct PublicKey(ed25519_dalek::VerifyingKey);

impl PublicKey {
    /// Reads a public key from its text form or from a PEM `PUBLIC KEY` block (what
    /// `openssl pkey -pubout` writes).
    pub fn parse_any(text: &str) -> Result<PublicKey, SigningError> {
        let text = text.trim();
        if text.starts_with("-----BEGIN") {
            return ed25519_dalek::VerifyingKey::from_public_key_pem(text)
                .map(PublicKey)
                .map_err(|e| SigningError::Key(format!("not an Ed25519 public key: {e}")));
        }
        text.parse()
    }
}

impl fmt::Display for PublicKey {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "ed25519:{}", BASE64.encode(self.0.as_bytes()))
    }
}

impl fmt::Debug for PublicKey {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        fmt::Display::fmt(self, f)
    }
}

impl FromStr for PublicKey {
    type Err = SigningError;

    fn from_str(text: &str) -> Result<Self, Self::Err> {
        let bad = |why: &str| SigningError::Key(format!("public key `{text}` {why}"));
        let encoded = text
            .strip_prefix("ed25519:")
            .ok_or_else(|| bad("must start with `ed25519:`"))?;
        let bytes = BASE64
            .decode(encoded)
            .map_err(|_| bad("is not base64 after `ed25519:`"))?;
        let bytes: [u8; 32] = bytes.try_into().map_err(|_| bad("is not 32 bytes long"))?;
        ed25519_dalek::VerifyingKey::from_bytes(&bytes)
            .map(PublicKey)
            .map_err(|_| bad("is not a valid Ed25519 point"))
    }
}

impl Serialize for PublicKey {
    fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        serializer.collect_str(self)
    }
}

impl<'de> Deserialize<'de> for PublicKey {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        let text = String::deserialize(deserializer)?;
        text.parse().map_err(serde::de::Error::custom)
    }
}

/// A private signing key, read from a PKCS#8 PEM file.
pub struct PrivateKey(SigningKey);

impl PrivateKey {
    /// A new random key.
    pub fn generate() -> Result<PrivateKey, SigningError> {
        let mut seed = [0u8; 32];
        getrandom::fill(&mut seed).map_err(|e| SigningError::Key(e.to_string()))?;
        Ok(PrivateKey(SigningKey::from_bytes(&seed)))
    }

    /// Parses a PKCS#8 PEM `PRIVATE KEY` block.
    pub fn from_pem(pem: &str) -> Result<PrivateKey, SigningError> {
        SigningKey::from_pkcs8_pem(pem.trim())
            .map(PrivateKey)
            .map_err(|e| SigningError::Key(format!("not an Ed25519 private key in PEM: {e}")))
    }

    /// Reads a PKCS#8 PEM key file, refusing one that other users may read or write.
    pub fn read(path: &Path) -> Result<PrivateKey, SigningError> {
        let failed = |problem: String| {
            SigningError::Key(format!(
                "key file `{}`: {problem}",
                crate::text::escape(&path.display().to_string())
            ))
        };
        let file = crate::files::open_regular(path).map_err(|e| failed(e.problem.to_string()))?;
        #[cfg(unix)]
        {
            use std::os::unix::fs::PermissionsExt;
            let mode = file
                .metadata()
                .map_err(|e| failed(e.to_string()))?
                .permissions()
                .mode()
                & 0o777;
            if mode & 0o077 != 0 {
                return Err(failed(format!(
                    "other users may read or write it (mode {mode:o}); make it 0600"
                )));
            }
        }
        // The file whose mode was checked is the one read: a swap of the path in between
        // changes nothing.
        let text = crate::files::read_open_text_bounded(file, path, 64 * 1024)
            .map_err(|e| failed(e.problem.to_string()))?;
        PrivateKey::from_pem(&text).map_err(|e| failed(e.to_string()))
    }

    /// Writes the key to a new file only its owner may read (an existing file is kept).
    pub fn write_new(&self, path: &Path) -> Result<(), SigningError> {
        use std::io::Write as _;
        let failed = |e: std::io::Error| {
            SigningError::Key(format!(
                "key file `{}`: {e}",
                crate::text::escape(&path.display().to_string())
            ))
        };
        let mut options = std::fs::OpenOptions::new();
        options.write(true).create_new(true);
        #[cfg(unix)]
        std::os::unix::fs::OpenOptionsExt::mode(&mut options, 0o600);
        let mut file = options.open(path).map_err(failed)?;
        file.write_all(self.to_pem()?.as_bytes())
            .and_then(|()| file.sync_all())
            .map_err(failed)
    }

    /// The key as a PKCS#8 PEM block.
    pub fn to_pem(&self) -> Result<String, SigningError> {
        self.0
            .to_pkcs8_pem(ed25519_dalek::pkcs8::spki::der::pem::LineEnding::LF)
            .map(|pem| pem.to_string())
            .map_err(|e| SigningError::Key(e.to_string()))
    }

    /// The matching public key.
    pub fn public(&self) -> PublicKey {
        PublicKey(self.0.verifying_key())
    }
}

/// What a signature vouches for.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Manifest {
    /// The plugin's name, as its `describe()` says.
    pub name: String,
    /// The plugin's version, as its `describe()` says.
    pub version: String,
    /// `policy` or `inspector`.
    pub world: String,
    /// The contract version it was built against, e.g. `0.2.0`.
    pub contract: String,
    /// The blake3 digest of the component's bytes.
    pub digest: Digest,
}

impl Manifest {
    /// The bytes a signature covers.
    fn message(&self) -> Vec<u8> {
        let value = serde_json::to_value(self).unwrap_or(serde_json::Value::Null);
        let mut message = format!("{FORMAT}\n").into_bytes();
        crate::canonical::write_canonical(&value, &mut message);
        message
    }
}

/// One signer's signature over a manifest.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Signature {
    /// The signer's public key.
    pub key: PublicKey,
    /// The Ed25519 signature, base64.
    pub signature: String,
}

/// A signature file: one manifest and the signatures over it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct SignatureFile {
    /// Always [`FORMAT`].
    pub format: String,
    /// What is signed.
    pub manifest: Manifest,
    /// Who signed it.
    pub signatures: Vec<Signature>,
}

impl SignatureFile {
    /// A file for `manifest` with no signature yet.
    pub fn new(manifest: Manifest) -> SignatureFile {
        SignatureFile {
            format: FORMAT.into(),
            manifest,
            signatures: Vec::new(),
        }
    }

    /// Reads and parses a signature file.
    pub fn read(path: &Path) -> Result<SignatureFile, SigningError> {
        let text =
            crate::files::read_text_bounded(path, MAX_SIGNATURE_FILE_BYTES).map_err(|e| {
                SigningError::File {
                    path: path.into(),
                    problem: e.problem.to_string(),
                }
            })?;
        let file: SignatureFile = serde_json::from_str(&text).map_err(|e| SigningError::File {
            path: path.into(),
            problem: format!("not a signature file: {e}"),
        })?;
        if file.format != FORMAT {
            return Err(SigningError::File {
                path: path.into(),
                problem: format!("format `{}` is not `{FORMAT}`", file.format),
            });
        }
        Ok(file)
    }

    /// Writes the file next to its final place, syncs it, then renames it into place, so a
    /// reader sees the old file or the new one.
    pub fn write(&self, path: &Path) -> Result<(), SigningError> {
        use std::io::Write as _;
        let failed = |e: std::io::Error| SigningError::File {
            path: path.into(),
            problem: e.to_string(),
        };
        let dir = match path.parent() {
            Some(dir) if !dir.as_os_str().is_empty() => dir,
            _ => Path::new("."),
        };
        let mut temp = tempfile::NamedTempFile::new_in(dir).map_err(failed)?;
        let mut text = serde_json::to_string_pretty(self).unwrap_or_default();
        text.push('\n');
        temp.write_all(text.as_bytes())
            .and_then(|()| temp.as_file().sync_all())
            .map_err(failed)?;
        temp.persist(path).map_err(|e| failed(e.error))?;
        Ok(())
    }

    /// Adds `key`'s signature, replacing an earlier one by the same key.
    pub fn sign(&mut self, key: &PrivateKey) {
        let signature = key.0.sign(&self.manifest.message());
        let public = key.public();
        self.signatures.retain(|s| s.key != public);
        self.signatures.push(Signature {
            key: public,
            signature: BASE64.encode(signature.to_bytes()),
        });
    }

    /// Whether `signature` is a valid signature of this file's manifest.
    pub fn verifies(&self, signature: &Signature) -> bool {
        let Ok(bytes) = BASE64.decode(&signature.signature) else {
            return false;
        };
        let Ok(bytes) = <[u8; 64]>::try_from(bytes) else {
            return false;
        };
        let signature_value = ed25519_dalek::Signature::from_bytes(&bytes);
        signature
            .key
            .0
            .verify_strict(&self.manifest.message(), &signature_value)
            .is_ok()
    }

    /// Checks that this file vouches for a component with `digest` and that at least one of
    /// `required` (names of keys in `trusted`) signed it. Returns the names of every trusted
    /// signer whose signature verifies. Done before the component is compiled, so an unsigned
    /// component is refused before anything is done with it.
    ///
    /// A signature that claims a trusted key but does not verify refuses the whole file:
    /// the manifest or the signature was altered after signing.
    pub fn check(
        &self,
        digest: Digest,
        trusted: &BTreeMap<String, PublicKey>,
        required: &[String],
    ) -> Result<Vec<String>, SigningError> {
        if self.manifest.digest != digest {
            return Err(SigningError::Mismatch(format!(
                "the signatures are for a component with digest {}, not this one ({digest}): it was changed after it was signed",
                self.manifest.digest
            )));
        }
        let mut signers = Vec::new();
        for signature in &self.signatures {
            let names = trusted
                .iter()
                .filter(|(_, key)| **key == signature.key)
                .map(|(name, _)| name);
            for name in names {
                if !self.verifies(signature) {
                    return Err(SigningError::Invalid {
                        signer: name.clone(),
                    });
                }
                signers.push(name.clone());
            }
        }
        if !required.iter().any(|name| signers.contains(name)) {
            return Err(SigningError::Untrusted {
                required: required.join(", "),
                found: self.signatures.len(),
            });
        }
        signers.sort();
        signers.dedup();
        Ok(signers)
    }

    /// Checks that the signed manifest names the component's world and contract version.
    pub fn check_component(&self, world: &str, contract: &str) -> Result<(), SigningError> {
        let manifest = &self.manifest;
        if manifest.world != world || manifest.contract != contract {
            return Err(SigningError::Mismatch(format!(
                "the signed manifest says world `{}` contract {}, but the component is `{world}` contract {contract}",
                manifest.world, manifest.contract
            )));
        }
        Ok(())
    }
}

/// Where a step's signature file is: `signature` when the config names one, else the
/// plugin's path with `.sig` appended.
pub fn signature_path(plugin: &Path, configured: Option<&Path>) -> PathBuf {
    match configured {
        Some(path) => path.to_path_buf(),
        None => {
            let mut name = plugin.as_os_str().to_owned();
            name.push(".sig");
            PathBuf::from(name)
        }
    }
}

/// Why a signature does not vouch for a plugin.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum SigningError {
    /// A key could not be read or made.
    #[error("{0}")]
    Key(String),
    /// A signature file could not be read or parsed.
    #[error("signature file `{}`: {problem}", crate::text::escape(&path.display().to_string()))]
    File {
        /// The file.
        path: PathBuf,
        /// What is wrong.
        problem: String,
    },
    /// The manifest does not describe the component.
    #[error("{0}")]
    Mismatch(String),
    /// A trusted signer's signature does not verify.
    #[error("the signature by `{signer}` does not verify: the manifest or signature was altered")]
    Invalid {
        /// The signer's name in the config.
        signer: String,
    },
    /// No required signer signed.
    #[error("not signed by any of {required} ({found} signature(s), none by a required signer)")]
    Untrusted {
        /// The required signers, comma-separated.
        required: String,
        /// How many signatures the file holds.
        found: usize,
    },
}

#[cfg(test)]
mod tests {
    use super::*;

    fn manifest() -> Manifest {
        Manifest {
            name: "secrets".into(),
            version: "0.1.0".into(),
            world: "inspector".into(),
            contract: "0.2.0".into(),
            digest: Digest::of(b"component"),
        }
    }

    fn trust(pairs: &[(&str, PublicKey)]) -> BTreeMap<String, PublicKey> {
        pairs.iter().map(|(n, k)| ((*n).to_owned(), *k)).collect()
    }

    #[test]
    fn a_signed_manifest_verifies_and_names_its_signers() {
        let (alice, bob) = (
            PrivateKey::generate().unwrap(),
            PrivateKey::generate().unwrap(),
        );
        let mut file = SignatureFile::new(manifest());
        file.sign(&alice);
        file.sign(&bob);
        file.sign(&alice); // again: replaces, not duplicates
        assert_eq!(file.signatures.len(), 2);
        let trusted = trust(&[("alice", alice.public()), ("bob", bob.public())]);
        let signers = file
            .check(Digest::of(b"component"), &trusted, &["bob".into()])
            .unwrap();
        assert_eq!(signers, ["alice", "bob"]);
    }

    #[test]
    fn tampering_is_refused() {
        let alice = PrivateKey::generate().unwrap();
        let trusted = trust(&[("alice", alice.public())]);
        let mut file = SignatureFile::new(manifest());
        file.sign(&alice);
        let required = ["alice".to_owned()];
        // Another component.
        let err = file
            .check(Digest::of(b"other"), &trusted, &required)
            .unwrap_err();
        assert!(matches!(err, SigningError::Mismatch(_)), "{err}");
        // A manifest edited after signing.
        let mut edited = file.clone();
        edited.manifest.version = "9.9.9".into();
        let err = edited
            .check(Digest::of(b"component"), &trusted, &required)
            .unwrap_err();
        assert_eq!(
            err,
            SigningError::Invalid {
                signer: "alice".into()
            }
        );
        // A signature flipped in one bit.
        let mut flipped = file.clone();
        let mut bytes = BASE64.decode(&flipped.signatures[0].signature).unwrap();
        bytes[3] ^= 1;
        flipped.signatures[0].signature = BASE64.encode(bytes);
        assert!(!flipped.verifies(&flipped.signatures[0]));
        // Signed, but by someone not required.
        let mallory = PrivateKey::generate().unwrap();
        let mut other = SignatureFile::new(manifest());
        other.sign(&mallory);
        let err = other
            .check(Digest::of(b"component"), &trusted, &required)
            .unwrap_err();
        assert!(
            matches!(err, SigningError::Untrusted { found: 1, .. }),
            "{err}"
        );
        // A world that is not the component's.
        file.check_component("inspector", "0.2.0").unwrap();
        let err = file.check_component("policy", "0.2.0").unwrap_err();
        assert!(matches!(err, SigningError::Mismatch(_)), "{err}");
    }

    #[test]
    fn keys_round_trip_through_their_text_forms() {
        let key = PrivateKey::generate().unwrap();
        let pem = key.to_pem().unwrap();
        assert!(pem.starts_with("-----BEGIN PRIVATE KEY-----"));
        let again = PrivateKey::from_pem(&pem).unwrap();
        assert_eq!(again.public(), key.public());
        let text = key.public().to_string();
        assert_eq!(text.parse::<PublicKey>().unwrap(), key.public());
        assert_eq!(PublicKey::parse_any(&text).unwrap(), key.public());
        for bad in ["rsa:AAAA", "ed25519:!!", "ed25519:AAAA"] {
            let err = bad.parse::<PublicKey>().unwrap_err().to_string();
            assert!(err.starts_with(&format!("public key `{bad}`")), "{err}");
        }
        assert!(
            PrivateKey::from_pem("-----BEGIN PRIVATE KEY-----\nAAAA\n-----END PRIVATE KEY-----")
                .is_err()
        );
    }

    #[test]
    fn the_signature_file_sits_next_to_the_plugin_by_default() {
        assert_eq!(
            signature_path(Path::new("p/x.wasm"), None),
            Path::new("p/x.wasm.sig")
        );
        assert_eq!(
            signature_path(Path::new("p/x.wasm"), Some(Path::new("s/x.sig"))),
            Path::new("s/x.sig")
        );
    }
}
