//! Unit tests of the rule logic.

use lampart_sdk::{Decision, Input, LogLevel, MapSettings, Verdict, testing};
use serde_json::{Value, json};

use super::*;

fn settings(rules: Value) -> MapSettings {
    MapSettings::new().with("rules", rules.to_string())
}

fn call(tool: &str, args: Value) -> Input {
    Input::builder(tool)
        .args(args)
        .agent("billing-bot")
        .roles(["finance"])
        .build()
}

fn run(s: &MapSettings, input: &Input) -> Decision {
    evaluate_with(s, input)
}

fn load_err(s: &MapSettings) -> String {
    load(s).unwrap_err()
}

fn payments() -> MapSettings {
    settings(json!([
        {"name": "small-payments", "tools": ["send_money"], "effect": "allow",
         "when": [{"arg": "/amount", "max": 100}]},
        {"name": "big-payments", "tools": ["send_money"], "effect": "require",
         "scopes": ["payments:large"], "when": [{"arg": "/amount", "min": 100.01}]},
        {"name": "no-money", "tools": ["send_*"], "effect": "deny"}
    ]))
}

#[test]
fn no_settings_abstains() {
    let d = run(&MapSettings::new(), &call("anything", json!({})));
    assert!(d.is_abstain());
    assert!(d.findings.is_empty());
}

#[test]
fn first_matching_rule_decides() {
    let s = payments();
    let d = run(&s, &call("send_money", json!({"amount": 50})));
    assert!(d.is_allow());
    assert_eq!(d.findings[0].rule, "tool-rules.match");
    assert!(d.findings[0].message.contains("small-payments"));
    let d = run(&s, &call("send_money", json!({"amount": 5000})));
    assert_eq!(d.required_scopes().unwrap(), ["payments:large"]);
    // Wrong type: neither amount rule matches, the catch-all denies.
    let d = run(&s, &call("send_money", json!({"amount": "5000"})));
    assert_eq!(d.deny_reason(), Some("denied by rule `no-money`"));
    let d = run(&s, &call("send_email", json!({})));
    assert_eq!(d.deny_reason(), Some("denied by rule `no-money`"));
    assert!(run(&s, &call("fs.read", json!({}))).is_abstain());
}

#[test]
fn bounds_are_inclusive() {
    let s = settings(json!([{"name": "r", "tools": ["*"], "effect": "allow",
        "when": [{"arg": "/n", "min": 1, "max": 10}]}]));
    for (n, ok) in [
        (0.99, false),
        (1.0, true),
        (5.5, true),
        (10.0, true),
        (10.01, false),
    ] {
        let d = run(&s, &call("t", json!({ "n": n })));
        assert_eq!(d.is_allow(), ok, "n = {n}");
    }
    assert!(run(&s, &call("t", json!({"n": 10}))).is_allow());
    assert!(!run(&s, &call("t", json!({"n": null}))).is_allow());
    assert!(!run(&s, &call("t", json!({"n": [5]}))).is_allow());
    assert!(!run(&s, &call("t", json!({}))).is_allow());
}

#[test]
fn agents_and_roles() {
    let s = settings(json!([
        {"name": "bots", "tools": ["*"], "agents": ["billing-*", "ops"], "roles": ["admin", "finance"],
         "effect": "allow"}
    ]));
    let input = |agent: &str, roles: &[&str]| {
        Input::builder("x")
            .agent(agent)
            .roles(roles.iter().copied())
            .build()
    };
    assert!(run(&s, &input("billing-bot", &["finance"])).is_allow());
    assert!(run(&s, &input("ops", &["reader", "admin"])).is_allow());
    assert!(run(&s, &input("billing-bot", &["reader"])).is_abstain());
    assert!(run(&s, &input("billing-bot", &[])).is_abstain());
    assert!(run(&s, &input("marketing-bot", &["finance"])).is_abstain());
}

