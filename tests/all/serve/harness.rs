//! A `lampart serve` process for one test, and a minimal HTTP/1.1 client that can also send
//! what a real client never would (half requests, slow headers).

use std::io::{BufRead, BufReader, Read, Write};
use std::net::{SocketAddr, TcpStream};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::Duration;

use serde_json::Value;

use crate::support::{cache_dir, plugin, toml_path};

/// A key for tests: `lpk_` + 43 base64url characters (32 bytes), and its config hash.
pub fn key(name: &str) -> (String, String) {
    // Hex digits are base64url digits; a last digit `A` keeps the unused low bits zero.
    let secret = format!(
        "lpk_{}A",
        &blake3::hash(name.as_bytes()).to_hex().as_str()[..42]
    );
    let hash = format!("blake3:{}", blake3::hash(secret.as_bytes()).to_hex());
    (secret, hash)
}

/// `[[auth.key]]` entries for agents `alice` (finance) and `bob` (support) and an operator.
pub fn auth_section() -> String {
    let (_, alice) = key("alice");
    let (_, bob) = key("bob");
    let (_, op) = key("operator");
    format!(
        "[[auth.key]]\nid = \"alice-1\"\nhash = \"{alice}\"\nagent = \"alice\"\nroles = [\"finance\"]\n\n\
         [[auth.key]]\nid = \"bob-1\"\nhash = \"{bob}\"\nagent = \"bob\"\nroles = [\"support\"]\n\n\
         [[auth.key]]\nid = \"ops-1\"\nhash = \"{op}\"\noperator = true\n"
    )
}

/// The bearer header of a test key.
pub fn bearer(name: &str) -> (String, String) {
    ("authorization".into(), format!("Bearer {}", key(name).0))
}

/// A chain for the service tests: an inspector that labels every response
/// `untrusted-content`, and tool-rules: `send_email` needs scope `email:external` once the
/// session carries that label; `read_inbox` and `send_email` are allowed otherwise; the rest
/// is denied.
pub fn taint_chain() -> String {
    format!(
        r#"[chain]
name = "service-test"

[[step]]
name = "web-content"
plugin = {inspector}
applies-to = {{ phases = ["response"] }}
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
name = "mail"
tools = ["send_email", "read_inbox"]
effect = "allow"
"#,
        inspector = toml_path(&plugin("scripted-inspector")),
        rules = toml_path(&plugin("tool-rules")),
    )
}

/// A running `lampart serve`; killed when dropped.
pub struct Server {
    child: Option<Child>,
    /// Where it listens.
    pub addr: SocketAddr,
    /// The revision it printed when it started.
    pub revision: String,
    /// The config file.
    pub config: PathBuf,
}

impl Server {
    /// Writes `config` as `chain.toml` in `dir` and starts the service on it.
    pub fn start(dir: &Path, config: &str) -> Server {
        Server::try_start(dir, config, &[]).unwrap_or_else(|e| panic!("{e}"))
    }

    /// Starts the service; the error is its standard error when it did not start.
    pub fn try_start(dir: &Path, config: &str, extra: &[&str]) -> Result<Server, String> {
        let path = dir.join("chain.toml");
        std::fs::write(&path, config).unwrap();
        Server::start_file(&path, extra)
    }

