//! Recovery from a crash in the middle of a write: quarantine the torn last line.

use std::fmt;
use std::fs::{File, OpenOptions};
use std::io::{Read, Seek, SeekFrom, Write};
use std::path::{Path, PathBuf};

use super::error::{AuditError, io_err};
use super::layout::{self, quarantine_path, sync_dir};
use super::segment::scan_tail;

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
/// JSON, to the end of the file) are copied to `<segment>.torn-<offset>` beside the segment
/// and synced; then the segment is truncated to `offset` and synced. Nothing else is changed:
/// the chain continues from the last complete record. Returns `None` if there was nothing to
/// do. Takes the log's lock, so it refuses to run while a writer has the log open.
///
/// # Errors
///
/// [`AuditError::Locked`] if a writer has the log open; [`AuditError::Io`] if a file cannot
/// be read, written or synced (also if the quarantine file already exists).
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
    let quarantine = quarantine_path(path, offset);

    let mut torn = Vec::new();
    let mut file = OpenOptions::new()
        .read(true)
        .write(true)
        .open(path)
        .map_err(io_err(path, "open segment"))?;
    file.seek(SeekFrom::Start(offset))
        .and_then(|_| file.read_to_end(&mut torn))
        .map_err(io_err(path, "read torn tail"))?;
    let mut out =
        File::create_new(&quarantine).map_err(io_err(&quarantine, "create quarantine file"))?;
    out.write_all(&torn)
        .and_then(|()| out.sync_all())
        .map_err(io_err(&quarantine, "write quarantine file"))?;
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
    tracing::warn!("audit log {}: {recovery}", dir.display());
    Ok(Some(recovery))
}
