//! The chain config: a TOML file naming the plugins of a chain in order, with their limits,
//! settings and what they apply to.
//!
//! ```toml
//! [chain]
//! name = "payments"
//! default = "deny"        # verdict when no policy decides: "deny" or "allow"
//! deny-at = "high"        # an enforcing finding at or above this severity denies ("never": off)
//! signed-by = []          # signers every step needs one signature from, unless it names its own
//!
//! [limits]                # defaults for every step
//! fuel = 100_000_000
//! memory = "64 MiB"
//! deadline = "100ms"
//!
//! [audit]
//! dir = "audit"           # relative to this file
//! mask = ["/card_number"] # argument fields replaced by "***" in the log
//! hash = ["/recipient"]   # argument fields replaced by their blake3 digest in the log
//!
//! [signers]              # trusted plugin signers: name = Ed25519 public key
//! security-team = "ed25519:…"
//!
//! [[step]]
//! name = "shell"
//! plugin = "plugins/shell_guard.wasm"
//! digest = "blake3:…"     # optional pin: a different file refuses to load
//! signed-by = ["security-team"]  # optional: a valid signature by one of these is required
//! signature = "plugins/shell_guard.wasm.sig"  # where the signatures are (this is the default)
//! kind = "inspector"      # optional: checked against what the component exports
//! mode = "enforce"        # or "monitor": run and record, never decide
//! instance = "fresh"      # or "warm": reuse instances between decisions (faster, less isolated)
//! applies-to = { tools = ["shell", "exec*"], phases = ["request"] }
//! limits = { fuel = 5_000_000 }
//! settings = { fields = ["/cmd"] }
//! ```
//!
//! Every error names the file, the line when there is one, and what is wrong.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::time::Duration;

use serde::{Deserialize, Serialize};

use crate::digest::Digest;
use crate::engine::{InstanceMode, Kind, Limits};
use crate::request::Phase;

/// A chain config as written.
#[derive(Debug, Clone, Default, Serialize, Deserialize)]
#[serde(deny_unknown_fields, rename_all = "kebab-case")]
pub struct ChainConfig {
    /// How the chain combines verdicts.
    #[serde(default)]
    pub chain: ChainSection,
    /// Default limits for every step.
    #[serde(default)]
    pub limits: LimitsConfig,
    /// Engine-wide settings.
    #[serde(default)]
    pub engine: EngineSection,
    /// Where and how decisions are recorded; absent means no audit log.
    #[serde(default)]
    pub audit: Option<AuditSection>,
    /// Trusted plugin signers: a name for each Ed25519 public key.
    #[serde(default, skip_serializing_if = "BTreeMap::is_empty")]
    pub signers: BTreeMap<String, crate::signing::PublicKey>,
    /// The steps, in order (inspectors always run before policies).
    #[serde(default)]
    pub step: Vec<StepConfig>,
    /// `lampart serve`: listener, TLS and limits. Not part of the chain's revision.
    #[serde(default, skip_serializing)]
    pub server: Option<crate::server::config::ServerSection>,
    /// `lampart serve`: the credentials agents and operators present. Not part of the
    /// chain's revision.
    #[serde(default, skip_serializing)]
    pub auth: Option<crate::auth::AuthSection>,
    /// `lampart serve`: where session state is kept. Not part of the chain's revision.
    #[serde(default, skip_serializing)]
    pub state: Option<crate::state::StateSection>,
    /// `lampart serve`: MCP servers proxied at `/mcp/{name}`. Not part of the chain's
    /// revision.
    #[serde(default, skip_serializing)]
    pub upstream: Vec<crate::mcp::config::UpstreamSection>,
    /// `lampart serve`: how long grants last and what becomes of undecided requests for
    /// privileges. Not part of the chain's revision.
    #[serde(default, skip_serializing)]
    pub elevation: crate::server::config::ElevationSection,
    /// `lampart serve`: detectors over the decision stream and what they do. Not part of the
    /// chain's revision.
    #[serde(default, skip_serializing)]
    pub detector: Vec<crate::server::defence::config::DetectorSection>,
    /// `lampart serve`: where detectors' alerts go. Not part of the chain's revision.
    #[serde(default, skip_serializing)]
    pub alerts: Option<crate::server::defence::config::AlertsSection>,
    /// `lampart mcp`: the agent a stdio proxy acts for. Not part of the chain's revision.
    #[serde(default, skip_serializing)]
    pub mcp: Option<crate::mcp::config::McpSection>,
}

