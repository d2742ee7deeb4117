//! What a case expects of its decision, and how a decision is held against it.
//!
//! Every field given is compared; fields left out are not. Lists of labels and scopes are
//! compared as sets (order and repeats do not matter); `findings` names rules that must be
//! reported (`findings = []`: none may be), and `findings-exactly = true` adds that no other
//! rule may be. A step that failed is a mismatch unless the case gives a `reason`, which then
//! must be in the failure's explanation.

use std::collections::BTreeSet;

use lampart::chain::{Decision, Verdict};
use serde::{Deserialize, Deserializer};
use serde_json::Value;

/// A case's `expect` table.
#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields, rename_all = "kebab-case")]
pub struct Expect {
    /// The verdict.
    #[serde(default)]
    pub verdict: Option<ExpectedVerdict>,
    /// Rules the decision's findings must include.
    #[serde(default)]
    pub findings: Option<Vec<String>>,
    /// The decision reports the rules of `findings` and no others (none at all when
    /// `findings` is left out).
    #[serde(default)]
    pub findings_exactly: bool,
    /// Every label the decision adds to the request's own.
    #[serde(default)]
    pub labels: Option<Vec<String>>,
    /// Every scope the principal lacks (the `missing_scopes` of `elevation-required`).
    #[serde(default)]
    pub scopes: Option<Vec<String>>,
    /// Text the verdict's explanation must contain.
    #[serde(default)]
    pub reason: Option<String>,
    /// The arguments (request and elevation phases) or the tool's output (response phase)
    /// after redaction, as `lampart check` prints them in `args` or `output`.
    #[serde(default, deserialize_with = "given")]
    pub redacted: Option<Value>,
}

/// A verdict as `lampart check` spells it.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum ExpectedVerdict {
    /// `allow`.
    Allow,
    /// `deny`.
    Deny,
    /// `elevation-required`.
    ElevationRequired,
}

impl ExpectedVerdict {
    fn verdict(self) -> Verdict {
        match self {
            ExpectedVerdict::Allow => Verdict::Allow,
            ExpectedVerdict::Deny => Verdict::Deny,
            ExpectedVerdict::ElevationRequired => Verdict::ElevationRequired,
        }
    }
}

/// A value that is given, JSON `null` included (which `Option` alone would read as absent).
fn given<'de, D: Deserializer<'de>>(deserializer: D) -> Result<Option<Value>, D::Error> {
    Value::deserialize(deserializer).map(Some)
}

impl Expect {
    /// Reads an `expect` value, refusing unknown fields and an `expect` that asserts nothing.
    ///
    /// # Errors
    ///
    /// One line starting with `` `expect`: ``.
    pub fn from_value(value: Value) -> Result<Expect, String> {
        let expect: Expect = serde_json::from_value(value)
            .map_err(|e| format!("`expect`: {}", lampart::text::escape(&e.to_string())))?;
        let asserts = expect.verdict.is_some()
            || expect.findings.is_some()
            || expect.findings_exactly
            || expect.labels.is_some()
            || expect.scopes.is_some()
            || expect.reason.is_some()
            || expect.redacted.is_some();
        if !asserts {
            return Err("`expect` asserts nothing: give at least one of `verdict`, `findings`, `findings-exactly`, `labels`, `scopes`, `reason`, `redacted`".into());
        }
        if expect.reason.as_deref() == Some("") {
            return Err("`expect`: `reason` is empty, which every reason contains; give the text to look for".into());
        }
        Ok(expect)
    }

    /// Everything in which `decision` differs from what is expected, one phrase each; empty
    /// when it is as expected. Phrases quote plugins' text unescaped.
    pub fn mismatches(&self, decision: &Decision) -> Vec<String> {
        let mut found = Vec::new();
        let explanation = decision.reason.to_string();
        if let Some(verdict) = self.verdict.map(ExpectedVerdict::verdict)
            && verdict != decision.verdict
        {
            found.push(format!(
                "expected verdict {}, got {} ({explanation})",
                verdict.as_str(),
                decision.verdict.as_str()
            ));
        }
        // A step that failed (a trap, fuel, memory, the deadline) decides `deny` whatever it
        // was meant to say: a case passes over it only when its `reason` names the failure.
        if self.reason.is_none() {
            for step in &decision.steps {
                if let Some(error) = &step.error {
                    found.push(format!(
                        "step `{}` failed ({}: {}); give `reason` to expect a failure",
                        step.name,
                        error.kind.as_str(),
                        error.message
                    ));
                }
            }
        }
        let rules: BTreeSet<&str> = decision.findings.iter().map(|f| f.rule.as_str()).collect();
        let wanted: BTreeSet<&str> = self.findings.iter().flatten().map(String::as_str).collect();
        found.extend(
            wanted
                .difference(&rules)
                .map(|rule| format!("missing finding {rule}")),
        );
        // `findings = []` asserts that nothing was found, as `findings-exactly` alone does.
        if self.findings_exactly || self.findings.as_ref().is_some_and(Vec::is_empty) {
            found.extend(
                rules
                    .difference(&wanted)
                    .map(|rule| format!("unexpected finding {rule}")),
            );
        }
        if let Some(labels) = &self.labels {
            let added = decision
                .labels
                .iter()
                .filter(|label| !decision.request.labels.contains(label));
            compare_sets("labels added", labels.iter(), added, &mut found);
        }
        if let Some(scopes) = &self.scopes {
            let missing = decision.missing_scopes().iter();
            compare_sets("missing scopes", scopes.iter(), missing, &mut found);
        }
        if let Some(reason) = &self.reason
            && !explanation.contains(reason.as_str())
        {
            found.push(format!(
                "expected a reason containing {}, got {}",
                Value::from(reason.as_str()),
                Value::from(explanation.as_str())
            ));
        }
        if let Some(redacted) = &self.redacted
            && decision.redacted.as_ref() != Some(redacted)
        {
            found.push(format!(
                "expected redacted {redacted}, got {}",
                decision
                    .redacted
                    .as_ref()
                    .map_or_else(|| "nothing redacted".to_string(), Value::to_string)
            ));
        }
        found
    }
}

