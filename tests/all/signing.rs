//! Signed plugins: `lampart plugin keygen|sign|verify`, and chains that require signatures.

use std::path::{Path, PathBuf};

use serde_json::{Value, json};

use crate::support::{lampart, plugin, stderr, stdout, toml_path};

/// Makes a key with `lampart plugin keygen`; returns its file and public key.
fn keygen(dir: &Path, name: &str) -> (PathBuf, String) {
    let file = dir.join(format!("{name}.pem"));
    let out = lampart(&["plugin", "keygen", "--out", file.to_str().unwrap()], None);
    assert_eq!(out.status.code(), Some(0), "{}", stderr(&out));
    let public = stdout(&out).trim().to_owned();
    assert!(public.starts_with("ed25519:"), "{public}");
    (file, public)
}

fn sign(plugin: &Path, key: &Path) -> std::process::Output {
    lampart(
        &[
            "plugin",
            "sign",
            plugin.to_str().unwrap(),
            "--key",
            key.to_str().unwrap(),
        ],
        None,
    )
}

/// A chain of one step (a copy of shell-guard in `dir`) that `alice` must have signed.
fn config(dir: &Path, signers: &str, signed_by: &str) -> PathBuf {
    let config = dir.join("chain.toml");
    std::fs::write(
        &config,
        format!(
            "[signers]\n{signers}\n\n[audit]\ndir = \"audit\"\n\n[[step]]\nname = \"shell\"\nplugin = {}\nsigned-by = {signed_by}\n",
            toml_path(&dir.join("shell.wasm"))
        ),
    )
    .unwrap();
    config
}

fn check(config: &Path) -> std::process::Output {
    let request =
        json!({"principal": {"agent": "bot"}, "action": {"tool": "shell", "args": {"cmd": "ls"}}});
    lampart(
        &["check", "--config", config.to_str().unwrap(), "-"],
        Some(&request.to_string()),
    )
}

#[test]
fn a_chain_loads_only_plugins_its_signers_signed_and_records_who() {
    let dir = tempfile::tempdir().unwrap();
    let (alice_key, alice) = keygen(dir.path(), "alice");
    let (bob_key, bob) = keygen(dir.path(), "bob");
    let (mallory_key, _) = keygen(dir.path(), "mallory");
    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt;
        let mode = std::fs::metadata(&alice_key).unwrap().permissions().mode();
        assert_eq!(mode & 0o777, 0o600);
    }
    let shell = dir.path().join("shell.wasm");
    std::fs::copy(plugin("shell-guard"), &shell).unwrap();
    let trusted = format!("alice = \"{alice}\"\nbob = \"{bob}\"");
    let config = config(dir.path(), &trusted, r#"["alice"]"#);

    // Unsigned: refused, naming the missing signature file.
    let out = check(&config);
    assert_eq!(out.status.code(), Some(2), "{}", stderr(&out));
    let err = stderr(&out);
    assert!(
        err.contains("step `shell`: plugin `") && err.contains("shell.wasm.sig"),
        "{err}"
    );
    assert_eq!(err.trim().lines().count(), 1, "{err}");

    // Signed by someone the chain does not trust: refused.
    let out = sign(&shell, &mallory_key);
    assert_eq!(out.status.code(), Some(0), "{}", stderr(&out));
    let err = stderr(&check(&config));
    assert!(
        err.contains("not signed by any of alice (1 signature(s)"),
        "{err}"
    );

    // Signed by alice too: loads, and the record names her (the chain has no policy, so
    // its default denies: exit code 1, not the 2 of an error).
    assert_eq!(sign(&shell, &alice_key).status.code(), Some(0));
    let out = check(&config);
    assert_eq!(out.status.code(), Some(1), "{}", stderr(&out));
    let decision: Value = serde_json::from_str(stdout(&out).trim()).unwrap();
    assert_eq!(decision["steps"][0]["signed_by"], json!(["alice"]));
    let audit = std::fs::read_dir(dir.path().join("audit"))
        .unwrap()
        .map(|e| e.unwrap().path())
        .find(|p| p.extension().is_some_and(|e| e == "jsonl"))
        .unwrap();
    let record: Value = serde_json::from_str(
        std::fs::read_to_string(audit)
            .unwrap()
            .lines()
            .find(|l| l.contains("\"steps\""))
            .unwrap(),
    )
    .unwrap();
    assert_eq!(record["steps"][0]["signed_by"], json!(["alice"]));

    // `verify` agrees: alice's key verifies, bob's alone does not.
    let verify = |key: &str| {
        lampart(
            &["plugin", "verify", shell.to_str().unwrap(), "--key", key],
            None,
        )
    };
    assert_eq!(verify(&alice).status.code(), Some(0));
    let out = verify(&bob);
    assert_eq!(out.status.code(), Some(1), "{}", stdout(&out));
    assert!(stdout(&out).contains("verified:  no: not signed by any of key 1"));

    // A manifest edited after signing: alice's signature no longer verifies.
    let sig = dir.path().join("shell.wasm.sig");
    let original = std::fs::read_to_string(&sig).unwrap();
    let mut edited: Value = serde_json::from_str(&original).unwrap();
    edited["manifest"]["version"] = json!("9.9.9");
    std::fs::write(&sig, edited.to_string()).unwrap();
    let err = stderr(&check(&config));
    assert!(
        err.contains("the signature by `alice` does not verify"),
        "{err}"
    );
    std::fs::write(&sig, &original).unwrap();

    // The plugin changed after signing (one byte): refused before it is compiled.
    let mut bytes = std::fs::read(&shell).unwrap();
    let last = bytes.len() - 1;
    bytes[last] ^= 0xff;
    std::fs::write(&shell, &bytes).unwrap();
    let out = check(&config);
    assert_eq!(out.status.code(), Some(2));
    let err = stderr(&out);
    assert!(err.contains("it was changed after it was signed"), "{err}");
    assert_eq!(verify(&alice).status.code(), Some(1));
    bytes[last] ^= 0xff;
    std::fs::write(&shell, &bytes).unwrap();

    // A step can name its own signers over the chain's.
    let chain_wide = dir.path().join("chain-wide.toml");
    let text = std::fs::read_to_string(&config)
        .unwrap()
        .replace("signed-by = [\"alice\"]\n", "")
        .replace("[signers]", "[chain]\nsigned-by = [\"bob\"]\n\n[signers]");
    std::fs::write(&chain_wide, text).unwrap();
    let err = stderr(&check(&chain_wide));
    assert!(err.contains("not signed by any of bob"), "{err}");
    assert_eq!(sign(&shell, &bob_key).status.code(), Some(0));
    let out = check(&chain_wide);
    assert_eq!(out.status.code(), Some(1), "{}", stderr(&out));
    let decision: Value = serde_json::from_str(stdout(&out).trim()).unwrap();
    assert_eq!(decision["steps"][0]["signed_by"], json!(["alice", "bob"]));
}

