//! `prompt-injection`: an inspector that finds instructions aimed at the agent in what tools
//! answer — e-mails, web pages, files, reviews, calendar entries, and the tool descriptions
//! an MCP server lists — before the agent reads them.
//!
//! # Rules
//!
//! Each rule is `injection.<family>`; a finding's severity is the detection's confidence
//! (`high`, `medium` or `low`), except that `injection.unicode-tags` is `critical`.
//!
//! | family | what |
//! | --- | --- |
//! | `override` | "ignore / disregard / forget (all, previous, your, …) instructions", "new instructions:", "from now on you are", "you are now DAN", "developer mode", "instead of the original task", "your real task" |
//! | `fake-role` | chat-template tokens (`<\|im_start\|>`, `[INST]`, `<<SYS>>`, `<\|eot_id\|>`, …), `(system_message)`, `[SYSTEM]`, fake ends of a tool's output (`</tool_output>`, "end of tool output"), lines starting `System:`, `Instructions:`, `Assistant:` (medium) |
//! | `impersonation` | "important message from the user / me / the developer", `<INFORMATION>` wrappers, "the user has asked you to", "on behalf of the user", "signed, the user" |
//! | `tool-instruction` | references to the agent's own task from inside the data ("before you can solve the task that I gave you", "do the following first", "in your response"), text addressed to an AI with something to do, tools called by name ("call the send_money function"), "without telling the user", "don't mention this"; an urgent instruction to send or pay to an address (medium) |
//! | `hidden-text` | bidirectional overrides or three or more invisible characters (medium); instructions in HTML comments or hidden styles (high) |
//! | `unicode-tags` | four or more Unicode tag characters (U+E0000–U+E007F): text hidden from people; it is decoded and read like the rest |
//! | `exfil-link` | a markdown image, link or `<img>` whose URL is a template for data (`?q={conversation}`, `$SECRET`, `[DATA]`), a markdown image with a long query value (medium), instructions to put data into a URL or image |
//! | `injection.invalid-settings` | the settings cannot be read |
//!
//! Every finding labels the session `untrusted-content` (setting `label`), so that a policy
//! can require an elevation for side effects after the agent read injected text.
//!
//! # How
//!
//! The text is read as words after normalisation (lower case, invisible characters removed,
//! tag characters decoded, markdown emphasis dropped), so `**Ignore** all previous
//! instructions`, zero-width splits and tag-hidden text read as plain words. Patterns are word
//! sequences with small gaps ("ignore *all of your* previous instructions"); an instruction
//! a person writes to another ("ignore my previous e-mail", "please forward this to Bob")
//! does not match, because the patterns look for what addresses a model: its instructions,
//! its task, its user, its tools.
//!
//! # Settings
//!
//! - `min-confidence` (default `"medium"`): detections below it are not reported (`low`,
//!   `medium` or `high`).
//! - `families`: the families to report (default all).
//! - `label` (default `"untrusted-content"`); `""` for none.
//!
//! # Not seen
//!
//! Instructions in other languages, paraphrases that avoid every pattern, text in images,
//! and instructions split across several strings of a JSON answer.

pub mod detect;

use lampart_sdk::{Finding, HostSettings, Info, Input, Inspection, Phase, Settings, Severity, log};

pub use detect::{Confidence, Detection, Family, detect};

/// At most this many findings per inspection.
pub const MAX_FINDINGS: usize = 64;

/// The inspector's settings, read and checked once.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Config {
    /// Detections below this are not reported.
    pub min_confidence: Confidence,
    /// Families to report.
    pub families: Vec<Family>,
    /// The label for a finding.
    pub label: Option<String>,
}

impl Config {
    /// Reads the settings.
    pub fn read(settings: &impl Settings) -> Result<Config, String> {
        settings
            .check_keys(&["min-confidence", "families", "label"])
            .map_err(|e| e.to_string())?;
        let min_confidence = match settings
            .get_json::<String>("min-confidence")
            .map_err(|e| e.to_string())?
            .as_deref()
        {
            Some("low") => Confidence::Low,
            None | Some("medium") => Confidence::Medium,
            Some("high") => Confidence::High,
            Some(other) => {
                return Err(format!(
                    "setting `min-confidence`: `{other}` is not one of low, medium, high"
                ));
            }
        };
        let families = match settings
            .get_json::<Vec<String>>("families")
            .map_err(|e| format!("{e} (expected a list of families)"))?
        {
            None => Family::ALL.to_vec(),
            Some(names) => names
                .iter()
                .map(|name| {
                    Family::ALL
                        .into_iter()
                        .find(|f| f.as_str() == name)
                        .ok_or_else(|| {
                            let known: Vec<&str> = Family::ALL.iter().map(|f| f.as_str()).collect();
                            format!(
                                "setting `families`: unknown family `{name}` (known: {})",
                                known.join(", ")
                            )
                        })
                })
                .collect::<Result<_, _>>()?,
        };
        let label = settings
            .get_json::<String>("label")
            .map_err(|e| format!("{e} (expected a string)"))?
            .unwrap_or_else(|| "untrusted-content".into());
        Ok(Config {
            min_confidence,
            families,
            label: (!label.is_empty()).then_some(label),
        })
    }
}

/// The severity of a detection.
pub fn severity(detection: &Detection) -> Severity {
    match (detection.family, detection.confidence) {
        (Family::UnicodeTags, _) => Severity::Critical,
        (_, Confidence::High) => Severity::High,
        (_, Confidence::Medium) => Severity::Medium,
        (_, Confidence::Low) => Severity::Low,
    }
}

/// Inspects `input` under `config`: the tool's answer in the response phase.
pub fn inspect_with(config: &Config, input: &Input) -> Inspection {
    let mut out = Inspection::new();
    for (pointer, text) in input.output_strings() {
        for detection in detect(text) {
            if detection.confidence < config.min_confidence
                || !config.families.contains(&detection.family)
                || out.findings.len() >= MAX_FINDINGS
            {
                continue;
            }
            let rule = format!("injection.{}", detection.family.as_str());
            let message = format!("instructions aimed at the agent: {}", detection.evidence);
            out.findings
                .push(Finding::new(rule, severity(&detection), message).at(pointer.clone()));
        }
    }
    if !out.findings.is_empty()
        && let Some(label) = &config.label
    {
        out.add_label_once(label);
    }
    out
}

fn inspect(input: &Input) -> Inspection {
    match Config::read(&HostSettings) {
        Ok(config) => inspect_with(&config, input),
        Err(e) => {
            log::error(&e);
            Inspection::new().with_finding(Finding::critical("injection.invalid-settings", e))
        }
    }
}

fn describe() -> Info {
    if let Err(e) = Config::read(&HostSettings) {
        log::error(&e);
        panic!("{e}");
    }
    Info::new("prompt-injection", env!("CARGO_PKG_VERSION")).phases([Phase::Response])
}

lampart_sdk::export_inspector!(inspect, describe = describe);

#[cfg(test)]
mod tests;
