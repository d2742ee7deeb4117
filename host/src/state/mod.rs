//! State that outlives one decision and one process: sessions and their labels, shared by
//! replicas through PostgreSQL or kept in an embedded SQLite file.
//!
//! # The model
//!
//! A [`Session`] is named by an id the client chooses ([`SessionId`]: 1 to 256 bytes of
//! printable text) and is **owned by the first agent that uses it**: another agent naming the
//! same id is refused with [`StateError::NotOwner`]. It carries a sorted set of labels (taint
//! tracking: what the session has seen), which only ever grow: no decision removes a label;
//! an operator can only [`delete`](Store::delete) the whole session.
//!
//! Its lifetime slides: every [`touch`](Store::touch) extends its expiry to `now +
//! session-ttl`. An expired session is as if absent: the next use starts a new one, with no
//! labels and possibly another owner; [`purge_expired`](Store::purge_expired) removes it for
//! good. Every operation takes `now` from the caller, so tests need no clock.
//!
//! To keep writes rare under load, a touch that adds no label to a session whose expiry is
//! still more than 90% of the TTL away writes nothing: a decision in a busy session usually
//! costs no write, and [`Session::updated`] is then up to a tenth of the TTL old.
//!
//! # The backends
//!
//! [`Store`] is an enum over the two backends rather than a trait object: the set is closed,
//! the methods stay plain `async fn` (no boxed futures, no extra dependency), and each
//! backend keeps what only it has (SQLite's cache and lock).
//!
//! - **SQLite** (the default) keeps `state.db` in a private state directory (`dir`, created
//!   mode 0700; the file 0600), in WAL mode with `synchronous = FULL`, so a label written
//!   survives a crash: it is security state. The file is **exclusive to one process**: the
//!   store holds an exclusive `flock` on the directory while open, and a second process is
//!   refused with [`StateError::Locked`]. Because nobody else writes the file, every session
//!   is also kept in memory, written through: reads ([`session`](Store::session),
//!   [`get`](Store::get), [`list`](Store::list)) cost a lock and a clone, no SQL; a write
//!   goes to the file first, then to the cache.
//! - **PostgreSQL** (`backend = "postgres"`) is shared by replicas, so nothing is cached:
//!   each read is one query, and each write one transaction that inserts or locks the
//!   session's row (`INSERT … ON CONFLICT DO UPDATE … RETURNING`) before adding labels, so
//!   two replicas adding different labels to one session at once both land. All tables live
//!   in the configured `schema`, created if absent.
//!
//! Both create their tables at open (`CREATE TABLE IF NOT EXISTS`) and keep a
//! `schema_version` row; a store whose version is newer than [`SCHEMA_VERSION`] is refused.
//! Times are stored as milliseconds since the Unix epoch.
//!
//! # The schema, and what comes next
//!
//! - `schema_version(singleton = 1, version)`: a migration from version *n* runs in the
//!   opening transaction (under an advisory lock on PostgreSQL) and bumps the row with it.
//! - `sessions(id PRIMARY KEY, agent, created_ms, updated_ms, expires_ms)`, indexed by
//!   expiry for purging.
//! - `session_labels(session_id → sessions ON DELETE CASCADE, label, PRIMARY KEY (both))`:
//!   one row per label, so that a union is an `INSERT … ON CONFLICT DO NOTHING` in either
//!   backend.
//!
//! - version 2 adds `elevations(id PRIMARY KEY, agent, session_id, task NULL, scopes (a JSON
//!   list), justification, ttl_ms, state, decision, decided_by, reason, created_ms,
//!   decided_ms, expires_ms, ended_ms, ended_by)`: one row per request for privileges, from
//!   `pending` through `granted` to `expired` or `revoked` (see [`Elevation`]). Rows are
//!   kept after they close, as the history operators list. SQLite keeps the granted ones in
//!   memory too, so a decision reads its grants without SQL; PostgreSQL reads them with one
//!   indexed query.
//!
//! - version 2 also adds `quarantines(agent PRIMARY KEY, reason, by_whom, since_ms)`: every
//!   replica enforces one (PostgreSQL: read with every decision; SQLite: from memory).
//!
//! Later tables follow the same shape, each added by a migration step:
//! - per-agent detector counters: `counters(agent, name, window_start_ms, count, PRIMARY
//!   KEY (agent, name, window_start_ms))`, incremented by an upsert (`count = count + 1`).

