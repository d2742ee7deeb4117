//! Decision records: what the audit log keeps of a decision, and what `lampart check` prints.
//!
//! An audit record holds the decision id and time, the request's own id and input digest,
//! the principal, tool, phase and arguments (after redaction, with the configured fields
//! masked or hashed), the grants and labels, every step (plugin digest, mode, instance,
//! verdict, findings, fuel, wall time, error), the final verdict and reason, and the chain
//! revision. The audit log adds `seq`, `prev` and `hash`.

use std::path::{Path, PathBuf};

use serde_json::{Map, Value, json};

use crate::chain::Decision;
use crate::config::JsonPointer;
use crate::request::Phase;

/// The secret that keys the digests in audit records (`input_digest`, `output_digest` and
/// `hash` fields), so that a value cannot be recovered from its digest by trying candidates:
/// without the key, a digest of a PIN or a card number tells nothing. An auditor who holds
/// the key can still check that a record holds a given value.
///
/// The key is 32 random bytes in a file of its own, created on first use, readable only by
/// its owner. Keep it out of what is shipped to log collectors.
#[derive(Clone)]
pub struct AuditKey([u8; 32]);

/// Why the audit key file cannot be used.
#[derive(Debug, thiserror::Error)]
#[error("audit key file `{}`: {message}", path.display())]
pub struct AuditKeyError {
    /// The file.
    pub path: PathBuf,
    /// What is wrong.
    pub message: String,
}

impl AuditKey {
    /// A key from its bytes.
    pub fn from_bytes(bytes: [u8; 32]) -> AuditKey {
        AuditKey(bytes)
    }

    /// Reads the key at `path`, or creates it (32 random bytes, mode 0600) if it does not
    /// exist. A key file that is a symbolic link, not a regular file of exactly 32 bytes,
    /// owned by another user, or readable or writable by others is refused: whoever could
    /// plant or read the key could match masked values.
    pub fn load_or_create(path: &Path) -> Result<AuditKey, AuditKeyError> {
        use std::io::{Read, Write};

        use crate::private_dir::{Access, open_file};
        let failed = |message: String| AuditKeyError {
            path: path.to_path_buf(),
            message,
        };
        let mut read = std::fs::OpenOptions::new();
        read.read(true);
        match open_file(path, &mut read, Access::Own) {
            Ok((mut file, meta)) => {
                if meta.len() != 32 {
                    return Err(failed("must hold exactly 32 bytes".into()));
                }
                #[cfg(unix)]
                {
                    use std::os::unix::fs::PermissionsExt;
                    let mode = meta.permissions().mode() & 0o777;
                    if mode & 0o077 != 0 {
                        return Err(failed(format!(
                            "can be read or written by other users (mode {mode:o}); it must be 0600"
                        )));
                    }
                }
                let mut key = [0u8; 32];
                file.read_exact(&mut key)
                    .map_err(|e| failed(e.to_string()))?;
                Ok(AuditKey(key))
            }
            Err(e) if e.is_not_found() => {
                let mut key = [0u8; 32];
                getrandom::fill(&mut key).map_err(|e| failed(e.to_string()))?;
                let mut create = std::fs::OpenOptions::new();
                create.write(true).create_new(true);
                let (mut file, _) =
                    open_file(path, &mut create, Access::Own).map_err(|e| failed(e.to_string()))?;
                file.write_all(&key)
                    .and_then(|()| file.sync_all())
                    .map_err(|e| failed(e.to_string()))?;
                Ok(AuditKey(key))
            }
            Err(e) => Err(failed(e.to_string())),
        }
    }

    /// `keyed-blake3:<hex>` of a JSON value's canonical form.
    pub fn digest(&self, value: &Value) -> String {
        let mut bytes = Vec::new();
        crate::canonical::write_canonical(value, &mut bytes);
        format!(
            "keyed-blake3:{}",
            blake3::keyed_hash(&self.0, &bytes).to_hex()
        )
    }
}

impl std::fmt::Debug for AuditKey {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("AuditKey(..)")
    }
}

/// What the audit log must not reveal of a request's arguments: fields replaced by `"***"`
/// (`mask`) or by their keyed digest (`hash`), and the key of every digest in the record.
/// A masked or hashed value is also scrubbed from every message in the record (a plugin's
/// deny reason or finding that quotes it).
#[derive(Debug, Clone)]
pub struct Masking {
    /// JSON pointers whose values are replaced by `"***"`.
    pub mask: Vec<JsonPointer>,
    /// JSON pointers whose values are replaced by `"keyed-blake3:<hex>"` of their canonical
    /// JSON, so equal values can still be matched across records.
    pub hash: Vec<JsonPointer>,
    /// The key of every digest in the record.
    pub key: AuditKey,
}

