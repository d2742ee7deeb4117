//! `lampart-load`: a closed-loop HTTP/1.1 load generator for `lampart serve`.
//!
//! ```text
//! lampart-load --url http://127.0.0.1:PORT/v1/decide --header "authorization: Bearer KEY" \
//!    --body-file requests.jsonl --connections 64 --duration 10s --warmup 2s --expect-status 200
//! ```
//!
//! Prints one JSON object on standard output and a summary on standard error. Exits 1 when
//! `--expect-status` is given and any request (warm-up included) got another status or no
//! answer, 2 when the run cannot start. `--print serve-bodies|check-lines|chain-config`
//! prints a piece of the service benchmark instead (its requests as bodies or as
//! `lampart check` lines, its chain config), for `bench/serve.sh`.

use std::io::Write as _;
use std::path::PathBuf;
use std::process::ExitCode;
use std::time::Duration;

use clap::{Parser, ValueEnum};
use lampart_bench::cases::chain_config;
use lampart_bench::load::benchmark;
use lampart_bench::load::plan::{Pace, Plan, Target, parse_header, read_bodies};
use lampart_bench::load::report::Report;
use lampart_bench::load::{LoadError, run};

/// A closed-loop HTTP/1.1 load generator: keep-alive connections, one request in flight on
/// each, exact latency percentiles.
#[derive(Debug, Parser)]
#[command(name = "lampart-load")]
struct Args {
    /// Where to POST, `http://host:port/path`.
    #[arg(long, required_unless_present = "print")]
    url: Option<String>,
    /// A header sent with every request, `"name: value"` (repeatable).
    #[arg(long = "header", short = 'H')]
    headers: Vec<String>,
    /// Request bodies, one per line; connection i starts at line i mod n and cycles.
    #[arg(long, required_unless_present = "print")]
    body_file: Option<PathBuf>,
    /// The bodies' `Content-Type`.
    #[arg(long, default_value = "application/json")]
    content_type: String,
    /// Keep-alive connections, each with one request in flight.
    #[arg(long, default_value_t = 64)]
    connections: usize,
    /// How long requests are measured, after the warm-up (`10s`, `500ms`).
    #[arg(long, default_value = "10s", value_parser = humantime::parse_duration)]
    duration: Duration,
    /// How long requests are sent, and not measured, first.
    #[arg(long, default_value = "2s", value_parser = humantime::parse_duration)]
    warmup: Duration,
    /// How long one request may take before it counts as an error.
    #[arg(long, default_value = "5s", value_parser = humantime::parse_duration)]
    timeout: Duration,
    /// Runtime worker threads. Keep it at 1 when the server runs on the same few cores: the
    /// generator's threads take CPU from the server it measures.
    #[arg(long, default_value_t = 1)]
    threads: usize,
    /// Exit 1 if any response has another status, or any request gets no answer.
    #[arg(long)]
    expect_status: Option<u16>,
    /// Print a piece of the service benchmark and exit (see `bench/serve.sh`).
    #[arg(long, value_enum, conflicts_with_all = ["url", "body_file"])]
    print: Option<Fixture>,
    /// With `--print` of requests, how many lines to print (cycling through the requests).
    #[arg(long, requires = "print")]
    lines: Option<usize>,
}

/// The pieces of the service benchmark `--print` gives.
#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
enum Fixture {
    /// The benchmark requests as `POST /v1/decide` bodies, each with its session.
    ServeBodies,
    /// The same bodies without sessions (no session state is read or written).
    ServeBodiesSessionless,
    /// The same decisions as `lampart check` lines.
    CheckLines,
    /// The chain config: one warm tool-rules step with the benchmark policy (needs
    /// `cargo xtask plugins` first).
    ChainConfig,
}

fn main() -> ExitCode {
    let args = Args::parse();
    if let Some(fixture) = args.print {
        return print_fixture(fixture, args.lines);
    }
    match load(&args) {
        Ok(code) => code,
        Err(err) => {
            eprintln!("lampart-load: {err}");
            ExitCode::from(2)
        }
    }
}

fn load(args: &Args) -> Result<ExitCode, LoadError> {
    let url = args.url.as_deref().unwrap_or_default();
    let body_file = args.body_file.clone().unwrap_or_default();
    let headers = args
        .headers
        .iter()
        .map(|header| parse_header(header))
        .collect::<Result<Vec<_>, _>>()?;
    let plan = Plan::new(
        Target::parse(url)?,
        &args.content_type,
        headers,
        read_bodies(&body_file)?,
        Pace {
            connections: args.connections,
            duration: args.duration,
            warmup: args.warmup,
            timeout: args.timeout,
        },
    )?;
    let mut outcome = run::run(plan, args.threads)?;
    let report = Report::of(&mut outcome, args.connections);
    let first_error = outcome
        .warmup
        .first_error
        .as_deref()
        .or(outcome.measured.first_error.as_deref());
    eprint!("{}", report.summary(first_error));
    println!(
        "{}",
        serde_json::to_string(&report).unwrap_or_else(|e| format!("{{\"error\":\"{e}\"}}"))
    );
    if let Some(expected) = args.expect_status {
        let unexpected =
            outcome.warmup.unexpected(expected) + outcome.measured.unexpected(expected);
        if unexpected > 0 {
            eprintln!(
                "lampart-load: {unexpected} requests got no answer or a status other than {expected}"
            );
            return Ok(ExitCode::FAILURE);
        }
    }
    Ok(ExitCode::SUCCESS)
}

fn print_fixture(fixture: Fixture, lines: Option<usize>) -> ExitCode {
    let requests = match fixture {
        Fixture::ServeBodies => benchmark::serve_bodies(true),
        Fixture::ServeBodiesSessionless => benchmark::serve_bodies(false),
        Fixture::CheckLines => benchmark::check_lines(),
        Fixture::ChainConfig => {
            print!("{}", chain_config(1, "warm"));
            return ExitCode::SUCCESS;
        }
    };
    let count = lines.unwrap_or(requests.len());
    let mut out = std::io::BufWriter::new(std::io::stdout().lock());
    for request in requests.iter().cycle().take(count) {
        if writeln!(out, "{request}").is_err() {
            return ExitCode::FAILURE;
        }
    }
    if out.flush().is_err() {
        return ExitCode::FAILURE;
    }
    ExitCode::SUCCESS
}
