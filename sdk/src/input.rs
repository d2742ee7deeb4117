//! A typed view of one decision's input.

use serde_json::Value;

use crate::json::{self, Strings};
use crate::{Action, Finding, Phase, Principal, ToolOutput, glob, types};

/// Everything a plugin is told about one decision, with the action's arguments (and a
/// JSON answer of the tool) parsed once.
///
/// Build one from the raw WIT record with [`Input::new`] (the export macros do this),
/// or in tests with [`Input::builder`].
#[derive(Debug, Clone)]
pub struct Input {
    raw: types::Input,
    args: Value,
    args_error: Option<String>,
    output_json: Option<Value>,
}

impl Input {
    /// Wraps the raw input, parsing `action.args` (and `output`, when the tool answered
    /// JSON).
    ///
    /// Arguments that are not valid JSON become `null`; [`Input::args_error`] then says
    /// why. A text answer stays text, even when it reads like JSON: [`Input::output_json`]
    /// is `None` for it.
    pub fn new(raw: types::Input) -> Self {
        let (args, args_error) = match serde_json::from_str::<Value>(&raw.action.args) {
            Ok(v) => (v, None),
            Err(e) => (Value::Null, Some(e.to_string())),
        };
        let output_json = match &raw.output {
            Some(ToolOutput::Json(text)) => serde_json::from_str::<Value>(text).ok(),
            Some(ToolOutput::Text(_)) | None => None,
        };
        Input {
            raw,
            args,
            args_error,
            output_json,
        }
    }

    /// A builder for tests: a request-phase input for tool `tool` with empty arguments.
    pub fn builder(tool: impl Into<String>) -> InputBuilder {
        InputBuilder::new(tool)
    }

    /// The raw WIT record.
    pub fn raw(&self) -> &types::Input {
        &self.raw
    }

    /// The decision's identifier, as recorded in the audit log.
    pub fn id(&self) -> &str {
        &self.raw.id
    }

    /// Which pass this is.
    pub fn phase(&self) -> Phase {
        self.raw.phase
    }

    /// Who is acting.
    pub fn principal(&self) -> &Principal {
        &self.raw.principal
    }

    /// The agent's identity, e.g. `billing-bot`.
    pub fn agent(&self) -> &str {
        &self.raw.principal.agent
    }

    /// The roles the agent holds.
    pub fn roles(&self) -> &[String] {
        &self.raw.principal.roles
    }

    /// Whether the agent holds role `role`.
    pub fn has_role(&self, role: &str) -> bool {
        self.roles().iter().any(|r| r == role)
    }

    /// The conversation or run the action belongs to.
    pub fn session(&self) -> &str {
        &self.raw.principal.session
    }

    /// The task the agent is working on, when it said.
    pub fn task(&self) -> Option<&str> {
        self.raw.principal.task.as_deref()
    }

    /// The tool call.
    pub fn action(&self) -> &Action {
        &self.raw.action
    }

    /// The tool's name.
    pub fn tool(&self) -> &str {
        &self.raw.action.tool
    }

    /// Whether the tool's name matches `pattern` (see [`crate::glob`]).
    pub fn tool_matches(&self, pattern: &str) -> bool {
        glob::matches(pattern, self.tool())
    }

    /// The resource acted on, when the caller named one.
    pub fn resource(&self) -> Option<&str> {
        self.raw.action.resource.as_deref()
    }

    /// The arguments, parsed (`null` when they were not valid JSON).
    pub fn args(&self) -> &Value {
        &self.args
    }

    /// The arguments as the host sent them.
    pub fn args_text(&self) -> &str {
        &self.raw.action.args
    }

    /// Why the arguments are not valid JSON, if they are not.
    pub fn args_error(&self) -> Option<&str> {
        self.args_error.as_deref()
    }

    /// The argument at JSON pointer `pointer` (e.g. `/payee/iban`); `""` is the whole
    /// arguments object. A token of digits only (`/recipients/0`) indexes an array and
    /// never names an object member, so an object cannot pass for a list (see
    /// [`json::lookup`]).
    pub fn arg(&self, pointer: &str) -> Option<&Value> {
        json::lookup(&self.args, pointer)
    }

    /// The argument at `pointer`, if it is a string.
    pub fn arg_str(&self, pointer: &str) -> Option<&str> {
        self.arg(pointer).and_then(Value::as_str)
    }

    /// The argument at `pointer`, if it is a number.
    pub fn arg_f64(&self, pointer: &str) -> Option<f64> {
        self.arg(pointer).and_then(Value::as_f64)
    }

    /// The argument at `pointer`, if it is an integer that fits an `i64`.
    pub fn arg_i64(&self, pointer: &str) -> Option<i64> {
        self.arg(pointer).and_then(Value::as_i64)
    }

