//! Matching rules against an input.

use lampart_sdk::{Decision, Finding, Input, Phase, glob};
use serde_json::Value;

use crate::config::{Condition, Config, DefaultVerdict, Effect, Rule, Test};

/// The tool name under which the service asks the chain about a request for privileges.
pub const ELEVATE_TOOL: &str = "lampart.elevate";

/// The decision for `input` under `config`: the first matching rule's, else the default.
pub fn decide(config: &Config, input: &Input) -> Decision {
    let elevation = input.phase() == Phase::Elevation;
    for rule in &config.rules {
        // A request for privileges is decided only by rules that name the elevation tool
        // itself: a catch-all written for tool calls must never grant privileges.
        if elevation && !rule.tools.iter().any(|t| t == ELEVATE_TOOL) {
            continue;
        }
        if !rule_applies(rule, input) {
            continue;
        }
        if !rule.when.is_empty()
            && let Some(error) = input.args_error()
        {
            // Conditions cannot be judged: fail closed rather than skip the rule.
            return Decision::deny(format!(
                "rule `{}` has conditions but the arguments are not valid JSON: {error}",
                rule.name
            ));
        }
        if rule.when.iter().all(|c| condition_holds(c, input)) {
            return decision_of(rule, input);
        }
    }
    if elevation {
        // Left to the chain: the service holds it for an operator unless told otherwise.
        return Decision::abstain();
    }
    match config.default {
        DefaultVerdict::Abstain => Decision::abstain(),
        DefaultVerdict::Allow => Decision::allow(),
        DefaultVerdict::Deny => Decision::deny(format!(
            "no rule matches tool `{}` (default: deny)",
            input.tool()
        )),
    }
}

/// Whether the rule's tool, agent, role and label filters let `input` through.
fn rule_applies(rule: &Rule, input: &Input) -> bool {
    glob::matches_any(&rule.tools, input.tool())
        && rule
            .agents
            .as_ref()
            .is_none_or(|agents| glob::matches_any(agents, input.agent()))
        && rule
            .roles
            .as_ref()
            .is_none_or(|roles| roles.iter().any(|r| input.has_role(r)))
        && rule
            .labels
            .as_ref()
            .is_none_or(|labels| labels.iter().all(|l| input.has_label(l)))
}

fn decision_of(rule: &Rule, input: &Input) -> Decision {
    let (decision, verb) = match &rule.effect {
        Effect::Allow => (Decision::allow(), "allows"),
        Effect::Deny(reason) => (Decision::deny(reason.clone()), "denies"),
        Effect::Require(scopes) => (Decision::require(scopes.clone()), "requires scopes for"),
    };
    decision
        .with_finding(Finding::info(
            "tool-rules.match",
            format!("rule `{}` {verb} tool `{}`", rule.name, input.tool()),
        ))
        .with_labels(rule.add_labels.iter().cloned())
}

/// Whether one condition holds; a missing argument or a value of the wrong type makes
/// it false (except for `present: false`, which holds exactly when the argument is
/// missing).
pub fn condition_holds(condition: &Condition, input: &Input) -> bool {
    let value = input.arg(&condition.arg);
    match (&condition.test, value) {
        (Test::Present(wanted), v) => v.is_some() == *wanted,
        (_, None) => false,
        (Test::Equals(expected), Some(v)) => json_eq(v, expected),
        (Test::OneOf(options), Some(v)) => options.iter().any(|o| json_eq(v, o)),
        (Test::Matches(re), Some(v)) => v.as_str().is_some_and(|s| re.is_match(s)),
        (Test::Range { min, max }, Some(v)) => v
            .as_f64()
            .is_some_and(|x| min.is_none_or(|min| x >= min) && max.is_none_or(|max| x <= max)),
        (Test::Trusted { values, .. }, Some(v)) => {
            (v.is_string() || v.is_number()) && values.iter().any(|t| json_eq(v, t))
        }
    }
}

/// JSON equality in which numbers compare by value (`1` equals `1.0`), recursively.
pub fn json_eq(a: &Value, b: &Value) -> bool {
    match (a, b) {
        (Value::Number(x), Value::Number(y)) => {
            if let (Some(x), Some(y)) = (x.as_i64(), y.as_i64()) {
                x == y
            } else if let (Some(x), Some(y)) = (x.as_u64(), y.as_u64()) {
                x == y
            } else {
                x.as_f64() == y.as_f64()
            }
        }
        (Value::Array(x), Value::Array(y)) => {
            x.len() == y.len() && x.iter().zip(y).all(|(a, b)| json_eq(a, b))
        }
        (Value::Object(x), Value::Object(y)) => {
            x.len() == y.len()
                && x.iter()
                    .all(|(k, v)| y.get(k).is_some_and(|w| json_eq(v, w)))
        }
        _ => a == b,
    }
}
