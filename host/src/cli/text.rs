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
    line
}

/// Writes into a string, escaping control characters.
struct EscapingWriter<'a>(&'a mut String);

impl Write for EscapingWriter<'_> {
    fn write_str(&mut self, s: &str) -> fmt::Result {
        write!(self.0, "{}", Escaped(s))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn escapes_controls_separators_and_bidi_but_nothing_else() {
        assert_eq!(escape("pay-2\r\x1b[2K ALLOW"), "pay-2\\r\\x1b[2K ALLOW");
        assert_eq!(escape("a\nb\tc\0"), "a\\nb\\tc\\x00");
        assert_eq!(escape("\u{7f}\u{85}\u{9b}"), "\\x7f\\u{85}\\u{9b}");
        assert_eq!(escape("x\u{2028}y\u{2029}"), "x\\u{2028}y\\u{2029}");
        assert_eq!(
            escape("\u{202e}gnp.exe\u{2066}\u{200f}"),
            "\\u{202e}gnp.exe\\u{2066}\\u{200f}"
        );
        let plain = "plain `text`, ünïcödé, 日本語, emoji 🦀 and a \\ backslash";
        assert_eq!(escape(plain), plain);
    }

    #[test]
    fn an_escaped_string_is_one_line_of_printable_text() {
        let all: String = (0u32..0x3000).filter_map(char::from_u32).collect();
        let escaped = escape(&all);
        assert!(!escaped.chars().any(needs_escape));
        assert!(!escaped.contains('\n') && !escaped.contains('\r'));
    }
}
