//! Matching rules against an input.

use lampart_sdk::{Decision, Finding, Input, Phase, glob, json};
use serde_json::Value;

use crate::config::{Bound, Condition, Config, DefaultVerdict, Effect, Rule, Test, TextAt};

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
        match all_hold(&rule.when, input.args(), input) {
            Ok(true) => return decision_of(rule, input),
            Ok(false) => {}
            // A regex that cannot be compiled: never reached after a load that checked it.
            Err(error) => return Decision::deny(error),
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

/// Whether every condition holds on `root` (the call's arguments, or an array element
/// inside `every`/`any`); stops at the first that does not.
fn all_hold(conditions: &[Condition], root: &Value, input: &Input) -> Result<bool, String> {
    for c in conditions {
        if !condition_holds(c, root, input)? {
            return Ok(false);
        }
    }
    Ok(true)
}

/// Whether one condition holds on `root`. A missing argument or a value of the wrong type
/// makes a test false (except `present: false`, which holds exactly when the argument is
/// missing); the error is a regex that does not compile.
pub fn condition_holds(condition: &Condition, root: &Value, input: &Input) -> Result<bool, String> {
    Ok(match condition {
        Condition::Value { arg, test } => test_holds(test, json::lookup(root, arg), input)?,
        Condition::Every { arg, conditions } => match json::lookup(root, arg) {
            Some(Value::Array(items)) => {
                for item in items {
                    if !all_hold(conditions, item, input)? {
                        return Ok(false);
                    }
                }
                true
            }
            _ => false,
        },
        Condition::Any { arg, conditions } => match json::lookup(root, arg) {
            Some(Value::Array(items)) => {
                for item in items {
                    if all_hold(conditions, item, input)? {
                        return Ok(true);
                    }
                }
                false
            }
            _ => false,
        },
        Condition::Not(inner) => !condition_holds(inner, root, input)?,
        Condition::AnyOf(list) => {
            for c in list {
                if condition_holds(c, root, input)? {
                    return Ok(true);
                }
            }
            false
        }
        Condition::AllOf(list) => all_hold(list, root, input)?,
        Condition::Label(label) => input.has_label(label),
    })
}

fn test_holds(test: &Test, value: Option<&Value>, input: &Input) -> Result<bool, String> {
    let Some(v) = value else {
        return Ok(matches!(test, Test::Present(false)));
    };
    Ok(match test {
        Test::Present(wanted) => *wanted,
        Test::Equals { value, fold } => folded_eq(v, value, *fold),
        Test::OneOf { values, fold } => values.iter().any(|o| folded_eq(v, o, *fold)),
        Test::Matches(pattern) => match v.as_str() {
            None => false,
            Some(s) => pattern.regex()?.is_match(s),
        },
        Test::Range { min, max } => v
            .as_f64()
            .is_some_and(|x| min.is_none_or(|min| x >= min) && max.is_none_or(|max| x <= max)),
        Test::Trusted { values, fold, .. } => {
            (v.is_string() || v.is_number()) && values.iter().any(|t| folded_eq(v, t, *fold))
        }
        Test::Type(kind) => kind.holds(v),
        Test::Text { at, text, fold } => v.as_str().is_some_and(|s| {
            let owned;
            let s = if *fold {
                owned = s.to_ascii_lowercase();
                owned.as_str()
            } else {
                s
            };
            match at {
                TextAt::Start => s.starts_with(text.as_str()),
                TextAt::End => s.ends_with(text.as_str()),
                TextAt::Anywhere => s.contains(text.as_str()),
            }
        }),
        Test::Length { min, max } => {
            let n = match v {
                Value::String(s) => s.chars().count(),
                Value::Array(items) => items.len(),
                _ => return Ok(false),
            };
            min.is_none_or(|min| n >= min) && max.is_none_or(|max| n <= max)
        }
        Test::EqualsArg { other, fold } => input.arg(other).is_some_and(|o| folded_eq(v, o, *fold)),
        Test::CompareArg { other, bound } => {
            match (v.as_f64(), input.arg(other).and_then(Value::as_f64)) {
                (Some(x), Some(y)) => match bound {
                    Bound::AtLeast => x >= y,
                    Bound::AtMost => x <= y,
                },
                _ => false,
            }
        }
    })
}

/// [`json_eq`], with strings compared ignoring the case of ASCII letters when `fold`. Only
/// ASCII folds: Unicode lower-casing would make different identifiers equal (the Kelvin
/// sign `K` lower-cases to `k`).
fn folded_eq(actual: &Value, expected: &Value, fold: bool) -> bool {
    match (actual, expected) {
        (Value::String(a), Value::String(b)) if fold => a.eq_ignore_ascii_case(b),
        _ => json_eq(actual, expected),
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
