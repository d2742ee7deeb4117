//! Directories and files only this user may write: the precompiled-component cache (native
//! code is loaded from it) and the audit log (its records are evidence).
//!
//! A directory is *private* when it is owned by the effective user, is not writable by group
//! or others, and no directory above it lets anyone but its owner (this user or root) replace
//! it: each parent is either writable by its owner only, or has the sticky bit (as `/tmp`
//! does, where nobody may rename another user's entry). Files in such a directory are opened
//! without following symbolic links and checked on the opened descriptor, so what is checked
//! is what is read or written.
//!
//! Every error leaves out the path it is about, so that the caller names the directory or
//! file once: `<path>: <error>`.

use std::fs::{File, Metadata, OpenOptions};
use std::io;
use std::path::{Path, PathBuf};

/// Why a directory or file is not trusted.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum TrustError {
    /// It could not be examined.
    #[error("cannot {action}: {source}")]
    Io {
        /// What was being done, e.g. `"open directory"`.
        action: &'static str,
        /// The operating system's error.
        #[source]
        source: io::Error,
    },
    /// It is a symbolic link; links are never followed.
    #[error("a symbolic link, which is never followed")]
    Symlink,
    /// It is not a directory (for a directory) or not a regular file (for a file).
    #[error("not a {0}")]
    WrongKind(&'static str),
    /// It belongs to another user.
    #[error("owned by uid {owner}, not by this user (uid {user})")]
    NotOwned {
        /// Its owner.
        owner: u32,
        /// The effective user id of this process.
        user: u32,
    },
    /// Users other than its owner may write it.
    #[error("writable by other users (mode {mode:o})")]
    Writable {
        /// Its permission bits.
        mode: u32,
    },
    /// A directory above it lets another user replace it.
    #[error("parent directory `{}` {why}, who could replace it", parent.display())]
    Parent {
        /// The parent directory.
        parent: PathBuf,
        /// What is wrong with it.
        why: ParentProblem,
    },
}

/// What is wrong with a parent directory.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum ParentProblem {
    /// It belongs to a user other than this one and root.
    #[error("is owned by uid {0}")]
    Owner(u32),
    /// Group or others may write it and it has no sticky bit.
    #[error("is writable by other users without the sticky bit (mode {0:o})")]
    Writable(u32),
}

impl TrustError {
    fn io(action: &'static str) -> impl FnOnce(io::Error) -> TrustError {
        move |source| {
            if is_symlink_refusal(&source) {
                TrustError::Symlink
            } else {
                TrustError::Io { action, source }
            }
        }
    }

    /// Whether the error only says that something does not exist.
    pub fn is_not_found(&self) -> bool {
        matches!(self, TrustError::Io { source, .. } if source.kind() == io::ErrorKind::NotFound)
    }
}

/// The effective user id of this process.
#[cfg(unix)]
pub fn current_uid() -> u32 {
    // SAFETY: `geteuid` takes no arguments, touches no memory and cannot fail.
    #[allow(unsafe_code)]
    unsafe {
        libc::geteuid()
    }
}

/// Creates `dir` (and any missing parents) readable and writable by this user only. An
/// existing directory is left as it is: check it with [`check_private_dir`].
pub fn create_private_dir(dir: &Path) -> io::Result<()> {
    let mut builder = std::fs::DirBuilder::new();
    builder.recursive(true);
    #[cfg(unix)]
    {
        use std::os::unix::fs::DirBuilderExt;
        builder.mode(0o700);
    }
    builder.create(dir)
}

/// Opens `dir` without following a symbolic link in its last component and refuses it
/// unless it is private (see the [module docs](self)). Returns the open directory, whose
/// descriptor the caller may lock.
pub fn open_private_dir(dir: &Path) -> Result<File, TrustError> {
    let file = open_dir(dir)?;
    #[cfg(unix)]
    {
        use std::os::unix::fs::MetadataExt;
        let meta = file.metadata().map_err(TrustError::io("read directory"))?;
        let user = current_uid();
        if meta.uid() != user {
            return Err(TrustError::NotOwned {
                owner: meta.uid(),
                user,
            });
        }
        let mode = meta.mode() & 0o7777;
        if mode & 0o022 != 0 {
            return Err(TrustError::Writable { mode: mode & 0o777 });
        }
        check_parents(dir, user)?;
    }
    Ok(file)
}

