//! `[[detector]]` and `[alerts]`: what to watch for in the decision stream, and what to do
//! when it is seen.

use std::collections::{BTreeMap, HashSet};
use std::path::PathBuf;
use std::time::Duration;

use serde::Deserialize;

use crate::mcp::config::ToolFilter;
use crate::server::config::humantime_serde_compat;

/// What a detector counts.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum DetectorKind {
    /// Denied tool calls and tool answers (not requests for privileges).
    Denies,
    /// Tool calls that needed an elevation the agent did not hold.
    Elevations,
    /// Calls of a side-effect tool (`tools`) in a session carrying one of `labels`.
    TaintedSideEffect,
    /// An agent's first call of a tool since the service started.
    FirstTool,
    /// Calls: a rate limit per agent or session.
    Rate,
    /// A step that used `factor` times its own mean fuel (after 20 decisions).
    FuelSpike,
    /// A step that took `factor` times its own mean time (after 20 decisions).
    LatencySpike,
}

impl DetectorKind {
    /// The kind's name as written.
    pub fn as_str(self) -> &'static str {
        match self {
            DetectorKind::Denies => "denies",
            DetectorKind::Elevations => "elevations",
            DetectorKind::TaintedSideEffect => "tainted-side-effect",
            DetectorKind::FirstTool => "first-tool",
            DetectorKind::Rate => "rate",
            DetectorKind::FuelSpike => "fuel-spike",
            DetectorKind::LatencySpike => "latency-spike",
        }
    }
}

/// Whose decisions a detector counts together.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Per {
    /// All of one agent's.
    #[default]
    Agent,
    /// One session's.
    Session,
}

/// What to do when a detector fires.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Deserialize, serde::Serialize)]
#[serde(rename_all = "kebab-case")]
pub enum Action {
    /// Quarantine the agent: every later decision denied until an operator releases it.
    Quarantine,
    /// Revoke every grant and held request of the agent.
    RevokeGrants,
    /// End the session (its labels go with it).
    EndSession,
    /// Send an alert to the `[alerts]` sinks.
    Alert,
}

/// One `[[detector]]`.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields, rename_all = "kebab-case")]
pub struct DetectorSection {
    /// Its name, in records, metrics and alerts.
    pub name: String,
    /// What it counts.
    pub kind: DetectorKind,
    /// Counted per agent (default) or per session.
    #[serde(default)]
    pub per: Per,
    /// It fires when this many are counted within `window` (default 1).
    #[serde(default = "one")]
    pub threshold: usize,
    /// The sliding window (default 1 min).
    #[serde(default = "minute", with = "humantime_serde_compat")]
    pub window: Duration,
    /// Which tools count (default all).
    #[serde(default)]
    pub tools: ToolFilter,
    /// `tainted-side-effect`: the labels that taint a session (default `untrusted-content`).
    #[serde(default = "untrusted")]
    pub labels: Vec<String>,
    /// `fuel-spike`, `latency-spike`: how many times the step's mean counts as a spike
    /// (default 10).
    #[serde(default = "ten")]
    pub factor: f64,
    /// What to do when it fires.
    pub actions: Vec<Action>,
}

/// `[alerts]`: where alerts go.
#[derive(Debug, Clone, Default, Deserialize)]
#[serde(deny_unknown_fields, rename_all = "kebab-case")]
pub struct AlertsSection {
    /// A JSON-lines file alerts are appended to (relative to the config), for a SIEM to read.
    #[serde(default)]
    pub file: Option<PathBuf>,
    /// A URL each alert is POSTed to as JSON.
    #[serde(default)]
    pub webhook: Option<String>,
    /// Headers sent with each webhook call (e.g. `authorization`).
    #[serde(default)]
    pub webhook_headers: BTreeMap<String, String>,
    /// How many times a failed webhook call is tried again (default 3), with backoff.
    #[serde(default = "three")]
    pub retries: u32,
    /// How long one webhook call may take (default 5 s).
    #[serde(default = "five_seconds", with = "humantime_serde_compat")]
    pub timeout: Duration,
}

fn one() -> usize {
    1
}
fn three() -> u32 {
    3
}
fn ten() -> f64 {
    10.0
}
fn minute() -> Duration {
    Duration::from_secs(60)
}
fn five_seconds() -> Duration {
    Duration::from_secs(5)
}
fn untrusted() -> Vec<String> {
    vec!["untrusted-content".into()]
}

/// Checks the detectors against each other and the alert sinks.
pub fn check(detectors: &[DetectorSection], alerts: Option<&AlertsSection>) -> Result<(), String> {
    let mut names = HashSet::new();
    for detector in detectors {
        let name = &detector.name;
        if name.is_empty()
            || !name
                .bytes()
                .all(|b| b.is_ascii_alphanumeric() || b"-_.".contains(&b))
        {
            return Err(format!(
                "[[detector]] name `{}` is not 1 or more letters, digits, `-`, `_` or `.`",
                crate::text::escape(name)
            ));
        }
        if !names.insert(name.as_str()) {
            return Err(format!("[[detector]] `{name}` is defined twice"));
        }
        if detector.threshold == 0 {
            return Err(format!(
                "[[detector]] `{name}`: threshold must be at least 1"
            ));
        }
        if detector.actions.is_empty() {
            return Err(format!(
                "[[detector]] `{name}`: actions is empty; give at least one of quarantine, revoke-grants, end-session, alert"
            ));
        }
        if !(detector.factor.is_finite() && detector.factor > 1.0) {
            return Err(format!(
                "[[detector]] `{name}`: factor must be a number above 1"
            ));
        }
        if detector.kind == DetectorKind::TaintedSideEffect && detector.labels.is_empty() {
            return Err(format!("[[detector]] `{name}`: labels is empty"));
        }
        let alerts_go_somewhere = alerts.is_some_and(|a| a.file.is_some() || a.webhook.is_some());
        if detector.actions.contains(&Action::Alert) && !alerts_go_somewhere {
            return Err(format!(
                "[[detector]] `{name}` alerts, but [alerts] names no file and no webhook"
            ));
        }
    }
    if let Some(webhook) = alerts.and_then(|a| a.webhook.as_deref())
        && !(webhook.starts_with("http://") || webhook.starts_with("https://"))
    {
        return Err(format!(
            "[alerts] webhook `{}` is not an http(s) URL",
            crate::text::escape(webhook)
        ));
    }
    Ok(())
}