    /// The argument at `pointer`, if it is a boolean.
    pub fn arg_bool(&self, pointer: &str) -> Option<bool> {
        self.arg(pointer).and_then(Value::as_bool)
    }

    /// Every string value in the arguments with its JSON pointer (see [`json::strings`]).
    pub fn arg_strings(&self) -> Strings<'_> {
        json::strings(&self.args)
    }

    /// Response phase: what the tool returned, as text or as JSON text.
    pub fn output(&self) -> Option<&ToolOutput> {
        self.raw.output.as_ref()
    }

    /// Response phase: the tool's answer, when it answered plain text.
    pub fn output_text(&self) -> Option<&str> {
        match &self.raw.output {
            Some(ToolOutput::Text(text)) => Some(text),
            _ => None,
        }
    }

    /// Response phase: the tool's answer, parsed, when it answered JSON.
    pub fn output_json(&self) -> Option<&Value> {
        self.output_json.as_ref()
    }

    /// Every string in the output with its pointer: the strings of a JSON answer (a bare
    /// JSON string at pointer `""`), or the whole text at pointer `""` for a text answer.
    /// Empty when there is no output.
    pub fn output_strings(&self) -> Vec<(String, &str)> {
        match (&self.output_json, &self.raw.output) {
            (Some(v), _) => json::strings(v).collect(),
            (None, Some(ToolOutput::Text(text) | ToolOutput::Json(text))) => {
                vec![(String::new(), text)]
            }
            (None, None) => Vec::new(),
        }
    }

    /// The strings an inspector should look at in this phase, with the pointers its
    /// findings and redactions should use: the output's in the response phase,
    /// the arguments' otherwise.
    pub fn texts(&self) -> Vec<(String, &str)> {
        match self.phase() {
            Phase::Response => self.output_strings(),
            Phase::Request | Phase::Elevation => self.arg_strings().collect(),
        }
    }

    /// The privilege scopes the principal holds right now.
    pub fn grants(&self) -> &[String] {
        &self.raw.grants
    }

    /// Whether the principal holds scope `scope`.
    pub fn has_grant(&self, scope: &str) -> bool {
        self.grants().iter().any(|g| g == scope)
    }

    /// The labels on the session.
    pub fn labels(&self) -> &[String] {
        &self.raw.labels
    }

    /// Whether the session carries label `label`.
    pub fn has_label(&self, label: &str) -> bool {
        self.labels().iter().any(|l| l == label)
    }

    /// What enforcing inspectors earlier in the chain found.
    pub fn findings(&self) -> &[Finding] {
        &self.raw.findings
    }
}

impl From<types::Input> for Input {
    fn from(raw: types::Input) -> Self {
        Input::new(raw)
    }
}

/// Builds an [`Input`] for tests.
///
/// ```
/// use lampart_sdk::{Input, Phase};
/// use serde_json::json;
/// let input = Input::builder("send_money")
///     .args(json!({"amount": 120.5, "to": "ACME"}))
///     .agent("billing-bot")
///     .roles(["finance"])
///     .build();
/// assert_eq!(input.arg_f64("/amount"), Some(120.5));
/// assert_eq!(input.arg_str("/to"), Some("ACME"));
/// assert!(input.has_role("finance"));
/// assert_eq!(input.phase(), Phase::Request);
/// ```
#[derive(Debug, Clone)]
pub struct InputBuilder {
    raw: types::Input,
}

impl InputBuilder {
    /// A request-phase input for tool `tool`, arguments `{}`, agent `agent`, no roles.
    pub fn new(tool: impl Into<String>) -> Self {
        InputBuilder {
            raw: types::Input {
                id: "test".to_owned(),
                phase: Phase::Request,
                principal: Principal {
                    agent: "agent".to_owned(),
                    roles: Vec::new(),
                    session: "session".to_owned(),
                    task: None,
                },
                action: Action {
                    tool: tool.into(),
                    args: "{}".to_owned(),
                    resource: None,
                },
                output: None,
                grants: Vec::new(),
                labels: Vec::new(),
                findings: Vec::new(),
            },
        }
    }

    /// Sets the arguments from a JSON value.
    pub fn args(mut self, args: Value) -> Self {
        self.raw.action.args = args.to_string();
        self
    }

    /// Sets the arguments' raw text (which need not be valid JSON).
    pub fn args_text(mut self, args: impl Into<String>) -> Self {
        self.raw.action.args = args.into();
        self
    }

    /// Sets the phase.
    pub fn phase(mut self, phase: Phase) -> Self {
        self.raw.phase = phase;
        self
    }

    /// Sets the agent.
    pub fn agent(mut self, agent: impl Into<String>) -> Self {
        self.raw.principal.agent = agent.into();
        self
    }

