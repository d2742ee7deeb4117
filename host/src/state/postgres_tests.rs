//! Tests of the PostgreSQL backend against a real server: `LAMPART_TEST_POSTGRES`, or
//! `postgres://postgres@127.0.0.1:5432/test`. Each test works in a schema of its own, dropped
//! at the end; when no server answers, each test says so on stderr and passes.

use std::path::Path;
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use sqlx::Connection;

use super::*;

const DEFAULT_URL: &str = "postgres://postgres@127.0.0.1:5432/test";
const TTL: Duration = Duration::from_secs(3600);

fn at(secs: u64) -> SystemTime {
    UNIX_EPOCH + Duration::from_secs(1_700_000_000 + secs)
}

fn id(text: &str) -> SessionId {
    SessionId::new(text).unwrap()
}

fn labels(names: &[&str]) -> Vec<String> {
    names.iter().map(|s| s.to_string()).collect()
}

/// A schema of its own on the test server, dropped when the test ends, pass or fail.
struct TestSchema {
    url: String,
    name: String,
}

impl TestSchema {
    /// Returns `None`, having said so on stderr, when the server does not answer.
    async fn new() -> Option<TestSchema> {
        let url = std::env::var("LAMPART_TEST_POSTGRES").unwrap_or_else(|_| DEFAULT_URL.into());
        let reachable =
            tokio::time::timeout(Duration::from_secs(5), sqlx::PgConnection::connect(&url)).await;
        match reachable {
            Ok(Ok(conn)) => {
                let _ = conn.close().await;
            }
            Ok(Err(e)) => {
                skip(&url, &e.to_string());
                return None;
            }
            Err(_) => {
                skip(&url, "no answer within 5s");
                return None;
            }
        }
        let name = format!("lampart_test_{:016x}", getrandom::u64().unwrap());
        Some(TestSchema { url, name })
    }

    fn section(&self) -> StateSection {
        StateSection {
            backend: BackendConfig::Postgres(PostgresConfig {
                url: UrlSource::Url(DatabaseUrl::parse(&self.url).unwrap()),
                schema: self.name.clone(),
                max_connections: 8,
            }),
            session_ttl: TTL,
        }
    }

    async fn open(&self) -> Store {
        Store::open(&self.section(), Path::new("/nonexistent"))
            .await
            .unwrap()
    }

    async fn execute(&self, sql: String) {
        let mut conn = sqlx::PgConnection::connect(&self.url).await.unwrap();
        sqlx::query(sqlx::AssertSqlSafe(sql))
            .execute(&mut conn)
            .await
            .unwrap();
        conn.close().await.unwrap();
    }
}

impl Drop for TestSchema {
    fn drop(&mut self) {
        let url = self.url.clone();
        let sql = format!("DROP SCHEMA IF EXISTS {} CASCADE", self.name);
        // A runtime of its own, on a thread of its own: this runs inside a test's runtime.
        let dropped = std::thread::spawn(move || {
            let runtime = tokio::runtime::Builder::new_current_thread()
                .enable_all()
                .build()?;
            runtime.block_on(async {
                let mut conn = sqlx::PgConnection::connect(&url).await?;
                sqlx::query(sqlx::AssertSqlSafe(sql))
                    .execute(&mut conn)
                    .await?;
                conn.close().await?;
                Ok::<_, Box<dyn std::error::Error + Send + Sync>>(())
            })
        })
        .join();
        if !matches!(dropped, Ok(Ok(()))) {
            eprintln!("note: test schema {} was not dropped", self.name);
        }
    }
}

fn skip(url: &str, why: &str) {
    eprintln!(
        "SKIPPED: PostgreSQL not reachable at {} (set LAMPART_TEST_POSTGRES=... to point elsewhere): {}",
        config::redact(url),
        crate::text::escape(why)
    );
}

