//! Tests of the SQLite backend, each in its own temporary directory, with an injected clock.

use std::os::unix::fs::PermissionsExt;
use std::path::{Path, PathBuf};
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use super::*;

const TTL: Duration = Duration::from_secs(3600);

/// A fixed point in time plus `secs` seconds.
fn at(secs: u64) -> SystemTime {
    UNIX_EPOCH + Duration::from_secs(1_700_000_000 + secs)
}

fn id(text: &str) -> SessionId {
    SessionId::new(text).unwrap()
}

fn labels(names: &[&str]) -> Vec<String> {
    names.iter().map(|s| s.to_string()).collect()
}

fn section(dir: &str) -> StateSection {
    StateSection {
        backend: BackendConfig::Sqlite {
            dir: PathBuf::from(dir),
        },
        session_ttl: TTL,
    }
}

async fn open(base: &Path) -> Store {
    Store::open(&section("state"), base).await.unwrap()
}

fn mode(path: &Path) -> u32 {
    std::fs::metadata(path).unwrap().permissions().mode() & 0o777
}

#[tokio::test]
async fn a_session_is_created_by_its_first_use_and_owned_by_its_agent() {
    let temp = tempfile::tempdir().unwrap();
    let store = open(temp.path()).await;
    assert_eq!(store.backend(), Backend::Sqlite);
    assert_eq!(store.session_ttl(), TTL);
    store.ping().await.unwrap();

    let s = id("s-1");
    assert_eq!(store.session(&s, "alice", at(0)).await.unwrap(), None);
    let session = store
        .touch(&s, "alice", &labels(&["pii", "email"]), at(0))
        .await
        .unwrap();
    assert_eq!(session.id, "s-1");
    assert_eq!(session.agent, "alice");
    assert_eq!(session.labels, ["email", "pii"]);
    assert_eq!(session.created, at(0));
    assert_eq!(session.updated, at(0));
    assert_eq!(session.expires, at(3600));
    assert_eq!(
        store.session(&s, "alice", at(1)).await.unwrap(),
        Some(session.clone())
    );

    // Another agent is refused, reading or writing, and the session is unchanged.
    let err = store
        .touch(&s, "mallory", &labels(&["x"]), at(2))
        .await
        .unwrap_err();
    assert!(matches!(&err, StateError::NotOwner { owner, .. } if owner == "alice"));
    assert_eq!(err.to_string(), "session `s-1` belongs to agent `alice`");
    let err = store.session(&s, "mallory", at(2)).await.unwrap_err();
    assert!(matches!(err, StateError::NotOwner { .. }), "{err}");
    // The operator sees it whoever owns it.
    assert_eq!(store.get(&s, at(2)).await.unwrap(), Some(session));
    store.close().await;
}

#[tokio::test]
async fn labels_accumulate_and_survive_a_restart() {
    let temp = tempfile::tempdir().unwrap();
    let store = open(temp.path()).await;
    let s = id("s");
    store
        .touch(&s, "a", &labels(&["b", "a"]), at(0))
        .await
        .unwrap();
    store
        .touch(&s, "a", &labels(&["c", "a"]), at(10))
        .await
        .unwrap();
    // No label is ever removed by a use without it.
    let session = store.touch(&s, "a", &[], at(20)).await.unwrap();
    assert_eq!(session.labels, ["a", "b", "c"]);
    store.close().await;

    let store = open(temp.path()).await;
    let reopened = store.get(&s, at(30)).await.unwrap().unwrap();
    assert_eq!(reopened.labels, ["a", "b", "c"]);
    assert_eq!(reopened.agent, "a");
    assert_eq!(reopened.created, at(0));
    let session = store.touch(&s, "a", &labels(&["d"]), at(40)).await.unwrap();
    assert_eq!(session.labels, ["a", "b", "c", "d"]);
    store.close().await;
}

