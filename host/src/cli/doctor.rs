//! `lampart doctor`: a chain's weaknesses, most serious first, each with its fix.

use super::Format;
use std::path::PathBuf;
use std::process::ExitCode;
use std::sync::Arc;

use clap::Args;
use lampart::chain::{Chain, Severity};
use lampart::config::ChainConfig;
use lampart::doctor;
use lampart::host::base_dir;

/// Arguments of `lampart doctor`.
#[derive(Debug, Args)]
pub struct DoctorArgs {
    /// The chain config to assess.
    #[arg(long, short)]
    config: PathBuf,
    /// How to print the findings.
    #[arg(long, value_enum, default_value_t = Format::Text)]
    format: Format,
}

/// Exit codes: 0 when nothing is worse than low, 1 medium, 3 high, 4 critical (2: the
/// config could not be assessed).
pub fn run(args: DoctorArgs) -> anyhow::Result<ExitCode> {
    let config = ChainConfig::load(&args.config)?;
    let base = base_dir(&args.config);
    let engine = Arc::new(super::start_engine(
        config.engine.cache_dir.as_ref().map(|dir| base.join(dir)),
        config.engine.max_memory.map(|m| m.0),
    )?);
    let chain = Chain::load(&config, &base, engine)?;
    let found = doctor::assess(&config, &base, &chain);
    let worst = found.iter().map(|w| w.severity).max();
    match args.format {
        Format::Json => println!(
            "{}",
            serde_json::json!({ "config": args.config, "weaknesses": found, "worst": worst })
        ),
        Format::Text => {
            for w in &found {
                println!(
                    "{:<8} {:<26} {}: {} (fix: {})",
                    w.severity.as_str().to_uppercase(),
                    w.id,
                    w.subject,
                    w.problem,
                    w.fix
                );
            }
            match worst {
                None => println!("no weaknesses found in {}", args.config.display()),
                Some(worst) => println!(
                    "{} weaknesses in {}; the worst is {}",
                    found.len(),
                    args.config.display(),
                    worst.as_str()
                ),
            }
        }
    }
    Ok(ExitCode::from(match worst {
        Some(Severity::Critical) => 4,
        Some(Severity::High) => 3,
        Some(Severity::Medium) => 1,
        _ => 0,
    }))
}