/// `[chain]`: how verdicts combine.
#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(deny_unknown_fields, rename_all = "kebab-case")]
pub struct ChainSection {
    /// A name for the chain, shown in records.
    #[serde(default)]
    pub name: Option<String>,
    /// The verdict when no enforcing policy allows, denies or requires.
    #[serde(default)]
    pub default: DefaultVerdict,
    /// An enforcing finding at or above this severity denies.
    #[serde(default = "default_deny_at")]
    pub deny_at: Threshold,
    /// Every step's plugin must carry a valid signature by one of these `[signers]`, unless
    /// the step names its own.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub signed_by: Vec<String>,
}

impl Default for ChainSection {
    fn default() -> Self {
        ChainSection {
            name: None,
            default: DefaultVerdict::Deny,
            deny_at: default_deny_at(),
            signed_by: Vec::new(),
        }
    }
}

fn default_deny_at() -> Threshold {
    Threshold::High
}

/// The verdict when no policy decides.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum DefaultVerdict {
    /// Deny what no policy allowed (the safe default).
    #[default]
    Deny,
    /// Allow what no policy denied.
    Allow,
}

/// The severities that can deny, in order, plus `never`. `info` is not one of them: an
/// info finding explains, it never denies on its own.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Threshold {
    /// Low and above.
    Low,
    /// Medium and above.
    Medium,
    /// High and above.
    High,
    /// Only critical findings.
    Critical,
    /// Findings never deny on their own.
    Never,
}

/// `[limits]` or a step's `limits`: any subset of the three, each checked as it is read.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields, rename_all = "kebab-case")]
pub struct LimitsConfig {
    /// Fuel per call: positive.
    #[serde(default)]
    pub fuel: Option<Fuel>,
    /// Memory cap: bytes, or a string such as `"64 MiB"`; at least 1 MiB.
    #[serde(default)]
    pub memory: Option<MemorySize>,
    /// Wall-clock deadline, e.g. `"100ms"`: positive.
    #[serde(default)]
    pub deadline: Option<Deadline>,
}

impl LimitsConfig {
    /// These limits over `base`: what is set here wins.
    pub fn over(&self, base: Limits) -> Limits {
        Limits {
            fuel: self.fuel.map_or(base.fuel, |fuel| fuel.0.get()),
            memory: self.memory.map_or(base.memory, |size| size.0),
            deadline: self.deadline.map_or(base.deadline, |deadline| deadline.0),
        }
    }
}

/// A positive amount of fuel.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(try_from = "u64", into = "u64")]
pub struct Fuel(pub std::num::NonZeroU64);

impl TryFrom<u64> for Fuel {
    type Error = &'static str;
    fn try_from(fuel: u64) -> Result<Self, Self::Error> {
        std::num::NonZeroU64::new(fuel)
            .map(Fuel)
            .ok_or("`fuel` must be positive")
    }
}

impl From<Fuel> for u64 {
    fn from(fuel: Fuel) -> u64 {
        fuel.0.get()
    }
}

/// A memory limit: a [`ByteSize`] of at least [`MIN_MEMORY_BYTES`].
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(try_from = "ByteSize", into = "ByteSize")]
pub struct MemorySize(pub usize);

impl TryFrom<ByteSize> for MemorySize {
    type Error = String;
    fn try_from(size: ByteSize) -> Result<Self, Self::Error> {
        if size.0 < MIN_MEMORY_BYTES {
            return Err(format!(
                "a memory size of {} bytes is below the minimum of {MIN_MEMORY_BYTES} (1 MiB)",
                size.0
            ));
        }
        Ok(MemorySize(size.0))
    }
}

