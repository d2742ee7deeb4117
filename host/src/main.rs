//! `lampart`: run tool calls through a chain of sandboxed WebAssembly plugins, and keep and
//! verify the audit log of every decision.

mod cli;

use std::process::ExitCode;

use clap::Parser;

fn main() -> ExitCode {
    tracing_subscriber::fmt()
        .with_writer(std::io::stderr)
        .with_env_filter(
            tracing_subscriber::EnvFilter::try_from_env("LAMPART_LOG")
                .unwrap_or_else(|_| tracing_subscriber::EnvFilter::new("warn")),
        )
        .init();
    let args = cli::Cli::parse();
    match cli::run(args) {
        Ok(code) => code,
        Err(err) => {
            eprintln!("lampart: {}", cli::one_line(&err));
            ExitCode::from(cli::EXIT_ERROR)
        }
    }
}
