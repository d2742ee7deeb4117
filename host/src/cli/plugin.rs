//! `lampart plugin`: look at a plugin file, run it on one request, and sign and verify
//! plugins for sharing.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::process::ExitCode;
use std::sync::Arc;

use anyhow::{Context, bail};
use clap::{Args, Subcommand};
use lampart::config::{ChainConfig, setting_text};
use lampart::engine::{Engine, InstanceMode, Limits, LoadedComponent, Plugin, bindings::Phase};
use lampart::request::Phase as RequestPhase;
use lampart::signing::{Manifest, PrivateKey, PublicKey, SignatureFile, signature_path};
use serde_json::json;

use super::Format;

mod new;
mod run;

#[derive(Debug, Subcommand)]
pub enum PluginCommand {
    /// Show a plugin's digest, world, the contract version it was built against, imports,
    /// exports and what `describe()` says.
    Inspect {
        /// The component file.
        file: PathBuf,
        #[command(flatten)]
        settings: SettingsArgs,
        /// `text` or `json`.
        #[arg(long, value_enum, default_value_t = Format::Text)]
        format: Format,
        /// Same as `--format json`.
        #[arg(long, hide = true)]
        json: bool,
    },
    /// Run a plugin on one request and show what it returned, raw: its verdict (a policy) or
    /// inspection (an inspector), findings, labels and redactions, the fuel it burnt, its
    /// peak memory, the wall time, and what it logged and wrote to standard error.
    ///
    /// Exit code: 0 the plugin answered, 1 the call failed (a chain would deny), 2 an error.
    Run {
        /// The component file.
        file: PathBuf,
        #[command(flatten)]
        settings: SettingsArgs,
        /// Run the request in this phase instead of its own `phase`.
        #[arg(
            long,
            value_parser = super::serde_choice::<RequestPhase>(&["request", "response", "elevation"])
        )]
        phase: Option<RequestPhase>,
        /// `text` or `json`.
        #[arg(long, value_enum, default_value_t = Format::Text)]
        format: Format,
        /// The request: a file holding one (as `lampart check` reads it), or `-` for one line
        /// on standard input.
        request: PathBuf,
    },
    /// Start a new plugin project (Rust, Python or JavaScript) that builds and passes its
    /// own tests as made: the SDK and the contract are copied in, so it builds offline and
    /// outside this repository.
    New(new::NewArgs),
    /// Make an Ed25519 signing key: writes it to a new file only you may read, and prints
    /// its public key (`ed25519:…`) for the `[signers]` of the configs that trust it.
    Keygen {
        /// The private key file to create (PKCS#8 PEM); an existing file is kept.
        #[arg(long)]
        out: PathBuf,
    },
    /// Print the public key of a private key file.
    PublicKey {
        /// The private key file (PKCS#8 PEM).
        key: PathBuf,
    },
    /// Sign a plugin: its name and version (from `describe()`), world, contract version and
    /// digest, into `<plugin>.sig`. A signature by another key is kept, so several signers
    /// can sign one plugin; a signature file for other bytes is replaced.
    Sign {
        /// The component file.
        file: PathBuf,
        /// The private key (PKCS#8 PEM, from `lampart plugin keygen` or
        /// `openssl genpkey -algorithm ed25519`).
        #[arg(long)]
        key: PathBuf,
        /// The signature file; by default the plugin's path with `.sig` appended.
        #[arg(long)]
        signature: Option<PathBuf>,
        #[command(flatten)]
        settings: SettingsArgs,
    },
    /// Verify a plugin's signatures against the keys you trust. Exit code 0 when a given key
    /// signed exactly this file, 1 when none did or a signature is altered, 2 on an error.
    Verify {
        /// The component file.
        file: PathBuf,
        /// A trusted public key (`ed25519:…`, or a PEM public key file); repeat for several.
        #[arg(long = "key", value_name = "KEY", required = true)]
        keys: Vec<String>,
        /// The signature file; by default the plugin's path with `.sig` appended.
        #[arg(long)]
        signature: Option<PathBuf>,
        /// `text` or `json`.
        #[arg(long, value_enum, default_value_t = Format::Text)]
        format: Format,
    },
}

/// The settings a plugin is prepared with: a plugin's `describe()` may read them.
#[derive(Debug, Args)]
pub struct SettingsArgs {
    /// A setting, `KEY=VALUE`; VALUE is read as a TOML value (`["/cmd"]`, `3`, `true`) when it
    /// is one, else as a string. Repeat for several.
    #[arg(long = "setting", value_name = "KEY=VALUE")]
    settings: Vec<String>,
    /// Take the settings of a step of this chain config (with `--step`).
    #[arg(long, requires = "step")]
    config: Option<PathBuf>,
    /// The step (by name, or by its position from 1) whose settings to take.
    #[arg(long, requires = "config")]
    step: Option<String>,
}

