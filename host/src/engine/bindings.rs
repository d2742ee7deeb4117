//! Host-side bindings generated from the contract: the current version, `wit/plugin.wit`
//! (`lampart:plugin@0.2.0`), and every released version before it, so that plugins built
//! against an older contract keep loading (see [`v0_1`]).
//!
//! For each version the `policy` world is generated first; the `inspector` world reuses its
//! `types` and `host` interfaces so both worlds share one set of Rust types.

/// Bindings for the `policy` world of the current contract, and its `types` and `host`
/// interfaces.
// Generated code: its items are documented in the WIT they come from.
#[allow(missing_docs)]
pub mod policy {
    wasmtime::component::bindgen!({
        path: "../wit/plugin.wit",
        world: "policy",
    });
}

/// Bindings for the `inspector` world of the current contract.
#[allow(missing_docs)]
pub mod inspector {
    wasmtime::component::bindgen!({
        path: "../wit/plugin.wit",
        world: "inspector",
        with: {
            "lampart:plugin/types": super::policy::lampart::plugin::types,
            "lampart:plugin/host": super::policy::lampart::plugin::host,
        },
    });
}

/// Contract 0.1.0 (`wit/0.1.0/plugin.wit`), kept so that plugins built against it load.
pub mod v0_1 {
    /// Bindings for the `policy` world of contract 0.1.0.
    #[allow(missing_docs)]
    pub mod policy {
        wasmtime::component::bindgen!({
            path: "../wit/0.1.0/plugin.wit",
            world: "policy",
        });
    }

    /// Bindings for the `inspector` world of contract 0.1.0.
    #[allow(missing_docs)]
    pub mod inspector {
        wasmtime::component::bindgen!({
            path: "../wit/0.1.0/plugin.wit",
            world: "inspector",
            with: {
                "lampart:plugin/types": super::policy::lampart::plugin::types,
                "lampart:plugin/host": super::policy::lampart::plugin::host,
            },
        });
    }

    pub use policy::lampart::plugin::types;
}

pub use policy::lampart::plugin::host::Level;
pub use policy::lampart::plugin::types::{
    Action, Decision, Finding, Info, Input, Inspection, Phase, Principal, Redaction, Severity,
    ToolOutput, Verdict,
};