mod config;
mod elevation;
mod error;
mod postgres;
mod quarantine;
mod session;
mod sqlite;

#[cfg(test)]
mod tests;

#[cfg(test)]
mod postgres_tests;

use std::fmt;
use std::path::Path;
use std::sync::Arc;
use std::time::{Duration, SystemTime};

pub use config::{
    BackendConfig, DEFAULT_DIR, DEFAULT_MAX_CONNECTIONS, DEFAULT_SCHEMA, DEFAULT_TTL, DatabaseUrl,
    PostgresConfig, StateSection, UrlSource,
};
pub use elevation::{
    Changed, Elevation, ElevationFilter, ElevationState, Transition, expire as expire_elevation,
};
pub use error::StateError;
pub use quarantine::Quarantine;
pub use session::{MAX_SESSION_ID_BYTES, Session, SessionId, SessionIdError};
pub use sqlite::DB_FILE;

use postgres::PgStore;
use sqlite::SqliteStore;

/// The schema version this code writes and the newest it can open.
pub const SCHEMA_VERSION: i64 = 2;

/// A result of the state store.
pub type StateResult<T> = Result<T, StateError>;

/// Which backend a store uses.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, serde::Serialize)]
#[serde(rename_all = "lowercase")]
pub enum Backend {
    /// An embedded SQLite file, exclusive to one process.
    Sqlite,
    /// A PostgreSQL server, shared by replicas.
    Postgres,
}

impl Backend {
    /// The backend's name as the config writes it: `"sqlite"` or `"postgres"`.
    pub fn as_str(self) -> &'static str {
        match self {
            Backend::Sqlite => "sqlite",
            Backend::Postgres => "postgres",
        }
    }
}

impl fmt::Display for Backend {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// The session store: cheap to clone (the clones share one store), `Send + Sync`.
#[derive(Clone)]
pub struct Store {
    inner: Inner,
    ttl: Duration,
}

#[derive(Clone)]
enum Inner {
    Sqlite(Arc<SqliteStore>),
    Postgres(Arc<PgStore>),
}

impl fmt::Debug for Store {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Store")
            .field("backend", &self.backend())
            .field("session_ttl", &self.ttl)
            .finish_non_exhaustive()
    }
}

impl Store {
    /// Opens the store `section` describes; a relative SQLite `dir` is taken from
    /// `base_dir`, the config file's directory. Creates what is missing (directory, file,
    /// schema, tables) and refuses a store written by a newer version.
    pub async fn open(section: &StateSection, base_dir: &Path) -> StateResult<Store> {
        let ttl = section.session_ttl;
        let inner = match &section.backend {
            BackendConfig::Sqlite { dir } => {
                Inner::Sqlite(Arc::new(SqliteStore::open(&base_dir.join(dir), ttl).await?))
            }
            BackendConfig::Postgres(config) => {
                Inner::Postgres(Arc::new(PgStore::open(config, ttl).await?))
            }
        };
        Ok(Store { inner, ttl })
    }

    /// A store kept in this process's memory only, for state that need not outlive the
    /// process (one `lampart mcp` proxy serves one agent run).
    pub async fn memory(session_ttl: Duration) -> StateResult<Store> {
        let inner = Inner::Sqlite(Arc::new(SqliteStore::memory(session_ttl).await?));
        Ok(Store {
            inner,
            ttl: session_ttl,
        })
    }

    /// Which backend the store uses.
    pub fn backend(&self) -> Backend {
        match self.inner {
            Inner::Sqlite(_) => Backend::Sqlite,
            Inner::Postgres(_) => Backend::Postgres,
        }
    }