impl From<MemorySize> for ByteSize {
    fn from(size: MemorySize) -> ByteSize {
        ByteSize(size.0)
    }
}

/// A positive duration, written as text such as `"100ms"` or `"2s"`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Deadline(pub Duration);

impl Serialize for Deadline {
    fn serialize<S: serde::Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        serializer.collect_str(&humantime::format_duration(self.0))
    }
}

impl<'de> Deserialize<'de> for Deadline {
    fn deserialize<D: serde::Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        let text = String::deserialize(deserializer)?;
        parse_duration(&text)
            .map(Deadline)
            .map_err(serde::de::Error::custom)
    }
}

/// A tool-name glob, checked when the config is read.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ToolGlob(pub globset::Glob);

impl Serialize for ToolGlob {
    fn serialize<S: serde::Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        serializer.serialize_str(self.0.glob())
    }
}

impl<'de> Deserialize<'de> for ToolGlob {
    fn deserialize<D: serde::Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        let text = String::deserialize(deserializer)?;
        globset::Glob::new(&text)
            .map(ToolGlob)
            .map_err(|e| serde::de::Error::custom(format!("tool glob `{text}`: {e}")))
    }
}

/// A JSON pointer (RFC 6901) into a request's arguments, checked when the config is read.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(try_from = "String", into = "String")]
pub struct JsonPointer(String);

impl JsonPointer {
    /// The pointer as written.
    pub fn as_str(&self) -> &str {
        &self.0
    }
}

impl std::ops::Deref for JsonPointer {
    type Target = str;
    fn deref(&self) -> &str {
        &self.0
    }
}

impl TryFrom<String> for JsonPointer {
    type Error = String;
    fn try_from(pointer: String) -> Result<Self, Self::Error> {
        check_pointer(&pointer)?;
        Ok(JsonPointer(pointer))
    }
}

impl std::str::FromStr for JsonPointer {
    type Err = String;
    fn from_str(pointer: &str) -> Result<Self, Self::Err> {
        JsonPointer::try_from(pointer.to_owned())
    }
}

impl From<JsonPointer> for String {
    fn from(pointer: JsonPointer) -> String {
        pointer.0
    }
}

/// A size in bytes, written as a number or a string with a unit (`KiB`, `MiB`, `GiB`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct ByteSize(pub usize);

impl Serialize for ByteSize {
    fn serialize<S: serde::Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        serializer.serialize_u64(self.0 as u64)
    }
}

impl<'de> Deserialize<'de> for ByteSize {
    fn deserialize<D: serde::Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        #[derive(Deserialize)]
        #[serde(untagged)]
        enum Raw {
            Number(u64),
            Text(String),
        }
        match Raw::deserialize(deserializer)? {
            Raw::Number(n) => usize::try_from(n)
                .map(ByteSize)
                .map_err(serde::de::Error::custom),
            Raw::Text(text) => parse_size(&text)
                .map(ByteSize)
                .map_err(serde::de::Error::custom),
        }
    }
}

fn parse_size(text: &str) -> Result<usize, String> {
    let trimmed = text.trim();
    let split = trimmed
        .find(|c: char| !c.is_ascii_digit())
        .unwrap_or(trimmed.len());
    let (digits, unit) = trimmed.split_at(split);
    let number: usize = digits
        .parse()
        .map_err(|_| format!("size `{text}`: expected a number and a unit such as `64 MiB`"))?;
    let scale = match unit.trim() {
        "" | "B" => 1,
        "KiB" => 1 << 10,
        "MiB" => 1 << 20,
        "GiB" => 1 << 30,
        other => {
            return Err(format!(
                "size `{text}`: unknown unit `{other}` (use B, KiB, MiB or GiB)"
            ));
        }
    };
    number
        .checked_mul(scale)
        .ok_or_else(|| format!("size `{text}` is too large"))
}

