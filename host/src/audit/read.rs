//! Reading the last records of a log, for display.

use std::path::Path;

use serde_json::Value;

use super::error::AuditError;
use super::layout::list_segments;
use super::segment::scan_tail;

/// Returns the last `n` records of the log in `dir` (fewer if it has fewer), oldest first,
/// as stored (with `seq`, `prev` and `hash`), reading back across segments as needed.
///
/// It takes no lock and checks no hashes (that is [`verify`](fn@super::verify)'s job). A torn
/// last line, or a record being written at that moment, is left out.
///
/// # Errors
///
/// [`AuditError::Unreadable`] if a line before the end is not JSON; [`AuditError::Io`] if a
/// segment cannot be read.
pub fn tail(dir: impl AsRef<Path>, n: usize) -> Result<Vec<Value>, AuditError> {
    let segments = list_segments(dir.as_ref())?;
    let mut newest_first = Vec::new();
    for (i, segment) in segments.iter().rev().enumerate() {
        if newest_first.len() >= n {
            break;
        }
        let scan = scan_tail(&segment.path, n - newest_first.len() + 1)?;
        let lines = if i == 0 {
            scan.good_lines()
        } else {
            &scan.lines[..]
        };
        for line in lines.iter().rev().take(n - newest_first.len()) {
            let value =
                serde_json::from_slice(&line.bytes).map_err(|e| AuditError::Unreadable {
                    file: segment.path.clone(),
                    offset: line.offset,
                    reason: e.to_string(),
                })?;
            newest_first.push(value);
        }
    }
    newest_first.reverse();
    Ok(newest_first)
}