    /// Starts the service on an existing config file.
    pub fn start_file(path: &Path, extra: &[&str]) -> Result<Server, String> {
        let mut child = Command::new(env!("CARGO_BIN_EXE_lampart"))
            .arg("serve")
            .arg("--config")
            .arg(path)
            .args(["--listen", "127.0.0.1:0"])
            .args(extra)
            .env("LAMPART_CACHE_DIR", cache_dir())
            .env("RUST_LOG", "warn")
            .stdin(Stdio::null())
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .spawn()
            .expect("lampart serve starts");
        let stdout = child.stdout.take().unwrap();
        let mut line = String::new();
        BufReader::new(stdout).read_line(&mut line).unwrap();
        if line.is_empty() {
            let mut err = String::new();
            child
                .stderr
                .take()
                .unwrap()
                .read_to_string(&mut err)
                .unwrap();
            let _ = child.wait();
            return Err(err);
        }
        let ready: Value = serde_json::from_str(&line).expect("a JSON line when listening");
        let url = ready["listening"].as_str().unwrap();
        let addr = url.rsplit("//").next().unwrap().parse().unwrap();
        // Keep standard error drained so a chatty server never blocks on it.
        let mut stderr = child.stderr.take().unwrap();
        std::thread::spawn(move || {
            let mut sink = Vec::new();
            let _ = stderr.read_to_end(&mut sink);
        });
        Ok(Server {
            child: Some(child),
            addr,
            revision: ready["revision"].as_str().unwrap().to_owned(),
            config: path.to_path_buf(),
        })
    }

    /// Sends one request and reads the answer.
    pub fn call(
        &self,
        method: &str,
        path: &str,
        headers: &[(String, String)],
        body: &str,
    ) -> Answer {
        call(self.addr, method, path, headers, body)
    }

    /// `POST /v1/decide` as `who` (a key name, or no credential).
    pub fn decide(&self, who: Option<&str>, body: &Value) -> Answer {
        let mut headers = vec![("content-type".to_owned(), "application/json".to_owned())];
        headers.extend(who.map(bearer));
        self.call("POST", "/v1/decide", &headers, &body.to_string())
    }

    /// An operator's call.
    pub fn operator(&self, method: &str, path: &str) -> Answer {
        self.call(method, path, &[bearer("operator")], "")
    }

    /// Sends a signal to the process.
    pub fn signal(&self, signal: &str) {
        let pid = self.child.as_ref().unwrap().id().to_string();
        let status = Command::new("kill")
            .args(["-s", signal, &pid])
            .status()
            .unwrap();
        assert!(status.success());
    }

    /// Stops it with SIGTERM and returns its exit status.
    pub fn stop(self) -> std::process::ExitStatus {
        self.signal("TERM");
        self.stop_after_signal()
    }

    /// Waits for it to exit (after a signal sent before) and returns its exit status.
    pub fn stop_after_signal(mut self) -> std::process::ExitStatus {
        self.child.take().unwrap().wait().unwrap()
    }
}

impl Drop for Server {
    fn drop(&mut self) {
        if let Some(mut child) = self.child.take() {
            let _ = child.kill();
            let _ = child.wait();
        }
    }
}

/// An HTTP answer.
#[derive(Debug)]
pub struct Answer {
    /// The status code.
    pub status: u16,
    /// Header lines, lowercased names.
    pub headers: Vec<(String, String)>,
    /// The body.
    pub body: String,
}

impl Answer {
    /// The body as JSON.
    pub fn json(&self) -> Value {
        serde_json::from_str(&self.body)
            .unwrap_or_else(|e| panic!("not JSON ({e}): {} {}", self.status, self.body))
    }

    /// A header's value.
    pub fn header(&self, name: &str) -> Option<&str> {
        self.headers
            .iter()
            .find(|(n, _)| n == name)
            .map(|(_, v)| v.as_str())
    }
}

/// One request on a new connection (`connection: close`).
pub fn call(
    addr: SocketAddr,
    method: &str,
    path: &str,
    headers: &[(String, String)],
    body: &str,
) -> Answer {
    let mut stream = TcpStream::connect(addr).unwrap();
    stream
        .set_read_timeout(Some(Duration::from_secs(60)))
        .unwrap();
    let mut request = format!(
        "{method} {path} HTTP/1.1\r\nhost: {addr}\r\nconnection: close\r\ncontent-length: {}\r\n",
        body.len()
    );
    for (name, value) in headers {
        request.push_str(&format!("{name}: {value}\r\n"));
    }
    request.push_str("\r\n");
    request.push_str(body);
    stream.write_all(request.as_bytes()).unwrap();
    read_answer(&mut stream)
}