fn parse_duration(text: &str) -> Result<Duration, String> {
    let duration =
        humantime::parse_duration(text).map_err(|e| format!("duration `{text}`: {e}"))?;
    if duration.is_zero() {
        return Err(format!("duration `{text}` must be positive"));
    }
    Ok(duration)
}

/// `[engine]`: settings shared by every step.
#[derive(Debug, Clone, Default, Serialize, Deserialize)]
#[serde(deny_unknown_fields, rename_all = "kebab-case")]
pub struct EngineSection {
    /// Where precompiled plugins are cached (relative to the config file).
    #[serde(default)]
    pub cache_dir: Option<PathBuf>,
    /// The ceiling for any step's memory limit.
    #[serde(default)]
    pub max_memory: Option<MemorySize>,
}

/// `[audit]`: the decision log.
#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(deny_unknown_fields, rename_all = "kebab-case")]
pub struct AuditSection {
    /// The log's directory (relative to the config file).
    pub dir: PathBuf,
    /// Sync every batch to disk before answering (default true).
    #[serde(default = "yes")]
    pub fsync: bool,
    /// Argument fields replaced by `"***"` in the log.
    #[serde(default)]
    pub mask: Vec<JsonPointer>,
    /// Argument fields replaced by `"keyed-blake3:<hex>"` of their canonical JSON.
    #[serde(default)]
    pub hash: Vec<JsonPointer>,
    /// Start a new segment file past this size (at least 64 KiB).
    #[serde(default)]
    pub segment_size: Option<ByteSize>,
    /// The secret that keys the record's digests (relative to this file); created on first
    /// use. Default: the log directory's path with `.key` appended (`audit` → `audit.key`).
    #[serde(default)]
    pub key_file: Option<PathBuf>,
}

/// The smallest `segment-size`: smaller segments mean a file per handful of records.
pub const MIN_SEGMENT_BYTES: usize = crate::audit::MIN_SEGMENT_BYTES as usize;

/// The smallest memory limit or ceiling: no component starts in less.
pub const MIN_MEMORY_BYTES: usize = 1 << 20;

/// The key file of an audit log: `key_file` resolved against the config's directory `base`,
/// or by default the log directory's path with `.key` appended.
pub fn audit_key_path(key_file: Option<&Path>, base: &Path, log_dir: &Path) -> PathBuf {
    match key_file {
        Some(file) => base.join(file),
        None => {
            let mut name = log_dir.as_os_str().to_os_string();
            name.push(".key");
            PathBuf::from(name)
        }
    }
}

fn yes() -> bool {
    true
}

/// `[[step]]`: one plugin in the chain.
#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(deny_unknown_fields, rename_all = "kebab-case")]
pub struct StepConfig {
    /// The step's name in records; defaults to the plugin's own name.
    #[serde(default)]
    pub name: Option<String>,
    /// The component file (relative to the config file).
    pub plugin: PathBuf,
    /// `blake3:<hex>` pin; a file with another digest refuses to load.
    #[serde(default)]
    pub digest: Option<Digest>,
    /// The plugin must carry a valid signature by one of these `[signers]` (overrides
    /// `[chain] signed-by`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub signed_by: Option<Vec<String>>,
    /// The signature file (relative to the config file); by default the plugin's path with
    /// `.sig` appended.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub signature: Option<PathBuf>,
    /// Expected world; checked against the component's exports.
    #[serde(default)]
    pub kind: Option<Kind>,
    /// Whether the step's verdict counts.
    #[serde(default)]
    pub mode: Mode,
    /// `fresh` (default): a new instance per call; `warm`: instances reused between calls.
    #[serde(default)]
    pub instance: InstanceMode,
    /// Which tools and phases the step sees; defaults to what the plugin describes.
    #[serde(default)]
    pub applies_to: AppliesTo,
    /// The step's own limits over the chain's defaults.
    #[serde(default)]
    pub limits: LimitsConfig,
    /// Values the plugin reads through `host.setting`; non-strings arrive as JSON text.
    #[serde(default)]
    pub settings: BTreeMap<String, toml::Value>,
}

