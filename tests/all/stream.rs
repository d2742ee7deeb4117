//! `lampart check` as a stream: a closed output or a failing audit log ends the run, a live
//! input is answered line by line, bad lines stay local, and nothing from the input can
//! forge a line of output or of the log.

use std::io::{BufRead, BufReader, Write};
use std::path::{Path, PathBuf};
use std::process::{Child, ChildStdout, Command, ExitStatus, Stdio};
use std::sync::mpsc;
use std::time::{Duration, Instant};

use serde_json::{Value, json};

use crate::support::{cache_dir, lampart, plugin, stderr, stdout, toml_path};

/// How long a run that should end promptly may take on a busy machine.
const GENEROUS: Duration = Duration::from_secs(60);

/// Writes a chain (shell-guard, then tool-rules allowing small payments), with its audit log
/// in `audit/`, into `dir`.
fn write_config(dir: &Path) -> PathBuf {
    let config = dir.join("chain.toml");
    std::fs::write(
        &config,
        format!(
            r#"
            [audit]
            dir = "audit"

            [[step]]
            name = "shell"
            plugin = {shell}

            [[step]]
            name = "rules"
            plugin = {rules}
            settings.rules = [
              {{ name = "pay", tools = ["send_money"], effect = "allow", when = [{{ arg = "/amount", max = 100 }}] }},
            ]
            "#,
            shell = toml_path(&plugin("shell-guard")),
            rules = toml_path(&plugin("tool-rules")),
        ),
    )
    .unwrap();
    config
}

fn payment(i: usize) -> String {
    json!({
        "id": format!("pay-{i}"),
        "principal": {"agent": "billing-bot"},
        "action": {"tool": "send_money", "args": {"amount": i % 100, "memo": "x".repeat(200)}},
    })
    .to_string()
}

/// Starts `lampart` with every standard stream piped (through `sh -c PREFIX` when given).
fn spawn(prefix: Option<&str>, args: &[&str]) -> Child {
    let binary = env!("CARGO_BIN_EXE_lampart");
    let mut command = match prefix {
        Some(prefix) => {
            let mut command = Command::new("sh");
            command
                .arg("-c")
                .arg(format!("{prefix}; exec \"$0\" \"$@\""))
                .arg(binary);
            command
        }
        None => Command::new(binary),
    };
    command
        .args(args)
        .env("LAMPART_CACHE_DIR", cache_dir())
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .expect("lampart runs")
}

/// Waits for `child` to end, killing it and failing the test if it takes longer than
/// [`GENEROUS`].
fn wait_promptly(child: &mut Child, what: &str) -> ExitStatus {
    let started = Instant::now();
    loop {
        if let Some(status) = child.try_wait().unwrap() {
            return status;
        }
        if started.elapsed() > GENEROUS {
            let _ = child.kill();
            let _ = child.wait();
            panic!("{what}: still running after {GENEROUS:?}");
        }
        std::thread::sleep(Duration::from_millis(20));
    }
}

/// Standard output's lines, read on a thread, so that a test can wait for one with a timeout.
fn lines_of(stdout: ChildStdout) -> mpsc::Receiver<String> {
    let (tx, rx) = mpsc::channel();
    std::thread::spawn(move || {
        for line in BufReader::new(stdout).lines() {
            let Ok(line) = line else { break };
            if tx.send(line).is_err() {
                break;
            }
        }
    });
    rx
}

/// Standard error, read to the end once the process has ended.
fn rest_of_stderr(child: &mut Child) -> String {
    let mut text = String::new();
    std::io::Read::read_to_string(&mut child.stderr.take().unwrap(), &mut text).unwrap();
    text
}

/// Loads the chain's plugins into the test cache once, so that a run under a file size limit
/// writes nothing but its audit log.
fn warm_cache(config: &Path) {
    let out = lampart(
        &[
            "check",
            "--config",
            config.to_str().unwrap(),
            "--no-audit",
            "-",
        ],
        Some(&payment(1)),
    );
    assert_eq!(out.status.code(), Some(0), "{}", stderr(&out));
}

