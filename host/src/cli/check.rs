//! `lampart check`: decide on one request or a stream, print each decision, record each in
//! the audit log before printing it.

use std::collections::VecDeque;
use std::io::{BufRead, Write};
use std::path::PathBuf;
use std::process::ExitCode;
use std::sync::Arc;

use anyhow::Context;
use clap::{Args, ValueEnum};
use lampart::audit::{AuditLog, AuditOptions, Pending};
use lampart::chain::{Chain, Decision, Verdict};
use lampart::config::ChainConfig;
use lampart::record::{self, Masking};
use lampart::request::Request;
use serde_json::{Value, json};

use super::{EXIT_ALLOW, EXIT_DENY, EXIT_ELEVATE, EXIT_ERROR};

/// Decisions kept in flight while their audit records are made durable: enough for group
/// commit to batch well, small enough that output follows input closely.
const IN_FLIGHT: usize = 256;

#[derive(Debug, Args)]
pub struct CheckArgs {
    /// The chain config (TOML).
    #[arg(long, short)]
    config: PathBuf,
    /// A request file (one JSON object, or one object per line), or `-` for standard input
    /// (one object per line). Standard input when absent.
    input: Option<PathBuf>,
    /// How to print decisions.
    #[arg(long, value_enum, default_value_t = Format::Json)]
    format: Format,
    /// Record decisions in this audit directory (overrides the config's `[audit] dir`).
    #[arg(long)]
    audit_dir: Option<PathBuf>,
    /// Do not record decisions, even if the config has an `[audit]` section.
    #[arg(long, conflicts_with = "audit_dir")]
    no_audit: bool,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
enum Format {
    /// One JSON object per decision, one per line.
    Json,
    /// One line per decision for people.
    Text,
}

/// What the stream has seen so far, for the exit code.
#[derive(Default)]
struct Tally {
    allow: u64,
    deny: u64,
    elevate: u64,
    errors: u64,
}

impl Tally {
    fn count(&mut self, verdict: Verdict) {
        match verdict {
            Verdict::Allow => self.allow += 1,
            Verdict::Deny => self.deny += 1,
            Verdict::ElevationRequired => self.elevate += 1,
        }
    }

    fn exit_code(&self) -> u8 {
        if self.errors > 0 {
            EXIT_ERROR
        } else if self.deny > 0 {
            EXIT_DENY
        } else if self.elevate > 0 {
            EXIT_ELEVATE
        } else {
            EXIT_ALLOW
        }
    }
}

pub fn run(args: CheckArgs) -> anyhow::Result<ExitCode> {
    let config = ChainConfig::load(&args.config)?;
    let base = super::base_dir(&args.config);
    let engine = super::start_engine(
        config.engine.cache_dir.as_ref().map(|dir| base.join(dir)),
        config.engine.max_memory.map(|size| size.0),
    )?;
    let chain = Chain::load(&config, &base, Arc::new(engine))?;

    let audit_dir = match (&args.audit_dir, args.no_audit, &config.audit) {
        (_, true, _) => None,
        (Some(dir), _, _) => Some(dir.clone()),
        (None, false, Some(audit)) => Some(base.join(&audit.dir)),
        (None, false, None) => None,
    };
    let masking = config
        .audit
        .as_ref()
        .map(|a| Masking {
            mask: a.mask.clone(),
            hash: a.hash.clone(),
        })
        .unwrap_or_default();
    let audit = match audit_dir {
        Some(dir) => {
            let mut options = AuditOptions::default();
            if let Some(audit) = &config.audit {
                options.fsync = audit.fsync;
                if let Some(size) = audit.segment_size {
                    options.max_segment_bytes = size.0 as u64;
                }
            }
            Some(AuditLog::open(&dir, options)?)
        }
        None => None,
    };

    let mut out = Output {
        format: args.format,
        stdout: std::io::stdout().lock(),
        tally: Tally::default(),
    };
    let result = match &args.input {
        Some(path) if path.as_os_str() != "-" => {
            let text = std::fs::read_to_string(path)
                .with_context(|| format!("request file `{}`", path.display()))?;
            let name = path.display().to_string();
            // One JSON value (pretty-printed or not) is a single request; a file whose first
            // line is a whole JSON value on its own is one request per line.
            let first_line_is_json = text
                .lines()
                .find(|line| !line.trim().is_empty())
                .is_some_and(|line| serde_json::from_str::<Value>(line).is_ok());
            if serde_json::from_str::<Value>(&text).is_ok() || !first_line_is_json {
                decide_stream(
                    &chain,
                    audit.as_ref(),
                    &masking,
                    &mut out,
                    std::iter::once(Ok((0, text))),
                    &name,
                )
            } else {
                let lines: Vec<_> = text
                    .lines()
                    .map(str::to_owned)
                    .enumerate()
                    .map(Ok)
                    .collect();
                decide_stream(
                    &chain,
                    audit.as_ref(),
                    &masking,
                    &mut out,
                    lines.into_iter(),
                    &name,
                )
            }
        }
        _ => {
            let stdin = std::io::stdin().lock();
            let lines = stdin
                .lines()
                .enumerate()
                .map(|(index, line)| line.map(|l| (index, l)));
            decide_stream(&chain, audit.as_ref(), &masking, &mut out, lines, "stdin")
        }
    };
    if let Some(audit) = audit {
        audit.close()?;
    }
    result?;
    Ok(ExitCode::from(out.tally.exit_code()))
}

struct Output<W: Write> {
    format: Format,
    stdout: W,
    tally: Tally,
}

impl<W: Write> Output<W> {
    fn decision(
        &mut self,
        decision: &Decision,
        receipt: Option<(u64, &str)>,
    ) -> anyhow::Result<()> {
        self.tally.count(decision.verdict);
        match self.format {
            Format::Json => writeln!(
                self.stdout,
                "{}",
                record::decision_output(decision, receipt)
            )?,
            Format::Text => writeln!(self.stdout, "{}", record::decision_line(decision))?,
        }
        Ok(())
    }

