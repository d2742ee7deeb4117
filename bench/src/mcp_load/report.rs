//! The MCP benchmark's output: a line per setup while it runs, and a markdown table with the
//! overhead of each proxied setup over the direct setup of the same transport.

use std::fmt::Write as _;

use super::{Measurement, Options, Route};

/// Nanoseconds as microseconds, one decimal.
fn us(nanos: u64) -> String {
    format!("{:.1}", nanos as f64 / 1000.0)
}

/// One line on a measurement, for the progress output.
pub fn summary(m: &Measurement) -> String {
    let l = &m.latencies;
    format!(
        "{} calls: p50 {} µs, p90 {} µs, p99 {} µs, max {} µs, {:.0} calls/s",
        m.calls,
        us(l.p50),
        us(l.p90),
        us(l.p99),
        us(l.max),
        m.calls_per_second()
    )
}

/// Reports an audited run's record count on standard error, and whether it is the two
/// decisions per call the proxy makes.
pub fn records(records: u64, options: &Options) {
    let expected = 2 * (options.calls + options.warmup) as u64;
    let note = if records >= expected {
        "2 per call, warm-up included"
    } else {
        "FEWER than the 2 per call, warm-up included, the proxy makes"
    };
    eprintln!("   audit log verified: {records} records ({note}: {expected})");
}

/// `proxied` over `direct`: the difference in µs and the ratio.
fn overhead(proxied: u64, direct: u64) -> String {
    let difference = proxied as f64 - direct as f64;
    let ratio = proxied as f64 / (direct as f64).max(1.0);
    format!("{:+.1} µs (×{ratio:.2})", difference / 1000.0)
}

/// The markdown table of `measurements`: latencies in µs, calls per second, and for the
/// proxied setups their p50 and p99 over those of the direct setup of their transport.
pub fn table(measurements: &[Measurement]) -> String {
    let mut out = String::new();
    out.push_str(
        "| setup | calls | p50 µs | p90 µs | p99 µs | max µs | calls/s | p50 overhead | p99 overhead | audit records |\n",
    );
    out.push_str("| --- | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: |\n");
    for m in measurements {
        let l = &m.latencies;
        let direct = measurements
            .iter()
            .find(|d| d.setup.transport == m.setup.transport && d.setup.route == Route::Direct);
        let (p50, p99) = match (m.setup.route, direct) {
            (Route::Proxied { .. }, Some(d)) => (
                overhead(l.p50, d.latencies.p50),
                overhead(l.p99, d.latencies.p99),
            ),
            _ => ("—".to_owned(), "—".to_owned()),
        };
        let records = m
            .audit_records
            .map_or_else(|| "—".to_owned(), |r| r.to_string());
        let _ = writeln!(
            out,
            "| {} | {} | {} | {} | {} | {} | {:.0} | {p50} | {p99} | {records} |",
            m.setup.name(),
            m.calls,
            us(l.p50),
            us(l.p90),
            us(l.p99),
            us(l.max),
            m.calls_per_second(),
        );
    }
    out
}

#[cfg(test)]
mod tests {
    use std::time::Duration;

    use super::*;
    use crate::load::stats::Latencies;
    use crate::mcp_load::{Setup, Transport};

    fn measurement(transport: Transport, route: Route, p50: u64, p99: u64) -> Measurement {
        Measurement {
            setup: Setup { transport, route },
            calls: 1000,
            latencies: Latencies {
                p50,
                p90: p50,
                p99,
                p999: p99,
                max: p99,
            },
            elapsed: Duration::from_millis(500),
            audit_records: None,
        }
    }

    #[test]
    fn overheads_are_over_the_direct_setup_of_the_same_transport() {
        let rows = [
            measurement(Transport::Stdio, Route::Direct, 20_000, 40_000),
            measurement(Transport::Http, Route::Direct, 100_000, 200_000),
            measurement(
                Transport::Stdio,
                Route::Proxied { audit: false },
                50_000,
                100_000,
            ),
            measurement(
                Transport::Http,
                Route::Proxied { audit: true },
                150_000,
                250_000,
            ),
        ];
        let table = table(&rows);
        let lines: Vec<&str> = table.lines().collect();
        assert_eq!(lines.len(), 6);
        assert!(
            lines[2].starts_with("| stdio direct | 1000 | 20.0 |"),
            "{}",
            lines[2]
        );
        assert!(lines[2].contains("| 2000 | — | — | — |"), "{}", lines[2]);
        assert!(
            lines[4].contains("| +30.0 µs (×2.50) | +60.0 µs (×2.50) |"),
            "{}",
            lines[4]
        );
        assert!(
            lines[5].contains("| +50.0 µs (×1.50) | +50.0 µs (×1.25) |"),
            "{}",
            lines[5]
        );
    }
}
