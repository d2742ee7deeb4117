//! What a chain decided, step by step: the data behind CLI output and audit records.

use std::time::SystemTime;

use serde::Serialize;
use serde_json::Value;

use crate::config::Mode;
use crate::engine::Kind;
use crate::engine::bindings;
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
    /// `fuel`, `memory`, `deadline`, `stack-overflow`, `trap`, `malformed-output` or `instantiate`.
    pub kind: String,
    /// One line of detail.
    pub message: String,
}

/// One step of one decision.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct StepRecord {
    /// The step's name.
    pub name: String,
    /// `blake3:<hex>` of the plugin that ran.
    pub plugin: String,
    /// Policy or inspector.
    pub kind: Kind,
    /// Enforce or monitor.
    pub mode: Mode,
    /// `fresh` (a new instance for this call) or `warm` (a reused one).
    pub instance: &'static str,
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
    /// Fuel consumed.
    pub fuel: u64,
    /// Wall time, microseconds.
    pub micros: u64,
    /// Why it failed, when it did.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub error: Option<StepError>,
}

fn is_zero(n: &usize) -> bool {
    *n == 0
}

impl Decision {
    /// `blake3:<hex>` of the request's canonical JSON: what was decided on, for replay.
    /// Computed when asked (the audit record asks), not on every decision.
    pub fn input_digest(&self) -> String {
        let request = serde_json::to_value(&self.request).unwrap_or(Value::Null);
        format!("blake3:{}", crate::canonical::digest(&request).to_hex())
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
    /// Why, in one line.
    pub reason: String,
    /// Scopes the principal lacks, for `elevation-required`.
    pub missing_scopes: Vec<String>,
    /// Findings of enforcing steps.
    pub findings: Vec<Finding>,
    /// Session labels after the decision (the request's plus those the steps added).
    pub labels: Vec<String>,
    /// The arguments (request phase) or output (response phase) after redaction, when an
    /// inspector asked for any.
    pub redacted: Option<Value>,
    /// Every step that ran, in order.
    pub steps: Vec<StepRecord>,
    /// `blake3:<hex>` over the chain config and every plugin digest.
    pub revision: String,
    /// The chain's name, when it has one.
    pub chain: Option<String>,
}
