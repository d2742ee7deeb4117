//! The precompiled-component cache: compile a plugin once, load it in a fraction of a
//! millisecond afterwards.
//!
//! An artefact is stored as `<key>.cwasm`, where the key is the blake3 of the component's
//! own digest and of everything about the engine that the artefact depends on: wasmtime's
//! compatibility hash (its version and every setting that changes generated code) and the
//! allocator's settings (such as the memory slot size). Engines with different settings
//! therefore never share, overwrite or delete each other's artefacts.
//!
//! Loading an artefact runs native code produced by the compiler, so:
//!
//! - the directory must be private (see [`crate::private_dir`]): owned by this user, not
//!   writable by others, and not replaceable through a parent directory;
//! - an artefact is opened without following symbolic links and must be a regular file owned
//!   by this user (checked on the opened descriptor);
//! - every artefact starts with a header binding it to the component it was compiled from:
//!   [`MAGIC`], the blake3 digest of the component, and the blake3 of the serialized bytes
//!   that follow. An artefact renamed to another component's key, replaced or corrupted does
//!   not match and is compiled afresh instead of run.

use std::fs::OpenOptions;
use std::hash::{Hash, Hasher};
use std::io::{Read, Write};
use std::path::{Path, PathBuf};

use wasmtime::component::Component;

use super::EngineError;
use crate::private_dir::{self, Access};

/// The first bytes of every artefact file (the format's version is the last byte).
const MAGIC: &[u8; 8] = b"lampcw\0\x01";
/// Length of the header: magic, component digest, digest of the serialized bytes.
const HEADER_LEN: usize = MAGIC.len() + 32 + 32;
/// The largest artefact read: native code for the largest plugin accepted, with room to spare.
const MAX_ARTEFACT_BYTES: u64 = 4 * crate::files::MAX_PLUGIN_BYTES;

/// A directory of precompiled components for one engine configuration.
pub(crate) struct ComponentCache {
    dir: PathBuf,
    engine_key: [u8; 32],
}

impl ComponentCache {
    /// Opens (creating if needed) the cache directory for this engine. `allocator` is
    /// everything about the engine's allocator that artefacts depend on; it becomes part of
    /// every key.
    pub(crate) fn open(
        dir: &Path,
        engine: &wasmtime::Engine,
        allocator: &impl Hash,
    ) -> Result<Self, EngineError> {
        private_dir::create_private_dir(dir).map_err(|error| EngineError::Cache {
            path: dir.to_path_buf(),
            error,
        })?;
        private_dir::open_private_dir(dir).map_err(|reason| EngineError::CacheNotPrivate {
            path: dir.to_path_buf(),
            reason,
        })?;
        let mut hasher = Blake3Hasher(blake3::Hasher::new());
        MAGIC.hash(&mut hasher);
        engine.precompile_compatibility_hash().hash(&mut hasher);
        allocator.hash(&mut hasher);
        Ok(ComponentCache {
            dir: dir.to_path_buf(),
            engine_key: *hasher.0.finalize().as_bytes(),
        })
    }

    /// Where the artefact for a component with this digest lives.
    fn artefact(&self, digest: &blake3::Hash) -> PathBuf {
        let mut key = blake3::Hasher::new();
        key.update(digest.as_bytes());
        key.update(&self.engine_key);
        self.dir.join(format!("{}.cwasm", key.finalize().to_hex()))
    }

    /// Loads the component from the cache, or compiles it and stores the artefact.
    /// A cache that cannot be written only costs speed: the compiled component is returned.
    pub(crate) fn load_or_compile(
        &self,
        engine: &wasmtime::Engine,
        bytes: &[u8],
        digest: &blake3::Hash,
    ) -> wasmtime::Result<Component> {
        let path = self.artefact(digest);
        match read_artefact(&path, digest) {
            Ok(Some(code)) => {
                // SAFETY: `deserialize` trusts `code` to be native code produced by a
                // compatible wasmtime compiler. It was read from a private cache directory
                // (owned by this user, writable by nobody else, checked in `open`), from a
                // regular file owned by this user opened without following links, and its
                // header binds it to `digest`, the digest of the component being loaded,
                // with a blake3 over exactly these bytes: it is what `store` wrote for this
                // component. wasmtime also checks the artefact against the engine's settings.
                #[allow(unsafe_code)]
                let loaded = unsafe { Component::deserialize(engine, &code) };
                match loaded {
                    Ok(component) => return Ok(component),
                    Err(err) => tracing::warn!(
                        path = %path.display(),
                        "recompiling: the precompiled component does not load: {err}"
                    ),
                }
            }
            Ok(None) => {}
            Err(reason) => tracing::warn!(
                path = %path.display(),
                "recompiling: the precompiled component is not trusted: {reason}"
            ),
        }
        let component = Component::new(engine, bytes)?;
        if let Err(err) = self.store(&path, digest, &component) {
            tracing::warn!(path = %path.display(), "could not cache the compiled component: {err}");
        }
        Ok(component)
    }