    /// How long an unused session lives.
    pub fn session_ttl(&self) -> Duration {
        self.ttl
    }

    /// Checks that the store answers a query (for readiness).
    pub async fn ping(&self) -> StateResult<()> {
        match &self.inner {
            Inner::Sqlite(s) => s.ping().await,
            Inner::Postgres(p) => p.ping().await,
        }
    }

    /// The session as the next decision of `agent` should see it: `None` if absent or
    /// expired, [`StateError::NotOwner`] if another agent owns it. Creates nothing. On
    /// SQLite this is served from memory.
    pub async fn session(
        &self,
        id: &SessionId,
        agent: &str,
        now: SystemTime,
    ) -> StateResult<Option<Session>> {
        match &self.inner {
            Inner::Sqlite(s) => s.session(id, agent, now),
            Inner::Postgres(p) => p.session(id, agent, now).await,
        }
    }

    /// Records that `agent` used session `id` at `now`, adding `labels` to its own: starts it
    /// if absent or expired (owned by `agent`), refuses it with [`StateError::NotOwner`] if
    /// another agent owns it, and extends its expiry to `now + session-ttl`. Returns the
    /// session as it is afterwards.
    ///
    /// Atomic: one transaction, safe with concurrent replicas; labels added at once by two
    /// callers all land. Writes nothing when no label is new and the session's expiry is
    /// still more than 90% of the TTL away. On SQLite, a write finishes (file and cache) even
    /// if the caller stops waiting for it.
    pub async fn touch(
        &self,
        id: &SessionId,
        agent: &str,
        labels: &[String],
        now: SystemTime,
    ) -> StateResult<Session> {
        match &self.inner {
            Inner::Sqlite(s) => s.touch(id, agent, labels, now).await,
            Inner::Postgres(p) => p.touch(id, agent, labels, now).await,
        }
    }

    /// The session whoever owns it (an operator's view); `None` if absent or expired.
    pub async fn get(&self, id: &SessionId, now: SystemTime) -> StateResult<Option<Session>> {
        match &self.inner {
            Inner::Sqlite(s) => Ok(s.cached(id, now)),
            Inner::Postgres(p) => p.get(id, now).await,
        }
    }

    /// Deletes the session and its labels (an operator's action). Returns whether it was
    /// stored (expired or not).
    pub async fn delete(&self, id: &SessionId) -> StateResult<bool> {
        match &self.inner {
            Inner::Sqlite(s) => s.delete(id).await,
            Inner::Postgres(p) => p.delete(id).await,
        }
    }

    /// Up to `limit` live sessions, most recently updated first (an operator's view).
    pub async fn list(&self, now: SystemTime, limit: usize) -> StateResult<Vec<Session>> {
        match &self.inner {
            Inner::Sqlite(s) => Ok(s.list(now, limit)),
            Inner::Postgres(p) => p.list(now, limit).await,
        }
    }

    /// Removes every session expired at `now`, with its labels. Returns how many.
    pub async fn purge_expired(&self, now: SystemTime) -> StateResult<u64> {
        match &self.inner {
            Inner::Sqlite(s) => s.purge_expired(now).await,
            Inner::Postgres(p) => p.purge_expired(now).await,
        }
    }

    /// Stores a new elevation; [`StateError::Duplicate`] if its id is taken.
    pub async fn insert_elevation(&self, elevation: &Elevation) -> StateResult<()> {
        match &self.inner {
            Inner::Sqlite(s) => s.insert_elevation(elevation).await,
            Inner::Postgres(p) => p.insert_elevation(elevation).await,
        }
    }

    /// The elevations granting scopes to a decision of `agent` in `session` about `task` at
    /// `now`: granted, not expired, and bound to that session and to that task or to none.
    /// On SQLite this is served from memory.
    pub async fn grants(
        &self,
        agent: &str,
        session: &SessionId,
        task: Option<&str>,
        now: SystemTime,
    ) -> StateResult<Vec<Elevation>> {
        match &self.inner {
            Inner::Sqlite(s) => Ok(s.grants(agent, session.as_str(), task, now)),
            Inner::Postgres(p) => p.grants(agent, session.as_str(), task, now).await,
        }
    }

