//! Reading and checking the settings.

use std::collections::BTreeMap;

use std::sync::OnceLock;

use lampart_sdk::Settings;
use lampart_sdk::json::is_pointer;
use regex_lite::{Regex, RegexBuilder};
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

/// A condition in a rule's `when`.
#[derive(Debug, Clone)]
pub enum Condition {
    /// A test on the value at a JSON pointer.
    Value {
        /// JSON pointer into the arguments (or into the element, inside `every`/`any`).
        arg: String,
        /// The test the value must pass.
        test: Test,
    },
    /// The value at `arg` is an array and every element passes all of `conditions`
    /// (an empty array passes).
    Every {
        /// JSON pointer to the array.
        arg: String,
        /// Conditions on each element, with pointers relative to the element.
        conditions: Vec<Condition>,
    },
    /// The value at `arg` is an array and at least one element passes all of
    /// `conditions`.
    Any {
        /// JSON pointer to the array.
        arg: String,
        /// Conditions on each element, with pointers relative to the element.
        conditions: Vec<Condition>,
    },
    /// The inner condition does not hold.
    Not(Box<Condition>),
    /// At least one of these holds.
    AnyOf(Vec<Condition>),
    /// All of these hold.
    AllOf(Vec<Condition>),
    /// The session carries this label.
    Label(String),
}

/// The test of a [`Condition::Value`]. String tests with `ignore-case` hold their
/// expected strings already lower-cased.
#[derive(Debug, Clone)]
pub enum Test {
    /// Equal to this JSON value (numbers compare by value: `1` equals `1.0`).
    Equals {
        /// The expected value.
        value: Value,
        /// Strings compare ignoring case.
        fold: bool,
    },
    /// Equal to one of these values.
    OneOf {
        /// The options.
        values: Vec<Value>,
        /// Strings compare ignoring case.
        fold: bool,
    },
    /// A string the whole of which matches this regex.
    Matches(Pattern),
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
        /// Strings compare ignoring case.
        fold: bool,
    },
    /// Present (`true`) or absent (`false`).
    Present(bool),
    /// Of this JSON type.
    Type(JsonType),
    /// A string with this text at its start, at its end, or anywhere in it.
    Text {
        /// Where the text must be.
        at: TextAt,
        /// The text.
        text: String,
        /// Compare ignoring case.
        fold: bool,
    },
    /// A string of (in characters) or an array of (in elements) this length, inclusive.
    Length {
        /// Shortest, inclusive.
        min: Option<usize>,
        /// Longest, inclusive.
        max: Option<usize>,
    },
    /// Equal to the argument at this pointer (always into the call's arguments).
    EqualsArg {
        /// JSON pointer into the arguments.
        other: String,
        /// Strings compare ignoring case.
        fold: bool,
    },
    /// A number at least (`AtLeast`) or at most (`AtMost`) the number at this pointer
    /// (always into the call's arguments).
    CompareArg {
        /// JSON pointer into the arguments.
        other: String,
        /// Which way.
        bound: Bound,
    },
}

/// Where [`Test::Text`] looks.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum TextAt {
    /// `starts-with`.
    Start,
    /// `ends-with`.
    End,
    /// `contains`.
    Anywhere,
}

/// The direction of [`Test::CompareArg`].
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Bound {
    /// `min-arg`: the value is at least the other.
    AtLeast,
    /// `max-arg`: the value is at most the other.
    AtMost,
}

/// A JSON type, for `type`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum JsonType {
    /// `"string"`.
    String,
    /// `"number"`: any JSON number.
    Number,
    /// `"integer"`: a number without a fractional part.
    Integer,
    /// `"boolean"`.
    Boolean,
    /// `"array"`.
    Array,
    /// `"object"`.
    Object,
    /// `"null"`.
    Null,
}

impl JsonType {
    fn parse(name: &str) -> Result<Self, String> {
        Ok(match name {
            "string" => Self::String,
            "number" => Self::Number,
            "integer" => Self::Integer,
            "boolean" => Self::Boolean,
            "array" => Self::Array,
            "object" => Self::Object,
            "null" => Self::Null,
            other => {
                return Err(format!(
                    "`type`: unknown type `{other}` (expected string, number, integer, boolean, array, object or null)"
                ));
            }
        })
    }

    /// Whether `value` is of this type.
    pub fn holds(self, value: &Value) -> bool {
        match self {
            Self::String => value.is_string(),
            Self::Number => value.is_number(),
            Self::Integer => {
                value.is_i64() || value.is_u64() || value.as_f64().is_some_and(|x| x.fract() == 0.0)
            }
            Self::Boolean => value.is_boolean(),
            Self::Array => value.is_array(),
            Self::Object => value.is_object(),
            Self::Null => value.is_null(),
        }
    }
}

