//! The MCP proxy's settings: `[[upstream]]` (servers `lampart serve` proxies at
//! `/mcp/{name}`) and `[mcp]` (the agent a `lampart mcp` stdio proxy acts for).
//!
//! ```toml
//! [[upstream]]
//! name = "mail"                          # served at /mcp/mail
//! url = "http://127.0.0.1:9000/mcp"      # the server's Streamable HTTP endpoint
//! headers = { Authorization = "Bearer …" }   # sent with every request to it
//! tools = ["read_inbox", "send_*"]       # the only tools agents may call (default: all)
//! timeout = "60s"                        # longest wait for one answer
//! max-sessions = 256                     # MCP sessions open at once through it
//!
//! [mcp]                                  # `lampart mcp`: who the agent is
//! agent = "mail-assistant"
//! roles = ["assistant"]
//! tools = ["*"]
//! timeout = "60s"
//! ```
//!
//! Checked once, when read: a duplicate or malformed name, a URL that is not http(s), a bad
//! tool glob or header are refused with one line naming the key.

use std::collections::BTreeMap;
use std::time::Duration;

use globset::{Glob, GlobSet, GlobSetBuilder};
use serde::Deserialize;

use crate::server::config::humantime_serde_compat;

/// The longest wait for one answer from an upstream server, unless configured.
pub const DEFAULT_TIMEOUT: Duration = Duration::from_secs(60);

/// One `[[upstream]]`: an MCP server reached over Streamable HTTP.
#[derive(Debug, Clone, PartialEq, Deserialize)]
#[serde(deny_unknown_fields, rename_all = "kebab-case")]
pub struct UpstreamSection {
    /// The name agents reach it by: `/mcp/{name}`, and the `resource` of its decisions.
    #[serde(deserialize_with = "name")]
    pub name: String,
    /// Its Streamable HTTP endpoint.
    #[serde(deserialize_with = "url")]
    pub url: String,
    /// Headers sent with every request to it (its own credentials, for instance).
    #[serde(default)]
    pub headers: BTreeMap<String, String>,
    /// The tools agents may call through Lampart.
    #[serde(default)]
    pub tools: ToolFilter,
    /// The longest wait for one answer.
    #[serde(default = "default_timeout", with = "humantime_serde_compat")]
    pub timeout: Duration,
    /// The most MCP sessions open at once through this upstream (each holds a session with
    /// the server); a new one beyond it is refused with 503. Idle sessions close after five
    /// minutes.
    #[serde(default = "default_max_sessions")]
    pub max_sessions: usize,
}

/// The most MCP sessions open at once through one upstream, unless configured.
pub const DEFAULT_MAX_SESSIONS: usize = 256;

fn default_max_sessions() -> usize {
    DEFAULT_MAX_SESSIONS
}

/// `[mcp]`: the agent a `lampart mcp` stdio proxy acts for, and what it may reach.
#[derive(Debug, Clone, Default, PartialEq, Deserialize)]
#[serde(deny_unknown_fields, rename_all = "kebab-case")]
pub struct McpSection {
    /// The agent's identity (`LAMPART_AGENT` or `--agent` override it).
    #[serde(default)]
    pub agent: Option<String>,
    /// Its roles (`LAMPART_ROLES`, comma-separated, or `--role` override them).
    #[serde(default)]
    pub roles: Option<Vec<String>>,
    /// The tools the agent may call through Lampart.
    #[serde(default)]
    pub tools: ToolFilter,
    /// The longest wait for one answer from the server.
    #[serde(default, with = "optional_duration")]
    pub timeout: Option<Duration>,
}

/// Tool-name globs: the only tools agents may call through one upstream. A call to any
/// other tool is denied without asking the chain, and `tools/list` leaves those tools out:
/// that is the one case where Lampart knows, before any call, that a tool can never be
/// called. Tools a policy allows only for some arguments, labels or grants stay listed.
#[derive(Debug, Clone)]
pub struct ToolFilter {
    globs: Vec<String>,
    set: GlobSet,
}

impl ToolFilter {
    /// Whether agents may call `tool` through this upstream.
    pub fn admits(&self, tool: &str) -> bool {
        self.set.is_match(tool)
    }

    /// The globs, as written.
    pub fn globs(&self) -> &[String] {
        &self.globs
    }

    fn new(globs: Vec<String>) -> Result<ToolFilter, String> {
        let mut set = GlobSetBuilder::new();
        for glob in &globs {
            if glob.is_empty() {
                return Err("`tools`: an empty glob matches no tool".into());
            }
            set.add(Glob::new(glob).map_err(|e| format!("`tools`: `{glob}`: {e}"))?);
        }
        let set = set.build().map_err(|e| format!("`tools`: {e}"))?;
        Ok(ToolFilter { globs, set })
    }
}

impl Default for ToolFilter {
    fn default() -> Self {
        ToolFilter::new(vec!["*".into()]).expect("`*` is a valid glob")
    }
}

impl PartialEq for ToolFilter {
    fn eq(&self, other: &Self) -> bool {
        self.globs == other.globs
    }
}

