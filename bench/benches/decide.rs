//! `cargo bench -p lampart-bench`: every engine on the same policy and requests, from the
//! request JSON to the verdict; then durable audit throughput and `lampart check` scaling.
//!
//! Before anything is timed, every engine must give the expected verdict on every request.
//! Criterion reports each case; a second pass records every call's latency to give the median
//! and p99 from one run. Results go to `bench/results.json`, `BENCHMARKS.md` and
//! `docs/benchmarks.svg`. `LAMPART_BENCH_QUICK=1` shortens every phase (for a smoke run);
//! `LAMPART_BENCH_ONLY=<text>` times only the engines whose name contains it, and writes
//! nothing (for profiling one case).

use std::time::Duration;

use criterion::Criterion;
use lampart_bench::cases::{Bare, LampartCase, workspace};
use lampart_bench::measure::{self, Results};
use lampart_bench::peers::{self, Engine};
use lampart_bench::report;
use lampart_bench::requests::REQUESTS;

fn main() {
    let quick = std::env::var_os("LAMPART_BENCH_QUICK").is_some();
    let work = workspace().join("target").join("bench");
    let _ = std::fs::remove_dir_all(&work);
    std::fs::create_dir_all(&work).expect("bench directory");

    let mut engines: Vec<Box<dyn Engine>> = peers::all();
    engines.push(Box::new(Bare::new()));
    for steps in [1, 5, 10] {
        for warm in [false, true] {
            engines.push(Box::new(LampartCase::new(steps, warm, None)));
        }
    }
    for warm in [false, true] {
        let dir = work.join(format!("audit-{}", if warm { "warm" } else { "fresh" }));
        engines.push(Box::new(LampartCase::new(1, warm, Some(&dir))));
    }
    peers::check_agreement(&mut engines).unwrap_or_else(|e| panic!("engines disagree: {e}"));
    println!(
        "all {} engines agree on all {} requests",
        engines.len(),
        REQUESTS.len()
    );
    let only = std::env::var("LAMPART_BENCH_ONLY").ok();
    if let Some(only) = &only {
        engines.retain(|engine| engine.name().contains(only.as_str()));
    }

    let requests: Vec<&str> = REQUESTS.iter().map(|(_, json, _)| *json).collect();
    let mut criterion = Criterion::default()
        .configure_from_args()
        .warm_up_time(Duration::from_millis(if quick { 100 } else { 500 }))
        .measurement_time(Duration::from_millis(if quick { 300 } else { 2000 }));
    for engine in &mut engines {
        let name = engine.name().to_string();
        let mut next = 0usize;
        criterion.bench_function(&name, |b| {
            b.iter(|| {
                next = (next + 1) % requests.len();
                engine.decide(std::hint::black_box(requests[next]))
            })
        });
    }

    // The realistic cases, each on its own requests.
    let mut realistic = lampart_bench::realistic::all();
    if let Some(only) = &only {
        realistic.retain(|case| case.name.contains(only.as_str()));
    }
    for case in &realistic {
        let (allowed, denied) = case.verdicts();
        assert!(
            allowed > 0 && denied > 0,
            "{}: {allowed} allowed, {denied} denied: the case decides nothing useful",
            case.name
        );
        let mut next = 0usize;
        criterion.bench_function(&case.name, |b| {
            b.iter(|| {
                next = (next + 1) % case.requests.len();
                case.decide(std::hint::black_box(&case.requests[next]))
            })
        });
    }

    let samples = if quick { 2_000 } else { 40_000 };
    let mut results = Results {
        machine: measure::machine(),
        ..Results::default()
    };
    for engine in &mut engines {
        let latency = measure::latency(engine.as_mut(), &requests, samples);
        println!(
            "{:<36} p50 {:>9} ns  p99 {:>9} ns",
            latency.name, latency.p50_ns, latency.p99_ns
        );
        results.latency.push(latency);
    }
    for case in &realistic {
        let requests: Vec<&str> = case.requests.iter().map(String::as_str).collect();
        let latency = measure::latency_of(&case.name, |r| case.decide(r), &requests, samples / 10);
        println!(
            "{:<36} p50 {:>9} ns  p99 {:>9} ns",
            latency.name, latency.p50_ns, latency.p99_ns
        );
        results.latency.push(latency);
    }

    if only.is_some() {
        return;
    }
    let record = sample_record();
    let duration = Duration::from_millis(if quick { 300 } else { 3000 });
    for (writers, pipelined) in [(1, false), (8, false), (1, true), (8, true)] {
        let rate = measure::audit_rate(
            &work.join("audit-rate"),
            &record,
            writers,
            pipelined,
            duration,
        );
        println!("{:<36} {:>9.0} records/s", rate.name, rate.per_second);
        results.audit.push(rate);
    }

    let count = if quick { 5_000 } else { 100_000 };
    let lampart = workspace().join("target").join("release").join("lampart");
    assert!(
        lampart.is_file(),
        "{} is missing: run `cargo build --release -p lampart`",
        lampart.display()
    );
    let (config, requests_file) = scaling_inputs(&work, count);
    for audit in [false, true] {
        for workers in [1, 2] {
            let _ = std::fs::remove_dir_all(work.join("scaling-audit"));
            let rate =
                measure::check_rate(&lampart, &config, &requests_file, count, workers, audit);
            println!("{:<36} {:>9.0} decisions/s", rate.name, rate.per_second);
            results.scaling.push(rate);
        }
    }

    results.date = humantime::format_rfc3339_seconds(std::time::SystemTime::now()).to_string();
    let root = workspace();
    std::fs::write(
        root.join("bench").join("results.json"),
        serde_json::to_string_pretty(&results).expect("JSON"),
    )
    .expect("results written");
    report::update_markdown(&root.join("BENCHMARKS.md"), &results).expect("BENCHMARKS.md updated");
    report::plot(&root.join("docs").join("benchmarks.svg"), &results).expect("plot drawn");
    println!("updated BENCHMARKS.md, docs/benchmarks.svg and bench/results.json");
}

/// A realistic audit record: the one a one-step chain writes for the first request.
fn sample_record() -> serde_json::Map<String, serde_json::Value> {
    let config = lampart::config::ChainConfig::parse(
        std::path::Path::new("bench.toml"),
        &lampart_bench::cases::chain_config(1, "fresh"),
    )
    .expect("config");
    let options = lampart::host::HostOptions {
        no_audit: true,
        default_cache_dir: Some(lampart_bench::cases::cache_dir()),
        concurrency: 1,
        ..lampart::host::HostOptions::default()
    };
    let host = lampart::host::Host::from_config(config, &workspace(), &options).expect("host");
    let request = lampart::request::Request::from_json(REQUESTS[0].1).expect("request");
    lampart::record::audit_record(
        &host.decide(request),
        &lampart::record::Masking::none(lampart::record::AuditKey::from_bytes([0; 32])),
    )
}

/// A one-step chain with a durable audit log, and `count` requests cycling through the set.
fn scaling_inputs(
    work: &std::path::Path,
    count: usize,
) -> (std::path::PathBuf, std::path::PathBuf) {
    let config = work.join("scaling.toml");
    let text =
        lampart_bench::cases::chain_config(1, "fresh") + "\n[audit]\ndir = \"scaling-audit\"\n";
    std::fs::write(&config, text).expect("config written");
    let requests = work.join("requests.jsonl");
    let mut lines = String::new();
    for (_, json, _) in REQUESTS.iter().cycle().take(count) {
        lines.push_str(json);
        lines.push('\n');
    }
    std::fs::write(&requests, lines).expect("requests written");
    (config, requests)
}