/// A `matches` regex, compiled when first needed: a fresh instance pays only for the
/// regexes its decision reaches, and [`Config::compile_all`] checks them all at load.
#[derive(Debug, Clone)]
pub struct Pattern {
    source: String,
    fold: bool,
    /// Where it was written, for the error of an invalid regex.
    context: String,
    compiled: OnceLock<Result<Regex, String>>,
}

impl Pattern {
    fn new(source: String, fold: bool, context: String) -> Self {
        Self {
            source,
            fold,
            context,
            compiled: OnceLock::new(),
        }
    }

    /// The compiled regex, or the one-line error naming where the invalid one was written.
    pub fn regex(&self) -> Result<&Regex, String> {
        self.compiled
            .get_or_init(|| {
                RegexBuilder::new(&format!("^(?:{})$", self.source))
                    .case_insensitive(self.fold)
                    .build()
                    .map_err(|e| {
                        format!(
                            "{}`matches`: invalid regex `{}`: {e}",
                            self.context, self.source
                        )
                    })
            })
            .as_ref()
            .map_err(Clone::clone)
    }

    /// Checks the pattern on its own, before it is wrapped in `^(?:…)$`: an unbalanced one
    /// such as `a)|(.*` would otherwise escape the wrapping and match more than whole
    /// strings.
    fn check_alone(&self) -> Result<(), String> {
        Regex::new(&self.source).map(drop).map_err(|e| {
            format!(
                "{}`matches`: invalid regex `{}`: {e}",
                self.context, self.source
            )
        })
    }
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
    #[serde(default)]
    arg: Option<String>,
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
    #[serde(default, rename = "type")]
    type_name: Option<String>,
    #[serde(default)]
    starts_with: Option<String>,
    #[serde(default)]
    ends_with: Option<String>,
    #[serde(default)]
    contains: Option<String>,
    #[serde(default)]
    min_length: Option<usize>,
    #[serde(default)]
    max_length: Option<usize>,
    #[serde(default)]
    equals_arg: Option<String>,
    #[serde(default)]
    min_arg: Option<String>,
    #[serde(default)]
    max_arg: Option<String>,
    #[serde(default)]
    ignore_case: Option<bool>,
    #[serde(default)]
    every: Option<Value>,
    #[serde(default)]
    any: Option<Value>,
    #[serde(default)]
    not: Option<Value>,
    #[serde(default)]
    any_of: Option<Value>,
    #[serde(default)]
    all_of: Option<Value>,
    #[serde(default)]
    label: Option<String>,
}

/// `"equals": null` is a test for `null`, not an absent test.
fn present_value<'de, D: serde::Deserializer<'de>>(d: D) -> Result<Option<Value>, D::Error> {
    Value::deserialize(d).map(Some)
}

/// How deep `not`, `any-of`, `all-of`, `every` and `any` may nest.
const MAX_DEPTH: usize = 16;

impl Config {
    /// Compiles every regex that is not compiled yet: the check at load, so that an
    /// invalid regex keeps the step from loading rather than denying when first reached.
    pub fn compile_all(&self) -> Result<(), String> {
        fn walk(c: &Condition) -> Result<(), String> {
            match c {
                Condition::Value {
                    test: Test::Matches(p),
                    ..
                } => p.check_alone().and_then(|()| p.regex().map(drop)),
                Condition::Value { .. } | Condition::Label(_) => Ok(()),
                Condition::Every { conditions, .. }
                | Condition::Any { conditions, .. }
                | Condition::AnyOf(conditions)
                | Condition::AllOf(conditions) => conditions.iter().try_for_each(walk),
                Condition::Not(inner) => walk(inner),
            }
        }
        self.rules.iter().flat_map(|r| &r.when).try_for_each(walk)
    }
}

/// Reads and checks the settings, regexes included; the error is the one line to log and
/// to deny with.
pub fn load(settings: &impl Settings) -> Result<Config, String> {
    let config = load_lazy(settings)?;
    config.compile_all()?;
    Ok(config)
}

