//! The one-line rendering of a decision for `check --format text`, with control characters
//! escaped (see [`lampart::text`]).

use std::fmt::{self, Write};

use lampart::chain::{Decision, Verdict};
pub use lampart::text::{Escaped, escape};

/// One line for a decision: verdict, request id, agent, tool and reason, in columns. Every
/// field that comes from the request or a plugin is escaped.
pub fn decision_line(decision: &Decision) -> String {
    let verdict = match decision.verdict {
        Verdict::Allow => "ALLOW",
        Verdict::Deny => "DENY",
        Verdict::ElevationRequired => "ELEVATE",
    };
    let request = &decision.request;
    let id = escape(request.id.as_deref().unwrap_or("-"));
    let agent = escape(&request.principal.agent);
    let tool = escape(&request.action.tool);
    let mut line = format!("{verdict:<7} {id:<10} {agent:<14} {tool:<14} ");
    // The reason is rendered once, straight into the line, escaped as it is written.
    let _ = write!(EscapingWriter(&mut line), "{}", decision.reason);
    if decision.redacted.is_some() {
        // What was taken out before the action (or the answer) was passed on.
        let mut what: Vec<String> = decision
            .steps
            .iter()
            .filter(|step| step.redactions > 0)
            .flat_map(|step| &step.findings)
            .map(|f| match &f.location {
                Some(at) if !at.is_empty() => format!("{} at {at}", f.rule),
                _ => f.rule.clone(),
            })
            .collect();
        what.dedup();
        let _ = write!(EscapingWriter(&mut line), "; redacted: {}", what.join(", "));
    }
    line
}

/// Writes into a string, escaping control characters.
struct EscapingWriter<'a>(&'a mut String);

impl Write for EscapingWriter<'_> {
    fn write_str(&mut self, s: &str) -> fmt::Result {
        write!(self.0, "{}", Escaped(s))
    }
}
