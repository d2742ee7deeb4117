//! `egress`: an inspector that checks where an action would send data — the hosts of URLs
//! and the domains of e-mail addresses in its arguments — against allow and deny lists, and
//! looks for data smuggled out in URLs.
//!
//! # Rules
//!
//! | rule | severity | fires on |
//! | --- | --- | --- |
//! | `egress.denied-host` | critical | a URL host or e-mail domain on the `deny` list |
//! | `egress.unlisted-host` | high | with an `allow` list: a URL host or e-mail domain not on it |
//! | `egress.internal-address` | high | a URL to a loopback, private, link-local (cloud metadata `169.254.169.254`) or unspecified address, or `localhost` (unless allowed) |
//! | `egress.ip-literal` | medium | a URL to a public IP address rather than a name (unless allowed) |
//! | `egress.data-in-url` | high | a query value or path segment of 64 or more base64, hex or URL-safe characters, or of 24 or more with an entropy of 4 bits per character or more; or a query of more than 1 KiB |
//! | `egress.invalid-settings` | critical | the settings cannot be read |
//!
//! # Host rules
//!
//! `allow` and `deny` are lists of host rules: `example.com` matches that host only,
//! `*.example.com` its subdomains only, `.example.com` both. Hosts compare case-
//! insensitively, without a trailing dot; an IP address matches itself. `deny` wins over
//! `allow`. With no `allow` list, every host not denied is fine (but internal addresses and
//! IP literals are still reported).
//!
//! # Settings
//!
//! - `allow`, `deny`: host rules, as above.
//! - `emails` (default `true`): check the domains of e-mail addresses too.
//! - `fields`: JSON pointers of the arguments to look at; default all.
//!
//! # Not seen
//!
//! Hosts written without a scheme (`example.com/path`), data encoded in DNS names or in
//! the path beyond the shapes above, and where a redirect would lead.

pub mod url;

use lampart_sdk::json::{is_pointer, strings};
use lampart_sdk::serde_json::Value;
use lampart_sdk::{Finding, HostSettings, Info, Input, Inspection, Phase, Settings, log};

/// At most this many findings per inspection.
pub const MAX_FINDINGS: usize = 256;

/// A host rule.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum HostRule {
    /// This host only.
    Exact(String),
    /// Its subdomains only (`*.example.com`).
    Subdomains(String),
    /// The domain and its subdomains (`.example.com`).
    Domain(String),
}

impl HostRule {
    /// Parses `example.com`, `*.example.com` or `.example.com`.
    pub fn parse(text: &str) -> Result<HostRule, String> {
        let lower = text.trim_end_matches('.').to_ascii_lowercase();
        let (rule, name): (fn(String) -> HostRule, &str) =
            if let Some(rest) = lower.strip_prefix("*.") {
                (HostRule::Subdomains, rest)
            } else if let Some(rest) = lower.strip_prefix('.') {
                (HostRule::Domain, rest)
            } else {
                (HostRule::Exact, lower.as_str())
            };
        let valid = !name.is_empty()
            && name.split('.').all(|label| {
                !label.is_empty()
                    && label
                        .bytes()
                        .all(|b| b.is_ascii_alphanumeric() || b == b'-' || b == b':')
            });
        if !valid {
            return Err(format!(
                "`{text}` is not a host rule (write `example.com`, `*.example.com` or `.example.com`)"
            ));
        }
        Ok(rule(name.to_owned()))
    }

    /// Whether `host` (lower case, no trailing dot) matches.
    pub fn matches(&self, host: &str) -> bool {
        let under = |domain: &str| {
            host.strip_suffix(domain)
                .is_some_and(|rest| rest.ends_with('.') && rest.len() > 1)
        };
        match self {
            HostRule::Exact(name) => host == name,
            HostRule::Subdomains(domain) => under(domain),
            HostRule::Domain(domain) => host == domain || under(domain),
        }
    }
}

/// The inspector's settings, read and checked once.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Config {
    /// Hosts that may be reached; `None` for any not denied.
    pub allow: Option<Vec<HostRule>>,
    /// Hosts that must not be reached.
    pub deny: Vec<HostRule>,
    /// Check e-mail domains.
    pub emails: bool,
    /// Pointers to look at; `None` for all.
    pub fields: Option<Vec<String>>,
}

fn rules(settings: &impl Settings, key: &str) -> Result<Option<Vec<HostRule>>, String> {
    settings
        .get_json::<Vec<String>>(key)
        .map_err(|e| format!("{e} (expected a list of host rules)"))?
        .map(|list| {
            list.iter()
                .map(|r| HostRule::parse(r).map_err(|e| format!("setting `{key}`: {e}")))
                .collect()
        })
        .transpose()
}

