//! Chains built from the shipped plugins give the documented verdicts.

use lampart::chain::{Chain, Severity, StepVerdict, Verdict};
use lampart::engine::FailureKind;
use serde_json::{Value, json};

use crate::support::{chain, plugin, request, step, toml_path};

/// The payments chain of the README: shell-guard, then tool-rules.
fn payments() -> Chain {
    chain(&format!(
        r#"
        [chain]
        default = "deny"
        deny-at = "high"

        [[step]]
        name = "shell"
        plugin = {shell}
        kind = "inspector"

        [[step]]
        name = "rules"
        plugin = {rules}
        kind = "policy"
        [step.settings]
        default = "abstain"
        trusted = {{ payees = ["acme-corp", "globex"] }}
        rules = [
          {{ name = "big-payments", tools = ["send_money"], roles = ["finance"], effect = "require",
             scopes = ["payments:large"], when = [{{ arg = "/amount", min = 1000.01 }}, {{ arg = "/recipient", trusted = "payees" }}] }},
          {{ name = "payments", tools = ["send_money"], roles = ["finance"], effect = "allow",
             when = [{{ arg = "/amount", min = 0, max = 1000 }}, {{ arg = "/recipient", trusted = "payees" }}] }},
          {{ name = "no-untrusted-payees", tools = ["send_money"], effect = "deny", reason = "recipient is not a trusted payee" }},
          {{ name = "shell-for-ops", tools = ["shell"], roles = ["ops"], effect = "allow" }},
        ]
        "#,
        shell = toml_path(&plugin("shell-guard")),
        rules = toml_path(&plugin("tool-rules")),
    ))
}

fn call(tool: &str, roles: &[&str], args: Value, grants: &[&str]) -> lampart::chain::Decision {
    payments().decide(request(json!({
        "principal": {"agent": "billing-bot", "roles": roles, "session": "s1"},
        "action": {"tool": tool, "args": args},
        "grants": grants,
    })))
}

#[test]
fn a_small_payment_to_a_trusted_payee_is_allowed() {
    let decision = call(
        "send_money",
        &["finance"],
        json!({"recipient": "acme-corp", "amount": 120}),
        &[],
    );
    assert_eq!(decision.verdict, Verdict::Allow, "{decision:#?}");
    assert_eq!(decision.reason.to_string(), "allowed by step `rules`");
    // Inspectors run first, then policies.
    let names: Vec<&str> = decision.steps.iter().map(|s| s.name.as_str()).collect();
    assert_eq!(names, ["shell", "rules"]);
}

#[test]
fn an_untrusted_payee_is_denied_with_the_rules_reason() {
    let decision = call(
        "send_money",
        &["finance"],
        json!({"recipient": "mallory", "amount": 10}),
        &[],
    );
    assert_eq!(decision.verdict, Verdict::Deny);
    assert!(
        decision
            .reason
            .to_string()
            .contains("recipient is not a trusted payee"),
        "{}",
        decision.reason
    );
}

#[test]
fn a_large_payment_needs_elevation_until_the_scope_is_held() {
    let args = json!({"recipient": "globex", "amount": 5000});
    let decision = call("send_money", &["finance"], args.clone(), &[]);
    assert_eq!(
        decision.verdict,
        Verdict::ElevationRequired,
        "{decision:#?}"
    );
    assert_eq!(decision.missing_scopes(), ["payments:large".to_string()]);
    let decision = call("send_money", &["finance"], args, &["payments:large"]);
    assert_eq!(decision.verdict, Verdict::Allow, "{decision:#?}");
}

#[test]
fn the_wrong_role_falls_through_to_the_deny_rule() {
    let decision = call(
        "send_money",
        &["support"],
        json!({"recipient": "acme-corp", "amount": 5}),
        &[],
    );
    assert_eq!(decision.verdict, Verdict::Deny);
}

