//! `lampart plugin run`: one plugin, one request, and everything the call left: the raw
//! verdict or inspection, what it cost, and what the plugin logged and wrote to standard
//! error.

use std::path::Path;
use std::process::ExitCode;
use std::time::Duration;

use globset::Glob;
use lampart::chain::{Severity, plugin_input};
use lampart::engine::bindings::{self, Finding, Redaction};
use lampart::engine::{Call, Failure, Kind, Limits, LogLine};
use lampart::request::{Phase as RequestPhase, Request};
use serde_json::{Value, json};

use super::{Format, SettingsArgs, phase_name};
use crate::cli::input::one_request;
use crate::cli::text::escape;

/// What a plugin answered, whichever world it exports.
struct Answer {
    /// A policy's verdict; `None` for an inspector.
    verdict: Option<bindings::Verdict>,
    findings: Vec<Finding>,
    labels: Vec<String>,
    redactions: Vec<Redaction>,
}

/// Runs `file` on the request in `request_path` and prints what the call returned and cost.
pub fn run(
    file: &Path,
    settings: &SettingsArgs,
    phase: Option<RequestPhase>,
    request_path: &Path,
    format: Format,
) -> anyhow::Result<ExitCode> {
    // The request first: a bad one is reported before the plugin is compiled.
    let mut request = one_request(request_path)?;
    if let Some(phase) = phase {
        request.phase = phase;
        request.validate().map_err(|err| {
            anyhow::anyhow!(
                "request {} with --phase {}: {err}",
                request_path.display(),
                phase.as_str()
            )
        })?;
    }
    let (engine, loaded, plugin, limits) = super::prepare_with_limits(file, settings)?;
    let input = plugin_input(&uuid::Uuid::now_v7().to_string(), &request);
    let call = match plugin.kind() {
        Kind::Policy => answered(engine.evaluate(&plugin, &input, limits), |d| Answer {
            verdict: Some(d.verdict),
            findings: d.findings,
            labels: d.labels,
            redactions: Vec::new(),
        }),
        Kind::Inspector => answered(engine.inspect(&plugin, &input, limits), |i| Answer {
            verdict: None,
            findings: i.findings,
            labels: i.labels,
            redactions: i.redactions,
        }),
    };
    let info = plugin.info();
    let applies = applies(&info.tools, &info.phases, &request);
    let report = Report {
        file,
        digest: loaded.digest_string(),
        kind: plugin.kind(),
        name: &info.name,
        version: &info.version,
        request: &request,
        applies,
        limits,
        call: &call,
    };
    match format {
        Format::Json => println!("{}", report.json()),
        Format::Text => {
            for line in report.text() {
                println!("{line}");
            }
        }
    }
    Ok(if call.result.is_ok() {
        ExitCode::SUCCESS
    } else {
        ExitCode::from(crate::cli::EXIT_DENY)
    })
}

/// The call with its output as an [`Answer`].
fn answered<T>(call: Call<T>, answer: impl FnOnce(T) -> Answer) -> Call<Answer> {
    Call {
        result: call.result.map(answer),
        fuel_used: call.fuel_used,
        elapsed: call.elapsed,
        peak_memory: call.peak_memory,
        logs: call.logs,
        logs_dropped: call.logs_dropped,
        stderr: call.stderr,
    }
}

/// Whether a chain step of this plugin (with no `applies-to` of its own) would run on the
/// request: the plugin's `describe()` names its tools (globs; none: every tool) and phases
/// (none: every phase).
fn applies(tools: &[String], phases: &[bindings::Phase], request: &Request) -> bool {
    let phase_ok = phases.is_empty()
        || phases
            .iter()
            .any(|p| phase_name(*p) == request.phase.as_str());
    let tool_ok = tools.is_empty()
        || tools.iter().any(|pattern| {
            Glob::new(pattern).is_ok_and(|g| g.compile_matcher().is_match(&request.action.tool))
        });
    phase_ok && tool_ok
}

/// Everything shown about one call.
struct Report<'a> {
    file: &'a Path,
    digest: String,
    kind: Kind,
    name: &'a str,
    version: &'a str,
    request: &'a Request,
    applies: bool,
    limits: Limits,
    call: &'a Call<Answer>,
}