#[test]
fn session_labels_gate_a_rule() {
    let s = settings(json!([
        {"name": "tainted-send", "tools": ["send_*"], "labels": ["untrusted-content"],
         "effect": "require", "scopes": ["email:external"]},
        {"name": "send", "tools": ["send_*"], "effect": "allow"}
    ]));
    let input = |labels: &[&str]| {
        Input::builder("send_email")
            .labels(labels.iter().copied())
            .build()
    };
    assert!(run(&s, &input(&[])).is_allow());
    assert!(run(&s, &input(&["pii"])).is_allow());
    assert_eq!(
        run(&s, &input(&["pii", "untrusted-content"])).required_scopes(),
        Some(&["email:external".to_owned()][..])
    );
    assert_eq!(
        load_err(&settings(
            json!([{"name": "r", "tools": ["*"], "labels": [], "effect": "allow"}])
        )),
        "setting `rules`: rule 1 (`r`): `labels` must not be empty"
    );
}

#[test]
fn a_matching_rule_adds_labels() {
    let s = settings(json!([
        {"name": "inbox", "tools": ["read_inbox"], "add-labels": ["untrusted-content", "mail"],
         "effect": "allow"},
        {"name": "send", "tools": ["send_*"], "effect": "allow"}
    ]));
    let read = run(&s, &Input::builder("read_inbox").build());
    assert!(read.is_allow());
    assert_eq!(
        read.labels,
        vec!["untrusted-content".to_owned(), "mail".to_owned()]
    );
    assert!(
        run(&s, &Input::builder("send_email").build())
            .labels
            .is_empty()
    );
    assert_eq!(
        load_err(&settings(
            json!([{"name": "r", "tools": ["*"], "add-labels": [], "effect": "allow"}])
        )),
        "setting `rules`: rule 1 (`r`): `add-labels` must not be empty"
    );
}

#[test]
fn tool_globs() {
    let s = settings(
        json!([{"name": "fs", "tools": ["fs.*", "read_?ile"], "effect": "deny",
        "reason": "no files"}]),
    );
    assert_eq!(
        run(&s, &call("fs.write", json!({}))).deny_reason(),
        Some("no files")
    );
    assert_eq!(
        run(&s, &call("read_file", json!({}))).deny_reason(),
        Some("no files")
    );
    assert!(run(&s, &call("fs", json!({}))).is_abstain());
    assert!(run(&s, &call("Fs.write", json!({}))).is_abstain());
}

#[test]
fn equals_and_one_of() {
    let s = settings(json!([
        {"name": "eq-null", "tools": ["a"], "effect": "allow", "when": [{"arg": "/x", "equals": null}]},
        {"name": "eq-num", "tools": ["b"], "effect": "allow", "when": [{"arg": "/x", "equals": 1}]},
        {"name": "eq-obj", "tools": ["c"], "effect": "allow",
         "when": [{"arg": "/x", "equals": {"k": [1, "two"]}}]},
        {"name": "one-of", "tools": ["d"], "effect": "allow",
         "when": [{"arg": "/x", "one-of": ["eur", "usd", 3]}]}
    ]));
    assert!(run(&s, &call("a", json!({"x": null}))).is_allow());
    assert!(!run(&s, &call("a", json!({}))).is_allow());
    assert!(run(&s, &call("b", json!({"x": 1.0}))).is_allow());
    assert!(run(&s, &call("b", json!({"x": 1}))).is_allow());
    assert!(!run(&s, &call("b", json!({"x": "1"}))).is_allow());
    assert!(!run(&s, &call("b", json!({"x": true}))).is_allow());
    assert!(run(&s, &call("c", json!({"x": {"k": [1.0, "two"]}}))).is_allow());
    assert!(!run(&s, &call("c", json!({"x": {"k": [1, "two"], "extra": 0}}))).is_allow());
    assert!(run(&s, &call("d", json!({"x": "usd"}))).is_allow());
    assert!(run(&s, &call("d", json!({"x": 3.0}))).is_allow());
    assert!(!run(&s, &call("d", json!({"x": "USD"}))).is_allow());
}

