//! What can go wrong with an audit log, as one error type with one-line messages.

use std::io;
use std::path::{Path, PathBuf};
use std::sync::Arc;

use crate::private_dir::TrustError;

/// An error opening, appending to, reading, verifying or recovering an audit log.
///
/// Every message is one line that starts with `audit log <path>:` and, where a record is at
/// fault, names its sequence number: the number the log should have had at that position, so
/// the first bad sequence number of a tampered log is the one in the message.
#[derive(Debug, Clone, thiserror::Error)]
#[non_exhaustive]
pub enum AuditError {
    /// A file system operation on a file of the log failed.
    #[error("audit log {}: cannot {action}: {source}", path.display())]
    Io {
        /// The file or directory operated on.
        path: PathBuf,
        /// What was being done, e.g. `"sync segment"`.
        action: &'static str,
        /// The operating system's error (shared, so that a batch's callers can all get it).
        #[source]
        source: Arc<io::Error>,
    },
    /// Another writer (or recovery) holds the lock on the log's directory.
    #[error(
        "audit log {}: already open by another writer (the directory is locked)",
        dir.display()
    )]
    Locked {
        /// The log's directory.
        dir: PathBuf,
    },
    /// The log's directory, or a file in it, could be written by another user, or is a
    /// symbolic link or not a regular file: it is refused rather than trusted.
    #[error("audit log {}: {reason}", path.display())]
    Untrusted {
        /// The directory or file.
        path: PathBuf,
        /// What is wrong with it (shared, so that the error can be cloned).
        #[source]
        reason: Arc<TrustError>,
    },
    /// The segment size asked for is below [`MIN_SEGMENT_BYTES`](super::MIN_SEGMENT_BYTES).
    #[error(
        "audit log {}: segment size of {size} bytes is below the minimum of {} bytes (64 KiB)",
        dir.display(),
        super::MIN_SEGMENT_BYTES
    )]
    SegmentTooSmall {
        /// The log's directory.
        dir: PathBuf,
        /// The size asked for.
        size: u64,
    },
    /// The log's last line is incomplete or not JSON, as after a crash in the middle of a write.
    #[error(
        "audit log {}: torn last line at byte offset {offset} (record {seq} cut off mid-write?); \
         run audit recovery to quarantine it",
        file.display()
    )]
    Torn {
        /// The segment file that ends in the torn line.
        file: PathBuf,
        /// Byte offset in `file` where the torn line starts.
        offset: u64,
        /// The sequence number the torn record would have had.
        seq: u64,
    },
    /// A record is not what the chain says it must be: edited, deleted, inserted, reordered.
    #[error("audit log {}: record {seq}: {problem}", file.display())]
    Broken {
        /// The segment file in which the problem was found.
        file: PathBuf,
        /// The sequence number expected at the bad position: the first bad sequence number.
        seq: u64,
        /// What is wrong.
        problem: Problem,
    },
    /// The log ends before a record that HEAD or an anchor says it has.
    #[error(
        "audit log {}: record {seq}: missing: {by} names record {claimed} but the log ends at \
         record {} (truncated?)",
        dir.display(),
        seq.saturating_sub(1)
    )]
    Truncated {
        /// The log's directory.
        dir: PathBuf,
        /// The first missing sequence number (one past the log's last record).
        seq: u64,
        /// The sequence number HEAD or the anchor names.
        claimed: u64,
        /// Who claims the record exists: `"HEAD"` or `"the anchor"`.
        by: &'static str,
    },
    /// The log has segments but no HEAD file.
    #[error(
        "audit log {}: HEAD file is missing, so a truncated log cannot be told from a complete one",
        path.display()
    )]
    HeadMissing {
        /// Where the HEAD file should be.
        path: PathBuf,
    },
    /// The HEAD file is not in the documented format.
    #[error("audit log {}: HEAD file is malformed: {reason}", path.display())]
    HeadMalformed {
        /// The HEAD file.
        path: PathBuf,
        /// What is wrong with it.
        reason: String,
    },
    /// A line read by [`tail`](fn@super::tail) is not JSON.
    #[error("audit log {}: line at byte offset {offset} is not JSON: {reason}", file.display())]
    Unreadable {
        /// The segment file.
        file: PathBuf,
        /// Byte offset of the line in `file`.
        offset: u64,
        /// The parser's complaint.
        reason: String,
    },
    /// A caller's record sets a field that only the log sets.
    #[error(
        "audit log {}: record sets reserved field `{field}` (only the log sets seq, prev, hash)",
        dir.display()
    )]
    ReservedField {
        /// The log's directory.
        dir: PathBuf,
        /// The offending field.
        field: &'static str,
    },
    /// The writer stopped after a failed write or sync and accepts no more records.
    #[error(
        "audit log {}: writer stopped after an earlier failure, no further appends: {reason}",
        dir.display()
    )]
    Stopped {
        /// The log's directory.
        dir: PathBuf,
        /// The failure that stopped it.
        reason: String,
    },
}

/// What is wrong with a record found by [`verify`](fn@super::verify) or when opening a log.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum Problem {
    /// The record's hash does not match its contents.
    #[error("hash mismatch (edited?)")]
    HashMismatch,
    /// The record's `prev` is not the hash of the record before it.
    #[error("prev does not match the previous record's hash (inserted, reordered or rewritten?)")]
    PrevMismatch,
    /// The record at this position has a later sequence number: records are missing.
    #[error("missing: the next record present is {next} (deleted or reordered?)")]
    Missing {
        /// The sequence number of the record found instead.
        next: u64,
    },
    /// The record at this position has an earlier sequence number than expected.
    #[error("found record {found} again (inserted or reordered?)")]
    Repeated {
        /// The sequence number of the record found instead.
        found: u64,
    },
    /// The segment's file name does not name the sequence number the chain reached.
    #[error("segment file is named for record {named} (segment deleted, inserted or renamed?)")]
    SegmentStart {
        /// The first sequence number in the file name.
        named: u64,
    },
    /// A segment other than the last has no records.
    #[error("segment has no records but is not the last one")]
    EmptySegment,
    /// The line is not a record in the documented format.
    #[error("line at byte offset {offset} is not a valid record: {reason}")]
    Malformed {
        /// Byte offset of the line in its segment.
        offset: u64,
        /// What is wrong with it.
        reason: String,
    },
    /// HEAD names this record with another hash.
    #[error("hash differs from the one HEAD records (rewritten?)")]
    HeadMismatch,
    /// The operator's anchor names this record with another hash.
    #[error("hash differs from the anchor (rewritten?)")]
    AnchorMismatch,
}

/// Returns a closure turning an [`io::Error`] into [`AuditError::Io`] for `path`.
pub(crate) fn io_err(path: &Path, action: &'static str) -> impl FnOnce(io::Error) -> AuditError {
    let path = path.to_path_buf();
    move |source| AuditError::Io {
        path,
        action,
        source: Arc::new(source),
    }
}

/// Turns a [`TrustError`] about `path` into an [`AuditError`]: [`AuditError::Io`] (with
/// `action`) if it could not be examined, [`AuditError::Untrusted`] if it is refused.
pub(crate) fn trust_err(
    path: &Path,
    action: &'static str,
) -> impl FnOnce(TrustError) -> AuditError {
    let path = path.to_path_buf();
    move |error| match error {
        TrustError::Io { source, .. } => AuditError::Io {
            path,
            action,
            source: Arc::new(source),
        },
        reason => AuditError::Untrusted {
            path,
            reason: Arc::new(reason),
        },
    }
}
