//! The SQLite backend: one file, `state.db`, in a private directory this process holds an
//! exclusive lock on, with every session also kept in memory.
//!
//! Writes go to the file first and then to the cache, one at a time (a writer lock), inside a
//! spawned task: a caller that stops waiting (a cancelled request) cannot leave the cache
//! behind the file.

use std::collections::HashMap;
use std::fs::{File, OpenOptions, TryLockError};
use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex, PoisonError, RwLock};
use std::time::{Duration, SystemTime};

use sqlx::sqlite::SqliteRow;
use sqlx::sqlite::{
    SqliteConnectOptions, SqliteJournalMode, SqlitePool, SqlitePoolOptions, SqliteSynchronous,
};
use sqlx::{AssertSqlSafe, Row, Sqlite, Transaction};

use super::elevation::Changed;
use super::elevation::{self, Elevation, ElevationFilter, ElevationState, Transition};
use super::error::StateError;
use super::quarantine::Quarantine;
use super::session::{self, Plan, Session, SessionId, from_millis, to_millis};
use super::{SCHEMA_VERSION, StateResult};
use crate::private_dir::{self, Access};

/// The database's file name in the state directory.
pub const DB_FILE: &str = "state.db";

/// How long a statement waits for SQLite's own lock before failing.
const BUSY_TIMEOUT: Duration = Duration::from_secs(5);

/// The tables of schema version 1.
const SCHEMA_V1: &[&str] = &[
    "CREATE TABLE IF NOT EXISTS sessions (
        id TEXT PRIMARY KEY NOT NULL,
        agent TEXT NOT NULL,
        created_ms INTEGER NOT NULL,
        updated_ms INTEGER NOT NULL,
        expires_ms INTEGER NOT NULL
    )",
    "CREATE INDEX IF NOT EXISTS sessions_by_expiry ON sessions (expires_ms)",
    "CREATE TABLE IF NOT EXISTS session_labels (
        session_id TEXT NOT NULL REFERENCES sessions (id) ON DELETE CASCADE,
        label TEXT NOT NULL,
        PRIMARY KEY (session_id, label)
    ) WITHOUT ROWID",
];

/// The tables schema version 2 adds: elevations (see [`super::elevation`]).
const SCHEMA_V2: &[&str] = &[
    "CREATE TABLE IF NOT EXISTS elevations (
        id TEXT PRIMARY KEY NOT NULL,
        agent TEXT NOT NULL,
        session_id TEXT NOT NULL,
        task TEXT,
        scopes TEXT NOT NULL,
        justification TEXT NOT NULL,
        ttl_ms INTEGER NOT NULL,
        state TEXT NOT NULL,
        decision TEXT NOT NULL,
        decided_by TEXT,
        reason TEXT,
        created_ms INTEGER NOT NULL,
        decided_ms INTEGER,
        expires_ms INTEGER NOT NULL,
        ended_ms INTEGER,
        ended_by TEXT
    )",
    "CREATE INDEX IF NOT EXISTS elevations_by_agent ON elevations (agent, state)",
    "CREATE INDEX IF NOT EXISTS elevations_by_state ON elevations (state, expires_ms)",
    "CREATE TABLE IF NOT EXISTS quarantines (
        agent TEXT PRIMARY KEY NOT NULL,
        reason TEXT NOT NULL,
        by_whom TEXT NOT NULL,
        since_ms INTEGER NOT NULL
    )",
];

/// A SQLite store, exclusive to this process.
pub(crate) struct SqliteStore {
    pool: SqlitePool,
    ttl_ms: i64,
    /// Every session in the file, expired or not (expired ones are as if absent).
    cache: RwLock<HashMap<String, Session>>,
    /// Every elevation stored as granted, by agent: what decisions read their grants from.
    granted: RwLock<HashMap<String, Vec<Elevation>>>,
    /// Every quarantined agent.
    quarantined: RwLock<HashMap<String, Quarantine>>,
    /// Held by the one write in progress, from reading the cache to updating it.
    writer: tokio::sync::Mutex<()>,
    /// The locked state directory; released by [`SqliteStore::close`] or when dropped.
    lock: Mutex<Option<File>>,
}

