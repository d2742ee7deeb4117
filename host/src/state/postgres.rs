//! The PostgreSQL backend: shared by replicas, so nothing is cached; every read asks the
//! server and every write is one transaction that locks the session's row.

use std::str::FromStr;
use std::time::{Duration, SystemTime};

use sqlx::postgres::{PgConnectOptions, PgPool, PgPoolOptions, PgRow};
use sqlx::{AssertSqlSafe, Connection, PgConnection, Row};

use super::config::{PostgresConfig, UrlSource, redact};
use super::elevation::{self, Changed, Elevation, ElevationFilter, Transition};
use super::error::StateError;
use super::quarantine::Quarantine;
use super::session::{self, Plan, Session, SessionId, from_millis, to_millis};
use super::{SCHEMA_VERSION, StateResult};

/// How long opening waits for a connection before giving up.
const CONNECT_TIMEOUT: Duration = Duration::from_secs(10);

/// The tables of schema version 1, in the store's schema (the connection's search path).
const SCHEMA_V1: &[&str] = &[
    "CREATE TABLE IF NOT EXISTS sessions (
        id TEXT PRIMARY KEY,
        agent TEXT NOT NULL,
        created_ms BIGINT NOT NULL,
        updated_ms BIGINT NOT NULL,
        expires_ms BIGINT NOT NULL
    )",
    "CREATE INDEX IF NOT EXISTS sessions_by_expiry ON sessions (expires_ms)",
    "CREATE TABLE IF NOT EXISTS session_labels (
        session_id TEXT NOT NULL REFERENCES sessions (id) ON DELETE CASCADE,
        label TEXT NOT NULL,
        PRIMARY KEY (session_id, label)
    )",
];

/// The tables schema version 2 adds: elevations (see [`super::elevation`]).
const SCHEMA_V2: &[&str] = &[
    "CREATE TABLE IF NOT EXISTS elevations (
        id TEXT PRIMARY KEY,
        agent TEXT NOT NULL,
        session_id TEXT NOT NULL,
        task TEXT,
        scopes TEXT NOT NULL,
        justification TEXT NOT NULL,
        ttl_ms BIGINT NOT NULL,
        state TEXT NOT NULL,
        decision TEXT NOT NULL,
        decided_by TEXT,
        reason TEXT,
        created_ms BIGINT NOT NULL,
        decided_ms BIGINT,
        expires_ms BIGINT NOT NULL,
        ended_ms BIGINT,
        ended_by TEXT
    )",
    "CREATE INDEX IF NOT EXISTS elevations_by_agent ON elevations (agent, state)",
    "CREATE INDEX IF NOT EXISTS elevations_by_state ON elevations (state, expires_ms)",
    "CREATE TABLE IF NOT EXISTS quarantines (
        agent TEXT PRIMARY KEY,
        reason TEXT NOT NULL,
        by_whom TEXT NOT NULL,
        since_ms BIGINT NOT NULL
    )",
];

/// A session with its labels, as one consistent read.
const SELECT_SESSION: &str = "SELECT s.id, s.agent, s.created_ms, s.updated_ms, s.expires_ms,
        COALESCE(array_agg(l.label) FILTER (WHERE l.label IS NOT NULL), ARRAY[]::text[])
    FROM sessions s LEFT JOIN session_labels l ON l.session_id = s.id
    WHERE s.id = $1
    GROUP BY s.id";

/// A PostgreSQL store.
pub(crate) struct PgStore {
    pool: PgPool,
    ttl_ms: i64,
}

