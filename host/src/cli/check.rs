//! `lampart check`: decide on one request or a stream, print each decision, record each in
//! the audit log before printing it.

use std::collections::{BTreeMap, VecDeque};
use std::io::{BufRead, Write};
use std::path::PathBuf;
use std::process::ExitCode;
use std::sync::Arc;
use std::sync::{Mutex, mpsc};

use anyhow::Context;
use clap::{Args, ValueEnum};
use lampart::audit::{AuditLog, AuditOptions, Pending};
use lampart::chain::{Chain, Decision, Verdict};
use lampart::config::{ChainConfig, audit_key_path};
use lampart::record::{self, AuditKey, Masking};
use lampart::request::Request;
use serde_json::{Map, Value, json};

use super::{EXIT_ALLOW, EXIT_DENY, EXIT_ELEVATE, EXIT_ERROR};

/// Decisions kept in flight while their audit records are made durable: enough for group
/// commit to batch well, small enough that output follows input closely.
const IN_FLIGHT: usize = 256;

/// Requests handed to a worker at a time.
const CHUNK: usize = 64;

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
    /// Threads deciding in parallel; decisions are still recorded and printed in input order.
    #[arg(long, default_value_t = 1)]
    workers: usize,
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
    // Records are only made when there is a log; the key is only needed then.
    let masking = match &audit_dir {
        Some(dir) => {
            let section = config.audit.as_ref();
            let key_file = section.and_then(|s| s.key_file.as_deref());
            let key = AuditKey::load_or_create(&audit_key_path(key_file, &base, dir))?;
            Masking {
                mask: section.map(|s| s.mask.clone()).unwrap_or_default(),
                hash: section.map(|s| s.hash.clone()).unwrap_or_default(),
                key,
            }
        }
        None => Masking::none(AuditKey::from_bytes([0; 32])),
    };
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
    let source = match &args.input {
        Some(path) if path.as_os_str() != "-" => Source::file(path)?,
        _ => Source::Stdin,
    };
    let mut emitter = Emitter {
        out: &mut out,
        audit: audit.as_ref(),
        in_flight: VecDeque::new(),
        source: source.name(),
    };
    let decider = Decider {
        chain: &chain,
        masking: &masking,
        audit: audit.is_some(),
        numbered: source.numbered(),
    };
    let result = decide_stream(&decider, &source, &mut emitter, args.workers.max(1));
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

/// Where requests come from.
enum Source {
    /// Standard input, one request per line.
    Stdin,
    /// A file read whole: one request, or one per line.
    File {
        /// The file's name, for messages.
        name: String,
        /// Its text.
        text: String,
        /// Whether the whole text is one request.
        single: bool,
    },
}

impl Source {
    /// Reads a request file. One JSON value (pretty-printed or not) is a single request; a
    /// file whose first line is a whole JSON value on its own is one request per line.
    fn file(path: &std::path::Path) -> anyhow::Result<Source> {
        let text = std::fs::read_to_string(path)
            .with_context(|| format!("request file `{}`", path.display()))?;
        let first_line_is_json = text
            .lines()
            .find(|line| !line.trim().is_empty())
            .is_some_and(|line| serde_json::from_str::<Value>(line).is_ok());
        let single = serde_json::from_str::<Value>(&text).is_ok() || !first_line_is_json;
        Ok(Source::File {
            name: path.display().to_string(),
            text,
            single,
        })
    }

    fn name(&self) -> String {
        match self {
            Source::Stdin => "stdin".into(),
            Source::File { name, .. } => name.clone(),
        }
    }

    /// Whether messages name line numbers.
    fn numbered(&self) -> bool {
        !matches!(self, Source::File { single: true, .. })
    }

    /// Calls `each` with every non-blank request text and its 0-based line index, in order.
    fn for_each(
        &self,
        mut each: impl FnMut(usize, String) -> anyhow::Result<()>,
    ) -> anyhow::Result<()> {
        match self {
            Source::Stdin => {
                for (index, line) in std::io::stdin().lock().lines().enumerate() {
                    let line = line.context("reading stdin")?;
                    if !line.trim().is_empty() {
                        each(index, line)?;
                    }
                }
            }
            Source::File {
                text, single: true, ..
            } => each(0, text.clone())?,
            Source::File {
                text,
                single: false,
                ..
            } => {
                for (index, line) in text.lines().enumerate() {
                    if !line.trim().is_empty() {
                        each(index, line.to_owned())?;
                    }
                }
            }
        }
        Ok(())
    }
}

/// A decided request with its audit record, or a line that was refused (with its line
/// number and why).
type Decided = Result<(Decision, Option<Map<String, Value>>), (Option<usize>, String)>;

/// Turns one line into a decision and its audit record; safe to call from many threads.
struct Decider<'a> {
    chain: &'a Chain,
    masking: &'a Masking,
    audit: bool,
    numbered: bool,
}

