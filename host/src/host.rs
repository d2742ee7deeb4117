//! The host: everything a decision point needs, built from one config file — the engine, the
//! chain, the audit log and what the log masks — so the command line, a service and the
//! benchmarks all build and measure the same thing.
//!
//! Data still flows one way: a caller hands the host a request, the chain decides (the engine
//! runs the plugins), and the decision's record goes to the audit log.

use std::path::{Path, PathBuf};
use std::sync::Arc;

use arc_swap::ArcSwap;
use serde_json::{Map, Value};

use crate::audit::{AuditError, AuditLog, AuditOptions, Pending};
use crate::chain::{Chain, ChainError, Decision};
use crate::config::{ChainConfig, ConfigError, audit_key_path};
use crate::engine::{Engine, EngineError, EngineOptions, InstanceMode};
use crate::record::{self, AuditKey, AuditKeyError, Masking};
use crate::request::Request;

/// How to build a host beyond what its config says.
#[derive(Debug, Clone, Default)]
pub struct HostOptions {
    /// Record decisions in this directory instead of the config's `[audit] dir`.
    pub audit_dir: Option<PathBuf>,
    /// Record nothing, even if the config has an `[audit]` section.
    pub no_audit: bool,
    /// Where precompiled plugins are cached when the config names no `[engine] cache-dir`.
    pub default_cache_dir: Option<PathBuf>,
    /// How many callers decide at once (threads of `check --workers`, a server's deciding
    /// threads): sizes the engine's instance pool. At least 1.
    pub concurrency: usize,
    /// The chain may be reloaded while decisions run: room for two chains' instances.
    pub reloadable: bool,
}

