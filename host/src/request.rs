//! What an agent asks for: the request a chain decides on, as it arrives in JSON.
//!
//! ```json
//! {
//!   "id": "req-42",
//!   "phase": "request",
//!   "principal": { "agent": "billing-bot", "roles": ["finance"], "session": "s-1", "task": "invoice-7" },
//!   "action": { "tool": "send_money", "args": { "recipient": "acme", "amount": 120 } },
//!   "grants": ["payments:large"],
//!   "labels": []
//! }
//! ```
//!
//! Unknown fields are refused, `args` must be a JSON object, and a `response` phase request
//! must carry the tool's `output`.

use serde::{Deserialize, Serialize};
use serde_json::Value;

/// Which pass through the chain a request belongs to.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Phase {
    /// An agent wants to call a tool.
    Request,
    /// The tool has answered; the answer is on its way back to the agent.
    Response,
    /// An agent asks for more privileges for a task.
    Elevation,
}

impl Phase {
    /// The phase's name as written in requests and configs.
    pub fn as_str(self) -> &'static str {
        match self {
            Phase::Request => "request",
            Phase::Response => "response",
            Phase::Elevation => "elevation",
        }
    }
}

/// Who is acting.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Principal {
    /// The agent's identity.
    pub agent: String,
    /// Roles the agent holds.
    #[serde(default)]
    pub roles: Vec<String>,
    /// The conversation or run the action belongs to.
    #[serde(default)]
    pub session: String,
    /// The task the agent is working on.
    #[serde(default)]
    pub task: Option<String>,
}

/// The tool call under decision.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Action {
    /// The tool's name.
    pub tool: String,
    /// The call's arguments: always a JSON object.
    #[serde(default = "empty_object")]
    pub args: Value,
    /// The resource acted on, when the caller names one.
    #[serde(default)]
    pub resource: Option<String>,
}

fn empty_object() -> Value {
    Value::Object(serde_json::Map::new())
}

/// One request to decide on.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Request {
    /// The caller's own identifier for the request, kept in the decision record.
    #[serde(default)]
    pub id: Option<String>,
    /// Which pass this is; `request` when absent.
    #[serde(default = "default_phase")]
    pub phase: Phase,
    /// Who is acting.
    pub principal: Principal,
    /// What they want to do.
    pub action: Action,
    /// Response phase: the tool's answer, as text or as JSON.
    #[serde(default)]
    pub output: Option<ToolOutput>,
    /// Privilege scopes the principal holds right now.
    #[serde(default)]
    pub grants: Vec<String>,
    /// Labels already on the session.
    #[serde(default)]
    pub labels: Vec<String>,
}

/// What a tool answered: written `{"text": "..."}` or `{"json": <any JSON value>}`, so a
/// text answer `42` is never confused with the number 42.
///
/// Anything else is refused with a message that says how to write it and never quotes the
/// answer itself (which may be megabytes long).
#[derive(Debug, Clone, PartialEq, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum ToolOutput {
    /// The tool answered with text (which may happen to look like JSON).
    Text(String),
    /// The tool answered with a JSON value.
    Json(Value),
}

/// How an output is written, for messages.
const OUTPUT_FORM: &str = r#"{"text": "..."} or {"json": <any JSON value>}"#;

impl<'de> Deserialize<'de> for ToolOutput {
    fn deserialize<D: serde::Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        use serde::de::{Error, IgnoredAny, MapAccess, Visitor};

        struct Output;

        impl<'de> Visitor<'de> for Output {
            type Value = ToolOutput;

            fn expecting(&self, f: &mut std::fmt::Formatter) -> std::fmt::Result {
                f.write_str(OUTPUT_FORM)
            }

            fn visit_str<E: Error>(self, _: &str) -> Result<ToolOutput, E> {
                Err(E::custom(format!(
                    "`output` is a bare string; expected {OUTPUT_FORM}"
                )))
            }

            fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> Result<ToolOutput, A::Error> {
                let Some(key) = map.next_key::<String>()? else {
                    return Err(A::Error::custom(format!(
                        "`output` is an empty object; expected {OUTPUT_FORM}"
                    )));
                };
                let output = match key.as_str() {
                    "text" => ToolOutput::Text(map.next_value()?),
                    "json" => ToolOutput::Json(map.next_value()?),
                    other => {
                        let name: String = other.chars().take(40).collect();
                        return Err(A::Error::custom(format!(
                            "`output` has key `{}`; expected {OUTPUT_FORM}",
                            name.escape_debug()
                        )));
                    }
                };
                if map.next_key::<IgnoredAny>()?.is_some() {
                    return Err(A::Error::custom(format!(
                        "`output` has more than one key; expected {OUTPUT_FORM}"
                    )));
                }
                Ok(output)
            }
        }

        deserializer.deserialize_any(Output)
    }
}

impl ToolOutput {
    /// The answer as a JSON value: the text as a JSON string, or the JSON itself. JSON
    /// pointers of findings and redactions point into this (`""` is the whole text).
    pub fn as_value(&self) -> Value {
        match self {
            ToolOutput::Text(text) => Value::String(text.clone()),
            ToolOutput::Json(value) => value.clone(),
        }
    }

    /// The same kind of answer holding `value` (after redaction): text stays text.
    pub fn with_value(&self, value: Value) -> ToolOutput {
        match (self, value) {
            (ToolOutput::Text(_), Value::String(text)) => ToolOutput::Text(text),
            (_, value) => ToolOutput::Json(value),
        }
    }
}

fn default_phase() -> Phase {
    Phase::Request
}

