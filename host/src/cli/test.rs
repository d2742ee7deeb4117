//! `lampart test`: run fixture cases through a chain, or through one plugin alone, and say
//! which decisions are not what the cases expect.
//!
//! Cases are read from fixture files ([`fixture`]) and checked before anything runs; each is
//! decided by a [`Host`] built without an audit log, so a test never writes to the config's
//! audit directory; each decision is held against the case's `expect` ([`expect`]).
//!
//! With `--plugin`, the chain is built in memory: one enforcing step of that plugin, with the
//! `--setting`s given. What the chain does when the plugin does not decide is its default: an
//! inspector never allows, so its chain allows by default (a finding at or above `deny-at`, or
//! a failure, denies); a policy's chain denies by default, as a real chain should, so an
//! abstaining policy shows as `deny` with the reason "no policy allowed this action; the
//! chain default is deny". `--default` and `--deny-at` change both.

mod expect;
mod fixture;

use std::io::{BufWriter, Write};
use std::path::{Path, PathBuf};
use std::process::ExitCode;

use anyhow::Context;
use clap::{ArgGroup, Args};
use lampart::config::{
    AppliesTo, ChainConfig, ChainSection, DefaultVerdict, LimitsConfig, Mode, StepConfig, Threshold,
};
use lampart::engine::{InstanceMode, Kind};
use lampart::host::{Host, HostOptions};
use lampart::record;
use serde_json::{Value, json};

use super::text::escape;
use super::{EXIT_ALLOW, EXIT_DENY, Format};
use fixture::{Case, Position};

/// Arguments of `lampart test`.
#[derive(Debug, Args)]
#[command(group(ArgGroup::new("under-test").required(true).args(["config", "plugin"])))]
pub struct TestArgs {
    /// The chain config to test (its audit log is never written).
    #[arg(long, short)]
    config: Option<PathBuf>,
    /// Test one plugin alone, as the one enforcing step of a chain.
    #[arg(long)]
    plugin: Option<PathBuf>,
    // The options of `--plugin` conflict with `--config` rather than require `--plugin`:
    // clap takes a requirement as met by any member of the group `--plugin` is in.
    /// With `--plugin`: a setting, `KEY=VALUE`, as for `lampart plugin inspect`. Repeat for
    /// several.
    #[arg(long = "setting", value_name = "KEY=VALUE", conflicts_with = "config")]
    settings: Vec<String>,
    /// With `--plugin`: the verdict when the plugin does not decide (default: `allow` for an
    /// inspector, `deny` for a policy).
    #[arg(
        long,
        conflicts_with = "config",
        value_parser = super::serde_choice::<DefaultVerdict>(&["allow", "deny"])
    )]
    default: Option<DefaultVerdict>,
    /// With `--plugin`: the lowest severity of a finding that denies (default: `high`).
    #[arg(
        long,
        conflicts_with = "config",
        value_parser = super::serde_choice::<Threshold>(&["low", "medium", "high", "critical", "never"])
    )]
    deny_at: Option<Threshold>,
    /// Run only the cases whose name contains this text.
    #[arg(long)]
    filter: Option<String>,
    /// `text` (a line per case and a summary) or `json` (one report).
    #[arg(long, value_enum, default_value_t = Format::Text)]
    format: Format,
    /// Fixture files: `.toml` (`[[case]]` tables) or `.jsonl` (one case object per line).
    #[arg(required = true, value_name = "FIXTURES")]
    fixtures: Vec<PathBuf>,
}

