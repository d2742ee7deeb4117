//! The `lampart` binary: exit codes, streams, bad input, the audit log and its verification.

use std::path::{Path, PathBuf};

use serde_json::{Value, json};

use crate::support::{lampart, plugin, stderr, stdout, write_config};

fn req(tool: &str, args: Value) -> String {
    json!({"principal": {"agent": "bot"}, "action": {"tool": tool, "args": args}}).to_string()
}

fn check(config: &Path, input: &str) -> std::process::Output {
    lampart(
        &["check", "--config", config.to_str().unwrap(), "-"],
        Some(input),
    )
}

#[test]
fn the_exit_code_tells_allow_deny_elevation_and_error_apart() {
    let dir = tempfile::tempdir().unwrap();
    let config = write_config(dir.path());
    for (input, code, verdict) in [
        (
            req("send_money", json!({"amount": 5, "card": "4111"})),
            0,
            "allow",
        ),
        (req("shell", json!({"cmd": "rm -rf ~"})), 1, "deny"),
        (
            req("send_money", json!({"amount": 500})),
            3,
            "elevation-required",
        ),
    ] {
        let file = dir.path().join("request.json");
        std::fs::write(&file, &input).unwrap();
        let out = lampart(
            &[
                "check",
                "--config",
                config.to_str().unwrap(),
                file.to_str().unwrap(),
            ],
            None,
        );
        assert_eq!(out.status.code(), Some(code), "{input}: {}", stderr(&out));
        let decision: Value = serde_json::from_str(stdout(&out).trim()).unwrap();
        assert_eq!(decision["verdict"], verdict);
        assert!(decision["audit"]["seq"].as_u64().unwrap() >= 1);
    }
    let out = check(&config, "{not json");
    assert_eq!(out.status.code(), Some(2));
}

#[test]
fn a_stream_is_decided_in_order_and_a_bad_line_loses_nothing_else() {
    let dir = tempfile::tempdir().unwrap();
    let config = write_config(dir.path());
    let mut lines = Vec::new();
    for i in 0..50 {
        lines.push(req(
            "send_money",
            json!({"amount": i, "recipient": format!("r{i}")}),
        ));
    }
    lines.insert(
        20,
        r#"{"principal":{"agent":"bot"},"action":{"tool":"x"},"surprise":1}"#.to_string(),
    );
    lines.insert(30, "[1,2,3]".to_string());
    let out = check(&config, &(lines.join("\n") + "\n"));
    assert_eq!(out.status.code(), Some(2), "errors win the exit code");
    let printed: Vec<Value> = stdout(&out)
        .lines()
        .map(|l| serde_json::from_str(l).unwrap())
        .collect();
    assert_eq!(printed.len(), 52);
    assert_eq!(printed[20]["line"], 21);
    assert!(
        printed[20]["error"]
            .as_str()
            .unwrap()
            .contains("unknown field `surprise`")
    );
    assert!(
        printed[30]["error"]
            .as_str()
            .unwrap()
            .starts_with("request stdin line 31: ")
    );
    let err = stderr(&out);
    assert_eq!(err.lines().count(), 2, "one line per bad request: {err}");
    let verdicts: Vec<&str> = printed
        .iter()
        .filter_map(|d| d["verdict"].as_str())
        .collect();
    assert_eq!(verdicts.len(), 50);
    assert!(verdicts.iter().all(|v| *v == "allow"));
    let seqs: Vec<u64> = printed
        .iter()
        .filter_map(|d| d["audit"]["seq"].as_u64())
        .collect();
    assert_eq!(
        seqs,
        (1..=50).collect::<Vec<_>>(),
        "printed in order, each recorded"
    );

    let verify = lampart(
        &[
            "audit",
            "verify",
            "--dir",
            dir.path().join("audit").to_str().unwrap(),
        ],
        None,
    );
    assert_eq!(verify.status.code(), Some(0), "{}", stdout(&verify));
    assert!(
        stdout(&verify).starts_with("ok: 50 records"),
        "{}",
        stdout(&verify)
    );
}

#[test]
fn audit_records_carry_the_decision_and_mask_what_they_should() {
    let dir = tempfile::tempdir().unwrap();
    let config = write_config(dir.path());
    let out = check(
        &config,
        &req(
            "send_money",
            json!({"amount": 7, "card": "4111-1111", "recipient": "acme"}),
        ),
    );
    assert_eq!(out.status.code(), Some(0), "{}", stderr(&out));
    let tail = lampart(
        &[
            "audit",
            "tail",
            "--config",
            config.to_str().unwrap(),
            "-n",
            "1",
        ],
        None,
    );
    let record: Value = serde_json::from_str(stdout(&tail).trim()).unwrap();
    assert_eq!(record["seq"], 1);
    assert_eq!(record["verdict"], "allow");
    assert_eq!(record["args"]["card"], "***");
    assert!(
        record["args"]["recipient"]
            .as_str()
            .unwrap()
            .starts_with("keyed-blake3:")
    );
    assert_eq!(record["args"]["amount"], 7);
    assert!(
        record["input_digest"]
            .as_str()
            .unwrap()
            .starts_with("keyed-blake3:")
    );
    assert!(record["revision"].as_str().unwrap().starts_with("blake3:"));
    let steps = record["steps"].as_array().unwrap();
    assert_eq!(steps.len(), 2);
    for step in steps {
        assert!(step["plugin"].as_str().unwrap().starts_with("blake3:"));
        assert!(step["fuel"].as_u64().unwrap() > 0);
        assert_eq!(step["instance"], "fresh");
        assert_eq!(step["mode"], "enforce");
    }
    assert!(
        !stdout(&tail).contains("4111"),
        "the card number never reaches the log"
    );
}

