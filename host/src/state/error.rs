//! What can go wrong with the state store, each on one line naming what it is about.

use std::path::PathBuf;

use super::session::SessionIdError;
use crate::private_dir::TrustError;
use crate::text::Escaped;

/// An error of the state store.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum StateError {
    /// Another agent owns the session (the first agent that used it).
    #[error("session `{}` belongs to agent `{}`", Escaped(session), Escaped(owner))]
    NotOwner {
        /// The session id.
        session: String,
        /// The agent that owns it.
        owner: String,
    },
    /// A record with this id is stored already.
    #[error("`{}` is stored already", Escaped(id))]
    Duplicate {
        /// The id.
        id: String,
    },
    /// A session id is not acceptable.
    #[error(transparent)]
    SessionId(#[from] SessionIdError),
    /// Another process holds the SQLite state directory.
    #[error(
        "state directory {} is in use by another process; use PostgreSQL ([state] backend = \"postgres\") to share state between replicas",
        dir.display()
    )]
    Locked {
        /// The state directory.
        dir: PathBuf,
    },
    /// The state directory or a file in it is not private, or could not be made or opened.
    #[error("{}: {source}", path.display())]
    Untrusted {
        /// The directory or file.
        path: PathBuf,
        /// What is wrong with it.
        #[source]
        source: TrustError,
    },
    /// A file system operation failed.
    #[error("{}: cannot {action}: {source}", path.display())]
    Io {
        /// The directory or file.
        path: PathBuf,
        /// What was being done, e.g. `"create directory"`.
        action: &'static str,
        /// The operating system's error.
        #[source]
        source: std::io::Error,
    },
    /// `url-env` names a variable that is not set or not usable.
    #[error("[state] url-env: environment variable {var} {problem}")]
    UrlEnv {
        /// The variable.
        var: String,
        /// What is wrong, e.g. `"is not set"`.
        problem: String,
    },
    /// The store could not be reached or opened.
    #[error("state store {target}: cannot connect: {}", one_line(source))]
    Connect {
        /// The file, or the URL without its password.
        target: String,
        /// The driver's error.
        #[source]
        source: sqlx::Error,
    },
    /// The store was written by a newer version of this program.
    #[error(
        "state store {target} has schema version {found}, newer than {known}, the latest this version of lampart knows; upgrade lampart"
    )]
    TooNew {
        /// The file, or the URL without its password, and the schema.
        target: String,
        /// The version found.
        found: i64,
        /// The latest version this code knows.
        known: i64,
    },
    /// A write was abandoned because the runtime is shutting down.
    #[error("state store: write abandoned, the service is shutting down")]
    ShuttingDown,
    /// A query failed.
    #[error("state store: cannot {action}: {}", one_line(source))]
    Query {
        /// What was being done, e.g. `"record session"`.
        action: &'static str,
        /// The driver's error.
        #[source]
        source: sqlx::Error,
    },
}

impl StateError {
    /// A mapper from a driver error to [`StateError::Query`].
    pub(crate) fn query(action: &'static str) -> impl FnOnce(sqlx::Error) -> StateError {
        move |source| StateError::Query { action, source }
    }
}

fn one_line(error: &sqlx::Error) -> String {
    crate::text::escape(&error.to_string())
}