impl SqliteStore {
    /// Creates (0700) or opens the private directory `dir`, locks it, creates (0600) or opens
    /// `state.db` in it, and loads every session.
    pub(crate) async fn open(dir: &Path, ttl: Duration) -> StateResult<SqliteStore> {
        private_dir::create_private_dir(dir).map_err(|source| StateError::Io {
            path: dir.to_path_buf(),
            action: "create directory",
            source,
        })?;
        let lock = lock_dir(dir)?;
        let path = dir.join(DB_FILE);
        let (file, _) = private_dir::open_file(
            &path,
            OpenOptions::new().read(true).write(true).create(true),
            Access::Own,
        )
        .map_err(untrusted(&path))?;
        #[cfg(unix)]
        {
            use std::os::unix::fs::PermissionsExt;
            file.set_permissions(std::fs::Permissions::from_mode(0o600))
                .map_err(|source| StateError::Io {
                    path: path.clone(),
                    action: "make private",
                    source,
                })?;
        }
        drop(file);

        let options = SqliteConnectOptions::new()
            .filename(&path)
            .create_if_missing(false)
            .journal_mode(SqliteJournalMode::Wal)
            .synchronous(SqliteSynchronous::Full)
            .busy_timeout(BUSY_TIMEOUT)
            .foreign_keys(true);
        let pool = one_connection(options, &path.display().to_string()).await?;
        let store = async {
            migrate(&pool, &path).await?;
            let cache = load(&pool).await?;
            let granted = load_granted(&pool).await?;
            let quarantined = load_quarantines(&pool).await?;
            Ok::<_, StateError>((cache, granted, quarantined))
        }
        .await;
        let (cache, granted, quarantined) = match store {
            Ok(loaded) => loaded,
            Err(e) => {
                pool.close().await;
                return Err(e);
            }
        };
        Ok(SqliteStore {
            pool,
            ttl_ms: session::duration_millis(ttl),
            cache: RwLock::new(cache),
            granted: RwLock::new(granted),
            quarantined: RwLock::new(quarantined),
            writer: tokio::sync::Mutex::new(()),
            lock: Mutex::new(Some(lock)),
        })
    }

    /// A store in this process's memory only: the state of one `lampart mcp` proxy, which
    /// lives as long as the agent run it serves. Nothing is written to disk.
    pub(crate) async fn memory(ttl: Duration) -> StateResult<SqliteStore> {
        let options = SqliteConnectOptions::new()
            .in_memory(true)
            .foreign_keys(true);
        // The connection never closes, and an in-memory database lives as long as it.
        let pool = one_connection(options, ":memory:").await?;
        migrate(&pool, Path::new(":memory:")).await?;
        Ok(SqliteStore {
            pool,
            ttl_ms: session::duration_millis(ttl),
            cache: RwLock::new(HashMap::new()),
            granted: RwLock::new(HashMap::new()),
            quarantined: RwLock::new(HashMap::new()),
            writer: tokio::sync::Mutex::new(()),
            lock: Mutex::new(None),
        })
    }

    pub(crate) async fn ping(&self) -> StateResult<()> {
        sqlx::query("SELECT 1")
            .execute(&self.pool)
            .await
            .map_err(StateError::query("ping"))?;
        Ok(())
    }

    /// Reads one session from memory: the lookup takes a read lock and clones it.
    pub(crate) fn cached(&self, id: &SessionId, now: SystemTime) -> Option<Session> {
        let cache = self.cache.read().unwrap_or_else(PoisonError::into_inner);
        cache
            .get(id.as_str())
            .filter(|s| !s.is_expired(now))
            .cloned()
    }

    /// Like [`SqliteStore::cached`], refusing another agent's session.
    pub(crate) fn session(
        &self,
        id: &SessionId,
        agent: &str,
        now: SystemTime,
    ) -> StateResult<Option<Session>> {
        let cache = self.cache.read().unwrap_or_else(PoisonError::into_inner);
        match cache.get(id.as_str()) {
            Some(s) if s.is_expired(now) => Ok(None),
            Some(s) if s.agent != agent => Err(StateError::NotOwner {
                session: s.id.clone(),
                owner: s.agent.clone(),
            }),
            found => Ok(found.cloned()),
        }
    }