impl Decider<'_> {
    fn decide(&self, index: usize, text: &str) -> Decided {
        match Request::from_json(text) {
            Ok(request) => {
                let decision = self.chain.decide(request);
                let record = self
                    .audit
                    .then(|| record::audit_record(&decision, self.masking));
                Ok((decision, record))
            }
            Err(err) => Err((self.numbered.then_some(index + 1), err.to_string())),
        }
    }
}

/// Decides every request of `source` with `workers` threads. Decisions are recorded and
/// printed in input order, by this thread, whatever thread made them; so even one worker
/// keeps deciding while this thread waits for the audit log's fsync.
fn decide_stream<W: Write>(
    decider: &Decider<'_>,
    source: &Source,
    emitter: &mut Emitter<'_, W>,
    workers: usize,
) -> anyhow::Result<()> {
    // Lines travel in chunks, and decisions come back in chunks: one channel message per
    // line would cost more in thread wake-ups than a warm decision itself.
    let (work_tx, work_rx) = mpsc::sync_channel::<Vec<(u64, usize, String)>>(workers * 2);
    let work_rx = Mutex::new(work_rx);
    std::thread::scope(|scope| {
        let (done_tx, done_rx) = mpsc::sync_channel::<Vec<(u64, Decided)>>(workers * 2);
        for _ in 0..workers {
            let done_tx = done_tx.clone();
            let work_rx = &work_rx;
            scope.spawn(move || {
                loop {
                    let next = work_rx.lock().unwrap_or_else(|p| p.into_inner()).recv();
                    let Ok(chunk) = next else {
                        break;
                    };
                    let decided = chunk
                        .into_iter()
                        .map(|(order, index, text)| (order, decider.decide(index, &text)))
                        .collect();
                    if done_tx.send(decided).is_err() {
                        break;
                    }
                }
            });
        }
        drop(done_tx);
        let reader = scope.spawn(move || {
            let mut order = 0;
            let mut chunk = Vec::with_capacity(CHUNK);
            source.for_each(|index, text| {
                chunk.push((order, index, text));
                order += 1;
                if chunk.len() == CHUNK {
                    let full = std::mem::replace(&mut chunk, Vec::with_capacity(CHUNK));
                    work_tx
                        .send(full)
                        .map_err(|_| anyhow::anyhow!("workers stopped"))?;
                }
                Ok(())
            })?;
            if !chunk.is_empty() {
                work_tx
                    .send(chunk)
                    .map_err(|_| anyhow::anyhow!("workers stopped"))?;
            }
            Ok::<(), anyhow::Error>(())
        });
        // Put decisions back in input order before recording and printing them.
        let mut waiting = BTreeMap::new();
        let mut next = 0u64;
        let mut emitted = Ok(());
        for (order, decided) in done_rx.into_iter().flatten() {
            waiting.insert(order, decided);
            while let Some(decided) = waiting.remove(&next) {
                next += 1;
                if emitted.is_ok() {
                    emitted = emitter.push(decided);
                }
            }
            if emitted.is_err() {
                break;
            }
        }
        emitted?;
        reader
            .join()
            .map_err(|_| anyhow::anyhow!("the input reader panicked"))??;
        emitter.finish()
    })
}

/// A decision whose audit record is being written, or a refused line (line number, why).
type Recording = Result<(Decision, Option<Pending>), (Option<usize>, String)>;

/// Records decisions in the audit log and prints each once its record is durable, keeping
/// up to [`IN_FLIGHT`] in flight so that group commit can batch them.
struct Emitter<'a, W: Write> {
    out: &'a mut Output<W>,
    audit: Option<&'a AuditLog>,
    in_flight: VecDeque<Recording>,
    source: String,
}

impl<W: Write> Emitter<'_, W> {
    fn push(&mut self, decided: Decided) -> anyhow::Result<()> {
        let entry = decided.map(|(decision, record)| {
            let pending = match (self.audit, record) {
                (Some(log), Some(record)) => Some(log.submit(record)),
                _ => None,
            };
            (decision, pending)
        });
        self.in_flight.push_back(entry);
        if self.in_flight.len() >= IN_FLIGHT {
            self.flush_one()?;
        }
        Ok(())
    }

    fn finish(&mut self) -> anyhow::Result<()> {
        while !self.in_flight.is_empty() {
            self.flush_one()?;
        }
        self.out.stdout.flush()?;
        Ok(())
    }

    /// Prints the oldest decision once its record is durable. An audit failure stops the
    /// run: a decision that could not be recorded is never printed as made.
    fn flush_one(&mut self) -> anyhow::Result<()> {
        match self.in_flight.pop_front() {
            Some(Ok((decision, None))) => self.out.decision(&decision, None),
            Some(Ok((decision, Some(pending)))) => {
                let receipt = pending.wait().context("audit log")?;
                self.out
                    .decision(&decision, Some((receipt.seq, &receipt.hash)))
            }
            Some(Err((line, message))) => self.out.error(&self.source, line, &message),
            None => Ok(()),
        }
    }
}