    /// The elevation with this id, in whatever state.
    pub async fn elevation(&self, id: &str) -> StateResult<Option<Elevation>> {
        match &self.inner {
            Inner::Sqlite(s) => s.elevation(id).await,
            Inner::Postgres(p) => p.elevation(id).await,
        }
    }

    /// Up to `limit` elevations the filter shows at `now`, newest first.
    pub async fn elevations(
        &self,
        filter: &ElevationFilter,
        now: SystemTime,
        limit: usize,
    ) -> StateResult<Vec<Elevation>> {
        match &self.inner {
            Inner::Sqlite(s) => s.elevations(filter, now, limit).await,
            Inner::Postgres(p) => p.elevations(filter, now, limit).await,
        }
    }

    /// Applies `change` to elevation `id` at `now` if its state allows (atomic: of two
    /// concurrent changes, one at most succeeds).
    pub async fn transition(
        &self,
        id: &str,
        change: &Transition,
        now: SystemTime,
    ) -> StateResult<Changed> {
        match &self.inner {
            Inner::Sqlite(s) => s.transition(id, change, now).await,
            Inner::Postgres(p) => p.transition(id, change, now).await,
        }
    }

    /// Applies `change` (a revocation) to every open elevation of `agent`, or only to those
    /// bound to `task`. Returns the elevations it changed.
    pub async fn revoke_all(
        &self,
        agent: &str,
        task: Option<&str>,
        change: &Transition,
        now: SystemTime,
    ) -> StateResult<Vec<Elevation>> {
        match &self.inner {
            Inner::Sqlite(s) => s.revoke_all(agent, task, change, now).await,
            Inner::Postgres(p) => p.revoke_all(agent, task, change, now).await,
        }
    }

    /// Marks every open elevation past its `expires` at `now` as expired, and returns them
    /// (each once, even with replicas sweeping at the same time).
    pub async fn expire_elevations(&self, now: SystemTime) -> StateResult<Vec<Elevation>> {
        match &self.inner {
            Inner::Sqlite(s) => s.expire_elevations(now).await,
            Inner::Postgres(p) => p.expire_elevations(now).await,
        }
    }

    /// The agent's quarantine, if it is in one. On SQLite this is served from memory.
    pub async fn quarantined(&self, agent: &str) -> StateResult<Option<Quarantine>> {
        match &self.inner {
            Inner::Sqlite(s) => Ok(s.quarantined(agent)),
            Inner::Postgres(p) => p.quarantined(agent).await,
        }
    }

    /// Every quarantined agent, by name.
    pub async fn quarantines(&self) -> StateResult<Vec<Quarantine>> {
        match &self.inner {
            Inner::Sqlite(s) => Ok(s.quarantines()),
            Inner::Postgres(p) => p.quarantines().await,
        }
    }

    /// Quarantines the agent. Returns the quarantine it was already in, if any (which is
    /// kept as it is), else `None`.
    pub async fn quarantine(&self, quarantine: &Quarantine) -> StateResult<Option<Quarantine>> {
        match &self.inner {
            Inner::Sqlite(s) => s.quarantine(quarantine).await,
            Inner::Postgres(p) => p.quarantine(quarantine).await,
        }
    }

    /// Releases the agent; returns the quarantine it was in, if any.
    pub async fn release(&self, agent: &str) -> StateResult<Option<Quarantine>> {
        match &self.inner {
            Inner::Sqlite(s) => s.release(agent).await,
            Inner::Postgres(p) => p.release(agent).await,
        }
    }

    /// Waits for the write in progress, closes the connections and, for SQLite, releases
    /// the directory lock. Queries and writes through clones of this store fail from then
    /// on.
    pub async fn close(self) {
        match &self.inner {
            Inner::Sqlite(s) => s.close().await,
            Inner::Postgres(p) => p.close().await,
        }
    }
}