    /// See [`Store::touch`](super::Store::touch). Runs in its own task.
    pub(crate) async fn touch(
        self: &Arc<Self>,
        id: &SessionId,
        agent: &str,
        labels: &[String],
        now: SystemTime,
    ) -> StateResult<Session> {
        // The common case, without waiting for the writer: nothing to write.
        let planned = self.plan(id, agent, labels, now);
        match planned {
            (Plan::Nothing, Some(session)) => return Ok(session),
            (Plan::NotOwner(owner), _) => {
                return Err(StateError::NotOwner {
                    session: id.to_string(),
                    owner,
                });
            }
            _ => {}
        }
        let store = Arc::clone(self);
        let id = id.clone();
        let agent = agent.to_string();
        let labels = session::normalise(labels);
        spawn(async move { store.write_touch(&id, &agent, &labels, now).await }).await
    }

    fn plan(
        &self,
        id: &SessionId,
        agent: &str,
        labels: &[String],
        now: SystemTime,
    ) -> (Plan, Option<Session>) {
        let cache = self.cache.read().unwrap_or_else(PoisonError::into_inner);
        let stored = cache.get(id.as_str());
        let plan = session::plan(stored, agent, labels, to_millis(now), self.ttl_ms);
        let session = match plan {
            Plan::Nothing => stored.cloned(),
            _ => None,
        };
        (plan, session)
    }

    async fn write_touch(
        &self,
        id: &SessionId,
        agent: &str,
        labels: &[String],
        now: SystemTime,
    ) -> StateResult<Session> {
        let _writer = self.writer.lock().await;
        // Planned again under the writer lock: another write may have come first.
        let stored = {
            let cache = self.cache.read().unwrap_or_else(PoisonError::into_inner);
            cache.get(id.as_str()).cloned()
        };
        let now_ms = to_millis(now);
        let expires_ms = now_ms.saturating_add(self.ttl_ms);
        let action = "record session";
        let plan = session::plan(stored.as_ref(), agent, labels, now_ms, self.ttl_ms);
        let session = match (plan, stored) {
            (Plan::NotOwner(owner), _) => {
                return Err(StateError::NotOwner {
                    session: id.to_string(),
                    owner,
                });
            }
            (Plan::Nothing, Some(session)) => return Ok(session),
            (Plan::Extend, Some(mut session)) => {
                let added: Vec<String> = labels
                    .iter()
                    .filter(|l| session.labels.binary_search(l).is_err())
                    .cloned()
                    .collect();
                session.add_labels(&added);
                let expires_ms = expires_ms.max(to_millis(session.expires));
                let updated_ms = now_ms.max(to_millis(session.updated));
                session.updated = from_millis(updated_ms);
                session.expires = from_millis(expires_ms);
                let mut tx = self.pool.begin().await.map_err(StateError::query(action))?;
                sqlx::query("UPDATE sessions SET updated_ms = ?2, expires_ms = ?3 WHERE id = ?1")
                    .bind(id.as_str())
                    .bind(updated_ms)
                    .bind(expires_ms)
                    .execute(&mut *tx)
                    .await
                    .map_err(StateError::query(action))?;
                insert_labels(&mut tx, id, &added).await?;
                tx.commit().await.map_err(StateError::query(action))?;
                session
            }
            // Absent or expired: started afresh (a plan for an absent session is always this).
            (Plan::Start | Plan::Nothing | Plan::Extend, _) => {
                let session = Session {
                    id: id.to_string(),
                    agent: agent.to_string(),
                    labels: labels.to_vec(),
                    created: from_millis(now_ms),
                    updated: from_millis(now_ms),
                    expires: from_millis(expires_ms),
                };
                let mut tx = self.pool.begin().await.map_err(StateError::query(action))?;
                sqlx::query(
                    "INSERT INTO sessions (id, agent, created_ms, updated_ms, expires_ms)
                     VALUES (?1, ?2, ?3, ?3, ?4)
                     ON CONFLICT (id) DO UPDATE SET agent = excluded.agent,
                        created_ms = excluded.created_ms, updated_ms = excluded.updated_ms,
                        expires_ms = excluded.expires_ms",
                )
                .bind(id.as_str())
                .bind(agent)
                .bind(now_ms)
                .bind(expires_ms)
                .execute(&mut *tx)
                .await
                .map_err(StateError::query(action))?;
                sqlx::query("DELETE FROM session_labels WHERE session_id = ?1")
                    .bind(id.as_str())
                    .execute(&mut *tx)
                    .await
                    .map_err(StateError::query(action))?;
                insert_labels(&mut tx, id, labels).await?;
                tx.commit().await.map_err(StateError::query(action))?;
                session
            }
        };
        self.cache
            .write()
            .unwrap_or_else(PoisonError::into_inner)
            .insert(session.id.clone(), session.clone());
        Ok(session)
    }

