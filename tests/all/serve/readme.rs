//! The README's service walk-through, on the README's config as written (plugin paths aside).

use serde_json::{Value, json};

use super::harness::{Server, call};
use crate::support::{lampart, plugin, stdout, toml_path, workspace};

/// The README's service config, which must be `examples/serve/chain.toml` after its comment.
fn readme_config() -> String {
    let readme = std::fs::read_to_string(workspace().join("README.md")).unwrap();
    let start = readme
        .find("```toml\n[chain]\nname = \"agents\"")
        .expect("the README's service example")
        + "```toml\n".len();
    let end = start + readme[start..].find("```").unwrap();
    let example = std::fs::read_to_string(workspace().join("examples/serve/chain.toml")).unwrap();
    let body = &example[example.find("[chain]").unwrap()..];
    assert_eq!(
        &readme[start..end],
        body,
        "README and examples/serve/chain.toml differ"
    );
    body.to_owned()
}

#[test]
fn the_readme_service_example_runs_as_documented() {
    let dir = tempfile::tempdir().unwrap();
    let text = readme_config()
        .replace(
            "\"../../dist/plugins/shell_guard.wasm\"",
            &toml_path(&plugin("shell-guard")),
        )
        .replace(
            "\"../../dist/plugins/tool_rules.wasm\"",
            &toml_path(&plugin("tool-rules")),
        );
    // A key made as the README says, its entry pasted into keys.toml as [[key]].
    let made = lampart(
        &[
            "keys",
            "new",
            "--agent",
            "billing-bot",
            "--role",
            "finance",
            "--format",
            "json",
        ],
        None,
    );
    assert!(made.status.success());
    let made: Value = serde_json::from_str(&stdout(&made)).unwrap();
    std::fs::write(
        dir.path().join("keys.toml"),
        format!(
            "[[key]]\nid = {}\nhash = {}\nagent = \"billing-bot\"\nroles = [\"finance\"]\n",
            made["id"], made["hash"]
        ),
    )
    .unwrap();
    let server = Server::try_start(dir.path(), &text, &[]).unwrap_or_else(|e| panic!("{e}"));
    let key = made["key"].as_str().unwrap();
    let decide = |body: Value| {
        call(
            server.addr,
            "POST",
            "/v1/decide",
            &[
                ("authorization".into(), format!("Bearer {key}")),
                ("content-type".into(), "application/json".into()),
            ],
            &body.to_string(),
        )
        .json()
    };
    let pay = json!({"principal": {"session": "run-1"}, "action": {"tool": "send_money", "args": {"amount": 120}}});
    let first = decide(pay.clone());
    assert_eq!(first["verdict"], "allow", "{first}");
    assert_eq!(first["audit"]["seq"], 1);
    let shell = decide(
        json!({"principal": {"session": "run-1"}, "action": {"tool": "shell", "args": {"cmd": "rm -rf /"}}}),
    );
    assert_eq!(shell["verdict"], "deny", "{shell}");
    assert_eq!(shell["labels"], json!(["destructive-command"]));
    let again = decide(pay);
    assert_eq!(again["verdict"], "elevation-required", "{again}");
    assert_eq!(again["missing_scopes"], json!(["payments:review"]));
    assert_eq!(server.stop().code(), Some(0));
}
