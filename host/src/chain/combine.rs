//! Verdict combination: deny overrides; a finding at or above `deny-at` denies; required
//! scopes not held give `elevation-required`; an allow allows; otherwise the chain default.
//! Monitor steps never count. A failed enforcing step denies (fail closed).

use std::collections::BTreeSet;

use crate::config::{DefaultVerdict, Mode, Threshold};

use crate::engine::FailureKind;

use super::decision::{Finding, Reason, Severity, StepRecord, StepVerdict, Verdict};

/// The final verdict and why.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Outcome {
    /// The verdict.
    pub verdict: Verdict,
    /// Why, as data.
    pub reason: Reason,
}

/// True if a finding of this severity meets the threshold; info findings never do.
pub fn meets(severity: Severity, threshold: Threshold) -> bool {
    let rank = match severity {
        Severity::Info => return false,
        Severity::Low => Threshold::Low,
        Severity::Medium => Threshold::Medium,
        Severity::High => Threshold::High,
        Severity::Critical => Threshold::Critical,
    };
    threshold != Threshold::Never && rank >= threshold
}

/// Combines the steps of one decision.
pub fn combine(
    steps: &[StepRecord],
    findings: &[Finding],
    grants: &[String],
    default: DefaultVerdict,
    deny_at: Threshold,
) -> Outcome {
    let deny = |reason: Reason| Outcome {
        verdict: Verdict::Deny,
        reason,
    };
    let enforcing = || steps.iter().filter(|step| step.mode == Mode::Enforce);

    for step in enforcing() {
        match &step.verdict {
            StepVerdict::Failed => {
                let (failure, message) = step.error.as_ref().map_or_else(
                    || (FailureKind::Trap, String::new()),
                    |e| (e.kind, e.message.clone()),
                );
                return deny(Reason::StepFailed {
                    step: step.name.clone(),
                    failure,
                    message,
                });
            }
            StepVerdict::Deny(message) => {
                return deny(Reason::StepDenied {
                    step: step.name.clone(),
                    message: message.clone(),
                });
            }
            _ => {}
        }
    }
    if let Some(worst) = findings
        .iter()
        .filter(|finding| meets(finding.severity, deny_at))
        .max_by_key(|finding| finding.severity)
    {
        return deny(Reason::Finding {
            step: worst.step.clone(),
            rule: worst.rule.clone(),
            severity: worst.severity,
            message: worst.message.clone(),
        });
    }

    let held: BTreeSet<&str> = grants.iter().map(String::as_str).collect();
    let mut missing = BTreeSet::new();
    let mut allowed_by = None;
    for step in enforcing() {
        match &step.verdict {
            StepVerdict::Require(scopes) => {
                let lacking: Vec<&String> = scopes
                    .iter()
                    .filter(|s| !held.contains(s.as_str()))
                    .collect();
                if lacking.is_empty() {
                    allowed_by.get_or_insert(step.name.as_str());
                }
                missing.extend(lacking.into_iter().cloned());
            }
            StepVerdict::Allow => {
                allowed_by.get_or_insert(step.name.as_str());
            }
            _ => {}
        }
    }
    if !missing.is_empty() {
        return Outcome {
            verdict: Verdict::ElevationRequired,
            reason: Reason::MissingScopes {
                scopes: missing.into_iter().collect(),
            },
        };
    }
    match (allowed_by, default) {
        (Some(step), _) => Outcome {
            verdict: Verdict::Allow,
            reason: Reason::AllowedBy {
                step: step.to_owned(),
            },
        },
        (None, DefaultVerdict::Allow) => Outcome {
            verdict: Verdict::Allow,
            reason: Reason::ChainDefault { default },
        },
        (None, DefaultVerdict::Deny) => deny(Reason::ChainDefault { default }),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::chain::decision::StepError;
    use crate::engine::Kind;

    fn step(name: &str, mode: Mode, verdict: StepVerdict) -> StepRecord {
        StepRecord {
            name: name.into(),
            plugin: crate::digest::Digest::of(b"plugin"),
            signed_by: Vec::new(),
            kind: Kind::Policy,
            mode,
            instance: crate::engine::InstanceMode::Fresh,
            error: matches!(verdict, StepVerdict::Failed).then(|| StepError {
                kind: FailureKind::Fuel,
                message: "fuel limit exhausted".into(),
            }),
            verdict,
            findings: vec![],
            labels: vec![],
            redactions: 0,
            fuel: Some(0),
            micros: 0,
        }
    }

    fn finding(severity: Severity) -> Finding {
        Finding {
            step: "insp".into(),
            rule: "r".into(),
            severity,
            message: "m".into(),
            location: None,
        }
    }

    fn run(steps: &[StepRecord], findings: &[Finding], grants: &[&str]) -> Outcome {
        let grants: Vec<String> = grants.iter().map(|g| g.to_string()).collect();
        combine(
            steps,
            findings,
            &grants,
            DefaultVerdict::Deny,
            Threshold::High,
        )
    }

    use StepVerdict::*;

    #[test]
    fn deny_overrides_allow() {
        let out = run(
            &[
                step("a", Mode::Enforce, Allow),
                step("b", Mode::Enforce, Deny("no".into())),
            ],
            &[],
            &[],
        );
        assert_eq!(out.verdict, Verdict::Deny);
        assert_eq!(out.reason.to_string(), "step `b`: no");
    }

    #[test]
    fn a_failed_step_denies_with_its_cause() {
        let out = run(
            &[
                step("a", Mode::Enforce, Allow),
                step("b", Mode::Enforce, Failed),
            ],
            &[],
            &[],
        );
        assert_eq!(out.verdict, Verdict::Deny);
        assert_eq!(
            out.reason,
            Reason::StepFailed {
                step: "b".into(),
                failure: FailureKind::Fuel,
                message: "fuel limit exhausted".into()
            }
        );
        assert_eq!(
            out.reason.to_string(),
            "step `b` failed (fuel: fuel limit exhausted)"
        );
    }

    #[test]
    fn monitor_steps_never_count() {
        let out = run(
            &[
                step("m", Mode::Monitor, Deny("x".into())),
                step("f", Mode::Monitor, Failed),
            ],
            &[],
            &[],
        );
        assert_eq!(out.verdict, Verdict::Deny);
        assert_eq!(
            out.reason,
            Reason::ChainDefault {
                default: DefaultVerdict::Deny
            }
        );
        let out = run(
            &[
                step("m", Mode::Monitor, Deny("x".into())),
                step("a", Mode::Enforce, Allow),
            ],
            &[],
            &[],
        );
        assert_eq!(out.verdict, Verdict::Allow);
    }

    #[test]
    fn missing_scopes_need_elevation_and_held_scopes_allow() {
        let steps = [step(
            "p",
            Mode::Enforce,
            Require(vec!["pay:large".into(), "pay:any".into()]),
        )];
        let out = run(&steps, &[], &["pay:any"]);
        assert_eq!(out.verdict, Verdict::ElevationRequired);
        assert_eq!(out.reason.missing_scopes(), ["pay:large".to_string()]);
        let out = run(&steps, &[], &["pay:any", "pay:large"]);
        assert_eq!(out.verdict, Verdict::Allow);
    }

    #[test]
    fn findings_at_deny_at_deny_and_below_do_not() {
        let steps = [step("a", Mode::Enforce, Allow)];
        assert_eq!(
            run(&steps, &[finding(Severity::High)], &[]).verdict,
            Verdict::Deny
        );
        assert_eq!(
            run(&steps, &[finding(Severity::Medium)], &[]).verdict,
            Verdict::Allow
        );
        let never = combine(
            &steps,
            &[finding(Severity::Critical)],
            &[],
            DefaultVerdict::Deny,
            Threshold::Never,
        );
        assert_eq!(never.verdict, Verdict::Allow);
    }

    #[test]
    fn all_abstain_falls_to_the_default() {
        let steps = [step("a", Mode::Enforce, Abstain)];
        assert_eq!(run(&steps, &[], &[]).verdict, Verdict::Deny);
        let out = combine(&steps, &[], &[], DefaultVerdict::Allow, Threshold::High);
        assert_eq!(out.verdict, Verdict::Allow);
    }
}
