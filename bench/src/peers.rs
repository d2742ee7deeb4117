//! The engines Lampart is compared with, each deciding the policy of [`crate::requests`]
//! from a Lampart request's JSON text to a verdict.
//!
//! Every adapter starts from the request text and parses it inside [`Engine::decide`]: the
//! benchmark measures from the request JSON to the verdict. Policies are parsed (and, for
//! the RVM, compiled) once, in `new`; nothing about a request or its verdict is cached.
//! Anything a request lacks, or a value of the wrong type, makes the policy's conditions
//! fail, so the verdict is deny.
//!
//! * [`Native`]: plain Rust, `serde_json` into a small borrowed struct, then the rules.
//! * [`Cedar`]: `cedar-policy`, policies [`CEDAR_POLICY`] parsed once; per request an entity
//!   `Agent::"<agent>"` whose parents are `Role::"<role>"`, action `Action::"<tool>"`,
//!   resource `Tool::"<tool>"`, a context with `amount` and `recipient` when present, then
//!   [`cedar_policy::Authorizer::is_authorized`]. No schema.
//! * [`RegoInterpreted`]: `regorus`' tree-walking interpreter, [`REGO_POLICY`] added once to a
//!   [`regorus::Engine`] kept across requests; per request
//!   [`regorus::Engine::set_input_json`] then [`regorus::Engine::eval_rule`] on
//!   `data.lampart.allow` (`eval_rule` is documented as often faster than `eval_query`, and
//!   it returns the rule's value without building OPA-style query results). No clone per
//!   request: `set_input` replaces the input and each evaluation starts from clean
//!   evaluation state.
//! * [`RegoCompiled`]: regorus 0.14's compiled path, the RVM (Rego Virtual Machine, feature
//!   `rvm`): [`regorus::Engine::compile_with_entrypoint`] turns the policy into a
//!   [`regorus::CompiledPolicy`],
//!   [`Compiler::compile_from_policy`](regorus::languages::rego::compiler::Compiler::compile_from_policy)
//!   turns that into register-machine bytecode (a [`regorus::rvm::Program`]), loaded once
//!   into a [`regorus::rvm::RegoVM`] kept across requests; per request
//!   [`regorus::Value::from_json_str`], [`regorus::rvm::RegoVM::set_input`] and
//!   [`regorus::rvm::RegoVM::execute_entry_point_by_index`] (each run resets the VM's
//!   registers and rule cache).
//!
//! The amount bound: [`Native`], the Rego engines and Lampart's `tool-rules` compare any JSON
//! number with 1000; Cedar has only 64-bit integers, so [`Cedar`] puts `amount` in the
//! context only when it is an integer, and denies a fractional amount such as 999.5 that
//! the others allow. [`crate::requests::REQUESTS`] uses integer amounts, as the policy does.

use std::borrow::Cow;
use std::collections::HashSet;
use std::str::FromStr;
use std::sync::Arc;

use cedar_policy::{
    Authorizer, Context, Decision, Entities, Entity, EntityId, EntityTypeName, EntityUid,
    PolicySet, Request, RestrictedExpression,
};
use regorus::languages::rego::compiler::Compiler;
use regorus::rvm::{Program, RegoVM};
use serde::Deserialize;
use serde_json::Value as Json;

use crate::requests::REQUESTS;

/// The trusted payees of the policy.
pub const TRUSTED_PAYEES: [&str; 3] = ["acme-corp", "globex", "initech"];

/// The largest amount the policy lets `finance` send.
pub const MAX_AMOUNT: i64 = 1000;

/// The policy in Cedar, as [`Cedar`] evaluates it.
pub const CEDAR_POLICY: &str = r#"permit (
    principal in Role::"finance",
    action == Action::"send_money",
    resource
)
when {
    context has amount &&
    context has recipient &&
    context.amount <= 1000 &&
    ["acme-corp", "globex", "initech"].contains(context.recipient)
};

permit (
    principal in Role::"ops",
    action == Action::"shell",
    resource
);

permit (
    principal in Role::"support",
    action == Action::"read_ticket",
    resource
);
"#;

/// The policy in Rego (v1 syntax), as [`RegoInterpreted`] and [`RegoCompiled`] evaluate it.
/// The request is the input; the verdict is `data.lampart.allow`.
pub const REGO_POLICY: &str = r#"package lampart

default allow := false

