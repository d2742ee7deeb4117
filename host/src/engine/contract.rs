//! Contract versions: which one a component was built against, and the adapters between the
//! current contract's types and those of the older versions the host still loads.
//!
//! The rule (documented in `wit/plugin.wit`): any change a built plugin could notice is a new
//! version; every released version keeps loading. The host calls a plugin in the version it
//! was built against and translates: the chain only ever sees the current types.

use super::bindings::{self, v0_1::types as v0_1};

/// A released version of the `lampart:plugin` contract.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Contract {
    /// `lampart:plugin@0.1.0`: a tool's output is one string (JSON text for a JSON answer).
    V0_1,
    /// `lampart:plugin@0.2.0`: a tool's output is text or JSON (`tool-output`).
    V0_2,
}

impl Contract {
    /// The version plugins are built against today (`wit/plugin.wit`).
    pub const CURRENT: Contract = Contract::V0_2;

    /// Every version this host loads, oldest first.
    pub const ALL: [Contract; 2] = [Contract::V0_1, Contract::V0_2];

    /// The version number, e.g. `0.2.0`.
    pub fn as_str(self) -> &'static str {
        match self {
            Contract::V0_1 => "0.1.0",
            Contract::V0_2 => "0.2.0",
        }
    }

    /// The version a semver version of the package belongs to: versions that differ only in
    /// their patch number (documentation changes) are the same contract.
    fn of(version: &semver::Version) -> Option<Contract> {
        match (version.major, version.minor) {
            (0, 1) => Some(Contract::V0_1),
            (0, 2) => Some(Contract::V0_2),
            _ => None,
        }
    }
}

impl std::fmt::Display for Contract {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "lampart:plugin@{}", self.as_str())
    }
}

/// The contract a component was built against, from the names of its imports
/// (`lampart:plugin/types@0.1.0`, `lampart:plugin/host@0.2.0`, ...).
pub(crate) fn contract_of<'a>(
    imports: impl IntoIterator<Item = &'a str>,
) -> Result<Contract, String> {
    let known = || {
        Contract::ALL
            .iter()
            .map(|c| c.as_str())
            .collect::<Vec<_>>()
            .join(" and ")
    };
    let mut found: Option<Contract> = None;
    for name in imports {
        let Some(rest) = name.strip_prefix("lampart:plugin/") else {
            continue;
        };
        let Some((_, version)) = rest.split_once('@') else {
            return Err(format!(
                "imports `{name}` without a version: not built against a released contract (this host loads {})",
                known()
            ));
        };
        let contract = semver::Version::parse(version)
            .ok()
            .and_then(|v| Contract::of(&v))
            .ok_or_else(|| {
                format!(
                    "built against `lampart:plugin@{version}`, which this host does not know (it loads {})",
                    known()
                )
            })?;
        match found {
            Some(other) if other != contract => {
                return Err(format!(
                    "imports both {other} and {contract}: a plugin is built against one contract"
                ));
            }
            _ => found = Some(contract),
        }
    }
    found.ok_or_else(|| {
        "imports no `lampart:plugin` interface: not a Lampart plugin, or built against no known contract".to_string()
    })
}

/// The input as a 0.1.0 plugin sees it: a JSON answer as its JSON text, a text answer as
/// the text.
pub(crate) fn input_v0_1(input: &bindings::Input) -> v0_1::Input {
    v0_1::Input {
        id: input.id.clone(),
        phase: phase_v0_1(input.phase),
        principal: v0_1::Principal {
            agent: input.principal.agent.clone(),
            roles: input.principal.roles.clone(),
            session: input.principal.session.clone(),
            task: input.principal.task.clone(),
        },
        action: v0_1::Action {
            tool: input.action.tool.clone(),
            args: input.action.args.clone(),
            resource: input.action.resource.clone(),
        },
        output: input.output.as_ref().map(|output| match output {
            bindings::ToolOutput::Text(text) | bindings::ToolOutput::Json(text) => text.clone(),
        }),
        grants: input.grants.clone(),
        labels: input.labels.clone(),
        findings: input
            .findings
            .iter()
            .map(|f| v0_1::Finding {
                rule: f.rule.clone(),
                severity: severity_v0_1(f.severity),
                message: f.message.clone(),
                location: f.location.clone(),
            })
            .collect(),
    }
}

/// A 0.1.0 plugin's description in current types.
pub(crate) fn info_from_v0_1(info: v0_1::Info) -> bindings::Info {
    bindings::Info {
        name: info.name,
        version: info.version,
        phases: info.phases.into_iter().map(phase_from_v0_1).collect(),
        tools: info.tools,
    }
}