    pub(crate) fn list(&self, now: SystemTime, limit: usize) -> Vec<Session> {
        let cache = self.cache.read().unwrap_or_else(PoisonError::into_inner);
        let mut live: Vec<&Session> = cache.values().filter(|s| !s.is_expired(now)).collect();
        live.sort_by(|a, b| b.updated.cmp(&a.updated).then_with(|| a.id.cmp(&b.id)));
        live.into_iter().take(limit).cloned().collect()
    }

    pub(crate) async fn delete(self: &Arc<Self>, id: &SessionId) -> StateResult<bool> {
        let store = Arc::clone(self);
        let id = id.clone();
        spawn(async move {
            let _writer = store.writer.lock().await;
            let action = "delete session";
            let mut tx = store
                .pool
                .begin()
                .await
                .map_err(StateError::query(action))?;
            sqlx::query("DELETE FROM session_labels WHERE session_id = ?1")
                .bind(id.as_str())
                .execute(&mut *tx)
                .await
                .map_err(StateError::query(action))?;
            let deleted = sqlx::query("DELETE FROM sessions WHERE id = ?1")
                .bind(id.as_str())
                .execute(&mut *tx)
                .await
                .map_err(StateError::query(action))?
                .rows_affected();
            tx.commit().await.map_err(StateError::query(action))?;
            store
                .cache
                .write()
                .unwrap_or_else(PoisonError::into_inner)
                .remove(id.as_str());
            Ok(deleted > 0)
        })
        .await
    }

    pub(crate) async fn purge_expired(self: &Arc<Self>, now: SystemTime) -> StateResult<u64> {
        let store = Arc::clone(self);
        spawn(async move {
            let _writer = store.writer.lock().await;
            let action = "purge expired sessions";
            let now_ms = to_millis(now);
            let mut tx = store
                .pool
                .begin()
                .await
                .map_err(StateError::query(action))?;
            sqlx::query(
                "DELETE FROM session_labels WHERE session_id IN
                    (SELECT id FROM sessions WHERE expires_ms <= ?1)",
            )
            .bind(now_ms)
            .execute(&mut *tx)
            .await
            .map_err(StateError::query(action))?;
            let purged = sqlx::query("DELETE FROM sessions WHERE expires_ms <= ?1")
                .bind(now_ms)
                .execute(&mut *tx)
                .await
                .map_err(StateError::query(action))?
                .rows_affected();
            tx.commit().await.map_err(StateError::query(action))?;
            store
                .cache
                .write()
                .unwrap_or_else(PoisonError::into_inner)
                .retain(|_, s| !s.is_expired(now));
            Ok(purged)
        })
        .await
    }

    /// See [`Store::insert_elevation`](super::Store::insert_elevation).
    pub(crate) async fn insert_elevation(
        self: &Arc<Self>,
        elevation: &Elevation,
    ) -> StateResult<()> {
        let store = Arc::clone(self);
        let elevation = elevation.clone();
        spawn(async move {
            let _writer = store.writer.lock().await;
            let action = "record elevation";
            let mut tx = store
                .pool
                .begin()
                .await
                .map_err(StateError::query(action))?;
            let exists = sqlx::query("SELECT 1 FROM elevations WHERE id = ?1")
                .bind(&elevation.id)
                .fetch_optional(&mut *tx)
                .await
                .map_err(StateError::query(action))?;
            if exists.is_some() {
                return Err(StateError::Duplicate {
                    id: elevation.id.clone(),
                });
            }
            write_elevation(&mut tx, &elevation).await?;
            tx.commit().await.map_err(StateError::query(action))?;
            store.cache_grant(&elevation);
            Ok(())
        })
        .await
    }

    /// The grants in force for a decision: served from memory.
    pub(crate) fn grants(
        &self,
        agent: &str,
        session: &str,
        task: Option<&str>,
        now: SystemTime,
    ) -> Vec<Elevation> {
        let granted = self.granted.read().unwrap_or_else(PoisonError::into_inner);
        granted
            .get(agent)
            .map(|all| {
                all.iter()
                    .filter(|e| e.applies(agent, session, task, now))
                    .cloned()
                    .collect()
            })
            .unwrap_or_default()
    }

