//! Hostile plugins are contained: each is denied with its cause, and the same chain then
//! decides the next request normally.

use std::time::{Duration, Instant};

use lampart::chain::{Decision, StepVerdict, Verdict};
use lampart::engine::FailureKind;
use serde_json::json;

use crate::support::{chain, plugin, request, step, toml_path, try_chain};

/// A chain where the hostile step sees only the tool `evil`, and a benign policy allows
/// everything; `extra` adds settings or limits to the hostile step.
fn hostile_chain(mode: &str, extra: &str) -> lampart::chain::Chain {
    let policy = toml_path(&plugin("scripted-policy"));
    chain(&format!(
        r#"
        [[step]]
        name = "hostile"
        plugin = {policy}
        applies-to = {{ tools = ["evil"] }}
        settings = {{ mode = "{mode}" }}
        {extra}

        [[step]]
        name = "benign"
        plugin = {policy}
        settings = {{ mode = "allow" }}
        "#
    ))
}

/// Runs the hostile request, checks it is denied with `kind`, then checks a normal request
/// through the same chain is allowed. Returns the hostile decision.
fn contained(mode: &str, extra: &str, kind: &str) -> Decision {
    let chain = hostile_chain(mode, extra);
    let evil = chain.decide(request(
        json!({"principal": {"agent": "a"}, "action": {"tool": "evil"}}),
    ));
    assert_eq!(evil.verdict, Verdict::Deny, "{mode}: {evil:#?}");
    let hostile = step(&evil, "hostile");
    assert_eq!(hostile.verdict, StepVerdict::Failed, "{mode}");
    let error = hostile
        .error
        .as_ref()
        .expect("a failed step records its error");
    assert_eq!(error.kind.as_str(), kind, "{mode}: {}", error.message);
    assert!(
        evil.reason.to_string().contains(kind),
        "the reason names the cause: {}",
        evil.reason
    );

    let next = chain.decide(request(
        json!({"principal": {"agent": "a"}, "action": {"tool": "fine"}}),
    ));
    assert_eq!(
        next.verdict,
        Verdict::Allow,
        "{mode}: the next decision is unaffected: {next:#?}"
    );
    assert_eq!(step(&next, "benign").verdict, StepVerdict::Allow);
    evil
}

#[test]
fn an_infinite_loop_runs_out_of_fuel() {
    let decision = contained("loop", "limits = { fuel = 5_000_000 }", "fuel");
    let hostile = step(&decision, "hostile");
    let fuel = hostile.fuel.expect("fuel is counted when fuel runs out");
    assert!(fuel >= 5_000_000 - 10_000, "fuel used: {fuel}");
}

#[test]
fn an_infinite_loop_with_fuel_to_spare_hits_the_deadline() {
    let decision = contained(
        "loop",
        r#"limits = { fuel = 1_000_000_000_000, deadline = "30ms" }"#,
        "deadline",
    );
    let hostile = step(&decision, "hostile");
    let micros = hostile.micros;
    assert!(
        (25_000..2_000_000).contains(&micros),
        "stopped near the deadline: {micros} µs"
    );
    // The store's fuel count lags behind a running loop: unknown, never a wrong number.
    assert_eq!(hostile.fuel, None);
}

/// Far below the 60 s the sleeping plugins ask for, far above what a busy machine needs.
const WELL_UNDER_A_MINUTE: Duration = Duration::from_secs(30);

