//! `lampart test` (fixture cases through a chain or one plugin) and `lampart plugin run` (one
//! plugin's raw answer to one request).

use std::path::Path;

use serde_json::Value;

use crate::support::{lampart, plugin, stderr, stdout, toml_path, workspace, write_config};

/// Writes `text` to `dir/name` and returns the path as a string.
fn write(dir: &Path, name: &str, text: &str) -> String {
    let path = dir.join(name);
    std::fs::write(&path, text).unwrap();
    path.to_str().unwrap().to_owned()
}

const CASES: &str = r#"
[[case]]
name = "a small payment is allowed"
principal = { agent = "bot" }
action = { tool = "send_money", args = { amount = 5 } }
expect = { verdict = "allow", reason = "allowed by step `rules`", findings = ["tool-rules.match"], findings-exactly = true }

[[case]]
name = "a large payment needs a scope"
principal = { agent = "bot" }
action = { tool = "send_money", args = { amount = 500 } }
expect = { verdict = "elevation-required", scopes = ["payments:large"] }

[[case]]
name = "rm -rf / is denied and labels the session"
principal = { agent = "bot" }
action = { tool = "shell", args = { cmd = "rm -rf /" } }
labels = ["earlier"]

[case.expect]
verdict = "deny"
findings = ["shell.recursive-delete"]
labels = ["destructive-command"]
"#;

#[test]
fn passing_cases_exit_0_with_a_line_each_and_no_audit_log() {
    let dir = tempfile::tempdir().unwrap();
    let config = write_config(dir.path());
    let fixtures = write(dir.path(), "cases.toml", CASES);
    let out = lampart(
        &["test", "--config", config.to_str().unwrap(), &fixtures],
        None,
    );
    assert_eq!(
        out.status.code(),
        Some(0),
        "{}{}",
        stdout(&out),
        stderr(&out)
    );
    assert_eq!(
        stdout(&out),
        "ok   a small payment is allowed\nok   a large payment needs a scope\nok   rm -rf / is denied and labels the session\n3 passed, 0 failed\n"
    );
    assert!(
        !dir.path().join("audit").exists(),
        "tests never write the config's audit log"
    );

    // JSON Lines cases, with --filter.
    let jsonl = write(
        dir.path(),
        "cases.jsonl",
        concat!(
            r#"{"name": "shell ls", "principal": {"agent": "bot"}, "action": {"tool": "shell", "args": {"cmd": "ls"}}, "expect": {"verdict": "allow"}}"#,
            "\n\n",
            r#"{"name": "pay 7", "principal": {"agent": "bot"}, "action": {"tool": "send_money", "args": {"amount": 7}}, "expect": {"verdict": "allow"}}"#,
            "\n",
        ),
    );
    let out = lampart(
        &[
            "test",
            "--config",
            config.to_str().unwrap(),
            "--filter",
            "pay",
            &jsonl,
            &fixtures,
        ],
        None,
    );
    assert_eq!(out.status.code(), Some(0), "{}", stderr(&out));
    let printed = stdout(&out);
    assert!(!printed.contains("shell ls"), "{printed}");
    assert!(printed.ends_with("3 passed, 0 failed\n"), "{printed}");
}

#[test]
fn a_wrong_expectation_exits_1_naming_the_case_and_what_differs() {
    let dir = tempfile::tempdir().unwrap();
    let config = write_config(dir.path());
    let fixtures = write(
        dir.path(),
        "cases.toml",
        &format!(
            "{CASES}\n{}",
            r#"
[[case]]
name = "ls is wrongly expected to be denied"
principal = { agent = "bot" }
action = { tool = "shell", args = { cmd = "ls" } }
expect = { verdict = "deny", findings = ["shell.rm-root"], labels = ["x"] }
"#
        ),
    );
    let out = lampart(
        &["test", "--config", config.to_str().unwrap(), &fixtures],
        None,
    );
    assert_eq!(out.status.code(), Some(1), "{}", stderr(&out));
    let printed = stdout(&out);
    assert!(
        printed.contains(
            "FAIL ls is wrongly expected to be denied: expected verdict deny, got allow (allowed by step `rules`); missing finding shell.rm-root; expected labels added x, got none\n"
        ),
        "{printed}"
    );
    assert!(printed.ends_with("3 passed, 1 failed\n"), "{printed}");

    let out = lampart(
        &[
            "test",
            "--config",
            config.to_str().unwrap(),
            "--format",
            "json",
            &fixtures,
        ],
        None,
    );
    assert_eq!(out.status.code(), Some(1));
    let report: Value = serde_json::from_str(stdout(&out).trim()).unwrap();
    assert_eq!(report["passed"], 3);
    assert_eq!(report["failed"], 1);
    let failed = &report["cases"][3];
    assert_eq!(failed["name"], "ls is wrongly expected to be denied");
    assert_eq!(failed["case"], 4);
    assert_eq!(failed["passed"], false);
    assert_eq!(failed["mismatches"].as_array().unwrap().len(), 3);
    assert_eq!(failed["decision"]["verdict"], "allow");
    assert_eq!(
        report["cases"][2]["decision"]["findings"][0]["rule"],
        "shell.recursive-delete"
    );
}

