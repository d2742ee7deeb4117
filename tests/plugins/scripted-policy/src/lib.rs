//! A policy whose behaviour is chosen by its settings, for the host's integration tests.
//!
//! Setting `mode` picks the behaviour:
//!
//! | mode | behaviour |
//! | --- | --- |
//! | `allow` | allow |
//! | `deny` | deny with setting `reason` (default `scripted deny`) |
//! | `abstain` | abstain |
//! | `require` | require the scopes in setting `scopes` (comma-separated, blanks trimmed) |
//! | `echo` | abstain, with one `info` finding `echo.input` whose message is compact JSON: `{"findings":[rule ids],"labels":[..],"grants":[..],"args":<args>,"phase":"request","output":{"text":<text>} or {"json":<value>} or null}` (`args` is the raw text as a JSON string when it is not JSON) |
//! | `counter` | allow, with an `info` finding `counter` counting the calls this instance served; panics on the tool `evil`; a finding at `not-a-pointer` on the tool `malformed` |
//! | `loop` | loops forever |
//! | `memory` | allocates and touches 1 MiB blocks until allocation fails (then aborts) |
//! | `stack` | recurses without bound |
//! | `panic` | panics |
//! | `unreachable` | executes wasm `unreachable` |
//! | `huge` | denies with an 8 MiB reason |
//! | `many-findings` | abstains with 200,000 findings |
//! | `bad-pointer` | abstains with a finding located at `not-a-pointer` |
//! | `describe-panic` | `describe` panics (evaluate denies) |
//! | `log-flood` | logs 100,000 lines, then allows |
//! | `sleep` | sleeps 60 s (`std::thread::sleep`), then denies with ``slept 60 s; the plugin's clock moved N ns`` |
//! | `describe-sleep` | `describe` sleeps 60 s, then describes itself as usual (evaluate allows) |
//! | `traceback` | writes a Python-style traceback and a runtime panic line to stderr, then traps |
//! | `error-then-trap` | logs the error line `setting `rules`: bad rule`, then panics |
//!
//! Any other mode denies with ``unknown mode `X` ``; no `mode` at all denies with
//! ``missing setting `mode` ``. In the modes that return a decision, setting `label`
//! adds that label, and settings `finding-severity` + `finding-rule` add one finding of
//! that severity (message `scripted finding`).

use std::hint::black_box;

use lampart_sdk::serde_json::{self, Value, json};
use lampart_sdk::{Decision, Finding, Info, Input, Phase, Severity, ToolOutput, log, setting};

fn describe() -> Info {
    match setting("mode").as_deref() {
        Some("describe-panic") => panic!("scripted describe panic"),
        Some("describe-sleep") => std::thread::sleep(std::time::Duration::from_secs(60)),
        _ => {}
    }
    Info::new("scripted-policy", env!("CARGO_PKG_VERSION"))
        .phases([Phase::Request, Phase::Response])
}