trusted_payees := {"acme-corp", "globex", "initech"}

allow if {
	input.action.tool == "send_money"
	"finance" in input.principal.roles
	input.action.args.amount <= 1000
	input.action.args.recipient in trusted_payees
}

allow if {
	input.action.tool == "shell"
	"ops" in input.principal.roles
}

allow if {
	input.action.tool == "read_ticket"
	"support" in input.principal.roles
}
"#;

/// The Rego rule whose value is the verdict.
pub const REGO_ENTRY_POINT: &str = "data.lampart.allow";

/// An engine deciding the benchmark's policy.
pub trait Engine {
    /// A short name for reports.
    fn name(&self) -> &str;

    /// Whether the policy allows the request, given as Lampart request JSON. A request that
    /// cannot be parsed or evaluated is denied.
    fn decide(&mut self, request_json: &str) -> bool;
}

/// Every peer engine, ready to decide.
pub fn all() -> Vec<Box<dyn Engine>> {
    vec![
        Box::new(Native),
        Box::new(Cedar::new()),
        Box::new(RegoInterpreted::new()),
        Box::new(RegoCompiled::new()),
    ]
}

/// Checks that every engine returns the expected verdict on every request of
/// [`REQUESTS`]; the benchmark calls it before timing anything.
///
/// # Errors
///
/// One line per wrong verdict, naming the engine and the request.
pub fn check_agreement(engines: &mut [Box<dyn Engine>]) -> Result<(), String> {
    let mut wrong = Vec::new();
    for engine in engines.iter_mut() {
        for &(name, json, expected) in REQUESTS {
            let got = engine.decide(json);
            if got != expected {
                wrong.push(format!(
                    "{}: request `{name}`: {} but expected {}",
                    engine.name(),
                    verdict(got),
                    verdict(expected)
                ));
            }
        }
    }
    if wrong.is_empty() {
        Ok(())
    } else {
        Err(wrong.join("\n"))
    }
}

fn verdict(allow: bool) -> &'static str {
    if allow { "allow" } else { "deny" }
}

/// The parts of a Lampart request the policy reads, borrowed from the JSON text where it
/// has no escapes. Other fields are skipped.
#[derive(Deserialize)]
struct RequestView<'a> {
    #[serde(borrow)]
    principal: PrincipalView<'a>,
    #[serde(borrow)]
    action: ActionView<'a>,
}

#[derive(Deserialize)]
struct PrincipalView<'a> {
    #[serde(borrow)]
    agent: Cow<'a, str>,
    #[serde(borrow, default)]
    roles: Vec<Cow<'a, str>>,
}

#[derive(Deserialize)]
struct ActionView<'a> {
    #[serde(borrow)]
    tool: Cow<'a, str>,
    #[serde(default)]
    args: ArgsView,
}

/// The arguments the policy reads, as any JSON value so that a wrong type denies rather
/// than failing the parse (which would deny a request that does not need them).
#[derive(Deserialize, Default)]
struct ArgsView {
    amount: Option<Json>,
    recipient: Option<Json>,
}

impl RequestView<'_> {
    fn has_role(&self, role: &str) -> bool {
        self.principal.roles.iter().any(|r| r == role)
    }
}

/// The policy in plain Rust.
#[derive(Debug, Default, Clone, Copy)]
pub struct Native;

impl Engine for Native {
    fn name(&self) -> &str {
        "native"
    }

    fn decide(&mut self, request_json: &str) -> bool {
        let Ok(request) = serde_json::from_str::<RequestView<'_>>(request_json) else {
            return false;
        };
        match &*request.action.tool {
            "send_money" => {
                let args = &request.action.args;
                request.has_role("finance")
                    && args
                        .amount
                        .as_ref()
                        .and_then(Json::as_f64)
                        .is_some_and(|amount| amount <= MAX_AMOUNT as f64)
                    && args
                        .recipient
                        .as_ref()
                        .and_then(Json::as_str)
                        .is_some_and(|to| TRUSTED_PAYEES.contains(&to))
            }
            "shell" => request.has_role("ops"),
            "read_ticket" => request.has_role("support"),
            _ => false,
        }
    }
}

/// The policy in Cedar ([`CEDAR_POLICY`]), decided by [`cedar_policy::Authorizer`].
pub struct Cedar {
    policies: PolicySet,
    authorizer: Authorizer,
    agent_type: EntityTypeName,
    role_type: EntityTypeName,
    action_type: EntityTypeName,
    tool_type: EntityTypeName,
}