#[test]
fn a_closed_standard_output_ends_the_run_with_code_2() {
    let dir = tempfile::tempdir().unwrap();
    let config = write_config(dir.path());
    let requests: String = (0..5000).map(|i| payment(i) + "\n").collect();
    let file = dir.path().join("big.jsonl");
    std::fs::write(&file, &requests).unwrap();
    let config = config.to_str().unwrap();

    // From a file, and from standard input that the producer keeps open.
    for (input, feed) in [(file.to_str().unwrap(), false), ("-", true)] {
        let mut child = spawn(
            None,
            &["check", "--config", config, "--workers", "2", input],
        );
        let stdin = child.stdin.take().unwrap();
        let feeder = feed.then(|| {
            let requests = requests.clone();
            std::thread::spawn(move || {
                let mut stdin = stdin;
                // Fails once lampart has gone; stdin stays open until then.
                let _ = stdin.write_all(requests.as_bytes());
                std::thread::sleep(GENEROUS);
            })
        });
        let mut out = BufReader::new(child.stdout.take().unwrap());
        let mut first = String::new();
        out.read_line(&mut first).unwrap();
        assert!(first.contains("\"verdict\":\"allow\""), "{first}");
        drop(out);
        let status = wait_promptly(&mut child, input);
        let err = rest_of_stderr(&mut child);
        assert_eq!(status.code(), Some(2), "{input}: {err}");
        assert!(err.lines().count() <= 1, "{input}: at most one line: {err}");
        assert!(!err.contains("panicked"), "{input}: {err}");
        drop(feeder);
    }
    // The lock was released: the log opens again, and verifies.
    let out = lampart(&["check", "--config", config, "-"], Some(&payment(1)));
    assert_eq!(out.status.code(), Some(0), "{}", stderr(&out));
    let out = lampart(&["audit", "verify", "--config", config], None);
    assert_eq!(out.status.code(), Some(0), "{}", stdout(&out));
}

#[test]
fn a_full_audit_disk_ends_the_run_with_one_line_and_a_log_of_what_was_printed() {
    let dir = tempfile::tempdir().unwrap();
    let config = write_config(dir.path());
    warm_cache(&config);
    // A directory name with a line break: neither the log line nor the error may break.
    let audit = dir.path().join("audit\nERROR forged");
    // Files may not grow past 256 KiB (EFBIG instead of SIGXFSZ): room for the plugins' memory
    // images (which wasmtime keeps in memory files), not for the audit log, which fills up.
    let mut child = spawn(
        Some("trap '' XFSZ; ulimit -f 256"),
        &[
            "check",
            "--config",
            config.to_str().unwrap(),
            "--audit-dir",
            audit.to_str().unwrap(),
            "-",
        ],
    );
    let mut stdin = child.stdin.take().unwrap();
    let lines = lines_of(child.stdout.take().unwrap());
    // One request at a time, each answered before the next, until the log refuses one.
    let mut printed = Vec::new();
    for i in 0..1000 {
        if writeln!(stdin, "{}", payment(i)).is_err() {
            break;
        }
        match lines.recv_timeout(GENEROUS) {
            Ok(line) => printed.push(serde_json::from_str::<Value>(&line).unwrap()),
            Err(mpsc::RecvTimeoutError::Disconnected) => break,
            Err(mpsc::RecvTimeoutError::Timeout) => panic!("no answer to request {i}"),
        }
    }
    // Standard input is still open: the run must end by itself.
    let status = wait_promptly(&mut child, "full audit log");
    drop(stdin);
    let err = rest_of_stderr(&mut child);
    assert_eq!(status.code(), Some(2), "{err}");
    assert!(
        !printed.is_empty() && printed.len() < 1000,
        "{}: {err}",
        printed.len()
    );

    // One error line; anything else on standard error is a JSON log event.
    let (errors, logs): (Vec<&str>, Vec<&str>) =
        err.lines().partition(|line| line.starts_with("lampart: "));
    assert_eq!(errors.len(), 1, "{err}");
    assert!(
        errors[0].contains("audit\\nERROR forged") && errors[0].contains("File too large"),
        "{err}"
    );
    assert_eq!(errors[0].matches("File too large").count(), 1, "{err}");
    for log in logs {
        let event: Value = serde_json::from_str(log).unwrap_or_else(|e| panic!("{e}: {log}"));
        assert!(event["level"].is_string(), "{log}");
    }

    // The failed write was taken back: the log holds exactly what was printed, as it is.
    let audit = audit.to_str().unwrap();
    let out = lampart(&["audit", "head", "--dir", audit], None);
    let last = printed.last().unwrap();
    assert_eq!(
        stdout(&out).trim(),
        format!(
            "{}:{}",
            last["audit"]["seq"],
            last["audit"]["hash"].as_str().unwrap()
        )
    );
    assert_eq!(last["audit"]["seq"], printed.len());
    let out = lampart(&["audit", "verify", "--dir", audit], None);
    assert_eq!(out.status.code(), Some(0), "{}", stdout(&out));
    assert!(
        stdout(&out).starts_with(&format!("ok: {} records", printed.len())),
        "{}",
        stdout(&out)
    );
}

