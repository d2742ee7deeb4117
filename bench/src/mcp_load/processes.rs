//! The processes the MCP benchmark starts: HTTP servers that announce their address on one
//! stdout line (`lampart-mcp-peer --http`, `lampart serve`), stopped with SIGTERM, and the
//! helpers that make their commands quiet and their failures readable.

use std::path::{Path, PathBuf};
use std::process::{ExitStatus, Stdio};
use std::time::Duration;

use anyhow::{Context, bail};
use tokio::io::{AsyncBufReadExt, BufReader};
use tokio::process::{Child, ChildStdout, Command};

/// How long a server may take to announce its address (the first start compiles the plugin).
const START_TIMEOUT: Duration = Duration::from_secs(180);

/// How long a server may take to exit after SIGTERM before it is killed.
const STOP_TIMEOUT: Duration = Duration::from_secs(10);

/// A command for `program` with no environment that would change what is measured: no peer
/// log, no agent identity from the environment, warnings only in the logs.
pub fn quiet_command(program: &Path) -> Command {
    let mut command = Command::new(program);
    command
        .env("RUST_LOG", "warn")
        .env_remove("MCP_PEER_LOG")
        .env_remove("LAMPART_AGENT")
        .env_remove("LAMPART_ROLES")
        .env_remove("LAMPART_SESSION")
        .kill_on_drop(true);
    command
}

/// A file for a child's standard error, and the same file as its `Stdio`.
pub fn stderr_file(path: &Path) -> anyhow::Result<Stdio> {
    let file =
        std::fs::File::create(path).with_context(|| format!("creating {}", path.display()))?;
    Ok(Stdio::from(file))
}

/// The last non-empty line a child wrote to its standard error file, for error messages.
pub fn last_line(path: &Path) -> String {
    std::fs::read_to_string(path)
        .unwrap_or_default()
        .lines()
        .rev()
        .find(|line| !line.trim().is_empty())
        .map_or_else(
            || "(nothing on stderr)".to_owned(),
            |line| line.trim().to_owned(),
        )
}

/// A running HTTP server; killed if dropped without [`Server::stop`].
pub struct Server {
    /// What it is, for messages.
    name: String,
    child: Child,
    /// Kept open: a server writing more to stdout should not get a broken pipe.
    _stdout: BufReader<ChildStdout>,
    /// Its standard error.
    stderr: PathBuf,
    /// The URL it announced (`"listening"`).
    pub url: String,
}

impl Server {
    /// Starts `command`, with standard error in `stderr`, and waits for its first stdout line,
    /// a JSON object with the address in `"listening"`.
    pub async fn start(name: &str, mut command: Command, stderr: &Path) -> anyhow::Result<Server> {
        command
            .stdin(Stdio::null())
            .stdout(Stdio::piped())
            .stderr(stderr_file(stderr)?);
        let mut child = command
            .spawn()
            .with_context(|| format!("starting {name}"))?;
        let mut stdout = BufReader::new(child.stdout.take().context("no stdout pipe")?);
        let mut line = String::new();
        let read = tokio::time::timeout(START_TIMEOUT, stdout.read_line(&mut line)).await;
        let failed = |what: String| {
            anyhow::anyhow!("{name} {what}; its last log line: {}", last_line(stderr))
        };
        match read {
            Err(_) => {
                return Err(failed(format!(
                    "announced no address within {}s",
                    START_TIMEOUT.as_secs()
                )));
            }
            Ok(Err(e)) => return Err(failed(format!("could not be read from ({e})"))),
            Ok(Ok(0)) => {
                let status = child.wait().await.ok();
                let status = status.map_or_else(|| "unknown".into(), |s| s.to_string());
                return Err(failed(format!("exited before it listened ({status})")));
            }
            Ok(Ok(_)) => {}
        }
        let ready: serde_json::Value = serde_json::from_str(&line)
            .map_err(|e| failed(format!("printed {:?} ({e})", line.trim())))?;
        let Some(url) = ready["listening"].as_str() else {
            return Err(failed(format!(
                "printed no \"listening\" in {}",
                line.trim()
            )));
        };
        Ok(Server {
            name: name.to_owned(),
            url: url.to_owned(),
            child,
            _stdout: stdout,
            stderr: stderr.to_owned(),
        })
    }

    /// Stops it: SIGTERM, then SIGKILL if it has not exited after a while. Fails if it
    /// exited with an error on SIGTERM.
    pub async fn stop(mut self) -> anyhow::Result<()> {
        let status = terminate(&mut self.child).await?;
        if !status.success() {
            bail!(
                "{} exited {status} after SIGTERM; its last log line: {}",
                self.name,
                last_line(&self.stderr)
            );
        }
        Ok(())
    }
}

/// Sends SIGTERM to `child` (through `kill`: no unsafe code here), waits, and kills it if it
/// is still running after [`STOP_TIMEOUT`].
async fn terminate(child: &mut Child) -> anyhow::Result<ExitStatus> {
    if let Some(pid) = child.id() {
        // If `kill` cannot be run, the timeout below ends the child all the same.
        let _ = Command::new("kill")
            .args(["-TERM", &pid.to_string()])
            .stdin(Stdio::null())
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .status()
            .await;
    }
    match tokio::time::timeout(STOP_TIMEOUT, child.wait()).await {
        Ok(status) => status.context("waiting for a server to exit"),
        Err(_) => {
            child.kill().await.context("killing a server")?;
            child.wait().await.context("waiting for a killed server")
        }
    }
}
