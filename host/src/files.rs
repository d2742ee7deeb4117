//! Reading the files a user names (configs, plugins, request files): regular files only,
//! opened without blocking, and never read past a size limit.
//!
//! A path can name a FIFO (opening it would wait for a writer), a device such as `/dev/zero`
//! (endless), or a file far larger than anything sensible. Each is refused with one line
//! naming the file, before more than the limit is read.

use std::fs::File;
use std::io::Read;
use std::path::{Path, PathBuf};

/// The largest config file read: 4 MiB.
pub const MAX_CONFIG_BYTES: u64 = 4 << 20;
/// The largest plugin file read: 256 MiB (interpreters compiled to components are tens of MiB).
pub const MAX_PLUGIN_BYTES: u64 = 256 << 20;
/// The largest single-request file read: 64 MiB.
pub const MAX_REQUEST_FILE_BYTES: u64 = 64 << 20;

/// Why a file could not be read: the path and the problem.
#[derive(Debug, thiserror::Error)]
#[error("`{}`: {problem}", path.display())]
pub struct FileError {
    /// The path.
    pub path: PathBuf,
    /// What is wrong with it.
    pub problem: FileProblem,
}

/// What is wrong with a file, without its name (for messages that already name it).
#[derive(Debug, thiserror::Error)]
pub enum FileProblem {
    /// The path does not name a regular file.
    #[error("not a regular file (it is {0})")]
    NotRegular(&'static str),
    /// The file is larger than the limit for its kind.
    #[error("larger than the limit of {0} bytes")]
    TooLarge(u64),
    /// The file is not UTF-8 text.
    #[error("not UTF-8 text (invalid byte at offset {0})")]
    NotUtf8(usize),
    /// The file could not be opened or read.
    #[error("{0}")]
    Io(#[from] std::io::Error),
}

impl FileError {
    fn new(path: &Path, problem: impl Into<FileProblem>) -> FileError {
        FileError {
            path: path.to_path_buf(),
            problem: problem.into(),
        }
    }
}

/// Opens a regular file for reading. A FIFO or device is refused without waiting for it.
pub fn open_regular(path: &Path) -> Result<File, FileError> {
    let io = |source: std::io::Error| FileError::new(path, source);
    let mut options = std::fs::OpenOptions::new();
    options.read(true);
    #[cfg(unix)]
    {
        use std::os::unix::fs::OpenOptionsExt;
        // Non-blocking, so that opening a FIFO does not wait for a writer; the flag has no
        // effect on reads from a regular file.
        options.custom_flags(libc::O_NONBLOCK);
    }
    let file = options.open(path).map_err(io)?;
    let kind = file.metadata().map_err(io)?.file_type();
    if !kind.is_file() {
        return Err(FileError::new(
            path,
            FileProblem::NotRegular(describe_kind(&kind)),
        ));
    }
    Ok(file)
}

/// Reads a whole regular file of at most `limit` bytes.
pub fn read_bounded(path: &Path, limit: u64) -> Result<Vec<u8>, FileError> {
    read_open_bounded(open_regular(path)?, path, limit)
}

/// Reads the rest of `file`, opened from `path` (by [`open_regular`]), of at most `limit`
/// bytes: for a caller that looked at the open file first (its mode, say) and must read
/// that very file, not whatever the path names by then.
pub fn read_open_bounded(file: File, path: &Path, limit: u64) -> Result<Vec<u8>, FileError> {
    let io = |source: std::io::Error| FileError::new(path, source);
    let size = file.metadata().map_err(io)?.len();
    if size > limit {
        return Err(FileError::new(path, FileProblem::TooLarge(limit)));
    }
    let mut bytes = Vec::with_capacity(usize::try_from(size).unwrap_or(0));
    // The file may grow while it is read: never take more than the limit plus one byte.
    file.take(limit + 1).read_to_end(&mut bytes).map_err(io)?;
    if bytes.len() as u64 > limit {
        return Err(FileError::new(path, FileProblem::TooLarge(limit)));
    }
    Ok(bytes)
}

/// Reads a file that should start with `magic` (at most `limit` bytes): if its first bytes
/// are something else, only those are read and returned, so that junk is refused without
/// reading a large file whole.
pub fn read_bounded_if(path: &Path, limit: u64, magic: &[u8]) -> Result<Vec<u8>, FileError> {
    let file = open_regular(path)?;
    let io = |source: std::io::Error| FileError::new(path, source);
    let size = file.metadata().map_err(io)?.len();
    let mut head = Vec::with_capacity(magic.len());
    (&file)
        .take(magic.len() as u64)
        .read_to_end(&mut head)
        .map_err(io)?;
    if head != magic {
        return Ok(head);
    }
    if size > limit {
        return Err(FileError::new(path, FileProblem::TooLarge(limit)));
    }
    let mut bytes = head;
    bytes.reserve(usize::try_from(size).unwrap_or(0));
    (&file)
        .take(limit + 1 - magic.len() as u64)
        .read_to_end(&mut bytes)
        .map_err(io)?;
    if bytes.len() as u64 > limit {
        return Err(FileError::new(path, FileProblem::TooLarge(limit)));
    }
    Ok(bytes)
}

/// Reads a whole regular file of at most `limit` bytes as UTF-8 text.
pub fn read_text_bounded(path: &Path, limit: u64) -> Result<String, FileError> {
    utf8(read_bounded(path, limit)?, path)
}

/// [`read_open_bounded`], as UTF-8 text.
pub fn read_open_text_bounded(file: File, path: &Path, limit: u64) -> Result<String, FileError> {
    utf8(read_open_bounded(file, path, limit)?, path)
}

fn utf8(bytes: Vec<u8>, path: &Path) -> Result<String, FileError> {
    String::from_utf8(bytes)
        .map_err(|e| FileError::new(path, FileProblem::NotUtf8(e.utf8_error().valid_up_to())))
}

fn describe_kind(kind: &std::fs::FileType) -> &'static str {
    #[cfg(unix)]
    {
        use std::os::unix::fs::FileTypeExt;
        if kind.is_fifo() {
            return "a FIFO";
        }
        if kind.is_char_device() {
            return "a character device";
        }
        if kind.is_block_device() {
            return "a block device";
        }
        if kind.is_socket() {
            return "a socket";
        }
    }
    if kind.is_dir() {
        "a directory"
    } else {
        "not a regular file"
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn reads_a_small_file_and_refuses_a_large_one() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("f");
        std::fs::write(&path, b"hello").unwrap();
        assert_eq!(read_bounded(&path, 5).unwrap(), b"hello");
        let err = read_bounded(&path, 4).unwrap_err();
        assert!(matches!(err.problem, FileProblem::TooLarge(4)), "{err}");
    }

    #[test]
    fn a_file_without_the_magic_is_not_read_past_it() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("junk");
        std::fs::write(&path, vec![b'x'; 1 << 20]).unwrap();
        assert_eq!(read_bounded_if(&path, 16, b"\0asm").unwrap(), b"xxxx");
        std::fs::write(&path, b"\0asm\x0d\0\x01\0rest").unwrap();
        assert_eq!(
            read_bounded_if(&path, 64, b"\0asm").unwrap(),
            b"\0asm\x0d\0\x01\0rest"
        );
        let err = read_bounded_if(&path, 8, b"\0asm").unwrap_err();
        assert!(matches!(err.problem, FileProblem::TooLarge(8)), "{err}");
    }

    #[cfg(unix)]
    #[test]
    fn refuses_devices_directories_and_fifos_without_waiting() {
        let err = read_bounded(Path::new("/dev/zero"), 1 << 20).unwrap_err();
        assert_eq!(
            err.to_string(),
            "`/dev/zero`: not a regular file (it is a character device)"
        );
        let dir = tempfile::tempdir().unwrap();
        let err = read_bounded(dir.path(), 1 << 20).unwrap_err();
        assert!(err.to_string().contains("a directory"), "{err}");
        let fifo = dir.path().join("fifo");
        let made = std::process::Command::new("mkfifo").arg(&fifo).status();
        if made.is_ok_and(|s| s.success()) {
            let err = read_bounded(&fifo, 1 << 20).unwrap_err();
            assert!(err.to_string().contains("a FIFO"), "{err}");
        }
    }
}