#[test]
fn a_co_process_gets_each_answer_while_its_input_stays_open() {
    let dir = tempfile::tempdir().unwrap();
    let config = write_config(dir.path());
    for format in ["json", "text"] {
        let mut child = spawn(
            None,
            &[
                "check",
                "--config",
                config.to_str().unwrap(),
                "--format",
                format,
                "-",
            ],
        );
        let mut stdin = child.stdin.take().unwrap();
        let lines = lines_of(child.stdout.take().unwrap());
        for i in 1..=3 {
            writeln!(stdin, "{}", payment(i)).unwrap();
            stdin.flush().unwrap();
            let line = lines
                .recv_timeout(GENEROUS)
                .unwrap_or_else(|e| panic!("{format}: no answer to request {i}: {e}"));
            assert!(line.contains(&format!("pay-{i}")), "{format}: {line}");
        }
        drop(stdin);
        let status = wait_promptly(&mut child, format);
        assert_eq!(status.code(), Some(0), "{}", rest_of_stderr(&mut child));
    }
}

#[test]
fn text_output_escapes_what_requests_and_plugins_say() {
    let dir = tempfile::tempdir().unwrap();
    let config = dir.path().join("chain.toml");
    std::fs::write(
        &config,
        format!(
            "[[step]]\nname = \"deny\"\nplugin = {}\nsettings = {{ mode = \"deny\", reason = \"no\\r\\u001b[32mALLOW\\u2028\\u202e\" }}\n",
            toml_path(&plugin("scripted-policy"))
        ),
    )
    .unwrap();
    let request = json!({
        "id": "pay-2\r\u{1b}[2K ALLOW",
        "principal": {"agent": "bot\nALLOW"},
        "action": {"tool": "send\u{9b}money"},
    });
    let out = lampart(
        &[
            "check",
            "--config",
            config.to_str().unwrap(),
            "--format",
            "text",
            "-",
        ],
        Some(&request.to_string()),
    );
    assert_eq!(out.status.code(), Some(1), "{}", stderr(&out));
    let text = stdout(&out);
    assert_eq!(text.lines().count(), 1, "{text:?}");
    let line = text.trim_end_matches('\n');
    assert!(
        line.starts_with("DENY    pay-2\\r\\x1b[2K ALLOW "),
        "{line:?}"
    );
    assert!(line.contains("bot\\nALLOW"), "{line:?}");
    assert!(line.contains("send\\u{9b}money"), "{line:?}");
    assert!(
        line.contains("no\\r\\x1b[32mALLOW\\u{2028}\\u{202e}"),
        "{line:?}"
    );
    assert!(
        !line
            .chars()
            .any(|c| c.is_control() || c == '\u{2028}' || c == '\u{202e}'),
        "{line:?}"
    );
}

