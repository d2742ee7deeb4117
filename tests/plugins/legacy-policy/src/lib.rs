//! A policy built against the released contract `lampart:plugin@0.1.0`
//! (`wit/0.1.0/plugin.wit`), with wit-bindgen and nothing else, as a plugin built before
//! 0.2.0 shipped would be. The host must keep loading it and deciding with it.
//!
//! `evaluate` denies with ``saw output `X` `` when the input carries an output `X` (in
//! 0.1.0 a plain string: the text of a text answer, the JSON text of a JSON answer),
//! ``saw setting `mode` = `M` `` when the step sets `mode`, and allows otherwise.

// The canonical-ABI glue wit-bindgen generates is `unsafe` by nature.
#[allow(unsafe_code, missing_docs)]
mod bindings {
    wit_bindgen::generate!({
        world: "policy",
        path: "../../../wit/0.1.0/plugin.wit",
    });
}

use bindings::lampart::plugin::host::{Level, log, setting};
use bindings::lampart::plugin::types::{Decision, Info, Input, Phase, Verdict};

/// The plugin.
pub struct Legacy;

impl bindings::Guest for Legacy {
    fn describe() -> Info {
        Info {
            name: "legacy-policy".into(),
            version: env!("CARGO_PKG_VERSION").into(),
            phases: vec![Phase::Request, Phase::Response],
            tools: vec!["*".into()],
        }
    }

    fn evaluate(input: Input) -> Decision {
        log(Level::Info, "legacy policy deciding");
        let verdict = match (input.output, setting("mode")) {
            (Some(output), _) => Verdict::Deny(format!("saw output `{output}`")),
            (None, Some(mode)) => Verdict::Deny(format!("saw setting `mode` = `{mode}`")),
            (None, None) => Verdict::Allow,
        };
        Decision {
            verdict,
            findings: vec![],
            labels: vec![],
        }
    }
}

// The exported canonical-ABI entry points are `unsafe` glue too.
#[allow(unsafe_code)]
mod export {
    use crate::Legacy;
    crate::bindings::export!(Legacy with_types_in crate::bindings);
}
