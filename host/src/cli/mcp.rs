//! `lampart mcp`: put Lampart between an MCP client and a server it starts over stdio.

use std::path::{Path, PathBuf};
use std::process::ExitCode;
use std::sync::Arc;

use anyhow::{Context, bail};
use clap::Args;
use lampart::auth::{Authenticator, CredentialId, Identity};
use lampart::config::ChainConfig;
use lampart::host::{Host, HostOptions, base_dir};
use lampart::mcp::config::{DEFAULT_TIMEOUT, McpSection};
use lampart::mcp::relay::RelaySpec;
use lampart::mcp::upstream::Target;
use lampart::server::Service;
use lampart::state::{StateSection, Store};

/// Arguments of `lampart mcp`.
#[derive(Debug, Args)]
pub struct McpArgs {
    /// The chain config (its `[mcp]` section names the agent).
    #[arg(long, short)]
    config: PathBuf,
    /// The agent this proxy acts for (else `LAMPART_AGENT`, else `[mcp] agent`).
    #[arg(long)]
    agent: Option<String>,
    /// A role the agent holds; repeat for more (else `LAMPART_ROLES`, comma-separated, else
    /// `[mcp] roles`).
    #[arg(long = "role")]
    roles: Vec<String>,
    /// The Lampart session of this agent run (else `LAMPART_SESSION`, else a fresh one).
    #[arg(long)]
    session: Option<String>,
    /// The server's name in decisions (`resource`); default: the program's file name.
    #[arg(long)]
    name: Option<String>,
    /// Record decisions in this directory instead of the config's `[audit] dir` (one
    /// directory per running proxy: a log has one writer).
    #[arg(long, conflicts_with = "no_audit")]
    audit_dir: Option<PathBuf>,
    /// Record nothing, even if the config has an `[audit]` section.
    #[arg(long)]
    no_audit: bool,
    /// The MCP server to start, and its arguments (after `--`).
    #[arg(last = true, required = true, value_name = "SERVER")]
    server: Vec<String>,
}

pub fn run(args: McpArgs) -> anyhow::Result<ExitCode> {
    let config = ChainConfig::load(&args.config)?;
    let section = config.mcp.clone().unwrap_or_default();
    let identity = identity(&args, &section, |key| std::env::var(key).ok())?;
    let session = args
        .session
        .clone()
        .or_else(|| std::env::var("LAMPART_SESSION").ok());
    let (program, server_args) = args
        .server
        .split_first()
        .context("no server command after `--`")?;
    let name = match &args.name {
        Some(name) => name.clone(),
        None => Path::new(program)
            .file_name()
            .map_or_else(|| program.clone(), |n| n.to_string_lossy().into_owned()),
    };
    let options = HostOptions {
        audit_dir: args.audit_dir.clone(),
        no_audit: args.no_audit,
        default_cache_dir: super::default_cache_dir(),
        concurrency: 2,
        reloadable: false,
    };
    let base = base_dir(&args.config);
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .thread_name("lampart-mcp")
        .enable_all()
        .build()
        .context("starting the runtime")?;
    // Without a `[state]` section the session lives in memory: one process, one agent run.
    let store = runtime.block_on(async {
        match &config.state {
            Some(section) => Store::open(section, &base).await,
            None => Store::memory(StateSection::default().session_ttl).await,
        }
    })?;
    let host = Arc::new(Host::load(&args.config, &options)?);
    let service = Arc::new(Service::new(
        Arc::clone(&host),
        Authenticator::default(),
        store,
    ));
    let spec = RelaySpec {
        target: Target::Command {
            program: program.clone(),
            args: server_args.to_vec(),
        },
        name,
        tools: section.tools.clone(),
        timeout: section.timeout.unwrap_or(DEFAULT_TIMEOUT),
        identity: Some(identity),
        session,
    };
    let outcome = runtime.block_on(lampart::mcp::stdio::run(Arc::clone(&service), spec));
    let store = service.store.clone();
    runtime.block_on(store.close());
    drop(service);
    runtime.shutdown_timeout(std::time::Duration::from_secs(5));
    if let Ok(host) = Arc::try_unwrap(host) {
        host.close()?;
    }
    match outcome {
        Ok(()) => Ok(ExitCode::SUCCESS),
        Err(message) => bail!(message),
    }
}

/// The agent: `--agent`/`--role` first, then the environment, then `[mcp]`.
fn identity(
    args: &McpArgs,
    section: &McpSection,
    env: impl Fn(&str) -> Option<String>,
) -> anyhow::Result<Identity> {
    let (agent, source) = match (&args.agent, env("LAMPART_AGENT"), &section.agent) {
        (Some(agent), _, _) => (agent.clone(), "flag"),
        (None, Some(agent), _) => (agent, "env"),
        (None, None, Some(agent)) => (agent.clone(), "config"),
        (None, None, None) => bail!(
            "no agent to act for: pass --agent, set LAMPART_AGENT, or write `agent` in the config's [mcp] section"
        ),
    };
    if agent.trim().is_empty() {
        bail!("the agent's name is empty (from the {source})");
    }
    let roles = if !args.roles.is_empty() {
        args.roles.clone()
    } else if let Some(roles) = env("LAMPART_ROLES") {
        roles
            .split(',')
            .map(str::trim)
            .filter(|r| !r.is_empty())
            .map(String::from)
            .collect()
    } else {
        section.roles.clone().unwrap_or_default()
    };
    Ok(Identity {
        agent: Some(agent),
        roles,
        operator: false,
        credential: CredentialId::Local(source),
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use clap::Parser;

    #[derive(Parser)]
    struct Wrap {
        #[command(flatten)]
        args: McpArgs,
    }

    fn args(extra: &[&str]) -> McpArgs {
        let mut argv = vec!["lampart", "--config", "c.toml"];
        argv.extend_from_slice(extra);
        argv.extend_from_slice(&["--", "server", "--flag"]);
        Wrap::try_parse_from(argv).unwrap().args
    }

    #[test]
    fn flags_then_environment_then_config() {
        let section = McpSection {
            agent: Some("from-config".into()),
            roles: Some(vec!["c".into()]),
            ..McpSection::default()
        };
        let none = |_: &str| None;
        let env = |key: &str| match key {
            "LAMPART_AGENT" => Some("from-env".into()),
            "LAMPART_ROLES" => Some("a, b,".into()),
            _ => None,
        };
        let id = identity(&args(&["--agent", "cli", "--role", "x"]), &section, env).unwrap();
        assert_eq!(
            (id.agent.as_deref(), id.roles.clone()),
            (Some("cli"), vec!["x".into()])
        );
        assert_eq!(id.credential.to_string(), "local:flag");
        let id = identity(&args(&[]), &section, env).unwrap();
        assert_eq!(id.agent.as_deref(), Some("from-env"));
        assert_eq!(id.roles, vec!["a".to_string(), "b".to_string()]);
        let id = identity(&args(&[]), &section, none).unwrap();
        assert_eq!(
            (id.agent.as_deref(), id.roles),
            (Some("from-config"), vec!["c".into()])
        );
        assert_eq!(id.credential.to_string(), "local:config");
        let err = identity(&args(&[]), &McpSection::default(), none).unwrap_err();
        assert!(err.to_string().contains("LAMPART_AGENT"), "{err}");
        assert_eq!(args(&[]).server, vec!["server", "--flag"]);
    }
}
