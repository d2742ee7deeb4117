//! Reading segment files: line by line from the start, the last lines from the end, and where
//! a torn last line starts.

use std::fs::{File, OpenOptions};
use std::io::{BufRead, BufReader, Read, Seek, SeekFrom, Take};
use std::path::{Path, PathBuf};

use super::error::{AuditError, io_err};
use super::layout::open_file;
use super::record::is_json;
use crate::private_dir::Access;

/// One line of a segment.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct Line {
    /// Byte offset of the line's first byte in the segment.
    pub(crate) offset: u64,
    /// The line's bytes without its newline.
    pub(crate) bytes: Vec<u8>,
    /// Whether the line ended in a newline (only the last line of a file can lack one).
    pub(crate) complete: bool,
}

/// Reads a segment line by line, up to the length it had when opened.
pub(crate) struct LineReader {
    reader: BufReader<Take<File>>,
    path: PathBuf,
    offset: u64,
    len: u64,
}

impl LineReader {
    /// Opens `path` and notes its current length; bytes appended later are not read.
    pub(crate) fn open(path: &Path) -> Result<LineReader, AuditError> {
        let (file, meta) = open_for_reading(path)?;
        let len = meta.len();
        Ok(LineReader {
            reader: BufReader::with_capacity(1 << 16, file.take(len)),
            path: path.to_path_buf(),
            offset: 0,
            len,
        })
    }

    /// The file's length when it was opened.
    pub(crate) fn len(&self) -> u64 {
        self.len
    }

    /// Returns the next line, or `None` at the end.
    pub(crate) fn next_line(&mut self) -> Result<Option<Line>, AuditError> {
        let mut bytes = Vec::new();
        let n = self
            .reader
            .read_until(b'\n', &mut bytes)
            .map_err(io_err(&self.path, "read segment"))?;
        if n == 0 {
            return Ok(None);
        }
        let offset = self.offset;
        self.offset += n as u64;
        let complete = bytes.last() == Some(&b'\n');
        if complete {
            bytes.pop();
        }
        Ok(Some(Line {
            offset,
            bytes,
            complete,
        }))
    }
}

/// The end of a segment.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct TailScan {
    /// Up to the requested number of the last complete lines, in file order.
    pub(crate) lines: Vec<Line>,
    /// Offset of the bytes after the last newline, if there are any.
    pub(crate) fragment: Option<u64>,
    /// The file's length.
    pub(crate) len: u64,
}

impl TailScan {
    /// Where the segment's torn tail starts, if it has one: the last complete line if it is
    /// not JSON (then any fragment after it is part of the torn tail), else the fragment.
    pub(crate) fn torn_offset(&self) -> Option<u64> {
        match self.lines.last() {
            Some(last) if !is_json(&last.bytes) => Some(last.offset),
            _ => self.fragment,
        }
    }

    /// The complete lines before the torn tail, if any.
    pub(crate) fn good_lines(&self) -> &[Line] {
        match self.torn_offset() {
            Some(offset) => {
                let end = self.lines.iter().take_while(|l| l.offset < offset).count();
                &self.lines[..end]
            }
            None => &self.lines,
        }
    }
}

/// Reads the last `n` complete lines of `path` (and notes a fragment after them) by reading
/// backwards from the end in chunks, so a long segment is not read whole.
pub(crate) fn scan_tail(path: &Path, n: usize) -> Result<TailScan, AuditError> {
    const CHUNK: u64 = 64 * 1024;
    let (mut file, meta) = open_for_reading(path)?;
    let len = meta.len();
    // `buf` holds the bytes from `start` to `len`.
    let mut buf: Vec<u8> = Vec::new();
    let mut start = len;
    loop {
        let newlines = buf.iter().filter(|&&b| b == b'\n').count();
        // Lines whose start is known: every newline-terminated line except, when `start > 0`,
        // the first one in `buf`, which may begin before `start`.
        let known = if start == 0 {
            newlines
        } else {
            newlines.saturating_sub(1)
        };
        if start == 0 || known >= n {
            break;
        }
        let next = start.saturating_sub(CHUNK);
        let mut chunk = vec![0; usize::try_from(start - next).unwrap_or(0)];
        file.seek(SeekFrom::Start(next))
            .and_then(|_| file.read_exact(&mut chunk))
            .map_err(io_err(path, "read segment"))?;
        chunk.extend_from_slice(&buf);
        buf = chunk;
        start = next;
    }

    let end_of_lines = buf.iter().rposition(|&b| b == b'\n').map_or(0, |i| i + 1);
    let fragment = (end_of_lines < buf.len()).then(|| start + end_of_lines as u64);
    let mut lines = Vec::new();
    let mut line_end = end_of_lines; // index one past the newline of the line being cut out
    while line_end > 0 && lines.len() < n {
        let line_start = buf[..line_end - 1]
            .iter()
            .rposition(|&b| b == b'\n')
            .map(|i| i + 1);
        let Some(line_start) = line_start.or((start == 0).then_some(0)) else {
            break; // the line began before `start`: not needed
        };
        lines.push(Line {
            offset: start + line_start as u64,
            bytes: buf[line_start..line_end - 1].to_vec(),
            complete: true,
        });
        line_end = line_start;
    }
    lines.reverse();
    Ok(TailScan {
        lines,
        fragment,
        len,
    })
}

