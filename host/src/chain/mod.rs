//! The chain: ordered steps built from a [`ChainConfig`], run for every decision.
//!
//! Inspectors run first, in config order; enforcing inspectors' findings and labels are then
//! handed to the policies, which run in config order. Every step that applies runs (so the
//! record is complete), each in a fresh sandbox; then [`combine`] turns the steps into one
//! verdict. Nothing here knows how a plugin runs (that is the [`engine`](crate::engine)) or
//! where decisions are kept (that is the [`audit`](crate::audit) log).

pub mod combine;
pub mod decision;
pub mod redact;

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::time::SystemTime;

use globset::{Glob, GlobSet, GlobSetBuilder};
use serde_json::{Value, json};

use crate::config::{self, ChainConfig, DefaultVerdict, Mode, Threshold};
use crate::digest::Digest;
use crate::engine::{Call, Engine, EngineError, FailureKind, Kind, Limits, Plugin, bindings};
use crate::request::{Phase, Request};

pub use decision::{
    Decision, Finding, Reason, Severity, StepError, StepRecord, StepVerdict, Verdict,
};

/// A chain that cannot be built.
#[derive(Debug, thiserror::Error)]
pub enum ChainError {
    /// The plugin file could not be loaded.
    #[error("{step}: {error}")]
    Plugin {
        /// Which step.
        step: String,
        /// What failed.
        error: EngineError,
    },
    /// The file's digest is not the pinned one.
    #[error(
        "{step}: plugin `{path}` has digest {actual}, but the config pins {expected}; refusing to load it"
    )]
    DigestMismatch {
        /// Which step.
        step: String,
        /// The file.
        path: PathBuf,
        /// The pin.
        expected: Digest,
        /// What the file hashes to.
        actual: Digest,
    },
    /// The step requires a signature and the plugin does not carry a valid one.
    #[error("{step}: plugin `{path}` refused: {error}")]
    Signature {
        /// Which step.
        step: String,
        /// The file.
        path: PathBuf,
        /// Why the signatures do not vouch for it.
        error: crate::signing::SigningError,
    },
    /// The component exports the other world.
    #[error(
        "{step}: plugin `{path}` is {actual_article} {actual} (it exports `{export}`), but the step says kind = \"{expected}\""
    )]
    KindMismatch {
        /// Which step.
        step: String,
        /// The file.
        path: PathBuf,
        /// What the config says.
        expected: &'static str,
        /// What the component is.
        actual: &'static str,
        /// "a" or "an".
        actual_article: &'static str,
        /// The export that shows it.
        export: &'static str,
    },
    /// Something else about the step is wrong.
    #[error("{step}: {message}")]
    Step {
        /// Which step.
        step: String,
        /// What is wrong.
        message: String,
    },
}

/// One step, loaded.
struct Step {
    name: String,
    plugin: Plugin,
    digest: Digest,
    mode: Mode,
    limits: Limits,
    tools: GlobSet,
    plugin_tools: GlobSet,
    phases: Vec<Phase>,
    /// The trusted signers whose signatures vouch for the plugin (when the step requires one).
    signed_by: Vec<String>,
}

impl Step {
    fn applies(&self, request: &Request) -> bool {
        self.phases.contains(&request.phase)
            && self.tools.is_match(&request.action.tool)
            && self.plugin_tools.is_match(&request.action.tool)
    }
}

/// A loaded chain, ready to decide from any number of threads.
pub struct Chain {
    engine: Arc<Engine>,
    steps: Vec<Step>,
    default: DefaultVerdict,
    deny_at: Threshold,
    revision: Digest,
    name: Option<String>,
}

impl Chain {
    /// Loads every step's plugin (checking digest pins and kinds) relative to `base_dir`.
    pub fn load(
        config: &ChainConfig,
        base_dir: &Path,
        engine: Arc<Engine>,
    ) -> Result<Chain, ChainError> {
        let defaults = config.limits.over(Limits::default());
        let mut steps = Vec::with_capacity(config.step.len());
        for (index, step_config) in config.step.iter().enumerate() {
            steps.push(load_step(
                &engine,
                index,
                config,
                step_config,
                base_dir,
                defaults,
            )?);
        }
        let digests: Vec<String> = steps.iter().map(|step| step.digest.to_string()).collect();
        let revision = Digest::of_json(&json!({
            "config": serde_json::to_value(config).unwrap_or(Value::Null),
            "plugins": digests,
        }));
        // Inspectors first, each group in config order.
        steps.sort_by_key(|step| match step.plugin.kind() {
            Kind::Inspector => 0,
            Kind::Policy => 1,
        });
        let mut seen = std::collections::BTreeSet::new();
        for step in &steps {
            if !seen.insert(step.name.as_str()) {
                return Err(ChainError::Step {
                    step: format!("step `{}`", step.name),
                    message: "two steps have this name; give one of them `name = \"...\"`".into(),
                });
            }
        }
        Ok(Chain {
            engine,
            steps,
            default: config.chain.default,
            deny_at: config.chain.deny_at,
            revision,
            name: config.chain.name.clone(),
        })
    }

