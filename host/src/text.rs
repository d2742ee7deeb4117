//! Text that reaches a person: control characters escaped, so that nothing taken from a
//! request, a config or a plugin can move the cursor, recolour the terminal, start a new line
//! or reorder what is shown when it is printed in a message, a log line or a table.

use std::fmt;

/// `text` with every control character escaped (see [`Escaped`]).
pub fn escape(text: &str) -> String {
    Escaped(text).to_string()
}

/// Displays a string with its control characters escaped: C0 controls (newline as `\n`,
/// carriage return as `\r`, tab as `\t`, the others as `\x1b` and so on), DEL (`\x7f`), C1
/// controls (`\u{9b}`), the Unicode line and paragraph separators, and the bidirectional
/// marks, embeddings, overrides and isolates (`\u{202e}`). Everything else is shown as is.
#[derive(Debug, Clone, Copy)]
pub struct Escaped<'a>(pub &'a str);

impl fmt::Display for Escaped<'_> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let mut rest = self.0;
        while let Some(at) = rest.find(needs_escape) {
            f.write_str(&rest[..at])?;
            let c = rest[at..].chars().next().unwrap_or_default();
            match c {
                '\n' => f.write_str("\\n")?,
                '\r' => f.write_str("\\r")?,
                '\t' => f.write_str("\\t")?,
                c if (c as u32) < 0x80 => write!(f, "\\x{:02x}", c as u32)?,
                c => write!(f, "\\u{{{:x}}}", c as u32)?,
            }
            rest = &rest[at + c.len_utf8()..];
        }
        f.write_str(rest)
    }
}

/// Whether `c` must be escaped before it reaches a terminal or a log line.
fn needs_escape(c: char) -> bool {
    matches!(c,
        '\u{0}'..='\u{1f}'          // C0, including newline, carriage return and ESC
        | '\u{7f}'..='\u{9f}'       // DEL and C1, including CSI (U+009B)
        | '\u{2028}' | '\u{2029}'   // line and paragraph separators
        | '\u{061c}' | '\u{200e}' | '\u{200f}' // bidirectional marks
        | '\u{202a}'..='\u{202e}'   // bidirectional embeddings and overrides
        | '\u{2066}'..='\u{2069}'   // bidirectional isolates
    )
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
