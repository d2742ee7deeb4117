//! `lampart check`: decide on one request or a stream, print each decision, record each in
//! the audit log before printing it.
//!
//! Four stages, each on its own thread, joined by bounded channels:
//!
//! 1. the reader reads lines and hands them over in batches (early when no more input is
//!    ready, so that a live stream is answered at once);
//! 2. workers decide and build the audit records;
//! 3. the recorder puts decisions back in input order and submits their records, so that
//!    sequence numbers follow the input and group commit batches whatever is in flight;
//! 4. the main thread prints each decision once its record is durable, and flushes standard
//!    output whenever it has nothing more to print.
//!
//! When a stage stops (standard output closed, the audit log failed), every channel it held
//! is dropped and the stages next to it stop at their next send or receive; the workers are
//! also told to stop, since the reader may be waiting for input that never comes. The reader
//! is the one thread not waited for: it ends with the process.

use std::collections::BTreeMap;
use std::io::{BufWriter, Write};
use std::path::PathBuf;
use std::process::ExitCode;

use anyhow::Context;
use clap::{Args, ValueEnum};
use crossbeam_channel::{Receiver, Sender, TryRecvError, bounded, select};
use lampart::audit::{AuditLog, Pending};
use lampart::chain::{Decision, Verdict};
use lampart::host::{Host, HostError, HostOptions, MAX_INSTANCES};
use lampart::record;
use lampart::request::Request;
use serde_json::{Map, Value, json};

use super::input::{Line, Source};
use super::text::{self, escape};
use super::{EXIT_ALLOW, EXIT_DENY, EXIT_ELEVATE, EXIT_ERROR};

/// Decisions kept in flight while their audit records are made durable: enough for group
/// commit to batch well, small enough that output follows input closely.
const IN_FLIGHT: usize = 256;

/// Requests handed to a worker at a time, at most.
const CHUNK: usize = 64;

/// The most threads `--workers` may ask for.
const MAX_WORKERS: u16 = 256;

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
    /// Threads deciding in parallel (1 to 256); decisions are still recorded and printed in
    /// input order.
    #[arg(long, default_value_t = 1, value_parser = clap::value_parser!(u16).range(1..=MAX_WORKERS as i64))]
    workers: u16,
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
    let workers = usize::from(args.workers);
    // The request file is opened first: a bad one never takes the audit log's lock.
    let source = match &args.input {
        Some(path) if path.as_os_str() != "-" => {
            Source::file(path).map_err(|err| anyhow::anyhow!("request file {err}"))?
        }
        _ => Source::stdin(),
    };
    let options = HostOptions {
        audit_dir: args.audit_dir.clone(),
        no_audit: args.no_audit,
        default_cache_dir: super::default_cache_dir(),
        concurrency: workers,
        reloadable: false,
    };
    let host = match Host::load(&args.config, &options) {
        Err(HostError::TooManyInstances { warm, needed, .. }) => anyhow::bail!(
            "`--workers {workers}` with {warm} warm steps needs up to {needed} live plugin instances, more than the limit of {MAX_INSTANCES}; use fewer workers or fewer warm steps"
        ),
        loaded => loaded?,
    };

    let mut out = Output {
        format: args.format,
        stdout: BufWriter::with_capacity(64 << 10, std::io::stdout().lock()),
        tally: Tally::default(),
        source: source.name().to_owned(),
    };
    let decider = Decider {
        host: &host,
        numbered: source.numbered(),
    };
    let result = decide_stream(&decider, source, host.audit(), &mut out, workers);
    // Closing waits for what was submitted and releases the log's lock, whatever happened.
    let closed = host.close();
    result?;
    closed?;
    Ok(ExitCode::from(out.tally.exit_code()))
}

/// Prints decisions and refused lines, and counts them for the exit code.
struct Output<W: Write> {
    format: Format,
    stdout: W,
    tally: Tally,
    /// The input's name, for messages.
    source: String,
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
            ),
            Format::Text => writeln!(self.stdout, "{}", text::decision_line(decision)),
        }
        .context("writing standard output")
    }

    fn error(&mut self, line: Option<usize>, message: &str) -> anyhow::Result<()> {
        self.tally.errors += 1;
        let place = match line {
            Some(line) => format!("{} line {line}", self.source),
            None => self.source.clone(),
        };
        // A closed standard error must not stop the stream (`eprintln!` would panic).
        let _ = writeln!(
            std::io::stderr(),
            "lampart: {}",
            escape(&format!("request {place}: {message}"))
        );
        if self.format == Format::Json {
            writeln!(
                self.stdout,
                "{}",
                json!({ "line": line, "error": format!("request {place}: {message}") })
            )
            .context("writing standard output")?;
        }
        Ok(())
    }

    fn flush(&mut self) -> anyhow::Result<()> {
        self.stdout.flush().context("writing standard output")
    }
}

/// A decided request with its audit record, or a line that was refused (with its line
/// number and why).
type Decided = Result<(Decision, Option<Map<String, Value>>), (Option<usize>, String)>;

/// A decision whose audit record is being written, or a refused line (line number, why).
type Recording = Result<(Decision, Option<Pending>), (Option<usize>, String)>;

/// Turns one line into a decision and its audit record; safe to call from many threads.
struct Decider<'a> {
    host: &'a Host,
    numbered: bool,
}

