//! Project tasks, run as `cargo xtask <task>`:
//!
//! - `demo`: install the wasm target if missing, build the plugins and the host, and run the
//!   demo requests through the demo chain, then verify the audit log it wrote;
//! - `test`: the same builds, then every test of the workspace;
//! - `plugins`: build the first-party plugins into `dist/plugins/`;
//! - `bench`: the same builds, then every benchmark (Lampart against bare wasmtime, native
//!   Rust, Cedar and regorus; the audit log; `lampart check` scaling), regenerating the
//!   tables of `BENCHMARKS.md` and `docs/benchmarks.svg`.

use std::path::{Path, PathBuf};
use std::process::{Command, ExitCode};

/// The plugin crates, and the name of the component each one builds.
const PLUGINS: [&str; 5] = [
    "tool-rules",
    "shell-guard",
    "scripted-policy",
    "scripted-inspector",
    "legacy-policy",
];
/// The plugins that ship; the others only serve the tests.
const SHIPPED: [&str; 2] = ["tool-rules", "shell-guard"];
const WASM_TARGET: &str = "wasm32-wasip2";

fn main() -> ExitCode {
    let mut args = std::env::args().skip(1);
    let task = args.next().unwrap_or_default();
    let rest: Vec<String> = args.collect();
    let result = match task.as_str() {
        "demo" => demo(),
        "test" => test(&rest),
        "plugins" => plugins().map(|_| ()),
        "bench" => bench(&rest),
        _ => {
            Err("usage: cargo xtask <demo | test [cargo test args] | plugins | bench>".to_string())
        }
    };
    match result {
        Ok(()) => ExitCode::SUCCESS,
        Err(err) => {
            eprintln!("xtask: {err}");
            ExitCode::FAILURE
        }
    }
}

fn root() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .parent()
        .expect("xtask/ has a parent")
        .to_path_buf()
}

fn cargo() -> Command {
    let mut command = Command::new(std::env::var("CARGO").unwrap_or_else(|_| "cargo".into()));
    command.current_dir(root());
    command
}

fn run(command: &mut Command) -> Result<(), String> {
    let status = command.status().map_err(|e| format!("{command:?}: {e}"))?;
    if status.success() {
        Ok(())
    } else {
        Err(format!("{command:?} failed with {status}"))
    }
}

/// Installs the wasm target through rustup when it is not there yet.
fn ensure_wasm_target() -> Result<(), String> {
    let installed = Command::new("rustup")
        .args(["target", "list", "--installed"])
        .output()
        .map_err(|e| format!("rustup is needed to install the {WASM_TARGET} target: {e}"))?;
    if String::from_utf8_lossy(&installed.stdout)
        .lines()
        .any(|line| line.trim() == WASM_TARGET)
    {
        return Ok(());
    }
    run(Command::new("rustup").args(["target", "add", WASM_TARGET]))
}

/// Builds every plugin (the test suite builds into the same place, so this is shared) and
/// copies the shipped ones to `dist/plugins/`.
fn plugins() -> Result<PathBuf, String> {
    ensure_wasm_target()?;
    let target_dir = root().join("target").join("plugins");
    let mut build = cargo();
    build
        .args(["build", "--profile", "plugin", "--target", WASM_TARGET])
        .arg("--target-dir")
        .arg(&target_dir);
    for plugin in PLUGINS {
        build.args(["-p", plugin]);
    }
    run(&mut build)?;
    let built = target_dir.join(WASM_TARGET).join("plugin");
    let dist = root().join("dist").join("plugins");
    std::fs::create_dir_all(&dist).map_err(|e| format!("{}: {e}", dist.display()))?;
    for plugin in SHIPPED {
        let file = format!("{}.wasm", plugin.replace('-', "_"));
        std::fs::copy(built.join(&file), dist.join(&file))
            .map_err(|e| format!("copying {file}: {e}"))?;
        let size = std::fs::metadata(dist.join(&file))
            .map(|m| m.len())
            .unwrap_or(0);
        println!("plugin   dist/plugins/{file} ({} KiB)", size / 1024);
    }
    Ok(dist)
}

fn demo() -> Result<(), String> {
    plugins()?;
    run(cargo().args(["build", "--release", "-p", "lampart"]))?;
    let lampart = root().join("target").join("release").join("lampart");
    let config = root().join("examples").join("demo").join("chain.toml");
    let requests = root().join("examples").join("demo").join("requests.jsonl");
    println!(
        "\n$ lampart check --config examples/demo/chain.toml examples/demo/requests.jsonl --format text"
    );
    let status = Command::new(&lampart)
        .arg("check")
        .arg("--config")
        .arg(&config)
        .arg(&requests)
        .args(["--format", "text"])
        .status()
        .map_err(|e| format!("running {}: {e}", lampart.display()))?;
    // 1 and 3 mean some requests were denied or need elevation, as the demo intends.
    if !matches!(status.code(), Some(0 | 1 | 3)) {
        return Err(format!("lampart check failed with {status}"));
    }
    println!("\n$ lampart audit verify --config examples/demo/chain.toml");
    run(Command::new(&lampart)
        .args(["audit", "verify", "--config"])
        .arg(&config))
}

fn test(extra: &[String]) -> Result<(), String> {
    plugins()?;
    // The benchmark crate's own tests (the peers' verdict gate) run with every benchmark;
    // compiling Cedar and regorus for them here would double the suite's build time.
    run(cargo()
        .args(["test", "--workspace", "--exclude", "lampart-bench"])
        .args(extra))
}

fn bench(extra: &[String]) -> Result<(), String> {
    plugins()?;
    run(cargo().args(["build", "--release", "-p", "lampart"]))?;
    run(cargo()
        .args(["bench", "-p", "lampart-bench", "--bench", "decide", "--"])
        .args(extra))
}
