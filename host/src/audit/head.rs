//! The HEAD file: the last synced record's sequence number and hash, rewritten in place.
//!
//! Its content is always exactly 86 bytes: the sequence number as 20 zero-padded decimal
//! digits, one space, the hash as 64 lowercase hex digits, a newline. A log without records
//! has `00000000000000000000 000…000`.

use std::fs::{File, OpenOptions};
use std::io::{ErrorKind, Read, Seek, SeekFrom, Write};
use std::path::{Path, PathBuf};

use super::error::{AuditError, io_err};
use super::layout::{HEAD_FILE, open_file, sync_dir};
use super::record::{ZERO_HASH, is_hex64};
use crate::private_dir::Access;

/// Length in bytes of the HEAD file.
const HEAD_LEN: usize = 20 + 1 + 64 + 1;

/// The last record of a log as its HEAD file records it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Head {
    /// Sequence number of the last synced record; 0 for a log without records.
    pub seq: u64,
    /// That record's hash as 64 lowercase hex digits; 64 zeros when `seq` is 0.
    pub hash: String,
}

impl Head {
    /// The HEAD of a log without records.
    pub(crate) fn genesis() -> Head {
        Head {
            seq: 0,
            hash: ZERO_HASH.to_owned(),
        }
    }

    fn encode(&self) -> String {
        format!("{:020} {}\n", self.seq, self.hash)
    }

    fn decode(bytes: &[u8]) -> Result<Head, String> {
        if bytes.len() != HEAD_LEN {
            return Err(format!("{} bytes instead of {HEAD_LEN}", bytes.len()));
        }
        let (digits, rest) = bytes.split_at(20);
        let hash = &rest[1..65];
        if rest[0] != b' ' || rest[65] != b'\n' || !digits.iter().all(u8::is_ascii_digit) {
            return Err("not `<20 digits> <64 hex digits>\\n`".to_owned());
        }
        if !is_hex64(hash) {
            return Err("hash is not 64 lowercase hex digits".to_owned());
        }
        let seq = std::str::from_utf8(digits)
            .ok()
            .and_then(|d| d.parse().ok())
            .ok_or("sequence number out of range")?;
        let hash = String::from_utf8_lossy(hash).into_owned();
        if seq == 0 && hash != ZERO_HASH {
            return Err("sequence number 0 with a hash other than 64 zeros".to_owned());
        }
        Ok(Head { seq, hash })
    }
}

/// Reads the HEAD file of the log in `dir`.
///
/// # Errors
///
/// [`AuditError::HeadMissing`] if there is none, [`AuditError::HeadMalformed`] if it is not
/// in the format above, [`AuditError::Io`] if it cannot be read.
pub fn head(dir: impl AsRef<Path>) -> Result<Head, AuditError> {
    let path = dir.as_ref().join(HEAD_FILE);
    let file = match open_file(
        &path,
        OpenOptions::new().read(true),
        Access::Read,
        "read HEAD",
    ) {
        Ok((file, _)) => file,
        Err(AuditError::Io { source, .. }) if source.kind() == ErrorKind::NotFound => {
            return Err(AuditError::HeadMissing { path });
        }
        Err(e) => return Err(e),
    };
    // One byte more than a well-formed HEAD, so that a longer file is seen to be too long.
    let mut bytes = Vec::with_capacity(HEAD_LEN + 1);
    file.take(HEAD_LEN as u64 + 1)
        .read_to_end(&mut bytes)
        .map_err(io_err(&path, "read HEAD"))?;
    Head::decode(&bytes).map_err(|reason| AuditError::HeadMalformed { path, reason })
}

/// The HEAD file held open by the writer.
pub(crate) struct HeadFile {
    file: File,
    path: PathBuf,
}

impl HeadFile {
    /// Creates the HEAD file of a new log, recording no records.
    pub(crate) fn create(dir: &Path, fsync: bool) -> Result<HeadFile, AuditError> {
        let path = dir.join(HEAD_FILE);
        let (file, _) = open_file(
            &path,
            OpenOptions::new().write(true).create_new(true),
            Access::Own,
            "create HEAD",
        )?;
        let mut head = HeadFile { file, path };
        head.write(&Head::genesis(), fsync)?;
        if fsync {
            sync_dir(dir)?;
        }
        Ok(head)
    }

    /// Opens the existing HEAD file for rewriting.
    pub(crate) fn open(dir: &Path) -> Result<HeadFile, AuditError> {
        let path = dir.join(HEAD_FILE);
        let (file, _) = open_file(
            &path,
            OpenOptions::new().write(true),
            Access::Own,
            "open HEAD",
        )?;
        Ok(HeadFile { file, path })
    }

    /// Overwrites the file's 86 bytes in place, then syncs them if `fsync`.
    pub(crate) fn write(&mut self, head: &Head, fsync: bool) -> Result<(), AuditError> {
        let path = &self.path;
        self.file
            .seek(SeekFrom::Start(0))
            .and_then(|_| self.file.write_all(head.encode().as_bytes()))
            .map_err(io_err(path, "write HEAD"))?;
        if fsync {
            self.file.sync_data().map_err(io_err(path, "sync HEAD"))?;
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn encodes_fixed_width() {
        let h = Head {
            seq: 17,
            hash: "ab".repeat(32),
        };
        let text = h.encode();
        assert_eq!(text.len(), HEAD_LEN);
        assert_eq!(text, format!("00000000000000000017 {}\n", "ab".repeat(32)));
        assert_eq!(Head::decode(text.as_bytes()).unwrap(), h);
        assert_eq!(
            Head::decode(Head::genesis().encode().as_bytes()).unwrap(),
            Head::genesis()
        );
    }

    #[test]
    fn rejects_malformed() {
        let good = format!("00000000000000000017 {}\n", "ab".repeat(32));
        let zero_seq = format!("00000000000000000000 {}\n", "ab".repeat(32));
        for bad in [
            &good[..HEAD_LEN - 1],
            &good.replace(' ', "_"),
            &good.replace("ab", "AB"),
            &good.replacen('0', "x", 1),
            &zero_seq,
            "",
        ] {
            assert!(Head::decode(bad.as_bytes()).is_err(), "{bad:?}");
        }
    }

    #[test]
    fn rewrites_in_place() {
        let dir = tempfile::tempdir().unwrap();
        let mut file = HeadFile::create(dir.path(), true).unwrap();
        assert_eq!(head(dir.path()).unwrap(), Head::genesis());
        let h = Head {
            seq: 12345,
            hash: "f".repeat(64),
        };
        file.write(&h, true).unwrap();
        assert_eq!(head(dir.path()).unwrap(), h);
        assert!(
            HeadFile::create(dir.path(), true).is_err(),
            "create must not clobber"
        );
    }

    #[test]
    fn missing_head_is_named() {
        let dir = tempfile::tempdir().unwrap();
        let err = head(dir.path()).unwrap_err();
        assert!(matches!(err, AuditError::HeadMissing { .. }), "{err}");
        assert!(err.to_string().contains("HEAD file is missing"), "{err}");
    }
}