fn evaluate(input: &Input) -> Decision {
    let Some(mode) = setting("mode") else {
        return Decision::deny("missing setting `mode`");
    };
    let decision = match mode.as_str() {
        "allow" => Decision::allow(),
        "counter" => counter(input),
        "deny" => Decision::deny(setting("reason").unwrap_or_else(|| "scripted deny".into())),
        "abstain" => Decision::abstain(),
        "require" => Decision::require(
            setting("scopes")
                .unwrap_or_default()
                .split(',')
                .map(str::trim)
                .filter(|s| !s.is_empty())
                .map(str::to_owned)
                .collect::<Vec<_>>(),
        ),
        "echo" => Decision::abstain().with_finding(Finding::info("echo.input", echo(input))),
        "loop" => spin(),
        "memory" => exhaust_memory(),
        "stack" => Decision::deny(format!("recursed {}", recurse(black_box(0)))),
        "panic" => panic!("scripted panic"),
        "unreachable" => trap(),
        "huge" => Decision::deny("x".repeat(8 << 20)),
        "many-findings" => Decision::abstain().with_findings(
            (0..200_000).map(|i| Finding::low("scripted.many", format!("finding {i}"))),
        ),
        "bad-pointer" => Decision::abstain()
            .with_finding(Finding::low("scripted.bad-pointer", "bad location").at("not-a-pointer")),
        "describe-panic" => Decision::deny("describe-panic mode: describe should have failed"),
        "describe-sleep" => Decision::allow(),
        "sleep" => {
            let started = std::time::Instant::now();
            std::thread::sleep(std::time::Duration::from_secs(60));
            Decision::deny(format!(
                "slept 60 s; the plugin's clock moved {} ns",
                started.elapsed().as_nanos()
            ))
        }
        "traceback" => {
            eprintln!(
                "Traceback (most recent call last):\n  File \"app.py\", line 3, in evaluate\n    raise ValueError(\"no rule for \\x1b[31mred\")\nValueError: no rule for \x1b[31mred"
            );
            eprintln!(
                "thread '<unnamed>' panicked at runtime/src/lib.rs:10:5:\nPython threw an unexpected exception"
            );
            trap()
        }
        "error-then-trap" => {
            log::error("setting `rules`: bad rule");
            panic!("invalid settings: setting `rules`: bad rule")
        }
        "log-flood" => {
            for i in 0..100_000 {
                log::info(&format!("log flood line {i}"));
            }
            Decision::allow()
        }
        other => return Decision::deny(format!("unknown mode `{other}`")),
    };
    decorate(decision)
}

/// Adds the optional label and finding.
fn decorate(mut decision: Decision) -> Decision {
    if let Some(label) = setting("label") {
        decision = decision.with_label(label);
    }
    if let (Some(severity), Some(rule)) = (setting("finding-severity"), setting("finding-rule")) {
        match severity.parse::<Severity>() {
            Ok(severity) => {
                decision = decision.with_finding(Finding::new(rule, severity, "scripted finding"))
            }
            Err(e) => return Decision::deny(format!("setting `finding-severity`: {e}")),
        }
    }
    decision
}

/// The `echo` finding's message.
fn echo(input: &Input) -> String {
    let args = match input.args_error() {
        None => input.args().clone(),
        Some(_) => Value::String(input.args_text().to_owned()),
    };
    let value = json!({
        "findings": input.findings().iter().map(|f| f.rule.as_str()).collect::<Vec<_>>(),
        "labels": input.labels(),
        "grants": input.grants(),
        "args": args,
        "phase": input.phase().as_str(),
        "output": match input.output() {
            Some(ToolOutput::Text(text)) => json!({ "text": text }),
            Some(ToolOutput::Json(_)) => json!({ "json": input.output_json() }),
            None => Value::Null,
        },
    });
    serde_json::to_string(&value).unwrap_or_default()
}

fn spin() -> ! {
    let mut counter = 0u64;
    loop {
        counter = black_box(counter.wrapping_add(1));
    }
}

fn exhaust_memory() -> ! {
    let mut blocks: Vec<Vec<u8>> = Vec::new();
    loop {
        let mut block = vec![0u8; 1 << 20];
        for i in (0..block.len()).step_by(4096) {
            block[i] = 1;
        }
        blocks.push(black_box(block));
    }
}

/// Recursion that cannot become a loop: the result is used after the call.
fn recurse(depth: u64) -> u64 {
    // An exit the optimiser cannot see through, so that this is not a lint error.
    if black_box(depth == u64::MAX) {
        return depth;
    }
    let frame = black_box([depth; 32]);
    recurse(black_box(depth + 1)).wrapping_add(frame[(depth % 32) as usize])
}

#[cfg(target_arch = "wasm32")]
fn trap() -> ! {
    core::arch::wasm32::unreachable()
}

#[cfg(not(target_arch = "wasm32"))]
fn trap() -> ! {
    std::process::abort()
}

lampart_sdk::export_policy!(evaluate, describe = describe);