    /// The digest over the config and every plugin digest: two hosts with the same revision
    /// decide identically.
    pub fn revision(&self) -> Digest {
        self.revision
    }

    /// The steps' names, kinds and digests, in the order they run.
    pub fn describe_steps(&self) -> Vec<(String, Kind, Mode, Digest)> {
        self.steps
            .iter()
            .map(|s| (s.name.clone(), s.plugin.kind(), s.mode, s.digest))
            .collect()
    }

    /// How many enforcing policies would decide `request` (by its phase and tool): none means
    /// only the chain's default decides it.
    pub fn policies_covering(&self, request: &Request) -> usize {
        self.steps
            .iter()
            .filter(|s| s.mode == Mode::Enforce && s.plugin.kind() == Kind::Policy)
            .filter(|s| s.applies(request))
            .count()
    }

    /// Each step's name, mode and limits, in the order they run.
    pub fn step_limits(&self) -> Vec<(String, Mode, Limits)> {
        self.steps
            .iter()
            .map(|s| (s.name.clone(), s.mode, s.limits))
            .collect()
    }

    /// Denies `request` for `reason` without running any step (a quarantined agent): the
    /// decision is recorded like any other, under this chain's revision.
    pub fn refuse(&self, request: Request, reason: Reason) -> Decision {
        Decision {
            id: uuid::Uuid::now_v7().to_string(),
            time: SystemTime::now(),
            labels: request.labels.clone(),
            request,
            verdict: Verdict::Deny,
            reason,
            findings: Vec::new(),
            redacted: None,
            steps: Vec::new(),
            revision: self.revision,
            chain: self.name.clone(),
        }
    }

    /// Decides on one request.
    pub fn decide(&self, request: Request) -> Decision {
        let id = uuid::Uuid::now_v7().to_string();
        let time = SystemTime::now();
        let mut input = plugin_input(&id, &request);
        // What redactions apply to: copied only once an inspector asks for one.
        let mut redacted: Option<Value> = None;
        let mut budget = redact::Budget::default();
        let mut records = Vec::new();
        let mut findings = Vec::new();
        let mut labels = request.labels.clone();

        for step in self
            .steps
            .iter()
            .filter(|s| s.plugin.kind() == Kind::Inspector && s.applies(&request))
        {
            let call = self.engine.inspect(&step.plugin, &input, step.limits);
            let mut record = base_record(step, &call);
            match call.result {
                Ok(inspection) => {
                    record.verdict = StepVerdict::Inspected;
                    record.findings = inspection
                        .findings
                        .iter()
                        .map(|f| Finding::from_plugin(&step.name, f))
                        .collect();
                    record.labels = inspection.labels.clone();
                    record.redactions = inspection.redactions.len();
                    if step.mode == Mode::Enforce {
                        let mut redacting = (!inspection.redactions.is_empty()).then(|| {
                            redacted
                                .clone()
                                .unwrap_or_else(|| redaction_target(&request))
                        });
                        match redacting.iter_mut().try_for_each(|target| {
                            inspection
                                .redactions
                                .iter()
                                .try_for_each(|r| redact::apply(target, r, &mut budget))
                        }) {
                            Ok(()) => {
                                if redacting.is_some() {
                                    redacted = redacting;
                                }
                                findings.extend(record.findings.iter().cloned());
                                input.findings.extend(inspection.findings);
                                add_labels(&mut labels, &inspection.labels);
                            }
                            Err(message) => fail(&mut record, FailureKind::Output, message),
                        }
                    }
                }
                Err(failure) => fail(&mut record, failure.kind, failure.message),
            }
            records.push(record);
        }

        input.labels = labels.clone();
        for step in self
            .steps
            .iter()
            .filter(|s| s.plugin.kind() == Kind::Policy && s.applies(&request))
        {
            let call = self.engine.evaluate(&step.plugin, &input, step.limits);
            let mut record = base_record(step, &call);
            match call.result {
                Ok(decision) => {
                    record.verdict = match decision.verdict {
                        bindings::Verdict::Allow => StepVerdict::Allow,
                        bindings::Verdict::Deny(reason) => StepVerdict::Deny(reason),
                        bindings::Verdict::Require(scopes) => StepVerdict::Require(scopes),
                        bindings::Verdict::Abstain => StepVerdict::Abstain,
                    };
                    record.findings = decision
                        .findings
                        .iter()
                        .map(|f| Finding::from_plugin(&step.name, f))
                        .collect();
                    record.labels = decision.labels;
                    if step.mode == Mode::Enforce {
                        findings.extend(record.findings.iter().cloned());
                        add_labels(&mut labels, &record.labels);
                    }
                }
                Err(failure) => fail(&mut record, failure.kind, failure.message),
            }
            records.push(record);
        }

        let outcome = combine::combine(
            &records,
            &findings,
            &request.grants,
            self.default,
            self.deny_at,
        );
        Decision {
            id,
            time,
            request,
            verdict: outcome.verdict,
            reason: outcome.reason,
            findings,
            labels,
            redacted,
            steps: records,
            revision: self.revision,
            chain: self.name.clone(),
        }
    }
}