/// The shortest value scrubbed from messages: shorter ones would blank out ordinary words.
const MIN_SCRUBBED: usize = 3;

impl Masking {
    /// No masked fields, with `key` for the digests.
    pub fn none(key: AuditKey) -> Masking {
        Masking {
            mask: Vec::new(),
            hash: Vec::new(),
            key,
        }
    }

    /// Applies the masks to a copy of `args`; returns it, the pointers that were present and
    /// the texts that must not appear anywhere else in the record.
    pub fn apply(&self, args: &Value) -> (Value, Vec<String>, Vec<String>) {
        let mut args = args.clone();
        let mut touched = Vec::new();
        let mut secrets = Vec::new();
        for (pointer, hashed) in self
            .mask
            .iter()
            .map(|p| (p, false))
            .chain(self.hash.iter().map(|p| (p, true)))
        {
            if let Some(slot) = args.pointer_mut(pointer.as_str()) {
                secrets_of(slot, &mut secrets);
                *slot = if hashed {
                    Value::String(self.key.digest(slot))
                } else {
                    Value::String("***".into())
                };
                touched.push(pointer.to_string());
            }
        }
        secrets.sort_by_key(|s| std::cmp::Reverse(s.len()));
        secrets.dedup();
        (args, touched, secrets)
    }
}

/// Every text by which a masked value could show up in a message: strings as they are and
/// as JSON would quote them, other scalars as JSON, and the parts of arrays and objects.
fn secrets_of(value: &Value, out: &mut Vec<String>) {
    match value {
        Value::String(text) => {
            out.push(text.clone());
            let quoted = Value::String(text.clone()).to_string();
            out.push(quoted[1..quoted.len() - 1].to_owned());
        }
        Value::Array(items) => items.iter().for_each(|item| secrets_of(item, out)),
        Value::Object(map) => map.values().for_each(|item| secrets_of(item, out)),
        Value::Null | Value::Bool(_) => {}
        Value::Number(n) => out.push(n.to_string()),
    }
    out.retain(|s| s.len() >= MIN_SCRUBBED);
}

/// Replaces every occurrence of a secret in `text` by `***`.
fn scrub(text: &mut String, secrets: &[String]) {
    for secret in secrets {
        if text.contains(secret.as_str()) {
            *text = text.replace(secret.as_str(), "***");
        }
    }
}

/// The audit record of a decision (without `seq`, `prev` and `hash`).
pub fn audit_record(decision: &Decision, masking: &Masking) -> Map<String, Value> {
    let request = &decision.request;
    let args = match (&decision.redacted, request.phase) {
        (Some(redacted), Phase::Request | Phase::Elevation) => redacted,
        _ => &request.action.args,
    };
    let (args, masked, secrets) = masking.apply(args);
    let mut record = Map::new();
    record.insert("type".into(), json!("decision"));
    record.insert("id".into(), json!(decision.id));
    record.insert(
        "time".into(),
        json!(humantime::format_rfc3339_micros(decision.time).to_string()),
    );
    record.insert("request_id".into(), json!(request.id));
    // Keyed, so that a masked value cannot be found by hashing candidate requests.
    let request_value = serde_json::to_value(request).unwrap_or(Value::Null);
    record.insert(
        "input_digest".into(),
        json!(masking.key.digest(&request_value)),
    );
    record.insert("phase".into(), json!(request.phase));
    record.insert("principal".into(), json!(request.principal));
    record.insert("tool".into(), json!(request.action.tool));
    record.insert("resource".into(), json!(request.action.resource));
    record.insert("args".into(), args);
    if !masked.is_empty() {
        record.insert("masked".into(), json!(masked));
    }
    if let Some(output) = &request.output {
        let output = serde_json::to_value(output).unwrap_or(Value::Null);
        record.insert("output_digest".into(), json!(masking.key.digest(&output)));
    }
    record.insert("redacted".into(), json!(decision.redacted.is_some()));
    record.insert("grants".into(), json!(request.grants));
    record.insert("labels".into(), json!(decision.labels));
    record.insert("verdict".into(), json!(decision.verdict));
    record.insert("reason".into(), json!(decision.reason));
    record.insert("findings".into(), json!(decision.findings));
    record.insert("steps".into(), json!(decision.steps));
    record.insert("chain".into(), json!(decision.chain));
    record.insert("revision".into(), json!(decision.revision));
    if !secrets.is_empty() {
        // A plugin may quote a masked value anywhere it writes text (a reason, a finding, a
        // label), and the same value may sit in another argument: scrub it everywhere.
        for (key, value) in record.iter_mut() {
            if !matches!(key.as_str(), "id" | "time") {
                scrub_value(value, &secrets);
            }
        }
    }
    record
}

