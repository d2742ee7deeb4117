//! Bad input gets a 4xx (or 503) naming what is wrong, the server is unaffected, and nothing
//! reaches the audit log.

use std::io::{Read, Write};
use std::net::TcpStream;
use std::time::Duration;

use serde_json::json;

use super::harness::{Server, audit_records, bearer, config, parse_answer, taint_chain};

fn json_headers() -> Vec<(String, String)> {
    vec![
        ("content-type".into(), "application/json".into()),
        bearer("alice"),
    ]
}

#[test]
fn malformed_requests_get_a_4xx_naming_the_problem() {
    let dir = tempfile::tempdir().unwrap();
    let server = Server::start(
        dir.path(),
        &config(dir.path(), &taint_chain(), "max-body = \"4 KiB\""),
    );
    let post =
        |headers: &[(String, String)], body: &str| server.call("POST", "/v1/decide", headers, body);
    type Headers = Vec<(String, String)>;
    let cases: Vec<(Headers, String, u16, &str)> = vec![
        (json_headers(), "{not json".into(), 400, "not valid JSON"),
        (
            json_headers(),
            r#"{"action": {"tool": "x"}, "colour": 1}"#.into(),
            400,
            "colour",
        ),
        (
            json_headers(),
            r#"{"action": {"tool": "x", "args": []}}"#.into(),
            400,
            "args",
        ),
        (
            json_headers(),
            r#"{"action": {"tool": "x"}, "action": {"tool": "y"}}"#.into(),
            400,
            "action",
        ),
        (json_headers(), "[1, 2]".into(), 400, "object"),
        (
            json_headers(),
            format!(
                r#"{{"action": {{"tool": "x", "args": {{"pad": "{}"}}}}}}"#,
                "a".repeat(5000)
            ),
            413,
            "4096",
        ),
        (
            vec![
                ("content-type".into(), "text/plain".into()),
                bearer("alice"),
            ],
            "{}".into(),
            415,
            "text/plain",
        ),
        (vec![bearer("alice")], "{}".into(), 415, "content type"),
    ];
    for (headers, body, status, mentions) in cases {
        let answer = post(&headers, &body);
        assert_eq!(answer.status, status, "{body:.80}: {}", answer.body);
        let error = answer.json()["error"].as_str().unwrap().to_owned();
        assert!(error.contains(mentions), "{status}: {error}");
        assert!(!error.contains('\n'));
    }
    assert_eq!(server.call("GET", "/v1/nowhere", &[], "").status, 404);
    assert_eq!(
        server.call("GET", "/v1/decide", &json_headers(), "").status,
        405
    );
    // Still serving, and nothing was recorded.
    let ok = server.decide(Some("alice"), &json!({"action": {"tool": "read_inbox"}}));
    assert_eq!(ok.status, 200, "{}", ok.body);
    assert_eq!(server.stop().code(), Some(0));
    assert_eq!(audit_records(&dir.path().join("audit")), 1);
}

#[test]
fn batches_answer_line_by_line() {
    let dir = tempfile::tempdir().unwrap();
    let server = Server::start(dir.path(), &config(dir.path(), &taint_chain(), ""));
    let body = [
        json!({"action": {"tool": "send_email"}}).to_string(),
        "{broken".to_owned(),
        String::new(),
        json!({"principal": {"agent": "bob"}, "action": {"tool": "send_email"}}).to_string(),
        json!({"action": {"tool": "delete_everything"}}).to_string(),
    ]
    .join("\n");
    let answer = server.call(
        "POST",
        "/v1/decide/batch",
        &[
            ("content-type".into(), "application/x-ndjson".into()),
            bearer("alice"),
        ],
        &body,
    );
    assert_eq!(answer.status, 200, "{}", answer.body);
    let lines: Vec<serde_json::Value> = answer
        .body
        .lines()
        .map(|l| serde_json::from_str(l).unwrap())
        .collect();
    assert_eq!(lines.len(), 4, "{}", answer.body);
    assert_eq!(lines[0]["verdict"], "allow");
    assert_eq!(
        (lines[1]["line"].as_u64(), lines[1]["status"].as_u64()),
        (Some(2), Some(400))
    );
    assert_eq!(
        (lines[2]["line"].as_u64(), lines[2]["status"].as_u64()),
        (Some(4), Some(403))
    );
    assert_eq!(lines[3]["verdict"], "deny");
    assert_eq!(server.stop().code(), Some(0));
    assert_eq!(audit_records(&dir.path().join("audit")), 2);
}