/// A 0.1.0 policy's decision in current types.
pub(crate) fn decision_from_v0_1(decision: v0_1::Decision) -> bindings::Decision {
    bindings::Decision {
        verdict: match decision.verdict {
            v0_1::Verdict::Allow => bindings::Verdict::Allow,
            v0_1::Verdict::Deny(reason) => bindings::Verdict::Deny(reason),
            v0_1::Verdict::Require(scopes) => bindings::Verdict::Require(scopes),
            v0_1::Verdict::Abstain => bindings::Verdict::Abstain,
        },
        findings: decision
            .findings
            .into_iter()
            .map(finding_from_v0_1)
            .collect(),
        labels: decision.labels,
    }
}

/// A 0.1.0 inspector's inspection in current types.
pub(crate) fn inspection_from_v0_1(inspection: v0_1::Inspection) -> bindings::Inspection {
    bindings::Inspection {
        findings: inspection
            .findings
            .into_iter()
            .map(finding_from_v0_1)
            .collect(),
        labels: inspection.labels,
        redactions: inspection
            .redactions
            .into_iter()
            .map(|r| bindings::Redaction {
                location: r.location,
                find: r.find,
                replacement: r.replacement,
            })
            .collect(),
    }
}

fn finding_from_v0_1(finding: v0_1::Finding) -> bindings::Finding {
    bindings::Finding {
        rule: finding.rule,
        severity: match finding.severity {
            v0_1::Severity::Info => bindings::Severity::Info,
            v0_1::Severity::Low => bindings::Severity::Low,
            v0_1::Severity::Medium => bindings::Severity::Medium,
            v0_1::Severity::High => bindings::Severity::High,
            v0_1::Severity::Critical => bindings::Severity::Critical,
        },
        message: finding.message,
        location: finding.location,
    }
}

fn severity_v0_1(severity: bindings::Severity) -> v0_1::Severity {
    match severity {
        bindings::Severity::Info => v0_1::Severity::Info,
        bindings::Severity::Low => v0_1::Severity::Low,
        bindings::Severity::Medium => v0_1::Severity::Medium,
        bindings::Severity::High => v0_1::Severity::High,
        bindings::Severity::Critical => v0_1::Severity::Critical,
    }
}

fn phase_v0_1(phase: bindings::Phase) -> v0_1::Phase {
    match phase {
        bindings::Phase::Request => v0_1::Phase::Request,
        bindings::Phase::Response => v0_1::Phase::Response,
        bindings::Phase::Elevation => v0_1::Phase::Elevation,
    }
}

fn phase_from_v0_1(phase: v0_1::Phase) -> bindings::Phase {
    match phase {
        v0_1::Phase::Request => bindings::Phase::Request,
        v0_1::Phase::Response => bindings::Phase::Response,
        v0_1::Phase::Elevation => bindings::Phase::Elevation,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_contract_is_read_from_import_names() {
        assert_eq!(
            contract_of([
                "wasi:io/poll@0.2.6",
                "lampart:plugin/types@0.1.0",
                "lampart:plugin/host@0.1.0"
            ]),
            Ok(Contract::V0_1)
        );
        assert_eq!(
            contract_of(["lampart:plugin/host@0.2.1"]),
            Ok(Contract::V0_2),
            "a patch version is the same contract"
        );
        let unknown = contract_of(["lampart:plugin/types@0.9.0"]).unwrap_err();
        assert!(
            unknown.contains(
                "`lampart:plugin@0.9.0`, which this host does not know (it loads 0.1.0 and 0.2.0)"
            ),
            "{unknown}"
        );
        let both =
            contract_of(["lampart:plugin/types@0.1.0", "lampart:plugin/host@0.2.0"]).unwrap_err();
        assert!(both.contains("imports both"), "{both}");
        assert!(contract_of(["wasi:io/poll@0.2.6"]).is_err());
    }

    #[test]
    fn a_v0_1_plugin_sees_json_as_its_text_and_text_as_the_text() {
        let mut input = bindings::Input {
            id: "d".into(),
            phase: bindings::Phase::Response,
            principal: bindings::Principal {
                agent: "a".into(),
                roles: vec![],
                session: String::new(),
                task: None,
            },
            action: bindings::Action {
                tool: "t".into(),
                args: "{}".into(),
                resource: None,
            },
            output: Some(bindings::ToolOutput::Json("{\"n\":42}".into())),
            grants: vec![],
            labels: vec![],
            findings: vec![],
        };
        assert_eq!(input_v0_1(&input).output.as_deref(), Some("{\"n\":42}"));
        input.output = Some(bindings::ToolOutput::Text("42".into()));
        assert_eq!(input_v0_1(&input).output.as_deref(), Some("42"));
    }
}
