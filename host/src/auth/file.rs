//! Reading the files `[auth]` names (keys file, secrets, public keys, key sets).
//!
//! Each of them decides who is accepted, so a file that users other than its owner may write is
//! refused. A keys file or public key may be readable by anyone: it holds hashes of random
//! 256-bit keys or public keys, neither of which lets anyone authenticate. A shared secret
//! (`secret-file`) lets its reader sign tokens, so it must not be readable by others either.
//! The permission bits are checked on the opened file, so the file checked is the file read.

use std::io::Read;
use std::path::Path;

use crate::files::{FileProblem, open_regular};

use super::error::FileUse;

/// The largest keys file, key file, secret or key set read: 4 MiB.
pub const MAX_AUTH_FILE_BYTES: u64 = crate::files::MAX_CONFIG_BYTES;

/// Whether others may read the file (`Secret`) or only not write it (`Public`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(super) enum Secrecy {
    /// A shared secret: neither readable nor writable by others.
    Secret,
    /// Public material: not writable by others.
    Public,
}

/// Reads a whole regular file of at most [`MAX_AUTH_FILE_BYTES`], after checking who else
/// may write (and, for a secret, read) it.
pub(super) fn read(path: &Path, secrecy: Secrecy) -> Result<Vec<u8>, FileUse> {
    let file = open_regular(path).map_err(|e| FileUse::Read(e.problem))?;
    let io = |e: std::io::Error| FileUse::Read(FileProblem::Io(e));
    let metadata = file.metadata().map_err(io)?;
    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt;
        let mode = metadata.permissions().mode() & 0o7777;
        if mode & 0o022 != 0 {
            return Err(FileUse::WritableByOthers { mode });
        }
        if secrecy == Secrecy::Secret && mode & 0o044 != 0 {
            return Err(FileUse::ReadableByOthers { mode });
        }
    }
    #[cfg(not(unix))]
    let _ = secrecy;
    if metadata.len() > MAX_AUTH_FILE_BYTES {
        return Err(FileUse::Read(FileProblem::TooLarge(MAX_AUTH_FILE_BYTES)));
    }
    let mut bytes = Vec::with_capacity(usize::try_from(metadata.len()).unwrap_or(0));
    // The file may grow while it is read: never take more than the limit plus one byte.
    file.take(MAX_AUTH_FILE_BYTES + 1)
        .read_to_end(&mut bytes)
        .map_err(io)?;
    if bytes.len() as u64 > MAX_AUTH_FILE_BYTES {
        return Err(FileUse::Read(FileProblem::TooLarge(MAX_AUTH_FILE_BYTES)));
    }
    Ok(bytes)
}

#[cfg(all(test, unix))]
mod tests {
    use super::*;
    use std::os::unix::fs::PermissionsExt;

    fn file_with_mode(dir: &Path, mode: u32) -> std::path::PathBuf {
        let path = dir.join(format!("f{mode:o}"));
        std::fs::write(&path, b"content").unwrap();
        std::fs::set_permissions(&path, std::fs::Permissions::from_mode(mode)).unwrap();
        path
    }

    #[test]
    fn public_files_may_be_read_but_not_written_by_others() {
        let dir = tempfile::tempdir().unwrap();
        assert_eq!(
            read(&file_with_mode(dir.path(), 0o644), Secrecy::Public).unwrap(),
            b"content"
        );
        let err = read(&file_with_mode(dir.path(), 0o664), Secrecy::Public).unwrap_err();
        assert!(
            matches!(err, FileUse::WritableByOthers { mode: 0o664 }),
            "{err}"
        );
        let err = read(&file_with_mode(dir.path(), 0o646), Secrecy::Public).unwrap_err();
        assert!(matches!(err, FileUse::WritableByOthers { .. }), "{err}");
    }

    #[test]
    fn secrets_must_be_private() {
        let dir = tempfile::tempdir().unwrap();
        assert!(read(&file_with_mode(dir.path(), 0o600), Secrecy::Secret).is_ok());
        let err = read(&file_with_mode(dir.path(), 0o640), Secrecy::Secret).unwrap_err();
        assert!(
            matches!(err, FileUse::ReadableByOthers { mode: 0o640 }),
            "{err}"
        );
    }

    #[test]
    fn devices_are_refused() {
        let err = read(Path::new("/dev/zero"), Secrecy::Public).unwrap_err();
        assert!(
            matches!(err, FileUse::Read(FileProblem::NotRegular(_))),
            "{err}"
        );
    }
}
