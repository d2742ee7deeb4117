//! The command line: `check`, `test`, `serve`, `mcp`, `grants`, `agents`, `doctor`, `keys`,
//! `audit` and `plugin`.

mod admin;
mod agents;
mod audit;
mod check;
mod doctor;
mod grants;
mod input;
mod keys;
pub mod logging;
mod mcp;
mod plugin;
mod serve;
mod test;
mod text;

use std::path::PathBuf;
use std::process::ExitCode;

use clap::{Parser, Subcommand, ValueEnum};
use lampart::engine::{Engine, EngineOptions};

/// Exit code: every decision allowed.
pub const EXIT_ALLOW: u8 = 0;
/// Exit code: at least one decision denied.
pub const EXIT_DENY: u8 = 1;
/// Exit code: bad input, a bad config, or a failure of the host itself.
pub const EXIT_ERROR: u8 = 2;
/// Exit code: at least one decision needs an elevation (and none denied).
pub const EXIT_ELEVATE: u8 = 3;

/// How a command prints what it found.
#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum Format {
    /// Lines for people.
    Text,
    /// JSON, for programs.
    Json,
}

/// Lampart: a policy host for AI agents' tool calls.
#[derive(Debug, Parser)]
#[command(name = "lampart", version, about, long_about = None)]
pub struct Cli {
    #[command(subcommand)]
    command: Command,
}

#[derive(Debug, Subcommand)]
enum Command {
    /// Decide on one request, or a stream of requests (one JSON object per line).
    ///
    /// Exit code: 0 all allowed, 1 a deny, 3 an elevation required (and no deny), 2 an error.
    Check(check::CheckArgs),
    /// Run fixture cases (requests and the decisions they expect) through a chain, or
    /// through one plugin alone (`--plugin`).
    ///
    /// Exit code: 0 every case passed, 1 a case failed, 2 a bad fixture, config or plugin.
    Test(test::TestArgs),
    /// Read and verify the audit log.
    #[command(subcommand)]
    Audit(audit::AuditCommand),
    /// Look at plugin files.
    #[command(subcommand)]
    Plugin(plugin::PluginCommand),
    /// Serve decisions over HTTP: agents authenticate, sessions keep their labels, the chain
    /// reloads without dropping a request.
    Serve(serve::ServeArgs),
    /// Make API keys for `lampart serve`.
    #[command(subcommand)]
    Keys(keys::KeysCommand),
    /// Relay MCP between a client and a server it starts (stdio): every tool call and every
    /// result passes the chain.
    Mcp(mcp::McpArgs),
    /// Lists, approves, denies and revokes elevations on a running `lampart serve`.
    Grants(grants::GrantsArgs),
    /// Quarantines and releases agents on a running `lampart serve`.
    Agents(agents::AgentsArgs),
    /// Assesses a chain config: what makes it weak, how badly, and what to change.
    Doctor(doctor::DoctorArgs),
}

/// Runs a parsed command line.
pub fn run(cli: Cli) -> anyhow::Result<ExitCode> {
    match cli.command {
        Command::Check(args) => check::run(args),
        Command::Test(args) => test::run(args),
        Command::Audit(command) => audit::run(command),
        Command::Plugin(command) => plugin::run(command),
        Command::Serve(args) => serve::run(args),
        Command::Keys(command) => keys::run(command),
        Command::Mcp(args) => mcp::run(args),
        Command::Grants(args) => grants::run(args),
        Command::Agents(args) => agents::run(args),
        Command::Doctor(args) => doctor::run(args),
    }
}

/// An error and its causes on one line, each cause once (many errors already quote their
/// cause), with control characters escaped: messages quote file names and input, which must
/// not start lines or move the terminal's cursor.
pub fn one_line(err: &anyhow::Error) -> String {
    let mut line = String::new();
    for cause in err.chain() {
        let cause = cause.to_string();
        if line.contains(&cause) {
            continue;
        }
        if !line.is_empty() {
            line.push_str(": ");
        }
        line.push_str(&cause);
    }
    text::escape(&line)
}

/// A command-line value parser for a closed set of words that deserialize (from JSON
/// strings) into `T`: clap lists the words in `--help` and refuses any other.
pub fn serde_choice<T>(
    words: &'static [&'static str],
) -> impl clap::builder::TypedValueParser<Value = T>
where
    T: serde::de::DeserializeOwned + Clone + Send + Sync + 'static,
{
    use clap::builder::TypedValueParser;
    clap::builder::PossibleValuesParser::new(words).map(|word| {
        serde_json::from_value(serde_json::Value::String(word))
            .expect("every listed word deserializes")
    })
}

/// Where precompiled plugins are cached unless the config says otherwise:
/// `$LAMPART_CACHE_DIR`, else `$XDG_CACHE_HOME/lampart`, else `~/.cache/lampart`.
pub fn default_cache_dir() -> Option<PathBuf> {
    let env = |key: &str| {
        std::env::var_os(key)
            .filter(|v| !v.is_empty())
            .map(PathBuf::from)
    };
    env("LAMPART_CACHE_DIR")
        .or_else(|| env("XDG_CACHE_HOME").map(|dir| dir.join("lampart")))
        .or_else(|| env("HOME").map(|home| home.join(".cache").join("lampart")))
}

/// Starts an engine with the given cache directory (or the default one) and memory ceiling.
pub fn start_engine(
    cache_dir: Option<PathBuf>,
    max_memory: Option<usize>,
) -> anyhow::Result<Engine> {
    let mut options = EngineOptions {
        cache_dir: cache_dir.or_else(default_cache_dir),
        ..EngineOptions::default()
    };
    if let Some(max) = max_memory {
        options.max_memory = max;
    }
    Ok(Engine::new(options)?)
}
