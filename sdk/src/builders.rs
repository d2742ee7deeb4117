//! Constructors and helpers on the WIT types.

use std::fmt;
use std::str::FromStr;

use crate::{Decision, Finding, Info, Inspection, Phase, Redaction, Severity, Verdict};

fn strings<I, S>(items: I) -> Vec<String>
where
    I: IntoIterator<Item = S>,
    S: Into<String>,
{
    items.into_iter().map(Into::into).collect()
}

impl Severity {
    /// Every severity, from least to most serious.
    pub const ALL: [Severity; 5] = [
        Severity::Info,
        Severity::Low,
        Severity::Medium,
        Severity::High,
        Severity::Critical,
    ];

    /// The WIT name: `info`, `low`, `medium`, `high` or `critical`.
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

impl fmt::Display for Severity {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

impl FromStr for Severity {
    type Err = String;

    /// Parses a WIT name (`info` … `critical`), case-insensitively.
    fn from_str(s: &str) -> Result<Self, String> {
        Severity::ALL
            .into_iter()
            .find(|v| v.as_str().eq_ignore_ascii_case(s))
            .ok_or_else(|| {
                format!("unknown severity `{s}` (expected info, low, medium, high or critical)")
            })
    }
}

impl Phase {
    /// Every phase.
    pub const ALL: [Phase; 3] = [Phase::Request, Phase::Response, Phase::Elevation];

    /// The WIT name: `request`, `response` or `elevation`.
    pub fn as_str(self) -> &'static str {
        match self {
            Phase::Request => "request",
            Phase::Response => "response",
            Phase::Elevation => "elevation",
        }
    }
}

impl fmt::Display for Phase {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

impl FromStr for Phase {
    type Err = String;

    /// Parses a WIT name (`request`, `response`, `elevation`), case-insensitively.
    fn from_str(s: &str) -> Result<Self, String> {
        Phase::ALL
            .into_iter()
            .find(|v| v.as_str().eq_ignore_ascii_case(s))
            .ok_or_else(|| format!("unknown phase `{s}` (expected request, response or elevation)"))
    }
}

impl Finding {
    /// A finding of rule `rule` (e.g. `shell.recursive-delete`) with no location.
    pub fn new(rule: impl Into<String>, severity: Severity, message: impl Into<String>) -> Self {
        Finding {
            rule: rule.into(),
            severity,
            message: message.into(),
            location: None,
        }
    }

    /// An `info` finding.
    pub fn info(rule: impl Into<String>, message: impl Into<String>) -> Self {
        Self::new(rule, Severity::Info, message)
    }

    /// A `low` finding.
    pub fn low(rule: impl Into<String>, message: impl Into<String>) -> Self {
        Self::new(rule, Severity::Low, message)
    }

    /// A `medium` finding.
    pub fn medium(rule: impl Into<String>, message: impl Into<String>) -> Self {
        Self::new(rule, Severity::Medium, message)
    }

    /// A `high` finding.
    pub fn high(rule: impl Into<String>, message: impl Into<String>) -> Self {
        Self::new(rule, Severity::High, message)
    }

    /// A `critical` finding.
    pub fn critical(rule: impl Into<String>, message: impl Into<String>) -> Self {
        Self::new(rule, Severity::Critical, message)
    }

    /// Sets the location: a JSON pointer into the arguments (request phase) or the
    /// output (response phase), e.g. `/cmd`.
    pub fn at(mut self, pointer: impl Into<String>) -> Self {
        self.location = Some(pointer.into());
        self
    }
}

impl Verdict {
    /// The WIT case name: `allow`, `deny`, `require` or `abstain`.
    pub fn kind(&self) -> &'static str {
        match self {
            Verdict::Allow => "allow",
            Verdict::Deny(_) => "deny",
            Verdict::Require(_) => "require",
            Verdict::Abstain => "abstain",
        }
    }
}

impl Decision {
    fn of(verdict: Verdict) -> Self {
        Decision {
            verdict,
            findings: Vec::new(),
            labels: Vec::new(),
        }
    }

    /// The action may go ahead, as far as this policy is concerned.
    pub fn allow() -> Self {
        Self::of(Verdict::Allow)
    }

