//! Turns a run's results into the tables of `BENCHMARKS.md` and the plot
//! `docs/benchmarks.svg`.

use std::fmt::Write as _;
use std::path::Path;

use plotters::prelude::*;

use crate::measure::{Latency, Rate, Results};

/// Where the generated part of `BENCHMARKS.md` starts.
pub const START: &str = "<!-- results:start -->";
/// Where it ends.
pub const END: &str = "<!-- results:end -->";

fn find<'a>(results: &'a Results, name: &str) -> Option<&'a Latency> {
    results.latency.iter().find(|l| l.name == name)
}

fn micros(ns: u64) -> String {
    let us = ns as f64 / 1000.0;
    if us < 10.0 {
        format!("{us:.2}")
    } else if us < 100.0 {
        format!("{us:.1}")
    } else {
        format!("{us:.0}")
    }
}

fn ratio(value: u64, base: Option<&Latency>) -> String {
    match base {
        Some(base) if base.p50_ns > 0 => format!("{:.2}×", value as f64 / base.p50_ns as f64),
        _ => "–".into(),
    }
}

/// The generated Markdown: latency table with ratios, targets, audit and scaling tables.
pub fn markdown(results: &Results) -> String {
    let mut out = String::new();
    let bare = find(results, "bare wasmtime");
    let cedar = find(results, "cedar");
    let rego = find(results, "rego-interpreted");
    let rvm = find(results, "rego-rvm");
    let native = find(results, "native");
    let _ = writeln!(out, "Run on {}, {}.\n", results.machine, results.date);
    let _ = writeln!(out, "### Latency, from the request JSON to the verdict\n");
    let _ = writeln!(
        out,
        "| case | p50 µs | p99 µs | p50 ÷ bare wasmtime | p50 ÷ Cedar | p50 ÷ regorus interpreted | p50 ÷ regorus compiled | p50 ÷ native |"
    );
    let _ = writeln!(out, "|---|---:|---:|---:|---:|---:|---:|---:|");
    for case in &results.latency {
        let _ = writeln!(
            out,
            "| {} | {} | {} | {} | {} | {} | {} | {} |",
            case.name,
            micros(case.p50_ns),
            micros(case.p99_ns),
            ratio(case.p50_ns, bare),
            ratio(case.p50_ns, cedar),
            ratio(case.p50_ns, rego),
            ratio(case.p50_ns, rvm),
            ratio(case.p50_ns, native),
        );
    }

    let _ = writeln!(out, "\n### Targets\n");
    let _ = writeln!(out, "| target | measured | met |");
    let _ = writeln!(out, "|---|---|---|");
    let mut target = |what: &str, measured: String, met: Option<bool>| {
        let mark = match met {
            Some(true) => "yes",
            Some(false) => "**no**",
            None => "–",
        };
        let _ = writeln!(out, "| {what} | {measured} | {mark} |");
    };
    let p50 = |name: &str| find(results, name).map(|l| l.p50_ns);
    let p99 = |name: &str| find(results, name).map(|l| l.p99_ns);
    let peers_min = [cedar, rvm].iter().flatten().map(|l| l.p50_ns).min();
    if let Some(warm1) = p50("lampart 1 step warm") {
        target(
            "1 step, warm: p50 ≤ 3 µs and under regorus compiled and Cedar",
            format!(
                "{} µs (Cedar {}, regorus compiled {})",
                micros(warm1),
                cedar.map_or("–".into(), |l| micros(l.p50_ns)),
                rvm.map_or("–".into(), |l| micros(l.p50_ns))
            ),
            Some(warm1 <= 3000 && peers_min.is_none_or(|peer| warm1 <= peer)),
        );
    }
    if let (Some(fresh1), Some(bare)) = (p50("lampart 1 step fresh"), bare) {
        target(
            "1 step, fresh: at or under bare wasmtime",
            format!(
                "{} µs vs {} µs ({})",
                micros(fresh1),
                micros(bare.p50_ns),
                ratio(fresh1, Some(bare))
            ),
            Some(fresh1 <= bare.p50_ns),
        );
    }
    if let (Some(fresh5), Some(fresh5_99)) =
        (p50("lampart 5 steps fresh"), p99("lampart 5 steps fresh"))
    {
        target(
            "5 steps, fresh: p50 ≤ 60 µs, p99 ≤ 150 µs",
            format!("p50 {} µs, p99 {} µs", micros(fresh5), micros(fresh5_99)),
            Some(fresh5 <= 60_000 && fresh5_99 <= 150_000),
        );
        if let Some(bare) = bare {
            let overhead = fresh5 as f64 / (5.0 * bare.p50_ns as f64) - 1.0;
            target(
                "5 steps, fresh: host adds ≤ 15% over five bare instantiations",
                format!(
                    "{:+.0}% (5 × bare = {} µs)",
                    overhead * 100.0,
                    micros(5 * bare.p50_ns)
                ),
                Some(overhead <= 0.15),
            );
        }
    }
    if let Some(warm5) = p50("lampart 5 steps warm") {
        target(
            "5 steps, warm: p50 ≤ 8 µs and at or under Cedar and regorus",
            format!("{} µs", micros(warm5)),
            Some(warm5 <= 8000 && peers_min.is_none_or(|peer| warm5 <= peer)),
        );
    }
    if let (Some(fresh), Some(warm)) = (
        p50("tool-rules 100 regexes fresh"),
        p50("tool-rules 100 regexes warm"),
    ) {
        target(
            "100-regex tool-rules policy, fresh: within 1.5× of warm",
            format!(
                "{} µs vs {} µs warm ({:.1}×)",
                micros(fresh),
                micros(warm),
                fresh as f64 / warm.max(1) as f64
            ),
            Some(fresh as f64 <= 1.5 * warm as f64),
        );
    }
    if let (Some(p50), Some(p99)) = (p50("shipped 5 steps fresh"), p99("shipped 5 steps fresh")) {
        target(
            "5 shipped plugins, fresh, 1–16 KiB: p50 ≤ 100 µs, p99 ≤ 250 µs",
            format!("p50 {} µs, p99 {} µs", micros(p50), micros(p99)),
            Some(p50 <= 100_000 && p99 <= 250_000),
        );
    }
    if let Some(p50) = p50("prompt-injection 4 KiB warm") {
        target(
            "prompt-injection, warm, 4 KiB answers: p50 ≤ 50 µs",
            format!("{} µs", micros(p50)),
            Some(p50 <= 50_000),
        );
    }
    let rate =
        |rates: &[Rate], name: &str| rates.iter().find(|r| r.name == name).map(|r| r.per_second);
    for audit in ["off", "on"] {
        let one = rate(
            &results.scaling,
            &format!("lampart check, 1 worker, audit {audit}"),
        );
        let two = rate(
            &results.scaling,
            &format!("lampart check, 2 workers, audit {audit}"),
        );
        if let (Some(one), Some(two)) = (one, two) {
            target(
                &format!("two workers ≥ 1.8× one (audit {audit})"),
                format!("{:.2}×", two / one),
                Some(two / one >= 1.8),
            );
        }
    }
    if let Some(best) = results.audit.iter().map(|r| r.per_second).reduce(f64::max) {
        target(
            "audit, durable: ≥ 50,000 records/s",
            format!("{best:.0} records/s (best case)"),
            Some(best >= 50_000.0),
        );
    }

    for (title, rates) in [
        ("Audit log, durable (fsync, group commit)", &results.audit),
        ("`lampart check` over 100,000 requests", &results.scaling),
    ] {
        let _ = writeln!(out, "\n### {title}\n");
        let _ = writeln!(out, "| case | per second | p50 µs | p99 µs |");
        let _ = writeln!(out, "|---|---:|---:|---:|");
        for rate in rates {
            let _ = writeln!(
                out,
                "| {} | {:.0} | {} | {} |",
                rate.name,
                rate.per_second,
                rate.p50_ns.map_or("–".into(), micros),
                rate.p99_ns.map_or("–".into(), micros),
            );
        }
    }
    out
}

