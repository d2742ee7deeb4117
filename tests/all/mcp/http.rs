//! `lampart serve` with `[[upstream]]`: agents reach MCP servers at `/mcp/{name}` over
//! Streamable HTTP, with their credentials.

use serde_json::{Value, json};
use tempfile::TempDir;

use super::harness::*;
use crate::serve::harness::{Server, audit_log, bearer, config, key};

/// The Rust SDK's client and server over HTTP, two upstreams behind one server: decisions,
/// redaction and taint as over stdio, the principal taken from the credential.
#[test]
fn rust_client_and_server() {
    let dir = TempDir::new().unwrap();
    let (mail_log, other_log) = (dir.path().join("mail.log"), dir.path().join("other.log"));
    let peer = rust_peer();
    let mail = HttpPeer::start(&[&peer], &mail_log);
    let other = HttpPeer::start(&[&peer], &other_log);
    let text_config = config(dir.path(), &chain(), "")
        + &upstream("mail", &mail.url, "30s")
        + &upstream("other", &other.url, "30s");
    let server = Server::start(dir.path(), &text_config);
    let base = format!("http://{}", server.addr);
    let alice = key("alice").0;

    runtime().block_on(async {
        let client = http_client(&format!("{base}/mcp/mail"), &alice).await;
        let hello = call(&client, "echo", json!({"text": "hello"}))
            .await
            .unwrap();
        assert_eq!(text(&hello), "hello");
        let secret = call(&client, "get_secret", json!({})).await.unwrap();
        assert_eq!(text(&secret), "the deploy key is [REDACTED:aws-key]");
        call(&client, "read_inbox", json!({})).await.unwrap();
        let after = call(
            &client,
            "send_email",
            json!({"to": "x@y.example", "subject": "s", "body": "b"}),
        )
        .await
        .unwrap();
        assert!(is_error(&after) && text(&after).contains("email:external"));

        // Another MCP session is another Lampart session: its labels start empty.
        let second = http_client(&format!("{base}/mcp/other"), &alice).await;
        let sent = call(
            &second,
            "send_email",
            json!({"to": "x@y.example", "subject": "s", "body": "b"}),
        )
        .await
        .unwrap();
        assert_eq!(text(&sent), "sent to x@y.example");
        client.cancel().await.unwrap();
        second.cancel().await.unwrap();
    });

    assert_eq!(
        peer_log(&mail_log),
        vec![
            json!({"tool": "echo", "args": {"text": "hello"}}),
            json!({"tool": "get_secret", "args": {}}),
            json!({"tool": "read_inbox", "args": {}}),
        ]
    );
    assert_eq!(peer_log(&other_log).len(), 1);
    let records = audit_log(&dir.path().join("audit"));
    let decisions: Vec<&Value> = records
        .iter()
        .filter(|r| r.get("verdict").is_some())
        .collect();
    assert!(
        decisions
            .iter()
            .all(|r| r["principal"]["agent"] == "alice" && r["credential"] == "alice-1")
    );
    let resources: std::collections::BTreeSet<&str> = decisions
        .iter()
        .filter_map(|r| r["resource"].as_str())
        .collect();
    assert_eq!(resources, ["mail", "other"].into_iter().collect());
}