impl PgStore {
    /// Connects, creates the schema and tables if absent, and checks the schema version.
    pub(crate) async fn open(config: &PostgresConfig, ttl: Duration) -> StateResult<PgStore> {
        let url = match &config.url {
            UrlSource::Url(url) => url.expose().to_string(),
            UrlSource::Env(var) => resolve_env(var)?,
        };
        let target = format!("{} (schema {})", redact(&url), config.schema);
        let options = PgConnectOptions::from_str(&url)
            .map_err(|source| StateError::Connect {
                target: target.clone(),
                source,
            })?
            .application_name("lampart")
            .options([("search_path", config.schema.as_str())]);
        // One connection first, so that an unreachable server fails at once with its cause
        // (a pool would retry until its timeout and report only that).
        let first = tokio::time::timeout(CONNECT_TIMEOUT, PgConnection::connect_with(&options))
            .await
            .unwrap_or_else(|_| {
                Err(sqlx::Error::Io(std::io::Error::new(
                    std::io::ErrorKind::TimedOut,
                    format!("no answer within {}s", CONNECT_TIMEOUT.as_secs()),
                )))
            })
            .map_err(|source| StateError::Connect {
                target: target.clone(),
                source,
            })?;
        let _ = first.close().await;
        let pool = PgPoolOptions::new()
            .max_connections(config.max_connections)
            .acquire_timeout(CONNECT_TIMEOUT)
            .connect_lazy_with(options);
        if let Err(e) = migrate(&pool, &config.schema, &target).await {
            pool.close().await;
            return Err(e);
        }
        Ok(PgStore {
            pool,
            ttl_ms: session::duration_millis(ttl),
        })
    }

    pub(crate) async fn ping(&self) -> StateResult<()> {
        sqlx::query("SELECT 1")
            .execute(&self.pool)
            .await
            .map_err(StateError::query("ping"))?;
        Ok(())
    }

    /// The stored session, expired or not.
    async fn read(&self, id: &SessionId) -> StateResult<Option<Session>> {
        let action = "read session";
        let row = sqlx::query(SELECT_SESSION)
            .bind(id.as_str())
            .fetch_optional(&self.pool)
            .await
            .map_err(StateError::query(action))?;
        row.map(|row| decode(&row).map_err(StateError::query(action)))
            .transpose()
    }

    pub(crate) async fn get(
        &self,
        id: &SessionId,
        now: SystemTime,
    ) -> StateResult<Option<Session>> {
        Ok(self.read(id).await?.filter(|s| !s.is_expired(now)))
    }

    pub(crate) async fn session(
        &self,
        id: &SessionId,
        agent: &str,
        now: SystemTime,
    ) -> StateResult<Option<Session>> {
        match self.get(id, now).await? {
            Some(s) if s.agent != agent => Err(StateError::NotOwner {
                session: s.id,
                owner: s.agent,
            }),
            found => Ok(found),
        }
    }

    /// See [`Store::touch`](super::Store::touch): one read when there is nothing to write,
    /// else one transaction holding the session's row lock.
    pub(crate) async fn touch(
        &self,
        id: &SessionId,
        agent: &str,
        labels: &[String],
        now: SystemTime,
    ) -> StateResult<Session> {
        let now_ms = to_millis(now);
        let stored = self.read(id).await?;
        match session::plan(stored.as_ref(), agent, labels, now_ms, self.ttl_ms) {
            Plan::Nothing => {
                if let Some(session) = stored {
                    return Ok(session);
                }
            }
            Plan::NotOwner(owner) => {
                return Err(StateError::NotOwner {
                    session: id.to_string(),
                    owner,
                });
            }
            Plan::Start | Plan::Extend => {}
        }
        let labels = session::normalise(labels);
        let action = "record session";
        let mut tx = self.pool.begin().await.map_err(StateError::query(action))?;
        let session = write_touch(&mut tx, id, agent, &labels, now_ms, self.ttl_ms).await?;
        tx.commit().await.map_err(StateError::query(action))?;
        Ok(session)
    }

    pub(crate) async fn delete(&self, id: &SessionId) -> StateResult<bool> {
        let deleted = sqlx::query("DELETE FROM sessions WHERE id = $1")
            .bind(id.as_str())
            .execute(&self.pool)
            .await
            .map_err(StateError::query("delete session"))?
            .rows_affected();
        Ok(deleted > 0)
    }

