//! The MCP proxy benchmark behind `lampart-mcp-load`: what a `tools/call` round trip costs
//! through Lampart against a direct connection to the same server, over stdio and over
//! Streamable HTTP.
//!
//! Each setup connects the official Rust SDK's client (`rmcp`) to `lampart-mcp-peer`, directly
//! or through Lampart, makes `warmup` calls of `echo {"text": "hello"}`, then `calls` more,
//! one at a time on the one connection, timing each round trip from before the request is
//! sent to after its answer is parsed. Every answer is checked (not an error result, the text
//! echoed), so a denied call cannot pass for a fast one. The setups:
//!
//! 1. stdio direct: the client starts `lampart-mcp-peer`;
//! 2. stdio proxied: the client starts `lampart mcp --config C -- lampart-mcp-peer`;
//! 3. HTTP direct: the client posts to `lampart-mcp-peer --http`;
//! 4. HTTP proxied: the client posts to `lampart serve`'s `/mcp/peer`, which forwards to the
//!    same peer,
//!
//! the proxied ones with the audit log on (every decision fsynced before the answer, as
//! shipped; each call makes two, the request's and the response's) and off (`--no-audit`).
//! The chain is one warm tool-rules step ([`config::chain`]). After an audited run the log is
//! verified with `lampart audit verify` and its record count reported.
//!
//! The client runs on a current-thread runtime, so it takes as little of the machine as it
//! can from the processes it measures. [`report`] turns the measurements into a markdown
//! table with each proxied setup's overhead over the direct one of its transport.

pub mod config;
pub mod processes;
pub mod report;

use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};

use anyhow::{Context, anyhow, bail};
use rmcp::model::{CallToolRequestParams, CallToolResult, JsonObject};
use rmcp::service::RunningService;
use rmcp::transport::streamable_http_client::StreamableHttpClientTransportConfig;
use rmcp::transport::{StreamableHttpClientTransport, TokioChildProcess};
use rmcp::{RoleClient, ServiceExt};
use tokio::process::Command;

use crate::load::stats::Latencies;
use processes::{Server, last_line, quiet_command, stderr_file};

/// The tool every call invokes, and the text it echoes.
pub const TOOL: &str = "echo";
/// The text sent to [`TOOL`].
pub const TEXT: &str = "hello";

/// The programs and the plugin the benchmark runs.
#[derive(Debug, Clone)]
pub struct Programs {
    /// The `lampart` binary.
    pub lampart: PathBuf,
    /// The `lampart-mcp-peer` binary.
    pub peer: PathBuf,
    /// The tool-rules plugin (`tool_rules.wasm`).
    pub plugin: PathBuf,
}

impl Programs {
    /// Fails, naming the build that makes it, if any of them is missing.
    pub fn check(&self) -> anyhow::Result<()> {
        let wanted = [
            (&self.lampart, "cargo build --release -p lampart"),
            (&self.peer, "cargo build --release -p lampart-mcp-peer"),
            (&self.plugin, "cargo xtask plugins"),
        ];
        for (path, build) in wanted {
            if !path.is_file() {
                bail!("{} is missing: `{build}` makes it", path.display());
            }
        }
        Ok(())
    }
}

/// What a run measures.
#[derive(Debug, Clone)]
pub struct Options {
    /// The programs.
    pub programs: Programs,
    /// Calls timed per setup.
    pub calls: usize,
    /// Calls made first on each connection, and not timed.
    pub warmup: usize,
    /// The audit settings the proxied setups run with: `true` for the durable log, `false`
    /// for `--no-audit`; each proxied setup runs once per entry.
    pub audit: Vec<bool>,
    /// Where the work directory (configs, audit logs, state, logs) is made: on a real disk,
    /// not a tmpfs, or the audit log's fsyncs cost nothing.
    pub work_in: PathBuf,
}

/// How the client reaches the server.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Transport {
    /// Over a child process's standard input and output.
    Stdio,
    /// Streamable HTTP over loopback.
    Http,
}

