//! Applies inspectors' redactions to what is passed on: the arguments on the way to the
//! tool, or the output on the way back to the agent.

use serde_json::Value;

use crate::engine::bindings::Redaction;

/// Applies one redaction to `target`. The location must name a string; `""` names the whole
/// target (a plain-text output). Returns a one-line error when it does not.
pub fn apply(target: &mut Value, redaction: &Redaction) -> Result<(), String> {
    let Some(slot) = target.pointer_mut(&redaction.location) else {
        return Err(format!(
            "redaction location `{}` names nothing",
            redaction.location
        ));
    };
    let Value::String(text) = slot else {
        return Err(format!(
            "redaction location `{}` does not name a string",
            redaction.location
        ));
    };
    match &redaction.find {
        Some(find) => *text = text.replace(find.as_str(), &redaction.replacement),
        None => *text = redaction.replacement.clone(),
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn redaction(location: &str, find: Option<&str>) -> Redaction {
        Redaction {
            location: location.into(),
            find: find.map(Into::into),
            replacement: "[X]".into(),
        }
    }

    #[test]
    fn replaces_within_a_field_or_the_whole_of_it() {
        let mut args = json!({"body": "key AKIA1 and AKIA1", "to": "a"});
        apply(&mut args, &redaction("/body", Some("AKIA1"))).unwrap();
        assert_eq!(args["body"], "key [X] and [X]");
        apply(&mut args, &redaction("/to", None)).unwrap();
        assert_eq!(args["to"], "[X]");
    }

    #[test]
    fn the_empty_pointer_names_a_plain_text_output() {
        let mut output = json!("token=s3cret");
        apply(&mut output, &redaction("", Some("s3cret"))).unwrap();
        assert_eq!(output, json!("token=[X]"));
    }

    #[test]
    fn refuses_missing_and_non_string_locations() {
        let mut args = json!({"n": 1});
        assert!(
            apply(&mut args, &redaction("/missing", None))
                .unwrap_err()
                .contains("names nothing")
        );
        assert!(
            apply(&mut args, &redaction("/n", None))
                .unwrap_err()
                .contains("not name a string")
        );
    }
}