    pub(crate) async fn list(&self, now: SystemTime, limit: usize) -> StateResult<Vec<Session>> {
        let action = "list sessions";
        let rows = sqlx::query(
            "SELECT s.id, s.agent, s.created_ms, s.updated_ms, s.expires_ms,
                COALESCE(array_agg(l.label) FILTER (WHERE l.label IS NOT NULL), ARRAY[]::text[])
            FROM sessions s LEFT JOIN session_labels l ON l.session_id = s.id
            WHERE s.expires_ms > $1
            GROUP BY s.id
            ORDER BY s.updated_ms DESC, s.id COLLATE \"C\"
            LIMIT $2",
        )
        .bind(to_millis(now))
        .bind(i64::try_from(limit).unwrap_or(i64::MAX))
        .fetch_all(&self.pool)
        .await
        .map_err(StateError::query(action))?;
        rows.iter()
            .map(|row| decode(row).map_err(StateError::query(action)))
            .collect()
    }

    pub(crate) async fn purge_expired(&self, now: SystemTime) -> StateResult<u64> {
        let purged = sqlx::query("DELETE FROM sessions WHERE expires_ms <= $1")
            .bind(to_millis(now))
            .execute(&self.pool)
            .await
            .map_err(StateError::query("purge expired sessions"))?
            .rows_affected();
        Ok(purged)
    }

    /// See [`Store::insert_elevation`](super::Store::insert_elevation).
    pub(crate) async fn insert_elevation(&self, elevation: &Elevation) -> StateResult<()> {
        let mut conn = self
            .pool
            .acquire()
            .await
            .map_err(StateError::query("record elevation"))?;
        if write_elevation(&mut conn, elevation, false).await? == 0 {
            return Err(StateError::Duplicate {
                id: elevation.id.clone(),
            });
        }
        Ok(())
    }

    /// The grants in force for a decision: one query.
    pub(crate) async fn grants(
        &self,
        agent: &str,
        session: &str,
        task: Option<&str>,
        now: SystemTime,
    ) -> StateResult<Vec<Elevation>> {
        let action = "read grants";
        let rows = sqlx::query(AssertSqlSafe(format!(
            "SELECT {} FROM elevations WHERE agent = $1 AND session_id = $2
                AND state = 'granted' AND expires_ms > $3",
            elevation::COLUMNS
        )))
        .bind(agent)
        .bind(session)
        .bind(to_millis(now))
        .fetch_all(&self.pool)
        .await
        .map_err(StateError::query(action))?;
        let mut grants = Vec::new();
        for row in rows {
            let elevation = decode_elevation(&row).map_err(StateError::query(action))?;
            if elevation.applies(agent, session, task, now) {
                grants.push(elevation);
            }
        }
        Ok(grants)
    }

