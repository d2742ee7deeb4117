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

/// The README's tool-rules example (indented in a list item), as a chain of its own.
fn readme_tool_rules_example() -> String {
    let readme = std::fs::read_to_string(workspace().join("README.md")).unwrap();
    let marker = "  ```toml\n  [[step.settings.rules]]\n  name = \"tainted-external-mail\"";
    let start = readme
        .find(marker)
        .expect("the README's tool-rules example")
        + "  ```toml\n".len();
    let end = start + readme[start..].find("  ```").unwrap();
    let rules: String = readme[start..end]
        .lines()
        .map(|line| format!("{}\n", line.strip_prefix("  ").unwrap_or(line)))
        .collect();
    format!(
        "[chain]\nname = \"mail\"\ndefault = \"deny\"\n\n[[step]]\nname = \"tool-rules\"\nplugin = {}\nkind = \"policy\"\n\n{rules}\n[[step.settings.rules]]\nname = \"mail\"\ntools = [\"send_email\"]\neffect = \"allow\"\n",
        toml_path(&plugin("tool-rules"))
    )
}

#[test]
fn the_readme_tool_rules_example_decides_as_documented() {
    let chain = try_chain(&readme_tool_rules_example())
        .unwrap_or_else(|e| panic!("the README's tool-rules example does not load: {e}"));
    let decide = |labels: serde_json::Value, to: serde_json::Value| {
        chain
            .decide(request(json!({
                "principal": {"agent": "a", "session": "s"},
                "labels": labels,
                "action": {"tool": "send_email", "args": {"to": to}}
            })))
            .verdict
    };
    let tainted = json!(["untrusted-content"]);
    assert_eq!(decide(json!([]), json!(["x@evil.example"])), Verdict::Allow);
    assert_eq!(
        decide(tainted.clone(), json!(["a@Corp.Example"])),
        Verdict::Allow
    );
    assert_eq!(
        decide(tainted.clone(), json!(["a@corp.example", "x@evil.example"])),
        Verdict::ElevationRequired
    );
    // A bare address is not a list of company addresses either.
    assert_eq!(
        decide(tainted, json!("x@evil.example")),
        Verdict::ElevationRequired
    );
}
