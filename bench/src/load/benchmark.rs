//! The benchmark's requests ([`crate::requests::REQUESTS`]) in the forms the service
//! benchmark sends them: bodies for `POST /v1/decide`, and the same decisions as
//! `lampart check` lines.
//!
//! The service takes the principal's agent and roles from the credential, so a body keeps
//! only the request's session; the check lines name the credential's agent and roles
//! instead, so both paths decide exactly the same requests.

use serde_json::{Map, Value};

use crate::requests::REQUESTS;

/// The agent the benchmark's API key speaks for.
pub const AGENT: &str = "bench-agent";
/// The roles of the benchmark's API key.
pub const ROLES: &[&str] = &["finance"];

/// The benchmark's requests as service bodies: the principal reduced to its session, or
/// left out without `sessions` (then the service keeps no session state for them).
pub fn serve_bodies(sessions: bool) -> Vec<String> {
    REQUESTS
        .iter()
        .map(|(_, request, _)| {
            if sessions {
                with_principal(request, |session| session)
            } else {
                without_principal(request)
            }
        })
        .collect()
}

/// The benchmark's requests as `lampart check` lines, made by [`AGENT`] with [`ROLES`].
pub fn check_lines() -> Vec<String> {
    REQUESTS
        .iter()
        .map(|(_, request, _)| {
            with_principal(request, |mut principal| {
                principal.insert("agent".into(), Value::from(AGENT));
                principal.insert(
                    "roles".into(),
                    Value::Array(ROLES.iter().map(|role| Value::from(*role)).collect()),
                );
                principal
            })
        })
        .collect()
}

/// `request` (a benchmark request) with its principal replaced by `principal` applied to
/// the original's session alone.
fn with_principal(
    request: &str,
    principal: impl FnOnce(Map<String, Value>) -> Map<String, Value>,
) -> String {
    let mut value: Value = serde_json::from_str(request).expect("benchmark requests are JSON");
    let session = value
        .pointer("/principal/session")
        .cloned()
        .expect("benchmark requests name a session");
    let mut only_session = Map::new();
    only_session.insert("session".into(), session);
    value["principal"] = Value::Object(principal(only_session));
    value.to_string()
}

/// `request` without its principal.
fn without_principal(request: &str) -> String {
    let mut value: Value = serde_json::from_str(request).expect("benchmark requests are JSON");
    if let Some(object) = value.as_object_mut() {
        object.remove("principal");
    }
    value.to_string()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn bodies_keep_the_action_and_session_only() {
        let bodies = serve_bodies(true);
        assert_eq!(bodies.len(), REQUESTS.len());
        let sessionless: Value = serde_json::from_str(&serve_bodies(false)[0]).expect("json");
        assert_eq!(sessionless.get("principal"), None);
        assert_eq!(sessionless["action"]["args"]["amount"], 120);
        let first: Value = serde_json::from_str(&bodies[0]).expect("json");
        assert_eq!(
            first,
            serde_json::json!({
                "principal": {"session": "s1"},
                "action": {"tool": "send_money", "args": {"recipient": "acme-corp", "amount": 120}}
            })
        );
    }

    #[test]
    fn check_lines_name_the_key_agent() {
        let lines = check_lines();
        assert_eq!(lines.len(), REQUESTS.len());
        let ops: Value = serde_json::from_str(&lines[4]).expect("json");
        assert_eq!(
            ops["principal"],
            serde_json::json!({"session": "s3", "agent": AGENT, "roles": ["finance"]})
        );
        assert_eq!(ops["action"]["tool"], "shell");
    }
}