    pub(crate) async fn elevation(&self, id: &str) -> StateResult<Option<Elevation>> {
        let action = "read elevation";
        let row = sqlx::query(AssertSqlSafe(format!(
            "SELECT {} FROM elevations WHERE id = ?1",
            elevation::COLUMNS
        )))
        .bind(id)
        .fetch_optional(&self.pool)
        .await
        .map_err(StateError::query(action))?;
        row.map(|row| decode_elevation(&row).map_err(StateError::query(action)))
            .transpose()
    }

    pub(crate) async fn elevations(
        &self,
        filter: &ElevationFilter,
        now: SystemTime,
        limit: usize,
    ) -> StateResult<Vec<Elevation>> {
        let action = "list elevations";
        let rows = sqlx::query(AssertSqlSafe(format!(
            "SELECT {} FROM elevations WHERE (?1 IS NULL OR agent = ?1)
             ORDER BY created_ms DESC, id DESC",
            elevation::COLUMNS
        )))
        .bind(filter.agent.as_deref())
        .fetch_all(&self.pool)
        .await
        .map_err(StateError::query(action))?;
        let mut found = Vec::new();
        for row in rows {
            let elevation = decode_elevation(&row).map_err(StateError::query(action))?;
            if filter.shows(&elevation, now) {
                found.push(elevation);
                if found.len() == limit {
                    break;
                }
            }
        }
        Ok(found)
    }

    /// See [`Store::transition`](super::Store::transition).
    pub(crate) async fn transition(
        self: &Arc<Self>,
        id: &str,
        change: &Transition,
        now: SystemTime,
    ) -> StateResult<Changed> {
        let store = Arc::clone(self);
        let id = id.to_owned();
        let change = change.clone();
        spawn(async move {
            let _writer = store.writer.lock().await;
            let Some(mut elevation) = store.elevation(&id).await? else {
                return Ok(Changed::Missing);
            };
            if !change.apply(&mut elevation, now) {
                return Ok(Changed::No(elevation));
            }
            let action = "record elevation";
            let mut tx = store
                .pool
                .begin()
                .await
                .map_err(StateError::query(action))?;
            write_elevation(&mut tx, &elevation).await?;
            tx.commit().await.map_err(StateError::query(action))?;
            store.cache_grant(&elevation);
            Ok(Changed::Yes(elevation))
        })
        .await
    }

    /// See [`Store::revoke_all`](super::Store::revoke_all).
    pub(crate) async fn revoke_all(
        self: &Arc<Self>,
        agent: &str,
        task: Option<&str>,
        change: &Transition,
        now: SystemTime,
    ) -> StateResult<Vec<Elevation>> {
        let filter = ElevationFilter {
            agent: Some(agent.to_owned()),
            task: task.map(str::to_owned),
            state: None,
        };
        let store = Arc::clone(self);
        let change = change.clone();
        spawn(async move {
            let _writer = store.writer.lock().await;
            let open = store.open_elevations(&filter).await?;
            store.apply_all(open, |e| change.apply(e, now)).await
        })
        .await
    }

    /// See [`Store::expire_elevations`](super::Store::expire_elevations).
    pub(crate) async fn expire_elevations(
        self: &Arc<Self>,
        now: SystemTime,
    ) -> StateResult<Vec<Elevation>> {
        let store = Arc::clone(self);
        spawn(async move {
            let _writer = store.writer.lock().await;
            let open = store.open_elevations(&ElevationFilter::default()).await?;
            store
                .apply_all(open, |e| super::elevation::expire(e, now))
                .await
        })
        .await
    }

    /// Every pending or granted elevation the filter's agent and task select.
    async fn open_elevations(&self, filter: &ElevationFilter) -> StateResult<Vec<Elevation>> {
        let action = "read elevations";
        let rows = sqlx::query(AssertSqlSafe(format!(
            "SELECT {} FROM elevations WHERE state IN ('pending', 'granted')
                AND (?1 IS NULL OR agent = ?1) AND (?2 IS NULL OR task = ?2)",
            elevation::COLUMNS
        )))
        .bind(filter.agent.as_deref())
        .bind(filter.task.as_deref())
        .fetch_all(&self.pool)
        .await
        .map_err(StateError::query(action))?;
        rows.iter()
            .map(|row| decode_elevation(row).map_err(StateError::query(action)))
            .collect()
    }

