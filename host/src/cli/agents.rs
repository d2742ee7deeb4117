//! `lampart agents`: quarantine and release agents on a running service.

use std::process::ExitCode;

use clap::{Args, Subcommand};
use reqwest::Method;
use serde_json::{Value, json};

use super::admin::{Connection, segment};

/// Arguments of `lampart agents`.
#[derive(Debug, Args)]
pub struct AgentsArgs {
    #[command(flatten)]
    connection: Connection,
    /// Print the service's JSON answer instead of a line per agent.
    #[arg(long, global = true)]
    json: bool,
    #[command(subcommand)]
    command: AgentsCommand,
}

/// The operations on agents.
#[derive(Debug, Subcommand)]
enum AgentsCommand {
    /// Quarantined agents.
    List,
    /// Denies every decision of the agent, on every replica, until it is released.
    Quarantine {
        /// The agent.
        agent: String,
        /// Why (recorded).
        #[arg(long)]
        reason: Option<String>,
    },
    /// Ends the agent's quarantine.
    Release {
        /// The agent.
        agent: String,
    },
}

pub fn run(args: AgentsArgs) -> anyhow::Result<ExitCode> {
    let admin = args.connection.connect()?;
    let (method, path, body) = match &args.command {
        AgentsCommand::List => (Method::GET, "/v1/quarantines".to_owned(), None),
        AgentsCommand::Quarantine { agent, reason } => (
            Method::POST,
            format!("/v1/quarantines/{}", segment(agent)),
            Some(
                reason
                    .as_ref()
                    .map_or_else(|| json!({}), |r| json!({ "reason": r })),
            ),
        ),
        AgentsCommand::Release { agent } => (
            Method::DELETE,
            format!("/v1/quarantines/{}", segment(agent)),
            None,
        ),
    };
    let runtime = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()?;
    let answer = runtime.block_on(admin.call(method, &path, body))?;
    if args.json {
        println!("{answer}");
        return Ok(ExitCode::SUCCESS);
    }
    let line = |q: &Value| {
        let field =
            |key: &str| super::text::escape(q.get(key).and_then(Value::as_str).unwrap_or("-"));
        format!(
            "{}  since={} by={} reason={}",
            field("agent"),
            field("since"),
            field("by"),
            field("reason")
        )
    };
    match (
        &args.command,
        answer.get("quarantines").and_then(Value::as_array),
    ) {
        (AgentsCommand::List, Some(all)) if all.is_empty() => println!("no agent is quarantined"),
        (AgentsCommand::List, Some(all)) => all.iter().for_each(|q| println!("{}", line(q))),
        (AgentsCommand::Release { agent }, _) => {
            println!("released {}", super::text::escape(agent))
        }
        _ => println!("quarantined {}", line(&answer)),
    }
    Ok(ExitCode::SUCCESS)
}