#[tokio::test]
async fn postgres_sessions_are_owned_accumulate_expire_and_purge() {
    let Some(schema) = TestSchema::new().await else {
        return;
    };
    let store = schema.open().await;
    assert_eq!(store.backend(), Backend::Postgres);
    store.ping().await.unwrap();
    let s = id("s-1");

    assert_eq!(store.session(&s, "alice", at(0)).await.unwrap(), None);
    let session = store
        .touch(&s, "alice", &labels(&["pii", "email"]), at(0))
        .await
        .unwrap();
    assert_eq!(session.agent, "alice");
    assert_eq!(session.labels, ["email", "pii"]);
    assert_eq!((session.created, session.expires), (at(0), at(3600)));
    let session = store
        .touch(&s, "alice", &labels(&["card", "pii"]), at(10))
        .await
        .unwrap();
    assert_eq!(session.labels, ["card", "email", "pii"]);
    assert_eq!(
        store.session(&s, "alice", at(11)).await.unwrap(),
        Some(session.clone())
    );

    let err = store.touch(&s, "mallory", &[], at(12)).await.unwrap_err();
    assert_eq!(err.to_string(), "session `s-1` belongs to agent `alice`");
    assert!(matches!(
        store.session(&s, "mallory", at(12)).await,
        Err(StateError::NotOwner { .. })
    ));

    // No write early in the TTL without a new label; a write later.
    let same = store.touch(&s, "alice", &[], at(20)).await.unwrap();
    assert_eq!(same.updated, at(10));
    let later = store.touch(&s, "alice", &[], at(1800)).await.unwrap();
    assert_eq!((later.updated, later.expires), (at(1800), at(5400)));

    // Expired: as if absent; another agent starts it afresh.
    assert_eq!(store.session(&s, "alice", at(5400)).await.unwrap(), None);
    let fresh = store
        .touch(&s, "bob", &labels(&["new"]), at(5400))
        .await
        .unwrap();
    assert_eq!(fresh.agent, "bob");
    assert_eq!(fresh.labels, ["new"]);
    assert_eq!(fresh.created, at(5400));

    // Purge and list.
    store
        .touch(&id("other"), "carol", &[], at(6000))
        .await
        .unwrap();
    let listed: Vec<String> = store
        .list(at(6000), 10)
        .await
        .unwrap()
        .into_iter()
        .map(|s| s.id)
        .collect();
    assert_eq!(listed, ["other", "s-1"]);
    assert_eq!(store.list(at(6000), 1).await.unwrap().len(), 1);
    assert_eq!(store.purge_expired(at(9000)).await.unwrap(), 1);
    assert_eq!(store.get(&s, at(0)).await.unwrap(), None);
    assert!(store.get(&id("other"), at(9000)).await.unwrap().is_some());

    // Delete.
    assert!(store.delete(&id("other")).await.unwrap());
    assert!(!store.delete(&id("other")).await.unwrap());
    assert_eq!(store.get(&id("other"), at(6000)).await.unwrap(), None);
    store.close().await;

    // Persisted, and a second open finds the tables already there.
    let store = schema.open().await;
    assert!(store.list(at(0), 10).await.unwrap().is_empty());
    store.close().await;
}

#[tokio::test]
async fn two_replicas_see_each_others_labels() {
    let Some(schema) = TestSchema::new().await else {
        return;
    };
    let (one, two) = tokio::join!(schema.open(), schema.open());
    let s = id("shared");
    one.touch(&s, "agent", &labels(&["from-one"]), at(0))
        .await
        .unwrap();
    let seen = two.session(&s, "agent", at(1)).await.unwrap().unwrap();
    assert_eq!(seen.labels, ["from-one"]);
    two.touch(&s, "agent", &labels(&["from-two"]), at(2))
        .await
        .unwrap();
    let seen = one.session(&s, "agent", at(3)).await.unwrap().unwrap();
    assert_eq!(seen.labels, ["from-one", "from-two"]);
    // Ownership holds across replicas.
    assert!(matches!(
        two.touch(&s, "other", &[], at(4)).await,
        Err(StateError::NotOwner { .. })
    ));
    // A deletion on one is seen by the other at once.
    assert!(two.delete(&s).await.unwrap());
    assert_eq!(one.get(&s, at(5)).await.unwrap(), None);
    one.close().await;
    two.close().await;
}

