//! The README's complete config example loads and decides as documented.

use lampart::chain::Verdict;
use serde_json::json;

use crate::support::{plugin, request, toml_path, try_chain, workspace};

/// The README's complete example, with its plugin paths pointing at the built plugins.
fn readme_example() -> String {
    let readme = std::fs::read_to_string(workspace().join("README.md")).unwrap();
    let start = readme
        .find("```toml\n[chain]\nname = \"payments\"")
        .expect("the README's complete example")
        + "```toml\n".len();
    let end = start + readme[start..].find("```").unwrap();
    readme[start..end]
        .replace(
            "\"plugins/shell_guard.wasm\"",
            &toml_path(&plugin("shell-guard")),
        )
        .replace(
            "\"plugins/tool_rules.wasm\"",
            &toml_path(&plugin("tool-rules")),
        )
}

#[test]
fn the_readme_config_example_loads_and_decides_as_documented() {
    let chain = try_chain(&readme_example())
        .unwrap_or_else(|e| panic!("the README example does not load: {e}"));
    let decide = |roles: serde_json::Value, tool: &str, args: serde_json::Value| {
        chain.decide(request(json!({"principal": {"agent": "a", "roles": roles}, "action": {"tool": tool, "args": args}}))).verdict
    };
    assert_eq!(
        decide(
            json!(["finance"]),
            "send_money",
            json!({"amount": 5, "recipient": "acme-corp"})
        ),
        Verdict::Allow
    );
    assert_eq!(
        decide(
            json!(["finance"]),
            "send_money",
            json!({"amount": 5000, "recipient": "acme-corp"})
        ),
        Verdict::Deny
    );
    assert_eq!(
        decide(
            json!(["finance"]),
            "send_money",
            json!({"amount": 5, "recipient": "mallory"})
        ),
        Verdict::Deny
    );
    assert_eq!(
        decide(json!(["ops"]), "shell", json!({"cmd": "rm -rf /"})),
        Verdict::Deny
    );
}