    /// Sets the roles.
    pub fn roles<I: IntoIterator<Item = S>, S: Into<String>>(mut self, roles: I) -> Self {
        self.raw.principal.roles = roles.into_iter().map(Into::into).collect();
        self
    }

    /// Sets the resource.
    pub fn resource(mut self, resource: impl Into<String>) -> Self {
        self.raw.action.resource = Some(resource.into());
        self
    }

    /// Sets the output to a plain-text answer.
    pub fn output_text(mut self, output: impl Into<String>) -> Self {
        self.raw.output = Some(ToolOutput::Text(output.into()));
        self
    }

    /// Sets the output to a JSON answer.
    pub fn output_json(mut self, output: Value) -> Self {
        self.raw.output = Some(ToolOutput::Json(output.to_string()));
        self
    }

    /// Sets the grants.
    pub fn grants<I: IntoIterator<Item = S>, S: Into<String>>(mut self, grants: I) -> Self {
        self.raw.grants = grants.into_iter().map(Into::into).collect();
        self
    }

    /// Sets the session labels.
    pub fn labels<I: IntoIterator<Item = S>, S: Into<String>>(mut self, labels: I) -> Self {
        self.raw.labels = labels.into_iter().map(Into::into).collect();
        self
    }

    /// Adds a finding from earlier in the chain.
    pub fn finding(mut self, finding: Finding) -> Self {
        self.raw.findings.push(finding);
        self
    }

    /// The raw WIT record.
    pub fn build_raw(self) -> types::Input {
        self.raw
    }

    /// The input.
    pub fn build(self) -> Input {
        Input::new(self.raw)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn args_helpers() {
        let input = Input::builder("shell")
            .args(json!({"cmd": "ls", "n": 3, "ok": true, "nested": {"a/b": ["x"]}}))
            .build();
        assert_eq!(input.arg_str("/cmd"), Some("ls"));
        assert_eq!(input.arg_f64("/n"), Some(3.0));
        assert_eq!(input.arg_i64("/n"), Some(3));
        assert_eq!(input.arg_bool("/ok"), Some(true));
        assert_eq!(input.arg_str("/n"), None);
        assert_eq!(input.arg("/missing"), None);
        assert_eq!(input.arg_str("/nested/a~1b/0"), Some("x"));
        let strings: Vec<_> = input.arg_strings().collect();
        assert_eq!(strings.len(), 2);
        assert!(input.tool_matches("sh*"));
        assert_eq!(input.args_error(), None);
    }

    #[test]
    fn invalid_args() {
        let input = Input::builder("x").args_text("{not json").build();
        assert_eq!(input.args(), &Value::Null);
        assert!(input.args_error().is_some());
        assert_eq!(input.arg_strings().count(), 0);
    }

    #[test]
    fn texts_follow_the_phase() {
        let req = Input::builder("x")
            .args(json!({"a": "1"}))
            .output_text("plain")
            .build();
        assert_eq!(req.texts(), vec![("/a".to_string(), "1")]);
        let resp = Input::builder("x")
            .phase(Phase::Response)
            .output_text("plain text")
            .build();
        assert_eq!(resp.texts(), vec![(String::new(), "plain text")]);
        let resp = Input::builder("x")
            .phase(Phase::Response)
            .output_json(json!({"body": "hi"}))
            .build();
        assert_eq!(resp.texts(), vec![("/body".to_string(), "hi")]);
        assert!(resp.output_json().is_some());
        assert_eq!(resp.output_text(), None);
    }

    #[test]
    fn a_text_answer_that_reads_like_json_stays_text() {
        let text = Input::builder("x")
            .phase(Phase::Response)
            .output_text("42")
            .build();
        assert_eq!(text.output_text(), Some("42"));
        assert_eq!(text.output_json(), None);
        assert_eq!(text.output(), Some(&ToolOutput::Text("42".into())));
        let number = Input::builder("x")
            .phase(Phase::Response)
            .output_json(json!(42))
            .build();
        assert_eq!(number.output_json(), Some(&json!(42)));
        assert_eq!(number.output_text(), None);
    }

    #[test]
    fn principal_and_session() {
        let input = Input::builder("x")
            .agent("bot")
            .roles(["a", "b"])
            .grants(["g"])
            .labels(["l"])
            .resource("/tmp")
            .finding(Finding::low("r", "m"))
            .build();
        assert_eq!(input.agent(), "bot");
        assert!(input.has_role("b") && !input.has_role("c"));
        assert!(input.has_grant("g"));
        assert!(input.has_label("l"));
        assert_eq!(input.resource(), Some("/tmp"));
        assert_eq!(input.findings().len(), 1);
        assert_eq!(input.session(), "session");
        assert_eq!(input.task(), None);
    }
}