impl Config {
    /// Reads the settings.
    pub fn read(settings: &impl Settings) -> Result<Config, String> {
        settings
            .check_keys(&["allow", "deny", "emails", "fields"])
            .map_err(|e| e.to_string())?;
        let fields = settings
            .get_json::<Vec<String>>("fields")
            .map_err(|e| format!("{e} (expected a JSON array of JSON pointers)"))?;
        if let Some(bad) = fields.iter().flatten().find(|f| !is_pointer(f)) {
            return Err(format!(
                "setting `fields`: `{bad}` is not a JSON pointer (write `/{bad}`)"
            ));
        }
        Ok(Config {
            allow: rules(settings, "allow")?,
            deny: rules(settings, "deny")?.unwrap_or_default(),
            emails: settings
                .get_json::<bool>("emails")
                .map_err(|e| format!("{e} (expected true or false)"))?
                .unwrap_or(true),
            fields,
        })
    }

    fn allowed(&self, host: &str) -> Option<bool> {
        self.allow
            .as_ref()
            .map(|rules| rules.iter().any(|r| r.matches(host)))
    }

    fn denied(&self, host: &str) -> bool {
        self.deny.iter().any(|r| r.matches(host))
    }
}

/// Inspects `input` under `config`.
pub fn inspect_with(config: &Config, input: &Input) -> Inspection {
    let mut out = Inspection::new();
    let mut visit = |value: &Value, at: String| {
        for (pointer, text) in strings(value) {
            check_text(config, text, &format!("{at}{pointer}"), &mut out);
        }
    };
    match &config.fields {
        None => visit(input.args(), String::new()),
        Some(pointers) => {
            for pointer in pointers {
                if let Some(value) = input.arg(pointer) {
                    visit(value, pointer.clone());
                }
            }
        }
    }
    out
}

fn report(out: &mut Inspection, finding: Finding) {
    let duplicate = out.findings.iter().any(|f| {
        f.rule == finding.rule && f.location == finding.location && f.message == finding.message
    });
    if !duplicate && out.findings.len() < MAX_FINDINGS {
        out.findings.push(finding);
    }
}

fn check_text(config: &Config, text: &str, pointer: &str, out: &mut Inspection) {
    for found in url::urls(text) {
        let host = found.host.as_str();
        let at = pointer.to_owned();
        if config.denied(host) {
            report(
                out,
                Finding::critical(
                    "egress.denied-host",
                    format!("`{host}` is on the deny list"),
                )
                .at(at),
            );
            continue;
        }
        let allowed = config.allowed(host);
        if allowed == Some(false) {
            report(
                out,
                Finding::high(
                    "egress.unlisted-host",
                    format!("`{host}` is not on the allow list"),
                )
                .at(at.clone()),
            );
        }
        if allowed != Some(true) {
            match url::address_kind(host) {
                url::AddressKind::Internal => report(
                    out,
                    Finding::high(
                        "egress.internal-address",
                        format!("`{host}` is an internal address"),
                    )
                    .at(at.clone()),
                ),
                url::AddressKind::PublicIp => report(
                    out,
                    Finding::medium(
                        "egress.ip-literal",
                        format!("`{host}` is an IP address, not a name"),
                    )
                    .at(at.clone()),
                ),
                url::AddressKind::Name => {}
            }
        }
        // Data to a host on the allow list is data the operator lets go there.
        if allowed != Some(true)
            && let Some(why) = url::smuggled(&found)
        {
            report(
                out,
                Finding::high(
                    "egress.data-in-url",
                    format!("the URL to `{host}` carries {why}"),
                )
                .at(at),
            );
        }
    }
    if config.emails {
        for domain in url::email_domains(text) {
            if config.denied(&domain) {
                report(
                    out,
                    Finding::critical(
                        "egress.denied-host",
                        format!("e-mail domain `{domain}` is on the deny list"),
                    )
                    .at(pointer.to_owned()),
                );
            } else if config.allowed(&domain) == Some(false) {
                report(
                    out,
                    Finding::high(
                        "egress.unlisted-host",
                        format!("e-mail domain `{domain}` is not on the allow list"),
                    )
                    .at(pointer.to_owned()),
                );
            }
        }
    }
}

fn inspect(input: &Input) -> Inspection {
    match Config::read(&HostSettings) {
        Ok(config) => inspect_with(&config, input),
        Err(e) => {
            log::error(&e);
            Inspection::new().with_finding(Finding::critical("egress.invalid-settings", e))
        }
    }
}

fn describe() -> Info {
    if let Err(e) = Config::read(&HostSettings) {
        log::error(&e);
        panic!("{e}");
    }
    Info::new("egress", env!("CARGO_PKG_VERSION")).phases([Phase::Request])
}

lampart_sdk::export_inspector!(inspect, describe = describe);

#[cfg(test)]
mod tests;
