//! Unit tests of the conditions on arrays, the combinators, case folding, type, text,
//! length and argument-comparison tests, labels as conditions, and regexes compiled when
//! first reached.

use lampart_sdk::{Decision, Input, MapSettings};
use serde_json::{Value, json};

use super::*;

fn allow_when(when: Value) -> MapSettings {
    MapSettings::new().with(
        "rules",
        json!([{"name": "r", "tools": ["*"], "effect": "allow", "when": when}]).to_string(),
    )
}

fn decide_on(s: &MapSettings, args: Value) -> Decision {
    evaluate_with(s, &Input::builder("t").args(args).build())
}

fn allowed(s: &MapSettings, args: Value) -> bool {
    decide_on(s, args).is_allow()
}

fn err(when: Value) -> String {
    load(&allow_when(when)).unwrap_err()
}

#[test]
fn every_element_of_a_list() {
    let s = allow_when(json!([{"arg": "/recipients", "every":
        {"ends-with": "@corp.example", "ignore-case": true}}]));
    assert!(allowed(
        &s,
        json!({"recipients": ["a@corp.example", "B@CORP.Example"]})
    ));
    assert!(!allowed(
        &s,
        json!({"recipients": ["a@corp.example", "x@evil.example"]})
    ));
    // An empty list passes `every`: pair it with `min-length` where that matters.
    assert!(allowed(&s, json!({"recipients": []})));
    // Not a list: an object with index-like keys, a bare string, nothing.
    assert!(!allowed(&s, json!({"recipients": {"0": "a@corp.example"}})));
    assert!(!allowed(&s, json!({"recipients": "a@corp.example"})));
    assert!(!allowed(&s, json!({})));
    // An element of the wrong type fails its test.
    assert!(!allowed(&s, json!({"recipients": ["a@corp.example", 7]})));
}

#[test]
fn any_element_and_element_pointers() {
    let s = allow_when(json!([{"arg": "/items", "any": [
        {"arg": "/sku", "starts-with": "GIFT-"},
        {"arg": "/qty", "min": 10}
    ]}]));
    assert!(allowed(
        &s,
        json!({"items": [{"sku": "A", "qty": 50}, {"sku": "GIFT-1", "qty": 10}]})
    ));
    // The two conditions must hold on the same element.
    assert!(!allowed(
        &s,
        json!({"items": [{"sku": "GIFT-1", "qty": 1}, {"sku": "A", "qty": 50}]})
    ));
    assert!(!allowed(&s, json!({"items": []})));
    assert!(!allowed(&s, json!({"items": {"sku": "GIFT-1", "qty": 10}})));
}

