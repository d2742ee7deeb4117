//! `lampart grants`: list, approve, deny and revoke elevations on a running service.

use super::Format;
use std::process::ExitCode;

use clap::{Args, Subcommand};
use reqwest::Method;
use serde_json::{Map, Value, json};

use super::admin::{Connection, segment};

/// Arguments of `lampart grants`.
#[derive(Debug, Args)]
pub struct GrantsArgs {
    #[command(flatten)]
    connection: Connection,
    /// How to print the answer.
    #[arg(long, value_enum, default_value_t = Format::Text, global = true)]
    format: Format,
    #[command(subcommand)]
    command: GrantsCommand,
}

/// The operations on elevations.
#[derive(Debug, Subcommand)]
enum GrantsCommand {
    /// Requests waiting for an operator.
    Pending,
    /// Elevations, newest first.
    List {
        /// Only those in this state: pending, granted, denied, expired or revoked.
        #[arg(long)]
        state: Option<String>,
        /// Only this agent's.
        #[arg(long)]
        agent: Option<String>,
        /// Only those bound to this task.
        #[arg(long)]
        task: Option<String>,
        /// At most this many.
        #[arg(long, default_value_t = 100)]
        limit: usize,
    },
    /// One elevation in full.
    Show {
        /// The elevation's id (`elv-…`).
        id: String,
    },
    /// Grants a held request.
    Approve {
        /// The elevation's id.
        id: String,
        /// How long the grant lasts (default: what the agent asked for).
        #[arg(long)]
        ttl: Option<String>,
        /// A note for the audit record.
        #[arg(long)]
        note: Option<String>,
    },
    /// Refuses a held request.
    Deny {
        /// The elevation's id.
        id: String,
        /// Why.
        #[arg(long)]
        reason: Option<String>,
    },
    /// Ends a grant (or withdraws a held request) now.
    Revoke {
        /// The elevation's id.
        id: String,
        /// Why.
        #[arg(long)]
        reason: Option<String>,
    },
    /// Revokes every grant an agent holds for a task, as if the task had ended.
    EndTask {
        /// The task's id.
        task: String,
        /// The agent whose task it is.
        #[arg(long)]
        agent: String,
    },
}

pub fn run(args: GrantsArgs) -> anyhow::Result<ExitCode> {
    let admin = args.connection.connect()?;
    let (method, path, body) = match &args.command {
        GrantsCommand::Pending => (Method::GET, "/v1/elevations?state=pending".to_owned(), None),
        GrantsCommand::List {
            state,
            agent,
            task,
            limit,
        } => {
            let mut query = format!("limit={limit}");
            for (key, value) in [("state", state), ("agent", agent), ("task", task)] {
                if let Some(value) = value {
                    query.push_str(&format!("&{key}={}", segment(value)));
                }
            }
            (Method::GET, format!("/v1/elevations?{query}"), None)
        }
        GrantsCommand::Show { id } => {
            (Method::GET, format!("/v1/elevations/{}", segment(id)), None)
        }
        GrantsCommand::Approve { id, ttl, note } => {
            let mut body = Map::new();
            if let Some(ttl) = ttl {
                body.insert("ttl".into(), json!(ttl));
            }
            if let Some(note) = note {
                body.insert("note".into(), json!(note));
            }
            let path = format!("/v1/elevations/{}/approve", segment(id));
            (Method::POST, path, Some(Value::Object(body)))
        }
        GrantsCommand::Deny { id, reason } | GrantsCommand::Revoke { id, reason } => {
            let verb = if matches!(args.command, GrantsCommand::Deny { .. }) {
                "deny"
            } else {
                "revoke"
            };
            let body = reason
                .as_ref()
                .map_or_else(|| json!({}), |reason| json!({ "reason": reason }));
            let path = format!("/v1/elevations/{}/{verb}", segment(id));
            (Method::POST, path, Some(body))
        }
        GrantsCommand::EndTask { task, agent } => {
            let path = format!("/v1/tasks/{}/end", segment(task));
            (Method::POST, path, Some(json!({ "agent": agent })))
        }
    };
    let runtime = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()?;
    let answer = runtime.block_on(admin.call(method, &path, body))?;
    match args.format {
        Format::Json => println!("{answer}"),
        Format::Text => print_text(&answer),
    }
    Ok(ExitCode::SUCCESS)
}

/// One line per elevation (a listing, or the one changed), or the revoked ids of a task.
fn print_text(answer: &Value) {
    if let Some(list) = answer.get("elevations").and_then(Value::as_array) {
        if list.is_empty() {
            println!("no elevations");
        }
        for elevation in list {
            println!("{}", line(elevation));
        }
    } else if let Some(revoked) = answer.get("revoked").and_then(Value::as_array) {
        println!(
            "revoked {} elevation(s): {}",
            revoked.len(),
            revoked
                .iter()
                .filter_map(Value::as_str)
                .collect::<Vec<_>>()
                .join(", ")
        );
    } else {
        println!("{}", line(answer));
    }
}

fn line(elevation: &Value) -> String {
    let field = |key: &str| match elevation.get(key) {
        Some(Value::String(text)) => super::text::escape(text),
        Some(Value::Null) | None => "-".to_owned(),
        Some(other) => other.to_string(),
    };
    let scopes = elevation
        .get("scopes")
        .and_then(Value::as_array)
        .map(|s| {
            s.iter()
                .filter_map(Value::as_str)
                .collect::<Vec<_>>()
                .join(",")
        })
        .unwrap_or_default();
    format!(
        "{}  {:<8} agent={} session={} task={} scopes={} expires={} by={} justification={}",
        field("id"),
        field("state"),
        field("agent"),
        field("session"),
        field("task"),
        scopes,
        field("expires"),
        field("decided_by"),
        field("justification"),
    )
}
