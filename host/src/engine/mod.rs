//! How a plugin runs: a wasmtime engine with the pooling allocator, a precompiled-component
//! cache, one `InstancePre` per plugin and a fresh `Store` per call under fuel, memory and
//! wall-clock limits.
//!
//! The engine knows nothing of chains or verdict combination: it loads components, checks
//! which world they export, and turns one call into either the plugin's typed output or a
//! [`Failure`] naming what went wrong. Every failure is reported, never raised: the chain
//! decides what a failure means (it denies).

pub mod bindings;
mod cache;
mod contract;
mod nowait;
mod output;
mod said;
mod sandbox;
mod stderr;
mod ticker;
mod warm;

use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::time::{Duration, Instant};

use wasmtime::component::{Component, HasSelf, Linker, types::ComponentItem};
use wasmtime::{
    Config, InstanceAllocationStrategy, OptLevel, PoolingAllocationConfig, Store, Trap,
};

pub use contract::Contract;
pub use sandbox::{LogLevel, LogLine, Settings};

use bindings::{Decision, Info, Input, Inspection};
use bindings::{inspector::InspectorPre, policy::PolicyPre};
use cache::ComponentCache;
use sandbox::StepState;
use ticker::EpochTicker;
use warm::{Exports, Live, WarmPool};

/// Engine-wide settings, fixed when the engine starts.
#[derive(Debug, Clone)]
pub struct EngineOptions {
    /// Where precompiled components are kept; `None` compiles every time.
    pub cache_dir: Option<PathBuf>,
    /// The largest linear memory any plugin may have, in bytes: the pool's slot size and the
    /// ceiling for every step's own memory limit.
    pub max_memory: usize,
    /// How often the epoch advances: the resolution of wall-clock deadlines.
    pub epoch_interval: Duration,
    /// How many plugin instances may be alive at once across all threads.
    pub max_instances: u32,
}

impl Default for EngineOptions {
    fn default() -> Self {
        EngineOptions {
            cache_dir: None,
            max_memory: 1 << 30,
            epoch_interval: Duration::from_millis(1),
            max_instances: 256,
        }
    }
}

/// The limits one call runs under.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Limits {
    /// Fuel: roughly one unit per WebAssembly instruction. The deterministic bound.
    pub fuel: u64,
    /// The most linear memory the plugin may hold, in bytes.
    pub memory: usize,
    /// The wall-clock backstop.
    pub deadline: Duration,
}

impl Default for Limits {
    /// 100 million fuel (about 30 ms of Rust), 64 MiB, 100 ms.
    fn default() -> Self {
        Limits {
            fuel: 100_000_000,
            memory: 64 << 20,
            deadline: Duration::from_millis(100),
        }
    }
}

/// Which world a component exports.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, serde::Serialize, serde::Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Kind {
    /// Exports `evaluate`: decides.
    Policy,
    /// Exports `inspect`: reports findings.
    Inspector,
}

impl Kind {
    /// The world's name.
    pub fn as_str(self) -> &'static str {
        match self {
            Kind::Policy => "policy",
            Kind::Inspector => "inspector",
        }
    }
}

/// Whether a step gets a new instance for every call or reuses warm ones.
#[derive(
    Debug, Clone, Copy, Default, PartialEq, Eq, Hash, serde::Serialize, serde::Deserialize,
)]
#[serde(rename_all = "lowercase")]
pub enum InstanceMode {
    /// A new instance in a new store for every call: nothing survives a decision.
    #[default]
    Fresh,
    /// Instances are reused between calls (one per concurrent caller) and dropped after any
    /// failure. Faster; a plugin's memory survives from one decision to the next.
    Warm,
}

impl InstanceMode {
    /// The mode's name in records.
    pub fn as_str(self) -> &'static str {
        match self {
            InstanceMode::Fresh => "fresh",
            InstanceMode::Warm => "warm",
        }
    }
}

/// Bytes at the start of each memory and table slot that are zeroed in place when an
/// instance is dropped, instead of being returned to the kernel. Returning pages costs a page
/// fault per page on the next instance and, worse, a TLB-shootdown interrupt to every other
/// core running this process, which stops threads from scaling. Plugins built with a small
/// stack (see `.cargo/config.toml`) touch less than this per decision, so a fresh instance
/// costs a memset instead: measured 56 → 31 µs per fresh decision, and two `check` workers
/// went from slower than one to 1.7× one.
const KEEP_RESIDENT: usize = 512 << 10;