#[test]
fn a_destructive_command_is_denied_by_its_finding_even_for_ops() {
    let decision = call(
        "shell",
        &["ops"],
        json!({"cmd": "cd /tmp && sudo rm -rf / --no-preserve-root"}),
        &[],
    );
    assert_eq!(decision.verdict, Verdict::Deny, "{decision:#?}");
    let finding = decision
        .findings
        .iter()
        .find(|f| f.rule == "shell.recursive-delete")
        .expect("finding");
    assert_eq!(finding.severity, Severity::Critical);
    assert_eq!(finding.location.as_deref(), Some("/cmd"));
    assert!(
        decision
            .reason
            .to_string()
            .contains("shell.recursive-delete"),
        "{}",
        decision.reason
    );
    assert!(decision.labels.contains(&"destructive-command".to_string()));
    // The policy itself allowed: the finding is what denied.
    assert_eq!(step(&decision, "rules").verdict, StepVerdict::Allow);
}

#[test]
fn a_harmless_command_is_allowed_for_ops_only() {
    let decision = call("shell", &["ops"], json!({"cmd": "ls -la /var/log"}), &[]);
    assert_eq!(decision.verdict, Verdict::Allow, "{decision:#?}");
    assert!(
        decision.findings.iter().all(|f| f.step != "shell"),
        "{:#?}",
        decision.findings
    );
    let decision = call(
        "shell",
        &["finance"],
        json!({"cmd": "ls -la /var/log"}),
        &[],
    );
    assert_eq!(
        decision.verdict,
        Verdict::Deny,
        "no rule matches, the default denies"
    );
    assert!(
        decision
            .reason
            .to_string()
            .contains("chain default is deny"),
        "{}",
        decision.reason
    );
}

#[test]
fn decisions_are_deterministic_down_to_the_fuel() {
    let args = json!({"recipient": "acme-corp", "amount": 120});
    let first = call("send_money", &["finance"], args.clone(), &[]);
    let second = call("send_money", &["finance"], args, &[]);
    assert_eq!(first.verdict, second.verdict);
    assert_eq!(first.request, second.request);
    assert_eq!(first.revision, second.revision);
    for (a, b) in first.steps.iter().zip(&second.steps) {
        assert_eq!(
            (a.fuel, &a.verdict),
            (b.fuel, &b.verdict),
            "step `{}`",
            a.name
        );
    }
    assert_ne!(first.id, second.id);
}

/// A chain of the scripted test plugins.
fn scripted(inspector_settings: &str, policy_settings: &str, chain_section: &str) -> Chain {
    chain(&format!(
        r#"
        {chain_section}
        [[step]]
        name = "inspector"
        plugin = {inspector}
        settings = {inspector_settings}

        [[step]]
        name = "policy"
        plugin = {policy}
        settings = {policy_settings}
        "#,
        inspector = toml_path(&plugin("scripted-inspector")),
        policy = toml_path(&plugin("scripted-policy")),
    ))
}

#[test]
fn policies_receive_the_inspectors_findings_and_labels() {
    let chain = scripted(
        r#"{ findings = '[{"rule":"pii.email","severity":"low","message":"an email address","location":"/to"}]', labels = '["pii"]' }"#,
        r#"{ mode = "echo" }"#,
        "[chain]\ndefault = \"allow\"",
    );
    let decision = chain.decide(request(json!({
        "principal": {"agent": "a"}, "action": {"tool": "email", "args": {"to": "x@y.z"}},
        "grants": ["mail:send"], "labels": ["start"],
    })));
    let echo = step(&decision, "policy")
        .findings
        .first()
        .expect("echo finding")
        .message
        .clone();
    let echoed: Value = serde_json::from_str(&echo).expect("echo is JSON");
    assert_eq!(echoed["findings"], json!(["pii.email"]));
    assert_eq!(echoed["labels"], json!(["start", "pii"]));
    assert_eq!(echoed["grants"], json!(["mail:send"]));
    assert_eq!(echoed["args"], json!({"to": "x@y.z"}));
    assert_eq!(
        decision.verdict,
        Verdict::Allow,
        "low finding, default allow: {decision:#?}"
    );
}

#[test]
fn deny_at_sets_which_findings_deny() {
    let finding = r#"{ findings = '[{"rule":"r","severity":"medium","message":"m"}]' }"#;
    for (deny_at, expected) in [
        ("medium", Verdict::Deny),
        ("high", Verdict::Allow),
        ("never", Verdict::Allow),
        ("low", Verdict::Deny),
    ] {
        let chain = scripted(
            finding,
            r#"{ mode = "allow" }"#,
            &format!("[chain]\ndeny-at = \"{deny_at}\""),
        );
        let decision = chain.decide(request(
            json!({"principal": {"agent": "a"}, "action": {"tool": "t"}}),
        ));
        assert_eq!(decision.verdict, expected, "deny-at = {deny_at}");
    }
}

