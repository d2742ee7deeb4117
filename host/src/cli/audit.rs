//! `lampart audit`: verify, tail, head and recover an audit log.

use std::path::PathBuf;
use std::process::ExitCode;

use anyhow::{Context, bail};
use clap::{Args, Subcommand};
use lampart::audit;
use lampart::config::ChainConfig;
use serde_json::json;

#[derive(Debug, Subcommand)]
pub enum AuditCommand {
    /// Check every record's hash and link, sequence continuity and the HEAD file; names the
    /// first bad sequence number. Exit code 0 when the log is intact, 1 when it is not.
    Verify {
        #[command(flatten)]
        log: LogDir,
        /// Also check that record SEQ has HASH (an anchor kept outside the host), as `SEQ:HASH`.
        #[arg(long)]
        anchor: Option<String>,
        /// Print the report as JSON.
        #[arg(long)]
        json: bool,
    },
    /// Print the last records, one JSON object per line.
    Tail {
        #[command(flatten)]
        log: LogDir,
        /// How many records.
        #[arg(short = 'n', long, default_value_t = 10)]
        lines: usize,
    },
    /// Print the last durable record's sequence number and hash (an anchor to keep elsewhere).
    Head {
        #[command(flatten)]
        log: LogDir,
    },
    /// After a crash: move a torn last line aside into a quarantine file so the log can be
    /// opened again. Refused while a writer holds the log.
    Recover {
        #[command(flatten)]
        log: LogDir,
    },
}

/// Which log: a directory, or the `[audit] dir` of a chain config.
#[derive(Debug, Args)]
pub struct LogDir {
    /// The audit log directory.
    #[arg(long, required_unless_present = "config")]
    dir: Option<PathBuf>,
    /// A chain config whose `[audit] dir` names the log.
    #[arg(long, short, conflicts_with = "dir")]
    config: Option<PathBuf>,
}

impl LogDir {
    fn resolve(&self) -> anyhow::Result<PathBuf> {
        if let Some(dir) = &self.dir {
            return Ok(dir.clone());
        }
        let Some(path) = &self.config else {
            bail!("give --dir or --config")
        };
        let config = ChainConfig::load(path)?;
        match config.audit {
            Some(audit) => Ok(lampart::host::base_dir(path).join(audit.dir)),
            None => bail!("config `{}` has no [audit] section", path.display()),
        }
    }
}

pub fn run(command: AuditCommand) -> anyhow::Result<ExitCode> {
    match command {
        AuditCommand::Verify { log, anchor, json } => {
            let dir = log.resolve()?;
            if !dir.is_dir() {
                bail!("audit log `{}`: no such directory", dir.display());
            }
            let result = match &anchor {
                Some(text) => {
                    let (seq, hash) = text
                        .split_once(':')
                        .and_then(|(seq, hash)| Some((seq.parse::<u64>().ok()?, hash)))
                        .with_context(|| {
                            format!("anchor `{text}`: expected SEQ:HASH, e.g. 42:3f9a…")
                        })?;
                    audit::verify_with_anchor(&dir, seq, hash)
                }
                None => audit::verify(&dir),
            };
            match result {
                Ok(report) => {
                    if json {
                        println!(
                            "{}",
                            json!({ "ok": true, "records": report.records, "segments": report.segments,
                                    "last_seq": report.last_seq, "last_hash": report.last_hash, "notes": report.notes })
                        );
                    } else {
                        println!(
                            "ok: {} records in {} segments, last seq {} hash {}",
                            report.records, report.segments, report.last_seq, report.last_hash
                        );
                        for note in &report.notes {
                            println!("note: {}", super::text::escape(note));
                        }
                    }
                    Ok(ExitCode::SUCCESS)
                }
                Err(
                    err @ (audit::AuditError::Io { .. }
                    | audit::AuditError::Locked { .. }
                    | audit::AuditError::Untrusted { .. }),
                ) => Err(err.into()),
                Err(err) => {
                    if json {
                        println!("{}", json!({ "ok": false, "error": err.to_string() }));
                    } else {
                        println!("FAILED: {}", super::text::escape(&err.to_string()));
                    }
                    Ok(ExitCode::from(1))
                }
            }
        }
        AuditCommand::Tail { log, lines } => {
            for record in audit::tail(log.resolve()?, lines)? {
                println!("{record}");
            }
            Ok(ExitCode::SUCCESS)
        }
        AuditCommand::Head { log } => {
            let head = audit::head(log.resolve()?)?;
            println!("{}:{}", head.seq, head.hash);
            Ok(ExitCode::SUCCESS)
        }
        AuditCommand::Recover { log } => {
            match audit::recover(log.resolve()?)? {
                Some(recovery) => println!("{}", super::text::escape(&recovery.to_string())),
                None => println!("nothing to recover: the last line is complete"),
            }
            Ok(ExitCode::SUCCESS)
        }
    }
}