#[tokio::test]
async fn expiry_slides_and_an_expired_session_is_as_if_absent() {
    let temp = tempfile::tempdir().unwrap();
    let store = open(temp.path()).await;
    let s = id("s");
    store
        .touch(&s, "alice", &labels(&["secret"]), at(0))
        .await
        .unwrap();
    // Half the TTL later, a use extends it.
    let session = store.touch(&s, "alice", &[], at(1800)).await.unwrap();
    assert_eq!(session.expires, at(1800 + 3600));
    assert_eq!(session.updated, at(1800));
    // Still alive where the first expiry would have been.
    assert!(
        store
            .session(&s, "alice", at(3600))
            .await
            .unwrap()
            .is_some()
    );
    // Expired: absent for everyone, and anyone may start it afresh, without the old labels.
    let expired = at(1800 + 3600);
    assert_eq!(store.session(&s, "alice", expired).await.unwrap(), None);
    assert_eq!(store.session(&s, "bob", expired).await.unwrap(), None);
    assert_eq!(store.get(&s, expired).await.unwrap(), None);
    assert!(store.list(expired, 10).await.unwrap().is_empty());
    let fresh = store
        .touch(&s, "bob", &labels(&["new"]), expired)
        .await
        .unwrap();
    assert_eq!(fresh.agent, "bob");
    assert_eq!(fresh.labels, ["new"]);
    assert_eq!(fresh.created, expired);
    store.close().await;

    // And so it is in the file.
    let store = open(temp.path()).await;
    assert_eq!(store.get(&s, expired).await.unwrap(), Some(fresh));
    store.close().await;
}

#[tokio::test]
async fn a_use_without_new_labels_early_in_the_ttl_writes_nothing() {
    let temp = tempfile::tempdir().unwrap();
    let store = open(temp.path()).await;
    let s = id("s");
    store.touch(&s, "a", &labels(&["x"]), at(0)).await.unwrap();
    // Within the first tenth of the TTL, nothing changes.
    let session = store
        .touch(&s, "a", &labels(&["x"]), at(359))
        .await
        .unwrap();
    assert_eq!((session.updated, session.expires), (at(0), at(3600)));
    // From then on, the use is written.
    let session = store.touch(&s, "a", &[], at(360)).await.unwrap();
    assert_eq!((session.updated, session.expires), (at(360), at(3960)));
    // A new label is always written.
    let session = store
        .touch(&s, "a", &labels(&["y"]), at(361))
        .await
        .unwrap();
    assert_eq!((session.updated, session.expires), (at(361), at(3961)));
    store.close().await;

    let store = open(temp.path()).await;
    let session = store.get(&s, at(362)).await.unwrap().unwrap();
    assert_eq!((session.updated, session.expires), (at(361), at(3961)));
    store.close().await;
}

#[tokio::test]
async fn reads_are_served_from_memory() {
    let temp = tempfile::tempdir().unwrap();
    let store = open(temp.path()).await;
    let s = id("s");
    store.touch(&s, "a", &labels(&["x"]), at(0)).await.unwrap();
    let reader = store.clone();
    store.close().await;
    // The connection is closed, yet reads answer: they run no SQL.
    let session = reader.session(&s, "a", at(1)).await.unwrap().unwrap();
    assert_eq!(session.labels, ["x"]);
    assert!(reader.ping().await.is_err());
    assert!(reader.touch(&s, "a", &labels(&["y"]), at(2)).await.is_err());
}

#[tokio::test]
async fn purge_removes_expired_sessions_only() {
    let temp = tempfile::tempdir().unwrap();
    let store = open(temp.path()).await;
    store
        .touch(&id("old"), "a", &labels(&["l"]), at(0))
        .await
        .unwrap();
    store
        .touch(&id("new"), "a", &labels(&["l"]), at(1000))
        .await
        .unwrap();
    assert_eq!(store.purge_expired(at(3599)).await.unwrap(), 0);
    assert_eq!(store.purge_expired(at(3600)).await.unwrap(), 1);
    assert_eq!(store.purge_expired(at(3600)).await.unwrap(), 0);
    let live = store.list(at(0), 10).await.unwrap();
    assert_eq!(live.len(), 1);
    assert_eq!(live[0].id, "new");
    store.close().await;

    let store = open(temp.path()).await;
    // Even an operator looking at a time before its expiry finds it gone.
    assert_eq!(store.get(&id("old"), at(1)).await.unwrap(), None);
    assert!(store.get(&id("new"), at(1)).await.unwrap().is_some());
    store.close().await;
}

#[tokio::test]
async fn delete_removes_a_session_for_good() {
    let temp = tempfile::tempdir().unwrap();
    let store = open(temp.path()).await;
    let s = id("s");
    store
        .touch(&s, "alice", &labels(&["tainted"]), at(0))
        .await
        .unwrap();
    assert!(store.delete(&s).await.unwrap());
    assert!(!store.delete(&s).await.unwrap());
    assert_eq!(store.get(&s, at(1)).await.unwrap(), None);
    // The id is free again, and the labels are gone with the session.
    let fresh = store.touch(&s, "bob", &[], at(2)).await.unwrap();
    assert_eq!(fresh.agent, "bob");
    assert!(fresh.labels.is_empty());
    store.close().await;

    let store = open(temp.path()).await;
    assert_eq!(store.get(&s, at(3)).await.unwrap(), Some(fresh));
    store.close().await;
}