#[test]
fn an_unknown_field_named_with_a_line_break_is_one_line_of_error() {
    let dir = tempfile::tempdir().unwrap();
    let config = write_config(dir.path());
    let request = r#"{"principal":{"agent":"a"},"action":{"tool":"t"},"x\nlampart: request stdin line 9: forged\r":1}"#;
    let out = lampart(
        &["check", "--config", config.to_str().unwrap(), "-"],
        Some(request),
    );
    assert_eq!(out.status.code(), Some(2));
    let err = stderr(&out);
    assert_eq!(err.lines().count(), 1, "{err:?}");
    assert!(
        err.contains("unknown field `x\\nlampart: request stdin line 9: forged\\r`"),
        "{err:?}"
    );
    let printed: Value = serde_json::from_str(stdout(&out).trim()).unwrap();
    let error = printed["error"].as_str().unwrap();
    assert!(
        error.contains("x\\nlampart") && !error.contains('\n'),
        "the JSON output says it the same way, on one line: {printed}"
    );
}

#[test]
fn a_bad_line_in_a_file_is_that_line_s_error_only() {
    let dir = tempfile::tempdir().unwrap();
    let config = write_config(dir.path());
    let file = dir.path().join("requests.jsonl");
    let mut bytes = b"\xef\xbb\xbf".to_vec();
    bytes.extend(payment(1).as_bytes());
    bytes.extend(b"\r\n{\"principal\":{\"agent\":\"\xff\"},\"action\":{\"tool\":\"t\"}}\n\n");
    bytes.extend(payment(2).as_bytes());
    bytes.push(b'\n');
    std::fs::write(&file, bytes).unwrap();
    let out = lampart(
        &[
            "check",
            "--config",
            config.to_str().unwrap(),
            file.to_str().unwrap(),
        ],
        None,
    );
    assert_eq!(out.status.code(), Some(2), "{}", stderr(&out));
    let printed: Vec<Value> = stdout(&out)
        .lines()
        .map(|l| serde_json::from_str(l).unwrap())
        .collect();
    assert_eq!(printed.len(), 3, "{printed:?}");
    assert_eq!(printed[0]["verdict"], "allow");
    assert_eq!(printed[1]["line"], 2);
    assert!(
        printed[1]["error"]
            .as_str()
            .unwrap()
            .ends_with("line 2: not UTF-8 text (invalid byte at offset 23)"),
        "{}",
        printed[1]
    );
    assert_eq!(printed[2]["verdict"], "allow");
    assert_eq!(printed[2]["audit"]["seq"], 2);
    assert_eq!(stderr(&out).lines().count(), 1, "{}", stderr(&out));
}

#[test]
fn a_request_file_must_be_a_regular_file() {
    let dir = tempfile::tempdir().unwrap();
    let config = write_config(dir.path());
    let fifo = dir.path().join("fifo");
    let made = Command::new("mkfifo").arg(&fifo).status().unwrap();
    assert!(made.success());
    for (path, kind) in [
        (Path::new("/dev/zero"), "a character device"),
        (fifo.as_path(), "a FIFO"),
    ] {
        let mut child = spawn(
            None,
            &[
                "check",
                "--config",
                config.to_str().unwrap(),
                path.to_str().unwrap(),
            ],
        );
        let status = wait_promptly(&mut child, kind);
        let err = rest_of_stderr(&mut child);
        assert_eq!(status.code(), Some(2), "{err}");
        assert_eq!(err.lines().count(), 1, "{err}");
        assert!(
            err.contains(&format!(
                "`{}`: not a regular file (it is {kind})",
                path.display()
            )),
            "{err}"
        );
    }
}

#[test]
fn workers_are_between_1_and_256() {
    let dir = tempfile::tempdir().unwrap();
    let config = write_config(dir.path());
    for workers in ["0", "257"] {
        let out = lampart(
            &[
                "check",
                "--config",
                config.to_str().unwrap(),
                "--workers",
                workers,
                "-",
            ],
            Some(&payment(1)),
        );
        assert_eq!(out.status.code(), Some(2));
        assert!(
            stderr(&out).contains(&format!("invalid value '{workers}' for '--workers")),
            "{}",
            stderr(&out)
        );
        assert!(stderr(&out).contains("1..=256"), "{}", stderr(&out));
    }
}