    /// Writes an artefact atomically: a temporary file (mode 0600) in the same directory,
    /// then a rename over whatever was there.
    fn store(
        &self,
        path: &Path,
        digest: &blake3::Hash,
        component: &Component,
    ) -> anyhow::Result<()> {
        let code = component.serialize().map_err(|e| anyhow::anyhow!("{e}"))?;
        let mut temp = tempfile::NamedTempFile::new_in(&self.dir)?;
        temp.write_all(&header(digest, &code))?;
        temp.write_all(&code)?;
        temp.as_file().sync_all()?;
        temp.persist(path)?;
        Ok(())
    }
}

/// The header of the artefact of component `digest` whose serialized bytes are `code`.
fn header(digest: &blake3::Hash, code: &[u8]) -> Vec<u8> {
    let mut header = Vec::with_capacity(HEADER_LEN);
    header.extend_from_slice(MAGIC);
    header.extend_from_slice(digest.as_bytes());
    header.extend_from_slice(blake3::hash(code).as_bytes());
    header
}

/// Why an artefact is not loaded.
#[derive(Debug, thiserror::Error)]
enum Untrusted {
    #[error("{0}")]
    File(#[from] private_dir::TrustError),
    #[error("cannot read it: {0}")]
    Read(#[from] std::io::Error),
    #[error("larger than {MAX_ARTEFACT_BYTES} bytes")]
    TooLarge,
    #[error("no artefact header")]
    NoHeader,
    #[error("compiled from another component")]
    OtherComponent,
    #[error("its bytes do not match the digest in its header")]
    Corrupt,
}

/// Reads the artefact at `path` and returns its serialized bytes if it is a regular file of
/// this user's, compiled from the component `digest`, and intact; `None` if there is none.
fn read_artefact(path: &Path, digest: &blake3::Hash) -> Result<Option<Vec<u8>>, Untrusted> {
    let (file, meta) =
        match private_dir::open_file(path, OpenOptions::new().read(true), Access::Own) {
            Ok(opened) => opened,
            Err(e) if e.is_not_found() => return Ok(None),
            Err(e) => return Err(e.into()),
        };
    if meta.len() > MAX_ARTEFACT_BYTES {
        return Err(Untrusted::TooLarge);
    }
    let mut bytes = Vec::with_capacity(usize::try_from(meta.len()).unwrap_or(0));
    file.take(MAX_ARTEFACT_BYTES + 1).read_to_end(&mut bytes)?;
    if bytes.len() as u64 > MAX_ARTEFACT_BYTES {
        return Err(Untrusted::TooLarge);
    }
    if bytes.len() < HEADER_LEN || !bytes.starts_with(MAGIC) {
        return Err(Untrusted::NoHeader);
    }
    let (stored_digest, rest) = bytes[MAGIC.len()..].split_at(32);
    let (code_digest, code) = rest.split_at(32);
    if stored_digest != digest.as_bytes() {
        return Err(Untrusted::OtherComponent);
    }
    if code_digest != blake3::hash(code).as_bytes() {
        return Err(Untrusted::Corrupt);
    }
    bytes.drain(..HEADER_LEN);
    Ok(Some(bytes))
}

/// Feeds [`Hash`] values to blake3, so that a key covers everything a value hashes.
struct Blake3Hasher(blake3::Hasher);

impl Hasher for Blake3Hasher {
    fn write(&mut self, bytes: &[u8]) {
        self.0.update(bytes);
    }

    fn finish(&self) -> u64 {
        let hash = self.0.finalize();
        u64::from_le_bytes(hash.as_bytes()[..8].try_into().expect("8 bytes"))
    }
}