/// Whether a step's verdict counts.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Mode {
    /// The step's verdict and findings count.
    #[default]
    Enforce,
    /// The step runs and is recorded, but never changes the decision.
    Monitor,
}

impl Mode {
    /// The mode's name in records.
    pub fn as_str(self) -> &'static str {
        match self {
            Mode::Enforce => "enforce",
            Mode::Monitor => "monitor",
        }
    }
}

/// Which actions a step sees.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields, rename_all = "kebab-case")]
pub struct AppliesTo {
    /// Tool-name globs.
    #[serde(default)]
    pub tools: Option<Vec<ToolGlob>>,
    /// Phases.
    #[serde(default)]
    pub phases: Option<Vec<Phase>>,
}

/// A config file that cannot be used.
#[derive(Debug, thiserror::Error)]
#[error(
    "config `{}`{}: {}",
    crate::text::escape(&path.display().to_string()),
    line.map(|l| format!(" line {l}")).unwrap_or_default(),
    crate::text::escape(message)
)]
pub struct ConfigError {
    /// The file.
    pub path: PathBuf,
    /// The line, when the problem has one.
    pub line: Option<usize>,
    /// What is wrong, in one line.
    pub message: String,
}

impl ChainConfig {
    /// Reads and checks a config file.
    pub fn load(path: &Path) -> Result<ChainConfig, ConfigError> {
        let text =
            crate::files::read_text_bounded(path, crate::files::MAX_CONFIG_BYTES).map_err(|e| {
                ConfigError {
                    path: path.into(),
                    line: None,
                    message: e.problem.to_string(),
                }
            })?;
        Self::parse(path, &text)
    }

    /// Parses and checks config text; `path` names it in errors.
    pub fn parse(path: &Path, text: &str) -> Result<ChainConfig, ConfigError> {
        let config: ChainConfig = toml::from_str(text).map_err(|e| ConfigError {
            path: path.into(),
            line: e
                .span()
                .map(|span| text[..span.start.min(text.len())].matches('\n').count() + 1),
            message: e.message().replace('\n', " ").trim().to_string(),
        })?;
        config.check().map_err(|message| ConfigError {
            path: path.into(),
            line: None,
            message,
        })?;
        Ok(config)
    }

    /// What the types alone cannot say: unique names, empty lists, the segment size, steps.
    fn check(&self) -> Result<(), String> {
        let mut names = std::collections::BTreeSet::new();
        for (index, step) in self.step.iter().enumerate() {
            let label = step_label(index, step);
            if let Some(name) = &step.name {
                if name.is_empty() {
                    return Err(format!("{label}: `name` must not be empty"));
                }
                if !names.insert(name.clone()) {
                    return Err(format!("{label}: another step is also named `{name}`"));
                }
            }
            if step.signed_by.as_ref().is_some_and(Vec::is_empty) {
                return Err(format!(
                    "{label}: `signed-by` is empty; name at least one of `[signers]`, or leave it out"
                ));
            }
            self.check_signers(&label, step.signed_by.iter().flatten())?;
            if step.applies_to.tools.as_ref().is_some_and(Vec::is_empty) {
                return Err(format!(
                    "{label}: `applies-to.tools` is empty, so the step would see no tool; leave it out to apply to every tool"
                ));
            }
            if step.applies_to.phases.as_ref().is_some_and(Vec::is_empty) {
                return Err(format!(
                    "{label}: `applies-to.phases` is empty, so the step would never run; leave it out to use the plugin's own phases"
                ));
            }
        }
        if let Some(size) = self.audit.as_ref().and_then(|audit| audit.segment_size)
            && size.0 < MIN_SEGMENT_BYTES
        {
            return Err(format!(
                "[audit]: `segment-size` of {} bytes is below the minimum of {MIN_SEGMENT_BYTES} (64 KiB)",
                size.0
            ));
        }
        self.check_signers("[chain]", &self.chain.signed_by)?;
        crate::mcp::config::check_upstreams(&self.upstream)?;
        self.elevation.check()?;
        crate::server::defence::config::check(&self.detector, self.alerts.as_ref())?;
        if self.step.is_empty() {
            return Err(
                "the chain has no `[[step]]`: with no plugin nothing is inspected or decided"
                    .into(),
            );
        }
        Ok(())
    }
}

