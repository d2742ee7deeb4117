//! The engine on its own: the precompiled cache, and many threads deciding at once.

use std::sync::Arc;

use lampart::chain::Verdict;
use lampart::engine::{Engine, EngineError, EngineOptions, Kind};
use serde_json::json;

use crate::support::{chain, plugin, request, toml_path};

fn cached_engine(dir: &std::path::Path) -> Result<Engine, EngineError> {
    Engine::new(EngineOptions {
        cache_dir: Some(dir.to_path_buf()),
        ..EngineOptions::default()
    })
}

fn artefacts(dir: &std::path::Path) -> Vec<std::path::PathBuf> {
    std::fs::read_dir(dir)
        .unwrap()
        .map(|entry| entry.unwrap().path())
        .filter(|path| path.extension().is_some_and(|ext| ext == "cwasm"))
        .collect()
}

#[test]
fn a_compiled_plugin_is_cached_and_loaded_from_the_cache() {
    let dir = tempfile::tempdir().unwrap();
    let cache = dir.path().join("cache");
    let path = plugin("scripted-policy");
    let first = cached_engine(&cache).unwrap().load_file(&path).unwrap();
    assert_eq!(first.kind, Kind::Policy);
    let stored = artefacts(&cache);
    assert_eq!(stored.len(), 1, "one artefact per component");
    let modified = std::fs::metadata(&stored[0]).unwrap().modified().unwrap();

    // A second engine with the same settings loads the artefact instead of compiling.
    let second = cached_engine(&cache).unwrap().load_file(&path).unwrap();
    assert_eq!(second.digest, first.digest);
    assert_eq!(
        std::fs::metadata(&stored[0]).unwrap().modified().unwrap(),
        modified,
        "not rewritten"
    );
}

#[test]
fn a_corrupt_cache_entry_is_discarded_and_recompiled() {
    let dir = tempfile::tempdir().unwrap();
    let cache = dir.path().join("cache");
    let path = plugin("scripted-policy");
    cached_engine(&cache).unwrap().load_file(&path).unwrap();
    let artefact = artefacts(&cache).pop().unwrap();
    std::fs::write(&artefact, b"garbage, not a precompiled component").unwrap();
    let loaded = cached_engine(&cache).unwrap().load_file(&path).unwrap();
    assert_eq!(loaded.kind, Kind::Policy);
    assert!(
        std::fs::read(&artefact).unwrap().len() > 1000,
        "rewritten with a good artefact"
    );
}

#[cfg(unix)]
#[test]
fn a_cache_directory_others_can_write_is_refused() {
    use std::os::unix::fs::PermissionsExt;
    let dir = tempfile::tempdir().unwrap();
    let cache = dir.path().join("shared");
    std::fs::create_dir(&cache).unwrap();
    std::fs::set_permissions(&cache, std::fs::Permissions::from_mode(0o777)).unwrap();
    let err = cached_engine(&cache).err().expect("refused").to_string();
    assert!(
        err.contains("writable by other users") && err.contains("shared"),
        "{err}"
    );
}

#[test]
fn many_threads_decide_at_once_on_one_chain() {
    let chain = Arc::new(chain(&format!(
        r#"
        [[step]]
        name = "shell"
        plugin = {shell}
        [[step]]
        name = "policy"
        plugin = {policy}
        settings = {{ mode = "allow" }}
        "#,
        shell = toml_path(&plugin("shell-guard")),
        policy = toml_path(&plugin("scripted-policy")),
    )));
    let threads: Vec<_> = (0..8)
        .map(|t| {
            let chain = Arc::clone(&chain);
            std::thread::spawn(move || {
                (0..50)
                    .map(|i| {
                        let cmd = if i % 10 == 0 {
                            "rm -rf /"
                        } else {
                            "echo hello"
                        };
                        let decision = chain.decide(request(json!({
                            "principal": {"agent": format!("agent-{t}")},
                            "action": {"tool": "shell", "args": {"cmd": cmd}},
                        })));
                        (i % 10 == 0, decision.verdict)
                    })
                    .collect::<Vec<_>>()
            })
        })
        .collect();
    for thread in threads {
        for (destructive, verdict) in thread.join().unwrap() {
            let expected = if destructive {
                Verdict::Deny
            } else {
                Verdict::Allow
            };
            assert_eq!(verdict, expected);
        }
    }
}