#[test]
fn a_monitor_inspectors_findings_do_not_count() {
    let chain = chain(&format!(
        r#"
        [[step]]
        name = "watch"
        plugin = {inspector}
        mode = "monitor"
        settings = {{ findings = '[{{"rule":"r","severity":"critical","message":"m"}}]' }}
        [[step]]
        name = "policy"
        plugin = {policy}
        settings = {{ mode = "allow" }}
        "#,
        inspector = toml_path(&plugin("scripted-inspector")),
        policy = toml_path(&plugin("scripted-policy")),
    ));
    let decision = chain.decide(request(
        json!({"principal": {"agent": "a"}, "action": {"tool": "t"}}),
    ));
    assert_eq!(decision.verdict, Verdict::Allow, "{decision:#?}");
    assert_eq!(
        step(&decision, "watch").findings.len(),
        1,
        "recorded all the same"
    );
    assert!(decision.findings.is_empty());
}

#[test]
fn when_every_policy_abstains_the_chain_default_applies() {
    let deny = scripted("{}", r#"{ mode = "abstain" }"#, "");
    let allow = scripted(
        "{}",
        r#"{ mode = "abstain" }"#,
        "[chain]\ndefault = \"allow\"",
    );
    let req = || request(json!({"principal": {"agent": "a"}, "action": {"tool": "t"}}));
    assert_eq!(deny.decide(req()).verdict, Verdict::Deny);
    assert_eq!(allow.decide(req()).verdict, Verdict::Allow);
}

#[test]
fn applies_to_limits_which_steps_run() {
    let chain = chain(&format!(
        r#"
        [[step]]
        name = "only-shell"
        plugin = {policy}
        applies-to = {{ tools = ["shell*"], phases = ["request"] }}
        settings = {{ mode = "deny" }}
        [[step]]
        name = "all"
        plugin = {policy}
        settings = {{ mode = "allow" }}
        "#,
        policy = toml_path(&plugin("scripted-policy")),
    ));
    let other = chain.decide(request(
        json!({"principal": {"agent": "a"}, "action": {"tool": "send_money"}}),
    ));
    assert_eq!(other.verdict, Verdict::Allow);
    assert!(other.steps.iter().all(|s| s.name != "only-shell"));
    let shell = chain.decide(request(
        json!({"principal": {"agent": "a"}, "action": {"tool": "shell.exec"}}),
    ));
    assert_eq!(shell.verdict, Verdict::Deny);
    let response = chain.decide(request(json!({
        "phase": "response", "principal": {"agent": "a"}, "action": {"tool": "shell.exec"}, "output": {"text": "ok"}
    })));
    assert_eq!(
        response.verdict,
        Verdict::Allow,
        "the shell step only sees requests"
    );
}

#[test]
fn redactions_apply_to_the_output_on_its_way_back() {
    let chain = scripted(
        r#"{ redactions = '[{"location":"/body","find":"AKIAIOSFODNN7EXAMPLE","replacement":"[REDACTED]"}]' }"#,
        r#"{ mode = "allow" }"#,
        "",
    );
    let decision = chain.decide(request(json!({
        "phase": "response", "principal": {"agent": "a"}, "action": {"tool": "fetch"},
        "output": {"json": {"body": "key=AKIAIOSFODNN7EXAMPLE; done"}}
    })));
    assert_eq!(decision.verdict, Verdict::Allow, "{decision:#?}");
    assert_eq!(
        decision.redacted,
        Some(json!({"body": "key=[REDACTED]; done"}))
    );
}

#[test]
fn a_redaction_of_something_absent_fails_closed() {
    let chain = scripted(
        r#"{ redactions = '[{"location":"/nope","replacement":"x"}]' }"#,
        r#"{ mode = "allow" }"#,
        "",
    );
    let decision = chain.decide(request(
        json!({"principal": {"agent": "a"}, "action": {"tool": "t", "args": {"a": "b"}}}),
    ));
    assert_eq!(decision.verdict, Verdict::Deny);
    assert_eq!(
        step(&decision, "inspector").error.as_ref().unwrap().kind,
        FailureKind::Output
    );
}

#[test]
fn invalid_tool_rules_settings_are_refused_at_load_with_the_plugins_message() {
    let err = crate::support::try_chain(&format!(
        "[[step]]\nname = \"rules\"\nplugin = {}\nsettings = {{ rules = [{{ name = \"x\", tools = [\"*\"], effect = \"allow\", maxx = 1 }}] }}\n",
        toml_path(&plugin("tool-rules"))
    ))
    .err()
    .expect("refused");
    let text = err.to_string();
    assert!(
        text.contains("step `rules`") && text.contains("maxx"),
        "{text}"
    );
}

#[test]
fn a_misspelled_setting_is_refused_at_load_not_silently_ignored() {
    let err = crate::support::try_chain(&format!(
        "[[step]]\nname = \"rules\"\nplugin = {}\nsettings = {{ rule = [] }}\n",
        toml_path(&plugin("tool-rules"))
    ))
    .err()
    .expect("refused");
    let text = err.to_string();
    assert!(
        text.contains("setting `rule`: unknown setting (known: `rules`"),
        "{text}"
    );
}

#[test]
fn redactions_that_grow_without_bound_fail_closed_before_the_host_builds_them() {
    // Each redaction replaces "a" with 4,096 "a"s: three of them would ask for 256 GiB.
    let grow = format!(
        r#"{{"location":"/x","find":"a","replacement":"{}"}}"#,
        "a".repeat(4096)
    );
    let chain = scripted(
        &format!("{{ redactions = '[{grow},{grow},{grow}]' }}"),
        r#"{ mode = "allow" }"#,
        "",
    );
    let decision = chain.decide(request(json!({
        "principal": {"agent": "a"}, "action": {"tool": "t", "args": {"x": "aaaa"}}
    })));
    assert_eq!(decision.verdict, Verdict::Deny);
    let error = step(&decision, "inspector").error.as_ref().unwrap();
    assert_eq!(error.kind, FailureKind::Output);
    assert!(error.message.contains("more than"), "{}", error.message);
    assert_eq!(
        decision.redacted, None,
        "nothing half-redacted is passed on"
    );
    // The host is unaffected: the next decision is normal.
    let chain = scripted("{}", r#"{ mode = "allow" }"#, "");
    let next = chain.decide(request(
        json!({"principal": {"agent": "a"}, "action": {"tool": "t"}}),
    ));
    assert_eq!(next.verdict, Verdict::Allow);
}

#[test]
fn masked_values_leave_no_trace_in_the_audit_record() {
    use lampart::record::{AuditKey, Masking, audit_record};
    let secret = "hunter2-0451";
    let chain = scripted(
        &format!(
            r#"{{ findings = '[{{"rule":"secret.{secret}","severity":"low","message":"saw {secret} in /cmd"}}]', labels = '["seen-{secret}"]' }}"#
        ),
        &format!(r#"{{ mode = "deny", reason = "will not run `{secret}`" }}"#),
        "",
    );
    let decision = chain.decide(request(json!({
        "principal": {"agent": "a"},
        "action": {"tool": "shell", "args": {"cmd": secret, "pin": 90210417, "user": "alice",
                   "note": format!("copy of {secret}"), "again": 90210417}}
    })));
    let masking = Masking {
        mask: vec!["/cmd".parse().unwrap(), "/pin".parse().unwrap()],
        hash: vec!["/user".parse().unwrap()],
        key: AuditKey::from_bytes([9; 32]),
    };
    let record = Value::Object(audit_record(&decision, &masking)).to_string();
    for trace in [secret, "90210417", "alice"] {
        assert!(!record.contains(trace), "`{trace}` is in {record}");
    }
    assert!(record.contains("will not run `***`"), "{record}");
    // The digests are keyed: a digest of the candidate value without the key is not there.
    let unkeyed = lampart::canonical::digest(&json!("alice"))
        .to_hex()
        .to_string();
    assert!(!record.contains(&unkeyed));
    assert!(record.contains(&masking.key.digest(&json!("alice"))));
}
