//! `lampart doctor`: what makes a chain weak, each with a severity and a fix.
//!
//! The assessment reads the config and the loaded chain, and runs a few sample decisions
//! (one per phase, on a tool name no rule can know) to see which phases and tools only the
//! chain's default decides, and what each step costs against its limits.

use std::collections::BTreeMap;
use std::path::Path;

use serde::Serialize;
use serde_json::json;

use crate::chain::{Chain, Severity};
use crate::config::{ChainConfig, DefaultVerdict, Mode};
use crate::engine::InstanceMode;
use crate::request::{Action, Phase, Principal, Request, ToolOutput};
use crate::server::defence::config::Action as DefenceAction;

/// The tool name the sample decisions use: no rule written for real tools matches it.
pub const PROBE_TOOL: &str = "lampart-doctor.unknown-tool";

/// How many sample decisions are run per phase to measure each step.
pub const SAMPLES: usize = 5;

/// One weakness.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Weakness {
    /// A stable identifier, e.g. `chain.default-allow`.
    pub id: &'static str,
    /// How serious it is.
    pub severity: Severity,
    /// What it is about: a section, a step, a phase, a directory.
    pub subject: String,
    /// What is wrong, on one line.
    pub problem: String,
    /// What to change, on one line.
    pub fix: String,
}

fn weakness(
    id: &'static str,
    severity: Severity,
    subject: impl Into<String>,
    problem: impl Into<String>,
    fix: impl Into<String>,
) -> Weakness {
    Weakness {
        id,
        severity,
        subject: subject.into(),
        problem: problem.into(),
        fix: fix.into(),
    }
}

/// Everything `lampart doctor` finds in `config` (whose relative paths are relative to
/// `base`), with `chain` loaded from it. Sorted, most serious first.
pub fn assess(config: &ChainConfig, base: &Path, chain: &Chain) -> Vec<Weakness> {
    let mut found = Vec::new();
    chain_section(config, &mut found);
    coverage(config, chain, &mut found);
    steps(config, &mut found);
    costs(chain, &mut found);
    audit(config, base, &mut found);
    service(config, base, &mut found);
    found.sort_by(|a, b| b.severity.cmp(&a.severity).then(a.id.cmp(b.id)));
    found
}

fn chain_section(config: &ChainConfig, found: &mut Vec<Weakness>) {
    if config.chain.default == DefaultVerdict::Allow {
        found.push(weakness(
            "chain.default-allow",
            Severity::Critical,
            "[chain] default",
            "what no policy decides is allowed: new tools, unforeseen arguments, and every request for privileges",
            "set `default = \"deny\"` and allow what agents need with explicit rules",
        ));
    }
}

fn sample(phase: Phase) -> Request {
    Request {
        id: Some("lampart-doctor".into()),
        phase,
        principal: Principal {
            agent: "lampart-doctor".into(),
            roles: Vec::new(),
            session: "lampart-doctor".into(),
            task: None,
        },
        action: Action {
            tool: PROBE_TOOL.into(),
            args: json!({"path": "/etc/passwd", "cmd": "echo hello", "url": "https://example.com/"}),
            resource: None,
        },
        output: (phase == Phase::Response)
            .then(|| ToolOutput::Text("Meeting moved to 3 pm. Reply to confirm.".into())),
        grants: Vec::new(),
        labels: Vec::new(),
    }
}

fn coverage(config: &ChainConfig, chain: &Chain, found: &mut Vec<Weakness>) {
    for phase in [Phase::Request, Phase::Response, Phase::Elevation] {
        if chain.policies_covering(&sample(phase)) > 0 {
            continue;
        }
        let (severity, consequence) = match (phase, config.chain.default) {
            (_, DefaultVerdict::Allow) => (Severity::Critical, "so they are allowed"),
            (Phase::Elevation, DefaultVerdict::Deny) => (
                Severity::Info,
                "so the service holds every request for privileges for an operator",
            ),
            (_, DefaultVerdict::Deny) => (Severity::Low, "so they are denied"),
        };
        found.push(weakness(
            "phase.uncovered",
            severity,
            format!("{} phase", phase.as_str()),
            format!(
                "no enforcing policy sees tools outside its own rules in the {} phase: only the chain's default decides them, {consequence}",
                phase.as_str()
            ),
            "add an enforcing policy step that applies to every tool (e.g. tool-rules with a catch-all rule), or make the default deny",
        ));
    }
}

fn steps(config: &ChainConfig, found: &mut Vec<Weakness>) {
    for (index, step) in config.step.iter().enumerate() {
        let name = step
            .name
            .clone()
            .unwrap_or_else(|| format!("#{} ({})", index + 1, step.plugin.display()));
        let subject = format!("step `{name}`");
        if step.mode == Mode::Monitor {
            found.push(weakness(
                "step.monitor-only",
                Severity::Medium,
                subject.clone(),
                "runs in monitor mode: its verdicts and findings are recorded but never change a decision",
                "set `mode = \"enforce\"` once its findings are trusted",
            ));
        }
        if step.digest.is_none() {
            found.push(weakness(
                "step.unpinned",
                Severity::Medium,
                subject.clone(),
                "its plugin is not pinned by digest: whoever can replace the file changes the chain",
                "pin it: `digest = \"blake3:…\"` as printed by `lampart plugin inspect`",
            ));
        }
        if step.instance == InstanceMode::Warm {
            found.push(weakness(
                "step.warm",
                Severity::Low,
                subject,
                "warm instances are reused, so state one decision leaves in the plugin can reach the next",
                "use `instance = \"fresh\"` unless the plugin is trusted not to keep state",
            ));
        }
    }
}

