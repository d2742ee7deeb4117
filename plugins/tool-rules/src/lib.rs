//! `tool-rules`: a policy that allows, denies or requires scopes for tool calls, by
//! tool-name glob, per agent and role, with conditions on the arguments.
//!
//! # Settings
//!
//! Every setting arrives as a string; `rules` and `trusted` are JSON (a TOML array or
//! table in the chain config arrives as JSON text; a string holding JSON works too).
//!
//! * `rules`: a JSON array, evaluated in order; the first matching rule decides.
//!   A rule is an object with the fields
//!   - `name` (string, required): shown in messages and in the audit;
//!   - `tools` (array of globs, required): the tool's name must match one;
//!   - `agents` (array of globs, optional, default any): the agent must match one;
//!   - `roles` (array, optional, default any): the principal must hold at least one;
//!   - `labels` (array, optional): the session must carry every one of these labels
//!     (taint tracking: e.g. a side effect after the session read `untrusted-content`);
//!   - `add-labels` (array, optional): labels to put on the session when the rule
//!     matches (e.g. `untrusted-content` on the answer of a tool that reads mail or web
//!     pages), whatever its effect;
//!   - `effect` (required): `"allow"`, `"deny"` or `"require"`;
//!   - `scopes` (array, required for and only for `require`): the scopes to require;
//!   - `reason` (string, only for `deny`; default ``denied by rule `NAME` ``);
//!   - `when` (array of conditions, optional): all must hold.
//!
//!   A condition is `{"arg": "/json/pointer", <one test>}` with the test one of
//!   - `"equals": <any JSON value>`: numbers compare by value (`1` equals `1.0`),
//!     arrays and objects element by element;
//!   - `"one-of": [<values>]`: equals one of them;
//!   - `"matches": "<regex>"`: the value is a string and the *whole* of it matches
//!     (the regex is wrapped in `^(?:…)$`; syntax of the `regex-lite` crate, no
//!     Unicode classes);
//!   - `"min": <number>` and/or `"max": <number>` (inclusive, may be combined in one
//!     condition): the value is a JSON number within the bounds (a string such as
//!     `"100"` is not a number);
//!   - `"trusted": "<list>"`: the value is a string or number in that list of setting
//!     `trusted`;
//!   - `"present": true|false`: the argument exists (any value, even `null`) or not.
//!
//!   In `arg`, a token of digits only indexes an array: `/recipients/0` is the first
//!   element of the array `recipients` and never a member named `"0"` of an object
//!   (which RFC 6901 would also allow), so that an object cannot pass for a list. On
//!   an object such a pointer finds nothing: the argument is absent.
//!
//!   A missing argument or a value of the wrong type makes a condition false, never an
//!   error (`present: false` is true exactly when the argument is missing). Since a
//!   false condition makes a rule not match, put conditions on `allow` rules and let
//!   a later rule or `default = "deny"` catch the rest: a `deny` rule guarded by
//!   `min` does not fire when the agent sends the amount as a string.
//! * `trusted`: a JSON object mapping list names to arrays of strings or numbers.
//! * `default`: `abstain` (the default), `allow` or `deny`: the verdict when no rule
//!   matches.
//!
//! Rules apply in the `request` phase (the call) and in the `response` phase (its answer on
//! the way back, with the call's arguments): a chain that denies by default needs a rule
//! that lets a tool's answers through. A step's `applies-to.phases` narrows that.
//!
//! In the `elevation` phase (an agent asking `lampart serve` for privilege scopes), the
//! tool is `lampart.elevate` and the arguments are `scopes`, `justification`, `ttl`
//! (seconds) and `decision`. Only rules whose `tools` name `lampart.elevate` itself apply
//! (a `*` written for tool calls never grants privileges), and when none matches the plugin
//! abstains whatever its `default`, leaving the request to the service (which holds it for
//! an operator). `allow` grants at once; `require` holds it for an operator; `deny` refuses.
//!
//! Unknown fields in rules and conditions are errors, and so are: an empty `name`,
//! `tools`, `agents`, `roles`, `labels` or `scopes`; `scopes` or `reason` with the wrong effect;
//! a condition with no test or more than one; an `arg` that is not a JSON pointer; a
//! `trusted` list that does not exist; `min` greater than `max`; an invalid regex.
//! Rules and conditions are numbered from 1 in messages.
//!
//! # Failing closed
//!
//! With invalid settings `describe` logs one error line (e.g.
//! ``setting `rules`: rule 2 (`big-payments`): condition 1: unknown field `maxx`, expected one of …``)
//! and panics, so the host refuses to load the step; `evaluate` denies with the same
//! line. A rule whose tool, agent and role filters match but whose conditions cannot
//! be judged because the arguments are not valid JSON denies too.
//!
//! # Decisions
//!
//! A matching rule's decision carries one `info` finding `tool-rules.match` naming
//! the rule, for the audit. The default verdict carries none.

pub mod config;
pub mod eval;

use lampart_sdk::{Decision, HostSettings, Info, Input, Phase, Settings, log};

pub use config::{Config, load};
pub use eval::decide;

/// The decision for `input` with settings from `settings`.
pub fn evaluate_with(settings: &impl Settings, input: &Input) -> Decision {
    match load(settings) {
        Ok(config) => decide(&config, input),
        Err(e) => Decision::deny(e),
    }
}

/// Runs `f` on the step's settings, read and checked once per instance: they cannot change
/// while an instance lives, so a warm instance parses them on its first call only. (Native
/// unit tests change settings between tests, so there they are read every time.)
fn with_config<R>(f: impl FnOnce(&Result<Config, String>) -> R) -> R {
    #[cfg(target_arch = "wasm32")]
    {
        static CONFIG: std::sync::OnceLock<Result<Config, String>> = std::sync::OnceLock::new();
        f(CONFIG.get_or_init(|| load(&HostSettings)))
    }
    #[cfg(not(target_arch = "wasm32"))]
    {
        f(&load(&HostSettings))
    }
}

fn evaluate(input: &Input) -> Decision {
    with_config(|config| match config {
        Ok(config) => decide(config, input),
        Err(e) => Decision::deny(e.clone()),
    })
}

fn describe() -> Info {
    if let Some(e) = with_config(|config| config.as_ref().err().cloned()) {
        log::error(&e);
        panic!("{e}");
    }
    Info::new("tool-rules", env!("CARGO_PKG_VERSION")).phases([
        Phase::Request,
        Phase::Response,
        Phase::Elevation,
    ])
}

lampart_sdk::export_policy!(evaluate, describe = describe);

#[cfg(test)]
mod tests;