impl Cedar {
    /// Parses [`CEDAR_POLICY`].
    ///
    /// # Panics
    ///
    /// If the policy or an entity type name does not parse (a bug in this crate).
    pub fn new() -> Self {
        let type_name = |name: &str| EntityTypeName::from_str(name).expect("entity type name");
        Self {
            policies: CEDAR_POLICY.parse().expect("CEDAR_POLICY parses"),
            authorizer: Authorizer::new(),
            agent_type: type_name("Agent"),
            role_type: type_name("Role"),
            action_type: type_name("Action"),
            tool_type: type_name("Tool"),
        }
    }

    fn uid(type_name: &EntityTypeName, id: &str) -> EntityUid {
        EntityUid::from_type_name_and_id(type_name.clone(), EntityId::new(id))
    }

    fn try_decide(&self, request_json: &str) -> Option<bool> {
        let request: RequestView<'_> = serde_json::from_str(request_json).ok()?;
        let principal = Self::uid(&self.agent_type, &request.principal.agent);
        let roles: HashSet<EntityUid> = request
            .principal
            .roles
            .iter()
            .map(|role| Self::uid(&self.role_type, role))
            .collect();
        let entities =
            Entities::from_entities([Entity::new_no_attrs(principal.clone(), roles)], None).ok()?;
        let tool = &request.action.tool;
        let action = Self::uid(&self.action_type, tool);
        let resource = Self::uid(&self.tool_type, tool);
        let args = &request.action.args;
        let mut context = Vec::with_capacity(2);
        if let Some(amount) = args.amount.as_ref().and_then(Json::as_i64) {
            context.push(("amount".to_owned(), RestrictedExpression::new_long(amount)));
        }
        if let Some(recipient) = args.recipient.as_ref().and_then(Json::as_str) {
            context.push((
                "recipient".to_owned(),
                RestrictedExpression::new_string(recipient.to_owned()),
            ));
        }
        let context = Context::from_pairs(context).ok()?;
        let request = Request::new(principal, action, resource, context, None).ok()?;
        let response = self
            .authorizer
            .is_authorized(&request, &self.policies, &entities);
        Some(response.decision() == Decision::Allow)
    }
}

impl Default for Cedar {
    fn default() -> Self {
        Self::new()
    }
}

impl Engine for Cedar {
    fn name(&self) -> &str {
        "cedar"
    }

    fn decide(&mut self, request_json: &str) -> bool {
        self.try_decide(request_json).unwrap_or(false)
    }
}

/// The policy in Rego ([`REGO_POLICY`]), decided by regorus' interpreter.
pub struct RegoInterpreted {
    engine: regorus::Engine,
}

impl RegoInterpreted {
    /// Adds [`REGO_POLICY`] to a new regorus engine.
    ///
    /// # Panics
    ///
    /// If the policy does not parse (a bug in this crate).
    pub fn new() -> Self {
        let mut engine = regorus::Engine::new();
        engine
            .add_policy("lampart.rego".to_owned(), REGO_POLICY.to_owned())
            .expect("REGO_POLICY parses");
        Self { engine }
    }
}

impl Default for RegoInterpreted {
    fn default() -> Self {
        Self::new()
    }
}

impl Engine for RegoInterpreted {
    fn name(&self) -> &str {
        "rego-interpreted"
    }

    fn decide(&mut self, request_json: &str) -> bool {
        self.engine.set_input_json(request_json).is_ok()
            && matches!(
                self.engine.eval_rule(REGO_ENTRY_POINT.to_owned()),
                Ok(regorus::Value::Bool(true))
            )
    }
}

/// The policy in Rego ([`REGO_POLICY`]), compiled to RVM bytecode and run by regorus'
/// virtual machine.
pub struct RegoCompiled {
    vm: RegoVM,
}

impl RegoCompiled {
    /// Compiles [`REGO_POLICY`] for the entry point [`REGO_ENTRY_POINT`] and loads it into a
    /// new VM.
    ///
    /// # Panics
    ///
    /// If the policy does not parse or compile (a bug in this crate).
    pub fn new() -> Self {
        let mut vm = RegoVM::new();
        vm.load_program(Self::program());
        Self { vm }
    }

