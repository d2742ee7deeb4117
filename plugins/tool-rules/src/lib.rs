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
//!   A condition is an object with one test. Most tests look at the value at `arg`, a
//!   JSON pointer into the arguments: `{"arg": "/amount", "max": 100}`.
//!
//!   Tests on a value:
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
//!   - `"present": true|false`: the argument exists (any value, even `null`) or not;
//!   - `"type": "string"|"number"|"integer"|"boolean"|"array"|"object"|"null"`: the
//!     value is of that JSON type (`integer`: a number without a fractional part);
//!   - `"starts-with"`, `"ends-with"`, `"contains": "<text>"`: the value is a string
//!     with that text at its start, at its end, or anywhere;
//!   - `"min-length"` and/or `"max-length": <count>` (inclusive): a string of that many
//!     characters or an array of that many elements;
//!   - `"equals-arg": "/other"`: equals the argument at that pointer;
//!   - `"min-arg"` / `"max-arg": "/other"`: a number at least / at most the number at
//!     that pointer (both must be numbers).
//!
//!   `"ignore-case": true` beside `equals`, `one-of`, `matches`, `trusted`,
//!   `starts-with`, `ends-with`, `contains` or `equals-arg` compares strings ignoring the
//!   case of the ASCII letters `A`–`Z` only: every other character must be the same, so
//!   that a look-alike (the Kelvin sign `K`, which Unicode lower-cases to `k`) never passes
//!   for a trusted name. Strings inside an array or object value of `equals` or `one-of`
//!   compare exactly.
//!
//!   Tests on every or any element of an array:
//!   - `{"arg": "/recipients", "every": <condition or array of conditions>}`: the value
//!     is an array and each element passes all the conditions (an empty array passes:
//!     add `"min-length": 1` in another condition where it must not be empty);
//!   - `{"arg": "/recipients", "any": <condition or array of conditions>}`: the value is
//!     an array and at least one element passes all the conditions (on the same element).
//!
//!   Inside `every` and `any`, `arg` points into the element and may be left out for
//!   the element itself: `{"arg": "/to", "every": {"ends-with": "@corp.example",
//!   "ignore-case": true}}`, `{"arg": "/lines", "any": [{"arg": "/qty", "min": 100}]}`.
//!   The pointers of `equals-arg`, `min-arg` and `max-arg` always point into the call's
//!   arguments. An object never passes for an array, even one with keys `"0"`, `"1"`.
//!
//!   Combinators and the session (no `arg`):
//!   - `{"not": <condition>}`: the condition does not hold;
//!   - `{"any-of": [<conditions>]}`: at least one holds;
//!   - `{"all-of": [<conditions>]}`: all hold (for grouping inside `any-of`);
//!   - `{"label": "<label>"}`: the session carries that label (e.g. `send_*` to anyone
//!     but the company requires a scope once the session read `untrusted-content`:
//!     `[{"label": "untrusted-content"}, {"not": {"arg": "/to", "every": {"ends-with":
//!     "@corp.example"}}}]`: written with `not … every`, it also fires when `to` is a
//!     single string, an object or missing, where `any` would be false and let the call
//!     through to the next rule).
//!
//!   Conditions nest at most 16 deep.
//!
//!   In `arg`, a token of digits only indexes an array: `/recipients/0` is the first
//!   element of the array `recipients` and never a member named `"0"` of an object
//!   (which RFC 6901 would also allow), so that an object cannot pass for a list. On
//!   an object such a pointer finds nothing: the argument is absent.
//!
//!   A missing argument or a value of the wrong type makes a test false, never an
//!   error (`present: false` is true exactly when the argument is missing; `not` of a
//!   false test is true). Since a false condition makes a rule not match, put
//!   conditions on `allow` rules and let a later rule or `default = "deny"` catch the
//!   rest: a `deny` rule guarded by `min` does not fire when the agent sends the amount
//!   as a string.
//!
//!   **The first matching rule decides, so order matters.** A `require` rule placed
//!   before the rules that allow and deny a tool turns every call that would have been
//!   denied into a request an operator may approve: write
//!   `{"name": "big", "tools": ["send_money"], "effect": "require", ...}` with the
//!   conditions that make a call legitimate (trusted payee, currency) as well as the one
//!   that makes it large, or place it after the `deny` rules that must win.
//!
//!   A `matches` regex must be valid on its own before it is wrapped (`a)|(.*` is refused:
//!   it would escape the wrapping). Regexes are compiled when a decision first reaches them (a fresh instance compiles
//!   only those it needs), and all of them at load by `describe`, so an invalid regex
//!   keeps the step from loading.
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
//! a condition with no test or more than one; an `arg` (or `equals-arg`, `min-arg`,
//! `max-arg`) that is not a JSON pointer, an `arg` missing outside `every`/`any` or given to
//! `not`, `any-of`, `all-of` or `label`; `ignore-case` beside a test that does not compare
//! strings; an empty `any-of`, `all-of`, `every` or `any` list; an unknown `type`; a
//! `trusted` list that does not exist; `min` greater than `max` (or `min-length` than
//! `max-length`); an invalid regex.
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

pub use config::{Config, load, load_lazy};
pub use eval::decide;

/// The decision for `input` with settings from `settings`.
pub fn evaluate_with(settings: &impl Settings, input: &Input) -> Decision {
    match load(settings) {
        Ok(config) => decide(&config, input),
        Err(e) => Decision::deny(e),
    }
}

/// Runs `f` on the step's settings, read and checked once per instance: they cannot change
/// while an instance lives, so a warm instance parses them on its first call only. Regexes
/// are compiled when first reached, so that a fresh instance compiles only those its
/// decision needs; `describe` (run once at load) compiles them all. (Native unit tests change
/// settings between tests, so there they are read every time.)
fn with_config<R>(f: impl FnOnce(&Result<Config, String>) -> R) -> R {
    #[cfg(target_arch = "wasm32")]
    {
        static CONFIG: std::sync::OnceLock<Result<Config, String>> = std::sync::OnceLock::new();
        f(CONFIG.get_or_init(|| load_lazy(&HostSettings)))
    }
    #[cfg(not(target_arch = "wasm32"))]
    {
        f(&load_lazy(&HostSettings))
    }
}

fn evaluate(input: &Input) -> Decision {
    with_config(|config| match config {
        Ok(config) => decide(config, input),
        Err(e) => Decision::deny(e.clone()),
    })
}

fn describe() -> Info {
    let error = with_config(|config| match config {
        Ok(config) => config.compile_all().err(),
        Err(e) => Some(e.clone()),
    });
    if let Some(e) = error {
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
mod condition_tests;
#[cfg(test)]
mod tests;
