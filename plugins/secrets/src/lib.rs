//! `secrets`: an inspector that finds credentials in an action's arguments and in a tool's
//! answer, and redacts them (`[REDACTED:<kind>]`) before they reach the tool or the agent.
//!
//! # What it looks at
//!
//! In the request phase every string of the arguments (or only those under the JSON pointers
//! of setting `fields`), in the response phase every string of the tool's answer (or its
//! whole text). A value held under a secret-sounding key (`"password"`, `"api_key"`,
//! `"client_secret"`, `"GITHUB_TOKEN"`, …) is judged as a whole, as is `NAME=VALUE` text.
//! The secret itself never appears in a finding: findings carry the kind and the location.
//!
//! # Rules
//!
//! Each rule is `secrets.<kind>`:
//!
//! | kind | severity | shape |
//! | --- | --- | --- |
//! | `aws-access-key-id` | critical | `AKIA`/`ASIA`/`ABIA`/`ACCA` + 16 upper-case letters or digits |
//! | `aws-secret-access-key` | critical | a value assigned to `aws_secret_access_key` (any spelling with `secret_access_key`) |
//! | `azure-storage-key` | critical | `AccountKey=` + 86–88 base64 bytes |
//! | `google-api-key` | high | `AIza` + 35 base64url bytes |
//! | `github-token` | critical | `ghp_`, `gho_`, `ghu_`, `ghs_`, `ghr_` + 36 or more; `github_pat_…` |
//! | `gitlab-token` | critical | `glpat-` + 20 or more |
//! | `slack-token` | critical | `xoxb-`, `xoxp-`, `xoxa-`, `xoxr-`, `xoxs-`, `xoxe-`, `xoxo-` … |
//! | `slack-webhook` | high | `hooks.slack.com/services/…` |
//! | `stripe-key` | critical | `sk_live_`, `rk_live_` + 20 or more |
//! | `stripe-test-key` | medium | `sk_test_` + 20 or more |
//! | `openai-key` | critical | `sk-` (also `sk-proj-`, `sk-svcacct-`) + 32 or more base64url |
//! | `anthropic-key` | critical | `sk-ant-` + 32 or more |
//! | `sendgrid-key` | critical | `SG.` + 22 + `.` + 43 |
//! | `twilio-key` | high | `SK` + 32 lower-case hex digits |
//! | `npm-token` | critical | `npm_` + 36 |
//! | `pypi-token` | critical | `pypi-AgEIcHlwaS5vcmc…` |
//! | `huggingface-token` | high | `hf_` + 34 to 40 |
//! | `private-key` | critical | a PEM `-----BEGIN … PRIVATE KEY-----` block (RSA, EC, DSA, OpenSSH, PGP, PKCS#8, encrypted) |
//! | `jwt` | high | `eyJ….eyJ….<signature>` |
//! | `url-password` | high | the password of `scheme://user:password@host` |
//! | `bearer-token` | high | `Bearer <token>` with a token of 20 or more bytes |
//! | `generic-secret` | high | a value assigned to a secret-sounding name: passwords of 6 or more bytes (not all lower-case letters); other values of 16 or more bytes with letters and digits and an entropy of 3 bits per byte or more |
//! | `secrets.invalid-settings` | critical | the settings cannot be read |
//!
//! Tokens are matched at word starts and must end where their alphabet ends, so a longer
//! identifier is not cut into a key. Placeholders are not secrets: `***`, `<password>`,
//! `${TOKEN}`, `xxxx`, `changeme`, `your-api-key`, `[REDACTED]`, `example`.
//!
//! # Settings
//!
//! - `redact` (default `true`): ask the host to replace each secret with
//!   `[REDACTED:<kind>]`; `false` only reports.
//! - `redacted-severity` (default `"medium"`): a redacted secret no longer leaves, so its
//!   finding is reported at most this serious (below the usual `deny-at = "high"`, so the
//!   action goes on without it). `"critical"` keeps each kind's own severity: any secret
//!   then denies. Without redaction, each kind's own severity applies.
//! - `fields`: JSON pointers of the arguments to look at (request phase); default all.
//! - `ignore`: kinds not to report, e.g. `["stripe-test-key", "jwt"]`.
//! - `label` (default `"secret-seen"`): put on the session when a secret is found in a
//!   tool's answer (the agent has now seen it); `""` for none.
//!
//! # Not seen
//!
//! Secrets split across strings, encoded (base64, hex, URL-encoded beyond a URL's
//! password) or with no recognisable shape and no telling name (a bare password).