/// Whether Lampart is in the way.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Route {
    /// The client talks to the server.
    Direct,
    /// The client talks to Lampart, which talks to the server.
    Proxied {
        /// Whether decisions are recorded (and fsynced) in the audit log.
        audit: bool,
    },
}

/// One of the benchmark's setups.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Setup {
    /// stdio or HTTP.
    pub transport: Transport,
    /// Direct or through Lampart.
    pub route: Route,
}

impl Setup {
    /// Its name in the table.
    pub fn name(&self) -> String {
        let proxy = match self.transport {
            Transport::Stdio => "stdio via `lampart mcp`",
            Transport::Http => "HTTP via `lampart serve`",
        };
        match (self.transport, self.route) {
            (Transport::Stdio, Route::Direct) => "stdio direct".into(),
            (Transport::Http, Route::Direct) => "HTTP direct".into(),
            (_, Route::Proxied { audit: true }) => format!("{proxy}, audit on"),
            (_, Route::Proxied { audit: false }) => format!("{proxy}, audit off"),
        }
    }
}

/// What one setup measured.
#[derive(Debug, Clone)]
pub struct Measurement {
    /// The setup.
    pub setup: Setup,
    /// Calls timed.
    pub calls: usize,
    /// Their round trips, nanoseconds.
    pub latencies: Latencies,
    /// The wall time of the timed calls, one after the other.
    pub elapsed: Duration,
    /// With the audit log on: the records it held after the run, verified.
    pub audit_records: Option<u64>,
}

impl Measurement {
    /// Calls per second, one at a time.
    pub fn calls_per_second(&self) -> f64 {
        self.calls as f64 / self.elapsed.as_secs_f64().max(f64::MIN_POSITIVE)
    }
}

/// Runs every setup, one after the other: stdio direct, stdio proxied (per audit setting),
/// HTTP direct, HTTP proxied (per audit setting). Progress goes to standard error.
pub async fn run(options: &Options) -> anyhow::Result<Vec<Measurement>> {
    options.programs.check()?;
    if options.calls == 0 {
        bail!("--calls must be at least 1");
    }
    lampart::mcp::upstream::install_crypto_provider();
    let work = tempfile::Builder::new()
        .prefix("lampart-mcp-load.")
        .tempdir_in(&options.work_in)
        .with_context(|| format!("making a work directory in {}", options.work_in.display()))?;
    let mut runs = Runs {
        options,
        work: work.path(),
        next: 0,
        done: Vec::new(),
    };
    runs.stdio().await?;
    runs.http().await?;
    Ok(runs.done)
}

/// The state of a benchmark run: where its files go, and what it has measured.
struct Runs<'a> {
    options: &'a Options,
    work: &'a Path,
    /// The number of the next setup's directory.
    next: usize,
    done: Vec<Measurement>,
}

