//! The configs the MCP benchmark writes: one warm tool-rules step that allows `echo` (and
//! `tools/list`) and denies the rest, for `lampart mcp` and for `lampart serve`, and the API
//! key `lampart serve` authenticates the client by.

use std::path::Path;

use anyhow::{Context, bail};
use serde::Deserialize;

/// The agent the benchmark acts as, over stdio (`[mcp] agent`) and over HTTP (its key).
pub const AGENT: &str = "bench";

/// The `[[upstream]]` name `lampart serve` proxies the HTTP peer at: `/mcp/peer`.
pub const UPSTREAM: &str = "peer";

/// A path as a TOML string (quoted and escaped).
fn toml_path(path: &Path) -> String {
    toml::Value::String(path.display().to_string()).to_string()
}

/// The chain: one warm tool-rules step from `plugin`, allowing `echo` and `tools/list`,
/// denying the rest (and the chain denies what no step decides).
pub fn chain(plugin: &Path) -> String {
    format!(
        r#"[chain]
name = "mcp-bench"
default = "deny"

[[step]]
name = "rules"
plugin = {plugin}
instance = "warm"

[step.settings]
default = "deny"

[[step.settings.rules]]
name = "echo"
tools = ["echo", "tools/list"]
effect = "allow"
"#,
        plugin = toml_path(plugin),
    )
}

/// The config of `lampart mcp`: the chain, the agent, and an audit log in `audit` (used
/// unless the proxy is started with `--no-audit`).
pub fn stdio(plugin: &Path, audit: &Path) -> String {
    format!(
        "{chain}\n[mcp]\nagent = \"{AGENT}\"\nroles = [\"assistant\"]\ntools = [\"echo\"]\ntimeout = \"30s\"\n\n[audit]\ndir = {audit}\n",
        chain = chain(plugin),
        audit = toml_path(audit),
    )
}

/// The config of `lampart serve`: the chain, the server (any free port, no config watching),
/// session state in `state`, an audit log in `audit` (used unless `--no-audit`), the key's
/// `[[auth.key]]` entry, and the peer at `upstream` as `[[upstream]] peer`.
pub fn serve(plugin: &Path, state: &Path, audit: &Path, key: &Key, upstream: &str) -> String {
    format!(
        "{chain}\n[server]\nlisten = \"127.0.0.1:0\"\nwatch = false\n\n[state]\ndir = {state}\n\n\
         [audit]\ndir = {audit}\n\n\
         [[auth.key]]\nid = {id}\nhash = {hash}\nagent = \"{AGENT}\"\nroles = [\"assistant\"]\n\n\
         [[upstream]]\nname = \"{UPSTREAM}\"\nurl = {url}\ntools = [\"echo\"]\ntimeout = \"30s\"\n",
        chain = chain(plugin),
        state = toml_path(state),
        audit = toml_path(audit),
        id = toml::Value::String(key.id.clone()),
        hash = toml::Value::String(key.hash.clone()),
        url = toml::Value::String(upstream.to_owned()),
    )
}

/// An API key, as `lampart keys new --format json` prints it.
#[derive(Debug, Clone, Deserialize)]
pub struct Key {
    /// The secret the client presents (`Authorization: Bearer <key>`).
    pub key: String,
    /// Its id in the config.
    pub id: String,
    /// Its hash, what the config holds.
    pub hash: String,
}

/// A new key for the agent [`AGENT`], role `assistant`, from `lampart keys new`.
pub async fn new_key(lampart: &Path) -> anyhow::Result<Key> {
    let output = tokio::process::Command::new(lampart)
        .args(["keys", "new", "--agent", AGENT, "--role", "assistant"])
        .args(["--id", AGENT, "--format", "json"])
        .stdin(std::process::Stdio::null())
        .output()
        .await
        .with_context(|| format!("running `{} keys new`", lampart.display()))?;
    if !output.status.success() {
        let stderr = String::from_utf8_lossy(&output.stderr);
        bail!(
            "`lampart keys new` exited {}: {}",
            output.status,
            stderr.trim().lines().last().unwrap_or_default()
        );
    }
    let stdout = String::from_utf8_lossy(&output.stdout);
    let line = stdout.lines().next().unwrap_or_default();
    serde_json::from_str(line)
        .with_context(|| format!("`lampart keys new --format json` printed {line:?}"))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn configs_are_toml() {
        let plugin = Path::new("/x/dist/plugins/tool_rules.wasm");
        let key = Key {
            key: "lpk_secret".into(),
            id: "bench".into(),
            hash: "blake3:00".into(),
        };
        let stdio: toml::Table = stdio(plugin, Path::new("/tmp/a\"b/audit")).parse().unwrap();
        assert_eq!(stdio["mcp"]["agent"].as_str(), Some(AGENT));
        assert_eq!(stdio["audit"]["dir"].as_str(), Some("/tmp/a\"b/audit"));
        let serve: toml::Table = serve(
            plugin,
            Path::new("/s"),
            Path::new("/a"),
            &key,
            "http://127.0.0.1:1/mcp",
        )
        .parse()
        .unwrap();
        assert_eq!(serve["upstream"][0]["name"].as_str(), Some(UPSTREAM));
        assert_eq!(serve["auth"]["key"][0]["hash"].as_str(), Some("blake3:00"));
        assert_eq!(
            serve["step"][0]["plugin"].as_str(),
            Some("/x/dist/plugins/tool_rules.wasm")
        );
    }
}
