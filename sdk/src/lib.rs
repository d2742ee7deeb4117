//! Write [Lampart](https://example.invalid/lampart) plugins in Rust.
//!
//! A plugin is a WebAssembly component exporting one of the two worlds of
//! `wit/plugin.wit` (contract `lampart:plugin@0.2.0`): a **policy** decides on an action, an **inspector** reports
//! findings (and labels and redactions). With this crate a plugin is one function:
//!
//! ```no_run
//! use lampart_sdk::{Decision, Finding, Input};
//!
//! fn evaluate(input: &Input) -> Decision {
//!     match input.arg_f64("/amount") {
//!         Some(amount) if amount > 1000.0 => Decision::require(["payments:large"])
//!             .with_finding(Finding::medium("payments.large", "large payment").at("/amount")),
//!         Some(_) => Decision::allow(),
//!         None => Decision::deny("`amount` is missing or not a number"),
//!     }
//! }
//!
//! lampart_sdk::export_policy!(evaluate, describe = || {
//!     lampart_sdk::plugin_info!().tools(["send_money"])
//! });
//! # fn main() {}
//! ```
//!
//! Build it as a component with
//! `cargo build --profile plugin --target wasm32-wasip2 -p my-plugin`; the crate needs
//! `crate-type = ["cdylib", "rlib"]` and a dependency on `lampart-sdk` only (not on
//! wit-bindgen).
//!
//! What the crate offers:
//!
//! * [`Input`]: the decision's input with the arguments parsed once, and helpers
//!   ([`Input::arg`], [`Input::arg_str`], [`Input::arg_f64`], [`Input::arg_strings`],
//!   [`Input::texts`], [`Input::tool_matches`], …);
//! * builders on the WIT types: [`Finding::high`]`(..).`[`at`](Finding::at)`(..)`,
//!   [`Decision::deny`], [`Decision::with_finding`], [`Inspection::with_redaction`],
//!   [`Redaction::text`], [`Info::new`];
//! * [`setting`] / [`setting_json`] and the [`Settings`] trait (with [`MapSettings`]
//!   for tests), [`log`] helpers, [`glob`] matching and [`json`] pointer helpers;
//! * [`export_policy!`] and [`export_inspector!`];
//! * [`testing`] (native only): per-thread stand-ins for the host's `setting` and
//!   `log`, so that everything, even the exported functions' bodies, runs under
//!   `cargo test` on the host target.

pub mod bindings;
mod builders;
pub mod glob;
mod host;
mod input;
pub mod json;
pub mod log;
pub mod settings;
#[cfg(not(target_arch = "wasm32"))]
pub mod testing;

/// How important a log line is (the WIT `host.level`).
pub use bindings::policy::lampart::plugin::host::Level as LogLevel;
/// The WIT `types` interface, as generated (shared by both worlds).
pub use bindings::policy::lampart::plugin::types;
pub use input::{Input, InputBuilder};
pub use serde_json;
pub use settings::{
    HostSettings, MapSettings, SettingError, Settings, parse_json, setting, setting_json,
};
pub use types::{
    Action, Decision, Finding, Info, Inspection, Phase, Principal, Redaction, Severity, ToolOutput,
    Verdict,
};

/// An [`Info`] named after the calling crate (`CARGO_PKG_NAME`, or the name given) at
/// its version (`CARGO_PKG_VERSION`), seeing the request phase of every tool.
///
/// ```
/// let info = lampart_sdk::plugin_info!("my-policy");
/// assert_eq!(info.name, "my-policy");
/// assert_eq!(info.tools, vec!["*"]);
/// ```
#[macro_export]
macro_rules! plugin_info {
    () => {
        $crate::Info::new(env!("CARGO_PKG_NAME"), env!("CARGO_PKG_VERSION"))
    };
    ($name:expr $(,)?) => {
        $crate::Info::new($name, env!("CARGO_PKG_VERSION"))
    };
}

/// Exports a policy: `fn(&Input) -> Decision`, and optionally
/// `describe = <anything callable as fn() -> Info>` (a function's name or a closure).
/// Without `describe`, the plugin says [`plugin_info!()`](plugin_info): the crate's
/// name and version, the request phase, every tool.
///
/// Use it once, in the plugin's `lib.rs`:
///
/// ```ignore
/// lampart_sdk::export_policy!(evaluate);
/// lampart_sdk::export_policy!(evaluate, describe = describe);
/// ```
#[macro_export]
macro_rules! export_policy {
    ($evaluate:path $(,)?) => {
        $crate::export_policy!($evaluate, describe = || $crate::plugin_info!());
    };
    ($evaluate:path, describe = $describe:expr $(,)?) => {
        const _: () = {
            struct LampartPolicy;

            impl $crate::bindings::policy::Guest for LampartPolicy {
                fn describe() -> $crate::Info {
                    ($describe)()
                }

                fn evaluate(input: $crate::types::Input) -> $crate::Decision {
                    let input = $crate::Input::new(input);
                    $evaluate(&input)
                }
            }

            $crate::bindings::policy::export_policy_world!(
                LampartPolicy with_types_in $crate::bindings::policy
            );
        };
    };
}

/// Exports an inspector: `fn(&Input) -> Inspection`, and optionally
/// `describe = <anything callable as fn() -> Info>`; see [`export_policy!`].
///
/// ```ignore
/// lampart_sdk::export_inspector!(inspect, describe = describe);
/// ```
#[macro_export]
macro_rules! export_inspector {
    ($inspect:path $(,)?) => {
        $crate::export_inspector!($inspect, describe = || $crate::plugin_info!());
    };
    ($inspect:path, describe = $describe:expr $(,)?) => {
        const _: () = {
            struct LampartInspector;

            impl $crate::bindings::inspector::Guest for LampartInspector {
                fn describe() -> $crate::Info {
                    ($describe)()
                }

                fn inspect(input: $crate::types::Input) -> $crate::Inspection {
                    let input = $crate::Input::new(input);
                    $inspect(&input)
                }
            }

            $crate::bindings::inspector::export_inspector_world!(
                LampartInspector with_types_in $crate::bindings::inspector
            );
        };
    };
}

/// The examples of `README.md`, compiled and run as doctests.
#[cfg(doctest)]
#[doc = include_str!("../README.md")]
pub struct ReadmeDoctests;