/// Replaces the generated part of the Markdown file at `path`.
pub fn update_markdown(path: &Path, results: &Results) -> std::io::Result<()> {
    let text = std::fs::read_to_string(path)?;
    let (Some(start), Some(end)) = (text.find(START), text.find(END)) else {
        return Err(std::io::Error::other(format!(
            "{} has no {START} … {END} markers",
            path.display()
        )));
    };
    let updated = format!(
        "{}{START}\n{}\n{}",
        &text[..start],
        markdown(results),
        &text[end..]
    );
    std::fs::write(path, updated)
}

/// Draws median and p99 latency of every case, on a log scale, as SVG.
pub fn plot(path: &Path, results: &Results) -> Result<(), Box<dyn std::error::Error>> {
    let cases = &results.latency;
    let height = 60 + 28 * cases.len() as u32;
    let root = SVGBackend::new(path, (900, height)).into_drawing_area();
    root.fill(&WHITE)?;
    let max = cases.iter().map(|c| c.p99_ns).max().unwrap_or(1000) as f64 / 1000.0 * 1.5;
    let min = cases.iter().map(|c| c.p50_ns).min().unwrap_or(100) as f64 / 1000.0 / 1.5;
    let mut chart = ChartBuilder::on(&root)
        .caption(
            "Latency per decision, µs (log scale): p50 bar, p99 tick",
            ("sans-serif", 18),
        )
        .margin(10)
        .x_label_area_size(30)
        .y_label_area_size(230)
        .build_cartesian_2d((min..max).log_scale(), (0..cases.len()).into_segmented())?;
    chart
        .configure_mesh()
        .disable_y_mesh()
        .y_labels(cases.len())
        .y_label_formatter(&|segment| match segment {
            SegmentValue::CenterOf(i) => cases.get(*i).map_or(String::new(), |c| c.name.clone()),
            _ => String::new(),
        })
        .x_desc("µs")
        .draw()?;
    let color = |name: &str| {
        if name.starts_with("lampart") {
            RGBColor(31, 119, 180)
        } else if name.starts_with("bare") {
            RGBColor(148, 103, 189)
        } else {
            RGBColor(127, 127, 127)
        }
    };
    chart.draw_series(cases.iter().enumerate().map(|(i, case)| {
        let p50 = case.p50_ns as f64 / 1000.0;
        Rectangle::new(
            [
                (min, SegmentValue::Exact(i)),
                (p50, SegmentValue::Exact(i + 1)),
            ],
            color(&case.name).mix(0.8).filled(),
        )
    }))?;
    chart.draw_series(cases.iter().enumerate().map(|(i, case)| {
        let p99 = case.p99_ns as f64 / 1000.0;
        PathElement::new(
            vec![
                (p99, SegmentValue::Exact(i)),
                (p99, SegmentValue::Exact(i + 1)),
            ],
            BLACK.stroke_width(2),
        )
    }))?;
    root.present()?;
    Ok(())
}