/// Reads and checks the settings but leaves each regex to be compiled when first needed
/// (see [`Pattern`]).
pub fn load_lazy(settings: &impl Settings) -> Result<Config, String> {
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
            let context = format!("setting `rules`: {label}: ");
            load_rule(item, &trusted, &context).map_err(|e| format!("{context}{e}"))
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

fn load_rule(
    item: Value,
    trusted: &BTreeMap<String, Vec<Value>>,
    context: &str,
) -> Result<Rule, String> {
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
    let loader = Loader { trusted };
    let when = raw
        .when
        .unwrap_or_default()
        .into_iter()
        .enumerate()
        .map(|(j, c)| {
            let here = format!("condition {}: ", j + 1);
            loader
                .condition(c, Scope::Arguments, 0, &format!("{context}{here}"))
                .map_err(|e| format!("{here}{e}"))
        })
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

/// What a condition's `arg` points into.
#[derive(Clone, Copy, PartialEq, Eq)]
enum Scope {
    /// The call's arguments: `arg` is required.
    Arguments,
    /// An element of an array, inside `every` or `any`: `arg` defaults to `""`, the
    /// element itself.
    Element,
}

struct Loader<'a> {
    trusted: &'a BTreeMap<String, Vec<Value>>,
}

impl Loader<'_> {
    /// Reads one condition; `context` names where it was written, for a regex's error.
    fn condition(
        &self,
        item: Value,
        scope: Scope,
        depth: usize,
        context: &str,
    ) -> Result<Condition, String> {
        if depth > MAX_DEPTH {
            return Err(format!("conditions nest deeper than {MAX_DEPTH}"));
        }
        if !item.is_object() {
            return Err("expected an object".to_owned());
        }
        let raw: RawCondition = serde_json::from_value(item).map_err(|e| e.to_string())?;
        let fold = raw.ignore_case.unwrap_or(false);
        let mut found: Vec<(&str, Kind)> = Vec::new();
        if let Some(v) = raw.equals {
            found.push((
                "equals",
                Kind::Test(Test::Equals {
                    value: fold_value(v, fold),
                    fold,
                }),
            ));
        }
        if let Some(v) = raw.one_of {
            let values = v.into_iter().map(|v| fold_value(v, fold)).collect();
            found.push(("one-of", Kind::Test(Test::OneOf { values, fold })));
        }
        if let Some(src) = raw.matches {
            found.push((
                "matches",
                Kind::Test(Test::Matches(Pattern::new(src, fold, context.to_owned()))),
            ));
        }
        if raw.min.is_some() || raw.max.is_some() {
            if let (Some(min), Some(max)) = (raw.min, raw.max)
                && min > max
            {
                return Err(format!("`min` ({min}) is greater than `max` ({max})"));
            }
            found.push((
                "min`/`max",
                Kind::Test(Test::Range {
                    min: raw.min,
                    max: raw.max,
                }),
            ));
        }
        if let Some(list) = raw.trusted {
            let Some(values) = self.trusted.get(&list) else {
                return Err(format!("`trusted`: no list `{list}` in setting `trusted`"));
            };
            let values = values
                .iter()
                .cloned()
                .map(|v| fold_value(v, fold))
                .collect();
            found.push(("trusted", Kind::Test(Test::Trusted { list, values, fold })));
        }
        if let Some(p) = raw.present {
            found.push(("present", Kind::Test(Test::Present(p))));
        }
        if let Some(name) = raw.type_name {
            found.push(("type", Kind::Test(Test::Type(JsonType::parse(&name)?))));
        }
        for (name, at, text) in [
            ("starts-with", TextAt::Start, raw.starts_with),
            ("ends-with", TextAt::End, raw.ends_with),
            ("contains", TextAt::Anywhere, raw.contains),
        ] {
            if let Some(text) = text {
                let text = if fold {
                    text.to_ascii_lowercase()
                } else {
                    text
                };
                found.push((name, Kind::Test(Test::Text { at, text, fold })));
            }
        }
        if raw.min_length.is_some() || raw.max_length.is_some() {
            if let (Some(min), Some(max)) = (raw.min_length, raw.max_length)
                && min > max
            {
                return Err(format!(
                    "`min-length` ({min}) is greater than `max-length` ({max})"
                ));
            }
            found.push((
                "min-length`/`max-length",
                Kind::Test(Test::Length {
                    min: raw.min_length,
                    max: raw.max_length,
                }),
            ));
        }
        if let Some(other) = raw.equals_arg {
            pointer("equals-arg", &other)?;
            found.push(("equals-arg", Kind::Test(Test::EqualsArg { other, fold })));
        }
        for (name, bound, other) in [
            ("min-arg", Bound::AtLeast, raw.min_arg),
            ("max-arg", Bound::AtMost, raw.max_arg),
        ] {
            if let Some(other) = other {
                pointer(name, &other)?;
                found.push((name, Kind::Test(Test::CompareArg { other, bound })));
            }
        }
        for (name, list) in [("every", raw.every), ("any", raw.any)] {
            if let Some(list) = list {
                let inner = self.list(list, name, Scope::Element, depth, context)?;
                found.push((
                    name,
                    if name == "every" {
                        Kind::Every(inner)
                    } else {
                        Kind::Any(inner)
                    },
                ));
            }
        }
        if let Some(inner) = raw.not {
            let inner = self
                .condition(inner, scope, depth + 1, context)
                .map_err(|e| format!("`not`: {e}"))?;
            found.push(("not", Kind::Plain(Condition::Not(Box::new(inner)))));
        }
        for (name, list) in [("any-of", raw.any_of), ("all-of", raw.all_of)] {
            if let Some(list) = list {
                let inner = self.list(list, name, scope, depth, context)?;
                let c = if name == "any-of" {
                    Condition::AnyOf(inner)
                } else {
                    Condition::AllOf(inner)
                };
                found.push((name, Kind::Plain(c)));
            }
        }
        if let Some(label) = raw.label {
            if label.is_empty() {
                return Err("`label` must not be empty".to_owned());
            }
            found.push(("label", Kind::Plain(Condition::Label(label))));
        }
        let kind = match found.len() {
            0 => return Err(format!("no test (expected one of {TESTS})")),
            1 => found.pop().map(|(_, k)| k).expect("one"),
            _ => {
                return Err(format!(
                    "more than one test (`{}`); use one condition per test, or `all-of`",
                    found
                        .iter()
                        .map(|(n, _)| *n)
                        .collect::<Vec<_>>()
                        .join("`, `")
                ));
            }
        };
        if fold && !kind.folds() {
            return Err("`ignore-case` applies only to `equals`, `one-of`, `matches`, `trusted`, `starts-with`, `ends-with`, `contains` and `equals-arg`".to_owned());
        }
        let arg = match (raw.arg, &kind, scope) {
            (Some(_), Kind::Plain(c), _) => {
                return Err(format!("`{}` takes no `arg`", plain_name(c)));
            }
            (None, Kind::Plain(c), _) => return Ok(c.clone()),
            (Some(arg), _, _) => {
                pointer("arg", &arg)?;
                arg
            }
            (None, _, Scope::Element) => String::new(),
            (None, _, Scope::Arguments) => return Err("missing field `arg`".to_owned()),
        };
        Ok(match kind {
            Kind::Test(test) => Condition::Value { arg, test },
            Kind::Every(conditions) => Condition::Every { arg, conditions },
            Kind::Any(conditions) => Condition::Any { arg, conditions },
            Kind::Plain(_) => unreachable!("handled above"),
        })
    }

    /// Reads the conditions of `every`, `any`, `any-of` or `all-of`: one object or an
    /// array of them.
    fn list(
        &self,
        value: Value,
        name: &str,
        scope: Scope,
        depth: usize,
        context: &str,
    ) -> Result<Vec<Condition>, String> {
        let items = match value {
            Value::Array(items) if items.is_empty() => {
                return Err(format!("`{name}` must not be empty"));
            }
            Value::Array(items) => items,
            one @ Value::Object(_) if name == "every" || name == "any" => vec![one],
            _ => {
                return Err(format!(
                    "`{name}`: expected {}",
                    if name == "every" || name == "any" {
                        "a condition or an array of conditions"
                    } else {
                        "an array of conditions"
                    }
                ));
            }
        };
        items
            .into_iter()
            .enumerate()
            .map(|(k, c)| {
                self.condition(c, scope, depth + 1, context)
                    .map_err(|e| format!("`{name}` {}: {e}", k + 1))
            })
            .collect()
    }
}

