//! What another local user could do to the cache and audit directories, and how it is
//! refused: artefacts swapped in the cache, caches and logs in directories others control.

use std::os::unix::fs::PermissionsExt;
use std::path::{Path, PathBuf};

use lampart::engine::{Engine, EngineError, EngineOptions, Kind};

use crate::support::{lampart, plugin, stderr};

fn cached_engine(dir: &Path, max_memory: usize) -> Result<Engine, EngineError> {
    Engine::new(EngineOptions {
        cache_dir: Some(dir.to_path_buf()),
        max_memory,
        ..EngineOptions::default()
    })
}

fn default_memory() -> usize {
    EngineOptions::default().max_memory
}

fn artefacts(dir: &Path) -> Vec<PathBuf> {
    let mut found: Vec<PathBuf> = std::fs::read_dir(dir)
        .unwrap()
        .map(|entry| entry.unwrap().path())
        .filter(|path| path.extension().is_some_and(|ext| ext == "cwasm"))
        .collect();
    found.sort();
    found
}

fn chmod(path: &Path, mode: u32) {
    std::fs::set_permissions(path, std::fs::Permissions::from_mode(mode)).unwrap();
}

/// The component digest an artefact's header binds it to.
fn bound_digest(artefact: &Path) -> Vec<u8> {
    std::fs::read(artefact).unwrap()[8..40].to_vec()
}

#[test]
fn swapped_artefacts_are_recompiled_not_run() {
    let dir = tempfile::tempdir().unwrap();
    let cache = dir.path().join("cache");
    let guard = plugin("shell-guard");
    let rules = plugin("tool-rules");
    let engine = cached_engine(&cache, default_memory()).unwrap();
    let guard_digest = engine.load_file(&guard).unwrap().digest;
    let [guard_artefact] = artefacts(&cache).try_into().unwrap();
    engine.load_file(&rules).unwrap();
    let rules_artefact = artefacts(&cache)
        .into_iter()
        .find(|a| *a != guard_artefact)
        .unwrap();
    drop(engine);

    // Another user's trick: rename one plugin's native code over the other's.
    let swap = cache.join("swap");
    std::fs::rename(&guard_artefact, &swap).unwrap();
    std::fs::rename(&rules_artefact, &guard_artefact).unwrap();
    std::fs::rename(&swap, &rules_artefact).unwrap();

    let engine = cached_engine(&cache, default_memory()).unwrap();
    let loaded = engine.load_file(&guard).unwrap();
    assert_eq!(
        loaded.kind,
        Kind::Inspector,
        "shell-guard runs its own code"
    );
    assert_eq!(loaded.digest, guard_digest);
    assert_eq!(engine.load_file(&rules).unwrap().kind, Kind::Policy);
    // Both were compiled afresh and stored under their own keys.
    assert_eq!(bound_digest(&guard_artefact), guard_digest.as_bytes());
    assert_ne!(bound_digest(&rules_artefact), guard_digest.as_bytes());
}

#[test]
fn a_symlinked_artefact_is_not_followed() {
    let dir = tempfile::tempdir().unwrap();
    let cache = dir.path().join("cache");
    let path = plugin("scripted-policy");
    cached_engine(&cache, default_memory())
        .unwrap()
        .load_file(&path)
        .unwrap();
    let [artefact] = artefacts(&cache).try_into().unwrap();
    let elsewhere = dir.path().join("elsewhere.cwasm");
    std::fs::rename(&artefact, &elsewhere).unwrap();
    std::os::unix::fs::symlink(&elsewhere, &artefact).unwrap();

    let loaded = cached_engine(&cache, default_memory())
        .unwrap()
        .load_file(&path)
        .unwrap();
    assert_eq!(loaded.kind, Kind::Policy);
    assert!(
        !std::fs::symlink_metadata(&artefact)
            .unwrap()
            .file_type()
            .is_symlink(),
        "the link was replaced by a freshly compiled artefact"
    );
}