/// Exit code: 0 every case passed, 1 a case failed, 2 a fixture, the config or a plugin could
/// not be used.
pub fn run(args: TestArgs) -> anyhow::Result<ExitCode> {
    // Every case is read and checked first: a bad fixture runs nothing.
    let mut cases = Vec::new();
    for path in &args.fixtures {
        cases.extend(fixture::read(path)?);
    }
    if let Some(filter) = &args.filter {
        cases.retain(|case| case.name.contains(filter.as_str()));
        if cases.is_empty() {
            anyhow::bail!("--filter `{}`: no case name contains it", escape(filter));
        }
    }
    let host = match (&args.config, &args.plugin) {
        (Some(config), _) => Host::load(config, &options())?,
        (None, Some(plugin)) => plugin_host(plugin, &args)?,
        (None, None) => unreachable!("clap requires --config or --plugin"),
    };

    let mut out = BufWriter::new(std::io::stdout().lock());
    let mut report = Vec::new();
    let (mut passed, mut failed) = (0usize, 0usize);
    for case in cases {
        let decision = host.decide(case.request.clone());
        let mismatches = case.expect.mismatches(&decision);
        if mismatches.is_empty() {
            passed += 1;
        } else {
            failed += 1;
        }
        match args.format {
            Format::Text => print_case(&mut out, &case.name, &mismatches)?,
            Format::Json => report.push(case_report(
                &case,
                &mismatches,
                record::decision_output(&decision, None),
            )),
        }
    }
    match args.format {
        Format::Text => writeln!(out, "{passed} passed, {failed} failed"),
        Format::Json => writeln!(
            out,
            "{}",
            json!({ "passed": passed, "failed": failed, "cases": report })
        ),
    }
    .and_then(|()| out.flush())
    .context("writing standard output")?;
    Ok(ExitCode::from(if failed == 0 {
        EXIT_ALLOW
    } else {
        EXIT_DENY
    }))
}

/// A host that records nothing and decides one request at a time.
fn options() -> HostOptions {
    HostOptions {
        audit_dir: None,
        no_audit: true,
        default_cache_dir: super::default_cache_dir(),
        concurrency: 1,
        reloadable: false,
    }
}

/// The host of a one-step chain: `plugin`, enforcing, with the given settings. The default
/// verdict depends on the plugin's kind, known once it is loaded: an inspector's chain is
/// loaded again with `allow` unless `--default` said otherwise.
fn plugin_host(plugin: &Path, args: &TestArgs) -> anyhow::Result<Host> {
    let mut settings = std::collections::BTreeMap::new();
    for pair in &args.settings {
        let (key, value) = super::plugin::parse_setting(pair)?;
        settings.insert(key, value);
    }
    let config = |default| ChainConfig {
        chain: ChainSection {
            default,
            deny_at: args.deny_at.unwrap_or(ChainSection::default().deny_at),
            ..ChainSection::default()
        },
        step: vec![StepConfig {
            name: None,
            plugin: plugin.to_path_buf(),
            digest: None,
            signed_by: None,
            signature: None,
            kind: None,
            mode: Mode::Enforce,
            instance: InstanceMode::Fresh,
            applies_to: AppliesTo::default(),
            limits: LimitsConfig::default(),
            settings: settings.clone(),
        }],
        ..ChainConfig::default()
    };
    // Relative paths stay relative to the working directory, as given.
    let base = Path::new("");
    let host = Host::from_config(
        config(args.default.unwrap_or(DefaultVerdict::Deny)),
        base,
        &options(),
    )?;
    let inspector = host
        .current()
        .chain()
        .describe_steps()
        .iter()
        .any(|(_, kind, _, _)| *kind == Kind::Inspector);
    if inspector && args.default.is_none() {
        host.install(host.prepare_config(config(DefaultVerdict::Allow), base)?);
    }
    Ok(host)
}

/// `ok   NAME` or `FAIL NAME: what differs; ...`, escaped.
fn print_case(out: &mut impl Write, name: &str, mismatches: &[String]) -> anyhow::Result<()> {
    if mismatches.is_empty() {
        writeln!(out, "ok   {}", escape(name))
    } else {
        writeln!(
            out,
            "FAIL {}: {}",
            escape(name),
            escape(&mismatches.join("; "))
        )
    }
    .context("writing standard output")
}

/// One case in the JSON report: where it is, whether it passed, what differs, and the
/// decision as `lampart check` prints it.
fn case_report(case: &Case, mismatches: &[String], decision: Value) -> Value {
    let mut report = json!({
        "name": case.name,
        "file": case.file.display().to_string(),
        "passed": mismatches.is_empty(),
        "mismatches": mismatches,
        "decision": decision,
    });
    let (key, at) = match case.position {
        Position::Case(n) => ("case", n),
        Position::Line(n) => ("line", n),
    };
    report[key] = json!(at);
    report
}