    /// The action must not go ahead; `reason` is shown to the agent and the operator.
    pub fn deny(reason: impl Into<String>) -> Self {
        Self::of(Verdict::Deny(reason.into()))
    }

    /// The action may go ahead only if the principal holds every one of `scopes`.
    pub fn require<I, S>(scopes: I) -> Self
    where
        I: IntoIterator<Item = S>,
        S: Into<String>,
    {
        Self::of(Verdict::Require(strings(scopes)))
    }

    /// No opinion on this action.
    pub fn abstain() -> Self {
        Self::of(Verdict::Abstain)
    }

    /// Adds a finding that explains the decision.
    pub fn with_finding(mut self, finding: Finding) -> Self {
        self.findings.push(finding);
        self
    }

    /// Adds findings that explain the decision.
    pub fn with_findings(mut self, findings: impl IntoIterator<Item = Finding>) -> Self {
        self.findings.extend(findings);
        self
    }

    /// Adds a label to put on the session.
    pub fn with_label(mut self, label: impl Into<String>) -> Self {
        self.labels.push(label.into());
        self
    }

    /// Adds labels to put on the session.
    pub fn with_labels<I, S>(mut self, labels: I) -> Self
    where
        I: IntoIterator<Item = S>,
        S: Into<String>,
    {
        self.labels.extend(strings(labels));
        self
    }

    /// Whether the verdict is `allow`.
    pub fn is_allow(&self) -> bool {
        matches!(self.verdict, Verdict::Allow)
    }

    /// Whether the verdict is `abstain`.
    pub fn is_abstain(&self) -> bool {
        matches!(self.verdict, Verdict::Abstain)
    }

    /// The reason, when the verdict is `deny`.
    pub fn deny_reason(&self) -> Option<&str> {
        match &self.verdict {
            Verdict::Deny(reason) => Some(reason),
            _ => None,
        }
    }

    /// The scopes, when the verdict is `require`.
    pub fn required_scopes(&self) -> Option<&[String]> {
        match &self.verdict {
            Verdict::Require(scopes) => Some(scopes),
            _ => None,
        }
    }
}

impl Inspection {
    /// Nothing found.
    pub fn new() -> Self {
        Inspection {
            findings: Vec::new(),
            labels: Vec::new(),
            redactions: Vec::new(),
        }
    }

    /// Adds a finding.
    pub fn with_finding(mut self, finding: Finding) -> Self {
        self.findings.push(finding);
        self
    }

    /// Adds findings.
    pub fn with_findings(mut self, findings: impl IntoIterator<Item = Finding>) -> Self {
        self.findings.extend(findings);
        self
    }

    /// Adds a label to put on the session.
    pub fn with_label(mut self, label: impl Into<String>) -> Self {
        self.labels.push(label.into());
        self
    }

    /// Adds labels to put on the session.
    pub fn with_labels<I, S>(mut self, labels: I) -> Self
    where
        I: IntoIterator<Item = S>,
        S: Into<String>,
    {
        self.labels.extend(strings(labels));
        self
    }

    /// Adds a redaction.
    pub fn with_redaction(mut self, redaction: Redaction) -> Self {
        self.redactions.push(redaction);
        self
    }

    /// Adds redactions.
    pub fn with_redactions(mut self, redactions: impl IntoIterator<Item = Redaction>) -> Self {
        self.redactions.extend(redactions);
        self
    }

    /// Adds a label unless it is already there.
    pub fn add_label_once(&mut self, label: &str) {
        if !self.labels.iter().any(|l| l == label) {
            self.labels.push(label.to_owned());
        }
    }

    /// Whether nothing was found, labelled or redacted.
    pub fn is_empty(&self) -> bool {
        self.findings.is_empty() && self.labels.is_empty() && self.redactions.is_empty()
    }

    /// The most serious finding's severity.
    pub fn max_severity(&self) -> Option<Severity> {
        self.findings.iter().map(|f| f.severity).max()
    }
}

impl Redaction {
    /// Replace the whole string at `location` (a JSON pointer; `""` for a plain-text
    /// output) with `replacement`.
    pub fn whole(location: impl Into<String>, replacement: impl Into<String>) -> Self {
        Redaction {
            location: location.into(),
            find: None,
            replacement: replacement.into(),
        }
    }

