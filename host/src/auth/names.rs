//! What agent names, role names and key ids may be.

/// The longest agent or role name, in bytes.
pub const MAX_NAME_BYTES: usize = 256;
/// The longest key id, in bytes.
pub const MAX_ID_BYTES: usize = 128;

/// Why an agent or role name is refused.
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
pub enum NameProblem {
    /// It is the empty string.
    #[error("must not be empty")]
    Empty,
    /// It is longer than [`MAX_NAME_BYTES`].
    #[error("is longer than {MAX_NAME_BYTES} bytes")]
    TooLong,
    /// It holds a control character (a newline, an escape, …).
    #[error("contains a control character")]
    Control,
}

/// Checks an agent or role name: non-empty, printable, at most [`MAX_NAME_BYTES`] bytes.
pub fn check_name(name: &str) -> Result<(), NameProblem> {
    if name.is_empty() {
        Err(NameProblem::Empty)
    } else if name.len() > MAX_NAME_BYTES {
        Err(NameProblem::TooLong)
    } else if name.chars().any(char::is_control) {
        Err(NameProblem::Control)
    } else {
        Ok(())
    }
}

/// Whether `id` is a valid key id: 1 to [`MAX_ID_BYTES`] ASCII letters, digits, `.`, `_` or
/// `-` (so it never holds the `:` that JWT credential ids use, and prints as is).
pub fn is_valid_id(id: &str) -> bool {
    !id.is_empty()
        && id.len() <= MAX_ID_BYTES
        && id
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || matches!(b, b'.' | b'_' | b'-'))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_are_non_empty_printable_and_bounded() {
        assert_eq!(check_name("billing-bot"), Ok(()));
        assert_eq!(check_name("Rechnungs Bot ü"), Ok(()));
        assert_eq!(check_name(""), Err(NameProblem::Empty));
        assert_eq!(check_name("a\nb"), Err(NameProblem::Control));
        assert_eq!(check_name("a\u{9b}"), Err(NameProblem::Control));
        assert_eq!(check_name(&"x".repeat(256)), Ok(()));
        assert_eq!(check_name(&"x".repeat(257)), Err(NameProblem::TooLong));
    }

    #[test]
    fn ids_are_plain_ascii() {
        assert!(is_valid_id("billing-bot-1"));
        assert!(is_valid_id("a.b_c"));
        assert!(!is_valid_id(""));
        assert!(!is_valid_id("jwt:x"));
        assert!(!is_valid_id("a b"));
        assert!(!is_valid_id(&"x".repeat(129)));
    }
}