/// Why a request was refused before any plugin saw it.
#[derive(Debug, thiserror::Error)]
pub enum RequestError {
    /// Not JSON, or JSON of the wrong shape (the message quotes the input, escaped).
    #[error("{}", crate::text::escape(&.0.to_string()))]
    Json(#[from] serde_json::Error),
    /// JSON that parsers read differently: a duplicate key, an integer beyond 64 bits.
    #[error("{}", crate::text::escape(&.0.to_string()))]
    Ambiguous(#[from] crate::strict_json::StrictJsonError),
    /// The request is JSON, but not an object.
    #[error("a request must be a JSON object, found {0}")]
    NotObject(&'static str),
    /// `action.args` is not a JSON object.
    #[error("`action.args` must be a JSON object, found {0}")]
    ArgsNotObject(&'static str),
    /// A response-phase request without the tool's output.
    #[error("a `response` phase request needs the tool's `output`")]
    MissingOutput,
    /// A field that must not be empty is.
    #[error("`{0}` must not be empty")]
    Empty(&'static str),
}

impl Request {
    /// Parses and checks one request from JSON text.
    ///
    /// The text must be strict JSON (see [`crate::strict_json`]): a duplicate key anywhere or
    /// an integer beyond 64 bits is refused, since a tool might read it otherwise than the
    /// plugins do.
    pub fn from_json(text: &str) -> Result<Request, RequestError> {
        Request::from_value(crate::strict_json::from_str(text)?)
    }

    /// Checks one request already parsed as strict JSON (see [`Request::from_json`]).
    pub fn from_value(value: Value) -> Result<Request, RequestError> {
        if !value.is_object() {
            return Err(RequestError::NotObject(json_kind(&value)));
        }
        let request: Request = serde_json::from_value(value)?;
        request.validate()?;
        Ok(request)
    }

    /// Checks what the JSON shape alone cannot.
    pub fn validate(&self) -> Result<(), RequestError> {
        if !self.action.args.is_object() {
            return Err(RequestError::ArgsNotObject(json_kind(&self.action.args)));
        }
        if self.principal.agent.is_empty() {
            return Err(RequestError::Empty("principal.agent"));
        }
        if self.action.tool.is_empty() {
            return Err(RequestError::Empty("action.tool"));
        }
        if self.phase == Phase::Response && self.output.is_none() {
            return Err(RequestError::MissingOutput);
        }
        Ok(())
    }
}

/// A JSON value's kind, for error messages.
pub fn json_kind(value: &Value) -> &'static str {
    match value {
        Value::Null => "null",
        Value::Bool(_) => "a boolean",
        Value::Number(_) => "a number",
        Value::String(_) => "a string",
        Value::Array(_) => "an array",
        Value::Object(_) => "an object",
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_a_minimal_request_with_defaults() {
        let request = Request::from_json(
            r#"{"principal":{"agent":"a"},"action":{"tool":"shell","args":{"cmd":"ls"}}}"#,
        )
        .unwrap();
        assert_eq!(request.phase, Phase::Request);
        assert!(request.grants.is_empty());
        assert_eq!(request.action.args["cmd"], "ls");
    }

    #[test]
    fn refuses_unknown_fields_naming_them() {
        let err =
            Request::from_json(r#"{"principal":{"agent":"a"},"action":{"tool":"t"},"grantz":[]}"#)
                .unwrap_err();
        assert!(err.to_string().contains("unknown field `grantz`"), "{err}");
    }

    #[test]
    fn refuses_a_request_that_is_not_an_object() {
        let err = Request::from_json("[1, 2]").unwrap_err();
        assert_eq!(
            err.to_string(),
            "a request must be a JSON object, found an array"
        );
        let err = Request::from_json("nope").unwrap_err();
        assert!(err.to_string().starts_with("expected ident"), "{err}");
    }

    #[test]
    fn refuses_non_object_args() {
        let err =
            Request::from_json(r#"{"principal":{"agent":"a"},"action":{"tool":"t","args":[1]}}"#)
                .unwrap_err();
        assert_eq!(
            err.to_string(),
            "`action.args` must be a JSON object, found an array"
        );
    }

    #[test]
    fn refuses_a_response_without_output() {
        let err = Request::from_json(
            r#"{"phase":"response","principal":{"agent":"a"},"action":{"tool":"t"}}"#,
        )
        .unwrap_err();
        assert!(matches!(err, RequestError::MissingOutput));
    }

    #[test]
    fn output_says_whether_it_is_text_or_json() {
        let request = Request::from_json(
            r#"{"phase":"response","principal":{"agent":"a"},"action":{"tool":"t"},"output":{"text":"42"}}"#,
        )
        .unwrap();
        assert_eq!(request.output, Some(ToolOutput::Text("42".into())));
        let request = Request::from_json(
            r#"{"phase":"response","principal":{"agent":"a"},"action":{"tool":"t"},"output":{"json":42}}"#,
        )
        .unwrap();
        assert_eq!(
            request.output,
            Some(ToolOutput::Json(serde_json::json!(42)))
        );
        let err = Request::from_json(
            r#"{"phase":"response","principal":{"agent":"a"},"action":{"tool":"t"},"output":"plain"}"#,
        )
        .unwrap_err();
        assert!(err.to_string().contains("expected"), "{err}");
        let long = "x".repeat(10_000);
        for output in [
            format!("\"{long}\""),
            format!("{{\"{long}\": 1}}"),
            "{}".to_owned(),
            r#"{"text": "a", "json": 1}"#.to_owned(),
            "[1]".to_owned(),
        ] {
            let err = Request::from_json(&format!(
                r#"{{"phase":"response","principal":{{"agent":"a"}},"action":{{"tool":"t"}},"output":{output}}}"#
            ))
            .unwrap_err()
            .to_string();
            assert!(
                err.contains(r#"expected {"text": "..."} or {"json""#),
                "{err}"
            );
            assert!(err.len() < 300, "the answer is not quoted: {err}");
        }
    }

    #[test]
    fn errors_quoting_the_input_stay_on_one_line() {
        let err = Request::from_json(
            "{\"principal\":{\"agent\":\"a\"},\"action\":{\"tool\":\"t\"},\"gr\\nts\":[]}",
        )
        .unwrap_err()
        .to_string();
        assert!(err.contains("unknown field `gr\\nts`"), "{err}");
        assert!(!err.contains('\n'), "{err}");
    }

    #[test]
    fn refuses_duplicate_keys_and_big_integers() {
        let err = Request::from_json(
            r#"{"principal":{"agent":"a"},"action":{"tool":"shell","args":{"cmd":"sudo rm -rf /","cmd":"ls"}}}"#,
        )
        .unwrap_err();
        assert!(err.to_string().contains("duplicate key `cmd`"), "{err}");
        let err = Request::from_json(
            r#"{"principal":{"agent":"a"},"action":{"tool":"pay","args":{"amount":18446744073709551616}}}"#,
        )
        .unwrap_err();
        assert!(err.to_string().contains("does not fit in 64 bits"), "{err}");
    }
}
