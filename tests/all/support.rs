//! Shared helpers: plugins built by the suite itself, one engine per test process, chains
//! written inline, and the `lampart` binary.

use std::path::{Path, PathBuf};
use std::process::{Command, Output};
use std::sync::{Arc, OnceLock};

use lampart::chain::{Chain, ChainError, Decision, StepRecord};
use lampart::config::ChainConfig;
use lampart::engine::{Engine, EngineOptions};
use lampart::request::Request;
use serde_json::Value;

/// The repository's root.
pub fn workspace() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .parent()
        .expect("host/ has a parent")
        .to_path_buf()
}

/// Plugins are built into their own target directory: `cargo test` holds the lock on the
/// main one while tests run.
fn plugin_target() -> PathBuf {
    workspace().join("target").join("plugins")
}

/// Where precompiled plugins are cached during tests.
pub fn cache_dir() -> PathBuf {
    plugin_target().join("cache")
}

/// The path of a built plugin (`tool-rules`, `shell-guard`, `scripted-policy`,
/// `scripted-inspector`, `legacy-policy`), building them all the first time one is asked for.
pub fn plugin(name: &str) -> PathBuf {
    static BUILT: OnceLock<Result<(), String>> = OnceLock::new();
    if let Err(err) = BUILT.get_or_init(build_plugins) {
        panic!("{err}");
    }
    plugin_target()
        .join("wasm32-wasip2")
        .join("plugin")
        .join(format!("{}.wasm", name.replace('-', "_")))
}

fn build_plugins() -> Result<(), String> {
    let cargo = std::env::var("CARGO").unwrap_or_else(|_| "cargo".into());
    let mut command = Command::new(cargo);
    command.current_dir(workspace()).args([
        "build",
        "--quiet",
        "--profile",
        "plugin",
        "--target",
        "wasm32-wasip2",
    ]);
    command.arg("--target-dir").arg(plugin_target());
    for package in [
        "tool-rules",
        "shell-guard",
        "secrets",
        "pii",
        "egress",
        "prompt-injection",
        "scripted-policy",
        "scripted-inspector",
        "legacy-policy",
    ] {
        command.args(["-p", package]);
    }
    let status = command
        .status()
        .map_err(|e| format!("running cargo to build the test plugins: {e}"))?;
    if status.success() {
        Ok(())
    } else {
        Err("building the test plugins failed (is the wasm32-wasip2 target installed? `rustup target add wasm32-wasip2`)".into())
    }
}

/// One engine for the whole test process, shared by every test (and so by many threads).
pub fn engine() -> Arc<Engine> {
    static ENGINE: OnceLock<Arc<Engine>> = OnceLock::new();
    Arc::clone(ENGINE.get_or_init(|| {
        let options = EngineOptions {
            cache_dir: Some(cache_dir()),
            ..EngineOptions::default()
        };
        Arc::new(Engine::new(options).expect("engine starts"))
    }))
}

/// A TOML string literal holding a path.
pub fn toml_path(path: &Path) -> String {
    toml::Value::String(path.display().to_string()).to_string()
}

/// Builds a chain from config text, with relative paths resolved against the workspace.
pub fn try_chain(config: &str) -> Result<Chain, ChainError> {
    let parsed =
        ChainConfig::parse(Path::new("test.toml"), config).unwrap_or_else(|e| panic!("{e}"));
    Chain::load(&parsed, &workspace(), engine())
}

/// Builds a chain from config text, panicking with the error if it does not load.
pub fn chain(config: &str) -> Chain {
    try_chain(config).unwrap_or_else(|e| panic!("{e}"))
}

/// A request from JSON text.
pub fn request(json: Value) -> Request {
    serde_json::from_value::<Request>(json).expect("valid request")
}

/// The record of the named step in a decision.
pub fn step<'a>(decision: &'a Decision, name: &str) -> &'a StepRecord {
    decision
        .steps
        .iter()
        .find(|step| step.name == name)
        .unwrap_or_else(|| panic!("no step `{name}` in {:#?}", decision.steps))
}

/// Runs the `lampart` binary with the test cache, feeding `stdin`.
pub fn lampart(args: &[&str], stdin: Option<&str>) -> Output {
    use std::io::Write;
    let mut command = Command::new(env!("CARGO_BIN_EXE_lampart"));
    command
        .args(args)
        .env("LAMPART_CACHE_DIR", cache_dir())
        .stdin(std::process::Stdio::piped())
        .stdout(std::process::Stdio::piped())
        .stderr(std::process::Stdio::piped());
    let mut child = command.spawn().expect("lampart runs");
    let mut input = child.stdin.take().expect("stdin");
    if let Some(text) = stdin {
        // A run that fails early (a bad config) exits without reading its input.
        match input.write_all(text.as_bytes()) {
            Err(err) if err.kind() != std::io::ErrorKind::BrokenPipe => {
                panic!("write stdin: {err}")
            }
            _ => {}
        }
    }
    drop(input);
    child.wait_with_output().expect("lampart finishes")
}

/// Standard output as text.
pub fn stdout(output: &Output) -> String {
    String::from_utf8_lossy(&output.stdout).into_owned()
}

/// Standard error as text.
pub fn stderr(output: &Output) -> String {
    String::from_utf8_lossy(&output.stderr).into_owned()
}

/// Writes a chain config into `dir`: shell-guard, then tool-rules (payments up to 100
/// allowed, larger ones need `payments:large`, the shell allowed), with its audit log in
/// `audit/` (masking `/card`, hashing `/recipient`).
pub fn write_config(dir: &Path) -> PathBuf {
    let config = dir.join("chain.toml");
    std::fs::write(
        &config,
        format!(
            r#"
            [audit]
            dir = "audit"
            mask = ["/card"]
            hash = ["/recipient"]

            [[step]]
            name = "shell"
            plugin = {shell}

            [[step]]
            name = "rules"
            plugin = {rules}
            settings.rules = [
              {{ name = "pay", tools = ["send_money"], effect = "allow", when = [{{ arg = "/amount", max = 100 }}] }},
              {{ name = "big", tools = ["send_money"], effect = "require", scopes = ["payments:large"] }},
              {{ name = "shell", tools = ["shell"], effect = "allow" }},
            ]
            "#,
            shell = toml_path(&plugin("shell-guard")),
            rules = toml_path(&plugin("tool-rules")),
        ),
    )
    .unwrap();
    config
}