/// Refuses `dir` if users other than its owner may write it (group or world write bit, no
/// matter the sticky bit). For readers, which need not own what they read.
pub fn check_not_shared(dir: &Path) -> Result<(), TrustError> {
    let file = open_dir(dir)?;
    #[cfg(unix)]
    {
        use std::os::unix::fs::MetadataExt;
        let mode = file
            .metadata()
            .map_err(TrustError::io("read directory"))?
            .mode();
        if mode & 0o022 != 0 {
            return Err(TrustError::Writable { mode: mode & 0o777 });
        }
    }
    #[cfg(not(unix))]
    let _ = file;
    Ok(())
}

/// Opens a directory, refusing a symbolic link and anything that is not a directory.
fn open_dir(dir: &Path) -> Result<File, TrustError> {
    let mut options = OpenOptions::new();
    options.read(true);
    #[cfg(unix)]
    {
        use std::os::unix::fs::OpenOptionsExt;
        options.custom_flags(libc::O_NOFOLLOW | libc::O_DIRECTORY | libc::O_NONBLOCK);
    }
    let file = options.open(dir).map_err(|e| {
        // With `O_DIRECTORY`, a symbolic link is refused as "not a directory".
        if e.raw_os_error() != Some(libc::ENOTDIR) {
            TrustError::io("open directory")(e)
        } else if std::fs::symlink_metadata(dir).is_ok_and(|m| m.file_type().is_symlink()) {
            TrustError::Symlink
        } else {
            TrustError::WrongKind("directory")
        }
    })?;
    let meta = file.metadata().map_err(TrustError::io("read directory"))?;
    if !meta.is_dir() {
        return Err(TrustError::WrongKind("directory"));
    }
    Ok(file)
}

/// Refuses a directory above `dir` (after resolving links) that someone other than this user
/// or root could rename `dir` in.
#[cfg(unix)]
fn check_parents(dir: &Path, user: u32) -> Result<(), TrustError> {
    use std::os::unix::fs::MetadataExt;
    let real = std::fs::canonicalize(dir).map_err(TrustError::io("resolve directory"))?;
    for parent in real.ancestors().skip(1) {
        let meta = std::fs::symlink_metadata(parent).map_err(TrustError::io("read parent"))?;
        let problem = if meta.uid() != 0 && meta.uid() != user {
            Some(ParentProblem::Owner(meta.uid()))
        } else if meta.mode() & 0o022 != 0 && meta.mode() & STICKY == 0 {
            Some(ParentProblem::Writable(meta.mode() & 0o777))
        } else {
            None
        };
        if let Some(why) = problem {
            return Err(TrustError::Parent {
                parent: parent.to_path_buf(),
                why,
            });
        }
    }
    Ok(())
}

/// The sticky bit: only an entry's owner (or the directory's, or root) may rename it.
#[cfg(unix)]
const STICKY: u32 = 0o1000;

/// How a file in a trusted directory is opened.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Access {
    /// For reading only: it must be a regular file.
    Read,
    /// For writing (or to be loaded as code): it must also be owned by this user.
    Own,
}

/// Opens `path` with `options`, never following a symbolic link in its last component and
/// without waiting on a FIFO, then checks on the opened descriptor that it is a regular file
/// (and, for [`Access::Own`], owned by this user). New files get mode `0600`.
pub fn open_file(
    path: &Path,
    options: &mut OpenOptions,
    access: Access,
) -> Result<(File, Metadata), TrustError> {
    #[cfg(unix)]
    {
        use std::os::unix::fs::OpenOptionsExt;
        options
            .mode(0o600)
            .custom_flags(libc::O_NOFOLLOW | libc::O_NONBLOCK);
    }
    let file = options.open(path).map_err(TrustError::io("open"))?;
    let meta = file.metadata().map_err(TrustError::io("read metadata"))?;
    if !meta.is_file() {
        return Err(TrustError::WrongKind("regular file"));
    }
    #[cfg(unix)]
    if access == Access::Own {
        use std::os::unix::fs::MetadataExt;
        let user = current_uid();
        if meta.uid() != user {
            return Err(TrustError::NotOwned {
                owner: meta.uid(),
                user,
            });
        }
    }
    Ok((file, meta))
}

/// Whether an error from opening with `O_NOFOLLOW` means the path is a symbolic link.
fn is_symlink_refusal(error: &io::Error) -> bool {
    #[cfg(unix)]
    {
        error.raw_os_error() == Some(libc::ELOOP)
    }
    #[cfg(not(unix))]
    {
        let _ = error;
        false
    }
}

#[cfg(all(test, unix))]
mod tests {
    use std::fs;
    use std::os::unix::fs::PermissionsExt;

