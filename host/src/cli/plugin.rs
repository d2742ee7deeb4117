//! `lampart plugin`: look at a plugin file.

use std::path::PathBuf;
use std::process::ExitCode;
use std::sync::Arc;

use clap::Subcommand;
use lampart::engine::{InstanceMode, Limits, bindings::Phase};
use serde_json::json;

#[derive(Debug, Subcommand)]
pub enum PluginCommand {
    /// Show a plugin's digest, world, the contract version it was built against, imports,
    /// exports and what `describe()` says.
    Inspect {
        /// The component file.
        file: PathBuf,
        /// Print as JSON.
        #[arg(long)]
        json: bool,
    },
}

pub fn run(command: PluginCommand) -> anyhow::Result<ExitCode> {
    match command {
        PluginCommand::Inspect { file, json } => {
            let engine = super::start_engine(None, None)?;
            let loaded = engine.load_file(&file)?;
            let plugin = engine.prepare(
                &loaded,
                "inspect",
                Arc::default(),
                Limits::default(),
                InstanceMode::Fresh,
            )?;
            let (imports, exports) = loaded.interface(&engine);
            let info = plugin.info();
            let phases: Vec<&str> = info
                .phases
                .iter()
                .map(|p| match p {
                    Phase::Request => "request",
                    Phase::Response => "response",
                    Phase::Elevation => "elevation",
                })
                .collect();
            let size = std::fs::metadata(&file).map(|m| m.len()).unwrap_or(0);
            if json {
                println!(
                    "{}",
                    json!({
                        "file": file.display().to_string(), "digest": loaded.digest_string(), "bytes": size,
                        "world": loaded.kind.as_str(), "contract": loaded.contract.as_str(),
                        "imports": imports, "exports": exports,
                        "describe": { "name": info.name, "version": info.version, "phases": phases, "tools": info.tools },
                    })
                );
            } else {
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
            Ok(ExitCode::SUCCESS)
        }
    }
}