#[test]
fn a_long_sleep_returns_at_once_on_a_clock_that_does_not_move() {
    // A deadline the call cannot reach: what returns is the plugin's own verdict.
    let started = Instant::now();
    let chain = hostile_chain("sleep", r#"limits = { deadline = "50s" }"#);
    let evil = chain.decide(request(
        json!({"principal": {"agent": "a"}, "action": {"tool": "evil"}}),
    ));
    assert!(
        started.elapsed() < WELL_UNDER_A_MINUTE,
        "{:?}",
        started.elapsed()
    );
    assert_eq!(evil.verdict, Verdict::Deny, "{evil:#?}");
    let hostile = step(&evil, "hostile");
    assert_eq!(
        hostile.verdict,
        StepVerdict::Deny("slept 60 s; the plugin's clock moved 0 ns".into()),
        "{hostile:#?}"
    );
    assert_eq!(
        evil.reason.to_string(),
        "step `hostile`: slept 60 s; the plugin's clock moved 0 ns"
    );
}

#[test]
fn a_sleep_cannot_outlast_a_short_deadline() {
    let started = Instant::now();
    let chain = hostile_chain("sleep", r#"limits = { deadline = "10ms" }"#);
    let evil = chain.decide(request(
        json!({"principal": {"agent": "a"}, "action": {"tool": "evil"}}),
    ));
    assert_eq!(evil.verdict, Verdict::Deny, "{evil:#?}");
    assert!(
        started.elapsed() < WELL_UNDER_A_MINUTE,
        "{:?}",
        started.elapsed()
    );
}

#[test]
fn a_sleep_in_describe_does_not_hang_loading() {
    let started = Instant::now();
    let chain = hostile_chain("describe-sleep", "");
    assert!(
        started.elapsed() < WELL_UNDER_A_MINUTE,
        "{:?}",
        started.elapsed()
    );
    let evil = chain.decide(request(
        json!({"principal": {"agent": "a"}, "action": {"tool": "evil"}}),
    ));
    assert_eq!(evil.verdict, Verdict::Allow, "{evil:#?}");
}

#[test]
fn a_memory_bomb_hits_the_memory_cap() {
    let decision = contained("memory", r#"limits = { memory = "16 MiB" }"#, "memory");
    let error = step(&decision, "hostile").error.clone().unwrap();
    assert!(
        error.message.contains("16777216"),
        "names the cap: {}",
        error.message
    );
}

#[test]
fn unbounded_recursion_is_stopped() {
    // A Rust guest's stack lives in linear memory: overflowing it is an out-of-bounds trap.
    let decision = contained("stack", "", "trap");
    let message = &step(&decision, "hostile").error.as_ref().unwrap().message;
    assert!(
        message.contains("out of bounds memory access") && message.contains("stack"),
        "{message}"
    );
}

#[test]
fn a_panic_is_a_trap_with_its_message() {
    let decision = contained("panic", "", "trap");
    let message = &step(&decision, "hostile").error.as_ref().unwrap().message;
    assert!(
        message.contains("panicked"),
        "the panic message is kept: {message}"
    );
}

#[test]
fn unreachable_is_a_trap() {
    let decision = contained("unreachable", "", "trap");
    let message = &step(&decision, "hostile").error.as_ref().unwrap().message;
    assert!(message.contains("unreachable"), "{message}");
}

#[test]
fn a_huge_output_is_refused() {
    let decision = contained("huge", "", "malformed-output");
    let message = &step(&decision, "hostile").error.as_ref().unwrap().message;
    assert!(
        message.contains("deny reason is 8388608 bytes"),
        "{message}"
    );
}

#[test]
fn too_many_findings_are_refused() {
    let decision = contained(
        "many-findings",
        r#"limits = { fuel = 10_000_000_000, deadline = "20s" }"#,
        "malformed-output",
    );
    let message = &step(&decision, "hostile").error.as_ref().unwrap().message;
    assert!(message.contains("200000 findings"), "{message}");
}

#[test]
fn a_malformed_finding_location_is_refused() {
    let decision = contained("bad-pointer", "", "malformed-output");
    let message = &step(&decision, "hostile").error.as_ref().unwrap().message;
    assert!(message.contains("not-a-pointer"), "{message}");
}

#[test]
fn a_log_flood_is_bounded_and_changes_nothing() {
    let chain = hostile_chain(
        "log-flood",
        r#"limits = { fuel = 1_000_000_000, deadline = "10s" }"#,
    );
    let decision = chain.decide(request(
        json!({"principal": {"agent": "a"}, "action": {"tool": "evil"}}),
    ));
    assert_eq!(decision.verdict, Verdict::Allow, "{decision:#?}");
    assert_eq!(step(&decision, "hostile").verdict, StepVerdict::Allow);
}

#[test]
fn a_monitor_step_that_fails_is_recorded_but_does_not_deny() {
    let decision = {
        let chain = hostile_chain("panic", r#"mode = "monitor""#);
        chain.decide(request(
            json!({"principal": {"agent": "a"}, "action": {"tool": "evil"}}),
        ))
    };
    assert_eq!(decision.verdict, Verdict::Allow, "{decision:#?}");
    assert_eq!(
        step(&decision, "hostile").error.as_ref().unwrap().kind,
        FailureKind::Trap
    );
}

#[test]
fn a_plugin_whose_describe_panics_is_refused_at_load() {
    let err = try_chain(&format!(
        "[[step]]\nplugin = {}\nsettings = {{ mode = \"describe-panic\" }}\n",
        toml_path(&plugin("scripted-policy"))
    ))
    .err()
    .expect("refused");
    let text = err.to_string();
    assert!(
        text.contains("describe() failed: panicked at") && text.contains("scripted describe panic"),
        "{text}"
    );
    assert!(!text.contains('\n'), "one line: {text}");
}

#[test]
fn a_settings_error_is_one_line_with_the_plugins_own_message_once() {
    let path = plugin("tool-rules");
    let err = try_chain(&format!(
        "[[step]]\nname = \"rules\"\nplugin = {}\nsettings = {{ rules = '[{{\"name\": \"r\", \"tools\": [\"*\"], \"effect\": \"allow\", \"maxx\": 1}}]' }}\n",
        toml_path(&path)
    ))
    .err()
    .expect("refused");
    let text = err.to_string();
    let cause = "setting `rules`: rule 1 (`r`): unknown field `maxx`";
    assert!(
        text.starts_with(&format!(
            "step `rules`: plugin `{}`: describe() failed: {cause}",
            path.display()
        )),
        "{text}"
    );
    assert_eq!(text.matches("unknown field").count(), 1, "{text}");
    for noise in ["panicked", "unreachable", "lib.rs", "trap"] {
        assert!(!text.contains(noise), "no `{noise}`: {text}");
    }
}

#[test]
fn a_plugin_that_logs_an_error_and_traps_is_reported_by_its_log_line() {
    let decision = contained("error-then-trap", "", "trap");
    let error = step(&decision, "hostile").error.clone().unwrap();
    assert_eq!(error.message, "setting `rules`: bad rule");
}

#[test]
fn a_traceback_on_stderr_is_reported_by_its_exception_line() {
    let decision = contained("traceback", "", "trap");
    let error = step(&decision, "hostile").error.clone().unwrap();
    assert_eq!(error.message, "ValueError: no rule for \\u{1b}[31mred");
}

#[test]
fn a_describe_that_runs_out_of_fuel_names_the_limit_to_raise() {
    let err = try_chain(&format!(
        "[[step]]\nname = \"rules\"\nplugin = {}\nlimits = {{ fuel = 1_000 }}\n",
        toml_path(&plugin("tool-rules"))
    ))
    .err()
    .expect("refused");
    let text = err.to_string();
    assert!(
        text.ends_with(
            "describe() failed: fuel limit of 1000 exhausted; raise `fuel` in `[limits]` or in the step's `limits`"
        ),
        "{text}"
    );
}

#[test]
fn a_plugin_that_cannot_be_read_names_its_cause_once() {
    let err = crate::support::engine()
        .load_file(std::path::Path::new("./nope.wasm"))
        .err()
        .expect("refused");
    let mut chain = err.to_string();
    let mut source = std::error::Error::source(&err);
    while let Some(cause) = source {
        chain.push_str(&format!(": {cause}"));
        source = cause.source();
    }
    assert_eq!(chain.matches("nope.wasm").count(), 1, "{chain}");
    assert_eq!(chain.matches("No such file").count(), 1, "{chain}");
}

#[test]
fn a_component_of_the_wrong_world_is_refused() {
    let err = try_chain(&format!(
        "[[step]]\nname = \"rules\"\nplugin = {}\nkind = \"policy\"\n",
        toml_path(&plugin("scripted-inspector"))
    ))
    .err()
    .expect("refused");
    let text = err.to_string();
    assert!(
        text.contains("step `rules`")
            && text.contains(
                "is an inspector (it exports `inspect`), but the step says kind = \"policy\""
            ),
        "{text}"
    );
}

#[test]
fn files_that_are_not_components_are_refused_with_the_reason() {
    let dir = tempfile::tempdir().unwrap();
    let cases: [(&str, Vec<u8>, &str); 4] = [
        (
            "core.wasm",
            b"\0asm\x01\0\0\0".to_vec(),
            "a core WebAssembly module, not a component",
        ),
        (
            "text.wasm",
            b"hello, world".to_vec(),
            "not a WebAssembly component (bad magic bytes)",
        ),
        (
            "cut.wasm",
            std::fs::read(plugin("scripted-policy")).unwrap()[..200].to_vec(),
            "does not compile",
        ),
        ("missing.wasm", vec![], "No such file"),
    ];
    for (name, bytes, expected) in cases {
        let path = dir.path().join(name);
        if !bytes.is_empty() {
            std::fs::write(&path, bytes).unwrap();
        }
        let err = try_chain(&format!("[[step]]\nplugin = {}\n", toml_path(&path)))
            .err()
            .expect("refused");
        let text = err.to_string();
        assert!(
            text.contains(expected) && text.contains(name),
            "{name}: {text}"
        );
        assert!(!text.contains('\n'), "one line: {text}");
    }
}

#[test]
fn a_digest_pin_that_does_not_match_refuses_to_load() {
    let path = plugin("scripted-policy");
    let actual = format!(
        "blake3:{}",
        blake3::hash(&std::fs::read(&path).unwrap()).to_hex()
    );
    let wrong = format!("blake3:{}", "ab".repeat(32));
    let err = try_chain(&format!(
        "[[step]]\nname = \"p\"\nplugin = {}\ndigest = \"{wrong}\"\n",
        toml_path(&path)
    ))
    .err()
    .expect("refused");
    let text = err.to_string();
    assert!(
        text.contains(&format!("has digest {actual}, but the config pins {wrong}")),
        "{text}"
    );

    let pinned = chain(&format!(
        "[[step]]\nname = \"p\"\nplugin = {}\ndigest = \"{actual}\"\nsettings = {{ mode = \"allow\" }}\n",
        toml_path(&path)
    ));
    let decision = pinned.decide(request(
        json!({"principal": {"agent": "a"}, "action": {"tool": "t"}}),
    ));
    assert_eq!(decision.verdict, Verdict::Allow);
    assert_eq!(step(&decision, "p").plugin.to_string(), actual);
}
