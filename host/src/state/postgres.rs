//! The PostgreSQL backend: shared by replicas, so nothing is cached; every read asks the
//! server and every write is one transaction that locks the session's row.

use std::str::FromStr;
use std::time::{Duration, SystemTime};

use sqlx::postgres::{PgConnectOptions, PgPool, PgPoolOptions, PgRow};
use sqlx::{AssertSqlSafe, Connection, PgConnection, Row};

use super::config::{PostgresConfig, UrlSource, redact};
use super::error::StateError;
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
        // Later versions migrate from `found` here, step by step, in this transaction.
        Some(_) => {}
        None => {
            for statement in SCHEMA_V1 {
                sqlx::query(*statement)
                    .execute(&mut *tx)
                    .await
                    .map_err(StateError::query(action))?;
            }
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
