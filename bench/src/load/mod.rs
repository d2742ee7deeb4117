//! `lampart-load`: a closed-loop HTTP/1.1 load generator for `lampart serve`.
//!
//! Each of `--connections` keep-alive TCP connections (`TCP_NODELAY`) sends one request,
//! reads its whole answer and sends the next, cycling through the bodies of a JSON Lines
//! file from its own starting line (connection `i` starts at line `i mod n`), so the mix of
//! requests is the file's. Requests sent during the warm-up are counted but not timed; every
//! later one's latency is kept, so the percentiles are exact ([`stats`]). Answers are
//! counted by status and requests without one by why ([`tally`]); [`report`] turns a run
//! into one JSON object and a summary for people.
//!
//! The generator runs on a multi-thread tokio runtime of `--threads` workers, one by
//! default: on a small machine the generator shares the cores with the server it measures,
//! and one thread keeps its share small (one core drives tens of thousands of requests per
//! second over loopback).

pub mod benchmark;
pub mod plan;
pub mod report;
pub mod run;
pub mod stats;
pub mod tally;

use std::path::PathBuf;

/// Why a run could not start.
#[derive(Debug, thiserror::Error)]
pub enum LoadError {
    /// The `--url` is not one the generator can send to.
    #[error("--url `{url}`: {reason}")]
    Url {
        /// The URL as given.
        url: String,
        /// What is wrong with it.
        reason: String,
    },
    /// A `--header` is not `name: value`.
    #[error("--header `{header}`: {reason}")]
    Header {
        /// The header as given.
        header: String,
        /// What is wrong with it.
        reason: String,
    },
    /// The body file cannot be read.
    #[error("--body-file {}: {source}", path.display())]
    BodyFile {
        /// The file.
        path: PathBuf,
        /// The read error.
        source: std::io::Error,
    },
    /// The body file has no non-blank line.
    #[error("--body-file {}: no request bodies (one per line expected)", path.display())]
    NoBodies {
        /// The file.
        path: PathBuf,
    },
    /// Another option is out of range.
    #[error("{option}: {reason}")]
    BadOption {
        /// The option.
        option: &'static str,
        /// What is wrong with its value.
        reason: String,
    },
    /// The runtime could not start.
    #[error("starting the runtime: {0}")]
    Runtime(std::io::Error),
}
