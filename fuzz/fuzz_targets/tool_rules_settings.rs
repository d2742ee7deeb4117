//! tool-rules' settings parser on arbitrary text: it never panics; a rule set it accepts
//! decides every one of a few fixed inputs without panicking, the same way twice, and as
//! the plugin's entry point does.
//!
//! A JSON object is read as the step's settings (`{"rules": [...], "trusted": {...},
//! "default": "deny"}`: strings as they are, other values as JSON text, as the host passes
//! them); any other text is the `rules` setting.

#![no_main]

use lampart_sdk::serde_json::{Value, json};
use lampart_sdk::{Decision, Input, MapSettings};
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    let Ok(text) = std::str::from_utf8(data) else {
        return;
    };
    let settings = match serde_json::from_str::<Value>(text) {
        Ok(Value::Object(map)) => {
            map.into_iter()
                .fold(MapSettings::new(), |s, (key, value)| match value {
                    Value::String(text) => s.with(key, text),
                    other => s.with(key, other.to_string()),
                })
        }
        _ => MapSettings::new().with("rules", text),
    };
    let config = match tool_rules::load(&settings) {
        Ok(config) => config,
        Err(e) => {
            assert!(!e.is_empty());
            // The plugin denies with the error.
            let d = tool_rules::evaluate_with(&settings, &inputs()[0]);
            assert_eq!(d.deny_reason(), Some(e.as_str()));
            return;
        }
    };
    for input in inputs() {
        let decision = tool_rules::decide(&config, &input);
        assert_same(&decision, &tool_rules::decide(&config, &input));
        assert_same(&decision, &tool_rules::evaluate_with(&settings, &input));
    }
});

fn assert_same(a: &Decision, b: &Decision) {
    assert_eq!(format!("{a:?}"), format!("{b:?}"));
}

/// Calls that exercise every kind of condition: numbers, strings, nesting, missing and
/// mistyped arguments, arguments that are not JSON.
fn inputs() -> Vec<Input> {
    let call = |tool: &str, args: Value| {
        Input::builder(tool)
            .args(args)
            .agent("billing-bot")
            .roles(["finance"])
            .build()
    };
    vec![
        call(
            "send_money",
            json!({"amount": 120, "currency": "EUR", "recipient": "acme-corp"}),
        ),
        call("send_money", json!({"amount": "5000", "recipient": null})),
        call(
            "shell",
            json!({"cmd": "ls -la", "a": {"b": [1, 2.5, -3, true]}, "~": {"/": "x"}}),
        ),
        call("send_email", json!({})),
        Input::builder("send_money")
            .args_text("{not json")
            .agent("ops-bot")
            .build(),
    ]
}