    /// [`REGO_POLICY`] compiled to RVM bytecode for the entry point [`REGO_ENTRY_POINT`].
    ///
    /// # Panics
    ///
    /// If the policy does not parse or compile (a bug in this crate).
    pub fn program() -> Arc<Program> {
        let mut engine = regorus::Engine::new();
        engine
            .add_policy("lampart.rego".to_owned(), REGO_POLICY.to_owned())
            .expect("REGO_POLICY parses");
        let compiled = engine
            .compile_with_entrypoint(&REGO_ENTRY_POINT.into())
            .expect("REGO_POLICY compiles");
        Compiler::compile_from_policy(&compiled, &[REGO_ENTRY_POINT])
            .expect("REGO_POLICY compiles to RVM bytecode")
    }
}

impl Default for RegoCompiled {
    fn default() -> Self {
        Self::new()
    }
}

impl Engine for RegoCompiled {
    fn name(&self) -> &str {
        "rego-rvm"
    }

    fn decide(&mut self, request_json: &str) -> bool {
        let Ok(input) = regorus::Value::from_json_str(request_json) else {
            return false;
        };
        self.vm.set_input(input);
        matches!(
            self.vm.execute_entry_point_by_index(0),
            Ok(regorus::Value::Bool(true))
        )
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_engine_returns_the_expected_verdicts() {
        let mut engines = all();
        assert_eq!(engines.len(), 4);
        if let Err(wrong) = check_agreement(&mut engines) {
            panic!("engines disagree with the expected verdicts:\n{wrong}");
        }
    }

    #[test]
    fn check_agreement_reports_a_wrong_engine() {
        struct AllowAll;
        impl Engine for AllowAll {
            fn name(&self) -> &str {
                "allow-all"
            }
            fn decide(&mut self, _: &str) -> bool {
                true
            }
        }
        let mut engines: Vec<Box<dyn Engine>> = vec![Box::new(Native), Box::new(AllowAll)];
        let wrong = check_agreement(&mut engines).unwrap_err();
        assert!(
            wrong.contains("allow-all: request `finance-large-payment`"),
            "{wrong}"
        );
        assert!(!wrong.contains("native"), "{wrong}");
    }

    #[test]
    fn verdicts_do_not_leak_between_requests() {
        // Alternate allow and deny on the same engine instances, twice over, so that a
        // stale input or rule cache would show.
        let mut engines = all();
        for engine in &mut engines {
            for _ in 0..2 {
                for &(name, json, expected) in REQUESTS.iter().rev() {
                    assert_eq!(engine.decide(json), expected, "{}: {name}", engine.name());
                }
            }
        }
    }

    #[test]
    fn malformed_requests_are_denied() {
        let bad = [
            "",
            "not json",
            r#"{"principal":{"agent":"a","roles":["ops"]}}"#,
            r#"{"principal":{"agent":"a","roles":["finance"]},"action":{"tool":"send_money","args":{"recipient":"globex","amount":"10"}}}"#,
            r#"{"principal":{"agent":"a","roles":["finance"]},"action":{"tool":"send_money","args":{"recipient":7,"amount":10}}}"#,
        ];
        for engine in &mut all() {
            for json in bad {
                assert!(!engine.decide(json), "{} allowed {json:?}", engine.name());
            }
        }
    }

    #[test]
    fn a_wrongly_typed_argument_of_another_tool_does_not_deny() {
        let json = r#"{"principal":{"agent":"a","roles":["ops"]},"action":{"tool":"shell","args":{"amount":"lots","recipient":[1]}}}"#;
        for engine in &mut all() {
            assert!(engine.decide(json), "{} denied {json}", engine.name());
        }
    }

    #[test]
    fn tool_rules_settings_are_toml_with_the_policy() {
        let settings: toml::Table = crate::requests::TOOL_RULES_SETTINGS.parse().unwrap();
        let settings = &settings["step"]["settings"];
        assert_eq!(settings["default"].as_str(), Some("deny"));
        assert_eq!(
            settings["trusted"]["payees"],
            toml::Value::Array(TRUSTED_PAYEES.iter().map(|&p| p.into()).collect())
        );
        let rules = settings["rules"].as_array().unwrap();
        assert_eq!(rules.len(), 3);
        assert_eq!(
            rules[0]["when"][0]["max"].as_integer(),
            Some(MAX_AMOUNT),
            "{rules:?}"
        );
    }
}