impl Runs<'_> {
    /// A fresh directory for the next setup's files.
    fn dir(&mut self) -> anyhow::Result<PathBuf> {
        self.next += 1;
        let dir = self.work.join(format!("run-{}", self.next));
        std::fs::create_dir(&dir).with_context(|| format!("creating {}", dir.display()))?;
        Ok(dir)
    }

    /// The stdio setups.
    async fn stdio(&mut self) -> anyhow::Result<()> {
        let programs = &self.options.programs;
        let setup = Setup {
            transport: Transport::Stdio,
            route: Route::Direct,
        };
        let dir = self.dir()?;
        let command = quiet_command(&programs.peer);
        let client = stdio_client(command, &dir.join("peer.err"), "lampart-mcp-peer").await?;
        self.measure(setup, client, None).await?;

        for &audit in &self.options.audit {
            let setup = Setup {
                transport: Transport::Stdio,
                route: Route::Proxied { audit },
            };
            let dir = self.dir()?;
            let config = dir.join("mcp.toml");
            let log = dir.join("audit");
            write(&config, &config::stdio(&programs.plugin, &log))?;
            let mut command = quiet_command(&programs.lampart);
            command.arg("mcp").arg("--config").arg(&config);
            if !audit {
                command.arg("--no-audit");
            }
            command.arg("--").arg(&programs.peer);
            let client = stdio_client(command, &dir.join("lampart.err"), "lampart mcp").await?;
            // The client's shutdown waits for `lampart mcp` to exit: the log is then closed.
            let log = audit.then_some(log.as_path());
            self.measure(setup, client, log).await?;
        }
        Ok(())
    }

    /// The HTTP setups, all against one `lampart-mcp-peer --http`.
    async fn http(&mut self) -> anyhow::Result<()> {
        let programs = self.options.programs.clone();
        let dir = self.dir()?;
        let mut command = quiet_command(&programs.peer);
        command.args(["--http", "127.0.0.1:0"]);
        let peer = Server::start("lampart-mcp-peer --http", command, &dir.join("peer.err")).await?;
        let outcome = self.http_setups(&programs, &peer.url, &dir).await;
        let stopped = peer.stop().await;
        outcome.and(stopped)
    }

    /// The HTTP setups against the peer at `peer`.
    async fn http_setups(
        &mut self,
        programs: &Programs,
        peer: &str,
        dir: &Path,
    ) -> anyhow::Result<()> {
        let setup = Setup {
            transport: Transport::Http,
            route: Route::Direct,
        };
        let client = http_client(peer, None).await.map_err(|e| {
            anyhow!(
                "{e}; the peer's last log line: {}",
                last_line(&dir.join("peer.err"))
            )
        })?;
        self.measure(setup, client, None).await?;

        if self.options.audit.is_empty() {
            return Ok(());
        }
        let key = config::new_key(&programs.lampart).await?;
        for &audit in &self.options.audit {
            let setup = Setup {
                transport: Transport::Http,
                route: Route::Proxied { audit },
            };
            let dir = self.dir()?;
            let config = dir.join("serve.toml");
            let log = dir.join("audit");
            let text = config::serve(&programs.plugin, &dir.join("state"), &log, &key, peer);
            write(&config, &text)?;
            let mut command = quiet_command(&programs.lampart);
            command
                .arg("serve")
                .arg("--config")
                .arg(&config)
                .args(["--listen", "127.0.0.1:0"]);
            if !audit {
                command.arg("--no-audit");
            }
            let stderr = dir.join("lampart.err");
            let server = Server::start("lampart serve", command, &stderr).await?;
            let url = format!("{}/mcp/{}", server.url, config::UPSTREAM);
            let measured = match http_client(&url, Some(&key.key)).await {
                Ok(client) => self.measure(setup, client, None).await,
                Err(e) => Err(anyhow!(
                    "{e}; lampart serve's last log line: {}",
                    last_line(&stderr)
                )),
            };
            // Stopped whatever happened, and before the log is read: it is closed then.
            let stopped = server.stop().await;
            measured.and(stopped)?;
            if audit {
                let records = verify(&programs.lampart, &log).await?;
                if let Some(last) = self.done.last_mut() {
                    last.audit_records = Some(records);
                }
                report::records(records, self.options);
            }
        }
        Ok(())
    }

    /// Times the calls on `client`, ends its session, then, with `log`, verifies the audit log
    /// there; records the measurement.
    async fn measure(
        &mut self,
        setup: Setup,
        client: RunningService<RoleClient, ()>,
        log: Option<&Path>,
    ) -> anyhow::Result<()> {
        let name = setup.name();
        eprintln!(
            "== {name}: {} calls after {} warm-up calls",
            self.options.calls, self.options.warmup
        );
        let timed = drive(&client, self.options.warmup, self.options.calls).await;
        let closed = client.cancel().await;
        let (mut samples, elapsed) = timed.with_context(|| name.clone())?;
        closed.with_context(|| format!("{name}: ending the session"))?;
        let latencies = Latencies::of(&mut samples).context("no calls were timed")?;
        let mut measurement = Measurement {
            setup,
            calls: samples.len(),
            latencies,
            elapsed,
            audit_records: None,
        };
        eprintln!("   {}", report::summary(&measurement));
        if let Some(log) = log {
            let records = verify(&self.options.programs.lampart, log).await?;
            measurement.audit_records = Some(records);
            report::records(records, self.options);
        }
        self.done.push(measurement);
        Ok(())
    }
}