fn load_step(
    engine: &Engine,
    index: usize,
    config: &ChainConfig,
    step_config: &config::StepConfig,
    base_dir: &Path,
    defaults: Limits,
) -> Result<Step, ChainError> {
    let label = config::step_label(index, step_config);
    // For the errors that name the plugin file themselves: the step, without the file again.
    let step = match &step_config.name {
        Some(name) => format!("step `{name}`"),
        None => format!("step {}", index + 1),
    };
    let step_error = |message: String| ChainError::Step {
        step: label.clone(),
        message,
    };
    let path = base_dir.join(&step_config.plugin);
    let bytes = crate::files::read_bounded_if(&path, crate::files::MAX_PLUGIN_BYTES, b"\0asm")
        .map_err(|source| ChainError::Plugin {
            step: step.clone(),
            error: EngineError::Read(source),
        })?;
    // Junk was read only up to its first bytes: refuse it as such, before any digest of it.
    if !bytes.starts_with(b"\0asm")
        && let Err(error) = engine.load_bytes(&path, &bytes)
    {
        return Err(ChainError::Plugin { step, error });
    }
    let digest = Digest::of(&bytes);
    if let Some(expected) = step_config.digest
        && expected != digest
    {
        return Err(ChainError::DigestMismatch {
            step,
            path,
            expected,
            actual: digest,
        });
    }
    let signature_error = |error| ChainError::Signature {
        step: step.clone(),
        path: path.clone(),
        error,
    };
    let signatures =
        signatures(config, step_config, base_dir, &path, digest).map_err(signature_error)?;
    let loaded = engine
        .load_bytes(&path, &bytes)
        .map_err(|error| ChainError::Plugin {
            step: step.clone(),
            error,
        })?;
    let signed_by = match signatures {
        Some((file, signers)) => {
            file.check_component(loaded.kind.as_str(), loaded.contract.as_str())
                .map_err(signature_error)?;
            signers
        }
        None => Vec::new(),
    };
    if let Some(expected) = step_config.kind
        && expected != loaded.kind
    {
        let (article, export) = match loaded.kind {
            Kind::Policy => ("a", "evaluate"),
            Kind::Inspector => ("an", "inspect"),
        };
        return Err(ChainError::KindMismatch {
            step,
            path,
            expected: expected.as_str(),
            actual: loaded.kind.as_str(),
            actual_article: article,
            export,
        });
    }
    let limits = step_config.limits.over(defaults);
    if limits.memory > engine.options().max_memory {
        return Err(step_error(format!(
            "memory limit of {} bytes is over the engine's ceiling of {} bytes ([engine] max-memory)",
            limits.memory,
            engine.options().max_memory
        )));
    }
    let settings: BTreeMap<String, String> = step_config
        .settings
        .iter()
        .map(|(k, v)| (k.clone(), config::setting_text(v)))
        .collect();
    let provisional = step_config
        .name
        .clone()
        .unwrap_or_else(|| format!("step-{}", index + 1));
    let plugin = engine
        .prepare(
            &loaded,
            &provisional,
            Arc::new(settings),
            limits,
            step_config.instance,
        )
        .map_err(|error| ChainError::Plugin {
            step: step.clone(),
            error,
        })?;
    let name = step_config
        .name
        .clone()
        .unwrap_or_else(|| plugin.info().name.clone());
    let tools = match &step_config.applies_to.tools {
        Some(tools) => glob_set(tools.iter().map(|glob| glob.0.clone())),
        None => glob_set([]),
    }
    .map_err(step_error)?;
    let plugin_tools = plugin
        .info()
        .tools
        .iter()
        .map(|pattern| Glob::new(pattern).map_err(|e| format!("tool glob `{pattern}`: {e}")))
        .collect::<Result<Vec<_>, _>>()
        .and_then(glob_set)
        .map_err(|e| step_error(format!("describe(): {e}")))?;
    let plugin_phases: Vec<Phase> = plugin.info().phases.iter().map(|p| phase_of(*p)).collect();
    let phases = match &step_config.applies_to.phases {
        Some(phases) => phases
            .iter()
            .copied()
            .filter(|p| plugin_phases.is_empty() || plugin_phases.contains(p))
            .collect(),
        None if plugin_phases.is_empty() => vec![Phase::Request, Phase::Response, Phase::Elevation],
        None => plugin_phases,
    };
    Ok(Step {
        name,
        plugin,
        digest,
        mode: step_config.mode,
        limits,
        tools,
        plugin_tools,
        phases,
        signed_by,
    })
}