#[test]
fn more_warm_instances_than_the_default_pool_still_decide() {
    // 260 warm steps and 2 workers: at least 260 idle instances at once, past the default
    // pool of 256 live instances.
    let dir = tempfile::tempdir().unwrap();
    let config = dir.path().join("chain.toml");
    let policy = toml_path(&plugin("scripted-policy"));
    let steps: String = (0..260)
        .map(|i| {
            format!(
                "[[step]]\nname = \"s{i}\"\nplugin = {policy}\ninstance = \"warm\"\nsettings = {{ mode = \"allow\" }}\n"
            )
        })
        .collect();
    std::fs::write(&config, steps).unwrap();
    let input: String = (0..8).map(|i| payment(i) + "\n").collect();
    let out = lampart(
        &[
            "check",
            "--config",
            config.to_str().unwrap(),
            "--workers",
            "2",
            "-",
        ],
        Some(&input),
    );
    let printed: Vec<Value> = stdout(&out)
        .lines()
        .map(|l| serde_json::from_str(l).unwrap())
        .collect();
    assert_eq!(printed.len(), 8, "{}", stderr(&out));
    for decision in &printed {
        assert_eq!(decision["verdict"], "allow", "{}", decision["explanation"]);
    }
    assert_eq!(out.status.code(), Some(0), "{}", stderr(&out));
}

#[test]
fn a_closed_standard_error_does_not_stop_the_stream() {
    let dir = tempfile::tempdir().unwrap();
    let config = write_config(dir.path());
    let (reader, writer) = std::io::pipe().unwrap();
    drop(reader);
    let mut child = Command::new(env!("CARGO_BIN_EXE_lampart"))
        .args(["check", "--config", config.to_str().unwrap(), "-"])
        .env("LAMPART_CACHE_DIR", cache_dir())
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(writer)
        .spawn()
        .unwrap();
    let mut stdin = child.stdin.take().unwrap();
    writeln!(stdin, "not json\n{}", payment(1)).unwrap();
    drop(stdin);
    let out = child.wait_with_output().unwrap();
    assert_eq!(
        out.status.code(),
        Some(2),
        "errors win, and nothing panicked"
    );
    let printed: Vec<Value> = stdout(&out)
        .lines()
        .map(|l| serde_json::from_str(l).unwrap())
        .collect();
    assert_eq!(printed.len(), 2);
    assert_eq!(printed[0]["line"], 1);
    assert_eq!(printed[1]["verdict"], "allow");
}

#[test]
fn a_batch_the_audit_log_cannot_take_is_taken_back_whole() {
    let dir = tempfile::tempdir().unwrap();
    let config = write_config(dir.path());
    warm_cache(&config);
    // Thousands of requests at once: group commit writes them in large batches, and one of
    // them fails part of the way through.
    let requests: String = (0..4000).map(|i| payment(i) + "\n").collect();
    let file = dir.path().join("requests.jsonl");
    std::fs::write(&file, requests).unwrap();
    let mut child = spawn(
        Some("trap '' XFSZ; ulimit -f 512"),
        &[
            "check",
            "--config",
            config.to_str().unwrap(),
            file.to_str().unwrap(),
            "--workers",
            "2",
        ],
    );
    let out = BufReader::new(child.stdout.take().unwrap());
    let printed: Vec<Value> = out
        .lines()
        .map(|line| serde_json::from_str(&line.unwrap()).unwrap())
        .collect();
    let status = wait_promptly(&mut child, "a failed batch");
    let err = rest_of_stderr(&mut child);
    assert_eq!(status.code(), Some(2), "{err}");
    assert!(printed.len() < 4000, "the log must have filled up");
    // No recovery needed: the log opens and verifies as it is, with exactly what was printed.
    let audit = dir.path().join("audit");
    let audit = audit.to_str().unwrap();
    let out = lampart(&["audit", "verify", "--dir", audit], None);
    assert_eq!(
        out.status.code(),
        Some(0),
        "{}{}",
        stdout(&out),
        stderr(&out)
    );
    assert!(
        stdout(&out).starts_with(&format!("ok: {} records", printed.len())),
        "{} printed; {}",
        printed.len(),
        stdout(&out)
    );
}