#[test]
fn matches_is_whole_string() {
    let s = settings(json!([{"name": "iban", "tools": ["*"], "effect": "allow",
        "when": [{"arg": "/iban", "matches": "DE[0-9]{20}|FR[0-9]+"}]}]));
    assert!(run(&s, &call("t", json!({"iban": "DE12345678901234567890"}))).is_allow());
    assert!(run(&s, &call("t", json!({"iban": "FR1"}))).is_allow());
    // Alternation is grouped: "FR1" anchored, not "DE…" prefix or "…FR1" suffix.
    assert!(!run(&s, &call("t", json!({"iban": "xFR1"}))).is_allow());
    assert!(!run(&s, &call("t", json!({"iban": "DE12345678901234567890x"}))).is_allow());
    assert!(!run(&s, &call("t", json!({"iban": "DE1234567890123456789\n"}))).is_allow());
    assert!(!run(&s, &call("t", json!({"iban": 12}))).is_allow());
}

#[test]
fn trusted_lists() {
    let s = settings(
        json!([{"name": "payees", "tools": ["send_money"], "effect": "allow",
        "when": [{"arg": "/to", "trusted": "payees"}, {"arg": "/amount", "max": 1000}]}]),
    )
    .with(
        "trusted",
        json!({"payees": ["ACME", "Globex", 42]}).to_string(),
    )
    .with("default", "deny");
    assert!(run(&s, &call("send_money", json!({"to": "ACME", "amount": 10}))).is_allow());
    assert!(run(&s, &call("send_money", json!({"to": 42, "amount": 10}))).is_allow());
    assert!(run(&s, &call("send_money", json!({"to": 42.0, "amount": 10}))).is_allow());
    let d = run(&s, &call("send_money", json!({"to": "Evil", "amount": 10})));
    assert_eq!(
        d.deny_reason(),
        Some("no rule matches tool `send_money` (default: deny)")
    );
    assert!(d.findings.is_empty());
    assert!(
        !run(
            &s,
            &call("send_money", json!({"to": ["ACME"], "amount": 10}))
        )
        .is_allow()
    );
    assert!(
        !run(
            &s,
            &call("send_money", json!({"to": "ACME", "amount": 1e6}))
        )
        .is_allow()
    );
}

#[test]
fn present() {
    let s = settings(json!([
        {"name": "needs-ticket", "tools": ["deploy"], "effect": "allow",
         "when": [{"arg": "/ticket", "present": true}, {"arg": "/force", "present": false}]}
    ]));
    assert!(run(&s, &call("deploy", json!({"ticket": "T-1"}))).is_allow());
    assert!(run(&s, &call("deploy", json!({"ticket": null}))).is_allow());
    assert!(
        !run(
            &s,
            &call("deploy", json!({"ticket": "T-1", "force": false}))
        )
        .is_allow()
    );
    assert!(!run(&s, &call("deploy", json!({}))).is_allow());
}

#[test]
fn nested_pointers_and_escapes() {
    let s = settings(json!([{"name": "n", "tools": ["*"], "effect": "allow",
        "when": [{"arg": "/payee/accounts/0/a~1b", "equals": "x"}, {"arg": "", "present": true}]}]));
    assert!(
        run(
            &s,
            &call("t", json!({"payee": {"accounts": [{"a/b": "x"}]}}))
        )
        .is_allow()
    );
    assert!(!run(&s, &call("t", json!({"payee": {"accounts": []}}))).is_allow());
}

#[test]
fn a_numeric_token_indexes_arrays_only() {
    let s = settings(
        json!([{"name": "first-recipient", "tools": ["send_email"], "effect": "allow",
        "when": [{"arg": "/recipients/0", "equals": "trusted@corp"}]}]),
    );
    let list = call("send_email", json!({"recipients": ["trusted@corp"]}));
    assert!(run(&s, &list).is_allow());
    // An object with a member "0" is not the first element of a list.
    let object = call(
        "send_email",
        json!({"recipients": {"0": "trusted@corp", "x": "attacker@evil"}}),
    );
    assert!(run(&s, &object).is_abstain());
    let present = settings(
        json!([{"name": "has-first", "tools": ["*"], "effect": "allow",
        "when": [{"arg": "/recipients/0", "present": false}]}]),
    );
    assert!(run(&present, &object).is_allow(), "absent, not present");
}

