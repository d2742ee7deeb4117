//! An inspector that returns what its settings say, for the host's integration tests.
//!
//! * `findings`: JSON array of `{"rule", "severity", "message", "location"?}`
//!   (severity: `info`, `low`, `medium`, `high` or `critical`), returned as is;
//! * `labels`: JSON array of strings;
//! * `redactions`: JSON array of `{"location", "find"?, "replacement"}`.
//!
//! A setting that does not parse makes `inspect` (and `describe`) log an error and
//! panic, so that the step fails closed.

use lampart_sdk::serde_json::Value;
use lampart_sdk::{
    Finding, Info, Input, Inspection, Phase, Redaction, Severity, log, setting_json,
};

fn describe() -> Info {
    if let Err(e) = settings() {
        log::error(&e);
        panic!("{e}");
    }
    Info::new("scripted-inspector", env!("CARGO_PKG_VERSION"))
        .phases([Phase::Request, Phase::Response])
}

fn inspect(_input: &Input) -> Inspection {
    match settings() {
        Ok(inspection) => inspection,
        Err(e) => {
            log::error(&e);
            panic!("{e}");
        }
    }
}

/// The inspection the settings describe.
fn settings() -> Result<Inspection, String> {
    let mut out = Inspection::new();
    for (i, f) in list("findings")?.iter().enumerate() {
        let field = |name: &str| f.get(name).and_then(Value::as_str);
        let what = |name: &str| format!("setting `findings`: item {i}: `{name}` must be a string");
        let rule = field("rule").ok_or_else(|| what("rule"))?;
        let message = field("message").ok_or_else(|| what("message"))?;
        let severity = field("severity")
            .ok_or_else(|| what("severity"))?
            .parse::<Severity>()
            .map_err(|e| format!("setting `findings`: item {i}: {e}"))?;
        let mut finding = Finding::new(rule, severity, message);
        finding.location = match f.get("location") {
            None | Some(Value::Null) => None,
            Some(Value::String(s)) => Some(s.clone()),
            Some(_) => return Err(what("location")),
        };
        out.findings.push(finding);
    }
    for (i, l) in list("labels")?.iter().enumerate() {
        let label = l
            .as_str()
            .ok_or_else(|| format!("setting `labels`: item {i} must be a string"))?;
        out.labels.push(label.to_owned());
    }
    for (i, r) in list("redactions")?.iter().enumerate() {
        let field = |name: &str| r.get(name).and_then(Value::as_str);
        let what =
            |name: &str| format!("setting `redactions`: item {i}: `{name}` must be a string");
        out.redactions.push(Redaction {
            location: field("location")
                .ok_or_else(|| what("location"))?
                .to_owned(),
            find: match r.get("find") {
                None | Some(Value::Null) => None,
                Some(Value::String(s)) => Some(s.clone()),
                Some(_) => return Err(what("find")),
            },
            replacement: field("replacement")
                .ok_or_else(|| what("replacement"))?
                .to_owned(),
        });
    }
    Ok(out)
}

fn list(key: &str) -> Result<Vec<Value>, String> {
    setting_json::<Vec<Value>>(key)
        .map(Option::unwrap_or_default)
        .map_err(|e| e.to_string())
}

lampart_sdk::export_inspector!(inspect, describe = describe);

#[cfg(test)]
mod tests {
    use super::*;
    use lampart_sdk::testing::with_settings;

    #[test]
    fn returns_what_it_is_told() {
        let input = Input::builder("x").build();
        let out = with_settings(
            &[
                (
                    "findings",
                    r#"[{"rule":"a.b","severity":"high","message":"m","location":"/cmd"},
                        {"rule":"c","severity":"info","message":"n"}]"#,
                ),
                ("labels", r#"["tainted"]"#),
                (
                    "redactions",
                    r#"[{"location":"/k","find":"secret","replacement":"[R]"},
                        {"location":"","replacement":"[ALL]"}]"#,
                ),
            ],
            || inspect(&input),
        );
        assert_eq!(out.findings.len(), 2);
        assert_eq!(out.findings[0].severity, Severity::High);
        assert_eq!(out.findings[0].location.as_deref(), Some("/cmd"));
        assert_eq!(out.findings[1].location, None);
        assert_eq!(out.labels, ["tainted"]);
        assert_eq!(out.redactions[0].find.as_deref(), Some("secret"));
        assert_eq!(out.redactions[1].find, None);
        assert_eq!(out.redactions[1].replacement, "[ALL]");
    }

    #[test]
    fn empty_by_default() {
        let input = Input::builder("x").build();
        assert!(with_settings(&[], || inspect(&input)).is_empty());
        let info = with_settings(&[], describe);
        assert_eq!(info.name, "scripted-inspector");
        assert_eq!(info.phases, [Phase::Request, Phase::Response]);
    }

    #[test]
    fn bad_settings_are_errors() {
        let bad = with_settings(
            &[(
                "findings",
                r#"[{"rule":"a","severity":"nope","message":"m"}]"#,
            )],
            settings,
        );
        assert!(bad.unwrap_err().contains("unknown severity `nope`"));
        let bad = with_settings(&[("labels", "[1]")], settings);
        assert_eq!(
            bad.unwrap_err(),
            "setting `labels`: item 0 must be a string"
        );
    }
}
