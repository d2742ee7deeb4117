//! `lampart-mcp-load`: the round-trip overhead of a `tools/call` through Lampart's MCP proxy
//! against a direct connection, over stdio and Streamable HTTP.
//!
//! ```text
//! lampart-mcp-load [--calls 5000] [--warmup 200] [--audit both|on|off]
//!                  [--lampart PATH] [--peer PATH] [--plugin PATH] [--work-in DIR]
//! ```
//!
//! Runs stdio direct, stdio through `lampart mcp`, HTTP direct and HTTP through
//! `lampart serve` (the proxied setups once per audit setting), each with sequential
//! `echo` calls on one connection, and prints a markdown table on standard output (progress
//! on standard error). Exits 1 with a one-line message if a setup fails. `bench/mcp.sh`
//! builds what it needs and runs it. See [`lampart_bench::mcp_load`].

use std::path::{Path, PathBuf};
use std::process::ExitCode;

use clap::{Parser, ValueEnum};
use lampart_bench::mcp_load::{Options, Programs, report, run};

/// The overhead of Lampart's MCP proxy on a `tools/call` round trip, p50 and p99, over
/// stdio and Streamable HTTP, against direct connections.
#[derive(Debug, Parser)]
#[command(name = "lampart-mcp-load")]
struct Args {
    /// Calls timed per setup.
    #[arg(long, default_value_t = 5000)]
    calls: usize,
    /// Calls made first on each connection, and not timed.
    #[arg(long, default_value_t = 200)]
    warmup: usize,
    /// The audit log of the proxied setups: on (every decision fsynced, as shipped), off
    /// (`--no-audit`), or both (each proxied setup runs twice).
    #[arg(long, value_enum, default_value_t = Audit::Both)]
    audit: Audit,
    /// The `lampart` binary [default: target/release/lampart in the workspace].
    #[arg(long)]
    lampart: Option<PathBuf>,
    /// The `lampart-mcp-peer` binary [default: target/release/lampart-mcp-peer].
    #[arg(long)]
    peer: Option<PathBuf>,
    /// The tool-rules plugin [default: dist/plugins/tool_rules.wasm in the workspace].
    #[arg(long)]
    plugin: Option<PathBuf>,
    /// Where the work directory (configs, audit logs) is made; on the disk whose fsyncs
    /// are to be measured, not a tmpfs [default: target/ in the workspace].
    #[arg(long)]
    work_in: Option<PathBuf>,
}

/// The audit settings the proxied setups run with.
#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
enum Audit {
    /// The durable audit log.
    On,
    /// No audit log.
    Off,
    /// Both, the durable log first.
    Both,
}

/// The workspace: the bench crate's parent directory.
fn workspace() -> PathBuf {
    let manifest = Path::new(env!("CARGO_MANIFEST_DIR"));
    manifest.parent().unwrap_or(manifest).to_owned()
}

/// `path`, made absolute against the working directory (configs name the plugin, and
/// relative paths in them are resolved against the config's directory).
fn absolute(path: PathBuf) -> PathBuf {
    std::path::absolute(&path).unwrap_or(path)
}

fn main() -> ExitCode {
    let args = Args::parse();
    let root = workspace();
    let release = root.join("target").join("release");
    let options = Options {
        programs: Programs {
            lampart: absolute(args.lampart.unwrap_or_else(|| release.join("lampart"))),
            peer: absolute(
                args.peer
                    .unwrap_or_else(|| release.join("lampart-mcp-peer")),
            ),
            plugin: absolute(
                args.plugin
                    .unwrap_or_else(|| root.join("dist").join("plugins").join("tool_rules.wasm")),
            ),
        },
        calls: args.calls,
        warmup: args.warmup,
        audit: match args.audit {
            Audit::On => vec![true],
            Audit::Off => vec![false],
            Audit::Both => vec![true, false],
        },
        work_in: absolute(args.work_in.unwrap_or_else(|| root.join("target"))),
    };
    let runtime = match tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
    {
        Ok(runtime) => runtime,
        Err(e) => {
            eprintln!("lampart-mcp-load: starting the runtime: {e}");
            return ExitCode::FAILURE;
        }
    };
    let measured = runtime.block_on(run(&options));
    let measurements = match measured {
        Ok(measurements) => measurements,
        Err(e) => {
            eprintln!("lampart-mcp-load: {e:#}");
            return ExitCode::FAILURE;
        }
    };
    let cores = std::thread::available_parallelism().map_or(0, usize::from);
    println!(
        "MCP `tools/call` round trips: {} sequential `echo` calls per setup on one connection, after {} warm-up calls; client (rmcp, one thread), proxy and server on the same machine ({cores} cores); audit on = every decision fsynced, 2 per call",
        options.calls, options.warmup
    );
    println!();
    print!("{}", report::table(&measurements));
    ExitCode::SUCCESS
}
