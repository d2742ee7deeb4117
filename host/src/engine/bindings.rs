//! Host-side bindings generated from `wit/plugin.wit`.
//!
//! The `policy` world is generated first; the `inspector` world reuses its `types` and `host`
//! interfaces so both worlds share one set of Rust types.

/// Bindings for the `policy` world, and the shared `types` and `host` interfaces.
// Generated code: its items are documented in the WIT they come from.
#[allow(missing_docs)]
pub mod policy {
    wasmtime::component::bindgen!({
        path: "../wit",
        world: "policy",
    });
}

/// Bindings for the `inspector` world.
#[allow(missing_docs)]
pub mod inspector {
    wasmtime::component::bindgen!({
        path: "../wit",
        world: "inspector",
        with: {
            "lampart:plugin/types": super::policy::lampart::plugin::types,
            "lampart:plugin/host": super::policy::lampart::plugin::host,
        },
    });
}

pub use policy::lampart::plugin::host::Level;
pub use policy::lampart::plugin::types::{
    Action, Decision, Finding, Info, Input, Inspection, Phase, Principal, Redaction, Severity,
    Verdict,
};
