//! The precompiled-component cache: compile a plugin once, load it in a fraction of a
//! millisecond afterwards.
//!
//! An artefact is stored as `<key>.cwasm`, where the key is the blake3 of the component's
//! own digest and the engine's compatibility hash (wasmtime's version and every setting that
//! changes generated code). Loading an artefact runs native code produced by the compiler,
//! so the directory must be the host's own: it is created private to the user, and a
//! directory that others may write to is refused.

use std::fs;
use std::hash::{Hash, Hasher};
use std::io::Write;
use std::path::{Path, PathBuf};

use wasmtime::component::Component;

use super::EngineError;

/// A directory of precompiled components for one engine configuration.
pub(crate) struct ComponentCache {
    dir: PathBuf,
    engine_hash: [u8; 8],
}

impl ComponentCache {
    /// Opens (creating if needed) the cache directory for this engine.
    pub(crate) fn open(dir: &Path, engine: &wasmtime::Engine) -> Result<Self, EngineError> {
        let failed = |source| EngineError::Cache {
            path: dir.to_path_buf(),
            source,
        };
        create_private_dir(dir).map_err(failed)?;
        check_private(dir)?;
        let mut hasher = std::collections::hash_map::DefaultHasher::new();
        engine.precompile_compatibility_hash().hash(&mut hasher);
        Ok(ComponentCache {
            dir: dir.to_path_buf(),
            engine_hash: hasher.finish().to_le_bytes(),
        })
    }

    /// Where the artefact for a component with this digest lives.
    fn artefact(&self, digest: &blake3::Hash) -> PathBuf {
        let mut key = blake3::Hasher::new();
        key.update(digest.as_bytes());
        key.update(&self.engine_hash);
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
        if path.is_file() {
            // SAFETY: `deserialize_file` maps native code produced by this engine's compiler.
            // The artefact is read from the host's private cache directory (checked in
            // `open`), named by the digest of the component it was compiled from and the
            // engine's compatibility hash, and written there only by `store` below.
            // wasmtime also checks the artefact's header against the engine's settings.
            #[allow(unsafe_code)]
            let loaded = unsafe { Component::deserialize_file(engine, &path) };
            match loaded {
                Ok(component) => return Ok(component),
                Err(err) => {
                    tracing::warn!(path = %path.display(), "discarding unusable precompiled component: {err}");
                    let _ = fs::remove_file(&path);
                }
            }
        }
        let component = Component::new(engine, bytes)?;
        if let Err(err) = self.store(&path, &component) {
            tracing::warn!(path = %path.display(), "could not cache the compiled component: {err}");
        }
        Ok(component)
    }

    /// Writes an artefact atomically: a temporary file in the same directory, then a rename.
    fn store(&self, path: &Path, component: &Component) -> anyhow::Result<()> {
        let bytes = component.serialize().map_err(|e| anyhow::anyhow!("{e}"))?;
        let mut temp = tempfile::NamedTempFile::new_in(&self.dir)?;
        temp.write_all(&bytes)?;
        temp.as_file().sync_all()?;
        temp.persist(path)?;
        Ok(())
    }
}

/// Refuses a cache directory that other users may write to, and makes a new one private.
#[cfg(unix)]
fn check_private(dir: &Path) -> Result<(), EngineError> {
    use std::os::unix::fs::PermissionsExt;
    let meta = fs::metadata(dir).map_err(|source| EngineError::Cache {
        path: dir.into(),
        source,
    })?;
    let mode = meta.permissions().mode();
    if mode & 0o022 != 0 {
        return Err(EngineError::CacheNotPrivate {
            path: dir.to_path_buf(),
            mode: mode & 0o777,
        });
    }
    Ok(())
}

#[cfg(not(unix))]
fn check_private(_dir: &Path) -> Result<(), EngineError> {
    Ok(())
}

/// Creates a directory readable and writable by its owner only.
pub(crate) fn create_private_dir(dir: &Path) -> std::io::Result<()> {
    #[cfg(unix)]
    {
        use std::os::unix::fs::DirBuilderExt;
        fs::DirBuilder::new()
            .recursive(true)
            .mode(0o700)
            .create(dir)
    }
    #[cfg(not(unix))]
    {
        fs::create_dir_all(dir)
    }
}
