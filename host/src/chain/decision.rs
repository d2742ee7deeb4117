//! What a chain decided, step by step: the data behind CLI output and audit records.

use std::time::SystemTime;

use serde::Serialize;
use serde_json::Value;

use crate::config::{DefaultVerdict, Mode};
use crate::digest::Digest;
use crate::engine::bindings;
use crate::engine::{FailureKind, InstanceMode, Kind};
use crate::request::Request;

/// The chain's final answer.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "kebab-case")]
pub enum Verdict {
    /// The action may go ahead.
    Allow,
    /// The action must not go ahead.
    Deny,
    /// The action may go ahead once the principal holds the missing scopes.
    ElevationRequired,
}

impl Verdict {
    /// The verdict's name in output and records.
    pub fn as_str(self) -> &'static str {
        match self {
            Verdict::Allow => "allow",
            Verdict::Deny => "deny",
            Verdict::ElevationRequired => "elevation-required",
        }
    }
}

/// How serious a finding is; ordered.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum Severity {
    /// Worth recording.
    Info,
    /// Unusual.
    Low,
    /// Suspicious.
    Medium,
    /// Probably harmful.
    High,
    /// Harmful.
    Critical,
}

impl From<bindings::Severity> for Severity {
    fn from(severity: bindings::Severity) -> Self {
        match severity {
            bindings::Severity::Info => Severity::Info,
            bindings::Severity::Low => Severity::Low,
            bindings::Severity::Medium => Severity::Medium,
            bindings::Severity::High => Severity::High,
            bindings::Severity::Critical => Severity::Critical,
        }
    }
}

impl Severity {
    /// The severity's name.
    pub fn as_str(self) -> &'static str {
        match self {
            Severity::Info => "info",
            Severity::Low => "low",
            Severity::Medium => "medium",
            Severity::High => "high",
            Severity::Critical => "critical",
        }
    }
}

/// A finding, with the step that reported it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Finding {
    /// The step's name.
    pub step: String,
    /// The rule that fired.
    pub rule: String,
    /// How serious it is.
    pub severity: Severity,
    /// One line for a human.
    pub message: String,
    /// A JSON pointer into the arguments or output.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub location: Option<String>,
}

impl Finding {
    /// Records a plugin's finding under its step's name.
    pub fn from_plugin(step: &str, finding: &bindings::Finding) -> Finding {
        Finding {
            step: step.to_string(),
            rule: finding.rule.clone(),
            severity: finding.severity.into(),
            message: finding.message.clone(),
            location: finding.location.clone(),
        }
    }
}

/// What one step answered.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(rename_all = "kebab-case", tag = "verdict", content = "detail")]
pub enum StepVerdict {
    /// The policy allowed.
    Allow,
    /// The policy denied, with its reason.
    Deny(String),
    /// The policy requires these scopes.
    Require(Vec<String>),
    /// The policy abstained.
    Abstain,
    /// The inspector ran (its findings are alongside).
    Inspected,
    /// The plugin failed; see `error`.
    Failed,
}

/// Why a step failed.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct StepError {
    /// The class of failure.
    pub kind: FailureKind,
    /// One line of detail.
    pub message: String,
}

impl Serialize for FailureKind {
    fn serialize<S: serde::Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        serializer.serialize_str(self.as_str())
    }
}

/// One step of one decision.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct StepRecord {
    /// The step's name.
    pub name: String,
    /// The digest of the plugin that ran.
    pub plugin: Digest,
    /// The trusted signers that vouched for the plugin, when the chain required signatures.
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub signed_by: Vec<String>,
    /// Policy or inspector.
    pub kind: Kind,
    /// Enforce or monitor.
    pub mode: Mode,
    /// `fresh` (a new instance for this call) or `warm` (a reused one).
    pub instance: InstanceMode,
    /// What the step answered.
    #[serde(flatten)]
    pub verdict: StepVerdict,
    /// What it found.
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub findings: Vec<Finding>,
    /// Labels it added.
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub labels: Vec<String>,
    /// How many redactions it asked for.
    #[serde(skip_serializing_if = "is_zero")]
    pub redactions: usize,
    /// Fuel consumed; `null` when the wall-clock deadline stopped the plugin, since the count
    /// is not known then.
    pub fuel: Option<u64>,
    /// Wall time, microseconds.
    pub micros: u64,
    /// Why it failed, when it did.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub error: Option<StepError>,
}

