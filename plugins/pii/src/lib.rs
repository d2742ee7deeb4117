//! `pii`: an inspector that finds personal data in an action's arguments and in a tool's
//! answer, and redacts it (`[REDACTED:<kind>]`) or reports it.
//!
//! # Rules
//!
//! Each rule is `pii.<kind>`:
//!
//! | kind | severity | what, and how it is checked |
//! | --- | --- | --- |
//! | `email` | medium | `local@domain.tld` (a letter-only top-level domain of two or more letters) |
//! | `phone` | medium | `+` and 8 to 15 digits (spaces, dashes, dots, parentheses between); North American `(415) 555-2671`, `415-555-2671`, `415.555.2671` |
//! | `iban` | high | a country's IBAN length (39 countries), grouped by spaces or not, passing ISO 7064 mod 97 |
//! | `payment-card` | high | 13 to 19 digits (grouped by spaces or dashes, or not) with a card network's prefix and length (Visa, Mastercard, Amex, Discover, JCB, Diners, UnionPay), passing Luhn |
//! | `us-ssn` | high | `AAA-GG-SSSS` with an area, group and serial ever issued (not `000`, `666`, `9xx`; not `00`; not `0000`) |
//! | `uk-nino` | high | a National Insurance number: allowed prefix letters, six digits, suffix `A`–`D` |
//! | `es-dni` | high | a DNI (`12345678Z`) or NIE (`X1234567L`) with its check letter |
//! | `it-codice-fiscale` | high | a codice fiscale with its check letter |
//! | `pii.invalid-settings` | critical | the settings cannot be read |
//!
//! # Settings
//!
//! - `redact`: `"response"` (the default: redact what tools answer, report what agents
//!   send, since an agent writing an e-mail address in `to` means it), `"always"` or
//!   `"never"`.
//! - `redacted-severity` (default `"low"`): a redacted finding is reported at most this
//!   serious. Unredacted, each kind's own severity applies (so with the usual
//!   `deny-at = "high"` an IBAN or card number sent unredacted denies; list the fields
//!   where one belongs in `skip`).
//! - `fields`: JSON pointers of the arguments to look at (request phase); default all.
//! - `skip`: JSON pointers of the arguments not to look at, e.g. `["/to", "/cc"]`.
//! - `kinds`: the kinds to report (default all).
//! - `label` (default `"pii-seen"`): put on the session when a tool's answer held personal
//!   data; `""` for none.
//!
//! # Not seen
//!
//! Names, postal addresses and dates of birth (no shape to check), numbers written in
//! words or split across strings, national identifiers of other countries, and phone
//! numbers without a country code other than North American ones.

pub mod scan;

use lampart_sdk::json::{is_pointer, push_token};
use lampart_sdk::serde_json::Value;
use lampart_sdk::{
    Finding, HostSettings, Info, Input, Inspection, Phase, Redaction, Settings, Severity, log,
};

pub use scan::{Hit, KINDS, scan};

/// At most this many findings per inspection.
pub const MAX_FINDINGS: usize = 256;

/// When to redact.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Redact {
    /// Tools' answers only.
    Response,
    /// Arguments and answers.
    Always,
    /// Report only.
    Never,
}

/// The inspector's settings, read and checked once.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Config {
    /// When to redact.
    pub redact: Redact,
    /// The most serious a redacted finding is.
    pub redacted_severity: Severity,
    /// Pointers to look at in the arguments; `None` for all.
    pub fields: Option<Vec<String>>,
    /// Pointers not to look at.
    pub skip: Vec<String>,
    /// Kinds to report.
    pub kinds: Vec<&'static str>,
    /// The label for personal data in a tool's answer.
    pub label: Option<String>,
}

fn pointers(settings: &impl Settings, key: &str) -> Result<Option<Vec<String>>, String> {
    let list = settings
        .get_json::<Vec<String>>(key)
        .map_err(|e| format!("{e} (expected a JSON array of JSON pointers)"))?;
    if let Some(bad) = list.iter().flatten().find(|f| !is_pointer(f)) {
        return Err(format!(
            "setting `{key}`: `{bad}` is not a JSON pointer (write `/{bad}`)"
        ));
    }
    Ok(list)
}

