//! Recovery from a crash in the middle of a write: quarantine the torn last line.

use std::fmt;
use std::fs::OpenOptions;
use std::io::{ErrorKind, Read, Seek, SeekFrom, Write};
use std::path::{Path, PathBuf};

use super::error::{AuditError, io_err};
use super::layout::{self, open_file, quarantine_path, sync_dir};
use super::segment::scan_tail;
use crate::private_dir::Access;

/// What [`recover`] did.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Recovery {
    /// The segment whose torn tail was removed.
    pub segment: PathBuf,
    /// The byte offset the torn tail started at, and the segment's length now.
    pub offset: u64,
    /// How many bytes were moved.
    pub bytes: u64,
    /// The file beside the segment that now holds those bytes.
    pub quarantine: PathBuf,
}

impl fmt::Display for Recovery {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "moved {} torn bytes from byte offset {} of {} to {}; the segment now ends at its \
             last complete record",
            self.bytes,
            self.offset,
            self.segment.display(),
            self.quarantine.display()
        )
    }
}

/// Removes a torn last line from the log in `dir` so that it can be opened again.
///
/// The torn bytes (from the start of the last line, if that line has no newline or is not
/// JSON, to the end of the file) are written to a temporary file beside the segment, synced,
/// and renamed to `<segment>.torn-<offset>`; then the segment is truncated to `offset` and
/// synced. Nothing else is changed: the chain continues from the last complete record.
/// Returns `None` if there was nothing to do. Takes the log's lock, so it refuses to run
/// while a writer has the log open, and refuses a directory that is not private, as
/// [`AuditLog::open`](super::AuditLog::open) does.
///
/// It is safe to run again after it failed (a full disk, a crash): a quarantine file left by
/// an earlier attempt that is empty or holds the same bytes is replaced. One holding other
/// bytes (torn tails at the same offset from two crashes) is kept, and the new bytes go to
/// `<segment>.torn-<offset>.<n>` with the first free `n`.
///
/// # Errors
///
/// [`AuditError::Locked`] if a writer has the log open; [`AuditError::Untrusted`] if the
/// directory or the segment is not trusted; [`AuditError::Io`] if a file cannot be read,
/// written or synced.
pub fn recover(dir: impl AsRef<Path>) -> Result<Option<Recovery>, AuditError> {
    let dir = dir.as_ref();
    let _lock = layout::lock(dir)?;
    let segments = layout::list_segments(dir)?;
    // The log's last line is in the last segment with any bytes in it.
    let mut last = None;
    for segment in segments.iter().rev() {
        let scan = scan_tail(&segment.path, 1)?;
        if scan.len > 0 {
            last = Some((segment, scan));
            break;
        }
    }
    let Some((segment, scan)) = last else {
        return Ok(None);
    };
    let Some(offset) = scan.torn_offset() else {
        return Ok(None);
    };
    let path = &segment.path;

    let mut torn = Vec::new();
    let (mut file, _) = open_file(
        path,
        OpenOptions::new().read(true).write(true),
        Access::Own,
        "open segment",
    )?;
    file.seek(SeekFrom::Start(offset))
        .and_then(|_| file.read_to_end(&mut torn))
        .map_err(io_err(path, "read torn tail"))?;
    let quarantine = quarantine_target(path, offset, &torn)?;
    let mut temp =
        tempfile::NamedTempFile::new_in(dir).map_err(io_err(dir, "create quarantine file"))?;
    temp.write_all(&torn)
        .and_then(|()| temp.as_file().sync_all())
        .map_err(io_err(temp.path(), "write quarantine file"))?;
    temp.persist(&quarantine)
        .map_err(|e| io_err(&quarantine, "rename quarantine file")(e.error))?;
    sync_dir(dir)?;
    file.set_len(offset)
        .and_then(|()| file.sync_all())
        .map_err(io_err(path, "truncate segment"))?;
    sync_dir(dir)?;

    let recovery = Recovery {
        segment: path.clone(),
        offset,
        bytes: torn.len() as u64,
        quarantine,
    };
    tracing::debug!(dir = %dir.display(), "audit log recovered: {recovery}");
    Ok(Some(recovery))
}

/// Where the torn bytes found at `offset` of `segment` go: `<segment>.torn-<offset>` unless a
/// file there holds other (non-empty) bytes, then the first free `<segment>.torn-<offset>.<n>`.
fn quarantine_target(segment: &Path, offset: u64, torn: &[u8]) -> Result<PathBuf, AuditError> {
    let first = quarantine_path(segment, offset);
    let mut candidate = first.clone();
    for n in 1u32.. {
        match leftover(&candidate, torn.len() as u64 + 1)? {
            None => return Ok(candidate),
            Some(bytes) if bytes.is_empty() || bytes == torn => return Ok(candidate),
            Some(_) => {
                let mut name = first.file_name().unwrap_or_default().to_os_string();
                name.push(format!(".{n}"));
                candidate = first.with_file_name(name);
            }
        }
    }
    unreachable!("some quarantine name is free")
}

/// The first `limit` bytes of an earlier quarantine file at `path`, `None` if there is none.
/// Anything but a regular file counts as holding other bytes.
fn leftover(path: &Path, limit: u64) -> Result<Option<Vec<u8>>, AuditError> {
    let file = match open_file(path, OpenOptions::new().read(true), Access::Read, "read") {
        Ok((file, _)) => file,
        Err(AuditError::Io { source, .. }) if source.kind() == ErrorKind::NotFound => {
            return Ok(None);
        }
        Err(AuditError::Untrusted { .. }) => return Ok(Some(vec![0])),
        Err(e) => return Err(e),
    };
    let mut bytes = Vec::new();
    file.take(limit)
        .read_to_end(&mut bytes)
        .map_err(io_err(path, "read quarantine file"))?;
    Ok(Some(bytes))
}
