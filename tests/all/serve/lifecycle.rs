//! Health, readiness, metrics, TLS, and a graceful stop that loses nothing.

use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};

use serde_json::json;

use super::harness::{Server, audit_log, config, taint_chain};

#[test]
fn health_readiness_and_metrics() {
    let dir = tempfile::tempdir().unwrap();
    let server = Server::start(dir.path(), &config(dir.path(), &taint_chain(), ""));
    assert_eq!(
        server.call("GET", "/healthz", &[], "").json()["status"],
        "ok"
    );
    let ready = server.call("GET", "/readyz", &[], "");
    assert_eq!(ready.status, 200, "{}", ready.body);
    assert_eq!(ready.json()["audit"], "ok");
    assert_eq!(ready.json()["state"], "ok");
    assert_eq!(ready.json()["revision"], server.revision.as_str());
    for tool in ["read_inbox", "rm_rf"] {
        server.decide(Some("alice"), &json!({"action": {"tool": tool}}));
    }
    server.decide(None, &json!({"action": {"tool": "x"}}));
    let metrics = server.call("GET", "/metrics", &[], "").body;
    for expected in [
        "lampart_decisions_total{verdict=\"allow\",chain=\"service-test\",phase=\"request\"} 1",
        "lampart_decisions_total{verdict=\"deny\",chain=\"service-test\",phase=\"request\"} 1",
        "lampart_step_outcomes_total{step=\"rules\",outcome=\"allow\"} 1",
        "lampart_decision_seconds_bucket",
        "lampart_step_fuel_bucket{le=",
        "lampart_audit_commit_seconds_bucket",
        "lampart_audit_queued 0",
        "lampart_http_requests_total{route=\"/v1/decide\",status=\"200\"} 2",
        "lampart_http_requests_total{route=\"/v1/decide\",status=\"401\"} 1",
        "lampart_auth_failures_total{reason=",
    ] {
        assert!(metrics.contains(expected), "no `{expected}` in\n{metrics}");
    }
    assert_eq!(server.stop().code(), Some(0));
}

#[test]
fn sigterm_finishes_what_is_in_flight_and_the_log_verifies() {
    let dir = tempfile::tempdir().unwrap();
    let server = Arc::new(Server::start(
        dir.path(),
        &config(dir.path(), &taint_chain(), ""),
    ));
    let answered = Arc::new(AtomicUsize::new(0));
    let clients: Vec<_> = (0..4)
        .map(|_| {
            let (server, answered) = (Arc::clone(&server), Arc::clone(&answered));
            std::thread::spawn(move || {
                for _ in 0..50 {
                    let answer = std::panic::catch_unwind(|| {
                        server.decide(Some("alice"), &json!({"action": {"tool": "read_inbox"}}))
                    });
                    match answer {
                        Ok(answer) if answer.status == 200 => {
                            answered.fetch_add(1, Ordering::Relaxed);
                        }
                        // Refused or cut off once the server stops: not an answered decision.
                        _ => break,
                    }
                }
            })
        })
        .collect();
    while answered.load(Ordering::Relaxed) < 20 {
        std::thread::yield_now();
    }
    server.signal("TERM");
    for client in clients {
        client.join().unwrap();
    }
    let server = Arc::into_inner(server).unwrap();
    assert_eq!(server.stop_after_signal().code(), Some(0));
    // Every answered decision is in the log, and the log verifies.
    let records = audit_log(&dir.path().join("audit"));
    assert!(
        records.len() >= answered.load(Ordering::Relaxed),
        "{} < {}",
        records.len(),
        answered.load(Ordering::Relaxed)
    );
    let verify = crate::support::lampart(
        &[
            "audit",
            "verify",
            "--dir",
            dir.path().join("audit").to_str().unwrap(),
        ],
        None,
    );
    assert!(
        verify.status.success(),
        "{}",
        crate::support::stderr(&verify)
    );
}

