//! The wasm side of the comparison: Lampart chains of tool-rules steps, and bare wasmtime
//! running the same component with the same limits (the floor for a fresh instance).
//!
//! Both start from the request JSON text and end at a verdict, like the peers.

use std::collections::{BTreeMap, VecDeque};
use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::Duration;

use lampart::audit::Pending;
use lampart::chain::Verdict;
use lampart::config::ChainConfig;
use lampart::engine::bindings::policy::lampart::plugin::{host, types};
use lampart::engine::bindings::policy::{Policy, PolicyPre};
use lampart::engine::bindings::{self, Input};
use lampart::host::{Host, HostOptions};
use lampart::request::{Phase, Request};
use wasmtime::component::{Component, HasSelf, Linker, ResourceTable};
use wasmtime::{Store, StoreLimits, StoreLimitsBuilder};
use wasmtime_wasi::{WasiCtx, WasiCtxView, WasiView};

use crate::peers::Engine;
use crate::requests::TOOL_RULES_SETTINGS;

/// The repository's root.
pub fn workspace() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .parent()
        .expect("bench/ has a parent")
        .to_path_buf()
}

/// The tool-rules component, as `cargo xtask plugins` builds it.
pub fn tool_rules_wasm() -> PathBuf {
    let path = workspace()
        .join("dist")
        .join("plugins")
        .join("tool_rules.wasm");
    assert!(
        path.is_file(),
        "{} is missing: run `cargo xtask plugins` first",
        path.display()
    );
    path
}

/// The limits every case runs under: Lampart's defaults.
pub const FUEL: u64 = 100_000_000;
/// Memory cap, bytes.
pub const MEMORY: usize = 64 << 20;
/// Wall-clock deadline.
pub const DEADLINE: Duration = Duration::from_millis(100);

/// The benchmark policy's settings for a tool-rules step (the body under `[step.settings]`).
pub fn tool_rules_settings() -> toml::Table {
    let parsed: toml::Table = toml::from_str(TOOL_RULES_SETTINGS).expect("settings are TOML");
    parsed
        .get("step")
        .and_then(|step| step.get("settings"))
        .and_then(toml::Value::as_table)
        .cloned()
        .expect("TOOL_RULES_SETTINGS has a [step.settings] table")
}

/// The config of a chain of `steps` tool-rules steps with the benchmark policy.
pub fn chain_config(steps: usize, instance: &str) -> String {
    let plugin = toml::Value::String(tool_rules_wasm().display().to_string());
    let settings = toml::Value::Table(tool_rules_settings());
    let mut config = String::from("[chain]\ndefault = \"deny\"\n");
    for step in 0..steps {
        config.push_str(&format!(
            "\n[[step]]\nname = \"rules-{step}\"\nplugin = {plugin}\ninstance = \"{instance}\"\nsettings = {settings}\n"
        ));
    }
    config
}

/// A Lampart chain of tool-rules steps, optionally recording every decision durably.
pub struct LampartCase {
    name: String,
    host: Host,
    in_flight: VecDeque<Pending>,
}

impl LampartCase {
    /// A chain of `steps` steps, `warm` or fresh, with an fsynced audit log in `audit_dir`
    /// when given.
    pub fn new(steps: usize, warm: bool, audit_dir: Option<&Path>) -> Self {
        let instance = if warm { "warm" } else { "fresh" };
        let config = ChainConfig::parse(Path::new("bench.toml"), &chain_config(steps, instance))
            .unwrap_or_else(|e| panic!("{e}"));
        // The host `lampart check` and `lampart serve` build: the same chain, masking and
        // durable audit log.
        let options = HostOptions {
            audit_dir: audit_dir.map(Path::to_path_buf),
            no_audit: audit_dir.is_none(),
            default_cache_dir: Some(cache_dir()),
            concurrency: 1,
            reloadable: false,
        };
        let host =
            Host::from_config(config, &workspace(), &options).unwrap_or_else(|e| panic!("{e}"));
        let name = format!(
            "lampart {steps} step{} {instance}{}",
            if steps == 1 { "" } else { "s" },
            if audit_dir.is_some() { " +audit" } else { "" }
        );
        LampartCase {
            name,
            host,
            in_flight: VecDeque::new(),
        }
    }
}

/// Decisions kept in flight while their records are made durable, as `lampart check` does.
const IN_FLIGHT: usize = 256;

impl Engine for LampartCase {
    fn name(&self) -> &str {
        &self.name
    }

    fn decide(&mut self, request_json: &str) -> bool {
        let request = Request::from_json(request_json).expect("benchmark requests are valid");
        let loaded = self.host.current();
        let decision = loaded.decide(request);
        if let Some(pending) = loaded.record(&decision).and_then(|r| self.host.submit(r)) {
            self.in_flight.push_back(pending);
            if self.in_flight.len() > IN_FLIGHT
                && let Some(oldest) = self.in_flight.pop_front()
            {
                oldest.wait().expect("audit record is written");
            }
        }
        decision.verdict == Verdict::Allow
    }
}