/// The tests a condition may have, for messages.
const TESTS: &str = "`equals`, `one-of`, `matches`, `min`/`max`, `trusted`, `present`, `type`, `starts-with`, `ends-with`, `contains`, `min-length`/`max-length`, `equals-arg`, `min-arg`, `max-arg`, `every`, `any`, `not`, `any-of`, `all-of`, `label`";

/// What a condition object turned out to be, before its `arg` is settled.
enum Kind {
    Test(Test),
    Every(Vec<Condition>),
    Any(Vec<Condition>),
    /// A condition that takes no `arg`.
    Plain(Condition),
}

impl Kind {
    fn folds(&self) -> bool {
        matches!(
            self,
            Kind::Test(
                Test::Equals { .. }
                    | Test::OneOf { .. }
                    | Test::Matches(_)
                    | Test::Trusted { .. }
                    | Test::Text { .. }
                    | Test::EqualsArg { .. }
            )
        )
    }
}

fn plain_name(c: &Condition) -> &'static str {
    match c {
        Condition::Not(_) => "not",
        Condition::AnyOf(_) => "any-of",
        Condition::AllOf(_) => "all-of",
        Condition::Label(_) => "label",
        Condition::Value { .. } | Condition::Every { .. } | Condition::Any { .. } => "",
    }
}

fn pointer(field: &str, p: &str) -> Result<(), String> {
    if is_pointer(p) {
        Ok(())
    } else {
        Err(format!(
            "`{field}` must be a JSON pointer such as `/{p}`, not `{p}`"
        ))
    }
}

/// Lower-cases a string value's ASCII letters when folding (other values, and strings inside
/// arrays and objects, are kept).
pub fn fold_value(value: Value, fold: bool) -> Value {
    match value {
        Value::String(s) if fold => Value::String(s.to_ascii_lowercase()),
        other => other,
    }
}