pub mod scan;

use std::collections::BTreeSet;

use lampart_sdk::json::{is_pointer, push_token};
use lampart_sdk::serde_json::Value;
use lampart_sdk::{
    Finding, HostSettings, Info, Input, Inspection, Phase, Redaction, Settings, Severity, log,
};

pub use scan::{Hit, KINDS, scan};

/// At most this many findings per inspection.
pub const MAX_FINDINGS: usize = 256;

/// The inspector's settings, read and checked once.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Config {
    /// Ask for redactions.
    pub redact: bool,
    /// The most serious a redacted secret's finding is.
    pub redacted_severity: Severity,
    /// Pointers to look at in the arguments; `None` for all.
    pub fields: Option<Vec<String>>,
    /// Kinds not to report.
    pub ignore: BTreeSet<String>,
    /// The label for a secret in a tool's answer.
    pub label: Option<String>,
}

impl Config {
    /// Reads the settings.
    pub fn read(settings: &impl Settings) -> Result<Config, String> {
        settings
            .check_keys(&["redact", "redacted-severity", "fields", "ignore", "label"])
            .map_err(|e| e.to_string())?;
        let redact = settings
            .get_json::<bool>("redact")
            .map_err(|e| format!("{e} (expected true or false)"))?
            .unwrap_or(true);
        let redacted_severity = match settings
            .get_json::<String>("redacted-severity")
            .map_err(|e| e.to_string())?
        {
            None => Severity::Medium,
            Some(name) => Severity::ALL
                .into_iter()
                .find(|s| s.as_str() == name)
                .ok_or_else(|| {
                    format!(
                        "setting `redacted-severity`: `{name}` is not one of info, low, medium, high, critical"
                    )
                })?,
        };
        let fields = settings
            .get_json::<Vec<String>>("fields")
            .map_err(|e| format!("{e} (expected a JSON array of JSON pointers)"))?;
        if let Some(bad) = fields.iter().flatten().find(|f| !is_pointer(f)) {
            return Err(format!(
                "setting `fields`: `{bad}` is not a JSON pointer (write `/{bad}`)"
            ));
        }
        let ignore: BTreeSet<String> = settings
            .get_json::<Vec<String>>("ignore")
            .map_err(|e| format!("{e} (expected a list of kinds)"))?
            .unwrap_or_default()
            .into_iter()
            .collect();
        if let Some(bad) = ignore
            .iter()
            .find(|k| !KINDS.iter().any(|(kind, _, _)| kind == k))
        {
            let known: Vec<&str> = KINDS.iter().map(|(k, _, _)| *k).collect();
            return Err(format!(
                "setting `ignore`: unknown kind `{bad}` (known: {})",
                known.join(", ")
            ));
        }
        let label = settings
            .get_json::<String>("label")
            .map_err(|e| format!("{e} (expected a string)"))?
            .unwrap_or_else(|| "secret-seen".into());
        Ok(Config {
            redact,
            redacted_severity,
            fields,
            ignore,
            label: (!label.is_empty()).then_some(label),
        })
    }
}