#[tokio::test]
async fn concurrent_touches_from_two_replicas_lose_no_label() {
    let Some(schema) = TestSchema::new().await else {
        return;
    };
    let one = schema.open().await;
    let two = schema.open().await;
    let s = id("contended");
    let mut tasks = Vec::new();
    // Every task starts at once on a session that does not exist yet.
    for n in 0..40u64 {
        let store = if n % 2 == 0 { one.clone() } else { two.clone() };
        let s = s.clone();
        tasks.push(tokio::spawn(async move {
            store
                .touch(&s, "agent", &[format!("label-{n:02}")], at(n))
                .await
        }));
    }
    for task in tasks {
        task.await.unwrap().unwrap();
    }
    let expected: Vec<String> = (0..40).map(|n| format!("label-{n:02}")).collect();
    for store in [&one, &two] {
        let session = store.get(&s, at(100)).await.unwrap().unwrap();
        assert_eq!(session.labels, expected);
        assert_eq!(session.agent, "agent");
    }

    // Two agents racing for a new session: exactly one owns it, the other is refused.
    let race = id("race");
    let (a, b) = tokio::join!(
        one.touch(&race, "alice", &[], at(0)),
        two.touch(&race, "bob", &[], at(0))
    );
    let winners = [&a, &b].iter().filter(|r| r.is_ok()).count();
    assert_eq!(winners, 1, "{a:?} {b:?}");
    let owner = one.get(&race, at(1)).await.unwrap().unwrap().agent;
    let loser = if a.is_ok() { b } else { a };
    assert!(
        matches!(&loser, Err(StateError::NotOwner { owner: o, .. }) if *o == owner),
        "{loser:?}"
    );
    one.close().await;
    two.close().await;
}

#[tokio::test]
async fn a_postgres_store_from_a_newer_version_is_refused() {
    let Some(schema) = TestSchema::new().await else {
        return;
    };
    schema.open().await.close().await;
    schema
        .execute(format!(
            "UPDATE {}.schema_version SET version = 7",
            schema.name
        ))
        .await;
    let err = Store::open(&schema.section(), Path::new("/"))
        .await
        .unwrap_err();
    assert!(
        matches!(
            err,
            StateError::TooNew {
                found: 7,
                known: SCHEMA_VERSION,
                ..
            }
        ),
        "{err}"
    );
    let text = err.to_string();
    assert!(!text.contains('\n'), "{text}");
    assert!(
        text.contains(&format!("(schema {}) has schema version 7", schema.name)),
        "{text}"
    );
}

#[tokio::test]
async fn url_env_must_name_a_set_variable() {
    let section = StateSection {
        backend: BackendConfig::Postgres(PostgresConfig {
            url: UrlSource::Env("LAMPART_TEST_STATE_URL_THAT_IS_NEVER_SET".into()),
            schema: "unused".into(),
            max_connections: 1,
        }),
        session_ttl: TTL,
    };
    let err = Store::open(&section, Path::new("/")).await.unwrap_err();
    assert_eq!(
        err.to_string(),
        "[state] url-env: environment variable LAMPART_TEST_STATE_URL_THAT_IS_NEVER_SET is not set"
    );
}

#[tokio::test]
async fn an_unreachable_server_is_one_line_without_the_password() {
    let section = StateSection {
        backend: BackendConfig::Postgres(PostgresConfig {
            // Port 1 on the loopback refuses at once.
            url: UrlSource::Url(DatabaseUrl::parse("postgres://u:hunter2@127.0.0.1:1/db").unwrap()),
            schema: "unused".into(),
            max_connections: 1,
        }),
        session_ttl: TTL,
    };
    let err = Store::open(&section, Path::new("/")).await.unwrap_err();
    let text = err.to_string();
    assert!(matches!(err, StateError::Connect { .. }), "{text}");
    assert!(!text.contains('\n') && !text.contains("hunter2"), "{text}");
    assert!(
        text.starts_with(
            "state store postgres://u:***@127.0.0.1:1/db (schema unused): cannot connect: "
        ),
        "{text}"
    );
}