    fn error(&mut self, source: &str, line: Option<usize>, message: &str) -> anyhow::Result<()> {
        self.tally.errors += 1;
        let place = match line {
            Some(line) => format!("{source} line {line}"),
            None => source.to_string(),
        };
        eprintln!("lampart: request {place}: {message}");
        if self.format == Format::Json {
            writeln!(
                self.stdout,
                "{}",
                json!({ "line": line, "error": format!("request {place}: {message}") })
            )?;
        }
        Ok(())
    }
}

/// A decided request waiting for its audit record, or a line that was refused (with its
/// line number and why).
type InFlight = Result<(Decision, Option<Pending>), (Option<usize>, String)>;

/// Decides on each line in turn, printing decisions in input order once each is durable.
fn decide_stream<W: Write>(
    chain: &Chain,
    audit: Option<&AuditLog>,
    masking: &Masking,
    out: &mut Output<W>,
    lines: impl Iterator<Item = std::io::Result<(usize, String)>>,
    source: &str,
) -> anyhow::Result<()> {
    let single = source != "stdin";
    let mut in_flight: VecDeque<InFlight> = VecDeque::new();
    for line in lines {
        let (index, text) = line.with_context(|| format!("reading {source}"))?;
        if text.trim().is_empty() {
            continue;
        }
        let line_number = (index > 0 || !single).then_some(index + 1);
        let entry = match Request::from_json(&text) {
            Ok(request) => {
                let decision = chain.decide(request);
                let pending = audit.map(|log| log.submit(record::audit_record(&decision, masking)));
                Ok((decision, pending))
            }
            Err(err) => Err((line_number, err.to_string())),
        };
        in_flight.push_back(entry);
        if in_flight.len() >= IN_FLIGHT {
            flush_one(&mut in_flight, out, source)?;
        }
    }
    while !in_flight.is_empty() {
        flush_one(&mut in_flight, out, source)?;
    }
    out.stdout.flush()?;
    Ok(())
}

/// Prints the oldest decision once its record is durable. An audit failure stops the run:
/// a decision that could not be recorded is never printed as made.
fn flush_one<W: Write>(
    in_flight: &mut VecDeque<InFlight>,
    out: &mut Output<W>,
    source: &str,
) -> anyhow::Result<()> {
    match in_flight.pop_front() {
        Some(Ok((decision, None))) => out.decision(&decision, None),
        Some(Ok((decision, Some(pending)))) => {
            let receipt = pending.wait().context("audit log")?;
            out.decision(&decision, Some((receipt.seq, &receipt.hash)))
        }
        Some(Err((line, message))) => out.error(source, line, &message),
        None => Ok(()),
    }
}
