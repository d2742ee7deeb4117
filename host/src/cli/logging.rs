//! Diagnostics on standard error, which must not be forgeable: log messages carry file
//! names, plugin log lines and other text that a request or a plugin chose.
//!
//! On a terminal, lines are formatted for people, in colour, with every control character in
//! a message or field escaped (the formatter itself escapes ESC but not a newline or a
//! carriage return, which would start a line that looks like the host's own). Anywhere else
//! (a file, a pipe, a log collector) every event is one JSON object per line.

use std::fmt;
use std::io::IsTerminal;

use tracing_subscriber::EnvFilter;
use tracing_subscriber::field::RecordFields;
use tracing_subscriber::fmt::FormatFields;
use tracing_subscriber::fmt::format::{DefaultFields, Writer};

use super::text::Escaped;

/// The environment variable that sets what is logged (`warn` when unset), in
/// `tracing_subscriber::EnvFilter` syntax.
pub const LOG_ENV: &str = "LAMPART_LOG";

/// Sends log events to standard error: for people on a terminal, as JSON lines elsewhere.
pub fn init() {
    let filter = EnvFilter::try_from_env(LOG_ENV).unwrap_or_else(|_| EnvFilter::new("warn"));
    let builder = tracing_subscriber::fmt()
        .with_writer(std::io::stderr)
        .with_env_filter(filter);
    if std::io::stderr().is_terminal() {
        builder
            .with_ansi(true)
            .fmt_fields(EscapedFields::default())
            .init();
    } else {
        builder.with_ansi(false).json().init();
    }
}

/// The default field formatting, with control characters escaped in the result.
#[derive(Debug, Default)]
pub struct EscapedFields(DefaultFields);

impl<'writer> FormatFields<'writer> for EscapedFields {
    fn format_fields<R: RecordFields>(
        &self,
        mut writer: Writer<'writer>,
        fields: R,
    ) -> fmt::Result {
        // Formatted plainly first (no italics for field names), so that the only escape
        // sequences left in the line are the formatter's own colours.
        let mut plain = String::new();
        self.0.format_fields(Writer::new(&mut plain), fields)?;
        write!(writer, "{}", Escaped(&plain))
    }
}

#[cfg(test)]
mod tests {
    use std::sync::{Arc, Mutex};

    use super::*;

    #[test]
    fn a_message_with_line_breaks_stays_on_one_line() {
        let written = Arc::new(Mutex::new(Vec::new()));
        let sink = Arc::clone(&written);
        let subscriber = tracing_subscriber::fmt()
            .with_ansi(true)
            .fmt_fields(EscapedFields::default())
            .with_writer(move || SharedBuf(Arc::clone(&sink)))
            .finish();
        tracing::subscriber::with_default(subscriber, || {
            tracing::warn!(step = "a\rb", "one\nERROR forged line\u{1b}[2K\u{2028}");
        });
        let text = String::from_utf8(written.lock().unwrap().clone()).unwrap();
        assert_eq!(text.lines().count(), 1, "{text:?}");
        assert!(
            text.contains("one\\nERROR forged line\\x1b[2K\\u{2028}"),
            "{text:?}"
        );
        assert!(text.contains("a\\rb"), "{text:?}");
        assert!(!text.contains('\r'), "{text:?}");
    }

    /// A writer into a shared buffer.
    struct SharedBuf(Arc<Mutex<Vec<u8>>>);

    impl std::io::Write for SharedBuf {
        fn write(&mut self, buf: &[u8]) -> std::io::Result<usize> {
            self.0.lock().unwrap().extend_from_slice(buf);
            Ok(buf.len())
        }

        fn flush(&mut self) -> std::io::Result<()> {
            Ok(())
        }
    }
}
