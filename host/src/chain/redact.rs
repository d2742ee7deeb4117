//! Applies inspectors' redactions to what is passed on: the arguments on the way to the
//! tool, or the output on the way back to the agent.
//!
//! Redactions are applied by the host, outside every sandbox limit, so what they may build is
//! bounded here: a [`Budget`] per decision caps how many bytes all redactions together may
//! add, and the size of each result is computed *before* the new string is built. A
//! redaction over budget fails its step closed, like any other malformed plugin output.

use serde_json::Value;

use crate::engine::bindings::Redaction;

/// How many bytes all the redactions of one decision may add, in total: room for every
/// secret in a large answer to be replaced by a longer marker, and far below anything that
/// could hurt the host.
pub const MAX_GROWTH: usize = 256 << 10;

/// What redactions may still add to one decision's arguments or output.
#[derive(Debug, Clone, Copy)]
pub struct Budget {
    left: usize,
}

impl Default for Budget {
    fn default() -> Self {
        Budget { left: MAX_GROWTH }
    }
}

/// Applies one redaction to `target`, within `budget`. The location must name a string; `""`
/// names the whole target (a plain-text output). Returns a one-line error when it does not,
/// when `find` is empty, or when the result would grow past the budget.
pub fn apply(target: &mut Value, redaction: &Redaction, budget: &mut Budget) -> Result<(), String> {
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
    let replacement = redaction.replacement.as_str();
    let (removed, count) = match &redaction.find {
        Some(find) if find.is_empty() => {
            return Err(format!(
                "redaction at `{}` has an empty `find`",
                redaction.location
            ));
        }
        Some(find) => (find.len(), text.matches(find.as_str()).count()),
        None => (text.len(), 1),
    };
    let growth = replacement
        .len()
        .saturating_sub(removed)
        .saturating_mul(count);
    if growth > budget.left {
        return Err(format!(
            "redactions would add more than {MAX_GROWTH} bytes to one decision (this one at `{}` adds {growth})",
            redaction.location
        ));
    }
    budget.left -= growth;
    match &redaction.find {
        Some(find) => {
            if count > 0 {
                *text = text.replace(find.as_str(), replacement);
            }
        }
        None => *text = replacement.to_owned(),
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
        apply(
            &mut args,
            &redaction("/body", Some("AKIA1")),
            &mut Budget::default(),
        )
        .unwrap();
        assert_eq!(args["body"], "key [X] and [X]");
        apply(&mut args, &redaction("/to", None), &mut Budget::default()).unwrap();
        assert_eq!(args["to"], "[X]");
    }

    #[test]
    fn the_empty_pointer_names_a_plain_text_output() {
        let mut output = json!("token=s3cret");
        apply(
            &mut output,
            &redaction("", Some("s3cret")),
            &mut Budget::default(),
        )
        .unwrap();
        assert_eq!(output, json!("token=[X]"));
    }

    #[test]
    fn refuses_missing_and_non_string_locations() {
        let mut args = json!({"n": 1});
        assert!(
            apply(
                &mut args,
                &redaction("/missing", None),
                &mut Budget::default()
            )
            .unwrap_err()
            .contains("names nothing")
        );
        assert!(
            apply(&mut args, &redaction("/n", None), &mut Budget::default())
                .unwrap_err()
                .contains("not name a string")
        );
    }

    #[test]
    fn growth_is_bounded_before_the_string_is_built() {
        // Three redactions that each replace "a" with 4,096 "a"s would build 256 GiB.
        let mut args = json!({"x": "aaaa"});
        let mut budget = Budget::default();
        let grow = Redaction {
            location: "/x".into(),
            find: Some("a".into()),
            replacement: "a".repeat(4096),
        };
        apply(&mut args, &grow, &mut budget).unwrap();
        let err = apply(&mut args, &grow, &mut budget).unwrap_err();
        assert!(err.contains("more than"), "{err}");
        assert_eq!(args["x"].as_str().unwrap().len(), 4 * 4096);
    }

    #[test]
    fn an_empty_find_is_refused() {
        let mut args = json!({"x": "abc"});
        let err = apply(
            &mut args,
            &redaction("/x", Some("")),
            &mut Budget::default(),
        )
        .unwrap_err();
        assert!(err.contains("empty `find`"), "{err}");
    }
}
