//! The files of a log directory: their names, the list of segments, the lock, opening files
//! safely, directory sync.

use std::fs::{self, File, OpenOptions, TryLockError};
use std::path::{Path, PathBuf};

use super::error::{AuditError, io_err, trust_err};
use crate::private_dir::{self, Access};

/// Name of the file holding the last synced sequence number and hash.
pub(crate) const HEAD_FILE: &str = "HEAD";

const SEGMENT_PREFIX: &str = "audit-";
const SEGMENT_SUFFIX: &str = ".jsonl";
const SEGMENT_DIGITS: usize = 20;

/// One segment file of a log.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct Segment {
    /// The sequence number in the file name: that of the segment's first record.
    pub(crate) first: u64,
    /// The file's path.
    pub(crate) path: PathBuf,
}

/// Returns the file name of the segment whose first record has sequence number `first`.
pub(crate) fn segment_file_name(first: u64) -> String {
    format!(
        "{SEGMENT_PREFIX}{first:0width$}{SEGMENT_SUFFIX}",
        width = SEGMENT_DIGITS
    )
}

/// Returns the first sequence number a segment file name names, or `None` if it is not one.
pub(crate) fn parse_segment_name(name: &str) -> Option<u64> {
    let digits = name
        .strip_prefix(SEGMENT_PREFIX)?
        .strip_suffix(SEGMENT_SUFFIX)?;
    if digits.len() != SEGMENT_DIGITS || !digits.bytes().all(|b| b.is_ascii_digit()) {
        return None;
    }
    digits.parse().ok()
}

/// Returns the log's segments in the order of their first sequence numbers.
///
/// Files whose names are not exactly `audit-<20 digits>.jsonl` (HEAD, quarantined torn tails)
/// are not segments and are skipped.
pub(crate) fn list_segments(dir: &Path) -> Result<Vec<Segment>, AuditError> {
    let mut segments = Vec::new();
    for entry in fs::read_dir(dir).map_err(io_err(dir, "list directory"))? {
        let entry = entry.map_err(io_err(dir, "list directory"))?;
        let name = entry.file_name();
        if let Some(first) = name.to_str().and_then(parse_segment_name) {
            segments.push(Segment {
                first,
                path: entry.path(),
            });
        }
    }
    segments.sort_by_key(|s| s.first);
    Ok(segments)
}

/// Returns the file beside `segment` that receives the torn bytes found at `offset`.
pub(crate) fn quarantine_path(segment: &Path, offset: u64) -> PathBuf {
    let mut name = segment.file_name().unwrap_or_default().to_os_string();
    name.push(format!(".torn-{offset}"));
    segment.with_file_name(name)
}

/// Checks that `dir` is private (see [`crate::private_dir`]) and takes an exclusive lock
/// (`flock`) on the directory itself, held until the returned handle is closed.
///
/// The lock is on the directory, not on a file in it, so no file can be deleted or replaced
/// to let a second writer in while the first is alive.
pub(crate) fn lock(dir: &Path) -> Result<File, AuditError> {
    let handle = private_dir::open_private_dir(dir).map_err(trust_err(dir, "open directory"))?;
    match handle.try_lock() {
        Ok(()) => Ok(handle),
        Err(TryLockError::WouldBlock) => Err(AuditError::Locked {
            dir: dir.to_path_buf(),
        }),
        Err(TryLockError::Error(e)) => Err(io_err(dir, "lock directory")(e)),
    }
}

/// Opens a file of the log: never through a symbolic link, and only if it is a regular file
/// (owned by this user for [`Access::Own`]); a file it creates gets mode 0600.
pub(crate) fn open_file(
    path: &Path,
    options: &mut OpenOptions,
    access: Access,
    action: &'static str,
) -> Result<(File, std::fs::Metadata), AuditError> {
    private_dir::open_file(path, options, access).map_err(trust_err(path, action))
}

/// Makes the directory's entries (created, renamed or removed files) durable.
pub(crate) fn sync_dir(dir: &Path) -> Result<(), AuditError> {
    #[cfg(unix)]
    {
        File::open(dir)
            .and_then(|d| d.sync_all())
            .map_err(io_err(dir, "sync directory"))?;
    }
    #[cfg(not(unix))]
    let _ = dir;
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn segment_names_round_trip() {
        assert_eq!(segment_file_name(1), "audit-00000000000000000001.jsonl");
        assert_eq!(
            segment_file_name(u64::MAX),
            "audit-18446744073709551615.jsonl"
        );
        for seq in [1, 17, 1_000_000, u64::MAX] {
            assert_eq!(parse_segment_name(&segment_file_name(seq)), Some(seq));
        }
    }

    #[test]
    fn other_names_are_not_segments() {
        for name in [
            "HEAD",
            "LOCK",
            "audit-00000000000000000001.jsonl.torn-12",
            "audit-1.jsonl",
            "audit-0000000000000000000x.jsonl",
            "audit-99999999999999999999.jsonl",
            "audit-+0000000000000000001.jsonl",
        ] {
            assert_eq!(parse_segment_name(name), None, "{name}");
        }
    }

    #[test]
    fn lists_segments_in_order() {
        let dir = tempfile::tempdir().unwrap();
        for seq in [10, 2, 1] {
            fs::write(dir.path().join(segment_file_name(seq)), b"").unwrap();
        }
        fs::write(dir.path().join("HEAD"), b"").unwrap();
        let firsts: Vec<u64> = list_segments(dir.path())
            .unwrap()
            .iter()
            .map(|s| s.first)
            .collect();
        assert_eq!(firsts, [1, 2, 10]);
    }

    #[test]
    fn quarantine_is_beside_the_segment() {
        let p = Path::new("/x/audit-00000000000000000001.jsonl");
        assert_eq!(
            quarantine_path(p, 42),
            Path::new("/x/audit-00000000000000000001.jsonl.torn-42")
        );
    }
}
