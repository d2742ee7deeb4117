//! What a plugin said before it failed, on one bounded line, from the tail of its standard
//! error.
//!
//! Every toolchain reports a failure differently, and most add runtime noise after the
//! plugin's own words: a Python component prints a traceback and then its Rust runtime
//! panics ("panicked at runtime/src/lib.rs … threw an unexpected exception"), a JavaScript
//! one prints the error and its stack. The plugin's own words win, in this order:
//!
//! 1. the exception line that ends the last Python traceback (`ValueError: …`);
//! 2. the last line that reads like an error a language runtime raised
//!    (`TypeError: …`, `Uncaught Error: …`, `KeyError: 'x'`);
//! 3. a Rust panic's message (`panicked at FILE:LINE:COL: message`);
//! 4. otherwise the last lines of standard error (at most [`MAX_LINES`]).
//!
//! The result is at most [`MAX_CHARS`] characters, with control characters escaped so that
//! a plugin cannot forge lines or colours in a log or a terminal.

/// Most standard-error lines kept when nothing better is found.
const MAX_LINES: usize = 8;
/// Longest result, in characters.
const MAX_CHARS: usize = 1024;

/// The plugin's own account of its failure, if it wrote anything to standard error.
pub(crate) fn last_words(stderr: &str) -> Option<String> {
    let lines: Vec<&str> = stderr
        .lines()
        .map(str::trim_end)
        .filter(|line| !line.trim().is_empty())
        .collect();
    if lines.is_empty() {
        return None;
    }
    let said = python_exception(&lines)
        .or_else(|| error_line(&lines))
        .or_else(|| rust_panic(&lines))
        .unwrap_or_else(|| {
            let from = lines.len().saturating_sub(MAX_LINES);
            lines[from..]
                .iter()
                .map(|line| line.trim())
                .collect::<Vec<_>>()
                .join(" | ")
        });
    Some(one_line(&said))
}

/// Control characters escaped (newlines included) and cut at [`MAX_CHARS`] characters.
pub(crate) fn one_line(text: &str) -> String {
    let mut out = String::new();
    for (count, c) in text.trim().chars().enumerate() {
        if count == MAX_CHARS {
            out.push('…');
            break;
        }
        if c.is_control() {
            out.extend(c.escape_default());
        } else {
            out.push(c);
        }
    }
    out
}

/// The line that ends the last Python traceback: the first unindented line after
/// `Traceback (most recent call last):`.
fn python_exception(lines: &[&str]) -> Option<String> {
    let start = lines
        .iter()
        .rposition(|line| line.trim_start() == "Traceback (most recent call last):")?;
    lines[start + 1..]
        .iter()
        .find(|line| !line.starts_with([' ', '\t']))
        .map(|line| line.trim().to_string())
}

/// The last line that reads like a raised error: an identifier ending in `Error` or
/// `Exception` (or `Uncaught`), then a colon; dotted names are allowed (`json.decoder.JSONDecodeError: …`).
fn error_line(lines: &[&str]) -> Option<String> {
    lines
        .iter()
        .rev()
        .map(|line| line.trim())
        .find(|line| {
            let Some((name, _)) = line.split_once(':') else {
                return false;
            };
            let name = name.strip_prefix("Uncaught ").unwrap_or(name);
            let is_name = !name.is_empty()
                && name
                    .chars()
                    .all(|c| c.is_ascii_alphanumeric() || c == '_' || c == '.');
            is_name
                && (name.ends_with("Error")
                    || name.ends_with("Exception")
                    || line.starts_with("Uncaught"))
        })
        .map(str::to_string)
}

/// A Rust panic: `panicked at FILE:LINE:COL:` and the message line after it.
fn rust_panic(lines: &[&str]) -> Option<String> {
    let at = lines
        .iter()
        .rposition(|line| line.contains("panicked at"))?;
    let mut said = lines[at..]
        .iter()
        .take(2)
        .map(|line| line.trim())
        .collect::<Vec<_>>()
        .join(" ");
    if let Some(start) = said.find("panicked at") {
        said.drain(..start);
    }
    Some(said)
}

#[cfg(test)]
mod tests {
    use super::last_words;

    #[test]
    fn a_rust_panic_is_reported_with_its_message_on_one_line() {
        let stderr = "noise\nthread '<unnamed>' (1) panicked at src/lib.rs:3:9:\nboom: bad input\nnote: run with `RUST_BACKTRACE=1`\n";
        assert_eq!(
            last_words(stderr).unwrap(),
            "panicked at src/lib.rs:3:9: boom: bad input"
        );
        assert_eq!(last_words(""), None);
        assert_eq!(last_words("\n  \n"), None);
    }

    #[test]
    fn a_python_traceback_gives_its_exception_line_not_the_runtime_panic() {
        let stderr = "Traceback (most recent call last):\n  File \"app.py\", line 3, in evaluate\n    raise ValueError(\"x\")\nValueError: bad rule `x`\nthread '<unnamed>' panicked at runtime/src/lib.rs:10:5:\nPython threw an unexpected exception\n";
        assert_eq!(last_words(stderr).unwrap(), "ValueError: bad rule `x`");
        let chained = "Traceback (most recent call last):\n  File \"a.py\", line 1\nKeyError: 'a'\n\nDuring handling of the above exception, another exception occurred:\n\nTraceback (most recent call last):\n  File \"a.py\", line 2\nRuntimeError: settings are invalid\n";
        assert_eq!(
            last_words(chained).unwrap(),
            "RuntimeError: settings are invalid"
        );
    }

    #[test]
    fn a_javascript_error_line_wins_over_its_stack() {
        let stderr = "Error: no rule for tool `x`\n    at evaluate (app.js:3:11)\n    at <anonymous>\nthread '<unnamed>' panicked at src/lib.rs:1:1:\nexception thrown\n";
        assert_eq!(last_words(stderr).unwrap(), "Error: no rule for tool `x`");
        assert_eq!(
            last_words("Uncaught TypeError: x is undefined\n").unwrap(),
            "Uncaught TypeError: x is undefined"
        );
    }

    #[test]
    fn otherwise_the_last_lines_bounded_and_escaped() {
        let stderr: String = (1..=20).map(|i| format!("line {i}\n")).collect();
        assert_eq!(
            last_words(&stderr).unwrap(),
            "line 13 | line 14 | line 15 | line 16 | line 17 | line 18 | line 19 | line 20"
        );
        assert_eq!(last_words("red \x1b[31m\r").unwrap(), "red \\u{1b}[31m");
        let long = last_words(&"x".repeat(5000)).unwrap();
        assert_eq!(long.chars().count(), 1025);
    }
}