/// Compares two lists as sets, naming what is expected and what was got when they differ.
fn compare_sets<'a>(
    what: &str,
    expected: impl Iterator<Item = &'a String>,
    got: impl Iterator<Item = &'a String>,
    found: &mut Vec<String>,
) {
    let expected: BTreeSet<&str> = expected.map(String::as_str).collect();
    let got: BTreeSet<&str> = got.map(String::as_str).collect();
    if expected != got {
        found.push(format!(
            "expected {what} {}, got {}",
            list(&expected),
            list(&got)
        ));
    }
}

fn list(items: &BTreeSet<&str>) -> String {
    if items.is_empty() {
        "none".into()
    } else {
        items.iter().copied().collect::<Vec<_>>().join(", ")
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    use lampart::chain::{Finding, Reason, Severity};
    use lampart::digest::Digest;
    use serde_json::json;

    fn decision(verdict: Verdict, reason: Reason) -> Decision {
        let request = serde_json::from_value(json!({
            "principal": {"agent": "a"}, "action": {"tool": "t"}, "labels": ["old"]
        }))
        .unwrap();
        Decision {
            id: "d".into(),
            time: std::time::SystemTime::UNIX_EPOCH,
            request,
            verdict,
            reason,
            findings: vec![Finding {
                step: "s".into(),
                rule: "r.one".into(),
                severity: Severity::High,
                message: "m".into(),
                location: None,
            }],
            labels: vec!["old".into(), "new".into()],
            redacted: Some(json!({"cmd": "[REDACTED]"})),
            steps: Vec::new(),
            revision: Digest::of(b""),
            chain: None,
        }
    }

    fn expect(value: Value) -> Expect {
        Expect::from_value(value).unwrap()
    }

    #[test]
    fn a_decision_as_expected_has_no_mismatch() {
        let d = decision(
            Verdict::ElevationRequired,
            Reason::MissingScopes {
                scopes: vec!["b".into(), "a".into()],
            },
        );
        let e = expect(json!({
            "verdict": "elevation-required", "findings": ["r.one"], "findings-exactly": true,
            "labels": ["new"], "scopes": ["a", "b"], "reason": "does not hold",
            "redacted": {"cmd": "[REDACTED]"}
        }));
        assert_eq!(e.mismatches(&d), Vec::<String>::new());
    }

    #[test]
    fn every_difference_is_named() {
        let d = decision(
            Verdict::Allow,
            Reason::AllowedBy {
                step: "rules".into(),
            },
        );
        let e = expect(json!({
            "verdict": "deny", "findings": ["r.two"], "findings-exactly": true,
            "labels": [], "scopes": ["x"], "reason": "nope", "redacted": null
        }));
        assert_eq!(
            e.mismatches(&d),
            vec![
                "expected verdict deny, got allow (allowed by step `rules`)",
                "missing finding r.two",
                "unexpected finding r.one",
                "expected labels added none, got new",
                "expected missing scopes x, got none",
                "expected a reason containing \"nope\", got \"allowed by step `rules`\"",
                "expected redacted null, got {\"cmd\":\"[REDACTED]\"}",
            ]
        );
    }

    #[test]
    fn unknown_fields_and_empty_expectations_are_refused() {
        let err = Expect::from_value(json!({"verdit": "allow"})).unwrap_err();
        assert!(
            err.starts_with("`expect`: unknown field `verdit`, expected one of"),
            "{err}"
        );
        let err = Expect::from_value(json!({"verdict": "maybe"})).unwrap_err();
        assert!(err.contains("unknown variant `maybe`"), "{err}");
        let err = Expect::from_value(json!({})).unwrap_err();
        assert!(err.contains("asserts nothing"), "{err}");
        assert!(Expect::from_value(json!({"findings-exactly": true})).is_ok());
    }
}