#[tokio::test]
async fn list_shows_live_sessions_newest_first_up_to_the_limit() {
    let temp = tempfile::tempdir().unwrap();
    let store = open(temp.path()).await;
    for (n, name) in ["a", "b", "c", "d"].iter().enumerate() {
        store
            .touch(&id(name), "agent", &[], at(n as u64 * 1000))
            .await
            .unwrap();
    }
    let ids = |sessions: Vec<Session>| sessions.into_iter().map(|s| s.id).collect::<Vec<_>>();
    assert_eq!(
        ids(store.list(at(3000), 10).await.unwrap()),
        ["d", "c", "b", "a"]
    );
    assert_eq!(ids(store.list(at(3000), 2).await.unwrap()), ["d", "c"]);
    // `a` expires at 3600, `b` at 4600.
    assert_eq!(
        ids(store.list(at(4000), 10).await.unwrap()),
        ["d", "c", "b"]
    );
    assert!(store.list(at(3000), 0).await.unwrap().is_empty());
    store.close().await;
}

#[tokio::test]
async fn concurrent_uses_lose_no_label() {
    let temp = tempfile::tempdir().unwrap();
    let store = open(temp.path()).await;
    let s = id("shared");
    let mut tasks = Vec::new();
    for n in 0..32 {
        let store = store.clone();
        let s = s.clone();
        tasks.push(tokio::spawn(async move {
            store
                .touch(&s, "a", &[format!("label-{n:02}")], at(n))
                .await
                .unwrap()
        }));
    }
    for task in tasks {
        task.await.unwrap();
    }
    let session = store.get(&s, at(100)).await.unwrap().unwrap();
    let expected: Vec<String> = (0..32).map(|n| format!("label-{n:02}")).collect();
    assert_eq!(session.labels, expected);
    store.close().await;
    let store = open(temp.path()).await;
    assert_eq!(
        store.get(&s, at(100)).await.unwrap().unwrap().labels,
        expected
    );
    store.close().await;
}

#[tokio::test]
async fn a_second_open_of_the_directory_is_refused_until_the_first_closes() {
    let temp = tempfile::tempdir().unwrap();
    let first = open(temp.path()).await;
    let err = Store::open(&section("state"), temp.path())
        .await
        .unwrap_err();
    let dir = temp.path().join("state");
    assert!(matches!(err, StateError::Locked { .. }), "{err}");
    assert_eq!(
        err.to_string(),
        format!(
            "state directory {} is in use by another process; use PostgreSQL ([state] backend = \"postgres\") to share state between replicas",
            dir.display()
        )
    );
    first.close().await;
    let second = open(temp.path()).await;
    second.close().await;
}

#[tokio::test]
async fn the_directory_and_files_are_private() {
    let temp = tempfile::tempdir().unwrap();
    // A nested, absent directory is created; an absolute `dir` ignores the base.
    let dir = temp.path().join("var/lampart");
    let store = Store::open(&section(dir.to_str().unwrap()), Path::new("/nonexistent"))
        .await
        .unwrap();
    store
        .touch(&id("s"), "a", &labels(&["x"]), at(0))
        .await
        .unwrap();
    assert_eq!(mode(&dir), 0o700);
    assert_eq!(mode(&dir.join(DB_FILE)), 0o600);
    // The write-ahead log and its index take the file's permissions.
    for extra in ["state.db-wal", "state.db-shm"] {
        let path = dir.join(extra);
        assert!(path.exists(), "{extra} (WAL mode)");
        assert_eq!(mode(&path), 0o600, "{extra}");
    }
    store.close().await;

    // A state file made readable by others is made private again when opened.
    std::fs::set_permissions(dir.join(DB_FILE), std::fs::Permissions::from_mode(0o644)).unwrap();
    let store = Store::open(&section(dir.to_str().unwrap()), temp.path())
        .await
        .unwrap();
    assert_eq!(mode(&dir.join(DB_FILE)), 0o600);
    store.close().await;
}

