//! Decision records: what the audit log keeps of a decision, and what `lampart check` prints.
//!
//! An audit record holds the decision id and time, the request's own id and input digest,
//! the principal, tool, phase and arguments (after redaction, with the configured fields
//! masked or hashed), the grants and labels, every step (plugin digest, mode, instance,
//! verdict, findings, fuel, wall time, error), the final verdict and reason, and the chain
//! revision. The audit log adds `seq`, `prev` and `hash`.

use serde_json::{Map, Value, json};

use crate::chain::Decision;
use crate::request::Phase;

/// Argument fields to hide from the log.
#[derive(Debug, Clone, Default)]
pub struct Masking {
    /// JSON pointers whose values are replaced by `"***"`.
    pub mask: Vec<String>,
    /// JSON pointers whose values are replaced by `"blake3:<hex>"` of their canonical JSON,
    /// so equal values can still be matched across records.
    pub hash: Vec<String>,
}

impl Masking {
    /// Applies the masks to a copy of `args`; returns it and the pointers that were present.
    pub fn apply(&self, args: &Value) -> (Value, Vec<String>) {
        let mut args = args.clone();
        let mut touched = Vec::new();
        for pointer in &self.mask {
            if let Some(slot) = args.pointer_mut(pointer) {
                *slot = Value::String("***".into());
                touched.push(pointer.clone());
            }
        }
        for pointer in &self.hash {
            if let Some(slot) = args.pointer_mut(pointer) {
                let digest = crate::canonical::digest(slot);
                *slot = Value::String(format!("blake3:{}", digest.to_hex()));
                touched.push(pointer.clone());
            }
        }
        (args, touched)
    }
}

/// The audit record of a decision (without `seq`, `prev` and `hash`).
pub fn audit_record(decision: &Decision, masking: &Masking) -> Map<String, Value> {
    let request = &decision.request;
    let args = match (&decision.redacted, request.phase) {
        (Some(redacted), Phase::Request | Phase::Elevation) => redacted,
        _ => &request.action.args,
    };
    let (args, masked) = masking.apply(args);
    let mut record = Map::new();
    record.insert("type".into(), json!("decision"));
    record.insert("id".into(), json!(decision.id));
    record.insert(
        "time".into(),
        json!(humantime::format_rfc3339_micros(decision.time).to_string()),
    );
    record.insert("request_id".into(), json!(request.id));
    record.insert("input_digest".into(), json!(decision.input_digest()));
    record.insert("phase".into(), json!(request.phase));
    record.insert("principal".into(), json!(request.principal));
    record.insert("tool".into(), json!(request.action.tool));
    record.insert("resource".into(), json!(request.action.resource));
    record.insert("args".into(), args);
    if !masked.is_empty() {
        record.insert("masked".into(), json!(masked));
    }
    if let Some(output) = &request.output {
        let digest = crate::canonical::digest(output);
        record.insert(
            "output_digest".into(),
            json!(format!("blake3:{}", digest.to_hex())),
        );
    }
    record.insert("redacted".into(), json!(decision.redacted.is_some()));
    record.insert("grants".into(), json!(request.grants));
    record.insert("labels".into(), json!(decision.labels));
    record.insert("verdict".into(), json!(decision.verdict));
    record.insert("reason".into(), json!(decision.reason));
    if !decision.missing_scopes.is_empty() {
        record.insert("missing_scopes".into(), json!(decision.missing_scopes));
    }
    record.insert("findings".into(), json!(decision.findings));
    record.insert("steps".into(), json!(decision.steps));
    record.insert("chain".into(), json!(decision.chain));
    record.insert("revision".into(), json!(decision.revision));
    record
}

/// What `lampart check` prints for a decision: verdict, reason, findings, a line per step,
/// the redacted arguments or output when there are any, and where it was recorded.
pub fn decision_output(decision: &Decision, audit: Option<(u64, &str)>) -> Value {
    let mut out = Map::new();
    out.insert("id".into(), json!(decision.id));
    if let Some(request_id) = &decision.request.id {
        out.insert("request_id".into(), json!(request_id));
    }
    out.insert("tool".into(), json!(decision.request.action.tool));
    out.insert("phase".into(), json!(decision.request.phase));
    out.insert("verdict".into(), json!(decision.verdict));
    out.insert("reason".into(), json!(decision.reason));
    if !decision.missing_scopes.is_empty() {
        out.insert("missing_scopes".into(), json!(decision.missing_scopes));
    }
    if !decision.findings.is_empty() {
        out.insert("findings".into(), json!(decision.findings));
    }
    if decision.labels != decision.request.labels {
        out.insert("labels".into(), json!(decision.labels));
    }
    if let Some(redacted) = &decision.redacted {
        let key = if decision.request.phase == Phase::Response {
            "output"
        } else {
            "args"
        };
        out.insert(key.into(), redacted.clone());
    }
    out.insert("steps".into(), json!(decision.steps));
    if let Some((seq, hash)) = audit {
        out.insert("audit".into(), json!({ "seq": seq, "hash": hash }));
    }
    Value::Object(out)
}

/// One human-readable line for a decision, e.g.
/// `DENY  send_money  billing-bot  step `payments`: amount over limit`.
pub fn decision_line(decision: &Decision) -> String {
    let verdict = match decision.verdict {
        crate::chain::Verdict::Allow => "ALLOW",
        crate::chain::Verdict::Deny => "DENY",
        crate::chain::Verdict::ElevationRequired => "ELEVATE",
    };
    let id = decision.request.id.as_deref().unwrap_or("-");
    format!(
        "{verdict:<7} {id:<10} {:<14} {:<14} {}",
        decision.request.principal.agent, decision.request.action.tool, decision.reason
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn masks_and_hashes_present_fields_only() {
        let masking = Masking {
            mask: vec!["/card".into(), "/absent".into()],
            hash: vec!["/to".into()],
        };
        let (args, touched) = masking.apply(&json!({"card": "4111", "to": "alice", "amount": 5}));
        assert_eq!(args["card"], "***");
        let expected = format!(
            "blake3:{}",
            crate::canonical::digest(&json!("alice")).to_hex()
        );
        assert_eq!(args["to"], json!(expected));
        assert_eq!(args["amount"], 5);
        assert_eq!(touched, vec!["/card".to_string(), "/to".to_string()]);
    }
}