#[test]
fn serves_https_with_the_configured_certificate() {
    let dir = tempfile::tempdir().unwrap();
    let (cert, key) = (dir.path().join("cert.pem"), dir.path().join("key.pem"));
    let made = std::process::Command::new("openssl")
        .args([
            "req",
            "-x509",
            "-newkey",
            "ec",
            "-pkeyopt",
            "ec_paramgen_curve:prime256v1",
            "-nodes",
            "-days",
            "1",
            "-subj",
            "/CN=localhost",
            "-addext",
            "subjectAltName=IP:127.0.0.1",
        ])
        .arg("-keyout")
        .arg(&key)
        .arg("-out")
        .arg(&cert)
        .output();
    let curl = std::process::Command::new("curl").arg("--version").output();
    if !matches!(&made, Ok(out) if out.status.success()) || curl.is_err() {
        eprintln!("SKIPPED: openssl or curl not available to make a certificate and call over TLS");
        return;
    }
    let tls = "[server.tls]\ncert-file = \"cert.pem\"\nkey-file = \"key.pem\"";
    let text = config(dir.path(), &taint_chain(), "").replace(
        "[server]\nwatch = false\n",
        &format!("[server]\nwatch = false\n{tls}\n"),
    );
    let server = Server::start(dir.path(), &text);
    let (name, value) = super::harness::bearer("alice");
    let out = std::process::Command::new("curl")
        .args(["-sS", "--cacert"])
        .arg(&cert)
        .args([
            "-H",
            "content-type: application/json",
            "-H",
            &format!("{name}: {value}"),
        ])
        .args(["--data", r#"{"action": {"tool": "read_inbox"}}"#])
        .arg(format!(
            "https://127.0.0.1:{}/v1/decide",
            server.addr.port()
        ))
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let answer: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(answer["verdict"], "allow");
    // Plain HTTP to the TLS port gets nothing decided.
    let plain = std::net::TcpStream::connect(server.addr).map(|mut s| {
        use std::io::{Read, Write};
        let _ = s.write_all(b"GET /healthz HTTP/1.1\r\nhost: x\r\n\r\n");
        let mut buf = Vec::new();
        let _ = s.read_to_end(&mut buf);
        buf
    });
    assert!(!String::from_utf8_lossy(&plain.unwrap()).contains("\"ok\""));
    assert_eq!(server.stop().code(), Some(0));
}

#[test]
fn killed_mid_load_it_restarts_with_sessions_and_log_intact() {
    let dir = tempfile::tempdir().unwrap();
    let text = config(dir.path(), &taint_chain(), "");
    let server = Arc::new(Server::start(dir.path(), &text));
    // Taint one session before the load.
    let read = json!({"phase": "response", "principal": {"session": "kept"},
        "action": {"tool": "read_inbox"}, "output": {"text": "a web page"}});
    assert_eq!(
        server.decide(Some("alice"), &read).json()["labels"],
        json!(["untrusted-content"])
    );
    let answered = Arc::new(AtomicUsize::new(0));
    let clients: Vec<_> = (0..4)
        .map(|i| {
            let (server, answered) = (Arc::clone(&server), Arc::clone(&answered));
            std::thread::spawn(move || {
                let body = json!({"phase": "response", "principal": {"session": format!("load-{i}")},
                    "action": {"tool": "read_inbox"}, "output": {"text": "page"}});
                loop {
                    let answer = std::panic::catch_unwind(|| server.decide(Some("alice"), &body));
                    match answer {
                        Ok(answer) if answer.status == 200 => {
                            answered.fetch_add(1, Ordering::Relaxed);
                        }
                        _ => break,
                    }
                }
            })
        })
        .collect();
    while answered.load(Ordering::Relaxed) < 50 {
        std::thread::yield_now();
    }
    server.signal("KILL");
    for client in clients {
        client.join().unwrap();
    }
    let server = Arc::into_inner(server).unwrap();
    let _ = server.stop_after_signal();

    // Every answered decision was durable: the log holds at least as many, and verifies.
    let records = audit_log(&dir.path().join("audit"));
    assert!(records.len() > answered.load(Ordering::Relaxed));
    let verify = crate::support::lampart(
        &[
            "audit",
            "verify",
            "--dir",
            dir.path().join("audit").to_str().unwrap(),
        ],
        None,
    );
    assert!(
        verify.status.success(),
        "{}",
        crate::support::stderr(&verify)
    );
    // It restarts on the same state and log, and the session is still tainted.
    let server = Server::start_file(&dir.path().join("chain.toml"), &[]).unwrap();
    let send = json!({"principal": {"session": "kept"}, "action": {"tool": "send_email"}});
    assert_eq!(
        server.decide(Some("alice"), &send).json()["verdict"],
        "elevation-required"
    );
    for i in 0..4 {
        let seen = server.operator("GET", &format!("/v1/sessions/load-{i}"));
        assert_eq!(
            seen.json()["labels"],
            json!(["untrusted-content"]),
            "{}",
            seen.body
        );
    }
    assert_eq!(server.stop().code(), Some(0));
}