/// Mode `counter`: allows, with an info finding `counter` holding how many calls this instance
/// has served (1 in a fresh instance; growing in a warm one). Panics on the tool `evil`, and
/// returns a finding the host refuses (located at `not-a-pointer`) on the tool `malformed`, so
/// tests can check that a warm instance is dropped after any failure.
fn counter(input: &Input) -> Decision {
    use std::sync::atomic::{AtomicU64, Ordering};
    static CALLS: AtomicU64 = AtomicU64::new(0);
    let calls = CALLS.fetch_add(1, Ordering::Relaxed) + 1;
    if input.tool() == "evil" {
        panic!("counter: refusing the tool `evil` after {calls} calls");
    }
    if input.tool() == "malformed" {
        return Decision::allow()
            .with_finding(Finding::info("counter", calls.to_string()).at("not-a-pointer"));
    }
    Decision::allow().with_finding(Finding::info("counter", calls.to_string()))
}

#[cfg(test)]
mod tests {
    use super::*;
    use lampart_sdk::testing::with_settings;
    use lampart_sdk::{Verdict, serde_json::json};

    fn run(settings: &[(&str, &str)]) -> Decision {
        let input = Input::builder("shell").args(json!({"cmd": "ls"})).build();
        with_settings(settings, || evaluate(&input))
    }

    #[test]
    fn simple_modes() {
        assert!(run(&[("mode", "allow")]).is_allow());
        assert!(run(&[("mode", "abstain")]).is_abstain());
        assert_eq!(
            run(&[("mode", "deny")]).deny_reason(),
            Some("scripted deny")
        );
        assert_eq!(
            run(&[("mode", "deny"), ("reason", "no")]).deny_reason(),
            Some("no")
        );
        assert_eq!(
            run(&[("mode", "require"), ("scopes", "a, b,,c")])
                .required_scopes()
                .unwrap(),
            ["a", "b", "c"]
        );
        assert_eq!(
            run(&[("mode", "nope")]).deny_reason(),
            Some("unknown mode `nope`")
        );
        assert_eq!(run(&[]).deny_reason(), Some("missing setting `mode`"));
    }

    #[test]
    fn decorations() {
        let d = run(&[
            ("mode", "allow"),
            ("label", "tainted"),
            ("finding-severity", "high"),
            ("finding-rule", "x.y"),
        ]);
        assert_eq!(d.labels, ["tainted"]);
        assert_eq!(d.findings[0].rule, "x.y");
        assert_eq!(d.findings[0].severity, Severity::High);
        let d = run(&[
            ("mode", "allow"),
            ("finding-severity", "bad"),
            ("finding-rule", "x"),
        ]);
        assert!(matches!(d.verdict, Verdict::Deny(_)));
    }

    #[test]
    fn echo_mode() {
        let input = Input::builder("shell")
            .args(json!({"cmd": "ls"}))
            .labels(["l"])
            .grants(["g"])
            .finding(Finding::high("shell.x", "m"))
            .phase(Phase::Response)
            .output_text("out")
            .build();
        let d = with_settings(&[("mode", "echo")], || evaluate(&input));
        assert!(d.is_abstain());
        let msg: Value = serde_json::from_str(&d.findings[0].message).unwrap();
        assert_eq!(
            msg,
            json!({"findings": ["shell.x"], "labels": ["l"], "grants": ["g"],
                   "args": {"cmd": "ls"}, "phase": "response", "output": {"text": "out"}})
        );
        assert_eq!(d.findings[0].rule, "echo.input");
        assert_eq!(d.findings[0].severity, Severity::Info);
    }

    #[test]
    fn bulky_modes() {
        assert_eq!(
            run(&[("mode", "huge")]).deny_reason().unwrap().len(),
            8 << 20
        );
        assert_eq!(run(&[("mode", "many-findings")]).findings.len(), 200_000);
        let d = run(&[("mode", "bad-pointer")]);
        assert_eq!(d.findings[0].location.as_deref(), Some("not-a-pointer"));
    }

    #[test]
    fn describe_works_unless_told_otherwise() {
        let info = with_settings(&[("mode", "allow")], describe);
        assert_eq!(info.name, "scripted-policy");
        assert_eq!(info.phases, [Phase::Request, Phase::Response]);
        assert_eq!(info.tools, ["*"]);
        let panicked =
            std::panic::catch_unwind(|| with_settings(&[("mode", "describe-panic")], describe));
        assert!(panicked.is_err());
    }
}
