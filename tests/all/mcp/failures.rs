//! The upstream failing, and bad input from the client: the agent gets a clear MCP error,
//! Lampart stays up, and the audit log says what happened.

use std::io::{BufRead, BufReader, Write};
use std::process::Stdio;

use serde_json::{Value, json};
use tempfile::TempDir;

use super::harness::*;
use crate::serve::harness::{Server, audit_log, config, key};

/// A stdio server that dies mid-call: the call gets an error, the next call starts the
/// server again and works, and the failure is recorded.
#[test]
fn stdio_server_crash() {
    let dir = TempDir::new().unwrap();
    let config = stdio_config(dir.path(), "30s");
    let log = dir.path().join("peer.log");
    let peer = rust_peer();
    runtime().block_on(async {
        let client = stdio_client(proxy_command(&config, &log, &[&peer])).await;
        let crashed = call(&client, "crash", json!({})).await.unwrap_err();
        assert!(crashed.contains("closed the connection"), "{crashed}");
        let again = call(&client, "echo", json!({"text": "still here"}))
            .await
            .unwrap();
        assert_eq!(text(&again), "still here");
        client.cancel().await.unwrap();
    });
    let records = audit_log(&dir.path().join("audit"));
    let failure = records
        .iter()
        .find(|r| r["event"] == "mcp.upstream-error")
        .expect("the failure is recorded");
    assert_eq!(failure["method"], "tools/call");
    assert!(
        failure["error"]
            .as_str()
            .unwrap()
            .contains("closed the connection")
    );
}

/// A server slower than the upstream's timeout: an error naming the wait, and the session
/// goes on.
#[test]
fn slow_server() {
    let dir = TempDir::new().unwrap();
    let config = stdio_config(dir.path(), "1s");
    let log = dir.path().join("peer.log");
    let peer = rust_peer();
    runtime().block_on(async {
        let client = stdio_client(proxy_command(&config, &log, &[&peer])).await;
        let slow = call(&client, "slow", json!({"ms": 5000}))
            .await
            .unwrap_err();
        assert!(slow.contains("did not answer within 1s"), "{slow}");
        let quick = call(&client, "slow", json!({"ms": 1})).await.unwrap();
        assert_eq!(text(&quick), "slept 1 ms");
        client.cancel().await.unwrap();
    });
    assert!(
        audit_log(&dir.path().join("audit"))
            .iter()
            .any(|r| r["event"] == "mcp.upstream-error"
                && r["error"].as_str().unwrap().contains("did not answer"))
    );
}