#[test]
fn bad_signing_input_is_one_clear_line() {
    let dir = tempfile::tempdir().unwrap();
    let (key, alice) = keygen(dir.path(), "alice");
    // keygen keeps an existing key.
    let out = lampart(&["plugin", "keygen", "--out", key.to_str().unwrap()], None);
    assert_eq!(out.status.code(), Some(2));
    // A key others may read is refused.
    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt;
        let open = dir.path().join("open.pem");
        std::fs::copy(&key, &open).unwrap();
        std::fs::set_permissions(&open, std::fs::Permissions::from_mode(0o644)).unwrap();
        let out = sign(&plugin("shell-guard"), &open);
        assert_eq!(out.status.code(), Some(2));
        assert!(
            stderr(&out).contains("mode 644); make it 0600"),
            "{}",
            stderr(&out)
        );
    }
    // A config naming a signer it does not list.
    let config = config(dir.path(), &format!("alice = \"{alice}\""), r#"["carol"]"#);
    let err = stderr(&check(&config));
    assert!(
        err.contains("`signed-by` names `carol`, which is not in `[signers]` (known: alice)"),
        "{err}"
    );
    // A public key that is not one.
    let config = dir.path().join("bad-key.toml");
    std::fs::write(&config, "[signers]\nalice = \"ed25519:AAAA\"\n").unwrap();
    let err = stderr(&check(&config));
    assert!(
        err.contains("public key `ed25519:AAAA` is not 32 bytes long"),
        "{err}"
    );
}

#[test]
fn plugin_inspect_takes_the_settings_describe_needs() {
    let dir = tempfile::tempdir().unwrap();
    let rules = plugin("tool-rules");
    let rules = rules.to_str().unwrap();
    // describe() refuses a misspelled setting, and the error says how to give settings.
    let out = lampart(&["plugin", "inspect", rules, "--setting", "rulez=[]"], None);
    assert_eq!(out.status.code(), Some(2));
    let err = stderr(&out);
    assert!(err.contains("--setting KEY=VALUE"), "{err}");
    assert!(err.contains("rulez"), "{err}");
    // Settings from a chain config's step.
    let config = dir.path().join("chain.toml");
    std::fs::write(
        &config,
        format!(
            "[[step]]\nname = \"rules\"\nplugin = {}\nsettings.rules = [{{ name = \"a\", tools = [\"t\"], effect = \"allow\" }}]\n",
            toml_path(&plugin("tool-rules"))
        ),
    )
    .unwrap();
    let out = lampart(
        &[
            "plugin",
            "inspect",
            rules,
            "--config",
            config.to_str().unwrap(),
            "--step",
            "rules",
            "--format",
            "json",
        ],
        None,
    );
    assert_eq!(out.status.code(), Some(0), "{}", stderr(&out));
    let info: Value = serde_json::from_str(stdout(&out).trim()).unwrap();
    assert_eq!(info["describe"]["name"], "tool-rules");
    let out = lampart(
        &[
            "plugin",
            "inspect",
            rules,
            "--config",
            config.to_str().unwrap(),
            "--step",
            "nope",
        ],
        None,
    );
    assert!(
        stderr(&out).contains("--step `nope`: no such step"),
        "{}",
        stderr(&out)
    );
}
