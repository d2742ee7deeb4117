//! Warm instances: reused between decisions, dropped after a failure, and recorded as such.

use lampart::chain::{Chain, Decision, Verdict};
use lampart::engine::FailureKind;
use serde_json::json;

use crate::support::{chain, plugin, request, step, toml_path};

fn counter_chain(instance: &str) -> Chain {
    chain(&format!(
        "[[step]]\nname = \"counter\"\nplugin = {}\ninstance = \"{instance}\"\nsettings = {{ mode = \"counter\" }}\n",
        toml_path(&plugin("scripted-policy"))
    ))
}

fn decide(chain: &Chain, tool: &str) -> Decision {
    chain.decide(request(
        json!({"principal": {"agent": "a"}, "action": {"tool": tool}}),
    ))
}

/// How many calls the deciding instance had served, as the plugin counted them.
fn served(decision: &Decision) -> u64 {
    step(decision, "counter").findings[0]
        .message
        .parse()
        .unwrap()
}

#[test]
fn a_fresh_step_never_sees_a_previous_decision() {
    let chain = counter_chain("fresh");
    for _ in 0..3 {
        let decision = decide(&chain, "t");
        assert_eq!(served(&decision), 1);
        assert_eq!(step(&decision, "counter").instance.as_str(), "fresh");
    }
}

#[test]
fn a_warm_step_reuses_its_instance_and_drops_it_after_a_trap() {
    let chain = counter_chain("warm");
    let counts: Vec<u64> = (0..3).map(|_| served(&decide(&chain, "t"))).collect();
    assert_eq!(counts, [1, 2, 3], "one instance served all three");
    assert_eq!(
        step(&decide(&chain, "t"), "counter").instance.as_str(),
        "warm"
    );

    let evil = decide(&chain, "evil");
    assert_eq!(evil.verdict, Verdict::Deny);
    let error = step(&evil, "counter").error.clone().unwrap();
    assert_eq!(error.kind.as_str(), "trap");
    assert!(error.message.contains("after 5 calls"), "{}", error.message);

    // The trapped instance is gone: the next call starts a new one.
    let next = decide(&chain, "t");
    assert_eq!(next.verdict, Verdict::Allow);
    assert_eq!(served(&next), 1);
}

#[test]
fn a_warm_instance_that_returned_malformed_output_is_dropped() {
    let chain = counter_chain("warm");
    assert_eq!(served(&decide(&chain, "t")), 1);
    assert_eq!(served(&decide(&chain, "t")), 2);

    let malformed = decide(&chain, "malformed");
    assert_eq!(malformed.verdict, Verdict::Deny);
    let error = step(&malformed, "counter").error.clone().unwrap();
    assert_eq!(error.kind, FailureKind::Output, "{}", error.message);

    // The instance that answered badly is gone: the next call starts a new one.
    assert_eq!(served(&decide(&chain, "t")), 1);
}

#[test]
fn warm_limits_still_hold_on_every_call() {
    let chain = chain(&format!(
        r#"
        [[step]]
        name = "hostile"
        plugin = {policy}
        instance = "warm"
        applies-to = {{ tools = ["evil"] }}
        limits = {{ fuel = 2_000_000 }}
        settings = {{ mode = "loop" }}
        [[step]]
        name = "benign"
        plugin = {policy}
        instance = "warm"
        settings = {{ mode = "allow" }}
        "#,
        policy = toml_path(&plugin("scripted-policy")),
    ));
    for _ in 0..3 {
        let evil = decide(&chain, "evil");
        assert_eq!(
            step(&evil, "hostile").error.as_ref().unwrap().kind,
            FailureKind::Fuel
        );
        assert_eq!(decide(&chain, "fine").verdict, Verdict::Allow);
    }
}