#[tokio::test]
async fn a_shared_directory_or_a_linked_file_is_refused() {
    let temp = tempfile::tempdir().unwrap();
    let dir = temp.path().join("state");
    std::fs::create_dir(&dir).unwrap();
    std::fs::set_permissions(&dir, std::fs::Permissions::from_mode(0o777)).unwrap();
    let err = Store::open(&section("state"), temp.path())
        .await
        .unwrap_err();
    assert_eq!(
        err.to_string(),
        format!("{}: writable by other users (mode 777)", dir.display())
    );

    std::fs::set_permissions(&dir, std::fs::Permissions::from_mode(0o700)).unwrap();
    let elsewhere = temp.path().join("elsewhere.db");
    std::fs::write(&elsewhere, b"").unwrap();
    std::os::unix::fs::symlink(&elsewhere, dir.join(DB_FILE)).unwrap();
    let err = Store::open(&section("state"), temp.path())
        .await
        .unwrap_err();
    assert_eq!(
        err.to_string(),
        format!(
            "{}: a symbolic link, which is never followed",
            dir.join(DB_FILE).display()
        )
    );
}

#[tokio::test]
async fn a_store_from_a_newer_version_is_refused() {
    let temp = tempfile::tempdir().unwrap();
    open(temp.path()).await.close().await;
    let path = temp.path().join("state").join(DB_FILE);
    {
        use sqlx::Connection;
        let mut conn = sqlx::SqliteConnection::connect_with(
            &sqlx::sqlite::SqliteConnectOptions::new().filename(&path),
        )
        .await
        .unwrap();
        sqlx::query("UPDATE schema_version SET version = 99")
            .execute(&mut conn)
            .await
            .unwrap();
        conn.close().await.unwrap();
    }
    let err = Store::open(&section("state"), temp.path())
        .await
        .unwrap_err();
    assert_eq!(
        err.to_string(),
        format!(
            "state store {} has schema version 99, newer than 2, the latest this version of lampart knows; upgrade lampart",
            path.display()
        )
    );
    // The refusal released the lock and left the file as it was.
    let err = Store::open(&section("state"), temp.path())
        .await
        .unwrap_err();
    assert!(matches!(err, StateError::TooNew { found: 99, .. }), "{err}");
}

#[tokio::test]
async fn a_bad_state_section_in_a_chain_config_is_one_line_naming_the_file() {
    let temp = tempfile::tempdir().unwrap();
    let path = temp.path().join("chain.toml");
    std::fs::write(
        &path,
        "[state]\nbackend = \"sqlite\"\nurl = \"postgres://h/d\"\n",
    )
    .unwrap();
    let err = crate::config::ChainConfig::load(&path)
        .unwrap_err()
        .to_string();
    assert!(!err.contains('\n'), "{err}");
    assert!(err.contains("chain.toml"), "{err}");
    assert!(
        err.contains("`url` applies only to backend = \"postgres\""),
        "{err}"
    );

    std::fs::write(&path, "[state]\nsession-ttl = \"0s\"\n").unwrap();
    let err = crate::config::ChainConfig::load(&path)
        .unwrap_err()
        .to_string();
    assert!(!err.contains('\n'), "{err}");
    assert!(err.contains("must be positive"), "{err}");

    let config: crate::config::ChainConfig =
        toml::from_str("[state]\ndir = \"kept\"\nsession-ttl = \"2h\"\n").unwrap();
    let section = config.state.unwrap();
    assert_eq!(section.session_ttl, Duration::from_secs(7200));
    assert_eq!(
        section.backend,
        BackendConfig::Sqlite {
            dir: PathBuf::from("kept")
        }
    );
}

#[tokio::test]
async fn a_version_1_store_gains_the_elevations_table_and_keeps_its_sessions() {
    let temp = tempfile::tempdir().unwrap();
    let store = open(temp.path()).await;
    store
        .touch(&id("s"), "a", &labels(&["x"]), at(0))
        .await
        .unwrap();
    store.close().await;
    let path = temp.path().join("state").join(DB_FILE);
    {
        use sqlx::Connection;
        let mut conn = sqlx::SqliteConnection::connect_with(
            &sqlx::sqlite::SqliteConnectOptions::new().filename(&path),
        )
        .await
        .unwrap();
        for statement in [
            "DROP TABLE elevations",
            "UPDATE schema_version SET version = 1",
        ] {
            sqlx::query(statement).execute(&mut conn).await.unwrap();
        }
        conn.close().await.unwrap();
    }
    let store = open(temp.path()).await;
    assert_eq!(
        store.get(&id("s"), at(1)).await.unwrap().unwrap().labels,
        ["x"]
    );
    let none = store
        .elevations(&ElevationFilter::default(), at(1), 10)
        .await
        .unwrap();
    assert!(none.is_empty());
    store.close().await;
}