/// Idle warm instances kept per plugin: more than any machine's concurrent callers need.
const MAX_IDLE_WARM: usize = 64;

/// Why a plugin could not be loaded.
#[derive(Debug, thiserror::Error)]
pub enum EngineError {
    /// wasmtime refused the engine configuration.
    #[error("could not start the WebAssembly engine: {0}")]
    Start(String),
    /// The cache directory could not be created or read.
    #[error("cache directory `{path}`: {error}")]
    Cache {
        /// The directory.
        path: PathBuf,
        /// What failed.
        error: std::io::Error,
    },
    /// The cache directory is not private: another user owns it or may write it or a
    /// directory above it.
    #[error(
        "cache directory `{path}`: {reason}; precompiled code is loaded from it, so only this user may write it"
    )]
    CacheNotPrivate {
        /// The directory.
        path: PathBuf,
        /// What is wrong.
        reason: crate::private_dir::TrustError,
    },
    /// The plugin file could not be read. (The file error is part of the message, not a
    /// separate cause, so that a chain of causes names it once.)
    #[error("plugin {0}")]
    Read(crate::files::FileError),
    /// The plugin file is not a usable component, exports the wrong world, or failed to
    /// describe itself.
    #[error("plugin `{path}`: {message}")]
    Plugin {
        /// The file.
        path: PathBuf,
        /// What is wrong, in one line.
        message: String,
    },
}

/// A wasmtime engine set up for plugins, with its linker, cache and epoch ticker.
pub struct Engine {
    wasmtime: wasmtime::Engine,
    linker: Linker<StepState>,
    cache: Option<ComponentCache>,
    ticker: EpochTicker,
    options: EngineOptions,
}

impl Engine {
    /// Starts an engine.
    pub fn new(options: EngineOptions) -> Result<Engine, EngineError> {
        let start = |e: wasmtime::Error| EngineError::Start(one_line(&e));
        let mut pool = PoolingAllocationConfig::default();
        pool.total_component_instances(options.max_instances)
            .total_core_instances(options.max_instances.saturating_mul(8))
            .total_memories(options.max_instances.saturating_mul(2))
            .total_tables(options.max_instances.saturating_mul(2))
            .max_memory_size(options.max_memory)
            // Interpreters compiled to WebAssembly (CPython, SpiderMonkey) have large tables.
            .table_elements(50_000)
            .linear_memory_keep_resident(KEEP_RESIDENT)
            .table_keep_resident(KEEP_RESIDENT);
        let mut config = Config::new();
        config
            .wasm_component_model(true)
            .consume_fuel(true)
            .epoch_interruption(true)
            .cranelift_opt_level(OptLevel::Speed)
            .allocation_strategy(InstanceAllocationStrategy::Pooling(pool));
        let wasmtime = wasmtime::Engine::new(&config).map_err(start)?;

        let mut linker = Linker::new(&wasmtime);
        wasmtime_wasi::p2::add_to_linker_sync(&mut linker).map_err(start)?;
        nowait::add_to_linker(&mut linker).map_err(start)?;
        // Every released contract's host interface: plugins built against any of them load.
        bindings::policy::Policy::add_to_linker::<StepState, HasSelf<StepState>>(
            &mut linker,
            |state| state,
        )
        .map_err(start)?;
        bindings::v0_1::policy::Policy::add_to_linker::<StepState, HasSelf<StepState>>(
            &mut linker,
            |state| state,
        )
        .map_err(start)?;

        let cache = match &options.cache_dir {
            Some(dir) => Some(ComponentCache::open(dir, &wasmtime, &options.max_memory)?),
            None => None,
        };
        let ticker = EpochTicker::start(wasmtime.clone(), options.epoch_interval)
            .map_err(|e| EngineError::Start(format!("epoch thread: {e}")))?;
        Ok(Engine {
            wasmtime,
            linker,
            cache,
            ticker,
            options,
        })
    }

    /// The settings the engine was started with.
    pub fn options(&self) -> &EngineOptions {
        &self.options
    }

    /// Reads, compiles (or loads precompiled) and type-checks a plugin file.
    pub fn load_file(&self, path: &Path) -> Result<LoadedComponent, EngineError> {
        let bytes = crate::files::read_bounded_if(path, crate::files::MAX_PLUGIN_BYTES, b"\0asm")
            .map_err(EngineError::Read)?;
        self.load_bytes(path, &bytes)
    }

