//! Measurements that criterion does not give: per-call latency percentiles (median and p99
//! from the same run), durable audit throughput, and `lampart check` scaling with workers.
//! Results are written as JSON for the report.

use std::collections::VecDeque;
use std::path::Path;
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

use serde::{Deserialize, Serialize};
use serde_json::{Map, Value};

use lampart::audit::{AuditLog, AuditOptions};

use crate::peers::Engine;

/// Latency of one engine over the request set.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct Latency {
    /// The case.
    pub name: String,
    /// Median, nanoseconds.
    pub p50_ns: u64,
    /// 99th percentile, nanoseconds.
    pub p99_ns: u64,
    /// Mean, nanoseconds.
    pub mean_ns: u64,
    /// How many calls were timed.
    pub samples: usize,
}

/// A rate, with the latency each operation paid when that was measured.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct Rate {
    /// The case.
    pub name: String,
    /// Operations per second.
    pub per_second: f64,
    /// Median latency of one operation, nanoseconds, when measured.
    pub p50_ns: Option<u64>,
    /// 99th percentile latency, nanoseconds, when measured.
    pub p99_ns: Option<u64>,
}

/// Everything one benchmark run measured.
#[derive(Debug, Clone, Default, Serialize, Deserialize)]
pub struct Results {
    /// The CPU and core count.
    pub machine: String,
    /// When the run ended (RFC 3339).
    pub date: String,
    /// Per-decision latency of every engine.
    pub latency: Vec<Latency>,
    /// Durable audit records per second.
    pub audit: Vec<Rate>,
    /// `lampart check` decisions per second with 1 and 2 workers.
    pub scaling: Vec<Rate>,
}

/// This machine, as `model name (N cores)`.
pub fn machine() -> String {
    let model = std::fs::read_to_string("/proc/cpuinfo")
        .ok()
        .and_then(|info| {
            info.lines()
                .find(|line| line.starts_with("model name"))
                .and_then(|line| line.split(':').nth(1))
                .map(|model| model.trim().to_string())
        })
        .unwrap_or_else(|| "unknown CPU".into());
    let cores = std::thread::available_parallelism().map_or(0, |n| n.get());
    format!("{model} ({cores} cores)")
}

fn percentile(sorted: &[u64], fraction: f64) -> u64 {
    let index = ((sorted.len() as f64 - 1.0) * fraction).round() as usize;
    sorted[index.min(sorted.len() - 1)]
}

/// Times `samples` calls of `engine` cycling through `requests`, after a warm-up.
pub fn latency(engine: &mut dyn Engine, requests: &[&str], samples: usize) -> Latency {
    let name = engine.name().to_string();
    latency_of(&name, |request| engine.decide(request), requests, samples)
}

/// Latency of `decide` over `requests`, cycled through for `samples` timed calls after a
/// tenth as many (and one round of the requests) untimed.
pub fn latency_of(
    name: &str,
    mut decide: impl FnMut(&str) -> bool,
    requests: &[&str],
    samples: usize,
) -> Latency {
    for request in requests.iter().cycle().take(samples / 10 + requests.len()) {
        std::hint::black_box(decide(request));
    }
    let mut times = Vec::with_capacity(samples);
    for request in requests.iter().cycle().take(samples) {
        let started = Instant::now();
        std::hint::black_box(decide(std::hint::black_box(request)));
        times.push(started.elapsed().as_nanos() as u64);
    }
    let mean = times.iter().sum::<u64>() / times.len() as u64;
    times.sort_unstable();
    Latency {
        name: name.to_string(),
        p50_ns: percentile(&times, 0.5),
        p99_ns: percentile(&times, 0.99),
        mean_ns: mean,
        samples,
    }
}

/// Durable records per second into a fresh log in `dir`: `writers` threads, each either
/// waiting for every record (`append`, measuring the latency a caller pays) or keeping up to
/// 4096 in flight (`submit`, the way `lampart check` and a busy gateway write).
pub fn audit_rate(
    dir: &Path,
    record: &Map<String, Value>,
    writers: usize,
    pipelined: bool,
    duration: Duration,
) -> Rate {
    let _ = std::fs::remove_dir_all(dir);
    let log = AuditLog::open(dir, AuditOptions::default()).expect("audit log opens");
    let started = Instant::now();
    let per_writer: Vec<(u64, Vec<u64>)> = std::thread::scope(|scope| {
        let handles: Vec<_> = (0..writers)
            .map(|_| {
                let log = &log;
                scope.spawn(move || {
                    let mut count = 0u64;
                    let mut latencies = Vec::new();
                    let mut in_flight = VecDeque::new();
                    while started.elapsed() < duration {
                        if pipelined {
                            in_flight.push_back(log.submit(record.clone()));
                            if in_flight.len() >= 4096 {
                                in_flight.pop_front().map(|p| p.wait().expect("written"));
                            }
                        } else {
                            let at = Instant::now();
                            log.append(record.clone()).expect("written");
                            latencies.push(at.elapsed().as_nanos() as u64);
                        }
                        count += 1;
                    }
                    for pending in in_flight {
                        pending.wait().expect("written");
                    }
                    (count, latencies)
                })
            })
            .collect();
        handles
            .into_iter()
            .map(|h| h.join().expect("writer"))
            .collect()
    });
    let elapsed = started.elapsed().as_secs_f64();
    log.close().expect("log closes");
    let total: u64 = per_writer.iter().map(|(count, _)| count).sum();
    let mut latencies: Vec<u64> = per_writer.into_iter().flat_map(|(_, l)| l).collect();
    latencies.sort_unstable();
    lampart::audit::verify(dir).expect("the benchmark's log verifies");
    Rate {
        name: format!(
            "audit, {writers} writer{}, {}",
            if writers == 1 { "" } else { "s" },
            if pipelined { "pipelined" } else { "each waits" }
        ),
        per_second: total as f64 / elapsed,
        p50_ns: (!latencies.is_empty()).then(|| percentile(&latencies, 0.5)),
        p99_ns: (!latencies.is_empty()).then(|| percentile(&latencies, 0.99)),
    }
}

/// Decisions per second of `lampart check --workers N` over a JSON Lines file, recording
/// every decision durably when `audit` is set.
pub fn check_rate(
    lampart: &Path,
    config: &Path,
    requests: &Path,
    count: usize,
    workers: usize,
    audit: bool,
) -> Rate {
    let started = Instant::now();
    let status = Command::new(lampart)
        .args(["check", "--config"])
        .arg(config)
        .arg(requests)
        .args(["--workers", &workers.to_string()])
        .args(if audit { &[][..] } else { &["--no-audit"][..] })
        .stdout(Stdio::null())
        .status()
        .expect("lampart runs");
    let elapsed = started.elapsed().as_secs_f64();
    assert!(
        matches!(status.code(), Some(0 | 1)),
        "lampart check failed: {status}"
    );
    Rate {
        name: format!(
            "lampart check, {workers} worker{}, audit {}",
            if workers == 1 { "" } else { "s" },
            if audit { "on" } else { "off" }
        ),
        per_second: count as f64 / elapsed,
        p50_ns: None,
        p99_ns: None,
    }
}