    /// Applies `change` to each of `open` and writes those it changed, in one transaction.
    async fn apply_all(
        &self,
        open: Vec<Elevation>,
        mut change: impl FnMut(&mut Elevation) -> bool,
    ) -> StateResult<Vec<Elevation>> {
        let changed: Vec<Elevation> = open
            .into_iter()
            .filter_map(|mut e| change(&mut e).then_some(e))
            .collect();
        if changed.is_empty() {
            return Ok(changed);
        }
        let action = "record elevations";
        let mut tx = self.pool.begin().await.map_err(StateError::query(action))?;
        for elevation in &changed {
            write_elevation(&mut tx, elevation).await?;
        }
        tx.commit().await.map_err(StateError::query(action))?;
        for elevation in &changed {
            self.cache_grant(elevation);
        }
        Ok(changed)
    }

    /// Keeps the grant cache in step with a row just written.
    fn cache_grant(&self, elevation: &Elevation) {
        let mut granted = self.granted.write().unwrap_or_else(PoisonError::into_inner);
        let agent = granted.entry(elevation.agent.clone()).or_default();
        agent.retain(|e| e.id != elevation.id);
        if elevation.state == ElevationState::Granted {
            agent.push(elevation.clone());
        }
        if agent.is_empty() {
            granted.remove(&elevation.agent);
        }
    }

    /// The agent's quarantine, served from memory.
    pub(crate) fn quarantined(&self, agent: &str) -> Option<Quarantine> {
        let quarantined = self
            .quarantined
            .read()
            .unwrap_or_else(PoisonError::into_inner);
        quarantined.get(agent).cloned()
    }

    pub(crate) fn quarantines(&self) -> Vec<Quarantine> {
        let quarantined = self
            .quarantined
            .read()
            .unwrap_or_else(PoisonError::into_inner);
        let mut all: Vec<Quarantine> = quarantined.values().cloned().collect();
        all.sort_by(|a, b| a.agent.cmp(&b.agent));
        all
    }

    /// See [`Store::quarantine`](super::Store::quarantine).
    pub(crate) async fn quarantine(
        self: &Arc<Self>,
        quarantine: &Quarantine,
    ) -> StateResult<Option<Quarantine>> {
        let store = Arc::clone(self);
        let quarantine = quarantine.clone();
        spawn(async move {
            let _writer = store.writer.lock().await;
            if let Some(existing) = store.quarantined(&quarantine.agent) {
                return Ok(Some(existing));
            }
            let (agent, reason, by, since) = quarantine.columns();
            sqlx::query("INSERT INTO quarantines (agent, reason, by_whom, since_ms) VALUES (?1, ?2, ?3, ?4)")
                .bind(agent)
                .bind(reason)
                .bind(by)
                .bind(since)
                .execute(&store.pool)
                .await
                .map_err(StateError::query("record quarantine"))?;
            store
                .quarantined
                .write()
                .unwrap_or_else(PoisonError::into_inner)
                .insert(quarantine.agent.clone(), quarantine);
            Ok(None)
        })
        .await
    }

    /// See [`Store::release`](super::Store::release).
    pub(crate) async fn release(self: &Arc<Self>, agent: &str) -> StateResult<Option<Quarantine>> {
        let store = Arc::clone(self);
        let agent = agent.to_owned();
        spawn(async move {
            let _writer = store.writer.lock().await;
            sqlx::query("DELETE FROM quarantines WHERE agent = ?1")
                .bind(&agent)
                .execute(&store.pool)
                .await
                .map_err(StateError::query("release quarantine"))?;
            Ok(store
                .quarantined
                .write()
                .unwrap_or_else(PoisonError::into_inner)
                .remove(&agent))
        })
        .await
    }

    /// Closes the file and releases the directory lock.
    pub(crate) async fn close(&self) {
        let _writer = self.writer.lock().await;
        self.pool.close().await;
        self.lock
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .take();
    }
}

