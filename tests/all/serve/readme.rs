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
    // And an operator key, as the elevation walk-through says.
    let ops = lampart(
        &[
            "keys",
            "new",
            "--operator",
            "--id",
            "ops-1",
            "--format",
            "json",
        ],
        None,
    );
    assert!(ops.status.success());
    let ops: Value = serde_json::from_str(&stdout(&ops)).unwrap();
    std::fs::write(
        dir.path().join("keys.toml"),
        format!(
            "[[key]]\nid = {}\nhash = {}\nagent = \"billing-bot\"\nroles = [\"finance\"]\n\n\
             [[key]]\nid = {}\nhash = {}\noperator = true\n",
            made["id"], made["hash"], ops["id"], ops["hash"]
        ),
    )
    .unwrap();
    let server = Server::try_start(dir.path(), &text, &[]).unwrap_or_else(|e| panic!("{e}"));
    let key = made["key"].as_str().unwrap();
    let post = |path: &str, body: Value| {
        call(
            server.addr,
            "POST",
            path,
            &[
                ("authorization".into(), format!("Bearer {key}")),
                ("content-type".into(), "application/json".into()),
            ],
            &body.to_string(),
        )
        .json()
    };
    let decide = |body: Value| post("/v1/decide", body);
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

    // Privilege elevation, as the README's walk-through goes on.
    let asked = post(
        "/v1/elevations",
        json!({"session": "run-1", "task": "invoice-7", "scopes": ["payments:review"],
               "justification": "refund of invoice 7, ticket 4411", "ttl": "10m"}),
    );
    assert_eq!(asked["state"], "pending", "{asked}");
    let id = asked["id"].as_str().unwrap();
    // Read scopes are granted at once by the example's rule.
    let read = post(
        "/v1/elevations",
        json!({"session": "run-1", "scopes": ["ledger:read"], "justification": "reconcile"}),
    );
    assert_eq!(read["state"], "granted", "{read}");
    let grants = |args: &[&str]| {
        let out = std::process::Command::new(env!("CARGO_BIN_EXE_lampart"))
            .arg("grants")
            .args(args)
            .args(["--server", &format!("http://{}", server.addr)])
            .env("LAMPART_TOKEN", ops["key"].as_str().unwrap())
            .output()
            .unwrap();
        assert!(
            out.status.success(),
            "{}",
            String::from_utf8_lossy(&out.stderr)
        );
        String::from_utf8_lossy(&out.stdout).into_owned()
    };
    let pending = grants(&["pending"]);
    assert!(
        pending.contains(id) && pending.contains("task=invoice-7"),
        "{pending}"
    );
    assert!(grants(&["approve", id, "--ttl", "5m"]).contains("granted"));
    let task_pay = json!({"principal": {"session": "run-1", "task": "invoice-7"},
                          "action": {"tool": "send_money", "args": {"amount": 120}}});
    let paid = decide(task_pay.clone());
    assert_eq!(paid["verdict"], "allow", "{paid}");
    let ended = post("/v1/tasks/invoice-7/end", json!({}));
    assert_eq!(ended["revoked"], json!([id]), "{ended}");
    assert_eq!(decide(task_pay)["verdict"], "elevation-required");
    assert_eq!(server.stop().code(), Some(0));
}
