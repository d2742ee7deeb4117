//! The contract's versions: a plugin built against the released 0.1.0 keeps loading and
//! deciding next to 0.2.0 plugins, and each sees a tool's answer in its own version's terms.

use lampart::chain::{Decision, StepVerdict, Verdict};
use serde_json::{Value, json};

use crate::support::{chain, lampart, plugin, request, stdout, step, toml_path};

fn respond(chain: &lampart::chain::Chain, output: Value) -> Decision {
    chain.decide(request(json!({
        "phase": "response", "principal": {"agent": "a"}, "action": {"tool": "fetch"},
        "output": output,
    })))
}

/// A 0.1.0 policy and a 0.2.0 policy (in `echo` mode) in one chain.
fn mixed_chain() -> lampart::chain::Chain {
    chain(&format!(
        r#"
        [[step]]
        name = "legacy"
        plugin = {legacy}
        mode = "monitor"
        [[step]]
        name = "current"
        plugin = {current}
        settings = {{ mode = "echo" }}
        "#,
        legacy = toml_path(&plugin("legacy-policy")),
        current = toml_path(&plugin("scripted-policy")),
    ))
}

fn echoed_output(decision: &Decision) -> Value {
    let echo: Value =
        serde_json::from_str(&step(decision, "current").findings[0].message).expect("echo is JSON");
    echo["output"].clone()
}

#[test]
fn a_v0_1_plugin_decides_next_to_v0_2_plugins() {
    let chain = mixed_chain();
    let decision = chain.decide(request(
        json!({"principal": {"agent": "a"}, "action": {"tool": "t"}}),
    ));
    assert_eq!(
        step(&decision, "legacy").verdict,
        StepVerdict::Allow,
        "{decision:#?}"
    );
    assert!(step(&decision, "legacy").error.is_none());
    // The monitor step changes nothing; the echo policy abstains; the default denies.
    assert_eq!(decision.verdict, Verdict::Deny);
}

#[test]
fn a_v0_1_plugin_sees_a_json_answer_as_its_text_and_a_text_answer_as_the_text() {
    let chain = mixed_chain();
    let json_answer = respond(&chain, json!({"json": {"n": 42}}));
    assert_eq!(
        step(&json_answer, "legacy").verdict,
        StepVerdict::Deny("saw output `{\"n\":42}`".into())
    );
    let text_answer = respond(&chain, json!({"text": "42"}));
    assert_eq!(
        step(&text_answer, "legacy").verdict,
        StepVerdict::Deny("saw output `42`".into())
    );
}

#[test]
fn a_v0_2_plugin_tells_a_text_answer_from_json() {
    let chain = mixed_chain();
    assert_eq!(
        echoed_output(&respond(&chain, json!({"text": "42"}))),
        json!({"text": "42"})
    );
    assert_eq!(
        echoed_output(&respond(&chain, json!({"json": 42}))),
        json!({"json": 42})
    );
}

#[test]
fn a_v0_1_plugin_reads_its_settings() {
    let chain = chain(&format!(
        "[[step]]\nname = \"legacy\"\nplugin = {}\nsettings = {{ mode = \"strict\" }}\n",
        toml_path(&plugin("legacy-policy"))
    ));
    let decision = chain.decide(request(
        json!({"principal": {"agent": "a"}, "action": {"tool": "t"}}),
    ));
    assert_eq!(
        decision.reason.to_string(),
        "step `legacy`: saw setting `mode` = `strict`"
    );
}

#[test]
fn inspect_names_the_contract_a_plugin_was_built_against() {
    for (name, version) in [("legacy-policy", "0.1.0"), ("scripted-policy", "0.2.0")] {
        let path = plugin(name);
        let output = lampart(
            &["plugin", "inspect", "--json", &path.display().to_string()],
            None,
        );
        assert!(output.status.success(), "{name}: {output:?}");
        let shown: Value = serde_json::from_str(&stdout(&output)).expect("JSON");
        assert_eq!(shown["contract"], version, "{name}: {shown}");
        let text = lampart(&["plugin", "inspect", &path.display().to_string()], None);
        assert!(
            stdout(&text).contains(&format!("contract: lampart:plugin@{version}")),
            "{name}: {}",
            stdout(&text)
        );
    }
}
