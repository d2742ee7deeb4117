//! `lampart`: run tool calls through a chain of sandboxed WebAssembly plugins, and keep and
//! verify the audit log of every decision.

mod cli;

use std::io::Write;
use std::process::ExitCode;

use clap::Parser;

fn main() -> ExitCode {
    cli::logging::init();
    let args = cli::Cli::parse();
    match cli::run(args) {
        Ok(code) => code,
        Err(err) => {
            // Not `eprintln!`, which panics when standard error is a closed pipe.
            let _ = writeln!(std::io::stderr(), "lampart: {}", cli::one_line(&err));
            ExitCode::from(cli::EXIT_ERROR)
        }
    }
}