/// What a request's redactions apply to: the output in the response phase, else the arguments.
fn redaction_target(request: &Request) -> Value {
    match request.phase {
        Phase::Response => request
            .output
            .as_ref()
            .map_or(Value::Null, crate::request::ToolOutput::as_value),
        Phase::Request | Phase::Elevation => request.action.args.clone(),
    }
}

/// A glob set; no globs at all match every tool.
fn glob_set(globs: impl IntoIterator<Item = Glob>) -> Result<GlobSet, String> {
    let mut builder = GlobSetBuilder::new();
    let mut any = false;
    for glob in globs {
        builder.add(glob);
        any = true;
    }
    if !any {
        builder.add(Glob::new("*").map_err(|e| e.to_string())?);
    }
    builder.build().map_err(|e| e.to_string())
}

fn phase_of(phase: bindings::Phase) -> Phase {
    match phase {
        bindings::Phase::Request => Phase::Request,
        bindings::Phase::Response => Phase::Response,
        bindings::Phase::Elevation => Phase::Elevation,
    }
}

fn wit_phase(phase: Phase) -> bindings::Phase {
    match phase {
        Phase::Request => bindings::Phase::Request,
        Phase::Response => bindings::Phase::Response,
        Phase::Elevation => bindings::Phase::Elevation,
    }
}

/// The plugins' view of a request in decision `id`, as the first step gets it: no findings
/// yet, the request's own labels.
pub fn plugin_input(id: &str, request: &Request) -> bindings::Input {
    bindings::Input {
        id: id.to_string(),
        phase: wit_phase(request.phase),
        principal: bindings::Principal {
            agent: request.principal.agent.clone(),
            roles: request.principal.roles.clone(),
            session: request.principal.session.clone(),
            task: request.principal.task.clone(),
        },
        action: bindings::Action {
            tool: request.action.tool.clone(),
            args: request.action.args.to_string(),
            resource: request.action.resource.clone(),
        },
        output: request.output.as_ref().map(|output| match output {
            crate::request::ToolOutput::Text(text) => bindings::ToolOutput::Text(text.clone()),
            crate::request::ToolOutput::Json(value) => {
                bindings::ToolOutput::Json(value.to_string())
            }
        }),
        grants: request.grants.clone(),
        labels: request.labels.clone(),
        findings: Vec::new(),
    }
}

/// When the step requires a signature: its signature file and the trusted signers that
/// vouch for the plugin's digest. Checked before the plugin is compiled.
fn signatures(
    config: &ChainConfig,
    step_config: &config::StepConfig,
    base_dir: &Path,
    plugin: &Path,
    digest: Digest,
) -> Result<Option<(crate::signing::SignatureFile, Vec<String>)>, crate::signing::SigningError> {
    let required = config.required_signers(step_config);
    if required.is_empty() {
        return Ok(None);
    }
    let configured = step_config.signature.as_ref().map(|p| base_dir.join(p));
    let path = crate::signing::signature_path(plugin, configured.as_deref());
    let file = crate::signing::SignatureFile::read(&path)?;
    let signers = file.check(digest, &config.signers, required)?;
    Ok(Some((file, signers)))
}

fn base_record<T>(step: &Step, call: &Call<T>) -> StepRecord {
    StepRecord {
        name: step.name.clone(),
        plugin: step.digest,
        signed_by: step.signed_by.clone(),
        kind: step.plugin.kind(),
        mode: step.mode,
        instance: step.plugin.instance_mode(),
        verdict: StepVerdict::Failed,
        findings: Vec::new(),
        labels: Vec::new(),
        redactions: 0,
        fuel: call.fuel_used,
        micros: u64::try_from(call.elapsed.as_micros()).unwrap_or(u64::MAX),
        error: None,
    }
}

fn fail(record: &mut StepRecord, kind: FailureKind, message: String) {
    record.verdict = StepVerdict::Failed;
    record.findings.clear();
    record.labels.clear();
    record.error = Some(StepError { kind, message });
}

fn add_labels(labels: &mut Vec<String>, new: &[String]) {
    for label in new {
        if !labels.contains(label) {
            labels.push(label.clone());
        }
    }
}