impl SettingsArgs {
    /// The settings, as the host gives them to the plugin, and the limits a call runs
    /// under: those of the `--config` step (its own over the config's `[limits]`), else the
    /// defaults.
    fn read(&self) -> anyhow::Result<(BTreeMap<String, String>, Limits)> {
        let mut settings = BTreeMap::new();
        let mut limits = Limits::default();
        if let (Some(path), Some(wanted)) = (&self.config, &self.step) {
            let config = ChainConfig::load(path)?;
            let step = config
                .step
                .iter()
                .enumerate()
                .find(|(index, step)| {
                    step.name.as_deref() == Some(wanted.as_str())
                        || wanted.parse::<usize>() == Ok(index + 1)
                })
                .map(|(_, step)| step)
                .with_context(|| {
                    format!("--step `{wanted}`: no such step in `{}`", path.display())
                })?;
            for (key, value) in &step.settings {
                settings.insert(key.clone(), setting_text(value));
            }
            limits = step.limits.over(config.limits.over(limits));
        }
        for pair in &self.settings {
            let (key, value) = parse_setting(pair)?;
            settings.insert(key, setting_text(&value));
        }
        Ok((settings, limits))
    }
}

/// One `--setting KEY=VALUE`: VALUE as a TOML value (`["/cmd"]`, `3`, `true`) when it is
/// one, else as a string.
pub fn parse_setting(pair: &str) -> anyhow::Result<(String, toml::Value)> {
    let (key, value) = pair
        .split_once('=')
        .with_context(|| format!("--setting `{pair}` is not KEY=VALUE"))?;
    if key.is_empty() {
        bail!("--setting `{pair}` has an empty key");
    }
    let value = match toml::from_str::<BTreeMap<String, toml::Value>>(&format!("v = {value}")) {
        Ok(mut table) => table.remove("v"),
        Err(_) => None,
    }
    .unwrap_or_else(|| toml::Value::String(value.to_owned()));
    Ok((key.to_owned(), value))
}

pub fn run(command: PluginCommand) -> anyhow::Result<ExitCode> {
    match command {
        PluginCommand::Inspect {
            file,
            settings,
            format,
            json,
        } => inspect(&file, &settings, if json { Format::Json } else { format }),
        PluginCommand::Run {
            file,
            settings,
            phase,
            format,
            request,
        } => run::run(&file, &settings, phase, &request, format),
        PluginCommand::New(args) => new::run(args).map(|()| ExitCode::SUCCESS),
        PluginCommand::Keygen { out } => {
            let key = PrivateKey::generate()?;
            key.write_new(&out)?;
            println!("{}", key.public());
            eprintln!(
                "wrote the private key to `{}`; trust it in a config with:\n[signers]\nNAME = \"{}\"",
                out.display(),
                key.public()
            );
            Ok(ExitCode::SUCCESS)
        }
        PluginCommand::PublicKey { key } => {
            println!("{}", PrivateKey::read(&key)?.public());
            Ok(ExitCode::SUCCESS)
        }
        PluginCommand::Sign {
            file,
            key,
            signature,
            settings,
        } => sign(&file, &key, signature.as_deref(), &settings),
        PluginCommand::Verify {
            file,
            keys,
            signature,
            format,
        } => verify(&file, &keys, signature.as_deref(), format),
    }
}

/// Loads a component and prepares it with `settings`, which runs its `describe()`.
fn prepare(
    file: &Path,
    settings: &SettingsArgs,
) -> anyhow::Result<(Engine, LoadedComponent, Plugin)> {
    let (engine, loaded, plugin, _) = prepare_with_limits(file, settings)?;
    Ok((engine, loaded, plugin))
}

/// [`prepare`], and the limits its calls run under (see [`SettingsArgs::read`]).
fn prepare_with_limits(
    file: &Path,
    settings: &SettingsArgs,
) -> anyhow::Result<(Engine, LoadedComponent, Plugin, Limits)> {
    let (settings, limits) = settings.read()?;
    let engine = super::start_engine(None, None)?;
    let loaded = engine.load_file(file)?;
    let plugin = engine
        .prepare(
            &loaded,
            "plugin",
            Arc::new(settings),
            limits,
            InstanceMode::Fresh,
        )
        .with_context(|| {
            format!(
                "`{}`: describe() failed; if it needs settings, give them with --setting KEY=VALUE or --config FILE --step NAME",
                file.display()
            )
        })?;
    Ok((engine, loaded, plugin, limits))
}