/// Inspects `input` under `config`.
pub fn inspect_with(config: &Config, input: &Input) -> Inspection {
    let mut found = Found {
        config,
        out: Inspection::new(),
    };
    match input.phase() {
        Phase::Response => match (input.output_json(), input.output_text()) {
            (Some(json), _) => found.value(json, String::new(), None),
            (None, Some(text)) => found.text(text, ""),
            (None, None) => {}
        },
        Phase::Request | Phase::Elevation => match &config.fields {
            None => found.value(input.args(), String::new(), None),
            Some(pointers) => {
                for pointer in pointers {
                    if let Some(value) = input.arg(pointer) {
                        found.value(value, pointer.clone(), None);
                    }
                }
            }
        },
    }
    let mut out = found.out;
    if input.phase() == Phase::Response
        && !out.findings.is_empty()
        && let Some(label) = &config.label
    {
        out.add_label_once(label);
    }
    out
}

/// The findings and redactions of one inspection, as they are found.
struct Found<'a> {
    config: &'a Config,
    out: Inspection,
}

impl Found<'_> {
    /// Every string under `value`; `key` is the name it is held under, if any.
    fn value(&mut self, value: &Value, pointer: String, key: Option<&str>) {
        match value {
            Value::String(text) => {
                let named = key.is_some_and(scan::secret_name)
                    && scan::plausible_secret(key.unwrap_or_default(), text.as_bytes());
                if named && scan(text).is_empty() {
                    let kind = if key.is_some_and(|k| {
                        let k = k.to_ascii_lowercase();
                        k.contains("secret_access_key") || k.contains("secretaccesskey")
                    }) {
                        "aws-secret-access-key"
                    } else {
                        "generic-secret"
                    };
                    self.report(kind, &pointer, text, true);
                } else {
                    self.text(text, &pointer);
                }
            }
            Value::Array(items) => {
                for (i, item) in items.iter().enumerate() {
                    self.value(item, format!("{pointer}/{i}"), None);
                }
            }
            Value::Object(map) => {
                for (k, v) in map {
                    self.value(v, push_token(&pointer, k), Some(k));
                }
            }
            _ => {}
        }
    }

    fn text(&mut self, text: &str, pointer: &str) {
        for hit in scan(text) {
            let secret = &text[hit.start..hit.end];
            self.report(hit.kind, pointer, secret, secret.len() == text.len());
        }
    }

    fn report(&mut self, kind: &'static str, pointer: &str, secret: &str, whole: bool) {
        if self.config.ignore.contains(kind) || self.out.findings.len() >= MAX_FINDINGS {
            return;
        }
        let rule = format!("secrets.{kind}");
        let (mut severity, what) = scan::describe(kind);
        if self.config.redact {
            severity = severity.min(self.config.redacted_severity);
        }
        let duplicate = self
            .out
            .findings
            .iter()
            .any(|f| f.rule == rule && f.location.as_deref() == Some(pointer));
        if !duplicate {
            self.out.findings.push(
                Finding::new(
                    rule,
                    severity,
                    if self.config.redact {
                        format!("{what} was redacted")
                    } else {
                        format!("{what} is exposed")
                    },
                )
                .at(pointer.to_owned()),
            );
        }
        if self.config.redact {
            let replacement = format!("[REDACTED:{kind}]");
            let redaction = if whole {
                Redaction::whole(pointer.to_owned(), replacement)
            } else {
                Redaction::text(pointer.to_owned(), secret.to_owned(), replacement)
            };
            if !self.out.redactions.contains(&redaction) {
                self.out.redactions.push(redaction);
            }
        }
    }
}

fn inspect(input: &Input) -> Inspection {
    match Config::read(&HostSettings) {
        Ok(config) => inspect_with(&config, input),
        Err(e) => {
            log::error(&e);
            Inspection::new().with_finding(Finding::critical("secrets.invalid-settings", e))
        }
    }
}

fn describe() -> Info {
    if let Err(e) = Config::read(&HostSettings) {
        log::error(&e);
        panic!("{e}");
    }
    Info::new("secrets", env!("CARGO_PKG_VERSION")).phases([Phase::Request, Phase::Response])
}

lampart_sdk::export_inspector!(inspect, describe = describe);

#[cfg(test)]
mod tests;
