//! Warm instances: a step may reuse instances between decisions instead of creating one per
//! call. Each idle instance waits in its plugin's pool; a caller takes one (or instantiates a
//! new one when none is idle), so there are as many as there are concurrent callers. After any
//! failure the instance is dropped, never returned.
//!
//! The trade-off, documented for operators: a warm instance keeps its linear memory between
//! decisions, so a plugin could carry state (a cache, or data from an earlier request) from
//! one decision into the next. Use warm mode for plugins you trust to be stateless; records
//! say `"instance": "warm"` so an auditor knows which mode decided.

use std::sync::Mutex;

use wasmtime::Store;

use super::bindings::{inspector::Inspector, policy::Policy, v0_1};
use super::sandbox::StepState;

/// An instantiated plugin in its own store.
pub(crate) struct Live {
    pub(crate) store: Store<StepState>,
    pub(crate) exports: Exports,
}

/// The exports of an instantiated plugin, in the contract version it was built against.
pub(crate) enum Exports {
    Policy(Policy),
    Inspector(Inspector),
    PolicyV0_1(v0_1::policy::Policy),
    InspectorV0_1(v0_1::inspector::Inspector),
}

/// Idle warm instances of one plugin.
pub(crate) struct WarmPool {
    idle: Mutex<Vec<Live>>,
    max_idle: usize,
}

impl WarmPool {
    /// An empty pool keeping at most `max_idle` idle instances.
    pub(crate) fn new(max_idle: usize) -> Self {
        WarmPool {
            idle: Mutex::new(Vec::new()),
            max_idle,
        }
    }

    /// An idle instance, if there is one.
    pub(crate) fn take(&self) -> Option<Live> {
        self.idle
            .lock()
            .unwrap_or_else(|poisoned| poisoned.into_inner())
            .pop()
    }

    /// Returns an instance after a successful call.
    pub(crate) fn put(&self, live: Live) {
        let mut idle = self
            .idle
            .lock()
            .unwrap_or_else(|poisoned| poisoned.into_inner());
        if idle.len() < self.max_idle {
            idle.push(live);
        }
    }
}