/// Deadline tests: these depend on the clock by nature.
#[test]
fn half_sent_and_slow_requests_time_out_without_harm() {
    let dir = tempfile::tempdir().unwrap();
    let server = Server::start(
        dir.path(),
        &config(
            dir.path(),
            &taint_chain(),
            "header-timeout = \"1s\"\nrequest-timeout = \"2s\"",
        ),
    );
    // A body that never completes: 408 once the request deadline passes.
    let mut half = TcpStream::connect(server.addr).unwrap();
    half.set_read_timeout(Some(Duration::from_secs(30)))
        .unwrap();
    let (name, value) = bearer("alice");
    write!(
        half,
        "POST /v1/decide HTTP/1.1\r\nhost: x\r\ncontent-type: application/json\r\n{name}: {value}\r\ncontent-length: 100\r\n\r\n{{\"action\""
    )
    .unwrap();
    let mut raw = Vec::new();
    let _ = half.read_to_end(&mut raw);
    let answer = parse_answer(&raw);
    assert_eq!(answer.status, 408, "{}", answer.body);

    // Headers that never complete: the connection is closed.
    let mut slow = TcpStream::connect(server.addr).unwrap();
    slow.set_read_timeout(Some(Duration::from_secs(30)))
        .unwrap();
    slow.write_all(b"POST /v1/decide HTTP/1.1\r\nhost: x\r\n")
        .unwrap();
    let mut raw = Vec::new();
    let _ = slow.read_to_end(&mut raw);
    let text = String::from_utf8_lossy(&raw);
    assert!(raw.is_empty() || text.starts_with("HTTP/1.1 408"), "{text}");

    let ok = server.decide(Some("alice"), &json!({"action": {"tool": "read_inbox"}}));
    assert_eq!(ok.status, 200, "{}", ok.body);
    assert_eq!(server.stop().code(), Some(0));
    assert_eq!(audit_records(&dir.path().join("audit")), 1);
}

#[test]
fn a_connection_beyond_the_limit_gets_503_and_the_others_are_unaffected() {
    let dir = tempfile::tempdir().unwrap();
    let server = Server::start(
        dir.path(),
        &config(
            dir.path(),
            &taint_chain(),
            "max-connections = 2
header-timeout = \"10m\"",
        ),
    );
    // Connections are accepted in order: these two hold both places.
    let mut idle: Vec<TcpStream> = (0..2)
        .map(|_| TcpStream::connect(server.addr).unwrap())
        .collect();
    let mut extra = TcpStream::connect(server.addr).unwrap();
    extra
        .set_read_timeout(Some(Duration::from_secs(30)))
        .unwrap();
    let mut raw = Vec::new();
    let _ = extra.read_to_end(&mut raw);
    let answer = parse_answer(&raw);
    assert_eq!(answer.status, 503, "{}", answer.body);
    assert!(
        answer.json()["error"]
            .as_str()
            .unwrap()
            .contains("too many connections")
    );
    // A held connection still gets its answer.
    let (name, value) = bearer("alice");
    let body = json!({"action": {"tool": "read_inbox"}}).to_string();
    write!(
        idle[0],
        "POST /v1/decide HTTP/1.1\r\nhost: x\r\nconnection: close\r\ncontent-type: application/json\r\n{name}: {value}\r\ncontent-length: {}\r\n\r\n{body}",
        body.len()
    )
    .unwrap();
    let mut raw = Vec::new();
    idle[0].read_to_end(&mut raw).unwrap();
    assert_eq!(parse_answer(&raw).status, 200);
    drop(idle);

    let ok = server.decide(Some("alice"), &json!({"action": {"tool": "read_inbox"}}));
    assert_eq!(ok.status, 200, "{}", ok.body);
    assert_eq!(server.stop().code(), Some(0));
    assert_eq!(audit_records(&dir.path().join("audit")), 2);
}