impl ChainConfig {
    /// Every name in a `signed-by` list is one of `[signers]`.
    fn check_signers<'a>(
        &self,
        label: &str,
        names: impl IntoIterator<Item = &'a String>,
    ) -> Result<(), String> {
        for name in names {
            if !self.signers.contains_key(name) {
                let known: Vec<&str> = self.signers.keys().map(String::as_str).collect();
                return Err(format!(
                    "{label}: `signed-by` names `{name}`, which is not in `[signers]` (known: {})",
                    if known.is_empty() {
                        "none".into()
                    } else {
                        known.join(", ")
                    }
                ));
            }
        }
        Ok(())
    }

    /// The signers a step's plugin needs a signature from: its own list, else the chain's.
    pub fn required_signers<'a>(&'a self, step: &'a StepConfig) -> &'a [String] {
        step.signed_by.as_deref().unwrap_or(&self.chain.signed_by)
    }
}

/// Checks that `pointer` is a JSON pointer (RFC 6901) into the arguments: it starts with `/`
/// and every `~` is followed by `0` (for `~`) or `1` (for `/`).
pub fn check_pointer(pointer: &str) -> Result<(), String> {
    if !pointer.starts_with('/') {
        return Err(format!(
            "`{pointer}` is not a JSON pointer into the arguments (it must start with `/`)"
        ));
    }
    let mut chars = pointer.chars();
    while let Some(c) = chars.next() {
        if c == '~' && !matches!(chars.next(), Some('0' | '1')) {
            return Err(format!(
                "`{pointer}` is not a valid JSON pointer: `~` must be followed by `0` (for `~`) or `1` (for `/`)"
            ));
        }
    }
    Ok(())
}

/// How a step is named in messages: its name, or its position and file.
pub fn step_label(index: usize, step: &StepConfig) -> String {
    match &step.name {
        Some(name) => format!("step `{name}`"),
        None => format!("step {} (`{}`)", index + 1, step.plugin.display()),
    }
}

/// A setting value as the plugin receives it: strings as they are, anything else as JSON.
pub fn setting_text(value: &toml::Value) -> String {
    match value {
        toml::Value::String(text) => text.clone(),
        other => toml_to_json(other).to_string(),
    }
}