/// No credential: 401 and nothing relayed; an operator credential naming no agent: 403; an
/// MCP session opened by one agent cannot be used with another's credential.
#[test]
fn credentials() {
    let dir = TempDir::new().unwrap();
    let log = dir.path().join("peer.log");
    let peer = HttpPeer::start(&[&rust_peer()], &log);
    let server = Server::start(
        dir.path(),
        &(config(dir.path(), &chain(), "") + &upstream("mail", &peer.url, "30s")),
    );
    let initialize = json!({
        "jsonrpc": "2.0", "id": 1, "method": "initialize",
        "params": {"protocolVersion": "2025-06-18", "capabilities": {}, "clientInfo": {"name": "t", "version": "1"}}
    })
    .to_string();
    let accept = (
        "accept".to_owned(),
        "application/json, text/event-stream".to_owned(),
    );
    let json_type = ("content-type".to_owned(), "application/json".to_owned());
    let anonymous = server.call(
        "POST",
        "/mcp/mail",
        &[accept.clone(), json_type.clone()],
        &initialize,
    );
    assert_eq!(anonymous.status, 401);
    assert!(anonymous.header("www-authenticate").is_some());
    let operator = server.call(
        "POST",
        "/mcp/mail",
        &[accept.clone(), json_type.clone(), bearer("operator")],
        &initialize,
    );
    assert_eq!(operator.status, 403);
    let unknown = server.call(
        "POST",
        "/mcp/nowhere",
        &[accept.clone(), json_type.clone(), bearer("alice")],
        &initialize,
    );
    assert_eq!(unknown.status, 404);

    let opened = server.call(
        "POST",
        "/mcp/mail",
        &[accept.clone(), json_type.clone(), bearer("alice")],
        &initialize,
    );
    assert_eq!(opened.status, 200, "{}", opened.body);
    let session = opened
        .header("mcp-session-id")
        .expect("a session id")
        .to_owned();
    let call = json!({
        "jsonrpc": "2.0", "id": 2, "method": "tools/call",
        "params": {"name": "echo", "arguments": {"text": "hijack"}}
    })
    .to_string();
    let hijack = server.call(
        "POST",
        "/mcp/mail",
        &[
            accept,
            json_type,
            bearer("bob"),
            ("mcp-session-id".to_owned(), session),
            ("mcp-protocol-version".to_owned(), "2025-06-18".to_owned()),
        ],
        &call,
    );
    let body = &hijack.body;
    assert!(
        body.contains("another credential"),
        "{} {body}",
        hijack.status
    );
    assert!(peer_log(&log).is_empty(), "nothing reached the server");
}

/// The Python SDK's client and server over HTTP, through `lampart serve`.
#[test]
fn python_client_and_server() {
    let Some(python) = python() else { return };
    let dir = TempDir::new().unwrap();
    let log = dir.path().join("peer.log");
    let script_path = python_script("peer_server.py");
    let peer = HttpPeer::start(&[python.as_path(), script_path.as_path()], &log);
    let server = Server::start(
        dir.path(),
        &(config(dir.path(), &chain(), "") + &upstream("mail", &peer.url, "30s")),
    );
    let target = vec![
        "--url".to_owned(),
        format!("http://{}/mcp/mail", server.addr),
        "--header".to_owned(),
        format!("Authorization: Bearer {}", key("alice").0),
    ];
    let answers = python_client(&python, &target, &script(), &[]);
    assert_eq!(answers[0]["initialized"]["server"], "python-mcp-peer");
    check_script(&answers, &peer_log(&log));
}

/// An upstream's `max-sessions`: one more MCP session is refused with 503 until one closes;
/// requests in open sessions go on.
#[test]
fn session_limit() {
    let dir = TempDir::new().unwrap();
    let log = dir.path().join("peer.log");
    let peer = HttpPeer::start(&[&rust_peer()], &log);
    let server = Server::start(
        dir.path(),
        &(config(dir.path(), &chain(), "")
            + &upstream("mail", &peer.url, "30s")
            + "max-sessions = 1\n"),
    );
    let base = format!("http://{}/mcp/mail", server.addr);
    runtime().block_on(async {
        let first = http_client(&base, &key("alice").0).await;
        let initialize = json!({
            "jsonrpc": "2.0", "id": 1, "method": "initialize",
            "params": {"protocolVersion": "2025-06-18", "capabilities": {}, "clientInfo": {"name": "t", "version": "1"}}
        })
        .to_string();
        let headers = [
            ("accept".to_owned(), "application/json, text/event-stream".to_owned()),
            ("content-type".to_owned(), "application/json".to_owned()),
            bearer("bob"),
        ];
        let second = server.call("POST", "/mcp/mail", &headers, &initialize);
        assert_eq!(second.status, 503, "{}", second.body);
        assert!(second.body.contains("too-many-sessions"));
        let still = call(&first, "echo", json!({"text": "still open"})).await.unwrap();
        assert_eq!(text(&still), "still open");
        first.cancel().await.unwrap();
    });
}