impl Decider<'_> {
    fn decide(&self, line: Line) -> Decided {
        let place = self.numbered.then_some(line.index + 1);
        let text = line.text.map_err(|message| (place, message))?;
        match Request::from_json(&text) {
            Ok(request) => {
                let loaded = self.host.current();
                let decision = loaded.decide(request);
                let record = loaded.record(&decision);
                Ok((decision, record))
            }
            Err(err) => Err((place, err.to_string())),
        }
    }
}

/// Decides every request of `source` with `workers` threads, records each decision in
/// `audit` and prints it, in input order, once its record is durable.
fn decide_stream<W: Write>(
    decider: &Decider<'_>,
    source: Source,
    audit: Option<&AuditLog>,
    out: &mut Output<W>,
    workers: usize,
) -> anyhow::Result<()> {
    // Lines travel in batches, and decisions come back in batches: one channel message per
    // line would cost more in thread wake-ups than a warm decision itself.
    let (work_tx, work_rx) = bounded::<Vec<(u64, Line)>>(workers * 2);
    let (done_tx, done_rx) = bounded::<Vec<(u64, Decided)>>(workers * 2);
    let (print_tx, print_rx) = bounded::<Recording>(IN_FLIGHT);
    // Nothing is ever sent on it: dropping the sender tells the workers to stop.
    let (stop_tx, stop_rx) = bounded::<()>(0);

    // Not joined unless everything went well: it may be blocked reading a pipe that stays
    // open, and must not keep the process alive.
    let reader = std::thread::Builder::new()
        .name("lampart-read".into())
        .spawn(move || read_batches(source, &work_tx))
        .context("starting the input reader")?;

    let printed = std::thread::scope(|scope| {
        for _ in 0..workers {
            let (work_rx, done_tx, stop_rx) = (work_rx.clone(), done_tx.clone(), stop_rx.clone());
            scope.spawn(move || decide_batches(decider, &work_rx, &done_tx, &stop_rx));
        }
        drop((work_rx, done_tx, stop_rx));
        scope.spawn(move || record_in_order(audit, &done_rx, &print_tx));
        let printed = print_in_order(out, &print_rx);
        if printed.is_err() {
            // Whatever was printed is durable: let it out if standard output still takes it.
            let _ = out.flush();
        }
        // On failure, stop every stage before the scope waits for them.
        drop(print_rx);
        drop(stop_tx);
        printed
    });
    printed?;
    reader
        .join()
        .map_err(|_| anyhow::anyhow!("the input reader panicked"))?
}

/// The reader: numbers every non-blank line and hands them to the workers in batches.
fn read_batches(source: Source, work: &Sender<Vec<(u64, Line)>>) -> anyhow::Result<()> {
    let mut order = 0u64;
    source.for_each_batch(CHUNK, |lines| {
        let batch = lines
            .into_iter()
            .map(|line| {
                order += 1;
                (order - 1, line)
            })
            .collect();
        // Fails only once every worker has stopped.
        work.send(batch).is_ok()
    })
}

/// A worker: decides batches until the input ends or it is told to stop.
fn decide_batches(
    decider: &Decider<'_>,
    work: &Receiver<Vec<(u64, Line)>>,
    done: &Sender<Vec<(u64, Decided)>>,
    stop: &Receiver<()>,
) {
    loop {
        let batch = select! {
            recv(work) -> batch => match batch {
                Ok(batch) => batch,
                Err(_) => return,
            },
            recv(stop) -> _ => return,
        };
        let decided = batch
            .into_iter()
            .map(|(order, line)| (order, decider.decide(line)))
            .collect();
        select! {
            send(done, decided) -> sent => if sent.is_err() { return },
            recv(stop) -> _ => return,
        }
    }
}

/// The recorder: puts decisions back in input order, submits their audit records (so that
/// sequence numbers follow the input) and passes them on to be printed.
fn record_in_order(
    audit: Option<&AuditLog>,
    done: &Receiver<Vec<(u64, Decided)>>,
    print: &Sender<Recording>,
) {
    let mut waiting = BTreeMap::new();
    let mut next = 0u64;
    for batch in done {
        waiting.extend(batch);
        while let Some(decided) = waiting.remove(&next) {
            next += 1;
            let recording = decided.map(|(decision, record)| {
                let pending = match (audit, record) {
                    (Some(log), Some(record)) => Some(log.submit(record)),
                    _ => None,
                };
                (decision, pending)
            });
            if print.send(recording).is_err() {
                return;
            }
        }
    }
}

/// The printer: prints each decision once its record is durable, and flushes standard
/// output whenever nothing more is ready. An audit failure stops the run: a decision that
/// could not be recorded is never printed as made.
fn print_in_order<W: Write>(
    out: &mut Output<W>,
    print: &Receiver<Recording>,
) -> anyhow::Result<()> {
    loop {
        let recording = match print.try_recv() {
            Ok(recording) => recording,
            Err(TryRecvError::Empty) => {
                out.flush()?;
                match print.recv() {
                    Ok(recording) => recording,
                    Err(_) => return Ok(()),
                }
            }
            Err(TryRecvError::Disconnected) => return out.flush(),
        };
        match recording {
            Ok((decision, None)) => out.decision(&decision, None)?,
            Ok((decision, Some(pending))) => {
                let receipt = pending.wait()?;
                out.decision(&decision, Some((receipt.seq, &receipt.hash)))?;
            }
            Err((line, message)) => out.error(line, &message)?,
        }
    }
}