/// Malformed JSON-RPC from the client: an error for that message (or nothing, for a line
/// that is not JSON-RPC at all), and the requests after it are answered.
#[test]
fn malformed_client_messages() {
    let dir = TempDir::new().unwrap();
    let config = stdio_config(dir.path(), "30s");
    let log = dir.path().join("peer.log");
    let peer = rust_peer();
    let mut command = std::process::Command::new(env!("CARGO_BIN_EXE_lampart"));
    command
        .args(["mcp", "--config"])
        .arg(&config)
        .arg("--")
        .arg(&peer)
        .env("MCP_PEER_LOG", &log)
        .env("LAMPART_CACHE_DIR", crate::support::cache_dir())
        .env("RUST_LOG", "error")
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::null());
    let mut child = command.spawn().unwrap();
    let mut stdin = child.stdin.take().unwrap();
    let mut stdout = BufReader::new(child.stdout.take().unwrap());
    let mut send = |line: &str| writeln!(stdin, "{line}").unwrap();
    let mut answer = || {
        let mut line = String::new();
        stdout.read_line(&mut line).unwrap();
        serde_json::from_str::<Value>(&line).unwrap_or_else(|e| panic!("{line:?}: {e}"))
    };
    send(&json!({"jsonrpc": "2.0", "id": 1, "method": "initialize", "params": {
        "protocolVersion": "2025-06-18", "capabilities": {}, "clientInfo": {"name": "raw", "version": "1"}}}).to_string());
    assert_eq!(answer()["id"], 1);
    send(r#"{"jsonrpc":"2.0","method":"notifications/initialized"}"#);
    send("this is not json");
    send(r#"{"jsonrpc":"2.0","id":2,"method":"tools/call","params":"not an object"}"#);
    send(r#"{"jsonrpc":"2.0","id":3,"method":"no/such/method","params":{}}"#);
    send(
        &json!({"jsonrpc": "2.0", "id": 4, "method": "tools/call",
        "params": {"name": "echo", "arguments": {"text": "after the noise"}}})
        .to_string(),
    );
    let mut answers = std::collections::BTreeMap::new();
    while answers.len() < 3 {
        let message = answer();
        if let Some(id) = message["id"].as_i64() {
            answers.insert(id, message);
        }
    }
    assert!(
        answers[&2]["error"]["message"].is_string(),
        "{}",
        answers[&2]
    );
    assert!(answers[&3]["error"]["code"].is_i64(), "{}", answers[&3]);
    assert_eq!(
        answers[&4]["result"]["content"][0]["text"],
        "after the noise"
    );
    drop(stdin);
    let status = child.wait().unwrap();
    assert!(status.success(), "{status}");
    assert_eq!(
        peer_log(&log),
        vec![json!({"tool": "echo", "args": {"text": "after the noise"}})]
    );
}

/// An HTTP upstream that is down, then goes down mid-session: clear errors, the service
/// stays up and serves other routes, and the failures are recorded.
#[test]
fn http_upstream_down() {
    let dir = TempDir::new().unwrap();
    let log = dir.path().join("peer.log");
    let mut peer = HttpPeer::start(&[&rust_peer()], &log);
    // A port nothing listens on: bound, then released.
    let closed = std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap();
    let text_config = config(dir.path(), &chain(), "")
        + &upstream("mail", &peer.url, "5s")
        + &upstream("gone", &format!("http://{closed}/mcp"), "5s");
    let server = Server::start(dir.path(), &text_config);
    let base = format!("http://{}", server.addr);
    let alice = key("alice").0;
    runtime().block_on(async {
        use rmcp::ServiceExt;
        use rmcp::transport::StreamableHttpClientTransport;
        use rmcp::transport::streamable_http_client::StreamableHttpClientTransportConfig;
        lampart::mcp::upstream::install_crypto_provider();
        let config = StreamableHttpClientTransportConfig::with_uri(format!("{base}/mcp/gone"))
            .auth_header(alice.clone());
        let refused = ().serve(StreamableHttpClientTransport::from_config(config)).await;
        let message = format!("{:?}", refused.map(|_| ()).expect_err("initialize fails"));
        assert!(message.contains("unavailable"), "{message}");

        let client = http_client(&format!("{base}/mcp/mail"), &alice).await;
        assert_eq!(
            text(&call(&client, "echo", json!({"text": "up"})).await.unwrap()),
            "up"
        );
        peer.kill();
        let down = call(&client, "echo", json!({"text": "down"}))
            .await
            .unwrap_err();
        assert!(
            down.contains("unavailable") || down.contains("closed"),
            "{down}"
        );
        client.cancel().await.unwrap();
    });
    assert_eq!(server.call("GET", "/healthz", &[], "").status, 200);
    let events: Vec<Value> = audit_log(&dir.path().join("audit"))
        .into_iter()
        .filter(|r| r["event"] == "mcp.upstream-error")
        .collect();
    assert!(
        events
            .iter()
            .any(|e| e["upstream"] == "gone" && e["method"] == "initialize"),
        "{events:?}"
    );
    assert!(
        events
            .iter()
            .any(|e| e["upstream"] == "mail" && e["method"] == "tools/call"),
        "{events:?}"
    );
}

/// Malformed JSON-RPC from the server: the call it answered badly gets an error, and the
/// session goes on.
#[test]
fn malformed_server_messages() {
    let dir = TempDir::new().unwrap();
    let config = stdio_config(dir.path(), "3s");
    let log = dir.path().join("peer.log");
    let python = std::path::PathBuf::from("python3");
    let script = python_script("malformed_server.py");
    runtime().block_on(async {
        let client = stdio_client(proxy_command(
            &config,
            &log,
            &[python.as_path(), script.as_path()],
        ))
        .await;
        let bad = call(&client, "echo", json!({"text": "first"}))
            .await
            .unwrap_err();
        assert!(
            bad.contains("did not answer") || bad.contains("something else"),
            "{bad}"
        );
        let good = call(&client, "echo", json!({"text": "second"}))
            .await
            .unwrap();
        assert_eq!(text(&good), "second");
        client.cancel().await.unwrap();
    });
    assert!(
        audit_log(&dir.path().join("audit"))
            .iter()
            .any(|r| r["event"] == "mcp.upstream-error")
    );
}
