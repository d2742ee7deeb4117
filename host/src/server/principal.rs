//! The principal of a request to the service comes from its credential, never from its
//! body: a body may leave `principal` out (the credential's agent and roles are used), or
//! repeat them; a body that names anyone else, or claims grants or labels of its own, is
//! refused.

use serde_json::{Map, Value, json};

use crate::auth::Identity;
use crate::request::{Request, RequestError};

/// Why a body's principal was refused.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum PrincipalError {
    /// The body is not a request.
    #[error("{0}")]
    Invalid(String),
    /// The credential names no agent (an operator-only credential).
    #[error("this credential is an operator's and names no agent, so it cannot ask for decisions")]
    NoAgent,
    /// The body names another agent.
    #[error(
        "`principal.agent` is `{claimed}`, but the credential is `{agent}`'s: an agent acts only as itself"
    )]
    OtherAgent {
        /// The agent the body names.
        claimed: String,
        /// The authenticated agent.
        agent: String,
    },
    /// The body claims roles the credential does not carry.
    #[error(
        "`principal.roles` differ from the credential's roles: roles come from the credential; leave them out"
    )]
    OtherRoles,
    /// The body carries a field the service sets itself.
    #[error(
        "`{0}` comes from the service (the session's state), not from the request; leave it out"
    )]
    Asserted(&'static str),
}

impl PrincipalError {
    /// Whether this is about who is asking (403) rather than a malformed body (400).
    pub fn is_forbidden(&self) -> bool {
        !matches!(self, PrincipalError::Invalid(_))
    }
}

/// Turns a strict-JSON body into a request made by `identity`.
pub fn bind(mut body: Value, identity: &Identity) -> Result<Request, PrincipalError> {
    let invalid = |e: RequestError| PrincipalError::Invalid(e.to_string());
    let Some(agent) = identity.agent.as_deref() else {
        return Err(PrincipalError::NoAgent);
    };
    let Some(object) = body.as_object_mut() else {
        return Err(invalid(RequestError::NotObject(crate::request::json_kind(
            &body,
        ))));
    };
    for field in ["grants", "labels"] {
        match object.get(field) {
            None => {}
            Some(Value::Array(items)) if items.is_empty() => {}
            Some(_) => {
                return Err(PrincipalError::Asserted(if field == "grants" {
                    "grants"
                } else {
                    "labels"
                }));
            }
        }
    }
    let principal = object
        .entry("principal")
        .or_insert_with(|| Value::Object(Map::new()));
    let Some(principal) = principal.as_object_mut() else {
        return Err(PrincipalError::Invalid(
            "`principal` must be a JSON object".into(),
        ));
    };
    match principal.get("agent") {
        None => {
            principal.insert("agent".into(), json!(agent));
        }
        Some(Value::String(claimed)) if claimed == agent => {}
        Some(claimed) => {
            return Err(PrincipalError::OtherAgent {
                claimed: claimed
                    .as_str()
                    .map_or_else(|| claimed.to_string(), str::to_owned),
                agent: agent.to_owned(),
            });
        }
    }
    let mut roles = identity.roles.clone();
    roles.sort();
    match principal.get("roles") {
        None => {
            principal.insert("roles".into(), json!(roles));
        }
        Some(Value::Array(claimed)) => {
            let mut claimed: Vec<&str> = claimed.iter().filter_map(Value::as_str).collect();
            claimed.sort_unstable();
            if claimed.len() != roles.len() || claimed.iter().zip(&roles).any(|(a, b)| a != b) {
                return Err(PrincipalError::OtherRoles);
            }
        }
        Some(_) => return Err(PrincipalError::OtherRoles),
    }
    Request::from_value(body).map_err(invalid)
}

#[cfg(test)]
mod tests {
    use serde_json::json;

    use super::*;
    use crate::auth::CredentialId;

    fn alice() -> Identity {
        Identity {
            agent: Some("alice".into()),
            roles: vec!["finance".into(), "ops".into()],
            operator: false,
            credential: CredentialId::Key("alice-1".into()),
        }
    }

    #[test]
    fn a_missing_principal_is_the_credential_s() {
        let request = bind(
            json!({"action": {"tool": "t"}, "principal": {"session": "s"}}),
            &alice(),
        )
        .unwrap();
        assert_eq!(request.principal.agent, "alice");
        assert_eq!(request.principal.roles, ["finance", "ops"]);
        assert_eq!(request.principal.session, "s");
        let request = bind(json!({"action": {"tool": "t"}}), &alice()).unwrap();
        assert_eq!(request.principal.agent, "alice");
    }

    #[test]
    fn the_same_principal_may_be_repeated_in_any_role_order() {
        let body = json!({"action": {"tool": "t"},
            "principal": {"agent": "alice", "roles": ["ops", "finance"]}});
        assert!(bind(body, &alice()).is_ok());
    }

    #[test]
    fn another_principal_or_asserted_state_is_refused() {
        let refused = |body: serde_json::Value| bind(body, &alice()).unwrap_err();
        assert!(matches!(
            refused(json!({"action": {"tool": "t"}, "principal": {"agent": "bob"}})),
            PrincipalError::OtherAgent { .. }
        ));
        assert!(matches!(
            refused(json!({"action": {"tool": "t"}, "principal": {"agent": 7}})),
            PrincipalError::OtherAgent { .. }
        ));
        assert_eq!(
            refused(json!({"action": {"tool": "t"}, "principal": {"roles": ["admin"]}})),
            PrincipalError::OtherRoles
        );
        assert_eq!(
            refused(json!({"action": {"tool": "t"}, "principal": {"roles": ["finance"]}})),
            PrincipalError::OtherRoles
        );
        assert_eq!(
            refused(json!({"action": {"tool": "t"}, "grants": ["x"]})),
            PrincipalError::Asserted("grants")
        );
        assert_eq!(
            refused(json!({"action": {"tool": "t"}, "labels": ["clean"]})),
            PrincipalError::Asserted("labels")
        );
        // Empty lists claim nothing.
        assert!(
            bind(
                json!({"action": {"tool": "t"}, "grants": [], "labels": []}),
                &alice()
            )
            .is_ok()
        );
        let mut operator = alice();
        operator.agent = None;
        assert_eq!(
            bind(json!({"action": {"tool": "t"}}), &operator).unwrap_err(),
            PrincipalError::NoAgent
        );
    }

    #[test]
    fn a_malformed_body_is_a_bad_request_not_a_refusal() {
        for body in [
            json!([1]),
            json!({"principal": "alice", "action": {"tool": "t"}}),
            json!({"action": {"tool": "t"}, "extra": 1}),
        ] {
            let err = bind(body, &alice()).unwrap_err();
            assert!(!err.is_forbidden(), "{err}");
        }
    }
}