#[test]
fn bad_fixtures_exit_2_with_one_line_naming_the_file_case_and_field() {
    let dir = tempfile::tempdir().unwrap();
    let config = write_config(dir.path());
    let run = |name: &str, text: &str| {
        let fixtures = write(dir.path(), name, text);
        let out = lampart(
            &["test", "--config", config.to_str().unwrap(), &fixtures],
            None,
        );
        assert_eq!(out.status.code(), Some(2), "{name}: {}", stdout(&out));
        assert_eq!(stdout(&out), "", "nothing runs");
        let err = stderr(&out);
        assert_eq!(err.lines().count(), 1, "{err}");
        err
    };
    let err = run(
        "unknown.toml",
        &CASES.replace("findings-exactly = true", "findings-exact = true"),
    );
    assert!(
        err.contains("unknown.toml` case 1 (`a small payment is allowed`): `expect`: unknown field `findings-exact`"),
        "{err}"
    );
    let err = run(
        "unknown.jsonl",
        "{\"name\": \"a\", \"principal\": {\"agent\": \"bot\"}, \"action\": {\"tool\": \"t\"}, \"expect\": {\"verdict\": \"allow\"}}\n{\"name\": \"b\", \"principal\": {\"agent\": \"bot\"}, \"action\": {\"tool\": \"t\"}, \"expected\": {}}\n",
    );
    assert!(
        err.contains("unknown.jsonl` line 2 (`b`): unknown field `expected`"),
        "{err}"
    );
    // A request `check` would refuse is an error, not a case that passes.
    let err = run(
        "request.toml",
        "[[case]]\nname = \"no agent\"\nprincipal = { roles = [] }\naction = { tool = \"t\" }\nexpect = { verdict = \"deny\" }\n",
    );
    assert!(
        err.contains("request.toml` case 1 (`no agent`): request: missing field `agent`"),
        "{err}"
    );
    let err = run(
        "nothing.toml",
        "[[case]]\nname = \"n\"\nprincipal = { agent = \"a\" }\naction = { tool = \"t\" }\nexpect = {}\n",
    );
    assert!(err.contains("`expect` asserts nothing"), "{err}");

    // A config that does not load is exit 2 as well.
    let fixtures = write(dir.path(), "ok.toml", CASES);
    let missing = dir.path().join("missing.toml");
    let out = lampart(
        &["test", "--config", missing.to_str().unwrap(), &fixtures],
        None,
    );
    assert_eq!(out.status.code(), Some(2));
    assert!(stderr(&out).contains("missing.toml"), "{}", stderr(&out));
}