    /// Compiles (or loads precompiled) and type-checks a plugin from its bytes; `path` only
    /// names it in errors.
    pub fn load_bytes(&self, path: &Path, bytes: &[u8]) -> Result<LoadedComponent, EngineError> {
        let plugin_error = |message: String| EngineError::Plugin {
            path: path.into(),
            message,
        };
        if !wasmparser_is_component(bytes) {
            return Err(plugin_error(if bytes.starts_with(b"\0asm") {
                "a core WebAssembly module, not a component: build it for wasm32-wasip2 or wrap it with `wasm-tools component new`".into()
            } else {
                "not a WebAssembly component (bad magic bytes)".into()
            }));
        }
        let digest = blake3::hash(bytes);
        let component = match &self.cache {
            Some(cache) => cache.load_or_compile(&self.wasmtime, bytes, &digest),
            None => Component::new(&self.wasmtime, bytes),
        }
        .map_err(|e| plugin_error(format!("does not compile: {}", one_line(&e))))?;
        let kind = world_of(&component, &self.wasmtime).map_err(plugin_error)?;
        let contract = contract::contract_of(
            component
                .component_type()
                .imports(&self.wasmtime)
                .map(|(name, _)| name),
        )
        .map_err(plugin_error)?;
        Ok(LoadedComponent {
            path: path.to_path_buf(),
            digest,
            component,
            kind,
            contract,
        })
    }

    /// Links a loaded component for repeated calls and asks it to describe itself (in a
    /// fresh instance, whatever `instance` says).
    pub fn prepare(
        &self,
        loaded: &LoadedComponent,
        step: &str,
        settings: Settings,
        limits: Limits,
        instance: InstanceMode,
    ) -> Result<Plugin, EngineError> {
        let plugin_error = |message: String| EngineError::Plugin {
            path: loaded.path.clone(),
            message,
        };
        let pre = self
            .linker
            .instantiate_pre(&loaded.component)
            .map_err(|e| plugin_error(format!("cannot be linked: {}", one_line(&e))))?;
        let world = |e: wasmtime::Error| {
            plugin_error(format!(
                "{} world of {}: {}",
                loaded.kind.as_str(),
                loaded.contract,
                one_line(&e)
            ))
        };
        let pre = match (loaded.kind, loaded.contract) {
            (Kind::Policy, Contract::V0_2) => {
                PluginPre::Policy(PolicyPre::new(pre).map_err(world)?)
            }
            (Kind::Inspector, Contract::V0_2) => {
                PluginPre::Inspector(InspectorPre::new(pre).map_err(world)?)
            }
            (Kind::Policy, Contract::V0_1) => {
                PluginPre::PolicyV0_1(bindings::v0_1::policy::PolicyPre::new(pre).map_err(world)?)
            }
            (Kind::Inspector, Contract::V0_1) => PluginPre::InspectorV0_1(
                bindings::v0_1::inspector::InspectorPre::new(pre).map_err(world)?,
            ),
        };
        let mut plugin = Plugin {
            step: Arc::from(step),
            digest: loaded.digest,
            kind: loaded.kind,
            info: Info {
                name: String::new(),
                version: String::new(),
                phases: vec![],
                tools: vec![],
            },
            settings,
            pre,
            instance,
            warm: None,
        };
        let described = self.run(
            &plugin,
            limits,
            |exports, store| match exports {
                Exports::Policy(policy) => policy.call_describe(store),
                Exports::Inspector(inspector) => inspector.call_describe(store),
                Exports::PolicyV0_1(policy) => {
                    policy.call_describe(store).map(contract::info_from_v0_1)
                }
                Exports::InspectorV0_1(inspector) => {
                    inspector.call_describe(store).map(contract::info_from_v0_1)
                }
            },
            output::check_info,
        );
        let info = described
            .result
            .map_err(|failure| plugin_error(describe_failure(&failure)))?;
        plugin.info = info;
        if instance == InstanceMode::Warm {
            plugin.warm = Some(WarmPool::new(MAX_IDLE_WARM));
        }
        Ok(plugin)
    }

    /// Runs a policy's `evaluate`, in a fresh or warm instance as the plugin was prepared.
    pub fn evaluate(&self, plugin: &Plugin, input: &Input, limits: Limits) -> Call<Decision> {
        self.run(
            plugin,
            limits,
            |exports, store| match exports {
                Exports::Policy(policy) => policy.call_evaluate(store, input),
                Exports::PolicyV0_1(policy) => policy
                    .call_evaluate(store, &contract::input_v0_1(input))
                    .map(contract::decision_from_v0_1),
                Exports::Inspector(_) | Exports::InspectorV0_1(_) => {
                    wasmtime::bail!("an inspector has no `evaluate`")
                }
            },
            output::check_decision,
        )
    }

