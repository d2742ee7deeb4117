//! Glob matching for tool names, agent names and the like.
//!
//! The syntax is deliberately small:
//!
//! | pattern | matches |
//! | --- | --- |
//! | `*` | any sequence of characters, including none and including `.`, `/` and `_` |
//! | `?` | exactly one character |
//! | anything else | itself, case-sensitively |
//!
//! There are no character classes, no braces and no escapes: `fs.*` matches `fs.read`
//! and `fs.` but not `fs`; `send_*` matches `send_money`; `*` matches everything,
//! including the empty string. Matching is on Unicode scalar values, so `?` matches
//! one `é`.

/// Whether `text` matches the glob `pattern` (see the [module docs](self)).
///
/// ```
/// use lampart_sdk::glob;
/// assert!(glob::matches("fs.*", "fs.read"));
/// assert!(glob::matches("send_?oney", "send_money"));
/// assert!(!glob::matches("fs.*", "fsread"));
/// ```
pub fn matches(pattern: &str, text: &str) -> bool {
    let p: Vec<char> = pattern.chars().collect();
    let t: Vec<char> = text.chars().collect();
    // Classic linear-time wildcard matching with a single backtrack point: on a
    // mismatch, let the most recent `*` swallow one more character.
    let (mut pi, mut ti) = (0usize, 0usize);
    let mut star: Option<(usize, usize)> = None;
    while ti < t.len() {
        if pi < p.len() && (p[pi] == '?' || (p[pi] != '*' && p[pi] == t[ti])) {
            pi += 1;
            ti += 1;
        } else if pi < p.len() && p[pi] == '*' {
            star = Some((pi, ti));
            pi += 1;
        } else if let Some((sp, st)) = star {
            pi = sp + 1;
            ti = st + 1;
            star = Some((sp, st + 1));
        } else {
            return false;
        }
    }
    p[pi..].iter().all(|&c| c == '*')
}

/// Whether `text` matches at least one of `patterns`.
///
/// ```
/// use lampart_sdk::glob;
/// assert!(glob::matches_any(&["fs.*", "shell"], "shell"));
/// assert!(!glob::matches_any::<&str>(&[], "shell"));
/// ```
pub fn matches_any<S: AsRef<str>>(patterns: &[S], text: &str) -> bool {
    patterns.iter().any(|p| matches(p.as_ref(), text))
}

#[cfg(test)]
mod tests {
    use super::matches;

    #[test]
    fn literals() {
        assert!(matches("shell", "shell"));
        assert!(!matches("shell", "shells"));
        assert!(!matches("shell", "Shell"));
        assert!(matches("", ""));
        assert!(!matches("", "a"));
    }

    #[test]
    fn star() {
        assert!(matches("*", ""));
        assert!(matches("*", "anything.at/all"));
        assert!(matches("fs.*", "fs."));
        assert!(matches("fs.*", "fs.read"));
        assert!(!matches("fs.*", "fs"));
        assert!(matches("*_money", "send_money"));
        assert!(matches("a*b*c", "a-b-b-c"));
        assert!(!matches("a*b*c", "a-b-b-d"));
        assert!(matches("**", "x"));
        assert!(matches("*a*", "banana"));
        assert!(!matches("*x*", "banana"));
    }

    #[test]
    fn question_mark() {
        assert!(matches("?", "é"));
        assert!(!matches("?", ""));
        assert!(!matches("?", "ab"));
        assert!(matches("send_?oney", "send_money"));
        assert!(matches("*?", "a"));
        assert!(!matches("*??", "a"));
    }

    #[test]
    fn pathological_patterns_stay_fast() {
        let text = "a".repeat(10_000);
        let pattern = format!("{}b", "*a".repeat(50));
        assert!(!matches(&pattern, &text));
    }
}