/// Writes a config file.
fn write(path: &Path, text: &str) -> anyhow::Result<()> {
    std::fs::write(path, text).with_context(|| format!("writing {}", path.display()))
}

/// The client, connected to the MCP server `command` starts (`what`, for messages), whose
/// standard error goes to `stderr`.
async fn stdio_client(
    command: Command,
    stderr: &Path,
    what: &str,
) -> anyhow::Result<RunningService<RoleClient, ()>> {
    let (transport, _) = TokioChildProcess::builder(command)
        .stderr(stderr_file(stderr)?)
        .spawn()
        .with_context(|| format!("starting {what}"))?;
    ().serve(transport).await.map_err(|e| {
        anyhow!(
            "{what}: the MCP session did not start ({e}); its last log line: {}",
            last_line(stderr)
        )
    })
}

/// The client, connected over Streamable HTTP to `url`, presenting `token` as a bearer.
async fn http_client(
    url: &str,
    token: Option<&str>,
) -> anyhow::Result<RunningService<RoleClient, ()>> {
    let mut config = StreamableHttpClientTransportConfig::with_uri(url);
    if let Some(token) = token {
        config = config.auth_header(token);
    }
    ().serve(StreamableHttpClientTransport::from_config(config))
        .await
        .map_err(|e| anyhow!("{url}: the MCP session did not start ({e})"))
}

/// Makes `warmup` untimed calls, then `calls` timed ones, one at a time: the round trips in
/// nanoseconds and the wall time of the timed calls.
async fn drive(
    client: &RunningService<RoleClient, ()>,
    warmup: usize,
    calls: usize,
) -> anyhow::Result<(Vec<u64>, Duration)> {
    let mut arguments = JsonObject::new();
    arguments.insert("text".into(), TEXT.into());
    let mut samples = Vec::with_capacity(calls);
    let mut started = Instant::now();
    for i in 0..warmup + calls {
        if i == warmup {
            started = Instant::now();
        }
        let params = CallToolRequestParams::new(TOOL).with_arguments(arguments.clone());
        let sent = Instant::now();
        let result = client.peer().call_tool(params).await;
        let took = sent.elapsed();
        let result = result.map_err(|e| anyhow!("call {}: {e}", i + 1))?;
        check(&result).with_context(|| format!("call {}", i + 1))?;
        if i >= warmup {
            samples.push(u64::try_from(took.as_nanos()).unwrap_or(u64::MAX));
        }
    }
    Ok((samples, started.elapsed()))
}

/// Fails unless `result` is the echo of [`TEXT`].
fn check(result: &CallToolResult) -> anyhow::Result<()> {
    let text = result
        .content
        .first()
        .and_then(|block| block.as_text())
        .map(|text| text.text.as_str());
    if result.is_error == Some(true) {
        bail!("`{TOOL}` failed: {}", text.unwrap_or("(no text)"));
    }
    if text != Some(TEXT) {
        bail!("`{TOOL}` answered {text:?}, not {TEXT:?}");
    }
    Ok(())
}

/// Verifies the audit log in `dir` with `lampart audit verify`: its record count.
async fn verify(lampart: &Path, dir: &Path) -> anyhow::Result<u64> {
    let output = Command::new(lampart)
        .args(["audit", "verify", "--json", "--dir"])
        .arg(dir)
        .stdin(std::process::Stdio::null())
        .output()
        .await
        .context("running `lampart audit verify`")?;
    let stdout = String::from_utf8_lossy(&output.stdout);
    let report: serde_json::Value = serde_json::from_str(stdout.trim()).map_err(|e| {
        anyhow!(
            "`lampart audit verify` printed {:?} ({e}); stderr: {}",
            stdout.trim(),
            String::from_utf8_lossy(&output.stderr).trim()
        )
    })?;
    if report["ok"] != true {
        bail!(
            "the audit log in {} does not verify: {report}",
            dir.display()
        );
    }
    report["records"]
        .as_u64()
        .with_context(|| format!("`lampart audit verify` gave no record count: {report}"))
}