/// Converts a TOML value to the equivalent JSON value (datetimes become strings).
pub fn toml_to_json(value: &toml::Value) -> serde_json::Value {
    use serde_json::Value as J;
    match value {
        toml::Value::String(s) => J::String(s.clone()),
        toml::Value::Integer(i) => J::from(*i),
        toml::Value::Float(f) => serde_json::Number::from_f64(*f).map_or(J::Null, J::Number),
        toml::Value::Boolean(b) => J::Bool(*b),
        toml::Value::Datetime(d) => J::String(d.to_string()),
        toml::Value::Array(items) => J::Array(items.iter().map(toml_to_json).collect()),
        toml::Value::Table(table) => J::Object(
            table
                .iter()
                .map(|(k, v)| (k.clone(), toml_to_json(v)))
                .collect(),
        ),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn parse(text: &str) -> Result<ChainConfig, ConfigError> {
        ChainConfig::parse(Path::new("chain.toml"), text)
    }

    #[test]
    fn parses_a_full_config() {
        let config = parse(
            r#"
            [chain]
            default = "allow"
            deny-at = "critical"
            [limits]
            memory = "32 MiB"
            deadline = "50ms"
            [audit]
            dir = "audit"
            mask = ["/card"]
            [[step]]
            name = "rules"
            plugin = "tool_rules.wasm"
            mode = "monitor"
            applies-to = { tools = ["send_*"], phases = ["request"] }
            settings = { default = "deny", rules = [{ name = "a", tools = ["*"], effect = "allow" }] }
            "#,
        )
        .unwrap();
        assert_eq!(config.chain.default, DefaultVerdict::Allow);
        assert_eq!(config.limits.memory, Some(MemorySize(32 << 20)));
        let step = &config.step[0];
        assert_eq!(step.mode, Mode::Monitor);
        assert_eq!(setting_text(&step.settings["default"]), "deny");
        assert_eq!(
            setting_text(&step.settings["rules"]),
            r#"[{"effect":"allow","name":"a","tools":["*"]}]"#
        );
    }

    #[test]
    fn unknown_fields_are_named_with_their_line() {
        let err = parse("[[step]]\nplugin = \"a.wasm\"\nmodee = \"monitor\"\n").unwrap_err();
        let text = err.to_string();
        assert!(
            text.starts_with("config `chain.toml` line 3: unknown field `modee`"),
            "{text}"
        );
        assert!(!text.contains('\n'));
    }

    #[test]
    fn errors_quoting_the_config_stay_on_one_line() {
        for text in [
            "[[step]]\nname = \"a\\nb\"\nplugin = \"a.wasm\"\n[[step]]\nname = \"a\\nb\"\nplugin = \"b.wasm\"\n",
            "[[step]]\nplugin = \"a.wasm\"\napplies-to = { tools = [\"[\\n\"] }\n",
        ] {
            let err = parse(text).unwrap_err().to_string();
            assert!(!err.contains('\n'), "{err}");
        }
    }

    #[test]
    fn bad_values_are_refused() {
        for (text, expected) in [
            (
                "[[step]]\nplugin = \"a.wasm\"\ndigest = \"sha256:00\"\n",
                "must start with `blake3:`",
            ),
            (
                "[[step]]\nplugin = \"a.wasm\"\ndigest = \"blake3:zz\"\n",
                "not 64 hexadecimal",
            ),
            (
                "[limits]\nmemory = \"12 parsecs\"\n",
                "unknown unit `parsecs`",
            ),
            ("[limits]\ndeadline = \"soon\"\n", "duration `soon`"),
            (
                "[[step]]\nname = \"a\"\nplugin = \"a.wasm\"\n[[step]]\nname = \"a\"\nplugin = \"b.wasm\"\n",
                "also named `a`",
            ),
            (
                "[audit]\ndir = \"x\"\nmask = [\"card\"]\n",
                "not a JSON pointer",
            ),
            (
                "[chain]\ndeny-at = \"severe\"\n",
                "unknown variant `severe`",
            ),
            (
                "[chain]\ndeny-at = \"info\"\n",
                "unknown variant `info`, expected one of `low`",
            ),
            ("[chain]\ndefault = \"allow\"\n", "has no `[[step]]`"),
            (
                "[audit]\ndir = \"x\"\nmask = [\"/a~2\"]\n",
                "`~` must be followed by `0`",
            ),
            (
                "[[step]]\nplugin = \"a.wasm\"\napplies-to = { tools = [] }\n",
                "`applies-to.tools` is empty",
            ),
            (
                "[[step]]\nplugin = \"a.wasm\"\napplies-to = { phases = [] }\n",
                "`applies-to.phases` is empty",
            ),
            (
                "[audit]\ndir = \"x\"\nsegment-size = 0\n",
                "`segment-size` of 0 bytes is below the minimum",
            ),
            ("[engine]\nmax-memory = 0\n", "a memory size of 0 bytes"),
            ("[limits]\nmemory = 0\n", "a memory size of 0 bytes"),
            ("[limits]\nfuel = 0\n", "`fuel` must be positive"),
            ("[limits]\ndeadline = \"0s\"\n", "must be positive"),
        ] {
            let err = parse(text).unwrap_err().to_string();
            assert!(err.contains(expected), "{text:?} gave {err}");
        }
    }
}