/// Why the chain reached its verdict: facts, from which the text is rendered (by
/// [`Display`](std::fmt::Display)) where a person reads it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(tag = "kind", rename_all = "kebab-case")]
pub enum Reason {
    /// An enforcing step failed, so the chain denied (fail closed).
    StepFailed {
        /// The step.
        step: String,
        /// The class of failure.
        failure: FailureKind,
        /// One line of detail.
        message: String,
    },
    /// An enforcing policy denied.
    StepDenied {
        /// The step.
        step: String,
        /// The policy's own reason.
        message: String,
    },
    /// An enforcing step reported a finding at or above the chain's `deny-at`.
    Finding {
        /// The step that reported it.
        step: String,
        /// The rule that fired.
        rule: String,
        /// Its severity.
        severity: Severity,
        /// The finding's message.
        message: String,
    },
    /// Enforcing policies require scopes the principal does not hold.
    MissingScopes {
        /// The scopes lacking, sorted.
        scopes: Vec<String>,
    },
    /// An enforcing policy allowed (or required only scopes the principal holds).
    AllowedBy {
        /// The first step that allowed.
        step: String,
    },
    /// No enforcing policy decided; the chain's default applied.
    ChainDefault {
        /// The default.
        default: DefaultVerdict,
    },
    /// The agent is quarantined: the chain did not run.
    Quarantined {
        /// Who quarantined it: an operator's credential or `detector:<name>`.
        by: String,
        /// Why.
        reason: String,
    },
}

impl std::fmt::Display for Reason {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Reason::StepFailed {
                step,
                failure,
                message,
            } => write!(f, "step `{step}` failed ({}: {message})", failure.as_str()),
            Reason::StepDenied { step, message } => write!(f, "step `{step}`: {message}"),
            Reason::Finding {
                step,
                rule,
                severity,
                message,
            } => write!(
                f,
                "finding `{rule}` ({}) from step `{step}`: {message}",
                severity.as_str()
            ),
            Reason::MissingScopes { scopes } => write!(
                f,
                "needs scopes the principal does not hold: {}",
                scopes.join(", ")
            ),
            Reason::AllowedBy { step } => write!(f, "allowed by step `{step}`"),
            Reason::Quarantined { by, reason } => write!(
                f,
                "the agent is quarantined ({by}: {reason}); an operator must release it"
            ),
            Reason::ChainDefault {
                default: DefaultVerdict::Deny,
            } => f.write_str("no policy allowed this action; the chain default is deny"),
            Reason::ChainDefault {
                default: DefaultVerdict::Allow,
            } => f.write_str("no policy decided; the chain default is allow"),
        }
    }
}

impl Reason {
    /// The scopes the principal lacks, for `elevation-required`; empty otherwise.
    pub fn missing_scopes(&self) -> &[String] {
        match self {
            Reason::MissingScopes { scopes } => scopes,
            _ => &[],
        }
    }
}

fn is_zero(n: &usize) -> bool {
    *n == 0
}

impl Decision {
    /// The scopes the principal lacks, for `elevation-required`; empty otherwise.
    pub fn missing_scopes(&self) -> &[String] {
        self.reason.missing_scopes()
    }
}

/// A chain's decision on one request.
#[derive(Debug, Clone)]
pub struct Decision {
    /// Unique decision identifier (UUID v7: sorts by time).
    pub id: String,
    /// When the decision was made.
    pub time: SystemTime,
    /// The request as decided on.
    pub request: Request,
    /// The final verdict.
    pub verdict: Verdict,
    /// Why.
    pub reason: Reason,
    /// Findings of enforcing steps.
    pub findings: Vec<Finding>,
    /// Session labels after the decision (the request's plus those the steps added).
    pub labels: Vec<String>,
    /// The arguments (request phase) or output (response phase) after redaction, when an
    /// inspector asked for any.
    pub redacted: Option<Value>,
    /// Every step that ran, in order.
    pub steps: Vec<StepRecord>,
    /// The digest over the chain config and every plugin digest.
    pub revision: Digest,
    /// The chain's name, when it has one.
    pub chain: Option<String>,
}