    /// Runs an inspector's `inspect`, in a fresh or warm instance as the plugin was prepared.
    pub fn inspect(&self, plugin: &Plugin, input: &Input, limits: Limits) -> Call<Inspection> {
        self.run(
            plugin,
            limits,
            |exports, store| match exports {
                Exports::Inspector(inspector) => inspector.call_inspect(store, input),
                Exports::InspectorV0_1(inspector) => inspector
                    .call_inspect(store, &contract::input_v0_1(input))
                    .map(contract::inspection_from_v0_1),
                Exports::Policy(_) | Exports::PolicyV0_1(_) => {
                    wasmtime::bail!("a policy has no `inspect`")
                }
            },
            output::check_inspection,
        )
    }

    /// A new store for one of the plugin's instances.
    fn new_store(&self, plugin: &Plugin, limits: Limits) -> Store<StepState> {
        let memory = limits.memory.min(self.options.max_memory);
        let state = StepState::new(
            Arc::clone(&plugin.step),
            Arc::clone(&plugin.settings),
            memory,
        );
        let mut store = Store::new(&self.wasmtime, state);
        store.limiter(|state| &mut state.cap);
        store
    }

    /// One call: take a warm instance or make a fresh one, set the limits, run, measure,
    /// classify any failure, check the output with `check`, and give a warm instance back
    /// only if the call succeeded and its output was accepted.
    fn run<T>(
        &self,
        plugin: &Plugin,
        limits: Limits,
        call: impl FnOnce(&Exports, &mut Store<StepState>) -> wasmtime::Result<T>,
        check: impl FnOnce(&T) -> Result<(), String>,
    ) -> Call<T> {
        let started = Instant::now();
        let (mut store, mut exports) = match plugin.warm.as_ref().and_then(WarmPool::take) {
            Some(live) => (live.store, Some(live.exports)),
            None => (self.new_store(plugin, limits), None),
        };
        store.data_mut().begin_call();
        let result = (|| {
            store.set_fuel(limits.fuel)?;
            store.set_epoch_deadline(self.ticker.ticks_for(limits.deadline));
            store.epoch_deadline_trap();
            let exports = match &mut exports {
                Some(exports) => exports,
                None => exports.insert(plugin.instantiate(&mut store)?),
            };
            call(exports, &mut store)
        })();
        let fuel_counted = limits.fuel.saturating_sub(store.get_fuel().unwrap_or(0));
        let result = result
            .map_err(|err| classify(&err, store.data(), limits))
            .and_then(|output| match check(&output) {
                Ok(()) => Ok(output),
                Err(message) => Err(Failure {
                    kind: FailureKind::Output,
                    message,
                }),
            });
        // A call stopped by its deadline has burnt more than the store has counted (see
        // `Call::fuel_used`): no number is better than a wrong one.
        let fuel_used = match &result {
            Err(failure) if failure.kind == FailureKind::Deadline => None,
            _ => Some(fuel_counted),
        };
        let (logs, logs_dropped) = store.data_mut().take_logs();
        let stderr = store.data().stderr_text();
        let peak_memory = store.data().cap.peak;
        if let (Some(pool), Ok(_), Some(exports)) = (&plugin.warm, &result, exports) {
            pool.put(Live { store, exports });
        }
        Call {
            result,
            fuel_used,
            elapsed: started.elapsed(),
            peak_memory,
            logs,
            logs_dropped,
            stderr,
        }
    }
}

/// A compiled, type-checked component, not yet linked.
pub struct LoadedComponent {
    /// Where it was read from.
    pub path: PathBuf,
    /// blake3 of the component's bytes.
    pub digest: blake3::Hash,
    /// The compiled component.
    pub component: Component,
    /// Which world it exports.
    pub kind: Kind,
    /// The contract version it was built against.
    pub contract: Contract,
}

impl LoadedComponent {
    /// The digest as written in configs and records: `blake3:<hex>`.
    pub fn digest_string(&self) -> String {
        format!("blake3:{}", self.digest.to_hex())
    }

    /// The names of everything the component imports and exports.
    pub fn interface(&self, engine: &Engine) -> (Vec<String>, Vec<String>) {
        let ty = self.component.component_type();
        let imports = ty
            .imports(&engine.wasmtime)
            .map(|(name, _)| name.to_string())
            .collect();
        let exports = ty
            .exports(&engine.wasmtime)
            .map(|(name, _)| name.to_string())
            .collect();
        (imports, exports)
    }
}

