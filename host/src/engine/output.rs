//! What the host accepts back from a plugin. Anything larger or malformed is refused and
//! the step fails closed; nothing is silently cut.

use super::bindings::{Decision, Finding, Info, Inspection, Redaction, Verdict};

/// Most findings one call may return.
pub const MAX_FINDINGS: usize = 256;
/// Longest message, reason or replacement text, in bytes.
pub const MAX_TEXT: usize = 4096;
/// Longest identifier (rule id, label, scope, tool glob), in bytes.
pub const MAX_NAME: usize = 128;
/// Most labels, scopes or redactions in one output.
pub const MAX_ITEMS: usize = 64;
/// Longest JSON pointer, in bytes.
pub const MAX_POINTER: usize = 1024;

/// Checks a policy's decision.
pub(crate) fn check_decision(decision: &Decision) -> Result<(), String> {
    match &decision.verdict {
        Verdict::Deny(reason) => text("deny reason", reason)?,
        Verdict::Require(scopes) => {
            if scopes.is_empty() {
                return Err("require() names no scope".into());
            }
            names("required scopes", scopes)?;
        }
        Verdict::Allow | Verdict::Abstain => {}
    }
    findings(&decision.findings)?;
    names("labels", &decision.labels)
}

/// Checks an inspector's inspection.
pub(crate) fn check_inspection(inspection: &Inspection) -> Result<(), String> {
    findings(&inspection.findings)?;
    names("labels", &inspection.labels)?;
    redactions(&inspection.redactions)
}

/// Checks what `describe()` returned.
pub(crate) fn check_info(info: &Info) -> Result<(), String> {
    name("name", &info.name)?;
    if info.version.len() > MAX_NAME {
        return Err(format!(
            "version is {} bytes (limit {MAX_NAME})",
            info.version.len()
        ));
    }
    names("tools", &info.tools)
}

fn findings(findings: &[Finding]) -> Result<(), String> {
    if findings.len() > MAX_FINDINGS {
        return Err(format!(
            "{} findings (limit {MAX_FINDINGS})",
            findings.len()
        ));
    }
    for finding in findings {
        name("finding rule", &finding.rule)?;
        text("finding message", &finding.message)?;
        if let Some(location) = &finding.location {
            pointer("finding location", location)?;
        }
    }
    Ok(())
}

fn redactions(redactions: &[Redaction]) -> Result<(), String> {
    if redactions.len() > MAX_ITEMS {
        return Err(format!(
            "{} redactions (limit {MAX_ITEMS})",
            redactions.len()
        ));
    }
    for redaction in redactions {
        pointer("redaction location", &redaction.location)?;
        text("redaction replacement", &redaction.replacement)?;
        if let Some(find) = &redaction.find {
            if find.is_empty() {
                return Err("redaction `find` is empty".into());
            }
            text("redaction find", find)?;
        }
    }
    Ok(())
}

fn names(what: &str, items: &[String]) -> Result<(), String> {
    if items.len() > MAX_ITEMS {
        return Err(format!("{} {what} (limit {MAX_ITEMS})", items.len()));
    }
    items.iter().try_for_each(|item| name(what, item))
}

fn name(what: &str, value: &str) -> Result<(), String> {
    if value.is_empty() {
        return Err(format!("empty {what}"));
    }
    if value.len() > MAX_NAME {
        return Err(format!(
            "{what} is {} bytes (limit {MAX_NAME})",
            value.len()
        ));
    }
    if value.chars().any(char::is_control) {
        return Err(format!(
            "{what} `{}` contains control characters",
            value.escape_debug()
        ));
    }
    Ok(())
}

fn text(what: &str, value: &str) -> Result<(), String> {
    if value.len() > MAX_TEXT {
        return Err(format!(
            "{what} is {} bytes (limit {MAX_TEXT})",
            value.len()
        ));
    }
    Ok(())
}

/// A JSON pointer (RFC 6901): empty, or `/`-separated tokens where `~` only starts `~0`/`~1`.
fn pointer(what: &str, value: &str) -> Result<(), String> {
    if value.len() > MAX_POINTER {
        return Err(format!(
            "{what} is {} bytes (limit {MAX_POINTER})",
            value.len()
        ));
    }
    let valid = value.is_empty()
        || (value.starts_with('/') && {
            let mut chars = value.chars();
            let mut ok = true;
            while let Some(c) = chars.next() {
                if c == '~' && !matches!(chars.next(), Some('0' | '1')) {
                    ok = false;
                    break;
                }
            }
            ok
        });
    if valid {
        Ok(())
    } else {
        Err(format!(
            "{what} `{}` is not a JSON pointer",
            value.escape_debug()
        ))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::engine::bindings::Severity;

    fn finding(location: Option<&str>) -> Finding {
        Finding {
            rule: "r".into(),
            severity: Severity::High,
            message: "m".into(),
            location: location.map(Into::into),
        }
    }

    #[test]
    fn pointers_follow_rfc_6901() {
        for good in ["", "/", "/a", "/a/0", "/a~0b", "/a~1b"] {
            assert!(pointer("p", good).is_ok(), "{good}");
        }
        for bad in ["a", "not-a-pointer", "/a~", "/a~2"] {
            assert!(pointer("p", bad).is_err(), "{bad}");
        }
    }

    #[test]
    fn refuses_oversized_and_malformed_decisions() {
        let huge = Decision {
            verdict: Verdict::Deny("x".repeat(MAX_TEXT + 1)),
            findings: vec![],
            labels: vec![],
        };
        assert!(
            check_decision(&huge)
                .unwrap_err()
                .contains("deny reason is 4097 bytes")
        );
        let many = Decision {
            verdict: Verdict::Abstain,
            findings: vec![finding(None); MAX_FINDINGS + 1],
            labels: vec![],
        };
        assert!(check_decision(&many).unwrap_err().contains("257 findings"));
        let bad = Decision {
            verdict: Verdict::Abstain,
            findings: vec![finding(Some("nope"))],
            labels: vec![],
        };
        assert!(
            check_decision(&bad)
                .unwrap_err()
                .contains("`nope` is not a JSON pointer")
        );
        let empty = Decision {
            verdict: Verdict::Require(vec![]),
            findings: vec![],
            labels: vec![],
        };
        assert!(check_decision(&empty).is_err());
        let fine = Decision {
            verdict: Verdict::Allow,
            findings: vec![finding(Some("/cmd"))],
            labels: vec!["x".into()],
        };
        assert!(check_decision(&fine).is_ok());
    }
}
