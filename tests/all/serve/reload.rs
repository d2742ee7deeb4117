//! Reloads swap the chain whole: decisions in flight finish, a bad config keeps the last
//! good chain, and under load not one decision fails.

use std::sync::Arc;
use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};

use serde_json::json;

use super::harness::{Server, audit_log, config, taint_chain};

/// The taint chain with `read_inbox` denied instead of allowed.
fn stricter() -> String {
    taint_chain().replace(
        "tools = [\"send_email\", \"read_inbox\"]",
        "tools = [\"send_email\"]",
    )
}

#[test]
fn a_reload_swaps_the_chain_and_a_bad_one_keeps_the_last_good() {
    let dir = tempfile::tempdir().unwrap();
    let good = config(dir.path(), &taint_chain(), "");
    let server = Server::start(dir.path(), &good);
    let first = server.revision.clone();
    let read = json!({"action": {"tool": "read_inbox"}});
    assert_eq!(
        server.decide(Some("alice"), &read).json()["verdict"],
        "allow"
    );

    std::fs::write(&server.config, config(dir.path(), &stricter(), "")).unwrap();
    let answer = server.operator("POST", "/v1/admin/reload");
    assert_eq!(answer.status, 200, "{}", answer.body);
    let revision = answer.json()["revision"].as_str().unwrap().to_owned();
    assert_ne!(revision, server.revision);
    assert_eq!(
        server.decide(Some("alice"), &read).json()["verdict"],
        "deny"
    );

    // A config that does not load: 422 with the reason; the last good chain decides on.
    std::fs::write(
        &server.config,
        config(dir.path(), "[[step]]\nplugin = \"missing.wasm\"\n", ""),
    )
    .unwrap();
    let answer = server.operator("POST", "/v1/admin/reload");
    assert_eq!(answer.status, 422, "{}", answer.body);
    assert!(
        answer.json()["error"]
            .as_str()
            .unwrap()
            .contains("missing.wasm"),
        "{}",
        answer.body
    );
    assert_eq!(
        server.decide(Some("alice"), &read).json()["verdict"],
        "deny"
    );
    let status = server.operator("GET", "/v1/admin/reload").json();
    assert_eq!(status["revision"], revision.as_str());
    assert_eq!(status["last"]["ok"], false);
    let metrics = server.call("GET", "/metrics", &[], "").body;
    assert!(metrics.contains("lampart_reload_failing 1"), "{metrics}");

    // SIGHUP reloads too.
    std::fs::write(&server.config, &good).unwrap();
    server.signal("HUP");
    let mut reloaded = false;
    for _ in 0..600 {
        if server.decide(Some("alice"), &read).json()["verdict"] == "allow" {
            reloaded = true;
            break;
        }
        std::thread::sleep(std::time::Duration::from_millis(50));
    }
    assert!(reloaded, "SIGHUP did not reload");
    assert_eq!(server.stop().code(), Some(0));

    // Every record names the revision that decided it.
    let revisions: Vec<String> = audit_log(&dir.path().join("audit"))
        .iter()
        .map(|r| r["revision"].as_str().unwrap().to_owned())
        .collect();
    assert_eq!(revisions.first(), Some(&first));
    assert_eq!(revisions.get(1), Some(&revision));
    assert!(revisions.len() >= 4, "{revisions:?}");
}

#[test]
fn a_hundred_reloads_under_load_fail_no_decision() {
    let dir = tempfile::tempdir().unwrap();
    let good = config(dir.path(), &taint_chain(), "");
    let other = config(dir.path(), &stricter(), "");
    let server = Arc::new(Server::start(dir.path(), &good));
    let stop = Arc::new(AtomicBool::new(false));
    let (decided, failed) = (Arc::new(AtomicUsize::new(0)), Arc::new(AtomicUsize::new(0)));
    let load: Vec<_> = (0..4)
        .map(|i| {
            let (server, stop, decided, failed) = (
                Arc::clone(&server),
                Arc::clone(&stop),
                Arc::clone(&decided),
                Arc::clone(&failed),
            );
            std::thread::spawn(move || {
                let body = json!({"principal": {"session": format!("load-{i}")}, "action": {"tool": "send_email"}});
                while !stop.load(Ordering::Relaxed) {
                    let answer = server.decide(Some("alice"), &body);
                    let verdict = serde_json::from_str::<serde_json::Value>(&answer.body)
                        .map(|v| v["verdict"].clone())
                        .unwrap_or_default();
                    if answer.status == 200 && (verdict == "allow" || verdict == "deny") {
                        decided.fetch_add(1, Ordering::Relaxed);
                    } else {
                        failed.fetch_add(1, Ordering::Relaxed);
                        eprintln!("failed decision: {} {}", answer.status, answer.body);
                    }
                }
            })
        })
        .collect();
    let mut good_reloads = 0;
    for i in 0..100 {
        let text = match i % 4 {
            0 => good.clone(),
            1 => config(dir.path(), "[[step]]\nplugin = \"missing.wasm\"\n", ""),
            2 => other.clone(),
            _ => good.replace("name = \"service-test\"", "default = \"maybe\""),
        };
        std::fs::write(&server.config, text).unwrap();
        let answer = server.operator("POST", "/v1/admin/reload");
        let expected = if i % 2 == 0 { 200 } else { 422 };
        assert_eq!(answer.status, expected, "reload {i}: {}", answer.body);
        good_reloads += usize::from(answer.status == 200);
    }
    stop.store(true, Ordering::Relaxed);
    for thread in load {
        thread.join().unwrap();
    }
    assert_eq!(good_reloads, 50);
    assert_eq!(
        failed.load(Ordering::Relaxed),
        0,
        "decisions failed during reloads"
    );
    assert!(decided.load(Ordering::Relaxed) > 0);
    let metrics = server.call("GET", "/metrics", &[], "").body;
    assert!(
        metrics.contains("lampart_reloads_total{outcome=\"ok\",cause=\"admin\"} 50"),
        "{metrics}"
    );
    assert!(
        metrics.contains("lampart_reloads_total{outcome=\"failed\",cause=\"admin\"} 50"),
        "{metrics}"
    );
    let server = Arc::into_inner(server).unwrap();
    assert_eq!(server.stop().code(), Some(0));
    assert_eq!(
        audit_log(&dir.path().join("audit")).len(),
        decided.load(Ordering::Relaxed)
    );
}

#[test]
fn a_changed_config_file_is_picked_up_by_the_watcher() {
    let dir = tempfile::tempdir().unwrap();
    let text = config(dir.path(), &taint_chain(), "").replace("watch = false", "watch = true");
    let server = Server::start(dir.path(), &text);
    let read = json!({"action": {"tool": "read_inbox"}});
    assert_eq!(
        server.decide(Some("alice"), &read).json()["verdict"],
        "allow"
    );
    std::fs::write(
        &server.config,
        config(dir.path(), &stricter(), "").replace("watch = false", "watch = true"),
    )
    .unwrap();
    let mut reloaded = false;
    for _ in 0..600 {
        if server.decide(Some("alice"), &read).json()["verdict"] == "deny" {
            reloaded = true;
            break;
        }
        std::thread::sleep(std::time::Duration::from_millis(50));
    }
    assert!(reloaded, "the watcher did not reload the changed config");
    let status = server.operator("GET", "/v1/admin/reload").json();
    assert_eq!(status["last"]["cause"], "watch");
    assert_eq!(server.stop().code(), Some(0));
}