/// The compile cache the test suite and the benchmarks share.
pub fn cache_dir() -> std::path::PathBuf {
    workspace().join("target").join("plugins").join("cache")
}

/// What a bare-wasmtime store holds: WASI as wasmtime-wasi builds it by default, the
/// settings, and wasmtime's own memory limiter.
struct BareState {
    wasi: WasiCtx,
    table: ResourceTable,
    limits: StoreLimits,
    settings: Arc<BTreeMap<String, String>>,
}

impl WasiView for BareState {
    fn ctx(&mut self) -> WasiCtxView<'_> {
        WasiCtxView {
            ctx: &mut self.wasi,
            table: &mut self.table,
        }
    }
}

impl types::Host for BareState {}

impl host::Host for BareState {
    fn log(&mut self, _level: host::Level, _message: String) {}

    fn setting(&mut self, key: String) -> Option<String> {
        self.settings.get(&key).cloned()
    }

    fn setting_keys(&mut self) -> Vec<String> {
        self.settings.keys().cloned().collect()
    }
}

/// Bare wasmtime: a default `Config` (on-demand allocator) with fuel and epochs, the same
/// component and limits, an `InstancePre`, and a fresh store and instance per request.
pub struct Bare {
    engine: wasmtime::Engine,
    pre: PolicyPre<BareState>,
    settings: Arc<BTreeMap<String, String>>,
    stop: Arc<AtomicBool>,
}

impl Bare {
    /// Compiles the tool-rules component and links it.
    pub fn new() -> Self {
        let mut config = wasmtime::Config::new();
        config
            .wasm_component_model(true)
            .consume_fuel(true)
            .epoch_interruption(true);
        let engine = wasmtime::Engine::new(&config).expect("engine");
        let component = Component::from_file(&engine, tool_rules_wasm()).expect("component");
        let mut linker = Linker::new(&engine);
        wasmtime_wasi::p2::add_to_linker_sync(&mut linker).expect("wasi");
        Policy::add_to_linker::<BareState, HasSelf<BareState>>(&mut linker, |state| state)
            .expect("host");
        let pre = PolicyPre::new(linker.instantiate_pre(&component).expect("pre")).expect("policy");
        let settings = tool_rules_settings()
            .into_iter()
            .map(|(key, value)| match value {
                toml::Value::String(text) => (key, text),
                other => (key, serde_json::to_string(&other).expect("JSON")),
            })
            .collect();
        let stop = Arc::new(AtomicBool::new(false));
        let (ticking, flag) = (engine.clone(), Arc::clone(&stop));
        std::thread::spawn(move || {
            while !flag.load(Ordering::Relaxed) {
                std::thread::sleep(Duration::from_millis(1));
                ticking.increment_epoch();
            }
        });
        Bare {
            engine,
            pre,
            settings: Arc::new(settings),
            stop,
        }
    }
}

impl Default for Bare {
    fn default() -> Self {
        Self::new()
    }
}

impl Drop for Bare {
    fn drop(&mut self) {
        self.stop.store(true, Ordering::Relaxed);
    }
}

impl Engine for Bare {
    fn name(&self) -> &str {
        "bare wasmtime"
    }

    fn decide(&mut self, request_json: &str) -> bool {
        let request: Request = serde_json::from_str(request_json).expect("valid request");
        let input = Input {
            id: String::new(),
            phase: match request.phase {
                Phase::Request => bindings::Phase::Request,
                Phase::Response => bindings::Phase::Response,
                Phase::Elevation => bindings::Phase::Elevation,
            },
            principal: bindings::Principal {
                agent: request.principal.agent,
                roles: request.principal.roles,
                session: request.principal.session,
                task: request.principal.task,
            },
            action: bindings::Action {
                tool: request.action.tool,
                args: request.action.args.to_string(),
                resource: request.action.resource,
            },
            output: None,
            grants: request.grants,
            labels: request.labels,
            findings: Vec::new(),
        };
        let state = BareState {
            wasi: WasiCtx::builder().build(),
            table: ResourceTable::new(),
            limits: StoreLimitsBuilder::new().memory_size(MEMORY).build(),
            settings: Arc::clone(&self.settings),
        };
        let mut store = Store::new(&self.engine, state);
        store.limiter(|state| &mut state.limits);
        store.set_fuel(FUEL).expect("fuel");
        store.set_epoch_deadline(DEADLINE.as_millis() as u64 + 1);
        store.epoch_deadline_trap();
        let policy = self.pre.instantiate(&mut store).expect("instantiate");
        let decision = policy.call_evaluate(&mut store, &input).expect("evaluate");
        matches!(decision.verdict, bindings::Verdict::Allow)
    }
}