    use super::*;

    fn chmod(path: &Path, mode: u32) {
        fs::set_permissions(path, fs::Permissions::from_mode(mode)).unwrap();
    }

    #[test]
    fn a_new_private_dir_is_accepted() {
        let temp = tempfile::tempdir().unwrap();
        let dir = temp.path().join("a/b");
        create_private_dir(&dir).unwrap();
        assert_eq!(
            fs::metadata(&dir).unwrap().permissions().mode() & 0o777,
            0o700
        );
        open_private_dir(&dir).unwrap();
    }

    #[test]
    fn group_or_world_writable_dirs_are_refused() {
        let temp = tempfile::tempdir().unwrap();
        for mode in [0o770, 0o707, 0o1777] {
            chmod(temp.path(), mode);
            let err = open_private_dir(temp.path()).unwrap_err();
            assert!(
                matches!(err, TrustError::Writable { .. }),
                "{mode:o}: {err}"
            );
            assert_eq!(
                err.to_string(),
                format!("writable by other users (mode {:o})", mode & 0o777)
            );
            assert!(check_not_shared(temp.path()).is_err());
        }
        chmod(temp.path(), 0o755);
        open_private_dir(temp.path()).unwrap();
        check_not_shared(temp.path()).unwrap();
    }

    #[test]
    fn a_writable_parent_is_refused_unless_sticky() {
        let temp = tempfile::tempdir().unwrap();
        let dir = temp.path().join("cache");
        create_private_dir(&dir).unwrap();
        chmod(temp.path(), 0o777);
        let err = open_private_dir(&dir).unwrap_err();
        let parent = fs::canonicalize(temp.path()).unwrap();
        assert_eq!(
            err.to_string(),
            format!(
                "parent directory `{}` is writable by other users without the sticky bit (mode 777), who could replace it",
                parent.display()
            )
        );
        chmod(temp.path(), 0o1777);
        open_private_dir(&dir).unwrap();
        chmod(temp.path(), 0o700);
    }

    #[test]
    fn a_symlinked_dir_or_file_is_refused() {
        let temp = tempfile::tempdir().unwrap();
        let real = temp.path().join("real");
        create_private_dir(&real).unwrap();
        let link = temp.path().join("link");
        std::os::unix::fs::symlink(&real, &link).unwrap();
        assert!(matches!(open_private_dir(&link), Err(TrustError::Symlink)));

        let file = real.join("f");
        fs::write(&file, b"x").unwrap();
        let file_link = real.join("g");
        std::os::unix::fs::symlink(&file, &file_link).unwrap();
        let err = open_file(&file_link, OpenOptions::new().read(true), Access::Read).unwrap_err();
        assert!(matches!(err, TrustError::Symlink), "{err}");
        open_file(&file, OpenOptions::new().read(true), Access::Own).unwrap();
        let err = open_file(&real, OpenOptions::new().read(true), Access::Read).unwrap_err();
        assert!(
            matches!(err, TrustError::WrongKind("regular file")),
            "{err}"
        );
    }

    #[test]
    fn new_files_are_private() {
        let temp = tempfile::tempdir().unwrap();
        let path = temp.path().join("new");
        let (_file, meta) = open_file(
            &path,
            OpenOptions::new().write(true).create_new(true),
            Access::Own,
        )
        .unwrap();
        assert_eq!(meta.permissions().mode() & 0o777, 0o600);
    }

    /// A directory owned by someone else can only be made by root; elsewhere this part is
    /// skipped.
    #[test]
    fn a_dir_owned_by_another_user_is_refused() {
        if current_uid() != 0 {
            eprintln!("note: not root, so a directory owned by another user cannot be made");
            return;
        }
        let temp = tempfile::tempdir().unwrap();
        let dir = temp.path().join("theirs");
        create_private_dir(&dir).unwrap();
        std::os::unix::fs::chown(&dir, Some(65534), None).unwrap();
        let err = open_private_dir(&dir).unwrap_err();
        assert_eq!(
            err.to_string(),
            "owned by uid 65534, not by this user (uid 0)"
        );
        // And as a parent: its owner could rename what is inside.
        let inner = dir.join("mine");
        create_private_dir(&inner).unwrap();
        let err = open_private_dir(&inner).unwrap_err();
        assert!(
            matches!(
                &err,
                TrustError::Parent {
                    why: ParentProblem::Owner(65534),
                    ..
                }
            ),
            "{err}"
        );
    }
}