#[test]
fn engines_with_other_settings_keep_their_own_artefacts() {
    let dir = tempfile::tempdir().unwrap();
    let cache = dir.path().join("cache");
    let path = plugin("scripted-policy");
    cached_engine(&cache, default_memory())
        .unwrap()
        .load_file(&path)
        .unwrap();
    let [first] = artefacts(&cache).try_into().unwrap();
    let written = std::fs::read(&first).unwrap();

    cached_engine(&cache, 16 << 20)
        .unwrap()
        .load_file(&path)
        .unwrap();
    assert_eq!(
        artefacts(&cache).len(),
        2,
        "one artefact per engine setting"
    );
    assert_eq!(
        std::fs::read(&first).unwrap(),
        written,
        "the other engine's artefact is untouched"
    );
}

#[test]
fn a_cache_in_a_directory_others_can_write_is_refused() {
    let dir = tempfile::tempdir().unwrap();
    let parent = dir.path().join("shared");
    let cache = parent.join("cache");
    std::fs::create_dir_all(&cache).unwrap();
    chmod(&cache, 0o700);
    chmod(&parent, 0o777);
    let err = cached_engine(&cache, default_memory())
        .err()
        .expect("refused")
        .to_string();
    let real_parent = std::fs::canonicalize(&parent).unwrap();
    assert_eq!(
        err,
        format!(
            "cache directory `{}`: parent directory `{}` is writable by other users without the sticky bit (mode 777), who could replace it; precompiled code is loaded from it, so only this user may write it",
            cache.display(),
            real_parent.display()
        )
    );
    // With the sticky bit (as on /tmp) nobody else may rename the cache: accepted.
    chmod(&parent, 0o1777);
    cached_engine(&cache, default_memory()).unwrap();

    chmod(&cache, 0o770);
    let err = cached_engine(&cache, default_memory())
        .err()
        .expect("refused")
        .to_string();
    assert!(err.contains("writable by other users (mode 770)"), "{err}");
}

/// Only root can make a directory owned by someone else; elsewhere this is skipped.
#[test]
fn a_cache_owned_by_another_user_is_refused() {
    if lampart::private_dir::current_uid() != 0 {
        eprintln!("note: skipped, only root can give a directory to another user");
        return;
    }
    let dir = tempfile::tempdir().unwrap();
    let cache = dir.path().join("cache");
    std::fs::create_dir(&cache).unwrap();
    chmod(&cache, 0o755);
    std::os::unix::fs::chown(&cache, Some(65534), Some(65534)).unwrap();
    let err = cached_engine(&cache, default_memory())
        .err()
        .expect("refused")
        .to_string();
    assert!(
        err.contains(&format!(
            "cache directory `{}`: owned by uid 65534, not by this user (uid 0)",
            cache.display()
        )),
        "{err}"
    );

    // An audit log there is refused as well, by `check` and by `audit recover`.
    std::fs::create_dir(cache.join("audit")).unwrap();
    let audit = cache.join("audit");
    std::os::unix::fs::chown(&audit, Some(65534), Some(65534)).unwrap();
    let out = lampart(
        &["audit", "recover", "--dir", audit.to_str().unwrap()],
        None,
    );
    assert_eq!(out.status.code(), Some(2), "{}", stderr(&out));
    assert!(
        stderr(&out).contains("owned by uid 65534, not by this user"),
        "{}",
        stderr(&out)
    );
}

#[test]
fn verify_refuses_an_audit_directory_others_can_write() {
    let dir = tempfile::tempdir().unwrap();
    let audit = dir.path().join("audit");
    let log = lampart::audit::AuditLog::open(&audit, Default::default()).unwrap();
    log.close().unwrap();
    chmod(&audit, 0o777);
    let out = lampart(&["audit", "verify", "--dir", audit.to_str().unwrap()], None);
    assert_eq!(out.status.code(), Some(2), "{}", stderr(&out));
    let err = stderr(&out);
    assert_eq!(err.trim_end().lines().count(), 1, "{err}");
    assert!(
        err.contains(&format!(
            "audit log {}: writable by other users (mode 777)",
            audit.display()
        )),
        "{err}"
    );
}