#[test]
fn bad_input_is_one_line_a_non_zero_exit_and_nothing_in_the_log() {
    let dir = tempfile::tempdir().unwrap();
    let config = write_config(dir.path());
    let single = dir.path().join("bad.json");
    for (text, expected) in [
        ("[1]", "a request must be a JSON object, found an array"),
        (
            r#"{"principal":{"agent":"a"},"action":{"tool":"t","args":"x"}}"#,
            "`action.args` must be a JSON object",
        ),
        (
            r#"{"principal":{"agent":"a"},"action":{"tool":"t"},"extra":true}"#,
            "unknown field `extra`",
        ),
    ] {
        std::fs::write(&single, text).unwrap();
        let out = lampart(
            &[
                "check",
                "--config",
                config.to_str().unwrap(),
                single.to_str().unwrap(),
            ],
            None,
        );
        assert_eq!(out.status.code(), Some(2));
        let err = stderr(&out);
        assert_eq!(err.lines().count(), 1, "{err}");
        assert!(err.contains("bad.json") && err.contains(expected), "{err}");
    }
    let audit = lampart(
        &[
            "audit",
            "verify",
            "--dir",
            dir.path().join("audit").to_str().unwrap(),
        ],
        None,
    );
    assert!(
        stdout(&audit).starts_with("ok: 0 records"),
        "{}",
        stdout(&audit)
    );

    let broken = dir.path().join("broken.toml");
    std::fs::write(&broken, "[[step]]\nplugin = \"nowhere.wasm\"\n").unwrap();
    let out = check(&broken, &req("t", json!({})));
    assert_eq!(out.status.code(), Some(2));
    let err = stderr(&out);
    assert_eq!(err.lines().count(), 1, "{err}");
    assert!(
        err.contains("nowhere.wasm") && err.contains("No such file"),
        "{err}"
    );

    std::fs::write(&broken, "[chain]\ndefault = \"maybe\"\n").unwrap();
    let out = check(&broken, &req("t", json!({})));
    let err = stderr(&out);
    assert!(
        err.contains("broken.toml` line 2: unknown variant `maybe`"),
        "{err}"
    );
}

#[test]
fn plugin_inspect_shows_world_digest_and_description() {
    let path = plugin("shell-guard");
    let out = lampart(
        &["plugin", "inspect", path.to_str().unwrap(), "--json"],
        None,
    );
    assert_eq!(out.status.code(), Some(0), "{}", stderr(&out));
    let info: Value = serde_json::from_str(stdout(&out).trim()).unwrap();
    assert_eq!(info["world"], "inspector");
    assert_eq!(info["describe"]["name"], "shell-guard");
    let digest = format!(
        "blake3:{}",
        blake3::hash(&std::fs::read(&path).unwrap()).to_hex()
    );
    assert_eq!(info["digest"], digest);
    assert!(
        info["exports"]
            .as_array()
            .unwrap()
            .iter()
            .any(|e| e == "inspect")
    );
}

/// A log of `n` decisions, and the lines of its only segment.
fn log_of(n: usize) -> (tempfile::TempDir, PathBuf, PathBuf) {
    let dir = tempfile::tempdir().unwrap();
    let config = write_config(dir.path());
    let input: Vec<String> = (0..n)
        .map(|i| req("send_money", json!({"amount": i})))
        .collect();
    let out = check(&config, &input.join("\n"));
    assert_eq!(out.status.code(), Some(0), "{}", stderr(&out));
    let audit = dir.path().join("audit");
    let segment = std::fs::read_dir(&audit)
        .unwrap()
        .map(|e| e.unwrap().path())
        .find(|p| p.extension().is_some_and(|e| e == "jsonl"))
        .unwrap();
    (dir, audit, segment)
}

fn verify(audit: &Path) -> (Option<i32>, String) {
    let out = lampart(&["audit", "verify", "--dir", audit.to_str().unwrap()], None);
    (out.status.code(), stdout(&out) + &stderr(&out))
}

