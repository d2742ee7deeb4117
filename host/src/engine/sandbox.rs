//! What a plugin's store holds for one call: a deterministic WASI context, the memory cap,
//! the step's settings and what the plugin logged.
//!
//! Determinism: the WASI interfaces a toolchain imports anyway (Rust's std, CPython, ...) are
//! linked, but answer with a wall clock fixed at the Unix epoch, a monotonic clock that never
//! moves, random bytes from a fixed cycle, no arguments, no environment, no files, no sockets.
//! The last 4 KiB of standard error are kept so a panic message can be reported with the trap.

use std::collections::BTreeMap;
use std::sync::Arc;
use std::time::Duration;

use wasmtime::ResourceLimiter;
use wasmtime::component::ResourceTable;
use wasmtime_wasi::{
    Deterministic, HostMonotonicClock, HostWallClock, WasiCtx, WasiCtxView, WasiView,
};

use super::bindings::{Level, policy::lampart::plugin::host, policy::lampart::plugin::types, v0_1};
use super::stderr::StderrTail;

/// Most log lines kept from one call; the rest are counted, not kept.
const MAX_LOG_LINES: usize = 64;
/// Longest log line kept; longer ones are cut.
const MAX_LOG_LINE: usize = 1024;

/// A step's settings: string values by key, shared by every call of the step.
pub type Settings = Arc<BTreeMap<String, String>>;

/// One line a plugin logged.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct LogLine {
    /// How important the plugin said it was.
    pub level: LogLevel,
    /// What it said (cut at 1 KiB).
    pub message: String,
}

/// A plugin log line's level.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum LogLevel {
    /// Detail for the plugin's author.
    Debug,
    /// Normal operation.
    Info,
    /// Something odd.
    Warn,
    /// Something failed.
    Error,
}

impl LogLevel {
    /// The level's name: `debug`, `info`, `warn` or `error`.
    pub fn as_str(self) -> &'static str {
        match self {
            LogLevel::Debug => "debug",
            LogLevel::Info => "info",
            LogLevel::Warn => "warn",
            LogLevel::Error => "error",
        }
    }
}

impl From<v0_1::policy::lampart::plugin::host::Level> for LogLevel {
    fn from(level: v0_1::policy::lampart::plugin::host::Level) -> Self {
        use v0_1::policy::lampart::plugin::host::Level as V0_1;
        match level {
            V0_1::Debug => LogLevel::Debug,
            V0_1::Info => LogLevel::Info,
            V0_1::Warn => LogLevel::Warn,
            V0_1::Error => LogLevel::Error,
        }
    }
}

impl From<Level> for LogLevel {
    fn from(level: Level) -> Self {
        match level {
            Level::Debug => LogLevel::Debug,
            Level::Info => LogLevel::Info,
            Level::Warn => LogLevel::Warn,
            Level::Error => LogLevel::Error,
        }
    }
}

/// Caps a store's linear memories and tables, remembering whether the cap was hit so the
/// failure can be reported as such rather than as the guest's own abort, and how much linear
/// memory the store's memories held together at most.
pub(crate) struct MemoryCap {
    max_bytes: usize,
    pub(crate) hit: bool,
    /// Bytes of linear memory the store's memories hold now, together.
    held: usize,
    /// The most `held` has been since the call began.
    pub(crate) peak: usize,
}

impl ResourceLimiter for MemoryCap {
    fn memory_growing(
        &mut self,
        current: usize,
        desired: usize,
        _maximum: Option<usize>,
    ) -> wasmtime::Result<bool> {
        if desired > self.max_bytes {
            self.hit = true;
            wasmtime::bail!(
                "memory limit: the plugin asked for {} bytes, the step allows {}",
                desired,
                self.max_bytes
            );
        }
        // Creating a memory is a growth from 0 to its initial size, so this sees every byte.
        self.held = self.held.saturating_add(desired.saturating_sub(current));
        self.peak = self.peak.max(self.held);
        Ok(true)
    }

    fn table_growing(
        &mut self,
        _current: usize,
        desired: usize,
        _maximum: Option<usize>,
    ) -> wasmtime::Result<bool> {
        // Tables hold function references; a million is far beyond any real plugin.
        Ok(desired <= 1_000_000)
    }
}

/// The data of one store: everything a plugin can reach, and what it left behind.
pub(crate) struct StepState {
    wasi: WasiCtx,
    table: ResourceTable,
    pub(crate) cap: MemoryCap,
    settings: Settings,
    step: Arc<str>,
    pub(crate) logs: Vec<LogLine>,
    pub(crate) logs_dropped: usize,
    stderr: StderrTail,
}