    pub(crate) async fn elevation(&self, id: &str) -> StateResult<Option<Elevation>> {
        let action = "read elevation";
        let row = sqlx::query(AssertSqlSafe(format!(
            "SELECT {} FROM elevations WHERE id = $1",
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
            "SELECT {} FROM elevations WHERE ($1::text IS NULL OR agent = $1)
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

    /// See [`Store::transition`](super::Store::transition): the row locked, changed and
    /// written in one transaction.
    pub(crate) async fn transition(
        &self,
        id: &str,
        change: &Transition,
        now: SystemTime,
    ) -> StateResult<Changed> {
        let action = "record elevation";
        let mut tx = self.pool.begin().await.map_err(StateError::query(action))?;
        let row = sqlx::query(AssertSqlSafe(format!(
            "SELECT {} FROM elevations WHERE id = $1 FOR UPDATE",
            elevation::COLUMNS
        )))
        .bind(id)
        .fetch_optional(&mut *tx)
        .await
        .map_err(StateError::query(action))?;
        let Some(row) = row else {
            return Ok(Changed::Missing);
        };
        let mut elevation = decode_elevation(&row).map_err(StateError::query(action))?;
        if !change.apply(&mut elevation, now) {
            return Ok(Changed::No(elevation));
        }
        write_elevation(&mut tx, &elevation, true).await?;
        tx.commit().await.map_err(StateError::query(action))?;
        Ok(Changed::Yes(elevation))
    }

    /// See [`Store::revoke_all`](super::Store::revoke_all).
    pub(crate) async fn revoke_all(
        &self,
        agent: &str,
        task: Option<&str>,
        change: &Transition,
        now: SystemTime,
    ) -> StateResult<Vec<Elevation>> {
        self.apply_open(Some(agent), task, false, |e| change.apply(e, now))
            .await
    }

    /// See [`Store::expire_elevations`](super::Store::expire_elevations).
    pub(crate) async fn expire_elevations(&self, now: SystemTime) -> StateResult<Vec<Elevation>> {
        self.apply_open(None, None, true, |e| elevation::expire(e, now))
            .await
    }

    /// Locks the open elevations of `agent` (all agents when `None`) bound to `task` (any
    /// when `None`), applies `change` to each, and writes those it changed: one transaction.
    /// With `skip_locked`, rows another replica holds are skipped (it is changing them);
    /// otherwise they are waited for, so that a revocation misses nothing.
    async fn apply_open(
        &self,
        agent: Option<&str>,
        task: Option<&str>,
        skip_locked: bool,
        mut change: impl FnMut(&mut Elevation) -> bool,
    ) -> StateResult<Vec<Elevation>> {
        let action = "record elevations";
        let mut tx = self.pool.begin().await.map_err(StateError::query(action))?;
        let rows = sqlx::query(AssertSqlSafe(format!(
            "SELECT {} FROM elevations WHERE state IN ('pending', 'granted')
                AND ($1::text IS NULL OR agent = $1) AND ($2::text IS NULL OR task = $2)
             FOR UPDATE{}",
            elevation::COLUMNS,
            if skip_locked { " SKIP LOCKED" } else { "" }
        )))
        .bind(agent)
        .bind(task)
        .fetch_all(&mut *tx)
        .await
        .map_err(StateError::query(action))?;
        let mut changed = Vec::new();
        for row in rows {
            let mut elevation = decode_elevation(&row).map_err(StateError::query(action))?;
            if change(&mut elevation) {
                write_elevation(&mut tx, &elevation, true).await?;
                changed.push(elevation);
            }
        }
        tx.commit().await.map_err(StateError::query(action))?;
        Ok(changed)
    }

    /// The agent's quarantine: one query, so every replica sees it at once.
    pub(crate) async fn quarantined(&self, agent: &str) -> StateResult<Option<Quarantine>> {
        let row = sqlx::query(
            "SELECT agent, reason, by_whom, since_ms FROM quarantines WHERE agent = $1",
        )
        .bind(agent)
        .fetch_optional(&self.pool)
        .await
        .map_err(StateError::query("read quarantine"))?;
        row.map(|row| decode_quarantine(&row)).transpose()
    }

    pub(crate) async fn quarantines(&self) -> StateResult<Vec<Quarantine>> {
        let rows = sqlx::query(
            "SELECT agent, reason, by_whom, since_ms FROM quarantines ORDER BY agent COLLATE \"C\"",
        )
        .fetch_all(&self.pool)
        .await
        .map_err(StateError::query("list quarantines"))?;
        rows.iter().map(decode_quarantine).collect()
    }

    /// See [`Store::quarantine`](super::Store::quarantine).
    pub(crate) async fn quarantine(
        &self,
        quarantine: &Quarantine,
    ) -> StateResult<Option<Quarantine>> {
        let (agent, reason, by, since) = quarantine.columns();
        let inserted = sqlx::query(
            "INSERT INTO quarantines (agent, reason, by_whom, since_ms) VALUES ($1, $2, $3, $4)
             ON CONFLICT (agent) DO NOTHING",
        )
        .bind(agent)
        .bind(reason)
        .bind(by)
        .bind(since)
        .execute(&self.pool)
        .await
        .map_err(StateError::query("record quarantine"))?
        .rows_affected();
        if inserted == 1 {
            Ok(None)
        } else {
            self.quarantined(agent).await
        }
    }

    /// See [`Store::release`](super::Store::release).
    pub(crate) async fn release(&self, agent: &str) -> StateResult<Option<Quarantine>> {
        let row = sqlx::query(
            "DELETE FROM quarantines WHERE agent = $1 RETURNING agent, reason, by_whom, since_ms",
        )
        .bind(agent)
        .fetch_optional(&self.pool)
        .await
        .map_err(StateError::query("release quarantine"))?;
        row.map(|row| decode_quarantine(&row)).transpose()
    }

    pub(crate) async fn close(&self) {
        self.pool.close().await;
    }
}

/// Records a use of the session inside `tx`: locks its row (inserting it if absent), starts
/// it afresh if it expired, refuses another agent's, extends it and adds the labels.
async fn write_touch(
    tx: &mut PgConnection,
    id: &SessionId,
    agent: &str,
    labels: &[String],
    now_ms: i64,
    ttl_ms: i64,
) -> StateResult<Session> {
    let action = "record session";
    let expires_ms = now_ms.saturating_add(ttl_ms);
    // Inserts the row, or locks the existing one and returns it unchanged.
    let row = sqlx::query(
        "INSERT INTO sessions AS s (id, agent, created_ms, updated_ms, expires_ms)
         VALUES ($1, $2, $3, $3, $4)
         ON CONFLICT (id) DO UPDATE SET agent = s.agent
         RETURNING s.agent, s.expires_ms",
    )
    .bind(id.as_str())
    .bind(agent)
    .bind(now_ms)
    .bind(expires_ms)
    .fetch_one(&mut *tx)
    .await
    .map_err(StateError::query(action))?;
    let owner: String = row.try_get(0).map_err(StateError::query(action))?;
    let stored_expires: i64 = row.try_get(1).map_err(StateError::query(action))?;
    if stored_expires <= now_ms {
        // Expired: as if absent. Its labels go with it.
        sqlx::query("DELETE FROM session_labels WHERE session_id = $1")
            .bind(id.as_str())
            .execute(&mut *tx)
            .await
            .map_err(StateError::query(action))?;
        sqlx::query(
            "UPDATE sessions SET agent = $2, created_ms = $3, updated_ms = $3, expires_ms = $4
             WHERE id = $1",
        )
        .bind(id.as_str())
        .bind(agent)
        .bind(now_ms)
        .bind(expires_ms)
        .execute(&mut *tx)
        .await
        .map_err(StateError::query(action))?;
    } else if owner != agent {
        return Err(StateError::NotOwner {
            session: id.to_string(),
            owner,
        });
    } else {
        sqlx::query(
            "UPDATE sessions SET updated_ms = GREATEST(updated_ms, $2),
                expires_ms = GREATEST(expires_ms, $3)
             WHERE id = $1",
        )
        .bind(id.as_str())
        .bind(now_ms)
        .bind(expires_ms)
        .execute(&mut *tx)
        .await
        .map_err(StateError::query(action))?;
    }
    if !labels.is_empty() {
        sqlx::query(
            "INSERT INTO session_labels (session_id, label)
             SELECT $1, unnest($2::text[])
             ON CONFLICT DO NOTHING",
        )
        .bind(id.as_str())
        .bind(labels)
        .execute(&mut *tx)
        .await
        .map_err(StateError::query("record session labels"))?;
    }
    let row = sqlx::query(SELECT_SESSION)
        .bind(id.as_str())
        .fetch_one(&mut *tx)
        .await
        .map_err(StateError::query(action))?;
    decode(&row).map_err(StateError::query(action))
}

/// A session from a row of [`SELECT_SESSION`]'s columns.
fn decode(row: &PgRow) -> Result<Session, sqlx::Error> {
    let mut labels: Vec<String> = row.try_get(5)?;
    labels.sort_unstable();
    labels.dedup();
    Ok(Session {
        id: row.try_get(0)?,
        agent: row.try_get(1)?,
        labels,
        created: from_millis(row.try_get(2)?),
        updated: from_millis(row.try_get(3)?),
        expires: from_millis(row.try_get(4)?),
    })
}

fn resolve_env(var: &str) -> StateResult<String> {
    let problem = |problem: &str| StateError::UrlEnv {
        var: var.to_string(),
        problem: problem.to_string(),
    };
    match std::env::var(var) {
        Ok(url) if url.is_empty() => Err(problem("is empty")),
        Ok(url) => super::config::DatabaseUrl::parse(&url)
            .map(|url| url.expose().to_string())
            .map_err(|e| problem(&format!("does not hold a usable URL: {e}"))),
        Err(std::env::VarError::NotPresent) => Err(problem("is not set")),
        Err(std::env::VarError::NotUnicode(_)) => Err(problem("is not UTF-8")),
    }
}

async fn run_all(
    tx: &mut PgConnection,
    statements: &[&'static str],
    action: &'static str,
) -> StateResult<()> {
    for statement in statements {
        sqlx::query(*statement)
            .execute(&mut *tx)
            .await
            .map_err(StateError::query(action))?;
    }
    Ok(())
}

fn decode_quarantine(row: &PgRow) -> StateResult<Quarantine> {
    let action = "read quarantine";
    Ok(Quarantine::from_columns(
        row.try_get(0).map_err(StateError::query(action))?,
        row.try_get(1).map_err(StateError::query(action))?,
        row.try_get(2).map_err(StateError::query(action))?,
        row.try_get(3).map_err(StateError::query(action))?,
    ))
}

fn decode_elevation(row: &PgRow) -> Result<Elevation, sqlx::Error> {
    elevation::Row::read(row)?.into_elevation()
}

/// Writes every column of `elevation`'s row: inserts it, or with `replace`, overwrites it.
async fn write_elevation(
    tx: &mut PgConnection,
    elevation: &Elevation,
    replace: bool,
) -> StateResult<u64> {
    let row = elevation::Row::of(elevation);
    let conflict = if replace {
        "ON CONFLICT (id) DO UPDATE SET ttl_ms = excluded.ttl_ms, state = excluded.state,
            decided_by = excluded.decided_by, reason = excluded.reason,
            decided_ms = excluded.decided_ms, expires_ms = excluded.expires_ms,
            ended_ms = excluded.ended_ms, ended_by = excluded.ended_by"
    } else {
        "ON CONFLICT (id) DO NOTHING"
    };
    let written = sqlx::query(AssertSqlSafe(format!(
        "INSERT INTO elevations ({}) VALUES
            ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13, $14, $15, $16) {conflict}",
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
    .execute(&mut *tx)
    .await
    .map_err(StateError::query("record elevation"))?
    .rows_affected();
    Ok(written)
}

/// Creates the schema and its tables, or checks that its version is one this code knows.
/// One transaction, serialised between replicas by an advisory lock, so that replicas
/// starting together do not race to create the same tables.
async fn migrate(pool: &PgPool, schema: &str, target: &str) -> StateResult<()> {
    let action = "create tables";
    let mut tx = pool.begin().await.map_err(StateError::query(action))?;
    sqlx::query("SELECT pg_advisory_xact_lock(hashtext('lampart.state.migrate'))")
        .execute(&mut *tx)
        .await
        .map_err(StateError::query(action))?;
    // `schema` is a checked plain identifier (see `config::check_schema`).
    sqlx::query(AssertSqlSafe(format!(
        "CREATE SCHEMA IF NOT EXISTS {schema}"
    )))
    .execute(&mut *tx)
    .await
    .map_err(|source| StateError::Query {
        action: "create schema",
        source,
    })?;
    sqlx::query(
        "CREATE TABLE IF NOT EXISTS schema_version (
            singleton INTEGER PRIMARY KEY CHECK (singleton = 1),
            version BIGINT NOT NULL
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
                target: target.to_string(),
                found,
                known: SCHEMA_VERSION,
            });
        }
        Some(found) => {
            // Each later version's tables, from the one after `found`.
            if found < 2 {
                run_all(&mut tx, SCHEMA_V2, action).await?;
            }
            sqlx::query("UPDATE schema_version SET version = $1")
                .bind(SCHEMA_VERSION)
                .execute(&mut *tx)
                .await
                .map_err(StateError::query(action))?;
        }
        None => {
            run_all(&mut tx, SCHEMA_V1, action).await?;
            run_all(&mut tx, SCHEMA_V2, action).await?;
            sqlx::query("INSERT INTO schema_version (singleton, version) VALUES (1, $1)")
                .bind(SCHEMA_VERSION)
                .execute(&mut *tx)
                .await
                .map_err(StateError::query(action))?;
        }
    }
    tx.commit().await.map_err(StateError::query(action))?;
    Ok(())
}