    /// Replace every occurrence of `find` within the string at `location` with
    /// `replacement`.
    pub fn text(
        location: impl Into<String>,
        find: impl Into<String>,
        replacement: impl Into<String>,
    ) -> Self {
        Redaction {
            location: location.into(),
            find: Some(find.into()),
            replacement: replacement.into(),
        }
    }
}

impl Info {
    /// A plugin named `name` at `version` that sees the request phase of every tool.
    /// Use `env!("CARGO_PKG_VERSION")` for the version.
    pub fn new(name: impl Into<String>, version: impl Into<String>) -> Self {
        Info {
            name: name.into(),
            version: version.into(),
            phases: vec![Phase::Request],
            tools: vec!["*".to_owned()],
        }
    }

    /// The phases the plugin wants to see.
    pub fn phases(mut self, phases: impl IntoIterator<Item = Phase>) -> Self {
        self.phases = phases.into_iter().collect();
        self
    }

    /// The tool-name globs the plugin wants to see (`*`, `fs.*`, `send_*`).
    pub fn tools<I, S>(mut self, tools: I) -> Self
    where
        I: IntoIterator<Item = S>,
        S: Into<String>,
    {
        self.tools = strings(tools);
        self
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn finding_builders() {
        let f = Finding::high("shell.x", "bad").at("/cmd");
        assert_eq!(f.rule, "shell.x");
        assert_eq!(f.severity, Severity::High);
        assert_eq!(f.location.as_deref(), Some("/cmd"));
        assert_eq!(Finding::info("a", "b").severity, Severity::Info);
        assert_eq!(Finding::low("a", "b").severity, Severity::Low);
        assert_eq!(Finding::medium("a", "b").severity, Severity::Medium);
        assert_eq!(Finding::critical("a", "b").severity, Severity::Critical);
    }

    #[test]
    fn decision_builders() {
        let d = Decision::deny("no")
            .with_finding(Finding::low("r", "m"))
            .with_label("x")
            .with_labels(["y"]);
        assert_eq!(d.deny_reason(), Some("no"));
        assert_eq!(d.findings.len(), 1);
        assert_eq!(d.labels, vec!["x", "y"]);
        let r = Decision::require(["payments:large"]);
        assert_eq!(r.required_scopes().unwrap(), ["payments:large"]);
        assert_eq!(r.verdict.kind(), "require");
        assert!(Decision::allow().is_allow());
        assert!(Decision::abstain().is_abstain());
        assert_eq!(Decision::allow().deny_reason(), None);
    }

    #[test]
    fn inspection_builders() {
        let mut i = Inspection::new()
            .with_finding(Finding::critical("a", "b"))
            .with_finding(Finding::low("a", "b"))
            .with_redaction(Redaction::text("/x", "secret", "[REDACTED]"))
            .with_redaction(Redaction::whole("", "[GONE]"));
        i.add_label_once("l");
        i.add_label_once("l");
        assert_eq!(i.labels, vec!["l"]);
        assert_eq!(i.max_severity(), Some(Severity::Critical));
        assert_eq!(i.redactions[0].find.as_deref(), Some("secret"));
        assert_eq!(i.redactions[1].find, None);
        assert!(Inspection::new().is_empty());
        assert!(Inspection::default().is_empty());
    }

    #[test]
    fn severities_order_and_parse() {
        assert!(Severity::Info < Severity::Low);
        assert!(Severity::High < Severity::Critical);
        for s in Severity::ALL {
            assert_eq!(s.as_str().parse::<Severity>().unwrap(), s);
            assert_eq!(s.to_string(), s.as_str());
        }
        assert_eq!("HIGH".parse::<Severity>().unwrap(), Severity::High);
        assert!("severe".parse::<Severity>().is_err());
        for p in Phase::ALL {
            assert_eq!(p.as_str().parse::<Phase>().unwrap(), p);
        }
    }

    #[test]
    fn info_defaults() {
        let i = Info::new("x", "1.0.0");
        assert_eq!(i.phases, vec![Phase::Request]);
        assert_eq!(i.tools, vec!["*"]);
        let i = i.phases(Phase::ALL).tools(["fs.*"]);
        assert_eq!(i.phases.len(), 3);
        assert_eq!(i.tools, vec!["fs.*"]);
    }
}