/// A linked plugin of one chain step, ready for any number of calls from any thread.
pub struct Plugin {
    step: Arc<str>,
    digest: blake3::Hash,
    kind: Kind,
    info: Info,
    settings: Settings,
    pre: PluginPre,
    instance: InstanceMode,
    warm: Option<WarmPool>,
}

impl Plugin {
    /// Whether calls get fresh or warm instances.
    pub fn instance_mode(&self) -> InstanceMode {
        self.instance
    }

    /// A new instance in `store`.
    fn instantiate(&self, store: &mut Store<StepState>) -> wasmtime::Result<Exports> {
        Ok(match &self.pre {
            PluginPre::Policy(pre) => Exports::Policy(pre.instantiate(&mut *store)?),
            PluginPre::Inspector(pre) => Exports::Inspector(pre.instantiate(&mut *store)?),
            PluginPre::PolicyV0_1(pre) => Exports::PolicyV0_1(pre.instantiate(&mut *store)?),
            PluginPre::InspectorV0_1(pre) => Exports::InspectorV0_1(pre.instantiate(&mut *store)?),
        })
    }

    /// What the plugin said about itself when it was loaded.
    pub fn info(&self) -> &Info {
        &self.info
    }

    /// Which world it exports.
    pub fn kind(&self) -> Kind {
        self.kind
    }

    /// blake3 of the component's bytes.
    pub fn digest(&self) -> &blake3::Hash {
        &self.digest
    }
}

/// A linked plugin, in the contract version it was built against.
enum PluginPre {
    Policy(PolicyPre<StepState>),
    Inspector(InspectorPre<StepState>),
    PolicyV0_1(bindings::v0_1::policy::PolicyPre<StepState>),
    InspectorV0_1(bindings::v0_1::inspector::InspectorPre<StepState>),
}

/// The result of one call, with what it cost.
#[derive(Debug)]
pub struct Call<T> {
    /// The plugin's output, or why there is none.
    pub result: Result<T, Failure>,
    /// Fuel consumed; `None` when the deadline stopped the call. wasmtime keeps a running
    /// function's fuel count in a register and writes it back to the store only at calls,
    /// returns and fuel checks that run out; the epoch check that interrupts a call does not,
    /// so after a deadline the store's count can be far below what was burnt.
    pub fuel_used: Option<u64>,
    /// Wall time from store creation to the end of the call.
    pub elapsed: Duration,
    /// The most linear memory the instance's memories held together during the call, in
    /// bytes, as the memory limiter saw them created and grown (a warm instance starts from
    /// what it already held).
    pub peak_memory: usize,
    /// What the plugin logged (at most 64 lines).
    pub logs: Vec<LogLine>,
    /// Log lines beyond the kept ones.
    pub logs_dropped: usize,
    /// The last 4 KiB the plugin wrote to standard error, trimmed; empty when it wrote nothing.
    /// Not escaped: it is the plugin's raw output.
    pub stderr: String,
}

/// Why a call produced no usable output.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Failure {
    /// The class of failure.
    pub kind: FailureKind,
    /// One line of detail.
    pub message: String,
}

impl std::fmt::Display for Failure {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "{}: {}", self.kind.as_str(), self.message)
    }
}

/// The classes of failure, as recorded in the audit log.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum FailureKind {
    /// The fuel limit ran out.
    Fuel,
    /// The plugin wanted more memory than its step allows.
    Memory,
    /// The wall-clock deadline passed.
    Deadline,
    /// The wasm call stack overflowed.
    StackOverflow,
    /// The plugin trapped (a panic, `unreachable`, an out-of-bounds access, ...).
    Trap,
    /// The plugin returned output the host refuses (too large, malformed).
    Output,
    /// The plugin could not be instantiated (e.g. no free instance slot).
    Instantiate,
}

impl FailureKind {
    /// The kind's name in records and messages.
    pub fn as_str(self) -> &'static str {
        match self {
            FailureKind::Fuel => "fuel",
            FailureKind::Memory => "memory",
            FailureKind::Deadline => "deadline",
            FailureKind::StackOverflow => "stack-overflow",
            FailureKind::Trap => "trap",
            FailureKind::Output => "malformed-output",
            FailureKind::Instantiate => "instantiate",
        }
    }
}