impl StepState {
    /// A fresh state for one call of the named step.
    pub(crate) fn new(step: Arc<str>, settings: Settings, max_memory: usize) -> Self {
        let stderr = StderrTail::default();
        let wasi = WasiCtx::builder()
            .wall_clock(FixedWallClock)
            .monotonic_clock(FixedMonotonicClock)
            .secure_random(Deterministic::new(SEED.to_vec()))
            .insecure_random(Deterministic::new(SEED.to_vec()))
            .insecure_random_seed(0)
            .stderr(stderr.clone())
            .allow_tcp(false)
            .allow_udp(false)
            .allow_ip_name_lookup(false)
            .build();
        StepState {
            wasi,
            table: ResourceTable::new(),
            cap: MemoryCap {
                max_bytes: max_memory,
                hit: false,
                held: 0,
                peak: 0,
            },
            settings,
            step,
            logs: Vec::new(),
            logs_dropped: 0,
            stderr,
        }
    }

    /// What the plugin wrote to standard error (a panic message, typically), trimmed.
    pub(crate) fn stderr_text(&self) -> String {
        self.stderr.text()
    }

    /// Readies a warm instance's state for its next call: no logs, no stderr, cap not hit,
    /// peak memory counted from what the instance already holds.
    pub(crate) fn begin_call(&mut self) {
        self.logs.clear();
        self.logs_dropped = 0;
        self.cap.hit = false;
        self.cap.peak = self.cap.held;
        self.stderr.clear();
    }

    /// Takes the call's log lines and the count of those dropped.
    pub(crate) fn take_logs(&mut self) -> (Vec<LogLine>, usize) {
        (
            std::mem::take(&mut self.logs),
            std::mem::replace(&mut self.logs_dropped, 0),
        )
    }

    /// The last line the plugin logged at error level, if any.
    pub(crate) fn last_error_log(&self) -> Option<&str> {
        self.logs
            .iter()
            .rev()
            .find(|line| line.level == LogLevel::Error)
            .map(|line| line.message.as_str())
    }
}

/// The bytes behind the plugins' "random" numbers: fixed, so decisions replay exactly.
const SEED: [u8; 32] = [
    0x6c, 0x61, 0x6d, 0x70, 0x61, 0x72, 0x74, 0x2d, 0x64, 0x65, 0x74, 0x65, 0x72, 0x6d, 0x69, 0x6e,
    0x69, 0x73, 0x74, 0x69, 0x63, 0x2d, 0x73, 0x65, 0x65, 0x64, 0x2d, 0x76, 0x31, 0x00, 0x01, 0x02,
];

/// A wall clock that always reads the Unix epoch.
struct FixedWallClock;

impl HostWallClock for FixedWallClock {
    fn resolution(&self) -> Duration {
        Duration::from_secs(1)
    }
    fn now(&self) -> Duration {
        Duration::ZERO
    }
}

/// A monotonic clock that never advances.
struct FixedMonotonicClock;

impl HostMonotonicClock for FixedMonotonicClock {
    fn resolution(&self) -> u64 {
        1_000_000_000
    }
    fn now(&self) -> u64 {
        0
    }
}

impl WasiView for StepState {
    fn ctx(&mut self) -> WasiCtxView<'_> {
        WasiCtxView {
            ctx: &mut self.wasi,
            table: &mut self.table,
        }
    }
}

impl types::Host for StepState {}

impl host::Host for StepState {
    fn log(&mut self, level: Level, message: String) {
        self.log_line(level.into(), message);
    }

    fn setting(&mut self, key: String) -> Option<String> {
        self.settings.get(&key).cloned()
    }

    fn setting_keys(&mut self) -> Vec<String> {
        self.settings.keys().cloned().collect()
    }
}

impl v0_1::types::Host for StepState {}

/// Contract 0.1.0's host interface is the current one.
impl v0_1::policy::lampart::plugin::host::Host for StepState {
    fn log(&mut self, level: v0_1::policy::lampart::plugin::host::Level, message: String) {
        self.log_line(level.into(), message);
    }

    fn setting(&mut self, key: String) -> Option<String> {
        host::Host::setting(self, key)
    }

    fn setting_keys(&mut self) -> Vec<String> {
        host::Host::setting_keys(self)
    }
}

impl StepState {
    /// Keeps (and forwards to the host's log) one line the plugin logged.
    fn log_line(&mut self, level: LogLevel, message: String) {
        let mut message = message;
        if message.len() > MAX_LOG_LINE {
            let mut cut = MAX_LOG_LINE;
            while !message.is_char_boundary(cut) {
                cut -= 1;
            }
            message.truncate(cut);
            message.push('…');
        }
        if self.logs.len() >= MAX_LOG_LINES {
            // A flood is counted, not forwarded: logging must never slow a decision down.
            self.logs_dropped += 1;
            return;
        }
        // A plugin's lines are part of its call (an error line is the cause of a failure,
        // reported with it), so the host's own log gets them at debug level only: enable
        // them with `LAMPART_LOG=lampart::plugin=debug`. The plugin's level is kept.
        tracing::debug!(target: "lampart::plugin", step = %self.step, level = ?level, "{message}");
        self.logs.push(LogLine { level, message });
    }
}