impl<'de> Deserialize<'de> for ToolFilter {
    fn deserialize<D: serde::Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        let globs = Vec::<String>::deserialize(d)?;
        ToolFilter::new(globs).map_err(serde::de::Error::custom)
    }
}

/// Checks the `[[upstream]]` list as a whole: names are unique.
pub fn check_upstreams(upstreams: &[UpstreamSection]) -> Result<(), String> {
    for (i, upstream) in upstreams.iter().enumerate() {
        if upstreams[..i].iter().any(|u| u.name == upstream.name) {
            return Err(format!(
                "[[upstream]] `{}` is named twice; names must be unique",
                upstream.name
            ));
        }
        if upstream.max_sessions == 0 {
            return Err(format!(
                "[[upstream]] `{}`: `max-sessions` must be at least 1",
                upstream.name
            ));
        }
        super::upstream::header_map(&upstream.headers)
            .map_err(|e| format!("[[upstream]] `{}`: {e}", upstream.name))?;
    }
    Ok(())
}

fn default_timeout() -> Duration {
    DEFAULT_TIMEOUT
}

fn name<'de, D: serde::Deserializer<'de>>(d: D) -> Result<String, D::Error> {
    let name = String::deserialize(d)?;
    let valid = !name.is_empty()
        && name.len() <= 64
        && name
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || b == b'-' || b == b'_');
    if valid {
        Ok(name)
    } else {
        Err(serde::de::Error::custom(format!(
            "`name` {name:?}: use 1 to 64 letters, digits, `-` or `_` (it becomes the path /mcp/{{name}})"
        )))
    }
}

fn url<'de, D: serde::Deserializer<'de>>(d: D) -> Result<String, D::Error> {
    let url = String::deserialize(d)?;
    let parsed: Result<axum::http::Uri, _> = url.parse();
    match parsed {
        Ok(uri) if matches!(uri.scheme_str(), Some("http" | "https")) && uri.host().is_some() => {
            Ok(url)
        }
        _ => Err(serde::de::Error::custom(format!(
            "`url` {url:?}: expected an http:// or https:// URL of the server's MCP endpoint"
        ))),
    }
}

mod optional_duration {
    use std::time::Duration;

    use serde::Deserializer;

    pub fn deserialize<'de, D: Deserializer<'de>>(d: D) -> Result<Option<Duration>, D::Error> {
        super::humantime_serde_compat::deserialize(d).map(Some)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[derive(Debug, Deserialize)]
    struct Doc {
        #[serde(default)]
        upstream: Vec<UpstreamSection>,
        #[serde(default)]
        mcp: Option<McpSection>,
    }

    fn parse(text: &str) -> Result<Doc, String> {
        toml::from_str(text).map_err(|e| e.to_string())
    }

    #[test]
    fn an_upstream_with_defaults() {
        let doc =
            parse("[[upstream]]\nname = \"mail\"\nurl = \"http://127.0.0.1:9/mcp\"\n").unwrap();
        let up = &doc.upstream[0];
        assert_eq!(up.timeout, DEFAULT_TIMEOUT);
        assert!(up.tools.admits("anything"));
        assert!(up.headers.is_empty());
        assert!(doc.mcp.is_none());
    }

    #[test]
    fn tools_filter_by_glob() {
        let doc =
            parse("[mcp]\nagent = \"a\"\ntools = [\"read_*\", \"send_email\"]\ntimeout = \"5s\"\n")
                .unwrap();
        let mcp = doc.mcp.unwrap();
        assert!(mcp.tools.admits("read_inbox"));
        assert!(mcp.tools.admits("send_email"));
        assert!(!mcp.tools.admits("send_money"));
        assert_eq!(mcp.timeout, Some(Duration::from_secs(5)));
    }

    #[test]
    fn bad_upstreams_are_refused_by_key() {
        let bad = |text: &str, needle: &str| {
            let err = parse(text).unwrap_err();
            assert!(err.contains(needle), "{err}");
        };
        bad(
            "[[upstream]]\nname = \"a/b\"\nurl = \"http://h/mcp\"\n",
            "`name`",
        );
        bad(
            "[[upstream]]\nname = \"a\"\nurl = \"ftp://h/mcp\"\n",
            "`url`",
        );
        bad("[[upstream]]\nname = \"a\"\nurl = \"/mcp\"\n", "`url`");
        bad(
            "[[upstream]]\nname = \"a\"\nurl = \"http://h\"\ntools = [\"[\"]\n",
            "`tools`",
        );
        bad(
            "[[upstream]]\nname = \"a\"\nurl = \"http://h\"\ntimeout = \"0s\"\n",
            "longer than zero",
        );
        bad(
            "[[upstream]]\nname = \"a\"\nurl = \"http://h\"\nurls = 1\n",
            "unknown field",
        );
        let two = parse(
            "[[upstream]]\nname = \"a\"\nurl = \"http://h\"\n[[upstream]]\nname = \"a\"\nurl = \"http://i\"\n",
        )
        .unwrap();
        assert!(
            check_upstreams(&two.upstream)
                .unwrap_err()
                .contains("named twice")
        );
    }
}
