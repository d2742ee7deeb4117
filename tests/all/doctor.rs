//! `lampart doctor` on weak and sound chains: the weaknesses named, their severities, the
//! exit code by the worst, and JSON output.

use serde_json::Value;

use crate::support::{lampart, plugin, stdout, toml_path};

fn doctor(dir: &std::path::Path, config: &str) -> (Option<i32>, Value, String) {
    let path = dir.join("chain.toml");
    std::fs::write(&path, config).unwrap();
    let path = path.to_str().unwrap();
    let json = lampart(&["doctor", "--config", path, "--format", "json"], None);
    let text = lampart(&["doctor", "--config", path], None);
    assert_eq!(json.status.code(), text.status.code());
    let report: Value = serde_json::from_str(&stdout(&json)).unwrap();
    (json.status.code(), report, stdout(&text))
}

fn ids(report: &Value) -> Vec<String> {
    report["weaknesses"]
        .as_array()
        .unwrap()
        .iter()
        .map(|w| w["id"].as_str().unwrap().to_owned())
        .collect()
}

#[test]
fn a_weak_chain_is_named_critical_with_a_fix_for_each_weakness() {
    let dir = tempfile::tempdir().unwrap();
    let config = format!(
        "[chain]\ndefault = \"allow\"\n\n[[step]]\nname = \"rules\"\nplugin = {}\nmode = \"monitor\"\ninstance = \"warm\"\n\
         [step.settings]\nrules = '[{{\"name\": \"no-shell\", \"tools\": [\"shell\"], \"effect\": \"deny\"}}]'\n\n\
         [[detector]]\nname = \"burst\"\nkind = \"denies\"\nactions = [\"quarantine\"]\n",
        toml_path(&plugin("tool-rules"))
    );
    let (code, report, text) = doctor(dir.path(), &config);
    assert_eq!(code, Some(4), "{text}");
    assert_eq!(report["worst"], "critical");
    let found = ids(&report);
    for id in [
        "chain.default-allow",
        "phase.uncovered",
        "step.monitor-only",
        "step.unpinned",
        "step.warm",
        "audit.off",
        "defence.silent-quarantine",
    ] {
        assert!(found.iter().any(|f| f == id), "{id} missing from {found:?}");
    }
    // Most serious first, each on one line with its fix.
    assert!(text.starts_with("CRITICAL"), "{text}");
    for line in text.lines().filter(|l| !l.contains("weaknesses in")) {
        assert!(line.contains("(fix: "), "{line}");
    }
    for w in report["weaknesses"].as_array().unwrap() {
        assert!(!w["fix"].as_str().unwrap().is_empty());
    }
}

#[test]
fn a_sound_chain_passes_and_a_shared_audit_directory_is_high() {
    let dir = tempfile::tempdir().unwrap();
    let rules = plugin("tool-rules");
    let digest = lampart::digest::Digest::of(&std::fs::read(&rules).unwrap());
    let config = format!(
        "[chain]\ndefault = \"deny\"\n\n[audit]\ndir = \"audit\"\n\n[[step]]\nname = \"rules\"\nplugin = {}\ndigest = \"{digest}\"\n\
         [step.settings]\ndefault = \"deny\"\nrules = '[{{\"name\": \"reads\", \"tools\": [\"read_*\"], \"effect\": \"allow\"}}]'\n",
        toml_path(&rules)
    );
    let (code, report, text) = doctor(dir.path(), &config);
    // On a busy machine a step may come near its deadline (medium); nothing worse.
    assert!(matches!(code, Some(0 | 1)), "{text}");
    let found = ids(&report);
    for id in [
        "chain.default-allow",
        "phase.uncovered",
        "step.unpinned",
        "audit.off",
    ] {
        assert!(!found.iter().any(|f| f == id), "{id} in {found:?}");
    }

    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt;
        let audit = dir.path().join("audit");
        std::fs::create_dir(&audit).unwrap();
        std::fs::set_permissions(&audit, std::fs::Permissions::from_mode(0o777)).unwrap();
        let (code, report, text) = doctor(dir.path(), &config);
        assert_eq!(code, Some(3), "{text}");
        assert!(ids(&report).iter().any(|f| f == "dir.shared"), "{report}");
    }
}

#[test]
fn a_config_that_cannot_be_read_is_an_error_on_one_line() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("chain.toml");
    std::fs::write(&path, "[chain]\ndefault = \"maybe\"\n").unwrap();
    let out = lampart(&["doctor", "--config", path.to_str().unwrap()], None);
    assert_eq!(out.status.code(), Some(2));
    let err = String::from_utf8_lossy(&out.stderr);
    assert_eq!(err.trim().lines().count(), 1, "{err}");
    assert!(err.contains("chain.toml"), "{err}");
}