#[test]
fn default_verdicts() {
    let input = call("x", json!({}));
    let with = |v: &str| MapSettings::new().with("default", v);
    assert!(run(&with("allow"), &input).is_allow());
    assert!(run(&with("abstain"), &input).is_abstain());
    assert!(run(&with("\"deny\""), &input).deny_reason().is_some());
    assert_eq!(
        load_err(&with("maybe")),
        "setting `default`: unknown verdict `maybe` (expected abstain, allow or deny)"
    );
}

#[test]
fn invalid_args_fail_closed_only_where_conditions_matter() {
    let s = settings(json!([
        {"name": "reads", "tools": ["fs.read"], "effect": "allow"},
        {"name": "small", "tools": ["send_money"], "effect": "allow",
         "when": [{"arg": "/amount", "max": 10}]}
    ]));
    let bad = |tool: &str| Input::builder(tool).args_text("{oops").build();
    assert!(run(&s, &bad("fs.read")).is_allow());
    let d = run(&s, &bad("send_money"));
    assert!(
        d.deny_reason()
            .unwrap()
            .starts_with("rule `small` has conditions but the arguments")
    );
    assert!(run(&s, &bad("other")).is_abstain());
}

#[test]
fn effects_and_reasons() {
    let s = settings(json!([
        {"name": "d1", "tools": ["a"], "effect": "deny", "reason": "custom"},
        {"name": "d2", "tools": ["b"], "effect": "deny"},
        {"name": "r", "tools": ["c"], "effect": "require", "scopes": ["x", "y"]}
    ]));
    assert_eq!(run(&s, &call("a", json!({}))).deny_reason(), Some("custom"));
    assert_eq!(
        run(&s, &call("b", json!({}))).deny_reason(),
        Some("denied by rule `d2`")
    );
    let d = run(&s, &call("c", json!({})));
    assert_eq!(d.verdict, Verdict::Require(vec!["x".into(), "y".into()]));
    assert_eq!(
        d.findings[0].message,
        "rule `r` requires scopes for tool `c`"
    );
}

#[test]
fn rules_may_be_a_json_string_or_toml_array() {
    // A TOML string holding JSON and a TOML array both arrive as JSON text.
    let text = r#"[{"name":"x","tools":["*"],"effect":"allow"}]"#;
    assert!(
        run(
            &MapSettings::new().with("rules", text),
            &call("t", json!({}))
        )
        .is_allow()
    );
}

// ---- invalid settings ----

fn err_of(rules: Value) -> String {
    load_err(&settings(rules))
}

#[test]
fn unknown_fields_are_errors() {
    let e = err_of(json!([
        {"name": "ok", "tools": ["*"], "effect": "allow"},
        {"name": "big-payments", "tools": ["send_money"], "effect": "deny",
         "when": [{"arg": "/amount", "maxx": 3}]}
    ]));
    assert!(
        e.starts_with(
            "setting `rules`: rule 2 (`big-payments`): condition 1: unknown field `maxx`, expected one of"
        ),
        "{e}"
    );
    let e = err_of(json!([{"name": "r", "tools": ["*"], "effect": "allow", "tool": "x"}]));
    assert!(
        e.starts_with("setting `rules`: rule 1 (`r`): unknown field `tool`"),
        "{e}"
    );
}