/// Scrubs every string (and every number equal to a secret) in `value`, leaving digests
/// (`blake3:<hex>`, `keyed-blake3:<hex>`) alone: their hex digits are not content.
fn scrub_value(value: &mut Value, secrets: &[String]) {
    match value {
        Value::String(text) => {
            let digest = text
                .strip_prefix("blake3:")
                .or_else(|| text.strip_prefix("keyed-blake3:"))
                .is_some_and(|hex| hex.len() == 64 && hex.bytes().all(|b| b.is_ascii_hexdigit()));
            if !digest {
                scrub(text, secrets);
            }
        }
        Value::Number(number) => {
            let text = number.to_string();
            if secrets.contains(&text) {
                *value = Value::String("***".into());
            }
        }
        Value::Array(items) => items.iter_mut().for_each(|item| scrub_value(item, secrets)),
        Value::Object(map) => map.values_mut().for_each(|item| scrub_value(item, secrets)),
        Value::Null | Value::Bool(_) => {}
    }
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
    out.insert("explanation".into(), json!(decision.reason.to_string()));
    if !decision.missing_scopes().is_empty() {
        out.insert("missing_scopes".into(), json!(decision.missing_scopes()));
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

#[cfg(test)]
mod tests {
    use super::*;

    fn pointer(text: &str) -> JsonPointer {
        JsonPointer::try_from(text.to_string()).unwrap()
    }

    fn masking() -> Masking {
        Masking {
            mask: vec![pointer("/card"), pointer("/absent")],
            hash: vec![pointer("/to")],
            key: AuditKey::from_bytes([7; 32]),
        }
    }

    #[test]
    fn masks_and_hashes_present_fields_only_with_a_keyed_digest() {
        let masking = masking();
        let (args, touched, secrets) =
            masking.apply(&json!({"card": "4111", "to": "alice", "amount": 5}));
        assert_eq!(args["card"], "***");
        let unkeyed = format!(
            "blake3:{}",
            crate::canonical::digest(&json!("alice")).to_hex()
        );
        assert_ne!(args["to"], json!(unkeyed));
        assert_eq!(args["to"], json!(masking.key.digest(&json!("alice"))));
        assert_ne!(
            args["to"],
            json!(AuditKey::from_bytes([8; 32]).digest(&json!("alice")))
        );
        assert_eq!(args["amount"], 5);
        assert_eq!(touched, vec!["/card".to_string(), "/to".to_string()]);
        assert!(secrets.contains(&"4111".to_string()) && secrets.contains(&"alice".to_string()));
    }

    #[test]
    fn scrubs_secrets_in_any_form() {
        let mut secrets = Vec::new();
        secrets_of(
            &json!({"a": "say \"hi\"", "n": 123456, "x": ["pw1"], "short": "ab"}),
            &mut secrets,
        );
        let mut text = r#"got say "hi" and say \"hi\" and 123456 and pw1 and ab"#.to_string();
        scrub(&mut text, &secrets);
        assert_eq!(text, "got *** and *** and *** and *** and ab");
    }

    #[test]
    fn the_key_file_is_created_private_and_refused_when_readable_by_others() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("audit.key");
        let key = AuditKey::load_or_create(&path).unwrap();
        let again = AuditKey::load_or_create(&path).unwrap();
        assert_eq!(key.0, again.0);
        #[cfg(unix)]
        {
            use std::os::unix::fs::PermissionsExt;
            let mode = std::fs::metadata(&path).unwrap().permissions().mode() & 0o777;
            assert_eq!(mode, 0o600);
            std::fs::set_permissions(&path, std::fs::Permissions::from_mode(0o644)).unwrap();
            let err = AuditKey::load_or_create(&path).unwrap_err().to_string();
            assert!(err.contains("mode 644"), "{err}");
            let link = dir.path().join("link.key");
            std::os::unix::fs::symlink(&path, &link).unwrap();
            assert!(AuditKey::load_or_create(&link).is_err());
            // A key planted by another user is refused (only root can plant one here).
            if crate::private_dir::current_uid() == 0 {
                let planted = dir.path().join("planted.key");
                std::fs::write(&planted, [1u8; 32]).unwrap();
                std::fs::set_permissions(&planted, std::fs::Permissions::from_mode(0o600)).unwrap();
                std::os::unix::fs::chown(&planted, Some(65534), Some(65534)).unwrap();
                let err = AuditKey::load_or_create(&planted).unwrap_err().to_string();
                assert!(err.contains("owned by uid 65534"), "{err}");
            }
        }
    }
}
