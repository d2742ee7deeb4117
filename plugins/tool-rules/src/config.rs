//! Reading and checking the settings.

use std::collections::BTreeMap;

use lampart_sdk::Settings;
use lampart_sdk::json::is_pointer;
use regex_lite::Regex;
use serde::Deserialize;
use serde_json::Value;

/// The checked settings.
#[derive(Debug, Clone)]
pub struct Config {
    /// The rules, in order.
    pub rules: Vec<Rule>,
    /// The verdict when no rule matches.
    pub default: DefaultVerdict,
}

/// The verdict when no rule matches (setting `default`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum DefaultVerdict {
    /// No opinion (the default).
    #[default]
    Abstain,
    /// Allow.
    Allow,
    /// Deny.
    Deny,
}

/// One rule.
#[derive(Debug, Clone)]
pub struct Rule {
    /// Its name, for messages and the audit.
    pub name: String,
    /// Tool-name globs; at least one must match.
    pub tools: Vec<String>,
    /// Agent globs; at least one must match, when given.
    pub agents: Option<Vec<String>>,
    /// Roles; the principal must hold at least one, when given.
    pub roles: Option<Vec<String>>,
    /// Session labels; the session must carry every one, when given.
    pub labels: Option<Vec<String>>,
    /// Labels to put on the session when the rule matches.
    pub add_labels: Vec<String>,
    /// What the rule decides.
    pub effect: Effect,
    /// Conditions on the arguments; all must hold.
    pub when: Vec<Condition>,
}

/// What a matching rule decides.
#[derive(Debug, Clone, PartialEq)]
pub enum Effect {
    /// Allow.
    Allow,
    /// Deny with this reason.
    Deny(String),
    /// Require these scopes.
    Require(Vec<String>),
}

/// A condition on one argument.
#[derive(Debug, Clone)]
pub struct Condition {
    /// JSON pointer into the arguments.
    pub arg: String,
    /// The test the value must pass.
    pub test: Test,
}

/// The test of a [`Condition`].
#[derive(Debug, Clone)]
pub enum Test {
    /// Equal to this JSON value (numbers compare by value: `1` equals `1.0`).
    Equals(Value),
    /// Equal to one of these values.
    OneOf(Vec<Value>),
    /// A string the whole of which matches this regex.
    Matches(Regex),
    /// A number within these inclusive bounds.
    Range {
        /// Lower bound, inclusive.
        min: Option<f64>,
        /// Upper bound, inclusive.
        max: Option<f64>,
    },
    /// One of the values of the trusted list of this name.
    Trusted {
        /// The list's name.
        list: String,
        /// Its values.
        values: Vec<Value>,
    },
    /// Present (`true`) or absent (`false`).
    Present(bool),
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct RawRule {
    name: String,
    tools: Vec<String>,
    #[serde(default)]
    agents: Option<Vec<String>>,
    #[serde(default)]
    roles: Option<Vec<String>>,
    #[serde(default)]
    labels: Option<Vec<String>>,
    #[serde(default, rename = "add-labels")]
    add_labels: Option<Vec<String>>,
    effect: RawEffect,
    #[serde(default)]
    scopes: Option<Vec<String>>,
    #[serde(default)]
    reason: Option<String>,
    #[serde(default)]
    when: Option<Vec<Value>>,
}

#[derive(Deserialize, Clone, Copy)]
#[serde(rename_all = "kebab-case")]
enum RawEffect {
    Allow,
    Deny,
    Require,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields, rename_all = "kebab-case")]
struct RawCondition {
    arg: String,
    #[serde(default, deserialize_with = "present_value")]
    equals: Option<Value>,
    #[serde(default)]
    one_of: Option<Vec<Value>>,
    #[serde(default)]
    matches: Option<String>,
    #[serde(default)]
    min: Option<f64>,
    #[serde(default)]
    max: Option<f64>,
    #[serde(default)]
    trusted: Option<String>,
    #[serde(default)]
    present: Option<bool>,
}

/// `"equals": null` is a test for `null`, not an absent test.
fn present_value<'de, D: serde::Deserializer<'de>>(d: D) -> Result<Option<Value>, D::Error> {
    Value::deserialize(d).map(Some)
}

/// Reads and checks the settings; the error is the one line to log and to deny with.
pub fn load(settings: &impl Settings) -> Result<Config, String> {
    settings
        .check_keys(&["rules", "trusted", "default"])
        .map_err(|e| e.to_string())?;
    let trusted = load_trusted(settings)?;
    let default = match settings.get_json::<String>("default") {
        Err(e) => return Err(e.to_string()),
        Ok(None) => DefaultVerdict::Abstain,
        Ok(Some(v)) => match v.as_str() {
            "abstain" => DefaultVerdict::Abstain,
            "allow" => DefaultVerdict::Allow,
            "deny" => DefaultVerdict::Deny,
            other => {
                return Err(format!(
                    "setting `default`: unknown verdict `{other}` (expected abstain, allow or deny)"
                ));
            }
        },
    };
    let raw = match settings.get_json::<Value>("rules") {
        Err(e) => return Err(e.to_string()),
        Ok(None) => Value::Array(Vec::new()),
        Ok(Some(v)) => v,
    };
    let Value::Array(items) = raw else {
        return Err("setting `rules`: expected a JSON array of rules".to_owned());
    };
    let rules = items
        .into_iter()
        .enumerate()
        .map(|(i, item)| {
            let n = i + 1;
            let label = match item.get("name").and_then(Value::as_str) {
                Some(name) => format!("rule {n} (`{name}`)"),
                None => format!("rule {n}"),
            };
            load_rule(item, &trusted).map_err(|e| format!("setting `rules`: {label}: {e}"))
        })
        .collect::<Result<Vec<_>, _>>()?;
    Ok(Config { rules, default })
}