/// Turns a wasmtime error into a failure. When the plugin trapped, its own words are the
/// cause: the last line it logged at error level if any (a plugin that refuses its settings
/// logs why, then traps), else what it wrote to standard error (see [`said`]), else the trap.
fn classify(err: &wasmtime::Error, state: &StepState, limits: Limits) -> Failure {
    let trap = err.downcast_ref::<Trap>();
    let (kind, message) = if state.cap.hit {
        (FailureKind::Memory, root_message(err))
    } else {
        match trap {
            Some(Trap::OutOfFuel) => (
                FailureKind::Fuel,
                format!("fuel limit of {} exhausted", limits.fuel),
            ),
            Some(Trap::Interrupt) => (
                FailureKind::Deadline,
                format!(
                    "wall-clock deadline of {} passed",
                    humantime::format_duration(limits.deadline)
                ),
            ),
            Some(Trap::StackOverflow) => (
                FailureKind::StackOverflow,
                "call stack exhausted".to_string(),
            ),
            // Compiled languages keep their own stack at the bottom of linear memory: running
            // off its end is an out-of-bounds access, not a wasm stack overflow.
            Some(Trap::MemoryOutOfBounds) => (
                FailureKind::Trap,
                "out of bounds memory access (often the plugin's own stack overflowing)"
                    .to_string(),
            ),
            Some(trap) => (FailureKind::Trap, trap.to_string()),
            None if err.to_string().contains("instance") && err.to_string().contains("limit") => {
                (FailureKind::Instantiate, root_message(err))
            }
            None => (FailureKind::Trap, root_message(err)),
        }
    };
    if kind != FailureKind::Trap {
        return Failure { kind, message };
    }
    let words = state
        .last_error_log()
        .map(said::one_line)
        .or_else(|| said::last_words(&state.stderr_text()));
    let message = match words {
        // An out-of-bounds access is the one trap that says more than the plugin does.
        Some(words) if matches!(trap, Some(Trap::MemoryOutOfBounds)) => {
            format!("{message}: {words}")
        }
        Some(words) => words,
        None => message,
    };
    Failure { kind, message }
}

/// Why `describe()` failed at load, with the limit to raise when a limit stopped it.
fn describe_failure(failure: &Failure) -> String {
    let raise = |key: &str| {
        format!(
            "describe() failed: {}; raise `{key}` in `[limits]` or in the step's `limits`",
            failure.message
        )
    };
    match failure.kind {
        FailureKind::Fuel => raise("fuel"),
        FailureKind::Deadline => raise("deadline"),
        FailureKind::Memory => raise("memory"),
        FailureKind::Trap => format!("describe() failed: {}", failure.message),
        _ => format!("describe() failed: {failure}"),
    }
}

/// The innermost cause of an error, on one line.
fn root_message(err: &wasmtime::Error) -> String {
    err.chain()
        .last()
        .map(|cause| cause.to_string())
        .unwrap_or_default()
        .replace('\n', " ")
}

/// An error and its causes on one line.
fn one_line(err: &wasmtime::Error) -> String {
    err.chain()
        .map(|c| c.to_string().replace('\n', " "))
        .collect::<Vec<_>>()
        .join(": ")
}

/// True if the bytes start like a component (magic, then the component layer).
fn wasmparser_is_component(bytes: &[u8]) -> bool {
    bytes.len() >= 8 && &bytes[0..4] == b"\0asm" && bytes[6..8] == [0x01, 0x00]
}

/// Which world a component exports, judged by its export names.
fn world_of(component: &Component, engine: &wasmtime::Engine) -> Result<Kind, String> {
    let ty = component.component_type();
    let mut evaluate = false;
    let mut inspect = false;
    let mut describe = false;
    for (name, item) in ty.exports(engine) {
        let is_func = matches!(item.ty, ComponentItem::ComponentFunc(_));
        match name {
            "evaluate" if is_func => evaluate = true,
            "inspect" if is_func => inspect = true,
            "describe" if is_func => describe = true,
            _ => {}
        }
    }
    match (evaluate, inspect, describe) {
        (_, _, false) => Err("exports no `describe` function: not a Lampart plugin (world `policy` or `inspector` of `lampart:plugin`)".into()),
        (true, true, _) => Err("exports both `evaluate` and `inspect`: a plugin is either a policy or an inspector".into()),
        (true, false, _) => Ok(Kind::Policy),
        (false, true, _) => Ok(Kind::Inspector),
        (false, false, _) => Err("exports neither `evaluate` (policy) nor `inspect` (inspector)".into()),
    }
}