impl Report<'_> {
    fn json(&self) -> Value {
        let call = self.call;
        let mut report = json!({
            "file": self.file.display().to_string(),
            "digest": self.digest,
            "world": self.kind.as_str(),
            "name": self.name,
            "version": self.version,
            "tool": self.request.action.tool,
            "phase": self.request.phase,
            "applies": self.applies,
            "fuel": call.fuel_used,
            "fuel_limit": self.limits.fuel,
            "peak_memory": call.peak_memory,
            "memory_limit": self.limits.memory,
            "micros": u64::try_from(call.elapsed.as_micros()).unwrap_or(u64::MAX),
            "logs": call.logs.iter().map(|l| json!({"level": l.level.as_str(), "message": l.message})).collect::<Vec<_>>(),
            "logs_dropped": call.logs_dropped,
            "stderr": call.stderr,
        });
        match &call.result {
            Ok(answer) => {
                let (verdict, detail) = verdict(answer);
                report["verdict"] = json!(verdict);
                match &answer.verdict {
                    Some(bindings::Verdict::Deny(_)) => report["reason"] = json!(detail),
                    Some(bindings::Verdict::Require(scopes)) => report["scopes"] = json!(scopes),
                    _ => {}
                }
                report["findings"] = answer.findings.iter().map(finding_json).collect();
                report["labels"] = json!(answer.labels);
                if self.kind == Kind::Inspector {
                    report["redactions"] = answer
                        .redactions
                        .iter()
                        .map(|r| json!({"location": r.location, "find": r.find, "replacement": r.replacement}))
                        .collect();
                }
            }
            Err(failure) => {
                report["verdict"] = json!("failed");
                report["error"] =
                    json!({"kind": failure.kind.as_str(), "message": failure.message});
            }
        }
        report
    }

    /// Lines for people, every text from the request or the plugin escaped.
    fn text(&self) -> Vec<String> {
        let call = self.call;
        let mut lines = vec![
            format!(
                "plugin:    {} ({} {}, {}, {})",
                escape(&self.file.display().to_string()),
                escape(self.name),
                escape(self.version),
                self.kind.as_str(),
                self.digest
            ),
            format!(
                "request:   tool `{}`, phase {}",
                escape(&self.request.action.tool),
                self.request.phase.as_str()
            ),
        ];
        if !self.applies {
            lines.push(
                "applies:   no: describe() names other tools or phases, so a chain step of this plugin would not run on this request".into(),
            );
        }
        match &call.result {
            Ok(answer) => {
                let (verdict, detail) = verdict(answer);
                lines.push(match detail {
                    Some(detail) => format!("verdict:   {verdict}: {}", escape(&detail)),
                    None => format!("verdict:   {verdict}"),
                });
                lines.extend(answer.findings.iter().map(finding_line));
                lines.extend(
                    answer
                        .labels
                        .iter()
                        .map(|l| format!("label:     {}", escape(l))),
                );
                lines.extend(answer.redactions.iter().map(redaction_line));
            }
            Err(failure) => lines.push(failure_line(failure)),
        }
        lines.push(match call.fuel_used {
            Some(fuel) => format!("fuel:      {fuel} of {}", self.limits.fuel),
            None => format!(
                "fuel:      not known (the deadline stopped the call) of {}",
                self.limits.fuel
            ),
        });
        lines.push(format!(
            "memory:    {} at its peak, of {}",
            bytes(call.peak_memory),
            bytes(self.limits.memory)
        ));
        lines.push(format!("time:      {}", millis(call.elapsed)));
        lines.extend(call.logs.iter().map(log_line));
        if call.logs_dropped > 0 {
            lines.push(format!(
                "log:       ({} more lines not kept)",
                call.logs_dropped
            ));
        }
        lines.extend(
            call.stderr
                .lines()
                .map(|line| format!("stderr:    {}", escape(line))),
        );
        lines
    }
}

/// The verdict's word, and its detail: a policy's deny reason or required scopes.
fn verdict(answer: &Answer) -> (&'static str, Option<String>) {
    match &answer.verdict {
        None => ("inspected", None),
        Some(bindings::Verdict::Allow) => ("allow", None),
        Some(bindings::Verdict::Abstain) => ("abstain", None),
        Some(bindings::Verdict::Deny(reason)) => ("deny", Some(reason.clone())),
        Some(bindings::Verdict::Require(scopes)) => ("require", Some(scopes.join(", "))),
    }
}

fn finding_json(finding: &Finding) -> Value {
    json!({
        "rule": finding.rule,
        "severity": Severity::from(finding.severity).as_str(),
        "message": finding.message,
        "location": finding.location,
    })
}

fn finding_line(finding: &Finding) -> String {
    let at = finding
        .location
        .as_deref()
        .map(|at| format!(" at {}", escape(at)))
        .unwrap_or_default();
    format!(
        "finding:   {} {}{at}: {}",
        Severity::from(finding.severity).as_str(),
        escape(&finding.rule),
        escape(&finding.message)
    )
}

fn redaction_line(redaction: &Redaction) -> String {
    let what = match &redaction.find {
        Some(find) => format!("{} ", Value::from(find.as_str())),
        None => "the value ".into(),
    };
    format!(
        "redaction: at {}: {}-> {}",
        escape(&redaction.location),
        escape(&what),
        escape(&Value::from(redaction.replacement.as_str()).to_string())
    )
}

fn failure_line(failure: &Failure) -> String {
    format!(
        "verdict:   failed ({}): {}",
        failure.kind.as_str(),
        escape(&failure.message)
    )
}

fn log_line(line: &LogLine) -> String {
    format!(
        "log:       {}: {}",
        line.level.as_str(),
        escape(&line.message)
    )
}

/// A byte count for people: bytes, KiB or MiB.
fn bytes(n: usize) -> String {
    match n {
        n if n >= 1 << 20 => format!("{:.1} MiB", n as f64 / f64::from(1 << 20)),
        n if n >= 1 << 10 => format!("{:.1} KiB", n as f64 / f64::from(1 << 10)),
        n => format!("{n} bytes"),
    }
}

fn millis(elapsed: Duration) -> String {
    format!("{:.3} ms", elapsed.as_secs_f64() * 1000.0)
}