/// Runs a write in its own task, so that it finishes, cache included, even if the caller
/// stops waiting.
/// A pool of one connection that is never closed for idleness or age: reads are served
/// from memory and writes take turns anyway.
async fn one_connection(options: SqliteConnectOptions, target: &str) -> StateResult<SqlitePool> {
    SqlitePoolOptions::new()
        .max_connections(1)
        .min_connections(1)
        .idle_timeout(None)
        .max_lifetime(None)
        .connect_with(options)
        .await
        .map_err(|source| StateError::Connect {
            target: target.to_owned(),
            source,
        })
}

async fn spawn<T: Send + 'static>(
    write: impl Future<Output = StateResult<T>> + Send + 'static,
) -> StateResult<T> {
    match tokio::spawn(write).await {
        Ok(result) => result,
        Err(e) if e.is_panic() => std::panic::resume_unwind(e.into_panic()),
        Err(_) => Err(StateError::ShuttingDown),
    }
}

async fn insert_labels(
    tx: &mut Transaction<'static, Sqlite>,
    id: &SessionId,
    labels: &[String],
) -> StateResult<()> {
    for label in labels {
        sqlx::query("INSERT OR IGNORE INTO session_labels (session_id, label) VALUES (?1, ?2)")
            .bind(id.as_str())
            .bind(label)
            .execute(&mut **tx)
            .await
            .map_err(StateError::query("record session labels"))?;
    }
    Ok(())
}

/// Takes an exclusive lock (`flock`) on the directory itself, as the audit log does: no file
/// in it can be deleted or replaced to let a second process in while the first is alive.
fn lock_dir(dir: &Path) -> StateResult<File> {
    let handle = private_dir::open_private_dir(dir).map_err(untrusted(dir))?;
    match handle.try_lock() {
        Ok(()) => Ok(handle),
        Err(TryLockError::WouldBlock) => Err(StateError::Locked {
            dir: dir.to_path_buf(),
        }),
        Err(TryLockError::Error(source)) => Err(StateError::Io {
            path: dir.to_path_buf(),
            action: "lock directory",
            source,
        }),
    }
}

fn untrusted(path: &Path) -> impl FnOnce(private_dir::TrustError) -> StateError {
    let path: PathBuf = path.to_path_buf();
    move |source| StateError::Untrusted { path, source }
}

/// Creates the tables, or checks that the file's schema version is one this code knows.
async fn migrate(pool: &SqlitePool, path: &Path) -> StateResult<()> {
    let action = "create tables";
    let mut tx = pool.begin().await.map_err(StateError::query(action))?;
    sqlx::query(
        "CREATE TABLE IF NOT EXISTS schema_version (
            singleton INTEGER PRIMARY KEY CHECK (singleton = 1),
            version INTEGER NOT NULL
        )",
    )
    .execute(&mut *tx)
    .await
    .map_err(StateError::query(action))?;
    let found: Option<i64> = sqlx::query("SELECT version FROM schema_version")
        .fetch_optional(&mut *tx)
        .await
        .map_err(StateError::query("read schema version"))?
        .map(|row| row.try_get(0))
        .transpose()
        .map_err(StateError::query("read schema version"))?;
    match found {
        Some(found) if found > SCHEMA_VERSION => {
            return Err(StateError::TooNew {
                target: path.display().to_string(),
                found,
                known: SCHEMA_VERSION,
            });
        }
        Some(found) => {
            // Each later version's tables, from the one after `found`.
            if found < 2 {
                run_all(&mut tx, SCHEMA_V2, action).await?;
            }
            sqlx::query("UPDATE schema_version SET version = ?1")
                .bind(SCHEMA_VERSION)
                .execute(&mut *tx)
                .await
                .map_err(StateError::query(action))?;
        }
        None => {
            run_all(&mut tx, SCHEMA_V1, action).await?;
            run_all(&mut tx, SCHEMA_V2, action).await?;
            sqlx::query("INSERT INTO schema_version (singleton, version) VALUES (1, ?1)")
                .bind(SCHEMA_VERSION)
                .execute(&mut *tx)
                .await
                .map_err(StateError::query(action))?;
        }
    }
    tx.commit().await.map_err(StateError::query(action))?;
    Ok(())
}

