//! The host: everything a decision point needs, built from one config file — the engine, the
//! chain, the audit log and what the log masks — so the command line, a service and the
//! benchmarks all build and measure the same thing.
//!
//! Data still flows one way: a caller hands the host a request, the chain decides (the engine
//! runs the plugins), and the decision's record goes to the audit log.

use std::path::{Path, PathBuf};
use std::sync::Arc;

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

/// A loaded decision point: a chain, and the audit log its decisions go to.
pub struct Host {
    chain: Chain,
    audit: Option<AuditLog>,
    masking: Masking,
}

impl Host {
    /// Reads the config at `path` and builds the host: starts the engine, loads every step
    /// (relative paths against the config's directory), and opens the audit log, if any.
    ///
    /// The chain is loaded before the log is opened, so a plugin that fails to load never
    /// holds the log's lock.
    pub fn load(path: &Path, options: &HostOptions) -> Result<Host, HostError> {
        let config = ChainConfig::load(path)?;
        Host::from_config(&config, &base_dir(path), options)
    }

    /// Builds the host from a parsed config whose relative paths are relative to `base`.
    pub fn from_config(
        config: &ChainConfig,
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
            max_instances: instance_pool_size(config, options.concurrency)?,
            ..EngineOptions::default()
        };
        if let Some(max) = config.engine.max_memory {
            engine.max_memory = max.0;
        }
        let chain = Chain::load(config, base, Arc::new(Engine::new(engine)?))?;

        let audit_dir = match (&options.audit_dir, options.no_audit, &config.audit) {
            (_, true, _) => None,
            (Some(dir), _, _) => Some(dir.clone()),
            (None, false, Some(audit)) => Some(base.join(&audit.dir)),
            (None, false, None) => None,
        };
        let Some(dir) = audit_dir else {
            return Ok(Host {
                chain,
                audit: None,
                // Nothing is recorded, so nothing is digested: the key is never used.
                masking: Masking::none(AuditKey::from_bytes([0; 32])),
            });
        };
        let section = config.audit.as_ref();
        let key_file = section.and_then(|s| s.key_file.as_deref());
        let masking = Masking {
            mask: section.map(|s| s.mask.clone()).unwrap_or_default(),
            hash: section.map(|s| s.hash.clone()).unwrap_or_default(),
            key: AuditKey::load_or_create(&audit_key_path(key_file, base, &dir))?,
        };
        let mut audit_options = AuditOptions::default();
        if let Some(section) = section {
            audit_options.fsync = section.fsync;
            if let Some(size) = section.segment_size {
                audit_options.max_segment_bytes = size.0 as u64;
            }
        }
        let audit = AuditLog::open(&dir, audit_options)?;
        Ok(Host {
            chain,
            audit: Some(audit),
            masking,
        })
    }

    /// The loaded chain.
    pub fn chain(&self) -> &Chain {
        &self.chain
    }

    /// The audit log, when decisions are recorded.
    pub fn audit(&self) -> Option<&AuditLog> {
        self.audit.as_ref()
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
        self.audit
            .is_some()
            .then(|| record::audit_record(decision, &self.masking))
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

/// The directory a config file's relative paths are resolved against (empty for a config
/// in the working directory, so that paths in messages read as they were written).
pub fn base_dir(config: &Path) -> PathBuf {
    config.parent().map(Path::to_path_buf).unwrap_or_default()
}

/// How many plugin instances may be alive at once: each concurrent caller holds at most one
/// fresh instance at a time (steps run one after another) and one live instance of every warm
/// step (loading is done before any call). Never below the engine's default, so a small config gets the
/// usual headroom.
///
/// # Errors
///
/// [`HostError::TooManyInstances`] above [`MAX_INSTANCES`].
pub fn instance_pool_size(config: &ChainConfig, concurrency: usize) -> Result<u32, HostError> {
    let callers = concurrency.max(1);
    let warm = config
        .step
        .iter()
        .filter(|step| step.instance == InstanceMode::Warm)
        .count();
    let needed = callers.saturating_mul(warm.saturating_add(1));
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
        assert_eq!(instance_pool_size(&config, 1).unwrap(), 256);
        // 200 callers × (2 warm + 1 fresh).
        assert_eq!(instance_pool_size(&config, 200).unwrap(), 600);
        assert_eq!(instance_pool_size(&config, 2730).unwrap(), 8190);
        let err = instance_pool_size(&config, 3000).unwrap_err();
        assert!(matches!(
            err,
            HostError::TooManyInstances { needed: 9000, .. }
        ));
    }
}