#[test]
fn audit_verify_catches_every_kind_of_tampering() {
    type Tamper = fn(&mut Vec<String>) -> String;
    let cases: [(&str, Tamper, &str); 5] = [
        (
            "edited",
            |lines| {
                lines[3] = lines[3].replace("\"verdict\":\"allow\"", "\"verdict\":\"deny\"");
                String::new()
            },
            "record 4",
        ),
        (
            "deleted",
            |lines| {
                lines.remove(2);
                String::new()
            },
            "record 3",
        ),
        (
            "inserted",
            |lines| {
                let copy = lines[1].clone();
                lines.insert(4, copy);
                String::new()
            },
            "record 5",
        ),
        (
            "reordered",
            |lines| {
                lines.swap(5, 6);
                String::new()
            },
            "record 6",
        ),
        (
            "truncated",
            |lines| {
                lines.truncate(7);
                String::new()
            },
            "8",
        ),
    ];
    for (kind, tamper, first_bad) in cases {
        let (_dir, audit, segment) = log_of(10);
        assert_eq!(verify(&audit).0, Some(0), "{kind}: intact before");
        let mut lines: Vec<String> = std::fs::read_to_string(&segment)
            .unwrap()
            .lines()
            .map(String::from)
            .collect();
        tamper(&mut lines);
        std::fs::write(&segment, lines.join("\n") + "\n").unwrap();
        let (code, text) = verify(&audit);
        assert_eq!(code, Some(1), "{kind}: {text}");
        assert!(
            text.starts_with("FAILED: ") && text.contains(first_bad),
            "{kind}: expected {first_bad}: {text}"
        );
        assert_eq!(text.lines().count(), 1, "{kind}: one line: {text}");
    }
}

#[test]
fn a_torn_last_line_is_reported_refused_and_recovered() {
    let (dir, audit, segment) = log_of(3);
    let mut text = std::fs::read_to_string(&segment).unwrap();
    text.push_str(r#"{"hash":"00","seq":4,"verd"#);
    std::fs::write(&segment, text).unwrap();
    let (code, report) = verify(&audit);
    assert_eq!(code, Some(1));
    assert!(report.contains("torn"), "{report}");

    let config = dir.path().join("chain.toml");
    let out = check(&config, &req("send_money", json!({"amount": 1})));
    assert_eq!(
        out.status.code(),
        Some(2),
        "a torn log is never chained over"
    );
    assert!(stderr(&out).contains("torn"), "{}", stderr(&out));

    let out = lampart(
        &["audit", "recover", "--dir", audit.to_str().unwrap()],
        None,
    );
    assert_eq!(out.status.code(), Some(0), "{}", stderr(&out));
    let out = check(&config, &req("send_money", json!({"amount": 1})));
    assert_eq!(out.status.code(), Some(0), "{}", stderr(&out));
    let (code, report) = verify(&audit);
    assert_eq!(code, Some(0), "{report}");
    assert!(report.starts_with("ok: 4 records"), "{report}");
}

#[test]
fn an_anchor_kept_elsewhere_catches_a_rewritten_log() {
    let (_dir, audit, _segment) = log_of(4);
    let head = lampart(&["audit", "head", "--dir", audit.to_str().unwrap()], None);
    let anchor = stdout(&head).trim().to_string();
    assert!(anchor.starts_with("4:"), "{anchor}");
    let out = lampart(
        &[
            "audit",
            "verify",
            "--dir",
            audit.to_str().unwrap(),
            "--anchor",
            &anchor,
        ],
        None,
    );
    assert_eq!(out.status.code(), Some(0), "{}", stdout(&out));
    let wrong = format!("4:{}", "0".repeat(64));
    let out = lampart(
        &[
            "audit",
            "verify",
            "--dir",
            audit.to_str().unwrap(),
            "--anchor",
            &wrong,
        ],
        None,
    );
    assert_eq!(out.status.code(), Some(1), "{}", stdout(&out));
}

#[test]
fn workers_decide_in_parallel_but_record_and_print_in_input_order() {
    let dir = tempfile::tempdir().unwrap();
    let config = write_config(dir.path());
    let input: Vec<String> = (0..200)
        .map(|i| match i % 4 {
            0 => req("shell", json!({"cmd": "rm -rf /"})),
            1 => req("send_money", json!({"amount": 500})),
            2 => "not json".to_string(),
            _ => req("send_money", json!({"amount": i % 100})),
        })
        .collect();
    let run = |workers: &str, audit: &Path| {
        let out = lampart(
            &[
                "check",
                "--config",
                config.to_str().unwrap(),
                "--workers",
                workers,
                "--audit-dir",
                audit.to_str().unwrap(),
                "-",
            ],
            Some(&input.join("\n")),
        );
        assert_eq!(out.status.code(), Some(2), "{}", stderr(&out));
        stdout(&out)
            .lines()
            .map(|l| serde_json::from_str::<Value>(l).unwrap())
            .collect::<Vec<_>>()
    };
    let one = run("1", &dir.path().join("one"));
    let two = run("2", &dir.path().join("two"));
    assert_eq!(one.len(), 200);
    let shape = |d: &Value| {
        (
            d["verdict"].clone(),
            d["line"].clone(),
            d["audit"]["seq"].clone(),
        )
    };
    assert_eq!(
        one.iter().map(shape).collect::<Vec<_>>(),
        two.iter().map(shape).collect::<Vec<_>>()
    );
    let seqs: Vec<u64> = two
        .iter()
        .filter_map(|d| d["audit"]["seq"].as_u64())
        .collect();
    assert_eq!(seqs, (1..=150).collect::<Vec<_>>());
}