/// Why a host could not be built.
#[derive(Debug, thiserror::Error)]
pub enum HostError {
    /// The config file is unusable.
    #[error(transparent)]
    Config(#[from] ConfigError),
    /// The engine did not start.
    #[error(transparent)]
    Engine(#[from] EngineError),
    /// A step did not load.
    #[error(transparent)]
    Chain(#[from] ChainError),
    /// The audit key file is unusable.
    #[error(transparent)]
    AuditKey(#[from] AuditKeyError),
    /// The audit log did not open.
    #[error(transparent)]
    Audit(#[from] AuditError),
    /// A reload changed a section that only a restart applies.
    #[error("{section} changed; it applies only at restart, so the running chain is kept")]
    RestartRequired {
        /// The section.
        section: &'static str,
    },
    /// A reload was asked of a host not loaded from a file.
    #[error("the host was not loaded from a config file, so there is nothing to reload")]
    NoSource,
    /// More concurrent callers than the engine can hold instances for.
    #[error(
        "{callers} concurrent callers with {warm} warm steps need up to {needed} live plugin instances, more than the limit of {MAX_INSTANCES}; use fewer callers or fewer warm steps"
    )]
    TooManyInstances {
        /// The concurrency asked for.
        callers: usize,
        /// The chain's warm steps.
        warm: usize,
        /// The instances they could hold at once.
        needed: usize,
    },
}

/// The most plugin instances the engine reserves room for.
pub const MAX_INSTANCES: usize = 8192;

/// A loaded decision point: the current chain (swapped whole on reload), and the audit log
/// its decisions go to (which a reload keeps).
pub struct Host {
    current: ArcSwap<Loaded>,
    engine: Arc<Engine>,
    audit: Option<AuditLog>,
    audit_key: Option<AuditKey>,
    /// The config file a reload reads again, when the host was loaded from one.
    source: Option<PathBuf>,
    options: HostOptions,
}

/// One loaded revision of the chain, with what its decisions are recorded with. Decisions
/// in flight keep the revision they started on, so a reload never changes a chain under a
/// decision.
pub struct Loaded {
    chain: Chain,
    masking: Masking,
    recording: bool,
    config: ChainConfig,
    base: PathBuf,
}

impl Loaded {
    /// The chain.
    pub fn chain(&self) -> &Chain {
        &self.chain
    }

    /// The config the chain was built from.
    pub fn config(&self) -> &ChainConfig {
        &self.config
    }

    /// The directory the config's relative paths are resolved against.
    pub fn base_dir(&self) -> &Path {
        &self.base
    }

    /// What the audit log hides.
    pub fn masking(&self) -> &Masking {
        &self.masking
    }

    /// Decides on one request. Safe to call from many threads at once.
    pub fn decide(&self, request: Request) -> Decision {
        self.chain.decide(request)
    }

    /// The audit record of a decision, when decisions are recorded.
    pub fn record(&self, decision: &Decision) -> Option<Map<String, Value>> {
        self.recording
            .then(|| record::audit_record(decision, &self.masking))
    }
}

impl Host {
    /// Reads the config at `path` and builds the host: starts the engine, loads every step
    /// (relative paths against the config's directory), and opens the audit log, if any.
    ///
    /// The chain is loaded before the log is opened, so a plugin that fails to load never
    /// holds the log's lock.
    pub fn load(path: &Path, options: &HostOptions) -> Result<Host, HostError> {
        let config = ChainConfig::load(path)?;
        let mut host = Host::from_config(config, &base_dir(path), options)?;
        host.source = Some(path.to_path_buf());
        Ok(host)
    }

    /// Builds the host from a parsed config whose relative paths are relative to `base`.
    pub fn from_config(
        config: ChainConfig,
        base: &Path,
        options: &HostOptions,
    ) -> Result<Host, HostError> {
        let mut engine = EngineOptions {
            cache_dir: config
                .engine
                .cache_dir
                .as_ref()
                .map(|dir| base.join(dir))
                .or_else(|| options.default_cache_dir.clone()),
            max_instances: instance_pool_size(&config, options.concurrency, options.reloadable)?,
            ..EngineOptions::default()
        };
        if let Some(max) = config.engine.max_memory {
            engine.max_memory = max.0;
        }
        let engine = Arc::new(Engine::new(engine)?);
        let chain = Chain::load(&config, base, Arc::clone(&engine))?;

        let audit_dir = audit_dir(&config, base, options);
        let (audit, audit_key) = match &audit_dir {
            None => (None, None),
            Some(dir) => {
                let section = config.audit.as_ref();
                let key_file = section.and_then(|s| s.key_file.as_deref());
                let key = AuditKey::load_or_create(&audit_key_path(key_file, base, dir))?;
                let mut audit_options = AuditOptions::default();
                if let Some(section) = section {
                    audit_options.fsync = section.fsync;
                    if let Some(size) = section.segment_size {
                        audit_options.max_segment_bytes = size.0 as u64;
                    }
                }
                (Some(AuditLog::open(dir, audit_options)?), Some(key))
            }
        };
        let loaded = Loaded {
            masking: masking(&config, audit_key.as_ref()),
            recording: audit.is_some(),
            chain,
            config,
            base: base.to_path_buf(),
        };
        Ok(Host {
            current: ArcSwap::from_pointee(loaded),
            engine,
            audit,
            audit_key,
            source: None,
            options: options.clone(),
        })
    }

    /// The chain deciding now, with what its decisions are recorded with. Hold on to it for
    /// the whole of one decision: a reload swaps it for later decisions only.
    pub fn current(&self) -> Arc<Loaded> {
        self.current.load_full()
    }

    /// The config file the host was loaded from, if it was.
    pub fn source(&self) -> Option<&Path> {
        self.source.as_deref()
    }

    /// Reads the config file again and builds its chain off to the side (nothing changes on
    /// failure); [`Host::install`] makes it current.
    ///
    /// # Errors
    ///
    /// As for [`Host::load`]; [`HostError::RestartRequired`] when a section that only a
    /// restart applies (`[engine]`, `[audit]`) changed; [`HostError::NoSource`] for a host
    /// not loaded from a file.
    pub fn prepare(&self) -> Result<Loaded, HostError> {
        let path = self.source.as_deref().ok_or(HostError::NoSource)?;
        let config = ChainConfig::load(path)?;
        self.prepare_config(config, &base_dir(path))
    }

    /// Builds a chain from `config` off to the side, with this host's engine and audit key.
    ///
    /// # Errors
    ///
    /// As for [`Host::prepare`].
    pub fn prepare_config(&self, config: ChainConfig, base: &Path) -> Result<Loaded, HostError> {
        let current = self.current();
        let (old, new) = (&current.config, &config);
        if as_json(&old.engine) != as_json(&new.engine) {
            return Err(HostError::RestartRequired {
                section: "[engine]",
            });
        }
        if as_json(&old.audit) != as_json(&new.audit) {
            return Err(HostError::RestartRequired { section: "[audit]" });
        }
        let needed =
            instance_pool_size(&config, self.options.concurrency, self.options.reloadable)?;
        if needed > self.engine.options().max_instances {
            return Err(HostError::RestartRequired {
                section: "warm steps beyond the instance pool",
            });
        }
        let chain = Chain::load(&config, base, Arc::clone(&self.engine))?;
        Ok(Loaded {
            masking: masking(&config, self.audit_key.as_ref()),
            recording: self.audit.is_some(),
            chain,
            config,
            base: base.to_path_buf(),
        })
    }

    /// Makes `loaded` the chain for every decision that starts from now on; decisions in
    /// flight finish on the chain they started with.
    pub fn install(&self, loaded: Loaded) {
        self.current.store(Arc::new(loaded));
    }

    /// The audit log, when decisions are recorded.
    pub fn audit(&self) -> Option<&AuditLog> {
        self.audit.as_ref()
    }

    /// Decides on one request with the current chain. Safe to call from many threads at once.
    pub fn decide(&self, request: Request) -> Decision {
        self.current.load().decide(request)
    }

    /// Hands a record to the audit log; [`Pending::wait`] says when it is durable. `None` when
    /// decisions are not recorded.
    pub fn submit(&self, record: Map<String, Value>) -> Option<Pending> {
        self.audit.as_ref().map(|log| log.submit(record))
    }

    /// Flushes and closes the audit log.
    pub fn close(self) -> Result<(), AuditError> {
        match self.audit {
            Some(log) => log.close(),
            None => Ok(()),
        }
    }
}

fn as_json<T: serde::Serialize>(value: &T) -> Value {
    serde_json::to_value(value).unwrap_or(Value::Null)
}

/// Where decisions are recorded: the option's directory, else the config's, else nowhere.
fn audit_dir(config: &ChainConfig, base: &Path, options: &HostOptions) -> Option<PathBuf> {
    match (&options.audit_dir, options.no_audit, &config.audit) {
        (_, true, _) => None,
        (Some(dir), _, _) => Some(dir.clone()),
        (None, false, Some(audit)) => Some(base.join(&audit.dir)),
        (None, false, None) => None,
    }
}

/// What the log hides under `config`, keyed with the log's key.
fn masking(config: &ChainConfig, key: Option<&AuditKey>) -> Masking {
    match key {
        // Nothing is recorded, so nothing is digested: the key is never used.
        None => Masking::none(AuditKey::from_bytes([0; 32])),
        Some(key) => {
            let section = config.audit.as_ref();
            Masking {
                mask: section.map(|s| s.mask.clone()).unwrap_or_default(),
                hash: section.map(|s| s.hash.clone()).unwrap_or_default(),
                key: key.clone(),
            }
        }
    }
}

/// The directory a config file's relative paths are resolved against (empty for a config
/// in the working directory, so that paths in messages read as they were written).
pub fn base_dir(config: &Path) -> PathBuf {
    config.parent().map(Path::to_path_buf).unwrap_or_default()
}

/// How many plugin instances may be alive at once: each concurrent caller holds at most one
/// fresh instance at a time (steps run one after another) and one live instance of every warm
/// step (loading is done before any call); twice that for a `reloadable` host, whose old and
/// new chains live side by side while a reload lets decisions in flight finish. Never below
/// the engine's default, so a small config gets the usual headroom.
///
/// # Errors
///
/// [`HostError::TooManyInstances`] above [`MAX_INSTANCES`].
pub fn instance_pool_size(
    config: &ChainConfig,
    concurrency: usize,
    reloadable: bool,
) -> Result<u32, HostError> {
    let callers = concurrency.max(1);
    let warm = config
        .step
        .iter()
        .filter(|step| step.instance == InstanceMode::Warm)
        .count();
    let needed = callers
        .saturating_mul(warm.saturating_add(1))
        .saturating_mul(if reloadable { 2 } else { 1 });
    if needed > MAX_INSTANCES {
        return Err(HostError::TooManyInstances {
            callers,
            warm,
            needed,
        });
    }
    Ok(u32::try_from(needed)
        .unwrap_or(u32::MAX)
        .max(EngineOptions::default().max_instances))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_pool_holds_every_warm_instance_of_every_caller() {
        let config = ChainConfig::parse(
            Path::new("c.toml"),
            "[[step]]\nplugin = \"a.wasm\"\ninstance = \"warm\"\n[[step]]\nplugin = \"b.wasm\"\ninstance = \"warm\"\n[[step]]\nplugin = \"c.wasm\"\n",
        )
        .unwrap();
        assert_eq!(instance_pool_size(&config, 1, false).unwrap(), 256);
        // 200 callers × (2 warm + 1 fresh).
        assert_eq!(instance_pool_size(&config, 200, false).unwrap(), 600);
        assert_eq!(instance_pool_size(&config, 2730, false).unwrap(), 8190);
        // A reloadable host holds two chains at once.
        assert_eq!(instance_pool_size(&config, 200, true).unwrap(), 1200);
        let err = instance_pool_size(&config, 3000, false).unwrap_err();
        assert!(matches!(
            err,
            HostError::TooManyInstances { needed: 9000, .. }
        ));
    }
}