async fn run_all(
    tx: &mut Transaction<'static, Sqlite>,
    statements: &[&'static str],
    action: &'static str,
) -> StateResult<()> {
    for statement in statements {
        sqlx::query(*statement)
            .execute(&mut **tx)
            .await
            .map_err(StateError::query(action))?;
    }
    Ok(())
}

/// Reads every elevation stored as granted, by agent.
async fn load_granted(pool: &SqlitePool) -> StateResult<HashMap<String, Vec<Elevation>>> {
    let action = "load grants";
    let rows = sqlx::query(AssertSqlSafe(format!(
        "SELECT {} FROM elevations WHERE state = 'granted'",
        elevation::COLUMNS
    )))
    .fetch_all(pool)
    .await
    .map_err(StateError::query(action))?;
    let mut granted: HashMap<String, Vec<Elevation>> = HashMap::new();
    for row in rows {
        let elevation = decode_elevation(&row).map_err(StateError::query(action))?;
        granted
            .entry(elevation.agent.clone())
            .or_default()
            .push(elevation);
    }
    Ok(granted)
}

/// Reads every quarantine.
async fn load_quarantines(pool: &SqlitePool) -> StateResult<HashMap<String, Quarantine>> {
    let action = "load quarantines";
    let rows = sqlx::query("SELECT agent, reason, by_whom, since_ms FROM quarantines")
        .fetch_all(pool)
        .await
        .map_err(StateError::query(action))?;
    let mut all = HashMap::new();
    for row in rows {
        let quarantine = Quarantine::from_columns(
            row.try_get(0).map_err(StateError::query(action))?,
            row.try_get(1).map_err(StateError::query(action))?,
            row.try_get(2).map_err(StateError::query(action))?,
            row.try_get(3).map_err(StateError::query(action))?,
        );
        all.insert(quarantine.agent.clone(), quarantine);
    }
    Ok(all)
}

fn decode_elevation(row: &SqliteRow) -> Result<Elevation, sqlx::Error> {
    elevation::Row::read(row)?.into_elevation()
}

/// Writes every column of `elevation`'s row, inserting it if absent.
async fn write_elevation(
    tx: &mut Transaction<'static, Sqlite>,
    elevation: &Elevation,
) -> StateResult<()> {
    let row = elevation::Row::of(elevation);
    sqlx::query(AssertSqlSafe(format!(
        "INSERT OR REPLACE INTO elevations ({}) VALUES
            (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10, ?11, ?12, ?13, ?14, ?15, ?16)",
        elevation::COLUMNS
    )))
    .bind(row.id)
    .bind(row.agent)
    .bind(row.session_id)
    .bind(row.task)
    .bind(row.scopes)
    .bind(row.justification)
    .bind(row.ttl_ms)
    .bind(row.state)
    .bind(row.decision)
    .bind(row.decided_by)
    .bind(row.reason)
    .bind(row.created_ms)
    .bind(row.decided_ms)
    .bind(row.expires_ms)
    .bind(row.ended_ms)
    .bind(row.ended_by)
    .execute(&mut **tx)
    .await
    .map_err(StateError::query("record elevation"))?;
    Ok(())
}

/// Reads every session with its labels.
async fn load(pool: &SqlitePool) -> StateResult<HashMap<String, Session>> {
    let action = "load sessions";
    let mut sessions = HashMap::new();
    let rows = sqlx::query("SELECT id, agent, created_ms, updated_ms, expires_ms FROM sessions")
        .fetch_all(pool)
        .await
        .map_err(StateError::query(action))?;
    for row in rows {
        let id: String = row.try_get(0).map_err(StateError::query(action))?;
        let session = Session {
            id: id.clone(),
            agent: row.try_get(1).map_err(StateError::query(action))?,
            labels: Vec::new(),
            created: from_millis(row.try_get(2).map_err(StateError::query(action))?),
            updated: from_millis(row.try_get(3).map_err(StateError::query(action))?),
            expires: from_millis(row.try_get(4).map_err(StateError::query(action))?),
        };
        sessions.insert(id, session);
    }
    let rows = sqlx::query("SELECT session_id, label FROM session_labels ORDER BY session_id")
        .fetch_all(pool)
        .await
        .map_err(StateError::query(action))?;
    for row in rows {
        let id: String = row.try_get(0).map_err(StateError::query(action))?;
        let label: String = row.try_get(1).map_err(StateError::query(action))?;
        if let Some(session) = sessions.get_mut(&id) {
            session.labels.push(label);
        }
    }
    for session in sessions.values_mut() {
        session.labels.sort_unstable();
        session.labels.dedup();
    }
    Ok(sessions)
}