#[test]
fn missing_and_wrong_fields_are_errors() {
    let cases = [
        (
            json!([{"tools": ["*"], "effect": "allow"}]),
            "setting `rules`: rule 1: missing field `name`",
        ),
        (
            json!([{"name": "r", "effect": "allow"}]),
            "setting `rules`: rule 1 (`r`): missing field `tools`",
        ),
        (
            json!([{"name": "r", "tools": ["*"]}]),
            "setting `rules`: rule 1 (`r`): missing field `effect`",
        ),
        (
            json!([{"name": "r", "tools": "*", "effect": "allow"}]),
            "setting `rules`: rule 1 (`r`): invalid type: string \"*\", expected a sequence",
        ),
        (
            json!([{"name": "r", "tools": [], "effect": "allow"}]),
            "setting `rules`: rule 1 (`r`): `tools` must not be empty",
        ),
        (
            json!([{"name": "r", "tools": ["*"], "agents": [], "effect": "allow"}]),
            "setting `rules`: rule 1 (`r`): `agents` must not be empty",
        ),
        (
            json!([{"name": "r", "tools": ["*"], "roles": [], "effect": "allow"}]),
            "setting `rules`: rule 1 (`r`): `roles` must not be empty",
        ),
        (
            json!([{"name": " ", "tools": ["*"], "effect": "allow"}]),
            "setting `rules`: rule 1 (` `): `name` must not be empty",
        ),
        (
            json!([{"name": "r", "tools": ["*"], "effect": "require"}]),
            "setting `rules`: rule 1 (`r`): effect `require` needs a non-empty `scopes` list",
        ),
        (
            json!([{"name": "r", "tools": ["*"], "effect": "require", "scopes": []}]),
            "setting `rules`: rule 1 (`r`): effect `require` needs a non-empty `scopes` list",
        ),
        (
            json!([{"name": "r", "tools": ["*"], "effect": "allow", "scopes": ["x"]}]),
            "setting `rules`: rule 1 (`r`): `scopes` is only for effect `require`",
        ),
        (
            json!([{"name": "r", "tools": ["*"], "effect": "allow", "reason": "x"}]),
            "setting `rules`: rule 1 (`r`): `reason` is only for effect `deny`",
        ),
        (
            json!(["nope"]),
            "setting `rules`: rule 1: expected an object",
        ),
        (
            json!({"name": "r"}),
            "setting `rules`: expected a JSON array of rules",
        ),
    ];
    for (rules, want) in cases {
        let got = err_of(rules.clone());
        assert_eq!(got, want, "rules: {rules}");
    }
    let e = err_of(json!([{"name": "r", "tools": ["*"], "effect": "permit"}]));
    assert!(
        e.starts_with("setting `rules`: rule 1 (`r`): unknown variant `permit`"),
        "{e}"
    );
}

#[test]
fn bad_conditions_are_errors() {
    let rule = |cond: Value| json!([{"name": "c", "tools": ["*"], "effect": "allow", "when": [{"arg": "/ok", "present": true}, cond]}]);
    let p = "setting `rules`: rule 1 (`c`): condition 2: ";
    let cases = [
        (
            json!({"arg": "/x"}),
            "no test (expected one of `equals`, `one-of`, `matches`, `min`/`max`, `trusted`, `present`, `type`, `starts-with`, `ends-with`, `contains`, `min-length`/`max-length`, `equals-arg`, `min-arg`, `max-arg`, `every`, `any`, `not`, `any-of`, `all-of`, `label`)",
        ),
        (
            json!({"arg": "/x", "equals": 1, "matches": "a"}),
            "more than one test (`equals`, `matches`); use one condition per test, or `all-of`",
        ),
        (
            json!({"arg": "amount", "equals": 1}),
            "`arg` must be a JSON pointer such as `/amount`, not `amount`",
        ),
        (
            json!({"arg": "/x", "min": 5, "max": 1}),
            "`min` (5) is greater than `max` (1)",
        ),
        (
            json!({"arg": "/x", "trusted": "nope"}),
            "`trusted`: no list `nope` in setting `trusted`",
        ),
        (json!({"equals": 1}), "missing field `arg`"),
        (json!("x"), "expected an object"),
    ];
    for (cond, want) in cases {
        assert_eq!(
            err_of(rule(cond.clone())),
            format!("{p}{want}"),
            "condition: {cond}"
        );
    }
    let e = err_of(rule(json!({"arg": "/x", "matches": "("})));
    assert!(
        e.starts_with(&format!("{p}`matches`: invalid regex `(`")),
        "{e}"
    );
    let e = err_of(rule(json!({"arg": "/x", "min": "5"})));
    assert!(
        e.starts_with(&format!("{p}invalid type: string \"5\", expected f64")),
        "{e}"
    );
    let e = err_of(rule(json!({"arg": "/x", "present": "yes"})));
    assert!(e.starts_with(&format!("{p}invalid type: string")), "{e}");
}