fn inspect(file: &Path, settings: &SettingsArgs, format: Format) -> anyhow::Result<ExitCode> {
    let (engine, loaded, plugin) = prepare(file, settings)?;
    let (imports, exports) = loaded.interface(&engine);
    let info = plugin.info();
    let phases: Vec<&str> = info.phases.iter().map(|p| phase_name(*p)).collect();
    let size = std::fs::metadata(file).map(|m| m.len()).unwrap_or(0);
    match format {
        Format::Json => println!(
            "{}",
            json!({
                "file": file.display().to_string(), "digest": loaded.digest_string(), "bytes": size,
                "world": loaded.kind.as_str(), "contract": loaded.contract.as_str(),
                "imports": imports, "exports": exports,
                "describe": { "name": info.name, "version": info.version, "phases": phases, "tools": info.tools },
            })
        ),
        Format::Text => {
            println!("file:     {}", file.display());
            println!("digest:   {}", loaded.digest_string());
            println!("size:     {size} bytes");
            println!("world:    lampart:plugin/{}", loaded.kind.as_str());
            println!("contract: {}", loaded.contract);
            println!("name:     {} {}", info.name, info.version);
            println!("phases:   {}", phases.join(", "));
            println!("tools:    {}", info.tools.join(", "));
            println!("exports:  {}", exports.join(", "));
            println!("imports:  {}", imports.join(", "));
        }
    }
    Ok(ExitCode::SUCCESS)
}

fn phase_name(phase: Phase) -> &'static str {
    match phase {
        Phase::Request => "request",
        Phase::Response => "response",
        Phase::Elevation => "elevation",
    }
}

fn sign(
    file: &Path,
    key: &Path,
    signature: Option<&Path>,
    settings: &SettingsArgs,
) -> anyhow::Result<ExitCode> {
    // The key first: a bad key file is reported before the plugin is compiled.
    let key = PrivateKey::read(key)?;
    let (_engine, loaded, plugin) = prepare(file, settings)?;
    let manifest = Manifest {
        name: plugin.info().name.clone(),
        version: plugin.info().version.clone(),
        world: loaded.kind.as_str().into(),
        contract: loaded.contract.as_str().into(),
        digest: loaded.digest.into(),
    };
    let path = signature_path(file, signature);
    let mut signatures = match SignatureFile::read(&path) {
        Ok(existing) if existing.manifest == manifest => existing,
        Ok(_) => {
            eprintln!(
                "`{}` signed other bytes or another manifest; starting it anew",
                path.display()
            );
            SignatureFile::new(manifest)
        }
        Err(_) if !path.exists() => SignatureFile::new(manifest),
        Err(error) => return Err(error.into()),
    };
    signatures.sign(&key);
    signatures.write(&path)?;
    println!(
        "signed {} {} ({}) as {} into `{}` ({} signature(s))",
        signatures.manifest.name,
        signatures.manifest.version,
        signatures.manifest.digest,
        key.public(),
        path.display(),
        signatures.signatures.len()
    );
    Ok(ExitCode::SUCCESS)
}

fn verify(
    file: &Path,
    keys: &[String],
    signature: Option<&Path>,
    format: Format,
) -> anyhow::Result<ExitCode> {
    let mut trusted = BTreeMap::new();
    for (index, key) in keys.iter().enumerate() {
        let public = if key.starts_with("ed25519:") {
            key.parse::<PublicKey>()?
        } else {
            let text = lampart::files::read_text_bounded(Path::new(key), 64 * 1024)
                .map_err(|e| anyhow::anyhow!("--key `{key}`: {}", e.problem))?;
            PublicKey::parse_any(&text).with_context(|| format!("--key `{key}`"))?
        };
        trusted.insert(format!("key {}", index + 1), public);
    }
    let bytes = lampart::files::read_bounded(file, lampart::files::MAX_PLUGIN_BYTES)?;
    let digest = lampart::digest::Digest::of(&bytes);
    let path = signature_path(file, signature);
    let signatures = SignatureFile::read(&path)?;
    let required: Vec<String> = trusted.keys().cloned().collect();
    let outcome = signatures.check(digest, &trusted, &required);
    let valid: Vec<(String, bool)> = signatures
        .signatures
        .iter()
        .map(|s| (s.key.to_string(), signatures.verifies(s)))
        .collect();
    match format {
        Format::Json => println!(
            "{}",
            json!({
                "file": file.display().to_string(),
                "digest": digest.to_string(),
                "manifest": signatures.manifest,
                "signatures": valid.iter().map(|(key, ok)| json!({"key": key, "valid": ok})).collect::<Vec<_>>(),
                "verified": outcome.is_ok(),
                "error": outcome.as_ref().err().map(ToString::to_string),
            })
        ),
        Format::Text => {
            let m = &signatures.manifest;
            println!("file:      {} ({digest})", file.display());
            println!(
                "manifest:  {} {}, {} contract {}, {}",
                m.name, m.version, m.world, m.contract, m.digest
            );
            for (key, ok) in &valid {
                let trusted = trusted.values().any(|t| t.to_string() == *key);
                println!(
                    "signature: {key}: {}{}",
                    if *ok { "valid" } else { "INVALID" },
                    if trusted { ", trusted" } else { "" }
                );
            }
            match &outcome {
                Ok(_) => println!("verified:  signed by a trusted key"),
                Err(error) => println!("verified:  no: {error}"),
            }
        }
    }
    Ok(if outcome.is_ok() {
        ExitCode::SUCCESS
    } else {
        ExitCode::from(super::EXIT_DENY)
    })
}