fn load_trusted(settings: &impl Settings) -> Result<BTreeMap<String, Vec<Value>>, String> {
    let lists = settings
        .get_json::<BTreeMap<String, Vec<Value>>>("trusted")
        .map_err(|e| format!("{e} (expected an object mapping list names to arrays)"))?
        .unwrap_or_default();
    for (name, values) in &lists {
        if let Some(i) = values
            .iter()
            .position(|v| !(v.is_string() || v.is_number()))
        {
            return Err(format!(
                "setting `trusted`: list `{name}`: item {} is not a string or a number",
                i + 1
            ));
        }
    }
    Ok(lists)
}

fn load_rule(item: Value, trusted: &BTreeMap<String, Vec<Value>>) -> Result<Rule, String> {
    if !item.is_object() {
        return Err("expected an object".to_owned());
    }
    let raw: RawRule = serde_json::from_value(item).map_err(|e| e.to_string())?;
    if raw.name.trim().is_empty() {
        return Err("`name` must not be empty".to_owned());
    }
    non_empty("tools", Some(&raw.tools))?;
    non_empty("agents", raw.agents.as_ref())?;
    non_empty("roles", raw.roles.as_ref())?;
    non_empty("labels", raw.labels.as_ref())?;
    non_empty("add-labels", raw.add_labels.as_ref())?;
    let effect = match raw.effect {
        RawEffect::Allow | RawEffect::Require if raw.reason.is_some() => {
            return Err("`reason` is only for effect `deny`".to_owned());
        }
        RawEffect::Allow | RawEffect::Deny if raw.scopes.is_some() => {
            return Err("`scopes` is only for effect `require`".to_owned());
        }
        RawEffect::Allow => Effect::Allow,
        RawEffect::Deny => Effect::Deny(
            raw.reason
                .unwrap_or_else(|| format!("denied by rule `{}`", raw.name)),
        ),
        RawEffect::Require => match raw.scopes {
            Some(scopes) if !scopes.is_empty() => Effect::Require(scopes),
            _ => return Err("effect `require` needs a non-empty `scopes` list".to_owned()),
        },
    };
    let when = raw
        .when
        .unwrap_or_default()
        .into_iter()
        .enumerate()
        .map(|(j, c)| load_condition(c, trusted).map_err(|e| format!("condition {}: {e}", j + 1)))
        .collect::<Result<Vec<_>, _>>()?;
    Ok(Rule {
        name: raw.name,
        tools: raw.tools,
        agents: raw.agents,
        roles: raw.roles,
        labels: raw.labels,
        add_labels: raw.add_labels.unwrap_or_default(),
        effect,
        when,
    })
}

fn non_empty(field: &str, list: Option<&Vec<String>>) -> Result<(), String> {
    match list {
        Some(l) if l.is_empty() => Err(format!("`{field}` must not be empty")),
        _ => Ok(()),
    }
}

fn load_condition(
    item: Value,
    trusted: &BTreeMap<String, Vec<Value>>,
) -> Result<Condition, String> {
    if !item.is_object() {
        return Err("expected an object".to_owned());
    }
    let raw: RawCondition = serde_json::from_value(item).map_err(|e| e.to_string())?;
    if !is_pointer(&raw.arg) {
        return Err(format!(
            "`arg` must be a JSON pointer such as `/{0}`, not `{0}`",
            raw.arg
        ));
    }
    let mut tests: Vec<(&str, Test)> = Vec::new();
    if let Some(v) = raw.equals {
        tests.push(("equals", Test::Equals(v)));
    }
    if let Some(v) = raw.one_of {
        tests.push(("one-of", Test::OneOf(v)));
    }
    if let Some(src) = raw.matches {
        let re = Regex::new(&format!("^(?:{src})$"))
            .map_err(|e| format!("`matches`: invalid regex `{src}`: {e}"))?;
        tests.push(("matches", Test::Matches(re)));
    }
    if raw.min.is_some() || raw.max.is_some() {
        if let (Some(min), Some(max)) = (raw.min, raw.max)
            && min > max
        {
            return Err(format!("`min` ({min}) is greater than `max` ({max})"));
        }
        tests.push((
            "min`/`max",
            Test::Range {
                min: raw.min,
                max: raw.max,
            },
        ));
    }
    if let Some(list) = raw.trusted {
        let Some(values) = trusted.get(&list) else {
            return Err(format!("`trusted`: no list `{list}` in setting `trusted`"));
        };
        tests.push((
            "trusted",
            Test::Trusted {
                list,
                values: values.clone(),
            },
        ));
    }
    if let Some(p) = raw.present {
        tests.push(("present", Test::Present(p)));
    }
    match tests.len() {
        0 => Err(
            "no test (expected one of `equals`, `one-of`, `matches`, `min`/`max`, `trusted`, `present`)"
                .to_owned(),
        ),
        1 => Ok(Condition {
            arg: raw.arg,
            test: tests.pop().map(|(_, t)| t).unwrap(),
        }),
        _ => Err(format!(
            "more than one test (`{}`); use one condition per test",
            tests.iter().map(|(n, _)| *n).collect::<Vec<_>>().join("`, `")
        )),
    }
}