/// Runs the sample decisions and compares each step's worst cost with its limits.
fn costs(chain: &Chain, found: &mut Vec<Weakness>) {
    // Per step: the most fuel and microseconds seen.
    let mut worst: BTreeMap<String, (u64, u64)> = BTreeMap::new();
    for _ in 0..SAMPLES {
        for phase in [Phase::Request, Phase::Response, Phase::Elevation] {
            let decision = chain.decide(sample(phase));
            for step in &decision.steps {
                let entry = worst.entry(step.name.clone()).or_default();
                entry.0 = entry.0.max(step.fuel.unwrap_or(0));
                entry.1 = entry.1.max(step.micros);
                if let Some(error) = &step.error {
                    found.push(weakness(
                        "step.fails-on-sample",
                        Severity::High,
                        format!("step `{}`", step.name),
                        format!(
                            "failed on a sample {} decision ({}: {}), so it denies",
                            phase.as_str(),
                            error.kind.as_str(),
                            crate::text::escape(&error.message)
                        ),
                        "run `lampart plugin run` on it and raise its limits or fix the plugin",
                    ));
                }
            }
        }
    }
    for (name, mode, limits) in chain.step_limits() {
        let Some((fuel, micros)) = worst.get(&name).copied() else {
            continue;
        };
        let severity = if mode == Mode::Enforce {
            Severity::Medium
        } else {
            Severity::Low
        };
        if fuel.saturating_mul(4) > limits.fuel {
            found.push(weakness(
                "step.fuel-tight",
                severity,
                format!("step `{name}`"),
                format!(
                    "used up to {fuel} fuel on a small sample, more than a quarter of its limit of {}: larger inputs will exhaust it and deny",
                    limits.fuel
                ),
                "raise `limits.fuel` for the step (or [limits] fuel)",
            ));
        }
        let deadline = u64::try_from(limits.deadline.as_micros()).unwrap_or(u64::MAX);
        if micros.saturating_mul(4) > deadline {
            found.push(weakness(
                "step.deadline-tight",
                severity,
                format!("step `{name}`"),
                format!(
                    "took up to {micros} µs on a small sample, more than a quarter of its {} µs deadline: on a busy machine it will miss it and deny",
                    deadline
                ),
                "raise `limits.deadline` for the step (fuel stays the deterministic bound)",
            ));
        }
    }
}

fn audit(config: &ChainConfig, base: &Path, found: &mut Vec<Weakness>) {
    match &config.audit {
        None => found.push(weakness(
            "audit.off",
            Severity::High,
            "[audit]",
            "decisions are not recorded: nothing shows afterwards what was allowed and why",
            "add `[audit] dir = \"audit\"`",
        )),
        Some(audit) => {
            if !audit.fsync {
                found.push(weakness(
                    "audit.no-fsync",
                    Severity::Medium,
                    "[audit] fsync",
                    "records are not synced: a crash can lose decisions that were already answered",
                    "remove `fsync = false`",
                ));
            }
            shared_dir("[audit] dir", &base.join(&audit.dir), found);
        }
    }
    if let Some(cache) = &config.engine.cache_dir {
        shared_dir("[engine] cache-dir", &base.join(cache), found);
    }
}

fn shared_dir(subject: &str, dir: &Path, found: &mut Vec<Weakness>) {
    if !dir.exists() {
        return;
    }
    if let Err(e) = crate::private_dir::check_not_shared(dir) {
        found.push(weakness(
            "dir.shared",
            Severity::High,
            format!("{subject} {}", dir.display()),
            format!("others can write it: {e}"),
            format!("chmod go-w {}", dir.display()),
        ));
    }
}

fn service(config: &ChainConfig, base: &Path, found: &mut Vec<Weakness>) {
    let alerts = config
        .alerts
        .as_ref()
        .is_some_and(|a| a.file.is_some() || a.webhook.is_some());
    for detector in &config.detector {
        if detector.actions.contains(&DefenceAction::Quarantine) && !alerts {
            found.push(weakness(
                "defence.silent-quarantine",
                Severity::Medium,
                format!("[[detector]] `{}`", detector.name),
                "quarantines agents without telling anyone: no [alerts] file or webhook",
                "add an [alerts] section and the `alert` action",
            ));
        }
    }
    if config.server.is_some() || config.auth.is_some() {
        if config.detector.is_empty() {
            found.push(weakness(
                "defence.none",
                Severity::Low,
                "[[detector]]",
                "no detectors: a hijacked agent can keep trying denied calls for as long as it likes",
                "add a `denies` detector that quarantines (see the README's runtime defence)",
            ));
        }
        if config.elevation.max_ttl > std::time::Duration::from_secs(8 * 3600) {
            found.push(weakness(
                "elevation.long-ttl",
                Severity::Low,
                "[elevation] max-ttl",
                "grants may last more than 8 hours",
                "lower max-ttl to the length of a task",
            ));
        }
        if let Some(state) = &config.state
            && let crate::state::BackendConfig::Sqlite { dir } = &state.backend
        {
            shared_dir("[state] dir", &base.join(dir), found);
        }
    }
}