impl Config {
    /// Reads the settings.
    pub fn read(settings: &impl Settings) -> Result<Config, String> {
        settings
            .check_keys(&[
                "redact",
                "redacted-severity",
                "fields",
                "skip",
                "kinds",
                "label",
            ])
            .map_err(|e| e.to_string())?;
        let redact = match settings
            .get_json::<String>("redact")
            .map_err(|e| e.to_string())?
            .as_deref()
        {
            None | Some("response") => Redact::Response,
            Some("always") => Redact::Always,
            Some("never") => Redact::Never,
            Some(other) => {
                return Err(format!(
                    "setting `redact`: `{other}` is not one of response, always, never"
                ));
            }
        };
        let redacted_severity = match settings
            .get_json::<String>("redacted-severity")
            .map_err(|e| e.to_string())?
        {
            None => Severity::Low,
            Some(name) => Severity::ALL
                .into_iter()
                .find(|s| s.as_str() == name)
                .ok_or_else(|| {
                    format!(
                        "setting `redacted-severity`: `{name}` is not one of info, low, medium, high, critical"
                    )
                })?,
        };
        let kinds = match settings
            .get_json::<Vec<String>>("kinds")
            .map_err(|e| format!("{e} (expected a list of kinds)"))?
        {
            None => KINDS.iter().map(|(k, _, _)| *k).collect(),
            Some(names) => names
                .iter()
                .map(|name| {
                    KINDS
                        .iter()
                        .map(|(k, _, _)| *k)
                        .find(|k| k == name)
                        .ok_or_else(|| {
                            let known: Vec<&str> = KINDS.iter().map(|(k, _, _)| *k).collect();
                            format!(
                                "setting `kinds`: unknown kind `{name}` (known: {})",
                                known.join(", ")
                            )
                        })
                })
                .collect::<Result<_, _>>()?,
        };
        let label = settings
            .get_json::<String>("label")
            .map_err(|e| format!("{e} (expected a string)"))?
            .unwrap_or_else(|| "pii-seen".into());
        Ok(Config {
            redact,
            redacted_severity,
            fields: pointers(settings, "fields")?,
            skip: pointers(settings, "skip")?.unwrap_or_default(),
            kinds,
            label: (!label.is_empty()).then_some(label),
        })
    }
}

/// Inspects `input` under `config`.
pub fn inspect_with(config: &Config, input: &Input) -> Inspection {
    let response = input.phase() == Phase::Response;
    let mut found = Found {
        config,
        redact: match config.redact {
            Redact::Always => true,
            Redact::Response => response,
            Redact::Never => false,
        },
        out: Inspection::new(),
    };
    if response {
        match (input.output_json(), input.output_text()) {
            (Some(json), _) => found.value(json, String::new()),
            (None, Some(text)) => found.text(text, ""),
            (None, None) => {}
        }
    } else {
        match &config.fields {
            None => found.value(input.args(), String::new()),
            Some(pointers) => {
                for pointer in pointers {
                    if let Some(value) = input.arg(pointer) {
                        found.value(value, pointer.clone());
                    }
                }
            }
        }
    }
    let mut out = found.out;
    if response
        && !out.findings.is_empty()
        && let Some(label) = &config.label
    {
        out.add_label_once(label);
    }
    out
}

struct Found<'a> {
    config: &'a Config,
    redact: bool,
    out: Inspection,
}

impl Found<'_> {
    fn value(&mut self, value: &Value, pointer: String) {
        if self.config.skip.contains(&pointer) {
            return;
        }
        match value {
            Value::String(text) => self.text(text, &pointer),
            Value::Array(items) => {
                for (i, item) in items.iter().enumerate() {
                    self.value(item, format!("{pointer}/{i}"));
                }
            }
            Value::Object(map) => {
                for (k, v) in map {
                    self.value(v, push_token(&pointer, k));
                }
            }
            _ => {}
        }
    }

    fn text(&mut self, text: &str, pointer: &str) {
        for hit in scan(text) {
            if !self.config.kinds.contains(&hit.kind) || self.out.findings.len() >= MAX_FINDINGS {
                continue;
            }
            let rule = format!("pii.{}", hit.kind);
            let (mut severity, what) = scan::describe(hit.kind);
            if self.redact {
                severity = severity.min(self.config.redacted_severity);
            }
            if !self
                .out
                .findings
                .iter()
                .any(|f| f.rule == rule && f.location.as_deref() == Some(pointer))
            {
                let verb = if self.redact { "redacted" } else { "found" };
                self.out.findings.push(
                    Finding::new(rule, severity, format!("{what} {verb}")).at(pointer.to_owned()),
                );
            }
            if self.redact {
                let replacement = format!("[REDACTED:{}]", hit.kind);
                let value = &text[hit.start..hit.end];
                let redaction = if value.len() == text.len() {
                    Redaction::whole(pointer.to_owned(), replacement)
                } else {
                    Redaction::text(pointer.to_owned(), value.to_owned(), replacement)
                };
                if !self.out.redactions.contains(&redaction) {
                    self.out.redactions.push(redaction);
                }
            }
        }
    }
}

fn inspect(input: &Input) -> Inspection {
    match Config::read(&HostSettings) {
        Ok(config) => inspect_with(&config, input),
        Err(e) => {
            log::error(&e);
            Inspection::new().with_finding(Finding::critical("pii.invalid-settings", e))
        }
    }
}

fn describe() -> Info {
    if let Err(e) = Config::read(&HostSettings) {
        log::error(&e);
        panic!("{e}");
    }
    Info::new("pii", env!("CARGO_PKG_VERSION")).phases([Phase::Request, Phase::Response])
}

lampart_sdk::export_inspector!(inspect, describe = describe);

#[cfg(test)]
mod tests;