/// Opens a segment for reading: never through a symbolic link, a regular file only.
fn open_for_reading(path: &Path) -> Result<(std::fs::File, std::fs::Metadata), AuditError> {
    open_file(
        path,
        OpenOptions::new().read(true),
        Access::Read,
        "open segment",
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    fn write(content: &[u8]) -> (tempfile::TempDir, PathBuf) {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("seg");
        std::fs::write(&path, content).unwrap();
        (dir, path)
    }

    fn texts(lines: &[Line]) -> Vec<(u64, String)> {
        lines
            .iter()
            .map(|l| (l.offset, String::from_utf8(l.bytes.clone()).unwrap()))
            .collect()
    }

    #[test]
    fn reads_lines_forward_with_offsets() {
        let (_d, path) = write(b"{}\n[1]\npartial");
        let mut r = LineReader::open(&path).unwrap();
        assert_eq!(r.len(), 14);
        let a = r.next_line().unwrap().unwrap();
        let b = r.next_line().unwrap().unwrap();
        let c = r.next_line().unwrap().unwrap();
        assert_eq!(
            (a.offset, a.complete, b.offset, c.offset, c.complete),
            (0, true, 3, 7, false)
        );
        assert_eq!(c.bytes, b"partial");
        assert_eq!(r.next_line().unwrap(), None);
    }

    #[test]
    fn scans_last_lines() {
        let (_d, path) = write(b"{\"a\":1}\n{\"b\":2}\n{\"c\":3}\n");
        let scan = scan_tail(&path, 2).unwrap();
        assert_eq!(
            texts(&scan.lines),
            [(8, r#"{"b":2}"#.into()), (16, r#"{"c":3}"#.into())]
        );
        assert_eq!(
            (scan.fragment, scan.torn_offset(), scan.len),
            (None, None, 24)
        );
        assert_eq!(scan_tail(&path, 10).unwrap().lines.len(), 3);
    }

    #[test]
    fn scans_across_chunks() {
        let line = format!("\"{}\"\n", "x".repeat(40_000));
        let content = line.repeat(5);
        let (_d, path) = write(content.as_bytes());
        let scan = scan_tail(&path, 3).unwrap();
        let offsets: Vec<u64> = scan.lines.iter().map(|l| l.offset).collect();
        let step = line.len() as u64;
        assert_eq!(offsets, [2 * step, 3 * step, 4 * step]);
        assert!(scan.lines.iter().all(|l| l.bytes.len() == line.len() - 1));
    }

    #[test]
    fn finds_torn_tails() {
        let (_d, path) = write(b"{}\n{\"a\":");
        let scan = scan_tail(&path, 1).unwrap();
        assert_eq!((scan.fragment, scan.torn_offset()), (Some(3), Some(3)));
        assert_eq!(texts(scan.good_lines()), [(0, "{}".into())]);

        let (_d, path) = write(b"{}\n{\"a\"\n");
        let scan = scan_tail(&path, 2).unwrap();
        assert_eq!((scan.fragment, scan.torn_offset()), (None, Some(3)));
        assert_eq!(texts(scan.good_lines()), [(0, "{}".into())]);

        let (_d, path) = write(b"{}\n{\"a\"\n{\"b");
        assert_eq!(scan_tail(&path, 1).unwrap().torn_offset(), Some(3));

        let (_d, path) = write(b"garbage");
        let scan = scan_tail(&path, 1).unwrap();
        assert_eq!((scan.lines.len(), scan.torn_offset()), (0, Some(0)));

        let (_d, path) = write(b"");
        assert_eq!(
            scan_tail(&path, 1).unwrap(),
            TailScan {
                lines: vec![],
                fragment: None,
                len: 0
            }
        );
    }
}