#[test]
fn one_plugin_is_tested_alone_with_its_settings() {
    let dir = tempfile::tempdir().unwrap();
    let policy = plugin("scripted-policy");
    let cases = write(
        dir.path(),
        "policy.toml",
        r#"
[[case]]
name = "denies with its reason"
principal = { agent = "a" }
action = { tool = "anything" }
expect = { verdict = "deny", reason = "step `scripted-policy`: not today", labels = ["seen"] }
"#,
    );
    let run_policy = |settings: &[&str]| {
        let mut args = vec!["test", "--plugin", policy.to_str().unwrap()];
        for setting in settings {
            args.extend(["--setting", setting]);
        }
        args.push(&cases);
        lampart(&args, None)
    };
    let out = run_policy(&["mode=deny", "reason=not today", "label=seen"]);
    assert_eq!(
        out.status.code(),
        Some(0),
        "{}{}",
        stdout(&out),
        stderr(&out)
    );
    let out = run_policy(&["mode=allow", "label=seen"]);
    assert_eq!(out.status.code(), Some(1));
    assert!(
        stdout(&out).contains("FAIL denies with its reason: expected verdict deny, got allow"),
        "{}",
        stdout(&out)
    );
    // A policy that abstains meets the chain's default, deny unless --default says otherwise.
    let out = run_policy(&["mode=abstain", "label=seen"]);
    assert!(
        stdout(&out).contains("got \"no policy allowed this action; the chain default is deny\""),
        "{}",
        stdout(&out)
    );

    // An inspector alone: its chain allows unless a finding reaches deny-at.
    let inspector = plugin("scripted-inspector");
    let cases = write(
        dir.path(),
        "inspector.jsonl",
        r#"{"name": "reports x.y", "principal": {"agent": "a"}, "action": {"tool": "t"}, "expect": {"verdict": "allow", "findings": ["x.y"], "findings-exactly": true}}
"#,
    );
    let run_inspector = |severity: &str, extra: &[&str]| {
        let setting =
            format!(r#"findings=[{{rule = "x.y", severity = "{severity}", message = "m"}}]"#);
        let mut args = vec![
            "test",
            "--plugin",
            inspector.to_str().unwrap(),
            "--setting",
            &setting,
        ];
        args.extend(extra);
        args.push(&cases);
        lampart(&args, None)
    };
    let out = run_inspector("medium", &[]);
    assert_eq!(
        out.status.code(),
        Some(0),
        "{}{}",
        stdout(&out),
        stderr(&out)
    );
    let out = run_inspector("high", &[]);
    assert_eq!(out.status.code(), Some(1), "a high finding denies");
    assert!(
        stdout(&out).contains(
            "FAIL reports x.y: expected verdict allow, got deny (finding `x.y` (high) from step `scripted-inspector`: m)\n"
        ),
        "{}",
        stdout(&out)
    );
    let out = run_inspector("high", &["--deny-at", "critical"]);
    assert_eq!(out.status.code(), Some(0), "{}", stdout(&out));
    let out = run_inspector("medium", &["--default", "deny"]);
    assert_eq!(out.status.code(), Some(1), "{}", stdout(&out));
    assert!(
        stdout(&out)
            .contains("got deny (no policy allowed this action; the chain default is deny)"),
        "{}",
        stdout(&out)
    );
    // The options of a one-plugin chain are refused beside a config.
    let out = lampart(
        &["test", "--config", "chain.toml", "--setting", "a=b", &cases],
        None,
    );
    assert_eq!(out.status.code(), Some(2));
    assert!(
        stderr(&out).contains("cannot be used with"),
        "{}",
        stderr(&out)
    );

    // A plugin that does not load is exit 2.
    let junk = write(dir.path(), "junk.wasm", "not wasm");
    let out = lampart(&["test", "--plugin", &junk, &cases], None);
    assert_eq!(out.status.code(), Some(2));
    assert!(stderr(&out).contains("junk.wasm"), "{}", stderr(&out));
}

#[test]
fn the_demo_fixtures_pass_on_the_demo_chain() {
    let demo = workspace().join("examples").join("demo");
    let mut config = std::fs::read_to_string(demo.join("chain.toml")).unwrap();
    for name in ["shell_guard", "secrets", "prompt_injection", "tool_rules"] {
        config = config.replace(
            &format!("\"../../dist/plugins/{name}.wasm\""),
            &toml_path(&plugin(&name.replace('_', "-"))),
        );
    }
    let dir = tempfile::tempdir().unwrap();
    let config = write(dir.path(), "chain.toml", &config);
    let fixtures = demo.join("tests.toml");
    let out = lampart(
        &["test", "--config", &config, fixtures.to_str().unwrap()],
        None,
    );
    assert_eq!(
        out.status.code(),
        Some(0),
        "{}{}",
        stdout(&out),
        stderr(&out)
    );
    let printed = stdout(&out);
    assert!(printed.ends_with(" passed, 0 failed\n"), "{printed}");
    assert!(!dir.path().join("audit").exists());
}

/// A request file for `plugin run`.
fn request(dir: &Path, json: &str) -> String {
    write(dir, "request.json", json)
}

#[test]
fn plugin_run_shows_the_raw_answer_its_cost_and_what_it_said() {
    let dir = tempfile::tempdir().unwrap();
    let shell = plugin("shell-guard");
    let rm = request(
        dir.path(),
        r#"{"principal": {"agent": "a"}, "action": {"tool": "shell", "args": {"cmd": "rm -rf /"}}}"#,
    );
    let out = lampart(&["plugin", "run", shell.to_str().unwrap(), &rm], None);
    assert_eq!(out.status.code(), Some(0), "{}", stderr(&out));
    let text = stdout(&out);
    assert!(text.contains("verdict:   inspected\n"), "{text}");
    assert!(
        text.contains("finding:   critical shell.recursive-delete at /cmd: "),
        "{text}"
    );
    assert!(text.contains("label:     destructive-command\n"), "{text}");
    assert!(text.contains("\nfuel:      "), "{text}");
    assert!(text.contains(" of 100000000\n"), "{text}");
    assert!(text.contains("\nmemory:    "), "{text}");

    let out = lampart(
        &[
            "plugin",
            "run",
            shell.to_str().unwrap(),
            &rm,
            "--format",
            "json",
        ],
        None,
    );
    assert_eq!(out.status.code(), Some(0));
    let report: Value = serde_json::from_str(stdout(&out).trim()).unwrap();
    assert_eq!(report["world"], "inspector");
    assert_eq!(report["verdict"], "inspected");
    assert_eq!(report["findings"][0]["rule"], "shell.recursive-delete");
    assert_eq!(report["applies"], true);
    let fuel = report["fuel"].as_u64().unwrap();
    assert!(fuel > 1000 && fuel < 100_000_000, "{fuel}");
    let peak = report["peak_memory"].as_u64().unwrap();
    assert!((64 << 10..64 << 20).contains(&peak), "{peak}");

    // A policy's deny, with its settings from --setting, and what it logged.
    let policy = plugin("scripted-policy");
    let ls = request(
        dir.path(),
        r#"{"principal": {"agent": "a"}, "action": {"tool": "shell", "args": {"cmd": "ls"}}}"#,
    );
    let run = |mode: &str, format: &str| {
        let setting = format!("mode={mode}");
        lampart(
            &[
                "plugin",
                "run",
                policy.to_str().unwrap(),
                "--setting",
                &setting,
                "--format",
                format,
                &ls,
            ],
            None,
        )
    };
    let out = run("deny", "text");
    assert_eq!(out.status.code(), Some(0), "{}", stderr(&out));
    assert!(
        stdout(&out).contains("verdict:   deny: scripted deny\n"),
        "{}",
        stdout(&out)
    );

    // A trap: exit 1, the trap's message, and the plugin's log and standard error.
    let out = run("error-then-trap", "text");
    assert_eq!(out.status.code(), Some(1));
    let text = stdout(&out);
    assert!(
        text.contains("verdict:   failed (trap): setting `rules`: bad rule\n"),
        "{text}"
    );
    assert!(
        text.contains("log:       error: setting `rules`: bad rule\n"),
        "{text}"
    );
    assert!(
        text.contains("stderr:    ")
            && text.contains("invalid settings: setting `rules`: bad rule"),
        "{text}"
    );
    let out = run("panic", "json");
    assert_eq!(out.status.code(), Some(1));
    let report: Value = serde_json::from_str(stdout(&out).trim()).unwrap();
    assert_eq!(report["verdict"], "failed");
    assert_eq!(report["error"]["kind"], "trap");
    assert!(
        report["stderr"]
            .as_str()
            .unwrap()
            .contains("scripted panic"),
        "{report}"
    );
    // Running out of memory says so, and the peak is measured up to the limit.
    let out = run("memory", "json");
    assert_eq!(out.status.code(), Some(1));
    let report: Value = serde_json::from_str(stdout(&out).trim()).unwrap();
    assert_eq!(report["error"]["kind"], "memory");
    let peak = report["peak_memory"].as_u64().unwrap();
    assert!(peak > 32 << 20 && peak <= 64 << 20, "{peak}");
    // Running out of fuel says so.
    let out = run("loop", "json");
    assert_eq!(out.status.code(), Some(1));
    let report: Value = serde_json::from_str(stdout(&out).trim()).unwrap();
    assert_eq!(report["error"]["kind"], "fuel");
    assert_eq!(report["fuel"], report["fuel_limit"]);

    // In a phase its describe() leaves out, the plugin still runs, with a note that a chain
    // would not run it.
    let out = lampart(
        &[
            "plugin",
            "run",
            policy.to_str().unwrap(),
            "--setting",
            "mode=allow",
            "--phase",
            "elevation",
            &ls,
        ],
        None,
    );
    assert_eq!(out.status.code(), Some(0), "{}", stderr(&out));
    let text = stdout(&out);
    assert!(
        text.contains("request:   tool `shell`, phase elevation\n"),
        "{text}"
    );
    assert!(text.contains("\napplies:   no: "), "{text}");
    assert!(text.contains("\nverdict:   allow\n"), "{text}");

    // A request that does not fit the phase asked for is an error, before any plugin runs.
    let out = lampart(
        &[
            "plugin",
            "run",
            policy.to_str().unwrap(),
            "--phase",
            "response",
            &ls,
        ],
        None,
    );
    assert_eq!(out.status.code(), Some(2));
    assert!(
        stderr(&out).contains("needs the tool's `output`"),
        "{}",
        stderr(&out)
    );
}