#[test]
fn nested_lists() {
    let s = allow_when(
        json!([{"arg": "/batches", "every": {"arg": "/to", "every": {"trusted": "payees"}}}]),
    );
    let s = s.with("trusted", r#"{"payees": ["acme", "globex"]}"#);
    assert!(allowed(
        &s,
        json!({"batches": [{"to": ["acme"]}, {"to": ["globex", "acme"]}]})
    ));
    assert!(!allowed(
        &s,
        json!({"batches": [{"to": ["acme"]}, {"to": ["initech"]}]})
    ));
}

#[test]
fn not_any_of_all_of() {
    let s = allow_when(json!([
        {"not": {"arg": "/path", "starts-with": "/etc/"}},
        {"any-of": [{"arg": "/mode", "equals": "read"}, {"all-of": [
            {"arg": "/mode", "equals": "write"}, {"arg": "/path", "starts-with": "/tmp/"}]}]}
    ]));
    assert!(allowed(&s, json!({"path": "/home/a", "mode": "read"})));
    assert!(allowed(&s, json!({"path": "/tmp/x", "mode": "write"})));
    assert!(!allowed(&s, json!({"path": "/home/a", "mode": "write"})));
    assert!(!allowed(&s, json!({"path": "/etc/passwd", "mode": "read"})));
    // `not` of a test on a missing argument holds: the test is false.
    assert!(allowed(&s, json!({"mode": "read"})));
}

#[test]
fn labels_as_conditions() {
    // `send_*` to outside addresses needs a scope once the session read untrusted content.
    let s = MapSettings::new().with(
        "rules",
        json!([
            {"name": "tainted-external", "tools": ["send_*"], "effect": "require",
             "scopes": ["email:external"],
             "when": [{"label": "untrusted-content"},
                      {"not": {"arg": "/to", "every": {"ends-with": "@corp.example"}}}]},
            {"name": "send", "tools": ["send_*"], "effect": "allow"}
        ])
        .to_string(),
    );
    let call = |to: Value, labels: &[&str]| {
        evaluate_with(
            &s,
            &Input::builder("send_email")
                .args(json!({ "to": to }))
                .labels(labels.iter().copied())
                .build(),
        )
    };
    assert!(call(json!(["x@evil.example"]), &[]).is_allow());
    assert!(call(json!(["a@corp.example"]), &["untrusted-content"]).is_allow());
    assert_eq!(
        call(
            json!(["a@corp.example", "x@evil.example"]),
            &["untrusted-content"]
        )
        .required_scopes(),
        Some(&["email:external".to_owned()][..])
    );
    // Not a list of company addresses: a bare string, an object, nothing at all.
    for to in [
        json!("x@evil.example"),
        json!({"0": "x@evil.example"}),
        json!(null),
    ] {
        assert_eq!(
            call(to.clone(), &["untrusted-content"]).required_scopes(),
            Some(&["email:external".to_owned()][..]),
            "{to}"
        );
    }
    assert!(call(json!([]), &["untrusted-content"]).is_allow());
    let s = allow_when(json!([{"not": {"label": "quarantine-review"}}]));
    let with = |labels: &[&str]| {
        evaluate_with(
            &s,
            &Input::builder("t").labels(labels.iter().copied()).build(),
        )
        .is_allow()
    };
    assert!(with(&[]));
    assert!(!with(&["quarantine-review"]));
}

#[test]
fn ignore_case() {
    let s =
        allow_when(json!([{"arg": "/currency", "one-of": ["EUR", "usd"], "ignore-case": true}]));
    for (c, ok) in [("eur", true), ("USD", true), ("Eur", true), ("GBP", false)] {
        assert_eq!(allowed(&s, json!({ "currency": c })), ok, "{c}");
    }
    let s = allow_when(json!([{"arg": "/to", "trusted": "payees", "ignore-case": true}]))
        .with("trusted", r#"{"payees": ["ACME Corp"]}"#);
    assert!(allowed(&s, json!({"to": "acme corp"})));
    assert!(!allowed(&s, json!({"to": "acme corp."})));
    let s =
        allow_when(json!([{"arg": "/host", "matches": "[a-z]+\\.example", "ignore-case": true}]));
    assert!(allowed(&s, json!({"host": "WWW.Example"})));
    // Only ASCII letters fold: beyond them, characters must be the same, so that a
    // look-alike never passes for a trusted name.
    let s = allow_when(json!([{"arg": "/name", "equals": "Straße", "ignore-case": true}]));
    assert!(allowed(&s, json!({"name": "STRAßE"})));
    let s = allow_when(json!([{"arg": "/city", "matches": "münchen", "ignore-case": true}]));
    assert!(allowed(&s, json!({"city": "MüNCHEN"})));
    assert!(!allowed(&s, json!({"city": "MÜNCHEN"})));
    let s = allow_when(json!([{"arg": "/to", "trusted": "payees", "ignore-case": true}]))
        .with("trusted", r#"{"payees": ["kraken-ltd"]}"#);
    assert!(allowed(&s, json!({"to": "Kraken-LTD"})));
    for look_alike in ["\u{212A}raken-ltd", "kraken-\u{13DE}td"] {
        assert!(!allowed(&s, json!({ "to": look_alike })), "{look_alike}");
    }
    let s = allow_when(json!([{"arg": "/to", "starts-with": "k", "ignore-case": true}]));
    assert!(!allowed(&s, json!({"to": "\u{212A}raken"})));
    // Without it, case matters.
    let s = allow_when(json!([{"arg": "/currency", "equals": "EUR"}]));
    assert!(!allowed(&s, json!({"currency": "eur"})));
    assert_eq!(
        err(json!([{"arg": "/n", "min": 1, "ignore-case": true}])),
        "setting `rules`: rule 1 (`r`): condition 1: `ignore-case` applies only to `equals`, `one-of`, `matches`, `trusted`, `starts-with`, `ends-with`, `contains` and `equals-arg`"
    );
}

#[test]
fn types() {
    let s = |t: &str| allow_when(json!([{"arg": "/v", "type": t}]));
    let cases = [
        ("string", json!("x"), true),
        ("string", json!(1), false),
        ("number", json!(1.5), true),
        ("integer", json!(3), true),
        ("integer", json!(3.0), true),
        ("integer", json!(3.5), false),
        ("integer", json!("3"), false),
        ("boolean", json!(false), true),
        ("array", json!([]), true),
        ("array", json!({"0": 1}), false),
        ("object", json!({}), true),
        ("object", json!([]), false),
        ("null", json!(null), true),
    ];
    for (t, v, ok) in cases {
        assert_eq!(allowed(&s(t), json!({ "v": v })), ok, "{t} {v}");
    }
    assert!(!allowed(&s("null"), json!({})));
    assert!(
        err(json!([{"arg": "/v", "type": "list"}])).ends_with(
            "`type`: unknown type `list` (expected string, number, integer, boolean, array, object or null)"
        )
    );
}

#[test]
fn text_and_length() {
    let s = allow_when(json!([{"arg": "/cmd", "contains": "--dry-run"}]));
    assert!(allowed(&s, json!({"cmd": "deploy --dry-run now"})));
    assert!(!allowed(&s, json!({"cmd": "deploy now"})));
    assert!(!allowed(&s, json!({"cmd": ["--dry-run"]})));
    let s = allow_when(json!([{"arg": "/to", "min-length": 1, "max-length": 3}]));
    assert!(!allowed(&s, json!({"to": []})));
    assert!(allowed(&s, json!({"to": ["a", "b", "c"]})));
    assert!(!allowed(&s, json!({"to": ["a", "b", "c", "d"]})));
    assert!(allowed(&s, json!({"to": "äöü"})), "characters, not bytes");
    assert!(!allowed(&s, json!({"to": {"a": 1}})));
    assert!(!allowed(&s, json!({"to": 12})));
    assert!(
        err(json!([{"arg": "/to", "min-length": 4, "max-length": 3}]))
            .ends_with("`min-length` (4) is greater than `max-length` (3)")
    );
}

#[test]
fn comparing_two_arguments() {
    let s = allow_when(json!([
        {"arg": "/amount", "max-arg": "/approved_limit"},
        {"arg": "/to", "equals-arg": "/confirmed_to", "ignore-case": true}
    ]));
    assert!(allowed(
        &s,
        json!({"amount": 50, "approved_limit": 50.0, "to": "Acme", "confirmed_to": "acme"})
    ));
    assert!(!allowed(
        &s,
        json!({"amount": 51, "approved_limit": 50, "to": "acme", "confirmed_to": "acme"})
    ));
    assert!(!allowed(
        &s,
        json!({"amount": 5, "approved_limit": 50, "to": "acme", "confirmed_to": "globex"})
    ));
    assert!(!allowed(
        &s,
        json!({"amount": 5, "approved_limit": "50", "to": "acme", "confirmed_to": "acme"})
    ));
    assert!(!allowed(
        &s,
        json!({"amount": 5, "to": "acme", "confirmed_to": "acme"})
    ));
    // Inside `every`, `arg` is relative to the element and `*-arg` to the call's arguments.
    let s = allow_when(json!([{"arg": "/lines", "every": {"arg": "/price", "min-arg": "/floor"}}]));
    assert!(allowed(
        &s,
        json!({"floor": 10, "lines": [{"price": 10}, {"price": 12}]})
    ));
    assert!(!allowed(
        &s,
        json!({"floor": 10, "lines": [{"price": 10}, {"price": 9}]})
    ));
}

#[test]
fn structure_errors() {
    let p = "setting `rules`: rule 1 (`r`): condition 1: ";
    let cases = [
        (
            json!({"arg": "/x", "not": {"arg": "/y", "present": true}}),
            "`not` takes no `arg`",
        ),
        (json!({"arg": "/x", "label": "l"}), "`label` takes no `arg`"),
        (json!({"label": ""}), "`label` must not be empty"),
        (json!({"any-of": []}), "`any-of` must not be empty"),
        (
            json!({"any-of": {"arg": "/x", "present": true}}),
            "`any-of`: expected an array of conditions",
        ),
        (
            json!({"arg": "/x", "every": 3}),
            "`every`: expected a condition or an array of conditions",
        ),
        (json!({"every": {"present": true}}), "missing field `arg`"),
        (
            json!({"not": {"present": true}}),
            "`not`: missing field `arg`",
        ),
        (
            json!({"arg": "/x", "every": [{"present": true}, {"equals": 1, "type": "number"}]}),
            "`every` 2: more than one test (`equals`, `type`); use one condition per test, or `all-of`",
        ),
        (
            json!({"any-of": [{"arg": "/x", "matches": "a", "min": 1}]}),
            "`any-of` 1: more than one test (`matches`, `min`/`max`); use one condition per test, or `all-of`",
        ),
        (
            json!({"arg": "/x", "equals-arg": "y"}),
            "`equals-arg` must be a JSON pointer such as `/y`, not `y`",
        ),
        (
            json!({"arg": "/x", "every": {"arg": "y", "present": true}}),
            "`every` 1: `arg` must be a JSON pointer such as `/y`, not `y`",
        ),
    ];
    for (cond, want) in cases {
        assert_eq!(err(json!([cond.clone()])), format!("{p}{want}"), "{cond}");
    }
    let mut deep = json!({"arg": "/x", "present": true});
    for _ in 0..20 {
        deep = json!({ "not": deep });
    }
    assert!(err(json!([deep])).contains("conditions nest deeper than 16"));
}

#[test]
fn regexes_are_compiled_when_first_reached_and_all_checked_at_load() {
    let s = MapSettings::new().with(
        "rules",
        json!([
            {"name": "a", "tools": ["a"], "effect": "allow", "when": [{"arg": "/x", "matches": "[0-9]+"}]},
            {"name": "b", "tools": ["b"], "effect": "allow",
             "when": [{"arg": "/x", "any": {"matches": "("}}]}
        ])
        .to_string(),
    );
    // A pattern that would escape its `^(?:…)$` wrapping is refused at load.
    let escaping = allow_when(json!([{"arg": "/x", "matches": "a)|(.*"}]));
    let e = load(&escaping).unwrap_err();
    assert!(
        e.starts_with(
            "setting `rules`: rule 1 (`r`): condition 1: `matches`: invalid regex `a)|(.*`"
        ),
        "{e}"
    );
    let config = load_lazy(&s).expect("regexes are not compiled yet");
    let want = "setting `rules`: rule 2 (`b`): condition 1: `matches`: invalid regex `(`";
    assert!(config.compile_all().unwrap_err().starts_with(want));
    assert!(load(&s).unwrap_err().starts_with(want));
    // Reached only when deciding on tool `b`: tool `a` decides with the valid one, and `b`
    // denies with the load error (fail closed) rather than skipping the rule.
    let config = load_lazy(&s).unwrap();
    let on = |tool: &str| {
        decide(
            &config,
            &Input::builder(tool).args(json!({"x": ["12"]})).build(),
        )
    };
    assert!(on("a").is_abstain(), "an array is not a string");
    let d = decide(
        &config,
        &Input::builder("a").args(json!({"x": "12"})).build(),
    );
    assert!(d.is_allow());
    assert!(on("b").deny_reason().unwrap().starts_with(want));
}