#[test]
fn bad_trusted_and_rules_json() {
    let s = MapSettings::new().with("trusted", r#"{"payees": ["a", {"b": 1}]}"#);
    assert_eq!(
        load_err(&s),
        "setting `trusted`: list `payees`: item 2 is not a string or a number"
    );
    let s = MapSettings::new().with("trusted", "[1]");
    assert!(
        load_err(&s).starts_with("setting `trusted`: invalid type"),
        "{}",
        load_err(&s)
    );
    let s = MapSettings::new().with("rules", "[{");
    assert!(
        load_err(&s).starts_with("setting `rules`: EOF"),
        "{}",
        load_err(&s)
    );
}

#[test]
fn evaluate_with_invalid_settings_denies_with_the_message() {
    let s = settings(json!([{"name": "r", "tools": ["*"], "effect": "allow", "oops": 1}]));
    let d = run(&s, &call("t", json!({})));
    assert_eq!(d.deny_reason(), Some(load_err(&s).as_str()));
}

#[test]
fn describe_logs_and_panics_on_invalid_settings() {
    let bad =
        r#"[{"name":"big-payments","tools":["*"],"effect":"deny","when":[{"arg":"/a","maxx":1}]}]"#;
    testing::take_logs();
    let result = std::panic::catch_unwind(|| testing::with_settings(&[("rules", bad)], describe));
    assert!(result.is_err());
    let logs = testing::take_logs();
    assert_eq!(logs.len(), 1);
    assert_eq!(logs[0].0, LogLevel::Error);
    assert!(logs[0].1.starts_with(
        "setting `rules`: rule 1 (`big-payments`): condition 1: unknown field `maxx`"
    ));

    let input = call("t", json!({}));
    let d = testing::with_settings(&[("rules", bad)], || evaluate(&input));
    assert_eq!(d.deny_reason(), Some(logs[0].1.as_str()));
}

#[test]
fn describe_with_valid_settings() {
    let info = testing::with_settings(&[("default", "deny")], describe);
    assert_eq!(info.name, "tool-rules");
    assert_eq!(
        info.phases,
        [
            lampart_sdk::Phase::Request,
            lampart_sdk::Phase::Response,
            lampart_sdk::Phase::Elevation
        ]
    );
    assert_eq!(info.tools, ["*"]);
    assert!(testing::take_logs().is_empty());
}

#[test]
fn json_eq_numbers() {
    use crate::eval::json_eq;
    assert!(json_eq(&json!(1), &json!(1.0)));
    assert!(json_eq(&json!(u64::MAX), &json!(u64::MAX)));
    assert!(!json_eq(&json!(u64::MAX), &json!(u64::MAX - 1)));
    assert!(json_eq(&json!(-3), &json!(-3.0)));
    assert!(!json_eq(&json!(1), &json!("1")));
    assert!(json_eq(&json!([1, {"a": 2}]), &json!([1.0, {"a": 2.0}])));
}

#[test]
fn a_misspelled_setting_is_an_error() {
    let settings = MapSettings::new().with("rule", "[]");
    let e = load(&settings).expect_err("refused");
    assert_eq!(
        e,
        "setting `rule`: unknown setting (known: `rules`, `trusted`, `default`)"
    );
}

#[test]
fn requests_for_privileges_are_decided_only_by_rules_naming_the_elevation_tool() {
    let s = settings(json!([
        {"name": "everything", "tools": ["*"], "effect": "allow"},
        {"name": "finance-elevates", "tools": ["lampart.elevate"], "roles": ["finance"],
         "effect": "allow", "when": [{"arg": "/scopes/0", "equals": "payments:large"}]},
    ]))
    .with("default", "\"deny\"");
    let ask = |scope: &str| {
        Input::builder("lampart.elevate")
            .phase(Phase::Elevation)
            .args(json!({"scopes": [scope], "justification": "j", "ttl": 600}))
            .agent("billing-bot")
            .roles(["finance"])
            .build()
    };
    let d = run(&s, &ask("payments:large"));
    assert!(d.is_allow());
    assert!(d.findings[0].message.contains("finance-elevates"));
    // The catch-all does not grant, and the deny default does not refuse: abstain.
    assert!(run(&s, &ask("admin")).is_abstain());
    // Tool calls are decided as before.
    assert!(run(&s, &call("anything", json!({}))).is_allow());
}
