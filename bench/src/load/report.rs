//! A run's result as data (one JSON object) and as a summary for people.

use std::collections::BTreeMap;
use std::fmt::Write as _;

use serde::Serialize;

use super::run::Outcome;
use super::stats::Latencies;

/// The result of a run, printed as one JSON object. Latencies are of the measured requests
/// that were answered (whatever their status), microseconds; 0 when none was.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Report {
    /// Connections used.
    pub connections: usize,
    /// The measured window, seconds.
    pub duration_s: f64,
    /// Measured requests answered (any status).
    pub requests: u64,
    /// Answered requests per second of the measured window.
    pub rps: f64,
    /// Median latency.
    pub p50_us: f64,
    /// 90th percentile latency.
    pub p90_us: f64,
    /// 99th percentile latency.
    pub p99_us: f64,
    /// 99.9th percentile latency.
    pub p999_us: f64,
    /// The slowest answer.
    pub max_us: f64,
    /// Measured answers by HTTP status.
    pub statuses: BTreeMap<String, u64>,
    /// Measured requests without an answer.
    pub errors: u64,
    /// Those, by why (`connect`, `transport`, `timeout`).
    pub error_kinds: BTreeMap<String, u64>,
    /// What the warm-up saw.
    pub warmup: WarmupReport,
}

/// What the warm-up saw: counted, not timed.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct WarmupReport {
    /// Answered requests.
    pub requests: u64,
    /// Answers by HTTP status.
    pub statuses: BTreeMap<String, u64>,
    /// Requests without an answer.
    pub errors: u64,
}

impl Report {
    /// The report of `outcome`, a run of `connections` connections; sorts its latencies.
    pub fn of(outcome: &mut Outcome, connections: usize) -> Report {
        let latencies = Latencies::of(&mut outcome.measured.latencies_ns).unwrap_or_default();
        let measured = &outcome.measured;
        let seconds = outcome.measured_for.as_secs_f64();
        let requests = measured.answered();
        let statuses = |tally: &super::tally::Tally| -> BTreeMap<String, u64> {
            tally
                .statuses
                .iter()
                .map(|(status, count)| (status.to_string(), *count))
                .collect()
        };
        Report {
            connections,
            duration_s: round(seconds, 1000.0),
            requests,
            rps: if seconds > 0.0 {
                round(requests as f64 / seconds, 10.0)
            } else {
                0.0
            },
            p50_us: micros(latencies.p50),
            p90_us: micros(latencies.p90),
            p99_us: micros(latencies.p99),
            p999_us: micros(latencies.p999),
            max_us: micros(latencies.max),
            statuses: statuses(measured),
            errors: measured.failed(),
            error_kinds: measured
                .errors
                .iter()
                .map(|(kind, count)| (kind.name().to_string(), *count))
                .collect(),
            warmup: WarmupReport {
                requests: outcome.warmup.answered(),
                statuses: statuses(&outcome.warmup),
                errors: outcome.warmup.failed(),
            },
        }
    }

    /// A few lines for people.
    pub fn summary(&self, first_error: Option<&str>) -> String {
        let mut text = String::new();
        let _ = writeln!(
            text,
            "{} requests in {:.2} s over {} connections: {:.0} requests/s",
            self.requests, self.duration_s, self.connections, self.rps
        );
        let _ = writeln!(
            text,
            "latency p50 {:.0} µs, p90 {:.0} µs, p99 {:.0} µs, p99.9 {:.0} µs, max {:.0} µs",
            self.p50_us, self.p90_us, self.p99_us, self.p999_us, self.max_us
        );
        let statuses: Vec<String> = self
            .statuses
            .iter()
            .map(|(status, count)| format!("{status}: {count}"))
            .collect();
        let _ = writeln!(
            text,
            "statuses {}; errors {}",
            if statuses.is_empty() {
                "none".to_string()
            } else {
                statuses.join(", ")
            },
            self.errors
        );
        let _ = writeln!(
            text,
            "warm-up: {} requests, {} errors",
            self.warmup.requests, self.warmup.errors
        );
        if let Some(error) = first_error {
            let _ = writeln!(text, "first error: {error}");
        }
        text
    }
}

/// Nanoseconds as microseconds, to a tenth.
fn micros(nanos: u64) -> f64 {
    round(nanos as f64 / 1000.0, 10.0)
}

/// `value` rounded to `1 / scale`.
fn round(value: f64, scale: f64) -> f64 {
    (value * scale).round() / scale
}

#[cfg(test)]
mod tests {
    use std::time::Duration;

    use super::super::tally::ErrorKind;
    use super::*;

    #[test]
    fn report_counts_rates_and_percentiles() {
        let mut outcome = Outcome::default();
        for micros in 1..=100u64 {
            outcome.measured.answer(
                if micros % 10 == 0 { 503 } else { 200 },
                Duration::from_micros(micros),
            );
        }
        outcome.measured.error(ErrorKind::Timeout, || "slow".into());
        outcome.warmup.answer(200, Duration::from_micros(3));
        outcome.measured_for = Duration::from_millis(500);
        let report = Report::of(&mut outcome, 4);
        assert_eq!(report.requests, 100);
        assert_eq!(report.rps, 200.0);
        assert_eq!(report.p50_us, 50.0);
        assert_eq!(report.p99_us, 99.0);
        assert_eq!(report.max_us, 100.0);
        assert_eq!(report.statuses["200"], 90);
        assert_eq!(report.statuses["503"], 10);
        assert_eq!(report.errors, 1);
        assert_eq!(report.error_kinds["timeout"], 1);
        assert_eq!(report.warmup.requests, 1);
        let json = serde_json::to_string(&report).expect("json");
        assert!(
            json.starts_with(
                r#"{"connections":4,"duration_s":0.5,"requests":100,"rps":200.0,"p50_us":50.0"#
            ),
            "{json}"
        );
    }

    #[test]
    fn a_run_without_answers_reports_zeros() {
        let mut outcome = Outcome::default();
        outcome
            .measured
            .error(ErrorKind::Connect, || "refused".into());
        let report = Report::of(&mut outcome, 1);
        assert_eq!((report.requests, report.rps, report.p99_us), (0, 0.0, 0.0));
        assert!(
            report
                .summary(Some("connect: refused"))
                .contains("first error: connect: refused")
        );
    }
}