/// Reads one answer from a connection closed by the server after it.
pub fn read_answer(stream: &mut TcpStream) -> Answer {
    let mut raw = Vec::new();
    let _ = stream.read_to_end(&mut raw);
    parse_answer(&raw)
}

/// Parses a whole HTTP/1.1 answer (content-length bodies only).
pub fn parse_answer(raw: &[u8]) -> Answer {
    let text = String::from_utf8_lossy(raw);
    let (head, body) = text
        .split_once("\r\n\r\n")
        .unwrap_or_else(|| panic!("no complete HTTP answer: {text:?}"));
    let mut lines = head.split("\r\n");
    let status = lines
        .next()
        .unwrap()
        .split(' ')
        .nth(1)
        .unwrap()
        .parse()
        .unwrap();
    let headers = lines
        .filter_map(|l| l.split_once(':'))
        .map(|(n, v)| (n.trim().to_ascii_lowercase(), v.trim().to_owned()))
        .collect();
    Answer {
        status,
        headers,
        body: body.to_owned(),
    }
}

/// The number of records in an audit log directory.
pub fn audit_records(dir: &Path) -> usize {
    let Ok(entries) = std::fs::read_dir(dir) else {
        return 0;
    };
    entries
        .filter_map(Result::ok)
        .filter(|e| e.file_name().to_string_lossy().ends_with(".jsonl"))
        .map(|e| {
            std::fs::read_to_string(e.path())
                .unwrap()
                .lines()
                .filter(|l| !l.is_empty())
                .count()
        })
        .sum()
}

/// The records of an audit log directory, in order.
pub fn audit_log(dir: &Path) -> Vec<Value> {
    let mut files: Vec<PathBuf> = std::fs::read_dir(dir)
        .unwrap()
        .filter_map(Result::ok)
        .map(|e| e.path())
        .filter(|p| p.extension().is_some_and(|x| x == "jsonl"))
        .collect();
    files.sort();
    files
        .iter()
        .flat_map(|f| {
            std::fs::read_to_string(f)
                .unwrap()
                .lines()
                .map(|l| serde_json::from_str(l).unwrap())
                .collect::<Vec<Value>>()
        })
        .collect()
}

/// A config with the service sections: the chain, `[auth]` with the test keys, state and
/// audit under `dir`.
pub fn config(dir: &Path, chain: &str, server: &str) -> String {
    format!(
        "{chain}\n[server]\nwatch = false\n{server}\n\n[audit]\ndir = {audit}\n\n[state]\ndir = {state}\n\n{auth}",
        audit = toml_path(&dir.join("audit")),
        state = toml_path(&dir.join("state")),
        auth = auth_section(),
    )
}

/// `lampart <command> --server <server> ARGS` as the operator: (success, stdout, stderr).
pub fn admin_cli(server: &Server, command: &str, args: &[&str]) -> (bool, String, String) {
    let out = Command::new(env!("CARGO_BIN_EXE_lampart"))
        .arg(command)
        .args(["--server", &format!("http://{}", server.addr)])
        .args(args)
        .env("LAMPART_TOKEN", key("operator").0)
        .output()
        .unwrap();
    (
        out.status.success(),
        String::from_utf8_lossy(&out.stdout).into_owned(),
        String::from_utf8_lossy(&out.stderr).into_owned(),
    )
}

/// `text` (made by [`config`] for `dir`) with its SQLite `[state]` replaced by PostgreSQL at
/// `url`, in `schema`.
pub fn on_postgres(text: &str, dir: &Path, url: &str, schema: &str) -> String {
    text.replace(
        &format!("[state]\ndir = {}\n", toml_path(&dir.join("state"))),
        &format!("[state]\nbackend = \"postgres\"\nurl = \"{url}\"\nschema = \"{schema}\"\n"),
    )
}

/// Drops a test's PostgreSQL schema.
pub fn drop_schema(url: &str, schema: &str) {
    let _ = Command::new("psql")
        .args([
            url,
            "-q",
            "-c",
            &format!("DROP SCHEMA IF EXISTS {schema} CASCADE"),
        ])
        .output();
}
